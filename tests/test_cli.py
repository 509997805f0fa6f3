"""The command line: help, the demo, real files in and out, and every bad input (exit 2)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from helpers import sine, write

from randstyle.engine.cli import main
from randstyle.engine.cli.common import DEMO_SECONDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Small rhythm filters too: at the default 4096 (kernel 50 frames) the rhythm branch is most
# of a run's work, and these tests are about the command, not the network.
FAST = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-filters", "32",
        "--rhythm-filters", "16", "--rhythm-kernel-size", "10", "--maxiter", "3", "--quiet"]


def run_cli(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["transfer", "texture"])
def test_subcommand_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"randstyle {command}" in out and "--n-filters" in out and "(default: 4096)" in out


def test_top_level_help_lists_commands(capsys):
    # In this process: the script's own start is test_bad_input_via_script's and
    # test_transfer_files_through_script's subject (a child costs ~2.5 CPU s of imports).
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "transfer" in out and "texture" in out


def test_version_and_short_quiet(tmp_path, capsys):
    from randstyle import engine
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"randstyle {engine.__version__}"
    out = tmp_path / "t.wav"
    quiet = [a for a in FAST if a != "--quiet"] + ["-q"]
    assert main(["texture", "--seconds", "0.5", "-o", str(out), *quiet]) == 0
    assert capsys.readouterr().err == ""  # -q is --quiet: no progress
    assert out.exists()


def test_style_flag_takes_one_value_so_the_content_follows_it(tmp_path):
    """``transfer --style STYLE CONTENT`` and ``evaluate --style STYLE RESULT``: the word after
    the style file is the positional, not a second style."""
    # 1.5 s: longer than the evaluation network's receptive field at 8 kHz
    style = write(tmp_path / "style.wav", sine(1.6, 8000, 220.0), 8000)
    content = write(tmp_path / "content.wav", sine(1.5, 8000), 8000)
    out = tmp_path / "out.wav"
    assert main(["transfer", "--style", style, content, "-o", str(out), *FAST]) == 0
    assert len(sf.read(str(out))[0]) == 12000  # the content's length: it was the content
    assert main(["evaluate", "--style", style, str(out), "--sr", "8000"]) == 0
    with pytest.raises(SystemExit) as exc:  # no value: argparse's one-line error, exit 2
        main(["transfer", "--style", "--maxiter", "3", content])
    assert exc.value.code == 2


def test_demo_tiny(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["transfer", *[a for a in FAST if a != "--quiet"]]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "randstyle_demo.wav"
    assert "demo" in captured.err
    y, sr = sf.read("randstyle_demo.wav")
    assert sr == 8000 and len(y) == int(DEMO_SECONDS["content"] * 8000)
    report = json.load(open("randstyle_demo.json"))
    assert report["inputs"]["content"].startswith("demo:") and report["config"]["maxiter"] == 3
    # A second run never clobbers the first.
    assert main(["transfer", *FAST]) == 0
    assert capsys.readouterr().out.strip() == "randstyle_demo-1.wav"
    assert os.path.exists("randstyle_demo-1.json")


def test_transfer_files_through_script(tmp_path):
    content = write(tmp_path / "c.wav", sine(1.5, 16000, 330.0), 16000)
    style = write(tmp_path / "s.flac", np.stack([sine(2.5, 8000, 200.0)] * 2, axis=1), 8000)
    out = tmp_path / "out.wav"
    res = run_cli("transfer", content, style, "-o", str(out), *FAST)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out)
    y, sr = sf.read(str(out))
    assert sr == 16000 and len(y) == 24000  # the content's length, at the content's rate
    report = json.load(open(tmp_path / "out.json"))
    assert report["mode"] == "transfer" and len(report["iterations"]) == report["nit"]
    assert report["inputs"] == {"content": content, "styles": [{"path": style, "weight": 1.0}]}


def test_texture_length(tmp_path):
    style = write(tmp_path / "s.wav", sine(2.0, 8000, 200.0), 8000)
    out = str(tmp_path / "t.wav")
    assert main(["texture", style, "--seconds", "1.25", "-o", out, *FAST]) == 0
    assert len(sf.read(out)[0]) == 10000


def _bad_inputs(tmp):
    good = write(tmp / "good.wav", sine(1.0, 8000), 8000)
    notaudio = tmp / "notaudio.wav"
    notaudio.write_text("hello\n")
    empty = write(tmp / "empty.wav", np.zeros(0, dtype=np.float32), 8000)
    silent = write(tmp / "silent.wav", np.zeros(8000, dtype=np.float32), 8000)
    x = sine(1.0, 8000)
    x[100] = np.inf
    inf = write(tmp / "inf.wav", x, 8000, subtype="FLOAT")
    short = write(tmp / "short.wav", sine(0.05, 8000), 8000)
    return {
        "missing file": ["transfer", str(tmp / "nope.wav"), good],
        "not audio": ["transfer", str(notaudio), good],
        "empty": ["transfer", good, empty],
        "silent": ["transfer", silent, good],
        "inf samples": ["transfer", good, inf],
        "too short": ["transfer", short, good],
        "start after end": ["transfer", good, good, "--content-start", "0.8",
                            "--content-end", "0.2"],
        "one file only": ["transfer", good],
        "unknown backend": ["transfer", good, good, "--backend", "tpu"],
        "bad dtype": ["transfer", good, good, "--dtype", "float16"],
        "negative n_fft": ["transfer", good, good, "--n-fft", "-4"],
        "zero maxiter": ["texture", good, "--maxiter", "0"],
        "not a number": ["texture", good, "--seconds", "long"],
        "unknown flag": ["texture", good, "--colour", "blue"],
        "unknown command": ["morph", good],
        "texture too short": ["texture", good, "--seconds", "0.01"],
        "output not audio": ["texture", good, "-o", str(tmp / "x.aiff")],
        "flac of floats": ["texture", good, "-o", str(tmp / "x.flac"), "--subtype", "float"],
    }


@pytest.mark.parametrize("case", [
    "missing file", "not audio", "empty", "silent", "inf samples", "too short",
    "start after end", "one file only", "unknown backend", "bad dtype", "negative n_fft",
    "zero maxiter", "not a number", "unknown flag", "unknown command", "texture too short",
    "output not audio", "flac of floats"])
def test_bad_input_exits_2_with_one_line(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = _bad_inputs(tmp_path)[case]
    before = set(os.listdir(tmp_path))
    try:
        code = main([argv[0], *FAST, *argv[1:]])  # the case's own flags come last and win
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "error" in err, err
    assert set(os.listdir(tmp_path)) == before  # no output, no report, no temporary


def test_bad_input_via_script_has_no_traceback(tmp_path):
    good = write(tmp_path / "good.wav", sine(2.0, 22050), 22050)
    res = run_cli("transfer", str(tmp_path / "nope.wav"), good)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"randstyle transfer: error: content file not found: {tmp_path / 'nope.wav'}"]
    res = run_cli("texture", good, "--seconds", "0.1")  # progress on: still one line
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "randstyle texture: error: the requested texture is 0.100 s long, shorter than the "
        "network's receptive field of 1.231 s (27136 samples)"]


def test_existing_output_needs_overwrite(tmp_path, capsys):
    style = write(tmp_path / "s.wav", sine(1.0, 8000, 200.0), 8000)
    out = tmp_path / "t.wav"
    out.write_bytes(b"precious")
    assert main(["texture", style, "--seconds", "0.5", "-o", str(out), *FAST]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"precious" and not (tmp_path / "t.json").exists()
    assert main(["texture", style, "--seconds", "0.5", "-o", str(out), "--overwrite",
                 *FAST]) == 0
    assert len(sf.read(str(out))[0]) == 4000


@pytest.mark.parametrize("command,typo,meant", [("transfer", "--maxiterr", "--maxiter"),
                                                ("texture", "--secnds", "--seconds"),
                                                ("evaluate", "--contnet", "--content")])
def test_a_mistyped_option_gets_a_suggestion(command, typo, meant, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, typo, "3"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1, err
    assert f"unrecognized arguments: {typo}" in err and f"did you mean {meant}?" in err


@pytest.mark.parametrize("edge,value", [("content-end", "100"), ("style-end", "100"),
                                        ("content-start", None)])
def test_an_end_past_the_file_is_said_not_clamped_silently(tmp_path, edge, value, capsys):
    """--content-end 100 on a 1.5 s file: one line saying what was used, and the run goes on
    with the whole file (the same for the style's end)."""
    content = write(tmp_path / "c.wav", sine(1.5, 8000, 330.0), 8000)
    style = write(tmp_path / "s.wav", sine(1.6, 8000, 200.0), 8000)
    out = str(tmp_path / "o.wav")
    extra = [f"--{edge}", value] if value else []
    assert main(["transfer", content, style, "-o", out, *FAST, *extra]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    if value is None:  # nothing past the end: nothing said
        assert err == []
        return
    what = edge.split("-")[0]
    length = {"content": 1.5, "style": 1.6}[what]
    assert err == [f"randstyle: warning: --{edge} 100.0 s is past the end of the {what} file "
                   f"{tmp_path / (what[0] + '.wav')} ({length:.3f} s): used up to its end"]
    assert len(sf.read(out)[0]) == 12000


def test_output_at_the_inputs_rate_or_the_one_asked(tmp_path, capsys):
    """A 16 kHz content run at --sr 8000 comes back at 16 kHz (flac from the suffix), says so
    in one progress line; --output-sr 8000 keeps the run's rate."""
    content = write(tmp_path / "c.wav", sine(1.5, 16000, 330.0), 16000)
    style = write(tmp_path / "s.wav", sine(1.6, 8000, 200.0), 8000)
    out = str(tmp_path / "o.flac")
    loud = [a for a in FAST if a != "--quiet"]
    assert main(["transfer", content, style, "-o", out, *loud]) == 0
    assert "ran at 8000 Hz; writing at the content's 16000 Hz" in capsys.readouterr().err
    info = sf.info(out)
    assert (info.format, info.samplerate, info.frames) == ("FLAC", 16000, 24000)
    report = json.load(open(tmp_path / "o.json"))
    assert report["output_sr"] == 16000 and report["config"]["sr"] == 8000
    out2 = str(tmp_path / "o2.wav")
    assert main(["transfer", content, style, "-o", out2, *FAST, "--output-sr", "8000"]) == 0
    assert sf.info(out2).samplerate == 8000 and sf.info(out2).frames == 12000


def test_a_first_run_says_it_compiles_the_cpu_kernels(tmp_path, monkeypatch, capsys):
    """One progress line while Numba compiles on a first run (no on-disk cache yet), under
    --backend cpu and under auto where auto picks cpu (no GPU); none once the kernels are
    cached, none with --quiet, none on the numpy backend."""
    from randstyle import kernels
    from randstyle.kernels import cpu
    real = kernels.available
    monkeypatch.setattr(kernels, "available", lambda name: name != "cuda" and real(name))
    style = write(tmp_path / "s.wav", sine(1.6, 8000, 200.0), 8000)
    line = "randstyle: compiling the CPU kernels once (cached for later runs)..."
    loud = [a for a in FAST if a != "--quiet"] + ["--seconds", "0.5"]
    for backend, cached, quiet, said in (("cpu", False, [], True), ("auto", False, [], True),
                                         ("cpu", True, [], False), ("cpu", False, ["-q"], False),
                                         ("numpy", False, [], False)):
        monkeypatch.setattr(cpu, "kernels_cached", lambda cached=cached: cached)
        out = str(tmp_path / f"t{backend}{cached}{quiet}.wav")
        assert main(["texture", style, "-o", out, *loud, "--backend", backend, *quiet]) == 0
        assert (line in capsys.readouterr().err.splitlines()) == said, backend


def test_kernels_cached_reads_numbas_cache_of_this_source(tmp_path, monkeypatch):
    """Cached once a kernel of this source is on disk (cache=True); not after the source
    changed (its index older than the file), as on a first run."""
    from randstyle.kernels import cpu
    cpu.relu_forward(np.ones((2, 3), dtype=np.float32))  # compiled (or loaded) and cached
    old, new = tmp_path / "old.py", tmp_path / "new.py"
    old.write_text(""), new.write_text("")
    os.utime(old, (0, 0))
    monkeypatch.setattr(cpu, "__file__", str(old))
    assert cpu.kernels_cached()
    os.utime(new, (2 ** 33, 2 ** 33))  # edited after every index was written
    monkeypatch.setattr(cpu, "__file__", str(new))
    assert not cpu.kernels_cached()


def test_separate_and_reconstruct_write_at_the_inputs_rate(tmp_path, capsys):
    """A 16 kHz mix separated at --sr 8000: each source comes back at 16 kHz, and they still
    sum to the mix as the run heard it, below 4 kHz (resampling is linear); reconstruct
    writes at its content's rate."""
    from randstyle.engine import demo
    mix = demo.drum_loop(1.5, 16000, seed=4) + demo.chord_pad(1.5, 16000)
    write(tmp_path / "mix.wav", mix, 16000, subtype="FLOAT")
    write(tmp_path / "d.wav", demo.drum_loop(1.5, 8000, seed=5), 8000)
    write(tmp_path / "p.wav", demo.chord_pad(1.5, 8000, seed=6), 8000)
    out = tmp_path / "sep"
    assert main(["separate", str(tmp_path / "mix.wav"), "--source", f"d={tmp_path / 'd.wav'}",
                 "--source", f"p={tmp_path / 'p.wav'}", "-o", str(out), "--sr", "8000",
                 "--subtype", "float", "--quiet"]) == 0
    d, sr_d = sf.read(str(out / "d.wav"))
    p, sr_p = sf.read(str(out / "p.wav"))
    gain = json.load(open(out / "separation.json"))["output_gain"]
    assert sr_d == sr_p == 16000 and len(d) == len(mix)
    from randstyle.engine.audio import resample
    heard = resample(resample(sf.read(str(tmp_path / "mix.wav"))[0], 16000, 8000), 8000, 16000)
    assert np.abs((d + p) / gain - heard).max() < 1e-3  # the mix as the run heard it
    prefix = str(tmp_path / "rec")
    assert main(["reconstruct", str(tmp_path / "mix.wav"), "-o", prefix, "--sr", "8000",
                 "--n-fft", "256", "--hop-length", "64", "--n-filters", "32", "--maxiter",
                 "2", "--quiet"]) == 0
    assert sf.info(prefix + "_time.wav").samplerate == 16000
