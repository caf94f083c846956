"""What the ``python -m mls`` subcommands share: one-line argument errors, ASCII numbers."""

from __future__ import annotations

import argparse
from typing import NoReturn

# No option needs a longer number; int() on thousands of digits is slow or refused.
_MAX_DIGITS = 20


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2, like every
    other error of ``python -m mls`` (argparse would print the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def ascii_number(text: str) -> int:
    """An argparse type: a non-negative number in ASCII digits (``int()`` would also take
    Arabic-Indic or full-width digits, a sign, blanks and underscores)."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (ASCII digits 0-9)")
    if len(text) > _MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"{text[:24]!r}... is too long a number")
    return int(text)
