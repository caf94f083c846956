"""Worked examples from labeled-ipsec.md, byte for byte, through the fast codec and the
schema; malformed input with the offset of the fault."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labelnet import ipsec
from labelnet.ipsec import schema
from mls import Context

UNLABELED = "system_u:object_r:unlabeled_t:s3:c1.c5"
SPD = "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023"
UNLABELED_BYTES = UNLABELED.encode() + b"\0"

# labeled-ipsec.md §2: nla_len 51, nla_type 8, len 0x2f, exttype 8, alg 1, doi 1, ctx_len 39.
XFRM_ATTR_LE = bytes.fromhex("3300 0800 2f00 0800 01 01 2700") + UNLABELED_BYTES + b"\0"
# §3: sec_len 6 units, exttype 24, alg 1, doi 1, ctx_len 39, one pad byte.
SADB_LE = bytes.fromhex("0600 1800 01 01 2700") + UNLABELED_BYTES + b"\0"
# §5: TS_SECLABEL header 0a 00 00 32 (length 50).
SECLABEL = bytes.fromhex("0a000032") + SPD.encode() + b"\0"

CODECS: dict[str, dict[str, Callable[..., Any]]] = {
    "codec": {
        "xfrm_struct": ipsec.decode_xfrm_sec_ctx,
        "xfrm_attr": ipsec.decode_xfrm_attr,
        "sadb": ipsec.decode_sadb_sec_ctx,
        "payload": ipsec.decode_ts_payload,
        "selector": ipsec.decode_traffic_selector,
    },
    "schema": {
        "xfrm_struct": schema.parse_xfrm_sec_ctx,
        "xfrm_attr": schema.parse_xfrm_attr,
        "sadb": schema.parse_sadb_sec_ctx,
        "payload": schema.parse_ts_payload,
        "selector": schema.parse_traffic_selector,
    },
}
BUILDERS: dict[str, dict[str, Callable[..., bytes]]] = {
    "codec": {
        "xfrm_struct": ipsec.encode_xfrm_sec_ctx,
        "xfrm_attr": ipsec.encode_xfrm_attr,
        "sadb": ipsec.encode_sadb_sec_ctx,
        "payload": ipsec.encode_ts_payload,
        "selector": ipsec.encode_traffic_selector,
    },
    "schema": {
        "xfrm_struct": schema.build_xfrm_sec_ctx,
        "xfrm_attr": schema.build_xfrm_attr,
        "sadb": schema.build_sadb_sec_ctx,
        "payload": schema.build_ts_payload,
        "selector": schema.build_traffic_selector,
    },
}
IMPLEMENTATIONS = ["codec", "schema"]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_xfrm_attribute_worked_example(impl: str) -> None:
    ctx = ipsec.XfrmSecCtx.from_context(UNLABELED)
    assert (ctx.doi, ctx.alg, ctx.exttype, ctx.ctx_len, ctx.length) == (1, 1, 8, 39, 47)
    assert BUILDERS[impl]["xfrm_attr"](ctx, byteorder="little") == XFRM_ATTR_LE
    assert len(XFRM_ATTR_LE) == 52
    assert CODECS[impl]["xfrm_attr"](XFRM_ATTR_LE, byteorder="little") == ctx
    # The same attribute without its padding byte (the last one in a message may lack it).
    assert CODECS[impl]["xfrm_attr"](XFRM_ATTR_LE[:-1], byteorder="little") == ctx
    assert BUILDERS[impl]["xfrm_struct"](ctx, byteorder="little") == XFRM_ATTR_LE[4:-1]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_host_byte_order_is_selectable(impl: str) -> None:
    ctx = ipsec.XfrmSecCtx.from_context(UNLABELED)
    big = BUILDERS[impl]["xfrm_attr"](ctx, byteorder="big")
    assert big[:12] == bytes.fromhex("0033 0008 002f 0008 01 01 0027")
    assert CODECS[impl]["xfrm_attr"](big, byteorder="big") == ctx
    sadb = BUILDERS[impl]["sadb"](ctx.to_sadb(), byteorder="big")
    assert sadb[:8] == bytes.fromhex("0006 0018 01 01 0027")


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_pfkey_worked_example(impl: str) -> None:
    ctx = ipsec.SadbSecCtx.from_context(UNLABELED)
    assert (ctx.units, ctx.padding) == (6, 1)
    assert BUILDERS[impl]["sadb"](ctx, byteorder="little") == SADB_LE
    assert len(SADB_LE) == 48
    assert CODECS[impl]["sadb"](SADB_LE, byteorder="little") == ctx
    assert ctx.to_xfrm() == ipsec.XfrmSecCtx.from_context(UNLABELED)


@pytest.mark.parametrize("ctx_len", [0, 1, 7, 8, 9, 15, 16, 4096])
def test_pfkey_lengths_count_64_bit_units(ctx_len: int) -> None:
    ctx = ipsec.SadbSecCtx(b"x" * ctx_len)
    data = ipsec.encode_sadb_sec_ctx(ctx, byteorder="little")
    assert len(data) % 8 == 0
    assert int.from_bytes(data[:2], "little") * 8 == len(data) == 8 + ctx_len + ctx.padding
    assert int.from_bytes(data[6:8], "little") == ctx_len
    assert ipsec.decode_sadb_sec_ctx(data, byteorder="little") == ctx


def test_pfkey_refuses_what_af_key_refuses() -> None:
    with pytest.raises(ipsec.IpsecEncodeError):
        ipsec.SadbSecCtx(b"x" * 4097)
    header = (6).to_bytes(2, "little") + bytes.fromhex("1800 0101") + (4097).to_bytes(2, "little")
    with pytest.raises(ipsec.IpsecDecodeError) as caught:
        ipsec.decode_sadb_sec_ctx(header + bytes(4097 + 7), byteorder="little")
    assert caught.value.offset in (0, 6)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_ts_payload_with_label_between_address_ranges(impl: str) -> None:
    payload = ipsec.TrafficSelectorPayload(
        (
            ipsec.AddressRangeSelector(
                ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv4Address("10.0.0.9"), 6, 80, 443
            ),
            ipsec.SecLabelSelector.from_context(SPD),
            ipsec.AddressRangeSelector(
                ipaddress.IPv6Address("fd00::1"), ipaddress.IPv6Address("fd00::ff")
            ),
        ),
        next_payload=45,
    )
    data = BUILDERS[impl]["payload"](payload)
    assert data[:8] == bytes.fromhex("2d 00 0072 03 000000")
    assert data[8:24] == bytes.fromhex("07 06 0010 0050 01bb 0a000001 0a000009")
    assert data[24:74] == SECLABEL
    assert data[74:78] == bytes.fromhex("08 00 0028")
    assert len(data) == 0x72
    assert CODECS[impl]["payload"](data) == payload
    assert payload.labels == (ipsec.SecLabelSelector(SPD.encode() + b"\0"),)
    assert payload.labels[0].to_context() == Context.parse(SPD)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_seclabel_selector_alone(impl: str) -> None:
    selector = CODECS[impl]["selector"](SECLABEL)
    assert selector == ipsec.SecLabelSelector.from_context(SPD)
    assert selector.text == SPD
    assert BUILDERS[impl]["selector"](selector) == SECLABEL


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_unknown_selector_types_round_trip(impl: str) -> None:
    data = bytes.fromhex("09 00 000c 00112233 44556677")
    selector = CODECS[impl]["selector"](data)
    assert selector == ipsec.UnknownSelector(9, bytes.fromhex("0011223344556677"))
    assert BUILDERS[impl]["selector"](selector) == data


def test_find_xfrm_sec_ctx_in_a_policy_message() -> None:
    body = bytes(168)  # struct xfrm_userpolicy_info
    attr = ipsec.encode_xfrm_attr(ipsec.XfrmSecCtx.from_context(UNLABELED), byteorder="little")
    mark = (12).to_bytes(2, "little") + (21).to_bytes(2, "little") + bytes(8)  # XFRMA_MARK

    def message(msg_type: int, payload: bytes) -> bytes:
        return (
            (16 + len(payload)).to_bytes(4, "little")
            + msg_type.to_bytes(2, "little")
            + (bytes(10) + payload)
        )

    found = ipsec.find_xfrm_sec_ctx(message(19, body + mark + attr), byteorder="little")
    assert found == ipsec.XfrmSecCtx.from_context(UNLABELED)
    assert ipsec.find_xfrm_sec_ctx(message(19, body + mark), byteorder="little") is None
    # DELPOLICY: struct xfrm_userpolicy_id is 64 bytes.
    found = ipsec.find_xfrm_sec_ctx(message(20, bytes(64) + attr), byteorder="little")
    assert found == ipsec.XfrmSecCtx.from_context(UNLABELED)
    with pytest.raises(ipsec.IpsecDecodeError) as caught:
        ipsec.find_xfrm_sec_ctx(message(18, bytes(24)), byteorder="little")  # GETSA: no context
    assert caught.value.offset == 4
    broken = message(19, body + attr[:-8])  # nla_len runs past the message
    with pytest.raises(ipsec.IpsecDecodeError) as caught:
        ipsec.find_xfrm_sec_ctx(broken, byteorder="little")
    assert caught.value.offset == 16 + 168


# -- the shared corpus (tests/ipsec/vectors.json, also sent to the kernel) -------------------

VECTORS = json.loads(Path(__file__).with_name("vectors.json").read_text())["xfrm_attr"]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_xfrm_attr_vectors(impl: str, vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    decode = CODECS[impl]["xfrm_attr"]
    if "decoded" in vector:
        fields = vector["decoded"]
        expected = ipsec.XfrmSecCtx(
            bytes.fromhex(fields["context"]), fields["doi"], fields["alg"], fields["exttype"]
        )
        assert decode(data, byteorder="little") == expected
        assert BUILDERS[impl]["xfrm_attr"](expected, byteorder="little") == data
    else:
        with pytest.raises(ipsec.IpsecDecodeError) as caught:
            decode(data, byteorder="little")
        if impl == "codec":
            assert caught.value.offset == vector["error_offset"]


# -- malformed input: (bytes, kind, offset) -------------------------------------------------


def _xfrm(length: int, ctx_len: int, body: bytes) -> bytes:
    return length.to_bytes(2, "little") + b"\x08\x00\x01\x01" + ctx_len.to_bytes(2, "little") + body


def _attr(payload: bytes, nla_len: int | None = None, nla_type: int = 8) -> bytes:
    length = 4 + len(payload) if nla_len is None else nla_len
    raw = length.to_bytes(2, "little") + nla_type.to_bytes(2, "little") + payload
    return raw + bytes(-len(raw) % 4)


MALFORMED = [
    ("xfrm_struct", b"\x09\x00\x08", 3),
    ("xfrm_struct", _xfrm(10, 2, b"ab\0"), 10),  # a byte after len
    ("xfrm_struct", _xfrm(11, 2, b"ab"), 0),  # len runs past
    ("xfrm_struct", _xfrm(9, 2, b"ab"), 0),  # len != 8 + ctx_len
    ("xfrm_attr", b"\x05\x00", 2),
    ("xfrm_attr", _attr(_xfrm(9, 1, b"a"), nla_type=7), 2),
    ("xfrm_attr", _attr(b"\x08\x00\x08\x00\x01\x01\x00"), 0),  # payload < 8: kernel ERANGE
    ("xfrm_attr", _attr(_xfrm(9, 1, b"a"), nla_len=40), 0),
    ("xfrm_attr", _attr(_xfrm(9, 1, b"a"), nla_len=3), 0),
    ("xfrm_attr", _attr(_xfrm(9, 1, b"a")) + bytes(4), 16),
    ("xfrm_attr", _attr(_xfrm(9, 1, b"a"))[:-1] + b"\x01", 15),  # padding not zero
    ("xfrm_attr", _attr(_xfrm(10, 1, b"a")), 4),
    # Found by hypothesis: padding present but shorter than NLA_ALIGN wants.
    ("xfrm_attr", _attr(_xfrm(9, 1, b"a"))[:-2], 14),  # inner len: offset counts from nla_len
    # Found by fuzzing: the flag bits NLA_F_NESTED / NLA_F_NET_BYTEORDER would not re-encode.
    ("xfrm_attr", bytes.fromhex("0c000880 08000800 00000000"), 2),
    ("xfrm_attr", _attr(_xfrm(9, 1, b"a"), nla_type=0x4008), 2),
    ("sadb", b"\x01\x00\x18\x00", 4),
    ("sadb", bytes.fromhex("0200 1900 0101 0100") + b"a" + bytes(7), 2),
    ("sadb", bytes.fromhex("0300 1800 0101 0100") + b"a" + bytes(7), 0),  # runs past
    ("sadb", bytes.fromhex("0100 1800 0101 0100") + b"a" + bytes(7), 0),  # too few units
    ("sadb", bytes.fromhex("0200 1800 0101 0100") + b"a" + bytes(7) + b"x", 16),
    ("sadb", bytes.fromhex("0200 1800 0101 0100") + b"a" + bytes(6) + b"\x01", 15),
    ("selector", bytes.fromhex("0a000004"), 2),  # empty label
    ("selector", bytes.fromhex("0a000003"), 2),
    ("selector", bytes.fromhex("0a000008") + b"abc", 2),  # runs past
    ("selector", bytes.fromhex("07000011") + bytes(13), 2),  # IPv4 range is 16 bytes
    ("selector", bytes.fromhex("0a"), 1),
    ("payload", bytes.fromhex("00000007 01000000"), 2),
    ("payload", bytes.fromhex("0000000c 00000000 0a000004"), 4),  # Number of TSs 0
    ("payload", bytes.fromhex("0000000d 01000000 0a000005 61") + b"x", 13),
    ("payload", bytes.fromhex("00000011 01000000 0a000005 61 0a000004"), 13),  # extra bytes
    ("payload", bytes.fromhex("0000000d 02000000 0a000005 61"), 13),  # second TS missing
    ("payload", bytes.fromhex("0000000d 01000000 0a000006 61"), 10),
]


@pytest.mark.parametrize(("kind", "data", "offset"), [(k, d, o) for k, d, o in MALFORMED])
def test_malformed_input_names_the_byte(kind: str, data: bytes, offset: int) -> None:
    decode = CODECS["codec"][kind]
    kwargs = {"byteorder": "little"} if kind in ("xfrm_struct", "xfrm_attr", "sadb") else {}
    with pytest.raises(ipsec.IpsecDecodeError) as caught:
        decode(data, **kwargs)
    assert caught.value.offset == offset, caught.value
    # The schema refuses the same bytes (it names a field, not always the same byte).
    with pytest.raises(ipsec.IpsecDecodeError):
        CODECS["schema"][kind](data, **kwargs)


def test_encoder_refuses_values_the_wire_cannot_carry() -> None:
    with pytest.raises(ipsec.IpsecEncodeError) as caught:
        ipsec.XfrmSecCtx(b"a", doi=256)
    assert caught.value.offset == 5
    with pytest.raises(ipsec.IpsecEncodeError):
        ipsec.XfrmSecCtx(b"a" * 65524)
    ipsec.XfrmSecCtx(b"a" * 65523)
    with pytest.raises(ipsec.IpsecEncodeError) as caught:
        ipsec.SecLabelSelector(b"")
    assert caught.value.offset == 4
    with pytest.raises(ipsec.IpsecEncodeError):
        ipsec.TrafficSelectorPayload(())
    with pytest.raises(ipsec.IpsecEncodeError):
        ipsec.AddressRangeSelector(ipaddress.IPv4Address("1.2.3.4"), ipaddress.IPv6Address("::1"))
    with pytest.raises(ipsec.IpsecEncodeError):
        ipsec.UnknownSelector(10, b"label")
    with pytest.raises(ipsec.IpsecEncodeError):
        ipsec.label_bytes("a:b:c\0")


def test_nul_handling() -> None:
    with_nul = ipsec.XfrmSecCtx(UNLABELED_BYTES)
    without = ipsec.XfrmSecCtx(UNLABELED.encode())
    assert with_nul.nul_terminated and not without.nul_terminated
    assert with_nul.text == without.text == UNLABELED
    assert with_nul.to_context() == without.to_context() == Context.parse(UNLABELED)
    assert with_nul != without  # different bytes on the wire
    assert ipsec.XfrmSecCtx.from_context(Context.parse(UNLABELED), nul=False) == without
    assert ipsec.label_bytes(Context.parse("u:r:t:s0:c2,c1,c0")) == b"u:r:t:s0:c0.c2\0"


def test_label_errors_point_at_the_byte() -> None:
    with pytest.raises(ipsec.LabelError) as caught:
        ipsec.label_text(b"u:r:t\0:s0\0")
    assert caught.value.offset == 5
    with pytest.raises(ipsec.LabelError) as caught:
        ipsec.label_text(b"u:r:t:s0\xff\0")
    assert caught.value.offset == 8
    with pytest.raises(ipsec.LabelError) as caught:
        ipsec.parse_label(b"u:r:t:s0:c5.c3\0")
    assert caught.value.offset is not None and 9 <= caught.value.offset <= 14
    with pytest.raises(ipsec.LabelError) as caught:
        ipsec.parse_label(b"\0")
    assert caught.value.offset == 0


def test_find_xfrm_sec_ctx_masks_the_flag_bits_as_the_kernel_does() -> None:
    attr = bytearray(
        ipsec.encode_xfrm_attr(ipsec.XfrmSecCtx.from_context(UNLABELED), byteorder="little")
    )
    attr[3] |= 0x80  # NLA_F_NESTED: nla_parse_deprecated masks it off
    message = (16 + 168 + len(attr)).to_bytes(4, "little") + (19).to_bytes(2, "little")
    message += bytes(10 + 168) + attr
    assert ipsec.find_xfrm_sec_ctx(message, byteorder="little") == ipsec.XfrmSecCtx.from_context(
        UNLABELED
    )
