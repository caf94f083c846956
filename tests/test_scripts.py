"""scripts/setup and scripts/test, README's two commands, as root and as a user.

Each case runs a copy of the scripts against stand-ins (``id``, ``sudo``, ``dpkg-query``,
``apt-get`` and the virtual environment's programs) that log how they were called, so that
nothing is installed and the real suite does not run inside itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAS_REAL_SUDO = shutil.which("sudo") is not None


def _stub(path: Path, body: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> "$STUB_LOG"\n{body}\n')
    path.chmod(0o755)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the scripts, with a stand-in virtual environment."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    for program in ["python", "ruff", "mypy"]:
        _stub(repo / ".venv" / "bin" / program)
    return repo


def _run(
    tree: Path, script: str, *args: str, uid: int, sudo: str | None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``scripts/<script>`` as ``uid`` says; ``sudo`` is the stand-in's body, None for none."""
    stubs = tree.parent / "stubs"
    (stubs / "id").parent.mkdir(parents=True, exist_ok=True)
    (stubs / "id").write_text(f'#!/bin/sh\n[ "$1" = "-u" ] && echo {uid}\n')
    (stubs / "id").chmod(0o755)
    _stub(stubs / "dpkg-query", "exit 1")  # every Debian package missing
    _stub(stubs / "apt-get")
    if sudo is not None:
        _stub(stubs / "sudo", sudo)
    log = tree.parent / "log"
    log.write_text("")
    env = {
        **os.environ,
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "STUB_LOG": str(log),
        "CI": "true",
    }
    done = subprocess.run(
        [str(tree / "scripts" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return done, log.read_text().splitlines()


REFUSE = 'echo "sudo is not for root" >&2; exit 99'
# Runs the command after sudo's own options, as sudo does.
RUN_IT = 'while [ "${1#-}" != "$1" ]; do shift; done; "$@"'


def test_setup_as_root_installs_without_sudo(tree: Path) -> None:
    # Regression: a root shell in a Debian container has no sudo.
    done, calls = _run(tree, "setup", uid=0, sudo=REFUSE)
    assert done.returncode == 0, done.stderr
    assert not any(call.startswith("sudo") for call in calls), calls
    assert "apt-get update -qq" in calls
    install = next(call for call in calls if call.startswith("apt-get install"))
    assert "netlabel-tools" in install and "tshark" in install
    assert any("pip install" in call and "-e .[all]" in call for call in calls), calls


def test_setup_as_a_user_installs_through_sudo(tree: Path) -> None:
    done, calls = _run(tree, "setup", uid=1000, sudo=RUN_IT)
    assert done.returncode == 0, done.stderr
    assert "sudo apt-get update -qq" in calls, calls
    assert any(
        call.startswith("sudo env DEBIAN_FRONTEND=noninteractive apt-get ") for call in calls
    )


@pytest.mark.skipif(HAS_REAL_SUDO, reason="this machine has sudo")
def test_setup_as_a_user_without_sudo_says_what_to_install(tree: Path) -> None:
    done, calls = _run(tree, "setup", uid=1000, sudo=None)
    assert done.returncode == 0, done.stderr
    assert not any(call.startswith("apt-get") for call in calls), calls
    assert "apt-get install" in done.stderr and "tshark" in done.stderr
    assert any("pip install" in call for call in calls), calls


#: What scripts/test runs, in order, before pytest: the set-up, the lint and the type check.
CHECKS_BEFORE_PYTEST = ["setup ", "ruff check .", "ruff format --check .", "mypy "]


def test_test_as_root_runs_every_step_without_sudo(tree: Path) -> None:
    _stub(tree / "scripts" / "setup")
    done, calls = _run(tree, "test", "-k", "cipso", uid=0, sudo=REFUSE)
    assert done.returncode == 0, done.stderr
    assert calls == [*CHECKS_BEFORE_PYTEST, "python -m pytest -k cipso"]


def test_test_as_a_user_runs_pytest_alone_through_sudo(tree: Path) -> None:
    _stub(tree / "scripts" / "setup")
    done, calls = _run(tree, "test", "-k", "cipso", uid=1000, sudo=RUN_IT)
    assert done.returncode == 0, done.stderr
    # The set-up, lint and type check stay the user's (their .venv, their caches); CI=true
    # goes along to pytest, so that a skipped kernel test still fails the run under CI.
    assert calls == [
        *CHECKS_BEFORE_PYTEST,
        "sudo --preserve-env=CI env PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m pytest"
        " -p no:cacheprovider -k cipso",
        "python -m pytest -p no:cacheprovider -k cipso",
    ]


@pytest.mark.skipif(HAS_REAL_SUDO, reason="this machine has sudo")
def test_test_as_a_user_without_sudo_runs_without_root(tree: Path) -> None:
    _stub(tree / "scripts" / "setup")
    done, calls = _run(tree, "test", uid=1000, sudo=None)
    assert done.returncode == 0, done.stderr
    assert "the tests against the live kernel are skipped" in done.stderr
    assert calls[-1] == "python -m pytest"
