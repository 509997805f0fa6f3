"""The test audit of issue 21: break a behaviour on purpose, see which test catches it.

``python -m bench.audit mutants [--only ID,ID] [--markdown]``

Each mutant replaces one exact piece of a source file (it must occur once) with a realistic
bug: an off-by-one in the resumed iteration count, a checkpoint left behind, a report field
wrong, a batch row's error swallowed, ... The tracked files are copied once into a scratch
folder; each mutant is applied there, the test files of its room run against the copy
(``pytest -x``: the first failure names the test that caught it), and the file is put back.
The checkout itself is never touched. A mutant whose tests all pass "survived": the suite
would not notice that bug. The unbroken copy is run first: its tests must pass, or a
"caught" would mean nothing. Rooms run only the affected test files (tests/test_batch.py
narrowed with -k), so the audit takes minutes on a shared machine.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import lab
from bench.audit.mutant_list import MUTANTS, ROOMS

ROOT = Path(__file__).resolve().parents[2]


def scratch_copy() -> Path:
    """The tracked files (as they are in the work tree) in a fresh temporary folder."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    dest = Path(tempfile.mkdtemp(prefix="randstyle_mutants_"))
    for name in filter(None, files):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    return dest


def run_tests(copy: Path, selection: list, timeout_s: int) -> tuple:
    """(passed, the first failing test or the reason) for pytest on the copy."""
    env = {**os.environ, "PYTHONPATH": str(copy), "RANDSTYLE_REQUIRE_CUDA_EMULATION": "1"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *selection]
    try:
        out = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True,
                             timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout_s} s"
    if out.returncode == 0:
        return True, ""
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", out.stdout, re.M)
    return False, failed[0] if failed else f"pytest exit {out.returncode}"


def apply(copy: Path, mutant: dict) -> str:
    """Break the copy's file; returns its original text (to put back) after checking that the
    piece to replace occurs exactly once."""
    path = copy / mutant["file"]
    text = path.read_text()
    count = text.count(mutant["old"])
    if count != 1:
        raise SystemExit(f"mutant {mutant['id']}: its text occurs {count} times in "
                         f"{mutant['file']}; update bench/audit/mutant_list.py")
    path.write_text(text.replace(mutant["old"], mutant["new"]))
    return text


def verdict(copy: Path, mutant: dict, selection: list, timeout_s: int) -> tuple:
    """(survived, the test that caught it). A test that fails also on the unbroken copy (a
    clock-bound test on a loaded machine) is flaky, not a catch: deselected, and the room
    runs again."""
    flaky: list = []
    while True:
        original = apply(copy, mutant)
        try:
            ok, why = run_tests(copy, selection + [a for t in flaky for a in ("--deselect", t)],
                                timeout_s)
        finally:
            (copy / mutant["file"]).write_text(original)
        if ok or "::" not in why or run_tests(copy, [why], timeout_s)[0]:
            note = f" (flaky, deselected: {', '.join(flaky)})" if flaky else ""
            return ok, why + note
        flaky.append(why)


def line_of(mutant: dict) -> int:
    text = (ROOT / mutant["file"]).read_text()
    return text[:text.index(mutant["old"])].count("\n") + 1


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated mutant ids (default: all)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per test run")
    ap.add_argument("--markdown", action="store_true", help="print the table for docs/")
    ap.add_argument("--tests", default="", help="pytest arguments to run instead of the "
                                                "mutants' rooms (space-separated)")
    args = ap.parse_args(argv)
    wanted = set(filter(None, args.only.split(",")))
    chosen = [m for m in MUTANTS if not wanted or m["id"] in wanted]
    rooms = {r: args.tests.split() if args.tests else ROOMS[r] for r in ROOMS}
    copy = scratch_copy()
    try:
        for room in sorted({m["room"] for m in chosen}):
            ok, why = run_tests(copy, rooms[room], args.timeout)
            if not ok:
                raise SystemExit(f"the unbroken {room} tests fail ({why}): fix that first")
        rows = []
        for m in chosen:
            ok, why = verdict(copy, m, rooms[m["room"]], args.timeout)
            rows.append((m, "SURVIVED" if ok else why))
            print(f"{m['id']:4s} {'survived' if ok else 'caught  '} {why}", file=sys.stderr)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    if args.markdown:
        print("\n".join(lab.head("id", "breakage", "where", "caught by")))
        for m, found in rows:
            print(lab.row(m["id"], m["what"], f"{m['file']}:{line_of(m)}", found))
    survived = [m["id"] for m, v in rows if v == "SURVIVED"]
    print(f"{len(rows)} mutants: {len(rows) - len(survived)} caught, {len(survived)} survived"
          + (f" ({', '.join(survived)})" if survived else ""), file=sys.stderr)
    return 1 if survived else 0

