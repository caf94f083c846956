"""tshark's view of hand-made CIPSO and CALIPSO packets (one tshark run for all of them)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from cipso import build_options
from labelnet.conformance._generate import rewrap_header
from netlabel.harness import ipv4_echo_request, ipv6_echo_request
from tests.refs.tshark import LINKTYPE_RAW, Dissection, dissect, write_pcap
from tests.support import need_program

pytestmark = pytest.mark.tshark


def cipso(doi: int, tags: str) -> bytes:
    data = bytes.fromhex(tags)
    return bytes([0x86, 6 + len(data)]) + doi.to_bytes(4, "big") + data


def v4(*options: bytes) -> bytes:
    return ipv4_echo_request(build_options(b"".join(options)), ident=7, seq=1)


def v6(option_hex: str) -> bytes:
    return ipv6_echo_request(rewrap_header(bytes.fromhex(option_hex), 58), ident=7, seq=1)


PACKETS: dict[str, bytes] = {
    "tag1": v4(cipso(16, "0105000384")),  # cipso.md §8
    "tag2 descending": v4(cipso(16, "02080003 0005 0004")),
    "tag5": v4(cipso(16, "050e0003 000c000a 00050003 0001")),
    "tag1 then tag2": v4(cipso(16, "01040003 0206 0007 0009")),
    "tag128": v4(cipso(16, "800601000000")),
    "tag6": v4(cipso(16, "06040003")),
    "short option": v4(bytes.fromhex("8607 00000010 01")),
    "tag length past option": v4(cipso(16, "0109000384")),
    "option past area": ipv4_echo_request(bytes.fromhex("8620000000100105000384 00")),
    "two options": v4(cipso(16, "01040003"), cipso(17, "01040004")),
    "calipso doi 2": v6("07080000000200 00cfce"),  # calipso.md §2 vectors
    "calipso bitmap": v6("070c0000000201 03980f 84000000"),
    "calipso bad checksum": v6("07080000000200 00cecf"),
    "calipso short": v6("0706000000020000"),
}


@pytest.fixture(scope="module")
def decoded() -> dict[str, Dissection]:
    need_program("tshark")
    names = list(PACKETS)
    return dict(zip(names, dissect([PACKETS[name] for name in names]), strict=True))


def test_write_pcap_layout(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    write_pcap(path, [b"\x45" + bytes(19), b"\x60" + bytes(39)])
    data = path.read_bytes()
    assert struct.unpack_from("<IHHiIII", data) == (0xA1B2C3D4, 2, 4, 0, 0, 0xFFFF, LINKTYPE_RAW)
    assert struct.unpack_from("<IIII", data, 24) == (0, 0, 20, 20)
    assert struct.unpack_from("<IIII", data, 24 + 16 + 20) == (1, 0, 40, 40)
    assert len(data) == 24 + 2 * 16 + 60


def test_dissect_empty() -> None:
    assert dissect([]) == []


def test_cipso_worked_example(decoded: dict[str, Dissection]) -> None:
    (fields,) = decoded["tag1"].cipso
    assert fields.option == bytes.fromhex("860b000000100105000384")
    assert fields.length == 11 and fields.doi == 16
    assert fields.tag_types == (1,) and fields.sensitivity_levels == (3,)
    assert fields.categories == ("0,5",)
    assert not fields.malformed and fields.expert == ()
    assert decoded["tag1"].calipso == ()


def test_cipso_unsorted_enumerated_not_flagged(decoded: dict[str, Dissection]) -> None:
    # The kernel rejects this (pointer 30); tshark shows the categories as written.
    (fields,) = decoded["tag2 descending"].cipso
    assert fields.tag_types == (2,) and fields.categories == ("5,4",)
    assert not fields.malformed and decoded["tag2 descending"].expert == ()


def test_cipso_ranged_categories_high_low(decoded: dict[str, Dissection]) -> None:
    (fields,) = decoded["tag5"].cipso
    assert fields.tag_types == (5,) and fields.sensitivity_levels == (3,)
    assert fields.categories == ("12-10,5-3,1-0",)


def test_cipso_several_tags(decoded: dict[str, Dissection]) -> None:
    (fields,) = decoded["tag1 then tag2"].cipso
    # Per-tag fields in order of appearance; a tag without categories adds no item.
    assert fields.tag_types == (1, 2) and fields.sensitivity_levels == (3, 7)
    assert fields.categories == ("9",)


def test_cipso_unknown_tags(decoded: dict[str, Dissection]) -> None:
    (local,) = decoded["tag128"].cipso
    assert local.tag_types == (128,) and not local.malformed
    (permissive,) = decoded["tag6"].cipso
    assert permissive.tag_types == (6,) and permissive.tag_data == (b"\x00\x03",)


def test_cipso_bad_lengths_flagged(decoded: dict[str, Dissection]) -> None:
    for name in ("short option", "tag length past option"):
        (fields,) = decoded[name].cipso
        assert fields.malformed and fields.expert == ("Malformed CIPSO tag",), name
    past = decoded["option past area"]
    assert past.cipso == ()
    assert any("goes past end of options" in message for message in past.expert)


def test_cipso_two_options(decoded: dict[str, Dissection]) -> None:
    first, second = decoded["two options"].cipso
    assert (first.doi, first.sensitivity_levels) == (16, (3,))
    assert (second.doi, second.sensitivity_levels) == (17, (4,))


def test_calipso_fields(decoded: dict[str, Dissection]) -> None:
    (plain,) = decoded["calipso doi 2"].calipso
    assert (plain.length, plain.doi, plain.cmpt_length, plain.sens_level) == (8, 2, 0, 0)
    assert plain.checksum_bytes == bytes.fromhex("cfce") and plain.bitmap == b""
    assert plain.expert == ()
    (bitmap,) = decoded["calipso bitmap"].calipso
    assert (bitmap.length, bitmap.doi, bitmap.cmpt_length, bitmap.sens_level) == (12, 2, 1, 3)
    assert bitmap.checksum_bytes == bytes.fromhex("980f")
    assert bitmap.bitmap == bytes.fromhex("84000000")
    assert decoded["calipso doi 2"].cipso == ()


def test_calipso_checksum_not_verified(decoded: dict[str, Dissection]) -> None:
    # The kernel drops this packet; tshark prints the bytes and says nothing.
    (fields,) = decoded["calipso bad checksum"].calipso
    assert fields.checksum_bytes == bytes.fromhex("cecf") and fields.expert == ()


def test_calipso_short_option_flagged(decoded: dict[str, Dissection]) -> None:
    (fields,) = decoded["calipso short"].calipso
    assert fields.length == 6
    assert any("Invalid Length" in message for message in fields.expert)
