"""The percussive kind's chroma octaves by the content's bass (engine/run/choice.py,
docs/results/quality.md "The percussive kind's octaves by the content's bass"): under drums
a content with a bass gets the low octaves, one without (the demo's melody) flat ones; a
setting the user gave stands, and a song is read once, whole."""
import numpy as np
from helpers import sine

from randstyle import engine
from randstyle.engine import demo
from randstyle.engine.run.choice import BASS_SHARE, bass_share, choose, song_choice

SR = 22050


def test_under_drums_the_chroma_octaves_follow_the_content_s_bass():
    drums = [(demo.drum_loop(3.0, SR), 1.0)]
    melody = demo.plucked_melody(3.0, SR)  # C4 to E5: no bass
    with_bass = melody + sine(3.0, SR, freq=82.4, amp=0.3)[:len(melody)]  # over an E2
    assert bass_share(melody, SR) < BASS_SHARE / 5 and bass_share(with_bass, SR) > 2 * BASS_SHARE
    for content, octaves in ((with_bass, "low"), (melody, "flat")):
        cfg, record = choose(engine.TransferConfig(), drums, content)
        assert record["style_kind"] == "percussive" and cfg.chroma_octaves == octaves
        assert record["set"]["chroma_octaves"] == octaves
        assert record["bass_share"] == round(bass_share(content, SR), 3)
        fixed = song_choice(engine.TransferConfig(), drums, content)
        assert (fixed.style_kind, fixed.chroma_octaves) == ("percussive", octaves)
    # the user's octaves stand; without content (no chroma term) the kind's low ones
    cfg, record = choose(engine.TransferConfig(chroma_octaves="low"), drums, melody)
    assert cfg.chroma_octaves == "low" and "chroma_octaves" not in record["set"]
    assert choose(engine.TransferConfig(), drums)[0].chroma_octaves == "low"
    # a tonal style's settings do not read the bass
    cfg, record = choose(engine.TransferConfig(), [(demo.chord_pad(3.0, SR), 1.0)], with_bass)
    assert record["style_kind"] == "tonal" and "bass_share" not in record


def test_the_bass_share_is_the_power_below_200_hz():
    low, high = sine(1.0, SR, freq=110.0, amp=1.0), sine(1.0, SR, freq=440.0, amp=0.5)
    assert bass_share(low, SR) > 0.99 and bass_share(high, SR) < 0.01
    assert abs(bass_share(low + high, SR) - 0.8) < 0.02  # powers 1 : 0.25
    assert bass_share(np.zeros(100, dtype=np.float32), SR) == 0.0
