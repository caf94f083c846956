"""cipso.scapy: IP(raw) dissects option 134 after a bare import; builds equal cipso.encode."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("scapy")

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, IPOption, IPOption_EOL, IPOption_NOP
from scapy.packet import Packet, fuzz

import cipso
import cipso.scapy
from cipso.strategies import mutants, options, packets
from mls import Level
from tests.cipso import corpus
from tests.cipso.support import encoded_labels

VECTORS = corpus.VECTORS
EXAMPLE = bytes.fromhex("860b000000100105000384")  # cipso.md §8


def packet_with(area: bytes) -> bytes:
    """An IPv4 echo request whose options area is ``area`` (padded with EOL)."""
    area += bytes(-len(area) % 4)
    return bytes(
        IP(src="192.0.2.1", dst="192.0.2.2", ihl=5 + len(area) // 4, options=area) / ICMP()
    )


def to_scapy(option: cipso.CipsoOption) -> cipso.scapy.IPOption_CIPSO:
    """Build the scapy option field by field from the model (never from its bytes)."""
    tags: list[cipso.scapy.CIPSOTag] = []
    for tag in option.tags:
        if isinstance(tag, cipso.RestrictedBitmapTag):
            tags.append(
                cipso.scapy.CIPSOTag_RestrictedBitmap(
                    level=tag.level, bitmap=tag.bitmap, alignment=tag.alignment
                )
            )
        elif isinstance(tag, cipso.PermissiveBitmapTag):
            tags.append(
                cipso.scapy.CIPSOTag_PermissiveBitmap(
                    level=tag.level, bitmap=tag.bitmap, alignment=tag.alignment
                )
            )
        elif isinstance(tag, cipso.EnumeratedTag):
            tags.append(
                cipso.scapy.CIPSOTag_Enumerated(
                    level=tag.level, categories=list(tag.category_list), alignment=tag.alignment
                )
            )
        elif isinstance(tag, cipso.RangedTag):
            tags.append(
                cipso.scapy.CIPSOTag_Ranged(
                    level=tag.level, bounds=list(tag.bounds), alignment=tag.alignment
                )
            )
        elif isinstance(tag, cipso.LocalTag):
            if tag.byteorder != sys.byteorder:
                tags.append(
                    cipso.scapy.CIPSOTag(type=128, data=tag.secid.to_bytes(4, tag.byteorder))
                )
            else:
                tags.append(cipso.scapy.CIPSOTag_Local(secid=tag.secid))
        elif isinstance(tag, cipso.FreeFormTag):
            tags.append(cipso.scapy.CIPSOTag_FreeForm(data=tag.data))
        else:
            tags.append(cipso.scapy.CIPSOTag(type=tag.tag_type, data=tag.data))
    return cipso.scapy.IPOption_CIPSO(doi=option.doi, tags=tags)


def assert_same(scapy_option: cipso.scapy.IPOption_CIPSO, option: cipso.CipsoOption) -> None:
    """The scapy dissection's fields equal the model's, tag by tag."""
    assert scapy_option.doi == option.doi
    assert scapy_option.length == option.length
    assert len(scapy_option.tags) == len(option.tags)
    for ours, theirs in zip(option.tags, scapy_option.tags, strict=True):
        assert theirs.type == ours.tag_type
        assert theirs.length == ours.length
        if isinstance(ours, (cipso.RestrictedBitmapTag, cipso.PermissiveBitmapTag)):
            assert (theirs.level, theirs.bitmap, theirs.alignment) == (
                ours.level,
                ours.bitmap,
                ours.alignment,
            )
            assert theirs.mls_level == ours.mls_level
        elif isinstance(ours, cipso.EnumeratedTag):
            assert (theirs.level, tuple(theirs.categories)) == (ours.level, ours.category_list)
            assert theirs.mls_level == ours.mls_level
        elif isinstance(ours, cipso.RangedTag):
            assert (theirs.level, tuple(theirs.bounds)) == (ours.level, ours.bounds)
            assert theirs.mls_level == ours.mls_level
        elif isinstance(ours, cipso.LocalTag):
            assert bytes(theirs)[2:] == ours.secid.to_bytes(4, ours.byteorder)
        else:
            assert theirs.data == ours.data


# --- dissection ---------------------------------------------------------------------------------


def test_registered_for_option_134() -> None:
    assert IPOption.registered_ip_options[134 & 0x1F] is cipso.scapy.IPOption_CIPSO
    # Scapy's option 130 (RFC 1108 Basic Security) is a different option and stays as it is.
    assert IPOption.registered_ip_options[130 & 0x1F].__name__ == "IPOption_Security"


def test_dissect_worked_example() -> None:
    packet = IP(packet_with(EXAMPLE))
    option, pad = packet.options
    assert isinstance(option, cipso.scapy.IPOption_CIPSO) and isinstance(pad, IPOption_EOL)
    assert (option.copy_flag, option.optclass, option.option) == (1, 0, 6)
    assert (option.length, option.doi) == (11, 16)
    (tag,) = option.tags
    assert isinstance(tag, cipso.scapy.CIPSOTag_RestrictedBitmap)
    assert (tag.type, tag.length, tag.alignment, tag.level, tag.bitmap) == (1, 5, 0, 3, b"\x84")
    assert tag.mls_level == Level.parse("s3:c0,c5")
    assert option.label == "s3:c0,c5"
    assert option.mls_level == Level.parse("s3:c0,c5")
    assert option.summary() == "CIPSO doi=16 s3:c0,c5"
    assert option.to_option() == cipso.decode(EXAMPLE)
    assert isinstance(packet.payload, ICMP)


def test_dissect_after_nops() -> None:
    packet = IP(packet_with(b"\x01\x01" + EXAMPLE))
    assert isinstance(packet.options[0], IPOption_NOP)
    assert isinstance(packet.options[2], cipso.scapy.IPOption_CIPSO)
    assert packet.options[2].to_option() == cipso.decode(EXAMPLE)


@pytest.mark.parametrize(
    ("hex_option", "cls"),
    [
        ("860e000000640208000300010005", cipso.scapy.CIPSOTag_Enumerated),
        ("861000000064050a0003000c000a0003", cipso.scapy.CIPSOTag_Ranged),
        ("860c00000005800601020304", cipso.scapy.CIPSOTag_Local),
        ("860a0000006406040003", cipso.scapy.CIPSOTag_PermissiveBitmap),
        ("860a0000006407040003", cipso.scapy.CIPSOTag_FreeForm),
        ("860a0000006403040003", cipso.scapy.CIPSOTag),
        # Lengths that do not fit the type's format: kept as a raw tag.
        ("860a0000001001030003", cipso.scapy.CIPSOTag),
        ("860d0000006402070003000100", cipso.scapy.CIPSOTag),
        ("860d0000000580070102030405", cipso.scapy.CIPSOTag),
    ],
)
def test_tag_classes(hex_option: str, cls: type[cipso.scapy.CIPSOTag]) -> None:
    data = bytes.fromhex(hex_option)
    option = IP(packet_with(data)).options[0]
    assert type(option.tags[0]) is cls
    assert bytes(option) == data


@pytest.mark.parametrize("vector", VECTORS["options"] + VECTORS["areas"], ids=lambda v: v["name"])
def test_vectors_round_trip_and_decode(vector: dict[str, object]) -> None:
    data = bytes.fromhex(str(vector["hex"]))
    raw = packet_with(data)
    packet = IP(raw)
    assert bytes(packet) == raw
    if "decode_offset" not in vector and data[:1] == b"\x86" and "cipso_start" not in vector:
        assert_same(packet.options[0], cipso.decode(data))


def test_short_option_keeps_its_bytes() -> None:
    packet = IP(packet_with(bytes.fromhex("8604aabb")))
    option = packet.options[0]
    assert (option.length, option.value) == (4, b"\xaa\xbb")
    assert option.label is None
    assert bytes(option) == bytes.fromhex("8604aabb")


# --- building -----------------------------------------------------------------------------------


def test_build_equals_encode() -> None:
    option = cipso.scapy.IPOption_CIPSO(
        doi=16, tags=[cipso.scapy.CIPSOTag_RestrictedBitmap(level=3, bitmap=b"\x84")]
    )
    assert bytes(option) == EXAMPLE
    packet = IP(bytes(IP(dst="192.0.2.2", options=[option]) / ICMP()))
    assert packet.ihl == 8  # 11 option bytes padded with one EOL to 12
    assert bytes(packet)[20:32] == EXAMPLE + b"\x00"


def test_tags_as_raw_bytes() -> None:
    assert bytes(cipso.scapy.IPOption_CIPSO(doi=16, tags=EXAMPLE[6:])) == EXAMPLE
    mixed = cipso.scapy.IPOption_CIPSO(
        doi=16, tags=[EXAMPLE[6:], cipso.scapy.CIPSOTag_Enumerated(level=1, categories=[3])]
    )
    assert bytes(mixed) == EXAMPLE[:1] + b"\x11" + EXAMPLE[2:] + bytes.fromhex("020600010003")


def test_length_override_for_bad_packets() -> None:
    option = cipso.scapy.IPOption_CIPSO(
        doi=16, length=7, tags=[cipso.scapy.CIPSOTag_RestrictedBitmap(level=3, length=3)]
    )
    assert bytes(option) == bytes.fromhex("86070000001001030003")
    with pytest.raises(cipso.CipsoValidationError) as caught:
        cipso.validate(bytes(option), [cipso.CipsoDoi.pass_through(16)])
    assert caught.value.offset == 1


def test_from_label_uses_the_kernel_tag_choice() -> None:
    assert bytes(cipso.scapy.IPOption_CIPSO.from_label("s3:c0,c5", doi=16)) == EXAMPLE
    doi = "pass doi:9 tags:2,5"
    option = cipso.scapy.IPOption_CIPSO.from_label("s3:c0.c3,c10.c12", doi=doi)
    assert bytes(option) == cipso.CipsoDoi.from_netlabelctl(doi).encode_label(
        Level.parse("s3:c0.c3,c10.c12")
    )
    assert isinstance(option.tags[0], cipso.scapy.CIPSOTag_Enumerated)  # 7 categories fit tag 2
    ranged = cipso.scapy.IPOption_CIPSO.from_label("s3:c0.c100", doi=doi)  # 101 do not: tag 5
    assert isinstance(ranged.tags[0], cipso.scapy.CIPSOTag_Ranged)
    assert list(ranged.tags[0].bounds) == [100]
    with pytest.raises(cipso.CipsoLabelError):
        cipso.scapy.IPOption_CIPSO.from_label("s3:c300", doi=16)


def test_show_prints_the_label() -> None:
    packet = IP(packet_with(bytes.fromhex("861000000064050a0003000c000a0003")))
    text = packet.show(dump=True)
    assert "IP Option CIPSO" in text
    assert "doi       = 100" in text
    assert "type      = ranged" in text
    assert "level     = 3" in text
    assert "bounds    = [12, 10, 3]" in text
    assert "mls       = s3:c0.c3,c10.c12" in text
    assert text.count("mls       = s3:c0.c3,c10.c12") == 2  # the tag's, and the option's
    assert packet.options[0].mysummary() == "CIPSO doi=100 s3:c0.c3,c10.c12"


# --- properties ---------------------------------------------------------------------------------


@given(options())
def test_scapy_build_equals_encode(option: cipso.CipsoOption) -> None:
    assert bytes(to_scapy(option)) == cipso.encode(option)


@given(options())
def test_scapy_dissect_equals_decode(option: cipso.CipsoOption) -> None:
    data = cipso.encode(option)
    raw = packet_with(data)
    packet = IP(raw)
    assert bytes(packet) == raw
    assert_same(packet.options[0], cipso.decode(data))


@given(encoded_labels())
def test_from_label_equals_encode_label(encoded: tuple[cipso.CipsoDoi, Level, bytes]) -> None:
    doi, level, expected = encoded
    assert bytes(cipso.scapy.IPOption_CIPSO.from_label(level, doi=doi)) == expected


@given(mutants(options().map(cipso.encode)) | st.binary(max_size=40))
def test_any_options_area_round_trips(data: bytes) -> None:
    raw = packet_with(data[:40])
    assert bytes(IP(raw)) == raw


# --- what arrived, shown; fuzz() --------------------------------------------------------------

LAYERS = [
    cipso.scapy.IPOption_CIPSO,
    cipso.scapy.CIPSOTag,
    cipso.scapy.CIPSOTag_RestrictedBitmap,
    cipso.scapy.CIPSOTag_Enumerated,
    cipso.scapy.CIPSOTag_Ranged,
    cipso.scapy.CIPSOTag_PermissiveBitmap,
    cipso.scapy.CIPSOTag_FreeForm,
    cipso.scapy.CIPSOTag_Local,
]
cipso_like = st.builds(
    lambda length, body: bytes((0x86, length)) + body, st.integers(0, 255), st.binary(max_size=60)
)


def assert_shows(packet: Packet) -> None:
    """Everything that shows a packet works on it and its options and tags (none may raise on
    bytes that arrived)."""
    assert isinstance(packet.show(dump=True), str)
    assert isinstance(packet.summary(), str)
    for layer in nested(packet):
        label = getattr(layer, "label", None)
        assert label is None or isinstance(label, str)
        level = getattr(layer, "mls_level", None)
        assert level is None or isinstance(level, Level)


def nested(packet: Packet) -> list[Packet]:
    """``packet``, its payloads and every packet held in their fields (options, tags)."""
    found = []
    for layer in packet.iterpayloads():
        found.append(layer)
        for value in layer.fields.values():
            if isinstance(value, list):
                found.extend(p for item in value if isinstance(item, Packet) for p in nested(item))
    return found


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.__name__)
# Empty bytes are not dissected at all: scapy builds the defaults from them.
@given(
    data=st.one_of(
        st.binary(min_size=1, max_size=64),
        cipso_like,
        mutants(options().map(cipso.encode)).filter(len),
    )
)
def test_any_bytes_dissect_show_and_rebuild(layer: type[cipso.scapy.CIPSOTag], data: bytes) -> None:
    packet = layer(data)
    assert_shows(packet)
    assert bytes(packet) == data


@given(mutants(options().map(cipso.encode)) | cipso_like | st.binary(max_size=40))
def test_any_options_area_shows_in_a_packet(data: bytes) -> None:
    raw = packet_with(data[:40])
    packet = IP(raw)
    assert_shows(packet)
    assert bytes(packet) == raw


@pytest.mark.parametrize(
    ("hex_option", "summary"),
    [
        # Hostile input: tag 5 with 20 bounds (more than a RangedTag takes) shows what it says.
        ("863200000001052c0000" + "00" * 40, "CIPSO doi=1 s0:c0"),
        ("8604aabb", "CIPSO length=4 (too short)"),
        ("8606", "CIPSO length=6 (truncated: 0 data bytes)"),
        ("86", "CIPSO length=None (truncated: 0 data bytes)"),
        ("860c00000005800601020304", None),
        ("860600000010", "CIPSO doi=16 (no tag)"),
        ("860a0000001007040003", "CIPSO doi=16 free_form tag"),
        ("8609000000100106", "CIPSO doi=16 restricted_bitmap tag (truncated)"),
    ],
)
def test_malformed_options_summarise_what_arrived(hex_option: str, summary: str | None) -> None:
    data = bytes.fromhex(hex_option)
    option = cipso.scapy.IPOption_CIPSO(data)
    assert_shows(option)
    assert bytes(option) == data
    if summary is None:  # a secid is in this machine's byte order
        summary = f"CIPSO doi=5 local tag secid={int.from_bytes(data[8:], sys.byteorder)}"
    assert option.summary() == summary


def test_option_cut_short_dissects_as_cipso_marked_truncated() -> None:
    # Regression: these went to Raw, or raised struct.error.
    packet = IP(bytes(IP(ihl=6, options=bytes.fromhex("01018606")) / ICMP()))
    option = packet.options[2]
    assert isinstance(option, cipso.scapy.IPOption_CIPSO)
    assert (option.truncated, option.length, option.value) == (True, 6, b"")
    assert option.label is None and option.mls_level is None
    alone = cipso.scapy.IPOption_CIPSO(bytes.fromhex("8606"))
    assert alone.truncated and bytes(alone) == bytes.fromhex("8606")
    assert "truncated = yes" in alone.show(dump=True)
    tag = cipso.scapy.CIPSOTag_Local(b"\x80\x06")
    assert tag.truncated and bytes(tag) == b"\x80\x06"
    assert tag.summary() == "CIPSO local tag (truncated)"


def test_bitmaps_and_raw_bytes_show_in_hex() -> None:
    text = IP(packet_with(bytes.fromhex("860f0000001001050003840a0400aa"))).show(dump=True)
    assert "bitmap    = 84" in text
    assert "data      = 00aa" in text


def test_tag_classes_follow_the_models_tag_types() -> None:
    model_classes = {
        cipso.TagType.RESTRICTED_BITMAP: cipso.RestrictedBitmapTag,
        cipso.TagType.ENUMERATED: cipso.EnumeratedTag,
        cipso.TagType.RANGED: cipso.RangedTag,
        cipso.TagType.PERMISSIVE_BITMAP: cipso.PermissiveBitmapTag,
        cipso.TagType.FREE_FORM: cipso.FreeFormTag,
        cipso.TagType.LOCAL: cipso.LocalTag,
    }
    assert set(cipso.scapy.CIPSOTag.registered_tags) == set(model_classes)
    for tag_type, cls in cipso.scapy.CIPSOTag.registered_tags.items():
        assert cls().type == tag_type


FUZZ_RUNS = 300


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.__name__)
def test_fuzz_builds_every_time(layer: type[cipso.scapy.CIPSOTag]) -> None:
    built = [bytes(fuzz(layer())) for _ in range(FUZZ_RUNS)]
    assert len(built) == FUZZ_RUNS
    # The type byte stays (but the generic tag's, which stands for any type): a fuzzed CIPSO
    # option or tag dissects as one again.
    if layer is not cipso.scapy.CIPSOTag:
        assert all(
            type(
                cipso.scapy.CIPSOTag(data)
                if layer is not cipso.scapy.IPOption_CIPSO
                else cipso.scapy.IPOption_CIPSO(data)
            )
            is layer
            for data in built
        )
    if layer is cipso.scapy.IPOption_CIPSO:
        assert all(data[0] == 0x86 and 8 <= len(data) <= 40 for data in built)
        assert (
            len({type(cipso.scapy.IPOption_CIPSO(data).tags[0]) for data in built})
            == len(LAYERS) - 1
        )


def test_fuzzed_packets_build_every_time() -> None:
    for _ in range(FUZZ_RUNS):
        raw = bytes(fuzz(IP(options=[cipso.scapy.IPOption_CIPSO()]) / ICMP()))
        assert isinstance(IP(raw).options[0], cipso.scapy.IPOption_CIPSO)


@given(packets(doi=16))
def test_packets_carry_an_options_area_of_ours(packet: Packet) -> None:
    (option,) = [o for o in packet.options if isinstance(o, cipso.scapy.IPOption_CIPSO)]
    assert option.doi == 16
    area = bytes(packet)[20 : packet.ihl * 4]
    assert cipso.find_option(area) is not None
    assert bytes(IP(bytes(packet))) == bytes(packet)
    assert_shows(packet)


def test_an_option_too_long_for_its_length_byte_is_refused() -> None:
    # Regression: the length byte wrapped around (310 bytes built as length 54).
    tag = cipso.scapy.CIPSOTag(type=9, data=bytes(150))
    with pytest.raises(cipso.CipsoEncodeError, match="310 bytes"):
        bytes(cipso.scapy.IPOption_CIPSO(doi=1, tags=[tag, tag]))
    with pytest.raises(cipso.CipsoEncodeError, match="294 bytes"):
        bytes(cipso.scapy.CIPSOTag(type=9, data=bytes(292)))
