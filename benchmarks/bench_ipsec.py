"""Labeled-IPsec security contexts: the fast codec against the construct schema."""

from __future__ import annotations

import ipaddress

from _bench import OURS, Case

from labelnet.ipsec import (
    AddressRangeSelector,
    SadbSecCtx,
    SecLabelSelector,
    TrafficSelectorPayload,
    XfrmSecCtx,
    decode_sadb_sec_ctx,
    decode_ts_payload,
    decode_xfrm_attr,
    encode_sadb_sec_ctx,
    encode_ts_payload,
    encode_xfrm_attr,
    find_setkey_ctx,
    schema,
)

CONTEXT = "system_u:object_r:unlabeled_t:s3:c1.c5"
SPD = "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023"
SETKEY = f'spdadd 10.0.0.1 10.0.0.2 any -ctx 1 1 "{SPD}" -P out ipsec esp/transport//require;'


def cases() -> list[Case]:
    xfrm = XfrmSecCtx.from_context(CONTEXT)
    attr = encode_xfrm_attr(xfrm)
    sadb = SadbSecCtx.from_context(CONTEXT)
    extension = encode_sadb_sec_ctx(sadb)
    payload = TrafficSelectorPayload(
        (
            AddressRangeSelector(
                ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv4Address("10.0.0.1")
            ),
            SecLabelSelector.from_context(SPD),
            AddressRangeSelector(
                ipaddress.IPv6Address("fd00::1"), ipaddress.IPv6Address("fd00::1")
            ),
        )
    )
    ts = encode_ts_payload(payload)
    return [
        Case("ipsec decode XFRMA_SEC_CTX", OURS, lambda: decode_xfrm_attr(attr)),
        Case("ipsec decode XFRMA_SEC_CTX", "construct", lambda: schema.parse_xfrm_attr(attr)),
        Case("ipsec encode XFRMA_SEC_CTX", OURS, lambda: encode_xfrm_attr(xfrm)),
        Case("ipsec encode XFRMA_SEC_CTX", "construct", lambda: schema.build_xfrm_attr(xfrm)),
        Case("ipsec decode sadb_x_sec_ctx", OURS, lambda: decode_sadb_sec_ctx(extension)),
        Case(
            "ipsec decode sadb_x_sec_ctx",
            "construct",
            lambda: schema.parse_sadb_sec_ctx(extension),
        ),
        Case("ipsec encode sadb_x_sec_ctx", OURS, lambda: encode_sadb_sec_ctx(sadb)),
        Case("ipsec decode TSi with TS_SECLABEL", OURS, lambda: decode_ts_payload(ts)),
        Case("ipsec decode TSi with TS_SECLABEL", "construct", lambda: schema.parse_ts_payload(ts)),
        Case("ipsec encode TSi with TS_SECLABEL", OURS, lambda: encode_ts_payload(payload)),
        Case("ipsec setkey -ctx in a spdadd line", OURS, lambda: find_setkey_ctx(SETKEY)),
        Case("ipsec context octets to mls.Context", OURS, xfrm.to_context),
    ]
