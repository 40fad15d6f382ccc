"""The duplicate audit on real GTZAN clips: copies found whatever their format, rate,
gain or trim; other recordings left alone; the registry's artist and title beside them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import soundfile as sf

from genreflow.audio import decode
from genreflow.data.audit import audit_duplicates
from genreflow.demo.library import write_audio
from genreflow.evaluation.data_audit import registry_repeats
from genreflow.excerpts import Excerpt
from genreflow.folds import read_duplicate_groups

from conftest import FIXTURES, GTZAN_REGISTRY


def test_copies_of_a_gtzan_clip_are_one_group_and_other_clips_none(tmp_path):
    blues, _ = decode(FIXTURES / "blues.00050.au", sample_rate=None, mono=False)
    stereo = np.stack([blues[0], blues[0]], axis=1)
    # the same recording as a 44.1 kHz stereo MP3, 6 dB quieter, its first 4 s cut off
    louder, rate = decode(FIXTURES / "blues.00050.au", sample_rate=44100, mono=True)
    quieter = 0.5 * louder[4 * rate :]
    write_audio(tmp_path / "copy.mp3", np.stack([quieter, quieter], axis=1), rate)
    write_audio(tmp_path / "copy.flac", stereo, 22050)
    paths = {
        "blues.00050": FIXTURES / "blues.00050.au",
        "jazz.00054": FIXTURES / "jazz.00054.au",
        "country.00048": FIXTURES / "country.00048.16k.wav",
        "blues.99001": tmp_path / "copy.mp3",
        "blues.99002": tmp_path / "copy.flac",
    }
    manifest = pd.DataFrame(
        {
            "track_id": list(paths),
            "genre": [t.split(".")[0] for t in paths],
            "path": [str(p) for p in paths.values()],
            "status": "ok",
        }
    )
    registry = pd.read_csv(GTZAN_REGISTRY, dtype=str, keep_default_na=False)
    table = audit_duplicates(
        manifest, registry, excerpt=Excerpt(policy="middle", seconds=30.0), threads=2
    )
    assert sorted(table["track_id"]) == ["blues.00050", "blues.99001", "blues.99002"]
    assert table["group"].nunique() == 1
    kinds = table.set_index("track_id")["kind"]
    assert kinds["blues.99002"] == "exact" and kinds["blues.99001"] == "near"
    original = table.set_index("track_id").loc["blues.00050"]
    assert (original["artist"], original["title"]) == ("Magic Slim & The Teardrops", "What's Wrong")
    path = tmp_path / "duplicates.csv"
    table.to_csv(path, index=False)
    assert read_duplicate_groups(path) == {t: 0 for t in table["track_id"]}
    assert sf.info(tmp_path / "copy.mp3").samplerate == 44100


def test_the_registry_repeats_are_its_same_artist_and_title_sets():
    registry = pd.read_csv(GTZAN_REGISTRY, dtype=str, keep_default_na=False)
    repeats = registry_repeats(registry, set(registry["track_id"]))
    # Sturm's index names some recordings more than once (exact replicas and versions)
    assert len(repeats) > 10
    assert all(len(ids.split()) >= 2 for ids in repeats["track_ids"])


def test_the_report_warns_about_artists_only_where_the_folds_may_leak_them():
    from genreflow.evaluation.data_audit import duplicate_lines

    empty = pd.DataFrame(columns=["group", "track_id", "kind"])
    registry = pd.DataFrame(columns=["track_id"])
    for scheme, warned in [("fault_filtered", False), ("official", False), ("holdout", True)]:
        lines = duplicate_lines(empty, {"scheme": scheme, "artist_coverage": 1.0}, registry, set())
        assert any("one artist may be in train and test" in line for line in lines) is warned
