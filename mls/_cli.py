"""Command-line plumbing shared by ``python -m mls``, ``python -m cipso`` and
``python -m calipso``: one-line errors, ASCII numbers, the bytes a command reads (hex words, or
stdin) and the JSON it prints; and, for every command that shows labels (these and the
``netlabel`` and ``labelnet`` commands above them), the ``--setrans`` / ``--no-setrans``
options that name the labels as a setrans.conf does."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import string
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, Protocol

from ._policy import default_config_path
from .verdict import VerdictBase

if TYPE_CHECKING:
    from .translate import Translator

__all__ = [
    "SELINUX_ROOT_VARIABLE",
    "OneLineParser",
    "SetransUsageError",
    "UsageError",
    "add_command",
    "add_container_argument",
    "add_input_arguments",
    "add_setrans_arguments",
    "ascii_number",
    "bounded_int",
    "command_main",
    "command_parser",
    "error_text",
    "load_setrans",
    "print_json",
    "read_bytes",
    "read_setrans",
    "register_commands",
    "run",
    "setrans_epilog",
    "setrans_path",
    "system_setrans_path",
    "verdict_fields",
    "verdict_line",
]

_HEX_SEPARATORS = str.maketrans("", "", " :\t\r\n-")
#: What may surround hex digits in text: separators and the 0x prefix's x.
_HEX_TEXT = frozenset((string.hexdigits + " :\t\r\n-xX").encode())


# No option needs a longer number; int() on thousands of digits is slow or refused.
_MAX_DIGITS = 20


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not a usage block: the caller asks for
    --help when needed."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def command_parser(prog: str, description: str, epilog: str) -> tuple[OneLineParser, Any]:
    """A parser with subcommands (add them with :func:`add_command`), its texts kept as
    written."""
    parser = OneLineParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, commands


def add_command(
    commands: Any,
    name: str,
    run: Callable[[argparse.Namespace], int],
    *,
    summary: str,
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """A subcommand that runs ``run(args)``; ``summary`` is its line in the main --help."""
    command: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.set_defaults(run=run)
    return command


def add_container_argument(
    command: argparse.ArgumentParser, container: str, earlier_flag: str, what: str
) -> None:
    """encode's ``--as option|CONTAINER``: the option alone (default) or inside ``container``
    (``what`` it is); ``earlier_flag`` is kept as a hidden spelling of ``--as CONTAINER``."""
    command.add_argument(
        "--as",
        dest="kind",
        choices=("option", container),
        default="option",
        help=f"print the option (default) or {what}",
    )
    command.add_argument(
        earlier_flag, dest="kind", action="store_const", const=container, help=argparse.SUPPRESS
    )


def bounded_int(what: str, maximum: int, minimum: int = 0) -> Callable[[str], int]:
    """An argument type: a number (decimal, or 0x hex) from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        # ASCII only (int() also reads other scripts' digits) and short (int() is slow on
        # thousands of digits).
        try:
            if not text.isascii() or len(text) > _MAX_DIGITS:
                raise ValueError(text)
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text[:24]!r} is not a number") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{what} {value} is not {minimum}..{maximum}")
        return value

    return parse


def ascii_number(text: str) -> int:
    """An argparse type: a non-negative number in ASCII digits (``int()`` would also take
    Arabic-Indic or full-width digits, a sign, blanks and underscores)."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (ASCII digits 0-9)")
    if len(text) > _MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"{text[:24]!r}... is too long a number")
    return int(text)


def parse_hex(text: str) -> bytes:
    """Bytes from hex digits; spaces, colons, dashes and a leading 0x are allowed."""
    text = text.translate(_HEX_SEPARATORS)
    if text[:2].lower() == "0x":
        text = text[2:]
    if not text:
        raise UsageError("no bytes given")
    bad = next((c for c in text if c not in string.hexdigits), None)
    if bad is not None:
        raise UsageError(f"{bad!r} is not a hex digit")
    if len(text) % 2:
        raise UsageError(f"{len(text)} hex digits: an odd number cannot be whole bytes")
    return bytes.fromhex(text)


def read_bytes(words: Sequence[str], stdin: BinaryIO | None = None) -> bytes:
    """The bytes a command was given: its HEX words, or with ``-`` alone whatever stdin holds,
    hex text if it is nothing but hex digits and separators, else raw bytes (so that large
    inputs need not pass through the argument list)."""
    if list(words) != ["-"]:
        return parse_hex("".join(words))
    data = (stdin or sys.stdin.buffer).read()
    if not data:
        raise UsageError("no bytes on stdin")
    if _HEX_TEXT.issuperset(data):
        return parse_hex(data.decode("ascii"))
    return data


def add_input_arguments(command: argparse.ArgumentParser) -> None:
    """The bytes a decode command reads and the output formats it offers."""
    command.add_argument(
        "hex",
        nargs="+",
        metavar="HEX",
        help="the bytes in hex (spaces and colons allowed), or - to read stdin (hex text or "
        "raw bytes)",
    )
    command.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text lines (default) or one JSON object (the same fields for CIPSO and CALIPSO)",
    )


def verdict_line(
    judged: VerdictBase, *, icmp: str, header_byte: int | None, option_byte: int | None
) -> str:
    """A verdict in the one line format of both commands: the kind, how the kernel answers
    (``icmp`` names its ICMP), where (``header_byte``, ``option_byte``, either may be
    None), why."""
    kind = judged.kind.value
    if kind == "accepted":
        return str(kind)
    if kind == "parameter-problem":
        how = f"{icmp} Parameter Problem code {judged.code}, pointer {judged.pointer}"
    elif kind == "dropped":
        how = f"silently (no {icmp} error)"
    else:
        how = "the bytes end before the header does"
    places = []
    if header_byte is not None:
        places.append(f"header byte {header_byte}")
    if option_byte is not None:
        places.append(f"option byte {option_byte}")
    return f"{kind}: {how}, at {', '.join(places)}: {judged.reason}"


def verdict_fields(judged: VerdictBase | None) -> dict[str, Any]:
    """A verdict's JSON fields (all null when there is none: no DOI was given)."""
    if judged is None:
        return dict.fromkeys(("verdict", "reason", "offset", "pointer", "option_offset", "code"))
    return {
        "verdict": judged.kind.value,
        "reason": judged.reason or None,
        "offset": judged.offset,
        "pointer": judged.pointer,
        "option_offset": judged.option_offset,
        "code": judged.code,
    }


# -- label names (setrans.conf) ---------------------------------------------------------------

#: The environment variable that stands for ``/etc/selinux`` where the commands look for the
#: active policy's setrans.conf (``<root>/config`` names the policy type). A test suite, a
#: chroot or a container image points it at a directory of its own.
SELINUX_ROOT_VARIABLE = "LABELNET_SELINUX_ROOT"


def setrans_epilog(example: str, shown: str) -> str:
    """What the --help of a command with :func:`add_setrans_arguments` says about label names,
    with an ``example`` command line and where it shows the names (``shown``)."""
    return f"""\
label names: with --setrans FILE the labels are also shown by the names that setrans.conf
gives them, as mcstrans does for ls -Z and ps -Z (a label without a name shows as itself).
Without --setrans the active policy's /etc/selinux/<SELINUXTYPE>/setrans.conf is read when it
exists (${SELINUX_ROOT_VARIABLE} stands for /etc/selinux); --no-setrans shows no names.
  {example}
      {shown}
"""


class SetransUsageError(UsageError, ValueError):
    """A setrans.conf a command cannot use: one line on stderr, status 2. Also a ValueError,
    so that the command lines that report ValueErrors report it alike."""


def add_setrans_arguments(command: argparse.ArgumentParser) -> None:
    """``--setrans FILE`` and ``--no-setrans``: which setrans.conf names the labels
    (:func:`setrans_path`, :func:`load_setrans`)."""
    names = command.add_mutually_exclusive_group()
    names.add_argument(
        "--setrans",
        metavar="FILE",
        help="also show each label by the name this setrans.conf gives it, as mcstrans does "
        "(default: the active policy's /etc/selinux/<SELINUXTYPE>/setrans.conf, when it exists)",
    )
    names.add_argument(
        "--no-setrans",
        action="store_true",
        help="show no names, not even those of the system's setrans.conf",
    )


def system_setrans_path() -> Path:
    """The active policy's setrans.conf (:func:`mls.translate.default_config_path`), under
    ``$LABELNET_SELINUX_ROOT`` instead of ``/etc/selinux`` when that is set."""
    return default_config_path(os.environ.get(SELINUX_ROOT_VARIABLE) or "/etc/selinux")


def setrans_path(args: argparse.Namespace) -> str | None:
    """The setrans.conf that :func:`add_setrans_arguments`' options choose: the file
    ``--setrans`` names, none with ``--no-setrans``, else the system's when it exists."""
    if args.no_setrans:
        return None
    if args.setrans is not None:
        return str(args.setrans)
    system = system_setrans_path()
    return str(system) if system.is_file() else None


def load_setrans(args: argparse.Namespace) -> Translator | None:
    """The translator of :func:`setrans_path`'s file (None when there is none); a file that
    cannot be used raises :class:`SetransUsageError`."""
    path = setrans_path(args)
    if path is None:
        return None
    return read_setrans(path, system=args.setrans is None)


def read_setrans(path: str, *, system: bool = False) -> Translator:
    """The translator of the setrans.conf at ``path`` (``system``: found by default, not
    named by the user); raises :class:`SetransUsageError` with the file, line and column at
    fault."""
    # Imported here: a command that shows no names does not load the translator.
    from .translate import SetransError, Translator

    hint = " (the system's setrans.conf; --no-setrans shows no names)" if system else ""
    if os.path.isdir(path):
        # mcstransd reads a directory as an empty file: here it is a mistaken path.
        raise SetransUsageError(f"{path} is a directory: name the setrans.conf file in it")
    try:
        return Translator.from_file(path)
    except SetransError as exc:
        raise SetransUsageError(f"{exc}{hint}") from None


def register_commands(commands: Any, modules: Sequence[str]) -> None:
    """Let each of ``modules`` that is installed add its commands (its ``register``) to the
    subparsers ``commands``; a module left out of the distribution adds none."""
    for name in modules:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(commands)


def print_json(value: object) -> None:
    """One JSON object on one line."""
    print(json.dumps(value))


def error_text(exc: BaseException) -> str:
    """An error as a command's one line says it: an operating system error as ``file: what``
    (without Python's ``[Errno N]``), any other as its message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror if exc.filename is None else f"{exc.filename}: {exc.strerror}"
    return str(exc)


def run(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    errors: tuple[type[BaseException], ...],
) -> int:
    """Parse ``argv``, run the chosen command (``args.run``) and return its exit status; a
    :class:`UsageError` or one of ``errors`` is one line on stderr and status 2."""
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.run
    caught: tuple[type[BaseException], ...] = (UsageError, *errors)
    try:
        return command(args)
    except caught as exc:
        print(f"{parser.prog}: error: {error_text(exc)}", file=sys.stderr)
        return 2


class Main(Protocol):
    """A command line's entry point: ``main(argv=None)`` returns the exit status."""

    def __call__(self, argv: Sequence[str] | None = None) -> int: ...


def command_main(
    build_parser: Callable[[], argparse.ArgumentParser],
    errors: tuple[type[BaseException], ...],
) -> Main:
    """The ``main`` of a command line whose parser ``build_parser`` builds: it parses ``argv``
    and runs the command as :func:`run` does (``errors`` are one line on stderr, status 2)."""

    def main(argv: Sequence[str] | None = None) -> int:
        return run(build_parser(), argv, errors)

    return main
