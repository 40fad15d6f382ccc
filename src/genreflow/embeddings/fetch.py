"""``genreflow weights fetch NAME --to DIR``: a known checkpoint's files into a folder.

Each file of :data:`~genreflow.embeddings.checkpoints.KNOWN_CHECKPOINTS` ``[NAME]`` is
fetched from ``<base>/<repo>/resolve/<revision>/<file>`` (base: the Hugging Face hub,
or ``--mirror``: another server, a ``file://`` URL or a local folder laid out the same
way) with the dataset download's machinery (:func:`genreflow.data.download.fetch`:
resumable, retried, atomic: a file appears only once complete). The hub publishes no
checksum these URLs could be verified against, so the command records what it fetched:
the SHA-256 of every file in ``DIR/SHA256SUMS`` and the source, revision and licence in
``DIR/genreflow-weights.json``. A file already in ``DIR`` with the SHA-256 that
SHA256SUMS records is kept; any other is fetched again. The embedding stage checks the
files against SHA256SUMS before it builds the network, and records the digests.

This is the only place genreflow downloads a CLAP, MERT or MuQ checkpoint: the workflow
never does.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from genreflow.atomic import write_json, write_text
from genreflow.checksums import file_digest
from genreflow.data.download import ConfigKeys, fetch
from genreflow.embeddings.checkpoints import (
    RECORD_FILE,
    SUMS_FILE,
    Checkpoint,
    known_checkpoint,
    read_sums,
    sums_text,
)
from genreflow.errors import DownloadError

log = logging.getLogger(__name__)


class _FetchKeys(ConfigKeys):
    """How the download's messages name the command's options."""

    @property
    def manual(self) -> str:
        return "download the file by other means into the --to folder and run the command again"


class _NoChecksumWarning(logging.Filter):
    """The download warns that a file without a configured checksum is unverified; here
    no checksum is published, and SHA256SUMS records what was fetched instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is unverified" not in record.getMessage()


def mirror_base(mirror: str | os.PathLike | None) -> str | None:
    """``--mirror`` as a base URL: an http(s) or file URL as given, a folder as its file URL."""
    if mirror is None:
        return None
    text = os.fspath(mirror)
    if urlparse(text).scheme in ("http", "https", "file"):
        return text
    return Path(text).resolve().as_uri()


def fetch_checkpoint(
    name: str,
    dest: str | os.PathLike,
    *,
    mirror: str | os.PathLike | None = None,
    revision: str | None = None,
    retries: int = 4,
    timeout_s: float = 60.0,
    backoff_s: float = 2.0,
) -> dict[str, Any]:
    """Fetch checkpoint ``name``'s files into ``dest``; returns the record written there.

    Raises ConfigError for an unknown ``name``, DownloadError for a file that cannot be
    fetched (nothing of it is left but a resumable ``.part``).
    """
    checkpoint = known_checkpoint(name)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    base = mirror_base(mirror)
    revision = revision or checkpoint.revision
    recorded = read_sums(dest)
    files: dict[str, dict[str, Any]] = {}
    download_log = logging.getLogger("genreflow.data.download")
    quiet = _NoChecksumWarning()
    download_log.addFilter(quiet)
    try:
        for entry in checkpoint.files:
            file, url, digest = _fetch_one(
                checkpoint,
                entry if isinstance(entry, tuple) else (entry,),
                dest,
                recorded,
                base,
                revision,
                retries=retries,
                timeout_s=timeout_s,
                backoff_s=backoff_s,
            )
            files[file] = {"url": url, "sha256": digest, "bytes": (dest / file).stat().st_size}
            # written after every file: an interrupted fetch keeps what it verified
            write_text(sums_text({**recorded, **_digests(files)}), dest / SUMS_FILE)
    finally:
        download_log.removeFilter(quiet)
    record = _record(checkpoint, revision, base, files)
    write_json(record, dest / RECORD_FILE)
    return record


def _fetch_one(
    checkpoint: Checkpoint,
    alternatives: tuple[str, ...],
    dest: Path,
    recorded: dict[str, str],
    base: str | None,
    revision: str,
    **download: Any,
) -> tuple[str, str, str]:
    """``(file, url, sha256)`` of the first of ``alternatives`` already in ``dest`` as
    recorded, else the first the source has (the others' absence is not an error)."""
    for file in alternatives:
        digest = _kept(dest / file, recorded.get(file))
        if digest is not None:
            return file, checkpoint.url(file, base, revision), digest
    keys = _FetchKeys(
        source=f"the URL (genreflow weights fetch {checkpoint.name} --mirror)",
        checksum=str(dest / SUMS_FILE),
    )
    failures = []
    for file in alternatives:
        url = checkpoint.url(file, base, revision)
        try:
            fetch(url, dest / file, None, keys=keys, **download)
        except DownloadError as error:
            if len(alternatives) == 1:
                raise
            failures.append(str(error))
            continue
        return file, url, file_digest(dest / file, "sha256")
    raise DownloadError(
        f"none of {', '.join(alternatives)} could be fetched: " + " / ".join(failures)
    )


def _kept(target: Path, recorded: str | None) -> str | None:
    """The SHA-256 of ``target`` when it is already there as recorded, else None."""
    if recorded is None or not target.is_file():
        return None
    digest = file_digest(target, "sha256")
    if digest == recorded:
        log.info("%s is already here with the SHA-256 %s records", target, SUMS_FILE)
        return digest
    return None


def _digests(files: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: entry["sha256"] for name, entry in files.items()}


def _record(
    checkpoint: Checkpoint, revision: str, base: str | None, files: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "name": checkpoint.name,
        "repo": checkpoint.repo,
        "revision": revision,
        "kind": checkpoint.kind,
        "licence": checkpoint.licence,
        "mirror": base,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
