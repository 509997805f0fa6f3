"""The separate command end to end."""
import json

import numpy as np
import soundfile as sf
from helpers import FEW_SHIFT_FILTERS, SMALL, write

from randstyle.engine.cli import main
from randstyle.engine.demo import drum_loop

SR = SMALL["sr"]


def chord(seconds, root=220.0, phases=(0, 1, 2, 3)):
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * root * r * t + p) for r, p in zip([1, 1.25, 1.5, 2.0], phases))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def test_separate_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "mix.wav", drum_loop(2.0, SR) + chord(2.0), SR)
    write(tmp_path / "d.wav", drum_loop(2.0, SR, seed=4), SR)
    write(tmp_path / "p.wav", chord(2.0, phases=(1, 1, 1, 1)), SR)
    opts = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
            "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet",
            "--method", "statistics", *FEW_SHIFT_FILTERS]
    assert main(["separate", "mix.wav", "--source", "drums=d.wav", "--source", "pad=p.wav",
                 *opts]) == 0
    assert capsys.readouterr().out.strip() == "mix_separated"
    report = json.load(open("mix_separated/separation.json"))
    assert report["sources"] == ["drums", "pad"] and "mix_residual_rel" in report
    a, sr = sf.read("mix_separated/drums.wav")
    b, _ = sf.read("mix_separated/pad.wav")
    assert sr == 8000 and len(a) == len(b) == 16000
    for bad in (["--source", "drums=d.wav"], ["--source", "drums", "--source", "pad=p.wav"],
                ["--source", "d=d.wav", "--source", "d=p.wav"],
                ["--source", "a/b=d.wav", "--source", "pad=p.wav"]):
        assert main(["separate", "mix.wav", *bad, *opts]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    # Options of the style modes that mean nothing here are refused, not silently ignored...
    sources = ["--source", "drums=d.wav", "--source", "pad=p.wav"]
    for flag in (["--init", "noise"], ["--bounds"], ["--eval-every", "2"]):
        assert main(["separate", "mix.wav", *sources, *opts, *flag, "-o", "x"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and flag[0] in err and not (tmp_path / "x").exists()
    # Each method refuses the other's options: the optimizer's mean nothing to the dictionary
    # method, the dictionaries' nothing to the statistics.
    for method, flag in (("dictionary", ["--patience", "1"]), ("dictionary", ["--n-filters", "8"]),
                         ("statistics", ["--components", "8"])):
        assert main(["separate", "mix.wav", *sources, "--sr", "8000", "--quiet", "--method",
                     method, *flag, "-o", "x"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and flag[0] in err and not (tmp_path / "x").exists()
    assert main(["separate", "mix.wav", *sources, "--sr", "8000", "--quiet", "--components",
                 "4", "--dictionary-transpose", "0", "-o", "d"]) == 0
    assert json.load(open("d/separation.json"))["method"] == "dictionary"
    # ...and --patience stops the statistics method as it does a transfer.
    assert main(["separate", "mix.wav", *sources, *opts, "--maxiter", "50", "--patience", "1",
                 "--min-improvement", "0.9", "-o", "p"]) == 0
    report = json.load(open("p/separation.json"))
    assert report["stop_reason"].startswith("plateau") and report["nit"] < 50
