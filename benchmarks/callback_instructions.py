"""Benchmark: instructions a test loop executes with and without EnergyCallback, counted by Valgrind.

The wall-time benchmark (``callback_overhead.py``) is the issue's measure, but on a shared VM identical 1,000-batch
loops vary by 10-15 % from one run to the next, and a paired median over 30 rounds then resolves a few percent, not
the 0.5 % target (docs/bench-callback.md). Instructions executed do not depend on the machine's load: Valgrind's
cachegrind counts every one the process retires (``Ir``), the same on every run of the same code and input.

Each set-up runs in three processes under ``valgrind --tool=cachegrind --cache-sim=no``, with test loops of
``b``, ``b, b`` and ``b, 3b`` batches (``--unit``, default 100) on one torch thread and ``PYTHONHASHSEED=0``:

- ``Ir(b, b) - Ir(b)`` is a steady-state loop of ``b`` batches, ``Ir(b, 3b) - Ir(b)`` one of ``3b``; their difference
  gives the instructions per batch ``P``, and the rest the loop's fixed part ``F`` (start, warm-up batches, end);
- the process's start-up and the first loop's one-time work (imports, the meter's detection, the callback's dispatch
  probe) cancel in both differences; they are reported apart, as instructions once per process.

The overhead on a loop of ``--batches`` batches (default 1,000, the issue's loop) is
``(F + n P) / (F0 + n P0) - 1`` against no callback. Instructions are not time: the callback's Python code retires
fewer instructions per cycle than the model's vectorised kernels, so docs/bench-callback.md converts with the time per
instruction measured for each.

    python benchmarks/callback_instructions.py                      # no callback (twice), empty, loop, per-batch
    python benchmarks/callback_instructions.py --setups "no callback" "loop mode" --jobs 2

About 10 minutes of one core per set-up at ``--unit 100`` (Valgrind runs this workload ~300x slower); ``--jobs``
runs processes in parallel (counts do not depend on load), and a stopped run resumes from ``--workdir``. Writes
benchmarks/results/callback_instructions.json (or --out).
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from callback_overhead import SETUPS, quiet_trainer, setup_callbacks

DEFAULT_SETUPS = ("no callback", "no callback, again", "empty callback", "loop mode", "per-batch mode")
BASE = "no callback"


def child(setup: str, loops: list[int], max_batches: int, batch_size: int) -> None:
    """Run test loops of ``loops`` batches each with one set-up's callbacks (the process Valgrind counts).

    The data is made for ``max_batches`` in every process, so the processes of a set-up differ only in their loops.
    """
    import logging

    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from lightning_ecopt.demos import DigitsCNN

    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = DigitsCNN(width=16, depth=2, kernel=3)
    n = max_batches * batch_size
    inputs = (torch.rand(n, 1, 8, 8), torch.randint(0, 10, (n,)))
    cbs = setup_callbacks(setup, "estimate")
    names = [type(cb).__name__ for cb in cbs]  # before the Trainer appends its defaults to the list
    trainer = quiet_trainer(cbs)
    seen = []
    for batches in loops:
        data = DataLoader(TensorDataset(*(x[: batches * batch_size] for x in inputs)), batch_size=batch_size)
        trainer.test(model, data, verbose=False)
        seen.append(trainer.test_loop.batch_progress.current.completed)
    print(f"{setup}: {names} ran {seen} batches")


def plans(unit: int) -> dict[str, list[int]]:
    """The three processes of a set-up: their loops' batch counts."""
    return {"first": [unit], "then_unit": [unit, unit], "then_3unit": [unit, 3 * unit]}


def parse_cachegrind(text: str) -> int:
    r"""The total instructions (``Ir``) in a cachegrind output file.

    >>> parse_cachegrind("events: Ir\nfl=x.c\n1 5\nsummary: 17763522983\n")
    17763522983
    """
    match = re.search(r"^summary:\s+(\d+)", text, re.MULTILINE)
    if match is None:
        raise ValueError("no 'summary:' line in the cachegrind output: did Valgrind finish?")
    return int(match.group(1))


def snapshot(workdir: Path) -> Path:
    """A compiled copy of the package and the benchmarks, which every child process imports.

    Every process then runs the same bytecode, read from the same ``.pyc`` files, even if the working tree changes
    during the run: a module compiled in one process and read from cache in the next would differ by millions of
    instructions. The copy lives in ``workdir/<hash of the sources>``, with the counts made with it: a stopped run
    resumes, and a changed source starts afresh.
    """
    root = Path(__file__).resolve().parents[1]
    names = ("lightning_ecopt", "benchmarks")
    digest = hashlib.sha256()
    for path in sorted(p for name in names for p in (root / name).rglob("*.py") if "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    run_dir = workdir / digest.hexdigest()[:16]
    src = run_dir / "src"
    if not (run_dir / "compiled").exists():
        shutil.rmtree(src, ignore_errors=True)
        for name in names:
            shutil.copytree(root / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "results"))
        if not compileall.compile_dir(src, quiet=1):
            raise RuntimeError(f"could not compile the snapshot in {src}")
        (run_dir / "compiled").touch()
    return src


def count(setup: str, loops: list[int], max_batches: int, batch_size: int, src: Path) -> int:
    """Instructions a child process with these loops executes, under cachegrind (the snapshot ``src`` imported).

    A count already made with this snapshot is read back instead of run again.
    """
    name = f"cg.{setup.replace(' ', '_').replace(',', '')}.{'_'.join(map(str, loops))}.{max_batches}x{batch_size}"
    out = src.parent / name
    if out.exists():
        return parse_cachegrind(out.read_text())
    part = out.with_suffix(".part")
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        f"--cachegrind-out-file={part}",
        sys.executable,
        str(src / "benchmarks" / Path(__file__).name),
        "--child",
        setup,
        "--loops",
        *map(str, loops),
        "--max-batches",
        str(max_batches),
        "--batch-size",
        str(batch_size),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.run(command, cwd=src, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"valgrind failed for {setup!r} with loops {loops}:\n{proc.stderr[-3000:]}")
    ir = parse_cachegrind(part.read_text())
    part.rename(out)
    return ir


def solve(ir: dict[str, int], unit: int) -> dict[str, float]:
    """Instructions per steady-state batch and per loop (fixed part), and once per process, from the three counts.

    Start-up 1,000, a first loop of 100 batches with 10 more than a steady loop's fixed 40, 7 per batch:

    >>> solve({"first": 1_000 + 50 + 100 * 7, "then_unit": 1_750 + 40 + 100 * 7, "then_3unit": 1_750 + 40 + 300 * 7},
    ...       unit=100)
    {'per_batch': 7.0, 'per_loop': 40.0, 'once': 1010.0}
    """
    loop_unit = ir["then_unit"] - ir["first"]
    loop_3unit = ir["then_3unit"] - ir["first"]
    per_batch = (loop_3unit - loop_unit) / (2 * unit)
    per_loop = loop_unit - unit * per_batch
    return {"per_batch": per_batch, "per_loop": per_loop, "once": float(ir["first"] - loop_unit)}


def run(setups: list[str], unit: int, batches: int, batch_size: int, jobs: int, workdir: Path) -> dict[str, Any]:
    """Count every process of every set-up and work out each set-up's overhead against no callback."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: install it (Debian: apt-get install valgrind) and run again")
    if BASE not in setups:
        setups = [BASE, *setups]
    max_batches = 3 * unit
    tasks = [(setup, name, loops) for setup in setups for name, loops in plans(unit).items()]
    src = snapshot(workdir)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        counts = list(pool.map(lambda t: count(t[0], t[2], max_batches, batch_size, src), tasks))
    ir: dict[str, dict[str, int]] = {setup: {} for setup in setups}
    for (setup, name, _), n in zip(tasks, counts, strict=True):
        ir[setup][name] = n
    parts = {setup: solve(ir[setup], unit) for setup in setups}
    base = parts[BASE]
    base_loop = base["per_loop"] + batches * base["per_batch"]
    rows = {}
    for setup in setups:
        p = parts[setup]
        loop = p["per_loop"] + batches * p["per_batch"]
        rows[setup] = {
            "ir": ir[setup],
            "ir_per_batch": p["per_batch"],
            "ir_per_loop_fixed": p["per_loop"],
            "ir_once_per_process": p["once"],
            "ir_per_loop": loop,
            "extra_ir_per_batch": p["per_batch"] - base["per_batch"],
            "extra_ir_per_loop_fixed": p["per_loop"] - base["per_loop"],
            "extra_ir_once_per_process": p["once"] - base["once"],
            "overhead_pct": 100.0 * (loop / base_loop - 1.0),
        }
    return {"setups": rows}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run the child (under Valgrind) or the whole benchmark, write JSON and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(DEFAULT_SETUPS))
    parser.add_argument("--unit", type=int, default=100, help="batches in the shortest loop (b)")
    parser.add_argument("--batches", type=int, default=1_000, help="the loop the overhead is stated for")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=1, help="Valgrind processes at once")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "callback_instructions.json")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ecopt_callback_instructions",
        help="the compiled snapshot and Valgrind's counts (a stopped run resumes from here)",
    )
    parser.add_argument("--child", choices=SETUPS, help=argparse.SUPPRESS)
    parser.add_argument("--loops", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--max-batches", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.loops, args.max_batches, args.batch_size)
        return 0
    for name in ("unit", "batches", "batch_size", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    result = run(list(args.setups), args.unit, args.batches, args.batch_size, args.jobs, args.workdir)
    import lightning
    import torch

    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    result["config"] = {"unit": args.unit, "batches": args.batches, "batch_size": args.batch_size, "threads": 1}
    from benchmark_env import revision  # here, not at the top: the counted child imports no more than it needs

    result["command"] = " ".join(
        ["python", "benchmarks/callback_instructions.py", *(sys.argv[1:] if argv is None else argv)]
    )
    result["revision"] = revision()
    result["machine"] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "valgrind": valgrind,
        "platform": platform.platform(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"instructions (Ir), loops of {args.batches} batches of {args.batch_size}, one torch thread")
    print(f"{'setup':<30}{'Ir/batch':>12}{'extra/batch':>13}{'extra/loop':>13}{'extra once':>13}{'overhead':>11}")
    for setup, row in result["setups"].items():
        print(
            f"{setup:<30}{row['ir_per_batch']:>12,.0f}{row['extra_ir_per_batch']:>+13,.0f}"
            f"{row['extra_ir_per_loop_fixed']:>+13,.0f}{row['extra_ir_once_per_process']:>+13,.0f}"
            f"{row['overhead_pct']:>+10.3f}%"
        )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
