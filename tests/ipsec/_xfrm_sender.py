"""Send XFRM netlink requests and print the kernel's answers; run inside a test namespace.

Reads a JSON list of ``[message_type, payload_hex]`` from stdin, sends each as one request
(NLM_F_REQUEST | NLM_F_ACK) on a NETLINK_XFRM socket of the namespace it runs in, and prints
a JSON list of the errno of each answer (0 = accepted). Used by test_kernel.py through
``ip netns exec``, so that the test process itself never changes namespace.
"""

from __future__ import annotations

import json
import socket
import struct
import sys

NETLINK_XFRM = 6
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 2


def send(sock: socket.socket, sequence: int, msg_type: int, payload: bytes) -> int:
    header = struct.pack(
        "=IHHII", 16 + len(payload), msg_type, NLM_F_REQUEST | NLM_F_ACK, sequence, 0
    )
    sock.send(header + payload)
    while True:
        answer = sock.recv(65536)
        _, answer_type, _, answer_sequence, _ = struct.unpack_from("=IHHII", answer)
        if answer_type == NLMSG_ERROR and answer_sequence == sequence:
            error: int = struct.unpack_from("=i", answer, 16)[0]
            return -error


def main() -> None:
    requests = json.load(sys.stdin)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM) as sock:
        sock.bind((0, 0))
        answers = [
            send(sock, number + 1, msg_type, bytes.fromhex(payload))
            for number, (msg_type, payload) in enumerate(requests)
        ]
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
