"""``ecopt report``: the frontier, the proxy audit and the search-cost ledger of a sweep, from its stored results.

Everything is read from ``optimization_results.yaml`` (plain data, rewritten atomically after every batch, so a
sweep that is still running or was interrupted can be reported on; :mod:`lightning_ecopt.results_file` reads it), or
taken from the :class:`~lightning_ecopt.sweeper.results.SweepResult` a sweep run from Python returned; the Ax JSON is
never needed, and nothing is unpickled. :func:`build_report` computes, :func:`write_files` writes ``frontier.png`` and
``trials.csv``, :func:`render` prints with rich, and :meth:`Report.to_dict` gives the same figures to scripts
(``--json``). The loading names (:func:`load_sweep`, :class:`LoadedSweep`, :class:`SweepDataError`...) are
re-exported from here.

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
  objective that is not an energy figure (the model an accuracy-only search would pick; trials that tie exactly on
  it, as in an inference-only sweep where every trial loads the same weights, go to the one with the least energy
  per inference: the smallest saving and the longest payback, whatever order they were proposed in);
  ``"first"``: the first completed trial; or a trial index. ``"most-accurate"`` chooses among the trials that meet
  the sweep's outcome constraints, as the frontier does (a model the user ruled out is no baseline); ``"first"`` and
  an index are the user's reference model, taken as they are: the report says which constraints it breaks.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lightning_ecopt import views
from lightning_ecopt._json import json_safe
from lightning_ecopt.energy.measurement import source_kind
from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.results_file import (
    LoadedSweep,
    SweepDataError,
    _outcome_constraints,
    find_results,
    load_sweep,
)
from lightning_ecopt.sweeper.objectives import Objective, OutcomeConstraint
from lightning_ecopt.sweeper.results import (
    RESULTS_FILENAME,
    SweepResult,
    TrialRecord,
    front_candidates,
    has_energy_figures,
    loaded_checkpoint,
    meets,
)

if TYPE_CHECKING:
    from rich.console import Console

    from lightning_ecopt.sweeper.settings import SweepSettings

__all__ = [
    "BASELINE_RULES",
    "DEFAULT_CARBON_G_PER_KWH",
    "DEFAULT_PUE",
    "GLOBAL_AVERAGE_PUE",
    "FrontierSaving",
    "KindTotal",
    "Ledger",
    "LoadedSweep",
    "ProxyCorrelation",
    "Report",
    "SweepDataError",
    "TrialEnergy",
    "build_report",
    "find_results",
    "ledger",
    "load_sweep",
    "proxy_audit",
    "proxy_audit_caveats",
    "render",
    "trial_energy",
    "write_files",
]

DEFAULT_PUE = 1.0
"""Power usage effectiveness used unless given: 1.0 counts the IT equipment only (as the ECOpt reference code)."""

GLOBAL_AVERAGE_PUE = 1.56
"""The global average data-centre PUE (Uptime Institute survey, 2024): a realistic value for cloud runs."""

DEFAULT_CARBON_G_PER_KWH = 475.0
"""Carbon intensity of electricity used unless given (g CO2e/kWh): about the world average (IEA)."""

BASELINE_RULES = ("most-accurate", "first")
"""Named baseline rules; a trial index is also accepted."""

PROXIES = ("model/params", "model/flops_per_sample")
"""The proxy metrics the audit correlates with energy per inference (logged by ``EnergyCallback``)."""

_STAGES = ("test", "predict", "validate")
_J_PER_KWH = 3.6e6
_FILES = ("frontier.png", "trials.csv")


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
    keys = [f"energy/{s}_{part}" for part in ("j", "warmup_j", "aborted_j") for s in stages]
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
    beside the generation it optimises) says nothing about the figures it compared.
    """
    stages = _objective_stages(result.objectives) or list(_STAGES)
    keys = [f"energy/{stage}_{figure}" for stage in stages]
    out: dict[int, float] = {}
    for t in _evaluated(result):
        values = [float(v) for k in keys if isinstance(v := t.metrics.get(k), int | float)]
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


# -- proxy audit ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyCorrelation:
    """How well a proxy (parameter count, FLOPs) tracks energy per inference across a sweep's completed trials.

    Args:
        proxy: The proxy metric, e.g. ``"model/params"``.
        target: The energy-per-inference metric it is compared with.
        n: Trials with both values.
        pearson_r: Pearson's r (linear), or ``None`` when undefined (fewer than 3 trials, or a constant column).
        pearson_p: Its two-sided p-value.
        spearman_rho: Spearman's rho (rank order: what matters when the proxy is used to rank models).
        spearman_p: Its two-sided p-value.
        meaning: One sentence on what the figures mean.
    """

    proxy: str
    target: str
    n: int
    pearson_r: float | None
    pearson_p: float | None
    spearman_rho: float | None
    spearman_p: float | None
    meaning: str


_EXACT_P_MAX_N = 8
"""Up to this many trials the audit's p-values are exact (every pairing of the values), beyond it scipy's usual
approximations (Spearman's no smaller than :func:`_smallest_rank_p`)."""


def _smallest_rank_p(xs: Sequence[float], ys: Sequence[float]) -> float:
    """No exact (permutation) p-value of Spearman's rho over these values is smaller than this.

    The t approximation scipy uses beyond :data:`_EXACT_P_MAX_N` trials says p = 0 at rho = 1 and p = 1.9e-6 at
    rho = 0.983 (two neighbours swapped) over 9 trials, where no ordering of 9 values can be rarer than 2 in 9! (the
    order and its reverse: p = 5.5e-6). With ties, every swap of tied values gives the same rho: at least
    ``prod(g!)`` of the ``n!`` orderings (over the tie groups of either column, the larger product) share the
    observed one. A floor, not the exact p (which counts every ordering at least as extreme), so the report stays
    fast and deterministic at any n.

    >>> math.isclose(_smallest_rank_p(range(9), range(9)), 2 / math.factorial(9))
    True
    >>> math.isclose(_smallest_rank_p([1, 1, 2, 3], [1, 2, 3, 4]), 2 / math.factorial(4))  # 2! orderings tie
    True
    """
    import numpy as np

    def log_ties(values: Sequence[float]) -> float:  # log prod(g!) over the tie groups
        return sum(math.lgamma(g + 1) for g in np.unique(np.asarray(values, dtype=float), return_counts=True)[1])

    tied = max(log_ties(xs), log_ties(ys))
    both_tails = math.log(2) if tied == 0 else 0.0  # untied: the reverse ordering is as extreme
    return math.exp(both_tails + tied - math.lgamma(len(xs) + 1))


def _strength(r: float) -> str:
    a = abs(r)
    return "very weak" if a < 0.2 else "weak" if a < 0.4 else "moderate" if a < 0.7 else "strong"


_LEVERAGE = 0.2
"""A trial whose removal moves Pearson's r by this much or more is named: it alone drives the linear figure."""

ESTIMATE_CAVEAT = (
    "The energy here is the CPU-time estimate (CPU time x watts per busy thread), which grows with compute by "
    "construction: it follows FLOPs and parameters more closely than measured joules do, so this audit cannot test "
    "the ECOpt paper's finding (Pearson -0.12 and 0.26 on measured GPU energy). Measure on RAPL or NVML counters."
)
"""Said under an audit of estimated energy."""

_BATCH_SPREAD = 2.0
"""Audited trials whose mean inference batch sizes differ by this factor or more are said to confound the audit."""


def proxy_audit_caveats(result: SweepResult) -> list[str]:
    """What keeps the proxy audit of ``result`` from testing the ECOpt paper's finding, one sentence each.

    The energy is the CPU-time estimate (:data:`ESTIMATE_CAVEAT`); or the audited trials ran inference at batch
    sizes (``j_per_batch / j_per_sample`` of the loop the audit reads) that differ by :data:`_BATCH_SPREAD` or more:
    the batch size moves energy per inference by itself, and no model proxy sees it.
    """
    trials = _evaluated(result)
    caveats = [ESTIMATE_CAVEAT] if trials and _energy_kinds(trials) == ["estimated"] else []
    target, per_inference = _energy_per_inference(trials, result.objectives)
    stage = _inference_stage(target)
    if stage is None:
        return caveats
    per_batch = f"energy/{stage}_j_per_batch"
    sizes = [
        b / j
        for t in trials
        if (j := per_inference(t)) and (b := _finite(t.metrics.get(per_batch))) is not None and b > 0
    ]
    if len(sizes) >= 2 and max(sizes) >= _BATCH_SPREAD * min(sizes):
        caveats.append(
            f"The audited trials ran inference at mean batch sizes from {min(sizes):.4g} to {max(sizes):.4g} samples "
            f"({per_batch} / J per sample): the batch size moves energy per inference by itself (the paper: 38x on a "
            "transformer) and parameter and FLOP counts cannot see it, so this audit mixes the two. The ECOpt "
            "paper's CNN search fixed it at 64: to test its finding, fix the inference batch size."
        )
    return caveats


def _most_influential(indices: Sequence[int], xs: Sequence[float], ys: Sequence[float]) -> tuple[int, float] | None:
    """The trial whose removal moves Pearson's r the most, and r without it; None below 4 trials or when undefined.

    Every leave-one-out r at once, in ``O(n)``: about the full means (deviations ``d``, ``e``), removing trial ``k``
    takes ``n / (n - 1) * d_k * e_k`` from the sum of products (and likewise from the sums of squares). Where one
    trial holds most of a column's spread that difference loses digits, so r without it (two trials at most) is
    computed afresh. A trial whose removal leaves a column constant leaves r undefined and is passed over.

    >>> _most_influential([0, 1, 2, 3, 4], [1, 2, 3, 4, 100], [1, 3, 2, 4, 90])
    (4, 0.8)
    """
    import numpy as np

    n = len(xs)
    if n < 4:
        return None
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    full = float(np.corrcoef(x, y)[0, 1])
    d, e = x - x.mean(), y - y.mean()
    sxx, syy, sxy = float(d @ d), float(e @ e), float(d @ e)
    shrink = n / (n - 1)
    vx, vy = sxx - shrink * d * d, syy - shrink * e * e
    with np.errstate(divide="ignore", invalid="ignore"):
        without = (sxy - shrink * d * e) / np.sqrt(vx * vy)
    undefined = np.zeros(n, dtype=bool)
    for column in (x, y):
        values, counts = np.unique(column, return_counts=True)
        if len(values) == 1:
            undefined[:] = True
        elif len(values) == 2 and counts.min() == 1:  # the one trial that differs: without it, a constant column
            undefined |= column == values[counts.argmin()]
    for spread in np.flatnonzero(((vx < sxx / 4) | (vy < syy / 4)) & ~undefined):
        without[spread] = np.corrcoef(np.delete(x, spread), np.delete(y, spread))[0, 1]
    if undefined.all():
        return None
    k = int(np.argmax(np.where(undefined, -np.inf, np.abs(without - full))))  # the first of equal moves
    return indices[k], round(float(without[k]), 6)


def _meaning(
    proxy: str,
    n: int,
    r: float | None,
    rho: float | None,
    reason: str | None,
    energy: str,
    rho_p: float | None = None,
    influential: tuple[int, float] | None = None,
) -> str:
    if reason is not None or r is None or rho is None:
        return reason or "The correlation is undefined."
    significant = rho_p is None or rho_p < 0.05
    order = f"closely in these {n} trials" if abs(rho) >= 0.7 else "only loosely"
    if rho < 0:
        order += " and in reverse"
    text = (
        f"{_strength(rho).capitalize()} rank correlation (Spearman rho = {rho:+.2f}, n = {n}): {proxy} orders the "
        f"models' {energy} energy per inference {order}, and explains r² = {r * r:.2f} of its variance linearly."
    )
    if not significant and rho_p is not None:
        text += f" With n = {n} that is not significant (p = {rho_p:.2g}): more trials would tell."
    if influential is not None and abs(influential[1] - r) >= _LEVERAGE:
        text += f" Trial #{influential[0]} alone drives the linear figure: without it r = {influential[1]:+.2f}."
    if abs(rho) < 0.7:
        text += f" Ranking models by {proxy} would often pick the wrong one: measure energy, as the ECOpt paper found."
    else:
        text += f" Here {proxy} ranks the models much as energy does; that need not hold on other models or hardware."
    return text


def proxy_audit(result: SweepResult, proxies: Sequence[str] = PROXIES) -> list[ProxyCorrelation]:
    """Correlate each proxy with energy per inference across the completed trials that ran (the paper's audit).

    Args:
        result: The sweep's result.
        proxies: The proxy metrics; default parameter count and FLOPs per sample.

    Returns:
        One :class:`ProxyCorrelation` per proxy, with Pearson and Spearman correlations from scipy, or ``None``
        and the reason when they are undefined.
    """
    trials = _evaluated(result)
    target, per_inference = _energy_per_inference(trials, result.objectives)
    kinds = _energy_kinds(trials)
    energy = _kinds_label(kinds, trials)
    kind = energy.split(" ", 1)[0]
    out = []
    for proxy in proxies:
        triples = [
            (t.trial_index, x, y)
            for t in trials
            if (x := _finite(t.metrics.get(proxy))) is not None and (y := per_inference(t)) is not None
        ]
        pairs = [(x, y) for _, x, y in triples]
        n = len(pairs)
        r = r_p = rho = rho_p = None
        influential = None
        reason = None
        if not trials:
            reason = "No trial completed (and ran): nothing to audit yet."
        elif target is None:
            reason = "No energy-per-inference figure in the trials (energy/<stage>_j_per_sample): nothing to audit."
        elif len(kinds) > 1:
            reason = (
                f"The trials' energy is {energy}: {_not_comparable(kinds)}, so they are not correlated together. "
                "Audit sweeps whose trials share one energy source."
            )
        elif not any(_finite(t.metrics.get(proxy)) is not None for t in trials):
            reason = f"No trial logged {proxy}" + (
                ": the models' FLOPs could not be counted (or EnergyCallback(log_model_stats=False) counted none); "
                "see the trials' warnings."
                if proxy == "model/flops_per_sample"
                else "; see the trials' warnings."
            )
        elif n < 3:
            reason = f"Only {n} completed trials report {proxy} and {target}; a correlation needs at least 3."
        elif len({x for x, _ in pairs}) < 2:
            reason = (
                f"{proxy} is the same in every trial ({pairs[0][0]:g}: one model, as in a sweep of inference-only "
                f"parameters such as the batch size): the correlation is undefined."
            )
        elif len({y for _, y in pairs}) < 2:
            reason = f"The energy per inference ({target}) is the same in every trial: the correlation is undefined."
        else:
            from scipy import stats

            xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if n <= _EXACT_P_MAX_N:
                    # Exact: every pairing of the values (8! = 40,320 at most, 0.1 s). The t approximation scipy
                    # uses otherwise said p = 0 for rho = 1 at n = 4, where the exact p is 1/12.
                    exact = stats.PermutationMethod(n_resamples=math.inf)
                    pearson = stats.pearsonr(xs, ys, method=exact)
                    spearman = stats.pearsonr(stats.rankdata(xs), stats.rankdata(ys), method=exact)
                else:
                    pearson = stats.pearsonr(xs, ys)
                    spearman = stats.spearmanr(xs, ys)
            r, r_p = float(pearson.statistic), float(pearson.pvalue)
            rho, rho_p = float(spearman.statistic), float(spearman.pvalue)
            if n > _EXACT_P_MAX_N:  # the t approximation goes below what any ordering of n values can give
                rho_p = max(rho_p, _smallest_rank_p(xs, ys))
            influential = _most_influential([i for i, _, _ in triples], xs, ys)
        out.append(
            ProxyCorrelation(
                proxy=proxy,
                target=target or "",
                n=n,
                pearson_r=r,
                pearson_p=r_p,
                spearman_rho=rho,
                spearman_p=rho_p,
                meaning=_meaning(proxy, n, r, rho, reason, kind, rho_p, influential),
            )
        )
    return out


# -- search-cost ledger ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontierSaving:
    """One frontier model against the baseline.

    Args:
        trial_index: The frontier trial.
        j_per_inference: Its energy per inference, x PUE (J).
        saved_j_per_inference: Baseline's minus this model's energy per inference, x PUE (J; negative: it costs more).
        saved_fraction: ``saved / baseline`` (0.25 = a quarter less energy per inference).
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
    """

    kind: str
    trials_counted: int
    train_j: float
    eval_j: float
    total_j: float
    co2_g: float
    checkpoint_saved_j: float = 0.0


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
            (not always an accuracy: a latency, a perplexity); ``None`` under the other rules.
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
    bad = isinstance(carbon_g_per_kwh, bool) or not isinstance(carbon_g_per_kwh, int | float)
    if bad or not math.isfinite(carbon_g_per_kwh) or carbon_g_per_kwh < 0:
        raise SweepDataError(
            f"carbon_g_per_kwh={carbon_g_per_kwh!r} (ecopt report --carbon-intensity): expected grams of CO2e per "
            f"kWh, a number >= 0 (e.g. {DEFAULT_CARBON_G_PER_KWH:g} for the world average)."
        )


def _performance_objective(result: SweepResult) -> Objective:
    """The objective ``"most-accurate"`` judges by: the first that is not an energy figure (else the first)."""
    return next((o for o in result.objectives if not views.is_energy_metric(o.name)), result.objectives[0])


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
    performance = _performance_objective(result)
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


def _abandoned_clause(result: SweepResult) -> str:
    """``", N abandoned"`` where a stop cut trials short (a rerun of the sweep runs them), else nothing."""
    n = sum(t.status == "abandoned" for t in result.trials)
    return f", {n} abandoned" if n else ""


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
        pue: Power usage effectiveness (>= 1; default 1.0, the IT equipment only; 1.56 is the global average).
        carbon_g_per_kwh: Carbon intensity of the electricity (g CO2e/kWh).
        baseline: ``"most-accurate"``, ``"first"`` or a trial index (an int or its digits, ``"2"``; see the module
            docstring).
        constraints: The sweep's outcome constraints (those on objectives too): ``"most-accurate"`` chooses the
            baseline among the trials that meet them (a model the user ruled out is no baseline to save against);
            ``"first"`` and an index take their trial, and :attr:`Ledger.baseline_breaks` names what it breaks.

    Returns:
        The :class:`Ledger`.

    Raises:
        SweepDataError: A PUE below 1, a negative carbon intensity, or a baseline that is not a completed trial.
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
        )
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
        performance = _performance_objective(result)
        sign = 1.0 if performance.minimize else -1.0
        passed_over = [
            t.trial_index
            for t in _evaluated(result)
            if per_inference(t) is not None
            and not meets(t, constraints)
            and sign * t.metrics[performance.name] < sign * base.metrics[performance.name]
        ]
    savings = []
    base_j = None
    if base is not None:
        base_j = float(per_inference(base) or 0.0) * pue
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
                    saved_fraction=saved / base_j if base_j else 0.0,
                    # mixed: no single search energy to repay, so no break-even
                    break_even_inferences=total_j / saved if saved > 0 and not mixed else None,
                )
            )
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
        baseline_metric=_performance_objective(result).name if rule == "most-accurate" else None,
        trials_eval_unknown=[e.trial_index for e in counted if e.eval_partial],
        baseline_tied=tied,
        baseline_tie_rule=_TIE_RULE if tied else None,
        energy_kinds=kinds,
        totals_by_kind=totals,
        baseline_kind=None if base is None else _kind(base),
        baseline_passed_over=passed_over,
        baseline_breaks=[] if base is None else [str(c) for c in constraints if not c.met_by(base.metrics)],
    )


# -- the report -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Report:
    """Everything ``ecopt report`` shows; its ``repr`` is one short line (:meth:`to_dict` has everything).

    Args:
        sweep: The sweep as read from its results file.
        frontier: The frontier's rows (:func:`lightning_ecopt.views.frontier_rows`).
        knee: The knee trial's index, or ``None``.
        audit: The proxy audit.
        ledger: The search-cost ledger.
        files: The files written (``frontier.png``, ``trials.csv``), once :func:`write_files` ran.
    """

    sweep: LoadedSweep
    frontier: list[dict[str, Any]]
    knee: int | None
    audit: list[ProxyCorrelation]
    ledger: Ledger
    files: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        where = _where(self.sweep)
        knee = "none" if self.knee is None else f"#{self.knee}"
        return (
            f"Report({where}: {len(self.sweep.result.trials)} trials, frontier {len(self.frontier)}, knee {knee}, "
            f"state {self.state!r})"
        )

    @property
    def short_windows(self) -> list[int]:
        """Completed trials that ran whose energy window was flagged short (``energy/<stage>_short_window = 1``).

        Over the loops an energy objective names (any loop when none does). Their energy figures may be off by a
        whole counter step (or, estimated, by the timer's jitter): where they decide the frontier, it is uncertain.
        """
        return [i for i, flag in _loop_flags(self.sweep.result, "short_window").items() if flag == 1]

    @property
    def contended(self) -> dict[int, float]:
        """Trials that ran while other processes kept more than a quarter of the CPUs busy: ``{trial: share}``.

        The highest ``energy/<stage>_cpu_contention`` of each, over the loops an energy objective names (see
        :mod:`lightning_ecopt.energy.contention`).
        """
        from lightning_ecopt.energy.contention import CONTENTION_WARN_SHARE

        shares = _loop_flags(self.sweep.result, "cpu_contention")
        return {i: share for i, share in shares.items() if share > CONTENTION_WARN_SHARE}

    @property
    def constraints(self) -> dict[str, Any] | None:
        """The sweep's outcome constraints and the completed trials (that ran) that meet them; ``None`` if unknown.

        ``{"constraints": [text, ...], "completed": n, "meeting": k, "breaking": [trial, ...]}``; the texts are as
        the report prints them (``test/latency_ms <= 10``).
        """
        constraints = _outcome_constraints(self.sweep)
        if constraints is None:
            return None
        completed, breaking = views.constraint_tally(self.sweep.result, constraints)
        return {
            "constraints": [str(c) for c in constraints],
            "completed": completed,
            "meeting": completed - len(breaking),
            "breaking": breaking,
        }

    @property
    def state(self) -> str:
        """``"finished"``, ``"stopped early"`` or ``"running or interrupted"`` (fewer trials than the budget)."""
        result = self.sweep.result
        if self.sweep.stop_reason:
            return "stopped early"
        if self.sweep.n_trials is not None and result.n_finished < self.sweep.n_trials:
            return "running or interrupted"
        return "finished"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data (non-finite numbers become ``None``)."""
        result = self.sweep.result
        ledger_data = asdict(self.ledger)
        ledger_data["total_kwh"] = self.ledger.total_kwh
        ledger_data["lower_bound"] = self.ledger.lower_bound
        data = {
            "sweep_dir": None if self.sweep.sweep_dir is None else str(self.sweep.sweep_dir),
            "results_path": None if self.sweep.results_path is None else str(self.sweep.results_path),
            "state": self.state,
            "stop_reason": self.sweep.stop_reason,
            # what the report corrected in the results file (a frontier its trials do not make), one sentence each
            "notes": list(self.sweep.notes),
            "objectives": {o.name: o.direction for o in result.objectives},
            "energy_source": {
                "label": views.energy_label(t.energy_source for t in result.trials),
                "kinds": views.energy_kinds(t.energy_source for t in result.trials),
                "coverage": views.energy_coverage(t.energy_source for t in result.trials),
            },
            "counts": {
                "n_trials": self.sweep.n_trials,
                "finished": result.n_finished,
                "completed": result.n_completed,
                "failed": result.n_failed,
                "reused": result.n_reused,
                "abandoned": sum(t.status == "abandoned" for t in result.trials),
            },
            "hypervolume": result.hypervolume,
            "reference_point": {
                "values": result.reference_point,
                "origin": result.reference_point_origin,
                # the objectives whose value was given (reference_point or a constraint); the others were inferred
                "given": list(result.reference_point_given),
                # frontier trials that add nothing to the hypervolume (not strictly better in every objective)
                "outside": [t.trial_index for t in result.outside_reference],
            },
            "frontier": self.frontier,
            # the outcome constraints and how many completed trials meet them (null: unknown)
            "outcome_constraints": self.constraints,
            "failures": [{"trial_index": t.trial_index, "reason": t.reason} for t in result.failures()],
            "short_windows": self.short_windows,
            "contended": {str(k): v for k, v in self.contended.items()},
            "knee": self.knee,
            "proxy_audit": [asdict(c) for c in self.audit],
            "proxy_audit_caveats": proxy_audit_caveats(result),
            "ledger": ledger_data,
            "files": self.files,
        }
        return dict(json_safe(data))


def _where(sweep: LoadedSweep) -> str:
    """How a report names its sweep: the directory, or that it came from an in-memory result."""
    return "in-memory SweepResult" if sweep.sweep_dir is None else repr(str(sweep.sweep_dir))


def _check_settings_match(result: SweepResult, settings: SweepSettings) -> None:
    """Refuse another sweep's settings for ``result``: its budget and constraints would judge the wrong trials.

    Raises:
        EcoptConfigError: The objectives differ (names, order or directions), the budget is below the trials the
            result finished, or both name a storage file and not the same one.
    """

    def named(objectives: Sequence[Any]) -> str:
        return ", ".join(f"{o.name} ({o.direction})" for o in objectives)

    fix = "pass the settings of the sweep that returned this result, as they are now (sweep.settings)"
    if result.results_path is not None:
        fix += ", or none: the report reads them from its results file"
    if tuple(settings.objectives) != tuple(result.objectives):
        raise EcoptConfigError(
            f"build_report(result, settings=...): the settings' objectives {named(settings.objectives)}; the "
            f"result's are {named(result.objectives)}: {fix}."
        )
    if settings.n_trials < result.n_finished:
        raise EcoptConfigError(
            f"build_report(result, settings=...): the settings' n_trials={settings.n_trials}, but the result has "
            f"{result.n_finished} finished trials: {fix}."
        )
    if (
        settings.storage is not None
        and result.storage is not None
        and Path(settings.storage).resolve() != Path(result.storage).resolve()
    ):
        raise EcoptConfigError(
            f"build_report(result, settings=...): the settings' storage={str(settings.storage)!r}, but the result "
            f"was saved to {str(result.storage)!r}: {fix}."
        )


def _from_result(result: SweepResult, settings: SweepSettings | None) -> LoadedSweep:
    """A :class:`LoadedSweep` around an in-memory result: budget and constraints from ``settings`` or its file."""
    if settings is not None:
        _check_settings_match(result, settings)
        n_trials: int | None = settings.n_trials
        constraints: tuple[str, ...] | None = tuple(c.exact() for c in settings.outcome_constraints)
    elif result.results_path is not None and Path(result.results_path).is_file():
        stored = load_sweep(result.results_path)
        n_trials, constraints = stored.n_trials, stored.constraints
    else:
        n_trials, constraints = None, None
    results_path = None if result.results_path is None else Path(result.results_path)
    return LoadedSweep(
        sweep_dir=None if results_path is None else results_path.parent,
        results_path=results_path,
        result=result,
        n_trials=n_trials,
        constraints=constraints,
        stop_reason=result.stop_reason,
    )


def build_report(
    source: str | os.PathLike[str] | SweepResult,
    *,
    pue: float = DEFAULT_PUE,
    carbon_g_per_kwh: float = DEFAULT_CARBON_G_PER_KWH,
    baseline: str | int = "most-accurate",
    settings: SweepSettings | None = None,
) -> Report:
    """Read a sweep, or take a sweep's result, and compute its report (no files written, nothing printed).

    Args:
        source: The sweep directory (or its ``optimization_results.yaml``), or the
            :class:`~lightning_ecopt.sweeper.results.SweepResult` that
            :meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.run` returned (a sweep run without ``storage`` has no
            directory; give :func:`write_files` an ``out_dir`` then).
        pue: Power usage effectiveness (>= 1).
        carbon_g_per_kwh: Carbon intensity (g CO2e/kWh).
        baseline: ``"most-accurate"``, ``"first"`` or a trial index.
        settings: For a ``SweepResult`` only: the sweep's settings, for its budget (the report's state) and its
            outcome constraints (the ``feasible`` column of ``trials.csv``). Without them they are read from the
            result's ``optimization_results.yaml`` when it has one, else left unknown (the state says
            ``finished``, the ``feasible`` column is blank and ``dominated_by`` ignores the constraints).

    Returns:
        The :class:`Report`.

    Raises:
        SweepDataError: Bad input (see :func:`load_sweep` and :func:`ledger`).
        TypeError: ``source`` is neither a path nor a ``SweepResult``, or ``settings`` is given with a path.
        EcoptConfigError: ``settings`` are another sweep's (other objectives, a budget below the result's finished
            trials, another storage file).

    Example::

        result = ParetoSweep.from_function(space, settings, fn).run()  # no storage: nothing on disk
        report = build_report(result, settings=settings)
        render(report)
        write_files(report, "sweep_report")  # frontier.png and trials.csv
    """
    _check_ledger_options(pue, carbon_g_per_kwh)
    if isinstance(source, SweepResult):
        sweep = _from_result(source, settings)
    elif isinstance(source, str | os.PathLike):
        if settings is not None:
            raise TypeError(
                "build_report(path, settings=...): the settings are recorded in the sweep's results file; pass "
                "settings only with an in-memory SweepResult."
            )
        sweep = load_sweep(Path(source))
    else:
        raise TypeError(
            f"build_report(source={source!r}): expected a sweep directory, its {RESULTS_FILENAME}, or the "
            f"SweepResult that ParetoSweep.run() returned."
        )
    result = sweep.result
    return Report(
        sweep=sweep,
        frontier=views.frontier_rows(result),
        knee=views.knee_index(result),
        audit=proxy_audit(result),
        ledger=ledger(
            result,
            pue=pue,
            carbon_g_per_kwh=carbon_g_per_kwh,
            baseline=baseline,
            constraints=_outcome_constraints(sweep) or (),
        ),
    )


def _csv_text(report: Report) -> str:
    """``trials.csv``: one row per trial with its status, frontier membership, parameters, metrics and energy."""
    from lightning_ecopt import frontier

    result = report.sweep.result
    pareto = set(result.pareto_indices)
    constraints = _outcome_constraints(report.sweep)
    feasible: dict[int, bool] = {}
    if constraints is not None:  # unknown (an in-memory result without its settings): the column stays blank
        feasible = {t.trial_index: meets(t, constraints) for t in _evaluated(result)}
    # Dominance among the trials the sweep's frontier is drawn from: a trial that breaks an outcome constraint
    # neither is on the frontier nor pushes a feasible trial off it.
    runs = [t for t in _evaluated(result) if feasible.get(t.trial_index, True)]
    dominated_by: dict[int, int | None] = {}
    if runs:
        Y = [[t.metrics[o.name] for o in result.objectives] for t in runs]
        if all(math.isfinite(v) for row in Y for v in row):
            for t, d in zip(runs, frontier.dominators(Y, [not o.minimize for o in result.objectives]), strict=True):
                dominated_by[t.trial_index] = None if d is None else runs[d].trial_index
    _, per_inference = _energy_per_inference(_evaluated(result), result.objectives)  # feasible or not: measured
    params = sorted({k for t in result.trials for k in t.params})
    objectives = [o.name for o in result.objectives]
    metrics = sorted({k for t in result.trials for k in t.metrics} - set(objectives))
    header = [
        "trial_index", "status", "feasible", "on_frontier", "knee", "dominated_by", "reused_from",
        *(f"param:{p}" for p in params), *objectives, "energy_per_inference_j", "train_j", "eval_j",
        "energy_source", *metrics, "reason",
    ]  # fmt: skip
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for t in result.trials:
        energy = trial_energy(t)
        writer.writerow(
            [
                t.trial_index, t.status, _cell(None if t.trial_index not in feasible else int(feasible[t.trial_index])),
                int(t.trial_index in pareto), int(t.trial_index == report.knee),
                _cell(dominated_by.get(t.trial_index)), _cell(t.reused_from),
                *(_cell(t.params.get(p)) for p in params), *(_cell(t.metrics.get(o)) for o in objectives),
                _cell(per_inference(t)), _cell(energy.train_j if energy.known else None),
                _cell(energy.eval_j if energy.known else None), t.energy_source or "",
                *(_cell(t.metrics.get(m)) for m in metrics), t.reason or "",
            ]
        )  # fmt: skip
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def write_files(report: Report, out_dir: str | Path | None = None) -> dict[str, str]:
    """Write ``frontier.png`` and ``trials.csv`` (atomically) and record them in ``report.files``.

    Args:
        report: The report.
        out_dir: Where to write; default the sweep directory (next to ``optimization_results.yaml``). Required for
            a report built from an in-memory result of a sweep run without ``storage`` (it has no directory).

    Returns:
        ``{"frontier.png": path, "trials.csv": path}``.

    Raises:
        SweepDataError: The directory cannot be written (the message suggests ``--out``).
        EcoptConfigError: No ``out_dir`` for a report without a sweep directory.
    """
    from lightning_ecopt.sweeper.results import atomic_write_text

    if out_dir is not None:
        target = Path(out_dir)
    elif report.sweep.sweep_dir is not None:
        target = report.sweep.sweep_dir
    else:
        raise EcoptConfigError(
            "write_files(report): this report was built from an in-memory SweepResult (a sweep run without storage), "
            "so it has no sweep directory to write to; pass out_dir, e.g. write_files(report, 'sweep_report')."
        )
    png, csv_path = target / _FILES[0], target / _FILES[1]
    try:
        target.mkdir(parents=True, exist_ok=True)
        figure = views.frontier_figure(report.sweep.result, constraints=_outcome_constraints(report.sweep) or ())
        tmp = target / f".{png.name}.tmp"
        tmp.write_bytes(views.figure_png(figure))
        tmp.replace(png)
        atomic_write_text(csv_path, _csv_text(report))
    except OSError as exc:
        raise SweepDataError(
            f"ecopt report: cannot write {_FILES[0]} and {_FILES[1]} to {str(target)!r} ({exc.strerror or exc}); "
            f"choose a writable folder with --out DIR, or skip the files with --no-files."
        ) from None
    report.files.update({_FILES[0]: str(png), _FILES[1]: str(csv_path)})
    return dict(report.files)


# -- printing -------------------------------------------------------------------------------------------------------


def _fmt_j(joules: float) -> str:
    """Joules with a readable prefix, rounded to 3 significant digits before the prefix is chosen.

    Example:
        >>> _fmt_j(0.00123), _fmt_j(12.5), _fmt_j(3.6e6)
        ('1.23 mJ', '12.5 J', '3.6 MJ')
        >>> _fmt_j(999.7), _fmt_j(0.99995)  # not '1e+03 J', '1e+03 mJ'
        ('1 kJ', '1 J')
    """
    if not math.isfinite(joules):
        return f"{joules} J"
    rounded = float(f"{joules:.3g}")
    a = abs(rounded)
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ")):
        if a >= scale:
            return f"{rounded / scale:.3g} {prefix}J"
    return f"{rounded:.3g} J"


def _at_least(lower_bound: bool, n: float | None) -> str:
    """A break-even count, marked ``>=`` where the search energy it divides is a lower bound."""
    return f">= {_fmt_count(n)}" if lower_bound and n is not None else _fmt_count(n)


def _fmt_count(n: float | None) -> str:
    if n is None:
        return "never"
    if n < 1e12:
        return f"{math.ceil(n):,}"
    return f"{n:.3g}"


_OVERFLOW: Literal["fold"] = "fold"
"""How a table cell narrower than its text breaks it: folded onto more lines, never cut to ``0.9…`` (a narrow
terminal would otherwise lose the figures)."""


def render(report: Report, console: Console | None = None) -> None:
    """Print the report with rich: the frontier table, the proxy audit and the search-cost ledger.

    Args:
        report: The report.
        console: Where to print; default a new ``rich.console.Console`` on stdout.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if console is None:
        console = Console()
        # Piped or redirected: rich would assume 80 columns; unless COLUMNS says otherwise, give the tables room.
        if not console.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
            console = Console(width=140)
    sweep, result, led = report.sweep, report.sweep.result, report.ledger
    label = led.energy_label
    if result.n_completed:
        frontier_label = views.frontier_energy_label(result)  # completed trials only: a refused one's are on no front
        on_front = f" (completed trials: {frontier_label})" if frontier_label != label else ""
    else:  # the ledger's label is the failed trials' own; no frontier figure has one
        frontier_label = "none: no completed trial"
        on_front = " (failed trials only: no completed trial)" if result.trials else ""
    budget = f" of {sweep.n_trials}" if sweep.n_trials is not None else ""
    where = "(in-memory SweepResult)" if sweep.sweep_dir is None else str(sweep.sweep_dir)
    console.print(f"ecopt report {where}", style="bold", markup=False)
    console.print(
        f"{result.n_finished}{budget} trials ({report.state}): {result.n_completed} completed, {result.n_failed} "
        f"failed, {result.n_reused} reused{_abandoned_clause(result)}. Energy figures: {label}{on_front}.",
        markup=False,
    )
    for correction in sweep.notes:
        console.print(correction, markup=False)
    if sweep.stop_reason:
        console.print(f"Stopped early: {sweep.stop_reason}", markup=False)
    for reason, indices in _failure_reasons(result).items():
        trials = ", ".join(f"#{i}" for i in indices)
        console.print(f"Failed ({len(indices)}): {reason} [{trials}]", markup=False)
    contended = report.contended
    if contended:
        listed = ", ".join(f"#{i} ({share:.0%})" for i, share in contended.items())
        console.print(
            f"Contended ({len(contended)} of {len(_evaluated(result))} completed trials): other processes kept more "
            f"than a quarter of the machine's CPU capacity busy while {listed} measured "
            f"(energy/<stage>_cpu_contention). "
            f"Measured CPU/DRAM energy includes their work and a CPU-time estimate grows with it: these trials' "
            f"energy is not comparable with the others'. Rerun them on an otherwise idle machine.",
            markup=False,
        )
    short = report.short_windows
    if short:
        console.print(
            f"Short energy windows ({len(short)} of {len(_evaluated(result))} completed trials, marked ~ below): "
            f"{', '.join(f'#{i}' for i in short)} measured for less than the callback's min_duration_s or 20 "
            f"counter updates (energy/<stage>_short_window = 1), so their energy figures may be off by a counter step "
            f"or the timer's jitter; where they decide the frontier, it is uncertain. Measure more batches (or repeat "
            f"the loop: lightning_ecopt.inference.TimedPasses, until min_duration_s; its 'auto' is 2 s on NVML).",
            markup=False,
        )

    hv = "n/a" if result.hypervolume is None else views.format_value(result.hypervolume, 6)
    n_front = len(report.frontier)
    # One objective has a best value, not a hypervolume (the sweep records none).
    measure = "" if len(result.objectives) == 1 else f", hypervolume {hv}"
    table = Table(
        title=f"Pareto frontier: {n_front} configuration{'' if n_front == 1 else 's'}{measure}",
        title_justify="left",
        caption=escape(f"↑ higher is better, ↓ lower is better; energy figures {frontier_label}"),
        caption_justify="left",
    )
    table.add_column("trial", justify="right", no_wrap=True)
    for o in result.objectives:
        unit = views.metric_unit(o.name)
        table.add_column(
            escape(f"{o.name} {'↓' if o.minimize else '↑'}" + (f"\n[{unit}]" if unit else "")),
            justify="right",
            overflow=_OVERFLOW,
        )
    params = sorted({k for row in report.frontier for k in row["params"]})
    for p in params:
        table.add_column(escape(p), justify="right", overflow=_OVERFLOW)
    for row in report.frontier:
        mark = " ★ knee" if row["knee"] else ""
        flag = "~" if row["trial_index"] in short else ""
        table.add_row(
            f"{flag}#{row['trial_index']}{mark}",
            *(views.format_value(row["values"][o.name]) for o in result.objectives),
            *(escape(views.format_value(row["params"].get(p))) for p in params),
        )
    console.print(table)
    constrained = report.constraints
    if constrained and constrained["constraints"]:
        console.print(
            views.constraints_line(constrained["constraints"], constrained["completed"], constrained["meeting"]),
            markup=False,
        )
    if result.reference_point:
        ref = ", ".join(f"{k} = {views.format_value(v)}" for k, v in result.reference_point.items())
        console.print(f"Reference point ({views.reference_origin(result)}): {ref}", markup=False)
        note = views.outside_reference_note(result)
        if note is not None:
            console.print(note, markup=False)

    audit = Table(
        title=escape(f"Proxy audit: parameter count and FLOPs against energy per inference ({frontier_label})"),
        title_justify="left",
    )
    for column in ("proxy", "n", "Pearson r (p)", "Spearman rho (p)"):
        audit.add_column(column, justify="left" if column == "proxy" else "right", overflow=_OVERFLOW)
    for c in report.audit:
        pearson = "-" if c.pearson_r is None else f"{c.pearson_r:+.3f} ({c.pearson_p:.2g})"
        spearman = "-" if c.spearman_rho is None else f"{c.spearman_rho:+.3f} ({c.spearman_p:.2g})"
        audit.add_row(escape(c.proxy), str(c.n), pearson, spearman)
    console.print(audit)
    target = report.audit[0].target if report.audit and report.audit[0].target else "energy per inference"
    console.print(f"Against {target}, across completed trials that ran.", markup=False)
    for caveat in proxy_audit_caveats(report.sweep.result):
        console.print(caveat, markup=False)
    for c in report.audit:
        console.print(f"- {c.proxy}: {c.meaning}", markup=False)

    _render_ledger(led, console, report.sweep.result)
    for name, path in report.files.items():
        console.print(f"Wrote {name}: {path}", markup=False)


def _failure_reasons(result: SweepResult, width: int = 240) -> dict[str, list[int]]:
    """The failed trials grouped by reason (cut to ``width`` characters), most frequent first; reuses left out."""
    groups: dict[str, list[int]] = {}
    for t in result.failures():
        if t.reused_from is None:
            reason = " ".join((t.reason or "no reason recorded").split())
            groups.setdefault(reason if len(reason) <= width else reason[: width - 1] + "…", []).append(t.trial_index)
    return dict(sorted(groups.items(), key=lambda item: -len(item[1])))


def _render_ledger(led: Ledger, console: Console, result: SweepResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    label = led.energy_label
    bound = " (lower bound)" if led.lower_bound else ""
    if led.mixed_energy:
        console.print(
            f"Search-cost ledger (energy {label}, totalled per kind, never summed; PUE {led.pue:g})",
            style="bold",
            markup=False,
        )
        for kind, k in led.totals_by_kind.items():
            console.print(
                f"Search energy, {kind}: {_fmt_j(k.total_j)} = {k.total_j / _J_PER_KWH:.4g} kWh{bound}: training "
                f"{_fmt_j(k.train_j)} + evaluation {_fmt_j(k.eval_j)}, x PUE {led.pue:g}, over {k.trials_counted} "
                f"trials that ran; CO2 {k.co2_g:.4g} g CO2e at {led.carbon_g_per_kwh:g} g/kWh.",
                markup=False,
            )
        console.print(
            f"{_not_comparable(led.energy_kinds).capitalize()}: the {led.trials_counted} trials that ran "
            f"({led.failed_counted} failed) are totalled per kind, and the kinds are never added together.",
            markup=False,
        )
    else:
        console.print(f"Search-cost ledger (energy {label}; PUE {led.pue:g})", style="bold", markup=False)
        console.print(
            f"Search energy: {_fmt_j(led.total_j)} = {led.total_kwh:.4g} kWh{bound}: training {_fmt_j(led.train_j)} "
            f"+ evaluation {_fmt_j(led.eval_j)}, x PUE {led.pue:g}, over {led.trials_counted} trials that ran "
            f"({led.failed_counted} failed).",
            markup=False,
        )
        console.print(f"CO2: {led.co2_g:.4g} g CO2e at {led.carbon_g_per_kwh:g} g/kWh.", markup=False)
    coverage = views.energy_coverage(t.energy_source for t in result.trials)
    if coverage is not None:
        console.print(coverage, markup=False)
    if led.trials_unknown:
        console.print(f"Not counted, energy unknown: trials {', '.join(map(str, led.trials_unknown))}.", markup=False)
    if led.trials_eval_unknown:
        console.print(
            f"Evaluation energy partly unknown (a loop read NaN, or 0 J over a window shorter than its counter's "
            f"update, or none was recorded): trials {', '.join(map(str, led.trials_eval_unknown))}; counted where "
            "known.",
            markup=False,
        )
    if led.trials_without_train_j:
        console.print(
            f"{led.trials_without_train_j} trials recorded no training energy: only their evaluation counts.",
            markup=False,
        )
    if led.trials_reused:
        console.print(f"{led.trials_reused} reused trials were not run again: 0 J.", markup=False)
    if led.trials_shared_counters:
        console.print(
            f"{led.trials_shared_counters} trials were measured on counters shared with trials that ran beside "
            "them: their joules include their neighbours' work, so their figures and this total overstate it. "
            "Run one trial per GPU (or CPU package) for exact figures.",
            markup=False,
        )
    if led.trials_checkpoint_reused and led.mixed_energy:
        saved = ", ".join(
            f"{_fmt_j(k.checkpoint_saved_j)} {kind}" for kind, k in led.totals_by_kind.items() if k.checkpoint_saved_j
        )
        console.print(
            f"Checkpoint reuse: {led.trials_checkpoint_reused} trials loaded a cached checkpoint instead of training, "
            f"saving {saved}.",
            markup=False,
        )
    elif led.trials_checkpoint_reused:
        retrain = led.total_j + led.checkpoint_saved_j
        unknown = led.trials_checkpoint_saved_unknown
        share = (
            f" ({led.checkpoint_saved_j / retrain:.0%} of the {_fmt_j(retrain)} that retraining in every trial would "
            f"have cost)"
            if retrain and not unknown
            else ""
        )
        console.print(
            f"Checkpoint reuse: {led.trials_checkpoint_reused} trials loaded a cached checkpoint instead of training, "
            f"saving {'at least ' if unknown else ''}{_fmt_j(led.checkpoint_saved_j)}{share}"
            f"{f'; {unknown} of them did not report the training they avoided' if unknown else ''}.",
            markup=False,
        )
    if led.baseline is None:
        if led.energy_per_inference is None:
            console.print("No baseline: no completed trial reports an energy per inference, so no break-even.")
        else:
            console.print(
                "No baseline: no completed trial that meets the sweep's outcome constraints reports an energy per "
                "inference, so no break-even. Name one with --baseline <trial>.",
                markup=False,
            )
        return
    why = {"first": "the first completed trial", "trial": "chosen"}
    if led.baseline_metric is not None:
        why["most-accurate"] = f"the best {led.baseline_metric}"
    if led.baseline_passed_over:  # a trial the constraints rule out did better: say whose best it is
        why = {rule: f"{text} among the trials that meet the constraints" for rule, text in why.items()}
    if led.baseline_breaks:  # "first" or a named trial: the user's reference, taken whatever the constraints say
        why = {rule: f"{text}, which breaks {', '.join(led.baseline_breaks)}" for rule, text in why.items()}
    tie = ""
    if led.baseline_tied:
        tie = (
            f"; {len(led.baseline_tied)} trials tie on it ({', '.join(f'#{i}' for i in led.baseline_tied)}), the one "
            f"with the {led.baseline_tie_rule} taken: the smallest saving, the longest payback"
        )
    # Each model's performance beside its saving (a model that saves 30 % at a third of the accuracy is no bargain),
    # and, where the trials count tokens, the joules per token (an inference is then a whole prompt's generation).
    by_index = {t.trial_index: t for t in result.trials}
    performance: Objective | None = _performance_objective(result)
    if performance is not None and views.is_energy_metric(performance.name):
        performance = None
    stage = _inference_stage(led.energy_per_inference)

    def per_token(trial_index: int, j_per_inference: float) -> float | None:
        metrics = by_index[trial_index].metrics if trial_index in by_index else {}
        tokens, samples = (
            _finite(metrics.get(f"energy/{stage}_tokens")),
            _finite(metrics.get(f"energy/{stage}_samples")),
        )
        return j_per_inference * samples / tokens if tokens and samples else None

    def shown(trial_index: int | None) -> str:
        value = by_index[trial_index].metrics.get(performance.name) if performance and trial_index in by_index else None
        return "-" if not isinstance(value, int | float) else views.format_value(value, 4)

    tokens_known = any(per_token(s.trial_index, s.j_per_inference) is not None for s in led.savings)
    base = f", {performance.name} {shown(led.baseline)}" if performance is not None else ""
    savings = Table(
        title=escape(
            f"Frontier models against baseline #{led.baseline} ({why.get(led.baseline_rule, led.baseline_rule)}"
            f"{tie}): {_fmt_j(led.baseline_j_per_inference or 0.0)} per inference{base}"
        ),
        title_justify="left",
    )
    columns = ["trial"] + ([performance.name] if performance is not None else [])
    columns += ["J per inference"] + (["J per token"] if tokens_known else [])
    columns += ["saved per inference", "saved", "break-even inferences"]
    for column in columns:
        savings.add_column(escape(column), justify="right", overflow=_OVERFLOW)
    for s in led.savings:
        token_j = per_token(s.trial_index, s.j_per_inference)
        savings.add_row(
            f"#{s.trial_index}",
            *([shown(s.trial_index)] if performance is not None else []),
            _fmt_j(s.j_per_inference),
            *([_fmt_j(token_j) if token_j is not None else "-"] if tokens_known else []),
            _fmt_j(s.saved_j_per_inference),
            f"{s.saved_fraction:+.1%}",
            "n/a" if led.mixed_energy else _at_least(led.lower_bound, s.break_even_inferences),
        )
    console.print(savings)
    if led.mixed_energy:
        console.print(
            f"No break-even: the search's energy mixes {' and '.join(led.energy_kinds)} joules (totalled per kind "
            f"above), which are not comparable, so there is no one search energy for a model to repay. Only frontier "
            f"models whose energy is {led.baseline_kind}, as the baseline's, are compared with it. Sweep with "
            f"one energy source for a break-even.",
            markup=False,
        )
        return
    console.print(
        f"Break-even: search energy / energy saved per inference (PUE applies to both)"
        f"{'; at least (>=), since the search energy is a lower bound' if led.lower_bound else ''}. Energy per "
        f"inference: {led.energy_per_inference} ({label}).",
        markup=False,
    )
