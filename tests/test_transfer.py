"""engine.transfer end to end on small signals."""
import pytest
from helpers import SMALL

from randstyle import engine
from randstyle.engine.demo import drum_loop, plucked_melody

SR = SMALL["sr"]
FAST = dict(SMALL, rhythm_filters=64, backend="cpu", progress=False)


@pytest.mark.parametrize("style_seconds", [1.0, 5.0])  # shorter and longer than the content
def test_transfer_with_style_of_another_length(style_seconds):
    content = plucked_melody(2.0, SR)
    signal, report = engine.transfer(content, drum_loop(style_seconds, SR),
                                     engine.TransferConfig(**FAST, maxiter=15))
    assert signal.shape == content.shape
    assert report["final_loss"]["style"] < report["initial_loss"]["style"]
