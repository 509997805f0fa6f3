"""``randstyle evaluate``: the quality measure of a result, as JSON on stdout."""
import json
import sys
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from randstyle.engine import audio
from randstyle.engine.cli.common import PROG, cut_field, positional
from randstyle.engine.config import opt
from randstyle.engine.errors import ParameterError
from randstyle.engine.model.evaluate import EVAL_NETWORK, evaluate


@dataclass
class EvaluateArgs:
    result: Optional[str] = positional("RESULT audio file to measure")
    style: Optional[List[str]] = field(default=None, metadata={
        "nargs": "+", "type": str, "metavar": "FILE[:WEIGHT]",
        "help": "a style reference with its weight (default 1); repeat it for several (their "
                "Grams are averaged by weight, as in a run)"})
    content: Optional[str] = opt(None, "the content: its log-mel and chroma correlations "
                                       "with RESULT",
                                 show=False)
    reference: Optional[str] = opt(None, "a reference stem: the SDR of RESULT against it, in "
                                         "dB (same length)", show=False)
    content_start: Optional[float] = cut_field("content", "start")
    content_end: Optional[float] = cut_field("content", "end")
    sr: int = opt(22050, "sample rate every file is resampled to before measuring")

# The longest difference in length a result and its content may have (resampling rounds).
SAME_LENGTH_S = 0.01


def style_specs(specs: Optional[list]) -> list:
    """[(path, weight)] from FILE[:WEIGHT] strings (a ':' that is no weight is the path's)."""
    return [(path, 1.0 if weight is None else weight)
            for path, weight in map(audio.weighted_spec, specs or [])]


def summary_line(figures: dict) -> str:
    parts = []
    if "style_distance" in figures:
        parts.append(f"style distance {figures['style_distance']:.3f} (harmonic "
                     f"{figures['style_distance_harmonic']:.3f}, rhythm "
                     f"{figures['style_distance_rhythm']:.3f}; 0 = same statistics)")
    if "content_similarity" in figures:
        parts.append(f"content similarity {figures['content_similarity']:.3f}, chroma "
                     f"{figures['chroma_similarity']:.3f} (1 = same)")
    if "sdr_db" in figures:
        parts.append(f"SDR {figures['sdr_db']:.2f} dB")
    return ", ".join(parts)


def _content(args: EvaluateArgs, result: np.ndarray) -> Optional[np.ndarray]:
    """The content cut as the run cut it; refused where its length is not the result's (a
    transfer's result is its content's length): the similarity of the file's first seconds
    would be another figure, with no word said."""
    if args.content is None:
        for name in ("content_start", "content_end"):
            if getattr(args, name) is not None:
                raise ParameterError(f"--{name.replace('_', '-')} needs --content")
        return None
    content = audio.load(args.content, args.sr, args.content_start, args.content_end,
                         what="content")
    if abs(len(content) - len(result)) > SAME_LENGTH_S * args.sr:
        raise ParameterError(f"the content is {len(content) / args.sr:.3f} s and the result "
                             f"{len(result) / args.sr:.3f} s: give the --content-start and "
                             "--content-end the result was made with")
    return content


def run_evaluate(args: EvaluateArgs) -> int:
    if args.result is None:
        raise ParameterError("give the RESULT file to measure")
    specs = style_specs(args.style)
    if not specs and args.content is None and args.reference is None:
        raise ParameterError("give --style, --content or --reference to measure against")
    if args.sr <= 0:
        raise ParameterError(f"--sr must be positive, got {args.sr}")
    result = audio.load(args.result, args.sr, what="result")
    styles = [(audio.load(p, args.sr, what="style"), w) for p, w in specs]
    content = _content(args, result)
    reference = audio.load(args.reference, args.sr, what="reference") \
        if args.reference else None
    figures = evaluate(result, args.sr, style=styles or None, content=content,
                       reference=reference)
    report = {"result": args.result, "sr": args.sr,
              "styles": [{"path": p, "weight": w} for p, w in specs],
              "content": args.content, "content_start": args.content_start,
              "content_end": args.content_end, "reference": args.reference,
              "evaluation_network": EVAL_NETWORK, **figures}
    print(json.dumps(report, indent=2))
    print(f"{PROG} evaluate: {summary_line(figures)}", file=sys.stderr)
    return 0
