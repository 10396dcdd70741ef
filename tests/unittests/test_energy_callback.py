"""EnergyCallback on a real Trainer with an injected fake meter: exact logged values."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer, seed_everything
from lightning.pytorch.demos.boring_classes import BoringModel, RandomDataset
from lightning.pytorch.loggers import Logger
from lightning.pytorch.profilers import SimpleProfiler
from torch.utils.data import DataLoader, TensorDataset

from ecopt_testing import FakeClock, FakeMeter, FakeReadingMeter, user_warnings_as_errors
from lightning_ecopt import EnergyCallback, trial_metrics
from lightning_ecopt.callbacks import energy as energy_module
from lightning_ecopt.callbacks.energy import _parameter_count
from lightning_ecopt.demos import TinyTransformerLM

BATCH = 4


class RecordingLogger(Logger):
    """Keeps every logged metric and hyperparameter."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, float] = {}
        self.calls: list[dict[str, float]] = []
        self.hparams: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return "recording"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.calls.append(dict(metrics))
        self.metrics.update(metrics)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        self.hparams.update(params)


class ClockedModel(BoringModel):
    """Every evaluation batch takes 0.5 s and 2 J (GPU) + 1 J (CPU) on the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def _tick(self) -> None:
        self.clock.advance(time_s=0.5, gpu_j=2.0, cpu_j=1.0)

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        self._tick()
        return super().test_step(batch, batch_idx)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        self._tick()
        return super().predict_step(batch, batch_idx)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        self.clock.advance(time_s=1.0, gpu_j=10.0)
        return super().training_step(batch, batch_idx)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 10 * BATCH), batch_size=BATCH)

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(RandomDataset(32, 6 * BATCH), batch_size=BATCH)


def _trainer(callback: EnergyCallback | None, logger: Logger | None = None, **kwargs: Any) -> Trainer:
    return Trainer(
        callbacks=[callback] if callback is not None else [],
        logger=logger or False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        **kwargs,
    )


@pytest.mark.parametrize("meter_type", [FakeMeter, FakeReadingMeter])
# 0.1 s (NVML's): 0.5 s batches are under 10 updates (split), the 3.5 s loop over 20 (resolved, not short).
@pytest.mark.parametrize(("update_period_s", "mode"), [(1e-9, "window"), (0.1, "split")])
def test_test_loop_exact_figures(
    fake_clock: FakeClock, update_period_s: float, mode: str, meter_type: type[FakeMeter]
) -> None:
    meter = meter_type(fake_clock, update_period_s=update_period_s)
    logger = RecordingLogger()
    cb = EnergyCallback(meter=meter, warmup_batches=3, min_duration_s=1.0)
    trainer = _trainer(cb, logger)
    (returned,) = trainer.test(ClockedModel(fake_clock), verbose=False)

    measured = 10 - 3  # batches after warm-up
    expected = {
        "energy/test_j": 3.0 * measured,
        "energy/test_gpu_j": 2.0 * measured,
        "energy/test_cpu_j": 1.0 * measured,
        "energy/test_time_s": 0.5 * measured,
        "energy/test_power_w": 6.0,
        "energy/test_samples": float(BATCH * measured),
        "energy/test_samples_per_j": BATCH / 3.0,
        "energy/test_j_per_sample": 3.0 / BATCH,
        "energy/test_j_per_batch": 3.0,
        "energy/test_warmup_j": 9.0,
        "energy/test_short_window": 0.0,
        "model/params": 66.0,
        "model/flops_per_sample": 128.0,  # one 32 -> 2 linear layer: 2 * 32 * 2
    }
    for key, value in expected.items():
        assert trainer.callback_metrics[key].item() == pytest.approx(value), key
        assert returned[key] == pytest.approx(value), key
        assert logger.metrics[key] == pytest.approx(value), key
    assert "energy/test_dram_j" not in trainer.callback_metrics  # not measured: not logged as 0
    assert logger.hparams["energy/test_source"] == "measured: fake/counters"
    assert logger.hparams["energy/test_per_batch_mode"] == mode
    result = cb.results["test"]
    assert result.per_batch_mode == mode
    assert result.batch_j == ((3.0,) * measured if mode == "window" else ())
    assert (result.samples, result.batches, result.warmup_batches) == (BATCH * measured, measured, 3)
    assert not meter.open  # every window closed
    # Per-batch windows: two raw readings per batch from a CounterReader, else a named window per batch.
    per_batch_calls = {c for c in meter.calls if c in ("read", "begin test/batch", "end test/batch")}
    if mode == "split":
        assert not per_batch_calls
    elif meter_type is FakeReadingMeter:
        assert meter.calls.count("read") == measured + 1  # each batch start, and the loop's end
        assert per_batch_calls == {"read"}
    else:
        assert meter.calls.count("begin test/batch") == measured
        assert "read" not in per_batch_calls


@pytest.mark.parametrize("fast_path", [True, False])
def test_figures_reach_every_place_once_with_or_without_the_fast_path(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch, fast_path: bool
) -> None:
    """Test and validate figures go into the loop's returned dicts (fast) or through ``pl_module.log`` (fallback)."""
    from lightning_ecopt.callbacks import energy

    if not fast_path:  # as on a Lightning without the returned dicts where we look for them
        monkeypatch.setattr(energy, "_evaluation_outputs", lambda trainer: None)
    logged_by_module: list[str] = []
    original_log = BoringModel.log

    def spy_log(self: BoringModel, name: str, *args: Any, **kwargs: Any) -> None:
        logged_by_module.append(name)
        original_log(self, name, *args, **kwargs)

    monkeypatch.setattr(BoringModel, "log", spy_log)
    logger = RecordingLogger()
    trainer = _trainer(EnergyCallback(stages=["test", "validate"], meter=FakeMeter(fake_clock)), logger)
    model = ClockedModel(fake_clock)
    for stage in ("test", "validate"):
        run = trainer.test if stage == "test" else trainer.validate
        (returned,) = run(model, dataloaders=model.test_dataloader(), verbose=False)
        key = f"energy/{stage}_samples"
        assert returned[key] == 7 * BATCH
        assert trainer.callback_metrics[key].item() == 7 * BATCH
        assert [call[key] for call in logger.calls if key in call] == [7 * BATCH]  # logged exactly once
    assert any(name.startswith("energy/") for name in logged_by_module) is not fast_path


class _BuildsItsCallback(ClockedModel):
    """Returns an EnergyCallback from configure_callbacks, which Lightning calls at every trainer function."""

    def __init__(self, clock: FakeClock, *, once: bool) -> None:
        super().__init__(clock)
        self.once = once
        self.built: list[EnergyCallback] = []

    def configure_callbacks(self) -> list[Callback]:
        if not (self.once and self.built):
            self.built.append(EnergyCallback(train=True, meter=FakeMeter(self.clock), warmup_batches=1))
        return [self.built[-1]]


def _no_callback_trainer() -> Trainer:
    return _trainer(None, max_epochs=1, limit_train_batches=3, limit_val_batches=0)


def test_a_callback_built_anew_by_configure_callbacks_says_the_fit_s_figures_are_lost(fake_clock: FakeClock) -> None:
    """A new callback from configure_callbacks replaced the fit's: its energy/train_j left trial_metrics silently.
    One returned again, or a new one that measures the loop again, loses nothing and is not warned of."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", r".*runs without the EnergyCallback")
        kept = _no_callback_trainer()
        kept.fit(_BuildsItsCallback(fake_clock, once=True))
        kept.test(kept.lightning_module, verbose=False)
        assert trial_metrics(kept)["energy/train_j"] == pytest.approx(30.0)
        tester = _no_callback_trainer()
        tested = _BuildsItsCallback(fake_clock, once=False)
        tester.test(tested, verbose=False)
        tester.test(tested, verbose=False)  # the new callback measures the test loop again
        assert (len(tested.built), trial_metrics(tester)["energy/test_samples"]) == (2, 9 * BATCH)  # 1 warm-up batch
    model = _BuildsItsCallback(fake_clock, once=False)
    trainer = _no_callback_trainer()
    trainer.fit(model)
    assert trial_metrics(trainer)["energy/train_j"] == pytest.approx(30.0)
    with pytest.warns(
        UserWarning, match=r"this trainer's test runs without the EnergyCallback that measured its train"
    ):
        trainer.test(model, verbose=False)
    assert "energy/train_j" not in trial_metrics(trainer)  # what the warning says
    assert len(model.built) == 2


def test_predict_and_train_figures(fake_clock: FakeClock) -> None:
    logger = RecordingLogger()
    cb = EnergyCallback(stages="predict", train=True, meter=FakeMeter(fake_clock), warmup_batches=1)
    trainer = _trainer(cb, logger, max_epochs=1, limit_train_batches=3, limit_val_batches=0)
    model = ClockedModel(fake_clock)
    trainer.fit(model)
    assert trainer.callback_metrics["energy/train_j"].item() == pytest.approx(30.0)
    assert trainer.callback_metrics["energy/train_time_s"].item() == pytest.approx(3.0)
    assert logger.metrics["energy/train_j"] == pytest.approx(30.0)
    trainer.predict(model)
    assert trainer.callback_metrics["energy/predict_j"].item() == pytest.approx(15.0)
    assert trainer.callback_metrics["energy/predict_samples"].item() == 5 * BATCH
    assert logger.metrics["energy/predict_samples_per_j"] == pytest.approx(BATCH / 3.0)
    assert logger.hparams["energy/predict_source"] == "measured: fake/counters"
    metrics = trial_metrics(trainer)
    assert metrics["energy/source"] == "measured: fake/counters"
    assert metrics["energy/train_j"] == pytest.approx(30.0)
    assert metrics["energy/predict_j"] == pytest.approx(15.0)


@pytest.mark.parametrize("meter_type", [FakeMeter, FakeReadingMeter])
def test_per_batch_windows_cover_the_whole_measured_window(fake_clock: FakeClock, meter_type: type[FakeMeter]) -> None:
    """Batch windows run from one batch's start to the next's: work between batches (fetching) is in them too."""

    class FetchingModel(ClockedModel):
        def test_dataloader(self) -> DataLoader:
            def collate(samples: list[torch.Tensor]) -> torch.Tensor:
                fake_clock.advance(time_s=0.1, cpu_j=0.5)  # building a batch costs energy as well
                return torch.stack(samples)

            return DataLoader(RandomDataset(32, 10 * BATCH), batch_size=BATCH, collate_fn=collate)

    cb = EnergyCallback(meter=meter_type(fake_clock, update_period_s=1e-9), warmup_batches=2)
    _trainer(cb).test(FetchingModel(fake_clock), verbose=False)
    result = cb.results["test"]
    assert len(result.batch_j) == 8
    assert sum(result.batch_j) == pytest.approx(result.energy_j)
    assert result.energy_j > 8 * 3.0  # the steps' 3 J each, and fetching


def test_counts_with_batch_size_fn_and_tokens(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(
        meter=FakeMeter(fake_clock), warmup_batches=0, batch_size_fn=lambda b: 100, count_fn=lambda batch, outputs: 7
    )
    trainer = _trainer(cb)
    trainer.test(ClockedModel(fake_clock), verbose=False)
    m = trainer.callback_metrics
    assert m["energy/test_samples"].item() == 1000
    assert m["energy/test_tokens"].item() == 70
    assert m["energy/test_tokens_per_j"].item() == pytest.approx(70 / 30.0)
    assert cb.results["test"].warmup_batches == 0


class ShapeShiftingBatches(ClockedModel):
    """Batches whose structure changes mid-loop: the remembered path to the first tensor stops fitting twice."""

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        self._tick()

    def test_dataloader(self) -> DataLoader:
        x = {n: torch.zeros(n, 32) for n in (2, 4, 5)}
        batches = [
            (x[4], torch.zeros(4)),
            (x[4], torch.zeros(4)),
            {"inputs": [x[2]], "label": torch.zeros(9)},  # path (0,) -> KeyError: searched again
            {"inputs": [x[2]], "label": torch.zeros(9)},  # path ("inputs", 0) fits
            [torch.zeros(()), x[5]],  # path ("inputs", 0) -> TypeError; a 0-d tensor has no batch dimension: x[5]
            (x[5],),  # path (1,) -> IndexError: searched again
            x[4],  # path (0,) would index into the tensor itself (x[4][0] has 32 rows): searched again
        ]
        return DataLoader(batches, batch_size=None, collate_fn=lambda batch: batch)  # type: ignore[arg-type]


def test_samples_are_counted_when_the_batch_structure_changes(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "EnergyCallback: found no tensor")
        _trainer(cb).test(ShapeShiftingBatches(fake_clock), verbose=False)
    assert cb.results["test"].samples == 4 + 4 + 2 + 2 + 5 + 5 + 4
    assert cb.results["test"].batches == 7


@dataclasses.dataclass
class _Batch:
    """A dataclass batch, as a user's collate function may return (Lightning's own batch-size search reads them)."""

    ids: list[int]
    x: torch.Tensor


class _PackedBatches(ClockedModel):
    """Batches with a 0-d tensor first (a packing collator's token count), as a dict or a dataclass."""

    def __init__(self, clock: FakeClock, kind: str) -> None:
        super().__init__(clock)
        self.kind = kind

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._tick()
        x = batch["x"] if isinstance(batch, dict) else batch.x
        self(x)

    def test_dataloader(self) -> DataLoader:
        def collate(rows: list[torch.Tensor]) -> Any:
            x = torch.stack(rows)
            if self.kind == "dict":
                return {"n_tokens": torch.tensor(512), "x": x}
            return _Batch(ids=list(range(len(rows))), x=x)

        return DataLoader(RandomDataset(32, 10 * BATCH + 3), batch_size=BATCH, collate_fn=collate)


@pytest.mark.parametrize("kind", ["dict", "dataclass"])
def test_samples_and_flops_of_batches_with_a_0d_tensor_or_a_dataclass(fake_clock: FakeClock, kind: str) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "EnergyCallback: found no tensor")
        _trainer(cb).test(_PackedBatches(fake_clock, kind), verbose=False)
    assert cb.results["test"].samples == 9 * BATCH + 3
    assert cb.model_stats["model/flops_per_sample"] == 2 * 32 * 2  # BoringModel's Linear(32, 2), one sample


class _Wrapped:
    """A batch class of the user's own (no mapping, sequence or dataclass): no tensor is found in it."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x


class _WrappedBatches(ClockedModel):
    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._tick()
        self(batch.x)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(
            RandomDataset(32, 10 * BATCH + 3), batch_size=BATCH, collate_fn=lambda r: _Wrapped(torch.stack(r))
        )


def test_a_batch_with_no_tensor_found_gets_no_flops_and_says_so(fake_clock: FakeClock) -> None:
    """An object of the user's own, counted by batch_size_fn: its FLOPs were left out with no word."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, batch_size_fn=lambda batch: len(batch.x))
    with pytest.warns(
        UserWarning,
        match=r"FLOPs not counted, model/flops_per_sample is not logged: the first test batch \(a _Wrapped\) holds no "
        r"tensor with a batch dimension",
    ):
        (returned,) = _trainer(cb).test(_WrappedBatches(fake_clock), verbose=False)
    assert cb.results["test"].samples == 9 * BATCH + 3
    assert "model/flops_per_sample" not in returned
    assert returned["model/params"] == 66


def test_an_unset_dataclass_field_is_passed_over() -> None:
    """A field with ``init=False`` may never be set: reading it raises (Lightning's own transfer would too)."""

    @dataclasses.dataclass
    class Packed:
        n: torch.Tensor
        cached: int = dataclasses.field(init=False)
        x: torch.Tensor | None = None

    assert energy_module._first_tensor_path(Packed(torch.tensor(5), x=torch.zeros(4, 2))) == (
        energy_module._Field("x"),
    )


def test_one_sample_of_a_frozen_dataclass_batch_is_its_first_tensors_slice() -> None:
    """A frozen dataclass cannot be rebuilt with cut tensors: one sample is its first tensor's, cut to exactly one
    along the samples' dimension (none, or two, would count FLOPs of no sample or of two)."""

    @dataclasses.dataclass(frozen=True)
    class Frozen:
        x: torch.Tensor
        y: torch.Tensor

    batch = Frozen(torch.arange(12.0).reshape(4, 3), torch.zeros(4))
    one = energy_module._one_sample(batch)
    assert one.tolist() == [[0.0, 1.0, 2.0]]
    assert energy_module._one_sample(Frozen(torch.zeros(5, 4, 1), torch.zeros(4)), dim=1).shape == (5, 1, 1)


@pytest.mark.parametrize(
    ("returned", "error", "match"),
    [
        ("many", TypeError, r"count_fn=...\): returned 'many' \(str\) for a batch; expected an int"),
        (-3, ValueError, r"count_fn=...\): returned -3 for a batch"),
        (2.5, TypeError, r"returned 2.5 \(float\)"),
        # A number's text or a truth value is no count, though int() and float() take them (one counted as 4 or 1).
        ("4", TypeError, r"returned '4' \(str\) for a batch; expected an int"),
        (b"4", TypeError, r"returned b'4' \(bytes\)"),
        (True, TypeError, r"returned True \(bool\)"),
        (torch.tensor(True), TypeError, r"returned tensor\(True\) \(Tensor\)"),
    ],
)
def test_a_count_fn_returning_no_count_is_named(fake_clock: FakeClock, returned: Any, error: type, match: str) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, count_fn=lambda batch, outputs: returned)
    with pytest.raises(error, match=match):
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)


def test_a_count_fn_returning_none_counts_no_tokens(fake_clock: FakeClock) -> None:
    """``None``: no tokens for this batch. A loop where every batch returned it (the test loop of a callback measuring
    test and predict) logs no tokens figures, not a 0 tokens/J never measured; 0 is a count."""
    cb = EnergyCallback(
        stages=("test", "predict"),
        meter=FakeMeter(fake_clock),
        warmup_batches=1,
        count_fn=lambda batch, outputs: int(outputs.numel()) if isinstance(outputs, torch.Tensor) else None,
    )
    logger = RecordingLogger()
    trainer = _trainer(cb, logger)
    model = ClockedModel(fake_clock)
    (returned,) = trainer.test(model, verbose=False)  # test_step returns a dict: no tokens
    assert cb.results["test"].tokens is None
    assert not [k for k in [*returned, *trainer.callback_metrics, *logger.metrics] if k.startswith("energy/test_tok")]
    trainer.predict(model, return_predictions=False)
    assert cb.results["predict"].tokens == 5 * BATCH * 2  # 5 measured batches of BATCH x 2 outputs
    assert trainer.callback_metrics["energy/predict_tokens"].item() == 5 * BATCH * 2
    assert "energy/test_tokens" not in trial_metrics(trainer)

    counts = iter([None, None, 3, None, 0] * 2)  # warm-up, then 9 measured batches: None where no tokens
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, count_fn=lambda batch, outputs: next(counts))
    _trainer(cb).test(model, verbose=False)
    assert cb.results["test"].tokens == 6
    zeros = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, count_fn=lambda batch, outputs: 0)
    _trainer(zeros).test(model, verbose=False)
    assert (zeros.results["test"].tokens, zeros.results["test"].tokens_per_j) == (0, 0.0)


@pytest.mark.parametrize("returned", ["4", True])
def test_a_batch_size_fn_returning_no_count_is_named(fake_clock: FakeClock, returned: Any) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, batch_size_fn=lambda batch: returned)
    with pytest.raises(TypeError, match=rf"batch_size_fn=...\): returned {returned!r} \({type(returned).__name__}\)"):
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)


@pytest.mark.parametrize("name", ["batch_size_fn", "count_fn"])
def test_an_error_raised_by_the_user_s_count_function_says_which_one(fake_clock: FakeClock, name: str) -> None:
    def broken(*args: Any) -> int:
        raise KeyError("input_ids")

    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, **{name: broken})
    with pytest.raises(KeyError, match="input_ids") as raised:
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert f"EnergyCallback({name}=...) raised this, called on a batch of type " in "".join(raised.value.__notes__)


def test_a_loop_that_counted_no_samples_is_warned_of(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, batch_size_fn=lambda batch: 0)
    with pytest.warns(
        UserWarning, match=r"test loop counted 0 samples in its 9 batches measured \(batch_size_fn returned 0"
    ):
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    r = cb.results["test"]
    assert (r.batches, r.samples, r.samples_per_j) == (9, 0, 0.0)
    assert math.isnan(r.j_per_sample)


def test_a_loop_of_empty_batches_is_warned_of_not_a_crash(fake_clock: FakeClock) -> None:
    """A review found an empty first batch crashed the FLOPs count (a narrow of 1 row out of 0) before any warning."""
    data = DataLoader(TensorDataset(torch.empty(0, 32)), batch_size=None, sampler=[slice(0, 0)] * 3)
    model = ClockedModel(fake_clock)
    model.test_step = lambda batch, batch_idx: None  # type: ignore[method-assign,assignment]
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0)
    with pytest.warns(UserWarning, match=r"test loop counted 0 samples in its 3 batches measured \(each was empty\)"):
        _trainer(cb).test(model, dataloaders=data, verbose=False)
    assert "model/flops_per_sample" not in cb.model_stats
    assert cb.results["test"].samples == 0


@pytest.mark.parametrize(
    "returned", [np.array("4"), np.array(b"4"), bytearray(b"4")], ids=["str_", "bytes_", "bytearray"]
)
def test_text_in_numpy_or_a_bytearray_is_no_count(returned: Any) -> None:
    with pytest.raises(TypeError, match=r"returned .* for a batch; expected an int, the samples in the batch\.$"):
        energy_module._user_count("batch_size_fn", returned, "samples in the batch")


def test_a_truth_value_s_refusal_says_how_to_count_it() -> None:
    with pytest.raises(TypeError, match=r"\(a truth value: return int\(...\) of it to count it as 0 or 1\)\.$"):
        energy_module._user_count("count_fn", torch.tensor(True), "tokens the batch produced")


def test_a_time_limit_inside_the_user_s_function_is_not_noted_as_its_error() -> None:
    from lightning_ecopt.exceptions import TrialTimeoutError

    def slow(batch: Any) -> int:
        raise TrialTimeoutError(1.0)

    with pytest.raises(TrialTimeoutError) as raised:
        energy_module._call_user("batch_size_fn", slow, [1])
    assert not getattr(raised.value, "__notes__", [])


def test_one_error_raised_twice_by_the_user_s_function_is_noted_once() -> None:
    error = KeyError("input_ids")

    def broken(batch: Any) -> int:
        raise error

    for _ in range(2):
        with pytest.raises(KeyError):
            energy_module._call_user("batch_size_fn", broken, {})
    assert error.__notes__ == ["EnergyCallback(batch_size_fn=...) raised this, called on a batch of type dict."]


def test_a_numpy_truth_value_is_no_count() -> None:
    import numpy as np

    with pytest.raises(TypeError, match=r"returned .*True.* \(bool_?\) for a batch"):
        energy_module._user_count("count_fn", np.True_, "tokens the batch produced")


def test_counts_may_be_numpy_ints_tensors_or_whole_floats(fake_clock: FakeClock) -> None:
    import numpy as np

    counts = iter([np.int64(3), torch.tensor(4), 5.0] * 4)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, count_fn=lambda batch, outputs: next(counts))
    _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert cb.results["test"].tokens == 3 + 4 + 5 + 3 + 4 + 5 + 3 + 4 + 5 + 3


def test_short_loop_is_flagged_with_one_warning(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=60.0)
    trainer = _trainer(cb)
    model = ClockedModel(fake_clock)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        trainer.test(model, verbose=False)
        trainer.test(model, verbose=False)
    said = [str(w.message) for w in record if "less than min_duration_s=60" in str(w.message)]
    assert len(said) == 1
    # The fix by name: "repeat the loop" left a new user to write the repeating themselves.
    assert "repeated in whole passes until the window is long enough (lightning_ecopt.inference.TimedPasses" in said[0]
    assert trainer.callback_metrics["energy/test_short_window"].item() == 1.0
    assert cb.results["test"].short


def test_a_window_of_few_counter_updates_is_flagged_whatever_min_duration_s_says(fake_clock: FakeClock) -> None:
    """A GPU run of a config made for the CPU (``min_duration_s=0.2``): NVML moves every 0.1 s, so a 0.2 s window
    reads within a whole counter step (+-50 %). Windows under 20 updates are flagged, and the warning names the fix."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock, update_period_s=0.5), warmup_batches=0, min_duration_s=0.2)
    trainer = _trainer(cb)
    with pytest.warns(
        UserWarning, match=r"lasted 5\.000 s, less than 10 s: 20 updates of 'measured: fake/counters'"
    ) as w:
        trainer.test(ClockedModel(fake_clock), verbose=False)  # 10 batches of 0.5 s
    (short,) = [str(x.message) for x in w if "lasted 5.000 s" in str(x.message)]
    assert "(every 0.5 s; min_duration_s=0.2 is below that: pass min_duration_s=10)" in short
    assert cb.results["test"].short
    assert trainer.callback_metrics["energy/test_short_window"].item() == 1.0

    # 50 updates of a 0.1 s counter: resolved, and min_duration_s=0.2 is met.
    cb = EnergyCallback(meter=FakeMeter(fake_clock, update_period_s=0.1), warmup_batches=0, min_duration_s=0.2)
    with user_warnings_as_errors():
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert not cb.results["test"].short

    # min_duration_s=0 asks for no check (a loop measured only for a sweep's cost): nothing flagged, nothing warned.
    cb = EnergyCallback(meter=FakeMeter(fake_clock, update_period_s=0.5), warmup_batches=0, min_duration_s=0)
    with user_warnings_as_errors():
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert not cb.results["test"].short


def test_a_short_loop_on_a_fine_counter_is_not_blamed_on_a_counter_step(fake_clock: FakeClock) -> None:
    """Under ``min_duration_s`` but over 20 updates of its counter (the CPU-time estimate's nanoseconds, RAPL's
    1 ms): no counter step is worth a mention, and the warning says what a short loop does risk, with the spread
    measured by benchmarks/callback_window.py. It said "may be off by a whole counter step" whatever the meter."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock, update_period_s=1e-9), warmup_batches=0, min_duration_s=60.0)
    with pytest.warns(UserWarning, match=r"lasted 5\.000 s, less than min_duration_s=60 s") as w:
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)  # 10 batches of 0.5 s
    (short,) = [str(x.message) for x in w if "lasted 5.000 s" in str(x.message)]
    assert "counter step" not in short.replace("the meter's counter step (1e-09 s) is no concern here", "")
    assert "the machine's jitter (other processes, clock speeds) and the loop's fixed costs" in short
    assert f"spread {energy_module._SHORT_LOOP_SPREAD} in samples/J" in short
    assert cb.results["test"].short

    # The real estimate, in a real loop: the same words.
    cb = EnergyCallback(meter="estimate", warmup_batches=0, min_duration_s=60.0, log_model_stats=False)
    with pytest.warns(UserWarning, match=r"short_window=1\): the meter's counter step \([\d.e-]+ s\) is no concern"):
        _trainer(cb).test(BoringModel(), verbose=False)

    # A coarse counter (NVML-like) under 20 updates: the step, with its share of the loop.
    cb = EnergyCallback(meter=FakeMeter(fake_clock, update_period_s=0.5), warmup_batches=0, min_duration_s=0.2)
    with pytest.warns(UserWarning, match=r"lasted 5\.000 s") as w:
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    (short,) = [str(x.message) for x in w if "lasted 5.000 s" in str(x.message)]
    assert "they may be off by a whole counter step (0.5 s, 10 % of the loop)" in short
    assert "jitter" not in short


@pytest.mark.parametrize("bad", ["aut", -1.0, math.inf])
def test_min_duration_s_is_seconds_or_auto(bad: object) -> None:
    with pytest.raises(ValueError, match=r"min_duration_s=.*expected seconds >= 0 or 'auto'"):
        EnergyCallback(min_duration_s=bad)  # type: ignore[arg-type]


def test_contention_from_other_processes_is_logged_and_warned_once(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning_ecopt.energy.contention import CpuSnapshot

    # Each measured window: 2 s on 2 CPUs, 3 CPU-seconds busy, 0.6 of them ours: others used 60 % of the capacity.
    snapshots = iter([CpuSnapshot(0.0, 100.0, 10.0, 2), CpuSnapshot(2.0, 103.0, 10.6, 2)] * 2)
    monkeypatch.setattr(energy_module, "cpu_snapshot", lambda cpus=None: next(snapshots))
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0.0)
    trainer, model = _trainer(cb), ClockedModel(fake_clock)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        trainer.test(model, verbose=False)
        trainer.test(model, verbose=False)
    assert trainer.callback_metrics["energy/test_cpu_contention"].item() == pytest.approx(0.6)
    assert cb.results["test"].cpu_contention == pytest.approx(0.6)
    assert sum("other processes kept 60% of this machine's CPU capacity" in str(w.message) for w in record) == 1


def test_the_contention_warning_explains_once_per_process_and_is_one_short_line_for_each_later_trial(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep builds one callback per trial: 18 trials of a 30-trial sweep on a shared host each printed the same
    380-character explanation. The first says it in full; each later trial still names its own share and metric."""
    from lightning_ecopt.energy.contention import CpuSnapshot

    # Each measured window: 2 s on 2 CPUs, others used 60 % of the capacity (then 70 %).
    first_window = [CpuSnapshot(0.0, 100.0, 10.0, 2), CpuSnapshot(2.0, 103.0, 10.6, 2)]
    snapshots = iter([*first_window, CpuSnapshot(0.0, 100.0, 10.0, 2), CpuSnapshot(2.0, 103.2, 10.4, 2)])
    monkeypatch.setattr(energy_module, "cpu_snapshot", lambda cpus=None: next(snapshots))
    messages = []
    for _trial in range(2):
        cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0.0)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
        messages += [str(w.message) for w in record if "other processes kept" in str(w.message)]
    assert len(messages) == 2
    first, later = messages
    assert "other processes kept 60% of this machine's CPU capacity busy during the measured test loop" in first
    assert "measure on an otherwise idle machine" in first
    assert "other processes kept 70% of this machine's CPU capacity busy during the measured test loop" in later
    assert "(energy/test_cpu_contention)" in later
    assert "idle machine" not in later
    assert len(later) < 0.6 * len(first)  # the explanation is most of the first


@pytest.mark.parametrize("local_ranks", [1, 2])
def test_the_contention_warning_says_that_the_jobs_own_ranks_on_the_machine_count_as_others(local_ranks: int) -> None:
    """Under ddp_spawn rank 1 is rank 0's sibling, not its child: the warning blamed 51 % on "other processes"
    without a word that they were the job's own ranks."""
    from lightning_ecopt.energy import CpuTimeEstimator, Measurement

    all_gather = _peer_all_gather()

    trainer = types.SimpleNamespace(
        world_size=2,
        num_devices=local_ranks,  # 2 ranks on this machine, or one on each of 2 machines
        strategy=types.SimpleNamespace(root_device=torch.device("cpu"), all_gather=all_gather),
    )
    m = Measurement(time_s=1.0, cpu_j=5.0, source="estimated: cpu-time")
    messages = []
    for _rank in (1, 0):
        cb = EnergyCallback(meter="estimate", min_duration_s=0.0)
        cb._meter = CpuTimeEstimator()
        state = energy_module._LoopState(batch_window="test/batch", steady=True, seen=4)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cb._reduce(trainer, "test", m, m, samples=8, batches=4, tokens=None, state=state, contention=0.51)  # type: ignore[arg-type]
        messages = [str(w.message) for w in caught if "other processes kept 51%" in str(w.message)]
    assert len(messages) == 1
    if local_ranks == 2:
        assert "This job runs 2 ranks on this machine" in messages[0]
        assert "ddp_spawn" in messages[0]
    else:
        assert "ranks on this machine" not in messages[0]


def test_unknown_contention_is_not_logged(fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(energy_module, "cpu_snapshot", lambda cpus=None: None)  # not Linux: unknown, never 0
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0.0)
    trainer = _trainer(cb)
    trainer.test(ClockedModel(fake_clock), verbose=False)
    assert "energy/test_cpu_contention" not in trainer.callback_metrics


class _ZeroMeter(FakeMeter):
    def end(self, name: str) -> Any:
        m = super().end(name)
        return type(m)(time_s=m.time_s, gpu_j={0: 0.0}, source=m.source)


def test_zero_joules_are_never_logged_silently(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=_ZeroMeter(fake_clock), warmup_batches=0)
    trainer = _trainer(cb)
    with pytest.warns(UserWarning, match="read 0 J"):
        trainer.test(ClockedModel(fake_clock), verbose=False)
    assert math.isnan(trainer.callback_metrics["energy/test_samples_per_j"].item())


def test_zero_joules_of_a_fit_are_warned_of_by_the_figures_a_fit_logs(fake_clock: FakeClock) -> None:
    """A fit logs energy/train_j and energy/train_time_s only: its warning named samples/J, J/sample, J/batch and
    power as logged NaN, figures a fit does not log at all."""
    cb = EnergyCallback(stages=(), train=True, meter=_ZeroMeter(fake_clock), warmup_batches=0)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=0)
    with pytest.warns(UserWarning, match="read 0 J") as caught:
        trainer.fit(ClockedModel(fake_clock))
    (said,) = [str(w.message) for w in caught if "read 0 J" in str(w.message)]
    assert "the fit read 0 J" in said
    assert "energy/train_j is logged as read (0 J)" in said
    for absent in ("samples/J", "J/sample", "J/batch", "power", "NaN"):
        assert absent not in said
    assert set(cb.results["train"].metrics()) == {"energy/train_j", "energy/train_time_s"}  # all a fit logs
    assert trainer.callback_metrics["energy/train_j"].item() == 0.0


def test_loop_shorter_than_warmup_is_measured_whole_and_flagged(fake_clock: FakeClock) -> None:
    # Its figures hold the first batches' one-off costs: a compiled model's test of 2 batches under warmup_batches=3
    # read 108 samples/J against 1,040 eager, and was not flagged (its 5 s here are long enough by time).
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=50, min_duration_s=1.0)
    trainer = _trainer(cb)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.test(ClockedModel(fake_clock), verbose=False)
    said = [str(w.message) for w in caught if "EnergyCallback" in str(w.message)]
    assert len(said) == 1, said  # one reason, not also "lasted less than min_duration_s": it lasted 5 s
    assert "not more than warmup_batches=50; its figures include the warm-up and are flagged" in said[0]
    assert "(energy/test_short_window=1)" in said[0]
    assert trainer.callback_metrics["energy/test_j"].item() == pytest.approx(30.0)
    assert trainer.callback_metrics["energy/test_samples"].item() == 10 * BATCH
    assert trainer.callback_metrics["energy/test_short_window"].item() == 1.0


def test_validate_is_measured_but_not_sanity_checks(fake_clock: FakeClock) -> None:
    meter = FakeMeter(fake_clock)
    cb = EnergyCallback(stages=["validate"], meter=meter, warmup_batches=0)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=1, limit_val_batches=2, num_sanity_val_steps=2)
    trainer.fit(ClockedModel(fake_clock))
    assert meter.calls.count("begin validate/loop") == 1  # one epoch, the sanity check skipped
    assert cb.results["validate"].batches == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"stages": ["tset"]}, ValueError, r"stages=\['tset'\]\): unknown stage 'tset'; choose from 'test', 'predict'"),
        ({"stages": []}, ValueError, "measures nothing"),
        ({"meter": "nvml"}, ValueError, "meter='nvml'.*choose from 'auto', 'zeus', 'estimate'"),
        ({"meter": 3}, TypeError, "meter=3"),
        ({"warmup_batches": -1}, ValueError, "warmup_batches=-1"),
        ({"warmup_batches": 1.5}, ValueError, "warmup_batches=1.5"),
        ({"min_duration_s": -0.1}, ValueError, "min_duration_s=-0.1"),
        ({"min_duration_s": math.nan}, ValueError, "min_duration_s=nan"),
        ({"per_batch": "always"}, ValueError, "per_batch='always'.*'auto', 'window', 'split'"),
        ({"batch_size_fn": 3}, TypeError, "batch_size_fn=3"),
        ({"count_fn": "tokens"}, TypeError, "count_fn='tokens'"),
        # Before: "EnergyCallback: CpuTimeEstimator(watts_per_thread=0, idle_power_w=0): ... or idle_power_w > 0",
        # an argument EnergyCallback does not take; True was 1 W.
        (
            {"watts_per_thread": 0},
            ValueError,
            r"^EnergyCallback\(watts_per_thread=0\): expected watts > 0 per busy thread \(default 5\.0\); for another "
            r"model pass meter=CpuTimeEstimator\(watts_per_thread=\.\.\., idle_power_w=\.\.\.\)\.$",
        ),
        ({"watts_per_thread": -5}, ValueError, r"^EnergyCallback\(watts_per_thread=-5\): expected watts > 0"),
        ({"watts_per_thread": "5"}, ValueError, r"^EnergyCallback\(watts_per_thread='5'\): expected watts > 0"),
        ({"watts_per_thread": None}, ValueError, r"^EnergyCallback\(watts_per_thread=None\): expected watts > 0"),
        ({"watts_per_thread": True}, ValueError, r"^EnergyCallback\(watts_per_thread=True\): expected watts > 0"),
        ({"watts_per_thread": math.inf}, ValueError, r"^EnergyCallback\(watts_per_thread=inf\): expected watts > 0"),
        # Before: TypeError: 'NoneType' object is not iterable.
        ({"stages": None}, TypeError, r"^EnergyCallback\(stages=None\): expected the stages to measure, a list from"),
        ({"stages": 3}, TypeError, r"^EnergyCallback\(stages=3\): expected the stages to measure"),
        ({"flops_on_meta": "no"}, TypeError, r"flops_on_meta='no'\): expected True or False"),
        ({"train": 1}, TypeError, r"train=1\): expected True or False"),
        ({"log_model_stats": None}, TypeError, r"log_model_stats=None\): expected True or False"),
    ],
)
def test_bad_arguments_name_the_value_and_fix(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        EnergyCallback(**kwargs)


def test_numpy_bool_flags_are_bools() -> None:
    """As ``ZeusMeter`` and ``SweepSettings`` take them (a flag read from an array's element); refused before."""
    np = pytest.importorskip("numpy")
    cb = EnergyCallback(train=np.True_, log_model_stats=np.False_, flops_on_meta=np.True_)
    assert (cb.train, cb.log_model_stats, cb.flops_on_meta) == (True, False, True)
    assert all(type(flag) is bool for flag in (cb.train, cb.log_model_stats, cb.flops_on_meta))


def test_meter_before_setup_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"trainer\.test"):
        _ = EnergyCallback().meter


def test_trial_metrics_merges_extra_results(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0)
    trainer = _trainer(cb)
    trainer.test(ClockedModel(fake_clock), verbose=False)
    metrics = trial_metrics(trainer, {"custom/score": torch.tensor(0.25)})
    assert metrics["custom/score"] == 0.25
    assert metrics["energy/test_j"] == pytest.approx(30.0)
    assert all(isinstance(v, float) for k, v in metrics.items() if k != "energy/source")
    # trainer.test()'s list as it is (crashed: 'list' object has no attribute 'items'), numpy numbers (were dropped).
    np = pytest.importorskip("numpy")
    listed = trial_metrics(trainer, [{"custom/n": np.int64(5)}, {"custom/f": np.float32(0.5), "custom/flag": True}])
    assert (listed["custom/n"], listed["custom/f"]) == (5.0, 0.5)
    assert "custom/flag" not in listed
    with pytest.raises(TypeError, match=r"each result must be a dict of metrics, got str"):
        trial_metrics(trainer, "test/acc")  # type: ignore[arg-type]
    # trainer.test()'s list in the trainer's place: AttributeError: 'list' object has no attribute 'callbacks'.
    with pytest.raises(TypeError, match=r"^trial_metrics\(trainer=\[\{'test/acc': 0.5\}\]\): expected the Trainer"):
        trial_metrics([{"test/acc": 0.5}])  # type: ignore[arg-type]


class _LoggingModel(ClockedModel):
    """Logs ``val/acc`` in validation and ``test/acc`` in test (unless ``log_test`` is off)."""

    log_test = True

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        self.log("val/acc", 0.75)
        return super().validation_step(batch, batch_idx)

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        if self.log_test:
            self.log("test/acc", 0.5)
        return super().test_step(batch, batch_idx)


def test_trial_metrics_keeps_what_earlier_loops_logged(fake_clock: FakeClock) -> None:
    """Lightning empties ``callback_metrics`` when a loop starts: after fit, test and predict it holds nothing
    logged, and a trial returning ``trial_metrics(trainer)`` lost its accuracy objective."""
    cb = EnergyCallback(stages=("test", "predict"), meter=FakeMeter(fake_clock), warmup_batches=0)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=2, num_sanity_val_steps=0)
    model = _LoggingModel(fake_clock)
    trainer.fit(model)
    trainer.test(model, verbose=False)
    trainer.predict(model)
    assert "test/acc" not in trainer.callback_metrics  # what Lightning leaves
    metrics = trial_metrics(trainer)
    assert (metrics["val/acc"], metrics["test/acc"]) == (0.75, 0.5)
    assert {"energy/test_j", "energy/predict_j"} <= set(metrics)
    # A later test call that logs no test/acc does not report the earlier call's: it is this call's trial.
    model.log_test = False
    trainer.test(model, verbose=False)
    metrics = trial_metrics(trainer)
    assert "test/acc" not in metrics
    assert metrics["val/acc"] == 0.75
    # A test on another trainer (one device after a fit on several) keeps the fit's logged metrics, as it keeps its
    # energy/train_j: one rule for what the callback saw, whichever trainer ran it.
    model.log_test = True
    other = _trainer(cb)
    other.test(model, verbose=False)
    assert (trial_metrics(other)["val/acc"], trial_metrics(other)["test/acc"]) == (0.75, 0.5)


def test_a_callback_reused_by_a_new_trainers_fit_says_to_build_one_per_trial(fake_clock: FakeClock) -> None:
    """A sweep from Python that builds one callback for every trial: a later trial that skips its test would report
    the earlier trial's figures. A fit then a test on another trainer (one device) is what they are kept for."""
    cb = EnergyCallback(stages=("test",), meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0)
    model = ClockedModel(fake_clock)
    fit_trainer = _trainer(cb, max_epochs=1, limit_train_batches=1, limit_val_batches=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*new Trainer's fit.*")
        fit_trainer.fit(model)
        fit_trainer.fit_loop.max_epochs = 2
        fit_trainer.fit(model)  # the same trainer again: no other trial
        _trainer(cb).test(model, verbose=False)  # another trainer's test after a fit: the intended use
    with pytest.warns(
        UserWarning, match=r"a new Trainer's fit starts while this callback keeps the test figures of an"
    ):
        _trainer(cb, max_epochs=1, limit_train_batches=1, limit_val_batches=0).fit(ClockedModel(fake_clock))


class _Oom(ClockedModel):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        if batch_idx == 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().training_step(batch, batch_idx)


def test_energy_spent_before_an_error_is_kept(fake_clock: FakeClock) -> None:
    meter = FakeMeter(fake_clock)
    cb = EnergyCallback(train=True, meter=meter)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=5, limit_val_batches=0)
    with pytest.raises(torch.OutOfMemoryError):
        trainer.fit(_Oom(fake_clock))
    assert cb.results["train"].energy_j == pytest.approx(20.0)  # two steps of 10 J before the error
    assert trial_metrics(trainer)["energy/train_j"] == pytest.approx(20.0)
    assert not meter.open


class _TestOom(ClockedModel):
    def test_step(self, batch: Any, batch_idx: int) -> Any:
        if batch_idx == 4:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().test_step(batch, batch_idx)


def test_an_evaluation_loop_an_error_cut_short_keeps_its_joules_and_no_efficiency(fake_clock: FakeClock) -> None:
    # The loop's windows were dropped: a trial failing at an inference batch too large reported none of the energy
    # its loop spent (the ledger's search energy too low, and called exact).
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0, log_model_stats=False)
    trainer = _trainer(cb)
    for attempt in (1, 2):  # an OOM retried: both attempts' joules are the search's
        with pytest.raises(torch.OutOfMemoryError):
            trainer.test(_TestOom(fake_clock), verbose=False)
        metrics = trial_metrics(trainer)
        assert metrics["energy/test_aborted_j"] == pytest.approx(attempt * 4 * 3.0)  # 4 batches of 3 J, warm-up in
        assert metrics["energy/test_aborted_time_s"] == pytest.approx(attempt * 4 * 0.5)
        assert metrics["energy/source"] == FakeMeter.source
        assert not any(k.startswith("energy/test_") and "aborted" not in k for k in metrics)
        # The attempts' sum adds each domain; one no attempt read (DRAM, other parts) stays unread, not 0 J.
        aborted = cb.results["test_aborted"]
        assert (aborted.dram_j, aborted.other_j) == (None, None)
        assert (aborted.gpu_j or 0) + (aborted.cpu_j or 0) == pytest.approx(attempt * 4 * 3.0)
    from lightning_ecopt.report import trial_energy
    from lightning_ecopt.sweeper.results import TrialRecord

    failed = TrialRecord(0, {}, "failed", {"energy/train_j": 50.0, **metrics}, energy_source=FakeMeter.source)
    assert trial_energy(failed).total_j == pytest.approx(50.0 + 24.0)


class _ValOom(ClockedModel):
    raise_in_validation = False

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        self._tick()
        if self.raise_in_validation and batch_idx == 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().validation_step(batch, batch_idx)


def test_a_validation_cut_short_counts_once_inside_a_fit_and_on_its_own_after_it(fake_clock: FakeClock) -> None:
    from lightning_ecopt.report import trial_energy
    from lightning_ecopt.sweeper.results import TrialRecord

    cb = EnergyCallback(
        train=True, stages=("validate",), meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0
    )
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=4, num_sanity_val_steps=0)
    model = _ValOom(fake_clock)
    model.raise_in_validation = True
    with pytest.raises(torch.OutOfMemoryError):
        trainer.fit(model)  # inside the fit's window: energy/train_j holds it, no aborted figure beside it
    assert "energy/validate_aborted_j" not in trial_metrics(trainer)
    cb = EnergyCallback(stages=("validate",), meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=4, num_sanity_val_steps=0)
    with pytest.raises(torch.OutOfMemoryError):
        trainer.fit(model)  # train=False: a fit's validation is not counted apart from the fit, cut short or not
    assert "energy/validate_aborted_j" not in trial_metrics(trainer)
    model.raise_in_validation = False
    cb = EnergyCallback(
        train=True, stages=("validate",), meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0
    )
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=4, num_sanity_val_steps=0)
    trainer.fit(model)
    model.raise_in_validation = True
    with pytest.raises(torch.OutOfMemoryError):
        trainer.validate(model, verbose=False)  # on its own after the fit: its 3 batches of 3 J count
    metrics = trial_metrics(trainer)
    assert metrics["energy/validate_aborted_j"] == pytest.approx(9.0)
    assert metrics["energy/validate_in_fit"] == 1.0  # the fit's validation, left from the fit
    failed = TrialRecord(0, {}, "failed", metrics, energy_source=FakeMeter.source)
    assert trial_energy(failed).total_j == pytest.approx(metrics["energy/train_j"] + 9.0)


def test_joules_of_a_loop_cut_short_kept_for_a_new_trainer_are_warned_of(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0, log_model_stats=False)
    with pytest.raises(torch.OutOfMemoryError):
        _trainer(cb).test(_TestOom(fake_clock), verbose=False)
    with pytest.warns(UserWarning, match=r"Trainer's test starts while this callback keeps the joules of test_aborted"):
        _trainer(cb).test(ClockedModel(fake_clock), verbose=False)


class _CountingNet(BoringModel):
    real_forwards = 0

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Sequential(torch.nn.Linear(32, hidden), torch.nn.Linear(hidden, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "meta":
            type(self).real_forwards += 1
        return self.layer(x)


def test_flops_are_counted_on_the_meta_device() -> None:
    from lightning_ecopt.callbacks.energy import _model_stats

    _CountingNet.real_forwards = 0
    stats = _model_stats(_CountingNet(hidden=8), torch.rand(1, 32))
    assert stats == {"model/params": 32 * 8 + 8 + 8 * 2 + 2, "model/flops_per_sample": 2 * (32 * 8 + 8 * 2)}
    assert _CountingNet.real_forwards == 0


class _InitCounting(_CountingNet):
    inits = 0

    def __init__(self, hidden: int = 8) -> None:
        super().__init__(hidden)
        type(self).inits += 1  # a constructor with side effects: a download, a tracker's run


@pytest.mark.parametrize(("flops_on_meta", "inits", "real_forwards"), [(True, 2, 0), (False, 1, 1)])
def test_flops_on_meta_false_never_runs_the_modules_init_again(
    fake_clock: FakeClock, flops_on_meta: bool, inits: int, real_forwards: int
) -> None:
    _InitCounting.inits = _InitCounting.real_forwards = 0
    model = _InitCounting(hidden=8)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), flops_on_meta=flops_on_meta)
    _trainer(cb, limit_test_batches=4).test(model, verbose=False)
    assert _InitCounting.inits == inits
    assert cb.model_stats["model/flops_per_sample"] == 2 * (32 * 8 + 8 * 2)
    assert _InitCounting.real_forwards - 4 == real_forwards  # the loop's 4 batches, and the FLOPs pass where real


class _NetInHparams(LightningModule):
    """lightning-hydra-template's shape: the network itself passed in and kept by ``save_hyperparameters``."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_a_module_kept_in_the_hyperparameters_is_not_switched_to_eval_by_the_meta_copy() -> None:
    # The "copy" rebuilt from the hyperparameters held the real net: its eval() set the trained net's mode.
    from lightning_ecopt.callbacks.energy import _model_stats, _on_meta

    net = torch.nn.Sequential(torch.nn.Linear(32, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    model = _NetInHparams(net).train()
    copy = _on_meta(model)
    assert all(m.training for m in net.modules())
    assert copy is None  # counted on the real module instead
    assert _model_stats(model, torch.rand(1, 32))["model/flops_per_sample"] == 2 * (32 * 8 + 8 * 2)
    assert all(p.device.type == "cpu" for p in net.parameters())


def test_one_inference_in_a_predict_loop_is_predict_step_a_whole_generation() -> None:
    from lightning_ecopt.callbacks.energy import _model_stats
    from lightning_ecopt.demos import TinyTransformerLM

    model = TinyTransformerLM(vocab_size=50, seq_len=32, width=32, depth=2, heads=2, gen_tokens=8, temperature=0.0)
    prompt = torch.randint(0, 50, (1, 16))
    forward = _model_stats(model, prompt, "test")["model/flops_per_sample"]
    generation = _model_stats(model, prompt, "predict", predict_step=True)["model/predict_step_flops_per_sample"]
    # 8 forward passes over a context growing from 16 tokens (more each step): more than 8 forwards of the prompt.
    assert generation > 8 * forward
    assert _model_stats(model, prompt, "predict")["model/flops_per_sample"] == forward  # the default: forward
    _CountingNet.real_forwards = 0
    counted = _model_stats(_CountingNet(), torch.rand(1, 32), "predict", predict_step=True)
    forward_only = _model_stats(_CountingNet(), torch.rand(1, 32))
    assert counted == {"model/params": forward_only["model/params"], "model/predict_step_flops_per_sample": 2 * 272}
    assert forward_only["model/flops_per_sample"] == 2 * 272  # Lightning's predict_step is one forward pass
    assert _CountingNet.real_forwards == 0  # no predict_step of its own: forward, still on the meta device


class _ThreePassGeneration(ClockedModel):
    """A predict_step of three forward passes (a generation), each of 2 * 32 * 2 FLOPs per sample."""

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        self._tick()
        x = batch
        for _ in range(3):
            x = self(x).repeat(1, 16)
        return x


def test_a_test_then_a_predict_loop_keep_each_loop_s_flops_under_a_key_of_its_own(fake_clock: FakeClock) -> None:
    """A review found a generation's FLOPs logged as model/flops_per_sample after the test loop's forward FLOPs.

    W&B's summary, MLflow's latest value and trial_metrics kept the last (the predict loop's 384), so the proxy audit
    paired a generation's FLOPs with energy/test_j_per_sample.
    """
    logger = RecordingLogger()
    cb = EnergyCallback(
        stages=("test", "predict"),
        meter=FakeMeter(fake_clock),
        warmup_batches=0,
        min_duration_s=0.0,
        predict_flops="predict_step",
    )
    trainer = _trainer(cb, logger, limit_test_batches=2, limit_predict_batches=2)
    model = _ThreePassGeneration(fake_clock)
    trainer.test(model, verbose=False)
    trainer.predict(model, return_predictions=False)
    forward, generation = 2 * 32 * 2, 3 * 2 * 32 * 2
    metrics = trial_metrics(trainer)
    assert metrics["model/flops_per_sample"] == forward  # the test loop's inference, beside its joules
    assert metrics["model/predict_step_flops_per_sample"] == generation
    assert {"energy/test_j_per_sample", "energy/predict_j_per_sample"} <= set(metrics)
    # Every value a logger got under a key has that key's one meaning.
    logged = {key: [call[key] for call in logger.calls if key in call] for key in cb.model_stats}
    assert logged == {
        "model/params": [66.0, 66.0],
        "model/flops_per_sample": [forward],
        **{"model/predict_step_flops_per_sample": [generation]},
    }
    assert cb.model_stats == {
        "model/params": 66.0,
        "model/flops_per_sample": forward,
        "model/predict_step_flops_per_sample": generation,
    }
    trainer.test(model, verbose=False)  # the test loop again: its count is kept, the predict loop's stays
    assert trial_metrics(trainer)["model/flops_per_sample"] == forward
    assert trial_metrics(trainer)["model/predict_step_flops_per_sample"] == generation


class _WritesItsPredictions(_CountingNet):
    written: ClassVar[list[Any]] = []

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        out = self(batch)
        type(self).written.append((batch_idx, out.device.type))  # a user's file write, say
        return out


def test_counting_a_predict_loop_s_flops_runs_no_predict_step_of_the_user_unless_asked(fake_clock: FakeClock) -> None:
    """A review found the meta copy's predict_step overwriting a user's saved prediction with a meta tensor."""
    from torch.utils.data import DataLoader

    data = DataLoader(torch.rand(8, 32), batch_size=4)
    _WritesItsPredictions.written = []
    cb = EnergyCallback(stages=("predict",), meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    _trainer(cb).predict(_WritesItsPredictions(), dataloaders=data, return_predictions=False)
    assert _WritesItsPredictions.written == [(0, "cpu"), (1, "cpu")]  # the loop's two batches, nothing more
    assert cb.model_stats["model/flops_per_sample"] == 2 * (32 * 8 + 8 * 2)  # forward of one sample
    _WritesItsPredictions.written = []
    opted = _predict_flops_callback(fake_clock)
    _trainer(opted).predict(_WritesItsPredictions(), dataloaders=data, return_predictions=False)
    assert _WritesItsPredictions.written[-1] == (0, "meta")  # what the user asked for: predict_step, on the copy
    with pytest.raises(ValueError, match="predict_flops='generate'"):
        EnergyCallback(predict_flops="generate")  # type: ignore[arg-type]


_LM = {"vocab_size": 50, "seq_len": 32, "width": 32, "depth": 2, "heads": 2, "gen_tokens": 8, "temperature": 0.0}


def _predict_flops_callback(clock: FakeClock) -> EnergyCallback:
    """A callback that measures predict loops and counts FLOPs of predict_step, on a fake meter."""
    return EnergyCallback(
        stages=("predict",), meter=FakeMeter(clock), warmup_batches=0, min_duration_s=0.0, predict_flops="predict_step"
    )


@contextlib.contextmanager
def _flops_warnings_as_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "EnergyCallback.*FLOPs not counted")
        yield


def _generation_flops(prompt_len: int) -> float:
    """The FLOPs of a TinyTransformerLM's generation after one prompt, counted on its meta copy: the reference."""
    from lightning_ecopt.callbacks.energy import _model_stats

    prompt = torch.zeros(1, prompt_len, dtype=torch.long)
    return _model_stats(TinyTransformerLM(**_LM), prompt, "predict", predict_step=True)[
        "model/predict_step_flops_per_sample"
    ]


class _StopsAtAnEndToken(TinyTransformerLM):
    @torch.no_grad()
    def generate(self, prompts: torch.Tensor, n_tokens: int) -> torch.Tensor:
        tokens = prompts
        for _ in range(n_tokens):
            nxt = self(tokens[:, -self.hparams["seq_len"] :])[:, -1, :].argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, nxt], 1)
            if (nxt < 0).all():  # the usual end-of-sequence stop, never taken here: it reads a value, meta has none
                break
        return tokens[:, prompts.shape[1] :]


def test_a_generation_that_stops_at_an_end_token_counts_every_forward_pass() -> None:
    """A review found the stop failing on the meta copy and one forward pass counted instead, silently (59x low)."""
    from lightning_ecopt.callbacks.energy import _model_stats

    prompt = torch.randint(0, 50, (1, 16))
    with _flops_warnings_as_errors():
        stats = _model_stats(_StopsAtAnEndToken(**_LM), prompt, "predict", predict_step=True)
    assert stats["model/predict_step_flops_per_sample"] == _generation_flops(
        16
    )  # one real generation of the one sample


class _UnpacksItsBatch(TinyTransformerLM):
    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        prompts, _ids = batch  # a (prompts, ids) batch, the usual Lightning shape
        return self.generate(prompts, self.hparams["gen_tokens"])


def test_predict_step_flops_are_counted_on_the_batch_as_the_loop_gives_it(fake_clock: FakeClock) -> None:
    """A review found predict_step given the batch's first tensor alone: it failed, and forward's FLOPs were logged."""
    from torch.utils.data import TensorDataset

    data = DataLoader(TensorDataset(torch.randint(0, 50, (8, 16)), torch.arange(8)), batch_size=4)
    cb = _predict_flops_callback(fake_clock)
    with _flops_warnings_as_errors():
        _trainer(cb).predict(_UnpacksItsBatch(**_LM), dataloaders=data, return_predictions=False)
    assert cb.model_stats["model/predict_step_flops_per_sample"] == _generation_flops(16)


def test_a_predict_step_that_cannot_run_logs_no_flops_rather_than_forward_s() -> None:
    from lightning_ecopt.callbacks.energy import _model_stats

    prompts = torch.randint(0, 50, (1, 16))  # no ids to unpack: predict_step fails on the meta copy and for real
    with pytest.warns(
        UserWarning,
        match=r"_UnpacksItsBatch.predict_step failed on one sample of the first batch \(on the meta copy: ValueError"
        r".*; on the module: ValueError.*predict_flops='forward'",
    ):
        stats = _model_stats(_UnpacksItsBatch(**_LM), prompts, "predict", predict_step=True)
    assert stats == {"model/params": float(_parameter_count(_UnpacksItsBatch(**_LM)))}  # forward's not substituted


class _Bf16Steps(LightningModule):
    """A predict_step the meta copy cannot run (it reads a value) that makes a tensor of the default dtype."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        (x,) = batch
        hidden = self.layer(x)
        if hidden.sum().item() > 1e9:  # a value read: not on the meta copy
            return hidden
        return hidden @ torch.ones(hidden.shape[-1], 2)  # bf16 inside Lightning's bf16-true step, float32 outside


def test_a_predict_step_counted_for_real_runs_in_the_precision_plugin_s_context(fake_clock: FakeClock) -> None:
    """Before: called outside bf16-true's context, the float32 ones met bf16 weights; the loop ran, no FLOPs logged."""
    from torch.utils.data import TensorDataset

    cb = _predict_flops_callback(fake_clock)
    data = DataLoader(TensorDataset(torch.randn(8, 8)), batch_size=4)
    with _flops_warnings_as_errors():
        out = _trainer(cb, accelerator="cpu", precision="bf16-true").predict(_Bf16Steps(), dataloaders=data)
    assert out is not None
    assert out[0].dtype == torch.bfloat16  # the loop itself ran in the plugin's context
    assert (
        cb.model_stats["model/predict_step_flops_per_sample"] == 2 * 8 * 8 + 2 * 8 * 2
    )  # the Linear, then the product


class _IndexFree(TinyTransformerLM):
    def predict_step(self, batch: Any) -> torch.Tensor:  # type: ignore[override]  # Lightning passes no batch_idx
        return self.generate(batch, self.hparams["gen_tokens"])


class _Samples(TinyTransformerLM):
    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        torch.rand(1)  # a sampling generation draws from the global RNG
        if batch.device.type != "meta" and (batch < 0).any():  # never true: only here so meta cannot run it
            raise AssertionError
        return self.generate(batch, self.hparams["gen_tokens"])


def test_a_predict_step_without_batch_idx_is_counted_as_lightning_calls_it() -> None:
    # It got (batch, 0): a TypeError on both tries, so no FLOPs and a hint to make it "run on a batch of one sample".
    from lightning_ecopt.callbacks.energy import _model_stats

    prompt = torch.randint(0, 50, (1, 16))
    with _flops_warnings_as_errors():
        stats = _model_stats(_IndexFree(**_LM), prompt, "predict", predict_step=True)
    assert stats["model/predict_step_flops_per_sample"] == _generation_flops(16)


class _OfSeveralLoaders(TinyTransformerLM):
    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int) -> torch.Tensor:  # type: ignore[override]
        return self.generate(batch, self.hparams["gen_tokens"])  # Lightning passes dataloader_idx: several loaders


def test_a_predict_step_of_several_dataloaders_is_counted_as_lightning_calls_it(fake_clock: FakeClock) -> None:
    # A predict_step whose dataloader_idx has no default (legal where a predict loop has several dataloaders) got
    # (batch, 0): a TypeError on both tries, so no FLOPs and a hint to make it "run on a batch of one sample".
    prompts = DataLoader(torch.randint(0, 50, (8, 16)), batch_size=4)
    cb = EnergyCallback("predict", meter=FakeMeter(fake_clock), min_duration_s=0.0, predict_flops="predict_step")
    with _flops_warnings_as_errors():
        _trainer(cb).predict(_OfSeveralLoaders(**_LM), dataloaders=[prompts, prompts], return_predictions=False)
    assert cb.model_stats["model/predict_step_flops_per_sample"] == _generation_flops(16)


def test_counting_a_generation_for_real_leaves_the_global_rng_as_it_was() -> None:
    # The real-module fallback drew from the global RNG: a seeded run's later draws moved with FLOPs counting.
    from lightning_ecopt.callbacks.energy import _model_stats

    for model in (_Samples(**_LM), _SeedsInInit(**_LM)):
        prompt = torch.randint(0, 50, (1, 16))
        torch.manual_seed(0)
        _model_stats(model, prompt, "predict", predict_step=True)
        after = torch.rand(1)
        torch.manual_seed(0)
        assert torch.equal(after, torch.rand(1))


class _SeedsInInit(_Samples):
    def __init__(self, **kwargs: Any) -> None:
        torch.manual_seed(1234)  # rebuilt on the meta device to count FLOPs: this ran again, outside the fork
        super().__init__(**kwargs)


class _SeedsEverything(BoringModel):
    """Seeds every RNG in its constructor (``seed_everything``) and draws from Python's and NumPy's in ``forward``."""

    def __init__(self, seed: int = 1234) -> None:
        super().__init__()
        self.save_hyperparameters()
        seed_everything(seed, verbose=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        random.random()  # a random crop, a noise layer, a layer drop
        np.random.rand()
        return super().forward(x)


def test_counting_flops_leaves_python_s_and_numpy_s_rngs_and_the_seed_variables_as_the_caller_had_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The FLOPs count runs the constructor again (the meta rebuild) and forward on one sample. Only torch's RNG was
    # forked: Python's and NumPy's moved, and seed_everything's PL_GLOBAL_SEED stayed set, so a seeded notebook's or
    # sweep's next draws (a data split, the next trial's init) differed with the callback on.
    def after_test(callbacks: list[Callback]) -> tuple[Any, ...]:
        model = _SeedsEverything()
        for name in ("PL_GLOBAL_SEED", "PL_SEED_WORKERS"):
            monkeypatch.delenv(name, raising=False)
        random.seed(0)
        np.random.seed(0)
        torch.manual_seed(0)
        Trainer(
            callbacks=callbacks,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            limit_test_batches=2,
        ).test(model, verbose=False)
        return (
            random.random(),
            float(np.random.rand()),
            float(torch.rand(1)),
            os.environ.get("PL_GLOBAL_SEED"),
            os.environ.get("PL_SEED_WORKERS"),
        )

    without = after_test([])
    cb = EnergyCallback(meter="estimate", warmup_batches=0, min_duration_s=0.0)
    assert after_test([cb]) == without
    assert cb.model_stats["model/flops_per_sample"] == 2 * 32 * 2  # counted, on the meta copy the constructor made


class _Tokenises(BoringModel):
    """A forward that tokenises raw texts: the batch is {"text": [str, ...], "label": tensor}."""

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:  # type: ignore[override]
        ids = torch.tensor([[float(len(t))] * 32 for t in batch["text"]])
        return self.layer(ids)

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return self(batch).sum()


@pytest.mark.parametrize("batch_size", [3, 8])
def test_one_sample_of_texts_and_token_ids_is_one_samples_whatever_their_container(batch_size: int) -> None:
    # A zip(*batch) collate gives a tuple of texts, left whole; nested token-id lists were cut inside each sample
    # where a sample's length equalled the batch size.
    from lightning_ecopt.callbacks.energy import _one_sample

    texts = tuple(f"t{i}" for i in range(batch_size))
    ids = [list(range(i, i + 3)) for i in range(batch_size)]
    one = _one_sample({"text": texts, "ids": ids, "y": torch.arange(batch_size)})
    assert one["text"] == ("t0",)
    assert one["ids"] == [[0, 1, 2]]
    assert one["y"].tolist() == [0]


@pytest.mark.parametrize("batch_size", [4, 16])
def test_flops_of_a_forward_over_texts_are_one_samples(fake_clock: FakeClock, batch_size: int) -> None:
    # The texts stayed whole while the tensors were cut to one sample: "per sample" was the whole batch's FLOPs.
    data = [{"text": "x" * (i % 5 + 1), "label": torch.tensor(i)} for i in range(32)]
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    _trainer(cb).test(_Tokenises(), dataloaders=DataLoader(data, batch_size=batch_size), verbose=False)
    assert cb.model_stats["model/flops_per_sample"] == 2 * 32 * 2


class _ReadsItsBatch(BoringModel):
    """A Hugging Face-style forward: it takes the batch dict."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Sequential(torch.nn.Linear(32, hidden), torch.nn.Linear(hidden, 2))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        return self.layer(batch["x"])


class _TakesTwoArguments(_ReadsItsBatch):
    """A forward of two tensors named as the batch's keys (``self(**batch)``, a Hugging Face-style model's)."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.layer(x * mask)

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return self(batch["x"], batch["mask"]).sum()


class _TakesKeywordsOnly(_ReadsItsBatch):
    def forward(self, *, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        return self.layer(x if mask is None else x * mask)

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return self(**{k: v for k, v in batch.items() if k != "y"}).sum()


class _TakesOtherNames(_ReadsItsBatch):
    """A forward that needs an argument the batch has no key for: no call of it can be made from the batch alone."""

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.layer(x * weights)

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return self(batch["x"], batch["mask"]).sum()


def _dict_batches() -> DataLoader[Any]:
    return DataLoader([{"x": torch.rand(32), "mask": torch.ones(32), "y": torch.tensor(i % 2)} for i in range(8)], 4)


def test_flops_of_a_forward_that_takes_the_batch_dict(fake_clock: FakeClock) -> None:
    """A review found no FLOPs for it: forward was given the batch's first tensor only, and said so at INFO level."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    with _flops_warnings_as_errors():
        _trainer(cb).test(_ReadsItsBatch(hidden=8), dataloaders=_dict_batches(), verbose=False)
    assert cb.model_stats["model/flops_per_sample"] == 2 * (32 * 8 + 8 * 2)  # one sample's, not the batch's


@pytest.mark.parametrize("model_type", [_TakesTwoArguments, _TakesKeywordsOnly])
@pytest.mark.parametrize("flops_on_meta", [True, False])
def test_flops_of_a_forward_that_takes_the_batch_s_keys_as_arguments(
    fake_clock: FakeClock, model_type: type[_ReadsItsBatch], flops_on_meta: bool
) -> None:
    """``forward(x, mask)`` called as ``self(**batch)`` (Hugging Face-style ``input_ids, attention_mask``) got no
    FLOPs: it was given the batch's first tensor, then the batch, never its keys as keyword arguments. Keys forward
    does not name (the labels ``y``) are left out."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0, flops_on_meta=flops_on_meta)
    with _flops_warnings_as_errors():
        _trainer(cb).test(model_type(hidden=8), dataloaders=_dict_batches(), verbose=False)
    assert cb.model_stats["model/flops_per_sample"] == 2 * (32 * 8 + 8 * 2)  # one sample's, not the batch's


class _TokenModel(BoringModel):
    """``forward(input_ids, attention_mask=None)`` over a batch whose first tensor is another key (a sample index)."""

    def __init__(self) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.embed = torch.nn.Embedding(10, 8)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        return self.head(self.embed(input_ids))

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return self(batch["input_ids"], batch["attention_mask"]).sum()


def test_the_keyword_call_comes_first_where_the_first_tensor_is_a_key_forward_does_not_name(
    fake_clock: FakeClock,
) -> None:
    """A review found ``forward(idx)`` counted: it takes one tensor, so the sample index (1 token) stood for the
    7 tokens of ``input_ids``, 7x too few FLOPs and no warning."""
    data = [
        {"idx": torch.tensor(i), "input_ids": torch.randint(0, 10, (7,)), "attention_mask": torch.ones(7)}
        for i in range(8)
    ]
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    with _flops_warnings_as_errors():
        _trainer(cb).test(_TokenModel(), dataloaders=DataLoader(data, 4), verbose=False)
    assert cb.model_stats["model/flops_per_sample"] == 7 * 2 * 8 * 2  # 7 tokens through the head


class _FailsInside(_TakesTwoArguments):
    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        raise ValueError("a bug inside forward")


def test_the_warning_shows_the_keyword_call_s_own_error(fake_clock: FakeClock) -> None:
    """The error of the call forward names (its keys as arguments) is the one said, not the batch's TypeError."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0, log_model_stats=True)
    model = _FailsInside(hidden=8)
    model.test_step = lambda batch, batch_idx: None  # type: ignore[method-assign,assignment]
    with pytest.warns(
        UserWarning, match=r"on the meta copy: ValueError\('a bug inside forward'\); on the module: ValueError"
    ):
        _trainer(cb).test(model, dataloaders=_dict_batches(), verbose=False)


def test_a_forward_that_takes_no_sample_of_its_batch_is_warned_of(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    trainer = _trainer(cb)
    with pytest.warns(
        UserWarning,
        match=r"FLOPs not counted, model/flops_per_sample is not logged \(the proxy audit .*_TakesOtherNames.forward "
        r"failed on one sample of the first batch, given its first tensor, then the batch itself, then its keys as "
        r"keyword arguments \(on the meta copy: TypeError.*; on the module: TypeError",
    ):
        trainer.test(_TakesOtherNames(hidden=8), dataloaders=_dict_batches(), verbose=False)
    assert "model/flops_per_sample" not in cb.model_stats
    assert "model/flops_per_sample" not in trial_metrics(trainer)


class _Normalised(_CountingNet):
    def __init__(self, hidden: int = 8) -> None:
        super().__init__(hidden)
        self.layer = torch.nn.Sequential(
            torch.nn.Linear(32, hidden), torch.nn.BatchNorm1d(hidden), torch.nn.Linear(hidden, 2)
        )

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return self(batch[0]).sum()


@pytest.mark.parametrize("flops_on_meta", [True, False])
def test_a_batch_norm_model_s_flops_are_one_sample_s_as_before(fake_clock: FakeClock, flops_on_meta: bool) -> None:
    """An (inputs, labels) batch sliced to one sample counts what its first tensor's slice counted before."""
    from torch.utils.data import TensorDataset

    data = DataLoader(TensorDataset(torch.rand(8, 32), torch.zeros(8)), batch_size=4)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0, flops_on_meta=flops_on_meta)
    with _flops_warnings_as_errors():
        _trainer(cb).test(_Normalised(hidden=8), dataloaders=data, verbose=False)
    assert cb.model_stats["model/flops_per_sample"] == 2 * (32 * 8 + 8 * 2)  # as counted before (batch norm: none)


def test_two_callbacks_measuring_one_loop_are_warned_of(fake_clock: FakeClock) -> None:
    """Both log energy/test_*: the last to publish silently replaced the other's figures (a review's finding)."""

    def trainer(*callbacks: EnergyCallback) -> Trainer:
        return Trainer(callbacks=list(callbacks), logger=False, enable_progress_bar=False, enable_model_summary=False)

    twice = [EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=w, min_duration_s=0.0) for w in (0, 3)]
    with pytest.warns(UserWarning, match=r"another EnergyCallback on this trainer measures the \['test'\] loop"):
        trainer(*twice).test(ClockedModel(fake_clock), verbose=False)
    apart = [
        EnergyCallback(stages="test", meter=FakeMeter(fake_clock), min_duration_s=0.0),
        EnergyCallback(stages="predict", train=True, meter=FakeMeter(fake_clock), min_duration_s=0.0),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(*apart).test(ClockedModel(fake_clock), verbose=False)
    assert not [w for w in caught if "another EnergyCallback" in str(w.message)]


def test_a_strategy_that_spawns_its_processes_is_said_to_keep_the_label_there(fake_clock: FakeClock) -> None:
    """Under ddp_spawn the figures come back as metrics, the callback's results and source label do not: a sweep
    failed the trials for a missing label with no word of why (a review ran 2 CPU ranks with gloo)."""
    spawning = Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", logger=False, enable_progress_bar=False)
    cb = EnergyCallback(meter=FakeMeter(fake_clock))
    # Not strategy='ddp' alone: in a multirun its launcher reruns the whole sweep in each rank.
    with pytest.warns(
        UserWarning,
        match=r"starts its processes with multiprocessing .* In a single run use strategy='ddp' .* In a multirun "
        r"\(-m\) that would rerun the whole sweep in each rank: give each trial one device",
    ):
        cb.setup(spawning, ClockedModel(fake_clock), "test")  # what each started process runs
    back = types.SimpleNamespace(callbacks=[EnergyCallback()], callback_metrics={"energy/test_j": torch.tensor(2.0)})
    with pytest.warns(UserWarning, match=r"trial_metrics: no energy source label beside the energy figures"):
        assert "energy/source" not in trial_metrics(back)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")
@pytest.mark.parametrize("on_meta", [True, False])
@pytest.mark.parametrize("tokens", [1, 5])
def test_an_int8_model_has_as_many_parameters_and_flops_as_the_model_it_came_from(on_meta: bool, tokens: int) -> None:
    # On the module itself (on_meta=False, or a module that cannot be rebuilt from its hyperparameters) the FLOP
    # counter saw nothing in the int8 Linear layers: this all-Linear model counted 0 FLOPs
    from lightning_ecopt.callbacks.energy import _model_stats
    from lightning_ecopt.inference import prepare_for_inference

    model = _CountingNet(hidden=8)
    sample = torch.rand(1, tokens, 32)  # one sample of several tokens too: every token goes through each layer
    before = _model_stats(model, sample, on_meta=on_meta)
    assert before["model/flops_per_sample"] == tokens * 2 * (32 * 8 + 8 * 2)
    prepare_for_inference(model, quantize_int8=True)  # its Linear layers' weights are packed, not parameters
    assert sum(p.numel() for p in model.parameters()) == 0
    assert _model_stats(model, sample, on_meta=on_meta) == before  # a proxy audit over int8 trials audits the same


class _LazyAuxHead(ClockedModel):
    """A model with a lazy layer its evaluation never reaches (a head used in training only): uninitialised."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.aux = torch.nn.LazyLinear(4)


@pytest.mark.parametrize("flops_on_meta", [True, False])
def test_a_lazy_layer_no_forward_reached_is_left_out_of_the_parameters_not_a_failed_loop(
    fake_clock: FakeClock, flops_on_meta: bool
) -> None:
    """Counting its parameters raised ValueError ('uninitialized parameter') at the loop's end: the test failed."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0, flops_on_meta=flops_on_meta)
    with pytest.warns(UserWarning, match=r"_LazyAuxHead holds parameters a lazy module .* model/params \(66\)"):
        (returned,) = _trainer(cb).test(_LazyAuxHead(fake_clock), verbose=False)
    assert returned["model/params"] == 66  # BoringModel's Linear(32, 2)
    assert returned["model/flops_per_sample"] == 128
    assert (cb.results["test"].samples, cb.results["test"].batches) == (7 * BATCH, 7)


class _Sequences(torch.utils.data.Dataset[torch.Tensor]):
    """22 sequences of 1 to 5 steps of 32 features: variable lengths, batched as nested tensors."""

    def __len__(self) -> int:
        return 22

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.ones(index % 5 + 1, 32)


class _NestedBatches(ClockedModel):
    def __init__(self, clock: FakeClock, layout: torch.layout) -> None:
        super().__init__(clock)
        self.layout = layout

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._tick()

    def test_dataloader(self) -> DataLoader:
        return DataLoader(_Sequences(), batch_size=BATCH, collate_fn=self._collate)

    def _collate(self, items: list[torch.Tensor]) -> torch.Tensor:
        return torch.nested.nested_tensor(items, layout=self.layout)


@pytest.mark.parametrize("layout", [torch.strided, torch.jagged])
def test_nested_tensor_batches_are_counted_and_get_no_flops_not_a_failed_loop(
    fake_clock: FakeClock, layout: torch.layout
) -> None:
    """A strided nested tensor has no ``shape`` (counting its samples raised), a jagged one no ``narrow`` along its
    samples (cutting one sample for the FLOPs raised): the test failed for the callback's sake."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0)
    with pytest.warns(UserWarning, match="FLOPs not counted, model/flops_per_sample is not logged: one sample could"):
        (returned,) = _trainer(cb).test(_NestedBatches(fake_clock, layout), verbose=False)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (22 - 3 * BATCH, 3)  # 6 batches, 3 warm-up
    assert "model/flops_per_sample" not in returned
    assert returned["model/params"] == 66


class _FilteredNestedBatches(_NestedBatches):
    """A collate function that drops the one-step sequences (a batch of 4 holds 3): its count is not the batch_size."""

    def _collate(self, items: list[torch.Tensor]) -> torch.Tensor:
        return super()._collate([item for item in items if item.size(0) > 1])


@pytest.mark.parametrize("layout", [torch.strided, torch.jagged])
def test_a_nested_batch_that_is_not_the_batch_size_is_warned_of_not_a_failed_loop(
    fake_clock: FakeClock, layout: torch.layout
) -> None:
    """The warning that the first batch's count is not the DataLoader's batch_size printed the nested tensor's
    ``shape``, which a strided one has not: the warning raised, and the test failed."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0, log_model_stats=False)
    with pytest.warns(UserWarning, match=r"counted 3 samples in a batch, the first dimension of batch \(3, ") as caught:
        _trainer(cb).test(_FilteredNestedBatches(fake_clock, layout), verbose=False)
    assert any("but the DataLoader's batch_size is 4" in str(w.message) for w in caught)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (3 + 4 + 1, 3)  # 3, 3, 3 warm-up; 3, 4, 1


class _Streamed(torch.utils.data.IterableDataset[torch.Tensor]):
    """22 samples streamed: no length to tell, said by a ``__len__`` that raises NotImplementedError."""

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter(torch.ones(22, 32))

    def __len__(self) -> int:
        raise NotImplementedError("a stream: its length is unknown")


@pytest.mark.parametrize("stage", ["test", "predict"])
def test_a_dataset_whose_len_raises_not_implemented_is_counted_not_a_failed_loop(
    fake_clock: FakeClock, stage: str
) -> None:
    """Lightning reads such a loader as one of unknown length; the callback's len() raised NotImplementedError."""
    cb = EnergyCallback(stages=stage, meter=FakeMeter(fake_clock), min_duration_s=0.0)
    loader = DataLoader(_Streamed(), batch_size=BATCH)
    if stage == "test":
        _trainer(cb).test(ClockedModel(fake_clock), loader, verbose=False)
    else:
        _trainer(cb).predict(ClockedModel(fake_clock), loader)
    assert (cb.results[stage].samples, cb.results[stage].batches) == (22 - 3 * BATCH, 3)


# ---------------------------------------------------------------------- samples known from the dataloader
class _AnyBatch(ClockedModel):
    """Evaluation steps that take any batch (several dataloaders too)."""

    def test_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._tick()

    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._tick()

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._tick()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per batch whose samples the callback counted by looking into it."""
    calls: list[int] = []
    original = EnergyCallback._count_samples

    def spy(self: EnergyCallback, batch: Any, state: Any) -> int:
        calls.append(1)
        return original(self, batch, state)

    monkeypatch.setattr(EnergyCallback, "_count_samples", spy)
    return calls


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "shuffle", "warmup", "samples", "batches"),
    [
        (10 * BATCH, BATCH, False, False, 3, 7 * BATCH, 7),
        (10, 4, False, False, 1, 4 + 2, 2),  # batches of 4, 4, 2
        (10, 4, False, True, 1, 4 + 2, 2),  # a RandomSampler yields as many
        (10, 4, True, False, 1, 4, 1),  # 4, 4: the partial batch dropped
        (10, 4, False, False, 2, 2, 1),  # the partial batch alone measured
        (10, 4, False, False, 0, 10, 3),
        (3, 4, False, False, 0, 3, 1),  # one partial batch
        (12, 4, False, False, 1, 8, 2),  # no partial batch
    ],
)
def test_samples_of_a_plain_dataloader_are_not_counted_per_batch(
    fake_clock: FakeClock,
    counted: list[int],
    n: int,
    batch_size: int,
    drop_last: bool,
    shuffle: bool,
    warmup: int,
    samples: int,
    batches: int,
) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=warmup, min_duration_s=0.0)
    data = DataLoader(RandomDataset(32, n), batch_size=batch_size, drop_last=drop_last, shuffle=shuffle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shuffling a test set
        _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=data, verbose=False)
    result = cb.results["test"]
    assert (result.samples, result.batches) == (samples, batches)
    assert len(counted) == 1  # only the first batch, checked against the dataloader's sizes


class _SequenceFirst(_AnyBatch):
    """Reshapes each batch after collation, as an RNN wants it: (B, 32) -> (T=32, B, 1)."""

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        return batch.T.unsqueeze(-1)


def test_a_batch_reshaped_after_collation_keeps_the_dataloaders_count_and_says_so(
    fake_clock: FakeClock, counted: list[int]
) -> None:
    """A hook made the batch sequence-first: its leading dimension (32 time steps) replaced the DataLoader's exact
    count, silently: 9 measured batches of 32 "samples", 288 for the 34 the model processed."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=2, min_duration_s=0.0, log_model_stats=False)
    loader = DataLoader(RandomDataset(32, 42), batch_size=4)
    with pytest.warns(UserWarning, match=r"holds 4 samples.*batch \(32, 4, 1\).*is 32.*batch_size_fn") as record:
        _trainer(cb).test(_SequenceFirst(fake_clock), dataloaders=loader, verbose=False)
    assert sum("reshaped it" in str(w.message) for w in record) == 1
    # The DataLoader's count stands: the first tensor's leading size is not checked against its batch_size again.
    assert not any("but the DataLoader's batch_size is" in str(w.message) for w in record)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (42 - 2 * 4, 9)
    assert len(counted) == 1  # the first batch only: the others are the DataLoader's

    # batch_size_fn counts them as the user says, with no warning.
    cb = EnergyCallback(
        meter=FakeMeter(fake_clock), warmup_batches=2, min_duration_s=0.0, log_model_stats=False,
        batch_size_fn=lambda batch: batch.shape[1],
    )  # fmt: skip
    with user_warnings_as_errors():
        _trainer(cb).test(_SequenceFirst(fake_clock), dataloaders=loader, verbose=False)
    assert cb.results["test"].samples == 34


class _StepwiseModel(_AnyBatch):
    """One linear map per time step of a (B, 32) batch: 2 * 8 FLOPs per step, 512 per sample."""

    def __init__(self, clock: FakeClock, layout: str = "batch-first") -> None:
        super().__init__(clock)
        self.layout = layout
        self.cell = torch.nn.Linear(1, 8, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cell(x)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.layout == "sequence-first":
            return batch.T.unsqueeze(-1)  # (T, B, 1)
        if self.layout == "flat":
            return batch.reshape(-1, 1)  # (B * T, 1)
        return batch.unsqueeze(-1)  # (B, T, 1)


@pytest.mark.parametrize("batch_size_fn", [None, lambda batch: batch.shape[1]])
def test_flops_of_a_sequence_first_batch_are_of_one_sample(fake_clock: FakeClock, batch_size_fn: Any) -> None:
    """Cut along its first dimension, one time step of every sample was counted as a sample's FLOPs: 64 (4 samples x
    one step) for 512 (one sample x 32 steps)."""
    loader = DataLoader(RandomDataset(32, 12), batch_size=4)
    flops = {}
    for layout in ("batch-first", "sequence-first"):
        counts = batch_size_fn if layout == "sequence-first" else None
        cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0, batch_size_fn=counts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the reshaped batch's count, said and tested above
            _trainer(cb).test(_StepwiseModel(fake_clock, layout), dataloaders=loader, verbose=False)
        flops[layout] = cb.model_stats["model/flops_per_sample"]
    assert flops == {"batch-first": 512.0, "sequence-first": 512.0}


def test_a_sequence_first_batch_of_one_sample_is_that_sample(fake_clock: FakeClock) -> None:
    """(T, 1, 1) has two dimensions of size 1: either cut is the whole batch, not "several dimensions" and no FLOPs."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*reshaped it")
        warnings.filterwarnings("error", r".*FLOPs not counted")
        loader = DataLoader(RandomDataset(32, 3), batch_size=1)
        _trainer(cb).test(_StepwiseModel(fake_clock, "sequence-first"), dataloaders=loader, verbose=False)
    assert cb.model_stats["model/flops_per_sample"] == 512.0


def test_a_batch_with_no_dimension_of_its_samples_gets_no_flops_and_says_so(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0.0)
    loader = DataLoader(RandomDataset(32, 12), batch_size=4)
    with pytest.warns(UserWarning, match=r"FLOPs not counted.*holds 4 samples, but batch \(128, 1\) has no dimension"):
        _trainer(cb).test(_StepwiseModel(fake_clock, "flat"), dataloaders=loader, verbose=False)
    assert "model/flops_per_sample" not in cb.model_stats
    assert cb.model_stats["model/params"] == 8 + 32 * 2 + 2  # the step's and BoringModel's layer


def test_a_fast_dev_run_is_flagged_short_without_warnings(fake_clock: FakeClock) -> None:
    """``fast_dev_run`` runs a batch to check the code: a short window by the user's choice. Its figures are flagged
    as any short loop's, but neither short-window warning is said (two per loop, in every debugging run)."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=3, min_duration_s=60.0)
    with user_warnings_as_errors():
        _trainer(cb, fast_dev_run=True).test(ClockedModel(fake_clock), verbose=False)
    assert cb.results["test"].batches == 1
    assert cb.results["test"].short

    # The same one batch outside a fast_dev_run is warned of, in the singular.
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=3, min_duration_s=0.0)
    with pytest.warns(UserWarning, match="the test loop had 1 batch, not more than warmup_batches=3"):
        _trainer(cb, limit_test_batches=1).test(ClockedModel(fake_clock), verbose=False)
    assert cb.results["test"].short


def test_samples_of_a_loop_ended_in_its_warmup_come_from_the_dataloader(
    fake_clock: FakeClock, counted: list[int]
) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=5)
    with pytest.warns(UserWarning, match="not more than warmup_batches=5"):
        _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=DataLoader(RandomDataset(32, 10), batch_size=4))
    assert (cb.results["test"].samples, cb.results["test"].batches) == (10, 3)
    assert len(counted) == 1


class _MyLoader(DataLoader):
    pass


class _BatchedDataset(RandomDataset):
    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        return [self[i] for i in indices[:-1]]  # one sample fewer than asked for


class _ShortFirstBatch(torch.utils.data.BatchSampler):
    """A batch sampler of its own: its first batch one sample short."""

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(super().__iter__())
        batches[0] = batches[0][:-1]
        return iter(batches)


class _Stream(torch.utils.data.IterableDataset):
    def __iter__(self) -> Any:
        return iter(torch.zeros(10, 32))


def _fallback_case(name: str) -> tuple[Any, dict[str, Any], list[int]]:
    """(dataloaders, Trainer kwargs, each batch's samples) of a test loop whose counts only the batches tell."""
    from torch.utils.data import DistributedSampler, SubsetRandomSampler

    from lightning_ecopt.inference import TimedPasses

    data = RandomDataset(32, 10)
    cases: dict[str, tuple[Any, dict[str, Any], list[int]]] = {
        "collate_fn": (DataLoader(data, batch_size=4, collate_fn=lambda s: torch.stack(s[:-1])), {}, [3, 3, 1]),
        "batch_sampler": (DataLoader(data, batch_sampler=[[0, 1], [2, 3, 4], [5]]), {}, [2, 3, 1]),
        "a BatchSampler subclass": (
            DataLoader(data, batch_sampler=_ShortFirstBatch(torch.utils.data.SequentialSampler(data), 4, False)),
            {},
            [3, 4, 2],
        ),
        "sampler": (DataLoader(data, batch_size=2, sampler=SubsetRandomSampler(range(5))), {}, [2, 2, 1]),
        "DistributedSampler": (
            DataLoader(data, batch_size=4, sampler=DistributedSampler(data, num_replicas=2, rank=0, shuffle=False)),
            {},
            [4, 1],
        ),
        "IterableDataset": (DataLoader(_Stream(), batch_size=4), {}, [4, 4, 2]),
        "TimedPasses": (TimedPasses(data, batch_size=3, max_passes=2), {}, [3, 3, 3, 3, 3, 3, 2]),
        "several dataloaders": ([DataLoader(data, batch_size=4), DataLoader(data, batch_size=6)], {}, [4, 4, 2, 6, 4]),
        "limit_test_batches": (DataLoader(data, batch_size=4), {"limit_test_batches": 2}, [4, 4]),
        "a DataLoader subclass": (_MyLoader(data, batch_size=4), {}, [4, 4, 2]),
        "__getitems__": (DataLoader(_BatchedDataset(32, 10), batch_size=4), {}, [3, 3, 1]),
        "in_order=False": (  # no partial batch: whichever comes first, the counts are known
            DataLoader(RandomDataset(32, 8), batch_size=4, num_workers=2, in_order=False),
            {},
            [4, 4],
        ),
    }
    return cases[name]


@pytest.mark.parametrize(
    "case",
    [
        "collate_fn",
        "batch_sampler",
        "a BatchSampler subclass",
        "sampler",
        "DistributedSampler",
        "IterableDataset",
        "TimedPasses",
        "several dataloaders",
        "limit_test_batches",
        "a DataLoader subclass",
        "__getitems__",
        "in_order=False",
    ],
)
@pytest.mark.parametrize("stage", ["test", "predict"])
def test_samples_are_counted_per_batch_unless_the_dataloader_fixes_them(
    fake_clock: FakeClock, counted: list[int], case: str, stage: str
) -> None:
    """A predict loop's too: Lightning's rebuilt DataLoader (batch sampler wrapped) fixes no more than the test's."""
    dataloaders, trainer_kwargs, sizes = _fallback_case(case)
    if stage == "predict" and case == "batch_sampler":
        pytest.skip("Lightning cannot predict with a list as batch sampler (its wrapper copies the sampler's __dict__)")
    if stage == "predict":
        trainer_kwargs = {k.replace("test", "predict"): v for k, v in trainer_kwargs.items()}
    cb = EnergyCallback(stages=stage, meter=FakeMeter(fake_clock), warmup_batches=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on samplers and dataloader lengths
        trainer = _trainer(cb, **trainer_kwargs)
        if stage == "test":
            trainer.test(_AnyBatch(fake_clock), dataloaders=dataloaders, verbose=False)
        else:
            trainer.predict(_AnyBatch(fake_clock), dataloaders=dataloaders, return_predictions=False)
    result = cb.results[stage]
    assert (result.samples, result.batches) == (sum(sizes[1:]), len(sizes) - 1)
    assert len(counted) == len(sizes)


@pytest.mark.parametrize(
    ("mode", "as_list", "samples"),
    [
        ("max_size_cycle", False, 2 * (4 + 5)),  # a: 4, 4, 4; b: 5, 5, 5 (cycled); the first batch warms up
        ("max_size_cycle", True, 2 * (4 + 5)),
        ("min_size", False, 4 + 5),  # two batches of both
        ("max_size", False, (4 + 5) + 4),  # b exhausted: None in the third batch
    ],
)
def test_a_combined_loader_zipping_its_iterables_counts_every_iterables_samples(
    fake_clock: FakeClock, mode: str, as_list: bool, samples: int
) -> None:
    """Each batch holds one batch of every iterable: its first tensor was the first iterable's only (32 samples
    logged for 72 in a review's max_size_cycle run, 8 for 18 in min_size)."""
    from lightning.pytorch.utilities import CombinedLoader

    a = DataLoader(RandomDataset(32, 12), batch_size=4)
    b = DataLoader(RandomDataset(32, 10), batch_size=5)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0.0, log_model_stats=False)
    combined = CombinedLoader([a, b] if as_list else {"a": a, "b": b}, mode=mode)  # type: ignore[arg-type]
    with user_warnings_as_errors():
        _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=combined, verbose=False)
    assert cb.results["test"].samples == samples


def test_a_combined_loader_whose_batches_cannot_be_split_says_so(fake_clock: FakeClock) -> None:
    from lightning.pytorch.utilities import CombinedLoader

    a = DataLoader(RandomDataset(32, 12), batch_size=4)
    b = DataLoader(list("abcdefghij"), batch_size=5)  # no tensor to count
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0.0, log_model_stats=False)
    with pytest.warns(UserWarning, match=r"CombinedLoader zipping 2 iterables.*batch_size_fn") as record:
        _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=CombinedLoader({"a": a, "b": b}, mode="min_size"))
    assert sum("CombinedLoader zipping" in str(w.message) for w in record) == 1
    assert cb.results["test"].samples == 4  # the first tensor's, as said


def test_batch_size_fn_is_used_on_a_plain_dataloader(fake_clock: FakeClock, counted: list[int]) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, batch_size_fn=lambda batch: 100)
    _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=DataLoader(RandomDataset(32, 10), batch_size=4))
    assert cb.results["test"].samples == 200
    assert len(counted) == 3


def test_batches_without_a_tensor_take_the_dataloaders_count(fake_clock: FakeClock, counted: list[int]) -> None:
    """A batch with no tensor has no count of its own: a plain DataLoader's sizes stand (they were replaced by 1 a
    batch, with a warning: 2 samples for the 6 of the two measured batches)."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, log_model_stats=False, min_duration_s=0)
    with user_warnings_as_errors():
        _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=DataLoader(list("abcdefghij"), batch_size=4))
    assert (cb.results["test"].samples, cb.results["test"].batches) == (6, 2)
    assert len(counted) == 0

    # A map-style dataset whose collate function returns no tensor: the DataLoader's batch_size a batch, not 1.
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, log_model_stats=False, min_duration_s=0)
    letters = DataLoader(list("abcdefghij"), batch_size=4, collate_fn=lambda items: "".join(items))
    with pytest.warns(UserWarning, match=r"counting the DataLoader's batch_size, 4, per batch \(a last, shorter"):
        _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=letters)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (8, 2)  # 4 + 2 in truth: said

    # Without the DataLoader's sizes (an IterableDataset: no length), 1 a batch, and a warning says so.
    class Letters(torch.utils.data.IterableDataset):
        def __iter__(self) -> Any:
            return iter("abcdefghij")

    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, log_model_stats=False, min_duration_s=0)
    with pytest.warns(UserWarning, match="counting 1 sample per batch"):
        _trainer(cb).test(_AnyBatch(fake_clock), dataloaders=DataLoader(Letters(), batch_size=4))
    assert (cb.results["test"].samples, cb.results["test"].batches) == (2, 2)


def test_validation_samples_come_from_the_dataloader_while_fitting_only(
    fake_clock: FakeClock, counted: list[int]
) -> None:
    cb = EnergyCallback(stages="validate", meter=FakeMeter(fake_clock), warmup_batches=1)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=1, num_sanity_val_steps=0)
    model = _AnyBatch(fake_clock)
    trainer.fit(model, val_dataloaders=DataLoader(RandomDataset(32, 10), batch_size=4))
    assert cb.results["validate"].samples == 4 + 2
    assert len(counted) == 1
    # trainer.validate(): val_dataloaders may still be fit's (10 samples); these are counted per batch.
    trainer.validate(model, dataloaders=DataLoader(RandomDataset(32, 7), batch_size=4), verbose=False)
    assert cb.results["validate"].samples == 3
    assert len(counted) == 1 + 2


def test_a_validate_run_after_fit_counts_in_the_search_energy(fake_clock: FakeClock) -> None:
    """``energy/validate_in_fit`` tells a fit's validation (inside ``energy/train_j``) from a ``trainer.validate()``."""
    from lightning_ecopt.report import trial_energy
    from lightning_ecopt.sweeper.results import TrialRecord

    cb = EnergyCallback(stages="validate", train=True, meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, num_sanity_val_steps=0)
    model = _AnyBatch(fake_clock)
    trainer.fit(model, val_dataloaders=DataLoader(RandomDataset(32, 10), batch_size=4))
    fitted = trial_metrics(trainer)
    assert fitted["energy/validate_in_fit"] == 1.0
    assert trial_energy(TrialRecord(0, {}, "completed", fitted)).total_j == fitted["energy/train_j"]

    trainer.validate(model, dataloaders=DataLoader(RandomDataset(32, 40), batch_size=4), verbose=False)
    metrics = trial_metrics(trainer)
    assert metrics["energy/validate_in_fit"] == 0.0
    standalone = float(metrics["energy/validate_j"]) + float(metrics["energy/validate_warmup_j"])
    assert standalone > 0
    cost = trial_energy(TrialRecord(0, {}, "completed", metrics))
    assert cost.total_j == pytest.approx(float(metrics["energy/train_j"]) + standalone)
    assert not cost.eval_partial


@pytest.mark.parametrize(
    ("data", "drop_last", "shuffle", "samples", "batches"),
    [
        (RandomDataset(32, 10), False, False, 4 + 2, 2),
        (RandomDataset(32, 10), True, False, 4 + 2, 2),  # Lightning predicts every sample: drop_last=False forced
        (RandomDataset(32, 10), False, True, 4 + 2, 2),
        # 22 prompts as text (no tensor): the last batch holds 2, not the batch_size (12 were counted for 10)
        ([f"prompt {i}" for i in range(22)], False, False, 4 + 4 + 2, 3),
    ],
    ids=["tensors", "drop_last", "shuffled", "text"],
)
def test_predict_samples_come_from_the_batch_sampler_lightning_wraps(
    fake_clock: FakeClock, counted: list[int], data: Any, drop_last: bool, shuffle: bool, samples: int, batches: int
) -> None:
    """A predict loop's DataLoader is rebuilt around Lightning's index-keeping batch sampler (batch_size None): its
    sizes are read through it, so a text batch's last, partial batch counts its own samples, not the batch_size."""
    warmup = 1 if isinstance(data, RandomDataset) else 3
    cb = EnergyCallback(stages="predict", meter=FakeMeter(fake_clock), warmup_batches=warmup, min_duration_s=0)
    loader = DataLoader(data, batch_size=4, drop_last=drop_last, shuffle=shuffle)
    with user_warnings_as_errors(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*predict returned None")  # _AnyBatch's predict_step
        warnings.filterwarnings("ignore", message=".*shuffl")  # shuffling a predict set
        warnings.filterwarnings("ignore", message=".*FLOPs not counted.*holds no tensor")  # texts: no FLOPs pass
        _trainer(cb).predict(_AnyBatch(fake_clock), dataloaders=loader, return_predictions=False)
    result = cb.results["predict"]
    assert (result.samples, result.batches) == (samples, batches)
    assert len(counted) == (1 if isinstance(data, RandomDataset) else 0)  # the first tensor, checked; text: none


def _texts(n: int) -> list[str]:
    return [f"prompt {i}" for i in range(n)]


@pytest.mark.parametrize(
    ("loader", "samples"),
    [
        # a rank's shard of 22 prompts (11: batches 4, 4, 3): 4 + 3 measured, not 4 + 4
        (
            lambda: DataLoader(
                _texts(22), batch_size=4, sampler=torch.utils.data.DistributedSampler(_texts(22), 2, 0, shuffle=False)
            ),
            4 + 3,
        ),
        # a batch sampler of its own (3, 4, 4, 4, 4, 2): 4 + 4 + 4 + 4 + 2 measured, not 5 x 4
        (
            lambda: DataLoader(_texts(22), batch_sampler=_ShortFirstBatch(range(22), 4, False)),  # type: ignore[arg-type]
            4 + 4 + 4 + 4 + 2,
        ),
        (lambda: DataLoader(_texts(22), batch_size=4, collate_fn=" ".join), 4 * 4 + 2),  # no tensor, no list
    ],
    ids=["DistributedSampler", "BatchSampler subclass", "collate_fn"],
)
def test_predict_batches_without_a_tensor_count_the_indices_lightning_recorded(
    fake_clock: FakeClock, loader: Callable[[], DataLoader], samples: int
) -> None:
    """Where the DataLoader fixes no sizes, a text batch had only the batch_size to count (a last, partial batch
    counted in full, with a warning): a predict loop's batch sampler, which Lightning wraps, says how many it drew."""
    cb = EnergyCallback(
        stages="predict", meter=FakeMeter(fake_clock), warmup_batches=1, log_model_stats=False, min_duration_s=0
    )
    with user_warnings_as_errors(), warnings.catch_warnings():  # no "counting the DataLoader's batch_size" warning
        warnings.filterwarnings("ignore", message=".*(predict returned None|custom batch sampler)")
        _trainer(cb).predict(_AnyBatch(fake_clock), dataloaders=loader(), return_predictions=False)
    assert cb.results["predict"].samples == samples


@pytest.mark.parametrize(("max_passes", "samples"), [(1, 4 * 4 + 2), (3, 15 * 4 + 2)])  # 22 or 66, less a batch
@pytest.mark.parametrize("stage", ["test", "predict"])
def test_text_batches_of_timed_passes_count_the_last_partial_batch_s_own_samples(
    fake_clock: FakeClock, stage: str, max_passes: int, samples: int
) -> None:
    """TimedPasses over texts (no tensor to count) ends on a partial batch: it counted in full (a batch of 2 as the
    batch_size, 4, with a warning); TimedPasses says how many it yielded."""
    from lightning_ecopt.inference import TimedPasses

    cb = EnergyCallback(
        stages=stage, meter=FakeMeter(fake_clock), warmup_batches=1, log_model_stats=False, min_duration_s=0
    )
    passes = TimedPasses(_texts(22), batch_size=4, max_passes=max_passes, collate_fn=list)
    with user_warnings_as_errors(), warnings.catch_warnings():  # no "counting the DataLoader's batch_size" warning
        warnings.filterwarnings("ignore", message=".*predict returned None")
        trainer = _trainer(cb)
        if stage == "test":
            trainer.test(_AnyBatch(fake_clock), dataloaders=passes, verbose=False)
        else:
            trainer.predict(_AnyBatch(fake_clock), dataloaders=passes, return_predictions=False)
    assert cb.results[stage].samples == samples


def test_a_predict_loader_rebuilt_by_lightning_has_fixed_sizes_only_over_a_plain_sampler() -> None:
    """Read through Lightning's index-keeping wrapper: a DDP rank's shard (Lightning's unrepeated distributed
    sampler) is no plain sampler, and its batches are counted as before."""
    from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSamplerWrapper
    from lightning.pytorch.trainer.states import RunningStage
    from lightning.pytorch.utilities.data import _update_dataloader

    loader = DataLoader(RandomDataset(32, 10), batch_size=4, drop_last=True)
    plain = _update_dataloader(loader, loader.sampler, mode=RunningStage.PREDICTING)
    assert plain.batch_size is None  # why the loader's own batch_size cannot be read
    assert energy_module._fixed_batch_sizes(plain, [3]) == (4, 3, 2)  # drop_last=False, as Lightning predicts
    assert energy_module._fixed_batch_sizes(plain, [2]) is None  # limit_predict_batches=2
    shard = UnrepeatedDistributedSamplerWrapper(loader.sampler, num_replicas=2, rank=1, shuffle=False)
    sharded = _update_dataloader(loader, shard, mode=RunningStage.PREDICTING)
    assert energy_module._fixed_batch_sizes(sharded, [len(sharded)]) is None


class _TwoBatchesAStep(BoringModel):
    """Each evaluation step fetches two batches from the ``dataloader_iter``: 1 J and 0.1 s a sample."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def _two_batches(self, dataloader_iter: Iterator[Any]) -> torch.Tensor:
        samples = 0
        for _ in range(2):
            try:
                batch, _, _ = next(dataloader_iter)
            except StopIteration:
                break
            samples += len(batch)
        self.clock.advance(time_s=0.1 * samples, gpu_j=1.0 * samples)
        return torch.ones(samples, 5)

    def test_step(self, dataloader_iter: Iterator[Any]) -> Any:  # type: ignore[override]
        return self._two_batches(dataloader_iter)

    def validation_step(self, dataloader_iter: Iterator[Any]) -> Any:  # type: ignore[override]
        return self._two_batches(dataloader_iter)

    def predict_step(self, dataloader_iter: Iterator[Any]) -> Any:  # type: ignore[override]
        return self._two_batches(dataloader_iter)


@pytest.mark.parametrize("run", ["test", "predict", "validate", "fit"])
def test_a_step_that_fetches_several_batches_counts_every_batch_and_sample(fake_clock: FakeClock, run: str) -> None:
    """Lightning calls the batch hooks once a step with its last batch: batches, samples and warm-up are counted as
    the loop fetches them. 38 samples in batches of 4 (the last of 2), two a step: the warm-up of 3 batches ends at
    the first step that begins after it, 4 batches in; 6 batches of 22 samples (22 J, 110 tokens) are measured."""
    stage = "validate" if run == "fit" else run
    cb = EnergyCallback(
        stages=stage,
        meter=FakeMeter(fake_clock),
        warmup_batches=3,
        min_duration_s=0,
        log_model_stats=False,
        count_fn=lambda batch, outputs: int(outputs.numel()),
    )
    data = DataLoader(RandomDataset(32, 38), batch_size=4)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=1, num_sanity_val_steps=0)
    model = _TwoBatchesAStep(fake_clock)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's note that dataloader_iter is experimental
        if run == "fit":
            trainer.fit(model, train_dataloaders=DataLoader(RandomDataset(32, 4)), val_dataloaders=data)
        else:
            getattr(trainer, run)(model, dataloaders=data)
    result = cb.results[stage]
    assert (result.batches, result.warmup_batches, result.samples) == (6, 4, 22)
    assert (result.energy_j, result.samples_per_j, result.tokens) == (22.0, 1.0, 110)
    assert result.warmup_j == 16.0


def test_a_step_that_fetches_its_batches_from_an_unknown_fetcher_is_warned_of(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the loop's fetcher is not found (another Lightning), batches are counted a step at a time, and said."""
    monkeypatch.setattr(energy_module, "_running_loop", lambda trainer, stage: None)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0, log_model_stats=False)
    with pytest.warns(UserWarning, match=r"test_step takes the dataloader_iter.*batch_size_fn is given that last"):
        _trainer(cb).test(_TwoBatchesAStep(fake_clock), dataloaders=DataLoader(RandomDataset(32, 16), batch_size=4))
    assert cb.results["test"].batches == 2  # the steps


def test_a_count_fn_of_a_step_that_fetches_its_batches_is_told_it_sees_one_batch_a_step(fake_clock: FakeClock) -> None:
    """count_fn gets the step's last batch only: counted from the batch, a step of two counted one's tokens (review)."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0, log_model_stats=False,
                        count_fn=lambda batch, outputs: int(outputs.numel()))  # fmt: skip
    with pytest.warns(UserWarning, match=r"count_fn is called once a step, with the step's output and the last batch"):
        _trainer(cb).test(_TwoBatchesAStep(fake_clock), dataloaders=DataLoader(RandomDataset(32, 16), batch_size=4))
    assert (cb.results["test"].batches, cb.results["test"].tokens) == (4, 80)  # counted from the outputs: all of them


@pytest.mark.parametrize("per_batch", ["split", "window"])
def test_steady_batches_are_handled_inside_the_hooks(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch, per_batch: str
) -> None:
    """Once measuring, the batch hooks call nothing else: the warm-up batches and the first measured one do."""
    calls: list[str] = []
    for name in ("_batch_start", "_batch_end"):
        original = getattr(EnergyCallback, name)

        def spy(self: EnergyCallback, *args: Any, _name: str = name, _original: Any = original) -> None:
            calls.append(_name)
            _original(self, *args)

        monkeypatch.setattr(EnergyCallback, name, spy)
    meter = FakeReadingMeter(fake_clock, update_period_s=1e-9)
    cb = EnergyCallback(meter=meter, warmup_batches=3, per_batch=per_batch, min_duration_s=0.0)
    _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert (calls.count("_batch_start"), calls.count("_batch_end")) == (4, 4)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (7 * BATCH, 7)
    assert len(cb.results["test"].batch_j) == (7 if per_batch == "window" else 0)


def _dispatched(profiler: SimpleProfiler, hook: str) -> int:
    """How many times Lightning dispatched EnergyCallback's ``hook`` (each dispatch is profiled)."""
    return len(profiler.recorded_durations.get(f"[Callback]EnergyCallback.{hook}", []))


@pytest.mark.parametrize(("per_batch", "starts"), [("split", 3 + 1), ("window", 10)])
def test_idle_batch_hooks_leave_lightnings_dispatch_until_the_loop_ends(
    fake_clock: FakeClock, per_batch: str, starts: int
) -> None:
    """Lightning dispatches the hooks through the warm-up and the first measured batch only; the counts stay exact."""
    cb = EnergyCallback(
        meter=FakeReadingMeter(fake_clock, update_period_s=1e-9), per_batch=per_batch, min_duration_s=0.0
    )
    for _ in range(2):  # the hooks are back for the next loop
        profiler = SimpleProfiler()
        _trainer(cb, profiler=profiler).test(ClockedModel(fake_clock), verbose=False)
        assert (_dispatched(profiler, "on_test_batch_start"), _dispatched(profiler, "on_test_batch_end")) == (starts, 4)
        result = cb.results["test"]
        assert (result.samples, result.batches, result.energy_j) == (7 * BATCH, 7, 21.0)
        assert len(result.batch_j) == (7 if per_batch == "window" else 0)
        assert not {"on_test_batch_start", "on_test_batch_end"} & set(vars(cb))


def test_a_predict_loop_s_idle_batch_hooks_leave_lightnings_dispatch_too(fake_clock: FakeClock) -> None:
    """A predict loop's plain DataLoader fixes its samples as the test loop's does (read through Lightning's wrapped
    batch sampler): its end hook leaves the dispatch after the first measured batch; it ran on every batch."""
    cb = EnergyCallback(stages="predict", meter=FakeMeter(fake_clock), per_batch="split", min_duration_s=0)
    profiler = SimpleProfiler()
    _trainer(cb, profiler=profiler).predict(ClockedModel(fake_clock), return_predictions=False)
    assert (_dispatched(profiler, "on_predict_batch_start"), _dispatched(profiler, "on_predict_batch_end")) == (4, 4)
    assert (cb.results["predict"].samples, cb.results["predict"].batches) == (3 * BATCH, 3)  # 6 batches, 3 warm-up
    assert not {"on_predict_batch_start", "on_predict_batch_end"} & set(vars(cb))


def test_validation_hooks_are_muted_in_every_epoch(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(stages="validate", meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0.0)
    seen: list[tuple[int, int]] = []

    class _Record(Callback):
        def on_validation_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
            seen.append((cb.results["validate"].samples, cb.results["validate"].batches))

    profiler = SimpleProfiler()
    trainer = _trainer(cb, max_epochs=3, limit_train_batches=1, num_sanity_val_steps=0, profiler=profiler)
    trainer.callbacks.append(_Record())  # type: ignore[attr-defined]
    trainer.fit(_AnyBatch(fake_clock), val_dataloaders=DataLoader(RandomDataset(32, 22), batch_size=4))
    assert seen == [(18, 5)] * 3  # batches of 4 x 5 and 2: the first is the warm-up
    assert _dispatched(profiler, "on_validation_batch_end") == 2 * 3  # the warm-up and the first measured batch


@pytest.mark.parametrize("skips", [True, False])
def test_hooks_stay_where_lightning_would_call_them_anyway(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch, skips: bool
) -> None:
    monkeypatch.setattr(energy_module, "_dispatch_skips_non_callables", lambda: skips)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0)
    profiler = SimpleProfiler()
    _trainer(cb, profiler=profiler).test(ClockedModel(fake_clock), verbose=False)
    assert _dispatched(profiler, "on_test_batch_end") == (4 if skips else 10)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (7 * BATCH, 7)


def test_installed_lightning_skips_a_hook_that_is_not_callable() -> None:
    """The probe behind the muted hooks: if this fails, a Lightning upgrade lost loop mode's fast path."""
    energy_module._dispatch_skips_non_callables.cache_clear()
    assert energy_module._dispatch_skips_non_callables()


class _CountingEnergyCallback(EnergyCallback):
    """A user's subclass that counts the batches in its own batch hooks, then lets EnergyCallback count them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.starts = self.ends = 0

    def on_test_batch_start(self, *args: Any, **kwargs: Any) -> None:
        self.starts += 1
        super().on_test_batch_start(*args, **kwargs)

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self.ends += 1
        super().on_test_batch_end(*args, **kwargs)


@pytest.mark.parametrize("per_batch", ["split", "window"])
def test_a_subclass_s_batch_hooks_run_on_every_batch(fake_clock: FakeClock, per_batch: str) -> None:
    """Muting an idle hook must not switch off a subclass's override of it after the warm-up (it saw 4 of 10)."""
    cb = _CountingEnergyCallback(meter=FakeMeter(fake_clock), per_batch=per_batch, min_duration_s=0.0)
    _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert (cb.starts, cb.ends) == (10, 10)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (7 * BATCH, 7)


class _FailsLate(ClockedModel):
    def test_step(self, batch: Any, batch_idx: int) -> Any:
        if batch_idx == 6:
            raise RuntimeError("out of memory")
        return super().test_step(batch, batch_idx)


def test_muted_hooks_come_back_after_an_error(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0)
    with pytest.raises(RuntimeError, match="out of memory"):
        _trainer(cb).test(_FailsLate(fake_clock), verbose=False)
    assert not {"on_test_batch_start", "on_test_batch_end"} & set(vars(cb))
    _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert (cb.results["test"].samples, cb.results["test"].batches) == (7 * BATCH, 7)


def test_a_failed_loop_leaves_no_figures_of_the_loop_before(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0)
    trainer = _trainer(cb)
    trainer.test(ClockedModel(fake_clock), verbose=False)
    assert "energy/test_j" in trial_metrics(trainer)
    with pytest.raises(RuntimeError, match="out of memory"):
        trainer.test(_FailsLate(fake_clock), verbose=False)
    # What a failed trial reports must not be the previous run's figures passed off as its own.
    assert "test" not in cb.results
    assert "energy/test_j" not in trial_metrics(trainer)


class _CostlyEnd(FakeMeter):
    """Ending a window costs 0.01 s and 1 J, as a GPU sync and NVML/RAPL readings do."""

    def end(self, name: str) -> Any:
        measurement = super().end(name)
        self.clock.advance(time_s=0.01, gpu_j=1.0)
        return measurement


def test_closing_the_windows_costs_the_measured_figure_nothing(fake_clock: FakeClock) -> None:
    meter = _CostlyEnd(fake_clock)
    cb = EnergyCallback(meter=meter, min_duration_s=0.0, per_batch="split", log_model_stats=False)
    _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    # 7 measured batches of 3 J; closing the measured window (1 J) falls outside it, into the warm-up's remainder.
    assert cb.results["test"].energy_j == pytest.approx(7 * 3.0)
    assert cb.results["test"].warmup_j == pytest.approx(3 * 3.0 + 1.0)
    assert meter.calls[-2:] == ["end test/steady", "end test/loop"]


def test_model_stats_follow_the_model_each_loop_measures(fake_clock: FakeClock) -> None:
    class Wide(ClockedModel):
        def __init__(self, clock: FakeClock) -> None:
            super().__init__(clock)
            self.layer = torch.nn.Linear(32, 64)

    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0)
    trainer = _trainer(cb)
    small, wide = ClockedModel(fake_clock), Wide(fake_clock)
    trainer.test(small, verbose=False)
    assert trial_metrics(trainer)["model/params"] == 32 * 2 + 2
    trainer.test(wide, verbose=False)
    assert trial_metrics(trainer)["model/params"] == 32 * 64 + 64
    assert trainer.callback_metrics["model/params"].item() == 32 * 64 + 64


def test_a_call_that_measures_no_loop_reports_no_model_stats(fake_clock: FakeClock) -> None:
    """An earlier call's model counts are not this call's: a trial whose test loop ran no batch reports none."""
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0)
    _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    assert trial_metrics(_trainer(cb))["model/params"] == 32 * 2 + 2
    empty = _trainer(cb, limit_test_batches=0)
    empty.test(ClockedModel(fake_clock), verbose=False)
    assert not any(key.startswith("model/") for key in trial_metrics(empty))


class _CompiledLayer(ClockedModel):
    """A compiled submodule (``self.layer = torch.compile(layer)``), by the eager backend: no C++ compiler needed."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.layer = torch.compile(self.layer, backend="eager")  # type: ignore[assignment]


@pytest.mark.parametrize("how", ["module.compile()", "a compiled submodule"])
@pytest.mark.parametrize("warmup_batches", [0, 1])
def test_a_compiled_model_without_warm_up_batches_is_warned_of(
    fake_clock: FakeClock, warmup_batches: int, how: str
) -> None:
    """Its first batch compiles it inside the measured window (a review measured 317 against 3,700 samples/J).
    A compiled submodule was not seen as compiled: no warning."""
    if how == "module.compile()":
        model = ClockedModel(fake_clock)
        model._compiled_call_impl = model._call_impl  # what module.compile() sets, without compiling anything here
    else:
        torch._dynamo.reset()
        model = _CompiledLayer(fake_clock)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=warmup_batches, min_duration_s=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _trainer(cb).test(model, verbose=False)
    compiled = [w for w in caught if "the model is compiled (torch.compile) and warmup_batches=0" in str(w.message)]
    assert len(compiled) == (1 if warmup_batches == 0 else 0)


@pytest.mark.parametrize("drop_last", [False, True])
def test_a_recompilation_inside_the_measured_window_flags_the_loop(fake_clock: FakeClock, drop_last: bool) -> None:
    """The last, partial batch (2 samples after 4, 4) makes torch.compile compile again inside the measured window:
    98 % of a review's measured joules, 51 instead of ~500 samples/J, unflagged and unsaid."""
    torch._dynamo.reset()  # no graph of an earlier test's to reuse
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0.0, log_model_stats=False)
    loader = DataLoader(RandomDataset(32, 10), batch_size=4, drop_last=drop_last)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = _trainer(cb)
        trainer.test(_CompiledLayer(fake_clock), dataloaders=loader, verbose=False)
    said = [str(w.message) for w in caught if "inside the measured test loop" in str(w.message)]
    if drop_last:  # every batch of one shape: compiled once, in the warm-up
        assert said == []
        assert not cb.results["test"].short
    else:
        assert len(said) == 1
        assert "torch.compile built 1 new graph(s)" in said[0]
        assert "drop_last=True" in said[0]
        assert "eager_on_recompile" in said[0]
        assert cb.results["test"].short
        assert trainer.callback_metrics["energy/test_short_window"] == 1.0


def test_the_compiled_graph_count_is_zero_without_torchdynamos_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch._dynamo.utils", raising=False)
    assert energy_module._compiled_graphs() == 0
    monkeypatch.setitem(sys.modules, "torch._dynamo.utils", types.SimpleNamespace())  # a torch without counters
    assert energy_module._compiled_graphs() == 0


def test_model_stats_are_counted_once_for_an_unchanged_model(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[int] = []
    real = energy_module._model_stats

    def spy(pl_module: Any, sample: Any, stage: str, **kwargs: Any) -> dict[str, float]:
        counted.append(1)
        return real(pl_module, sample, stage, **kwargs)

    monkeypatch.setattr(energy_module, "_model_stats", spy)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), min_duration_s=0.0)
    trainer, model = _trainer(cb), ClockedModel(fake_clock)
    trainer.test(model, verbose=False)
    trainer.test(model, verbose=False)
    assert len(counted) == 1  # the FLOP count's forward pass is not repeated for the same model


class _ValidatingModel(ClockedModel):
    """Validation batches cost 0.5 s and 2 J + 1 J too (the sanity check's among them)."""

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        self._tick()
        return super().validation_step(batch, batch_idx)


def test_train_energy_includes_the_sanity_check(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(stages="test", train=True, meter=FakeMeter(fake_clock))
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=3, limit_val_batches=2, num_sanity_val_steps=2)
    trainer.fit(_ValidatingModel(fake_clock))
    # 2 sanity batches + 3 training steps (10 J each) + 2 validation batches: the whole fit, as documented.
    assert cb.results["train"].energy_j == pytest.approx(2 * 3.0 + 3 * 10.0 + 2 * 3.0)


def test_a_fit_that_trains_nothing_leaves_no_window_open(fake_clock: FakeClock) -> None:
    meter = FakeMeter(fake_clock)
    cb = EnergyCallback(train=True, meter=meter)
    model = ClockedModel(fake_clock)
    _trainer(cb, max_epochs=0, limit_val_batches=0).fit(model)
    assert not meter.open
    _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=0).fit(model)  # the window opens afresh
    assert cb.results["train"].energy_j == pytest.approx(20.0)


class _StickyEnd(FakeMeter):
    """Like Zeus's ``end_window`` after a sticky CUDA error: the window is closed, then its GPU sync raises."""

    broken = False

    def end(self, name: str) -> Any:
        measurement = super().end(name)
        if self.broken:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return measurement


@pytest.mark.parametrize("run", ["fit", "test"])
def test_a_window_that_fails_to_close_never_hides_the_users_error(fake_clock: FakeClock, run: str) -> None:
    meter = _StickyEnd(fake_clock)

    class Breaks(ClockedModel):
        def training_step(self, batch: Any, batch_idx: int) -> Any:
            meter.broken = True
            raise RuntimeError("device-side assert triggered")

        def test_step(self, batch: Any, batch_idx: int) -> Any:
            if batch_idx == 5:  # after the warm-up: every window is open
                self.training_step(batch, batch_idx)
            return super().test_step(batch, batch_idx)

    cb = EnergyCallback(stages="test", train=True, meter=meter, per_batch="window", log_model_stats=False)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=0)
    with pytest.raises(RuntimeError, match="device-side assert triggered"):
        trainer.fit(Breaks(fake_clock)) if run == "fit" else trainer.test(Breaks(fake_clock), verbose=False)
    assert not meter.open


class _FailsOnce(FakeMeter):
    """Ending the measured window fails once (a counter that could not be read)."""

    failed = False

    def end(self, name: str) -> Any:
        if name == "test/steady" and not self.failed:
            self.failed = True
            raise RuntimeError("counter read failed")
        return super().end(name)


def test_a_failed_end_leaves_no_window_open_for_the_next_loop(fake_clock: FakeClock) -> None:
    meter = _FailsOnce(fake_clock)
    cb = EnergyCallback(meter=meter, min_duration_s=0.0, log_model_stats=False)
    trainer = _trainer(cb)
    with pytest.raises(RuntimeError, match="counter read failed"):
        trainer.test(ClockedModel(fake_clock), verbose=False)
    assert not meter.open
    trainer.test(ClockedModel(fake_clock), verbose=False)  # not "window test/loop opened twice"
    assert cb.results["test"].energy_j == pytest.approx(7 * 3.0)


def _on(device: str, local_rank: int = 0) -> Any:
    """The parts of a Trainer that EnergyCallback.setup reads."""
    strategy = types.SimpleNamespace(root_device=torch.device(device))
    return types.SimpleNamespace(strategy=strategy, local_rank=local_rank)


def test_the_meter_follows_the_device_and_rank_of_each_trainer(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One callback, a CPU fit then a test on cuda:1: the test must measure (and synchronise) cuda:1."""
    built: list[tuple[list[int], bool]] = []
    real = energy_module.make_meter

    def spy(spec: Any, **kwargs: Any) -> Any:
        if not isinstance(spec, str):
            return real(spec, **kwargs)
        built.append((kwargs["gpu_indices"], kwargs["read_cpu"]))
        return real("estimate")

    monkeypatch.setattr(energy_module, "make_meter", spy)
    cb = EnergyCallback(meter="auto")
    for device, rank in [("cpu", 0), ("cpu", 0), ("cuda:1", 0), ("cuda:1", 1)]:
        cb.setup(_on(device, rank), BoringModel(), "test")
    assert built == [([], True), ([1], True), ([1], False)]
    assert cb._async_device == torch.device("cuda:1")
    # A meter passed in is the user's: kept as it is, while the device synchronised follows the trainer.
    mine = FakeMeter(fake_clock)
    cb = EnergyCallback(meter=mine)
    for device in ("cuda:0", "cpu"):
        cb.setup(_on(device), BoringModel(), "test")
        assert cb.meter is mine
    assert cb._async_device is None


def test_warmup_batches_on_apple_silicon_are_timed_after_the_mps_queue_drains(monkeypatch: pytest.MonkeyPatch) -> None:
    """MPS runs asynchronously like CUDA: a warm-up batch timed without a sync is timed by its kernels' launch."""
    synced: list[str] = []
    monkeypatch.setattr(torch.mps, "synchronize", lambda: synced.append("mps"))
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: synced.append(f"cuda {device}"))
    cb = EnergyCallback(meter="estimate")
    cb.setup(_on("mps"), BoringModel(), "test")
    cb._sync_warmup()
    cb.setup(_on("cpu"), BoringModel(), "test")
    cb._sync_warmup()
    assert synced == ["mps"]


def test_ranks_of_different_energy_kinds_are_never_summed() -> None:
    """Rank 0 measured (package-wide RAPL), rank 1 estimated: the sum would be neither and count CPU work twice."""
    from lightning_ecopt.energy import Measurement
    from lightning_ecopt.exceptions import EnergyMeterError

    trainer = types.SimpleNamespace(  # the other rank's own call first: its figures are the peer's
        world_size=2, strategy=types.SimpleNamespace(root_device=torch.device("cpu"), all_gather=_peer_all_gather())
    )

    def reduce(m: Measurement) -> Any:
        cb = EnergyCallback(meter="estimate", min_duration_s=0.0)
        state = energy_module._LoopState(batch_window="test/batch")
        return cb._reduce(trainer, "test", m, m, samples=4, batches=2, tokens=None, state=state)  # type: ignore[arg-type]

    measured = Measurement(time_s=3.0, cpu_j=60.0, source="measured: zeus/rapl")
    reduce(Measurement(time_s=3.0, cpu_j=1.5, source="estimated: cpu-time"))  # rank 1
    with pytest.raises(
        EnergyMeterError, match=r"different kinds \(measured on ranks \[0\], estimated on ranks \[1\]\).*'estimate'"
    ):
        reduce(measured)  # rank 0
    trainer.strategy.all_gather = _peer_all_gather()  # a new pair of calls
    with pytest.warns(UserWarning, match="read 0 J"):  # rank 1, covered by rank 0's RAPL: no joules of its own
        reduce(Measurement(time_s=2.0, cpu_j=None, source="measured: zeus/rapl"))
    result = reduce(measured)
    assert (result.cpu_j, result.samples, result.time_s) == (60.0, 8, 3.0)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_the_cpu_time_estimate_says_it_leaves_out_the_loaders_worker_processes(num_workers: int) -> None:
    """``time.process_time()`` counts this process only: workers' loading is missing from the estimate, so more
    workers would look cheaper without a word (a measured meter sees them: nothing to say there)."""
    cb = EnergyCallback(meter="estimate", warmup_batches=0, min_duration_s=0, log_model_stats=False)
    loader = DataLoader(RandomDataset(32, 8), batch_size=4, num_workers=num_workers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(callbacks=[cb], logger=False, enable_progress_bar=False, enable_model_summary=False).test(
            BoringModel(), dataloaders=loader, verbose=False
        )
    said = [str(w.message) for w in caught if "worker processes" in str(w.message)]
    if num_workers:
        assert len(said) == 1
        assert "num_workers=1" in said[0]
        assert "estimated: cpu-time" in said[0]
    else:
        assert said == []


@pytest.mark.parametrize("form", ["dict", "CombinedLoader"])
def test_the_worker_warning_looks_into_loaders_given_as_a_dict_or_combined_loader(
    fake_clock: FakeClock, form: str
) -> None:
    """A test loop's loaders in a dict (or a CombinedLoader of one) were one object without ``num_workers``: no
    warning, and the estimate left the workers' loading out unsaid."""
    from lightning.pytorch.utilities import CombinedLoader

    loaders = {
        "a": DataLoader(RandomDataset(32, 8), batch_size=4),
        "b": DataLoader(RandomDataset(32, 8), batch_size=4, num_workers=1),
    }
    cb = EnergyCallback(meter="estimate", warmup_batches=0, min_duration_s=0, log_model_stats=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _trainer(cb).test(
            _AnyBatch(fake_clock),
            dataloaders=loaders if form == "dict" else CombinedLoader(loaders, mode="sequential"),
            verbose=False,
        )
    said = [str(w.message) for w in caught if "worker processes" in str(w.message)]
    assert len(said) == 1
    assert "num_workers=1" in said[0]


@pytest.mark.parametrize(("train_workers", "val_workers"), [(0, 0), (1, 0), (0, 1)])
def test_the_cpu_time_estimate_of_a_fit_says_it_leaves_out_the_loaders_worker_processes(
    train_workers: int, val_workers: int
) -> None:
    """``energy/train_j`` (train=True) covers the fit's training and validation loading: it was never checked, so
    a fit with workers read 15x fewer joules than one without, with no warning."""
    cb = EnergyCallback(meter="estimate", train=True, warmup_batches=0, min_duration_s=0, log_model_stats=False)
    train = DataLoader(RandomDataset(32, 8), batch_size=4, num_workers=train_workers)
    val = DataLoader(RandomDataset(32, 8), batch_size=4, num_workers=val_workers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Trainer(
            callbacks=[cb],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            max_epochs=1,
            enable_checkpointing=False,
        ).fit(BoringModel(), train_dataloaders=train, val_dataloaders=val)
    said = [str(w.message) for w in caught if "worker processes" in str(w.message)]
    if train_workers or val_workers:
        assert len(said) == 1
        assert said[0].startswith("EnergyCallback: the fit (energy/train_j) loads its batches in 1 worker")
    else:
        assert said == []


def _peer_all_gather() -> Callable[[torch.Tensor], torch.Tensor]:
    """A two-rank ``all_gather`` called once per rank: the first call's figures go to the second as its peer's."""
    peer: list[torch.Tensor] = []

    def all_gather(local: torch.Tensor) -> torch.Tensor:
        if not peer:
            peer.append(local.clone())
            return torch.stack([local, local])
        return torch.stack([local, peer[0]])

    return all_gather


def _two_rank_reduce() -> Callable[..., Any]:
    """``EnergyCallback._reduce`` of a 4-batch, 8-sample test loop on two ranks, called once per rank (rank 1 first).

    The fake ``all_gather`` keeps the first call's figures and hands them to the second as the peer's.
    """
    from lightning_ecopt.energy import Measurement

    all_gather = _peer_all_gather()

    trainer = types.SimpleNamespace(
        world_size=2, strategy=types.SimpleNamespace(root_device=torch.device("cpu"), all_gather=all_gather)
    )

    def reduce(m: Measurement, mode: str, batch_j: list[float]) -> Any:
        cb = EnergyCallback(meter="estimate", min_duration_s=0.0)
        state = energy_module._LoopState(batch_window="test/batch", mode=mode, batch_j=batch_j)
        return cb._reduce(trainer, "test", m, m, samples=8, batches=4, tokens=None, state=state)  # type: ignore[arg-type]

    return reduce


@pytest.mark.parametrize("world_size", [1, 2])
def test_a_rank_that_ran_no_batch_still_joins_the_ranks_reduction(
    world_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sharded iterable dataset can leave one rank without a batch: skipping the all_gather there would leave the
    other ranks waiting in theirs. Alone, the empty loop reports nothing without a reduction."""
    from lightning_ecopt.energy import Measurement
    from lightning_ecopt.energy.figures import LoopEnergy

    cb = EnergyCallback(meter="estimate", min_duration_s=0.0)
    m = Measurement(time_s=0.01, cpu_j=0.001, source="estimated: cpu-time")
    reduced: list[int] = []

    def reduce(*args: Any, **kwargs: Any) -> LoopEnergy:
        reduced.append(kwargs["batches"])
        return LoopEnergy("test", m.source, time_s=0.01, gpu_j=None, cpu_j=0.001, dram_j=None, samples=0, batches=0)

    monkeypatch.setattr(cb, "_end_windows", lambda stage, state: (m, m, 0, None))
    monkeypatch.setattr(cb, "_reduce", reduce)
    monkeypatch.setattr(cb, "_close_windows", lambda stage, state: None)
    cb._loops["test"] = energy_module._LoopState(batch_window="test/batch")
    trainer = types.SimpleNamespace(world_size=world_size)
    with pytest.warns(UserWarning, match="the test loop ran no batches"):
        cb._loop_end(trainer, None, "test", returned=False)  # type: ignore[arg-type]
    assert reduced == ([0] if world_size > 1 else [])
    assert "test" not in cb.results  # every rank empty: no figures


def test_under_ddp_a_rank_that_ended_inside_its_warmup_flags_the_loop_and_rank_zero_says_so() -> None:
    """An uneven shard: rank 1 has 2 batches, fewer than warmup_batches=3, so it is measured whole, its cold start
    (0.3 J) in the loop's joules. Rank 0, steady, logged short_window=0 and no warning (rank 1's own was muted by
    rank_zero_warn): 23 samples/J instead of ~600, unflagged."""
    from lightning_ecopt.energy import Measurement

    all_gather = _peer_all_gather()  # rank 1 calls first; rank 0 gets [its own, rank 1's]

    trainer = types.SimpleNamespace(
        world_size=2, strategy=types.SimpleNamespace(root_device=torch.device("cpu"), all_gather=all_gather)
    )
    source = "estimated: cpu-time"
    rank1 = EnergyCallback(meter="estimate", warmup_batches=3, min_duration_s=0.0)
    whole1 = Measurement(time_s=0.4, cpu_j=0.35, source=source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank 1's warnings are rank_zero_warn's: never shown
        rank1._reduce(
            trainer,  # type: ignore[arg-type]
            "test",
            whole1,
            whole1,
            samples=8,
            batches=2,
            tokens=None,
            state=energy_module._LoopState(batch_window="test/batch", seen=2),
        )
    rank0 = EnergyCallback(meter="estimate", warmup_batches=3, min_duration_s=0.0)
    state0 = energy_module._LoopState(batch_window="test/batch", seen=10, steady=True, warmup_seen=3)
    steady0 = Measurement(time_s=0.1, cpu_j=0.05, source=source)
    whole0 = Measurement(time_s=0.5, cpu_j=0.4, source=source)
    with pytest.warns(UserWarning, match="inside the warm-up") as caught:
        result = rank0._reduce(
            trainer,  # type: ignore[arg-type]
            "test",
            steady0,
            whole0,
            samples=28,
            batches=7,
            tokens=None,
            state=state0,
        )
    said = [str(w.message) for w in caught if "inside the warm-up" in str(w.message)]
    assert len(said) == 1
    assert "rank(s) [1] ended the test loop inside the warm-up" in said[0]
    assert "rank 1: 2 batches, 8 samples, 0.35 J" in said[0]
    assert "warmup_batches=3" in said[0]
    assert result.short
    assert result.metrics()["energy/test_short_window"] == 1.0
    assert (result.samples, result.batches) == (36, 9)


def test_under_ddp_a_fast_dev_run_flags_the_loop_without_the_ranks_warning() -> None:
    """Each rank of a fast_dev_run runs one batch, inside any warm-up: flagged as before, not warned of (the
    single-process case's rule), and a rank of one batch is '1 batch' where it is warned of."""
    from lightning_ecopt.energy import Measurement

    trainer = types.SimpleNamespace(
        world_size=2, strategy=types.SimpleNamespace(root_device=torch.device("cpu"), all_gather=_peer_all_gather())
    )
    whole = Measurement(time_s=0.01, cpu_j=0.05, source="estimated: cpu-time")

    def reduce(debug_run: bool) -> Any:
        cb = EnergyCallback(meter="estimate", warmup_batches=3, min_duration_s=0.0)
        state = energy_module._LoopState(batch_window="test/batch", seen=1, debug_run=debug_run)
        return cb._reduce(trainer, "test", whole, whole, samples=4, batches=1, tokens=None, state=state)  # type: ignore[arg-type]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank 1's warnings are rank_zero_warn's: never shown
        reduce(debug_run=True)
    with user_warnings_as_errors():
        result = reduce(debug_run=True)  # rank 0
    assert result.short

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduce(debug_run=False)
    with pytest.warns(UserWarning, match=r"rank 0: 1 batch, 4 samples, .*rank 1: 1 batch, 4 samples"):
        reduce(debug_run=False)


def test_under_ddp_joules_per_batch_is_the_mean_window_over_every_rank() -> None:
    """Rank 0's package-wide RAPL windows hold both ranks' concurrent work (2 J a batch, 1 J each); rank 1, covered by
    rank 0's RAPL, reads 0 J a batch. Rank 0's mean alone said 2 J, rank 1's 0 J; the loop's is 1 J a batch."""
    from lightning_ecopt.energy import Measurement

    reduce = _two_rank_reduce()
    with pytest.warns(UserWarning, match="read 0 J"):  # rank 1
        reduce(Measurement(time_s=2.0, cpu_j=None, source="measured: zeus/rapl"), "window", [0.0] * 4)
    result = reduce(Measurement(time_s=2.0, cpu_j=8.0, source="measured: zeus/rapl"), "window", [2.0] * 4)  # rank 0
    assert (result.energy_j, result.batches, result.per_batch_mode) == (8.0, 8, "window")
    assert result.j_per_batch == pytest.approx(1.0)
    assert result.metrics()["energy/test_j_per_batch"] == pytest.approx(result.energy_j / result.batches)


def test_under_ddp_warmup_batches_are_every_rank_s_as_the_measured_batches_are() -> None:
    """Each of two ranks warms up on 3 batches and measures 4 (samples and batches summed: 8 batches); the warm-up
    said 3 batches, rank 0's alone, beside warmup_j summed over both."""
    from lightning_ecopt.energy import Measurement

    trainer = types.SimpleNamespace(
        world_size=2, strategy=types.SimpleNamespace(root_device=torch.device("cpu"), all_gather=_peer_all_gather())
    )
    steady = Measurement(time_s=2.0, cpu_j=8.0, source="estimated: cpu-time")
    whole = Measurement(time_s=3.0, cpu_j=11.0, source="estimated: cpu-time")
    for _rank in (1, 0):  # rank 1 first: the fake all_gather hands its figures to rank 0
        cb = EnergyCallback(meter="estimate", warmup_batches=3, min_duration_s=0.0)
        state = energy_module._LoopState(batch_window="test/batch", seen=7, steady=True, warmup_seen=3)
        result = cb._reduce(trainer, "test", steady, whole, samples=16, batches=4, tokens=None, state=state)  # type: ignore[arg-type]
    assert (result.batches, result.samples, result.warmup_j) == (8, 32, 6.0)
    assert result.warmup_batches == 6


def test_under_ddp_per_batch_windows_count_only_where_every_rank_has_them() -> None:
    """Each rank picks its per-batch mode from its own warm-up: near the threshold rank 0 measures windows and rank 1
    splits. Rank 0's windows alone (2 J a batch) were the loop's, against 12 J over 8 batches."""
    from lightning_ecopt.energy import Measurement

    reduce = _two_rank_reduce()
    reduce(Measurement(time_s=4.0, gpu_j={1: 4.0}, source="measured: zeus/nvml"), "split", [])  # rank 1
    result = reduce(
        Measurement(time_s=4.0, gpu_j={0: 4.0}, cpu_j=4.0, source="measured: zeus/nvml"), "window", [2.0] * 4
    )
    assert (result.energy_j, result.batches, result.per_batch_mode) == (12.0, 8, "split")
    assert result.j_per_batch == pytest.approx(1.5)


def test_a_loop_that_read_no_gpu_logs_no_gpu_figure(fake_clock: FakeClock) -> None:
    # A CPU-time estimate, or Zeus on RAPL alone: energy/test_gpu_j = 0.0 looked measured, and won a "minimise GPU
    # joules" objective for a trial that never read its GPU.
    from lightning_ecopt.energy import Measurement

    cb = EnergyCallback(meter="estimate", min_duration_s=0.0)
    state = energy_module._LoopState(batch_window="test/batch", mode="split", batch_j=[])
    trainer = types.SimpleNamespace(world_size=1)
    m = Measurement(time_s=1.0, cpu_j=3.0, source="measured: zeus/rapl")
    result = cb._reduce(trainer, "test", m, m, samples=8, batches=4, tokens=None, state=state)  # type: ignore[arg-type]
    assert result.gpu_j is None
    assert "energy/test_gpu_j" not in result.metrics()
    assert result.metrics()["energy/test_cpu_j"] == 3.0


def test_a_transformers_flops_on_the_real_module_match_the_meta_count() -> None:
    from lightning_ecopt.callbacks.energy import _model_stats
    from lightning_ecopt.demos import TinyTransformerLM

    model = TinyTransformerLM(vocab_size=50, seq_len=32, width=32, depth=2, heads=2, gen_tokens=8).eval()
    prompt = torch.randint(0, 50, (1, 16))
    on_meta = _model_stats(model, prompt, "test")["model/flops_per_sample"]
    # In eval mode the real module takes PyTorch's fused attention paths (TransformerEncoder's fast path, the CPU
    # attention kernel), which FlopCounterMode does not see: they counted 19x too few FLOPs.
    assert _model_stats(model, prompt, "test", on_meta=False)["model/flops_per_sample"] == on_meta
    assert torch.backends.mha.get_fastpath_enabled()  # the global switch is restored


def test_a_meter_whose_source_names_no_kind_is_refused_before_any_loop(fake_clock: FakeClock) -> None:
    meter = FakeMeter(fake_clock)
    meter.source = "ipmi/bmc"  # type: ignore[misc]
    # Before: accepted, and a sweep failed every trial after it had trained ("does not say whether ... measured").
    with pytest.raises(ValueError, match=r"its source 'ipmi/bmc' does not say whether the joules were measured"):
        EnergyCallback(meter=meter)


def test_labels_reach_tensorboard_hparams_logged_from_a_hydra_config(fake_clock: FakeClock, tmp_path: Any) -> None:
    # The usual Hydra app logs its config as given: a struct DictConfig, which TensorBoardLogger merges into its
    # hparams. Adding the labels to them must not raise at the end of the loop (ConfigKeyError: not in struct).
    from lightning.pytorch.loggers import TensorBoardLogger
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"lr": 0.1})
    OmegaConf.set_struct(cfg, True)
    logger = TensorBoardLogger(tmp_path, default_hp_metric=False)
    logger.log_hyperparams(cfg)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0, log_model_stats=False)
    (out,) = _trainer(cb, logger).test(ClockedModel(fake_clock), verbose=False)
    assert out["energy/test_j"] > 0
    assert logger.hparams["energy/test_source"] == cb.results["test"].source
    assert logger.hparams["lr"] == 0.1


def test_the_callback_pickles_after_a_measured_loop(fake_clock: FakeClock) -> None:
    # ddp_spawn pickles the trainer's callbacks: one that has measured a loop must pickle, and measure again after.
    import pickle

    cb = EnergyCallback(meter="estimate", warmup_batches=1, min_duration_s=0)
    _trainer(cb).test(ClockedModel(fake_clock), verbose=False)
    copy = pickle.loads(pickle.dumps(cb))
    assert copy.results == cb.results
    assert copy.model_stats == cb.model_stats
    (out,) = _trainer(copy).test(ClockedModel(fake_clock), verbose=False)
    assert out["model/params"] == cb.model_stats["model/params"]
    assert copy.results["test"].batches == cb.results["test"].batches


class _PerSampleImages(ClockedModel):
    """A detection model's batches: a collate function returns the images as a tuple of per-sample tensors."""

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        self._tick()
        images, _ = batch
        return {"n": len(images)}


def _per_sample_collate(samples: list[Any]) -> tuple[Any, ...]:
    return tuple(zip(*samples, strict=True))  # (images, targets): per-sample tensors, as detection models take them


def _per_sample_loader(n: int, batch_size: int) -> DataLoader:
    data = [(torch.randn(3, 4, 4), {"label": torch.tensor(i)}) for i in range(n)]
    return DataLoader(data, batch_size=batch_size, collate_fn=_per_sample_collate)  # type: ignore[arg-type]


def test_a_count_that_disagrees_with_the_dataloaders_batch_size_is_warned(fake_clock: FakeClock) -> None:
    # The first tensor is one image: its first dimension (3 channels) is no batch size. Without batch_size_fn the
    # count cannot be right; it must not be wrong silently.
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0, log_model_stats=False)
    with pytest.warns(UserWarning, match=r"batch\[0\]\[0\].*batch_size is 8.*batch_size_fn") as record:
        _trainer(cb).test(_PerSampleImages(fake_clock), _per_sample_loader(40, 8), verbose=False)
    assert sum("batch_size is 8" in str(w.message) for w in record) == 1  # once per loop, not per batch
    cb = EnergyCallback(
        meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0, log_model_stats=False,
        batch_size_fn=lambda batch: len(batch[0]),
    )  # fmt: skip
    with user_warnings_as_errors():
        _trainer(cb).test(_PerSampleImages(fake_clock), _per_sample_loader(40, 8), verbose=False)
    assert cb.results["test"].samples == 32


class _PredictsPerSampleImages(_PerSampleImages):
    def predict_step(self, batch: Any, batch_idx: int) -> Any:
        return self.test_step(batch, batch_idx)


def test_a_predict_loop_checks_its_count_against_the_dataloaders_batch_size_too(fake_clock: FakeClock) -> None:
    # Lightning rebuilds a predict DataLoader around its own batch sampler (batch_size None): the check never ran.
    cb = EnergyCallback(stages=["predict"], meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0)
    with pytest.warns(UserWarning, match=r"batch_size is 8"):
        _trainer(cb).predict(_PredictsPerSampleImages(fake_clock), _per_sample_loader(40, 8), return_predictions=False)


@pytest.mark.parametrize("skipped", ["limit_test_batches=0", "an empty dataloader"])
def test_a_skipped_loop_leaves_no_earlier_figures_behind(fake_clock: FakeClock, skipped: str) -> None:
    # Lightning skips a loop with no batches without its epoch hooks: results["test"] and trial_metrics kept the
    # earlier call's figures, as if this call had measured them.
    from lightning_ecopt import trial_metrics

    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0, log_model_stats=False)
    model = _AnyBatch(fake_clock)
    _trainer(cb).test(model, DataLoader(RandomDataset(32, 10), batch_size=2), verbose=False)
    assert cb.results["test"].samples == 8
    if skipped == "limit_test_batches=0":
        trainer = _trainer(cb, limit_test_batches=0)
        trainer.test(model, DataLoader(RandomDataset(32, 10), batch_size=2), verbose=False)
    else:
        trainer = _trainer(cb)
        trainer.test(model, DataLoader(RandomDataset(32, 0), batch_size=2), verbose=False)
    assert "test" not in cb.results
    assert not [k for k in trial_metrics(trainer) if k.startswith("energy/test")]


def test_a_loop_whose_iterable_yields_no_batch_reports_nothing(fake_clock: FakeClock) -> None:
    """Lightning cannot size (nor skip) an iterable dataset's loop: one that yields nothing ran the loop's hooks
    around no batch. Its overhead read as a tiny energy/test_j, which a sweep minimising it would rank best."""

    class Nothing(torch.utils.data.IterableDataset):
        def __iter__(self) -> Any:
            return iter(())

    meter = FakeMeter(fake_clock)
    cb = EnergyCallback(meter=meter, warmup_batches=0, min_duration_s=0, log_model_stats=False)
    trainer = _trainer(cb)
    with pytest.warns(UserWarning, match="the test loop ran no batches"):
        trainer.test(_AnyBatch(fake_clock), DataLoader(Nothing(), batch_size=4), verbose=False)
    assert "test" not in cb.results
    assert not [k for k in trial_metrics(trainer) if k.startswith("energy/test")]
    assert not meter.open


@pytest.mark.parametrize(("samples", "max_passes"), [(40, 1), (5, 4)])  # (5, 4): the passes fill the first batch
def test_timed_passes_with_a_per_sample_collate_function_are_checked_too(
    fake_clock: FakeClock, samples: int, max_passes: int
) -> None:
    from lightning_ecopt.inference import TimedPasses

    data = [(torch.randn(3, 4, 4), {"label": torch.tensor(i)}) for i in range(samples)]
    passes = TimedPasses(data, batch_size=8, max_passes=max_passes, collate_fn=_per_sample_collate)
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0, log_model_stats=False)
    with pytest.warns(UserWarning, match=r"batch_size is 8"):
        _trainer(cb).test(_PerSampleImages(fake_clock), passes, verbose=False)


class _ParamsOnceLogger(RecordingLogger):
    """Refuses a hyperparameter logged again with another value, as MLflow does."""

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(params).items():
            if key in self.hparams and self.hparams[key] != value:
                raise ValueError(f"Changing param values is not allowed. Param with key={key!r} was already logged")
        super().log_hyperparams(params)


def test_a_logger_that_refuses_a_changed_label_costs_a_warning_not_the_loop(fake_clock: FakeClock) -> None:
    # per_batch="auto" may choose another mode in a later loop (each validation epoch of a fit); MLflow refuses a
    # parameter's new value with an exception, which must not end the fit.
    logger = _ParamsOnceLogger()
    cb = EnergyCallback(
        meter=FakeMeter(fake_clock), warmup_batches=1, min_duration_s=0, log_model_stats=False, per_batch="window"
    )
    trainer = _trainer(cb, logger)
    trainer.test(ClockedModel(fake_clock), verbose=False)
    cb.per_batch = "split"
    with pytest.warns(UserWarning, match="_ParamsOnceLogger refused .*energy/test_per_batch_mode.*Changing param"):
        (out,) = trainer.test(ClockedModel(fake_clock), verbose=False)
    assert out["energy/test_j"] > 0
    assert cb.results["test"].per_batch_mode == "split"
    assert logger.metrics["energy/test_j"] == out["energy/test_j"]


def test_a_second_fit_of_one_trainer_is_not_called_a_checkpoint_resume(fake_clock: FakeClock) -> None:
    cb = EnergyCallback(stages=(), train=True, meter=FakeMeter(fake_clock), log_model_stats=False)
    trainer = _trainer(cb, max_epochs=1, limit_train_batches=2, limit_val_batches=0)
    model = ClockedModel(fake_clock)
    trainer.fit(model)
    trainer.fit_loop.max_epochs = 2
    with pytest.warns(
        UserWarning,
        match=r"this fit went on from an earlier fit\(\) at step 2: .* the steps before ran "
        r"in an earlier fit\(\) of this trainer",
    ) as warned:
        trainer.fit(model)
    assert not [w for w in warned if "checkpoint" in str(w.message)]
    assert cb.results["train"].energy_j + cb.results["train"].warmup_j == 20.0  # this fit's 2 steps only


_TRAIN_STATE_KEY = "EnergyCallback"


def _fit_from(
    tmp_path: Any,
    meter: Any,
    max_epochs: int,
    ckpt: str | None = None,
    train: bool = True,
    **checkpointing: Any,
) -> tuple[EnergyCallback, Trainer]:
    """A fit of 4 steps of 10 J a epoch (ClockedModel), saving last.ckpt at each epoch's end, resumed from ``ckpt``."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    cb = EnergyCallback(stages=("test",), train=train, meter=meter, log_model_stats=False)
    trainer = Trainer(
        callbacks=[cb, ModelCheckpoint(dirpath=tmp_path, save_last=True, **checkpointing)],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_epochs=max_epochs,
        limit_train_batches=4,
        limit_val_batches=0,
    )
    trainer.fit(ClockedModel(meter.clock), ckpt_path=ckpt)
    return cb, trainer


def test_a_resumed_fit_reports_the_training_energy_of_the_whole_fit(fake_clock: FakeClock, tmp_path: Any) -> None:
    """The checkpoint carries the joules before it: a fit resumed from it (a requeued SLURM job) reports them with
    its own, and the sweep's ledger counts the whole fit (it counted the last process's part, with a warning)."""
    from lightning_ecopt.ledger import trial_energy
    from lightning_ecopt.sweeper.results import TrialRecord

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="EnergyCallback")
        first, trainer = _fit_from(tmp_path, FakeMeter(fake_clock), 2)
    assert first.results["train"].energy_j == 80.0
    assert "energy/train_resumed_from_step" not in trainer.callback_metrics
    assert "energy/train_carried_j" not in trainer.callback_metrics
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="EnergyCallback")
        resumed, trainer = _fit_from(tmp_path, FakeMeter(fake_clock), 3, str(tmp_path / "last.ckpt"))
    logged = {k: v.item() for k, v in trainer.callback_metrics.items() if k.startswith("energy/train")}
    assert logged == {
        "energy/train_j": 120.0,  # 8 steps carried + this process's 4, 10 J each
        "energy/train_time_s": 12.0,
        "energy/train_carried_j": 80.0,
        "energy/train_carried_time_s": 8.0,
        "energy/train_resumed_from_step": 8.0,
    }
    assert (resumed.results["train"].gpu_j, resumed.results["train"].cpu_j) == (120.0, 0.0)
    metrics = trial_metrics(trainer)
    assert metrics["energy/train_j"] == 120.0
    record = TrialRecord(0, {}, "completed", {k: v for k, v in metrics.items() if isinstance(v, float)})
    assert trial_energy(record).train_j == 120.0
    # The resumed fit's own checkpoint holds the whole fit: a second preemption loses nothing before it either.
    state = torch.load(tmp_path / "last.ckpt", weights_only=True)["callbacks"][_TRAIN_STATE_KEY]
    assert state == {
        "format": 1,
        "source": "measured: fake/counters",
        "time_s": 12.0,
        "gpu_j": 120.0,
        "cpu_j": 0.0,
        "dram_j": None,
        "other_j": None,
        "global_step": 12,
    }
    with pytest.warns(UserWarning, match="the fit ended with no training step run"):
        done, _ = _fit_from(tmp_path, FakeMeter(fake_clock), 3, str(tmp_path / "last.ckpt"))
    assert "train" not in done.results


def test_a_checkpoint_saved_again_after_a_test_starts_a_new_fit_that_does_not_add_its_joules(
    fake_clock: FakeClock, tmp_path: Any
) -> None:
    """Saved again after ``trainer.test(ckpt_path=...)``, a checkpoint keeps the step its figures reach; a fit from it
    starts at step 0 on its weights (another run's joules, counted there): it added them as its own earlier part."""
    _fit_from(tmp_path, FakeMeter(fake_clock), 2)  # 80 J to step 8
    cb = EnergyCallback(stages=("test",), train=True, meter=FakeMeter(fake_clock), log_model_stats=False)
    tester = Trainer(
        callbacks=[cb], logger=False, enable_progress_bar=False, enable_model_summary=False, limit_test_batches=2
    )
    tester.test(ClockedModel(fake_clock), ckpt_path=str(tmp_path / "last.ckpt"), verbose=False)
    tester.save_checkpoint(tmp_path / "again.ckpt")
    again = torch.load(tmp_path / "again.ckpt", weights_only=True)
    assert again["global_step"] == 0
    assert (again["callbacks"][_TRAIN_STATE_KEY]["gpu_j"], again["callbacks"][_TRAIN_STATE_KEY]["global_step"]) == (
        80.0,
        8,
    )
    (tmp_path / "new").mkdir()
    with pytest.warns(
        UserWarning, match=r"from a checkpoint whose training energy \(80 J, 8 s\) is of a fit up to step 8"
    ):
        new, trainer = _fit_from(tmp_path / "new", FakeMeter(fake_clock), 1, str(tmp_path / "again.ckpt"))
    assert new.results["train"].energy_j == 40.0  # its own 4 steps
    assert "energy/train_carried_j" not in trainer.callback_metrics


def test_a_checkpoint_saved_inside_the_fit_holds_the_joules_to_its_step(fake_clock: FakeClock, tmp_path: Any) -> None:
    """Read without closing the fit's window (ended and begun again): the fit's own figure loses nothing."""
    meter = FakeMeter(fake_clock)
    cb, _ = _fit_from(tmp_path, meter, 2, every_n_train_steps=3, save_top_k=-1)
    assert (cb.results["train"].energy_j, cb.results["train"].time_s) == (80.0, 8.0)
    states = {
        path.name: torch.load(path, weights_only=True)["callbacks"][_TRAIN_STATE_KEY]
        for path in tmp_path.glob("epoch=*.ckpt")
    }
    assert {name: (s["gpu_j"], s["time_s"], s["global_step"]) for name, s in states.items()} == {
        "epoch=0-step=3.ckpt": (30.0, 3.0, 3),  # mid-epoch
        "epoch=1-step=6.ckpt": (60.0, 6.0, 6),
    }
    assert meter.calls.count("begin train/loop") == meter.calls.count("end train/loop") > 1
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="EnergyCallback")
        _, trainer = _fit_from(tmp_path, FakeMeter(fake_clock), 2, str(tmp_path / "epoch=0-step=3.ckpt"))
    assert trainer.callback_metrics["energy/train_carried_j"].item() == 30.0
    assert trainer.callback_metrics["energy/train_j"].item() == 80.0  # 3 steps carried + 5 run here


def test_a_checkpoint_saved_at_validation_end_holds_the_validation_before_it(
    fake_clock: FakeClock, tmp_path: Any
) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint

    class Validated(ClockedModel):
        def validation_step(self, batch: Any, batch_idx: int) -> Any:
            self.clock.advance(time_s=0.5, cpu_j=1.0)
            out = super().validation_step(batch, batch_idx)
            self.log("valid_loss", out["x"])
            return out

    cb = EnergyCallback(stages=(), train=True, meter=FakeMeter(fake_clock), log_model_stats=False)
    checkpoint = ModelCheckpoint(dirpath=tmp_path, monitor="valid_loss", save_top_k=-1)
    quiet = {"logger": False, "enable_progress_bar": False, "enable_model_summary": False}
    trainer = Trainer(
        callbacks=[cb, checkpoint],
        max_epochs=1,
        limit_train_batches=4,
        limit_val_batches=2,
        val_check_interval=2,
        num_sanity_val_steps=0,
        **quiet,
    )
    trainer.fit(Validated(fake_clock))
    state = torch.load(tmp_path / "epoch=0-step=2.ckpt", weights_only=True)["callbacks"][_TRAIN_STATE_KEY]
    assert (state["gpu_j"], state["cpu_j"], state["global_step"]) == (20.0, 2.0, 2)  # 2 steps, then 2 val batches
    assert cb.results["train"].energy_j == 40.0 + 4.0


def test_a_resumed_fit_measured_otherwise_keeps_its_own_part_and_says_why(fake_clock: FakeClock, tmp_path: Any) -> None:
    """Never measured plus estimated, nor two meters' joules: the product's honesty rule."""
    _fit_from(tmp_path, FakeMeter(fake_clock), 2)
    other = FakeMeter(fake_clock)
    other.source = "estimated: fake-model"  # type: ignore[misc]
    with pytest.warns(
        UserWarning,
        match=r"resumed from a checkpoint whose training energy \(80 J, 8 s\) is labelled 'measured: fake/counters', "
        r"and this process measures 'estimated: fake-model': .* energy/train_j \(40 J\) covers this process's "
        r"training only \(from step 8\)",
    ) as warned:
        _, trainer = _fit_from(tmp_path, other, 3, str(tmp_path / "last.ckpt"))
    assert not [w for w in warned if "not counted" in str(w.message)]
    assert trainer.callback_metrics["energy/train_j"].item() == 40.0
    assert "energy/train_carried_j" not in trainer.callback_metrics
    assert trainer.callback_metrics["energy/train_resumed_from_step"].item() == 8
    state = torch.load(tmp_path / "last.ckpt", weights_only=True)["callbacks"][_TRAIN_STATE_KEY]
    assert (state["source"], state["gpu_j"]) == ("estimated: fake-model", 40.0)  # the figure the fit reported


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda callbacks: callbacks.pop(_TRAIN_STATE_KEY), r"holds no training energy \(saved without "),
        (lambda callbacks: callbacks[_TRAIN_STATE_KEY].update(format=2), r"holds an EnergyCallback state of format 2"),
        (
            lambda callbacks: callbacks[_TRAIN_STATE_KEY].update(gpu_j="80"),
            r"holds an EnergyCallback state with gpu_j='80', not a number >= 0",
        ),
        (
            lambda callbacks: callbacks.update({_TRAIN_STATE_KEY: [80.0, 8.0]}),
            r"holds an EnergyCallback state that is a list, not the dict",
        ),
        (
            lambda callbacks: callbacks.update({_TRAIN_STATE_KEY: "80 J"}),
            r"holds an EnergyCallback state that is a str, not the dict",
        ),
    ],
    ids=["no state", "newer format", "damaged entry", "a list", "a text"],
)
def test_a_checkpoint_without_a_readable_state_says_the_joules_before_it_are_not_counted(
    fake_clock: FakeClock, tmp_path: Any, damage: Callable[[dict[str, Any]], Any], why: str
) -> None:
    """An older lightning_ecopt's checkpoint, or one saved without the callback: the warning as before."""
    _fit_from(tmp_path, FakeMeter(fake_clock), 2)
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=True)
    damage(checkpoint["callbacks"])
    torch.save(checkpoint, tmp_path / "old.ckpt")
    with pytest.warns(
        UserWarning,
        match=r"this fit resumed from a checkpoint at step 8: energy/train_j \(40 J\) covers its training from there "
        rf"to step 12 only; the steps before ran in an earlier process, and the checkpoint {why}.*: their joules are "
        r"not counted",
    ):
        _, trainer = _fit_from(tmp_path, FakeMeter(fake_clock), 3, str(tmp_path / "old.ckpt"))
    assert trainer.callback_metrics["energy/train_j"].item() == 40.0
    assert trainer.callback_metrics["energy/train_resumed_from_step"].item() == 8
    assert "energy/train_carried_j" not in trainer.callback_metrics


def test_a_checkpoint_whose_training_figures_are_nan_makes_the_whole_fit_nan_and_says_so(
    fake_clock: FakeClock, tmp_path: Any
) -> None:
    """A counter of the process that saved it failed: the whole fit's figure is unknown, never this part alone."""
    _fit_from(tmp_path, FakeMeter(fake_clock), 2)
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=True)
    checkpoint["callbacks"][_TRAIN_STATE_KEY].update(gpu_j=math.nan)
    torch.save(checkpoint, tmp_path / "nan.ckpt")
    with pytest.warns(
        UserWarning,
        match=r"resumed from a checkpoint whose training figures are not numbers \(nan J, 8 s: a counter of the "
        r"process that saved it failed\), so energy/train_j and energy/train_time_s of the whole fit are NaN; this "
        r"process's part from step 8 is 40 J, 4 s\. Resume from an earlier checkpoint",
    ):
        _, trainer = _fit_from(tmp_path, FakeMeter(fake_clock), 3, str(tmp_path / "nan.ckpt"))
    assert math.isnan(trainer.callback_metrics["energy/train_j"].item())
    assert math.isnan(trainer.callback_metrics["energy/train_carried_j"].item())
    assert trainer.callback_metrics["energy/train_time_s"].item() == 12.0


def test_a_window_the_meter_drops_at_a_failed_save_leaves_the_fit_running_and_its_figure_nan(
    fake_clock: FakeClock, tmp_path: Any
) -> None:
    """Zeus's end_window drops the window before it reads the counters: the fit's end found none (KeyError)."""

    class Failing(FakeMeter):
        def end(self, name: str) -> Any:
            m = super().end(name)  # the window is gone, as Zeus's is
            if name == "train/loop" and self.calls.count("end train/loop") == 2:  # the first checkpoint's read
                raise RuntimeError("NVML read failed")
            return m

    meter = Failing(fake_clock)
    with pytest.warns(
        UserWarning,
        match=r"could not be read for the checkpoint \(RuntimeError\('NVML read failed'\)\).* The meter dropped the "
        r"window with the error, and its joules with it: this fit's energy/train_j and energy/train_time_s are NaN",
    ):
        cb, trainer = _fit_from(tmp_path, meter, 2, every_n_train_steps=1, save_top_k=-1)
    assert trainer.global_step == 8
    assert math.isnan(cb.results["train"].energy_j)
    assert math.isnan(cb.results["train"].time_s)
    assert not meter.open


def test_a_callback_without_train_keeps_no_state_and_ignores_one(fake_clock: FakeClock, tmp_path: Any) -> None:
    cb, _ = _fit_from(tmp_path / "without", FakeMeter(fake_clock), 1, train=False)
    assert _TRAIN_STATE_KEY not in torch.load(tmp_path / "without" / "last.ckpt", weights_only=True)["callbacks"]
    _fit_from(tmp_path, FakeMeter(fake_clock), 1)
    state = torch.load(tmp_path / "last.ckpt", weights_only=True)["callbacks"][_TRAIN_STATE_KEY]
    cb.load_state_dict(state)  # called by hand: a train=False callback's key never finds it
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="EnergyCallback")
        resumed, trainer = _fit_from(tmp_path, FakeMeter(fake_clock), 2, str(tmp_path / "last.ckpt"), train=False)
    assert "train" not in resumed.results
    assert "energy/train_j" not in trainer.callback_metrics


def test_a_resumed_fit_under_the_cpu_time_estimate_adds_the_checkpoint_s_estimate(tmp_path: Any) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint

    def fit(max_epochs: int, ckpt: str | None = None) -> Trainer:
        cb = EnergyCallback(stages=(), train=True, meter="estimate", log_model_stats=False)
        trainer = Trainer(
            callbacks=[cb, ModelCheckpoint(dirpath=tmp_path, save_last=True)],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            max_epochs=max_epochs,
            limit_train_batches=2,
            limit_val_batches=0,
        )
        trainer.fit(BoringModel(), ckpt_path=ckpt)
        return trainer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the estimate's fallback warning
        fit(1)
    state = torch.load(tmp_path / "last.ckpt", weights_only=True)["callbacks"][_TRAIN_STATE_KEY]
    assert (state["source"], state["gpu_j"]) == ("estimated: cpu-time", None)
    assert state["cpu_j"] > 0
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="EnergyCallback")
        trainer = fit(2, str(tmp_path / "last.ckpt"))
    logged = {k: v.item() for k, v in trainer.callback_metrics.items()}
    assert logged["energy/train_carried_j"] == pytest.approx(state["cpu_j"])
    assert logged["energy/train_carried_time_s"] == pytest.approx(state["time_s"])
    assert logged["energy/train_j"] > logged["energy/train_carried_j"]


def test_a_callback_of_the_test_loop_beside_the_fit_s_leaves_the_fit_s_state_alone(
    fake_clock: FakeClock, tmp_path: Any
) -> None:
    """Each EnergyCallback has Lightning's one key: the state is written on_save_checkpoint, not by a state_dict,
    with which Lightning would refuse two of them on a trainer (a test callback beside a train one is their use)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    def fit(max_epochs: int, ckpt: str | None = None) -> Trainer:
        trainer = Trainer(
            callbacks=[
                EnergyCallback(meter=FakeMeter(fake_clock), log_model_stats=False),
                EnergyCallback(stages=(), train=True, meter=FakeMeter(fake_clock), log_model_stats=False),
                ModelCheckpoint(dirpath=tmp_path, save_last=True),
            ],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            max_epochs=max_epochs,
            limit_train_batches=4,
            limit_val_batches=0,
        )
        trainer.fit(ClockedModel(fake_clock), ckpt_path=ckpt)
        return trainer

    fit(1)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="EnergyCallback")
        trainer = fit(2, str(tmp_path / "last.ckpt"))
    assert trainer.callback_metrics["energy/train_j"].item() == 80.0
    assert trainer.callback_metrics["energy/train_carried_j"].item() == 40.0


class _LoadingCost(RandomDataset):
    """Each sample costs 1 J of CPU to load (decoding, transforms), in the loop's process (num_workers=0)."""

    def __init__(self, clock: FakeClock, size: int, length: int) -> None:
        super().__init__(size, length)
        self.clock = clock

    def __getitem__(self, index: int) -> torch.Tensor:
        self.clock.advance(time_s=0.1, cpu_j=1.0)
        return super().__getitem__(index)


@pytest.mark.parametrize(("batches", "loads_measured"), [(10, 6), (40, 36)])
def test_the_first_measured_batch_was_loaded_before_the_window_opened(
    fake_clock: FakeClock, batches: int, loads_measured: int
) -> None:
    # The bias the docstring states: Lightning fetches one batch ahead, so the window holds the loading of all its
    # batches but the first (counted in the warm-up). If this fails, Lightning changed its prefetch: update the doc.
    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=3, min_duration_s=0, log_model_stats=False)
    loader = DataLoader(_LoadingCost(fake_clock, 32, 4 * batches), batch_size=4)
    _trainer(cb).test(BoringModel(), loader, verbose=False)
    r = cb.results["test"]
    assert r.batches == batches - 3
    assert r.energy_j == 4.0 * loads_measured == 4.0 * (r.batches - 1)
    assert r.warmup_j == 4.0 * 4  # the three warm-up batches' loading and the first measured batch's


def test_a_time_limit_that_falls_due_while_counting_flops_stops_the_trial(fake_clock: FakeClock) -> None:
    """The FLOP count took the interrupt for "the model cannot take it" and tried the next way: the trial ran on with
    no limit left and completed (review)."""
    from lightning_ecopt.exceptions import TrialTimeoutError

    class SlowToCount(BoringModel):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.device.type == "meta":
                raise TrialTimeoutError(1.0)  # what the sweep's SIGALRM raises where it lands
            return super().forward(x)

    cb = EnergyCallback(meter=FakeMeter(fake_clock), warmup_batches=0, min_duration_s=0)
    trainer = _trainer(cb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TrialTimeoutError):
            trainer.test(SlowToCount(), verbose=False)


class _StepsLogger(RecordingLogger):
    """Keeps the step each key was logged at, and the step of each text TensorBoard would get."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, int | None] = {}

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        super().log_metrics(metrics, step)
        self.steps.update(dict.fromkeys(metrics, step))


class _TwoOptimizers(ClockedModel):
    """Manual optimisation with two optimisers (a GAN's shape): two optimiser steps, so two global steps, a batch."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.automatic_optimization = False
        self.head = torch.nn.Linear(32, 2)

    def configure_optimizers(self) -> Any:
        return [torch.optim.SGD(self.layer.parameters(), lr=0.1), torch.optim.SGD(self.head.parameters(), lr=0.1)]

    def training_step(self, batch: Any, batch_idx: int) -> None:  # type: ignore[override]
        self.clock.advance(time_s=1.0, gpu_j=10.0)
        for optimizer, layer in zip(self.optimizers(), (self.layer, self.head), strict=True):  # type: ignore[arg-type]
            optimizer.zero_grad()
            self.manual_backward(layer(batch).sum())
            optimizer.step()


def test_figures_logged_outside_lightning_s_loops_use_the_step_lightning_logs_at(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Train and predict figures go to the loggers directly: at Lightning's own logging step, not ``global_step``.

    Lightning logs (``self.log``, the test figures it logs for us, LearningRateMonitor) at the count of batches that
    stepped; ``global_step`` counts optimiser steps, two a batch here. At ``global_step`` the train and predict figures
    landed at step 10 of a 5-step fit, and the test figures at 5 (review).
    """
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = _StepsLogger()
    board = TensorBoardLogger(tmp_path, default_hp_metric=False)
    texts: dict[str, int] = {}
    monkeypatch.setattr(board.experiment, "add_text", lambda name, text, step: texts.__setitem__(name, step))
    cb = EnergyCallback(stages=("test", "predict"), train=True, meter=FakeMeter(fake_clock), min_duration_s=0)
    trainer = Trainer(
        callbacks=[cb],
        logger=[logger, board],
        max_epochs=1,
        limit_train_batches=5,
        limit_val_batches=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    model = _TwoOptimizers(fake_clock)
    trainer.fit(model)
    trainer.test(model, verbose=False)
    trainer.predict(model)
    assert trainer.global_step == 10  # two optimiser steps a batch
    assert {logger.steps[k] for k in ("energy/train_j", "energy/test_j", "energy/predict_j")} == {5}
    assert set(texts.values()) == {5}, texts  # the labels beside them in TensorBoard
