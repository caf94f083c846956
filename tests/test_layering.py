"""The packages' promises about what they import.

- Imports only point down: labelnet > netlabel > cipso, calipso > mls (../shared/design.md);
  cipso and calipso never import each other.
- mls needs nothing but the standard library; cipso and calipso need nothing but construct and
  mls; scapy, hypothesis, pyroute2 and dpkt are needed only by the integration modules that
  use them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"mls": 0, "cipso": 1, "calipso": 1, "netlabel": 2, "labelnet": 3}


def imported_packages(path: Path) -> set[str]:
    """Top-level names a module imports, lazily inside functions included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_imports_only_point_down(package: str) -> None:
    floor = FLOORS[package]
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_packages(path) & FLOORS.keys():
            if name == package:
                continue
            assert FLOORS[name] < floor, f"{path.relative_to(ROOT)} imports {name} (upward)"


# Each case: what the import must work without.
BLOCKED_FOR = {
    "mls": ["construct", "scapy", "hypothesis", "pyroute2", "dpkt"],
    "cipso": ["scapy", "hypothesis", "pyroute2", "dpkt"],
    "calipso": ["scapy", "hypothesis", "pyroute2", "dpkt"],
    "netlabel": ["scapy", "hypothesis", "pyroute2", "dpkt"],
}


@pytest.mark.parametrize("package", sorted(BLOCKED_FOR))
def test_core_imports_without_optional_dependencies(package: str) -> None:
    blocked = BLOCKED_FOR[package]
    program = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"import {package}\n"
        f"loaded = sorted(n for n in {blocked!r} if sys.modules.get(n) is not None)\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_fast_codecs_work_without_optional_dependencies() -> None:
    program = (
        "import sys\n"
        "for name in ('scapy', 'hypothesis', 'pyroute2', 'dpkt'): sys.modules[name] = None\n"
        "import cipso, calipso\n"
        "from mls import Level\n"
        "level = Level.parse('s3:c0,c5')\n"
        "option = cipso.CipsoDoi.from_netlabelctl('pass doi:16 tags:1').encode_label(level)\n"
        "assert str(cipso.decode(option).tags[0].mls_level) == 's3:c0,c5'\n"
        "wire = calipso.CalipsoDoi(2).encode_label(level)\n"
        "assert str(calipso.decode(wire).mls_level) == 's3:c0,c5'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("package", ["cipso", "calipso"])
def test_corpus_folder_does_not_shadow_the_vectors_function(package: str) -> None:
    # Regression: the corpus once lived in <package>/vectors/, a folder that
    # ``import cipso.vectors`` would turn into a namespace package replacing cipso.vectors().
    program = (
        f"import importlib, {package}\n"
        f"importlib.import_module('{package}.corpus')\n"
        f"assert callable({package}.vectors) and len({package}.vectors()) > 50\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_every_package_declares_its_types(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file(), f"{package}/py.typed is missing (PEP 561)"
