"""What runs inside a job's process, and the record of its outcome that the sweep reads back.

The launcher runs each trial's task as :class:`_PicklableFailures`: an exception that would not survive the trip
back to the sweep process (joblib, submitit) is raised as an :class:`_UnpicklableTaskError`, and the job's outcome is
recorded as plain JSON in the sweep dir's :data:`OUTCOMES_DIR` (:func:`_record`), where :func:`read_record` reads it
back when the launcher loses the batch. The classes are pickled by name: the job's process imports this module.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lightning_ecopt.exceptions import TrialFailure, TrialTimeoutError
from lightning_ecopt.sweeper.objectives import _one_element

log = logging.getLogger(__name__)

_ABSENT = object()
"""No value: no record of a job (:func:`read_record`), no such key in a config."""
_STARTED = object()
"""The in-process record of a job whose task is running (:attr:`_PicklableFailures.in_process`)."""


class _UnpicklableTaskError(TrialFailure):
    """An exception of the task that cannot cross a process boundary, carried by its type's name and its message.

    Args:
        type_name: The original exception's class name.
        message: Its message (``str(exc)``).
        traceback_text: Its traceback, formatted in the job's process.
        metrics: What it measured, when it is a :class:`TrialFailure` (numbers and strings only).
    """

    def __init__(
        self,
        type_name: str,
        message: str,
        traceback_text: str = "",
        metrics: Mapping[str, float | str] | None = None,
    ) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name, metrics)
        self.type_name = type_name
        self.message = message
        self.traceback_text = traceback_text

    def __reduce__(self) -> tuple[type[_UnpicklableTaskError], tuple[str, str, str, dict[str, float | str]]]:  # type: ignore[override]
        return (type(self), (self.type_name, self.message, self.traceback_text, self.metrics))

    @classmethod
    def carrying(cls, exc: Exception) -> _UnpicklableTaskError:
        """The picklable stand-in of ``exc``."""
        metrics = getattr(exc, "metrics", None) if isinstance(exc, TrialFailure) else None
        text = "".join(traceback.format_exception(exc))
        return cls(type(exc).__name__, str(exc), text, _plain_metrics(metrics))  # as a record keeps them

    def as_named(self) -> TrialFailure:
        """A :class:`TrialFailure` of a class named as the original exception's.

        The trial's reason then reads as it would had the exception itself come back (as it does from the basic
        launcher): ``the job raised TwoArgError: bad: thing``.
        """
        named = type(self.type_name, (TrialFailure,), {"__module__": __name__, "__doc__": "A job's exception."})
        return named(self.message, self.metrics)


def _leave_sigusr1_to_the_sweep(slurm_sweep: tuple[int, str] | None) -> None:
    """In a worker process of a sweep that runs as a SLURM job (joblib's), ignore SLURM's SIGUSR1: it is the sweep's.

    ``--signal=USR1@90`` reaches every process of the job's step. Left at its default in a worker, Lightning installed
    its own SLURM requeue in the trial's fit: the worker saved an ``hpc_ckpt_N.ckpt`` where the trials share a
    ``default_root_dir`` (the resumed trial then restored another trial's weights) and requeued the job before the
    sweep had saved. Ignored, Lightning stays out (it installs no handler where one is set) and the sweep saves and
    requeues. Not in the sweep's own process (the basic launcher: the sweep's handler is there), nor in another SLURM
    job (submitit's trials, each a job of its own), nor over a handler the process has.
    """
    if slurm_sweep is None:
        return
    import signal
    import threading

    from lightning_ecopt.sweeper import slurm

    pid, job = slurm_sweep
    usr1 = getattr(signal, "SIGUSR1", None)
    if usr1 is None or os.getpid() == pid or slurm.job_id() != job:
        return
    if threading.current_thread() is threading.main_thread() and signal.getsignal(usr1) == signal.SIG_DFL:
        signal.signal(usr1, signal.SIG_IGN)


class _PicklableFailures:
    """The task as the launcher runs it: an exception that does not pickle is raised as one that does.

    Process-based launchers (joblib, submitit) pickle each job's result, exception included, back to the sweep
    process; one that cannot be pickled or unpickled (an ``__init__`` that takes other arguments than the
    exception's ``args``, a local class, an attribute holding a lock) broke the whole batch (joblib:
    ``BrokenProcessPool``), failing every healthy trial of it. Such an exception is raised instead as an
    :class:`_UnpicklableTaskError` with its type's name, message and traceback; any other one as it is.

    It also records the job's outcome, as plain JSON, in ``<outcomes>/<job number>.json`` (the sweep dir's
    :data:`OUTCOMES_DIR`; see :func:`_record`), so that a batch the launcher loses keeps what its finished jobs
    returned; and, first, that the job started, so that a batch lost before any job started is known for the
    launcher's failure.

    Under a launcher that runs every job in the sweep's process (Hydra's basic one), :attr:`in_process` keeps each
    job's outcome itself instead, by job number: a Ctrl-C mid-batch then keeps what the batch's earlier jobs
    returned, and knows which jobs never started.

    The task runs outside the sweep's message spelling (:func:`~lightning_ecopt.sweeper.spelling.python_spelling`):
    under the basic launcher it runs in the sweep's own thread, and a ``ParetoSweep`` or ``SweepSettings`` it builds
    would otherwise name ``hydra.sweeper.*`` keys in its messages.

    A task that changes the working directory (``os.chdir(HydraConfig.get().runtime.output_dir)``, a habit from
    before Hydra 1.2) gets it changed back when it ends, with a warning once a sweep: Hydra does so only under
    ``hydra.job.chdir=true``, and otherwise the next job's dir, relative to it, would land inside this one's. A job
    that records its outcome says so in the record (``changed_dir``), and the sweep warns
    (:func:`changed_dir_warning`), once for all its jobs, in whichever process each ran; one that records nothing (the
    basic launcher's, in the sweep's process) warns itself, once for this wrapper.

    Args:
        task_function: The app's task function (possibly under a time limit: ``TimedTask``).
        outcomes: The folder the job records its outcome in, or ``None`` to record nothing.
    """

    def __init__(self, task_function: Callable[[Any], Any], outcomes: str | None = None) -> None:
        from lightning_ecopt.sweeper import slurm

        self.task_function = task_function
        self.outcomes = outcomes
        job = slurm.job_id()
        self.slurm_sweep: tuple[int, str] | None = None if job is None else (os.getpid(), job)
        """The sweep's process and SLURM job, where the sweep runs as one (see :func:`_leave_sigusr1_to_the_sweep`)."""
        self.in_process: dict[int, Any] | None = None
        """Each job's outcome by job number (its return value, its exception as the launcher gets it, or
        :data:`_STARTED` while it runs), where the jobs run in this process; ``None``: not kept."""
        self._said_chdir = False

    def __call__(self, cfg: Any) -> Any:
        """Run the task on ``cfg``, in the working directory it started in, recording its outcome."""
        from lightning_ecopt.exceptions import exit_as_failure, is_interrupt
        from lightning_ecopt.sweeper import stops
        from lightning_ecopt.sweeper.spelling import python_spelling
        from lightning_ecopt.sweeper.timeout import release_failed_trial, release_finished_trial

        # A stop signal that Hydra's set-up of this job dropped (it landed in a finalizer of the last job's logging
        # handlers): the job does not start, and the sweep stops.
        stops.raise_if_lost()
        _leave_sigusr1_to_the_sweep(self.slurm_sweep)
        cwd = _getcwd()
        # A lost batch with no job started is the launcher's failure; a stopped sweep cancels a submitit job by its id.
        whom = _whom()
        _record(self.outcomes, {"status": "started", **whom})
        self._keep(_STARTED)
        moved: dict[str, Any] = {}  # the record's changed_dir, where the task changed the directory
        try:
            start = time.monotonic()
            try:
                with python_spelling():  # the task's own sweep (if any) is Python's, in whatever thread it runs
                    value = self.task_function(cfg)
            finally:
                moved = self._restore_cwd(cwd)
        except Exception as exc:
            stops.raise_if_lost(exc)  # a stop signal's stop that the task's code replaced: not the trial's failure
            # Its frames held the trial's Trainer, model and DataLoader workers to the end of the sweep (or of the
            # launcher's worker process): the exception goes on, to the launcher, without them.
            release_failed_trial(exc)
            if (stopped := _submitit_time_limit(exc)) is not None:
                self._finish({"status": "failed", **_failure_fields(stopped), **moved, **whom}, stopped)
                raise stopped from None
            if _round_trips(exc):
                self._finish({"status": "failed", **_failure_fields(exc), **moved, **whom}, exc)
                raise
            tb = exc.__traceback__  # from the task's frame on, without this one
            carried = _UnpicklableTaskError.carrying(exc.with_traceback(tb.tb_next if tb else None))
            self._finish({"status": "failed", **_failure_fields(carried), **moved, **whom}, carried)
            raise carried from None
        except SystemExit as exc:
            # The task's sys.exit() ends its trial, not the sweep (nor, under the basic launcher, the rest of its
            # batch); Lightning's Ctrl-C (an exit while handling KeyboardInterrupt) still stops and saves the sweep.
            # submitit's own exit (its signal handler requeued the job: a preemption, or a time limit with requeues
            # left) must reach submitit, which then runs the job again: as a failure, the trial failed with "the
            # task called sys.exit(144)" and, on SLURM, the requeued job ran on unread.
            if is_interrupt(exc) or _raised_by_submitit(exc):
                raise
            stops.raise_if_lost(exc)
            release_failed_trial(exc)
            failure = exit_as_failure(exc)
            self._finish({"status": "failed", **_failure_fields(failure), **moved, **whom}, failure)
            raise failure from None
        # Its Trainer and model, in cycles, before the next trial of this process (the sweep's or a joblib worker)
        release_finished_trial(time.monotonic() - start)
        self._finish({"status": "completed", "value": value, **moved, **whom}, value)
        return value

    def _finish(self, record: dict[str, Any], outcome: Any) -> None:
        """Record the job's outcome and keep it; say a changed directory here where no record carries it."""
        written = _record(self.outcomes, record)
        self._keep(outcome)
        if "changed_dir" in record and not written and not self._said_chdir:
            self._said_chdir = True
            log.warning("ecopt sweeper: %s", _changed_dir_message(*record["changed_dir"]))

    def _restore_cwd(self, cwd: str | None) -> dict[str, Any]:
        """Change the working directory back to ``cwd`` where the task changed it.

        Returns:
            ``{"changed_dir": [the task's directory, cwd]}`` where it did and Hydra would not have (the warning's
            facts, for the job's record), else ``{}``.
        """
        now = _getcwd()
        if cwd is None or now == cwd:
            return {}
        try:
            os.chdir(cwd)
        except OSError as exc:  # the directory is gone: nothing to go back to, and the sweep's paths are absolute
            log.warning(
                "ecopt sweeper: the task left the working directory %s, which cannot be entered again (%s: %s).",
                cwd,
                type(exc).__name__,
                exc,
            )
            return {}
        return {} if _hydra_changes_dir() else {"changed_dir": [now, cwd]}

    def _keep(self, outcome: Any) -> None:
        """Keep the running job's outcome in :attr:`in_process` (where it is kept) by its job number; never raises."""
        if self.in_process is None:
            return
        try:
            from hydra.core.hydra_config import HydraConfig

            if HydraConfig.initialized():
                self.in_process[int(HydraConfig.get().job.num)] = outcome
        except Exception as exc:  # a safety net, as the record is: the outcome goes back through the launcher
            log.debug("ecopt sweeper: the job's outcome was not kept: %s: %s", type(exc).__name__, exc)


def _whom() -> dict[str, Any]:
    """The record's ``submitit`` field (:func:`~hydra_plugins.ecopt_sweeper._cancel.job_facts`); ``{}`` outside one."""
    from hydra_plugins.ecopt_sweeper._cancel import job_facts

    facts = job_facts()
    return {} if facts is None else {"submitit": facts}


def _raised_by_submitit(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by submitit's own code (its innermost frame is in a ``submitit`` module).

    submitit handles its preemption and time-limit signal in the job's main thread, so its ``SystemExit`` (after
    requeuing the job) and its ``UncompletedJobError`` (not requeued) come out of the task's frames.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(tb.tb_frame.f_globals.get("__name__", "")).startswith("submitit.")


_NOT_REQUEUED = "Job not requeued because: "
"""How submitit's signal handler begins its ``UncompletedJobError`` when it does not requeue the job."""


def _submitit_time_limit(exc: BaseException) -> TrialFailure | None:
    """The trial's failure where submitit stopped the job at its time limit without requeuing it, else ``None``.

    Its own words (``UncompletedJobError: Job not requeued because: timed-out too many times.``) name neither the
    setting nor the fix. Only those words, raised by its signal handler: a job the task ran with submitit itself, lost,
    raises ``UncompletedJobError`` from submitit's code too, its message quoting that job's error stream (where
    submitit logs "this job is timed-out"), and is the task's own error.
    """
    if (
        type(exc).__name__ != "UncompletedJobError"
        or not _raised_by_submitit(exc)
        or not str(exc).startswith(_NOT_REQUEUED)
        or "timed-out" not in str(exc)
    ):
        return None
    return TrialFailure(
        f"the job reached its time limit (hydra.launcher.timeout_min) and submitit stopped it ({str(exc).strip()}); "
        f"raise hydra.launcher.timeout_min, or set hydra.sweeper.trial_timeout_s below it so that a long trial "
        f"fails by itself"
    )


def _changed_dir_message(now: str, cwd: str) -> str:
    """The warning that the task changed the working directory to ``now`` and the sweep changed it back to ``cwd``."""
    return (
        f"the task changed the working directory to {now}; Hydra changes it back only with hydra.job.chdir=true, so "
        f"the sweep did (back to {cwd}), or the next job's dir would land inside this one's. Set hydra.job.chdir=true "
        f"instead (Hydra then runs each job in its output dir) and drop the os.chdir call."
    )


def changed_dir_warning(folder: Path | None, number: int) -> str | None:
    """The warning that job ``number`` changed the working directory, as its record in ``folder`` says, or ``None``.

    Said by the sweep, once for all its jobs: each job of a process-based launcher (joblib, submitit) runs in its
    own copy of :class:`_PicklableFailures`, and warned once per job.
    """
    record = job_record(folder, number)
    moved = None if record is None else record.get("changed_dir")
    if not isinstance(moved, list) or len(moved) != 2 or not all(isinstance(path, str) for path in moved):
        return None
    return _changed_dir_message(*moved)


def _getcwd() -> str | None:
    """The working directory, or ``None`` where it no longer exists."""
    try:
        return os.getcwd()
    except OSError:
        return None


def _hydra_changes_dir() -> bool:
    """Whether Hydra runs this job in its output dir, and changes the working directory back itself."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return HydraConfig.initialized() and bool(HydraConfig.get().job.chdir)
    except Exception:  # not inside a Hydra job
        return False


OUTCOMES_DIR = ".ecopt-outcomes"
"""The folder of ``hydra.sweep.dir`` where each job records its outcome (``<job number>.json``) for a lost batch."""


def _failure_fields(exc: BaseException) -> dict[str, Any]:
    """A job's exception as the JSON fields :func:`read_record` rebuilds it from (type name, message, metrics)."""
    if isinstance(exc, _UnpicklableTaskError):
        name, message = exc.type_name, exc.message
    else:
        name, message = type(exc).__name__, str(exc)
    metrics = getattr(exc, "metrics", None) if isinstance(exc, TrialFailure) else None
    # The sweeper's own verdicts, whose message is the trial's reason as it is: by class, not by name (an app's own
    # TrialTimeoutError is not one), and never one carried by name (it did not pickle).
    verdict = type(exc) in (TrialFailure, TrialTimeoutError)
    return {"type": name, "message": message, "metrics": _plain_metrics(metrics), "verdict": verdict}


def _is_plain(value: Any) -> bool:
    """Whether a failed trial's metric is kept in its record: a number or a string (a label), as Ax stores it."""
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _plain_metrics(metrics: Any) -> dict[str, float | str]:
    """The metrics of a failed trial that its record keeps (see :func:`_is_plain`), keyed by text; ``{}`` if none.

    >>> _plain_metrics({"energy/test_j": 4.5, "note": "oom", "flag": True, 3: 1}), _plain_metrics(None)
    ({'energy/test_j': 4.5, 'note': 'oom', '3': 1}, {})
    """
    if not isinstance(metrics, Mapping):
        return {}
    return {str(k): v for k, v in metrics.items() if _is_plain(v)}


_RECORD_MAX_CHARS = 1_000_000
"""A record longer than this is not written (a task that returns a huge list): the job is then treated as unrecorded."""


def _plain_scalar(value: Any) -> Any:
    """A returned number as JSON holds it (numpy and torch scalars as numbers); anything else as a short text.

    The text stands for a value the sweep drops (an extra metric) or refuses (an objective), as it would the value
    itself: a record never turns a failing return value into a completed trial.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if callable(getattr(value, "item", None)) and _one_element(value):  # torch.tensor([0.9]) is 0.9 there too
        return _plain_scalar(value.item())
    return f"<{type(value).__name__}: {repr(value)[:200]}>"


def _plain_result(value: Any) -> Any:
    """A task's return value as plain JSON data that ``parse_task_result`` reads as it reads the value itself.

    A dict keeps its string keys (the others are dropped there too). A top-level tuple, list or 1-d array (objective
    values in order) becomes a list. Each value is a number or a ``(mean, sem)`` pair; anything else becomes a text.
    """
    if isinstance(value, Mapping):
        return {key: _plain_metric(item) for key, item in value.items() if isinstance(key, str)}
    if isinstance(value, list | tuple):
        return [_plain_metric(v) for v in value]
    if getattr(value, "ndim", None) == 1 and callable(getattr(value, "tolist", None)):
        return [_plain_metric(v) for v in value.tolist()]
    return _plain_scalar(value)


def _plain_metric(value: Any) -> Any:
    """One metric's value: a number, or a ``(mean, sem)`` pair as a list of two; anything else as text."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return [_plain_scalar(v) for v in value]
    return _plain_scalar(value)


def _is_rank_zero() -> bool:
    """Whether this process is its job's first task (the one whose outcome the launcher returns).

    With ``tasks_per_node > 1`` every task runs the task function, and Hydra's submitit launcher returns the first's
    result (``job.results()[0]``): only that one records its outcome.
    """
    submitit = sys.modules.get("submitit")
    if submitit is None:
        return True
    try:
        return int(submitit.JobEnvironment().global_rank) == 0
    except Exception:  # not inside a submitit job
        return True


def _record(folder: str | None, outcome: dict[str, Any]) -> bool:
    """Record a job's outcome as ``<folder>/<job number>.json``, written whole or not at all; never raises.

    Returns whether it was written.

    A return value is recorded as :func:`_plain_result` makes it: numbers (numpy and torch scalars as numbers) and
    strings, in lists and dicts; any other value as a short text, which the sweep refuses as it would the value
    itself. The record is strict JSON (:func:`_strict_json`: NaN and infinities as text). A record longer than
    ``_RECORD_MAX_CHARS`` is not written: the sweep then treats the job as unrecorded, as it did before outcomes were
    recorded.
    """
    if folder is None:
        return False
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized() or not _is_rank_zero():
            return False
        path = Path(folder) / f"{HydraConfig.get().job.num}.json"
        if outcome.get("status") == "completed":
            outcome = {**outcome, "value": _plain_result(outcome.get("value"))}
        text = json.dumps(_strict_json(outcome), allow_nan=False)
        if len(text) > _RECORD_MAX_CHARS:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except Exception as exc:  # the record is a safety net: the job's own outcome goes back through the launcher
        log.debug("ecopt sweeper: the job's outcome was not recorded: %s: %s", type(exc).__name__, exc)
        return False
    return True


_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
"""A record's text for each non-finite float (Python's ``str`` of it, as the results file writes such a metric)."""

_NON_FINITE_TEXT = re.compile(r"\\*(?:nan|inf|-inf)")
"""A string that reads as a non-finite float in a record, or as one escaped (a backslash more each time)."""


def _strict_json(value: Any) -> Any:
    r"""``value`` with each NaN or infinite float as the text ``"nan"``, ``"inf"`` or ``"-inf"``: strict JSON.

    Python's ``json`` writes them as the bare tokens ``NaN`` and ``Infinity``, which are no JSON: ``jq``, JavaScript
    and strict parsers refuse the record. A string that would read back as such a float (a task's own ``"nan"``) is
    escaped with a backslash in front; :func:`_from_strict_json` undoes both, so a record reads back as written.

    >>> _strict_json({"f1": float("nan"), "f2": [1.5, float("-inf")], "note": "inf", "label": "nan!"})
    {'f1': 'nan', 'f2': [1.5, '-inf'], 'note': '\\inf', 'label': 'nan!'}
    >>> _from_strict_json(_strict_json({"f1": float("inf"), "note": "inf", "escaped": "\\nan"}))
    {'f1': inf, 'note': 'inf', 'escaped': '\\nan'}
    """
    if isinstance(value, Mapping):
        return {key: _strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and _NON_FINITE_TEXT.fullmatch(value):
        return "\\" + value
    return value


def _from_strict_json(value: Any) -> Any:
    """A record as :func:`_strict_json` wrote it, with its floats and strings as they were before."""
    if isinstance(value, dict):
        return {key: _from_strict_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_strict_json(item) for item in value]
    if isinstance(value, str) and _NON_FINITE_TEXT.fullmatch(value):
        return _NON_FINITE[value] if value in _NON_FINITE else value[1:]
    return value


def _read_json(path: Path) -> Any:
    """A job's record: strict JSON (:func:`_strict_json`), or one an earlier version wrote with ``NaN`` tokens.

    Raises:
        OSError: The file cannot be read.
        ValueError: It holds no JSON.
    """
    return _from_strict_json(json.loads(path.read_text(encoding="utf-8")))


def _round_trips(exc: BaseException) -> bool:
    """Whether ``exc`` survives pickling and unpickling, as a process-based launcher carries it.

    Pickled, then rebuilt as unpickling rebuilds it (its ``__reduce_ex__`` callable on its arguments, where an
    ``__init__`` taking other arguments than the message fails) without unpickling anything: the sweeper never
    unpickles (``tests/faults/test_security.py``).
    """
    try:
        pickle.dumps(exc)
        reduced = exc.__reduce_ex__(pickle.DEFAULT_PROTOCOL)
        if isinstance(reduced, tuple) and len(reduced) >= 2 and callable(reduced[0]):
            reduced[0](*reduced[1])
    except Exception:
        return False
    return True


def ran_when_the_sweep_died(folder: Path | None, number: int) -> bool | None:
    """Whether job ``number`` was running its task when the sweep process that launched it died, by its record.

    Read on a resume, from the records the dead process left in ``folder``: each job records ``started`` before its
    task runs and its outcome once it ends, and a live sweep deletes the records of every launch that returned.
    ``False``: no record (the job never started its task: the process died while the launcher was starting it), or an
    outcome (the task had ended). ``True``: the job started and recorded no end, or its record cannot be read.
    ``None``: unknown (``folder`` ``None``: the basic launcher, whose records were kept in the dead process).
    """
    if folder is None:
        return None
    path = folder / f"{number}.json"
    try:
        record = _read_json(path)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    return not (isinstance(record, dict) and record.get("status") in ("completed", "failed"))


def job_record(folder: Path | None, number: int) -> dict[str, Any] | None:
    """Job ``number``'s record in ``folder`` as written (a dict); ``None``: none, unreadable, or ``folder`` ``None``."""
    if folder is None:
        return None
    try:
        record = _read_json(folder / f"{number}.json")
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def read_record(folder: Path | None, number: int) -> Any:
    """What job ``number`` recorded in ``folder`` (its return value, or its exception), or ``_ABSENT``.

    ``_ABSENT`` also stands for an unreadable record, one of a job that only started, and ``folder`` ``None``.
    """
    record = job_record(folder, number)
    if record is None:
        return _ABSENT
    if record.get("status") == "completed" and "value" in record:
        return record["value"]
    name, message, metrics = record.get("type"), record.get("message"), record.get("metrics")
    if record.get("status") != "failed" or not isinstance(name, str) or not isinstance(message, str):
        return _ABSENT
    kept = _plain_metrics(metrics)
    if record.get("verdict") is True:  # the sweeper's own verdict: its message is the trial's reason as it is
        return TrialFailure(message, kept)
    return _UnpicklableTaskError(name, message, "", kept).as_named()  # "the job raised <name>: <message>"
