"""The proxy audit: how well parameter count and FLOPs track energy per inference across a sweep's trials.

The ECOpt paper found that they do not (Pearson -0.12 and 0.26 on measured GPU energy): :func:`proxy_audit` repeats
its test on a sweep's completed trials that ran, with Pearson's r and Spearman's rho from scipy (exact p-values up to
:data:`_EXACT_P_MAX_N` trials) and a sentence on what they mean; :func:`proxy_audit_caveats` says what keeps a sweep
from testing the finding. Energy per inference is read as the ledger reads it (:mod:`lightning_ecopt.ledger`), and
``ecopt report`` (:mod:`lightning_ecopt.report`) prints the audit. scipy is imported only when a correlation is
computed.

FLOPs are those of the audited loop's inference: a sweep whose energy per inference is the predict loop's, where the
trials counted ``predict_step`` (``EnergyCallback(predict_flops="predict_step")``: a whole generation), is audited on
``model/predict_step_flops_per_sample``; any other on ``model/flops_per_sample``, one forward pass.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from lightning_ecopt._numbers import format_number
from lightning_ecopt.energy.figures import FLOPS_PER_SAMPLE, PREDICT_STEP_FLOPS_PER_SAMPLE
from lightning_ecopt.ledger import (
    _energy_kinds,
    _energy_per_inference,
    _evaluated,
    _finite,
    _inference_stage,
    _kinds_label,
    _not_comparable,
)
from lightning_ecopt.sweeper import spelling
from lightning_ecopt.sweeper.results import SweepResult, TrialRecord

__all__ = [
    "ESTIMATE_CAVEAT",
    "PROXIES",
    "UNLABELLED_CAVEAT",
    "ProxyCorrelation",
    "flops_proxy",
    "proxy_audit",
    "proxy_audit_caveats",
]

PROXIES = ("model/params", FLOPS_PER_SAMPLE)
"""The proxy metrics the audit correlates with energy per inference (logged by ``EnergyCallback``); FLOPs stand for
those of the audited loop's inference (:func:`flops_proxy`)."""


def flops_proxy(result: SweepResult) -> str:
    """The FLOPs metric that pairs with the energy per inference the audit reads.

    ``model/predict_step_flops_per_sample`` (a whole generation's) where that energy is the predict loop's and a trial
    logged it, else ``model/flops_per_sample`` (one forward pass). A test loop's J per sample is never paired with a
    generation's FLOPs, nor a generation's joules with one forward pass where the generation's count is there.
    """
    trials = _evaluated(result)
    target, _ = _energy_per_inference(trials, result.objectives)
    return _flops_for(trials, target)


def _flops_for(trials: Sequence[TrialRecord], target: str | None) -> str:
    """:func:`flops_proxy` for the trials and the energy-per-inference metric the audit has read already."""
    if _inference_stage(target) == "predict" and any(
        _finite(t.metrics.get(PREDICT_STEP_FLOPS_PER_SAMPLE)) is not None for t in trials
    ):
        return PREDICT_STEP_FLOPS_PER_SAMPLE
    return FLOPS_PER_SAMPLE


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

UNLABELLED_CAVEAT = (
    "The energy figures carry no energy/source label (the task returned trainer.callback_metrics or trainer.test()'s "
    "dicts, not lightning_ecopt.trial_metrics(trainer)): measured or estimated is unknown, and a CPU-time estimate "
    "follows FLOPs and parameters by construction, so this audit cannot say whether it tests the ECOpt paper's finding."
)
"""Said under an audit of figures without a source label."""

_BATCH_SPREAD = 2.0
"""Audited trials whose mean inference batch sizes differ by this factor or more are said to confound the audit."""


def _batch_size(mean: float) -> str:
    """A mean batch size as read off the figures, to whole samples from 10 up.

    ``j_per_batch`` is a mean of per-batch windows, ``j_per_sample`` the loop's total over its samples: batch 1 can
    read 0.9994.

    >>> _batch_size(0.9994), _batch_size(2.5), _batch_size(318.6)
    ('1', '2.5', '319')
    """
    return f"{mean:.0f}" if mean >= 10 else f"{mean:.2g}"


def proxy_audit_caveats(result: SweepResult) -> list[str]:
    """What keeps the proxy audit of ``result`` from testing the ECOpt paper's finding, one sentence each.

    The energy is the CPU-time estimate (:data:`ESTIMATE_CAVEAT`), or of no known kind (:data:`UNLABELLED_CAVEAT`); or
    the audited trials ran inference at batch
    sizes (``j_per_batch / j_per_sample`` of the loop the audit reads) that differ by :data:`_BATCH_SPREAD` or more:
    the batch size moves energy per inference by itself, and no model proxy sees it.
    """
    trials = _evaluated(result)
    kinds = _energy_kinds(trials) if trials else []
    caveats = [ESTIMATE_CAVEAT] if kinds == ["estimated"] else [UNLABELLED_CAVEAT] if kinds == ["unlabelled"] else []
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
            f"The audited trials ran inference at mean batch sizes from {_batch_size(min(sizes))} to "
            f"{_batch_size(max(sizes))} samples "
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
        proxies: The proxy metrics; default parameter count and FLOPs per sample, where ``model/flops_per_sample``
            stands for the FLOPs of the audited loop's inference (:func:`flops_proxy`).

    Returns:
        One :class:`ProxyCorrelation` per proxy, with Pearson and Spearman correlations from scipy, or ``None``
        and the reason when they are undefined.
    """
    trials = _evaluated(result)
    target, per_inference = _energy_per_inference(trials, result.objectives)
    kinds = _energy_kinds(trials)
    energy = _kinds_label(kinds, trials)
    kind = energy.split(" ", 1)[0]
    flops = _flops_for(trials, target)
    out = []
    for proxy in (flops if name == FLOPS_PER_SAMPLE else name for name in proxies):
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
                if proxy in (FLOPS_PER_SAMPLE, PREDICT_STEP_FLOPS_PER_SAMPLE)
                else "; see the trials' warnings."
            )
        elif n < 3:
            reporting = spelling.counted(n, "completed trial reports", "completed trials report")
            reason = f"Only {reporting} {proxy} and {target}; a correlation needs at least 3."
        elif len({x for x, _ in pairs}) < 2:
            reason = (
                f"{proxy} is the same in every trial ({format_number(pairs[0][0], 6)}: one model, as in a sweep of "
                f"inference-only parameters such as the batch size): the correlation is undefined."
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
