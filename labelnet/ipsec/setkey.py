"""The ``-ctx DOI ALG "CONTEXT"`` clause of setkey (ipsec-tools) commands.

setkey's grammar (src/setkey/parse.y, token.l; labeled-ipsec.md §4) allows the clause in two
places:

* SA commands ``add`` and ``update``: among the extensions, after the SPI and before the
  algorithms (``-E``, ``-A``, ``-C``)::

    add 10.0.0.1 10.0.0.2 esp 0x201 -m transport -ctx 1 1 "system_u:object_r:unlabeled_t:s3" -E ...;

* policy commands ``spdadd``, ``spdupdate``, ``spddelete``: after the upper-layer
  specification, before ``-P``.

DOI and ALG are decimal numbers in ASCII digits (setkey stores them in 8-bit fields), CONTEXT a
double-quoted string without escapes: token.l reads ``"[^"]*"``, so a context cannot contain
``"``, and :class:`SetkeyCtx` refuses one that does. setkey sends the context with
``ctx_len`` = strlen + 1 (the NUL counted) and sends no extension at all when DOI is 0. Here
CONTEXT is parsed by :meth:`mls.Context.parse` and printed canonically. Errors are
:class:`SetkeySyntaxError` with the 0-based column in the text given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mls import DEFAULT_LIMITS, Context, Limits, MlsError, MlsSyntaxError
from mls.errors import shortened

from .errors import IpsecEncodeError, SetkeySyntaxError
from .label import parse_label
from .model import Algorithm, Doi, SadbSecCtx, XfrmSecCtx

#: Commands whose grammar has a place for -ctx.
SA_COMMANDS = frozenset({"add", "update"})
POLICY_COMMANDS = frozenset({"spdadd", "spdupdate", "spddelete"})
#: The other setkey commands (no -ctx allowed).
OTHER_COMMANDS = frozenset(
    {"get", "delete", "deleteall", "flush", "dump", "spddump", "spdflush", "exit", "quit", "bye"}
)
#: setkey's IPsec protocol keywords; the SPI follows one of them.
_PROTOCOLS = frozenset({"esp", "ah", "esp-old", "ah-old", "esp-udp", "ipcomp", "tcp"})
#: Options that begin the algorithm part of an SA command.
_ALGORITHM_OPTIONS = frozenset({"-E", "-A", "-C"})

_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\n]+)
      | (?P<comment>\#[^\n]*)
      | (?P<quoted>"[^"]*")
      | (?P<semi>;)
      | (?P<word>[^ \t\r\n";\#]+)""",
    re.VERBOSE,
)
_DECIMAL = re.compile(r"[0-9]+")
_FLAGS = re.compile(r"-[n46]+")


@dataclass(frozen=True, slots=True)
class SetkeyCtx:
    """``-ctx DOI ALG "CONTEXT"``: ``str()`` prints it canonically."""

    context: Context
    doi: int = Doi.LSM
    alg: int = Algorithm.SELINUX

    def __post_init__(self) -> None:
        if not isinstance(self.context, Context):
            raise IpsecEncodeError(f"context must be a mls.Context, not {self.context!r}")
        for name in ("doi", "alg"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise IpsecEncodeError(f"{name} is 0..255 (an 8-bit field), not {value!r}")
            object.__setattr__(self, name, int(value))
        context = self.context
        if '"' in context.user or '"' in context.role or '"' in context.type:  # never in a range
            # setkey's quoted string has no escapes: the clause would end at this quote.
            text = str(context)
            raise IpsecEncodeError(
                f"setkey cannot quote a context containing '\"': {text!r}", text.index('"')
            )

    def __str__(self) -> str:
        return f'-ctx {self.doi} {self.alg} "{self.context}"'

    @property
    def sent(self) -> bool:
        """Whether setkey sends a context at all (it skips DOI 0)."""
        return self.doi != 0

    def to_sadb(self) -> SadbSecCtx | None:
        """The PF_KEY extension setkey sends (ctx_len = strlen + 1), None for DOI 0."""
        if not self.sent:
            return None
        return SadbSecCtx.from_context(self.context, doi=self.doi, alg=self.alg)

    def to_xfrm(self) -> XfrmSecCtx | None:
        """The ``xfrm_user_sec_ctx`` the kernel makes of it, None for DOI 0."""
        sadb = self.to_sadb()
        return None if sadb is None else sadb.to_xfrm()

    @classmethod
    def from_wire(
        cls, ctx: SadbSecCtx | XfrmSecCtx, *, limits: Limits = DEFAULT_LIMITS
    ) -> SetkeyCtx:
        """The clause for a received context (LabelError if its octets are no context,
        IpsecEncodeError if setkey could not quote it)."""
        return cls(parse_label(ctx.context, limits=limits), ctx.doi, ctx.alg)


@dataclass(frozen=True, slots=True)
class SetkeyClause:
    """A ``-ctx`` clause found in a command: its value and its columns ``[start, end)``."""

    ctx: SetkeyCtx
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def _tokens(text: str) -> Iterator[_Token]:
    position = 0
    size = len(text)
    policy = False
    while position < size:
        if policy:
            # After -P setkey reads the policy as one string up to the ';'.
            end = text.find(";", position)
            end = size if end < 0 else end
            if text[position:end].strip():
                yield _Token("policy", text[position:end], position)
            policy = False
            position = end
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            raise SetkeySyntaxError(text, position, "unterminated quoted string")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            token = _Token(kind, match.group(), position)
            policy = token.kind == "word" and token.text == "-P"
            yield token
        position = match.end()


def parse_setkey_ctx(text: str, *, start: int = 0, limits: Limits = DEFAULT_LIMITS) -> SetkeyCtx:
    """Parse one clause ``-ctx DOI ALG "CONTEXT"`` (white space around it allowed)."""
    tokens = list(_tokens(text[start:]))
    shifted = [_Token(t.kind, t.text, t.start + start) for t in tokens]
    if not shifted:
        raise SetkeySyntaxError(text, len(text), "expected -ctx")
    clause, end = _clause(text, shifted, 0, limits)
    if end < len(shifted):
        raise SetkeySyntaxError(text, shifted[end].start, "unexpected text after the -ctx clause")
    return clause.ctx


def _clause(
    text: str, tokens: list[_Token], index: int, limits: Limits
) -> tuple[SetkeyClause, int]:
    head = tokens[index]
    if head.kind != "word" or head.text != "-ctx":
        raise SetkeySyntaxError(text, head.start, f"expected -ctx, found {head.text!r}")
    values: list[int] = []
    position = head.end
    for what in ("DOI", "ALG"):
        index += 1
        if index >= len(tokens) or tokens[index].kind == "semi":
            at = tokens[index].start if index < len(tokens) else len(text)
            raise SetkeySyntaxError(text, at, f"-ctx needs a {what} (a decimal number)")
        token = tokens[index]
        if token.kind != "word" or not _DECIMAL.fullmatch(token.text):
            raise SetkeySyntaxError(
                text, token.start, f"the {what} of -ctx is a decimal number, not {token.text!r}"
            )
        digits = token.text.lstrip("0")
        # Bounded before int(): a long run of digits is out of range whatever it says.
        if len(digits) > 3 or int(token.text) > 255:
            raise SetkeySyntaxError(
                text,
                token.start,
                f"{what} {shortened(token.text, 12)} does not fit setkey's 8-bit field (0..255)",
            )
        value = int(token.text)
        values.append(value)
        position = token.end
    index += 1
    if index >= len(tokens) or tokens[index].kind != "quoted":
        at = tokens[index].start if index < len(tokens) else position
        raise SetkeySyntaxError(text, at, 'the context of -ctx is a double-quoted string "..."')
    quoted = tokens[index]
    body = quoted.text[1:-1]
    try:
        context = Context.parse(body, limits=limits)
    except MlsSyntaxError as error:
        raise SetkeySyntaxError(
            text, quoted.start + 1 + error.offset, f"not a security context: {error.reason}"
        ) from None
    except MlsError as error:
        raise SetkeySyntaxError(
            text, quoted.start + 1, f"not a security context: {error}"
        ) from None
    ctx = SetkeyCtx(context, values[0], values[1])
    return SetkeyClause(ctx, head.start, quoted.end), index + 1


def find_setkey_ctx(command: str, *, limits: Limits = DEFAULT_LIMITS) -> SetkeyClause | None:
    """The ``-ctx`` clause of one setkey command (``;`` and comments allowed), or None.

    Checks that the clause sits where setkey's grammar has room for it (see the module
    documentation) and that there is at most one.
    """
    tokens = list(_tokens(command))
    _, found = _scan(command, tokens, limits)
    return found


def with_setkey_ctx(command: str, ctx: SetkeyCtx | None, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """``command`` with its ``-ctx`` clause replaced by ``ctx`` printed canonically, inserted
    where setkey expects it when there was none, or removed when ``ctx`` is None."""
    tokens = list(_tokens(command))
    slot, found = _scan(command, tokens, limits)
    if found is None and ctx is not None and slot is None:
        raise SetkeySyntaxError(
            command, tokens[0].start, f"setkey has no place for -ctx in this {tokens[0].text}"
        )
    if found is not None:
        if ctx is None:
            start, end = found.start, found.end
            # Take the white space before the clause with it, unless the clause is all that
            # separates its neighbours ('any -ctx 1 1 "u:r:t"-P out').
            if command[end : end + 1] in ("", ";", " ", "\t", "\r", "\n"):
                while start > 0 and command[start - 1] in " \t":
                    start -= 1
            result = command[:start] + command[end:]
            at = start
        else:
            result = command[: found.start] + str(ctx) + command[found.end :]
            at = found.start
    elif ctx is None:
        return command
    else:
        assert slot is not None  # found is None, ctx is not None: checked above
        result = command[:slot] + " " + str(ctx) + command[slot:]
        at = slot
    # What comes around the clause can still make setkey read it otherwise (a quoted string
    # right after it): the result must read back as ``ctx``.
    try:
        again = _scan(result, list(_tokens(result)), limits)[1]
    except SetkeySyntaxError as error:
        raise SetkeySyntaxError(
            command, at, f"the command would not read back with this -ctx: {error.reason}"
        ) from None
    if (again.ctx if again else None) != ctx:
        raise SetkeySyntaxError(command, at, "the command would not read back with this -ctx")
    return result


def _scan(
    text: str, tokens: list[_Token], limits: Limits
) -> tuple[int | None, SetkeyClause | None]:
    """Check the command's -ctx placement; return the column where a clause would be
    inserted (None where the grammar has no place for one) and the clause found."""
    end, name, clauses = _command(text, tokens)
    index = 1
    while index < end and tokens[index].kind == "word" and _FLAGS.fullmatch(tokens[index].text):
        index += 1
    if name in SA_COMMANDS:
        slot, allowed, where = _sa_place(text, tokens, name, index, end)
    elif name in POLICY_COMMANDS:
        slot, allowed, where = _policy_place(text, tokens, name, index, end)
    else:
        return None, None
    if not clauses:
        return slot, None
    at = clauses[0]
    if at not in allowed:
        raise SetkeySyntaxError(text, tokens[at].start, f"-ctx belongs {where}")
    clause, after = _clause(text, tokens[:end], at, limits)
    if after < end and tokens[after].kind == "quoted":
        raise SetkeySyntaxError(text, tokens[after].start, "unexpected string after -ctx")
    return slot, clause


def _command(text: str, tokens: list[_Token]) -> tuple[int, str, list[int]]:
    """The one command's end (its ';' or the last token), its name and its -ctx tokens."""
    if not tokens:
        raise SetkeySyntaxError(text, len(text), "no setkey command")
    semis = [i for i, token in enumerate(tokens) if token.kind == "semi"]
    end = semis[0] if semis else len(tokens)
    if end + 1 < len(tokens):
        raise SetkeySyntaxError(text, tokens[end + 1].start, "more than one command")
    command = tokens[0]
    name = command.text
    if command.kind != "word" or name not in SA_COMMANDS | POLICY_COMMANDS | OTHER_COMMANDS:
        raise SetkeySyntaxError(text, command.start, f"not a setkey command: {name!r}")
    clauses = [i for i in range(end) if tokens[i].kind == "word" and tokens[i].text == "-ctx"]
    if name in OTHER_COMMANDS and clauses:
        raise SetkeySyntaxError(
            text, tokens[clauses[0]].start, f"setkey accepts no -ctx in a {name} command"
        )
    if len(clauses) > 1:
        raise SetkeySyntaxError(text, tokens[clauses[1]].start, "a second -ctx clause")
    return end, name, clauses


def _sa_place(
    text: str, tokens: list[_Token], name: str, first_positional: int, end: int
) -> tuple[int | None, range, str]:
    # add [-46n] src dst protocol spi [extensions] algorithms ;
    spi = next((i + 1 for i in range(first_positional, end) if tokens[i].text in _PROTOCOLS), None)
    if spi is None or spi >= end:
        raise SetkeySyntaxError(text, tokens[end - 1].end, f"{name} needs a protocol and an SPI")
    if spi - 1 < first_positional + 2:
        raise SetkeySyntaxError(
            text,
            tokens[spi - 1].start,
            f"{name} needs a source and a destination before the protocol",
        )
    algorithms = next((i for i in range(spi + 1, end) if tokens[i].text in _ALGORITHM_OPTIONS), end)
    return tokens[spi].end, range(spi + 1, algorithms), "after the SPI and before -E/-A/-C"


def _policy_place(
    text: str, tokens: list[_Token], name: str, first_positional: int, end: int
) -> tuple[int | None, range, str]:
    # spdadd [-46n] src dst upperspec [upper-misc] [-ctx ...] -P policy ;
    if first_positional < end and tokens[first_positional].text == "tagged":
        return None, range(0), "nowhere in a tagged policy"
    policy = next((i for i in range(first_positional, end) if tokens[i].text == "-P"), None)
    if policy is None:
        raise SetkeySyntaxError(text, tokens[end - 1].end, f"{name} needs a policy (-P ...)")
    if policy < first_positional + 3:
        raise SetkeySyntaxError(
            text,
            tokens[policy].start,
            f"{name} needs a source, a destination and an upper-layer protocol before -P",
        )
    if policy + 1 < end:
        inside = re.search(r"(?<!\S)-ctx(?!\S)", tokens[policy + 1].text)
        if inside is not None:
            raise SetkeySyntaxError(
                text,
                tokens[policy + 1].start + inside.start(),
                "setkey reads everything from -P to ';' as the policy; -ctx belongs before -P",
            )
    return (
        tokens[policy - 1].end,
        range(first_positional + 3, policy),
        "after the upper-layer specification and before -P",
    )
