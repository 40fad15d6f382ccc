"""Safe extraction and the inventory of a dataset copy."""

import tarfile
import zipfile

import pytest

from genreflow.data.extract import inventory, safe_extract
from genreflow.errors import ArchiveError, DataError

from conftest import write_tar


def test_extract_tar_and_inventory(tmp_path):
    archive = write_tar(
        tmp_path / "genres.tar.gz",
        {
            "genres/blues/blues.00000.au": b"a",
            "genres/jazz/jazz.00054.au": b"b",
            "genres/jazz/._jazz.00054.au": b"resource fork",
            "genres/input.mf": b"x",
        },
    )
    before = archive.read_bytes()
    root = safe_extract(archive, tmp_path / "extracted")
    files = inventory(root)
    assert list(files.track_id) == ["blues.00000", "jazz.00054"]
    assert files.path.iloc[1].endswith("genres/jazz/jazz.00054.au")
    assert archive.read_bytes() == before


def test_extract_zip(tmp_path):
    archive = tmp_path / "mini.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("gtzan_mini-main/genres/pop/pop.00001.wav", b"x")
    files = inventory(safe_extract(archive, tmp_path / "out"))
    assert list(files.track_id) == ["pop.00001"]


@pytest.mark.parametrize("name", ["../evil.wav", "a/../../evil.wav"])
def test_tar_path_traversal_is_refused(tmp_path, name):
    archive = write_tar(tmp_path / "evil.tar.gz", {name: b"x"})
    with pytest.raises(ArchiveError, match="unsafe member"):
        safe_extract(archive, tmp_path / "sub" / "out")
    assert not (tmp_path / "evil.wav").exists()
    assert not (tmp_path / "sub" / "out").exists()


def test_tar_absolute_member_lands_inside_destination(tmp_path):
    archive = write_tar(tmp_path / "abs.tar.gz", {"/tmp/evil.00000.wav": b"x"})
    out = safe_extract(archive, tmp_path / "out")
    assert (out / "tmp" / "evil.00000.wav").is_file()


def test_tar_symlink_out_of_tree_is_refused(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("genres/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ArchiveError, match="unsafe member"):
        safe_extract(archive, tmp_path / "out")


@pytest.mark.parametrize("name", ["../evil.wav", "/abs/evil.wav"])
def test_zip_path_traversal_is_refused(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(name, b"x")
    with pytest.raises(ArchiveError, match="unsafe member path"):
        safe_extract(archive, tmp_path / "out")


def test_not_an_archive(tmp_path):
    path = tmp_path / "genres.tar.gz"
    path.write_bytes(b"<html>mirror error page</html>")
    with pytest.raises(ArchiveError, match="neither a tar nor a zip"):
        safe_extract(path, tmp_path / "out")


def test_truncated_archive_is_reported(tmp_path):
    archive = write_tar(
        tmp_path / "g.tar.gz", {f"genres/x/x.{i:05d}.wav": bytes(5000) for i in range(5)}
    )
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="damaged"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_reextraction_replaces_previous_content(tmp_path):
    out = tmp_path / "out"
    safe_extract(write_tar(tmp_path / "a.tar.gz", {"genres/a/a.00000.wav": b"x"}), out)
    safe_extract(write_tar(tmp_path / "b.tar.gz", {"genres/b/b.00000.wav": b"x"}), out)
    assert list(inventory(out).track_id) == ["b.00000"]


@pytest.mark.parametrize("prefer, expected", [("auto", ".wav"), ("au", ".au"), ("wav", ".wav")])
def test_inventory_layout_preference(tmp_path, prefer, expected):
    (tmp_path / "jazz.00054.wav").write_bytes(b"x")
    (tmp_path / "jazz.00054.au").write_bytes(b"x")
    files = inventory(tmp_path, prefer=prefer)
    assert len(files) == 1 and files.path.iloc[0].endswith(expected)


def test_inventory_of_missing_folder(tmp_path):
    with pytest.raises(DataError, match="dataset.source"):
        inventory(tmp_path / "nope")
