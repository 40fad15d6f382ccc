"""Integration: a GTZAN-like archive served over HTTP on 127.0.0.1 goes through download,
checksum, extraction and repair; a wrong checksum or a missing archive stops cleanly."""

from __future__ import annotations

import functools
import http.server
import threading

import pandas as pd
import pytest

from genreflow.checksums import file_digest

from conftest import FIXTURES, au_as_canonical_wav, write_tar
from workflow_runner import copy_project, snakemake, write_config

pytestmark = pytest.mark.integration


def gtzan_like_archive(path):
    """A miniature of the GTZAN WAV copy built from the real fixtures."""
    jazz = au_as_canonical_wav("jazz.00054")
    members = {
        "genres_original/blues/blues.00050.wav": au_as_canonical_wav("blues.00050"),
        "genres_original/jazz/jazz.00054.wav": b"\0" * 44 + jazz[44:],  # no RIFF header
        "genres_original/country/country.00048.wav": (
            FIXTURES / "country.00048.16k.wav"
        ).read_bytes(),
    }
    return write_tar(path, members)


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def gtzan_config(project, url, checksum, repair_sources):
    (project / "resources/subset.txt").write_text("blues.00050\njazz.00054\ncountry.00048\n")
    return write_config(
        project,
        {
            "dataset": {
                "name": "gtzan",
                "source": url,
                "checksum": checksum,
                "archive_name": "genres_wav.tar.gz",
                "registry": "resources/gtzan/tracks.csv",
                "subset": "resources/subset.txt",
                "repair_sources": repair_sources,
                "format": {"clip_seconds": 30, "duration_tolerance_s": 1.0},
            }
        },
    )


def test_gtzan_over_http_repairs_jazz_00054_byte_for_byte(tmp_path, http_server):
    www, base = http_server
    archive = gtzan_like_archive(www / "genres_wav.tar.gz")
    originals = tmp_path / "originals"
    originals.mkdir()
    (originals / "jazz.00054.au").write_bytes((FIXTURES / "jazz.00054.au").read_bytes())
    project = copy_project(tmp_path / "project")
    config = gtzan_config(
        project, f"{base}/genres_wav.tar.gz", "md5:" + file_digest(archive), [str(originals)]
    )
    snakemake(project, "results/data/gtzan/manifest.csv", "--configfile", str(config))
    manifest = pd.read_csv(
        project / "results/data/gtzan/manifest.csv", dtype=str, keep_default_na=False
    )
    rows = manifest.set_index("track_id")
    assert rows.loc["blues.00050", "status"] == "ok"
    assert rows.loc["jazz.00054", "status"] == "repaired"
    assert rows.loc["jazz.00054", "md5"] == "8f0ab76fff2d2c6bc80eb9c9362318ca"
    assert (
        file_digest(project / rows.loc["jazz.00054", "path"]) == "8f0ab76fff2d2c6bc80eb9c9362318ca"
    )
    assert rows.loc["country.00048", "status"] == "quarantined"  # resampled copy, no original
    assert rows.loc["blues.00050", "artist"] == "Magic Slim & The Teardrops"


def test_wrong_archive_checksum_fails_cleanly(tmp_path, http_server):
    www, base = http_server
    gtzan_like_archive(www / "genres_wav.tar.gz")
    project = copy_project(tmp_path / "project")
    config = gtzan_config(project, f"{base}/genres_wav.tar.gz", "md5:" + "0" * 32, [])
    target = "results/data/gtzan/manifest.csv"
    result = snakemake(project, target, "--configfile", str(config), check=False)
    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert not (project / "resources/downloads/gtzan/genres_wav.tar.gz").exists()
    assert not list((project / "resources/downloads/gtzan").glob("*.part"))


def test_missing_local_archive_is_a_config_error(tmp_path):
    project = copy_project(tmp_path / "project")
    config = gtzan_config(project, str(tmp_path / "nowhere.tar.gz"), None, [])
    result = snakemake(project, "--configfile", str(config), "-n", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Invalid configuration: dataset.source" in output and "nowhere.tar.gz" in output
