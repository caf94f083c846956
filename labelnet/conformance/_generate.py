"""Seeded generators of CIPSO options areas and CALIPSO hop-by-hop headers for the fuzzer.

They draw from :class:`random.Random`, so a seed gives the same inputs on every run and
machine, and they are fast (tens of thousands per second, far more than the kernel answers).
The shapes follow the packages' hypothesis strategies (``cipso.strategies``,
``calipso.strategies``): labels encoded as the kernel encodes them, well-formed options of
every tag type, near-valid mutants (one wrong length, type, DOI, level, order, checksum,
truncation or extension), whole areas and headers with other options around the label, and
mutations of the shipped corpus. Each generator returns ``(origin, bytes)``; the origin names
the generator in reports.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import calipso
import cipso
from calipso.hopbyhop import pad as hbh_pad
from mls import CategorySet, Level

__all__ = ["CalipsoGenerator", "CipsoGenerator", "rewrap_header"]

Sample = tuple[str, bytes]

_MAX_AREA = 40
_MAX_TAGS_ROOM = 34


def _categories(rng: random.Random, highest: int, most: int) -> CategorySet:
    """A few runs of categories below ``highest`` (empty now and then)."""
    bits = 0
    for _ in range(rng.randint(0, most)):
        first = rng.randint(0, highest)
        length = rng.randint(1, max(1, min(24, highest - first + 1)))
        bits |= ((1 << length) - 1) << first
    return CategorySet.from_int(bits & ((2 << highest) - 1))


def _level(rng: random.Random) -> int:
    return rng.choice((0, 1, 3, 7, 15, 255, rng.randint(0, 255)))


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


_Doi = TypeVar("_Doi")


class _Generator(Generic[_Doi]):
    """What both generators keep: the random source, the configured DOIs, a DOI configured
    nowhere, the renumbered corpus, and their makers drawn by weight."""

    def __init__(
        self, rng: random.Random, dois: Sequence[_Doi], unknown: int, corpus: Sequence[bytes]
    ) -> None:
        self.rng = rng
        self.dois = list(dois)
        self.unknown = unknown
        self.corpus = list(corpus)
        self.makers = self._makers()
        self.weights = [weight for weight, _ in self.makers]

    def _makers(self) -> list[tuple[int, Callable[[], Sample]]]:
        raise NotImplementedError

    def _draw(self) -> Sample:
        return self.rng.choices(self.makers, self.weights)[0][1]()


class CipsoGenerator(_Generator[cipso.CipsoDoi]):
    """Options areas for DOIs ``dois`` (the kernel's, with their configured numbers);
    ``unknown`` is a DOI number configured nowhere; ``corpus`` holds options areas whose DOIs
    are already renumbered."""

    def __init__(
        self,
        rng: random.Random,
        dois: Sequence[cipso.CipsoDoi],
        unknown: int,
        corpus: Sequence[bytes],
    ) -> None:
        self.labelled = [d for d in dois if d.map_type is not cipso.MapType.LOCAL]
        super().__init__(rng, dois, unknown, corpus)

    def _makers(self) -> list[tuple[int, Callable[[], Sample]]]:
        return [
            (3, self.label),
            (3, self.option),
            (4, self.mutant),
            (2, self.area),
            (2, self.corpus_mutant),
        ]

    def __call__(self) -> Sample:
        origin, data = self._draw()
        return origin, _pad_area(self.rng, data)

    # -- DOI numbers and tags ------------------------------------------------------------------

    def doi_number(self) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.85:
            return rng.choice(self.dois).doi
        if roll < 0.92:
            return self.unknown
        return rng.choice((0, 0xFFFFFFFF, rng.getrandbits(32)))

    def tag(self, room: int, doi: int) -> bytes:
        """One tag of at most ``room`` bytes, mostly of a type the DOI lists."""
        rng = self.rng
        definition = next((d for d in self.dois if d.doi == doi), None)
        listed = [int(t) for t in definition.tags] if definition is not None else [1]
        kind = rng.choice(listed) if rng.random() < 0.8 else rng.choice((0, 1, 2, 5, 6, 7, 128))
        if rng.random() < 0.03:
            kind = rng.randint(0, 255)
        if kind == 128 and room >= 6:
            return bytes((128, 6)) + rng.getrandbits(32).to_bytes(4, "little")
        if kind not in (1, 2, 5) or room < 4:
            size = rng.randint(2, max(2, min(room, 8)))
            return bytes((kind, size)) + rng.randbytes(size - 2)
        level = _level(rng)
        if definition is not None and definition.map_type is cipso.MapType.TRANS:
            wires = [wire for _, wire in definition.levels]
            if wires and rng.random() < 0.8:
                level = rng.choice(wires)
        alignment = 0 if rng.random() < 0.9 else rng.randint(1, 255)
        space = room - 4
        if kind == 1:
            data = self.bitmap(space, definition)
        elif kind == 2:
            count = rng.randint(0, space // 2)
            numbers = sorted(rng.sample(range(rng.choice((64, 65536))), count))
            if rng.random() < 0.15 and count > 1:
                rng.shuffle(numbers)
            data = b"".join(_u16(n) for n in numbers)
        else:
            count = rng.randint(0, space // 2)
            bounds = sorted(rng.randint(0, rng.choice((80, 65535))) for _ in range(count))
            bounds.reverse()
            if rng.random() < 0.15 and count > 1:
                rng.shuffle(bounds)
            data = b"".join(_u16(n) for n in bounds)
        return bytes((kind, 4 + len(data), alignment, level)) + data

    def bitmap(self, space: int, definition: cipso.CipsoDoi | None) -> bytes:
        rng = self.rng
        if space <= 0:
            return b""
        if definition is not None and definition.map_type is cipso.MapType.TRANS:
            mapped = [wire for _, wire in definition.categories if wire < space * 8]
            if mapped and rng.random() < 0.8:
                chosen = CategorySet(rng.sample(mapped, rng.randint(0, len(mapped))))
                return chosen.to_bitmap()[:space]
        if rng.random() < 0.5:
            return _categories(rng, space * 8 - 1, 3).to_bitmap()[:space]
        return rng.randbytes(rng.randint(0, space))

    # -- makers ---------------------------------------------------------------------------------

    def label(self) -> Sample:
        """A label encoded as the kernel encodes it (``CipsoDoi.encode_label``)."""
        rng = self.rng
        doi = rng.choice(self.labelled)
        if doi.map_type is cipso.MapType.TRANS:
            if not doi.levels:
                return self.option()
            sensitivity = rng.choice([local for local, _ in doi.levels])
            usable = [local for local, wire in doi.categories if wire < 240]
            chosen = rng.sample(usable, rng.randint(0, len(usable))) if usable else []
            level = Level(sensitivity, CategorySet(chosen))
        else:
            highest = rng.choice((239, 239, 1023, 65534))
            level = Level(_level(rng), _categories(rng, highest, rng.choice((1, 2, 4, 8))))
        try:
            return "label", doi.encode_label(level, optimized_bitmap=rng.random() < 0.2)
        except cipso.CipsoLabelError:
            return self.option()

    def option(self) -> Sample:
        """A well-formed option (tags within the option) of one to three tags."""
        rng = self.rng
        doi = self.doi_number()
        room = _MAX_TAGS_ROOM if rng.random() < 0.8 else rng.randint(2, _MAX_TAGS_ROOM)
        tags = b""
        for index in range(3):
            if index and (room - len(tags) < 2 or rng.random() < 0.6):
                break
            tags += self.tag(room - len(tags), doi)
        tags = tags[:_MAX_TAGS_ROOM]
        return "option", bytes((cipso.OptionType.CIPSO, 6 + len(tags))) + doi.to_bytes(
            4, "big"
        ) + tags

    def mutant(self) -> Sample:
        """One change where validators go wrong (as ``cipso.strategies.mutants``)."""
        _, base = self.label() if self.rng.random() < 0.5 else self.option()
        return "mutant", _mutate_option(self.rng, base, self.doi_number)

    def area(self) -> Sample:
        """An option among others: NOPs before, other options after, a second CIPSO option."""
        rng = self.rng
        _, option = self.label() if rng.random() < 0.5 else self.option()
        before = b"\x01" * rng.choice((0, 0, 1, 2, 3))
        if rng.random() < 0.1:
            before = bytes.fromhex("07070400000000") + before  # record route, room for one
        after = b""
        for _ in range(rng.randint(0, 2)):
            after += rng.choice(
                (
                    b"\x01",
                    b"\x00",
                    bytes.fromhex("94040000"),  # router alert
                    bytes.fromhex("4408050000000000"),  # timestamp
                    bytes((rng.randint(2, 255), rng.randint(0, 12))),  # any type and length
                    bytes((cipso.OptionType.CIPSO, rng.randint(0, 12)))
                    + self.doi_number().to_bytes(4, "big"),
                )
            )
        if rng.random() < 0.1:
            before, after = after, before
        return "area", (before + option + after)[:_MAX_AREA]

    def corpus_mutant(self) -> Sample:
        rng = self.rng
        area = bytearray(rng.choice(self.corpus))
        start = cipso.find_option(bytes(area))
        if start is not None and rng.random() < 0.7:
            length = area[start + 1] if start + 1 < len(area) else 0
            option = bytes(area[start : start + max(length, 2)])
            area[start : start + len(option)] = _mutate_option(rng, option, self.doi_number)
        elif area:
            area[rng.randrange(len(area))] = rng.randint(0, 255)
        return "corpus", bytes(area)[:_MAX_AREA]


def _mutate_option(rng: random.Random, data: bytes, doi_number: Callable[[], int]) -> bytes:
    option = bytearray(data)
    size = len(option)
    kind = rng.choice(
        ("byte", "length", "tag_length", "type", "doi", "swap", "truncate", "extend", "delta")
    )
    if kind == "byte" and size:
        option[rng.randrange(size)] = rng.randint(0, 255)
    elif kind == "length" and size > 1:
        option[1] = rng.choice((rng.randint(0, 12), rng.randint(0, 255), size, size + 1))
    elif kind == "tag_length" and size > 7:
        option[7] = rng.choice((rng.randint(0, 8), rng.randint(0, 40), size - 6, size - 5))
    elif kind == "type" and size > 6:
        option[6] = rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 127, 128, 129, 255))
    elif kind == "doi" and size > 5:
        if rng.random() < 0.5:
            option[2:6] = doi_number().to_bytes(4, "big")
        else:
            option[2 + rng.randrange(4)] ^= 1 << rng.randrange(8)
    elif kind == "swap" and size > 11:
        first, second = rng.randrange(10, size - 1), rng.randrange(10, size - 1)
        option[first : first + 2], option[second : second + 2] = (
            option[second : second + 2],
            option[first : first + 2],
        )
    elif kind == "truncate" and size:
        del option[rng.randrange(size) :]
    elif kind == "extend":
        option += rng.randbytes(rng.randint(1, 8))
    elif kind == "delta" and size > 1:
        at = rng.choice([index for index in (1, 7, 9) if index < size])
        option[at] = (option[at] + rng.choice((-2, -1, 1, 2))) & 0xFF
    return bytes(option[:_MAX_AREA])


def _pad_area(rng: random.Random, data: bytes) -> bytes:
    """Pad to a multiple of 4 as the kernel does (EOL), now and then with NOPs or junk."""
    fill = -len(data) % 4
    roll = rng.random()
    if roll < 0.9:
        padding = bytes(fill)
    elif roll < 0.95:
        padding = b"\x01" * fill
    else:
        padding = rng.randbytes(fill)
    return (data + padding)[:_MAX_AREA]


# -- CALIPSO -----------------------------------------------------------------------------------


def rewrap_header(body: bytes, first: int = 0) -> bytes:
    """A hop-by-hop header around the options ``body``, padded to a multiple of 8 with Pad1 or
    PadN, its length byte set."""
    size = 2 + len(body)
    fill = -size % 8
    return bytes((first, (size + fill) // 8 - 1)) + body + hbh_pad(fill)


class CalipsoGenerator(_Generator[int]):
    """Hop-by-hop headers for the configured DOI numbers ``dois``; ``unknown`` is configured
    nowhere; ``corpus`` holds headers whose DOIs are already renumbered."""

    def _makers(self) -> list[tuple[int, Callable[[], Sample]]]:
        return [
            (3, self.label),
            (3, self.option),
            (4, self.near_valid),
            (3, self.header),
            (2, self.corpus_mutant),
        ]

    def __call__(self) -> Sample:
        return self._draw()

    def doi_number(self) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.85:
            return rng.choice(self.dois)
        if roll < 0.93:
            return self.unknown
        return rng.choice((0, 0xFFFFFFFF, rng.getrandbits(32)))

    def valid_option(self, words_most: int = calipso.MAX_WORDS) -> bytes:
        rng = self.rng
        highest = rng.choice((31, 255, 1023, 32 * words_most - 1))
        categories = _categories(rng, min(highest, 32 * words_most - 1), rng.choice((0, 1, 3)))
        option = calipso.CalipsoOption.from_categories(self.doi_number(), _level(rng), categories)
        return calipso.encode(option)

    def any_option(self) -> bytes:
        """An option the length checks pass: any DOI, bitmap, extra data, checksum."""
        rng = self.rng
        words = rng.choice((0, 1, 2, 3, rng.randint(0, calipso.MAX_WORDS)))
        bitmap = rng.randbytes(4 * words) if rng.random() < 0.5 else bytes(4 * words)
        room = 252 - 8 - len(bitmap)
        extra = (
            rng.randbytes(rng.randint(1, min(room, 12))) if room and rng.random() < 0.15 else b""
        )
        bad = rng.getrandbits(16) if rng.random() < 0.12 else None
        option = calipso.CalipsoOption(self.doi_number(), _level(rng), bitmap, extra, bad)
        return calipso.encode(option)

    def label(self) -> Sample:
        """A label in the header the kernel builds (``CalipsoDoi.encode_header``)."""
        rng = self.rng
        doi = calipso.CalipsoDoi(rng.choice(self.dois))
        level = Level(_level(rng), _categories(rng, rng.choice((31, 1023, 1951)), 3))
        before = None
        if rng.random() < 0.3:
            before = rewrap_header(b"".join(self.other() for _ in range(rng.randint(1, 2))))
        try:
            return "label", doi.encode_header(level, before)
        except calipso.HopByHopError:
            # other() also writes malformed options (a router alert of the wrong length), which
            # a header to insert into must not hold.
            return "label", doi.encode_header(level)

    def option(self) -> Sample:
        rng = self.rng
        lead = rng.choice((b"", b"", b"\x00", b"\x01\x00", b"\x01\x01\x00"))
        return "option", rewrap_header(lead + self.any_option())

    def near_valid(self) -> Sample:
        """A valid option with one fault (as ``calipso.strategies.mutants``)."""
        rng = self.rng
        data = bytearray(self.valid_option(words_most=8))
        fault = rng.choice(
            ("checksum", "short", "words", "doi", "truncate", "trailing", "flip", "type")
        )
        if fault == "checksum":
            data[rng.choice((8, 9))] ^= rng.randint(1, 255)
        elif fault == "short":
            data[1] = rng.randint(0, 7)
            del data[2 + data[1] :]
        elif fault == "words":
            data[6] = rng.randint((data[1] - 8) // 4 + 1, 255)
        elif fault == "doi":
            data[2:6] = self.doi_number().to_bytes(4, "big")
        elif fault == "truncate":
            del data[rng.randrange(len(data)) :]
        elif fault == "trailing":
            data += rng.randbytes(rng.randint(1, 8))
        elif fault == "flip":
            index = rng.randrange(len(data))
            data[index] ^= 1 << rng.randrange(8)
        else:
            data[0] = rng.choice([n for n in range(256) if n != calipso.OptionType.CALIPSO])
        return "near-valid", rewrap_header(bytes(data))

    def other(self) -> bytes:
        """Another option: padding, router alert, jumbo, IOAM or an unknown type."""
        rng = self.rng
        roll = rng.random()
        kinds = calipso.OptionType
        if roll < 0.2:
            return bytes((kinds.PAD1,)) * rng.randint(1, 3)
        if roll < 0.35:
            size = rng.randint(0, 6)
            body = bytes(size) if rng.random() < 0.9 else rng.randbytes(size)
            return bytes((kinds.PADN, size)) + body
        if roll < 0.5:
            length = 2 if rng.random() < 0.9 else rng.randint(0, 4)
            return bytes((kinds.ROUTER_ALERT, length)) + bytes(2)
        if roll < 0.55:
            return bytes((kinds.JUMBO, 4)) + rng.getrandbits(32).to_bytes(4, "big")
        if roll < 0.6:
            return bytes((kinds.IOAM, 2)) + bytes(2)
        kind = rng.choice((0x1E, 0x3E, 0x5E, 0x7E, 0x9E, 0xBE, 0xDE, 0xFE, rng.randint(2, 255)))
        size = rng.randint(0, 8)
        return bytes((kind, size)) + rng.randbytes(size)

    def header(self) -> Sample:
        """A header of several options, CALIPSO among them (sometimes twice, sometimes bad)."""
        rng = self.rng
        parts = [self.other() for _ in range(rng.randint(0, 3))]
        for _ in range(rng.choice((1, 1, 1, 2))):
            option = self.valid_option(words_most=4) if rng.random() < 0.7 else self.any_option()
            parts.insert(rng.randint(0, len(parts)), option)
        return "header", rewrap_header(b"".join(parts))

    def corpus_mutant(self) -> Sample:
        rng = self.rng
        header = bytearray(rng.choice(self.corpus))
        if len(header) > 2:
            for _ in range(rng.choice((1, 1, 2))):
                index = rng.randrange(2, len(header))
                header[index] = rng.choice((0, 1, 7, 0xFF, rng.randint(0, 255)))
        return "corpus", bytes(header)
