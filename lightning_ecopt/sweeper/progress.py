"""What a running sweep shows: a progress bar on a terminal, and its log lines where logging would show none.

Both stay out of the user's way: the bar shows between batches only (a batch's trials write to the terminal as they
are, a Trainer's own rich bar included), and routes the log lines said meanwhile above itself; the lines shown where
logging has no handler (a Jupyter notebook, a script that configured none) go once the user sets one up, and not at
all where the user silenced logging.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any, Literal

__all__ = ["SweepProgress", "lines_shown_where_logging_is_not_configured"]


class SweepProgress:
    """A rich progress bar on a terminal, shown between batches; else nothing (the batch's log line is the record).

    Hidden while a batch runs (:meth:`paused`): the trials write to the same terminal (a Trainer's own progress bar
    is rich's too where rich is installed), and routed through the bar their output broke. The bar has a console of
    its own: Lightning's ``RichProgressBar`` rebuilds rich's global one (``rich.reconfigure``), which dropped the
    sweep's bar from it, and stopping the bar then raised ``IndexError``. Its console soft-wraps (a long line is not
    cut by inserted newlines: pasted commands stay whole). While it shows, the stream handlers that write to the
    terminal (Hydra's, ``logging.basicConfig``'s: they hold the stream itself, which rich's redirection of
    ``sys.stdout`` and ``sys.stderr`` does not reach) write through it, above the bar, instead of behind it; so do
    rich's own ``RichHandler``s on the terminal (they print on rich's global console, not the bar's).
    """

    def __init__(self, total: int, done: int) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._routed: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._rich_routed: list[tuple[Any, Any]] = []  # (a RichHandler, its own console)
        self._line: Any = None  # the column that shows the batch's line
        self._overflow: Literal["ellipsis", "crop"] = "ellipsis"  # how a column too narrow for its text cuts it
        # Both streams: the bar draws on stdout, and FORCE_COLOR makes rich take a redirected one for a terminal.
        if not (sys.stderr.isatty() and sys.stdout.isatty()):
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            RenderableColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.table import Column
        from rich.text import Text

        console = Console(soft_wrap=True)
        if not console.is_terminal or console.is_dumb_terminal:  # nothing would be drawn (TERM=dumb)
            return
        # Where the line is too long for the terminal, rich narrows the columns that may wrap: the bar and the line
        # (cut with an ellipsis; the log line above says it whole), not the name, the trial count or the time. On a
        # stream that cannot encode the ellipsis (ASCII, latin-1) a cut is plain: "…" raised UnicodeEncodeError.
        self._overflow = "crop" if console.options.ascii_only else "ellipsis"
        self._line = RenderableColumn(Text(""))

        def kept() -> Column:
            return Column(no_wrap=True, overflow=self._overflow)

        self._bar = Progress(
            TextColumn("ecopt", table_column=kept()), BarColumn(), MofNCompleteColumn(table_column=kept()),
            self._line, TimeElapsedColumn(table_column=kept()), console=console, transient=True,
        )  # fmt: skip
        self._task = self._bar.add_task("", total=total, completed=done)
        self._show()

    def update(self, done: int, description: str) -> None:
        """Show ``done`` trials and ``description`` (the batch's line) on the bar, if there is one."""
        if self._bar is not None:
            from rich.text import Text

            self._line.renderable = Text(description, no_wrap=True, overflow=self._overflow)
            self._bar.update(self._task, completed=done, description=description)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hide the bar while the block runs (a batch's trials), then show it again."""
        if self._bar is None:
            yield
            return
        self._hide()
        try:
            yield
        finally:
            if self._bar is not None:
                self._show()

    def close(self) -> None:
        """Take the bar away for good (the streams and handlers it routed are given back)."""
        if self._bar is not None:
            self._hide()
            self._bar = None

    def _show(self) -> None:
        from rich.logging import RichHandler

        screens = (sys.stdout, sys.stderr)
        self._bar.start()
        proxies = (sys.stdout, sys.stderr)  # rich's redirection, writing above the bar
        redirected = proxies != screens  # not where another sweep's bar (a thread's) already shows
        for handler in _handlers():
            if isinstance(handler, RichHandler):
                # One on the terminal (rich's global console, or one of its own on stdout/stderr); one on a file
                # keeps writing there.
                file = getattr(handler.console.file, "rich_proxied_file", handler.console.file)
                if redirected and file in screens:
                    self._rich_routed.append((handler, handler.console))
                    handler.console = self._bar.console
                continue
            if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
                continue
            for screen, proxy in zip(screens, proxies, strict=True):
                if handler.stream is screen and proxy is not screen:
                    self._routed.append((handler, handler.setStream(proxy)))
                    break

    def _hide(self) -> None:
        for handler, stream in self._routed:
            if stream is not None:
                handler.setStream(stream)
        self._routed.clear()
        for rich_handler, console in self._rich_routed:
            rich_handler.console = console
        self._rich_routed.clear()
        self._bar.stop()


class _StderrLines(logging.Handler):
    """Writes each record's message to ``sys.stderr`` as it is when the record comes, not as it was when built.

    A notebook's kernel gives each cell's output a stream of its own, and a progress bar redirects the stream while
    it shows: writing to the current one puts the line in the cell's output, or above the bar.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if _another_handler_shows(record, self):
            return  # logging configured meanwhile (a trial's basicConfig): the line once, where the user put it
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def _another_handler_shows(record: logging.LogRecord, ours: logging.Handler) -> bool:
    """Whether a handler besides ``ours`` on the record's logger or those it propagates to would take the record."""
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        if any(h is not ours and record.levelno >= h.level for h in logger.handlers):
            return True
        logger = logger.parent if logger.propagate else None
    return False


class _Shown:
    """The one :class:`_StderrLines` handler, shared by the sweeps that run in threads at once (guarded by ``lock``)."""

    lock = threading.Lock()
    handler = _StderrLines()
    runs = 0  # the runs it shows the lines of now
    set_info = False  # whether the first of them set the lightning_ecopt logger's unset level to INFO


@contextlib.contextmanager
def lines_shown_where_logging_is_not_configured(log: logging.Logger) -> Iterator[None]:
    """Show the sweep's INFO lines (and warnings) on stderr for the block, where no logging handler would show them.

    Where Python's logging has no handler at all (a Jupyter notebook, a script that configured none), only warnings
    reached stderr (logging's last resort), and a sweep off a terminal showed nothing while it ran: not a batch's
    line, not the inferred reference point, not "done". For the block, the ``lightning_ecopt`` logger gets a handler
    writing its messages to ``sys.stderr`` and, where its level is unset, the level INFO; both are taken back after.
    Where any handler is set (Hydra's, ``basicConfig``'s, pytest's), also one set during the run (a trial's
    ``basicConfig``: the lines then go there only), or the root's level or the package's ``propagate`` was changed,
    nothing changes: the user's set-up decides.

    Args:
        log: The logger whose lines the block says (its handlers, and those it propagates to, are looked at).
    """
    package, root = logging.getLogger("lightning_ecopt"), logging.getLogger()
    with _Shown.lock:
        # Logging as Python starts it: no handler, the root at WARNING, the package propagating. A root level or a
        # propagate=False the user set is their way of silencing it, kept.
        untouched = not log.hasHandlers() and not root.handlers and root.level == logging.WARNING and package.propagate
        ours = _Shown.runs > 0 or untouched
        if ours:
            if not _Shown.runs:
                package.addHandler(_Shown.handler)
                _Shown.set_info = package.level == logging.NOTSET
                if _Shown.set_info:
                    package.setLevel(logging.INFO)
            _Shown.runs += 1
    try:
        yield
    finally:
        if ours:
            with _Shown.lock:
                _Shown.runs -= 1
                if not _Shown.runs:
                    package.removeHandler(_Shown.handler)
                    if _Shown.set_info and package.level == logging.INFO:
                        package.setLevel(logging.NOTSET)  # as found (a level set meanwhile is the user's)


def _handlers() -> list[logging.Handler]:
    """The handlers of the root logger and every other logger, each once."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    found: dict[int, logging.Handler] = {}
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            found.setdefault(id(handler), handler)
    return list(found.values())
