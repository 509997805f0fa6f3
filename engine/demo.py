"""Built-in demo clips, synthesized in code, so a first run needs no files."""
from __future__ import annotations

import numpy as np

A4 = 440.0


def _midi_hz(note: int) -> float:
    return A4 * 2.0 ** ((note - 69) / 12)


def plucked_melody(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """A plucked-string melody (decaying harmonics) on a pentatonic scale, 4 notes a second."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n)
    scale = [60, 62, 64, 67, 69, 72, 74, 76]
    note_len = sr // 4
    t = np.arange(2 * note_len) / sr
    for i, start in enumerate(range(0, n, note_len)):
        f0 = _midi_hz(scale[rng.integers(len(scale))] if i % 4 else scale[0])
        tone = sum(np.sin(2 * np.pi * h * f0 * t) * np.exp(-t * 3 * h) / h for h in range(1, 7))
        seg = tone[:n - start]
        x[start:start + len(seg)] += seg
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def drum_loop(seconds: float, sr: int, bpm: float = 120.0, seed: int = 1,
              variation: float = 0.0) -> np.ndarray:
    """Kick on the beats, snare on 2 and 4, closed hats on eighths, a sawtooth bass line.
    With ``variation`` > 0 each hit is humanized (timing jitter of up to ``variation`` x 20 ms,
    gain jitter of +-``variation`` x 50%, hats dropped with probability ``variation`` x 30%,
    a ghost snare now and then), so the loop is no longer exactly periodic; 0 is the plain
    loop."""
    rng = np.random.default_rng(seed)
    human = np.random.default_rng(seed + 1000)  # its own stream: variation 0 is unchanged
    n = int(seconds * sr)
    x = np.zeros(n)
    beat = int(sr * 60 / bpm)
    t = np.arange(beat) / sr

    def add(start: int, sound: np.ndarray, droppable: bool = False) -> None:
        if variation > 0:
            if droppable and human.random() < 0.3 * variation:
                return
            start = max(0, start + int(human.uniform(-1, 1) * variation * 0.02 * sr))
            sound = sound * (1 + human.uniform(-0.5, 0.5) * variation)
        seg = sound[:max(0, n - start)]
        x[start:start + len(seg)] += seg

    kick = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 12)
    snare = rng.standard_normal(beat) * np.exp(-t * 25) * 0.5
    hat_noise = np.diff(rng.standard_normal(beat + 1))  # differencing tilts noise to the treble
    hat = hat_noise * np.exp(-t * 120) * 0.2
    bass_notes = [40, 40, 43, 45]
    for i, start in enumerate(range(0, n, beat)):
        add(start, kick)
        if i % 2:
            add(start, snare)
        elif variation > 0 and human.random() < 0.2 * variation:
            add(start + beat // 2, 0.4 * snare)  # a ghost note
        add(start, hat, droppable=True)
        add(start + beat // 2, hat, droppable=True)
        f0 = _midi_hz(bass_notes[i % 4])
        saw = 2 * ((f0 * t) % 1.0) - 1
        add(start, 0.25 * saw * np.exp(-t * 4))
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def chord_pad(seconds: float, sr: int, seed: int = 2) -> np.ndarray:
    """A soft pad: slow-attack triads of detuned saws (low-passed by 1/h^2), a chord every 2 s."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n)
    chords = [(57, 60, 64), (53, 57, 60), (55, 59, 62), (52, 55, 59)]
    chord_len = 2 * sr
    t = np.arange(chord_len) / sr
    env = np.minimum(1.0, t / 0.3) * np.minimum(1.0, (t[::-1] + 1.0 / sr) / 0.2)
    for i, start in enumerate(range(0, n, chord_len)):
        tone = np.zeros(chord_len)
        for note in chords[(i + int(rng.integers(4))) % 4]:
            for detune in (-0.1, 0.1):
                f0 = _midi_hz(note + detune)
                tone += sum(np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi)) / h ** 2
                            for h in range(1, 9))
        seg = (tone * env)[:n - start]
        x[start:start + len(seg)] += seg
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)
