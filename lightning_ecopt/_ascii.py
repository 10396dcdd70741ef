"""The report's symbols as ASCII, on a stream that cannot encode them (an ASCII or cp1252 stdout).

Importing this module registers the codec error handler ``ecopt_ascii``: ``"↑ 673 µJ".encode("ascii",
errors="ecopt_ascii")`` gives ``b"^ 673 uJ"`` (characters it has no ASCII for become ``?``).
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Iterator

__all__ = ["ERRORS", "symbols_as_ascii"]

ERRORS = "ecopt_ascii"
"""The name of the codec error handler this module registers."""

_ASCII = {
    "↑": "^", "↓": "v", "★": "*", "…": "...", "—": "-", "–": "-", "×": "x", "²": "2", "≥": ">=", "≤": "<=", "µ": "u",
}  # fmt: skip
"""ASCII for the report's symbols, where the stream cannot encode them (other characters become ``?``)."""


def _to_ascii(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(_ASCII.get(c, "?") for c in error.object[error.start : error.end]), error.end


codecs.register_error(ERRORS, _to_ascii)


def _encodes_symbols(stream: object) -> bool:
    """Whether ``stream`` encodes every symbol of the report (also: no encoding, or one Python does not know)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(_ASCII).encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:  # an encoding Python does not know: leave the stream alone
        return True
    return True


@contextlib.contextmanager
def symbols_as_ascii(stream: object) -> Iterator[None]:
    """For the block, make a text stream that cannot encode the report's symbols write them as ASCII (``↑`` as ``^``).

    A cp1252 console or redirect, ``PYTHONIOENCODING=ascii`` or ``LC_ALL=C`` without UTF-8 mode would otherwise raise
    ``UnicodeEncodeError`` mid-report. The stream's own error handler is given back after the block; a stream that
    encodes the symbols, or cannot be reconfigured (a notebook's, a ``StringIO``), is left alone.

    Args:
        stream: The stream the block writes to (``sys.stdout``, a console's file).
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is None or _encodes_symbols(stream):
        yield
        return
    errors = getattr(stream, "errors", None) or "strict"
    reconfigure(errors=ERRORS)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # closed meanwhile: nothing to give back
            reconfigure(errors=errors)
