"""The host's source-route policy on receive: ip_rcv_options drops a packet whose options pass
but hold a loose (131) or strict (137) source route while accept_source_route is 0, silently
(no ICMP error, no counter)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import cipso
from cipso.__main__ import main
from netlabel.harness import KernelHarness, cipso_doi

DOIS = [cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1")]
#: pass doi:16, tag 1, level 3, no categories (10 bytes).
LABEL = bytes.fromhex("860a00000010 01040003")
#: A source route without addresses: pointer 4 past its 3 bytes, so the route is used up.
LSRR = bytes.fromhex("830304")
SSRR = bytes.fromhex("890304")
DROPPED = "source-routed packet dropped: accept_source_route is 0"


def _area(*options: bytes) -> bytes:
    data = b"".join(options)
    return data + bytes(-len(data) % 4)


@pytest.mark.parametrize("route", [LSRR, SSRR], ids=["lsrr", "ssrr"])
def test_route_after_cipso_is_dropped_silently(route: bytes) -> None:
    verdict = cipso.verdict(_area(LABEL, route), DOIS)
    assert verdict == cipso.Verdict(
        cipso.VerdictKind.DROPPED, reason=DROPPED, offset=10, option_start=0
    )
    accepted = cipso.verdict(_area(LABEL, route), DOIS, accept_source_route=True)
    assert accepted == cipso.Verdict(cipso.VerdictKind.ACCEPTED, option_start=0)


@pytest.mark.parametrize("route", [LSRR, SSRR], ids=["lsrr", "ssrr"])
def test_route_before_cipso_is_dropped_silently(route: bytes) -> None:
    area = _area(b"\x01", route, LABEL)
    verdict = cipso.verdict(area, DOIS)
    assert (verdict.accepted, verdict.dropped, verdict.offset) == (False, True, 1)
    assert verdict.pointer is None
    assert verdict.option_start == 4 and not verdict.in_option
    assert cipso.verdict(area, DOIS, accept_source_route=True).accepted


def test_route_with_addresses_and_alone() -> None:
    route = bytes.fromhex("8307 08 0a000001")  # one address, already passed
    assert cipso.verdict(_area(route), DOIS).dropped
    assert cipso.verdict(_area(route), DOIS, accept_source_route=True).accepted
    # After EOL there is no option at all.
    assert cipso.verdict(_area(b"\x00", LSRR), DOIS).accepted


def test_a_rejection_wins_over_the_drop() -> None:
    """ip_options_compile judges the whole area first: a bad CIPSO option after a source
    route, or a malformed source route, gets a Parameter Problem whatever the policy."""
    unknown_doi = bytes.fromhex("860a00000011 01040003")
    for policy in (False, True):
        verdict = cipso.verdict(_area(LSRR, unknown_doi), DOIS, accept_source_route=policy)
        assert (verdict.accepted, verdict.dropped, verdict.pointer) == (False, False, 25)
        assert verdict.in_option and verdict.reason == "DOI 17 is not configured"
        short = cipso.verdict(_area(LABEL, b"\x83\x02"), DOIS, accept_source_route=policy)
        assert (short.dropped, short.pointer) == (False, 31)
        assert short.reason == "source route option shorter than 3"
        low = cipso.verdict(_area(LABEL, b"\x89\x03\x03"), DOIS, accept_source_route=policy)
        assert (low.dropped, low.pointer, low.reason) == (False, 32, "source route pointer below 4")
        twice = cipso.verdict(_area(LSRR, SSRR), DOIS, accept_source_route=policy)
        assert (twice.dropped, twice.pointer) == (False, 23)


def test_raise_for_verdict_sends_no_icmp() -> None:
    verdict = cipso.verdict(_area(LABEL, LSRR), DOIS)
    with pytest.raises(cipso.CipsoDroppedError) as caught:
        verdict.raise_for_verdict()
    error = caught.value
    assert isinstance(error, cipso.CipsoWireError)
    assert not isinstance(error, cipso.CipsoValidationError)
    assert not hasattr(error, "icmp_type") and not hasattr(error, "pointer")
    assert (error.offset, error.option_start, error.reason) == (0, 30, DROPPED)
    cipso.verdict(_area(LABEL, LSRR), DOIS, accept_source_route=True).raise_for_verdict()


def test_decode_command(capsys: pytest.CaptureFixture[str]) -> None:
    area = _area(LABEL, LSRR).hex()
    assert main(["decode", area, "--doi", "16"]) == 1
    out = capsys.readouterr().out
    assert (
        "kernel   dropped silently (no ICMP error), source route at header byte 30: " + DROPPED
    ) in out
    assert main(["decode", area, "--doi", "16", "--accept-source-route"]) == 0
    out = capsys.readouterr().out
    assert "kernel   accepted" in out and "host     s3" in out


# --- the live kernel ----------------------------------------------------------------------------


def _sysctl(namespace: str, *settings: str) -> list[str]:
    """Set ``key=value`` settings in a namespace; return the previous ones."""
    keys = [setting.split("=", 1)[0] for setting in settings]
    read = ["ip", "netns", "exec", namespace, "sysctl", "-n", *keys]
    before = subprocess.run(read, check=True, capture_output=True, text=True).stdout.split()
    write = ["ip", "netns", "exec", namespace, "sysctl", "-q", "-w", *settings]
    subprocess.run(write, check=True, capture_output=True)
    return [f"{key}={value}" for key, value in zip(keys, before, strict=True)]


@contextmanager
def _accept_source_route(harness: KernelHarness) -> Iterator[None]:
    keys = (
        "net.ipv4.conf.all.accept_source_route",
        f"net.ipv4.conf.{harness.veth_b}.accept_source_route",
    )
    previous = _sysctl(harness.ns_b, *(f"{key}=1" for key in keys))
    try:
        yield
    finally:
        _sysctl(harness.ns_b, *previous)


@pytest.mark.kernel
def test_kernel_drops_a_source_routed_packet_silently(kernel_harness: KernelHarness) -> None:
    with cipso_doi() as doi:
        number = doi.doi
        label = bytes.fromhex("860a") + number.to_bytes(4, "big") + bytes.fromhex("01040003")
        area = _area(label, LSRR)
        dois = [doi]
        dropped = kernel_harness.cipso_verdict(area)
        assert dropped.delivered and dropped.icmp_type is None
        assert (dropped.dropped, dropped.hdr_errors) == (True, 0)
        assert cipso.verdict(area, dois).dropped
        with _accept_source_route(kernel_harness):
            accepted = kernel_harness.cipso_verdict(area)
        assert accepted.delivered and accepted.accepted
        assert cipso.verdict(area, dois, accept_source_route=True).accepted
        # The setting is back: dropped again.
        assert kernel_harness.cipso_verdict(area).dropped
