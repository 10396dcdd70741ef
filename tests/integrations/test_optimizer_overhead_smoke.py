"""Smoke run (CI) of the optimiser-overhead benchmark: every configuration runs; the JSON holds what the docs cite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_optimizer_overhead_smoke(tmp_path: Path) -> None:
    out = tmp_path / "optimizer_overhead.json"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    script = str(ROOT / "benchmarks" / "optimizer_overhead.py")
    command = [sys.executable, script, "--smoke", "--plain-ax", "--out", str(out)]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())

    assert data["smoke"] is True
    assert data["command"].endswith(f"--smoke --plain-ax --out {out}")
    assert {"python", "torch", "ax-platform", "botorch", "optuna"} <= set(data["versions"])
    assert data["machine"]["cpu_count"] >= 1
    assert data["seeds"] == [0]
    assert data["checkpoints"] == [4]
    configs = {(r["method"], r["acquisition"], r["batch_size"]) for r in data["runs"]}
    assert configs == {
        ("ecopt", "qNEHVI", 1),
        ("ecopt", "qNEHVI", 4),
        ("ecopt", "qLogNEHVI", 1),
        ("ecopt", "qLogNEHVI", 4),
        ("ecopt", "EHVI", 1),  # one trial at a time: no batch of 4
        ("optuna_gp", "GPSampler", 1),
        ("ax", "Ax defaults", 1),  # --plain-ax: the other reference, timed the same way
    }
    for run in data["runs"]:
        assert run["problem"] == "branin_currin"
        assert run["n_trials"] == 5
        assert sum(a["n"] for a in run["asks"]) == 5  # every trial was asked for, and timed
        assert all(a["wall_s"] >= 0 and a["cpu_s"] >= 0 for a in run["asks"])
        assert 0.0 <= run["hv_fraction"] <= 1.0
        at_4 = run["per_suggestion"]["at_4"]
        assert at_4["wall_s"] is not None
        assert at_4["wall_s"] > 0
        if run["method"] == "ecopt":
            assert run["n_initial_trials"] == 3
            # 3 Sobol trials, then BoTorch: the batch of 4 is cut at the end of the Sobol phase and at the budget
            expected = [1, 1, 1, 1, 1] if run["batch_size"] == 1 else [3, 2]
            assert [a["n"] for a in run["asks"]] == expected
