"""``python -m netlabel save|load|diff|reset``: the NetLabel configuration as a rules file.

Argument set-up and handlers only; the work is in :mod:`netlabel.rules`, imported when a
command runs so that ``python -m netlabel --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

__all__ = ["COMMANDS"]

Handler = Callable[[argparse.Namespace], int]

_FILE_NOTE = """\
A rules file holds netlabelctl commands, one a line, as /etc/netlabel.rules does for
netlabel-config: cipso add|del, calipso add|del, map add|del, unlbl accept|add|del;
blank lines and '#' comments are skipped. It describes a configuration from the kernel's
boot state (no DOIs, an unlabeled default mapping, unlabeled packets accepted)."""

SAVE_HELP = "write the running configuration as a rules file"
SAVE_DESCRIPTION = f"""\
Write the running NetLabel configuration (DOIs, mappings, the accept flag, static labels) as
a rules file that 'load' turns back into the same configuration from the boot state.
Static labels are listed by the kernel only while an LSM can turn them back into text.

{_FILE_NOTE}

examples:
  python -m netlabel save > /etc/netlabel.rules
  python -m netlabel save saved.rules"""

LOAD_HELP = "run a rules file on the running configuration, all or nothing"
LOAD_DESCRIPTION = f"""\
Run a rules file's commands on the running configuration, all or nothing: the whole file is
parsed and checked against the running configuration first; if the kernel still refuses a
command, everything the load added is removed and what it removed is put back, and the
error names the file's line. --dry-run prints what would change (- removed, + added).

{_FILE_NOTE}

examples:
  python -m netlabel load /etc/netlabel.rules
  python -m netlabel load --dry-run site.rules"""

DIFF_HELP = "what differs between a rules file and the running configuration"
DIFF_DESCRIPTION = f"""\
Print what differs between the configuration a rules file describes and the running one:
'- line' is only in the kernel, '+ line' only in the file. Exit status 0: the same, 1: they
differ, 2: bad input.

{_FILE_NOTE}

example:
  python -m netlabel diff /etc/netlabel.rules"""

RESET_HELP = "put the configuration back to the kernel's boot state"
RESET_DESCRIPTION = """\
Remove every DOI, mapping and static label, map everything to unlabeled and accept unlabeled
packets, as 'netlabel-config reset' does.

example:
  python -m netlabel reset"""


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as file:
        return file.read()


def _save(args: argparse.Namespace) -> int:
    from netlabel import rules
    from netlabel.__main__ import client_options
    from netlabel.client import NetLabel

    with NetLabel(**client_options(args)) as client:
        text = rules.save(client)
    if args.file in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(args.file, "w", encoding="utf-8") as file:
            file.write(text)
    return 0


def _load(args: argparse.Namespace) -> int:
    from netlabel import rules
    from netlabel.__main__ import client_options
    from netlabel.client import NetLabel

    text = _read(args.file)
    with NetLabel(**client_options(args)) as client:
        before, after = rules.load(client, text, source=args.file, dry_run=args.dry_run)
    if args.dry_run:
        for line in rules.difference(before, after):
            print(line)
    return 0


def _diff(args: argparse.Namespace) -> int:
    from netlabel import rules
    from netlabel.__main__ import client_options
    from netlabel.client import NetLabel

    text = _read(args.file)
    with NetLabel(**client_options(args)) as client:
        lines = rules.diff(client, text, source=args.file)
    for line in lines:
        print(line)
    return 1 if lines else 0


def _reset(args: argparse.Namespace) -> int:
    from netlabel import rules
    from netlabel.__main__ import client_options
    from netlabel.client import NetLabel

    with NetLabel(**client_options(args)) as client:
        rules.reset(client)
    return 0


def _configure_save(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE", help="where to write (default: -)")
    parser.set_defaults(handler=_save)


def _configure_load(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the rules file (- for standard input)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would change, change nothing"
    )
    parser.set_defaults(handler=_load)


def _configure_diff(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the rules file (- for standard input)")
    parser.set_defaults(handler=_diff)


def _configure_reset(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=_reset)


#: (name, help, description, set-up) of each command.
COMMANDS: tuple[tuple[str, str, str, Callable[[argparse.ArgumentParser], None]], ...] = (
    ("save", SAVE_HELP, SAVE_DESCRIPTION, _configure_save),
    ("load", LOAD_HELP, LOAD_DESCRIPTION, _configure_load),
    ("diff", DIFF_HELP, DIFF_DESCRIPTION, _configure_diff),
    ("reset", RESET_HELP, RESET_DESCRIPTION, _configure_reset),
)
