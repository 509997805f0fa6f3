"""A lab group's command line: ``python -m bench.GROUP SUBCOMMAND [its options]``.

Each group's ``__main__.py`` names its subcommands, each a module of the group with a
``main(argv)`` and one line saying what it measures. Modules are imported only when their
subcommand runs, so that listing them is instant and needs none of their dependencies.
"""
from __future__ import annotations

import importlib
import sys
from typing import Dict, List, Optional, Tuple

# {subcommand: (module, one line)}
Commands = Dict[str, Tuple[str, str]]


def listing(group: str, doc: str, commands: Commands) -> str:
    """The group's help: its doc line, then one line a subcommand."""
    width = max(map(len, commands))
    lines = [f"usage: python -m bench.{group} SUBCOMMAND [--help | its options]", "", doc, "",
             "subcommands:"]
    lines += [f"  {name:<{width}}  {line}" for name, (_, line) in commands.items()]
    return "\n".join(lines)


def run(group: str, doc: str, commands: Commands, argv: Optional[List[str]] = None) -> int:
    """Run the subcommand named first in ``argv`` on the rest; the group alone or --help
    lists the subcommands (exit 0), an unknown one is one line and exit 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(listing(group, doc, commands))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in commands:
        print(f"python -m bench.{group}: no subcommand {name!r} (one of: "
              f"{', '.join(commands)})", file=sys.stderr)
        return 2
    module = importlib.import_module(commands[name][0])
    # argparse names the program after argv[0]: the subcommand's usage line shows its call.
    prog, sys.argv[0] = sys.argv[0], f"python -m bench.{group} {name}"
    try:
        code = module.main(rest)
    finally:
        sys.argv[0] = prog
    return code if isinstance(code, int) else 0
