"""Send XFRM netlink requests and print the kernel's answers; run inside a test namespace.

Reads a JSON list of ``[message_type, payload_hex]`` from stdin, sends each as one request
(NLM_F_REQUEST | NLM_F_ACK) on a NETLINK_XFRM socket of the namespace it runs in, and prints
a JSON list of the errno of each answer (0 = accepted). With ``--dump TYPE`` it sends one
dump request of that type instead and prints the hex of every message of the answer. With
``--acquire ADDRESS`` it joins the ACQUIRE group, sends one UDP datagram to ADDRESS (which an
IPsec policy should cover) and prints the hex of the ACQUIRE the kernel broadcasts. Used by
test_kernel.py through ``ip netns exec``, so that the test process itself never changes
namespace.
"""

from __future__ import annotations

import json
import socket
import struct
import sys

NETLINK_XFRM = 6
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
XFRMNLGRP_ACQUIRE = 1
XFRM_MSG_ACQUIRE = 23


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


def dump(sock: socket.socket, msg_type: int) -> list[str]:
    sock.send(struct.pack("=IHHII", 16, msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0))
    messages: list[str] = []
    while True:
        answer = sock.recv(65536)
        position = 0
        while position + 16 <= len(answer):
            length, answer_type = struct.unpack_from("=IH", answer, position)
            if answer_type in (NLMSG_DONE, NLMSG_ERROR):
                return messages
            messages.append(answer[position : position + length].hex())
            position += (length + 3) & ~3


def acquire(address: str) -> str:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM) as sock:
        sock.bind((0, 1 << (XFRMNLGRP_ACQUIRE - 1)))
        sock.settimeout(3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"labelnet", (address, 9))
        while True:
            message = sock.recv(65536)
            if struct.unpack_from("=H", message, 4)[0] == XFRM_MSG_ACQUIRE:
                return message.hex()


def main() -> None:
    if sys.argv[1:2] == ["--acquire"]:
        json.dump(acquire(sys.argv[2]), sys.stdout)
        return
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM) as sock:
        sock.bind((0, 0))
        if sys.argv[1:2] == ["--dump"]:
            json.dump(dump(sock, int(sys.argv[2])), sys.stdout)
            return
        requests = json.load(sys.stdin)
        answers = [
            send(sock, number + 1, msg_type, bytes.fromhex(payload))
            for number, (msg_type, payload) in enumerate(requests)
        ]
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
