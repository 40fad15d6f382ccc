"""What a training job leaves on disk, and the provenance recorded with it."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from typing import Any

PACKAGES = ("genreflow", "torch", "torchaudio", "numpy", "librosa", "scikit-learn", "pandas")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def fingerprint(resolved: dict[str, Any]) -> str:
    """A short stable hash of a resolved configuration (JSON with sorted keys)."""
    text = json.dumps(resolved, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
