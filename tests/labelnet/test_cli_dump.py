"""``labelnet dump`` on the command line: options, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labelnet.__main__ import main
from labelnet.capture import write_pcap, write_pcapng
from tests.support import assert_usage_error, usage_error_table

from .packets import calipso_header, cipso_option, ethernet, ipv4, ipv6


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    path = tmp_path / "labels.pcap"
    packets = [
        ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s3:c0,c5")),
        ipv6("2001:db8::1", "2001:db8::2", calipso_header(2, "s1")),
        ipv4("10.0.0.3", "10.0.0.4", cipso_option(7, "s0:c1")),
    ]
    write_pcap(path, [(i, ethernet(p)) for i, p in enumerate(packets)])
    return path


def test_default_text(labels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", str(labels)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert [line.split()[0] for line in out.splitlines()] == ["PACKET", "1", "2", "3"]
    assert out.count("no-doi-config") == 3


def test_doi_definitions_numbers_and_files(
    labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "dump",
                str(labels),
                "--format",
                "jsonl",
                "--doi",
                "cipso pass doi:3 tags:1",
                "--doi",
                "3",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["packet"], r["verdict"]) for r in rows] == [(1, "accepted")]
    config = tmp_path / "dois.conf"
    config.write_text(
        "# the kernel's DOIs\ncipso pass doi:3 tags:1\n\ncalipso add pass doi:2  # v6\n"
    )
    assert main(["dump", str(labels), "--format", "jsonl", "--doi-file", str(config)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["verdict"] for r in rows] == ["accepted", "accepted", "parameter-problem"]
    assert rows[2]["offset"] == 2


def test_filters_and_stats(labels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["dump", str(labels), "--address", "10.0.0.0/30", "--dominates", "s1", "--stats", "-q"]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "labels per address pair (1 packets)"
    assert out[3].split() == ["10.0.0.1", "10.0.0.2", "cipso", "3", "s3:c0,c5", "1"]
    assert (
        main(["dump", str(labels), "--format", "csv", "--equals", "s1", "--dominated-by", "s2"])
        == 0
    )
    assert capsys.readouterr().out.splitlines()[1].startswith("2,1.000000,2001:db8::1,")


def test_progress_goes_to_stderr(labels: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", str(labels), "--progress", "--jobs", "2", "-q"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    # drawn at once (then at most every 0.2 s) and cleared at the end
    assert "[##############################] 100% 3 packets" in err
    assert err.endswith("\r\x1b[K")


@usage_error_table(
    [
        (["--doi", "cipso pass doi:3"], "tags"),
        (["--doi", "ipx pass doi:3"], "cipso or calipso"),
        (["--dominates", "s3:c9.c1"], ""),
        (["--address", "nowhere"], "not an IP address"),
        (["--doi-file", "/nonexistent/dois"], "No such file"),
        (["--jobs", "-1"], "--jobs -1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    labels: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["dump", str(labels), *argv]) == 2
    out, err = capsys.readouterr()
    assert_usage_error(out, err, "labelnet dump", message)


def test_broken_captures_exit_2_after_the_good_packets(
    labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = labels.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-10])
    assert main(["dump", str(cut)]) == 2
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == ["PACKET", "1", "2"]
    assert err.startswith("labelnet dump: error: packet 3 (file byte ")
    assert "truncated" in err and err.count("\n") == 1
    missing = tmp_path / "missing.pcap"
    assert main(["dump", str(missing)]) == 2
    # The file and what is wrong with it, without Python's "[Errno 2]".
    assert capsys.readouterr().err == (
        f"labelnet dump: error: {missing}: No such file or directory\n"
    )
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a capture\n")
    assert main(["dump", str(text)]) == 2
    assert "not a pcap or pcapng file" in capsys.readouterr().err


@pytest.mark.parametrize("output", ["text", "jsonl"])
def test_a_file_that_is_no_capture_leaves_the_output_alone(
    tmp_path: Path, output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Regression: -o was opened (emptied) before the capture was read, so a wrong argument
    # destroyed the file it named; tcpdump and tshark read the capture first.
    kept = tmp_path / "kept.txt"
    kept.write_text("earlier output\n")
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a capture\n")
    assert main(["dump", str(text), "--format", output, "-o", str(kept)]) == 2
    assert "not a pcap or pcapng file" in capsys.readouterr().err
    assert main(["dump", str(tmp_path / "missing.pcap"), "-o", str(kept)]) == 2
    assert main(["dump", str(tmp_path), "-o", str(kept)]) == 2  # a directory
    assert "Is a directory" in capsys.readouterr().err
    assert kept.read_text() == "earlier output\n"
    fresh = tmp_path / "fresh.txt"
    assert main(["dump", str(text), "--format", output, "-o", str(fresh)]) == 2
    assert not fresh.exists()


@pytest.mark.parametrize(
    ("data", "message"), [(b"hello, this is not a capture\n", "not a pcap"), (b"", "too short")]
)
def test_standard_input_that_is_no_capture_leaves_the_output_alone(
    tmp_path: Path, data: bytes, message: str
) -> None:
    # Its first bytes are looked at (not taken) before -o is made.
    kept = tmp_path / "kept.txt"
    kept.write_text("earlier output\n")
    proc = subprocess.run(
        [sys.executable, "-m", "labelnet", "dump", "-", "-o", str(kept)],
        input=data,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 2 and message in proc.stderr.decode()
    assert kept.read_text() == "earlier output\n"


def test_a_pcapng_capture_on_standard_input(tmp_path: Path) -> None:
    capture = tmp_path / "labels.pcapng"
    packets = [ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s3:c0,c5"))]
    write_pcapng(capture, [(0, i, ethernet(p)) for i, p in enumerate(packets)])
    proc = subprocess.run(
        [sys.executable, "-m", "labelnet", "dump", "-", "--format", "jsonl"],
        input=capture.read_bytes(),
        capture_output=True,
        check=True,
    )
    assert [json.loads(line)["label"] for line in proc.stdout.splitlines()] == ["s3:c0,c5"]


def _dump_through_a_named_pipe(
    tmp_path: Path, data: bytes, *args: str
) -> subprocess.CompletedProcess[str]:
    # ``labelnet dump FIFO *args`` while a thread writes ``data`` into the pipe. A process of
    # its own, with a timeout, so that a dump that waits for a writer for good fails the test;
    # the writer is a daemon: if the dump never opens the pipe, it blocks and must not hold
    # pytest.
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,), daemon=True)
    writer.start()
    proc = subprocess.run(
        [sys.executable, "-m", "labelnet", "dump", str(fifo), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    writer.join(timeout=10)
    assert not writer.is_alive()
    return proc


def test_a_capture_through_a_named_pipe_is_read_once(labels: Path, tmp_path: Path) -> None:
    # The check before the dump opens the pipe and hands it over: opened a second time, by
    # the dump, it would wait for a writer for good.
    proc = _dump_through_a_named_pipe(tmp_path, labels.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()] == ["PACKET", "1", "2", "3"]


@pytest.mark.parametrize("capture", [True, False])
def test_a_named_pipe_is_checked_before_the_output_is_made(
    labels: Path, tmp_path: Path, capture: bool
) -> None:
    # Regression: with a pipe given by name, -o was made (emptied) before anything was read,
    # so bytes that are no capture destroyed the file; they are now looked at first, as
    # standard input's are.
    kept = tmp_path / "kept.txt"
    kept.write_text("earlier output\n")
    data = labels.read_bytes() if capture else b"hello, this is not a capture\n"
    proc = _dump_through_a_named_pipe(tmp_path, data, "--format", "jsonl", "-o", str(kept))
    if capture:
        assert proc.returncode == 0, proc.stderr
        assert len(kept.read_text().splitlines()) == 3
    else:
        assert proc.returncode == 2 and "not a pcap or pcapng file" in proc.stderr
        assert kept.read_text() == "earlier output\n"


def test_the_command_runs_as_a_program(labels: Path) -> None:
    # stdin as the capture, through the real entry point; no traceback on a broken pipe.
    proc = subprocess.run(
        [sys.executable, "-m", "labelnet", "dump", "-", "--format", "jsonl"],
        input=labels.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 3
    for args, data in ((["-"], labels.read_bytes()[:-3]), ([str(labels), "--jobs", "-1"], b"")):
        proc = subprocess.run(
            [sys.executable, "-m", "labelnet", "dump", *args],
            input=data,
            capture_output=True,
            check=False,
        )
        assert proc.returncode == 2
        assert b"Traceback" not in proc.stderr and proc.stderr.count(b"\n") == 1


def test_a_dump_loads_only_what_it_uses(tmp_path: Path) -> None:
    # Start-up is part of every dump: the vector corpora, netlabel's DOI grammar (without
    # --doi), multiprocessing (one process) and the conformance command's modules stay out.
    path = tmp_path / "one.pcap"
    write_pcap(path, [(0, ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s3"))))])
    program = (
        "import os, sys\n"
        "from labelnet.__main__ import main\n"
        "sys.stdout = open(os.devnull, 'w')\n"
        f"assert main(['dump', {str(path)!r}]) == 0\n"
        "sys.stderr.write(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = set(done.stderr.split())
    assert "labelnet.dump" in loaded
    unused = {"cipso._vectors", "calipso._vectors", "netlabel.ctl", "multiprocessing", "secrets"}
    assert not loaded & unused


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    path = tmp_path / "many.pcap"
    packet = ethernet(ipv4("10.0.0.1", "10.0.0.2", cipso_option(3, "s3")))
    write_pcap(path, [(i, packet) for i in range(20000)])
    for jobs in ("1", "2"):
        proc = subprocess.run(
            f"{sys.executable} -m labelnet dump {path} --jobs {jobs} | head -n 2",
            shell=True,
            capture_output=True,
            check=False,
        )
        assert len(proc.stdout.splitlines()) == 2
        assert proc.stderr == b""


def test_source_routed_packet_is_a_silent_drop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # CIPSO (11 bytes) then a loose source route without addresses at header byte 31.
    path = tmp_path / "routed.pcap"
    options = cipso_option(3, "s3:c0,c5") + bytes.fromhex("830304")
    write_pcap(path, [(0, ethernet(ipv4("10.0.0.1", "10.0.0.2", options)))])
    doi = ["--doi", "cipso pass doi:3 tags:1"]
    assert main(["dump", str(path), *doi]) == 0
    out = capsys.readouterr().out
    dropped = "dropped at header byte 31: source-routed packet dropped: accept_source_route is 0"
    assert dropped in out
    assert main(["dump", str(path), *doi, "--accept-source-route", "--format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "accepted"
