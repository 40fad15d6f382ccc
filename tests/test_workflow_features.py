"""Integration: features, augmentation and folds of the tiny demo run (see conftest)."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genreflow.features.summary import SUMMARY_COLUMNS, summary_reference
from genreflow.folds import training_rows

pytestmark = pytest.mark.integration

N_TRACKS, N_COPIES = 40, 3


def test_sharded_jobs_not_one_per_track(tiny_demo):
    project, _, _ = tiny_demo
    shards = sorted((project / "results/features/demo/shards").glob("shard*.csv"))
    assert [p.name for p in shards] == ["shard000.csv", "shard001.csv", "shard002.csv"]
    assert len(list((project / "results/benchmarks/demo/features").glob("shard*.tsv"))) == 3


def test_every_track_and_copy_has_its_own_feature_files(tiny_demo):
    project, _, _ = tiny_demo
    tracks = pd.read_csv(project / "results/features/demo/tracks.csv", keep_default_na=False)
    assert len(tracks) == N_TRACKS * (1 + N_COPIES)
    originals = tracks[tracks.track_id == tracks.source_track_id]
    assert len(originals) == N_TRACKS
    copies = tracks[tracks.track_id != tracks.source_track_id]
    assert (copies.track_id.str.split("__").str[0] == copies.source_track_id).all()
    for feature in ("logmel", "logmel64", "mfcc", "chroma", "spectral", "wavelet"):
        for path in tracks[feature]:
            assert (project / path).is_file()
    assert (tracks.n_frames == tracks.n_frames.iloc[0]).all()  # pad_or_trim


def test_consolidated_arrays_keep_the_track_id_on_every_segment(tiny_demo):
    project, _, _ = tiny_demo
    root = project / "results/features/demo/consolidated"
    array = np.load(root / "logmel@clip.npy", mmap_mode="r")
    index = pd.read_csv(root / "logmel@clip.index.csv")
    assert array.shape == (N_TRACKS * (1 + N_COPIES), 128, 1 + 6 * 22050 // 512)
    assert len(index) == len(array) and index.track_id.is_unique
    tracks = pd.read_csv(project / "results/features/demo/tracks.csv").set_index("track_id")
    row = index.iloc[7]
    np.testing.assert_array_equal(array[7], np.load(project / tracks.loc[row.track_id, "logmel"]))


def test_summary_table_matches_librosa_reference(tiny_demo):
    project, _, _ = tiny_demo
    summary = pd.read_csv(project / "results/features/demo/gtzan_summary.csv")
    assert list(summary.columns[:58]) == ["track_id", *SUMMARY_COLUMNS]
    manifest = pd.read_csv(project / "results/data/demo/manifest.csv").set_index("track_id")
    for track_id in ("jazz.00054", "metal.00004"):
        y, sr = sf.read(project / manifest.loc[track_id, "path"], dtype="float32")
        reference = summary_reference(y, sr)
        row = summary.set_index("track_id").loc[track_id]
        for column in SUMMARY_COLUMNS:
            assert row[column] == pytest.approx(reference[column], rel=1e-4, abs=1e-9), column


@pytest.mark.parametrize(
    "scheme", ["stratified_kfold", "artist_kfold", "holdout", "fault_filtered"]
)
def test_fold_files_and_no_leak_through_augmented_copies(tiny_demo, scheme):
    project, _, _ = tiny_demo
    folds = pd.read_csv(project / f"results/folds/demo/{scheme}.csv")
    assert set(folds.role) == {"train", "val", "test"}
    assert not folds.duplicated(["fold", "track_id"]).any()
    assert folds.track_id.nunique() == N_TRACKS  # sources only, never copies
    index = pd.read_csv(project / "results/features/demo/consolidated/mfcc@clip.index.csv")
    for fold in folds.fold.unique():
        roles = folds[folds.fold == fold].set_index("track_id").role
        train = index.iloc[training_rows(index, folds, fold, "train")]
        assert (roles[train.source_track_id] == "train").all()
        assert (train.track_id != train.source_track_id).any()  # copies are trained on
        for role in ("val", "test"):
            rows = index.iloc[training_rows(index, folds, fold, role)]
            assert (rows.track_id == rows.source_track_id).all()
            assert (roles[rows.track_id] == role).all()


def test_artist_folds_keep_artists_apart(tiny_demo):
    project, _, _ = tiny_demo
    folds = pd.read_csv(project / "results/folds/demo/artist_kfold.csv")
    artists = pd.read_csv(project / "results/data/demo/manifest.csv").set_index("track_id").artist
    folds["artist"] = artists[folds.track_id].to_numpy()
    assert (folds.groupby(["fold", "artist"]).role.nunique() == 1).all()
