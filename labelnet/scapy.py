"""Scapy layers for both labeled-networking options: ``import labelnet.scapy`` registers CIPSO
(IPv4 option 134, :mod:`cipso.scapy`) and CALIPSO (IPv6 hop-by-hop option 0x07,
:mod:`calipso.scapy`) at once, and gives their classes one home to import from::

    >>> import labelnet.scapy
    >>> from labelnet.scapy import CALIPSO, IPOption_CIPSO
    >>> IPOption_CIPSO.from_label("s3:c0,c5", doi=16).summary()
    'CIPSO doi=16 s3:c0,c5'
    >>> CALIPSO.from_label("s3:c0,c5", doi=2).summary()
    'CALIPSO doi=2 s3:c0,c5'

Both layers show the same things the same way: ``doi``, ``label`` (MLS text), ``mls_level``,
``summary()``, ``truncated`` and ``value`` for bytes that end early, bitmaps in hex.
"""

from __future__ import annotations

from calipso.scapy import CALIPSO
from cipso import scapy as _cipso_scapy
from cipso.scapy import *  # noqa: F403  (the CIPSO layers, as cipso.scapy lists them)

__all__ = ["CALIPSO"]
__all__ += _cipso_scapy.__all__
