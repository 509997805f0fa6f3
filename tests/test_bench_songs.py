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


def test_equal_trims_every_window_it_scores(monkeypatch, tmp_path):
    """--trim leaves out each window's ends, the song's and the clips' alike (a stand-in
    measure: the samples it is given)."""
    import numpy as np
    import soundfile as sf

    import bench.corpus.quality
    import bench.texture
    from randstyle.engine.model import evaluate
    sr = songs.SR
    monkeypatch.setattr(songs, "ROWS", tmp_path / "rows.jsonl")
    monkeypatch.setattr(bench.corpus.quality, "measured",
                        lambda x, grams, checks, c: {"n": len(x), "first": float(x[0])})
    monkeypatch.setattr(bench.texture, "check_grams", lambda style: None)
    monkeypatch.setattr(evaluate, "eval_grams", lambda style, sr: None)
    y = np.arange(4 * sr, dtype=np.float32) / sr  # a ramp: the first sample says where
    for name, x in (("song", y), ("clip", y[2 * sr:])):
        sf.write(tmp_path / f"{name}.wav", x, sr, subtype="FLOAT")
        songs.record({"bench": "songs.runs", "result": str(tmp_path / f"{name}.wav"),
                      "cpu_s_per_audio_s": 1.0, "nit": 1, "nit_per_segment": [1]})
    args = argparse.Namespace(result=str(tmp_path / "song.wav"),
                              content=str(tmp_path / "song.wav"),
                              style=str(tmp_path / "song.wav"), window=2.0, trim=0.5,
                              clips=[f"2:{tmp_path / 'clip.wav'}"])
    songs.equal(args)
    row = json.loads(open(tmp_path / "rows.jsonl").read().splitlines()[-1])
    assert row["song_windows"]["2"] == {"n": sr, "first": 2.5}  # 2.5-3.5 s of the song
    assert row["clips"][0]["clip"] == row["clips"][0]["song_same_stretch"] == row[
        "song_windows"]["2"] and row["trim_s"] == 0.5
