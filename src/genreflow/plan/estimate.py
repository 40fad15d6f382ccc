"""How long a run of your own music should take, from measured costs.

The costs are the job CPU seconds of the ``config/my_music.yaml`` preset on a generated
collection of 46 usable songs (30 s – 6 min, mixed formats) on a 2-core VM
(2026-12-06; ``python -m benchmarks.workflow results/benchmarks/my_music``, see
docs/measurements.md). A run is estimated by scaling each stage's and model's cost with
the number of songs (never below the measured size: small runs pay the jobs' start-up)
and the folds and seeds, over 2 cores kept 80% busy.
"""

from __future__ import annotations

from dataclasses import dataclass

MEASURED_SONGS = 46
MEASURED_FOLDS = 5
CORES, BUSY = 2, 0.8
# CPU seconds of every job of a stage, per run of the preset
STAGE_CPU_S = {
    "data (pin, scan, duplicate audit)": 7.7,
    "features and musicnn embeddings": 53.0,
    "kernels, environment, folds, report": 15.3,
}
# CPU seconds of a model's training and evaluation jobs over all 5 folds (one seed)
MODEL_CPU_S = {
    "cnn_seed001": 294.0,
    "logreg": 14.5,
    "musicnn_mlp": 46.3,
    "musicnn_svm": 14.7,
    "random_forest": 18.4,
    "sgd": 14.9,
    "svm": 14.6,
}
FINAL_CPU_S = 2.4  # a final model beyond its fold runs (classical, measured)


@dataclass(frozen=True)
class Estimate:
    minutes: float
    unmeasured: tuple[str, ...]  # enabled models whose cost was never measured

    def describe(self) -> str:
        line = (
            f"about {self.minutes:.0f} min on a 2-core CPU machine (costs measured on "
            f"{MEASURED_SONGS} songs, docs/measurements.md)"
        )
        if self.unmeasured:
            line += (
                f", plus {', '.join(self.unmeasured)} (not measured: each reproduced network "
                "trains for tens of minutes per fold at its report's size)"
            )
        return line


def estimate(n_songs: int, models: dict[str, int], n_folds: int, n_final: int) -> Estimate:
    """The expected wall time of a run: ``models`` maps each enabled model to its runs per
    fold (its seeds; 1 for a deterministic one); ``n_folds``: test folds over every scheme."""
    scale = max(1.0, n_songs / MEASURED_SONGS)
    cpu = sum(STAGE_CPU_S.values()) * scale
    unmeasured = []
    for model, runs in models.items():
        if model not in MODEL_CPU_S:
            unmeasured.append(model)
            continue
        cpu += MODEL_CPU_S[model] * scale * runs * n_folds / MEASURED_FOLDS
    cpu += FINAL_CPU_S * n_final * scale
    return Estimate(cpu / (CORES * BUSY) / 60, tuple(unmeasured))
