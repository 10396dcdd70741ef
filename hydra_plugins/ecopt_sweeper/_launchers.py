"""What the sweep can tell of the launcher that runs its trials: a change on resume, idle workers, shared machines.

The sweeper only says these (a warning, a trial's reason); what the launcher does is the launcher's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    from hydra.plugins.launcher import Launcher


_LAUNCHER_KEYS = ("_target_", "n_jobs")
"""What of ``hydra.launcher`` moves a trial's energy figures: where and how its process runs, and how many share it."""


def _described(launcher: Any, resolve: bool) -> dict[str, Any]:
    """The :data:`_LAUNCHER_KEYS` that a ``hydra.launcher`` node sets (resolved or as written)."""
    values = OmegaConf.to_container(launcher, resolve=resolve)
    if not isinstance(values, dict):
        raise TypeError(f"hydra.launcher: expected a mapping, got {values!r}")
    return {key: values[key] for key in _LAUNCHER_KEYS if values.get(key) is not None}


def _as_text(launcher: Mapping[str, Any]) -> dict[str, str]:
    """Compared as text: a file reads back untyped (``'1'``), the live config is typed (``1``)."""
    return {str(k): str(v) for k, v in launcher.items()}


def _launcher_facts(config: DictConfig) -> dict[str, Any] | None:
    """What of this run's ``hydra.launcher`` moves its trials' energy figures (``_target_``, ``n_jobs``), resolved.

    Recorded in each run's provenance (``ParetoSweep(launcher=...)``); ``None`` where the config has no launcher
    or it does not resolve.
    """
    try:
        now = OmegaConf.select(config, "hydra.launcher", default=None)
        return _described(now, True) if OmegaConf.is_config(now) else None
    except Exception:  # an interpolation that does not resolve here: the launcher says so when it starts
        return None


def _written_launcher(multirun: Path) -> dict[str, Any] | None:
    """What of the launcher a sweep dir's ``multirun.yaml`` names moves energy figures (``_target_``, ``n_jobs``).

    Read on the first resume of a sweep saved before runs' provenance was recorded, before this run overwrites the
    file: the launcher its earlier trials ran under (``ParetoSweep.unrecorded_launcher``). ``None`` where the file is
    absent, unreadable, names no launcher or does not resolve.
    """
    try:
        earlier = OmegaConf.select(OmegaConf.load(multirun), "hydra.launcher", default=None)
        written = _described(earlier, True) if OmegaConf.is_config(earlier) else {}
    except Exception:  # absent (the sweep never launched), unreadable, or an interpolation that no longer resolves
        return None
    return written or None


def _launcher_change(
    multirun: Path, config: DictConfig, runs: Sequence[Mapping[str, Any]] = (), storage: Path | None = None
) -> str | None:
    """How the launchers a resumed sweep's trials ran under differ from this run's, or None.

    Against every earlier run that finished trials under a launcher, as the sweep's provenance records them (``runs``,
    from ``storage``; the trials of a sweep saved before they were kept are one ``unrecorded`` record, with the
    launcher its ``multirun.yaml`` named on its first resume); where none does (a sweep saved before they were kept,
    on that first resume), against the one its ``multirun.yaml`` names (the previous run's only).

    Its energy figures move with it: joblib's workers run torch on their share of the cores (1.5-2x fewer joules
    estimated for one configuration than a lone process), another cluster launcher runs on other machines. The
    sweep goes on (a launcher's time limit or queue changes for good reasons); the mix is said.
    """
    recorded = [
        dict(run["launcher"])
        for run in runs
        if (run.get("finished") or run.get("unrecorded")) and isinstance(run.get("launcher"), Mapping)
    ]
    if recorded:
        after = _launcher_facts(config)
        if after is None:
            return None
        others = [b for b in recorded if _as_text(b) != _as_text(after)]
        if not others:
            return None
        distinct = list({repr(_as_text(b)): b for b in others}.values())
        before: Any = distinct[0] if len(distinct) == 1 else " and ".join(map(str, distinct))
        source = f"as the runs recorded in {storage} say" if storage is not None else "as the sweep's runs record"
    else:
        try:
            earlier = OmegaConf.select(OmegaConf.load(multirun), "hydra.launcher", default=None)
            now = OmegaConf.select(config, "hydra.launcher", default=None)
            if not OmegaConf.is_config(earlier) or not OmegaConf.is_config(now):
                return None
            if _described(earlier, False) == _described(now, False):  # as written: ${oc.env:NJ} both times
                return None
            before, after = _described(earlier, True), _described(now, True)
        except Exception:  # absent (the sweep never launched), unreadable, or an interpolation that no longer resolves
            return None
        if _as_text(before) == _as_text(after):
            return None
        source = f"from {multirun}"
    return (
        f"this sweep's earlier trials ran under another launcher ({before}; now {after}, {source}): "
        f"energy figures move with it (threads per process, machines), so its frontier will compare trials measured "
        f"both ways. Resume under the launcher it started with, or start a new sweep dir (hydra.sweep.dir)."
    )


def _joblib_workers(launcher: Launcher | None) -> tuple[int, int] | None:
    """A joblib launcher's ``n_jobs`` and the workers it gives (joblib: -1 is every core), or None where unknown."""
    options = getattr(launcher, "joblib", None) if "joblib" in type(launcher).__module__ else None
    n_jobs = options.get("n_jobs") if isinstance(options, Mapping) else None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        return None
    return n_jobs, n_jobs if n_jobs > 0 else max((os.cpu_count() or 1) + 1 + n_jobs, 1)


def _idle_workers(launcher: Launcher | None, batch_size: int) -> str | None:
    """Why a parallel launcher would run one trial at a time (its ``n_jobs`` above the sweep's batch size), or None.

    ``hydra.launcher.n_jobs`` is the launcher's, not the sweeper's: the sweeper launches ``max_batch_size`` trials a
    batch (default 1, the honest measurement), so the other workers idle. Said, not changed.
    """
    known = _joblib_workers(launcher)
    if known is None:
        return None
    n_jobs, workers = known
    cores = os.cpu_count() or 1
    if workers <= batch_size:
        return None
    return (
        f"hydra.launcher.n_jobs={n_jobs} gives {workers} workers, but the sweep launches "
        f"hydra.sweeper.max_batch_size={batch_size} trial{'s' if batch_size > 1 else ''} a batch, so "
        f"{workers - batch_size} of them idle, and each worker runs torch on its share of the cores "
        f"({max(cores // workers, 1)} of {cores} threads), idle or not. To run "
        f"{workers} trials side by side, set hydra.sweeper.max_batch_size={workers} (measured energy is then shared "
        f"between them: such trials are tagged shared_counters); to give the trials the cores, set "
        f"hydra.launcher.n_jobs={batch_size}."
    )


_JOB_ID_RE = re.compile(r"\bJob \d+(?:_\d+)?(?: \(task: \d+\))?(?: with path \S+)?")


def _without_job_ids(error: str) -> str:
    """A launcher's error without its job's id and paths, so that one fault across jobs reads as one reason.

    >>> _without_job_ids("UncompletedJobError: Job 17573 (task: 0) with path /s/.submitit/17573/17573_0_result.pkl "
    ...                  "has not produced any output (state: TIMEOUT)")
    'UncompletedJobError: a job has not produced any output (state: TIMEOUT)'
    """
    return _JOB_ID_RE.sub("a job", error)


def _jobs_at_once(launcher: Launcher | None, batch_size: int) -> int:
    """How many jobs of a batch of ``batch_size`` run at the same time on this machine (1: one after another).

    A joblib launcher runs as many as it has workers (``n_jobs=1`` runs a batch one job at a time); where its
    ``n_jobs`` is unknown, and under submitit's local launcher, the whole batch.
    """
    if not _runs_jobs_side_by_side(launcher):
        return 1
    known = _joblib_workers(launcher)
    return batch_size if known is None else min(batch_size, known[1])


def _runs_jobs_side_by_side(launcher: Launcher | None) -> bool:
    """Whether the launcher runs a batch's jobs at the same time on this machine (joblib, submitit's local one).

    The basic launcher runs them one after another; cluster launchers (SLURM through submitit, RQ, Ray on AWS) place
    them on their own machines or devices, which we cannot see from here, so they are not flagged.
    """
    if launcher is None:
        return False
    cls = type(launcher)
    return "joblib" in cls.__module__ or (cls.__name__ == "LocalLauncher" and "submitit" in cls.__module__)
