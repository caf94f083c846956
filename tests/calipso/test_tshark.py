"""Our decoder against Wireshark's CALIPSO dissector (tshark 4.0), all packets in one tshark run.

Each packet is the ICMPv6 echo request the kernel tests send, its hop-by-hop header holding one
or more CALIPSO options. tshark shows the data length, DOI, compartment length, level, the
checksum as a big-endian number (Linux stores the CRC low byte first, so the two wire bytes are
compared) and the bitmap raw. It verifies no checksum and knows no DOI.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import calipso
from labelnet.conformance._generate import rewrap_header
from mls import CategorySet, Level
from netlabel.harness import ipv6_echo_request
from tests.calipso import corpus
from tests.calipso.test_kernel import faults
from tests.refs.tshark import CalipsoFields, Dissection, dissect
from tests.support import need_program

pytestmark = pytest.mark.tshark

VECTORS = corpus.VECTORS
DOI = calipso.CalipsoDoi(2)


@dataclass(frozen=True)
class Case:
    name: str
    header: bytes  # the hop-by-hop header sent

    @property
    def packet(self) -> bytes:
        return ipv6_echo_request(self.header)

    def options(self) -> list[bytes]:
        """The CALIPSO options of the header, in order, as bytes."""
        return [
            self.header[t.offset : t.end]
            for t in calipso.iter_options(self.header)
            if t.type == calipso.OPTION_TYPE
        ]


def _random_level(rng: random.Random) -> Level:
    top = rng.choice([31, 63, 255, 1023, 1951])
    count = rng.randint(0, 20)
    return Level(rng.randint(0, 255), CategorySet(rng.sample(range(top + 1), count)))


def well_formed_cases() -> list[Case]:
    """Options that decode: vectors, labels encoded as the kernel does, bad checksums, extra
    data, two options in one header, DOIs nobody configures."""
    cases = []
    for vector in VECTORS["options"]:
        data = bytes.fromhex(vector["hex"])
        try:
            calipso.decode(data)
        except calipso.CalipsoDecodeError:
            continue
        cases.append(Case(vector["name"], rewrap_header(data, 58)))
    rng = random.Random(20261123)
    for number in range(200):
        level = _random_level(rng)
        doi = calipso.CalipsoDoi(rng.choice([1, 2, 16, 65535, 3_000_000, 0xFFFFFFFF]))
        option = doi.label_option(level)
        roll = rng.random()
        if roll < 0.15:
            option = calipso.CalipsoOption(
                option.doi, option.level, option.bitmap, bad_checksum=rng.getrandbits(16)
            )
        elif roll < 0.25:
            room = 255 - option.data_length
            extra = rng.randbytes(rng.randint(1, min(room, 9))) if room else b""
            option = calipso.CalipsoOption(option.doi, option.level, option.bitmap, extra)
        elif roll < 0.3:
            option = calipso.CalipsoOption(0, option.level, option.bitmap)
        data = calipso.encode(option)
        if roll > 0.9:
            second = DOI.encode_label(_random_level(rng))
            cases.append(Case(f"two options {number}", rewrap_header(data + second, 58)))
        elif roll > 0.8:
            cases.append(
                Case(f"inserted after a Router Alert {number}", DOI.encode_header(level, RA))
            )
        else:
            cases.append(Case(f"{level} {number}", rewrap_header(data, 58)))
    return cases


RA = bytes.fromhex("0000050200000100")  # a header holding a Router Alert
GOOD = bytes.fromhex("070c000000020103980f84000000")
#: Malformed options: tshark's view differs from the kernel's (see the tests below).
OVERRUN = bytes.fromhex("070c000000020203980f84000000")  # compartment length 2, 1 word present
SHORT = bytes.fromhex("0707000000020000cf")  # option data length 7

CASES = well_formed_cases()
SPECIAL = [Case("overrun", rewrap_header(OVERRUN, 58)), Case("short", rewrap_header(SHORT, 58))]
#: The fault classes the kernel tests send (test_kernel.py), with arbitrary DOI numbers.
FAULTS = [Case(f"fault: {f.name}", f.faulty) for f in faults(3_000_000, 2_999_999)]


@pytest.fixture(scope="module")
def dissections() -> Iterator[dict[str, Dissection]]:
    need_program("tshark")
    everything = CASES + SPECIAL + FAULTS
    results = dissect([case.packet for case in everything])
    yield {case.name: result for case, result in zip(everything, results, strict=True)}


def assert_fields_equal_decode(raw: bytes, fields: CalipsoFields) -> None:
    option = calipso.decode(raw)
    assert fields.length == option.data_length == raw[1]
    assert fields.doi == option.doi
    assert fields.cmpt_length == option.words
    assert fields.sens_level == option.level
    # tshark prints bytes 8-9 big-endian; the kernel's CRC is stored low byte first.
    assert (
        fields.checksum_bytes == raw[8:10] == bytes((option.checksum & 0xFF, option.checksum >> 8))
    )
    assert fields.bitmap == option.bitmap


def test_enough_cases() -> None:
    assert len(CASES) >= 200
    assert sum(len(case.options()) for case in CASES) > len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fields_equal_our_decode(dissections: dict[str, Dissection], case: Case) -> None:
    found = dissections[case.name].calipso
    ours = case.options()
    assert len(found) == len(ours)
    for raw, fields in zip(ours, found, strict=True):
        assert_fields_equal_decode(raw, fields)
        assert not any("Invalid Length" in message for message in fields.expert)


def test_checksum_is_shown_big_endian(dissections: dict[str, Dissection]) -> None:
    (fields,) = dissections["doi2-s3-c0-c5"].calipso
    # The CRC is 0x0f98, on the wire 98 0f; tshark shows 0x980f.
    assert calipso.decode(GOOD).checksum == 0x0F98
    assert fields.checksum == 0x980F


def test_compartment_overrun_bitmap_runs_into_the_next_bytes(
    dissections: dict[str, Dissection],
) -> None:
    # The kernel drops this option (compartment length 2 needs 16 data bytes, there are 12);
    # our decoder refuses it; tshark reads 8 bytes of bitmap: the option's 4 and 4 more past
    # the end of the 16-byte header, from the ICMPv6 message that follows it.
    with pytest.raises(calipso.CalipsoDecodeError) as caught:
        calipso.decode(OVERRUN)
    assert caught.value.offset == 6
    (fields,) = dissections["overrun"].calipso
    packet = SPECIAL[0].packet
    assert fields.cmpt_length == 2
    assert fields.bitmap == packet[40 + 12 : 40 + 20]
    assert fields.bitmap[4:] == packet[56:60]  # ICMPv6 type 128, code 0, checksum
    assert not fields.expert


def test_short_option_is_flagged(dissections: dict[str, Dissection]) -> None:
    with pytest.raises(calipso.CalipsoDecodeError) as caught:
        calipso.decode(SHORT)
    assert caught.value.offset == 1
    (fields,) = dissections["short"].calipso
    assert fields.length == 7
    assert "CALIPSO: Invalid Length (7 bytes)" in fields.expert
    # It still shows a "checksum" made of the option's last byte and the next one.
    header = rewrap_header(SHORT, 58)
    assert fields.checksum_bytes == header[10:12]


#: Fault packets whose CALIPSO option does not decode, and what tshark makes of them.
UNDECODABLE = {
    # Opt Data Len 7: flagged; the "checksum" is the option's last byte and the next one.
    "fault: data length 7": "CALIPSO: Invalid Length (7 bytes)",
    # Opt Data Len 0: flagged; DOI and the rest are read from the padding and beyond.
    "fault: data length 0": "CALIPSO: Invalid Length (0 bytes)",
    # Compartment length 2 with one word: 8 bitmap bytes read, 4 from the ICMPv6 message.
    "fault: cmpt length 2 of 1": "",
    # Compartment length 255: the bitmap would run past the packet; no field, an exception.
    "fault: cmpt length 255": "",
    # The option runs past the end of the header: read on into the ICMPv6 message, no warning.
    "fault: option running past the header": "",
}


@pytest.mark.parametrize("case", FAULTS, ids=lambda c: c.name)
def test_kernel_fault_packets(dissections: dict[str, Dissection], case: Case) -> None:
    found = dissections[case.name].calipso
    if case.name in UNDECODABLE:
        (fields,) = found
        message = UNDECODABLE[case.name]
        assert message in fields.expert if message else not fields.expert
        return
    ours = case.options()
    assert len(found) == len(ours) >= 1
    for raw, fields in zip(ours, found, strict=True):
        assert_fields_equal_decode(raw, fields)


def test_option_running_past_the_header_is_read_from_the_next_header(
    dissections: dict[str, Dissection],
) -> None:
    (case,) = [c for c in FAULTS if c.name == "fault: option running past the header"]
    (fields,) = dissections[case.name].calipso
    packet = case.packet
    # The 16-byte header ends 8 bytes into the option; its checksum and bitmap come from the
    # ICMPv6 echo request (type 0x80, code 0, checksum ...), as tshark reads them.
    assert fields.length == 12 and fields.cmpt_length == 1
    assert fields.checksum_bytes == packet[56:58]
    assert fields.bitmap == packet[58:62]
