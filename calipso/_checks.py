"""The receive-side checks of one CALIPSO option (calipso.md §3 steps 2-5), shared by
:func:`calipso.validate`, :meth:`calipso.CalipsoDoi.decode_label` and the hop-by-hop verdict."""

from __future__ import annotations

from collections.abc import Container

from ._checksum import option_checksum
from .errors import CalipsoValidationError, Check
from .model import MIN_DATA_LENGTH, OPTION_TYPE


def checksum_mismatch(received: int, expected: int) -> str:
    """The reason a received checksum is refused, the same for every reader."""
    return f"checksum {received:#06x} does not match the contents (expected {expected:#06x})"


def check_option(data: bytes, start: int, end: int, dois: Container[int]) -> None:
    """Check the option at ``data[start:]`` whose TLV must end by ``end``. Offsets in errors
    are relative to ``start``."""
    available = end - start
    if available <= 0 or data[start] != OPTION_TYPE:
        found = "no bytes" if available <= 0 else f"type {data[start]:#04x}"
        raise CalipsoValidationError(f"not a CALIPSO option ({found})", 0, check=Check.NOT_CALIPSO)
    if available < 2 or data[start + 1] + 2 > available:
        claimed = "no length byte" if available < 2 else f"{data[start + 1]} data bytes"
        raise CalipsoValidationError(
            f"the option is truncated ({claimed}, {available - 2} present)",
            1,
            check=Check.TRUNCATED,
        )
    data_length = data[start + 1]
    # Step 2 (ipv6_hop_calipso): the fixed fields must fit.
    if data_length < MIN_DATA_LENGTH:
        raise CalipsoValidationError(
            f"option data length {data_length} is below the minimum of {MIN_DATA_LENGTH}",
            1,
            check=Check.DATA_LENGTH,
        )
    # Step 3: the bitmap must fit; more data than the bitmap needs is allowed.
    words = data[start + 6]
    if words * 4 + MIN_DATA_LENGTH > data_length:
        raise CalipsoValidationError(
            f"compartment length {words} words ({4 * words} bytes) overruns the "
            f"{data_length - MIN_DATA_LENGTH} bytes left in the option data",
            6,
            check=Check.COMPARTMENT_LENGTH,
        )
    # Step 4 (calipso_validate): CRC over the option with its checksum bytes as zero.
    option = data[start : start + data_length + 2]
    expected = option_checksum(option)
    if option[8] != expected & 0xFF or option[9] != expected >> 8:
        received = option[8] | option[9] << 8
        raise CalipsoValidationError(
            checksum_mismatch(received, expected),
            8,
            check=Check.CHECKSUM,
        )
    # Step 5: the DOI must be configured (DOI 0 can never be).
    doi = int.from_bytes(option[2:6], "big")
    if doi not in dois:
        raise CalipsoValidationError(f"DOI {doi} is not configured", 2, check=Check.UNKNOWN_DOI)


def check_single_option(data: bytes, dois: Container[int]) -> None:
    """:func:`check_option` on ``data`` holding exactly one option, type byte first."""
    check_option(data, 0, len(data), dois)
    end = data[1] + 2
    if len(data) != end:
        raise CalipsoValidationError(
            f"{len(data) - end} bytes follow the end of the option", end, check=Check.TRAILING_DATA
        )
