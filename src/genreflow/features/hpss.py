"""Fast, exact median-filtering harmonic/percussive source separation (HPSS).

``librosa.decompose.hpss`` spends most of its time in ``scipy.ndimage.median_filter``.
For the 1-d kernels HPSS uses (along time, then along frequency) a centred moving median
gives the same values: ``bottleneck.move_median`` is a trailing running median, so padding
the array symmetrically by ``k // 2`` on both sides (numpy's ``"symmetric"`` mode is
scipy's ``"reflect"``) and dropping the first ``k - 1`` outputs reproduces
``median_filter(S, size=k, mode="reflect")`` element for element, for odd ``k``.
Everything after the filtering (soft masks, phase) follows librosa step by step, so the
results are bit-identical to librosa's.
"""

from __future__ import annotations

from collections.abc import Sequence

import bottleneck as bn
import librosa
import numpy as np
from librosa.util.exceptions import ParameterError
from scipy.ndimage import median_filter

__all__ = ["hpss_signals", "median_filter_hpss", "moving_median"]


def _pair(value, name: str) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a scalar or a pair, got {value!r}")
        return value[0], value[1]
    return value, value


def moving_median(x: np.ndarray, size: int, *, axis: int = -1) -> np.ndarray:
    """Centred median filter of ``x`` along one axis, with reflected edges.

    Equivalent to ``scipy.ndimage.median_filter`` with a kernel of ``size`` along
    ``axis`` (1 elsewhere) and ``mode="reflect"``.

    Parameters
    ----------
    x : np.ndarray
        Input array (real, NaN-free).
    size : int > 0
        Length of the median window. Odd sizes use a bottleneck running median;
        even sizes (whose scipy median is the upper of the two middle values, not
        their mean) fall back to scipy.
    axis : int
        Axis to filter along.

    Returns
    -------
    filtered : np.ndarray, same shape and dtype as ``x``

    Notes
    -----
    scipy's ``"reflect"`` extension reads invalid memory when the half-window is
    at least four times the axis length (e.g. ``size=31`` on fewer than 4 frames);
    there the output here is the mathematically reflected one and may differ.
    """
    x = np.asarray(x)
    size = int(size)
    if size < 1:
        raise ValueError(f"size must be a positive integer, got {size}")
    axis = axis % x.ndim if x.ndim else 0
    if size == 1 or x.size == 0:
        return x.copy()
    if size % 2 == 0:
        shape = [1] * x.ndim
        shape[axis] = size
        return median_filter(x, size=shape, mode="reflect")
    half = size // 2
    pad = [(0, 0)] * x.ndim
    pad[axis] = (half, half)
    padded = np.pad(x, pad, mode="symmetric")
    out = bn.move_median(padded, window=size, axis=axis)
    index = [slice(None)] * x.ndim
    index[axis] = slice(size - 1, None)
    return out[tuple(index)].astype(x.dtype, copy=False)


def median_filter_hpss(
    S: np.ndarray,
    *,
    kernel_size: int | Sequence[int] = 31,
    power: float = 2.0,
    margin: float | Sequence[float] = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Median-filtering HPSS of a spectrogram, as ``librosa.decompose.hpss``.

    Same contract and output as ``librosa.decompose.hpss(S, kernel_size=kernel_size,
    power=power, mask=False, margin=margin)``, with the median filters computed by a
    running median.

    Parameters
    ----------
    S : np.ndarray [shape=(..., d, n)]
        Complex STFT or real non-negative magnitude spectrogram (frequency x time).
    kernel_size : int or (int, int)
        Median window along time (harmonic) and along frequency (percussive).
    power : float > 0 [scalar]
        Exponent of the soft mask (``np.inf`` gives a hard mask).
    margin : float >= 1 or (float, float)
        Margin for the harmonic and percussive masks.

    Returns
    -------
    harmonic : np.ndarray [shape=(..., d, n)]
    percussive : np.ndarray [shape=(..., d, n)]
        ``S`` multiplied by the harmonic and percussive masks.
    """
    S = np.asarray(S)
    phase: float | np.ndarray
    if np.iscomplexobj(S):
        S, phase = librosa.magphase(S)
    else:
        phase = 1
    win_harm, win_perc = _pair(kernel_size, "kernel_size")
    margin_harm, margin_perc = _pair(margin, "margin")
    if margin_harm < 1 or margin_perc < 1:
        raise ParameterError("Margins must be >= 1.0. A typical range is between 1 and 10.")

    harm = np.empty_like(S)
    harm[:] = moving_median(S, win_harm, axis=-1)
    perc = np.empty_like(S)
    perc[:] = moving_median(S, win_perc, axis=-2)

    split_zeros = margin_harm == 1 and margin_perc == 1
    if split_zeros and np.isfinite(power) and power > 0:
        mask_harm, mask_perc = _complementary_softmasks(harm, perc, power)
    else:
        mask_harm = librosa.util.softmask(
            harm, perc * margin_harm, power=power, split_zeros=split_zeros
        )
        mask_perc = librosa.util.softmask(
            perc, harm * margin_perc, power=power, split_zeros=split_zeros
        )
    return (S * mask_harm) * phase, (S * mask_perc) * phase


def _complementary_softmasks(
    harm: np.ndarray, perc: np.ndarray, power: float
) -> tuple[np.ndarray, np.ndarray]:
    """Both of HPSS's soft masks at margin 1, in one pass.

    ``librosa.util.softmask(harm, perc)`` and ``softmask(perc, harm)`` normalise by the
    same ``max(harm, perc)`` and the same sum of powers (addition commutes exactly), so
    each mask is computed here with librosa's arithmetic, step for step, but the shared
    terms only once; split zeros get 0.5 as in librosa (margin 1 implies
    ``split_zeros``). The result is bit-identical to the two librosa calls.
    """
    dtype = harm.dtype if np.issubdtype(harm.dtype, np.floating) else np.float32
    Z = np.maximum(harm, perc).astype(dtype)
    bad_idx = Z < np.finfo(dtype).tiny
    Z[bad_idx] = 1
    good_idx = ~bad_idx
    mask_harm = (harm / Z) ** power
    mask_perc = (perc / Z) ** power
    total = mask_harm[good_idx] + mask_perc[good_idx]
    mask_harm[good_idx] /= total
    mask_perc[good_idx] /= total
    mask_harm[bad_idx] = 0.5
    mask_perc[bad_idx] = 0.5
    return mask_harm, mask_perc


def hpss_signals(
    y: np.ndarray, stft: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive signals of ``y``, as ``librosa.effects.hpss``.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n)]
        Audio time series.
    stft : np.ndarray [shape=(..., 1 + n_fft/2, t)]
        ``librosa.stft(y, n_fft=n_fft, hop_length=hop_length)`` (centred, Hann window).
    n_fft, hop_length : int > 0
        The STFT parameters ``stft`` was computed with.

    Returns
    -------
    y_harmonic : np.ndarray [shape=(..., n)]
    y_percussive : np.ndarray [shape=(..., n)]
    """
    if stft.shape[-2] != 1 + n_fft // 2:
        raise ValueError(f"stft has {stft.shape[-2]} frequency bins, expected {1 + n_fft // 2}")
    stft_harm, stft_perc = median_filter_hpss(stft)
    kwargs = {"dtype": y.dtype, "n_fft": n_fft, "hop_length": hop_length, "length": y.shape[-1]}
    y_harm = librosa.istft(stft_harm, **kwargs)
    y_perc = librosa.istft(stft_perc, **kwargs)
    return y_harm, y_perc
