"""scapy with calipso.scapy dissecting and building the typical CALIPSO option, next to calipso's
own codec (benchmarks/bench_calipso.py) in the same groups.

Two scapy cases per decode group: the bare option (``CALIPSO(data)``, the same work as
``calipso.decode``) and the whole IPv6 packet carrying it in its hop-by-hop header
(``IPv6(packet)``, what a capture tool does per packet).
"""

from __future__ import annotations

from functools import partial

from _bench import Case
from bench_calipso import LARGEST, TYPICAL

from calipso import CalipsoDoi, CalipsoOption
from mls import Level


def _decode_level(data: bytes) -> Level | None:
    from calipso.scapy import CALIPSO

    level: Level | None = CALIPSO(data).mls_level
    return level


def _build(option: CalipsoOption) -> bytes:
    """Build the scapy option from its fields (a dissected one would return cached bytes)."""
    from calipso.scapy import CALIPSO

    return bytes(CALIPSO(doi=option.doi, level=option.level, bitmap=option.bitmap))


def _build_header(option: CalipsoOption) -> bytes:
    from scapy.layers.inet6 import IPv6ExtHdrHopByHop

    from calipso.scapy import CALIPSO

    layer = CALIPSO(doi=option.doi, level=option.level, bitmap=option.bitmap)
    return bytes(IPv6ExtHdrHopByHop(nh=0, options=[layer]))


def cases() -> list[Case]:
    from scapy.layers.inet6 import (  # ImportError: the runner leaves these cases out
        ICMPv6EchoRequest,
        IPv6,
        IPv6ExtHdrHopByHop,
    )

    import calipso
    from calipso.scapy import CALIPSO

    doi = CalipsoDoi(2)
    found: list[Case] = []
    # The same group names as bench_calipso.py, so that the runner shows them side by side.
    for name, level in ((str(TYPICAL), TYPICAL), ("61 words", LARGEST)):
        option = doi.label_option(level)
        data = calipso.encode(option)
        packet = bytes(
            IPv6(src="2001:db8::1", dst="2001:db8::2")
            / IPv6ExtHdrHopByHop(options=[CALIPSO(data)])
            / ICMPv6EchoRequest()
        )
        found += [
            Case(f"calipso decode {name}", "scapy", partial(CALIPSO, data)),
            Case(f"calipso decode {name}", "scapy IPv6 packet", partial(IPv6, packet)),
            Case(f"calipso encode {name}", "scapy", partial(_build, option)),
        ]
    typical = doi.label_option(TYPICAL)
    typical_bytes = calipso.encode(typical)
    found += [
        Case(
            f"calipso decode + categories {TYPICAL}",
            "scapy",
            partial(_decode_level, typical_bytes),
        ),
        Case(f"calipso hop-by-hop header {TYPICAL}", "scapy", partial(_build_header, typical)),
    ]
    return found
