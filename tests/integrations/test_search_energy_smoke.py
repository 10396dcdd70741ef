"""Smoke run (CI) of the search-energy benchmark: both sweeps run through the Hydra app and write what the docs cite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_search_energy_smoke(tmp_path: Path) -> None:
    out = tmp_path / "search_energy.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, str(ROOT / "benchmarks" / "search_energy.py"), "--smoke", "--out", str(out)]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())

    assert data["config"]["smoke"] is True
    assert data["config"]["fixed_passes"] is False
    assert set(data["runs"]) == {"reuse", "no_reuse"}
    assert {"python", "torch", "lightning", "hydra-core", "ax-platform", "git"} <= set(data["machine"])
    reuse, plain = data["runs"]["reuse"], data["runs"]["no_reuse"]
    assert "hydra.sweeper.inference_params=[]" in plain["command"]
    assert "inference_params" not in reuse["command"]  # the example's own list: the cache is on
    for run in (reuse, plain):
        assert run["trials"] == run["trials_run"] == len(run["per_trial"]) == data["config"]["n_trials"] == 2
        assert run["trials_failed"] == 0
        assert run["energy_source"] == "estimated: cpu-time"  # no counters on CI machines: labelled, never mixed
        assert run["train_j"] > 0
        assert run["inference_j"] > 0
        assert run["total_j"] == run["train_j"] + run["inference_j"]
        assert run["wall_s"] > 0
        assert "eval_min_s" not in run["command"]  # the example's own test passes, as a user runs it
        assert run["short_windows"] == sum(t["short_window"] for t in run["per_trial"])
        assert run["test_samples"] == sum(t["test_samples"] for t in run["per_trial"]) > 0
        for trial in run["per_trial"]:
            assert trial["status"] == "completed"
            assert trial["energy_source"] == "estimated: cpu-time"
            assert trial["inference_j"] > 0
            assert trial["total_j"] > 0

    # One model trained and loaded by the second trial, against one training per trial.
    assert reuse["trainings"] == reuse["checkpoint_files"] == 1
    assert plain["trainings"] == 2
    assert plain["checkpoint_files"] == 0  # without inference_params there is no cache: nothing could be reused
    assert reuse["trainings"] < plain["trainings"]
    first, second = reuse["per_trial"]
    assert first["trained"]
    assert first["train_j"] > 0  # the shared checkpoint's training is in the total
    assert not second["trained"]
    assert second["train_j"] == 0.0
    assert second["train_reused_j"] == first["train_j"]
    assert all(t["trained"] and t["train_j"] > 0 for t in plain["per_trial"])

    summary = data["summary"]
    assert summary["energy_source"] == "estimated: cpu-time"
    assert summary["ratio_total_j"] == plain["total_j"] / reuse["total_j"]
    assert summary["target_ratio"] == 5.0
    assert summary["target_met"] == (summary["ratio_total_j"] >= 5.0)
    # Like for like: the reuse run plus what its reusing trial avoided, as `ecopt report` counts it.
    assert summary["ledger_ratio_total_j"] == (reuse["total_j"] + second["train_reused_j"]) / reuse["total_j"]
    assert summary["target_met_like_for_like"] == (summary["ledger_ratio_total_j"] >= 5.0)
