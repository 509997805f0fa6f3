"""randstyle batch: a real manifest of tiny jobs run embedded and on a real Dask scheduler and
worker, a failing row, resume, Ctrl-C/SIGTERM, invalid manifests, and the page opened in
headless Chromium."""
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from randstyle.engine import audio, demo
from randstyle.engine.batch import runner
from randstyle.engine.cli import batch as batch_cli
from randstyle.engine.cli import main, manifest
from randstyle.engine.report import page

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = 8000
# Tiny networks on the numpy backend (no JIT compile in each job's process).
OPTS = {"preset": "fast", "maxiter": "3", "n-filters": "32", "rhythm-filters": "32", "sr": "8000",
        "n-fft": "256", "hop-length": "64", "rhythm-kernel-size": "8", "backend": "numpy"}
# .ci/run installs dask, playwright and chromium: there a missing one fails, never skips.
REQUIRED = bool(os.environ.get("CI")) or os.environ.get("RANDSTYLE_REQUIRE_BATCH_TOOLS") == "1"


def need(what: str, present: bool) -> None:
    if not present:
        if REQUIRED:
            pytest.fail(f"{what} is missing but CI must run this test (see .ci/run)")
        pytest.skip(f"{what} is not installed")


def write_manifest(path, rows: list, extra: tuple = ()) -> str:
    columns = ["mode", "content", "style", "output", *OPTS, "seconds", *extra]
    lines = [",".join(columns)]
    for row in rows:
        cells = {**OPTS, **row}
        lines.append(",".join(str(cells.get(c, "")) for c in columns))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def clips(folder) -> None:
    (folder / "in").mkdir()
    sf.write(str(folder / "in" / "melody.wav"), demo.plucked_melody(1.0, SR), SR)
    sf.write(str(folder / "in" / "drums.flac"), demo.drum_loop(1.2, SR), SR)
    sf.write(str(folder / "in" / "beat.wav"), demo.drum_loop(1.0, SR, seed=3), SR)
    (folder / "in" / "notaudio.wav").write_text("not a WAV\n")


ROWS = [
    {"mode": "transfer", "content": "in/melody.wav", "style": "in/drums.flac",
     "output": "melody_x_drums.wav"},
    {"mode": "texture", "style": "in/drums.flac;in/beat.wav:0.5", "output": "tex.wav",
     "seconds": "0.9"},
    {"mode": "separate", "content": "in/melody.wav", "style": "tune=in/melody.wav;beat=in/beat.wav",
     "output": "sep", "preset": "",  # the dictionary method refuses the network's options
     **{k: "" for k in ("maxiter", "n-filters", "rhythm-filters", "n-fft", "hop-length",
                        "rhythm-kernel-size")}},
    {"mode": "transfer", "content": "in/missing.wav", "style": "in/drums.flac",
     "output": "broken.wav"},
    {"mode": "texture", "style": "in/notaudio.wav", "output": "notaudio.wav"},
]


def run_batch(*argv) -> subprocess.CompletedProcess:
    """``randstyle batch`` in this process (its jobs run in their own), with its output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["batch", *argv])
    return subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One embedded batch of the four rows (the last fails), shared by the tests below."""
    folder = tmp_path_factory.mktemp("batch")
    clips(folder)
    jobs = write_manifest(folder / "jobs.csv", ROWS)
    out = folder / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.getbasetemp())  # the jobs must not depend on it
        res = run_batch(jobs, "-o", str(out), "--jobs", "2", "--threads", "1")
    return folder, jobs, out, res


def test_a_relative_output_folder_from_another_working_folder(tmp_path):
    """``randstyle batch jobs.csv -o results`` as a user types it, in a process of its own
    started in the manifest's folder (not the checkout): the rows write into ./results, and
    a broken row reports its own reason, not the output folder's."""
    clips(tmp_path)
    write_manifest(tmp_path / "jobs.csv", [ROWS[1], ROWS[3]])
    env = dict(os.environ, PYTHONPATH=ROOT)
    res = subprocess.run([sys.executable, "-m", "randstyle", "batch", "jobs.csv", "-o",
                          "results", "--jobs", "1", "--threads", "1"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 1, res.stderr  # the broken row
    assert len(sf.read(str(tmp_path / "results" / "tex.wav"))[0]) == int(0.9 * SR)
    assert "row 3 (broken.wav) failed: content file not found:" in res.stderr, res.stderr
    assert "does not exist" not in res.stderr


def test_embedded_batch_runs_each_row_as_its_command(batch, tmp_path):
    folder, jobs, out, res = batch
    assert res.returncode == 1, res.stderr  # failing rows: exit 1 at the end
    assert res.stdout.strip() == str(out / "index.html")
    assert "5 rows: 3 done, 2 failed" in res.stderr
    assert "row 5 (broken.wav) failed: content file not found:" in res.stderr
    assert "row 6 (notaudio.wav) failed: cannot read style file" in res.stderr
    assert "batch: row 3 (tex.wav): done in" in res.stderr  # a line per row under the bar
    y, sr = sf.read(str(out / "melody_x_drums.wav"))
    assert sr == SR and len(y) == SR  # the content's length
    assert len(sf.read(str(out / "tex.wav"))[0]) == int(0.9 * SR)
    rep = json.load(open(out / "tex.json"))
    assert rep["config"]["maxiter"] == 3 and rep["config"]["n_filters"] == 32  # row beats preset
    assert rep["config"]["rhythm_kernel_size"] == 8 and rep["preset"] == "fast"
    assert rep["config"]["threads"] == 1  # the batch's --threads reaches the job
    assert [s["weight"] for s in rep["inputs"]["styles"]] == [1.0, 0.5]
    # The page's loss curves plot the loss terms, not the evaluation counter beside them.
    assert "nfev" in rep["iterations"][0] and "total" in page.loss_terms(rep["iterations"])
    assert "nfev" not in page.loss_terms(rep["iterations"])
    # Written with the umask's mode, not mkstemp's 0600: others on a shared folder read them.
    modes = {(out / f).stat().st_mode & 0o777 for f in ("tex.wav", "tex.json", "index.html")}
    assert modes == {0o666 & ~audio.UMASK}
    sep = json.load(open(out / "sep" / "separation.json"))
    assert sep["sources"] == ["tune", "beat"]
    assert not (out / "broken.wav").exists() and not (out / "broken.json").exists()
    # The page plays each result where it lies, beside the page.
    html = (out / "index.html").read_text()
    assert all(f'src="{name}"' in html for name in ("melody_x_drums.wav", "tex.wav",
                                                    "sep/tune.wav", "sep/beat.wav"))
    # Same code path: the single command with the row's options writes the same samples.
    single = str(tmp_path / "single.wav")
    argv = ["transfer", str(folder / "in/melody.wav"), str(folder / "in/drums.flac"), "-o",
            single, "--quiet", "--threads", "1"]
    argv += [a for k, v in OPTS.items() for a in (f"--{k}", v)]
    assert main(argv) == 0
    np.testing.assert_array_equal(sf.read(single)[0], y)


def test_resume_skips_finished_rows_and_redoes_failed_ones(batch, tmp_path):
    folder, jobs, out, _ = batch
    done = [out / "melody_x_drums.wav", out / "melody_x_drums.json", out / "tex.wav",
            out / "sep" / "tune.wav"]
    before = [p.stat().st_mtime_ns for p in done]
    shutil.copy(folder / "in" / "melody.wav", folder / "in" / "missing.wav")  # fix row 5
    res = run_batch(jobs, "-o", str(out), "--jobs", "1", "--threads", "1")
    assert res.returncode == 1, res.stderr  # row 6 still fails
    assert "5 rows: 1 done, 3 skipped, 1 failed" in res.stderr
    assert [p.stat().st_mtime_ns for p in done] == before  # untouched
    assert len(sf.read(str(out / "broken.wav"))[0]) == SR
    # A row whose options changed is not taken for done, and not clobbered without --overwrite.
    changed = [dict(r) for r in ROWS]
    changed[0]["maxiter"] = "4"
    write_manifest(folder / "jobs2.csv", changed)
    job = manifest.read(str(folder / "jobs2.csv"))[0]
    assert runner.plan(job, str(out), overwrite=False) == \
        ("fail", "melody_x_drums.wav exists from a run with another --maxiter; pass "
                 "--overwrite to redo it")
    assert runner.plan(job, str(out), overwrite=True)[0] == "redo"
    assert runner.plan(manifest.read(jobs)[0], str(out), overwrite=False)[0] == "skip"
    # Its output without its report: the command refuses to clobber it, --overwrite redoes it.
    shutil.copy(out / "melody_x_drums.wav", tmp_path)
    assert runner.plan(job, str(tmp_path), overwrite=False) == ("run", "")
    assert runner.plan(job, str(tmp_path), overwrite=True)[0] == "redo"


def test_a_finished_row_whose_result_was_deleted_runs_again(batch, tmp_path):
    """Its report is there, its WAV is not: not counted as done (skipped), and not refused
    for the report in the way: the batch runs the row again over its own report."""
    folder, jobs, out, _ = batch
    again = tmp_path / "out"
    again.mkdir()
    shutil.copy(out / "melody_x_drums.json", again)  # the WAV deleted, its report kept
    job = manifest.read(jobs)[0]
    how, why = runner.plan(job, str(again), overwrite=False)
    assert how == "redo" and "missing" in why
    one = write_manifest(folder / "only_first.csv", ROWS[:1])
    res = run_batch(one, "-o", str(again), "--jobs", "1", "--threads",
                    "1")
    assert res.returncode == 0, res.stderr
    assert "1 rows: 1 done" in res.stderr
    assert len(sf.read(str(again / "melody_x_drums.wav"))[0]) == SR


def test_sigterm_ends_the_batch_cleanly(tmp_path):
    clips(tmp_path)
    slow = {"mode": "transfer", "content": "in/melody.wav", "style": "in/drums.flac",
            "output": "slow.wav", "maxiter": "100000", "ftol": "1e-300", "patience": "0"}
    jobs = write_manifest(tmp_path / "jobs.csv", [dict(ROWS[0]), slow],
                          extra=("ftol", "patience"))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "cli.py", "batch", jobs, "-o", str(out), "--jobs",
                             "2", "--threads", "1", "--quiet"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (out / "melody_x_drums.json").exists() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the slow row started with it
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err  # 128 + SIGTERM, as the single commands
    assert "run the same command again" in err
    assert len(sf.read(str(out / "melody_x_drums.wav"))[0]) == SR  # the finished row stays
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temp files
    first = (out / "melody_x_drums.wav").stat().st_mtime_ns
    slow_rep = runner.read_report(str(out / "slow.json"))
    if slow_rep is None:  # stopped while its Python was starting: nothing written
        assert not (out / "slow.wav").exists()
        return
    # It got as far as optimizing: its best so far, whole, with a checkpoint; run again (with
    # a few more iterations than it had) the batch continues it there and skips the first row.
    assert slow_rep["interrupted"] and len(sf.read(str(out / "slow.wav"))[0]) == SR
    stopped_at = slow_rep["nit"]
    slow["maxiter"] = str(stopped_at + 3)
    write_manifest(tmp_path / "jobs.csv", [dict(ROWS[0]), slow], extra=("ftol", "patience"))
    job = manifest.read(jobs)[1]
    assert runner.plan(job, str(out), overwrite=False) == ("resume", str(out / "slow.ckpt.npz"))
    res = run_batch(jobs, "-o", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "2 rows: 1 done, 1 skipped" in res.stderr
    rep = runner.read_report(str(out / "slow.json"))
    assert rep["resumed_at_iteration"] == stopped_at and not rep["interrupted"]
    assert rep["nit"] == stopped_at + 3 and not (out / "slow.ckpt.npz").exists()
    assert (out / "melody_x_drums.wav").stat().st_mtime_ns == first


def _interrupted_outputs(out, job, checkpointed: bool = True) -> str:
    """The files an interrupted row leaves: its result, a report saying so, its checkpoint."""
    results, rep = runner.output_paths(job, str(out))
    sf.write(results[0], np.zeros(800, dtype=np.float32), SR)
    config = {**job.expected, "output": results[0], "threads": 1, "overwrite": False}
    with open(rep, "w") as f:
        json.dump({"config": config, "interrupted": True, "nit": 2}, f)
    ckpt = runner.checkpoint.path_for(results[0])
    if checkpointed:
        open(ckpt, "wb").close()
    return ckpt


def test_an_interrupted_row_resumes_only_with_its_own_options(tmp_path):
    """Planned from the files alone (no timing): an interrupted row with its checkpoint
    resumes, given the row's --maxiter; another option changed redoes it (--overwrite); no
    checkpoint redoes it; incomplete outputs are redone only with --overwrite."""
    out = tmp_path / "out"
    out.mkdir()
    row = dict(ROWS[0])
    job = manifest.read(write_manifest(tmp_path / "a.csv", [row]))[0]
    ckpt = _interrupted_outputs(out, job)
    assert runner.plan(job, str(out), overwrite=False) == ("resume", ckpt)
    more = manifest.read(write_manifest(tmp_path / "b.csv", [{**row, "maxiter": "9"}]))[0]
    assert runner.plan(more, str(out), overwrite=False) == ("resume", ckpt)
    assert runner.command(more, str(out), 2, "resume", ckpt) == {
        "mode": "transfer", "explicit": ["maxiter", "progress", "resume", "threads"],
        "fields": {"resume": ckpt, "maxiter": 9, "progress": False, "threads": 2}}
    wider_csv = write_manifest(tmp_path / "c.csv", [{**row, "n-filters": "64"}])
    wider = manifest.read(wider_csv)[0]
    assert runner.plan(wider, str(out), overwrite=False) == ("redo", "unfinished")
    redo = runner.command(wider, str(out), 1, "redo")
    assert redo["fields"]["overwrite"] is True and "overwrite" in redo["explicit"]
    assert redo["fields"]["output"] == str(out / job.output)
    assert redo["fields"]["n_filters"] == 64 and "n_filters" in redo["explicit"]
    run = runner.command(wider, str(out), 1, "run")
    assert run["fields"]["overwrite"] is False and "overwrite" not in run["explicit"]
    os.remove(ckpt)
    assert runner.plan(job, str(out), overwrite=False) == ("redo", "unfinished")
    os.remove(out / "melody_x_drums.json")  # the result without its report
    assert runner.plan(job, str(out), overwrite=False) == ("run", "")
    assert runner.plan(job, str(out), overwrite=True) == ("redo", "incomplete")


def test_jobs_times_threads_fit_the_cores(monkeypatch):
    monkeypatch.setattr(batch_cli, "cores", lambda: 8)
    assert batch_cli.sizes(None, None, 100) == (8, 1)
    assert batch_cli.sizes(None, 2, 100) == (4, 2)
    assert batch_cli.sizes(3, None, 100) == (3, 2)
    assert batch_cli.sizes(None, None, 3) == (3, 1)  # no idle job slots
    assert batch_cli.sizes(2, 16, 100) == (2, 16)  # what you set yourself wins


BAD = [
    ({"mode": "transfr"}, "row 2, column mode"),
    ({"maxiter": "lots"}, "row 2, column maxiter"),
    ({"maxiter": "0"}, "row 2, column maxiter"),
    ({"preset": "slow"}, "row 2, column preset"),
    ({"mode": "texture", "content": "", "preset": "percussive"}, "row 2, column preset"),
    ({"fmin": "3000", "fmax": "1000"}, "row 2, column fmin"),
    ({"bounds": "maybe"}, "row 2, column bounds"),
    ({"output": "../up.wav"}, "row 2, column output"),
    ({"output": "x.aiff"}, "row 2, column output"),
    ({"content": ""}, "row 2, column content"),
    ({"mode": "texture"}, "row 2, column content"),  # a texture takes no content
    ({"mode": "separate", "output": "sep", "style": "one=a.wav"}, "row 2, column style"),
    ({"mode": "separate", "output": "sep", "style": "a.wav;b.wav"}, "row 2, column style"),
    ({"mode": "texture", "content": "", "content-weight": "2"}, "row 2, column content-weight"),
    ({"style": "a.wav:-1"}, "row 2, column style"),
    ({"loudness": "5"}, "row 2, column loudness"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m + str(i) for i, (_, m) in enumerate(BAD)])
def test_invalid_manifest_is_one_line_and_runs_nothing(tmp_path, capsys, change, message):
    row = {**ROWS[0], **change}
    jobs = write_manifest(tmp_path / "jobs.csv", [row], extra=("fmin", "fmax", "bounds",
                                                              "content-weight", "loudness"))
    out = tmp_path / "out"
    assert main(["batch", jobs, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()  # checked whole before anything starts


def test_invalid_header_and_duplicate_outputs(tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("mode,content,style,output,colour\ntransfer,a.wav,b.wav,o.wav,\n")
    assert main(["batch", str(jobs), "-o", str(tmp_path / "out")]) == 2
    assert "row 1, column colour: no mode has this option" in capsys.readouterr().err
    jobs.write_text("mode,content,style,output,threads\ntransfer,a.wav,b.wav,o.wav,2\n")
    assert main(["batch", str(jobs), "-o", str(tmp_path / "out")]) == 2
    assert "row 1, column threads: the batch sets --threads itself" in capsys.readouterr().err
    write_manifest(jobs, [ROWS[0], ROWS[0], ROWS[1]])
    assert main(["batch", str(jobs), "-o", str(tmp_path / "out")]) == 2
    assert "row 3, column output: 'melody_x_drums.wav' is also the output of row 2" in \
        capsys.readouterr().err


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and `dask worker` on 127.0.0.1, stopped afterwards."""
    try:
        import distributed
    except ImportError:
        distributed = None
    need("dask distributed", distributed is not None and shutil.which("dask") is not None)
    env = {**os.environ, "PYTHONPATH": ROOT}
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        procs.append(subprocess.Popen(
            ["dask", "worker", "--scheduler-file", str(info), "--nworkers", "1", "--nthreads",
             "1", "--no-dashboard", "--local-directory", str(tmp_path / "worker")], cwd=ROOT,
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 60
        while not (info.exists() and info.stat().st_size) and time.time() < deadline:
            time.sleep(0.1)
        client = distributed.Client(scheduler_file=str(info), timeout="60s")
        try:
            client.wait_for_workers(1, timeout=60)
            yield client
        finally:
            client.shutdown()  # scheduler and worker close together: faster than signals
            client.close()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_batch_on_a_dask_cluster(dask_cluster, tmp_path):
    clips(tmp_path)
    jobs = write_manifest(tmp_path / "jobs.csv", [ROWS[0], ROWS[1], ROWS[3]])
    out = tmp_path / "out"
    res = run_batch(jobs, "-o", str(out), "--scheduler", dask_cluster.scheduler.address,
                    "--threads", "1")
    assert res.returncode == 1, res.stderr  # the failing row fails alone there too
    assert "3 rows: 2 done, 1 failed" in res.stderr
    assert "row 4 (broken.wav) failed: content file not found:" in res.stderr
    assert len(sf.read(str(out / "melody_x_drums.wav"))[0]) == SR
    assert json.load(open(out / "tex.json"))["config"]["seconds"] == 0.9
    # The scheduler ran them: its "randstyle" tasks have computed for some time.
    durations = dask_cluster.run_on_scheduler(
        lambda dask_scheduler: {k: dict(v.all_durations)
                                for k, v in dask_scheduler.task_prefixes.items()})
    assert durations["randstyle"]["compute"] > 0


def test_single_runs_never_import_dask_and_write_a_page(tmp_path):
    clips(tmp_path)
    (tmp_path / "res").mkdir()
    argv = ["transfer", str(tmp_path / "in/melody.wav"), str(tmp_path / "in/beat.wav"), "-o",
            str(tmp_path / "res/one.wav"), "--html", "--quiet"]
    argv += [a for k, v in OPTS.items() for a in (f"--{k}", v)]
    code = (f"import sys; from randstyle.engine.cli import main; rc = main({argv!r}); "
            "print(rc, 'dask' in sys.modules, 'distributed' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.stdout.split()[-3:] == ["0", "False", "False"], res.stderr
    html = (tmp_path / "res/one.html").read_text()
    assert html.count("<audio") == 3 and 'src="one.wav"' in html
    # Inputs outside the page's folder are copied beside it (the page moves as a pair).
    copied = list((tmp_path / "res/one_files").glob("melody-*.wav"))
    assert len(copied) == 1 and f'src="one_files/{copied[0].name}"' in html
    np.testing.assert_array_equal(sf.read(str(copied[0]))[0],
                                  sf.read(str(tmp_path / "in/melody.wav"))[0])


def test_page_without_matplotlib_says_so(tmp_path, monkeypatch):
    sf.write(str(tmp_path / "a.wav"), demo.plucked_melody(0.5, SR), SR)
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # import matplotlib... -> ImportError
    target = str(tmp_path / "p.html")
    page.write_page(target, [page.Entry("one", [page.Clip("result", str(tmp_path / "a.wav"))],
                                        {"iterations": [{"iter": 1, "total": 1.0}],
                                         "quality": {"snr_db": 3.5}})], "t")
    html = open(target).read()
    assert page.NO_MATPLOTLIB in html and "<img" not in html
    assert 'src="a.wav"' in html and "snr_db" in html


def test_page_names_its_files_and_labels_its_figures(tmp_path, monkeypatch):
    """Each player names its file; the tables read "wall time (s)", not the report's keys;
    a batch's sections count from 1 in the manifest's order."""
    sf.write(str(tmp_path / "drums.wav"), demo.drum_loop(0.5, SR), SR)
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # no pictures: quicker, same tables
    job = runner.Job(row=2, mode="texture", output="tex.wav", fields={}, explicit=[], options={},
                     inputs={"style": str(tmp_path / "drums.wav")})
    e = batch_cli.entry(runner.Outcome(job, "failed", "why"), str(tmp_path), 1)
    e.report = {"wall_time_s": 1.5, "nit": 3, "quality": {"style_distance": 0.2}}
    target = str(tmp_path / "p.html")
    page.write_page(target, [e], "t")
    html = open(target).read()
    assert "style: drums.wav" in html and "1. tex.wav (texture, manifest line 2)" in html
    assert "wall time (s)" in html and "style distance" in html and "wall_time_s" not in html


def _launch_chromium(playwright):
    return playwright.chromium.launch(
        executable_path=shutil.which("chromium"),
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"])


def test_page_plays_in_headless_chromium(batch, tmp_path):
    need("chromium", shutil.which("chromium") is not None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    need("playwright", sync_playwright is not None)
    folder, _, out, _ = batch
    index = out / "index.html"
    with sync_playwright() as p:
        browser = _launch_chromium(p)
        try:
            tab = browser.new_page(viewport={"width": 1200, "height": 900})
            tab.goto(index.as_uri())
            tab.wait_for_function("[...document.querySelectorAll('audio')].every("
                                  "a => a.readyState >= 1 || a.error)", timeout=30000)
            audios = tab.evaluate("[...document.querySelectorAll('audio')].map("
                                  "a => [a.getAttribute('src'), a.duration, !!a.error])")
            images = tab.evaluate("[...document.images].map(i => [i.getAttribute('src'), "
                                  "i.complete, i.naturalWidth])")
            tab.screenshot(path=str(tmp_path / "batch_page.png"), full_page=True)
        finally:
            browser.close()
    # 3 + 3 + 5 clips, and the last row's 3 (only its style while its content is missing).
    assert len(audios) in (12, 14)
    for src, duration, error in audios:
        assert not error and not src.startswith(("/", "..", "file:", "http")), src
        assert duration == pytest.approx(sf.info(str(out / src)).duration, abs=0.01), src
        if src.startswith("index_files/"):  # an input's copy: as long as the input itself
            original, = (folder / "in").glob(src.split("/")[1].rsplit("-", 1)[0] + ".*")
            assert duration == pytest.approx(sf.info(str(original)).duration, abs=0.01), src
    # one per finished row that ran an optimizer (separate's default, the dictionary method, runs
    # none, so it has no loss curve)
    losses = index.read_text().count('class="loss"')
    assert losses == (2 if len(audios) == 12 else 3)
    assert len(images) == len(audios) + losses  # and a spectrogram per player
    assert all(complete and width > 0 for _, complete, width in images), images
