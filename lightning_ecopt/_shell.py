"""Paths as the commands our messages print name them: they paste into a POSIX shell as written."""

from __future__ import annotations

import shlex
from pathlib import Path


def shell_path(path: Path | str) -> str:
    """``path`` as a command's argument that pastes into a POSIX shell: quoted, and never read as an option.

    >>> shell_path(Path("my runs")), shell_path(Path("-x")), shell_path(Path("/tmp/-x"))
    ("'my runs'", './-x', '/tmp/-x')
    """
    text = str(path)
    return shlex.quote(f"./{text}" if text.startswith("-") else text)
