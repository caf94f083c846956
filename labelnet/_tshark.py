"""The tshark command that prints, per packet, the fields ``labelnet dump`` reports: the
Wireshark reading the dump's tests compare with and its benchmark races against."""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["LABEL_FIELDS", "fields_command"]

#: The frame number, the addresses and the CIPSO and CALIPSO fields (tshark 4.0's names).
LABEL_FIELDS = (
    "frame.number",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "ip.cipso.doi",
    "ip.cipso.tag_type",
    "ip.cipso.sensitivity_level",
    "ip.cipso.categories",
    "ipv6.opt.calipso.doi",
    "ipv6.opt.calipso.sens_level",
    "ipv6.opt.calipso.cmpt_bitmap",
)


def fields_command(
    tshark: str,
    capture: str | os.PathLike[str],
    fields: Sequence[str] = LABEL_FIELDS,
    options: Sequence[str] = (),
) -> list[str]:
    """``tshark -n -r CAPTURE -T fields OPTIONS -e FIELD ...``: one line per packet with the
    values of ``fields``; ``options`` are more output options such as ``-E separator=|``."""
    selected = [arg for name in fields for arg in ("-e", name)]
    return [tshark, "-n", "-r", os.fspath(capture), "-T", "fields", *options, *selected]
