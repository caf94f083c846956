"""Category sets: immutable sets of category numbers, backed by one Python int.

Bit ``i`` of the int is category ``ci``, so set algebra is integer arithmetic and a set of a
thousand categories costs a few machine words.

The wire bitmap of CIPSO tag 1 and CALIPSO puts category 0 in the most significant bit of byte
0 (category N lives in byte N // 8 under mask ``0x80 >> (N % 8)``). Reversing the bits of every
byte turns that into little-endian bit order, so conversion is one ``bytes.translate`` and one
``int.from_bytes``, with no per-bit loop.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator

from .errors import MlsError, MlsLimitError, MlsSyntaxError
from .limits import DEFAULT_LIMITS, Limits

# _BIT_REVERSED[b] is b with its eight bits in reverse order.
_BIT_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))

# A number token longer than this is refused before int() sees it: no limit anyone needs has
# more digits, and int() on a megabyte of digits would be slow.
_MAX_DIGITS = 10


class CategorySet:
    """An immutable, hashable set of non-negative category numbers.

    Build one with :meth:`of`, :meth:`from_ranges`, :meth:`parse`, :meth:`from_bitmap` or
    :meth:`from_int`. Supports ``|``, ``&``, ``-``, ``^``, ``<=``, ``<``, ``>=``, ``>``, ``in``,
    ``len`` and ascending iteration, like ``frozenset`` (``<=`` is the subset relation, a partial
    order). ``str()`` gives the kernel's canonical text, e.g. ``c0.c2,c5,c7,c8``.
    """

    __slots__ = ("_bits",)

    _bits: int

    def __init__(self, categories: Iterable[int] = ()) -> None:
        items = categories if type(categories) is tuple else tuple(categories)
        for cat in items:
            if not isinstance(cat, int) or isinstance(cat, bool) or cat < 0:
                raise MlsError(f"a category must be a non-negative int, not {cat!r}")
        if len(items) <= _FEW_ITEMS:  # the usual few (an MCS pair): or-ed in one at a time
            bits = 0
            for cat in items:
                bits |= 1 << cat
        else:  # or-ing each into a growing integer would make many quadratic
            bits = bits_from_spans([(cat, cat) for cat in items])
        _set_bits(self, bits)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def of(cls, *categories: int) -> CategorySet:
        """``CategorySet.of(1, 2, 5)``."""
        return cls(categories)

    @classmethod
    def from_int(cls, bits: int) -> CategorySet:
        """The set whose bit ``i`` is category ``i``."""
        if bits < 0:
            raise MlsError("a category bitmap integer must not be negative")
        return _from_bits(bits)

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[int, int]]) -> CategorySet:
        """Union of inclusive ``(low, high)`` spans."""
        spans = list(ranges)
        for low, high in spans:
            if low < 0 or high < low:
                raise MlsError(f"invalid category span ({low}, {high})")
        return _from_bits(bits_from_spans(spans))

    @classmethod
    def from_bitmap(cls, bitmap: bytes) -> CategorySet:
        """Decode a wire bitmap: category 0 is the most significant bit of byte 0."""
        # bits_from_bitmap written out: this is the hot path of every label decoder.
        return _from_bits(int.from_bytes(bitmap.translate(_BIT_REVERSED), "little"))

    @classmethod
    def parse(cls, text: str, *, limits: Limits = DEFAULT_LIMITS) -> CategorySet:
        """Parse a category list such as ``c1.c300,c400,c402``."""
        return _from_bits(parse_category_bits(text, 0, len(text), limits))

    # -- conversion -----------------------------------------------------------------------

    def __int__(self) -> int:
        return self._bits

    __index__ = __int__

    @property
    def bits(self) -> int:
        """The backing integer: bit ``i`` set means category ``i`` is in the set."""
        return self._bits

    def to_bitmap(self, *, align: int = 1, min_length: int = 0) -> bytes:
        """Encode as a wire bitmap, category 0 in the most significant bit of byte 0.

        Trailing zero bytes are trimmed, as the kernel does for CIPSO tag 1. ``align`` rounds
        the length up to a multiple (4 for CALIPSO's 32-bit words); ``min_length`` pads with
        zero bytes (CIPSO's optimised 10-byte tag-1 format).
        """
        length = (self._bits.bit_length() + 7) >> 3
        if align > 1:
            length = -(-length // align) * align
        length = max(length, min_length)
        return self._bits.to_bytes(length, "little").translate(_BIT_REVERSED)

    def runs(self) -> Iterator[tuple[int, int]]:
        """Maximal spans of consecutive categories, ascending, as inclusive pairs."""
        return iter_runs(self._bits)

    @property
    def max(self) -> int | None:
        """The highest category, or None for the empty set."""
        return self._bits.bit_length() - 1 if self._bits else None

    @property
    def min(self) -> int | None:
        """The lowest category, or None for the empty set."""
        bits = self._bits
        return (bits & -bits).bit_length() - 1 if bits else None

    # -- set protocol ---------------------------------------------------------------------

    def __contains__(self, category: object) -> bool:
        return isinstance(category, int) and category >= 0 and bool(self._bits >> category & 1)

    def __len__(self) -> int:
        return self._bits.bit_count()

    def __bool__(self) -> bool:
        return self._bits != 0

    def __iter__(self) -> Iterator[int]:
        for low, high in iter_runs(self._bits):
            yield from range(low, high + 1)

    def __or__(self, other: CategorySet) -> CategorySet:
        return _combine(self, other, operator.or_)

    def __and__(self, other: CategorySet) -> CategorySet:
        return _combine(self, other, operator.and_)

    def __sub__(self, other: CategorySet) -> CategorySet:
        return _combine(self, other, _minus)

    def __xor__(self, other: CategorySet) -> CategorySet:
        return _combine(self, other, operator.xor)

    def __le__(self, other: CategorySet) -> bool:
        return _within(self, other, strictly=False)

    def __lt__(self, other: CategorySet) -> bool:
        return _within(self, other, strictly=True)

    def __ge__(self, other: CategorySet) -> bool:
        return _within(other, self, strictly=False)

    def __gt__(self, other: CategorySet) -> bool:
        return _within(other, self, strictly=True)

    def issubset(self, other: CategorySet) -> bool:
        return self._bits & ~other._bits == 0

    def issuperset(self, other: CategorySet) -> bool:
        return other._bits & ~self._bits == 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategorySet):
            return NotImplemented
        return self._bits == other._bits

    def __hash__(self) -> int:
        return hash((CategorySet, self._bits))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CategorySet is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("CategorySet is immutable")

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return (CategorySet.from_int, (self._bits,))

    def __str__(self) -> str:
        return format_category_bits(self._bits)

    def __repr__(self) -> str:
        return f"CategorySet.parse({format_category_bits(self._bits)!r})"


def _combine(first: object, second: object, operation: Callable[[int, int], int]) -> CategorySet:
    # Set algebra with something other than a CategorySet is left to the other operand.
    if not (isinstance(first, CategorySet) and isinstance(second, CategorySet)):
        return NotImplemented  # type: ignore[no-any-return]
    return _from_bits(operation(first._bits, second._bits))


def _minus(bits: int, other: int) -> int:
    return bits & ~other


def _within(inner: object, outer: object, *, strictly: bool) -> bool:
    # Subset (proper subset when ``strictly``), or NotImplemented when either is no
    # CategorySet.
    if not (isinstance(inner, CategorySet) and isinstance(outer, CategorySet)):
        return NotImplemented  # type: ignore[no-any-return]
    if strictly and inner._bits == outer._bits:
        return False
    return inner._bits & ~outer._bits == 0


def bits_from_bitmap(bitmap: bytes) -> int:
    """The bit integer of a wire bitmap (category 0 is the most significant bit of byte 0)."""
    return int.from_bytes(bitmap.translate(_BIT_REVERSED), "little")


def _from_bits(bits: int) -> CategorySet:
    # Skips __init__'s iterable handling: the hot paths (parse, bitmap decode) already hold the
    # int. The slot's own setter is a third cheaper than object.__setattr__ by name.
    cs = _new_category_set(CategorySet)
    _set_bits(cs, bits)
    return cs


_new_category_set = object.__new__
_set_bits = CategorySet.__dict__["_bits"].__set__


EMPTY = _from_bits(0)


def iter_runs(bits: int) -> Iterator[tuple[int, int]]:
    """Maximal runs of set bits in ``bits``, ascending, as inclusive ``(first, last)`` pairs."""
    # The cost is linear in the size of ``bits`` however many runs it has: many runs are found
    # in the binary text, few from their edges, highest first, as format_category_bits does
    # (that function makes text as it goes: making these pairs first would cost it a third).
    edges = bits ^ (bits << 1)
    if edges.bit_count() > 2 * _FEW_RUNS or bits.bit_length() >= len(_POWERS):
        return _runs_in_text(bits)
    runs: list[tuple[int, int]] = []
    append = runs.append
    powers = _POWERS
    while edges:
        end = edges.bit_length() - 1
        edges ^= powers[end]
        start = edges.bit_length() - 1
        edges ^= powers[start]
        append((start, end - 1))
    runs.reverse()
    return iter(runs)


def _runs_in_text(bits: int) -> Iterator[tuple[int, int]]:
    # Walks the binary text with str.find (shifting the integer itself once per run would be
    # quadratic).
    text = f"{bits:b}"[::-1]
    find = text.find
    end = len(text)
    first = find("1")
    while first >= 0:
        last = find("0", first)
        if last < 0:
            last = end
        yield first, last - 1
        first = find("1", last)


def format_category_bits(bits: int) -> str:
    """The kernel's canonical category text: runs of one ``cN``, of two ``cA,cB``, of three
    or more ``cA.cZ``, separated by commas (security/selinux/ss/mls.c, mls_sid_to_context).

    The cost is linear in the size of ``bits``. Sets with few runs are walked run by run; sets
    with many runs (dense bitmaps) are printed a byte or four categories at a time from cached
    text, see :func:`_format_by_bytes` and :func:`_format_by_units`.
    """
    # Bit i of ``edges`` is set where category i differs from category i - 1: each run starts
    # and ends (one past its last category) at an edge, so the edges count the runs.
    edges = bits ^ (bits << 1)
    count = edges.bit_count()
    length = bits.bit_length()
    # Many runs first: dense labels rarely repeat, so a dump formats every one of them.
    if count > 2 * _FEW_RUNS:
        if 20 * count >= length and length <= _CACHED_CATEGORIES:
            # Dense: a run or more per five bytes.
            if length <= _BYTE_CATEGORIES:
                return _format_by_bytes(bits, length)
            return _format_by_units(bits)
    elif count == 2:  # one run (c0.c1023, or c0.c100000 under raised limits): as long as the set
        return run_text(length - bits.bit_count(), length - 1)
    elif length < len(_POWERS):
        return _format_few_runs(edges)
    return _format_by_text_search(bits)


# Up to this many runs, walking the edges run by run is cheapest. The thresholds here come
# from measuring the three ways on sets of 2 to 2000 categories.
_FEW_RUNS = 8


def _format_few_runs(edges: int) -> str:
    # From the highest edge down: each step clears one edge, which shortens the integer, so a
    # step costs a few operations on an ever smaller number; clearing by xor with a power of two
    # from a table spares making that power each time.
    parts: list[str] = []
    append = parts.append
    powers = _POWERS
    while edges:
        end = edges.bit_length() - 1  # one past the run's last category
        edges ^= powers[end]
        start = edges.bit_length() - 1
        edges ^= powers[start]
        if end - start == 1:
            append(f"c{start}")
        elif end - start == 2:
            append(f"c{start},c{start + 1}")
        else:
            append(f"c{start}.c{end - 1}")
    parts.reverse()
    return ",".join(parts)


def run_text(low: int, high: int) -> str:
    """The canonical text of the run of categories ``low`` .. ``high``: ``cN``, ``cA,cB`` or
    ``cA.cZ``."""
    if low == high:
        return f"c{low}"
    if high == low + 1:
        return f"c{low},c{high}"
    return f"c{low}.c{high}"


def _format_by_text_search(bits: int) -> str:
    # Sparse or very large sets: the runs found in the binary text, so the cost is linear in
    # its length plus a few steps per run.
    return ",".join([run_text(first, last) for first, last in _runs_in_text(bits)])


# Dense sets are printed by units of four categories. The text a unit contributes depends only
# on its position and on a window of seven bits: the two categories before it (was a run
# already going, and for how long), its own four, and the one after it (does a run end here).
# Each unit's text is computed once per window and kept, so printing a set costs one dict
# lookup per unit, all driven by C-level iterators: no Python code runs per run or per unit.
#
# The text of a unit is the comma-led items it starts or ends: ",cN" where a run starts or where
# a run of two ends, ".cN" where a run of three or more ends. Joining the units and dropping the
# first comma gives the canonical text.

#: Categories c0 .. this - 1 are printed from cached unit text (tag 1 and CALIPSO bitmaps).
_CACHED_CATEGORIES = 2048
#: 2**i for every edge position of a set within the cached categories (one past the last).
_POWERS = [1 << i for i in range(_CACHED_CATEGORIES + 2)]
_UNIT = 4


def _unit_text(base: int, window: int) -> str:
    # ``window`` bit j is category base - 2 + j; this unit is categories base .. base + 3.
    items = []
    for offset in range(_UNIT):
        if not window >> (offset + 2) & 1:
            continue
        category = base + offset
        if not window >> (offset + 1) & 1:
            items.append(f",c{category}")  # a run starts
        elif not window >> (offset + 3) & 1:  # a run ends: of two, or of three or more
            items.append(f".c{category}" if window >> offset & 1 else f",c{category}")
    return "".join(items)


# _UNIT_TEXTS[unit][window]: filled on first use (None until then), at most 128 windows per
# unit, so the cache is bounded (about a megabyte when full).
_UNIT_TEXTS: list[list[str]] = [
    [None] * 128  # type: ignore[list-item]
    for _ in range(_CACHED_CATEGORIES // _UNIT + 2)
]
_BYTES = _CACHED_CATEGORIES // 8 + 1
# A mask that keeps the low seven bits of every byte.
_LOW_7_BITS = int.from_bytes(b"\x7f" * _BYTES, "little")


def _format_by_units(bits: int) -> str:
    size = (bits.bit_length() + 7) >> 3
    # Byte k of (bits << 2) holds categories 8k-2 .. 8k+5: the window of unit 2k. Byte k of
    # (bits >> 2) holds 8k+2 .. 8k+9: the window of unit 2k+1. Interleaving the two gives every
    # unit's window in order.
    windows = bytearray(2 * size + 2)
    windows[0::2] = ((bits << 2) & _LOW_7_BITS).to_bytes(size + 1, "little")
    windows[1::2] = ((bits >> 2) & _LOW_7_BITS).to_bytes(size + 1, "little")
    return _join_cached(_UNIT_TEXTS, windows, _unit_text_at)


def _unit_text_at(unit: int, window: int) -> str:
    return _unit_text(unit * _UNIT, window)


# list.__getitem__ looked up once: the printers below call it through map, a step per byte.
_ITEM = list.__getitem__


def _join_cached(
    tables: list[list[str]], windows: Iterable[int], text: Callable[[int, int], str]
) -> str:
    """The texts ``tables[i][windows[i]]`` joined, the first comma dropped; a text not cached
    yet is ``text(i, window)``."""
    try:
        return "".join(map(_ITEM, tables, windows))[1:]
    except TypeError:  # a window seen for the first time: compute its text, then join again
        for index, window in enumerate(windows):
            texts = tables[index]
            if texts[window] is None:
                texts[window] = text(index, window)
        return "".join(map(_ITEM, tables, windows))[1:]


# Dense sets of the low categories (CIPSO tag 1 bitmaps, the usual CALIPSO ones, MCS levels)
# go a byte at a time: the text of categories 8k .. 8k+7 depends on the two categories before
# them, their own eight and the one after, and is the text of its two units (above) put
# together. Half as many pieces to join as units. The window is read from two bytes, without
# building it: byte k of (bits << 2) holds categories 8k-2 .. 8k+5, byte k+1 of it holds
# 8k+6 .. 8k+8 in its three lowest bits; the text is _BYTE_TEXTS[k][that byte][those bits].
# Once a process has printed a few dense sets, a byte position's 2048 texts are made together
# the first time one of them is needed (0.4 ms, 13 ms for all 32 positions): one by one, in the
# middle of printing, they cost three to four times as much in all, and a process that prints
# many dense labels ends up needing most of them.
# The cache stays bounded (2048 windows for each of 32 bytes, a few megabytes when full).

#: Categories c0 .. this - 1 are printed a byte at a time.
_BYTE_CATEGORIES = 256
_BYTE_TEXTS: list[list[list[str | None] | None]] = [
    [None] * 256 for _ in range(_BYTE_CATEGORIES // 8)
]
# Keeps the three lowest bits of every byte (bytes.translate table).
_LOW_3_BITS = bytes(value & 7 for value in range(256))


def _byte_text(byte: int, window: int) -> str:
    # ``window`` bit j is category 8 * byte - 2 + j: the texts of the two units of the byte.
    low, high = _UNIT_TEXTS[2 * byte], _UNIT_TEXTS[2 * byte + 1]
    if low[window & 0x7F] is None:
        low[window & 0x7F] = _unit_text(8 * byte, window & 0x7F)
    if high[window >> 4] is None:
        high[window >> 4] = _unit_text(8 * byte + _UNIT, window >> 4)
    return low[window & 0x7F] + high[window >> 4]


def _format_by_bytes(bits: int, length: int) -> str:
    # ``length``: bits.bit_length(), which the caller knows.
    size = (length + 7) >> 3
    lows = (bits << 2).to_bytes(size + 1, "little")  # one byte more: the last byte's next bits
    highs = lows[1:].translate(_LOW_3_BITS)
    try:
        # A text not made yet is None (or its inner table is): the TypeError that raises, in
        # C, is the signal to make it. Mypy sees the Optional and refuses the map.
        tables = map(_ITEM, _BYTE_TEXTS, lows)
        return "".join(map(_ITEM, tables, highs))[1:]  # type: ignore[arg-type]
    except TypeError:
        _make_byte_texts(lows, highs)
        tables = map(_ITEM, _BYTE_TEXTS, lows)
        return "".join(map(_ITEM, tables, highs))[1:]  # type: ignore[arg-type]


def _make_byte_texts(lows: bytes, highs: bytes) -> None:
    # The texts of the windows seen for the first time: one by one for the first few sets (a
    # program that prints one dense set does not pay for whole positions), then a position's
    # whole table at once.
    global _sets_with_new_texts
    _sets_with_new_texts += 1
    whole = _sets_with_new_texts > _ONE_BY_ONE
    for byte, (low, high) in enumerate(zip(lows, highs, strict=False)):  # lows: one more
        texts = _BYTE_TEXTS[byte][low]
        if texts is not None and texts[high] is not None:
            continue
        if whole:
            _fill_byte(byte)
            continue
        if texts is None:
            texts = _BYTE_TEXTS[byte][low] = [None] * 8
        texts[high] = _byte_text(byte, low | high << 8)


# How many sets make their new texts one by one before whole positions are made at once.
_ONE_BY_ONE = 32
_sets_with_new_texts = 0


def _fill_byte(byte: int) -> None:
    low_unit, high_unit = 8 * byte, 8 * byte + _UNIT
    lows = [_unit_text(low_unit, window) for window in range(128)]
    highs = [_unit_text(high_unit, window) for window in range(128)]
    row = _BYTE_TEXTS[byte]
    for low in range(256):  # the tables made one by one are completed too
        first = lows[low & 0x7F]
        row[low] = [first + highs[(low >> 4) | high << 4] for high in range(8)]


def parse_category_bits(text: str, start: int, end: int, limits: Limits) -> int:
    """Parse the category list ``text[start:end]`` into a bit integer.

    Items are ``cN`` or ``cA.cB`` (A < B strictly, as the kernel requires), separated by
    commas; order and repetition do not matter. Offsets in errors are into ``text``. The cost is
    linear in the length of the text (plus the size of the resulting set).
    """
    # Fast path for well-formed input; anything unusual is handed to the careful parser below,
    # which tracks offsets for the error message.
    max_category = limits.max_category
    numbers = []
    for item in text[start:end].split(","):
        if "." in item:
            return _parse_category_bits_carefully(text, start, end, max_category)
        digits = item[1:]
        if (
            item[:1] != "c"
            or not digits.isdigit()
            or not digits.isascii()
            or len(digits) > _MAX_DIGITS
            or (digits[0] == "0" and len(digits) > 1)
        ):
            return _parse_category_bits_carefully(text, start, end, max_category)
        number = int(digits)
        if number > max_category:
            return _parse_category_bits_carefully(text, start, end, max_category)
        numbers.append(number)
    if len(numbers) <= _FEW_ITEMS:
        bits = 0
        for number in numbers:
            bits |= 1 << number
        return bits
    return bits_from_spans([(number, number) for number in numbers])


# Up to this many items, or-ing each into the integer is cheapest; beyond, the set is built in
# one pass (each or would copy the whole integer, which makes long lists quadratic).
_FEW_ITEMS = 32


def bits_from_spans(spans: list[tuple[int, int]]) -> int:
    """The union of inclusive ``(low, high)`` spans as a bit integer, in time linear in the
    number of spans and the size of the result (overlapping spans cost nothing extra)."""
    if len(spans) <= _FEW_ITEMS:
        bits = 0
        for low, high in spans:
            bits |= ((2 << (high - low)) - 1) << low
        return bits
    spans.sort()
    # Binary text, lowest category first: gaps of "0" and merged runs of "1".
    pieces = []
    covered = 0  # categories below this are written already
    for low, high in spans:
        if high < covered:
            continue
        if low > covered:
            pieces.append("0" * (low - covered))
            covered = low
        pieces.append("1" * (high + 1 - covered))
        covered = high + 1
    return int("".join(pieces)[::-1], 2)


def _parse_category_bits_carefully(text: str, start: int, end: int, max_category: int) -> int:
    if start >= end:
        raise MlsSyntaxError(text, start, "empty category list")
    spans = []
    position = start
    for item in text[start:end].split(","):
        low_text, dot, high_text = item.partition(".")
        low = _category_number(text, position, low_text, max_category)
        if dot:
            high_at = position + len(low_text) + 1
            high = _category_number(text, high_at, high_text, max_category)
            if high <= low:
                raise MlsSyntaxError(
                    text,
                    high_at,
                    f"category range c{low}.c{high} must go from lower to higher"
                    + (" (write a single category without '.')" if high == low else ""),
                )
            spans.append((low, high))
        else:
            spans.append((low, low))
        position += len(item) + 1
    return bits_from_spans(spans)


def _category_number(text: str, at: int, token: str, max_category: int) -> int:
    digits = token[1:]
    if (
        token[:1] != "c"
        or not digits.isdigit()
        or not digits.isascii()
        or (digits[0] == "0" and len(digits) > 1)
    ):
        if not token:
            raise MlsSyntaxError(text, at, "empty category")
        raise MlsSyntaxError(text, at, f"{token!r} is not a category (expected c<number>)")
    if len(digits) > _MAX_DIGITS or int(digits) > max_category:
        raise MlsLimitError(
            text, at, f"category {token} is above the limit c{max_category} (see mls.Limits)"
        )
    return int(digits)
