"""Pretrained weights that are downloaded, not bundled: source, checksum, cache.

An embedding kind whose weights cannot be committed (VGGish's 280 MB) names the set
parameters that are files (:attr:`EmbeddingKind.downloads`); each is configured as
``{source: URL or path, checksum: "sha256:…"}``, e.g.
``features.sets.vggish.weights``. The workflow's rule ``fetch_weights`` fetches each
file once into ``resources/downloads/weights/<file name>`` with the dataset download's
machinery (resumable, verified before it appears, never modified), and
``genreflow predict`` finds it there, or fetches it the same way when it is missing.

A torch.hub file name carries the start of the file's SHA-256 (``vggish-10086976.pth``),
and that prefix is all its publisher gives: a checksum may be such a prefix (8 or more
hex digits).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from genreflow.checkout import CHECKOUT
from genreflow.checksums import parse_checksum
from genreflow.errors import ConfigError

# relative to the workflow's directory (the project root): rule fetch_weights' output
WEIGHTS_CACHE = "resources/downloads/weights"
# the same folder found from the installed package, for genreflow predict run elsewhere
PROJECT_WEIGHTS_CACHE = CHECKOUT / WEIGHTS_CACHE


@dataclass(frozen=True)
class WeightFile:
    """One downloaded file of a pretrained network, as configured."""

    key: str  # its config key, e.g. "features.sets.vggish.weights"
    source: str  # http(s):// or file:// URL, or a local path
    checksum: str | None  # "sha256:…" (a torch.hub prefix is accepted), or None: unverified

    @property
    def file_name(self) -> str:
        """The name it is cached under: the last part of its URL or path."""
        name = Path(urlparse(self.source).path or self.source).name
        if not name:
            raise ConfigError(f"{self.key}.source: {self.source!r} names no file.")
        return name

    def cached(self, cache: str | os.PathLike = WEIGHTS_CACHE) -> Path:
        """Where the verified file lives once fetched."""
        return Path(cache) / self.file_name

    def fetch(self, cache: str | os.PathLike | None = None, **download: Any) -> Path:
        """The cached file, fetched and verified first if it is missing (``download``:
        :func:`genreflow.data.download.fetch`'s retries, timeout_s, backoff_s).

        ``cache`` defaults to the project's ``resources/downloads/weights``, where the
        workflow's rule fetch_weights puts it.
        """
        from genreflow.data.download import ConfigKeys, fetch

        return fetch(
            self.source,
            self.cached(PROJECT_WEIGHTS_CACHE if cache is None else cache),
            self.checksum,
            keys=ConfigKeys(f"{self.key}.source", f"{self.key}.checksum"),
            allow_prefix=True,
            **download,
        )


def weight_file(key: str, block: Any) -> WeightFile:
    """The :class:`WeightFile` of config block ``key`` (``{source, checksum}``)."""
    if not isinstance(block, Mapping) or not block.get("source"):
        raise ConfigError(
            f"{key}: expected {{source: URL or path, checksum: 'sha256:…'}}, got {block!r}."
        )
    checksum = block.get("checksum")
    if checksum:
        parse_checksum(checksum, key=f"{key}.checksum", allow_prefix=True)
    return WeightFile(key, str(block["source"]), checksum)


def set_weight_files(
    sets: Mapping[str, Mapping[str, Any]], downloads: Mapping[str, tuple[str, ...]]
) -> dict[str, dict[str, WeightFile]]:
    """``{set: {parameter: WeightFile}}`` for every set whose kind downloads weights.

    ``downloads`` maps a kind to its file parameters; a set may leave an optional one
    (VGGish's ``pca``) out or null.
    """
    files: dict[str, dict[str, WeightFile]] = {}
    for name, block in sets.items():
        for parameter in downloads.get(block.get("kind"), ()):
            if block.get(parameter) is not None:
                key = f"features.sets.{name}.{parameter}"
                files.setdefault(name, {})[parameter] = weight_file(key, block[parameter])
    return files


def fetched_files(name: str, kind: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The local files of set ``name``'s downloaded parameters, fetched into the project's
    cache first where missing (``genreflow predict`` with a model on such a set)."""
    from genreflow.embeddings import kind_downloads

    files = set_weight_files({name: {"kind": kind, **params}}, kind_downloads())
    return {parameter: str(weight.fetch()) for parameter, weight in files.get(name, {}).items()}
