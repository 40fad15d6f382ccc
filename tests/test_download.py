"""Tests of genreflow.data.download.fetch against a local HTTP server (no internet)."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import random
import re
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from genreflow.data.download import fetch
from genreflow.errors import ChecksumError, ConfigError, DownloadError

PAYLOAD = random.Random(20240601).randbytes(300 * 1024)
MD5 = "md5:" + hashlib.md5(PAYLOAD).hexdigest()
SHA256 = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
WRONG_MD5 = "md5:" + "0" * 32
FAST = {"backoff_s": 0.01, "timeout_s": 5.0}


class _Handler(BaseHTTPRequestHandler):
    """Serves PAYLOAD; the path picks a behaviour (see ``do_GET``)."""

    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.requests.append((self.path, self.headers.get("Range")))
            srv.hits[self.path] += 1
            hit = srv.hits[self.path]
        if self.path == "/missing.tar.gz":
            self._plain(404, b"not found")
        elif self.path == "/forbidden.tar.gz":
            self._plain(403, b"forbidden")
        elif self.path == "/always-503.tar.gz":
            self._plain(503, b"busy")
        elif self.path == "/flaky.tar.gz" and hit == 1:
            self._plain(500, b"oops")
        elif self.path == "/no-range.tar.gz":
            self._serve(honour_range=False)
        elif self.path == "/truncate-always.tar.gz":
            self._serve(truncate=True)
        elif self.path == "/truncate-once.tar.gz":
            self._serve(truncate=hit == 1)
        else:
            self._serve()

    def _plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, *, honour_range: bool = True, truncate: bool = False) -> None:
        start, size = 0, len(PAYLOAD)
        spec = self.headers.get("Range")
        if honour_range and spec:
            start = int(spec.removeprefix("bytes=").split("-")[0])
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # A truncated response promises the whole body, sends half, and hangs up.
        self.wfile.write(body[: len(body) // 2] if truncate else body)
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str | None]] = []
        self.hits: Counter[str] = Counter()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """A proxy from the environment must not capture requests to 127.0.0.1."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


# -- HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("checksum", [MD5, SHA256])
def test_http_success_verifies_checksum(server, tmp_path, checksum):
    dest = tmp_path / "sub" / "genres.tar.gz"
    result = fetch(server.url("/genres.tar.gz"), dest, checksum, **FAST)
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert not _part(dest).exists()
    assert server.requests == [("/genres.tar.gz", None)]


def test_http_without_checksum_warns_unverified(server, tmp_path, caplog):
    dest = tmp_path / "genres.tar.gz"
    with caplog.at_level(logging.INFO, logger="genreflow.data.download"):
        fetch(server.url("/genres.tar.gz"), dest, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert any(r.levelno == logging.WARNING and "unverified" in r.message for r in caplog.records)
    assert any("downloaded" in r.message and "/s)" in r.message for r in caplog.records)


def test_http_wrong_checksum_keeps_nothing(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    with pytest.raises(ChecksumError, match="checksum mismatch for http://.*expected md5 0{32}"):
        fetch(server.url("/genres.tar.gz"), dest, WRONG_MD5, **FAST)
    assert not dest.exists()
    assert not _part(dest).exists()
    assert len(server.requests) == 1


def test_malformed_checksum_is_a_config_error(server, tmp_path):
    with pytest.raises(ConfigError, match="dataset.checksum"):
        fetch(server.url("/genres.tar.gz"), tmp_path / "a.tar.gz", "md5:xyz", **FAST)
    assert server.requests == []


def test_http_404_is_not_retried(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    with pytest.raises(DownloadError, match="404") as info:
        fetch(server.url("/missing.tar.gz"), dest, MD5, **FAST)
    message = str(info.value)
    assert "dataset.source" in message and server.url("/missing.tar.gz") in message
    assert "\n" not in message
    assert len(server.requests) == 1
    assert not dest.exists() and not _part(dest).exists()


def test_http_403_is_not_retried(server, tmp_path):
    with pytest.raises(DownloadError, match="403.*access denied"):
        fetch(server.url("/forbidden.tar.gz"), tmp_path / "a.tar.gz", MD5, **FAST)
    assert len(server.requests) == 1


def test_http_truncated_every_time_gives_up_and_keeps_part(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    with pytest.raises(DownloadError, match="broke off on each of 3 attempts") as info:
        fetch(server.url("/truncate-always.tar.gz"), dest, MD5, retries=3, **FAST)
    assert "resumes" in str(info.value)
    assert not dest.exists()
    assert len(server.requests) == 3
    # Every retry resumed where the previous one broke off.
    assert server.requests[0][1] is None
    assert all(rng is not None and rng.startswith("bytes=") for _, rng in server.requests[1:])
    part = _part(dest)
    assert 0 < part.stat().st_size < len(PAYLOAD)
    assert PAYLOAD.startswith(part.read_bytes())


def test_http_truncated_once_resumes_with_range(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    fetch(server.url("/truncate-once.tar.gz"), dest, MD5, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(server.requests) == 2
    assert server.requests[0][1] is None
    assert server.requests[1][1] == f"bytes={len(PAYLOAD) // 2}-"


def test_http_resumes_from_existing_part(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    _part(dest).write_bytes(PAYLOAD[:102400])
    fetch(server.url("/genres.tar.gz"), dest, SHA256, **FAST)
    assert server.requests == [("/genres.tar.gz", "bytes=102400-")]
    assert dest.read_bytes() == PAYLOAD
    assert not _part(dest).exists()


def test_http_server_ignoring_range_restarts_from_zero(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    _part(dest).write_bytes(PAYLOAD[:102400])
    fetch(server.url("/no-range.tar.gz"), dest, MD5, **FAST)
    assert server.requests == [("/no-range.tar.gz", "bytes=102400-")]
    assert dest.read_bytes() == PAYLOAD


def test_http_complete_part_answered_416_is_verified(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    _part(dest).write_bytes(PAYLOAD)
    fetch(server.url("/genres.tar.gz"), dest, MD5, **FAST)
    assert server.requests == [("/genres.tar.gz", f"bytes={len(PAYLOAD)}-")]
    assert dest.read_bytes() == PAYLOAD


def test_http_stale_part_failing_checksum_restarts_once(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    _part(dest).write_bytes(b"x" * 102400)  # a partial download of some other file
    fetch(server.url("/genres.tar.gz"), dest, MD5, **FAST)
    assert server.requests == [("/genres.tar.gz", "bytes=102400-"), ("/genres.tar.gz", None)]
    assert dest.read_bytes() == PAYLOAD


def test_http_500_then_200_succeeds(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    fetch(server.url("/flaky.tar.gz"), dest, MD5, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert [path for path, _ in server.requests] == ["/flaky.tar.gz"] * 2


def test_http_5xx_every_time_gives_up(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    with pytest.raises(DownloadError, match="HTTP 503 .* after 2 attempts.*dataset.source"):
        fetch(server.url("/always-503.tar.gz"), dest, MD5, retries=2, **FAST)
    assert len(server.requests) == 2
    assert not dest.exists()


def test_http_existing_valid_dest_is_reused(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    dest.write_bytes(PAYLOAD)
    assert fetch(server.url("/genres.tar.gz"), dest, MD5, **FAST) == dest
    assert server.requests == []


def test_http_existing_invalid_dest_is_replaced(server, tmp_path):
    dest = tmp_path / "genres.tar.gz"
    dest.write_bytes(b"stale")
    fetch(server.url("/genres.tar.gz"), dest, MD5, **FAST)
    assert dest.read_bytes() == PAYLOAD


def test_unreachable_host(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dest = tmp_path / "x.tar.gz"
    url = f"http://127.0.0.1:{port}/x"
    with pytest.raises(DownloadError, match="could not reach") as info:
        fetch(url, dest, MD5, retries=2, backoff_s=0.01, timeout_s=2.0)
    message = str(info.value)
    assert url in message and "after 2 attempts" in message and "dataset.source" in message
    assert "\n" not in message
    assert not dest.exists()


# -- local sources -----------------------------------------------------------------


@pytest.fixture
def archive(tmp_path):
    src = tmp_path / "src" / "genres.tar.gz"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    return src


def _assert_untouched(src: Path, mtime_ns: int) -> None:
    assert src.read_bytes() == PAYLOAD
    assert src.stat().st_mtime_ns == mtime_ns


@pytest.mark.parametrize("as_url", [True, False], ids=["file-url", "path"])
def test_local_success_leaves_source_untouched(archive, tmp_path, as_url):
    mtime_ns = archive.stat().st_mtime_ns
    dest = tmp_path / "out" / "genres.tar.gz"
    source = archive.as_uri() if as_url else str(archive)
    assert fetch(source, dest, MD5) == dest
    assert dest.read_bytes() == PAYLOAD
    _assert_untouched(archive, mtime_ns)


def test_local_relative_path(archive, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dest = tmp_path / "out.tar.gz"
    fetch(os.path.join("src", "genres.tar.gz"), dest, SHA256)
    assert dest.read_bytes() == PAYLOAD


def test_local_copy_fallback_when_link_fails(archive, tmp_path, monkeypatch):
    def no_link(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    mtime_ns = archive.stat().st_mtime_ns
    dest = tmp_path / "out" / "genres.tar.gz"
    fetch(str(archive), dest, MD5, chunk_bytes=4096)
    assert dest.read_bytes() == PAYLOAD
    assert not os.path.samefile(dest, archive)
    _assert_untouched(archive, mtime_ns)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["genres.tar.gz"]


def test_local_wrong_checksum(archive, tmp_path):
    mtime_ns = archive.stat().st_mtime_ns
    dest = tmp_path / "out" / "genres.tar.gz"
    with pytest.raises(ChecksumError, match=re.escape(f"checksum mismatch for {archive}")):
        fetch(str(archive), dest, WRONG_MD5)
    assert not dest.exists()
    _assert_untouched(archive, mtime_ns)


def test_local_missing_path(tmp_path):
    missing = tmp_path / "nowhere" / "genres.tar.gz"
    with pytest.raises(DownloadError, match=re.escape(f"{missing} does not exist")):
        fetch(str(missing), tmp_path / "out.tar.gz", MD5)
    with pytest.raises(DownloadError, match=re.escape(f"{missing} does not exist")):
        fetch(missing.as_uri(), tmp_path / "out.tar.gz", MD5)
    assert not (tmp_path / "out.tar.gz").exists()


def test_directory_source_is_rejected(tmp_path):
    with pytest.raises(DownloadError, match="is a directory.*used in place"):
        fetch(str(tmp_path), tmp_path / "out.tar.gz")


def test_local_dest_same_as_source_is_kept(archive):
    assert fetch(str(archive), archive, MD5) == archive
    with pytest.raises(ChecksumError):
        fetch(str(archive), archive, WRONG_MD5)
    assert archive.read_bytes() == PAYLOAD


def test_unsupported_scheme(tmp_path):
    with pytest.raises(DownloadError, match="unsupported URL scheme 'ftp'"):
        fetch("ftp://example.org/genres.tar.gz", tmp_path / "a.tar.gz")
