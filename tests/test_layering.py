"""The packages' promises about what they import.

- Imports only point down: labelnet > netlabel > cipso, calipso > mls (../shared/design.md);
  cipso and calipso never import each other.
- mls needs nothing but the standard library; cipso and calipso need nothing but mls (construct
  only for their schemas); scapy, hypothesis and pyroute2 are needed only by the integration
  modules that use them, which say which extra installs them. README's "needs" column says the
  same, and these tests hold it to that.
"""

from __future__ import annotations

import ast
import re
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


OPTIONAL = ["construct", "scapy", "hypothesis", "pyroute2", "dpkt"]
# Each case: what the import must work without.
BLOCKED_FOR = {
    "mls": OPTIONAL,
    "cipso": OPTIONAL,
    "calipso": OPTIONAL,
    "netlabel": OPTIONAL,
    "labelnet": OPTIONAL,
    "labelnet.ipsec": OPTIONAL,
    "labelnet.dump": OPTIONAL,
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
        f"for name in {OPTIONAL!r}: sys.modules[name] = None\n"
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


def _run_blocked(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    program = f"import sys\nfor name in {OPTIONAL!r}: sys.modules[name] = None\n{code}"
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_labelnet_demo_and_dump_work_in_a_plain_install(tmp_path: Path) -> None:
    # README: `labelnet demo` and `labelnet dump` need nothing beyond the core packages.
    capture = tmp_path / "labels.pcap"
    write = (
        "import cipso\n"
        "from labelnet.capture import LinkType, write_pcap\n"
        "from mls import Level\n"
        "option = cipso.CipsoDoi.from_netlabelctl('pass doi:16 tags:1').encode_label(\n"
        "    Level.parse('s3:c0,c5'))\n"
        "option += bytes(-len(option) % 4)\n"
        "ihl = (20 + len(option)) // 4\n"
        "header = bytes([0x40 | ihl, 0, 0, 20 + len(option), 0, 0, 0, 0, 64, 17, 0, 0,\n"
        "    10, 0, 0, 1, 10, 0, 0, 2])\n"
        "write_pcap(sys.argv[1], [((1700000000, 0), header + option)], LinkType.RAW)\n"
    )
    done = _run_blocked(write, str(capture))
    assert done.returncode == 0, done.stderr
    main = "from labelnet.__main__ import main\nsys.exit(main(sys.argv[1:]))\n"
    demo = _run_blocked(main, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "s3:c1,c2,c5,c7.c300" in demo.stdout
    dump = _run_blocked(main, "dump", str(capture))
    assert dump.returncode == 0, dump.stderr
    assert "s3:c0,c5" in dump.stdout


# Each integration module, the dependency it needs and the extra that installs it.
INTEGRATIONS = [
    ("cipso.scapy", "scapy", "scapy"),
    ("calipso.scapy", "scapy", "scapy"),
    ("cipso.strategies", "hypothesis", "hypothesis"),
    ("calipso.strategies", "hypothesis", "hypothesis"),
    ("mls.strategies", "hypothesis", "hypothesis"),
    ("labelnet.ipsec.strategies", "hypothesis", "hypothesis"),
    ("netlabel.client", "pyroute2", "netlink"),
]


@pytest.mark.parametrize(("module", "dependency", "extra"), INTEGRATIONS)
def test_a_missing_extra_is_named(module: str, dependency: str, extra: str) -> None:
    # Regression: `import cipso.scapy` without scapy gave a bare ModuleNotFoundError.
    done = _run_blocked(f"import {module}\n")
    assert done.returncode != 0
    assert f"pip install 'labelnet[{extra}]'" in done.stderr, done.stderr
    assert "ModuleNotFoundError" in done.stderr or "ImportError" in done.stderr


def _declared_extras() -> dict[str, list[str]]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras: dict[str, list[str]] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    return extras


def test_the_extras_table_matches_pyproject() -> None:
    from mls._extras import EXTRAS

    declared = _declared_extras()
    for extra, modules in EXTRAS.items():
        names = {re.split(r"[<>=\[ ;]", requirement)[0] for requirement in declared[extra]}
        assert set(modules) <= names, f"[{extra}] does not install {modules}"


def test_every_extra_is_used() -> None:
    # Regression: a [capture] extra (dpkt) was declared and used by nothing.
    from mls._extras import EXTRAS

    assert set(_declared_extras()) - {"docs", "test", "all"} == set(EXTRAS)
