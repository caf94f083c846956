"""CIPSO Domains of Interpretation: what the kernel accepts as a DOI, how it picks a tag for a
label, and how it reads a label back.

A :class:`CipsoDoi` is validated as ``cipso_v4_doi_add`` and the NetLabel netlink handler
validate it (cipso.md §5): DOI 1..2^32-1, one to five tags, tag 1 in any DOI, tags 2 and 5 in
PASS DOIs only, tag 128 in LOCAL DOIs only, TRANS tables within the kernel's limits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mls import CategorySet, Level
from mls.categories import bits_from_spans
from mls.errors import DoiSyntaxError

from ._codec import decode, encode
from .errors import CipsoDecodeError, CipsoDoiError, CipsoLabelError
from .model import (
    HEADER_LENGTH,
    MAX_BITMAP_LENGTH,
    MAX_ENUMERATED,
    MAX_LEVEL,
    MAX_OPTION_LENGTH,
    MAX_REMOTE_CATEGORY,
    MAX_WIRE_CATEGORY,
    OPTIMIZED_BITMAP_LENGTH,
    TAG_BASE_LENGTH,
    CipsoOption,
    EnumeratedTag,
    LocalTag,
    MapType,
    RangedTag,
    RestrictedBitmapTag,
    Tag,
    TagType,
)

#: Tags per DOI (CIPSO_V4_TAG_MAXCNT).
MAX_TAGS = 5
#: Largest host (local) level and category a TRANS table may hold. The kernel checks against
#: CIPSO_V4_MAX_LOC_LVLS / _CATS (2**31 - 1) but keeps one u32 per host number up to the
#: largest in a single kcalloc, which fails (ENOMEM) beyond KMALLOC_MAX_SIZE, 4 MiB with 4 KiB
#: pages: 1048575 is stored and 1048576 refused. The bound also keeps a host label cheap: a
#: category set is a bitmap as long as its largest category.
MAX_LOCAL_LEVEL = (4 << 20) // 4 - 1
MAX_LOCAL_CATEGORY = MAX_LOCAL_LEVEL

_ALLOWED_MAP_TYPES: dict[TagType, tuple[MapType, ...]] = {
    TagType.RESTRICTED_BITMAP: (MapType.TRANS, MapType.PASS, MapType.LOCAL),
    TagType.ENUMERATED: (MapType.PASS,),
    TagType.RANGED: (MapType.PASS,),
    TagType.LOCAL: (MapType.LOCAL,),
}


def _int_in(value: object, name: str, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise CipsoDoiError(f"{name} must be an int in 0..{maximum}, not {value!r}")
    return value


def _pairs(
    value: Iterable[tuple[int, int]], name: str, max_local: int, max_wire: int
) -> tuple[tuple[int, int], ...]:
    pairs = []
    for entry in value:
        item = tuple(entry)
        if len(item) != 2:
            raise CipsoDoiError(f"{name} table entries are (local, wire) pairs, not {item!r}")
        local = _int_in(item[0], f"a local {name}", max_local)
        wire = _int_in(item[1], f"a wire {name}", max_wire)
        pairs.append((local, wire))
    return tuple(pairs)


@dataclass(frozen=True, slots=True)
class CipsoDoi:
    """A CIPSO DOI definition as NetLabel holds it.

    ``tags`` is the DOI's tag list in order of preference (the kernel sends the first one that
    can carry a label, and accepts only listed tag types). For a TRANS DOI, ``levels`` and
    ``categories`` are ``(local, wire)`` pairs; as in the kernel, a later pair overrides an
    earlier one for the same local number (outgoing) or the same wire number (incoming).
    Host levels and categories go up to :data:`MAX_LOCAL_LEVEL` and
    :data:`MAX_LOCAL_CATEGORY` (1048575), the largest the kernel can store.
    """

    doi: int
    map_type: MapType
    tags: tuple[TagType, ...]
    levels: tuple[tuple[int, int], ...] = ()
    categories: tuple[tuple[int, int], ...] = ()

    # Lookup tables built from the pairs: host -> wire and wire -> host.
    _level_to_wire: dict[int, int] = field(init=False, repr=False, compare=False)
    _level_from_wire: dict[int, int] = field(init=False, repr=False, compare=False)
    _category_to_wire: dict[int, int] = field(init=False, repr=False, compare=False)
    _category_from_wire: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.doi, int) or isinstance(self.doi, bool):
            raise CipsoDoiError(f"doi must be an int, not {self.doi!r}")
        if self.doi < 1:
            raise CipsoDoiError(
                f"DOI {self.doi} is not usable: 0 is reserved (CIPSO_V4_DOI_UNKNOWN)"
            )
        if self.doi > 0xFFFFFFFF:
            raise CipsoDoiError(f"DOI {self.doi} is above 4294967295 (the field is 32 bits)")
        try:
            map_type = MapType(self.map_type)
        except ValueError:
            raise CipsoDoiError(f"unknown DOI mapping type {self.map_type!r}") from None
        set_(self, "map_type", map_type)

        raw_tags = tuple(self.tags)
        if not 1 <= len(raw_tags) <= MAX_TAGS:
            raise CipsoDoiError(f"a DOI lists 1 to {MAX_TAGS} tags, not {len(raw_tags)}")
        tags = []
        for raw in raw_tags:
            try:
                tag = TagType(raw)
            except ValueError:
                raise CipsoDoiError(f"tag type {raw!r} is not supported by Linux") from None
            allowed = _ALLOWED_MAP_TYPES.get(tag)
            if allowed is None:
                raise CipsoDoiError(
                    f"tag {int(tag)} ({tag.name}) is defined but not implemented by Linux"
                )
            if map_type not in allowed:
                raise CipsoDoiError(
                    f"tag {int(tag)} ({tag.name}) is allowed only in "
                    + " or ".join(m.name for m in allowed)
                    + f" DOIs, not {map_type.name}"
                )
            tags.append(tag)
        set_(self, "tags", tuple(tags))

        levels = _pairs(self.levels, "level", MAX_LOCAL_LEVEL, MAX_LEVEL)
        categories = _pairs(self.categories, "category", MAX_LOCAL_CATEGORY, MAX_REMOTE_CATEGORY)
        if map_type is not MapType.TRANS and (levels or categories):
            raise CipsoDoiError(
                f"level and category tables belong to TRANS DOIs, not {map_type.name}"
            )
        set_(self, "levels", levels)
        set_(self, "categories", categories)
        set_(self, "_level_to_wire", {local: wire for local, wire in levels})
        set_(self, "_level_from_wire", {wire: local for local, wire in levels})
        set_(self, "_category_to_wire", {local: wire for local, wire in categories})
        set_(self, "_category_from_wire", {wire: local for local, wire in categories})

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def pass_through(cls, doi: int, tags: Iterable[int] = (TagType.RESTRICTED_BITMAP,)) -> CipsoDoi:
        """A PASS DOI (``netlabelctl cipso add pass doi:N tags:...``)."""
        return cls(doi, MapType.PASS, tuple(tags))  # type: ignore[arg-type]  # checked there

    @classmethod
    def local(cls, doi: int) -> CipsoDoi:
        """A LOCAL DOI (``netlabelctl cipso add local doi:N``: tag list [128])."""
        return cls(doi, MapType.LOCAL, (TagType.LOCAL,))

    @classmethod
    def from_netlabelctl(cls, text: str | Sequence[str]) -> CipsoDoi:
        """Parse the arguments of ``netlabelctl cipso add`` (a string, or its words), with or
        without a leading ``[netlabelctl] cipso add``::

            trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0
            pass doi:16 tags:1,2,5
            local doi:5

        This is the one grammar of DOI definitions: ``netlabel.ctl``, the ``--doi`` options and
        the capture dump use it. ``std`` is accepted for ``trans``, the type word may stand
        anywhere, ``categories:`` may be empty (as ``netlabelctl cipso list`` prints a trans DOI
        without categories) and a local DOI may say ``tags:128``. Numbers are ASCII digits.
        Anything else netlabelctl would misread or ignore raises :class:`CipsoDoiError`,
        naming the argument and the character at fault:

        >>> CipsoDoi.from_netlabelctl("cipso add local doi:5 tags:128") == CipsoDoi.local(5)
        True
        >>> CipsoDoi.from_netlabelctl("pass doi:16 tags:1,x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        cipso.errors.CipsoDoiError: a tag type must be written in ASCII digits 0-9 in 'tags:1,x' ...
        """
        return _parse_netlabelctl(text)

    def to_netlabelctl(self) -> str:
        """The arguments of ``netlabelctl cipso add`` that define this DOI;
        :meth:`from_netlabelctl` reads them back to an equal definition.

        Two definitions the kernel takes over netlink have no netlabelctl spelling and raise
        :class:`CipsoDoiError`: a local DOI listing tags other than 128 alone (netlabelctl
        always sends a local DOI as tag 128) and a trans DOI without level pairs (netlabelctl
        refuses an empty ``levels:``).
        """
        if self.map_type is MapType.LOCAL:
            if self.tags != (TagType.LOCAL,):
                raise CipsoDoiError(
                    f"netlabelctl cannot add local DOI {self.doi} with tags "
                    + ",".join(str(int(t)) for t in self.tags)
                    + ": its local DOIs list tag 128 alone"
                )
            return f"local doi:{self.doi}"
        words = [_MAP_WORDS[self.map_type], f"doi:{self.doi}"]
        words.append("tags:" + ",".join(str(int(t)) for t in self.tags))
        if self.map_type is MapType.TRANS:
            if not self.levels:
                raise CipsoDoiError(
                    f"netlabelctl cannot add trans DOI {self.doi} without level pairs "
                    "(it refuses an empty levels:)"
                )
            words.append("levels:" + ",".join(f"{a}={b}" for a, b in self.levels))
            if self.categories:
                words.append("categories:" + ",".join(f"{a}={b}" for a, b in self.categories))
        return " ".join(words)

    # -- TRANS tables ---------------------------------------------------------------------

    def level_to_wire(self, level: int) -> int | None:
        """The wire level for host ``level``, or None when the DOI cannot send it
        (cipso_v4_map_lvl_hton). PASS maps every level to itself; LOCAL maps none."""
        return self._map(self._level_to_wire, level)

    def level_from_wire(self, level: int) -> int | None:
        """The host level for wire ``level``, or None when the DOI does not map it
        (cipso_v4_map_lvl_ntoh)."""
        return self._map(self._level_from_wire, level)

    def category_to_wire(self, category: int) -> int | None:
        """The wire category for host ``category``, or None when it is not mapped."""
        return self._map(self._category_to_wire, category)

    def category_from_wire(self, category: int) -> int | None:
        """The host category for wire ``category``, or None when it is not mapped."""
        return self._map(self._category_from_wire, category)

    def categories_to_wire(self, categories: CategorySet) -> CategorySet | None:
        """All of ``categories`` mapped to the wire, or None if one of them is not mapped."""
        return self._map_categories(self._category_to_wire, categories)

    def categories_from_wire(self, categories: CategorySet) -> CategorySet | None:
        """All of wire ``categories`` mapped to the host, or None if one is not mapped."""
        return self._map_categories(self._category_from_wire, categories)

    def _map(self, table: dict[int, int], number: int) -> int | None:
        # One direction of a level or category table; PASS maps everything to itself and
        # LOCAL maps nothing.
        if self.map_type is MapType.PASS:
            return number
        if self.map_type is MapType.TRANS:
            return table.get(number)
        return None

    def _map_categories(self, table: dict[int, int], categories: CategorySet) -> CategorySet | None:
        if self.map_type is MapType.PASS:
            return categories
        if self.map_type is not MapType.TRANS:
            return None if categories else categories
        mapped = []
        for category in categories:
            number = table.get(category)
            if number is None:
                return None
            mapped.append((number, number))
        # bits_from_spans stays linear in the size of the set, however many categories map.
        return CategorySet.from_int(bits_from_spans(mapped))

    # -- the kernel's tag choice (cipso_v4_genopt) ------------------------------------------

    def label_option(
        self,
        level: Level | str | None,
        *,
        secid: int | None = None,
        optimized_bitmap: bool = False,
        categories_flag: bool | None = None,
    ) -> CipsoOption:
        """The option the kernel builds for a socket labelled ``level`` (a host label, as an
        :class:`mls.Level` or its text such as ``"s3:c0,c5"``).

        The DOI's tags are tried in order and the first that can carry the label wins
        (cipso.md §3): a tag fails when the label has no level (``level=None``), when a TRANS
        DOI cannot map the level or a category (EPERM) or when the categories do not fit
        (ENOSPC: tag 1 beyond category 239, tag 2 beyond 15 categories, tag 5 beyond 30 data
        bytes). Tag 128 needs ``secid``. When every tag fails, :class:`CipsoLabelError` says
        why for each. A level above 255 in a PASS DOI, or a category above 65535 for tags 2
        and 5, is refused at once: the kernel would send it truncated.

        ``optimized_bitmap`` is the sysctl ``net.ipv4.cipso_rbm_optfmt``: a 1..10-byte tag-1
        bitmap is sent as 10 bytes. ``categories_flag`` is whether the label carries a
        category map at all; by default it does when it has categories (SELinux leaves it
        unset for an empty set). Set with no categories, tag 1 gets a bitmap of one zero
        byte, as in the kernel.
        """
        if isinstance(level, str):
            level = Level.parse(level)
        attempts: list[tuple[int, str, str]] = []
        tag: Tag | None = None
        for tag_type in self.tags:
            result = _generate(
                self,
                tag_type,
                level,
                secid=secid,
                optimized=optimized_bitmap,
                categories_flag=categories_flag,
            )
            if isinstance(result, tuple):
                attempts.append((int(tag_type), result[0], result[1]))
                continue
            tag = result
            break
        if tag is None:
            detail = "; ".join(f"tag {t}: {errno} ({why})" for t, errno, why in attempts)
            raise CipsoLabelError(
                f"no tag of DOI {self.doi} can carry {level}: {detail}",
                errno=attempts[-1][1],
                attempts=tuple(attempts),
            )
        return CipsoOption(self.doi, (tag,))

    def encode_label(
        self,
        level: Level | str | None,
        *,
        secid: int | None = None,
        optimized_bitmap: bool = False,
        categories_flag: bool | None = None,
        pad: bool = False,
    ) -> bytes:
        """The bytes of :meth:`label_option`: the bare option, or with ``pad=True`` the whole
        IPv4 options area the kernel writes (the option followed by EOL zero bytes up to a
        multiple of 4), ready for ``setsockopt(IP_OPTIONS)``."""
        data = encode(
            self.label_option(
                level,
                secid=secid,
                optimized_bitmap=optimized_bitmap,
                categories_flag=categories_flag,
            )
        )
        if pad:
            data += bytes(-len(data) % 4)
        return data

    # -- reading a label (cipso_v4_getattr) --------------------------------------------------

    def decode_label(self, option: CipsoOption | bytes, *, strict_bitmap: bool = True) -> Level:
        """The host level the kernel hands to the LSM for ``option``.

        The option is validated first (:func:`cipso.validate` with this DOI; the kernel never
        reads an option it rejects), then its first tag is read through the DOI's tables.
        Tag 128 carries an LSM secid, not a level: use :meth:`decode_secid` for it.
        Raises :class:`cipso.CipsoValidationError` for an option the kernel rejects and
        :class:`cipso.CipsoDecodeError` when the kernel accepts it but cannot map it.
        """
        if isinstance(option, CipsoOption):
            data = encode(option)
        else:
            data = bytes(option)
            option = decode(data)
        _validation.validate(data, (self,), strict_bitmap=strict_bitmap, loopback=True)
        tag = option.tags[0]
        if isinstance(tag, LocalTag):
            raise CipsoDecodeError(
                reason="tag 128 carries the sender's LSM secid, not an MLS level "
                "(read it with decode_secid)",
                offset=HEADER_LENGTH,
            )
        if not isinstance(tag, (RestrictedBitmapTag, EnumeratedTag, RangedTag)):
            raise CipsoDecodeError(
                reason=f"the first tag (type {tag.tag_type}) has no level", offset=HEADER_LENGTH
            )
        host_level = self.level_from_wire(tag.level)
        if host_level is None:
            raise CipsoDecodeError(
                reason=f"DOI {self.doi} does not map wire level {tag.level} (EPERM)",
                offset=HEADER_LENGTH + 3,
            )
        wire = tag.categories
        host = self.categories_from_wire(wire)
        if host is None:
            raise CipsoDecodeError(
                reason=f"DOI {self.doi} does not map every wire category of {wire} (EPERM)",
                offset=HEADER_LENGTH + TAG_BASE_LENGTH,
            )
        return Level(host_level, host)

    def decode_secid(
        self, option: CipsoOption | bytes, *, byteorder: Literal["little", "big"] | None = None
    ) -> int:
        """The LSM secid in a tag-128 option (accepted on loopback only). The secid is in the
        sender's host byte order, the local one unless ``byteorder`` says otherwise."""
        data = encode(option) if isinstance(option, CipsoOption) else bytes(option)
        _validation.validate(data, (self,), loopback=True)
        if data[HEADER_LENGTH] != TagType.LOCAL:
            raise CipsoDecodeError(
                reason="the first tag is not tag 128 (local)", offset=HEADER_LENGTH
            )
        raw = data[HEADER_LENGTH + 2 : HEADER_LENGTH + 6]
        return int.from_bytes(raw, byteorder or sys.byteorder)


_MAP_WORDS = {MapType.TRANS: "trans", MapType.PASS: "pass", MapType.LOCAL: "local"}


# A tag for a label, or (errno name, reason) when the tag cannot carry it.
_Attempt = Tag | tuple[str, str]


def _wire_level(doi: CipsoDoi, level: Level | None) -> int | tuple[str, str]:
    if level is None:
        return ("EPERM", "the label has no MLS level")
    if doi.map_type is MapType.PASS:
        if level.sensitivity > MAX_LEVEL:
            # cipso_v4_gentag_* store the level in one byte without a check: the kernel would
            # send it truncated rather than fail, so no other tag would be tried either.
            raise CipsoLabelError(
                f"level {level.sensitivity} does not fit the one-byte CIPSO level field "
                "(the kernel would truncate it)"
            )
        return level.sensitivity
    if doi.map_type is MapType.TRANS:
        wire = doi._level_to_wire.get(level.sensitivity)
        if wire is None:
            return ("EPERM", f"level {level.sensitivity} is not in the DOI's level table")
        return wire
    return ("EINVAL", "a LOCAL DOI maps no levels")


def _flag(level: Level, categories_flag: bool | None) -> bool:
    return bool(level.categories) if categories_flag is None else categories_flag


def _check_16_bits(categories: CategorySet, tag: int) -> None:
    if categories.max is not None and categories.max > MAX_WIRE_CATEGORY:
        # Tags 2 and 5 store categories in 16 bits without a check (htons / a u16 array).
        raise CipsoLabelError(
            f"category {categories.max} does not fit tag {tag}'s 16-bit category field "
            "(the kernel would truncate it)"
        )


def _bitmap_categories(
    doi: CipsoDoi, wire_level: int, categories: CategorySet, optimized: bool
) -> _Attempt:
    if doi.map_type is MapType.TRANS:
        bits = 0
        table = doi._category_to_wire
        for host in categories:  # ascending, as netlbl_catmap_walk: the first failure wins
            wire = table.get(host)
            if wire is None:
                return ("EPERM", f"category {host} is not in the DOI's category table")
            if wire >= MAX_BITMAP_LENGTH * 8:
                return ("ENOSPC", f"wire category {wire} is beyond a tag-1 bitmap (0..239)")
            bits |= 1 << wire
        wire_categories = CategorySet.from_int(bits)
    else:
        if categories.max is not None and categories.max >= MAX_BITMAP_LENGTH * 8:
            return ("ENOSPC", f"category {categories.max} is beyond a tag-1 bitmap (0..239)")
        wire_categories = categories
    # An empty map still yields one zero byte: net_spot_max starts at 0 (cipso.md §2).
    length = max(1, (wire_categories.bits.bit_length() + 7) >> 3)
    if optimized and length <= OPTIMIZED_BITMAP_LENGTH:
        length = OPTIMIZED_BITMAP_LENGTH
    return RestrictedBitmapTag(wire_level, wire_categories.to_bitmap(min_length=length))


def _enumerated_categories(
    doi: CipsoDoi, wire_level: int, categories: CategorySet, optimized: bool
) -> _Attempt:
    if len(categories) > MAX_ENUMERATED:
        return ("ENOSPC", f"{len(categories)} categories, a tag 2 holds at most {MAX_ENUMERATED}")
    _check_16_bits(categories, TagType.ENUMERATED)
    return EnumeratedTag(wire_level, tuple(categories))


def _ranged_categories(
    doi: CipsoDoi, wire_level: int, categories: CategorySet, optimized: bool
) -> _Attempt:
    runs = list(categories.runs())
    # 4 bytes a range, 2 for the lowest range when it starts at category 0 (its low is left
    # out); cipso_v4_map_cat_rng_hton fails with ENOSPC beyond 30 bytes.
    size = 4 * len(runs) - (2 if runs and runs[0][0] == 0 else 0)
    if size > MAX_OPTION_LENGTH - HEADER_LENGTH - TAG_BASE_LENGTH:
        return ("ENOSPC", f"{len(runs)} category ranges take {size} bytes, a tag 5 holds 30")
    _check_16_bits(categories, TagType.RANGED)
    return RangedTag.from_runs(wire_level, runs)


# For each tag that carries a level: the tag without a category map, and how the categories
# go into it (the wire level is already mapped; ``optimized`` is the tag-1 bitmap format).
_LEVEL_TAGS: dict[
    TagType,
    tuple[Callable[[int], Tag], Callable[[CipsoDoi, int, CategorySet, bool], _Attempt]],
] = {
    TagType.RESTRICTED_BITMAP: (RestrictedBitmapTag, _bitmap_categories),
    TagType.ENUMERATED: (EnumeratedTag, _enumerated_categories),
    TagType.RANGED: (RangedTag, _ranged_categories),
}


def _generate(
    doi: CipsoDoi,
    tag_type: TagType,
    level: Level | None,
    *,
    secid: int | None,
    optimized: bool,
    categories_flag: bool | None,
) -> _Attempt:
    """The tag ``tag_type`` of ``doi`` for a label (cipso_v4_gentag_*), or why it cannot
    carry it."""
    if tag_type is TagType.LOCAL:
        if secid is None:
            return ("EPERM", "the label has no secid")
        return LocalTag(secid)
    wire_level = _wire_level(doi, level)
    if isinstance(wire_level, tuple):
        return wire_level
    assert level is not None
    bare_tag, with_categories = _LEVEL_TAGS[tag_type]
    if not _flag(level, categories_flag):
        return bare_tag(wire_level)
    return with_categories(doi, wire_level, level.categories, optimized)


# -- netlabelctl syntax ---------------------------------------------------------------------
#
# The one reading of ``netlabelctl cipso add`` arguments; netlabel.ctl, the command lines and
# the capture dump all come here. netlabelctl itself reads numbers with atoi() and skips what it
# does not use; this grammar keeps what netlabelctl accepts and the kernel stores the same way,
# and refuses the rest instead of guessing: numbers are ASCII digits only ("doi:5x", "+5",
# "\u0663" are refused), empty list items are refused, each key is given once and the type
# word once, and words netlabelctl would ignore (tags: of a local DOI other than 128, tables of
# a pass or local DOI) are refused because the kernel would not get them.

_MAP_TYPE_WORDS = {
    "trans": MapType.TRANS,
    "std": MapType.TRANS,  # the old name of trans, still accepted by netlabelctl
    "pass": MapType.PASS,
    "local": MapType.LOCAL,
}
_KEYS = ("doi", "tags", "levels", "categories")
# Every number is at most 32 bits (the netlink attributes are u32); the definition's own checks
# then apply the kernel's tighter limits.
_MAX_NUMBER = 0xFFFFFFFF


class CipsoDoiSyntaxError(DoiSyntaxError, CipsoDoiError):
    """A DOI definition in netlabelctl syntax is malformed. ``argument`` is the word at fault
    (the whole definition when a word is missing), ``position`` the character in it where the
    problem starts and ``problem`` what is wrong."""


def _syntax(word: str, position: int, problem: str) -> CipsoDoiSyntaxError:
    return CipsoDoiSyntaxError(problem, word, position)


def _decimal(word: str, start: int, end: int, what: str) -> int:
    """The number ``word[start:end]``: ASCII digits, at most 4294967295."""
    digits = word[start:end]
    if not digits:
        raise _syntax(word, start, f"{what} is missing")
    if not (digits.isascii() and digits.isdigit()):
        raise _syntax(word, start, f"{what} must be written in ASCII digits 0-9")
    significant = digits.lstrip("0")
    # Compare lengths first: int() of thousands of digits is slow or refused outright.
    if len(significant) > 10 or int(significant or "0") > _MAX_NUMBER:
        shown = significant if len(significant) <= 20 else f"of {len(significant)} digits"
        raise _syntax(word, start, f"{what} {shown} is above {_MAX_NUMBER}")
    return int(significant or "0")


def _numbers(word: str, start: int, what: str) -> list[int]:
    """The comma-separated numbers after ``word[:start]``."""
    found = []
    for item_start, item_end in _items(word, start):
        found.append(_decimal(word, item_start, item_end, what))
    return found


def _pairs_of(word: str, start: int, what: str) -> tuple[tuple[int, int], ...]:
    """The comma-separated ``local=wire`` pairs after ``word[:start]`` (none when empty)."""
    if start == len(word):
        return ()
    found = []
    for item_start, item_end in _items(word, start):
        equals = word.find("=", item_start, item_end)
        if equals < 0:
            raise _syntax(word, item_start, f"a {what} pair is written <local>=<wire>")
        local = _decimal(word, item_start, equals, f"a local {what}")
        wire = _decimal(word, equals + 1, item_end, f"a wire {what}")
        found.append((local, wire))
    return tuple(found)


def _items(word: str, start: int) -> list[tuple[int, int]]:
    """The (start, end) of each comma-separated item of ``word[start:]``."""
    spans = []
    while True:
        comma = word.find(",", start)
        end = len(word) if comma < 0 else comma
        spans.append((start, end))
        if comma < 0:
            return spans
        start = comma + 1


def _definition_words(text: str | Sequence[str]) -> list[str]:
    words = text.split() if isinstance(text, str) else list(text)
    if words[:1] == ["netlabelctl"]:
        words = words[1:]
    if words[:1] in (["cipso"], ["cipsov4"]):
        words = words[2:] if words[1:2] == ["add"] else words[1:]
    return words


def _parse_netlabelctl(text: str | Sequence[str]) -> CipsoDoi:
    words = _definition_words(text)
    whole = " ".join(words)
    if not words:
        raise _syntax(whole, 0, "an empty DOI definition (expected e.g. 'pass doi:16 tags:1')")
    type_word = _map_type_word(words, whole)
    map_type = _MAP_TYPE_WORDS[type_word]
    fields = _fields(words)
    if "doi" not in fields:
        raise _syntax(whole, 0, "missing doi:<N>")
    doi = _decimal(fields["doi"], 4, len(fields["doi"]), "the DOI")
    tags = _tags(fields, map_type, type_word, whole)
    levels, categories = _translations(fields, map_type, whole)
    return CipsoDoi(doi, map_type, tags, levels, categories)  # type: ignore[arg-type]


def _map_type_word(words: list[str], whole: str) -> str:
    """The one word of ``words`` that names the map type (trans, std, pass or local)."""
    for word in words:
        if ":" not in word and word not in _MAP_TYPE_WORDS:
            raise _syntax(
                word, 0, f"unknown DOI type {word!r} (expected trans, std, pass or local)"
            )
    given = [word for word in words if word in _MAP_TYPE_WORDS]
    if len(given) != 1:
        problem = "give exactly one of trans, pass or local"
        raise _syntax(whole, 0, problem + (f", not {' and '.join(given)}" if given else ""))
    return given[0]


def _fields(words: list[str]) -> dict[str, str]:
    """The ``key:value`` words by key, each key at most once."""
    fields: dict[str, str] = {}
    for word in words:
        if word in _MAP_TYPE_WORDS:
            continue
        key, colon, _ = word.partition(":")
        if not colon or key not in _KEYS:
            raise _syntax(word, 0, "unknown argument (expected doi:, tags:, levels:, categories:)")
        if key in fields:
            raise _syntax(word, 0, f"{key}: is given twice")
        fields[key] = word
    return fields


def _tags(fields: dict[str, str], map_type: MapType, type_word: str, whole: str) -> tuple[int, ...]:
    if map_type is MapType.LOCAL:
        # netlabelctl ignores tags: here and the kernel lists tag 128 alone.
        if "tags" in fields and _numbers(fields["tags"], 5, "a tag type") != [TagType.LOCAL]:
            raise _syntax(fields["tags"], 5, "a local DOI's only tag is 128")
        return (TagType.LOCAL,)
    if "tags" not in fields:
        raise _syntax(whole, 0, f"missing tags:<t1>,<t2>,... (a {type_word} DOI lists its tags)")
    return tuple(_numbers(fields["tags"], 5, "a tag type"))


def _translations(
    fields: dict[str, str], map_type: MapType, whole: str
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """The (level pairs, category pairs) of a trans DOI; none for the other types."""
    if map_type is not MapType.TRANS:
        for key in ("levels", "categories"):
            if key in fields:
                raise _syntax(fields[key], 0, f"{key}: belongs to trans DOIs")
        return (), ()
    if "levels" not in fields or fields["levels"] == "levels:":
        # netlabelctl refuses a trans DOI without level pairs (EINVAL).
        raise _syntax(fields.get("levels", whole), 0, "a trans DOI needs levels:<l>=<w>,...")
    levels = _pairs_of(fields["levels"], 7, "level")
    categories = _pairs_of(fields["categories"], 11, "category") if "categories" in fields else ()
    return levels, categories


def doi_table(dois: Mapping[int, CipsoDoi] | Iterable[CipsoDoi]) -> Mapping[int, CipsoDoi]:
    """DOI definitions keyed by DOI number, from a mapping or an iterable of definitions.

    Two definitions of the same DOI are refused, as ``cipso_v4_doi_add`` refuses (EEXIST).
    """
    if isinstance(dois, Mapping):
        return dois
    if isinstance(dois, CipsoDoi):
        return {dois.doi: dois}
    table: dict[int, CipsoDoi] = {}
    for definition in dois:
        if not isinstance(definition, CipsoDoi):
            raise CipsoDoiError(f"{definition!r} is not a CipsoDoi")
        if definition.doi in table:
            raise CipsoDoiError(f"DOI {definition.doi} is defined twice (EEXIST)")
        table[definition.doi] = definition
    return table


# Last: cipso.validate imports this module's names, so whichever of the two is imported first,
# this one is whole by the time the other reads it.
from . import validate as _validation  # noqa: E402
