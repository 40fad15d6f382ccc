"""The demo's per-genre synthesis recipes: data, rendered by :mod:`genreflow.demo.synth`.

:data:`RECIPES` holds one :class:`GenreRecipe` per GTZAN genre, built from the tables
above it: instrument timbres (:class:`Timbre`), drum kits (:class:`DrumKit`), one-bar
drum patterns on the 16-step grid (:class:`DrumPattern`) and scales (semitones above the
key root). The record types are frozen dataclasses without behaviour. Changing a value
here changes the demo dataset's audio.
"""

from __future__ import annotations

from dataclasses import dataclass

STEPS_PER_BAR = 16
_REST = "." * STEPS_PER_BAR


# --------------------------------------------------------------------------- record types


@dataclass(frozen=True)
class Timbre:
    """A pitched instrument: partial amplitudes, envelope and bus brightness."""

    harmonics: tuple[float, ...]  # amplitudes of partials 1, 2, 3, ...
    attack: float  # seconds
    decay: float  # seconds, exponential decay time constant towards ``sustain``
    sustain: float  # level held while the note is on (0 = plucked/struck)
    release: float  # seconds, exponential decay after note-off
    cutoff: float  # Hz, one-pole low-pass on the instrument's bus
    vibrato: float = 0.0  # depth in cents (at 5.5 Hz)


@dataclass(frozen=True)
class DrumKit:
    """Parameters of the synthesised kick, snare and cymbals."""

    kick_hz: tuple[float, float]  # pitch sweep start -> end
    kick_decay: float
    kick_click: float
    snare_hz: float
    snare_decay: float
    snare_noise: float  # 0 = pure tone, 1 = pure noise
    snare_cutoff: float  # Hz; low values give a brush-like snare
    hat_decay: float
    levels: tuple[float, float, float] = (1.0, 0.8, 0.35)  # kick, snare, cymbals


@dataclass(frozen=True)
class DrumPattern:
    """One bar of drums on the 16-step grid.

    Each string has one character per step: ``.`` rest, ``g`` ghost, ``x`` hit, ``X``
    accent. ``cymbal`` says whether ``hat`` is a closed hi-hat or a ride; ``aux`` is an
    open hi-hat over a closed one, or the pedal hi-hat under a ride. ``swing_unit`` is 8
    (swung eighths) or 16 (swung sixteenths).
    """

    name: str
    kick: str
    snare: str
    hat: str
    cymbal: str = "hat"
    aux: str = _REST
    swing_unit: int = 8


@dataclass(frozen=True)
class LeadSpec:
    """A lead line: a random walk over ``scale`` (``melody``) or chord arpeggios."""

    kind: str  # "melody" | "arpeggio"
    scale: tuple[int, ...]  # semitones above the key root
    lengths: tuple[int, ...]  # note lengths in steps to draw from
    density: float  # probability that a slot sounds (melody)
    register: int  # MIDI note of the lowest key root used
    timbres: tuple[Timbre, ...]
    probability: float  # chance that a clip has a lead at all
    motif_bars: int = 0  # >0: the line repeats every so many bars
    glide: float = 0.0  # probability of a bend into a note


@dataclass(frozen=True)
class GenreRecipe:
    """Everything that makes a genre: the table :data:`RECIPES` holds one per genre."""

    tempo: tuple[float, float]  # BPM
    keys: tuple[int, ...]  # favoured key roots (pitch classes, 0 = C)
    swing: tuple[float, float]  # 0 straight .. 1/3 triplet feel
    drums: tuple[DrumPattern, ...]  # options (repeats weight them)
    kit: DrumKit | None
    bass_styles: tuple[str, ...]
    bass_timbre: Timbre
    progressions: tuple[tuple[str, ...], ...]  # one chord per bar
    chord_rhythms: tuple[str, ...]  # step strings ('-' holds) or "comp"
    chord_timbres: tuple[Timbre, ...]
    chord_register: int  # MIDI note around which voicings sit
    lead: LeadSpec | None
    drive: tuple[float, float]  # tanh drive of the chord/lead bus (0 = clean)
    mix: tuple[float, float, float, float]  # drums, bass, chords, lead
    bandwidth: tuple[float, float]  # Hz, recording low-pass
    snr_db: tuple[float, float]
    humanize_ms: float  # timing jitter


# --------------------------------------------------------------------------- instruments

_SAW = tuple(1.0 / k for k in range(1, 25))
PIANO = Timbre((1, 0.55, 0.35, 0.22, 0.14, 0.09, 0.06, 0.04, 0.03), 0.003, 0.5, 0.0, 0.15, 5000)
EPIANO = Timbre((1, 0.25, 0.06, 0.12, 0.02, 0.03), 0.004, 0.9, 0.15, 0.2, 2800)
ORGAN = Timbre((1, 0.8, 0.15, 0.6, 0.0, 0.35, 0.0, 0.25, 0.0, 0.1), 0.01, 1.0, 1.0, 0.04, 4500)
STRINGS = Timbre(_SAW[:16], 0.25, 1.0, 1.0, 0.35, 3000, vibrato=12)
CLEAN_GTR = Timbre((1, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.07), 0.002, 0.3, 0.05, 0.1, 6000)
WARM_GTR = Timbre((1, 0.5, 0.3, 0.2, 0.1, 0.06), 0.003, 0.4, 0.05, 0.12, 2500)
SKANK_GTR = Timbre((1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2), 0.001, 0.07, 0.0, 0.04, 7000)
STAB = Timbre((1, 0.9, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2), 0.002, 0.12, 0.0, 0.05, 6500)
DIST_GTR = Timbre(_SAW[:20], 0.004, 1.2, 0.6, 0.08, 4500)
MUTED_GTR = Timbre(_SAW[:20], 0.002, 0.09, 0.1, 0.03, 3500)
BASS = Timbre((1, 0.5, 0.25, 0.12, 0.06, 0.03), 0.004, 0.5, 0.35, 0.06, 1200)
UPRIGHT = Timbre((1, 0.45, 0.15, 0.06, 0.02), 0.006, 0.3, 0.1, 0.08, 900)
SYNTH_BASS = Timbre(_SAW[:12], 0.003, 0.18, 0.3, 0.04, 1600)
SUB808 = Timbre((1, 0.08, 0.02), 0.004, 0.9, 0.5, 0.15, 400)
CELLO = Timbre(_SAW[:12], 0.15, 1.0, 1.0, 0.3, 1500, vibrato=10)
LEAD_GTR = Timbre(_SAW[:18], 0.005, 1.5, 0.7, 0.1, 4000, vibrato=15)
TWANG = Timbre((1, 0.9, 0.7, 0.6, 0.55, 0.45, 0.35, 0.3, 0.25, 0.2), 0.001, 0.45, 0.1, 0.1, 8000)
FIDDLE = Timbre(_SAW[:14], 0.04, 1.0, 0.9, 0.08, 4500, vibrato=25)
FLUTE = Timbre((1, 0.35, 0.12, 0.05), 0.05, 1.0, 0.9, 0.15, 4000, vibrato=18)
SAX = Timbre(
    (1, 0.75, 0.6, 0.5, 0.4, 0.3, 0.22, 0.15, 0.1), 0.03, 0.8, 0.75, 0.06, 2600, vibrato=14
)
VOCAL = Timbre((1, 0.55, 0.7, 0.25, 0.12, 0.1, 0.05), 0.04, 1.0, 0.9, 0.1, 3500, vibrato=28)
BELL = Timbre((1, 0.0, 0.3, 0.0, 0.12, 0.0, 0.05), 0.002, 0.6, 0.0, 0.3, 5000)
SYNTH_LEAD = Timbre(_SAW[:10], 0.01, 0.5, 0.6, 0.08, 3500, vibrato=8)

ACOUSTIC = DrumKit((110, 55), 0.18, 0.3, 190, 0.12, 0.7, 6000, 0.04)
COUNTRY_KIT = DrumKit((100, 55), 0.15, 0.2, 200, 0.1, 0.6, 3500, 0.035, (0.9, 0.6, 0.3))
TIGHT = DrumKit((150, 60), 0.09, 0.9, 230, 0.1, 0.8, 8000, 0.03, (1.0, 0.9, 0.35))
DISCO_KIT = DrumKit((100, 48), 0.22, 0.2, 200, 0.16, 0.85, 7000, 0.035, (1.0, 0.7, 0.45))
K808 = DrumKit((75, 42), 0.55, 0.1, 180, 0.16, 0.9, 7000, 0.025, (1.2, 0.8, 0.3))
BRUSH = DrumKit((90, 55), 0.14, 0.05, 0, 0.2, 1.0, 2500, 0.05, (0.5, 0.5, 0.45))
RIM = DrumKit((95, 50), 0.3, 0.15, 480, 0.04, 0.35, 6000, 0.04, (1.0, 0.6, 0.3))

# --------------------------------------------------------------------------- drum patterns

NO_DRUMS = DrumPattern("none", _REST, _REST, _REST)
SHUFFLE = DrumPattern("shuffle", "x.......x.......", "....X.......X...", "x.x.x.x.x.x.x.x.")
SHUFFLE_RIDE = DrumPattern(
    "shuffle ride", "x.....x.x.......", "....X.......X...", "x.x.x.x.x.x.x.x.", "ride"
)
BOOM_CHICK = DrumPattern("boom-chick", "X.......X.......", "....x.......x...", "x.x.x.x.x.x.x.x.")
TRAIN = DrumPattern("train beat", "x.......x.......", "ggggXgggggggXggg", _REST)
FOUR_FLOOR = DrumPattern(
    "four-on-the-floor",
    "X...X...X...X...",
    "....X.......X...",
    "x...x...x...x...",
    aux="..x...x...x...x.",
)
FOUR_FLOOR_16 = DrumPattern(
    "four-on-the-floor 16ths", "X...X...X...X...", "....X.......X...", "xgxgxgxgxgxgxgxg"
)
BOOM_BAP = DrumPattern(
    "boom-bap", "X......x..X.....", "....X.......X...", "xgxgxgxgxgxgxgxg", swing_unit=16
)
BOOM_BAP_2 = DrumPattern(
    "boom-bap 2", "X..x......X.....", "....X.......X..g", "x.x.x.x.x.x.x.x.", swing_unit=16
)
JAZZ_RIDE = DrumPattern(
    "swung ride",
    "g.......g.......",
    "..........g.....",
    "x...x.x.x...x.x.",
    "ride",
    aux="....x.......x...",
)
JAZZ_RIDE_2 = DrumPattern(
    "swung ride 2",
    "........g.......",
    "......g.......g.",
    "x...x.x.x...x.x.",
    "ride",
    aux="....x.......x...",
)
DOUBLE_KICK = DrumPattern(
    "double-kick 16ths", "Xxxxxxxxxxxxxxxx", "....X.......X...", "x.x.x.x.x.x.x.x."
)
GALLOP = DrumPattern("gallop", "x.xxx.xxx.xxx.xx", "....X.......X...", "x.x.x.x.x.x.x.x.")
EIGHTH_KICK = DrumPattern(
    "eighth kicks", "x.x.x.x.x.x.x.x.", "....X.......X...", "x.x.x.x.x.x.x.x."
)
ROCK = DrumPattern("backbeat", "x.......x.x.....", "....X.......X...", "x.x.x.x.x.x.x.x.")
ROCK_2 = DrumPattern(
    "backbeat 2",
    "x......xx.......",
    "....X.......X...",
    "x.x.x.x.x.x.x.x.",
    aux="..............x.",
)
POP_BEAT = DrumPattern("pop backbeat", "x.....x.x.......", "....X.......X...", "xgxgxgxgxgxgxgxg")
POP_BEAT_2 = DrumPattern(
    "pop backbeat 2", "x..x....x.x.....", "....X.......X...", "x.x.x.x.x.x.x.x."
)
ONE_DROP = DrumPattern("one-drop", "........X.......", "........X.......", "x.x.x.x.x.x.x.x.")
STEPPERS = DrumPattern(
    "steppers",
    "X...X...X...X...",
    "........x.......",
    "x.x.x.x.x.x.x.x.",
    aux="..x...x...x...x.",
)

# --------------------------------------------------------------------------- scales

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
MAJOR_PENT = (0, 2, 4, 7, 9)
MINOR_PENT = (0, 3, 5, 7, 10)
BLUES_SCALE = (0, 3, 5, 6, 7, 10)
BEBOP = (0, 2, 4, 5, 7, 9, 10, 11)
ALL_KEYS = tuple(range(12))

# --------------------------------------------------------------------------- the recipes

RECIPES: dict[str, GenreRecipe] = {
    "blues": GenreRecipe(
        tempo=(66, 126),
        keys=(4, 9, 7, 2, 0),
        swing=(0.2, 0.33),
        drums=(SHUFFLE, SHUFFLE, SHUFFLE_RIDE),
        kit=ACOUSTIC,
        bass_styles=("boogie", "boogie", "walking", "root_fifth"),
        bass_timbre=BASS,
        progressions=(
            ("I7", "IV7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7"),
            ("I7", "I7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "I7"),
            ("i7", "iv7", "i7", "i7", "iv7", "iv7", "i7", "i7", "bVI7", "V7", "i7", "V7"),
        ),
        chord_rhythms=("X---x-..X---x-..", "X-------X-------", "x-x-x-x-x-x-x-x-"),
        chord_timbres=(WARM_GTR, ORGAN, PIANO),
        chord_register=60,
        lead=LeadSpec(
            "melody", BLUES_SCALE, (2, 2, 4, 6, 8), 0.55, 62, (LEAD_GTR, SAX), 0.75, glide=0.3
        ),
        drive=(0.5, 3.0),
        mix=(0.8, 0.8, 0.7, 0.9),
        bandwidth=(3500, 8000),
        snr_db=(18, 35),
        humanize_ms=8,
    ),
    "classical": GenreRecipe(
        tempo=(56, 112),
        keys=(0, 2, 7, 9, 5, 10, 3, 4),
        swing=(0.0, 0.0),
        drums=(NO_DRUMS,),
        kit=None,
        bass_styles=("whole", "half"),
        bass_timbre=CELLO,
        progressions=(
            ("I", "IV", "V", "I"),
            ("I", "vi", "ii", "V"),
            ("i", "iv", "V", "i"),
            ("I", "V", "vi", "iii", "IV", "I", "IV", "V"),
            ("i", "bVI", "iv", "V"),
        ),
        chord_rhythms=("X---------------", "X-------X-------"),
        chord_timbres=(STRINGS, STRINGS, PIANO),
        chord_register=62,
        lead=LeadSpec("arpeggio", MAJOR, (2, 1), 1.0, 67, (FLUTE, PIANO, FIDDLE), 0.8),
        drive=(0.0, 0.0),
        mix=(0.0, 0.6, 1.0, 0.8),
        bandwidth=(4000, 9000),
        snr_db=(22, 40),
        humanize_ms=15,
    ),
    "country": GenreRecipe(
        tempo=(88, 152),
        keys=(7, 2, 9, 4, 0),
        swing=(0.0, 0.22),
        drums=(BOOM_CHICK, BOOM_CHICK, TRAIN, SHUFFLE),
        kit=COUNTRY_KIT,
        bass_styles=("root_fifth", "root_fifth", "walking"),
        bass_timbre=BASS,
        progressions=(
            ("I", "IV", "V", "I"),
            ("I", "I", "IV", "V7"),
            ("I", "V7", "I", "IV", "I", "V7", "I", "I"),
            ("I7", "IV7", "I7", "V7"),
        ),
        chord_rhythms=("....X-.x....X-.x", "x.x.X.x.x.x.X.x.", "X---x-x-X---x-x-"),
        chord_timbres=(CLEAN_GTR, CLEAN_GTR, PIANO),
        chord_register=60,
        lead=LeadSpec(
            "melody", MAJOR_PENT, (1, 2, 2, 4), 0.6, 64, (TWANG, FIDDLE), 0.7, glide=0.35
        ),
        drive=(0.0, 1.5),
        mix=(0.7, 0.8, 0.9, 0.8),
        bandwidth=(5000, 10000),
        snr_db=(25, 40),
        humanize_ms=6,
    ),
    "disco": GenreRecipe(
        tempo=(110, 132),
        keys=ALL_KEYS,
        swing=(0.0, 0.05),
        drums=(FOUR_FLOOR, FOUR_FLOOR_16),
        kit=DISCO_KIT,
        bass_styles=("octaves", "octaves", "eighths"),
        bass_timbre=SYNTH_BASS,
        progressions=(
            ("i7", "iv7", "i7", "iv7"),
            ("ii7", "V7"),
            ("Imaj7", "ii7"),
            ("vi7", "ii7", "V7", "Imaj7"),
            ("I", "vi", "IV", "V"),
        ),
        chord_rhythms=("..x...x...x...x.", "x.x..x.x..x.x..x", "X-------X-------"),
        chord_timbres=(STAB, STRINGS, EPIANO),
        chord_register=64,
        lead=LeadSpec(
            "melody", DORIAN, (2, 4, 4, 8), 0.5, 70, (STRINGS, SYNTH_LEAD), 0.5, motif_bars=2
        ),
        drive=(0.0, 0.8),
        mix=(1.0, 0.9, 0.7, 0.5),
        bandwidth=(7000, 10500),
        snr_db=(28, 45),
        humanize_ms=2,
    ),
    "hiphop": GenreRecipe(
        tempo=(80, 100),
        keys=ALL_KEYS,
        swing=(0.1, 0.3),
        drums=(BOOM_BAP, BOOM_BAP_2),
        kit=K808,
        bass_styles=("sub", "sub", "whole"),
        bass_timbre=SUB808,
        progressions=(
            ("i7", "bVImaj7"),
            ("i", "iv", "bVI", "V"),
            ("i7", "i7", "iv7", "iv7"),
            ("i9", "bVII"),
        ),
        chord_rhythms=("X---------------", "X-----x-----x---", "X-------X-------"),
        chord_timbres=(EPIANO, STRINGS, PIANO),
        chord_register=60,
        lead=LeadSpec(
            "melody", MINOR_PENT, (2, 4, 6), 0.35, 70, (BELL, SYNTH_LEAD), 0.5, motif_bars=1
        ),
        drive=(0.0, 1.2),
        mix=(1.2, 1.0, 0.5, 0.4),
        bandwidth=(6000, 10500),
        snr_db=(25, 40),
        humanize_ms=4,
    ),
    "jazz": GenreRecipe(
        tempo=(90, 190),
        keys=(5, 10, 3, 8, 0, 7),
        swing=(0.22, 0.33),
        drums=(JAZZ_RIDE, JAZZ_RIDE_2),
        kit=BRUSH,
        bass_styles=("walking", "walking", "walking", "root_fifth"),
        bass_timbre=UPRIGHT,
        progressions=(
            ("ii7", "V7", "Imaj7", "Imaj7"),
            ("ii9", "V9", "Imaj7", "VI7"),
            ("Imaj7", "vi7", "ii7", "V7"),
            ("iii7", "VI7", "ii7", "V7"),
            ("I7", "IV7", "I7", "I7", "IV7", "IV7", "I7", "VI7", "ii7", "V7", "I7", "V7"),
        ),
        chord_rhythms=("comp",),
        chord_timbres=(PIANO, EPIANO, WARM_GTR),
        chord_register=60,
        lead=LeadSpec("melody", BEBOP, (2, 2, 2, 4), 0.7, 62, (SAX, PIANO), 0.65),
        drive=(0.0, 0.0),
        mix=(0.6, 0.9, 0.8, 0.9),
        bandwidth=(3500, 8500),
        snr_db=(18, 38),
        humanize_ms=10,
    ),
    "metal": GenreRecipe(
        tempo=(100, 200),
        keys=(4, 2, 9, 11),
        swing=(0.0, 0.0),
        drums=(DOUBLE_KICK, DOUBLE_KICK, GALLOP, EIGHTH_KICK),
        kit=TIGHT,
        bass_styles=("chug", "chug", "eighths"),
        bass_timbre=BASS,
        progressions=(
            ("i5", "bVI5", "bVII5", "i5"),
            ("i5", "bII5", "i5", "bVII5"),
            ("i5", "i5", "bVI5", "V5"),
            ("i5", "iv5", "bVI5", "bVII5"),
        ),
        chord_rhythms=(
            "xxxxxxxxxxxxxxxx",
            "x.xxx.xxx.xxx.xx",
            "X-------x-x-x-x-",
            "x-x-x-x-x-x-x-x-",
        ),
        chord_timbres=(MUTED_GTR, DIST_GTR),
        chord_register=46,
        lead=LeadSpec("melody", MINOR, (1, 1, 2, 2), 0.7, 62, (LEAD_GTR,), 0.4),
        drive=(4.0, 16.0),
        mix=(1.0, 0.8, 1.1, 0.6),
        bandwidth=(7000, 10500),
        snr_db=(25, 40),
        humanize_ms=2,
    ),
    "pop": GenreRecipe(
        tempo=(88, 128),
        keys=ALL_KEYS,
        swing=(0.0, 0.08),
        drums=(POP_BEAT, POP_BEAT_2, FOUR_FLOOR),
        kit=DISCO_KIT,
        bass_styles=("eighths", "roots", "octaves"),
        bass_timbre=BASS,
        progressions=(
            ("I", "V", "vi", "IV"),
            ("vi", "IV", "I", "V"),
            ("I", "vi", "IV", "V"),
            ("Iadd9", "V", "vi", "IV"),
        ),
        chord_rhythms=("x.x.x.x.x.x.x.x.", "X-------X-------", "..x...x...x...x."),
        chord_timbres=(PIANO, EPIANO, STRINGS, CLEAN_GTR),
        chord_register=62,
        lead=LeadSpec(
            "melody", MAJOR, (2, 2, 4, 4, 6, 8), 0.7, 64, (VOCAL, SYNTH_LEAD), 0.85, motif_bars=2
        ),
        drive=(0.0, 1.5),
        mix=(0.9, 0.8, 0.7, 1.0),
        bandwidth=(7000, 10500),
        snr_db=(28, 45),
        humanize_ms=3,
    ),
    "reggae": GenreRecipe(
        tempo=(62, 92),
        keys=(7, 9, 2, 0, 5),
        swing=(0.05, 0.2),
        drums=(ONE_DROP, ONE_DROP, STEPPERS),
        kit=RIM,
        bass_styles=("reggae", "reggae", "roots"),
        bass_timbre=BASS,
        progressions=(
            ("I", "IV"),
            ("i", "bVII"),
            ("I", "IV", "V", "IV"),
            ("I", "I", "IV", "IV"),
            ("i", "iv"),
        ),
        chord_rhythms=("....x.......x...", "..x...x...x...x.", "....x.x.....x.x."),
        chord_timbres=(SKANK_GTR, SKANK_GTR, ORGAN),
        chord_register=62,
        lead=LeadSpec(
            "melody", MAJOR_PENT, (2, 4, 4, 8), 0.45, 64, (ORGAN, VOCAL), 0.5, motif_bars=2
        ),
        drive=(0.0, 0.8),
        mix=(0.8, 1.3, 0.7, 0.5),
        bandwidth=(5000, 9500),
        snr_db=(22, 40),
        humanize_ms=5,
    ),
    "rock": GenreRecipe(
        tempo=(95, 165),
        keys=(4, 9, 2, 7, 0),
        swing=(0.0, 0.06),
        drums=(ROCK, ROCK_2, ROCK, EIGHTH_KICK),
        kit=ACOUSTIC,
        bass_styles=("eighths", "eighths", "roots"),
        bass_timbre=BASS,
        progressions=(
            ("I5", "bVII5", "IV5", "I5"),
            ("I5", "IV5", "V5", "IV5"),
            ("i5", "bVII5", "bVI5", "bVII5"),
            ("I", "IV", "V", "I"),
        ),
        chord_rhythms=("x-x-x-x-x-x-x-x-", "X-------X-------", "X--x--x-X--x--x-"),
        chord_timbres=(DIST_GTR, DIST_GTR, CLEAN_GTR),
        chord_register=50,
        lead=LeadSpec("melody", MINOR_PENT, (1, 2, 2, 4), 0.6, 62, (LEAD_GTR,), 0.5, glide=0.3),
        drive=(2.0, 8.0),
        mix=(1.0, 0.8, 1.0, 0.7),
        bandwidth=(6000, 10500),
        snr_db=(25, 40),
        humanize_ms=4,
    ),
}
