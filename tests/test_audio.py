"""Audio I/O through real soundfile files: loading, mono, resampling, cuts, safe writes."""
import os

import numpy as np
import pytest
import soundfile as sf
from helpers import sine, write

from randstyle.engine import audio
from randstyle.engine.errors import ParameterError


def test_load_stereo_resamples_and_mixes(tmp_path):
    sr_in = 44100
    left = sine(1.0, sr_in, 1000.0)
    path = write(tmp_path / "st.wav", np.stack([left, left], axis=1), sr_in)
    x = audio.load(path, 22050)
    assert x.dtype == np.float32 and x.ndim == 1 and len(x) == 22050
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spectrum) * 22050 / len(x) - 1000.0) < 2.0  # the tone survived


@pytest.mark.parametrize("fmt,subtype", [("WAV", "FLOAT"), ("FLAC", "PCM_24"), ("OGG", "VORBIS")])
def test_load_formats(tmp_path, fmt, subtype):
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(str(path), sine(0.5, 22050), 22050, format=fmt, subtype=subtype)
    assert len(audio.load(str(path), 22050)) == 11025


def test_cut(tmp_path):
    path = write(tmp_path / "a.wav", sine(2.0, 22050), 22050)
    assert len(audio.load(path, 22050, start=0.5, end=1.5)) == 22050
    assert len(audio.load(path, 22050, start=1.0)) == 22050
    assert len(audio.load(path, 22050, end=5.0)) == 44100  # past the end: up to the end


@pytest.mark.parametrize("start,end,match", [(1.0, 1.0, "before"), (1.5, 0.5, "before"),
                                             (3.0, None, "past the end"), (-1.0, None, ">= 0")])
def test_bad_cut(tmp_path, start, end, match):
    path = write(tmp_path / "a.wav", sine(2.0, 22050), 22050)
    with pytest.raises(ParameterError, match=match):
        audio.load(path, 22050, start=start, end=end)


def test_bad_files(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        audio.load(str(tmp_path / "missing.wav"), 22050)
    with pytest.raises(ParameterError, match="directory"):
        audio.load(str(tmp_path), 22050)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    with pytest.raises(ParameterError, match="as audio"):
        audio.load(str(text), 22050)
    empty = write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(ParameterError, match="no samples"):
        audio.load(empty, 22050)
    silent = write(tmp_path / "silent.wav", np.zeros(1000, dtype=np.float32), 22050)
    with pytest.raises(ParameterError, match="silent"):
        audio.load(silent, 22050)
    x = sine(0.1, 22050)
    x[10] = np.nan
    nan = write(tmp_path / "nan.wav", x, 22050, subtype="FLOAT")
    with pytest.raises(ParameterError, match="NaN or Inf"):
        audio.load(nan, 22050)


def test_write_normalizes_and_never_clobbers(tmp_path):
    path = str(tmp_path / "out.wav")
    audio.write_wav(path, 3 * sine(0.2, 8000), 8000, normalize=True)
    y, sr = sf.read(path)
    assert sr == 8000 and sf.info(path).subtype == "PCM_16"
    assert abs(np.max(np.abs(y)) - audio.PEAK) < 1e-3
    with pytest.raises(ParameterError, match="overwrite=True"):
        audio.write_wav(path, sine(0.1, 8000), 8000)
    assert len(sf.read(path)[0]) == 1600  # untouched
    audio.write_wav(path, sine(0.1, 8000), 8000, subtype="float", overwrite=True)
    assert sf.info(path).subtype == "FLOAT" and len(sf.read(path)[0]) == 800


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = str(tmp_path / "out.wav")
    audio.write_wav(path, sine(0.2, 8000), 8000)
    before = open(path, "rb").read()

    def crash(*args, **kwargs):
        with open(args[0], "wb") as f:
            f.write(b"RIFF half")
        raise OSError("disk full")
    monkeypatch.setattr(audio.sf, "write", crash)
    with pytest.raises(OSError):
        audio.write_wav(path, sine(0.1, 8000), 8000, overwrite=True)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["out.wav"]


def test_check_output_folder(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        audio.check_output(str(tmp_path / "nope" / "a.wav"), overwrite=False)


def test_weighted_spec_is_the_one_file_weight_parser():
    """FILE[:WEIGHT], as --style (transfer, texture, evaluate) and a manifest's style cell
    read it: a ':' whose tail is no number belongs to the path."""
    from randstyle.engine.audio import weighted_spec
    assert weighted_spec("drums.wav:0.3") == ("drums.wav", 0.3)
    assert weighted_spec("C:/clips/drums.wav") == ("C:/clips/drums.wav", None)
    assert weighted_spec("take:2.wav") == ("take:2.wav", None)
    for bad in ("a.wav:0", "a.wav:-1", "a.wav:inf", "a.wav:nan"):
        with pytest.raises(ParameterError, match="positive and finite"):
            weighted_spec(bad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("normalize", [True, False])
def test_write_refuses_non_finite_samples_and_writes_nothing(tmp_path, bad, normalize):
    """NaN (or inf) would be written as full scale (-1.0) without a word: refused in one
    line that says how many, and nothing is written."""
    x = sine(0.1, 8000)
    x[[5, 50]] = bad
    path = str(tmp_path / "out.wav")
    with pytest.raises(ParameterError, match=r"2 NaN or infinite samples.*out\.wav"):
        audio.write_wav(path, x, 8000, normalize=normalize)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix,fmt,subtype", [(".flac", "FLAC", "PCM_16"),
                                                (".ogg", "OGG", "VORBIS"),
                                                (".mp3", "MP3", "MPEG_LAYER_III"),
                                                (".WAV", "WAV", "PCM_16")])
def test_write_takes_the_format_from_the_suffix(tmp_path, suffix, fmt, subtype):
    if fmt == "MP3" and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile writes no MP3 (needs >= 1.1)")
    path = str(tmp_path / f"out{suffix}")
    x = sine(0.5, 8000, 440.0, 0.5)
    audio.write_wav(path, x, 8000, normalize=True)
    info = sf.info(path)
    assert (info.format, info.subtype, info.samplerate) == (fmt, subtype, 8000)
    y = sf.read(path)[0]
    assert abs(len(y) - len(x)) < 1200  # the lossy coders pad by a frame
    assert abs(np.max(np.abs(y)) - audio.PEAK) < 0.1


def test_write_refuses_what_the_suffix_cannot_hold(tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match=r"\.wav, \.flac, \.ogg or \.mp3.*out\.aiff"):
        audio.write_wav(str(tmp_path / "out.aiff"), sine(0.1, 8000), 8000)
    with pytest.raises(ParameterError, match="--subtype float.*\\.wav"):
        audio.write_wav(str(tmp_path / "out.flac"), sine(0.1, 8000), 8000, subtype="float")
    # An older libsndfile (< 1.1) has no MP3: refused before anything is written.
    monkeypatch.setattr(audio.sf, "available_subtypes", lambda fmt=None: {})
    with pytest.raises(ParameterError, match=r"libsndfile .* cannot write \.mp3.*>= 1\.1"):
        audio.check_output_format(str(tmp_path / "out.mp3"))
    assert os.listdir(tmp_path) == []


def test_write_resamples_to_the_output_rate(tmp_path):
    """The method runs at --sr; the file is written at the rate asked (the input's)."""
    path = str(tmp_path / "out.flac")
    audio.write_wav(path, sine(0.5, 8000, 440.0), 8000, out_sr=16000)
    y, sr = sf.read(path)
    assert sr == 16000 and len(y) == 8000
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * sr / len(y) - 440.0) < 3.0


@pytest.mark.parametrize("rates", [(22050, 44100), (44100, 22050), (44100, 48000),
                                   (48000, 44100), (16000, 22050)])
def test_resampling_in_blocks_gives_resample_polys_values(monkeypatch, rates):
    # Issue 32: blocks of 1000 input samples (a song's are 2**18), each with the neighbours
    # the filter reaches: the values of one resample_poly of the whole signal, mono and
    # stereo, in the input's dtype or in float64 (write_wav's).
    from math import gcd

    from scipy.signal import resample_poly
    monkeypatch.setattr(audio, "BLOCK", 1000)
    sr_in, sr_out = rates
    up, down = sr_out // gcd(sr_in, sr_out), sr_in // gcd(sr_in, sr_out)
    rng = np.random.default_rng(4)
    for x in (rng.standard_normal(30011).astype(np.float32), rng.standard_normal((7001, 2))):
        for work in (None, np.float64):
            want = resample_poly(np.asarray(x, dtype=work), up, down, axis=0)
            np.testing.assert_array_equal(audio.resample(x, sr_in, sr_out, work=work),
                                          want.astype(np.float32))


def test_writing_a_long_signal_holds_no_float64_copy_of_it(tmp_path, monkeypatch):
    # Issue 32: written at twice its rate, a 10-minute song held 404 MiB above itself in
    # float64 copies at both rates; now the float32 output and a block. The samples are
    # those of the float64 path (resample_poly in float64, normalized in float64).
    import tracemalloc

    from scipy.signal import resample_poly
    monkeypatch.setattr(audio, "BLOCK", 1 << 12)
    x = sine((1 << 20) / 8000, 8000) * np.linspace(0.1, 0.9, 1 << 20, dtype=np.float32)
    path = str(tmp_path / "out.wav")
    for out_sr, normalize, most in ((16000, False, 2.3), (8000, False, 0.3), (16000, True, 2.3)):
        tracemalloc.start()
        try:
            audio.write_wav(path, x, 8000, subtype="float", overwrite=True,
                            normalize=normalize, out_sr=out_sr)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < most * x.nbytes
        want = resample_poly(x.astype(np.float64), out_sr // 8000, 1).astype(np.float32)
        want = want.astype(np.float64)
        want = want * (audio.PEAK / np.abs(want).max()) if normalize else want
        np.testing.assert_array_equal(sf.read(path, dtype="float32")[0],
                                      want.astype(np.float32))
