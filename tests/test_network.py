"""The network's branches: residual blocks, the Gram's length invariance, the mel content
branch."""
import numpy as np
from helpers import SMALL, rel_error

from randstyle import engine
from randstyle.engine.demo import drum_loop

SR = SMALL["sr"]


def test_residual_stack_grams_per_layer():
    # The paper's widths: 4096 filters for one rhythm layer, 2048 with residual blocks.
    assert engine.NetworkConfig().rhythm_channels == 4096
    assert engine.NetworkConfig(n_resid=2).rhythm_channels == 2048
    net = engine.Network(engine.NetworkConfig(**{**SMALL, "rhythm_filters": 32}, n_resid=3,
                                              resid_kernel_size=5))
    grams = net.grams(drum_loop(2.0, SR), ("rhythm",))["rhythm"]
    assert len(grams) == 4 and all(G.shape == (32, 32) for G in grams)


def test_gram_of_stationary_signal_barely_changes_when_doubled():
    net = engine.Network(engine.NetworkConfig(**SMALL, dtype="float64"))
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(int(16 * SR)) * 0.1  # stationary: white noise
    short = net.grams(noise[:8 * SR], ("harmonic", "rhythm"))
    long = net.grams(noise, ("harmonic", "rhythm"))
    for b in ("harmonic", "rhythm"):
        # Measured 0.8% (harmonic) and 0.2% (rhythm) relative error; a Gram that scaled with
        # length would be off by 33% (normwise), the Gram of a drum loop is off by 86-93%.
        assert rel_error(short[b][0], long[b][0]) < 0.03, b


def test_mel_content_uses_its_own_mel_size():
    cfg = engine.NetworkConfig(**SMALL, content_features="mel", content_n_mels=16)
    net = engine.Network(cfg)
    assert net.content_branch == "content_mel"
    assert net.branches["content_mel"].mel_basis.shape == (16, 129)
    assert net.branches["rhythm"].mel_basis.shape == (8, 129)
    same = engine.Network(engine.NetworkConfig(**SMALL, content_features="mel",
                                               content_n_mels=8))
    assert same.content_branch == "rhythm" and "content_mel" not in same.branches


def test_mel_content_is_key_invariant_where_harmonic_is_not():
    """A melody and the same melody a semitone up: their mel-feature content distance is a
    small fraction of the harmonic one (both relative to the features' size)."""
    t = np.arange(2 * SR) / SR
    tone = lambda f: np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 2 * t))  # noqa: E731
    a, b = tone(440.0), tone(440.0 * 2 ** (1 / 12))
    dist = {}
    for features in ("harmonic", "mel"):
        net = engine.Network(engine.NetworkConfig(**SMALL, content_features=features,
                                                  content_n_mels=4, dtype="float64"))
        br = net.content_branch
        fa, fb = net.features(a, (br,))[br][-1], net.features(b, (br,))[br][-1]
        dist[features] = np.linalg.norm(fa - fb) / np.linalg.norm(fa)
    assert dist["mel"] < 0.5 * dist["harmonic"], dist
