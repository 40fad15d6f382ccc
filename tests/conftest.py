"""Shared fixtures: real GTZAN clips (copied from ../shared) and files built per test."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from genreflow.kernels.cache import use_private_cache

# numba's on-disk cache is not safe against two processes compiling one librosa kernel at
# once (numba issue #10128: a later load crashes with SIGSEGV; it happened to an xdist
# worker of a fresh clone's suite). Each pytest process (each worker) compiles into a
# private folder of its own, as every workflow job does (genreflow.kernels.cache).
use_private_cache()

import numpy as np  # (imported after the numba cache is chosen)
import pandas as pd
import pytest
import soundfile as sf

from genreflow.checksums import canonical_wav_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
GTZAN_REGISTRY = PROJECT_ROOT / "resources" / "gtzan" / "tracks.csv"


# The test files that read the one tiny workflow run (fixture ``tiny_demo``). tests/run.sh
# runs pytest on two pytest-xdist workers: these files go to one worker together, so the
# run is built once, and every other file goes whole to a worker, so its module fixtures
# are built once (pytest_xdist_make_scheduler below).
TINY_DEMO_FILES = (
    "test_benchmark_workflow.py",
    "test_workflow_data.py",
    "test_workflow_doctor.py",
    "test_workflow_features.py",
    "test_workflow_final.py",
    "test_workflow_report.py",
    "test_workflow_rerun.py",
    "test_workflow_sweeps.py",
    "test_workflow_training.py",
)
# The units of work that take minutes (``--durations``), handed out first and longest
# first: the tiny run fills one worker, the others follow one another on the second, and
# the short files fill in around them instead of one long file running alone at the end.
LONG_FIRST = (
    "tiny_demo",
    "test_workflow_slurm.py",
    "test_doctor.py",
    "test_fma.py",
    "test_workflow_collection.py",
)


def pytest_collection_modifyitems(config, items):
    """A test that reads the tiny workflow run must live in one of TINY_DEMO_FILES, and
    the files named for scheduling must exist (a renamed file would lose its place)."""
    here = Path(__file__).parent
    unknown = [name for name in (*TINY_DEMO_FILES, *LONG_FIRST[1:]) if not (here / name).is_file()]
    if unknown:
        raise pytest.UsageError(
            f"tests/conftest.py schedules {', '.join(unknown)}, which tests/ does not hold: "
            "rename or remove the entry in TINY_DEMO_FILES or LONG_FIRST"
        )
    strays = [
        item.nodeid
        for item in items
        if "tiny_demo" in item.fixturenames and item.path.name not in TINY_DEMO_FILES
    ]
    if strays:
        raise pytest.UsageError(
            f"{', '.join(strays)} read(s) the tiny workflow run: add the file to "
            "TINY_DEMO_FILES in tests/conftest.py, or every xdist worker builds the run"
        )


class _TinyDemoScheduling:
    """pytest-xdist hook: whole files to workers, every file of TINY_DEMO_FILES to the same
    one, LONG_FIRST ahead of the rest (registered only where xdist is loaded, which knows
    the hook)."""

    @staticmethod
    def pytest_xdist_make_scheduler(config, log):
        from xdist.scheduler import LoadScopeScheduling

        class FilesAndTinyDemo(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                file = Path(nodeid.split("::", 1)[0]).name
                return "tiny_demo" if file in TINY_DEMO_FILES else file

            def _assign_work_unit(self, node) -> None:
                for scope in reversed(LONG_FIRST):
                    if scope in self.workqueue:
                        self.workqueue.move_to_end(scope, last=False)
                super()._assign_work_unit(node)

        return FilesAndTinyDemo(config, log)


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_TinyDemoScheduling(), "genreflow-tiny-demo-scheduling")


@pytest.fixture(scope="session")
def gtzan_registry() -> pd.DataFrame:
    return pd.read_csv(GTZAN_REGISTRY, dtype=str, keep_default_na=False)


def registry_md5(track_id: str) -> str:
    table = pd.read_csv(GTZAN_REGISTRY, dtype=str, keep_default_na=False)
    return table.set_index("track_id").loc[track_id, "wav_md5"]


def au_as_canonical_wav(track_id: str) -> bytes:
    """The canonical WAV bytes of a real GTZAN fixture, from its original .au."""
    samples, sr = sf.read(FIXTURES / f"{track_id}.au", dtype="int16")
    return canonical_wav_bytes(samples, sr)


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    """A gzipped tar archive holding ``members`` (name → bytes)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tone_wav(
    seconds: float = 3.0, sr: int = 22050, channels: int = 1, freq: float = 440.0
) -> bytes:
    """A canonical 16-bit WAV of a sine tone."""
    t = np.arange(int(seconds * sr)) / sr
    mono = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
    samples = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    buffer = io.BytesIO()
    sf.write(buffer, samples, sr, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


TINY_MODELS = ("cnn_seed001", "bilstm_seed004", "logreg", "musicnn_svm")
TINY_CLASSICAL = ("logreg", "musicnn_svm")  # scikit-learn: model.joblib, no learning curves


def only_models(enabled) -> dict:
    """A ``models:`` block disabling every model of the default config but ``enabled``."""
    import yaml

    default = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    return {name: {"enabled": name in enabled} for name in default["models"]}


TINY_DEMO = {
    "demo": {"clips_per_genre": 4, "clip_seconds": 6, "seed": 7, "artists_per_genre": 4},
    "features": {"tracks_per_job": 15},
    "augment": {
        "enabled": True,
        "copies": [
            {"kind": "time_stretch", "rate": 1.1},
            {"kind": "pitch_shift", "n_steps": -2},
            {"kind": "noise", "snr_db": 20},
        ],
    },
    "folds": {
        "schemes": ["stratified_kfold", "artist_kfold", "holdout", "fault_filtered"],
        "n_folds": 2,
    },
    "training": {"max_epochs": 1, "threads": 1},
    "final": {"models": "all"},
    "explain": {
        "tracks_per_fold": 2,
        "ig_steps": 16,
        "ig_max_steps": 1024,
        "schemes": ["stratified_kfold"],
        "folds": 1,
    },
    "sweeps": {
        "scheme": "stratified_kfold",
        "models": {
            "cnn_seed001": {"grid": {"lr": [0.001, 0.003], "batch_size": [16, 32]}},
            "logreg": {"grid": {"C": [0.1, 1.0]}},  # an estimator's keyword (arch key)
        },
    },
    "models": only_models(TINY_MODELS),
}


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """The default workflow run once, on a tiny demo config, in a scratch project."""
    from workflow_runner import copy_project, snakemake, write_config

    project = copy_project(tmp_path_factory.mktemp("demo"))
    config = write_config(project, TINY_DEMO)
    result = snakemake(project, "--configfile", str(config))
    return project, config, result


# --- model test helpers -------------------------------------------------------------

# (rows, frames) of the demo's consolidated arrays, by FEATURE@SEGMENTATION
DEMO_SHAPES = {
    "logmel@s3": (128, 129),
    "logmel64@s3": (64, 129),
    "logmel@s6": (128, 258),
    "logmel@clip": (128, 431),
    "mfcc@s3": (40, 129),
    "wavelet@s3": (7, 129),
    "chroma@s3": (24, 129),
    "musicnn@s3": (753, 1),
    "musicnn@clip": (753, 3),
}


def build_model(name: str, shapes=None, n_classes: int = 10):
    """A registered torch model at the demo's shapes (or ``shapes``), seeded."""
    import torch

    from genreflow.models import load_all

    spec = load_all()[name]
    shapes = shapes or [DEMO_SHAPES[key] for key in spec.inputs]
    torch.manual_seed(0)
    return spec.build(n_classes, shapes, **spec.arch)


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def modules(model, kind) -> list:
    return [m for m in model.modules() if isinstance(m, kind)]
