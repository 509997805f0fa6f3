"""A static page to listen to runs: players for the inputs and results, their spectrograms,
the loss curves, the report's quality figures, options and wall time.

One HTML file plus a folder of assets beside it (PAGE.html, PAGE_files/), all links
relative: it opens from disk, moved or copied as a pair, with no server and no network.
Inputs outside the page's folder are copied (or converted to WAV) into the assets. Pictures
need matplotlib; without it the page says so and has players only.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import soundfile as sf

from randstyle.engine.audio import atomic_write

NO_MATPLOTLIB = ("matplotlib is not installed, so this page has no spectrograms or loss "
                 "curves (pip install matplotlib, then run again).")
PLAYABLE = {".wav"}  # what every browser plays; other inputs are converted
NOT_LOSS = {"iter", "time_s", "nfev"}  # history keys that count, not loss terms
# Flags that say where and how a run writes, not what it computes: left off the page.
NOT_OPTIONS = {"output", "overwrite", "progress", "html", "plot", "resume", "content", "style",
               "styles", "mix", "source"}


@dataclass
class Clip:
    label: str
    source: Union[str, np.ndarray, None]  # a file, or samples at ``sr``
    sr: Optional[int] = None
    result: bool = False
    start: Optional[float] = None  # the stretch of a file the run used (--content-start ...)
    end: Optional[float] = None

    @property
    def stretch(self) -> str:
        """" (10-14 s)" where the run used part of the file, else ""."""
        if self.start is None and self.end is None:
            return ""
        end = "end" if self.end is None else _fmt(float(self.end))
        return f" ({_fmt(float(self.start or 0))}-{end} s)"


@dataclass
class Entry:
    title: str
    clips: list
    report: Optional[dict] = None
    status: str = "done"
    message: str = ""
    options: dict = field(default_factory=dict)


def assets_dir(page: str) -> Path:
    p = Path(page)
    return p.parent / f"{p.stem}_files"


def _figure():
    """A matplotlib Figure with an Agg canvas (no pyplot state), or None without it."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None

    def make(width: float, height: float):
        fig = Figure(figsize=(width, height), dpi=72)
        FigureCanvasAgg(fig)
        return fig
    return make


def _fresh(target: Path, *sources: Path) -> bool:
    """Whether ``target`` exists and is newer than every source (so a rerun reuses it)."""
    if not target.exists():
        return False
    t = target.stat().st_mtime
    return all(not s.exists() or s.stat().st_mtime <= t for s in sources)


def _save(fig, path: Path) -> None:
    atomic_write(str(path), lambda tmp: fig.savefig(tmp, format="png"))


class _Builder:
    def __init__(self, page: str) -> None:
        self.page = Path(page).resolve()
        self.root = self.page.parent
        self.assets = assets_dir(str(self.page))
        self.figure = _figure()
        self.n = 0

    def rel(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def audio(self, clip: Clip) -> tuple:
        """(path of a playable file in or under the page's folder, or None; why not)."""
        if isinstance(clip.source, np.ndarray):
            self.n += 1
            data = np.asarray(clip.source, dtype=np.float32)
            digest = hashlib.sha1(data.tobytes()).hexdigest()[:10]
            dest = self.assets / f"{clip.label.replace(' ', '_')}-{digest}.wav"
            if not dest.exists():
                peak = float(np.max(np.abs(data))) or 1.0
                atomic_write(str(dest), lambda tmp: sf.write(tmp, data / max(peak, 1.0),
                                                             clip.sr, format="WAV"))
            return dest, ""
        src = Path(str(clip.source)).resolve()
        if not src.is_file():
            return None, f"not found: {clip.source}"
        try:
            sf.info(str(src))
        except (RuntimeError, sf.LibsndfileError):
            return None, f"not audio: {clip.source}"
        inside = self.root in src.parents and self.assets not in src.parents
        if inside and src.suffix.lower() in PLAYABLE and not clip.stretch:
            return src, ""
        digest = hashlib.sha1(f"{src}{clip.stretch}".encode()).hexdigest()[:10]
        dest = self.assets / f"{src.stem}-{digest}.wav"
        if _fresh(dest, src):
            return dest, ""
        try:
            if clip.stretch:  # the part the run used, not the whole file
                data, sr = sf.read(str(src), dtype="float32", always_2d=True)
                data = data[int(round((clip.start or 0) * sr)):
                            None if clip.end is None else int(round(clip.end * sr))]
                atomic_write(str(dest), lambda tmp: sf.write(tmp, data, sr, format="WAV",
                                                             subtype="PCM_16"))
            elif src.suffix.lower() in PLAYABLE:
                atomic_write(str(dest), lambda tmp: shutil.copyfile(src, tmp))
            else:
                data, sr = sf.read(str(src), dtype="float32", always_2d=True)
                atomic_write(str(dest), lambda tmp: sf.write(tmp, data, sr, format="WAV",
                                                             subtype="PCM_16"))
        except (OSError, RuntimeError, sf.LibsndfileError) as exc:
            return None, f"cannot be played: {exc}"
        return dest, ""

    def spectrogram(self, wav: Path, config: dict) -> Optional[Path]:
        if self.figure is None:
            return None
        from randstyle.engine.signal import stft_magnitude
        n_fft, hop = int(config.get("n_fft", 2048)), int(config.get("hop_length", 512))
        tag = hashlib.sha1(f"{wav}|{n_fft}|{hop}".encode()).hexdigest()[:10]
        png = self.assets / f"{wav.stem}-{tag}.spec.png"
        if _fresh(png, wav):
            return png
        x, sr = sf.read(str(wav), dtype="float64", always_2d=True)
        x = x.mean(axis=1)
        if len(x) < n_fft:
            x = np.pad(x, (0, n_fft - len(x)))
        S = np.log1p(stft_magnitude(x, n_fft, hop)).T
        fig = self.figure(5.0, 1.9)
        ax = fig.add_subplot()
        ax.imshow(S, origin="lower", aspect="auto", cmap="magma",
                  extent=(0, len(x) / sr, 0, sr / 2000))
        ax.set_xlabel("time (s)")
        ax.set_ylabel("kHz")
        # room on the left for the kHz label and its ticks (tight_layout would be slow)
        fig.subplots_adjust(left=0.14, right=0.98, bottom=0.24, top=0.96)
        _save(fig, png)
        return png

    def loss_curve(self, report: dict) -> Optional[Path]:
        history = report.get("iterations") or []
        if self.figure is None or not history:
            return None
        digest = hashlib.sha1(json.dumps(history).encode()).hexdigest()[:10]
        png = self.assets / f"loss-{digest}.png"  # the same history: the same picture
        if png.exists():
            return png
        fig = self.figure(5.0, 2.2)
        ax = fig.add_subplot()
        terms = loss_terms(history)
        for k in terms:
            ax.plot([h["iter"] for h in history], [max(float(h[k]), 1e-30) for h in history],
                    label=k)
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_title("loss", fontsize=9)
        ax.legend(fontsize=7)
        fig.subplots_adjust(left=0.14, right=0.98, bottom=0.2, top=0.9)
        _save(fig, png)
        return png


def loss_terms(history: list) -> list:
    """The loss terms of a report's iteration history: its keys less the counters."""
    return [k for k in history[0] if k not in NOT_LOSS] if history else []


def _flat(d: Any, prefix: str = "") -> list:
    """[(dotted key, value)] of nested dicts, for generic tables."""
    if not isinstance(d, dict):
        return [(prefix, d)]
    out = []
    for k, v in d.items():
        out += _flat(v, f"{prefix}.{k}" if prefix else str(k))
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


# What a person reads for a report's keys; a key not here is shown as it is.
LABELS = {"wall_time_s": "wall time (s)", "nit": "iterations", "stop_reason": "stopped because",
          "backend": "backend", "mix_residual_rel": "sources' sum against the mix (relative)",
          "style_distance": "style distance", "style_distance_harmonic": "style distance, harmonic",
          "style_distance_rhythm": "style distance, rhythm",
          "content_similarity": "content similarity",
          "chroma_similarity": "chroma similarity (the notes)", "sdr_db": "SDR (dB)",
          "sdr": "SDR (dB)", "equal_split_sdr": "equal split's SDR (dB)",
          "hpss_sdr": "HPSS's SDR (dB)"}


def _label(key: str) -> str:
    """A table's row label: each part of a dotted key through LABELS."""
    return " / ".join(LABELS.get(part, part) for part in str(key).split("."))


def _table(rows: list, cls: str) -> str:
    if not rows:
        return ""
    cells = f"<caption>{cls}</caption>"
    cells += "".join(f"<tr><th>{html.escape(_label(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                    for k, v in rows)
    return f'<table class="{cls}">{cells}</table>'


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin:0 0 .4em}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em;margin:0 0 1.2em}
.clips{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;width:360px} figcaption{font-weight:600;margin-bottom:.2em}
audio{width:360px} img{width:360px;display:block;margin-top:.3em}
.loss{width:360px}
table{border-collapse:collapse;font-size:.85em;margin:.5em 1.5em .5em 0;vertical-align:top;
display:inline-table}
caption{text-align:left;font-weight:600}
th,td{border:1px solid #ddd;padding:.15em .5em;text-align:left}
.status{font-size:.8em;padding:.1em .5em;border-radius:3px;margin-left:.5em;color:#fff}
.done,.skipped{background:#2a7a2a} .failed{background:#b22} .interrupted,.not-run{background:#a60}
.note{background:#fff4cc;padding:.5em;border:1px solid #e0c060}
.reason{color:#b22;font-family:monospace} .why{color:#555;font-size:.9em}
"""


def write_page(page: str, entries: list, title: str, summary: str = "") -> None:
    """Write ``page`` (HTML) and its assets folder for ``entries`` (a list of Entry)."""
    b = _Builder(page)
    b.assets.mkdir(parents=True, exist_ok=True)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if summary:
        parts.append(f'<p class="summary">{html.escape(summary)}</p>')
    if b.figure is None:
        parts.append(f'<p class="note">{NO_MATPLOTLIB}</p>')
    for i, e in enumerate(entries):
        report = e.report or {}
        config = report.get("config") or {}
        status = e.status.replace(" ", "-")
        parts.append(f'<section id="job{i + 1}"><h2>{html.escape(e.title)}'
                     f'<span class="status {status}">{html.escape(e.status)}</span></h2>')
        if e.message:
            cls = "reason" if e.status == "failed" else "why"
            parts.append(f'<p class="{cls}">{html.escape(e.message)}</p>')
        parts.append('<div class="clips">')
        for clip in e.clips:
            wav, why = b.audio(clip)
            named = clip.label if isinstance(clip.source, np.ndarray) else \
                f"{clip.label}: {Path(str(clip.source)).name}{clip.stretch}"  # which file
            parts.append(f"<figure><figcaption>{html.escape(named)}</figcaption>")
            if wav is None:
                parts.append(f"<p>{html.escape(why)}</p></figure>")
                continue
            parts.append(f'<audio controls preload="metadata" src="{html.escape(b.rel(wav))}">'
                         "</audio>")
            png = b.spectrogram(wav, config) if b.figure else None
            if png is not None:
                parts.append(f'<img alt="spectrogram of {html.escape(clip.label)}" '
                             f'src="{html.escape(b.rel(png))}">')
            parts.append("</figure>")
        loss = b.loss_curve(report) if report else None
        if loss is not None:
            parts.append(f'<figure><figcaption>loss</figcaption><img class="loss" '
                         f'alt="loss curves" src="{html.escape(b.rel(loss))}"></figure>')
        parts.append("</div>")
        facts = [(k, report[k]) for k in ("wall_time_s", "nit", "stop_reason", "backend",
                                           "mix_residual_rel") if k in report]
        parts.append(_table(facts, "run"))
        parts.append(_table(_flat(report.get("quality") or {}), "quality"))
        parts.append(_table(_flat(report.get("reference") or {}), "against the references"))
        parts.append(_table(list(e.options.items()), "options"))
        parts.append("</section>")
    parts.append("</body></html>\n")
    text = "".join(parts)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    atomic_write(str(b.page), write)


def page_path(output: str) -> str:
    """Where a single run's --html page goes: beside its output, named after it."""
    return str(Path(output).with_suffix(".html"))


def _input_clips(inputs: dict, demo: Optional[dict], sr: int) -> list:
    """Clips of a report's "inputs" ({"content": path, "styles": [{"path"}], "mix": path,
    "source NAME": path}, and the stretch used: "content_start", "style_end", ...); "demo:..."
    inputs come from ``demo`` (the same keys, samples)."""
    clips = []
    for key, value in inputs.items():
        cut = {"start": inputs.get(f"{key.rstrip('s')}_start"),
               "end": inputs.get(f"{key.rstrip('s')}_end")}
        if key == "styles":
            paths = [s.get("path") for s in value]
            labels = ["style"] if len(paths) == 1 else [f"style {i + 1}" for i in
                                                        range(len(paths))]
            for i, (label, path) in enumerate(zip(labels, paths)):
                if str(path).startswith("demo:"):
                    path = (demo or {}).get("styles", [None] * (i + 1))[i]
                clips.append(Clip(label, path, sr, **cut))
        elif isinstance(value, str):
            clips.append(Clip(key, (demo or {}).get(key) if value.startswith("demo:") else value,
                              sr, **cut))
    return clips


def write_run(page: str, report: dict, results: dict, sr: int, options: dict,
              demo: Optional[dict] = None) -> None:
    """The page of one single run (--html): its inputs as the report names them, the
    ``results`` ({label: path}), its report and the ``options`` the user gave."""
    clips = _input_clips(report.get("inputs") or {}, demo, sr)
    clips += [Clip(label, path, result=True) for label, path in results.items()]
    title = f"randstyle {report.get('mode', '')}: {Path(page).stem}"
    status = "interrupted" if report.get("interrupted") else "done"
    write_page(page, [Entry(title, clips, report, status, options=options)], title)
