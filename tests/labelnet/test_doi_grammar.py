"""One netlabelctl DOI grammar behind every entry point, compared with netlabelctl itself.

A DOI definition reaches the library through ``CipsoDoi.from_netlabelctl`` /
``CalipsoDoi.from_netlabelctl``, ``python -m netlabel cipso add`` (``netlabel.ctl``), the
``--doi`` options of ``python -m cipso``, ``python -m calipso`` and ``labelnet dump``, the
dump's ``DoiConfig`` and the conformance runs. Every example of netlabelctl's manual page, and
every malformed definition below, goes through all of them with the same outcome. The kernel
tests add each definition with the real netlabelctl and read back what the kernel stored.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

import calipso
import calipso.__main__
import cipso
import cipso.__main__
import labelnet.__main__
from calipso import CalipsoDoi
from cipso import CipsoDoi, MapType, TagType
from labelnet._cli_dump import settings_from
from labelnet.conformance._dois import calipso_doi_number
from labelnet.dump import DoiConfig, DumpSettings
from netlabel import ctl
from netlabel.ctl import CtlSyntaxError
from tests.support import need_program, need_root

T = TagType
MANUAL_PAGE = Path("/usr/share/man/man8/netlabelctl.8.gz")

# The DOI definitions of netlabelctl's manual page (netlabel-tools 0.30): its two EXAMPLES,
# then each synopsis line of ``cipso add`` and ``calipso add`` with numbers for <placeholders>.
CIPSO_MANUAL_EXAMPLES = {
    "cipso add pass doi:16 tags:1": CipsoDoi(16, MapType.PASS, (T.RESTRICTED_BITMAP,)),
    "cipso add trans doi:8 tags:1 levels:0=0,1=1 categories:0=1,1=0": CipsoDoi(
        8, MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 0), (1, 1)), ((0, 1), (1, 0))
    ),
    "cipso add trans doi:3 tags:1 levels:0=0,5=3 categories:0=1,9=7": CipsoDoi(
        3, MapType.TRANS, (T.RESTRICTED_BITMAP,), ((0, 0), (5, 3)), ((0, 1), (9, 7))
    ),
    "cipso add pass doi:3 tags:1,5": CipsoDoi(3, MapType.PASS, (T.RESTRICTED_BITMAP, T.RANGED)),
    "cipso add local doi:3": CipsoDoi(3, MapType.LOCAL, (T.LOCAL,)),
}
CALIPSO_MANUAL_EXAMPLES = {"calipso add pass doi:3": CalipsoDoi(3)}
# The manual page's ``del doi:<DOI>`` and ``list [doi:<DOI>]`` arguments.
DOI_ARGUMENT_EXAMPLES = {"cipso del doi:8": 8, "cipso list doi:16": 16, "calipso del doi:3": 3}

# Malformed: every entry point refuses these with one of our ValueError subclasses.
CIPSO_MALFORMED = [
    "cipso add pass doi:" + "9" * 4301 + " tags:1",
    "cipso add pass doi:99999999999 tags:1",
    "cipso add pass doi:² tags:1",
    "cipso add pass doi:٣ tags:1",
    "cipso add pass doi:16 tags:1,,5",
    "cipso add pass doi:16",
    "cipso add trans doi:8 tags:1 levels:",
    "cipso add trans doi:8 tags:1 levels:0=0,1",
    "cipso add local doi:5 tags:1",
    "cipso add pass doi:16 tags:1 levels:0=0",
    "cipso add trans doi:8 tags:1 levels:0=0 categories:2147483647=0",
    "cipso add bogus doi:16 tags:1",
]
CALIPSO_MALFORMED = [
    "calipso add pass doi:" + "9" * 4301,
    "calipso add pass doi:²",
    "calipso add pass doi:٣",
    "calipso add pass doi:0",
    "calipso add pass doi:2 tags:1",
    "calipso add trans doi:2",
]

# A CIPSO option with DOI 16 (tag 1, level 3, categories 0 and 5) for the command lines.
OPTION_HEX = "860b000000100105000384"


def _after_add(text: str) -> str:
    return text.split(" add ", 1)[1]


def _dump_settings(definition: str) -> DumpSettings:
    args = labelnet.__main__.build_parser().parse_args(["dump", "-", "--doi", definition])
    return settings_from(args)


def _through_dump(text: str) -> CipsoDoi | CalipsoDoi:
    """The one DOI that ``labelnet dump --doi text`` configures."""
    config = DoiConfig.parse(_dump_settings(text).dois)
    dois: list[CipsoDoi | CalipsoDoi] = [*config.cipso.values(), *config.calipso.values()]
    (doi,) = dois
    return doi


def _cipso_entry_points() -> dict[str, Callable[[str], CipsoDoi]]:
    """Each way a ``cipso add ...`` text reaches the library, returning what it read."""
    return {
        "CipsoDoi.from_netlabelctl": lambda text: CipsoDoi.from_netlabelctl(_after_add(text)),
        "CipsoDoi.from_netlabelctl (whole)": CipsoDoi.from_netlabelctl,
        "netlabel.ctl.parse_cipso_add": lambda text: ctl.parse_cipso_add(_after_add(text).split()),
        "netlabel.ctl.parse_definition": lambda text: _cipso(ctl.parse_definition(text)),
        "labelnet dump --doi": lambda text: _cipso(_through_dump(text)),
        "python -m cipso --doi": lambda text: cipso.__main__._parse_doi(_after_add(text)),
    }


def _calipso_entry_points() -> dict[str, Callable[[str], CalipsoDoi]]:
    return {
        "CalipsoDoi.from_netlabelctl": lambda text: CalipsoDoi.from_netlabelctl(_after_add(text)),
        "CalipsoDoi.from_netlabelctl (whole)": CalipsoDoi.from_netlabelctl,
        "netlabel.ctl.parse_calipso_add": lambda text: ctl.parse_calipso_add(
            _after_add(text).split()
        ),
        "netlabel.ctl.parse_definition": lambda text: _calipso(ctl.parse_definition(text)),
        "labelnet dump --doi": lambda text: _calipso(_through_dump(text)),
        "python -m calipso --doi": lambda text: calipso.__main__._doi(_after_add(text)),
        "conformance calipso_doi_number": lambda text: CalipsoDoi(calipso_doi_number(text)),
    }


def _cipso(doi: CipsoDoi | CalipsoDoi) -> CipsoDoi:
    assert isinstance(doi, CipsoDoi)
    return doi


def _calipso(doi: CipsoDoi | CalipsoDoi) -> CalipsoDoi:
    assert isinstance(doi, CalipsoDoi)
    return doi


# -- the manual page's examples through every entry point -------------------------------------


def _assert_read_alike_everywhere(
    text: str, expected: CipsoDoi | CalipsoDoi, entry_points: Mapping[str, Callable[[str], object]]
) -> None:
    """Every entry point reads ``text`` as ``expected``, whose own text reads back the same."""
    for name, read in entry_points.items():
        assert read(text) == expected, name
    assert type(expected).from_netlabelctl(expected.to_netlabelctl()) == expected


@pytest.mark.parametrize("text", CIPSO_MANUAL_EXAMPLES)
def test_cipso_manual_examples_read_alike_everywhere(text: str) -> None:
    _assert_read_alike_everywhere(text, CIPSO_MANUAL_EXAMPLES[text], _cipso_entry_points())
    status = cipso.__main__.main(["decode", OPTION_HEX, "--doi", _after_add(text)])
    assert status in (0, 1)  # decoded, with the kernel's verdict for that DOI


@pytest.mark.parametrize("text", CALIPSO_MANUAL_EXAMPLES)
def test_calipso_manual_examples_read_alike_everywhere(text: str) -> None:
    _assert_read_alike_everywhere(text, CALIPSO_MANUAL_EXAMPLES[text], _calipso_entry_points())


@pytest.mark.parametrize("text", DOI_ARGUMENT_EXAMPLES)
def test_manual_doi_arguments(text: str) -> None:
    assert ctl.parse_doi(text.split()[2:], required=True) == DOI_ARGUMENT_EXAMPLES[text]


def test_the_examples_cover_the_manual_page() -> None:
    if not MANUAL_PAGE.exists():
        pytest.skip(f"{MANUAL_PAGE} is not installed")
    page = gzip.decompress(MANUAL_PAGE.read_bytes()).decode()
    examples = {
        re.sub(r"\s+", " ", line.replace("\\-", "-")).strip()
        for line in re.findall(r"^\.I netlabelctl (.*)$", page, re.MULTILINE)
    }
    add_examples = {e for e in examples if re.match(r"(cipso|calipso) add ", e)}
    assert add_examples and add_examples <= set(CIPSO_MANUAL_EXAMPLES) | set(
        CALIPSO_MANUAL_EXAMPLES
    )
    doi_examples = {e for e in examples if re.match(r"(-p )?(cipso|calipso) (del|list) doi:", e)}
    for example in doi_examples:
        assert ctl.parse_doi([example.split()[-1]], required=True) > 0
    synopsis = re.findall(r"^\.I (add (?:trans|pass|local) doi:.*)$", page, re.MULTILINE)
    # cipso add trans|pass|local, calipso add pass: each form has an instance above.
    assert len(synopsis) == 4
    forms = {
        (e.split()[0], e.split()[2]) for e in [*CIPSO_MANUAL_EXAMPLES, *CALIPSO_MANUAL_EXAMPLES]
    }
    assert forms == {("cipso", "trans"), ("cipso", "pass"), ("cipso", "local"), ("calipso", "pass")}


# -- malformed definitions: refused everywhere alike ------------------------------------------


@pytest.mark.parametrize("text", CIPSO_MALFORMED, ids=lambda t: t[:60])
def test_malformed_cipso_refused_everywhere(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    for name, read in _cipso_entry_points().items():
        with pytest.raises((cipso.CipsoError, CtlSyntaxError)) as info:
            read(text)
        assert len(str(info.value)) < 300, name
    capsys.readouterr()
    assert cipso.__main__.main(["decode", OPTION_HEX, "--doi", _after_add(text)]) == 2
    assert labelnet.__main__.main(["dump", "/nonexistent.pcap", "--doi", text]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 2 and "Traceback" not in err and "/nonexistent" not in err


@pytest.mark.parametrize("text", CALIPSO_MALFORMED, ids=lambda t: t[:60])
def test_malformed_calipso_refused_everywhere(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, read in _calipso_entry_points().items():
        if name == "python -m calipso --doi":
            continue  # an argparse type: see the exit status below
        with pytest.raises((calipso.CalipsoError, CtlSyntaxError)) as info:
            read(text)
        assert len(str(info.value)) < 300, name
    with pytest.raises(SystemExit) as exit_info:
        calipso.__main__.main(["encode", "s0", "--doi", _after_add(text)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("number", ["²", "٣", "9" * 5000, "99999999999", "0"])
def test_bare_doi_numbers(number: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Regression: '²' was a traceback, a 5000-digit DOI too, '٣' silently DOI 3 and
    # 99999999999 was explained as "0 is reserved".
    assert cipso.__main__.main(["decode", "--doi", number, OPTION_HEX]) == 2
    assert labelnet.__main__.main(["dump", "/nonexistent.pcap", "--doi", number]) == 2
    with pytest.raises(SystemExit):
        calipso.__main__.main(["encode", "s0", "--doi", number])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(len(line) < 300 for line in lines), lines
    expected = "0 is reserved" if number == "0" else ("above" if number[0] == "9" else "ASCII")
    assert all(expected in line for line in lines), lines


def test_a_bare_number_filters_the_dump() -> None:
    assert _dump_settings("16").doi_filter == frozenset({16})
    assert _dump_settings("0016").doi_filter == frozenset({16})


def test_doi_config_errors_are_typed() -> None:
    # Regression: a bare ValueError for each of these.
    with pytest.raises(CtlSyntaxError, match="empty"):
        DoiConfig.parse([""])
    with pytest.raises(CtlSyntaxError, match="cipso or calipso"):
        DoiConfig.parse(["ripso pass doi:2"])
    with pytest.raises(cipso.CipsoDoiError, match="twice"):
        DoiConfig.parse(["cipso pass doi:2 tags:1", "cipsov4 add local doi:2"])
    with pytest.raises(calipso.CalipsoDoiError, match="twice"):
        DoiConfig.parse(["calipso pass doi:2", "netlabelctl calipso add pass doi:002"])
    config = DoiConfig.parse(["cipso pass doi:2 tags:1", "calipso pass doi:2"])
    assert set(config.cipso) == set(config.calipso) == {2} and config.given


# -- against netlabelctl and the kernel -------------------------------------------------------

# netlabelctl accepts these and the kernel stores what the grammar reads.
KERNEL_ACCEPTED = [
    *(_after_add(text) for text in CIPSO_MANUAL_EXAMPLES),
    "local doi:{N} tags:128",
    "std doi:{N} tags:1 levels:0=0",
    "trans doi:{N} tags:1 levels:0=0 categories:",
    "trans doi:{N} tags:1 levels:0=0,0=1,1=0 categories:5=1,5=2",
    "trans doi:{N} tags:1 levels:1048575=255 categories:1048575=65534",
    "doi:{N} tags:1 pass",
    "pass doi:0{N} tags:01",
    "pass doi:{N} tags:1,1",
    "pass doi:{N} tags:1,2,5,1,2",
]
# netlabelctl (or the kernel behind it) refuses these, and so does the grammar.
KERNEL_REFUSED = [
    "pass doi:{N}",
    "pass doi:{N} tags:",
    "pass doi:{N} tags:3",
    "pass doi:{N} tags:128",
    "pass doi:{N} tags:1,2,5,1,2,5",
    "trans doi:{N} tags:1 levels:",
    "trans doi:{N} tags:2 levels:0=0",
    "trans doi:{N} tags:1 levels:0=256",
    "trans doi:{N} tags:1 levels:0=0 categories:0=65535",
    "trans doi:{N} tags:1 levels:0=0 categories:2147483647=0",
    "PASS doi:{N} tags:1",
    "pass DOI:{N} tags:1",
    "pass doi:{N} tags:1 extra",
    "pass doi: tags:1",
]
# netlabelctl accepts these but stores something other than they say (atoi, ignored words,
# repeated keys); the grammar refuses them rather than guess.
KERNEL_MISREAD = [
    "pass doi:{N}x tags:1",
    "pass doi:+{N} tags:1",
    "pass doi:{N} tags:1,",
    "pass doi:{N} tags:1,,5",
    "pass doi:{N} tags:1 tags:5",
    "pass doi:{N} doi:{N} tags:1",
    "pass trans doi:{N} tags:1 levels:0=0",
    "local doi:{N} tags:1",
    "pass doi:{N} tags:1 levels:0=0",
    "local doi:{N} levels:0=0",
]
CALIPSO_KERNEL = {"pass doi:{N}": True, "pass doi:0{N}": True, "pass doi:{N} tags:1": False}


def same_mapping(ours: CipsoDoi, kernel: CipsoDoi) -> bool:
    """The same DOI, tags and translations. The kernel lists a table as it holds its
    host-to-wire side, one pair per local number after later pairs overrode earlier ones;
    the wire-to-host side can be compared only for the pairs it lists."""
    if (ours.doi, ours.map_type, ours.tags) != (kernel.doi, kernel.map_type, kernel.tags):
        return False
    tables = (
        (ours.levels, kernel.levels, CipsoDoi.level_to_wire, CipsoDoi.level_from_wire),
        (
            ours.categories,
            kernel.categories,
            CipsoDoi.category_to_wire,
            CipsoDoi.category_from_wire,
        ),
    )
    for mine, theirs, to_wire, from_wire in tables:
        if any(to_wire(ours, n) != to_wire(kernel, n) for n in {n for n, _ in (*mine, *theirs)}):
            return False
        if any(from_wire(ours, wire) != local for local, wire in theirs):
            return False
    return True


def _netlabelctl(*args: str) -> int:
    return subprocess.run(["netlabelctl", *args], capture_output=True, check=False).returncode


@pytest.mark.kernel
def test_the_grammar_agrees_with_netlabelctl_and_the_kernel() -> None:
    need_root()
    need_program("netlabelctl")
    from netlabel.client import NetLabel
    from netlabel.harness import netlabel_lock
    from tests.netlabel.support import unused_dois

    with NetLabel() as client, netlabel_lock():
        (number,) = unused_dois(client, 1, 3_200_000)

        def listed(protocol: str) -> set[int]:
            summaries = (
                client.list_cipso_dois() if protocol == "cipso" else client.list_calipso_dois()
            )
            return {summary.doi for summary in summaries}

        def stored(protocol: str, text: str) -> CipsoDoi | CalipsoDoi | None:
            """What the kernel holds after ``netlabelctl <protocol> add <text>``, removed
            again at once; None when netlabelctl fails."""
            before = listed(protocol)
            status = _netlabelctl(protocol, "add", *text.format(N=number).split())
            # netlabelctl's atoi may have added some other number: remove whatever is new.
            added = listed(protocol) - before
            try:
                assert added == (set() if status else {number}), text
                if status:
                    return None
                if protocol == "cipso":
                    return client.get_cipso_doi(number)
                return client.get_calipso_doi(number)
            finally:
                for doi in added:
                    assert _netlabelctl(protocol, "del", f"doi:{doi}") == 0

        for written in KERNEL_ACCEPTED:
            # The manual's examples name small DOIs: use the scratch number instead.
            text = written if "{N}" in written else re.sub(r"doi:\d+", "doi:{N}", written)
            kernel = stored("cipso", text)
            assert isinstance(kernel, CipsoDoi), f"netlabelctl refused {text}"
            assert same_mapping(CipsoDoi.from_netlabelctl(text.format(N=number)), kernel), text
        for text in KERNEL_REFUSED:
            assert stored("cipso", text) is None, f"netlabelctl accepted {text}"
            with pytest.raises(cipso.CipsoDoiError):
                CipsoDoi.from_netlabelctl(text.format(N=number))
        for text in KERNEL_MISREAD:
            assert stored("cipso", text) is not None, f"netlabelctl refused {text}"
            with pytest.raises(cipso.CipsoDoiError):
                CipsoDoi.from_netlabelctl(text.format(N=number))
        for text, accepted in CALIPSO_KERNEL.items():
            kernel = stored("calipso", text)
            assert (kernel is not None) == accepted, text
            if accepted:
                assert CalipsoDoi.from_netlabelctl(text.format(N=number)) == kernel
            else:
                with pytest.raises(calipso.CalipsoDoiError):
                    CalipsoDoi.from_netlabelctl(text.format(N=number))
        assert number not in {d.doi for d in client.list_cipso_dois()}
        assert number not in {d.doi for d in client.list_calipso_dois()}
