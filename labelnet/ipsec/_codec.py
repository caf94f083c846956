"""Fast encode and decode of the security-context structures, byte-identical to
:mod:`labelnet.ipsec.schema`.

Each decoder checks the frame with a few integer comparisons and builds the frozen value;
anything that fails them gets an :class:`~labelnet.ipsec.IpsecDecodeError` that names the
field at fault and its offset. XFRM and PF_KEY structures are in host byte order: the
``byteorder`` argument ("little" or "big") defaults to this machine's.
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from typing import Literal

from .errors import IpsecDecodeError, IpsecError
from .model import (
    MAX_SADB_CTX_LEN,
    MAX_XFRM_CTX_LEN,
    NLA_HEADER_SIZE,
    SEC_CTX_HEADER_SIZE,
    AddressRangeSelector,
    SadbExtType,
    SadbSecCtx,
    SecLabelSelector,
    TrafficSelector,
    TrafficSelectorPayload,
    TsType,
    UnknownSelector,
    XfrmAttrType,
    XfrmMsgType,
    XfrmSecCtx,
)

ByteOrder = Literal["little", "big"]
NATIVE: ByteOrder = "little" if sys.byteorder == "little" else "big"

_PREFIX = {"little": "<", "big": ">"}
# u16 len, u16 exttype, u8 alg, u8 doi, u16 ctx_len: both user structs share this layout.
_SEC_CTX = {order: struct.Struct(prefix + "HHBBH") for order, prefix in _PREFIX.items()}
_NLA = {order: struct.Struct(prefix + "HH") for order, prefix in _PREFIX.items()}
_NLMSG = {order: struct.Struct(prefix + "IHHII") for order, prefix in _PREFIX.items()}
_GENERIC = struct.Struct(">BBHB3s")  # next payload, C + reserved, length, number of TSs, reserved
_TS_HEADER = struct.Struct(">BBH")  # TS type, protocol / reserved, selector length
_PORTS = struct.Struct(">HH")
#: netlink masks these two flag bits off the attribute type (NLA_TYPE_MASK).
_NLA_TYPE_MASK = 0x3FFF

#: Size of the fixed message header before the attributes, per XFRM message type, as laid out
#: by x86-64 and the other 64-bit architectures (i386 packs xfrm_userpolicy_info into 164).
XFRM_FIXED_HEADER_SIZE = {
    XfrmMsgType.NEWSA: 224,  # struct xfrm_usersa_info
    XfrmMsgType.UPDSA: 224,
    XfrmMsgType.NEWPOLICY: 168,  # struct xfrm_userpolicy_info
    XfrmMsgType.UPDPOLICY: 168,
    XfrmMsgType.DELPOLICY: 64,  # struct xfrm_userpolicy_id
    XfrmMsgType.GETPOLICY: 64,
    XfrmMsgType.ACQUIRE: 280,  # struct xfrm_user_acquire
}


def _order(byteorder: str) -> str:
    if byteorder not in _PREFIX:
        raise ValueError(f"byteorder is 'little' or 'big', not {byteorder!r}")
    return byteorder


def _as_bytes(data: object) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, not {type(data).__name__}")


# -- XFRM: struct xfrm_user_sec_ctx ---------------------------------------------------------


def encode_xfrm_sec_ctx(ctx: XfrmSecCtx, *, byteorder: ByteOrder = NATIVE) -> bytes:
    """``struct xfrm_user_sec_ctx`` followed by the context: the XFRMA_SEC_CTX payload."""
    context = ctx.context
    return (
        _SEC_CTX[_order(byteorder)].pack(
            SEC_CTX_HEADER_SIZE + len(context), ctx.exttype, ctx.alg, ctx.doi, len(context)
        )
        + context
    )


def decode_xfrm_sec_ctx(
    data: bytes | bytearray | memoryview, *, byteorder: ByteOrder = NATIVE
) -> XfrmSecCtx:
    """Decode exactly one ``xfrm_user_sec_ctx`` and its context (the attribute payload).

    The kernel's checks (verify_sec_ctx_len): ``len`` fits the payload and equals
    8 + ``ctx_len``. Bytes after ``len``, which the kernel ignores, are refused here.
    """
    return _decode_xfrm_sec_ctx(_as_bytes(data), _order(byteorder), 0)


def _decode_xfrm_sec_ctx(data: bytes, byteorder: str, base: int) -> XfrmSecCtx:
    size = len(data)
    if size < SEC_CTX_HEADER_SIZE:
        raise IpsecDecodeError(
            f"struct xfrm_user_sec_ctx is 8 bytes; only {size} given", base + size
        )
    length, exttype, alg, doi, ctx_len = _SEC_CTX[byteorder].unpack_from(data)
    if length > size:
        raise IpsecDecodeError(f"len {length} runs past the {size} bytes given", base)
    if length != SEC_CTX_HEADER_SIZE + ctx_len:
        raise IpsecDecodeError(
            f"len {length} is not 8 + ctx_len ({SEC_CTX_HEADER_SIZE + ctx_len})", base
        )
    if length < size:
        raise IpsecDecodeError(
            f"{size - length} bytes follow the context (len {length})", base + length
        )
    if ctx_len > MAX_XFRM_CTX_LEN:
        raise IpsecDecodeError(
            f"ctx_len {ctx_len} cannot fit a netlink attribute (at most {MAX_XFRM_CTX_LEN})",
            base + 6,
        )
    ctx: XfrmSecCtx = object.__new__(XfrmSecCtx)
    _set = object.__setattr__
    _set(ctx, "context", data[SEC_CTX_HEADER_SIZE:])
    _set(ctx, "doi", doi)
    _set(ctx, "alg", alg)
    _set(ctx, "exttype", exttype)
    return ctx


# -- XFRM: the netlink attribute -------------------------------------------------------------


def encode_xfrm_attr(ctx: XfrmSecCtx, *, byteorder: ByteOrder = NATIVE) -> bytes:
    """The whole XFRMA_SEC_CTX attribute: ``nlattr`` header, payload, zeros up to 4 bytes."""
    payload = encode_xfrm_sec_ctx(ctx, byteorder=byteorder)
    length = NLA_HEADER_SIZE + len(payload)
    return _NLA[byteorder].pack(length, XfrmAttrType.SEC_CTX) + payload + b"\0" * (-length % 4)


def decode_xfrm_attr(
    data: bytes | bytearray | memoryview, *, byteorder: ByteOrder = NATIVE
) -> XfrmSecCtx:
    """Decode one XFRMA_SEC_CTX attribute, with or without its padding (which must be zero).

    The attribute type must be exactly 8: the flag bits 0x8000 and 0x4000, which the kernel
    masks off, are refused because re-encoding could not restore them
    (:func:`find_xfrm_sec_ctx` masks them as the kernel does). A payload shorter than the
    8-byte struct is refused as the kernel's attribute policy does (ERANGE); then come the
    checks of :func:`decode_xfrm_sec_ctx`.
    """
    return _decode_xfrm_attr(_as_bytes(data), _order(byteorder), 0, whole=True)


# A plain int: the usual attribute is checked with one comparison, not an enum's.
_SEC_CTX_TYPE = int(XfrmAttrType.SEC_CTX)


def _attribute_type_error(nla_type: int, base: int) -> IpsecDecodeError:
    if nla_type & _NLA_TYPE_MASK != _SEC_CTX_TYPE:
        return IpsecDecodeError(f"attribute type {nla_type} is not XFRMA_SEC_CTX (8)", base + 2)
    # The kernel masks NLA_F_NESTED / NLA_F_NET_BYTEORDER off, but the value keeps no place
    # for them: accepting them in a whole attribute would re-encode to different bytes.
    return IpsecDecodeError(
        f"attribute type {nla_type:#06x} sets the flag bits {nla_type & ~_NLA_TYPE_MASK:#06x}"
        " (NLA_F_NESTED, NLA_F_NET_BYTEORDER); an XFRMA_SEC_CTX has none",
        base + 2,
    )


def _decode_xfrm_attr(data: bytes, byteorder: str, base: int, *, whole: bool) -> XfrmSecCtx:
    size = len(data)
    if size < NLA_HEADER_SIZE:
        raise IpsecDecodeError(
            f"a netlink attribute header is 4 bytes; only {size} given", base + size
        )
    nla_len, nla_type = _NLA[byteorder].unpack_from(data)
    if nla_type != _SEC_CTX_TYPE and (whole or nla_type & _NLA_TYPE_MASK != _SEC_CTX_TYPE):
        raise _attribute_type_error(nla_type, base)
    if nla_len < NLA_HEADER_SIZE:
        raise IpsecDecodeError(f"nla_len {nla_len} is shorter than its own header", base)
    if nla_len > size:
        raise IpsecDecodeError(f"nla_len {nla_len} runs past the {size} bytes given", base)
    if whole:
        padded = (nla_len + 3) & ~3
        if size > padded:
            raise IpsecDecodeError(
                f"{size - padded} bytes follow the attribute (nla_len {nla_len})", base + padded
            )
        if nla_len < size < padded:
            raise IpsecDecodeError(
                f"the attribute's padding is cut short: {size - nla_len} of "
                f"{padded - nla_len} bytes",
                base + size,
            )
        for index in range(nla_len, size):
            if data[index]:
                raise IpsecDecodeError("attribute padding is not zero", base + index)
    if nla_len - NLA_HEADER_SIZE < SEC_CTX_HEADER_SIZE:
        raise IpsecDecodeError(
            f"an XFRMA_SEC_CTX payload of {nla_len - NLA_HEADER_SIZE} bytes is shorter than "
            "struct xfrm_user_sec_ctx (8); the kernel answers ERANGE",
            base,
        )
    return _decode_xfrm_sec_ctx(data[NLA_HEADER_SIZE:nla_len], byteorder, base + NLA_HEADER_SIZE)


def find_xfrm_sec_ctx(
    message: bytes | bytearray | memoryview, *, byteorder: ByteOrder = NATIVE
) -> XfrmSecCtx | None:
    """The XFRMA_SEC_CTX of one XFRM netlink message (``nlmsghdr`` first), or None.

    Knows the fixed headers of the message types that carry a context
    (:data:`XFRM_FIXED_HEADER_SIZE`, 64-bit layout); walks the attributes after it.
    """
    data = _as_bytes(message)
    order = _order(byteorder)
    size = len(data)
    if size < 16:
        raise IpsecDecodeError(f"a netlink message header is 16 bytes; only {size} given", size)
    length, msg_type = _NLMSG[order].unpack_from(data)[:2]
    if length < 16 or length > size:
        raise IpsecDecodeError(f"nlmsg_len {length} does not fit the {size} bytes given", 0)
    try:
        fixed = XFRM_FIXED_HEADER_SIZE[XfrmMsgType(msg_type)]
    except ValueError:
        raise IpsecDecodeError(f"message type {msg_type} carries no security context", 4) from None
    position = 16 + fixed
    if position > length:
        raise IpsecDecodeError(
            f"nlmsg_len {length} is shorter than the {fixed}-byte message header", 0
        )
    while position + NLA_HEADER_SIZE <= length:
        nla_len, nla_type = _NLA[order].unpack_from(data, position)
        if nla_len < NLA_HEADER_SIZE or position + nla_len > length:
            raise IpsecDecodeError(f"attribute length {nla_len} does not fit", position)
        if nla_type & _NLA_TYPE_MASK == XfrmAttrType.SEC_CTX:
            return _decode_xfrm_attr(
                data[position : position + nla_len], order, position, whole=False
            )
        position += (nla_len + 3) & ~3
    return None


# -- PF_KEY: struct sadb_x_sec_ctx -----------------------------------------------------------


def encode_sadb_sec_ctx(ctx: SadbSecCtx, *, byteorder: ByteOrder = NATIVE) -> bytes:
    """The whole ``sadb_x_sec_ctx`` extension, zero-padded to a multiple of 8 bytes."""
    context = ctx.context
    units = (SEC_CTX_HEADER_SIZE + len(context) + 7) >> 3
    head = _SEC_CTX[_order(byteorder)].pack(
        units, SadbExtType.X_SEC_CTX, ctx.alg, ctx.doi, len(context)
    )
    return head + context + b"\0" * (units * 8 - SEC_CTX_HEADER_SIZE - len(context))


def decode_sadb_sec_ctx(
    data: bytes | bytearray | memoryview, *, byteorder: ByteOrder = NATIVE
) -> SadbSecCtx:
    """Decode exactly one ``sadb_x_sec_ctx`` extension with its padding.

    The kernel's checks (af_key.c): the extension fits, ``sadb_x_ctx_len`` is at most 4096,
    ``sadb_x_sec_len`` equals ceil((8 + ctx_len) / 8). Non-zero padding, which the kernel
    ignores, is refused here.
    """
    data = _as_bytes(data)
    size = len(data)
    if size < SEC_CTX_HEADER_SIZE:
        raise IpsecDecodeError(f"struct sadb_x_sec_ctx is 8 bytes; only {size} given", size)
    units, exttype, alg, doi, ctx_len = _SEC_CTX[_order(byteorder)].unpack_from(data)
    if exttype != SadbExtType.X_SEC_CTX:
        raise IpsecDecodeError(f"extension type {exttype} is not SADB_X_EXT_SEC_CTX (24)", 2)
    if units * 8 > size:
        raise IpsecDecodeError(
            f"sadb_x_sec_len {units} ({units * 8} bytes) runs past the {size} bytes given", 0
        )
    if ctx_len > MAX_SADB_CTX_LEN:
        raise IpsecDecodeError(
            f"sadb_x_ctx_len {ctx_len} is above the kernel's limit of {MAX_SADB_CTX_LEN}", 6
        )
    expected = (SEC_CTX_HEADER_SIZE + ctx_len + 7) >> 3
    if units != expected:
        raise IpsecDecodeError(
            f"sadb_x_sec_len {units} is not ceil((8 + ctx_len {ctx_len}) / 8) = {expected}", 0
        )
    end = units * 8
    if end < size:
        raise IpsecDecodeError(f"{size - end} bytes follow the extension", end)
    context_end = SEC_CTX_HEADER_SIZE + ctx_len
    padding = data[context_end:]
    if padding.count(0) != len(padding):
        first = next(i for i, byte in enumerate(padding) if byte)
        raise IpsecDecodeError("padding after the context is not zero", context_end + first)
    ctx: SadbSecCtx = object.__new__(SadbSecCtx)
    _set = object.__setattr__
    _set(ctx, "context", data[SEC_CTX_HEADER_SIZE:context_end])
    _set(ctx, "doi", doi)
    _set(ctx, "alg", alg)
    return ctx


# -- IKEv2: traffic selectors and the TS payload ---------------------------------------------


def encode_traffic_selector(selector: TrafficSelector) -> bytes:
    """One traffic selector substructure, type byte first (network byte order)."""
    if isinstance(selector, SecLabelSelector):
        label = selector.label
        return _TS_HEADER.pack(TsType.SECLABEL, selector.reserved, 4 + len(label)) + label
    if isinstance(selector, UnknownSelector):
        data = selector.data
        return _TS_HEADER.pack(selector.ts_type, selector.byte1, 4 + len(data)) + data
    ts_type = selector.ts_type
    return (
        _TS_HEADER.pack(ts_type, selector.ip_protocol, 16 if ts_type == 7 else 40)
        + _PORTS.pack(selector.start_port, selector.end_port)
        + selector.start_address.packed
        + selector.end_address.packed
    )


def decode_traffic_selector(data: bytes | bytearray | memoryview) -> TrafficSelector:
    """Decode exactly one traffic selector substructure."""
    data = _as_bytes(data)
    size = len(data)
    if size < 4:
        raise IpsecDecodeError(f"a traffic selector header is 4 bytes; only {size} given", size)
    length = _TS_HEADER.unpack_from(data)[2]
    if length > size:
        raise IpsecDecodeError(f"Selector Length {length} runs past the {size} bytes given", 2)
    if length < size and length >= 4:
        raise IpsecDecodeError(f"{size - length} bytes follow the selector", length)
    return _decode_selector(data, 0, size, 0)


def _decode_selector(data: bytes, start: int, limit: int, base: int) -> TrafficSelector:
    """The selector at ``start``; it must end by ``limit``. Offsets reported add ``base``."""
    if start + 4 > limit:
        raise IpsecDecodeError(
            "the traffic selector header runs past the end of the payload", base + start
        )
    ts_type, byte1, length = _TS_HEADER.unpack_from(data, start)
    at = base + start
    if length < 4:
        raise IpsecDecodeError(
            f"Selector Length {length} is shorter than the selector header", at + 2
        )
    if start + length > limit:
        raise IpsecDecodeError(f"Selector Length {length} runs past the end of the payload", at + 2)
    if ts_type == TsType.SECLABEL:
        if length == 4:
            raise IpsecDecodeError("a TS_SECLABEL must not be empty (RFC 9478)", at + 2)
        selector: SecLabelSelector = object.__new__(SecLabelSelector)
        object.__setattr__(selector, "label", data[start + 4 : start + length])
        object.__setattr__(selector, "reserved", byte1)
        return selector
    if ts_type in (TsType.IPV4_ADDR_RANGE, TsType.IPV6_ADDR_RANGE):
        width = 4 if ts_type == TsType.IPV4_ADDR_RANGE else 16
        if length != 8 + 2 * width:
            raise IpsecDecodeError(
                f"TS type {ts_type} has Selector Length {8 + 2 * width}, not {length}", at + 2
            )
        start_port, end_port = _PORTS.unpack_from(data, start + 4)
        first = data[start + 8 : start + 8 + width]
        last = data[start + 8 + width : start + 8 + 2 * width]
        make = ipaddress.IPv4Address if width == 4 else ipaddress.IPv6Address
        return AddressRangeSelector(make(first), make(last), byte1, start_port, end_port)
    return UnknownSelector(ts_type, data[start + 4 : start + length], byte1)


def encode_ts_payload(payload: TrafficSelectorPayload) -> bytes:
    """A TSi/TSr payload, generic payload header first."""
    body = b"".join(encode_traffic_selector(selector) for selector in payload.selectors)
    return (
        _GENERIC.pack(
            payload.next_payload,
            (0x80 if payload.critical else 0) | payload.flags,
            8 + len(body),
            len(payload.selectors),
            payload.reserved,
        )
        + body
    )


def decode_ts_payload(data: bytes | bytearray | memoryview) -> TrafficSelectorPayload:
    """Decode exactly one TSi/TSr payload: its Payload Length must cover all of ``data`` and
    its Number of TSs selectors must fill the payload exactly."""
    data = _as_bytes(data)
    size = len(data)
    if size < 8:
        raise IpsecDecodeError(
            f"a TS payload starts with 8 bytes of headers; only {size} given", size
        )
    next_payload, flags, length, count, reserved = _GENERIC.unpack_from(data)
    if length < 8:
        raise IpsecDecodeError(f"Payload Length {length} is shorter than the headers", 2)
    if length > size:
        raise IpsecDecodeError(f"Payload Length {length} runs past the {size} bytes given", 2)
    if length < size:
        raise IpsecDecodeError(f"{size - length} bytes follow the payload", length)
    if count == 0:
        raise IpsecDecodeError("Number of TSs is 0", 4)
    selectors = []
    position = 8
    for _ in range(count):
        selector = _decode_selector(data, position, length, 0)
        position += _TS_HEADER.unpack_from(data, position)[2]
        selectors.append(selector)
    if position != length:
        raise IpsecDecodeError(
            f"{length - position} bytes follow the {count} selectors the payload announces",
            position,
        )
    try:
        return TrafficSelectorPayload(
            tuple(selectors), next_payload, bool(flags & 0x80), flags & 0x7F, reserved
        )
    except IpsecError as error:  # pragma: no cover - every field was range-checked above
        raise IpsecDecodeError(error.reason, error.offset) from None
