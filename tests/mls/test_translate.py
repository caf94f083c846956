"""mcstrans-compatible translation: the shipped example configurations and their expected
translations, our own configurations, and (where Debian's mcstransd is installed) a comparison
with the running daemon on thousands of generated queries."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mls import Level, MlsSyntaxError, Range, translate
from mls.strategies import ranges
from mls.translate import (
    MAX_CONFIG_FILES,
    MAX_INCLUDE_DEPTH,
    SetransError,
    SetransIncludeError,
    SetransSyntaxError,
    Translator,
    _format_level,
)
from tests.mcstransd import RAW_TO_TRANS_CONTEXT, TRANS_TO_RAW_CONTEXT, LiveDaemon, build_shim
from tests.mls.setrans_texts import TARGETED
from tests.support import need

from .support import run_cli

EXAMPLES = Path("/usr/share/doc/mcstrans/examples")
# The shipped examples include their fragments from where the README says to install them.
INSTALLED_FRAGMENTS = "/etc/selinux/mls/setrans.d"

# A base classification, one modifier group with a prefix and suffixes, like the pipes example.
PIPES = """\
Domain=Pipes
s0=SystemLow
Base=Sensitivity Levels
s1=Unclassified
s2:c200.c511=Restricted
s2:c200.c511=R
ModifierGroup=Pipes
Prefix=Handle Via
Suffix=Pipes Only
Suffix=Pipes
Whitespace=,
Join=,
c101=Plastic
c102=Iron
c103=Copper
"""

# Our own: a default domain ahead of a named one, constraints of every kind, an s0 base, two
# groups of the same name, a word group without affixes, Default given after some words,
# aliases, a non-canonical base (whose computed name ends in a blank), trailing comments.
LAB = """\
# a cache-only default domain first
s0=SystemLow
s0:c0.c1023=SystemHigh   # trailing comment
s9=Top
Domain=Lab
s0-s3:c10.c19=Low-Top
Base=levels
s0=Public
s0:c10=Staff
s1=Internal
s1=INT
s2:c10.c19=Restricted
s3:c10.c19=Confidential
s4:c1,c2,c3=Odd
ModifierGroup=Projects
Whitespace=+
Join=+
c1=Apollo
c2=Gemini
c3=Mercury
c1.c3=Space
ModifierGroup=Handling
Prefix=HANDLE VIA
Prefix=HANDLE
Suffix=ONLY
~c11=Courier
Default=c10.c19
~c12=Mail
~c11,~c12=Any
ModifierGroup=Projects
c4=Skylab
c5!c6
c7>c1,c2
s3!c4
s1>c5
"""

# Two groups with different Defaults: mcstrans retires a chosen word's categories XOR the
# base's, so a word of the first group also "explains" the base bits the second group clears.
MIXED_DEFAULTS = """\
Base=levels
s3:c200.c511=Confidential
ModifierGroup=Pipes
Prefix=Handle Via
Suffix=Pipes Only
Whitespace=,
Join=,
c101=Plastic
c103=Copper
ModifierGroup=Releasable
Prefix=REL TO
Default=c200.c511
Whitespace=/
Join=/
~c203=GBR
~c204=NZL
"""

# The lab configuration without the leading default domain, so that ranges are computed too.
LAB_SINGLE = LAB.split("Domain=Lab\n", 1)[1].replace("# a cache-only default domain first\n", "")


def example_translator(name: str) -> Translator:
    directory = EXAMPLES / name
    fragments = str(directory / "setrans.d")
    return Translator.from_file(
        directory / "setrans.conf",
        resolve_include=lambda pattern: pattern.replace(INSTALLED_FRAGMENTS, fragments),
    )


def expectations(test_file: Path) -> Iterator[tuple[str, str, str]]:
    """(direction, input, expected) from an mlstrans-test file: ``NAME==RAW`` checks both
    directions, ``NAME=RAW`` only name -> raw; each is tried inside the context ``a:b:c:``."""
    for line in test_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if "==" in line:
            name, raw = line.split("==")
            yield "untranslate", name, raw
            yield "translate", raw, name
        else:
            name, raw = line.split("=")
            yield "untranslate", name, raw


SHIPPED_TESTS = [
    ("default", "default.test", 52),
    ("include", "default.test", 52),
    ("nato", "nato.test", 13),
    ("pipes", "pipes.test", 11),
    ("urcsts", "urcsts.test", 23),
    ("urcsts-via-include", "urcsts.test", 23),
]


def need_examples() -> None:
    need(
        (EXAMPLES / "nato" / "nato.test").is_file(),
        f"needs the mcstrans example configurations in {EXAMPLES} (Debian package mcstrans)",
    )


# -- the shipped examples ------------------------------------------------------------------------


@pytest.mark.parametrize(("example", "test_file", "checks"), SHIPPED_TESTS)
def test_shipped_example_translations(example: str, test_file: str, checks: int) -> None:
    need_examples()
    translator = example_translator(example)
    failures = []
    done = 0
    for direction, given_text, expected in expectations(EXAMPLES / example / test_file):
        convert = (
            translator.translate_context
            if direction == "translate"
            else translator.untranslate_context
        )
        got = convert("a:b:c:" + given_text)
        done += 1
        if got != "a:b:c:" + expected:
            failures.append(f"{direction} {given_text!r} -> {got!r}, expected {expected!r}")
    assert failures == []
    assert done == checks  # every line of the file was read and checked


def test_shipped_examples_are_all_covered() -> None:
    need_examples()
    shipped = {path.parent.name for path in EXAMPLES.glob("*/*.test")}
    assert shipped == {example for example, _, _ in SHIPPED_TESTS}


def test_nato_computed_names_both_ways() -> None:
    need_examples()
    nato = example_translator("nato")
    assert nato.domain_names == ("NATOEXAMPLE",)
    raw = "s5:c1,c201.c214,c216.c429,c431.c511"
    assert nato.translate(raw) == "NATO SECRET REL AUS/US"
    # Word order and case are free on input; lookup of the canonical spelling comes back.
    assert nato.untranslate("NATO SECRET REL US/AUS") == raw
    assert nato.untranslate("nato secret rel aus,us") == raw
    # c0 and c1 are exclusive (constraints.conf): no name, the raw text comes back.
    assert nato.translate("s5:c0,c1,c200.c511") == "s5:c0,c1,c200.c511"
    assert nato.untranslate_range("NATO CONFIDENTIAL-NATO SECRET") == Range.parse(
        "s4:c1,c200.c511-s5:c1,c200.c511"
    )


# -- our own configurations ----------------------------------------------------------------------


def test_targeted_policy_names() -> None:
    targeted = Translator.from_text(TARGETED)
    assert targeted.domain_names == ("Default",)
    assert targeted.translate("s0-s0:c0.c1023") == "SystemLow-SystemHigh"
    assert targeted.translate(Range.parse("s0-s0:c0.c1023")) == "SystemLow-SystemHigh"
    assert targeted.translate(Level.parse("s0:c0.c1023")) == "SystemHigh"
    assert targeted.untranslate("SystemHigh") == "s0:c0.c1023"
    assert targeted.untranslate_level("SystemLow") == Level(0)
    # A container label has no name; a range is split and each half named where possible.
    assert targeted.translate("s0:c12,c345") == "s0:c12,c345"
    assert targeted.translate("s0-s0:c12,c345") == "SystemLow-s0:c12,c345"
    assert targeted.untranslate("SystemLow-s0:c12,c345") == "s0-s0:c12,c345"
    assert targeted.translate_context("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023") == (
        "unconfined_u:unconfined_r:unconfined_t:SystemLow-SystemHigh"
    )
    assert targeted.untranslate_context("system_u:object_r:etc_t:SystemLow") == (
        "system_u:object_r:etc_t:s0"
    )


def test_lookup_is_by_exact_raw_text() -> None:
    translator = Translator.from_text("s2:c1,c2,c3=Odd\ns2:c1.c3=Canonical\n")
    # Cache entries are not parsed: only the spelling the kernel prints finds the second.
    assert translator.translate("s2:c1.c3") == "Canonical"
    assert translator.translate("s2:c1,c2,c3") == "Odd"
    assert translator.translate("s2:c3,c2,c1") == "s2:c3,c2,c1"


def test_first_name_wins_and_every_name_is_accepted() -> None:
    translator = Translator.from_text("s1=UNCLASSIFIED\ns1=UNCLAS\ns1=U\n")
    assert translator.translate("s1") == "UNCLASSIFIED"
    assert [translator.untranslate(name) for name in ("UNCLASSIFIED", "UNCLAS", "U")] == ["s1"] * 3
    assert translator.untranslate("unclas") == "unclas"  # cache lookup is case-sensitive


def test_range_halves_collapse_and_stay_raw() -> None:
    translator = Translator.from_text("s0=Low\ns2=High\n")
    assert translator.translate("s0-s2") == "Low-High"
    assert translator.translate("s0-s0") == "Low"
    assert translator.translate("s0-s7") == "Low-s7"
    assert translator.untranslate("Low-High") == "s0-s2"
    assert translator.untranslate("High-High") == "s2"
    assert translator.untranslate("Low-Nowhere") == "s0-Nowhere"


def test_computed_names_pipes() -> None:
    pipes = Translator.from_text(PIPES)
    assert pipes.translate("s2:c101,c200.c511") == "Restricted Handle Via Plastic Pipes Only"
    assert pipes.translate("s2:c101.c103,c200.c511") == (
        "Restricted Handle Via Plastic,Iron,Copper Pipes Only"
    )
    assert pipes.untranslate("R Handle Via Copper,Iron Pipes") == "s2:c102,c103,c200.c511"
    assert pipes.untranslate("restricted handle via iron pipes only") == "s2:c102,c200.c511"
    assert pipes.untranslate("Restricted Handle Via Gold Pipes Only") == (
        "Restricted Handle Via Gold Pipes Only"
    )
    # Categories beyond the highest one the configuration mentions are never computed.
    assert pipes.translate("s2:c200.c512") == "s2:c200.c512"


def test_constraints_and_s0_words() -> None:
    lab = Translator.from_text(LAB_SINGLE)
    assert lab.translate("s1:c1") == "Internal Apollo"
    assert lab.translate("s1:c5,c6") == "s1:c5,c6"  # c5!c6
    assert lab.translate("s1:c1,c7") == "s1:c1,c7"  # c7>c1,c2: c7 needs both
    assert lab.translate("s1:c1,c2") == "Internal Apollo+Gemini"
    assert lab.translate("s1:c5") == "s1:c5"  # s1>c5: at s1, c5 is forbidden whatever the op
    assert lab.translate("s3:c4,c10.c19") == "s3:c4,c10.c19"  # s3!c4
    # At s0 words that add categories are not used; words that only clear Default bits are.
    assert lab.translate("s0:c1") == "s0:c1"
    assert lab.untranslate("Public Apollo") == "s0:c1"


def test_modifier_groups_prefixes_and_merged_groups() -> None:
    lab = Translator.from_text(LAB_SINGLE)
    assert lab.translate("s2:c10,c12.c19") == "Restricted HANDLE VIA Courier ONLY"
    assert lab.untranslate("Restricted HANDLE VIA Courier ONLY") == "s2:c10,c12.c19"
    # Two groups named Projects share one place in the output.
    assert lab.translate("s2:c1,c4,c10.c19") == "Restricted Apollo+Skylab"
    # A base whose bits match exactly but whose raw text differs gets a trailing blank.
    assert lab.translate("s4:c1.c3") == "Odd "
    assert lab.translate("s4:c1,c2,c3") == "Odd"


def test_groups_with_different_defaults_drop_words_as_mcstrans_does() -> None:
    mixed = Translator.from_text(MIXED_DEFAULTS)
    raw = "s3:c101,c103,c200.c202,c205.c511"
    # The name leaves out REL TO GBR/NZL (mcstransd answers the same), so it names another
    # level: the translation does not round-trip.
    assert mixed.translate(raw) == "Confidential Handle Via Plastic,Copper Pipes Only"
    assert mixed.translate("s3:c200.c202,c205.c511") == "Confidential REL TO GBR/NZL"
    fresh = Translator.from_text(MIXED_DEFAULTS)
    assert fresh.untranslate("Confidential Handle Via Plastic,Copper Pipes Only") == (
        "s3:c101,c103,c200.c511"
    )
    assert (
        fresh.untranslate("Confidential Handle Via Plastic,Copper Pipes Only REL TO GBR/NZL") == raw
    )


def test_untranslated_names_are_remembered_like_the_daemon() -> None:
    lab = Translator.from_text(LAB_SINGLE)
    assert lab.untranslate("internal apollo") == "s1:c1"
    # The canonical spelling was computed and stored first, so it is the raw -> name answer.
    assert lab.translate("s1:c1") == "Internal Apollo"
    assert lab.untranslate("Public Apollo") == "s0:c1"
    # No canonical name can be computed at s0, so the spelling used is remembered instead.
    assert lab.translate("s0:c1") == "Public Apollo"


def test_contexts_that_libselinux_refuses_come_back_unchanged() -> None:
    targeted = Translator.from_text(TARGETED)
    for context in (
        "u:r:t",  # no range
        "u:r:t:",  # empty range
        "u:r:t:s0:c1:c2:c3",  # six ':'
        "u:r:t:s0\t",
        "u r:r:t:s0",
        "u:r:t:" + "s0:c1," * 700 + "c2",  # longer than mcstransd's 4096-byte buffer
    ):
        assert targeted.translate_context(context) == context
    assert targeted.translate("s0\n") == "s0\n"
    with pytest.raises(TypeError):
        targeted.translate(42)  # type: ignore[arg-type]


def test_untranslate_to_mls_objects() -> None:
    targeted = Translator.from_text(TARGETED)
    assert targeted.untranslate_range("SystemLow-SystemHigh") == Range.parse("s0-s0:c0.c1023")
    assert targeted.untranslate_range("s0-s0:c5") == Range.parse("s0-s0:c5")
    with pytest.raises(MlsSyntaxError):
        targeted.untranslate_range("Unknown")
    with pytest.raises(MlsSyntaxError):
        targeted.untranslate_level("SystemLow-SystemHigh")


def test_comments_blank_lines_crlf_and_nul() -> None:
    translator = Translator.from_text(
        "  # comment\n\n\ts0 = Low  # trailing\r\ns1=Mid\0ignored\ns2=Hi#gh\r\n"
    )
    assert [translator.translate(f"s{n}") for n in range(3)] == ["Low", "Mid", "Hi"]


def test_includes_glob_in_order_and_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "setrans.d").mkdir()
    (tmp_path / "setrans.d" / "b.conf").write_text("s1=FromB\ns2=B2\n")
    (tmp_path / "setrans.d" / "a.conf").write_text("s1=FromA\n")
    (tmp_path / "setrans.conf").write_text("Include=setrans.d/*.conf\n")
    translator = Translator.from_file(tmp_path / "setrans.conf")
    assert translator.translate("s1") == "FromA"
    assert translator.translate("s2") == "B2"
    moved = Translator.from_text(
        "Include=/etc/selinux/x/*.conf\n",
        resolve_include=lambda p: p.replace("/etc/selinux/x", str(tmp_path / "setrans.d")),
    )
    assert moved.translate("s1") == "FromA"


# -- configuration errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "offset", "fragment"),
    [
        ("s0=Low\nnonsense\n", 2, 0, "expected raw=name"),
        ("s0=Low\n  =Name\n", 2, 2, "nothing before"),
        ("s0=\n", 1, 2, "nothing after"),
        ("Whitespace=,\n", 1, 0, "needs a ModifierGroup"),
        ("ModifierGroup=G\nc1=A-B\n", 2, 4, "contains '-'"),
        ("ModifierGroup=G\nc1;c2=A\n", 2, 0, "cannot parse category list"),
        ("ModifierGroup=G\nc1024=A\n", 2, 0, "cannot parse category list"),
        ("ModifierGroup=G\nDefault=x\n", 2, 8, "cannot parse category list"),
        ("Base=x\nt1=Top\n", 2, 0, "base classification"),
        ("Base=x\ns1:c1,x=Top\n", 2, 0, "base classification"),
        ("x1!c2\n", 1, 0, "constraint"),
        ("sX!c2\n", 1, 0, "sensitivity"),
        ("c1>cZ\n", 1, 3, "cannot parse category list"),
    ],
)
def test_bad_lines_raise_with_file_and_line(
    text: str, line: int, offset: int, fragment: str
) -> None:
    with pytest.raises(SetransSyntaxError) as caught:
        Translator.from_text(text, name="lab.conf")
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.offset) == ("lab.conf", line, offset)
    assert fragment in error.reason
    assert str(error).startswith(f"lab.conf:{line}:{offset + 1}: ")


def test_include_errors(tmp_path: Path) -> None:
    with pytest.raises(SetransIncludeError) as caught:
        Translator.from_text("s0=Low\nInclude=/nonexistent/*.conf\n", name="main")
    assert (caught.value.line, caught.value.offset) == (2, 8)
    loop = tmp_path / "loop.conf"
    loop.write_text(f"Include={loop}\n")
    with pytest.raises(SetransIncludeError, match=f"deeper than {MAX_INCLUDE_DEPTH}"):
        Translator.from_file(loop)
    (tmp_path / "bad.conf").write_text("s0=Low\ns1\n")
    with pytest.raises(SetransSyntaxError) as bad:
        Translator.from_text(f"Include={tmp_path}/bad.conf\n")
    assert (bad.value.path, bad.value.line) == (str(tmp_path / "bad.conf"), 2)
    with pytest.raises(SetransError, match="cannot read"):
        Translator.from_file(tmp_path / "missing.conf")
    (tmp_path / "latin1.conf").write_bytes(b"s0=Caf\xe9\n")
    with pytest.raises(SetransSyntaxError, match="UTF-8"):
        Translator.from_file(tmp_path / "latin1.conf")


# -- properties ----------------------------------------------------------------------------------

TARGETED_TRANSLATOR = Translator.from_text(TARGETED)


@given(ranges(max_sensitivity=3))
def test_cache_only_translations_round_trip(mls_range: Range) -> None:
    name = TARGETED_TRANSLATOR.translate(mls_range)
    assert TARGETED_TRANSLATOR.untranslate(name) == str(mls_range)
    assert TARGETED_TRANSLATOR.untranslate_range(name) == mls_range


LAB_TRANSLATOR = Translator.from_text(LAB_SINGLE)


@given(st.text(max_size=80))
def test_any_text_is_answered_with_text(text: str) -> None:
    assert isinstance(LAB_TRANSLATOR.translate(text), str)
    assert isinstance(LAB_TRANSLATOR.untranslate(text), str)
    assert isinstance(LAB_TRANSLATOR.translate_context("u:r:t:" + text), str)


CATEGORY_NUMBERS = st.sampled_from(["0", "7", "01", "0007", "1023", "1024", "9999", "99999"])
CATEGORY_ITEMS = st.one_of(
    st.builds("c{}".format, CATEGORY_NUMBERS),
    st.builds("c{}.c{}".format, CATEGORY_NUMBERS, CATEGORY_NUMBERS),
)
# Lists in the plain shape and near it, and any mix of the characters the scanner reads.
CATEGORY_LIST_SOUP = st.one_of(
    st.lists(CATEGORY_ITEMS, min_size=1, max_size=5).map(",".join),
    st.lists(st.one_of(CATEGORY_ITEMS, st.sampled_from([",", ".", "~", " ", "+", "c"]))).map(
        "".join
    ),
)


@given(CATEGORY_LIST_SOUP, st.booleans(), st.integers(0, 1030))
def test_plain_category_lists_read_as_the_character_scanner_reads_them(
    text: str, from_config: bool, max_bit: int
) -> None:
    # Lists in the plain shape take a shortcut; every list must get the scanner's answer.
    shortcut = translate._Parser(max_bit=max_bit)
    scanner = translate._Parser(max_bit=max_bit)
    answer = shortcut.categories(text, 0, inverse_allowed=False, from_config=from_config)
    expected = scanner._scanned_categories(text, 0, False, from_config)
    assert answer == expected
    assert shortcut.max_bit == scanner.max_bit


LAB_LEVELS = st.lists(
    st.builds(_format_level, st.integers(0, 5), st.integers(0, (1 << 20) - 1)), max_size=6
)


@given(LAB_LEVELS, st.sampled_from([LAB_SINGLE, MIXED_DEFAULTS, PIPES]))
def test_remembered_names_do_not_change_answers(raws: list[str], config: str) -> None:
    # Names are computed once and then looked up: a translator that has seen other levels
    # answers as a fresh one does.
    shared = Translator.from_text(config)
    names = [shared.translate(raw) for raw in raws]
    assert names == [Translator.from_text(config).translate(raw) for raw in raws]
    # mcstrans names can leave categories out, so a name need not lead back to the same level,
    # but it always leads to a level with that name.
    for name in names:
        assert shared.translate(shared.untranslate(name)) == name


def test_hostile_word_runs_finish_quickly() -> None:
    overlapping = Translator.from_text(
        "Base=b\ns1=Top\nModifierGroup=G\nSuffix=END\nc1=A\nc2=A A\n"
    )
    started = time.perf_counter()
    assert overlapping.untranslate("Top " + "A " * 1500 + "x END") == (
        "Top " + "A " * 1500 + "x END"
    )
    # Words are read longest first, so the run is 750 times "A A".
    assert overlapping.untranslate("Top " + "A " * 1500 + "END") == "s1:c2"
    assert time.perf_counter() - started < 2


def test_threads_share_a_translator() -> None:
    need_examples()
    nato = example_translator("nato")
    expected = {
        "s5:c1,c201.c214,c216.c429,c431.c511": "NATO SECRET REL AUS/US",
        "s4:c1,c200.c257,c259.c511": "NATO CONFIDENTIAL DEU EYES ONLY",
        "s5:c0,c2,c11,c200.c511": "SECRET",
    }
    problems: list[str] = []

    def work() -> None:
        for _ in range(50):
            for raw, name in expected.items():
                if nato.translate(raw) != name or nato.untranslate(name) != raw:
                    problems.append(raw)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []


# -- command line --------------------------------------------------------------------------------


def test_cli_translate_and_untranslate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "setrans.conf"
    config.write_text(TARGETED)
    status, out, _ = run_cli(
        capsys, "translate", "--config", str(config), "s0-s0:c0.c1023", "s0:c1,c2"
    )
    assert (status, out) == (0, "SystemLow-SystemHigh\ns0:c1,c2\n")
    status, out, _ = run_cli(
        capsys, "untranslate", "--config", str(config), "--context", "u:r:t:SystemHigh"
    )
    assert (status, out) == (0, "u:r:t:s0:c0.c1023\n")


def test_cli_reads_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    config = tmp_path / "setrans.conf"
    config.write_text(TARGETED)
    monkeypatch.setattr(sys, "stdin", io.StringIO("SystemLow\r\nSystemHigh\nnothing\n"))
    status, out, _ = run_cli(capsys, "untranslate", "--config", str(config))
    assert (status, out) == (0, "s0\ns0:c0.c1023\nnothing\n")


def test_cli_include_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    need_examples()
    status, out, _ = run_cli(
        capsys,
        "translate",
        "--config",
        str(EXAMPLES / "nato" / "setrans.conf"),
        "--include-prefix",
        f"{INSTALLED_FRAGMENTS}={EXAMPLES / 'nato' / 'setrans.d'}",
        "s4:c1,c200.c257,c259.c511",
    )
    assert (status, out) == (0, "NATO CONFIDENTIAL DEU EYES ONLY\n")


def test_cli_bad_configuration_is_one_line_and_status_2(tmp_path: Path) -> None:
    config = tmp_path / "setrans.conf"
    config.write_text("s0=Low\nModifierGroup=G\nc1=A-B\n")
    for argv in (
        ["translate", "--config", str(config), "s0"],
        ["untranslate", "--config", str(tmp_path / "missing.conf"), "Low"],
        ["translate", "--config", str(config), "--include-prefix", "nonsense", "s0"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "mls", *argv], capture_output=True, text=True, check=False
        )
        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "mls", "translate", "--config", str(config), "s0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert f"{config}:3:" in result.stderr


# -- the live reference: Debian's mcstransd ------------------------------------------------------


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shim(tmp_path_factory.mktemp("mcstransd"))


def generated_queries(translator: Translator, seed: int, count: int) -> list[tuple[int, str]]:
    """Levels near the base classifications, ranges of them, and names built from the
    configured words, prefixes and suffixes in random order and spacing."""
    rng = random.Random(seed)
    domains = translator._domains
    max_bit = max(translator._parser.max_bit, 1)
    words = sorted(
        {base.name for domain in domains for base in domain.bases}
        | {word.text for domain in domains for group in domain.groups for word in group.words}
        | {text for d in domains for g in d.groups for text in g.prefixes + g.suffixes}
        | {name for domain in domains for name in domain.name_to_raw}
    )
    bases = [base for domain in domains for base in domain.bases] or None
    queries: list[tuple[int, str]] = []

    def level() -> str:
        if bases and rng.random() < 0.8:
            base = rng.choice(bases)
            sensitivity, bits = base.sensitivity, base.categories
        else:
            sensitivity, bits = rng.randrange(6), 0
        for _ in range(rng.randrange(4)):
            bits ^= 1 << rng.randrange(max_bit)
        return _format_level(sensitivity, bits)

    def name() -> str:
        parts = [rng.choice(words) for _ in range(rng.randrange(1, 5))]
        separators = [rng.choice([" ", " ", "/", ",", "+", "  "]) for _ in parts]
        text = "".join(p + s for p, s in zip(parts, separators, strict=True)).strip()
        if bases and rng.random() < 0.6:
            text = rng.choice(bases).name + " " + text
        return text

    for _ in range(count):
        raw = level()
        queries.append((RAW_TO_TRANS_CONTEXT, raw))
        queries.append((TRANS_TO_RAW_CONTEXT, translator.translate(raw)))
        queries.append((TRANS_TO_RAW_CONTEXT, name()))
        if rng.random() < 0.3:
            queries.append((RAW_TO_TRANS_CONTEXT, f"{level()}-{level()}"))
            queries.append((TRANS_TO_RAW_CONTEXT, f"{name()}-{name()}"))
    return queries


def compare_with_daemon(
    shim: Path, directory: Path, config_text: str, ours: Translator, queries: list[tuple[int, str]]
) -> list[str]:
    config = directory / "setrans.conf"
    config.write_text(config_text)
    daemon = LiveDaemon(shim, config)
    differences = []
    try:
        for function, text in queries:
            context = "a:b:c:" + text
            live = daemon.settled(function, context)
            mine = (
                ours.translate_context(context)
                if function == RAW_TO_TRANS_CONTEXT
                else ours.untranslate_context(context)
            )
            if live != mine:
                differences.append(f"{function} {text!r}: mcstransd {live!r}, ours {mine!r}")
    finally:
        daemon.close()
    return differences


def installed_text(example: str) -> str:
    # The daemon reads the shipped file with its includes pointed at the shipped fragments.
    fragments = str(EXAMPLES / example / "setrans.d")
    text = (EXAMPLES / example / "setrans.conf").read_text(encoding="utf-8")
    return text.replace(INSTALLED_FRAGMENTS, fragments)


@pytest.mark.parametrize(("example", "test_file", "checks"), SHIPPED_TESTS)
def test_live_daemon_agrees_on_shipped_examples(
    shim: Path, tmp_path: Path, example: str, test_file: str, checks: int
) -> None:
    need_examples()
    config_text = installed_text(example)
    probe = Translator.from_text(config_text)
    queries = [
        (RAW_TO_TRANS_CONTEXT if direction == "translate" else TRANS_TO_RAW_CONTEXT, text)
        for direction, text, _ in expectations(EXAMPLES / example / test_file)
    ]
    # mcstransd needs tens of milliseconds per NATO query that finds no name: fewer there.
    queries += generated_queries(probe, seed=len(example), count=40 if example == "nato" else 150)
    ours = Translator.from_text(config_text)
    assert compare_with_daemon(shim, tmp_path, config_text, ours, queries) == []


@pytest.mark.parametrize(
    "config_text",
    [LAB, LAB_SINGLE, PIPES, TARGETED, MIXED_DEFAULTS],
    ids=["lab", "lab-single", "pipes", "targeted", "mixed-defaults"],
)
def test_live_daemon_agrees_on_our_configurations(
    shim: Path, tmp_path: Path, config_text: str
) -> None:
    probe = Translator.from_text(config_text)
    queries = generated_queries(probe, seed=7, count=300)
    queries += [
        (RAW_TO_TRANS_CONTEXT, "s4:c1.c3"),  # the trailing-blank name
        (RAW_TO_TRANS_CONTEXT, "s0-s3:c10.c19"),
        (RAW_TO_TRANS_CONTEXT, "s0-"),
        (TRANS_TO_RAW_CONTEXT, "Low-Top"),
        (TRANS_TO_RAW_CONTEXT, "Public Apollo"),
        (RAW_TO_TRANS_CONTEXT, "s0:c1"),
        (RAW_TO_TRANS_CONTEXT, "s3:c101,c103,c200.c202,c205.c511"),
        (TRANS_TO_RAW_CONTEXT, "Confidential Handle Via Plastic,Copper Pipes Only"),
    ]
    ours = Translator.from_text(config_text)
    assert compare_with_daemon(shim, tmp_path, config_text, ours, queries) == []


@pytest.mark.parametrize(
    "config_text",
    [
        "s0=Low\nnonsense\n",
        "ModifierGroup=G\nc1=A-B\n",
        "Whitespace=,\n",
        "Base=x\nt1=Top\n",
        "x1!c2\n",
    ],
)
def test_live_daemon_refuses_what_we_refuse(shim: Path, tmp_path: Path, config_text: str) -> None:
    with pytest.raises(SetransError):
        Translator.from_text(config_text)
    config = tmp_path / "setrans.conf"
    config.write_text(config_text)
    with pytest.raises(RuntimeError, match="exited"):
        LiveDaemon(shim, config).close()


BOUNDARY = "Base=b\ns1:c62,c63=X\nModifierGroup=G\nc200=W\nc100=Z\n"


def test_live_daemon_garbles_a_run_ending_on_a_64_bit_boundary(shim: Path, tmp_path: Path) -> None:
    # libsepol's bit iteration jumps from c63 to the next allocated 64-bit node (c192), so
    # mcstransd prints {c62, c63, c200} as c62,c191,c200. We print the kernel's canonical form.
    config = tmp_path / "setrans.conf"
    config.write_text(BOUNDARY)
    ours = Translator.from_text(BOUNDARY)
    daemon = LiveDaemon(shim, config)
    try:
        assert daemon.settled(TRANS_TO_RAW_CONTEXT, "a:b:c:X W") == "a:b:c:s1:c62,c191,c200"
        assert daemon.settled(TRANS_TO_RAW_CONTEXT, "a:b:c:X Z") == "a:b:c:s1:c62,c63,c100"
    finally:
        daemon.close()
    assert ours.untranslate("X W") == "s1:c62,c63,c200"
    assert ours.untranslate("X Z") == "s1:c62,c63,c100"
    assert ours.translate("s1:c62,c63,c200") == "X W"


def test_text_that_utf8_cannot_encode_is_a_syntax_error() -> None:
    with pytest.raises(SetransSyntaxError) as caught:
        Translator.from_text("\udcff", name="lab.conf")
    assert (caught.value.line, caught.value.offset) == (1, 0)
    with pytest.raises(SetransSyntaxError) as later:
        Translator.from_text("s0=Low\ns1=Hi\udcffgh\n", name="lab.conf")
    assert (later.value.line, later.value.offset) == (2, 5)
    assert "surrogate" in later.value.reason


def test_includes_that_double_at_each_step_stop_at_the_file_budget(tmp_path: Path) -> None:
    # Each of 19 files includes the next twice: 2**19 reads without a budget.
    for index in range(19):
        include = f"Include={tmp_path}/f{index + 1}.conf\n" if index < 18 else "s1=One\n"
        (tmp_path / f"f{index}.conf").write_text(include * 2)
    with pytest.raises(SetransIncludeError, match=f"more than {MAX_CONFIG_FILES} files") as caught:
        Translator.from_file(tmp_path / "f0.conf")
    assert caught.value.line in (1, 2) and caught.value.path.endswith("f17.conf")
    # A file included a few times is still read each time, as mcstransd does.
    (tmp_path / "twice.conf").write_text(f"Include={tmp_path}/f18.conf\n" * 2)
    assert Translator.from_file(tmp_path / "twice.conf").translate("s1") == "One"


def test_includes_of_devices_and_pipes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SetransIncludeError, match="not a regular file") as caught:
        Translator.from_text("s0=Low\nInclude=/dev/zero\n", name="main")
    assert (caught.value.path, caught.value.line, caught.value.offset) == ("main", 2, 8)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(SetransIncludeError, match="not a regular file"):
        Translator.from_text(f"Include={pipe}\n")


def test_configuration_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "MAX_CONFIG_BYTES", 64)
    (tmp_path / "big.conf").write_text("s1=One\n" * 10)
    with pytest.raises(SetransIncludeError, match="larger than 64 bytes") as caught:
        Translator.from_text(f"s0=Low\nInclude={tmp_path}/big.conf\n", name="main")
    assert (caught.value.path, caught.value.line, caught.value.offset) == ("main", 2, 8)
    (tmp_path / "small.conf").write_text("s1=One\n" * 9)
    assert Translator.from_text(f"Include={tmp_path}/small.conf\n").translate("s1") == "One"


def test_untranslate_work_grows_linearly_with_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # A name of many words, behind text no word explains, in a group of 1000 words: each
    # position of the name is looked at a bounded number of times, not once per word or per
    # word already used (0.5 to 1.9 s for 2.9 KB before).
    lines = ["Base=Levels", "s1=Unclassified", "ModifierGroup=G", "Whitespace=/"]
    lines += [f"c{n}=W{n}" for n in range(1000)]
    translator = Translator.from_text("\n".join(lines) + "\n")
    looked_at = 0
    words_at = translate._Group.words_at

    def counted(group: translate._Group, folded: str, index: int) -> list[translate._Word]:
        nonlocal looked_at
        looked_at += 1
        return words_at(group, folded, index)

    monkeypatch.setattr(translate._Group, "words_at", counted)
    for count in (100, 300):
        looked_at = 0
        name = "Unclassified " + "Zq " * count + "W7 " * count
        assert translator.untranslate(name) == name  # Zq is no word
        assert looked_at <= 3 * len(name) // 2
        looked_at = 0
        name = "Unclassified " + "W7 " * count + "W9"
        assert translator.untranslate(name) == "s1:c7,c9"
        assert looked_at <= 3 * len(name) // 2
