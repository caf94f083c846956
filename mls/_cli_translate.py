"""``python -m mls translate`` / ``untranslate``: mcstrans-style names for levels and ranges.

``register(subparsers)`` adds both subcommands to the ``mls`` command line. Each reads a
setrans.conf (``--config``, else the running policy's ``/etc/selinux/<type>/setrans.conf``),
translates every LABEL argument, or every line of standard input when there is none, and prints
one result per line. Labels without a translation are printed unchanged, as libselinux returns
them. A configuration that cannot be loaded raises a ValueError (or OSError), which the ``mls``
command line reports on one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable

from ._cli import SELINUX_ROOT_VARIABLE, system_setrans_path
from .translate import SetransError, Translator

EXAMPLES = """\
examples:
  python -m mls translate s0-s0:c0.c1023              prints SystemLow-SystemHigh
  python -m mls untranslate --config my.conf Secret   prints the raw level of Secret
  python -m mls translate --context 'u:r:t:s0'        prints u:r:t:SystemLow
  ... | python -m mls translate --config setrans.conf      one label per input line
  python -m mls translate --config nato/setrans.conf \\
      --include-prefix /etc/selinux/mls/setrans.d=nato/setrans.d s5:c1,c200.c511
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``translate`` and ``untranslate`` subcommands."""
    for command, summary, detail, run in (
        (
            "translate",
            "raw levels or ranges to names (mcstrans raw -> translated)",
            "Print the setrans.conf name of each raw level or range, e.g. s0:c0.c1023 -> "
            "SystemHigh.",
            _run_translate,
        ),
        (
            "untranslate",
            "names to raw levels or ranges (mcstrans translated -> raw)",
            "Print the raw level or range of each name, e.g. SystemHigh -> s0:c0.c1023.",
            _run_untranslate,
        ),
    ):
        parser = subparsers.add_parser(
            command,
            help=summary,
            description=detail
            + " Labels without a translation are printed unchanged; with no LABEL, standard "
            "input is read one label per line.",
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("labels", nargs="*", metavar="LABEL", help="level, range or name")
        parser.add_argument(
            "--config",
            metavar="PATH",
            help="setrans.conf to read (default: /etc/selinux/<SELINUXTYPE>/setrans.conf; "
            f"${SELINUX_ROOT_VARIABLE} stands for /etc/selinux)",
        )
        parser.add_argument(
            "--context",
            action="store_true",
            help="each LABEL is a whole context user:role:type:range; only the range changes",
        )
        parser.add_argument(
            "--include-prefix",
            action="append",
            default=[],
            metavar="OLD=NEW",
            help="read Include= paths that start with OLD from NEW instead (repeatable)",
        )
        parser.set_defaults(run=run)


def _run_translate(args: argparse.Namespace) -> int:
    translator = _load(args)
    convert = translator.translate_context if args.context else translator.translate
    return _print_each(convert, _inputs(args.labels))


def _run_untranslate(args: argparse.Namespace) -> int:
    translator = _load(args)
    convert = translator.untranslate_context if args.context else translator.untranslate
    return _print_each(convert, _inputs(args.labels))


def _load(args: argparse.Namespace) -> Translator:
    rewrites: list[tuple[str, str]] = []
    for item in args.include_prefix:
        old, equals, new = item.partition("=")
        if not equals or not old:
            raise ValueError(f"--include-prefix wants OLD=NEW, not {item!r}")
        rewrites.append((old, new))

    def resolve(pattern: str) -> str:
        for old, new in rewrites:
            if pattern.startswith(old):
                return new + pattern[len(old) :]
        return pattern

    path = args.config
    if path is None:
        default = system_setrans_path()
        if not default.is_file():
            raise SetransError(
                str(default), 0, 0, "no setrans.conf there; name one with --config PATH"
            )
        path = str(default)
    return Translator.from_file(path, resolve_include=resolve if rewrites else None)


def _inputs(labels: list[str]) -> Iterable[str]:
    if labels:
        return labels
    return (line.rstrip("\r\n") for line in sys.stdin)


def _print_each(convert: Callable[[str], str], labels: Iterable[str]) -> int:
    for label in labels:
        print(convert(label))
    return 0
