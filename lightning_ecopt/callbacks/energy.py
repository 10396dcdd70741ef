"""EnergyCallback: the energy (and samples per joule) of Lightning's test, predict and validate loops."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import itertools
import math
import operator
import os
import random
import sys
import time
import types
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import lightning.pytorch as pl
import torch
from lightning.fabric.utilities.apply_func import apply_to_collection
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only, rank_zero_warn
from lightning.pytorch.utilities.signature_utils import is_param_in_hook_signature
from torch.nn.parameter import is_lazy
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    default_collate,
)
from typing_extensions import override

from lightning_ecopt._checks import checked_flags
from lightning_ecopt.energy import (
    DEFAULT_WATTS_PER_THREAD,
    LOOP_MIN_PERIODS,
    METER_CHOICES,
    CounterReader,
    CpuTimeEstimator,
    EnergyMeter,
    LoopEnergy,
    Measurement,
    choose_per_batch_mode,
    make_meter,
    source_kind,
)
from lightning_ecopt.energy.contention import (
    CONTENTION_WARN_SHARE,
    CpuSnapshot,
    allowed_cpus,
    cpu_snapshot,
    others_share,
)
from lightning_ecopt.energy.figures import FLOPS_PER_SAMPLE, PREDICT_STEP_FLOPS_PER_SAMPLE
from lightning_ecopt.energy.measurement import source_problem
from lightning_ecopt.exceptions import EnergyMeterError, TrialFailure

__all__ = ["EnergyCallback", "trial_metrics"]

try:  # private to Lightning: where a release moves it, predict loops count batch by batch again, as before 2026-12-06
    from lightning.pytorch.overrides.distributed import _IndexBatchSamplerWrapper
except ImportError:  # pragma: no cover - Lightning 2.6 has it

    class _IndexBatchSamplerWrapper:  # type: ignore[no-redef]
        """Stands in for Lightning's index-keeping predict batch sampler where a release lacks it: nothing is one."""


AUTO_MIN_DURATION_S = 0.2
"""``min_duration_s="auto"``: 20 updates of the meter's counter (2 s of NVML), and at least this: the examples' CPU
setting, where the CPU-time estimate resolves microseconds and 0.2 s keeps a 2-core demo short."""

_SHORT_LOOP_SPREAD = "8-16 % at 0.1-0.3 s and 5-12 % at 1-3 s, beside neighbours using 50-76 % of its CPUs"
"""Run-to-run spread of samples/J by loop length, for the warning (``benchmarks/callback_window.py``, three runs)."""

STAGES = ("test", "predict", "validate")
_KINDS = ("measured", "estimated")  # energy kinds (Measurement.kind), as codes in the cross-rank all-gather
_FALLBACK_WARNED: set[str] = set()  # what was said once per process (the estimate's reason, contention's cost)
# The loops each trainer's EnergyCallbacks (by serial number) published figures of: one that left trainer.callbacks
# (a LightningModule's configure_callbacks, called at every trainer function, returns a new one, which replaces it)
# took them out of trial_metrics (see EnergyCallback._check_replaced). Numbers, not the callbacks: a replaced one is
# garbage by the next call.
_PUBLISHED_ON: weakref.WeakKeyDictionary[Any, dict[int, set[str]]] = weakref.WeakKeyDictionary()
_SERIALS = itertools.count()
PER_BATCH_CHOICES = ("auto", "window", "split")
# Each stage's batch hooks (start, end): muted while they have nothing to do (see EnergyCallback._mute_idle_hooks).
_BATCH_HOOKS = {
    stage: (f"on_{hook}_batch_start", f"on_{hook}_batch_end")
    for stage, hook in (("test", "test"), ("predict", "predict"), ("validate", "validation"))
}
_STEPS = {"test": "test_step", "predict": "predict_step", "validate": "validation_step"}


@dataclass
class _LoopState:
    """Book-keeping of one running loop (one stage)."""

    batch_window: str  # the per-batch window's name, built once: these hooks run on every batch
    seen: int = 0  # batches seen, warm-up included
    steady: bool = False  # the measured (post-warm-up) window is open
    warmup_seen: int = 0  # batches seen when the measured window opened: the warm-up's
    # The step takes the dataloader_iter and fetches its batches itself (any number a step): they are counted as the
    # loop's fetcher yields them (_count_fetched), not by the batch hooks, which run once a step with its last batch.
    fetches: bool = False
    mode: str = "split"
    sample_path: tuple[Any, ...] | None = None  # keys/indices leading to the batch's first tensor, found once
    # A CombinedLoader that zips its iterables (max_size_cycle, max_size, min_size): its iterables (their structure:
    # a mapping or sequence of loaders), each of whose batches in a combined batch is counted (_count_combined)
    zipped: Any = None
    # (batch size, batches, last batch's size) where the dataloader fixes them: samples are then counted from the
    # batches seen when the loop ends, and the batch hooks do not touch the batch (see _fixed_batch_sizes)
    sizes: tuple[int, int, int] | None = None
    # the batch_size of the loop's one DataLoader where its batches are counted (a custom collate function, say),
    # checked against the first count: a per-sample sequence's first tensor is no batch (see _declared_batch_size)
    declared_batch_size: int | None = None
    # A predict loop's one DataLoader's batch sampler, Lightning's wrapper that records each batch's indices: a batch
    # with no tensor to count counts its indices (a DDP rank's shard, a batch sampler of its own: see _batch_indices)
    index_sampler: Any = None
    # The loop's one TimedPasses, which knows each batch's samples: its last batch, ending a pass, may be partial
    timed_passes: Any = None
    samples: int = 0  # in the measured window
    tokens: int | None = None  # None: no count_fn, or it returned None (no tokens) for every batch
    warmup_samples: int = 0
    warmup_tokens: int | None = None
    batch_t0: float = 0.0
    warmup_durations_s: list[float] = field(default_factory=list)
    batch_j: list[float] = field(default_factory=list)
    # Per-batch windows run from one batch's start to the next one's (the last to the loop's end), so together they
    # cover the measured window. From a CounterReader: its bound ``read`` and one reading per batch start, turned
    # into joules when the loop ends; otherwise a named window, ended and begun again at each batch start.
    read: Callable[[], Any] | None = None
    readings: list[Any] = field(default_factory=list)
    batch_open: bool = False
    # The batch hooks' steady state, where they do (almost) nothing: checked inline, before any other call
    start_idle: bool = False  # loop mode, measuring: nothing to do at a batch's start
    end_idle: bool = False  # measuring, sizes known, no count_fn, first batch checked: a batch's end only counts it
    sample_input: Any = None  # one sample of the first batch, its structure kept (_one_sample)
    cpu_start: CpuSnapshot | None = None  # the machine's CPU time where the measured window starts (contention)
    cpu_set: frozenset[int] | None = None  # the CPUs the contention check reads (None: every CPU of the machine)
    graphs_start: int = 0  # graphs torch.compile had built in this process when the measured window opened
    graphs_in_window: int = 0  # and those it built inside that window (recompilations: _compiled_graphs)
    # The running loop's count of completed batches (Lightning's batch progress), where the batches are counted
    # without the end hook; and the hooks muted (instance attributes shadowing the methods) until the loop ends.
    progress: Any = None
    muted: tuple[str, ...] = ()
    # The Trainer's fast_dev_run: a window short by the user's choice (a debugging run of a batch or a few), flagged
    # short as any other but not warned about (Lightning runs it with logging and checkpointing off)
    debug_run: bool = False
    mute_checked: bool = False


class EnergyCallback(Callback):
    r"""Measure the energy of Lightning's evaluation loops and log samples per joule.

    One energy window around each whole loop is the authoritative figure; warm-up batches are excluded from it and
    reported apart. Joules come from Zeus's hardware counters (NVML for the GPU this rank uses, RAPL for CPU and
    DRAM, read by local rank 0 only) or, where Zeus finds none, from a CPU-time estimate; every figure is labelled
    with its ``source`` (``"measured: zeus/nvml"``, ``"estimated: cpu-time"``...). Across ranks joules, samples and
    batches add up and time is the slowest rank's.

    The loop's window opens in the callbacks' ``on_*_epoch_start`` and closes in their ``on_*_epoch_end``, and
    Lightning runs the LightningModule's own epoch hooks after the callbacks': work in its ``on_*_epoch_start``
    counts in the warm-up (``energy/{stage}_warmup_j``; with ``warmup_batches=0``, in the measured window), work in
    its ``on_*_epoch_end`` (a metric computed over the whole set's outputs) and Lightning's epoch-end reduction of
    logged metrics in no figure. Work the loop's figures should include belongs in its steps.

    Lightning fetches each batch one ahead, so the measured window opens after the first measured batch was loaded:
    with ``num_workers=0`` it holds the loading of all its batches but that one (whose loading counts in the
    warm-up), a bias of one batch's loading in the measured batches (measured with a loop whose only cost was loading:
    -14 % at 7 measured batches, -3 % at 37). Where loading matters, measure many batches (``min_duration_s``,
    :class:`~lightning_ecopt.inference.TimedPasses`) or, with hardware counters, load in workers (the CPU-time
    estimate counts this process only: workers' loading is left out of it, and a warning says so).

    Logged metrics (``{stage}`` is ``test``, ``predict`` or ``validate``), in ``trainer.callback_metrics`` and every
    attached logger (test and validate figures also in the dicts ``trainer.test()``/``validate()`` return):

    - ``energy/{stage}_j``: joules of the measured batches, all domains (J)
    - ``energy/{stage}_gpu_j``, ``energy/{stage}_cpu_j``, ``energy/{stage}_dram_j``: per domain (J); each is logged
      only where a counter (or, for the CPU, the CPU-time estimate) covers it, never as a made-up 0
    - ``energy/{stage}_other_j``: the other parts an SoC's counters read (J): an Apple chip's Neural Engine, the
      rest of a Jetson module (its input rail less the CPU and GPU rails, never below 0), a Jetson rail that holds
      the CPU and GPU together (an Orin Nano's ``VDD_CPU_GPU_CV``); logged only where read
    - ``energy/{stage}_time_s``: wall time of the measured batches (s)
    - ``energy/{stage}_power_w``: mean power (W)
    - ``energy/{stage}_samples``: samples in the measured batches (count)
    - ``energy/{stage}_samples_per_j``: samples per joule (1/J; NaN when the loop read 0 J)
    - ``energy/{stage}_j_per_sample``: joules per sample (J)
    - ``energy/{stage}_j_per_batch``: joules per batch (J): mean of per-batch windows (each from one batch's start
      to the next's, so together they cover the measured loop; under DDP, of every rank's), or loop joules / batches
    - ``energy/{stage}_warmup_j``: joules of the excluded warm-up batches (J; the loop's joules outside the measured
      window, so it also holds the few ms of closing that window and, with warm-up batches, the module's
      ``on_*_epoch_start``)
    - ``energy/{stage}_short_window``: 1 when the loop lasted less than ``min_duration_s``, or than 20 updates of
      the meter's counter (2 s of NVML), whichever is longer, or ended inside its warm-up (no more batches than
      ``warmup_batches``: measured whole, a compilation included; under DDP, on any rank), or ``torch.compile``
      compiled inside the measured window (a recompilation for a batch of other shapes, with a warning) (flag)
    - ``energy/{stage}_cpu_contention``: share of the machine's CPU capacity other processes used during the measured
      window (0-1; Linux, windows of 0.2 s or more), one warning above 25 %. This process's children (DataLoader
      workers, the ranks Lightning's ``ddp`` launcher starts from rank 0) are its work; ranks started beside it
      (``ddp_spawn``, ``torchrun``, SLURM) are other processes here, so on a node with several the figure includes
      them (the warning says so)
    - ``energy/{stage}_tokens``, ``energy/{stage}_tokens_per_j``: with ``count_fn``, unless it returned ``None`` (no
      tokens) for every measured batch (count, 1/J)
    - ``energy/validate_in_fit``: 1 when the validate figures are a ``fit``'s validation (their joules are then
      inside ``energy/train_j``), 0 for a ``trainer.validate()`` (flag; the search-energy ledger counts it apart)
    - ``energy/train_j``, ``energy/train_time_s``: with ``train=True``, the whole ``fit`` (J, s). The callback keeps
      the figures up to each checkpoint in it (``on_save_checkpoint``), so a fit resumed from one (``ckpt_path``, a
      requeued SLURM job) adds the checkpoint's figures to its own where both carry one energy label and it resumes
      at the step they reach (else it keeps its own part, with a warning saying why), and logs
      ``energy/train_resumed_from_step``, the step it started at. Not counted by any process: the work after the last
      checkpoint that a crash lost. A checkpoint saved without the callback's state (by an older version) leaves the
      joules before that step out, with a warning; a second ``fit()`` of one trainer without ``ckpt_path`` reports its
      own steps (a warning says so)
    - ``energy/train_carried_j``, ``energy/train_carried_time_s``: of a resumed fit, the part of ``energy/train_j``
      and ``energy/train_time_s`` its checkpoint carried (J, s)
    - ``model/params``: parameter count (a lazy layer no forward pass has initialised is left out, with a warning);
      ``model/flops_per_sample``: FLOPs of one ``forward`` of one sample of the first batch (FLOP), in every loop;
      left out, with a warning saying why, where the model cannot take one sample or the first batch holds no
      tensor (texts alone, an object of your own)
    - ``model/predict_step_flops_per_sample``: with ``predict_flops="predict_step"``, a predict loop's FLOPs of one
      ``predict_step`` on one sample (a whole generation), logged there in place of ``model/flops_per_sample``: one
      key never holds both counts, so a test loop's forward FLOPs stay beside its joules (FLOP)

    The labels ``energy/{stage}_source`` and ``energy/{stage}_per_batch_mode`` are logged as hyperparameters, and
    every figure is kept as a :class:`~lightning_ecopt.energy.LoopEnergy` in ``callback.results[stage]``. A loop over
    several dataloaders is one window (its warm-up batches are the loop's first, across the dataloaders in order):
    each dataloader's result dict holds the loop's figures.

    Args:
        stages: Loops to measure: any of ``"test"`` (default), ``"predict"``, ``"validate"``.
        train: Also measure the whole ``fit`` (training and its validation), to account for a sweep's own cost.
        meter: ``"auto"`` (Zeus where it finds counters, else the CPU-time estimate, with one warning), ``"zeus"``
            (measured, or an error saying what is missing), ``"estimate"``, or an
            :class:`~lightning_ecopt.energy.EnergyMeter`. A named meter is built for each trainer's root device and
            local rank; one passed in is used as is (under DDP a ``ZeusMeter`` reading RAPL is refused on a local
            rank > 0: pass ``read_cpu=local_rank == 0``).
        warmup_batches: Batches at the start of each loop excluded from the efficiency figures. Where a step takes
            the ``dataloader_iter`` and fetches several, the batches are counted as fetched, and the warm-up lasts
            until the first step that begins after them (``LoopEnergy.warmup_batches`` says how many it held,
            every rank's under DDP, as its ``batches``).
        min_duration_s: A measured loop shorter than this is flagged (``short_window``) with one warning. The
            default, 2 s (20 NVML counter periods), is the shortest loop whose joules repeated within 2 % (relative
            standard deviation over 10 runs) on an H100 (``docs/gpu-validation.md``); 1 s loops varied 4 %. The
            CPU-time estimate has no counter step, but its short loops spread more too (8-16 % at 0.1-0.3 s against
            5-12 % at 1-3 s on a busy 2-core VM, ``docs/bench-callback.md``), so 2 s stays the default there. A loop
            under 20 updates of its meter's counter is flagged too (a 0.2 s setting made for the CPU estimate, on
            NVML: windows of two counter steps), and the warning names the value to pass. ``0`` flags nothing.
            ``"auto"``: 20 updates of the meter in use, at least :data:`AUTO_MIN_DURATION_S` (2 s on NVML, 0.2 s on
            the CPU estimate or RAPL), resolved when a trainer sets the callback up; the attribute
            ``min_duration_s`` then holds the seconds (a data module's ``TimedPasses`` can read them:
            :func:`~lightning_ecopt.inference.callback_min_duration_s`).
        per_batch: ``"auto"``: per-batch windows when every warm-up batch after the first (its cold start may take
            seconds) lasts at least ten counter periods (NVML updates every ~20-100 ms), else the loop's joules split
            evenly (so with fewer than two warm-up batches); ``"window"`` or ``"split"`` to force.
        batch_size_fn: ``fn(batch) -> int`` samples in a batch; default: the leading dimension of its first tensor
            (of each iterable's part, summed, in a ``CombinedLoader`` that zips several: ``max_size_cycle``...)
            (from a plain ``DataLoader`` with a ``batch_size``, a predict loop's too: its batch sizes, exact, a last
            partial batch of texts included, and kept where a hook such as ``on_after_batch_transfer`` reshaped the
            batch, with a warning naming both counts; a predict batch with no tensor, from any other one
            ``DataLoader``: the indices Lightning's batch sampler drew for it; a batch of texts from a loop's one
            ``TimedPasses``: the samples it yielded, its last, partial batch included). Where the first
            count differs from the loop's one ``DataLoader``'s (or ``TimedPasses``') ``batch_size`` (a collate
            function returning per-sample tensors in a tuple, say), a warning names both: pass this.
        count_fn: ``fn(batch, outputs) -> int | None`` tokens produced by a batch (generation); logs tokens per
            joule (``energy/<stage>_tokens_per_j``). Called after every batch of every measured stage, warm-up
            included, with that stage's step output: ``predict_step``'s prediction, but ``test_step``'s return value
            (often ``None``) in a test loop. Return ``None`` for a batch that produces no tokens (``0`` is a
            count: zero tokens generated): a loop where every measured batch returned ``None`` logs no tokens
            figures, rather than 0 tokens/J. Or give it ``stages=("predict",)``. Where a step takes the
            ``dataloader_iter`` it is called once a step, with the step's output and the last batch it fetched:
            count the tokens from ``outputs`` there.
        watts_per_thread: For the CPU-time estimate: watts per busy hardware thread. A value other than the default
            (5) is named in the source label (``estimated: cpu-time (4 W/thread)``), so a sweep refuses to rank its
            figures with those of another value.
        log_model_stats: Log ``model/params`` and ``model/flops_per_sample`` (or
            ``model/predict_step_flops_per_sample``), counted once per model and loop after the measured window, on
            one sample cut from the first batch along the dimension that holds its samples (the leading one, or the
            one of the batch's size where a hook made the batch sequence-first; where no single dimension holds
            them, a warning says so and no FLOPs are logged).
        flops_on_meta: Count FLOPs on a copy of the module rebuilt on the meta device from its saved hyperparameters,
            ``type(module)(**module.hparams)``: nothing is computed, but the module's ``__init__`` runs again. If it
            has side effects (downloads, files, an experiment tracker's run), pass ``False``: FLOPs are then one real
            forward pass of one sample. ``forward`` is given the first batch's first tensor, sliced to one sample,
            else (a forward that reads ``batch["x"]``) the whole batch sliced to one sample, else (a
            ``forward(input_ids, attention_mask)`` called as ``self(**batch)``) the keys of a dict batch it names, as
            keyword arguments; where it takes none of these, a warning says so and ``model/flops_per_sample`` is not
            logged.
        predict_flops: What one inference of a predict loop is: ``"forward"`` (default), or ``"predict_step"``, a
            whole generation (many forward passes), counted by calling ``predict_step`` with the first batch sliced
            to one sample on the meta copy and logged as ``model/predict_step_flops_per_sample`` (other loops still
            log one forward pass as ``model/flops_per_sample``). Its tensor work is not run there, but its Python
            is: pass ``"predict_step"`` only for a ``predict_step`` without side effects (one that writes files or
            appends to a list would do so once more, with meta tensors). Where it cannot run on the meta copy (a stop
            at an end-of-sequence token reads a value), or ``flops_on_meta=False``, it runs once on the module
            itself, for real, on that one sample. Where that fails too, a warning says why and no FLOPs are logged
            for the predict loop: a forward pass's FLOPs are never logged in its place.

    Raises:
        ValueError: An unknown stage, meter, per-batch mode or ``predict_flops``, no stage with ``train=False``
            (nothing to measure), a meter whose ``source`` says neither ``measured`` nor ``estimated``, a negative
            count or duration, or a ``watts_per_thread`` not > 0.
        TypeError: ``stages`` not a stage name or a list of them, ``batch_size_fn``/``count_fn`` not callable,
            ``meter`` of the wrong type, or ``train``, ``log_model_stats`` or ``flops_on_meta`` not a bool.
        EnergyMeterError: A ``ZeusMeter`` that finds no counter (its label is checked here); at set-up,
            ``meter="zeus"`` without counters, or a ``ZeusMeter`` reading RAPL on a local rank > 0; at a loop's end
            under DDP, ranks whose figures are of different kinds (measured/estimated).

    Example::

        from lightning.pytorch import Trainer
        from lightning_ecopt import EnergyCallback

        energy = EnergyCallback()
        trainer = Trainer(callbacks=[energy])
        trainer.test(model, datamodule=dm)
        trainer.callback_metrics["energy/test_samples_per_j"]
        energy.results["test"].source  # 'measured: zeus/nvml' or 'estimated: cpu-time'
    """

    def __init__(
        self,
        stages: str | Sequence[str] = ("test",),
        *,
        train: bool = False,
        meter: Literal["auto", "zeus", "estimate"] | EnergyMeter = "auto",
        warmup_batches: int = 3,
        min_duration_s: float | Literal["auto"] = 2.0,
        per_batch: Literal["auto", "window", "split"] = "auto",
        batch_size_fn: Callable[[Any], int] | None = None,
        count_fn: Callable[[Any, Any], int | None] | None = None,
        watts_per_thread: float = DEFAULT_WATTS_PER_THREAD,
        log_model_stats: bool = True,
        flops_on_meta: bool = True,
        predict_flops: Literal["forward", "predict_step"] = "forward",
    ) -> None:
        choices = ", ".join(map(repr, STAGES))
        if not isinstance(stages, str) and (isinstance(stages, Mapping | bytes) or not isinstance(stages, Iterable)):
            raise TypeError(
                f"EnergyCallback(stages={stages!r}): expected the stages to measure, a list from {choices}, e.g. "
                f"stages=['test'] (stages=[] with train=True measures training only)."
            )
        stages = (stages,) if isinstance(stages, str) else tuple(stages)
        for stage in stages:
            if stage not in STAGES:
                raise ValueError(
                    f"EnergyCallback(stages={list(stages)!r}): unknown stage {stage!r}; choose from {choices}."
                )
        train, log_model_stats, flops_on_meta = checked_flags(
            "EnergyCallback", train=train, log_model_stats=log_model_stats, flops_on_meta=flops_on_meta
        )
        if predict_flops not in ("forward", "predict_step"):
            raise ValueError(
                f"EnergyCallback(predict_flops={predict_flops!r}): expected 'forward' or 'predict_step' (a whole "
                f"generation, counted by running predict_step on a meta copy of the module)."
            )
        if not stages and not train:
            raise ValueError(f"EnergyCallback(stages=[], train=False) measures nothing; name stages from {choices}.")
        if isinstance(meter, str) and meter not in METER_CHOICES:
            raise ValueError(
                f"EnergyCallback(meter={meter!r}): unknown meter; choose from {', '.join(map(repr, METER_CHOICES))} "
                "or pass an EnergyMeter."
            )
        if not isinstance(meter, str) and not isinstance(meter, EnergyMeter):
            raise TypeError(
                f"EnergyCallback(meter={meter!r}): expected a name ({', '.join(map(repr, METER_CHOICES))}) or an "
                "EnergyMeter (source, update_period_s, begin(name), end(name))."
            )
        if not isinstance(meter, str) and (problem := source_problem(meter.source)) is not None:
            # Caught now, not by the sweep after every trial has trained: its figures would be of no known kind.
            raise ValueError(
                f"EnergyCallback(meter={meter!r}): its source {problem}; label it 'measured: <counters>' (e.g. "
                f"'measured: ipmi/bmc') or 'estimated: <model>' (e.g. 'estimated: tdp-model')."
            )
        if isinstance(warmup_batches, bool) or not isinstance(warmup_batches, int) or warmup_batches < 0:
            raise ValueError(f"EnergyCallback(warmup_batches={warmup_batches!r}): expected an int >= 0, e.g. 3.")
        if min_duration_s != "auto" and (
            isinstance(min_duration_s, bool)
            or not isinstance(min_duration_s, int | float)
            or not 0 <= min_duration_s < math.inf
        ):
            raise ValueError(
                f"EnergyCallback(min_duration_s={min_duration_s!r}): expected seconds >= 0 or 'auto' (20 updates of "
                f"the meter's counter, at least {AUTO_MIN_DURATION_S:g} s), e.g. 2.0."
            )
        if per_batch not in PER_BATCH_CHOICES:
            raise ValueError(
                f"EnergyCallback(per_batch={per_batch!r}): choose from {', '.join(map(repr, PER_BATCH_CHOICES))}."
            )
        for name, fn in (("batch_size_fn", batch_size_fn), ("count_fn", count_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"EnergyCallback({name}={fn!r}): expected a callable or None.")
        if (
            isinstance(watts_per_thread, bool)
            or not isinstance(watts_per_thread, int | float)
            or not 0 < watts_per_thread < math.inf
        ):
            # Checked here, not by the estimator (built at the first trainer call), whose message names its
            # idle_power_w, which EnergyCallback does not take.
            raise ValueError(
                f"EnergyCallback(watts_per_thread={watts_per_thread!r}): expected watts > 0 per busy thread (default "
                f"{DEFAULT_WATTS_PER_THREAD}); for another model pass meter=CpuTimeEstimator(watts_per_thread=..., "
                f"idle_power_w=...)."
            )
        self.stages = stages
        self.train = train
        self.meter_spec = meter
        self.warmup_batches = warmup_batches
        self.min_duration_spec = min_duration_s
        # "auto" is resolved when a trainer sets the meter up: until then its floor.
        self.min_duration_s = AUTO_MIN_DURATION_S if min_duration_s == "auto" else float(min_duration_s)
        self.per_batch = per_batch
        self.batch_size_fn = batch_size_fn
        self.count_fn = count_fn
        self.watts_per_thread = watts_per_thread
        self.log_model_stats = log_model_stats
        self.flops_on_meta = flops_on_meta
        self.predict_flops = predict_flops
        self.results: dict[str, LoopEnergy] = {}
        # Each loop's counts ("test", "predict", ...), the latest counted last: a predict loop's predict_step FLOPs
        # go under a key of their own, and a test loop's forward FLOPs stay (model_stats is their union).
        self._stage_stats: dict[str, dict[str, float]] = {}
        # The scalars logged by the end of each loop ("train", "validate", "test"), oldest first: Lightning empties
        # callback_metrics when a loop starts, and trial_metrics reports what earlier loops logged, as it reports
        # their energy figures (results): whichever trainer ran them (a fit on one, a test on another).
        self._logged: dict[str, dict[str, float]] = {}
        # Per loop, the module (weakly held), (parameter count, sample shape and dtype) and the counts made for them.
        self._model_stats_of: dict[str, tuple[weakref.ref[pl.LightningModule], tuple[Any, ...], dict[str, float]]] = {}
        self._meter: EnergyMeter | None = None
        self._meter_for: tuple[torch.device, int] | None = None  # (root device, local rank) the meter was built for
        self._loops: dict[str, _LoopState] = {}
        self._warned: set[str] = set()
        self._train_open = False
        self._train_from_step = 0  # the global step the training loop started at (> 0: resumed from a checkpoint)
        # This process's part of the fit's window so far, where a checkpoint's save cut it (ended it, began it again)
        self._train_done: Measurement | None = None
        # The training figures a checkpoint carried in (load_state_dict; every rank's, up to its save), or None with
        # why where the checkpoint held none that could be read
        self._carried: LoopEnergy | None = None
        self._carried_problem: str | None = None
        self._carried_step: int | None = None  # the global step the carried figures reach (their state's)
        self._async_device: torch.device | None = None  # cuda or mps: synchronised around warm-up batches, to time them
        self._trainer_of: weakref.ref[pl.Trainer] | None = None  # the last trainer set up (see _check_reuse)
        self._serial = next(_SERIALS)  # names it in _PUBLISHED_ON

    def __getstate__(self) -> dict[str, Any]:
        """The callback's state for pickling (``ddp_spawn`` pickles the trainer's callbacks, ``results`` included).

        Left out: the weak references to the last module counted and the last trainer set up (not picklable; the
        copy counts its model again and has its own trainer), and the meter built for this process's device and
        counters (the copy builds its own in ``setup``, from ``meter_spec``, which keeps a meter passed in).
        """
        state = self.__dict__.copy()
        state.update(_model_stats_of={}, _meter=None, _meter_for=None, _trainer_of=None)
        return state

    @property
    def model_stats(self) -> dict[str, float]:
        """The model's counts the evaluation loops logged: ``model/params`` and the FLOPs of each loop's inference.

        One dict for every loop: ``model/flops_per_sample`` (one forward pass) and, from a predict loop with
        ``predict_flops="predict_step"``, ``model/predict_step_flops_per_sample``. Where two loops counted the same
        key (two models, or a test and a predict loop), the loop that counted last wins.
        """
        out: dict[str, float] = {}
        for stats in self._stage_stats.values():
            out.update(stats)
        return out

    @property
    def meter(self) -> EnergyMeter:
        """The energy meter in use (found in ``setup``).

        Raises:
            RuntimeError: No trainer has set the callback up yet.
        """
        if self._meter is None:
            raise RuntimeError("EnergyCallback.meter is set up by the Trainer: call trainer.test(...) first.")
        return self._meter

    @property
    def source(self) -> str | None:
        """The energy source label (``"measured: ..."`` or ``"estimated: ..."``), once set up."""
        return None if self._meter is None else self._meter.source

    # ------------------------------------------------------------------ set-up
    @override
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # The figures of an earlier call go now, not when a loop starts: Lightning skips a loop with no batches
        # (limit_test_batches=0, an empty dataloader) without its epoch hooks, and trial_metrics would report the
        # earlier loop's figures as this call's.
        if stage == "fit":  # Lightning loads a checkpoint's state (load_state_dict) after setup: an earlier fit's goes
            self._carried = self._carried_problem = self._carried_step = None
        for loop in _LOOPS_OF.get(stage, ()):
            self.results.pop(loop, None)
            self._logged.pop(loop, None)
            self._stage_stats.pop(loop, None)
        self._check_reuse(trainer, stage)
        self._check_replaced(trainer, stage)
        if type(getattr(trainer.strategy, "launcher", None)).__name__ == "_MultiProcessingLauncher":
            self._warn_once("spawned", _SPAWNED_PROCESSES)
        for other in getattr(trainer, "callbacks", ()):
            if isinstance(other, EnergyCallback) and other is not self:
                shared = self._measured_loops() & other._measured_loops()
                if shared:
                    self._warn_once(
                        "twice",
                        f"EnergyCallback: another EnergyCallback on this trainer measures the {sorted(shared)} "
                        f"loop(s) too: both log the same energy/<stage>_* names, and whichever publishes last "
                        f"replaces the other's figures. Give each callback its own stages (and train=True to one).",
                    )
        root = trainer.strategy.root_device
        where = (root, trainer.local_rank)
        self._async_device = root if root.type in ("cuda", "mps") else None
        if self._meter is not None and self._meter_for == where:
            return
        # A meter is built for one device and one local rank: another trainer using this callback on another device
        # (a CPU fit, then a test on cuda:1) or rank gets a meter of its own. A meter passed in is the user's: used
        # as is, though checked again for this rank.
        gpu_indices = [root.index or 0] if root.type == "cuda" else []
        self._meter, why = make_meter(
            self.meter_spec,
            gpu_indices=gpu_indices,
            read_cpu=trainer.local_rank == 0,
            watts_per_thread=self.watts_per_thread,
        )
        self._meter_for = where
        if self.min_duration_spec == "auto":
            self.min_duration_s = max(AUTO_MIN_DURATION_S, LOOP_MIN_PERIODS * self._meter.update_period_s)
        if why and why not in _FALLBACK_WARNED:  # once per process: a sweep builds one callback per trial
            _FALLBACK_WARNED.add(why)
            self._warn_once(f"fallback/{why}", why)
        else:
            rank_zero_info(f"EnergyCallback: energy source '{self._meter.source}'.")

    def _measured_loops(self) -> set[str]:
        """The loops whose ``energy/<loop>_*`` figures this callback logs (``train`` with ``train=True``)."""
        return {*self.stages, *(("train",) if self.train else ())}

    def min_duration_resolved_for(self, trainer: Any) -> bool:
        """Whether :attr:`min_duration_s` holds this trainer's figure.

        True when seconds were given, or ``"auto"`` was resolved for the meter of this trainer's device and rank
        (in ``setup``, which Lightning runs after the data module's ``setup``).
        """
        if self.min_duration_spec != "auto":
            return True
        strategy = getattr(trainer, "strategy", None)
        where = (getattr(strategy, "root_device", None), getattr(trainer, "local_rank", 0))
        return self._meter is not None and self._meter_for == where

    @override
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for state in self._loops.values():
            self._unmute(state)
        self._loops.clear()
        if self._train_open:  # a fit whose training loop never ran: nothing to report, close it
            self._train_open = False
            self._train_done = None
            self.meter.end("train/loop")
            self._warn_once(
                "notrain",
                f"EnergyCallback: the fit ended with no training step run (max_epochs={trainer.max_epochs}, "
                f"max_steps={trainer.max_steps}, {trainer.num_training_batches} training batches a epoch, or a "
                f"checkpoint whose training had already reached its limit; global step {trainer.global_step}): no "
                f"energy/train_j is reported.",
            )

    def _check_replaced(self, trainer: pl.Trainer, stage: str) -> None:
        """Warn once where an EnergyCallback that published figures on this trainer left it, its loops not rerun.

        Lightning calls ``LightningModule.configure_callbacks`` at every trainer function and puts what it returns in
        place of the trainer's callbacks of the same type: one that builds a new ``EnergyCallback`` each time dropped
        the fit's ``energy/train_j`` (and validation figures) at the ``test`` that followed, out of ``trial_metrics``.
        """
        try:
            published = _PUBLISHED_ON.get(trainer)
        except TypeError:  # a stand-in without weak references (a test double)
            return
        if not published:
            return
        present = {c._serial for c in getattr(trainer, "callbacks", ()) if isinstance(c, EnergyCallback)}
        rerun = set(_LOOPS_OF.get(stage, ())) & self._measured_loops()
        for serial in [s for s in published if s not in present and s != self._serial]:
            lost = sorted(published.pop(serial) - rerun)
            if lost:
                self._warn_once(
                    "replaced",
                    f"EnergyCallback: this trainer's {getattr(stage, 'value', stage)} runs without the EnergyCallback "
                    f"that measured its {', '.join(lost)} loop(s), replaced by another (a LightningModule's "
                    f"configure_callbacks that builds one at every trainer call: Lightning puts it in place of the "
                    f"trainer's): trial_metrics(trainer) no longer has those figures. Build the callback once (return "
                    f"the same instance from configure_callbacks) or pass it to Trainer(callbacks=[...]).",
                )

    def _check_reuse(self, trainer: pl.Trainer, stage: str) -> None:
        """Warn once when a new trainer's fit starts while the callback keeps another trainer's evaluation figures.

        A new fit is most often a new trial (a sweep from Python that built one callback for all): were its loops
        to skip one (a cached checkpoint, ``limit_test_batches=0``), ``trial_metrics`` would report the earlier
        trial's figures for it. A fit then a test on another trainer (one device) is the use it keeps them for.
        """
        last = self._trainer_of() if self._trainer_of is not None else None
        try:
            self._trainer_of = weakref.ref(trainer)
        except TypeError:  # a stand-in without weak references (a test double): nothing to compare with
            self._trainer_of = None
        kept = sorted(set(self.results) | set(self._logged))
        aborted = [k for k in self.results if k.endswith("_aborted")]
        if last is not None and last is not trainer and aborted and stage != "fit":
            # Loops cut short are summed across calls (a retry after an out-of-memory batch), not replaced by the
            # next loop: on a new trainer they may be another trial's.
            self._warn_once(
                "reused/aborted",
                f"EnergyCallback: a new Trainer's {getattr(stage, 'value', stage)} starts while this callback keeps "
                f"the joules of {', '.join(aborted)} loops an error cut short on an earlier trainer; trial_metrics "
                f"adds them to this trainer's (a retry in the same trial: right; another trial: counted twice). Build "
                f"a new EnergyCallback for each trial.",
            )
        if stage != "fit" or last is None or last is trainer or not kept:
            return
        self._warn_once(
            "reused",
            f"EnergyCallback: a new Trainer's fit starts while this callback keeps the {', '.join(kept)} figures "
            f"of an earlier trainer (another trial's?); trial_metrics reports them for this trainer too unless its "
            f"loops replace them. Build a new EnergyCallback for each trial.",
        )

    # ------------------------------------------------------------------ loop hooks
    @override
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # From the start of fit, so the sanity-check validation Lightning runs before training counts too: the
        # window spans the whole fit up to the end of training (on_train_end, while the loggers are still open).
        if self.train:
            self.results.pop("train", None)
            self._train_done = None
            self.meter.begin("train/loop")
            self._train_open = True

    @override
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._train_from_step = trainer.global_step  # restored from the checkpoint by now
        if self._train_open:  # the fit's loaders are set by now
            self._warn_uncounted_workers("train", trainer)

    @override
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._train_open:
            self._end_train(trainer, pl_module)
        self._keep_logged("train", trainer)

    @override
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._keep_logged("validate", trainer)

    @override
    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._keep_logged("test", trainer)

    def _keep_logged(self, loop: str, trainer: pl.Trainer) -> None:
        self._logged.pop(loop, None)  # then set again: the dict keeps the loops in the order they ended
        self._logged[loop] = _scalars(trainer.callback_metrics)

    def _end_train(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._train_open = False
        m = _joined(self._train_done, self.meter.end("train/loop"))
        self._train_done = None
        part = self._reduce(
            trainer, "train", m, None, samples=0, batches=0, tokens=None, state=_LoopState(batch_window="train/batch")
        )
        result, carried = self._with_carried(part)
        self._publish(trainer, pl_module, result, returned=False, carried=carried)

    # ------------------------------------------------------------------ checkpoints
    @override
    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Put the fit's training figures so far in the checkpoint, where ``load_state_dict`` finds them on resume.

        With ``train=True``, under ``checkpoint["callbacks"][state_key]`` (``"EnergyCallback"``), where Lightning
        keeps a callback's ``state_dict``. Written here, not by ``state_dict``: a callback with one makes Lightning
        demand a state key of its own for every instance on a trainer (it raises for two), and one callback for the
        test loop beside another for the predict loop, each ``EnergyCallback``'s key, is this callback's use.

        The figures, while the fit's window is open: every rank's joules and seconds up to now (Lightning saves on
        every rank; under DDP one all-gather, as at the end of training), the window ended and begun again (one
        reading of the meter, a few ms with Zeus), plus what the checkpoint this fit resumed from carried in where
        their labels match. After the fit, its reported figures (``results["train"]``). Nothing with
        ``train=False``, before a fit, or where Lightning saves weights only (no ``"callbacks"``).

        The state: ``{"format": 1, "source": label, "time_s": s, "gpu_j"/"cpu_j"/"dram_j"/"other_j": J or None (a
        domain not read), "global_step": step}``, plain numbers and text that ``torch.load(..., weights_only=True)``
        reads.
        """
        callbacks = checkpoint.get("callbacks")
        if not self.train or not isinstance(callbacks, dict):
            return
        figures, step = self.results.get("train"), trainer.global_step
        if self._train_open:
            figures = self._train_so_far(trainer)
        elif figures is None and self._carried is not None:  # re-saved outside a fit (after a test): as it was read
            figures, step = self._carried, trainer.global_step if self._carried_step is None else self._carried_step
        if figures is not None:
            callbacks[self.state_key] = _train_state(figures, step)

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Keep the training figures a checkpoint carried in: the fit resumed from it adds them to its own.

        A state that cannot be read (a newer format, a damaged entry) is set aside with its reason, which the
        warning at the end of training gives; a ``train=False`` callback ignores the state.
        """
        if not self.train:
            return
        try:
            self._carried, self._carried_problem = _train_figures(state_dict), None
        except ValueError as err:
            self._carried, self._carried_problem, self._carried_step = None, str(err), None
        else:
            step = state_dict.get("global_step")
            self._carried_step = step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None

    def _train_so_far(self, trainer: pl.Trainer) -> LoopEnergy | None:
        """The fit's figures up to now (every rank's, the carried ones added), its window ended and begun again."""
        try:
            segment = self.meter.end("train/loop")
        except Exception as err:  # a counter that cannot be read: the checkpoint is saved without the figures
            dropped = False
            with contextlib.suppress(Exception):  # raises where the meter kept the window open: it goes on
                self.meter.begin("train/loop")
                dropped = True
            if dropped:  # the meter dropped the window with the error (Zeus does): the joules before it are lost
                lost = Measurement(time_s=math.nan, cpu_j=math.nan, source=self.meter.source)
                self._train_done = _joined(self._train_done, lost)
            self._warn_once(
                "train/state",
                f"EnergyCallback: the fit's energy window could not be read for the checkpoint ({err!r}); the "
                "checkpoint holds no training energy, and a fit resumed from it counts its own steps only."
                + (
                    " The meter dropped the window with the error, and its joules with it: this fit's "
                    "energy/train_j and energy/train_time_s are NaN (unknown)."
                    if dropped
                    else ""
                ),
            )
            return None
        self.meter.begin("train/loop")
        self._train_done = done = _joined(self._train_done, segment)
        unread = -math.inf
        local = [
            done.gpu_total_j if done.gpu_j else unread,
            unread if done.cpu_j is None else done.cpu_j,
            unread if done.dram_j is None else done.dram_j,
            done.other_total_j if done.other_j else unread,
        ]
        sums, time_s, _ = _combine_ranks(trainer, local, done.time_s, done.kind)
        gpu_j, cpu_j, dram_j, other_j = (None if v == unread else v for v in sums)
        part = LoopEnergy("train", done.source, time_s, gpu_j, cpu_j, dram_j, samples=0, batches=0, other_j=other_j)
        return self._with_carried(part, warn=False)[0]

    def _with_carried(self, part: LoopEnergy, *, warn: bool = True) -> tuple[LoopEnergy, LoopEnergy | None]:
        """This process's training figures plus those the checkpoint carried in, where both have one label.

        Returns:
            The fit's figures and the carried ones added to them (``None``: none added, ``part`` as it is).
        """
        carried = self._carried
        if carried is None:
            return part, None
        if carried.source != part.source:  # measured and estimated, or two meters: never added
            if warn:
                self._warn_once(
                    "carried/source",
                    f"EnergyCallback: this fit resumed from a checkpoint whose training energy "
                    f"({carried.energy_j:.4g} J, {carried.time_s:.4g} s) is labelled {carried.source!r}, and this "
                    f"process measures {part.source!r}: figures of two kinds or two meters are never added, so "
                    f"energy/train_j ({part.energy_j:.4g} J) covers this process's training only (from step "
                    f"{self._train_from_step}). Resume where the fit's first part was measured the same way (the same "
                    "meter and counters); the earlier figure stays in the checkpoint (checkpoint['callbacks']"
                    "['EnergyCallback']).",
                )
            return part, None
        if self._carried_step is not None and self._carried_step != self._train_from_step:
            # Not this fit's earlier part: a checkpoint re-saved outside its fit (after a test) starts a new fit at
            # step 0 on its weights; its joules are another run's, counted there
            if warn:
                self._warn_once(
                    "carried/step",
                    f"EnergyCallback: this fit starts at step {self._train_from_step} from a checkpoint whose training "
                    f"energy ({carried.energy_j:.4g} J, {carried.time_s:.4g} s) is of a fit up to step "
                    f"{self._carried_step}: not this fit's earlier part (its weights loaded into a new fit, e.g. a "
                    f"checkpoint saved again after trainer.test), so it is not added: energy/train_j "
                    f"({part.energy_j:.4g} J) is this fit's own.",
                )
            return part, None
        if warn and not (math.isfinite(carried.energy_j) and math.isfinite(carried.time_s)):
            # A counter of the process that saved it failed: the whole fit's figure is unknown, NaN as a NaN reading
            # of this process would make it (_reduce: a NaN poisons the sum rather than vanish from it)
            self._warn_once(
                "carried/nan",
                f"EnergyCallback: this fit resumed from a checkpoint whose training figures are not numbers "
                f"({carried.energy_j:.4g} J, {carried.time_s:.4g} s: a counter of the process that saved it failed), "
                f"so energy/train_j and energy/train_time_s of the whole fit are NaN; this process's part from step "
                f"{self._train_from_step} is {part.energy_j:.4g} J, {part.time_s:.4g} s. Resume from an earlier "
                "checkpoint whose figures are numbers for a whole fit's figure.",
            )
        return _added(carried, part), carried

    @override
    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        """Close the open windows so the energy spent before the error is known (``results``, ``trial_metrics``).

        A loop cut short has no trustworthy efficiency figure: it keeps only its joules and wall time up to the
        error (``energy/{stage}_aborted_j``, ``energy/{stage}_aborted_time_s``, summed over the loops an error cut
        short under this callback), so a failed trial's search energy is not lost. Collective reductions are skipped
        (another rank may be gone), so each rank keeps its own figures.
        """
        # A fit's validation is never counted apart from the fit (inside energy/train_j, or not measured with it).
        in_fit = trainer.state.fn == TrainerFn.FITTING
        for stage in list(self._loops):
            state = self._loops.pop(stage)
            self._unmute(state)
            loop = self._close_windows(stage, state)
            if loop is not None and not (stage == "validate" and in_fit):
                self._keep_aborted(stage, loop)
        if self._train_open:
            self._train_open = False
            try:
                m = self.meter.end("train/loop")
            except Exception as err:  # a sticky CUDA error re-raised by the window's sync: the user's error comes first
                self._warn_once(
                    "train/unclosed",
                    f"EnergyCallback: the energy window of fit could not be closed after the error ({err!r}); no "
                    "energy/train figures.",
                )
            else:
                part = _window_energy("train", _joined(self._train_done, m))
                self.results["train"] = self._with_carried(part)[0]
            self._train_done = None

    def _close_windows(self, stage: str, state: _LoopState) -> Measurement | None:
        """End every window of a loop that may still be open, each on its own; their errors are dropped.

        For a loop that will not report (an error cut it short, or ending one of its windows failed): the windows
        must not stay open, or the next loop of this callback would find them ("window opened twice").

        Returns:
            The whole loop's window, or ``None`` where it could not be read (or was not open).
        """
        windows = ["batch"] if state.batch_open else []
        windows += ["steady"] if state.steady else []
        state.batch_open = False
        for window in windows:
            with contextlib.suppress(Exception):  # a window that was not open, or a counter that cannot be read
                self.meter.end(f"{stage}/{window}")
        try:
            return self.meter.end(f"{stage}/loop")
        except Exception:
            return None

    def _keep_aborted(self, stage: str, m: Measurement) -> None:
        """Keep a loop an error cut short as its joules and time, added to those of earlier ones of this stage."""
        key = f"{stage}_aborted"
        aborted = _window_energy(stage, m, aborted=True)
        earlier = self.results.get(key)
        if earlier is not None:  # a retry's: the search spent both
            aborted = _added(earlier, aborted)
        self.results[key] = aborted

    @override
    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._loop_start("test", trainer)

    @override
    def on_predict_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._loop_start("predict", trainer)

    @override
    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._loop_start("validate", trainer)

    @override
    def on_test_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        # Inline, one Python frame fewer on every batch (see _batch_start); so in each batch hook.
        state = self._loops.get("test")
        if state is None or state.start_idle:
            return
        if state.read is not None:
            state.readings.append(state.read())
        else:
            self._batch_start("test", batch)

    @override
    def on_predict_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        state = self._loops.get("predict")
        if state is None or state.start_idle:
            return
        if state.read is not None:
            state.readings.append(state.read())
        else:
            self._batch_start("predict", batch)

    @override
    def on_validation_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        state = self._loops.get("validate")
        if state is None or state.start_idle:
            return
        if state.read is not None:
            state.readings.append(state.read())
        else:
            self._batch_start("validate", batch)

    @override
    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        state = self._loops.get("test")
        if state is None:
            return
        if state.end_idle:
            state.seen += 1
        else:
            self._batch_end("test", batch, outputs)

    @override
    def on_predict_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        state = self._loops.get("predict")
        if state is None:
            return
        if state.end_idle:
            state.seen += 1
        else:
            self._batch_end("predict", batch, outputs)

    @override
    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        state = self._loops.get("validate")
        if state is None:
            return
        if state.end_idle:
            state.seen += 1
        else:
            self._batch_end("validate", batch, outputs)

    @override
    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._loop_end(trainer, pl_module, "test", returned=True)

    @override
    def on_predict_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._loop_end(trainer, pl_module, "predict", returned=False)

    @override
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._loop_end(trainer, pl_module, "validate", returned=True)

    # ------------------------------------------------------------------ orchestration
    def _loop_start(self, stage: str, trainer: pl.Trainer | None = None) -> None:
        if stage not in self.stages:
            return
        sizes = None if trainer is None or self.batch_size_fn is not None else _stage_batch_sizes(trainer, stage)
        progress = None if sizes is None or trainer is None else _completed_batches(trainer, stage)
        # The previous loop's figures go now: a loop that fails must not leave them behind as if they were its own.
        self.results.pop(stage, None)
        self._loops[stage] = state = _LoopState(
            batch_window=f"{stage}/batch",
            sizes=sizes,
            progress=progress,
            debug_run=trainer is not None and bool(getattr(trainer, "fast_dev_run", False)),  # set by its connector
        )
        if sizes is None and trainer is not None and self.batch_size_fn is None:
            state.declared_batch_size = _declared_batch_size(trainer, stage)
            state.index_sampler = _index_sampler(trainer, stage)
            state.timed_passes = _timed_passes(trainer, stage)
            state.zipped = _zipped_iterables(trainer, stage)
        if trainer is not None and _takes_dataloader_iter(trainer.lightning_module, stage):
            self._count_fetched(stage, state, trainer)
        if trainer is not None:
            self._warn_uncounted_workers(stage, trainer)
        if trainer is not None and self.warmup_batches == 0 and _is_compiled(trainer.lightning_module):
            self._warn_once(
                f"compiled/{stage}",
                f"EnergyCallback: the model is compiled (torch.compile) and warmup_batches=0, so its first {stage} "
                f"batch compiles it inside the measured window (seconds: longer than a small model's whole loop, "
                f"tens of times fewer samples/J); set warmup_batches >= 1 (the warm-up batches pay the compilation, "
                f"as energy/{stage}_warmup_j).",
            )
        self.meter.begin(f"{stage}/loop")
        if self.warmup_batches == 0:
            self._begin_steady(stage, state)

    def _count_fetched(self, stage: str, state: _LoopState, trainer: pl.Trainer) -> None:
        """Count the batches of a step that fetches its own (``dataloader_iter``) as the loop's fetcher yields them.

        Lightning calls the batch hooks once a step, with the last batch it fetched: counting there would count a
        step of several batches as one (and its warm-up in steps). So the loop's fetcher's iterator is wrapped, and
        each batch it yields is counted (``seen``, samples) as a batch hook would count it. Where the fetcher is not
        found (another Lightning), the batches are counted per step, with one warning saying so.
        """
        step = _STEPS[stage]
        fetcher = getattr(_running_loop(trainer, stage), "_data_fetcher", None)
        iterator = getattr(fetcher, "iterator", None)
        if not isinstance(iterator, Iterator):
            self._warn_once(
                f"dataloader_iter/{stage}",
                f"EnergyCallback: {step} takes the dataloader_iter, and the loop's batch fetcher was not found (a "
                f"Lightning other than {pl.__version__}?): the batch hooks see one batch a step, its last, so "
                f"batches, warm-up batches and samples (energy/{stage}_samples, energy/{stage}_samples_per_j) are "
                f"counted one batch a step, too few where a step fetches several (batch_size_fn is given that last "
                f"batch only). Fetch one batch a step, or report samples per joule from your own count.",
            )
            return
        state.fetches = True
        state.progress = None  # Lightning's progress counts steps: the end hook is never muted for it
        if self.count_fn is not None:
            self._warn_once(
                f"dataloader_iter/count_fn/{stage}",
                f"EnergyCallback(count_fn=...): {step} takes the dataloader_iter, so count_fn is called once a step, "
                f"with the step's output and the last batch it fetched (Lightning passes the batch hooks no other): "
                f"count the tokens from the outputs, or a step of several batches counts one batch's tokens.",
            )
        if self.per_batch == "window":
            self._warn_once(
                f"dataloader_iter/window/{stage}",
                f"EnergyCallback(per_batch='window'): {step} takes the dataloader_iter, so a window per batch hook "
                f"would span a step of any number of batches; energy/{stage}_j_per_batch is the loop's joules per "
                f"batch instead (per_batch='split').",
            )

        def counted(items: Iterator[Any]) -> Iterator[Any]:
            for item in items:
                if self._loops.get(stage) is state:  # not after the loop ended (or an error cut it short)
                    self._count_batch(item[0] if isinstance(item, tuple) else item, state)
                yield item

        fetcher.iterator = counted(iterator)  # type: ignore[union-attr]

    def _warn_uncounted_workers(self, stage: str, trainer: pl.Trainer) -> None:
        """Warn once where the CPU-time estimate leaves out the worker processes that load the loop's batches."""
        if not isinstance(self.meter, CpuTimeEstimator):
            return
        workers = _worker_processes(trainer, stage)
        if workers:
            loop = "fit (energy/train_j)" if stage == "train" else f"{stage} loop"
            self._warn_once(
                f"workers/{stage}",
                f"EnergyCallback: the {loop} loads its batches in {workers} worker processes "
                f"(num_workers={workers}), whose CPU time the '{self.meter.source}' estimate does not count "
                "(it counts this process only): loading is left out, and more workers look cheaper. Compare "
                "estimates at one num_workers (num_workers=0 counts the loading), or measure with counters.",
            )

    def _begin_steady(self, stage: str, state: _LoopState) -> None:
        state.warmup_seen = state.seen
        if state.fetches:  # a batch hook's window would hold a step's batches, any number of them
            state.mode = "split"
        elif self.per_batch == "auto":
            state.mode = choose_per_batch_mode(state.warmup_durations_s, self.meter.update_period_s)
        else:
            state.mode = self.per_batch
        if (
            state.mode == "window"
            and isinstance(self.meter, CounterReader)
            and getattr(self.meter, "reads_counters", True)
        ):
            state.read = self.meter.read
        if stage != "train":
            # A CPU-time estimate is moved only by load on the CPUs this process may use (its cpuset); RAPL counts
            # the whole package, so a measured figure is moved by load anywhere on the machine.
            state.cpu_set = allowed_cpus() if isinstance(self.meter, CpuTimeEstimator) else None
            state.cpu_start = cpu_snapshot(state.cpu_set)  # before the window opens: its cost (0.1 ms) is not measured
            state.graphs_start = _compiled_graphs()
        self.meter.begin(f"{stage}/steady")
        state.steady = True
        state.start_idle = state.mode != "window"

    # The two batch hooks run on every batch, inside the measured loop: the steady-state path comes first and does
    # the least work it can (one counter reading per batch with a CounterReader; joules worked out at the loop's end).
    def _batch_start(self, stage: str, batch: Any) -> None:
        state = self._loops.get(stage)
        if state is None:
            return
        if not state.steady:
            if state.seen < self.warmup_batches:
                self._sync_warmup()
                state.batch_t0 = time.perf_counter()
                return
            self._begin_steady(stage, state)
        if state.read is not None:
            state.readings.append(state.read())
        elif state.mode == "window":
            self._next_batch_window(state)

    def _sync_warmup(self) -> None:
        # CUDA and MPS (Apple silicon) run asynchronously: without a sync a warm-up batch would be timed by how long
        # its kernels took to *launch*, and the per-batch rule would judge long GPU batches short. Warm-up batches are
        # outside the measured window, so the syncs cost the figures nothing.
        if self._async_device is None:
            return
        if self._async_device.type == "mps":
            torch.mps.synchronize()
        else:
            torch.cuda.synchronize(self._async_device)

    def _next_batch_window(self, state: _LoopState, *, last: bool = False) -> None:
        if state.batch_open:
            state.batch_j.append(self.meter.end(state.batch_window).total_j)
        if not last:
            self.meter.begin(state.batch_window)
        state.batch_open = not last

    def _batch_end(self, stage: str, batch: Any, outputs: Any) -> None:
        state = self._loops.get(stage)
        if state is None:
            return
        if not state.steady:
            self._sync_warmup()
            state.warmup_durations_s.append(time.perf_counter() - state.batch_t0)
        if (
            self.count_fn is not None
            and (returned := _call_user("count_fn", self.count_fn, batch, outputs)) is not None
        ):
            tokens = _user_count("count_fn", returned, "tokens the batch produced")
            if state.steady:
                state.tokens = (state.tokens or 0) + tokens
            else:
                state.warmup_tokens = (state.warmup_tokens or 0) + tokens
        if state.fetches:  # the step's batches were counted as they were fetched (_count_fetched)
            return
        self._count_batch(batch, state)
        state.end_idle = state.steady and state.sizes is not None and self.count_fn is None
        if state.steady and not state.mute_checked:
            self._mute_idle_hooks(stage, state)

    def _count_batch(self, batch: Any, state: _LoopState) -> None:
        """Count one batch of the running loop, and its samples where the dataloader does not fix them."""
        if state.sizes is None:
            if state.steady:
                state.samples += self._count_samples(batch, state)
            else:
                state.warmup_samples += self._count_samples(batch, state)
        if state.seen == 0:
            self._first_batch(batch, state)
        state.seen += 1

    def _mute_idle_hooks(self, stage: str, state: _LoopState) -> None:
        """Take this stage's idle batch hooks out of Lightning's dispatch until the loop ends.

        Lightning calls a callback's hook only if ``getattr(callback, hook_name)`` is callable, and each call costs
        a profiler context and a frame even when the hook returns at once: about 2.2 us a hook (0.1 us once muted),
        more than all the rest of loop mode's overhead on a 1 ms batch. So a hook with nothing left to do is
        shadowed by ``None`` on the instance: the start hook in loop mode, and the end hook where the samples come
        from the dataloader (the batches seen are then read from Lightning's own progress count when the loop ends).
        Only where a probe shows that Lightning skips such a hook, and only a hook a subclass has not overridden:
        its override (a count of its own, then ``super()``) must go on running on every batch.
        """
        state.mute_checked = True
        if not _dispatch_skips_non_callables():
            return
        start, end = _BATCH_HOOKS[stage]
        muted = []
        if state.start_idle:
            muted.append(start)
        if state.end_idle and state.progress is not None and state.progress.completed == state.seen - 1:
            muted.append(end)
        muted = [name for name in muted if getattr(type(self), name) is getattr(EnergyCallback, name)]
        for name in muted:
            setattr(self, name, None)
        state.muted = tuple(muted)

    def _unmute(self, state: _LoopState) -> None:
        for name in state.muted:
            self.__dict__.pop(name, None)
        state.muted = ()

    def _first_batch(self, batch: Any, state: _LoopState) -> None:
        if state.sizes is not None and _first_tensor_path(batch) is not None:
            # Batch sizes known from the dataloader are exact (default_collate stacks the samples along the first
            # dimension): a first tensor of another leading size was reshaped after collation, by a hook
            # (on_after_batch_transfer: sequence-first, say). The dataloader's count stands, and a warning says so.
            # A batch with no tensor (a dataset of strings) has no count of its own either.
            counted = self._count_samples(batch, state)  # finds the first tensor's path (sample_path)
            expected = _samples_in(state.sizes, 0, 1)
            if counted != expected and state.sample_path is not None:
                path = state.sample_path
                first = _follow(batch, path)
                stage = state.batch_window.partition("/")[0]
                self._warn_once(
                    f"reshaped/{stage}",
                    f"EnergyCallback: the {stage} DataLoader's first batch holds {expected} samples (its batch_size, "
                    f"collated by default_collate), but the batch the step receives leads with "
                    f"{_where(path)} {_shape(first)}, whose first dimension is {counted}: a hook "
                    f"(on_before_batch_transfer, transfer_batch_to_device, on_after_batch_transfer) reshaped it, "
                    f"sequence-first say. Counting the DataLoader's samples ({expected} in the first batch); if that "
                    f"is not the number of samples in a batch, pass batch_size_fn=lambda batch: ... to count them.",
                )
        if self.log_model_stats:
            stage = state.batch_window.partition("/")[0]
            why, fix = "", "Pass log_model_stats=False to count nothing and silence this."
            try:
                state.sample_input = self._sample_of(batch, state)
            except TrialFailure:  # the trial's time limit fell due here: it stops the trial
                raise
            except Exception as err:  # a batch no sample can be cut from (nested tensors): no FLOPs, not a failed loop
                why = f"one sample could not be cut from the first {stage} batch (a {type(batch).__name__}; {err!r})"
            else:
                if state.sample_input is None and _first_tensor_path(batch) is None:
                    # Texts alone, or an object of the user's own: the FLOPs pass has no tensor to give forward.
                    why = (
                        f"the first {stage} batch (a {type(batch).__name__}) holds no tensor with a batch dimension "
                        f"in its mappings, lists, tuples or dataclass fields, so one sample cannot be cut from it "
                        f"(texts, or an object of your own; batch_size_fn counts its samples, not its FLOPs)"
                    )
                    fix = (
                        "Collate to tensors, a dict or a dataclass of them, for a count, or pass "
                        "log_model_stats=False to count nothing and silence this."
                    )
            if why:
                flops_key = _flops_key(stage, self.predict_flops == "predict_step")
                self._warn_once(
                    f"flops/cut/{stage}", f"EnergyCallback: FLOPs not counted, {flops_key} is not logged: {why}. {fix}"
                )

    def _sample_of(self, batch: Any, state: _LoopState) -> Any:
        """One sample of the first batch, for its FLOPs: cut along the dimension that holds the batch's samples.

        That is the first tensor's leading dimension, unless a hook reshaped the batch (sequence-first: ``(T, B,
        ...)``) and the batch holds ``B`` samples by the user's ``batch_size_fn`` or the DataLoader's batch size. Cut
        along its first dimension, one time step of every sample was counted as one sample. Where no single dimension
        holds them (a flattened ``(B*T, ...)``), no sample is cut and FLOPs are not counted, with a warning.
        """
        first_path = _first_tensor_path(batch)
        if first_path is None:
            return _one_sample(batch)
        first = _follow(batch, first_path)
        if self.batch_size_fn is not None:
            samples: int | None = _user_batch_size(self.batch_size_fn, batch)
        else:
            samples = None if state.sizes is None else _samples_in(state.sizes, 0, 1)
        if samples is None or first.shape[0] == samples:
            return _one_sample(batch)
        dims = [dim for dim, size in enumerate(first.shape) if size == samples]
        if len(dims) == 1 or (dims and samples == 1):  # a batch of one sample is that sample, cut along any of them
            return _one_sample(batch, dim=dims[0])
        stage = state.batch_window.partition("/")[0]
        flops_key = _flops_key(stage, self.predict_flops == "predict_step")
        self._warn_once(
            f"flops/cut/{stage}",
            f"EnergyCallback: FLOPs not counted, {flops_key} is not logged: the first {stage} batch holds "
            f"{samples} samples, but {_where(first_path)} {tuple(first.shape)} has "
            f"{'no dimension' if not dims else 'several dimensions'} of that size, so one sample cannot be cut from "
            f"it (pass log_model_stats=False to count nothing and silence this).",
        )
        return None

    def _loop_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str, returned: bool) -> None:
        state = self._loops.pop(stage, None)
        if state is None:
            return
        if _BATCH_HOOKS[stage][1] in state.muted:  # batches since the end hook was muted: Lightning's count
            state.seen = max(state.seen, state.progress.completed)
        self._unmute(state)
        if state.seen == 0 and trainer.world_size == 1:
            # An iterable dataset that yielded nothing (Lightning skips an empty loop it can size, hooks and all):
            # no figures, rather than the loop's overhead as a tiny energy/<stage>_j a sweep would rank best. Under
            # DDP the rank still joins the ranks' reduction below (the others wait for it there).
            self._close_windows(stage, state)
            self._warn_no_batches(stage)
            return
        try:
            steady, whole, batches, contention = self._end_windows(stage, state)
        except BaseException:
            self._close_windows(stage, state)  # what the failed end left open; the first error is the one raised
            raise
        result = self._reduce(
            trainer,
            stage,
            steady,
            whole,
            samples=state.samples,
            batches=batches,
            tokens=state.tokens,
            state=state,
            contention=contention,
        )
        if result.batches == 0 and result.warmup_batches == 0:  # no rank ran a batch
            self._warn_no_batches(stage)
            return
        if stage != "train" and result.batches > 0 and result.samples == 0:
            counted = "batch_size_fn returned 0 for each" if self.batch_size_fn is not None else "each was empty"
            self._warn_once(
                f"nosamples/{stage}",
                f"EnergyCallback: the {stage} loop counted 0 samples in its {_batches(result.batches)} measured "
                f"({counted}), so energy/{stage}_samples_per_j is 0 and energy/{stage}_j_per_sample NaN. Pass a "
                f"batch_size_fn that returns the samples in a batch.",
            )
        if self.log_model_stats:
            self._update_model_stats(pl_module, state.sample_input, stage)
        self._publish(trainer, pl_module, result, returned=returned)

    def _warn_no_batches(self, stage: str) -> None:
        self._warn_once(
            f"nobatches/{stage}",
            f"EnergyCallback: the {stage} loop ran no batches (its dataloader yielded none), so it reports no energy "
            f"figures.",
        )

    def _end_windows(self, stage: str, state: _LoopState) -> tuple[Measurement, Measurement, int, float | None]:
        """End a finished loop's windows: the measured one, the whole loop's, batches measured and CPU contention."""
        if state.read is not None:  # the last batch's window ends with the measured one
            state.readings.append(state.read())
            state.batch_j = _joules_per_batch(self.meter, state.readings)
        elif state.batch_open:
            self._next_batch_window(state, last=True)
        if state.sizes is not None:
            warmup = state.warmup_seen if state.steady else state.seen
            state.warmup_samples = _samples_in(state.sizes, 0, warmup)
            state.samples = _samples_in(state.sizes, warmup, state.seen)
        if state.steady:
            # The measured window ends first: ending a window costs a sync and counter readings (a few ms of NVML),
            # which must not count as the measured batches' energy. It lands in the whole loop's window instead,
            # and so in the warm-up figure (the whole loop minus the measured part).
            steady = self.meter.end(f"{stage}/steady")
            contention = others_share(state.cpu_start, cpu_snapshot(state.cpu_set))
            state.graphs_in_window = max(_compiled_graphs() - state.graphs_start, 0)  # < 0: torch._dynamo.reset()
            whole = self.meter.end(f"{stage}/loop")
            batches = state.seen - state.warmup_seen
        else:
            whole = self.meter.end(f"{stage}/loop")
            # The loop ended inside its warm-up: measure it whole rather than not at all.
            count = _batches(state.seen)
            had = (
                f"fetched {count} (its {_STEPS[stage]} takes the dataloader_iter) and no step began after the first"
                if state.fetches
                else f"had {count}, not more than"
            )
            flagged = (
                f" and are flagged (energy/{stage}_short_window=1): a first batch's one-off costs (torch.compile's "
                f"compilation, cache fills) count as inference, which put a compiled model ~10x below its eager self"
                if stage != "train"
                else ""
            )
            if not state.debug_run:
                self._warn_once(
                    f"nowarmup/{stage}",
                    f"EnergyCallback: the {stage} loop {had} warmup_batches={self.warmup_batches}; its figures include "
                    f"the warm-up{flagged}. Lower warmup_batches or use more batches.",
                )
            steady, batches = whole, state.seen
            state.samples, state.tokens = state.warmup_samples, state.warmup_tokens
            contention = None
        return steady, whole, batches, contention

    def _update_model_stats(self, pl_module: pl.LightningModule, sample: Any, stage: str) -> None:
        """Keep this loop's counts of the model's parameters and FLOPs (again when the module or the sample changed).

        They are counted again when the module, its size or the sample's shape changed. One callback can see several
        models (``trainer.test(model_a)``, then ``trainer.test(model_b)``; a model quantised after fitting), and each
        loop's figures must carry its own model's counts. Each loop keeps its own (one inference is ``predict_step``
        in a predict loop with ``predict_flops="predict_step"``, a whole generation, and ``forward`` elsewhere).
        Counting FLOPs costs a forward pass, so an unchanged model keeps its counts.
        """
        key = (_parameter_count(pl_module), _shapes(sample))
        seen = self._model_stats_of.get(stage)
        if seen is not None and seen[0]() is pl_module and seen[1] == key:
            stats = seen[2]
        else:
            stats = _model_stats(
                pl_module,
                sample,
                stage,
                on_meta=self.flops_on_meta,
                predict_step=self.predict_flops == "predict_step",
                warn=self._warn_once,
                step_context=_step_context(pl_module, stage),
            )
            self._model_stats_of[stage] = (weakref.ref(pl_module), key, stats)
        self._stage_stats.pop(stage, None)  # then set again: the loop that counted last comes last
        self._stage_stats[stage] = dict(stats)

    def _count_samples(self, batch: Any, state: _LoopState) -> int:
        if self.batch_size_fn is not None:
            return _user_batch_size(self.batch_size_fn, batch)
        if state.zipped is not None:
            return self._count_combined(batch, state)
        # Fast path, every batch after the first: follow the keys/indices that led to the first tensor last time.
        # Batches of one loop share their structure; if this one does not, search it again.
        if state.sample_path is not None:
            try:
                found = _follow(batch, state.sample_path)
                if isinstance(found, torch.Tensor):
                    return found.size(0)  # an IndexError for a 0-d tensor
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        path = _first_tensor_path(batch)
        first = None if path is None else _follow(batch, path)
        if first is None:
            indices = _batch_indices(state.index_sampler, state.seen)  # this batch's, in the order they were drawn
            if indices is None and state.timed_passes is not None:
                indices = state.timed_passes.samples_in_batch(state.seen)
            if indices is not None:
                return indices
            declared = state.declared_batch_size  # kept for the next batches: none of them has a tensor either
            counting = (
                "1 sample per batch"
                if declared is None
                else f"the DataLoader's batch_size, {declared}, per batch (a last, shorter batch counts in full)"
            )
            self._warn_once(
                "nosamples",
                "EnergyCallback: found no tensor with a batch dimension (ndim >= 1) in the batch's tensors, mappings, "
                f"sequences or dataclass fields (a batch of type {type(batch).__name__}); counting {counting}. Pass "
                "batch_size_fn=lambda batch: ... to count samples.",
            )
            return 1 if declared is None else declared
        state.sample_path = path
        count = int(first.size(0))  # not shape[0]: a strided nested tensor has no shape, only sizes per dim
        declared, state.declared_batch_size = state.declared_batch_size, None  # the first batch only: the last
        if declared is not None and count != declared:  # may be smaller
            self._warn_once(
                f"batchsize/{declared}/{count}",
                f"EnergyCallback: counted {count} samples in a batch, the first dimension of {_where(path or ())} "
                f"{_shape(first)}, but the DataLoader's batch_size is {declared}. A collate function that "
                f"returns per-sample tensors in a list or tuple (detection models) makes the first tensor one sample; "
                f"one that packs samples changes the count. If {count} is not the number of samples in a batch, pass "
                f"batch_size_fn=lambda batch: ... (e.g. len(batch[0])) to count them.",
            )
        return count

    def _count_combined(self, batch: Any, state: _LoopState) -> int:
        """Samples in a batch of a CombinedLoader that zips several iterables: every iterable's batch in it counts.

        Its first tensor is the first iterable's only. An iterable that is exhausted (``max_size``) holds ``None``;
        where an iterable's batch has no tensor, its first tensor is searched in the whole batch, with a warning.
        """
        try:
            counts = [_leading_size(part) for part in _zipped_parts(batch, state.zipped)]
        except (KeyError, IndexError, TypeError):  # a batch of another structure (a hook changed it)
            counts = []
        if counts and all(count is not None for count in counts):
            return sum(count or 0 for count in counts)
        self._warn_once(
            "combined/nosamples",
            f"EnergyCallback: a batch of the CombinedLoader zipping {len(_flat_loaders(state.zipped))} iterables (a "
            f"{type(batch).__name__}) does not hold, in the iterables' structure, a tensor with a batch dimension "
            "for each of them; counting its first tensor's samples only, those of one iterable. Pass "
            "batch_size_fn=lambda batch: ... (every iterable's samples in the batch together) to count them.",
        )
        state.zipped = None
        return self._count_samples(batch, state)

    def _reduce(
        self,
        trainer: pl.Trainer,
        stage: str,
        steady: Measurement,
        whole: Measurement | None,
        *,
        samples: int,
        batches: int,
        tokens: int | None,
        state: _LoopState,
        contention: float | None = None,
    ) -> LoopEnergy:
        # An unread domain travels through the cross-rank sum as -inf (a NaN reading, e.g. a counter that wrapped
        # unnoticed, must stay NaN and poison the total rather than vanish from it as "not measured").
        unread = -math.inf
        local = {
            "gpu_j": steady.gpu_total_j if steady.gpu_j else unread,  # no GPU index read: no GPU figure, not 0 J
            "cpu_j": unread if steady.cpu_j is None else steady.cpu_j,
            "dram_j": unread if steady.dram_j is None else steady.dram_j,
            "other_j": steady.other_total_j if steady.other_j else unread,  # an SoC's other parts (Apple's ANE)
            "samples": float(samples),
            "batches": float(batches),
            "tokens": unread if tokens is None else float(tokens),  # no rank counted any: no tokens figure
            "warmup_j": 0.0 if whole is None else max(whole.total_j - steady.total_j, 0.0),
            # A rank that ended inside its warm-up was measured whole: its batches are in "batches", none warm-up
            "warmup_batches": 0.0 if whole is None or not state.steady else float(state.warmup_seen),
            # Every rank's per-batch windows, summed and counted: one rank's alone may hold all ranks' work (RAPL is
            # package-wide) or none of it (a rank that rank 0's RAPL covers reads 0 J).
            "batch_j_sum": math.fsum(state.batch_j),
            "batch_windows": float(len(state.batch_j)),
            # Each rank picks its per-batch mode from its own warm-up: windows count only where every rank has them
            # (one rank's windows alone would divide every rank's joules, or none, by its batches).
            "ranks_with_windows": 1.0 if state.mode == "window" else 0.0,
            # A rank that ended inside its warm-up was measured whole, its cold start in (an uneven shard's rank):
            # the loop's figures hold its one-off costs on every rank, so every rank flags them.
            "in_warmup": 0.0 if stage == "train" or state.steady else 1.0,
            # torch.compile's graphs built inside the measured window (a recompilation): its seconds are measured
            "graphs_in_window": float(state.graphs_in_window),
        }
        sums, time_s, rows = _combine_ranks(trainer, list(local.values()), steady.time_s, steady.kind)
        figures = dict(zip(local, sums, strict=True))
        per_rank = [dict(zip(local, row, strict=True)) for row in rows]
        in_warmup = {rank: row for rank, row in enumerate(per_rank) if row["in_warmup"] > 0}
        period_s = self._meter.update_period_s if self._meter is not None else 0.0
        # A shorter window reads within a few counter steps; min_duration_s=0 turns the check off.
        resolved_s = LOOP_MIN_PERIODS * period_s if self.min_duration_s > 0 else 0.0
        every_rank_windows = figures["ranks_with_windows"] == trainer.world_size
        windows = figures["batch_windows"]
        short_s = time_s < max(self.min_duration_s, resolved_s)
        result = LoopEnergy(
            stage=stage,
            source=steady.source,
            time_s=time_s,
            gpu_j=None if figures["gpu_j"] == unread else figures["gpu_j"],
            cpu_j=None if figures["cpu_j"] == unread else figures["cpu_j"],
            dram_j=None if figures["dram_j"] == unread else figures["dram_j"],
            other_j=None if figures["other_j"] == unread else figures["other_j"],
            samples=int(figures["samples"]),
            batches=int(figures["batches"]),
            tokens=None if figures["tokens"] == unread else int(figures["tokens"]),
            warmup_batches=int(figures["warmup_batches"]),
            warmup_j=figures["warmup_j"],
            per_batch_mode="window" if every_rank_windows else "split",
            batch_j=tuple(state.batch_j) if every_rank_windows else (),
            batch_mean_j=figures["batch_j_sum"] / windows if every_rank_windows and windows > 0 else None,
            # Ended inside its warm-up (not steady) on any rank: measured whole, one-off costs in (in every rank's
            # sum), as untrustworthy as a short one.
            short=stage != "train" and (short_s or bool(in_warmup) or figures["graphs_in_window"] > 0),
            cpu_contention=contention,
            in_fit=trainer.state.fn == TrainerFn.FITTING if stage == "validate" else None,
        )
        if in_warmup and trainer.world_size > 1 and not state.debug_run:
            self._warn_ranks_in_warmup(stage, in_warmup, result)
        if figures["graphs_in_window"] > 0:
            ranks = [rank for rank, row in enumerate(per_rank) if row["graphs_in_window"] > 0]
            self._warn_once(
                f"recompiled/{stage}",
                f"EnergyCallback: torch.compile built {int(figures['graphs_in_window'])} new graph(s) inside the "
                f"measured {stage} loop"
                + (f" (on ranks {ranks})" if trainer.world_size > 1 else "")
                + f": a recompilation (a batch of other shapes, such as a last, partial batch, or a new code path), "
                f"whose seconds of compiling are in energy/{stage}_j; the loop is flagged "
                f"(energy/{stage}_short_window=1). Give every batch the same shapes (drop_last=True), compile with "
                f"dynamic=True, or call torch.compiler.set_stance('eager_on_recompile') once the warm-up batches "
                f"have run.",
            )
        # Said once: the message (and its ranks' note) is not built again for every later loop
        said = f"contention/{stage}"
        if contention is not None and contention > CONTENTION_WARN_SHARE and said not in self._warned:
            estimated = isinstance(self.meter, CpuTimeEstimator)
            capacity = "the capacity of the CPUs this process may use" if estimated else "this machine's CPU capacity"
            head = (
                f"EnergyCallback: other processes kept {contention:.0%} of {capacity} busy during the measured "
                f"{stage} loop (energy/{stage}_cpu_contention)"
            )
            # Explained once per process: a sweep builds one callback per trial, and 18 of a 30-trial sweep's trials
            # on a shared host repeated the same 380 characters, each with this file's path in front.
            if "contention" in _FALLBACK_WARNED:
                why = ": its energy figures grew with that load too (see the first such warning)."
            else:
                _FALLBACK_WARNED.add("contention")
                why = (
                    ". Measured CPU/DRAM energy (RAPL) includes their work, and a CPU-time estimate grows with the "
                    "contention too (threads wait and spin): compare such figures only with others taken under the "
                    "same load, or measure on an otherwise idle machine."
                )
            self._warn_once(said, head + why + _sibling_ranks_note(trainer))
        # One that ended inside its warm-up has said so (_end_windows); a fast_dev_run is short by design
        if result.short and short_s and not state.debug_run:
            # A config made for the CPU estimate (min_duration_s=0.2) on NVML: its windows span two counter updates.
            below = (
                f"min_duration_s={self.min_duration_s:g} s"
                if resolved_s <= self.min_duration_s
                else f"{resolved_s:g} s: {LOOP_MIN_PERIODS} updates of '{result.source}' (every "
                f"{period_s:g} s; min_duration_s={self.min_duration_s:g} is below that: pass "
                f"min_duration_s={resolved_s:g})"
            )
            self._warn_once(
                f"short/{stage}",
                f"EnergyCallback: the measured {stage} loop lasted {time_s:.3f} s, less than {below}; its figures are "
                f"flagged (energy/{stage}_short_window=1): {_short_window_risk(time_s, period_s)}. Evaluate more "
                f"batches for a trustworthy figure: a small {stage} set can be repeated in whole passes until the "
                "window is long enough (lightning_ecopt.inference.TimedPasses, in docs/callback.md's 'Short loops').",
            )
        if not result.energy_read and not math.isnan(result.energy_j):  # NaN: the meter has said why
            # A fit logs its joules and seconds only (LoopEnergy.metrics): no efficiency figure to be NaN
            what, logged, longer = (
                ("fit", f"energy/train_j is logged as read ({result.energy_j:g} J)", "train")
                if stage == "train"
                else (
                    f"{stage} loop",
                    "samples/J, J/sample, J/batch, power (and tokens/J) are logged as NaN",
                    "evaluate",
                )
            )
            self._warn_once(
                f"zero/{stage}",
                f"EnergyCallback: the {what} read {result.energy_j:g} J from '{result.source}' over {time_s:.3f} s, "
                f"no usable energy; {logged}. At 0 J the window is shorter than the counter's update period, or the "
                f"counter is not advancing: {longer} for longer; a negative or infinite figure is a counter that went "
                "wrong.",
            )
        return result

    def _warn_ranks_in_warmup(self, stage: str, in_warmup: dict[int, dict[str, float]], result: LoopEnergy) -> None:
        """Warn (rank 0, from the gathered figures) that ranks ended inside their warm-up, with their figures.

        Each such rank says so only to itself (``_end_windows``), and a rank other than 0 is never heard.
        """
        said = []
        for rank, row in in_warmup.items():
            joules = sum(row[k] for k in ("gpu_j", "cpu_j", "dram_j", "other_j") if row[k] != -math.inf)
            said.append(f"rank {rank}: {_batches(int(row['batches']))}, {int(row['samples'])} samples, {joules:.4g} J")
        self._warn_once(
            f"nowarmup/ranks/{stage}",
            f"EnergyCallback: under DDP, rank(s) {sorted(in_warmup)} ended the {stage} loop inside the warm-up (no "
            f"more batches than warmup_batches={self.warmup_batches}): measured whole, their first batches' one-off "
            f"costs (torch.compile's compilation, cache fills) are in energy/{stage}_j ({result.energy_j:.4g} J, "
            f"every rank's; {'; '.join(said)}), and the loop is flagged (energy/{stage}_short_window=1). Give every "
            f"rank more than warmup_batches batches (even shards), or lower warmup_batches.",
        )

    def _publish(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        result: LoopEnergy,
        returned: bool,
        carried: LoopEnergy | None = None,
    ) -> None:
        """Keep the figures and log them to ``trainer.callback_metrics`` and every logger.

        With ``returned`` (test, validate) they also go into the dicts the loop returns, which Lightning logs when
        the loop ends: cheaper than one ``pl_module.log`` per figure (~0.3 ms each, ~4 ms a loop, most of loop
        mode's overhead). Where those dicts cannot be found, ``pl_module.log`` it is. ``carried``: the training
        figures a checkpoint carried in, inside ``result``'s, logged apart too.
        """
        self.results[result.stage] = result
        with contextlib.suppress(TypeError):  # a stand-in trainer without weak references: nothing to check
            _PUBLISHED_ON.setdefault(trainer, {}).setdefault(self._serial, set()).add(result.stage)
        metrics = result.metrics()
        if result.stage != "train":
            metrics.update(self._stage_stats.get(result.stage, {}))  # this loop's counts, not another loop's
        if carried is not None:  # inside energy/train_j and energy/train_time_s: logged apart, so the sum shows
            metrics["energy/train_carried_j"] = carried.energy_j + carried.warmup_j
            metrics["energy/train_carried_time_s"] = carried.time_s
        if result.stage == "train" and self._train_from_step > 0:
            metrics["energy/train_resumed_from_step"] = float(self._train_from_step)
            self._say_resumed(trainer, result, carried)
        outputs = _evaluation_outputs(trainer) if returned else None
        if returned and outputs is None:
            for key, value in metrics.items():
                pl_module.log(key, value, on_step=False, on_epoch=True, sync_dist=False)
        else:
            trainer.callback_metrics.update({k: torch.tensor(v) for k, v in metrics.items()})
            if outputs is None:
                _log_to_loggers(trainer, metrics)
            else:
                for dl_outputs in outputs:
                    dl_outputs.update(metrics)
        labels = {f"energy/{result.stage}_source": result.source}
        if result.stage != "train":
            labels[f"energy/{result.stage}_per_batch_mode"] = result.per_batch_mode
        _log_labels(trainer, labels, self._warn_once)

    def _say_resumed(self, trainer: pl.Trainer, result: LoopEnergy, carried: LoopEnergy | None) -> None:
        """Say what ``energy/train_j`` of a fit that did not start at step 0 covers: the whole fit, or a part."""
        step, whole_j = self._train_from_step, result.energy_j + result.warmup_j
        if carried is not None:
            carried_j = carried.energy_j + carried.warmup_j
            rank_zero_info(
                f"EnergyCallback: this fit resumed from a checkpoint at step {step}: energy/train_j ({whole_j:.4g} J) "
                f"holds the {carried_j:.4g} J the checkpoint carried (energy/train_carried_j) and this run's "
                f"{whole_j - carried_j:.4g} J to step {trainer.global_step}."
            )
            return
        if trainer.ckpt_path is None:
            # A second fit() of the same model and trainer goes on from where the first stopped: its joules are the
            # first fit's figure, not a checkpoint's.
            how, earlier = "went on from an earlier fit()", "the steps before ran in an earlier fit() of this trainer"
        elif self._carried is not None:
            return  # carried in, but measured otherwise: _with_carried has said so
        else:
            why = self._carried_problem or (
                "holds no training energy (saved without EnergyCallback(train=True), or by lightning_ecopt before "
                "2026-12-07)"
            )
            how = "resumed from a checkpoint"
            earlier = (
                f"the steps before ran in an earlier process, and the checkpoint {why}: their joules are not counted"
            )
        self._warn_once(
            "resumed",
            f"EnergyCallback: this fit {how} at step {step}: energy/train_j ({whole_j:.4g} J) covers its training "
            f"from there to step {trainer.global_step} only; {earlier} (logged: energy/train_resumed_from_step). Add "
            f"that run's energy/train_j for the whole fit.",
        )

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            rank_zero_warn(message)


# ---------------------------------------------------------------------- helpers
_LOOPS_OF: dict[str, tuple[str, ...]] = {
    "fit": ("train", "validate"),
    "validate": ("validate",),
    "test": ("test",),
    "predict": ("predict",),
}
"""The loops (keys of ``EnergyCallback.results``) each trainer function (``setup``'s ``stage``) may run."""


def _short_window_risk(time_s: float, update_period_s: float) -> str:
    """What is uncertain in a short loop's figures, for the warning: a counter step, or only the run-to-run spread.

    Under :data:`LOOP_MIN_PERIODS` updates (NVML's 0.1 s steps in a 1.5 s loop) one counter step is over 5 % of the
    window. On a counter that fine (RAPL's 1 ms, the CPU-time estimate's nanoseconds) the step is no concern, and
    what a short loop risks is the machine's jitter and each loop's fixed costs (docs/bench-callback.md).

    >>> _short_window_risk(1.5, 0.1)
    'they may be off by a whole counter step (0.1 s, 7 % of the loop)'
    >>> _short_window_risk(0.5, 1e-9).startswith("the meter's counter step (1e-09 s) is no concern here")
    True
    """
    if time_s < LOOP_MIN_PERIODS * update_period_s:
        share = update_period_s / time_s if time_s > 0 else math.inf
        return f"they may be off by a whole counter step ({update_period_s:g} s, {100 * share:.0f} % of the loop)"
    return (
        f"the meter's counter step ({update_period_s:g} s) is no concern here, but a short loop's figures move with "
        "the machine's jitter (other processes, clock speeds) and the loop's fixed costs: identical test loops of a "
        f"small CNN, measured with the CPU-time estimate on a shared 2-core VM, spread {_SHORT_LOOP_SPREAD} in "
        "samples/J (relative standard deviation; docs/bench-callback.md)"
    )


def _batches(n: int) -> str:
    """``n`` batches, in words, for a message.

    >>> _batches(1), _batches(3)
    ('1 batch', '3 batches')
    """
    return f"{n} batch" if n == 1 else f"{n} batches"


def _is_compiled(module: object) -> bool:
    """Whether ``module`` or one of its submodules runs through ``torch.compile``.

    ``module.compile()``, a module given to Lightning compiled, or a compiled submodule (``self.net =
    torch.compile(net)``, ``self.net.compile()``).
    """
    modules = module.modules() if isinstance(module, torch.nn.Module) else (module,)
    return any(
        getattr(m, "_compiled_call_impl", None) is not None
        or getattr(m, "_compiler_ctx", None) is not None
        or getattr(m, "_orig_mod", None) is not None  # torch.compile(net): an OptimizedModule wrapping net
        for m in modules
    )


def _compiled_graphs() -> int:
    """Graphs ``torch.compile`` (TorchDynamo) has built in this process so far: a rise is a (re)compilation.

    0 where nothing imported TorchDynamo (nothing was compiled; importing it would cost a second) or this torch keeps
    no such count.
    """
    utils = sys.modules.get("torch._dynamo.utils")
    try:
        return int(utils.counters["stats"]["unique_graphs"])  # type: ignore[union-attr]
    except Exception:  # no TorchDynamo, or a torch without these counters
        return 0


def _sibling_ranks_note(trainer: pl.Trainer) -> str:
    """For the contention warning: where this job runs several ranks on this machine, that they may be in the share.

    Each rank counts its own process tree as its work: a rank it did not start is another process there.
    """
    local_ranks = int(getattr(trainer, "num_devices", 1) or 1)
    if trainer.world_size < 2 or local_ranks < 2:
        return ""
    return (
        f" This job runs {local_ranks} ranks on this machine, and those this process did not start count among the "
        f"other processes (every other rank under ddp_spawn, torchrun or SLURM; Lightning's 'ddp' launcher starts "
        f"them from rank 0, whose work they are): part of the share, up to all of it, may be this job's own ranks."
    )


def _call_user(name: str, fn: Callable[..., Any], batch: Any, *rest: Any) -> Any:
    """``fn(batch, *rest)``, the user's ``batch_size_fn``/``count_fn``; an error it raises says which one, on what.

    >>> try:
    ...     _call_user("batch_size_fn", len, None)
    ... except TypeError as err:
    ...     print(err.__notes__)
    ['EnergyCallback(batch_size_fn=...) raised this, called on a batch of type NoneType.']
    """
    try:
        return fn(batch, *rest)
    except TrialFailure:  # the trial's time limit fell due inside it: not the function's error
        raise
    except Exception as err:
        note = f"EnergyCallback({name}=...) raised this, called on a batch of type {type(batch).__name__}."
        if note not in getattr(err, "__notes__", ()):  # one error re-raised by a later call is noted once
            err.add_note(note)
        raise


def _user_batch_size(batch_size_fn: Callable[[Any], int], batch: Any) -> int:
    """The samples in ``batch`` by the user's ``batch_size_fn``, checked as a count (:func:`_user_count`)."""
    return _user_count("batch_size_fn", _call_user("batch_size_fn", batch_size_fn, batch), "samples in the batch")


def _user_count(name: str, value: Any, what: str) -> int:
    """``value``, what the user's ``batch_size_fn``/``count_fn`` returned for a batch, as a count >= 0.

    Ints, NumPy and 0-d tensor integers, and whole floats (``12.0``) are counts. Text (``"4"``) and truth values
    (``True``, a bool tensor) are not, though ``int()``/``float()`` take them: a ``lambda batch: "x" in batch`` would
    count one sample a batch.

    Raises:
        TypeError: Anything else, named with the function that returned it.
        ValueError: A negative count.
    """
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", None)  # NumPy's: U and S are text, b truth values
    truth = isinstance(value, bool) or dtype is torch.bool or kind == "b"
    count: int | None = None
    if not (truth or isinstance(value, str | bytes | bytearray) or kind in ("U", "S")):
        try:
            count = operator.index(value)
        except TypeError:
            try:
                number = float(value)
            except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of more than one element
                number = math.nan
            count = int(number) if number.is_integer() else None
    if count is None:
        hint = " (a truth value: return int(...) of it to count it as 0 or 1)" if truth else ""
        raise TypeError(
            f"EnergyCallback({name}=...): returned {value!r} ({type(value).__name__}) for a batch; expected an "
            f"int, the {what}{hint}."
        )
    if count < 0:
        raise ValueError(f"EnergyCallback({name}=...): returned {count} for a batch; expected the {what} (>= 0).")
    return count


def _first_tensor(batch: Any) -> torch.Tensor | None:
    """The first tensor with a batch dimension in a batch, depth first (tensors, mappings, sequences, dataclasses)."""
    path = _first_tensor_path(batch)
    return None if path is None else _follow(batch, path)


@dataclass(frozen=True)
class _Field:
    """A dataclass field's name as a step of a path into a batch (a key would index, a field is an attribute)."""

    name: str


def _first_tensor_path(batch: Any) -> tuple[Any, ...] | None:
    """The keys, indices and fields leading to a batch's first tensor with a batch dimension, depth first.

    ``()`` for such a tensor itself. 0-d tensors (a packing collator's token count, say) have no batch dimension and
    are passed over, as Lightning's ``extract_batch_size`` does; dataclass batches are searched field by field.
    """
    if isinstance(batch, torch.Tensor):
        return () if batch.ndim > 0 else None
    items: Iterable[tuple[Any, Any]]
    if isinstance(batch, Mapping):
        items = batch.items()
    elif isinstance(batch, list | tuple):
        items = enumerate(batch)
    elif dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        # getattr's default: a field with init=False may be unset (reading it would raise AttributeError)
        items = ((_Field(f.name), getattr(batch, f.name, None)) for f in dataclasses.fields(batch))
    else:
        return None
    for key, item in items:
        found = _first_tensor_path(item)
        if found is not None:
            return (key, *found)
    return None


def _stage_batch_sizes(trainer: pl.Trainer, stage: str) -> tuple[int, int, int] | None:
    """The running loop's fixed batch sizes (:func:`_fixed_batch_sizes`), or None.

    Read through the trainer's public dataloader properties: the test and predict loops', and the validation loop's
    while fitting (during ``trainer.validate()`` ``val_dataloaders`` may still be a previous ``fit``'s). A predict
    loop's DataLoader is rebuilt around Lightning's batch sampler that records each batch's indices: its sizes are
    those of the batch sampler it wraps (:func:`_fixed_batch_sizes`).
    """
    if stage == "test":
        return _fixed_batch_sizes(trainer.test_dataloaders, trainer.num_test_batches)
    if stage == "predict":
        return _fixed_batch_sizes(trainer.predict_dataloaders, trainer.num_predict_batches)
    if stage == "validate" and trainer.state.fn == TrainerFn.FITTING:
        return _fixed_batch_sizes(trainer.val_dataloaders, trainer.num_val_batches)
    return None


def _stage_loaders(trainer: pl.Trainer, stage: str) -> list[object]:
    """The running loop's data loaders (none before Lightning set them); a fit's are its training and validation."""
    loaders: object = None
    if stage == "train":
        return _flat_loaders(trainer.train_dataloader) + _stage_loaders(trainer, "validate")
    if stage == "test":
        loaders = trainer.test_dataloaders
    elif stage == "predict":
        loaders = trainer.predict_dataloaders
    elif stage == "validate":
        loaders = trainer.val_dataloaders
    return _flat_loaders(loaders)  # a list, a mapping (a CombinedLoader's iterables), nested: every loader in it


def _window_energy(stage: str, m: Measurement, aborted: bool = False) -> LoopEnergy:
    """One window's figures as this rank read them (after an error: no cross-rank sum), with no samples."""
    gpu_j = m.gpu_total_j if m.gpu_j else None  # no GPU index read: no GPU figure, not 0 J
    other_j = m.other_total_j if m.other_j else None  # no other part read: no figure, not 0 J
    return LoopEnergy(
        stage, m.source, m.time_s, gpu_j, m.cpu_j, m.dram_j, samples=0, batches=0, aborted=aborted, other_j=other_j
    )


_TRAIN_STATE_FORMAT = 1
"""The format of the training figures ``EnergyCallback.on_save_checkpoint`` puts in a checkpoint (``"format"``)."""
_TRAIN_STATE_DOMAINS = ("gpu_j", "cpu_j", "dram_j", "other_j")


def _joined(done: Measurement | None, segment: Measurement) -> Measurement:
    """One window read in segments (a checkpoint's save ends the fit's and begins it again) as one measurement.

    >>> a = Measurement(time_s=2.0, gpu_j={0: 20.0}, cpu_j=1.0, source="measured: x")
    >>> _joined(a, Measurement(time_s=1.0, gpu_j={0: 10.0}, cpu_j=0.5, source="measured: x"))
    Measurement(time_s=3.0, gpu_j={0: 30.0}, cpu_j=1.5, dram_j=None, source='measured: x', other_j={})
    >>> _joined(None, a) is a
    True
    """
    if done is None:
        return segment
    return Measurement(
        time_s=done.time_s + segment.time_s,
        gpu_j={i: done.gpu_j.get(i, 0.0) + segment.gpu_j.get(i, 0.0) for i in done.gpu_j | segment.gpu_j},
        cpu_j=_plus(done.cpu_j, segment.cpu_j),
        dram_j=_plus(done.dram_j, segment.dram_j),
        source=segment.source,
        other_j={k: done.other_j.get(k, 0.0) + segment.other_j.get(k, 0.0) for k in done.other_j | segment.other_j},
    )


def _added(carried: LoopEnergy, part: LoopEnergy) -> LoopEnergy:
    """Two parts of one stage's figures as one (one label): a resumed fit's, or loops an error cut short.

    A resumed fit's: those its checkpoint carried in plus this process's; cut short: an earlier loop's plus a retry's.

    >>> carried = LoopEnergy("train", "measured: x", 8.0, 80.0, None, None, samples=0, batches=0)
    >>> whole = _added(carried, LoopEnergy("train", "measured: x", 4.0, 40.0, 2.0, None, samples=0, batches=0))
    >>> whole.energy_j, whole.time_s, whole.cpu_j, whole.dram_j
    (122.0, 12.0, 2.0, None)
    """
    return dataclasses.replace(
        part,
        time_s=carried.time_s + part.time_s,
        gpu_j=_plus(carried.gpu_j, part.gpu_j),
        cpu_j=_plus(carried.cpu_j, part.cpu_j),
        dram_j=_plus(carried.dram_j, part.dram_j),
        other_j=_plus(carried.other_j, part.other_j),
        warmup_j=carried.warmup_j + part.warmup_j,
    )


def _train_state(figures: LoopEnergy, global_step: int) -> dict[str, Any]:
    """The training figures as ``EnergyCallback`` keeps them in a checkpoint: plain numbers, text and ``None``.

    A fit's figures have no warm-up (``warmup_j`` is 0): its joules are the domains'.

    >>> state = _train_state(LoopEnergy("train", "measured: x", 8.0, 80.0, None, None, samples=0, batches=0), 8)
    >>> state["format"], state["source"], state["time_s"], state["gpu_j"], state["cpu_j"], state["global_step"]
    (1, 'measured: x', 8.0, 80.0, None, 8)
    """
    state: dict[str, Any] = {"format": _TRAIN_STATE_FORMAT, "source": figures.source, "time_s": float(figures.time_s)}
    for domain in _TRAIN_STATE_DOMAINS:
        value = getattr(figures, domain)
        state[domain] = None if value is None else float(value)
    state["global_step"] = int(global_step)
    return state


def _train_figures(state: object) -> LoopEnergy:
    """The training figures of a checkpoint's ``EnergyCallback`` state (``_train_state``'s).

    >>> _train_figures({"format": 1, "source": "measured: x", "time_s": 8.0, "gpu_j": 80.0, "cpu_j": None,
    ...                 "dram_j": None, "other_j": None, "global_step": 8}).energy_j
    80.0
    >>> _train_figures({"format": 2})
    Traceback (most recent call last):
    ...
    ValueError: holds an EnergyCallback state of format 2, and this lightning_ecopt reads format 1 ...
    >>> _train_figures([80.0, 8.0])
    Traceback (most recent call last):
    ...
    ValueError: holds an EnergyCallback state that is a list, not the dict ...

    Raises:
        ValueError: The state is not a dict, is of another format, or an entry is not what ``_train_state`` writes.
            The message goes after "the checkpoint " and names the entry.
    """
    if not isinstance(state, Mapping):  # Lightning hands load_state_dict whatever the checkpoint holds
        raise ValueError(
            f"holds an EnergyCallback state that is a {type(state).__name__}, not the dict of format "
            f"{_TRAIN_STATE_FORMAT} that EnergyCallback writes (a checkpoint edited by hand, or another callback's "
            "state under its key)"
        )
    version = state.get("format")
    if version != _TRAIN_STATE_FORMAT:
        raise ValueError(
            f"holds an EnergyCallback state of format {version!r}, and this lightning_ecopt reads format "
            f"{_TRAIN_STATE_FORMAT} (written by another version: resume with it)"
        )
    source = state.get("source")
    if (problem := source_problem(source)) is not None:
        raise ValueError(f"holds an EnergyCallback state whose energy source is not a label: {problem}")
    figures: dict[str, float | None] = {}
    for name in ("time_s", *_TRAIN_STATE_DOMAINS):
        value = state.get(name)
        if name != "time_s" and value is None:
            figures[name] = None
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or math.isinf(value):
            # NaN is kept (a counter of the process that saved it failed): the sum is NaN, with a warning
            raise ValueError(f"holds an EnergyCallback state with {name}={value!r}, not a number >= 0")
        else:
            figures[name] = float(value)
    time_s = cast(float, figures["time_s"])
    gpu_j, cpu_j, dram_j, other_j = (figures[d] for d in _TRAIN_STATE_DOMAINS)
    return LoopEnergy("train", cast(str, source), time_s, gpu_j, cpu_j, dram_j, samples=0, batches=0, other_j=other_j)


def _plus(a: float | None, b: float | None) -> float | None:
    """``a + b``, where ``None`` (a domain not read) is 0 unless both are ``None``."""
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def _flat_loaders(loaders: object) -> list[object]:
    """The loaders in a loop's dataloaders: one, or a list or mapping of them (a CombinedLoader's iterables)."""
    if loaders is None:
        return []
    if isinstance(loaders, Mapping):
        return [x for value in loaders.values() for x in _flat_loaders(value)]
    if isinstance(loaders, list | tuple):
        return [x for value in loaders for x in _flat_loaders(value)]
    return [loaders]


def _worker_processes(trainer: pl.Trainer, stage: str) -> int:
    """Worker processes that load the running loop's batches (the most of its loaders' ``num_workers``)."""
    return max((int(getattr(loader, "num_workers", 0) or 0) for loader in _stage_loaders(trainer, stage)), default=0)


def _declared_batch_size(trainer: pl.Trainer, stage: str) -> int | None:
    """The ``batch_size`` of the running loop's one ``DataLoader``, where it has more than one batch; else None.

    The first batch of such a loader holds ``batch_size`` samples (unless its collate function or sampler says
    otherwise, which is what the check against it is for).
    """
    found = _stage_loaders(trainer, stage)
    if len(found) != 1:
        return None
    (loaders,) = found
    from lightning_ecopt.inference import TimedPasses

    if isinstance(loaders, TimedPasses):  # its first batch is full where the samples it yields fill two
        full = len(loaders.dataset) * loaders.max_passes >= 2 * loaders.batch_size
        return loaders.batch_size if full else None
    if not isinstance(loaders, DataLoader):
        return None
    # A predict loop's DataLoader is rebuilt around Lightning's index-keeping batch sampler (batch_size None there):
    # the wrapped sampler's batch_size is the one the user gave.
    batch_size = loaders.batch_size or getattr(loaders.batch_sampler, "batch_size", None)
    if not isinstance(batch_size, int) or batch_size < 1:
        return None
    try:
        if len(loaders) < 2:
            return None
    except (TypeError, NotImplementedError):  # an IterableDataset without __len__, or one whose __len__ says so
        return None  # (a streaming dataset's; Lightning's sized_len reads both as "no length")
    return batch_size


def _index_sampler(trainer: pl.Trainer, stage: str) -> _IndexBatchSamplerWrapper | None:
    """The batch sampler of a predict loop's one ``DataLoader`` where it is Lightning's index-keeping wrapper, or None.

    Lightning rebuilds a predict ``DataLoader`` around it, whatever its sampler (a DDP rank's shard) or batch sampler;
    it records the indices of each batch it draws (``seen_batch_indices``), in order. Not where workers may return
    the batches in another order (``in_order=False``): the n-th batch the loop sees need not be the n-th drawn.
    """
    found = _stage_loaders(trainer, stage) if stage == "predict" else []
    if len(found) != 1 or not isinstance(found[0], DataLoader) or not getattr(found[0], "in_order", True):
        return None
    batch_sampler = found[0].batch_sampler
    return batch_sampler if isinstance(batch_sampler, _IndexBatchSamplerWrapper) else None


def _timed_passes(trainer: pl.Trainer, stage: str) -> Any:
    """The running loop's one :class:`~lightning_ecopt.inference.TimedPasses`, or None: it knows each batch's samples.

    Its last batch ends a pass and may be partial: a batch with no tensor to count (texts) is counted by what it
    yielded, not by its ``batch_size``.
    """
    from lightning_ecopt.inference import TimedPasses

    found = _stage_loaders(trainer, stage)
    return found[0] if len(found) == 1 and isinstance(found[0], TimedPasses) else None


def _batch_indices(index_sampler: _IndexBatchSamplerWrapper | None, position: int) -> int | None:
    """The indices in the ``position``-th batch that ``index_sampler`` drew (its samples), or None if not known.

    >>> wrapper = _IndexBatchSamplerWrapper(BatchSampler(range(5), batch_size=3, drop_last=False))
    >>> _ = list(iter(wrapper))  # [0, 1, 2], [3, 4]
    >>> _batch_indices(wrapper, 1), _batch_indices(wrapper, 2), _batch_indices(None, 0)
    (2, None, None)
    """
    seen = getattr(index_sampler, "seen_batch_indices", None)
    if not isinstance(seen, list) or position >= len(seen):
        return None
    indices = seen[position]
    return len(indices) if isinstance(indices, Sized) else None


def _zipped_iterables(trainer: pl.Trainer, stage: str) -> Any:
    """The iterables of the running loop's CombinedLoader where it zips several (a mode but ``sequential``), or None.

    Each of its batches then holds one batch of every iterable, in the iterables' structure (a mapping or sequence).
    """
    combined = getattr(_running_loop(trainer, stage), "_combined_loader", None)
    if getattr(combined, "_mode", "sequential") == "sequential":
        return None
    iterables = getattr(combined, "iterables", None)
    return iterables if len(_flat_loaders(iterables)) > 1 else None


def _zipped_parts(batch: Any, iterables: Any) -> list[Any]:
    """The batch of each iterable in a zipped CombinedLoader's ``batch``, walked in the iterables' structure.

    >>> _zipped_parts({"a": [1, 2], "b": [3]}, {"a": "loader a", "b": "loader b"})
    [[1, 2], [3]]
    >>> _zipped_parts([{"x": 1}, None], ["loader a", "loader b"])  # the second exhausted (max_size)
    [{'x': 1}, None]
    """
    if batch is None:
        return [None] * len(_flat_loaders(iterables))
    if isinstance(iterables, Mapping):
        return [part for key, value in iterables.items() for part in _zipped_parts(batch[key], value)]
    if isinstance(iterables, list | tuple):
        return [part for i, value in enumerate(iterables) for part in _zipped_parts(batch[i], value)]
    return [batch]


def _leading_size(part: Any) -> int | None:
    """The first dimension of ``part``'s first tensor with one (0 for ``None``, an exhausted iterable), else None."""
    if part is None:
        return 0
    first = _first_tensor(part)
    return None if first is None else int(first.size(0))


def _running_loop(trainer: pl.Trainer, stage: str) -> object:
    """The trainer's loop running ``stage`` (a fit's validation is the fit loop's own)."""
    if stage == "test":
        return trainer.test_loop
    if stage == "predict":
        return trainer.predict_loop
    return trainer.fit_loop.epoch_loop.val_loop if trainer.state.fn == TrainerFn.FITTING else trainer.validate_loop


def _takes_dataloader_iter(module: object, stage: str) -> bool:
    """Whether the module's step of ``stage`` takes the ``dataloader_iter`` (and fetches its batches itself)."""
    step = getattr(module, _STEPS[stage], None)
    return callable(step) and is_param_in_hook_signature(step, "dataloader_iter", explicit=True)


def _completed_batches(trainer: pl.Trainer, stage: str) -> Any:
    """The running loop's tracker of its batches in this run (``batch_progress.current``), or None.

    Its ``completed`` counts the batches whose end hooks have run; Lightning resets it when an evaluation or predict
    loop starts. Only for the loops whose samples :func:`_stage_batch_sizes` knows.
    """
    loop: object = None
    if stage == "test":
        loop = trainer.test_loop
    elif stage == "predict":
        loop = trainer.predict_loop
    elif stage == "validate" and trainer.state.fn == TrainerFn.FITTING:
        loop = trainer.fit_loop.epoch_loop.val_loop
    current = getattr(getattr(loop, "batch_progress", None), "current", None)
    return current if isinstance(getattr(current, "completed", None), int) else None


@functools.cache
def _dispatch_skips_non_callables() -> bool:
    """Whether Lightning's callback dispatch skips a hook attribute that is not callable (probed once).

    ``lightning.pytorch.trainer.call._call_callback_hooks`` reads ``fn = getattr(callback, hook_name)`` and calls it
    only ``if callable(fn)``. Probed on a stand-in trainer rather than assumed, so another Lightning that calls every
    hook unconditionally (or moved the function) keeps the hooks in place.
    """
    try:
        from lightning.pytorch.profilers import PassThroughProfiler
        from lightning.pytorch.trainer import call

        probe = types.SimpleNamespace(on_test_batch_start=None, state_key="probe")
        stand_in = types.SimpleNamespace(lightning_module=None, callbacks=[probe], profiler=PassThroughProfiler())
        call._call_callback_hooks(stand_in, "on_test_batch_start", None, 0)  # type: ignore[arg-type]
    except Exception:
        return False
    return True


def _fixed_batch_sizes(loader: object, max_batches: Sequence[int | float]) -> tuple[int, int, int] | None:
    """``(batch size, batches, last batch's size)`` of a loader whose batch sizes are known without a batch, or None.

    Only where they provably are: one plain ``torch.utils.data.DataLoader`` (not a subclass) with a ``batch_size``,
    torch's own ``BatchSampler`` over a ``SequentialSampler`` or ``RandomSampler`` (not a ``DistributedSampler``), a
    map-style dataset without ``__getitems__``, ``default_collate``, batches in order, and as many batches to run
    (``max_batches``, the loop's count after ``limit_*_batches``) as it yields. Anything else (a custom sampler or
    collate function, an ``IterableDataset``, several dataloaders, ``TimedPasses``...) is None: count the batches.
    A predict loop's DataLoader, which Lightning rebuilds around its ``_IndexBatchSamplerWrapper`` (``batch_size``
    None; ``drop_last=False`` forced on the batch sampler it wraps), is read through that wrapper: the same
    conditions hold for the batch sampler inside, whose ``batch_size`` and ``drop_last`` are the loop's.

    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> data = TensorDataset(torch.zeros(10, 2))
    >>> _fixed_batch_sizes(DataLoader(data, batch_size=4), [3])
    (4, 3, 2)
    >>> _fixed_batch_sizes(DataLoader(data, batch_size=4, drop_last=True), [2])
    (4, 2, 4)
    >>> _fixed_batch_sizes(DataLoader(data, batch_size=4), [2]) is None  # limit_test_batches=2
    True
    """
    if type(loader) is not DataLoader:
        return None
    sampler: object = loader.sampler
    batch_sampler: object = loader.batch_sampler
    size: object = loader.batch_size
    if isinstance(batch_sampler, _IndexBatchSamplerWrapper):  # a predict loop's: the batch sampler it wraps
        batch_sampler = getattr(batch_sampler, "_batch_sampler", None)
        sampler, size = getattr(batch_sampler, "sampler", None), getattr(batch_sampler, "batch_size", None)
    if (
        not isinstance(size, int)
        or not isinstance(batch_sampler, BatchSampler)
        or type(batch_sampler) is not BatchSampler
        or batch_sampler.sampler is not sampler
        or batch_sampler.batch_size != size
        or type(sampler) not in (SequentialSampler, RandomSampler)
        or isinstance(loader.dataset, IterableDataset)
        or hasattr(loader.dataset, "__getitems__")  # may return any number of samples
        or loader.collate_fn is not default_collate
        or not getattr(loader, "in_order", True)  # workers' batches in any order: the partial one in the warm-up?
    ):
        return None
    full, rest = divmod(len(cast(SequentialSampler | RandomSampler, sampler)), size)
    last = rest if rest and not batch_sampler.drop_last else size
    batches = full + (last != size)
    if batches == 0 or list(max_batches) != [batches]:
        return None
    return size, batches, last


def _samples_in(sizes: tuple[int, int, int], start: int, stop: int) -> int:
    """Samples in batches ``start`` to ``stop - 1`` of a loop with fixed ``(batch size, batches, last size)``.

    >>> _samples_in((4, 3, 2), 0, 3), _samples_in((4, 3, 2), 1, 3), _samples_in((4, 3, 2), 0, 2)
    (10, 6, 8)
    """
    size, batches, last = sizes

    def before(index: int) -> int:
        return min(index, batches - 1) * size + (last if index >= batches else 0)

    return before(stop) - before(start)


def _joules_per_batch(meter: EnergyMeter, readings: list[Any]) -> list[float]:
    """Joules of each batch from a CounterReader's readings: one per batch start, and one at the loop's end."""
    assert isinstance(meter, CounterReader)
    between = meter.joules_between
    return [between(start, end) for start, end in itertools.pairwise(readings)]


def _where(path: tuple[Any, ...]) -> str:
    """A path into a batch (:func:`_first_tensor_path`) as Python, for messages.

    >>> _where((0, "x", _Field("ids")))
    "batch[0]['x'].ids"
    """
    return "batch" + "".join(f".{k.name}" if isinstance(k, _Field) else f"[{k!r}]" for k in path)


def _shape(tensor: torch.Tensor) -> tuple[Any, ...]:
    """``tensor``'s shape, for messages; a strided nested tensor, which has none, gives ``None`` for a ragged dimension.

    >>> _shape(torch.zeros(4, 2)), _shape(torch.nested.nested_tensor([torch.zeros(1, 2), torch.zeros(3, 2)]))
    ((4, 2), (2, None, 2))
    """
    try:
        return tuple(tensor.shape)
    except RuntimeError:  # "NestedTensorImpl doesn't support sizes"
        sizes: list[int | None] = []
        for dim in range(tensor.dim()):
            try:
                sizes.append(tensor.size(dim))
            except RuntimeError:  # "Given dimension 1 is irregular and does not have a size."
                sizes.append(None)
        return tuple(sizes)


def _follow(batch: Any, path: tuple[Any, ...]) -> Any:
    """What ``path`` leads to in ``batch``; a TypeError where it would index into a tensor (a different structure)."""
    for key in path:
        if isinstance(batch, torch.Tensor):
            raise TypeError("the path leads through a tensor")
        batch = getattr(batch, key.name) if isinstance(key, _Field) else batch[key]
    return batch


def _evaluation_outputs(trainer: pl.Trainer) -> list[dict[str, Any]] | None:
    """The metric dicts the running test/validate loop returns (one per dataloader), or None if they cannot be found.

    Lightning fills them before ``on_{test,validation}_epoch_end`` and, after it, merges in what was logged there,
    returns them from ``trainer.test()``/``validate()`` and logs them to every logger. This reads a private
    attribute (``_EvaluationLoop._logged_outputs``, Lightning 2.x); where it is missing the caller falls back to
    ``pl_module.log``, which reaches the same places, only slower. A test asserts the fast path is taken.
    """
    try:
        outputs = trainer._evaluation_loop._logged_outputs
    except (AttributeError, RuntimeError):  # another Lightning, or no evaluation loop running
        return None
    if isinstance(outputs, list) and outputs and all(isinstance(d, dict) for d in outputs):
        return outputs
    return None


def _combine_ranks(
    trainer: pl.Trainer, values: list[float], time_s: float, kind: str = "measured"
) -> tuple[list[float], float, list[list[float]]]:
    """One all-gather: each figure summed over ranks, the slowest rank's time, and every rank's figures.

    -inf (not measured) stays -inf only where no rank measured; NaN poisons the sum. The rows of every rank's figures
    are in rank order (one row, ``values``, without DDP).

    Raises:
        EnergyMeterError: The ranks' figures are of different kinds (``kind``: measured on some ranks, estimated on
            others). Every rank raises it, from the same gathered figures.
    """
    if trainer.world_size == 1:
        return values, time_s, [values]
    code = _KINDS.index(kind) if kind in _KINDS else len(_KINDS)
    local = torch.tensor([*values, time_s, float(code)], dtype=torch.float64, device=trainer.strategy.root_device)
    gathered = trainer.strategy.all_gather(local).reshape(trainer.world_size, -1).cpu()
    figures, times, codes = gathered[:, :-2], gathered[:, -2], gathered[:, -1]
    _check_one_kind([int(c) for c in codes.tolist()])
    unread = torch.isneginf(figures)
    sums = torch.where(unread, torch.zeros_like(figures), figures).sum(dim=0)
    present = (~unread).any(dim=0)
    combined = [float(s) if p else -math.inf for s, p in zip(sums, present, strict=True)]
    return combined, float(times.max()), figures.tolist()


def _check_one_kind(codes: list[int]) -> None:
    """Refuse to sum figures whose kinds differ across ranks (``codes[rank]``: an index into ``_KINDS``).

    Relabelling the sum would not make it honest: an estimate added to measured joules is neither, and where the
    measured rank reads package-wide RAPL counters the estimated rank's CPU work is in them already (counted twice).

    >>> _check_one_kind([0, 0])
    >>> _check_one_kind([0, 1])
    Traceback (most recent call last):
    ...
    lightning_ecopt.exceptions.EnergyMeterError: EnergyCallback: the ranks' energy figures are of different kinds ...
    """
    if len(set(codes)) <= 1:
        return
    names = [*_KINDS, "other"]
    by_kind = {names[c]: [rank for rank, code in enumerate(codes) if code == c] for c in sorted(set(codes))}
    listed = ", ".join(f"{kind} on ranks {ranks}" for kind, ranks in by_kind.items())
    raise EnergyMeterError(
        f"EnergyCallback: the ranks' energy figures are of different kinds ({listed}); their sum would mix a "
        "model's estimate into measured joules (and count CPU work twice where one rank reads package-wide RAPL "
        "counters), so it is not reported. Give every rank the same kind of meter: make the counters readable on "
        "every rank (`python -m zeus.show_env` shows what Zeus sees), or pass meter='estimate'."
    )


def _logging_step(trainer: pl.Trainer) -> int:
    """The step Lightning logs at: the count of training batches that stepped the optimisers.

    Lightning's logger connector (``self.log``, and the test figures it logs for this callback) and its own callbacks
    that write to the loggers (``LearningRateMonitor``, ``DeviceStatsMonitor``) log at
    ``fit_loop.epoch_loop._batches_that_stepped``, not at ``global_step``, which counts optimiser steps: two a batch
    under manual optimisation with two optimisers (a GAN), which put the train and predict figures at twice the fit's
    last step. Read as Lightning's callbacks read it (a private attribute since 1.6.5); ``global_step`` where missing.
    """
    step = getattr(getattr(trainer.fit_loop, "epoch_loop", None), "_batches_that_stepped", None)
    return step if isinstance(step, int) else trainer.global_step


@rank_zero_only
def _log_to_loggers(trainer: pl.Trainer, metrics: dict[str, float]) -> None:
    step = _logging_step(trainer)
    for logger in trainer.loggers:
        logger.log_metrics(metrics, step=step)
        logger.save()


@rank_zero_only
def _log_labels(trainer: pl.Trainer, labels: dict[str, str], warn_once: Callable[[str, str], None]) -> None:
    """The labels as hyperparameters, except in TensorBoard: there, as text next to the figures.

    TensorBoard shows one HParams session per run, the first: a second ``log_hyperparams`` call (after the module's
    own hyperparameters at fit start) would hide the labels and log ``hp_metric = -1`` once more. A logger that
    refuses them (MLflow refuses a parameter's new value: ``per_batch="auto"`` may choose another mode in a later
    loop) costs a warning, not the loop, whose figures are logged by then.
    """
    from lightning.pytorch.loggers import TensorBoardLogger

    step = _logging_step(trainer)
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            _add_to_hparams(logger.hparams, labels)  # for code that reads them (Lightning wrote hparams.yaml at start)
            for name, label in labels.items():
                logger.experiment.add_text(name, label, step)
        else:
            try:
                logger.log_hyperparams(labels)
            except TrialFailure:  # the trial's time limit (TrialTimeoutError), not the logger's fault
                raise
            except Exception as error:
                name = type(logger).__name__
                warn_once(
                    f"labels/{name}/{sorted(labels.items())}",
                    f"EnergyCallback: {name} refused the labels {labels} as hyperparameters "
                    f"({type(error).__name__}: {error}); the figures were logged, and the labels are in "
                    f"EnergyCallback.results[stage].source and .per_batch_mode.",
                )
        logger.save()


def _add_to_hparams(hparams: Any, labels: dict[str, str]) -> None:
    """Add the labels to a logger's hparams, which are an OmegaConf config where a Hydra config was logged as given.

    Such a config keeps the flags of the one logged: in struct mode (Hydra's) a new key raises ``ConfigKeyError``.
    """
    from omegaconf import DictConfig, flag_override

    if isinstance(hparams, DictConfig):
        with flag_override(hparams, ["struct", "readonly"], [False, False]):
            hparams.update(labels)
    else:
        hparams.update(labels)


def _step_context(pl_module: pl.LightningModule, stage: str) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    """The precision plugin's context for one ``stage`` step (its autocast, or bf16-true's default dtype), if any.

    A call counted on the module itself runs as the loop ran it: outside it, a ``predict_step`` of a ``bf16-true``
    model that makes a tensor of the default dtype (float32 there) fails, and no FLOPs were logged.
    """
    trainer = pl_module._trainer
    plugin = getattr(trainer, "precision_plugin", None) if trainer is not None else None
    name = {"validate": "val_step_context"}.get(stage, f"{stage}_step_context")
    return cast(Callable[[], contextlib.AbstractContextManager[Any]], getattr(plugin, name, contextlib.nullcontext))


def _flops_key(stage: str, predict_step: bool) -> str:
    """The key a loop's FLOPs go under: ``predict_step``'s in a predict loop that counts it, else one forward pass's.

    >>> _flops_key("predict", True), _flops_key("test", True), _flops_key("predict", False)
    ('model/predict_step_flops_per_sample', 'model/flops_per_sample', 'model/flops_per_sample')
    """
    return PREDICT_STEP_FLOPS_PER_SAMPLE if stage == "predict" and predict_step else FLOPS_PER_SAMPLE


def _model_stats(
    pl_module: pl.LightningModule,
    sample: Any,
    stage: str = "test",
    *,
    on_meta: bool = True,
    predict_step: bool = False,
    warn: Callable[[str, str], None] | None = None,
    step_context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
) -> dict[str, float]:
    """Parameter count and the FLOPs of one inference of one sample (skipped when the model cannot take the sample).

    ``sample`` is one sample of a batch, its structure kept (:func:`_one_sample`). One inference is ``forward``, given
    the sample's first tensor (what it takes most often, and all it was given before batches were kept whole), else the
    sample itself (a forward that reads ``batch["x"]``), else a mapping sample's keys it names as keyword arguments
    (``forward(input_ids, attention_mask)``, :func:`_keyword_sample`). With ``predict_step`` in a predict loop it is the
    module's ``predict_step`` (a generation is many forward passes), given the sample as the loop would give it (else,
    on the meta copy, its first tensor). FLOPs are counted on the meta device where possible (a copy of the module
    rebuilt there from its saved hyperparameters: nothing is computed), else with one real call on the one sample.
    ``predict_step`` runs as Python even on the meta copy: its side effects (a file written, a list appended to) happen,
    hence opt-in; one that cannot run there (a stop at an end-of-sequence token reads a value) is run once on the module
    itself, inside ``step_context()`` (the precision plugin's, as the loop ran it; the meta copy runs outside it). Where
    no call succeeds, ``warn(key, message)`` (default: a rank-zero warning) says why and the FLOPs are left out: a
    forward pass is never counted in place of a requested ``predict_step``, whose generation it would undercount many
    times over. A forward pass's FLOPs are ``model/flops_per_sample``, ``predict_step``'s
    ``model/predict_step_flops_per_sample``: one key never holds both counts.
    """
    from lightning.fabric.utilities.throughput import measure_flops

    stats = {"model/params": float(_parameter_count(pl_module))}
    name = type(pl_module).__name__
    if _lazy_parameters(pl_module):
        (warn or (lambda _key, text: rank_zero_warn(text)))(
            f"params/lazy/{name}",
            f"EnergyCallback: {name} holds parameters a lazy module (LazyLinear, LazyConv...) has not initialised yet "
            f"(no forward pass reached it: a layer used in training only?), so model/params "
            f"({int(stats['model/params'])}) leaves them out.",
        )
    first = _first_tensor(sample)
    if first is None:
        return stats
    # Every call below may draw from the global RNGs (a constructor that seeds, a sampling generation, even on the
    # meta copy: its Python runs): the user's seeded run must not notice (:func:`_rngs_kept`).
    devices = [pl_module.device.index or 0] if pl_module.device.type == "cuda" else []
    with _rngs_kept(devices):
        meta = _on_meta(pl_module) if on_meta else None
    on_module: list[Any] = [first] if first is sample else [sample, first]  # the one-sample batch, its first tensor
    flops_key = _flops_key(stage, predict_step)
    method = "predict_step" if flops_key == PREDICT_STEP_FLOPS_PER_SAMPLE else "forward"
    keywords = _keyword_sample(pl_module.forward, sample) if method == "forward" else None
    if method == "forward":
        on_module.reverse()  # the first tensor first: what every model that had FLOPs before was counted with
        if keywords is not None:  # then its keys as arguments: forward(input_ids, attention_mask), self(**batch)
            path = _first_tensor_path(sample)
            # First where the first tensor is under a key forward does not name ({"idx": ..., "input_ids": ...}):
            # a forward(input_ids, mask=None) would take that tensor alone, and count the wrong input's FLOPs.
            on_module.insert(0 if path and path[0] not in keywords else len(on_module), keywords)
    attempts = [(meta, x) for x in on_module] if meta is not None else []
    # On the module itself predict_step runs for real: only as the loop would call it (the batch, not a tensor of it).
    attempts += [(pl_module, x) for x in (on_module[:1] if method == "predict_step" else on_module)]
    # batch_idx only where Lightning's predict loop passes it (a predict_step(self, batch) is legal), and
    # dataloader_idx (the first batch's loader: 0) where it must be passed: Lightning passes it only where the loop
    # has several dataloaders, so a predict_step(self, batch, batch_idx, dataloader_idx) without a default is legal.
    indices: tuple[int, ...] = ()
    if method == "predict_step":
        step = pl_module.predict_step
        indices = (0,) * (is_param_in_hook_signature(step, "batch_idx", min_args=2) + _required(step, "dataloader_idx"))
    # where -> the error said in the warning: the keyword call's (the form forward names), else the batch's, else
    # the first tensor's
    errors: dict[str, tuple[int, BaseException]] = {}
    for model, x in attempts:
        where = "on the meta copy" if model is meta else "on the module"
        try:
            given = apply_to_collection(x, torch.Tensor, operator.methodcaller("to", "meta")) if model is meta else x
            call: Callable[..., Any] = getattr(model, method) if method == "predict_step" else model
            if isinstance(x, _Keywords):
                run = functools.partial(call, **given)
            else:
                run = functools.partial(call, given, *indices)
            context = step_context() if model is pl_module else contextlib.nullcontext()
            with _rngs_kept(devices), torch.no_grad(), _unfused_attention(), context, _int8_linear_flops(model) as int8:
                stats[flops_key] = float(measure_flops(model, run)) + int8[0]
        except TrialFailure:  # the trial's time limit fell due while counting: it stops the trial, not the count
            raise
        except Exception as err:  # the model cannot take it: try the next; FLOPs are optional
            rank = 2 if x is keywords else 1 if x is sample else 0
            if where not in errors or rank > errors[where][0]:
                errors[where] = (rank, err)
            continue
        if model is pl_module and method == "predict_step" and meta is not None:
            rank_zero_info(
                f"EnergyCallback: {name}.predict_step could not run on the meta copy "
                f"({errors['on the meta copy'][1]!r}); its FLOPs were counted with one real call on one sample."
            )
        return stats
    failures = "; ".join(f"{where}: {err!r}" for where, (_, err) in errors.items())
    if method == "predict_step":
        message = (
            f"EnergyCallback(predict_flops='predict_step'): FLOPs not counted, {flops_key} is not logged: "
            f"{name}.predict_step failed on one sample of the first batch ({failures}). A forward pass's FLOPs would "
            f"undercount a generation, so none are logged instead. Make predict_step run on a batch of one sample, "
            f"or pass predict_flops='forward' to count one forward pass."
        )
    else:
        inputs = "its tensor" if first is sample else "its first tensor, then the batch itself"
        inputs += ", then its keys as keyword arguments" if keywords is not None else ""
        message = (
            f"EnergyCallback: FLOPs not counted, model/flops_per_sample is not logged (the proxy audit of `ecopt "
            f"report` has no FLOPs for this model): {name}.forward failed on one sample of the first batch, given "
            f"{inputs} ({failures}). FLOPs are counted by calling forward with one sample of a batch; a forward that "
            f"needs other arguments gets no count (pass log_model_stats=False to count nothing and silence this)."
        )
    (warn or (lambda _key, text: rank_zero_warn(text)))(f"flops/{method}/{name}", message)
    return stats


def _required(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` has a parameter ``name`` without a default (one a call must pass).

    >>> def predict_step(batch, batch_idx, dataloader_idx): ...
    >>> _required(predict_step, "dataloader_idx"), _required(lambda batch, dataloader_idx=0: 0, "dataloader_idx")
    (True, False)
    """
    try:
        parameter = inspect.signature(fn).parameters.get(name)
    except (TypeError, ValueError):  # no signature to read
        return False
    return parameter is not None and parameter.default is inspect.Parameter.empty


class _Keywords(dict[str, Any]):
    """A one-sample mapping batch to call ``forward`` with as keyword arguments (``forward(**sample)``)."""


def _keyword_sample(forward: Callable[..., Any], sample: Any) -> _Keywords | None:
    """The entries of a one-sample mapping batch that ``forward`` takes by name, or None where it takes none.

    A Hugging Face-style ``forward(input_ids, attention_mask)``, called as ``self(**batch)``, takes neither the
    batch's first tensor alone nor the batch itself. Keys it does not name (the labels) are left out, unless it takes
    ``**kwargs``.

    >>> def forward(input_ids, attention_mask=None): ...
    >>> sorted(_keyword_sample(forward, {"input_ids": 1, "attention_mask": 2, "labels": 3}))
    ['attention_mask', 'input_ids']
    >>> _keyword_sample(forward, {"x": 1}) is None, _keyword_sample(forward, (1, 2)) is None
    (True, True)
    """
    if not isinstance(sample, Mapping) or not sample or not all(isinstance(key, str) for key in sample):
        return None
    try:
        parameters = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a C function): every key
        return _Keywords(sample)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return _Keywords(sample)
    named = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    taken = {key: value for key, value in sample.items() if key in named}
    return _Keywords(taken) if taken else None


def _one_sample(batch: Any, dim: int = 0) -> Any:
    """One sample of a batch, its structure kept; ``None`` for a batch without a tensor with a batch dimension.

    The batch's size is its first tensor's size along ``dim``, its leading dimension unless a hook made the batch
    sequence-first (:func:`_first_tensor`): every tensor of that size there (else along its leading dimension: labels
    beside sequence-first inputs) is cut to one and copied (the loop may reuse the batch's memory), others (a 0-d
    count, a class-weight vector) are kept whole. The FLOPs of one
    inference of this are the FLOPs per sample. A structure that cannot be rebuilt (a frozen dataclass) gives its
    first tensor's slice alone, what FLOPs were once counted with.

    >>> x, y = _one_sample((torch.zeros(4, 3), torch.zeros(4)))
    >>> x.shape, y.shape
    (torch.Size([1, 3]), torch.Size([1]))
    >>> _one_sample({"ids": torch.zeros(4, 7, dtype=torch.long), "n": torch.tensor(28), "tag": "a"})["ids"].shape
    torch.Size([1, 7])
    >>> x, y = _one_sample((torch.zeros(32, 4, 1), torch.zeros(4)), dim=1)  # sequence-first
    >>> x.shape, y.shape
    (torch.Size([32, 1, 1]), torch.Size([1]))
    """
    first = _first_tensor(batch)
    if first is None or first.shape[dim] == 0:  # nothing to cut one sample from: an empty batch
        return None
    size = first.shape[dim]

    def one(tensor: torch.Tensor) -> torch.Tensor:
        for along in (dim, 0):  # labels stay batch-first beside sequence-first inputs
            if tensor.ndim > along and tensor.shape[along] == size:
                return tensor.narrow(along, 0, 1).detach().clone()
        return tensor.detach()

    try:
        sliced = apply_to_collection(batch, torch.Tensor, one)
    except (ValueError, TypeError):  # a frozen dataclass; a sequence type whose constructor takes no list
        return first.narrow(dim, 0, 1).detach().clone()
    return _cut_plain_lists(sliced, size)


def _cut_plain_lists(value: Any, size: int) -> Any:
    """``value`` with every list or tuple of ``size`` tensor-free samples (texts, token-id lists) cut to its first.

    A collated batch keeps strings as a list (``zip(*batch)``: a tuple) of one per sample: left whole, a ``forward``
    that tokenises them ran on every sample, and its FLOPs grew with the batch size. An item that holds no tensor
    (a text, a number, a list of them) is one sample's; a list of tensors is walked. Plain dicts, lists and tuples
    are walked; other objects are left as they are.

    >>> _cut_plain_lists({"text": ("a", "b", "c"), "ids": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "n": [7]}, 3)
    {'text': ('a',), 'ids': [[1, 2, 3]], 'n': [7]}
    """
    if type(value) in (list, tuple) and len(value) == size and all(_holds_no_tensor(item) for item in value):
        return type(value)(value[:1])
    if type(value) is dict:
        return {key: _cut_plain_lists(item, size) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_cut_plain_lists(item, size) for item in value)
    return value


def _holds_no_tensor(value: Any) -> bool:
    """Whether ``value`` is a plain value, or a list or tuple of them (one sample's text, token ids)."""
    if value is None or isinstance(value, str | bytes | int | float):
        return True
    return type(value) in (list, tuple) and all(_holds_no_tensor(item) for item in value)


def _shapes(sample: Any) -> tuple[tuple[tuple[int, ...], torch.dtype], ...] | None:
    """The shapes and dtypes of a sample's tensors, in order (``None`` for no sample): a model's FLOPs key."""
    if sample is None:
        return None
    found: list[tuple[tuple[int, ...], torch.dtype]] = []
    apply_to_collection(sample, torch.Tensor, lambda tensor: found.append((tuple(tensor.shape), tensor.dtype)))
    return tuple(found)


_SEED_VARIABLES = ("PL_GLOBAL_SEED", "PL_SEED_WORKERS")
"""What Lightning's ``seed_everything`` records in the environment (spawned ranks and loader workers seed from it)."""


@contextlib.contextmanager
def _rngs_kept(devices: Sequence[int]) -> Iterator[None]:
    """Run the block with the caller's global RNGs and seed variables put back afterwards, as they were before it.

    Torch's RNGs (the CPU's and those of the CUDA ``devices``) are forked; Python's ``random`` and NumPy's global
    RNG are saved and restored, and so are :data:`_SEED_VARIABLES`. Forking torch's alone left a constructor's
    ``seed_everything`` (run again by the meta rebuild) or a forward drawing from ``random`` or NumPy (a random crop, a
    noise layer) moving the caller's later draws: a seeded run's next trial or data split differed with the callback.

    Args:
        devices: The CUDA device indices whose RNGs the block may draw from.
    """
    python_state = random.getstate()
    numpy = sys.modules.get("numpy")  # imported by torch and Lightning; not imported here for nothing
    numpy_state = numpy.random.get_state() if numpy is not None else None
    seeds = {name: os.environ.get(name) for name in _SEED_VARIABLES}
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(python_state)
        if numpy is not None:
            numpy.random.set_state(numpy_state)
        for name, value in seeds.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _int8_linear_flops(module: torch.nn.Module) -> Iterator[list[float]]:
    """Count, in the yielded ``[flops]``, the matrix products of the block's calls of dynamically quantised Linears.

    ``FlopCounterMode`` sees no FLOPs in ``torch.ao``'s dynamically quantised ``Linear`` (one opaque
    ``quantized::linear_dynamic`` op): counted on the real module (``flops_on_meta=False``, or a module that cannot be
    rebuilt from its hyperparameters), an int8 model lost its Linear layers' FLOPs (an MLP's all of them), and a
    sweep's proxy audit compared FLOPs that were not those of the model it came from. Each call adds what the counter
    gives its float ``nn.Linear``: ``2 x (input elements) x out_features`` (the bias is not counted there either).
    """
    counted = [0.0]
    layers = [
        layer
        for layer in module.modules()
        if "quantized" in type(layer).__module__
        and isinstance(getattr(layer, "in_features", None), int)
        and isinstance(getattr(layer, "out_features", None), int)
    ]

    def count(layer: torch.nn.Module, inputs: tuple[Any, ...], _output: Any) -> None:
        if inputs and isinstance(inputs[0], torch.Tensor):
            counted[0] += 2.0 * inputs[0].numel() * cast(int, layer.out_features)

    handles = [layer.register_forward_hook(count) for layer in layers]
    try:
        yield counted
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _unfused_attention() -> Iterator[None]:
    """Attention computed by its plain matrix products, which ``FlopCounterMode`` counts.

    In eval mode a real module takes PyTorch's fused paths (``nn.TransformerEncoder``'s fast path, the CPU
    ``scaled_dot_product_attention`` kernel), whose FLOPs the counter does not see: a small transformer counted 19x
    too few on its real module. The meta device never takes them. The fast-path switch is global: restored on exit.
    """
    from torch.backends import mha
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fastpath = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        mha.set_fastpath_enabled(fastpath)


def _parameter_count(module: torch.nn.Module) -> int:
    """The model's parameters, in whatever form they are stored: int8-quantised layers' packed weights included.

    ``torch.ao`` dynamic quantisation replaces ``nn.Linear`` by layers whose weight and bias are packed, not
    parameters: counted by ``parameters()`` alone, the int8 model would have fewer parameters than the one it came from.
    A lazy module's parameters that no forward pass has initialised yet (a ``LazyLinear`` used in training only) have
    no size: they are left out (:func:`_lazy_parameters` says whether there are any), as Lightning's model summary
    leaves them out, rather than failing the loop (``numel()`` raises on them).
    """
    count = sum(p.numel() for p in module.parameters() if not is_lazy(p))
    for layer in module.modules():
        weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
        if "quantized" in type(layer).__module__ and callable(weight) and callable(bias):
            count += weight().numel() + (0 if bias() is None else bias().numel())
    return count


def _lazy_parameters(module: torch.nn.Module) -> bool:
    """Whether ``module`` holds parameters or buffers a lazy module has not initialised yet (no forward reached it)."""
    return any(is_lazy(t) for t in itertools.chain(module.parameters(), module.buffers()))


def _on_meta(pl_module: pl.LightningModule) -> torch.nn.Module | None:
    """The module rebuilt on the meta device from ``save_hyperparameters()``, in eval mode; None if it cannot be."""
    try:
        with torch.device("meta"):
            model = type(pl_module)(**pl_module.hparams)
        if any(t.device.type != "meta" for t in (*model.parameters(), *model.buffers())):
            # A module saved among the hyperparameters (lightning-hydra-template's ``net``) is the real one, not a
            # copy: eval() here would switch the trained module's mode. Count on the real module instead.
            return None
        return model.eval()
    except TrialFailure:  # the trial's time limit (a constructor loading weights for seconds)
        raise
    except Exception:  # no saved hyperparameters, or a constructor that needs more: count on the real module
        return None


def trial_metrics(trainer: pl.Trainer, *results: Mapping[str, Any]) -> dict[str, float | str]:
    """Everything a sweep trial returns, in one call: logged metrics, energy figures and the energy source.

    Args:
        trainer: The trainer after ``trainer.test(...)`` (or ``predict``/``validate``).
        *results: Optional extra metric dicts, e.g. the list items ``trainer.test()`` returns.

    Returns:
        ``{metric: float}``: what the trainer's loops logged, every ``EnergyCallback``'s figures (``energy/train_j``
        included) and ``"energy/source"``: the label of the energy figures (``"measured: ..."`` or
        ``"estimated: ..."``). The logged metrics are ``trainer.callback_metrics`` and, kept by the
        ``EnergyCallback``, what earlier loops logged: Lightning empties ``callback_metrics`` when a loop starts, so
        after ``fit``, ``test`` and ``predict`` the fit's ``val/...`` and the test's ``test/...`` metrics are still
        here (a later loop's value of one name wins; a repeated ``test`` replaces the earlier one's metrics).

    Raises:
        TypeError: ``trainer`` is not a ``Trainer`` (``trainer.test()``'s list goes after it), or a result is not a
            dict of metrics.
        EnergyMeterError: The loops' energy figures are of different kinds (one callback measured, another
            estimated): one label cannot name them.

    Example::

        trainer.fit(model, datamodule=dm)
        trainer.test(model, datamodule=dm)
        return trial_metrics(trainer)  # from a Hydra task: the ecopt sweeper reads it
    """
    if not (hasattr(trainer, "callbacks") and hasattr(trainer, "callback_metrics")):
        raise TypeError(
            f"trial_metrics(trainer={trainer!r:.80}): expected the Trainer that ran the loops; what trainer.test() "
            "returned goes after it: trial_metrics(trainer, results)."
        )
    callbacks = [c for c in trainer.callbacks if isinstance(c, EnergyCallback)]
    out: dict[str, float | str] = {}
    for callback in callbacks:  # what earlier loops logged (Lightning empties callback_metrics when a loop starts)
        for logged in callback._logged.values():
            out.update(logged)
    out.update(_scalars(trainer.callback_metrics))
    extras: list[Any] = []
    for extra in results:  # trainer.test()'s list itself, not only its items (*results)
        extras.extend(extra if isinstance(extra, list | tuple) else [extra])
    for extra in extras:
        if not isinstance(extra, Mapping):
            raise TypeError(
                f"trial_metrics(trainer, *results): each result must be a dict of metrics, got {type(extra).__name__} "
                f"({extra!r:.80}); pass trainer.test()'s list as it is or unpacked (*results)"
            )
        for key, value in extra.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float | torch.Tensor) or callable(getattr(value, "item", None)):
                try:
                    out[str(key)] = float(value)  # numpy and torch scalars too
                except (TypeError, ValueError, RuntimeError):
                    continue
    sources: dict[str, str] = {}  # stage: label
    for callback in callbacks:
        for stage, result in callback.results.items():
            out.update(result.metrics())
            sources[stage] = result.source
        for stage in callback.results:  # the counts of the models the evaluation loops ran, each loop's own
            out.update(callback._stage_stats.get(stage, {}))
    if sources:
        out["energy/source"] = _one_label(sources)
    elif callbacks and any(key.startswith("energy/") for key in out) and "spawned" not in _FALLBACK_WARNED:
        _FALLBACK_WARNED.add("spawned")  # the figures came back from started processes, their label did not
        rank_zero_warn(f"trial_metrics: no energy source label beside the energy figures. {_SPAWNED_PROCESSES}")
    return out


_SPAWNED_PROCESSES = (
    "EnergyCallback: this strategy starts its processes with multiprocessing (ddp_spawn, ddp_fork, ddp_notebook): "
    "the energy figures come back in trainer.callback_metrics and in the dicts the loops return, but the callback's "
    "`results`, `model_stats` and the energy source label stay in those processes, so trial_metrics(trainer) has no "
    "'energy/source' and a sweep fails such trials. In a single run use strategy='ddp' (Lightning starts the other "
    "ranks as subprocesses of the script; or torchrun, SLURM). In a multirun (-m) that would rerun the whole sweep "
    "in each rank: give each trial one device, or start one process per device from the launcher "
    "(hydra/launcher=submitit_slurm with hydra.launcher.tasks_per_node=<devices>)."
)


def _scalars(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The one-number entries of ``metrics`` (tensors of one element, ints, floats) as floats."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            out[key] = float(value.item())
        elif isinstance(value, int | float):
            out[key] = float(value)
    return out


def _one_label(sources: Mapping[str, str]) -> str:
    """The one label of a trial's figures from several loops.

    The loops' own if they agree; their details joined if they are of one kind (``measured: zeus/nvml, zeus/rapl``).

    Raises:
        EnergyMeterError: The loops' figures are of different kinds (one callback measured, another estimated):
            one label would pass one kind's joules as the other's.
    """
    labels = list(dict.fromkeys(sources.values()))
    if len(labels) == 1:
        return labels[0]
    kinds = {source_kind(label) for label in labels}
    if len(kinds) > 1:
        named = ", ".join(f"{label!r} ({stage})" for stage, label in sources.items())
        raise EnergyMeterError(
            f"trial_metrics: the loops' energy figures are of different kinds ({named}), and a trial's figures carry "
            f"one label; measure every loop the same way (one meter for all EnergyCallbacks, e.g. meter='auto')."
        )
    details = [label.split(":", 1)[1].strip() if ":" in label else "" for label in labels]
    return f"{kinds.pop()}: {', '.join(d for d in details if d)}"
