"""The search-energy ledger: what each trial spent, what the whole search cost, and when a frontier model repays it.

:func:`trial_energy` gives one trial's joules, :func:`ledger` the sweep's :class:`Ledger` (totals, CO2, checkpoint
savings, and each frontier model against a baseline); ``ecopt report`` (:mod:`lightning_ecopt.report`) prints it, and
the proxy audit (:mod:`lightning_ecopt.proxy_audit`) reads energy per inference as it does. Pure functions of a
:class:`~lightning_ecopt.sweeper.results.SweepResult`: nothing is read or written here.

Accounting rules
----------------
- **Energy per inference** is the trials' ``energy/<stage>_j_per_sample`` (or ``1 / energy/<stage>_samples_per_j``),
  for the loop an energy objective names (``energy/predict_tokens_per_j``: predict), else the first of the stages
  test, predict, validate that the trials report.
- **Search energy** is, for every trial that ran, ``energy/train_j`` (the whole ``fit``, its validation included)
  plus the evaluation loops: ``energy/test_j`` and ``energy/predict_j`` with their warm-up joules
  (``energy/<stage>_warmup_j``), and ``energy/validate_j`` (+ warm-up) only where it is not inside ``fit``'s:
  trials without ``energy/train_j``, with ``energy/train_j = 0``, that loaded a cached checkpoint
  (``checkpoint/reused = 1``), or whose validate loop ran on its own (``trainer.validate()``, logged as
  ``energy/validate_in_fit = 0``); never figures of a fit's validation (``energy/validate_in_fit = 1``, which a
  trial that reused a checkpoint reports from the fit that trained it). Failed trials count when their
  figures are known, a loop an error cut short by its ``energy/<stage>_aborted_j`` (``EnergyCallback`` keeps it);
  trials whose energy is unknown (failed before reporting, abandoned, or without any energy figure) are counted
  apart and make the total a lower bound, as do trials that ran with a known training energy but an evaluation
  energy that is NaN (or, completed, not recorded). Reused trials were not run and cost nothing.
  Ax's own proposal time is not metered.
- **Energy kinds**: measured and estimated joules are never summed. When the counted trials mix them
  (``allow_mixed_energy_sources``, or a failed trial's figures), the ledger totals each kind apart, compares
  frontier models only with a baseline of their kind, and gives no break-even. Figures without a source label
  beside labelled ones are a kind of their own (``"unlabelled"``), as the sweep treats them.
- **Checkpoint reuse** (``lightning_ecopt.checkpoints``): a trial that loaded a cached checkpoint instead of training
  reports ``energy/train_j = 0`` and the training energy it avoided as ``energy/train_reused_j``; the ledger sums the
  latter (x PUE) as the search energy saved against retraining every trial.
- **PUE** multiplies every joule (the search and the inferences run in the same facility), so the break-even
  number of inferences does not depend on it; it changes the totals and the CO2.
- **Break-even**: ``search energy / (baseline J per inference - model J per inference)``: the inferences after
  which serving the frontier model instead of the baseline has paid for the whole search. ``None`` (never) when the
  model uses at least as much energy per inference as the baseline.
- **Baseline** (``baseline=``): ``"most-accurate"`` (default): the completed trial with the best value of the first
  objective that is not an energy figure (in an energy-only sweep, of the first outcome constraint's metric that is
  not one, maximised under ``>=``: ``test/acc >= 0.9``): the model an accuracy-only search would pick (trials that
  tie exactly on it, as in an inference-only sweep where every trial loads the same weights, go to the one with the
  least energy per inference: the smallest saving and the longest payback, whatever order they were proposed in);
  ``"first"``: the first completed trial; or a trial index. ``"most-accurate"`` chooses among the trials that meet
  the sweep's outcome constraints, as the frontier does (a model the user ruled out is no baseline); ``"first"`` and
  an index are the user's reference model, taken as they are: the report says which constraints it breaks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lightning_ecopt import views
from lightning_ecopt.energy.measurement import source_kind
from lightning_ecopt.results_file import SweepDataError
from lightning_ecopt.sweeper.objectives import Objective, OutcomeConstraint
from lightning_ecopt.sweeper.results import (
    SweepResult,
    TrialRecord,
    front_candidates,
    has_energy_figures,
    loaded_checkpoint,
    meets,
)

__all__ = [
    "BASELINE_RULES",
    "DEFAULT_CARBON_G_PER_KWH",
    "DEFAULT_PUE",
    "GLOBAL_AVERAGE_PUE",
    "FrontierSaving",
    "KindTotal",
    "Ledger",
    "TrialEnergy",
    "ledger",
    "parse_baseline",
    "trial_energy",
]

DEFAULT_PUE = 1.0
"""Power usage effectiveness used unless given: 1.0 counts the IT equipment only (as the ECOpt reference code)."""

GLOBAL_AVERAGE_PUE = 1.56
"""The global average data-centre PUE (Uptime Institute survey, 2024): a realistic value for cloud runs."""

_MAX_PUE = 10.0
"""The largest PUE taken: real facilities run from about 1.1 to 3; one past 10 is a slip (156 for 1.56, 1e308)."""

DEFAULT_CARBON_G_PER_KWH = 475.0
"""Carbon intensity of electricity used unless given (g CO2e/kWh): about the world average (IEA)."""

_MAX_CARBON_G_PER_KWH = 2000.0
"""The largest carbon intensity taken (g CO2e/kWh): lignite, the dirtiest grid electricity, emits about 1,100-1,200;
one past 2,000 is a slip of units (475,000 g/MWh for 475 g/kWh). The cleanest grids (hydro, nuclear) emit about 10-30,
so one between 0 and 1 is the other slip (0.475 kg/kWh); 0 (carbon-free electricity, as contracted) is taken."""

BASELINE_RULES = ("most-accurate", "first")
"""Named baseline rules; a trial index is also accepted."""

_STAGES = ("test", "predict", "validate")
_J_PER_KWH = 3.6e6


# -- energy per trial -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialEnergy:
    """What one trial cost, as far as it is known.

    Args:
        trial_index: The trial.
        status: ``"completed"``, ``"failed"``, ``"abandoned"`` or ``"reused"``.
        train_j: ``energy/train_j`` (the whole ``fit``), or ``None`` when not recorded.
        eval_j: The evaluation loops' joules (warm-up included), or ``None`` when not recorded.
        known: Whether the trial's energy is known (reused trials are known: 0 J).
        eval_partial: The trial ran, its training energy is known, but an evaluation loop's energy is NaN, or it
            completed without any evaluation energy recorded: ``eval_j`` understates it.
    """

    trial_index: int
    status: str
    train_j: float | None
    eval_j: float | None
    known: bool
    eval_partial: bool = False

    @property
    def total_j(self) -> float:
        """Training plus evaluation joules (0 for what is unknown)."""
        return (self.train_j or 0.0) + (self.eval_j or 0.0)


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def trial_energy(trial: TrialRecord) -> TrialEnergy:
    """The joules one trial spent: training plus evaluation (see the module's accounting rules).

    Args:
        trial: The trial record.

    Returns:
        Its :class:`TrialEnergy`.

    Example:
        >>> from lightning_ecopt.sweeper.results import TrialRecord
        >>> t = TrialRecord(0, {}, "completed", {"energy/train_j": 50.0, "energy/test_j": 2.0,
        ...                                       "energy/test_warmup_j": 0.5, "energy/validate_j": 9.0})
        >>> trial_energy(t).total_j  # validation is inside fit when train_j is known
        52.5
        >>> after_fit = TrialRecord(2, {}, "completed", {"energy/train_j": 50.0, "energy/validate_j": 9.0,
        ...                                              "energy/validate_in_fit": 0.0})
        >>> trial_energy(after_fit).total_j  # ... unless it ran on its own (trainer.validate() after fit)
        59.0
        >>> reused = TrialRecord(1, {}, "completed", {"energy/train_j": 0.0, "energy/train_reused_j": 50.0,
        ...                                           "checkpoint/reused": 1.0, "energy/validate_j": 2.0})
        >>> trial_energy(reused).total_j  # fit never ran: the validate loop counts
        2.0
    """
    status = "reused" if trial.reused_from is not None else trial.status
    if status == "reused":
        return TrialEnergy(trial.trial_index, status, 0.0, 0.0, known=True)
    m = trial.metrics
    train_j = _finite(m.get("energy/train_j"))
    # energy/validate_in_fit = 1: a fit's validation, inside a train_j (this trial's, or the one whose checkpoint it
    # reused, which reports that fit's figures); 0: a trainer.validate() of its own. Results written before the flag
    # existed have none: a trial that trained is then taken to have validated inside its fit.
    in_fit = m.get("energy/validate_in_fit")
    validation_in_train_j = in_fit == 1 if in_fit is not None else train_j is not None and _fit_ran(m)
    stages = ("test", "predict") if validation_in_train_j else _STAGES
    # A loop an error cut short, every stage: EnergyCallback keeps none for a fit's validation (the fit's figures
    # hold it), so a validate_aborted_j is a trainer.validate() of its own even where validate_in_fit says 1.
    keys = [f"energy/{s}_{part}" for part in ("j", "warmup_j") for s in stages] + [
        f"energy/{s}_aborted_j" for s in _STAGES
    ]
    known_parts = [p for k in keys if (p := _finite(m.get(k))) is not None]
    eval_j = sum(known_parts) if known_parts else None
    # A loop that ran but whose energy is NaN (a documented reading), or a completed trial without any evaluation
    # figure, while the training energy is known: the trial's cost is only partly known. (A failed trial without
    # one may have stopped before evaluating: 0 J, not unknown.)
    unreadable = any(k in m and _finite(m[k]) is None for k in keys)
    # A counter that read 0 J over a whole loop with samples (a window shorter than one update) missed up to a
    # step, not nothing; a warm-up that read joules makes the loop's sum an ordinary reading, and an estimate of 0 J
    # is no counter that failed to move.
    zero_read = source_kind(trial.energy_source or "") == "measured" and any(
        _finite(m.get(f"energy/{s}_j")) == 0
        and not _finite(m.get(f"energy/{s}_warmup_j"))
        and (_finite(m.get(f"energy/{s}_samples")) or 0) > 0
        for s in stages
    )
    partial = train_j is not None and (unreadable or zero_read or (eval_j is None and status == "completed"))
    known = train_j is not None or eval_j is not None
    return TrialEnergy(trial.trial_index, status, train_j, eval_j, known=known, eval_partial=partial)


def _fit_ran(metrics: Mapping[str, float]) -> bool:
    """Whether the trial trained (``fit`` ran, its validation inside ``energy/train_j``).

    Not when it loaded a cached checkpoint (``lightning_ecopt.checkpoints``: ``checkpoint/reused = 1``, the avoided
    training as ``energy/train_reused_j > 0``, ``energy/train_j = 0``): its validation then ran on its own
    (``trainer.validate()``) and counts.
    """
    reused = _finite(metrics.get("checkpoint/reused")) or _finite(metrics.get("energy/train_reused_j"))
    return not reused and metrics.get("energy/train_j") != 0


def _objective_stages(objectives: Sequence[Objective]) -> list[str]:
    """The loops (test, predict, validate) whose energy figures are objectives, in objective order."""
    return [
        stage
        for o in objectives
        for stage in _STAGES
        if o.name.startswith(f"energy/{stage}_") and views.is_energy_metric(o.name)
    ]


def _loop_flags(result: SweepResult, figure: str) -> dict[int, float]:
    """Each trial that ran's highest ``energy/<stage>_<figure>``, over the loops the energy objectives name.

    All loops when no objective names one. A flag on a loop the sweep does not optimise (a short perplexity loop
    beside the generation it optimises) says nothing about the figures it compared. A NaN or infinite figure (kept in
    a completed trial's record) is no reading: ``max`` with a NaN first is the NaN, which hid another loop's flag.
    """
    stages = _objective_stages(result.objectives) or list(_STAGES)
    keys = [f"energy/{stage}_{figure}" for stage in stages]
    out: dict[int, float] = {}
    for t in _evaluated(result):
        values = [v for k in keys if (v := _finite(t.metrics.get(k))) is not None]
        if values:
            out[t.trial_index] = max(values)
    return out


def _energy_per_inference(
    trials: Sequence[TrialRecord], objectives: Sequence[Objective] = ()
) -> tuple[str | None, Callable[[TrialRecord], float | None]]:
    """The metric that gives joules per inference, and a getter for it (``None`` when a trial lacks it).

    From the loop an energy objective names (``energy/predict_tokens_per_j``: the predict loop) where there is one,
    since that is the inference the sweep optimised; else the first of test, predict and validate that has it.
    """
    for stage in dict.fromkeys([*_objective_stages(objectives), *_STAGES]):
        direct, inverse = f"energy/{stage}_j_per_sample", f"energy/{stage}_samples_per_j"
        if any(_finite(t.metrics.get(direct)) is not None for t in trials):

            def get_direct(t: TrialRecord, key: str = direct) -> float | None:
                return _finite(t.metrics.get(key))

            return direct, get_direct
        if any(_finite(t.metrics.get(inverse)) for t in trials):

            def get_inverse(t: TrialRecord, key: str = inverse) -> float | None:
                value = _finite(t.metrics.get(key))
                return 1.0 / value if value else None

            return f"1 / {inverse}", get_inverse
    return None, lambda t: None


def _inference_stage(metric: str | None) -> str | None:
    """The loop an energy-per-inference metric reads (``"test"`` for ``energy/test_j_per_sample`` or its inverse).

    >>> _inference_stage("1 / energy/predict_samples_per_j"), _inference_stage(None)
    ('predict', None)
    """
    found = re.search(r"energy/(\w+?)_(?:j_per_sample|samples_per_j)", metric or "")
    return None if found is None else found.group(1)


def _evaluated(result: SweepResult) -> list[TrialRecord]:
    """Completed trials that ran (not reused)."""
    return front_candidates(result.trials)


# -- search-cost ledger ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontierSaving:
    """One frontier model against the baseline.

    Args:
        trial_index: The frontier trial.
        j_per_inference: Its energy per inference, x PUE (J).
        saved_j_per_inference: Baseline's minus this model's energy per inference, x PUE (J; negative: it costs more).
        saved_fraction: ``saved / baseline`` (0.25 = a quarter less energy per inference); NaN against a baseline
            that read 0 J per inference (no share of nothing; ``null`` in ``ecopt report --json``).
        break_even_inferences: Inferences after which the saving has repaid the whole search, or ``None`` (never:
            the model saves nothing per inference).
    """

    trial_index: int
    j_per_inference: float
    saved_j_per_inference: float
    saved_fraction: float
    break_even_inferences: float | None


@dataclass(frozen=True)
class KindTotal:
    """The search energy of the counted trials whose energy has one kind (measured or estimated).

    Args:
        kind: ``"measured"``, ``"estimated"`` or ``"unlabelled"`` (trials that returned no source label).
        trials_counted: Counted trials of this kind.
        train_j: Their training joules (before PUE).
        eval_j: Their evaluation joules (before PUE).
        total_j: ``(train_j + eval_j) * pue`` (J).
        co2_g: ``total_j`` in kWh times the carbon intensity (g CO2e).
        checkpoint_saved_j: Training energy their checkpoint reuse avoided, x PUE (J).
        trials_without_train_j: Of them, trials that recorded no training energy (only their evaluation counts).
    """

    kind: str
    trials_counted: int
    train_j: float
    eval_j: float
    total_j: float
    co2_g: float
    checkpoint_saved_j: float = 0.0
    trials_without_train_j: int = 0


@dataclass(frozen=True)
class Ledger:
    """What the search cost, and when it pays for itself.

    Measured and estimated joules are never summed: when the counted trials mix the two kinds, ``train_j``,
    ``eval_j``, ``total_j``, ``co2_g`` and ``checkpoint_saved_j`` are NaN (``null`` in JSON), ``totals_by_kind``
    holds one total per kind, and no break-even is computed (see :attr:`mixed_energy`).

    Args:
        energy_label: Where the joules come from (``"estimated (cpu-time)"``, ``"measured (zeus/nvml)"``...).
        pue: Power usage effectiveness applied to every joule.
        carbon_g_per_kwh: Carbon intensity used for the CO2 figure (g CO2e per kWh).
        train_j: Training joules of the trials that ran (IT equipment, before PUE).
        eval_j: Evaluation joules of the trials that ran (IT equipment, before PUE).
        total_j: ``(train_j + eval_j) * pue``: the search's energy (J).
        co2_g: ``total_j`` in kWh times ``carbon_g_per_kwh`` (g CO2e).
        trials_counted: Trials whose energy is in the total (failed ones included when known).
        failed_counted: Failed trials among them.
        trials_unknown: Trials that ran but whose energy is unknown (not in the total, which is then a lower bound).
        trials_reused: Trials answered from an earlier one (not run: 0 J).
        trials_without_train_j: Counted trials that recorded no training energy (only their evaluation counts).
        energy_per_inference: The metric used for energy per inference, or ``None`` when the trials have none.
        baseline_rule: How the baseline was chosen (``"most-accurate"``, ``"first"`` or ``"trial"``).
        baseline_metric: The metric ``"most-accurate"`` judged by: the first objective that is not an energy figure
            (not always an accuracy: a latency, a perplexity), in an energy-only sweep the first outcome constraint's
            on another figure (``test/acc >= 0.9``: ``test/acc``); ``None`` under the other rules.
        baseline: The baseline trial's index, or ``None`` when none qualifies.
        baseline_j_per_inference: The baseline's energy per inference x PUE (J).
        savings: Every frontier model against the baseline.
        trials_checkpoint_reused: Counted trials that loaded a cached checkpoint instead of training.
        checkpoint_saved_j: Training energy those trials avoided, x PUE (J): retraining every trial would have cost
            ``total_j + checkpoint_saved_j``. A lower bound when ``trials_checkpoint_saved_unknown`` > 0.
        trials_checkpoint_saved_unknown: Of those trials, the ones that did not report the training energy they
            avoided (``energy/train_reused_j``: a checkpoint stored without training figures).
        trials_shared_counters: Counted trials measured on hardware counters shared with trials that ran beside them
            (``TrialRecord.shared_counters``): their joules include their neighbours' work, so they overstate it.
        trials_eval_unknown: Counted trials whose training energy is known but an evaluation loop's energy is NaN, 0 J
            over samples (a window under one counter update) or not recorded: counted where known, so the total is
            a lower bound.
        baseline_tied: Under ``"most-accurate"``, the trials that tie exactly with the baseline on
            ``baseline_metric`` (the baseline included) when there is more than one; else empty.
        baseline_tie_rule: How a tie was broken (``"least energy per inference"``: the conservative choice, the
            smallest saving and the longest payback, whatever order the trials were proposed in); ``None`` without
            a tie.
        energy_kinds: The kinds (``"measured"``, ``"estimated"``, ``"unlabelled"``: figures without a source label) of
            the counted and completed trials' energy.
        totals_by_kind: The search energy per kind (one entry when the kinds are not mixed).
        baseline_kind: The kind of the baseline's energy (``"unlabelled"`` without a label); ``None`` without a
            baseline. When the kinds are mixed, only frontier models of this kind are compared with it.
        baseline_passed_over: Completed trials with an energy per inference, better than the baseline on its
            metric, that ``"most-accurate"`` passed over because they break an outcome constraint (the baseline is
            then the best among the trials that meet them); empty under the other rules.
        baseline_breaks: The outcome constraints the baseline breaks (``"first"`` and a trial index take the trial
            whatever the constraints say), as text; empty when it meets them all.
    """

    energy_label: str
    pue: float
    carbon_g_per_kwh: float
    train_j: float
    eval_j: float
    total_j: float
    co2_g: float
    trials_counted: int
    failed_counted: int
    trials_unknown: list[int]
    trials_reused: int
    trials_without_train_j: int
    energy_per_inference: str | None
    baseline_rule: str
    baseline: int | None
    baseline_j_per_inference: float | None
    savings: list[FrontierSaving] = field(default_factory=list)
    trials_checkpoint_reused: int = 0
    checkpoint_saved_j: float = 0.0
    trials_checkpoint_saved_unknown: int = 0
    trials_shared_counters: int = 0
    baseline_metric: str | None = None
    trials_eval_unknown: list[int] = field(default_factory=list)
    baseline_tied: list[int] = field(default_factory=list)
    baseline_tie_rule: str | None = None
    energy_kinds: list[str] = field(default_factory=list)
    totals_by_kind: dict[str, KindTotal] = field(default_factory=dict)
    baseline_kind: str | None = None
    baseline_passed_over: list[int] = field(default_factory=list)
    baseline_breaks: list[str] = field(default_factory=list)

    @property
    def total_kwh(self) -> float:
        """The search's energy in kWh (NaN when the energy kinds are mixed)."""
        return self.total_j / _J_PER_KWH

    @property
    def lower_bound(self) -> bool:
        """Whether some trials' energy is unknown or partial, so the total is a lower bound."""
        return bool(self.trials_unknown) or self.trials_without_train_j > 0 or bool(self.trials_eval_unknown)

    @property
    def mixed_energy(self) -> bool:
        """Whether the trials mix measured and estimated energy: totals per kind, and no break-even."""
        return len(self.energy_kinds) > 1


def _check_ledger_options(pue: float, carbon_g_per_kwh: float) -> None:
    if not isinstance(pue, int | float) or isinstance(pue, bool) or not math.isfinite(pue) or pue < 1.0:
        raise SweepDataError(
            f"pue={pue!r} (ecopt report --pue): PUE is facility energy / IT energy, a number >= 1.0; use 1.0 for "
            f"the IT equipment only or {GLOBAL_AVERAGE_PUE} for the global average data centre."
        )
    if pue > _MAX_PUE:  # 1e308 printed 'Search energy: inf J'
        raise SweepDataError(
            f"pue={pue!r} (ecopt report --pue): PUE is facility energy / IT energy, about 1.1 to 3 in real data "
            f"centres; give a number from 1.0 to {_MAX_PUE:g}: 1.0 for the IT equipment only or "
            f"{GLOBAL_AVERAGE_PUE} for the global average data centre."
        )
    carbon = f"carbon_g_per_kwh={carbon_g_per_kwh!r} (ecopt report --carbon-intensity)"
    bad = isinstance(carbon_g_per_kwh, bool) or not isinstance(carbon_g_per_kwh, int | float)
    if bad or not math.isfinite(carbon_g_per_kwh) or carbon_g_per_kwh < 0:
        raise SweepDataError(
            f"{carbon}: expected grams of CO2e per kWh, a number >= 0 (e.g. {DEFAULT_CARBON_G_PER_KWH:g} for the "
            f"world average)."
        )
    real = f"{carbon}: grams of CO2e per kWh run from about 10 (hydro, nuclear) to 1,200 (lignite)"
    if 0 < carbon_g_per_kwh < 1:  # 0.475 (kg/kWh) printed a CO2 figure 1000x too low
        raise SweepDataError(
            f"{real}; {carbon_g_per_kwh!r} looks like kg/kWh: give {carbon_g_per_kwh * 1000:g} (g/kWh), or 0 for "
            f"carbon-free electricity."
        )
    if carbon_g_per_kwh > _MAX_CARBON_G_PER_KWH:  # 475000 (g/MWh) printed a CO2 figure 1000x too high
        raise SweepDataError(
            f"{real}; give a number from 0 to {_MAX_CARBON_G_PER_KWH:g} in g/kWh (divide g/MWh by 1000; e.g. "
            f"{DEFAULT_CARBON_G_PER_KWH:g} for the world average)."
        )


def _performance_objective(result: SweepResult, constraints: Sequence[OutcomeConstraint] = ()) -> Objective:
    """The objective ``"most-accurate"`` judges by: the first that is not an energy figure.

    Where every objective is one (an energy-only sweep, e.g. ``energy/test_j_per_sample`` with ``test/acc >= 0.9``),
    the metric of the first outcome constraint on another figure, maximised under ``>=`` and minimised under ``<=``:
    judged by the energy objective itself, the baseline would be the frontier's own best model, which saves nothing.
    Else the first objective.
    """
    found = next((o for o in result.objectives if not views.is_energy_metric(o.name)), None)
    if found is None:
        bound = next((c for c in constraints if not views.is_energy_metric(c.metric)), None)
        if bound is not None:
            found = Objective(bound.metric, minimize=bound.op == "<=")
    return found if found is not None else result.objectives[0]


_TIE_RULE = "least energy per inference"


def parse_baseline(baseline: str | int) -> str | int:
    """A baseline as :func:`ledger` takes it: a rule's name, or a trial index (an int, or its digits as text).

    Example:
        >>> parse_baseline("2"), parse_baseline(" 2 "), parse_baseline("first")
        (2, 2, 'first')
    """
    if isinstance(baseline, str) and re.fullmatch(r"\s*-?[0-9]+\s*", baseline):
        return int(baseline)
    return baseline


def _check_baseline(result: SweepResult, baseline: str | int) -> None:
    """Refuse a ``--baseline`` that names no trial of ``result`` and no rule, whether or not a ledger is drawn up."""
    if isinstance(baseline, int) and not isinstance(baseline, bool):
        indices = [t.trial_index for t in result.trials]
        if baseline not in indices:
            raise SweepDataError(
                f"baseline={baseline} (ecopt report --baseline): no trial {baseline} in this sweep (trials 0 to "
                f"{max(indices, default=-1)}); pass a trial index or one of {', '.join(BASELINE_RULES)}."
            )
    elif baseline not in BASELINE_RULES:
        raise SweepDataError(
            f"baseline={baseline!r} (ecopt report --baseline): unknown rule; choose one of "
            f"{', '.join(BASELINE_RULES)} or a trial index."
        )


def _choose_baseline(
    result: SweepResult,
    baseline: str | int,
    per_inference: Callable[[TrialRecord], float | None],
    constraints: Sequence[OutcomeConstraint] = (),
) -> tuple[str, TrialRecord | None, list[int]]:
    """The baseline trial for the ledger (see the module docstring), the rule's name, and the trials tied with it.

    Under ``"most-accurate"``, trials that tie exactly on the metric (an inference-only sweep: the same weights in
    every trial) go to the one with the least energy per inference, so the break-even does not depend on the order
    Ax proposed them in; the tied trials are returned when there is more than one. ``"most-accurate"`` chooses among
    the trials that meet ``constraints`` (as the frontier does); ``"first"`` (the user's reference model, e.g. the
    app's defaults enqueued first) and a trial named by its index are taken whatever the constraints say.
    """
    candidates = [t for t in _evaluated(result) if per_inference(t) is not None]
    if isinstance(baseline, int) and not isinstance(baseline, bool):
        by_index = {t.trial_index: t for t in result.trials}
        _check_baseline(result, baseline)
        chosen = by_index[baseline]
        if chosen.reused_from is not None:
            chosen = by_index.get(chosen.reused_from, chosen)
        if chosen not in candidates:
            raise SweepDataError(
                f"baseline={baseline} (ecopt report --baseline): trial {baseline} is {chosen.status} without an "
                f"energy per inference; choose a completed trial (see trials.csv) or one of "
                f"{', '.join(BASELINE_RULES)}."
            )
        return "trial", chosen, []
    _check_baseline(result, baseline)
    if baseline == "first":
        return "first", candidates[0] if candidates else None, []
    candidates = [t for t in candidates if meets(t, constraints)]
    if not candidates:
        return str(baseline), None, []
    performance = _performance_objective(result, constraints)
    sign = 1.0 if performance.minimize else -1.0
    best = min(candidates, key=lambda t: (sign * t.metrics[performance.name], t.trial_index))
    tied = [t for t in candidates if t.metrics[performance.name] == best.metrics[performance.name]]
    if len(tied) < 2:
        return "most-accurate", best, []
    chosen = min(tied, key=lambda t: (per_inference(t) or 0.0, t.trial_index))
    return "most-accurate", chosen, [t.trial_index for t in tied]


def _kind(trial: TrialRecord) -> str:
    """The kind of a trial's energy: ``"measured"``, ``"estimated"``, or ``"unlabelled"`` (no source label)."""
    kinds = views.energy_kinds([trial.energy_source])
    return kinds[0] if kinds else "unlabelled"


def _energy_kinds(trials: Iterable[TrialRecord]) -> list[str]:
    """The kinds (:func:`_kind`) of the trials that have a source label or non-zero energy figures, sorted.

    Figures without a label are a kind of their own (``"unlabelled"``), as the sweep treats them: beside labelled
    ones they are of no known kind, so they are never added to, or correlated with, the labelled kind. Unlabelled
    figures that are all 0 (a trial that failed before anything ran) are no kind: 0 J is 0 J of any kind.
    """
    return sorted({_kind(t) for t in trials if t.energy_source or _unlabelled_joules(t)})


def _unlabelled_joules(trial: TrialRecord) -> bool:
    """Whether a trial without a source label has an energy figure other than 0."""
    return has_energy_figures(trial.metrics) and any(
        value != 0.0 for name, value in trial.metrics.items() if name.startswith("energy/")
    )


def _kinds_label(kinds: Sequence[str], trials: Iterable[TrialRecord]) -> str:
    """The label of the trials' energy figures: ``"mixed: <kind> and <kind>"`` when ``kinds`` differ, else theirs."""
    if len(kinds) > 1:
        return "mixed: " + " and ".join(kinds)
    return views.energy_label(t.energy_source for t in trials)


def _not_comparable(kinds: Sequence[str]) -> str:
    """Why joules of these kinds are never summed or correlated together."""
    if "unlabelled" in kinds:
        return "joules without an energy/source label are of no known kind, not comparable with labelled ones"
    return "a measured and an estimated joule are not the same quantity"


def _totals_by_kind(
    counted: Sequence[TrialEnergy],
    by_index: Mapping[int, TrialRecord],
    kinds: Sequence[str],
    pue: float,
    carbon_g_per_kwh: float,
) -> dict[str, KindTotal]:
    """The search energy of the ``counted`` trials, one :class:`KindTotal` per kind (one in all when not mixed)."""
    mixed = len(kinds) > 1
    groups: dict[str, list[TrialEnergy]] = {}
    for e in counted:
        trial = by_index[e.trial_index]
        if mixed and not trial.energy_source and not _unlabelled_joules(trial):
            continue  # 0 J without a label is no kind (_energy_kinds): no total of its own
        kind = _kind(trial) if mixed else (kinds[0] if kinds else "unlabelled")
        groups.setdefault(kind, []).append(e)
    totals: dict[str, KindTotal] = {}
    for kind, group in sorted(groups.items()):
        group_train = sum(e.train_j or 0.0 for e in group)
        group_eval = sum(e.eval_j or 0.0 for e in group)
        group_total = (group_train + group_eval) * pue
        saved_j = sum(_finite(by_index[e.trial_index].metrics.get("energy/train_reused_j")) or 0.0 for e in group)
        totals[kind] = KindTotal(
            kind=kind,
            trials_counted=len(group),
            train_j=group_train,
            eval_j=group_eval,
            total_j=group_total,
            co2_g=group_total / _J_PER_KWH * carbon_g_per_kwh,
            checkpoint_saved_j=saved_j * pue,
            trials_without_train_j=sum(e.train_j is None for e in group),
        )
    return totals


def _savings(
    result: SweepResult,
    base: TrialRecord,
    base_j: float,
    per_inference: Callable[[TrialRecord], float | None],
    pue: float,
    total_j: float,
    mixed: bool,
) -> list[FrontierSaving]:
    """Every frontier model (of the baseline's kind, when the kinds are mixed) against the baseline ``base``.

    In the frontier table's order; ``base_j`` is the baseline's energy per inference x PUE, ``total_j`` the search
    energy a model's saving repays (no break-even when the kinds are ``mixed``: there is no single search energy).
    """
    by_index = {t.trial_index: t for t in result.trials}
    savings = []
    for row in views.frontier_rows(result):  # in the frontier table's order: best first objective first
        t = by_index[row["trial_index"]]
        value = per_inference(t)
        if value is None or (mixed and _kind(t) != _kind(base)):  # only within the baseline's kind
            continue
        model_j = value * pue
        saved = base_j - model_j
        savings.append(
            FrontierSaving(
                trial_index=t.trial_index,
                j_per_inference=model_j,
                saved_j_per_inference=saved,
                saved_fraction=saved / base_j if base_j else math.nan,  # no share of 0 J
                # mixed: no single search energy to repay, so no break-even
                break_even_inferences=total_j / saved if saved > 0 and not mixed else None,
            )
        )
    return savings


def ledger(
    result: SweepResult,
    *,
    pue: float = DEFAULT_PUE,
    carbon_g_per_kwh: float = DEFAULT_CARBON_G_PER_KWH,
    baseline: str | int = "most-accurate",
    constraints: Sequence[OutcomeConstraint] = (),
) -> Ledger:
    """The search-cost ledger: the sweep's energy and CO2, and when each frontier model repays it.

    Args:
        result: The sweep's result.
        pue: Power usage effectiveness (1 to 10; default 1.0, the IT equipment only; 1.56 is the global average).
        carbon_g_per_kwh: Carbon intensity of the electricity (g CO2e/kWh).
        baseline: ``"most-accurate"``, ``"first"`` or a trial index (an int or its digits, ``"2"``; see the module
            docstring).
        constraints: The sweep's outcome constraints (those on objectives too): ``"most-accurate"`` chooses the
            baseline among the trials that meet them (a model the user ruled out is no baseline to save against);
            ``"first"`` and an index take their trial, and :attr:`Ledger.baseline_breaks` names what it breaks.

    Returns:
        The :class:`Ledger`.

    Raises:
        SweepDataError: A PUE below 1 or above 10, a negative carbon intensity, or a baseline that is not a
            completed trial.
    """
    _check_ledger_options(pue, carbon_g_per_kwh)
    baseline = parse_baseline(baseline)
    energies = [trial_energy(t) for t in result.trials]
    counted = [e for e in energies if e.known and e.status != "reused"]
    unknown = [e.trial_index for e in energies if not e.known]
    by_index = {t.trial_index: t for t in result.trials}
    # Loaded a cached checkpoint, by the rule the results file's summary counts them with; the training energy it
    # avoided is known where the trial reported it (energy/train_reused_j), a lower bound where some did not.
    loaded = [e for e in counted if loaded_checkpoint(by_index[e.trial_index].metrics)]
    avoided = [_finite(by_index[e.trial_index].metrics.get("energy/train_reused_j")) for e in loaded]
    checkpoint_reused = [a for a in avoided if a is not None]
    # A measured and an estimated joule are not the same quantity: never summed. One total per kind when mixed.
    labelled = [by_index[e.trial_index] for e in counted] + _evaluated(result)
    kinds = _energy_kinds(labelled)
    mixed = len(kinds) > 1
    totals = _totals_by_kind(counted, by_index, kinds, pue, carbon_g_per_kwh)
    nan = math.nan
    train_j = nan if mixed else sum(e.train_j or 0.0 for e in counted)
    eval_j = nan if mixed else sum(e.eval_j or 0.0 for e in counted)
    total_j = (train_j + eval_j) * pue
    metric, per_inference = _energy_per_inference(_evaluated(result), result.objectives)
    if metric:
        rule, base, tied = _choose_baseline(result, baseline, per_inference, constraints)
    else:  # no baseline to choose, but a typo is still one
        _check_baseline(result, baseline)
        rule, base, tied = str(baseline), None, []
    passed_over = []
    if rule == "most-accurate" and base is not None:  # ruled out, and better on the metric the baseline is best in
        performance = _performance_objective(result, constraints)
        sign = 1.0 if performance.minimize else -1.0
        passed_over = [
            t.trial_index
            for t in _evaluated(result)
            if per_inference(t) is not None
            and not meets(t, constraints)
            # A constrained metric (an energy-only sweep's) may be missing where it was broken.
            and (value := _finite(t.metrics.get(performance.name))) is not None
            and sign * value < sign * base.metrics[performance.name]
        ]
    savings = []
    base_j = None
    if base is not None:
        base_j = float(per_inference(base) or 0.0) * pue
        savings = _savings(result, base, base_j, per_inference, pue, total_j, mixed)
    return Ledger(
        energy_label=_kinds_label(kinds, labelled),
        pue=float(pue),
        carbon_g_per_kwh=float(carbon_g_per_kwh),
        train_j=train_j,
        eval_j=eval_j,
        total_j=total_j,
        co2_g=total_j / _J_PER_KWH * carbon_g_per_kwh,
        trials_counted=len(counted),
        failed_counted=sum(e.status == "failed" for e in counted),
        trials_unknown=unknown,
        trials_reused=sum(e.status == "reused" for e in energies),
        trials_without_train_j=sum(e.train_j is None for e in counted),
        energy_per_inference=metric,
        baseline_rule=rule,
        baseline=None if base is None else base.trial_index,
        baseline_j_per_inference=base_j,
        savings=savings,
        trials_checkpoint_reused=len(loaded),
        checkpoint_saved_j=nan if mixed else sum(checkpoint_reused) * pue,
        trials_checkpoint_saved_unknown=len(loaded) - len(checkpoint_reused),
        trials_shared_counters=sum(by_index[e.trial_index].shared_counters for e in counted),
        baseline_metric=_performance_objective(result, constraints).name if rule == "most-accurate" else None,
        trials_eval_unknown=[e.trial_index for e in counted if e.eval_partial],
        baseline_tied=tied,
        baseline_tie_rule=_TIE_RULE if tied else None,
        energy_kinds=kinds,
        totals_by_kind=totals,
        baseline_kind=None if base is None else _kind(base),
        baseline_passed_over=passed_over,
        baseline_breaks=[] if base is None else [str(c) for c in constraints if not c.met_by(base.metrics)],
    )
