"""The shared CIPSO vectors (the shipped corpus): decoder, schema and validator against the offsets
read from the kernel source (cipso.md §4)."""

from __future__ import annotations

from typing import Any

import pytest

import cipso
from cipso import schema
from mls import Level
from tests.cipso import corpus

VECTORS = corpus.VECTORS
DOIS = {name: cipso.CipsoDoi.from_netlabelctl(text) for name, text in VECTORS["dois"].items()}


def _dois(vector: dict[str, Any]) -> list[cipso.CipsoDoi]:
    return [DOIS[name] for name in vector["dois"]]


@pytest.mark.parametrize("vector", VECTORS["options"], ids=lambda v: v["name"])
def test_validate_gives_the_kernel_offset(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    kwargs = {
        "strict_bitmap": vector.get("strict_bitmap", True),
        "loopback": vector.get("loopback", False),
    }
    if vector["offset"] is None:
        cipso.validate(data, _dois(vector), **kwargs)
    else:
        with pytest.raises(cipso.CipsoValidationError) as caught:
            cipso.validate(data, _dois(vector), **kwargs)
        assert caught.value.offset == vector["offset"]
        assert caught.value.pointer == 20 + vector["offset"]
        assert caught.value.icmp_type == 12 and caught.value.icmp_code == 0


@pytest.mark.parametrize("vector", VECTORS["options"], ids=lambda v: v["name"])
def test_decode_and_schema(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    if "decode_offset" in vector:
        with pytest.raises(cipso.CipsoDecodeError) as caught:
            cipso.decode(data)
        assert caught.value.offset == vector["decode_offset"]
        with pytest.raises(cipso.CipsoDecodeError):
            schema.parse(data)
        return
    option = cipso.decode(data)
    assert cipso.encode(option) == data
    assert schema.parse(data) == option
    assert schema.build(option) == data
    if "level" in vector:
        assert option.mls_level == Level.parse(vector["level"])


@pytest.mark.parametrize("vector", VECTORS["areas"], ids=lambda v: v["name"])
def test_options_area_pointer(vector: dict[str, Any]) -> None:
    verdict = cipso.verdict(
        bytes.fromhex(vector["hex"]), _dois(vector), loopback=vector.get("loopback", False)
    )
    assert verdict.pointer == vector["pointer"]
    assert verdict.accepted == (vector["pointer"] is None)
    start = vector["cipso_start"]
    assert verdict.option_start == (None if start is None else start - 20)
    if verdict.accepted:
        verdict.raise_for_verdict()  # a no-op
    else:
        with pytest.raises(cipso.CipsoValidationError) as caught:
            verdict.raise_for_verdict()
        assert caught.value.pointer == vector["pointer"]


def test_every_validator_check_has_a_vector() -> None:
    names = " ".join(vector["name"] for vector in VECTORS["options"])
    for check in ("1", "2", "3", "4", "5", "6a", "6b", "6c", "7a", "7c", "8a", "8c", "9a", "9b"):
        assert f"check {check}:" in names
