"""cipso and calipso are siblings: the same names and shapes for the same concepts.

Each test compares the two packages' public surface after mapping the ``Cipso``/``Calipso``
prefixes and fails on any difference that is not listed below with its reason, and on any listed
difference that has gone (so that the lists stay true). The scapy and hypothesis integrations
are compared by their own tests.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import types
from collections.abc import Iterable, Mapping

import pytest

import calipso
import calipso.__main__ as calipso_cli
import cipso
import cipso.__main__ as cipso_cli
from mls import Level

PREFIXES = {"cipso": "Cipso", "calipso": "Calipso"}
_TAGS = "CIPSO carries a list of typed tags; CALIPSO one compartment bitmap"

#: Public names of cipso with no calipso namesake, and why.
CIPSO_ONLY = {
    "TagType": _TAGS,
    "Tag": _TAGS,
    "MlsTag": _TAGS,
    "RestrictedBitmapTag": _TAGS,
    "EnumeratedTag": _TAGS,
    "RangedTag": _TAGS,
    "PermissiveBitmapTag": _TAGS,
    "FreeFormTag": _TAGS,
    "LocalTag": _TAGS,
    "GenericTag": _TAGS,
    "TAG_CLASS_BY_TYPE": _TAGS + " (the tag type -> class table)",
    "tag_class": _TAGS + " (the table with its generic fallback)",
    "OptionsAreaError": "the IPv4 options area's error; its counterpart is calipso.HopByHopError",
    "build_options": "builds an IPv4 options area; its counterpart is calipso.build_header",
    "XLabelError": "no tag of a DOI can carry the label (cipso_v4_genopt tries each tag); a "
    "CALIPSO DOI has one format, whose limits are CalipsoEncodeError's",
}

#: Public names of calipso with no cipso namesake, and why.
CALIPSO_ONLY = {
    "Check": "names the CALIPSO check that failed: the kernel drops silently, so no ICMP "
    "pointer says where",
    "HopByHopError": "the hop-by-hop header's error; its counterpart is cipso.OptionsAreaError",
    "build_header": "builds a hop-by-hop header; its counterpart is cipso.build_options",
    "insert_option": "the kernel puts CALIPSO into an existing hop-by-hop header "
    "(calipso_opt_insert); an IPv4 options area is written whole",
    "remove_option": "the kernel takes CALIPSO out of a hop-by-hop header (calipso_opt_del)",
    "UnknownAction": "an IPv6 option type says in its top bits what to do when unknown",
    "XChecksumError": "CALIPSO carries a CRC-16; CIPSO has no checksum",
    "crc16_x25": "CALIPSO carries a CRC-16; CIPSO has no checksum",
    "MAX_CATEGORY": "one bitmap, one category limit; CIPSO's limits differ by tag (cipso.model)",
    "MAX_WORDS": "the bitmap is counted in 32-bit words",
    "XInsertion": "corpus vectors of where the kernel inserts the option into a header",
}

#: Counterparts named for their own container (IPv4 options area, IPv6 hop-by-hop header).
COUNTERPARTS = {"OptionsAreaError": "HopByHopError", "build_options": "build_header"}


def _generic(name: str, package: str) -> str:
    return name.replace(PREFIXES[package], "X", 1)


def _members(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def _check(found: Iterable[str], listed: Mapping[str, str], what: str) -> None:
    found = set(found)
    unlisted = sorted(found - set(listed))
    stale = sorted(set(listed) - found)
    assert not unlisted, f"{what}: differences without a reason here: {unlisted}"
    assert not stale, f"{what}: listed differences that are gone: {stale}"


def test_public_names() -> None:
    cipso_names = {_generic(name, "cipso") for name in cipso.__all__}
    calipso_names = {_generic(name, "calipso") for name in calipso.__all__}
    _check(cipso_names - calipso_names, CIPSO_ONLY, "cipso.__all__")
    _check(calipso_names - cipso_names, CALIPSO_ONLY, "calipso.__all__")


def test_every_reason_is_given() -> None:
    for reason in (*CIPSO_ONLY.values(), *CALIPSO_ONLY.values()):
        assert len(reason) > 20


# (cipso class, calipso class, members only cipso's has, members only calipso's has)
CLASS_DIFFERENCES: list[tuple[type, type, dict[str, str], dict[str, str]]] = [
    (
        cipso.CipsoOption,
        calipso.CalipsoOption,
        {
            "tags": _TAGS,
            "tag": _TAGS + " (the first, which the kernel reads)",
            "length": "CIPSO's length byte counts the whole option (= size); CALIPSO's counts "
            "the data after it: data_length",
        },
        {
            "level": _TAGS + ": the level and categories sit in the option itself",
            "categories": _TAGS,
            "bitmap": _TAGS,
            "words": _TAGS + " (its length in 32-bit words)",
            "from_categories": _TAGS + "; CIPSO builds tags from categories",
            "extra": "data after the bitmap, which Linux tolerates; a CIPSO tag ends where its "
            "length says",
            "data_length": "the Opt Data Len byte; CIPSO's length byte is `length`",
            "checksum": "CALIPSO carries a CRC-16",
            "checksum_ok": "CALIPSO carries a CRC-16",
            "correct_checksum": "CALIPSO carries a CRC-16",
            "bad_checksum": "CALIPSO carries a CRC-16 (a wrong one is kept to re-encode)",
        },
    ),
    (
        cipso.CipsoDoi,
        calipso.CalipsoDoi,
        {
            "tags": "a CIPSO DOI lists the tags it sends, in order",
            "levels": "TRANS DOIs translate levels; Linux has only PASS CALIPSO DOIs",
            "categories": "TRANS DOIs translate categories; Linux has only PASS CALIPSO DOIs",
            "level_to_wire": "TRANS mapping",
            "level_from_wire": "TRANS mapping",
            "category_to_wire": "TRANS mapping",
            "category_from_wire": "TRANS mapping",
            "categories_to_wire": "TRANS mapping",
            "categories_from_wire": "TRANS mapping",
            "local": "LOCAL DOIs send the LSM secid in tag 128; CALIPSO has no such DOI",
            "decode_secid": "LOCAL DOIs send the LSM secid in tag 128",
            "pass_through": "builds a PASS DOI with a tag list; CalipsoDoi(n) is PASS already",
        },
        {
            "encode_header": "the hop-by-hop header is a header of its own; CIPSO's options "
            "area comes from encode_label(pad=True)",
            "decode_header": "the label from a hop-by-hop header",
        },
    ),
    (
        cipso.Verdict,
        calipso.Verdict,
        {},
        {"check": "names the CALIPSO check that failed (Check)"},
    ),
    (cipso.VerdictKind, calipso.VerdictKind, {}, {}),
    (
        cipso.Tlv,
        calipso.Tlv,
        {},
        {"action": "an IPv6 option type says in its top bits what to do when unknown"},
    ),
    (cipso.OptionsAreaError, calipso.HopByHopError, {}, {}),
    (
        cipso.CipsoValidationError,
        calipso.CalipsoValidationError,
        {
            "pointer": "the kernel answers a bad CIPSO option with an ICMP Parameter Problem; "
            "it drops a bad CALIPSO option silently",
            "icmp_type": "ICMP Parameter Problem (CALIPSO failures send none)",
            "icmp_code": "ICMP Parameter Problem (CALIPSO failures send none)",
            "icmp_info": "ICMP Parameter Problem (CALIPSO failures send none)",
        },
        {},
    ),
    (
        cipso.CipsoDroppedError,
        calipso.CalipsoDroppedError,
        {},
        {
            "pointer": "a hop-by-hop fault outside CALIPSO may send an ICMPv6 Parameter "
            "Problem; a CIPSO drop (source route) sends nothing"
        },
    ),
    (
        cipso.CipsoVector,
        calipso.CalipsoVector,
        {
            "area": "the vector's options area (CALIPSO: header)",
            "cipso_start": "where the option starts in the area",
            "loopback": "tag 128 is accepted on loopback only",
            "strict_bitmap": "sysctl cipso_rbm_strictvalid",
        },
        {
            "header": "the vector's hop-by-hop header (CIPSO: area)",
            "insertion": "where the kernel inserts the option into a header",
            "validate_check": "the CALIPSO check that fails (Check)",
        },
    ),
    (
        cipso.CipsoDecoded,
        calipso.CalipsoDecoded,
        {"tag_type": _TAGS, "tag_count": _TAGS},
        {
            "bitmap": _TAGS,
            "extra": "data after the bitmap",
            "checksum": "CALIPSO carries a CRC-16",
            "checksum_ok": "CALIPSO carries a CRC-16",
        },
    ),
]


@pytest.mark.parametrize(
    ("ours", "theirs", "cipso_only", "calipso_only"),
    CLASS_DIFFERENCES,
    ids=[f"{pair[0].__name__}-{pair[1].__name__}" for pair in CLASS_DIFFERENCES],
)
def test_class_members(
    ours: type, theirs: type, cipso_only: dict[str, str], calipso_only: dict[str, str]
) -> None:
    _check(_members(ours) - _members(theirs), cipso_only, f"{ours.__name__} members")
    _check(_members(theirs) - _members(ours), calipso_only, f"{theirs.__name__} members")


def test_option_shape() -> None:
    """The same concept answers to the same name with the same kind of value."""
    label = "s3:c0,c5"
    cipso_option = cipso.CipsoDoi.pass_through(2).label_option(label)
    calipso_option = calipso.CalipsoDoi(2).label_option(Level.parse(label))
    for option, module in ((cipso_option, cipso), (calipso_option, calipso)):
        data = option.to_bytes()
        assert data == module.encode(option)
        assert type(option).from_bytes(data) == option
        assert option.size == len(data)
        assert option.doi == 2
        assert str(option.mls_level) == label
    assert cipso_option.length == cipso_option.size
    assert calipso_option.data_length == calipso_option.size - 2


#: Error pairs and the keyword-only arguments one constructor has and the other has not.
ERROR_ARGUMENTS: list[tuple[type, type, dict[str, str], dict[str, str]]] = [
    (cipso.CipsoError, calipso.CalipsoError, {}, {}),
    (cipso.CipsoWireError, calipso.CalipsoWireError, {}, {}),
    (cipso.CipsoLocalError, calipso.CalipsoLocalError, {}, {}),
    (cipso.CipsoDecodeError, calipso.CalipsoDecodeError, {}, {}),
    (cipso.CipsoEncodeError, calipso.CalipsoEncodeError, {}, {}),
    (cipso.CipsoDoiError, calipso.CalipsoDoiError, {}, {}),
    (cipso.OptionsAreaError, calipso.HopByHopError, {}, {}),
    (
        cipso.CipsoValidationError,
        calipso.CalipsoValidationError,
        {},
        {"check": "names the CALIPSO check that failed"},
    ),
    (
        cipso.CipsoDroppedError,
        calipso.CalipsoDroppedError,
        {"option_start": "names the source route that caused the drop by its header byte"},
        {"icmp_code": "a hop-by-hop fault may send an ICMPv6 Parameter Problem"},
    ),
]


def _keywords(cls: type) -> set[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize(
    ("ours", "theirs", "cipso_only", "calipso_only"),
    ERROR_ARGUMENTS,
    ids=[pair[0].__name__ for pair in ERROR_ARGUMENTS],
)
def test_error_constructors(
    ours: type, theirs: type, cipso_only: dict[str, str], calipso_only: dict[str, str]
) -> None:
    """Every error takes (reason, offset, *, ...); the families match."""
    for cls in (ours, theirs):
        positional = [
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ]
        assert positional[1:3] == ["reason", "offset"], cls
    _check(_keywords(ours) - _keywords(theirs), cipso_only, f"{ours.__name__}()")
    _check(_keywords(theirs) - _keywords(ours), calipso_only, f"{theirs.__name__}()")
    ours_bases = [_generic(b.__name__, "cipso") for b in ours.__mro__[1:] if b is not Exception]
    theirs_bases = [
        _generic(b.__name__, "calipso") for b in theirs.__mro__[1:] if b is not Exception
    ]
    assert ours_bases == theirs_bases


def test_every_error_takes_reason_first() -> None:
    for module in (cipso, calipso):
        for name in module.__all__:
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, ValueError):
                parameters = list(inspect.signature(cls.__init__).parameters)
                assert parameters[1] == "reason", f"{module.__name__}.{name}"


#: Keyword arguments of the shared functions that only one package has.
FUNCTION_KEYWORDS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "decode": ({}, {"strict": "raise on a bad checksum instead of keeping it"}),
    "encode": ({}, {}),
    "validate": (
        {
            "strict_bitmap": "sysctl cipso_rbm_strictvalid",
            "loopback": "tag 128 is accepted on loopback only",
        },
        {},
    ),
    "verdict": (
        {
            "strict_bitmap": "sysctl cipso_rbm_strictvalid",
            "loopback": "tag 128 is accepted on loopback only",
            "header_length": "where the options area starts in an IPv4 header (IHL)",
            "accept_source_route": "sysctl accept_source_route",
        },
        {
            "max_options": "sysctl net.ipv6.max_hbh_opts_number",
            "multicast_destination": "only code-2 Parameter Problems go to a multicast address",
            "destination_options": "IPv6 carries TLV options in a second header (IPv4 has none)",
        },
    ),
    "find_option": ({}, {}),
    "iter_options": ({}, {}),
    "vectors": ({}, {}),
}
#: The first argument names its container: an IPv4 options area or a hop-by-hop header.
CONTAINER = {"area": "header"}


@pytest.mark.parametrize("name", sorted(FUNCTION_KEYWORDS))
def test_function_signatures(name: str) -> None:
    ours = inspect.signature(getattr(cipso, name)).parameters.values()
    theirs = inspect.signature(getattr(calipso, name)).parameters.values()
    positional = [p.name for p in ours if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert [CONTAINER.get(p, p) for p in positional] == [
        p.name for p in theirs if p.kind is not inspect.Parameter.KEYWORD_ONLY
    ]
    ours_keywords = {p.name for p in ours if p.kind is inspect.Parameter.KEYWORD_ONLY}
    theirs_keywords = {p.name for p in theirs if p.kind is inspect.Parameter.KEYWORD_ONLY}
    cipso_only, calipso_only = FUNCTION_KEYWORDS[name]
    _check(ours_keywords - theirs_keywords, cipso_only, f"cipso.{name}")
    _check(theirs_keywords - ours_keywords, calipso_only, f"calipso.{name}")


def test_counterparts_exist() -> None:
    for ours, theirs in COUNTERPARTS.items():
        assert ours in cipso.__all__ and theirs in calipso.__all__


# --- the command lines --------------------------------------------------------------------------


def _options(parser: argparse.ArgumentParser, command: str) -> set[str]:
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    return {
        option
        for action in sub._actions
        if action.help is not argparse.SUPPRESS
        for option in action.option_strings
    }


#: Command-line options only one command has, and why.
CLI_OPTIONS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "decode": (
        {
            "--loopback": "tag 128 is accepted on loopback only",
            "--no-strict-bitmap": "sysctl cipso_rbm_strictvalid",
            "--accept-source-route": "sysctl accept_source_route",
        },
        {},
    ),
    "encode": (
        {
            "--secid": "a LOCAL DOI sends the LSM secid in tag 128",
            "--optimized-bitmap": "sysctl cipso_rbm_optfmt",
        },
        {"--next-header": "the hop-by-hop header's first byte"},
    ),
}


@pytest.mark.parametrize("command", sorted(CLI_OPTIONS))
def test_command_line_options(command: str) -> None:
    ours = _options(cipso_cli.build_parser(), command)
    theirs = _options(calipso_cli.build_parser(), command)
    cipso_only, calipso_only = CLI_OPTIONS[command]
    _check(ours - theirs, cipso_only, f"python -m cipso {command}")
    _check(theirs - ours, calipso_only, f"python -m calipso {command}")


def _decode(module: types.ModuleType, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    module.main(["decode", *argv])
    out: str = capsys.readouterr().out
    return out


def test_decode_json_field_names(capsys: pytest.CaptureFixture[str]) -> None:
    cipso_json = json.loads(
        _decode(cipso_cli, capsys, "860b000000100105000384", "--doi", "16", "--format", "json")
    )
    calipso_json = json.loads(
        _decode(
            calipso_cli, capsys, "070c000000020103980f84000000", "--doi", "2", "--format", "json"
        )
    )
    # calipso adds the hop-by-hop header (for header input) and the failed check.
    assert set(cipso_json) == set(calipso_json) - {"header", "check"}
    ours, theirs = cipso_json["options"][0], calipso_json["options"][0]
    # cipso's option has tags; calipso's its bitmap, level and checksum in the option itself.
    assert set(ours) - {"tags"} == set(theirs) - {
        "level",
        "words",
        "bitmap",
        "extra",
        "checksum",
        "checksum_ok",
        "expected_checksum",
    }


def test_decode_verdict_lines_have_one_format(capsys: pytest.CaptureFixture[str]) -> None:
    shape = re.compile(
        r"kernel    (accepted|(parameter-problem|dropped|truncated): [^,]+(, pointer \d+)?, "
        r"at (header byte \d+(, option byte \d+)?|option byte \d+): .+)"
    )
    lines = [
        # accepted, a rejected option alone, a rejected option in an area or header
        _decode(cipso_cli, capsys, "860b000000100105000384", "--doi", "16"),
        _decode(cipso_cli, capsys, "860a0000001101040003", "--doi", "16"),
        _decode(cipso_cli, capsys, "01860a000000110104000300", "--doi", "16"),
        _decode(calipso_cli, capsys, "070c000000020103980f84000000", "--doi", "2"),
        _decode(calipso_cli, capsys, "070c000000020103980f84000000", "--doi", "3"),
        _decode(calipso_cli, capsys, "3a01070c000000020103980f84000000", "--doi", "3"),
        _decode(calipso_cli, capsys, "3a009e0001020000", "--doi", "2"),  # unknown type 0x9e
    ]
    kinds = set()
    for out in lines:
        line = next(line for line in out.splitlines() if line.startswith("kernel"))
        found = shape.fullmatch(line)
        assert found, line
        kinds.add(found.group(2) or found.group(1))
    assert kinds == {"accepted", "parameter-problem", "dropped"}
