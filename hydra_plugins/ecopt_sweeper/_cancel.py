"""Cancel the submitit jobs of a batch that a stop of the sweep cut short.

submitit's jobs do not depend on the process that submitted them: a sweep that stops mid-batch saves and exits, and
its SLURM jobs (or ``submitit_local``'s processes) would run on to their end, unread, beside the resume, which runs
their trials again. Hydra's submitit launcher keeps its job handles to itself, so each job says who it is in its
record (:func:`job_facts`, inside the job), and the sweep finds the jobs that had not started their task yet in the
folders submitit makes for each job at its submission (:func:`job_folders`, before and after the launch).

- SLURM: ``scancel`` on each unfinished job (``<array>_<task>``; Hydra's launcher submits a batch as one array, its
  k-th job as task k). A job still queued has no record: its id comes from its folder, or from a started sibling's.
- ``submitit_local``: each job is a controller process (``python -m submitit.local._local <folder>``) that runs the
  task in a child. It gets SIGINT, as submitit's own ``LocalJob.cancel`` sends (the controller then ends its task:
  SIGINT, then SIGKILL a second later), only while it is still a controller of this sweep's submitit folder (its
  command line says so: a process id can be reused).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_JOB_ID = re.compile(r"(?P<array>[0-9]+)(?:_(?P<task>[0-9]+))?")
"""A SLURM job id as submitit names it (``812``, or an array's task ``812_3``); a local job's is a process id."""

CTRL_C_GRACE_S = 3.0
"""How long a stop by SIGINT waits for ``submitit_local``'s controllers to end by themselves before signalling them:
a Ctrl-C in the terminal reaches them too (they share the sweep's process group), and a second SIGINT in the second
the controller waits between its task's SIGINT and SIGKILL would cut that short."""


def job_facts() -> dict[str, Any] | None:
    """Who this job is to submitit, for its record: ``{"executor", "job_id"}`` (and, locally, its controller's ``pid``).

    ``None`` outside a submitit job. Called inside the job: under ``submitit_local`` the task's process is a child of
    the job's controller, the process to signal (its ``job_id`` is the controller's id, or that of the shell that
    ran ``hydra.launcher.setup`` before it).
    """
    submitit = sys.modules.get("submitit")
    if submitit is None:
        return None
    try:
        env = submitit.JobEnvironment()
        executor, job_id = str(env.cluster), str(env.job_id)
    except Exception:  # not inside a submitit job
        return None
    if executor not in ("local", "slurm") or not _JOB_ID.fullmatch(job_id):
        return None
    facts: dict[str, Any] = {"executor": executor, "job_id": job_id}
    if executor == "local":
        facts["pid"] = os.getppid()
    return facts


def recorded_facts(record: Any) -> dict[str, Any] | None:
    """The :func:`job_facts` a job's record holds, checked; ``None`` where it holds none (an older record)."""
    facts = record.get("submitit") if isinstance(record, Mapping) else None
    if not isinstance(facts, Mapping) or facts.get("executor") not in ("local", "slurm"):
        return None
    job_id, pid = facts.get("job_id"), facts.get("pid")
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        return None
    if facts["executor"] == "local" and not (isinstance(pid, int) and pid > 1):
        return None
    return dict(facts)


def job_folders(submitit_folder: str) -> set[str] | None:
    """The names of the job folders in ``submitit_folder``'s parent, or ``None`` where jobs get no folder of their own.

    Hydra's default ``${hydra.sweep.dir}/.submitit/%j`` gives each job the folder ``.submitit/<job id>/`` as it is
    submitted, before it runs.
    """
    folder = Path(submitit_folder)
    if folder.name != "%j":
        return None
    try:
        return {entry.name for entry in folder.parent.iterdir() if _JOB_ID.fullmatch(entry.name)}
    except OSError:  # not made yet: no job was submitted
        return set()


@dataclass
class Cancelled:
    """What :func:`cancel` did, by job number (each list sorted)."""

    cancelled: list[int] = field(default_factory=list)
    """Jobs cancelled (``scancel`` took them, or their controller got SIGINT)."""
    ended: list[int] = field(default_factory=list)
    """Jobs whose process had ended by itself (a Ctrl-C in the terminal reaches ``submitit_local``'s)."""
    not_cancelled: list[int] = field(default_factory=list)
    """Jobs that may run on: no id known for them, or their cancellation failed."""
    how: list[str] = field(default_factory=list)
    """What was run (``scancel 812_1 812_2``, ``SIGINT to process 4242``)."""
    why_not: list[str] = field(default_factory=list)
    """Why some were not cancelled (clauses)."""


def cancel(
    executor: str,
    unfinished: Sequence[int],
    first: int,
    records: Mapping[int, Mapping[str, Any]],
    new_folders: Iterable[str] | None,
    submitit_folder: str,
    *,
    ctrl_c: bool = False,
) -> Cancelled:
    """Cancel the jobs ``unfinished`` (job numbers) of a batch whose first job is ``first``.

    Args:
        executor: ``"slurm"`` or ``"local"``.
        unfinished: The batch's jobs that recorded no outcome.
        first: The job number of the batch's first job (the array's task 0).
        records: :func:`job_facts` of the batch's jobs that recorded them (finished or not), by job number.
        new_folders: The job folders made since the launch began (:func:`job_folders`), or ``None`` where unknown.
        submitit_folder: ``hydra.launcher.submitit_folder``, as the launcher resolved it (a controller's argument).
        ctrl_c: The stop was a SIGINT: ``submitit_local``'s controllers get :data:`CTRL_C_GRACE_S` to end first.

    Returns:
        What was cancelled, what had ended, and what was not cancelled and why.
    """
    if executor == "slurm":
        return _cancel_slurm(unfinished, first, records, new_folders)
    return _cancel_local(unfinished, records, new_folders, submitit_folder, ctrl_c=ctrl_c)


def _cancel_slurm(
    unfinished: Sequence[int],
    first: int,
    records: Mapping[int, Mapping[str, Any]],
    new_folders: Iterable[str] | None,
) -> Cancelled:
    """``scancel`` each unfinished job whose id is known: recorded, or its array's (a sibling's, or its folder's)."""
    from lightning_ecopt.sweeper import slurm

    arrays: set[str] = set()
    for number, facts in records.items():
        found = _JOB_ID.fullmatch(str(facts.get("job_id", "")))
        # Hydra's launcher submits the batch as one array in order: task k is job first + k.
        if found and found["task"] is not None and int(found["task"]) == number - first:
            arrays.add(found["array"])
    for name in new_folders or ():
        found = _JOB_ID.fullmatch(name)
        if found and found["task"] is not None:
            arrays.add(found["array"])
    single = [name for name in new_folders or () if _JOB_ID.fullmatch(name) and "_" not in name]
    ids: dict[int, str] = {}
    for number in unfinished:
        if number in records:
            ids[number] = str(records[number]["job_id"])
        elif len(arrays) == 1:
            ids[number] = f"{next(iter(arrays))}_{number - first}"
        elif not arrays and len(unfinished) == 1 and len(single) == 1:  # a batch of one is not submitted as an array
            ids[number] = single[0]
    done = Cancelled(not_cancelled=sorted(set(unfinished) - set(ids)))
    if done.not_cancelled:
        done.why_not.append("no SLURM job id known for them (no record, and no job folder of the batch to read it)")
    if ids:
        wanted = sorted(set(ids.values()), key=_slurm_order)
        failed = slurm.cancel_jobs(wanted)
        if failed is None:
            done.cancelled = sorted(ids)
            done.how.append("scancel " + " ".join(wanted))
        else:
            done.not_cancelled = sorted(set(done.not_cancelled) | set(ids))
            done.why_not.append(failed)
    return done


def _slurm_order(job_id: str) -> tuple[int, int]:
    found = _JOB_ID.fullmatch(job_id)
    if found is None:
        return (0, 0)
    return (int(found["array"]), int(found["task"] or -1))


def _cancel_local(
    unfinished: Sequence[int],
    records: Mapping[int, Mapping[str, Any]],
    new_folders: Iterable[str] | None,
    submitit_folder: str,
    *,
    ctrl_c: bool,
) -> Cancelled:
    """SIGINT to the controller of each unfinished job, and of each job of the batch that had not started its task."""
    folder = str(Path(submitit_folder).expanduser().absolute())
    claimed = {str(facts.get("job_id")) for facts in records.values()}
    targets: dict[int, int] = {number: int(records[number]["pid"]) for number in unfinished if number in records}
    unrecorded = sorted(number for number in unfinished if number not in records)
    # The batch's jobs that had not started their task (no record): each controller's id names its folder.
    waiting = sorted(int(name) for name in new_folders or () if name.isdigit() and name not in claimed)
    if ctrl_c:
        deadline = time.monotonic() + CTRL_C_GRACE_S
        pids = [*targets.values(), *waiting]
        while any(_is_controller(pid, folder) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
    done = Cancelled()
    for number, pid in sorted(targets.items()):
        if not _is_controller(pid, folder):
            done.ended.append(number)
        elif _ignores_sigint(pid):
            done.not_cancelled.append(number)
            done.why_not.append(_DEAF.format(pid=pid))
        elif _interrupt(pid):
            done.cancelled.append(number)
            done.how.append(f"SIGINT to process {pid}")
        else:
            done.not_cancelled.append(number)
            done.why_not.append(f"process {pid} could not be signalled")
    deaf = [pid for pid in waiting if _is_controller(pid, folder) and _ignores_sigint(pid)]
    done.why_not.extend(_DEAF.format(pid=pid) for pid in deaf)
    sent = [pid for pid in waiting if pid not in deaf and _is_controller(pid, folder) and _interrupt(pid)]
    done.how.extend(f"SIGINT to process {pid}" for pid in sent)
    if unrecorded:
        live = [pid for pid in waiting if pid in sent]
        if len(live) >= len(unrecorded):
            done.cancelled = sorted([*done.cancelled, *unrecorded])
        elif not live and not any(_is_controller(pid, folder) for pid in waiting) and waiting:
            done.ended = sorted([*done.ended, *unrecorded])
        else:
            done.not_cancelled = sorted([*done.not_cancelled, *unrecorded])
            done.why_not.append(
                "the processes of the jobs that had not started their task were not all found "
                f"({len(live)} of {len(unrecorded)}; a hydra.launcher.setup shell runs the controller in a child)"
            )
    return done


_DEAF = (
    "process {pid} ignores SIGINT (the sweep was started with SIGINT ignored: nohup, or 'cmd &' in a script; its "
    "controllers inherit that), so submitit's cancel would end nothing: end its task and it with 'pkill -9 -P {pid}; "
    "kill -9 {pid}'"
)


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (``SigIgn`` in ``/proc/<pid>/status``; ``False`` where unknown)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return False
    found = re.search(r"^SigIgn:\s*([0-9a-fA-F]+)$", status, re.MULTILINE)
    return found is not None and bool(int(found.group(1), 16) >> (signal.SIGINT - 1) & 1)


def _interrupt(pid: int) -> bool:
    """Send SIGINT to ``pid``, as submitit's ``LocalJob.cancel`` does: whether it was sent."""
    try:
        os.kill(pid, signal.SIGINT)
    except OSError:
        return False
    return True


def _is_controller(pid: int, folder: str) -> bool:
    """Whether ``pid`` is a live ``submitit_local`` controller of ``folder`` (not a reused id, nor a zombie)."""
    args = _command_line(pid)
    return args is not None and "submitit.local._local" in args and folder in args


def _command_line(pid: int) -> list[str] | None:
    """The arguments of process ``pid`` (``/proc``, else ``ps``), or ``None`` where it is gone or a zombie."""
    proc = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self/cmdline").exists():
        try:
            raw = proc.read_bytes()
        except OSError:
            return None
        # A zombie's is empty: it ran its course, and only its parent's wait is left.
        return raw.decode(errors="replace").split("\0")[:-1] or None
    try:
        done = subprocess.run(
            ["ps", "-o", "stat=,args=", "-p", str(pid)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    state, _, args = done.stdout.strip().partition(" ")
    if done.returncode != 0 or not args or state.startswith("Z"):
        return None
    return args.split()
