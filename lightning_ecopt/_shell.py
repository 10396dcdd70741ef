"""Paths as the commands our messages print name them: they paste into the platform's shell as written."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

_POSIX_SHELL = os.name != "nt"
"""Whether commands are pasted into a POSIX shell (quoted with ``'``); on Windows into ``cmd`` or PowerShell, where
only ``"`` quotes in both (``cmd`` passes a ``'`` on as part of the argument)."""


def shell_path(path: Path | str) -> str:
    r"""``path`` as a command's argument that pastes into this platform's shell: quoted, and never read as an option.

    POSIX: ``shlex.quote``. Windows: in double quotes where it holds a space or a tab (``C:\Users\me\runs`` as it
    is: ``shlex`` quoted every backslash path in single quotes, which ``cmd`` keeps as part of the path).

    >>> shell_path(Path("my runs")), shell_path(Path("-x")), shell_path(Path("/tmp/-x"))
    ("'my runs'", './-x', '/tmp/-x')
    """
    text = str(path)
    if text.startswith("-"):
        text = f"./{text}"
    return shlex.quote(text) if _POSIX_SHELL else subprocess.list2cmdline([text])
