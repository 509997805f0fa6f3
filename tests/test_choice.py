"""The default transfer's choice (engine/run/choice.py): a percussive style gets the
percussive settings, a tonal one the tonal settings, and one line of notes (a voice, a melody)
under a tonal style the line settings, as documented (docs/results/quality.md); a setting the
user changed stands; --style-kind names the kind or turns the choice off."""
from dataclasses import replace

import numpy as np
import pytest
from helpers import SMALL

from randstyle import engine
from randstyle.engine import demo
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.network import Network
from randstyle.engine.run.choice import (
    DEFAULTS,
    KINDS,
    LINE_BURIED_DB,
    LINE_CLASSES,
    PERCUSSIVE_SHARE,
    choose,
    kind_of,
    percussive_share,
    pitch_classes,
)
from randstyle.engine.run.modes import transfer_objective

SR = 22050


def changes(kind: str) -> dict:
    return {k: v for k, v in KINDS[kind].items() if v != DEFAULTS[k]}


@pytest.fixture(scope="module")
def styles():
    return {"drums": [(demo.drum_loop(3.0, SR), 1.0)],
            "melody": [(demo.plucked_melody(3.0, SR), 1.0)],
            "melody2": [(demo.plucked_melody(3.0, SR, seed=1), 1.0)],
            "chords": [(demo.chord_pad(3.0, SR), 1.0)]}


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
    assert cfg.chroma_weight == KINDS["tonal"]["chroma_weight"]
    plain = engine.TransferConfig(style_kind="none")
    assert choose(plain, styles["drums"]) == (plain, {"style_kind": "none", "set": {}})
    with pytest.raises(ParameterError, match="^style_kind must be one of"):
        engine.TransferConfig(style_kind="loud")


def test_one_line_of_notes_under_a_tonal_style_gets_the_line_settings(styles):
    melody, chords = styles["melody"][0][0], styles["chords"][0][0]
    assert pitch_classes(melody, SR) < LINE_CLASSES < pitch_classes(chords, SR)
    cfg, record = choose(engine.TransferConfig(), styles["melody2"], melody)
    assert record["style_kind"] == "line" and record["set"] == changes("line")
    assert record["pitch_classes"] < LINE_CLASSES
    assert all(getattr(cfg, k) == v for k, v in KINDS["line"].items())
    # chords as content keep the tonal settings; under drums a line is percussive's
    assert choose(engine.TransferConfig(), styles["melody"], chords)[1]["style_kind"] == "tonal"
    assert choose(engine.TransferConfig(), styles["drums"], melody)[1]["style_kind"] == \
        "percussive"
    assert changes("line") != changes("tonal")
    assert kind_of(engine.TransferConfig(style_kind="line"), styles["drums"]) == ("line", {})


def test_under_a_percussive_style_the_chroma_term_reads_the_longest_stft(styles):
    """As documented (docs/results/quality.md, "The chroma term on the longest STFT", "The
    chroma term's octaves in the bass"): at 16 over the low octaves on the longest style
    network's STFT (the kick's low notes resolved), at most 150 iterations with the plateau
    stop at 0.5 %, the content term at 0.5, not the preset's 1.5 (1 before; "The content
    term lighter still, and a third held-out set"). Built (on SMALL networks: 128, 256, 512
    points), the last network holds it."""
    cfg, record = choose(engine.TransferConfig(), styles["drums"])
    documented = {"chroma_network": "longest", "chroma_weight": 16.0, "chroma_octaves": "low",
                  "maxiter": 150, "min_improvement": 0.005, "content_weight": 0.5}
    assert {k: getattr(cfg, k) for k in documented} == documented
    assert {k: v for k, v in documented.items() if v != DEFAULTS[k]}.items() <= \
        record["set"].items()
    small = replace(cfg, **SMALL)
    obj = transfer_objective(small, Network(small.network_config(), backend="numpy"),
                             styles["drums"], demo.plucked_melody(1.0, SR))
    assert [m.network.config.n_fft for m in obj.members] == [256, 128, 256, 512]
    assert [m.chroma is not None for m in obj.members] == [False, False, False, True]


def test_a_song_is_chosen_for_once_and_its_segments_run_that_kind(monkeypatch):
    from randstyle.engine.run import segments, spread
    kinds = []

    def run_segment(command, cfg, content, styles, k, length, key, start=None):
        kinds.append(cfg.style_kind)
        return content.copy(), {"nit": 1, "nfev": 1, "stop_reason": "identity",
                                "interrupted": False, "quality": {}, "config": {}}
    monkeypatch.setattr(segments, "run_segment", run_segment)
    # a melody whose middle segment holds chords: the song as a whole is one line
    melody = demo.plucked_melody(9.0, SR)
    melody[3 * SR:5 * SR] = demo.chord_pad(2.0, SR)
    song = melody.astype("float32")
    spread.run_song("transfer", song, demo.chord_pad(3.0, SR), engine.TransferConfig(sr=SR),
                    segment_s=2.0, overlap_s=0.5)
    assert len(kinds) > 4 and set(kinds) == {"line"}


def test_a_line_under_a_tonal_style_reads_the_chroma_term_on_the_longest_stft(styles):
    """As documented (docs/results/quality.md, "The line and tonal kinds' last gaps"): the
    line kind's chroma term at 16 over flat octaves on the longest style network's STFT
    (32 before), the content on the harmonic features, at most 150 iterations with the
    plateau stop at 1 %, the content term at 1, not the preset's 1.5 ("The content term
    lighter still, and a third held-out set"). Built (on SMALL networks: 128, 256, 512
    points), the last network holds it."""
    melody = demo.plucked_melody(3.0, SR)
    cfg, record = choose(engine.TransferConfig(), styles["melody2"], melody)
    documented = {"chroma_network": "longest", "chroma_weight": 16.0, "chroma_octaves": "flat",
                  "content_features": "harmonic", "maxiter": 150, "min_improvement": 0.01,
                  "content_weight": 1.0}
    assert record["style_kind"] == "line" and record["set"]["chroma_network"] == "longest"
    assert {k: getattr(cfg, k) for k in documented} == documented
    small = replace(cfg, **SMALL)
    obj = transfer_objective(small, Network(small.network_config(), backend="numpy"),
                             styles["melody2"], melody[:SR])
    assert [m.chroma is not None for m in obj.members] == [False, False, False, True]


def test_a_line_the_style_would_bury_holds_its_notes_harder(styles):
    """As documented (docs/results/quality.md, "The line and tonal kinds' last gaps"): where
    the style's band spectrum holds less than LINE_BURIED_DB (-7 dB) of the line's where the
    line sounds, the chroma term at 32 instead of 16 and the content term at 0.5 instead of
    the line kind's 1 (the plain default's, so not set), the rest as the line kind; a line
    among a style's own notes (another melody, -1 dB) keeps 16 and 1."""
    melody = demo.plucked_melody(3.0, SR)
    t = np.arange(3 * SR) / SR
    drone = (0.3 * np.sin(2 * np.pi * 110 * t) + 0.2 * np.sin(2 * np.pi * 82.4 * t))
    cfg, record = choose(engine.TransferConfig(), [(drone.astype("float32"), 1.0)], melody)
    assert record["style_kind"] == "line_buried"
    assert record["content_offset_db"] < LINE_BURIED_DB
    line = {k: v for k, v in changes("line").items() if k != "content_weight"}
    assert record["set"] == {**line, "chroma_weight": 32.0, "content_weight": 0.5}
    assert (cfg.chroma_weight, cfg.content_weight) == (32.0, 0.5)
    cfg, record = choose(engine.TransferConfig(), styles["melody2"], melody)
    assert record["style_kind"] == "line" and record["content_offset_db"] > LINE_BURIED_DB
    assert (cfg.chroma_weight, cfg.content_weight) == (16.0, 1.0)


def test_a_tonal_style_reads_the_chroma_term_on_the_longest_stft(styles):
    """As documented (docs/results/quality.md, "The line and tonal kinds' last gaps"): under a
    tonal style, chords as content, the chroma term at 20 over flat octaves on the longest
    style network's STFT, at most 150 iterations with the plateau stop at 1 %, the content
    term at 0.75, not the preset's 1.5 (before: 16 at 1.5, then 20 at 1; "The last three gaps
    by the check network")."""
    chords = demo.chord_pad(3.0, SR)
    cfg, record = choose(engine.TransferConfig(), styles["melody"], chords)
    documented = {"chroma_network": "longest", "chroma_weight": 20.0, "chroma_octaves": "flat",
                  "maxiter": 150, "min_improvement": 0.01}
    assert record["style_kind"] == "tonal"
    assert {k: record["set"].get(k) for k in documented} == documented
    assert {k: getattr(cfg, k) for k in documented} == documented
    assert cfg.content_weight == 0.75 and cfg.spectrum_weight == 16.0  # the preset's, but 1.5
