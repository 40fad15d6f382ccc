"""The embedded demo dataset: deterministic, GTZAN-shaped, learnable but not trivially."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genreflow.checksums import canonical_wav_bytes, file_digest
from genreflow.demo.publish import (
    ARCHIVE_NAME,
    BROKEN_TRACK,
    DemoConfigError,
    artist_splits,
    iter_demo_clips,
    publish_demo,
    track_numbers,
)
from genreflow.demo.synth import GENRES, RECIPES, make_artist, parse_chord, render_clip

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SMALL = {"clips_per_genre": 5, "clip_seconds": 3.0}
SR = 22050
MEMBER_RE = re.compile(r"^genreflow_demo/genres_original/([a-z]+)/\1\.(\d{5})\.wav$")


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return publish_demo(tmp_path_factory.mktemp("demo_a"), seed=1234, **SMALL)


@pytest.fixture(scope="module")
def registry(release) -> pd.DataFrame:
    return pd.read_csv(release.registry, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def members(release) -> dict[str, bytes]:
    with tarfile.open(release.archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


# ------------------------------------------------------------------ determinism


def test_same_seed_gives_identical_release(release, tmp_path):
    again = publish_demo(tmp_path / "b", seed=1234, **SMALL)
    assert again.archive.read_bytes() == release.archive.read_bytes()
    assert again.registry.read_bytes() == release.registry.read_bytes()
    assert again.originals[0].read_bytes() == release.originals[0].read_bytes()
    assert again.sha256 == release.sha256


def test_different_seed_gives_different_archive(release, tmp_path):
    other = publish_demo(tmp_path / "c", seed=99, **SMALL)
    assert other.archive.read_bytes() != release.archive.read_bytes()
    assert other.sha256 != release.sha256


def test_clip_does_not_depend_on_clips_per_genre(registry, tmp_path):
    single = publish_demo(tmp_path / "one", seed=1234, clips_per_genre=1, clip_seconds=3.0)
    one = pd.read_csv(single.registry, dtype=str, keep_default_na=False)
    assert list(one["track_id"]) == [f"{g}.00054" for g in GENRES]
    both = one.merge(registry, on="track_id", suffixes=("_1", "_5"))
    assert (both["wav_md5_1"] == both["wav_md5_5"]).all()
    assert (both["artist_1"] == both["artist_5"]).all()


# ------------------------------------------------------------------ archive format


def test_archive_metadata_is_fixed(release):
    raw = release.archive.read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # gzip mtime 0
    with tarfile.open(release.archive, "r:gz") as tar:
        infos = tar.getmembers()
    names = [m.name for m in infos]
    assert names == sorted(names)
    assert names[:2] == ["genreflow_demo", "genreflow_demo/genres_original"]
    for m in infos:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "")
        assert m.mode == (0o755 if m.isdir() else 0o644)
    assert {n.split("/")[2] for n in names[2:]} == set(GENRES)


def test_published_checksum_matches(release):
    line = release.checksum.read_text()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", line)
    assert line.strip() == f"sha256:{file_digest(release.archive, 'sha256')}"
    assert release.archive.name == ARCHIVE_NAME


def test_members_are_gtzan_wavs_matching_registry(members, registry):
    md5 = registry.set_index("track_id")["wav_md5"]
    assert len(members) == len(registry) == 10 * SMALL["clips_per_genre"]
    for name, data in members.items():
        match = MEMBER_RE.match(name)
        assert match, name
        track_id = f"{match.group(1)}.{match.group(2)}"
        if track_id == BROKEN_TRACK:
            continue
        info = sf.info(io.BytesIO(data))
        assert (info.format, info.subtype, info.channels, info.samplerate) == (
            "WAV",
            "PCM_16",
            1,
            SR,
        )
        assert info.frames == round(SMALL["clip_seconds"] * SR)
        samples, _ = sf.read(io.BytesIO(data), dtype="int16")
        assert canonical_wav_bytes(samples, SR) == data
        assert hashlib.md5(data).hexdigest() == md5[track_id]


def test_jazz_00054_is_broken_but_repairable(members, registry, release):
    data = members["genreflow_demo/genres_original/jazz/jazz.00054.wav"]
    assert not data.startswith(b"RIFF")
    with pytest.raises(RuntimeError):  # soundfile.LibsndfileError
        sf.read(io.BytesIO(data))
    (original,) = release.originals
    assert original.name == "jazz.00054.au"
    assert sf.info(original).format == "AU"
    samples, sr = sf.read(original, dtype="int16")
    repaired = canonical_wav_bytes(samples, sr)
    assert repaired[44:] == data[44:]  # the payload survived
    expected = registry.set_index("track_id").loc[BROKEN_TRACK, "wav_md5"]
    assert hashlib.md5(repaired).hexdigest() == expected


# ------------------------------------------------------------------ registry


def test_registry_shape_and_splits(registry):
    gtzan_columns = pd.read_csv(PROJECT_ROOT / "resources" / "gtzan" / "tracks.csv", nrows=0)
    assert list(registry.columns) == list(gtzan_columns.columns)
    n = SMALL["clips_per_genre"]
    assert registry.groupby("genre").size().to_dict() == {g: n for g in GENRES}
    numbers = {int(t.split(".")[1]) for t in registry["track_id"]}
    assert numbers == set(track_numbers(n)) and 54 in numbers
    assert (registry["track_id"] == registry["genre"] + "." + registry["title"].str[-5:]).all()
    assert registry["wav_md5"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert set(registry["fault_filtered_split"]) == {"train", "valid", "test"}
    for genre, rows in registry.groupby("genre"):
        assert rows["artist"].nunique() == 4
        assert rows["artist"].str.fullmatch(rf"Demo {genre.capitalize()} Artist [1-4]").all()
        assert (rows.groupby("artist")["fault_filtered_split"].nunique() == 1).all()
    assert registry.groupby("artist")["genre"].nunique().max() == 1


def test_track_numbers():
    assert track_numbers(1) == [54]
    assert track_numbers(5) == [14, 34, 54, 74, 94]
    assert track_numbers(100) == list(range(100))
    for n in range(1, 101):
        assert len(track_numbers(n)) == n and 54 in track_numbers(n)


@pytest.mark.parametrize("bad", [0, 101, -3, 2.5, True])
def test_clips_per_genre_out_of_range(bad, tmp_path):
    with pytest.raises(ValueError, match=r"demo\.clips_per_genre"):
        publish_demo(tmp_path, clips_per_genre=bad)
    assert not any(tmp_path.iterdir())
    with pytest.raises(DemoConfigError):
        track_numbers(bad)


def test_other_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match=r"demo\.artists_per_genre"):
        publish_demo(tmp_path, artists_per_genre=0)
    with pytest.raises(ValueError, match=r"demo\.clip_seconds"):
        publish_demo(tmp_path, clip_seconds=0)
    with pytest.raises(ValueError, match=r"demo\.seed"):
        publish_demo(tmp_path, seed=-1)


def test_artist_splits():
    assert artist_splits(4) == ("train", "train", "valid", "test")
    assert artist_splits(1) == ("train",)
    assert artist_splits(2) == ("train", "test")
    for count in range(3, 21):
        splits = artist_splits(count)
        assert len(splits) == count and set(splits) == {"train", "valid", "test"}
        assert 0.3 <= splits.count("train") / count <= 0.6


# ------------------------------------------------------------------ synthesis


def test_render_clip_contract():
    artist = make_artist("rock", 0, np.random.default_rng(0))
    a = render_clip("rock", 2.0, SR, np.random.default_rng(5), artist)
    b = render_clip("rock", 2.0, SR, np.random.default_rng(5), artist)
    assert a.dtype == np.float32 and a.shape == (2 * SR,)
    assert np.array_equal(a, b)
    assert 0.5 <= np.abs(a).max() <= 0.9
    with pytest.raises(ValueError, match="genre"):
        render_clip("polka", 2.0, SR, np.random.default_rng(5), artist)


def test_recipes_cover_genres_and_parse():
    assert tuple(RECIPES) == GENRES
    for recipe in RECIPES.values():
        for progression in recipe.progressions:
            for symbol in progression:
                parse_chord(symbol)
    assert parse_chord("bVII5") == (10, (0, 7, 12))
    assert parse_chord("ii7") == (2, (0, 3, 7, 10))


# ------------------------------------------------------------------ learnability


def _features(samples: np.ndarray) -> np.ndarray:
    import librosa

    y = samples.astype(np.float32) / 32768.0
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20)
    contrast = librosa.feature.spectral_contrast(y=y, sr=SR)
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1), contrast.mean(axis=1)])


OVERLAPPING = [("rock", "metal"), ("disco", "pop"), ("blues", "jazz"), ("blues", "country")]
OVERLAPPING += [("jazz", "country")]


@pytest.mark.parametrize("seed", [1234, 1])
def test_learnable_but_not_trivially(seed):
    pytest.importorskip("librosa")
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clips = list(iter_demo_clips(clips_per_genre=12, clip_seconds=5.0, seed=seed))
    features = np.array([_features(c.samples) for c in clips])
    labels = np.array([c.genre for c in clips])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    predicted = cross_val_predict(model, features, labels, cv=folds)
    accuracy = float(np.mean(predicted == labels))
    matrix = confusion_matrix(labels, predicted, labels=list(GENRES))
    pair_confusions = sum(
        matrix[GENRES.index(a), GENRES.index(b)] + matrix[GENRES.index(b), GENRES.index(a)]
        for a, b in OVERLAPPING
    )
    # measured over 13 seeds: accuracy 0.72-0.86, >= 3 overlapping-pair confusions
    assert accuracy >= 0.55, accuracy
    assert accuracy <= 0.95, accuracy
    assert pair_confusions >= 1
