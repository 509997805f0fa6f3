"""--plot's picture: each spectrogram with a time axis and a colour bar."""
import numpy as np
import pytest

from engine.report import plot


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
