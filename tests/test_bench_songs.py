"""bench/songs.py's seams: the joins it scores are the result's own (issue 32)."""
import argparse
import json

from bench import songs
from randstyle.engine.run import segments


def test_seams_take_the_cut_from_the_results_report(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({
        "segment_s": 10.0, "overlap_s": 2.0,
        "segments": [{"start": 0, "end": 100}, {"start": 70, "end": 170}]}))
    args = argparse.Namespace(result=str(tmp_path / "r.wav"), segment=None, overlap=2.0)
    assert songs._cut(args, 170, segments) == [(0, 100), (70, 170)]
    assert (args.segment, args.overlap) == (10.0, 2.0)  # the table's row says what was cut


def test_seams_without_a_report_cut_as_told():
    n = int(50 * songs.SR)
    args = argparse.Namespace(result="/nonexistent/r.wav", segment=None, overlap=2.0)
    assert songs._cut(args, n, segments) == segments.windows(
        n, int(segments.SEGMENT_S * songs.SR), int(2 * songs.SR))
    args = argparse.Namespace(result="/nonexistent/r.wav", segment=10.0, overlap=1.0)
    assert len(songs._cut(args, n, segments)) == 6  # ceil((50 - 1) / (10 - 1))
