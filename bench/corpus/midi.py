"""Notes for bench/corpus/render.py: music21 score parts and a generated drum part, written as
Standard MIDI files and rendered to mono float32 audio by fluidsynth.

A note is (onset_s, duration_s, midi_pitch, velocity). Scores are played at a fixed tempo
(BPM) whatever their own markings, so that passages of given seconds are easy to cut.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from typing import List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

Note = Tuple[float, float, int, int]
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
BPM = 96.0
DRUM_CHANNEL = 9  # General MIDI channel 10
TICKS = 480  # per quarter; the file's tempo is 120 bpm, so one second is 960 ticks
_GAP_QL = 2.0  # rest between two scores played one after the other


def fluidsynth() -> Optional[str]:
    """Path of the fluidsynth program, or None (tests monkeypatch this to force the fallback)."""
    return shutil.which("fluidsynth")


def have_synth() -> bool:
    """Whether fluidsynth, the FluidR3 soundfont and music21 are all present."""
    if fluidsynth() is None or not os.path.exists(SOUNDFONT):
        return False
    try:
        import music21  # noqa: F401  (only probing that it imports)
    except ImportError:
        return False
    return True


def score_notes(names: Sequence[str], parts: Sequence[int], transpose: int = 0,
                seed: int = 0) -> List[Note]:
    """The notes of the given parts (indices) of music21 corpus scores played one after the
    other at BPM, ties merged, chords spread into notes, velocities humanized (seeded)."""
    from music21 import corpus
    rng = np.random.default_rng(seed)
    sec = 60.0 / BPM
    notes: List[Note] = []
    start_ql = 0.0
    for name in names:
        score = corpus.parse(name)
        for i in parts:
            for n in score.parts[i].stripTies().flatten().notes:
                for p in n.pitches:
                    vel = int(np.clip(78 + rng.normal(0, 8), 40, 120))
                    notes.append(((start_ql + float(n.offset)) * sec,
                                  float(n.quarterLength) * sec, p.midi + transpose, vel))
        start_ql += float(score.highestTime) + _GAP_QL
    return sorted(notes)


# General MIDI percussion keys
KICK, SNARE, HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 42, 46, 49, 51
TOMS = (50, 47, 45, 43)
_KICKS = [  # 16 sixteenths a bar: funk and rock kick figures
    (0, 8), (0, 6, 8), (0, 3, 8, 10), (0, 7, 10), (0, 8, 11), (0, 2, 8, 13)]


def drum_notes(seconds: float, seed: int, bpm: float = BPM) -> List[Note]:
    """A funk/rock kit part on a 16th grid: kick figures drawn per bar, snare backbeat with
    ghost notes, hats in 8ths or 16ths (open now and then), a crash opening each 4-bar phrase,
    and a tom/snare fill closing it. Timing and velocity humanized; fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    six = 60.0 / bpm / 4
    notes: List[Note] = []

    def hit(step: int, key: int, vel: float) -> None:
        t = max(0.0, step * six + rng.normal(0, 0.004))
        notes.append((t, six, key, int(np.clip(vel + rng.normal(0, 6), 20, 127))))

    sixteenths = rng.random() < 0.5
    for bar in range(int(np.ceil(seconds / (16 * six)))):
        b = bar * 16
        fill = bar % 4 == 3
        if bar % 4 == 0:
            hit(b, CRASH, 100)
        if bar % 2 == 0:
            sixteenths = rng.random() < 0.5
        for k in _KICKS[int(rng.integers(len(_KICKS)))]:
            if not (fill and k >= 8):
                hit(b + k, KICK, 105 if k == 0 else 90)
        for s in (4, 12):
            hit(b + s, SNARE, 110)
        for s in range(16 if not fill else 8):
            if s % 2 == 0 or sixteenths:
                key = OPEN_HAT if (s == 14 and rng.random() < 0.3) else HAT
                hit(b + s, key, 85 if s % 4 == 0 else 60)
            if s % 4 in (1, 3) and rng.random() < 0.15:
                hit(b + s, SNARE, 35)  # ghost note
        if fill:
            for s in range(8, 16):
                hit(b + s, TOMS[(s - 8) // 2] if rng.random() < 0.7 else SNARE, 95)
    return sorted(notes)


def passage(notes: Sequence[Note], start: float, seconds: float) -> List[Note]:
    """The notes with onsets in [start, start + seconds), shifted to start at 0."""
    return [(t - start, d, p, v) for t, d, p, v in notes if start <= t < start + seconds]


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append((n & 0x7F) | 0x80)
    return bytes(reversed(out))


def midi_bytes(notes: Sequence[Note], program: int, channel: int, end_s: float) -> bytes:
    """A format-0 Standard MIDI file: the program change, the notes, the end at ``end_s``."""
    tick = 2 * TICKS  # ticks per second at the file's 120 bpm
    events = []  # (tick, order, bytes): note-offs (order 0) before note-ons at the same tick
    for t, d, p, v in notes:
        if 0 <= p < 128:
            on = int(round(t * tick))
            events.append((on, 1, bytes([0x90 | channel, p, v])))
            events.append((max(on + 1, int(round((t + d) * tick))), 0,
                           bytes([0x80 | channel, p, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    body = b"\x00\xff\x51\x03" + (500000).to_bytes(3, "big")  # 120 bpm
    body += b"\x00" + bytes([0xC0 | channel, program])
    now = 0
    for at, _, msg in events:
        body += _varlen(at - now) + msg
        now = at
    body += _varlen(max(0, int(end_s * tick) - now)) + b"\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS)
            + b"MTrk" + struct.pack(">I", len(body)) + body)


def render(notes: Sequence[Note], program: int, seconds: float, sr: int,
           drums: bool = False) -> np.ndarray:
    """The notes played by GM ``program`` (or the drum kit), mono float32 of exactly
    ``seconds`` x sr samples; fluidsynth's reverb and chorus off so stems stay dry."""
    channel = DRUM_CHANNEL if drums else 0
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        mid, wav = os.path.join(tmp, "in.mid"), os.path.join(tmp, "out.wav")
        with open(mid, "wb") as f:
            f.write(midi_bytes(notes, 0 if drums else program, channel, seconds + 0.5))
        subprocess.run([fluidsynth(), "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5",
                        "-r", str(sr), "-O", "float", "-T", "wav", "-F", wav, SOUNDFONT, mid],
                       check=True, capture_output=True)
        x, got_sr = sf.read(wav, dtype="float32", always_2d=True)
    if got_sr != sr:
        raise RuntimeError(f"fluidsynth wrote {got_sr} Hz, asked for {sr}")
    n = int(round(seconds * sr))
    y = np.zeros(n, dtype=np.float32)
    mono = x.mean(axis=1)[:n]
    y[:len(mono)] = mono
    return y
