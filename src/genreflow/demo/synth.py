"""Deterministic synthetic music in GTZAN's ten genres, for the embedded demo dataset.

Every genre is one :class:`~genreflow.demo.recipes.GenreRecipe` in
:data:`~genreflow.demo.recipes.RECIPES` (the data module :mod:`genreflow.demo.recipes`):
tempo range, drum patterns on a 16-step grid, bass-line styles, chord progressions (Roman
numerals) with their comping rhythms and timbres, an optional lead line, distortion,
recording bandwidth and noise.
Synthetic artists (:class:`ArtistTraits`) narrow a recipe down to persistent choices
(key centre, tempo sub-range, brightness, instrument mix, favourite patterns), so clips by
one artist resemble each other, as in real GTZAN.

Some genre pairs overlap on purpose (rock/metal, disco/pop, blues/jazz/country) so that
a classifier can learn the dataset but not perfectly. Rendering is pure numpy (wavetable
additive synthesis, enveloped noise drums, one-pole filters) and fast.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from scipy.signal import lfilter

from genreflow.demo.recipes import (
    NO_DRUMS,
    RECIPES,
    STEPS_PER_BAR,
    DrumKit,
    DrumPattern,
    GenreRecipe,
    LeadSpec,
    Timbre,
)
from genreflow.genres import GTZAN_GENRES

GENRES = GTZAN_GENRES  # the demo mirrors GTZAN's ten genres, in its order

_TABLE_SIZE = 2048
_Note = tuple[float, float, float, float, float]  # start step, steps, MIDI, velocity, glide


# --------------------------------------------------------------------------- artist traits


@dataclass(frozen=True)
class ArtistTraits:
    """Persistent choices of one synthetic artist, drawn once from the seed."""

    name: str
    genre: str
    index: int
    key_root: int  # pitch class
    tempo_range: tuple[float, float]
    swing_range: tuple[float, float]
    drive_range: tuple[float, float]
    brightness: float  # multiplies timbre cut-offs, tilts harmonics
    drum_pattern: int  # index into the recipe's options
    bass_style: str
    progression: int
    chord_rhythm: int
    chord_timbre: int
    lead_timbre: int
    lead_probability: float
    mix: tuple[float, float, float, float]
    bandwidth: float  # Hz
    snr_db: tuple[float, float]


# --------------------------------------------------------------------------- harmony

_ROMAN = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_CHORD_RE = re.compile(r"^([b#]*)(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(.*)$")
_QUALITIES: dict[tuple[bool, str], tuple[int, ...]] = {
    (False, ""): (0, 4, 7),
    (True, ""): (0, 3, 7),
    (False, "7"): (0, 4, 7, 10),
    (True, "7"): (0, 3, 7, 10),
    (False, "maj7"): (0, 4, 7, 11),
    (False, "9"): (0, 4, 10, 14),
    (True, "9"): (0, 3, 10, 14),
    (False, "5"): (0, 7, 12),
    (True, "5"): (0, 7, 12),
    (False, "add9"): (0, 4, 7, 14),
    (False, "6"): (0, 4, 7, 9),
}


@cache
def parse_chord(symbol: str) -> tuple[int, tuple[int, ...]]:
    """``"bVII5"`` -> (root semitones above the key, chord intervals above the root)."""
    match = _CHORD_RE.match(symbol)
    if match is None:
        raise ValueError(f"unknown chord symbol {symbol!r}")
    accidentals, numeral, suffix = match.groups()
    minor = numeral.islower()
    if (minor, suffix) not in _QUALITIES:
        raise ValueError(f"unknown chord quality in {symbol!r}")
    root = _ROMAN[numeral.upper()] + accidentals.count("#") - accidentals.count("b")
    return root % 12, _QUALITIES[(minor, suffix)]


def _place(pitch_class: int, low: int) -> int:
    """The lowest MIDI note >= ``low`` with the given pitch class."""
    return low + (pitch_class - low) % 12


def _midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


# --------------------------------------------------------------------------- artists


def make_artist(genre: str, index: int, rng: np.random.Generator) -> ArtistTraits:
    """Draw the persistent traits of artist ``index`` (0-based) of ``genre``."""
    recipe = _recipe(genre)
    lo, hi = recipe.tempo
    width = (hi - lo) * rng.uniform(0.3, 0.5)
    start = rng.uniform(lo, hi - width)
    s_lo, s_hi = recipe.swing
    s_centre = rng.uniform(s_lo, s_hi)
    s_half = 0.25 * (s_hi - s_lo)
    d_lo, d_hi = recipe.drive
    d_centre = rng.uniform(d_lo, d_hi)
    d_half = 0.25 * (d_hi - d_lo)
    snr_centre = rng.uniform(*recipe.snr_db)
    mix = tuple(float(m * rng.lognormal(0.0, 0.25)) for m in recipe.mix)
    n_lead = len(recipe.lead.timbres) if recipe.lead else 1
    lead_p = recipe.lead.probability if recipe.lead else 0.0
    return ArtistTraits(
        name=f"Demo {genre.capitalize()} Artist {index + 1}",
        genre=genre,
        index=index,
        key_root=int(rng.choice(recipe.keys)),
        tempo_range=(float(start), float(start + width)),
        swing_range=(max(s_lo, s_centre - s_half), min(s_hi, s_centre + s_half)),
        drive_range=(max(d_lo, d_centre - d_half), min(d_hi, d_centre + d_half)),
        brightness=float(np.exp(rng.normal(0.0, 0.2))),
        drum_pattern=int(rng.integers(len(recipe.drums))),
        bass_style=str(rng.choice(recipe.bass_styles)),
        progression=int(rng.integers(len(recipe.progressions))),
        chord_rhythm=int(rng.integers(len(recipe.chord_rhythms))),
        chord_timbre=int(rng.integers(len(recipe.chord_timbres))),
        lead_timbre=int(rng.integers(n_lead)),
        lead_probability=float(np.clip(lead_p * rng.uniform(0.6, 1.4), 0.0, 1.0)),
        mix=mix,  # type: ignore[arg-type]
        bandwidth=float(rng.uniform(*recipe.bandwidth)),
        snr_db=(snr_centre - 4.0, snr_centre + 4.0),
    )


def _recipe(genre: str) -> GenreRecipe:
    try:
        return RECIPES[genre]
    except KeyError:
        raise ValueError(f"unknown genre {genre!r}; expected one of {', '.join(GENRES)}") from None


# --------------------------------------------------------------------------- DSP helpers


@lru_cache(maxsize=512)
def _wavetable(harmonics: tuple[float, ...], tilt: float, n_harmonics: int) -> np.ndarray:
    """One period of the waveform, peak 1, with at most ``n_harmonics`` partials."""
    amps = np.asarray(harmonics[: max(1, n_harmonics)], dtype=np.float64)
    k = np.arange(1, amps.size + 1)
    amps = amps * k**tilt
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spectrum[1 : amps.size + 1] = -1j * amps  # sine phase
    table = np.fft.irfft(spectrum, n=_TABLE_SIZE)
    return (table / np.max(np.abs(table))).astype(np.float32)


def _lowpass(x: np.ndarray, cutoff: float, sr: int, order: int = 1) -> np.ndarray:
    """Cascade of ``order`` one-pole low-pass filters."""
    cutoff = min(cutoff, 0.45 * sr)
    a = math.exp(-2.0 * math.pi * cutoff / sr)
    for _ in range(order):
        x = lfilter([1.0 - a], [1.0, -a], x)
    return x


def _highpass(x: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    a = math.exp(-2.0 * math.pi * cutoff / sr)
    return lfilter([(1.0 + a) / 2.0, -(1.0 + a) / 2.0], [1.0, -a], x)


def _add(buf: np.ndarray, start: int, sig: np.ndarray) -> None:
    """``buf[start:start+len(sig)] += sig``, clipped to the buffer."""
    lo = max(start, 0)
    hi = min(start + sig.size, buf.size)
    if hi > lo:
        buf[lo:hi] += sig[lo - start : hi - start]


def _parse_steps(pattern: str) -> list[tuple[int, int, float]]:
    """Step string -> [(step, length in steps, velocity)]; '-' holds the previous hit."""
    velocity = {"g": 0.35, "x": 0.8, "X": 1.0}
    hits: list[tuple[int, int, float]] = []
    for i, ch in enumerate(pattern):
        if ch in velocity:
            hits.append((i, 1, velocity[ch]))
        elif ch == "-" and hits:
            s, n, v = hits[-1]
            hits[-1] = (s, n + 1, v)
    return hits


# --------------------------------------------------------------------------- the clip


class _Clip:
    """Shared state of one rendering: timing grid, key, buffers."""

    def __init__(
        self,
        recipe: GenreRecipe,
        artist: ArtistTraits,
        seconds: float,
        sr: int,
        rng: np.random.Generator,
    ) -> None:
        self.recipe, self.artist, self.sr, self.rng = recipe, artist, sr, rng
        self.n = round(seconds * sr)
        self.tempo = float(rng.uniform(*artist.tempo_range))
        self.step_s = 60.0 / self.tempo / 4.0
        self.swing = float(rng.uniform(*artist.swing_range))
        pattern_index = artist.drum_pattern
        if rng.random() < 0.15:
            pattern_index = int(rng.integers(len(recipe.drums)))
        self.drums = recipe.drums[pattern_index]
        self.offset_s = float(rng.uniform(0.0, STEPS_PER_BAR * self.step_s))
        self.n_bars = math.ceil((seconds + self.offset_s) / (STEPS_PER_BAR * self.step_s))
        self.key = artist.key_root
        if rng.random() < 0.25:
            self.key = (self.key + int(rng.choice([-2, -1, 1, 2, 5, 7]))) % 12
        self.detune = 2.0 ** (rng.normal(0.0, 12.0) / 1200.0)
        self.jitter = recipe.humanize_ms / 1000.0
        prog_index = artist.progression
        if rng.random() < 0.2:
            prog_index = int(rng.integers(len(recipe.progressions)))
        progression = recipe.progressions[prog_index]
        first = int(rng.integers(len(progression)))
        self.chords = [
            parse_chord(progression[(first + b) % len(progression)]) for b in range(self.n_bars + 1)
        ]

    def time(self, step: float) -> float:
        """Seconds from the clip start of a (bar-global) step, swing and offset applied."""
        unit = self.drums.swing_unit
        pos = int(step) % STEPS_PER_BAR
        shift = 0.0
        if unit == 8 and pos % 4 == 2:
            shift = self.swing * 2.0 * self.step_s
        elif unit == 16 and pos % 2 == 1:
            shift = self.swing * self.step_s
        return step * self.step_s + shift - self.offset_s

    def sample(self, step: float) -> int:
        jitter = self.rng.normal(0.0, self.jitter) if self.jitter else 0.0
        return round((self.time(step) + jitter) * self.sr)

    # ----------------------------------------------------------------- pitched parts

    def render_notes(
        self,
        notes: list[_Note],
        timbre: Timbre,
        brightness: float,
    ) -> np.ndarray:
        """Render (start step, length in steps, MIDI note, velocity, glide) notes."""
        sr = self.sr
        buf = np.zeros(self.n, dtype=np.float32)
        tilt = round(math.log(max(brightness, 1e-3)) * 1.5, 2)
        release_n = int(4.0 * timbre.release * sr)
        for start, length, midi, velocity, glide in notes:
            i0 = self.sample(start)
            dur = length * self.step_s
            dur_total = int(dur * sr) + release_n
            if timbre.sustain <= 0.0:  # struck/plucked: silent after a few decay times
                dur_total = min(dur_total, int((timbre.attack + 6 * timbre.decay) * sr))
            if i0 >= self.n or i0 + dur_total <= 0 or dur_total <= 0:
                continue
            freq = _midi_hz(midi) * self.detune
            n_harm = int(0.45 * sr / freq)
            table = _wavetable(timbre.harmonics, tilt, n_harm)
            t = np.arange(dur_total, dtype=np.float32) / np.float32(sr)
            phase = np.float32(self.rng.random()) + np.float32(freq) * t
            if timbre.vibrato:
                depth = timbre.vibrato / 1200.0 * math.log(2.0)
                phase += np.float32(freq * depth / (2 * math.pi * 5.5)) * np.sin(
                    np.float32(2 * math.pi * 5.5) * t
                )
            if glide:
                tau = 0.04
                # instantaneous ratio ~ 1 - g*ln2/12 * exp(-t/tau); integrate analytically
                g = glide * math.log(2.0) / 12.0
                phase -= np.float32(freq * g * tau) * (1.0 - np.exp(-t / np.float32(tau)))
            idx = (phase * np.float32(_TABLE_SIZE)).astype(np.int64) & (_TABLE_SIZE - 1)
            wave = table[idx]
            env = np.minimum(t / np.float32(timbre.attack), np.float32(1.0))
            if timbre.sustain < 1.0:
                env *= np.float32(timbre.sustain) + np.float32(1.0 - timbre.sustain) * np.exp(
                    -t / np.float32(timbre.decay)
                )
            env *= np.exp(-np.maximum(t - np.float32(dur), 0) / np.float32(timbre.release))
            _add(buf, i0, wave * env * np.float32(velocity))
        cutoff = timbre.cutoff * brightness
        return _lowpass(buf, cutoff, sr).astype(np.float32)

    def chord_notes(self, rhythm: str) -> list[_Note]:
        """The comping part: voiced chords on the rhythm's hits ("comp": random, jazz)."""
        rng = self.rng
        inversion = int(rng.integers(0, 3))
        spread = rng.random() < 0.3
        strum = 0.0 if rhythm == "comp" else float(rng.uniform(0.0, 0.15))  # steps per voice
        notes = []
        for bar in range(self.n_bars):
            root, intervals = self.chords[bar]
            base = _place((self.key + root) % 12, self.recipe.chord_register - 6)
            voicing = sorted(base + i for i in intervals)
            if len(intervals) >= 3 and intervals[1] != 7:  # invert, not power chords
                for _ in range(inversion % len(voicing)):
                    voicing = sorted(voicing[1:] + [voicing[0] + 12])
                if spread and len(voicing) >= 3:
                    voicing = sorted([voicing[0] - 12] + voicing[2:] + [voicing[1]])
            if rhythm == "comp":
                slots = rng.choice(
                    [0, 2, 4, 6, 8, 10, 12, 14], size=rng.integers(2, 4), replace=False
                )
                hits = [
                    (int(s), int(rng.integers(1, 4)), float(rng.uniform(0.5, 1.0))) for s in slots
                ]
            else:
                hits = _parse_steps(rhythm)
            for step, length, velocity in hits:
                for j, midi in enumerate(voicing):
                    s = bar * STEPS_PER_BAR + step + j * strum
                    notes.append((s, length, midi, velocity * rng.uniform(0.85, 1.0), 0.0))
        return notes

    def bass_notes(self, style: str) -> list[_Note]:
        """The bass line, one bar at a time, in the given style."""
        rng = self.rng
        notes = []
        kick_steps = [i for i, ch in enumerate(self.drums.kick) if ch != "."] or [0, 8]
        for bar in range(self.n_bars):
            root, intervals = self.chords[bar]
            next_root, _ = self.chords[bar + 1]
            base = _place((self.key + root) % 12, 31)
            third, fifth = intervals[1], 7
            if style == "whole":
                line = [(0, 16, 0)]
            elif style == "half":
                line = [(0, 8, 0), (8, 8, int(rng.choice([0, 7, 12])))]
            elif style == "roots":
                line = [(0, 6, 0), (6, 2, 0), (8, 8, 0)]
            elif style == "eighths":
                line = [(s, 2, 0) for s in range(0, 16, 2)]
            elif style == "octaves":
                line = [(s, 2, 0 if s % 4 == 0 else 12) for s in range(0, 16, 2)]
            elif style == "root_fifth":
                line = [(0, 4, 0), (8, 4, fifth)]
                if rng.random() < 0.3:
                    line += [(4, 2, third), (12, 2, third)]
            elif style == "boogie":
                line = [
                    (s, 2, iv) for s, iv in zip(range(0, 16, 2), (0, third, 7, 9, 10, 9, 7, third))
                ]
            elif style == "walking":
                target = (next_root - root) % 12
                target = target - 12 if target > 6 else target
                n1 = int(rng.choice([third, 2, fifth]))
                n2 = int(rng.choice([fifth, third, 9 if third == 4 else 10]))
                line = [
                    (0, 4, 0),
                    (4, 4, n1),
                    (8, 4, n2),
                    (12, 4, target + int(rng.choice([-1, 1]))),
                ]
            elif style == "sub":
                stops = kick_steps + [16]
                line = [(s, max(2, stops[i + 1] - s), 0) for i, s in enumerate(kick_steps)]
            elif style == "chug":
                if sum(ch != "." for ch in self.drums.kick) >= 8:
                    line = [(s, 1, 0) for s in kick_steps]
                else:
                    line = [(s, 1, 0) for s in range(16)]
            elif style == "reggae":
                line = [
                    (0, 3, 0),
                    (3, 1, 0),
                    (6, 2, fifth),
                    (8, 2, 12),
                    (10, 2, fifth),
                    (12, 3, third),
                ]
            else:
                raise ValueError(f"unknown bass style {style!r}")
            for step, length, interval in line:
                notes.append(
                    (
                        bar * STEPS_PER_BAR + step,
                        length,
                        base + interval,
                        rng.uniform(0.75, 1.0),
                        0.0,
                    )
                )
        return notes

    def lead_notes(self, lead: LeadSpec) -> list[_Note]:
        """The lead: chord arpeggios, or a scale random walk (optionally a repeated motif)."""
        rng = self.rng
        root = _place(self.key, lead.register)
        notes = []
        if lead.kind == "arpeggio":
            length = int(rng.choice(lead.lengths))
            shape = int(rng.integers(3))
            for bar in range(self.n_bars):
                chord_root, intervals = self.chords[bar]
                tones = [root + chord_root + i for i in intervals[:3]]
                tones = tones + [t + 12 for t in tones]
                order = {0: tones, 1: tones[::-1], 2: tones + tones[-2:0:-1]}[shape]
                for k, step in enumerate(range(0, STEPS_PER_BAR, length)):
                    midi = order[k % len(order)]
                    notes.append((bar * 16 + step, length, midi, rng.uniform(0.6, 0.9), 0.0))
            return notes
        scale = lead.scale
        degree = int(rng.integers(len(scale)))
        motif: list[tuple[int, int, int, float]] = []
        motif_steps = lead.motif_bars * STEPS_PER_BAR
        pos = 0
        total = self.n_bars * STEPS_PER_BAR
        while pos < total:
            if motif_steps and pos >= motif_steps and motif:
                for step, length, deg, vel in motif:
                    s = pos + step
                    if s < total:
                        notes.append(self._scale_note(root, scale, deg, s, length, vel, lead))
                pos += motif_steps
                continue
            length = int(rng.choice(lead.lengths))
            if rng.random() < lead.density:
                degree = int(
                    np.clip(degree + rng.choice([-2, -1, -1, 1, 1, 2, 0]), -3, 2 * len(scale))
                )
                vel = float(rng.uniform(0.6, 1.0))
                if motif_steps and pos < motif_steps:
                    motif.append((pos, length, degree, vel))
                notes.append(self._scale_note(root, scale, degree, pos, length, vel, lead))
            pos += length
        return notes

    def _scale_note(
        self,
        root: int,
        scale: tuple[int, ...],
        degree: int,
        step: int,
        length: int,
        vel: float,
        lead: LeadSpec,
    ) -> _Note:
        octave, idx = divmod(degree, len(scale))
        midi = root + scale[idx] + 12 * octave
        glide = float(self.rng.choice([1.0, 2.0])) if self.rng.random() < lead.glide else 0.0
        return (step, length, midi, vel, glide)

    # ----------------------------------------------------------------- drums

    def render_drums(self) -> np.ndarray:
        """The drum part: one-shots placed on the pattern's steps, with an optional fill."""
        buf = np.zeros(self.n, dtype=np.float32)
        kit = self.recipe.kit
        pattern = self.drums
        if kit is None or pattern is NO_DRUMS:
            return buf
        rng = self.rng
        kick, snare, hat, aux = self._drum_sounds(kit, pattern)
        fill = rng.random() < 0.5
        for bar in range(self.n_bars):
            snare_line = pattern.snare
            if fill and bar % 4 == 3:
                snare_line = snare_line[:12] + "xxXX"
            for line, sound, level in (
                (pattern.kick, kick, kit.levels[0]),
                (snare_line, snare, kit.levels[1]),
                (pattern.hat, hat, kit.levels[2]),
                (pattern.aux, aux, kit.levels[2]),
            ):
                for step, _, velocity in _parse_steps(line):
                    gain = level * velocity * rng.uniform(0.85, 1.0)
                    _add(buf, self.sample(bar * STEPS_PER_BAR + step), sound * np.float32(gain))
        return buf

    def _drum_sounds(
        self, kit: DrumKit, pattern: DrumPattern
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        sr, rng = self.sr, self.rng
        # kick: pitch-swept sine plus a click
        n = int(5 * kit.kick_decay * sr)
        t = np.arange(n) / sr
        f0, f1 = kit.kick_hz
        tau = 0.035
        phase = 2 * np.pi * (f1 * t + (f0 - f1) * tau * (1 - np.exp(-t / tau)))
        kick = np.sin(phase) * np.exp(-t / kit.kick_decay)
        kick += kit.kick_click * rng.standard_normal(n) * np.exp(-t / 0.003)
        # snare: tone plus filtered noise
        n = int(5 * kit.snare_decay * sr)
        t = np.arange(n) / sr
        noise = _lowpass(_highpass(rng.standard_normal(n), 800, sr), kit.snare_cutoff, sr)
        noise /= np.max(np.abs(noise)) + 1e-9
        tone = np.sin(2 * np.pi * kit.snare_hz * t) if kit.snare_hz else np.zeros(n)
        snare = (kit.snare_noise * noise + (1 - kit.snare_noise) * tone) * np.exp(
            -t / kit.snare_decay
        )

        # cymbals: high-passed noise; a ride adds inharmonic partials and rings longer
        def metal(decay: float, ring: float) -> np.ndarray:
            m = int(5 * decay * sr)
            tt = np.arange(m) / sr
            sig = _highpass(_highpass(rng.standard_normal(m), 6000, sr), 6000, sr)
            sig /= np.max(np.abs(sig)) + 1e-9
            if ring:
                scale = rng.uniform(0.85, 1.15)
                partials = sum(
                    np.sin(2 * np.pi * f * scale * tt) for f in (3120.0, 4280.0, 5530.0, 7010.0)
                )
                sig = sig + ring * partials / 4
            return sig * np.exp(-tt / decay)

        if pattern.cymbal == "ride":
            hat = metal(0.45, 0.35)
            aux = 0.6 * metal(kit.hat_decay, 0.0)  # pedal hi-hat
        else:
            hat = metal(kit.hat_decay, 0.0)
            aux = metal(0.22, 0.0)  # open hi-hat
        f32 = np.float32
        return kick.astype(f32), snare.astype(f32), hat.astype(f32), aux.astype(f32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def render_clip(
    genre: str,
    seconds: float,
    sample_rate: int,
    rng: np.random.Generator,
    artist: ArtistTraits,
) -> np.ndarray:
    """Render one clip of ``genre`` by ``artist``: float32 mono, peak in [0.5, 0.9].

    All randomness (tempo, key, voicing, part gains, noise level, detune, ...) comes from
    ``rng``, so the same generator state gives the same samples.
    """
    recipe = _recipe(genre)
    if seconds <= 0:
        raise ValueError(f"clip length must be positive, got {seconds!r} s")
    if sample_rate < 8000:
        raise ValueError(f"sample rate must be at least 8000 Hz, got {sample_rate!r}")
    clip = _Clip(recipe, artist, seconds, sample_rate, rng)
    brightness = artist.brightness * float(np.exp(rng.normal(0.0, 0.1)))
    gains = [m * float(rng.lognormal(0.0, 0.2)) for m in artist.mix]

    drums = clip.render_drums()

    bass_style = artist.bass_style
    if rng.random() < 0.15:
        bass_style = str(rng.choice(recipe.bass_styles))
    bass = clip.render_notes(clip.bass_notes(bass_style), recipe.bass_timbre, brightness)

    rhythm_index = artist.chord_rhythm
    if rng.random() < 0.2:
        rhythm_index = int(rng.integers(len(recipe.chord_rhythms)))
    timbre_index = artist.chord_timbre
    if rng.random() < 0.2:
        timbre_index = int(rng.integers(len(recipe.chord_timbres)))
    chords = clip.render_notes(
        clip.chord_notes(recipe.chord_rhythms[rhythm_index]),
        recipe.chord_timbres[timbre_index],
        brightness,
    )

    lead = np.zeros(clip.n, dtype=np.float32)
    if recipe.lead is not None and rng.random() < artist.lead_probability:
        lead_timbre = recipe.lead.timbres[artist.lead_timbre % len(recipe.lead.timbres)]
        lead = clip.render_notes(clip.lead_notes(recipe.lead), lead_timbre, brightness)

    drive = float(rng.uniform(*artist.drive_range))
    if drive > 0.3:
        for part in (chords, lead):
            peak = float(np.max(np.abs(part)))
            if peak > 0:
                part[:] = np.tanh(drive * part / peak) / math.tanh(drive)
        chords[:] = _lowpass(chords, 5000 * brightness, sample_rate)
        lead[:] = _lowpass(lead, 5000 * brightness, sample_rate)

    mix = np.zeros(clip.n, dtype=np.float64)
    for part, gain in zip((drums, bass, chords, lead), gains):
        level = _rms(part)
        if level > 0 and gain > 0:
            mix += part * (gain / level)

    bandwidth = artist.bandwidth * float(rng.uniform(0.85, 1.15))
    mix = _lowpass(mix, bandwidth, sample_rate, order=2)
    mix = _highpass(mix, 30.0, sample_rate)
    snr_db = float(rng.uniform(*artist.snr_db))
    noise = rng.standard_normal(clip.n)
    noise = 0.5 * noise + 0.5 * _lowpass(noise, 1500.0, sample_rate) * 4.0
    noise_rms = _rms(noise)
    signal_rms = _rms(mix)
    if noise_rms > 0 and signal_rms > 0:
        mix += noise * (signal_rms / noise_rms) * 10.0 ** (-snr_db / 20.0)
    peak = float(np.max(np.abs(mix)))
    if peak == 0.0:
        return np.zeros(clip.n, dtype=np.float32)
    level = float(rng.uniform(0.5, 0.9))
    return (mix * (level / peak)).astype(np.float32)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] -> int16 (rounded, clipped)."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
