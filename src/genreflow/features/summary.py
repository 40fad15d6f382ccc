"""The 57-column per-track summary table popularised by the GTZAN ``features_30_sec.csv``.

Every feature is a librosa default at the file's native rate (22050 Hz for GTZAN),
summarised by the mean and variance over all values of its matrix (the tempo is one
value). The published table summarises each *whole* decoded file (its ``length`` column
is the file's full sample count, e.g. 661,794 for blues.00050, not a 30.000 s clip), so
the feature stage computes the summary on the untrimmed decode, not on the padded or
trimmed clip the per-frame features use (see :mod:`genreflow.features.compute`). That
matters most for ``harmony_mean`` and ``perceptr_mean``, means of near-zero waveforms.

Two implementations:

* :func:`summary_reference`: one librosa call per feature, each from ``y`` (slow; the
  ground truth).
* :func:`summary_features`: one STFT shared by every spectral feature, one log-mel
  spectrogram shared by the MFCCs and the onset envelope behind the tempo, and HPSS with
  a running-median filter (:func:`genreflow.features.hpss.hpss_signals`).
"""

from __future__ import annotations

import librosa
import numpy as np

from genreflow.features.hpss import hpss_signals
from genreflow.features.spectra import Spectra

__all__ = ["SUMMARY_COLUMNS", "summary_features", "summary_reference"]

N_FFT = 2048
HOP_LENGTH = 512
N_MFCC = 20

SUMMARY_COLUMNS: tuple[str, ...] = (
    "chroma_stft_mean",
    "chroma_stft_var",
    "rms_mean",
    "rms_var",
    "spectral_centroid_mean",
    "spectral_centroid_var",
    "spectral_bandwidth_mean",
    "spectral_bandwidth_var",
    "rolloff_mean",
    "rolloff_var",
    "zero_crossing_rate_mean",
    "zero_crossing_rate_var",
    "harmony_mean",
    "harmony_var",
    "perceptr_mean",
    "perceptr_var",
    "tempo",
    *(f"mfcc{i}_{stat}" for i in range(1, N_MFCC + 1) for stat in ("mean", "var")),
)


def _mean_var(name: str, values: np.ndarray) -> dict[str, float]:
    return {f"{name}_mean": float(np.mean(values)), f"{name}_var": float(np.var(values))}


def _tempo_scalar(tempo: float | np.ndarray) -> float:
    # librosa >= 0.10 returns the tempo as an array of shape (1,) for mono input
    return float(np.asarray(tempo).reshape(-1)[0])


def _assemble(
    parts: dict[str, float], mfcc: np.ndarray, tempo: float | np.ndarray
) -> dict[str, float]:
    parts = dict(parts, tempo=_tempo_scalar(tempo))
    for i, row in enumerate(mfcc, start=1):
        parts.update(_mean_var(f"mfcc{i}", row))
    return {name: parts[name] for name in SUMMARY_COLUMNS}


def summary_reference(y: np.ndarray, sr: float) -> dict[str, float]:
    """Summary features of a mono signal, one librosa call per feature.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio time series.
    sr : number > 0
        Sampling rate of ``y``.

    Returns
    -------
    features : dict
        ``{column: value}`` for every name in :data:`SUMMARY_COLUMNS`, in that order.
    """
    y_harm, y_perc = librosa.effects.hpss(y)
    parts = {
        **_mean_var("chroma_stft", librosa.feature.chroma_stft(y=y, sr=sr)),
        **_mean_var("rms", librosa.feature.rms(y=y)),
        **_mean_var("spectral_centroid", librosa.feature.spectral_centroid(y=y, sr=sr)),
        **_mean_var("spectral_bandwidth", librosa.feature.spectral_bandwidth(y=y, sr=sr)),
        **_mean_var("rolloff", librosa.feature.spectral_rolloff(y=y, sr=sr)),
        **_mean_var("zero_crossing_rate", librosa.feature.zero_crossing_rate(y)),
        **_mean_var("harmony", y_harm),
        **_mean_var("perceptr", y_perc),
    }
    tempo = librosa.beat.beat_track(y=y, sr=sr)[0]
    return _assemble(parts, librosa.feature.mfcc(y=y, sr=sr, n_mfcc=N_MFCC), tempo)


def summary_features(
    y: np.ndarray, sr: float, *, spectra: Spectra | None = None
) -> dict[str, float]:
    """Summary features of a mono signal, sharing one STFT between all spectral features.

    Gives the same values as :func:`summary_reference`: each feature receives exactly the
    intermediate array librosa would compute from ``y`` internally.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio time series.
    sr : number > 0
        Sampling rate of ``y``.
    spectra : Spectra, optional
        The track's shared spectral representations (``n_fft=2048``, ``hop_length=512``,
        librosa's defaults), if the caller already has them; made here otherwise.

    Returns
    -------
    features : dict
        ``{column: value}`` for every name in :data:`SUMMARY_COLUMNS`, in that order.
    """
    if spectra is None:
        spectra = Spectra(y, sr, n_fft=N_FFT, hop_length=HOP_LENGTH)
    elif (spectra.n_fft, spectra.hop_length) != (N_FFT, HOP_LENGTH):
        raise ValueError(
            f"the summary needs n_fft={N_FFT}, hop_length={HOP_LENGTH}; got "
            f"n_fft={spectra.n_fft}, hop_length={spectra.hop_length}"
        )
    # chroma_stft(y=) estimates tuning from its power spectrogram, as Spectra.chroma does;
    # centroid, bandwidth, rolloff come from the magnitude, RMS and ZCR from y, each
    # shared with the per-frame features of the same track

    # mfcc(y=) and onset_strength(y=) (inside beat_track) both use power_to_db of the
    # same default mel power spectrogram (fmax=sr/2 either way)
    log_mel = spectra.log_mel(128)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)
    # beat_track(y=) aggregates the onset envelope with np.median (onset_strength's
    # default is np.mean); lag=1, max_size=1 as in the defaults
    onset_env = librosa.onset.onset_strength(
        S=log_mel, sr=sr, hop_length=HOP_LENGTH, aggregate=np.median
    )
    # beat_track's tempo is feature.tempo with its defaults (0 without any onset); the
    # beat positions it also tracks are not needed
    tempo = 0.0
    if onset_env.any():
        tempo = librosa.feature.tempo(onset_envelope=onset_env, sr=sr, hop_length=HOP_LENGTH)

    y_harm, y_perc = hpss_signals(y, spectra.stft, n_fft=N_FFT, hop_length=HOP_LENGTH)
    parts = {
        **_mean_var("chroma_stft", spectra.chroma(12)),
        **_mean_var("rms", spectra.rms()),
        **_mean_var("spectral_centroid", spectra.centroid()),
        **_mean_var("spectral_bandwidth", spectra.bandwidth()),
        **_mean_var("rolloff", spectra.rolloff()),
        **_mean_var("zero_crossing_rate", spectra.zero_crossing_rate()),
        **_mean_var("harmony", y_harm),
        **_mean_var("perceptr", y_perc),
    }
    return _assemble(parts, mfcc, tempo)
