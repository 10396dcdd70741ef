"""Discrete search spaces: a categorical kernel, and the acquisition function scored on untried configurations.

Ax one-hot encodes unordered choices and optimises the acquisition function over the continuous relaxation: a GP on
``sum(len(choices))`` inputs (30 for NAS-Bench-201's 6 x 5 operations), an L-BFGS-B search over the unit cube, and
rounding, which lands on an already-tried configuration often enough that Ax regenerates up to five times and then
falls back to Sobol. For spaces whose swept parameters are all choices, :func:`configure_discrete` sets the sweep's
BoTorch node to

- keep the choices as categories (Ax's transforms without ``OneHot``), so Ax fits BoTorch's ``MixedSingleTaskGP``:
  a categorical kernel with one length scale per parameter, 6 inputs instead of 30;
- propose with :class:`UntriedAcquisition`: the configurations neither tried nor pending (all of them up to
  ``max_screened``, else that many drawn at random, as mixed-radix codes: the space is never listed whole) are
  screened by :func:`screen` (expected improvement from each one's marginal posterior), and the sweep's acquisition
  function is evaluated on the best ``max_scored`` with BoTorch's ``optimize_acqf_discrete`` (sequential greedy for
  a batch). Every proposal is new, so Ax never deduplicates or falls back to Sobol.

:class:`NearestUntriedAcquisition` keeps Ax's way (one-hot GP, gradient optimisation of the relaxation) and changes
only the rounding: an optimum that would round onto a tried or pending configuration goes to the nearest untried one.
The sweeper uses it in every space of choices only, and in spaces of unordered choices and floats, where only an
exact repeat (floats equal too) moves: to the nearest category not taken at those floats, else to the best of random
untried points (``loop._ROUND_UNTRIED``).

:class:`ScreenedAcquisition` (the base of :class:`NearestUntriedAcquisition`) changes what Ax does in a fully discrete
space of at most 10,000 configurations (choices and integer ranges), where it scores every configuration at every
proposal: q(Log)NEHVI scores only the best 128 untried ones by the same screen (``loop._SCREEN_ENUMERATED``).

The sweeper uses :func:`configure_discrete` (the categorical kernel and :class:`UntriedAcquisition`) only when
``loop._DISCRETE_PROPOSALS`` is on, and it is off: on NAS-Bench-201 it was 3x faster per suggestion but reached less
hypervolume at 60 evaluations than the one-hot GP (0.940 against 0.970, median of 5 seeds; docs/bench-optimizer.md).
The classes are registered with Ax's JSON registry when this module is imported: call
:func:`lightning_ecopt.sweeper.loop.register_with_ax` before loading a saved experiment with Ax (the sweeper does).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from ax.generators.torch.botorch_modular.acquisition import Acquisition
from ax.generators.utils import mk_discrete_choices
from ax.storage.botorch_modular_registry import register_acquisition
from botorch.optim.optimize import optimize_acqf_discrete
from torch import Tensor

__all__ = [
    "MAX_SCORED",
    "MAX_SCREENED",
    "NearestUntriedAcquisition",
    "ScreenedAcquisition",
    "UntriedAcquisition",
    "configure_discrete",
    "configure_nearest_untried",
    "configure_screened",
    "is_fully_discrete",
    "nearest_untried",
    "screen",
    "untried_candidates",
]

MAX_SCREENED = 16_384
"""Untried configurations screened per proposal: all of them up to this many, else this many at random (NAS-Bench-201's
15,625 architectures are all screened; the screen costs about 0.5 s of CPU for them at 50 trials)."""

MAX_SCORED = 128
"""Screened configurations (the best by the screen) on which the sweep's acquisition function is evaluated."""

MAX_SCREENED_KEY = "max_screened"
MAX_SCORED_KEY = "max_scored"
"""Keys of :class:`UntriedAcquisition`'s options in the acquisition options (Ax's ``ax_acquisition_kwargs``)."""

_SCREEN_SAMPLES = 32
"""Samples of each candidate's marginal posterior in :func:`screen` (shared by all candidates)."""

_SCREEN_CHUNK = 256
"""Candidates screened at once (bounds the memory: samples x chunk x cells x objectives). Their posterior is one joint
posterior whose diagonal is read: BoTorch's posterior of ``k`` points costs more than linearly in ``k`` (15,625
one-hot NAS-Bench-201 candidates, a 2-output GP on 50 points, one thread: 0.25 s of CPU in chunks of 256, 0.52 s in
chunks of 1,024, 0.6-0.67 s as t-batches of one point in chunks of 1,024, the screen's way before 2026-12-02; in a
sweep proposing from every untried architecture on the one-hot GP, 0.85 s per suggestion at 50 trials instead of
1.78 s)."""

_SCORE_BATCH = 1024
"""Candidates per forward pass of the acquisition function (bounds the memory of one pass)."""

_SCORE_ELEMENTS = 1 << 22
"""Bound on ``candidates x (baseline + 1)^2`` per forward pass of an acquisition function with a baseline
(:func:`_score_chunk`): q(Log)NEHVI's posterior of each candidate is joint with its baseline, so a pass's memory grows
with the baseline squared (Ax's passes of 2,048 candidates peaked at 11.7 GB with 257 baseline points)."""

_REPEAT_SAMPLES = 512
"""Random points scored to replace a proposal that still repeats a configuration in a space with floats (BoTorch's raw
samples of the acquisition optimiser in a sweep, ``loop._ACQF_OPTIMIZER_KWARGS``)."""


def untried_candidates(
    choices: Sequence[Sequence[float]],
    avoid: Tensor | None,
    max_scored: int,
    *,
    dtype: torch.dtype = torch.double,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The configurations of a discrete space not in ``avoid``: all of them, or ``max_scored`` drawn at random.

    Each configuration is a mixed-radix code (the index of each parameter's value), so nothing of the size of the
    space is ever built; rows of ``avoid`` that are not in the space are ignored.

    Args:
        choices: The allowed values of each column, in column order.
        avoid: An ``n x d`` tensor of configurations to leave out (tried or pending), or ``None``.
        max_scored: The most configurations to return.
        dtype: The dtype of the returned tensor.
        generator: The random generator for the draw (torch's global one when ``None``).

    Returns:
        A ``k x d`` tensor of distinct configurations, ``k = min(max_scored, untried)``; ``0 x d`` when every
        configuration was tried.

    Example:
        >>> untried_candidates([[0.0, 1.0], [0.0, 1.0, 2.0]], torch.tensor([[0.0, 0.0], [1.0, 2.0]]), 10).tolist()
        [[0.0, 1.0], [0.0, 2.0], [1.0, 0.0], [1.0, 1.0]]
    """
    if max_scored < 1:
        raise ValueError(f"untried_candidates(max_scored={max_scored}): max_scored must be >= 1.")
    sizes = [len(c) for c in choices]
    total = math.prod(sizes)
    avoided = _codes(choices, avoid) if avoid is not None and len(avoid) else set()
    n_untried = total - len(avoided)
    if n_untried <= max_scored:
        codes = [c for c in range(total) if c not in avoided]
    else:
        codes = _draw(total, avoided, max_scored, generator)
    return _decode(codes, choices, dtype)


def _codes(choices: Sequence[Sequence[float]], X: Tensor) -> set[int]:
    """The mixed-radix codes of the rows of ``X`` that lie in the space."""
    index = [{float(v): i for i, v in enumerate(c)} for c in choices]
    return {code for row in X.tolist() if (code := _code(index, row)) is not None}


def _code(index: Sequence[dict[float, int]], row: Sequence[float]) -> int | None:
    """The mixed-radix code of one configuration (``index``: each column's value -> position); ``None`` if off it."""
    positions = []
    for lookup, value in zip(index, row, strict=True):
        position = lookup.get(float(value))
        if position is None:
            return None
        positions.append(position)
    return _encode(positions, [len(lookup) for lookup in index])


def _encode(positions: Sequence[int], sizes: Sequence[int]) -> int:
    """The mixed-radix code of each parameter's value position (the inverse of :func:`_decode`'s digits)."""
    code = 0
    for position, size in zip(positions, sizes, strict=True):
        code = code * size + position
    return code


def _draw(total: int, avoided: set[int], k: int, generator: torch.Generator | None) -> list[int]:
    """``k`` distinct codes below ``total``, none in ``avoided``, uniformly at random."""
    if total <= 1 << 24:  # a permutation is cheap: take the first k untried codes of it
        order = torch.randperm(total, generator=generator).tolist()
        return [c for c in order if c not in avoided][:k] if avoided else order[:k]
    drawn: list[int] = []
    seen = set(avoided)
    while len(drawn) < k:  # rejection sampling: the space is far larger than k + len(avoided)
        batch = torch.randint(0, 2**62, (2 * (k - len(drawn)),), generator=generator).tolist()
        for value in batch:
            code = value % total
            if code not in seen:
                seen.add(code)
                drawn.append(code)
                if len(drawn) == k:
                    break
    return drawn


def _decode(codes: Sequence[int], choices: Sequence[Sequence[float]], dtype: torch.dtype) -> Tensor:
    """The configurations (one row each) of mixed-radix codes."""
    remaining = torch.tensor(list(codes), dtype=torch.long)
    columns = []
    for values in reversed(choices):
        columns.append(torch.tensor(list(values), dtype=dtype)[remaining % len(values)])
        remaining = remaining // len(values)
    return torch.stack(columns[::-1], dim=-1) if columns else torch.empty(len(codes), 0, dtype=dtype)


class UntriedAcquisition(Acquisition):
    """Ax's ``Acquisition`` that, in a fully discrete space, scores the acquisition function on untried configurations.

    Anything else (a continuous or integer-range dimension, equality constraints, a candidate set) is left to Ax's
    ``Acquisition.optimize``. Its option ``max_scored`` (in ``ax_acquisition_kwargs``) bounds the configurations
    scored per proposal (default :data:`MAX_SCORED`).
    """

    def optimize(
        self,
        n: int,
        search_space_digest: Any,
        inequality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
        equality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
        fixed_features: dict[int, float] | None = None,
        rounding_func: Callable[[Tensor], Tensor] | None = None,
        optimizer_options: dict[str, Any] | None = None,
        candidate_set: Tensor | None = None,
        sampling_strategy: Any = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The best ``n`` untried configurations, or Ax's ``Acquisition.optimize`` outside a fully discrete space.

        Returns:
            The candidates (``n x d``, fewer when fewer remain), their acquisition values and their arm weights.

        Raises:
            SearchSpaceExhausted: Every configuration was tried (the sweep ends, its Ax ``OptimizationComplete``).
        """
        ssd = search_space_digest
        space = _discrete_space(ssd, fixed_features)
        if candidate_set is not None or sampling_strategy is not None or equality_constraints or space is None:
            return super().optimize(
                n=n,
                search_space_digest=ssd,
                inequality_constraints=inequality_constraints,
                equality_constraints=equality_constraints,
                fixed_features=fixed_features,
                rounding_func=rounding_func,
                optimizer_options=optimizer_options,
                candidate_set=candidate_set,
                sampling_strategy=sampling_strategy,
            )
        dtype = self.dtype or torch.double
        avoid = _stack(self.X_observed, self.X_pending)
        layout, choices = space
        max_screened = int(self.options.get(MAX_SCREENED_KEY, MAX_SCREENED))
        max_scored = int(self.options.get(MAX_SCORED_KEY, MAX_SCORED))
        untried = untried_candidates(
            choices, None if avoid is None else _to_items(avoid, layout), max_screened, dtype=dtype
        )
        candidates = _from_items(untried, layout, len(ssd.feature_names)).to(self.device)
        return _best_of(
            self,
            n,
            candidates,
            max_scored,
            inequality_constraints,
            exhausted="No more untried configurations in the fully discrete search space.",
            max_batch_size=_SCORE_BATCH,
        )


def _best_of(
    acquisition: Acquisition,
    n: int,
    candidates: Tensor,
    max_scored: int,
    inequality_constraints: list[tuple[Tensor, Tensor, float]] | None,
    *,
    exhausted: str,
    max_batch_size: int,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The best ``n`` of the feasible ``candidates`` by the acquisition function, the best ``max_scored`` screened.

    Returns:
        The candidates (``n x d``, fewer when fewer remain), their acquisition values and their arm weights.

    Raises:
        SearchSpaceExhausted: No candidate meets the parameter constraints (``exhausted`` says it).
    """
    if inequality_constraints:
        from botorch.optim.optimize import _filter_infeasible

        candidates = _filter_infeasible(X=candidates, inequality_constraints=inequality_constraints)
    if len(candidates) == 0:
        from ax.exceptions.core import SearchSpaceExhausted

        raise SearchSpaceExhausted(exhausted)
    if len(candidates) > max_scored:
        candidates = candidates[screen(acquisition.acqf, candidates, max_scored, generator=generator)]
    X, values = optimize_acqf_discrete(
        acq_function=acquisition.acqf, q=min(n, len(candidates)), choices=candidates, max_batch_size=max_batch_size
    )
    weights = torch.ones(len(X), dtype=acquisition.dtype)
    return X, values, weights * len(X) / n


def nearest_untried(
    x: Tensor,
    layout: Sequence[tuple[tuple[int, ...], bool]],
    choices: Sequence[Sequence[float]],
    avoided: set[int],
) -> tuple[Tensor, int] | None:
    """The configuration nearest to a point of the relaxed space (squared distance) whose code is not in ``avoided``.

    The distance is a sum over parameters (a one-hot parameter's columns against each of its one-hot vectors, a
    discrete column against each of its values), so the configurations are visited best first, each parameter's
    options in order of their own distance, from the nearest configuration (what rounding gives) on: at most
    ``len(avoided) + 1`` of them are visited, and the space is never listed.

    Args:
        x: A point of the model's input space (``d``), e.g. the acquisition optimiser's optimum before rounding.
        layout: Each parameter's columns and whether they one-hot encode it (:func:`_layout`).
        choices: Each parameter's values (the positions ``0..k-1`` of a one-hot parameter), as for the codes.
        avoided: Mixed-radix codes of the configurations to pass over (tried, pending, already chosen).

    Returns:
        The configuration as a model input row (``d``) and its code, or ``None`` when every configuration is avoided.

    Example:
        >>> layout = [((0, 1, 2), True), ((3,), False)]  # a 3-way one-hot choice, then an ordinal in {0, 1}
        >>> x = torch.tensor([0.1, 0.5, 0.4, 0.2])
        >>> nearest_untried(x, layout, [[0.0, 1.0, 2.0], [0.0, 1.0]], avoided=set())  # what rounding gives
        (tensor([0., 1., 0., 0.]), 2)
        >>> nearest_untried(x, layout, [[0.0, 1.0, 2.0], [0.0, 1.0]], avoided={2})  # 2nd-best column of the one-hot
        (tensor([0., 0., 1., 0.]), 4)
    """
    import heapq

    ranked: list[list[int]] = []  # each parameter's option positions, nearest first
    costs: list[list[float]] = []  # their distances, in that order
    for (cols, hot), values in zip(layout, choices, strict=True):
        if hot:  # |x_g - e_c|^2 = |x_g|^2 - 2 x_c + 1
            part = x[list(cols)]
            distance = (part.square().sum() - 2 * part + 1).tolist()
        else:
            distance = [(float(x[cols[0]]) - float(v)) ** 2 for v in values]
        order = sorted(range(len(distance)), key=distance.__getitem__)
        ranked.append(order)
        costs.append([distance[i] for i in order])
    sizes = [len(c) for c in choices]

    start = (0,) * len(ranked)
    heap = [(sum(c[0] for c in costs), start)]
    seen = {start}
    while heap:
        total, ranks = heapq.heappop(heap)
        positions = [order[rank] for order, rank in zip(ranked, ranks, strict=True)]
        code = _encode(positions, sizes)
        if code not in avoided:
            # A one-hot parameter's values are its positions, so one row of items serves every kind of column.
            items = [float(values[position]) for values, position in zip(choices, positions, strict=True)]
            return _from_items(torch.tensor([items], dtype=x.dtype), layout, len(x))[0].to(x), code
        for p, rank in enumerate(ranks):
            if rank + 1 < sizes[p]:
                after = (*ranks[:p], rank + 1, *ranks[p + 1 :])
                if after not in seen:
                    seen.add(after)
                    heapq.heappush(heap, (total - costs[p][rank] + costs[p][rank + 1], after))
    return None


class ScreenedAcquisition(Acquisition):
    """Ax's ``Acquisition`` that, where Ax would score every configuration, scores only the most promising ones.

    In a fully discrete space of at most BoTorch's ``MAX_CHOICES_ENUMERATE`` (10,000) configurations, Ax scores every
    one at every proposal (``optimize_acqf_discrete``). With an acquisition function that scores each candidate
    jointly with its baseline (q(Log)NEHVI: an ``(n + 1) x (n + 1)`` posterior per candidate) that cost grows as the
    trials cubed: on the ECOpt paper's CNN space (7,680 configurations) 1.9 s a proposal at 50 trials and 66 s and
    11.7 GB at 300. With the option ``max_scored`` (:func:`configure_screened`), when more configurations are untried
    than that, :func:`screen` keeps the best ``max_scored`` of them by their marginal posteriors and only those are
    scored (in passes bounded by :data:`_SCORE_ELEMENTS`). Anything else is Ax's ``Acquisition.optimize``.
    """

    def optimize(
        self,
        n: int,
        search_space_digest: Any,
        inequality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
        equality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
        fixed_features: dict[int, float] | None = None,
        rounding_func: Callable[[Tensor], Tensor] | None = None,
        optimizer_options: dict[str, Any] | None = None,
        candidate_set: Tensor | None = None,
        sampling_strategy: Any = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The best ``n`` screened untried configurations where Ax would score them all, else Ax's proposal.

        Returns:
            The candidates (``n x d``, fewer when fewer remain), their acquisition values and their arm weights.

        Raises:
            SearchSpaceExhausted: No untried configuration meets the parameter constraints.
        """
        ssd = search_space_digest
        space = _discrete_space(ssd, fixed_features)  # None with a continuous column: Ax never scores them all
        if space is not None and self._enumerates(ssd, fixed_features):
            if candidate_set is None and sampling_strategy is None and not equality_constraints:
                screened = self._score_screened(n, ssd, space, inequality_constraints)
                if screened is not None:
                    return screened
            # Ax scores every untried configuration (no more than ``max_scored``): in passes bounded as the screened
            # ones are. Its own passes of 2,048 hold the most baseline points late in a sweep of a small space.
            given = dict(optimizer_options or {})
            bound = _score_chunk(_n_baseline(self.acqf))
            optimizer_options = {**given, "max_batch_size": min(bound, int(given.get("max_batch_size", bound)))}
        return super().optimize(
            n=n,
            search_space_digest=ssd,
            inequality_constraints=inequality_constraints,
            equality_constraints=equality_constraints,
            fixed_features=fixed_features,
            rounding_func=rounding_func,
            optimizer_options=optimizer_options,
            candidate_set=candidate_set,
            sampling_strategy=sampling_strategy,
        )

    def _enumerates(self, ssd: Any, fixed_features: dict[int, float] | None) -> bool:
        """Whether the option ``max_scored`` applies: Ax would score every configuration with a baseline.

        False without the option, for an acquisition function without a baseline and an objective (analytic EHVI:
        each candidate's own posterior, cheap) and where Ax would not score every configuration.
        """
        if self.options.get(MAX_SCORED_KEY) is None:
            return False
        if getattr(self.acqf, "X_baseline", None) is None or getattr(self.acqf, "objective", None) is None:
            return False
        from ax.generators.torch.botorch_modular.acquisition import determine_optimizer

        discrete = mk_discrete_choices(ssd=ssd, fixed_features=fixed_features)
        optimizer = determine_optimizer(search_space_digest=ssd, acqf=self.acqf, discrete_choices=discrete)
        return optimizer == "optimize_acqf_discrete"

    def _score_screened(
        self,
        n: int,
        ssd: Any,
        space: tuple[list[tuple[tuple[int, ...], bool]], list[list[float]]],
        inequality_constraints: list[tuple[Tensor, Tensor, float]] | None,
    ) -> tuple[Tensor, Tensor, Tensor] | None:
        """The best ``n`` of the screened untried configurations where :meth:`_enumerates`; ``None`` if fewer remain.

        ``None`` where no more than ``max_scored`` are untried: scoring them all costs no more time, so Ax scores
        them (in passes bounded as these are, :meth:`optimize`).

        Raises:
            SearchSpaceExhausted: No untried configuration meets the parameter constraints.
        """
        max_scored = self.options[MAX_SCORED_KEY]
        layout, choices = space
        avoid = _stack(self.X_observed, self.X_pending)
        total = math.prod(len(c) for c in choices)
        untried = untried_candidates(choices, None if avoid is None else _to_items(avoid, layout), total)
        if len(untried) <= int(max_scored):
            return None  # as cheap as Ax's own scoring of them: leave the proposal to Ax
        candidates = _from_items(untried.to(self.dtype or torch.double), layout, len(ssd.feature_names))
        return _best_of(
            self,
            n,
            candidates.to(self.device),
            int(max_scored),
            inequality_constraints,
            exhausted="No untried configuration of the fully discrete search space is feasible.",
            max_batch_size=_score_chunk(_n_baseline(self.acqf)),
            # The screen's draws from the number of configurations avoided: a seeded sweep stays reproducible.
            generator=torch.Generator().manual_seed(total - len(untried)),
        )


class NearestUntriedAcquisition(ScreenedAcquisition):
    """Ax's ``Acquisition`` whose rounded optima never repeat a tried or pending configuration where it can help it.

    Ax optimises the acquisition function over the continuous relaxation and rounds each restart's optimum (one-hot
    columns to their largest, discrete columns to the nearest value). Where that lands on a configuration already
    tried or pending, Ax regenerates up to five times and then falls back to a Sobol point. Here a rounded optimum
    that repeats one is replaced by the nearest untried configuration to the optimum before rounding
    (:func:`nearest_untried`); BoTorch then scores every restart's rounded point and keeps the best, as before. The
    search is Ax's own otherwise (same GP, acquisition function and optimiser): only the rounding changes, and only
    when it would repeat.

    In a space of discrete parameters and floats (an unordered choice beside intervals, say) a configuration repeats
    when its floats are equal too: the optimum of a batch's next point often sits on a bound, on the relaxed one-hot
    columns of the point just proposed, and rounds onto it exactly. Such a repeat keeps its floats and goes to the
    nearest configuration of the discrete parameters not yet taken with those floats (the next nearest category).
    A proposal that still repeats one (every category taken at its floats) is replaced by the best of random untried
    points (:meth:`_UntriedRounding.replace_repeats`). In a space of floats only it is Ax's ``Acquisition``.
    """

    def optimize(
        self,
        n: int,
        search_space_digest: Any,
        inequality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
        equality_constraints: list[tuple[Tensor, Tensor, float]] | None = None,
        fixed_features: dict[int, float] | None = None,
        rounding_func: Callable[[Tensor], Tensor] | None = None,
        optimizer_options: dict[str, Any] | None = None,
        candidate_set: Tensor | None = None,
        sampling_strategy: Any = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Ax's ``Acquisition.optimize`` with the rounding sent to the nearest untried configuration where it repeats.

        Returns:
            The candidates (``n x d``), their acquisition values and their arm weights.

        Raises:
            SearchSpaceExhausted: Every configuration was tried or is pending (a failed one is pending: the sweeper
                marks it ABANDONED), so none is left to propose (the sweep ends, its Ax ``OptimizationComplete``).
        """
        ssd = search_space_digest
        space = _discrete_space(ssd, fixed_features)
        if space is not None and candidate_set is None and sampling_strategy is None:
            rounding = _UntriedRounding(self, *space, rounding_func)
            if len(rounding._avoided()) >= math.prod(len(c) for c in space[1]):
                from ax.exceptions.core import SearchSpaceExhausted

                # Ax would regenerate five times and then reject Sobol draws up to its limit (a minute of CPU).
                raise SearchSpaceExhausted("Every configuration of the fully discrete search space was tried.")
            rounding_func = rounding
        mixed: _UntriedRounding | None = None
        if space is None and candidate_set is None and sampling_strategy is None and not equality_constraints:
            digest = _mixed_space(ssd, fixed_features)
            if digest is not None:
                layout, choices, continuous = digest
                mixed = _UntriedRounding(self, layout, choices, rounding_func, continuous=continuous)
                rounding_func = mixed
        X, values, weights = super().optimize(
            n=n,
            search_space_digest=ssd,
            inequality_constraints=inequality_constraints,
            equality_constraints=equality_constraints,
            fixed_features=fixed_features,
            rounding_func=rounding_func,
            optimizer_options=optimizer_options,
            candidate_set=candidate_set,
            sampling_strategy=sampling_strategy,
        )
        if mixed is not None:
            X, values = mixed.replace_repeats(X, values, ssd.bounds, fixed_features, inequality_constraints)
        return X, values, weights


class _UntriedRounding:
    """The rounding of :class:`NearestUntriedAcquisition`: Ax's, then the nearest untried configuration on a repeat.

    ``continuous`` names the parameters (positions in ``layout``) that are float columns: their ``choices`` are
    unused, a repeat keeps their values and only the other parameters move (the nearest configuration not taken with
    those values).
    """

    def __init__(
        self,
        acquisition: Acquisition,
        layout: Sequence[tuple[tuple[int, ...], bool]],
        choices: Sequence[Sequence[float]],
        rounding_func: Callable[[Tensor], Tensor] | None,
        *,
        continuous: Sequence[int] = (),
    ) -> None:
        self.acquisition = acquisition
        self.layout = layout
        self.choices = choices
        self.rounding_func = rounding_func
        self.continuous = tuple(continuous)
        self.index = [{float(v): i for i, v in enumerate(c)} for c in choices]

    def _tried(self) -> list[list[float]]:
        """The configurations tried or pending, one value per parameter.

        Read at each call: BoTorch's sequential greedy batch adds its own candidates as pending.
        """
        acqf = self.acquisition.acqf
        tried = _stack(
            self.acquisition.X_observed,
            self.acquisition.X_pending,
            getattr(acqf, "X_baseline", None),
            getattr(acqf, "X_pending", None),
        )
        if tried is None:
            return []
        return _to_items(tried.detach().reshape(-1, tried.shape[-1]), self.layout).tolist()

    def _avoided(self) -> set[int]:
        """The codes tried or pending (a fully discrete space)."""
        return {code for row in self._tried() if (code := _code(self.index, row)) is not None}

    def _around(self, row: Sequence[float]) -> tuple[list[Sequence[float]], list[dict[float, int]]]:
        """The choices and their lookups with each continuous parameter held at its value in ``row``."""
        choices, index = list(self.choices), list(self.index)
        for p in self.continuous:
            choices[p], index[p] = [row[p]], {float(row[p]): 0}
        return choices, index

    def replace_repeats(
        self,
        X: Tensor,
        values: Tensor,
        bounds: Sequence[tuple[float, float]],
        fixed_features: dict[int, float] | None,
        inequality_constraints: list[tuple[Tensor, Tensor, float]] | None,
    ) -> tuple[Tensor, Tensor]:
        """Replace each proposal (``n x d``) that still repeats a configuration by the best of random untried ones.

        In a space with floats, a repeat that no other category can take (all taken at its floats) stays a repeat
        after rounding, and so does every restart when they all converge on it (a corner of the box, say): the
        proposal would be answered from the first trial and spend one of the sweep's trials on nothing. Instead,
        :data:`_REPEAT_SAMPLES` points drawn uniformly in ``bounds`` (from a generator seeded with the number of
        configurations taken, so a seeded sweep stays reproducible) are rounded as the optimiser's are, and the one
        with the highest acquisition value among those that repeat nothing replaces it.

        Returns:
            The proposals and their acquisition values (those of replaced rows updated where ``values`` has one per
            row).
        """
        taken = {tuple(row) for row in self._tried()}
        items = _to_items(X.detach(), self.layout).tolist()
        out, scores = X.detach().clone(), values.detach().clone()
        for j, row in enumerate(items):
            if tuple(row) in taken:
                best = self._best_untried(X, taken, bounds, fixed_features, inequality_constraints)
                if best is not None:
                    out[j] = best[0]
                    if scores.ndim == 1 and len(scores) == len(out):
                        scores[j] = best[1]
                    row = _to_items(out[j].unsqueeze(0), self.layout)[0].tolist()
            taken.add(tuple(row))
        return out, scores

    def _best_untried(
        self,
        X: Tensor,
        taken: set[tuple[float, ...]],
        bounds: Sequence[tuple[float, float]],
        fixed_features: dict[int, float] | None,
        inequality_constraints: list[tuple[Tensor, Tensor, float]] | None,
    ) -> tuple[Tensor, float] | None:
        """The random point of highest acquisition value that repeats no configuration in ``taken`` (and its value)."""
        generator = torch.Generator().manual_seed(len(taken))
        lower, upper = (torch.tensor(b, dtype=X.dtype) for b in zip(*bounds, strict=True))
        raw = lower + (upper - lower) * torch.rand(_REPEAT_SAMPLES, X.shape[-1], dtype=X.dtype, generator=generator)
        for index, value in (fixed_features or {}).items():
            raw[:, index] = value
        candidates = self(raw.to(X).unsqueeze(-2)).squeeze(-2)
        if inequality_constraints:
            from botorch.optim.optimize import _filter_infeasible

            candidates = _filter_infeasible(X=candidates, inequality_constraints=inequality_constraints)
        keys = _to_items(candidates.detach(), self.layout).tolist()
        fresh = torch.tensor([tuple(key) not in taken for key in keys], dtype=torch.bool, device=candidates.device)
        candidates = candidates[fresh]
        if len(candidates) == 0:
            return None
        with torch.no_grad():
            scores = torch.cat([self.acquisition.acqf(c.unsqueeze(-2)) for c in candidates.split(_SCORE_BATCH)])
        best = int(scores.argmax())
        return candidates[best], float(scores[best])

    def __call__(self, X: Tensor) -> Tensor:
        """Round ``X`` (``batch x q x d`` or ``q x d``): each batch's ``q`` rows distinct and untried where possible."""
        rounded = self.rounding_func(X) if self.rounding_func is not None else X
        d = X.shape[-1]
        raw, out = X.detach().reshape(-1, X.shape[-2], d), rounded.detach().clone().reshape(-1, X.shape[-2], d)
        tried = {tuple(row) for row in self._tried()}
        for b in range(len(out)):
            taken = set(tried)
            items = _to_items(out[b], self.layout).tolist()
            for j, row in enumerate(items):
                key = tuple(row)
                choices, index = self._around(row)
                if _code(index, row) is None or key in taken:
                    avoided = {code for t in taken if (code := _code(index, t)) is not None}
                    nearest = nearest_untried(raw[b, j], self.layout, choices, avoided)
                    if nearest is None:  # every configuration taken: leave it to Ax's deduplication
                        continue
                    out[b, j] = nearest[0].to(out)
                    key = tuple(_to_items(out[b, j].unsqueeze(0), self.layout)[0].tolist())
                taken.add(key)
        return out.reshape(rounded.shape)


def _discrete_space(
    ssd: Any, fixed_features: dict[int, float] | None
) -> tuple[list[tuple[tuple[int, ...], bool]], list[list[float]]] | None:
    """The layout (:func:`_layout`) and each parameter's values (a one-hot one's positions) of a fully discrete space.

    ``None`` when a column is continuous.
    """
    discrete = mk_discrete_choices(ssd=ssd, fixed_features=fixed_features)
    layout = _layout(ssd.feature_names, discrete)
    if layout is None:
        return None
    return layout, _choices(layout, discrete)


def _mixed_space(
    ssd: Any, fixed_features: dict[int, float] | None
) -> tuple[list[tuple[tuple[int, ...], bool]], list[list[float]], list[int]] | None:
    """As :func:`_discrete_space` for a space of discrete and continuous columns, with the continuous parameters.

    Each continuous column is a parameter of its own, with no values; their positions in the layout come third.
    ``None`` when every column is continuous or none is.
    """
    discrete = mk_discrete_choices(ssd=ssd, fixed_features=fixed_features)
    layout = _layout(ssd.feature_names, discrete, continuous=True)
    if layout is None:
        return None
    floats = [p for p, (cols, hot) in enumerate(layout) if not hot and cols[0] not in discrete]
    if not floats or len(floats) == len(layout):
        return None
    return layout, _choices(layout, discrete), floats


def _choices(layout: Sequence[tuple[tuple[int, ...], bool]], discrete: Any) -> list[list[float]]:
    """Each parameter's values: a one-hot one's positions, a discrete column's values, none for a continuous one."""
    return [
        [float(v) for v in range(len(cols))] if hot else [float(v) for v in discrete.get(cols[0], ())]
        for cols, hot in layout
    ]


def _layout(
    feature_names: Sequence[str], discrete: Any, *, continuous: bool = False
) -> list[tuple[tuple[int, ...], bool]] | None:
    """Each original parameter's columns and whether they one-hot encode it; ``None`` if a column is continuous.

    A column is either a discrete feature (its index is in ``discrete``) or one of Ax's one-hot columns
    (``<name>_OH_PARAM_<i>``, whose values are 0 and 1 with exactly one 1 per parameter). With ``continuous``, any
    other column is a parameter of its own (not one-hot) instead of ``None``.
    """
    from ax.adapter.transforms.one_hot import OH_PARAM_INFIX

    if not feature_names:
        return None
    groups: dict[str, dict[int, int]] = {}
    items: list[tuple[int, ...] | str] = []
    for index, name in enumerate(feature_names):
        if index in discrete:
            items.append((index,))
            continue
        base, infix, position = name.rpartition(OH_PARAM_INFIX)
        if not infix or not position.isdigit():
            if not continuous:
                return None
            items.append((index,))
            continue
        if base not in groups:
            groups[base] = {}
            items.append(base)
        groups[base][int(position)] = index
    return [
        (item, False) if isinstance(item, tuple) else (tuple(groups[item][k] for k in sorted(groups[item])), True)
        for item in items
    ]


def _to_items(X: Tensor, layout: Sequence[tuple[tuple[int, ...], bool]]) -> Tensor:
    """Rows of model inputs as one value per parameter (the index of the hot column for a one-hot parameter)."""
    columns = [X[:, list(cols)].argmax(dim=-1).to(X.dtype) if hot else X[:, cols[0]] for cols, hot in layout]
    return torch.stack(columns, dim=-1)


def _from_items(items: Tensor, layout: Sequence[tuple[tuple[int, ...], bool]], d: int) -> Tensor:
    """The inverse of :func:`_to_items`: model inputs (``len(items) x d``)."""
    X = torch.zeros(len(items), d, dtype=items.dtype)
    for position, (cols, hot) in enumerate(layout):
        if hot:
            hot_cols = torch.tensor(cols)[items[:, position].long()]
            X[torch.arange(len(items)), hot_cols] = 1.0
        else:
            X[:, cols[0]] = items[:, position]
    return X


def screen(
    acqf: Any,
    candidates: Tensor,
    keep: int,
    n_samples: int = _SCREEN_SAMPLES,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The indices of the ``keep`` candidates with the highest expected improvement, computed cheaply.

    BoTorch's Monte-Carlo acquisition functions (q(Log)NEHVI, qLogNEI) score each candidate jointly with their
    baseline: an ``(n + 1) x (n + 1)`` posterior per candidate. The screen uses each candidate's marginal posterior
    instead (independent outputs, ``n_samples`` normal draws shared by all candidates) and the improvement over the
    baseline's posterior means: the hypervolume it adds to their front (several objectives, with the acquisition
    function's reference point and outcome constraints) or how far it exceeds their best (one objective), through
    the acquisition function's own objective. An acquisition function without a baseline and an objective keeps the
    first ``keep`` candidates (they are drawn in random order).

    Args:
        acqf: The BoTorch acquisition function (its ``model``, ``X_baseline``, ``objective`` and, when present,
            ``posterior_transform``, ``ref_point``, ``constraints`` and ``eta`` are used).
        candidates: An ``N x d`` tensor.
        keep: How many to keep.
        n_samples: Posterior samples per candidate.
        generator: The random generator of the samples (torch's global one when ``None``).

    Returns:
        A tensor of ``min(keep, N)`` indices into ``candidates``.
    """
    from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning
    from botorch.utils.multi_objective.pareto import is_non_dominated
    from botorch.utils.objective import compute_smoothed_feasibility_indicator

    n = len(candidates)
    baseline = getattr(acqf, "X_baseline", None)
    objective = getattr(acqf, "objective", None)
    if n <= keep or baseline is None or objective is None:
        return torch.arange(min(keep, n))
    model = acqf.model
    transform = getattr(acqf, "posterior_transform", None)
    ref_point = getattr(acqf, "ref_point", None)
    constraints = getattr(acqf, "constraints", None) or []
    with torch.no_grad():
        base_mean = model.posterior(baseline, posterior_transform=transform).mean  # nb x m
        base_obj = objective(base_mean.unsqueeze(0), X=baseline).squeeze(0)  # nb x m_obj, or nb
        feasible = torch.ones(len(base_mean), dtype=torch.bool, device=base_mean.device)
        for constraint in constraints:
            feasible &= constraint(base_mean) <= 0
        if ref_point is not None:
            front = base_obj[feasible]
            front = front[(front > ref_point).all(dim=-1)]
            front = front[is_non_dominated(front)] if len(front) else front
            lower, upper = FastNondominatedPartitioning(ref_point=ref_point, Y=front).get_hypercell_bounds()
        else:
            best = base_obj[feasible].max() if bool(feasible.any()) else base_obj.min()
        draws = torch.randn(n_samples, 1, base_mean.shape[-1], dtype=candidates.dtype, generator=generator)
        draws = draws.to(candidates.device)
        scores = []
        for chunk in candidates.split(_SCREEN_CHUNK):
            # Each candidate's marginal posterior: the mean and the diagonal of the chunk's joint posterior (lazy, so
            # the k x k covariance is never needed; equal to k t-batches of one point, at a fraction of the cost).
            posterior = model.posterior(chunk, posterior_transform=transform)
            mean, variance = posterior.mean, posterior.variance  # k x m
            samples = (mean + variance.clamp_min(1e-12).sqrt() * draws).unsqueeze(-2)  # s x k x 1 x m
            values = objective(samples, X=chunk.unsqueeze(-2))
            if ref_point is not None:  # s x k x 1 x m_obj: the hypervolume each sample adds to the front
                sides = (torch.minimum(values.squeeze(-2).unsqueeze(-2), upper) - lower).clamp_min(0)
                improvement = sides.prod(dim=-1).sum(dim=-1)  # s x k
            else:  # s x k x 1
                improvement = (values.squeeze(-1) - best).clamp_min(0)
            if constraints:
                eta = getattr(acqf, "eta", 1e-3)
                feasibility = compute_smoothed_feasibility_indicator(constraints, samples, eta)
                improvement = improvement * feasibility.squeeze(-1)
            scores.append(improvement.mean(dim=0))
        score = torch.cat(scores)
    return torch.topk(score, keep).indices


def _score_chunk(n_baseline: int) -> int:
    """Candidates per forward pass of an acquisition function scored jointly with ``n_baseline`` points.

    Example:
        >>> _score_chunk(10), _score_chunk(300)
        (1024, 46)
    """
    return max(1, min(_SCORE_BATCH, _SCORE_ELEMENTS // (n_baseline + 1) ** 2))


def _n_baseline(acqf: Any) -> int:
    """The points of an acquisition function's baseline (``X_baseline``, pruned by q(Log)NEHVI)."""
    return int(acqf.X_baseline.shape[-2])


def _stack(*tensors: Tensor | None) -> Tensor | None:
    present = [t for t in tensors if t is not None and len(t)]
    return torch.cat(present, dim=0) if present else None


register_acquisition(UntriedAcquisition)
register_acquisition(ScreenedAcquisition)
register_acquisition(NearestUntriedAcquisition)


def configure_discrete(
    generator_kwargs: dict[str, Any],
    *,
    categorical_kernel: bool = True,
    max_screened: int | None = None,
    max_scored: int | None = None,
) -> None:
    """Set a BoTorch node's generator kwargs for a fully discrete space (see the module docstring).

    Keeps the choices as categories (Ax's default transforms without ``OneHot``) and proposes with
    :class:`UntriedAcquisition`. The options are plain data and classes that Ax's JSON storage knows, so they are
    saved with the generation strategy.

    Args:
        generator_kwargs: The ``GeneratorSpec.generator_kwargs`` of a ``BOTORCH_MODULAR`` node, changed in place.
        categorical_kernel: Keep the choices as categories (``MixedSingleTaskGP``); ``False`` keeps Ax's one-hot
            encoding for the GP and proposes untried configurations all the same (one hot column per parameter).
        max_screened: Untried configurations screened per proposal (all of them up to this many); ``None`` for
            :data:`MAX_SCREENED`.
        max_scored: Screened configurations on which the acquisition function is evaluated; ``None`` for
            :data:`MAX_SCORED`.
    """
    from ax.adapter.registry import MBM_X_trans, Y_trans
    from ax.adapter.transforms.one_hot import OneHot

    if categorical_kernel:
        generator_kwargs["transforms"] = [t for t in [*MBM_X_trans, *Y_trans] if t is not OneHot]
    generator_kwargs["acquisition_class"] = UntriedAcquisition
    generator_kwargs["acquisition_options"] = {
        MAX_SCREENED_KEY: int(MAX_SCREENED if max_screened is None else max_screened),
        MAX_SCORED_KEY: int(MAX_SCORED if max_scored is None else max_scored),
    }


def configure_nearest_untried(generator_kwargs: dict[str, Any], *, max_scored: int | None = None) -> None:
    """Set a BoTorch node to round its proposals to untried configurations (:class:`NearestUntriedAcquisition`).

    Ax's one-hot relaxation, GP and acquisition optimiser are kept. The class and its options are saved with the
    generation strategy, so a resumed sweep keeps them.

    Args:
        generator_kwargs: The ``GeneratorSpec.generator_kwargs`` of a ``BOTORCH_MODULAR`` node, changed in place.
        max_scored: As for :func:`configure_screened`; ``None``: Ax scores every configuration where it would.
    """
    _set_acquisition(generator_kwargs, NearestUntriedAcquisition, max_scored, "configure_nearest_untried")


def configure_screened(generator_kwargs: dict[str, Any], max_scored: int) -> None:
    """Set a BoTorch node to score only screened configurations where Ax would score them all.

    See :class:`ScreenedAcquisition`. The class and its option are saved with the generation strategy.

    Args:
        generator_kwargs: The ``GeneratorSpec.generator_kwargs`` of a ``BOTORCH_MODULAR`` node, changed in place.
        max_scored: Configurations scored per proposal: the best untried ones by :func:`screen`.
    """
    _set_acquisition(generator_kwargs, ScreenedAcquisition, max_scored, "configure_screened")


def _set_acquisition(generator_kwargs: dict[str, Any], cls: type, max_scored: int | None, caller: str) -> None:
    if max_scored is not None and (isinstance(max_scored, bool) or not isinstance(max_scored, int) or max_scored < 1):
        raise ValueError(f"{caller}(max_scored={max_scored!r}): expected an int of at least 1.")
    generator_kwargs["acquisition_class"] = cls
    if max_scored is not None:
        # Beside Ax's own options (its strategy sets ``prune_irrelevant_parameters``).
        generator_kwargs["acquisition_options"] = {
            **(generator_kwargs.get("acquisition_options") or {}),
            MAX_SCORED_KEY: max_scored,
        }


def is_fully_discrete(parameters: Sequence[Any]) -> bool:
    """Whether every swept parameter is a choice (our :class:`~lightning_ecopt.sweeper.space.ChoiceParameter`)."""
    from lightning_ecopt.sweeper.space import ChoiceParameter

    return bool(parameters) and all(isinstance(p, ChoiceParameter) for p in parameters)
