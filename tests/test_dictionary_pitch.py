"""Pitched examples get transposed atoms (engine/model/dictionary.py spectral_flatness,
transpose_atoms; engine/run/separate_dictionary.py example_atoms): the decision on a
generated drum loop and melody, the transposition on every backend, and a mix whose stem
plays a note its example never does."""
import numpy as np
import pytest
from helpers import rel_error

from randstyle import engine, kernels
from randstyle.engine.config import SeparateConfig
from randstyle.engine.demo import drum_loop, plucked_melody
from randstyle.engine.model import dictionary
from randstyle.engine.model.filters import hann_window
from randstyle.engine.run.separate_dictionary import example_atoms, magnitude
from randstyle.kernels import numpy_ref

SR = 16000


def _flatness(x: np.ndarray) -> float:
    b = kernels.get_backend("numpy")
    w = b.asarray(hann_window(4096).astype(np.float32))
    return dictionary.spectral_flatness(b, magnitude(b, x, w, 1024)[1])


def test_drums_are_unpitched_and_a_melody_pitched():
    """Measured: drum loops 0.05-0.09, the melody ~1e-4; the threshold 0.01 between."""
    drums = _flatness(drum_loop(3, SR, seed=2))
    melody = _flatness(plucked_melody(3, SR, seed=4))
    assert melody < dictionary.PITCHED_FLATNESS < drums, (melody, drums)
    cfg = SeparateConfig(components=4, dictionary_iter=5, dictionary_transpose=2,
                         mask_n_fft=4096, mask_hop_length=1024, backend="numpy")
    w = hann_window(4096).astype(np.float32)
    b = kernels.get_backend("numpy")
    rng = np.random.default_rng(0)
    # 4 atoms for the drums; for the melody 4 and 4 at each of -2, -1, +1, +2 semitones
    assert len(example_atoms(b, "d", drum_loop(3, SR, seed=2), cfg, w, rng)) == 4
    assert len(example_atoms(b, "m", plucked_melody(3, SR, seed=4), cfg, w, rng)) == 20


def _comb(f0_bin: float, n_bins: int = 1025) -> np.ndarray:
    """Harmonics of f0 (in bins) as narrow peaks, 1/h in level."""
    f = np.arange(n_bins)
    return sum(np.exp(-0.5 * (f - h * f0_bin) ** 2) / h for h in range(1, 8))


@pytest.mark.parametrize("name", ["numpy", "cpu", "cuda"])
def test_transposed_atoms_move_the_harmonics(name):
    """Up 7 semitones: every harmonic of an atom at f0 = 40 bins lands at 40 * 2^(7/12);
    the result is the numpy_ref backend's on every backend (cuda through its host emulation
    where no GPU is present); unit sum kept."""
    b = kernels.get_backend(name)
    D = np.stack([_comb(40.0), _comb(23.0)]).astype(np.float32)
    want = dictionary.transpose_atoms(numpy_ref, D, 7)
    got = b.to_numpy(dictionary.transpose_atoms(b, b.asarray(D), 7))
    assert got.dtype == np.float32 and rel_error(got, want) < 1e-6
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)
    peaks = [i for i in range(1, 1024) if got[0, i] > got[0, i - 1] and got[0, i] >= got[0, i + 1]
             and got[0, i] > 1e-3]
    expected = [h * 40 * 2 ** (7 / 12) for h in range(1, 8)]
    assert len(peaks) == 7 and np.max(np.abs(np.array(peaks) - expected)) <= 1.0
    down = b.to_numpy(dictionary.transpose_atoms(b, b.asarray(D), -12))
    assert abs(int(np.argmax(down[0])) - 20) <= 1  # an octave down: f0 halves


def _tone(midi: int, seconds: float, odd: bool) -> np.ndarray:
    """A harmonic tone: a pluck (all harmonics 1/h, decaying) or a held reed (odd ones)."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 440 * 2 ** ((midi - 69) / 12)
    hs = range(1, 16, 2) if odd else range(1, 16)
    x = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in hs if h * f0 < SR / 2)
    env = np.minimum(1, t / 0.01) * (np.ones_like(t) if odd else np.exp(-3 * t))
    return (x * env).astype(np.float32)


def _line(notes, odd: bool, seconds: float = 0.5) -> np.ndarray:
    return np.concatenate([_tone(n, seconds, odd) for n in notes])


def test_transposed_atoms_separate_a_note_the_example_lacks():
    """The pluck's stem plays A4 and B4 (69, 71) that its example (C5 E5 G5, 72-79) never
    does; the reed's example plays the pluck's notes. Without transposition the reed's atoms
    explain the pluck's low notes; with atoms transposed by up to 8 semitones the pluck's
    own do. Measured: the pluck's SDR 12.6 dB without, 20.9 with."""
    pluck = _line([69, 71, 69, 71, 72, 76], odd=False)
    reed = _line([57, 60, 64, 57, 60, 64], odd=True)
    examples = {"pluck": _line([72, 76, 79, 72, 76, 79], odd=False),
                "reed": _line([69, 71, 60, 64, 57, 62], odd=True)}
    mix = pluck + reed
    # the pluck's example is high (register 76): without --dictionary-high-down 12 its atoms
    # would reach only 2 semitones down (18.7 dB with the cut lifted, 14.7 with it)
    opts = dict(components=6, dictionary_iter=60, fit_iter=60, mask_n_fft=2048,
                mask_hop_length=512, sr=SR, backend="cpu", seed=0, dictionary_high_down=12)
    refs = {"pluck": pluck, "reed": reed}
    got = {}
    for n in (0, 8):
        _, report = engine.separate(mix, examples, references=refs, dictionary_transpose=n,
                                    **opts)
        got[n] = report["reference"]["pluck"]["sdr"]
    assert got[8] > got[0] + 3, got


def test_default_stft_fits_the_shortest_signal():
    """8192 / 2048 by default; halved until the shortest signal holds a frame (a 1 s example
    at 8000 Hz: 4096 / 1024); given sizes are kept."""
    from randstyle.engine.run.separate_dictionary import stft_sizes
    long, short = np.zeros(20000), np.zeros(8000)
    cfg = SeparateConfig()
    assert cfg.mask_n_fft is None
    assert (stft_sizes(cfg, [long, long]).mask_n_fft,
            stft_sizes(cfg, [long, long]).mask_hop_length) == (8192, 2048)
    assert (stft_sizes(cfg, [long, short]).mask_n_fft,
            stft_sizes(cfg, [long, short]).mask_hop_length) == (4096, 1024)
    given = SeparateConfig(mask_n_fft=1024)
    assert stft_sizes(given, [long, short]).mask_hop_length == 256
    assert SeparateConfig(method="statistics").mask_n_fft == 2048


def test_the_report_keeps_the_options_as_given_and_the_sizes_used():
    """The config holds the default as given (a batch compares it with its row: a resolved
    size there made every finished separation row 'another --mask-n-fft'); mask_stft says
    what ran."""
    x, y = plucked_melody(0.6, 8000), drum_loop(0.6, 8000)
    _, report = engine.separate(x + y, {"a": x, "b": y}, sr=8000, components=4,
                                dictionary_iter=5, fit_iter=5, backend="numpy")
    assert report["config"]["mask_n_fft"] is None
    assert report["mask_stft"] == {"n_fft": 4096, "hop_length": 1024}
