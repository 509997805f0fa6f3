"""The benchmark harness (``randstyle bench``) and the scripts behind the tables of docs/."""

import os
import sys
import time


def write_markdown(out: str, name: str, text: str) -> str:
    """A table script's result: printed, and kept as OUT/NAME-<time>.md; returns the path."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.md")
    with open(path, "w") as f:
        f.write(text + "\n")
    print(text)
    print(f"written: {path}", file=sys.stderr)
    return path
