"""Experiment: variants of our sweeper's generation strategy on the frontier-quality problems, side by side.

Issue 6, item 1 (what would close the small-budget gaps). Each variant runs the sweeper in process through
:meth:`~lightning_ecopt.sweeper.loop.ParetoSweep.from_function` with the problem's reference point, ``n_trials`` =
budget and the seed, exactly as the benchmark's ``ecopt`` method does through Hydra (same code, same proposals: seed 0
on BraninCurrin gives the same curve both ways), with one thing changed:

- ``base``: the defaults (Sobol count from ``default_n_initial_trials``, qNEHVI).
- ``init=<n>``: ``n_initial_trials=n``; ``init=d+1`` for ``max(5, d + 1)`` Sobol trials (Ax uses 5).
- ``acq=qLogNEHVI``: the log variant of the acquisition function. ``acq=qLogNParEGO``: BoTorch's qLogNParEGO
  (random Chebyshev scalarisations of the normalised objectives), which needs no reference point; not a setting of
  the sweeper, patched into the BoTorch node (measured for ``ref=none``, the like-for-like case against Optuna).
- ``y=power``: Ax's ``PowerTransformY`` (Yeo-Johnson) before the GP in place of ``StandardizeY`` (for skewed outcomes
  such as Branin's 0.4-300); not a setting of the sweeper, patched into the BoTorch node's transforms.
  ``y=bilog``: Ax's ``StandardizeY`` kept, then BoTorch's ``Bilog`` and ``Standardize`` inside the model, so the
  acquisition function still scores hypervolume on the original scale (unlike ``y=power``, whose transformed reference
  point reweights the front). ``y=log``: no ``StandardizeY``, the model's ``Log`` then ``Standardize`` on the raw
  values (positive outcomes only: an oracle warp for these test functions, not something a sweeper could default to).
- ``model=matern``: the GP's kernel is BoTorch's earlier default, a scaled Matern-5/2 with Gamma(3, 6) lengthscale and
  Gamma(2, 0.15) outputscale priors, in place of the dimension-scaled RBF prior Ax uses now; ``model=warp``: the
  default kernel after a learned Kumaraswamy input warping (BoTorch's ``Warp``, LogNormal(0, 0.75) concentration
  priors); ``model=matern+warp`` is not read as both: use ``model=matern-warp``. Not settings of the sweeper; patched
  into the BoTorch node's surrogate spec.
- ``acq=EHVI``: analytic EHVI (``front=mean``: on the posterior means' front instead of the observed one; the
  ``acq=EHVI`` rows written before 2026-12-02's ``loop._EHVI_FRONT`` are ``front=mean``).
- ``around=<sigma>``: the acquisition optimiser also scores as many raw samples drawn around the Pareto points of
  the posterior means (BoTorch's ``sample_around_best``, ``sigma`` in units of the normalised box; BoTorch's default
  is ``1e-3``), a local refinement of the front found so far (``loop._SAMPLE_AROUND_BEST``; ``around=off``).
- ``ref=none``: no reference point given: the sweeper infers one (frontier_quality.py's ``ecopt_noref``); the
  hypervolume is still scored against the problem's point. ``refupdate=widen``: the inferred point is inferred again
  before every batch and only ever widened (``loop._REFERENCE_UPDATE``; ``refupdate=once``, the default, infers it
  once after the Sobol trials). ``refrule=all``: inferred from every completed trial's worst values instead of the
  observed front's nadir (``loop._REFERENCE_RULE``; Optuna's GP sampler infers a loose box so; ``refrule=front``,
  BoTorch's rule, is the default).
- ``sem=<float>``: the task reports each value with this standard error (``(mean, sem)``, as a sweep's task may), so
  Ax fits the GP with that known noise instead of inferring it; ``sem=0`` says the objectives are deterministic, as
  these test functions are. A task-side setting, not a sweeper default.
- ``center=1`` / ``center=0``: the first trial is the centre of the search box, or a Sobol point
  (``lightning_ecopt.sweeper.loop._CENTER_FIRST``); the initial trials stay as many.
- ``exploit=<k>``: the last ``k`` trials of the budget (``exploit=10%``: a tenth of it, rounded, at least 1) proposed
  by pure exploitation: qLogNEHVI on the GP's posterior mean (BoTorch's ``PosteriorMeanModel``, one sample of a
  deterministic posterior), i.e. the smoothed hypervolume improvement of the predicted outcomes over the front of the
  predicted outcomes at the tried points. The score is the observed front's hypervolume at the budget, so the last
  proposals gain nothing from exploring; the smoothing keeps a gradient where the predicted point is dominated. The
  BoTorch node's acquisition class is swapped when ``n_trials - k`` trials have finished (its fitted adapter dropped
  so the next proposal builds it anew); the trials before are the default's. ``exploit=0``: never.

``base`` is the sweeper's current defaults, so when a lever becomes a default its ``=`` form above (``center=0``)
measures the old behaviour. ``empty=loosen`` (a loosened reference point while the given box is empty) was measured at
commit 77dade1 and removed: it never acted on DTLZ2 and lost on BraninCurrin (docs/bench-frontier.md).

Variants combine with ``+`` (``init=d+1+acq=qLogNEHVI`` is read as ``init=d+1`` and ``acq=qLogNEHVI``).

    python benchmarks/frontier_levers.py --variants base acq=qLogNEHVI --problems branin_currin --seeds 0 1 2
    python benchmarks/frontier_levers.py --smoke --out /tmp/levers.jsonl      # CI: branin_currin, budget 4, 1 seed

Appends one JSON line per run (variant, problem, seed, HV fraction at 20, 40 and the budget, wall time, the curve) to
``benchmarks/results/frontier_levers.jsonl`` (or ``--out``); the summary is in docs/bench-frontier.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

import problems
from benchmark_env import out_path, smoke_out

from lightning_ecopt.sweeper import loop
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import RangeParameter, SearchSpace

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "frontier_levers.jsonl"
PROBLEMS = ("branin_currin", "zdt1", "dtlz2", "vehicle_safety")  # the continuous ones


def parse_variant(variant: str) -> dict[str, str]:
    """``"init=d+1+acq=qLogNEHVI"`` -> ``{"init": "d+1", "acq": "qLogNEHVI"}``; ``"base"`` -> ``{}``."""
    out: dict[str, str] = {}
    key = None
    for part in variant.split("+"):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key] = value
        elif key is not None:
            out[key] += "+" + part
        elif part != "base":
            raise ValueError(f"variant {variant!r}: expected base or key=value[+key=value], e.g. acq=qLogNEHVI")
    return out


def _patch_botorch_node(edit: Callable[[dict[str, Any]], None] | None = None, **generator_kwargs: Any) -> Any:
    """Patch ``ParetoSweep._generation_strategy`` to set these kwargs on its BoTorch node; returns the original.

    ``edit``, if given, then changes the node's kwargs in place.
    """
    original = ParetoSweep._generation_strategy

    def patched(self: ParetoSweep) -> Any:
        strategy = original(self)
        for node in strategy.nodes_by_name.values():
            for spec in node.generator_specs:
                if spec.generator_enum.name == "BOTORCH_MODULAR":
                    spec.generator_kwargs.update(generator_kwargs)
                    if edit is not None:
                        edit(spec.generator_kwargs)
        return strategy

    ParetoSweep._generation_strategy = patched  # type: ignore[method-assign]
    return original


def _patch_parego() -> Any:
    """Patch ``ParetoSweep._generation_strategy`` to propose with qLogNParEGO; returns the original.

    Its input constructor takes neither ``mc_samples`` nor a baseline pruning flag: those defaults are dropped.
    """
    from botorch.acquisition.multi_objective.parego import qLogNParEGO

    def drop_qnehvi_options(kwargs: dict[str, Any]) -> None:
        acqf_kwargs = kwargs.get("default_model_gen_options", {}).get("acquisition_function_kwargs", {})
        for key in ("mc_samples", "prune_baseline"):
            acqf_kwargs.pop(key, None)

    return _patch_botorch_node(drop_qnehvi_options, botorch_acqf_class=qLogNParEGO)


def _patch_transforms(kind: str) -> Any:
    """Patch ``ParetoSweep._generation_strategy`` to use another outcome transform; returns the original."""
    from ax.adapter.registry import MBM_X_trans
    from ax.adapter.transforms.bilog_y import BilogY
    from ax.adapter.transforms.derelativize import Derelativize
    from ax.adapter.transforms.power_transform_y import PowerTransformY
    from ax.adapter.transforms.winsorize import Winsorize

    if kind == "power":
        return _patch_botorch_node(transforms=[*MBM_X_trans, Derelativize, Winsorize, BilogY, PowerTransformY])
    if kind not in ("bilog", "log"):
        raise ValueError(f"y={kind!r}: y=power, y=bilog or y=log")
    from ax.adapter.transforms.standardize_y import StandardizeY
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.generators.torch.botorch_modular.utils import ModelConfig
    from botorch.models.transforms.outcome import Bilog, Log, Standardize

    if kind == "bilog":
        # Ax standardises, then the model compresses the tails of the standardised values.
        spec = SurrogateSpec(model_configs=[ModelConfig(outcome_transform_classes=[Bilog, Standardize])])
        return _patch_botorch_node(surrogate_spec=spec)
    # log: the raw values' logarithm in the model (positive outcomes only: an oracle for the test functions).
    spec = SurrogateSpec(model_configs=[ModelConfig(outcome_transform_classes=[Log, Standardize])])
    transforms = [*MBM_X_trans, Derelativize, Winsorize, BilogY]
    assert StandardizeY not in transforms
    return _patch_botorch_node(surrogate_spec=spec, transforms=transforms)


def _surrogate_spec(kind: str) -> Any:
    """The surrogate spec of ``model=<kind>``: ``matern``, ``warp`` or ``matern-warp`` (see the module docstring)."""
    from ax.generators.torch.botorch_modular.kernels import ScaleMaternKernel
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.generators.torch.botorch_modular.utils import ModelConfig
    from botorch.models.transforms.input import Warp
    from gpytorch.priors import GammaPrior, LogNormalPrior

    parts = set(kind.split("-"))
    if not parts or not parts <= {"matern", "warp"}:
        raise ValueError(f"model={kind!r}: model=matern, model=warp or model=matern-warp")
    config: dict[str, Any] = {}
    if "matern" in parts:
        config["covar_module_class"] = ScaleMaternKernel
        config["covar_module_options"] = {
            "lengthscale_prior": GammaPrior(3.0, 6.0),
            "outputscale_prior": GammaPrior(2.0, 0.15),
        }
    if "warp" in parts:
        prior = {
            "concentration1_prior": LogNormalPrior(0.0, 0.75**0.5),
            "concentration0_prior": LogNormalPrior(0.0, 0.75**0.5),
        }
        config["input_transform_classes"] = [Warp]
        config["input_transform_options"] = {"Warp": prior}
    return SurrogateSpec(model_configs=[ModelConfig(**config)])


def _patch_surrogate(kind: str) -> Any:
    """Patch ``ParetoSweep._generation_strategy`` to use the surrogate of ``model=<kind>``; returns the original."""
    return _patch_botorch_node(surrogate_spec=_surrogate_spec(kind))


@functools.cache
def posterior_mean_hvi() -> type:
    """The acquisition class of ``exploit=``: qLogNEHVI on the posterior mean, built with qLogNEHVI's constructor.

    Registered with BoTorch's input constructor of qLogNEHVI (the same arguments); the model is wrapped in a
    :class:`~botorch.models.deterministic.PosteriorMeanModel`, whose posterior is deterministic, so one sample (an
    ``IndexSampler``) is exact and QMC samples would be wasted; Cholesky caching is for GP posteriors, so off.
    """
    import torch
    from ax.storage.botorch_modular_registry import register_acquisition_function
    from botorch.acquisition.input_constructors import acqf_input_constructor, construct_inputs_qLogNEHVI
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.models.deterministic import PosteriorMeanModel
    from botorch.sampling.index_sampler import IndexSampler

    class PosteriorMeanHVI(qLogNoisyExpectedHypervolumeImprovement):
        """Smoothed hypervolume improvement of the posterior mean over the posterior means' front at the baseline."""

        def __init__(self, model: Any, ref_point: Any, X_baseline: Any, **kwargs: Any) -> None:
            kwargs.update(sampler=IndexSampler(torch.Size([1])), cache_root=False)
            super().__init__(model=PosteriorMeanModel(model), ref_point=ref_point, X_baseline=X_baseline, **kwargs)

    acqf_input_constructor(PosteriorMeanHVI)(construct_inputs_qLogNEHVI)
    register_acquisition_function(PosteriorMeanHVI)  # Ax saves the strategy with the experiment
    return PosteriorMeanHVI


def exploit_trials(value: str | None, budget: int) -> int:
    """How many trials at the end ``exploit=<value>`` proposes by exploitation: ``k``, or ``p%`` of the budget.

    >>> exploit_trials("10%", 40), exploit_trials("10%", 20), exploit_trials("2", 40), exploit_trials(None, 40)
    (4, 2, 2, 0)
    """
    if value is None:
        return 0
    try:
        k = max(1, round(budget * float(value[:-1]) / 100)) if value.endswith("%") else int(value)
    except ValueError:
        k = -1
    if not 0 <= k <= budget:
        raise ValueError(
            f"exploit={value!r}: give the trials at the end as a count 0..budget or a percentage, e.g. 10%"
        )
    return k


def _exploit_from_now(client: Any) -> None:
    """Swap the BoTorch node's acquisition class for :func:`posterior_mean_hvi` and drop its fitted adapter."""
    from lightning_ecopt.sweeper.fused_kernel import prepare_log_hypervolume_kernel

    prepare_log_hypervolume_kernel()  # its log-hypervolume kernel, as a qLogNEHVI sweep builds it (untimed)
    for node in client._maybe_generation_strategy.nodes_by_name.values():
        for spec in node.generator_specs:
            if spec.generator_enum.name == "BOTORCH_MODULAR":
                spec.generator_kwargs["botorch_acqf_class"] = posterior_mean_hvi()
    loop._drop_fitted_adapters(client)  # the adapter keeps the acquisition class it was built with


@contextlib.contextmanager
def exploiting_last(last: int, asks: list[dict[str, Any]] | None = None) -> Iterator[None]:
    """Patch ``ParetoSweep._ask``: the ``last`` trials of the budget by exploitation (``exploit=``), each ask timed.

    Each ask is recorded into ``asks`` (if given) as ``{"done": trials finished, "n": proposals, "wall_s": the
    sweep's own suggestion timer, "exploit": 0 or 1}``, the format of optimizer_overhead.py's asks.
    """
    original = ParetoSweep._ask

    def ask(self: ParetoSweep, client: Any, k: int) -> dict[int, dict[str, Any]]:
        done = self._n_finished()
        model_phase = self._n_completed() >= self._n_initial
        if last and model_phase and self.settings.n_trials - done <= last and not getattr(self, "_exploiting", False):
            _exploit_from_now(client)
            self._exploiting = True  # type: ignore[attr-defined]
        before = self._suggest_time_s
        proposals = original(self, client, k)
        if asks is not None:
            exploiting = float(getattr(self, "_exploiting", False))
            asks.append(
                {"done": done, "n": len(proposals), "wall_s": self._suggest_time_s - before, "exploit": exploiting}
            )
        return proposals

    ParetoSweep._ask = ask  # type: ignore[method-assign]
    try:
        yield
    finally:
        ParetoSweep._ask = original  # type: ignore[method-assign]


LoopFlags = dict[str, tuple[str, Callable[[str], Any]]]
"""Variant key -> (module-level flag of ``lightning_ecopt.sweeper.loop``, parser of the variant's value)."""


def choice(settings: dict[str, Any]) -> Callable[[str], Any]:
    """A flag parser that accepts only the values in ``settings`` (value -> setting)."""

    def parse(value: str) -> Any:
        if value not in settings:
            raise ValueError(f"{value!r}: choose from {', '.join(settings)}")
        return settings[value]

    return parse


LOOP_FLAGS: LoopFlags = {
    "center": ("_CENTER_FIRST", choice({"1": True, "0": False})),
    "front": ("_EHVI_FRONT", choice({"observed": "observed", "mean": "posterior_mean"})),
    "around": ("_SAMPLE_AROUND_BEST", lambda value: None if value == "off" else float(value)),
    "refupdate": ("_REFERENCE_UPDATE", choice({"once": "once", "widen": "widen"})),
    "refrule": ("_REFERENCE_RULE", choice({"front": "front", "all": "all"})),
}
"""The loop flags this script's variants switch (``center=1``, ``front=mean``, ``around=1e-3``); nas_fit_levers.py
adds its own."""

KEYS = ("init", "acq", "y", "model", "ref", "sem", "exploit", *LOOP_FLAGS)
"""Every key a variant of this script may set (the module docstring says what each does)."""


def check_variants(variants: Iterable[str], keys: Iterable[str]) -> str | None:
    """What is wrong with the first bad variant (not ``base`` or ``key=value``, or a key not in ``keys``), else None.

    Checked before the first run: a mistyped key would otherwise run the defaults under the variant's name, and a bad
    variant after the first would stop the command only after hours of runs.

    >>> check_variants(["base", "init=d+1+acq=qLogNEHVI"], KEYS) is None
    True
    >>> check_variants(["acqq=qLogNEHVI"], ["acq"])
    "variant 'acqq=qLogNEHVI': unknown key(s) ['acqq']; choose from acq"
    """
    known = sorted(keys)
    for variant in variants:
        try:
            config = parse_variant(variant)
        except ValueError as error:
            return str(error)
        unknown = sorted(set(config) - set(known))
        if unknown:
            return f"variant {variant!r}: unknown key(s) {unknown}; choose from {', '.join(known)}"
    return None


@contextlib.contextmanager
def loop_flags(config: dict[str, str], flags: LoopFlags = LOOP_FLAGS) -> Iterator[None]:
    """Set the loop's flags named by the variant (``center=1``), then restore them all, whatever happens.

    Raises:
        ValueError: A value the flag's parser refuses, named as ``key='value'``; nothing is left changed.
    """
    before = {flag: getattr(loop, flag) for flag, _ in flags.values()}
    try:
        for key, (flag, parse) in flags.items():
            if key in config:
                try:
                    setting = parse(config[key])
                except ValueError as error:
                    raise ValueError(f"{key}={error}") from None
                setattr(loop, flag, setting)
        yield
    finally:
        for flag, value in before.items():
            setattr(loop, flag, value)


def reference_point(config: dict[str, str], problem: problems.Problem) -> dict[str, float] | None:
    """The sweep's ``reference_point`` for the variant: the problem's, or none with ``ref=none``.

    ``ref=none`` is frontier_quality's ``ecopt_noref``; the hypervolume is still scored against the problem's point.

    Raises:
        ValueError: ``ref`` is neither ``given`` nor ``none``.
    """
    ref = config.get("ref", "given")
    if ref not in ("given", "none"):
        raise ValueError(f"ref={ref!r}: ref=none (the sweeper infers its reference point) or ref=given")
    return None if ref == "none" else dict(problem.reference_point)


def with_sem(evaluate: Callable[..., dict[str, float]], sem: str | None) -> Callable[..., dict[str, Any]]:
    """``sem=<float>``: each value ``evaluate`` returns reported as ``(value, sem)``; ``evaluate`` itself without."""
    if sem is None:
        return evaluate
    try:
        known = float(sem)
    except ValueError:
        known = -1.0
    if not 0 <= known < float("inf"):
        raise ValueError(f"sem={sem!r}: give the standard error as a finite number >= 0, e.g. sem=0")
    return lambda params: {metric: (value, known) for metric, value in evaluate(params).items()}


def run(variant: str, problem: problems.Problem, seed: int, budget: int) -> dict[str, Any]:
    config = parse_variant(variant)
    ref = reference_point(config, problem)
    d = len(problem.params)
    init = config.get("init")
    n_initial = None if init is None else min(budget, max(5, d + 1)) if init == "d+1" else int(init)
    space = SearchSpace(
        tuple(RangeParameter(p.name, p.bounds[0], p.bounds[1], "float") for p in problem.params if p.bounds)
    )
    settings = SweepSettings(
        parse_objectives(dict(problem.objectives), None),
        n_trials=budget,
        n_initial_trials=n_initial,
        acquisition="qNEHVI" if config.get("acq") == "qLogNParEGO" else config.get("acq", "qNEHVI"),  # type: ignore[arg-type]
        seed=seed,
        reference_point=ref,
    )
    k = exploit_trials(config.get("exploit"), budget)
    asks: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with loop_flags(config), exploiting_last(k, asks):
        evaluate = with_sem(problem.evaluate, config.get("sem"))
        sweep = ParetoSweep(space, settings, lambda batch: [evaluate(p) for p in batch], on_batch_end=[])
        result = sweep.run()
    wall_s = time.perf_counter() - t0
    curve = problem.hypervolume_curve(
        [
            {m: trial.metrics[m] for m in problem.objectives} if trial.status == "completed" else None
            for trial in sorted(result.trials, key=lambda t: t.trial_index)
        ]
    )
    at = {f"hv{b}": curve[b - 1] for b in (20, 40) if len(curve) >= b}
    row = {"variant": variant, "problem": problem.name, "seed": seed, "budget": budget, **at, "hv_final": curve[-1]}
    return {**row, "wall_s": round(wall_s, 1), "asks": asks, "curve": curve}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=["base"])
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, default=list(PROBLEMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--smoke", action="store_true", help="CI: branin_currin, budget 4, seed 0")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON lines appended to (default benchmarks/results/{DEFAULT_OUT.name}; with --smoke "
        f"{smoke_out(DEFAULT_OUT.name)})",
    )
    args = parser.parse_args(argv)
    args.out = out_path(args, DEFAULT_OUT)
    problem = check_variants(args.variants, KEYS)
    if problem is not None:
        parser.error(problem)
    if args.smoke:
        args.problems, args.budget, args.seeds = ["branin_currin"], 4, [0]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    rows = []
    for variant in args.variants:
        config = parse_variant(variant)
        original = _patch_transforms(config["y"]) if "y" in config else None
        if "model" in config:
            patched = _patch_surrogate(config["model"])
            original = original or patched
        if config.get("acq") == "qLogNParEGO":
            patched = _patch_parego()
            original = original or patched
        try:
            for name in args.problems:
                for seed in args.seeds:
                    row = run(variant, problems.get(name), seed, args.budget)
                    rows.append(row)
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    with args.out.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(json.dumps({k: v for k, v in row.items() if k not in ("curve", "asks")}), flush=True)
        finally:
            if original is not None:
                ParetoSweep._generation_strategy = original  # type: ignore[method-assign]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["variant"], row["problem"]), []).append(row)
    for (variant, name), group in groups.items():
        medians = [
            f"@{b} {statistics.median(r[f'hv{b}'] for r in group):.3f}" for b in (20, 40) if f"hv{b}" in group[0]
        ]
        print(f"{variant:<28} {name:<15} median of {len(group)}: {', '.join(medians) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
