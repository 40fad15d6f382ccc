"""Per-track features, every STFT-based one derived from one shared STFT per signal.

A feature set in the config names a *kind* and its parameters, e.g.
``logmel64: {kind: logmel, n_mels: 64}``. :func:`compute_features` decodes nothing
and transforms each signal once: it builds one
:class:`~genreflow.features.spectra.Spectra` per signal and hands it to each kind.

Two signals of a track may be involved. The sequence kinds (``logmel``, ``mfcc``,
``chroma``, ``spectral``, ``wavelet``) are computed on the clip ``y``, padded or trimmed
to the clip length so every track has the same number of frames. The summary kind
(``gtzan_summary``, one vector per track) is computed on the whole, untrimmed decode, as
the published GTZAN table was (its ``length`` column is each file's full sample count).
When the two are the same signal (nothing padded or trimmed) they share one ``Spectra``,
so one STFT; otherwise the summary gets its own ``Spectra`` of the whole signal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import librosa
import numpy as np
import pywt

from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.precomputed import PRECOMPUTED
from genreflow.features.spectra import Spectra
from genreflow.features.summary import HOP_LENGTH as SUMMARY_HOP
from genreflow.features.summary import N_FFT as SUMMARY_N_FFT
from genreflow.features.summary import SUMMARY_COLUMNS, summary_features

SPECTRAL_ROWS: tuple[str, ...] = (
    "spectral_centroid",
    "spectral_bandwidth",
    "spectral_rolloff",
    *(f"spectral_contrast_{band}" for band in range(7)),
    "spectral_flatness",
    "zero_crossing_rate",
    "rms",
)


@dataclass(frozen=True)
class FeatureSpec:
    """One configured feature: its name (file/folder name), kind and parameters."""

    name: str
    kind: str
    params: Mapping = field(default_factory=dict)

    @property
    def is_sequence(self) -> bool:
        """Sequence features are (rows × frames) matrices; the summary is one vector."""
        return self.kind != "gtzan_summary"

    @property
    def uses_whole_signal(self) -> bool:
        """Computed on the whole decoded file, not the padded or trimmed clip.

        Sequence features need equal frame counts; the summary vector does not, and the
        published GTZAN table summarises each whole file.
        """
        return not self.is_sequence

    @property
    def is_embedding(self) -> bool:
        """Computed by a pretrained network (rule extract_embeddings), not from the STFT."""
        return self.kind in EMBEDDING_KINDS

    @property
    def is_precomputed(self) -> bool:
        """Read from files computed elsewhere (rule import_precomputed): no audio at all."""
        return self.kind == PRECOMPUTED


def logmel(spectra: Spectra, *, n_mels: int = 128) -> np.ndarray:
    """Log-scaled mel spectrogram, ``power_to_db`` of the mel power (n_mels × frames)."""
    return spectra.log_mel(n_mels)


def mfcc(spectra: Spectra, *, n_mfcc: int = 40, n_mels: int = 128) -> np.ndarray:
    """MFCCs from the shared log-mel spectrogram (n_mfcc × frames)."""
    return librosa.feature.mfcc(S=spectra.log_mel(n_mels), n_mfcc=n_mfcc)


def chroma(spectra: Spectra, *, n_chroma: int = 24) -> np.ndarray:
    """STFT chromagram (n_chroma × frames), tuning estimated from the power spectrogram."""
    return spectra.chroma(n_chroma)


def spectral(spectra: Spectra) -> np.ndarray:
    """The rows of :data:`SPECTRAL_ROWS` (13 × frames).

    Centroid, bandwidth, rolloff, contrast and flatness come from the shared magnitude;
    zero-crossing rate and RMS from the waveform, framed like the STFT.
    """
    rows = [
        spectra.centroid(),
        spectra.bandwidth(),
        spectra.rolloff(),
        librosa.feature.spectral_contrast(S=spectra.magnitude, sr=spectra.sr),
        librosa.feature.spectral_flatness(S=spectra.magnitude),
        spectra.zero_crossing_rate(),
        spectra.rms(),
    ]
    return np.concatenate(rows, axis=0)


def wavelet(spectra: Spectra, *, wavelet: str = "db4", level: int = 6) -> np.ndarray:
    """Log energy of each wavelet sub-band per STFT frame ((level + 1) × frames).

    ``pywt.wavedec`` splits the signal into an approximation and ``level`` detail
    bands; each band's squared coefficients are averaged over the stretch of the band
    that each STFT frame covers, so the rows align with the other features' frames.
    """
    bands = pywt.wavedec(spectra.y, wavelet, level=level)
    n_frames = spectra.n_frames
    rows = []
    for coefficients in bands:
        energy = coefficients.astype(np.float64) ** 2
        edges = np.linspace(0, len(energy), n_frames + 1).astype(int)
        edges[:-1] = np.minimum(edges[:-1], len(energy) - 1)
        sums = np.add.reduceat(energy, edges[:-1])
        counts = np.maximum(np.diff(edges), 1)
        rows.append(np.log(sums / counts + 1e-10))
    return np.stack(rows)


def gtzan_summary(spectra: Spectra) -> np.ndarray:
    """The 57 values of :data:`SUMMARY_COLUMNS` of ``spectra.y`` (librosa defaults: n_fft
    2048, hop 512; ``spectra`` is reused when it has those, else a new STFT is taken).

    :func:`compute_features` hands it the ``Spectra`` of the whole, untrimmed signal.
    """
    shared = (spectra.n_fft, spectra.hop_length) == (SUMMARY_N_FFT, SUMMARY_HOP)
    values = summary_features(spectra.y, spectra.sr, spectra=spectra if shared else None)
    return np.array([values[column] for column in SUMMARY_COLUMNS])


FEATURE_KINDS: dict[str, Callable[..., np.ndarray]] = {
    "logmel": logmel,
    "mfcc": mfcc,
    "chroma": chroma,
    "spectral": spectral,
    "wavelet": wavelet,
    "gtzan_summary": gtzan_summary,
}


def _same_signal(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or (a.shape == b.shape and np.array_equal(a, b))


def compute_features(
    y: np.ndarray,
    sr: int,
    specs: list[FeatureSpec],
    *,
    n_fft: int = 2048,
    hop_length: int = 512,
    untrimmed: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every STFT-based feature of ``specs`` of one track, keyed by feature name.

    Embedding sets are computed by their extractors (:mod:`genreflow.embeddings`).
    Sequence features are float32 (rows × frames); the summary vector stays float64 so
    the table keeps librosa's values.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        The track's clip: mono, padded or trimmed to the clip length.
    sr : int
        Sampling rate of ``y`` (and of ``untrimmed``).
    specs : list of FeatureSpec
        The feature sets to compute (no embedding kinds).
    n_fft, hop_length : int
        STFT parameters of the shared transform.
    untrimmed : np.ndarray [shape=(m,)], optional
        The whole decoded signal that ``y`` was trimmed or padded from
        (:attr:`~genreflow.features.loading.LoadedTrack.untrimmed`). The kinds that
        summarise the whole file (:attr:`FeatureSpec.uses_whole_signal`: ``gtzan_summary``)
        are computed on it, every other kind on ``y``. ``None`` means ``y`` is the whole
        signal; so does an empty one (a file without samples, whose clip is silence).
        Each distinct signal is transformed once: if ``untrimmed`` equals ``y``, all kinds
        share one STFT.
    """
    spectra = Spectra(y, sr, n_fft=n_fft, hop_length=hop_length)
    whole = spectra
    if untrimmed is not None and untrimmed.size and not _same_signal(untrimmed, y):
        # lazy: neither STFT is taken unless a kind on that signal asks for it
        whole = Spectra(untrimmed, sr, n_fft=n_fft, hop_length=hop_length)
    features = {}
    for spec in specs:
        source = whole if spec.uses_whole_signal else spectra
        values = FEATURE_KINDS[spec.kind](source, **spec.params)
        features[spec.name] = values.astype(np.float32 if spec.is_sequence else np.float64)
    return features
