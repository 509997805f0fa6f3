"""--chroma-n-fft (engine/run/modes.chroma_stft): the chroma term alone on an STFT of its own,
a last member beside the content and style networks (no convolution, no content or style
term), pulling as it does on the content network; the whole ensemble's gradient by finite
differences on every backend; the option's refusals, one line and exit 2."""
import numpy as np
import pytest
import soundfile as sf
from conftest import CUDA_TESTABLE
from helpers import SMALL, TINY, chroma_holders, numeric_grad, rel_error, sine, transfer_ensemble

from randstyle.engine.cli import main
from randstyle.engine.config import TransferConfig
from randstyle.engine.errors import ParameterError

BACKENDS = ["numpy", "cpu"] + (["cuda"] if CUDA_TESTABLE else [])
SR = SMALL["sr"]


def test_its_own_stft_holds_the_term_and_nothing_else():
    obj, _ = transfer_ensemble(networks=3, chroma_n_fft=1024, chroma_network="longest")
    stfts = [(m.network.config.n_fft, m.network.config.hop_length) for m in obj.members]
    assert stfts == [(256, 64), (128, 32), (256, 64), (512, 128), (1024, 256)]
    assert chroma_holders(obj) == [False, False, False, False, True]  # not the longest network's
    own = obj.members[-1]
    assert own.content_target is None and own.style_branches == []
    assert own.branches == {"logmag"} and own.network.config.n_filters == 1
    assert own.chroma[0].shape == (12, 1 + 1024 // 2) and own.chroma_weight == 2.0
    assert obj.weights[-1] == 1.0
    one, _ = transfer_ensemble(chroma_n_fft=1024)  # one network for content and style, and the STFT
    assert chroma_holders(one) == [False, True]
    off, _ = transfer_ensemble(chroma_n_fft=1024, chroma_weight=0.0)  # no term: no member
    assert off.chroma is None and not hasattr(off, "members")


def test_at_the_content_network_s_stft_it_pulls_as_the_term_there_does():
    """An STFT of its own as long as the content network's (its hop a quarter, as SMALL's)
    gives the same balanced term and gradient as the term on the content network: its own
    member's weight and balance keep --chroma-weight's meaning."""
    r = np.random.default_rng(3)
    x, at = r.standard_normal(SR) * 0.1, r.standard_normal(SR) * 0.1
    there, _ = transfer_ensemble({**SMALL, "dtype": "float64"})
    own, _ = transfer_ensemble({**SMALL, "dtype": "float64"}, chroma_n_fft=SMALL["n_fft"])
    assert chroma_holders(own) == [False, True]
    there.balance(at), own.balance(at)
    (t1, g1), (t2, g2) = there.terms_and_grad(x), own.terms_and_grad(x)
    assert t2["chroma"] == pytest.approx(t1["chroma"], rel=1e-9) and t1["chroma"] > 0
    assert t2["total"] == pytest.approx(t1["total"], rel=1e-9)
    assert rel_error(g1, g2) < 1e-9


@pytest.mark.parametrize("backend", BACKENDS)
def test_ensemble_gradient_with_the_term_on_its_own_stft(backend):
    """float64: dL/dx of the balanced ensemble (content network, two style networks, the
    chroma STFT) against central differences."""
    r = np.random.default_rng(29)
    n = 160
    obj, _ = transfer_ensemble({**TINY, "dtype": "float64"}, backend,
                      (r.standard_normal(n) * 0.3, r.standard_normal(320) * 0.3), networks=2,
                      chroma_n_fft=64, chroma_octaves="low")
    assert chroma_holders(obj) == [False, False, False, True]
    factors = obj.balance(r.standard_normal(n) * 0.1)
    assert factors["chroma_3"] > 0
    x = r.standard_normal(n) * 0.3
    obj.value_and_grad(x)
    assert obj.last_terms["chroma"] > 0
    assert rel_error(obj.value_and_grad(x)[1],
                     numeric_grad(lambda v: obj.value_and_grad(v)[0], x)) < 1e-6


def test_an_odd_size_or_a_content_shorter_than_it_is_one_line(tmp_path, capsys):
    with pytest.raises(ParameterError, match="chroma_n_fft must be 0 .off. or an even size"):
        TransferConfig(chroma_n_fft=1023)
    with pytest.raises(ParameterError, match="--chroma-n-fft sets it"):
        transfer_ensemble(chroma_n_fft=16384)  # the content: 1 s at 8000 Hz
    sf.write(str(tmp_path / "c.wav"), sine(1.0, SR, 330.0), SR)
    out = tmp_path / "o.wav"
    for size, said in (("1023", "chroma-n-fft must be 0"), ("16384", "--chroma-n-fft sets")):
        rc = main(["transfer", str(tmp_path / "c.wav"), "--style", str(tmp_path / "c.wav"),
                   "-o", str(out), "--sr", str(SR), "--n-fft", "256", "--hop-length", "64",
                   "--style-kind", "none", "--chroma-weight", "1", "--chroma-n-fft", size,
                   "--quiet"])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and not out.exists() and len(err) == 1, err
        assert said in err[0], err
