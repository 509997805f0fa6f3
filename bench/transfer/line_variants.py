"""Issue 29's tonal and line kinds, measured further (``python -m bench.transfer default
--variants ...``; docs/results/quality.md, "The line and tonal kinds on the longest
STFT"):
the chroma term on the longest style network's STFT (as the percussive kind), its weight,
and the iterations left under issue 29's 100 matmuls (the line runs stopped at their 100
iterations in about 50). Written out, not read off engine/run/choice.py's KINDS, so a row
keeps its meaning when the kinds change.
"""
from __future__ import annotations

from randstyle.engine.presets import PRESETS

# The line kind as committed before these runs: the preset, the content on harmonic
# features, the chroma term at 64 over flat octaves on the content network, 100 iterations.
_LINE = {"style_kind": "none", **PRESETS["percussive"], "content_features": "harmonic",
         "chroma_octaves": "flat", "maxiter": 100}
# The tonal kind as committed before these runs: the preset, the chroma term at 32.
_TONAL = {"style_kind": "none", **PRESETS["percussive"], "maxiter": 100}
_LONGEST = {"chroma_network": "longest"}
_MORE = {"maxiter": 150, "min_improvement": 0.01}  # the percussive kind's iterations

LINE_VARIANTS: dict = {
    # the line kind to 150 iterations, the plateau stop at 1 %
    "line150": {**_LINE, "chroma_weight": 64.0, **_MORE},
    # ... the chroma term on the longest network at 64, 32, 16 (flat octaves), 150 iterations
    "lineL64": {**_LINE, **_LONGEST, "chroma_weight": 64.0, **_MORE},
    "lineL32": {**_LINE, **_LONGEST, "chroma_weight": 32.0, **_MORE},
    "lineL16": {**_LINE, **_LONGEST, "chroma_weight": 16.0, **_MORE},
    # the tonal kind with the chroma term on the longest network, flat octaves, at 32 and 16,
    # 150 iterations (16: the percussive kind's settings)
    "tonalL32f": {**_TONAL, **_LONGEST, "chroma_weight": 32.0, "chroma_octaves": "flat",
                  **_MORE},
    "tonalL16f": {**_TONAL, **_LONGEST, "chroma_weight": 16.0, "chroma_octaves": "flat",
                  **_MORE},
    "tonalL32": {**_TONAL, **_LONGEST, "chroma_weight": 32.0, **_MORE},
    # issue 29's last gaps (docs/results/quality.md, "The line and tonal kinds' last gaps"):
    # the line kind at 24, between the held organ pair's notes (32) and the held strings
    # pair's closeness (16)
    "lineL24": {**_LINE, **_LONGEST, "chroma_weight": 24.0, **_MORE},
    # the line kind with the chroma term on both the content network (2048 points, where
    # the kind held the notes at 64) and the longest (4096), at 16 on each
    "lineB16": {**_LINE, "chroma_network": "both", "chroma_weight": 16.0, **_MORE},
    # the tonal kind with the time left under 100 matmuls (its runs stopped by the 1 %
    # plateau in ~70): at most 200 iterations, the plateau at 0.5 %
    "tonalL16f200": {**_TONAL, **_LONGEST, "chroma_weight": 16.0, "chroma_octaves": "flat",
                     "maxiter": 200, "min_improvement": 0.005},
    # ... the tonal kind with the content term at 1 instead of the preset's 1.5 (the style
    # pulls harder against the log-mel content; the chroma term keeps holding the notes)
    "tonalL16f_c1": {**_TONAL, **_LONGEST, "chroma_weight": 16.0, "chroma_octaves": "flat",
                     **_MORE, "content_weight": 1.0},
    # ... and the chroma term at 20 (c1 read chroma_cqt 0.848 on the tuning piano)
    "tonalL20f_c1": {**_TONAL, **_LONGEST, "chroma_weight": 20.0, "chroma_octaves": "flat",
                     **_MORE, "content_weight": 1.0},
}
