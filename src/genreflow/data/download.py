"""Fetch a dataset archive from a URL or a local path: resumable, verified, atomic.

:func:`fetch` is the one entry point. HTTP(S) downloads stream into ``<dest>.part``
so that an interrupted transfer resumes on the next call, and the archive appears
under ``dest`` only once its checksum has been verified. Local archives (``file://``
URLs or paths) are verified in place and hard-linked (or copied) to ``dest``; the
source itself is never modified.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import requests
import urllib3

from genreflow.atomic import atomic_path
from genreflow.checksums import digest_matches, file_digest, parse_checksum
from genreflow.errors import ChecksumError, DownloadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigKeys:
    """The config keys that set a download's source and checksum, named in messages."""

    source: str = "dataset.source"
    checksum: str = "dataset.checksum"

    @property
    def manual(self) -> str:
        return f"download the file by other means and set {self.source} to its local path"


DATASET_KEYS = ConfigKeys()
_MAX_BACKOFF_S = 60.0
_RETRY_STATUS = frozenset({408, 429})  # and every 5xx
# Errors while reading a response body: the connection broke off mid-transfer.
_BODY_ERRORS = (urllib3.exceptions.HTTPError, requests.RequestException)

Expected = tuple[str, str] | None  # (algorithm, hex digest) or unverified


def fetch(
    source: str,
    dest: str | os.PathLike,
    checksum: str | None = None,
    *,
    retries: int = 4,
    timeout_s: float = 60.0,
    backoff_s: float = 2.0,
    chunk_bytes: int = 1 << 20,
    keys: ConfigKeys = DATASET_KEYS,
    allow_prefix: bool = False,
) -> Path:
    """Materialise the file at ``source`` as ``dest``, verified against ``checksum``.

    Parameters
    ----------
    source : str
        An ``http(s)://`` URL, a ``file://`` URL or a local file path. Directories
        are rejected: they are used in place by the caller.
    dest : str or os.PathLike
        Where the archive should appear; its parent is created if needed. An
        existing ``dest`` that matches ``checksum`` is returned as it is.
    checksum : str, optional
        ``"md5:..."``, ``"sha1:..."`` or ``"sha256:..."``. Without it the archive is
        used unverified and a warning is logged.
    retries : int, default=4
        Total number of HTTP attempts when they fail transiently (connection
        errors, timeouts, truncated bodies, HTTP 5xx, 408 and 429).
    timeout_s : float, default=60.0
        Connect and read timeout of each request, in seconds.
    backoff_s : float, default=2.0
        Wait after failed attempt ``k`` (from 0) is ``backoff_s * 2**k``, at most 60 s.
    chunk_bytes : int, default=1 MiB
        Size of each read and write.
    keys : ConfigKeys
        The config keys of ``source`` and ``checksum``, named in error messages.
    allow_prefix : bool, default=False
        Accept a leading part of a SHA-256 digest (at least 8 hex digits), as torch.hub
        names published weights (``vggish-10086976.pth``).

    Returns
    -------
    pathlib.Path
        ``dest``, complete and verified when ``checksum`` is given.

    Raises
    ------
    DownloadError
        The source is missing, a directory, unreachable or refused.
    ChecksumError
        The archive does not match ``checksum``.
    ConfigError
        ``checksum`` is malformed.

    Notes
    -----
    After a failure ``dest`` does not exist (unless it was already there and
    valid). Only ``<dest>.part`` may remain, after a broken-off download, and the
    next call resumes from it with an HTTP ``Range`` request.
    """
    source, dest = os.fspath(source), Path(dest)
    if retries < 1:
        raise ValueError(f"retries must be at least 1, got {retries}")
    expected = (
        parse_checksum(checksum, key=keys.checksum, allow_prefix=allow_prefix) if checksum else None
    )
    local = _local_path(source, keys)
    if local is not None:
        _check_local_source(local, keys)
    if _reuse_existing(dest, expected, local, keys):
        return dest
    if local is None:
        _download_http(source, dest, expected, retries, timeout_s, backoff_s, chunk_bytes, keys)
    else:
        _materialise_local(local, dest, expected, chunk_bytes, keys)
    if expected is None:
        log.warning("no %s is set: %s is unverified", keys.checksum, dest)
    return dest


# -- local sources ----------------------------------------------------------------


def _local_path(source: str, keys: ConfigKeys) -> Path | None:
    """The path behind a ``file://`` URL or plain path; ``None`` for http(s)."""
    parsed = urlparse(source)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        return None
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise DownloadError(
                f"{source}: file URLs on another host ({parsed.netloc}) are not supported. "
                f"Mount the share and set {keys.source} to the local path."
            )
        return Path(url2pathname(parsed.path))
    if "://" in source:
        raise DownloadError(
            f"{source}: unsupported URL scheme {parsed.scheme!r}. {keys.source} must be an "
            f"http(s):// or file:// URL or a local path; otherwise {keys.manual}."
        )
    return Path(source)


def _check_local_source(path: Path, keys: ConfigKeys) -> None:
    if path.is_dir():
        raise DownloadError(
            f"{path} is a directory: directories are used in place and do not go through "
            f"fetch. Use it as an extracted dataset, or point {keys.source} at an archive file."
        )
    if not path.exists():
        where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
        raise DownloadError(
            f"{path} does not exist{where}. Check {keys.source}, or put the archive there."
        )


def _reuse_existing(dest: Path, expected: Expected, local: Path | None, keys: ConfigKeys) -> bool:
    """True if ``dest`` can be returned as it is; removes a ``dest`` that cannot."""
    if not dest.exists():
        return False
    if local is not None and os.path.samefile(local, dest):
        _verify_local(local, dest, expected, keys)  # dest *is* the source: never delete it
        return True
    if expected is not None and digest_matches(file_digest(dest, expected[0]), expected[1]):
        log.info("%s is already present and matches %s", dest, keys.checksum)
        return True
    log.info("removing %s: it is not known to match %s; fetching it again", dest, keys.checksum)
    dest.unlink()
    return False


def _verify_local(src: Path, dest: Path, expected: Expected, keys: ConfigKeys) -> None:
    if expected is None:
        return
    actual = file_digest(src, expected[0])
    if not digest_matches(actual, expected[1]):
        raise ChecksumError(
            f"checksum mismatch for {src}: expected {expected[0]} {expected[1]}, got {actual}. "
            f"The file is corrupt or a different archive; it was left untouched and {dest} "
            f"was not created. Replace it, or correct {keys.checksum}."
        )


def _materialise_local(
    src: Path, dest: Path, expected: Expected, chunk_bytes: int, keys: ConfigKeys
) -> None:
    """Verify ``src`` in place, then hard-link it to ``dest`` (or copy it) atomically."""
    _verify_local(src, dest, expected, keys)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.link.tmp")
    try:
        os.link(src, tmp)
    except OSError as exc:
        log.info("cannot hard-link %s (%s); copying it to %s", src, exc.strerror or exc, dest)
        _copy_verified(src, dest, expected, chunk_bytes)
        return
    try:
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("linked %s to %s (%s)", src, dest, _human(dest.stat().st_size))


def _copy_verified(src: Path, dest: Path, expected: Expected, chunk_bytes: int) -> None:
    """Copy in chunks, hashing what is written; rename into place only if it matches."""
    hasher = hashlib.new(expected[0]) if expected else None
    with atomic_path(dest) as tmp, open(src, "rb") as fin, open(tmp, "wb") as fout:
        while chunk := fin.read(chunk_bytes):
            fout.write(chunk)
            if hasher is not None:
                hasher.update(chunk)
        if hasher is not None and not digest_matches(hasher.hexdigest(), expected[1]):
            raise ChecksumError(
                f"checksum mismatch while copying {src} to {dest}: the source changed during "
                "the copy; nothing was kept. Re-run once the file is stable."
            )
    log.info("copied %s to %s (%s)", src, dest, _human(dest.stat().st_size))


# -- HTTP(S) ----------------------------------------------------------------------


class _Transient(Exception):
    """A failed attempt worth retrying; ``kind`` selects the final message."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _download_http(
    url: str,
    dest: Path,
    expected: Expected,
    retries: int,
    timeout_s: float,
    backoff_s: float,
    chunk_bytes: int,
    keys: ConfigKeys,
) -> None:
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with requests.Session() as session:
        transfer = _Transfer(session, url, part, retries, timeout_s, backoff_s, chunk_bytes, keys)
        transfer.run()
        actual = file_digest(part, expected[0]) if expected else None
        if expected and not digest_matches(actual, expected[1]) and transfer.inherited:
            log.warning(
                "%s: the resumed download does not match %s; discarding %s and starting over",
                url,
                keys.checksum,
                part,
            )
            part.unlink()
            transfer.run()
            actual = file_digest(part, expected[0])
    if expected and not digest_matches(actual, expected[1]):
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"checksum mismatch for {url}: expected {expected[0]} {expected[1]}, got {actual}. "
            f"The download is corrupt or a different file; it was deleted and nothing was kept "
            f"at {dest}. Re-run to download it again; if it fails the same way, check "
            f"{keys.checksum} and the server or mirror."
        )
    os.replace(part, dest)
    elapsed = max(time.monotonic() - started, 1e-6)
    log.info(
        "downloaded %s to %s: %s in %.1f s (%s/s)",
        url,
        dest,
        _human(dest.stat().st_size),
        elapsed,
        _human(transfer.received / elapsed),
    )


class _Transfer:
    """Bring ``part`` to the full size of ``url``, resuming and retrying as needed."""

    def __init__(
        self, session, url, part, retries, timeout_s, backoff_s, chunk_bytes, keys
    ) -> None:
        self.session, self.url, self.part, self.keys = session, url, part, keys
        self.retries, self.timeout_s, self.backoff_s = retries, timeout_s, backoff_s
        self.chunk_bytes = chunk_bytes
        self.received = 0  # bytes received in this call, for the speed report
        self.inherited = False  # whether ``part`` holds bytes from before this call

    def run(self) -> None:
        self.inherited = self._size() > 0
        last = _Transient("connect", "no attempt made")
        for attempt in range(self.retries):
            offset = self._size()
            log.info(
                "GET %s (attempt %d/%d%s)",
                self.url,
                attempt + 1,
                self.retries,
                f", resuming after {_human(offset)}" if offset else "",
            )
            try:
                self._attempt(offset)
                return
            except _Transient as exc:
                last = exc
                if attempt + 1 == self.retries:
                    log.warning("%s: attempt %d failed: %s", self.url, attempt + 1, exc.reason)
                    break
                delay = min(self.backoff_s * 2**attempt, _MAX_BACKOFF_S)
                log.warning(
                    "%s: attempt %d failed: %s; retrying in %.2g s",
                    self.url,
                    attempt + 1,
                    exc.reason,
                    delay,
                )
                time.sleep(delay)
        raise DownloadError(self._give_up_message(last))

    def _size(self) -> int:
        return self.part.stat().st_size if self.part.exists() else 0

    def _attempt(self, offset: int) -> None:
        headers = {"Accept-Encoding": "identity"}  # byte counts must match the file
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            response = self.session.get(
                self.url, headers=headers, stream=True, timeout=self.timeout_s
            )
        except requests.exceptions.SSLError as exc:
            raise DownloadError(
                f"TLS error for {self.url} ({_describe(exc)}). Check the system certificates "
                f"or proxy, or {self.keys.manual}."
            ) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient("connect", _describe(exc)) from exc
        except requests.RequestException as exc:
            raise DownloadError(
                f"cannot request {self.url} ({_describe(exc)}). Check {self.keys.source}."
            ) from exc
        with response:
            self._receive(response, offset)

    def _receive(self, response: requests.Response, offset: int) -> None:
        status = response.status_code
        reason = f"HTTP {status} {response.reason or ''}".strip()
        if status == 416 and offset:
            _, total = _content_range(response.headers.get("Content-Range"))
            if total is not None and total != offset:
                log.warning(
                    "%s is larger than %s (%d bytes); starting over", self.part, self.url, total
                )
                self.part.unlink()
                self.inherited = False
                return self._attempt(0)
            log.info(
                "%s: nothing past byte %d; checking %s as complete", self.url, offset, self.part
            )
            return
        if status >= 500 or status in _RETRY_STATUS:
            raise _Transient("http", reason)
        if status not in (200, 206):
            raise DownloadError(_refused_message(self.url, status, reason, self.keys))
        length = _int_or_none(response.headers.get("Content-Length"))
        if status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                self.part.unlink(missing_ok=True)
                raise _Transient("http", f"{reason} for the wrong range (from byte {start})")
        else:
            start, total = 0, length
            if offset:
                log.info("%s ignored the Range request; starting over", self.url)
        if total is None and length is not None:
            total = start + length
        if start == 0:
            self.inherited = False
        got = 0
        try:
            with open(self.part, "ab" if start else "wb") as fh:
                for chunk in response.raw.stream(self.chunk_bytes, decode_content=False):
                    fh.write(chunk)
                    got += len(chunk)
        except _BODY_ERRORS as exc:
            raise _Transient(
                "truncated",
                f"connection lost after {start + got} of {total or '?'} bytes: {_describe(exc)}",
            ) from exc
        except OSError as exc:  # urllib3 wraps socket errors, so this is the local file
            raise DownloadError(
                f"cannot write {self.part} ({exc.strerror or exc}). Check the free space and "
                f"permissions of {self.part.parent}."
            ) from exc
        finally:
            self.received += got
        if total is not None and start + got != total:
            raise _Transient("truncated", f"received {start + got} of {total} bytes")

    def _give_up_message(self, last: _Transient) -> str:
        n = f"{self.retries} attempt{'s' if self.retries != 1 else ''}"
        if last.kind == "connect":
            return (
                f"could not reach {self.url} after {n} ({last.reason}). "
                f"Check your network or proxy, or {self.keys.manual}."
            )
        if last.kind == "truncated":
            return (
                f"the download of {self.url} broke off on each of {n} ({last.reason}). "
                f"The {_human(self._size())} received are kept in {self.part} and the next run "
                f"resumes from there; re-run, or {self.keys.manual}."
            )
        return (
            f"{last.reason} from {self.url} after {n}: the server is failing or busy. "
            f"Try again later, or {self.keys.manual}."
        )


def _refused_message(url: str, status: int, reason: str, keys: ConfigKeys) -> str:
    if status in (404, 410):
        return f"{reason} for {url}: the file is not there. Check {keys.source}, or {keys.manual}."
    if status in (401, 403):
        return (
            f"{reason} for {url}: access denied (the server may need a login or refuse "
            f"scripted downloads). Check {keys.source}, or {keys.manual}."
        )
    return f"{reason} for {url}: the server refused the request. Check {keys.source}, or {keys.manual}."


# -- small helpers ------------------------------------------------------------------


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``(first byte, total size)`` of ``bytes a-b/total`` or ``bytes */total``."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if match is None:
        return None, None
    start = int(match[1]) if match[1] is not None else None
    return start, int(match[2]) if match[2] != "*" else None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _describe(exc: BaseException) -> str:
    """``Type: cause`` of a requests/urllib3 error, on one line and without object reprs."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            return f"{type(exc).__name__}: {cause.strerror}"
        cause = cause.__cause__ or cause.__context__
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return f"{type(exc).__name__}: {' '.join(detail.split())}"


def _human(n_bytes: float) -> str:
    units, i = ("B", "KiB", "MiB", "GiB"), 0
    while n_bytes >= 1024 and i < len(units) - 1:
        n_bytes, i = n_bytes / 1024, i + 1
    return f"{n_bytes:.0f} B" if i == 0 else f"{n_bytes:.1f} {units[i]}"
