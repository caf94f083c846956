"""Against iproute2 and the live kernel: what ``ip xfrm`` sends for ``ctx``, byte for byte
against our XFRMA_SEC_CTX, and which attributes the kernel accepts.

Everything happens inside the network namespaces of :class:`netlabel.harness.KernelHarness`
(created with ``ip netns add`` and deleted afterwards), so the host's IPsec state is never
touched. iproute2's requests are read with ``strace -xx -e trace=sendmsg``.

This machine's kernel (kernel-testing.md) has no active LSM and no ESP/AH: it checks the
attribute's lengths, keeps no context, and refuses every SA after the context checks.
"""

from __future__ import annotations

import errno
import json
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labelnet.ipsec import (
    XFRM_FIXED_HEADER_SIZE,
    IpsecDecodeError,
    XfrmMsgType,
    XfrmSecCtx,
    decode_xfrm_attr,
    encode_xfrm_attr,
    find_xfrm_sec_ctx,
)
from netlabel.harness import KernelHarness
from tests.support import need, need_program

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]

CONTEXTS = [
    "system_u:object_r:unlabeled_t:s3:c1.c5",
    "system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023",
    "system_u:object_r:ipsec_spd_t:s0",
    "user_u:user_r:user_t:s3:c1.c5",
    "u:r:t",
    "u:r:t:s0:c2,c1",  # not canonical: iproute2 sends the text as given, and so do we
    "system_u:system_r:svirt_t:s0:c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17",
]

SELECTOR = ["src", "10.1.0.1/32", "dst", "10.1.0.2/32", "dir", "out"]
_REQUEST = re.compile(r'nlmsg_len=(\d+), nlmsg_type=(0x[0-9a-f]+)[^}]*\}, "((?:\\x[0-9a-f]{2})*)"')


@pytest.fixture(scope="module")
def namespace(kernel_harness: KernelHarness) -> str:
    """Namespace A of the session's harness: xfrm state there touches nothing the harness
    uses (it sends on a veth pair without IPsec)."""
    # The corpus and the messages below are written in the host order of x86 and arm64.
    need(sys.byteorder == "little", "a little-endian host")
    return kernel_harness.ns_a


@pytest.fixture(scope="module")
def strace() -> str:
    return need_program("strace")


def _ip(namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "-n", namespace, *args], capture_output=True, text=True, check=False
    )


def _traced(strace: str, namespace: str, *args: str) -> tuple[int, list[tuple[int, bytes]]]:
    """Run ``ip -n NS ARGS`` under strace; its exit status and netlink requests (type, bytes
    after the 16-byte nlmsghdr)."""
    argv = [strace, "-f", "-xx", "-s", "65536", "-e", "trace=sendmsg", "ip", "-n", namespace]
    proc = subprocess.run([*argv, *args], capture_output=True, text=True, check=False)
    requests = []
    for length, msg_type, escaped in _REQUEST.findall(proc.stderr):
        payload = bytes.fromhex(escaped.replace("\\x", ""))
        assert int(length) == 16 + len(payload), "strace cut the message short"
        requests.append((int(msg_type, 16), payload))
    return proc.returncode, requests


def _message(msg_type: int, payload: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(payload), msg_type, 0, 0, 0) + payload


def _check_request(request: tuple[int, bytes], msg_type: XfrmMsgType, context: str) -> None:
    """The request carries exactly our XFRMA_SEC_CTX attribute, at an attribute boundary."""
    got_type, payload = request
    assert got_type == msg_type
    ours = XfrmSecCtx.from_context(context)
    assert find_xfrm_sec_ctx(_message(got_type, payload)) == ours
    attr = encode_xfrm_attr(ours)
    at = payload.find(attr)
    fixed = XFRM_FIXED_HEADER_SIZE[msg_type]
    assert at >= fixed and (at - fixed) % 4 == 0, payload.hex()
    # ctx_len counts the NUL: iproute2 sends strlen + 1.
    assert payload[at + 10 : at + 12] == struct.pack("=H", len(context) + 1)


@pytest.mark.parametrize("context", CONTEXTS)
def test_ip_xfrm_policy_commands_send_our_attribute(
    namespace: str, strace: str, context: str
) -> None:
    status, requests = _traced(
        strace, namespace, "xfrm", "policy", "add", *SELECTOR, "ctx", context
    )
    assert status == 0 and len(requests) == 1
    _check_request(requests[0], XfrmMsgType.NEWPOLICY, context)
    try:
        listing = _ip(namespace, "xfrm", "policy", "list").stdout
        assert "src 10.1.0.1/32 dst 10.1.0.2/32" in listing
        if "security context" in listing:  # an active LSM keeps and reports the context
            assert f"security context {context}" in listing
        else:
            # No LSM: the kernel accepted the context and kept none (kernel-testing.md).
            assert context not in listing
        for command, msg_type in (
            ("get", XfrmMsgType.GETPOLICY),
            ("update", XfrmMsgType.UPDPOLICY),
        ):
            status, requests = _traced(
                strace, namespace, "xfrm", "policy", command, *SELECTOR, "ctx", context
            )
            assert status == 0 and len(requests) == 1
            _check_request(requests[0], msg_type, context)
    finally:
        status, requests = _traced(
            strace, namespace, "xfrm", "policy", "delete", *SELECTOR, "ctx", context
        )
    assert status == 0 and len(requests) == 1
    _check_request(requests[0], XfrmMsgType.DELPOLICY, context)
    assert "10.1.0.1/32" not in _ip(namespace, "xfrm", "policy", "list").stdout


def test_ip_xfrm_state_add_sends_our_attribute(namespace: str, strace: str) -> None:
    context = CONTEXTS[0]
    status, requests = _traced(strace, namespace, *_STATE_ADD, "ctx", context)
    assert len(requests) == 1
    _check_request(requests[0], XfrmMsgType.NEWSA, context)
    if status != 0:  # no ESP in this kernel: the SA is refused after the context checks
        assert "not found" in _ip(namespace, *_STATE_ADD, "ctx", context).stderr


_STATE_ADD = (
    "xfrm", "state", "add", "src", "10.1.0.1", "dst", "10.1.0.2", "proto", "esp",
    "spi", "0x201", "mode", "transport", "enc", "cbc(aes)", "0x" + "00" * 16,
)  # fmt: skip


# -- the kernel's verdict on attributes we build and on malformed ones -----------------------


def _sender(namespace: str, *args: str, requests: str | None = None) -> Any:
    """Run ``tests.ipsec._xfrm_sender ARGS`` inside ``namespace``; the JSON it prints."""
    proc = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-m", "tests.ipsec._xfrm_sender", *args],
        input=requests,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(proc.stdout)


def _verdicts(namespace: str, requests: list[tuple[int, bytes]]) -> list[int]:
    sent = json.dumps([[msg_type, payload.hex()] for msg_type, payload in requests])
    answers: list[int] = _sender(namespace, requests=sent)
    return answers


_ERRNO = {"accepted": 0, "EINVAL": errno.EINVAL, "ERANGE": errno.ERANGE}
_VECTORS = json.loads((Path(__file__).with_name("vectors.json")).read_text())["xfrm_attr"]
# (name, attribute bytes, the kernel's errno, whether we decode it); the corpus plus one
# context too long for a file of examples (SELinux would refuse it with ENOMEM, no LSM does not).
VERDICT_CASES = [
    (v["name"], bytes.fromhex(v["hex"]), _ERRNO[v["kernel"]], "decoded" in v) for v in _VECTORS
] + [("built: 5000 bytes", encode_xfrm_attr(XfrmSecCtx(b"x" * 5000)), 0, True)]


@pytest.fixture(scope="module")
def policy_body(namespace: str, strace: str) -> bytes:
    """iproute2's struct xfrm_userpolicy_info for SELECTOR (the attributes cut off)."""
    status, requests = _traced(strace, namespace, "xfrm", "policy", "get", *SELECTOR)
    assert requests and requests[0][0] == XfrmMsgType.GETPOLICY
    status, requests = _traced(
        strace, namespace, "xfrm", "policy", "update", *SELECTOR, "ctx", "u:r:t"
    )
    _ip(namespace, "xfrm", "policy", "flush")
    assert status == 0 and requests[0][0] == XfrmMsgType.UPDPOLICY
    return requests[0][1][: XFRM_FIXED_HEADER_SIZE[XfrmMsgType.UPDPOLICY]]


@pytest.mark.parametrize(
    ("name", "attr", "kernel_errno", "we_decode"), VERDICT_CASES, ids=[c[0] for c in VERDICT_CASES]
)
def test_kernel_verdict_on_policy_attribute(
    namespace: str, policy_body: bytes, name: str, attr: bytes, kernel_errno: int, we_decode: bool
) -> None:
    (answer,) = _verdicts(namespace, [(XfrmMsgType.UPDPOLICY, policy_body + attr)])
    _ip(namespace, "xfrm", "policy", "flush")
    assert answer == kernel_errno, f"{name}: kernel answered {errno.errorcode.get(answer, answer)}"
    try:
        decoded = decode_xfrm_attr(attr)
    except IpsecDecodeError:
        assert not we_decode
    else:
        assert we_decode and encode_xfrm_attr(decoded) == attr


def test_kernel_checks_sa_contexts_the_same_way(namespace: str, strace: str) -> None:
    _, requests = _traced(strace, namespace, *_STATE_ADD, "ctx", CONTEXTS[0])
    msg_type, payload = requests[0]
    attr = encode_xfrm_attr(XfrmSecCtx.from_context(CONTEXTS[0]))
    body = payload[: payload.find(attr)]  # xfrm_usersa_info and the algorithm attribute
    cases = [case for case in VERDICT_CASES if not case[0].startswith("built:")]
    answers = _verdicts(
        namespace, [(msg_type, body + attr)] + [(msg_type, body + case[1]) for case in cases]
    )
    _ip(namespace, "xfrm", "state", "flush")
    # Our attribute passes the context checks (the SA may still be refused: no ESP here).
    assert answers[0] not in (errno.EINVAL, errno.ERANGE)
    for (name, _, kernel_errno, _), answer in zip(cases, answers[1:], strict=True):
        expected = answers[0] if kernel_errno == 0 else kernel_errno
        assert answer == expected, name


def test_kernel_dump_reports_policies_as_stored(namespace: str) -> None:
    context = CONTEXTS[1]
    assert _ip(namespace, "xfrm", "policy", "add", *SELECTOR, "ctx", context).returncode == 0
    try:
        dumped: list[str] = _sender(namespace, "--dump", str(int(XfrmMsgType.GETPOLICY)))
        listing = _ip(namespace, "xfrm", "policy", "list").stdout
    finally:
        _ip(namespace, "xfrm", "policy", "flush")
    messages = [bytes.fromhex(text) for text in dumped]
    assert len(messages) == 1
    # The kernel answers a dump with NEWPOLICY messages: xfrm_userpolicy_info, attributes.
    assert struct.unpack_from("=H", messages[0], 4)[0] == XfrmMsgType.NEWPOLICY
    reported = find_xfrm_sec_ctx(messages[0])
    if "security context" in listing:
        # An active LSM reports the context it stored, ctx_len counting the NUL.
        assert reported == XfrmSecCtx.from_context(context)
    else:
        # No LSM: the policy was stored without a context and is reported without one.
        assert reported is None


def test_kernel_acquire_for_a_labeled_policy(namespace: str) -> None:
    from netlabel.harness import A_IPV4, B_IPV4

    flow = ["src", f"{A_IPV4}/32", "dst", f"{B_IPV4}/32", "dir", "out"]
    added = _ip(
        namespace, "xfrm", "policy", "add", *flow, "ctx", CONTEXTS[1],
        "tmpl", "proto", "esp", "mode", "transport",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    try:
        acquired: str = _sender(namespace, "--acquire", B_IPV4)
        listing = _ip(namespace, "xfrm", "policy", "list").stdout
    finally:
        _ip(namespace, "xfrm", "policy", "flush")
        _ip(namespace, "xfrm", "state", "flush")
    message = bytes.fromhex(acquired)
    length, msg_type = struct.unpack_from("=IH", message)
    assert msg_type == XfrmMsgType.ACQUIRE and length == len(message)
    # struct xfrm_user_acquire is 280 bytes here: the attributes after it fill the message.
    position = 16 + XFRM_FIXED_HEADER_SIZE[XfrmMsgType.ACQUIRE]
    types = []
    while position < length:
        nla_len, nla_type = struct.unpack_from("=HH", message, position)
        assert nla_len >= 4
        types.append(nla_type)
        position += (nla_len + 3) & ~3
    assert position == length
    assert types[0] == 5  # XFRMA_TMPL
    reported = find_xfrm_sec_ctx(message)
    if "security context" in listing:
        # An active LSM labels the larval SA with the flow's full context (the sender's).
        assert reported is not None and reported.nul_terminated
    else:
        assert reported is None and 8 not in types
