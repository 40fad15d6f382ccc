"""The library benchmark's filler: a rerun keeps the library at the size asked for."""

from __future__ import annotations

import os

import pytest

from benchmarks.library import COPY, fill_with_copies


@pytest.mark.parametrize("hard_links", [False, True], ids=["copies", "hard_links"])
def test_a_rerun_adds_no_copies_of_copies(tmp_path, hard_links):
    for album in ("A", "B"):  # copies in album A sort before album B's songs
        folder = tmp_path / "rock" / "Artist" / album
        folder.mkdir(parents=True)
        for i in range(2):
            (folder / f"{i} song.flac").write_bytes(f"{album}{i}".encode())
    for _ in range(2):
        fill_with_copies(tmp_path, unique=3, songs=8, hard_links=hard_links)
        files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
        copies = [p for p in files if p.name.startswith(COPY)]
        assert len(files) == 9 and len(copies) == 5
        assert not any(COPY in p.name[len(COPY) :] for p in copies)
        assert {p.read_bytes() for p in copies} == {b"A0", b"A1", b"B0"}
        assert all((os.stat(p).st_nlink > 1) == hard_links for p in copies)
