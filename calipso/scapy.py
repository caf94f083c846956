"""Scapy layer for CALIPSO: ``import calipso.scapy`` and ``IPv6(raw_bytes)`` dissects option 0x07.

Scapy (2.5 to 2.8) picks the class of a hop-by-hop or destination option by its type byte
through ``scapy.layers.inet6._hbhoptcls`` (consulted by ``HBHOptUnknown.dispatch_hook``) and
names the type through ``_hbhopts``. Importing this module adds :class:`CALIPSO` to both, so
every ``IPv6ExtHdrHopByHop`` dissects its CALIPSO options with no further code.

:class:`CALIPSO` is named like scapy's own option classes (``Jumbo``, ``RouterAlert``,
``PadN``). Fields left at None are computed when building: ``optlen`` (bytes after the length
byte), ``cmpt_len`` (bitmap words) and ``chksum`` (CRC-16/X-25, stored low byte first as Linux
does). Set them to craft bad packets. The option asks for 4n+2 alignment, so
``IPv6ExtHdrHopByHop(options=[...])`` puts it where the kernel does and pads the header with
Pad1/PadN to a multiple of 8, byte for byte as :func:`calipso.build_header`::

    >>> import calipso
    >>> from calipso.scapy import CALIPSO
    >>> from scapy.layers.inet6 import IPv6ExtHdrHopByHop
    >>> option = CALIPSO.from_label("s3:c0,c5", doi=2)
    >>> bytes(option).hex(" ")
    '07 0c 00 00 00 02 01 03 98 0f 84 00 00 00'
    >>> bytes(IPv6ExtHdrHopByHop(nh=58, options=[option])).hex()
    '3a01070c000000020103980f84000000'
    >>> option.label
    's3:c0,c5'

Every option dissects and rebuilds byte for byte, the malformed ones included: an option whose
length byte is below 8, or whose bytes end before its checksum, keeps its data bytes in
``value``; a compartment length that overruns the data gives a bitmap cut at the end of the data.

The layer shows what :class:`cipso.scapy.IPOption_CIPSO` shows for the same concepts (``doi``,
``label``, ``mls_level``, ``truncated``, ``value``, bitmaps in hex, summaries such as
``CALIPSO doi=2 s3:c0,c5``). ``fuzz()`` keeps the type byte and draws a bitmap and data that fit
the one-byte length, so a fuzzed option always builds.
"""

from __future__ import annotations

from mls._extras import needs_extra

with needs_extra("scapy", by=__name__):
    import scapy  # noqa: F401

from typing import Any, ClassVar

from scapy.fields import (
    ByteField,
    ConditionalField,
    IntField,
    XLEShortField,
    XStrLenField,
)
from scapy.layers import inet6
from scapy.packet import Packet

import mls.scapy
from mls import CategorySet, Level

from ._checksum import option_checksum
from ._codec import decode
from .doi import CalipsoDoi
from .errors import CalipsoEncodeError
from .model import MAX_DATA_LENGTH, MAX_WORDS, MIN_DATA_LENGTH, OPTION_TYPE, CalipsoOption

__all__ = ["CALIPSO"]

#: Option type names as scapy shows them; the field copies the table when it is created.
_OPTION_NAMES = {**inet6._hbhopts, OPTION_TYPE: "CALIPSO"}
#: Offset of the checksum's first byte from the option type byte.
_CHECKSUM_OFFSET = 8
#: Offset of the compartment length byte.
_CMPT_LEN_OFFSET = 6
#: The longest bitmap, and what data may follow it, within the one-byte length.
_MAX_BITMAP = 4 * MAX_WORDS
_MAX_EXTRA = MAX_DATA_LENGTH - MIN_DATA_LENGTH - _MAX_BITMAP


def _has_fields(pkt: Packet) -> bool:
    """Whether the option is long enough for DOI, lengths, level and checksum (by its length
    byte, and when dissected, by the bytes there were)."""
    if pkt.getfieldval("truncated"):
        return False
    return pkt.optlen is None or pkt.optlen >= MIN_DATA_LENGTH


def _bitmap_length(pkt: Packet) -> int:
    """Bytes of bitmap when dissecting: what the compartment length asks for, cut at the end of
    the option data (a malformed option may ask for more)."""
    return max(0, min(4 * (pkt.cmpt_len or 0), (pkt.optlen or 0) - MIN_DATA_LENGTH))


def _extra_length(pkt: Packet) -> int:
    """Data bytes after the bitmap when dissecting (the kernel tolerates them)."""
    return max(0, (pkt.optlen or 0) - MIN_DATA_LENGTH - len(pkt.bitmap or b""))


def _expected_checksum(data: bytes) -> int | None:
    """The checksum built option bytes ``data`` call for, or None when too short for one."""
    if len(data) < _CHECKSUM_OFFSET + 2 or data[1] < MIN_DATA_LENGTH:
        return None
    return option_checksum(data[: data[1] + 2])


class _ChecksumField(XLEShortField):
    """The checksum, low byte first, shown with its status: ok, or bad and the expected value."""

    def i2repr(self, pkt: Packet | None, x: Any) -> str:
        expected = None if not isinstance(pkt, CALIPSO) else pkt.expected_checksum
        if x is None:
            return "None" if expected is None else f"None (computed: {expected:#06x})"
        if expected is None:
            return f"{x:#06x}"
        if x == expected:
            return f"{x:#06x} (ok)"
        return f"{x:#06x} (bad, expected {expected:#06x})"


class _OptionTypeField(mls.scapy.KeptUnderFuzz, inet6._OTypeField):
    """The option type byte, which fuzz() leaves as it is: a fuzzed CALIPSO option stays one."""


#: Set by dissection when the bytes end before the checksum, so the option keeps them whole in
#: ``value``.
_TRUNCATED = mls.scapy.TruncatedField("the bytes end before the checksum")


class CALIPSO(mls.scapy.LabeledLayer, Packet):
    """IPv6 option 0x07, CALIPSO (RFC 5570): DOI, compartment length, level, checksum, bitmap.

    Fields: ``otype`` (0x07), ``optlen`` (Opt Data Len), ``doi`` (u32), ``cmpt_len`` (bitmap
    length in 32-bit words), ``level`` (sensitivity byte), ``chksum`` (the CRC as an integer,
    low byte first on the wire), ``bitmap`` (category N is bit ``0x80 >> N % 8`` of byte
    N // 8), ``extra`` (data after the bitmap). An option whose ``optlen`` is below 8 has only
    ``value``, its raw data bytes. ``mls`` takes no bytes on the wire: :meth:`show` prints the
    MLS level there.
    """

    name = "CALIPSO"
    fields_desc: ClassVar[list[Any]] = [
        _OptionTypeField("otype", OPTION_TYPE, _OPTION_NAMES),
        mls.scapy.LengthField("optlen", None),
        ConditionalField(
            mls.scapy.TruncatedField("the bytes end before the checksum"),
            lambda pkt: pkt.getfieldval("truncated"),
        ),
        ConditionalField(IntField("doi", 0), _has_fields),
        ConditionalField(ByteField("cmpt_len", None), _has_fields),
        ConditionalField(ByteField("level", 0), _has_fields),
        ConditionalField(_ChecksumField("chksum", None), _has_fields),
        # max_length bounds what fuzz() draws, so that a fuzzed option fits its length byte.
        ConditionalField(
            XStrLenField("bitmap", b"", length_from=_bitmap_length, max_length=_MAX_BITMAP),
            _has_fields,
        ),
        ConditionalField(
            XStrLenField("extra", b"", length_from=_extra_length, max_length=_MAX_EXTRA),
            _has_fields,
        ),
        ConditionalField(
            XStrLenField("value", b"", length_from=lambda pkt: pkt.optlen or 0),
            lambda pkt: not _has_fields(pkt),
        ),
        mls.scapy.LabelField(),
    ]

    def alignment_delta(self, curpos: int) -> int:
        """Padding needed before the option at header offset ``curpos``: CALIPSO sits at 4n+2,
        so that its DOI is 4-byte aligned (calipso.md §4)."""
        return (2 - curpos) % 4

    def pre_dissect(self, s: bytes) -> bytes:
        # Bytes that end inside the fixed fields are kept whole in ``value`` (they could not be
        # dissected field by field), so that they rebuild unchanged.
        if len(s) < _CHECKSUM_OFFSET + 2 and (len(s) < 2 or s[1] >= MIN_DATA_LENGTH):
            self.fields["truncated"] = True
        return s

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        # What follows the option is the next option, not a payload.
        return b"", s

    def post_build(self, p: bytes, pay: bytes) -> bytes:
        data = bytearray(p)
        if self.optlen is None and len(data) >= 2:
            if len(data) - 2 > MAX_DATA_LENGTH:
                raise CalipsoEncodeError(
                    f"option data of {len(data) - 2} bytes does not fit the one-byte length "
                    f"field (at most {MAX_DATA_LENGTH})",
                    1,
                )
            data[1] = len(data) - 2
        if _has_fields(self) and len(data) >= _CHECKSUM_OFFSET + 2:
            if self.cmpt_len is None:
                words = len(self.bitmap or b"") // 4
                if words > 0xFF:
                    raise CalipsoEncodeError(f"{words} bitmap words do not fit one byte", 6)
                data[_CMPT_LEN_OFFSET] = words
            if self.chksum is None:
                # The kernel covers Opt Data Len + 2 bytes, whatever the option really holds.
                crc = option_checksum(bytes(data[: data[1] + 2]))
                data[_CHECKSUM_OFFSET] = crc & 0xFF
                data[_CHECKSUM_OFFSET + 1] = crc >> 8
        return bytes(data) + pay

    # -- meaning ----------------------------------------------------------------------------

    @property
    def expected_checksum(self) -> int | None:
        """The checksum the option's bytes call for (as the kernel computes it), or None when
        the option is too short to have one."""
        return _expected_checksum(bytes(self))

    @property
    def checksum_ok(self) -> bool | None:
        """Whether the checksum on the wire matches (None when the option has none)."""
        data = bytes(self)
        expected = _expected_checksum(data)
        if expected is None:
            return None
        return data[_CHECKSUM_OFFSET] | data[_CHECKSUM_OFFSET + 1] << 8 == expected

    @property
    def mls_level(self) -> Level | None:
        """Level and categories as an :class:`mls.Level` (PASS mapping), or None when the option
        is too short to carry them."""
        if not _has_fields(self):
            return None
        return Level(self.level, CategorySet.from_bitmap(bytes(self.bitmap or b"")))

    def to_option(self) -> CalipsoOption:
        """This option as a :class:`calipso.CalipsoOption`; malformed bytes raise
        :class:`calipso.CalipsoDecodeError`."""
        return decode(bytes(self))

    def mysummary(self) -> str:
        cut_short = mls.scapy.cut_short_summary(
            self, "CALIPSO", "optlen", has_fields=_has_fields(self)
        )
        if cut_short is not None:
            return cut_short
        status = "" if self.checksum_ok else " bad checksum"
        return f"CALIPSO doi={self.doi} {self.label}{status}"

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def from_option(cls, option: CalipsoOption) -> CALIPSO:
        """The scapy option for a :class:`calipso.CalipsoOption`, its lengths (and checksum,
        unless the option keeps a bad one) left to be computed."""
        return cls(
            doi=option.doi,
            level=option.level,
            bitmap=option.bitmap,
            extra=option.extra,
            chksum=option.bad_checksum,
        )

    @classmethod
    def from_label(
        cls, label: str | Level, doi: int | CalipsoDoi, *, empty_bitmap_word: bool = False
    ) -> CALIPSO:
        """The option the kernel sends for ``label`` under a (PASS) ``doi``: the bitmap trimmed
        to the last word holding a category (see :meth:`calipso.CalipsoDoi.label_option`)."""
        if isinstance(label, str):
            label = Level.parse(label)
        if not isinstance(doi, CalipsoDoi):
            doi = CalipsoDoi(doi)
        return cls.from_option(doi.label_option(label, empty_bitmap_word=empty_bitmap_word))


# Registration: HBHOptUnknown.dispatch_hook looks the type byte up in _hbhoptcls, and
# _OTypeField shows the names in _hbhopts.
inet6._hbhopts[OPTION_TYPE] = "CALIPSO"
inet6._hbhoptcls[OPTION_TYPE] = CALIPSO
