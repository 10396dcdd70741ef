"""Benchmark: what one acquisition-function evaluation costs on NAS-Bench-201's one-hot GP (issue 6, part 2).

Since the warm-started fit (docs/bench-optimizer.md, last sections) most of a NAS-Bench-201 suggestion is the
acquisition optimiser: about 40 evaluations of qNEHVI with gradients (all restarts at once) and the scoring of the raw
samples. This measures those two costs directly, per acquisition function, on the GP the sweeper fits there:

- ``n`` architectures drawn at random (seeded), one-hot encoded (30 inputs), their two objectives from the table;
  ``val_acc`` kept and ``latency`` negated (both maximised), each standardised; BoTorch's ``SingleTaskGP`` with its
  default kernel and priors, fitted once with L-BFGS-B capped at 50 iterations;
- ``qNEHVI``: the sweeper's default in one-hot spaces (64 QMC samples, the whole baseline, cached root);
  ``qNEHVI pruned``: BoTorch's default pruning of the baseline; ``qLogNEHVI``: plain Ax's (128 samples, pruned);
  ``EHVI``: BoTorch's analytic expected hypervolume improvement on the posterior mean's front (q = 1 only; not
  used by the sweeper);
- per acquisition function: milliseconds of CPU per evaluation with gradients of ``restarts`` candidates (the
  optimiser's batch), and per scoring of ``raw`` random candidates in chunks of 32 (Ax's ``init_batch_limit``). The
  functions take turns, ``rounds`` times, and the medians are reported, so they share the machine's state.

    python benchmarks/acqf_eval_cost.py                       # n = 20, 50, 100; results/acqf_eval_cost.json
    python benchmarks/acqf_eval_cost.py --smoke --out /tmp/a.json   # CI: n = 12, 2 rounds

This sizes the one lever the 0.5 s target still needs (cheaper acquisition evaluations); it changes no proposal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

import problems
from benchmark_env import add_out_argument, out_path, package_versions, revision

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "acqf_eval_cost.json"
PROBLEM = "nb201_cifar10"
METHODS = ("qNEHVI", "qNEHVI pruned", "qLogNEHVI", "EHVI")


def training_data(n: int, seed: int) -> tuple[Any, Any, Any]:
    """``n`` random architectures, one-hot encoded, with their objectives and the reference point.

    Both objectives are maximised (``latency`` negated) and standardised, the reference point in the same units.
    """
    import torch

    problem = problems.get(PROBLEM)
    generator = torch.Generator().manual_seed(seed)
    ops = problem.params[0].choices
    assert ops is not None
    rows, values = [], []
    for _ in range(n):
        picks = torch.randint(len(ops), (len(problem.params),), generator=generator).tolist()
        row = torch.zeros(len(problem.params) * len(ops), dtype=torch.double)
        for i, pick in enumerate(picks):
            row[i * len(ops) + pick] = 1.0
        result = problem.evaluate({p.name: ops[pick] for p, pick in zip(problem.params, picks, strict=True)})
        rows.append(row)
        values.append([result["val_acc"], -result["latency"]])
    X, Y = torch.stack(rows), torch.tensor(values, dtype=torch.double)
    mean, std = Y.mean(0), Y.std(0)
    reference = torch.tensor([problem.reference_point["val_acc"], -problem.reference_point["latency"]])
    return X, (Y - mean) / std, (reference.to(Y) - mean) / std


def acquisitions(X: Any, Y: Any, reference: Any) -> dict[str, Any]:
    """The fitted GP's acquisition functions, by name (:data:`METHODS`)."""
    import torch
    from botorch.acquisition.multi_objective.analytic import ExpectedHypervolumeImprovement
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.acquisition.multi_objective.monte_carlo import qNoisyExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.sampling import SobolQMCNormalSampler
    from botorch.utils.multi_objective.box_decompositions.non_dominated import FastNondominatedPartitioning
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from lightning_ecopt.sweeper.fused_kernel import prepare_log_hypervolume_kernel

    prepare_log_hypervolume_kernel()  # qLogNEHVI's compiled kernel as the sweeper builds (or skips) it
    model = SingleTaskGP(X, Y)
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model), optimizer_kwargs={"options": {"maxiter": 50}})
    model.eval()
    ref = reference.tolist()
    with torch.no_grad():
        front = FastNondominatedPartitioning(ref_point=reference, Y=model.posterior(X).mean)

    def qnehvi(samples: int, prune: bool, log: bool = False) -> Any:
        cls = qLogNoisyExpectedHypervolumeImprovement if log else qNoisyExpectedHypervolumeImprovement
        sampler = SobolQMCNormalSampler(torch.Size([samples]), seed=0)
        return cls(model, ref_point=ref, X_baseline=X, sampler=sampler, prune_baseline=prune, cache_root=True)

    return {
        "qNEHVI": qnehvi(64, prune=False),
        "qNEHVI pruned": qnehvi(64, prune=True),
        "qLogNEHVI": qnehvi(128, prune=True, log=True),
        # BoTorch's hint says NondominatedPartitioning; its own input constructor passes this one for two objectives.
        "EHVI": ExpectedHypervolumeImprovement(model, ref_point=ref, partitioning=cast(Any, front)),
    }


def _cpu_ms(fn: Callable[[], Any], reps: int) -> float:
    start = time.process_time()
    for _ in range(reps):
        fn()
    return (time.process_time() - start) / reps * 1000


def measure(n: int, seed: int, restarts: int, raw: int, rounds: int, reps: int) -> dict[str, Any]:
    """Median CPU milliseconds per gradient evaluation and per raw scoring, each method, at ``n`` trials."""
    import torch

    X, Y, reference = training_data(n, seed)
    acqfs = acquisitions(X, Y, reference)
    generator = torch.Generator().manual_seed(seed + 1)
    candidates = torch.rand(restarts, 1, X.shape[-1], generator=generator, dtype=torch.double)
    raw_candidates = torch.rand(raw, 1, X.shape[-1], generator=generator, dtype=torch.double)
    grad: dict[str, list[float]] = {m: [] for m in METHODS}
    score: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(rounds):
        for method in METHODS:
            acqf = acqfs[method]

            def gradient(acqf: Any = acqf) -> None:
                x = candidates.clone().requires_grad_(True)
                acqf(x).sum().backward()

            def scoring(acqf: Any = acqf) -> None:
                with torch.no_grad():
                    for chunk in raw_candidates.split(32):
                        acqf(chunk)

            gradient()  # warm: caches of the posterior
            grad[method].append(_cpu_ms(gradient, reps))
            score[method].append(_cpu_ms(scoring, 1))
    return {
        "n": n,
        "baseline_after_pruning": int(acqfs["qNEHVI pruned"].X_baseline.shape[0]),
        "grad_eval_ms": {m: round(statistics.median(v), 3) for m, v in grad.items()},
        "raw_scoring_ms": {m: round(statistics.median(v), 2) for m, v in score.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20, 50, 100], help="trials in the GP's data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--restarts", type=int, default=10, help="candidates per gradient evaluation (our default)")
    parser.add_argument("--raw", type=int, default=512, help="raw samples scored (our default)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=20, help="gradient evaluations timed per round")
    parser.add_argument("--smoke", action="store_true", help="CI: n = 12, 2 rounds of 2")
    add_out_argument(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out = out_path(args, DEFAULT_OUT)
    if args.smoke:
        args.n, args.rounds, args.reps, args.raw = [12], 2, 2, 64
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    rows = []
    for n in args.n:
        row = measure(n, args.seed, args.restarts, args.raw, args.rounds, args.reps)
        rows.append(row)
        cells = ", ".join(f"{m} {row['grad_eval_ms'][m]:.1f} / {row['raw_scoring_ms'][m]:.0f}" for m in METHODS)
        print(
            f"n={n:>3} (pruned baseline {row['baseline_after_pruning']}): ms per gradient evaluation / raw scoring: "
            f"{cells}",
            flush=True,
        )
    data = {
        "benchmark": "acqf_eval_cost",
        "command": " ".join(["python", "benchmarks/acqf_eval_cost.py", *(argv if argv is not None else sys.argv[1:])]),
        "smoke": args.smoke,
        "revision": revision(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1},
        "versions": package_versions(["torch", "botorch", "gpytorch"]),
        "config": {
            "seed": args.seed,
            "restarts": args.restarts,
            "raw": args.raw,
            "rounds": args.rounds,
            "reps": args.reps,
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
