"""Every example, run as a user runs it (a subprocess), at a tiny budget: it sweeps, reports, and reuses checkpoints."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _run(tmp_path: Path, script: str, *overrides: str) -> tuple[subprocess.CompletedProcess[str], Path, dict]:
    sweep = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("HYDRA_FULL_ERROR", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "-m", f"hydra.sweep.dir={sweep}", *overrides],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    return done, sweep, results


def _report(sweep: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "lightning_ecopt.cli", "report", str(sweep)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (sweep / "frontier.png").stat().st_size > 5_000
    return " ".join(done.stdout.split())


def test_main_job_reuses_one_checkpoint_across_inference_only_knobs(tmp_path: Path) -> None:
    # Every training parameter fixed on the command line; only the evaluation batch size is swept, with bf16
    # autocast and int8 Linear layers: the second trial must load the first one's checkpoint.
    fixed = ["model.width=4", "model.depth=1", "model.kernel=3", "model.pooling=false", "model.lr=0.01"]
    _, sweep, results = _run(
        tmp_path,
        "train.py",
        *fixed,
        "data.eval_batch_size=choice(16, 128)",
        "inference.precision=bf16-mixed",
        "inference.quantize_int8=true",
        "data.eval_repeats=1",
        "trainer.max_epochs=1",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_initial_trials=2",
    )
    trials = results["trials"]
    assert [t["status"] for t in trials] == ["completed", "completed"]
    assert sorted(t["params"]["data.eval_batch_size"] for t in trials) == [16, 128]
    first, second = (t["metrics"] for t in trials)
    assert first["checkpoint/reused"] == 0.0
    assert first["energy/train_j"] > 0
    assert second["checkpoint/reused"] == 1.0
    assert second["energy/train_j"] == 0.0
    assert second["energy/train_reused_j"] == first["energy/train_j"]  # the avoided cost, exactly
    assert first["test/acc"] == pytest.approx(second["test/acc"], abs=0.02)  # same weights, other batch/rounding
    assert len(list((sweep / "checkpoints").glob("*.pt"))) == 1
    assert "Checkpoint reuse: 1 trials loaded a cached checkpoint" in _report(sweep)


def test_main_job_reaches_a_model_trial_in_its_own_search_space(tmp_path: Path) -> None:
    # conf/train.yaml's space as `make demo` sweeps it (integers, an ordered and an unordered choice, a log float):
    # the third trial is proposed by BoTorch through Ax's mixed optimiser, whose options differ from the relaxed one's.
    done, _, results = _run(
        tmp_path,
        "train.py",
        "trainer.max_epochs=1",
        "data.eval_repeats=1",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_initial_trials=2",
    )
    trials = results["trials"]
    assert len(trials) == 3
    # A failed trial is allowed only for the designed reason (pooling past depth 3), never for the optimiser.
    assert all(t["status"] == "completed" or "pool" in str(t.get("reason", "")).lower() for t in trials), trials
    assert "3/3 trials" in done.stderr + done.stdout


def test_inference_batch_size_trains_once_and_prints_the_batch1_ratio(tmp_path: Path) -> None:
    done, sweep, results = _run(
        tmp_path,
        "inference_batch_size.py",
        "data.eval_batch_size=tag(log, int(interval(2, 64)))",  # batch 1 left out: measured after the sweep
        "data.eval_repeats=1",
        "trainer.max_epochs=1",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_initial_trials=3",
    )
    trials = results["trials"]
    assert [t["status"] for t in trials] == ["completed"] * 3
    assert [t["metrics"]["checkpoint/reused"] for t in trials] == [0.0, 1.0, 1.0]
    assert "batch 1 was not in the sweep; measured it from the cached checkpoint" in done.stdout
    assert (sweep / "batch1" / "lightning_logs").is_dir()  # its logs beside the job dirs, not in the cwd
    line = next(x for x in done.stdout.splitlines() if x.startswith("batch-size sweep: best"))
    best = max(t["metrics"]["energy/test_samples_per_j"] for t in trials)
    assert f"best {best:.4g} samples/J" in line
    assert float(line.split(", ")[1].split("x batch 1")[0]) > 1.0  # batching helps, even on CPU
    checkpoint = torch.load(next((sweep / "checkpoints").glob("*.pt")), weights_only=True)
    assert checkpoint["metrics"]["energy/train_j"] == trials[0]["metrics"]["energy/train_j"]
    assert "Checkpoint reuse: 2 trials" in _report(sweep)


def test_transformer_generation_returns_perplexity_and_tokens_per_joule(tmp_path: Path) -> None:
    _, sweep, results = _run(
        tmp_path,
        "transformer_generation.py",
        "model.width=choice(16, 32)",
        "data.gen_batch_size=choice(1, 2)",
        "model.depth=1",
        "data.seq_len=16",
        "trainer.max_steps=5",
        "data.max_chars=20000",
        "data.n_prompts=8",
        "model.gen_tokens=4",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_initial_trials=2",
    )
    for t in results["trials"]:
        assert t["status"] == "completed", t["reason"]
        m = t["metrics"]
        assert 1.0 < m["test/perplexity"] < 200.0
        assert m["energy/predict_tokens"] == 4 * (8 - t["params"]["data.gen_batch_size"])  # after 1 warm-up batch
        assert math.isfinite(m["energy/predict_tokens_per_j"])
        assert m["energy/predict_tokens_per_j"] > 0
        assert "energy/test_j" not in m  # only generation is measured
    assert "Pareto frontier" in _report(sweep)
