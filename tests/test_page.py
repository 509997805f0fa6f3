"""The --html pages: what they show of a run (its figures, the stretch of each input it
used), for single runs and a batch's rows."""
import json
import re
import sys

import pytest
import soundfile as sf
from helpers import FEW_SHIFT_FILTERS, write

from randstyle.engine import demo
from randstyle.engine.batch import runner
from randstyle.engine.cli import batch as batch_cli
from randstyle.engine.cli import main
from randstyle.engine.report import page

SR = 8000
TINY = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet"]


@pytest.fixture
def no_pictures(monkeypatch):
    """Pages without matplotlib: the same players and tables, quicker."""
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)


def _played(html: str, folder, caption: str):
    """(samples, sr) of the file the page plays under the figure captioned ``caption``."""
    m = re.search(re.escape(caption) + r'</figcaption><audio [^>]*src="([^"]+)"', html)
    assert m, caption
    return sf.read(str(folder / m.group(1)))


def test_separate_page_shows_the_sdr_the_run_prints(tmp_path, no_pictures, capsys,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    drums, pad = demo.drum_loop(2.0, SR, seed=4), demo.chord_pad(2.0, SR)
    write(tmp_path / "mix.wav", drums + pad, SR)
    write(tmp_path / "d.wav", demo.drum_loop(2.0, SR, seed=5), SR)
    write(tmp_path / "p.wav", demo.chord_pad(2.0, SR, seed=6), SR)
    write(tmp_path / "true_d.wav", drums, SR)
    assert main(["separate", "mix.wav", "--source", "drums=d.wav", "--source", "pad=p.wav",
                 "--reference", "drums=true_d.wav", "--method", "statistics", *FEW_SHIFT_FILTERS,
                 "--html", "-o", "sep", *[a for a in TINY if a != "--quiet"]]) == 0
    printed = re.search(r"drums: BSS Eval SDR (-?[\d.]+) dB, .*\(equal split SDR (-?[\d.]+) dB, "
                        r"HPSS (-?[\d.]+) dB\)", capsys.readouterr().err)
    assert printed, "the run prints the SDR"
    figures = json.load(open("sep/separation.json"))["reference"]["drums"]
    html = open("sep/separation.html").read()
    for key, label in (("sdr", "SDR (dB)"), ("equal_split_sdr", "equal split&#x27;s SDR (dB)"),
                       ("hpss_sdr", "HPSS&#x27;s SDR (dB)")):
        assert f"<th>drums / {label}</th><td>{figures[key]:.4g}</td>" in html, key
    assert f"{figures['sdr']:.1f}" == printed.group(1)


def test_transfer_page_plays_the_stretch_the_run_used(tmp_path):
    """--content-start 0.5 --content-end 1.5 of a 2 s content: the page's content player and
    its spectrogram are of that second, not the whole file, and the caption says which."""
    content = write(tmp_path / "c.wav", demo.plucked_melody(2.0, SR), SR)
    style = write(tmp_path / "s.wav", demo.drum_loop(1.6, SR), SR)
    out = tmp_path / "o.wav"
    assert main(["transfer", content, style, "-o", str(out), "--html", *TINY,
                 "--content-start", "0.5", "--content-end", "1.5", "--style-start", "0.2"]) == 0
    html = (tmp_path / "o.html").read_text()
    x, sr = _played(html, tmp_path, "content: c.wav (0.5-1.5 s)")
    assert sr == SR and len(x) == SR
    whole = sf.read(content)[0]
    assert abs(x - whole[SR // 2:SR // 2 + SR]).max() < 1e-3
    y, _ = _played(html, tmp_path, "style: s.wav (0.2-end s)")
    assert len(y) == int(1.4 * SR)
    spec = re.search(r'content: c.wav \(0.5-1.5 s\)</figcaption><audio [^>]*src="o_files/'
                     r'([^"]+)\.wav"></audio><img alt="spectrogram of content" '
                     r'src="o_files/([^"]+)"', html)
    assert spec and spec.group(2).startswith(spec.group(1) + "-")  # drawn from that stretch


def test_batch_page_plays_the_stretch_of_each_row(tmp_path, no_pictures):
    content = write(tmp_path / "c.wav", demo.plucked_melody(2.0, SR), SR)
    job = runner.Job(row=2, mode="transfer", output="o.wav", fields={}, explicit=[],
                     options={"content-start": "0.5", "content-end": "1.5"},
                     inputs={"content": content, "style": content})
    e = batch_cli.entry(runner.Outcome(job, "failed", "why"), str(tmp_path), 1)
    target = tmp_path / "index.html"
    page.write_page(str(target), [e], "t")
    html = target.read_text()
    x, _ = _played(html, tmp_path, "content: c.wav (0.5-1.5 s)")
    y, _ = _played(html, tmp_path, "style: c.wav")
    assert len(x) == SR and len(y) == 2 * SR
