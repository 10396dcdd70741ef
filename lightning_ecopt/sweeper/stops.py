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
trial or a launch failed (the failure may be the stop, replaced), and before each proposal. While a sweep runs, a
dropped stop is not printed as a traceback (:func:`quiet_dropped_stops`): it is not lost.

A stop dropped inside a trial's own code, which the basic launcher runs in the sweep's main thread (a catch-all ``except
BaseException`` or bare ``except:``, a library that catches and goes on, a finalizer), reaches none of those points
until the trial ends, and a trial that then hangs or runs for hours kept the sweep alive, deaf to a second SIGHUP. So
while the sweep runs, a thread (:func:`resend_lost_stops`) looks once a second (:data:`_RESEND_S`): a stop not received
at two looks in a row (1 to 2 s after it arrived), and that no code of the main thread is handling (an ``except`` or
``finally`` with it, or with an exception raised while handling it: Lightning's teardown after an interrupt, a task's
own cleanup; or with a Ctrl-C, whose save the sweep has begun), has its signal sent again to the main thread
(``signal.pthread_kill``), whose handler raises the stop again (:func:`was_resent`); then again each second while it
stays lost. A cleanup that handles the stop is never cut short by it, however long it takes (one that hangs there keeps
the sweep alive: a second SIGTERM ends the process). The signal interrupts a blocking call (``time.sleep``, a lock, a
read) as the first one did; a call that never returns to Python (a hung CUDA kernel) is interrupted only when it
returns. Under joblib or submitit the trials run in other processes, which the signal sent again never reaches: there it
interrupts the sweep's own wait for its batch. POSIX only: Windows has no ``pthread_kill`` (nor SIGHUP or SIGUSR1), and
there a stop the trial's code drops acts when the trial ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from lightning_ecopt.exceptions import SweepTerminated, is_interrupt

__all__ = [
    "arrived",
    "handling_a_stop",
    "quiet_dropped_stops",
    "raise_if_lost",
    "received",
    "resend_lost_stops",
    "unreceived",
    "was_resent",
]

log = logging.getLogger(__name__)

_arrived: list[str] = []
"""The stop signals (``"SIGHUP"``, ...) whose stop the handler raised and the sweep has not received, in order."""

_RESEND_S = 1.0
"""How often :func:`resend_lost_stops` looks: a stop lost at two looks in a row has its signal sent again."""

_CAN_RESEND = hasattr(signal, "pthread_kill")
"""Whether a signal can be sent to the main thread (POSIX); Windows has no ``pthread_kill``."""

_resent: set[str] = set()
"""The stop signals sent again to the main thread whose handler has not yet run (:func:`was_resent`)."""

_received = 0
"""How many times :func:`received` ran: a stop lost at two looks is the same stop only where it did not run between."""

_lock = threading.Lock()
"""Held by the thread that sends a signal again, from its look to the send, and by :func:`received` and the end of
:func:`resend_lost_stops`: once either returns, no signal is sent again for what it ended. Never taken by a signal
handler (one runs between any two bytecodes of the main thread, inside a ``with _lock`` block too)."""


def _new_lock_in_child() -> None:
    """A child forked while the sending thread held the lock gets it unlocked (that thread is not in the child)."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_new_lock_in_child)


def arrived(name: str) -> None:
    """Record that the stop signal ``name`` arrived: its handler is about to raise the stop.

    Args:
        name: The signal's name, as :class:`~lightning_ecopt.exceptions.SweepTerminated` carries it.
    """
    _arrived.append(name)


def received() -> None:
    """Forget the stops that arrived: the sweep has one (it saves and stops), or its run has ended.

    From then on no signal is sent again for them (:func:`resend_lost_stops`); one sent just before is ignored by the
    handler (:func:`unreceived` is false), not taken for a new stop.
    """
    global _received
    with _lock:
        _arrived.clear()
        _received += 1


def unreceived(name: str) -> bool:
    """Whether the stop of signal ``name`` arrived and the sweep has not received it.

    Args:
        name: The signal's name (``"SIGTERM"``, ...).
    """
    return name in _arrived


def was_resent(name: str) -> bool:
    """Whether the handler now running for signal ``name`` answers :func:`resend_lost_stops`'s send, not a signal.

    Each send is answered once; a signal from outside is not one.

    Args:
        name: The signal's name (``"SIGTERM"``, ...).

    Returns:
        ``True`` once for each time the signal was sent again. The handler then raises the stop where it is still lost
        (:func:`unreceived`, and not :func:`handling_a_stop`), and otherwise does nothing: a second SIGTERM from
        outside ends the process, one sent again must not.
    """
    if name not in _resent:
        return False
    _resent.discard(name)
    return True


def handling_a_stop() -> bool:
    """Whether a stop is on its way in the calling thread: it handles the stop, or an exception raised from it.

    The exception it handles is ``sys.exception()``: the one of the ``except`` or ``finally`` block running. A Ctrl-C
    (``KeyboardInterrupt``, and Lightning's ``sys.exit(1)`` raised from one) is a stop on its way too: the sweep saves
    for it, and the lost stop sent again would cut that save short.

    Example:
        >>> handling_a_stop()
        False
        >>> try:
        ...     raise SweepTerminated("SIGTERM")
        ... except SweepTerminated:
        ...     print(handling_a_stop())
        True
    """
    exc = sys.exception()
    return exc is not None and is_interrupt(exc)


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


def _handles_a_stop(thread_id: int) -> bool:
    """:func:`handling_a_stop` for thread ``thread_id``, asked from another thread.

    ``False`` where the interpreter cannot tell: the handler then asks again, in the thread itself.
    """
    current = getattr(sys, "_current_exceptions", None)  # CPython's
    handled = current().get(thread_id) if current is not None else None
    if isinstance(handled, tuple):  # Python 3.11: an exc_info triple; 3.12 on: the exception
        handled = handled[1]
    return isinstance(handled, BaseException) and is_interrupt(handled)


def _send_again(done: threading.Event, main: int) -> None:
    """Look every :data:`_RESEND_S` until ``done``: send a stop lost at two looks in a row to thread ``main`` again."""
    lost_before: tuple[int, str] | None = None
    while not done.wait(_RESEND_S):
        with _lock:
            if done.is_set():
                return
            lost = (_received, _arrived[0]) if _arrived else None
            if lost is None or lost != lost_before:  # none, or not lost for a whole look yet
                lost_before = lost
                continue
            name = lost[1]
            if name in _resent or _handles_a_stop(main):
                # The last send not answered yet (the main thread is in a call that has not returned to Python), or
                # the stop on its way (a cleanup handling it, the sweep's own handling).
                continue
            number = getattr(signal, name, None)
            if number is None or not callable(signal.getsignal(number)):
                continue  # not a Python handler now (SIGTERM's default would end the process unsaved)
            _resent.add(name)
            try:
                signal.pthread_kill(main, number)
            except OSError:  # the main thread has ended
                _resent.discard(name)
                return
        log.debug("ecopt: the stop %s asked for was dropped by the code running then; %s sent again.", name, name)


@contextlib.contextmanager
def resend_lost_stops() -> Iterator[None]:
    """Within the block (a sweep's run), a stop that stays lost has its signal sent again to the main thread.

    A thread looks every :data:`_RESEND_S`: a stop that arrived (:func:`arrived`) and was still not received at two
    looks in a row, and that no code of the main thread is handling then (:func:`handling_a_stop`), has its signal
    sent again to the main thread; the handler raises the stop again (:func:`was_resent`). The thread ends with the
    block, and sends nothing once the block has ended. Only in the main thread and where signals can be sent to a
    thread (POSIX); elsewhere the block runs without it.
    """
    if not _CAN_RESEND or threading.current_thread() is not threading.main_thread():
        yield
        return
    _resent.clear()  # a send of an earlier run its handler never answered is not this run's
    done = threading.Event()
    thread = threading.Thread(
        target=_send_again, args=(done, threading.get_ident()), name="ecopt-resend-lost-stops", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        # Told first: the lock is held while a signal is sent, and that signal's handler may raise the stop inside the
        # wait for it (where no stop is on its way), which would leave the thread looking for the rest of the process.
        done.set()
        with _lock:  # a look begun before done was set has sent: none is sent once the block has ended
            pass
        thread.join()
