"""scapy with cipso.scapy dissecting and building the typical CIPSO options, next to cipso's
own codec (benchmarks/bench_cipso.py) in the same groups.

Two scapy cases per option: the bare option (``IPOption_CIPSO(data)``, the same work as
``cipso.decode``) and the whole IPv4 packet carrying it (``IP(packet)``, what a capture tool
does per packet).
"""

from __future__ import annotations

from functools import partial

from _bench import Case
from bench_cipso import TAG1_LABEL, TAG1_MCS_LABEL, TAG5_LABEL

from cipso import CipsoOption, RangedTag, RestrictedBitmapTag
from mls import Level


def _group(action: str, tag: int, label: Level) -> str:
    # The same names as bench_cipso.py's groups, so that the runner shows them side by side.
    return f"cipso {action} tag {tag} {label}"


def _decode_level(data: bytes) -> Level:
    from cipso.scapy import IPOption_CIPSO

    level: Level = IPOption_CIPSO(data).tags[0].mls_level
    return level


def cases() -> list[Case]:
    from scapy.layers.inet import ICMP, IP  # ImportError: the runner leaves these cases out

    import cipso
    from cipso.scapy import IPOption_CIPSO

    found: list[Case] = []
    for tag, label in ((1, TAG1_LABEL), (1, TAG1_MCS_LABEL), (5, TAG5_LABEL)):
        data = cipso.CipsoDoi.pass_through(16, (tag,)).encode_label(label)
        packet = bytes(IP(src="192.0.2.1", dst="192.0.2.2", options=IPOption_CIPSO(data)) / ICMP())
        decode_group = _group("decode", tag, label)
        found += [
            Case(decode_group, "scapy", partial(IPOption_CIPSO, data)),
            Case(decode_group, "scapy IP packet", partial(IP, packet)),
            Case(_group("encode", tag, label), "scapy", partial(_build, cipso.decode(data))),
            Case(_group("decode + level", tag, label), "scapy", partial(_decode_level, data)),
        ]
    return found


def _build(option: CipsoOption) -> bytes:
    """Build the scapy option from its fields (a dissected one would return cached bytes)."""
    from cipso.scapy import CIPSOTag, CIPSOTag_Ranged, CIPSOTag_RestrictedBitmap, IPOption_CIPSO

    tag = option.tags[0]
    layer: CIPSOTag
    if isinstance(tag, RangedTag):
        layer = CIPSOTag_Ranged(level=tag.level, bounds=list(tag.bounds))
    else:
        assert isinstance(tag, RestrictedBitmapTag)
        layer = CIPSOTag_RestrictedBitmap(level=tag.level, bitmap=tag.bitmap)
    return bytes(IPOption_CIPSO(doi=option.doi, tags=[layer]))
