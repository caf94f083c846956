"""NetLabel configuration as a rules file (netlabel.rules, python -m netlabel save|load|diff|reset).

The tests without a kernel check the parsing and the worked-out configurations; the kernel
tests load files into the live kernel and compare what it lists with what was worked out,
holding the harness's NetLabel lock and putting the configuration back as it was.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from netlabel import rules
from netlabel.rules import BOOT, Configuration, RulesError, parse_rules
from tests.support import need_program, need_root, run_python

from .support import ours
from .support import unused_dois as _unused_dois

#: DOI numbers these tests use start here (tests/netlabel/test_kernel.py uses 3_100_000 up).
DOI_BASE = 3_200_000


def unused_dois(client: NetLabel, count: int) -> list[int]:
    return _unused_dois(client, count, DOI_BASE)


if TYPE_CHECKING:
    from netlabel.client import NetLabel

SITE = """\
# A site configuration, as netlabel-config would load it.
cipso add pass doi:{a} tags:1,2,5
cipso add trans doi:{b} tags:1 levels:0=0,1=3 categories:0=1,1=2
cipso add local doi:{c}
calipso add pass doi:{d}
map add domain:labelnet_rules_httpd_t protocol:cipso,{a}
map add domain:labelnet_rules_x_t address:10.0.0.0/8 protocol:cipso,{b}
map add domain:labelnet_rules_x_t address:10.1.0.0/16 protocol:unlbl
map add domain:labelnet_rules_x_t address:fd00::/8 protocol:calipso,{d}
map add domain:labelnet_rules_plain_t protocol:unlbl
"""

DEFAULTS = """\
map del default
map add default address:0.0.0.0/0 protocol:unlbl
map add default address:::1 protocol:calipso,{d}
map add default address:::/0 protocol:unlbl
unlbl accept off
"""


def _site(a: int = 16, b: int = 3, c: int = 5, d: int = 2, *, defaults: bool = True) -> str:
    text = SITE + (DEFAULTS if defaults else "")
    return text.format(a=a, b=b, c=c, d=d)


# -- without a kernel ---------------------------------------------------------------------


def test_the_site_file_works_out_and_saves_back_to_itself() -> None:
    config = BOOT.apply(parse_rules(_site()))
    assert [d.doi for d in config.cipso_dois] == [3, 5, 16]
    assert not config.accept
    x_maps = [m for m in config.maps if m.domain == "labelnet_rules_x_t"]
    # One entry per address family; the longer prefix first.
    assert [[str(s.network) for s in m.selectors] for m in x_maps] == [
        ["10.1.0.0/16", "10.0.0.0/8"],
        ["fd00::/8"],
    ]
    again = BOOT.apply(parse_rules(config.to_rules()))
    assert again == config
    assert BOOT.to_rules() == ""


def test_a_default_for_both_families_is_one_line() -> None:
    config = BOOT.apply(parse_rules("map del default\nmap add default protocol:unlbl"))
    assert config == BOOT
    four = BOOT.apply(parse_rules("map del default\nmap add default protocol:unlbl,4"))
    assert four.to_rules() == "map del default\nmap add default protocol:unlbl,4\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("cipso add pass doi:16 tags:1\n\nmap add domain:x protocol:cipso,17", 3, "not configured"),
        ("cipso add pass doi:16 tags:1\ncipso add pass doi:16 tags:1", 2, "already configured"),
        ("# nothing\nmap del domain:nobody", 2, "no domain nobody"),
        ("map add default protocol:unlbl", 1, "already mapped"),
        ("map del default\nmap add default address:::1 protocol:cipso,1\n", 2, "not configured"),
        (
            "cipso add pass doi:1 tags:1\nmap del default\n"
            "map add default address:::1 protocol:cipso,1",
            3,
            "cannot label IPv6",
        ),
        ("unlbl del default address:10.0.0.1", 1, "no static label"),
        ("cipso frob doi:1", 1, "not a command that changes NetLabel"),
        ("cipso add pass doi:x tags:1", 1, "doi"),
        ("cipso add", 1, ""),
        ("cipso", 1, "expected a netlabelctl command"),
        ('unlbl add default address:1.2.3.4 label:"a', 1, "quotation"),
    ],
)
def test_refusals_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(RulesError) as caught:
        BOOT.apply(parse_rules(text, "site.rules"))
    assert caught.value.line == line
    assert words in caught.value.reason
    assert str(caught.value).startswith(f"site.rules:{line}: ")


def test_removing_a_doi_removes_the_plain_mappings_that_use_it() -> None:
    config = BOOT.apply(parse_rules(_site(defaults=False) + "cipso del doi:16\ncipso del doi:3"))
    domains = {m.domain for m in config.maps}
    assert "labelnet_rules_httpd_t" not in domains  # plain: gone with its DOI
    assert "labelnet_rules_x_t" in domains  # through a selector: kept


def test_difference_lists_what_each_side_has() -> None:
    current = BOOT.apply(parse_rules("cipso add pass doi:16 tags:1"))
    wanted = BOOT.apply(parse_rules("cipso add pass doi:16 tags:1,2\nunlbl accept off"))
    assert rules.difference(current, wanted) == [
        "- cipso add pass doi:16 tags:1",
        "- unlbl accept on",
        "+ cipso add pass doi:16 tags:1,2",
        "+ unlbl accept off",
    ]
    assert rules.difference(wanted, wanted) == []


def test_netlabelctl_in_front_and_comments_are_allowed() -> None:
    commands = parse_rules("  # comment\nnetlabelctl cipsov4 add local doi:7\n")
    assert [(c.line, c.module, c.verb) for c in commands] == [(2, "cipso", "add")]


# -- against the kernel -------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[NetLabel]:
    need_root()
    from netlabel.client import NetLabel
    from netlabel.harness import netlabel_lock

    with netlabel_lock(), NetLabel() as nl:
        before = Configuration.read(nl)
        try:
            yield nl
        finally:
            rules.restore(nl, before)
            assert Configuration.read(nl) == before


@pytest.mark.kernel
def test_load_gives_what_was_worked_out(client: NetLabel) -> None:
    a, b, c, d = unused_dois(client, 4)
    text = _site(a, b, c, d, defaults=False)
    before, after = rules.load(client, text, source="site.rules")
    assert Configuration.read(client) == after
    assert after != before
    rules.restore(client, before)
    assert Configuration.read(client) == before


@pytest.mark.kernel
def test_save_reset_load_round_trip(client: NetLabel) -> None:
    a, b, c, d = unused_dois(client, 4)
    rules.load(client, _site(a, b, c, d), source="site.rules")
    running = Configuration.read(client)
    saved = rules.save(client)
    assert "map del default" in saved and "unlbl accept off" in saved
    rules.reset(client)
    assert Configuration.read(client) == BOOT
    rules.load(client, saved)
    assert Configuration.read(client) == running
    assert rules.diff(client, saved) == []
    assert rules.diff(client, "") != []


@pytest.mark.kernel
def test_netlabelctl_loads_a_saved_file_as_netlabel_config_does(client: NetLabel) -> None:
    """What save writes, netlabelctl runs line by line (netlabel-config load) into the same
    configuration."""
    need_program("netlabelctl")
    a, b, c, d = unused_dois(client, 4)
    rules.load(client, _site(a, b, c, d), source="site.rules")
    running = Configuration.read(client)
    saved = rules.save(client)
    rules.reset(client)
    for line in saved.splitlines():
        subprocess.run(["netlabelctl", *shlex.split(line)], check=True, capture_output=True)
    assert Configuration.read(client) == running


@pytest.mark.kernel
def test_a_refused_command_puts_everything_back(
    client: NetLabel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel refusing the fourth command undoes the three before it."""
    a, b, c, d = unused_dois(client, 4)
    real = rules._ACTIONS[("calipso", "add")]

    def refused(nl: object, parsed: object) -> None:
        raise OSError("refused on purpose")

    monkeypatch.setitem(rules._ACTIONS, ("calipso", "add"), refused)
    before = Configuration.read(client)
    with pytest.raises(RulesError) as caught:
        rules.load(client, _site(a, b, c, d), source="site.rules")
    assert caught.value.line == 5 and "back as it was" in caught.value.reason
    assert Configuration.read(client) == before
    monkeypatch.setitem(rules._ACTIONS, ("calipso", "add"), real)


@pytest.mark.kernel
def test_a_line_the_kernel_would_refuse_changes_nothing(client: NetLabel) -> None:
    # The map names a DOI that does not exist (a + 1 could: a number is free only if found so).
    a, missing = unused_dois(client, 2)
    before = Configuration.read(client)
    text = (
        f"cipso add pass doi:{a} tags:1\nmap add domain:labelnet_rules_y_t protocol:cipso,{missing}"
    )
    with pytest.raises(RulesError) as caught:
        rules.load(client, text)
    assert caught.value.line == 2
    assert Configuration.read(client) == before


@pytest.mark.kernel
def test_the_command_line(client: NetLabel, tmp_path: Path) -> None:
    need_program("netlabelctl")
    a, b, c, d = unused_dois(client, 4)
    path = f"{tmp_path}/site.rules"
    with open(path, "w", encoding="utf-8") as file:
        file.write(_site(a, b, c, d, defaults=False))
    dry = ours("load", "--dry-run", path)
    assert dry.status == 0 and f"+ cipso add pass doi:{a} tags:1,2,5" in dry.out
    assert ours("load", path).status == 0
    # netlabelctl sees what was loaded.
    listed = subprocess.run(
        ["netlabelctl", "cipso", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert f"{a},PASS_THROUGH" in listed and f"{b},TRANSLATED" in listed
    saved = ours("save")
    assert saved.status == 0 and f"cipso add local doi:{c}" in saved.out
    # The kernel holds what the file describes, plus whatever was configured before.
    before_load = Configuration.read(client)
    differs = ours("diff", path)
    assert differs.status == (
        0 if before_load == BOOT.apply(parse_rules(_site(a, b, c, d, defaults=False))) else 1
    )
    with open(path, "a", encoding="utf-8") as file:
        file.write("unlbl accept off\n")
    more = ours("diff", path)
    assert more.status == 1 and "- unlbl accept on\n+ unlbl accept off\n" in more.out
    bad = ours("load", path)
    assert bad.status == 1 and f"{path}:2:" in bad.err and "already configured" in bad.err


def test_module_runs_as_a_script() -> None:
    done = run_python("-m", "netlabel", "diff", "--help")
    assert done.returncode == 0, done.stderr
    assert "'- line' is only in the kernel" in done.stdout
