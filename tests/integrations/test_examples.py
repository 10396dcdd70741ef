"""Every example, run as a user runs it (a subprocess), at a tiny budget: it sweeps, reports, and reuses checkpoints."""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _run(
    tmp_path: Path, script: str, *overrides: str, relative: bool = False
) -> tuple[subprocess.CompletedProcess[str], Path, dict]:
    """Run an example's sweep in ``tmp_path/sweep`` (given as ``sweep``, relative to the cwd, with ``relative``)."""
    sweep = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("HYDRA_FULL_ERROR", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "-m", f"hydra.sweep.dir={'sweep' if relative else sweep}", *overrides],
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
    assert "Checkpoint reuse: 1 trial loaded a cached checkpoint" in _report(sweep)


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
        relative=True,  # Hydra's default sweep dir is relative (multirun/...)
    )
    trials = results["trials"]
    assert [t["status"] for t in trials] == ["completed"] * 3
    assert [t["metrics"]["checkpoint/reused"] for t in trials] == [0.0, 1.0, 1.0]
    assert "batch 1 was not in the sweep; measured it from the cached checkpoint" in done.stdout
    assert (sweep / "batch1" / "lightning_logs").is_dir()  # its logs beside the job dirs, not in the cwd
    # From the sweep's checkpoint: with a relative sweep dir it looked for the cache from inside batch1/, missed it,
    # and trained again (a checkpoint of its own under batch1/, energy no trial counts).
    assert list(sweep.rglob("*.pt")) == list((sweep / "checkpoints").glob("*.pt"))
    line = next(x for x in done.stdout.splitlines() if x.startswith("batch-size sweep: best"))
    best = max(t["metrics"]["energy/test_samples_per_j"] for t in trials)
    assert f"best {best:.4g} samples/J" in line
    assert float(line.split(", ")[1].split("x batch 1")[0]) > 1.0  # batching helps, even on CPU
    checkpoint = torch.load(next((sweep / "checkpoints").glob("*.pt")), weights_only=True)
    assert checkpoint["metrics"]["energy/train_j"] == trials[0]["metrics"]["energy/train_j"]
    assert "Checkpoint reuse: 2 trials" in _report(sweep)


def test_inference_batch_size_measures_batch1_with_the_logger_the_docs_recommend(tmp_path: Path) -> None:
    """A review found the batch-1 run failing on `save_dir=${hydra:runtime.output_dir}`: HydraConfig was not set."""
    done, sweep, results = _run(
        tmp_path,
        "inference_batch_size.py",
        "data.eval_batch_size=tag(log, int(interval(2, 64)))",  # batch 1 left out: measured after the sweep
        "data.eval_repeats=1",
        "trainer.max_epochs=1",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_initial_trials=2",
        "+trainer.logger={_target_:lightning.pytorch.loggers.CSVLogger,save_dir:${hydra:runtime.output_dir}}",
        relative=True,
    )
    assert [t["status"] for t in results["trials"]] == ["completed"] * 2
    assert "on_multirun_end raised" not in done.stderr  # Hydra's warning of a callback that failed
    assert "batch 1 was not in the sweep; measured it from the cached checkpoint" in done.stdout
    assert any(x.startswith("batch-size sweep: best") for x in done.stdout.splitlines())
    for run in ("0", "1", "batch1"):  # each run's logs in its own dir, the batch-1 run's included
        assert len(list((sweep / run).glob("lightning_logs/version_*/metrics.csv"))) == 1, run
    # Keyed as the trials were: batch 1 loaded their checkpoint instead of training one of its own.
    assert list(sweep.rglob("*.pt")) == list((sweep / "checkpoints").glob("*.pt"))
    assert len(list((sweep / "checkpoints").glob("*.pt"))) == 1


def test_transformer_generation_returns_perplexity_and_tokens_per_joule(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    n_prompts, gen_tokens = 8, 4
    _, sweep, results = _run(
        tmp_path,
        "transformer_generation.py",
        "model.width=choice(16, 32)",
        # 3: 8 prompts do not fill whole batches; 8: one batch holds every prompt (it used to be all warm-up).
        "data.gen_batch_size=choice(3, 8)",
        "model.depth=1",
        "data.seq_len=16",
        "trainer.max_steps=5",
        "data.max_chars=20000",
        f"data.n_prompts={n_prompts}",
        f"model.gen_tokens={gen_tokens}",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_initial_trials=2",
    )
    assert sorted(t["params"]["data.gen_batch_size"] for t in results["trials"]) == [3, 8]
    for t in results["trials"]:
        assert t["status"] == "completed", t["reason"]
        m, batch = t["metrics"], t["params"]["data.gen_batch_size"]
        assert 1.0 < m["test/perplexity"] < 200.0
        # The measured window holds whole batches of the swept size (the warm-up batch excluded), every prompt at
        # least once, in whole passes of (1 warm-up + enough batches for the 8 prompts).
        samples = m["energy/predict_samples"]
        assert samples >= n_prompts
        assert samples % batch == 0
        assert (samples + batch) % (batch * (1 + -(-n_prompts // batch))) == 0
        assert m["energy/predict_tokens"] == gen_tokens * samples
        assert math.isfinite(m["energy/predict_tokens_per_j"])
        assert m["energy/predict_tokens_per_j"] > 0
        # The test loop (perplexity) is measured for the ledger; the report's energy per inference is still the
        # predict loop's J per prompt (the loop the energy objective names).
        assert m["energy/test_j"] > 0
        assert "energy/test_tokens" not in m
        # Each loop's FLOPs under a key of its own: one forward pass of a test sequence, one whole generation.
        assert 0 < m["model/flops_per_sample"] < m["model/predict_step_flops_per_sample"]
    # Each trial's Lightning logs in its own job dir, none in the launch dir, and no hp_metric placeholder.
    assert not (tmp_path / "lightning_logs").exists()
    for job in ("0", "1"):
        (version,) = (sweep / job / "lightning_logs").iterdir()
        acc = EventAccumulator(str(version))
        acc.Reload()
        assert "hp_metric" not in acc.Tags()["scalars"]
    assert "Pareto frontier" in _report(sweep)
    done = subprocess.run(
        [sys.executable, "-m", "lightning_ecopt.cli", "report", str(sweep), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ledger = json.loads(done.stdout)["ledger"]
    assert ledger["energy_per_inference"] == "energy/predict_j_per_sample"
    assert ledger["trials_unknown"] == []
    # The proxy audit pairs the J per prompt with a generation's FLOPs, not with the test loop's forward pass.
    audit = json.loads(done.stdout)["proxy_audit"]
    assert [(c["proxy"], c["target"]) for c in audit] == [
        ("model/params", "energy/predict_j_per_sample"),
        ("model/predict_step_flops_per_sample", "energy/predict_j_per_sample"),
    ]


def _run_once(tmp_path: Path, script: str, *overrides: str) -> subprocess.CompletedProcess[str]:
    """Run an example once (no sweep) in ``tmp_path/run``, from ``tmp_path``; its exit status must be 0."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("HYDRA_FULL_ERROR", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), f"hydra.run.dir={tmp_path / 'run'}", *overrides],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


_TINY_DIGITS = ("trainer.max_epochs=1", "data.eval_repeats=1", "model.width=4", "model.depth=1")


def test_main_job_runs_without_a_logger_from_the_config(tmp_path: Path) -> None:
    """A review found `+trainer.logger=false` failing every trial: Trainer() got multiple values for 'logger'."""
    done = _run_once(tmp_path, "train.py", "+trainer.logger=false", *_TINY_DIGITS)
    assert "test/acc" in done.stdout + done.stderr  # the result line: the trial ran to its end
    assert not (tmp_path / "run" / "lightning_logs").exists()  # the default TensorBoard logger was not built


def test_main_job_logs_to_a_logger_from_the_config_beside_an_extra_callback(tmp_path: Path) -> None:
    import csv

    csv_dir = tmp_path / "csv"
    _run_once(
        tmp_path,
        "train.py",
        "+trainer.logger._target_=lightning.pytorch.loggers.CSVLogger",
        f"+trainer.logger.save_dir={csv_dir}",
        "+trainer.callbacks=[{_target_:lightning.pytorch.callbacks.LearningRateMonitor,logging_interval:step}]",
        "trainer.log_every_n_steps=1",
        *_TINY_DIGITS,
    )
    (metrics_file,) = csv_dir.rglob("metrics.csv")  # one logger for the fit and the test, as the default
    with metrics_file.open() as f:
        rows = list(csv.DictReader(f))
    logged = {key for row in rows for key, value in row.items() if value}
    assert {"energy/train_j", "energy/test_j", "energy/test_samples_per_j", "model/flops_per_sample"} <= logged
    assert "lr-Adam" in logged  # the extra callback ran, beside the EnergyCallback (whose figures are above)
    assert not (tmp_path / "run" / "lightning_logs").exists()


@pytest.fixture(autouse=True)
def _logs_under_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples' trials called outside a Hydra job write their Lightning logs to the working directory: the test's
    own, not the checkout's (``lightning_logs/`` was left in the repository's root by every run of the suite)."""
    monkeypatch.chdir(tmp_path)


def _import_example(monkeypatch: pytest.MonkeyPatch, name: str) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the examples import each other (train.digits_trial)
    return importlib.import_module(name)


def test_transformer_example_fails_an_unbuildable_model_with_its_energy_known(monkeypatch: pytest.MonkeyPatch) -> None:
    from omegaconf import OmegaConf

    from lightning_ecopt.exceptions import TrialFailure

    example = _import_example(monkeypatch, "transformer_generation")
    cfg = OmegaConf.load(ROOT / "conf" / "transformer_generation.yaml")
    cfg.model.width, cfg.model.heads = 30, 4  # not a multiple: the model cannot be built, nothing ran
    with pytest.raises(TrialFailure) as err:
        example.main(cfg)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("max_steps", r"^trainer.max_steps=0: no training step would run"),
        ("limit_predict_batches", r"^trainer.limit_predict_batches=0: the predict loop is the measured result"),
    ],
)
def test_transformer_example_refuses_a_run_that_would_measure_nothing(
    monkeypatch: pytest.MonkeyPatch, key: str, match: str
) -> None:
    # A fit of no step reported the untrained weights' perplexity; a loop of no batch crashed on a KeyError after
    # training, its energy lost.
    from omegaconf import OmegaConf

    from lightning_ecopt.exceptions import TrialFailure

    example = _import_example(monkeypatch, "transformer_generation")
    cfg = OmegaConf.load(ROOT / "conf" / "transformer_generation.yaml")
    cfg.trainer[key] = 0
    with pytest.raises(TrialFailure, match=match) as err:
        example.main(cfg)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}


def test_main_job_fails_an_unbuildable_model_with_its_energy_known(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pooling past depth 3 cannot be built: nothing ran, so the failed trial spent 0 J, and the ledger must count it
    # as known rather than make the search total a lower bound.
    from omegaconf import OmegaConf

    from lightning_ecopt.exceptions import TrialFailure
    from lightning_ecopt.report import trial_energy
    from lightning_ecopt.sweeper.results import TrialRecord

    train = _import_example(monkeypatch, "train")
    cfg = OmegaConf.load(ROOT / "conf" / "train.yaml")
    cfg.model.depth, cfg.model.pooling = 4, True
    with pytest.raises(TrialFailure, match=r"ValueError: DigitsCNN\(depth=4, pooling=True\)") as err:
        train.digits_trial(cfg, cache=None)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}
    energy = trial_energy(TrialRecord(0, {}, "failed", err.value.metrics))
    assert energy.known
    assert energy.total_j == 0.0
    # Beside the sweep's estimated trials its 0 J (no source label: nothing was measured) mixes nothing in: the
    # ledger keeps one kind and its break-even.
    from lightning_ecopt.report import ledger
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.results import SweepResult

    objectives = parse_objectives({"test/acc": "maximize", "energy/test_samples_per_j": "maximize"}, None)
    ran = {"test/acc": 0.9, "energy/test_samples_per_j": 100.0, "energy/test_j_per_sample": 0.01, "energy/train_j": 5.0}
    trials = (
        TrialRecord(0, {}, "completed", ran, {}, None, "estimated: cpu-time"),
        TrialRecord(1, {}, "failed", err.value.metrics, reason=str(err.value)),
    )
    assert ledger(SweepResult(objectives, trials, (0,))).energy_kinds == ["estimated"]


def test_batch_size_ratio_says_which_figures_are_flagged_short(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omegaconf import OmegaConf

    example = _import_example(monkeypatch, "inference_batch_size")

    def trial(batch: int, per_j: float, short: float) -> dict[str, object]:
        metrics = {"energy/test_samples_per_j": per_j, "energy/test_short_window": short}
        return {"status": "completed", "params": {"data.eval_batch_size": batch}, "metrics": metrics}

    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    results = tmp_path / "optimization_results.yaml"
    ratio = example.BatchSizeRatio()

    def printed(*trials: dict[str, object]) -> str:
        results.write_text(yaml.safe_dump({"trials": list(trials)}))
        ratio.on_multirun_end(config)
        return capsys.readouterr().out

    out = printed(trial(1, 10.0, 0.0), trial(16, 200.0, 1.0), trial(64, 400.0, 1.0))
    assert "best 400 samples/J at batch 64, 40.0x batch 1 [short: see below] (10 samples/J)" in out
    (warning,) = [line for line in out.splitlines() if "flagged short" in line]
    assert "batch 64" in warning  # the figure the ratio uses
    assert "batch 16" not in warning  # short too, but not used
    batch1_short = printed(trial(1, 10.0, 1.0), trial(64, 400.0, 0.0)).splitlines()
    (warning,) = [line for line in batch1_short if "flagged short" in line]
    assert "batch 1" in warning
    assert "short" not in printed(trial(1, 10.0, 0.0), trial(16, 200.0, 1.0), trial(64, 400.0, 0.0))
    # Both figures short: one sentence about the two (it read "the figure of batch 64 and batch 1 is flagged short").
    both = printed(trial(1, 10.0, 1.0), trial(64, 400.0, 1.0))
    assert "the figures of batch 64 and batch 1 are flagged short (" in both
    assert "its measured window" not in both
    # A trial without the batch size as a parameter (a sweep that fixed it) has no place in the ratio: a KeyError.
    other = {
        "status": "completed",
        "params": {"inference.precision": "bf16"},
        "metrics": trial(8, 900.0, 0.0)["metrics"],
    }
    assert "best 400 samples/J at batch 64" in printed(trial(1, 10.0, 0.0), trial(64, 400.0, 0.0), other)


def test_batch_size_ratio_labels_its_energy_from_the_trials_that_ran_whatever_failed_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It took the label of trials[0]: a first trial that failed before measuring (a batch size of 0, a timeout) has
    # none, and the line read "(energy see the report)" for figures that were all estimated.
    from omegaconf import OmegaConf

    example = _import_example(monkeypatch, "inference_batch_size")

    def trial(batch: int, per_j: float) -> dict[str, object]:
        metrics = {"energy/test_samples_per_j": per_j}
        params = {"data.eval_batch_size": batch}
        return {"status": "completed", "params": params, "metrics": metrics, "energy_source": "estimated: cpu-time"}

    failed = {"status": "failed", "params": {"data.eval_batch_size": 0}, "metrics": {}, "energy_source": None}
    (tmp_path / "optimization_results.yaml").write_text(
        yaml.safe_dump({"trials": [failed, trial(1, 10.0), trial(64, 400.0)]})
    )
    example.BatchSizeRatio().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert "40.0x batch 1 (10 samples/J) (energy estimated: cpu-time);" in capsys.readouterr().out


def test_batch_size_ratio_reads_the_utf8_results_file_in_a_non_utf8_locale(tmp_path: Path) -> None:
    """The sweep writes optimization_results.yaml in UTF-8 (a failure reason "64×64", a path "/home/josé"); the
    example read it in the locale's encoding: UnicodeDecodeError under LC_ALL=C without UTF-8 mode (and mojibake
    in cp1252, Windows' default), after the whole sweep had run."""
    trials = [
        {"status": "failed", "params": {"data.eval_batch_size": 0}, "metrics": {}, "reason": "batch 64×64 ≥ 2 GiB"},
        {"status": "completed", "params": {"data.eval_batch_size": 1}, "metrics": {"energy/test_samples_per_j": 10.0}},
        {
            "status": "completed",
            "params": {"data.eval_batch_size": 64},
            "metrics": {"energy/test_samples_per_j": 400.0},
        },
    ]
    (tmp_path / "optimization_results.yaml").write_text(
        yaml.safe_dump({"trials": trials}, allow_unicode=True), encoding="utf-8"
    )
    code = (
        "import sys; from omegaconf import OmegaConf; sys.path.insert(0, sys.argv[1]); "
        "import inference_batch_size as e; "
        "e.BatchSizeRatio().on_multirun_end(OmegaConf.create({'hydra': {'sweep': {'dir': sys.argv[2]}}}))"
    )
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "utf-8"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLES), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "best 400 samples/J at batch 64, 40.0x batch 1" in done.stdout


def test_batch_1_is_measured_with_the_best_trials_other_inference_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The fallback took job 0's config: were precision swept too, batch 1 ran at job 0's precision, and the ratio
    # compared two settings at once.
    from omegaconf import OmegaConf

    example = _import_example(monkeypatch, "inference_batch_size")
    for job, (batch, precision) in enumerate([(8, "32-true"), (64, "bf16-mixed"), (16, "32-true")]):
        (tmp_path / str(job) / ".hydra").mkdir(parents=True)
        config = {"data": {"eval_batch_size": batch}, "inference": {"precision": precision}}
        OmegaConf.save(OmegaConf.create(config), tmp_path / str(job) / ".hydra" / "config.yaml")

    def trial(batch: int, precision: str, per_j: float) -> dict[str, object]:
        params = {"data.eval_batch_size": batch, "inference.precision": precision}
        return {"status": "completed", "params": params, "metrics": {"energy/test_samples_per_j": per_j}}

    trials = [trial(8, "32-true", 10.0), trial(64, "bf16-mixed", 90.0), trial(16, "32-true", 20.0)]
    best = example._best(trials)
    assert best == {"data.eval_batch_size": 64, "inference.precision": "bf16-mixed"}
    assert example._job(tmp_path, best)[1].inference.precision == "bf16-mixed"
    assert example._job(tmp_path, {"data.eval_batch_size": 2})[1].data.eval_batch_size == 8  # none ran it


def test_batch_1_is_measured_from_the_job_configs_wherever_hydra_output_subdir_put_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It globbed */.hydra/config.yaml: with hydra.output_subdir=cfg the sweep ended on a FileNotFoundError, and with
    # null (no config saved) too.
    from omegaconf import OmegaConf

    example = _import_example(monkeypatch, "inference_batch_size")
    (tmp_path / "0" / "cfg").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"data": {"eval_batch_size": 64}}), tmp_path / "0" / "cfg" / "config.yaml")
    path, cfg = example._job(tmp_path, {"data.eval_batch_size": 64}, "cfg")
    assert (path, cfg.data.eval_batch_size) == (tmp_path / "0" / "cfg" / "config.yaml", 64)
    with pytest.raises(FileNotFoundError, match=r"\*/\.hydra/config\.yaml \(hydra.output_subdir='.hydra'\)"):
        example._job(tmp_path, {})

    evaluated: list[Any] = []

    def evaluate_batch1(sweep_dir: Path, config: Any, best: dict[str, Any]) -> dict[str, float]:
        evaluated.append(example._job(sweep_dir, best, example._output_subdir(config))[0])
        return {"energy/test_samples_per_j": 10.0}

    monkeypatch.setattr(example, "_evaluate_batch1", evaluate_batch1)
    trial = {
        "status": "completed",
        "params": {"data.eval_batch_size": 64},
        "metrics": {"energy/test_samples_per_j": 90},
    }
    (tmp_path / "optimization_results.yaml").write_text(yaml.safe_dump({"trials": [trial]}))

    def ended(output_subdir: str | None) -> str:
        hydra_cfg = {"sweep": {"dir": str(tmp_path)}, "output_subdir": output_subdir}
        example.BatchSizeRatio().on_multirun_end(OmegaConf.create({"hydra": hydra_cfg}))
        return capsys.readouterr().out

    assert "9.0x batch 1" in ended("cfg")
    assert evaluated == [tmp_path / "0" / "cfg" / "config.yaml"]
    out = ended(None)  # no config saved: said, in one line, with how to get the ratio
    assert out.count("\n") == 1
    assert "hydra.output_subdir=null saved no job config" in out
    assert "Add 1 to the swept data.eval_batch_size values" in out
    assert len(evaluated) == 1


def test_the_ratio_takes_batch_1_at_the_best_trials_other_inference_settings_whatever_the_trial_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It took the first batch-1 trial: with precision swept too, 30x in one order (batch 1 at 32-true), 10x in the
    # other (batch 1 at bf16-mixed, the best trial's precision: the batch-size ratio).
    from omegaconf import OmegaConf

    example = _import_example(monkeypatch, "inference_batch_size")

    def trial(batch: int, precision: str, per_j: float) -> dict[str, Any]:
        params = {"data.eval_batch_size": batch, "inference.precision": precision}
        return {"status": "completed", "params": params, "metrics": {"energy/test_samples_per_j": per_j}}

    trials = [trial(1, "32-true", 100.0), trial(1, "bf16-mixed", 300.0), trial(64, "bf16-mixed", 3000.0)]
    for order in (trials, trials[::-1]):
        found = example.best_to_batch1(order)
        assert found is not None
        assert (found.ratio, found.batch1) == (10.0, 300.0)

    # No batch-1 trial at the best trial's precision: batch 1 is measured at it, not taken at another precision.
    evaluated: list[dict[str, Any]] = []

    def evaluate_batch1(sweep_dir: Path, config: Any, best: dict[str, Any]) -> dict[str, float]:
        evaluated.append(best)
        return {"energy/test_samples_per_j": 300.0}

    monkeypatch.setattr(example, "_evaluate_batch1", evaluate_batch1)
    assert example.best_to_batch1([trials[0], trials[2]]) is None
    (tmp_path / "optimization_results.yaml").write_text(yaml.safe_dump({"trials": [trials[0], trials[2]]}))
    example.BatchSizeRatio().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert evaluated == [{"data.eval_batch_size": 64, "inference.precision": "bf16-mixed"}]
    out = capsys.readouterr().out
    assert "best 3000 samples/J at batch 64, 10.0x batch 1" in out
    # Batch 1 was in the sweep, at another precision: said so (it read "batch 1 was not in the sweep").
    assert (
        "batch 1 was not in the sweep at the best trial's other settings ({'inference.precision': 'bf16-mixed'})" in out
    )


def test_a_reused_trial_whose_test_fails_still_reports_the_training_it_avoided(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from omegaconf import OmegaConf

    import lightning_ecopt.inference
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.exceptions import TrialFailure

    train = _import_example(monkeypatch, "train")
    cfg = OmegaConf.load(ROOT / "conf" / "train.yaml")
    cfg.trainer.max_epochs, cfg.data.eval_repeats = 1, 1
    cache = CheckpointCache(tmp_path / "checkpoints", ["data.eval_batch_size"])
    first = train.digits_trial(cfg, cache=cache)
    assert first["checkpoint/reused"] == 0.0

    def no_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(lightning_ecopt.inference, "prepare_for_inference", no_memory)
    cfg.data.eval_batch_size = 8  # inference-only: the checkpoint is loaded, then evaluation fails
    with pytest.raises(TrialFailure, match="out of memory") as err:
        train.digits_trial(cfg, cache=cache)
    assert err.value.metrics["checkpoint/reused"] == 1.0
    assert err.value.metrics["energy/train_reused_j"] == pytest.approx(first["energy/train_j"])


def _small_train_config() -> Any:
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(ROOT / "conf" / "train.yaml")
    cfg.trainer.max_epochs, cfg.trainer.accelerator, cfg.data.eval_repeats = 1, "cpu", 1
    cfg.model.width, cfg.model.depth = 4, 1
    return cfg


def test_a_trial_timed_out_in_its_test_keeps_the_training_it_spent_and_its_retry_reuses_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # TrialTimeoutError is a TrialFailure: it was re-raised with no figures, so a fit that finished (and cached its
    # checkpoint) before the timeout counted 0 J, and its retry, reusing the checkpoint, 0 J too: the one training
    # was counted nowhere.
    import lightning_ecopt.inference
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.exceptions import TrialTimeoutError
    from lightning_ecopt.report import trial_energy
    from lightning_ecopt.sweeper.results import TrialRecord

    train = _import_example(monkeypatch, "train")
    cfg = _small_train_config()
    cache = CheckpointCache(tmp_path / "checkpoints", ["data.eval_batch_size"])

    def times_out(*args: object, **kwargs: object) -> None:
        raise TrialTimeoutError(3)

    with monkeypatch.context() as patch:
        patch.setattr(lightning_ecopt.inference, "prepare_for_inference", times_out)
        with pytest.raises(TrialTimeoutError, match="trial_timeout_s=3 s") as err:
            train.digits_trial(cfg, cache=cache)
    assert err.value.metrics["energy/train_j"] > 0
    assert err.value.metrics["checkpoint/reused"] == 0.0
    assert trial_energy(TrialRecord(0, {}, "failed", err.value.metrics)).known
    retry = train.digits_trial(cfg, cache=cache)  # the retry loads the checkpoint: the training counted once
    assert retry["energy/train_j"] == 0.0
    assert retry["energy/train_reused_j"] == pytest.approx(err.value.metrics["energy/train_j"])


def test_a_trial_timed_out_in_its_fit_keeps_the_energy_it_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    from lightning_ecopt.demos import DigitsCNN
    from lightning_ecopt.exceptions import TrialTimeoutError

    train = _import_example(monkeypatch, "train")
    step = DigitsCNN.training_step

    def times_out(self: Any, batch: Any, batch_idx: int) -> Any:
        if batch_idx == 3:
            raise TrialTimeoutError(3)
        return step(self, batch, batch_idx)

    monkeypatch.setattr(DigitsCNN, "training_step", times_out)
    with pytest.raises(TrialTimeoutError) as err:
        train.digits_trial(_small_train_config(), cache=None)
    assert err.value.metrics["energy/train_j"] > 0
    assert "energy/source" in err.value.metrics


def test_a_trial_timed_out_while_generating_keeps_the_training_it_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    from omegaconf import OmegaConf

    from lightning_ecopt.demos import TinyTransformerLM
    from lightning_ecopt.exceptions import TrialTimeoutError

    example = _import_example(monkeypatch, "transformer_generation")
    cfg = OmegaConf.load(ROOT / "conf" / "transformer_generation.yaml")
    cfg.trainer.max_steps, cfg.trainer.accelerator, cfg.data.max_chars = 5, "cpu", 20_000
    cfg.model.width, cfg.model.depth = 16, 1

    def times_out(*args: object, **kwargs: object) -> None:
        raise TrialTimeoutError(3)

    monkeypatch.setattr(TinyTransformerLM, "predict_step", times_out)
    with pytest.raises(TrialTimeoutError) as err:
        example.main(cfg)
    assert err.value.metrics["energy/train_j"] > 0
    assert err.value.metrics["energy/test_j"] > 0


def test_a_checkpoint_that_cannot_be_loaded_fails_its_trial_as_one_that_ran_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The cache refuses a truncated file before fit() runs: the trial was reported "energy unknown" (the metrics of a
    # Trainer that never ran), and the ledger's total became a lower bound.
    from lightning_ecopt.checkpoints import CheckpointCache
    from lightning_ecopt.exceptions import NOTHING_RAN, TrialFailure

    train = _import_example(monkeypatch, "train")
    cfg = _small_train_config()
    cache = CheckpointCache(tmp_path / "checkpoints", ["data.eval_batch_size"])
    cache.directory.mkdir()
    cache.path(cache.key(cfg)).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(TrialFailure, match=r"^CheckpointCacheError: .*delete the file to retrain") as err:
        train.digits_trial(cfg, cache=cache)
    assert err.value.metrics == dict(NOTHING_RAN)
