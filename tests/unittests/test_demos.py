"""The offline demo data: what a sweep over inference-only parameters may and may not change."""

from __future__ import annotations

import contextlib
import math
import warnings
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader

from lightning_ecopt.demos import CharTextDataModule, DigitsCNN, DigitsDataModule
from lightning_ecopt.inference import TimedPasses


def test_validation_runs_at_the_training_batch_size_not_the_swept_inference_one() -> None:
    # Validation is part of training: were it run at eval_batch_size, a batch-size sweep would pay a different
    # training cost per trial (batch 1 validated 3-5x dearer) and a reused checkpoint would carry the wrong one.
    dm = DigitsDataModule(batch_size=32, eval_batch_size=1, eval_repeats=2)
    dm.setup()
    assert dm.val_dataloader().batch_size == 32
    assert dm.train_dataloader().batch_size == 32
    assert dm.test_dataloader().batch_size == dm.predict_dataloader().batch_size == 1
    assert len(dm.test_dataloader().dataset) == 2 * len(dm.test_set)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 0}, r"DigitsCNN\(width=0\): expected an int >= 1"),
        ({"kernel": 4}, r"DigitsCNN\(kernel=4\): choose from"),
        ({"pooling": "flase"}, r"DigitsCNN\(pooling='flase'\): expected true or false"),  # read as True before
        ({"depth": 4, "pooling": True}, r"shrinks the 8x8 image to nothing after 3 blocks"),
        ({"lr": 0.0}, r"DigitsCNN\(lr=0.0\): expected a learning rate > 0"),
    ],
)
def test_a_digits_cnn_that_cannot_be_built_says_which_value(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DigitsCNN(**kwargs)


def test_digits_cnn_logs_loop_figures_over_every_sample_once_per_loop() -> None:
    from lightning.pytorch import Trainer

    dm = DigitsDataModule(batch_size=50, eval_batch_size=7)
    model = DigitsCNN(width=4, depth=1, kernel=3)
    trainer = Trainer(
        max_epochs=1,
        limit_train_batches=2,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, datamodule=dm)
    logged: list[str] = []
    log = model.log

    def spy(name: str, *args: Any, **kwargs: Any) -> None:
        logged.append(name)
        log(name, *args, **kwargs)

    model.log = spy  # type: ignore[method-assign]
    (validated,) = trainer.validate(model, datamodule=dm, verbose=False)
    (tested,) = trainer.test(model, datamodule=dm, verbose=False)
    assert sorted(logged) == ["test/acc", "val/acc", "val/loss"]  # once per loop, not once per batch
    model.eval()
    with torch.no_grad():
        for split, returned in (("val", validated), ("test", tested)):
            x, y = dm.val_set[:] if split == "val" else dm.test_set[:]
            logits = model(x)
            assert returned[f"{split}/acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item(), abs=1e-6)
            if split == "val":  # the mean over samples, though the last batch is shorter
                assert returned["val/loss"] == pytest.approx(
                    torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-5
                )


def test_timed_test_passes_stay_whole_and_match_the_fixed_repeats() -> None:
    # eval_min_s: the test set is repeated only until the energy window is long enough; the batches are those of the
    # fixed repeats, cut at a whole pass, so accuracy over them is the accuracy over the test set.
    fixed = DigitsDataModule(eval_batch_size=64, eval_repeats=3)
    timed = DigitsDataModule(eval_batch_size=64, eval_repeats=3, eval_min_s=1e-9, eval_warmup_batches=1)
    fixed.setup()
    timed.setup()
    passes = timed.test_dataloader()
    assert isinstance(passes, TimedPasses)
    assert passes.max_passes == 3
    assert passes.warmup_batches == 1
    got, want = list(passes), list(fixed.test_dataloader())
    n = len(timed.test_set)
    assert sum(len(y) for _, y in got) == n * passes.passes  # whole passes
    assert 1 <= passes.passes < 3  # a window of 1 ns is long enough after the first pass
    # The same batches as far as the timed ones go; only the last, which ends the pass, may be shorter.
    assert all(len(y) == 64 for _, y in got[:-1])
    for (x, y), (x_ref, y_ref) in zip(got, want, strict=False):
        assert torch.equal(x, x_ref[: len(x)])
        assert torch.equal(y, y_ref[: len(y)])
    assert isinstance(timed.predict_dataloader(), TimedPasses)


def test_timed_passes_fall_back_to_fixed_repeats_on_several_devices() -> None:
    # Each process would time its own passes and the ranks would run different batches: fixed repeats instead.
    dm = DigitsDataModule(eval_batch_size=8, eval_repeats=2, eval_min_s=0.2)
    dm.setup()
    dm.trainer = SimpleNamespace(world_size=2)  # type: ignore[assignment]
    with pytest.warns(UserWarning, match=r"on 2 devices the test passes are fixed: all eval_repeats=2 of them"):
        loader = dm.test_dataloader()
    assert isinstance(loader, DataLoader)
    assert len(loader.dataset) == 2 * len(dm.test_set)
    # Fixed passes asked for (eval_min_s=0): nothing to say.
    fixed = DigitsDataModule(eval_repeats=2)
    fixed.setup()
    fixed.trainer = SimpleNamespace(world_size=2)  # type: ignore[assignment]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fixed.test_dataloader()


def test_generation_passes_on_several_devices_say_they_run_every_repeat() -> None:
    dm = CharTextDataModule(max_chars=5_000, n_prompts=4, gen_repeats=3, gen_min_s="auto")
    dm.trainer = SimpleNamespace(world_size=4, callbacks=[])  # type: ignore[assignment]
    with pytest.warns(UserWarning, match=r"on 4 devices the generation passes are fixed: all gen_repeats=3 of them"):
        dm.predict_dataloader()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eval_min_s": -0.1}, r"eval_min_s=-0.1\): expected seconds >= 0"),
        ({"eval_min_s": math.nan}, r"eval_min_s=nan\): expected seconds >= 0"),
        ({"eval_min_s": True}, r"eval_min_s=True\): expected seconds >= 0"),
        ({"eval_warmup_batches": -1}, r"eval_warmup_batches=-1\): expected an int >= 0"),
        ({"eval_warmup_batches": 1.5}, r"eval_warmup_batches=1.5\): expected an int >= 0"),
        ({"eval_min_s": 0.2, "num_workers": 2}, r"eval_min_s=0.2, num_workers=2\): timed test passes"),
        ({"eval_repeats": 0}, r"eval_repeats=0\): expected an int >= 1"),
    ],
)
def test_bad_evaluation_settings_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DigitsDataModule(**kwargs)


@pytest.mark.parametrize("batch", [1, 3, 5, 8, 13])
def test_generation_batches_are_whole_and_hold_every_prompt_after_the_warmup(batch: int) -> None:
    # tokens/J at a generation batch size must be measured on batches of that size: 8 prompts at batch 5 used to be
    # a warm-up batch of 5 and a measured batch of 3; at batch 8 or 13 the whole loop was warm-up.
    dm = CharTextDataModule(
        max_chars=20_000, n_prompts=8, prompt_len=4, gen_batch_size=batch, gen_repeats=3, gen_warmup_batches=1
    )
    dm.setup()
    prompts = dm.prompts()
    assert prompts.shape == (8, 4)
    batches = list(dm.predict_dataloader())
    per_pass = 1 + -(-8 // batch)  # the warm-up batch, then enough batches for every prompt
    assert len(batches) == 3 * per_pass  # gen_min_s=0: always gen_repeats passes
    assert all(b.shape == (batch, 4) for b in batches)
    measured_first_pass = torch.cat(batches[1:per_pass])
    assert {tuple(p.tolist()) for p in measured_first_pass} == {tuple(p.tolist()) for p in prompts}
    assert all(any(torch.equal(row, p) for p in prompts) for b in batches for row in b)


def test_generation_passes_stop_once_the_window_is_long_enough() -> None:
    dm = CharTextDataModule(
        max_chars=20_000,
        n_prompts=8,
        prompt_len=4,
        gen_batch_size=3,
        gen_repeats=5,
        gen_min_s=1e-9,
        gen_warmup_batches=1,
    )
    dm.setup()
    passes = dm.predict_dataloader()
    assert isinstance(passes, TimedPasses)
    assert (passes.batch_size, passes.max_passes, passes.warmup_batches) == (3, 5, 1)
    batches = list(passes)
    assert 1 <= passes.passes < 5
    assert len(batches) == passes.passes * 4
    assert all(len(b) == 3 for b in batches)
    dm.trainer = SimpleNamespace(world_size=2)  # type: ignore[assignment]
    fixed = dm.predict_dataloader()  # several devices: fixed passes, so every rank runs the same batches
    assert isinstance(fixed, DataLoader)
    assert len(fixed.dataset) == 5 * 12


def test_one_generation_pass_by_default() -> None:
    dm = CharTextDataModule(max_chars=20_000, n_prompts=8, prompt_len=4, gen_batch_size=3)
    dm.setup()
    batches = list(dm.predict_dataloader())
    assert [len(b) for b in batches] == [3, 3, 3]  # the last batch filled up with the first prompt again
    assert torch.equal(torch.cat(batches)[:8], dm.prompts())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gen_min_s": -1.0}, r"gen_min_s=-1.0\): expected seconds >= 0"),
        ({"gen_min_s": math.inf}, r"gen_min_s=inf\): expected seconds >= 0"),
        ({"gen_warmup_batches": -1}, r"gen_warmup_batches=-1\): expected an int >= 0"),
        ({"gen_repeats": 0}, r"gen_repeats=0\): expected an int >= 1"),
        ({"gen_min_s": 0.2, "num_workers": 2}, r"gen_min_s=0.2, num_workers=2\): timed generation passes"),
    ],
)
def test_bad_generation_settings_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CharTextDataModule(max_chars=20_000, **kwargs)


def test_a_training_batch_larger_than_the_training_split_is_refused_before_any_training():
    # The training loader drops a partial batch: no step ran, and the perplexity of untrained weights was reported.
    from lightning_ecopt.demos import CharTextDataModule

    with pytest.raises(ValueError, match=r"batch_size=1000, seq_len=128.*holds 124 windows.*at most 124"):
        CharTextDataModule(seq_len=128, max_chars=20_000, batch_size=1000)
    CharTextDataModule(seq_len=128, max_chars=20_000, batch_size=124)


def test_more_prompts_than_the_test_text_holds_are_refused_before_any_training():
    # 1,000 characters: a test split of 100 holds 85 prompts of 16; the 86th was 15 characters long, and
    # torch.stack failed in predict_dataloader, after the training.
    from lightning_ecopt.demos import CharTextDataModule

    with pytest.raises(ValueError, match=r"n_prompts=100, prompt_len=16.*holds 85 distinct prompts"):
        CharTextDataModule(seq_len=16, max_chars=1000, n_prompts=100, prompt_len=16)
    prompts = CharTextDataModule(seq_len=16, max_chars=1000, n_prompts=85, prompt_len=16).prompts()
    assert prompts.shape == (85, 16)


def test_timed_passes_last_as_long_as_the_trainers_energy_callback_asks_with_auto() -> None:
    """``energy.min_duration_s: auto`` in the examples' configs: 0.2 s on the CPU estimate, 2 s (20 updates) on a
    0.1 s counter such as NVML's. The data module's ``eval_min_s: auto`` takes the callback's resolved figure, so the
    main job runs unchanged on a GPU and its windows are long enough there (0.2 s were two NVML steps)."""
    from lightning.pytorch import Trainer

    from ecopt_testing import FakeClock, FakeMeter
    from lightning_ecopt import EnergyCallback

    for period_s, want_s in ((1e-6, 0.2), (0.1, 2.0)):
        cb = EnergyCallback(meter=FakeMeter(FakeClock(), update_period_s=period_s), min_duration_s="auto")
        dm = DigitsDataModule(eval_batch_size=64, eval_repeats=2, eval_min_s="auto", eval_warmup_batches=1)
        trainer = Trainer(accelerator="cpu", callbacks=[cb], logger=False, enable_progress_bar=False)
        trainer.test(DigitsCNN(width=2, depth=1), dm, verbose=False)
        assert cb.min_duration_s == pytest.approx(want_s)
        passes = trainer.test_dataloaders
        assert isinstance(passes, TimedPasses)
        assert passes.min_s == pytest.approx(want_s)

    # No EnergyCallback measures the loop: nothing to take the figure from.
    dm = DigitsDataModule(eval_min_s="auto")
    dm.setup()
    dm.trainer = SimpleNamespace(world_size=1, callbacks=[])  # type: ignore[assignment]
    with pytest.raises(ValueError, match=r"eval_min_s='auto' takes the min_duration_s of the trainer's EnergyCallback"):
        dm.test_dataloader()
    with pytest.raises(ValueError, match=r"eval_min_s='aut'\): expected seconds >= 0 or 'auto'"):
        DigitsDataModule(eval_min_s="aut")


@pytest.mark.parametrize("seed", ["foo", 1.5, True, 2**64, None])
def test_a_bad_split_seed_is_refused_before_the_data_loads(seed: object) -> None:
    """Before: ``data.seed=foo`` passed, then the split failed with torch's "manual_seed expected a long"."""
    with pytest.raises(ValueError, match=r"DigitsDataModule\(seed=.*\): expected an integer seed for the split"):
        DigitsDataModule(seed=seed)  # type: ignore[arg-type]


def test_generation_passes_take_auto_from_the_callback_that_measures_the_predict_loop() -> None:
    from lightning_ecopt import EnergyCallback

    dm = CharTextDataModule(max_chars=5_000, n_prompts=4, gen_repeats=3, gen_min_s="auto")
    test_only = EnergyCallback(stages=("test",), min_duration_s=9.0)
    dm.trainer = SimpleNamespace(world_size=1, callbacks=[test_only])  # type: ignore[assignment]
    with pytest.raises(ValueError, match=r"gen_min_s='auto' .* no EnergyCallback measures the predict loop"):
        dm.predict_dataloader()
    predict = EnergyCallback(stages=("predict",), min_duration_s=1.5)
    dm.trainer = SimpleNamespace(world_size=1, callbacks=[test_only, predict])  # type: ignore[assignment]
    passes = dm.predict_dataloader()
    assert isinstance(passes, TimedPasses)
    assert passes.min_s == 1.5


def test_auto_takes_the_longest_callback_of_the_loop_and_refuses_before_setup() -> None:
    from lightning_ecopt import EnergyCallback
    from lightning_ecopt.inference import callback_min_duration_s

    test_1s, test_3s = EnergyCallback(min_duration_s=1.0), EnergyCallback(min_duration_s=3)
    predict = EnergyCallback(stages=("predict",), min_duration_s=5.0)
    dm = DigitsDataModule(eval_repeats=2, eval_min_s="auto")
    dm.setup()
    dm.trainer = SimpleNamespace(world_size=1, callbacks=[test_1s, predict, test_3s])  # type: ignore[assignment]
    test_passes, predict_passes = dm.test_dataloader(), dm.predict_dataloader()
    assert isinstance(test_passes, TimedPasses)
    assert isinstance(predict_passes, TimedPasses)
    assert (test_passes.min_s, predict_passes.min_s) == (3.0, 5.0)

    # Lightning sets up the data module before the callbacks: "auto" is not resolved yet there.
    unresolved = SimpleNamespace(
        callbacks=[EnergyCallback(min_duration_s="auto")],
        strategy=SimpleNamespace(root_device=torch.device("cpu")),
        local_rank=0,
    )
    with pytest.raises(ValueError, match=r"before the trainer set the callback up .* not from the data module's setup"):
        callback_min_duration_s(unresolved, "test")


def test_auto_timed_passes_refuse_workers_too() -> None:
    with pytest.raises(ValueError, match=r"eval_min_s='auto', num_workers=2\): timed test passes"):
        DigitsDataModule(eval_min_s="auto", num_workers=2)


@pytest.mark.parametrize("strategy", ["ddp", "ddp_spawn"])
def test_a_multirun_trial_on_a_trainer_that_starts_its_own_ranks_is_refused(strategy: str) -> None:
    # Lightning's DDP launcher reruns the command line, `-m` included: each rank started the sweep over, the lock
    # refused the second and the sweep was killed (exit 137); under ddp_spawn every trial failed "no training step".
    import lightning.pytorch as pl

    from lightning_ecopt.demos import processes_in_a_sweep

    quiet = {"logger": False, "enable_progress_bar": False, "enable_model_summary": False}
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy=strategy, **quiet)
    refusal = processes_in_a_sweep(trainer, multirun=True)
    assert refusal is not None
    assert refusal.startswith("trainer.devices=2 (num_nodes=1) with DDPStrategy (")
    assert "in a multirun (-m) Lightning would start the other ranks itself" in refusal
    assert "hydra/launcher=submitit_slurm with hydra.launcher.tasks_per_node=2" in refusal
    assert "trainer.devices=1" in refusal
    assert processes_in_a_sweep(trainer, multirun=False) is None  # a single run: Lightning's launcher works
    assert processes_in_a_sweep(pl.Trainer(accelerator="cpu", devices=1, **quiet), multirun=True) is None
    assert processes_in_a_sweep(trainer) is None  # outside Hydra: not a multirun


def test_a_multirun_trial_under_slurm_s_own_tasks_is_not_refused() -> None:
    # submitit_slurm with tasks_per_node=<devices>: SLURM starts the ranks, Lightning joins them.
    from lightning.fabric.plugins.environments import SLURMEnvironment

    from lightning_ecopt.demos import processes_in_a_sweep

    launcher = SimpleNamespace(cluster_environment=SLURMEnvironment(auto_requeue=False))
    trainer = SimpleNamespace(strategy=SimpleNamespace(launcher=launcher), num_devices=2, num_nodes=1)
    assert processes_in_a_sweep(trainer, multirun=True) is None


def test_a_logger_and_callbacks_from_the_trainer_config_are_built_beside_the_app_s_own() -> None:
    """A review found `+trainer.logger=...` crashing every trial: Trainer() got multiple values for 'logger'."""
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger
    from omegaconf import OmegaConf

    from lightning_ecopt.demos import trainer_settings

    csv = {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": "."}
    monitor = {"_target_": "lightning.pytorch.callbacks.LearningRateMonitor"}
    cfg = OmegaConf.create({"max_epochs": 1, "logger": csv, "callbacks": [monitor]})
    kwargs, logger, callbacks = trainer_settings(cfg, lambda: "default")
    assert kwargs == {"max_epochs": 1}
    assert isinstance(logger, CSVLogger)
    assert [type(c) for c in callbacks] == [LearningRateMonitor]
    named = OmegaConf.create({"logger": {"a": csv, "b": csv}, "callbacks": {"lr": monitor}})
    _, loggers, callbacks = trainer_settings(named, lambda: "default")
    assert [type(x) for x in loggers] == [CSVLogger, CSVLogger]  # a mapping of names: a list of loggers
    assert [type(c) for c in callbacks] == [LearningRateMonitor]
    assert trainer_settings(OmegaConf.create({"logger": [csv]}), lambda: "default")[1][0].save_dir == "."
    for default in ({}, {"logger": None}, {"logger": True}, {"callbacks": None}):
        assert trainer_settings(OmegaConf.create(default), lambda: "default")[1:] == ("default", [])
    assert trainer_settings({"logger": []}, lambda: "default")[1] is False


_CSV = {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": "."}
_MONITOR = {"_target_": "lightning.pytorch.callbacks.LearningRateMonitor"}


@pytest.mark.parametrize(
    ("trainer", "loggers", "callbacks"),
    [
        # A null entry switches one entry of a named mapping off, as the lightning-hydra-template's instantiators skip
        # it (a review found it refused: "a mapping without _target_ must map names to configs with _target_").
        ({"logger": {"csv": _CSV, "wandb": None}}, ["CSVLogger"], []),
        ({"callbacks": {"lr": _MONITOR, "early_stopping": None}}, "default", ["LearningRateMonitor"]),
        ({"logger": {"wandb": None}, "callbacks": {"lr": None}}, False, []),  # every entry off: none
        ({"logger": [_CSV, None], "callbacks": [None, _MONITOR]}, ["CSVLogger"], ["LearningRateMonitor"]),
        ({"logger": {}, "callbacks": {}}, False, []),  # {} like []: it was refused, [] accepted
        ({"callbacks": False}, "default", []),  # it was refused with "expected false (no logger)..."
        ({"callbacks": []}, "default", []),
    ],
)
def test_a_logger_or_callbacks_in_the_template_s_other_forms_are_taken(
    trainer: dict[str, Any], loggers: Any, callbacks: list[str]
) -> None:
    from omegaconf import OmegaConf

    from lightning_ecopt.demos import trainer_settings

    for given in (trainer, OmegaConf.create(trainer)):  # a plain mapping and the config Hydra gives
        _, logger, built = trainer_settings(given, lambda: "default")
        assert (logger if not isinstance(logger, list) else [type(x).__name__ for x in logger]) == loggers
        assert [type(c).__name__ for c in built] == callbacks


_LOGGER_FORMS = r"expected false, \[\] or \{\} \(no logger\), true or null \(the app's default\), a mapping"
_CALLBACK_FORMS = r"expected null, false, \[\] or \{\} \(none beside the app's own\), a mapping"


@pytest.mark.parametrize(
    ("trainer", "match"),
    [
        ({"logger": "csv"}, r"trainer.logger: 'csv' is not a logger config; " + _LOGGER_FORMS),
        ({"callbacks": [{"patience": 3}]}, r"trainer.callbacks: \{'patience': 3\} has no _target_.*" + _CALLBACK_FORMS),
        ({"logger": {"save_dir": "."}}, r"trainer.logger=\{'save_dir': '.'\}: a mapping without _target_ must map"),
        ({"logger": {"csv": _CSV, "dir": "."}}, r"trainer.logger=.*: a mapping without _target_ must map names"),
        # The forms named are the key's own: they described loggers for trainer.callbacks too.
        ({"callbacks": True}, r"trainer.callbacks: True is not a callback config; " + _CALLBACK_FORMS),
        ({"callbacks": "lr"}, r"trainer.callbacks: 'lr' is not a callback config; " + _CALLBACK_FORMS),
        ({"callbacks": [[_MONITOR]]}, r"trainer.callbacks: \[\{.*\}\] is not a callback config"),
        ({"logger": [False]}, r"trainer.logger: False is not a logger config"),
    ],
)
def test_a_logger_or_callbacks_of_no_known_form_are_named(trainer: dict[str, Any], match: str) -> None:
    from lightning_ecopt.demos import trainer_settings

    with pytest.raises(TypeError, match=match):
        trainer_settings(trainer, lambda: "default")


class _Run:
    def __init__(self, module: SimpleNamespace) -> None:
        self.module = module
        self.exit_codes: list[int] = []

    def finish(self, exit_code: int = 0) -> None:
        self.exit_codes.append(exit_code)
        self.module.run = None


def test_a_trial_ends_the_w_and_b_run_it_opened_and_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    """A review found trial 1 of a sweep on the basic launcher logging into trial 0's W&B run (never finished)."""
    import sys

    from lightning_ecopt.demos import ending_tracker_runs

    wandb = SimpleNamespace(run=None)
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    opened = []
    for fails in (False, True):
        with contextlib.suppress(RuntimeError), ending_tracker_runs():
            wandb.run = _Run(wandb)  # what WandbLogger.experiment opens
            opened.append(wandb.run)
            if fails:
                raise RuntimeError("the trial failed")
        assert wandb.run is None
    assert [run.exit_codes for run in opened] == [[0], [1]]
    users = wandb.run = _Run(wandb)  # the user's own wandb.init(), before the trial: left open
    with ending_tracker_runs():
        pass
    assert wandb.run is users
    assert users.exit_codes == []
    monkeypatch.delitem(sys.modules, "wandb")
    with ending_tracker_runs():  # no wandb imported: nothing to end, nothing imported
        pass
    assert "wandb" not in sys.modules


def test_the_digits_follow_a_default_dtype_the_users_script_set() -> None:
    """``torch.set_default_dtype(torch.float64)`` before the demo: the model's weights are float64, so are the images.

    The images were float32 whatever the default, and the first convolution raised "Input type (float) and bias type
    (double) should be the same".
    """
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        data, model = DigitsDataModule(batch_size=8), DigitsCNN(width=2, depth=1)
        data.setup("fit")
        x, _ = next(iter(data.train_dataloader()))
        assert x.dtype == torch.float64
        assert model(x).dtype == torch.float64
    finally:
        torch.set_default_dtype(before)
    data = DigitsDataModule(batch_size=8)
    data.setup("fit")
    assert next(iter(data.train_dataloader()))[0].dtype == torch.float32
