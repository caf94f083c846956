"""The CALIPSO checksum: CRC-16/X-25, the kernel's ``crc_ccitt`` (lib/crc-ccitt.c).

X-25 is the reflected CCITT CRC (polynomial 0x8408, initial value 0xFFFF, result inverted).
The standard library's :func:`binascii.crc_hqx` computes the non-reflected CCITT CRC
(polynomial 0x1021) in C. A reflected CRC of a message equals the bit-reversed non-reflected
CRC of the message with every byte bit-reversed, and 0xFFFF is its own reverse, so X-25 costs
one ``bytes.translate`` and one ``crc_hqx`` call, with no per-bit or per-byte Python loop.
"""

from __future__ import annotations

from binascii import crc_hqx

#: BIT_REVERSED[b] is the byte b with its eight bits in reverse order.
BIT_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))

_ZERO_CHECKSUM = b"\0\0"


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 of ``data`` (``crc16_x25(b"123456789") == 0x906E``)."""
    inverted = crc_hqx(data.translate(BIT_REVERSED), 0xFFFF) ^ 0xFFFF
    return BIT_REVERSED[inverted & 0xFF] << 8 | BIT_REVERSED[inverted >> 8]


def option_checksum(option: bytes) -> int:
    """The checksum of a whole option (type byte onwards), computed with its own two checksum
    bytes (offsets 8 and 9) taken as zero, as calipso_genopt and calipso_validate do."""
    return crc16_x25(option[:8] + _ZERO_CHECKSUM + option[10:])


def checksum_bytes(checksum: int) -> bytes:
    """The two wire bytes of a checksum: low byte first (``opt[8] = crc & 0xff``)."""
    return bytes((checksum & 0xFF, checksum >> 8))
