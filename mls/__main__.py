"""``python -m mls``: canonicalise, compare and convert SELinux MLS/MCS labels."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ._cli import OneLineParser, ascii_number, command_main, register_commands
from .categories import CategorySet
from .errors import MlsError, MlsLimitError
from .label import Context, Level, Range
from .limits import DEFAULT_LIMITS, Limits

DESCRIPTION = """\
Work with SELinux MLS/MCS labels as the Linux kernel does.

A level is a sensitivity and optional categories: s0, s3:c1.c5, s0:c1,c2,c5,c7.c300
(cA.cB is every category from A to B). A range is low-high: s0-s15:c0.c1023. A context
is user:role:type:range: system_u:object_r:netlabel_peer_t:s0:c1,c2.
"""

EPILOG = """\
examples:
  python -m mls canon 's0:c3,c1,c2'            prints s0:c1.c3 (the kernel's form)
  python -m mls compare s3:c1.c5 s1:c2         prints dom
  python -m mls bitmap s0:c0,c5                prints 84 (the CIPSO/CALIPSO bitmap)
  python -m mls bitmap --align 4 s0:c0,c5      prints 84000000 (CALIPSO 32-bit words)
  python -m mls from-bitmap 84 --sensitivity 3 prints s3:c0,c5
  python -m mls --max-category 1023 canon s0:c0.c1023

Bad input prints one line on stderr and exits with status 2.
"""

# Subcommands that live in their own modules (translation, MCS allocation). Each module has
# register(subparsers); a module not present in this installation is simply not offered.
_PLUGIN_MODULES = ("mls._cli_translate", "mls._cli_mcs")


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_sensitivity=args.max_sensitivity,
        max_category=args.max_category,
    )


def _parse_label(text: str, limits: Limits) -> Level | Range | Context:
    """A level, a range or a full context, judged by its shape."""
    head = text.split(":", 1)[0]
    if not (head[:1] == "s" and head[1:].isdigit()) and text.count(":") >= 2:
        return Context.parse(text, limits=limits)
    if "-" in text:
        return Range.parse(text, limits=limits)
    return Level.parse(text, limits=limits)


def _canon(args: argparse.Namespace) -> int:
    limits = _limits(args)
    for text in args.labels:
        print(_parse_label(text, limits))
    return 0


def _compare(args: argparse.Namespace) -> int:
    limits = _limits(args)
    first = Level.parse(args.first, limits=limits)
    second = Level.parse(args.second, limits=limits)
    print(first.compare(second))
    return 0


# The longest bitmap a level can need (c65535, the category ceiling) is 8192 bytes.
_MAX_ALIGN = 8192


def _bitmap(args: argparse.Namespace) -> int:
    if not 1 <= args.align <= _MAX_ALIGN:
        raise MlsError(f"--align must be between 1 and {_MAX_ALIGN} bytes, not {args.align}")
    limits = _limits(args)
    for text in args.levels:
        level = Level.parse(text, limits=limits)
        print(level.categories.to_bitmap(align=args.align).hex())
    return 0


def _from_bitmap(args: argparse.Namespace) -> int:
    limits = _limits(args)
    # The sensitivity obeys the same grammar and limits as in a level typed out (s<number>).
    sensitivity = Level.parse(f"s{args.sensitivity}", limits=limits).sensitivity
    text = "".join(args.hex.split()).removeprefix("0x")
    if len(text) % 2:
        raise MlsError(
            f"HEX has an odd number of digits ({len(text)}): each byte takes two, e.g. 08"
        )
    try:
        bitmap = bytes.fromhex(text)
    except ValueError:
        bad = next(i for i, char in enumerate(text) if char not in _HEX_DIGITS)
        raise MlsError(
            f"HEX holds {text[bad]!r}, not a hexadecimal digit, at offset {bad} in {text[:40]!r}"
        ) from None
    categories = CategorySet.from_bitmap(bitmap)
    if categories.max is not None and categories.max > limits.max_category:
        raise MlsLimitError(
            text,
            categories.max // 4,
            f"the bitmap holds category c{categories.max}, above the limit "
            f"c{limits.max_category} (see mls.Limits)",
        )
    print(Level(sensitivity, categories))
    return 0


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _add_command(
    commands: argparse._SubParsersAction[OneLineParser],
    name: str,
    run: Callable[[argparse.Namespace], int],
    summary: str,
    description: str,
) -> OneLineParser:
    command = commands.add_parser(name, help=summary, description=description)
    command.set_defaults(run=run)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m mls",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for option, default, what in (
        ("--max-sensitivity", DEFAULT_LIMITS.max_sensitivity, "the wire formats' limit"),
        ("--max-category", DEFAULT_LIMITS.max_category, "also the ceiling"),
    ):
        parser.add_argument(
            option,
            type=ascii_number,
            default=default,
            metavar="N",
            help=f"largest {option[6:]} accepted (default %(default)s, {what})",
        )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    canon = _add_command(
        commands,
        "canon",
        _canon,
        "print levels, ranges or contexts in the kernel's canonical form",
        "Print each label as the kernel prints it: categories sorted, runs of three or more as "
        "cA.cB, a range with equal ends as one level.",
    )
    canon.add_argument("labels", nargs="+", metavar="LABEL", help="level, range or context")

    compare = _add_command(
        commands,
        "compare",
        _compare,
        "compare two levels: dom, domby, eq or incomparable",
        "Print how FIRST relates to SECOND under MLS dominance: eq (equal), dom (FIRST "
        "dominates SECOND), domby (FIRST is dominated by SECOND) or incomparable.",
    )
    compare.add_argument("first", metavar="FIRST")
    compare.add_argument("second", metavar="SECOND")

    bitmap = _add_command(
        commands,
        "bitmap",
        _bitmap,
        "print a level's categories as a CIPSO/CALIPSO wire bitmap in hex",
        "Category N is bit 0x80 >> (N % 8) of byte N // 8. Trailing zero bytes are trimmed as "
        "the kernel does.",
    )
    bitmap.add_argument("levels", nargs="+", metavar="LEVEL")
    bitmap.add_argument(
        "--align",
        type=ascii_number,
        default=1,
        metavar="N",
        help="pad to a multiple of N bytes (1 to 8192)",
    )

    from_bitmap = _add_command(
        commands,
        "from-bitmap",
        _from_bitmap,
        "turn a hex wire bitmap back into a level",
        "Read a CIPSO/CALIPSO category bitmap in hex and print the level.",
    )
    from_bitmap.add_argument("hex", metavar="HEX")
    from_bitmap.add_argument(
        "-s",
        "--sensitivity",
        default="0",
        metavar="N",
        help="sensitivity, within --max-sensitivity (default 0)",
    )

    register_commands(commands, _PLUGIN_MODULES)
    return parser


#: Run the command line; returns the exit status.
main = command_main(build_parser, (MlsError, ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())
