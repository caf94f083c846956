"""The ``labelnet`` command: work on labeled traffic with every part of labelnet together."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from labelnet.errors import CommandError
from mls._cli import error_text, register_commands

DESCRIPTION = """\
labelnet works with labeled IP traffic: the CIPSO IPv4 option, the CALIPSO IPv6 option and the
SELinux MLS labels they carry, byte for byte as the Linux kernel's NetLabel writes and checks
them. Each package also has a command of its own for its own work:

  python -m mls       MLS/MCS labels: canonical form, dominance, bitmaps, translation
  python -m cipso     CIPSO options: decode hex, encode a label for a DOI
  python -m calipso   CALIPSO options: decode hex, encode a label for a DOI
  python -m netlabel  configure the kernel's NetLabel (like netlabelctl), labeled sockets
"""

EPILOG = """\
Run 'labelnet COMMAND --help' for the options of one command.
"""

# Each subcommand lives in its own module with register(subparsers); a module absent from this
# installation is simply not offered.
_COMMAND_MODULES = (
    "labelnet._cli_demo",
    "labelnet._cli_dump",
    "labelnet._cli_conformance",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelnet",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_commands(commands, _COMMAND_MODULES)
    return parser


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    """Run the command line ``argv`` (default: this process's) and return its exit status.
    ``own_process``: the process is the command's alone (see :func:`command`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.own_process = own_process
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("labelnet: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError, OSError) as exc:
        print(f"labelnet {args.command}: error: {error_text(exc)}", file=sys.stderr)
        return 2
    return status


def command() -> NoReturn:
    """The ``labelnet`` program (its console script and ``python -m labelnet``): :func:`main`
    in a process of its own, where a command may load a library leaner than it could inside
    a caller's program (``--format parquet`` keeps numpy out of pyarrow)."""
    sys.exit(main(own_process=True))


if __name__ == "__main__":
    command()
