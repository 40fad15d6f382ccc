"""The embedding stage: musicnn feature sets extracted per shard, consolidated, planned."""

import numpy as np
import pandas as pd
import pytest

from genreflow.embeddings.musicnn import MusicnnExtractor
from genreflow.embeddings.musicnn_params import PATCH_SECONDS
from genreflow.errors import DataError
from genreflow.features.compute import FeatureSpec
from genreflow.features.consolidate import consolidate_feature
from genreflow.features.embedding_shards import EMBEDDING_COLUMNS, extract_embedding_shard
from genreflow.features.settings import FeatureSettings, Segmentation

from conftest import FIXTURES

CLIPS = ("blues.00050.au", "jazz.00054.au", "country.00048.16k.wav")


def settings(clip_seconds=9.0):
    return FeatureSettings(
        sample_rate=22050,
        n_fft=2048,
        hop_length=512,
        clip_seconds=clip_seconds,
        clip_policy="pad_or_trim",
        silence_peak=1e-4,
        short_tolerance_s=0.5,
        specs=(
            FeatureSpec("logmel64", "logmel", {"n_mels": 64}),
            FeatureSpec("musicnn", "musicnn", {"model": "MSD_musicnn", "layer": "max_pool"}),
        ),
    )


@pytest.fixture(scope="module")
def tracks():
    rows = [(name.split(".")[0] + "." + name.split(".")[1], name.split(".")[0]) for name in CLIPS]
    return pd.DataFrame(
        [(track, track, genre, str(FIXTURES / name)) for (track, genre), name in zip(rows, CLIPS)],
        columns=["track_id", "source_track_id", "genre", "path"],
    )


@pytest.fixture(scope="module")
def shard(tracks, tmp_path_factory):
    root = tmp_path_factory.mktemp("features")
    return root, extract_embedding_shard(tracks, settings(), "musicnn", root, batch_size=4)


def test_settings_know_an_embedding_frame_without_the_network():
    features = settings()
    assert [s.name for s in features.stft_specs] == ["logmel64"]
    assert [s.name for s in features.embedding_specs] == ["musicnn"]
    assert features.frame_seconds("musicnn") == pytest.approx(2.992)
    assert features.frames(3.0, "musicnn") == 1 and features.frames(6.0, "musicnn") == 2
    assert features.frames(3.0, "logmel64") == 129
    assert features.sample_rate_of("musicnn") == 16000
    assert features.sample_rate_of("logmel64") == 22050


def test_each_track_gets_a_dimensions_by_patches_file_and_its_rates(shard, tracks):
    root, table = shard
    assert list(table.columns) == [*EMBEDDING_COLUMNS, "musicnn"]
    assert list(table.track_id) == list(tracks.track_id)
    for row in table.itertuples():
        matrix = np.load(row.musicnn)
        assert matrix.shape == (753, 3) and matrix.dtype == np.float32  # 9 s: 3 patches
        assert row.n_frames == 3
    # decoded straight at the network's rate: one resampling, none for a 16 kHz file
    assert set(table.embedding_sr) == {16000}
    by_track = table.set_index("track_id")
    assert by_track.loc["country.00048", ["original_sr", "resampler"]].tolist() == [16000, "none"]
    assert by_track.loc["blues.00050", ["original_sr", "resampler"]].tolist() == [22050, "soxr_hq"]
    assert not list(root.rglob("*.tmp*"))


def test_batches_across_tracks_give_each_tracks_own_embedding(shard, tracks):
    """Batching patches of several tracks changes nothing: each file is its track's."""
    _, table = shard
    extractor = MusicnnExtractor(batch_size=64)
    for row in table.itertuples():
        spec = tracks.set_index("track_id").loc[row.track_id, "path"]
        import librosa

        y, sr = librosa.load(spec, sr=16000, duration=9.0, res_type="soxr_hq")
        alone = extractor(librosa.util.fix_length(y, size=9 * 16000), sr)
        np.testing.assert_allclose(np.load(row.musicnn), alone, rtol=1e-4, atol=1e-4)


def test_consolidated_like_every_set_in_patch_frames(shard, tmp_path):
    _, table = shard
    s3 = consolidate_feature(
        table,
        "musicnn",
        Segmentation("s3", 3.0, 3.0),
        settings(),
        tmp_path / "s3.npy",
        tmp_path / "s3.index.csv",
    )
    assert np.load(tmp_path / "s3.npy").shape == (9, 753, 1)
    assert list(s3.start_s[:3]) == pytest.approx([0.0, PATCH_SECONDS, 2 * PATCH_SECONDS], abs=1e-4)
    consolidate_feature(
        table,
        "musicnn",
        Segmentation("clip", None),
        settings(),
        tmp_path / "clip.npy",
        tmp_path / "clip.index.csv",
    )
    clip = np.load(tmp_path / "clip.npy")
    assert clip.shape == (3, 753, 3)
    np.testing.assert_array_equal(clip[0, :, 1], np.load(tmp_path / "s3.npy")[1, :, 0])


def test_a_segment_shorter_than_a_patch_is_refused(shard, tmp_path):
    _, table = shard
    with pytest.raises(DataError, match="shorter than one 2.992 s frame of musicnn"):
        consolidate_feature(
            table,
            "musicnn",
            Segmentation("s1", 1.0, 1.0),
            settings(),
            tmp_path / "a.npy",
            tmp_path / "a.index.csv",
        )
