"""Sibling parity: cipso and calipso use the same names and shapes for the same concepts in
their scapy layers and their hypothesis strategies. Each difference is listed here with its
reason; a difference that is not listed, or a listed one that has gone, fails."""

from __future__ import annotations

import inspect
import re
from types import ModuleType

import pytest

pytest.importorskip("scapy")

from scapy.layers.inet import IPOption
from scapy.layers.inet6 import IPv6ExtHdrHopByHop
from scapy.packet import Packet

import calipso.strategies
import cipso.strategies
import labelnet.ipsec.strategies
import labelnet.strategies
import mls.strategies
from calipso.scapy import CALIPSO
from cipso.scapy import CIPSOTag_RestrictedBitmap, IPOption_CIPSO

TYPE_BYTE = "scapy splits an IPv4 option's type byte into copy_flag, optclass and option, and "
TYPE_BYTE += "calls a hop-by-hop option's type byte otype"
LENGTH_BYTE = "scapy calls an IPv4 option's length byte length, a hop-by-hop option's optlen"
IN_TAGS = "CIPSO carries level and bitmap in tags (the same names on its tag classes); "
IN_TAGS += "CALIPSO has one layout, they are the option's own fields"
NO_CHECKSUM = "CIPSO has no checksum"

#: Names on one option layer only: name -> (the package that has it, why).
LAYER_DIFFERENCES = {
    "copy_flag": ("cipso", TYPE_BYTE),
    "optclass": ("cipso", TYPE_BYTE),
    "option": ("cipso", TYPE_BYTE),
    "otype": ("calipso", TYPE_BYTE),
    "length": ("cipso", LENGTH_BYTE),
    "optlen": ("calipso", LENGTH_BYTE),
    "tags": ("cipso", "a CIPSO option carries tags, a CALIPSO option none"),
    "level": ("calipso", IN_TAGS),
    "bitmap": ("calipso", IN_TAGS),
    "cmpt_len": ("calipso", "CALIPSO counts its bitmap in words; a CIPSO tag's length covers it"),
    "extra": ("calipso", "CALIPSO may carry data after its bitmap; a CIPSO tag ends with it"),
    "chksum": ("calipso", NO_CHECKSUM),
    "checksum_ok": ("calipso", NO_CHECKSUM),
    "expected_checksum": ("calipso", NO_CHECKSUM),
    "alignment_delta": ("calipso", "scapy asks hop-by-hop options for their alignment only"),
}


def layer_names(cls: type[Packet], base: type[Packet]) -> set[str]:
    """The fields of ``cls`` and the public names it adds to scapy's ``base``."""
    added = {name for name in dir(cls) if not name.startswith("_")} - set(dir(base))
    return added | {field.name for field in cls.fields_desc}


def test_option_layers_have_the_same_names_but_the_listed() -> None:
    ours = {
        "cipso": layer_names(IPOption_CIPSO, IPOption),
        "calipso": layer_names(CALIPSO, Packet),
    }
    found = {name: home for home, names in ours.items() for name in names - ours[other(home)]}
    assert found == {name: home for name, (home, _why) in LAYER_DIFFERENCES.items()}
    shared = ours["cipso"] & ours["calipso"]
    assert {"doi", "label", "mls_level", "truncated", "value", "mls"} <= shared
    assert {"from_label", "from_option", "to_option"} <= shared


def test_the_level_fields_have_the_calipso_names_on_the_cipso_tags() -> None:
    tag = layer_names(CIPSOTag_RestrictedBitmap, Packet)
    assert {"level", "bitmap", "label", "mls_level", "truncated", "value", "mls"} <= tag


def other(home: str) -> str:
    return "calipso" if home == "cipso" else "cipso"


def test_the_same_label_shows_the_same_way() -> None:
    v4 = IPOption_CIPSO(bytes(IPOption_CIPSO.from_label("s3:c0,c5", doi=16)))
    v6 = CALIPSO(bytes(CALIPSO.from_label("s3:c0,c5", doi=16)))
    assert v4.label == v6.label == "s3:c0,c5"
    assert v4.mls_level == v6.mls_level
    assert v4.summary() == "CIPSO doi=16 s3:c0,c5"
    assert v6.summary() == "CALIPSO doi=16 s3:c0,c5"
    for shown in (v4.show(dump=True), v6.show(dump=True)):
        assert re.search(r"bitmap += 84", shown)  # hex, whatever the padding
        assert "mls       = s3:c0,c5" in shown


def test_bytes_cut_short_show_the_same_way() -> None:
    v4 = IPOption_CIPSO(bytes.fromhex("860b0000"))
    v6 = CALIPSO(bytes.fromhex("070c0000"))
    assert v4.truncated is v6.truncated is True
    assert v4.value == v6.value == b"\x00\x00"
    assert v4.label is v6.label is None
    assert v4.mls_level is v6.mls_level is None
    assert v4.summary() == "CIPSO length=11 (truncated: 2 data bytes)"
    assert v6.summary() == "CALIPSO optlen=12 (truncated: 2 data bytes)"


def test_one_import_registers_both_the_same_way() -> None:
    import labelnet.scapy

    assert labelnet.scapy.CALIPSO is CALIPSO
    assert labelnet.scapy.IPOption_CIPSO is IPOption_CIPSO
    assert IPv6ExtHdrHopByHop(bytes(IPv6ExtHdrHopByHop(options=[CALIPSO()]))).options[0].doi == 0


# --- strategies ----------------------------------------------------------------------------------

NO_TAGS = "CALIPSO has no tags"
#: The tag strategies, which have no CALIPSO counterpart.
TAG_STRATEGIES = "tags restricted_bitmap_tags enumerated_tags ranged_tags permissive_bitmap_tags"
TAG_STRATEGIES += " free_form_tags local_tags generic_tags"
#: Strategies in one package only: name -> (the package that has it, why).
STRATEGY_DIFFERENCES = {
    **dict.fromkeys(TAG_STRATEGIES.split(), ("cipso", NO_TAGS)),
    # The area around the option, named after what each package builds (cipso.build_options,
    # calipso.build_header).
    "options_areas": ("cipso", "IPv4 carries options in an options area"),
    "hop_by_hop_headers": ("calipso", "IPv6 carries options in a hop-by-hop header"),
}
DOI_TABLES = "a CIPSO DOI has a map type, a tag list and tables; a CALIPSO DOI is a number (PASS)"
#: Parameters of a shared strategy in one package only: (strategy, parameter) -> why.
PARAMETER_DIFFERENCES = {
    ("options", "tag_types"): NO_TAGS,
    ("options", "max_tags"): NO_TAGS,
    ("options", "extra"): "CALIPSO may carry data after its bitmap",
    ("options", "bad_checksums"): NO_CHECKSUM,
    ("dois", "map_types"): DOI_TABLES,
    ("dois", "one_to_one"): DOI_TABLES,
    ("dois", "doi"): DOI_TABLES,
    ("doi_labels", "map_types"): DOI_TABLES,
    ("labels", "doi"): "what a CIPSO DOI carries depends on its tags and tables; every CALIPSO "
    "DOI carries the same",
    ("labels", "max_category"): "CALIPSO's 1952 categories are often more than a test wants",
}


def strategy_names(module: ModuleType) -> set[str]:
    return set(module.__all__)


def parameters(module: ModuleType, name: str) -> set[str]:
    function = getattr(module, name)
    wrapped = getattr(function, "__wrapped__", function)  # st.composite keeps the function
    names = set(inspect.signature(wrapped).parameters)
    return names - {"draw"}


def test_strategies_have_the_same_names_but_the_listed() -> None:
    ours = {
        "cipso": strategy_names(cipso.strategies),
        "calipso": strategy_names(calipso.strategies),
    }
    found = {name: home for home, names in ours.items() for name in names - ours[other(home)]}
    assert found == {name: home for name, (home, _why) in STRATEGY_DIFFERENCES.items()}
    shared = ours["cipso"] & ours["calipso"]
    assert {"options", "option_bytes", "mutants", "packets", "labels", "dois"} <= shared


def test_shared_strategies_take_the_same_parameters_but_the_listed() -> None:
    shared = strategy_names(cipso.strategies) & strategy_names(calipso.strategies)
    found = set()
    for name in shared:
        v4, v6 = parameters(cipso.strategies, name), parameters(calipso.strategies, name)
        found |= {(name, parameter) for parameter in v4 ^ v6}
    assert found == set(PARAMETER_DIFFERENCES)
    # The container strategies take what options() takes for the DOI.
    assert parameters(cipso.strategies, "options_areas") == {"doi"}
    assert parameters(calipso.strategies, "hop_by_hop_headers") == {"doi"}


#: The one naming scheme for every strategies module: a plural noun for model values
#: (``options``, ``levels``, ``xfrm_sec_ctxs``), ``<thing>_bytes`` for their encodings,
#: ``<thing>_texts`` for text forms, ``mutants`` for valid bytes with one fault.
SCHEME = re.compile(r"[a-z0-9_]+s|[a-z0-9_]+_bytes|[a-z0-9_]+_texts|mutants")
#: Names outside the scheme: (module, name) -> the name the scheme gives.
OUTSIDE_THE_SCHEME: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(
    "module",
    [
        cipso.strategies,
        calipso.strategies,
        mls.strategies,
        labelnet.strategies,
        labelnet.ipsec.strategies,
    ],
    ids=lambda module: module.__name__,
)
def test_every_strategies_module_follows_one_naming_scheme(module: ModuleType) -> None:
    outside = {(module.__name__, name) for name in module.__all__ if not SCHEME.fullmatch(name)}
    assert outside == {key for key in OUTSIDE_THE_SCHEME if key[0] == module.__name__}
