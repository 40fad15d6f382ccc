"""Which kernel checks fail on a numba cache, and why: a poisoned cache or a package.

:class:`Doctor` runs the checks (:mod:`genreflow.kernels.child`) on private copies of
the :class:`KernelCache` it examines, never on the cache itself, so running it beside a
workflow is safe too. A check that fails is rerun on an empty cache: when it passes
there, the examined cache's files of the kernels it used are put into that clean cache,
halving the suspects, until the poisoned files are found (:class:`Diagnosis`); when it
fails there too, the package at fault is named.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from genreflow.kernels.cache import (
    cache_files,
    cache_subfolder,
    default_cache_folder,
    kernel_source_folders,
)
from genreflow.kernels.checks import CHECKS, TORCH_CHECK
from genreflow.kernels.child import Outcome, run_child


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
