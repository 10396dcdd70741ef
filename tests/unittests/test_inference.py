"""lightning_ecopt.inference.TimedPasses: whole passes, repeated only as long as the energy window needs."""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, TensorDataset

import lightning_ecopt.inference as inference
from ecopt_testing import FakeClock, FakeMeter
from lightning_ecopt import EnergyCallback
from lightning_ecopt.inference import TimedPasses

DATA = TensorDataset(torch.arange(10, dtype=torch.float32).unsqueeze(1), torch.arange(10))


class _Clock:
    """A fake ``time.perf_counter``: the consumer of the batches advances it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(inference, "time", SimpleNamespace(perf_counter=fake))  # TimedPasses' clock only
    return fake


def _consume(batches: TimedPasses, clock: _Clock, seconds: Any) -> list[list[int]]:
    """Run the batches as a loop would, batch i taking ``seconds(i)``; the labels of every batch."""
    out = []
    iterator: Iterator[Any] = iter(batches)
    for i, (_, y) in enumerate(iterator):
        out.append(y.tolist())
        clock.now += seconds(i)
    return out


def _flat(labels: list[list[int]]) -> list[int]:
    return [label for batch in labels for label in batch]


def test_without_a_time_budget_it_batches_exactly_as_a_dataloader_over_the_repeated_set() -> None:
    reference = DataLoader(ConcatDataset([DATA] * 3), batch_size=4)
    passes = TimedPasses(DATA, batch_size=4, max_passes=3)
    got = list(passes)
    want = list(reference)
    assert len(got) == len(want) == 8  # 30 samples: 7 full batches across the pass boundaries, then 2
    for (x, y), (x_ref, y_ref) in zip(got, want, strict=True):
        assert torch.equal(x, x_ref)
        assert torch.equal(y, y_ref)
    assert passes.passes == 3


def test_no_pass_is_begun_before_the_batches_are_requested_and_each_begins_with_its_first_batch() -> None:
    # ``passes`` counts the passes begun: none before the loop asks for a batch, one from the first batch on.
    passes = TimedPasses(DATA, batch_size=4, max_passes=2)
    assert passes.passes == 0
    begun = [passes.passes for _ in passes]
    assert begun == [1, 1, 2, 2, 2]  # 20 samples in batches of 4: the third (samples 8-11) begins pass 2


def test_it_finishes_the_pass_in_which_the_window_reaches_min_s_and_stops(clock: _Clock) -> None:
    # Batches of 3 over 10 samples, 0.25 s each, 2 warm-up batches: the timer starts as batch 3 is requested (the
    # window opened at batch 2); at the request of batch 7 it has seen 1.0 s, 21 samples in: in pass 3,
    # so pass 3 is finished with a partial batch and nothing more comes.
    passes = TimedPasses(DATA, batch_size=3, max_passes=5, min_s=1.0, warmup_batches=2)
    labels = _consume(passes, clock, lambda i: 0.25)
    assert [len(b) for b in labels] == [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]  # 30 samples: three whole passes
    assert _flat(labels) == list(range(10)) * 3
    assert passes.passes == 3


def test_one_whole_pass_even_when_the_window_is_long_enough_early(clock: _Clock) -> None:
    # Batch 1, one second a batch: the window is long enough after a few batches, but accuracy needs the whole set.
    passes = TimedPasses(DATA, batch_size=1, max_passes=4, min_s=0.5, warmup_batches=2)
    labels = _consume(passes, clock, lambda i: 1.0)
    assert _flat(labels) == list(range(10))
    assert passes.passes == 1


def test_never_more_than_max_passes(clock: _Clock) -> None:
    passes = TimedPasses(DATA, batch_size=4, max_passes=2, min_s=1.0, warmup_batches=1)
    labels = _consume(passes, clock, lambda i: 0.0)  # the window never lasts long enough
    assert _flat(labels) == list(range(10)) * 2
    assert [len(b) for b in labels] == [4, 4, 4, 4, 4]


def test_slow_warmup_batches_do_not_count_toward_the_window(clock: _Clock) -> None:
    # The first batches pay compilation or cache misses and are excluded from the energy window; were they counted,
    # the loop would stop after one pass with a measured window of ~0 s, flagged short.
    passes = TimedPasses(DATA, batch_size=5, max_passes=3, min_s=1.0, warmup_batches=2)
    labels = _consume(passes, clock, lambda i: 10.0 if i < 2 else 0.01)
    assert _flat(labels) == list(range(10)) * 3
    assert passes.passes == 3


def test_the_timer_errs_short_by_one_batch_not_long(clock: _Clock) -> None:
    # Lightning requests batch k+1 before it runs batch k: the timer, started at the request of batch warmup+1,
    # covers batches warmup .. k-1 when batch k+1 is requested, a part of the measured window (warmup .. last).
    passes = TimedPasses(DATA, batch_size=10, max_passes=6, min_s=1.0, warmup_batches=1)
    labels = _consume(passes, clock, lambda i: 0.5)
    # Timer starts at the request of batch 2 (t = 1.0); at the request of batch 4 it reads 1.0 s: stop. The window
    # (batches 1-3, 1.5 s) is longer than the timer said, never shorter.
    assert len(labels) == 4
    assert passes.passes == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, r"batch_size=0\): expected an int >= 1"),
        ({"batch_size": True}, r"batch_size=True\): expected an int >= 1"),
        ({"max_passes": 0}, r"max_passes=0\): expected an int >= 1"),
        ({"max_passes": 2.0}, r"max_passes=2.0\): expected an int >= 1"),
        ({"min_s": -1.0}, r"min_s=-1.0\): expected seconds >= 0"),
        ({"min_s": math.inf}, r"min_s=inf\): expected seconds >= 0"),
        ({"min_s": math.nan}, r"min_s=nan\): expected seconds >= 0"),
        ({"min_s": "0.2"}, r"min_s='0.2'\): expected seconds >= 0"),
        ({"warmup_batches": -1}, r"warmup_batches=-1\): expected an int >= 0"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TimedPasses(DATA, **{"batch_size": 4, "max_passes": 2, **kwargs})


def test_an_empty_dataset_is_refused() -> None:
    with pytest.raises(ValueError, match="the dataset is empty"):
        TimedPasses(TensorDataset(torch.zeros(0, 1)), batch_size=4, max_passes=2)


@pytest.mark.parametrize(
    "dataset",
    [DataLoader(TensorDataset(torch.zeros(4, 1)), batch_size=2), iter([1, 2]), None],
    ids=["dataloader", "iterator", "none"],
)
def test_a_dataset_that_is_not_map_style_is_refused_when_built(dataset: Any) -> None:
    # A DataLoader has a len, so it passed, and failed at the first batch inside trainer.test(): not subscriptable.
    with pytest.raises(TypeError, match=r"TimedPasses\(dataset=.*expected a map-style dataset .*pass its \.dataset"):
        TimedPasses(dataset, batch_size=4, max_passes=2)


class _TimedModel(LightningModule):
    """Each test batch takes ``batch_s`` seconds and 1 J on the fake clock that the meter and TimedPasses read."""

    def __init__(self, clock: FakeClock, batch_s: float) -> None:
        super().__init__()
        self.layer = nn.Linear(1, 2)
        self.clock = clock
        self.batch_s = batch_s

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.clock.advance(self.batch_s, cpu_j=1.0)


@pytest.mark.parametrize(("min_s", "passes"), [(0.65, 2), (0.75, 3), (5.0, 4)])
def test_with_a_real_trainer_the_window_is_never_short_unless_every_pass_ran(
    monkeypatch: pytest.MonkeyPatch, fake_clock: FakeClock, fake_meter: FakeMeter, min_s: float, passes: int
) -> None:
    # 10 samples in batches of 2 (5 a pass), 0.1 s a batch, 2 warm-up batches. Lightning fetches a batch ahead: when
    # pass 2 ends (batch 10 requested), the timer has seen batches 2-8 (0.7 s) of the window's 2-9 (0.8 s). At
    # min_s=0.65 that is enough: 2 passes. At 0.75 it is not, although the window would be: a third pass (the one-batch
    # lag is the price of never stopping short). At 5 s no pass count suffices: all 4 run, flagged as before.
    monkeypatch.setattr(inference, "time", SimpleNamespace(perf_counter=lambda: fake_clock.time_s))
    energy = EnergyCallback(
        meter=fake_meter, warmup_batches=2, min_duration_s=min_s, per_batch="split", log_model_stats=False
    )
    trainer = Trainer(callbacks=[energy], logger=False, enable_progress_bar=False, enable_model_summary=False)
    data = TimedPasses(DATA, batch_size=2, max_passes=4, min_s=min_s, warmup_batches=2)
    trainer.test(_TimedModel(fake_clock, 0.1), dataloaders=data, verbose=False)
    result = energy.results["test"]
    assert data.passes == passes
    assert result.batches == 5 * passes - 2
    assert result.samples == 10 * passes - 4
    assert result.time_s == pytest.approx(0.1 * result.batches)
    assert result.short == (passes == 4)
    assert result.short or result.time_s >= min_s


def test_timed_passes_given_auto_point_to_the_callbacks_resolved_seconds() -> None:
    """``min_s="auto"`` reads naturally beside ``EnergyCallback(min_duration_s="auto")``, but a TimedPasses has no
    trainer to resolve it from: the message names the function that does, and where to call it."""
    with pytest.raises(ValueError, match=r"callback_min_duration_s\(self.trainer, 'test'\) in your test_dataloader"):
        TimedPasses(list(range(4)), batch_size=2, max_passes=2, min_s="auto")  # type: ignore[arg-type]
