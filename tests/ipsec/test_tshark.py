"""Against Wireshark: IKEv2 messages with TSi/TSr payloads we build, decoded by tshark.

tshark 4.0 knows traffic-selector types 7, 8 and 9 but not 10 (kernel-testing.md), so it
checks the framing around a security label: every payload and every selector must start and
end where we put them, and the address selectors after a label must decode to their values.
The packets go to a pcap file (UDP port 500); nothing is sent.
"""

from __future__ import annotations

import ipaddress
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labelnet.ipsec import (
    AddressRangeSelector,
    IpsecDecodeError,
    PayloadType,
    SecLabelSelector,
    TrafficSelectorPayload,
    UnknownSelector,
    decode_ts_payload,
    encode_traffic_selector,
    encode_ts_payload,
)
from tests.refs.tshark import write_pcap
from tests.support import need_program

pytestmark = pytest.mark.tshark

IPV4 = ipaddress.IPv4Address
IPV6 = ipaddress.IPv6Address
IP_OFFSET = 20 + 8  # IPv4 header, UDP header
IKE_HEADER = 28


def _ike_message(payloads: list[TrafficSelectorPayload], first: int) -> bytes:
    body = b"".join(encode_ts_payload(payload) for payload in payloads)
    # SPIs, Next Payload, version 2.0, CREATE_CHILD_SA (36), Initiator flag, Message ID, Length.
    header = bytes(range(1, 17)) + bytes([first, 0x20, 36, 0x08])
    return header + struct.pack(">II", 1, IKE_HEADER + len(body)) + body


def _udp_500(payload: bytes) -> bytes:
    udp = struct.pack(">HHHH", 500, 500, 8 + len(payload), 0) + payload
    src, dst = IPV4("192.0.2.1").packed, IPV4("192.0.2.2").packed
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
    total = sum(struct.unpack(">10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return header[:10] + struct.pack(">H", ~total & 0xFFFF) + header[12:] + udp


def _pdml(packets: list[bytes]) -> list[ET.Element]:
    tshark = need_program("tshark")
    with tempfile.TemporaryDirectory(prefix="labelnet-ike-") as tmp:
        pcap = Path(tmp) / "ike.pcap"
        write_pcap(pcap, packets)
        proc = subprocess.run(
            [tshark, "-n", "-r", str(pcap), "-T", "pdml", "-d", "udp.port==500,isakmp"],
            capture_output=True,
            text=True,
            check=True,
        )
    return ET.fromstring(proc.stdout).findall("packet")


def _fields(node: ET.Element, name: str) -> list[ET.Element]:
    return [field for field in node.iter("field") if field.get("name") == name]


def _span(field: ET.Element) -> tuple[int, int]:
    return int(field.get("pos", "-1")), int(field.get("size", "-1"))


TSI = TrafficSelectorPayload(
    (
        AddressRangeSelector(IPV4("10.0.0.1"), IPV4("10.0.0.1")),
        SecLabelSelector.from_context("system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023"),
        AddressRangeSelector(IPV6("fd00::1"), IPV6("fd00::ff"), 6, 1024, 65535),
    ),
    next_payload=PayloadType.TSR,
)
TSR = TrafficSelectorPayload(
    (
        SecLabelSelector.from_context("u:r:t:s0"),  # 13 bytes: leaves the next one unaligned
        AddressRangeSelector(IPV4("10.0.0.2"), IPV4("10.0.0.9"), 17, 500, 500),
        SecLabelSelector(b"opaque label without NUL", reserved=0),
        AddressRangeSelector(IPV6("::"), IPV6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
    ),
    next_payload=PayloadType.NONE,
)
ONLY_LABEL = TrafficSelectorPayload(
    (SecLabelSelector.from_context("system_u:object_r:unlabeled_t:s3:c1.c5"),)
)
WITH_FC = TrafficSelectorPayload(
    (
        # TS_FC_ADDR_RANGE (RFC 4595): addresses 000001-ffffff, R_CTL 00-ff, type 00-ff.
        UnknownSelector(9, bytes.fromhex("00000001 00ffffff 00ff00ff")),
        SecLabelSelector.from_context("u:r:t:s0"),
    )
)

MESSAGES = [
    ("TSi and TSr around labels", [TSI, TSR], PayloadType.TSI),
    ("a label alone", [ONLY_LABEL], PayloadType.TSR),
    ("Fibre Channel and a label", [WITH_FC], PayloadType.TSI),
]


def test_tshark_frames_payloads_and_selectors_where_we_put_them() -> None:
    packets = [_udp_500(_ike_message(payloads, first)) for _, payloads, first in MESSAGES]
    dissected = _pdml(packets)
    assert len(dissected) == len(MESSAGES)
    for (name, payloads, first), packet in zip(MESSAGES, dissected, strict=True):
        assert not _fields(packet, "_ws.malformed"), name
        assert not _fields(packet, "isakmp.payloadlength.invalid"), name
        (length,) = _fields(packet, "isakmp.length")
        assert int(length.get("show", "")) == IKE_HEADER + sum(p.length for p in payloads)
        found = _fields(packet, "isakmp.typepayload")
        assert [int(f.get("show", "")) for f in found] == [
            first,
            *[p.next_payload for p in payloads[:-1]],
        ], name
        position = IP_OFFSET + IKE_HEADER
        for payload, field in zip(payloads, found, strict=True):
            assert _span(field) == (position, payload.length), name
            (count,) = _fields(field, "isakmp.ts.number")
            assert int(count.get("show", "")) == len(payload.selectors)
            selectors = _fields(field, "isakmp.ts.data")
            assert len(selectors) == len(payload.selectors), name
            at = position + 8
            for selector, item in zip(payload.selectors, selectors, strict=True):
                size = len(encode_traffic_selector(selector))
                assert _span(item) == (at, size), (name, selector)
                (ts_type,) = _fields(item, "isakmp.ts.type")
                assert int(ts_type.get("show", "")) == selector.ts_type
                if isinstance(selector, AddressRangeSelector):
                    _check_address_range(item, selector)
                at += size
            position += payload.length


def _check_address_range(item: ET.Element, selector: AddressRangeSelector) -> None:
    family = "ipv4" if isinstance(selector.start_address, IPV4) else "ipv6"
    shown = {
        name: _fields(item, f"isakmp.ts.{name}")[0].get("show")
        for name in ("protoid", "start_port", "end_port", f"start_{family}", f"end_{family}")
    }
    assert shown == {
        "protoid": str(selector.ip_protocol),
        "start_port": str(selector.start_port),
        "end_port": str(selector.end_port),
        f"start_{family}": str(selector.start_address),
        f"end_{family}": str(selector.end_address),
    }


def test_a_label_overrunning_its_payload_is_refused_here_and_clipped_by_tshark() -> None:
    data = bytearray(encode_ts_payload(ONLY_LABEL))
    claimed = len(data) - 8 + 5  # Selector Length 5 bytes beyond the payload's end
    data[10:12] = claimed.to_bytes(2, "big")
    with pytest.raises(IpsecDecodeError) as caught:
        decode_ts_payload(bytes(data))
    assert caught.value.offset == 10
    header = bytes(range(1, 17)) + bytes([PayloadType.TSI, 0x20, 36, 0x08])
    message = header + struct.pack(">II", 1, IKE_HEADER + len(data)) + bytes(data)
    (packet,) = _pdml([_udp_500(message)])
    # tshark 4.0 does not know type 10: it clips the selector to the end of the payload and
    # reports nothing, so it cannot tell a broken label length from a good one.
    (item,) = _fields(packet, "isakmp.ts.data")
    assert _span(item) == (IP_OFFSET + IKE_HEADER + 8, len(data) - 8)
    assert len(data) - 8 < claimed
    assert not _fields(packet, "_ws.malformed")
    assert not _fields(packet, "_ws.expert")
