"""Repair: re-derive from originals, salvage intact payloads, else quarantine."""

import tarfile

import pandas as pd

from genreflow.checksums import file_digest
from genreflow.data.repair import REPAIR_COLUMNS, index_repair_sources, repair_tracks
from genreflow.data.validate import FormatSpec, check_track

from conftest import FIXTURES, au_as_canonical_wav, registry_md5, tone_wav

GTZAN = FormatSpec(sample_rate=22050, channels=1, clip_seconds=30.0, duration_tolerance_s=1.0)


def failed_row(track_id, path, status="undecodable"):
    return {
        "track_id": track_id,
        "genre": track_id.split(".")[0],
        "path": str(path),
        "status": status,
        "detail": "broken",
        "md5": "",
        "expected_md5": registry_md5(track_id),
    }


def broken_jazz(tmp_path):
    """jazz.00054 as in the WAV copy: the payload intact, the RIFF header gone."""
    wav = au_as_canonical_wav("jazz.00054")
    path = tmp_path / "raw" / "jazz.00054.wav"
    path.parent.mkdir()
    path.write_bytes(b"\0" * 44 + wav[44:])
    return path


def test_rederive_from_original_au_reproduces_md5_and_leaves_raw_untouched(tmp_path):
    raw = broken_jazz(tmp_path)
    before = raw.read_bytes()
    validation = pd.DataFrame([failed_row("jazz.00054", raw)])
    table = repair_tracks(validation, [FIXTURES], tmp_path / "repaired", GTZAN)
    assert list(table.columns) == list(REPAIR_COLUMNS)
    row = table.iloc[0]
    assert row.status == "repaired"
    assert row.action.startswith("re-derived from") and row.source.endswith("jazz.00054.au")
    assert file_digest(row.path, "md5") == "8f0ab76fff2d2c6bc80eb9c9362318ca" == row.md5
    assert raw.read_bytes() == before


def test_rederive_from_an_archive_member(tmp_path):
    raw = broken_jazz(tmp_path)
    archive = tmp_path / "genres.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(FIXTURES / "jazz.00054.au", arcname="genres/jazz/jazz.00054.au")
    table = repair_tracks(
        pd.DataFrame([failed_row("jazz.00054", raw)]), [archive], tmp_path / "out", GTZAN
    )
    assert table.iloc[0].status == "repaired"
    assert table.iloc[0].source == f"{archive}:genres/jazz/jazz.00054.au"


def test_salvage_of_clobbered_header_without_any_source(tmp_path):
    raw = broken_jazz(tmp_path)
    table = repair_tracks(
        pd.DataFrame([failed_row("jazz.00054", raw)]), [], tmp_path / "out", GTZAN
    )
    row = table.iloc[0]
    assert row.status == "repaired" and row.action.startswith("salvaged")
    assert file_digest(row.path, "md5") == registry_md5("jazz.00054")


def test_salvage_of_headerless_pcm(tmp_path):
    wav = au_as_canonical_wav("blues.00050")
    raw = tmp_path / "blues.00050.wav"
    raw.write_bytes(wav[44:])
    table = repair_tracks(
        pd.DataFrame([failed_row("blues.00050", raw)]), [], tmp_path / "out", GTZAN
    )
    assert table.iloc[0].status == "repaired"
    assert "headerless" in table.iloc[0].action


def test_unrepairable_track_is_quarantined_with_reasons(tmp_path):
    raw = tmp_path / "jazz.00054.wav"
    raw.write_bytes(b"garbage" * 1000)
    wrong_source = tmp_path / "sources"
    wrong_source.mkdir()
    (wrong_source / "jazz.00054.wav").write_bytes(tone_wav(seconds=30))  # decodes, wrong md5
    table = repair_tracks(
        pd.DataFrame([failed_row("jazz.00054", raw)]), [wrong_source], tmp_path / "out", GTZAN
    )
    row = table.iloc[0]
    assert (row.status, row.action, row.path) == ("quarantined", "quarantine", "")
    assert "re-derived from" in row.detail and "checksum_mismatch" in row.detail
    assert not list((tmp_path / "out").rglob("*.wav"))  # failed candidates are removed


def test_missing_track_without_source_is_quarantined(tmp_path):
    row = failed_row("jazz.00054", "", status="missing")
    table = repair_tracks(pd.DataFrame([row]), [], tmp_path / "out", GTZAN)
    assert table.iloc[0].status == "quarantined"
    assert "no repair source found" in table.iloc[0].detail


def test_nothing_to_repair_gives_an_empty_table(tmp_path):
    ok = dict(failed_row("blues.00050", FIXTURES / "blues.00050.au"), status="ok")
    table = repair_tracks(pd.DataFrame([ok]), [FIXTURES], tmp_path / "out", GTZAN)
    assert table.empty and list(table.columns) == list(REPAIR_COLUMNS)


def test_repaired_file_revalidates(tmp_path):
    raw = broken_jazz(tmp_path)
    table = repair_tracks(
        pd.DataFrame([failed_row("jazz.00054", raw)]), [FIXTURES], tmp_path / "out", GTZAN
    )
    assert check_track(table.iloc[0].path, registry_md5("jazz.00054"), GTZAN).status == "ok"


def test_index_repair_sources_skips_hidden_and_non_audio(tmp_path):
    (tmp_path / "._jazz.00054.au").write_bytes(b"resource fork")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "jazz.00054.au").write_bytes((FIXTURES / "jazz.00054.au").read_bytes())
    index = index_repair_sources([tmp_path])
    assert list(index) == ["jazz.00054"]
