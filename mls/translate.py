"""Human-readable names for MLS levels and ranges, as mcstrans (setrans.conf) gives them.

:class:`Translator` reads a setrans.conf file, with its ``Include=`` fragments, and translates in
both directions with the rules of the mcstrans daemon (mcstransd):

* ``raw -> name`` (:meth:`Translator.translate`): exact lookup of the whole range among the
  configured pairs; otherwise, for a single level, a name computed from a base classification
  plus modifier words; for a range ``low-high``, each half translated on its own (a half that has
  no name stays raw) and equal halves collapsed to one.
* ``name -> raw`` (:meth:`Translator.untranslate`): exact lookup, else a level computed by
  matching a base name at the start and modifier words (with their prefixes and suffixes) in the
  rest; ranges are split on their first ``-``.
* Whatever cannot be translated is returned unchanged, as libselinux does when the daemon has no
  answer.

Like the daemon, a translator remembers the answers it computes (at most 65536 pairs per
domain), so a name computed once is found by exact lookup afterwards; this is why the first
spelling of a level that a user typed can become its raw -> name answer when no canonical name can
be computed for it. Instances are safe to share between threads.

Differences from mcstransd, all deliberate:

* names, prefixes, suffixes and words are matched as literal text; mcstransd splices them into
  a regular expression unescaped, so a name containing ``.``, ``(`` or ``+`` behaves differently
  (or breaks the domain) there;
* computed raw levels are always printed in the kernel's canonical form; mcstransd's printer
  (libsepol ebitmap iteration) garbles a run of categories that ends on a 64-bit boundary
  followed by a gap, e.g. prints ``c62,c191,c200`` for {c62, c63, c200};
* a relative ``Include=`` pattern is resolved against the directory of the file that contains
  it (the daemon changes to ``/`` before it reads its configuration).
"""

from __future__ import annotations

import glob
import operator
import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ._policy import default_config_path
from .categories import format_category_bits
from .label import Context, Level, Range

__all__ = [
    "MAX_CACHE_ENTRIES",
    "MAX_CATEGORIES",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_FILES",
    "MAX_INCLUDE_DEPTH",
    "SetransError",
    "SetransIncludeError",
    "SetransSyntaxError",
    "Translator",
    "default_config_path",
]

#: mcstrans refuses category numbers at or above this (its MAX_CATS).
MAX_CATEGORIES = 1024
#: At most this many setrans files may be open at once (the main file and nested includes).
MAX_INCLUDE_DEPTH = 32
#: At most this many files are read for one configuration, the main file and every include
#: counted each time it is read (a file included twice by each of a chain of files would
#: otherwise be read an exponential number of times).
MAX_CONFIG_FILES = 1024
#: At most this many bytes are read for one configuration, all files together.
MAX_CONFIG_BYTES = 16 << 20
#: Translation pairs kept per domain, configured and learnt together; further pairs are dropped.
MAX_CACHE_ENTRIES = 65536
#: mcstransd refuses a request whose context, with its terminating NUL, exceeds this many bytes.
_MAX_REQUEST_BYTES = 4096
# At most this many greedy rounds pick modifier words for one level (mcstrans' limit).
_MAX_WORD_ROUNDS = 50

# Separators of a setrans line: a translation or keyword uses '=', constraints use '!' or '>'.
_OPERATORS = "=!>"
# Characters that libselinux refuses in a context, so a request holding them is never answered.
_FORBIDDEN_IN_REQUEST = "\0\n\t\r"
_FORBIDDEN_IN_REQUEST_RE = re.compile(f"[{re.escape(_FORBIDDEN_IN_REQUEST)}]")
_BLANKS = " \t"
# What C's isspace() skips before a number in sscanf("%u").
_C_SPACE = " \t\n\v\f\r"
_U32 = 1 << 32
_ULONG_MAX = (1 << 64) - 1

# ASCII-only case folding: mcstrans compares with strcasecmp and PCRE2 caseless matching in the
# C locale, which fold only A-Z.
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(text: str) -> str:
    return text.translate(_ASCII_FOLD)


def _is_word_char(char: str) -> bool:
    # PCRE2's \w with its default (C locale) tables.
    return char == "_" or (char.isascii() and char.isalnum())


_ASCII_ALNUM = re.compile("[0-9A-Za-z]")


def _has_alnum(text: str) -> bool:
    return _ASCII_ALNUM.search(text) is not None


# -- errors -------------------------------------------------------------------------------------


class SetransError(ValueError):
    """A setrans.conf file cannot be loaded.

    ``path`` is the file (``"<string>"`` or the name given to :meth:`Translator.from_text` for
    inline text), ``line`` the 1-based line number (0 when the problem is the file as a whole),
    ``offset`` the 0-based column in that line where the problem starts, ``reason`` the problem
    in words. Like mcstransd, any bad line makes the whole configuration unusable.
    """

    def __init__(self, path: str, line: int, offset: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.offset = offset
        self.reason = reason
        where = f"{path}:{line}:{offset + 1}" if line else path
        super().__init__(f"{where}: {reason}")


class SetransSyntaxError(SetransError):
    """A line of a setrans file is malformed (no ``=``/``!``/``>``, an empty side, a level or
    category list mcstrans cannot parse, a keyword out of place, ``-`` in a modifier word)."""


class SetransIncludeError(SetransError):
    """An ``Include=`` cannot be followed: no file matches, a file cannot be read or is not a
    regular file (a device such as ``/dev/zero``, a pipe), includes nest deeper than
    :data:`MAX_INCLUDE_DEPTH` files, or the configuration grows past :data:`MAX_CONFIG_FILES`
    files or :data:`MAX_CONFIG_BYTES` bytes."""


# -- mcstrans' own number and level syntax ------------------------------------------------------


def _scan_unsigned(text: str, index: int) -> tuple[int, int] | None:
    """Read a number as C's ``sscanf("%u")`` does: leading white space and a sign are accepted,
    the value is reduced to 32 bits. Returns (value, index after it) or None."""
    length = len(text)
    while index < length and text[index] in _C_SPACE:
        index += 1
    negative = False
    if index < length and text[index] in "+-":
        negative = text[index] == "-"
        index += 1
    start = index
    while index < length and "0" <= text[index] <= "9":
        index += 1
    if index == start:
        return None
    digits = text[start:index].lstrip("0")
    if len(digits) > 20 or int(digits or "0") > _ULONG_MAX:
        value = _ULONG_MAX  # strtoul saturates on overflow, sign or not
    else:
        value = int(digits or "0")
        if negative:
            value = (-value) & _ULONG_MAX
    return value % _U32, index


def _scan_prefixed(text: str, index: int, letter: str) -> tuple[int, int] | None:
    # sscanf("c%u") / sscanf("s%u"): the letter must be there, then a number.
    if text[index : index + 1] != letter:
        return None
    return _scan_unsigned(text, index + 1)


# A category list in the plain shape: items cN or cA.cB of at most four digits each (every
# allowed category, MAX_CATEGORIES being 1024), separated by single commas.
_PLAIN_CATEGORIES = re.compile(r"c[0-9]{1,4}(?:\.c[0-9]{1,4})?(?:,c[0-9]{1,4}(?:\.c[0-9]{1,4})?)*")


@dataclass
class _Parser:
    """Category and level parsing with mcstrans' rules; tracks the highest configured category."""

    #: One more than the highest category any configuration line mentioned (mcstrans' maxbit).
    max_bit: int = 0

    def categories(
        self, text: str, bits: int, *, inverse_allowed: bool, from_config: bool
    ) -> int | None:
        """Apply a category list such as ``c0,c5.c9`` (``~`` clears instead of setting, where
        allowed) to ``bits``. None when mcstrans would reject the list."""
        if _PLAIN_CATEGORIES.fullmatch(text):
            return self._plain_categories(text, bits, from_config)
        return self._scanned_categories(text, bits, inverse_allowed, from_config)

    def _scanned_categories(
        self, text: str, bits: int, inverse_allowed: bool, from_config: bool
    ) -> int | None:
        # Any list, read character by character as mcstrans' sscanf calls read it.
        index = 0
        length = len(text)
        inverse = False
        while index < length:
            if inverse_allowed and text[index] == "~":
                inverse = not inverse
                index += 1
                continue
            scanned = _scan_prefixed(text, index, "c")
            if scanned is None:
                return None
            low, index = scanned
            if not self._category_allowed(low, from_config):
                return None
            high = low
            if index < length and text[index] == ".":
                scanned = _scan_prefixed(text, index + 1, "c")
                if scanned is None:
                    return None
                high, index = scanned
                if not self._category_allowed(high, from_config):
                    return None
            if low <= high:  # a reversed span adds nothing, silently
                span = ((1 << (high - low + 1)) - 1) << low
                bits = bits & ~span if inverse else bits | span
                if from_config:
                    self.max_bit = max(self.max_bit, high + 1)
            if index < length and text[index] == ",":
                index += 1
                inverse = False
            elif index < length:
                return None
        return bits

    def _plain_categories(self, text: str, bits: int, from_config: bool) -> int | None:
        # The list as a kernel or a person writes it (_PLAIN_CATEGORIES): no blanks, signs, '~'
        # or numbers long enough to wrap, so int() reads each number as sscanf would, and the
        # items can be split rather than scanned.
        for item in text.split(","):
            low_text, _, high_text = item.partition(".")
            low = int(low_text[1:])
            high = int(high_text[1:]) if high_text else low
            if not self._category_allowed(low, from_config):
                return None
            if high != low and not self._category_allowed(high, from_config):
                return None
            if low <= high:  # a reversed span adds nothing, silently
                bits |= ((1 << (high - low + 1)) - 1) << low
                if from_config:
                    self.max_bit = max(self.max_bit, high + 1)
        return bits

    def _category_allowed(self, number: int, from_config: bool) -> bool:
        if number >= MAX_CATEGORIES:
            return False
        return from_config or number < self.max_bit

    def level(self, text: str, *, from_config: bool) -> tuple[int, int] | None:
        """``sN`` or ``sN:cats`` as (sensitivity, category bits), or None."""
        scanned = _scan_prefixed(text, 0, "s")
        if scanned is None:
            return None
        sensitivity, index = scanned
        if index == len(text):
            return sensitivity, 0
        if text[index] != ":":
            return None
        bits = self.categories(text[index + 1 :], 0, inverse_allowed=False, from_config=from_config)
        return None if bits is None else (sensitivity, bits)


def _format_level(sensitivity: int, bits: int) -> str:
    # mcstrans prints the sensitivity with "%d", so a huge one comes out negative.
    signed = sensitivity - _U32 if sensitivity >= 1 << 31 else sensitivity
    return f"s{signed}:{format_category_bits(bits)}" if bits else f"s{signed}"


# -- configuration model ------------------------------------------------------------------------


@dataclass
class _Word:
    text: str
    folded: str
    categories: int  # the group Default with this word's items applied
    normal: int  # bits the word sets beyond the Default
    inverse: int  # Default bits the word clears


@dataclass
class _Group:
    name: str
    whitespace: str = " "
    join: str = " "
    prefixes: list[str] = field(default_factory=list)
    suffixes: list[str] = field(default_factory=list)
    default: int = 0
    words: list[_Word] = field(default_factory=list)
    # Built when loading ends: the words by folded text, each with its rank in the order words
    # are tried (longest first, ties in byte order), and the lengths of the folded texts, so
    # that the words at a position are found with one lookup per length, not one per word.
    words_by_folded: dict[str, list[tuple[int, _Word]]] = field(default_factory=dict)
    word_lengths: list[int] = field(default_factory=list)

    def words_at(self, folded: str, index: int) -> list[_Word]:
        """The words whose folded text starts at ``folded[index]``, in the order tried."""
        found: list[tuple[int, _Word]] = []
        limit = len(folded) - index
        for length in self.word_lengths:
            if length > limit:
                break
            ranked = self.words_by_folded.get(folded[index : index + length])
            if ranked:
                found.extend(ranked)
        if len(found) > 1:
            found.sort(key=lambda pair: pair[0])
        return [word for _, word in found]


@dataclass
class _Base:
    name: str
    folded: str
    sensitivity: int
    categories: int


@dataclass
class _Domain:
    name: str
    raw_to_name: dict[str, str] = field(default_factory=dict)
    name_to_raw: dict[str, str] = field(default_factory=dict)
    entries: int = 0
    bases: list[_Base] = field(default_factory=list)
    groups: list[_Group] = field(default_factory=list)
    bases_longest_first: list[_Base] = field(default_factory=list)
    # Every group's words in order, with the bits they change and whether they add categories.
    candidates: list[tuple[int, bool, _Group, _Word]] = field(default_factory=list)
    first_base_by_fold: dict[str, _Base] = field(default_factory=dict)

    def remember(self, raw: str, name: str) -> None:
        # A pair goes into both tables; an existing key keeps its first value, as in mcstrans'
        # hash chains where lookup returns the first match.
        if self.entries >= MAX_CACHE_ENTRIES:
            return
        self.raw_to_name.setdefault(raw, name)
        self.name_to_raw.setdefault(name, raw)
        self.entries += 1


@dataclass(frozen=True)
class _Constraint:
    kind: str  # "s" (sensitivity) or "c" (categories)
    operator: str  # "!" or ">"
    sensitivity: int
    mask: int  # for "c": the bits that trigger the rule
    categories: int


# -- loading ------------------------------------------------------------------------------------

# Keywords that set a property of the current modifier group.
_GROUP_SETTINGS = frozenset(("Whitespace", "Join", "Prefix", "Suffix", "Default"))


def _split_line(line: str, path: str, number: int) -> tuple[str, str, str, int, int] | None:
    """A setrans line as (operator, left side, right side, offset of each side), or None for a
    blank or comment line."""
    line = line.split("\0", 1)[0]  # C string functions stop at a NUL
    start = len(line) - len(line.lstrip(_BLANKS))
    if line[start : start + 1] == "#":
        return None
    end = line.find("#", start)
    body = line[start : len(line) if end < 0 else end].rstrip(" \t\r\n")
    if not body:
        return None
    cut = min((i for i in (body.find(op) for op in _OPERATORS) if i >= 0), default=-1)
    if cut < 0:
        raise SetransSyntaxError(
            path, number, start, f"expected raw=name or a constraint with '!' or '>': {body!r}"
        )
    operator = body[cut]
    raw = body[:cut].rstrip(_BLANKS)
    value = body[cut + 1 :].lstrip(_BLANKS)
    if not raw:
        raise SetransSyntaxError(path, number, start, f"nothing before {operator!r}")
    if not value:
        raise SetransSyntaxError(path, number, start + cut, f"nothing after {operator!r}")
    return operator, raw, value, start, start + len(body) - len(value)


IncludeResolver = Callable[[str], str]


class _Loader:
    def __init__(self, resolve_include: IncludeResolver | None) -> None:
        self.resolve_include = resolve_include
        self.parser = _Parser()
        self.domains: list[_Domain] = []
        self.constraints: list[_Constraint] = []
        # mcstrans keeps this parser state across included files.
        self.domain: _Domain | None = None
        self.group: _Group | None = None
        self.base_mode = False
        self.depth = 0
        # What is left of the budgets for the whole configuration.
        self.files_left = MAX_CONFIG_FILES
        self.bytes_left = MAX_CONFIG_BYTES

    def load_file(self, path: str, *, include_line: tuple[str, int, int] | None = None) -> None:
        where = include_line or (path, 0, 0)
        if self.depth >= MAX_INCLUDE_DEPTH:
            raise SetransIncludeError(
                *where, f"includes nest deeper than {MAX_INCLUDE_DEPTH} files at {path}"
            )
        if self.files_left <= 0:
            raise SetransIncludeError(
                *where, f"the configuration reads more than {MAX_CONFIG_FILES} files at {path}"
            )
        self.files_left -= 1
        try:
            data = self.read_bounded(path, where)
        except OSError as error:
            reason = f"cannot read {path}: {error.strerror or error}"
            if include_line is None:
                raise SetransError(path, 0, 0, reason) from error
            raise SetransIncludeError(*include_line, reason) from error
        self.load_bytes(data, path, os.path.dirname(os.path.abspath(path)))

    def read_bounded(self, path: str, where: tuple[str, int, int]) -> bytes:
        # Checked before opening: opening a pipe would wait for a writer. The read is bounded
        # all the same, should the file change in between.
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            return b""  # mcstransd opens a directory and reads nothing from it
        if not stat.S_ISREG(mode):
            raise SetransIncludeError(*where, f"{path} is not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(self.bytes_left + 1)
        if len(data) > self.bytes_left:
            raise SetransIncludeError(
                *where, f"the configuration is larger than {MAX_CONFIG_BYTES} bytes at {path}"
            )
        self.bytes_left -= len(data)
        return data

    def load_bytes(self, data: bytes, name: str, directory: str) -> None:
        self.depth += 1
        try:
            for number, raw_line in enumerate(data.split(b"\n"), start=1):
                try:
                    line = raw_line.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise SetransSyntaxError(
                        name, number, error.start, "line is not valid UTF-8"
                    ) from None
                self.process_line(line, name, number, directory)
        finally:
            self.depth -= 1

    def process_line(self, line: str, path: str, number: int, directory: str) -> None:
        parts = _split_line(line, path, number)
        if parts is None:
            return
        operator, raw, value, raw_at, value_at = parts

        def fail(reason: str, offset: int = raw_at) -> SetransSyntaxError:
            return SetransSyntaxError(path, number, offset, reason)

        if operator != "=":
            self.add_constraint(operator, raw, value, fail, value_at)
        elif raw == "Domain":
            self.start_domain(value)
        elif raw == "Include":
            self.current_domain()
            self.include(value, path, number, value_at, directory)
        elif raw == "Base":
            self.current_domain()
            self.base_mode = True
        elif raw == "ModifierGroup":
            domain = self.current_domain()
            self.group = _Group(value)
            domain.groups.append(self.group)
            self.base_mode = False
        elif raw in _GROUP_SETTINGS:
            self.current_domain()
            self.set_group_setting(raw, value, fail, value_at)
        elif self.group is not None:
            self.current_domain()
            self.add_word(self.group, raw, value, fail, value_at)
        else:
            self.add_translation(raw, value, fail)

    def start_domain(self, name: str) -> _Domain:
        self.domain = _Domain(name)
        self.domains.append(self.domain)
        self.group = None
        return self.domain

    def current_domain(self) -> _Domain:
        # Lines before any Domain= belong to one called Default, as in mcstrans.
        return self.domain if self.domain is not None else self.start_domain("Default")

    def set_group_setting(
        self, key: str, value: str, fail: Callable[..., SetransSyntaxError], value_at: int
    ) -> None:
        group = self.group
        if group is None:
            raise fail(f"{key}= needs a ModifierGroup= line before it")
        if key == "Whitespace":
            group.whitespace = value
        elif key == "Join":
            group.join = value
        elif key == "Prefix":
            group.prefixes.append(value)
        elif key == "Suffix":
            group.suffixes.append(value)
        else:  # Default
            bits = self.parser.categories(value, 0, inverse_allowed=True, from_config=True)
            if bits is None:
                raise fail(f"cannot parse category list {value!r}", value_at)
            group.default = bits

    def add_translation(self, raw: str, name: str, fail: Callable[..., SetransSyntaxError]) -> None:
        domain = self.current_domain()
        if self.base_mode:
            level = self.parser.level(raw, from_config=True)
            if level is None:
                raise fail(f"a base classification needs a level sN[:cats], not {raw!r}")
            domain.bases.append(_Base(name, _fold(name), *level))
        domain.remember(raw, name)

    def add_word(
        self,
        group: _Group,
        raw: str,
        text: str,
        fail: Callable[..., SetransSyntaxError],
        text_at: int,
    ) -> None:
        if "-" in text:
            raise fail(
                f"modifier word {text!r} contains '-', which separates range halves",
                text_at + text.index("-"),
            )
        bits = self.parser.categories(raw, group.default, inverse_allowed=True, from_config=True)
        if bits is None:
            raise fail(f"cannot parse category list {raw!r}")
        default = group.default
        group.words.append(
            _Word(text, _fold(text), bits, bits & ~default, (bits ^ default) & default)
        )

    def add_constraint(
        self,
        operator: str,
        raw: str,
        value: str,
        fail: Callable[..., SetransSyntaxError],
        value_at: int,
    ) -> None:
        categories = self.parser.categories(value, 0, inverse_allowed=True, from_config=True)
        if raw[0] == "s":
            scanned = _scan_prefixed(raw, 0, "s")  # anything after the number is ignored
            if scanned is None:
                raise fail(f"cannot parse sensitivity {raw!r}")
            if categories is None:
                raise fail(f"cannot parse category list {value!r}", value_at)
            self.constraints.append(_Constraint("s", operator, scanned[0], 0, categories))
        elif raw[0] == "c":
            mask = self.parser.categories(raw, 0, inverse_allowed=True, from_config=True)
            if mask is None:
                raise fail(f"cannot parse category list {raw!r}")
            if categories is None:
                raise fail(f"cannot parse category list {value!r}", value_at)
            self.constraints.append(_Constraint("c", operator, 0, mask, categories))
        else:
            raise fail(f"a constraint starts with sN or a category list, not {raw!r}")

    def include(self, pattern: str, path: str, number: int, offset: int, directory: str) -> None:
        if self.resolve_include is not None:
            pattern = self.resolve_include(pattern)
        if not os.path.isabs(pattern):
            pattern = os.path.join(directory, pattern)
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise SetransIncludeError(path, number, offset, f"no file matches {pattern!r}")
        for match in matches:
            self.load_file(match, include_line=(path, number, offset))

    def finish(self) -> None:
        for domain in self.domains:
            domain.bases_longest_first = sorted(
                domain.bases, key=lambda base: -len(base.name.encode())
            )
            for base in domain.bases:
                domain.first_base_by_fold.setdefault(base.folded, base)
            domain.candidates = [
                (word.normal | word.inverse, bool(word.normal), group, word)
                for group in domain.groups
                for word in group.words
            ]
            for group in domain.groups:
                ordered = sorted(
                    group.words, key=lambda word: (-len(word.text.encode()), word.text.encode())
                )
                for rank, word in enumerate(ordered):
                    group.words_by_folded.setdefault(word.folded, []).append((rank, word))
                group.word_lengths = sorted({len(word.folded) for word in group.words})


def _encode(text: str, name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        line_start = text.rfind("\n", 0, error.start) + 1
        raise SetransSyntaxError(
            name,
            text.count("\n", 0, error.start) + 1,
            error.start - line_start,
            f"{text[error.start]!r} is a lone surrogate, not a character UTF-8 can encode",
        ) from None


# Which table of a domain a direction looks in, and how it computes what the table lacks.
_Table = Callable[[_Domain], dict[str, str]]
_RAW_TO_NAME: _Table = operator.attrgetter("raw_to_name")
_NAME_TO_RAW: _Table = operator.attrgetter("name_to_raw")


class _Learn(Protocol):
    def __call__(self, text: str, domain: _Domain, /, *, whole: bool) -> str | None: ...


# -- the translator -----------------------------------------------------------------------------


class Translator:
    """Translate MLS levels and ranges to names and back, as configured by a setrans.conf.

    Build one with :meth:`from_file` or :meth:`from_text`. ``resolve_include`` maps each
    ``Include=`` pattern before it is globbed, e.g. to read a configuration outside
    ``/etc/selinux``::

        Translator.from_file("nato/setrans.conf",
                             resolve_include=lambda p: p.replace("/etc/selinux/mls", "nato"))
    """

    def __init__(self, loader: _Loader) -> None:
        loader.finish()
        self._domains = loader.domains
        self._constraints = loader.constraints
        self._parser = loader.parser
        self._lock = threading.Lock()

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, resolve_include: IncludeResolver | None = None
    ) -> Translator:
        """Load a setrans.conf and the files it includes. Raises :class:`SetransError`."""
        loader = _Loader(resolve_include)
        loader.load_file(os.fspath(path))
        return cls(loader)

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        name: str = "<string>",
        directory: str | os.PathLike[str] | None = None,
        resolve_include: IncludeResolver | None = None,
    ) -> Translator:
        """Load a configuration given as text; relative includes are found in ``directory``
        (default: the current directory). Raises :class:`SetransError`."""
        loader = _Loader(resolve_include)
        loader.load_bytes(_encode(text, name), name, os.fspath(directory or Path.cwd()))
        return cls(loader)

    @property
    def domain_names(self) -> tuple[str, ...]:
        """The translation domains in the order they are tried."""
        return tuple(domain.name for domain in self._domains)

    # -- public translation API ---------------------------------------------------------------

    def translate(self, raw: str | Level | Range) -> str:
        """The name of a raw level or range (``s0:c0.c1023`` -> ``SystemHigh``), or the raw
        text itself when the configuration has no name for it."""
        text = str(raw) if isinstance(raw, (Level, Range)) else raw
        if not _answerable(text):
            return text
        with self._lock:
            # The first domain's table answers most requests; look there before the general
            # walk (this is what the lookup benchmarks time).
            if self._domains:
                known = self._domains[0].raw_to_name.get(text)
                if known is not None:
                    return known
            return self._convert(text, _RAW_TO_NAME, self._learn_name)

    def untranslate(self, name: str) -> str:
        """The raw text of a name (``SystemHigh`` -> ``s0:c0.c1023``), or ``name`` itself when
        it names nothing (raw text therefore passes through unchanged)."""
        if not _answerable(name):
            return name
        with self._lock:
            if self._domains:  # as in translate
                known = self._domains[0].name_to_raw.get(name)
                if known is not None:
                    return known
            return self._convert(name, _NAME_TO_RAW, self._learn_raw)

    def untranslate_level(self, name: str) -> Level:
        """The :class:`~mls.Level` a name (or raw text) stands for; raises
        :class:`~mls.MlsSyntaxError` when the result is not a single kernel-valid level."""
        return Level.parse(self.untranslate(name))

    def untranslate_range(self, name: str) -> Range:
        """The :class:`~mls.Range` a name (or raw text) stands for; raises
        :class:`~mls.MlsSyntaxError` when the result is not a kernel-valid range (mcstrans
        itself does not check that the high half dominates the low half)."""
        return Range.parse(self.untranslate(name))

    def translate_context(self, context: str | Context) -> str:
        """Translate the range of a whole context, as mcstransd answers libselinux's
        ``selinux_raw_to_trans_context``: ``user:role:type:s0`` -> ``user:role:type:SystemLow``.
        A context libselinux would refuse, or one without a range, comes back unchanged."""
        text = str(context) if isinstance(context, Context) else context
        return self._on_context_range(text, self.translate)

    def untranslate_context(self, context: str) -> str:
        """Replace a translated range in a context by its raw text (the daemon's answer to
        ``selinux_trans_to_raw_context``)."""
        return self._on_context_range(context, self.untranslate)

    # -- context splitting (libselinux context_new) ------------------------------------------

    @staticmethod
    def _on_context_range(text: str, convert: Callable[[str], str]) -> str:
        if len(text.encode("utf-8", "surrogatepass")) >= _MAX_REQUEST_BYTES:
            return text
        colons = 0
        for char in text:
            if char == ":":
                colons += 1
            elif char in _FORBIDDEN_IN_REQUEST or (char == " " and colons < 3):
                return text
        if not 3 <= colons <= 5:
            return text  # user:role:type without a range, or too many fields
        user, role, type_, mls_range = text.split(":", 3)
        if not mls_range:
            return text
        return f"{user}:{role}:{type_}:{convert(mls_range)}"

    # -- both directions ------------------------------------------------------------------------

    def _convert(self, text: str, table: _Table, learn: _Learn) -> str:
        # Both directions work alike (mcstrans trans_context / untrans_context): the whole text
        # by lookup in each domain's table, else by computation; a range is split on its first
        # '-' and settled in the first domain that gets there: each half by lookup or
        # computation, a half that cannot be converted stays as it is, equal halves collapse.
        for domain in self._domains:
            known = table(domain).get(text)
            if known is not None:
                return known
            low, dash, high = text.partition("-")
            if not dash:
                learnt = learn(text, domain, whole=True)
                if learnt is not None:
                    return learnt
                continue
            low_done = self._convert_half(low, domain, table, learn)
            high_done = self._convert_half(high, domain, table, learn)
            return low_done if low_done == high_done else f"{low_done}-{high_done}"
        return text

    @staticmethod
    def _convert_half(half: str, domain: _Domain, table: _Table, learn: _Learn) -> str:
        known = table(domain).get(half)
        if known is not None:
            return known
        learnt = learn(half, domain, whole=False)
        return half if learnt is None else learnt

    # -- raw -> name (mcstrans trans_context) --------------------------------------------------

    def _learn_name(self, raw: str, domain: _Domain, *, whole: bool = True) -> str | None:
        """The name computed for ``raw``, remembered with it; None when there is none (a range
        half is treated as a whole level, so ``whole`` changes nothing here)."""
        name = self._compute_name(raw, domain)
        if name is not None:
            domain.remember(raw, name)
        return name

    def _compute_name(self, text: str, domain: _Domain) -> str | None:
        """A name built from a base classification and modifier words (compute_trans_from_raw)."""
        if not domain.bases:
            return None  # nothing to build from: the usual case of a targeted policy's file
        level = self._parser.level(text, from_config=False)
        if level is None:
            return None
        sensitivity, bits = level
        if self._violates_constraints(sensitivity, bits):
            return None
        # Words that set categories beyond their group's Default are not used at s0.
        at_s0 = sensitivity == 0
        all_bits = (1 << self._parser.max_bit) - 1
        previous: _Base | None = None
        for base in domain.bases:
            if base.sensitivity != sensitivity:
                previous = base
                continue
            if (
                previous is not None
                and previous.sensitivity == base.sensitivity
                and previous.categories == base.categories
            ):
                continue  # an alias of the base just tried gives the same result
            previous = base
            chosen = self._choose_words(bits ^ base.categories, base, domain, at_s0, all_bits)
            if chosen is not None:
                return _compose_name(base, domain, chosen)
        return None

    @staticmethod
    def _choose_words(
        unhandled: int, base: _Base, domain: _Domain, at_s0: bool, all_bits: int
    ) -> list[tuple[_Group, _Word]] | None:
        # Greedy: each round takes the word whose bits, among those not yet accounted for, lie
        # inside the still unexplained bits and are closest to them in Hamming distance.
        original = unhandled
        chosen: list[tuple[_Group, _Word]] = []
        rounds = _MAX_WORD_ROUNDS
        while unhandled and rounds > 0:
            rounds -= 1
            not_handled = ~(unhandled ^ original) & all_bits
            outside = ~unhandled
            best: tuple[_Group, _Word] | None = None
            # The word's new bits lie inside the unexplained ones, so the smallest Hamming
            # distance to them is the largest count of new bits; the first such word wins.
            best_count = unhandled.bit_count() - 10000
            target = unhandled.bit_count()
            for word_bits, adds_categories, group, word in domain.candidates:
                if adds_categories and at_s0:
                    continue
                difference = word_bits & not_handled
                if difference & outside:
                    continue
                count = difference.bit_count()
                if count > best_count:
                    best_count = count
                    best = (group, word)
                    if count == target:
                        break
            if best is None:
                break
            remaining = unhandled & ~(best[1].categories ^ base.categories) & all_bits
            if remaining == unhandled:
                # Every later round would see the same state and pick the same word: the
                # remaining rounds cannot succeed.
                return None
            unhandled = remaining
            chosen.append(best)
        return None if unhandled else chosen

    def _violates_constraints(self, sensitivity: int, bits: int) -> bool:
        for rule in self._constraints:
            if rule.kind == "s":
                # Either operator means "none of these categories at this sensitivity".
                if rule.sensitivity == sensitivity and rule.categories & bits:
                    return True
            elif rule.mask & bits:
                present = rule.categories & bits
                if rule.operator == "!" and present:
                    return True
                if rule.operator == ">" and present != rule.categories:
                    return True
        return False

    # -- name -> raw (mcstrans untrans_context) ------------------------------------------------

    def _learn_raw(self, name: str, domain: _Domain, *, whole: bool) -> str | None:
        """The raw level computed for ``name``, remembered with it; None when there is none.

        A raw level without a name yet first gets its computed canonical name, so that the
        canonical spelling answers raw -> name. For a ``whole`` request (not a range half)
        mcstrans skips that when the canonical name is the request itself, which then counts
        once rather than twice towards :data:`MAX_CACHE_ENTRIES`.
        """
        raw = self._compute_raw(name, domain)
        if raw is None:
            return None
        if raw not in domain.raw_to_name:
            canonical = self._compute_name(raw, domain)
            if canonical is not None and not (whole and canonical == name):
                domain.remember(raw, canonical)
        domain.remember(raw, name)
        return raw

    def _compute_raw(self, text: str, domain: _Domain) -> str | None:
        """Parse a name made of a base classification and modifier words
        (compute_raw_from_trans)."""
        folded = _fold(text)
        base = None
        for candidate in domain.bases_longest_first:
            if folded.startswith(candidate.folded):
                base = domain.first_base_by_fold[candidate.folded]
                break
        if base is None:
            return None
        sensitivity, bits = base.sensitivity, base.categories
        # Consumed text is overwritten with '#', so that what is left shows what is unexplained.
        consumed = len(base.name)
        while consumed < len(text) and text[consumed] in _BLANKS:
            consumed += 1
        work = "#" * consumed + text[consumed:]

        complete = False
        changed = True
        # Per group without prefix or suffix: no run of its words starts before this index. It
        # only moves back where text is blanked out (by as much as a word reaches), so each
        # search goes on near where the last one stopped rather than at the start.
        resume = [0] * len(domain.groups)
        while changed and not complete:
            changed = False
            for index, group in enumerate(domain.groups):
                if changed or complete:
                    break
                work, bits, changed, resume[index], blanked = _apply_group(
                    group, work, bits, resume[index]
                )
                if blanked is not None:
                    for other, moved in enumerate(domain.groups):
                        reach = moved.word_lengths[-1] + 1 if moved.word_lengths else 1
                        resume[other] = max(0, min(resume[other], blanked - reach))
                complete = not _has_alnum(work)
        if self._violates_constraints(sensitivity, bits) or not complete:
            return None
        return _format_level(sensitivity, bits)


def _compose_name(base: _Base, domain: _Domain, chosen: list[tuple[_Group, _Word]]) -> str:
    # Groups of the same name are merged; each keeps its first Prefix, first Suffix and Join.
    order: dict[str, _Group] = {}
    for group in domain.groups:
        order.setdefault(group.name, group)
    words: dict[str, list[str]] = {name: [] for name in order}
    for group, word in chosen:
        words[group.name].append(word.text)
    parts = []
    for name, group in order.items():
        if not words[name]:
            continue
        part = group.join.join(words[name])
        if group.prefixes:
            part = f"{group.prefixes[0]} {part}"
        if group.suffixes:
            part = f"{part} {group.suffixes[0]}"
        parts.append(part)
    # mcstrans always writes a blank after the base name, even when no word follows.
    return f"{base.name} {' '.join(parts)}"


def _apply_group(
    group: _Group, work: str, bits: int, resume: int
) -> tuple[str, int, bool, int, int | None]:
    """One group's pass over the unexplained text: find its prefix / suffix and the run of its
    words between them, apply the words' categories, blank out what was used.

    Returns the text and categories after the pass, whether a word was applied, where the next
    search of a group without prefix and suffix may start (``resume`` is this pass's), and the
    first index blanked out (None when nothing was).
    """
    anchored = bool(group.prefixes or group.suffixes)
    prefix = _find_prefix(group, work) if group.prefixes else None
    suffix = _find_suffix(group, work) if group.suffixes else None
    start = prefix[0] + prefix[1] if prefix else 0
    end = suffix[0] if suffix else len(work)
    if (anchored and not (prefix or suffix)) or end < start:
        return work, bits, False, resume, None
    subject = work[start:end]
    span = _match_word_run(
        group, subject, bool(group.prefixes), bool(group.suffixes), 0 if anchored else resume
    )
    if not anchored:
        resume = span[0] if span else len(work)
    if span is None:
        return work, bits, False, resume, None
    run = subject[span[0] : span[1]].rstrip(group.whitespace)
    if not run:
        return work, bits, False, resume, None
    bits, changed = _apply_words(group, run, bits)
    regions = [
        region
        for region in (prefix, suffix, (start + span[0], span[1] - span[0]))
        if region is not None and region[1] > 0
    ]
    blanks = list(work)
    for offset, length in regions:
        blanks[offset : offset + length] = "#" * length
    first = min((offset for offset, _ in regions), default=None)
    return "".join(blanks), bits, changed, resume, first


def _apply_words(group: _Group, run: str, bits: int) -> tuple[int, bool]:
    # The words of the run in turn, each the first that matches where the last one ended.
    changed = False
    position = len(run) - len(run.lstrip(group.whitespace))
    folded_run = _fold(run)
    while position < len(run):
        words = group.words_at(folded_run, position)
        if not words:
            break  # mcstrans logs a conversion error and keeps what it has
        word = words[0]
        bits = (bits | (word.categories & ~group.default)) & ~(
            (word.categories ^ group.default) & group.default
        )
        position += len(word.text)
        changed = True
        while position < len(run) and run[position] in group.whitespace:
            position += 1
    return bits, changed


def _find_prefix(group: _Group, work: str) -> tuple[int, int] | None:
    # The leftmost place where one of the prefixes (the first in file order at that place) is
    # followed by blanks; as (index, length with the blanks).
    folded = _fold(work)
    best: tuple[int, int] | None = None
    for prefix in map(_fold, group.prefixes):
        index = folded.find(prefix)
        while index >= 0 and (best is None or index < best[0]):
            after = index + len(prefix)
            if after < len(work) and work[after] in _BLANKS:
                best = (index, after)
                break
            index = folded.find(prefix, index + 1)
    if best is None:
        return None
    index, after = best
    while after < len(work) and work[after] in _BLANKS:
        after += 1
    return index, after - index


def _find_suffix(group: _Group, work: str) -> tuple[int, int] | None:
    # The leftmost run of blanks followed by one of the suffixes (the first in file order
    # there); as (index, length with the suffix). A suffix starts with no blank, so it follows
    # a whole run of blanks exactly where the character before it is a blank.
    folded = _fold(work)
    best: tuple[int, int] | None = None
    for suffix in map(_fold, group.suffixes):
        after = folded.find(suffix, 1)
        while after >= 0 and (best is None or after < best[0]):
            if work[after - 1] in _BLANKS:
                best = (after, len(suffix))
                break
            after = folded.find(suffix, after + 1)
    if best is None:
        return None
    after, length = best
    index = after
    while index > 0 and work[index - 1] in _BLANKS:
        index -= 1
    return index, after - index + length


def _match_word_run(
    group: _Group, subject: str, at_start: bool, at_end: bool, first_start: int = 0
) -> tuple[int, int] | None:
    """Where mcstrans' word pattern ``(?:\\bWORD\\b|[WHITESPACE]+)+`` matches in ``subject``,
    anchored at the start when the group has prefixes and at the end when it has suffixes;
    unanchored, the search starts at ``first_start``.

    Matched by hand rather than with :mod:`re`: the nested repetition backtracks exponentially
    in Python's engine when words overlap; this walk is linear in the subject length (times
    the number of distinct word lengths).
    """
    folded = _fold(subject)
    length = len(subject)
    whitespace = group.whitespace

    def boundary(index: int) -> bool:
        before = index > 0 and _is_word_char(subject[index - 1])
        after = index < length and _is_word_char(subject[index])
        return before != after

    def word_ends(index: int) -> list[int]:
        # Ends of the words that match at index, in the pattern's order (longest first).
        if index >= length or not boundary(index):
            return []
        return [
            index + len(word.folded)
            for word in group.words_at(folded, index)
            if boundary(index + len(word.folded))
        ]

    if at_end:
        return _match_to_the_end(subject, at_start, whitespace, word_ends)
    for index in range(1) if at_start else range(first_start, length):
        position = _greedy_step(subject, index, whitespace, word_ends)
        if position is None:
            continue
        while True:
            following = _greedy_step(subject, position, whitespace, word_ends)
            if following is None:
                return index, position
            position = following
    return None


def _match_to_the_end(
    subject: str, at_start: bool, whitespace: str, word_ends: Callable[[int], list[int]]
) -> tuple[int, int] | None:
    # reach[i]: the end of the subject can be reached from i by whole tokens. No token holds
    # '#' (text already used), so only the part after the last '#' can reach the end.
    length = len(subject)
    tail = subject.rfind("#") + 1
    reach = [False] * (length + 1)
    reach[length] = True
    for index in range(length - 1, tail - 1, -1):
        reach[index] = (subject[index] in whitespace and reach[index + 1]) or any(
            reach[end] for end in word_ends(index)
        )
    for index in range(1) if at_start else range(tail, length):
        if reach[index]:
            return index, length
    return None


def _greedy_step(
    subject: str, index: int, whitespace: str, word_ends: Callable[[int], list[int]]
) -> int | None:
    # One repetition: the first alternative that matches (words longest first, then a maximal
    # run of whitespace characters).
    ends = word_ends(index)
    if ends:
        return ends[0]
    if index < len(subject) and subject[index] in whitespace:
        while index < len(subject) and subject[index] in whitespace:
            index += 1
        return index
    return None


def _answerable(text: object) -> bool:
    if not isinstance(text, str):
        raise TypeError(f"expected a str, Level or Range, not {type(text).__name__}")
    if _FORBIDDEN_IN_REQUEST_RE.search(text) is not None:
        return False
    # A character takes at most four bytes: short texts need no encoding to be measured.
    return (
        len(text) < _MAX_REQUEST_BYTES // 4
        or len(text.encode("utf-8", "surrogatepass")) < _MAX_REQUEST_BYTES
    )
