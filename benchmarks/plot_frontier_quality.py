"""Plots of the frontier-quality benchmark: hypervolume fraction vs evaluations, one PNG per problem.

One line per method (the median over seeds) and a band (min to max over seeds), read from the results file of
``benchmarks/frontier_quality.py``:

    python benchmarks/plot_frontier_quality.py                        # docs/images/bench_hv_<problem>.png
    python benchmarks/plot_frontier_quality.py --results /tmp/fq.json --out-dir /tmp/plots
    python benchmarks/plot_frontier_quality.py --markdown              # also print the tables of docs/bench-frontier.md
    python benchmarks/plot_frontier_quality.py --all-methods           # also earlier variants (ecopt_coldfit, ...)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = ROOT / "benchmarks" / "results" / "frontier_quality.json"
DEFAULT_OUT_DIR = ROOT / "docs" / "images"
STYLE = {  # method: (colour, line style, marker); ours dark and without markers
    # A line style and a marker of its own for each method: solid red, orange and green lines look alike to a
    # red-green colour-blind reader.
    "ecopt": ("#000000", "-", ""),
    "ecopt_noref": ("#555555", "--", ""),
    "ecopt_ehvi": ("#555555", ":", ""),
    "ax": ("#1f77b4", "-", "o"),
    "optuna_gp": ("#d62728", "-", "s"),
    "optuna_tpe": ("#ff7f0e", "-", "^"),
    "optuna_nsga2": ("#2ca02c", ":", "v"),
    "optuna_nsga2_small": ("#2ca02c", "-", "D"),
    "random": ("#9467bd", ":", "x"),
}
_MARKERS = ("P", "*", "h", "<", ">", "d")
"""Markers of methods not in :data:`STYLE` (earlier variants, drawn with ``--all-methods``), in turn."""


def problem_figure(problem: str, runs: Sequence[dict[str, Any]], all_methods: bool = False) -> Figure:
    """One problem's curves, one line per method of the benchmark, the legend beside the axes.

    Earlier variants kept in the results under other names (``ecopt_coldfit``...) are drawn only with
    ``all_methods``, or where no current method ran. The legend is outside the axes: inside, it hid the curves' ends
    (the results at the largest budget) wherever they ran through its corner.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.6, 4.5), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    methods = [m for m in STYLE if any(r["method"] == m for r in runs)]
    if all_methods or not methods:
        methods += sorted({r["method"] for r in runs} - set(methods))
    longest = max(len(r["hv_fraction"]) for r in runs)
    extra = iter(_MARKERS * len(methods))
    for k, method in enumerate(methods):
        curves = [r["hv_fraction"] for r in runs if r["method"] == method]
        length = min(len(c) for c in curves)
        array = np.array([c[:length] for c in curves])
        x = np.arange(1, length + 1)
        colour, line, marker = STYLE.get(method) or (None, "-", next(extra))
        median = np.median(array, axis=0)
        (handle,) = ax.plot(
            x,
            median,
            line,
            color=colour,
            lw=2 if method.startswith("ecopt") else 1.3,
            marker=marker or None,
            markersize=4,
            markevery=(k % 5, 5),  # every 5th evaluation, staggered so that markers of close lines do not stack
        )
        handle.set_label(f"{method} (n={len(curves)})")
        ax.fill_between(x, array.min(axis=0), array.max(axis=0), color=handle.get_color(), alpha=0.12, lw=0)
    for budget in (20, 40, 60):
        if budget <= longest:
            ax.axvline(budget, color="#bbbbbb", lw=0.6, zorder=0)
    ax.set_xlim(0, longest + 1)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume / known maximum (higher is better)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{problem}: median and min-max over seeds")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=8)
    return fig


def plot_problem(problem: str, runs: Sequence[dict[str, Any]], path: Path, all_methods: bool = False) -> None:
    """Write :func:`problem_figure` to ``path`` (a PNG)."""
    fig = problem_figure(problem, runs, all_methods)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def markdown(summary: dict[str, Any]) -> str:
    """One table per problem: method x budget, ``median [min-max] (n seeds)``."""
    order = list(STYLE)
    out = []
    for problem, methods in summary.items():
        budgets = sorted({int(b) for cells in methods.values() for b in cells})
        out.append(f"\n**{problem}**\n")
        out.append("| method | " + " | ".join(f"{b} evaluations" for b in budgets) + " | median wall s per run |")
        out.append("|---|" + "---|" * (len(budgets) + 1))
        for method in sorted(methods, key=lambda m: order.index(m) if m in order else len(order)):
            cells = methods[method]
            row = []
            for b in budgets:
                c = cells.get(str(b))
                row.append(f"{c['median']:.3f} [{c['min']:.3f}–{c['max']:.3f}]" if c else "–")
            n = max(c["n_seeds"] for c in cells.values())
            wall = next(iter(cells.values()))["wall_s_median"]
            out.append(f"| `{method}` (n={n}) | " + " | ".join(row) + f" | {wall:.1f} |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--markdown", action="store_true", help="print the summary as Markdown tables")
    parser.add_argument("--all-methods", action="store_true", help="also plot earlier variants kept under other names")
    args = parser.parse_args(argv)
    if not args.results.is_file():
        parser.error(f"--results {args.results}: no such file; write one with benchmarks/frontier_quality.py --out")
    data = json.loads(args.results.read_text())
    runs = data["runs"]
    if args.markdown:
        print(markdown(data["summary"]))
    for problem in sorted({r["problem"] for r in runs}):
        path = args.out_dir / f"bench_hv_{problem}.png"
        plot_problem(problem, [r for r in runs if r["problem"] == problem], path, args.all_methods)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
