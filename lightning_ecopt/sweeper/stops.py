"""A stop signal's stop, kept until the sweep has it: raised again where the code the signal landed in dropped it.

The sweep's handler of SIGTERM, SIGHUP and SIGUSR1 (``loop._stop_signals_stop_the_sweep``) raises
:class:`~lightning_ecopt.exceptions.SweepTerminated` where Python runs it: between two bytecodes of the main thread,
whatever code that is. Some code drops an exception raised there: a weakref callback or a finalizer (Python prints it
as "Exception ignored in ..." and goes on; Hydra's logging set-up of each job lets go of the last job's handlers, whose
``WeakSet`` callbacks run then), and a ``finally`` that raises its own (``logging.shutdown`` releasing a lock it had
not yet taken: ``RuntimeError: cannot release un-acquired lock``). The stop was then lost for good: the handler had
already made a second SIGHUP ignored, the sweep ran on into the next trial, and a trial that hung kept the process
alive (a CI run of the fault suite timed out so, 1 of 3).

The handler records each stop here (:func:`arrived`) until the sweep receives it (:func:`received`), and
:func:`raise_if_lost` raises one it never received again at the sweep's own points: before each trial starts, when a
trial or a launch failed (the failure may be the stop, replaced), and before each proposal. A stop dropped by the
code of a trial that then runs on ends the sweep when that trial ends. While a sweep runs, a dropped stop is not
printed as a traceback (:func:`quiet_dropped_stops`): it is not lost.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

from lightning_ecopt.exceptions import SweepTerminated

__all__ = ["arrived", "quiet_dropped_stops", "raise_if_lost", "received"]

log = logging.getLogger(__name__)

_arrived: list[str] = []
"""The stop signals (``"SIGHUP"``, ...) whose stop the handler raised and the sweep has not received, in order."""


def arrived(name: str) -> None:
    """Record that the stop signal ``name`` arrived: its handler is about to raise the stop.

    Args:
        name: The signal's name, as :class:`~lightning_ecopt.exceptions.SweepTerminated` carries it.
    """
    _arrived.append(name)


def received() -> None:
    """Forget the stops that arrived: the sweep has one (it saves and stops), or its run has ended."""
    _arrived.clear()


def raise_if_lost(cause: BaseException | None = None) -> None:
    """Raise the stop a signal asked for that the sweep has not received: the code it landed in dropped it.

    Only in the main thread, where Python runs signal handlers (a sweep in another thread has none).

    Args:
        cause: The exception that replaced the stop on its way (raised from it), or ``None``.

    Raises:
        SweepTerminated: A stop arrived (:func:`arrived`) and the sweep has not received it.

    Example:
        >>> arrived("SIGHUP")
        >>> try:
        ...     raise_if_lost()
        ... except SweepTerminated as stop:
        ...     print(repr(stop))
        SweepTerminated('SIGHUP')
        >>> received()
        >>> raise_if_lost()  # nothing arrived since: nothing to raise
    """
    if not _arrived or threading.current_thread() is not threading.main_thread():
        return
    name = _arrived[0]
    log.debug("ecopt: the stop %s asked for was dropped by the code it interrupted; stopping now.", name)
    raise SweepTerminated(name) from cause


@contextlib.contextmanager
def quiet_dropped_stops() -> Iterator[None]:
    """Within the block, a stop that a weakref callback or finalizer dropped is logged at debug level, not printed.

    Python prints an exception raised inside them ("Exception ignored in ...", with a traceback) through
    ``sys.unraisablehook``; the stop is raised again (:func:`raise_if_lost`), so that traceback would only alarm.
    Any other exception goes to the hook that was there. The hook is put back at the end, unless the block replaced it.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, SweepTerminated):
            log.debug(
                "ecopt: %s dropped the stop %s; raised again at the sweep's next stop point.",
                unraisable.object,
                unraisable.exc_value,
            )
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        if sys.unraisablehook is hook:
            sys.unraisablehook = previous
