"""The style's timbre without its key (engine/run/style_keys.py, --style-transpose): its
harmonic targets taken over transposed stretches of the style barely move when the style
itself is played in another key, the rhythm targets keep the style as it is, and the
backends agree. No backward pass is new (only the targets change), so the objective's
gradient checks (test_gradcheck, test_spectrum) cover the terms."""
import numpy as np
import pytest
from helpers import SMALL

from randstyle import engine
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.spectrum import styles_band_power
from randstyle.engine.run.common import style_targets
from randstyle.engine.run.modes import transfer_objective
from randstyle.engine.run.separate_shared import transposed
from randstyle.engine.run.style_keys import transposed_styles

SR = SMALL["sr"]


def chorale(seconds: float, root: int = 57) -> np.ndarray:
    """Rich tones of a minor scale's chords, a note every 0.25 s: a key and a timbre."""
    t = np.arange(int(0.25 * SR)) / SR
    steps = [0, 3, 7, 12, 7, 3, 5, 8, 12, 8, 5, 2, 7, 11, 14, 11]
    notes = [root + steps[i % len(steps)] for i in range(int(seconds / 0.25))]
    out = [sum(np.sin(2 * np.pi * k * 440 * 2 ** ((m - 69) / 12) * t) * 0.7 ** k
               for k in range(1, 7)) * np.exp(-3 * t) for m in notes]
    return (0.2 * np.concatenate(out)).astype(np.float32)


def gram_gap(a: dict, b: dict) -> float:
    ga, gb = np.asarray(a["harmonic"][0].gram), np.asarray(b["harmonic"][0].gram)
    return float(np.linalg.norm(ga - gb) / np.linalg.norm(gb))


def test_a_style_a_few_semitones_away_gives_nearly_the_same_targets():
    """Plain Grams of the style and of the style 3 semitones up differ; over stretches
    transposed by -6..6 the two styles' Grams and band powers are far closer."""
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"), backend="cpu")
    style = chorale(12.0)
    moved = transposed(chorale(12.0 * 2 ** (3 / 12)), 3)  # as long, 3 semitones up
    plain = [style_targets(net, [(x, 1.0)], ("harmonic",), False) for x in (style, moved)]
    spread = [style_targets(net, transposed_styles([(x, 1.0)], 6, SR), ("harmonic",), False)
              for x in (style, moved)]
    before, after = gram_gap(*plain), gram_gap(*spread)
    assert after < 0.5 * before, (before, after)
    bands = engine.model.spectrum.band_matrix(SR, SMALL["n_fft"], 32)
    db = [10 * np.log10(styles_band_power(net, s, bands)) for s in
          ([(style, 1.0)], [(moved, 1.0)], transposed_styles([(style, 1.0)], 6, SR),
           transposed_styles([(moved, 1.0)], 6, SR))]
    assert np.max(np.abs(db[2] - db[3])) < 0.5 * np.max(np.abs(db[0] - db[1]))


def test_stretches_share_the_weight_and_cover_the_style():
    x = np.arange(20 * SR, dtype=np.float32)
    parts = transposed_styles([(x, 0.25), (x, 0.75)], 2, SR)
    assert len(parts) == 10 and sum(w for _, w in parts) == pytest.approx(1.0)
    middle = parts[2][0]  # the untransposed stretch: a piece of the style as it is
    assert len(middle) == 4 * SR and np.array_equal(middle, x[8 * SR:12 * SR])
    assert transposed_styles([(x, 1.0)], 0, SR) == [(x, 1.0)]


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_only_the_harmonic_targets_move_and_backends_agree(backend):
    """With --style-transpose the harmonic Gram and the band spectrum target change, the
    rhythm Gram is the plain style's; numpy_ref and cpu give the same targets."""
    style, content = chorale(6.0), chorale(2.0, root=62)

    def targets(backend: str, n: int) -> tuple:
        cfg = engine.TransferConfig(**SMALL, dtype="float64", backend=backend,
                                    spectrum_weight=1.0, style_transpose=n, progress=False)
        net = engine.Network(cfg.network_config(), backend=backend)
        obj = transfer_objective(cfg, net, [(style, 1.0)], content)
        return ({b: np.asarray(net.backend.to_numpy(t[0].gram))
                 for b, t in obj.style_targets.items()},
                np.asarray(net.backend.to_numpy(obj.spectrum.target)))
    (plain, sp0), (spread, sp1) = targets(backend, 0), targets(backend, 4)
    assert np.array_equal(plain["rhythm"], spread["rhythm"])
    assert not np.allclose(plain["harmonic"], spread["harmonic"], rtol=1e-3)
    assert not np.allclose(sp0, sp1, atol=1e-3)
    if backend == "cpu":
        (ref, ref_sp) = targets("numpy", 4)
        for b in ref:
            assert np.allclose(spread[b], ref[b], rtol=1e-9, atol=1e-12), b
        assert np.allclose(sp1, ref_sp, rtol=1e-9, atol=1e-12)


def test_style_transpose_out_of_range_is_refused():
    with pytest.raises(ParameterError, match="^style_transpose must be in 0..12"):
        engine.TransferConfig(style_transpose=13)
