"""What every benchmark records about where it ran: package versions, and the CPU that ran it.

The same commit can propose differently on another day: the hosts behind these VMs change between sessions, and a
CPU with other vector units (AVX-512 or not) rounds the GP's linear algebra differently, which a Bayesian
optimisation amplifies over its trials (docs/bench-frontier.md, "Rerun at HEAD"). So results record the CPU too.
:func:`package_versions` and :func:`cpu_identity` are :mod:`lightning_ecopt.provenance`'s, which a sweep's own results
record the same way (re-exported here).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lightning_ecopt.provenance import cpu_identity, package_versions
from lightning_ecopt.sweeper import pareto

__all__ = [
    "add_out_argument",
    "botorch_pruning_mask",
    "cpu_identity",
    "out_path",
    "package_versions",
    "refuse_with_smoke",
    "revision",
    "smoke_out",
]

ROOT = Path(__file__).resolve().parents[1]


def smoke_out(filename: str) -> Path:
    """Where a ``--smoke`` run writes without ``--out``: ``<tmp>/ecopt_bench/<filename>``.

    Never ``benchmarks/results/``: the CI size must not replace or extend the stored results that docs/ quotes.

    >>> smoke_out("x.json").parent.name
    'ecopt_bench'
    """
    return Path(tempfile.gettempdir()) / "ecopt_bench" / filename


def add_out_argument(parser: argparse.ArgumentParser, default: Path) -> None:
    """Add ``--out``, the results JSON (default ``default``, the stored results; :func:`smoke_out` with --smoke).

    Read it back with :func:`out_path`.
    """
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results JSON (default benchmarks/results/{default.name}, --smoke {smoke_out(default.name)})",
    )


def out_path(args: argparse.Namespace, default: Path) -> Path:
    """Where the results go: ``--out`` if given, else :func:`smoke_out` for a ``--smoke`` run, else ``default``.

    >>> out_path(argparse.Namespace(out=None, smoke=False), Path("results/x.json"))
    PosixPath('results/x.json')
    """
    if args.out is not None:
        return Path(args.out)
    return smoke_out(default.name) if args.smoke else default


def write_json(path: Path, result: object) -> None:
    """Write ``result`` to ``path`` as indented JSON (its folder made), and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def refuse_with_smoke(parser: argparse.ArgumentParser, args: argparse.Namespace, *dests: str) -> None:
    """Stop with a usage error where ``--smoke`` would silently replace a flag the user gave (not at its default).

    Args:
        parser: The script's parser (its defaults, and ``parser.error`` to stop).
        args: The parsed arguments.
        *dests: The destinations ``--smoke`` sets (``"seeds"``, ``"n_trials"``).
    """
    given = [d for d in dests if getattr(args, d) != parser.get_default(d)]
    if args.smoke and given:
        flags = ", ".join("--" + d.replace("_", "-") for d in given)
        parser.error(f"--smoke sets {flags} itself (its CI size); drop {flags}, or run without --smoke")


@contextlib.contextmanager
def botorch_pruning_mask(on: bool = True) -> Iterator[None]:
    """Within it (where ``on``), q(Log)NEHVI's baseline pruning uses BoTorch's own ``is_non_dominated``.

    What the benchmarks' ``--botorch-pruning`` does. The sweep puts :mod:`lightning_ecopt.sweeper.pareto`'s sorted
    mask in for each proposal (``pareto.faster_baseline_pruning``, looked up at each proposal); here that does nothing,
    so a benchmark can time the same sweep with either mask. The sorted mask is put back on the way out, on an error
    too.

    >>> from lightning_ecopt.sweeper import pareto
    >>> fast = pareto.faster_baseline_pruning
    >>> with botorch_pruning_mask():
    ...     pareto.faster_baseline_pruning is fast
    False
    >>> pareto.faster_baseline_pruning is fast
    True
    """
    if not on:
        yield
        return
    fast = pareto.faster_baseline_pruning
    pareto.faster_baseline_pruning = contextlib.nullcontext  # type: ignore[assignment]
    try:
        yield
    finally:
        pareto.faster_baseline_pruning = fast


def revision(*paths: str) -> str | None:
    """The checkout the benchmark ran from: the short commit, ``+dirty`` with uncommitted changes; None without git.

    Args:
        *paths: Only changes under these paths (relative to the repository) make it ``+dirty``; all by default.
    """
    try:
        head, status = _git("rev-parse", "--short", "HEAD"), _git("status", "--porcelain", "--", *paths)
    except OSError:
        return None
    if head.returncode != 0 or not head.stdout.strip():
        return None
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
