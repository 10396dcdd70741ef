"""examples/train.py's inference knobs: validated before anything runs, and one trained checkpoint serves them all."""

from __future__ import annotations

import hashlib
import importlib
import logging
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _logs_under_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples' trials called outside a Hydra job write their Lightning logs to the working directory: the test's
    own, not the checkout's (``lightning_logs/`` was left in the repository's root by every run of the suite)."""
    monkeypatch.chdir(tmp_path)


def _train(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    return importlib.import_module("train")


def _config() -> object:
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(ROOT / "conf" / "train.yaml")
    cfg.trainer.max_epochs, cfg.data.eval_repeats = 1, 1
    cfg.model.width, cfg.model.depth = 4, 1
    return cfg


@pytest.mark.parametrize(
    ("precision", "match"),
    [
        ("fp32", r"inference.precision='fp32': expected one of 32-true, bf16-mixed, 16-mixed"),
        ("bf16", r"inference.precision='bf16': expected one of"),
        ("16", r"inference.precision='16': expected one of"),  # Lightning would run it as bf16 on CPU
        ("16-mixed", r"inference.precision='16-mixed': the test loop would run 'bf16-mixed' on CPUAccelerator"),
    ],
)
def test_a_precision_the_test_loop_would_not_run_as_named_fails_before_training(
    monkeypatch: pytest.MonkeyPatch, precision: str, match: str
) -> None:
    from lightning_ecopt.exceptions import TrialFailure

    train = _train(monkeypatch)
    cfg = _config()
    cfg.trainer.accelerator = "cpu"
    cfg.inference.precision = precision
    with pytest.raises(TrialFailure, match=match) as err:
        train.digits_trial(cfg, cache=None)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}  # nothing trained


def test_every_knob_reuses_one_checkpoint_and_leaves_it_untouched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lightning_ecopt.checkpoints import CheckpointCache

    train = _train(monkeypatch)
    cfg = _config()
    cache = CheckpointCache(tmp_path, list(cfg.hydra.sweeper.inference_params))
    knobs = [("32-true", False, False), ("bf16-mixed", True, False), ("32-true", True, True), ("32-true", False, False)]
    results, digests = [], []
    for precision, int8, compiled in knobs:
        cfg.inference.precision, cfg.inference.quantize_int8, cfg.inference.compile = precision, int8, compiled
        results.append(train.digits_trial(cfg, cache=cache))
        (checkpoint,) = tmp_path.glob("*.pt")
        digests.append(hashlib.sha256(checkpoint.read_bytes()).hexdigest())
    assert [r["checkpoint/reused"] for r in results] == [0.0, 1.0, 1.0, 1.0]  # trained once
    assert len(set(digests)) == 1  # no knob wrote into the cached weights
    assert results[-1]["test/acc"] == results[0]["test/acc"]  # fp32 again: the same model
    assert all(abs(r["test/acc"] - results[0]["test/acc"]) <= 0.02 for r in results)


def test_compile_compiles_in_the_warmup_batches_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # 359 test digits at batch 64: five full batches, then one of 39. The first batch compiles (a warm-up batch); the
    # last one, of a new size, compiled again inside the measured window, and that one compilation outlasted the
    # rest of the window: samples/J came out ~60x lower than fp32's. Now it runs eagerly there.
    import torch
    from torch._dynamo.utils import counters

    from lightning_ecopt.exceptions import TrialFailure

    train = _train(monkeypatch)
    cfg = _config()
    cfg.energy.min_duration_s = 0.0
    cfg.inference.compile = True
    torch._dynamo.reset()
    before = counters["stats"]["unique_graphs"]
    compiled = train.digits_trial(cfg, cache=None)
    assert counters["stats"]["unique_graphs"] - before == 1
    cfg.energy.warmup_batches = 0  # no warm-up: the compilation would be measured (a review: 12x fewer samples/J)
    with pytest.raises(TrialFailure, match=r"inference.compile=true with energy.warmup_batches=0: .* would compile"):
        train.digits_trial(cfg, cache=None)
    cfg.energy.warmup_batches = 3
    assert compiled["energy/test_samples"] == 359 - 3 * 64  # the window: batches 4-6, the partial one included
    after = counters["stats"]["unique_graphs"]
    add_one = torch.compile(lambda x: x + 1)
    add_one(torch.zeros(2))
    add_one(torch.zeros(3, 3))  # a new shape compiles again: the default stance is back after the loop
    assert counters["stats"]["unique_graphs"] - after == 2
    cfg.inference.compile = False
    assert train.digits_trial(cfg, cache=None)["test/acc"] == compiled["test/acc"]


def test_every_compiled_trial_of_a_process_compiles_its_own_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # Dynamo keeps compiled code per code object up to recompile_limit (8): one process running trial after trial
    # (the basic launcher, a joblib worker) reached it, and its later "compile" trials ran eagerly. A limit of 1 here.
    import torch
    from torch._dynamo.utils import counters

    train = _train(monkeypatch)
    cfg = _config()
    cfg.energy.min_duration_s = 0.0
    cfg.inference.compile = True
    compiled = []
    with torch._dynamo.config.patch(recompile_limit=1):
        for width in (3, 5):
            cfg.model.width = width
            before = counters["stats"]["unique_graphs"]
            train.digits_trial(cfg, cache=None)
            compiled.append(counters["stats"]["unique_graphs"] - before)
    assert compiled == [1, 1]


def test_int8_on_a_gpu_test_loop_is_refused_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lightning moves the fitted model back to CPU, so prepare_for_inference's device check passed, and the int8
    # layers then failed in the first test batch on the GPU, after training.
    from lightning.pytorch.accelerators import CPUAccelerator, CUDAAccelerator
    from omegaconf import OmegaConf

    train = _train(monkeypatch)
    knobs = OmegaConf.create({"precision": "32-true", "quantize_int8": True, "compile": False})
    on_gpu = SimpleNamespace(accelerator=CUDAAccelerator(), precision="32-true")
    refusal = train._knobs_refusal(knobs, on_gpu, 3)
    assert refusal is not None
    assert "quantize_int8=true: dynamic int8 quantisation runs on CPU only" in refusal
    assert "CUDAAccelerator" in refusal
    assert train._knobs_refusal(knobs, SimpleNamespace(accelerator=CPUAccelerator(), precision="32-true"), 3) is None
    knobs.quantize_int8 = False
    assert train._knobs_refusal(knobs, on_gpu, 3) is None


def test_compile_without_a_cpp_compiler_is_refused_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    # prepare_for_inference found it only after the fit: each new training configuration trained, then failed.
    import lightning_ecopt.inference as inference
    from lightning_ecopt.exceptions import TrialFailure

    def no_compiler() -> None:
        raise RuntimeError("prepare_for_inference(compile=True): torch.compile cannot build CPU code here (none)")

    monkeypatch.setattr(inference, "check_cpp_compiler", no_compiler)
    train = _train(monkeypatch)
    cfg = _config()
    cfg.inference.compile = True
    with pytest.raises(TrialFailure, match=r"inference.compile=true: .*cannot build CPU code here") as err:
        train.digits_trial(cfg, cache=None)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}  # nothing trained


def test_a_model_trained_in_bf16_true_is_the_same_model_trained_or_loaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Lightning leaves the fitted weights in bf16: the trial that trained failed its fp32 test ("Input type (float)
    # and bias type (c10::BFloat16)"), the next one loaded them into a float32 model and passed.
    from lightning_ecopt.checkpoints import CheckpointCache

    train = _train(monkeypatch)
    cfg = _config()
    cfg.trainer.precision = "bf16-true"
    cfg.energy.min_duration_s = 0.0
    cache = CheckpointCache(tmp_path, ["data.eval_batch_size"])
    trained = train.digits_trial(cfg, cache=cache)
    cfg.data.eval_batch_size = 32
    loaded = train.digits_trial(cfg, cache=cache)
    assert (trained["checkpoint/reused"], loaded["checkpoint/reused"]) == (0.0, 1.0)
    assert loaded["test/acc"] == trained["test/acc"]


@pytest.mark.parametrize(
    ("section", "key", "value", "match"),
    [
        ("data", "eval_batch_size", 0, "eval_batch_size"),
        ("energy", "warmup_batches", -1, "warmup_batches"),
        ("trainer", "accelerator", "nonsense", "nonsense"),
        # A fit of no step tested the initial weights as the configuration's result; a test of no batch crashed on a
        # KeyError after training, its energy lost.
        ("trainer", "max_epochs", 0, r"trainer.max_epochs=0: no training step would run"),
        ("trainer", "limit_train_batches", 0, r"trainer.limit_train_batches=0: no training step would run"),
        ("trainer", "limit_test_batches", 0, r"trainer.limit_test_batches=0: the test loop is the measured result"),
        ("", "seed", "foo", r"ValueError"),  # raised before the guard: the trial's energy was unknown
    ],
)
def test_a_configuration_that_cannot_be_built_fails_with_no_energy_spent(
    monkeypatch: pytest.MonkeyPatch, section: str, key: str, value: object, match: str
) -> None:
    # Raised as they were, the ledger counted these trials' energy as unknown (the search total a lower bound).
    from lightning_ecopt.exceptions import TrialFailure

    train = _train(monkeypatch)
    cfg = _config()
    (cfg[section] if section else cfg)[key] = value
    with pytest.raises(TrialFailure, match=match) as err:
        train.digits_trial(cfg, cache=None)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}


def test_a_fit_that_ran_no_step_fails_with_its_energy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Early stopping at step 0, a loader of less than a batch: the test scored untrained weights as the result.
    from lightning_ecopt.demos import NO_TRAINING_STEP
    from lightning_ecopt.exceptions import TrialFailure

    train = _train(monkeypatch)
    cfg = _config()
    tested = []
    monkeypatch.setattr("lightning.pytorch.Trainer.fit", lambda self, *args, **kwargs: None)  # returns at step 0
    monkeypatch.setattr("lightning.pytorch.Trainer.test", lambda self, *args, **kwargs: tested.append(1))
    with pytest.raises(TrialFailure, match=r"no training step ran") as err:
        train.digits_trial(cfg, cache=None)
    assert str(err.value) == NO_TRAINING_STEP
    assert tested == []  # the untrained weights were not tested


def test_a_knob_that_is_not_a_bool_fails_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    from lightning_ecopt.exceptions import TrialFailure

    train = _train(monkeypatch)
    cfg = _config()
    cfg.inference.compile = "yes"
    with pytest.raises(TrialFailure, match=r"inference.compile='yes': expected true or false") as err:
        train.digits_trial(cfg, cache=None)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}


def test_compile_with_a_test_loop_inside_its_warm_up_is_refused_before_training(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2 batches under warmup_batches=3: the loop was measured whole, its compilation in the window (108 samples/J
    # against 1,040 eager), and nothing flagged the figure.
    from lightning_ecopt.exceptions import TrialFailure

    train = _train(monkeypatch)
    cfg = _config()
    cfg.trainer.accelerator = "cpu"
    cfg.inference.compile, cfg.data.eval_batch_size = True, 256
    match = (
        r"^inference.compile=true with a test loop of at most 2 batches \(data.eval_batch_size=256, "
        r"data.eval_repeats=1\), not more than energy.warmup_batches=3: .* raise data.eval_repeats"
    )
    with pytest.raises(TrialFailure, match=match) as err:
        train.digits_trial(cfg, cache=None)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}  # nothing trained
    on_cpu = SimpleNamespace(world_size=1, limit_test_batches=1.0)
    data = SimpleNamespace(setup=lambda stage: None, test_set=range(359), eval_repeats=3, eval_batch_size=256)
    assert train._test_batches(data, on_cpu) == 5  # 1,077 samples: enough repeats
    assert train._test_batches(data, SimpleNamespace(world_size=2, limit_test_batches=1.0)) == 3
    assert train._test_batches(data, SimpleNamespace(world_size=1, limit_test_batches=2)) == 2
    assert train._test_batches(data, SimpleNamespace(world_size=1, limit_test_batches=0.5)) == 2


def test_a_multirun_trial_on_two_ddp_devices_is_refused_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lightning's launcher would rerun `train.py -m ...` in rank 1: a second sweep, refused by the sweep's lock, and
    # the whole sweep killed. Refused in the trial instead, before fit() starts any process.
    import functools

    import lightning.pytorch as pl

    import lightning_ecopt.demos
    from lightning_ecopt.exceptions import TrialFailure

    def no_fit(self: object, *args: object, **kwargs: object) -> None:
        raise AssertionError("fit() ran: its launcher would start the command line again")

    monkeypatch.setattr(pl.Trainer, "fit", no_fit)
    in_a_multirun = functools.partial(lightning_ecopt.demos.processes_in_a_sweep, multirun=True)
    monkeypatch.setattr(lightning_ecopt.demos, "processes_in_a_sweep", in_a_multirun)
    train = _train(monkeypatch)
    cfg = _config()
    cfg.trainer.accelerator, cfg.trainer.devices, cfg.trainer.strategy = "cpu", 2, "ddp"
    with pytest.raises(TrialFailure, match=r"^trainer.devices=2 \(num_nodes=1\) with DDPStrategy .* multirun") as err:
        train.digits_trial(cfg, cache=None)
    assert err.value.metrics == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}  # nothing ran


def test_the_trial_line_says_the_training_energy_was_not_measured_with_energy_train_false(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # It logged "train nan J".
    train = _train(monkeypatch)
    cfg = _config()
    cfg.energy.train = False
    with caplog.at_level(logging.INFO, logger="train"):
        metrics = train.digits_trial(cfg, cache=None)
    assert "energy/train_j" not in metrics
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("test/acc")]
    assert line.endswith("| train not measured (energy.train=false)")
