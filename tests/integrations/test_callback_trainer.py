"""EnergyCallback with real Trainers on this CPU: the estimator path end to end, TensorBoard, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lightning.pytorch import Trainer
from lightning.pytorch.demos.boring_classes import BoringModel
from lightning.pytorch.loggers import TensorBoardLogger

from lightning_ecopt import EnergyCallback
from lightning_ecopt.demos import DigitsCNN, DigitsDataModule

SCRIPTS = Path(__file__).parent / "scripts"


def test_boring_model_estimated_on_cpu() -> None:
    cb = EnergyCallback(warmup_batches=2)
    trainer = Trainer(callbacks=[cb], limit_test_batches=12, logger=False, enable_progress_bar=False)
    with pytest.warns(UserWarning, match="ESTIMATED"):
        trainer.test(BoringModel(), verbose=False)
    r = cb.results["test"]
    assert r.source == "estimated: cpu-time"
    assert (r.batches, r.samples) == (10, 10)  # BoringModel's test batches hold one sample each
    m = trainer.callback_metrics
    for key in ("energy/test_j", "energy/test_cpu_j", "energy/test_time_s", "energy/test_samples_per_j"):
        assert m[key].item() > 0, key
    assert "energy/test_gpu_j" not in m  # no GPU was read: no figure, rather than a 0 J that looks measured
    assert r.gpu_j is None


def test_digits_cnn_with_tensorboard(tmp_path: Path) -> None:
    dm = DigitsDataModule(eval_batch_size=32, eval_repeats=2)
    cb = EnergyCallback(meter="estimate", warmup_batches=3, train=True)
    logger = TensorBoardLogger(tmp_path, name="tb")
    trainer = Trainer(
        callbacks=[cb], max_epochs=1, logger=logger, enable_progress_bar=False, enable_checkpointing=False
    )
    model = DigitsCNN(width=8, depth=2, kernel=3)
    trainer.fit(model, dm)
    (out,) = trainer.test(model, dm, verbose=False)

    test_size = len(dm.test_set)
    assert test_size == 359  # 20 % of scikit-learn's 1,797 digits
    batches = -(-2 * test_size // 32)  # the test set twice, in batches of 32
    r = cb.results["test"]
    assert r.batches == batches - 3
    assert r.samples == 2 * test_size - 3 * 32
    assert out["energy/test_samples"] == r.samples
    assert out["energy/test_samples_per_j"] == pytest.approx(r.samples / r.energy_j, rel=1e-5)
    assert out["model/params"] == sum(p.numel() for p in model.parameters())
    assert out["model/flops_per_sample"] > 0
    assert cb.results["train"].energy_j > 0
    assert 0 <= out["test/acc"] <= 1

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(logger.log_dir)
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    assert {"energy/test_samples_per_j", "energy/test_j_per_batch", "energy/train_j"} <= scalars
    logged = acc.Scalars("energy/test_samples_per_j")[-1].value
    assert logged == pytest.approx(out["energy/test_samples_per_j"], rel=1e-5)
    assert logger.hparams["energy/test_source"] == "estimated: cpu-time"
    assert logger.hparams["energy/train_source"] == "estimated: cpu-time"
    # In TensorBoard the labels are text beside the figures: a second HParams session (TensorBoard shows the first
    # only) would hide them and log hp_metric = -1 again.
    assert {"energy/test_source/text_summary", "energy/train_source/text_summary"} <= set(acc.Tags()["tensors"])
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import metadata

    sessions = [
        metadata.parse_session_start_info_plugin_data(value.metadata.plugin_data.content)
        for path in Path(logger.log_dir).glob("events.out.tfevents.*")
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
        if value.tag == metadata.SESSION_START_INFO_TAG
    ]
    assert sessions  # Lightning's own, with the module's hyperparameters (at fit and at test)
    assert all(set(s.hparams) == set(model.hparams) for s in sessions)  # none of ours
    assert len(acc.Scalars("hp_metric")) == len(sessions)  # no hp_metric = -1 of ours


def test_ddp_sums_ranks() -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "ddp_energy.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=SCRIPTS,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert result["world_size"] == 2
    # 16 batches of 4 split over 2 ranks: 8 each, 2 of them warm-up: 6 measured per rank, summed.
    assert result["batches"] == 12
    assert result["samples"] == 48
    assert result["logged_samples"] == 48
    assert result["warmup_batches"] == 4  # every rank's, as the batches
    assert result["source"] == "estimated: cpu-time"
    assert result["energy_j"] > 0
    # 22 texts over 2 ranks: 11 each, in batches of 4, 4, 3 (Lightning's unrepeated shards), 2 of them warm-up: the
    # last, partial batch measured per rank counts its 3 samples, not the batch_size 4.
    assert (result["predict_samples"], result["predict_batches"], result["predict_warmup_batches"]) == (6, 2, 4)


def test_ddp_checkpoints_carry_every_rank_s_training_energy_into_the_resumed_fit(tmp_path: Path) -> None:
    """Rank 0 writes the checkpoint: its state holds both ranks' joules (gathered at the save), and the resumed fit
    adds them once to both ranks' new part (1 J a step on rank 0, 2 J on rank 1: 3 J a step)."""

    def run(phase: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, str(SCRIPTS / "ddp_fit_resume.py"), phase, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            cwd=SCRIPTS,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
        result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
        assert result["world_size"] == 2
        return result

    first = run("first")
    assert first["logged"] == {"energy/train_j": 24.0, "energy/train_time_s": 8.0}  # 8 steps of both ranks
    assert (first["state"]["gpu_j"], first["state"]["time_s"], first["state"]["global_step"]) == (24.0, 8.0, 8)
    resumed = run("resume")
    assert resumed["logged"] == {
        "energy/train_j": 36.0,
        "energy/train_time_s": 12.0,
        "energy/train_carried_j": 24.0,
        "energy/train_carried_time_s": 8.0,
        "energy/train_resumed_from_step": 8.0,
    }
    assert (resumed["state"]["gpu_j"], resumed["state"]["global_step"]) == (36.0, 12)


def _cli_config(tmp_path: Path, init_args: str) -> Path:
    """A LightningCLI config file adding an EnergyCallback, as users write one."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "trainer:\n"
        "  logger: false\n"
        "  enable_progress_bar: false\n"
        "  callbacks:\n"
        "    - class_path: lightning_ecopt.EnergyCallback\n"
        f"      init_args: {init_args}\n"
        "data:\n"
        "  eval_batch_size: 64\n"
    )
    return path


def test_lightning_cli_builds_the_callback_from_its_config(tmp_path: Path) -> None:
    pytest.importorskip("jsonargparse")
    from lightning.pytorch.cli import LightningCLI

    config = _cli_config(tmp_path, "{meter: estimate, warmup_batches: 1, per_batch: split}")
    cli = LightningCLI(DigitsCNN, DigitsDataModule, args=["test", "--config", str(config)], save_config_callback=None)
    (cb,) = (c for c in cli.trainer.callbacks if isinstance(c, EnergyCallback))
    r = cb.results["test"]
    assert r.source == "estimated: cpu-time"
    assert r.per_batch_mode == "split"
    test_size = len(cli.datamodule.test_set)
    assert r.samples == test_size - 64  # one warm-up batch of 64 left out
    assert cli.trainer.callback_metrics["energy/test_samples"] == r.samples


def test_lightning_cli_says_which_callback_value_is_bad(tmp_path: Path) -> None:
    pytest.importorskip("jsonargparse")
    from lightning.pytorch.cli import LightningCLI

    config = _cli_config(tmp_path, "{warmup_batches: -1}")
    # jsonargparse instantiates the callback after parsing, so the callback's own message reaches the user
    with pytest.raises(ValueError, match=r"EnergyCallback\(warmup_batches=-1\): expected an int >= 0"):
        LightningCLI(DigitsCNN, DigitsDataModule, args=["test", "--config", str(config)], save_config_callback=None)


def test_lightning_cli_help_lists_the_callbacks_choices(capsys: pytest.CaptureFixture[str]) -> None:
    # docs/callback.md's `python main.py test --trainer.callbacks.help lightning_ecopt.EnergyCallback`
    pytest.importorskip("jsonargparse")
    from lightning.pytorch.cli import LightningCLI

    args = ["test", "--trainer.callbacks.help", "lightning_ecopt.EnergyCallback"]
    with pytest.raises(SystemExit) as exit_info:
        LightningCLI(DigitsCNN, DigitsDataModule, args=args, save_config_callback=None)
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
    assert "--trainer.callbacks.per_batch {auto,window,split}" in out
    assert "--trainer.callbacks.predict_flops {forward,predict_step}" in out
    assert "Literal['auto', 'zeus', 'estimate']" in out  # the meter's names
    assert 'any of ``"test"`` (default), ``"predict"``, ``"validate"``' in out  # the stages, from the docstring


def test_lightning_cli_saved_config_builds_the_same_callback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SaveConfigCallback writes the callback's init_args (a meter given by class_path, a count_fn by import path);
    # the written config builds the same callback again
    pytest.importorskip("jsonargparse")
    from lightning.pytorch.cli import LightningCLI

    (tmp_path / "ecopt_cli_counts.py").write_text("def seven(batch, outputs):\n    return 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = _cli_config(
        tmp_path,
        "{meter: {class_path: lightning_ecopt.energy.CpuTimeEstimator, init_args: {watts_per_thread: 4.0}}, "
        "count_fn: ecopt_cli_counts.seven, warmup_batches: 1, min_duration_s: auto}",
    )
    args = ["--config", str(config), "--trainer.limit_test_batches=3", "--trainer.default_root_dir", str(tmp_path)]
    LightningCLI(
        DigitsCNN, DigitsDataModule, args=["test", *args], save_config_kwargs={"config_filename": "saved.yaml"}
    )
    saved = tmp_path / "saved.yaml"  # no logger: written to default_root_dir
    text = saved.read_text()
    assert "count_fn: ecopt_cli_counts.seven" in text
    assert "min_duration_s: auto" in text

    cli = LightningCLI(DigitsCNN, DigitsDataModule, args=["test", "--config", str(saved)], save_config_callback=None)
    (cb,) = (c for c in cli.trainer.callbacks if isinstance(c, EnergyCallback))
    r = cb.results["test"]
    assert r.source == "estimated: cpu-time (4 W/thread)"
    assert (r.batches, r.tokens) == (2, 14)  # 3 batches, 1 of them warm-up; 7 tokens each
