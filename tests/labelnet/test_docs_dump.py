"""The shell examples of docs/dump.md run as written, in order, in one directory, and print what
the page shows (``...`` stands for any lines)."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "dump.md"


def shell_examples(text: str) -> list[tuple[str, str]]:
    """(command, expected output) for every ``$ `` line of the page's unlabeled code blocks; a
    command continues over lines ending in a backslash."""
    examples: list[tuple[str, str]] = []
    for block in re.findall(r"^```\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            if not lines[index].startswith("$ "):
                index += 1
                continue
            command = lines[index][2:]
            while command.endswith("\\"):
                index += 1
                command = command[:-1] + " " + lines[index].strip()
            index += 1
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            examples.append((command, "\n".join(output) + "\n" if output else ""))
    return examples


def test_the_page_has_shell_examples() -> None:
    commands = [command for command, _ in shell_examples(PAGE.read_text())]
    assert commands[0] == "labelnet demo --write trace.pcapng"
    assert len(commands) >= 10


def test_shell_examples_run_as_written(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "labelnet"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m labelnet "$@"\n')
    shim.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
    }
    checker = doctest.OutputChecker()
    failures = []
    for command, expected in shell_examples(PAGE.read_text()):
        proc = subprocess.run(
            ["sh", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        # A terminal shows the lines before the error line; the pipes here are read apart.
        got = proc.stdout + proc.stderr
        if not checker.check_output(expected, got, doctest.ELLIPSIS):
            failures.append(f"$ {command}\n--- expected\n{expected}--- got\n{got}")
    if failures:
        pytest.fail("\n".join(failures))
