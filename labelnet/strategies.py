"""Hypothesis strategies across both labeled-networking options: scapy packets labeled with CIPSO
(IPv4) or CALIPSO (IPv6), for code that handles either, such as a capture reader.

Named as every strategies module is (docs/strategies.md). Requires the ``hypothesis`` and
``scapy`` extras::

    from hypothesis import given
    from labelnet.strategies import packets

    @given(packets())
    def test_my_reader(packet):
        my_reader(bytes(packet))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import strategies as st

import calipso.strategies
import cipso.strategies

if TYPE_CHECKING:
    from scapy.packet import Packet

__all__ = ["packets"]


def packets(*, doi: int | st.SearchStrategy[int] | None = None) -> st.SearchStrategy[Packet]:
    """:func:`cipso.strategies.packets` and :func:`calipso.strategies.packets`, either: IPv4
    packets with a CIPSO option among other options, IPv6 packets with a CALIPSO option in a
    kernel-style hop-by-hop header, for ``doi`` (as in their ``options``)."""
    return st.one_of(cipso.strategies.packets(doi=doi), calipso.strategies.packets(doi=doi))
