"""labelnet.scapy: one import registers both layers."""

from __future__ import annotations

import doctest

import pytest

from tests.support import python_output

pytest.importorskip("scapy")


IPV4_PACKET = bytes.fromhex(
    "48000028000100004001e8acc0000201c0000202860b000000100105000384000800f7ff00000000"
)
IPV6_PACKET = bytes.fromhex(
    "600000000018004020010db800000000000000000000000120010db8000000000000000000000002"
    "3a01070c000000020103980f84000000"
    "8000244800000000"
)


#: Each package's layer needs nothing but its own import: (the import, scapy's network layer,
#: the option in the worked-example packet, what to print of it besides its class and DOI, and
#: what a fresh interpreter prints).
PLAIN_IMPORTS = [
    pytest.param(
        "cipso.scapy",
        "from scapy.layers.inet import IP",
        f"IP(bytes.fromhex('{IPV4_PACKET.hex()}')).options[0]",
        "o.tags[0].level, o.label",
        ["IPOption_CIPSO", "16", "3", "s3:c0,c5"],
        id="cipso",
    ),
    pytest.param(
        "calipso.scapy",
        "from scapy.layers.inet6 import IPv6",
        f"IPv6(bytes.fromhex('{IPV6_PACKET.hex()}'))"
        ".getlayer('IPv6 Extension Header - Hop-by-Hop Options Header').options[0]",
        "o.label, o.checksum_ok",
        ["CALIPSO", "2", "s3:c0,c5", "True"],
        id="calipso",
    ),
]


@pytest.mark.parametrize(("module", "layer", "option", "shown", "expected"), PLAIN_IMPORTS)
def test_plain_import_of_one_package_is_enough(
    module: str, layer: str, option: str, shown: str, expected: list[str]
) -> None:
    code = f"import {module}\n{layer}\no = {option}\nprint(type(o).__name__, o.doi, {shown})\n"
    assert python_output(code).split() == expected


def test_one_import_registers_both_layers() -> None:
    # A fresh interpreter: nothing but "import labelnet.scapy" before dissecting.
    code = (
        "import labelnet.scapy\n"
        "from scapy.layers.inet import IP\n"
        "from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop\n"
        f"v4 = IP(bytes.fromhex('{IPV4_PACKET.hex()}')).options[0]\n"
        f"v6 = IPv6(bytes.fromhex('{IPV6_PACKET.hex()}'))[IPv6ExtHdrHopByHop].options[0]\n"
        "print(type(v4).__name__, v4.summary())\n"
        "print(type(v6).__name__, v6.summary())\n"
    )
    out = python_output(code)
    assert out.splitlines() == [
        "IPOption_CIPSO CIPSO doi=16 s3:c0,c5",
        "CALIPSO CALIPSO doi=2 s3:c0,c5",
    ]


def test_the_classes_are_the_packages_own() -> None:
    import calipso.scapy
    import cipso.scapy
    import labelnet.scapy

    for name in labelnet.scapy.__all__:
        home = cipso.scapy if hasattr(cipso.scapy, name) else calipso.scapy
        assert getattr(labelnet.scapy, name) is getattr(home, name)
    assert set(labelnet.scapy.__all__) == set(cipso.scapy.__all__) | set(calipso.scapy.__all__)
    assert cipso.decode(IPV4_PACKET[20:31]).doi == 16
    assert calipso.decode(IPV6_PACKET[42:56]).doi == 2


def test_module_docstring_examples_run() -> None:
    import labelnet.scapy

    result = doctest.testmod(labelnet.scapy)
    assert result.attempted > 0 and result.failed == 0
