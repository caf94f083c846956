"""The kernel harness against the worked examples of cipso.md, calipso.md and kernel-testing.md.

The option bytes are written out by hand (with a tiny CRC-16/X-25 helper for CALIPSO), so these
tests check the harness and the kernel facts it relies on, independently of the codecs.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

import calipso
import cipso
from labelnet.conformance._generate import rewrap_header
from netlabel import harness as harness_module
from netlabel.client import NetLabel
from netlabel.harness import (
    A_IPV6,
    B_IPV4,
    DoiInUse,
    KernelAnswer,
    KernelHarness,
    calipso_doi,
    cipso_doi,
    ipv4_echo_request,
    ipv6_echo_request,
    list_calipso_dois,
    list_cipso_dois,
    netlabel_lock,
)
from tests.refs.tshark import dissect
from tests.support import (
    checksum_swapped,
    need_kernel_harness,
    need_program,
    reference_crc16_x25,
    run_python,
    unused_doi,
)

pytestmark = pytest.mark.kernel


# --- hand-made options ------------------------------------------------------------------------


def calipso_option(
    doi: int, level: int = 0, bitmap: bytes = b"", *, words: int | None = None
) -> bytes:
    """A CALIPSO option with a correct checksum (stored low byte first)."""
    n_words = len(bitmap) // 4 if words is None else words
    data = doi.to_bytes(4, "big") + bytes([n_words, level, 0, 0]) + bitmap
    option = bytearray([0x07, len(data)]) + data
    crc = reference_crc16_x25(bytes(option))
    option[8], option[9] = crc & 0xFF, crc >> 8
    return bytes(option)


def cipso_option(doi: int, tags: bytes) -> bytes:
    return bytes([0x86, 6 + len(tags)]) + doi.to_bytes(4, "big") + tags


TAG1_L3_C05 = bytes.fromhex("0105000384")  # cipso.md §8: level 3, categories {0, 5}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harness(kernel_harness: KernelHarness) -> KernelHarness:
    return kernel_harness


@pytest.fixture(scope="module")
def pass_doi() -> Iterator[int]:
    need_kernel_harness()
    with cipso_doi(cipso.CipsoDoi.pass_through(1, (1, 2, 5))) as configured:
        yield configured.doi


@pytest.fixture(scope="module")
def calipso_pass_doi() -> Iterator[int]:
    need_kernel_harness()
    with calipso_doi() as configured:
        yield configured.doi


# --- pure helpers -----------------------------------------------------------------------------


def test_crc16_x25_check_value_and_spec_vectors() -> None:
    assert reference_crc16_x25(b"123456789") == 0x906E
    assert calipso_option(2) == bytes.fromhex("07080000000200 00cfce".replace(" ", ""))
    assert calipso_option(2, 3, bytes.fromhex("84000000")) == bytes.fromhex(
        "070c000000020103980f84000000"
    )


def test_checksum_swap_changes_the_option_whatever_the_doi() -> None:
    # DOI 3244016 at level 0 has the checksum f6 f6: swapping its bytes sent the same, valid
    # option, which the kernel accepted.
    assert calipso_option(3244016).hex().endswith("f6f6")
    good, swapped = checksum_swapped(lambda level: calipso_option(3244016, level))
    assert swapped != good and calipso.decode(good).checksum_ok
    assert not calipso.decode(swapped).checksum_ok


def wrap(option: bytes) -> bytes:
    """The header the harness sends a bare CALIPSO option in."""
    return calipso.build_header(option, next_header=58)


def test_options_area_for_a_bare_option() -> None:
    option = cipso_option(16, TAG1_L3_C05)
    assert option.hex() == "860b000000100105000384"
    assert cipso.build_options(option) == option + b"\x00"
    assert cipso.build_options(option + b"\x00") == option + b"\x00"
    with pytest.raises(ValueError):
        cipso.build_options(bytes(41))


def test_hop_by_hop_header_alignment_and_padding() -> None:
    # No bitmap: 10-byte option at offset 2, then PadN of 4 bytes (calipso.md §4 example).
    assert wrap(calipso_option(2)) == bytes.fromhex("3a01") + calipso_option(2) + bytes(
        [1, 2, 0, 0]
    )
    # One bitmap word: exactly 16 bytes, no padding.
    one = calipso_option(2, 3, bytes(4))
    assert wrap(one) == bytes.fromhex("3a01") + one
    # Two words: 20 bytes + PadN(4).
    two = calipso_option(2, 3, bytes(8))
    assert wrap(two) == bytes.fromhex("3a02") + two + bytes([1, 2, 0, 0])
    # Pad1 when one byte is missing (any option body, as the conformance runs wrap them).
    assert rewrap_header(bytes([0x3E, 3, 0, 0, 0]), 58) == bytes.fromhex("3a00 3e03000000 00")
    for n in range(40):
        header = rewrap_header(bytes([0x3E, n]) + bytes(n), 58)
        assert len(header) % 8 == 0 and header[1] == len(header) // 8 - 1


def test_packet_builders_check_their_input() -> None:
    with pytest.raises(ValueError):
        ipv4_echo_request(b"\x86")
    with pytest.raises(ValueError):
        ipv6_echo_request(bytes(8)[:1] + b"\x01" + bytes(6))
    packet = ipv6_echo_request(bytes([0, 0, 1, 4, 0, 0, 0, 0]), ident=1, seq=2)
    assert packet[40] == 58 and packet[6] == 0


# --- CIPSO ---------------------------------------------------------------------------------


def check_reject(answer: KernelAnswer[cipso.Verdict], pointer: int) -> None:
    verdict = answer.verdict
    assert verdict is not None and verdict.kind is cipso.VerdictKind.PARAMETER_PROBLEM, answer
    assert (answer.icmp_type, verdict.code, verdict.pointer) == (12, 0, pointer), answer
    assert verdict.offset == pointer - 20
    assert answer.hdr_errors == 1 and answer.problems_sent == 1
    assert answer.delivered


def test_cipso_accepted_with_pass_doi(harness: KernelHarness, pass_doi: int) -> None:
    option = cipso_option(pass_doi, TAG1_L3_C05)
    answer = harness.cipso_option_verdict(option)
    assert answer.verdict == cipso.Verdict(cipso.VerdictKind.ACCEPTED, "the echo reply came back")
    assert answer.accepted and answer.delivered and answer.hdr_errors == 0
    assert answer.icmp_type == 0 and answer.verdict.pointer is None
    # kernel-testing.md: the echo reply carries the CIPSO option back, padded with EOL.
    assert answer.reply_options == cipso.build_options(option)
    assert answer.echoed_cipso == option
    # What was sent: IHL 8, the padded option right after the 20-byte header.
    assert answer.packet[0] == 0x48 and answer.packet[20:32] == cipso.build_options(option)


def test_cipso_unknown_doi_rejected_at_doi(harness: KernelHarness, pass_doi: int) -> None:
    doi = unused_doi(list_cipso_dois(), pass_doi)
    option = cipso_option(doi, TAG1_L3_C05)
    answer = harness.cipso_option_verdict(option)
    check_reject(answer, 22)
    assert answer.verdict is not None and answer.verdict.offset == 2
    # Even the Parameter Problem carries the (rejected) option back.
    assert answer.echoed_cipso == option


def test_cipso_short_option_rejected_at_length(harness: KernelHarness, pass_doi: int) -> None:
    option = bytes([0x86, 7]) + pass_doi.to_bytes(4, "big") + b"\x01"
    check_reject(harness.cipso_option_verdict(option), 21)


def test_cipso_tag2_descending_rejected_at_data(harness: KernelHarness, pass_doi: int) -> None:
    ascending = cipso_option(pass_doi, bytes.fromhex("02080003 0004 0005"))
    descending = cipso_option(pass_doi, bytes.fromhex("02080003 0005 0004"))
    assert harness.cipso_option_verdict(ascending).accepted
    check_reject(harness.cipso_option_verdict(descending), 20 + 6 + 4)


def test_cipso_tag128_rejected_over_veth(harness: KernelHarness) -> None:
    with cipso_doi(cipso.CipsoDoi.local(1)) as configured:
        option = cipso_option(configured.doi, bytes.fromhex("800601000000"))
        check_reject(harness.cipso_option_verdict(option), 20 + 6)


def test_cipso_trans_level_not_mapped(harness: KernelHarness) -> None:
    trans = cipso.CipsoDoi.from_netlabelctl("trans doi:1 tags:1 levels:0=0,1=1 categories:0=0,5=5")
    with cipso_doi(trans) as configured:
        doi = configured.doi
        assert harness.cipso_option_verdict(cipso_option(doi, bytes.fromhex("0105000184"))).accepted
        check_reject(
            harness.cipso_option_verdict(cipso_option(doi, bytes.fromhex("0105000284"))), 29
        )
        # Category 1 (0x40) has no mapping.
        check_reject(
            harness.cipso_option_verdict(cipso_option(doi, bytes.fromhex("0105000140"))), 30
        )


def test_cipso_generic_length_check_has_no_options_in_reply(
    harness: KernelHarness, pass_doi: int
) -> None:
    # Length 32 runs past the 12-byte options area: the option walker rejects it at the type
    # byte before CIPSO is looked at, and the Parameter Problem's header has no options.
    options = bytes([0x86, 32]) + pass_doi.to_bytes(4, "big") + TAG1_L3_C05 + b"\x00"
    answer = harness.cipso_verdict(options)
    check_reject(answer, 20)
    assert answer.reply_options == b""


def test_cipso_later_option_rejected_after_cipso(harness: KernelHarness, pass_doi: int) -> None:
    option = cipso_option(pass_doi, TAG1_L3_C05)
    check_reject(harness.cipso_verdict(option + b"\x99"), 20 + len(option))


def test_cipso_no_answer_when_b_ignores_echo(harness: KernelHarness, pass_doi: int) -> None:
    sysctl = ["ip", "netns", "exec", harness.ns_b, "sysctl", "-q", "-w"]
    subprocess.run([*sysctl, "net.ipv4.icmp_echo_ignore_all=1"], check=True)
    try:
        start = time.monotonic()
        answer = harness.cipso_option_verdict(cipso_option(pass_doi, TAG1_L3_C05), timeout=0.05)
        assert time.monotonic() - start < 0.5
    finally:
        subprocess.run([*sysctl, "net.ipv4.icmp_echo_ignore_all=0"], check=True)
    # Silence without a header error: what a silent drop looks like.
    assert answer.verdict == cipso.Verdict(
        cipso.VerdictKind.DROPPED, "no answer and no header error counted"
    )
    assert answer.icmp_type is None
    assert answer.delivered and answer.hdr_errors == 0


def test_cipso_verdict_rate(harness: KernelHarness, pass_doi: int) -> None:
    good = cipso_option(pass_doi, TAG1_L3_C05)
    bad = cipso_option(unused_doi(list_cipso_dois(), pass_doi), TAG1_L3_C05)
    for option, kind in (
        (good, cipso.VerdictKind.ACCEPTED),
        (bad, cipso.VerdictKind.PARAMETER_PROBLEM),
    ):
        start = time.monotonic()
        kinds = {kind_of(harness.cipso_option_verdict(option)) for _ in range(200)}
        rate = 200 / (time.monotonic() - start)
        assert kinds == {kind}
        assert rate > 100, f"{kind}: {rate:.0f} verdicts/s"


def test_cipso_rejects_bad_options_area(harness: KernelHarness) -> None:
    with pytest.raises(ValueError):
        harness.cipso_verdict(bytes(6))
    with pytest.raises(ValueError):
        harness.cipso_verdict(bytes(44))


# --- CALIPSO ---------------------------------------------------------------------------------


def kind_of(answer: KernelAnswer[cipso.Verdict] | KernelAnswer[calipso.Verdict]) -> object:
    return None if answer.verdict is None else answer.verdict.kind


def check_drop(answer: KernelAnswer[calipso.Verdict]) -> None:
    assert kind_of(answer) is calipso.VerdictKind.DROPPED, answer
    assert answer.dropped and answer.hdr_errors == 1 and answer.delivered
    assert answer.problems_sent == 0
    assert answer.icmp_type is None
    assert answer.verdict is not None and answer.verdict.pointer is None


def test_calipso_accepted(harness: KernelHarness, calipso_pass_doi: int) -> None:
    answer = harness.calipso_option_verdict(calipso_option(calipso_pass_doi))
    assert kind_of(answer) is calipso.VerdictKind.ACCEPTED, answer
    assert answer.hdr_errors == 0 and answer.delivered
    # Level and bitmap are not checked on receive.
    bitmap = bytes.fromhex("84000000ffffffff")
    assert harness.calipso_option_verdict(calipso_option(calipso_pass_doi, 255, bitmap)).accepted


def test_calipso_bad_checksum_dropped(harness: KernelHarness, calipso_pass_doi: int) -> None:
    option = bytearray(calipso_option(calipso_pass_doi))
    option[8] ^= 0x01
    check_drop(harness.calipso_option_verdict(bytes(option)))
    # The checksum bytes swapped (big-endian storage) is wrong too.
    _, swapped = checksum_swapped(lambda level: calipso_option(calipso_pass_doi, level))
    check_drop(harness.calipso_option_verdict(swapped))


def test_calipso_unknown_doi_dropped(harness: KernelHarness, calipso_pass_doi: int) -> None:
    doi = unused_doi(list_calipso_dois(), calipso_pass_doi)
    check_drop(harness.calipso_option_verdict(calipso_option(doi)))


def test_calipso_compartment_length_too_long_dropped(
    harness: KernelHarness, calipso_pass_doi: int
) -> None:
    check_drop(
        harness.calipso_option_verdict(calipso_option(calipso_pass_doi, 0, bytes(4), words=2))
    )


def test_calipso_stray_option_gives_parameter_problem(
    harness: KernelHarness, calipso_pass_doi: int
) -> None:
    option = calipso_option(calipso_pass_doi)
    # Unknown type 0xBE has action bits 10: ICMPv6 Parameter Problem code 2 at its type byte,
    # counted from the start of the IPv6 header (40 + 2 + the CALIPSO option).
    answer = harness.calipso_verdict(rewrap_header(option + bytes([0xBE, 0]), 58))
    verdict = answer.verdict
    assert verdict is not None and verdict.kind is calipso.VerdictKind.PARAMETER_PROBLEM, answer
    assert (answer.icmp_type, verdict.code, verdict.pointer) == (4, 2, 40 + 2 + len(option))
    assert verdict.offset == 2 + len(option)
    # Action bits 01: silent drop, counted like a CALIPSO failure.
    check_drop(harness.calipso_verdict(rewrap_header(option + bytes([0x7E, 0]), 58)))


def test_calipso_verdict_rate(harness: KernelHarness, calipso_pass_doi: int) -> None:
    good = calipso_option(calipso_pass_doi)
    bad = calipso_option(unused_doi(list_calipso_dois(), calipso_pass_doi))
    for option, kind in ((good, calipso.VerdictKind.ACCEPTED), (bad, calipso.VerdictKind.DROPPED)):
        start = time.monotonic()
        kinds = {kind_of(harness.calipso_option_verdict(option)) for _ in range(200)}
        rate = 200 / (time.monotonic() - start)
        assert kinds == {kind}
        assert rate > 100, f"{kind}: {rate:.0f} verdicts/s"


# --- NetLabel state and life cycle ----------------------------------------------------------


def netlabel_state() -> tuple[object, object]:
    with NetLabel() as client:
        return client.list_cipso_dois(), client.list_calipso_dois()


def test_doi_state_restored() -> None:
    need_kernel_harness()
    with netlabel_lock():
        before = netlabel_state()
        with (
            cipso_doi(cipso.CipsoDoi.pass_through(1, (1, 2, 5))) as a,
            cipso_doi(cipso.CipsoDoi.local(1)) as b,
            cipso_doi(cipso.CipsoDoi.from_netlabelctl("trans doi:1 tags:1 levels:0=0,3=7")) as c,
            calipso_doi() as d,
        ):
            assert {a.doi, b.doi, c.doi} <= list_cipso_dois() and d.doi in list_calipso_dois()
            # What the kernel holds is the definition, under the scratch number.
            with NetLabel() as client:
                assert client.get_cipso_doi(c.doi) == c
                assert c.levels == ((0, 0), (3, 7))
            assert netlabel_state() != before
        assert netlabel_state() == before


def test_doi_removed_on_exception_and_interrupt() -> None:
    need_kernel_harness()
    for error in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(error), cipso_doi() as doi:
            assert doi.doi in list_cipso_dois()
            raise error
        assert doi.doi not in list_cipso_dois()
        with pytest.raises(error), calipso_doi() as doi6:
            raise error
        assert doi6.doi not in list_calipso_dois()


def test_existing_doi_is_not_touched() -> None:
    need_kernel_harness()
    with cipso_doi() as doi:
        with pytest.raises(DoiInUse), cipso_doi(cipso.CipsoDoi.local(doi.doi), scratch=False):
            pass
        assert doi.doi in list_cipso_dois()
        with NetLabel() as client:
            assert client.get_cipso_doi(doi.doi) == doi  # still PASS, not LOCAL
    with calipso_doi() as doi6:
        with pytest.raises(DoiInUse), calipso_doi(doi6, scratch=False):
            pass
        assert doi6.doi in list_calipso_dois()


def test_doi_added_under_its_own_number_when_asked() -> None:
    need_kernel_harness()
    number = unused_doi(list_cipso_dois() | list_calipso_dois(), 4_000_000)
    with cipso_doi(cipso.CipsoDoi.pass_through(number), scratch=False) as doi:
        assert doi.doi == number and number in list_cipso_dois()
    with calipso_doi(calipso.CalipsoDoi(number), scratch=False) as doi6:
        assert doi6.doi == number and number in list_calipso_dois()
    assert number not in list_cipso_dois() | list_calipso_dois()


def test_the_dois_of_a_killed_process_are_removed_by_the_next_one() -> None:
    # A run killed inside its with blocks (kill -9, a timeout) leaves its DOIs configured;
    # the next process to add a DOI of the same protocol removes them, and nothing else.
    need_kernel_harness()
    child = run_python(
        "-c",
        "import os, signal\n"
        "from netlabel.harness import calipso_doi, cipso_doi\n"
        "with cipso_doi() as a, calipso_doi() as b:\n"
        "    print(a.doi, b.doi, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n",
    )
    assert child.returncode == -9, child.stderr
    left4, left6 = map(int, child.stdout.split())
    owners = harness_module._owners_dir()
    assert left4 in list_cipso_dois() and left6 in list_calipso_dois()
    assert {f"cipso-{left4}", f"calipso-{left6}"} <= set(os.listdir(owners))
    # A DOI configured by anything else carries no note: it stays.
    other = unused_doi(list_cipso_dois(), 4_100_000)
    with NetLabel() as client:
        client.add_cipso_doi(cipso.CipsoDoi.pass_through(other))
    try:
        with cipso_doi() as mine:
            assert left4 not in list_cipso_dois() and left6 in list_calipso_dois()
            assert other in list_cipso_dois() and mine.doi in list_cipso_dois()
        with calipso_doi():
            assert left6 not in list_calipso_dois()
        assert not {f"cipso-{left4}", f"calipso-{left6}"} & set(os.listdir(owners))
        assert other in list_cipso_dois()
    finally:
        with NetLabel() as client:
            client.remove_cipso_doi(other)


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def test_harness_removes_namespaces_on_exit_and_error() -> None:
    need_kernel_harness()
    with KernelHarness() as harness:
        assert {harness.ns_a, harness.ns_b} <= namespaces()
        out = subprocess.run(
            ["ip", "-n", harness.ns_b, "-o", "addr", "show"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert B_IPV4 in out
    assert not {harness.ns_a, harness.ns_b} & namespaces()
    with pytest.raises(KeyboardInterrupt), KernelHarness() as harness:
        raise KeyboardInterrupt
    assert not {harness.ns_a, harness.ns_b} & namespaces()
    # Nothing of the harness appears on the host's own interfaces.
    host = subprocess.run(
        ["ip", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    assert B_IPV4 not in host and A_IPV6 not in host


@pytest.mark.tshark
def test_sent_packets_decode_in_tshark(
    harness: KernelHarness, pass_doi: int, calipso_pass_doi: int
) -> None:
    need_program("tshark")
    v4 = harness.cipso_option_verdict(cipso_option(pass_doi, TAG1_L3_C05))
    v6 = harness.calipso_option_verdict(
        calipso_option(calipso_pass_doi, 3, bytes.fromhex("84000000"))
    )
    assert v4.accepted and v6.accepted
    ipv4, ipv6 = dissect([v4.packet, v6.packet])
    (cipso,) = ipv4.cipso
    assert (cipso.doi, cipso.tag_types, cipso.sensitivity_levels) == (pass_doi, (1,), (3,))
    assert cipso.categories == ("0,5",)
    (calipso,) = ipv6.calipso
    assert (calipso.doi, calipso.cmpt_length, calipso.sens_level) == (calipso_pass_doi, 1, 3)
    assert calipso.bitmap == bytes.fromhex("84000000")
    assert (
        calipso.checksum_bytes
        == calipso_option(calipso_pass_doi, 3, bytes.fromhex("84000000"))[8:10]
    )
