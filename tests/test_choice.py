"""The default transfer's choice (engine/run/choice.py): a percussive style gets the
percussive settings, a tonal one the tonal settings, as documented (docs/results/quality.md); a
setting the user changed stands; --style-kind names the kind or turns the choice off."""
import pytest

import engine
from engine import demo
from engine.errors import ParameterError
from engine.run.choice import DEFAULTS, KINDS, PERCUSSIVE_SHARE, choose, percussive_share

SR = 22050


def changes(kind: str) -> dict:
    return {k: v for k, v in KINDS[kind].items() if v != DEFAULTS[k]}


@pytest.fixture(scope="module")
def styles():
    return {"drums": [(demo.drum_loop(3.0, SR), 1.0)],
            "melody": [(demo.plucked_melody(3.0, SR), 1.0)]}


def test_a_generated_drum_loop_is_percussive_and_a_melody_tonal(styles):
    assert percussive_share(styles["drums"]) > PERCUSSIVE_SHARE > 0.1
    assert percussive_share(styles["melody"]) < 0.1
    for name, kind in (("drums", "percussive"), ("melody", "tonal")):
        cfg, record = choose(engine.TransferConfig(), styles[name])
        assert record["style_kind"] == kind and record["set"] == changes(kind)
        assert all(getattr(cfg, k) == v for k, v in KINDS[kind].items())


def test_a_changed_setting_stands_and_a_named_kind_is_taken(styles):
    cfg, record = choose(engine.TransferConfig(spectrum_weight=2.0), styles["drums"])
    assert cfg.spectrum_weight == 2.0 and "spectrum_weight" not in record["set"]
    cfg, record = choose(engine.TransferConfig(style_kind="tonal"), styles["drums"])
    assert record == {"style_kind": "tonal", "set": changes("tonal")}
    assert cfg.chroma_weight == KINDS["tonal"]["chroma_weight"] > \
        KINDS["percussive"]["chroma_weight"]
    plain = engine.TransferConfig(style_kind="none")
    assert choose(plain, styles["drums"]) == (plain, {"style_kind": "none", "set": {}})
    with pytest.raises(ParameterError, match="^style_kind must be one of"):
        engine.TransferConfig(style_kind="loud")
