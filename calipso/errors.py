"""Exceptions raised by the calipso package.

Every error is a :class:`ValueError` and carries ``reason`` (what is wrong, in words) and
``offset`` (the byte at fault, or None when no byte is involved). Offsets in option errors count
from the option type byte; offsets in hop-by-hop header errors count from the first byte of the
header (its next-header byte).

Two families, as in h11 and as in :mod:`cipso.errors`: bytes that came from the wire and are
not acceptable (:class:`CalipsoWireError`: :class:`CalipsoDecodeError` and its
:class:`CalipsoChecksumError`, :class:`CalipsoValidationError`, :class:`CalipsoDroppedError`,
:class:`HopByHopError`), and values a caller asked us to build that the kernel or the wire
format refuses (:class:`CalipsoLocalError`: :class:`CalipsoEncodeError`, which also covers a
label the one bitmap cannot carry, and :class:`CalipsoDoiError`). Every constructor takes
``reason`` first, then ``offset``.
"""

from __future__ import annotations

import enum

from mls.errors import ByteError

#: Bytes of the fixed IPv6 header in front of the hop-by-hop header: an ICMPv6 Parameter
#: Problem pointer counts from the start of that header.
IPV6_HEADER_LENGTH = 40
#: Where a CALIPSO option starts when it is the first option of a hop-by-hop header that
#: follows the IPv6 header (after the next-header and length bytes).
FIRST_OPTION_OFFSET = IPV6_HEADER_LENGTH + 2


class CalipsoError(ByteError):
    """Base class of every calipso error."""


class CalipsoWireError(CalipsoError):
    """Bytes from the wire are wrong. ``offset`` counts from the option's type byte (from the
    hop-by-hop header's first byte for :class:`HopByHopError` and
    :class:`CalipsoDroppedError`)."""


class CalipsoDecodeError(CalipsoWireError):
    """The bytes are not a well-formed CALIPSO option (wrong type, truncated, a length byte
    that contradicts the data)."""


class CalipsoChecksumError(CalipsoDecodeError):
    """A strict decode found a checksum that does not match the option's contents.

    ``received`` and ``expected`` are CRC values as integers; on the wire the low byte comes
    first. ``offset`` is that of the checksum field (8).
    """

    def __init__(
        self, reason: str, offset: int | None = 8, *, received: int, expected: int
    ) -> None:
        self.received = received
        self.expected = expected
        super().__init__(reason, offset)


class Check(str, enum.Enum):
    """Which receive-side check an option failed (calipso.md §3, net/ipv6/exthdrs.c,
    ipv6_hop_calipso and calipso_validate in net/ipv6/calipso.c), in the kernel's order."""

    NOT_CALIPSO = "not-calipso"  #: not an option of type 0x07, or no bytes at all
    TRUNCATED = "truncated"  #: the length byte claims more bytes than there are
    TRAILING_DATA = "trailing-data"  #: bytes after the end of the option
    DATA_LENGTH = "data-length"  #: step 2: Opt Data Len < 8
    COMPARTMENT_LENGTH = "compartment-length"  #: step 3: cmpt_len * 4 + 8 > Opt Data Len
    CHECKSUM = "checksum"  #: step 4: the CRC-16 does not match
    UNKNOWN_DOI = "unknown-doi"  #: step 5: the DOI is not configured (DOI 0 never is)

    def __str__(self) -> str:
        return self.value


class CalipsoValidationError(CalipsoWireError):
    """The Linux kernel refuses this option: it drops the packet silently (counted in
    Ip6InHdrErrors, no ICMPv6 error), as it does for every CALIPSO failure.

    ``check`` names the failed check (:class:`Check`); ``offset`` is the byte it looked at: 1
    (the length byte), 6 (the compartment length), 8 (the checksum) or 2 (the DOI).
    ``option_start`` is where the option starts, counted from the IPv6 header's first byte
    (42 when it is the first option of a hop-by-hop header right after the IPv6 header).
    """

    check: Check
    option_start: int

    def __init__(
        self,
        reason: str,
        offset: int | None = None,
        *,
        check: Check,
        option_start: int = FIRST_OPTION_OFFSET,
    ) -> None:
        self.check = check
        self.option_start = option_start
        super().__init__(reason, offset)


class CalipsoDroppedError(CalipsoWireError):
    """The Linux kernel drops the packet for a fault of its hop-by-hop header outside the
    CALIPSO option (too much padding, an option running past the end, an unknown option type
    that asks for it, ...), or sends an ICMPv6 Parameter Problem for it (``icmp_code`` set).

    ``offset`` counts from the hop-by-hop header's first byte; ``pointer`` is the Parameter
    Problem pointer, counted from the IPv6 header's first byte, when one is sent.
    """

    icmp_code: int | None

    def __init__(
        self, reason: str, offset: int | None = None, *, icmp_code: int | None = None
    ) -> None:
        self.icmp_code = icmp_code
        super().__init__(reason, offset)

    @property
    def pointer(self) -> int | None:
        if self.icmp_code is None or self.offset is None:
            return None
        return IPV6_HEADER_LENGTH + self.offset


class CalipsoLocalError(CalipsoError):
    """The caller asked for something the kernel would refuse to build."""


class CalipsoEncodeError(CalipsoLocalError):
    """A value cannot be carried by a CALIPSO option (a sensitivity above 255, a category above
    1951, an option or hop-by-hop header that would exceed its length field).

    ``offset`` is where the field would sit in the option, when there is one.
    """


class CalipsoDoiError(CalipsoLocalError):
    """A DOI definition the kernel refuses (DOI 0, a mapping type other than PASS), or an
    option whose DOI differs from the definition it is decoded with."""


class HopByHopError(CalipsoWireError):
    """A hop-by-hop options header is malformed: its length byte disagrees with its size, or a
    TLV runs past its end. ``offset`` counts from the header's first byte."""
