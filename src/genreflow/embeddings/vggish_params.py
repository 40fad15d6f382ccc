"""VGGish's input and output parameters, importable without numpy, librosa or torch.

The values of ``vggish_params.py`` in tensorflow/models ``research/audioset/vggish``
(Apache-2.0), which torchvggish 0.2 copies; the workflow reads an example's length and
the network's rate from here (:mod:`genreflow.embeddings`). The weights are those of
torchvggish's release v0.1 (a conversion of Google's TF-Slim checkpoint; see
:mod:`genreflow.embeddings.vggish`).
"""

SAMPLE_RATE = 16000
STFT_WINDOW_SECONDS = 0.025
STFT_HOP_SECONDS = 0.010
STFT_WINDOW = 400  # samples: round(16000 · 0.025)
STFT_HOP = 160  # samples: round(16000 · 0.010)
N_FFT = 512  # the power of two at or above the window
N_MELS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01  # log(mel + 0.01): the stabilised log of the magnitude mel spectrogram

EXAMPLE_FRAMES = 96  # frames of one example (10 ms each)
# one example, and the step between consecutive examples (no overlap)
EXAMPLE_SECONDS = EXAMPLE_FRAMES * STFT_HOP_SECONDS  # 0.96 s
# the shortest signal that gives one example: 400 + 95 · 160 samples (0.975 s)
MIN_SAMPLES = STFT_WINDOW + (EXAMPLE_FRAMES - 1) * STFT_HOP
EMBEDDING_SIZE = 128

# postprocessing (PCA with whitening, then 8-bit quantisation) as the AudioSet release
PCA_EIGEN_VECTORS_NAME = "pca_eigen_vectors"
PCA_MEANS_NAME = "pca_means"
QUANTIZE_MIN = -2.0
QUANTIZE_MAX = 2.0
QUANTIZE_LEVELS = 255  # quantised values are integers 0..255

# how audio at another rate is brought to 16 kHz (librosa.resample's default, as musicnn)
RESAMPLER = "soxr_hq"

# torchvggish release v0.1: the file names carry the SHA-256 prefixes torch.hub checks
RELEASE = "https://github.com/harritaylor/torchvggish/releases/download/v0.1/"
WEIGHTS_FILE = "vggish-10086976.pth"
WEIGHTS_URL = RELEASE + WEIGHTS_FILE
WEIGHTS_SHA256_PREFIX = "10086976"
PCA_FILE = "vggish_pca_params-970ea276.pth"
PCA_URL = RELEASE + PCA_FILE
PCA_SHA256_PREFIX = "970ea276"
