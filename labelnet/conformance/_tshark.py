"""Wireshark's reading of the corpus's packets: the ``tshark`` fields stored with the vectors.

tshark decodes fields but checks little (docs/kernel.md); the fields are stored so that users
comparing with Wireshark know what it shows for each vector, not as a verdict.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from labelnet.capture import LinkType, write_pcap

__all__ = ["CALIPSO_FIELDS", "CIPSO_FIELDS", "fields", "version"]

CIPSO_FIELDS = (
    "ip.cipso.doi",
    "ip.cipso.tag_type",
    "ip.cipso.sensitivity_level",
    "ip.cipso.categories",
)
CALIPSO_FIELDS = (
    "ipv6.opt.calipso.doi",
    "ipv6.opt.calipso.cmpt.length",
    "ipv6.opt.calipso.sens_level",
    "ipv6.opt.calipso.checksum",
    "ipv6.opt.calipso.cmpt_bitmap",
)
# Several occurrences of a field (one per tag) are joined with this; CIPSO categories already
# use commas.
_AGGREGATOR = ";"


def _program() -> str:
    path = shutil.which("tshark")
    if path is None:
        raise FileNotFoundError("tshark is not on PATH")
    return path


def version() -> str:
    """The first line of ``tshark --version``."""
    out = subprocess.run([_program(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0].strip()


def fields(packets: Sequence[bytes], names: Sequence[str]) -> list[dict[str, str]]:
    """The fields ``names`` tshark shows for each raw IP packet (absent fields left out)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vectors.pcap"
        write_pcap(path, [(float(i), packet) for i, packet in enumerate(packets)], LinkType.RAW)
        argv = [_program(), "-n", "-r", str(path), "-T", "fields", "-E", "separator=|"]
        argv += ["-E", "occurrence=a", "-E", f"aggregator={_AGGREGATOR}"]
        for name in names:
            argv += ["-e", name]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()
    if len(rows) != len(packets):
        raise RuntimeError(f"tshark printed {len(rows)} lines for {len(packets)} packets")
    return [
        {name: value for name, value in zip(names, row.split("|"), strict=True) if value}
        for row in rows
    ]
