"""``labelnet conformance``: the differential fuzzer and the corpus recorder against the live
kernel, an injected validator bug caught and shrunk, and clean-up after Ctrl-C."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import calipso
import cipso
from labelnet.__main__ import main
from labelnet.conformance import fuzz
from labelnet.conformance._generate import CalipsoGenerator, CipsoGenerator
from netlabel.harness import SCRATCH_DOI_BASE, KernelAnswer, list_calipso_dois, list_cipso_dois
from tests.support import need_kernel_harness

ROOT = Path(__file__).resolve().parents[2]


def _namespaces(pid: int) -> list[str]:
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return []
    return [name for name in names if name.startswith(f"labelnet-{pid}-")]


def _scratch_dois(pid: int) -> set[int]:
    """The DOIs a process with this pid would have picked as scratch DOIs."""
    first = SCRATCH_DOI_BASE + (pid % 100_000) * 16
    taken = list_cipso_dois() | list_calipso_dois()
    return {doi for doi in taken if first <= doi < first + 16}


@pytest.fixture
def kernel() -> Iterator[None]:
    need_kernel_harness()
    # Session fixtures of other tests may hold namespaces and DOIs of this process.
    namespaces, dois = set(_namespaces(os.getpid())), _scratch_dois(os.getpid())
    yield
    # Nothing the test created is left behind.
    assert set(_namespaces(os.getpid())) <= namespaces
    assert _scratch_dois(os.getpid()) <= dois


# --- without a kernel ----------------------------------------------------------------------------


def test_generators_are_deterministic_and_fit_the_kernel() -> None:
    dois = [
        cipso.CipsoDoi.from_netlabelctl(text)
        for text in ("pass doi:1 tags:1,2,5", "trans doi:2 tags:1 levels:0=0 categories:0=1")
    ]
    areas = [CipsoGenerator(random.Random(7), dois, 9, [bytes(12)])() for _ in range(2)]
    again = [CipsoGenerator(random.Random(7), dois, 9, [bytes(12)])() for _ in range(2)]
    assert areas == again
    generate = CipsoGenerator(random.Random(8), dois, 9, [bytes.fromhex("860a000000010104000300")])
    origins = set()
    for _ in range(3000):
        origin, area = generate()
        origins.add(origin)
        assert len(area) % 4 == 0 and len(area) <= 40
        cipso.verdict(area, dois)  # never raises
    assert origins == {"label", "option", "mutant", "area", "corpus"}
    headers = CalipsoGenerator(random.Random(9), [2], 9, [bytes(8)])
    origins = set()
    for _ in range(3000):
        origin, header = headers()
        origins.add(origin)
        assert len(header) % 8 == 0 and header[1] == len(header) // 8 - 1
        calipso.verdict(header, [2])
    assert origins == {"label", "option", "near-valid", "header", "corpus"}


def test_source_route_rules() -> None:
    dois = [cipso.CipsoDoi.pass_through(100)]
    assert cipso.verdict(bytes.fromhex("860a000000640104000383030400"), dois).dropped
    assert cipso.verdict(bytes.fromhex("0083030400000000"), dois).accepted  # after EOL
    # An address before the pointer: the answer goes to it.
    assert fuzz.reply_rerouted(bytes.fromhex("01010189086c000000000002"), 11)
    # No address before the pointer (pointer 5), or the failure inside the source route.
    assert not fuzz.reply_rerouted(bytes.fromhex("0101018908050000c7000002"), 11)
    assert not fuzz.reply_rerouted(bytes.fromhex("01010189086c000000000002"), 5)


ACCEPTED = cipso.Verdict(cipso.VerdictKind.ACCEPTED)
REJECTED_20 = cipso.Verdict(cipso.VerdictKind.PARAMETER_PROBLEM, offset=0, pointer=20, code=0)
UNSEEN = cipso.Verdict(cipso.VerdictKind.PARAMETER_PROBLEM)


def test_agreement_compares_kind_pointer_and_code() -> None:
    ours = cipso.verdict(bytes.fromhex("99000000"), [])
    assert ours.reason and ours.option_start is None
    # The kernel shows no reason; kind, pointer and code decide.
    assert fuzz.agree(REJECTED_20, ours)
    assert not fuzz.agree(cipso.Verdict(cipso.VerdictKind.PARAMETER_PROBLEM, pointer=21), ours)
    assert not fuzz.agree(None, ours)  # the harness saw no verdict
    assert not fuzz.agree(ACCEPTED, ours)
    # A Parameter Problem that never came back agrees only when the answer was rerouted, and
    # then the one predicted arriving after all agrees too.
    assert not fuzz.agree(UNSEEN, ours)
    assert fuzz.agree(UNSEEN, ours, rerouted=True)
    assert fuzz.agree(REJECTED_20, ours, rerouted=True)
    assert not fuzz.agree(ACCEPTED, ours, rerouted=True)


def test_shrinking_keeps_the_disagreement() -> None:
    class Fake(fuzz._Target):
        """A 'kernel' that rejects every area holding byte 0x42."""

        dois = ("pass doi:1 tags:1",)

        def kernel(self, data: bytes) -> KernelAnswer[cipso.Verdict]:
            return KernelAnswer(REJECTED_20 if 0x42 in data else ACCEPTED)

        def ours(self, data: bytes) -> cipso.Verdict:
            return ACCEPTED

        def smaller(self, data: bytes) -> Iterator[bytes]:
            yield from fuzz._smaller_area(data)

    area = bytes.fromhex("0101860c00000001010600034284940400000000")
    found = fuzz._shrink(
        Fake(), "cipso", "test", area, theirs=KernelAnswer(REJECTED_20), mine=ACCEPTED
    )
    assert 0x42 in found.minimal and len(found.minimal) == 4
    assert found.original == area and found.shrink_steps > 0
    text = found.report()
    assert found.minimal.hex() in text and "netlabelctl cipso add pass doi:1 tags:1" in text
    assert "kernel:   parameter-problem, pointer 20, code 0\nlabelnet: accepted\n" in text
    assert "IP packet: " + found.packet.hex() in text


def test_bad_bounds_are_set_up_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "cipso", "--count", "-1"]) == 2
    assert main(["conformance", "calipso", "--count", "0"]) == 2
    assert "--seconds" in capsys.readouterr().err


# --- the live kernel ------------------------------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize("protocol", ["cipso", "calipso"])
def test_short_run_agrees(
    kernel: None, protocol: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "run.json"
    status = main(["conformance", protocol, "--count", "300", "--seed", "1", "--json", str(report)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "100.0000%" in out and "--seed 1 --count 300" in out
    result = json.loads(report.read_text())
    assert (result["sent"], result["agreed"], result["disagreements"]) == (300, 300, [])
    assert set(result["origins"]) >= {"label", "corpus"}


def forget(
    monkeypatch: pytest.MonkeyPatch, protocol: Any, forgotten: Callable[[Any], bool]
) -> None:
    """Break ``protocol.verdict`` on purpose: the verdicts ``forgotten`` picks become accepted."""
    real = protocol.verdict

    def wrong(data: bytes, dois: object, **flags: object) -> Any:
        verdict = real(data, dois, **flags)
        if forgotten(verdict):
            return type(verdict)(type(verdict.kind).ACCEPTED, option_start=verdict.option_start)
        return verdict

    monkeypatch.setattr(protocol, "verdict", wrong)


@pytest.mark.kernel
def test_injected_cipso_bug_is_reported(
    kernel: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A validator that forgets the ascending-order rule of tag 2.
    forget(
        monkeypatch,
        cipso,
        lambda verdict: verdict.in_option and "does not ascend" in verdict.reason,
    )
    status = main(["conformance", "cipso", "--count", "400", "--seed", "3", "--max-reports", "2"])
    out = capsys.readouterr().out
    assert status == 1
    assert "disagreement 1 of " in out
    assert "labelnet: accepted" in out and "kernel:   parameter-problem, pointer " in out
    minimal = out.split("shrunk in")[1].splitlines()[1].strip()
    data = bytes.fromhex(minimal)
    # Shrunk to one tag-2 option with two categories out of order, padded.
    assert len(data) <= 16 and data[0] == 0x86 and data[6] == 2
    assert "check:    python3 -c" in out and "IP packet: " in out


@pytest.mark.kernel
def test_injected_calipso_bug_is_reported(
    kernel: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A validator that does not check the checksum.
    forget(monkeypatch, calipso, lambda verdict: verdict.check is calipso.Check.CHECKSUM)
    status = main(["conformance", "calipso", "--count", "400", "--seed", "3", "--max-reports", "1"])
    out = capsys.readouterr().out
    assert status == 1
    assert "kernel:   dropped" in out and "labelnet: accepted" in out
    minimal = bytes.fromhex(out.split("shrunk in")[1].splitlines()[1].strip())
    assert len(minimal) == 16 and minimal[2] == 0x07  # one short option with a bad checksum


@pytest.mark.kernel
def test_recorded_corpus_matches_the_kernel(
    kernel: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conformance", "record", "--check"]) == 0
    out = capsys.readouterr().out
    assert "cipso: " in out and "calipso: " in out and "0 verdicts changed" in out


@pytest.mark.kernel
def test_ctrl_c_cleans_up(kernel: None) -> None:
    command = [sys.executable, "-m", "labelnet", "conformance", "cipso", "--count", "0"]
    proc = subprocess.Popen(
        [*command, "--seconds", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (_namespaces(proc.pid) and _scratch_dois(proc.pid)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never set up"
            time.sleep(0.05)
        time.sleep(0.3)  # well into the run
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "cipso" in out
    assert not _namespaces(proc.pid)
    assert not _scratch_dois(proc.pid)
