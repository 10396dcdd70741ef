"""The optimisation loop: Sobol, then qNEHVI proposals from Ax, evaluated a batch at a time, saved after each batch.

:class:`ParetoSweep` runs a whole multi-objective sweep from Python, without Hydra: give it a search space, the
settings and an ``evaluate`` callable that runs a batch of configurations (the Hydra plugin's launcher, or
:func:`evaluate_each` around a plain function). Ax, BoTorch and torch are imported only when :meth:`ParetoSweep.run`
runs. This module holds the optimisation loop and its tuning settings (``_FIT_MAXITER``, ``_CENTER_FIRST`` and the
other module-level flags named below, which tests and benchmarks set on this module, where the loop reads them).
What a saved sweep must match to be resumed, the plain-JSON reading of its storage file and the folder's lock live in
:mod:`lightning_ecopt.sweeper.storage` (its public names are re-exported here).

Design decisions
----------------
- **Generation strategy**: ``n_initial_trials`` Sobol trials (seeded with ``seed``, no centre point), then BoTorch
  with ``qNoisyExpectedHypervolumeImprovement`` (the ECOpt paper's) or its log variant, built by Ax's
  ``choose_generation_strategy(method="fast")``. The batch that reaches the end of the Sobol phase is cut there, so
  every BoTorch batch is generated with the reference point already set. The acquisition function uses 64 QMC
  samples (BoTorch: 128) and is optimised from 10 restarts chosen among 512 raw samples (Ax: 20 and 1,024): 0.48 s
  of CPU per suggestion at 50 trials instead of 0.83 s, for the same hypervolume (docs/bench-optimizer.md). Ax's
  one-hot relaxation of unordered choices is kept: proposing the best untried configuration with a categorical
  kernel (:mod:`lightning_ecopt.sweeper.discrete`, behind ``_DISCRETE_PROPOSALS``) was 3x faster on NAS-Bench-201
  but reached less hypervolume at 60 evaluations. In a space of choices only, a rounded optimum that repeats a tried
  or pending configuration goes to the nearest untried one (``_ROUND_UNTRIED``) instead of Ax's regenerate-then-Sobol;
  in a space of unordered choices and floats an exact repeat goes to the nearest category not taken at its floats.
  Where Ax scores every configuration at every proposal (a space of choices and int intervals with at most 10,000
  configurations), q(Log)NEHVI scores only the best untried ones by a screen of their marginal posteriors
  (``_SCREEN_ENUMERATED``): scored jointly with their baseline, all of them cost 66 s and 11.7 GB a proposal at 300
  trials of the paper's CNN space.
  ``acquisition="EHVI"`` replaces qNEHVI with analytic EHVI on the observed front
  (:mod:`lightning_ecopt.sweeper.analytic`, ``_EHVI_FRONT``, ``_ONE_HOT_EHVI_MAXITER``) for sweeps that propose one
  trial at a time: half the time per suggestion on NAS-Bench-201 with the hypervolume level; not the default (mixed on
  the BoTorch problems, and it takes noisy observations at face value). With ``acquisition="qLogNEHVI"`` BoTorch's
  compiled kernel for it is built before the first model proposal, per CPU and never waited on forever
  (:mod:`lightning_ecopt.sweeper.fused_kernel`).
- **GP fit**: in a space with an unordered choice (one-hot inputs: one length scale per value) the GP's
  hyperparameters are fitted with at most ``_FIT_MAXITER`` L-BFGS-B iterations per attempt
  (:mod:`lightning_ecopt.sweeper.capped_fit`; Ax's fit runs to convergence): on NAS-Bench-201 the fit was two thirds
  of a suggestion and the cap cut it about 13x with the hypervolume level (docs/bench-optimizer.md). Each fit starts
  where the sweep's previous one ended (``_FIT_WARM_START``), so 20 iterations do. Where the other parameters are
  floats (Ax's relaxed optimiser) the acquisition optimiser's L-BFGS-B is capped too (``_ONE_HOT_ACQF_MAXITER``) and
  qNEHVI's baseline is not pruned (``_ONE_HOT_PRUNE_BASELINE``): 0.86 s per NAS-Bench-201 suggestion at 50 trials
  instead of 1.19 s, the hypervolume level or higher over 20 seeds. Saved with the strategy, so a resumed sweep keeps
  them.
- **Reference point**: a given one (``reference_point`` or an outcome constraint on an objective) becomes Ax's
  objective thresholds from the start. Otherwise, once ``n_initial_trials`` trials finished, it is inferred from
  the observed data with :func:`lightning_ecopt.frontier.infer_reference_point` (the front's nadir pushed out by
  10 % of its range, as BoTorch does), set as the thresholds, logged, and recorded in the results. Ax's own
  inference is not used: on BraninCurrin it steered 30 trials to 4 % of the maximum hypervolume.
- **Failures**: an exception from the job, a missing metric, NaN/inf or a non-number fails the trial, with the
  reason kept; the sweep goes on. In Ax the trial is ABANDONED (``_FAILED_AS_PENDING``): Ax proposes FAILED arms
  again (its deduplication skips them and its model never sees them) but keeps ABANDONED ones pending, never to be
  proposed again. FAILED cost 20 of 30 trials in a 48-configuration space whose best corner failed, and 6 of 12 in a
  continuous one whose acquisition optimum sat on the bound where training diverged. The record says ``failed``
  (run metadata). The sweep
  stops with :class:`~lightning_ecopt.exceptions.SweepFailureError` (after saving) when
  ``failed > max_failure_rate * max(evaluated, min(5, trials left))`` (``trials left``: ``n_trials`` less those
  finished before this run, on a resume), counting evaluated trials only (not reused ones): a rate of 0 stops at the
  first failure, 1 never stops on failures, and in between a few early failures cannot stop a sweep before five trials
  ran. A failure every trial would repeat stops the sweep at the first, whatever the rate: a misspelt objective or
  constraint name, or a broken contract (a result of the wrong type or length, an ``energy/source`` label of no kind,
  an energy figure EnergyCallback was not set up to log: :func:`_breaks_contract`).
- **Energy sources**: the first completed trial that reports an ``energy/source`` fixes its kind (the text before
  ``:``, e.g. ``measured`` or ``estimated``); a later trial of another kind fails with the reason (recorded
  ``failed``), and so does one of the same kind over other Zeus counters (``zeus/rapl`` beside ``zeus/nvml+rapl``),
  of another meter (``measured: ipmi/bmc`` beside Zeus's) or of another estimate model, unless
  ``allow_mixed_energy_sources``.
- **Never pay twice**: a configuration already evaluated in this sweep (Ax can re-propose configurations in discrete
  spaces, and in continuous ones failed configurations, which its deduplication skips) is not run again: the new
  trial is completed with the stored result, or failed with the stored reason, and counted as reused. Reused trials
  count toward ``n_trials`` but not toward the failure rate, so proposals that would repeat one are moved where they
  can be (``_ROUND_UNTRIED``, above). With ``retry_failed`` a resumed run evaluates again, first (after the
  interrupted trials), each configuration whose latest trial failed before it, as a new trial; the old failure stays
  in the record but no longer answers repeats, and the failure rate judges the retry, as any trial of the run.
- **Seeds**: Ax's JSON does not keep the client's seed, so before every batch the seed is derived from ``seed`` and
  the number of finished trials; a resumed sweep is therefore seeded exactly as an uninterrupted one. The seed is
  saved with the sweep, and a resumed sweep keeps it (another ``seed`` is logged as a warning, not used).
- **Provenance**: each run that finishes a trial (the first and every resume) keeps a record of where and with what it
  ran (:func:`lightning_ecopt.provenance.run_record`: versions, Python, platform, CPU, GPUs, host, the launcher the
  Hydra sweeper names, the seed, and the Sobol seed, read back from Ax's Sobol generator, which draws its own when
  ``seed`` is ``None``) in the experiment's saved description, so a resume appends its own; the results file lists
  them under ``provenance``. Sweeps saved before them resume with the records of their later runs only.
- **Resume**: when ``storage`` exists it is loaded; a different search space, different objectives, another
  acquisition function, another task config (``task_config``, when both runs give one) or an ``n_trials`` below the
  trials already finished are refused, naming what differs (:func:`~lightning_ecopt.sweeper.storage.check_storage`
  checks the file before the first trial; the loaded experiment is checked again).
  Trials that were running when the sweep died are recorded as abandoned (they do not count) and the loop continues
  until exactly ``n_trials`` trials completed or failed. In Ax they are FAILED, which it may propose again, not
  ABANDONED, which it keeps pending for good: the configurations they were running are asked again.
- **Saving**: the Ax experiment is saved atomically to ``storage`` after every batch (and when a batch is
  proposed, so an interruption leaves its trials to be abandoned), with ``optimization_results.yaml`` beside it.
- **Batch hooks**: after every batch (and once at the end) each ``on_batch_end`` hook gets the current
  :class:`~lightning_ecopt.sweeper.results.SweepResult`; a hook's error is logged, never raised. By default, when
  the sweep has a ``storage`` file, the hook is :class:`lightning_ecopt.tensorboard.FrontierBoard` writing the
  frontier views to ``<storage dir>/tensorboard``; pass ``on_batch_end=[]`` to turn it off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import secrets
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from lightning_ecopt import frontier, provenance
from lightning_ecopt._numbers import format_number
from lightning_ecopt.energy.estimator import CPU_TIME_SOURCE
from lightning_ecopt.energy.figures import ENERGY_METRICS, energy_stage
from lightning_ecopt.energy.measurement import source_kind, zeus_counters
from lightning_ecopt.exceptions import (
    _STOP_SIGNALS,
    NOTHING_RAN,
    EcoptConfigError,
    EcoptError,
    LauncherError,
    SweepFailureError,
    SweepTerminated,
    TrialFailure,
    TrialTimeoutError,
    _in_chain,
    exit_as_failure,
    is_interrupt,
    is_terminated,
    stop_signal,
)
from lightning_ecopt.sweeper import spelling, stops
from lightning_ecopt.sweeper.objectives import (
    _BOOL_METRIC_REASON,
    ENERGY_SOURCE_KEY,
    ContractFailure,
    MissingMetric,
    TrialMetrics,
    _mean_of,
    _real,
    _untracked_pair,
    ax_metric_name,
    parse_task_result,
)
from lightning_ecopt.sweeper.progress import SweepProgress, lines_shown_where_logging_is_not_configured
from lightning_ecopt.sweeper.results import (
    RESULTS_FILENAME,
    SweepResult,
    TrialRecord,
    _without_surrogates,
    config_key,
    create_temporary_file,
    front_candidates,
    has_energy_figures,
    meets,
    replace_file,
    scalar,
    write_results,
)
from lightning_ecopt.sweeper.snapshot import ExperimentSnapshot
from lightning_ecopt.sweeper.space import (
    ChoiceParameter,
    RangeParameter,
    check_constraint_metrics,
    check_enqueued,
    configure_wide_ints,
)
from lightning_ecopt.sweeper.storage import (
    _IN_MEMORY,
    _METADATA_KEY,
    SWEEP_LOCK_NAME,
    _budget_message,
    _mismatch_message,
    _remove_torn_writes,
    _start_over,
    _stored_sobol_count,
    _strategy_sobol_count,
    check_storage,
    check_sweep_locks,
    flat_task_config,
    read_saved,
    saved_finished_count,
    saved_sobol_count,
    sweep_fingerprint,
    sweep_lock,
)
from lightning_ecopt.sweeper.storage import _TASK_CONFIG_KEYS as _TASK_CONFIG_KEYS  # read by tests as loop's
from lightning_ecopt.sweeper.timeout import call_with_timeout, release_failed_trial, release_finished_trial

if TYPE_CHECKING:
    from ax.api.client import Client
    from ax.generation_strategy.generation_strategy import GenerationStrategy

    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import SearchSpace

__all__ = [  # the storage names are re-exported from lightning_ecopt.sweeper.storage, where they live
    "SWEEP_LOCK_NAME",
    "BatchHook",
    "Evaluate",
    "ParetoSweep",
    "check_storage",
    "evaluate_each",
    "flat_task_config",
    "saved_finished_count",
    "saved_sobol_count",
    "sweep_fingerprint",
    "sweep_lock",
]


class _EscapedSurrogates(logging.Filter):
    r"""Writes each lone surrogate of a record's message and traceback as its escape (``\udce9``), as the results file.

    A task's exception that names a file whose name is not UTF-8 (``f"cannot read {path}"``) holds lone surrogates,
    which the trial's failure warning and traceback repeat: a handler writing UTF-8 strictly (a console in an
    ``en_US.UTF-8`` locale, a log file, pytest-xdist's channel) printed ``--- Logging error ---`` in their place.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Escape the record's lone surrogates in place; always ``True`` (the record is logged).

        A record whose arguments do not fit its message is left as it is, for the handler to report as it would
        without this filter: an error raised here would reach the code that logs (the sweep's loop), not the handler.
        """
        try:
            message = record.getMessage()
        except Exception:  # "%d trials" % "four": the handler prints its "--- Logging error ---" and goes on
            return True
        escaped = _without_surrogates(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        if record.exc_info and record.exc_text is None:
            text = logging.Formatter().formatException(record.exc_info)
            if (escaped_text := _without_surrogates(text)) != text:
                record.exc_text = escaped_text  # what a Formatter prints in place of formatting exc_info again
        return True


log = logging.getLogger(__name__)
log.addFilter(_EscapedSurrogates())

BatchHook = Callable[[SweepResult], object]
"""Called with the sweep's result after every batch (see ``ParetoSweep(on_batch_end=...)``)."""

Evaluate = Callable[[list[dict[str, Any]]], Sequence[Any]]
"""Runs a batch: gets one parameter dict per trial and returns one item per trial, in order: the task's return value,
or the exception instance when that trial's job failed."""

REFERENCE_MARGIN = 0.1
"""Fraction of the observed front's range by which an inferred reference point lies beyond the front's nadir."""

_MIN_TRIALS_JUDGED = 5
"""The failure rate is judged against at least this many trials (or the trials this run has left, if fewer)."""

_INTERRUPTED = "interrupted: the sweep stopped while this trial ran; it was asked again"
"""The reason recorded for a trial that was running when the sweep stopped or died (abandoned on resume)."""
_PER_TRIAL_HINT = (
    "ParetoSweep(space, settings, evaluate) calls evaluate(list_of_params) once a batch; for a function of one "
    "trial's params, build the sweep with ParetoSweep.from_function(space, settings, fn)."
)
"""Added to what a per-trial function given as the batch evaluator leads to (a ``TypeError``, a dict returned)."""
_MISSING_PREFIXES = ("missing objective ", "missing constrained metric ")
"""How the reason of a trial that lacked a metric begins (``parse_task_result``'s ``MissingMetric``)."""
_INTERRUPTED_UNRESUMED = "interrupted: the sweep stopped while this trial ran; a resume runs it again"
"""The reason in the results file, until the resume, for a trial that was running when the sweep stopped (saved)."""
_STOPPED_KEY = "ecopt_stopped_cleanly"
"""Run-metadata flag of a trial that was running when the sweep stopped on Ctrl-C or SIGTERM (saved), not in a crash."""
_UNRECORDED_FLAG = "unrecorded"
"""The :data:`_STOPPED_KEY` value of a trial that had returned when a step of the sweep's own raised, unrecorded."""
_UNRECORDED = "not recorded: the sweep stopped on an error of its own after this trial ran; it was asked again"
_UNRECORDED_UNRESUMED = "not recorded: the sweep stopped on an error of its own after this trial ran; a resume runs it"
_NOT_STARTED_KEY = "ecopt_not_started"
"""Run-metadata flag of a trial whose batch the launcher could not start (:class:`LauncherError`): it spent 0 J."""
_NOT_STARTED = "not started: the launcher started no job of its batch; it was asked again"
_NOT_STARTED_UNRESUMED = "not started: the launcher started no job of its batch; a resume runs it"
_NOT_REACHED_FLAG = "stop"
"""The :data:`_NOT_STARTED_KEY` value of a trial that a stop came before (``True``: the launcher started nothing)."""
_NOT_REACHED = "not started: the sweep stopped before this trial's turn in its batch; it was asked again"
_NOT_REACHED_UNRESUMED = "not started: the sweep stopped before this trial's turn in its batch; a resume runs it"

_AX_LOGGER = "ax.api.client"
_AX_STANDARDIZE_LOGGER = "ax.adapter.transforms.standardize_y"
_AX_NODE_LOGGER = "ax.generation_strategy.generation_node"
_AX_SQL_STORAGE_LOGGER = "ax.storage.sqa_store.with_db_settings_base"

_ACQF_OPTIMIZER_KWARGS: dict[str, int] = {"num_restarts": 10, "raw_samples": 512}
"""BoTorch's acquisition optimiser budget: half of Ax's 20 restarts and 1,024 raw samples. Profiled on 2 cores at 50
BraninCurrin trials, optimising qNEHVI took 0.51 of 0.9 s per suggestion, half of it scoring the raw samples."""

_ACQF_MC_SAMPLES = 64
"""Quasi-Monte-Carlo samples of the posterior in q(Log)NEHVI (BoTorch's default: 128); its cost is linear in them.
Multi-objective sweeps only: a single objective keeps Ax's qLogNEI with its own sampler.
With the budget above, the suggestion at 50 BraninCurrin trials took 0.48 s of CPU instead of 0.83 s and the
hypervolume did not move (median of 5 seeds: 0.908 and 0.972 at 20 and 40 trials; Ax's settings 0.907 and 0.973);
see docs/bench-optimizer.md."""

_DISCRETE_PROPOSALS = False
"""Propose from the untried configurations of a fully discrete space with a categorical kernel
(:mod:`lightning_ecopt.sweeper.discrete`). Off: on NAS-Bench-201 (5 seeds at 60 evaluations) it cut the CPU time per
suggestion about 3x and never repeated an architecture, but reached 0.940 of the maximum hypervolume (median) where
the one-hot default reaches 0.970 (docs/bench-optimizer.md)."""

_ROUND_UNTRIED = True
"""In a fully discrete space, send a rounded optimum that repeats a tried or pending configuration to the nearest
untried one (:class:`~lightning_ecopt.sweeper.discrete.NearestUntriedAcquisition`) instead of letting Ax regenerate it
up to five times and then fall back to a Sobol point. On NAS-Bench-201 (seeds 0-9, 60 evaluations) no run fell back
to Sobol (median 2 per run before, up to 6), the hypervolume was level or higher (medians 0.871 / 0.933 / 0.970 at
20 / 40 / 60 evaluations against 0.869 / 0.927 / 0.966; higher on 7 of 10 seeds at 40 and at 60) and a suggestion at
50 trials took 1.20 s of CPU instead of 1.32 s (no regenerations); docs/bench-optimizer.md.
In a space of unordered choices and floats (:func:`_relaxed`) an exact repeat (its floats equal too) goes to the
nearest category not taken with those floats, or, with every one taken, to the best of random untried points. Ax
generates a batch's points one by one, the earlier ones pending, and the next one's optimum on a bound rounded onto a
pending one: with seed 3 of ``a: choice(0, 1, 2), x: interval(0, 1)`` in batches of 4, one configuration 4 times in a
batch, 3 of 12 trials reused (the loop's answer, not an evaluation)."""

_SCREEN_ENUMERATED: int | None = 128
"""Configurations q(Log)NEHVI scores per proposal in a fully discrete space that Ax would score whole (at most
10,000 configurations, BoTorch's ``MAX_CHOICES_ENUMERATE``): the best of the untried ones by a cheap screen of their
marginal posteriors (:class:`~lightning_ecopt.sweeper.discrete.ScreenedAcquisition`); ``None``:
all of them, Ax's way. qNEHVI scores each configuration jointly with its baseline, so scoring them all grew as the
trials cubed: on the paper's CNN space (7,680 configurations) 1.9 s a proposal at 50 trials, 66 s and 11.7 GB at 300
(docs/bench-optimizer.md, "A 400-trial sweep"). 128 rather than 512 (2026-12-06): one proposal at 400 trials 6.7-7.1 s
against 13.8 s, the hypervolume level (400-trial sweeps within 0.0002 at every checkpoint; 60-trial sweeps over ten
seeds level, 2 better, 4 worse, 4 the same; docs/bench-optimizer.md, "Screening the configurations"). Saved with the
strategy: a sweep saved before keeps the number it started with (or Ax's way)."""

_FIT_MAXITER: int | None = 20
"""L-BFGS-B iterations per GP fit attempt in spaces with an unordered choice parameter (``None``: Ax's fit, which runs
to convergence); see :func:`_one_hot` for where it applies. On NAS-Bench-201 (30 one-hot inputs) 50 iterations cut the
fit from 2.35 s to 0.18 s of a 4.2 s suggestion at 50 trials, the hypervolume level over seeds 0-9 (0.952 against
0.915 at 40 evaluations, 0.966 against 0.967 at 60); with warm starts (below) 20 iterations took 0.09 s and were level
with 50 cold ones over seeds 0-19 (docs/bench-optimizer.md)."""

_FIT_WARM_START = True
"""Start each capped GP fit from the hyperparameters the same sweep's previous fit ended with, in this process
(:class:`~lightning_ecopt.sweeper.capped_fit.WarmStarts`, one store a sweep), instead of the model's initial values:
the capped fits then continue one another. A sweep resumed in a new process starts cold once."""

_ONE_HOT_ACQF_MAXITER: int | None = 30
"""L-BFGS-B iterations of the acquisition optimiser in spaces with an unordered choice parameter whose other
parameters are floats (:func:`_relaxed`; ``None``: BoTorch's 2,000). Each iteration evaluates qNEHVI with gradients
for all restarts at once (~9 ms on NAS-Bench-201's 30 one-hot inputs), and the batch runs until its slowest restart
converges."""

_ONE_HOT_EHVI_MAXITER: int | None = 20
"""``_ONE_HOT_ACQF_MAXITER`` for ``acquisition="EHVI"``. On NAS-Bench-201 (seeds 0-19, 60 evaluations) 20 iterations
were level with 30 (medians 0.872 / 0.954 / 0.972 against 0.872 / 0.937 / 0.972; paired at 60 -0.001, 9 / 11) and a
suggestion at 50 trials took 0.39 s of CPU against 0.45 s and qNEHVI's 0.82 s, the three side by side
(docs/bench-optimizer.md)."""

_ONE_HOT_PRUNE_BASELINE = False
"""Prune q(Log)NEHVI's baseline to the points likely on the front (BoTorch's default) in the spaces of
``_ONE_HOT_ACQF_MAXITER``. Off there: pruning took ~0.1 s of every suggestion on NAS-Bench-201. With the fit settings
above and ``_ONE_HOT_ACQF_MAXITER``, a suggestion at 50 trials took 0.86 s of CPU instead of 1.19 s and the
hypervolume was level or higher over seeds 0-19 (medians 0.873 / 0.941 / 0.974 at 20 / 40 / 60 evaluations against
0.862 / 0.935 / 0.970; docs/bench-optimizer.md)."""

_EHVI_FRONT: Literal["observed", "posterior_mean"] = "observed"
"""The front that ``acquisition="EHVI"`` improves on: the observed values, or the posterior means at the observed
points (BoTorch's; see :func:`~lightning_ecopt.sweeper.analytic.construct_inputs_objective_ehvi`). On NAS-Bench-201
(seeds 0-19, 60 evaluations) the observed front was level with qNEHVI at every budget (medians 0.872 / 0.937 / 0.972
against 0.873 / 0.941 / 0.974, higher on 10 of 20 seeds at 60) and the posterior means' lower at 60 (0.969, lower on
13 of 20)."""

_SAMPLE_AROUND_BEST: float | None = None
"""Also score raw samples drawn around the Pareto points of the model's posterior means when the acquisition
optimiser picks its restarts: as many as the uniform ones (BoTorch's ``sample_around_best``; the value is its
``sample_around_best_sigma``, in units of the normalised search box: ``1e-3`` is BoTorch's default). For q(Log)NEHVI
in spaces Ax optimises with ``optimize_acqf`` (:func:`_relaxed`). Off: with ``1e-3`` the hypervolume at 40 evaluations
was higher on every one of seeds 0-9 on BraninCurrin (+0.003) and VehicleSafety (+0.002), level on DTLZ2 and on
NAS-Bench-201 at 60 (seeds 0-19), but scoring twice the raw samples made a suggestion about 20 % slower (BraninCurrin
would go over 0.5 s at 50 trials), and half the uniform samples to pay for it kept too little of the gain
(docs/bench-frontier.md)."""

_REFERENCE_UPDATE: Literal["once", "widen"] = "once"
"""How an inferred reference point follows the sweep. ``once``: inferred when the Sobol trials have finished and kept.
``widen``: inferred again before every batch (and at the end) from the front observed so far, and moved only
outwards (per objective, the more permissive of the old and the new value), so a front that grows past the first
box still counts. A given point never moves. The default is ``once``: over seeds 0-4 ``widen`` was level or a little
lower on every benchmark problem (paired means -0.001 to -0.013; docs/bench-frontier.md), the inferred box being
looser than the problems' own on some and tighter on others."""

_REFERENCE_RULE: Literal["front", "all"] = "front"
"""What an inferred reference point is inferred from. ``front``: the observed Pareto front's nadir pushed out by
``REFERENCE_MARGIN`` of the front's range (BoTorch's rule). ``all``: every completed trial's worst value per objective,
pushed out by the same fraction of all trials' range: a looser box, as Optuna's GP sampler infers its own (its worst
observed values times 1.1), which values the whole front the trials reached."""

_MIN_REFERENCE_TRIALS = 2
"""Completed (feasible) trials an inferred reference point waits for, besides the Sobol trials' end (a sweep's end
infers it from what there is)."""

_MIN_MODEL_STD = 1e-8
"""The smallest standard deviation of an outcome that Ax's ``StandardizeY`` (and BoTorch's ``Standardize``, its
``min_stdv``) scales; below it the outcome is left as it is, and the model takes it for constant. A strategy built
now standardises with :class:`~lightning_ecopt.sweeper.standardize.ScaleFreeStandardizeY`, whose floor is relative to
the metric's magnitude; one saved before keeps Ax's, and the sweep warns of each metric below it
(``_say_constant_objectives``)."""

_FAILED_AS_PENDING = True
"""A failed trial is ABANDONED in Ax, which keeps its arm pending for good (proposals avoid it: never run again); off,
Ax's FAILED status, whose arms Ax proposes again. The sweep's records say ``failed`` either way."""

_CENTER_FIRST = False
"""Make the first initial trial the centre of the search box (Ax's ``initialize_with_center``); the initial trials
stay ``n_initial_trials`` in all (the centre and ``n_initial_trials - 1`` Sobol points). Off: it closes the DTLZ2 gap
to plain Ax (0.451 / 0.813 at 20 / 40 against 0.031 / 0.700; DTLZ2's Pareto set passes through the centre by
construction) but lost on BraninCurrin (0.858 against 0.903 at 20, 5 of 5 seeds) and on VehicleSafety at 20 (0.924
against 0.940, 4 of 5 seeds) (docs/bench-frontier.md, "Levers tried")."""

_SLOW_PROPOSAL_S = 5.0
"""A model proposal this slow, and slower than the last batch of trials, is said once (``_say_slow_proposals``)."""

_SUGGEST_THREADS = 1
"""Torch threads, and BLAS threads (numpy's and SciPy's OpenBLAS), while Ax proposes trials (:func:`_proposal_threads`).
The GPs are small: on 2 cores one torch thread proposed in 0.35 s where two took 0.7-1.5 s (8 Sobol + 6 qNEHVI trials
on BraninCurrin). Restored afterwards, so trials that run in the sweep's process (Hydra's basic launcher) keep every
thread."""


def evaluate_each(
    fn: Callable[[dict[str, Any]], Any], on_result: Callable[[int, Any], object] | None = None
) -> Evaluate:
    """Turn a per-trial function into an :data:`Evaluate` that runs a batch one trial after another.

    An ``Exception`` raised by ``fn`` becomes that trial's failure (its reason is kept), and so does a
    ``sys.exit()`` in it (``the task called sys.exit(...)``); ``KeyboardInterrupt``, Lightning's Ctrl-C (its
    ``SystemExit``) and other ``BaseException`` s still stop the sweep, which can then be resumed.

    Args:
        fn: ``fn(params) -> result``; the result is a ``{metric: value | (mean, sem)}`` dict or a tuple of values in
            objective order.
        on_result: Called as ``on_result(position, output)`` as each trial ends, before the next one starts, with
            its position in the batch and its result (or exception): what finished before a Ctrl-C is then known
            (:meth:`ParetoSweep.from_function` keeps it in :attr:`ParetoSweep.finished_before_stop`).

    Returns:
        The batch evaluator.

    Example:
        >>> evaluate = evaluate_each(lambda params: {"y": 1.0 / params["x"]})
        >>> out = evaluate([{"x": 2.0}, {"x": 0.0}])
        >>> out[0], type(out[1]).__name__
        ({'y': 0.5}, 'ZeroDivisionError')
        >>> import sys
        >>> str(evaluate_each(lambda params: sys.exit(3))([{}])[0])  # fails its trial, not the sweep
        'the task called sys.exit(3) (SystemExit); raise an exception to fail a trial'
    """
    if not callable(fn):
        raise TypeError(f"evaluate_each(fn={fn!r}): fn must be callable as fn(params) -> result.")

    def evaluate(batch: list[dict[str, Any]]) -> list[Any]:
        results: list[Any] = []
        for position, params in enumerate(batch):
            stops.raise_if_lost()  # a stop signal that the last trial's code dropped: the next one does not start
            try:
                start = time.monotonic()
                results.append(fn(dict(params)))
                release_finished_trial(time.monotonic() - start)  # its Trainer and model, in cycles, before the next
            except Exception as exc:  # a failed trial, not a failed sweep
                stops.raise_if_lost(exc)  # unless it is a stop signal's stop, replaced by the code it interrupted
                release_failed_trial(exc)  # its frames' DataLoader workers and model, before the next trial
                results.append(exc)
            except SystemExit as exc:  # the task's sys.exit() ends its trial; Lightning's Ctrl-C stops the sweep
                if is_interrupt(exc):
                    raise
                stops.raise_if_lost(exc)
                release_failed_trial(exc)
                results.append(exit_as_failure(exc))
            if on_result is not None:
                on_result(position, results[-1])
        stops.raise_if_lost()  # dropped in the batch's last trial: its outcome is kept (on_result), the sweep stops
        return results

    return evaluate


def _evaluate_in_order(sweep: ParetoSweep, fn: Callable[[dict[str, Any]], Any]) -> Evaluate:
    """:func:`evaluate_each` of ``fn`` that tells ``sweep`` what a stopped batch had done.

    Each trial's outcome goes into :attr:`ParetoSweep.finished_before_stop` as it ends (kept, not run again on
    resume). On a stop, the trials after the one it cut short had not started: they go into
    :attr:`ParetoSweep.not_started_before_stop` (saved as not started, 0 J, rather than interrupted).
    """

    def keep(position: int, output: Any) -> None:
        if position < len(sweep.evaluating):
            sweep.finished_before_stop[sweep.evaluating[position]] = output

    each = evaluate_each(fn, on_result=keep)

    def evaluate(batch: list[dict[str, Any]]) -> list[Any]:
        try:
            return list(each(batch))
        except BaseException as exc:
            indices = sweep.evaluating
            if len(indices) == len(batch):
                cut_short = sum(i in sweep.finished_before_stop for i in indices)  # in order: the first without one
                # request_stop() stops before a trial starts: that one did not start either.
                requested = _stop_requested_of(exc, sweep)
                sweep.not_started_before_stop.update(indices[cut_short + (0 if requested else 1) :])
            raise

    return evaluate


def _derive_seed(seed: int | None, n_finished: int) -> int | None:
    """A seed for the batch that follows ``n_finished`` trials, derived from the sweep's seed.

    Negative seeds are folded into ``[0, 2**63)`` (SeedSequence takes no negative entropy), as they always were;
    seeds from ``2**63`` on are taken as they are (folded, they repeated the batches of ``seed - 2**63``).
    """
    if seed is None:
        return None
    entropy = seed if seed >= 2**63 else seed % 2**63
    return int(np.random.SeedSequence([entropy, n_finished]).generate_state(1)[0]) % 2**31


def _sobol_seed(seed: int | None) -> int | None:
    """The Sobol generator's seed for the sweep's ``seed``.

    Torch's Sobol scrambling seeds a Mersenne Twister with the low 32 bits of its seed only: seeds 0, ``2**32`` and
    ``2**40`` drew the same points, and so did -1 and ``2**32 - 1``. Seeds in ``[0, 2**32)`` are taken as they are
    (the points such sweeps always had); any other gets a 32-bit seed derived from all of its bits and its sign.
    A saved sweep keeps the Sobol seed it was saved with (Ax's JSON holds it), so a resume draws what it drew.

    >>> _sobol_seed(7), _sobol_seed(2**32) != _sobol_seed(0), _sobol_seed(-1) != _sobol_seed(2**64 - 1)
    (7, True, True)
    """
    if seed is None or 0 <= seed < 2**32:
        return seed
    return int(np.random.SeedSequence([abs(seed), int(seed < 0)]).generate_state(1)[0])


def _new_to(said: set[Any], keys: Iterable[Any]) -> bool:
    """Whether any of ``keys`` is not in ``said`` yet; adds them. A warning said once a key, later ones at DEBUG.

    >>> said = set()
    >>> _new_to(said, ["val/loss"]), _new_to(said, ["val/loss"]), _new_to(said, ["val/loss", "val/acc"])
    (True, False, True)
    """
    keys = set(keys)
    new = not keys <= said
    said.update(keys)
    return new


def _known_metrics(output: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The numbers (and the energy label) a failed trial still reported, NaN and infinite ones too; and those left out.

    They come from a result dict that failed to parse, or a :class:`~lightning_ecopt.exceptions.TrialFailure` that
    carries ``metrics``. A NaN energy figure is a documented reading: the ledger counts it as unknown. Numbers are
    read as a completed trial's are: numpy and torch scalars, and the mean of a ``(mean, sem)`` pair; a pair whose sem
    is not one is left out, with why (``{metric: why}``), as a completed trial's record leaves it out.

    >>> _known_metrics({"energy/train_j": 4.0, "energy/test_j": float("nan"), "big": 10**400, "note": "oom"})
    ({'energy/train_j': 4.0, 'energy/test_j': nan, 'big': inf}, {})
    >>> import numpy as np, torch
    >>> _known_metrics({"energy/train_j": np.float32(2.5), "val/loss": torch.tensor(0.25), "acc": (0.5, 0.1)})
    ({'energy/train_j': 2.5, 'val/loss': 0.25, 'acc': 0.5}, {})
    >>> _known_metrics({"energy/train_j": 4.0, "val/acc": (0.9, -0.1)})
    ({'energy/train_j': 4.0}, {'val/acc': "metric 'val/acc': the sem must be a finite number >= 0, got -0.1"})
    """
    raw = output.metrics if isinstance(output, TrialFailure) else output
    if not isinstance(raw, Mapping):
        return {}, {}
    known: dict[str, Any] = {}
    untracked: dict[str, str] = {}
    for key, value in raw.items():
        if key == ENERGY_SOURCE_KEY and isinstance(value, str):
            known[key] = value
        elif (why := _untracked_pair(str(key), value)) is not None:
            untracked[str(key)] = why
        elif (number := _real(_mean_of(value))) is not None:
            known[str(key)] = number
    return known, untracked


def _inferred_reference(Y: np.ndarray, maximize: Sequence[bool], rule: Literal["front", "all"]) -> np.ndarray:
    """The reference point a sweep infers from its completed trials ``Y`` (see ``_REFERENCE_RULE``).

    A front of one point (one trial dominates the others) has no range: BoTorch's rule then pushes it out by a tenth
    of its own values, a box that moves with the metric's offset and units (the same problem shifted by +100 got a
    box 100x wider). Such a front takes the ``all`` rule: the completed trials' worst values, pushed out by a tenth
    of their range, whatever they are measured from.

    Objectives measured in tiny units (energy in kWh per sample: 1e-9) are inferred as in units of their largest
    value: the floors of 1e-7 on a range and a tie (BoTorch's ``MIN_Y_RANGE``) are absolute, and took every front
    of values below them for a tie (an accuracy near 1e-9 got the reference 0, energies a box 3-10x wider than the
    trials'). An objective whose values reach 1 or more keeps its own units.

    >>> Y = np.array([[0.95, 0.42], [6.4, 0.88], [9.57, 0.79]])  # minimised: one trial dominates
    >>> bool(np.allclose(_inferred_reference(Y + 100, [False, False], "front") - 100,
    ...                  _inferred_reference(Y, [False, False], "front")))
    True
    >>> bool(np.allclose(_inferred_reference(Y * 1e-9, [False, False], "front"),
    ...                  _inferred_reference(Y, [False, False], "front") * 1e-9))
    True
    """
    magnitude = np.abs(Y).max(axis=0) if len(Y) else np.ones(Y.shape[1])
    unit = np.where((magnitude > 0) & (magnitude < 1), magnitude, 1.0)
    return _inferred_reference_in_units(Y / unit, maximize, rule) * unit


def _inferred_reference_in_units(Y: np.ndarray, maximize: Sequence[bool], rule: Literal["front", "all"]) -> np.ndarray:
    """:func:`_inferred_reference` of values whose largest magnitude per objective is 1 or more (or 0)."""
    sign = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    Z = Y * sign  # maximisation terms
    front = np.unique(Z[frontier.pareto_mask(Z, [True] * Z.shape[1])], axis=0)
    # Objectives the front ties on: all of them for a front of one point; with three objectives or more, a front of
    # several points can tie on one too (one set of weights' accuracy over inference settings, or an accuracy that
    # saturates at 1.0), where BoTorch's rule pushes out by a range of 1e-7: a box 1e-8 from the value, which left
    # every later trade-off of that objective outside it (hypervolume 0.002 where 21,155 was due).
    tied = front.max(axis=0) - front.min(axis=0) <= 1e-7
    inferred = frontier.infer_reference_point(Y, maximize, margin=REFERENCE_MARGIN)
    worst, best = Z.min(axis=0), Z.max(axis=0)
    spread = best - worst
    everyone = (worst - REFERENCE_MARGIN * np.maximum(spread, 1e-7)) * sign
    if rule == "all":
        inferred = everyone
    elif len(Z) > 1 and tied.any():
        # The completed trials' worst values, pushed out by a tenth of their range, whatever they are measured from;
        # an objective every trial ties on has no range to push out by: a tenth of its value, as BoTorch's rule keeps
        # for a one-point front, not a box a hair's breadth wide.
        tenth = frontier.infer_reference_point((front.min(axis=0) * sign)[None, :], maximize, margin=REFERENCE_MARGIN)
        inferred = np.where(tied, np.where(spread > 1e-7, everyone, tenth), inferred)
    return _not_past_zero(np.asarray(inferred, dtype=float), Y, maximize)


def _not_past_zero(reference: np.ndarray, Y: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """An inferred reference value held at 0 where every trial's value lies on one side of 0 and the rule crossed it.

    Samples/J over batch sizes 1 to 512 spans 38x: the front's worst value less 10 % of its range is below 0, a
    value no configuration can have (the report and the frontier picture showed -732 samples/J). 0 is still worse
    than every trial's, so the box holds the same trials.

    >>> _not_past_zero(np.array([-732.4, 0.23]), np.array([[20.0, 0.9], [9000.0, 0.3]]), [True, True]).tolist()
    [0.0, 0.23]
    """
    sign = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)  # maximisation terms: the same test both ways
    crossed = ((Y * sign) > 0).all(axis=0) & (reference * sign < 0)
    return np.where(crossed, 0.0, reference)


def _allow_mixed() -> str:
    """The setting that accepts energy figures of several kinds, as the reader sets it."""
    return spelling.setting("allow_mixed_energy_sources=" + spelling.shown(True))


def _how_to_resume(stored: bool) -> str:
    """How a sweep stopped on an error of its own resumes: a sentence, without its full stop.

    From its storage, or, kept in memory only, by another ``run()`` of the same sweep.
    """
    return _sentence(spelling.rerun_to_resume()) if stored else "Call run() again on this sweep to resume"


def _sentence(clause: str) -> str:
    """``clause`` as a sentence's start: its first letter upper case, the rest (a path) as it is."""
    return clause[:1].upper() + clause[1:]


def _label_key(source: str) -> str:
    """An energy source label as compared between trials: ``"Estimated:  CPU-time"`` is ``"estimated: cpu-time"``."""
    kind, _, rest = source.partition(":")
    return f"{kind.strip().lower()}: {rest.strip().lower()}"


def _estimate_upgraded(source: str, first: str) -> str:
    """The upgrade note for a CPU-time estimate whose constants the first trial's label did not name yet.

    >>> _estimate_upgraded("estimated: cpu-time (4 W/thread)", "estimated: cpu-time")[:40]
    ' (lightning_ecopt before 2026-12-05 labe'
    >>> _estimate_upgraded("estimated: tdp-model", "estimated: cpu-time")
    ''
    """
    if _label_key(first) != _label_key(CPU_TIME_SOURCE) or not _label_key(source).startswith(f"{CPU_TIME_SOURCE} ("):
        return ""
    both = spelling.setting(
        *(f"{name}={spelling.shown(True)}" for name in ("allow_mixed_energy_sources", "retry_failed"))
    )
    return (
        " (lightning_ecopt before 2026-12-05 labelled every CPU-time estimate 'estimated: cpu-time', whatever its "
        f"watts_per_thread: if this sweep started then with the same constants, rerun with {both} to go on and "
        "evaluate again the trials refused for this)"
    )


def _breaks_contract(failure: TrialFailure, output: Any, completed: Sequence[TrialRecord]) -> bool:
    """Whether a trial's failure is the task's contract broken, as every trial would break it (the sweep stops).

    Only while no trial has completed (one that did shows the task can keep it; the batch's others are judged again
    at its end, :meth:`ParetoSweep._failure_report`). What the task returned is of the wrong type or length, or its
    ``energy/source`` label names no kind (:class:`~lightning_ecopt.sweeper.objectives.ContractFailure`), but not
    ``None`` or a NaN in place of the values: a task's way to say its configuration failed. Or it returned figures of
    other loops of EnergyCallback's and none of the loop an objective or constraint names: the callback's setting
    (``train``, ``stages``) is missing. Never an exception, a timeout, NaN metrics or a figure only some trials
    lack: those can differ from one configuration to the next.
    """
    if completed:  # a trial returned what the contract asks: the task can, and this one failed for its own reasons
        return False
    if isinstance(failure, ContractFailure):
        # None or a NaN in place of the values is how tasks say "this configuration failed" (Optuna's idiom).
        return not (output is None or (isinstance(output, float) and math.isnan(output)))
    if isinstance(failure, MissingMetric) and failure.metric in ENERGY_METRICS and "_tokens" not in failure.metric:
        # Figures of other loops of EnergyCallback's and none of this one's: the callback ran without the setting that
        # measures this loop (``train=True``, ``stages``). A figure its loop logs only sometimes (the contention of a
        # window of 0.2 s or more, a counter's part, a count_fn that found no token) and no figure at all (a
        # configuration that ended before its test loop) are judged by the failure rate.
        loop = f"energy/{energy_stage(failure.metric)}_"
        figures = (
            [str(k) for k in output if str(k).startswith("energy/") and k != ENERGY_SOURCE_KEY]
            if isinstance(output, Mapping)
            else []
        )
        if loop != "energy/train_":  # a fit's figures say nothing of the evaluation: a diverged fit skips its test
            figures = [k for k in figures if not k.startswith(("energy/train_", "energy/validate_in_fit"))]
        return bool(figures) and not any(k.startswith(loop) for k in figures)
    return False


def _shown_point(point: Mapping[str, float]) -> str:
    """A reference point for the log, to the report's 4 significant digits (the results file keeps every digit).

    >>> _shown_point({"test/acc": 0.25, "energy/test_samples_per_j": 835.4849152632875})
    '{test/acc: 0.25, energy/test_samples_per_j: 835.5}'
    """
    return "{" + ", ".join(f"{name}: {format_number(value)}" for name, value in point.items()) + "}"


def _failure_reason(value: BaseException) -> str:
    """Why a trial failed: a ``TrialFailure``'s message is the reason itself (the sweeper's own, or the task's).

    So is a :class:`~lightning_ecopt.exceptions.TrialTimeoutError`'s (``timed out: ...``), the sweeper's own verdict.
    Other subclasses are named (an exception carried back from another process by name is one).
    """
    text = str(value).strip()
    if type(value) in (TrialFailure, TrialTimeoutError) and text:
        return text
    return f"the job raised {type(value).__name__}: {text}" if text else f"the job raised {type(value).__name__}"


_QUIET_LOCK = threading.Lock()
"""Guards :func:`_quiet_ax`'s count: sweeps in threads of one process share the loggers and warnings filters."""
_quiet: dict[str, Any] = {"runs": 0, "saved": None}
"""The sweeps running in this process (``runs``) and, while any does, what the first saved (``saved``: the Ax loggers'
levels and the warnings filters), restored by the last out."""

_PROPOSAL_LOCK = threading.Lock()
"""Held while Ax proposes (``get_next_trials``): sweeps in threads of one process take turns. A proposal sets torch's
thread count, which is process-wide (another sweep's trials ran on one thread, and threads started meanwhile kept
it), and Ax reseeds the global RNGs at each generation."""


def _new_locks_in_child() -> None:
    """A child forked while another thread held a lock (proposing) gets it locked for good: new ones, and no sweep."""
    global _QUIET_LOCK, _PROPOSAL_LOCK
    _QUIET_LOCK, _PROPOSAL_LOCK = threading.Lock(), threading.Lock()
    _quiet.update(runs=0, saved=None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_locks_in_child)


@contextlib.contextmanager
def _quiet_ax() -> Iterator[None]:
    """Silence Ax's per-trial INFO logs and qNEHVI's numerics advice while a sweep runs.

    Counted, for sweeps in threads of one process: the first in saves the levels and filters, the last out restores
    them (saved and restored by each, the sweeps interleaved left them changed for good).
    """
    import ax.api.client  # noqa: F401  (importing it sets its logger's level: set ours afterwards)
    from botorch.exceptions.warnings import InputDataWarning
    from pandas.errors import PerformanceWarning

    logger = logging.getLogger(_AX_LOGGER)
    standardize = logging.getLogger(_AX_STANDARDIZE_LOGGER)
    node = logging.getLogger(_AX_NODE_LOGGER)
    with _QUIET_LOCK:
        if _quiet["runs"] == 0:
            filters = warnings.catch_warnings()
            filters.__enter__()
            _quiet["saved"] = (logger.level, standardize.level, filters)
            logger.setLevel(logging.WARNING)
            logger.addFilter(_drop_short_batch_warning)
            node.addFilter(_count_sobol_fallback)
            # "Outcome energy__test_gpu_j is constant": a tracking metric that never varies (0 J of GPU on a CPU
            # run) is normal here, and Ax repeats it for every metric at every proposal.
            standardize.setLevel(logging.ERROR)
            # qNEHVI is the paper's (and our default) on purpose; BoTorch repeats its advice at every proposal.
            warnings.filterwarnings("ignore", message=r".*has known numerical issues.*")
            # "Data (outcome observations) is not standardized (std = tensor([1., 0.]))": an objective the same in
            # every trial (accuracy saturated at 1.0), at every proposal; the sweep says so once, in its own words
            # (ParetoSweep._say_constant_objectives).
            warnings.filterwarnings("ignore", message=r".*not standardized.*", category=InputDataWarning)
            # "DataFrame is highly fragmented": Ax's OneHot adds a column per value of a choice of more than ~100,
            # and pandas says so at every proposal; only where Ax raises it (a task's own pandas code still warns).
            warnings.filterwarnings(
                "ignore", message=r".*highly fragmented.*", category=PerformanceWarning, module=r"ax\."
            )
        _quiet["runs"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet["runs"] -= 1
            if _quiet["runs"] == 0:
                level, standardize_level, filters = _quiet["saved"]
                _quiet["saved"] = None
                logger.removeFilter(_drop_short_batch_warning)
                node.removeFilter(_count_sobol_fallback)
                logger.setLevel(level)
                standardize.setLevel(standardize_level)
                filters.__exit__(None, None, None)


@contextlib.contextmanager
def _proposal_warnings(*, said_why: bool = False) -> Iterator[None]:
    """A proposal's warnings filters: BoTorch's retries see the warnings they retry on, GPyTorch's jitter notes go.

    BoTorch draws its acquisition optimiser's starting points again, from more raw samples, when it records a
    ``BadInitialCandidatesWarning`` (``gen_batch_initial_conditions``: ``catch_warnings(record=True)``, without a
    filter of its own). A host that ignores warnings (``warnings.filterwarnings("ignore")``, a notebook's habit) hid
    them from that record, so the retry never ran and the sweep proposed other trials than the same seed does
    elsewhere (a front of 62 points for 150 at 200 trials of benchmarks/long_sweep.py); one that turns them into
    errors (``-W error``) stopped the proposal. BoTorch's last word, that it found no start with a value (after the
    retries), is left to the host's filters: a host that ignores it does not see it at every late proposal. Where
    the sweep has said why the acquisition is zero (``said_why``: a given reference value no trial beats, outcome
    constraints no trial meets) it is dropped, unless the host turns it into an error: BoTorch's own
    ``catch_warnings`` resets Python's once-a-location registry at every proposal, so a host's default filters
    showed it, with its path and source line, at each one (10 of 10 in a 14-trial sweep).

    GPyTorch's ``NumericalWarning`` "A not p.d., added jitter of 1.0e-08 to the diagonal" (``psd_safe_cholesky``) is
    dropped: qNEHVI samples the posterior jointly over the tried configurations, whose covariance is singular where
    two lie close, so GPyTorch adds 1e-8 to 1e-6 to its diagonal (below the model's noise floor) and succeeds. It
    printed a library's path and source line into the main job's output, which the user can do nothing about, and a
    host that turns warnings into errors stopped the proposal with it. Where the jitter does not help, GPyTorch
    raises ``NotPSDError``, which is not a warning and still reaches the sweep.

    BoTorch's ``RuntimeWarning`` that its acquisition optimiser stopped on a warning and is "Trying again with a new
    set of initial conditions" is dropped too: it announces a retry that needs nothing from the user (a sweep printed
    it, with BoTorch's path, between two trials). Its word that the second try failed as well stays the host's.
    """
    from botorch.exceptions.warnings import BadInitialCandidatesWarning
    from linear_operator.utils.warnings import NumericalWarning

    # Our filters are added and then removed, not the whole list saved and restored (catch_warnings): a filter
    # another thread sets meanwhile (a trial of another sweep) must stay.
    with _QUIET_LOCK:
        host = _host_action(_BOTORCH_GAVE_UP, BadInitialCandidatesWarning, "botorch.optim.optimize")
        warnings.filterwarnings("default", category=BadInitialCandidatesWarning)
        added = [warnings.filters[0]]
        if host in ("ignore", "error"):
            action: Literal["ignore", "error"] = "ignore" if host == "ignore" else "error"
            warnings.filterwarnings(action, message=re.escape(_BOTORCH_GAVE_UP), category=BadInitialCandidatesWarning)
            added.append(warnings.filters[0])
        elif said_why:
            warnings.filterwarnings("ignore", message=re.escape(_BOTORCH_GAVE_UP), category=BadInitialCandidatesWarning)
            added.append(warnings.filters[0])
        warnings.filterwarnings("ignore", message=_JITTER_NOTE, category=NumericalWarning, module=r"linear_operator\.")
        added.append(warnings.filters[0])
        warnings.filterwarnings("ignore", message=_BOTORCH_RETRIES, category=RuntimeWarning)
        added.append(warnings.filters[0])
    try:
        yield
    finally:
        with _QUIET_LOCK:
            for entry in added:
                with contextlib.suppress(ValueError):  # resetwarnings() in the meantime
                    cast(list[Any], warnings.filters).remove(entry)
            getattr(warnings, "_filters_mutated", lambda: None)()  # what filterwarnings does: stale caches go


_BOTORCH_GAVE_UP = "Unable to find non-zero acquisition function values"
"""The start of BoTorch's last ``BadInitialCandidatesWarning``, given after its retries (not one it retries on)."""

_BOTORCH_RETRIES = r"Optimization failed in `gen_candidates_scipy` with the following warning\(s\):"
"""The start of BoTorch's ``RuntimeWarning`` that it retries its acquisition optimiser from new starting points."""

_JITTER_NOTE = r"A not p\.d\., added jitter of "
"""The start of GPyTorch's ``NumericalWarning`` that it added jitter to a covariance's diagonal and went on."""


def _host_action(message: str, category: type[Warning], module: str) -> str:
    """What the process's warnings filters do with ``message`` of ``category`` from ``module`` (first match wins).

    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _host_action("x", UserWarning, "m")
    'ignore'
    """
    for action, text, kind, where, line in warnings.filters:
        matches = issubclass(category, kind) and (text is None or text.match(message))
        if line == 0 and matches and (where is None or where.match(module)):
            return str(action)
    return str(getattr(warnings, "defaultaction", "default"))


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch intra-op threads (at most the current number), then restore the previous number."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(n, before)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _proposal_threads(n: int) -> Iterator[None]:
    """Propose on ``n`` threads: torch's intra-op pool (:func:`_torch_threads`) and the BLAS pools of numpy and SciPy.

    torch's count leaves OpenBLAS's own pools (numpy's and SciPy's, one thread a core) at work during Ax's transforms
    and BoTorch's SciPy calls outside its own L-BFGS-B limits: at 25 continuous parameters a proposal took 2.67 s of
    CPU for 1.71 s of wall time on 2 cores, one thread of SciPy's pool spinning beside the main one; limited, 1.52 s
    of both, the same proposals (docs/bench-optimizer.md, "Many parameters"). Restored afterwards, as torch's count.
    """
    from threadpoolctl import threadpool_limits

    with _torch_threads(n), threadpool_limits(limits=n, user_api="blas"):
        yield


@contextlib.contextmanager
def _torch_defaults() -> Iterator[None]:
    """Propose under torch's own defaults, whatever a trial left set: float32, gradients on, no anomaly mode, the CPU.

    Under the basic launcher (and :meth:`ParetoSweep.from_function`) a trial runs in the sweep's process, between its
    proposals, and a task that set one of torch's process-wide (or thread-wide) settings and did not put it back left
    the next proposals to run under it. Ax, BoTorch and GPyTorch assume the defaults: after ``torch.set_grad_enabled
    (False)`` the model fit's backward pass raised "element 0 of tensors does not require grad" and after
    ``torch.set_default_device("meta")`` (a task's ``"cuda"`` alike) Ax's input transform raised on a meta tensor,
    each ending the sweep at its first model proposal; after ``set_default_dtype(torch.float16)`` GPyTorch's
    eigendecomposition failed to converge (the sweep ended too), and after ``float64`` or ``bfloat16`` the same seed
    proposed other configurations; ``torch.autograd.set_detect_anomaly(True)`` made each proposal 6x slower. Each is
    put back as the trial left it afterwards, so the task's next trial sees its own settings. Costs 17 us a proposal
    (45 us with three settings to put back), against 0.2 to 2 s for the proposal itself.
    """
    import torch

    dtype = torch.get_default_dtype()
    device = torch.get_default_device()
    # A "cpu" default device is left alone: the same placement, and setting it again costs a torch function mode.
    moved = device.type != "cpu"
    try:
        if dtype != torch.float32:
            torch.set_default_dtype(torch.float32)
        if moved:
            torch.set_default_device(None)
        with torch.enable_grad(), torch.autograd.set_detect_anomaly(False):
            yield
    finally:
        if moved:
            torch.set_default_device(device)
        if dtype != torch.float32:
            torch.set_default_dtype(dtype)


def _after_a_stop(name: str) -> Any:
    """The disposition a stop signal takes once it has stopped the sweep.

    A second SIGTERM ends the process (a user's "now"). A closed terminal sends SIGHUP more than once (the kernel's to
    the foreground job, the shell's own to each of its jobs, the kernel's again as the shell exits): a second one,
    left to its default, would end the process inside the save the first one started, so it is ignored from then on
    (the caller's own cleanup after the stop is spared too). SIGUSR1 is a notice (SLURM's, before a time limit), not
    a "now": a second one is ignored too; SLURM's SIGTERM and SIGKILL end the job when its time is up.
    """
    return signal.SIG_IGN if name in ("SIGHUP", "SIGUSR1") else signal.SIG_DFL


_STOPPED_BY = {
    "SIGHUP": "stopped by SIGHUP (its terminal closed)",
    "SIGUSR1": "stopped by SIGUSR1 (SLURM's notice that the job's time is nearly up)",
}
"""How the log names a stop by a signal whose name alone would not say what sent it."""


def _requeue(job: str) -> None:
    """Requeue SLURM job ``job``, the sweep's, once it is saved and has said so; say so again if SLURM refuses.

    ``scontrol requeue`` ends the running job (SIGTERM, then SIGKILL after the cluster's grace period): SIGTERM is
    ignored from here on, as Lightning's requeue does, so that it neither ends the process before ``scontrol``
    answers nor turns the stop into another. Where SLURM refuses, SIGTERM gets its disposition back.
    """
    from lightning_ecopt.sweeper import slurm

    main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, signal.SIG_IGN) if main else None
    why = slurm.requeue_job(job)
    if why is None:
        log.info("ecopt: requeued SLURM job %s.", job)
        return
    if main:
        signal.signal(signal.SIGTERM, before)
    log.warning("ecopt: SLURM job %s not requeued (%s). %s.", job, why, _sentence(spelling.rerun_to_resume()))


@contextlib.contextmanager
def _stop_signals_stop_the_sweep() -> Iterator[None]:
    """While a sweep runs, SIGTERM, SIGHUP and SIGUSR1 stop it as Ctrl-C does: saved, the running trials asked again.

    ``scancel``, a SLURM time limit, ``timeout``, ``docker stop`` and Kubernetes send SIGTERM (and SIGKILL a grace
    period later); a terminal closed under the sweep (an ssh connection that drops, a terminal window closed) sends
    SIGHUP; SLURM sends SIGUSR1 ahead of a job's time limit where the job asks for it (``#SBATCH --signal=USR1@90``,
    which Lightning's SLURM docs recommend for its auto-requeue; handled in a SLURM job only: elsewhere SIGUSR1 is
    others', ``faulthandler.register``'s stack dump among them, which ``getsignal`` does not see), and the sweep then
    requeues its job (:meth:`ParetoSweep._requeue_plan`). By default each ended the process on the spot: the running
    trials then counted as a crash, and a configuration the sweep was stopped on twice was recorded as failed.
    Lightning keeps a SIGUSR1 handler that is already installed, so a trial's fit under SLURM saves no checkpoint of
    its own and requeues nothing: the sweep does, once it has saved (joblib's workers ignore the signal:
    ``_job._leave_sigusr1_to_the_sweep``). A Lightning task under the basic launcher
    was worse off with SIGTERM: Lightning's own handler turns it into a ``SystemExit`` at the next step, which failed
    the healthy trial for good ("the task called sys.exit(None)") and the sweep went on. Lightning keeps a handler
    that is already installed and calls it after its own, so this one reaches a task that trains. Installed only
    over the default handler (``nohup`` ignores SIGHUP, and the sweep then runs on), in the main thread; a second
    SIGTERM ends the process, and a second SIGHUP or SIGUSR1 is ignored (see :func:`_after_a_stop`). A handler the
    task installed for the process, over this one, is left in place at the end. A stop that the code the signal lands
    in loses (a finalizer drops it, a ``finally`` that raises replaces it, a trial's catch-all swallows it) is raised
    again at the sweep's next stop point, and its signal is sent again to the main thread each second while it stays
    lost (:mod:`lightning_ecopt.sweeper.stops`): so the handler stays in place until the sweep has the stop, and
    tells a second signal from outside from one sent again.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    stopped: set[str] = set()  # the signals whose stop arrived in this run

    def _stop(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if stops.was_resent(name):  # sent again by stops.resend_lost_stops: raised where the stop is still lost
            if stops.unreceived(name) and not stops.handling_a_stop():
                raise SweepTerminated(name)
            return
        if name in stopped:
            # A second one. This handler stays in place until the sweep has the first stop (for it to be sent again
            # where it was lost), and does what the disposition _after_a_stop gives then does: a second SIGTERM ends
            # the process, a second SIGHUP or SIGUSR1 is ignored.
            if _after_a_stop(name) == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)
            return
        stopped.add(name)
        stops.arrived(name)  # raised again where the code this lands in drops it (a finalizer, a raising finally)
        raise SweepTerminated(name)

    from lightning_ecopt.sweeper import slurm

    installed = []
    for name in _STOP_SIGNALS:
        number = getattr(signal, name, None)
        if name == "SIGUSR1" and slurm.job_id() is None:
            continue  # SLURM's notice; elsewhere the signal is others' (faulthandler.register's stack dump)
        if number is not None and signal.getsignal(number) == signal.SIG_DFL:
            signal.signal(number, _stop)
            installed.append(number)
    try:
        with stops.quiet_dropped_stops(), stops.resend_lost_stops() if installed else contextlib.nullcontext():
            yield
    finally:
        if installed:  # not a nested sweep's (the outer one's handlers, and stops, stay the outer one's)
            stops.received()  # one no stop point saw does not stop the next run
        for number in installed:
            if signal.getsignal(number) is _stop:
                name = signal.Signals(number).name
                signal.signal(number, _after_a_stop(name) if name in stopped else signal.SIG_DFL)


class _StopRequested(SweepTerminated):
    """:meth:`ParetoSweep.request_stop` stopped the sweep ``args[1]``: handled as SIGTERM is (saved, resumable).

    Another sweep's (one run inside a trial of this one) is an interrupt of the trial that ran it, as any other.
    """

    def __str__(self) -> str:
        # Its args hold the sweep (told from a nested sweep's stop by it): str() would show that tuple.
        return "ParetoSweep.run() stopped by request_stop(); what had finished is saved: call run() again to resume."


def _stop_requested_of(exc: BaseException, sweep: object) -> bool:
    """Whether ``exc`` (or one it was raised from or while handling) is ``sweep``'s own :meth:`request_stop`."""
    return _in_chain(exc, _StopRequested, lambda cause: len(cause.args) > 1 and cause.args[1] is sweep)


_SAID_OFF_MAIN: set[str] = set()
"""Whether the warning that a sweep outside the main thread catches neither SIGTERM nor Ctrl-C was given (once a
process)."""


def _ended_twice(earlier: int) -> str:
    return (
        f"failed: the sweep's process ended while running this configuration, as it did in trial {earlier} (a crash, "
        f"the out-of-memory killer, a task that exits); recorded as failed instead of run first again"
    )


_sobol_fallbacks = {"n": 0}
"""Ax's fallbacks to a Sobol point after five proposals of configurations already tried, in this process (counted by
:func:`_count_sobol_fallback`; proposals hold ``_PROPOSAL_LOCK``, so a sweep reads its own)."""


def _count_sobol_fallback(record: logging.LogRecord) -> bool:
    """Drop and count Ax's "exceeded MAX_GEN_ATTEMPTS ... switching to fallback model ... SOBOL".

    Ax logs it at every such proposal: 108 warnings in one 200-trial EHVI sweep of a continuous space whose model had
    converged. The sweep says it once, in its own words (``ParetoSweep._say_sobol_fallback``).
    """
    message = record.getMessage()
    if "MAX_GEN_ATTEMPTS" in message and "fallback" in message:
        _sobol_fallbacks["n"] += 1
        return False
    return True


def _drop_sql_storage_note(record: logging.LogRecord) -> bool:
    """Drop Ax's "Ax SQL storage initialized with SQLAlchemy 2.1.9", logged when Ax is first imported.

    Ax logs it at INFO wherever SQLAlchemy is installed (Optuna and MLflow bring it), into the sweep's output before
    the first trial, though the sweep stores nothing in SQL. Installed on that one logger when this module is
    imported, before the sweep imports Ax; its other records pass.
    """
    return not record.getMessage().startswith("Ax SQL storage initialized")


logging.getLogger(_AX_SQL_STORAGE_LOGGER).addFilter(_drop_sql_storage_note)


def _drop_short_batch_warning(record: logging.LogRecord) -> bool:
    """Drop Ax's "k trials requested but only j could be generated": the loop asks again until the batch is full."""
    return "could be generated" not in record.getMessage()


class ParetoSweep:
    """A multi-objective Bayesian optimisation sweep with Ax: Sobol trials, then qNEHVI, returning the Pareto set.

    Args:
        space: The swept parameters (see :func:`~lightning_ecopt.sweeper.space.parse_search_space`).
        settings: Objectives, budget, strategy, reference point, constraints and storage.
        evaluate: Runs one batch of trials; see :data:`Evaluate`. :meth:`from_function` wraps a per-trial function.
        on_batch_end: Hooks called with the result after every batch; ``None`` for the default (TensorBoard frontier
            views in ``<storage dir>/tensorboard`` when ``storage`` is set), ``[]`` for none.
        task_config: The task's config for one fixed point of the space (nested or dotted keys; see
            :func:`sweep_fingerprint`), saved with the sweep: resuming it under another one is refused, naming the
            changed keys. ``None``: not saved, nor checked.
        launcher: What runs ``evaluate``'s trials, as plain data, recorded in each run's provenance (the Hydra
            sweeper gives ``hydra.launcher``'s ``_target_`` and ``n_jobs``); ``None``: ``evaluate`` itself.

    Raises:
        TypeError: ``space`` is not a ``SearchSpace``, ``settings`` not a ``SweepSettings``, ``evaluate`` or a hook
            not callable, ``on_batch_end`` not a list of hooks, or ``task_config`` or ``launcher`` not a mapping.
        EcoptConfigError: The search space sweeps nothing (every key fixed), or an enqueued configuration does not
            fit it.

    Example::

        from lightning_ecopt.sweeper.objectives import parse_objectives
        from lightning_ecopt.sweeper.settings import SweepSettings
        from lightning_ecopt.sweeper.space import parse_search_space

        space = parse_search_space({"x": "interval(0, 1)"}, [])
        settings = SweepSettings(parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=12)
        result = ParetoSweep.from_function(space, settings, lambda p: {"a": p["x"], "b": 1 - p["x"] ** 2}).run()
        print(result.summary())
        for trial in result.pareto_trials:
            print(trial.params, trial.metrics)
    """

    def __init__(
        self,
        space: SearchSpace,
        settings: SweepSettings,
        evaluate: Evaluate,
        on_batch_end: Sequence[BatchHook] | None = None,
        task_config: Mapping[str, Any] | None = None,
        launcher: Mapping[str, Any] | None = None,
    ) -> None:
        from lightning_ecopt.sweeper.settings import SweepSettings as _SweepSettings
        from lightning_ecopt.sweeper.space import SearchSpace as _SearchSpace

        if not isinstance(space, _SearchSpace):
            given = f"{dict(space)!r}" if isinstance(space, Mapping) else "{'x': 'interval(0, 1)'}"
            raise TypeError(
                f"ParetoSweep(space={space!r:.80}): expected a SearchSpace; build it with parse_search_space({given}, "
                f"[])."
            )
        if not isinstance(settings, _SweepSettings):
            keys = dict(settings) if isinstance(settings, Mapping) else {"n_trials": 20}
            objectives = keys.pop("objectives", None)
            objectives = dict(objectives) if isinstance(objectives, Mapping) else {"a": "minimize", "b": "minimize"}
            rest = "".join(f", {key}={value!r}" for key, value in keys.items())
            raise TypeError(
                f"ParetoSweep(settings={settings!r:.80}): expected a SweepSettings; build it with "
                f"SweepSettings(parse_objectives({objectives!r}, None){rest})."
            )
        if not callable(evaluate):
            raise TypeError(
                f"ParetoSweep(evaluate={evaluate!r}): evaluate must be callable as evaluate(list_of_params) -> "
                f"list_of_results; wrap a per-trial function with ParetoSweep.from_function(space, settings, fn)."
            )
        if on_batch_end is not None and (
            isinstance(on_batch_end, str | bytes | Mapping)
            or not isinstance(on_batch_end, Iterable)
            or not all(callable(hook) for hook in on_batch_end)
        ):
            one = " (one hook goes in a list too)" if callable(on_batch_end) else ""
            raise TypeError(
                f"ParetoSweep(on_batch_end={on_batch_end!r:.80}): expected a list of hooks, each called as "
                f"hook(result) after every batch, e.g. [print]{one}; [] for none, None for the default."
            )
        if task_config is not None and not isinstance(task_config, Mapping):
            raise TypeError(
                f"ParetoSweep(task_config={task_config!r:.80}): expected the task's config as a mapping, e.g. "
                "OmegaConf.to_container(cfg), or None (not saved, nor checked on resume)."
            )
        if launcher is not None and not isinstance(launcher, Mapping):
            raise TypeError(
                f"ParetoSweep(launcher={launcher!r:.80}): expected a mapping of what runs the trials, recorded in each "
                f"run's provenance, e.g. {{'_target_': 'my_cluster.Launcher', 'n_jobs': 4}}, or None (evaluate itself)."
            )
        if not space.parameters:
            raise EcoptConfigError(
                f"ParetoSweep: nothing to sweep: the search space fixes every key ({list(space.fixed_overrides)!r}); "
                f"sweep at least one, e.g. parse_search_space({{'lr': 'tag(log, interval(1e-4, 0.1))', 'x': "
                f"'interval(0, 1)'}}, [])."
            )
        self.space = space
        self.settings = settings
        self.evaluate = evaluate
        self.task_config = task_config
        self.launcher = None if launcher is None else dict(launcher)
        self._traceback_types: set[type] = set()  # exception types whose traceback was logged as a warning
        self._warned_reference: set[str] = set()  # objectives whose given reference value no trial beats (warned)
        self._warned_infeasible = False  # whether no completed trial meeting the outcome constraints was warned about
        self._said_constant: set[str] = set()  # objectives said to be the same in every completed trial
        self._memory: str | None = None  # without storage: the Ax experiment as the last run left it (Ax's JSON)
        self._snapshot = ExperimentSnapshot()  # Ax's JSON of the experiment, each trial's data encoded once
        # One run() at a time on this object: without storage, no lock file keeps a second thread's run() out.
        self._running = threading.Lock()
        self._running_in: threading.Thread | None = None  # the thread whose run() holds it
        self._stop_requested = threading.Event()  # request_stop(), from any thread
        self.evaluating: tuple[int, ...] = ()
        """The trial indices of the batch ``evaluate`` is running, in its order (``()`` between batches): a launcher
        names each job after its trial with them (the Hydra sweeper's job dir ``N/`` is trial ``N``)."""
        self.ran_alone: set[int] = set()
        """Trials of the batch ``evaluate`` is running that it ran (again) with no other trial beside it: a launcher
        that lost a parallel batch and reran its jobs one by one adds them, so they are not tagged
        ``shared_counters``. Emptied before each batch."""
        self.finished_before_stop: dict[int, Any] = {}
        """What trials of the running batch returned (or raised) before a Ctrl-C or SIGTERM stopped ``evaluate``, by
        trial index: a launcher that knows (the Hydra sweeper reads its jobs' records; :meth:`from_function`'s
        evaluator keeps each outcome as it comes) fills it before the stop propagates, and they are saved as finished
        instead of run again on resume. Emptied before each batch."""
        self.unrecorded_launcher: dict[str, Any] | None = None
        """What ran the trials of a sweep saved before runs' provenance was recorded, where a launcher can tell (the
        Hydra sweeper reads it from the sweep's ``multirun.yaml`` before this run overwrites it): on that sweep's
        first resume, kept in the ``{"unrecorded": True}`` record of its earlier trials, so that a later run under
        another launcher is told of it and ``ecopt report`` names it. ``None``: unknown."""
        self.ran_when_the_process_died: Callable[[int], bool | None] | None = None
        """On a resume, whether a trial the saved experiment holds as running was running its task when the sweep's
        earlier process died (SIGKILL, a crash, the OOM killer), by trial index: a launcher whose jobs record their
        start and end (the Hydra sweeper under joblib or submitit) answers ``False`` for a job that never started its
        task (the process died while the launcher was starting it) or had ended. Such a trial is asked again as one a
        Ctrl-C stopped, not as one the process may have died of (which runs alone, and is failed when the process
        dies on it again). ``None`` (or no callable): unknown, taken as running."""
        self.not_started_before_stop: set[int] = set()
        """Trials of the running batch that had not started when a Ctrl-C or SIGTERM stopped ``evaluate``: a launcher
        that knows (one that runs the batch's trials one after another in this process) adds them, and they are saved
        as not started (0 J spent, asked again on resume) instead of interrupted. Emptied before each batch."""
        self._reset()
        self.on_batch_end = list(on_batch_end) if on_batch_end is not None else _default_batch_hooks(settings, space)

    def _reset(self) -> None:
        """Forget what a run learned: a second :meth:`run` starts from the storage file, as a new process would.

        Not from what the first run left in memory (its records, stop reason, reference point, crash suspects).
        Without storage, from the experiment the last run left, saved in memory as the file would be (``_memory``).
        """
        self._client: Client | None = None  # the run's Ax client, once open
        self._last_result: SweepResult | None = None  # as of the last save (see the result property)
        self._records: dict[int, TrialRecord] = {}
        self._reference: dict[str, float] | None = None
        self._reference_origin: Literal["given", "inferred"] | None = None
        # Inferred from trials none of which met the outcome constraints: inferred again once some do.
        self._reference_provisional = False
        self._stop_reason: str | None = None
        self._judged_from: set[int] = set()  # trials finished before this run: not judged for the failure rate
        self._suggest_time_s = 0.0
        self._batch_s: float | None = None  # how long the last batch of trials took (its evaluate call)
        self._said_slow = False
        self._said_fallback = False
        self._warm_starts: Any = None  # this sweep's own capped_fit.WarmStarts, made at its first proposal
        self._drawn_seed: int | None = None  # with seed=None: the seed drawn for the sweep (_proposal_seed)
        self._n_initial = self.settings.resolved_n_initial_trials(len(self.space.parameters))
        # Checked at each run, not only when built: a list given since (sweep.settings = replace(...)) runs too.
        self._enqueued = check_enqueued(self.space, self.settings.enqueue_trials)
        check_constraint_metrics(self.space, self.settings.outcome_constraints, spelling.setting("outcome_constraints"))
        self._cut_short: list[dict[str, Any]] = []  # on resume: the interrupted trials' configurations, run first
        self._retry: dict[str, int] = {}  # retry_failed, on resume: configuration -> its latest (failed) trial
        self._kept_task_config: dict[str, Any] | None = None  # the saved one, on a resume that gives none
        self._crash_suspects: set[str] = set()  # configurations a crash cut short: each runs alone
        self._kept_given: dict[str, float] = {}  # on resume: reference values given at the start, not given now
        self._misnamed: tuple[int, MissingMetric] | None = None  # a trial that lacked a metric no trial returned
        self._broken: tuple[int, TrialFailure] | None = None  # a trial whose result every trial's would fail alike
        self._said_unlabelled = False  # the warning about energy figures without a label, once a sweep
        self._said_not_finite: set[str] = set()  # metrics whose NaN or infinite value was warned of
        self._said_untracked: set[str] = set()  # metrics returned as a pair with an invalid sem, warned of
        self._energy_refused: set[int] = set()  # this run's trials refused for their energy source (they ran)
        self._earlier_runs: list[dict[str, Any]] = []  # the provenance records of the runs before this one (saved)
        self._this_run: dict[str, Any] | None = None  # this run's record, once the experiment is open
        self._first_trial = 0  # the index of the first trial this run proposes
        # The sweep's own step under way from the moment a batch's trials returned until the batch is saved (a bug
        # of ours there must not lose what they returned, nor pass for their crash): None outside that span.
        self._unsaved_step: str | None = None
        self._batch_indices: tuple[int, ...] = ()  # the trials of the batch under way (new and repeated ones)
        self._saved_step: str | None = None  # the sweep's own step under way after the batch's save
        self._finished_before = 0  # trials finished before this run

    @classmethod
    def from_function(
        cls,
        space: SearchSpace,
        settings: SweepSettings,
        fn: Callable[[dict[str, Any]], Any],
        on_batch_end: Sequence[BatchHook] | None = None,
        task_config: Mapping[str, Any] | None = None,
    ) -> ParetoSweep:
        """Build a sweep that calls ``fn(params)`` once per trial; an exception fails only that trial.

        Args:
            space: The swept parameters.
            settings: The sweep's settings.
            fn: ``fn(params) -> result`` (see :func:`evaluate_each`); ``params`` holds the swept parameters and the
                space's fixed values (``space.fixed``), as a Hydra job's config holds both.
            on_batch_end: As for the constructor (``[]``: no hooks, not even the TensorBoard views).
            task_config: As for the constructor.

        Returns:
            The sweep; call :meth:`run`. With ``settings.trial_timeout_s`` each call runs under that limit. The
            limit and the fixed values are read at each call: after ``sweep.settings = dataclasses.replace(...)`` or
            ``sweep.space = ...`` the next :meth:`run` uses the new ones.

        Raises:
            TypeError: ``fn`` is not callable.
        """
        if not callable(fn):
            raise TypeError(
                f"ParetoSweep.from_function(fn={fn!r}): fn must be callable as fn(params) -> result, one trial a call "
                f"(e.g. lambda params: train_and_measure(**params))."
            )
        task = fn

        def call(params: dict[str, Any]) -> Any:
            # Read at each call, not when built: a sweep whose space or settings were replaced since
            # (sweep.settings = dataclasses.replace(sweep.settings, trial_timeout_s=...)) runs with the new ones.
            # A Hydra delete override (``~key``) removes a key: nothing to pass.
            fixed = {key: value for key, value in sweep.space.fixed.items() if not key.startswith("~")}
            sweep._stop_if_requested()  # between trials: the batch's next one does not start
            return call_with_timeout(task, sweep.settings.trial_timeout_s, {**fixed, **params})

        sweep = cls(space, settings, evaluate_each(call), on_batch_end=on_batch_end, task_config=task_config)
        sweep.evaluate = _evaluate_in_order(sweep, call)  # the same, telling the sweep what a stopped batch had done
        return sweep

    # -- the loop ---------------------------------------------------------------------------------------------------

    @property
    def result(self) -> SweepResult | None:
        """The sweep's result as of its last saved batch, also after a :meth:`run` that raised.

        What :meth:`run` returns when it finishes; after a :class:`~lightning_ecopt.exceptions.SweepFailureError`
        or Ctrl-C, what it had saved (with ``stop_reason`` after the former; after a stop, ``stop_reason`` is ``None``
        and the trials it cut short are ``abandoned``), for :func:`~lightning_ecopt.report.build_report` without a
        storage file. ``None`` before a run's first save.
        """
        return self._last_result

    def run(self) -> SweepResult:
        """Run (or resume) the sweep until ``n_trials`` trials completed or failed.

        Returns:
            The trials, the Pareto set, the hypervolume and the reference point used.

        Raises:
            EcoptConfigError: ``storage`` holds a sweep over another search space, other objectives, another
                acquisition function or another ``task_config``, or more finished trials than ``n_trials``, or
                another process is running the sweep in it, or another thread is in this object's run().
            SweepFailureError: More trials failed than ``max_failure_rate`` allows (results are saved first).
            RuntimeError: ``evaluate`` returned the wrong number of results.
            KeyboardInterrupt: Ctrl-C, SIGTERM or :meth:`request_stop` stopped the sweep (what finished is saved
                first; rerun to resume).
            Exception: A step of the sweep's own failed after a batch's trials had returned (a bug, or a warnings
                filter a task set to ``"error"``): raised as it is, with a note naming the step, once what the batch
                recorded is saved; its trials not yet recorded are saved as stopped, not as crashes, and run again
                on resume.
            BaseException: Another stop that is no ``Exception`` (Streamlit's ``StopException``, gevent's
                ``GreenletExit``), saved and resumable as Ctrl-C is.

        A storage or results file that cannot be written mid-sweep (a full disk) stops it with an
        :class:`~lightning_ecopt.exceptions.EcoptConfigError` saying what is kept and how to resume.

        Its progress is logged (one line per batch, at INFO, on ``lightning_ecopt.sweeper.loop``); where Python's
        logging has no handler at all (a Jupyter notebook, a script that configured none), the run shows those lines
        on ``sys.stderr`` itself and leaves logging as it found it.
        """
        if not self._running.acquire(blocking=False):
            # Two runs of one object would share its Ax client and records: twice the budget, their results mixed.
            if self._running_in is threading.current_thread():
                raise EcoptConfigError(
                    "ParetoSweep.run(): run() was called again from inside this sweep's own trial or hook; build a "
                    "ParetoSweep of its own for a nested sweep."
                )
            raise EcoptConfigError(
                f"ParetoSweep.run(): run() is already running on this ParetoSweep (thread "
                f"{getattr(self._running_in, 'name', None)!r}); "
                f"wait for it to return (or build a ParetoSweep of its own for each concurrent sweep)."
            )
        try:
            self._running_in = threading.current_thread()
            if threading.current_thread() is not threading.main_thread() and not _SAID_OFF_MAIN:
                _SAID_OFF_MAIN.add("said")
                log.warning(
                    "ecopt: this sweep runs outside the main thread, where it cannot catch SIGTERM or Ctrl-C; call "
                    "sweep.request_stop() from your own handler to stop it cleanly (saved, resumable)."
                )
            with lines_shown_where_logging_is_not_configured(log):
                return self._run_once()
        finally:
            self._stop_requested.clear()  # a request made during this run() does not stop the next one
            self._running_in = None
            self._running.release()

    def request_stop(self) -> None:
        """Ask the running :meth:`run` to stop cleanly, as SIGTERM does: saved, and resumed by the next run.

        Safe to call from any thread (a signal handler of your own, a web app's Stop button): the sweep stops before
        its next proposal, and a :meth:`from_function` sweep also before the next trial of its batch; the trial that
        is running ends first (it is not interrupted). What finished is saved, the trials of the batch that did not
        run are asked again on resume, and :meth:`run` raises
        :class:`~lightning_ecopt.exceptions.SweepTerminated` in its own thread. A request made while no run is
        running stops the next one before its first proposal; one that no stop point saw is forgotten when
        :meth:`run` returns.
        """
        self._stop_requested.set()

    def _stop_if_requested(self) -> None:
        """Raise the stop :meth:`request_stop` asked for, in the sweep's thread."""
        if self._stop_requested.is_set():
            raise _StopRequested("request_stop()", self)

    def _run_once(self) -> SweepResult:
        """:meth:`run`, with this object's run lock held."""
        # Checked again as a new one would be: a field set by hand since (sweep.settings.n_trials = ...) is not.
        self.settings.__post_init__()
        with contextlib.ExitStack() as stack:
            if self.settings.storage is not None:
                # Refuse a storage that cannot be resumed before the lock file is created beside it (checked again
                # under the lock by _run).
                check_storage(self.settings.storage, self._fingerprint(), self.settings.n_trials)
                stack.enter_context(sweep_lock(Path(self.settings.storage)))
            stack.enter_context(_stop_signals_stop_the_sweep())
            try:
                return self._run()
            finally:
                if self.settings.storage is None and self._client is not None:
                    self._remember(self._client)

    def _remember(self, client: Client) -> None:
        """Without storage: keep the experiment in memory as the storage file would hold it, for the next run.

        Once a run, at its end (finished, failed or interrupted), not per batch: Ax's JSON grows with the trials.
        """
        try:
            self._memory = self._snapshot.text(client)
        except Exception:
            self._memory = None
            log.warning("ecopt: the sweep could not be kept in memory; a next run() starts over.", exc_info=True)

    def _run(self) -> SweepResult:
        self._reset()
        n_trials = self.settings.n_trials
        if self.settings.storage is not None:
            check_storage(self.settings.storage, self._fingerprint(), n_trials)
            _remove_torn_writes(Path(self.settings.storage))
        with _quiet_ax():
            client = self._open()
            self._start_record(client)
            size = self.space.n_configurations
            size_exhausted = size is not None and size <= self._n_initial
            if size is not None and size < n_trials:
                log.info(
                    "ecopt: the search space holds %d configurations, fewer than the sweep's %s: it ends once each "
                    "was tried%s.",
                    size,
                    spelling.trials(n_trials),
                    ", all by its Sobol trials" if size_exhausted else "",
                )
            # Hydra's start line says it ("all Sobol: ..."), spelled for Hydra. No model proposes in a space that the
            # Sobol trials exhaust: raising n_trials would not change that.
            if self._n_initial >= n_trials > self._n_finished() and not spelling.in_hydra() and not size_exhausted:
                # The default Sobol count grows with the budget: say the budget that leaves the model a trial, not
                # "above this one" (at 25 parameters, 41 trials were all Sobol too).
                from lightning_ecopt.sweeper.settings import smallest_model_budget

                log.info(
                    "ecopt: %s, all Sobol: %s proposes once the Sobol trials completed, so raise %s to %d or more.",
                    spelling.trials(n_trials),
                    self.settings.proposer,
                    spelling.setting("n_trials"),
                    smallest_model_budget(len(self.space.parameters), self.settings.n_initial_trials),
                )
            # The failure rate is judged over the trials this run evaluates: after "fix the task and rerun", the
            # failures that stopped the previous run must not stop this one again before its own trials count.
            self._judged_from = {i for i, r in self._records.items() if r.finished}
            progress = SweepProgress(n_trials, self._n_finished())
            hooked: SweepResult | None = None  # the last result the batch hooks saw in this run
            try:
                while self._n_finished() < n_trials:
                    self._maybe_infer_reference(client, final=False)  # a resumed sweep may not have it yet
                    self._stop_if_requested()
                    stops.raise_if_lost()  # a stop signal's, that the code it landed in dropped (a finalizer)
                    proposals = self._ask(client, self._next_batch_size())
                    if not proposals:
                        break
                    self._save_experiment(client)  # an interruption now leaves these trials to be abandoned
                    with progress.paused():
                        self._run_batch(client, proposals)  # sets _unsaved_step once the trials returned
                        self._unsaved_step = "showing the progress bar again"
                    # Before the batch's result is saved and shown: the batch that ends the Sobol phase has its
                    # hypervolume in the results file and in TensorBoard at its own step, not one batch later.
                    self._unsaved_step = "inferring the reference point"
                    self._maybe_infer_reference(client, final=self._n_finished() >= n_trials)
                    self._unsaved_step = "checking the batch's results"
                    self._check_given_reference()
                    self._check_constraints_met()
                    self._unsaved_step = "saving the sweep"
                    result = self._save(client)
                    self._unsaved_step, self._saved_step = None, "showing the batch's progress"
                    log.info("ecopt: %d/%d trials; %s", self._n_finished(), n_trials, self._batch_line(result))
                    progress.update(self._n_finished(), self._batch_line(result))
                    self._batch_end(result)
                    hooked = result
                    self._saved_step = "judging the batch's failures"
                    failures = self._failure_report(result)
                    if failures is not None and self._n_finished() >= n_trials and result.n_completed > 0:
                        # The budget is spent: nothing is left to stop, and a rerun would have nothing to resume.
                        log.warning(
                            "ecopt: %s; the budget is spent (%s), so the sweep is complete. Fix the task "
                            "(each failure's reason is logged above) before sweeping further (with retry_failed set, "
                            "to evaluate the failed configurations again).",
                            failures[0],
                            spelling.trials(n_trials),
                        )
                    elif failures is not None:
                        self._stop_reason, message = failures
                        self._save(client)  # the stop reason goes into the results file
                        raise SweepFailureError(message)
                    self._saved_step = None
            except LauncherError:
                # Not the batch's fault: its trials are asked again on resume, once the launcher is fixed.
                self._save_on_interrupt(client, "stopped: the launcher started no job of the batch", not_started=True)
                raise
            except (KeyboardInterrupt, SystemExit) as exc:
                # SystemExit too: Lightning turns Ctrl-C during fit or test into sys.exit(1) (its interrupt
                # handler), and a task may call sys.exit; either way, what finished is saved and resumable.
                if _stop_requested_of(exc, self):
                    self._save_on_interrupt(client, "stopped by request_stop()")
                elif is_terminated(exc):
                    stops.received()
                    name = stop_signal(exc)
                    if threading.current_thread() is threading.main_thread():
                        # A second SIGTERM ends the process, not the save, and a second SIGHUP is ignored: Lightning's
                        # teardown puts back the handlers it found, ours included.
                        signal.signal(getattr(signal, name), _after_a_stop(name))
                    self._save_on_interrupt(
                        client,
                        _STOPPED_BY.get(name, f"stopped by {name}"),
                        requeue=name == "SIGUSR1",
                    )
                    if not isinstance(exc, SweepTerminated):
                        # Lightning turns the stop inside a fit or test into sys.exit(1): raise it as the stop it is
                        # (``except SweepTerminated``, and its exit status, 128 + the signal).
                        raise SweepTerminated(name) from exc
                elif isinstance(exc, KeyboardInterrupt) or is_interrupt(exc):
                    self._save_on_interrupt(client, "interrupted")
                else:
                    # A batch function's own sys.exit() (not Lightning's Ctrl-C) is a crash, not a user's stop: on
                    # resume each configuration of the batch runs alone and one that exits twice is failed (rerun
                    # together, the batch would exit the same way on every rerun).
                    code = exc.code if isinstance(exc, SystemExit) else None
                    self._save_on_interrupt(client, f"stopped: evaluate() called sys.exit({code!r})", clean=False)
                raise
            except EcoptError:  # worded on purpose (a full disk: what is kept and how to resume)
                raise
            except Exception as exc:
                if self._unsaved_step is not None:  # a step of ours failed after the batch's trials had returned
                    self._save_after_own_error(client, self._unsaved_step, exc)
                elif self._saved_step is not None:  # and after the batch was saved
                    self._say_own_error_after_save(self._saved_step, exc)
                raise
            except BaseException as exc:
                # A stop that is no Exception and no Ctrl-C (Streamlit's StopException or RerunException, gevent's
                # GreenletExit, anyio or trio cancellation): the process goes on, so it is a user's stop, not a crash;
                # saved as Ctrl-C is, and the configurations it cut short run again on resume.
                if not isinstance(exc, Exception):
                    self._save_on_interrupt(client, f"stopped by {type(exc).__name__}")
                raise
            finally:
                progress.close()
            self._maybe_infer_reference(client, final=True)
            result = self._save(client)
            if hooked is None or hooked.reference_point != result.reference_point:
                self._batch_end(result)  # nothing ran (a finished sweep rerun), or the end changed the reference
            self._check_constraints_met(final=True)  # a sweep shorter than its Sobol phase, or a finished one rerun
        if self._stop_reason:
            log.warning(
                "ecopt: the sweep stopped after %d of %s: %s",
                result.n_finished,
                spelling.trials(n_trials),
                self._stop_reason,
            )
        log.info("ecopt: done: %s", result.summary())
        return result

    def _n_finished(self) -> int:
        return sum(r.finished for r in self._records.values())

    def _save_on_interrupt(
        self,
        client: Client,
        what: str,
        *,
        clean: bool = True,
        not_started: bool = False,
        requeue: bool = False,
    ) -> None:
        """Ctrl-C, SIGTERM or a ``sys.exit()``: save what finished (trials still running stay RUNNING, asked again).

        Args:
            client: The Ax client.
            what: How the sweep stopped, for the log (``interrupted``, ``stopped by SIGTERM``).
            clean: A user's stop, not a crash: its running trials may be cut short any number of times.
            not_started: The running trials never started (the launcher could not start their batch): 0 J spent.
            requeue: SLURM's SIGUSR1 stopped the sweep: once it is saved to storage (not when saving failed), its
                SLURM job is requeued where that resumes it (:meth:`_requeue_plan`), after the line that says so.
        """
        from ax.core.base_trial import TrialStatus

        try:
            for index, trial in _experiment(client).trials.items():
                # CANDIDATE and STAGED too: a stop inside Ax's get_next_trials saves a trial not yet running, which
                # the resume reruns as it does a running one (and must know was a user's stop, not a crash).
                if trial.status not in (TrialStatus.RUNNING, TrialStatus.CANDIDATE, TrialStatus.STAGED):
                    continue
                if clean:
                    trial.update_run_metadata({_STOPPED_KEY: True})
                if not_started:
                    trial.update_run_metadata({_NOT_STARTED_KEY: True})
                elif index in self.not_started_before_stop:
                    trial.update_run_metadata({_NOT_STARTED_KEY: _NOT_REACHED_FLAG})
                # In the results file as abandoned, so that ``ecopt report`` counts its energy as unknown (a lower
                # bound) instead of leaving it out, or as 0 J where it never started; the resume rebuilds every record
                # from the Ax experiment.
                record = self._record_from_trial(index, trial)
                if not_started:
                    record = dataclasses.replace(record, reason=_NOT_STARTED_UNRESUMED, metrics=dict(NOTHING_RAN))
                elif index in self.not_started_before_stop:
                    record = dataclasses.replace(record, reason=_NOT_REACHED_UNRESUMED, metrics=dict(NOTHING_RAN))
                else:
                    record = dataclasses.replace(record, reason=_INTERRUPTED_UNRESUMED)
                self._records[index] = record
            result = self._save(client)
        except BaseException as exc:  # a second Ctrl-C, or a failing disk: the last batch's files stay as they were
            # Why, where it is no second stop (a bug of ours, a full disk): that traceback is shown nowhere else.
            log.warning(
                "ecopt: %s; saving failed, the files of the last finished batch are kept.",
                what,
                exc_info=exc if isinstance(exc, Exception) else None,
            )
            return
        if result.storage:
            how, job = self._requeue_plan(result) if requeue else (f"{_sentence(spelling.rerun_to_resume())}.", None)
            log.warning(
                "ecopt: %s after %d of %s; saved to %s. %s",
                what,
                result.n_finished,
                spelling.trials(self.settings.n_trials),
                result.storage,
                how,
            )
            if job is not None:
                _requeue(job)
        else:
            log.warning(
                "ecopt: %s after %d of %s; kept in memory only (no storage): call run() again on this sweep "
                "to resume (a new process starts over).",
                what,
                result.n_finished,
                spelling.trials(self.settings.n_trials),
            )

    def _save_after_own_error(self, client: Client, step: str, error: Exception) -> None:
        """A step of the sweep's own raised after its batch's trials returned: save what was recorded, say so.

        What was recorded in Ax before the error is saved (before: lost, and run again on resume); each trial it had
        not recorded yet is saved as stopped, not as a crash of its configuration (it ran to its end: before, a bug
        of ours that struck twice on one configuration failed it for good, "as it did in trial N"), and runs again on
        resume. ``error`` itself is raised on by the caller, its traceback whole, with a note that names the step.

        Args:
            client: The Ax client.
            step: The step that raised, as the message says it ("recording the batch's results").
            error: What it raised.
        """
        from ax.core.base_trial import TrialStatus

        unrecorded: list[int] = []
        why = f"{step}: {type(error).__name__}: {str(error)[:300]}"
        saved = None
        for index, trial in _experiment(client).trials.items():
            if trial.status not in (TrialStatus.RUNNING, TrialStatus.CANDIDATE, TrialStatus.STAGED):
                continue
            unrecorded.append(index)
            try:
                # No half-written record either (_complete writes its metadata before Ax completes the trial).
                trial.update_run_metadata({_STOPPED_KEY: _UNRECORDED_FLAG, _METADATA_KEY: {}})
                record = self._record_from_trial(index, trial)
                self._records[index] = dataclasses.replace(record, reason=_UNRECORDED_UNRESUMED)
            except Exception:  # saved unflagged, it is taken for a crash on resume (as after a SIGKILL)
                log.warning("ecopt: trial %d could not be flagged as run to its end", index, exc_info=True)
        try:
            with warnings.catch_warnings():
                if isinstance(error, Warning):  # a filter made warnings errors: the rescue must not fail alike
                    warnings.simplefilter("ignore")
                saved = self._save(client)
        except Exception:
            log.warning(
                "ecopt: the sweep stopped on an error of its own (%s) after its batch's trials had run, and saving "
                "failed too (below); the files of the last finished batch are kept, and the trials of this batch run "
                "again on resume.",
                why,
                exc_info=True,
            )
        recorded = sorted(i for i in self._batch_indices if i not in unrecorded)
        if saved is None:
            kept = "nothing of the batch was saved (saving failed)"
        elif not recorded:
            kept = "no trial of the batch was recorded"
        elif saved.storage:
            kept = f"trials {recorded} were recorded and saved to {saved.storage}"
        else:
            kept = f"trials {recorded} were recorded and kept in memory (no storage)"
        lost = f"; trials {unrecorded} had run but were not recorded: they run again on resume" if unrecorded else ""
        cause = (
            " A warning raised as an error: a warnings filter set to 'error' (warnings.simplefilter('error') or "
            "filterwarnings('error') in a task, python -W error, PYTHONWARNINGS) turned a library's warning into this "
            "exception; remove the filter, or set it inside a warnings.catch_warnings() block in the task."
            if isinstance(error, Warning)
            else ""
        )
        resume = _how_to_resume(saved is None or saved.storage is not None)
        if saved is not None:
            log.warning(
                "ecopt: the sweep stopped on an error of its own (%s) after its batch's trials had run: a bug in "
                "lightning_ecopt or a library it calls (Ax), or in the environment a task left, not the trials' "
                "failure, so none is failed for it. %s%s.%s %s; the error's traceback follows.",
                why,
                _sentence(kept),
                lost,
                cause,
                resume,
            )
        error.add_note(f"ecopt: raised while {step}, after the batch's trials had run; {kept}{lost}.")

    def _say_own_error_after_save(self, step: str, error: Exception) -> None:
        """A step of the sweep's own raised after its batch was saved: nothing is lost; say so, and how to resume."""
        resume = _how_to_resume(self._last_result is not None and self._last_result.storage is not None)
        log.warning(
            "ecopt: the sweep stopped on an error of its own (%s: %s: %s) after its batch was saved: a bug in "
            "lightning_ecopt or a library it calls, or in the environment a task left, not the trials' failure; "
            "nothing is lost. %s; the error's traceback follows.",
            step,
            type(error).__name__,
            str(error)[:300],
            resume,
        )
        error.add_note(f"ecopt: raised while {step}, after the batch was saved (nothing is lost).")

    def _requeue_plan(self, result: SweepResult) -> tuple[str, str | None]:
        """After SLURM's SIGUSR1 stopped the sweep, saved: whether to requeue its SLURM job, and the sentence saying so.

        As Lightning's SLURM auto-requeue does for a training run, for whoever asked SLURM for the signal: the
        requeued job runs the same command, which resumes the sweep. Not outside a SLURM job, nor where that command
        would start another sweep (a dated ``hydra.sweep.dir``), nor where no trial finished in this run: the requeued
        job would be cut short at the same trial, again and again.

        Returns:
            The sentence that ends the stop's line, and the job to requeue (``None``: none).
        """
        from lightning_ecopt.sweeper import slurm

        rerun = f"{_sentence(spelling.rerun_to_resume())}."
        job = slurm.job_id()
        if job is None:
            return rerun, None
        if not spelling.resumes_by_rerun():
            return f"SLURM job {job} not requeued: its command would start a new sweep. {rerun}", None
        if result.n_finished <= len(self._judged_from):
            return (
                f"SLURM job {job} not requeued: no trial finished in this job, so the requeued job would stop at the "
                f"same trial; give the job more time (sbatch --time) and {spelling.rerun_to_resume()}."
            ), None
        return f"Requeueing SLURM job {job} (scontrol requeue): the requeued job resumes the sweep.", job

    def _batch_end(self, result: SweepResult) -> None:
        """Call every ``on_batch_end`` hook with the batch's result; a hook's error is logged, never raised."""
        for hook in self.on_batch_end:
            try:
                hook(result)
            except Exception:
                log.warning("ecopt: the batch hook %r failed; the sweep goes on.", hook, exc_info=True)

    def _next_batch_size(self) -> int:
        """Up to ``max_batch_size`` trials, cut at the end of the Sobol phase so BoTorch sees the reference point."""
        k = min(self.settings.max_batch_size, self.settings.n_trials - self._n_finished())
        due = self._due_first()
        if due and config_key(due[0]) in self._crash_suspects:
            return 1  # one configuration of a crashed batch, run alone (see _resume)
        active = self._n_completed()
        if active < self._n_initial:
            k = min(k, self._n_initial - active)
        return max(k, 1)

    def _n_completed(self) -> int:
        """Completed trials: what Ax counts toward the Sobol phase (failed and abandoned ones are left out)."""
        return sum(r.status == "completed" for r in self._records.values())

    def _ask(self, client: Client, k: int) -> dict[int, dict[str, Any]]:
        """Ask Ax for ``k`` trials, asking again when it returns fewer (it does at a generation-node transition)."""
        from ax.exceptions.core import OptimizationComplete
        from ax.exceptions.generation_strategy import GenerationStrategyCompleted

        from lightning_ecopt.sweeper.capped_fit import WarmStarts, use_warm_starts
        from lightning_ecopt.sweeper.pareto import faster_baseline_pruning

        if self._warm_starts is None:
            self._warm_starts = WarmStarts()
        _set_client_seed(client, _derive_seed(self._proposal_seed(), self._n_finished()))
        proposals: dict[int, dict[str, Any]] = {}
        for params in self._due_first()[:k]:
            ax_params = self.space.to_ax_params(params)
            proposals[client.attach_trial(parameters=ax_params)] = ax_params
        one_at_a_time = False
        while len(proposals) < k:
            left = self._untried_left(client)
            if left == 0:
                # Ax would find out by rejection sampling: 10,000 Sobol draws (~20 s) in its Sobol phase, with a
                # warning of "very restrictive" parameter constraints the space does not have.
                self._stop_reason = (
                    f"no new configuration to propose (each of the search space's {self.space.n_configurations} "
                    f"configurations was tried)"
                )
                break
            self._prepare_acquisition()
            self._say_constant_objectives()
            # Sweeps in other threads of this process wait: torch's thread count and the RNGs Ax reseeds are
            # process-wide (the wait is not counted as suggestion time).
            with _PROPOSAL_LOCK:
                start = time.perf_counter()
                fallbacks = _sobol_fallbacks["n"]
                ask = 1 if one_at_a_time else min(k - len(proposals), left if left is not None else k)
                try:
                    with (
                        _proposal_threads(_SUGGEST_THREADS),
                        _torch_defaults(),
                        use_warm_starts(self._warm_starts),
                        _proposal_warnings(said_why=self._said_nothing_to_improve()),
                        faster_baseline_pruning(),
                    ):
                        got = client.get_next_trials(max_trials=ask)
                except (OptimizationComplete, GenerationStrategyCompleted) as exc:
                    if ask > 1:
                        # Ax generates a batch one trial at a time and raises when the last one finds nothing left (a
                        # discrete space with fewer untried configurations than the batch), dropping those it had: ask
                        # for one at a time, until nothing is left.
                        one_at_a_time = True
                        continue
                    self._stop_reason = f"Ax has no new configuration to propose ({type(exc).__name__}: {exc})"
                    break
                finally:
                    took = time.perf_counter() - start
                    self._suggest_time_s += took
                    self._say_sobol_fallback(since=fallbacks)
            self._say_slow_proposals(took)
            if not got:
                if not proposals:
                    self._stop_reason = "Ax proposed no trial"
                break
            proposals.update({i: dict(p) for i, p in got.items()})
        return proposals

    def _untried_left(self, client: Client) -> int | None:
        """How many configurations of a discrete space Ax may still propose; ``None`` in a space with a float range.

        Ax proposes no configuration twice but a failed one (the sweeper marks its failed trials abandoned, so they
        count as tried too): those of every trial not failed in Ax, pending ones included, are taken.
        """
        total = self.space.n_configurations
        if total is None:
            return None
        tried = {
            arm.signature
            for trial in _experiment(client).trials.values()
            if not trial.status.is_failed
            for arm in trial.arms
        }
        return max(total - len(tried), 0)

    def _say_sobol_fallback(self, since: int) -> None:
        """Once a sweep, say that Ax replaced a proposal by a Sobol point (its warning, counted since ``since``)."""
        if self._said_fallback or _sobol_fallbacks["n"] <= since:
            return
        self._said_fallback = True
        log.info(
            "ecopt: the model proposed a configuration already tried, five times over, so Ax proposed a Sobol point "
            "in its place: the model finds nothing new where it looks, often a sign the sweep has converged (said "
            "once; such trials count as any other)."
        )

    def _say_slow_proposals(self, took: float) -> None:
        """Once a sweep, say when one model proposal takes longer than the last batch of trials, and over 5 s.

        qNEHVI's cost grows with the trials and the points on the front (it scores 512 raw samples against the
        front's box decomposition): 9 s a proposal at 180-200 trials of a 150-point front, where EHVI took 1.2 s
        (``benchmarks/long_sweep.py``; docs/sweeper.md, "Long sweeps"). Only where the optimiser then costs more than
        the trials do, and only for a multi-objective sweep (one objective is Ax's own proposer); EHVI is named only
        where this sweep's settings would take it (one trial a batch, no constraint on another metric).
        """
        if self._said_slow or took < _SLOW_PROPOSAL_S or self._batch_s is None or took < self._batch_s:
            return
        if self.settings.acquisition == "EHVI" or len(self.settings.objectives) < 2:
            return
        self._said_slow = True
        try:
            dataclasses.replace(self.settings, acquisition="EHVI")
        except (EcoptConfigError, ValueError, TypeError):
            instead = ""
        else:
            instead = (
                f" For a long sweep of quick trials, {spelling.setting('acquisition=' + spelling.shown('EHVI'))} "
                "proposes one trial at a time in a fraction of that (in a new sweep: a resumed one keeps its "
                "acquisition)."
            )
        log.info(
            "ecopt: a proposal took %.1f s, longer than the last batch of trials (%.1f s): %s's cost grows with the "
            "trials and the points on the front (%d of %d here).%s See docs/sweeper.md, Long sweeps.",
            took,
            self._batch_s,
            self.settings.acquisition,
            len(self._result().pareto_indices),
            self._n_completed(),
            instead,
        )

    def _say_constant_objectives(self) -> None:
        """Before a model proposal, warn once a sweep of each objective that is the same in every completed trial.

        The model learns nothing from it (BoTorch's own warning, "not standardized (std = tensor([1., 0.]))", came
        at every proposal: :func:`_quiet_ax` quiets it). Nor, in a sweep resumed from a strategy saved before
        :func:`~lightning_ecopt.sweeper.standardize.configure_scale_free`, from one that varies by less than Ax's
        ``StandardizeY`` takes (a standard deviation below ``_MIN_MODEL_STD``: energy in kWh per sample, at 1e-9):
        it is left unscaled, so the model takes it for constant, and the acquisition optimiser, on a flat surface,
        proposed the corners of the box (4 of 10 model proposals in a 14-trial sweep, qNEHVI and qLogNEHVI alike). A
        strategy built since models it as any other, and nothing is said.
        """
        if self._n_completed() < max(self._n_initial, 2):
            return  # Sobol proposes
        completed = [r for r in self._records.values() if r.status == "completed"]
        seen = {o.name: [r.metrics.get(o.name) for r in completed] for o in self.settings.objectives}
        numbers = {name: [v for v in values if v is not None] for name, values in seen.items()}
        constant = {name for name, values in seen.items() if len(set(values)) == 1 and None not in values}
        floored = not self._models_tiny_outcomes()
        tiny = {
            name
            for name, values in numbers.items()
            if floored and name not in constant and len(values) > 1 and float(np.std(values, ddof=1)) < _MIN_MODEL_STD
        }
        # Another objective that varies guides the search; where every one is constant, none does.
        several = len(constant | tiny) < len(self.settings.objectives)
        for objective in self.settings.objectives:
            if objective.name in self._said_constant or objective.name not in constant | tiny:
                continue
            self._said_constant.add(objective.name)
            if objective.name in tiny:
                log.warning(
                    "ecopt: objective %r varies by a standard deviation of %g over %d completed trials, below the "
                    "%g that the model of this sweep's saved strategy standardises (saved before ecopt standardised "
                    "such outcomes itself): it takes it for constant, so %s; a new sweep models it as it is, or give "
                    "it in larger units (J rather than kWh, or scaled by 1e9).",
                    objective.name,
                    float(np.std(numbers[objective.name], ddof=1)),
                    len(completed),
                    _MIN_MODEL_STD,
                    "the search follows the other objectives" if several else "its proposals are as good as random",
                )
                continue
            log.warning(
                "ecopt: objective %r is %s in all %d completed trials: the model learns nothing from it, so %s; "
                "widen the search space, or use a finer metric (a loss rather than an accuracy, or more evaluation "
                "samples); where it cannot vary over this space (one set of weights over inference settings), it "
                "may as well be left out of the objectives.",
                objective.name,
                format_number(numbers[objective.name][0], 6),  # constant: every completed trial's value
                len(completed),
                "the search follows the other objectives" if several else "its proposals are as good as random",
            )
        if floored:
            self._say_tiny_constrained_metrics(completed)

    def _models_tiny_outcomes(self) -> bool:
        """Whether this sweep's strategy standardises outcomes of any magnitude (not one saved before it did)."""
        from lightning_ecopt.sweeper.standardize import models_tiny_outcomes

        return self._client is None or models_tiny_outcomes(self._client._maybe_generation_strategy)

    def _say_tiny_constrained_metrics(self, completed: Sequence[TrialRecord]) -> None:
        """Warn once a sweep of each constrained metric (not an objective) that varies by less than the model scales.

        Only for a strategy saved before :func:`~lightning_ecopt.sweeper.standardize.configure_scale_free`: the model
        of a metric whose standard deviation is below ``_MIN_MODEL_STD`` (energy in kWh, at 1e-9) takes it for
        constant, as it does an objective's, so its proposals do not keep to the bound: in a 20-trial sweep with
        ``e <= 6e-10``, 16 of 16 model proposals broke it (1 with the strategy built now, as with ``e`` in units of
        1e-9).
        """
        objectives = set(self.settings.objective_names)
        bounds: dict[str, list[str]] = {}
        for constraint in self.settings.outcome_constraints:
            if constraint.metric not in objectives:
                bounds.setdefault(constraint.metric, []).append(str(constraint))
        for metric, texts in bounds.items():
            key = f"constraint:{metric}"
            values = [r.metrics[metric] for r in completed if metric in r.metrics]
            if key in self._said_constant or len(set(values)) < 2:
                continue
            std = float(np.std(values, ddof=1))
            if std >= _MIN_MODEL_STD:
                continue
            self._said_constant.add(key)
            log.warning(
                "ecopt: metric %r of the outcome constraint%s %s varies by a standard deviation of %g over %d "
                "completed trials, below the %g that the model of this sweep's saved strategy standardises (saved "
                "before ecopt standardised such outcomes itself): it takes it for constant, so its proposals do not "
                "keep to the bound; a new sweep models it as it is, or give it in larger units (J rather than kWh, "
                "or scaled by 1e9), its bounds in the same.",
                metric,
                "s" if len(texts) > 1 else "",
                ", ".join(repr(t) for t in texts),
                std,
                len(values),
                _MIN_MODEL_STD,
            )

    def _prepare_acquisition(self) -> None:
        """Before BoTorch's first qLogNEHVI proposal: its fused kernel, built safely (:mod:`.fused_kernel`).

        Not timed as a suggestion: it is a one-off cost of the environment, logged with its duration.
        """
        if self.settings.acquisition != "qLogNEHVI" or len(self.settings.objectives) < 2:
            return
        if self._n_completed() < self._n_initial:
            return  # Sobol proposes
        from lightning_ecopt.sweeper.fused_kernel import prepare_log_hypervolume_kernel

        prepare_log_hypervolume_kernel()

    def _due_first(self) -> list[dict[str, Any]]:
        """What runs before Ax proposes: interrupted configurations, failed ones to retry, enqueued ones, each once.

        Interrupted and failed ones (with ``retry_failed``) on resume. Only configurations that no finished trial has
        evaluated are due (for one to retry: none since its failure), in that order.

        An interrupted trial is recorded ``abandoned``, not finished, so a resumed sweep runs it again, in the Sobol
        phase too: Ax's Sobol sequence moves on past the points it generated, so without this the resumed sweep
        would skip the one cut short and differ from an uninterrupted run.
        """
        latest = {config_key(r.params): i for i, r in sorted(self._records.items()) if r.finished}
        retries = [self._records[i].params for i in self._retry.values()]
        due: dict[str, dict[str, Any]] = {}
        for params in (*self._cut_short, *retries, *self._enqueued):
            key = config_key(params)
            if latest.get(key, -1) <= self._retry.get(key, -1):
                due.setdefault(key, params)
        return list(due.values())

    def _user_params(self, ax_params: Mapping[str, Any]) -> dict[str, Any]:
        """Ax's values with the search space's original types (mixed-type choices are strings in Ax)."""
        out: dict[str, Any] = {}
        for parameter in self.space.parameters:
            if parameter.name not in ax_params:
                continue
            value = scalar(ax_params[parameter.name])
            out[parameter.name] = parameter.lookup(value) if isinstance(parameter, ChoiceParameter) else value
        return out

    def _run_batch(self, client: Client, proposals: Mapping[int, Mapping[str, Any]]) -> None:
        """Evaluate the new configurations of a batch, answer repeats from the record, and tell Ax.

        A repeat is answered from its configuration's latest trial that ran (a retried failure's retry, not the
        failure, in later runs too); a configuration to retry (``retry_failed``) is not answered from its failure.
        """
        earlier: dict[str, int] = {}
        for r in sorted(self._records.values(), key=lambda r: r.trial_index):
            key = config_key(r.params)
            if r.finished and r.reused_from is None and r.trial_index > self._retry.get(key, -1):
                earlier[key] = r.trial_index
        params = {i: self._user_params(p) for i, p in proposals.items()}
        to_run: list[int] = []
        reuse: dict[int, int] = {}
        first_in_batch: dict[str, int] = {}
        for i in sorted(params):
            key = config_key(params[i])
            if key in earlier:
                reuse[i] = earlier[key]
            elif key in first_in_batch:
                reuse[i] = first_in_batch[key]
            else:
                first_in_batch[key] = i
                to_run.append(i)

        outputs: Sequence[Any] = []
        if to_run:
            self.evaluating = tuple(to_run)
            self.ran_alone = set()
            self.finished_before_stop = {}
            self.not_started_before_stop = set()
            started = time.perf_counter()
            try:
                outputs = self.evaluate([dict(params[i]) for i in to_run])
                self._batch_s = time.perf_counter() - started
            except (KeyboardInterrupt, LauncherError):
                self._tell_finished_before_stop(client, to_run, params, reuse)
                raise
            except SystemExit as exc:
                # evaluate_each and the Hydra sweeper turn a task's sys.exit() into its trial's failure; from a
                # batch evaluator of one trial it is that trial's too. With several, which one exited is unknown:
                # stop and save as for Ctrl-C (the batch reruns on resume), failing none of them for it.
                if is_interrupt(exc):
                    self._tell_finished_before_stop(client, to_run, params, reuse)
                if is_interrupt(exc) or len(to_run) > 1:
                    raise
                failure = exit_as_failure(exc)
                log.warning("ecopt: %s.", failure)
                outputs = [failure]
            except TypeError as exc:  # most often a per-trial function given as the batch evaluator
                exc.add_note(_PER_TRIAL_HINT)
                raise
            except BaseException as exc:
                # Another stop that is no Exception (Streamlit's StopException, gevent's GreenletExit, anyio or trio
                # cancellation): the trials that had finished are kept, as at a Ctrl-C.
                if not isinstance(exc, Exception):
                    self._tell_finished_before_stop(client, to_run, params, reuse)
                raise
            finally:
                self.evaluating = ()
            if isinstance(outputs, str | bytes) or not isinstance(outputs, Sequence) or len(outputs) != len(to_run):
                got = (
                    spelling.counted(len(outputs), "result")
                    if isinstance(outputs, Sequence)
                    else f"{type(outputs).__name__} results"
                )
                hint = f" {_PER_TRIAL_HINT}" if isinstance(outputs, Mapping) else ""
                raise RuntimeError(
                    f"ParetoSweep: evaluate() returned {got} for a batch of {spelling.trials(len(to_run))}; it must "
                    f"return a list with one item per parameter dict, in order (the result, or the exception).{hint}"
                )
        self._unsaved_step = "recording the batch's results"
        self._batch_indices = tuple(sorted(params))
        for i, output in zip(to_run, outputs, strict=True):
            self._tell(client, i, params[i], output)
        if self.settings.parallel_trials and len(to_run) > 1:
            self._tag_shared_counters(client, [i for i in to_run if i not in self.ran_alone])
        for i in sorted(reuse):
            self._tell_reused(client, i, params[i], self._records[reuse[i]])

    def _tell_finished_before_stop(
        self, client: Client, to_run: Sequence[int], params: Mapping[int, dict[str, Any]], reuse: Mapping[int, int]
    ) -> None:
        """Record the trials of a stopped batch that finished before the stop (:attr:`finished_before_stop`).

        And the batch's repeated configurations whose source has finished (an earlier trial, or one just recorded):
        left running, they would be saved as stopped and never asked again (the configuration is done). The rest of
        the batch stays running, to be saved as stopped and asked again on resume. Best effort: a second Ctrl-C, or
        an outcome that cannot be told, leaves a trial running, as before.
        """
        finished = [i for i in to_run if i in self.finished_before_stop]
        try:
            for i in finished:
                self._tell(client, i, params[i], self.finished_before_stop[i])
            if self.settings.parallel_trials and len(to_run) > 1:
                self._tag_shared_counters(client, [i for i in finished if i not in self.ran_alone])
            for i in sorted(reuse):
                source = self._records.get(reuse[i])
                if source is not None and source.finished:
                    self._tell_reused(client, i, params[i], source)
        except BaseException:
            log.warning("ecopt: the trials that finished before the stop could not all be recorded.", exc_info=True)
            return
        if finished:
            log.warning("ecopt: trials %s of the stopped batch had finished: kept, not run again on resume.", finished)

    def _tag_shared_counters(self, client: Client, indices: Sequence[int]) -> None:
        """Tag the measured trials of a batch that ran side by side: their counters saw each other's work."""
        for i in indices:
            record = self._records[i]
            if record.energy_source is not None and source_kind(record.energy_source) == "measured":
                record = dataclasses.replace(record, shared_counters=True)
                _experiment(client).trials[i].update_run_metadata({_METADATA_KEY: _record_metadata(record)})
                self._records[i] = record

    def _tell(self, client: Client, index: int, params: dict[str, Any], output: Any) -> None:
        """Record one evaluated trial in Ax: completed with its metrics, or failed with the reason."""
        try:
            if isinstance(output, BaseException):
                self._log_traceback(index, output)
                raise TrialFailure(_failure_reason(output))
            metrics = parse_task_result(output, self.settings.objectives, self.settings.constrained_metrics)
        except TrialFailure as exc:
            known, untracked = _known_metrics(output)
            energy = known.pop(ENERGY_SOURCE_KEY, None)
            # Kept in the failed trial's record ("metric 'f1' is nan (not finite)"), or left out of it as a completed
            # trial's record leaves them out ("metric 'f1': the sem must be ..."); said unless the reason says it.
            unsaid = {k: v for k, v in known.items() if not math.isfinite(v) and repr(k) not in str(exc)}
            self._say_not_finite(index, unsaid)
            self._say_untracked(index, {k: why for k, why in untracked.items() if why not in str(exc)})
            self._fail(client, index, params, str(exc), energy if isinstance(energy, str) else None, None, known)
            completed = [r for r in self._records.values() if r.status == "completed"]
            if isinstance(exc, MissingMetric) and exc.close is not None and self._misnamed is None:
                seen = any(exc.metric in r.metrics for r in completed)
                if not seen:  # a name no trial returned, beside one it did: misspelt, and so for every trial
                    self._misnamed = (index, exc)
            elif self._broken is None and _breaks_contract(exc, output, completed):
                self._broken = (index, exc)
            return
        self._say_not_finite(index, metrics.not_finite)
        self._say_untracked(index, metrics.untracked)
        refusal = self._energy_refusal(metrics.energy_source, has_energy_figures(metrics.values))
        if refusal is not None:
            # It ran to the end: what it measured stays with it (its energy is spent, and counts in the ledger).
            measured = {name: mean for name, (mean, _) in metrics.values.items()} | metrics.not_finite
            self._fail(client, index, params, refusal, metrics.energy_source, None, measured)
            self._energy_refused.add(index)
            return
        if metrics.energy_source is None and has_energy_figures(metrics.values) and not self._said_unlabelled:
            self._said_unlabelled = True
            refused = (
                ""
                if self.settings.allow_mixed_energy_sources
                else " Trials that return it after this one will be refused beside these: start a new sweep (another "
                "hydra.sweep.dir, or storage) once the task returns it."
            )
            log.warning(
                "ecopt: trial %d returned energy figures without an energy/source label, so nobody can tell measured "
                "joules from estimated ones (every view calls them 'unlabelled'): trainer.callback_metrics and "
                "trainer.test()'s dicts do not carry the label; return lightning_ecopt.trial_metrics(trainer).%s",
                index,
                refused,
            )
        self._complete(client, index, params, metrics, None)

    def _say_untracked(self, index: int, reasons: Mapping[str, str]) -> None:
        """Say that trial ``index`` returned metrics as ``(mean, sem)`` pairs whose sem is not one: not tracked.

        A warning the first time a metric is so in this sweep, later trials' at DEBUG level.
        """
        if not reasons:
            return
        first = _new_to(self._said_untracked, reasons)
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "ecopt: trial %d returned %s: not tracked (left out of its record and of Ax's data). Return a number, or "
            "a (mean, sem) pair whose sem is a finite number >= 0%s",
            index,
            "; ".join(reasons.values()),
            " (later trials' values of these metrics are logged at DEBUG level)." if first else ".",
        )

    def _say_not_finite(self, index: int, values: Mapping[str, float]) -> None:
        """Say that trial ``index`` returned metrics that are NaN or infinite, and where they are kept.

        A warning the first time a metric is so in this sweep, later trials' at DEBUG level (a validation loss that
        is NaN in every trial would fill the log); the values are in each trial's record all the same.
        """
        if not values:
            return
        first = _new_to(self._said_not_finite, values)
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "ecopt: trial %d returned %s, not finite: kept in its record (optimization_results.yaml, ecopt report, "
            "whose ledger counts an energy figure so as unknown), left out of Ax's data and TensorBoard's views, which "
            "take finite numbers only; an objective or constrained metric so fails its trial. Fix where the task "
            "computes %s%s",
            index,
            ", ".join(f"{name!r} = {value}" for name, value in values.items()),
            "them if they should be numbers" if len(values) > 1 else "it if it should be a number",
            " (later trials' non-finite values of these metrics are logged at DEBUG level)." if first else ".",
        )

    def _log_traceback(self, index: int, error: BaseException) -> None:
        """Log where a task's exception was raised: the first of each type as a warning, later ones at DEBUG.

        The trial's reason keeps the exception's type and message only; without this the file and line (a
        ``KeyError`` deep in a training loop) would be lost. A ``TrialFailure`` is the task's own verdict: logged
        only as the exception it was raised from, if any. An exception carried back from another process (joblib,
        submitit) has lost its traceback: not logged.
        """
        if type(error) is TrialFailure:
            # The task's own verdict; one raised from an exception (a task that wraps whatever failed, to keep the
            # energy it spent) has that exception's traceback: the line a user needs.
            cause = error.__cause__
            if not isinstance(cause, Exception) or isinstance(cause, TrialFailure):
                return
            error = cause
        if error.__traceback__ is None:
            return
        first = _new_to(self._traceback_types, [type(error)])
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "ecopt: trial %d raised %s%s",
            index,
            type(error).__name__,
            " (later ones of this type are logged at DEBUG level):" if first else ":",
            exc_info=error,
        )

    def _tell_reused(self, client: Client, index: int, params: dict[str, Any], source: TrialRecord) -> None:
        """Answer a repeated configuration with the stored result of trial ``source``."""
        if source.status == "completed":
            values = {
                name: (mean, source.sems.get(name)) for name, mean in source.metrics.items() if math.isfinite(mean)
            }
            not_finite = {name: mean for name, mean in source.metrics.items() if not math.isfinite(mean)}
            metrics = TrialMetrics(values=values, energy_source=source.energy_source, not_finite=not_finite)
            # Its figures are the source's: measured beside other trials if the source's were.
            self._complete(client, index, params, metrics, source.trial_index, source.shared_counters)
        else:
            reason = f"same configuration as failed trial {source.trial_index} (not run again): {source.reason}"
            self._fail(client, index, params, reason, source.energy_source, source.trial_index)

    def _complete(
        self,
        client: Client,
        index: int,
        params: dict[str, Any],
        metrics: TrialMetrics,
        reused_from: int | None,
        shared_counters: bool = False,
    ) -> None:
        record = TrialRecord(
            trial_index=index,
            params=params,
            status="completed",
            # The task's NaN and infinite extras too (never given to Ax): a NaN energy figure is a documented reading.
            metrics={name: mean for name, (mean, _) in metrics.values.items()} | metrics.not_finite,
            sems={name: sem for name, (_, sem) in metrics.values.items() if sem is not None},
            energy_source=metrics.energy_source,
            reused_from=reused_from,
            shared_counters=shared_counters,
        )
        _experiment(client).trials[index].update_run_metadata({_METADATA_KEY: _record_metadata(record)})
        client.complete_trial(index, raw_data=cast(Any, metrics.to_ax_raw_data()))
        self._records[index] = record

    def _fail(
        self,
        client: Client,
        index: int,
        params: dict[str, Any],
        reason: str,
        energy_source: str | None,
        reused_from: int | None,
        metrics: Mapping[str, Any] | None = None,
    ) -> None:
        record = TrialRecord(
            trial_index=index,
            params=params,
            status="failed",
            # What the trial measured before failing (its energy, for the ledger); never given to Ax.
            metrics={k: float(v) for k, v in (metrics or {}).items()},
            reason=reason,
            energy_source=energy_source,
            reused_from=reused_from,
        )
        trial = _experiment(client).trials[index]
        trial.update_run_metadata({_METADATA_KEY: _record_metadata(record)})
        if _FAILED_AS_PENDING:
            # Ax re-proposes FAILED arms (its deduplication skips them, its model never sees them) and treats
            # ABANDONED ones as pending, never to be suggested again. A FAILED one was proposed again and again, each
            # time spending a trial on the stored failure: 20 of 30 trials in a 48-configuration space whose best
            # corner fails, and in continuous spaces too, where the acquisition's optimum sits on a bound (6 of 12
            # trials at lr = 1.0, the top of a log interval where training diverged). The record keeps "failed"
            # (run metadata).
            trial.mark_abandoned(reason=reason)
        else:
            client.mark_trial_failed(index, failed_reason=reason)
        self._records[index] = record
        if reused_from is None:
            log.warning("ecopt: trial %d %s failed: %s", index, params, reason)

    def _energy_refusal(self, source: str | None, has_energy: bool) -> str | None:
        """The reason to refuse a trial whose energy figures are of another kind than the sweep's, else ``None``.

        Figures without a label are of no known kind: they never share a frontier with labelled ones (the views
        would show them under the labelled trials' kind), in either order. A sweep that labels none is one kind.
        """
        if self.settings.allow_mixed_energy_sources or (source is None and not has_energy):
            return None
        like_nodes = (  # a cluster whose nodes differ: what to do besides mixing
            "; where nodes measure otherwise (a GPU or readable CPU counters on some nodes only), run every trial on "
            "like nodes (pin the launcher to them) or estimate on all (EnergyCallback(meter='estimate'))"
        )
        for record in sorted(self._records.values(), key=lambda r: r.trial_index):
            if record.status != "completed" or record.reused_from is not None:
                continue
            if record.energy_source is None and has_energy_figures(record.metrics) and source is not None:
                return (
                    f"energy source {source!r} is not comparable with the figures of trial {record.trial_index}, "
                    f"which returned energy figures without an energy/source label (of no known kind); label every "
                    f"trial's figures ('measured: ...' or 'estimated: ...', as trial_metrics does): the finished "
                    f"trials cannot be labelled now, so start a new sweep (another hydra.sweep.dir, or storage), or "
                    f"set {_allow_mixed()} to accept both"
                )
            if record.energy_source is not None and source is None:
                return (
                    f"this trial returned energy figures without an energy/source label (of no known kind), beside "
                    f"{record.energy_source!r} figures (trial {record.trial_index}, the first of this sweep); label "
                    f"them ('measured: ...' or 'estimated: ...', as trial_metrics does), or set "
                    f"{_allow_mixed()} to accept both"
                )
            if record.energy_source is not None and source is not None:
                if source_kind(record.energy_source) != source_kind(source):
                    return (
                        f"energy source {source!r} is not comparable with {record.energy_source!r} (trial "
                        f"{record.trial_index}, the first of this sweep): {source_kind(source)!r} and "
                        f"{source_kind(record.energy_source)!r} figures must not share one frontier; measure every "
                        f"trial the same way{like_nodes}, or set {_allow_mixed()} to accept both"
                    )
                ours, first = zeus_counters(source), zeus_counters(record.energy_source)
                # The notes for a sweep started by an older lightning_ecopt: only where its first trial ran in an
                # earlier run. One of this run was labelled as this version labels: beside it the note is noise, and
                # on a cluster whose nodes differ (RAPL's DRAM zone on some only) it sent users to allow mixing.
                earlier = record.trial_index in self._judged_from
                if ours is not None and first is not None and ours != first:
                    # Both measured by Zeus, over other parts of the machine (a node whose NVML failed: RAPL only):
                    # the one that counts less would win a "minimise joules" objective for what it left out.
                    upgraded = (
                        " (lightning_ecopt before 2026-12-04 did not name RAPL's DRAM zone: on the same node, a sweep "
                        f"started then measured it too, and {_allow_mixed()} resumes it as it was)"
                        if earlier
                        and ours.replace("+dram", "") == first.replace("+dram", "")
                        and "rapl" in ours.split("+")
                        else ""
                    )
                    return (
                        f"energy source {source!r} counts other parts of the machine than {record.energy_source!r} "
                        f"(trial {record.trial_index}, the first of this sweep): their joules are not comparable; "
                        f"measure every trial with the same counters (see the warning the trial's EnergyCallback "
                        f"gave about the counters it could not read){like_nodes}, or set {_allow_mixed()} to "
                        f"accept both{upgraded}"
                    )
                if (
                    source_kind(source) == "measured"
                    and (ours is None or first is None)
                    and _label_key(source) != _label_key(record.energy_source)
                ):
                    # Two meters (a node's BMC beside Zeus's GPU and CPU counters, or two tools of the user's): each
                    # counts its own parts of the machine at its own point (at the wall, on the board), so the one
                    # that counts less would win a "minimise joules" objective, as over other Zeus counters.
                    return (
                        f"energy source {source!r} is another meter than {record.energy_source!r} (trial "
                        f"{record.trial_index}, the first of this sweep): the joules of two meters are not "
                        f"comparable (they count other parts of the machine, at other points); measure every trial "
                        f"with the same meter{like_nodes}, or set {_allow_mixed()} to accept both"
                    )
                if source_kind(source) == "estimated" and _label_key(source) != _label_key(record.energy_source):
                    # Two models of energy (a user's meter beside the CPU-time fallback): their joules are not
                    # comparable, and the one whose model charges less would win a "minimise joules" objective.
                    return (
                        f"energy source {source!r} is another model than {record.energy_source!r} (trial "
                        f"{record.trial_index}, the first of this sweep): the estimates of two models are not "
                        f"comparable; estimate every trial with the same model, or set "
                        f"{_allow_mixed()} to accept both"
                        + (_estimate_upgraded(source, record.energy_source) if earlier else "")
                    )
                return None
        return None

    def _first_energy_source(self) -> str | None:
        """The energy source of the sweep's first completed trial that ran: the kind every other trial must match."""
        for record in sorted(self._records.values(), key=lambda r: r.trial_index):
            if record.status == "completed" and record.reused_from is None:
                return record.energy_source
        return None

    def _failure_report(self, result: SweepResult) -> tuple[str, str] | None:
        """``(stop reason, message)`` when more of this run's trials failed than ``max_failure_rate`` allows.

        Judged over the trials evaluated since this run started (``_judged_from``: a resumed sweep does not count
        the failures of the run before), and over at least ``_MIN_TRIALS_JUDGED`` of them or what is left to run.
        A failure every trial would repeat (a misspelt metric name, a broken contract: :func:`_breaks_contract`)
        stops the sweep at the first, whatever the rate.
        """
        where = f"; results saved in {result.results_path}" if result.results_path else ""
        # Judged per trial as the batch was told, in order: a later trial of the same batch that completed (with the
        # metric) shows that the task keeps its contract, and the failure was that trial's own.
        completed = [t for t in result.trials if t.status == "completed"]
        if self._misnamed is not None and any(self._misnamed[1].metric in t.metrics for t in completed):
            self._misnamed = None
        if self._broken is not None and completed:
            self._broken = None
        if self._misnamed is not None:
            index, missing = self._misnamed
            reason = f"trial {index} returned no {missing.metric!r} (did you mean {missing.close!r}?), and no trial has"
            return reason, (
                f"ParetoSweep: {reason}{where}. A misspelt objective or outcome constraint fails every trial, so the "
                f"sweep stops at the first: fix its name in the objectives or outcome_constraints "
                f"({spelling.setting('objectives', 'outcome_constraints')}), or the task's metric, and rerun (a "
                f"renamed objective makes another sweep: give a new sweep dir, or storage).\n"
                f"  trial {index}: {missing}"
            )
        then, again = self._how_to_go_on(result)
        if self._broken is not None:
            index, failure = self._broken
            reason = (
                f"trial {index} failed for what the task returns, not for its configuration: "
                "every trial would fail alike"
            )
            params = self._records[index].params
            return reason, (
                f"ParetoSweep: {reason}{where}. The sweep stops at the first such trial instead of failing the rest "
                f"(a higher max_failure_rate would only fail more): fix what the task returns (below); {then}; "
                f"{again}.\n  trial {index} {params}: {failure}"
            )
        evaluated = [
            t for t in result.trials if t.finished and t.reused_from is None and t.trial_index not in self._judged_from
        ]
        failed = [t for t in evaluated if t.status == "failed"]
        rate = self.settings.max_failure_rate
        left = self.settings.n_trials - len(self._judged_from)
        judged = max(len(evaluated), min(_MIN_TRIALS_JUDGED, left))
        if not failed or len(failed) <= rate * judged:
            return None
        # A resumed sweep's earlier trials are not judged: say so, or "2 of 2" reads wrong beside "6 of 10 trials".
        n = spelling.trials(len(evaluated))
        of = f"the {n} this run evaluated" if self._judged_from else n
        reason = f"{len(failed)} of {of} failed, more than max_failure_rate={rate:g} allows"
        lines = "\n".join(f"  trial {t.trial_index} {t.params}: {t.reason}" for t in failed)
        fix = "Fix the task (reasons below) or raise max_failure_rate"
        if all(t.reason and t.reason.startswith(_MISSING_PREFIXES) for t in failed):
            # Every one lacked a metric: a higher rate would fail each trial to come the same way.
            fix = "Return the metrics the objectives and constraints name, or rename them (reasons below)"
        elif all(t.reason and _BOOL_METRIC_REASON in t.reason for t in failed):
            # Every one returned a bool where a number belongs (a resume, where earlier trials completed: not stopped
            # at its first trial as a broken contract): a higher rate would fail each trial to come the same way.
            fix = "Return the metrics' numbers, not bools (reasons below)"
        elif all(t.trial_index in self._energy_refused for t in failed):
            # The task is not broken: its trials ran where energy is measured otherwise than the sweep's first trial
            # (a resume on a host without its counters, a cluster whose nodes differ). A higher rate refuses more.
            first = self._first_energy_source()
            fix = (
                f"Every failed trial ran to the end and was refused for its energy source, beside the sweep's "
                f"{first!r} figures (reasons below): not the task's fault, so a higher max_failure_rate would only "
                f"spend more trials. Run the trials where energy is measured as {first!r} (the nodes the sweep "
                f"started on), start a new sweep (another hydra.sweep.dir, or storage) with the energy every node "
                f"gives (the estimate everywhere: EnergyCallback(meter='estimate')), or set {_allow_mixed()} to "
                "accept both"
            )
        message = f"ParetoSweep: {reason}{where}. {fix}; {then}; {again}.\n{lines}"
        return reason, message

    def _how_to_go_on(self, result: SweepResult) -> tuple[str, str]:
        """What a failure stop's message says to do next: how to resume, and whether failed configurations run again."""
        # A stored sweep resumes in a new process; from Python without storage, only on this object. Where the budget is
        # spent (every trial failed: nothing to show for it, so an error all the same), a rerun has nothing to run.
        if result.n_finished >= self.settings.n_trials:
            then = "the budget is spent: raise n_trials (or start a new sweep dir) to run more"
        elif result.storage:
            then = spelling.rerun_to_resume()
        else:
            then = "call run() again on this sweep to resume (kept in memory only: no storage)"
        if self.settings.retry_failed:
            again = "the failed configurations are evaluated again first (retry_failed)"
        elif result.storage:
            again = (
                "the failed configurations are not evaluated again unless retry_failed is set "
                f"({spelling.setting('retry_failed=' + spelling.shown(True))})"
            )
        else:
            again = (
                "the failed configurations are not evaluated again unless retry_failed is set "
                "(sweep.settings = dataclasses.replace(sweep.settings, retry_failed=True))"
            )
        return then, again

    # -- reference point --------------------------------------------------------------------------------------------

    def _given_reference(self) -> dict[str, float]:
        """The reference point values the settings give: ``reference_point`` and constraints on objectives.

        On a resume, values the sweep was started with and this run gives none for are kept (see :meth:`_resume`).
        """
        given = {**self._kept_given, **dict(self.settings.reference_point or {})}
        names = set(self.settings.objective_names)
        for constraint in self.settings.outcome_constraints:
            if constraint.metric in names:
                given[constraint.metric] = float(constraint.bound)
        return given

    def _given_sources(self) -> str:
        """Where each given reference value comes from: ``"f1 (reference_point), acc (constraint 'acc >= 0.9')"``."""
        constraints = {c.metric: c for c in self.settings.outcome_constraints}
        sources = []
        for name in sorted(self._given_reference()):
            if name in constraints:  # as in _given_reference: a constraint on an objective overrides reference_point
                sources.append(f"{name} (the constraint '{constraints[name]}')")
            elif name in (self.settings.reference_point or {}):
                sources.append(f"{name} (reference_point)")
            else:
                sources.append(f"{name} (given when the sweep started)")
        return ", ".join(sources)

    def _check_given_reference(self) -> None:
        """Warn once per objective whose given reference value no completed trial beats, after the Sobol trials.

        A value on the wrong side of every result (``test/acc: 2.0``, a direction mixed up) leaves every trial
        outside the reference box: the hypervolume stays 0 and qNEHVI has nothing to improve on, for the whole
        sweep, and only the progress line's "outside the reference box" said so. Judged per objective, so a tight
        but reachable point (few trials inside the box in every objective at once) does not warn.
        """
        if len(self.settings.objectives) == 1 or sum(r.finished for r in self._records.values()) < self._n_initial:
            return  # one objective has no reference point: a bound on it no trial meets is only infeasibility
        records, Y = self._front_data(feasible_only=False)
        if len(records) < _MIN_REFERENCE_TRIALS:
            return
        given = self._given_reference()
        for k, objective in enumerate(self.settings.objectives):
            value = given.get(objective.name)
            if value is None or objective.name in self._warned_reference:
                continue
            column = Y[:, k]
            best = float(column.min() if objective.minimize else column.max())
            if (best < value) if objective.minimize else (best > value):
                continue
            self._warned_reference.add(objective.name)
            side = "above" if objective.minimize else "below"
            log.warning(
                "ecopt: the given reference value %s=%s (%s: the worst acceptable value) is beaten by none of the %d "
                "completed trials (best %s): no trial counts toward the hypervolume, so %s has nothing to "
                "improve on. Give a value %s what the trials reach (reference_point, or the objective's outcome "
                "constraint), or leave it out to infer it.",
                objective.name,
                format_number(value, 6),
                objective.direction,
                len(records),
                format_number(best, 6),
                self.settings.acquisition,
                side,
            )

    def _check_constraints_met(self, *, final: bool = False) -> None:
        """Warn once when no completed trial meets the outcome constraints, after the Sobol trials (or at the end).

        The frontier is then empty and the hypervolume 0, and the sweep said only that: a bound on an objective
        that no trial beats is warned about (:meth:`_check_given_reference`), a bound on another metric
        (``model.size <= 1``) was not. Each constraint is named with the completed trials that meet it and the best
        value they reached, so the one to loosen shows.

        Args:
            final: The sweep is over: judge even before the Sobol trials are done (a budget shorter than them).
        """
        constraints = self.settings.outcome_constraints
        if not constraints or self._warned_infeasible or (not final and self._n_finished() < self._n_initial):
            return
        ran = front_candidates(sorted(self._records.values(), key=lambda r: r.trial_index))
        if not ran or any(meets(r, constraints) for r in ran):
            return
        unmet, clauses = [], []
        for constraint in constraints:
            meeting = sum(constraint.met_by(r.metrics) for r in ran)
            values = [v for r in ran if (v := r.metrics.get(constraint.metric)) is not None and math.isfinite(v)]
            best = (min(values) if constraint.op == "<=" else max(values)) if values else None
            reached = "none returned it" if best is None else f"best {format_number(best, 6)}"
            clauses.append(f"'{constraint}' ({meeting} of {len(ran)} meet it, {reached})")
            if not meeting:
                unmet.append(constraint.metric)
        # A bound on an objective that no trial meets alone was warned about already, with its own fix.
        if unmet and all(metric in self._warned_reference for metric in unmet):
            return
        self._warned_infeasible = True
        log.warning(
            "ecopt: no completed trial meets the outcome constraints: %s. The frontier stays empty and the "
            "hypervolume 0; loosen the constraint no trial meets, or change the search space.",
            ", ".join(clauses),
        )

    def _said_nothing_to_improve(self) -> bool:
        """Whether the sweep warned that qNEHVI has nothing to improve on, and it still holds.

        No completed trial meets the outcome constraints (:meth:`_check_constraints_met`), or none beats a given
        reference value (:meth:`_check_given_reference`), as warned: the acquisition is zero wherever the model
        expects no better, and BoTorch's note that it found no non-zero value says nothing more.
        """
        if not self._warned_infeasible and not self._warned_reference:
            return False
        records, Y = self._front_data()
        if not records:
            return True
        given = self._given_reference()
        for k, objective in enumerate(self.settings.objectives):
            value = given.get(objective.name)
            if objective.name not in self._warned_reference or value is None:
                continue
            column = Y[:, k]
            if not ((column < value) if objective.minimize else (column > value)).any():
                return True
        return False

    def _front_data(self, *, feasible_only: bool = True) -> tuple[list[TrialRecord], np.ndarray]:
        """Completed, evaluated, feasible trials (``feasible_only=False``: any) and their objective matrix."""
        objectives = self.settings.objectives
        # Every bound, those on objectives too: a bound on an objective is also its reference value (for the
        # hypervolume), and a trial that breaks it is infeasible, on no frontier, as Ax's own frontier leaves it out.
        outcome = list(self.settings.outcome_constraints) if feasible_only else []
        records = front_candidates(sorted(self._records.values(), key=lambda r: r.trial_index), outcome)
        Y = np.array([[r.metrics[o.name] for o in objectives] for r in records], dtype=float)
        return records, Y.reshape(len(records), len(objectives))

    def _maybe_infer_reference(self, client: Client, *, final: bool) -> None:
        """Infer the reference point once the Sobol trials finished (or at the end), and give it to Ax.

        With ``_REFERENCE_UPDATE = "widen"`` an inferred point is inferred again each time and widened to it. A
        single-objective sweep has none: Ax takes no threshold then, and a hypervolume of one objective means nothing.
        """
        if len(self.settings.objectives) == 1:
            return
        complete = self._reference is not None and set(self._reference) == set(self.settings.objective_names)
        settled = self._reference_origin == "given" or _REFERENCE_UPDATE == "once"
        if complete and settled and not self._reference_provisional:
            return
        # Once the Sobol phase is over: n_initial *completed* trials, as Ax counts them before BoTorch proposes (a
        # failed one lengthens the Sobol phase), so the point is inferred from the whole Sobol front, just in time.
        if self._n_completed() < self._n_initial and not final:
            return
        records, Y = self._front_data()
        feasible = len(records)
        # One completed trial is no front: a point inferred from it (its values pushed out by 10 % of themselves)
        # left later frontier trials outside the box for good. Wait for a second one (Ax infers its own meanwhile:
        # without outcome constraints it infers from every trial).
        if records and feasible < _MIN_REFERENCE_TRIALS and not final and not self.settings.outcome_constraints:
            return
        provisional = feasible < _MIN_REFERENCE_TRIALS and not (final and records)
        if provisional:
            # Fewer than two feasible trials (outcome constraints): Ax's inference keeps the trials its model
            # predicts feasible, none where there is none or the GP smoothed the one feasible value away, and BoTorch
            # then stopped the sweep ("Either ref_point or objective_thresholds must be provided"). Infer from every
            # completed trial, for now: that box is mostly the infeasible trials' and may hold none of the feasible
            # front once it comes (a hypervolume of 0 to the end), so it is inferred again from the feasible trials
            # once there are enough.
            if self._reference_provisional:
                return
            records, Y = self._front_data(feasible_only=False)
            if not records:
                return
        maximize = [not o.minimize for o in self.settings.objectives]
        inferred = _inferred_reference(np.asarray(Y, dtype=float), maximize, _REFERENCE_RULE)
        point = {o.name: float(v) for o, v in zip(self.settings.objectives, inferred, strict=True)}
        point.update(self._given_reference())
        previous = None if self._reference_provisional else self._reference  # a provisional point is replaced
        again = self._reference_provisional
        if previous is not None:  # widening: never tighter than before, in any objective
            for o in self.settings.objectives:
                pick = max if o.minimize else min
                point[o.name] = pick(point[o.name], previous[o.name])
            if point == previous:
                return
        self._reference_provisional = provisional
        self._set_reference(client, point, "inferred")
        given = self._given_sources()
        how = "widened" if previous is not None else "inferred again" if again else "inferred"
        log.info(
            "ecopt: reference point %s from the front of %d completed%s trials (nadir pushed out by %g of its "
            "range)%s%s: %s",
            how,
            len(records),
            " feasible" if again else "",
            REFERENCE_MARGIN,
            f", given for {given}" if given else "",
            (
                f"; {'none' if not feasible else f'only {feasible} of them'} meets the outcome constraints yet, so it "
                f"is inferred again once {_MIN_REFERENCE_TRIALS} do"
                if provisional
                else "; the first came from every trial, feasible or not"
                if again
                else ""
            ),
            _shown_point(point),
        )

    def _set_reference(self, client: Client, point: dict[str, float], origin: Literal["given", "inferred"]) -> None:
        self._reference, self._reference_origin = point, origin
        if len(self.settings.objectives) > 1:  # Ax takes thresholds only in multi-objective mode
            client.configure_optimization(
                objective=self.settings.ax_objective(),
                outcome_constraints=self.settings.ax_outcome_constraints(point),
            )
            _drop_fitted_adapters(client)
        self._describe(client)

    def _describe(self, client: Client) -> None:
        """Save the fingerprint, the reference point, its given values and the constraints with the experiment."""
        _write_description(
            client,
            self._stored_fingerprint(),
            self._reference,
            self._reference_origin,
            given=self._given_reference(),
            constraints=self._constraint_texts(),
            provisional=self._reference_provisional,
            runs=self._runs(),
        )

    def _constraint_texts(self) -> list[str]:
        return [c.exact() for c in self.settings.outcome_constraints]

    def _start_record(self, client: Client) -> None:
        """Begin this run's provenance record, once the experiment is open (a resume has kept its saved seed)."""
        self._first_trial = len(_experiment(client).trials)
        self._finished_before = self._n_finished()
        self._this_run = provenance.run_record(launcher=self.launcher, seed=self.settings.seed)

    def _runs(self) -> list[dict[str, Any]]:
        """The sweep's provenance records: the earlier runs', then this run's once it has finished a trial.

        This run's record is brought up to date first: the trials it proposed and finished, and the Sobol seed.
        """
        run = self._this_run
        if run is None or self._client is None:
            return [dict(r) for r in self._earlier_runs]
        last = len(_experiment(self._client).trials) - 1
        run["trials"] = [self._first_trial, last] if last >= self._first_trial else None
        run["finished"] = self._n_finished() - self._finished_before
        run["sobol_seed"] = _drawn_sobol_seed(self._client)
        if run["finished"] <= 0:  # nothing ran under it (a finished sweep rerun, a stop before the first result)
            return [dict(r) for r in self._earlier_runs]
        return [*(dict(r) for r in self._earlier_runs), dict(run)]

    # -- Ax client, storage and resume ------------------------------------------------------------------------------

    def _fingerprint(self) -> dict[str, Any]:
        return sweep_fingerprint(self.space, self.settings, self.task_config)

    def _stored_fingerprint(self) -> dict[str, Any]:
        """The fingerprint as saved: with the strategy's Sobol count and seed, which a resumed sweep keeps."""
        fingerprint = self._fingerprint()
        fingerprint["strategy"] = {
            **fingerprint["strategy"],
            "n_initial_trials": self._n_initial,
            "seed": self.settings.seed,
        }
        if fingerprint.get("task_config") is None and self._kept_task_config is not None:
            # A run without a task config (from Python) must not erase the one the sweep was started with: later
            # resumes with one are still checked against it.
            fingerprint["task_config"] = dict(self._kept_task_config)
        return fingerprint

    def _generation_strategy(self) -> GenerationStrategy:
        """Sobol for ``n_initial_trials`` trials, then BoTorch with the chosen acquisition function."""
        from ax.api.utils.generation_strategy_dispatch import choose_generation_strategy
        from ax.api.utils.structs import GenerationStrategyDispatchStruct

        acqf: type | None = None
        if len(self.settings.objectives) > 1:
            if self.settings.acquisition == "qLogNEHVI":
                from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement

                acqf = qLogNoisyExpectedHypervolumeImprovement
            elif self.settings.acquisition == "EHVI":
                from lightning_ecopt.sweeper.analytic import ObjectiveEHVI

                acqf = ObjectiveEHVI
            else:
                from botorch.acquisition.multi_objective.monte_carlo import qNoisyExpectedHypervolumeImprovement

                acqf = qNoisyExpectedHypervolumeImprovement
        from lightning_ecopt.sweeper.discrete import (
            configure_discrete,
            configure_nearest_untried,
            configure_screened,
            is_fully_discrete,
        )
        from lightning_ecopt.sweeper.standardize import configure_scale_free

        fully_discrete = is_fully_discrete(self.space.parameters)
        discrete = _DISCRETE_PROPOSALS and fully_discrete
        struct = GenerationStrategyDispatchStruct(
            method="fast",
            initialization_budget=self._n_initial,
            initialization_random_seed=_sobol_seed(self._proposal_seed()),
            initialize_with_center=_CENTER_FIRST and self._n_initial > 1,
        )
        strategy = choose_generation_strategy(struct=struct, botorch_acqf_class=acqf)
        gen_options: dict[str, Any] = {"optimizer_kwargs": dict(_ACQF_OPTIMIZER_KWARGS)}
        # q(Log)NEHVI's input constructors take mc_samples; single-objective qLogNEI's and analytic EHVI's do not.
        ehvi = acqf is not None and self.settings.acquisition == "EHVI"
        monte_carlo = acqf is not None and not ehvi
        if monte_carlo:
            gen_options["acquisition_function_kwargs"] = {"mc_samples": _ACQF_MC_SAMPLES}
        elif ehvi:
            gen_options["acquisition_function_kwargs"] = {"front": _EHVI_FRONT}
        one_hot = _one_hot(self.space.parameters) and not discrete
        # The acquisition settings were measured where Ax optimises the relaxation with ``optimize_acqf``: no integer
        # or ordered parameter (those send Ax to its mixed or discrete optimisers, which take other options).
        optimize_acqf_space = _relaxed(self.space.parameters)
        relaxed = one_hot and optimize_acqf_space
        maxiter = _ONE_HOT_EHVI_MAXITER if ehvi else _ONE_HOT_ACQF_MAXITER
        options: dict[str, Any] = {}
        if relaxed and maxiter is not None:
            options["maxiter"] = maxiter
        if _SAMPLE_AROUND_BEST is not None and monte_carlo and optimize_acqf_space:
            options |= {"sample_around_best": True, "sample_around_best_sigma": _SAMPLE_AROUND_BEST}
        if options:
            gen_options["optimizer_kwargs"]["options"] = options
        if relaxed and monte_carlo and not _ONE_HOT_PRUNE_BASELINE:
            gen_options["acquisition_function_kwargs"]["prune_baseline"] = False
        for node in strategy.nodes_by_name.values():
            for spec in node.generator_specs:
                if spec.generator_enum.name == "BOTORCH_MODULAR":
                    # Model only the objectives and constrained metrics: Ax also fits a GP to every tracking metric by
                    # default, and a Lightning task returns a dozen of them (each one multiplies the time per proposal).
                    spec.generator_kwargs["fit_tracking_metrics"] = False
                    # The TorchAdapter's defaults for every proposal; saved with the strategy, so a resumed sweep keeps
                    # them.
                    spec.generator_kwargs["default_model_gen_options"] = {k: dict(v) for k, v in gen_options.items()}
                    configure_wide_ints(spec.generator_kwargs, self.space.parameters)
                    if discrete:
                        configure_discrete(spec.generator_kwargs)
                        continue
                    if _FIT_MAXITER is not None and one_hot:
                        from lightning_ecopt.sweeper.capped_fit import configure_capped_fit

                        configure_capped_fit(spec.generator_kwargs, maxiter=_FIT_MAXITER, warm_start=_FIT_WARM_START)
                    # Where Ax may score every configuration (no float interval), q(Log)NEHVI scores a screened few.
                    screened = _SCREEN_ENUMERATED if monte_carlo and _all_discrete(self.space.parameters) else None
                    if _ROUND_UNTRIED and (fully_discrete or relaxed):
                        configure_nearest_untried(spec.generator_kwargs, max_scored=screened)
                    elif screened is not None:
                        configure_screened(spec.generator_kwargs, screened)
        # Last: configure_discrete writes the node's transforms anew.
        for node in strategy.nodes_by_name.values():
            for spec in node.generator_specs:
                if spec.generator_enum.name == "BOTORCH_MODULAR":
                    # Outcomes in any units (energy in kWh, ~1e-11): Ax's StandardizeY takes a metric whose standard
                    # deviation is below an absolute 1e-8 for constant; saved with the strategy.
                    configure_scale_free(spec.generator_kwargs)
        return strategy

    def _open(self) -> Client:
        """A new Ax client, or the one saved in ``storage`` (checked, running trials abandoned)."""
        from ax.api.client import Client

        register_with_ax()
        storage = self.settings.storage
        if storage is not None and Path(storage).exists():
            if self._memory is not None:
                log.warning(
                    "ecopt: %s holds a saved sweep: it is resumed, and the one this ParetoSweep kept in memory (its "
                    "runs without storage) is set aside; to go on with that one, give a storage file that does not "
                    "exist yet.",
                    storage,
                )
            client = Client.load_from_json_file(str(storage))
            self._client = client
            self._resume(client, Path(storage))
            return client
        if self._memory is not None:  # an earlier run of this sweep, without storage
            # Given a storage file since (sweep.settings = replace(..., storage=...)): the sweep goes on from what
            # memory holds, saved to the file from this run's first save on.
            client = _client_from_json(self._memory)
            self._client = client
            self._resume(client, Path(_IN_MEMORY))
            return client
        self._drawn_seed = None if self.settings.seed is not None else secrets.randbelow(2**32)
        client = Client(random_seed=self._proposal_seed())
        client.configure_experiment(parameters=self.space.to_ax(), name="ecopt")
        given = self._given_reference()
        client.configure_optimization(
            objective=self.settings.ax_objective(),
            outcome_constraints=self.settings.ax_outcome_constraints(
                given if len(self.settings.objectives) > 1 else {}
            ),
        )
        client.set_generation_strategy(self._generation_strategy())
        if given and set(given) == set(self.settings.objective_names) and len(self.settings.objectives) > 1:
            given = {name: given[name] for name in self.settings.objective_names}  # objective order, as printed
            self._reference, self._reference_origin = given, "given"
            log.info("ecopt: reference point given (%s): %s", self._given_sources(), _shown_point(given))
        self._describe(client)
        self._client = client  # only now: a run stopped while Ax was being configured leaves nothing to resume
        return client

    def _resume(self, client: Client, storage: Path) -> None:
        from ax.core.base_trial import TrialStatus

        stored = _read_description(client)
        saved_runs = stored.get("provenance")  # absent from sweeps saved before runs were recorded
        if isinstance(saved_runs, list):
            self._earlier_runs = [dict(r) for r in saved_runs if isinstance(r, Mapping)]
        else:  # their trials until now, so the report can say which ran unrecorded (provenance.runs_line)
            n_saved = len(_experiment(client).trials)
            unrecorded: dict[str, Any] = {"unrecorded": True, "trials": [0, n_saved - 1]}
            if self.unrecorded_launcher is not None:  # what the sweep's multirun.yaml named (the Hydra sweeper)
                unrecorded["launcher"] = dict(self.unrecorded_launcher)
            self._earlier_runs = [unrecorded] if n_saved else []
        # Saved by a version that recorded no clean stops (before 2026-12-03, whose description has no "strategy"):
        # a trial it left running may have been stopped by Ctrl-C. Taken as such, the worst is one more run of it;
        # taken as a crash, one real crash later failed the configuration for good, "as it did in trial n".
        stops_unrecorded = bool(stored) and "strategy" not in stored
        if "strategy" not in stored:  # saved before the strategy was recorded: read it from Ax's saved strategy
            stored["strategy"] = {"acquisition": _saved_acquisition(client)}
            # Its Sobol count too, which Ax keeps: the default's now, not that one, would be logged and saved.
            n_sobol = _strategy_sobol_count(read_saved(storage))
            if n_sobol is not None:
                stored["strategy"]["n_initial_trials"] = n_sobol
        if isinstance(stored.get("task_config"), Mapping):  # kept when this run gives none (a resume from Python)
            self._kept_task_config = dict(stored["task_config"])
        message = _mismatch_message(storage, stored, self._fingerprint())
        if message is not None:
            raise EcoptConfigError(message)
        experiment = _experiment(client)
        abandoned = []
        for index, trial in sorted(experiment.trials.items()):
            if trial.status in (TrialStatus.RUNNING, TrialStatus.CANDIDATE, TrialStatus.STAGED):
                # FAILED in Ax, not ABANDONED: Ax keeps an ABANDONED arm pending for good, so in a discrete space
                # the configuration the interruption cut short would never run, and anywhere its phantom would
                # steer the next proposals. A FAILED arm is unseen by the model; the record says "abandoned", and
                # the resumed sweep runs the configuration again before asking Ax for more (_due_first).
                clean = (
                    stops_unrecorded
                    or bool((trial.run_metadata or {}).get(_STOPPED_KEY))
                    or not self._ran_when_the_process_died(index)
                )
                meta: dict[str, Any] = {"status": "abandoned", "reason": _INTERRUPTED, "stopped_cleanly": clean}
                not_started = (trial.run_metadata or {}).get(_NOT_STARTED_KEY)
                if (trial.run_metadata or {}).get(_STOPPED_KEY) == _UNRECORDED_FLAG:
                    meta["reason"] = _UNRECORDED  # it ran to its end; a step of the sweep's own failed after
                if not_started:
                    reason = _NOT_REACHED if not_started == _NOT_REACHED_FLAG else _NOT_STARTED
                    meta |= {"reason": reason, "metrics": {k: [v, None] for k, v in NOTHING_RAN.items()}}
                trial.update_run_metadata({_METADATA_KEY: meta})
                # Not client.mark_trial_failed: Ax refuses it for a trial not yet RUNNING, and a stop that lands
                # inside get_next_trials (after the trial's creation, before its start) saves a CANDIDATE one.
                trial.mark_failed(reason=meta["reason"], unsafe=True)
                abandoned.append(index)
            self._records[index] = self._record_from_trial(index, trial)
        _restore_saved_means(experiment, self._records)
        self._keep_saved_sobol_count(stored, storage)
        self._keep_saved_seed(stored, storage)
        self._drawn_seed = None if self.settings.seed is not None else _saved_sobol_seed(client)
        # Saved before wide int intervals were modelled as floats, its first proposal ran out of memory.
        _relax_wide_ints(client, self.space)
        # Saved before 2026-12-04 in a space of two-valued choices only, its first proposal raised UnsupportedError.
        _drop_options_ax_refuses(client, self.space, storage)
        self._cut_short = []
        # Trials cut short by the process ending (not by a saved Ctrl-C), by configuration.
        crashed = {
            i
            for i, trial in experiment.trials.items()
            if self._records[i].status == "abandoned"
            and not ((trial.run_metadata or {}).get(_METADATA_KEY) or {}).get("stopped_cleanly", True)
        }
        earlier_cuts = {config_key(self._records[i].params): i for i in sorted(crashed - set(abandoned))}
        crashed_now = crashed & set(abandoned)
        # Which configuration of a batch ended the process is unknown: each that a crash cut short runs first again
        # alone, so that a second crash names its configuration and no healthy neighbour is blamed. One that crashed
        # alone too: beside a new proposal, its second crash could not name it.
        self._crash_suspects = {config_key(self._records[i].params) for i in crashed}
        n_failed_now = 0
        for index in abandoned:
            params = dict(self._records[index].params)
            alone = crashed_now == {index}
            earlier = earlier_cuts.get(config_key(params)) if alone else None
            if earlier is None:
                self._cut_short.append(params)
                continue
            n_failed_now += 1
            # The sweep's process ended twice while running this configuration (a crash, the OOM killer, a task that
            # exits): running it first again would end every rerun the same way. Failed, so the sweep goes on.
            reason = _ended_twice(earlier)
            trial = experiment.trials[index]
            trial.update_run_metadata({_METADATA_KEY: {"status": "failed", "reason": reason}})
            if _FAILED_AS_PENDING:  # as any failed trial: Ax proposes FAILED arms again (see _fail)
                trial.mark_abandoned(reason=reason, unsafe=True)
            self._records[index] = self._record_from_trial(index, trial)
            log.warning("ecopt: trial %d %s", index, reason)
        # And those cut short by an earlier stop and not run since (a rerun that was itself cut short before them:
        # suspects run alone, or a lower max_batch_size): first, in the order they were proposed. _due_first skips
        # any that has finished since.
        earlier = [
            dict(r.params) for i, r in sorted(self._records.items()) if r.status == "abandoned" and i not in abandoned
        ]
        self._cut_short = earlier + self._cut_short
        if self.settings.retry_failed:
            self._retry = self._failed_to_retry({i for i in abandoned if self._records[i].status == "failed"})
        self._compare_given(stored, storage)
        given = self._given_reference()
        several = len(self.settings.objectives) > 1  # one objective has no reference point (nor hypervolume)
        if several and given and set(given) == set(self.settings.objective_names):
            self._set_reference(client, given, "given")
        elif several and stored.get("reference_point") and stored.get("reference_origin") == "inferred":
            point = {str(k): float(v) for k, v in stored["reference_point"].items()}
            point.update(given)
            self._reference_provisional = stored.get("reference_provisional") is True
            self._set_reference(client, point, "inferred")
        else:  # constraints may have changed: apply the current ones
            client.configure_optimization(
                objective=self.settings.ax_objective(),
                outcome_constraints=self.settings.ax_outcome_constraints(
                    given if len(self.settings.objectives) > 1 else {}
                ),
            )
        if self.task_config is not None and not isinstance(stored.get("task_config"), Mapping):
            log.info(
                "ecopt: %s was saved without the task's config (by an earlier lightning_ecopt, or from Python without "
                "task_config), so changes to it since the sweep started cannot be checked; this run's config is saved "
                "with it, and later resumes are checked against it.",
                storage,
            )
            self._describe(client)
        if self._n_finished() > self.settings.n_trials:  # check_storage counted one less: a trial failed just now
            raise EcoptConfigError(_budget_message(self.settings.n_trials, storage, self._n_finished()))
        done = {config_key(r.params) for r in self._records.values() if r.finished}
        rerun = len({config_key(p) for p in self._cut_short} - done)  # as _due_first counts them
        on = "it" if n_failed_now == 1 else "them"  # one at most: a configuration fails so only where it crashed alone
        died = f", {n_failed_now} failed: the process died on {on} twice" if n_failed_now else ""
        interrupted = (
            f", {spelling.counted(len(abandoned), 'interrupted trial')} abandoned {abandoned} "
            f"({rerun} to run again first{died})"
            if abandoned or rerun or n_failed_now
            else ""
        )
        if self._retry:
            interrupted += (
                f", {spelling.counted(len(self._retry), 'failed configuration')} to evaluate again first (retry_failed)"
            )
        if self._n_finished() >= self.settings.n_trials:
            # Rerunning the same script or command is the usual way here, and it evaluates nothing: say so plainly.
            log.warning(
                "ecopt: %s is a finished sweep (%d of %s): nothing is evaluated, its saved result is "
                "returned. Raise n_trials to go on%s, or %s to start over.",
                storage,
                self._n_finished(),
                spelling.trials(self.settings.n_trials),
                f" (by {len(self._retry)} to evaluate its failed configurations again: retries count toward it)"
                if self._retry
                else "",
                _start_over(storage),
            )
            return
        log.info(
            "ecopt: resuming %s: %d of %s done%s",
            storage,
            self._n_finished(),
            spelling.trials(self.settings.n_trials),
            interrupted,
        )

    def _ran_when_the_process_died(self, index: int) -> bool:
        """Whether trial ``index`` may have been running when the process died (:attr:`ran_when_the_process_died`)."""
        probe = self.ran_when_the_process_died
        if probe is None:
            return True
        try:
            return probe(index) is not False
        except Exception:  # a launcher's probe is a refinement: unknown is the safe answer
            log.debug("ecopt: could not tell whether trial %d was running when the process died", index, exc_info=True)
            return True

    def _failed_to_retry(self, failed_now: set[int]) -> dict[str, int]:
        """``retry_failed``: each configuration whose latest finished trial failed, ``{configuration: that trial}``.

        Whatever the reason (the task's exception or missing metric, a time limit, a refused energy source, a lost
        job): the user changed something before this run. Not those the resume has just failed (``failed_now``: the
        process died on them twice), which would end this run the same way; a later run with ``retry_failed`` runs
        them again, alone.
        """
        latest = {config_key(r.params): i for i, r in sorted(self._records.items()) if r.finished}
        return {key: i for key, i in latest.items() if self._records[i].status == "failed" and i not in failed_now}

    def _keep_saved_sobol_count(self, stored: Mapping[str, Any], storage: Path) -> None:
        """A resumed sweep keeps the number of Sobol trials its saved generation strategy was built with.

        The default count depends on ``n_trials``, so extending a sweep would otherwise change it in the log, the
        reference point's timing and the results file, while Ax, which saved its strategy, keeps the first count.
        """
        n_saved = _stored_sobol_count(stored)
        if n_saved is None or n_saved == self._n_initial:
            return
        log.info(
            "ecopt: %s started with %d Sobol trials and keeps them (n_initial_trials now resolves to %d; a resumed "
            "sweep keeps its saved generation strategy).",
            storage,
            n_saved,
            self._n_initial,
        )
        self._n_initial = n_saved
        # (The Sobol trials are part of the budget: a budget cut below them records the budget.)
        self.settings = dataclasses.replace(self.settings, n_initial_trials=min(n_saved, self.settings.n_trials))

    def _proposal_seed(self) -> int | None:
        """The seed of the sweep's proposals: ``seed``, or with ``seed=None`` the one drawn for the sweep.

        Drawn in ``[0, 2**32)`` when the sweep starts, it seeds the Sobol generator (so the provenance records it as
        ``sobol_seed``) and the model's proposals as a given seed would: a sweep seeded with the recorded
        ``sobol_seed`` proposes the same trials. A resumed unseeded sweep takes it back from its Sobol generator.
        """
        return self.settings.seed if self.settings.seed is not None else self._drawn_seed

    def _keep_saved_seed(self, stored: Mapping[str, Any], storage: Path) -> None:
        """A resumed sweep keeps the seed it started with, so that it proposes as an uninterrupted sweep would.

        Its Sobol generator was saved with that seed anyway; another ``seed`` now would seed only the model's
        proposals, mixing two seeds in one sweep. Sweeps saved before the seed was recorded keep ``seed`` as given.
        """
        saved = stored.get("strategy")
        if not isinstance(saved, Mapping) or "seed" not in saved:
            return
        seed = saved["seed"]
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            return
        if seed == self.settings.seed:
            return
        log.warning(
            "ecopt: %s was started with seed=%s and keeps it, not %s as given now: a resumed sweep proposes as an "
            "uninterrupted one would. To sweep with seed=%s, %s.",
            storage,
            spelling.shown(seed),
            spelling.setting("seed=" + spelling.shown(self.settings.seed)),
            spelling.shown(self.settings.seed),
            _start_over(storage),
        )
        self.settings = dataclasses.replace(self.settings, seed=seed)

    def _compare_given(self, stored: Mapping[str, Any], storage: Path) -> None:
        """Keep and say what a resume changed of the reference values and constraints the sweep was started with.

        A value given at the start and not now is kept as given (dropped silently, it was relabelled "inferred" in
        the results and the report); a value changed, or given now in place of an inferred one, is used, and said
        (the hypervolume moves with it); changed outcome constraints are used, and said. Sweeps saved before these
        were recorded are not compared.
        """
        saved = stored.get("reference_given")
        if isinstance(saved, Mapping):
            now = self._given_reference()
            kept = {str(k): float(v) for k, v in saved.items() if k in self.settings.objective_names and k not in now}
            changed = {k: (f"{float(saved[k])}", v) for k, v in now.items() if k in saved and float(saved[k]) != v}
            inferred = stored.get("reference_point") if stored.get("reference_origin") == "inferred" else None
            if isinstance(inferred, Mapping):  # a value given now in place of one the sweep inferred
                changed |= {
                    k: (f"{float(inferred[k])} (inferred)", v)
                    for k, v in now.items()
                    if k not in saved and k in inferred and float(inferred[k]) != v
                }
            if kept:
                self._kept_given = kept
                log.warning(
                    "ecopt: %s was started with the reference values %s given (reference_point, or a constraint on "
                    "an objective); this run gives none for them, so they are kept. Give other values to change "
                    "them.",
                    storage,
                    kept,
                )
            if changed:
                log.warning(
                    "ecopt: the reference point changed since %s was started: %s; the hypervolume from now on is "
                    "measured against the new values (the earlier batches' figures, in TensorBoard, against the old).",
                    storage,
                    "; ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items()),
                )
        constraints = stored.get("outcome_constraints")
        if isinstance(constraints, list) and sorted(map(str, constraints)) != sorted(self._constraint_texts()):
            log.warning(
                "ecopt: the outcome constraints changed since %s was started: %s -> %s; the new ones decide which "
                "trials are feasible (the frontier, the hypervolume and the next proposals).",
                storage,
                constraints,
                self._constraint_texts(),
            )

    def _record_from_trial(self, index: int, trial: Any) -> TrialRecord:
        """Rebuild a trial's record from the metadata saved with it."""
        from ax.core.base_trial import TrialStatus

        meta = dict((trial.run_metadata or {}).get(_METADATA_KEY) or {})
        params = self._user_params(trial.arm.parameters if trial.arm is not None else {})
        status: Literal["completed", "failed", "abandoned"]
        if meta.get("status") in ("completed", "failed", "abandoned"):  # Ax's status differs for some (_fail, _resume)
            status = meta["status"]
        elif trial.status == TrialStatus.COMPLETED:  # saved before the status was kept in the metadata
            status = "completed"
        elif trial.status == TrialStatus.FAILED:
            status = "failed"
        else:
            status = "abandoned"
        metrics = {str(k): float(v[0]) for k, v in (meta.get("metrics") or {}).items()}
        sems = {str(k): float(v[1]) for k, v in (meta.get("metrics") or {}).items() if v[1] is not None}
        reason = meta.get("reason") or getattr(trial, "status_reason", None)
        if status == "abandoned":
            reason = reason or _INTERRUPTED
        return TrialRecord(
            trial_index=index,
            params=params,
            status=status,
            # An abandoned trial's figures are unknown, but for one that never started (0 J, its metadata says).
            metrics=metrics if status != "abandoned" or meta.get("reason") in (_NOT_STARTED, _NOT_REACHED) else {},
            sems=sems if status == "completed" else {},
            reason=reason,
            energy_source=meta.get("energy_source"),
            reused_from=meta.get("reused_from"),
            shared_counters=bool(meta.get("shared_counters", False)),
        )

    def _result(self) -> SweepResult:
        records, Y = self._front_data()
        maximize = [not o.minimize for o in self.settings.objectives]
        pareto: tuple[int, ...] = ()
        hypervolume = None
        if records:
            mask = frontier.pareto_mask(Y, maximize)
            pareto = tuple(r.trial_index for r, on in zip(records, mask, strict=True) if on)
            if self._reference is not None and set(self._reference) == set(self.settings.objective_names):
                ref = [self._reference[o.name] for o in self.settings.objectives]
                hypervolume = frontier.hypervolume(Y, ref, maximize)
        elif self._reference is not None:
            hypervolume = 0.0
        storage = self.settings.storage
        given = self._given_reference()
        return SweepResult(
            objectives=tuple(self.settings.objectives),
            trials=tuple(self._records[i] for i in sorted(self._records)),
            pareto_indices=pareto,
            reference_point=None if self._reference is None else dict(self._reference),
            reference_point_origin=self._reference_origin,
            reference_point_given=tuple(o for o in self.settings.objective_names if o in given),
            reference_point_provisional=self._reference is not None and self._reference_provisional,
            hypervolume=hypervolume,
            stop_reason=self._stop_reason,
            suggest_time_s=self._suggest_time_s,
            storage=None if storage is None else Path(storage),
            results_path=None if storage is None else Path(storage).parent / RESULTS_FILENAME,
            provenance=tuple(self._runs()),
        )

    def _save_experiment(self, client: Client) -> None:
        """Save the Ax experiment to ``storage`` atomically (temporary file in the same directory, fsync, rename).

        Raises:
            EcoptConfigError: The file cannot be written (a full disk, a folder made read-only); the message says
                what is kept and how to resume.
        """
        _set_saved_runs(client, self._runs())  # also without storage: run() keeps the experiment in memory
        if self.settings.storage is None:
            return
        path = Path(self.settings.storage)
        check_sweep_locks()  # a folder deleted or moved mid-sweep is not recreated
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = create_temporary_file(path)  # the mode of a new file, not mkstemp's 0600
        except OSError as err:
            raise EcoptConfigError(self._unsaved_message(path, err)) from err
        os.close(fd)
        try:
            self._snapshot.write(client, tmp)
            with open(tmp, "rb") as handle:  # on disk before it replaces the old file: safe against power loss too
                os.fsync(handle.fileno())
            replace_file(tmp, path)  # on Windows, waits out a reader holding it
            self._memory = None  # the file holds the sweep now (kept in memory by runs without storage until then)
        except BaseException as err:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(err, OSError):
                raise EcoptConfigError(self._unsaved_message(path, err)) from err
            raise

    def _save(self, client: Client) -> SweepResult:
        """Save the experiment and ``optimization_results.yaml``; return the current result."""
        result = self._result()
        self._last_result = result
        self._save_experiment(client)
        if result.results_path is not None:
            check_sweep_locks()
            try:
                write_results(result.results_path, result, self.settings)
            except OSError as err:
                raise EcoptConfigError(
                    f"ParetoSweep: cannot write {result.results_path} ({type(err).__name__}: {err.strerror or err}), "
                    f"so the sweep stopped. The Ax experiment is saved ({self.settings.storage}): no trial is lost; "
                    f"the results file is stale. Free space or fix the folder's permissions, then "
                    f"{spelling.rerun_to_resume()} (it rewrites the file)."
                ) from err
        return result

    def _unsaved_message(self, path: Path, err: OSError) -> str:
        """Why the sweep stopped when ``path`` could not be written, what the files hold, and how to resume."""
        storage = self.settings.storage
        return (
            f"ParetoSweep: cannot write {path} ({type(err).__name__}: {err.strerror or err}), so the sweep stopped. "
            f"{storage} keeps its last save (it is never left half-written); trials that finished since then were "
            f"not saved and run again on resume. Free space or fix the folder's permissions, then "
            f"{spelling.rerun_to_resume()}."
        )

    def _batch_line(self, result: SweepResult) -> str:
        reused = f"{result.n_reused} reused{result.checkpoints_clause()}"
        return f"{result.n_failed} failed, {reused}, {result.frontier_line()}"


def _relaxed(parameters: Sequence[Any]) -> bool:
    """Whether every parameter is a float interval or an unordered choice, and one of them a continuous column.

    In such spaces Ax optimises the acquisition function over a continuous relaxation (``optimize_acqf``), and there
    the ``_ONE_HOT_*`` settings apply; integers and ordered choices send it to its mixed or discrete optimisers. So
    does a space of two-valued unordered choices only: Ax encodes each as one binary column, not one-hot, and the
    space is then fully discrete (``optimize_acqf_discrete``, which takes none of ``optimize_acqf``'s options).
    """
    floats = [isinstance(p, RangeParameter) and p.parameter_type == "float" for p in parameters]
    unordered = [isinstance(p, ChoiceParameter) and not p.is_ordered for p in parameters]
    one_hot = any(u and len(p.values) > 2 for u, p in zip(unordered, parameters, strict=True))
    return all(f or u for f, u in zip(floats, unordered, strict=True)) and (any(floats) or one_hot)


def _all_discrete(parameters: Sequence[Any]) -> bool:
    """Whether every parameter is a choice or an int interval: a space Ax may score whole (``_SCREEN_ENUMERATED``)."""
    return all(not (isinstance(p, RangeParameter) and p.parameter_type == "float") for p in parameters)


def _one_hot(parameters: Sequence[Any]) -> bool:
    """Whether one of these parameters is an unordered choice, which Ax one-hot encodes.

    Each value becomes a GP input with its own length scale; such spaces get the ``_FIT_*`` settings, and those of them
    that are :func:`_relaxed` the ``_ONE_HOT_*`` ones too.
    """
    return any(isinstance(p, ChoiceParameter) and not p.is_ordered for p in parameters)


def _default_batch_hooks(settings: SweepSettings, space: SearchSpace) -> list[BatchHook]:
    """TensorBoard frontier views in ``<storage dir>/tensorboard`` when the sweep saves to a storage file."""
    if settings.storage is None:
        return []
    from lightning_ecopt.tensorboard import TENSORBOARD_DIRNAME, FrontierBoard

    board = FrontierBoard(
        Path(settings.storage).parent / TENSORBOARD_DIRNAME, space=space, constraints=settings.outcome_constraints
    )
    return [board.update]


def register_with_ax() -> None:
    """Register the sweeper's classes with Ax's JSON decoder: call it before Ax loads a sweep's saved experiment.

    A sweep's saved generation strategy names them (analytic's acquisition function, capped_fit's model class,
    discrete's acquisitions, standardize's transform): ``Client.load_from_json_file`` raises ``KeyError`` on a name it
    does not know. The sweeper calls it itself; code that loads a saved sweep with Ax directly calls it first.
    """
    import lightning_ecopt.sweeper.analytic
    import lightning_ecopt.sweeper.capped_fit
    import lightning_ecopt.sweeper.discrete
    import lightning_ecopt.sweeper.standardize  # noqa: F401


def _client_from_json(text: str) -> Client:
    """The Ax client :meth:`ExperimentSnapshot.text` wrote."""
    from ax.api.client import Client

    register_with_ax()
    with tempfile.TemporaryDirectory(prefix="ecopt-") as folder:
        path = Path(folder) / "ax_experiment.json"
        # Ax reads it back with a bare open(), in the locale's encoding: write it so. The text is ASCII (json.dumps
        # escapes the rest), so every codec reads it alike.
        path.write_text(text, encoding="locale")
        return Client.load_from_json_file(str(path))


def _restore_saved_means(experiment: Any, records: Mapping[int, TrialRecord]) -> None:
    """Give Ax's data of each completed trial back the values the trial returned, which Ax's JSON rounded.

    Ax saves its data with pandas' ``DataFrame.to_json``, which keeps 10 decimal places: a loaded experiment held
    0.3333333333 for 1/3, 0.0000012346 for 1.2345678e-06 and 0.0 below 5e-11, so a resumed sweep's model fitted
    other values than the uninterrupted sweep's and proposed other trials from its first proposal on. The records
    (``run_metadata``, saved by Python's ``json``) keep every digit: each mean and standard error Ax holds for a
    completed trial is replaced by the record's, where the two agree to the rounding (the metric Ax names it after,
    the first of a shared name, as :meth:`TrialMetrics.to_ax_raw_data` sent it).

    Args:
        experiment: The loaded Ax experiment.
        records: The trials' records, rebuilt from their metadata.
    """
    from ax.core.data import Data, DataRow

    exact: dict[tuple[int, str], tuple[float, float | None]] = {}
    for index, record in records.items():
        if record.status != "completed":
            continue
        for name, mean in record.metrics.items():
            if isinstance(mean, int | float) and not isinstance(mean, bool):  # not a label (energy/source)
                exact.setdefault((index, ax_metric_name(name)), (float(mean), record.sems.get(name)))

    def agrees(saved: float, value: float) -> bool:
        both_nan = math.isnan(saved) and math.isnan(value)  # a standard error not given
        return both_nan or math.isclose(saved, value, rel_tol=1e-8, abs_tol=1e-10)

    saved = getattr(experiment.data, "_data_rows", None)  # Ax 1.3's rows; another Ax's data is left as loaded
    if saved is None:
        return
    rows = []
    changed = False
    for row in saved:
        returned = exact.get((row.trial_index, row.metric_name))
        if returned is not None:
            mean, sem = returned
            se = row.se if sem is None else sem
            if (row.mean, row.se) != (mean, se) and agrees(row.mean, mean) and agrees(row.se, se):
                row = DataRow(**{**vars(row), "mean": mean, "se": se})
                changed = True
        rows.append(row)
    if changed:
        experiment.data = Data(data_rows=rows)


def _record_metadata(record: TrialRecord) -> dict[str, Any]:
    """What we keep in the Ax trial's ``run_metadata``, to rebuild the record on resume.

    A NaN or infinite figure is kept as its text (``"nan"``, ``"inf"``, which ``float()`` reads back), as the results
    file keeps it: Python's ``json`` would write ``NaN``, which is no JSON (``jq`` and most other parsers refuse it).
    """
    return {
        "status": record.status,
        "metrics": {
            name: [mean if math.isfinite(mean) else str(mean), record.sems.get(name)]
            for name, mean in record.metrics.items()
        },
        "reason": record.reason,
        "energy_source": record.energy_source,
        "reused_from": record.reused_from,
        "shared_counters": record.shared_counters,
    }


def _experiment(client: Client) -> Any:
    """The client's Ax ``Experiment`` (Ax 1.3 has no public accessor)."""
    return client._experiment


def _drop_fitted_adapters(client: Client) -> None:
    """Make the next proposal build its adapter anew, from the experiment's current optimisation config.

    Ax keeps each generator's fitted adapter between proposals (refitting only its data), and the adapter keeps the
    optimisation config it was built with: thresholds set after the first model proposal would otherwise never reach
    the acquisition function in this process (a resumed sweep builds new adapters anyway).
    """
    strategy = client._maybe_generation_strategy
    if strategy is None:
        return
    for node in strategy.nodes_by_name.values():
        for spec in node.generator_specs:
            spec._fitted_adapter = None


def _relax_wide_ints(client: Client, space: SearchSpace) -> None:
    """Have a saved strategy's BoTorch nodes model wide int intervals as floats (:func:`configure_wide_ints`).

    A sweep saved before they did ran out of memory at its first proposal; one saved since is left as it is.
    """
    strategy = client._maybe_generation_strategy
    for node in getattr(strategy, "nodes_by_name", {}).values():
        for spec in node.generator_specs:
            if spec.generator_enum.name == "BOTORCH_MODULAR":
                configure_wide_ints(spec.generator_kwargs, space.parameters)


def _drop_options_ax_refuses(client: Client, space: SearchSpace, storage: Path) -> None:
    """Remove ``optimize_acqf``'s options from a saved strategy whose space Ax optimises otherwise.

    Versions before 2026-12-04 gave them (``{"maxiter": 30}``) to every space of floats and unordered choices, a space
    of two-valued choices only too; Ax proposes there with ``optimize_acqf_discrete``, which refuses an ``options``
    argument (``UnsupportedError``): such a sweep crashed at its first model proposal, and so did every resume of it.
    A strategy built now gives them only where Ax calls ``optimize_acqf`` (:func:`_relaxed`); elsewhere none is left.
    """
    if _relaxed(space.parameters):
        return
    strategy = client._maybe_generation_strategy
    for node in getattr(strategy, "nodes_by_name", {}).values():
        for spec in node.generator_specs:
            if spec.generator_enum.name != "BOTORCH_MODULAR":
                continue
            gen_options = spec.generator_kwargs.get("default_model_gen_options")
            optimizer = gen_options.get("optimizer_kwargs") if isinstance(gen_options, dict) else None
            if isinstance(optimizer, dict) and "options" in optimizer:
                dropped = optimizer.pop("options")
                log.info(
                    "ecopt: %s was saved by a lightning_ecopt before 2026-12-04, which gave its model proposals "
                    "optimize_acqf's options (%s); Ax proposes in this search space with optimize_acqf_discrete, "
                    "which refuses them (that version stopped at its first model proposal), so they are dropped.",
                    storage,
                    dropped,
                )


_ACQUISITION_NAMES = {
    "qNoisyExpectedHypervolumeImprovement": "qNEHVI",
    "qLogNoisyExpectedHypervolumeImprovement": "qLogNEHVI",
    "ObjectiveEHVI": "EHVI",
}


def _saved_acquisition(client: Client) -> str | None:
    """The acquisition function (our name for it) of the generation strategy saved with ``client``, if known."""
    strategy = client._maybe_generation_strategy  # None where the saved file has none (the property raises)
    for node in getattr(strategy, "nodes_by_name", {}).values():
        for spec in node.generator_specs:
            acqf = spec.generator_kwargs.get("botorch_acqf_class")
            if acqf is not None:
                return _ACQUISITION_NAMES.get(getattr(acqf, "__name__", ""), getattr(acqf, "__name__", None))
    return None


def _set_client_seed(client: Client, seed: int | None) -> None:
    """Set the seed Ax uses around each generation; ``Client`` takes it only at construction and JSON drops it."""
    client._random_seed = seed


def _write_description(
    client: Client,
    fingerprint: dict[str, Any],
    point: dict[str, float] | None,
    origin: str | None,
    *,
    given: Mapping[str, float] | None = None,
    constraints: Sequence[str] = (),
    provisional: bool = False,
    runs: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Keep the sweep's fingerprint and reference point in the experiment's description (saved with it).

    With them the reference values the settings gave (``reference_point`` and constraints on objectives) and the
    outcome constraints, so that a resume that drops or changes them is told, not silently relabelled; and whether
    an inferred point is provisional (from trials none of which met the outcome constraints), to infer it again;
    and the provenance records of the sweep's runs (:meth:`ParetoSweep._runs`), to which the next run adds its own.
    """
    payload = {
        **fingerprint,
        "reference_point": point,
        "reference_origin": origin,
        "reference_provisional": provisional,
        "reference_given": dict(given or {}),
        "outcome_constraints": list(constraints),
        "provenance": [dict(r) for r in runs],
    }
    _experiment(client).description = json.dumps({_METADATA_KEY: payload})


def _set_saved_runs(client: Client, runs: Sequence[Mapping[str, Any]]) -> None:
    """Update the provenance records in the experiment's saved description, the rest of it as it is."""
    payload = _read_description(client)
    if not payload:  # not described yet (the experiment is being configured): _describe writes them
        return
    payload["provenance"] = [dict(r) for r in runs]
    _experiment(client).description = json.dumps({_METADATA_KEY: payload})


def _saved_sobol_seed(client: Client) -> int | None:
    """The seed the saved Sobol generator was given, else the one it drew; ``None`` where neither is saved.

    With ``seed=None`` a sweep gives it the seed drawn for the sweep (:meth:`ParetoSweep._proposal_seed`); sweeps
    saved before that gave none, and Ax drew one at the first Sobol trial (:func:`_drawn_sobol_seed`).
    """
    strategy = client._maybe_generation_strategy
    for node in getattr(strategy, "nodes_by_name", {}).values():
        for spec in node.generator_specs:
            seed = spec.generator_kwargs.get("seed") if spec.generator_key == "Sobol" else None
            if isinstance(seed, int) and not isinstance(seed, bool):
                return seed
    return _drawn_sobol_seed(client)


def _drawn_sobol_seed(client: Client) -> int | None:
    """The seed of the Sobol generator that made the sweep's latest Sobol trials, as Ax saved it; ``None`` before one.

    Given by ``seed`` (:func:`_sobol_seed`), or drawn by Ax (``torch.randint``) when ``seed`` is ``None``: Ax keeps it
    in each Sobol generator run's state, which a resumed sweep's Sobol generator continues from.
    """
    strategy = client._maybe_generation_strategy
    for run in reversed(getattr(strategy, "_generator_runs", None) or []):
        state = getattr(run, "_generator_state_after_gen", None) or {}
        seed = state.get("seed")
        if getattr(run, "_generator_key", None) == "Sobol" and isinstance(seed, int) and not isinstance(seed, bool):
            return seed
    return None


def _read_description(client: Client) -> dict[str, Any]:
    try:
        data = json.loads(_experiment(client).description or "{}")
    except (TypeError, ValueError):
        return {}
    payload = data.get(_METADATA_KEY) if isinstance(data, dict) else None
    return dict(payload) if isinstance(payload, dict) else {}
