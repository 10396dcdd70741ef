"""Experiment: cheaper GP fits for the sweeper on NAS-Bench-201, side by side with the default (issue 6).

The sweeper's default on NAS-Bench-201 (6 categorical parameters x 5 operations, one-hot: 30 GP inputs) spends most
of each suggestion fitting the GP (an RBF kernel with one length scale per one-hot input, both objectives batched).
Each variant runs the sweeper in process through :class:`~lightning_ecopt.sweeper.loop.ParetoSweep` with the
problem's reference point, ``n_trials`` = budget and the seed, exactly as ``benchmarks/optimizer_overhead.py`` does
(the ask timed by the sweep's own timer, plus the process's CPU time), with one thing changed:

- ``base``: the defaults. Since 2026-12-02 they include the capped fit (``maxiter=50``); the ``base`` rows written
  before that date (``benchmarks/results/nas_fit_levers.jsonl``) are Ax's uncapped fit, now ``maxiter=none``. Later on
  2026-12-02 (the rows with a ``note`` saying so) the defaults became ``warm=on+maxiter=20+acqmaxiter=30+prune=off``:
  the earlier defaults are ``warm=off+maxiter=50+acqmaxiter=none+prune=on``.
- ``kernel=iso``: Ax's ``DefaultRBFKernel`` with ``ard_num_dims=None``: one length scale shared by the 30 one-hot
  inputs (per objective), with Ax's prior for an isotropic kernel (``LogNormal(sqrt 2, sqrt 3)``); set through the
  BoTorch node's ``surrogate_spec`` (``ModelConfig(covar_module_class=..., covar_module_options=...)``).
- ``kernel=iso30``: one shared length scale with BoTorch's dimension-scaled prior for 30 inputs
  (``LogNormal(sqrt 2 + log(30) / 2, sqrt 3)``, the default ARD kernel's), so it starts where the default's 30 do
  (gpytorch's ``RBFKernel`` with the prior, a batch of 2 objectives: Ax's isotropic argparse fixes the prior).
- ``kernel=group``: the default's RBF kernel and prior, with the 5 one-hot columns of each operation sharing one
  length scale (6 per objective instead of 30: an exponentiated Hamming kernel weighted per operation), the capped
  fit kept (``GroupedRBFKernel``, set on the node's model configs).
- ``maxiter=<n>``: the default kernel, with L-BFGS-B capped at ``n`` iterations per fit attempt (``none``: Ax's fit,
  to convergence). Since 2026-12-02 this sets the sweeper's own setting, ``loop._FIT_MAXITER``
  (:mod:`lightning_ecopt.sweeper.capped_fit`); the rows written before patched the ``fit_gpytorch_mll`` that Ax's
  ``fit_botorch_model`` calls, to the same effect. The ``kernel`` variants replace the node's surrogate and so fit
  Ax's way (uncapped).
- ``warm=on``: each capped fit starts from the hyperparameters the previous proposal's fit ended with
  (``loop._FIT_WARM_START``, :class:`~lightning_ecopt.sweeper.capped_fit.WarmStarts`) instead of the model's initial
  values; ``warm=off`` starts cold.

Acquisition levers (2026-12-02; the GP as in ``base``: one-hot, capped fit), set on the BoTorch node's saved options:

- ``propose=untried``: the acquisition function evaluated on untried architectures, encoded in the one-hot space,
  with BoTorch's ``optimize_acqf_discrete`` instead of L-BFGS-B on the continuous relaxation
  (:func:`~lightning_ecopt.sweeper.discrete.configure_discrete` with ``categorical_kernel=False``:
  :class:`~lightning_ecopt.sweeper.discrete.UntriedAcquisition`). ``screened=<n>`` untried architectures are screened
  (all of them up to ``n``, else ``n`` at random; default ``discrete.MAX_SCREENED``, i.e. all 15,625) and the
  acquisition function is evaluated on the best ``scored=<n>`` (default ``discrete.MAX_SCORED``).
- ``restarts=<n>``, ``raw=<n>``: the acquisition optimiser's restarts and raw samples (default
  ``loop._ACQF_OPTIMIZER_KWARGS``); ``acqmaxiter=<n>``: its L-BFGS-B capped at ``n`` iterations (``none``: BoTorch's
  ``gen_candidates_scipy`` default, 2,000, the sweeper's until 2026-12-02; since then ``loop._ONE_HOT_ACQF_MAXITER``,
  30, in one-hot spaces).
- ``initbatch=<n>``: the raw samples scored ``n`` at a time when the restarts are chosen (BoTorch's
  ``init_batch_limit``; Ax: 32).
- ``prune=off``: q(Log)NEHVI without pruning its baseline (``prune_baseline=False`` for BoTorch's input constructor;
  the pruning, ``prune_inferior_points_multi_objective``, took 0.12 s of a suggestion); the sweeper's default in
  one-hot spaces since 2026-12-02 (``loop._ONE_HOT_PRUNE_BASELINE``); ``prune=on`` prunes (BoTorch's default).

- ``round=untried``: the relaxation and its optimiser kept, each restart's rounded optimum that repeats a tried or
  pending architecture replaced by the nearest untried one to the optimum before rounding
  (:class:`~lightning_ecopt.sweeper.discrete.NearestUntriedAcquisition`), instead of Ax regenerating up to five times
  and then falling back to Sobol. The sweeper's default since 2026-12-02 (``loop._ROUND_UNTRIED``): ``base`` rows
  written before that date are ``round=ax``, which switches it off.

- ``acq=qLogNEHVI``, ``acq=EHVI``: the sweep's ``acquisition`` setting (default qNEHVI; plain Ax uses qLogNEHVI;
  EHVI is analytic, :mod:`lightning_ecopt.sweeper.analytic`).
- ``front=mean``: with ``acq=EHVI``, the front is that of the posterior means at the observed points (BoTorch's)
  instead of the observed values (``front=observed``, ``loop._EHVI_FRONT``'s default since 2026-12-02; the rows
  written before that, ``acq=EHVI`` alone, are ``front=mean``).
- ``around=<sigma>``: as many raw samples as the uniform ones also drawn around the Pareto points of the posterior
  means (BoTorch's ``sample_around_best``; with 30 one-hot inputs half of them perturb only a random subset of the
  inputs, all by ``sigma``: BoTorch passes ``sigma``, not its ``subset_sigma``, to that sampler), so some restarts
  start at the Pareto architectures' relaxed encodings (``loop._SAMPLE_AROUND_BEST``).
- ``screen=ehvi``: qNEHVI optimised from restarts chosen by analytic EHVI's values of the raw samples (scoring them
  costs a quarter of qNEHVI's); patches BoTorch's initial-conditions generator for the run.
- ``mc=<n>``: ``n`` quasi-Monte-Carlo samples in q(Log)NEHVI (``loop._ACQF_MC_SAMPLES``, default 64).
- ``sobol=<n>``: ``n`` Sobol trials before the model (the default rule gives 12 at 60 evaluations; plain Ax starts
  with 5, the centre point and 4 Sobol).
- ``center=1``: the first initial trial is the search space's centre, as plain Ax's (``loop._CENTER_FIRST``); the
  initial trials stay as many.

- ``noise=seed``: each evaluation returns one training run of the architecture (one of the table's 2-3 seeds, drawn
  at random) instead of the seed means; the hypervolume is still scored on the seed means of what was evaluated.
- ``noise=<sd>``: each evaluation returns the seed means with Gaussian noise of ``sd`` accuracy points added to the
  validation accuracy (the table's training seeds differ by a median 0.16 points; short training runs differ more);
  ``latnoise=<sd>`` multiplies the latency by ``exp(N(0, sd))`` (``0.05``: about 5 %; the table's latency has no
  noise, a measured one does). Scored on the seed means, as ``noise=seed``.
- ``sem=<float>``: each value reported with that standard error (``(mean, sem)``), so Ax fits the GP with known
  noise; ``sem=0`` says the table is deterministic (it is: the seed means). As in ``frontier_levers.py``.

- ``exploit=<k>``: the last ``k`` trials (``exploit=10%``: a tenth of the budget) proposed by pure exploitation, the
  smoothed hypervolume improvement of the GP's posterior mean (frontier_levers.py's lever; ``exploit=0``: never).

- ``ref=none``: no reference point given, so the sweeper infers one from the observed front (as
  ``frontier_quality.py``'s ``ecopt_noref``; the hypervolume is still scored against the problem's point).
  ``refupdate=widen``: that point is inferred again before every batch and only ever widened
  (``loop._REFERENCE_UPDATE``; frontier_levers.py's flag).

Variants combine with ``+`` (``kernel=iso30+maxiter=50``, ``restarts=4+raw=128+acqmaxiter=30``,
``ref=none+maxiter=none``, ``round=untried+sobol=6``, ``center=1+sobol=5``).

    python benchmarks/nas_fit_levers.py --variants base kernel=iso --seeds 0 1
    python benchmarks/nas_fit_levers.py --smoke --out /tmp/nas_fit.jsonl      # CI: budget 14, seed 0

Appends one JSON line per run (variant, seed, hypervolume fraction at 20, 40 and 60 evaluations, median wall and CPU
seconds per suggestion over the asks made with 45-54 trials done, and the CPU seconds of its GP fits (Ax's
``fit_botorch_model``; rows written before this was added lack it), of scoring the raw samples to choose the
acquisition optimiser's restarts and of its L-BFGS-B (``init_cpu_s_...``, ``lbfgs_cpu_s_...``; rows before
2026-12-02's ``screen`` lever lack them), the trials Ax generated with its Sobol fallback after duplicate proposals
(``fallback_sobol``; rows before 2026-12-02 lack it), the asks, the curve) to
``benchmarks/results/nas_fit_levers.jsonl`` (or ``--out``); the summary is in docs/bench-optimizer.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

import problems
from benchmark_env import out_path, smoke_out
from frontier_levers import (
    LOOP_FLAGS,
    LoopFlags,
    check_variants,
    choice,
    exploit_trials,
    exploiting_last,
    loop_flags,
    parse_variant,
    reference_point,
    with_sem,
)
from optimizer_overhead import _TimedSweep, per_suggestion

from lightning_ecopt.sweeper.loop import ParetoSweep, evaluate_each
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "nas_fit_levers.jsonl"
PROBLEM = "nb201_cifar10"
AT, WINDOW = 50, 10


def _surrogate_spec(kernel: str) -> Any:
    """The BoTorch node's ``surrogate_spec`` for ``kernel=<kernel>``."""
    import torch
    from ax.generators.torch.botorch_modular.kernels import DefaultRBFKernel
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.generators.torch.botorch_modular.utils import ModelConfig
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import RBFKernel
    from gpytorch.priors.torch_priors import LogNormalPrior

    if kernel == "iso":
        config = ModelConfig(covar_module_class=DefaultRBFKernel, covar_module_options={"ard_num_dims": None})
    elif kernel == "iso30":
        # Ax's isotropic argparse fixes the prior, so gpytorch's RBFKernel (the base argparse passes the options as
        # they are): one length scale per objective (batch of 2), prior and initial value as DefaultRBFKernel's for 30.
        prior = LogNormalPrior(loc=math.sqrt(2) + math.log(30) / 2, scale=math.sqrt(3))
        options = {
            "ard_num_dims": None,
            "batch_shape": torch.Size([2]),
            "lengthscale_prior": prior,
            "lengthscale_constraint": GreaterThan(2.5e-2, transform=None, initial_value=prior.mode.item()),
        }
        config = ModelConfig(covar_module_class=RBFKernel, covar_module_options=options)
    else:
        raise ValueError(f"kernel={kernel!r}: choose from iso, iso30, group")
    return SurrogateSpec(model_configs=[config])


N_OPS, N_VALUES = 6, 5
"""NAS-Bench-201's space: 6 choice parameters of 5 operations each, one-hot encoded by Ax into 30 inputs in order."""


@functools.cache
def _grouped_rbf_kernel() -> Any:
    """An RBF kernel with one length scale per choice parameter, shared by its one-hot columns (``kernel=group``)."""
    import torch
    from gpytorch.kernels import RBFKernel
    from gpytorch.kernels.rbf_kernel import postprocess_rbf

    class GroupedRBFKernel(RBFKernel):
        """RBF on one-hot inputs with tied length scales: column ``i`` uses length scale ``group_index[i]``."""

        def __init__(self, group_index: Sequence[int], **kwargs: Any) -> None:
            super().__init__(ard_num_dims=max(group_index) + 1, **kwargs)
            self.register_buffer("group_index", torch.tensor(list(group_index), dtype=torch.long))
            self.ard_num_dims = len(group_index)  # gpytorch checks the inputs' width against it

        def forward(self, x1: Any, x2: Any, diag: bool = False, **params: Any) -> Any:
            lengthscale = self.lengthscale.index_select(-1, self.group_index)
            x1_, x2_ = x1.div(lengthscale), x2.div(lengthscale)
            return postprocess_rbf(self.covar_dist(x1_, x2_, square_dist=True, diag=diag, **params))

    return GroupedRBFKernel


def _tie_length_scales(generator_kwargs: dict[str, Any]) -> None:
    """``kernel=group``: the node's (capped-fit) model configs with :func:`_grouped_rbf_kernel`, the default's prior."""
    import dataclasses

    import torch
    from gpytorch.constraints import GreaterThan
    from gpytorch.priors.torch_priors import LogNormalPrior

    n_inputs = N_OPS * N_VALUES
    prior = LogNormalPrior(loc=math.sqrt(2) + math.log(n_inputs) / 2, scale=math.sqrt(3))  # the default's, for 30
    options = {
        "group_index": [i // N_VALUES for i in range(n_inputs)],
        "batch_shape": torch.Size([2]),
        "lengthscale_prior": prior,
        "lengthscale_constraint": GreaterThan(2.5e-2, transform=None, initial_value=prior.mode.item()),
    }
    spec = generator_kwargs["surrogate_spec"]
    configs = [
        dataclasses.replace(config, covar_module_class=_grouped_rbf_kernel(), covar_module_options=options)
        for config in spec.model_configs
    ]
    generator_kwargs["surrogate_spec"] = dataclasses.replace(spec, model_configs=configs)


_NODE_KEYS = ("kernel", "propose", "screened", "scored", "restarts", "raw", "acqmaxiter", "prune", "initbatch")
"""Variant keys that change the BoTorch node's generator kwargs."""


def _configure_node(generator_kwargs: dict[str, Any], config: dict[str, str]) -> None:
    """Change a BoTorch node's generator kwargs (after the sweeper's own settings) as the variant says."""
    from lightning_ecopt.sweeper.discrete import configure_discrete

    if config.get("kernel") == "group":
        _tie_length_scales(generator_kwargs)
    elif "kernel" in config:
        generator_kwargs["surrogate_spec"] = _surrogate_spec(config["kernel"])
    optimizer_kwargs = generator_kwargs["default_model_gen_options"]["optimizer_kwargs"]
    if "restarts" in config:
        optimizer_kwargs["num_restarts"] = int(config["restarts"])
    if "raw" in config:
        optimizer_kwargs["raw_samples"] = int(config["raw"])
    if config.get("acqmaxiter") == "none":
        optimizer_kwargs.pop("options", None)
    elif "acqmaxiter" in config:
        optimizer_kwargs["options"] = {"maxiter": int(config["acqmaxiter"])}
    if "initbatch" in config:
        optimizer_kwargs.setdefault("options", {})["init_batch_limit"] = int(config["initbatch"])
    if "prune" in config:
        if config["prune"] not in ("on", "off"):
            raise ValueError(f"prune={config['prune']!r}: prune=on or prune=off")
        acqf_kwargs = generator_kwargs["default_model_gen_options"]["acquisition_function_kwargs"]
        acqf_kwargs["prune_baseline"] = config["prune"] == "on"
    if config.get("propose") == "untried":
        screened, scored = config.get("screened"), config.get("scored")
        configure_discrete(
            generator_kwargs,
            categorical_kernel=False,
            max_screened=None if screened is None else int(screened),
            max_scored=None if scored is None else int(scored),
        )
    elif "propose" in config or "screened" in config or "scored" in config:
        raise ValueError(f"variant {config}: propose=untried is the only proposal lever (screened/scored refine it)")


_LOOP_FLAGS: LoopFlags = {
    "maxiter": ("_FIT_MAXITER", lambda value: None if value == "none" else int(value)),
    "warm": ("_FIT_WARM_START", choice({"on": True, "off": False})),
    "round": ("_ROUND_UNTRIED", choice({"untried": True, "ax": False})),
    "mc": ("_ACQF_MC_SAMPLES", int),
    **LOOP_FLAGS,  # center, front, around, refupdate: as frontier_levers.py's
}
"""Variant keys that set a module-level setting of ``lightning_ecopt.sweeper.loop`` (see the module's docstring)."""
KEYS = (*_NODE_KEYS, *_LOOP_FLAGS, "ref", "sobol", "acq", "screen", "noise", "latnoise", "sem", "exploit")
"""Every key a variant of this script may set."""


@contextmanager
def _patched(config: dict[str, str]) -> Iterator[None]:
    """Apply a variant's patches (the BoTorch node's settings, the loop's settings) for the ``with`` block."""
    original_strategy = ParetoSweep._generation_strategy
    if any(key in config for key in _NODE_KEYS):

        def patched(self: ParetoSweep) -> Any:
            strategy = original_strategy(self)
            for node in strategy.nodes_by_name.values():
                for generator_spec in node.generator_specs:
                    if generator_spec.generator_enum.name == "BOTORCH_MODULAR":
                        _configure_node(generator_spec.generator_kwargs, config)
            return strategy

        ParetoSweep._generation_strategy = patched  # type: ignore[method-assign]
    try:
        with loop_flags(config, _LOOP_FLAGS):
            yield
    finally:
        ParetoSweep._generation_strategy = original_strategy  # type: ignore[method-assign]


class _FitTimedSweep(_TimedSweep):
    """A timed sweep that also records, per ask, the CPU seconds of each stage (``fit_cpu_s``, ``init_cpu_s``...)."""

    def _ask(self, client: Any, k: int) -> dict[int, dict[str, Any]]:
        before = dict(_STAGE_CPU_S)
        proposals = super()._ask(client, k)
        for stage, seconds in _STAGE_CPU_S.items():
            self.asks[-1][f"{stage}_cpu_s"] = seconds - before[stage]
        self.client = client
        return proposals

    def generators(self) -> list[str]:
        """The generator of each trial (``Sobol``, ``BoTorch``, ``Fallback_Sobol``...), in trial order."""
        trials = self.client._experiment.trials  # the Client keeps its experiment private
        return [
            next((run._generator_key or "unknown" for run in trials[i].generator_runs), "unknown")
            for i in sorted(trials)
        ]


_STAGE_CPU_S = {"fit": 0.0, "init": 0.0, "lbfgs": 0.0}
"""CPU seconds spent so far (in this process) fitting the GP (Ax's ``fit_botorch_model``), choosing the acquisition
optimiser's restarts by scoring its raw samples (BoTorch's ``gen_batch_initial_conditions``) and running its L-BFGS-B
(``gen_candidates_scipy``)."""


@contextmanager
def _stage_timer() -> Iterator[None]:
    """Count the CPU time of each stage of every suggestion into :data:`_STAGE_CPU_S`."""
    import ax.generators.torch.botorch_modular.surrogate as ax_surrogate
    import botorch.optim.optimize as optimize

    def timed(original: Any, stage: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                _STAGE_CPU_S[stage] += time.process_time() - start

        return wrapper

    targets = [
        (ax_surrogate, "fit_botorch_model", "fit"),
        (optimize, "gen_batch_initial_conditions", "init"),
        (optimize, "gen_candidates_scipy", "lbfgs"),
    ]
    with ExitStack() as stack:
        for module, name, stage in targets:
            stack.enter_context(mock.patch.object(module, name, timed(getattr(module, name), stage)))
        yield


@contextmanager
def _screened_by_ehvi(screen: str | None) -> Iterator[None]:
    """``screen=ehvi``: BoTorch's restarts chosen by analytic EHVI's values of the raw samples instead of qNEHVI's.

    Patches the initial-conditions generator ``optimize_acqf`` uses: where it is handed a multi-objective acquisition
    function with a baseline (q(Log)NEHVI), it scores the raw samples with
    :class:`~lightning_ecopt.sweeper.analytic.ObjectiveEHVI` built from the same model, objectives, reference point
    and observed points; L-BFGS-B then optimises qNEHVI from the restarts chosen.
    """
    if screen is None:
        yield
        return
    if screen != "ehvi":
        raise ValueError(f"screen={screen!r}: screen=ehvi is the only screening lever")
    import botorch.optim.optimize as optimize

    from lightning_ecopt.sweeper.analytic import ObjectiveEHVI, construct_inputs_objective_ehvi

    original = optimize.gen_batch_initial_conditions

    def screened(acq_function: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(acq_function, "X_baseline", None) is not None and hasattr(acq_function, "ref_point"):
            inputs = construct_inputs_objective_ehvi(
                model=acq_function.model,
                objective=acq_function.objective,
                X_baseline=acq_function.X_baseline,
                ref_point=acq_function.ref_point,
            )
            acq_function = ObjectiveEHVI(**inputs)
        return original(acq_function, *args, **kwargs)

    with mock.patch.object(optimize, "gen_batch_initial_conditions", screened):
        yield


def _one_training_run(seed: int) -> Callable[[Mapping[str, Any]], dict[str, float]]:
    """``noise=seed``: an evaluation returns one training run of the architecture, drawn at random.

    The table holds 2-3 training seeds per architecture: the validation accuracy varies by a median 0.16 points
    between them, the latency not at all. The draw is seeded by the sweep's seed; a real sweep sees one noisy training
    run per trial, as here.
    """
    import numpy as np

    rng = np.random.default_rng(10_000 + seed)
    runs = problems.nb201_runs()

    def evaluate(params: Mapping[str, Any]) -> dict[str, float]:
        accuracies, latencies = runs[problems.nb201_key(params)]
        i = int(rng.integers(len(accuracies)))
        return {"val_acc": accuracies[i], "latency": latencies[i]}

    return evaluate


def _gaussian_noise(seed: int, acc_sd: float, latency_sd: float) -> Callable[[Mapping[str, Any]], dict[str, float]]:
    """``noise=<sd>`` / ``latnoise=<sd>``: the seed means with Gaussian noise, drawn with the sweep's seed."""
    import numpy as np

    rng = np.random.default_rng(20_000 + seed)
    table = problems.nb201_table()

    def evaluate(params: Mapping[str, Any]) -> dict[str, float]:
        accuracy, latency = table[problems.nb201_key(params)]
        return {
            "val_acc": accuracy + acc_sd * float(rng.standard_normal()),
            "latency": latency * math.exp(latency_sd * float(rng.standard_normal())),
        }

    return evaluate


def _evaluator(config: Mapping[str, str], problem: problems.Problem, seed: int) -> Callable[..., dict[str, float]]:
    """What one evaluation returns: the seed means (``noise=none``), one training run or Gaussian noise."""
    noise, latency_noise = config.get("noise", "none"), config.get("latnoise", "0")
    if (noise, latency_noise) != ("none", "0") and problem.name != PROBLEM:
        raise ValueError(f"noise={noise!r}, latnoise={latency_noise!r}: the noise levers need {PROBLEM}'s table")
    if noise == "seed" and latency_noise == "0":
        return _one_training_run(seed)
    try:
        acc_sd = 0.0 if noise == "none" else float(noise)
        latency_sd = float(latency_noise)
    except ValueError:
        acc_sd = latency_sd = -1.0
    if not (acc_sd >= 0 and latency_sd >= 0):
        raise ValueError(
            f"noise={noise!r}, latnoise={latency_noise!r}: noise=seed (one training run's values, no latnoise), "
            "noise=none or noise=<accuracy points >= 0>, and latnoise=<relative sd >= 0>"
        )
    return problem.evaluate if acc_sd == latency_sd == 0 else _gaussian_noise(seed, acc_sd, latency_sd)


def run(variant: str, problem: problems.Problem, seed: int, budget: int) -> dict[str, Any]:
    problem_text = check_variants([variant], KEYS)
    if problem_text is not None:
        raise ValueError(problem_text)
    config = parse_variant(variant)
    ref = reference_point(config, problem)
    space = parse_search_space(problem.hydra_params(), [])
    settings = SweepSettings(
        parse_objectives(dict(problem.objectives), None),
        n_trials=budget,
        seed=seed,
        reference_point=ref,
        n_initial_trials=int(config["sobol"]) if "sobol" in config else None,
        acquisition=config.get("acq", "qNEHVI"),
    )
    evaluate = with_sem(_evaluator(config, problem, seed), config.get("sem"))  # sem=: the task reports its noise
    exploit = exploit_trials(config.get("exploit"), budget)
    with _patched(config), _stage_timer(), _screened_by_ehvi(config.get("screen")), exploiting_last(exploit):
        sweep = _FitTimedSweep(space, settings, evaluate_each(evaluate), on_batch_end=[])
        t0 = time.perf_counter()
        result = sweep.run()
        wall_s = time.perf_counter() - t0
    curve = problem.hypervolume_curve(
        [
            # Scored on the seed means of what was evaluated, whatever the noisy evaluation said (noise=).
            problem.evaluate(trial.params) if trial.metrics else None
            for trial in sorted(result.trials, key=lambda t: t.trial_index)
        ]
    )
    at = {f"hv{b}": curve[b - 1] for b in (20, 40, 60) if len(curve) >= b}
    per = {
        f"s_per_suggestion_at{AT}": per_suggestion(sweep.asks, AT, WINDOW),
        f"cpu_s_per_suggestion_at{AT}": per_suggestion(sweep.asks, AT, WINDOW, "cpu_s"),
        **{
            f"{stage}_cpu_s_per_suggestion_at{AT}": per_suggestion(sweep.asks, AT, WINDOW, f"{stage}_cpu_s")
            for stage in _STAGE_CPU_S
        },
    }
    per["fallback_sobol"] = sweep.generators().count("Fallback_Sobol")
    row = {"variant": variant, "problem": problem.name, "seed": seed, "budget": budget, **at, **per}
    return {**row, "wall_s": round(wall_s, 1), "asks": sweep.asks, "curve": curve}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=["base"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument(
        "--problem",
        choices=sorted(problems.PROBLEMS),
        default=PROBLEM,
        help="another problem of problems.py for the time per suggestion of a lever (the noise levers are NAS-only)",
    )
    parser.add_argument("--smoke", action="store_true", help="CI: budget 14, seed 0")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON lines appended to (default benchmarks/results/{DEFAULT_OUT.name}; with --smoke "
        f"{smoke_out(DEFAULT_OUT.name)})",
    )
    args = parser.parse_args(argv)
    args.out = out_path(args, DEFAULT_OUT)
    problem_text = check_variants(args.variants, KEYS)
    if problem_text is not None:
        parser.error(problem_text)  # every variant checked before the first run
    if args.smoke:
        args.budget, args.seeds = 14, [0]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    problem = problems.get(args.problem)
    rows = []
    for variant in args.variants:
        for seed in args.seeds:
            row = run(variant, problem, seed, args.budget)
            rows.append(row)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps({k: v for k, v in row.items() if k not in ("curve", "asks")}), flush=True)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["variant"], []).append(row)
    for variant, group in groups.items():
        cells = []
        keys = (
            "hv20",
            "hv40",
            "hv60",
            f"s_per_suggestion_at{AT}",
            f"cpu_s_per_suggestion_at{AT}",
            f"fit_cpu_s_per_suggestion_at{AT}",
            f"init_cpu_s_per_suggestion_at{AT}",
            f"lbfgs_cpu_s_per_suggestion_at{AT}",
            "fallback_sobol",
        )
        for key in keys:
            values = [r[key] for r in group if r.get(key) is not None]
            if values:
                cells.append(f"{key} {statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]")
        print(f"{variant:<24} median of {len(group)}: {', '.join(cells) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
