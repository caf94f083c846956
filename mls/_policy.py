"""Where the active SELinux policy keeps its files: ``/etc/selinux/config`` names the policy
type, whose directory holds the policy's setrans.conf.

A module of its own, apart from :mod:`mls.translate`, so that the command lines can look for
the system's setrans.conf without loading the translator when there is none.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_config_path"]


def default_config_path(selinux_root: str | os.PathLike[str] = "/etc/selinux") -> Path:
    """``/etc/selinux/<SELINUXTYPE>/setrans.conf`` for the policy type named in
    ``/etc/selinux/config`` (``targeted`` when that file or the setting is missing)."""
    root = Path(selinux_root)
    policy_type = "targeted"
    try:
        for line in (root / "config").read_text(encoding="utf-8").splitlines():
            key, _, value = line.strip().partition("=")
            if key.strip() == "SELINUXTYPE" and value.strip():
                policy_type = value.strip()
    except (OSError, UnicodeDecodeError):
        pass
    return root / policy_type / "setrans.conf"
