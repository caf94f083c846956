"""``labelnet dump`` on CALIPSO options in IPv6 destination options headers, against the live
kernel and tshark: the very packets the kernel judged are dumped, and the dump's verdict is the
kernel's (the kernel reads CALIPSO only in the hop-by-hop header; in a destination options
header type 0x07 is an unknown option whose action bits 00 say skip it)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import calipso
from labelnet.capture import LinkType, write_pcap
from labelnet.dump import DumpSettings, records
from mls import Level
from netlabel.harness import KernelHarness, calipso_doi, list_calipso_dois
from tests.support import need_kernel_harness, need_program, unused_doi

pytestmark = pytest.mark.kernel

LEVEL = Level.parse("s1:c2,c9")
ICMPV6 = 58


@pytest.fixture(scope="module")
def doi() -> Iterator[calipso.CalipsoDoi]:
    need_kernel_harness()
    with calipso_doi() as configured:
        yield configured


@pytest.fixture(scope="module")
def unknown(doi: calipso.CalipsoDoi) -> int:
    """A CALIPSO DOI the kernel does not have (doi + 1 may be one left configured)."""
    return unused_doi(list_calipso_dois(), doi.doi)


def headers(doi: int, unknown_doi: int) -> dict[str, bytes]:
    """Option headers (next header ICMPv6) the kernel judges differently by where they are."""
    good = calipso.CalipsoDoi(doi).encode_header(LEVEL, next_header=ICMPV6)
    unknown = calipso.CalipsoDoi(unknown_doi).encode_header(LEVEL, next_header=ICMPV6)
    bad = bytearray(good)
    bad[2 + 8] ^= 1  # the checksum's low byte
    # The CALIPSO option, then an unknown option type with action bits 10: a Parameter Problem
    # (code 2) wherever the header is.
    problem = calipso.hopbyhop.build_header(good[2 : 2 + 2 + good[3]], next_header=ICMPV6)
    problem = bytes((ICMPV6, problem[1] + 1)) + problem[2:] + bytes((0x9E, 6)) + bytes(6)
    return {
        "configured": good,
        "unknown-doi": unknown,
        "bad-checksum": bytes(bad),
        "unknown-type": problem,
    }


def dumped(packet: bytes, path: Path, doi: int) -> dict[str, object]:
    write_pcap(path, [(1.0, packet)], LinkType.RAW)
    settings = DumpSettings(dois=(f"calipso pass doi:{doi}",))
    (record,) = records(path, settings=settings)
    option = record.option
    return {
        "kind": None if option.verdict is None else option.verdict.kind,
        "pointer": option.pointer if option.verdict and option.verdict.pointer else None,
        "reason": option.reason,
        "doi": option.doi,
        "label": option.label,
        "start": option.start,
    }


@pytest.mark.parametrize("name", ["configured", "unknown-doi", "bad-checksum", "unknown-type"])
@pytest.mark.parametrize("where", ["hop-by-hop", "destination-options"])
def test_the_dumps_verdict_is_the_kernels(
    kernel_harness: KernelHarness,
    doi: calipso.CalipsoDoi,
    unknown: int,
    tmp_path: Path,
    name: str,
    where: str,
) -> None:
    header = headers(doi.doi, unknown)[name]
    in_destination = where == "destination-options"
    answer = kernel_harness.calipso_verdict(header, destination_options=in_destination)
    assert answer.delivered and answer.verdict is not None, answer
    ours = dumped(answer.packet, tmp_path / "one.pcap", doi.doi)
    assert ours["kind"] is answer.verdict.kind, (name, where, ours, str(answer))
    if answer.verdict.pointer is not None:
        assert ours["pointer"] == answer.verdict.pointer
    assert ours["doi"] == (unknown if name == "unknown-doi" else doi.doi)
    assert ("destination options header" in str(ours["reason"])) is in_destination
    if in_destination and name != "unknown-type":
        # Whatever the option holds, the kernel skips it there.
        assert answer.accepted


def test_tshark_finds_the_same_option_in_the_destination_options_header(
    kernel_harness: KernelHarness, doi: calipso.CalipsoDoi, tmp_path: Path
) -> None:
    tshark = need_program("tshark")
    answer = kernel_harness.calipso_verdict(
        headers(doi.doi, doi.doi + 1)["configured"], destination_options=True
    )
    path = tmp_path / "dst.pcap"
    write_pcap(path, [(1.0, answer.packet)], LinkType.RAW)
    fields = subprocess.run(
        [tshark, "-r", str(path), "-T", "json", "-e", "ipv6.dstopts.nxt", "-e",
         "ipv6.hopopts.nxt", "-e", "ipv6.opt.calipso.doi", "-e", "ipv6.opt.calipso.sens_level"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    layers = json.loads(fields)[0]["_source"]["layers"]
    assert "ipv6.hopopts.nxt" not in layers
    assert layers["ipv6.dstopts.nxt"] == [str(ICMPV6)]
    ours = dumped(answer.packet, tmp_path / "ours.pcap", doi.doi)
    assert layers["ipv6.opt.calipso.doi"] == [str(ours["doi"])]
    assert layers["ipv6.opt.calipso.sens_level"] == [str(LEVEL.sensitivity)]
    assert ours["label"] == str(LEVEL) and ours["start"] == 2
