"""--plot's picture: each spectrogram with a time axis and a colour bar."""
import os
import sys

import numpy as np
import pytest
from helpers import FAST

from randstyle.engine.cli import main
from randstyle.engine.report import plot


def test_plot_labels_time_and_has_a_colour_bar(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    saved = []
    real = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (saved.append(self),
                                                                   real(self, *a, **k)))
    x = np.random.default_rng(0).standard_normal(8000)
    history = [{"iter": 1, "total": 2.0, "content": 1.0}, {"iter": 2, "total": 1.0,
                                                           "content": 0.5}]
    out = tmp_path / "run.png"
    plot.plot_run(str(out), {"content": x, "result": x}, 8000, 256, 64, history)
    assert out.stat().st_size > 0
    axes = saved[0].axes
    spectrograms = [ax for ax in axes if ax.get_title().endswith("log1p |STFT|")]
    assert len(spectrograms) == 2
    assert all(ax.get_xlabel() == "time (s)" and "kHz" in ax.get_ylabel() for ax in spectrograms)
    colour_bars = [ax for ax in axes if ax.get_ylabel() == "log1p |STFT|"]
    assert len(colour_bars) == 2


SR = 8000



def test_plot(files, tmp_path):
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], files["drums"], "--plot", "-o", out,
                 *FAST]) == 0
    png = open(tmp_path / "o.png", "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_plot_without_matplotlib(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now raises ImportError
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files["content"], files["drums"], "--plot", "-o", out,
                 *FAST]) == 2
    assert "needs matplotlib" in capsys.readouterr().err
    assert not os.path.exists(out)
