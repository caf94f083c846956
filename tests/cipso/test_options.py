"""The IPv4 options area walker (cipso.options): strict and tolerant walks, find, build."""

from __future__ import annotations

import pytest

import cipso
from cipso import OptionType, Tlv

LABEL = bytes.fromhex("860b000000100105000384")


def test_walk_stops_at_end_of_option_list() -> None:
    area = b"\x01" + LABEL + b"\x00\x07\x03"
    assert list(cipso.iter_options(area)) == [
        Tlv(0, OptionType.NOOP, b""),
        Tlv(1, OptionType.CIPSO, LABEL[2:]),
        Tlv(12, OptionType.END, b""),
    ]


@pytest.mark.parametrize(
    ("area", "offset", "words"),
    [
        (b"\x01\x86", 1, "has no length byte"),
        (b"\x07\x01\x00\x00", 0, "length 1 does not fit"),
        (LABEL[:5], 0, "length 11 does not fit (5 left)"),
    ],
)
def test_strict_and_tolerant_walks_agree_on_the_fault(area: bytes, offset: int, words: str) -> None:
    with pytest.raises(cipso.OptionsAreaError) as caught:
        list(cipso.iter_options(area))
    assert caught.value.offset == offset and words in caught.value.reason
    last = list(cipso.iter_options(area, strict=False))[-1]
    assert (last.offset, last.fault_offset) == (offset, offset)
    assert last.fault == caught.value.reason
    assert last.data == area[offset + 2 :]


def test_find_option_is_cipso_v4_optptr() -> None:
    assert cipso.find_option(b"\x01\x01" + LABEL) == 2
    assert cipso.find_option(b"\x00" + LABEL) is None  # after EOL
    assert cipso.find_option(LABEL[:5]) is None  # its own length is broken
    assert cipso.find_option(b"\x94\x04\x00\x00" + LABEL) == 4


def test_build_options_pads_with_end_of_option_list() -> None:
    assert cipso.build_options(LABEL) == LABEL + b"\x00"
    assert cipso.build_options(cipso.decode(LABEL)) == LABEL + b"\x00"
    with pytest.raises(cipso.CipsoEncodeError):
        cipso.build_options(LABEL * 4)


def test_an_area_longer_than_an_ipv4_header_holds_is_refused() -> None:
    """A 41-byte area (a CIPSO option claiming 41 bytes) cannot be in an IPv4 header: the
    verdict refuses it as validate and decode refuse the option."""
    area = bytes.fromhex("8629000000100123") + bytes(33)
    dois = [cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1")]
    with pytest.raises(cipso.OptionsAreaError):
        cipso.verdict(area, dois)
    with pytest.raises(cipso.CipsoValidationError):
        cipso.validate(area, dois)
    with pytest.raises(cipso.CipsoDecodeError):
        cipso.decode(area)


def test_verdict_offsets_and_pointer() -> None:
    dois = [cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1")]
    unknown = bytes.fromhex("0101860b000000110105000384") + b"\x00\x00\x00"
    verdict = cipso.verdict(unknown, dois)
    assert verdict.kind is cipso.VerdictKind.PARAMETER_PROBLEM
    assert (verdict.offset, verdict.pointer, verdict.option_start) == (4, 24, 2)
    assert verdict.in_option and verdict.option_offset == 2 and verdict.code == 0
    with pytest.raises(cipso.CipsoValidationError) as caught:
        verdict.raise_for_verdict()
    assert (caught.value.offset, caught.value.pointer) == (2, 24)
