"""Reference outputs of the ORIGINAL musicnn 0.1.0 TF graph on float32 input.

Run with the TF venv (see README.md beside this file):
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python resources/musicnn/reference.py \
        [--clip F] [--patches 0,4,9]

For each model (MSD_musicnn, MTT_musicnn) writes
tests/fixtures/musicnn/reference_<MODEL>.npz with
  patches      (P, 187, 96) float32 log-mel input patches
  patch_index  (P,) int     index of each patch in the clip's patch sequence
  taggram, logits (P, 50); max_pool, mean_pool (P, 753); penultimate (P, 200)

Pre-processing = musicnn.extractor.batch_data with ONE deliberate change: the
mel spectrogram is NOT cast to float16 before log10(10000*x + 1) (under numpy 2
that cast makes 10000*x float16 and overflows to inf whenever x > 6.55).
Otherwise identical: librosa.load(sr=16000) (installed librosa's default
resampler), melspectrogram(n_fft=512, hop=256, n_mels=96, power 2, slaney mel,
center=True with installed librosa's default pad_mode), patches of
n_frames = time_to_frames(3 s)+1 = 187, hop 187 (input_overlap=False).
The TF graph is musicnn.models.define_model (the same code the extractor uses)
restored from the packaged checkpoint, run with is_training=False.
"""
from __future__ import annotations

import argparse
import os
import warnings

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", category=UserWarning)  # tf.layers deprecation spam

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIP = os.path.join(ROOT, "tests", "fixtures", "audio", "blues.00050.au")


def logmel_float32(path):
    import librosa
    from musicnn import configuration as config
    audio, sr = librosa.load(path, sr=config.SR)
    mel = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=config.FFT_HOP,
                                         n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T
    mel = mel.astype(np.float32)
    return mel, np.log10(np.float32(10000) * mel + np.float32(1)).astype(np.float32)


def batch(rep, n_frames, hop):
    starts = range(0, rep.shape[0] - n_frames + 1, hop)
    return np.stack([rep[s:s + n_frames] for s in starts])


def run_tf(model, patches):
    import tensorflow as tf
    tf.compat.v1.disable_eager_execution()
    import musicnn
    from musicnn import models, configuration as config
    labels = config.MSD_LABELS if "MSD" in model else config.MTT_LABELS
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, patches.shape[1], config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        (y, timbral, temporal, cnn1, cnn2, cnn3, mean_pool, max_pool,
         penultimate) = models.define_model(x, is_training, model, len(labels))
        taggram = tf.nn.sigmoid(y)
    with tf.compat.v1.Session() as sess:
        # no global_variables_initializer: restore must cover every variable
        tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(musicnn.__file__), model) + "/")
        names = ["taggram", "logits", "max_pool", "mean_pool", "penultimate"]
        vals = sess.run([taggram, y, max_pool, mean_pool, penultimate],
                        feed_dict={x: patches, is_training: False})
    return dict(zip(names, [np.asarray(v, np.float32) for v in vals]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default=CLIP)
    ap.add_argument("--patches", default="0,4,9", help="patch indices to keep")
    ap.add_argument("--models", default="MSD_musicnn,MTT_musicnn")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "musicnn"))
    a = ap.parse_args()
    import librosa
    from musicnn import configuration as config
    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE,
                                      hop_length=config.FFT_HOP) + 1
    mel, rep = logmel_float32(a.clip)
    allp = batch(rep, n_frames, n_frames)
    idx = np.array([int(i) for i in a.patches.split(",")])
    patches = np.ascontiguousarray(allp[idx], dtype=np.float32)
    # information only: what musicnn's float16 path would give
    with np.errstate(over="ignore"):
        rep16_np2 = np.log10(10000 * mel.astype(np.float16) + 1)          # numpy 2 rules
    rep16_np1 = np.log10(np.float32(10000) * mel.astype(np.float16).astype(np.float32) + 1)  # numpy 1 rules
    print(f"clip {a.clip}: {rep.shape[0]} frames, n_frames={n_frames}, "
          f"{allp.shape[0]} patches, keeping {idx.tolist()}")
    print(f"  float16 path under numpy 2: {np.isinf(rep16_np2).sum()} inf values in "
          f"{np.isinf(rep16_np2).any(1).sum()} / {rep.shape[0]} frames")
    print(f"  float16 path under numpy 1 (float32 arithmetic on float16 mel): "
          f"max |diff| vs float32 = {np.abs(rep16_np1 - rep).max():.3g}")
    for model in a.models.split(","):
        out = run_tf(model, patches)
        path = os.path.join(a.out, f"reference_{model}.npz")
        np.savez_compressed(path, patches=patches, patch_index=idx, clip=os.path.basename(a.clip), **out)
        print(f"{model}: wrote {path} ({os.path.getsize(path)} bytes); "
              + ", ".join(f"{k}{tuple(v.shape)}" for k, v in out.items()))
        tags = config.MSD_LABELS if "MSD" in model else config.MTT_LABELS
        top = np.argsort(-out["taggram"].mean(0))[:5]
        print("  top tags:", [(tags[i], round(float(out["taggram"].mean(0)[i]), 3)) for i in top])


if __name__ == "__main__":
    main()
