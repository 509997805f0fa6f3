"""bench/corpus/render.py: the manifest, stems that sum to their mix, examples that are other
passages, the demo fallback and the CLI's refusal to overwrite."""
import json
import os

import numpy as np
import soundfile as sf

from bench import lab
from bench.corpus import midi as corpus_midi
from bench.corpus import render as corpus


def _read(path):
    x, sr = sf.read(path, dtype="float64")
    assert sr == corpus.SR and x.ndim == 1
    return x


def _check_mix(m, seconds):
    mix = _read(m["mix"])
    stems = {k: _read(p) for k, p in m["stems"].items()}
    assert len(mix) == int(round(seconds * corpus.SR))
    np.testing.assert_allclose(sum(stems.values()), mix, atol=1e-6)
    assert np.max(np.abs(mix)) <= corpus.PEAK + 1e-6
    levels = [np.sqrt(np.mean(x ** 2)) for x in stems.values()]
    assert min(levels) > 0.01 and max(levels) / min(levels) < 1.01  # one RMS for all
    for inst, x in stems.items():
        e = _read(m["examples"][inst])
        assert m["examples"][inst] != m["stems"][inst]
        assert abs(np.corrcoef(x, e[:len(x)])[0, 1]) < 0.5, inst  # another passage


def test_pair_renders_with_manifest(tmp_path):
    out = tmp_path / "c"
    corpus.render_corpus(str(out), seconds=3.0, mixes=["drums_organ"], clips=[])
    raw = json.loads((out / "corpus.json").read_text())
    assert raw["sr"] == 22050 and not os.path.isabs(raw["mixes"][0]["mix"])
    c = lab.load_corpus(str(out), seconds=3.0)
    assert c["source"] == ("fluidsynth" if corpus_midi.have_synth() else "demo")
    (m,) = c["mixes"]
    assert m["name"] == "drums_organ" and set(m["stems"]) == {"drums", "organ"}
    for p in [m["mix"], *m["stems"].values(), *m["examples"].values()]:
        assert os.path.isabs(p) and os.path.exists(p)
    _check_mix(m, 3.0)
    assert sf.info(m["mix"]).subtype == "FLOAT"


def test_fallback_without_fluidsynth(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_midi, "fluidsynth", lambda: None)
    c = lab.load_corpus(str(tmp_path / "d"), seconds=1.0)  # renders all: absent
    assert c["source"] == "demo"
    assert [m["name"] for m in c["mixes"]] == list(corpus.MIXES)
    assert set(c["clips"]) == set(corpus.CLIPS)
    assert any(len(m["stems"]) == 3 for m in c["mixes"])
    for m in c["mixes"]:
        _check_mix(m, 1.0)
    assert sf.info(c["clips"]["drums"]).duration == 2.0
    again = corpus.render_corpus(str(tmp_path / "e"), seconds=1.0, mixes=["piano_organ"],
                                 clips=[])
    np.testing.assert_array_equal(  # deterministic
        _read(str(tmp_path / "e" / again["mixes"][0]["mix"])),
        _read(next(m["mix"] for m in c["mixes"] if m["name"] == "piano_organ")))


def test_cli_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(corpus_midi, "fluidsynth", lambda: None)
    out = tmp_path / "c"
    out.mkdir()
    (out / "corpus.json").write_text("{}")
    assert corpus.main(["--out", str(out), "--seconds", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and len(err.strip().splitlines()) == 1
    assert (out / "corpus.json").read_text() == "{}"
    assert corpus.main(["--out", str(out), "--seconds", "0.5", "--force"]) == 0
    assert lab.load_corpus(str(out), seconds=0.5)["source"] == "demo"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".corpus-")]


def test_midi_writer():
    # variable-length quantities as the Standard MIDI File spec lists them
    for n, want in [(0, "00"), (0x7F, "7f"), (0x80, "8100"), (0x3FFF, "ff7f"),
                    (0x200000, "81808000"), (0x0FFFFFFF, "ffffff7f")]:
        assert corpus_midi._varlen(n).hex() == want
    data = corpus_midi.midi_bytes([(0.5, 0.25, 36, 100)], 0, corpus_midi.DRUM_CHANNEL, 1.0)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    # one second is 960 ticks: the hit at 480 (delta 83 60), its release 240 later (81 70)
    assert bytes([0x83, 0x60, 0x99, 36, 100, 0x81, 0x70, 0x89, 36, 0]) in data
    assert data.endswith(b"\xff\x2f\x00")


def test_held_out_mixes_render_only_when_named(tmp_path, monkeypatch):
    # issue 30's held-out mixes: rendered by name (--mixes), never by a default render
    monkeypatch.setattr(corpus_midi, "fluidsynth", lambda: None)
    assert not set(corpus.HELD_MIXES) & set(corpus.MIXES)
    out = tmp_path / "h"
    assert corpus.main(["--out", str(out), "--seconds", "0.5", "--mixes", "strings_organ"]) == 0
    c = lab.load_corpus(str(out), seconds=0.5)
    assert [m["name"] for m in c["mixes"]] == ["strings_organ"] and c["clips"] == {}
    _check_mix(c["mixes"][0], 0.5)
