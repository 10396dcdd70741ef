"""Requeue the SLURM job a sweep runs in, as Lightning's SLURM auto-requeue does for a training run.

A sweep run as a SLURM batch job (the basic or joblib launcher in an ``sbatch`` script) is told its time is nearly up
by the signal ``#SBATCH --signal=USR1@90`` asks for, which Lightning's SLURM docs recommend: Lightning saves a
checkpoint and runs ``scontrol requeue`` on it. The sweep saves what finished and, where rerunning the same command
resumes it, requeues its job the same way (:func:`requeue_job`), so that the requeued job goes on with the budget.
A sweep stopped mid-batch under ``submitit_slurm`` cancels the batch's unfinished jobs (:func:`cancel_jobs`).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence

_JOB_ID = re.compile(r"[0-9]+(_[0-9]+)?")

REQUEUE_TIMEOUT_S = 60.0
"""How long ``scontrol requeue`` may take (a slow controller answers in seconds; the job's grace period is short)."""


def job_id(environ: Mapping[str, str] | None = None) -> str | None:
    """The SLURM job this process runs in, as ``scontrol`` names it, or ``None`` outside one.

    An array job's task is ``<array job>_<task>``, as Lightning's requeue names it (``SLURM_JOB_ID`` is the task's own
    number, which ``scontrol requeue`` also takes, but the array form is what ``squeue`` shows).

    >>> array_task = {"SLURM_JOB_ID": "9", "SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "2"}
    >>> job_id({"SLURM_JOB_ID": "812"}), job_id(array_task)
    ('812', '7_2')
    >>> job_id({}) is None, job_id({"SLURM_JOB_ID": "812; rm -rf ~"}) is None
    (True, True)
    """
    env = os.environ if environ is None else environ
    array, task = env.get("SLURM_ARRAY_JOB_ID"), env.get("SLURM_ARRAY_TASK_ID")
    found = f"{array}_{task}" if array and task else env.get("SLURM_JOB_ID")
    return found if found and _JOB_ID.fullmatch(found) else None


def requeue_job(job: str) -> str | None:
    """Requeue SLURM job ``job`` with ``scontrol requeue``: ``None`` when it was, else why not (a clause).

    ``scontrol`` refuses a job that is not a batch job (an ``salloc`` or ``srun`` allocation) or one the cluster does
    not allow to be requeued (``--no-requeue``, or ``JobRequeue=0`` without ``--requeue``); its own words are kept.
    """
    return _run(["scontrol", "requeue", job], REQUEUE_TIMEOUT_S)


def _run(argv: Sequence[str], timeout_s: float) -> str | None:
    """Run a SLURM command: ``None`` when it exited 0, else why not (a clause, with the command's own words)."""
    command = " ".join(argv)
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        return f"{argv[0]} is not on this node's PATH"
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{command} failed ({err})"
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())
        return f"{command} exited with {done.returncode}" + (f": {said}" if said else "")
    return None


CANCEL_TIMEOUT_S = 10.0
"""How long ``scancel`` may take: it runs before the stopped sweep saves, within SLURM's grace period before a kill of
the sweep's own job (``KillWait``, 30 s by default); a controller answers in well under a second."""


def cancel_jobs(jobs: Sequence[str]) -> str | None:
    """Cancel SLURM jobs ``jobs`` (``812``, an array's task ``812_3``) with one ``scancel``: ``None`` when it did.

    Else why not (a clause), with ``scancel``'s own words. A job id that is not one (``812; rm``) is refused unrun.
    """
    bad = [job for job in jobs if not _JOB_ID.fullmatch(job)]
    if bad or not jobs:
        return f"no SLURM job id to cancel ({bad or 'none'})"
    return _run(["scancel", *jobs], CANCEL_TIMEOUT_S)
