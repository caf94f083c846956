"""The documentation: every ``>>>`` example in docs/*.md and README.md runs and its output
matches; the API reference builds from the docstrings with no warning; README's commands run
as written."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
# The packages whose public names (__all__) the reference documents, and the page of each.
REFERENCE_PAGES = {
    "mls": "mls",
    "cipso": "cipso",
    "calipso": "calipso",
    "netlabel": "netlabel",
    "labelnet.ipsec": "labelnet",
}


def test_the_guide_is_here() -> None:
    # Without docs/ (an unpacked wheel, a trimmed copy) the tests below would pass on README.md
    # alone while checking nothing of the guide.
    assert (DOCS / "README.md").is_file(), f"{DOCS} is missing: the documentation tests need it"
    assert len(PAGES) > 10, f"only {len(PAGES)} pages found in {DOCS}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_examples_in_page_run(page: Path) -> None:
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} example(s) in {page.name} failed (see output)"


def test_the_guide_has_examples() -> None:
    # A page without a single example would pass the test above vacuously.
    for page in PAGES:
        if page.name in {"README.md", "kernel.md"}:
            continue
        assert ">>> " in page.read_text(), f"{page.name} shows no runnable example"


def _sphinx_available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("sphinx", "myst_parser"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _sphinx_available():
        if os.environ.get("CI") == "true":
            pytest.fail("sphinx and myst-parser are missing: pip install 'labelnet[docs]'")
        pytest.skip("sphinx and myst-parser are missing: pip install 'labelnet[docs]'")
    out = tmp_path_factory.mktemp("html")
    build = ["-E", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", *build],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, f"the documentation build warned:\n{done.stderr}"
    return out


def test_the_reference_builds_without_warnings(reference: Path) -> None:
    assert (reference / "index.html").is_file()


@pytest.mark.parametrize("package", sorted(REFERENCE_PAGES))
def test_the_reference_documents_every_public_name(reference: Path, package: str) -> None:
    html = (reference / "api" / f"{REFERENCE_PAGES[package]}.html").read_text()
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if f'id="{package}.{name}"' not in html]
    assert not missing, f"{package}: not in the reference: {missing}"


REFERENCE_LINK = re.compile(r"\]\(api/(\w+)\.rst#([\w.]+)\)")


def test_links_into_the_reference_name_documented_objects(reference: Path) -> None:
    links = [(page, *match) for page in PAGES for match in REFERENCE_LINK.findall(page.read_text())]
    assert len(links) > 10, links
    for page, api_page, name in links:
        html = (reference / "api" / f"{api_page}.html").read_text()
        assert f'id="{name}"' in html, f"{page.name}: api/{api_page}.rst has no {name}"


def test_the_guide_links_into_the_reference() -> None:
    guide = (DOCS / "README.md").read_text()
    for page in sorted((DOCS / "api").glob("*.rst")):
        if page.stem != "index":
            assert f"api/{page.name}" in guide, f"docs/README.md does not link {page.name}"


def _readme_commands() -> list[str]:
    """The indented command lines of README's "Start here" section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Start here", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^ {4}(\S.*)$", section, flags=re.MULTILINE)


def test_readme_commands_need_no_sudo() -> None:
    # Regression: `sudo scripts/test` failed with "sudo: command not found" on a root shell
    # of a stock Debian container; the scripts elevate themselves when they need to.
    commands = _readme_commands()
    assert len(commands) == 2, commands
    for command in commands:
        program = command.split()[0]
        assert program.startswith("scripts/"), command
        assert os.access(ROOT / program, os.X_OK), f"{program} is not an executable file"


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _readme_commands()[1]
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert f"exec {test_command}" in lines
