"""Labeled IPsec security contexts on the wire, sans-I/O: the XFRM netlink attribute
(XFRMA_SEC_CTX), the PF_KEY extension (sadb_x_sec_ctx), setkey's ``-ctx`` clause and the
IKEv2 security-label traffic selector (TS_SECLABEL, RFC 9478)::

    >>> from labelnet.ipsec import XfrmSecCtx, encode_xfrm_attr
    >>> ctx = XfrmSecCtx.from_context("system_u:object_r:unlabeled_t:s3:c1.c5")
    >>> encode_xfrm_attr(ctx, byteorder="little")[:12].hex(" ")
    '33 00 08 00 2f 00 08 00 01 01 27 00'
"""

from __future__ import annotations

from ._codec import (
    NATIVE,
    XFRM_FIXED_HEADER_SIZE,
    ByteOrder,
    decode_sadb_sec_ctx,
    decode_traffic_selector,
    decode_ts_payload,
    decode_xfrm_attr,
    decode_xfrm_sec_ctx,
    encode_sadb_sec_ctx,
    encode_traffic_selector,
    encode_ts_payload,
    encode_xfrm_attr,
    encode_xfrm_sec_ctx,
    find_xfrm_sec_ctx,
)
from .errors import IpsecDecodeError, IpsecEncodeError, IpsecError, LabelError, SetkeySyntaxError
from .label import label_bytes, label_text, parse_label
from .model import (
    MAX_IKE_LABEL_LENGTH,
    MAX_SADB_CTX_LEN,
    MAX_XFRM_CTX_LEN,
    SELINUX_CTX_LEN_LIMIT,
    AddressRangeSelector,
    Algorithm,
    Doi,
    PayloadType,
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
from .setkey import (
    SetkeyClause,
    SetkeyCtx,
    find_setkey_ctx,
    parse_setkey_ctx,
    with_setkey_ctx,
)

__all__ = [
    "MAX_IKE_LABEL_LENGTH",
    "MAX_SADB_CTX_LEN",
    "MAX_XFRM_CTX_LEN",
    "NATIVE",
    "SELINUX_CTX_LEN_LIMIT",
    "XFRM_FIXED_HEADER_SIZE",
    "AddressRangeSelector",
    "Algorithm",
    "ByteOrder",
    "Doi",
    "IpsecDecodeError",
    "IpsecEncodeError",
    "IpsecError",
    "LabelError",
    "PayloadType",
    "SadbExtType",
    "SadbSecCtx",
    "SecLabelSelector",
    "SetkeyClause",
    "SetkeyCtx",
    "SetkeySyntaxError",
    "TrafficSelector",
    "TrafficSelectorPayload",
    "TsType",
    "UnknownSelector",
    "XfrmAttrType",
    "XfrmMsgType",
    "XfrmSecCtx",
    "decode_sadb_sec_ctx",
    "decode_traffic_selector",
    "decode_ts_payload",
    "decode_xfrm_attr",
    "decode_xfrm_sec_ctx",
    "encode_sadb_sec_ctx",
    "encode_traffic_selector",
    "encode_ts_payload",
    "encode_xfrm_attr",
    "encode_xfrm_sec_ctx",
    "find_setkey_ctx",
    "find_xfrm_sec_ctx",
    "label_bytes",
    "label_text",
    "parse_label",
    "parse_setkey_ctx",
    "with_setkey_ctx",
]
