"""Exceptions raised by lightning_ecopt.

Each exception also inherits from the builtin that best describes it, so callers that catch ``ValueError`` or
``RuntimeError`` keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

__all__ = [
    "NOTHING_RAN",
    "EcoptConfigError",
    "EcoptError",
    "EnergyMeterError",
    "LauncherError",
    "SweepFailureError",
    "SweepTerminated",
    "TrialFailure",
    "TrialTimeoutError",
    "exit_as_failure",
    "is_interrupt",
    "is_terminated",
    "stop_signal",
    "stop_status",
]


class EcoptError(Exception):
    """Base class of every error raised by lightning_ecopt."""


class EcoptConfigError(EcoptError, ValueError):
    """A configuration value is invalid; the message names the value and the fix."""


class EnergyMeterError(EcoptError, RuntimeError):
    """An energy meter cannot measure on this machine (no counters, no permissions)."""


class TrialFailure(EcoptError, RuntimeError):
    """A trial's result cannot be used; the message is the reason stored with the failed trial.

    A task may raise it itself to fail a trial while keeping what it measured, so that the energy a failed trial
    spent (an out-of-memory error half-way through training, say) still counts in the sweep's energy ledger.

    Args:
        reason: Why the trial failed.
        metrics: Figures measured before the failure, e.g. ``trial_metrics(trainer)``; numbers are recorded with
            the failed trial (never given to the optimiser), ``"energy/source"`` labels them.

    Raises:
        TypeError: ``metrics`` is not a mapping (``trainer.test()``'s list: pass ``trial_metrics(trainer)``).

    Example:
        >>> err = TrialFailure("out of memory in fit", metrics={"energy/train_j": 812.5})
        >>> str(err), err.metrics
        ('out of memory in fit', {'energy/train_j': 812.5})
    """

    def __init__(self, reason: str, metrics: Mapping[str, float | str] | None = None) -> None:
        if metrics is not None and not isinstance(metrics, Mapping):
            # dict() of trainer.test()'s list of one two-metric dict made {first name: second name}: figures lost
            raise TypeError(
                f"TrialFailure({reason!r:.80}, metrics={metrics!r:.80}): expected a dict of figures, e.g. "
                "metrics=trial_metrics(trainer), or None."
            )
        super().__init__(reason)
        self.metrics: dict[str, float | str] = dict(metrics or {})

    def __reduce__(self) -> tuple[type[TrialFailure], tuple[str, dict[str, float | str]]]:
        # Keep the metrics when the exception crosses a process boundary (joblib, submitit launchers pickle it).
        return (type(self), (str(self), self.metrics))


NOTHING_RAN: Mapping[str, float] = MappingProxyType({"energy/train_j": 0.0, "energy/train_time_s": 0.0})
"""The figures of a trial that failed (or stopped) before running anything: 0 J, known, so that the search-energy
ledger counts it instead of making its total a lower bound. ``TrialFailure(reason, metrics=NOTHING_RAN)``."""


class SweepFailureError(EcoptError, RuntimeError):
    """A sweep stopped because too many of its trials failed."""


class LauncherError(EcoptConfigError):
    """The launcher started no job of a batch (no cluster, a partition the scheduler refuses): nothing ran.

    Raised by a batch evaluator; the sweep saves what finished before, leaves the batch's trials to be asked again on
    resume (as after Ctrl-C: none of them is failed for it) and stops with the message, which names the fix.
    """


class TrialTimeoutError(TrialFailure):
    """A trial ran longer than the sweep's per-trial time limit (``trial_timeout_s``) and was interrupted.

    Args:
        timeout_s: The limit, in seconds.
        metrics: Figures measured before the interruption, if any.
        returned: The trial caught the interrupt and then returned (``metrics`` holds what it returned): its figures
            may be of a loop the interrupt cut short, so it is recorded as timed out, not completed.

    Example:
        >>> str(TrialTimeoutError(2.5))
        'timed out: the trial ran longer than trial_timeout_s=2.5 s and was interrupted'
    """

    def __init__(
        self, timeout_s: float, metrics: Mapping[str, float | str] | None = None, returned: bool = False
    ) -> None:
        reason = f"timed out: the trial ran longer than trial_timeout_s={timeout_s:g} s and was interrupted"
        if returned:
            reason += (
                ", caught the interrupt and returned: its figures may be of a loop the interrupt cut short (kept with "
                "the failed trial, never given to the optimiser); where the task catches exceptions, re-raise this "
                "one ('except TrialTimeoutError: raise' before 'except Exception')"
            )
        super().__init__(reason, metrics)
        self.timeout_s = float(timeout_s)
        self.returned = returned

    def __reduce__(self) -> tuple[type[TrialTimeoutError], tuple[float, dict[str, float | str], bool]]:  # type: ignore[override]
        return (type(self), (self.timeout_s, self.metrics, self.returned))


class SweepTerminated(KeyboardInterrupt):
    """A stop signal or ``ParetoSweep.request_stop()`` stopped the sweep; handled as Ctrl-C is (saved, then it stops).

    The signals are SIGTERM, SIGHUP and SIGUSR1 (:data:`_STOP_SIGNALS`); ``args[0]`` names the one that stopped it
    (``"SIGTERM"``, ``"SIGHUP"``, ``"SIGUSR1"``).
    """


def _in_chain(
    exc: BaseException, kind: type[BaseException], where: Callable[[BaseException], bool] | None = None
) -> bool:
    """Whether ``exc``, or an exception it was raised from or while handling, is a ``kind`` (for which ``where``)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, kind) and (where is None or where(cause)):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def is_interrupt(exc: BaseException) -> bool:
    """Whether a ``SystemExit`` comes from a Ctrl-C: Lightning exits with 1 while handling a ``KeyboardInterrupt``.

    Example:
        >>> is_interrupt(SystemExit(3))
        False
    """
    return _in_chain(exc, KeyboardInterrupt)


def is_terminated(exc: BaseException) -> bool:
    """Whether ``exc`` is (or was raised while handling) the sweep's SIGTERM, :class:`SweepTerminated`.

    Example:
        >>> is_terminated(KeyboardInterrupt()), is_terminated(SweepTerminated())
        (False, True)
    """
    return _in_chain(exc, SweepTerminated)


_STOP_SIGNALS = ("SIGTERM", "SIGHUP", "SIGUSR1")
"""The signals that stop a sweep as Ctrl-C does (saved first), where the platform has them. SIGUSR1 is SLURM's notice
that a job's time is nearly up (``#SBATCH --signal=USR1@90``, as Lightning's SLURM auto-requeue asks for it)."""


def stop_signal(exc: BaseException) -> str:
    """The signal (``"SIGTERM"``, ``"SIGHUP"``, ``"SIGUSR1"``) that stopped the sweep with ``exc``.

    The first of :data:`_STOP_SIGNALS` a :class:`SweepTerminated` in ``exc``'s chain names (``args[0]``); SIGTERM
    where none does (:meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.request_stop`'s).
    """
    import signal

    names: list[object] = []

    def named(cause: BaseException) -> bool:
        names.append(cause.args[0] if cause.args else None)
        return False  # on along the whole chain

    _in_chain(exc, SweepTerminated, named)
    return next((str(name) for name in names if name in _STOP_SIGNALS and hasattr(signal, str(name))), "SIGTERM")


def stop_status(exc: BaseException) -> int:
    """The exit status of a command-line sweep that ``exc`` stopped: 128 + the signal's number, as shells report it.

    130 for Ctrl-C, 143 for SIGTERM (and :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.request_stop`), 129 for
    SIGHUP (a closed terminal), 138 for SIGUSR1 (SLURM's notice before a time limit): :func:`stop_signal`.

    Example:
        >>> signals = [SweepTerminated(name) for name in ("SIGTERM", "SIGHUP", "SIGUSR1")]
        >>> [stop_status(stop) for stop in (KeyboardInterrupt(), *signals)]
        [130, 143, 129, 138]
    """
    import signal

    if not is_terminated(exc):
        return 128 + signal.SIGINT
    return 128 + int(getattr(signal, stop_signal(exc)))


def exit_as_failure(exc: SystemExit) -> TrialFailure:
    """A task's ``sys.exit()`` as the failure of its trial (it ends the trial, not the sweep).

    Lightning's ``SIGTERMException`` (a ``SystemExit``) is named as what it is: the job was sent SIGTERM, by a
    scheduler's time limit, a preemption or ``scancel``, not a task that chose to exit.

    Example:
        >>> str(exit_as_failure(SystemExit(3)))
        'the task called sys.exit(3) (SystemExit); raise an exception to fail a trial'
    """
    if type(exc).__name__ == "SIGTERMException":  # lightning.pytorch.utilities.exceptions; not imported here
        return TrialFailure(
            "the job received SIGTERM (a scheduler's time limit, a preemption or scancel) and Lightning stopped it; "
            "give the job more time (e.g. hydra.launcher.timeout_min), or rerun the sweep to try it again"
        )
    return TrialFailure(f"the task called sys.exit({exc.code!r}) (SystemExit); raise an exception to fail a trial")
