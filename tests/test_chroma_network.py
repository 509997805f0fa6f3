"""--chroma-network (engine/run/modes.transfer_objective): the chroma term on the content
network's STFT, or on the style network with the longest STFT (its own chroma filterbank,
its pull kept at --chroma-weight through --member-weight); the whole ensemble's gradient
with the term on a member by finite differences on every backend; the option's refusal."""
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


def test_the_longest_style_network_holds_the_term_on_its_own_stft():
    obj, _ = transfer_ensemble(networks=3, member_weight=0.5, chroma_network="longest")
    assert [m.network.config.n_fft for m in obj.members] == [256, 128, 256, 512]
    assert chroma_holders(obj) == [False, False, False, True]
    longest = obj.members[3]
    assert longest.chroma[0].shape == (12, 1 + 512 // 2) and longest.content_target is None
    # the member's weight (0.5) scales the whole member: the term's own weight makes it up
    assert longest.chroma_weight == pytest.approx(4.0)
    default, _ = transfer_ensemble(networks=3)
    assert chroma_holders(default) == [True, False, False, False]


def test_the_content_network_keeps_it_where_no_style_network_is_longer():
    shorter, _ = transfer_ensemble(networks=2, n_ffts="128,256", chroma_network="longest")
    assert chroma_holders(shorter) == [True, False, False]
    one, _ = transfer_ensemble(chroma_network="longest")  # one network: content and style
    assert one.chroma is not None
    off, _ = transfer_ensemble(networks=2, chroma_network="longest", chroma_weight=0.0)
    assert chroma_holders(off) == [False, False, False]


@pytest.mark.parametrize("backend", BACKENDS)
def test_ensemble_gradient_with_the_term_on_a_member(backend):
    """float64: dL/dx of the balanced ensemble against central differences."""
    r = np.random.default_rng(29)
    n = 240
    obj, _ = transfer_ensemble({**TINY, "dtype": "float64"}, backend,
                      (r.standard_normal(n) * 0.3, r.standard_normal(320) * 0.3), networks=2,
                      chroma_network="longest", chroma_octaves="flat")
    assert chroma_holders(obj) == [False, False, True]
    factors = obj.balance(r.standard_normal(n) * 0.1)
    assert factors["chroma_2"] > 0
    x = r.standard_normal(n) * 0.3
    value, grad = obj.value_and_grad(x)
    assert obj.last_terms["chroma"] > 0
    assert rel_error(grad, numeric_grad(lambda v: obj.value_and_grad(v)[0], x)) < 1e-6


def test_a_network_name_not_known_is_one_line(tmp_path, capsys):
    with pytest.raises(ParameterError, match="chroma_network must be one of content, longest"):
        TransferConfig(chroma_network="widest")
    sf.write(str(tmp_path / "c.wav"), sine(0.5, SR, 330.0), SR)
    out = tmp_path / "o.wav"
    with pytest.raises(SystemExit) as e:  # argparse's choices
        main(["transfer", str(tmp_path / "c.wav"), "--style", str(tmp_path / "c.wav"), "-o",
              str(out), "--chroma-network", "widest", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and not out.exists() and "--chroma-network" in err[-1]


def test_both_puts_the_term_on_the_content_network_and_the_longest():
    obj, _ = transfer_ensemble(networks=3, member_weight=0.5, chroma_network="both")
    assert chroma_holders(obj) == [True, False, False, True]
    # each at --chroma-weight's pull: the member's through --member-weight
    assert obj.members[0].chroma_weight == pytest.approx(2.0)
    assert obj.members[3].chroma_weight == pytest.approx(4.0)
    shorter, _ = transfer_ensemble(networks=2, n_ffts="128,256", chroma_network="both")
    assert chroma_holders(shorter) == [True, False, False]  # no longer member: once
