"""The security-context structures as declarative construct schemas, readable against
labeled-ipsec.md and the C headers.

This is the reference the fast codec (:mod:`labelnet.ipsec._codec`) is tested against byte
for byte: slower, meant for reading, cross-checking and composing into larger construct
definitions. Never compile these schemas (compiled mode skips checks). ::

    >>> from labelnet.ipsec.schema import SADB_X_SEC_CTX
    >>> parsed = SADB_X_SEC_CTX["little"].parse(bytes.fromhex("02001800010102007400000000000000"))
    >>> parsed.sec_len, parsed.alg, parsed.doi, parsed.context
    (2, 1, 1, b't\\x00')

XFRM and PF_KEY structures are in host byte order, so each of their schemas exists for both
orders: ``SCHEMA["little"]`` and ``SCHEMA["big"]``. IKEv2 is in network byte order.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from construct import (
    Array,
    BitsInteger,
    BitStruct,
    Bytes,
    Const,
    Construct,
    ConstructError,
    Container,
    ExprAdapter,
    FixedSized,
    Flag,
    GreedyBytes,
    Int8ub,
    Int16ub,
    Int16ul,
    Prefixed,
    Rebuild,
    Struct,
    Switch,
    Terminated,
    len_,
    this,
)
from construct import Check as Require

from . import model
from ._codec import NATIVE, ByteOrder
from .errors import IpsecDecodeError

_INT16 = {"little": Int16ul, "big": Int16ub}


def _xfrm_sec_ctx(int16: Construct) -> Construct:
    # struct xfrm_user_sec_ctx (xfrm.h), then ctx_len context bytes. alg comes before doi.
    return Struct(
        # len: this struct and the string, 8 + ctx_len (verify_sec_ctx_len).
        "len" / Rebuild(int16, lambda ctx: 8 + len(ctx.context)),
        # exttype: XFRMA_SEC_CTX when the kernel writes it; not checked on input.
        "exttype" / int16,
        # ctx_alg: 1 = SELinux.
        "alg" / Int8ub,
        # ctx_doi: 1 = LSM.
        "doi" / Int8ub,
        # ctx_len: bytes of context; iproute2 and the kernel count the trailing NUL.
        "ctx_len" / Rebuild(int16, len_(this.context)),
        Require(this.len == 8 + this.ctx_len),
        Require(this.ctx_len <= model.MAX_XFRM_CTX_LEN),
        "context" / Bytes(this.ctx_len),
    )


def _xfrm_sec_ctx_attr(int16: Construct, sec_ctx: Construct) -> Construct:
    # struct nlattr around it: nla_len counts header and payload, not the padding.
    return Struct(
        "nla_len" / Rebuild(int16, lambda ctx: 12 + len(ctx.sec_ctx.context)),
        # nla_type: XFRMA_SEC_CTX.
        "nla_type" / Const(model.XfrmAttrType.SEC_CTX, int16),
        # The kernel's attribute policy wants at least the 8-byte struct (else ERANGE).
        Require(this.nla_len >= 12),
        "sec_ctx" / FixedSized(this.nla_len - 4, _Whole(sec_ctx)),
        # NLA_ALIGN padding: zeros up to a multiple of 4 (may be left off at the very end).
        "padding" / Rebuild(GreedyBytes, lambda ctx: bytes(-ctx.nla_len % 4)),
        Require(lambda ctx: len(ctx.padding) in (0, -ctx.nla_len % 4)),
        Require(lambda ctx: not any(ctx.padding)),
    )


def _sadb_x_sec_ctx(int16: Construct) -> Construct:
    # struct sadb_x_sec_ctx (pfkeyv2.h), context, zeros to a multiple of 8 bytes.
    return Struct(
        # sadb_x_sec_len: the whole extension in 64-bit units.
        "sec_len" / Rebuild(int16, lambda ctx: (8 + len(ctx.context) + 7) // 8),
        # sadb_x_sec_exttype: SADB_X_EXT_SEC_CTX.
        "exttype" / Const(model.SadbExtType.X_SEC_CTX, int16),
        # sadb_x_ctx_alg, then sadb_x_ctx_doi.
        "alg" / Int8ub,
        "doi" / Int8ub,
        # sadb_x_ctx_len: context bytes (setkey counts the NUL); af_key.c: at most PAGE_SIZE.
        "ctx_len" / Rebuild(int16, len_(this.context)),
        Require(this.ctx_len <= model.MAX_SADB_CTX_LEN),
        Require(this.sec_len == (8 + this.ctx_len + 7) // 8),
        "context" / Bytes(this.ctx_len),
        "padding" / Rebuild(Bytes(this.sec_len * 8 - 8 - this.ctx_len), _zeros_to_eight),
        Require(lambda ctx: not any(ctx.padding)),
    )


def _zeros_to_eight(ctx: Any) -> bytes:
    return bytes(-(8 + len(ctx.context)) % 8)


class _Whole(Struct):  # type: ignore[misc]
    """A struct that must consume all the bytes it is given (inside FixedSized/Prefixed)."""

    def __init__(self, subcon: Construct) -> None:
        super().__init__("value" / subcon, Terminated)

    def _parse(self, stream: Any, context: Any, path: str) -> Any:
        return super()._parse(stream, context, path).value

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        return super()._build(Container(value=obj), stream, context, path)


#: struct xfrm_user_sec_ctx and its context: the XFRMA_SEC_CTX payload.
XFRM_SEC_CTX = {order: _xfrm_sec_ctx(int16) for order, int16 in _INT16.items()}
#: The whole XFRMA_SEC_CTX netlink attribute, padding included.
XFRM_SEC_CTX_ATTR = {
    order: _xfrm_sec_ctx_attr(int16, XFRM_SEC_CTX[order]) for order, int16 in _INT16.items()
}
#: The PF_KEY sadb_x_sec_ctx extension, padding included.
SADB_X_SEC_CTX = {order: _sadb_x_sec_ctx(int16) for order, int16 in _INT16.items()}


# -- IKEv2 (RFC 7296 §3.13, RFC 9478) ---------------------------------------------------------

# Selector Length and Payload Length count the 4 header bytes in front of the body; Prefixed
# wants the length of what follows the length field, so the adapters take 4 off and put it on.
_SELECTOR_LENGTH = ExprAdapter(Int16ub, lambda obj, ctx: obj - 4, lambda obj, ctx: obj + 4)
_PAYLOAD_LENGTH = ExprAdapter(Int16ub, lambda obj, ctx: obj - 4, lambda obj, ctx: obj + 4)


def _address_range(width: int) -> Construct:
    return Struct(
        "start_port" / Int16ub,
        "end_port" / Int16ub,
        "start_address" / Bytes(width),
        "end_address" / Bytes(width),
        Terminated,
    )


#: One traffic selector substructure. Byte 1 is the IP Protocol ID of the address-range
#: types and the Reserved byte of TS_SECLABEL; both are kept as ``byte1``.
TRAFFIC_SELECTOR = Struct(
    "ts_type" / Int8ub,
    "byte1" / Int8ub,
    "body"
    / Prefixed(
        _SELECTOR_LENGTH,
        Switch(
            this.ts_type,
            {
                model.TsType.IPV4_ADDR_RANGE: _address_range(4),
                model.TsType.IPV6_ADDR_RANGE: _address_range(16),
                # Security Label: opaque octets, zero length not allowed (RFC 9478).
                model.TsType.SECLABEL: Struct(
                    "label" / GreedyBytes, Require(lambda ctx: len(ctx.label) > 0)
                ),
            },
            default=Struct("data" / GreedyBytes),
        ),
    ),
)

#: A TSi or TSr payload: generic payload header, Number of TSs, RESERVED, selectors.
TS_PAYLOAD = Struct(
    "next_payload" / Int8ub,
    "flags" / BitStruct("critical" / Flag, "reserved" / BitsInteger(7)),
    "body"
    / Prefixed(
        _PAYLOAD_LENGTH,
        Struct(
            "count" / Rebuild(Int8ub, len_(this.selectors)),
            Require(this.count > 0),
            "reserved" / Bytes(3),
            "selectors" / Array(this.count, TRAFFIC_SELECTOR),
            Terminated,
        ),
    ),
)


# -- model conversion -------------------------------------------------------------------------


def build_xfrm_sec_ctx(ctx: model.XfrmSecCtx, *, byteorder: ByteOrder = NATIVE) -> bytes:
    """Same contract as :func:`labelnet.ipsec.encode_xfrm_sec_ctx`."""
    return bytes(XFRM_SEC_CTX[byteorder].build(_xfrm_fields(ctx)))


def parse_xfrm_sec_ctx(data: bytes, *, byteorder: ByteOrder = NATIVE) -> model.XfrmSecCtx:
    """Same contract as :func:`labelnet.ipsec.decode_xfrm_sec_ctx`."""
    parsed = _parse(Struct("value" / XFRM_SEC_CTX[byteorder], Terminated), data).value
    return model.XfrmSecCtx(parsed.context, parsed.doi, parsed.alg, parsed.exttype)


def build_xfrm_attr(ctx: model.XfrmSecCtx, *, byteorder: ByteOrder = NATIVE) -> bytes:
    """Same contract as :func:`labelnet.ipsec.encode_xfrm_attr`."""
    return bytes(XFRM_SEC_CTX_ATTR[byteorder].build(Container(sec_ctx=_xfrm_fields(ctx))))


def parse_xfrm_attr(data: bytes, *, byteorder: ByteOrder = NATIVE) -> model.XfrmSecCtx:
    """Same contract as :func:`labelnet.ipsec.decode_xfrm_attr`."""
    parsed = _parse(Struct("value" / XFRM_SEC_CTX_ATTR[byteorder], Terminated), data).value
    inner = parsed.sec_ctx
    return model.XfrmSecCtx(inner.context, inner.doi, inner.alg, inner.exttype)


def build_sadb_sec_ctx(ctx: model.SadbSecCtx, *, byteorder: ByteOrder = NATIVE) -> bytes:
    """Same contract as :func:`labelnet.ipsec.encode_sadb_sec_ctx`."""
    return bytes(
        SADB_X_SEC_CTX[byteorder].build(Container(context=ctx.context, doi=ctx.doi, alg=ctx.alg))
    )


def parse_sadb_sec_ctx(data: bytes, *, byteorder: ByteOrder = NATIVE) -> model.SadbSecCtx:
    """Same contract as :func:`labelnet.ipsec.decode_sadb_sec_ctx`."""
    parsed = _parse(Struct("value" / SADB_X_SEC_CTX[byteorder], Terminated), data).value
    return model.SadbSecCtx(parsed.context, parsed.doi, parsed.alg)


def build_ts_payload(payload: model.TrafficSelectorPayload) -> bytes:
    """Same contract as :func:`labelnet.ipsec.encode_ts_payload`."""
    return bytes(
        TS_PAYLOAD.build(
            Container(
                next_payload=payload.next_payload,
                flags=Container(critical=payload.critical, reserved=payload.flags),
                body=Container(
                    reserved=payload.reserved,
                    selectors=[_selector_fields(s) for s in payload.selectors],
                ),
            )
        )
    )


def parse_ts_payload(data: bytes) -> model.TrafficSelectorPayload:
    """Same contract as :func:`labelnet.ipsec.decode_ts_payload`."""
    parsed = _parse(Struct("value" / TS_PAYLOAD, Terminated), data).value
    return model.TrafficSelectorPayload(
        tuple(_selector(item) for item in parsed.body.selectors),
        parsed.next_payload,
        parsed.flags.critical,
        parsed.flags.reserved,
        parsed.body.reserved,
    )


def build_traffic_selector(selector: model.TrafficSelector) -> bytes:
    """Same contract as :func:`labelnet.ipsec.encode_traffic_selector`."""
    return bytes(TRAFFIC_SELECTOR.build(_selector_fields(selector)))


def parse_traffic_selector(data: bytes) -> model.TrafficSelector:
    """Same contract as :func:`labelnet.ipsec.decode_traffic_selector`."""
    return _selector(_parse(Struct("value" / TRAFFIC_SELECTOR, Terminated), data).value)


def _xfrm_fields(ctx: model.XfrmSecCtx) -> Container:
    return Container(context=ctx.context, doi=ctx.doi, alg=ctx.alg, exttype=ctx.exttype)


def _selector_fields(selector: model.TrafficSelector) -> Container:
    if isinstance(selector, model.SecLabelSelector):
        return Container(
            ts_type=model.TsType.SECLABEL,
            byte1=selector.reserved,
            body=Container(label=selector.label),
        )
    if isinstance(selector, model.UnknownSelector):
        return Container(
            ts_type=selector.ts_type, byte1=selector.byte1, body=Container(data=selector.data)
        )
    return Container(
        ts_type=selector.ts_type,
        byte1=selector.ip_protocol,
        body=Container(
            start_port=selector.start_port,
            end_port=selector.end_port,
            start_address=selector.start_address.packed,
            end_address=selector.end_address.packed,
        ),
    )


def _selector(parsed: Any) -> model.TrafficSelector:
    body = parsed.body
    if parsed.ts_type == model.TsType.SECLABEL:
        return model.SecLabelSelector(body.label, parsed.byte1)
    if parsed.ts_type in (model.TsType.IPV4_ADDR_RANGE, model.TsType.IPV6_ADDR_RANGE):
        make = ipaddress.IPv4Address if parsed.ts_type == 7 else ipaddress.IPv6Address
        return model.AddressRangeSelector(
            make(body.start_address),
            make(body.end_address),
            parsed.byte1,
            body.start_port,
            body.end_port,
        )
    return model.UnknownSelector(parsed.ts_type, body.data, parsed.byte1)


def _parse(schema: Construct, data: bytes) -> Any:
    try:
        return schema.parse(bytes(data))
    except ConstructError as error:
        raise IpsecDecodeError(
            "malformed: " + str(error).replace("\n", ": "), _error_offset(error)
        ) from None


# Offsets of the fixed fields, for errors the schema reports by path. The fast codec finds
# the exact byte; the schema names the field.
_FIELD_OFFSETS = {
    "nla_len": 0,
    "nla_type": 2,
    "len": 0,
    "sec_len": 0,
    "exttype": 2,
    "ctx_len": 6,
    "next_payload": 0,
    "flags": 1,
    "body": 2,
    "count": 4,
    "reserved": 5,
}


def _error_offset(error: ConstructError) -> int:
    path = str(getattr(error, "path", "") or "")
    names = [part.strip() for part in path.split("->")]
    for name in reversed(names):
        if name in _FIELD_OFFSETS:
            return _FIELD_OFFSETS[name]
    return 0
