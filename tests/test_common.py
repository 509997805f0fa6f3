"""What every mode shares (engine/run/common.py): one report shape for every mode."""
import re
from pathlib import Path

import numpy as np
from helpers import TINY, sine

from randstyle import engine

COMMON = ("mode", "config", "backend", "dtype", "sr", "wall_time_s", "randstyle_version",
          "python", "numpy")
OPTIMIZER = ("initial_loss", "final_loss", "iterations", "nit", "nfev", "stop_reason",
             "interrupted")
RUN = dict(TINY, backend="numpy", maxiter=2, progress=False)


def reports() -> dict:
    rng = np.random.default_rng(0)
    content, style = sine(0.5, 8000), sine(0.5, 8000, 660.0)
    noise = (0.1 * rng.standard_normal(4000)).astype(np.float32)
    out = {"transfer": engine.transfer(content, style, **RUN)[1],
           "texture": engine.texture(style, seconds=0.5, **RUN)[1],
           "reconstruct": engine.reconstruct(content, griffin_lim_iters=2, **RUN)[1]}
    out["separate"] = engine.separate(content + noise, {"tone": content, "noise": noise},
                                      mask_n_fft=64, mask_hop_length=16, method="statistics",
                                      shift_filters=16, **RUN)[1]  # with an optimizer
    return out


def test_every_mode_reports_the_same_fields():
    made = reports()
    for mode, report in made.items():
        assert report["mode"] == mode
        assert all(k in report for k in COMMON), (mode, [k for k in COMMON if k not in report])
        assert report["randstyle_version"] == engine.__version__
        assert report["backend"] == "numpy" and report["sr"] == 8000
    for mode in ("transfer", "texture", "separate"):  # one optimization each
        assert all(k in made[mode] for k in OPTIMIZER), mode
    assert list(made["transfer"])[:5] == list(COMMON[:5])  # the same order, what ran first


def test_the_version_is_written_once():
    setup = (Path(__file__).resolve().parent.parent / "setup.py").read_text()
    assert not re.search(r'version="\d', setup)  # read from engine/version.py
    assert re.fullmatch(r"\d+\.\d+\.\d+", engine.__version__)


def test_the_library_prints_nothing_unless_asked(capfd):
    style = sine(0.5, 8000, 660.0)
    run = {k: v for k, v in RUN.items() if k != "progress"}
    engine.texture(style, seconds=0.5, **run)
    assert capfd.readouterr().err == ""  # no progress by default
    engine.texture(style, seconds=0.5, progress=True, **run)
    assert "randstyle: backend numpy" in capfd.readouterr().err
