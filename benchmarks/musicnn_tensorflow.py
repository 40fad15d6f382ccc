"""The original TensorFlow musicnn's seconds per clip: the figure ``embeddings.py`` compares to.

Not run with genreflow's environment: musicnn 0.1.0 needs TensorFlow 1.x-style layers
(``tf.compat.v1.layers``, gone with Keras 3), so it runs in a venv of its own::

    python3.11 -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu==2.15.1 "numpy<2"
    /tmp/tf/bin/pip install --no-deps musicnn==0.1.0
    python -m benchmarks.embeddings --save-patches /tmp/patches.npy
    taskset -c 0 /tmp/tf/bin/python benchmarks/musicnn_tensorflow.py /tmp/patches.npy
    taskset -c 0,1 /tmp/tf/bin/python benchmarks/musicnn_tensorflow.py /tmp/patches.npy \\
        --threads 2

Pin it with ``taskset``: TensorFlow's oneDNN kernels use every core of the machine even
with ``intra_op_parallelism_threads=1``. Each pass feeds one clip's patches and fetches
what musicnn's extractor fetches (taggram, max_pool, mean_pool, penultimate); it prints
the median seconds per clip, the process CPU seconds per clip, and each clip's best
pass averaged over the clips: the statistic ``embeddings.py`` prints for the port.
Record that last figure in ``embeddings.TENSORFLOW`` with the CPU and date, from runs
interleaved with the port's. ``--save-outputs`` writes the outputs for a comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("patches", help="(clips, patches, 187, 96) from --save-patches")
    parser.add_argument("--model", default="MSD_musicnn")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--save-outputs", help="also write each clip's outputs here (.npz)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    import musicnn
    import numpy as np
    import tensorflow as tf
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    clips = np.load(args.patches)
    x = tf.compat.v1.placeholder(tf.float32, [None, *clips.shape[2:]])
    training = tf.compat.v1.placeholder(tf.bool)
    with tf.name_scope("model"):
        logits, *_, mean_pool, max_pool, penultimate = models.define_model(
            x, training, args.model, 50
        )
        fetches = [tf.nn.sigmoid(logits), max_pool, mean_pool, penultimate]
    threads = args.threads
    session = tf.compat.v1.Session(
        config=tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads
        )
    )
    checkpoint = os.path.join(os.path.dirname(musicnn.__file__), args.model) + "/"
    tf.compat.v1.train.Saver().restore(session, checkpoint)
    session.run(fetches, {x: clips[0], training: False})  # warm-up
    wall, cpu = [], []
    best = [float("inf")] * len(clips)
    for _ in range(args.passes):
        for index, clip in enumerate(clips):
            start, start_cpu = time.perf_counter(), time.process_time()
            session.run(fetches, {x: clip, training: False})
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            best[index] = min(best[index], wall[-1])
    if args.save_outputs:
        outputs = [session.run(fetches, {x: clip, training: False}) for clip in clips]
        names = ("taggram", "max_pool", "mean_pool", "penultimate")
        np.savez(
            args.save_outputs, **{n: np.stack([o[i] for o in outputs]) for i, n in enumerate(names)}
        )
    print(
        f"TensorFlow {tf.__version__} musicnn {args.model}, {threads} thread(s): "
        f"{statistics.median(wall):.3f} s per clip (median of {len(wall)}), "
        f"CPU {statistics.median(cpu):.3f} s per clip; best of {args.passes} per clip, "
        f"mean over clips (embeddings.py's statistic) {statistics.mean(best):.3f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
