"""A lost stop's signal, sent again to the main thread while it stays lost (``stops.resend_lost_stops``).

SIGUSR2 stands for the stop signals here: its handler records each call instead of raising, so the main thread's
sleep goes on (Python retries it after the handler) and the calls can be counted.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lightning_ecopt.exceptions import SweepTerminated
from lightning_ecopt.sweeper import stops

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="no pthread_kill here (Windows)")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[float, bool]]]:
    """Each call of SIGUSR2's handler: (when, whether it answered a send of ``resend_lost_stops``)."""
    monkeypatch.setattr(stops, "_RESEND_S", 0.1)
    seen: list[tuple[float, bool]] = []

    def handler(signum: int, frame: Any) -> None:
        seen.append((time.monotonic(), stops.was_resent("SIGUSR2")))

    previous = signal.signal(signal.SIGUSR2, handler)
    try:
        yield seen
    finally:
        stops.received()
        signal.signal(signal.SIGUSR2, previous)


def _resending() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ecopt-resend-lost-stops"]


def test_a_stop_lost_for_a_look_is_sent_again_each_look_until_received(calls: list[tuple[float, bool]]) -> None:
    with stops.resend_lost_stops():
        assert len(_resending()) == 1
        arrived_at = time.monotonic()
        stops.arrived("SIGUSR2")  # as the handler does before it raises the stop that the code then drops
        time.sleep(1.0)
        stops.received()
        sent = len(calls)
        time.sleep(0.5)
    assert sent >= 3, calls  # about every 0.1 s from 0.1-0.2 s on
    assert all(resent for _, resent in calls)
    assert calls[0][0] - arrived_at >= 0.1  # not before it was lost at two looks
    assert len(calls) == sent  # none once received
    assert not _resending()  # the thread ends with the block


def test_nothing_is_sent_while_the_main_thread_handles_the_stop(calls: list[tuple[float, bool]]) -> None:
    """Lightning's teardown after an interrupt, a task's ``except SweepTerminated: <cleanup>; raise``: not cut short."""
    with stops.resend_lost_stops():
        stops.arrived("SIGUSR2")
        try:
            raise SweepTerminated("SIGUSR2")
        except SweepTerminated:
            time.sleep(0.6)
            try:
                raise RuntimeError("a cleanup step failed")  # raised while handling the stop: still on its way
            except RuntimeError:
                time.sleep(0.6)
        assert calls == []
        time.sleep(0.6)  # handled no more: lost
    assert calls
    assert not _resending()


def test_a_signal_a_python_handler_no_longer_takes_is_not_sent_again(calls: list[tuple[float, bool]]) -> None:
    """Sent again to SIGTERM's default disposition, it would end the process unsaved; SIG_IGN stands for it here."""
    with stops.resend_lost_stops():
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        stops.arrived("SIGUSR2")
        time.sleep(0.6)
        assert not stops._resent
        stops.received()
    assert calls == []


def test_outside_the_main_thread_no_thread_is_started() -> None:
    seen: list[int] = []

    def in_a_thread() -> None:
        with stops.resend_lost_stops():
            seen.append(len(_resending()))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [0]


def test_the_thread_ends_with_the_block_even_where_a_stop_is_raised_as_the_block_ends(
    calls: list[tuple[float, bool]],
) -> None:
    """The thread holds its lock while it sends: a block that ended just then waited for the lock, the signal's
    handler raised the stop inside that wait (the main thread handled no stop), and the thread, never told the block
    had ended, looked on for the rest of the process (and sent again in the next sweep beside that sweep's own)."""

    def raising(signum: int, frame: Any) -> None:
        raise SweepTerminated("SIGUSR2")

    held = threading.Event()
    release = threading.Event()

    def hold_the_lock(main: int) -> None:  # as the thread does from its look to its send
        with stops._lock:
            held.set()
            release.wait(5)
            time.sleep(0.2)  # the block has ended: its end waits for the lock
            signal.pthread_kill(main, signal.SIGUSR2)
            time.sleep(0.2)

    signal.signal(signal.SIGUSR2, raising)
    holder = threading.Thread(target=hold_the_lock, args=(threading.get_ident(),))
    started: list[threading.Thread] = []

    def a_sweep() -> None:
        with stops.resend_lost_stops():
            started.extend(_resending())
            holder.start()
            held.wait(5)
            release.set()

    with pytest.raises(SweepTerminated):  # raised as the block ends
        a_sweep()
    holder.join()
    (thread,) = started
    thread.join(2)
    assert not thread.is_alive()
