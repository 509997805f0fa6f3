"""Channel handling (engine/run/channels.py): what is optimized and how the parts come back."""
import json
import os
import signal
import time

import numpy as np
import pytest
import soundfile as sf
from helpers import FAST

from randstyle.engine.cli import main
from randstyle.engine.run import channels
from randstyle.engine.run import session as style_module


def test_a_single_channel_is_split_and_merged_as_views_of_the_same_values():
    # Issue 32: a 10-minute song's content and result were each copied once more (50 MiB
    # apiece at 22050 Hz) by a mean over one channel and a stack of one part.
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    for audio in (x, x[:, None]):
        (part,) = channels.split(audio, "mono")
        assert np.shares_memory(part, x)
        np.testing.assert_array_equal(part, np.asarray(audio)[:, None].mean(axis=1)
                                      if audio.ndim == 1 else audio.mean(axis=1))
    merged = channels.merge([x], "mono")
    assert merged.shape == (1000, 1) and np.shares_memory(merged, x)
    np.testing.assert_array_equal(merged, np.stack([x], axis=1))
    stereo = np.stack([x, -x], axis=1)  # several channels: their mean, a new array
    np.testing.assert_array_equal(channels.split(stereo, "mono")[0], stereo.mean(axis=1))


SR = 8000



@pytest.mark.parametrize("content,mode,channels_out", [
    ("stereo", "mono", 1), ("stereo", "each", 2), ("stereo", "mid-side", 2),
    ("content", "mid-side", 2), ("six", "each", 6)])
def test_channels(files, tmp_path, content, mode, channels_out):
    out = str(tmp_path / "o.wav")
    assert main(["transfer", files[content], files["drums"], "--channels", mode, "-o", out,
                 *FAST]) == 0
    y, sr = sf.read(out, always_2d=True)
    assert y.shape == (int(1.5 * SR), channels_out) and sr == SR
    report = json.load(open(tmp_path / "o.json"))
    assert report["channels"] == mode
    if content == "content" and mode == "mid-side":  # a mono file has no side: L == R
        assert np.array_equal(y[:, 0], y[:, 1])
        assert report["parts"][1]["skipped"] == "silent"
    elif channels_out > 1:
        assert not np.allclose(y[:, 0], y[:, 1]) and len(report["parts"]) == channels_out


def test_a_signal_between_channels_keeps_the_finished_channel(files, tmp_path, monkeypatch):
    """SIGTERM while the second channel's features are computed: the first channel is written
    and checkpointed, and --resume reuses it and optimizes only the second."""
    real, calls = style_module.transfer, []

    def transfer(*args, **kwargs):
        calls.append(kwargs.get("resume"))
        if len(calls) == 2:  # a real SIGTERM as the second part's setup begins
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
        return real(*args, **kwargs)

    monkeypatch.setattr(style_module, "transfer", transfer)
    out, ckpt = tmp_path / "o.wav", tmp_path / "o.ckpt.npz"
    # --loudness peak: one plain gain (a limiter's gain would follow the other channel too)
    assert main(["transfer", files["stereo"], files["drums"], "--channels", "each", "-o",
                 str(out), "--subtype", "float", "--loudness", "peak", *FAST]) == 143
    y, _ = sf.read(str(out), always_2d=True)
    assert np.max(np.abs(y[:, 0])) > 0 and not np.any(y[:, 1])  # the unfinished one silent
    assert json.load(open(tmp_path / "o.json"))["interrupted"] and ckpt.exists()

    calls.clear()
    monkeypatch.setattr(style_module, "transfer", lambda *a, **k: (calls.append(1),
                                                                   real(*a, **k))[1])
    assert main(["transfer", "--resume", str(ckpt), "--quiet"]) == 0
    y2, _ = sf.read(str(out), always_2d=True)
    assert len(calls) == 1  # only the second channel ran again
    peak = lambda x: x / np.max(np.abs(x))  # noqa: E731  (the file is scaled by one gain)
    np.testing.assert_allclose(peak(y2[:, 0]), peak(y[:, 0]), atol=1e-6)
    assert np.max(np.abs(y2[:, 1])) > 0
    assert not ckpt.exists()
