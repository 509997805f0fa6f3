"""A batch row is parsed once, by its command's own parser where the command is defined
(engine/cli/manifest.py); the job server runs those arguments without parsing them again,
and engine/batch names nothing of the floor above it."""
from pathlib import Path

import pytest
import soundfile as sf

from randstyle.engine import demo
from randstyle.engine.batch import runner
from randstyle.engine.cli import commands, common, job, manifest
from randstyle.engine.cli.tools import StatisticsArgs

ROOT = Path(__file__).resolve().parent.parent
SR = 8000


@pytest.fixture()
def rows(tmp_path):
    sf.write(str(tmp_path / "a.wav"), demo.plucked_melody(0.5, SR), SR)
    sf.write(str(tmp_path / "b.wav"), demo.drum_loop(0.5, SR), SR)
    path = tmp_path / "jobs.csv"
    path.write_text("mode,content,style,output,method,shift-weight,maxiter,sr\n"
                    "separate,a.wav,x=a.wav;y=b.wav,sep,statistics,0.5,2,8000\n"
                    "texture,,b.wav,tex.wav,,,3,8000\n")
    return manifest.read(str(path))


def test_a_row_runs_on_its_parsed_arguments_without_a_second_parse(rows, tmp_path,
                                                                    monkeypatch):
    seen = []
    for mode in ("separate", "texture"):
        monkeypatch.setitem(commands.ROWS, mode, (commands.ROWS[mode][0],
                                                  lambda a, e: seen.append((a, e))))

    def no_parse(*a, **k):
        raise AssertionError("the job server parsed the row again")
    monkeypatch.setattr(common.Parser, "parse_args", no_parse)
    for row in rows:
        result = job.run(runner.command(row, str(tmp_path / "out"), 2, "redo"))
        assert result["rc"] == 0, result
    (sep, sep_given), (tex, tex_given) = seen
    assert type(sep) is StatisticsArgs and sep.shift_weight == 0.5 and sep.maxiter == 2
    assert sep.source == [f"x={tmp_path / 'a.wav'}", f"y={tmp_path / 'b.wav'}"]
    assert sep.output == str(tmp_path / "out" / "sep") and sep.overwrite and not sep.progress
    assert {"shift_weight", "maxiter", "method", "output", "threads"} <= sep_given
    assert tex.maxiter == 3 and tex.threads == 2 and "seconds" not in tex_given


def test_a_bad_field_in_a_call_is_the_commands_one_line_error(rows, tmp_path):
    call = runner.command(rows[0], str(tmp_path / "out"), 1, "run")
    call["fields"]["shift_weight"] = -1.0
    result = job.run(call)
    assert result["rc"] == 2 and result["message"] == "--shift-weight must be >= 0, got -1.0"


def test_the_batch_floor_names_nothing_above_it():
    for path in (ROOT / "engine" / "batch").glob("*.py"):
        text = path.read_text()
        assert "randstyle.engine.cli" not in text and "engine/cli" not in text, path
