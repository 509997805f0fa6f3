"""--plot: log-magnitude spectrograms of the inputs and the result, and the loss curves."""
from __future__ import annotations

import numpy as np

from randstyle.engine.errors import ParameterError


def check_available() -> None:
    """Fail before any work when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ParameterError("--plot needs matplotlib: pip install 'randstyle[plot]' "
                             "(or pip install matplotlib)") from None


def plot_run(path: str, signals: dict, sr: int, n_fft: int, hop_length: int,
             history: list) -> None:
    """PNG at ``path``: one spectrogram per named signal, then the loss terms per iteration."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from randstyle.engine.audio import atomic_write
    from randstyle.engine.signal import stft_magnitude

    fig, axes = plt.subplots(len(signals) + 1, 1, figsize=(10, 2.6 * (len(signals) + 1)))
    for ax, (name, x) in zip(axes, signals.items()):
        S = np.log1p(stft_magnitude(x, n_fft, hop_length)).T
        image = ax.imshow(S, origin="lower", aspect="auto", cmap="magma",
                          extent=(0, len(x) / sr, 0, sr / 2000))
        ax.set_title(f"{name}: log1p |STFT|")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("frequency (kHz)")
        fig.colorbar(image, ax=ax, label="log1p |STFT|")
    ax = axes[-1]
    keys = [k for k in (history[0] if history else {})
            if k not in ("iter", "time_s", "nfev", "style")]
    for k in keys:
        ax.plot([h["iter"] for h in history], [max(h[k], 1e-30) for h in history], label=k)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_title("loss")
    if keys:
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=80))
    plt.close(fig)
