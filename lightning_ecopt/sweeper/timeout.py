"""The per-trial time limit (``trial_timeout_s``): interrupt a trial that runs too long, so it fails with a reason.

Design: the limit is enforced *inside the process that runs the trial*, with a ``SIGALRM`` timer that raises
:class:`~lightning_ecopt.exceptions.TrialTimeoutError` in the trial's main thread. That is the one mechanism every
Hydra launcher shares: the basic launcher runs the task in the sweep process, joblib (loky) in a worker process's
main thread, submitit in the SLURM job's own process. The error is an ordinary ``Exception``, so Hydra marks the
job FAILED, Lightning runs its ``on_exception`` hooks (``EnergyCallback`` closes its windows), and the sweep records
a failed trial whose reason says it timed out.

Limits, by design:

- A signal interrupts Python code only. A call that never returns to the interpreter (a hung CUDA kernel or NCCL
  collective, a C extension looping without checking signals) is interrupted only when it returns. For a hard limit
  use the launcher's own: ``hydra.launcher.timeout`` (joblib: the batch is lost and its workers are killed; its jobs
  that had finished keep their outcomes) or ``hydra.launcher.timeout_min`` (submitit: SLURM kills the job). The
  basic launcher runs trials inside the sweep process, where nothing can kill a trial without killing the sweep.
- POSIX only (Linux, macOS), main thread only: elsewhere (Windows, which has no ``SIGALRM``; a task run in a thread)
  the limit is not enforced and a warning says so once, naming why and what limits a trial there.
- A task that catches every ``Exception`` around its whole body can swallow the interruption. One that swallows it
  and then returns is still recorded as timed out (failed, with what it returned kept as the failed trial's
  figures): they may be of a loop the interrupt cut short.
- A task that sets its own ``SIGALRM`` handler or timer (``signal.alarm``, a SIGALRM-based timeout decorator) takes
  the one timer the limit uses: the limit no longer holds for that trial.
"""

from __future__ import annotations

import gc
import logging
import math
import numbers
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any, TypeVar

from lightning_ecopt.exceptions import TrialTimeoutError, _in_chain
from lightning_ecopt.sweeper.objectives import _as_mapping, _real
from lightning_ecopt.sweeper.spelling import in_hydra, shown

__all__ = [
    "MAX_TIMEOUT_S",
    "TimedTask",
    "call_with_timeout",
    "check_timeout",
    "release_failed_trial",
    "release_finished_trial",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

_WARNED: set[str] = set()

MAX_TIMEOUT_S = 1e9
"""The longest per-trial limit (31 years): ``setitimer`` refuses values past the platform's ``time_t`` (~9e9 s on
64-bit Linux), which would fail every trial; ``null`` is no limit."""

_OVERDUE_S = 1e-3
"""Delay of a caller's timer that fell due while a trial ran under its own limit: it fires right after the trial."""


def check_timeout(timeout_s: Any) -> float | None:
    """Validate a per-trial time limit.

    Args:
        timeout_s: Seconds (> 0, at most :data:`MAX_TIMEOUT_S`), or ``None`` for no limit.

    Returns:
        The limit as a float, or ``None``.

    Raises:
        ValueError: ``timeout_s`` is not a number of seconds in (0, :data:`MAX_TIMEOUT_S`] or ``None``.

    Example:
        >>> check_timeout(30), check_timeout(None)
        (30.0, None)
    """
    if timeout_s is None:
        return None
    # numbers.Real: numpy's floats too (np.float32(60.0)), returned as Python's.
    if (
        isinstance(timeout_s, bool)
        or not isinstance(timeout_s, numbers.Real)
        or not 0 < float(timeout_s) <= MAX_TIMEOUT_S
    ):
        raise ValueError(
            f"trial_timeout_s={shown(timeout_s)}: expected seconds > 0 and at most {MAX_TIMEOUT_S:.0e} (e.g. 3600), or "
            f"{shown(None)} for no per-trial time limit."
        )
    return float(timeout_s)


_HAS_SIGALRM = hasattr(signal, "SIGALRM")
"""Whether the platform has ``SIGALRM`` (POSIX: Linux, macOS); Windows has none, and no limit is enforced there."""


def _can_alarm() -> bool:
    return _HAS_SIGALRM and threading.current_thread() is threading.main_thread()


#: How often a limit that fell due during an import looks again.
_IMPORT_POLL_S = 0.05

#: The import module importlib runs a module's code from: its frames on the stack mean an import is under way.
_IMPORTLIB_FILE = "<frozen importlib._bootstrap>"


def _grace_s(timeout_s: float) -> float:
    """How long a limit that fell due waits for an import to end, and waits again for a swallowed interrupt to act.

    >>> _grace_s(10.0), _grace_s(600.0)
    (5.0, 60.0)
    """
    return max(5.0, 0.1 * timeout_s)


def _in_import(frame: FrameType | None, base: FrameType | None) -> bool:
    """Whether the interrupted code runs inside an import the trial started.

    That is, importlib's frames between it and ``base``, the trial's caller: an import around the whole sweep (a
    script loaded as a module) is not the trial's.
    """
    while frame is not None and frame is not base:
        if frame.f_code.co_filename == _IMPORTLIB_FILE:
            return True
        frame = frame.f_back
    return False


def _timeout_in(error: BaseException | None) -> bool:
    """Whether a :class:`TrialTimeoutError` is in ``error``'s chain (causes and contexts)."""
    return error is not None and _in_chain(error, TrialTimeoutError)


def _warn_not_enforced(timeout_s: float, *, hydra: bool) -> None:
    """Warn, once a process, that the limit cannot be enforced here, with what does limit a trial there.

    Under Hydra the launcher's own limit; from Python (no launcher), the main thread or a subprocess.
    """
    if "thread" in _WARNED:
        return
    _WARNED.add("thread")
    if hydra:
        fix = "use the launcher's own limit, e.g. hydra.launcher.timeout (joblib) or timeout_min (submitit)"
    elif _HAS_SIGALRM:
        fix = "run run() in the main thread (SIGALRM works only there), or run each trial in a subprocess with its own "
        fix += "time limit"
    else:
        fix = "run each trial in a subprocess with its own time limit"
    why = "the trial runs outside the main thread" if _HAS_SIGALRM else f"{sys.platform} has no SIGALRM"
    setting = "hydra.sweeper.trial_timeout_s=%g" if hydra else "SweepSettings(trial_timeout_s=%g)"
    log.warning(setting + " is not enforced here (%s); %s.", timeout_s, why, fix)


def call_with_timeout(fn: Callable[..., T], timeout_s: float | None, *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)``; raise :class:`TrialTimeoutError` in it once ``timeout_s`` seconds have passed.

    Args:
        fn: The trial.
        timeout_s: The limit in seconds; ``None`` calls ``fn`` without one.
        *args: Positional arguments for ``fn``.
        **kwargs: Keyword arguments for ``fn``.

    Returns:
        What ``fn`` returned.

    Raises:
        TrialTimeoutError: ``fn`` was still running after ``timeout_s`` seconds (raised inside it); or ``fn`` caught
            that interrupt and returned (``returned=True``, with what it returned as ``metrics``): its figures may be
            of a loop the interrupt cut short, so the trial is not taken as completed.

    The previous ``SIGALRM`` handler is restored afterwards, and so is a timer the caller had running (its own
    deadline), less the time ``fn`` took; one that fell due meanwhile fires right after ``fn`` returns.

    Example:
        >>> call_with_timeout(lambda x: x + 1, 5.0, 1)
        2
    """
    if timeout_s is None:
        return fn(*args, **kwargs)
    if not _can_alarm():
        _warn_not_enforced(timeout_s, hydra=in_hydra())
        return fn(*args, **kwargs)

    running = True
    base = sys._getframe()  # the trial's imports are those above this frame
    deferred_since: float | None = None
    fired = False
    interrupt: TrialTimeoutError | None = None  # the one raised in fn: where it landed, if fn catches it

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal deferred_since, fired, interrupt
        # A timer that fires once fn has returned (Python runs the handler at the next call: the timer's disarming)
        # interrupts nothing; raising there would skip putting back the caller's handler and timer.
        if not running:
            return
        now = time.monotonic()
        if fired and _timeout_in(sys.exception()):
            # Still handling the limit's own interrupt (Lightning's on_exception and teardown, a task attaching what
            # ran): interrupted again there, the trial's figures would be lost. Looked at again after a grace.
            signal.setitimer(signal.ITIMER_REAL, _grace_s(timeout_s))
            return
        if _in_import(frame, base):
            # Raised inside a module's own code, the interrupt would leave the module half made in sys.modules, and
            # every later trial of this process importing it would fail (a first torch.compile imports inductor
            # lazily): the limit falls due once the import is done, or after a grace for an import that hangs.
            if deferred_since is None:
                deferred_since = now
            if now - deferred_since < _grace_s(timeout_s):
                signal.setitimer(signal.ITIMER_REAL, _IMPORT_POLL_S)
                return
            log.warning(
                "trial_timeout_s=%g: the trial was still importing a module %.0f s after its limit; interrupted "
                "there, so that module may be left half made for later trials of this process.",
                timeout_s,
                now - deferred_since,
            )
        fired = True
        deferred_since = None
        # Again after a grace: code in the trial that catches every exception (a library's fallback) would otherwise
        # swallow the one interrupt, and the trial would run on without a limit.
        signal.setitimer(signal.ITIMER_REAL, _grace_s(timeout_s))
        interrupt = TrialTimeoutError(timeout_s)
        raise interrupt

    # A timer already running (a deadline of the caller's own) is put back afterwards, less the time the trial took;
    # one that fell due meanwhile fires as soon as its handler is back. Read before the trial's timer is armed: a
    # limit that falls due at once raises before setitimer's own answer could be kept.
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    previous = signal.signal(signal.SIGALRM, _interrupt)
    start = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        value = fn(*args, **kwargs)
    except TrialTimeoutError:
        raise
    except Exception as err:
        # The limit's interrupt, wrapped by the code it landed in (torch.compile raises InductorError from it, a task
        # its own TrialFailure): recorded as the timeout it is, with the figures the wrapper carried.
        if fired and _timeout_in(err):
            carried = getattr(err, "metrics", None)
            raise TrialTimeoutError(timeout_s, carried if isinstance(carried, Mapping) else None) from err
        raise
    finally:
        running = False
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)
            if outer_delay > 0:
                left = outer_delay - (time.monotonic() - start)
                signal.setitimer(signal.ITIMER_REAL, max(left, _OVERDUE_S), outer_interval)
    if fired:
        # fn caught the limit's interrupt (``except Exception:`` around trainer.test) and returned: its figures may be
        # of a loop the interrupt cut short. Recorded as the timeout it is, with what it returned, as a wrapped
        # interrupt is; raised here, in the process that ran the trial, it travels back as any trial's failure does.
        raise TrialTimeoutError(timeout_s, _returned_figures(value), returned=True) from interrupt
    return value


def _returned_figures(value: Any) -> dict[str, float | str] | None:
    """The figures in a trial's return value, as a failed trial keeps them; ``None`` for a value that names none.

    A dict (or a pandas Series) keeps its numbers (numpy and torch scalars as numbers, a ``(mean, sem)`` pair as its
    mean) and its strings (the ``energy/source`` label) by name; values in order (a tuple) name no metric.

    >>> _returned_figures({"test/acc": 0.5, "energy/test_j": (4.0, 0.1), "energy/source": "measured: zeus/nvml"})
    {'test/acc': 0.5, 'energy/test_j': 4.0, 'energy/source': 'measured: zeus/nvml'}
    >>> _returned_figures((0.5, 4.0)) is None
    True
    """
    keyed = _as_mapping(value)
    if keyed is None:
        return None
    figures: dict[str, float | str] = {}
    for key, item in keyed.items():
        if not isinstance(key, str):
            continue
        if isinstance(item, str):
            figures[key] = item
            continue
        if isinstance(item, Sequence) and not isinstance(item, bytes) and len(item) == 2:
            item = item[0]  # (mean, sem)
        number = _real(item)
        if number is not None:
            figures[key] = number
    return figures


def release_failed_trial(error: BaseException) -> None:
    """Let go of what a failed trial's frames still hold: its Trainer, model, data, DataLoader workers.

    The trial's exception is kept (for its reason, and as a launcher's return value), and its traceback holds every
    frame the trial ran with their locals: a fit that timed out (or raised) mid-epoch kept its DataLoader's worker
    processes running, and on a GPU its model's memory, through the later trials of the process, to the sweep's end
    (a Trainer and its module refer to each other, so only Python's full collection frees them, and a sweep of
    trials that each make more objects than they leave did not reach one). The frames' locals are cleared (the
    traceback still shows its lines) and what they held collected: at once, unless the last collection ended too
    recently (:func:`_collect`: failures in quick succession are collected at the next that may spend one).

    Args:
        error: The exception the trial ended with; those it was raised from or while handling are cleared too.

    Example:
        >>> import weakref
        >>> class Held: ...
        >>> def trial():
        ...     held = Held()  # a Trainer and its module hold each other: a full collection (at most every so
        ...     refs.append(weakref.ref(held))  # often, :func:`_collect`) frees them; this one goes with its frame
        ...     raise RuntimeError("mid-fit")
        >>> refs = []
        >>> try:
        ...     trial()
        ... except RuntimeError as err:
        ...     release_failed_trial(err)
        ...     print(refs[0]() is None)
        True
    """
    pending, seen = [error], set()
    while pending:
        cause = pending.pop()
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        traceback.clear_frames(cause.__traceback__)  # a frame still running (the caller's) is left as it is
        pending.extend(linked for linked in (cause.__cause__, cause.__context__) if linked is not None)
    _collect()


def release_finished_trial(duration_s: float) -> None:
    """Let go of what a trial that returned left in reference cycles: its Trainer, model, data (on a GPU, its memory).

    A Trainer and its module refer to each other, and a fit's many collections move them to the oldest generation,
    which Python collects in full only once the objects made since are a quarter of those it holds: in a sweep's
    process (the basic launcher, ``ParetoSweep.from_function``, a joblib worker), a leak audit of Lightning digits
    trials found the Trainers, modules, loggers and tensors of up to 7 finished trials alive at a trial's start; on a
    GPU, each of those models' weights and optimiser state. Collected at once (:func:`_collect`), where the trial
    lasted at least the last collection's cost over :data:`_COLLECTION_SHARE` (at most a tenth of a trial's time):
    trials of microseconds (a synthetic task's, which build nothing large) leave it to Python.

    Args:
        duration_s: How long the trial ran, in seconds.
    """
    if duration_s < _last_collection[1] / _COLLECTION_SHARE:
        return
    _collect()


_last_collection: tuple[float, float] = (-math.inf, 0.0)
"""When the last full collection of :func:`_collect` ended (``time.monotonic``) and how long it took."""

_COLLECTION_SHARE = 0.1
"""The most of a sweep's time that collections after failed trials may take."""

_clock = time.monotonic


def _collect() -> None:
    """Python's full collection, unless the last one ended too recently to spend another now.

    A full collection takes about 0.2 s in a process that has imported torch, Lightning and Ax: after every one of 40
    trials that failed at once, a sweep took 9.7 s instead of 1.3 s. It runs where the time since the last one is at
    least its cost over :data:`_COLLECTION_SHARE`; what a failure in between left is collected at the next.
    """
    global _last_collection
    start = _clock()
    ended, cost = _last_collection
    if start - ended < cost / _COLLECTION_SHARE:
        return
    gc.collect()
    end = _clock()
    _last_collection = (end, end - start)


class TimedTask:
    """A Hydra task function run under :func:`call_with_timeout` (picklable, for process-based launchers).

    Args:
        task_function: The app's task function.
        timeout_s: The per-trial limit in seconds, or ``None``.

    Example:
        >>> TimedTask(lambda cfg: cfg["x"] * 2, 10.0)({"x": 3})
        6
    """

    def __init__(self, task_function: Callable[[Any], Any], timeout_s: float | None) -> None:
        self.task_function = task_function
        self.timeout_s = timeout_s

    def __call__(self, cfg: Any) -> Any:
        """Run the task on ``cfg`` within the limit."""
        if self.timeout_s is not None and not _can_alarm():
            # Told by what it is, not by spelling.in_hydra(): a launcher's worker thread or process does not see it.
            _warn_not_enforced(self.timeout_s, hydra=True)
            return self.task_function(cfg)
        return call_with_timeout(self.task_function, self.timeout_s, cfg)
