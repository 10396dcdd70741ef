"""Pure arithmetic behind the energy callback: loop figures, efficiency metrics and the per-batch rule."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ENERGY_METRICS",
    "FLOPS_PER_SAMPLE",
    "LOOP_MIN_PERIODS",
    "PER_BATCH_MIN_PERIODS",
    "PREDICT_STEP_FLOPS_PER_SAMPLE",
    "LoopEnergy",
    "choose_per_batch_mode",
    "energy_stage",
    "unknown_energy_metric",
]

PerBatchMode = Literal["window", "split"]

#: A per-batch window must last at least this many counter update periods to be trusted (quantisation error of
#: one counter step <= 10 %); shorter batches get the loop figure divided by the number of batches.
PER_BATCH_MIN_PERIODS = 10

#: A measured loop shorter than this many counter update periods is flagged short whatever ``min_duration_s`` says:
#: 20 NVML periods (2 s) is the shortest loop whose joules repeated within 2 % on an H100 (10 periods: 4 %;
#: docs/gpu-validation.md section 2). It binds only on coarse counters: 20 ms of RAPL, nanoseconds of CPU time.
LOOP_MIN_PERIODS = 20


_LOOP_FIGURES = (
    "j", "gpu_j", "cpu_j", "dram_j", "other_j", "time_s", "power_w", "samples", "samples_per_j", "j_per_sample",
    "j_per_batch", "warmup_j", "short_window", "tokens", "tokens_per_j", "cpu_contention",
)  # fmt: skip

#: Every ``energy/...`` metric lightning_ecopt writes: the loop figures of ``EnergyCallback`` (test, predict,
#: validate), its training figures (and the part of them a resumed fit's checkpoint carried in), those of a loop an
#: error cut short (``_aborted_j``, ``_aborted_time_s``), and the training energy a reused checkpoint avoided
#: (``CheckpointCache``).
ENERGY_METRICS = frozenset(
    [f"energy/{stage}_{figure}" for stage in ("test", "predict", "validate") for figure in _LOOP_FIGURES]
    + ["energy/train_j", "energy/train_time_s", "energy/train_resumed_from_step"]
    + ["energy/train_carried_j", "energy/train_carried_time_s"]
    + ["energy/train_reused_j", "energy/train_reused_time_s"]
    + ["energy/validate_in_fit"]
    + [f"energy/{stage}_aborted_{figure}" for stage in ("test", "predict", "validate") for figure in ("j", "time_s")]
)

#: ``EnergyCallback``'s FLOPs of one forward pass of one sample, in every loop it measures.
FLOPS_PER_SAMPLE = "model/flops_per_sample"

#: ``EnergyCallback(predict_flops="predict_step")``'s FLOPs of one ``predict_step`` call on one sample (a whole
#: generation: many forward passes), logged by its predict loops in place of :data:`FLOPS_PER_SAMPLE`. A name of its
#: own, so that one run (a test loop, then a predict loop) never logs two meanings under one key.
PREDICT_STEP_FLOPS_PER_SAMPLE = "model/predict_step_flops_per_sample"


def energy_stage(name: str) -> str:
    """The loop an ``energy/...`` metric of ours is a figure of: ``train``, ``test``, ``predict`` or ``validate``.

    >>> energy_stage("energy/test_samples_per_j"), energy_stage("energy/train_j"), energy_stage("energy/predict_j")
    ('test', 'train', 'predict')
    """
    return name.removeprefix("energy/").split("_", 1)[0]


def unknown_energy_metric(name: str) -> str | None:
    """Why ``name`` cannot be an energy metric of ours (with the closest one), or ``None`` when it can be.

    Only names in the ``energy/`` namespace are judged: a typo there would otherwise fail every trial of a sweep.

    >>> unknown_energy_metric("energy/test_samples_per_j") is None, unknown_energy_metric("val/acc") is None
    (True, True)
    >>> unknown_energy_metric("energy/trian_j")
    "'energy/trian_j' is not a metric EnergyCallback logs; did you mean 'energy/train_j'?"
    """
    if not name.startswith("energy/") or name in ENERGY_METRICS:
        return None
    import difflib

    close = difflib.get_close_matches(name, sorted(ENERGY_METRICS), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see EnergyCallback's docstring for the metrics it logs."
    return f"{name!r} is not a metric EnergyCallback logs; {hint}"


def choose_per_batch_mode(batch_durations_s: Sequence[float], update_period_s: float) -> PerBatchMode:
    """Pick how per-batch joules are obtained, from the warm-up batches' durations.

    ``"window"`` (one energy window per batch) when every warm-up batch after the first lasts at least
    :data:`PER_BATCH_MIN_PERIODS` counter periods, else ``"split"`` (the loop's joules divided by its batches). The
    first batch pays the cold start (lazy initialisation, cuDNN autotuning, ``torch.compile``), so it never decides:
    with fewer than two warm-up batches, ``"split"``, which costs nothing per batch.

    >>> choose_per_batch_mode([0.002, 0.003], update_period_s=0.1)
    'split'
    >>> choose_per_batch_mode([1.5, 1.4, 1.6], update_period_s=0.1)
    'window'
    >>> choose_per_batch_mode([30.0, 0.002], update_period_s=0.1)  # a compile in the first batch
    'split'
    """
    steady = batch_durations_s[1:]
    if not steady:
        return "split"
    return "window" if min(steady) >= PER_BATCH_MIN_PERIODS * update_period_s else "split"


@dataclass(frozen=True)
class LoopEnergy:
    """Energy figures of one loop (test, predict, validate or train), summed over every rank.

    The figures cover the measured batches: warm-up batches are excluded and reported apart
    (``warmup_j``), so ``energy_j + warmup_j`` is the whole loop.

    Args:
        stage: ``"test"``, ``"predict"``, ``"validate"`` or ``"train"``.
        source: ``"measured: zeus/..."`` or ``"estimated: cpu-time"``.
        time_s: Wall time of the measured part of the loop (the slowest rank).
        gpu_j: GPU joules, or ``None`` when no GPU was measured (a CPU-time estimate, RAPL alone).
        cpu_j: CPU package joules, or ``None`` when not measured.
        dram_j: DRAM joules, or ``None`` when not measured.
        samples: Samples in the measured batches (every rank's).
        batches: Measured batches (every rank's).
        tokens: Tokens counted by ``count_fn``, or ``None``.
        warmup_batches: Batches excluded as warm-up (every rank's).
        warmup_j: Joules of the warm-up batches (every rank's).
        per_batch_mode: ``"window"`` (per-batch windows) or ``"split"`` (loop joules / batches).
        batch_j: Joules of each measured batch in ``"window"`` mode (this rank), else empty.
        batch_mean_j: The mean per-batch window over every rank (``"window"`` mode; ``None``: the mean of
            ``batch_j``). Under DDP a rank's windows alone can be neither the loop's: package-wide RAPL on one rank
            holds every rank's concurrent work, and the ranks it covers read 0 J.
        short: The loop was shorter than ``min_duration_s``, or than :data:`LOOP_MIN_PERIODS` updates of its meter's
            counter (unless ``min_duration_s`` is 0), or ended inside its warm-up (measured whole, the first batches'
            one-off costs included; under DDP, on any rank), or ``torch.compile`` compiled inside the measured
            window: its figures are flagged as unreliable.
        cpu_contention: The share (0-1) of the machine's CPU capacity other processes used during the measured
            window (:func:`lightning_ecopt.energy.contention.others_share`; this rank's machine), or ``None`` where
            unknown (not Linux).
        in_fit: For a validate loop, whether it ran inside ``fit`` (its joules are then part of ``energy/train_j``)
            or on its own (``trainer.validate()``); logged as ``energy/validate_in_fit``. ``None`` for other loops.
        aborted: The loop was cut short by an error: its figures are the whole loop's joules and wall time up to
            the error (``energy/{stage}_aborted_j``, ``energy/{stage}_aborted_time_s``: what the search spent on
            it), and no efficiency figure, which a loop cut short does not have.
        other_j: Joules of the parts beside the GPUs, CPU and DRAM that an SoC's counters read (an Apple chip's
            Neural Engine, the rest of a Jetson module), or ``None`` when none was read.

    Example:
        >>> e = LoopEnergy("test", "estimated: cpu-time", time_s=2.0, gpu_j=None, cpu_j=10.0, dram_j=None,
        ...                samples=500, batches=10)
        >>> e.energy_j, e.samples_per_j, e.j_per_sample, e.j_per_batch, e.power_w
        (10.0, 50.0, 0.02, 1.0, 5.0)
    """

    stage: str
    source: str
    time_s: float
    gpu_j: float | None
    cpu_j: float | None
    dram_j: float | None
    samples: int
    batches: int
    tokens: int | None = None
    warmup_batches: int = 0
    warmup_j: float = 0.0
    per_batch_mode: PerBatchMode = "split"
    batch_j: tuple[float, ...] = field(default_factory=tuple, repr=False)  # thousands of floats: read it by name
    batch_mean_j: float | None = None
    short: bool = False
    cpu_contention: float | None = None
    in_fit: bool | None = None
    aborted: bool = False
    other_j: float | None = None

    @property
    def energy_j(self) -> float:
        """Joules of every measured domain together."""
        return (self.gpu_j or 0.0) + (self.cpu_j or 0.0) + (self.dram_j or 0.0) + (self.other_j or 0.0)

    @property
    def energy_read(self) -> bool:
        """Whether the loop read a usable energy: a finite number of joules above 0.

        A loop that read 0 J (a window shorter than the counter's update period, a counter not advancing), a negative
        figure or an infinite one has no energy to divide: every figure derived from it is NaN, never a silent 0
        that would win a "minimise joules" objective.
        """
        return math.isfinite(self.energy_j) and self.energy_j > 0

    @property
    def power_w(self) -> float:
        """Mean power in watts (NaN unless :attr:`energy_read`)."""
        return _ratio(self.energy_j, self.time_s) if self.energy_read else math.nan

    @property
    def samples_per_j(self) -> float:
        """Samples per joule (NaN unless :attr:`energy_read`: undefined, never infinite or 0)."""
        return _ratio(self.samples, self.energy_j) if self.energy_read else math.nan

    @property
    def j_per_sample(self) -> float:
        """Joules per sample (NaN unless :attr:`energy_read`)."""
        return _ratio(self.energy_j, self.samples) if self.energy_read else math.nan

    @property
    def j_per_batch(self) -> float:
        """Joules per batch: the mean per-batch window in ``"window"`` mode (every rank's), else joules / batches.

        NaN unless :attr:`energy_read`.
        """
        if not self.energy_read:
            return math.nan
        if self.per_batch_mode == "window" and self.batch_mean_j is not None:
            return self.batch_mean_j
        if self.per_batch_mode == "window" and self.batch_j:
            return statistics.fmean(self.batch_j)
        return _ratio(self.energy_j, self.batches)

    @property
    def tokens_per_j(self) -> float | None:
        """Tokens per joule, when tokens are counted (NaN unless :attr:`energy_read`)."""
        if self.tokens is None:
            return None
        return _ratio(self.tokens, self.energy_j) if self.energy_read else math.nan

    def metrics(self) -> dict[str, float]:
        """The logged metrics, keyed ``energy/{stage}_...`` (units in the key; see ``EnergyCallback``)."""
        s = f"energy/{self.stage}"
        if self.stage == "train":
            return {f"{s}_j": self.energy_j + self.warmup_j, f"{s}_time_s": self.time_s}
        if self.aborted:
            return {f"{s}_aborted_j": self.energy_j + self.warmup_j, f"{s}_aborted_time_s": self.time_s}
        out = {
            f"{s}_j": self.energy_j,
            f"{s}_time_s": self.time_s,
            f"{s}_power_w": self.power_w,
            f"{s}_samples": float(self.samples),
            f"{s}_samples_per_j": self.samples_per_j,
            f"{s}_j_per_sample": self.j_per_sample,
            f"{s}_j_per_batch": self.j_per_batch,
            f"{s}_warmup_j": self.warmup_j,
            f"{s}_short_window": float(self.short),
        }
        # A domain no counter read is left out rather than logged as 0 J (CPU-time estimates count as CPU): a GPU
        # figure of 0 from a run that read no GPU would win a "minimise GPU joules" objective.
        if self.gpu_j is not None:
            out[f"{s}_gpu_j"] = self.gpu_j
        if self.cpu_j is not None:
            out[f"{s}_cpu_j"] = self.cpu_j
        if self.dram_j is not None:
            out[f"{s}_dram_j"] = self.dram_j
        if self.other_j is not None:
            out[f"{s}_other_j"] = self.other_j
        if self.tokens is not None:
            out[f"{s}_tokens"] = float(self.tokens)
            out[f"{s}_tokens_per_j"] = math.nan if self.tokens_per_j is None else self.tokens_per_j
        if self.cpu_contention is not None:
            out[f"{s}_cpu_contention"] = self.cpu_contention
        if self.in_fit is not None:
            out[f"{s}_in_fit"] = float(self.in_fit)
        return out


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan
