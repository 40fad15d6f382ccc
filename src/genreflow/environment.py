"""What a result was computed with: the node's hardware and the installed software.

:func:`node_facts` is recorded in every training job's ``config.json`` (nodes of one
cluster differ); :func:`environment_record` is the run's ``results/environment/<dataset>.json``.
Nothing here imports torch unless it is already imported, so light jobs stay light.
"""

from __future__ import annotations

import hashlib
import platform
import re
import socket
import sys
from importlib import metadata
from pathlib import Path

from genreflow.checkout import CHECKOUT

LOCK_FILE = CHECKOUT / "requirements" / "lock.txt"


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux), else the platform's word."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def torch_facts() -> dict:
    """torch, CUDA and cuDNN versions and the GPU's name (None where there is none)."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
    }


def node_facts() -> dict:
    """The machine this process runs on: host, CPU, the CPU numba compiles for, GPU."""
    facts = {
        "host": socket.gethostname(),
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    if "numba" in sys.modules:
        import llvmlite.binding

        facts["numba_cpu"] = llvmlite.binding.get_host_cpu_name()
    if "torch" in sys.modules:
        facts.update(torch_facts())
    return facts


def installed_packages() -> dict[str, str]:
    """Every installed distribution and its version, sorted by name."""
    versions = {dist.metadata["Name"]: dist.version for dist in metadata.distributions()}
    return dict(sorted(versions.items(), key=lambda item: item[0].lower()))


def lock_hash(lock: Path = LOCK_FILE) -> str | None:
    """SHA-256 of the committed lock the environment should have come from."""
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else None


def locked_versions(lock: Path = LOCK_FILE) -> dict[str, str]:
    """The lock's pins: normalised name (``scikit-learn``) → exact version."""
    pins = {}
    for line in lock.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = (part.strip() for part in requirement.split("==", 1))
            pins[normalised_name(name)] = version
    return pins


def normalised_name(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_mismatches(lock: Path = LOCK_FILE) -> dict[str, tuple[str, str | None]]:
    """Installed packages whose version differs from the lock: name → (locked, installed).

    Packages of the lock that are not installed (an extra not asked for) are not listed.
    """
    if not lock.is_file():
        return {}
    installed = {normalised_name(name): v for name, v in installed_packages().items()}
    differing = {}
    for name, version in locked_versions(lock).items():
        found = installed.get(name)
        if found is not None and found.split("+", 1)[0] != version.split("+", 1)[0]:
            differing[name] = (version, found)
    return differing


def environment_record() -> dict:
    """The software of a run: Python, the node, every package, and the lock it matches."""
    import torch  # noqa: F401  (so that node_facts reports CUDA and the GPU)

    return {
        "python": sys.version,
        "node": node_facts(),
        "lock": str(LOCK_FILE.relative_to(LOCK_FILE.parents[1])),
        "lock_sha256": lock_hash(),
        "differs_from_lock": {k: list(v) for k, v in lock_mismatches().items()},
        "packages": installed_packages(),
    }
