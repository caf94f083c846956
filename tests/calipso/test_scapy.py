"""calipso.scapy: IPv6(raw) dissects option 0x07 after a bare import; builds equal our encoder
and hop-by-hop builder byte for byte."""

from __future__ import annotations

import pytest

pytest.importorskip("scapy")

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import (
    HBHOptUnknown,
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrHopByHop,
    Pad1,
    PadN,
    RouterAlert,
)
from scapy.packet import Packet, fuzz

import calipso
from calipso.scapy import CALIPSO
from calipso.strategies import hop_by_hop_headers, labels, mutants, options, packets
from mls import Level
from tests.calipso import corpus

VECTORS = corpus.VECTORS
GOOD = bytes.fromhex("070c000000020103980f84000000")  # calipso.md §2: DOI 2, s3:c0,c5
DOI = calipso.CalipsoDoi(2)


def packet_with(header: bytes) -> bytes:
    """An IPv6 echo request whose hop-by-hop header is ``header`` (next header fixed to 58)."""
    inner = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest())
    payload = inner[40:]
    hbh = bytes((58,)) + header[1:]
    plen = len(hbh) + len(payload)
    return inner[:4] + plen.to_bytes(2, "big") + b"\x00" + inner[7:40] + hbh + payload


def options_of(raw_packet: bytes) -> list[object]:
    return list(IPv6(raw_packet)[IPv6ExtHdrHopByHop].options)


# --- registration and dissection ------------------------------------------------------------


def test_registered_for_type_7() -> None:
    from scapy.layers import inet6

    assert inet6._hbhoptcls[0x07] is CALIPSO
    assert inet6._hbhopts[0x07] == "CALIPSO"


def test_dissect_worked_example() -> None:
    raw = packet_with(calipso.build_header(GOOD))
    packet = IPv6(raw)
    assert packet.nh == 0
    (option,) = packet[IPv6ExtHdrHopByHop].options  # 2 + 14 bytes: no padding
    assert isinstance(option, CALIPSO)
    assert (option.otype, option.optlen, option.doi, option.cmpt_len, option.level) == (
        7,
        12,
        2,
        1,
        3,
    )
    assert option.chksum == 0x0F98  # wire bytes 98 0f
    assert option.bitmap == b"\x84\x00\x00\x00"
    assert option.extra == b""
    assert option.mls_level == Level.parse("s3:c0,c5")
    assert option.checksum_ok is True
    assert option.to_option() == calipso.decode(GOOD)
    assert packet.haslayer(ICMPv6EchoRequest)
    assert bytes(packet) == raw


def test_destination_options_dissect_it_too() -> None:
    header = bytes(IPv6ExtHdrDestOpt(options=[CALIPSO(bytes(GOOD))]))
    assert isinstance(IPv6ExtHdrDestOpt(header).options[0], CALIPSO)


@pytest.mark.parametrize("vector", VECTORS["options"], ids=lambda v: v["name"])
def test_vectors_round_trip_and_decode(vector: dict[str, object]) -> None:
    data = bytes.fromhex(str(vector["hex"]))
    option = CALIPSO(data)
    assert bytes(option) == data
    try:
        ours = calipso.decode(data)
    except calipso.CalipsoDecodeError:
        with pytest.raises(calipso.CalipsoDecodeError):
            option.to_option()
        return
    assert option.to_option() == ours
    assert option.doi == ours.doi
    assert option.level == ours.level
    assert option.bitmap == ours.bitmap
    assert option.extra == ours.extra
    assert option.chksum == ours.checksum
    assert option.checksum_ok is ours.checksum_ok
    assert option.label == str(ours.mls_level)


@pytest.mark.parametrize("vector", VECTORS["verdicts"]["cases"], ids=lambda v: v["name"])
def test_recorded_headers_round_trip(vector: dict[str, object]) -> None:
    raw = packet_with(bytes.fromhex(str(vector["hex"])))
    assert bytes(IPv6(raw)) == raw


def test_short_option_keeps_its_bytes() -> None:
    short = bytes.fromhex("0707000000020000cf")
    option = CALIPSO(short)
    assert option.optlen == 7
    assert option.value == short[2:]
    assert option.mls_level is None and option.checksum_ok is None
    assert bytes(option) == short
    assert "too short" in option.summary()
    header = wrap(short)
    assert bytes(IPv6ExtHdrHopByHop(header)) == header
    assert isinstance(IPv6ExtHdrHopByHop(header).options[0], CALIPSO)


def test_compartment_overrun_cuts_the_bitmap_at_the_data() -> None:
    overrun = bytes.fromhex("070c000000020203980f84000000")
    option = CALIPSO(overrun)
    assert option.cmpt_len == 2
    assert option.bitmap == b"\x84\x00\x00\x00"
    assert bytes(option) == overrun
    header = wrap(overrun)
    (first,) = IPv6ExtHdrHopByHop(header).options
    assert isinstance(first, CALIPSO)
    assert bytes(IPv6ExtHdrHopByHop(header)) == header


@pytest.mark.parametrize("hex_option", ["0708", "070c0000", "0708000000020000", "07ff00000002"])
def test_bytes_ending_before_the_checksum_dissect_and_rebuild(hex_option: str) -> None:
    # Regression: these raised struct.error when given to CALIPSO() directly.
    data = bytes.fromhex(hex_option)
    option = CALIPSO(data)
    assert option.truncated is True
    assert option.value == data[2:]
    assert bytes(option) == data
    assert bytes(option.copy()) == data
    assert "truncated" in option.summary()
    assert "truncated = yes" in shown(option)
    assert option.mls_level is None and option.checksum_ok is None
    changed: CALIPSO = option.copy()
    changed.value = b"\x01"
    assert bytes(changed) == data[:2] + b"\x01"


def test_option_running_past_the_header_does_not_break_dissection() -> None:
    header = bytes((0, 1, 0x01, 4, 0, 0, 0, 0)) + GOOD[:8]
    dissected = IPv6ExtHdrHopByHop(header)
    assert bytes(dissected) == header


def wrap(option: bytes) -> bytes:
    """A hop-by-hop header with ``option`` at offset 2, padded as the kernel pads."""
    return calipso.insert_option(None, option)


# --- building ----------------------------------------------------------------------------------


def test_build_defaults() -> None:
    option = CALIPSO(doi=2, level=3, bitmap=b"\x84\x00\x00\x00")
    assert bytes(option) == GOOD
    assert bytes(CALIPSO()) == calipso.encode(calipso.CalipsoOption(0, 0))


def test_checksum_override_for_bad_packets() -> None:
    option = CALIPSO(doi=2, level=3, bitmap=b"\x84\x00\x00\x00", chksum=0x1234)
    data = bytes(option)
    assert data[8:10] == b"\x34\x12"  # low byte first, as Linux stores it
    assert data[:8] + data[10:] == GOOD[:8] + GOOD[10:]
    assert option.checksum_ok is False
    assert option.expected_checksum == 0x0F98
    decoded = calipso.decode(data)
    assert decoded.bad_checksum == 0x1234


def test_length_overrides_for_bad_packets() -> None:
    option = CALIPSO(doi=2, level=3, bitmap=b"\x84\x00\x00\x00", cmpt_len=2)
    data = bytes(option)
    assert data[6] == 2
    assert data[1] == 12
    # The checksum is computed over the bytes as built, the wrong length included.
    assert calipso.crc16_x25(data[:8] + b"\0\0" + data[10:]) == data[8] | data[9] << 8
    with pytest.raises(calipso.CalipsoValidationError) as caught:
        calipso.validate(data, [2])
    assert caught.value.check is calipso.Check.COMPARTMENT_LENGTH
    longer = bytes(CALIPSO(doi=2, level=3, bitmap=b"\x84\x00\x00\x00", optlen=16))
    assert longer[1] == 16 and len(longer) == 14
    short = bytes(CALIPSO(optlen=7, value=b"\x00\x00\x00\x02\x00\x00\x00"))
    assert short.hex() == "070700000002000000"


def test_bitmap_not_whole_words_counts_the_rest_as_extra_data() -> None:
    data = bytes(CALIPSO(doi=2, level=1, bitmap=b"\x84\x00\x00\x00\x80"))
    assert data[6] == 1  # whole words only
    option = calipso.decode(data)
    assert option.bitmap == b"\x84\x00\x00\x00" and option.extra == b"\x80"
    assert option.checksum_ok


def test_oversized_option_is_refused() -> None:
    with pytest.raises(calipso.CalipsoEncodeError):
        bytes(CALIPSO(doi=2, bitmap=bytes(248)))


def test_from_label() -> None:
    option = CALIPSO.from_label("s3:c0,c5", doi=2)
    assert bytes(option) == GOOD
    assert option.label == "s3:c0,c5"
    assert bytes(CALIPSO.from_label(Level.parse("s7:c40"), DOI)) == calipso.encode(
        DOI.label_option(Level.parse("s7:c40"))
    )
    empty_word = CALIPSO.from_label("s4", doi=2, empty_bitmap_word=True)
    assert bytes(empty_word)[6] == 1
    with pytest.raises(calipso.CalipsoDoiError):
        CALIPSO.from_label("s0", doi=0)
    with pytest.raises(calipso.CalipsoEncodeError):
        CALIPSO.from_label("s0:c1952", doi=2)


def test_from_option_keeps_a_bad_checksum() -> None:
    bad = calipso.CalipsoOption(2, 3, b"\x84\x00\x00\x00", bad_checksum=0xBEEF)
    assert bytes(CALIPSO.from_option(bad)) == calipso.encode(bad)


# --- alignment -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level", ["s0", "s3:c5", "s3:c40", "s1:c0.c95", "s255:c0.c1951", "s2:c1,c200"]
)
def test_alone_in_a_header_equals_the_kernels_header(level: str) -> None:
    option = DOI.label_option(Level.parse(level))
    built = bytes(IPv6ExtHdrHopByHop(nh=0, options=[CALIPSO.from_option(option)]))
    assert built == calipso.build_header(option)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 6, 7])
def test_after_another_option_at_4n_plus_2_as_the_kernel_inserts(size: int) -> None:
    # An unknown skippable option of 2 + size bytes, then CALIPSO: scapy's padding in front
    # and behind equals calipso_opt_insert's.
    other = HBHOptUnknown(otype=0x1E, optdata=bytes(size))
    option = DOI.label_option(Level.parse("s3:c0,c5"))
    built = bytes(IPv6ExtHdrHopByHop(nh=0, options=[other, CALIPSO.from_option(option)]))
    existing = bytes(IPv6ExtHdrHopByHop(nh=0, options=[other]))
    assert built == calipso.insert_option(existing, option)
    offset = calipso.find_option(built)
    assert offset is not None and offset % 4 == 2
    assert calipso.verdict(built, [2]).accepted


def test_after_a_router_alert() -> None:
    option = DOI.label_option(Level.parse("s9:c3,c70"))
    built = bytes(IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), CALIPSO.from_option(option)]))
    existing = bytes(IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]))
    assert built[2:] == calipso.insert_option(existing, option)[2:]
    assert calipso.find_option(built) == 6


def test_autopad_off_keeps_a_misaligned_option() -> None:
    built = bytes(
        IPv6ExtHdrHopByHop(autopad=0, options=[Pad1(), CALIPSO(GOOD), PadN(optdata=bytes(5))])
    )
    assert calipso.find_option(built) == 3
    assert len(built) == 24


@given(data=st.data())
def test_kernel_style_headers_with_calipso_last_equal_scapy_builds(data: st.DataObject) -> None:
    level = data.draw(labels())
    before = data.draw(st.lists(st.integers(0, 9), max_size=3))
    others = [HBHOptUnknown(otype=0x1E, optdata=bytes(n)) for n in before]
    option = DOI.label_option(level)
    existing = bytes(IPv6ExtHdrHopByHop(options=others)) if others else None
    built = bytes(IPv6ExtHdrHopByHop(nh=0, options=[*others, CALIPSO.from_option(option)]))
    assert built == calipso.insert_option(existing, option, next_header=0)


# --- show ----------------------------------------------------------------------------------------


def test_show_prints_fields_label_and_checksum_status() -> None:
    text = shown(IPv6(packet_with(calipso.build_header(GOOD))))
    assert "###[ CALIPSO ]###" in text
    lines = {
        line.split("=")[0].strip(" |"): line.split("=", 1)[1].strip() for line in _fields(text)
    }
    assert lines["otype"].startswith("CALIPSO")
    assert lines["doi"] == "2"
    assert lines["cmpt_len"] == "1"
    assert lines["level"] == "3"
    assert lines["chksum"] == "0x0f98 (ok)"
    assert lines["bitmap"] == "84000000"
    assert lines["mls"] == "s3:c0,c5"


def test_show_flags_a_bad_checksum_and_a_computed_one() -> None:
    bad = CALIPSO(doi=2, level=3, bitmap=b"\x84\x00\x00\x00", chksum=0x1234)
    assert "chksum    = 0x1234 (bad, expected 0x0f98)" in shown(bad)
    fresh = CALIPSO.from_label("s3:c0,c5", doi=2)
    assert "chksum    = None (computed: 0x0f98)" in shown(fresh)
    assert "mls       = s3:c0,c5" in shown(fresh)
    assert CALIPSO(GOOD).summary() == "CALIPSO doi=2 s3:c0,c5"
    assert bad.summary() == "CALIPSO doi=2 s3:c0,c5 bad checksum"


def shown(packet: Packet) -> str:
    text = packet.show(dump=True)
    assert isinstance(text, str)
    return text


def _fields(text: str) -> list[str]:
    section = text.split("###[ CALIPSO ]###", 1)[1].split("###[", 1)[0]
    return [line for line in section.splitlines() if "=" in line]


# --- properties ----------------------------------------------------------------------------------


@given(options())
def test_scapy_build_equals_encode(option: calipso.CalipsoOption) -> None:
    # Field by field from the model, never from its bytes.
    assert bytes(CALIPSO.from_option(option)) == calipso.encode(option)


@given(options())
def test_scapy_dissect_of_a_packet_gives_our_decode(option: calipso.CalipsoOption) -> None:
    raw = packet_with(calipso.build_header(option))
    dissected = IPv6(raw)
    found = [o for o in dissected[IPv6ExtHdrHopByHop].options if isinstance(o, CALIPSO)]
    assert len(found) == 1
    scapy_option = found[0]
    assert (scapy_option.doi, scapy_option.level) == (option.doi, option.level)
    assert (scapy_option.bitmap, scapy_option.extra) == (option.bitmap, option.extra)
    assert scapy_option.cmpt_len == option.words
    assert scapy_option.optlen == option.data_length
    assert scapy_option.chksum == option.checksum
    assert scapy_option.checksum_ok is option.checksum_ok
    assert scapy_option.to_option() == option
    assert bytes(dissected) == raw


@given(hop_by_hop_headers(doi=2))
def test_kernel_built_headers_round_trip(header: bytes) -> None:
    raw = packet_with(header)
    dissected = IPv6(raw)
    assert bytes(dissected) == raw
    first = calipso.find_option(header)
    assert first is not None
    option = next(o for o in dissected[IPv6ExtHdrHopByHop].options if isinstance(o, CALIPSO))
    assert option.mls_level == DOI.decode_header(header)


def test_module_docstring_examples_run() -> None:
    import doctest

    import calipso.scapy

    result = doctest.testmod(
        calipso.scapy, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


# --- what arrived, shown; fuzz() ----------------------------------------------------------------

calipso_like = st.builds(
    lambda length, body: bytes((0x07, length)) + body, st.integers(0, 255), st.binary(max_size=80)
)
any_option_bytes = st.one_of(
    # Empty bytes are not dissected at all: scapy builds the defaults from them.
    st.binary(min_size=1, max_size=64),
    calipso_like,
    mutants().filter(len),
)


def assert_shows(packet: Packet) -> None:
    """Everything that shows a packet works on it and its options (none may raise on bytes
    that arrived)."""
    assert isinstance(shown(packet), str)
    assert isinstance(packet.summary(), str)
    for layer in packet.iterpayloads():
        for option in [layer, *(getattr(layer, "options", None) or [])]:
            label = getattr(option, "label", None)
            assert label is None or isinstance(label, str)
            level = getattr(option, "mls_level", None)
            assert level is None or isinstance(level, Level)


@given(any_option_bytes)
def test_any_bytes_dissect_show_and_rebuild(data: bytes) -> None:
    option = CALIPSO(data)
    assert_shows(option)
    assert bytes(option) == data


@given(any_option_bytes)
def test_any_option_shows_in_a_packet(data: bytes) -> None:
    header = bytes((58, 0)) + data
    header += bytes(-len(header) % 8)
    header = header[:1] + bytes((len(header) // 8 - 1,)) + header[2:]
    raw = packet_with(header)
    packet = IPv6(raw)
    assert_shows(packet)
    assert bytes(packet) == raw


def test_a_lone_type_byte_dissects_as_truncated() -> None:
    option = CALIPSO(b"\x07")
    assert option.truncated and option.optlen is None
    assert bytes(option) == b"\x07"
    assert option.summary() == "CALIPSO optlen=None (truncated: 0 data bytes)"


FUZZ_RUNS = 300


def test_fuzz_builds_every_time() -> None:
    # Regression: 8 of 300 built (a random bitmap of up to 1200 bytes, and a random type).
    built = [bytes(fuzz(CALIPSO())) for _ in range(FUZZ_RUNS)]
    assert all(data[0] == 0x07 and data[1] == len(data) - 2 for data in built)
    assert all(CALIPSO(data).checksum_ok for data in built)


def test_fuzzed_packets_build_every_time() -> None:
    # Regression: none of 300 built ("option data of 1508 bytes does not fit").
    for _ in range(FUZZ_RUNS):
        raw = bytes(fuzz(IPv6() / IPv6ExtHdrHopByHop(options=[CALIPSO()]) / ICMPv6EchoRequest()))
        options = IPv6(raw)[IPv6ExtHdrHopByHop].options
        assert any(isinstance(option, CALIPSO) for option in options)


@given(packets(doi=2))
def test_packets_carry_a_hop_by_hop_header_of_ours(packet: Packet) -> None:
    hop_by_hop = packet[IPv6ExtHdrHopByHop]
    (option,) = [o for o in hop_by_hop.options if isinstance(o, CALIPSO)]
    assert option.doi == 2 and option.checksum_ok
    assert calipso.verdict(bytes(hop_by_hop)[: 8 * (hop_by_hop.len + 1)], [2]).accepted
    assert packet.haslayer(ICMPv6EchoRequest)
    assert_shows(packet)
