"""The compiled kernels genreflow depends on, each run once on a known signal.

Every check takes the 30 s test signal (a 440 Hz tone, white noise and a 120 BPM click
track) and verifies what it computes against a fact about that signal, so a kernel that
runs but computes garbage is caught as well as one that crashes. Run one check in this
process with ``python -X faulthandler -m genreflow.kernels.checks NAME``: it prints one
JSON line and exits 0 (pass) or 3 (wrong result); a crash shows as a signal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22050
SECONDS = 30.0
TONE_HZ = 440.0
TEMPO_BPM = 120.0
EXIT_WRONG = 3


class WrongResult(AssertionError):
    """A kernel ran but its result contradicts the test signal."""


def reference_signal(sr: int = SAMPLE_RATE, seconds: float = SECONDS) -> np.ndarray:
    """Tone plus noise plus clicks, float32, deterministic."""
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(0)
    y = 0.4 * np.sin(2 * np.pi * TONE_HZ * t) + 0.02 * rng.standard_normal(t.size)
    period = round(sr * 60.0 / TEMPO_BPM)
    click = np.exp(-np.arange(400) / 40.0) * rng.standard_normal(400)
    for start in range(0, t.size - click.size, period):
        y[start : start + click.size] += 0.8 * click
    return y.astype(np.float32)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise WrongResult(message)


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)])


def check_tuning(y: np.ndarray) -> str:
    import librosa

    pitches, magnitudes = librosa.piptrack(y=y, sr=SAMPLE_RATE)
    strongest = pitches[magnitudes.argmax(axis=0), np.arange(pitches.shape[1])]
    median = float(np.median(strongest[strongest > 0]))
    tuning = float(librosa.estimate_tuning(y=y, sr=SAMPLE_RATE))
    _expect(abs(median - TONE_HZ) < 0.02 * TONE_HZ, f"piptrack median pitch {median:.1f} Hz")
    _expect(abs(tuning) <= 0.1, f"estimate_tuning {tuning:+.2f} semitones for an A440 tone")
    return f"piptrack {median:.1f} Hz, tuning {tuning:+.2f}"


def check_chroma(y: np.ndarray) -> str:
    import librosa

    chroma = librosa.feature.chroma_stft(y=y, sr=SAMPLE_RATE)
    pitch_class = int(chroma.mean(axis=1).argmax())
    _expect(pitch_class == 9, f"strongest chroma bin {pitch_class}, expected 9 (A)")
    return "strongest pitch class A"


def check_beat(y: np.ndarray) -> str:
    import librosa

    tempo, beats = librosa.beat.beat_track(y=y, sr=SAMPLE_RATE)
    tempo = float(np.atleast_1d(tempo)[0])
    _expect(abs(tempo - TEMPO_BPM) < 0.05 * TEMPO_BPM, f"tempo {tempo:.1f} BPM")
    _expect(len(beats) > 0.8 * SECONDS * TEMPO_BPM / 60, f"only {len(beats)} beats")
    return f"tempo {tempo:.1f} BPM, {len(beats)} beats"


def check_hpss(y: np.ndarray) -> str:
    import librosa

    stft = librosa.stft(y)
    harmonic, percussive = librosa.decompose.hpss(stft)
    error = float(np.abs(harmonic + percussive - stft).max() / np.abs(stft).max())
    _expect(error < 1e-4, f"harmonic + percussive differs from the input by {error:.2g}")
    ratio = float((np.abs(harmonic) ** 2).sum() / (np.abs(percussive) ** 2).sum())
    _expect(ratio > 1.0, f"harmonic/percussive energy {ratio:.2f}: the tone should dominate")
    return f"H+P error {error:.1g}, H/P energy {ratio:.1f}"


def check_mfcc(y: np.ndarray) -> str:
    import librosa
    import scipy.fft

    log_mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE))
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=20)
    reference = scipy.fft.dct(log_mel, axis=0, type=2, norm="ortho")[:20]
    _expect(np.allclose(mfcc, reference, atol=1e-3), "MFCCs differ from the DCT of the log-mel")
    rate = float(librosa.feature.zero_crossing_rate(y).mean())
    expected = float(np.mean(np.signbit(y[1:]) != np.signbit(y[:-1])))
    _expect(abs(rate - expected) < 0.05 * expected, f"zero-crossing rate {rate:.4f}")
    return f"MFCC = DCT(log-mel), zero-crossing rate {rate:.4f}"


def check_augment(y: np.ndarray) -> str:
    import librosa

    stretched = librosa.effects.time_stretch(y, rate=1.25)
    _expect(abs(stretched.size - y.size / 1.25) < 0.01 * y.size, "time_stretch length")
    shifted = librosa.effects.pitch_shift(y, sr=SAMPLE_RATE, n_steps=12)
    peak = _peak_hz(shifted, SAMPLE_RATE)
    _expect(abs(peak - 2 * TONE_HZ) < 0.01 * 2 * TONE_HZ, f"pitch_shift +12 peak at {peak:.1f} Hz")
    return f"time_stretch ×1.25 ok, pitch_shift +12 → {peak:.0f} Hz"


def check_soxr(y: np.ndarray) -> str:
    import soxr

    resampled = soxr.resample(y, SAMPLE_RATE, 16000, quality="HQ")
    expected = round(y.size * 16000 / SAMPLE_RATE)
    _expect(abs(resampled.size - expected) <= 1, f"{resampled.size} samples, not {expected}")
    peak = _peak_hz(resampled, 16000)
    _expect(abs(peak - TONE_HZ) < 1.0, f"tone at {peak:.2f} Hz after resampling")
    return f"22050 → 16000 Hz, tone at {peak:.1f} Hz"


def check_pywavelets(y: np.ndarray) -> str:
    import pywt

    signal = y.astype(np.float64)
    coefficients = pywt.wavedec(signal, "db4", level=6)
    rebuilt = pywt.waverec(coefficients, "db4")[: signal.size]
    error = float(np.abs(rebuilt - signal).max())
    _expect(error < 1e-8, f"db4 reconstruction error {error:.2g}")
    return f"db4 level 6 reconstruction error {error:.1g}"


def check_features(y: np.ndarray) -> str:
    """genreflow's own feature code (shared STFT, every kind) on the signal."""
    from genreflow.features.compute import FEATURE_KINDS, FeatureSpec, compute_features

    specs = [FeatureSpec(kind, kind, {}) for kind in FEATURE_KINDS]
    features = compute_features(y, SAMPLE_RATE, specs)
    bad = [name for name, values in features.items() if not np.isfinite(values).all()]
    _expect(not bad, f"non-finite values in {', '.join(bad)}")
    return f"{len(features)} feature kinds finite"


def check_sklearn(y: np.ndarray) -> str:
    from sklearn.datasets import make_blobs
    from sklearn.linear_model import LogisticRegression

    x, labels = make_blobs(n_samples=300, centers=3, cluster_std=0.5, random_state=0)
    model = LogisticRegression(max_iter=500).fit(x, labels)
    accuracy = float(model.score(x, labels))
    _expect(accuracy == 1.0, f"training accuracy {accuracy:.3f} on separable blobs")
    _expect(np.allclose(model.predict_proba(x).sum(axis=1), 1.0), "probabilities do not sum to 1")
    return "logistic regression separates 3 blobs"


def check_torch(y: np.ndarray, device: str = "cpu") -> str:
    """A Conv2d forward and backward on ``device`` against float64 references on the CPU."""
    import torch
    from scipy.signal import correlate2d

    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, 1, 32, 40, generator=generator, dtype=torch.float64)
    kernel = torch.randn(1, 1, 3, 5, generator=generator, dtype=torch.float64)
    reference = correlate2d(image[0, 0].numpy(), kernel[0, 0].numpy(), mode="valid")
    x = image.to(device=device, dtype=torch.float32).requires_grad_(True)
    w = kernel.to(device=device, dtype=torch.float32).requires_grad_(True)
    out = torch.nn.functional.conv2d(x, w)
    out.sum().backward()
    forward_error = float(np.abs(out.detach().cpu().double().numpy()[0, 0] - reference).max())
    _expect(forward_error < 1e-3, f"conv2d forward off by {forward_error:.2g} on {device}")
    # d(sum of outputs)/d(input): the kernel summed over every output position it touches
    expected_grad = correlate2d(np.ones(reference.shape), kernel[0, 0].numpy()[::-1, ::-1], "full")
    grad_error = float(np.abs(x.grad.cpu().double().numpy()[0, 0] - expected_grad).max())
    _expect(grad_error < 1e-3, f"conv2d input gradient off by {grad_error:.2g} on {device}")
    return f"conv2d forward/backward on {device} within {max(forward_error, grad_error):.1g}"


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[np.ndarray], str]
    package: str  # the distribution a wrong result or a crash points to first

    @property
    def numba(self) -> bool:
        """Whether the check runs numba kernels (librosa's, through genreflow's too)."""
        return self.package in ("librosa", "genreflow")


CHECKS: dict[str, Check] = {
    check.name: check
    for check in (
        Check("librosa tuning/piptrack", check_tuning, "librosa"),
        Check("librosa chroma", check_chroma, "librosa"),
        Check("librosa beat tracking", check_beat, "librosa"),
        Check("librosa HPSS", check_hpss, "librosa"),
        Check("librosa MFCC/zero crossings", check_mfcc, "librosa"),
        Check("librosa time stretch/pitch shift", check_augment, "librosa"),
        Check("genreflow features", check_features, "genreflow"),
        Check("soxr resampling", check_soxr, "soxr"),
        Check("PyWavelets", check_pywavelets, "PyWavelets"),
        Check("scikit-learn fit", check_sklearn, "scikit-learn"),
    )
}
TORCH_CHECK = "torch conv2d"


def torch_devices() -> list[str]:
    """The torch devices present here: cpu, and cuda / mps where available."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def environment_facts() -> dict:
    """Versions of the compiled stack and the CPU name numba compiles for."""
    from importlib import metadata

    import llvmlite.binding

    versions = {}
    for package in ("numpy", "numba", "llvmlite", "librosa", "torch", "scipy", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "versions": versions,
        "numba_cpu": llvmlite.binding.get_host_cpu_name(),
        "torch_devices": torch_devices(),
    }


def run_check(name: str) -> str:
    """Run one check by name (``torch conv2d [device]`` for torch) and return its detail."""
    y = reference_signal()
    if name.startswith(TORCH_CHECK):
        return check_torch(y, name.removeprefix(TORCH_CHECK).strip(" []") or "cpu")
    return CHECKS[name].run(y)


def main(argv: list[str]) -> int:
    if argv == ["--facts"]:
        print(json.dumps(environment_facts()))
        return 0
    (name,) = argv
    try:
        detail = run_check(name)
    except WrongResult as wrong:
        print(json.dumps({"status": "wrong result", "detail": str(wrong)}))
        return EXIT_WRONG
    print(json.dumps({"status": "pass", "detail": detail}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
