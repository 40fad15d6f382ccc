"""musicnn's input parameters, importable without numpy, librosa or torch.

The workflow reads a patch's length and the network's rate from here when it parses
the config and consolidates arrays (:mod:`genreflow.embeddings`).
"""

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, hop_length=256) + 1
# one patch, the step between consecutive patches (no overlap): 2.992 s
PATCH_SECONDS = PATCH_FRAMES * HOP_LENGTH / SAMPLE_RATE
# how audio at another rate is brought to 16 kHz (librosa.resample's default)
RESAMPLER = "soxr_hq"
