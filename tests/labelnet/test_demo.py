from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import calipso
import cipso
from labelnet.__main__ import main
from labelnet._cli_demo import CALIPSO_PACKET, CIPSO_PACKET, run_demo
from labelnet.dump import records
from mls import Level
from netlabel import harness


def test_demo_prints_both_labels_and_peer_contexts(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo() == 0
    out = capsys.readouterr().out
    assert "label    s3:c1,c2,c5,c7.c300" in out
    assert "label     s0:c1.c300,c400.c500" in out
    assert "system_u:object_r:netlabel_peer_t:s3:c1,c2,c5,c7.c300" in out
    assert "system_u:object_r:netlabel_peer_t:s0:c1.c300,c400.c500" in out
    assert out.count("accepted") == 2


def test_the_peer_row_lines_up_with_the_decode_rows(capsys: pytest.CaptureFixture[str]) -> None:
    # Regression: "peer" had a column of its own, off by two and three from the rows above.
    run_demo()
    for block in capsys.readouterr().out.split("\n\n")[:2]:
        lines = block.splitlines()
        kernel = next(line for line in lines if line.startswith("kernel "))
        peer = next(line for line in lines if line.startswith("peer "))
        assert len(kernel) - len(kernel[6:].lstrip()) == len(peer) - len(peer[4:].lstrip())


def test_written_sample_capture(tmp_path: Path) -> None:
    path = tmp_path / "trace.pcap"
    assert main(["demo", "--write", str(path)]) == 0
    found = list(records(path))
    assert [r.packet for r in found] == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert {r.option.protocol for r in found} == {"cipso", "calipso"}
    assert str(found[5].option.level) == "s3:c1,c2,c5,c7.c300"  # the kernel's own packet


def test_recorded_options_are_what_our_encoders_write() -> None:
    # The packets were written by the kernel from these very labels; our encoders must agree.
    doi16 = cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1,2,5")
    options_area = CIPSO_PACKET[20:44]
    assert doi16.encode_label(Level.parse("s3:c1,c2,c5,c7.c300"), pad=True) == options_area
    header = CALIPSO_PACKET[40:120]
    built = calipso.CalipsoDoi(2).encode_header(Level.parse("s0:c1.c300,c400.c500"))
    assert built[2:] == header[2:]  # the next-header byte is the packet's own (UDP)


@pytest.mark.kernel
def test_recorded_options_are_accepted_by_the_live_kernel(
    kernel_harness: harness.KernelHarness,
) -> None:
    with harness.cipso_doi(cipso.CipsoDoi.pass_through(1, (1, 2, 5))) as doi:
        area = bytearray(CIPSO_PACKET[20:44])
        area[2:6] = doi.doi.to_bytes(4, "big")  # the same option under a scratch DOI
        assert kernel_harness.cipso_verdict(bytes(area)).accepted
    with harness.calipso_doi() as doi6:
        header = CALIPSO_PACKET[40:120]
        rebuilt = doi6.encode_header(calipso.CalipsoDoi(2).decode_header(header))
        assert kernel_harness.calipso_verdict(rebuilt).accepted


def test_labelnet_demo_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "labelnet", "demo"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "s3:c1,c2,c5,c7.c300" in done.stdout


def test_command_errors_raised_by_subcommands_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: CommandError once lived in labelnet/__main__.py, which under
    # ``python -m labelnet`` is a different module object from the one subcommands import.
    import labelnet._cli_demo as demo
    from labelnet.__main__ import main
    from labelnet.errors import CommandError

    def broken() -> int:
        raise CommandError("no such capture")

    monkeypatch.setattr(demo, "run_demo", broken)
    assert main(["demo"]) == 2
    assert capsys.readouterr().err == "labelnet demo: error: no such capture\n"
