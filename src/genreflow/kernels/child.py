"""One kernel check in a child process, on a given numba cache.

``python -X faulthandler -m genreflow.kernels.checks NAME`` runs in a new interpreter
whose ``NUMBA_CACHE_DIR`` is the folder it is given, so a kernel that crashes is an
:class:`Outcome` (the signal, and faulthandler's traceback) instead of the doctor's end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from genreflow.kernels.cache import ENV_VAR
from genreflow.kernels.checks import EXIT_WRONG

CHILD_TIMEOUT_S = 600


@dataclass
class Outcome:
    """One check's result in one child process."""

    check: str
    status: str  # "pass", "wrong result", "crashed", "failed"
    detail: str = ""
    returncode: int = 0
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "pass"


def _child_env(cache_dir: Path) -> dict[str, str]:
    env = {**os.environ, ENV_VAR: str(cache_dir), "PYTHONFAULTHANDLER": "1"}
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_child(check: str, cache_dir: Path) -> Outcome:
    """Run ``check`` in a new interpreter whose numba cache is ``cache_dir``."""
    command = [sys.executable, "-X", "faulthandler", "-m", "genreflow.kernels.checks", check]
    try:
        done = subprocess.run(
            command,
            env=_child_env(cache_dir),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome(check, "failed", f"no answer within {CHILD_TIMEOUT_S} s")
    if done.returncode < 0:
        number = -done.returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else "?"
        return Outcome(check, "crashed", f"signal {number} ({name})", done.returncode, done.stderr)
    lines = done.stdout.strip().splitlines()
    try:
        reply = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(check, "failed", last, done.returncode, done.stderr)
    status = reply["status"] if done.returncode in (0, EXIT_WRONG) else "failed"
    return Outcome(check, status, reply["detail"], done.returncode, done.stderr)


def facts() -> dict:
    """Versions and the CPU numba targets, read in a child (it imports numba and torch)."""
    with tempfile.TemporaryDirectory(prefix="genreflow-doctor-") as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "genreflow.kernels.checks", "--facts"],
            capture_output=True,
            text=True,
            env=_child_env(Path(scratch)),
            check=False,
        )
    if done.returncode != 0:
        return {"versions": {}, "numba_cpu": "unknown", "torch_devices": ["cpu"]}
    return json.loads(done.stdout.strip().splitlines()[-1])
