"""`ecopt report` on real sweeps: the loop (Ax, Sobol trials) with a cheap function, then the console script."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_ecopt.sweeper.loop import ParetoSweep, evaluate_each
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space


def task(params):
    """A stand-in for a Lightning trial: wider is more accurate and costs more per inference."""
    width = params["width"]
    j_per_sample = 1e-4 * width
    return {
        "test/acc": 1.0 - 1.0 / (1 + width),
        "energy/test_samples_per_j": 1.0 / j_per_sample,
        "energy/test_j_per_sample": j_per_sample,
        "energy/test_j": 100 * j_per_sample,
        "energy/train_j": 2.0 * width,
        "model/params": float(width**2),
        "model/flops_per_sample": float(3 * width),
        "energy/source": "estimated: test",
    }


def run_sweep(sweep_dir, n_trials, evaluate=None):
    space = parse_search_space({"width": "int(interval(1, 64))"}, [])
    settings = SweepSettings(
        parse_objectives({"test/acc": "maximize", "energy/test_samples_per_j": "maximize"}, None),
        n_trials=n_trials,
        n_initial_trials=n_trials,  # Sobol only: no model fitting, fast
        max_batch_size=2,
        seed=0,
        storage=sweep_dir / "ax_experiment.json",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ParetoSweep(space, settings, evaluate or evaluate_each(task)).run()


def ecopt(*args):
    script = Path(sys.executable).with_name("ecopt")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "lightning_ecopt.cli"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


def test_ecopt_report_on_a_real_sweep(tmp_path):
    result = run_sweep(tmp_path, n_trials=4)
    done = ecopt("report", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    sections = ("4 of 4 trials (finished)", "Pareto frontier", "Proxy audit", "Search-cost ledger", "estimated (test)")
    for text in sections:
        assert text in out, text
    assert (tmp_path / "frontier.png").stat().st_size > 10_000
    assert len((tmp_path / "trials.csv").read_text().splitlines()) == 1 + 4

    data = json.loads(ecopt("report", tmp_path, "--json", "--no-files").stdout)
    widths = [t.params["width"] for t in result.trials]
    assert data["ledger"]["total_j"] == pytest.approx(sum(2.0 * w + 100 * 1e-4 * w for w in widths), rel=1e-12)
    assert [row["trial_index"] for row in data["frontier"]] == sorted(
        result.pareto_indices, key=lambda i: -result.trials[i].metrics["test/acc"]
    )
    # params = width^2 and energy per inference = 1e-4 width: same order, so Spearman's rho is exactly 1.
    assert data["proxy_audit"][0]["spearman_rho"] == pytest.approx(1.0)

    # The sweep process wrote the TensorBoard views next to the results, one frontier step per batch.
    frontier_run = EventAccumulator(str(tmp_path / "tensorboard" / "frontier"))
    frontier_run.Reload()
    assert [e.step for e in frontier_run.Images("frontier/pareto_front")][:2] == [2, 4]


def test_ecopt_report_on_an_interrupted_sweep(tmp_path):
    calls = []

    def dies_in_second_batch(batch):
        calls.append(batch)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the sweep process is killed mid-batch
        return evaluate_each(task)(batch)

    with pytest.raises(KeyboardInterrupt):
        run_sweep(tmp_path, n_trials=6, evaluate=dies_in_second_batch)
    done = ecopt("report", tmp_path, "--no-files")
    assert done.returncode == 0, done.stderr
    assert "2 of 6 trials (running or interrupted)" in done.stdout


def test_ecopt_report_bad_input_exits_2_without_a_traceback(tmp_path):
    done = ecopt("report", tmp_path / "missing")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ecopt report: ")
    assert "Traceback" not in done.stderr


def test_an_inference_only_sweep_takes_the_tied_trial_with_the_least_energy_per_inference(tmp_path):
    # Every trial loads the same weights: the accuracy ties exactly, so the proposal order must not pick the baseline.
    def same_weights(params):
        return {**task(params), "test/acc": 0.97}

    result = run_sweep(tmp_path, n_trials=4, evaluate=evaluate_each(same_weights))
    done = ecopt("report", tmp_path, "--json", "--no-files")
    assert done.returncode == 0, done.stderr
    ledger = json.loads(done.stdout)["ledger"]
    cheapest = min(result.trials, key=lambda t: t.metrics["energy/test_j_per_sample"])
    assert cheapest.trial_index != 0  # Sobol did not propose it first: the old rule (lowest index) would differ
    assert ledger["baseline"] == cheapest.trial_index
    assert ledger["baseline_tied"] == [0, 1, 2, 3]
    assert ledger["baseline_tie_rule"] == "least energy per inference"
    text = " ".join(ecopt("report", tmp_path, "--no-files").stdout.split())
    assert "4 trials tie on it (#0, #1, #2, #3), the one with the least energy per inference taken" in text
