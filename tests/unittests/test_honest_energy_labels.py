"""Honest numbers: every energy figure says whether it was measured or estimated, and an untrustworthy one never
passes as a good number (0 J, negative or infinite joules, a label that names no kind)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightning.pytorch import Trainer
from lightning.pytorch.demos.boring_classes import BoringModel

from ecopt_testing import FakeClock, FakeMeter
from lightning_ecopt import EnergyCallback, trial_metrics, views
from lightning_ecopt.energy.figures import LoopEnergy
from lightning_ecopt.energy.measurement import Measurement, source_kind
from lightning_ecopt.exceptions import SweepFailureError, TrialFailure
from lightning_ecopt.sweeper.objectives import parse_objectives, parse_task_result
from lightning_ecopt.sweeper.results import RESULTS_FILENAME

SAMPLES_PER_J = {"acc": "maximize", "energy/test_samples_per_j": "maximize"}


@pytest.fixture
def fast_ax() -> Any:
    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    with mock_botorch_optimize_context_manager(force=True):
        yield


def _sweep(fn: Any, tmp_path: Path, objectives: dict[str, str] | None = None, **settings: Any) -> Any:
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    space = parse_search_space({"x": "interval(0, 1)"}, [])
    config = SweepSettings(
        parse_objectives(objectives or SAMPLES_PER_J, None),
        seed=0,
        max_failure_rate=1.0,
        storage=tmp_path / "ax.json",
        **settings,
    )
    return ParetoSweep.from_function(space, config, fn).run()


# -- the kind of a label ------------------------------------------------------------------------------------------


def test_a_kind_in_capitals_is_the_same_kind_in_the_report_as_in_the_sweeper() -> None:
    """The sweeper compares kinds in lower case and accepted both trials; the report called them "mixed"."""
    assert source_kind("Measured: zeus/rapl") == "measured"
    assert Measurement(time_s=1.0, source="ESTIMATED: cpu-time").kind == "estimated"
    sources = ["measured: zeus/nvml", "Measured: zeus/rapl"]
    assert views.energy_kinds(sources) == ["measured"]
    assert views.energy_label(sources) == "measured (zeus/nvml, zeus/rapl)"


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("zeus/nvml", "'zeus/nvml' does not say whether the joules were measured or estimated"),
        ("", "'' does not say whether"),
        ("unknown", "'unknown' does not say whether"),  # Measurement's default source
        (3, r"3 \(int\) is not a text label"),
    ],
)
def test_a_label_that_names_no_kind_fails_the_trial(label: Any, why: str) -> None:
    objectives = parse_objectives(SAMPLES_PER_J, None)
    with pytest.raises(TrialFailure, match=rf"'energy/source': {why}.*'measured: <counters>'.*'estimated: <model>'"):
        parse_task_result({"acc": 0.9, "energy/test_samples_per_j": 5.0, "energy/source": label}, objectives)


@pytest.mark.parametrize("label", ["measured: zeus/nvml", "estimated: cpu-time", "Measured: zeus/rapl", "estimated"])
def test_labels_that_name_their_kind_are_kept_as_returned(label: str) -> None:
    objectives = parse_objectives(SAMPLES_PER_J, None)
    metrics = parse_task_result({"acc": 0.9, "energy/test_samples_per_j": 5.0, "energy/source": label}, objectives)
    assert metrics.energy_source == label
    unlabelled = parse_task_result({"acc": 0.9, "energy/test_samples_per_j": 5.0, "energy/source": None}, objectives)
    assert unlabelled.energy_source is None


@pytest.mark.usefixtures("fast_ax")
def test_a_first_trial_with_a_label_of_no_kind_does_not_lock_out_honest_ones(tmp_path: Path) -> None:
    """Before, trial 0's 'zeus/nvml' became the sweep's kind and every honest 'estimated: cpu-time' was refused.

    Such a label fails every trial alike, so the sweep stops at the first (even at max_failure_rate=1); the task,
    fixed, resumes it.
    """
    calls: list[dict[str, Any]] = []

    def fn(p: dict[str, Any]) -> dict[str, Any]:
        calls.append(p)
        label = "zeus/nvml" if len(calls) == 1 else "estimated: cpu-time"
        return {"acc": p["x"], "energy/test_samples_per_j": 10.0 - p["x"], "energy/source": label}

    with pytest.raises(SweepFailureError, match="does not say whether the joules were measured or estimated"):
        _sweep(fn, tmp_path, n_trials=3, n_initial_trials=3)
    assert len(calls) == 1
    result = _sweep(fn, tmp_path, n_trials=3, n_initial_trials=3)
    assert [t.status for t in result.trials] == ["failed", "completed", "completed"]
    assert "does not say whether the joules were measured or estimated" in (result.trials[0].reason or "")


# -- figures that cannot be trusted -------------------------------------------------------------------------------


@pytest.mark.parametrize("energy_j", [0.0, -3.0, math.inf, math.nan])
@pytest.mark.parametrize("mode", ["split", "window"])
def test_a_loop_without_a_usable_reading_derives_no_figure_from_it(energy_j: float, mode: str) -> None:
    """0 J gave 0 J/sample, 0 J/batch and 0 W (the best of any "minimise" objective); -3 J gave -0.6 J/sample; an
    infinite reading gave 0 samples/J."""
    loop = LoopEnergy(
        "test", "measured: x", time_s=2.0, gpu_j=energy_j, cpu_j=None, dram_j=None, samples=5, batches=2, tokens=7,
        per_batch_mode=mode,  # type: ignore[arg-type]
        batch_j=(0.0, 0.0) if mode == "window" else (),
    )  # fmt: skip
    metrics = loop.metrics()
    for figure in ("power_w", "samples_per_j", "j_per_sample", "j_per_batch", "tokens_per_j"):
        assert math.isnan(metrics[f"energy/test_{figure}"]), figure
    assert loop.tokens_per_j is not None
    assert math.isnan(loop.tokens_per_j)


def test_a_loop_that_read_energy_keeps_its_figures() -> None:
    loop = LoopEnergy("test", "measured: x", time_s=2.0, gpu_j=4.0, cpu_j=None, dram_j=None, samples=5, batches=2)
    assert (loop.power_w, loop.samples_per_j, loop.j_per_sample, loop.j_per_batch) == (2.0, 1.25, 0.8, 2.0)


class _ZeroMeter(FakeMeter):
    def end(self, name: str) -> Measurement:
        m = super().end(name)
        return Measurement(time_s=m.time_s, gpu_j={0: 0.0}, source=m.source)


class _SlowModel(BoringModel):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        self.clock.advance(time_s=0.5)
        return super().test_step(batch, batch_idx)


def test_a_zero_joule_loop_cannot_win_a_minimise_joules_per_sample_sweep() -> None:
    """EnergyCallback -> trial_metrics -> the sweeper's parser: J/sample of a 0 J loop was 0, the best possible."""
    clock = FakeClock()
    trainer = Trainer(
        callbacks=[EnergyCallback(meter=_ZeroMeter(clock), warmup_batches=0)],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    with pytest.warns(UserWarning, match="read 0 J"):
        trainer.test(_SlowModel(clock), verbose=False)
    returned = trial_metrics(trainer)
    assert math.isnan(returned["energy/test_j_per_sample"])  # type: ignore[arg-type]
    objectives = parse_objectives({"acc": "maximize", "energy/test_j_per_sample": "minimize"}, None)
    with pytest.raises(TrialFailure, match=r"metric 'energy/test_j_per_sample' is nan"):
        parse_task_result({**returned, "acc": 0.9}, objectives)


@pytest.mark.parametrize(
    "name",
    [
        "energy/test_j",
        "energy/predict_j_per_sample",
        "energy/validate_power_w",
        "energy/test_gpu_j",  # a GPU counter read but not ticked (NVML: every 20-100 ms) beside RAPL's joules
        "energy/predict_cpu_j",
        "energy/test_dram_j",
    ],
)
def test_a_zero_joule_objective_fails_the_trial(name: str) -> None:
    objectives = parse_objectives({"acc": "maximize", name: "minimize"}, None)
    with pytest.raises(TrialFailure, match=rf"energy figure '{name}' is 0: the loop read no energy"):
        parse_task_result({"acc": 0.9, name: 0.0, "energy/source": "measured: zeus/nvml"}, objectives)


def test_zero_joules_that_are_true_or_only_tracked_are_kept() -> None:
    """A reused checkpoint trained nothing (energy/train_j = 0); a tracked 0 J loop is not optimised on."""
    objectives = parse_objectives({"acc": "maximize", "energy/train_j": "minimize"}, None)
    returned = {"acc": 0.9, "energy/train_j": 0.0, "energy/validate_j": 0.0, "energy/test_gpu_j": 0.0}
    assert parse_task_result(returned, objectives).values["energy/validate_j"] == (0.0, None)


@pytest.mark.parametrize(
    ("returned", "name"),
    [
        ({"energy/test_j": -2.0}, "energy/test_j"),  # an objective
        ({"energy/test_j": 2.0, "energy/train_j": -40.0}, "energy/train_j"),  # tracked: the ledger would subtract it
    ],
)
def test_negative_energy_fails_the_trial_wherever_it_is_returned(returned: dict[str, float], name: str) -> None:
    objectives = parse_objectives({"acc": "maximize", "energy/test_j": "minimize"}, None)
    with pytest.raises(TrialFailure, match=rf"energy figure '{name}' is -\d+, below 0"):
        parse_task_result({"acc": 0.9, **returned, "energy/source": "measured: zeus/nvml"}, objectives)


def test_negative_numbers_outside_our_energy_figures_are_fine() -> None:
    objectives = parse_objectives({"test/loss": "minimize", "energy/test_j": "minimize"}, None)
    metrics = parse_task_result({"test/loss": -1.5, "energy/test_j": 2.0, "delta/acc": -0.1}, objectives)
    assert metrics.values["test/loss"] == (-1.5, None)


# -- the results file ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fast_ax")
def test_the_results_file_labels_the_frontier_and_names_unlabelled_trials(tmp_path: Path) -> None:
    """The solutions (what a script reads as "the frontier") carried numbers with no label anywhere near them."""
    calls: list[dict[str, Any]] = []

    def fn(p: dict[str, Any]) -> dict[str, Any]:
        calls.append(p)
        out: dict[str, Any] = {"acc": p["x"], "energy/test_samples_per_j": 10.0 - p["x"]}
        if len(calls) != 2:
            out["energy/source"] = "measured: zeus/nvml"
        return out

    # Mixing allowed: an unlabelled trial completes beside labelled ones (refused otherwise) and is named.
    result = _sweep(fn, tmp_path, n_trials=3, n_initial_trials=3, allow_mixed_energy_sources=True)
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    by_index = {t.trial_index: t for t in result.trials}
    assert data["solutions"]
    for solution in data["solutions"]:
        assert solution["energy_source"] == by_index[solution["trial_index"]].energy_source
    coverage = data["energy_source"].pop("coverage")
    assert data["energy_source"] == {"label": "measured (zeus/nvml)", "kinds": ["measured"], "unlabelled": [1]}
    assert coverage.startswith("zeus/nvml counts the GPU alone: CPU and DRAM joules were not measured")


@pytest.mark.usefixtures("fast_ax")
def test_a_sweep_without_energy_figures_has_no_unlabelled_trials(tmp_path: Path) -> None:
    _sweep(lambda p: {"a": p["x"], "b": 1 - p["x"]}, tmp_path, {"a": "minimize", "b": "minimize"}, n_trials=2)
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["energy_source"]["unlabelled"] == []  # nothing of an unknown kind: no joules at all


@pytest.mark.usefixtures("fast_ax")
@pytest.mark.parametrize("unlabelled", [0, 1], ids=["unlabelled first", "labelled first"])
def test_energy_figures_without_a_label_never_share_a_frontier_with_labelled_ones(tmp_path: Path, unlabelled: int):
    calls: list[dict[str, Any]] = []

    def fn(p: dict[str, Any]) -> dict[str, Any]:
        calls.append(p)
        out: dict[str, Any] = {"acc": p["x"], "energy/test_samples_per_j": 10.0 - p["x"]}
        if len(calls) - 1 != unlabelled:
            out["energy/source"] = "measured: zeus/nvml"
        return out

    result = _sweep(fn, tmp_path, n_trials=3, n_initial_trials=3)
    # Before, both completed: the report labelled every figure "measured (zeus/nvml)", the unlabelled one included.
    statuses = [t.status for t in result.trials]
    assert statuses == (["completed", "failed", "completed"] if unlabelled == 1 else ["completed", "failed", "failed"])
    assert "without an energy/source label" in next(t.reason for t in result.trials if t.status == "failed")
    if unlabelled == 0:  # the finished trials cannot be labelled now: the way out is a new sweep
        assert "start a new sweep (another hydra.sweep.dir, or storage)" in result.trials[1].reason


@pytest.mark.usefixtures("fast_ax")
def test_a_sweep_whose_energy_figures_carry_no_label_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # ``return trainer.callback_metrics`` (or trainer.test()[0]): the figures arrive, their label does not, and a whole
    # sweep of "unlabelled" joules ran without a word.
    import logging

    def fn(p: dict[str, Any]) -> dict[str, Any]:
        return {"acc": p["x"], "energy/test_samples_per_j": 10.0 - p["x"]}

    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        result = _sweep(fn, tmp_path, n_trials=3, n_initial_trials=3)
    assert result.n_completed == 3
    said = [r.getMessage() for r in caplog.records if "without an energy/source label" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("ecopt: trial 0 returned energy figures without an energy/source label")
    assert "return lightning_ecopt.trial_metrics(trainer)" in said[0]
    assert "will be refused" in said[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):  # where they would not be refused, not said
        _sweep(fn, tmp_path / "mixed", n_trials=2, n_initial_trials=2, allow_mixed_energy_sources=True)
    said = [r.getMessage() for r in caplog.records if "without an energy/source label" in r.getMessage()]
    assert len(said) == 1
    assert "will be refused" not in said[0]


def test_trial_metrics_never_labels_two_kinds_as_one(fake_clock: FakeClock) -> None:
    from lightning_ecopt.exceptions import EnergyMeterError

    estimate = FakeMeter(fake_clock)
    estimate.source = "estimated: cpu-time"
    measured = EnergyCallback(meter=FakeMeter(fake_clock), stages=("test",))  # 'measured: fake/counters'
    estimated = EnergyCallback(meter=estimate, stages=("predict",))
    trainer = Trainer(callbacks=[measured, estimated], logger=False, enable_progress_bar=False, limit_test_batches=4,
                      limit_predict_batches=4, enable_model_summary=False)  # fmt: skip
    model = BoringModel()
    with pytest.warns(UserWarning, match="read 0 J"):  # the fake clock stands still
        trainer.test(model, verbose=False)
    with pytest.warns(UserWarning, match="read 0 J"):
        trainer.predict(model)
    # Before: both loops' joules under the last callback's label, 'estimated: cpu-time'.
    both = r"'measured: fake/counters' \(test\).*'estimated: cpu-time' \(predict\)"
    with pytest.raises(EnergyMeterError, match=both):
        trial_metrics(trainer)


def test_a_refused_measured_trial_does_not_make_the_frontier_mixed() -> None:
    from io import StringIO

    from rich.console import Console

    from lightning_ecopt.report import build_report, render
    from lightning_ecopt.sweeper.results import SweepResult, TrialRecord

    objectives = parse_objectives(SAMPLES_PER_J, None)
    estimated = "estimated: cpu-time"
    refused = "refused: measured among estimated"
    trials = (
        TrialRecord(0, {"x": 0.1}, "completed", {"acc": 0.9, "energy/test_samples_per_j": 5.0}, {}, None, estimated),
        TrialRecord(1, {"x": 0.5}, "failed", {"energy/test_j": 2.0}, {}, refused, "measured: zeus/nvml"),
        TrialRecord(2, {"x": 0.9}, "completed", {"acc": 0.8, "energy/test_samples_per_j": 9.0}, {}, None, estimated),
    )
    result = SweepResult(objectives, trials, (0, 2))
    # Before: the frontier's picture, table and caption said "mixed: estimated and measured".
    assert views.frontier_energy_label(result) == "estimated (cpu-time)"
    assert "estimated (cpu-time)" in views.frontier_markdown(result)
    out = StringIO()
    render(build_report(result), Console(file=out, width=200))
    text = " ".join(out.getvalue().split())
    assert "Energy figures: mixed: estimated and measured (completed trials: estimated (cpu-time))." in text
    assert "energy figures estimated (cpu-time)" in text  # the frontier table's caption
    assert "energy per inference (estimated (cpu-time))" in text  # the proxy audit's title: completed trials
