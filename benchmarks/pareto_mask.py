"""Benchmark: q(Log)NEHVI's baseline-pruning mask, BoTorch's ``is_non_dominated`` against the sorted one.

BoTorch prunes q(Log)NEHVI's baseline with a non-dominated mask over 2,048 joint posterior samples of every trial so
far (``prune_inferior_points_multi_objective``); past about 18 trials its ``is_non_dominated`` loops over the points
in Python. ``lightning_ecopt.sweeper.pareto.non_dominated`` computes the same mask by sorting (two objectives). This
times both on the same samples, interleaved (``--repeats`` each, the median kept), and checks that the masks are
equal. The samples are a pruning's: 2,048 draws around ``n`` points near a concave front (noise 0.02 on a front of
range 1, so that, as in a converged sweep, most points are on some sample's front), two objectives, float64.

    python benchmarks/pareto_mask.py                    # n = 20, 50, 100, 200, 400 (about a minute)
    python benchmarks/pareto_mask.py --smoke            # n = 20, 1 repeat: a check that it runs

Writes benchmarks/results/pareto_mask.json (or --out). Summary: docs/bench-optimizer.md, "The pruning mask, sorted".
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package

from benchmark_env import add_out_argument, cpu_identity, out_path, package_versions, revision, write_json

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "pareto_mask.json"
SIZES = (20, 50, 100, 200, 400)
SAMPLES = 2048  # BoTorch's prune_inferior_points_multi_objective default


def samples(n: int, seed: int) -> Any:
    """``SAMPLES x n x 2`` draws around ``n`` points near the front ``y2 = 1 - y1**2`` (maximised)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    t = torch.rand(n, generator=generator, dtype=torch.double)
    mean = torch.stack([t, 1 - t**2], dim=-1) - 0.05 * torch.rand(n, 1, generator=generator, dtype=torch.double)
    return mean + 0.02 * torch.randn(SAMPLES, n, 2, generator=generator, dtype=torch.double)


def time_both(n: int, repeats: int) -> dict[str, Any]:
    """Median seconds of each mask over ``repeats`` interleaved calls on the same samples, and whether they agree."""
    import torch
    from botorch.utils.multi_objective.pareto import is_non_dominated

    from lightning_ecopt.sweeper.pareto import non_dominated

    Y = samples(n, seed=n)
    seconds: dict[str, list[float]] = {"botorch": [], "sorted": []}
    equal = True
    for _ in range(repeats):
        for name, mask in (("botorch", is_non_dominated), ("sorted", non_dominated)):
            start = time.perf_counter()
            got = mask(Y, deduplicate=False)
            seconds[name].append(time.perf_counter() - start)
            if name == "botorch":
                theirs = got
        equal = equal and bool(torch.equal(got, theirs))
    botorch_s, sorted_s = (statistics.median(seconds[k]) for k in ("botorch", "sorted"))
    return {
        "n": n,
        "samples": SAMPLES,
        "botorch_s": round(botorch_s, 5),
        "sorted_s": round(sorted_s, 5),
        "ratio": round(botorch_s / sorted_s, 1),
        "equal": equal,
        "front_per_sample": round(float(theirs.sum(-1).double().mean()), 1),
        "repeats": repeats,
    }


def main(argv: list[str] | None = None) -> int:
    """Time both masks at each size, print a line per size and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="points per sample")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="n = 20, 1 repeat: a check that it runs")
    add_out_argument(parser, DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeats = [20], 1
    if min(args.sizes) < 1 or args.repeats < 1:
        parser.error(f"--sizes {args.sizes} --repeats {args.repeats}: each must be at least 1 (points, calls)")
    args.out = out_path(args, DEFAULT_OUT)

    import torch

    torch.set_num_threads(1)  # as the sweeper proposes (loop._SUGGEST_THREADS)
    rows = []
    for n in args.sizes:
        rows.append(time_both(n, args.repeats))
        row = rows[-1]
        print(
            f"n={n:>4}: BoTorch {row['botorch_s']:.4f} s, sorted {row['sorted_s']:.4f} s ({row['ratio']}x), "
            f"equal {row['equal']}, {row['front_per_sample']} points on a sample's front",
            flush=True,
        )
    write_json(
        args.out,
        {
            "rows": rows,
            "smoke": args.smoke,
            "command": " ".join(["python", "benchmarks/pareto_mask.py", *(sys.argv[1:] if argv is None else argv)]),
            "revision": revision(),
            "machine": {"python": platform.python_version(), "cpu": cpu_identity()},
            "versions": package_versions(["torch", "botorch"]),
        },
    )
    print(f"wrote {args.out}")
    return 0 if all(row["equal"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
