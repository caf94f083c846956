"""The NetLabel client against the live kernel and the real netlabelctl.

What our client writes, netlabelctl lists identically (parsed, and as text next to our CLI's
text); what netlabelctl writes, our client lists identically. Every test holds the harness's
NetLabel lock while it changes state, uses DOIs from 3_100_000 up that did not exist before,
touches no mapping it did not create and restores what it changed (default mapping, accept
flag) in ``finally`` blocks.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

import calipso
import cipso
import netlabel
from mls import Level
from netlabel.client import NetLabel
from netlabel.harness import KernelAnswer, KernelHarness, netlabel_lock
from tests.support import need_program, need_root

from . import support
from .support import ours

pytestmark = pytest.mark.kernel

DOI_BASE = 3_100_000
T = cipso.TagType


# --- helpers ------------------------------------------------------------------------------------


def ctl(*args: str) -> str:
    """Run netlabelctl; return its standard output (raise on failure)."""
    proc = subprocess.run(["netlabelctl", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"netlabelctl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def ctl_status(*args: str) -> int:
    return subprocess.run(["netlabelctl", *args], capture_output=True, check=False).returncode


def same_text(*args: str) -> str:
    """Our CLI and netlabelctl print the same text for ``args``, plain and with -p."""
    text = ""
    for flags in ((), ("-p",)):
        expected = ctl(*flags, *args)
        got = ours(*flags, *args)
        assert got.status == 0, got.err
        assert got.out == expected, f"{' '.join((*flags, *args))}"
        text = text or expected
    return text


def parse_doi_list(text: str) -> dict[int, str]:
    """netlabelctl's terse ``cipso list`` / ``calipso list``: ``DOI,TYPE DOI,TYPE``."""
    return {int(d): kind for d, kind in (item.split(",") for item in text.split())}


def parse_cipso_doi(text: str) -> dict[str, tuple[object, ...]]:
    """netlabelctl's terse ``cipso list doi:N``: ``tags:1,2 levels:0=1 categories:``."""
    fields: dict[str, tuple[object, ...]] = {}
    for item in text.split():
        key, _, value = item.partition(":")
        if key == "tags":
            fields[key] = tuple(int(t) for t in value.split(","))
        else:
            pairs = [p.split("=") for p in value.split(",") if p]
            fields[key] = tuple((int(a), int(b)) for a, b in pairs)
    return fields


def parse_map_list(text: str) -> list[str]:
    """netlabelctl's terse ``map list``: one item per entry (entries start with domain:)."""
    return ["domain:" + item.strip() for item in text.strip().split("domain:") if item.strip()]


def selector(network: str, labeling: netlabel.Labeling) -> netlabel.AddressSelector:
    return netlabel.AddressSelector(ipaddress.ip_network(network), labeling)


def unused_dois(client: NetLabel, count: int) -> list[int]:
    return support.unused_dois(client, count, DOI_BASE)


def unused_domain(client: NetLabel, tag: str) -> str:
    taken = {m.domain for m in client.list_domain_maps()}
    name = f"labelnet_test_{os.getpid()}_{tag}"
    assert name not in taken, f"domain {name} exists already; refusing to touch it"
    return name


@contextlib.contextmanager
def cleanup(client: NetLabel) -> Iterator[list[tuple[str, object]]]:
    """Collect ("cipso"|"calipso"|"map", key) to remove afterwards, maps first."""
    todo: list[tuple[str, object]] = []
    try:
        yield todo
    finally:
        for kind, key in sorted(todo, key=lambda item: item[0] != "map"):
            with contextlib.suppress(netlabel.NotFound):
                if kind == "map":
                    client.remove_domain_map(str(key))
                elif kind == "cipso":
                    client.remove_cipso_doi(int(str(key)))
                else:
                    client.remove_calipso_doi(int(str(key)))


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[NetLabel]:
    need_root()
    need_program("netlabelctl")
    with NetLabel() as nl:
        yield nl


@pytest.fixture
def locked(client: NetLabel) -> Iterator[NetLabel]:
    with netlabel_lock():
        yield client


# --- management -------------------------------------------------------------------------------


def test_version_and_protocols(client: NetLabel) -> None:
    assert client.version() == int(ctl("mgmt", "version")) == 3
    protocols = client.protocols()
    assert protocols[:2] == (netlabel.Protocol.UNLABELED, netlabel.Protocol.CIPSOV4)
    names = {
        netlabel.Protocol.UNLABELED: "UNLABELED",
        netlabel.Protocol.CIPSOV4: "CIPSOv4",
        netlabel.Protocol.CALIPSO: "CALIPSO",
    }
    assert (
        ",".join(names[netlabel.Protocol(p)] for p in protocols) == ctl("mgmt", "protocols").strip()
    )
    same_text("mgmt", "version")
    same_text("mgmt", "protocols")


def test_listings_match_whatever_is_configured(client: NetLabel) -> None:
    with netlabel_lock():
        for module in ("map", "cipso", "calipso", "unlbl"):
            same_text(module, "list")
        assert parse_doi_list(ctl("cipso", "list")) == {
            d.doi: {1: "TRANSLATED", 2: "PASS_THROUGH", 3: "LOCAL"}[d.map_type]
            for d in client.list_cipso_dois()
        }


# --- CIPSO ------------------------------------------------------------------------------------


def cipso_definitions(dois: list[int]) -> list[cipso.CipsoDoi]:
    pass_doi, trans_doi, trans_nocat, local_doi = dois
    return [
        cipso.CipsoDoi(pass_doi, cipso.MapType.PASS, (T.RESTRICTED_BITMAP, T.ENUMERATED, T.RANGED)),
        cipso.CipsoDoi(
            trans_doi,
            cipso.MapType.TRANS,
            (T.RESTRICTED_BITMAP,),
            levels=((0, 0), (1, 1), (5, 200)),
            categories=((0, 1), (1, 2), (7, 65534)),
        ),
        cipso.CipsoDoi(trans_nocat, cipso.MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 3),)),
        cipso.CipsoDoi(local_doi, cipso.MapType.LOCAL, (T.LOCAL,)),
    ]


def check_cipso_doi_listed(client: NetLabel, definition: cipso.CipsoDoi) -> None:
    listed = parse_cipso_doi(ctl("cipso", "list", f"doi:{definition.doi}"))
    assert listed["tags"] == tuple(int(t) for t in definition.tags)
    if definition.map_type == cipso.MapType.TRANS:
        assert listed["levels"] == definition.levels
        assert listed["categories"] == definition.categories
    else:
        assert set(listed) == {"tags"}
    assert client.get_cipso_doi(definition.doi) == definition
    same_text("cipso", "list", f"doi:{definition.doi}")


def test_cipso_dois_we_add_netlabelctl_lists(locked: NetLabel) -> None:
    client = locked
    definitions = cipso_definitions(unused_dois(client, 4))
    with cleanup(client) as todo:
        for definition in definitions:
            client.add_cipso_doi(definition)
            todo.append(("cipso", definition.doi))
        kinds = parse_doi_list(ctl("cipso", "list"))
        assert [kinds[d.doi] for d in definitions] == [
            "PASS_THROUGH",
            "TRANSLATED",
            "TRANSLATED",
            "LOCAL",
        ]
        for definition in definitions:
            check_cipso_doi_listed(client, definition)
        same_text("cipso", "list")
        with pytest.raises(
            netlabel.AlreadyExists, match=rf"cipso add pass doi:{definitions[0].doi}"
        ):
            client.add_cipso_doi(definitions[0])
        for definition in definitions:
            client.remove_cipso_doi(definition.doi)
        assert not set(parse_doi_list(ctl("cipso", "list"))) & {d.doi for d in definitions}
        with pytest.raises(netlabel.NotFound):
            client.remove_cipso_doi(definitions[0].doi)
        with pytest.raises(netlabel.NotFound, match="no such CIPSO DOI"):
            client.get_cipso_doi(definitions[0].doi)


def test_cipso_dois_netlabelctl_adds_we_list(locked: NetLabel) -> None:
    client = locked
    definitions = cipso_definitions(unused_dois(client, 4))
    commands = [
        ["pass", "tags:1,2,5"],
        ["trans", "tags:1", "levels:0=0,1=1,5=200", "categories:0=1,1=2,7=65534"],
        ["trans", "tags:1", "levels:0=3"],
        ["local"],
    ]
    with cleanup(client) as todo:
        for definition, command in zip(definitions, commands, strict=True):
            ctl("cipso", "add", command[0], f"doi:{definition.doi}", *command[1:])
            todo.append(("cipso", definition.doi))
        listed = {d.doi: d.map_type for d in client.list_cipso_dois()}
        for definition in definitions:
            assert listed[definition.doi] == definition.map_type
            assert client.get_cipso_doi(definition.doi) == definition


def test_cipso_add_through_our_cli(locked: NetLabel) -> None:
    client = locked
    pass_doi, trans_doi = unused_dois(client, 2)
    with cleanup(client) as todo:
        todo += [("cipso", pass_doi), ("cipso", trans_doi)]
        assert ours("cipso", "add", "pass", f"doi:{pass_doi}", "tags:1,2,5").status == 0
        run = ours(
            "cipso", "add", "trans", f"doi:{trans_doi}", "tags:1", "levels:0=0,1=1",
            "categories:0=1,1=2",
        )  # fmt: skip
        assert run.status == 0, run.err
        assert (
            ctl("cipso", "list", f"doi:{trans_doi}") == "tags:1 levels:0=0,1=1 categories:0=1,1=2\n"
        )
        again = ours("cipso", "add", "pass", f"doi:{pass_doi}", "tags:1")
        assert again.status == 1 and again.out == ""
        assert again.err.count("\n") == 1 and "already exists" in again.err
        assert ours("cipso", "del", f"doi:{pass_doi}").status == 0
        assert ctl_status("cipso", "list", f"doi:{pass_doi}") != 0


# --- CALIPSO ----------------------------------------------------------------------------------


def test_calipso_dois_both_ways(locked: NetLabel) -> None:
    client = locked
    ours_doi, theirs_doi = unused_dois(client, 2)
    with cleanup(client) as todo:
        client.add_calipso_doi(calipso.CalipsoDoi(ours_doi))
        todo.append(("calipso", ours_doi))
        ctl("calipso", "add", "pass", f"doi:{theirs_doi}")
        todo.append(("calipso", theirs_doi))
        assert parse_doi_list(ctl("calipso", "list"))[ours_doi] == "PASS_THROUGH"
        assert ctl("calipso", "list", f"doi:{ours_doi}") == "type:PASS_THROUGH\n"
        listed = {d.doi: d.map_type for d in client.list_calipso_dois()}
        assert listed[theirs_doi] == calipso.MapType.PASS
        assert client.get_calipso_doi(theirs_doi) == calipso.CalipsoDoi(theirs_doi)
        for doi in (ours_doi, theirs_doi):
            same_text("calipso", "list", f"doi:{doi}")
        same_text("calipso", "list")
        with pytest.raises(netlabel.AlreadyExists):
            client.add_calipso_doi(calipso.CalipsoDoi(theirs_doi))
        client.remove_calipso_doi(theirs_doi)
        assert theirs_doi not in parse_doi_list(ctl("calipso", "list"))
        with pytest.raises(netlabel.NotFound, match="no such CALIPSO DOI"):
            client.get_calipso_doi(theirs_doi)
        assert ours("calipso", "del", f"doi:{ours_doi}").status == 0
        assert ours_doi not in parse_doi_list(ctl("calipso", "list"))


# --- domain mappings --------------------------------------------------------------------------


def test_domain_maps_with_selectors_both_ways(locked: NetLabel) -> None:
    client = locked
    cipso_n, calipso_n = unused_dois(client, 2)
    sel_domain = unused_domain(client, "sel")
    v6_domain = unused_domain(client, "v6")
    plain_domain = unused_domain(client, "plain")
    theirs = unused_domain(client, "theirs")
    net4 = ipaddress.ip_network("10.77.0.0/16")
    with cleanup(client) as todo:
        client.add_cipso_doi(cipso.CipsoDoi(cipso_n, cipso.MapType.PASS, (T.RESTRICTED_BITMAP,)))
        todo.append(("cipso", cipso_n))
        client.add_calipso_doi(calipso.CalipsoDoi(calipso_n))
        todo.append(("calipso", calipso_n))
        todo += [("map", d) for d in (sel_domain, v6_domain, plain_domain, theirs)]

        # Host bits are cleared by the kernel, as netlabelctl shows.
        client.add_domain_map(sel_domain, netlabel.Labeling.cipso(cipso_n), address="10.77.1.2/16")
        client.add_domain_map(sel_domain, netlabel.Labeling.unlabeled(), address="10.78.0.0/24")
        client.add_domain_map(
            sel_domain, netlabel.Labeling.calipso(calipso_n), address="fd00:77::5/64"
        )
        client.add_domain_map(v6_domain, netlabel.Labeling.unlabeled(), family=socket.AF_INET6)
        client.add_domain_map(plain_domain, netlabel.Labeling.cipso(cipso_n))
        ctl("map", "add", f"domain:{theirs}", "address:192.0.2.0/25", f"protocol:cipso,{cipso_n}")

        mine = {(m.domain, m.family): m for m in client.list_domain_maps()}
        assert mine[(sel_domain, socket.AF_INET)] == netlabel.DomainMap(
            sel_domain,
            socket.AF_INET,
            # The kernel keeps selectors with longer prefixes first.
            selectors=(
                selector("10.78.0.0/24", netlabel.Labeling.unlabeled()),
                netlabel.AddressSelector(net4, netlabel.Labeling.cipso(cipso_n)),
            ),
        )
        assert mine[(sel_domain, socket.AF_INET6)].selectors == (
            selector("fd00:77::/64", netlabel.Labeling.calipso(calipso_n)),
        )
        assert mine[(v6_domain, socket.AF_INET6)].labeling == netlabel.Labeling.unlabeled()
        assert mine[(plain_domain, socket.AF_INET)].labeling == netlabel.Labeling.cipso(cipso_n)
        assert mine[(theirs, socket.AF_INET)].selectors == (
            selector("192.0.2.0/25", netlabel.Labeling.cipso(cipso_n)),
        )

        items = parse_map_list(same_text("map", "list"))
        assert (
            f'domain:"{sel_domain}",address:10.78.0.0/24,protocol:UNLABELED,'
            f"address:10.77.0.0/16,protocol:CIPSOv4,{cipso_n}" in items
        )
        assert f'domain:"{sel_domain}",address:fd00:77::/64,protocol:CALIPSO,{calipso_n}' in items
        assert f'domain:"{v6_domain}",UNLABELED,6' in items
        assert f'domain:"{plain_domain}",CIPSOv4,{cipso_n}' in items

        # A duplicate selector is EEXIST; a second plain mapping for a domain is EINVAL.
        with pytest.raises(netlabel.AlreadyExists):
            client.add_domain_map(sel_domain, netlabel.Labeling.unlabeled(), address="10.78.0.0/24")
        with pytest.raises(netlabel.InvalidArgument, match=f"map add domain:{plain_domain}"):
            client.add_domain_map(
                plain_domain, netlabel.Labeling.unlabeled(), family=socket.AF_INET
            )

        # Removing a DOI takes the plain mappings that use it along, but not the address
        # selectors: those stay, still listing the removed DOI's number.
        client.remove_cipso_doi(cipso_n)
        left = {(m.domain, m.family): m for m in client.list_domain_maps()}
        assert (plain_domain, socket.AF_INET) not in left
        assert left[(theirs, socket.AF_INET)] == mine[(theirs, socket.AF_INET)]
        assert left[(sel_domain, socket.AF_INET)] == mine[(sel_domain, socket.AF_INET)]
        assert cipso_n not in {d.doi for d in client.list_cipso_dois()}
        client.remove_calipso_doi(calipso_n)
        left = {(m.domain, m.family): m for m in client.list_domain_maps()}
        assert left[(sel_domain, socket.AF_INET6)] == mine[(sel_domain, socket.AF_INET6)]
        same_text("map", "list")

        client.remove_domain_map(sel_domain)
        assert not {sel_domain} & {m.domain for m in client.list_domain_maps()}
        assert sel_domain not in ctl("map", "list")
        with pytest.raises(netlabel.NotFound, match=f"map del domain:{sel_domain}"):
            client.remove_domain_map(sel_domain)


def test_map_add_with_an_unknown_doi_names_the_operation(locked: NetLabel) -> None:
    (doi,) = unused_dois(locked, 1)
    domain = unused_domain(locked, "nodoi")
    with pytest.raises(
        netlabel.InvalidArgument, match=f"map add domain:{domain}.*DOI is not configured"
    ):
        locked.add_domain_map(domain, netlabel.Labeling.cipso(doi))
    run = ours("map", "add", f"domain:{domain}", f"protocol:cipso,{doi}")
    assert run.status == 1 and run.err.startswith("netlabel: error, map add") and run.out == ""


def test_default_map_saved_changed_and_restored(locked: NetLabel) -> None:
    client = locked
    saved = client.list_default_maps()
    text_before = ctl("map", "list")
    cipso_n, calipso_n = unused_dois(client, 2)
    with cleanup(client) as todo:
        client.add_cipso_doi(cipso.CipsoDoi(cipso_n, cipso.MapType.PASS, (T.RESTRICTED_BITMAP,)))
        todo.append(("cipso", cipso_n))
        client.add_calipso_doi(calipso.CalipsoDoi(calipso_n))
        todo.append(("calipso", calipso_n))
        try:
            client.remove_default_map()
            assert client.list_default_maps() == ()
            client.add_default_map(netlabel.Labeling.calipso(calipso_n), address="::1")
            client.add_default_map(netlabel.Labeling.cipso(cipso_n), address="127.0.0.0/8")
            client.add_default_map(netlabel.Labeling.unlabeled(), address="0.0.0.0/0")
            assert client.list_default_maps() == (
                netlabel.DomainMap(
                    None,
                    socket.AF_INET,
                    selectors=(
                        selector("127.0.0.0/8", netlabel.Labeling.cipso(cipso_n)),
                        selector("0.0.0.0/0", netlabel.Labeling.unlabeled()),
                    ),
                ),
                netlabel.DomainMap(
                    None,
                    socket.AF_INET6,
                    selectors=(selector("::1/128", netlabel.Labeling.calipso(calipso_n)),),
                ),
            )
            items = parse_map_list(same_text("map", "list"))
            assert items[-1] == f"domain:DEFAULT,address:::1/128,protocol:CALIPSO,{calipso_n}"
            assert items[-2] == (
                f"domain:DEFAULT,address:127.0.0.0/8,protocol:CIPSOv4,{cipso_n},"
                "address:0.0.0.0/0,protocol:UNLABELED"
            )
            # Through our CLI, as in netlabelctl's man page.
            assert ours("map", "del", "default").status == 0
            assert (
                ours("map", "add", "default", "address:::1", f"protocol:calipso,{calipso_n}").status
                == 0
            )
            assert parse_map_list(ctl("map", "list"))[-1] == (
                f"domain:DEFAULT,address:::1/128,protocol:CALIPSO,{calipso_n}"
            )
        finally:
            with contextlib.suppress(netlabel.NotFound):
                client.remove_default_map()
            for entry in saved:
                client.add_map(entry)
        assert client.list_default_maps() == saved
        assert ctl("map", "list") == text_before


# --- unlabeled traffic ------------------------------------------------------------------------


def test_accept_flag_set_and_restored(locked: NetLabel) -> None:
    client = locked
    before = client.get_accept()
    assert ctl("unlbl", "list").startswith(f"accept:{'on' if before else 'off'}")
    try:
        client.set_accept(not before)
        assert client.get_accept() is (not before)
        assert ctl("unlbl", "list").startswith(f"accept:{'off' if before else 'on'}")
        same_text("unlbl", "list")
        assert ours("unlbl", "accept", "on" if before else "off").status == 0
        assert client.get_accept() is before
    finally:
        client.set_accept(before)
    assert client.get_accept() is before


def test_static_labels_add_and_remove_both_ways(locked: NetLabel) -> None:
    client = locked
    address = f"127.77.{os.getpid() % 250}.1"
    try:
        client.add_static_label("lo", address, "system_u:object_r:netlabel_peer_t:s0")
    except netlabel.InvalidArgument:
        pytest.skip("the active LSM refuses the test label")
    try:
        # netlabelctl finds and removes what we added ...
        assert ctl_status("unlbl", "del", "interface:lo", f"address:{address}") == 0
        with pytest.raises(netlabel.NotFound):
            client.remove_static_label("lo", address)
        # ... and we remove what netlabelctl added (default entries, any interface).
        ctl("unlbl", "add", "default", "address:::1", "label:system_u:object_r:netlabel_peer_t:s0")
        client.remove_static_label(None, "::1/128")
        assert ctl_status("unlbl", "del", "default", "address:::1") != 0
        # The same through our command line.
        label = "label:system_u:object_r:netlabel_peer_t:s0"
        assert ours("unlbl", "add", "interface:lo", f"address:{address}/32", label).status == 0
        assert ctl_status("unlbl", "del", "interface:lo", f"address:{address}") == 0
        ctl("unlbl", "add", "default", f"address:{address}", label)
        assert ours("unlbl", "del", "default", f"address:{address}").status == 0
        gone = ours("unlbl", "del", "default", f"address:{address}")
        assert gone.status == 1 and "not found" in gone.err
    finally:
        ctl_status("unlbl", "del", "interface:lo", f"address:{address}")
        ctl_status("unlbl", "del", "default", f"address:{address}")
        ctl_status("unlbl", "del", "default", "address:::1")
    # Whatever the LSM can show, both tools show alike.
    same_text("unlbl", "list")


# --- errors that need another identity or namespace ------------------------------------------


def test_changes_without_cap_net_admin_are_permission_denied(client: NetLabel) -> None:
    (doi,) = unused_dois(client, 1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to nobody, then try a change and a listing
        status = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            with NetLabel() as nl:
                nl.version()  # listing needs no privilege
                try:
                    nl.add_calipso_doi(calipso.CalipsoDoi(doi))
                except netlabel.PermissionDenied as exc:
                    os.write(write, str(exc).encode())
                    status = 0
        finally:
            os._exit(status)
    os.close(write)
    message = os.read(read, 4096).decode()
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "no PermissionDenied without CAP_NET_ADMIN"
    assert message == f"calipso add pass doi:{doi}: permission denied (needs CAP_NET_ADMIN) (EPERM)"
    assert doi not in {d.doi for d in client.list_calipso_dois()}


@pytest.fixture
def other_netns() -> Iterator[str]:
    need_root()
    need_program("ip")
    # Named like the harness's namespaces, so that its sweep removes it if this process dies.
    name = f"labelnet-{os.getpid()}-{secrets.token_hex(3)}-a"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)


def test_netlabel_is_configured_only_from_the_initial_namespace(other_netns: str) -> None:
    need_program("netlabelctl")
    exec_in = ["ip", "netns", "exec", other_netns]
    theirs = subprocess.run(
        [*exec_in, "netlabelctl", "mgmt", "version"], check=False, capture_output=True, text=True
    )
    assert theirs.returncode != 0 and "failed to initialize" in theirs.stderr
    code = (
        "import sys\n"
        "from netlabel import NetLabel, FamilyNotFound\n"
        "try:\n"
        "    NetLabel().version()\n"
        "except FamilyNotFound as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    mine = subprocess.run(
        [*exec_in, sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env
    )
    assert mine.returncode == 3, mine.stderr
    assert "only be configured from the initial network namespace" in mine.stdout
    cli = subprocess.run(
        [*exec_in, sys.executable, "-m", "netlabel", "cipso", "list"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    assert cli.returncode == 1 and cli.stdout == ""
    assert cli.stderr.startswith("netlabel: error, cipso list: generic netlink family NLBL_CIPSOv4")
    assert "Traceback" not in cli.stderr
    assert issubclass(netlabel.FamilyNotFound, OSError)


def test_a_doi_added_from_the_initial_namespace_applies_in_every_namespace(
    locked: NetLabel, kernel_harness: KernelHarness
) -> None:
    """DOIs are global: one added here makes another namespace's kernel accept the option."""
    client, harness = locked, kernel_harness
    (doi,) = unused_dois(client, 1)
    definition = cipso.CipsoDoi(doi, cipso.MapType.PASS, (T.RESTRICTED_BITMAP,))
    option = definition.encode_label(Level.parse("s3:c0,c5"))
    rejected = cipso.VerdictKind.PARAMETER_PROBLEM
    assert kind_of(harness.cipso_option_verdict(option)) is rejected
    client.add_cipso_doi(definition)
    try:
        assert kind_of(harness.cipso_option_verdict(option)) is cipso.VerdictKind.ACCEPTED
    finally:
        client.remove_cipso_doi(doi)
    assert kind_of(harness.cipso_option_verdict(option)) is rejected


def kind_of(answer: KernelAnswer[cipso.Verdict]) -> cipso.VerdictKind | None:
    return None if answer.verdict is None else answer.verdict.kind


def test_closed_client_refuses_requests() -> None:
    nl = NetLabel()
    nl.close()
    nl.close()
    with pytest.raises(netlabel.NetLabelError, match="closed"):
        nl.version()
