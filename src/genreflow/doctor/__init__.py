"""``genreflow doctor``: run every compiled kernel genreflow depends on, each in its own
child process, and say what is broken: a poisoned numba cache (naming its files, which
``--repair`` deletes), or the package at fault.

The doctor never writes to the cache it examines: each child runs on a private copy of
it (``NUMBA_CACHE_DIR``), so running the doctor beside a workflow is safe too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from genreflow.doctor.checks import CHECKS, EXIT_WRONG, TORCH_CHECK
from genreflow.numba_cache import (
    ENV_VAR,
    cache_files,
    cache_subfolder,
    default_cache_folder,
    kernel_source_folders,
)

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


@dataclass
class KernelCache:
    """The numba cache under examination: kernel files of each source folder."""

    cache_dir: str | None  # NUMBA_CACHE_DIR, or None for numba's in-tree __pycache__
    units: dict[tuple[Path, str], list[Path]] = field(default_factory=dict)

    @classmethod
    def examine(cls, cache_dir: str | None) -> KernelCache:
        cache = cls(cache_dir)
        for folder in kernel_source_folders():
            location = default_cache_folder(folder, cache_dir)
            for unit, files in cache_files(location).items():
                cache.units[(folder, unit)] = files
        return cache

    def copy_to(self, dest: Path, units: Sequence[tuple[Path, str]] | None = None) -> Path:
        """Lay ``units`` (default: all) out as a NUMBA_CACHE_DIR under ``dest``."""
        for key in self.units if units is None else units:
            folder, _ = key
            target = dest / cache_subfolder(folder / "x.py")
            target.mkdir(parents=True, exist_ok=True)
            for path in self.units[key]:
                shutil.copy2(path, target / path.name)
        return dest


def _child_env(cache_dir: Path) -> dict[str, str]:
    env = {**os.environ, ENV_VAR: str(cache_dir), "PYTHONFAULTHANDLER": "1"}
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_child(check: str, cache_dir: Path) -> Outcome:
    """Run ``check`` in a new interpreter whose numba cache is ``cache_dir``."""
    command = [sys.executable, "-X", "faulthandler", "-m", "genreflow.doctor.checks", check]
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


def _package_in_traceback(stderr: str) -> str | None:
    """The installed package of the innermost frame faulthandler printed, if any."""
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith('File "') and "site-packages" in line:
            top = line.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
            names = distributions.get(top)
            return names[0] if names else top
    return None


@dataclass
class Diagnosis:
    check: str
    poisoned: list[Path] = field(default_factory=list)
    culprit: str | None = None
    repaired: bool = False

    def describe(self) -> str:
        if self.poisoned:
            state = "deleted by --repair" if self.repaired else "run `genreflow doctor --repair`"
            return (
                f"{self.check}: the on-disk numba cache is poisoned (it passes with an empty "
                f"cache; numba issue #10128). Poisoned files ({state}):\n    "
                + "\n    ".join(map(str, self.poisoned))
            )
        return (
            f"{self.check}: fails with an empty numba cache too, so the fault is in "
            f"{self.culprit}: reinstall it from the lock (requirements/lock.txt) or report it."
        )


class Doctor:
    """Runs the checks against one cache and diagnoses the failures."""

    def __init__(self, cache: KernelCache, workdir: Path, jobs: int) -> None:
        self.cache, self.workdir, self.jobs = cache, workdir, jobs

    def _scratch(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="cache", dir=self.workdir))

    def run(self, check: str, units=None, base: Path | None = None) -> Outcome:
        """``check`` on a private copy of the cache (or of ``base`` plus ``units``)."""
        scratch = self._scratch()
        if base is None:
            self.cache.copy_to(scratch, units)
        else:
            shutil.copytree(base, scratch, dirs_exist_ok=True)
            self._overlay(scratch, units or [])
        return run_child(check, scratch)

    def _overlay(self, scratch: Path, units) -> None:
        """Replace ``units`` in ``scratch`` by the examined cache's files of them."""
        for folder, unit in units:
            target = scratch / cache_subfolder(folder / "x.py")
            for stale in cache_files(target).get(unit, []):
                stale.unlink()
        self.cache.copy_to(scratch, units)

    def run_all(self, checks: Sequence[str]) -> list[Outcome]:
        """Every check; the numba ones one after another on one private copy of the cache
        (each reuses what the previous compiled, and none writes while another does),
        the others beside them."""
        numba = [c for c in checks if not c.startswith(TORCH_CHECK) and CHECKS[c].numba]
        shared = self.cache.copy_to(self._scratch()) if numba else None

        def chain() -> list[Outcome]:
            return [run_child(check, shared) for check in numba]

        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            chained = pool.submit(chain)
            others = {c: pool.submit(self.run, c) for c in checks if c not in numba}
            by_name = dict(zip(numba, chained.result()))
            by_name.update({c: future.result() for c, future in others.items()})
        return [by_name[c] for c in checks]

    def diagnose(self, failed: Sequence[Outcome]) -> list[Diagnosis]:
        """Why each of ``failed`` failed: rerun on one empty cache, then find bad kernels.

        The reruns on the empty cache run one after another, so the first compiles and
        the rest reuse its kernels (and no two of them write the cache at once).
        """
        fresh = self._scratch()
        clean = {outcome.check: run_child(outcome.check, fresh) for outcome in failed}
        used = [
            (folder, unit)
            for folder in kernel_source_folders()
            for unit in cache_files(fresh / cache_subfolder(folder / "x.py"))
        ]
        suspects = [key for key in used if key in self.cache.units]
        diagnoses, known = [], []
        for outcome in failed:
            package = _package_of(outcome.check)
            rerun = clean[outcome.check]
            if not rerun.ok:
                culprit = _package_in_traceback(rerun.stderr or outcome.stderr) or package
                diagnoses.append(Diagnosis(outcome.check, culprit=culprit))
                continue
            rest = [key for key in suspects if key not in known]
            if (
                known
                and not self.run(outcome.check, known, base=fresh).ok
                and (self.run(outcome.check, rest, base=fresh).ok)
            ):
                bad = list(known)
            else:
                bad = self._bisect(outcome.check, fresh, suspects)
            known += [key for key in bad if key not in known]
            files = sorted(path for key in bad for path in self.cache.units[key])
            diagnoses.append(Diagnosis(outcome.check, poisoned=files, culprit=package))
        return diagnoses

    def _bisect(self, check: str, fresh: Path, suspects: list) -> list:
        """The units among ``suspects`` whose cached files, alone, make ``check`` fail."""
        if not suspects or self.run(check, suspects, base=fresh).ok:
            return []
        if len(suspects) == 1:
            return suspects
        half = len(suspects) // 2
        found = self._bisect(check, fresh, suspects[:half])
        found += self._bisect(check, fresh, suspects[half:])
        return found or suspects  # only together: name them all


def _package_of(check: str) -> str:
    return "torch" if check.startswith(TORCH_CHECK) else CHECKS[check].package


def facts() -> dict:
    """Versions and the CPU numba targets, read in a child (it imports numba and torch)."""
    with tempfile.TemporaryDirectory(prefix="genreflow-doctor-") as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "genreflow.doctor.checks", "--facts"],
            capture_output=True,
            text=True,
            env=_child_env(Path(scratch)),
            check=False,
        )
    if done.returncode != 0:
        return {"versions": {}, "numba_cpu": "unknown", "torch_devices": ["cpu"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


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
