"""Property tests: round trips, the schema and the fast codec byte for byte, and only our
error types on arbitrary or near-valid input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from labelnet import ipsec
from labelnet.ipsec import schema
from labelnet.ipsec.strategies import (
    mutants,
    sadb_sec_ctx_bytes,
    sadb_sec_ctxs,
    selector_bytes,
    setkey_ctxs,
    traffic_selectors,
    ts_payload_bytes,
    ts_payloads,
    xfrm_attr_bytes,
    xfrm_sec_ctxs,
)
from mls import Context
from mls.strategies import contexts

ORDERS = st.sampled_from(["little", "big"])


@given(xfrm_sec_ctxs(), ORDERS)
def test_xfrm_round_trip_and_schema_agree(ctx: ipsec.XfrmSecCtx, order: Any) -> None:
    attr = ipsec.encode_xfrm_attr(ctx, byteorder=order)
    assert len(attr) % 4 == 0
    assert schema.build_xfrm_attr(ctx, byteorder=order) == attr
    assert ipsec.decode_xfrm_attr(attr, byteorder=order) == ctx
    assert schema.parse_xfrm_attr(attr, byteorder=order) == ctx
    payload = ipsec.encode_xfrm_sec_ctx(ctx, byteorder=order)
    assert attr[4 : 4 + len(payload)] == payload
    assert schema.build_xfrm_sec_ctx(ctx, byteorder=order) == payload
    assert ipsec.decode_xfrm_sec_ctx(payload, byteorder=order) == ctx
    assert schema.parse_xfrm_sec_ctx(payload, byteorder=order) == ctx


@given(sadb_sec_ctxs(), ORDERS)
def test_sadb_round_trip_and_schema_agree(ctx: ipsec.SadbSecCtx, order: Any) -> None:
    data = ipsec.encode_sadb_sec_ctx(ctx, byteorder=order)
    assert len(data) == 8 * ctx.units
    assert schema.build_sadb_sec_ctx(ctx, byteorder=order) == data
    assert ipsec.decode_sadb_sec_ctx(data, byteorder=order) == ctx
    assert schema.parse_sadb_sec_ctx(data, byteorder=order) == ctx
    # af_key.c turns the extension into an xfrm_user_sec_ctx field for field.
    assert ctx.to_xfrm().to_sadb() == ctx


@given(ts_payloads())
def test_ts_payload_round_trip_and_schema_agree(payload: ipsec.TrafficSelectorPayload) -> None:
    data = ipsec.encode_ts_payload(payload)
    assert len(data) == payload.length
    assert schema.build_ts_payload(payload) == data
    assert ipsec.decode_ts_payload(data) == payload
    assert schema.parse_ts_payload(data) == payload


@given(traffic_selectors())
def test_selector_round_trip_and_schema_agree(selector: ipsec.TrafficSelector) -> None:
    data = ipsec.encode_traffic_selector(selector)
    assert schema.build_traffic_selector(selector) == data
    assert ipsec.decode_traffic_selector(data) == selector
    assert schema.parse_traffic_selector(data) == selector


@given(xfrm_attr_bytes())
def test_xfrm_bytes_round_trip(data: bytes) -> None:
    assert ipsec.encode_xfrm_attr(ipsec.decode_xfrm_attr(data)) == data


@given(sadb_sec_ctx_bytes())
def test_sadb_bytes_round_trip(data: bytes) -> None:
    assert ipsec.encode_sadb_sec_ctx(ipsec.decode_sadb_sec_ctx(data)) == data


@given(ts_payload_bytes())
def test_ts_payload_bytes_round_trip(data: bytes) -> None:
    assert ipsec.encode_ts_payload(ipsec.decode_ts_payload(data)) == data


def _same_verdict(fast: Callable[[bytes], Any], slow: Callable[[bytes], Any], data: bytes) -> None:
    outcomes = []
    for decode in (fast, slow):
        try:
            outcomes.append(decode(data))
        except ipsec.IpsecDecodeError as error:
            assert isinstance(error.offset, int) and 0 <= error.offset <= len(data)
            outcomes.append(None)
    assert outcomes[0] == outcomes[1]


@given(st.one_of(mutants(xfrm_attr_bytes()), st.binary(max_size=40)))
def test_xfrm_attr_codec_and_schema_refuse_the_same_bytes(data: bytes) -> None:
    _same_verdict(ipsec.decode_xfrm_attr, schema.parse_xfrm_attr, data)
    _same_verdict(ipsec.decode_xfrm_sec_ctx, schema.parse_xfrm_sec_ctx, data)


@given(st.one_of(mutants(sadb_sec_ctx_bytes()), st.binary(max_size=40)))
def test_sadb_codec_and_schema_refuse_the_same_bytes(data: bytes) -> None:
    _same_verdict(ipsec.decode_sadb_sec_ctx, schema.parse_sadb_sec_ctx, data)


@given(st.one_of(mutants(ts_payload_bytes()), mutants(selector_bytes()), st.binary(max_size=60)))
def test_ike_codec_and_schema_refuse_the_same_bytes(data: bytes) -> None:
    _same_verdict(ipsec.decode_ts_payload, schema.parse_ts_payload, data)
    _same_verdict(ipsec.decode_traffic_selector, schema.parse_traffic_selector, data)


@given(st.binary(max_size=80))
def test_label_parsing_raises_only_our_errors(data: bytes) -> None:
    try:
        ipsec.parse_label(data)
    except ipsec.IpsecError as error:
        assert error.offset is not None and 0 <= error.offset <= len(data)


@given(contexts())
def test_context_octets_round_trip(context: Context) -> None:
    assert ipsec.XfrmSecCtx.from_context(context).to_context() == context
    assert ipsec.SecLabelSelector.from_context(context).to_context() == context


@given(setkey_ctxs())
def test_setkey_clause_round_trip(ctx: ipsec.SetkeyCtx) -> None:
    text = str(ctx)
    assert ipsec.parse_setkey_ctx(text) == ctx
    line = f"spdadd 10.0.0.1 10.0.0.2 any {text} -P out ipsec esp/transport//require;"
    clause = ipsec.find_setkey_ctx(line)
    assert clause is not None and clause.ctx == ctx and line[clause.start : clause.end] == text
    assert ipsec.with_setkey_ctx(ipsec.with_setkey_ctx(line, None), ctx) == line
    if ctx.doi:
        sent = ctx.to_sadb()
        assert sent is not None and ipsec.SetkeyCtx.from_wire(sent) == ctx
        assert sent.ctx_len == len(str(ctx.context)) + 1


@given(st.text(alphabet=' -ctx0123456789"ab:s;#\n\tPspdadd', max_size=60))
def test_setkey_text_raises_only_our_errors(text: str) -> None:
    for parse in (ipsec.find_setkey_ctx, ipsec.parse_setkey_ctx):
        try:
            parse(text)
        except ipsec.IpsecError as error:
            assert error.offset is not None and 0 <= error.offset <= len(text)


@given(st.binary(max_size=300), st.sampled_from([16, 19, 20, 21, 23, 25, 26, 0, 2]), ORDERS)
def test_message_walk_raises_only_our_errors(tail: bytes, msg_type: int, order: Any) -> None:
    length = 16 + len(tail)
    header = length.to_bytes(4, order) + msg_type.to_bytes(2, order) + bytes(10)
    try:
        ipsec.find_xfrm_sec_ctx(header + tail, byteorder=order)
    except ipsec.IpsecDecodeError as error:
        assert error.offset is not None and 0 <= error.offset <= length


@given(xfrm_sec_ctxs(), st.sampled_from([19, 25]))
def test_message_walk_finds_the_attribute_after_others(
    ctx: ipsec.XfrmSecCtx, msg_type: int
) -> None:
    mark = (12).to_bytes(2, "little") + (21).to_bytes(2, "little") + bytes(8)
    payload = bytes(168) + mark + ipsec.encode_xfrm_attr(ctx, byteorder="little")
    header = (16 + len(payload)).to_bytes(4, "little") + msg_type.to_bytes(2, "little")
    assert ipsec.find_xfrm_sec_ctx(header + bytes(10) + payload, byteorder="little") == ctx
