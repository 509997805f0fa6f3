"""The lab (bench/): its groups' command lines, the commands the docs name, and the shared
helper bench/lab.py (corpus loading and table output) on a small generated corpus."""
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench import commands, lab
from randstyle.engine.errors import ParameterError

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("corpus", "transfer", "separation", "machine", "audit")
SCRIPTS = ("texture", "songs")  # flat scripts of their own, no subcommands of the lab's


def group_commands(group: str) -> dict:
    return importlib.import_module(f"bench.{group}.__main__").COMMANDS


@pytest.mark.parametrize("group", GROUPS)
def test_a_groups_help_lists_its_subcommands(group):
    """``python -m bench.GROUP --help`` (and the group alone): every subcommand on a line of
    its own with what it does, exit 0."""
    for argv in (["--help"], []):
        res = subprocess.run([sys.executable, "-m", f"bench.{group}", *argv], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        listed = {m.group(1): m.group(2) for m in
                  re.finditer(r"^  (\S+)\s+(\S.*)$", res.stdout, re.M)}
        assert set(listed) == set(group_commands(group)) and all(listed.values())


def test_an_unknown_subcommand_is_one_line_and_exit_2():
    res = subprocess.run([sys.executable, "-m", "bench.transfer", "defualt"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and "'defualt'" in res.stderr and "default" in res.stderr


@pytest.mark.parametrize("group", GROUPS)
def test_every_subcommand_takes_its_own_options(group, capsys):
    """Each subcommand runs its module's main on the rest of the line: its --help is its own
    parser's, named by the command that reached it."""
    for name in group_commands(group):
        with pytest.raises(SystemExit) as exc:
            commands.run(group, "", group_commands(group), [name, "--help"])
        assert exc.value.code == 0
        assert f"usage: python -m bench.{group} {name}" in capsys.readouterr().out


DOC_COMMAND = re.compile(r"python3? -m\s+bench\.([a-z_]+)(?:\s+([A-Za-z][-\w]*))?")
DOC_PATH = re.compile(r"(?<![\w./])bench/[\w/]+\.py")


def stale_references(text: str) -> list:
    """The lab commands (``python -m bench.NAME [SUBCOMMAND]``) and bench/ paths in ``text``
    that name no group and subcommand, no script, no file."""
    bad = []
    for m in DOC_COMMAND.finditer(text):
        name, sub = m.groups()
        if name in GROUPS:
            if sub not in group_commands(name) and not (sub or "").isupper():  # SUBCOMMAND
                bad.append(m.group(0))
        elif name not in SCRIPTS:
            bad.append(m.group(0))
    bad += [p for p in DOC_PATH.findall(text) if not (ROOT / p).is_file()]
    return bad


def test_the_docs_name_only_commands_and_scripts_that_exist():
    """README, docs/ and the code's own docstrings and comments."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "bench").rglob("*.py")), *sorted((ROOT / "engine").rglob("*.py"))]
    bad = {p.relative_to(ROOT).as_posix(): stale_references(p.read_text()) for p in pages}
    assert {k: v for k, v in bad.items() if v} == {}
    assert sum(len(DOC_COMMAND.findall(p.read_text())) for p in pages) > 50  # it reads them


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_flat_scripts_answer_help(script):
    res = subprocess.run([sys.executable, "-m", f"bench.{script}", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("usage:"), res.stderr


def test_a_stale_reference_is_found():
    text = ("`python -m bench.transfer default --pairs held`, `python -m\nbench.separation "
            "corpus table`, `python -m bench.machine SUBCOMMAND`, `python -m bench.texture "
            "--table T` and bench/lab.py stand; `python -m bench.transfer_default`, "
            "`python -m bench.corpus` alone, `python -m bench.audit mutant` and "
            "bench/corpus.py do not.")
    assert stale_references(text) == ["python -m bench.transfer_default",
                                      "python -m bench.corpus", "python -m bench.audit mutant",
                                      "bench/corpus.py"]


SR = 8000


def small_corpus(root: Path) -> Path:
    """A corpus folder as bench/corpus/render.py writes it, of generated tones (no
    fluidsynth): one mix of two stems with their examples, and one clip."""
    t = np.arange(SR) / SR
    files = {"mixes/m/a.wav": 0.1 * np.sin(2 * np.pi * 220 * t),
             "mixes/m/b.wav": 0.1 * np.sin(2 * np.pi * 330 * t),
             "examples/a.wav": 0.1 * np.sin(2 * np.pi * 247 * t),
             "examples/b.wav": 0.1 * np.sin(2 * np.pi * 370 * t),
             "clips/tone.wav": 0.2 * np.sin(2 * np.pi * 440 * t)}
    files["mixes/m/mix.wav"] = files["mixes/m/a.wav"] + files["mixes/m/b.wav"]
    for rel, x in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(root / rel), x.astype(np.float32), SR, subtype="FLOAT")
    manifest = {"sr": SR, "source": "demo", "seconds": 1.0,
                "mixes": [{"name": "m", "mix": "mixes/m/mix.wav",
                           "stems": {"a": "mixes/m/a.wav", "b": "mixes/m/b.wav"},
                           "examples": {"a": "examples/a.wav", "b": "examples/b.wav"}}],
                "clips": {"tone": "clips/tone.wav"}}
    (root / "corpus.json").write_text(json.dumps(manifest))
    return root


def test_the_helper_loads_a_corpus_its_clips_and_mixes(tmp_path):
    root = small_corpus(tmp_path)
    c = lab.load_corpus(str(root), seconds=1.0)
    assert c["clips"]["tone"] == str(root / "clips" / "tone.wav")  # absolute paths
    assert c["mixes"][0]["examples"]["b"] == str(root / "examples" / "b.wav")
    tone = lab.clip(str(root), "tone", SR, seconds=1.0)
    assert tone.dtype == np.float32 and len(tone) == SR
    np.testing.assert_array_equal(tone, sf.read(c["clips"]["tone"], dtype="float32")[0])
    assert len(lab.clip(str(root), "tone", SR // 2, seconds=1.0)) == SR // 2  # resampled
    sr, mixes = lab.mixes(str(root), seconds=1.0)
    ((name, mix, stems, examples),) = mixes
    assert (sr, name, set(stems), set(examples)) == (SR, "m", {"a", "b"}, {"a", "b"})
    assert mix.dtype == np.float64
    np.testing.assert_allclose(stems["a"] + stems["b"], mix, atol=1e-7)
    with pytest.raises(ParameterError, match=r"no clip 'drums' in .* \(it has tone\)"):
        lab.clip(str(root), "drums", seconds=1.0)


def test_the_helper_refuses_what_it_cannot_load(tmp_path):
    root = small_corpus(tmp_path)
    with pytest.raises(ParameterError, match="1.0 s mixes, asked for 10"):
        lab.load_corpus(str(root))  # the scripts' 10 s
    (root / "examples/b.wav").unlink()
    with pytest.raises(ParameterError, match="corpus file missing: .*examples/b.wav"):
        lab.load_corpus(str(root), seconds=1.0)


def test_markdown_rows_and_head():
    assert lab.head("a", "b c") == ["| a | b c |", "|---|---|"]
    assert lab.row("x", 1.5, None) == "| x | 1.5 | None |"


def test_append_jsonl_prints_and_appends_each_line(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    lab.append_jsonl(log, {"a": 1})
    lab.append_jsonl(log, {"b": [2, 3]})
    lab.append_jsonl(None, {"c": 4})  # printed only
    assert [json.loads(line) for line in log.read_text().splitlines()] == [{"a": 1},
                                                                          {"b": [2, 3]}]
    assert capsys.readouterr().out.splitlines() == ['{"a": 1}', '{"b": [2, 3]}', '{"c": 4}']


def test_write_markdown_prints_and_keeps_the_table(tmp_path, capsys):
    path = lab.write_markdown(tmp_path / "out", "t", "| a |\n|---|")
    assert Path(path).parent == tmp_path / "out" and Path(path).name.startswith("t-")
    assert Path(path).read_text() == "| a |\n|---|\n"
    out = capsys.readouterr()
    assert out.out == "| a |\n|---|\n" and f"written: {path}" in out.err


def test_the_data_folder_is_the_result_pages_own():
    assert lab.DATA == ROOT / "docs" / "results" / "data" and lab.DATA.is_dir()
    assert 0 < lab.matmul_seconds(n=64, repeat=1) < 10
