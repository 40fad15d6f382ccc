"""The feature stage's ``gtzan_summary`` reproduces the published GTZAN table on two real clips.

The published rows (``features_30_sec.csv``, see ``fixtures/gtzan/README.md``) summarise each
whole decoded file, so the summary is computed on the untrimmed decode while the per-frame
features use the 30 s clip. The path under test is the workflow's: ``load_track`` with the
default feature settings, then ``compute_features`` with a ``gtzan_summary`` set.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genreflow.features.compute import FeatureSpec, compute_features
from genreflow.features.loading import load_track
from genreflow.features.summary import SUMMARY_COLUMNS

from conftest import FIXTURES

PUBLISHED_DIR = Path(__file__).parent / "fixtures" / "gtzan"
TRACKS = ("blues.00050.au", "jazz.00054.au")

# the defaults of config/config.yaml's features block (GTZAN's clip length: 30 s)
SAMPLE_RATE, CLIP_SECONDS, CLIP_POLICY, N_FFT, HOP_LENGTH = 22050, 30.0, "pad_or_trim", 2048, 512
SUMMARY = FeatureSpec("gtzan_summary", "gtzan_summary")

# Each column within max(1 % of the published value, 1 % of the column's std over the 1000
# published tracks). All 57 columns meet it. Measured with librosa 0.11 (untrimmed decode):
# every column but the two below is within 0.8 % of the published value or 0.06 % of its std
# (e.g. blues mfcc5_mean -6.6 % of a value of 0.086, i.e. 0.05 % of its std).
RELATIVE, OF_STD = 0.01, 0.01

# harmony_mean and perceptr_mean, means of near-zero HPSS waveforms, sit at the float32
# noise floor of the STFT → HPSS → ISTFT round trip, so their relative errors are large
# even though they are within 0.2 % (blues) and 0.6 % (jazz) of the columns' std. Measured
# relative errors (computed - published) / |published|, librosa 0.11:
#
#   track         column          untrimmed decode   trimmed to 30 s (the old path)
#   blues.00050   harmony_mean        +80.9 %             +44.8 %
#   blues.00050   perceptr_mean        +5.10 %             -4.32 %
#   jazz.00054    harmony_mean         -0.20 %             -0.95 %
#   jazz.00054    perceptr_mean        +0.47 %             +0.33 %
#
# (blues harmony_mean is -2.5e-6 published, -4.8e-7 computed, -1.4e-6 trimmed.) Held here,
# with some margin, at what the untrimmed decode reaches:
REACHED = {
    ("blues.00050.au", "harmony_mean"): 0.85,
    ("blues.00050.au", "perceptr_mean"): 0.06,
    ("jazz.00054.au", "harmony_mean"): 0.005,
    ("jazz.00054.au", "perceptr_mean"): 0.006,
}


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.read_csv(PUBLISHED_DIR / "published_summary_rows.csv").set_index("filename")


@pytest.fixture(scope="module")
def column_std() -> pd.Series:
    table = pd.read_csv(PUBLISHED_DIR / "published_summary_column_std.csv")
    return table.set_index("statistic").iloc[0].astype(float)


@pytest.fixture(scope="module", params=TRACKS)
def computed(request):
    """One fixture's loaded track and its summary, as the feature stage computes them."""
    loaded = load_track(
        FIXTURES / request.param,
        sample_rate=SAMPLE_RATE,
        clip_seconds=CLIP_SECONDS,
        clip_policy=CLIP_POLICY,
    )
    features = compute_features(
        loaded.y,
        loaded.sr,
        [SUMMARY],
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        untrimmed=loaded.untrimmed,
    )
    values = dict(zip(SUMMARY_COLUMNS, features[SUMMARY.name]))
    return request.param, loaded, values


def test_the_published_columns_and_labels(published, column_std):
    assert list(published.columns) == ["length", *SUMMARY_COLUMNS, "label"]
    assert list(column_std.index) == list(SUMMARY_COLUMNS)
    assert sorted(published.index) == sorted(TRACKS)
    for filename in TRACKS:
        assert published.loc[filename, "label"] == filename.split(".")[0]  # GTZAN genre


def test_the_summary_sees_the_whole_decoded_file(computed, published):
    filename, loaded, _ = computed
    assert len(loaded.untrimmed) == published.loc[filename, "length"]
    # the per-frame features get the 30 s clip, a view of the same decode
    assert len(loaded.y) == round(CLIP_SECONDS * SAMPLE_RATE) < len(loaded.untrimmed)
    np.testing.assert_array_equal(loaded.y, loaded.untrimmed[: len(loaded.y)])


def test_every_column_matches_the_published_row(computed, published, column_std):
    filename, _, values = computed
    misses = []
    for column in SUMMARY_COLUMNS:
        expected = float(published.loc[filename, column])
        bound = max(RELATIVE * abs(expected), OF_STD * column_std[column])
        if not abs(values[column] - expected) <= bound:
            misses.append(f"{column}: {values[column]:.6g} vs {expected:.6g} (bound {bound:.3g})")
    assert not misses, "\n".join(misses)


@pytest.mark.parametrize("column", ["harmony_mean", "perceptr_mean"])
def test_hpss_means_hold_their_reached_relative_error(computed, published, column):
    filename, _, values = computed
    expected = float(published.loc[filename, column])
    relative_error = abs(values[column] - expected) / abs(expected)
    assert relative_error <= REACHED[filename, column], f"{relative_error:.4%}"
