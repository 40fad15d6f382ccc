"""``genreflow doctor``: run every compiled kernel genreflow depends on, each in its own
child process, and say what is broken: a poisoned numba cache (naming its files, which
``--repair`` deletes), or the package at fault.

This module prints the report and repairs; :mod:`genreflow.kernels.doctor` finds the
failures and their causes. The doctor never writes to the cache it examines: each child
runs on a private copy of it (``NUMBA_CACHE_DIR``), so running the doctor beside a
workflow is safe too.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from genreflow.kernels.cache import ENV_VAR
from genreflow.kernels.checks import CHECKS, TORCH_CHECK
from genreflow.kernels.child import Outcome, facts
from genreflow.kernels.doctor import Diagnosis, Doctor, KernelCache


def run_doctor(
    *,
    repair: bool = False,
    cache_dir: str | None = None,
    only: Sequence[str] = (),
    jobs: int | None = None,
    out=sys.stdout,
) -> int:
    """Run the checks, print one row each and a diagnosis of every failure.

    Returns 0 when every check passes (after ``repair``, when it deleted poisoned files),
    1 otherwise.
    """
    cache_dir = cache_dir if cache_dir is not None else os.environ.get(ENV_VAR) or None
    environment = facts()
    checks = list(CHECKS) + [f"{TORCH_CHECK} [{d}]" for d in environment["torch_devices"]]
    if only:
        unknown = [name for name in only if name not in checks]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; choose from: {', '.join(checks)}")
        checks = list(only)
    jobs = jobs or min(len(checks), os.cpu_count() or 1)
    where = cache_dir or "numba's default (__pycache__ beside each kernel's source)"
    print(f"genreflow doctor: numba cache {where}", file=out)
    with tempfile.TemporaryDirectory(prefix="genreflow-doctor-") as workdir:
        doctor = Doctor(KernelCache.examine(cache_dir), Path(workdir), jobs)
        outcomes = doctor.run_all(checks)
        _print_rows(outcomes, out)
        diagnoses = doctor.diagnose([o for o in outcomes if not o.ok])
    if repair:
        for diagnosis in diagnoses:
            for path in diagnosis.poisoned:
                path.unlink(missing_ok=True)
            diagnosis.repaired = bool(diagnosis.poisoned)
    for text in _grouped(diagnoses):
        print("\n" + text, file=out)
    versions = ", ".join(f"{k} {v}" for k, v in environment["versions"].items())
    print(f"\n{versions}; numba targets CPU {environment['numba_cpu']}", file=out)
    if not diagnoses:
        print("all checks passed", file=out)
        return 0
    if repair and all(d.repaired for d in diagnoses):
        rerun = run_doctor(cache_dir=cache_dir, only=[d.check for d in diagnoses], out=out)
        return rerun
    return 1


def _grouped(diagnoses: Sequence[Diagnosis]) -> list[str]:
    """One paragraph per distinct finding, naming every check it explains."""
    findings: dict[tuple, list[Diagnosis]] = {}
    for diagnosis in diagnoses:
        key = (tuple(diagnosis.poisoned), None if diagnosis.poisoned else diagnosis.culprit)
        findings.setdefault(key, []).append(diagnosis)
    texts = []
    for group in findings.values():
        first = group[0]
        names = ", ".join(d.check for d in group)
        texts.append(names + first.describe().removeprefix(first.check))
    return texts


def _print_rows(outcomes: Sequence[Outcome], out) -> None:
    width = max(len(o.check) for o in outcomes)
    for outcome in outcomes:
        status = "pass" if outcome.ok else outcome.status.upper()
        if outcome.status == "crashed":
            status = f"CRASHED with {outcome.detail}"
            detail = ""
        else:
            detail = outcome.detail
        print(f"  {outcome.check:<{width}}  {status:<10}  {detail}", file=out)
