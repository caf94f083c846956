"""Exceptions raised by the calipso package.

Every error is a :class:`ValueError` and carries ``reason`` (what is wrong, in words) and
``offset`` (the byte at fault, or None when no byte is involved). Offsets in option errors count
from the option type byte; offsets in hop-by-hop header errors count from the first byte of the
header (its next-header byte).

Two families, as in h11: bytes that came from the wire and are not acceptable
(:class:`CalipsoDecodeError`, :class:`CalipsoValidationError`, :class:`HopByHopError`), and
values a caller asked us to encode that the wire format cannot carry
(:class:`CalipsoEncodeError`, :class:`CalipsoDoiError`).
"""

from __future__ import annotations

import enum


class CalipsoError(ValueError):
    """Base class of every calipso error."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        super().__init__(reason if offset is None else f"{reason} (byte {offset})")


class CalipsoDecodeError(CalipsoError):
    """The bytes are not a well-formed CALIPSO option (wrong type, truncated, a length byte
    that contradicts the data)."""


class CalipsoChecksumError(CalipsoDecodeError):
    """A strict decode found a checksum that does not match the option's contents.

    ``received`` and ``expected`` are CRC values as integers; on the wire the low byte comes
    first.
    """

    def __init__(self, received: int, expected: int) -> None:
        self.received = received
        self.expected = expected
        super().__init__(
            f"checksum {received:#06x} does not match the contents (expected {expected:#06x})", 8
        )


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


class CalipsoValidationError(CalipsoError):
    """The Linux kernel would silently drop a packet carrying this option.

    ``check`` names the failed check (:class:`Check`); ``offset`` is the byte it looked at: 1
    (the length byte), 6 (the compartment length), 8 (the checksum) or 2 (the DOI).
    """

    def __init__(self, check: Check, reason: str, offset: int | None) -> None:
        self.check = check
        super().__init__(reason, offset)


class CalipsoEncodeError(CalipsoError):
    """A value cannot be carried by a CALIPSO option (a sensitivity above 255, a category above
    1951, an option or hop-by-hop header that would exceed its length field).

    ``offset`` is where the field would sit in the option, when there is one.
    """


class CalipsoDoiError(CalipsoError):
    """A DOI definition the kernel refuses (DOI 0, a mapping type other than PASS), or an
    option whose DOI differs from the definition it is decoded with."""


class HopByHopError(CalipsoError):
    """A hop-by-hop options header is malformed: its length byte disagrees with its size, or a
    TLV runs past its end. ``offset`` counts from the header's first byte."""
