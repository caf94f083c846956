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


# Checking a received checksum without zeroing its two bytes. For messages of one length the
# CRC is affine: crc(a ^ b) == crc(a) ^ crc(b) ^ crc(zeros). An option as received is the
# option with its checksum bytes zeroed, xor a message that holds only those two bytes; so its
# CRC differs from the zeroed one's by a linear function of the two bytes, which depends only on
# how many bytes follow them. The checksum holds exactly when the CRC of the whole received
# option (bytes bit-reversed, as above) equals ``high[r8] ^ low[r9]``, where r8 and r9 are its
# reversed checksum bytes and ``high, low = received_checksum_terms(len(option))``. This spares
# the decoder three copies of the option.
TERMS_BY_SIZE: list[tuple[list[int], list[int]] | None] = [None] * 258  # options are 10..257 bytes


def received_checksum_terms(size: int) -> tuple[list[int], list[int]]:
    """The two tables that check the checksum of a received option of ``size`` bytes against
    the CRC of the whole option (see the comment above); made on first use."""
    terms = TERMS_BY_SIZE[size]
    if terms is None:
        zeros = bytes(size)
        crc_of_zeros = crc_hqx(zeros, 0xFFFF)

        def difference(byte: int, at: int) -> int:  # crc(P) ^ crc(zeros), P: one byte set
            return crc_hqx(zeros[:at] + bytes((byte,)) + zeros[at + 1 :], 0xFFFF) ^ crc_of_zeros

        # Valid: crc(zeroed) ^ 0xFFFF == r8 << 8 | r9, and crc(received) == crc(zeroed) ^
        # difference(r8, 8) ^ difference(r9, 9).
        high = [byte << 8 ^ 0xFFFF ^ difference(byte, 8) for byte in range(256)]
        low = [byte ^ difference(byte, 9) for byte in range(256)]
        terms = TERMS_BY_SIZE[size] = (high, low)
    return terms


def checksum_bytes(checksum: int) -> bytes:
    """The two wire bytes of a checksum: low byte first (``opt[8] = crc & 0xff``)."""
    return bytes((checksum & 0xFF, checksum >> 8))
