"""Duplicate and near-duplicate audit: an offline acoustic fingerprint and its matcher.

The fingerprint is the "Philips" robust audio hash of Haitsma & Kalker [1]_, the method
that Chromaprint's and AcoustID's matching descend from. The signal, mono at
:data:`FINGERPRINT_SAMPLE_RATE`, is cut into 0.37 s Hann-windowed frames every 11.6 ms
(overlap 31/32). The spectral energy of each frame is summed in 33 bands spaced
logarithmically from 300 to 2000 Hz, and the 32 bits of a frame's sub-fingerprint are the
signs of the time difference of the differences between adjacent bands ([1]_, eq. 1):

    F(n, m) = 1  if  E(n, m) - E(n, m+1) - (E(n-1, m) - E(n-1, m+1)) > 0,  else 0.

Only signs of energy differences count, so a change of gain leaves the bits as they are,
and lossy coding (MP3) flips only the few bits whose differences were close to zero.

:func:`find_duplicates` follows the paper's search strategy ([1]_, section 4): an inverted
index of exact 32-bit sub-fingerprint values proposes (pair, offset) candidates, and each
candidate is verified by the bit error rate (BER) over the best-aligned overlap.
Silent frames (in-band power below :data:`SILENCE_DB`) get the value 0, which means "no
sub-fingerprint": they are left out of the index and of every bit error rate, so tracks
that share only silence never match. :func:`duplicate_groups` joins the matching pairs
into groups of copies of one recording.

References
----------
.. [1] J. Haitsma and T. Kalker, "A Highly Robust Audio Fingerprinting System",
   Proc. 3rd International Conference on Music Information Retrieval (ISMIR), 2002,
   pp. 107-115.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.fft
import scipy.signal
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

FINGERPRINT_SAMPLE_RATE: int = 5512
"""Hz; the caller decodes mono audio at this rate ([1]_ works at about 5 kHz)."""
FRAME_LENGTH = 2048  # samples: 0.372 s at 5512 Hz
HOP_LENGTH = 64  # samples: 11.6 ms, an overlap of 31/32 as in [1]_
HOP_S = HOP_LENGTH / FINGERPRINT_SAMPLE_RATE
N_BANDS = 33  # 33 bands give the 32 bits of a sub-fingerprint
BAND_RANGE_HZ = (300.0, 2000.0)
SILENCE_DB = -80.0
"""In-band power (dB relative to a full-scale signal) below which a frame is silent."""
MAX_POSTINGS = 64
"""Sub-fingerprint values found at more positions than this are not indexed (too common)."""
MIN_VOTES = 6
"""Exact sub-fingerprint matches a (pair, offset) needs to be verified."""
DEFAULT_MIN_SIMILARITY = 0.85
DEFAULT_MIN_OVERLAP_S = 5.0
DUPLICATE_COLUMNS = ("track_id_a", "track_id_b", "similarity", "offset_s", "overlap_s")

_CANDIDATES_PER_PAIR = 2  # offsets verified per candidate pair (each with its neighbours)
# beyond this many postings (frames) in all, the index is built in INDEX_PARTS parts
# (its transient memory is some 60 bytes a posting)
PART_POSTINGS = 8_000_000
INDEX_PARTS = 64  # a power of two: a value's part is its low bits
BLOCK_POSTINGS = 4_000_000  # postings read at once while a part is gathered


def _band_edges() -> np.ndarray:
    """STFT bin indices bounding the 33 log-spaced bands (34 edges)."""
    edges_hz = np.geomspace(*BAND_RANGE_HZ, N_BANDS + 1)
    return np.round(edges_hz * FRAME_LENGTH / FINGERPRINT_SAMPLE_RATE).astype(np.int64)


_EDGES = _band_edges()
_WINDOW = scipy.signal.get_window("hann", FRAME_LENGTH, fftbins=True).astype(np.float32)
_BLOCK_FRAMES = 2048  # frames per FFT block (about 24 s of audio, 35 MB of work arrays)


def fingerprint(y: np.ndarray, sr: int) -> np.ndarray:
    """The Philips sub-fingerprints of a mono signal, one per frame.

    Parameters
    ----------
    y : numpy.ndarray
        Mono samples (float, nominally in [-1, 1]) at :data:`FINGERPRINT_SAMPLE_RATE`.
    sr : int
        Sample rate of ``y``; must equal :data:`FINGERPRINT_SAMPLE_RATE`.

    Returns
    -------
    numpy.ndarray
        uint32, one sub-fingerprint per 11.6 ms hop from the second full 0.37 s frame
        on (the first frame has no predecessor to difference against): bit ``m`` is
        ``F(n, m)`` of [1]_, eq. 1. Silent frames (in-band power below
        :data:`SILENCE_DB` dBFS) are 0, meaning "no sub-fingerprint" (so is the rare
        audible frame whose 32 bits are all 0). A signal shorter than two frames (about
        0.38 s) gives an empty array. About 10 kB per 30 s of audio.

    Raises
    ------
    ValueError
        If ``sr`` is not :data:`FINGERPRINT_SAMPLE_RATE` or ``y`` is not one-dimensional.
    """
    if sr != FINGERPRINT_SAMPLE_RATE:
        raise ValueError(
            f"fingerprint needs mono audio at {FINGERPRINT_SAMPLE_RATE} Hz, got {sr} Hz"
        )
    y = np.ascontiguousarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"fingerprint needs mono audio (1-D), got shape {y.shape}")
    if y.size < FRAME_LENGTH + HOP_LENGTH:
        return np.zeros(0, dtype=np.uint32)
    energy = _band_energy(y)  # frames x 33 bands
    band_diff = energy[:, :-1] - energy[:, 1:]  # E(n, m) - E(n, m + 1)
    bits = (band_diff[1:] - band_diff[:-1]) > 0  # (frames - 1) x 32: F(n, m), n >= 1
    values = np.packbits(bits, axis=1, bitorder="little").view("<u4")[:, 0].astype(np.uint32)
    # Parseval: mean in-band power of the windowed frame relative to a full-scale signal
    in_band = 2.0 * energy[1:].sum(axis=1) / (FRAME_LENGTH * float(np.sum(_WINDOW**2)))
    values[in_band < 10.0 ** (SILENCE_DB / 10.0)] = 0
    return values


def _band_energy(y: np.ndarray) -> np.ndarray:
    """Energy of every 0.37 s Hann-windowed frame in the 33 bands, frames x bands.

    The frames are transformed a block at a time, so memory stays bounded for long input.
    """
    frames = np.lib.stride_tricks.sliding_window_view(y, FRAME_LENGTH)[::HOP_LENGTH]
    low, high = _EDGES[0], _EDGES[-1]
    energy = np.empty((frames.shape[0], N_BANDS))
    for start in range(0, frames.shape[0], _BLOCK_FRAMES):
        block = frames[start : start + _BLOCK_FRAMES] * _WINDOW
        spectrum = scipy.fft.rfft(block, axis=1)[:, low:high]
        power = spectrum.real**2 + spectrum.imag**2
        energy[start : start + _BLOCK_FRAMES] = np.add.reduceat(power, _EDGES[:-1] - low, axis=1)
    return energy


def classify_pair(similarity: float) -> str:
    """``"exact"`` when the overlap's bits are all identical (similarity 1.0), else ``"near"``.

    An exact pair carries the same decoded audio where the two overlap (a copy, a lossless
    round trip, an excerpt cut on the frame grid; most gain changes too, since only signs
    of energy differences count); a near pair differs in some bits (lossy re-encoding,
    resampling, added noise, an excerpt cut between two frames of the grid).
    :func:`find_duplicates` leaves the kind out of its table: apply this to its
    ``similarity`` column.
    """
    return "exact" if similarity >= 1.0 else "near"


def find_duplicates(
    fingerprints: Mapping[str, np.ndarray],
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    min_overlap_s: float = DEFAULT_MIN_OVERLAP_S,
) -> pd.DataFrame:
    """Pairs of tracks that share at least ``min_overlap_s`` of the same recording.

    Candidates come from an inverted index of exact sub-fingerprint values ([1]_,
    section 4.2): every value found in two tracks votes for that pair at the offset
    between its positions; values at more than :data:`MAX_POSTINGS` positions and
    silent frames (0) are not indexed. For each pair, the two offsets with the most
    votes (a vote also counts for the offsets next to it) are verified, with their
    neighbours, by the bit error rate over the aligned overlap, if they have at least
    :data:`MIN_VOTES`: a copy at the default similarity has 20 or more in 5 s.

    Parameters
    ----------
    fingerprints : Mapping[str, numpy.ndarray]
        Track id -> uint32 sub-fingerprints from :func:`fingerprint`.
    min_similarity : float
        Least ``1 - BER`` over the overlap. The paper's threshold is a BER of 0.35 on
        3 s blocks of real music, whose unrelated recordings sit near 0.5. The default
        0.85 (BER <= 0.15) is stricter: different clips by one synthetic demo artist
        (same key, chords, timbres and tempo range) score up to 0.78, while MP3 copies at
        22050 Hz score 0.87-0.97 at libsndfile's default quality (0.81-0.90 at
        24 kbit/s, which this default may miss); gain changes, trims and excerpts score
        0.97-1.0.
    min_overlap_s : float
        Least audible shared duration (seconds; frames silent in either track do not
        count). The default 5 s (430 frames, 13,760 bits) is long enough that unrelated
        music does not reach the similarity by chance, and short enough to find two
        30 s excerpts of one recording that overlap by a few seconds, the duplicates
        GTZAN is known for.

    Returns
    -------
    pandas.DataFrame
        One row per matching pair, sorted, with columns ``track_id_a < track_id_b``,
        ``similarity`` (``1 - BER``; pass it to :func:`classify_pair`), ``offset_s``
        (frame ``i`` of a matches frame ``i + offset_s / HOP_S`` of b: negative when b
        starts later in the recording, e.g. b trimmed at the start) and ``overlap_s``
        (seconds of audio audible in both, at that alignment). Empty, with these
        columns, when nothing matches.

    Notes
    -----
    The similarity is taken over the whole aligned overlap, so two tracks that share a
    passage but differ around it (a medley, a DJ mix) match only when the differing
    audio is short next to the shared one. Pitch-shifted or time-stretched versions
    (beyond a few percent) and very low bit-rate copies (8 kbit/s MP3) are not found:
    their bits differ too much ([1]_, section 5).

    Cost, measured on 1,000 synthetic 30 s tracks on one shared CPU core: about 1 s in
    all, with about 160 kB of transient memory per track (the index and its sort)
    besides the fingerprints themselves (10 kB per track); beyond
    :data:`PART_POSTINGS` frames in all (about 3,000 tracks) the index is built a part
    of the values at a time, so its memory grows a 64th as fast
    (``python -m benchmarks.scale --stages audit``).
    """
    ids = sorted(fingerprints)
    prints = [np.asarray(fingerprints[track], dtype=np.uint32) for track in ids]
    min_frames = max(1, int(np.ceil(min_overlap_s / HOP_S)))
    rows = []
    for a, b, offset in _candidates(prints, min_frames):
        best = max(
            (
                _similarity(prints[a], prints[b], shift)
                for shift in (offset - 1, offset, offset + 1)
            ),
            key=lambda match: (match[0], match[2]),
        )
        similarity, shift, frames = best
        if frames >= min_frames and similarity >= min_similarity:
            rows.append((ids[a], ids[b], similarity, shift * HOP_S, frames * HOP_S))
    table = pd.DataFrame(rows, columns=list(DUPLICATE_COLUMNS))
    table = table.sort_values(
        ["track_id_a", "track_id_b", "similarity"], ascending=[True, True, False]
    )
    table = table.drop_duplicates(["track_id_a", "track_id_b"]).reset_index(drop=True)
    return table.astype({"similarity": float, "offset_s": float, "overlap_s": float})


def _candidates(
    prints: list[np.ndarray], min_frames: int, *, part_postings: int | None = None
) -> list[tuple[int, int, int]]:
    """(track a, track b > a, offset in frames) worth verifying, by index votes.

    Beyond ``part_postings`` postings in all (default :data:`PART_POSTINGS`), the index
    is built and searched one of :data:`INDEX_PARTS` parts of the sub-fingerprint values
    at a time (its low bits, ``value % INDEX_PARTS``): a value's postings all fall in one
    part, so the votes are the same, the transient memory is a part's (100,000 tracks
    hold some 260 million postings), and the time stays linear in the postings (each
    part reads them all, in blocks of :data:`BLOCK_POSTINGS`).
    """
    lengths = np.array([p.size for p in prints], dtype=np.int64)
    if lengths.size < 2 or lengths.sum() == 0:
        return []
    span = int(lengths.max())
    parts = 1 if lengths.sum() <= (part_postings or PART_POSTINGS) else INDEX_PARTS
    # the indexed tracks (not shorter than the least overlap) in blocks of consecutive
    # tracks of about BLOCK_POSTINGS postings; a part is the postings whose value has
    # its number in the low bits (INDEX_PARTS is a power of two)
    indexed = np.flatnonzero(lengths >= min_frames)
    if indexed.size < 2:
        return []
    ends = np.cumsum(lengths[indexed])
    cuts = np.searchsorted(ends, np.arange(BLOCK_POSTINGS, ends[-1], BLOCK_POSTINGS))
    bounds = np.unique(np.r_[0, cuts + 1, indexed.size].clip(0, indexed.size))
    low_bits = np.uint32(parts - 1)
    keys = []
    for part in range(parts):
        values, tracks, positions = [], [], []
        for first, last in itertools.pairwise(bounds):
            block = np.concatenate([prints[i] for i in indexed[first:last]])
            keep = block != 0
            if parts > 1:
                keep &= (block & low_bits) == part
            chosen = np.flatnonzero(keep)
            block_ends = ends[first:last] - (ends[first] - lengths[indexed[first]])
            k = np.searchsorted(block_ends, chosen, side="right")  # track in the block
            track = indexed[first + k]
            values.append(block[chosen].astype(np.uint64))
            tracks.append(track)
            positions.append(chosen - (block_ends[k] - lengths[track]))
        keys += _votes(
            np.concatenate(values),
            np.concatenate(tracks),
            np.concatenate(positions),
            lengths.size,
            span,
        )
    if not keys:
        return []
    key, votes = np.unique(np.concatenate(keys), return_counts=True)
    # a vote counts for the offsets next to it too (the frame grids need not align)
    smoothed = votes.copy()
    for step in (-1, 1):
        where = np.minimum(np.searchsorted(key, key + step), key.size - 1)
        found = key[where] == key + step
        smoothed[found] += votes[where[found]]
    pair, offset = np.divmod(key, 2 * span + 1)
    order = np.lexsort((-smoothed, pair))
    pair, offset, smoothed = pair[order], offset[order] - span, smoothed[order]
    rank = np.arange(pair.size) - np.searchsorted(pair, pair)  # 0: the pair's top offset
    top = (rank < _CANDIDATES_PER_PAIR) & (smoothed >= MIN_VOTES)
    a, b = np.divmod(pair[top], lengths.size)
    return list(zip(a.tolist(), b.tolist(), offset[top].tolist()))


def _votes(
    values: np.ndarray, track: np.ndarray, position: np.ndarray, n_tracks: int, span: int
) -> list[np.ndarray]:
    """The votes of one part of the index: ``(a * n_tracks + b) * (2 span + 1) + offset +
    span`` for every pair of postings of one value in tracks a < b."""
    # sort the postings by value, then by place (track, position): one sort of
    # value << 32 | posting number
    key = np.sort((values << np.uint64(32)) | np.arange(values.size, dtype=np.uint64))
    posting = (key & np.uint64(0xFFFFFFFF)).astype(np.int64)
    values = key >> np.uint64(32)
    # the inverted index: runs of one value, kept when found 2..MAX_POSTINGS times
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    counts = np.diff(np.r_[starts, values.size])
    kept = np.repeat((counts >= 2) & (counts <= MAX_POSTINGS), counts)
    values, track, position = values[kept], track[posting[kept]], position[posting[kept]]
    # every pair of postings of one value in two tracks: posting i with posting i + d
    keys = []
    for d in range(1, min(MAX_POSTINGS, values.size)):
        same = values[d:] == values[:-d]
        if not same.any():
            break
        same &= track[d:] != track[:-d]
        a, b = track[:-d][same], track[d:][same]  # a < b: sorted by place within a value
        offset = position[d:][same] - position[:-d][same]
        keys.append((a * n_tracks + b) * (2 * span + 1) + offset + span)
    return keys


def _similarity(a: np.ndarray, b: np.ndarray, offset: int) -> tuple[float, int, int]:
    """(1 - BER, offset, audible frames) of frame i of ``a`` against i + offset of ``b``."""
    start, stop = max(0, -offset), min(a.size, b.size - offset)
    if stop <= start:
        return 0.0, offset, 0
    x, y = a[start:stop], b[start + offset : stop + offset]
    audible = (x != 0) & (y != 0)
    frames = int(audible.sum())
    if frames == 0:
        return 0.0, offset, 0
    errors = int(np.bitwise_count(x[audible] ^ y[audible]).sum(dtype=np.int64))
    return 1.0 - errors / (32.0 * frames), offset, frames


def duplicate_groups(pairs: pd.DataFrame, track_ids: Sequence[str]) -> dict[str, int]:
    """Connected components of the duplicate graph: track id -> group number.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Rows of :func:`find_duplicates` (columns ``track_id_a`` and ``track_id_b``).
    track_ids : Sequence[str]
        Every track of the audit; pairs naming other tracks raise ``KeyError``.

    Returns
    -------
    dict[str, int]
        Each track with at least one duplicate -> its group, numbered 0, 1, ... in the
        order of each group's smallest track id; tracks without duplicates are absent.
        Groups are transitive: a ~ b and b ~ c put a, b and c in one group.
    """
    ids = sorted(set(track_ids))
    index = {track: i for i, track in enumerate(ids)}
    a = np.array([index[t] for t in pairs["track_id_a"]], dtype=np.int64)
    b = np.array([index[t] for t in pairs["track_id_b"]], dtype=np.int64)
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(len(ids), len(ids)))
    _, labels = connected_components(graph, directed=False)
    linked = np.zeros(len(ids), dtype=bool)
    linked[a] = linked[b] = True
    numbers: dict[int, int] = {}
    groups = {}
    for i in np.flatnonzero(linked):  # ids are sorted: first seen is a group's smallest
        groups[ids[i]] = numbers.setdefault(int(labels[i]), len(numbers))
    return groups
