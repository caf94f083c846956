"""What a user installs: the sdist and the wheel, and labelnet vendored into another package.

The sdist is built from a copy of the source tree and the wheel from the unpacked sdist, as pip
does, with the setuptools of this environment (no download). The vendoring test follows
docs/install.md: the ``vendoring`` tool, which pip uses for its own dependencies, copies cipso,
calipso and mls under ``myharness._vendor`` and rewrites their imports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def _build(kind: str, source: Path, out: Path) -> Path:
    program = f"from setuptools import build_meta; print(build_meta.build_{kind}({str(out)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=source, check=False
    )
    if done.returncode != 0 and "setuptools" in done.stderr and not IN_CI:
        pytest.skip(f"this setuptools cannot build labelnet (needs >= 77): {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "labelnet"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)
    return _build("sdist", source, tmp_path_factory.mktemp("sdist"))


@pytest.fixture(scope="module")
def wheel(sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    unpacked = tmp_path_factory.mktemp("unpacked")
    # The "data" filter exists from Python 3.11.4 (and 3.10.12) on; Debian 12 has 3.11.2.
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, **safe)
    (top,) = unpacked.iterdir()
    return _build("wheel", top, tmp_path_factory.mktemp("wheel"))


def _sdist_files(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def test_the_sdist_carries_what_its_tests_read(sdist: Path) -> None:
    # Regression: the sdist carried tests/test_docs.py without docs/, so the documentation
    # tests passed on README.md alone.
    files = _sdist_files(sdist)
    guide = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs").rglob("*.*")}
    assert guide <= files, sorted(guide - files)
    for name in ["README.md", "CHANGELOG.md", "LICENSE", "tests/test_docs.py", "docs/conf.py"]:
        assert name in files, name
    assert "cipso/corpus/vectors.json" in files


def test_the_wheel_holds_the_packages_and_their_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    for package in ["mls", "cipso", "calipso", "netlabel", "labelnet"]:
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert "cipso/corpus/vectors.json" in names
    assert not any(name.startswith(("tests/", "docs/")) for name in names)
    import mls

    assert f"\nVersion: {mls.__version__}\n" in text
    assert "Provides-Extra: capture" not in text


def test_every_package_reports_the_distribution_version() -> None:
    import calipso
    import cipso
    import labelnet
    import mls
    import netlabel

    versions = {m.__name__: m.__version__ for m in (mls, cipso, calipso, netlabel, labelnet)}
    assert set(versions.values()) == {mls.__version__}, versions
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {mls.__version__}" in changelog, "CHANGELOG.md has no entry for this version"


VENDORING_CONFIG = """\
[tool.vendoring]
destination = "myharness/_vendor/"
requirements = "myharness/_vendor/vendor.txt"
namespace = "myharness._vendor"
protected-files = ["__init__.py", "vendor.txt"]

[tool.vendoring.transformations]
drop = ["*.dist-info", "bin/", "netlabel/", "labelnet/"]
"""

USE_THE_VENDORED_COPY = """\
import sys

# The vendored copy must not reach for a top-level mls, cipso or calipso.
for name in ("mls", "cipso", "calipso", "netlabel", "labelnet"):
    sys.modules[name] = None
sys.path.insert(0, ".")

from myharness._vendor import calipso, cipso
from myharness._vendor.mls import Level

level = Level.parse("s3:c0,c5")
option = cipso.CipsoDoi.from_netlabelctl("pass doi:16 tags:1").encode_label(level)
assert option.hex(" ") == "86 0b 00 00 00 10 01 05 00 03 84", option.hex(" ")
assert str(cipso.decode(option).tags[0].mls_level) == "s3:c0,c5"
assert calipso.CalipsoDoi(2).encode_header(level).hex() == "0001070c000000020103980f84000000"
assert len(cipso.vectors()) > 50 and len(calipso.vectors()) > 50
try:
    cipso.validate(option, [])
except cipso.CipsoValidationError as error:
    assert "DOI 16 is not configured" in str(error), error
else:
    raise AssertionError("an unknown DOI was accepted")

import myharness._vendor.calipso.scapy
import myharness._vendor.cipso.schema
import myharness._vendor.cipso.scapy
import myharness._vendor.cipso.strategies
import myharness._vendor.mls.strategies
print(cipso.__version__)
"""


def test_labelnet_vendored_under_a_private_package(wheel: Path, tmp_path: Path) -> None:
    # Regression: copied under myharness/_vendor/, cipso's absolute `from mls import` lines
    # found no mls. The vendoring tool rewrites them to `from myharness._vendor.mls import`.
    vendoring = shutil.which("vendoring", path=f"{Path(sys.executable).parent}{os.pathsep}")
    if vendoring is None:
        if IN_CI:
            pytest.fail("the vendoring tool is missing: pip install 'labelnet[test]'")
        pytest.skip("the vendoring tool is missing: pip install vendoring")
    project = tmp_path / "project"
    vendor = project / "myharness" / "_vendor"
    vendor.mkdir(parents=True)
    (project / "pyproject.toml").write_text(VENDORING_CONFIG)
    (project / "myharness" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")
    (vendor / "vendor.txt").write_text(f"labelnet @ {wheel.as_uri()}\n")
    # vendoring runs `pip` from PATH: this environment's.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [vendoring, "sync", "-v"], capture_output=True, text=True, cwd=project, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(path.name for path in vendor.iterdir() if path.is_dir()) == [
        "calipso",
        "cipso",
        "mls",
    ]
    rewritten = (vendor / "cipso" / "doi.py").read_text()
    assert "from myharness._vendor.mls import" in rewritten
    used = subprocess.run(
        [sys.executable, "-c", USE_THE_VENDORED_COPY],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert used.returncode == 0, used.stderr
    import mls

    assert used.stdout.strip() == mls.__version__
