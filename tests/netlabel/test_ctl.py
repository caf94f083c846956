"""netlabelctl syntax and output without a kernel: parsers, formatters, model, errors, CLI.

The expected texts were printed by netlabelctl 0.30.0 for the same configuration; the
kernel tests (test_kernel.py) compare the two tools live.
"""

from __future__ import annotations

import doctest
import errno
import ipaddress
import pickle
import socket
from collections.abc import Iterator

import pytest

import calipso
import cipso
import netlabel
import netlabel.ctl
import netlabel.model
from netlabel import (
    AddressSelector,
    AlreadyExists,
    DoiSummary,
    DomainMap,
    InvalidArgument,
    Labeling,
    NetLabelError,
    NotFound,
    PermissionDenied,
    Protocol,
    StaticLabel,
)
from netlabel.__main__ import build_parser, main
from netlabel.client import NetLabel
from netlabel.ctl import (
    CtlSyntaxError,
    format_calipso_doi,
    format_calipso_list,
    format_cipso_doi,
    format_cipso_list,
    format_maps,
    format_protocols,
    format_unlbl_list,
    format_version,
    parse_accept,
    parse_calipso_add,
    parse_cipso_add,
    parse_doi,
    parse_map_add,
    parse_map_del,
    parse_static_label,
)
from netlabel.errors import from_errno
from netlabel.model import format_network, network_from_mask, parse_network
from tests.support import python_output

T = cipso.TagType
V4, V6, BOTH = socket.AF_INET, socket.AF_INET6, socket.AF_UNSPEC
net = ipaddress.ip_network


def test_module_doctests() -> None:
    for module in (netlabel.ctl, netlabel.model):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


def test_import_netlabel_does_not_load_pyroute2() -> None:
    code = "import sys, netlabel; print('pyroute2' in sys.modules, 'construct' in sys.modules)"
    assert python_output(code).split() == ["False", "False"]


# --- model --------------------------------------------------------------------------------------


def test_labeling_needs_a_doi_exactly_for_cipso_and_calipso() -> None:
    assert Labeling.cipso(16) == Labeling(Protocol.CIPSOV4, 16)
    with pytest.raises(ValueError):
        Labeling(Protocol.CIPSOV4)
    with pytest.raises(ValueError):
        Labeling(Protocol.CALIPSO, 0)
    with pytest.raises(ValueError):
        Labeling(Protocol.UNLABELED, 3)
    with pytest.raises(ValueError):
        Labeling(Protocol.ADDRSELECT)


def test_domain_map_has_a_labeling_or_selectors() -> None:
    with pytest.raises(ValueError):
        DomainMap("x", V4)
    sel = AddressSelector(net("10.0.0.0/8"), Labeling.unlabeled())
    with pytest.raises(ValueError):
        DomainMap("x", V4, Labeling.unlabeled(), (sel,))
    assert DomainMap(None, V4, selectors=(sel,)).is_default


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("1.2.3.4", "1.2.3.4/32"),
        ("192.168.1.7/24", "192.168.1.0/24"),
        ("::1", "::1/128"),
        ("fd00:77::5/64", "fd00:77::/64"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_parse_network_as_netlabelctl(text: str, network: str) -> None:
    assert parse_network(text) == net(network)


def test_parse_network_rejects_garbage() -> None:
    for text in ("", "1.2.3", "1.2.3.4/33", "::1/129", "x"):
        with pytest.raises(ValueError):
            parse_network(text)


def test_network_from_mask_counts_prefix_like_netlabelctl() -> None:
    assert network_from_mask(bytes([10, 1, 0, 0]), bytes([255, 255, 0, 0])) == net("10.1.0.0/16")
    assert network_from_mask(bytes(4), bytes(4)) == net("0.0.0.0/0")
    full6 = b"\xff" * 16
    assert network_from_mask(bytes(15) + b"\x01", full6) == net("::1/128")
    # A non-contiguous mask counts up to its last one bit, as netlabelctl's shift loop does.
    assert network_from_mask(bytes([10, 0, 5, 0]), bytes([255, 0, 255, 0])).prefixlen == 24
    with pytest.raises(ValueError):
        network_from_mask(bytes(4), bytes(16))


def test_format_network_uses_inet_ntop_text() -> None:
    assert format_network(net("::ffff:1.2.3.0/120")) == "::ffff:1.2.3.0/120"
    assert format_network(net("1:0:2:3:4:5:6:7/128")) == "1:0:2:3:4:5:6:7/128"


# --- errors ---------------------------------------------------------------------------------------


def test_error_hierarchy_and_text() -> None:
    err = from_errno("cipso add pass doi:16", errno.EEXIST)
    assert isinstance(err, AlreadyExists) and isinstance(err, NetLabelError)
    assert isinstance(err, OSError) and err.errno == errno.EEXIST
    assert str(err) == "cipso add pass doi:16: already exists (EEXIST)"
    assert isinstance(from_errno("x", errno.EINVAL), ValueError)
    assert isinstance(from_errno("x", errno.EPERM), PermissionDenied)
    assert isinstance(from_errno("x", errno.EPERM), PermissionError)
    assert isinstance(from_errno("x", errno.ENOENT), NotFound)
    assert type(from_errno("x", errno.EBUSY)) is NetLabelError
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is AlreadyExists and str(copy) == str(err)


def test_invalid_argument_before_sending_has_no_errno_suffix() -> None:
    err = InvalidArgument("map add domain:x", "bad")
    assert str(err) == "map add domain:x: bad"


# --- parsing --------------------------------------------------------------------------------------


def test_parse_map_add() -> None:
    r = parse_map_add(["domain:lsm_domain", "address:192.168.1.0/24", "protocol:cipso,8"])
    assert (r.domain, r.labeling, r.address, r.family) == (
        "lsm_domain",
        Labeling.cipso(8),
        net("192.168.1.0/24"),
        None,
    )
    r = parse_map_add(["default", "address:::1", "protocol:calipso,2"])
    assert (r.domain, r.labeling, r.address) == (None, Labeling.calipso(2), net("::1/128"))
    assert parse_map_add(["domain:x", "protocol:cipsov4,3"]).labeling == Labeling.cipso(3)
    assert parse_map_add(["domain:x", "protocol:unlbl,6"]).family == V6
    assert parse_map_add(["domain:x", "protocol:unlbl"]).family is None


@pytest.mark.parametrize(
    ("tokens", "offset"),
    [
        (["domain:x", "protocol:cipso"], 14),  # DOI missing
        (["domain:x", "protocol:cipso,abc"], 15),
        (["domain:x", "protocol:cipso,0"], 15),
        (["domain:x", "protocol:unlbl,5"], 15),
        (["domain:x", "protocol:ripso"], 9),
        (["domain:x", "address:1.2.3", "protocol:unlbl"], 8),
        (["domain:x"], 0),
        (["default", "domain:x", "protocol:unlbl"], 0),
        (["domain:", "protocol:unlbl"], 7),
        (["domain:x", "bogus:1", "protocol:unlbl"], 0),
        (["domain:x", "domain:y", "protocol:unlbl"], 0),
    ],
)
def test_parse_map_add_errors_point_into_the_token(tokens: list[str], offset: int) -> None:
    with pytest.raises(CtlSyntaxError) as info:
        parse_map_add(tokens)
    assert info.value.offset == offset
    assert isinstance(info.value, ValueError)


def test_parse_map_del_accept_static_doi() -> None:
    assert parse_map_del(["default"]) is None
    assert parse_map_del(["domain:foo"]) == "foo"
    with pytest.raises(CtlSyntaxError):
        parse_map_del([])
    assert parse_accept(["on"]) is True and parse_accept(["OFF"]) is False
    assert parse_accept(["1"]) is True and parse_accept(["0"]) is False
    with pytest.raises(CtlSyntaxError):
        parse_accept(["maybe"])
    with pytest.raises(CtlSyntaxError):
        parse_accept([])
    r = parse_static_label(["interface:lo", "address:::1", "label:foo"], with_label=True)
    assert (r.interface, r.address, r.label) == ("lo", net("::1/128"), "foo")
    r = parse_static_label(["default", "address:1.2.3.4/24"], with_label=False)
    assert (r.interface, r.address, r.label) == (None, net("1.2.3.0/24"), None)
    with pytest.raises(CtlSyntaxError):
        parse_static_label(["default", "address:1.2.3.4"], with_label=True)
    assert parse_doi(["doi:16"], required=True) == 16
    assert parse_doi([], required=False) is None
    with pytest.raises(CtlSyntaxError) as info:
        parse_doi(["doi:-1"], required=True)
    assert info.value.offset == 4
    with pytest.raises(CtlSyntaxError):
        parse_doi(["doi:4294967296"], required=True)


def test_parse_cipso_add() -> None:
    assert parse_cipso_add(["pass", "doi:16", "tags:1,2,5"]) == cipso.CipsoDoi(
        16, cipso.MapType.PASS, (T.RESTRICTED_BITMAP, T.ENUMERATED, T.RANGED)
    )
    assert parse_cipso_add(
        ["trans", "doi:3", "tags:1", "levels:0=0,1=1", "categories:0=1,1=2"]
    ) == cipso.CipsoDoi(
        3, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 0), (1, 1)), ((0, 1), (1, 2))
    )
    assert parse_cipso_add(["std", "doi:3", "tags:1", "levels:0=0"]).map_type == cipso.MapType.TRANS
    assert parse_cipso_add(["local", "doi:5"]).tags == (T.LOCAL,)
    assert parse_calipso_add(["pass", "doi:2"]) == calipso.CalipsoDoi(2)


@pytest.mark.parametrize(
    ("tokens", "token", "offset"),
    [
        (["pass", "doi:16"], "pass doi:16", 0),  # no tags
        (["pass", "doi:16", "tags:1,x"], "tags:1,x", 7),
        (["pass", "doi:16", "tags:1,,5"], "tags:1,,5", 7),
        (["pass", "doi:16", "tags:1,"], "tags:1,", 7),
        (["pass", "doi:16", "tags:1,٣"], "tags:1,٣", 7),
        (["pass", "doi:" + "9" * 4301, "tags:1"], "doi:" + "9" * 4301, 4),
        (["pass", "doi:16", "tags:1", "tags:5"], "tags:5", 0),
        (["pass", "doi:16", "tags:1", "color:red"], "color:red", 0),
        (["local", "doi:5", "tags:1"], "tags:1", 5),
        (["trans", "doi:3", "tags:1", "levels:"], "levels:", 0),
        (["trans", "doi:3", "tags:1"], "trans doi:3 tags:1", 0),  # no levels
        (["trans", "doi:3", "tags:1", "levels:0=0,1"], "levels:0=0,1", 11),
        (["trans", "doi:3", "tags:1", "levels:0=0,1=y"], "levels:0=0,1=y", 13),
        (["pass", "doi:3", "tags:1", "levels:0=0"], "levels:0=0", 0),
        (["trans", "doi:3", "tags:1", "levels:0=0", "categories:1=0,2"], "categories:1=0,2", 15),
        (["pass", "trans", "doi:3", "tags:1"], "pass trans doi:3 tags:1", 0),
    ],
)
def test_parse_cipso_add_errors(tokens: list[str], token: str, offset: int) -> None:
    with pytest.raises(CtlSyntaxError) as info:
        parse_cipso_add(tokens)
    assert (info.value.token, info.value.offset) == (token, offset)


def test_parse_cipso_add_leaves_kernel_rules_to_the_doi_model() -> None:
    for tokens in (
        ["trans", "doi:3", "tags:2", "levels:0=0"],  # tag 2 is PASS only
        ["pass", "doi:0", "tags:1"],
        ["pass", "doi:16", "tags:1,300"],
        ["pass", "doi:16", "tags:3"],
    ):
        with pytest.raises(cipso.CipsoDoiError) as info:
            parse_cipso_add(tokens)
        assert not isinstance(info.value, CtlSyntaxError)


def test_parse_cipso_add_accepts_what_netlabelctl_lists_and_stores() -> None:
    # `cipso list doi:N` prints an empty categories: for a trans DOI without categories, and
    # netlabelctl adds `local doi:N tags:128` as the kernel lists it; the type word may stand
    # anywhere, numbers may have leading zeros (atoi reads them so).
    assert parse_cipso_add(["trans", "doi:3", "tags:1", "levels:0=3", "categories:"]) == (
        cipso.CipsoDoi(3, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 3),))
    )
    assert parse_cipso_add(["local", "doi:5", "tags:128"]) == cipso.CipsoDoi.local(5)
    assert parse_cipso_add(["doi:016", "tags:01", "pass"]) == cipso.CipsoDoi.pass_through(16)


@pytest.mark.parametrize("tokens", [["pass"], ["pass", "doi:2", "tags:1"], ["trans", "doi:2"]])
def test_parse_calipso_add_errors(tokens: list[str]) -> None:
    with pytest.raises(CtlSyntaxError):
        parse_calipso_add(tokens)


def test_hostile_numbers_are_syntax_errors_not_int_limits() -> None:
    # Regression: int() of 4,301 digits raised "Exceeds the limit (4300 digits)".
    huge = "9" * 4301
    for parse, tokens in (
        (parse_cipso_add, ["pass", f"doi:{huge}", "tags:1"]),
        (parse_calipso_add, ["pass", f"doi:{huge}"]),
        (parse_map_add, ["domain:x", f"protocol:cipso,{huge}"]),
        (lambda t: parse_doi(t, required=True), [f"doi:{huge}"]),
    ):
        with pytest.raises(CtlSyntaxError) as info:
            parse(tokens)
        assert "above 4294967295" in str(info.value) or "at most 4294967295" in str(info.value)
        assert len(str(info.value)) < 300
    assert parse_doi(["doi:" + "0" * 5000 + "7"], required=True) == 7
    for digits in ("٣", "²", "+3", " 3"):
        with pytest.raises(CtlSyntaxError):
            parse_doi([f"doi:{digits}"], required=True)


def test_parse_definition_dispatches_on_the_protocol() -> None:
    assert netlabel.ctl.parse_definition("netlabelctl cipso add pass doi:16 tags:1") == (
        cipso.CipsoDoi.pass_through(16)
    )
    assert netlabel.ctl.parse_definition(["cipsov4", "local", "doi:5"]) == cipso.CipsoDoi.local(5)
    assert netlabel.ctl.parse_definition("calipso pass doi:2") == calipso.CalipsoDoi(2)
    for text, offset in (
        ("", 0),
        ("netlabelctl", 0),
        ("ripso pass doi:2", 0),
        ("netlabelctl x", 12),
    ):
        with pytest.raises(CtlSyntaxError) as info:
            netlabel.ctl.parse_definition(text)
        assert info.value.offset == offset


# --- formatting: texts printed by netlabelctl 0.30.0 ------------------------------------------

SELECTOR_MAPS = [
    DomainMap(
        "foo",
        V4,
        selectors=(
            AddressSelector(net("10.1.0.0/16"), Labeling.cipso(3100000)),
            AddressSelector(net("10.2.0.0/16"), Labeling.unlabeled()),
        ),
    ),
    DomainMap("foo", V6, selectors=(AddressSelector(net("fd00::/8"), Labeling.calipso(3100001)),)),
    DomainMap("bar", V6, Labeling.unlabeled()),
    DomainMap("baz", V4, Labeling.cipso(3100000)),
]
SELECTOR_DEFAULTS = [
    DomainMap(None, V4, selectors=(AddressSelector(net("0.0.0.0/0"), Labeling.unlabeled()),)),
    DomainMap(None, V6, selectors=(AddressSelector(net("::1/128"), Labeling.calipso(3100001)),)),
]
SELECTOR_TERSE = (
    'domain:"foo",address:10.1.0.0/16,protocol:CIPSOv4,3100000,address:10.2.0.0/16,'
    'protocol:UNLABELED domain:"foo",address:fd00::/8,protocol:CALIPSO,3100001 '
    'domain:"bar",UNLABELED,6 domain:"baz",CIPSOv4,3100000 '
    "domain:DEFAULT,address:0.0.0.0/0,protocol:UNLABELED "
    "domain:DEFAULT,address:::1/128,protocol:CALIPSO,3100001\n"
)
SELECTOR_PRETTY = """\
Configured NetLabel domain mappings (6)
 domain: "foo" (IPv4)
   address: 10.1.0.0/16
    protocol: CIPSO, DOI = 3100000
   address: 10.2.0.0/16
    protocol: UNLABELED
 domain: "foo" (IPv6)
   address: fd00::/8
    protocol: CALIPSO, DOI = 3100001
 domain: "bar" (IPv6)
   protocol: UNLABELED
 domain: "baz" (IPv4)
   protocol: CIPSO, DOI = 3100000
 domain: DEFAULT (IPv4)
   address: 0.0.0.0/0
    protocol: UNLABELED
 domain: DEFAULT (IPv6)
   address: ::1/128
    protocol: CALIPSO, DOI = 3100001
"""


def test_format_maps_with_selectors() -> None:
    assert format_maps(SELECTOR_MAPS, SELECTOR_DEFAULTS) == SELECTOR_TERSE
    assert format_maps(SELECTOR_MAPS, SELECTOR_DEFAULTS, pretty=True) == SELECTOR_PRETTY


def test_format_maps_defaults() -> None:
    both = [DomainMap(None, V4, Labeling.unlabeled()), DomainMap(None, V6, Labeling.unlabeled())]
    assert format_maps([], both) == "domain:DEFAULT,UNLABELED\n"
    assert format_maps([], both, pretty=True) == (
        "Configured NetLabel domain mappings (1)\n domain: DEFAULT (IPv4/IPv6)\n"
        "   protocol: UNLABELED\n"
    )
    assert format_maps([], both[:1]) == "domain:DEFAULT,UNLABELED,4\n"
    assert format_maps([], []) == "\n"
    assert format_maps([], [], pretty=True) == "Configured NetLabel domain mappings (0)\n"


def test_format_mgmt() -> None:
    assert format_version(3) == "3\n"
    protocols = [Protocol.UNLABELED, Protocol.CIPSOV4, Protocol.CALIPSO]
    assert (
        format_protocols(protocols, pretty=True) == "NetLabel protocols : UNLABELED CIPSO CALIPSO\n"
    )
    assert format_protocols([9]) == "UNKNOWN(9)\n"


def test_format_cipso() -> None:
    dois = [
        DoiSummary(16, cipso.MapType.PASS),
        DoiSummary(8, 1),
        DoiSummary(100, 3),
        DoiSummary(5, 9),
    ]
    assert format_cipso_list(dois) == "16,PASS_THROUGH 8,TRANSLATED 100,LOCAL 5,UNKNOWN(9)\n"
    assert format_cipso_list([]) == "\n"
    assert format_cipso_list(dois[:1], pretty=True) == (
        "Configured CIPSO mappings (1)\n DOI value : 16\n   mapping type : PASS_THROUGH\n"
    )
    pass_doi = cipso.CipsoDoi(
        100, cipso.MapType.PASS, (T.RESTRICTED_BITMAP, T.ENUMERATED, T.RANGED)
    )
    assert format_cipso_doi(pass_doi) == "tags:1,2,5\n"
    assert format_cipso_doi(pass_doi, pretty=True) == (
        "Configured CIPSO mapping (DOI = 100)\n tags (3): \n   RESTRICTED BITMAP\n"
        "   ENUMERATED\n   RANGED\n"
    )
    trans = cipso.CipsoDoi(
        8, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 0), (1, 1)), ((0, 1), (1, 0))
    )
    assert format_cipso_doi(trans) == "tags:1 levels:0=0,1=1 categories:0=1,1=0\n"
    assert format_cipso_doi(trans, pretty=True) == (
        "Configured CIPSO mapping (DOI = 8)\n tags (1): \n   RESTRICTED BITMAP\n"
        " levels (2): \n   0 = 0\n   1 = 1\n categories (2): \n   0 = 1\n   1 = 0\n"
    )
    no_cats = cipso.CipsoDoi(9, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 3),))
    assert format_cipso_doi(no_cats) == "tags:1 levels:0=3 categories:\n"
    local = cipso.CipsoDoi(7, cipso.MapType.LOCAL, (T.LOCAL,))
    assert format_cipso_doi(local) == "tags:128\n"
    assert format_cipso_doi(local, pretty=True).endswith(" tags (1): \n   LOCAL\n")


def test_format_calipso() -> None:
    assert format_calipso_list([DoiSummary(2, calipso.MapType.PASS)]) == "2,PASS_THROUGH\n"
    assert format_calipso_list([DoiSummary(2, 2)], pretty=True) == (
        "Configured CALIPSO mappings (1)\n DOI value : 2\n   mapping type : PASS_THROUGH\n"
    )
    assert format_calipso_doi(calipso.CalipsoDoi(2)) == "type:PASS_THROUGH\n"
    assert format_calipso_doi(calipso.CalipsoDoi(2), pretty=True) == (
        "Configured CALIPSO mapping (DOI = 2)\n type: PASS_THROUGH\n"
    )


def test_format_unlbl() -> None:
    labels = [
        StaticLabel("lo", net("::1/128"), "foo"),
        StaticLabel("lo", net("127.0.0.1/32"), "baz"),
        StaticLabel(None, net("1.2.3.4/32"), "bar"),
        StaticLabel(None, net("1.2.3.5/32"), "qux"),
    ]
    assert format_unlbl_list(False, []) == "accept:off\n"
    assert format_unlbl_list(True, labels[::2]) == (
        'accept:on interface:lo,address:::1/128,label:"foo" '
        'interface:DEFAULT,address:1.2.3.4/32,label:"bar"\n'
    )
    assert format_unlbl_list(True, labels, pretty=True) == (
        "Accept unlabeled packets : on\nConfigured NetLabel address mappings (4)\n"
        ' interface: lo\n   address: ::1/128\n    label: "foo"\n'
        '   address: 127.0.0.1/32\n    label: "baz"\n'
        ' interface: DEFAULT\n   address: 1.2.3.4/32\n    label: "bar"\n'
        ' interface: DEFAULT\n   address: 1.2.3.5/32\n    label: "qux"\n'
    )


# --- the command line ------------------------------------------------------------------------


def test_help_explains_the_key_value_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "key:value" in text and "doi:16" in text and "python -m netlabel -p map list" in text
    for module in ("mgmt", "map", "unlbl", "cipso", "calipso"):
        assert module in text
    with pytest.raises(SystemExit):
        main(["cipso", "--help"])
    assert "cipso add trans doi:3 tags:1 levels:0=0,1=1" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["nosuch"], ["cipso"], ["cipso", "frob"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_bad_tokens_give_one_error_line_and_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    # Rejected before any netlink traffic: no root needed.
    assert main(["cipso", "add", "pass", "doi:x", "tags:1"]) == 1
    assert main(["cipso", "add", "pass", "doi:0", "tags:1"]) == 1
    assert main(["map", "add", "domain:x", "protocol:cipso"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 3
    assert lines[0] == (
        "netlabel: error, cipso add: the DOI must be written in ASCII digits 0-9 in argument "
        "'doi:x' at character 4"
    )
    assert lines[1].startswith("netlabel: error, cipso add: DOI 0")
    assert all(line.startswith("netlabel: error, ") for line in lines)


def test_module_table_has_cipsov4_alias() -> None:
    args = build_parser().parse_args(["cipsov4", "list"])
    assert args.command == "list" and callable(args.handler)


def test_pretty_flag_before_the_module_or_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["-p", "map", "list"]).pretty is True
    assert parser.parse_args(["map", "list", "-p"]).pretty is True
    assert parser.parse_args(["map", "list"]).pretty is False


# --- malformed kernel replies (a fake transport; no root needed) --------------------------------


def _decoded(msg_class: type, attrs: list[tuple[str, object]]) -> object:
    msg = msg_class()
    msg["cmd"] = 3
    msg["version"] = 3
    msg["attrs"] = attrs
    msg.encode()
    copy = msg_class(msg.data)
    copy.decode()
    return copy


@pytest.fixture
def fake_kernel() -> Iterator[tuple[NetLabel, list[list[object]]]]:
    """A client whose requests are answered from a list of canned reply lists."""
    from netlabel import _genl

    answers: list[list[object]] = []
    nl = NetLabel()
    nl._ids.update({name: 99 for name in (_genl.MGMT_FAMILY, _genl.CIPSOV4_FAMILY)})
    nl._sock.nlm_request = lambda *args, **kwargs: answers.pop(0)
    try:
        yield nl, answers
    finally:
        nl.close()


def test_malformed_replies_raise_protocol_error(
    fake_kernel: tuple[NetLabel, list[list[object]]],
) -> None:
    from netlabel import ProtocolError, _genl

    nl, answers = fake_kernel
    answers.append([])
    with pytest.raises(ProtocolError, match="expected one reply message, got 0"):
        nl.version()
    answers.append([_decoded(_genl.MgmtMsg, [("NLBL_MGMT_A_PROTOCOL", 5)])])
    with pytest.raises(ProtocolError, match="no NLBL_MGMT_A_VERSION"):
        nl.version()
    # Domain map replies: an unknown family, CIPSO without its DOI, an unknown protocol.
    for family, protocol, problem in (
        (99, 5, "address family"),
        (2, 3, "NLBL_MGMT_A_CV4DOI"),
        (2, 6, "unexpected protocol"),
    ):
        attributes: list[tuple[str, object]] = [
            ("NLBL_MGMT_A_FAMILY", family),
            ("NLBL_MGMT_A_PROTOCOL", protocol),
        ]
        answers.append([_decoded(_genl.MgmtMsg, attributes)])
        with pytest.raises(ProtocolError, match=problem):
            nl.list_domain_maps()
    bad_tag = [
        ("NLBL_CIPSOV4_A_MTYPE", 2),
        ("NLBL_CIPSOV4_A_TAGLST", {"attrs": [("NLBL_CIPSOV4_A_TAG", 3)]}),
    ]
    answers.append([_decoded(_genl.CipsoMsg, bad_tag)])
    with pytest.raises(ProtocolError, match="does not fit the model"):
        nl.get_cipso_doi(16)
    good = [
        ("NLBL_CIPSOV4_A_MTYPE", 1),
        ("NLBL_CIPSOV4_A_TAGLST", {"attrs": [("NLBL_CIPSOV4_A_TAG", 1)]}),
        (
            "NLBL_CIPSOV4_A_MLSLVLLST",
            {
                "attrs": [
                    (
                        "NLBL_CIPSOV4_A_MLSLVL",
                        {
                            "attrs": [
                                ("NLBL_CIPSOV4_A_MLSLVLLOC", 0),
                                ("NLBL_CIPSOV4_A_MLSLVLREM", 7),
                            ]
                        },
                    )
                ]
            },
        ),
    ]
    answers.append([_decoded(_genl.CipsoMsg, good)])
    assert nl.get_cipso_doi(16) == cipso.CipsoDoi(
        16, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 7),)
    )


def test_values_out_of_range_are_refused_before_sending(
    fake_kernel: tuple[NetLabel, list[list[object]]],
) -> None:
    nl, answers = fake_kernel
    with pytest.raises(InvalidArgument, match="cipso del doi:-1"):
        nl.remove_cipso_doi(-1)
    with pytest.raises(InvalidArgument):
        nl.add_domain_map("", Labeling.unlabeled())
    with pytest.raises(InvalidArgument, match="not an IPv4 or IPv6"):
        nl.add_domain_map("x", Labeling.unlabeled(), address="10.0.0.300")
    with pytest.raises(InvalidArgument, match="interface name"):
        nl.add_static_label("a" * 16, "::1", "foo")
    assert answers == []
