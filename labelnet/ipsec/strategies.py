"""Hypothesis strategies for labeled-IPsec security contexts, selectors and payloads.

Requires the ``hypothesis`` extra (``pip install labelnet[hypothesis]``)::

    from hypothesis import given
    from labelnet.ipsec import decode_xfrm_attr, encode_xfrm_attr
    from labelnet.ipsec.strategies import xfrm_sec_ctxs

    @given(xfrm_sec_ctxs())
    def test_round_trip(ctx):
        assert decode_xfrm_attr(encode_xfrm_attr(ctx)) == ctx
"""

from __future__ import annotations

from mls._extras import needs_extra

with needs_extra("hypothesis", by=__name__):
    import hypothesis  # noqa: F401

import ipaddress

from hypothesis import strategies as st

from mls.strategies import contexts

from . import model
from ._codec import (
    encode_sadb_sec_ctx,
    encode_traffic_selector,
    encode_ts_payload,
    encode_xfrm_attr,
)
from .label import label_bytes
from .setkey import SetkeyCtx

__all__ = [
    "address_range_selectors",
    "context_octets",
    "mutants",
    "sadb_sec_ctx_bytes",
    "sadb_sec_ctxs",
    "sec_label_selectors",
    "selector_bytes",
    "setkey_ctxs",
    "traffic_selectors",
    "ts_payload_bytes",
    "ts_payloads",
    "unknown_selectors",
    "xfrm_attr_bytes",
    "xfrm_sec_ctxs",
]


def context_octets(*, min_size: int = 0, max_size: int = 300) -> st.SearchStrategy[bytes]:
    """Context octets as sent: mostly an SELinux context and its NUL, sometimes without the
    NUL, sometimes arbitrary bytes (the kernel's structures carry any octets)."""
    selinux = st.builds(
        label_bytes, contexts(), nul=st.sampled_from([True, True, True, False])
    ).filter(lambda data: min_size <= len(data) <= max_size)
    return st.one_of(selinux, st.binary(min_size=min_size, max_size=max_size))


def _u8() -> st.SearchStrategy[int]:
    # Mostly DOI 1 / ALG 1 (the only pair SELinux accepts), sometimes 0 or anything else.
    return st.one_of(st.just(1), st.just(0), st.integers(0, 255))


def xfrm_sec_ctxs() -> st.SearchStrategy[model.XfrmSecCtx]:
    """``xfrm_user_sec_ctx`` values, any DOI, ALG and exttype now and then."""
    return st.builds(
        model.XfrmSecCtx,
        context_octets(),
        _u8(),
        _u8(),
        st.one_of(st.just(8), st.integers(0, 0xFFFF)),
    )


def sadb_sec_ctxs() -> st.SearchStrategy[model.SadbSecCtx]:
    """``sadb_x_sec_ctx`` values, contexts of every length modulo 8."""
    return st.builds(model.SadbSecCtx, context_octets(), _u8(), _u8())


def sec_label_selectors() -> st.SearchStrategy[model.SecLabelSelector]:
    """TS_SECLABEL selectors (non-empty labels), the reserved byte set now and then."""
    return st.builds(
        model.SecLabelSelector,
        context_octets(min_size=1),
        st.one_of(st.just(0), st.integers(0, 255)),
    )


@st.composite
def address_range_selectors(draw: st.DrawFn) -> model.AddressRangeSelector:
    """TS_IPV4_ADDR_RANGE and TS_IPV6_ADDR_RANGE selectors."""
    if draw(st.booleans()):
        start: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
            draw(st.integers(0, 2**32 - 1))
        )
        end: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
            draw(st.integers(0, 2**32 - 1))
        )
    else:
        start = ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))
        end = ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))
    return model.AddressRangeSelector(
        start,
        end,
        draw(st.sampled_from([0, 1, 6, 17, 58, 255])),
        draw(st.integers(0, 0xFFFF)),
        draw(st.integers(0, 0xFFFF)),
    )


def unknown_selectors() -> st.SearchStrategy[model.UnknownSelector]:
    """Selectors of the other types (Fibre Channel, unassigned, private use)."""
    known = {model.TsType.IPV4_ADDR_RANGE, model.TsType.IPV6_ADDR_RANGE, model.TsType.SECLABEL}
    return st.builds(
        model.UnknownSelector,
        st.integers(0, 255).filter(lambda value: value not in known),
        st.binary(max_size=40),
        st.integers(0, 255),
    )


def traffic_selectors() -> st.SearchStrategy[model.TrafficSelector]:
    """Any traffic selector, labels and address ranges favoured."""
    return st.one_of(address_range_selectors(), sec_label_selectors(), unknown_selectors())


@st.composite
def ts_payloads(draw: st.DrawFn, *, max_selectors: int = 6) -> model.TrafficSelectorPayload:
    """TSi/TSr payloads: address ranges with a label among them (as libreswan sends), or
    any mix of selectors."""
    if draw(st.booleans()):
        ranges = draw(st.lists(address_range_selectors(), min_size=1, max_size=max_selectors - 1))
        at = draw(st.integers(0, len(ranges)))
        selectors: list[model.TrafficSelector] = [
            *ranges[:at],
            draw(sec_label_selectors()),
            *ranges[at:],
        ]
    else:
        selectors = draw(st.lists(traffic_selectors(), min_size=1, max_size=max_selectors))
    return model.TrafficSelectorPayload(
        tuple(selectors),
        draw(st.one_of(st.just(0), st.sampled_from(list(model.PayloadType)), st.integers(0, 255))),
        draw(st.booleans()),
        draw(st.one_of(st.just(0), st.integers(0, 127))),
        draw(st.one_of(st.just(b"\0\0\0"), st.binary(min_size=3, max_size=3))),
    )


def setkey_ctxs() -> st.SearchStrategy[SetkeyCtx]:
    """setkey ``-ctx`` clauses."""
    return st.builds(SetkeyCtx, contexts(), _u8(), _u8())


def xfrm_attr_bytes() -> st.SearchStrategy[bytes]:
    """Well-formed XFRMA_SEC_CTX attributes, padding included (native byte order)."""
    return xfrm_sec_ctxs().map(encode_xfrm_attr)


def sadb_sec_ctx_bytes() -> st.SearchStrategy[bytes]:
    """Well-formed sadb_x_sec_ctx extensions (native byte order)."""
    return sadb_sec_ctxs().map(encode_sadb_sec_ctx)


def ts_payload_bytes() -> st.SearchStrategy[bytes]:
    """Well-formed TSi/TSr payloads."""
    return ts_payloads().map(encode_ts_payload)


def selector_bytes() -> st.SearchStrategy[bytes]:
    """Well-formed traffic selector substructures."""
    return traffic_selectors().map(encode_traffic_selector)


@st.composite
def mutants(draw: st.DrawFn, valid: st.SearchStrategy[bytes] | None = None) -> bytes:
    """Near-valid bytes for fuzzing decoders: a valid encoding drawn from ``valid`` (None:
    :func:`xfrm_attr_bytes`) with one byte changed, a length field nudged, bytes cut off or
    appended."""
    data = bytearray(draw(valid if valid is not None else xfrm_attr_bytes()))
    action = draw(st.sampled_from(["byte", "length", "truncate", "append"]))
    if action == "byte" and data:
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif action == "length" and len(data) >= 8:
        at = draw(st.sampled_from([0, 1, 2, 3, 6, 7]))
        data[at] = (data[at] + draw(st.sampled_from([1, 255, 4, 252, 8]))) & 0xFF
    elif action == "truncate" and data:
        del data[draw(st.integers(0, len(data) - 1)) :]
    else:
        data += draw(st.binary(min_size=1, max_size=9))
    return bytes(data)
