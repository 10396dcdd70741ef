"""What every benchmark records about where it ran: the installed versions of the packages it depends on."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata

__all__ = ["package_versions"]


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed version of each distribution in ``names``, or ``"not installed"``."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
