"""Property-based robustness: odd files into the loader and odd values into the configs.
Each case either works or raises ParameterError (the CLI's one-line error, exit 2)."""
import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from randstyle import engine
from randstyle.engine import audio
from randstyle.engine.cli import main
from randstyle.engine.errors import ParameterError

FORMATS = [("WAV", "PCM_U8"), ("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"),
           ("FLAC", "PCM_S8"), ("FLAC", "PCM_16"), ("FLAC", "PCM_24"), ("OGG", "VORBIS")]
RATES = [8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(FORMATS), sr=st.sampled_from(RATES),
       channels=st.sampled_from([1, 2, 6]),
       frames=st.one_of(st.sampled_from([0, 1, 2, 3, 7]), st.integers(8, 40000)),
       kind=st.sampled_from(["noise", "silence", "loud"]), mono=st.booleans())
def test_loader_works_or_says_why(tmp_path_factory, fmt, sr, channels, frames, kind, mono):
    rng = np.random.default_rng(frames)
    data = {"noise": rng.standard_normal((frames, channels)) * 0.3,
            "silence": np.zeros((frames, channels)),
            "loud": rng.standard_normal((frames, channels)) * 5}[kind]
    path = tmp_path_factory.mktemp("a") / f"x.{fmt[0].lower()}"
    try:
        sf.write(str(path), data, sr, format=fmt[0], subtype=fmt[1])
    except (sf.LibsndfileError, RuntimeError):
        assume(False)  # the format cannot hold this (e.g. Vorbis at 192 kHz): not our loader
    try:
        x = audio.load(str(path), 22050, mono=mono)
    except ParameterError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert kind == "silence" or frames < 2 or fmt[1] in ("PCM_U8", "PCM_S8", "VORBIS")
        return
    assert x.dtype == np.float32 and np.all(np.isfinite(x))
    expected = int(np.ceil(frames * 22050 / sr))
    assert abs(x.shape[0] - expected) <= 1
    assert x.ndim == 1 if mono else x.shape[1] == channels


def test_very_long_file(tmp_path):
    path = tmp_path / "long.flac"
    t = np.arange(10 * 60 * 8000) / 8000  # ten minutes
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 8000)
    x = audio.load(str(path), 22050, start=300, end=302)
    assert len(x) == 44100


FIELDS = {"sr": st.integers(-10, 200000), "n_fft": st.integers(-4, 4096),
          "hop_length": st.integers(-2, 2048), "n_filters": st.integers(-2, 64),
          "kernel_size": st.integers(-1, 20), "n_mels": st.integers(-1, 40),
          "fmin": st.floats(-100, 30000, allow_nan=False),
          "fmax": st.one_of(st.none(), st.floats(-100, 120000, allow_nan=False)),
          "n_resid": st.integers(-1, 3), "seed": st.integers(-5, 2 ** 31),
          "dtype": st.sampled_from(["float32", "float64", "float16", ""]),
          "content_features": st.sampled_from(["harmonic", "mel", "chroma"])}


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional=FIELDS))
def test_config_works_or_says_why(values):
    try:
        cfg = engine.NetworkConfig(**values)
    except ParameterError as exc:
        assert exc.params and exc.params[0] in str(exc)  # the API names the parameter
        return
    assert cfg.n_fft > 0 and cfg.n_fft % 2 == 0 and cfg.hop_length > 0


# Each example is a whole transfer (~1.3 CPU s): 8 drawn, beside the two edges always run
# (a content shorter than one frame, a style too short for the network's receptive field).
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seconds=st.floats(0.001, 3.0), style_seconds=st.floats(0.001, 3.0),
       n_fft=st.sampled_from([64, 128, 256]), hop=st.sampled_from([16, 32, 64]))
@example(seconds=0.001, style_seconds=3.0, n_fft=256, hop=16)
@example(seconds=3.0, style_seconds=0.001, n_fft=64, hop=64)
def test_cli_runs_or_exits_2(tmp_path_factory, capsys, seconds, style_seconds, n_fft, hop):
    tmp = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    content = tmp / "c.wav"
    style = tmp / "s.wav"
    sf.write(str(content), rng.standard_normal(int(seconds * 8000)) * 0.2, 8000)
    sf.write(str(style), rng.standard_normal(int(style_seconds * 8000)) * 0.2, 8000)
    out = tmp / "o.wav"
    code = main(["transfer", str(content), str(style), "-o", str(out), "--sr", "8000",
                 "--n-fft", str(n_fft), "--hop-length", str(hop), "--n-filters", "8",
                 "--rhythm-filters", "8", "--rhythm-kernel-size", "6", "--maxiter", "2",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and not out.exists()
        assert "receptive field" in err or "empty" in err or "no samples" in err
    else:
        assert sf.info(str(out)).frames == int(seconds * 8000)
