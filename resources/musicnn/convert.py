"""Convert musicnn 0.1.0's TF-1 checkpoints into the weights genreflow ships.

Needs TensorFlow, which genreflow does not depend on: run it in a throw-away venv
(see README.md beside this file):
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python resources/musicnn/convert.py [MODEL ...]
(MODEL defaults to MSD_musicnn MTT_musicnn; checkpoints are read from the
installed musicnn package: <site-packages>/musicnn/<MODEL>/ ).

Output, beside this file: <MODEL>.npz (float32 arrays keyed by the state_dict names of
genreflow.embeddings.musicnn.Musicnn; Adam slots, beta1/2_power and BN
num_batches_tracked are dropped) and SHA256SUMS (sha256sum format, every .npz here).
np.savez writes no time stamps: re-running gives the same bytes.

Mapping (TF variable scope -> torch module) and layout transforms:
  conv2d kernels    TF [kh, kw, in, out] (NHWC, h = time, w = mel)
                    -> Conv2d weight [out, in, kh, kw]    : transpose(3, 2, 0, 1)
  mid-end kernels   TF [7, C, 1, 64] (conv2d over a (time, C, 1) image whose
                    kernel spans all C features) -> Conv1d weight [64, C, 7]
                                                          : k[:, :, 0, :].transpose(2, 1, 0)
  dense kernels     TF [in, out] -> Linear weight [out, in] : .T
  biases            unchanged
  batch norm        gamma -> weight, beta -> bias,
                    moving_mean -> running_mean, moving_variance -> running_var
"""
from __future__ import annotations

import argparse
import hashlib
import os

import numpy as np

# TF scope -> (torch module name, kind)
MAPPING = [
    ("batch_normalization",    "frontend_bn",      "bn"),
    ("conv2d",                 "timbral_f74_conv", "conv2d"),
    ("batch_normalization_1",  "timbral_f74_bn",   "bn"),
    ("conv2d_1",               "timbral_f77_conv", "conv2d"),
    ("batch_normalization_2",  "timbral_f77_bn",   "bn"),
    ("conv2d_2",               "temporal_s1_conv", "conv2d"),
    ("batch_normalization_3",  "temporal_s1_bn",   "bn"),
    ("conv2d_3",               "temporal_s2_conv", "conv2d"),
    ("batch_normalization_4",  "temporal_s2_bn",   "bn"),
    ("conv2d_4",               "temporal_s3_conv", "conv2d"),
    ("batch_normalization_5",  "temporal_s3_bn",   "bn"),
    ("conv2d_5",               "midend_cnn1_conv", "conv1d"),
    ("batch_normalization_6",  "midend_cnn1_bn",   "bn"),
    ("conv2d_6",               "midend_cnn2_conv", "conv1d"),
    ("batch_normalization_7",  "midend_cnn2_bn",   "bn"),
    ("conv2d_7",               "midend_cnn3_conv", "conv1d"),
    ("batch_normalization_8",  "midend_cnn3_bn",   "bn"),
    ("batch_normalization_9",  "backend_pool_bn",  "bn"),
    ("dense",                  "backend_dense",    "dense"),
    ("batch_normalization_10", "backend_dense_bn", "bn"),
    ("dense_1",                "backend_logits",   "dense"),
]

BN_FIELDS = [("gamma", "weight"), ("beta", "bias"),
             ("moving_mean", "running_mean"), ("moving_variance", "running_var")]


def convert(ckpt_prefix: str) -> dict[str, np.ndarray]:
    import tensorflow as tf
    reader = tf.compat.v1.train.NewCheckpointReader(ckpt_prefix)
    get = lambda n: np.asarray(reader.get_tensor(n), dtype=np.float32)
    out: dict[str, np.ndarray] = {}
    used = set()
    for scope, mod, kind in MAPPING:
        if kind == "bn":
            for tf_name, pt_name in BN_FIELDS:
                out[f"{mod}.{pt_name}"] = get(f"{scope}/{tf_name}")
                used.add(f"{scope}/{tf_name}")
            continue
        k, b = get(f"{scope}/kernel"), get(f"{scope}/bias")
        used.update({f"{scope}/kernel", f"{scope}/bias"})
        if kind == "conv2d":
            w = k.transpose(3, 2, 0, 1)
        elif kind == "conv1d":
            assert k.shape[2] == 1, k.shape
            w = k[:, :, 0, :].transpose(2, 1, 0)
        elif kind == "dense":
            w = k.T
        out[f"{mod}.weight"] = np.ascontiguousarray(w, dtype=np.float32)
        out[f"{mod}.bias"] = b
    # every non-optimizer variable must have been consumed
    left = [n for n in reader.get_variable_to_shape_map()
            if n not in used and "Adam" not in n and not n.startswith("beta")]
    if left:
        raise RuntimeError(f"unmapped checkpoint variables: {left}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=["MSD_musicnn", "MTT_musicnn"])
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()
    import musicnn
    root = os.path.dirname(musicnn.__file__)
    for m in a.models:
        sd = convert(os.path.join(root, m) + "/")
        path = os.path.join(a.out, f"{m}.npz")
        np.savez(path, **sd)
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        n = sum(v.size for v in sd.values())
        print(f"{m}: {len(sd)} arrays, {n} floats, {os.path.getsize(path)} bytes, sha256 {digest}")
    names = sorted(f for f in os.listdir(a.out) if f.endswith(".npz"))
    with open(os.path.join(a.out, "SHA256SUMS"), "w") as f:
        for name in names:
            digest = hashlib.sha256(open(os.path.join(a.out, name), "rb").read()).hexdigest()
            f.write(f"{digest}  {name}\n")


if __name__ == "__main__":
    main()
