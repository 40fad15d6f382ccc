"""Where numba keeps compiled kernels, so that no two processes ever write the same one.

numba's on-disk cache (``cache=True``, used by librosa) is not safe against concurrent
writers: for a ``@guvectorize`` kernel ``X`` the pair ``X.nbc`` / ``guf-X.nbc`` is written
by each compiling process in turn, and when two processes compile at once the pair can
come from two compilations whose symbol names differ. From then on every process that
loads the pair crashes with SIGSEGV (numba issue #10128; also #4807). genreflow avoids
the race instead of hoping to win it:

* The workflow's first job (rule ``compile_kernels``) runs every kernel path the jobs use
  in **one** process, into a staging folder that is renamed into place when complete:
  ``results/kernels/numba_cache``. Nothing else ever writes there.
* Every other process (each Snakemake job, ``genreflow predict``/``explain``) points
  ``NUMBA_CACHE_DIR`` at a **private** folder of its own, started as a copy of a
  complete cache. Whatever it compiles itself (another CPU on a cluster node, a new
  signature) lands in its private copy, which is deleted when the process ends.

A cache entry records the CPU it was compiled for, so a node whose CPU differs from the
one that ran ``compile_kernels`` compiles in its private folder: slower, never unsafe.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

ENV_VAR = "NUMBA_CACHE_DIR"
# Packages whose numba kernels genreflow calls (PyWavelets and soxr are compiled C).
KERNEL_PACKAGES = ("librosa",)
CACHE_SUFFIXES = (".nbi", ".nbc")
# what compiled kernels depend on: a new release of any of them recompiles
KERNEL_DEPENDENCIES = ("numba", "llvmlite", "librosa", "numpy")


def kernel_versions() -> dict[str, str]:
    """The installed versions of :data:`KERNEL_DEPENDENCIES`."""
    return {name: metadata.version(name) for name in KERNEL_DEPENDENCIES}


def use_private_cache(source: str | os.PathLike | None = None) -> Path:
    """Point this process's numba cache at a new private folder, a copy of ``source``.

    Must run before numba is imported (numba reads ``NUMBA_CACHE_DIR`` once). The folder
    lives in the temporary directory (node-local on clusters) and is removed at exit.
    """
    if "numba" in sys.modules:
        raise RuntimeError(
            "genreflow.kernels.cache.use_private_cache() must run before numba is imported"
        )
    private = Path(tempfile.mkdtemp(prefix="genreflow-numba-"))
    if source is not None and Path(source).is_dir():
        shutil.copytree(source, private, dirs_exist_ok=True)
    os.environ[ENV_VAR] = str(private)
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    return private


def user_kernel_cache(build: Callable[[Path], None] | None = None) -> Path:
    """A complete kernel cache for this user and installation, built once, under a lock.

    For ``genreflow predict`` and ``explain`` outside the workflow: the first call builds
    it (``build(folder)``, by default a child process running
    :func:`genreflow.kernels.warmup.warm_kernels` with every feature kind) while holding
    a file lock, then renames it into place; later calls, in parallel or not, only read
    it. Keyed by Python, the kernels' package versions, the installation and the CPU.
    """
    from filelock import FileLock

    from genreflow.environment import cpu_model

    key_text = "|".join([sys.version, sys.prefix, cpu_model(), *kernel_versions().values()])
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    root = user_cache_root() / "genreflow"
    folder = root / f"numba-{key}"
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"numba-{key}.lock")):
        if not folder.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=f".numba-{key}.", dir=root))
            try:
                (build or _build_in_child)(staging)
                os.replace(staging, folder)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    return folder


def _build_in_child(folder: Path) -> None:
    """Compile every kernel into ``folder`` in a child process (numba not loaded here),
    saying on stderr what it does and, at the end, how long it took."""
    import time

    from genreflow.errors import GenreflowError

    print(
        "genreflow: compiling librosa's kernels once for this installation and CPU "
        f"(a few minutes on 2 cores; later runs reuse {folder.parent})...",
        file=sys.stderr,
        flush=True,
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "genreflow.kernels.warmup"],
        env={**os.environ, ENV_VAR: str(folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise GenreflowError(
            f"compiling librosa's kernels into {folder} failed (exit {done.returncode}: "
            f"{last}); run `genreflow doctor` to find the broken package"
        )
    print(f"genreflow: kernels compiled in {time.monotonic() - start:.0f} s", file=sys.stderr)


def cache_subfolder(source_file: str | os.PathLike) -> str:
    """The folder, under ``NUMBA_CACHE_DIR``, of the kernels defined in ``source_file``.

    numba's ``_CacheLocator.get_suitable_cache_subpath``: parent folder name plus the
    SHA-1 of the source folder's absolute path.
    """
    folder = os.path.dirname(os.path.abspath(source_file))
    digest = hashlib.sha1(folder.encode()).hexdigest()
    return f"{os.path.basename(folder)}_{digest}"


def kernel_source_folders(packages: Iterable[str] = KERNEL_PACKAGES) -> list[Path]:
    """Every folder of the installed ``packages`` (where their kernels' sources live)."""
    folders = []
    for package in packages:
        try:
            files = metadata.files(package) or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            if file.suffix == ".py":
                folders.append(Path(file.locate()).resolve().parent)
    return sorted(set(folders))


def default_cache_folder(source_folder: Path, cache_dir: str | None) -> Path:
    """Where numba caches kernels of ``source_folder``, as numba's locators decide:
    NUMBA_CACHE_DIR; else ``__pycache__`` beside the source where that is writable;
    else the user-wide cache (``$XDG_CACHE_HOME/numba``)."""
    if cache_dir:
        return Path(cache_dir) / cache_subfolder(source_folder / "x.py")
    if os.access(source_folder, os.W_OK):
        return source_folder / "__pycache__"
    return user_cache_root() / "numba" / cache_subfolder(source_folder / "x.py")


def user_cache_root() -> Path:
    """``$XDG_CACHE_HOME``, else ``~/.cache`` (where numba's user-wide cache lives too)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def kernel_unit(file_name: str) -> str:
    """The kernel a cache file belongs to: ``guf-pitch._pi_wrapper-430.py311.2.nbc`` and
    ``pitch._pi_wrapper-430.py311.nbi`` are both ``pitch._pi_wrapper-430``."""
    name = file_name.removeprefix("guf-")
    stem, _, _ = name.partition(".py")
    return stem


def cache_files(folder: Path) -> dict[str, list[Path]]:
    """numba cache files directly in ``folder``, grouped by kernel (:func:`kernel_unit`)."""
    units: dict[str, list[Path]] = defaultdict(list)
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix in CACHE_SUFFIXES and path.is_file():
                units[kernel_unit(path.name)].append(path)
    return dict(units)


def folder_fingerprint(folder: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path (to prove it unchanged)."""
    root = Path(folder)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
