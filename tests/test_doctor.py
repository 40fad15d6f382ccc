"""genreflow doctor: every compiled kernel in a child process; a poisoned numba cache
named, repaired exactly, and never written by the doctor itself."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genreflow.kernels.cache import cache_files, folder_fingerprint
from genreflow.kernels.checks import CHECKS, reference_signal
from genreflow.kernels.child import run_child
from genreflow.kernels.doctor import Diagnosis, _package_in_traceback
from genreflow.kernels.report import _grouped

PIPTRACK = (
    "import numpy as np, librosa; "
    "librosa.piptrack(y=np.random.default_rng(0).standard_normal(220500).astype('float32')"
    " * 0.1, sr=22050)"
)


def doctor(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "genreflow.cli", "doctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def compile_piptrack(cache: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    subprocess.run([sys.executable, "-c", PIPTRACK], env=env, check=True, timeout=600)


@pytest.fixture(scope="module")
def poisoned_librosa_cache(tmp_path_factory):
    """A NUMBA_CACHE_DIR holding librosa's ``_pi_wrapper`` as two racing jobs leave it:
    ``pitch._pi_wrapper`` from one compilation, ``guf-pitch._pi_wrapper`` from another."""
    root = tmp_path_factory.mktemp("librosa-cache")
    first, second, poisoned = root / "first", root / "second", root / "poisoned"
    compile_piptrack(first)
    (core,) = [p for p in first.iterdir() if p.name.startswith("core_")]
    shutil.copytree(first, second)
    for path in cache_files(second / core.name)["pitch._pi_wrapper-430"]:
        path.unlink()
    compile_piptrack(second)  # the rest cached: _pi_wrapper compiled alone, another tag
    shutil.copytree(first, poisoned)
    for path in (second / core.name).glob("guf-pitch._pi_wrapper-*"):
        shutil.copy2(path, poisoned / core.name / path.name)
    unit = sorted(str(p) for p in cache_files(poisoned / core.name)["pitch._pi_wrapper-430"])
    assert any("/guf-" in p for p in unit) and any("/pitch." in p for p in unit)
    return poisoned, unit


def test_doctor_names_the_poisoned_files_and_repair_deletes_exactly_them(
    poisoned_librosa_cache,
):
    cache, unit = poisoned_librosa_cache
    check = ["--check", "librosa tuning/piptrack", "--check", "PyWavelets"]
    before = folder_fingerprint(cache)

    found = doctor(*check, cache=cache)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "CRASHED with signal 11 (SIGSEGV)" in found.stdout
    assert "the on-disk numba cache is poisoned" in found.stdout
    named = sorted(line.strip() for line in found.stdout.splitlines() if "/core_" in line)
    assert named == unit
    assert folder_fingerprint(cache) == before, "the doctor wrote to the cache it examined"

    repaired = doctor(*check, "--repair", cache=cache)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "deleted by --repair" in repaired.stdout and "all checks passed" in repaired.stdout
    after = folder_fingerprint(cache)
    deleted = {name for name in before if name not in after}
    assert sorted(str(cache / name) for name in deleted) == unit
    assert all(after[name] == digest for name, digest in before.items() if name in after)

    again = doctor(*check, cache=cache)
    assert again.returncode == 0 and "is poisoned" not in again.stdout


def test_a_crash_outside_any_cache_names_the_package(tmp_path):
    stderr = (
        "Fatal Python error: Segmentation fault\n\nCurrent thread (most recent call first):\n"
        '  File "/venv/lib/python3.11/site-packages/soxr/__init__.py", line 1 in resample\n'
        '  File "/src/genreflow/kernels/checks.py", line 5 in check_soxr\n'
    )
    assert _package_in_traceback(stderr) == "soxr"
    text = _grouped([Diagnosis("soxr resampling", culprit="soxr")])[0]
    assert text.startswith("soxr resampling: fails with an empty numba cache too")
    assert "soxr" in text.split("fault is in", 1)[1]


def test_an_unknown_check_is_a_usage_error():
    result = doctor("--check", "no such check")
    assert result.returncode == 2 and "unknown check" in result.stderr


def test_a_failing_child_is_reported_not_raised(tmp_path):
    outcome = run_child("no such check", tmp_path)
    assert outcome.status == "failed" and not outcome.ok


def test_checks_see_what_they_claim():
    y = reference_signal()
    assert y.dtype.name == "float32" and y.size == 30 * 22050
    assert CHECKS["PyWavelets"].run(y).startswith("db4")
    assert CHECKS["soxr resampling"].run(y).endswith("440.0 Hz")
