"""Exceptions raised by the mls package.

Every error is a ValueError, so callers that only care about "bad input" can catch that.
Errors about text carry the 0-based ``offset`` of the offending character, so that a tool can
point at it.
"""

from __future__ import annotations


class ByteError(ValueError):
    """The base of the errors about bytes in the packages above mls (cipso, calipso,
    labelnet.ipsec, netlabel's labeled sockets): ``reason`` says what is wrong in words,
    ``offset`` is the byte at fault, or None when no byte is to blame; :attr:`unit` names the
    offset in the message."""

    #: How the message names the offset: "(byte 3)".
    unit = "byte"
    reason: str
    offset: int | None

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(reason if offset is None else f"{reason} ({self.unit} {offset})")


class DoiSyntaxError(ByteError):
    """The base of cipso's and calipso's DOI syntax errors: a DOI definition in netlabelctl
    syntax is malformed. ``argument`` is the word at fault (the whole definition when a word is
    missing), ``position`` the character in it where the problem starts and ``problem`` what is
    wrong. Each package's error derives from this and from its own DOI error."""

    def __init__(self, problem: str, argument: str, position: int = 0) -> None:
        super().__init__(f"{problem} in {quoted(argument)} at character {position}")
        self.problem = problem
        self.argument = argument
        self.position = position

    def __reduce__(self) -> tuple[type[DoiSyntaxError], tuple[str, str, int]]:
        return (type(self), (self.problem, self.argument, self.position))


class MlsError(ValueError):
    """A label or label operation is invalid (for example a range whose high level does not
    dominate its low level)."""


class MlsSyntaxError(MlsError):
    """Text is not a valid MLS level, range, context or category list.

    ``offset`` is the 0-based index in ``text`` where the problem was found, ``reason`` says what
    is wrong in words.
    """

    def __init__(self, text: str, offset: int, reason: str) -> None:
        self.text = text
        self.offset = offset
        self.reason = reason
        super().__init__(f"{reason} at offset {offset} in {shortened(text)!r}")


class MlsLimitError(MlsSyntaxError):
    """A sensitivity or category number is larger than the configured limit.

    The limits exist so that hostile input such as ``s0:c0.c4294967295`` is refused before any
    memory is spent on it; raise them with :class:`mls.Limits` when a policy needs more.
    """


# Hostile input may be thousands of characters: the messages of every package quote only its
# start, in one of two ways.


def shortened(text: str, keep: int = 120) -> str:
    """``text`` cut after ``keep`` characters, with "..." when it was cut."""
    return text if len(text) <= keep else text[:keep] + "..."


def quoted(word: str) -> str:
    """``word`` quoted for a message: whole up to 60 characters, else its first 40 and its
    length."""
    return repr(word) if len(word) <= 60 else f"{word[:40]!r}... ({len(word)} characters)"
