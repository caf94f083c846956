"""Command-line plumbing shared by ``python -m cipso`` and ``python -m calipso``: one-line
errors, the bytes a command reads (hex words, or stdin) and the JSON it prints."""

from __future__ import annotations

import argparse
import json
import string
import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO, NoReturn

__all__ = ["OneLineParser", "UsageError", "print_json", "read_bytes", "run"]

_HEX_SEPARATORS = str.maketrans("", "", " :\t\r\n-")
#: What may surround hex digits in text: separators and the 0x prefix's x.
_HEX_TEXT = frozenset((string.hexdigits + " :\t\r\n-xX").encode())


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not a usage block: the caller asks for
    --help when needed."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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


def print_json(value: object) -> None:
    """One JSON object on one line."""
    print(json.dumps(value))


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
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
