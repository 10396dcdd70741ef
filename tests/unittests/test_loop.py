import contextlib
import csv
import dataclasses
import functools
import importlib.metadata
import io
import itertools
import json
import logging
import math
import os
import platform
import re
import socket
import sys
import threading
import time
import traceback
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml

import lightning_ecopt
from lightning_ecopt import provenance
from lightning_ecopt.exceptions import EcoptConfigError, LauncherError, SweepFailureError, TrialFailure
from lightning_ecopt.frontier import hypervolume, infer_reference_point, pareto_mask
from lightning_ecopt.sweeper import loop, spelling
from lightning_ecopt.sweeper.loop import ParetoSweep, evaluate_each
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.progress import SweepProgress
from lightning_ecopt.sweeper.results import RESULTS_FILENAME
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space
from lightning_ecopt.sweeper.storage import saved_provenance, saved_trial_count

BRANIN_CURRIN_MAX_HV = 59.36012  # ref (18, 6), minimisation

TWO_D = {"x0": "interval(0, 1)", "x1": "interval(0, 1)"}
MIN_MIN = {"f1": "minimize", "f2": "minimize"}


pytestmark = pytest.mark.usefixtures("quiet_warnings")


@pytest.fixture
def fast_ax():
    """Minimal BoTorch optimisation (one L-BFGS iteration): keeps the loop's tests fast."""
    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    with mock_botorch_optimize_context_manager(force=True):
        yield


def make_sweep(fn, params=None, objectives=None, task_config=None, **settings):
    space = parse_search_space(params or TWO_D, [])
    settings.setdefault("seed", 0)
    config = SweepSettings(parse_objectives(objectives or MIN_MIN, None), **settings)
    return ParetoSweep.from_function(space, config, fn, task_config=task_config)


def two_quadratics(p):
    x0, x1 = p["x0"], p["x1"]
    return {"f1": x0**2 + x1**2, "f2": (x0 - 1) ** 2 + (x1 - 1) ** 2, "energy/source": "estimated: cpu-time"}


def _evaluated_unsaved(space, settings, fn=two_quadratics, **changes):
    """The configurations a run of ``settings`` without storage evaluates, in order: a seeded sweep's reruns repeat
    them, so a test can pick the one its task should crash on."""
    seen: list[dict] = []
    unstored = dataclasses.replace(settings, storage=None, **changes)
    ParetoSweep.from_function(space, unstored, lambda p: seen.append(p) or fn(p), on_batch_end=[]).run()
    return seen


def branin_currin(p):
    torch = pytest.importorskip("torch")
    from botorch.test_functions.multi_objective import BraninCurrin

    y = BraninCurrin()(torch.tensor([[p["x0"], p["x1"]]], dtype=torch.double))[0]
    return {"branin": float(y[0]), "currin": float(y[1])}


def hv_fraction(result):
    Y = np.array([[t.metrics["branin"], t.metrics["currin"]] for t in result.trials if t.status == "completed"])
    return hypervolume(Y, [18.0, 6.0], [False, False]) / BRANIN_CURRIN_MAX_HV


# -- optimisation quality ----------------------------------------------------------------------------------------


def test_branin_currin_reaches_a_good_hypervolume_with_the_standard_reference_point():
    """Real qNEHVI, no mocks: 12 trials, 6 of them Sobol, reference point (18, 6).

    Measured (fraction of the maximum hypervolume, seeds 0-4): 0.37, 0.72, 0.74, 0.00, 0.71 with this strategy;
    0.00, 0.46, 0.01, 0.00, 0.01 with 12 Sobol trials. Seed 2 separates the two best: a loop whose BoTorch phase
    proposes nothing useful stays near 0.01.
    """
    sweep = make_sweep(
        branin_currin,
        objectives={"branin": "minimize", "currin": "minimize"},
        n_trials=12,
        n_initial_trials=6,
        seed=2,
        reference_point={"branin": 18.0, "currin": 6.0},
    )
    result = sweep.run()
    assert result.n_completed == 12
    assert result.reference_point_origin == "given"
    assert result.hypervolume == pytest.approx(hv_fraction(result) * BRANIN_CURRIN_MAX_HV)
    assert hv_fraction(result) >= 0.5


# -- batches, reference point, results file ------------------------------------------------------------------------


def test_batches_are_generated_jointly_and_cut_at_the_end_of_the_sobol_phase(fast_ax):
    sizes = []
    inner = evaluate_each(two_quadratics)

    def evaluate(batch):
        sizes.append(len(batch))
        return inner(batch)

    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=8, n_initial_trials=4, max_batch_size=3, seed=0)
    result = ParetoSweep(space, settings, evaluate).run()
    assert sizes == [3, 1, 3, 1]
    assert result.n_completed == 8
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 8


def test_the_all_trials_rule_infers_from_every_trial_s_worst_values(fast_ax, monkeypatch):
    # loop._REFERENCE_RULE = "all" (a benchmark lever): the box Optuna's GP sampler infers, from all trials.
    monkeypatch.setattr(loop, "_REFERENCE_RULE", "all")
    result = make_sweep(two_quadratics, n_trials=4, n_initial_trials=4).run()
    Y = np.array([[t.metrics["f1"], t.metrics["f2"]] for t in result.trials])
    worst, best = Y.max(axis=0), Y.min(axis=0)  # both minimised
    assert [result.reference_point["f1"], result.reference_point["f2"]] == pytest.approx(
        (worst + 0.1 * (worst - best)).tolist()
    )


def test_reference_point_is_inferred_after_the_sobol_trials(fast_ax, tmp_path, caplog):
    sweep = make_sweep(two_quadratics, n_trials=6, n_initial_trials=4, storage=tmp_path / "ax.json")
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = sweep.run()
    first = [t for t in result.trials if t.trial_index < 4]
    Y = np.array([[t.metrics["f1"], t.metrics["f2"]] for t in first])
    expected = infer_reference_point(Y, [False, False], margin=0.1)
    assert result.reference_point_origin == "inferred"
    assert [result.reference_point["f1"], result.reference_point["f2"]] == pytest.approx(expected.tolist())
    inferred = next(r.getMessage() for r in caplog.records if "reference point inferred" in r.getMessage())
    # To the report's 4 significant digits, as the report prints it: 17 digits of a float said nothing more.
    shown = ", ".join(f"{name}: {float(value):.4g}" for name, value in result.reference_point.items())
    assert inferred.endswith(f"range): {{{shown}}}"), inferred
    # One summary line per batch: 6 batches of one trial.
    assert sum("trials;" in r.getMessage() for r in caplog.records) == 6
    assert any("6/6 trials" in r.getMessage() and "hypervolume" in r.getMessage() for r in caplog.records)
    # Ax got it as objective thresholds, and the saved experiment keeps it.
    from ax.api.client import Client

    client = Client.load_from_json_file(str(tmp_path / "ax.json"))
    thresholds = client._experiment.optimization_config.objective_thresholds
    assert len(thresholds) == 2
    assert json.loads(client._experiment.description)["lightning_ecopt"]["reference_origin"] == "inferred"


def test_the_surrogate_filter_leaves_a_record_without_surrogates_and_raises_into_no_caller() -> None:
    """Records without a lone surrogate are not touched, whatever their arguments; one whose arguments do not fit its
    message reaches the handler, which reports it and goes on, as it does without the filter (the filter raised)."""

    def record(msg: str, args: object) -> logging.LogRecord:
        return logging.LogRecord("lightning_ecopt.sweeper.loop", logging.WARNING, __file__, 1, msg, args, None)

    escaping = loop._EscapedSurrogates()
    for msg, args in [("trial %d: %s", (3, {"a": 1.5})), ("%(n)s trials", ({"n": 4},)), ("%r", (b"\xff",))]:
        kept = record(msg, args)
        before = (kept.msg, kept.args, kept.getMessage())
        assert escaping.filter(kept)
        assert (kept.msg, kept.args, kept.getMessage()) == before
    unfit = record("%d trials", ("four",))
    assert escaping.filter(unfit)
    assert (unfit.msg, unfit.args) == ("%d trials", ("four",))
    escaped = record("cannot read %s", ("caf\udce9.png",))
    assert escaping.filter(escaped)
    assert escaped.getMessage() == "cannot read caf\\udce9.png"


def test_an_exception_message_naming_a_file_that_is_not_utf8_fails_its_trial_only(fast_ax, tmp_path, caplog):
    # Python decodes such a name into lone surrogates; a message that formats it (f"cannot read {path}") holds them,
    # and writing optimization_results.yaml raised UnicodeEncodeError: the sweep stopped, and every resume with it.
    storage = tmp_path / "sweep" / "ax_experiment.json"
    name = os.fsdecode(b"/data/caf\xe9.png")  # '/data/caf\udce9.png'

    def task(p):
        if p["x0"] > 0.5:
            raise ValueError(f"cannot read {name}")
        return two_quadratics(p)

    result = make_sweep(task, n_trials=4, n_initial_trials=4, storage=storage).run()
    failed = [t for t in result.trials if t.status == "failed"]
    assert failed
    assert len(result.trials) == 4
    data = yaml.safe_load((storage.parent / RESULTS_FILENAME).read_text(encoding="utf-8"))
    assert (
        data["trials"][failed[0].trial_index]["reason"] == "the job raised ValueError: cannot read /data/caf\\udce9.png"
    )
    # The failure's warning and traceback say the name as the results file does: a handler that writes UTF-8
    # strictly printed "--- Logging error ---" in their place (and pytest-xdist could not send the test's report)
    logged = "\n".join(logging.Formatter().format(r) for r in caplog.records if r.name.startswith("lightning_ecopt"))
    assert "cannot read /data/caf\\udce9.png" in logged
    logged.encode("utf-8")  # no lone surrogate left
    resumed = make_sweep(two_quadratics, n_trials=5, n_initial_trials=4, storage=storage).run()
    assert len(resumed.trials) == 5


def test_results_yaml_is_a_superset_of_optunas(fast_ax, tmp_path):
    storage = tmp_path / "sweep" / "ax_experiment.json"
    sweep = make_sweep(
        two_quadratics, n_trials=5, n_initial_trials=3, storage=storage, reference_point={"f1": 2.0, "f2": 2.0}
    )
    result = sweep.run()
    data = yaml.safe_load((storage.parent / RESULTS_FILENAME).read_text())
    assert storage.exists()
    assert not [p for p in storage.parent.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave no temp file
    # Optuna's keys.
    assert data["name"] == "ecopt"
    assert {"params", "values"} <= set(data["solutions"][0])
    # Ours.
    assert data["objectives"] == {"f1": "minimize", "f2": "minimize"}
    assert [s["trial_index"] for s in data["solutions"]] == list(result.pareto_indices)
    Y = np.array([t["values"] for t in data["trials"]])
    assert pareto_mask(Y, [False, False]).sum() == len(data["solutions"])
    for solution in data["solutions"]:
        trial = data["trials"][solution["trial_index"]]
        assert solution["values"] == trial["values"] == [trial["metrics"]["f1"], trial["metrics"]["f2"]]
        assert set(solution["params"]) == {"x0", "x1"}
    assert data["hypervolume"] == pytest.approx(hypervolume(Y, [2.0, 2.0], [False, False]))
    assert data["reference_point"] == {"values": {"f1": 2.0, "f2": 2.0}, "origin": "given", "given": ["f1", "f2"]}
    assert data["counts"] == {"finished": 5, "completed": 5, "failed": 0, "reused": 0, "abandoned": 0}
    assert set(data["trials"][0]) == {
        "trial_index", "status", "params", "values", "metrics", "reason", "energy_source", "reused_from",
        "shared_counters",
    }  # fmt: skip
    assert data["trials"][0]["energy_source"] == "estimated: cpu-time"
    assert data["settings"]["n_trials"] == 5
    assert data["settings"]["storage"] == str(storage)
    assert data["settings"]["objectives"] == {"f1": "minimize", "f2": "minimize"}


# -- search spaces at the edges: wide int intervals, many choices, a budget of Sobol trials only ------------------


@pytest.fixture
def no_listed_ints(monkeypatch):
    """Fail a proposal that would list more than a million integers of an int interval (Ax's search space digest, and
    its Log transform's choice of each integer), before it allocates them."""
    import ax.adapter.torch
    from ax.adapter.transforms.log import Log
    from ax.core.parameter import ParameterType
    from ax.core.parameter import RangeParameter as AxRange

    def check(search_space):
        for p in search_space.parameters.values():
            if isinstance(p, AxRange) and p.parameter_type == ParameterType.INT and p.upper - p.lower >= 10**6:
                raise AssertionError(f"Ax would list the {p.upper - p.lower + 1} integers of {p.name!r}")

    digest, log_space = ax.adapter.torch.extract_search_space_digest, Log.transform_search_space

    def checked_digest(*args, **kwargs):
        check(kwargs["search_space"] if "search_space" in kwargs else args[0])
        return digest(*args, **kwargs)

    monkeypatch.setattr(ax.adapter.torch, "extract_search_space_digest", checked_digest)
    monkeypatch.setattr(
        Log, "transform_search_space", lambda self, search_space: check(search_space) or log_space(self, search_space)
    )


WIDE_INTS = {"a": "int(interval(0, 1000000000))", "b": "tag(log, int(interval(1, 1000000000)))", "x0": "interval(0, 1)"}


def wide_task(p):
    assert all(type(p[k]) is int for k in ("a", "b"))
    return {"f1": p["a"] / 1e9 + p["x0"], "f2": math.log10(p["b"]) / 9 - p["x0"]}


def test_a_wide_int_interval_is_proposed_by_the_model_without_listing_its_integers(fast_ax, no_listed_ints, tmp_path):
    # int(interval(0, 1e9)): the first model proposal listed every integer (36 bytes each) and the machine ran out of
    # memory (10^7 integers: 3 GB and 3.5 s a proposal). The model now sees a float Ax rounds; the trials get ints.
    storage = tmp_path / "ax.json"
    result = make_sweep(wide_task, WIDE_INTS, n_trials=4, n_initial_trials=3, storage=storage).run()
    assert result.n_completed == 4
    # Saved with the strategy: the resumed sweep's model proposal relaxes them too.
    result = make_sweep(wide_task, WIDE_INTS, n_trials=5, n_initial_trials=3, storage=storage).run()
    assert result.n_completed == 5
    for trial in result.trials:
        assert 0 <= trial.params["a"] <= 10**9
        assert 1 <= trial.params["b"] <= 10**9
        assert {type(trial.params["a"]), type(trial.params["b"])} == {int}


def test_a_sweep_saved_before_wide_ints_were_relaxed_resumes_past_its_first_model_proposal(
    fast_ax, no_listed_ints, tmp_path, monkeypatch
):
    storage = tmp_path / "ax.json"
    with monkeypatch.context() as before:  # its strategy saved with Ax's default transforms
        before.setattr(loop, "configure_wide_ints", lambda kwargs, parameters: False)
        make_sweep(wide_task, WIDE_INTS, n_trials=3, n_initial_trials=3, storage=storage).run()
    saved = json.loads(storage.read_text())
    assert "min_choices" not in json.dumps(saved["generation_strategy"])  # IntToFloat's option for the BoTorch node
    result = make_sweep(wide_task, WIDE_INTS, n_trials=4, n_initial_trials=3, storage=storage).run()
    assert [t.status for t in result.trials] == ["completed"] * 4


TWO_VALUED = {"batch": "choice(16, 128)", "int8": "choice(true, false)"}


def two_valued_task(p):
    a, b = p["batch"] / 128, 1.0 if p["int8"] else 0.0
    return {"acc": 0.9 - 0.1 * a - 0.05 * b, "energy": 1.0 + a + b}


def test_a_sweep_of_two_valued_choices_saved_before_2026_12_04_resumes_past_its_first_model_proposal(
    fast_ax, tmp_path, caplog
):
    # Saved by lightning_ecopt at dc89297 (2026-12-02) after one Sobol trial of this space and task. That version gave
    # its strategy optimize_acqf's options ({"maxiter": 30}), and Ax proposes in a space of two-valued choices only
    # with optimize_acqf_discrete, which refuses them: the version crashed at its first model proposal, and the
    # upgraded resume raised the same UnsupportedError from the saved strategy, so the sweep could never go on.
    storage = tmp_path / "ax_experiment.json"
    storage.write_bytes((Path(__file__).parent / "data" / "two_valued_choices_saved_2026-12-02.json").read_bytes())
    assert '"options": {"maxiter": 30}' in storage.read_text()
    objectives = {"acc": "maximize", "energy": "minimize"}
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = make_sweep(
            two_valued_task, TWO_VALUED, objectives, n_trials=3, n_initial_trials=1, storage=storage
        ).run()
    assert [t.status for t in result.trials] == ["completed"] * 3
    assert result.trials[0].params == {"batch": 16, "int8": True}  # the saved trial, kept as it ran
    assert result.trials[0].metrics == {"acc": 0.8375, "energy": 2.125}
    assert len({(t.params["batch"], t.params["int8"]) for t in result.trials}) == 3
    assert "optimize_acqf_discrete" in caplog.text  # said once, with why
    # Saved without the options since: a later resume proposes too.
    assert '"maxiter"' not in json.dumps(json.loads(storage.read_text())["generation_strategy"])
    result = make_sweep(two_valued_task, TWO_VALUED, objectives, n_trials=4, n_initial_trials=1, storage=storage).run()
    assert [t.status for t in result.trials] == ["completed"] * 4


def test_a_sweep_saved_before_its_sobol_count_was_recorded_resumes_with_the_count_ax_saved(fast_ax, tmp_path, caplog):
    # Saved by lightning_ecopt at 0193451 (2026-11-23): that version's make_sweep(two_quadratics, n_trials=2,
    # n_initial_trials=2, storage=...).run(). Its description holds no "strategy": the Sobol count is only in Ax's
    # saved strategy, which goes on with it. The resume took the raised budget's default (4) instead: the Hydra start
    # line said "Sobol until 4 completed", the results file and the saved description n_initial_trials 4, while the
    # model proposed from trial 2 all the same.
    storage = tmp_path / "ax_experiment.json"
    storage.write_bytes((Path(__file__).parent / "data" / "sobol_count_saved_2026-11-23.json").read_bytes())
    assert '"strategy"' not in json.loads(storage.read_text())["experiment"]["description"]
    assert loop.saved_sobol_count(storage) == 2  # the Hydra sweeper's start line says this one
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = make_sweep(two_quadratics, n_trials=4, storage=storage).run()
    assert [t.status for t in result.trials] == ["completed"] * 4
    assert result.trials[0].params == {"x0": 0.47510719299316406, "x1": 0.592523992061615}  # kept as it ran
    assert "started with 2 Sobol trials and keeps them (n_initial_trials now resolves to 4" in caplog.text
    saved = yaml.safe_load(result.results_path.read_text())
    assert saved["settings"]["n_initial_trials"] == 2
    description = json.loads(json.loads(storage.read_text())["experiment"]["description"])
    assert description["lightning_ecopt"]["strategy"]["n_initial_trials"] == 2
    trials = json.loads(storage.read_text())["experiment"]["trials"]
    nodes = [trials[str(i)]["generator_run"]["generation_node_name"] for i in range(4)]
    assert nodes == ["Sobol", "Sobol", "MBM", "MBM"]  # Ax's saved strategy, as before


def test_a_choice_of_many_values_does_not_warn_of_fragmented_frames_at_every_proposal(fast_ax):
    # Ax's OneHot adds a column per value: pandas' "PerformanceWarning: DataFrame is highly fragmented" came at every
    # proposal of a choice of more than ~100 values.
    from pandas.errors import PerformanceWarning

    params = {"c": "choice(" + ",".join(f"o{i}" for i in range(150)) + ")", "x0": "interval(0, 1)"}
    sweep = make_sweep(
        lambda p: {"f1": p["x0"], "f2": int(p["c"][1:]) - p["x0"]}, params, n_trials=4, n_initial_trials=3
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sweep.run()
    assert [str(w.message)[:40] for w in caught if issubclass(w.category, PerformanceWarning)] == []


def test_a_budget_of_sobol_trials_only_is_said_once_in_python_and_left_to_hydra_s_start_line(caplog):
    from lightning_ecopt.sweeper.spelling import hydra_spelling

    # 30 parameters: the default Sobol count (2 a parameter, at most half the budget from 10 trials up) takes all 5.
    # It grows with the budget, so the advice names the budget that leaves the model a trial (6), not "above 5".
    params = {f"x{i}": "interval(0, 1)" for i in range(30)}
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        make_sweep(lambda p: {"f1": p["x0"], "f2": p["x1"]}, params, n_trials=5).run()
    said = [r.getMessage() for r in caplog.records if "all Sobol" in r.getMessage()]
    assert said == [
        "ecopt: 5 trials, all Sobol: qNEHVI proposes once the Sobol trials completed, so raise "
        "SweepSettings(n_trials=...) to 6 or more."
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"), hydra_spelling():
        make_sweep(two_quadratics, n_trials=2).run()
    assert "all Sobol" not in caplog.text


# -- the centre of the box as the first trial (off by default) --------------------------------------------------


@pytest.mark.parametrize("center", [True, False])
def test_the_first_trial_is_the_centre_of_the_box_when_asked(fast_ax, monkeypatch, center):
    monkeypatch.setattr(loop, "_CENTER_FIRST", center)
    sizes = []
    inner = evaluate_each(two_quadratics)

    def evaluate(batch):
        sizes.append(len(batch))
        return inner(batch)

    space = parse_search_space({"x0": "interval(0, 1)", "x1": "interval(2, 6)"}, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=6, n_initial_trials=4, max_batch_size=3, seed=0)
    result = ParetoSweep(space, settings, evaluate).run()
    assert (result.trials[0].params == {"x0": 0.5, "x1": 4.0}) is center
    assert sizes == [3, 1, 2]  # as many initial trials either way: the Sobol phase still ends after 4
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 6


# -- configurations to evaluate first (enqueue_trials) -----------------------------------------------------------


def _generators(sweep):
    """The generator of each trial in Ax (``None`` for an attached one), in trial order."""
    trials = loop._experiment(sweep._client).trials
    return [next((run._generator_key for run in trials[i].generator_runs), None) for i in sorted(trials)]


class _ClientKeepingSweep(ParetoSweep):
    def _ask(self, client, k):
        self._client = client
        return super()._ask(client, k)


def test_enqueued_configurations_run_first_and_count_toward_the_initial_trials(fast_ax):
    space = parse_search_space({**TWO_D, "opt": "adam,sgd"}, [])
    enqueued = (
        {"x0": 0.5, "x1": 1, "opt": "sgd"},
        {"x0": 0, "x1": 0.25, "opt": "adam"},
        {"x0": 0.5, "x1": 1.0, "opt": "sgd"},
    )
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None),
        n_trials=7,
        n_initial_trials=4,
        max_batch_size=3,
        seed=0,
        enqueue_trials=enqueued,
    )
    batches = []
    inner = evaluate_each(two_quadratics)

    def evaluate(batch):
        batches.append([dict(p) for p in batch])
        return inner(batch)

    sweep = _ClientKeepingSweep(space, settings, evaluate)
    result = sweep.run()
    # In order, each once (the third repeats the first), with the values as given; the batch is filled by Sobol.
    assert batches[0][:2] == [{"x0": 0.5, "x1": 1.0, "opt": "sgd"}, {"x0": 0.0, "x1": 0.25, "opt": "adam"}]
    assert [len(b) for b in batches] == [3, 1, 3]  # the initial phase still ends after 4 trials
    assert _generators(sweep)[:4] == [None, None, "Sobol", "Sobol"]  # 2 enqueued + 2 Sobol = the 4 initial trials
    assert set(_generators(sweep)[4:]) == {"BoTorch"}
    assert result.n_finished == 7
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 7


@pytest.mark.parametrize(
    ("enqueued", "message"),
    [
        ({"x0": 2.0, "x1": 0.5}, r"enqueue_trials\[0\]=.*'x0': 2.0 is outside its range \[0.0, 1.0\]"),
        ({"x0": 0.5}, r"enqueue_trials\[0\]=.*missing parameters \['x1'\]"),
        ({"x0": 0.5, "x1": 0.5, "lr": 0.1}, r"unknown parameters \['lr'\]"),
        ({"x0": "a", "x1": 0.5}, r"'x0': expected a finite number, got 'a'"),
        # A misspelt name: the close one named, and no "widen the search space" (the fix for a value out of range).
        ({"x0": 0.5, "x_1": 0.5}, r"unknown parameters \['x_1'\] \(did you mean 'x1' for 'x_1'\?\)[^C]*$"),
    ],
)
def test_a_bad_enqueued_configuration_is_refused_before_any_trial(enqueued, message):
    ran = []
    with pytest.raises(EcoptConfigError, match=message):
        make_sweep(lambda p: ran.append(p) or two_quadratics(p), n_trials=4, enqueue_trials=(enqueued,))
    assert ran == []


def test_a_resumed_sweep_runs_the_enqueued_trial_an_interruption_cut_short_and_no_other_again(fast_ax, tmp_path):
    space = parse_search_space(TWO_D, [])
    enqueued = ({"x0": 0.1, "x1": 0.2}, {"x0": 0.3, "x1": 0.4}, {"x0": 0.5, "x1": 0.6})
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None),
        n_trials=6,
        n_initial_trials=4,
        max_batch_size=2,
        seed=0,
        storage=tmp_path / "ax_experiment.json",
        enqueue_trials=enqueued,
    )
    first_run = []

    def dies_in_second_batch(batch):
        if first_run:
            raise _Interrupt("killed")
        first_run.extend(batch)
        return [two_quadratics(p) for p in batch]

    with pytest.raises(_Interrupt):
        ParetoSweep(space, settings, dies_in_second_batch).run()
    assert first_run == [{"x0": 0.1, "x1": 0.2}, {"x0": 0.3, "x1": 0.4}]

    second_run = []
    result = ParetoSweep(space, settings, lambda b: second_run.extend(b) or [two_quadratics(p) for p in b]).run()
    assert second_run[0] == {"x0": 0.5, "x1": 0.6}  # cut short, so run again; the first two are not
    assert [p for p in second_run if p in enqueued[:2]] == []
    assert len(second_run) == 4
    assert result.n_finished == 6


# -- failures ------------------------------------------------------------------------------------------------------


def test_failed_trials_keep_their_reasons_and_the_sweep_goes_on(fast_ax, tmp_path):
    calls = []

    def flaky(p):
        calls.append(p)
        n = len(calls)
        if n == 2:
            raise RuntimeError("CUDA out of memory")
        if n == 3:
            return {"f1": math.nan, "f2": 1.0}
        if n == 4:
            return {"f1": 1.0}
        if n == 5:
            return {"f1": "abc", "f2": 1.0}
        return two_quadratics(p)

    sweep = make_sweep(flaky, n_trials=8, n_initial_trials=3, max_failure_rate=1.0, storage=tmp_path / "ax.json")
    result = sweep.run()
    assert result.n_finished == 8
    assert len(calls) == 8
    reasons = {t.trial_index: t.reason for t in result.failures()}
    assert list(reasons) == [1, 2, 3, 4]
    assert "RuntimeError: CUDA out of memory" in reasons[1]
    assert "'f1'" in reasons[2]
    assert "not finite" in reasons[2]
    assert "missing objective 'f2'" in reasons[3]
    assert "'abc'" in reasons[4]
    assert result.n_completed == 4
    # Ax knows them as failed, with the reason.
    from ax.api.client import Client
    from ax.core.base_trial import TrialStatus

    experiment = Client.load_from_json_file(str(tmp_path / "ax.json"))._experiment
    # ABANDONED in Ax: kept pending, so never proposed again (the records say failed).
    assert [i for i, t in experiment.trials.items() if t.status == TrialStatus.ABANDONED] == [1, 2, 3, 4]
    assert "CUDA out of memory" in experiment.trials[1].status_reason
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["trials"][1]["status"] == "failed"
    assert data["trials"][1]["values"] is None
    assert "CUDA out of memory" in data["trials"][1]["reason"]


def test_sweep_stops_past_max_failure_rate_after_saving(fast_ax, tmp_path):
    def broken(p):
        raise ValueError(f"bad lr {p['x0']:.3f}")

    sweep = make_sweep(broken, n_trials=10, n_initial_trials=4, max_failure_rate=0.5, storage=tmp_path / "ax.json")
    with pytest.raises(SweepFailureError, match=r"3 of 3 trials failed, more than max_failure_rate=0.5") as info:
        sweep.run()
    assert "trial 0" in str(info.value)
    assert "ValueError: bad lr" in str(info.value)
    assert "raise max_failure_rate" in str(info.value)
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["counts"]["failed"] == 3
    assert (tmp_path / "ax.json").exists()
    assert "run the sweep again with the same storage to resume" in str(info.value)  # Python's words


def test_failures_past_the_rate_in_the_last_batch_finish_the_sweep_with_a_warning(fast_ax, tmp_path, caplog):
    # Nothing is left to stop: the sweep is complete. Raising said "rerun the same command to resume", a rerun
    # that returns at once, and recorded a stop reason, so the report called a finished sweep "stopped early".
    calls = []

    def late_failures(p):
        calls.append(p)
        if len(calls) > 2:
            raise ValueError("late")
        return {"f1": p["x0"], "f2": p["x1"]}

    sweep = make_sweep(
        late_failures, n_trials=4, n_initial_trials=4, max_failure_rate=0.25, storage=tmp_path / "ax.json"
    )
    with caplog.at_level(logging.WARNING):
        result = sweep.run()
    assert (result.n_completed, result.n_failed) == (2, 2)
    assert result.stop_reason is None
    assert "2 of 4 trials failed, more than max_failure_rate=0.25 allows; the budget is spent" in caplog.text
    assert "rerun" not in caplog.text
    assert yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text()).get("stop_reason") is None


def test_a_sweep_whose_every_trial_failed_is_an_error_even_when_its_budget_is_spent(fast_ax, tmp_path):
    # Two trials, one batch, both failed: the last-batch rule finished it with a warning, and the Hydra app exited 0
    # with nothing to show. The message must not promise a resume that has nothing to run.
    def broken(p):
        raise ValueError("bad")

    sweep = make_sweep(broken, n_trials=2, n_initial_trials=2, max_batch_size=2, storage=tmp_path / "ax.json")
    with pytest.raises(SweepFailureError, match=r"2 of 2 trials failed.*the budget is spent: raise n_trials") as err:
        sweep.run()
    assert "to resume" not in str(err.value)


def test_a_one_trial_sweep_counts_its_trial_in_the_singular(fast_ax, tmp_path, caplog):
    # n_trials=1 said "1 of 1 trials failed" and, rerun, "a finished sweep (1 of 1 trials)".
    def broken(p):
        raise ValueError("bad")

    sweep = make_sweep(broken, n_trials=1, n_initial_trials=1, storage=tmp_path / "ax.json")
    with pytest.raises(SweepFailureError, match=r"^ParetoSweep: 1 of 1 trial failed, more than max_failure_rate"):
        sweep.run()
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        make_sweep(broken, n_trials=1, n_initial_trials=1, storage=tmp_path / "ax.json").run()
    assert "is a finished sweep (1 of 1 trial): nothing is evaluated" in caplog.text
    assert not re.search(r"\b1 (\w+ ){0,2}trials\b", caplog.text)


def test_the_log_says_where_each_given_reference_value_comes_from(fast_ax, caplog):
    # A constraint on an objective is also its reference value: the log called it "given" with no word of where from.
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = make_sweep(
            two_quadratics,
            n_trials=5,
            n_initial_trials=4,
            reference_point={"f2": 3.0},
            outcome_constraints=["f1 <= 1.5"],
        ).run()
    assert "reference point given (f1 (the constraint 'f1 <= 1.5'), f2 (reference_point))" in caplog.text
    # In objective order, not reference_point's then the constraints' ({'f2': 3.0, 'f1': 1.5}).
    assert "reference_point)): {f1: 1.5, f2: 3}" in caplog.text
    assert list(result.reference_point) == ["f1", "f2"]


def test_a_trial_that_breaks_a_bound_on_an_objective_is_on_no_frontier(fast_ax, tmp_path):
    # 'f1 <= 0.5' is f1's reference value and a requirement: trials above it stayed in the Pareto set, in solutions
    # and in the report's frontier, and trials.csv called them feasible, offering a model the user ruled out.
    from lightning_ecopt.report import _csv_text, build_report

    result = make_sweep(
        two_quadratics, n_trials=8, n_initial_trials=8, outcome_constraints=["f1 <= 0.5"], storage=tmp_path / "ax.json"
    ).run()
    f1 = {t.trial_index: t.metrics["f1"] for t in result.trials}
    assert any(value > 0.5 for value in f1.values())  # the case is there
    assert result.pareto_indices
    assert all(f1[i] <= 0.5 for i in result.pareto_indices)
    rows = {int(r["trial_index"]): r for r in csv.DictReader(io.StringIO(_csv_text(build_report(tmp_path))))}
    assert {i for i, r in rows.items() if r["feasible"] == "1"} == {i for i, v in f1.items() if v <= 0.5}
    assert {i for i, r in rows.items() if r["on_frontier"] == "1"} == set(result.pareto_indices)


def test_an_inferred_reference_value_does_not_cross_zero_where_no_trial_does(fast_ax):
    # samples/J spanning 38x: the front's worst value less 10 % of its range was -732 samples/J, a value no
    # configuration can have, shown as such in the report and the frontier picture.
    def throughput(p):
        return {"acc": 1.0 - 0.5 * p["x0"], "samples_per_j": 10.0 + 5000.0 * p["x0"] ** 4}

    result = make_sweep(
        throughput, objectives={"acc": "maximize", "samples_per_j": "maximize"}, n_trials=8, n_initial_trials=8
    ).run()
    assert result.reference_point_origin == "inferred"
    assert result.reference_point["samples_per_j"] == 0.0
    assert result.reference_point["acc"] > 0.4  # the rule as it was, where it crosses nothing


def test_a_misspelt_constrained_metric_stops_the_sweep_at_the_first_trial(fast_ax, tmp_path):
    # Every trial trained, then failed for the missing 'test/accuracy'; only max_failure_rate stopped the sweep, after
    # five wasted trainings (or none, at max_failure_rate: 1).
    calls = []

    def task(p):
        calls.append(p)
        return {**two_quadratics(p), "test/acc": 0.9}

    sweep = make_sweep(
        task, n_trials=8, n_initial_trials=4, max_failure_rate=1.0, outcome_constraints=["test/accuracy >= 0.5"],
        storage=tmp_path / "ax.json",
    )  # fmt: skip
    with pytest.raises(SweepFailureError, match=r"trial 0 returned no 'test/accuracy' \(did you mean 'test/acc'\?\)"):
        sweep.run()
    assert len(calls) == 1
    saved = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert "returned no 'test/accuracy'" in saved["stop_reason"]


def test_an_objective_named_without_its_prefix_stops_at_the_first_trial_with_the_name_it_meant(fast_ax):
    """``acc`` for the ``test/acc`` that trial_metrics returns: no spelling is close (difflib), the last part is."""
    objectives = {"acc": "maximize", "f1": "minimize"}
    sweep = make_sweep(lambda p: {**two_quadratics(p), "test/acc": 0.9}, objectives=objectives, n_trials=6)
    with pytest.raises(SweepFailureError, match=r"trial 0 returned no 'acc' \(did you mean 'test/acc'\?\)") as info:
        sweep.run()
    assert "fix its name in the objectives or outcome_constraints (SweepSettings(objectives=..., " in str(info.value)
    # Several metrics end in it: each trial fails, and the advice is to return or rename it, not a higher rate.
    task = lambda p: {**two_quadratics(p), "test/acc": 0.9, "val/acc": 0.8}  # noqa: E731
    sweep = make_sweep(task, objectives=objectives, n_trials=6, n_initial_trials=4)
    with pytest.raises(SweepFailureError) as info:
        sweep.run()
    assert "did you mean one of ['test/acc', 'val/acc']?" in str(info.value)
    assert "Return the metrics the objectives and constraints name, or rename them (reasons below)" in str(info.value)
    assert "raise max_failure_rate" not in str(info.value)


def test_an_objective_past_1e150_fails_its_trial_and_the_model_proposes_after_it(fast_ax) -> None:
    # Ax's standardisation of a spread past about 1.3e154 overflowed: its first model proposal raised "ValueError:
    # cannot convert float NaN to integer" (a traceback, the sweep ended) where one configuration diverged to 1e160.
    calls = []

    def task(p):
        calls.append(p)
        return {**two_quadratics(p), "f1": 1e160} if len(calls) == 2 else two_quadratics(p)

    result = make_sweep(task, n_trials=6, n_initial_trials=4).run()
    assert [t.status for t in result.trials] == ["completed", "failed"] + ["completed"] * 4
    assert result.trials[1].reason.startswith("metric 'f1' is 1e+160, past the 1e+150 (in magnitude)")


def test_an_objective_s_sem_past_1e150_fails_its_trial_and_the_model_proposes_after_it(fast_ax) -> None:
    # Ax's noise variance, the sem squared, was inf: its first model proposal raised BoTorch's "InputDataError: Input
    # data contains NaN values" (a traceback, the sweep ended) where one trial returned (mean, 1e200).
    calls = []

    def task(p):
        calls.append(p)
        values = two_quadratics(p)
        return {**values, "f1": (values["f1"], 1e200)} if len(calls) == 2 else values

    result = make_sweep(task, n_trials=6, n_initial_trials=4).run()
    assert [t.status for t in result.trials] == ["completed", "failed"] + ["completed"] * 4
    assert result.trials[1].reason.startswith("metric 'f1': the sem 1e+200 is past the 1e+150")


@pytest.mark.parametrize(
    ("returned", "constraints", "reason"),
    [
        (lambda p: 0.5, [], r"the task returned 0\.5 \(float\); return a dict \{metric: value\} or a tuple of 2"),
        (lambda p: (0.5, 1.0, 3.0), [], r"the task returned 3 values for 2 objectives"),
        (lambda p: [two_quadratics(p)], [], r"the task returned a list of 1 dict .*trial_metrics\(trainer\)"),
        (lambda p: {**two_quadratics(p), "energy/source": "zeus"}, [], r"'energy/source': 'zeus' does not say"),
        # A comparison where its number belongs: each trial failed until max_failure_rate stopped the sweep.
        (
            lambda p: {**two_quadratics(p), "f1": two_quadratics(p)["f1"] < 0.5},
            [],
            r"metric 'f1': expected a number, got the bool (True|False) \(bool\); return the number itself",
        ),
        (  # numpy's bool, in a constrained metric
            lambda p: {**two_quadratics(p), "energy/train_j": np.bool_(True)},
            ["energy/train_j <= 100"],
            r"metric 'energy/train_j': expected a number, got the bool np.True_ \(bool\); .*or float\(\.\.\.\) of",
        ),
        (  # the test loop's figures, and none of the fit's: EnergyCallback(train=False)
            lambda p: {**two_quadratics(p), "energy/test_j": 1.0},
            ["energy/train_j <= 100"],
            r"missing constrained metric 'energy/train_j' \(EnergyCallback\(train=True\) logs it\)",
        ),
    ],
)
def test_a_result_every_trial_would_return_alike_stops_the_sweep_at_the_first_trial(
    fast_ax, tmp_path, returned, constraints, reason
):
    # Three trials ran (max_failure_rate 0.5 judges at least five) and the stop said "or raise max_failure_rate",
    # which only failed more trials the same way.
    calls = []
    storage = tmp_path / "ax.json"
    sweep = make_sweep(
        lambda p: calls.append(p) or returned(p), n_trials=6, outcome_constraints=constraints, storage=storage
    )
    with pytest.raises(SweepFailureError, match=r"^ParetoSweep: trial 0 failed for what the task returns") as info:
        sweep.run()
    assert len(calls) == 1
    message = str(info.value)
    assert re.search(rf"\n  trial 0 \{{'x0': .*\}}: {reason}", message), message
    assert "raise max_failure_rate" not in message
    assert "fix what the task returns (below); run the sweep again with the same storage to resume" in message
    saved = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert saved["trials"][0]["status"] == "failed"
    assert "failed for what the task returns" in saved["stop_reason"]
    # Nothing is lost: the task, fixed, resumes the sweep.
    task = lambda p: {**two_quadratics(p), "energy/train_j": 50.0}  # noqa: E731
    result = make_sweep(task, n_trials=6, outcome_constraints=constraints, storage=storage).run()
    assert [t.status for t in result.trials] == ["failed"] + ["completed"] * 5


def test_what_only_some_trials_return_wrong_does_not_stop_the_sweep(fast_ax):
    # Nothing after a completed trial (a task that returns None where training failed), an energy figure the
    # completed trials returned, an exception, NaN: each can differ from one configuration to the next.
    calls = []

    def task(p):
        calls.append(p)
        out = {**two_quadratics(p), "energy/train_j": 50.0}
        if len(calls) == 2:
            return None
        if len(calls) == 3:
            del out["energy/train_j"]
        if len(calls) == 4:
            raise RuntimeError("CUDA out of memory")
        if len(calls) == 5:
            out["f1"] = math.nan
        return out

    result = make_sweep(
        task, n_trials=6, n_initial_trials=6, max_failure_rate=1.0, outcome_constraints=["energy/train_j <= 100"]
    ).run()
    assert [t.status for t in result.trials] == ["completed", "failed", "failed", "failed", "failed", "completed"]
    assert "(EnergyCallback(train=True) logs it)" in result.trials[2].reason


@pytest.mark.parametrize(
    ("first", "batch"),
    [
        (lambda p: None, 1),  # `except OOM: return None` on the first configuration
        (lambda p: math.nan, 1),  # Optuna's idiom for a diverged configuration, in the direction form's place
        (
            lambda p: {"f1": 1.0, "f2": 2.0},
            1,
        ),  # no test loop ran: no energy figure at all, so no callback setting to blame
        (lambda p: 0.5, 4),  # the batch's other trials completed: the task keeps its contract
        # A fit that diverged and skipped its test loop: the fit's figures say nothing of the test's (diff review).
        (lambda p: {"f1": 1.0, "f2": 2.0, "energy/train_j": 12.0, "energy/validate_in_fit": 1.0}, 1),
    ],
)
def test_a_first_trial_that_failed_for_its_configuration_does_not_stop_the_sweep(fast_ax, first, batch):
    """Review of the contract stop: one failed configuration (None or NaN for its values, no test loop, a batch whose
    other trials completed) stopped the sweep, also at max_failure_rate=1.0, "every trial would fail alike"."""
    calls = []

    def task(p):
        calls.append(p)
        out = {**two_quadratics(p), "energy/train_j": 50.0, "energy/test_j": 2.0}
        return first(p) if len(calls) == 1 else out

    result = make_sweep(
        task,
        n_trials=6,
        n_initial_trials=6,
        max_batch_size=batch,
        max_failure_rate=1.0,
        outcome_constraints=["energy/train_j <= 100", "energy/test_j <= 5"],
    ).run()
    assert [t.status for t in result.trials] == ["failed"] + ["completed"] * 5


def test_the_energy_source_label_is_never_the_close_name_of_a_missing_energy_figure(fast_ax):
    """Docs review: the label ``energy/source``, which ``trial_metrics`` always returns, was offered as the close name
    of a missing ``energy/test_j``, so a first trial whose fit diverged before its test loop stopped the sweep as a
    misspelt constraint ("did you mean 'energy/source'?"), and a missing loop's figure was said to be a misspelling
    instead of naming the EnergyCallback setting that measures the loop."""
    calls = []

    def task(p):
        calls.append(p)
        if len(calls) == 1:  # the fit diverged and skipped its test loop: the fit's figures and the label only
            return {**two_quadratics(p), "energy/train_j": 12.0, "energy/validate_in_fit": 1.0}
        return {**two_quadratics(p), "energy/train_j": 50.0, "energy/test_j": 2.0}

    result = make_sweep(
        task, n_trials=4, n_initial_trials=4, max_failure_rate=1.0, outcome_constraints=["energy/test_j <= 5"]
    ).run()
    assert [t.status for t in result.trials] == ["failed"] + ["completed"] * 3
    assert "did you mean" not in result.trials[0].reason

    def no_predict_loop(p):
        return {**two_quadratics(p), "energy/test_j": 2.0}

    with pytest.raises(SweepFailureError, match="every trial would fail alike") as info:
        make_sweep(no_predict_loop, n_trials=4, outcome_constraints=["energy/predict_j <= 5"]).run()
    assert "did you mean" not in str(info.value)
    assert "stages=(..., 'predict')" in str(info.value)


def test_an_energy_figure_its_loop_logs_only_sometimes_does_not_stop_the_sweep(fast_ax):
    """Docs review: EnergyCallback logs a loop's CPU contention only for windows of 0.2 s or more; a first trial with
    a shorter window stopped the sweep, "every trial would fail alike"."""
    calls = []

    def task(p):
        calls.append(p)
        out = {**two_quadratics(p), "energy/test_j": 2.0, "energy/test_cpu_contention": 0.1}
        if len(calls) == 1:
            del out["energy/test_cpu_contention"]  # a short window
        return out

    result = make_sweep(
        task, n_trials=4, n_initial_trials=4, outcome_constraints=["energy/test_cpu_contention <= 0.25"]
    ).run()
    assert [t.status for t in result.trials] == ["failed", "completed", "completed", "completed"]


def test_a_metric_that_only_some_trials_lack_fails_those_trials_only(fast_ax):
    # Returned by the first trial, missing from a later one: that trial's failure, not a misspelt name.
    calls = []

    def task(p):
        calls.append(p)
        out = {**two_quadratics(p), "test/acc": 0.9}
        if len(calls) == 2:
            del out["test/acc"]
            out["test/ac"] = 0.9
        return out

    result = make_sweep(
        task, n_trials=4, n_initial_trials=4, max_failure_rate=1.0, outcome_constraints=["test/acc >= 0.5"]
    ).run()
    assert [t.status for t in result.trials] == ["completed", "failed", "completed", "completed"]


def test_a_sweep_without_storage_promises_a_resume_on_the_object_only_and_keeps_it(fast_ax, caplog):
    fixed = False
    calls: list[dict] = []

    def task(p):
        calls.append(p)
        if not fixed:
            raise ValueError("bad")
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=10, n_initial_trials=4, max_failure_rate=0.5)
    with pytest.raises(SweepFailureError) as info:
        sweep.run()
    assert "call run() again on this sweep to resume (kept in memory only: no storage)" in str(info.value)
    assert "rerun the same command" not in str(info.value)
    stopped = sweep.result  # what the stop saved, for a report without a file
    assert stopped is not None
    assert (stopped.n_failed, stopped.stop_reason) == (3, "3 of 3 trials failed, more than max_failure_rate=0.5 allows")
    fixed, n_failed = True, len(calls)
    result = sweep.run()  # as promised: the failed trials stay, the budget is spent on the rest
    assert sweep.result == result
    assert (result.n_finished, result.n_failed, len(calls)) == (10, n_failed, 10)

    def interrupted(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        make_sweep(interrupted, n_trials=4, n_initial_trials=4).run()
    assert "kept in memory only (no storage): call run() again on this sweep to resume (a new process starts over)" in (
        caplog.text
    )
    assert "Rerun the same command" not in caplog.text


def test_a_failure_rate_stop_is_recorded_and_a_fixed_task_resumes_past_it(fast_ax, tmp_path):
    fixed = False

    def task(p):
        if not fixed:
            raise ValueError("bad config")
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    with pytest.raises(SweepFailureError):
        make_sweep(task, n_trials=8, n_initial_trials=8, max_failure_rate=0.5, storage=storage).run()
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["stop_reason"] == "3 of 3 trials failed, more than max_failure_rate=0.5 allows"  # not "interrupted"
    fixed = True  # the user fixes the task and reruns the same command
    result = make_sweep(task, n_trials=8, n_initial_trials=8, max_failure_rate=0.5, storage=storage).run()
    # The 3 old failures do not stop the resumed run again (they would be 3 of 4, 3 of 5 ...): it finishes.
    assert (result.n_finished, result.n_failed, result.stop_reason) == (8, 3, None)


def _gelu_bug_sweep(state: dict, ran: list):
    """A 4x2 choice space whose best configuration (64/gelu) a bug fails while ``state["bug"]`` (every gelu does)."""

    def task(p):
        ran.append((p["width"], p["act"], state["bug"]))
        if state["bug"] and p["act"] == "gelu":
            raise RuntimeError("gelu not imported")
        return {"acc": p["width"] / 64 + (0.1 if p["act"] == "gelu" else 0.0), "j": float(p["width"])}

    params = {"width": "choice(8, 16, 32, 64)", "act": "relu,gelu"}
    objectives = {"acc": "maximize", "j": "minimize"}
    return make_sweep(task, params, objectives, n_trials=8, max_failure_rate=0.2)


@pytest.mark.parametrize("retry", [False, True], ids=["default", "retry_failed"])
def test_retry_failed_evaluates_again_the_configurations_a_fixed_bug_failed(fast_ax, retry):
    # Review: "fix the task and call run() again" never evaluated a failed configuration again (answered from its
    # stored failure, kept pending in Ax, skipped as tried): the best one, 64/gelu, could never reach the front.
    state, ran = {"bug": True}, []
    sweep = _gelu_bug_sweep(state, ran)
    with pytest.raises(SweepFailureError) as info:
        sweep.run()
    assert (
        "call run() again on this sweep to resume (kept in memory only: no storage); the failed configurations are "
        "not evaluated again unless retry_failed is set (sweep.settings = dataclasses.replace(sweep.settings, "
        "retry_failed=True))."
    ) in str(info.value)
    first = {t.trial_index: t for t in sweep.result.trials}
    failed = [(w, a) for w, a, _ in ran if a == "gelu"]
    assert (64, "gelu") in failed  # the case is there
    state["bug"] = False  # the user fixes the task
    if retry:
        sweep.settings = dataclasses.replace(sweep.settings, retry_failed=True)
    result = sweep.run()
    after = [(w, a) for w, a, _ in ran[len(first) :]]
    front = [(t.params["width"], t.params["act"]) for t in result.pareto_trials]
    # The old failures stop nothing (old failures are not judged again), and the old records stay as they were.
    assert (result.n_finished, result.stop_reason) == (8, None)
    assert all(result.trials[i] == trial for i, trial in first.items())
    if retry:
        assert after[: len(failed)] == failed  # first, before Ax's new proposals, each as a new trial
        retried = result.trials[len(first) : len(first) + len(failed)]
        assert [t.status for t in retried] == ["completed"] * len(failed)
        assert all(t.reused_from is None for t in retried)
        assert (64, "gelu") in front
    else:  # as before: answered from their failures, never run again
        assert not set(failed) & set(after)
        assert (64, "gelu") not in front


def test_a_resume_whose_trials_return_a_bool_is_not_told_to_raise_max_failure_rate(fast_ax, tmp_path):
    # Earlier trials completed, so a bool objective is not stopped at its first trial as a broken contract: the rate
    # stops the sweep, and its message said "Fix the task (reasons below) or raise max_failure_rate", where a higher
    # rate only fails each trial to come the same way.
    broken = False

    def task(p):
        values = two_quadratics(p)
        return {**values, "f1": values["f1"] < 0.5} if broken else values

    settings = dict(n_trials=12, n_initial_trials=2, storage=tmp_path / "ax.json")
    make_sweep(task, **dict(settings, n_trials=2)).run()
    broken = True
    with pytest.raises(SweepFailureError) as info:
        make_sweep(task, **settings).run()
    message = str(info.value)
    assert "3 of the 3 trials this run evaluated failed" in message
    assert ". Return the metrics' numbers, not bools (reasons below); " in message
    assert "raise max_failure_rate" not in message
    assert "metric 'f1': expected a number, got the bool " in message


def test_retry_failed_judges_the_retries_and_keeps_the_failed_records(fast_ax, tmp_path):
    # retry_failed changes between runs of a stored sweep (not part of what a resume must match); a retry that fails
    # again counts toward this run's failure rate, as any trial of it.
    bug, calls = True, []

    def task(p):
        calls.append(p)
        if bug:
            raise TrialFailure("diverged", metrics={"energy/train_j": 5.0})
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    settings = dict(n_trials=10, n_initial_trials=10, max_failure_rate=0.5, storage=storage)
    with pytest.raises(SweepFailureError, match="not evaluated again unless retry_failed is set") as info:
        make_sweep(task, **settings).run()
    assert "ParetoSweep: 3 of 3 trials failed, more than max_failure_rate=0.5 allows" in str(info.value)  # a first run
    configs = list(calls)
    with pytest.raises(SweepFailureError) as info:  # not fixed: the retries fail
        make_sweep(task, retry_failed=True, **settings).run()
    # Review: "3 of 3 trials failed" beside the report's "6 of 10 trials": only this run's trials are judged.
    stop = "3 of the 3 trials this run evaluated failed, more than max_failure_rate=0.5 allows"
    assert f"ParetoSweep: {stop}" in str(info.value)
    assert yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())["stop_reason"] == stop
    assert "; the failed configurations are evaluated again first (retry_failed)." in str(info.value)
    assert calls[3:] == configs
    bug = False
    result = make_sweep(task, retry_failed=True, **settings).run()
    assert calls[6:9] == configs  # the latest failures' configurations, before anything new
    assert (result.n_finished, result.n_failed, result.stop_reason) == (10, 6, None)
    assert [t.status for t in result.trials] == ["failed"] * 6 + ["completed"] * 4
    assert all(t.metrics == {"energy/train_j": 5.0} for t in result.trials[:6])  # the failures' energy, kept
    assert [t.reason for t in result.trials[:6]] == ["diverged"] * 6


def test_retry_failed_leaves_a_configuration_the_resume_failed_for_crashing_twice_to_a_later_run(fast_ax, tmp_path):
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=5, n_initial_trials=5, seed=0, storage=tmp_path / "ax.json",
        retry_failed=True,
    )  # fmt: skip
    victim = _evaluated_unsaved(space, settings)[1]
    died: list[dict] = []
    for _ in range(2):
        with pytest.raises(_Interrupt):
            ParetoSweep(space, settings, _dies_on(victim, died)).run()
    result = ParetoSweep(space, settings, _dies_on(victim, died)).run()
    assert len(died) == 2  # the run that failed it does not run it again: it would die the same way
    assert [t.params for t in result.failures()] == [victim]
    ran: list[dict] = []
    extended = dataclasses.replace(settings, n_trials=6)
    result = ParetoSweep(space, extended, lambda batch: ran.extend(batch) or [two_quadratics(p) for p in batch]).run()
    assert ran == [victim]  # a later run with retry_failed does
    assert result.trials[-1].status == "completed"


def test_a_task_that_exits_on_ctrl_c_leaves_a_saved_resumable_sweep(fast_ax, tmp_path, caplog):
    calls = []

    def lightning_like(p):
        calls.append(p)
        if len(calls) == 3:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                sys.exit(1)  # what Lightning's interrupt handler does when Ctrl-C lands inside fit or test
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(SystemExit):
        make_sweep(lightning_like, n_trials=5, n_initial_trials=5, storage=storage).run()
    assert "interrupted after 2 of 5 trials; saved to" in caplog.text
    assert "Run the sweep again with the same storage to resume." in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        resumed = make_sweep(two_quadratics, n_trials=5, n_initial_trials=5, storage=storage).run()
    assert resumed.n_completed == 5
    # One trial in the singular, and no "0 failed: the process died on them twice" where none did (it read as if
    # the process had died twice on this one).
    assert "2 of 5 trials done, 1 interrupted trial abandoned [2] (1 to run again first)\n" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):  # finished: nothing was interrupted, nor said
        make_sweep(two_quadratics, n_trials=6, n_initial_trials=5, storage=storage).run()
    assert re.search(r"resuming .*: 5 of 6 trials done\n", caplog.text)


@pytest.mark.parametrize(
    ("rate", "stops_after"),
    [(0.0, 1), (0.5, 3), (0.99, None)],
)
def test_failure_rate_rule(fast_ax, rate, stops_after):
    calls = []

    def fails_often(p):
        calls.append(p)
        if len(calls) % 4 != 0:  # 3 of every 4 fail
            raise RuntimeError("nope")
        return two_quadratics(p)

    sweep = make_sweep(fails_often, n_trials=6, n_initial_trials=6, max_failure_rate=rate)
    if stops_after is None:
        assert sweep.run().n_failed == 5
    else:
        with pytest.raises(SweepFailureError):
            sweep.run()
        assert len(calls) == stops_after


def test_the_failure_rate_is_judged_over_at_least_five_trials(fast_ax):
    """At max_failure_rate=0.4, the first two trials failing are 2 of (at least) 5 trials, not 2 of 2: the sweep goes
    on; the third failure is past 0.4 of 5 and stops it."""
    calls = []

    def broken(p):
        calls.append(p)
        raise RuntimeError("nope")

    with pytest.raises(SweepFailureError, match=r"3 of 3 trials failed, more than max_failure_rate=0.4 allows"):
        make_sweep(broken, n_trials=10, n_initial_trials=10, max_failure_rate=0.4).run()
    assert len(calls) == 3


def test_a_resumed_run_judges_its_failures_over_the_trials_it_has_left(fast_ax, tmp_path):
    """Fewer than five trials left: the rate is judged over those. With two left at max_failure_rate=0.4, one failure
    is 1 of 2, past the rate: the run stops there instead of spending the last trial too."""
    broken = False
    calls = []

    def task(p):
        calls.append(p)
        if broken:
            raise RuntimeError("nope")
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    make_sweep(task, n_trials=4, n_initial_trials=4, max_failure_rate=0.4, storage=storage).run()
    broken, calls = True, []
    with pytest.raises(SweepFailureError, match=r"1 of the 1 trial this run evaluated failed"):
        make_sweep(task, n_trials=6, n_initial_trials=4, max_failure_rate=0.4, storage=storage).run()
    assert len(calls) == 1


def test_evaluate_must_return_one_result_per_trial(fast_ax):
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=3, seed=0)
    with pytest.raises(RuntimeError, match=r"evaluate\(\) returned 0 results for a batch of 1 trial;"):
        ParetoSweep(space, settings, lambda batch: []).run()
    with pytest.raises(TypeError, match="evaluate must be callable"):
        ParetoSweep(space, settings, "not callable")  # type: ignore[arg-type]
    # A per-trial function given as the batch evaluator: pointed to from_function, whichever way it fails.
    with pytest.raises(RuntimeError, match=r"returned dict results .* build the sweep with ParetoSweep\.from_function"):
        ParetoSweep(space, settings, lambda p: {"f1": 1.0, "f2": 2.0}).run()
    for per_trial in (two_quadratics, lambda p: two_quadratics(**p)):  # p["x0"] or **p of a list: a TypeError
        with pytest.raises(TypeError) as info:
            ParetoSweep(space, settings, per_trial).run()
        assert "ParetoSweep.from_function(space, settings, fn)" in "".join(info.value.__notes__)
    with pytest.raises(TypeError, match=r"^ParetoSweep\.from_function\(fn=3\): fn must be callable as fn\(params\)"):
        ParetoSweep.from_function(space, settings, 3)  # type: ignore[arg-type]


def test_a_space_or_settings_of_another_type_is_named_with_how_to_build_it() -> None:
    # Before: AttributeError: 'dict' object has no attribute 'parameters' (or 'resolved_n_initial_trials').
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=3)
    match = r"^ParetoSweep\(space=\{'x': 'interval\(0,1\)'\}\): expected a SearchSpace; build it with " + (
        r"parse_search_space\(\{'x': 'interval\(0,1\)'\}, \[\]\)\.$"
    )
    with pytest.raises(TypeError, match=match):
        ParetoSweep.from_function({"x": "interval(0,1)"}, settings, two_quadratics)  # type: ignore[arg-type]
    match = r"^ParetoSweep\(settings=\{'n_trials': 2\}\): expected a SweepSettings; build it with " + (
        r"SweepSettings\(parse_objectives\(\{'a': 'minimize', 'b': 'minimize'\}, None\), n_trials=2\)\.$"
    )
    with pytest.raises(TypeError, match=match):
        ParetoSweep.from_function(space, {"n_trials": 2}, two_quadratics)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^ParetoSweep\(settings=None\): expected a SweepSettings"):
        ParetoSweep(space, None, lambda batch: [])  # type: ignore[arg-type]


# -- energy sources ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("allow", [False, True])
def test_mixed_energy_sources_are_refused_unless_allowed(fast_ax, allow):
    calls = []

    def meter_changes(p):
        calls.append(p)
        out = two_quadratics(p)
        out["energy/source"] = "measured: zeus/nvml" if len(calls) != 3 else "estimated: cpu-time"
        return out

    sweep = make_sweep(meter_changes, n_trials=4, n_initial_trials=4, allow_mixed_energy_sources=allow)
    result = sweep.run()
    sources = [t.energy_source for t in result.trials]
    assert sources == ["measured: zeus/nvml", "measured: zeus/nvml", "estimated: cpu-time", "measured: zeus/nvml"]
    third = result.trials[2]
    if allow:
        assert third.status == "completed"
    else:
        assert third.status == "failed"
        assert "'estimated: cpu-time' is not comparable with 'measured: zeus/nvml'" in third.reason
        assert "SweepSettings(allow_mixed_energy_sources=True)" in third.reason
        # What a user whose cluster measures on some nodes only can do, besides mixing.
        assert "run every trial on like nodes (pin the launcher to them)" in third.reason
        assert "EnergyCallback(meter='estimate')" in third.reason
        assert result.n_completed == 3
        # It ran to the end: its figures stay with it (the ledger counts the energy it spent), never given to Ax.
        assert third.metrics == pytest.approx(
            {k: v for k, v in two_quadratics(calls[2]).items() if k != "energy/source"}
        )


@pytest.mark.parametrize(
    ("third", "refused"),
    [
        ("measured: zeus/rapl", True),  # a node whose NVML failed: its joules leave the GPU out
        ("Measured: Zeus/NVML+RAPL", False),  # the same counters, written otherwise
        ("measured: ipmi/bmc", True),  # another meter: a node's power at the wall, not the GPU and CPU counters
        ("measured: zeus/nvml+rapl+dram", True),  # the DRAM zone read too: said to be the upgrade's on one node
    ],
)
def test_zeus_figures_over_other_counters_are_refused(fast_ax, third, refused):
    calls = []

    def task(p):
        calls.append(p)
        return {**two_quadratics(p), "energy/source": third if len(calls) == 3 else "measured: zeus/nvml+rapl"}

    result = make_sweep(task, n_trials=4, n_initial_trials=4).run()
    status = result.trials[2].status
    assert status == ("failed" if refused else "completed")
    if refused and third == "measured: ipmi/bmc":
        assert "'measured: ipmi/bmc' is another meter than 'measured: zeus/nvml+rapl'" in result.trials[2].reason
        assert "measure every trial with the same meter" in result.trials[2].reason
    elif refused:
        assert "counts other parts of the machine than 'measured: zeus/nvml+rapl'" in result.trials[2].reason
        assert "run every trial on like nodes" in result.trials[2].reason
        # Trial 0 ran in this run, labelled as this version labels: not the note for a sweep an older one started
        # (said on a cluster whose nodes differ, it sent the user to allow mixing).
        assert "did not name RAPL's DRAM zone" not in result.trials[2].reason


@pytest.mark.parametrize(
    ("first", "third", "refused"),
    [
        ("measured: ipmi/bmc", "Measured:  IPMI/BMC", False),  # the same meter, written otherwise
        ("measured: ipmi/bmc", "measured: pdu/outlet", True),  # two meters of the user's own
        ("measured: ipmi/bmc", "measured: zeus/nvml", True),  # Zeus after another meter: refused both ways
    ],
)
def test_figures_of_another_meter_are_refused(fast_ax, first, third, refused):
    calls = []

    def task(p):
        calls.append(p)
        return {**two_quadratics(p), "energy/source": third if len(calls) == 3 else first}

    result = make_sweep(task, n_trials=4, n_initial_trials=4).run()
    assert result.trials[2].status == ("failed" if refused else "completed")
    if refused:
        assert f"{third!r} is another meter than {first!r} (trial 0" in result.trials[2].reason
        assert "SweepSettings(allow_mixed_energy_sources=True)" in result.trials[2].reason
    calls.clear()
    allowed = make_sweep(task, n_trials=4, n_initial_trials=4, allow_mixed_energy_sources=True).run()
    assert allowed.trials[2].status == "completed"


def test_the_dram_zone_note_is_for_a_sweep_started_in_an_earlier_run(fast_ax, tmp_path):
    store = tmp_path / "ax.json"
    before = make_sweep(lambda p: {**two_quadratics(p), "energy/source": "measured: zeus/rapl"}, n_trials=3,
                        n_initial_trials=3, storage=store).run()  # fmt: skip
    assert before.n_completed == 3
    task = lambda p: {**two_quadratics(p), "energy/source": "measured: zeus/rapl+dram"}  # noqa: E731
    after = make_sweep(task, n_trials=4, n_initial_trials=3, storage=store, max_failure_rate=1.0).run()
    assert after.trials[3].status == "failed"
    upgrade = "did not name RAPL's DRAM zone: on the same node, a sweep started then measured it too"
    assert upgrade in after.trials[3].reason


def test_apple_figures_without_the_memorys_joules_are_refused_beside_those_with(fast_ax):
    # Apple silicon whose counters give no DRAM figure was labelled apple-soc like one that does: one frontier.
    calls = []

    def task(p):
        calls.append(p)
        source = "measured: zeus/apple-soc" if len(calls) == 3 else "measured: zeus/apple-soc+dram"
        return {**two_quadratics(p), "energy/source": source}

    result = make_sweep(task, n_trials=4, n_initial_trials=4).run()
    assert [t.status for t in result.trials] == ["completed", "completed", "failed", "completed"]
    reason = result.trials[2].reason
    assert "counts other parts of the machine than 'measured: zeus/apple-soc+dram'" in reason
    assert "RAPL" not in reason  # not the hint for a sweep started before RAPL's DRAM zone was named


def test_an_enqueued_configuration_of_numpy_values_is_saved(fast_ax, tmp_path):
    # np.float64 is a float and np.str_ a str: they reached yaml.safe_dump as numpy objects, which it cannot write.
    enqueued = [{"x0": np.float64(0.25), "x1": np.float64(0.5)}]
    result = make_sweep(two_quadratics, n_trials=2, enqueue_trials=enqueued, storage=tmp_path / "ax.json").run()
    assert result.n_completed == 2
    saved = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert saved["settings"]["enqueue_trials"] == [{"x0": 0.25, "x1": 0.5}]


def test_a_huge_integer_fails_an_objective_and_is_kept_as_inf_in_the_extras(fast_ax):
    # float(10**400) overflows: the sweep crashed instead of failing the trial or keeping the extra figure (as inf,
    # said as any non-finite extra is: test_a_non_finite_tracked_metric_is_kept_in_the_record_and_said_...).
    def huge(p):
        out = two_quadratics(p)
        out["model/flops"] = 10**400
        if p["x0"] > 0.5:
            out["f1"] = 10**400
        return out

    result = make_sweep(huge, n_trials=4, n_initial_trials=4, max_failure_rate=1.0).run()
    assert result.n_finished == 4
    for trial in result.trials:
        assert trial.metrics["model/flops"] == math.inf
        if trial.status == "failed":
            assert "metric 'f1' is inf (not finite)" in trial.reason
    assert {t.status for t in result.trials} == {"completed", "failed"}


# -- never pay twice -------------------------------------------------------------------------------------------------


class _ScriptedSweep(ParetoSweep):
    """Proposes a fixed list of configurations (repeats included) through Ax's attach_trial."""

    def __init__(self, *args, script, **kwargs):
        super().__init__(*args, **kwargs)
        self.script = list(script)

    def _ask(self, client, k):
        proposals = {}
        while self.script and len(proposals) < k:
            params = self.script.pop(0)
            proposals[client.attach_trial(params)] = dict(params)
        return proposals


def test_repeated_configurations_are_not_evaluated_twice():
    calls = []

    def count(p):
        calls.append(dict(p))
        if p["a"] == 3:
            raise RuntimeError("diverged")
        return {"f1": float(p["a"]), "f2": -float(p["a"]) if p["b"] == "x" else 0.0, "energy/source": "estimated"}

    A, B, C, D = ({"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "x"}, {"a": 2, "b": "x"})
    # Batches of 3: [A, B, A] repeats inside a batch, [C, B, A] across batches, [C, D, D] a failure and a pair.
    script = [A, B, A, C, B, A, C, D, D]
    space = parse_search_space({"a": "choice(1, 2, 3)", "b": "choice(x, y)"}, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=9, n_initial_trials=9, max_batch_size=3, max_failure_rate=1.0
    )
    result = _ScriptedSweep(space, settings, evaluate_each(count), script=script).run()
    assert calls == [A, B, C, D]  # each configuration evaluated once
    assert result.n_finished == 9
    assert result.n_reused == 5
    assert [t.reused_from for t in result.trials] == [None, None, 0, None, 1, 0, 3, None, 7]
    for t in result.trials:
        if t.reused_from is not None:
            source = result.trials[t.reused_from]
            assert (t.params, t.status, t.metrics, t.energy_source) == (
                source.params, source.status, source.metrics, source.energy_source,
            )  # fmt: skip
    expected = "same configuration as failed trial 3 (not run again): the job raised RuntimeError: diverged"
    assert result.trials[6].reason == expected
    # Reused failures do not count toward the failure rate, and the Pareto set lists each configuration once.
    assert [t.trial_index for t in result.pareto_trials] == [0, 7]


def test_a_failed_configuration_is_not_proposed_again_and_the_space_runs_out(fast_ax):
    calls = []

    def fails_on_two(p):
        calls.append(p["a"])
        if p["a"] == 2:
            raise RuntimeError("diverged")
        return {"f1": float(p["a"]), "f2": float(-p["a"])}

    sweep = make_sweep(
        fails_on_two, params={"a": "choice(1, 2, 3)"}, n_trials=5, n_initial_trials=2, max_failure_rate=1.0
    )
    result = sweep.run()
    # Ax re-proposes FAILED arms; the sweeper marks them ABANDONED in Ax (pending, never suggested again), so the
    # three configurations run once each and the sweep ends there instead of spending trials on the stored failure.
    assert sorted(calls) == [1, 2, 3]
    assert (result.n_finished, result.n_failed, result.n_reused) == (3, 1, 0)
    assert "no new configuration" in (result.stop_reason or "")
    failed = next(t for t in result.trials if t.status == "failed")
    assert (failed.params, failed.reused_from) == ({"a": 2}, None)
    assert "diverged" in failed.reason


FAILING_CORNER = {"a": "choice(p, q, r, s)", "b": "choice(w, x, y, z)"}
"""16 configurations of two unordered choices (one-hot in Ax); the four best ones fail."""


def corner_fails(p):
    a, b = "pqrs".index(p["a"]), "wxyz".index(p["b"])
    if a >= 2 and b >= 2:  # where both objectives are best, as a model too large for the memory would be
        raise RuntimeError("out of memory")
    return {"f1": float(-a - b), "f2": float(a + b - 0.5 * a * b)}


@pytest.mark.parametrize("abandon", [True, False])
def test_a_discrete_sweep_spends_no_trial_on_a_failed_configuration(fast_ax, monkeypatch, abandon):
    from lightning_ecopt.sweeper import loop

    if not abandon:  # the control: Ax's FAILED status, whose arms Ax proposes again
        monkeypatch.setattr(loop, "_FAILED_AS_PENDING", False)
    sweep = make_sweep(corner_fails, params=FAILING_CORNER, n_trials=12, n_initial_trials=4, max_failure_rate=1.0)
    result = sweep.run()
    assert result.n_finished == 12
    reused_failures = sum(t.reused_from is not None and t.status == "failed" for t in result.trials)
    if abandon:
        assert reused_failures == 0
        assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 12
    else:
        assert reused_failures > 0


def diverges_at_high_lr(p):
    if p["lr"] > 0.3:  # training diverges: the top of the range fails, where the acquisition likes to go
        raise FloatingPointError("loss diverged")
    return {"f1": -(1 - abs(p["lr"] - 0.3) - 2 / p["width"]), "f2": p["width"] * 0.1}


@pytest.mark.parametrize("acquisition", ["qNEHVI", "EHVI"])
def test_a_continuous_sweep_never_proposes_a_failed_configuration_again(fast_ax, acquisition):
    params = {"lr": "tag(log, interval(1e-4, 1.0))", "width": "int(interval(4, 64))"}
    result = make_sweep(
        diverges_at_high_lr, params=params, n_trials=12, max_failure_rate=1.0, acquisition=acquisition
    ).run()
    assert result.n_finished == 12
    assert [t.trial_index for t in result.trials if t.reused_from is not None] == []
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 12


def test_a_resumed_sweep_keeps_its_failed_trials_failed(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    settings = {"params": FAILING_CORNER, "n_initial_trials": 4, "max_failure_rate": 1.0, "storage": storage}
    first = make_sweep(corner_fails, n_trials=8, **settings).run()
    assert first.n_failed > 0
    resumed = make_sweep(corner_fails, n_trials=10, **settings).run()
    before = {t.trial_index: (t.status, t.reason) for t in first.trials}
    assert {i: (t.status, t.reason) for i, t in enumerate(resumed.trials) if i in before} == before
    assert resumed.n_finished == 10
    assert not any(t.status == "abandoned" for t in resumed.trials)
    assert sum(t.reused_from is not None for t in resumed.trials) == 0


@pytest.mark.parametrize("seed", [2, 3])
def test_a_batch_in_a_mixed_space_holds_no_configuration_twice(seed):
    """Real qNEHVI, no mocks: Ax generates a batch's points one by one, the earlier ones pending, and in a space of
    unordered choices and floats the next point's relaxed optimum sat on a bound next to the pending one and rounded
    onto it: with seed 3, trials 8-11 were all ``{a: 0, x: 0.0}``, 3 of 12 trials reused; with seed 2, ``{a: 1,
    x: 0.0}``, every category already taken at 0.0. An exact repeat now goes to the nearest category not taken at that
    float, else to the best of random untried points."""

    def objectives(p):
        return {"f1": p["a"] + p["x"], "f2": (3 - p["a"]) ** 2 + (1 - p["x"]) ** 2}

    params = {"a": "choice(0, 1, 2)", "x": "interval(0, 1)"}
    result = make_sweep(objectives, params=params, n_trials=12, n_initial_trials=4, max_batch_size=4, seed=seed).run()
    assert result.n_finished == 12
    assert [t.trial_index for t in result.trials if t.reused_from is not None] == []
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 12


def test_an_exhausted_discrete_space_ends_the_sweep_early(fast_ax):
    def linear(p):
        return {"f1": float(p["a"]), "f2": float(-p["a"])}

    result = make_sweep(linear, params={"a": "choice(1, 2)"}, n_trials=4, n_initial_trials=2).run()
    assert result.n_finished == 2
    assert "no new configuration" in result.stop_reason


def test_a_sweep_ax_has_no_new_configuration_for_ends_and_says_why(fast_ax, monkeypatch):
    """Ax raises ``OptimizationComplete`` when its strategy has nothing left to propose: the sweep ends with what it ran
    and the reason, rather than asking again and again."""
    from ax.api.client import Client
    from ax.exceptions.core import OptimizationComplete

    real = Client.get_next_trials
    calls = []

    def complete_after_the_sobol_trials(self, *args, **kwargs):
        calls.append(kwargs.get("max_trials"))
        if 3 <= len(calls) <= 5:  # the first model proposal (and, asked again, the next two)
            raise OptimizationComplete("nothing left")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Client, "get_next_trials", complete_after_the_sobol_trials)
    result = make_sweep(two_quadratics, n_trials=4, n_initial_trials=2).run()
    assert result.n_finished == 2
    assert result.stop_reason == "Ax has no new configuration to propose (OptimizationComplete: nothing left)"
    assert len(calls) == 3


def test_a_batch_ax_cannot_fill_is_asked_for_one_trial_at_a_time_and_the_sweep_goes_on(fast_ax, monkeypatch):
    """Ax generates a batch one trial at a time and raises ``OptimizationComplete`` when it cannot fill it, dropping
    the trials it had: the sweep asks for one at a time, and runs its whole budget."""
    from ax.api.client import Client
    from ax.exceptions.core import OptimizationComplete

    real = Client.get_next_trials
    asked: list[int] = []

    def no_batches_after_the_sobol_trials(self, *args, max_trials=1, **kwargs):
        asked.append(max_trials)
        if len(asked) > 1 and max_trials > 1:
            raise OptimizationComplete("the batch's last trial found nothing")
        return real(self, *args, max_trials=max_trials, **kwargs)

    monkeypatch.setattr(Client, "get_next_trials", no_batches_after_the_sobol_trials)
    result = make_sweep(two_quadratics, n_trials=6, n_initial_trials=2, max_batch_size=2).run()
    assert result.n_finished == 6
    assert result.stop_reason is None  # ran out of budget, not of proposals
    assert asked == [2, 2, 1, 1, 2, 1, 1]  # Sobol's batch, then each model batch refused and asked one at a time


def test_a_space_the_sobol_trials_exhaust_ends_without_asking_ax_for_more(fast_ax, caplog, monkeypatch):
    """Four configurations, a budget of six Sobol trials: Ax's Sobol generator would look for a fifth by
    rejection sampling, 10,000 draws (~20 s), and warn of "very restrictive" parameter constraints."""
    from ax.api.client import Client

    asked: list[int] = []
    get_next_trials = Client.get_next_trials

    def spy(self, max_trials=1, **kwargs):
        asked.append(max_trials)
        return get_next_trials(self, max_trials=max_trials, **kwargs)

    monkeypatch.setattr(Client, "get_next_trials", spy)
    with caplog.at_level(logging.INFO):
        result = make_sweep(
            lambda p: {"f1": float(p["a"]), "f2": float(-p["a"])},
            params={"a": "choice(1, 2)", "b": "range(0, 1)"},  # 2 x 2: an integer range counts its integers
            n_trials=6,
            n_initial_trials=6,
            max_batch_size=3,
        ).run()
    assert result.n_finished == 4
    assert result.stop_reason == (
        "no new configuration to propose (each of the search space's 4 configurations was tried)"
    )
    assert asked == [3, 1]  # the batch of 3, then the one left: never more than are left, nor once none is
    said = caplog.text
    assert (
        "ecopt: the search space holds 4 configurations, fewer than the sweep's 6 trials: it ends once each was "
        "tried, all by its Sobol trials."
    ) in said
    assert "all Sobol:" not in said  # no advice to raise n_trials: no model proposes in this space, whatever it is
    assert "very restrictive" not in said


@pytest.mark.parametrize(
    "params", [{"a": "choice(x, y, z)", "b": "choice(p, q, r)"}, {"a": "range(1, 3)", "b": "range(1, 3)"}]
)
def test_a_batch_larger_than_what_is_left_of_a_discrete_space_still_tries_every_configuration(fast_ax, params):
    # Ax generates a batch one trial at a time; the last one finds every configuration tried or pending, and its
    # SearchSpaceExhausted used to throw away the untried ones generated before it in the same call.
    def crc(p):
        h = zlib.crc32(json.dumps(p, sort_keys=True).encode()) / 2**32
        return {"f1": h, "f2": 1 - h**2}

    result = make_sweep(crc, params=params, n_trials=12, n_initial_trials=2, max_batch_size=4).run()
    assert result.n_finished == 9
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 9
    assert "no new configuration" in result.stop_reason


def test_a_space_of_two_valued_choices_only_gets_model_proposals(fast_ax):
    # Ax encodes a two-valued unordered choice as one discrete column, not one-hot: such a space is optimised by
    # optimize_acqf_discrete, which refuses optimize_acqf's options.
    def crc(p):
        h = zlib.crc32(json.dumps(p, sort_keys=True).encode()) / 2**32
        return {"f1": h, "f2": 1 - h**2}

    params = {"a": "choice(true, false)", "b": "choice(p, q)", "c": "choice(u, v)"}
    result = make_sweep(crc, params=params, n_trials=5, n_initial_trials=2).run()
    assert result.n_finished == 5
    assert [t.status for t in result.trials] == ["completed"] * 5


# -- resume --------------------------------------------------------------------------------------------------------


class _Interrupt(Exception):
    pass


def test_resume_after_an_interruption_finishes_exactly_n_trials(fast_ax, tmp_path):
    storage = tmp_path / "ax_experiment.json"
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=8, n_initial_trials=3, max_batch_size=2, seed=3, storage=storage
    )
    evaluated, batches, cut_short = [], [], []

    def dies_in_third_batch(batch):
        batches.append(len(batch))
        if len(batches) == 3:
            cut_short.extend(batch)
            raise _Interrupt("killed")
        evaluated.extend(batch)
        return [two_quadratics(p) for p in batch]

    with pytest.raises(_Interrupt):
        ParetoSweep(space, settings, dies_in_third_batch).run()
    first_run = list(evaluated)
    assert batches == [2, 1, 2]  # the Sobol phase ends after 3 trials

    second_run = []

    def evaluate(batch):
        second_run.extend(batch)
        return [two_quadratics(p) for p in batch]

    result = ParetoSweep(space, settings, evaluate).run()
    assert result.n_finished == 8
    assert len(second_run) == 5  # only what was missing
    # The configurations the interruption cut short run first, both of them, exactly (Ax sees the interrupted
    # trials as FAILED, not pending: as ABANDONED, pending, they steered later proposals elsewhere).
    assert second_run[:2] == cut_short
    keys = [json.dumps(p, sort_keys=True) for p in first_run + second_run]
    assert len(set(keys)) == 8  # no completed trial repeated
    abandoned = [t for t in result.trials if t.status == "abandoned"]
    assert len(abandoned) == 2  # the interrupted batch
    assert all("interrupted" in t.reason for t in abandoned)
    assert [t.trial_index for t in result.trials if t.status == "abandoned"] == [3, 4]
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["counts"]["finished"] == 8
    assert data["counts"]["abandoned"] == 2

    # Running again does nothing: the budget is spent.
    third_run = []
    again = ParetoSweep(space, settings, lambda batch: third_run.extend(batch) or []).run()
    assert third_run == []
    assert again.n_finished == 8


def test_a_launcher_that_starts_no_job_stops_the_sweep_and_the_resume_runs_its_trials(fast_ax, tmp_path):
    from lightning_ecopt.exceptions import LauncherError

    storage = tmp_path / "ax_experiment.json"
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=4, n_initial_trials=2, max_batch_size=2, seed=3, storage=storage
    )
    batches: list[list[dict]] = []

    def no_cluster_for_the_second_batch(batch):
        batches.append(batch)
        if len(batches) == 2:
            raise LauncherError("the launcher did not start any of the 2 jobs")
        return [two_quadratics(p) for p in batch]

    with pytest.raises(LauncherError):
        ParetoSweep(space, settings, no_cluster_for_the_second_batch).run()
    saved = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    counts = saved["counts"]
    assert (counts["completed"], counts["failed"], counts["abandoned"]) == (2, 0, 2)  # saved as stopped, none failed
    rerun: list[list[dict]] = []
    result = ParetoSweep(space, settings, lambda batch: rerun.append(batch) or [two_quadratics(p) for p in batch]).run()
    assert (result.n_completed, result.n_failed) == (4, 0)
    # The batch that never ran runs on resume as it was proposed: together, as after Ctrl-C, not one configuration
    # at a time as after a crash (which of them crashed would be unknown).
    assert rerun[0] == batches[1]
    # Its two trials spent nothing, and the ledger knows it: its total is exact, not a lower bound.
    from lightning_ecopt.report import trial_energy

    never = [t for t in result.trials if t.status == "abandoned"]
    assert len(never) == 2
    assert all(t.reason.startswith("not started: the launcher started no job") for t in never)
    assert all(trial_energy(t).known and trial_energy(t).total_j == 0.0 for t in never)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, LauncherError])
def test_trials_a_stopped_batch_had_finished_are_kept_and_not_run_again(fast_ax, tmp_path, stop):
    """A batch evaluator that knows what some of its trials returned before Ctrl-C says so (``finished_before_stop``,
    as the Hydra sweeper does from its jobs' records): they are saved as finished; only the others run on resume."""
    storage = tmp_path / "ax_experiment.json"
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=3, n_initial_trials=3, max_batch_size=3, seed=3, storage=storage
    )
    first: list[dict] = []

    def stopped_after_two(batch):
        first.extend(batch)
        for index, params in zip(sweep.evaluating[:2], batch, strict=False):
            sweep.finished_before_stop[index] = two_quadratics(params)
        sweep.finished_before_stop[99] = two_quadratics(batch[0])  # not a trial of this batch: ignored
        raise stop("a Ctrl-C, or a later launch of the batch that could not start")

    sweep = ParetoSweep(space, settings, stopped_after_two)
    with pytest.raises(stop):
        sweep.run()
    counts = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())["counts"]
    assert (counts["completed"], counts["abandoned"]) == (2, 1)
    rerun: list[dict] = []
    result = ParetoSweep(space, settings, lambda batch: rerun.extend(batch) or [two_quadratics(p) for p in batch]).run()
    assert rerun == [first[2]]
    assert (result.n_completed, result.n_failed) == (3, 0)


def test_ctrl_c_mid_batch_of_a_function_sweep_keeps_the_trials_that_had_ended(fast_ax, tmp_path):
    """``from_function`` runs a batch's trials one after another: at a Ctrl-C in the third trial of a batch of four,
    the two before it had returned (one completed, one failed) and the fourth had not started. All four were saved
    as interrupted (the fourth's energy unknown though it spent none) and the resume ran the two that had ended again.
    """
    from lightning_ecopt.exceptions import NOTHING_RAN
    from lightning_ecopt.report import trial_energy

    calls: list[dict] = []

    def task(p):
        calls.append(p)
        if len(calls) == 6:
            raise ValueError("out of memory")
        if len(calls) == 7:
            raise KeyboardInterrupt
        return two_quadratics(p)

    settings = {"n_trials": 8, "n_initial_trials": 8, "max_batch_size": 4, "max_failure_rate": 1.0}
    storage = tmp_path / "ax.json"
    stopped = make_sweep(task, storage=storage, **settings)
    with pytest.raises(KeyboardInterrupt):
        stopped.run()
    trials = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())["trials"]
    assert [(t["status"], t["reason"]) for t in trials[4:]] == [
        ("completed", None),
        ("failed", "the job raised ValueError: out of memory"),  # kept: it ran to its end before the stop
        ("abandoned", loop._INTERRUPTED_UNRESUMED),
        ("abandoned", loop._NOT_REACHED_UNRESUMED),
    ]
    assert trials[7]["metrics"] == dict(NOTHING_RAN)
    saved = {t.trial_index: t for t in stopped.result.trials}
    assert not trial_energy(saved[6]).known  # it ran for a while: `ecopt report`'s total is a lower bound
    assert (trial_energy(saved[7]).known, trial_energy(saved[7]).total_j) == (True, 0.0)  # it never started
    result = make_sweep(task, storage=storage, **settings).run()
    assert len(calls) == 9  # 7 before the stop, and the two cut short
    assert calls[7:] == [calls[6], trials[7]["params"]]
    assert (result.n_completed, result.n_failed) == (7, 1)
    cut = [t for t in result.trials if t.status == "abandoned"]
    assert [(t.trial_index, t.reason) for t in cut] == [(6, loop._INTERRUPTED), (7, loop._NOT_REACHED)]
    assert cut[1].metrics == dict(NOTHING_RAN)


class _HostStop(BaseException):
    """A host's stop that is no Exception and no Ctrl-C: Streamlit's StopException, gevent's GreenletExit."""


def test_a_host_s_own_stop_keeps_what_finished_and_resumes_the_configuration_it_cut_short(fast_ax, tmp_path):
    """Such a stop was not saved: the batch's finished trial was lost, and the resume failed the configuration it cut
    short for good as a crash of the process (which never ended)."""
    calls: list[dict] = []

    def task(p):
        calls.append(p)
        if len(calls) == 2:
            raise _HostStop
        return two_quadratics(p)

    settings = {"n_trials": 4, "n_initial_trials": 4, "max_batch_size": 2}
    storage = tmp_path / "ax.json"
    stopped = make_sweep(task, storage=storage, **settings)
    with pytest.raises(_HostStop):
        stopped.run()
    assert [(t.trial_index, t.status) for t in stopped.result.trials] == [(0, "completed"), (1, "abandoned")]
    result = make_sweep(task, storage=storage, **settings).run()
    assert calls[2] == calls[1]  # the configuration cut short runs again, first
    assert (result.n_completed, result.n_failed) == (4, 0)
    assert calls[0] not in calls[2:]  # the finished one is kept, not run again


def test_a_second_run_of_one_sweep_in_another_thread_is_refused_while_the_first_runs(fast_ax):
    """Without storage no lock file kept it out: both ran together, twice the budget, their results mixed."""
    inside, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def task(p):
        calls.append(threading.current_thread().name)
        inside.set()
        release.wait(30)
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=2, n_initial_trials=2, max_batch_size=1)
    first = threading.Thread(target=sweep.run, name="first-click")
    first.start()
    try:
        assert inside.wait(60)
        with pytest.raises(EcoptConfigError, match=r"already running on this ParetoSweep \(thread 'first-click'\)"):
            sweep.run()
    finally:
        release.set()
        first.join(60)
    assert calls == ["first-click", "first-click"]
    assert sweep.result is not None
    assert sweep.result.n_completed == 2
    assert sweep.run().n_completed == 2  # released once the first returned


def test_sweeps_in_two_threads_take_turns_to_propose_and_leave_the_process_as_they_found_it(fast_ax, monkeypatch):
    """Their proposals overlapped: one set torch's process-wide thread count to 1 and the other, starting then, put
    back 1 (threads started afterwards too ran on one); the Ax loggers' levels saved and restored by each were left
    quieted by the one that ended last."""
    torch = pytest.importorskip("torch")
    from ax.api.client import Client

    def in_a_new_thread():
        out: list[int] = []
        thread = threading.Thread(target=lambda: out.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        return out[0]

    ax_logger = logging.getLogger(loop._AX_LOGGER)
    before = (torch.get_num_threads(), in_a_new_thread(), ax_logger.level)
    a_proposes, b_proposes, a_trial, a_done = (threading.Event() for _ in range(4))
    overlapped: list[bool] = []
    propose = Client.get_next_trials

    def get_next_trials(self, *args, **kwargs):
        if threading.current_thread().name == "A":
            a_proposes.set()
            overlapped.append(b_proposes.wait(2))  # B proposing meanwhile: the overlap
        else:
            b_proposes.set()
            a_trial.wait(10)  # ends after A's proposal put its thread count back
        return propose(self, *args, **kwargs)

    monkeypatch.setattr(Client, "get_next_trials", get_next_trials)

    def task_a(p):
        a_trial.set()
        return two_quadratics(p)

    def task_b(p):
        a_done.wait(10)  # B's sweep ends after A's
        return two_quadratics(p)

    results: dict[str, object] = {}
    sweeps = {name: make_sweep(task, n_trials=1, n_initial_trials=1) for name, task in (("A", task_a), ("B", task_b))}

    def run(name):
        try:
            results[name] = sweeps[name].run()
        finally:
            if name == "A":
                a_done.set()

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in ("A", "B")]
    threads[0].start()
    assert a_proposes.wait(60)
    threads[1].start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["A", "B"]
    assert (torch.get_num_threads(), in_a_new_thread(), ax_logger.level) == before
    assert overlapped == [False]


def test_a_proposal_runs_on_one_blas_thread_too_and_the_trials_keep_the_process_s(fast_ax, monkeypatch):
    """torch's thread count was lowered for proposals, but numpy's and SciPy's OpenBLAS pools kept a thread a core: at
    25 continuous parameters one of SciPy's spun beside the proposal, 2.67 s of CPU for 1.71 s of wall time."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from ax.api.client import Client

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("no BLAS library threadpoolctl can see")
    seen: dict[str, list[set[int]]] = {"proposal": [], "trial": []}
    propose = Client.get_next_trials

    def get_next_trials(self, *args, **kwargs):
        seen["proposal"].append(blas_threads())
        return propose(self, *args, **kwargs)

    monkeypatch.setattr(Client, "get_next_trials", get_next_trials)

    def task(p):
        seen["trial"].append(blas_threads())
        return two_quadratics(p)

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):  # two a pool, whatever the machine's cores
        make_sweep(task, n_trials=2, n_initial_trials=2).run()
        assert blas_threads() == {2}
    assert seen["proposal"] == [{1}, {1}]
    assert seen["trial"] == [{2}, {2}]


_TORCH_SETTINGS = {
    # what a task sets and leaves set -> how to read it back
    "grad off": (lambda torch: torch.set_grad_enabled(False), lambda torch: torch.is_grad_enabled()),
    "default device meta": (lambda torch: torch.set_default_device("meta"), lambda torch: torch.get_default_device()),
    "float16 default": (
        lambda torch: torch.set_default_dtype(torch.float16),
        lambda torch: torch.get_default_dtype(),
    ),
    "float64 default": (
        lambda torch: torch.set_default_dtype(torch.float64),
        lambda torch: torch.get_default_dtype(),
    ),
    "anomaly mode": (
        lambda torch: torch.autograd.set_detect_anomaly(True),
        lambda torch: torch.is_anomaly_enabled(),
    ),
}


@pytest.fixture
def torch_settings_kept():
    """Put back the torch settings a test's task changes and leaves changed."""
    torch = pytest.importorskip("torch")
    dtype, grad, anomaly = torch.get_default_dtype(), torch.is_grad_enabled(), torch.is_anomaly_enabled()
    yield torch
    torch.set_default_device(None)
    torch.set_default_dtype(dtype)
    torch.set_grad_enabled(grad)
    torch.autograd.set_detect_anomaly(anomaly)


@pytest.mark.parametrize("setting", list(_TORCH_SETTINGS))
def test_proposals_ignore_the_torch_settings_a_trial_left_and_the_next_trial_still_sees_them(
    fast_ax, torch_settings_kept, monkeypatch, setting
):
    """Audit 2026-12-07: a task run in the sweep's process (basic launcher, from_function) that left a torch setting
    changed left the next proposals to run under it. Without gradients the model fit raised ("element 0 of tensors
    does not require grad"), on a meta default device Ax's input transform raised, under float16 GPyTorch's
    eigendecomposition failed: each ended the sweep at its first model proposal. Under float64 the same seed proposed
    other configurations; anomaly mode made proposals 6x slower."""
    torch = torch_settings_kept
    change, read = _TORCH_SETTINGS[setting]
    from ax.api.client import Client

    clean = [t.params for t in make_sweep(two_quadratics, n_trials=5, n_initial_trials=3).run().trials]
    seen: list[object] = []
    proposed_under: set[tuple[object, ...]] = set()
    propose = Client.get_next_trials

    def get_next_trials(self, *args, **kwargs):
        state = (torch.get_default_dtype(), torch.is_grad_enabled(), torch.is_anomaly_enabled())
        proposed_under.add((*state, torch.get_default_device().type))
        return propose(self, *args, **kwargs)

    monkeypatch.setattr(Client, "get_next_trials", get_next_trials)

    def task(p):
        if not seen:
            change(torch)
        seen.append(read(torch))
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=5, n_initial_trials=3)
    result = sweep.run()
    assert proposed_under == {(torch.float32, True, False, "cpu")}  # torch's defaults, in every proposal
    assert [t.status for t in result.trials] == ["completed"] * 5
    assert [t.params for t in result.trials] == clean  # the same proposals as a sweep whose task changed nothing
    assert len(set(map(str, seen))) == 1  # the task's own setting, in each of its trials
    assert str(read(torch)) == str(seen[0])  # and left as the task left it


def test_a_nested_sweep_s_request_stop_is_an_interrupt_of_the_outer_trial_not_the_outer_sweep_s_stop(fast_ax, tmp_path):
    """Diff review: an inner sweep's request_stop() was taken as the outer's own, and the outer trial that ran was
    recorded "not started" at 0 J."""
    from lightning_ecopt.exceptions import NOTHING_RAN

    def outer_task(p):
        inner = make_sweep(two_quadratics, n_trials=3, n_initial_trials=3)
        inner.request_stop()  # stops the inner sweep before its first proposal
        inner.run()

    outer = make_sweep(outer_task, n_trials=2, n_initial_trials=2, storage=tmp_path / "ax.json")
    with pytest.raises(loop._StopRequested):
        outer.run()
    (trial,) = outer.result.trials
    assert trial.status == "abandoned"
    assert trial.metrics != dict(NOTHING_RAN)  # it started: an interrupted trial, not one that never ran
    assert "not started" not in (trial.reason or "")


def test_a_request_stop_s_exception_says_what_stopped_the_sweep():
    """Its message was the tuple of its args: ('request_stop()', <ParetoSweep object at 0x...>)."""
    from lightning_ecopt.exceptions import SweepTerminated

    sweep = make_sweep(two_quadratics, n_trials=1, n_initial_trials=1)
    sweep.request_stop()  # stops the run before its first proposal
    with pytest.raises(SweepTerminated) as stopped:
        sweep.run()
    assert str(stopped.value) == (
        "ParetoSweep.run() stopped by request_stop(); what had finished is saved: call run() again to resume."
    )


def test_a_run_called_again_from_inside_its_own_trial_is_told_to_build_another_sweep(fast_ax):
    """Diff review: it was told to wait for its own thread's run() to return."""
    messages: list[str] = []

    def task(p):
        try:
            sweep.run()
        except EcoptConfigError as exc:
            messages.append(str(exc))
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=1, n_initial_trials=1)
    sweep.run()
    assert messages == [
        "ParetoSweep.run(): run() was called again from inside this sweep's own trial or hook; build a ParetoSweep "
        "of its own for a nested sweep."
    ]


def test_a_child_forked_while_another_thread_proposes_can_sweep(fast_ax):
    """Diff review: the module's locks were inherited locked across fork, and the child's sweep hung for good."""
    import os

    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    with loop._PROPOSAL_LOCK:  # as while another thread's sweep proposes
        pid = os.fork()
        if pid == 0:  # the child
            try:
                result = make_sweep(two_quadratics, n_trials=2, n_initial_trials=2).run()
                os._exit(0 if result.n_completed == 2 else 3)
            except BaseException:
                os._exit(4)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's sweep hung on a lock inherited locked")
    assert os.waitstatus_to_exitcode(status) == 0


def test_request_stop_from_another_thread_saves_a_sweep_that_runs_outside_the_main_thread(
    fast_ax, tmp_path, monkeypatch, caplog
):
    """There no SIGTERM handler can be installed: SIGTERM killed the sweep unsaved, and nothing said so."""
    from lightning_ecopt.exceptions import NOTHING_RAN, SweepTerminated

    monkeypatch.setattr(loop, "_SAID_OFF_MAIN", set())
    inside, release = threading.Event(), threading.Event()
    calls: list[dict] = []

    def task(p):
        calls.append(p)
        inside.set()
        release.wait(30)
        return two_quadratics(p)

    settings = {"n_trials": 4, "n_initial_trials": 4, "max_batch_size": 2}
    storage = tmp_path / "ax.json"
    stopped = make_sweep(task, storage=storage, **settings)
    raised: list[BaseException] = []

    def run():
        try:
            stopped.run()
        except BaseException as exc:
            raised.append(exc)

    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        thread = threading.Thread(target=run, name="app-worker")
        thread.start()
        assert inside.wait(60)
        stopped.request_stop()  # while the batch's first trial runs: it ends, the second never starts
        release.set()
        thread.join(60)
    assert [type(e) for e in raised] == [loop._StopRequested]
    assert isinstance(raised[0], SweepTerminated)
    assert any("cannot catch SIGTERM or Ctrl-C; call sweep.request_stop()" in r.getMessage() for r in caplog.records)
    assert any("stopped by request_stop() after 1 of 4 trials" in r.getMessage() for r in caplog.records)
    trials = stopped.result.trials
    assert [(t.trial_index, t.status) for t in trials] == [(0, "completed"), (1, "abandoned")]
    assert trials[1].metrics == dict(NOTHING_RAN)  # it never started
    assert len(calls) == 1
    release.clear()
    release.set()
    resumed = make_sweep(task, storage=storage, **settings)
    result = resumed.run()
    assert calls[1] == trials[1].params  # the configuration the stop kept from starting runs first
    assert (result.n_completed, result.n_failed) == (4, 0)


def test_a_repeated_configuration_of_a_stopped_batch_is_answered_when_its_source_finished(
    fast_ax, tmp_path, monkeypatch
):
    """Left running, it was saved as stopped and never asked again (its configuration is done): abandoned for good."""
    storage = tmp_path / "ax_experiment.json"
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=3, n_initial_trials=3, max_batch_size=3, seed=3, storage=storage
    )
    proposed: list[dict] = []
    user_params = ParetoSweep._user_params

    def repeat_the_first(self, ax_params):  # Ax proposing a configuration twice in one batch (a discrete space)
        proposed.append(user_params(self, ax_params))
        return proposed[0] if len(proposed) == 2 else proposed[-1]

    monkeypatch.setattr(ParetoSweep, "_user_params", repeat_the_first)

    def stopped_after_the_first(batch):
        sweep.finished_before_stop[sweep.evaluating[0]] = two_quadratics(batch[0])
        raise KeyboardInterrupt

    sweep = ParetoSweep(space, settings, stopped_after_the_first)
    with pytest.raises(KeyboardInterrupt):
        sweep.run()
    trials = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())["trials"]
    assert [t["status"] for t in trials] == ["completed", "completed", "abandoned"]
    assert trials[1]["reused_from"] == 0


def test_a_sweep_interrupted_in_its_sobol_phase_resumes_as_if_never_interrupted(fast_ax, tmp_path):
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=6, n_initial_trials=6, seed=0)
    uninterrupted: list[dict] = []
    ParetoSweep.from_function(space, settings, lambda p: uninterrupted.append(p) or two_quadratics(p)).run()

    stored = dataclasses.replace(settings, storage=tmp_path / "ax.json")
    seen: list[dict] = []

    def dies_at_the_third(batch):  # a batch function: its exception kills the sweep, as a killed process would
        if len(seen) == 2:
            raise _Interrupt("killed")
        seen.extend(batch)
        return [two_quadratics(p) for p in batch]

    with pytest.raises(_Interrupt):
        ParetoSweep(space, stored, dies_at_the_third).run()
    ParetoSweep.from_function(space, stored, lambda p: seen.append(p) or two_quadratics(p)).run()
    # Ax's Sobol sequence moved past the point cut short; the resumed sweep runs it, then carries on.
    assert seen == uninterrupted


def test_a_budget_below_the_trials_already_run_is_refused_and_changes_nothing(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=4, n_initial_trials=4, storage=storage).run()
    before = (storage.read_bytes(), (tmp_path / RESULTS_FILENAME).read_bytes())
    match = r"^SweepSettings\(n_trials=2\), but the sweep in .* has already finished 4 trials"
    with pytest.raises(EcoptConfigError, match=match):
        make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    assert (storage.read_bytes(), (tmp_path / RESULTS_FILENAME).read_bytes()) == before


def test_resume_keeps_reasons_energy_sources_and_the_inferred_reference_point(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    calls = []

    def fn(p):
        calls.append(p)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return two_quadratics(p)

    first = make_sweep(fn, n_trials=5, n_initial_trials=3, storage=storage, max_failure_rate=1.0).run()
    resumed = make_sweep(fn, n_trials=7, n_initial_trials=3, storage=storage, max_failure_rate=1.0).run()
    assert resumed.n_finished == 7
    assert len(calls) == 7
    assert resumed.trials[1].reason == first.trials[1].reason
    assert resumed.trials[0].energy_source == "estimated: cpu-time"
    assert resumed.trials[0].metrics == first.trials[0].metrics
    assert resumed.reference_point == first.reference_point
    assert resumed.reference_point_origin == "inferred"


def test_a_resume_keeps_the_reference_values_given_at_the_start_and_says_what_changed(fast_ax, tmp_path, caplog):
    storage = tmp_path / "ax.json"

    def with_g(p):
        return {**two_quadratics(p), "g": p["x0"]}

    first = make_sweep(
        with_g, n_trials=5, n_initial_trials=4, storage=storage, reference_point={"f1": 3.0},
        outcome_constraints=["g <= 0.9"],
    ).run()  # fmt: skip
    assert first.reference_point["f1"] == 3.0
    assert first.reference_point_given == ("f1",)
    # Rerun without them (extended): the given value was relabelled inferred, silently; the constraint dropped.
    with caplog.at_level(logging.WARNING):
        resumed = make_sweep(with_g, n_trials=6, n_initial_trials=4, storage=storage).run()
    assert resumed.reference_point["f1"] == 3.0
    assert resumed.reference_point_given == ("f1",)
    assert "was started with the reference values {'f1': 3.0} given" in caplog.text
    assert "the outcome constraints changed since" in caplog.text
    assert "['g <= 0.9'] -> []" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        moved = make_sweep(with_g, n_trials=7, n_initial_trials=4, storage=storage, reference_point={"f1": 2.0}).run()
    assert moved.reference_point["f1"] == 2.0
    assert "the reference point changed since" in caplog.text
    assert "f1 3.0 -> 2.0" in caplog.text


def test_a_reference_point_inferred_from_a_one_point_front_follows_the_trials_not_their_offset():
    """One Sobol trial dominating the rest: the box was a tenth of its values (moved by units and offsets)."""
    from lightning_ecopt.frontier import infer_reference_point
    from lightning_ecopt.sweeper.loop import _inferred_reference

    Y = np.array([[0.95, 0.42], [6.4, 0.88], [9.57, 0.79]])  # minimised; trial 0 dominates
    ref = _inferred_reference(Y, [False, False], "front")
    np.testing.assert_allclose(ref, [9.57 + 0.1 * 8.62, 0.88 + 0.1 * 0.46])  # every trial inside the box
    for shift in (100.0, -0.4, 1e4):
        np.testing.assert_allclose(_inferred_reference(Y + shift, [False, False], "front"), ref + shift)
    np.testing.assert_allclose(_inferred_reference(Y * 1000, [False, False], "front"), ref * 1000)
    # An objective every trial ties on (one model's accuracy over inference settings) keeps BoTorch's tenth of its
    # value: the trials' range, 0, made a box a hair's breadth wide, and a later trade-off fell outside it.
    tied = np.array([[0.9, 10.0], [0.9, 12.0], [0.9, 15.0]])  # maximised accuracy, minimised joules
    np.testing.assert_allclose(_inferred_reference(tied, [True, False], "front"), [0.81, 15.5])
    # Three objectives: a front of several points that ties on one (one model's accuracy over batch sizes, or an
    # accuracy saturated at 1.0) got a box 1e-8 from that value (review: hypervolume 0.002 for 21,155).
    three = np.array([[0.9633, 1000.0, 1.2], [0.9633, 1500.0, 9.0], [0.9633, 2000.0, 40.0], [0.9633, 50.0, 45.0]])
    maximize3 = [True, True, False]
    ref3 = _inferred_reference(three, maximize3, "front")
    np.testing.assert_allclose(ref3[0], 0.9633 * 0.9)
    np.testing.assert_allclose(ref3[1:], infer_reference_point(three, maximize3, margin=0.1)[1:])  # the others: BoTorch
    saturated = np.array([[1.0, 5.0, 1.0], [1.0, 9.0, 2.0], [0.97, 1.0, 3.0]])  # front ties at 1.0; a trial off it
    np.testing.assert_allclose(_inferred_reference(saturated, maximize3, "front")[0], 0.97 - 0.1 * 0.03)
    # A front of two points or more keeps BoTorch's rule.
    two = np.array([[0.95, 0.9], [6.4, 0.4], [9.57, 0.79]])
    np.testing.assert_allclose(
        _inferred_reference(two, [False, False], "front"), infer_reference_point(two, [False, False], margin=0.1)
    )


@pytest.mark.parametrize("scale", [1e-9, 1e-12])
def test_an_inferred_reference_point_follows_objectives_measured_in_tiny_units(scale):
    """Energy in kWh per sample (1e-9 to 1e-8), an accuracy given as a fraction of a fraction: the 1e-7 floors on a
    range (BoTorch's MIN_Y_RANGE) and on a tie are absolute, so every such front was "tied" and took a tenth of
    1e-7 as its margin: accuracies near 1e-9 got the reference 0.0 and energies a box 3-10x wider than the trials'
    (1.28e-8 for a front of 1.4e-9 to 2.7e-9), where the same trials in J had a box of their own front's."""
    from lightning_ecopt.sweeper.loop import _inferred_reference

    maximize = [True, False]
    front = np.array([[0.97, 2.1], [0.93, 1.4], [0.99, 2.7], [0.8, 3.0]])  # accuracy, J per sample
    tied = np.array([[0.9, 10.0], [0.9, 12.0], [0.9, 15.0]])  # one accuracy over inference settings
    one = np.array([[0.99, 1.4], [0.9, 2.0], [0.8, 3.0]])  # one trial dominates
    for Y in (front, tied, one):
        np.testing.assert_allclose(
            _inferred_reference(Y * scale, maximize, "front"), _inferred_reference(Y, maximize, "front") * scale
        )
    # A front in ordinary units keeps its point: the floors apply as before from a magnitude of 1 up.
    np.testing.assert_allclose(_inferred_reference(front, maximize, "front"), [0.93 - 0.1 * 0.06, 2.7 + 0.1 * 1.3])


def test_a_resume_that_gives_a_value_the_sweep_had_inferred_says_so(fast_ax, tmp_path, caplog):
    """Only given -> given changes were said: an inferred point replaced on a rerun moved the hypervolume silently."""
    storage = tmp_path / "ax.json"
    first = make_sweep(two_quadratics, n_trials=5, n_initial_trials=4, storage=storage).run()
    inferred = first.reference_point
    assert first.reference_point_given == ()
    with caplog.at_level(logging.WARNING):
        moved = make_sweep(
            two_quadratics, n_trials=6, n_initial_trials=4, storage=storage, reference_point={"f1": 0.5}
        ).run()
    assert moved.reference_point["f1"] == 0.5
    assert "the reference point changed since" in caplog.text
    assert f"f1 {float(inferred['f1'])} (inferred) -> 0.5" in caplog.text
    assert "f2" not in caplog.text.split("the reference point changed since")[1].split("\n")[0]  # still inferred
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        make_sweep(two_quadratics, n_trials=7, n_initial_trials=4, storage=storage, reference_point={"f1": 0.5}).run()
    assert "the reference point changed since" not in caplog.text  # the same value again: nothing changed


@pytest.mark.parametrize(
    ("params", "objectives", "what"),
    [
        ({"x0": "interval(0, 2)", "x1": "interval(0, 1)"}, MIN_MIN, "search space"),
        (TWO_D, {"f1": "minimize", "f2": "maximize"}, "objectives"),
    ],
)
def test_resume_refuses_another_sweep(fast_ax, tmp_path, params, objectives, what):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    other = make_sweep(two_quadratics, params=params, objectives=objectives, n_trials=4, storage=storage)
    with pytest.raises(
        EcoptConfigError,
        match=rf"other {what}.*move .*ax.json out of its folder.*checkpoints/.*another storage \(SweepSettings\(",
    ):
        other.run()


def test_seed_makes_sweeps_reproducible(fast_ax):
    runs = [make_sweep(two_quadratics, n_trials=5, n_initial_trials=3, seed=7).run() for _ in range(2)]
    assert [t.params for t in runs[0].trials] == [t.params for t in runs[1].trials]


def test_tracking_metrics_are_recorded_but_not_modelled(fast_ax, tmp_path):
    def with_extras(p):
        return {**two_quadratics(p), "energy/test_j": 3.0 + p["x0"], "test/loss": 0.5}

    storage = tmp_path / "ax.json"
    result = make_sweep(with_extras, n_trials=4, n_initial_trials=2, storage=storage).run()
    assert result.trials[0].metrics["energy/test_j"] == pytest.approx(3.0 + result.trials[0].params["x0"])
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["trials"][0]["metrics"]["test/loss"] == 0.5
    from ax.api.client import Client

    strategy = Client.load_from_json_file(str(storage))._generation_strategy
    kwargs = strategy.nodes_by_name["MBM"].generator_specs[0].generator_kwargs
    assert kwargs["fit_tracking_metrics"] is False


def test_a_failed_trial_keeps_the_energy_it_spent(fast_ax, tmp_path):
    """An out-of-memory error is a failure like any other; its energy still counts when the task knows it."""
    import pickle

    from lightning_ecopt.exceptions import TrialFailure

    calls = []

    def oom_once(p):
        calls.append(p)
        if len(calls) == 2:
            err = TrialFailure(
                "OutOfMemoryError: CUDA out of memory",
                metrics={"energy/train_j": 812.5, "energy/source": "estimated: cpu-time"},
            )
            raise pickle.loads(pickle.dumps(err))  # as it arrives from a joblib or submitit worker
        if len(calls) == 3:
            return {"f1": 1.0, "energy/test_j": 3.0, "energy/source": "estimated: cpu-time"}  # f2 missing
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    result = make_sweep(oom_once, n_trials=4, n_initial_trials=4, max_failure_rate=1.0, storage=storage).run()
    failed = {t.trial_index: t for t in result.failures()}
    assert failed[1].metrics == {"energy/train_j": 812.5}
    assert failed[1].energy_source == "estimated: cpu-time"
    assert "CUDA out of memory" in failed[1].reason
    assert failed[2].metrics == {"f1": 1.0, "energy/test_j": 3.0}
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["trials"][1]["metrics"] == {"energy/train_j": 812.5}
    assert data["trials"][1]["values"] is None  # nothing of it reaches the frontier
    # and it survives a resume
    resumed = make_sweep(two_quadratics, n_trials=4, n_initial_trials=4, max_failure_rate=1.0, storage=storage).run()
    assert {t.trial_index: t.metrics for t in resumed.failures()}[1] == {"energy/train_j": 812.5}


def test_a_failed_trial_keeps_figures_given_as_numpy_and_torch_scalars(fast_ax):
    """A failed trial's figures are read as a completed trial's: numpy and torch scalars are numbers, not dropped."""
    import numpy as np
    import torch

    from lightning_ecopt.exceptions import TrialFailure

    calls = []

    def fails_second(p):
        calls.append(p)
        if len(calls) == 2:
            metrics = {"energy/train_j": np.float32(812.5), "energy/test_j": torch.tensor(3.0), "f1": (1.0, 0.1)}
            raise TrialFailure("diverged", metrics=metrics)
        if len(calls) == 3:  # a result that fails to parse: f2 missing
            return {"f1": torch.tensor(1.0), "energy/test_j": np.float32(2.0), "energy/source": "estimated: cpu-time"}
        return two_quadratics(p)

    result = make_sweep(fails_second, n_trials=4, n_initial_trials=4, max_failure_rate=1.0).run()
    failed = {t.trial_index: t.metrics for t in result.failures()}
    assert failed[1] == {"energy/train_j": 812.5, "energy/test_j": 3.0, "f1": 1.0}
    assert failed[2] == {"f1": 1.0, "energy/test_j": 2.0}


def test_reference_point_is_inferred_before_botorch_even_when_an_initial_trial_failed(fast_ax, caplog):
    calls = []

    def first_fails(p):
        calls.append(p)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return two_quadratics(p)

    sweep = make_sweep(first_fails, n_trials=6, n_initial_trials=4, max_failure_rate=1.0)
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = sweep.run()
    messages = [r.getMessage() for r in caplog.records]
    inferred_at = next(i for i, m in enumerate(messages) if "reference point inferred" in m)
    fourth_done = next(i for i, m in enumerate(messages) if "4/6 trials" in m)
    fifth_done = next(i for i, m in enumerate(messages) if "5/6 trials" in m)
    # Ax counts completed trials toward its Sobol phase: with one failed, the fifth trial is a Sobol one too, and the
    # point is inferred from all 4 completed Sobol trials (in the fifth's batch, before its result is saved and
    # shown), before the first BoTorch trial (the sixth) ran.
    assert fourth_done < inferred_at < fifth_done
    assert "from the front of 4 completed trials" in messages[inferred_at]
    assert result.reference_point_origin == "inferred"


def _growing_front():
    """Each call returns the next point of a front that grows in ``f1``: (k, 10 - k), every point Pareto-optimal."""
    calls = []

    def fn(p):
        k = len(calls)
        calls.append(p)
        return {"f1": float(k), "f2": 10.0 - k}

    return fn


def test_a_widening_reference_point_moves_only_outwards_and_reaches_ax(fast_ax, monkeypatch, caplog):
    from ax.adapter.base import Adapter

    monkeypatch.setattr(loop, "_REFERENCE_UPDATE", "widen")
    # The thresholds each model proposal is generated with: Ax keeps a fitted adapter between proposals, with the
    # optimisation config it was built with, unless the sweep drops it when the reference point moves.
    used = []
    gen = Adapter.gen

    @functools.wraps(gen)  # Ax passes gen only the keywords its signature names
    def spy(self, *args, **kwargs):
        config = kwargs.get("optimization_config") or self._optimization_config
        if config is not None and config.objective_thresholds:
            used.append(tuple(sorted(round(t.bound, 6) for t in config.objective_thresholds)))
        return gen(self, *args, **kwargs)

    monkeypatch.setattr(Adapter, "gen", spy)
    seen = []
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=8, n_initial_trials=3, seed=0)
    sweep = ParetoSweep(
        space, settings, evaluate_each(_growing_front()), on_batch_end=[lambda r: seen.append(r.reference_point)]
    )
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = sweep.run()
    points = [(p["f1"], p["f2"]) for p in seen if p is not None]
    # Inferred after the 3 Sobol trials from (0, 10), (1, 9), (2, 8): the nadir (2, 10) pushed out by 0.1 x (2, 2).
    assert points[0] == pytest.approx((2.2, 10.2))
    assert all(b[0] >= a[0] and b[1] >= a[1] for a, b in itertools.pairwise(points))  # never tighter
    # The last trial (7, 3) widened it once more at the end: the whole front counts.
    assert (result.reference_point["f1"], result.reference_point["f2"]) == pytest.approx((7.7, 10.7))
    assert result.reference_point_origin == "inferred"
    assert sum("reference point widened" in r.getMessage() for r in caplog.records) == 5
    front = np.array([[t.metrics["f1"], t.metrics["f2"]] for t in result.trials])
    assert result.hypervolume == pytest.approx(hypervolume(front, [7.7, 10.7], [False, False]))
    # Trial k >= 3 was proposed with the point inferred from trials 0 .. k-1.
    assert used == [tuple(sorted(round(v, 6) for v in (k + 0.1 * k, 10 + 0.1 * k))) for k in range(2, 7)]


def test_a_given_reference_point_never_widens(fast_ax, monkeypatch):
    monkeypatch.setattr(loop, "_REFERENCE_UPDATE", "widen")
    sweep = make_sweep(_growing_front(), n_trials=6, n_initial_trials=3, reference_point={"f1": 4.0, "f2": 12.0})
    result = sweep.run()
    assert result.reference_point == {"f1": 4.0, "f2": 12.0}
    assert result.reference_point_origin == "given"


@pytest.mark.parametrize(("source", "tagged"), [("measured: zeus/rapl", True), ("estimated: cpu-time", False)])
def test_measured_trials_run_side_by_side_are_tagged(fast_ax, source, tagged):
    def fn(p):
        return {**two_quadratics(p), "energy/source": source}

    result = make_sweep(fn, n_trials=4, n_initial_trials=4, max_batch_size=2, parallel_trials=True).run()
    assert [t.shared_counters for t in result.trials] == [tagged] * 4
    alone = make_sweep(fn, n_trials=2, n_initial_trials=2, max_batch_size=1, parallel_trials=True).run()
    assert not any(t.shared_counters for t in alone.trials)  # a batch of one shares nothing


@pytest.mark.parametrize(("parallel", "batch", "tagged"), [(True, 2, True), (False, 2, False), (True, 1, False)])
def test_measured_trials_a_stopped_batch_had_finished_are_tagged_only_where_they_ran_side_by_side(
    fast_ax, tmp_path, parallel, batch, tagged
):
    """A launcher whose jobs had all ended when Ctrl-C came: the trials are kept, and tagged as sharing their counters
    as a batch that returned is (side by side, more than one), not one run after another or alone."""

    def evaluate(params):
        for i, p in zip(sweep.evaluating, params, strict=True):
            sweep.finished_before_stop[i] = {**two_quadratics(p), "energy/source": "measured: zeus/rapl"}
        raise KeyboardInterrupt

    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=2, n_initial_trials=2, max_batch_size=batch, seed=0,
        parallel_trials=parallel, storage=tmp_path / "ax.json",
    )  # fmt: skip
    sweep = ParetoSweep(parse_search_space(TWO_D, []), settings, evaluate)
    with pytest.raises(KeyboardInterrupt):
        sweep.run()
    kept = [t for t in sweep.result.trials if t.status == "completed"]
    assert [t.shared_counters for t in kept] == [tagged] * batch


def test_botorch_optimises_the_acquisition_with_our_budget_also_after_resume(fast_ax, tmp_path, monkeypatch):
    """qNEHVI on 64 QMC samples, optimised with 10 restarts from 512 raw samples (Ax: 128, 20 and 1,024); the saved
    strategy keeps them for a resumed sweep."""
    import ax.generators.torch.botorch_modular.acquisition as acquisition

    calls = []
    real = acquisition.optimize_acqf

    def spy(*args, **kwargs):
        calls.append({k: kwargs.get(k) for k in ("num_restarts", "raw_samples")})
        calls[-1]["mc_samples"] = kwargs["acq_function"].sampler.sample_shape.numel()
        calls[-1]["around_best"] = kwargs["options"].get("sample_around_best", False)
        return real(*args, **kwargs)

    monkeypatch.setattr(acquisition, "optimize_acqf", spy)
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=4, n_initial_trials=3, storage=storage).run()
    make_sweep(two_quadratics, n_trials=5, n_initial_trials=3, storage=storage).run()
    assert calls == [{"num_restarts": 10, "raw_samples": 512, "mc_samples": 64, "around_best": False}] * 2


def test_the_sample_around_best_lever_draws_raw_samples_around_the_front_found_so_far(fast_ax, monkeypatch):
    """``_SAMPLE_AROUND_BEST`` (off by default, a benchmark lever) makes BoTorch add as many raw samples as the uniform
    ones, each a small perturbation of a trial on the model's front: none lies near a dominated trial or far from
    every trial."""
    import botorch.optim.initializers as initializers
    import torch

    monkeypatch.setattr(loop, "_SAMPLE_AROUND_BEST", 1e-3)
    drawn = []
    real = initializers.sample_points_around_best

    def spy(*args, **kwargs):
        points = real(*args, **kwargs)
        drawn.append((kwargs["n_discrete_points"], points))
        return points

    monkeypatch.setattr(initializers, "sample_points_around_best", spy)
    result = make_sweep(
        branin_currin, objectives={"branin": "minimize", "currin": "minimize"}, n_trials=10, n_initial_trials=8
    ).run()
    assert len(drawn) == 2  # one per BoTorch trial
    for n, points in drawn:
        assert points is not None
        assert points.shape == (n, 2)
    trials = sorted(result.trials, key=lambda t: t.trial_index)
    X = torch.tensor([[t.params["x0"], t.params["x1"]] for t in trials[:8]], dtype=torch.double)
    Y = torch.tensor([[t.metrics["branin"], t.metrics["currin"]] for t in trials[:8]], dtype=torch.double)
    nearest = torch.cdist(drawn[0][1], X).min(dim=-1)
    assert nearest.values.max() < 0.01  # sigma is 1e-3 of the unit box
    dominated = [i for i in range(8) if any(bool((Y[j] <= Y[i]).all() and (Y[j] < Y[i]).any()) for j in range(8))]
    assert dominated
    assert not set(nearest.indices.tolist()) & set(dominated)


def test_a_single_objective_sweep_gets_botorch_trials_with_our_optimiser_budget(fast_ax, monkeypatch):
    """One objective: Ax's qLogNEI, whose input constructor refuses mc_samples; the optimiser budget still applies."""
    import ax.generators.torch.botorch_modular.acquisition as acquisition

    calls = []
    real = acquisition.optimize_acqf

    def spy(*args, **kwargs):
        calls.append((type(kwargs["acq_function"]).__name__, kwargs.get("num_restarts"), kwargs.get("raw_samples")))
        return real(*args, **kwargs)

    monkeypatch.setattr(acquisition, "optimize_acqf", spy)
    sweep = make_sweep(
        lambda p: {"y": (p["x0"] - 0.3) ** 2}, objectives={"y": "minimize"}, n_trials=5, n_initial_trials=3
    )
    result = sweep.run()
    assert [t.status for t in result.trials] == ["completed"] * 5
    assert calls == [("qLogNoisyExpectedImprovement", 10, 512)] * 2


def test_a_single_objective_sweep_infers_no_reference_point_and_says_its_best_value(fast_ax, tmp_path, caplog):
    """Logged "reference point inferred ... hypervolume ...", which means nothing for one objective (and a given
    reference_point is refused there)."""
    storage = tmp_path / "ax.json"

    def sweep(n_trials):
        one = {"y": "minimize"}
        return make_sweep(
            lambda p: {"y": (p["x0"] - 0.3) ** 2},
            objectives=one,
            n_trials=n_trials,
            n_initial_trials=2,
            storage=storage,
        )

    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = sweep(3).run()
    assert "reference point" not in caplog.text
    assert "hypervolume" not in caplog.text
    assert (result.reference_point, result.hypervolume) == (None, None)
    best = min(t.metrics["y"] for t in result.trials)
    assert result.summary().endswith(f"), best y {best:.6g}")
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["hypervolume"] is None
    assert data["reference_point"]["values"] is None
    assert data["best_value"] == best
    assert data["settings"]["acquisition"] is None  # Ax's single-objective default proposed: it said qNEHVI
    resumed = sweep(4).run()
    assert (resumed.reference_point, resumed.hypervolume, resumed.n_finished) == (None, None, 4)
    import io

    from rich.console import Console

    from lightning_ecopt.report import build_report, render

    console = Console(file=io.StringIO(), width=200)
    render(build_report(tmp_path), console)
    text = console.file.getvalue()
    assert "Pareto frontier: 1 configuration" in text
    assert "hypervolume" not in text  # "n/a" in the title: one objective has a best value, not a hypervolume


# -- the GP fit's iteration cap ------------------------------------------------------------------------------------

WITH_AN_OPERATION = {"op": "choice(conv, pool, skip, zero)", "x0": "interval(0, 1)"}
"""An unordered choice (one-hot encoded by Ax: 4 GP inputs) beside a float."""


def with_an_operation(p):
    weight = {"conv": 0.0, "pool": 0.5, "skip": 1.0, "zero": 2.0}[p["op"]]
    return {"f1": (p["x0"] - 0.2) ** 2 + weight, "f2": (p["x0"] - 0.8) ** 2 + 2.0 - weight}


@pytest.mark.parametrize(("params", "maxiter"), [(TWO_D, None), (WITH_AN_OPERATION, loop._ONE_HOT_EHVI_MAXITER)])
def test_an_ehvi_sweep_proposes_with_analytic_ehvi_also_after_resume(fast_ax, tmp_path, monkeypatch, params, maxiter):
    """``acquisition="EHVI"``: BoTorch trials come from ObjectiveEHVI, with our optimiser budget (L-BFGS-B capped at
    ``_ONE_HOT_EHVI_MAXITER`` in a relaxed one-hot space) and no MC option (its input constructor refuses them); the
    saved strategy loads (Ax's JSON registry knows the class) and keeps it."""
    import ax.generators.torch.botorch_modular.acquisition as acquisition

    from lightning_ecopt.sweeper.analytic import ObjectiveEHVI

    calls = []
    real = acquisition.optimize_acqf

    def spy(*args, **kwargs):
        maxiter = (kwargs.get("options") or {}).get("maxiter")
        calls.append((type(kwargs["acq_function"]), kwargs["num_restarts"], kwargs["raw_samples"], maxiter))
        return real(*args, **kwargs)

    def min_max(p):  # one objective minimised, one maximised: EHVI must see both signed to be maximised
        x = p["x0"] + {"conv": 0.0, "pool": 0.5, "skip": 1.0, "zero": 2.0}.get(p.get("op", "conv"))
        return {"f1": x**2, "g": -((x - 1) ** 2)}

    monkeypatch.setattr(acquisition, "optimize_acqf", spy)
    storage = tmp_path / "ax.json"
    objectives = {"f1": "minimize", "g": "maximize"}
    settings = {"n_initial_trials": 3, "storage": storage, "acquisition": "EHVI", "objectives": objectives}
    first = make_sweep(min_max, params=params, n_trials=4, **settings).run()
    resumed = make_sweep(min_max, params=params, n_trials=5, **settings).run()
    assert [t.status for t in resumed.trials] == ["completed"] * 5
    assert [t.trial_index for t in first.trials] == [0, 1, 2, 3]
    assert calls == [(ObjectiveEHVI, 10, 512, maxiter)] * 2
    saved = _find_key(json.loads(storage.read_text()), "default_model_gen_options")
    assert saved
    assert all(options["acquisition_function_kwargs"] == {"front": "observed"} for options in saved)


def fit_options(lbfgs_runs):
    """The options each GP fit's L-BFGS-B got so far (``None``: scipy's defaults)."""
    return [run["options"] for run in lbfgs_runs]


def test_a_space_with_an_unordered_choice_fits_its_gp_capped_also_after_resume(
    fast_ax, tmp_path, lbfgs_runs, monkeypatch
):
    """The cap is saved with the strategy: a resumed sweep keeps it even where new sweeps would not cap."""
    storage = tmp_path / "ax.json"
    make_sweep(with_an_operation, params=WITH_AN_OPERATION, n_trials=4, n_initial_trials=3, storage=storage).run()
    assert fit_options(lbfgs_runs)
    assert all(options == {"maxiter": 20} for options in fit_options(lbfgs_runs))
    saved = json.dumps(json.loads(storage.read_text()))
    assert "CappedFitSingleTaskGP" in saved
    assert '"fit_maxiter": 20' in saved
    lbfgs_runs.clear()
    monkeypatch.setattr(loop, "_FIT_MAXITER", None)  # a new sweep would fit Ax's way; the saved one keeps its cap
    result = make_sweep(
        with_an_operation, params=WITH_AN_OPERATION, n_trials=6, n_initial_trials=3, storage=storage
    ).run()
    assert result.n_finished == 6
    assert fit_options(lbfgs_runs)
    assert all(options == {"maxiter": 20} for options in fit_options(lbfgs_runs))


@pytest.mark.parametrize(
    ("params", "capped"),
    [
        (WITH_AN_OPERATION, True),
        ({"op": "choice(conv, pool, skip, zero)", "cell": "choice(a, b, c)"}, True),
        (TWO_D, False),
        ({"depth": "tag(ordered, choice(1, 2, 4))", "x0": "interval(0, 1)"}, False),
    ],
)
def test_the_gp_fit_is_capped_only_in_spaces_with_an_unordered_choice(fast_ax, lbfgs_runs, params, capped):
    def objectives(p):
        x = (
            p.get("x0", 0.5)
            + p.get("depth", 0) / 4
            + {"conv": 0.0, "pool": 0.3, "skip": 0.6, "zero": 0.9}.get(p.get("op", "conv"), 0.0)
        )
        return {"f1": x**2, "f2": (x - 1) ** 2}

    result = make_sweep(objectives, params=params, n_trials=4, n_initial_trials=3).run()
    assert result.n_finished == 4
    assert fit_options(lbfgs_runs)  # the BoTorch trial fitted a GP
    expected = {"maxiter": loop._FIT_MAXITER} if capped else None
    assert all(options == expected for options in fit_options(lbfgs_runs))


def test_each_fit_of_a_one_hot_sweep_starts_where_its_previous_fit_ended(fast_ax, monkeypatch):
    from lightning_ecopt.sweeper import capped_fit

    loads: list[tuple[int, bool]] = []
    real_load = capped_fit.WarmStarts.load

    def load(self, model):
        loaded = real_load(self, model)
        loads.append((model.train_inputs[0].shape[-2], loaded))
        return loaded

    monkeypatch.setattr(capped_fit.WarmStarts, "load", load)
    make_sweep(with_an_operation, params=WITH_AN_OPERATION, n_trials=6, n_initial_trials=3).run()
    # The first model (3 trials) starts cold; every later one from the fit before it.
    assert loads == [(3, False), (4, True), (5, True)]
    loads.clear()
    monkeypatch.setattr(loop, "_FIT_WARM_START", False)
    make_sweep(with_an_operation, params=WITH_AN_OPERATION, n_trials=5, n_initial_trials=3, seed=1).run()
    assert loads == []
    assert len(capped_fit.WARM_STARTS) == 0  # each sweep kept its fits to itself


def test_a_seeded_one_hot_sweep_proposes_the_same_trials_after_another_sweep_in_the_process():
    # Warm starts are found by the training inputs: a second sweep with the same first trials used to start its last
    # fit from the first sweep's later, converged one, and propose another trial. Real fits (no fast_ax): Ax's mocked
    # fit takes too few steps for the starting point to matter.
    params = {"x": "interval(0, 1)", "op": "choice(a, b, c)"}

    def two_objectives(p):
        o = {"a": 0.0, "b": 0.3, "c": 0.7}[p["op"]]
        return {"f1": (p["x"] - o) ** 2 + 0.1 * o, "f2": (p["x"] - 1 + o) ** 2 + math.sin(5 * p["x"])}

    def trials():
        result = make_sweep(two_objectives, params=params, n_trials=9, n_initial_trials=5, seed=3).run()
        return [t.params for t in result.trials]

    assert trials() == trials()


def _any_space_objectives(p):
    x = sum(float(v) if isinstance(v, (int, float)) else len(str(v)) for v in p.values())
    return {"f1": x, "f2": 1 / (1 + x)}


DEMO_LIKE = {
    "width": "tag(log, int(interval(1, 128)))",
    "depth": "int(interval(1, 6))",
    "kernel": "tag(ordered, choice(1, 3, 5, 7, 9))",
    "pooling": "choice(true, false)",
    "lr": "tag(log, interval(1e-4, 1e-2))",
}
"""conf/train.yaml's search space: integers and an ordered choice beside an unordered one (Ax's mixed optimiser)."""


@pytest.mark.parametrize(
    "params",
    [
        DEMO_LIKE,
        {"pooling": "choice(true, false)", "op": "choice(conv, pool, skip)"},
        {"op": "choice(conv, pool, skip)", "depth": "tag(ordered, choice(1, 2, 4))"},
        {"op": "choice(conv, pool, skip)", "n": "int(interval(1, 9))"},
    ],
)
def test_a_model_trial_runs_in_every_kind_of_space_with_an_unordered_choice(fast_ax, params):
    """Each space reaches its own BoTorch optimiser (relaxed, mixed or discrete) with options it accepts."""
    result = make_sweep(_any_space_objectives, params=params, n_trials=5, n_initial_trials=3).run()
    assert result.n_failed == 0
    assert result.n_finished == 5


def _prunings(monkeypatch):
    """Count the calls of BoTorch's pruning of q(Log)NEHVI's baseline."""
    import botorch.utils.multi_objective.hypervolume as hypervolume

    calls = []
    real = hypervolume.prune_inferior_points_multi_objective

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hypervolume, "prune_inferior_points_multi_objective", counted)
    return calls


@pytest.mark.parametrize(
    ("params", "one_hot"),
    [(WITH_AN_OPERATION, True), (TWO_D, False), (DEMO_LIKE, False)],  # the demo's: one-hot, but Ax's mixed optimiser
)
def test_one_hot_spaces_cap_the_acquisition_optimiser_and_keep_the_whole_baseline(
    fast_ax, tmp_path, monkeypatch, params, one_hot
):
    prunings = _prunings(monkeypatch)
    storage = tmp_path / "ax.json"
    make_sweep(_any_space_objectives, params=params, n_trials=5, n_initial_trials=3, storage=storage).run()
    saved = json.loads(storage.read_text())
    saved_options = _find_key(saved, "default_model_gen_options")  # in the strategy and in each generator run
    assert saved_options
    options = saved_options[0]
    assert all(other == options for other in saved_options)
    optimizer_options = options["optimizer_kwargs"].get("options")
    acqf_kwargs = options["acquisition_function_kwargs"]
    if one_hot:
        assert optimizer_options == {"maxiter": loop._ONE_HOT_ACQF_MAXITER}
        assert acqf_kwargs.get("prune_baseline") is False
        assert not prunings
    else:
        assert optimizer_options is None  # BoTorch's own limit
        assert "prune_baseline" not in acqf_kwargs
        assert len(prunings) == 2  # one per BoTorch trial


def _find_key(tree, key):
    """Every value under ``key`` anywhere in a JSON tree."""
    if isinstance(tree, dict):
        found = [tree[key]] if key in tree else []
        return found + [v for value in tree.values() for v in _find_key(value, key)]
    if isinstance(tree, list):
        return [v for value in tree for v in _find_key(value, key)]
    return []


def test_the_fit_cap_can_be_switched_off(fast_ax, lbfgs_runs, monkeypatch):
    monkeypatch.setattr(loop, "_FIT_MAXITER", None)
    make_sweep(with_an_operation, params=WITH_AN_OPERATION, n_trials=4, n_initial_trials=3).run()
    assert fit_options(lbfgs_runs)
    assert all(options is None for options in fit_options(lbfgs_runs))


def test_from_function_takes_the_batch_hooks_too(fast_ax, tmp_path):
    seen: list[int] = []
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=3, n_initial_trials=3, seed=0, storage=tmp_path / "ax.json"
    )
    sweep = ParetoSweep.from_function(
        parse_search_space(TWO_D, []), settings, two_quadratics, on_batch_end=[lambda r: seen.append(r.n_finished)]
    )
    sweep.run()
    assert seen == [1, 2, 3]  # after every batch, once
    assert not (tmp_path / "tensorboard").exists()  # the given hooks replace the default TensorBoard views


# -- what ends a trial, what ends the sweep, and what a resumed sweep keeps --------------------------------------------


def test_a_task_that_calls_sys_exit_fails_its_trial_and_the_sweep_goes_on(fast_ax, tmp_path, caplog):
    calls = []

    def exits_once(p):
        calls.append(p)
        if len(calls) == 2:
            sys.exit(3)  # not a Ctrl-C: no KeyboardInterrupt behind it
        return two_quadratics(p)

    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        result = make_sweep(exits_once, n_trials=4, n_initial_trials=4, storage=tmp_path / "ax.json").run()
    assert (result.n_completed, result.n_failed) == (3, 1)
    (failed,) = [t for t in result.trials if t.status == "failed"]
    assert "the task called sys.exit(3)" in failed.reason
    assert "raise an exception to fail a trial" in failed.reason
    assert "interrupted" not in caplog.text


def _dies_on(victim: dict, died: list):
    """A batch function whose process 'dies' (an exception out of evaluate, nothing saved) on ``victim``."""

    def evaluate(batch):
        if victim in batch:
            died.append(dict(victim))
            raise _Interrupt("killed")
        return [two_quadratics(p) for p in batch]

    return evaluate


def test_a_configuration_the_process_died_on_twice_is_failed_not_run_first_again(fast_ax, tmp_path, caplog):
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=5, n_initial_trials=5, seed=0, storage=tmp_path / "ax.json"
    )
    first = _evaluated_unsaved(space, settings)
    victim = first[1]  # the second Sobol point kills the process every time it runs
    died: list[dict] = []
    for _ in range(2):
        with pytest.raises(_Interrupt):
            ParetoSweep(space, settings, _dies_on(victim, died)).run()
    assert died == [victim, victim]
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = ParetoSweep(space, settings, _dies_on(victim, died)).run()
    # One configuration, in the singular (it said "1 failed: the process died on them twice").
    assert "1 interrupted trial abandoned [2] (0 to run again first, 1 failed: the process died on it twice)" in (
        caplog.text
    )
    assert len(died) == 2  # not run a third time
    assert result.n_finished == 5
    failed = [t for t in result.trials if t.status == "failed"]
    assert [t.params for t in failed] == [victim]
    assert "as it did in trial 1" in failed[0].reason
    assert "recorded as failed instead of run first again" in caplog.text


def test_a_configuration_the_launcher_says_was_not_running_when_the_process_died_is_not_failed(fast_ax, tmp_path):
    """Two deaths on one configuration whose job, its launcher says, never started its task (or had ended): no crash
    of its, so it runs again (the Hydra sweeper under joblib answers from its jobs' records); unknown is a crash."""
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=5, n_initial_trials=5, seed=0, storage=tmp_path / "ax.json"
    )
    victim = _evaluated_unsaved(space, settings)[1]
    died: list[dict] = []
    asked: list[int] = []

    def not_running(index: int) -> bool:
        asked.append(index)
        return False

    for _ in range(2):
        sweep = ParetoSweep(space, settings, _dies_on(victim, died))
        sweep.ran_when_the_process_died = not_running
        with pytest.raises(_Interrupt):
            sweep.run()
    ran: list[dict] = []

    def healthy(batch):  # the deaths were not the configuration's: it completes
        ran.extend(batch)
        return [two_quadratics(p) for p in batch]

    sweep = ParetoSweep(space, settings, healthy)
    sweep.ran_when_the_process_died = not_running
    result = sweep.run()
    assert died == [victim, victim]
    assert victim in ran  # run a third time (before: failed, "as it did in trial 1", never run again)
    assert asked  # the resumes asked about the trials left running
    assert result.n_finished == 5
    assert [t.status for t in result.trials if t.finished] == ["completed"] * 5


def test_a_trial_left_running_by_a_version_that_recorded_no_clean_stops_is_not_taken_for_a_crash(fast_ax, tmp_path):
    """Review: a Ctrl-C under a version before 2026-12-03 counted as a crash; one real crash then failed it for good."""
    space = parse_search_space(TWO_D, [])
    storage = tmp_path / "ax.json"
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=5, n_initial_trials=5, seed=0, storage=storage)
    victim = _evaluated_unsaved(space, settings)[1]
    died: list[dict] = []
    with pytest.raises(_Interrupt):  # stands for the old version's Ctrl-C: the trial left running, no stop recorded
        ParetoSweep(space, settings, _dies_on(victim, died)).run()
    saved = json.loads(storage.read_text())
    description = json.loads(saved["experiment"]["description"])
    del description["lightning_ecopt"]["strategy"]  # as the old version saved it
    saved["experiment"]["description"] = json.dumps(description)
    storage.write_text(json.dumps(saved))
    with pytest.raises(_Interrupt):  # a real crash, now
        ParetoSweep(space, settings, _dies_on(victim, died)).run()
    with pytest.raises(_Interrupt):  # one crash so far: run first again (before: failed, "as it did in trial 1")
        ParetoSweep(space, settings, _dies_on(victim, died)).run()
    assert died == [victim, victim, victim]


def test_a_sweep_stopped_twice_by_ctrl_c_on_one_configuration_still_runs_it(fast_ax, tmp_path):
    calls = []

    def ctrl_c_on_the_second_call(p):
        calls.append(p)
        if len(calls) in (2, 3):  # the configuration cut short, then again when it runs first on resume
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                sys.exit(1)  # Lightning's interrupt handler
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    for _ in range(2):
        with pytest.raises(SystemExit):
            make_sweep(ctrl_c_on_the_second_call, n_trials=4, n_initial_trials=4, storage=storage).run()
    assert calls[1] == calls[2]
    result = make_sweep(ctrl_c_on_the_second_call, n_trials=4, n_initial_trials=4, storage=storage).run()
    assert calls[3] == calls[1]  # a user's stop is no crash: the configuration runs again
    assert (result.n_completed, result.n_failed) == (4, 0)


def test_resuming_with_another_acquisition_is_refused_before_any_trial(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    before = storage.read_bytes()
    calls: list[dict] = []
    with pytest.raises(EcoptConfigError, match=r"acquisition=qNEHVI.*acquisition=qLogNEHVI would be recorded but not"):
        make_sweep(
            lambda p: calls.append(p), n_trials=4, n_initial_trials=2, acquisition="qLogNEHVI", storage=storage
        ).run()
    assert calls == []
    assert storage.read_bytes() == before


def test_a_resumed_sweep_keeps_its_number_of_sobol_trials(fast_ax, tmp_path, caplog):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=3, storage=storage).run()  # default: all 3 Sobol
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = make_sweep(two_quadratics, n_trials=8, storage=storage).run()  # the default for 8 would be 4
    assert result.n_completed == 8
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert data["settings"]["n_initial_trials"] == 3  # what Ax's saved strategy did, not what the default says now
    assert "started with 3 Sobol trials and keeps them (n_initial_trials now resolves to 4" in caplog.text


def test_a_second_process_on_a_running_sweep_is_refused_and_changes_nothing(fast_ax, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    before = storage.read_bytes()
    # Another process holds the lock (an flock on another open file conflicts even within one process).
    with open(tmp_path / loop.SWEEP_LOCK_NAME, "a+") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        other.write("process 4242 on node7 (since 2026-12-03 10:00:00)")
        other.flush()
        calls: list[dict] = []
        with pytest.raises(EcoptConfigError, match=r"process 4242 on node7 .* is running the sweep in .*wait for it"):
            make_sweep(lambda p: calls.append(p), n_trials=4, n_initial_trials=2, storage=storage).run()
        assert calls == []
        assert storage.read_bytes() == before
        # Another sweep in the same folder (its own storage file) would write the same results file and job dirs.
        with pytest.raises(EcoptConfigError, match=r"process 4242 on node7 .* is running the sweep in"):
            make_sweep(lambda p: calls.append(p), n_trials=4, storage=tmp_path / "other.json").run()
        # Not "holds a sweep with other search space ... move it out of its folder": that would split a running sweep.
        for changed in (
            {"params": {"x0": "interval(0, 2)", "x1": "interval(0, 1)"}},
            {"n_trials": 1, "n_initial_trials": 1},
        ):
            with pytest.raises(EcoptConfigError, match=r"process 4242 on node7 .* is running the sweep in"):
                make_sweep(
                    lambda p: calls.append(p), **{"n_trials": 4, "n_initial_trials": 2, "storage": storage, **changed}
                ).run()
        assert calls == []
        assert storage.read_bytes() == before
    # Released (the kernel releases it when a process dies, too): the sweep resumes.
    assert make_sweep(two_quadratics, n_trials=4, n_initial_trials=2, storage=storage).run().n_finished == 4
    with loop.sweep_lock(storage), loop.sweep_lock(storage):  # re-entrant in one process (plugin, then loop)
        pass


@pytest.mark.parametrize("how", ["moved", "deleted", "replaced"])
def test_a_sweep_whose_folder_is_moved_or_deleted_mid_run_stops_without_recreating_it(fast_ax, tmp_path, how):
    """``rm -rf multirun/demo && make demo`` (or ``mv``) while the sweep runs: its next save would recreate the folder
    (or write beside the new sweep's lock file) and two sweeps would launch the same job numbers."""
    pytest.importorskip("fcntl")
    import shutil

    folder = tmp_path / "sweep"

    def fn(p):
        if not (tmp_path / "done").exists():
            (tmp_path / "done").touch()
            if how == "moved":
                folder.rename(tmp_path / "moved")
            else:
                shutil.rmtree(folder)
            if how == "replaced":  # a new sweep started there since
                folder.mkdir()
                (folder / loop.SWEEP_LOCK_NAME).touch()
        return two_quadratics(p)

    with pytest.raises(EcoptConfigError, match=r"the sweep dir .*sweep was deleted or moved while this sweep ran"):
        make_sweep(fn, n_trials=2, n_initial_trials=2, storage=folder / "ax.json").run()
    if how == "replaced":
        assert [p.name for p in folder.iterdir()] == [loop.SWEEP_LOCK_NAME]  # nothing written into the new sweep's
    else:
        assert not folder.exists()
    if how == "moved":  # the save before the batch went with the folder: the rerun there resumes it
        assert saved_trial_count(tmp_path / "moved" / "ax.json") >= 1


def test_the_saved_experiment_and_results_get_the_mode_of_a_new_file(fast_ax, tmp_path):
    import os
    import stat

    previous = os.umask(0o027)
    try:
        make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=tmp_path / "ax.json").run()
    finally:
        os.umask(previous)
    for name in ("ax.json", RESULTS_FILENAME):  # not mkstemp's 0600: the group can read a sweep's results
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name


def test_a_trial_failure_s_message_is_the_reason_itself(fast_ax):
    from lightning_ecopt.exceptions import TrialFailure

    def fn(p):
        raise TrialFailure("diverged: loss was nan at step 3")

    result = make_sweep(fn, n_trials=1, n_initial_trials=1, max_failure_rate=1.0).run()
    assert result.trials[0].reason == "diverged: loss was nan at step 3"  # not "the job raised TrialFailure: ..."


@pytest.mark.parametrize("metrics", [[{"energy/train_j": 812.5, "val/acc": 0.5}], "energy/train_j=812.5"], ids=str)
def test_a_trial_failure_refuses_metrics_that_are_no_mapping(metrics):
    # trainer.test()'s list of one dict of two figures became {'energy/train_j': 'val/acc'}: the joules were lost.
    with pytest.raises(
        TypeError, match=r"^TrialFailure\('oom', metrics=.*expected a dict of figures, e\.g\. metrics=tri"
    ):
        TrialFailure("oom", metrics=metrics)
    assert TrialFailure("oom", metrics=None).metrics == {}


def _batches_of_two(tmp_path, **changes):
    """The crash tests' sweep: 4 Sobol trials in batches of two, saved in ``tmp_path``; and what it evaluates."""
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=4, n_initial_trials=4, max_batch_size=2, seed=0,
        storage=tmp_path / "ax.json",
    )  # fmt: skip
    settings = dataclasses.replace(settings, **changes)
    return space, settings, _evaluated_unsaved(space, settings)


def test_a_crash_in_a_batch_blames_no_healthy_neighbour(fast_ax, tmp_path):
    space, settings, first = _batches_of_two(tmp_path)
    victim, neighbour = first[1], first[0]  # one batch: the neighbour is healthy, the victim kills the process
    died: list[dict] = []
    batches: list[list[dict]] = []

    def evaluate(batch):
        batches.append(list(batch))
        return _dies_on(victim, died)(batch)

    for _ in range(2):
        with pytest.raises(_Interrupt):
            ParetoSweep(space, settings, evaluate).run()
    assert batches[0] == [neighbour, victim]
    assert batches[1:] == [[neighbour], [victim]]  # after a crashed batch, each of it runs alone
    result = ParetoSweep(space, settings, evaluate).run()
    assert result.n_finished == 4
    failed = [t.params for t in result.trials if t.status == "failed"]
    assert failed == [victim]
    assert any(t.params == neighbour and t.status == "completed" for t in result.trials)


def test_a_crash_killer_failed_on_its_second_crash_leaves_its_batch_neighbour_to_run(fast_ax, tmp_path):
    # [A, B] crashes (A kills), A reruns alone and crashes again: A is failed. B, cut short by the first crash and not
    # rerun since, was forgotten (only the trials running at the last stop were queued again) and never ran.
    space, settings, first = _batches_of_two(tmp_path)
    killer, neighbour = first[0], first[1]
    died: list[dict] = []
    for _ in range(2):
        with pytest.raises(_Interrupt):
            ParetoSweep(space, settings, _dies_on(killer, died)).run()
    result = ParetoSweep(space, settings, _dies_on(killer, died)).run()
    assert [t.params for t in result.trials if t.status == "failed"] == [killer]
    assert any(t.params == neighbour and t.status == "completed" for t in result.trials)
    # In the Sobol phase the resumed sweep evaluates what an uninterrupted one would: the killer aside, the same.
    completed = [t.params for t in result.trials if t.status == "completed"]
    assert completed == [p for p in first if p != killer][: len(completed)]


def test_a_configuration_that_crashed_alone_reruns_alone_and_is_failed_on_its_second_crash(fast_ax, tmp_path):
    # Trial 2 ran alone (the budget's last) and crashed; the sweep extended to 6 reran it beside a new proposal,
    # where its second crash could not name it: it took three crashes to fail it.
    space, base, first = _batches_of_two(tmp_path, n_trials=3, n_initial_trials=2)
    victim = first[2]
    died: list[dict] = []
    batches: list[int] = []

    def evaluate(batch):
        batches.append(len(batch))
        return _dies_on(victim, died)(batch)

    with pytest.raises(_Interrupt):
        ParetoSweep(space, base, evaluate).run()
    extended = dataclasses.replace(base, n_trials=6)
    with pytest.raises(_Interrupt):
        ParetoSweep(space, extended, evaluate).run()
    result = ParetoSweep(space, extended, evaluate).run()
    assert len(died) == 2
    assert batches[:3] == [2, 1, 1]  # the crash suspect reran alone
    assert [t.params for t in result.trials if t.status == "failed"] == [victim]
    assert result.n_finished == 6


def test_a_sys_exit_in_a_batch_fails_only_its_trial(fast_ax):
    def exits_on_the_second(p):
        if p == seen[1]:
            sys.exit(3)
        return two_quadratics(p)

    seen: list[dict] = []
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=3, n_initial_trials=3, max_batch_size=3, seed=0)
    ParetoSweep.from_function(space, settings, lambda p: seen.append(p) or two_quadratics(p)).run()
    result = ParetoSweep.from_function(space, settings, exits_on_the_second).run()
    assert [t.status for t in result.trials] == ["completed", "failed", "completed"]
    assert result.trials[1].reason == "the task called sys.exit(3) (SystemExit); raise an exception to fail a trial"


def test_a_sweep_saved_before_the_strategy_was_recorded_refuses_another_acquisition(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, acquisition="qLogNEHVI", storage=storage).run()
    data = json.loads(storage.read_text())  # as an earlier version saved it: no "strategy" in the description
    description = json.loads(data["experiment"]["description"])
    del description[loop._METADATA_KEY]["strategy"]
    data["experiment"]["description"] = json.dumps(description)
    storage.write_text(json.dumps(data))
    with pytest.raises(EcoptConfigError, match=r"proposes with acquisition=qLogNEHVI") as refused:  # Ax's strategy
        make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage).run()
    # In the Python user's terms (it named hydra.sweeper.acquisition): fx_prov's note.
    assert "Rerun with SweepSettings(acquisition='qLogNEHVI') to resume it" in str(refused.value)
    with (
        spelling.hydra_spelling(),
        pytest.raises(EcoptConfigError, match=r"Rerun with hydra.sweeper.acquisition='qLogNEHVI' to"),
    ):
        make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage).run()
    resumed = make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, acquisition="qLogNEHVI", storage=storage)
    assert resumed.run().n_finished == 3


def test_a_sweep_saved_with_plus_prefixed_names_is_refused_with_the_reason(tmp_path):
    space = parse_search_space({}, ["+extra=interval(0,1)", "x=interval(0,1)"])
    fingerprint = loop.sweep_fingerprint(space, SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2))
    old = json.loads(json.dumps(fingerprint))  # as an earlier version saved it: '+extra', no prefix field
    old["space"]["parameters"] = [
        {**{k: v for k, v in p.items() if k != "prefix"}, "name": "+" + p["name"] if p.get("prefix") else p["name"]}
        for p in old["space"]["parameters"]
    ]
    message = loop._mismatch_message(tmp_path / "ax.json", old, fingerprint)
    assert message is not None
    assert "named the swept parameters ['+extra'] with their '+'" in message
    assert loop._mismatch_message(tmp_path / "ax.json", fingerprint, fingerprint) is None


@pytest.mark.parametrize(
    ("before", "now", "written"),
    [
        # What an earlier version made of the same range, which excluded its stop.
        ("int(interval(0, 4))", "range(0, 5)", "range(0, 4)"),
        ("tag(ordered, choice(0, 2, 4, 6, 8))", "range(0, 10, step=2)", "range(0, 8, step=2)"),
        ("tag(ordered, choice(10, 5))", "range(10, 0, step=-5)", "range(10, 5, step=-5)"),
        ("tag(ordered, choice(-5.5, -5.0, -4.5))", "range(-5.5, -4.0, step=0.5)", "range(-5.5, -4.5, step=0.5)"),
    ],
)
def test_a_range_saved_without_its_stop_is_refused_with_how_to_resume_it(tmp_path, before, now, written):
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)
    old = loop.sweep_fingerprint(parse_search_space({"x": before}, []), settings)
    new = loop.sweep_fingerprint(parse_search_space({"x": now}, []), settings)
    message = loop._mismatch_message(tmp_path / "ax.json", old, new)
    assert message is not None
    assert "(if it is a range(...): a range now includes its stop " in message
    assert "when it is on the step's grid, as the Optuna sweeper's does, and this sweep started without it; to " in (
        message
    )
    assert f"resume it, write its old domain: {written})" in message
    # The domain the hint gives is the saved one: it resumes.
    resumed = loop.sweep_fingerprint(parse_search_space({"x": written}, []), settings)
    assert loop._mismatch_message(tmp_path / "ax.json", old, resumed) is None
    # Another change says nothing of ranges.
    other = loop.sweep_fingerprint(parse_search_space({"x": "int(interval(0, 6))"}, []), settings)
    assert "range(" not in str(loop._mismatch_message(tmp_path / "ax.json", old, other))


def test_saved_sobol_count_reads_what_a_resumed_sweep_keeps(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    assert loop.saved_sobol_count(storage) is None
    make_sweep(two_quadratics, n_trials=3, storage=storage).run()  # default for 3 trials: 3 Sobol
    assert loop.saved_sobol_count(storage) == 3


# -- resume checks: the task's config, per-key differences, the budget, the seed -------------------------------------

TASK_CONFIG = {"epochs": 3, "model.hidden": 16, "data.name": "digits", "run_name": "run_${epochs}"}


def test_a_resume_over_another_task_config_is_refused_naming_the_changed_keys(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage, task_config=TASK_CONFIG).run()
    before = storage.read_bytes()
    changed = {"epochs": 1, "model.hidden": 16, "run_name": "run_${epochs}", "model.depth": 2}
    calls: list[dict] = []
    resumed = make_sweep(calls.append, n_trials=4, n_initial_trials=2, storage=storage, task_config=changed)
    with pytest.raises(EcoptConfigError) as refused:
        resumed.run()
    message = str(refused.value)
    assert "whose trials ran with another task config: data.name: removed (was 'digits'); epochs: 3 -> 1; " in message
    assert "model.depth: added (2)." in message
    assert "model.hidden" not in message  # unchanged keys are not named
    assert "run_name" not in message
    assert (
        "restore those values (in the app's config, or as overrides on the command line) to resume it, or move "
        in message
    )
    assert "or give the sweep another storage (SweepSettings(storage=...)) to start a new sweep with them." in message
    assert calls == []
    assert storage.read_bytes() == before
    # The same config resumes.
    again = make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage, task_config=TASK_CONFIG)
    assert again.run().n_finished == 3


def test_a_config_mismatch_names_a_few_keys_and_counts_the_rest(tmp_path):
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)
    old = loop.sweep_fingerprint(space, settings, task_config={f"k{i}": i for i in range(9)})
    new = loop.sweep_fingerprint(space, settings, task_config={f"k{i}": -i for i in range(9)})
    message = loop._mismatch_message(tmp_path / "ax.json", old, new)
    assert message is not None
    assert "task config: k1: 1 -> -1; k2: 2 -> -2; k3: 3 -> -3; k4: 4 -> -4; k5: 5 -> -5; and 3 more. " in message
    assert "k0" not in message  # 0 == -0
    # A sweep saved without the task's config (an earlier version, or from Python without one) is not checked.
    legacy = {k: v for k, v in old.items() if k != "task_config"}
    assert loop._mismatch_message(tmp_path / "ax.json", legacy, new) is None
    assert loop._mismatch_message(tmp_path / "ax.json", old, loop.sweep_fingerprint(space, settings)) is None


def test_a_sweep_saved_without_the_task_config_resumes_and_says_so(fast_ax, tmp_path, caplog):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    data = json.loads(storage.read_text())  # as an earlier version saved it: no "task_config" in the description
    description = json.loads(data["experiment"]["description"])
    del description[loop._METADATA_KEY]["task_config"]
    data["experiment"]["description"] = json.dumps(description)
    storage.write_text(json.dumps(data))
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        resumed = make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage, task_config=TASK_CONFIG)
        assert resumed.run().n_finished == 3
    assert "was saved without the task's config (by an earlier lightning_ecopt" in caplog.text
    # From now on it is checked.
    with pytest.raises(EcoptConfigError, match=r"epochs: 3 -> 4"):
        make_sweep(
            two_quadratics, n_trials=4, n_initial_trials=2, storage=storage, task_config={**TASK_CONFIG, "epochs": 4}
        ).run()


def test_flat_task_config_is_json_safe_and_bounded():
    long_list = list(range(500))
    flat = loop.flat_task_config(
        {"model": {"hidden": 16, "lr": "${optim.lr}", "layers": [{"width": 8}, {"width": 4}]}, "ids": long_list,
         "empty": {}, "none": None, "tags": ["a", "b"], "nan": float("nan")}
    )  # fmt: skip
    assert flat["model.hidden"] == 16
    assert flat["model.lr"] == "${optim.lr}"  # an interpolation as written
    assert (flat["model.layers.0.width"], flat["model.layers.1.width"]) == (8, 4)
    assert (flat["tags"], flat["empty"], flat["none"]) == (["a", "b"], {}, None)
    assert flat["ids"].startswith("<2390 chars, sha256 ")  # a long value is kept as its length and digest
    assert json.loads(json.dumps(flat, allow_nan=False)) == flat  # nan is kept as text: it equals itself
    many = loop.flat_task_config({f"k{i:05d}": i for i in range(loop._TASK_CONFIG_KEYS + 10)})
    assert len(many) == loop._TASK_CONFIG_KEYS + 1
    assert loop.flat_task_config({f"k{i:05d}": i for i in range(loop._TASK_CONFIG_KEYS + 10)}) == many
    assert loop.flat_task_config({f"k{i:05d}": -i for i in range(loop._TASK_CONFIG_KEYS + 10)}) != many


def test_a_refused_resume_names_each_changed_parameter_and_objective(tmp_path):
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)
    old = loop.sweep_fingerprint(parse_search_space(TWO_D, ["epochs=3"]), settings)
    space = parse_search_space({"x0": "tag(log, interval(0.0001, 1))", "x2": "choice(a, b)"}, ["epochs=1", "+extra=2"])
    message = loop._mismatch_message(tmp_path / "ax.json", old, loop.sweep_fingerprint(space, settings))
    assert message is not None
    assert (
        "holds a sweep with other search space than this one: x0: bounds [0.0, 1.0] -> [0.0001, 1.0], log scale "
        "false -> true; x1: removed; x2: added; fixed +extra: added (2); fixed epochs: 3 -> 1. To start fresh, move "
    ) in message
    assert "'parameters'" not in message  # no JSON dump of the spec
    assert message.endswith("or restore the original search space to resume it.")
    other = SweepSettings(parse_objectives({"f1": "minimize", "f2": "maximize", "f3": "minimize"}, None), n_trials=2)
    message = loop._mismatch_message(
        tmp_path / "ax.json", old, loop.sweep_fingerprint(parse_search_space(TWO_D, ["epochs=3"]), other)
    )
    assert message is not None
    assert "other objectives than this one: f2: minimize -> maximize; f3: added (minimize). To start" in message


def test_a_value_restored_on_the_command_line_resumes_a_sweep_the_task_config_check_refused(tmp_path):
    """Review: the fix the task-config refusal gave (the old value as an override) was refused as a changed space."""
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)

    def fingerprint(fixed, config):
        return loop.sweep_fingerprint(parse_search_space(TWO_D, fixed), settings, task_config=config)

    started = fingerprint([], {"epochs": 3})  # epochs: 3 in the app's YAML, since edited to 1
    assert loop._mismatch_message(tmp_path / "ax.json", started, fingerprint(["epochs=3"], {"epochs": 3})) is None
    refused = loop._mismatch_message(tmp_path / "ax.json", started, fingerprint(["epochs=4"], {"epochs": 4}))
    assert refused is not None
    assert "another task config: epochs: 3 -> 4. Resuming would put trials run under both in one frontier" in refused
    # Without task configs (saved by an earlier version) the overrides are still compared as the space's.
    unchecked = loop._mismatch_message(tmp_path / "ax.json", fingerprint([], None), fingerprint(["epochs=3"], None))
    assert unchecked is not None
    assert "fixed epochs: added (3)" in unchecked


@pytest.mark.parametrize("now", ["choice(1.0, auto, 2)", "choice(true, auto, 2)"])
def test_a_choice_whose_value_changed_type_is_another_search_space(tmp_path, now):
    # 1 == 1.0 == True in Python, but Ax stored "1": resuming with 1.0 would fail on the first stored trial.
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)
    old = loop.sweep_fingerprint(parse_search_space({"k": "choice(1, auto, 2)"}, []), settings)
    new = loop.sweep_fingerprint(parse_search_space({"k": now}, []), settings)
    old = json.loads(json.dumps(old))  # as stored
    message = loop._mismatch_message(tmp_path / "ax.json", old, new)
    assert message is not None
    shown = now.removeprefix("choice(").removesuffix(")").replace("auto", '"auto"')
    assert f'holds a sweep with other search space than this one: k: values [1, "auto", 2] -> [{shown}].' in message


def test_a_budget_below_the_finished_trials_is_refused_before_the_resume_is_logged(fast_ax, tmp_path, caplog):
    storage = tmp_path / "ax.json"
    sweep = make_sweep(two_quadratics, n_trials=3, n_initial_trials=3, storage=storage)
    sweep.run()
    # check_storage, which the Hydra plugin calls before its start-up line, refuses it already.
    match = r"^SweepSettings\(n_trials=2\), but the sweep in .* has already finished 3 trials"
    with pytest.raises(EcoptConfigError, match=match):
        loop.check_storage(storage, sweep._fingerprint(), n_trials=2)
    # Under the Hydra sweeper, the key the user set (it said a bare 'n_trials=2' to both).
    with (
        spelling.hydra_spelling(),
        pytest.raises(EcoptConfigError, match=r"^hydra\.sweeper\.n_trials=2, but the sweep"),
    ):
        loop.check_storage(storage, sweep._fingerprint(), n_trials=2)
    loop.check_storage(storage, sweep._fingerprint(), n_trials=3)
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"), pytest.raises(EcoptConfigError):
        make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    assert "resuming" not in caplog.text  # no "3 of 2 trials done" before the refusal


def _spy_on_seeds(monkeypatch) -> list:
    """The sweep seeds its proposals derive from, in order (``loop._derive_seed`` spied on)."""
    seeds: list = []
    derive = loop._derive_seed
    monkeypatch.setattr(loop, "_derive_seed", lambda seed, n: seeds.append(seed) or derive(seed, n))
    return seeds


def test_a_resumed_sweep_keeps_its_saved_seed_and_says_so(fast_ax, tmp_path, caplog, monkeypatch):
    """The warning named Hydra's keys (hydra.sweeper.seed, hydra.sweep.dir) to a sweep run from Python too."""
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage, seed=0).run()
    seeds = _spy_on_seeds(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage, seed=5).run()
    assert seeds == [0]
    assert (
        "was started with seed=0 and keeps it, not SweepSettings(seed=5) as given now: a resumed sweep" in caplog.text
    )
    assert "To sweep with seed=5, move " in caplog.text
    assert "or give the sweep another storage (SweepSettings(storage=...))." in caplog.text
    assert "hydra" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), spelling.hydra_spelling():  # the Hydra sweeper's
        make_sweep(two_quadratics, n_trials=4, n_initial_trials=2, storage=storage, seed=None).run()
    assert "was started with seed=0 and keeps it, not hydra.sweeper.seed=null as given now" in caplog.text
    assert "To sweep with seed=null, move " in caplog.text
    assert "or choose another sweep directory (hydra.sweep.dir)." in caplog.text
    assert "SweepSettings" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=5, n_initial_trials=2, storage=storage, seed=0).run()
    assert "keeps it" not in caplog.text  # the same seed: nothing to say


@pytest.mark.parametrize("saved_seed", [True, "0"])
def test_a_saved_seed_that_is_no_integer_does_not_replace_the_seed_given_now(
    fast_ax, tmp_path, caplog, monkeypatch, saved_seed
):
    """A description edited by hand or written by another tool: a saved seed that is no integer was never a sweep's,
    so the resume proposes with the seed given now and says nothing of keeping another."""
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage, seed=0).run()
    data = json.loads(storage.read_text())
    description = json.loads(data["experiment"]["description"])
    description[loop._METADATA_KEY]["strategy"]["seed"] = saved_seed
    data["experiment"]["description"] = json.dumps(description)
    storage.write_text(json.dumps(data))
    seeds = _spy_on_seeds(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage, seed=5).run()
    assert seeds == [5]
    assert "keeps it" not in caplog.text


def test_a_function_task_gets_the_spaces_fixed_values_with_the_swept_ones(fast_ax):
    seen = []

    def task(p):
        seen.append(dict(p))
        return two_quadratics(p)

    space = parse_search_space({**TWO_D, "epochs": 3}, ["+name=abc", "~unwanted"])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2, n_initial_trials=2, seed=0)
    ParetoSweep.from_function(space, settings, task).run()
    assert [{k: v for k, v in p.items() if k not in TWO_D} for p in seen] == [{"epochs": 3, "name": "abc"}] * 2
    assert all({"x0", "x1"} <= set(p) for p in seen)


def test_a_task_exceptions_traceback_is_logged_once_per_type_as_a_warning(fast_ax, caplog):
    def deep(p):
        return {}["missing"]  # the line a user needs to find

    def task(p):
        if p["x0"] < 0.5:
            raise ValueError("not this one")
        return deep(p)

    with caplog.at_level(logging.DEBUG, logger="lightning_ecopt"):
        result = make_sweep(task, n_trials=6, n_initial_trials=6, max_failure_rate=1.0).run()
    assert result.n_failed == 6
    tracebacks = [r for r in caplog.records if r.exc_info and "raised" in r.getMessage()]
    warned = [r.exc_info[0].__name__ for r in tracebacks if r.levelno == logging.WARNING]
    assert sorted(warned) == sorted({"ValueError", "KeyError"} & {r.exc_info[0].__name__ for r in tracebacks})
    assert len(tracebacks) == 6  # the rest at DEBUG
    key_error = next(r for r in tracebacks if r.exc_info[0] is KeyError)
    assert "in deep" in "".join(traceback.format_tb(key_error.exc_info[2]))  # the file and line of the error


def test_a_trial_failure_raised_from_an_error_logs_that_error_s_traceback(fast_ax, caplog):
    """The examples wrap what failed in a TrialFailure (to keep the energy spent): the wrapped error's file and line
    are what a user needs, where the reason alone says "KeyError: 'x'"."""

    def deep(p):
        return {}["x"]

    def task(p):
        try:
            return deep(p)
        except KeyError as err:
            raise TrialFailure(f"KeyError: {err}", metrics={"energy/train_j": 0.0}) from err

    def verdict(p):
        raise TrialFailure("accuracy below chance")  # the task's own verdict: nothing to trace

    with caplog.at_level(logging.DEBUG, logger="lightning_ecopt"):
        make_sweep(task, n_trials=2, n_initial_trials=2, max_failure_rate=1.0).run()
        make_sweep(verdict, n_trials=2, n_initial_trials=2, max_failure_rate=1.0).run()
    tracebacks = [r for r in caplog.records if r.exc_info and "raised" in r.getMessage()]
    assert [r.exc_info[0] for r in tracebacks] == [KeyError, KeyError]
    assert "in deep" in "".join(traceback.format_tb(tracebacks[0].exc_info[2]))


def test_a_reference_point_waits_for_two_completed_trials(fast_ax, caplog):
    calls = []

    def second_fails(p):
        calls.append(p)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return two_quadratics(p)

    sweep = make_sweep(second_fails, n_trials=5, n_initial_trials=2, max_failure_rate=1.0)
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = sweep.run()
    inferred = [r.getMessage() for r in caplog.records if "reference point inferred" in r.getMessage()]
    assert len(inferred) == 1
    assert "from the front of 2 completed trials" in inferred[0]  # not from the one Sobol trial that completed
    assert result.reference_point_origin == "inferred"


def test_a_space_with_nothing_swept_is_refused_before_any_trial():
    calls = []
    space = parse_search_space({"y": 3}, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)
    with pytest.raises(EcoptConfigError, match=r"ParetoSweep: nothing to sweep: .*\['y=3'\].*'interval\(0, 1\)'"):
        ParetoSweep.from_function(space, settings, calls.append)
    assert calls == []


@pytest.mark.parametrize("content", ["not json", '{"experiment": {"description": null}}'])
def test_a_refused_storage_leaves_nothing_behind(tmp_path, content):
    storage = tmp_path / "ax.json"
    storage.write_text(content)
    # checkpoints/ too: left behind, a new sweep there would load them as its own training (0 J, "savings")
    with pytest.raises(EcoptConfigError, match=r"ax\.json .*; to start fresh, move it away \(with .*checkpoints/"):
        make_sweep(two_quadratics, n_trials=2, seed=0, storage=storage).run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ax.json"]


def test_a_refused_storage_says_how_to_give_another_in_python_terms(tmp_path):
    """They told a Python user to choose another hydra.sweep.dir or hydra.sweeper.storage."""
    not_ours = tmp_path / "ax.json"
    not_ours.write_text('{"hello": 1}')
    with pytest.raises(EcoptConfigError) as refused:
        make_sweep(two_quadratics, n_trials=2, storage=not_ours).run()
    assert str(refused.value).endswith("or give the sweep another storage (SweepSettings(storage=...)).")
    (tmp_path / "afile").write_text("a file where the storage folder should be")
    with pytest.raises(EcoptConfigError) as refused:
        make_sweep(two_quadratics, n_trials=2, storage=tmp_path / "afile" / "ax.json").run()
    assert "(FileExistsError: File exists); choose a writable location (SweepSettings(storage=...)) or fix" in str(
        refused.value
    )
    assert "hydra" not in str(refused.value)


def test_a_relative_storage_stays_where_it_was_given_when_a_trial_changes_the_working_directory(
    fast_ax, tmp_path, monkeypatch
):
    """The experiment and results were saved relative to the trial's new working directory: the sweep split in two
    folders, and a rerun from the first resumed none of its trials."""
    start, elsewhere = tmp_path / "start", tmp_path / "elsewhere"
    start.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(start)

    def task(p):
        os.chdir(elsewhere)  # as a training script that works in a run folder of its own
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=2, n_initial_trials=2, storage="sweep/ax.json")
    sweep.run()
    assert list(elsewhere.iterdir()) == []
    assert saved_trial_count(start / "sweep" / "ax.json") == 2
    assert len(yaml.safe_load((start / "sweep" / RESULTS_FILENAME).read_text())["trials"]) == 2
    assert sweep.settings.storage == start / "sweep" / "ax.json"  # made absolute when the settings were built


def test_a_new_sweep_never_writes_over_the_results_of_another_in_its_folder(fast_ax, tmp_path):
    """A second storage file in one folder, or a sweep whose experiment was deleted (as a refusal told the user to):
    the new sweep's first batch replaced the folder's optimization_results.yaml, the only record left."""
    first = tmp_path / "a.json"
    make_sweep(two_quadratics, n_trials=3, n_initial_trials=3, storage=first).run()
    results = tmp_path / "optimization_results.yaml"
    before = results.read_text()
    with pytest.raises(
        EcoptConfigError, match=r"holds 3 trials of another sweep, saved to .*a\.json.*resume that sweep"
    ):
        make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=tmp_path / "b.json").run()
    first.unlink()
    with pytest.raises(EcoptConfigError, match=r"holds 3 trials of a sweep whose experiment .*a\.json\) is missing"):
        make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=first).run()
    assert results.read_text() == before
    assert not (tmp_path / "b.json").exists()
    results.rename(tmp_path / "old_results.yaml")  # moved away, as the message says: a new sweep starts
    results.write_text("name: optuna\nbest_params: {x: 1}\nbest_value: 0.5\n")  # no experiment ever: say whose
    with pytest.raises(EcoptConfigError, match=r"holds the results of another sweeper \('optuna'\)"):
        make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=first).run()
    results.unlink()
    assert len(make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=first).run().trials) == 2


def test_a_resume_without_a_task_config_keeps_the_saved_one_for_later_checks(fast_ax, tmp_path):
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage, task_config={"a": 1}).run()
    make_sweep(two_quadratics, n_trials=4, n_initial_trials=2, storage=storage).run()  # from Python: none given
    with pytest.raises(EcoptConfigError, match=r"another task config: a: 1 -> 2"):
        make_sweep(two_quadratics, n_trials=5, n_initial_trials=2, storage=storage, task_config={"a": 2}).run()


def test_a_sweep_whose_sobol_trials_are_all_infeasible_goes_on(fast_ax, caplog):
    """No feasible trial after the Sobol ones: BoTorch stopped the sweep ("Either ref_point or ... must be given")."""

    def constrained(p):
        return {**two_quadratics(p), "c": p["x0"]}

    sweep = make_sweep(constrained, n_trials=6, n_initial_trials=3, outcome_constraints=["c <= 0.3"])
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        result = sweep.run()
    assert result.n_finished == 6
    assert result.reference_point_origin == "inferred"
    assert "from the front of 3 completed trials" in caplog.text  # the infeasible ones: Ax had none to infer from


def test_a_sweep_whose_only_feasible_trial_is_the_first_goes_on(caplog):
    """One feasible trial after the Sobol ones: the sweep waited for a second and left the thresholds to Ax, whose
    inference keeps the trials its model *predicts* feasible; once the GP took the one feasible value for noise, Ax
    logged "Failed to infer objective thresholds" and BoTorch stopped the sweep with "ValueError: Either `ref_point`
    or `objective_thresholds` must be provided" (here at trial 10; seeds 1 and 2 of 14 trials in the audit, and the
    others went on with Ax's "MultiObjective without objective thresholds" warning at every proposal). Not under
    ``fast_ax``: its one-iteration fit does not smooth the value away."""
    calls = []

    def task(p):
        calls.append(p)
        x, y = p["x0"], p["x1"]
        return {
            "acc": 1 - (x - 0.3) ** 2 - 0.5 * (y - 0.6) ** 2,
            "energy": 1 + 3 * x + y**2,
            "mem": 0.0 if len(calls) == 1 else 10.0 + x,
        }

    sweep = make_sweep(
        task,
        objectives={"acc": "maximize", "energy": "minimize"},
        n_trials=11,
        n_initial_trials=4,
        seed=1,
        outcome_constraints=["mem <= 1"],
    )
    with caplog.at_level(logging.INFO):
        result = sweep.run()
    assert result.n_finished == 11
    assert result.stop_reason is None
    assert result.pareto_indices == (0,)
    assert "only 1 of them meets the outcome constraints yet, so it is inferred again once 2 do" in caplog.text
    assert "Failed to infer objective thresholds" not in caplog.text
    # Ax had thresholds from the first model proposal on: it never inferred its own.
    config = loop._experiment(sweep._client).optimization_config
    assert {t.metric_names[0] for t in config.objective_thresholds} == {"m__acc", "m__energy"}


def test_a_reference_point_from_infeasible_trials_is_inferred_again_once_trials_meet_the_constraints(
    fast_ax, tmp_path, caplog
):
    """Review: inferred from infeasible Sobol trials and kept, the box held no feasible trial: hypervolume 0 to the end.

    The first four calls meet no constraint and lie near 0; the later ones meet it and lie near 10, outside the box
    the first ones give. The sweep stops after them and resumes (the point must stay provisional across a resume).
    """
    calls = []

    def task(p):
        calls.append(p)
        shift = 0.0 if len(calls) <= 4 else 10.0
        values = two_quadratics(p)
        return {**values, "f1": values["f1"] + shift, "f2": values["f2"] + shift, "c": 1.0 if shift == 0 else 0.0}

    storage = tmp_path / "ax.json"
    settings = {"n_initial_trials": 4, "outcome_constraints": ["c <= 0.5"], "storage": storage}
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        first = make_sweep(task, n_trials=4, **settings).run()
        assert first.hypervolume == 0.0  # nothing feasible yet
        assert "none meets the outcome constraints yet, so it is inferred again once 2 do" in caplog.text
        result = make_sweep(task, n_trials=8, **settings).run()
    feasible = [t for t in result.trials if t.metrics.get("c") == 0.0]
    assert len(feasible) == 4
    assert "reference point inferred again from the front of" in caplog.text
    assert result.reference_point is not None
    assert all(result.reference_point[f] > 10 for f in ("f1", "f2"))  # the feasible trials' box, not the first one
    assert result.hypervolume is not None
    assert result.hypervolume > 0  # before: 0, every frontier trial outside the box
    assert result.pareto_indices


@pytest.mark.parametrize("unreachable", ["reference_point", "outcome_constraints"])
def test_botorchs_zero_acquisition_note_is_not_repeated_where_the_sweep_said_why(fast_ax, caplog, unreachable):
    """A reference point no trial beats, or constraints no trial meets: the sweep says so once, and then BoTorch's
    "BadInitialCandidatesWarning: Unable to find non-zero acquisition function values - initial conditions are being
    selected randomly", with its library path and source line, came at every model proposal (10 of 10 in a
    14-trial sweep): BoTorch's own catch_warnings resets Python's once-a-location registry at each proposal."""
    from botorch.exceptions.warnings import BadInitialCandidatesWarning

    def task(p):
        return {**two_quadratics(p), "c": 10.0 + p["x0"]}

    if unreachable == "reference_point":
        settings = {"reference_point": {"f1": -1.0, "f2": -1.0}}
        said = "is beaten by none of the 3 completed trials"
    else:
        settings = {"outcome_constraints": ["c <= 1"]}
        said = "no completed trial meets the outcome constraints"
    sweep = make_sweep(task, n_trials=7, n_initial_trials=3, **settings)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        warnings.simplefilter("default")  # Python's own action: shown once a location
        result = sweep.run()
    assert result.n_finished == 7
    assert said in caplog.text
    gave_up = [w for w in caught if issubclass(w.category, BadInitialCandidatesWarning)]
    assert gave_up == []


@pytest.mark.parametrize("host_filter", ["ignore", "error"])
def test_botorch_s_retry_sees_its_warning_whatever_the_host_s_filters(host_filter):
    """BoTorch retries its starting points when it records a BadInitialCandidatesWarning (catch_warnings(record=True)
    with no filter of its own): a host's "ignore" hid it, so the proposals changed with the host's filters; "error"
    raised it inside BoTorch."""
    from botorch.exceptions.warnings import BadInitialCandidatesWarning

    def as_botorch_records() -> list:
        with warnings.catch_warnings(record=True) as ws:
            warnings.warn("all zero", BadInitialCandidatesWarning, stacklevel=1)
        return [w for w in ws if issubclass(w.category, BadInitialCandidatesWarning)]

    with warnings.catch_warnings():
        warnings.simplefilter(host_filter)
        if host_filter == "ignore":
            assert as_botorch_records() == []  # what BoTorch saw before
        with loop._proposal_warnings():
            assert len(as_botorch_records()) == 1
            assert len(as_botorch_records()) == 1  # every time, not once a location
            # BoTorch's last word after its retries is the host's to show: an "ignore" host does not see it at every
            # late proposal, and an "error" host gets its error.
            gave_up = "Unable to find non-zero acquisition function values - initial conditions are being selected."
            with warnings.catch_warnings(record=True) as shown:
                if host_filter == "error":
                    with pytest.raises(BadInitialCandidatesWarning):
                        warnings.warn(gave_up, BadInitialCandidatesWarning, stacklevel=1)
                else:
                    warnings.warn(gave_up, BadInitialCandidatesWarning, stacklevel=1)
            assert shown == []
    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()  # Python's defaults (this module's fixture quiets warnings): shown
        with loop._proposal_warnings():
            warnings.warn(
                "Unable to find non-zero acquisition function values", BadInitialCandidatesWarning, stacklevel=1
            )
    assert len(shown) == 1


def test_a_host_that_ignores_another_kind_of_warning_still_sees_botorch_s_last_word():
    """A host's filter for other warnings (``filterwarnings("ignore", category=DeprecationWarning)``, a notebook's
    habit) does not decide for BoTorch's last word after its retries: Python's default shows it."""
    from botorch.exceptions.warnings import BadInitialCandidatesWarning

    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        with loop._proposal_warnings():
            warnings.warn(
                "Unable to find non-zero acquisition function values", BadInitialCandidatesWarning, stacklevel=1
            )
    assert [type(w.message) for w in shown] == [BadInitialCandidatesWarning]


@pytest.mark.parametrize("host_filter", ["default", "error"])
def test_gpytorch_s_jitter_notes_stay_out_of_the_output_and_never_stop_a_proposal(host_filter):
    """`make demo` printed GPyTorch's "A not p.d., added jitter of 1.0e-08 to the diagonal", with the library's path
    and source line, between two trials; a host that turns warnings into errors stopped the proposal with it. A
    covariance no jitter can mend still fails, and GPyTorch's other numerical warnings are the host's to show."""
    import torch
    from linear_operator.utils.cholesky import psd_safe_cholesky
    from linear_operator.utils.errors import NotPSDError
    from linear_operator.utils.warnings import NumericalWarning

    x = torch.tensor([[0.0], [0.0], [1.0]], dtype=torch.float64)
    two_alike = torch.exp(-((x - x.T) ** 2))  # two configurations in one place: singular, as qNEHVI meets it
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter(host_filter)
        if host_filter == "error":
            with pytest.raises(NumericalWarning, match="added jitter"):
                psd_safe_cholesky(two_alike)  # what a proposal met before
        with loop._proposal_warnings():
            factor = psd_safe_cholesky(two_alike)
            with pytest.raises(NotPSDError):
                psd_safe_cholesky(-two_alike)
        if host_filter == "default":
            psd_safe_cholesky(two_alike)  # after the proposal: the host's filters again
    assert torch.allclose(factor @ factor.T, two_alike, atol=1e-5)
    assert [str(w.message) for w in shown] == (
        ["A not p.d., added jitter of 1.0e-08 to the diagonal"] if host_filter == "default" else []
    )
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        with loop._proposal_warnings():
            warnings.warn("another numerical note", NumericalWarning, stacklevel=1)
    assert [str(w.message) for w in shown] == ["another numerical note"]


@pytest.mark.parametrize("host_filter", ["default", "error"])
def test_botorch_s_retry_note_stays_out_of_the_output_and_its_second_failure_stays_the_host_s(host_filter):
    """A degenerate-data sweep printed BoTorch's "Optimization failed in `gen_candidates_scipy` ... Trying again with
    a new set of initial conditions." (a RuntimeWarning, with BoTorch's path) between two trials: a retry that needs
    nothing from the user, and under -W error it stopped the proposal. Its "failed on the second try" is kept."""
    retry = (
        "Optimization failed in `gen_candidates_scipy` with the following warning(s):\n[OptimizationWarning('x')]\n"
        "Trying again with a new set of initial conditions."
    )
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter(host_filter)
        with loop._proposal_warnings():
            warnings.warn(retry, RuntimeWarning, stacklevel=1)
            if host_filter == "error":
                with pytest.raises(RuntimeWarning, match="second try"):
                    warnings.warn("Optimization failed on the second try, after ...", RuntimeWarning, stacklevel=1)
            else:
                warnings.warn("Optimization failed on the second try, after ...", RuntimeWarning, stacklevel=1)
        if host_filter == "default":
            warnings.warn(retry, RuntimeWarning, stacklevel=1)  # after the proposal: the host's filters again
    expected = ["Optimization failed on the second try, after ...", retry] if host_filter == "default" else []
    assert [str(w.message) for w in shown] == expected


def test_a_sweep_under_a_host_that_errors_on_numerical_warnings_finishes():
    """The jitter note, raised as an error, ended this sweep at its first model proposal (qNEHVI's posterior over the
    tried points of a one-parameter front is singular)."""
    from linear_operator.utils.warnings import NumericalWarning

    def front(p):
        return {"f1": p["x0"], "f2": (1 - p["x0"]) ** 0.5, "energy/source": "estimated: cpu-time"}

    with warnings.catch_warnings():
        warnings.simplefilter("error", NumericalWarning)
        result = make_sweep(front, params={"x0": "interval(0, 1)"}, n_trials=9, n_initial_trials=3).run()
    assert [t.status for t in result.trials] == ["completed"] * 9


def test_ax_s_sql_storage_note_stays_out_of_a_sweep_s_output():
    """`make demo` printed "[INFO ...] ax.storage.sqa_store.with_db_settings_base: Ax SQL storage initialized with
    SQLAlchemy 2.1.9" before its first trial (Ax logs it on import wherever SQLAlchemy is installed); the sweep stores
    nothing in SQL. That logger's other records still reach the user."""
    import subprocess
    import sys

    pytest.importorskip("sqlalchemy")
    code = (
        "import logging, lightning_ecopt.sweeper.loop, ax.api.client; "
        "logging.getLogger('ax.storage.sqa_store.with_db_settings_base').warning('a record of its own')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert "SQL storage" not in out.stdout + out.stderr
    assert "with_db_settings_base: a record of its own" in out.stderr


def test_a_launcher_that_is_no_mapping_is_refused_naming_it():
    """ParetoSweep(launcher="joblib") failed inside dict() ("dictionary update sequence element #0 has length 1")."""
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)
    with pytest.raises(TypeError, match=r"^ParetoSweep\(launcher='joblib'\): expected a mapping of what runs the"):
        ParetoSweep(space, settings, evaluate_each(two_quadratics), launcher="joblib")  # type: ignore[arg-type]
    assert ParetoSweep(space, settings, evaluate_each(two_quadratics), launcher={"n_jobs": 2}).launcher == {"n_jobs": 2}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # one hook, not in a list: TypeError: 'function' object is not iterable
        ({"on_batch_end": print}, r"^ParetoSweep\(on_batch_end=<built-in function print>\): expected a list of hooks"),
        ({"on_batch_end": 3}, r"^ParetoSweep\(on_batch_end=3\): expected a list of hooks"),
        # a hook that is not callable failed at every batch, logged and caught
        ({"on_batch_end": ["views"]}, r"^ParetoSweep\(on_batch_end=\['views'\]\): expected a list of hooks"),
        # accepted, and then never checked on resume
        ({"task_config": ["epochs=3"]}, r"^ParetoSweep\(task_config=\['epochs=3'\]\): expected the task's config"),
    ],
)
def test_hooks_and_a_task_config_of_the_wrong_shape_are_refused_naming_them(kwargs, match):
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2)
    with pytest.raises(TypeError, match=match):
        ParetoSweep(space, settings, evaluate_each(two_quadratics), **kwargs)
    with pytest.raises(TypeError, match=match):
        ParetoSweep.from_function(space, settings, two_quadratics, **kwargs)


def test_the_proposal_s_warning_filters_leave_those_other_threads_set_meanwhile():
    """Docs review: the proposal saved and restored the whole filter list, dropping a filter another thread (a trial
    of another sweep) set during it."""
    before = list(warnings.filters)
    with loop._proposal_warnings():
        warnings.filterwarnings("ignore", message="a task's own filter")
        set_meanwhile = warnings.filters[0]
    try:
        assert set_meanwhile in warnings.filters
        assert [f for f in warnings.filters if f is not set_meanwhile] == before  # ours are gone
    finally:
        warnings.filters.remove(set_meanwhile)


def test_ax_s_sobol_fallbacks_are_said_once_in_our_words(fast_ax, monkeypatch, caplog):
    """Ax warned at every proposal it replaced by a Sobol point after five repeats of tried configurations: 108
    warnings in a 200-trial EHVI sweep of a continuous space (scale review's long sweep)."""
    from ax.api.client import Client

    real = Client.get_next_trials

    def repeating(self, *args, **kwargs):
        logging.getLogger("ax.generation_strategy.generation_node").warning(
            "gen failed with error GenerationStrategy exceeded `MAX_GEN_ATTEMPTS` of 5 while trying to generate a "
            "unique parameterization. ..., switching to fallback model with generator_enum Generators.SOBOL"
        )
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Client, "get_next_trials", repeating)
    with caplog.at_level(logging.INFO):
        result = make_sweep(two_quadratics, n_trials=5, n_initial_trials=2).run()
    assert result.n_completed == 5
    assert "MAX_GEN_ATTEMPTS" not in caplog.text
    assert caplog.text.count("so Ax proposed a Sobol point in its place") == 1
    logging.getLogger("ax.generation_strategy.generation_node").warning("MAX_GEN_ATTEMPTS ... fallback")
    assert "MAX_GEN_ATTEMPTS ... fallback" in caplog.text  # the filter is the sweep's only


def test_a_sweep_whose_model_never_fell_back_to_sobol_does_not_say_it_did(fast_ax, caplog):
    with caplog.at_level(logging.INFO):
        result = make_sweep(two_quadratics, n_trials=4, n_initial_trials=2).run()
    assert result.n_completed == 4
    assert "ecopt: 1/4 trials" in caplog.text  # the sweep's lines were caught
    assert "so Ax proposed a Sobol point in its place" not in caplog.text


def test_a_proposal_slower_than_the_trials_is_said_once(fast_ax, monkeypatch, caplog):
    """Scale review: at 160-200 trials of a broad front qNEHVI took 7-10 s a proposal, with nothing said; EHVI ~1 s."""
    monkeypatch.setattr(loop, "_SLOW_PROPOSAL_S", 0.0)  # every model proposal outlasts these instant trials
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=6, n_initial_trials=3).run()
    said = [r.getMessage() for r in caplog.records if "longer than the last batch of trials" in r.getMessage()]
    assert len(said) == 1
    assert "qNEHVI's cost grows with the trials and the points on the front" in said[0]
    assert "SweepSettings(acquisition='EHVI')" in said[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=5, n_initial_trials=3, acquisition="EHVI").run()
    assert "longer than the last batch" not in caplog.text
    monkeypatch.setattr(loop, "_SLOW_PROPOSAL_S", 5.0)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=5, n_initial_trials=3).run()
    assert "longer than the last batch" not in caplog.text
    # Docs review: EHVI was offered where the sweep refuses it (batches of 2), and to a single-objective sweep.
    monkeypatch.setattr(loop, "_SLOW_PROPOSAL_S", 0.0)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=6, n_initial_trials=2, max_batch_size=2).run()
    said = [r.getMessage() for r in caplog.records if "longer than the last batch of trials" in r.getMessage()]
    assert len(said) == 1
    assert "acquisition='EHVI'" not in said[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        make_sweep(two_quadratics, objectives={"f1": "minimize"}, n_trials=5, n_initial_trials=3).run()
    assert "longer than the last batch" not in caplog.text


def test_the_sweep_restores_the_default_sigterm_handler_but_keeps_one_its_task_installed(fast_ax):
    """Its own handler is taken down after run(); one a task set for the process stays (it was reset to SIG_DFL)."""
    import signal

    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    seen: list[object] = []
    make_sweep(lambda p: seen.append(signal.getsignal(signal.SIGTERM)) or two_quadratics(p), n_trials=2).run()
    assert callable(seen[0])  # the sweep's own, while it ran (SIG_DFL is not callable)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    def task_handler(signum: int, frame: object) -> None:  # pragma: no cover - never sent
        pass

    def installs_one(p):
        signal.signal(signal.SIGTERM, task_handler)
        return two_quadratics(p)

    try:
        make_sweep(installs_one, n_trials=2).run()
        assert signal.getsignal(signal.SIGTERM) is task_handler
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _sigterm_lost_in_a_weakref_callback() -> None:
    """SIGTERM arrives while a weakref callback runs: Python prints and drops the stop its handler raises there."""
    import signal
    import weakref

    class Held:
        """An object whose last reference goes (a logging handler, a DataLoader iterator)."""

    held = Held()
    ref = weakref.ref(held, lambda _: signal.raise_signal(signal.SIGTERM))  # the handler runs inside the callback
    del held
    assert ref() is None


def _sigterm_replaced_in_a_finally() -> None:
    """SIGTERM arrives in a ``try`` whose ``finally`` raises its own (logging.shutdown's release of an untaken lock)."""
    import signal

    try:
        signal.raise_signal(signal.SIGTERM)
    finally:
        raise RuntimeError("cannot release un-acquired lock")


@pytest.mark.parametrize(
    ("lose", "second"),
    [(_sigterm_lost_in_a_weakref_callback, "completed"), (_sigterm_replaced_in_a_finally, "abandoned")],
    ids=["dropped-by-a-weakref-callback", "replaced-in-a-finally"],
)
def test_a_sigterm_that_the_trial_s_code_loses_still_stops_the_sweep(fast_ax, tmp_path, lose, second, caplog):
    """Python runs the stop handler wherever the main thread is; code there may drop the stop it raises (a weakref
    callback, a finalizer) or replace it (a ``finally`` that raises). The sweep ran on: the trial completed or failed
    (blamed on its configuration), and so did every later one. Now the sweep stops when the trial ends: one that
    returned keeps its result, one that failed so is not failed (asked again on resume)."""
    import signal

    from lightning_ecopt.exceptions import SweepTerminated

    calls: list[dict] = []

    def task(p):
        calls.append(p)
        if len(calls) == 2:
            lose()
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=4, n_initial_trials=4, storage=str(tmp_path / "sweep.json"))
    try:
        with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(SweepTerminated) as stopped:
            sweep.run()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert str(stopped.value) == "SIGTERM"
    assert len(calls) == 2  # before: 4, the sweep ran on
    assert [t.status for t in sweep.result.trials] == ["completed", second]  # before: the second failed
    assert "stopped by SIGTERM after" in caplog.text
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_sigterm_the_trial_s_code_swallows_stops_the_sweep_while_the_trial_runs_on(fast_ax, tmp_path, caplog):
    """A catch-all in the trial's own code (``except BaseException``, a library that catches and goes on) swallowed the
    stop, and the trial ran on: the sweep stopped only when it ended (here after 20 s; one that hangs, never). Now the
    signal is sent again to the main thread while its stop stays lost: the trial is cut short within seconds."""
    import signal

    from lightning_ecopt.exceptions import SweepTerminated

    calls: list[dict] = []

    def task(p):
        calls.append(p)
        if len(calls) == 2:
            try:  # noqa: SIM105 - the catch-all is the point
                signal.raise_signal(signal.SIGTERM)
            except BaseException:
                pass
            time.sleep(20)  # the trial's next step
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=4, n_initial_trials=4, storage=str(tmp_path / "sweep.json"))
    start = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(SweepTerminated) as stopped:
            sweep.run()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    took_s = time.monotonic() - start
    assert str(stopped.value) == "SIGTERM"
    assert len(calls) == 2
    assert [t.status for t in sweep.result.trials] == ["completed", "abandoned"]  # before: the second completed
    assert took_s < 15, took_s  # before: over 20 s, the trial's whole sleep
    assert "stopped by SIGTERM after 1 of 4 trials" in caplog.text
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert not [t for t in threading.enumerate() if t.name.startswith("ecopt")]  # no thread outlives the sweep


def test_a_trial_cleaning_up_after_a_stop_is_not_stopped_again_in_its_cleanup(fast_ax, tmp_path):
    """A trial that catches the stop to clean up (Lightning's teardown after an interrupt, a task's own ``except
    SweepTerminated: ...; raise``) is left to finish that cleanup, however long: the signal is sent again only while
    no code handles its stop."""
    import signal

    from lightning_ecopt.exceptions import SweepTerminated

    cleaned: list[float] = []

    def task(p):
        try:
            signal.raise_signal(signal.SIGHUP)
            time.sleep(20)
        except SweepTerminated:
            start = time.monotonic()
            time.sleep(3.5)  # longer than the interval the signal is sent again at
            cleaned.append(time.monotonic() - start)
            raise
        return two_quadratics(p)

    sweep = make_sweep(task, n_trials=2, n_initial_trials=2, storage=str(tmp_path / "sweep.json"))
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        with pytest.raises(SweepTerminated) as stopped:
            sweep.run()
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert str(stopped.value) == "SIGHUP"
    assert len(cleaned) == 1
    assert cleaned[0] >= 3.5  # not cut short by a second stop
    assert [t.status for t in sweep.result.trials] == ["abandoned"]


def test_a_ctrl_c_s_save_is_not_cut_short_by_a_lost_stop_sent_again(fast_ax, tmp_path, caplog, monkeypatch):
    """A stop the trial's code swallowed, then a Ctrl-C: the lost stop's signal was sent again while the sweep saved
    for the Ctrl-C (a ``KeyboardInterrupt`` is no ``SweepTerminated``), and its stop, raised inside that save, failed
    it ("saving failed, the files of the last finished batch are kept"). A Ctrl-C is a stop on its way too."""
    import signal

    from lightning_ecopt.sweeper import stops

    monkeypatch.setattr(stops, "_RESEND_S", 0.05)
    calls: list[dict] = []
    interrupted: list[bool] = []

    def task(p):
        calls.append(p)
        if len(calls) == 2:
            try:  # noqa: SIM105 - the catch-all is the point
                signal.raise_signal(signal.SIGTERM)
            except BaseException:
                pass
            interrupted.append(True)
            raise KeyboardInterrupt  # the user's Ctrl-C, before the lost stop is sent again
        return two_quadratics(p)

    save = ParetoSweep._save

    def slow_save(self, client):
        if interrupted:  # the save for the Ctrl-C: long enough for the stop to be sent again several times
            time.sleep(0.5)
        return save(self, client)

    monkeypatch.setattr(ParetoSweep, "_save", slow_save)
    sweep = make_sweep(task, n_trials=4, n_initial_trials=4, storage=str(tmp_path / "sweep.json"))
    try:
        with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(KeyboardInterrupt) as stopped:
            sweep.run()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    assert type(stopped.value) is KeyboardInterrupt
    assert "saving failed" not in caplog.text
    assert "interrupted after 1 of 4 trials; saved to" in caplog.text
    assert [t.status for t in sweep.result.trials] == ["completed", "abandoned"]


def test_a_job_that_lightning_stopped_on_sigterm_says_so(fast_ax):
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    def preempted(p):  # a trial job under SLURM: its time limit sends SIGTERM, Lightning raises SIGTERMException
        raise SIGTERMException(None)

    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=1, n_initial_trials=1, seed=0, max_failure_rate=1.0
    )
    result = ParetoSweep.from_function(space, settings, preempted).run()
    # Before: "the task called sys.exit(None) (SystemExit); raise an exception to fail a trial".
    assert result.trials[0].reason.startswith("the job received SIGTERM (a scheduler's time limit, a preemption")


@pytest.mark.parametrize(
    ("reference_point", "warned"),
    [({"f1": -1.0, "f2": 2.0}, ["f1"]), ({"f1": 0.5, "f2": 0.5}, [])],  # f1 >= 0 always; a tight but reachable box
)
def test_a_given_reference_value_no_trial_beats_is_warned_once(fast_ax, caplog, reference_point, warned):
    sweep = make_sweep(two_quadratics, n_trials=4, n_initial_trials=3, reference_point=reference_point)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        result = sweep.run()
    messages = [r.getMessage() for r in caplog.records if "is beaten by none of the" in r.getMessage()]
    assert [m.split("=")[0].rsplit(" ", 1)[-1] for m in messages] == warned  # once, after the Sobol trials
    if warned:
        assert "the given reference value f1=-1 (minimize: the worst acceptable value)" in messages[0]
        assert "Give a value above what the trials reach" in messages[0]
        assert result.hypervolume == 0


def _sized(p):
    return {**two_quadratics({"x1": 0.5, **p}), "model/size": 812.0 + p["x0"]}


@pytest.mark.parametrize(
    ("constraints", "params", "warned"),
    [
        # A bound on a metric that is no objective: before, "done: ... Pareto set 0, hypervolume 0" and no warning.
        # Judged once the 3 Sobol trials are done.
        (["model/size <= 1"], TWO_D, ["'model/size <= 1' (0 of 3 meet it, best 812."]),
        (["model/size <= 1", "f1 <= 5"], TWO_D, ["'model/size <= 1' (0 of 3 meet", "'f1 <= 5' (3 of 3 meet it"]),
        # Two configurations: the space is exhausted inside the Sobol phase, so it is judged at the end.
        (["model/size <= 1"], {"x0": "choice(0, 1)"}, ["'model/size <= 1' (0 of 2 meet it, best 812)"]),
        (["model/size <= 900"], TWO_D, []),  # met
        (["f1 <= -1"], TWO_D, []),  # on an objective: its own warning ("beaten by none"), not two
    ],
)
def test_constraints_no_completed_trial_meets_are_warned_once_with_the_best_value_reached(
    fast_ax, caplog, constraints, params, warned
):
    sweep = make_sweep(_sized, params, n_trials=4, n_initial_trials=3, outcome_constraints=constraints)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        result = sweep.run()
    messages = [r.getMessage() for r in caplog.records if "no completed trial meets the outcome" in r.getMessage()]
    assert len(messages) == (1 if warned else 0)
    for part in warned:
        assert part in messages[0]
    if warned:
        assert result.pareto_indices == ()
        assert "loosen the constraint no trial meets, or change the search space" in messages[0]


def test_the_sweep_s_warnings_show_a_count_as_its_count_not_to_six_digits(fast_ax, caplog):
    # A model's parameter count, returned as Lightning logs it (a float): "best 1.23457e+06", "is 1.23457e+06 in all"
    # and "model/params=1000 ... (best 1.23457e+06)" named a count that no trial had.
    def counted(p):
        return {"f1": p["x0"], "model/params": 1234567.0, "model/flops_per_sample": 2345678.0}

    sweep = make_sweep(
        counted,
        objectives={"f1": "minimize", "model/params": "minimize"},
        n_trials=4,
        n_initial_trials=3,
        reference_point={"f1": 2.0, "model/params": 1000.0},
        outcome_constraints=["model/flops_per_sample <= 1"],
    )
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        sweep.run()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "'model/flops_per_sample <= 1' (0 of 3 meet it, best 2345678)" in text
    assert "objective 'model/params' is 1234567 in all 3 completed trials" in text
    assert (
        "the given reference value model/params=1000 (minimize: the worst acceptable value) is beaten by none" in text
    )
    assert "(best 1234567)" in text
    assert "e+06" not in text


NINE = {"a": "choice(0, 1, 2)", "b": "choice(x, y, z)"}  # nine configurations


def _nine(p):
    a, b = p["a"], "xyz".index(p["b"])
    return {"f1": a + 0.1 * b, "f2": (2 - a) + 0.2 * (2 - b)}


def test_a_configuration_the_process_died_on_twice_is_never_proposed_again(fast_ax, tmp_path):
    space = parse_search_space(NINE, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=9, n_initial_trials=3, seed=0, storage=tmp_path / "ax.json"
    )
    first = _evaluated_unsaved(space, settings, _nine, n_trials=3)
    victim = first[1]

    def evaluate(batch):
        if victim in batch:
            raise _Interrupt("killed")
        return [_nine(p) for p in batch]

    for _ in range(2):
        with pytest.raises(_Interrupt):
            ParetoSweep(space, settings, evaluate, on_batch_end=[]).run()
    result = ParetoSweep(space, settings, evaluate, on_batch_end=[]).run()
    # It stayed FAILED in Ax, whose arms Ax proposes again: each repeat spent a trial as a reused failure (4 of 9).
    assert [t.status for t in result.trials if t.params == victim] == ["abandoned", "failed"]
    assert result.n_reused == 0
    assert result.n_completed == 8  # every other configuration


def test_a_sys_exit_from_a_batch_function_is_a_crash_not_a_user_stop(fast_ax, tmp_path):
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=3, n_initial_trials=3, max_batch_size=2, seed=0,
        storage=tmp_path / "ax.json",
    )  # fmt: skip
    first = _evaluated_unsaved(space, settings)

    def exits_on_the_second(batch):  # a batch function (not evaluate_each) whose task calls sys.exit(3)
        if first[1] in batch:
            sys.exit(3)
        return [two_quadratics(p) for p in batch]

    with pytest.raises(SystemExit):
        ParetoSweep(space, settings, exits_on_the_second, on_batch_end=[]).run()
    # Saved as a user's Ctrl-C, the batch reran together and exited the same way on every rerun. As a crash, each
    # configuration runs alone first: the one that exits fails its own trial, and the sweep ends.
    result = ParetoSweep(space, settings, exits_on_the_second, on_batch_end=[]).run()
    assert result.n_finished == 3
    failed = [t for t in result.trials if t.status == "failed"]
    assert [t.params for t in failed] == [first[1]]
    assert failed[0].reason.startswith("the task called sys.exit(3)")


def test_a_sweep_stopped_between_a_trials_creation_and_its_start_resumes(fast_ax, tmp_path, monkeypatch):
    from ax.core.trial import Trial

    real, calls = Trial.mark_running, []

    def ctrl_c_on_the_second(self, *args, **kwargs):  # inside Ax's get_next_trials: the trial is still a CANDIDATE
        calls.append(self.index)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    storage = tmp_path / "ax.json"
    monkeypatch.setattr(Trial, "mark_running", ctrl_c_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        make_sweep(two_quadratics, n_trials=3, n_initial_trials=3, storage=storage).run()
    monkeypatch.setattr(Trial, "mark_running", real)
    # The stop is saved as one: the trial is in the results file as abandoned, and flagged a clean stop.
    saved = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert [(t["trial_index"], t["status"]) for t in saved["trials"]] == [(0, "completed"), (1, "abandoned")]
    from lightning_ecopt.sweeper.loop import _STOPPED_KEY

    stored = json.loads(storage.read_text())["experiment"]["trials"]
    stored = list(stored.values()) if isinstance(stored, dict) else stored
    assert (stored[1].get("run_metadata") or {}).get(_STOPPED_KEY) is True  # before: none, so a "crash"
    # Ax refused to mark the saved CANDIDATE trial failed (TrialMutationError) on every rerun.
    result = make_sweep(two_quadratics, n_trials=3, n_initial_trials=3, storage=storage).run()
    assert result.n_completed == 3


def test_a_sweep_run_again_after_an_interruption_starts_from_what_it_saved_not_its_live_records(fast_ax, tmp_path):
    calls: list[dict] = []

    def interrupted_on_the_third(p):
        calls.append(p)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return two_quadratics(p)

    # Without storage: the rerun resumes the experiment kept in memory (as Ax saved it, not the run's live records):
    # the two finished trials stay, the two the interruption cut short run again, and none is "reused" (each had
    # reused itself from stale records, never evaluated).
    sweep = make_sweep(interrupted_on_the_third, n_trials=4, n_initial_trials=4)
    with pytest.raises(KeyboardInterrupt):
        sweep.run()
    result = sweep.run()
    assert (result.n_completed, len(calls)) == (4, 5)
    assert [t.reused_from for t in result.trials if t.status == "completed"] == [None] * 4
    # With storage: a run stopped for its failures, the task fixed, run again: its stop reason is the first run's.
    broken = {"yes": True}

    def fixed_later(p):
        if broken["yes"]:
            raise RuntimeError("broken")
        return two_quadratics(p)

    sweep = make_sweep(fixed_later, n_trials=8, n_initial_trials=4, max_failure_rate=0.2, storage=tmp_path / "ax.json")
    with pytest.raises(SweepFailureError):
        sweep.run()
    broken["yes"] = False
    result = sweep.run()
    assert result.n_finished == 8
    assert result.stop_reason is None


def test_a_repeat_of_a_trial_measured_side_by_side_keeps_its_tag(fast_ax):
    from lightning_ecopt.sweeper import loop

    space = parse_search_space({"x0": "interval(0, 1)"}, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=3, n_initial_trials=3, max_batch_size=3, parallel_trials=True,
        seed=0,
    )  # fmt: skip
    measured = {"energy/source": "measured: zeus/rapl"}  # shared counters matter to measured figures only
    sweep = ParetoSweep.from_function(
        space, settings, lambda p: {"f1": p["x0"], "f2": 1 - p["x0"], **measured}, on_batch_end=[]
    )
    with loop._quiet_ax():
        client = sweep._open()
        batch = {client.attach_trial(parameters={"x0": x}): {"x0": x} for x in (0.25, 0.75, 0.25)}
        sweep._run_batch(client, batch)  # the third repeats the first, measured beside the second
    trials = sweep._result().trials
    assert trials[2].reused_from == 0
    assert trials[0].shared_counters is True
    assert trials[2].shared_counters is True  # its figures are trial 0's: measured side by side as well


def test_an_objective_the_same_in_every_trial_is_said_once_not_at_every_proposal(fast_ax, caplog):
    # Accuracy saturated at 1.0: BoTorch's "InputDataWarning: Data (outcome observations) is not standardized (std =
    # tensor([1., 0.]) ...)" came at every model proposal, naming neither the objective nor a fix.
    from botorch.exceptions.warnings import InputDataWarning

    sweep = make_sweep(lambda p: {"f1": 1.0, "f2": p["x0"]}, n_trials=6, n_initial_trials=3)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        warnings.simplefilter("always")
        sweep.run()
    assert [w for w in caught if issubclass(w.category, InputDataWarning)] == []
    said = [r.getMessage() for r in caplog.records if "learns nothing" in r.getMessage()]
    assert said == [
        "ecopt: objective 'f1' is 1 in all 3 completed trials: the model learns nothing from it, so the search follows "
        "the other objectives; widen the search space, or use a finer metric (a loss rather than an accuracy, or more "
        "evaluation samples); where it cannot vary over this space (one set of weights over inference settings), it "
        "may as well be left out of the objectives."
    ]


def _scaled_quadratics(scale):
    return lambda p: {f: v * scale for f, v in two_quadratics(p).items() if f != "energy/source"}


def _bounded_quadratics(scale):
    return lambda p: {**two_quadratics(p), "e": (p["x0"] + 2 * p["x1"]) * scale}


def _proposed(result):
    return np.array([[t.params["x0"], t.params["x1"]] for t in result.trials])


def test_objectives_in_tiny_units_are_modelled_as_in_units_of_one(fast_ax, caplog):
    """Energy in kWh per inference (~1e-11): Ax's StandardizeY (and BoTorch's Standardize) leave an outcome whose
    standard deviation is below an absolute 1e-8 unscaled, so the model took it for constant and proposed as well as
    Sobol did (20 trials at 1e-12: 90 % of the hypervolume at 1); standardised with a floor relative to its magnitude,
    it proposes what the same task in units of one does, and nothing is said."""
    ones = make_sweep(_scaled_quadratics(1.0), n_trials=6, n_initial_trials=3).run()
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        tiny = make_sweep(_scaled_quadratics(1e-12), n_trials=6, n_initial_trials=3).run()
    np.testing.assert_allclose(_proposed(tiny), _proposed(ones), atol=0.01)  # flat: 0.4-0.9 apart
    assert "standardises" not in caplog.text


def test_a_bound_on_a_metric_in_tiny_units_steers_the_proposals(fast_ax, caplog):
    """A bound on energy in kWh (``e <= 6e-10``): modelled as constant, it did not steer the proposals (16 of 16
    model proposals broke it over 20 trials; 1 in units of 1e-6); now they are those of the bound in units of 1e-6."""
    micro = make_sweep(_bounded_quadratics(1e-6), n_trials=6, n_initial_trials=3, outcome_constraints=["e <= 6e-7"])
    nano = make_sweep(_bounded_quadratics(1e-9), n_trials=6, n_initial_trials=3, outcome_constraints=["e <= 6e-10"])
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        proposed = _proposed(nano.run())
    np.testing.assert_allclose(proposed, _proposed(micro.run()), atol=0.01)
    assert "standardises" not in caplog.text


def test_a_sweep_saved_before_it_standardised_tiny_outcomes_keeps_its_model_and_says_so_once(
    fast_ax, tmp_path, monkeypatch, caplog
):
    """Its strategy names Ax's StandardizeY, whose model takes a metric varying by less than 1e-8 for constant: the
    resumed sweep keeps it (its proposals stay those it would have made) and warns once per such objective and
    constrained metric; a new sweep models them."""
    from lightning_ecopt.sweeper import standardize

    def tiny(p):
        return {"f1": p["x0"] * 1e-9, "f2": (1 - p["x0"]) * 1e-9 + p["x1"] * 1e-9, "e": (p["x0"] + 2 * p["x1"]) * 1e-9}

    storage = tmp_path / "ax.json"
    constraints = ["e <= 1.5e-9", "e >= 1e-10"]
    with monkeypatch.context() as before:  # its strategy saved with Ax's transforms
        before.setattr(standardize, "configure_scale_free", lambda kwargs: False)
        make_sweep(tiny, n_trials=3, n_initial_trials=3, storage=storage, outcome_constraints=constraints).run()
    assert "ScaleFreeStandardizeY" not in storage.read_text()
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        make_sweep(tiny, n_trials=5, n_initial_trials=3, storage=storage, outcome_constraints=constraints).run()
    said = [r.getMessage() for r in caplog.records if "standardises" in r.getMessage()]
    assert [m.split(" varies")[0] for m in said] == [
        "ecopt: objective 'f1'",
        "ecopt: objective 'f2'",
        "ecopt: metric 'e' of the outcome constraints 'e <= 1.5e-09', 'e >= 1e-10'",  # once, naming both bounds
    ]
    assert all("saved strategy" in m and "a new sweep models it as it is" in m for m in said)
    assert "as good as random" in said[0]
    assert "its bounds in the same" in said[2]
    assert "ScaleFreeStandardizeY" not in storage.read_text()  # kept as saved
    caplog.clear()
    new = tmp_path / "new" / "ax.json"
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        result = make_sweep(tiny, n_trials=5, n_initial_trials=3, storage=new, outcome_constraints=constraints).run()
    assert result.n_completed == 5
    assert "standardises" not in caplog.text
    assert "ScaleFreeStandardizeY" in new.read_text()  # saved with the strategy


def test_objectives_all_the_same_in_every_trial_are_not_said_to_leave_the_search_to_the_others(fast_ax, caplog):
    """Every objective constant (accuracy 1.0 and a fixed energy): each warning said "the search follows the other
    objectives", which are as constant."""
    sweep = make_sweep(lambda p: {"f1": 1.0, "f2": 0.1}, n_trials=5, n_initial_trials=3)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        sweep.run()
    said = [r.getMessage() for r in caplog.records if "learns nothing" in r.getMessage()]
    assert len(said) == 2
    assert all("so its proposals are as good as random;" in m for m in said)
    assert not any("follows the other objectives" in m for m in said)


@pytest.mark.parametrize("acquisition", ["qLogNEHVI", "qNEHVI"])
def test_botorchs_qlognehvi_kernel_is_prepared_before_the_first_model_proposal_only(fast_ax, monkeypatch, acquisition):
    from lightning_ecopt.sweeper import fused_kernel

    completed_at_call: list[int] = []
    sweep = make_sweep(two_quadratics, n_trials=4, n_initial_trials=2, acquisition=acquisition)
    monkeypatch.setattr(
        fused_kernel,
        "prepare_log_hypervolume_kernel",
        lambda: completed_at_call.append(sweep._n_completed()),
    )
    result = sweep.run()
    assert len(result.trials) == 4
    # Not while Sobol proposes; before each model proposal (it returns at once after the first).
    assert completed_at_call == ([2, 3] if acquisition == "qLogNEHVI" else [])


def test_trials_running_at_ctrl_c_are_in_the_results_file_until_the_resume(fast_ax, tmp_path):
    """Not left out: ``ecopt report`` then counts their energy as unknown and calls its total a lower bound."""
    from lightning_ecopt.report import build_report

    storage = tmp_path / "ax_experiment.json"
    space = parse_search_space(TWO_D, [])
    settings = SweepSettings(
        parse_objectives(MIN_MIN, None), n_trials=6, n_initial_trials=4, max_batch_size=2, seed=0, storage=storage
    )
    batches = []

    def ctrl_c_in_second_batch(batch):
        batches.append(batch)
        if len(batches) == 2:
            raise KeyboardInterrupt
        return [{**two_quadratics(p), "energy/test_j": 1.0, "energy/train_j": 2.0} for p in batch]

    with pytest.raises(KeyboardInterrupt):
        ParetoSweep(space, settings, ctrl_c_in_second_batch).run()
    saved = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert (saved["counts"]["finished"], saved["counts"]["abandoned"]) == (2, 2)
    cut = [t for t in saved["trials"] if t["status"] == "abandoned"]
    assert [t["trial_index"] for t in cut] == [2, 3]
    assert all(t["reason"] == loop._INTERRUPTED_UNRESUMED for t in cut)
    assert build_report(tmp_path).ledger.lower_bound  # 2 trials ran for a while: their energy is not known
    result = ParetoSweep(space, settings, lambda batch: [two_quadratics(p) for p in batch]).run()
    assert result.n_finished == 6
    assert [(t.trial_index, t.reason) for t in result.trials if t.status == "abandoned"] == [
        (2, loop._INTERRUPTED),
        (3, loop._INTERRUPTED),
    ]


def test_a_second_run_without_storage_goes_on_from_memory_not_from_scratch(fast_ax):
    """Without ``storage``, memory stands in for the file: a second :meth:`run` resumes what the first left (as after
    Ctrl-C in a notebook), and a finished sweep evaluates nothing again, rather than spending its energy twice."""
    calls: list[dict] = []

    def ctrl_c_on_the_third(p):
        calls.append(p)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return two_quadratics(p)

    sweep = make_sweep(ctrl_c_on_the_third, n_trials=5, n_initial_trials=4, max_batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        sweep.run()
    result = sweep.run()
    assert result.n_finished == 5
    assert len(calls) == 6  # two before Ctrl-C, the one it cut short, and three more
    assert calls[3] == calls[2]  # the configuration Ctrl-C cut short runs first again
    assert [t.status for t in result.trials].count("abandoned") == 1
    again = sweep.run()
    assert len(calls) == 6  # finished: nothing runs again
    assert [(t.trial_index, t.params, t.metrics) for t in again.trials] == [
        (t.trial_index, t.params, t.metrics) for t in result.trials
    ]
    sweep.settings = dataclasses.replace(sweep.settings, n_trials=7)  # a larger budget extends it
    assert sweep.run().n_finished == 7
    assert len(calls) == 8
    sweep.settings.n_trials = "9"  # type: ignore[assignment]  # set by hand: checked at run(), as when built
    with pytest.raises(EcoptConfigError, match=r"n_trials='9'"):
        sweep.run()
    assert len(calls) == 8


def test_a_sweep_kept_in_memory_speaks_of_itself_not_of_files(fast_ax, monkeypatch, caplog):
    """Without storage there is no file to delete nor sweep dir to choose: the way to start over is a new sweep."""
    sweep = make_sweep(two_quadratics, n_trials=3, n_initial_trials=3)
    sweep.run()
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        sweep.run()  # finished: said at WARNING, not only in an INFO resume line
    assert (
        "this sweep's earlier run() (kept in memory: no storage) is a finished sweep (3 of 3 trials): nothing is"
        in (caplog.text)
    )
    assert "Raise n_trials to go on, or build a new ParetoSweep to start over." in caplog.text
    flipped = parse_objectives({"f1": "maximize", "f2": "minimize"}, None)
    sweep.settings = dataclasses.replace(sweep.settings, objectives=flipped)
    with pytest.raises(EcoptConfigError) as refused:
        sweep.run()
    assert "To start fresh, build a new ParetoSweep, or restore the original objectives" in str(refused.value)
    assert "delete" not in str(refused.value)
    assert "hydra.sweep.dir" not in str(refused.value)
    sweep.settings = dataclasses.replace(
        sweep.settings, objectives=parse_objectives(MIN_MIN, None), n_trials=2, n_initial_trials=2
    )
    match = r"^SweepSettings\(n_trials=2\), but this sweep's earlier run\(\) \(kept in memory"
    with pytest.raises(EcoptConfigError, match=match):
        sweep.run()


def test_a_run_stopped_while_ax_is_configured_leaves_nothing_half_made_to_resume(fast_ax, monkeypatch):
    calls: list[dict] = []
    sweep = make_sweep(lambda p: calls.append(p) or two_quadratics(p), n_trials=3, n_initial_trials=3)
    real = ParetoSweep._generation_strategy

    def ctrl_c_once(self):
        monkeypatch.setattr(ParetoSweep, "_generation_strategy", real)
        raise KeyboardInterrupt

    monkeypatch.setattr(ParetoSweep, "_generation_strategy", ctrl_c_once)
    with pytest.raises(KeyboardInterrupt):
        sweep.run()
    assert sweep.run().n_finished == 3  # a fresh start: it had failed on Ax's half-configured client for good
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("third", "refused"),
    [
        ("estimated: tdp-model", True),  # a user's meter beside the CPU-time fallback: another model of joules
        ("Estimated:  CPU-time", False),  # the same model, written otherwise
    ],
)
def test_estimates_of_another_model_are_refused(fast_ax, third, refused):
    # Only the kinds were compared: 'estimated: tdp-model' and 'estimated: cpu-time' made one frontier.
    calls = []

    def task(p):
        calls.append(p)
        return {**two_quadratics(p), "energy/source": third if len(calls) == 3 else "estimated: cpu-time"}

    result = make_sweep(task, n_trials=4, n_initial_trials=4).run()
    assert result.trials[2].status == ("failed" if refused else "completed")
    if refused:
        assert "is another model than 'estimated: cpu-time' (trial 0" in result.trials[2].reason
    assert all(t.status == "completed" for i, t in enumerate(result.trials) if i != 2)


def test_derived_batch_seeds_stay_put_and_seeds_above_2_63_get_their_own() -> None:
    """The seeds a sweep has always derived are kept (a seeded sweep reruns the same); 2**63 + s no longer repeats s."""
    assert [loop._derive_seed(s, n) for s, n in ((0, 0), (5, 3), (-1, 0))] == [821328062, 727168946, 454035966]
    assert loop._derive_seed(2**63 + 5, 3) != loop._derive_seed(5, 3)
    assert loop._derive_seed(2**64 - 1, 0) != loop._derive_seed(2**63 - 1, 0)


def test_estimates_with_other_constants_are_another_model_and_refused(fast_ax):
    """A run resumed with ``watts_per_thread=4`` beside trials of 5 W was labelled alike and ranked on one scale."""
    from lightning_ecopt.energy.estimator import CpuTimeEstimator

    calls = []

    def task(p):
        calls.append(p)
        estimator = CpuTimeEstimator(watts_per_thread=4.0 if len(calls) == 3 else 5.0)
        return {**two_quadratics(p), "energy/source": estimator.source}

    result = make_sweep(task, n_trials=4, n_initial_trials=4).run()
    assert [t.status for t in result.trials] == ["completed", "completed", "failed", "completed"]
    assert result.trials[2].energy_source == "estimated: cpu-time (4 W/thread)"
    assert "'estimated: cpu-time (4 W/thread)' is another model than 'estimated: cpu-time'" in result.trials[2].reason
    # Its first trial ran in this run, labelled as this version labels (at the defaults): not the note for a sweep
    # started before 2026-12-05 (test_a_sweep_estimated_at_other_constants_before_their_label_is_told_how_to_resume).
    assert "before 2026-12-05" not in result.trials[2].reason


def test_a_sweep_estimated_at_other_constants_before_their_label_is_told_how_to_resume(fast_ax, tmp_path):
    """Started before 2026-12-05 at 4 W (labelled 'estimated: cpu-time' then), resumed at 4 W: every trial refused,
    and the advice to 'estimate every trial with the same model' was what the user had done (review)."""
    from lightning_ecopt.energy.estimator import cpu_time_source

    store = tmp_path / "ax.json"
    before = make_sweep(lambda p: {**two_quadratics(p), "energy/source": "estimated: cpu-time"}, n_trials=3,
                        n_initial_trials=3, storage=store).run()  # fmt: skip
    assert before.n_completed == 3
    task = lambda p: {**two_quadratics(p), "energy/source": cpu_time_source(4.0)}  # noqa: E731
    after = make_sweep(task, n_trials=4, n_initial_trials=3, storage=store, max_failure_rate=1.0).run()
    assert after.trials[3].status == "failed"
    assert "before 2026-12-05 labelled every CPU-time estimate 'estimated: cpu-time'" in after.trials[3].reason
    assert "SweepSettings(allow_mixed_energy_sources=True, retry_failed=True) to go on" in after.trials[3].reason
    resumed = make_sweep(task, n_trials=5, n_initial_trials=3, storage=store, allow_mixed_energy_sources=True).run()
    assert resumed.trials[4].status == "completed"


def test_a_measured_sweep_resumed_where_only_the_estimate_runs_is_told_what_to_do_not_to_fix_the_task(
    fast_ax, tmp_path
):
    """Resumed on a host without the sweep's counters, each trial trains and is refused until the failure rate stops
    the run; the stop said "Fix the task ... or raise max_failure_rate", which would only refuse more (mixed hosts)."""
    store = tmp_path / "ax.json"
    measured = lambda p: {**two_quadratics(p), "energy/source": "measured: zeus/rapl"}  # noqa: E731
    assert make_sweep(measured, n_trials=3, n_initial_trials=3, storage=store).run().n_completed == 3
    estimated = make_sweep(two_quadratics, n_trials=10, n_initial_trials=3, storage=store)
    with pytest.raises(SweepFailureError) as caught:
        estimated.run()
    message = str(caught.value)
    assert "3 of the 3 trials this run evaluated failed" in message
    assert "Fix the task" not in message
    assert "refused for its energy source, beside the sweep's 'measured: zeus/rapl' figures" in message
    assert "a higher max_failure_rate would only spend more trials" in message
    assert "EnergyCallback(meter='estimate')" in message
    assert "SweepSettings(allow_mixed_energy_sources=True)" in message


def test_a_function_task_returning_a_series_gets_each_metric_by_name(fast_ax):
    """``return df.iloc[-1]``: a Series in another order than the objectives was read by position."""
    pd = pytest.importorskip("pandas")
    reversed_order = lambda p: pd.Series({"f2": 10 + p["x0"], "f1": p["x0"]})  # noqa: E731
    result = make_sweep(reversed_order, n_trials=2, n_initial_trials=2).run()
    assert [t.status for t in result.trials] == ["completed"] * 2
    for trial in result.trials:
        assert trial.metrics == {"f1": trial.params["x0"], "f2": 10 + trial.params["x0"]}


@pytest.mark.parametrize("hydra", [False, True])
def test_a_time_limit_outside_the_main_thread_says_what_limits_a_trial_there(monkeypatch, caplog, hydra):
    """A Python caller (no launcher) was told to use hydra.launcher.timeout or submitit's timeout_min."""
    from lightning_ecopt.sweeper import timeout

    monkeypatch.setattr(timeout, "_WARNED", set())
    call = (
        (lambda: timeout.TimedTask(lambda cfg: cfg, 5.0)(1))
        if hydra
        else (lambda: timeout.call_with_timeout(lambda x: x, 5.0, 1))
    )
    out: list[int] = []
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        thread = threading.Thread(target=lambda: out.append(call()))  # a launcher's worker, or a web app's
        thread.start()
        thread.join(30)
    assert out == [1]
    (message,) = [r.getMessage() for r in caplog.records if "not enforced" in r.getMessage()]
    if hydra:
        assert message.startswith("hydra.sweeper.trial_timeout_s=5 is not enforced here")  # the key the user set
        assert "hydra.launcher.timeout (joblib) or timeout_min (submitit)" in message
    else:
        assert message.startswith("SweepSettings(trial_timeout_s=5) is not enforced here")
        assert "run run() in the main thread (SIGALRM works only there), or run each trial in a subprocess" in message
        assert "hydra" not in message


def test_a_trial_timeout_replaced_on_a_built_function_sweep_holds_from_the_next_run(fast_ax):
    """``from_function`` bound the limit when built: raised from 0.1 s to 5 s it still timed out at 0.1 s."""

    def slow(p):
        time.sleep(0.3)
        return two_quadratics(p)

    sweep = make_sweep(slow, n_trials=1, trial_timeout_s=0.1)
    with pytest.raises(SweepFailureError):
        sweep.run()
    assert sweep.result is not None
    assert sweep.result.trials[0].reason.startswith("timed out: the trial ran longer than trial_timeout_s=0.1 s")
    sweep.settings = dataclasses.replace(sweep.settings, n_trials=2, trial_timeout_s=5)
    assert [t.status for t in sweep.run().trials] == ["failed", "completed"]
    sweep.settings = dataclasses.replace(sweep.settings, n_trials=3, trial_timeout_s=None)
    assert [t.status for t in sweep.run().trials] == ["failed", "completed", "completed"]
    sweep.settings = dataclasses.replace(sweep.settings, n_trials=4, trial_timeout_s=0.1)  # None -> a limit holds
    result = sweep.run()
    assert result.trials[3].status == "failed"
    assert result.trials[3].reason.startswith("timed out")


def test_enqueued_trials_replaced_on_a_built_sweep_are_checked_and_run_at_the_next_run(fast_ax):
    """``enqueue_trials`` was checked and copied when the sweep was built: a list given since never ran, and a value
    outside the space was not refused."""
    seen = []
    sweep = make_sweep(lambda p: seen.append(dict(p)) or two_quadratics(p), n_trials=2, n_initial_trials=2)
    sweep.run()
    outside = [{"x0": 0.125, "x1": 0.5}, {"x0": 5.0, "x1": 0.5}]
    sweep.settings = dataclasses.replace(sweep.settings, n_trials=4, enqueue_trials=outside)
    with pytest.raises(EcoptConfigError, match=r"enqueue_trials\[1\]=.*'x0': 5.0 is outside its range \[0.0, 1.0\]"):
        sweep.run()
    assert len(seen) == 2
    sweep.settings = dataclasses.replace(sweep.settings, enqueue_trials=outside[:1])
    result = sweep.run()
    assert seen[2] == {"x0": 0.125, "x1": 0.5}
    assert result.n_finished == 4


def test_a_function_task_gets_the_fixed_values_of_the_space_the_sweep_has_now(fast_ax):
    """``from_function`` closed over ``space.fixed`` when built: after ``sweep.space = ...`` the task got the old."""
    seen = []
    sweep = ParetoSweep.from_function(
        parse_search_space({**TWO_D, "epochs": 3}, []),
        SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2, n_initial_trials=2, seed=0),
        lambda p: seen.append(p["epochs"]) or two_quadratics(p),
    )
    sweep.space = parse_search_space({**TWO_D, "epochs": 5}, [])
    sweep.run()
    assert seen == [5, 5]


def test_a_sweep_kept_in_memory_goes_on_in_a_storage_file_given_since(fast_ax, tmp_path, caplog):
    """Given ``storage`` after runs in memory, the sweep started over: 4 trials, then 6 more instead of 2."""
    calls = []
    sweep = make_sweep(lambda p: calls.append(p) or two_quadratics(p), n_trials=4, n_initial_trials=3)
    before = sweep.run()
    storage = tmp_path / "sweep" / "ax.json"
    sweep.settings = dataclasses.replace(sweep.settings, n_trials=6, storage=storage)
    result = sweep.run()
    assert len(calls) == 6
    assert result.n_finished == 6
    assert [t.params for t in result.trials[:4]] == [t.params for t in before.trials]
    assert storage.exists()
    assert (storage.parent / RESULTS_FILENAME).exists()
    # The file holds the whole sweep: a new process resumes it as finished.
    again = ParetoSweep.from_function(sweep.space, sweep.settings, calls.append, on_batch_end=[]).run()
    assert len(calls) == 6
    assert [t.params for t in again.trials] == [t.params for t in result.trials]
    # A file that exists already is resumed, and said to set the one in memory aside.
    other = make_sweep(two_quadratics, n_trials=1, n_initial_trials=1)
    other.run()
    other.settings = dataclasses.replace(sweep.settings)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        assert [t.params for t in other.run().trials] == [t.params for t in result.trials]
    assert "holds a saved sweep: it is resumed, and the one this ParetoSweep kept in memory" in caplog.text


def test_a_seed_past_32_bits_draws_its_own_sobol_points_and_a_saved_sweep_keeps_its_own(fast_ax, tmp_path, monkeypatch):
    """Torch's Sobol scrambling keeps 32 bits of its seed: seeds 0, 2**32 and 2**40 drew the same points."""

    def sobol(seed, task=two_quadratics, **settings):
        settings.setdefault("n_trials", 2)
        result = make_sweep(task, n_initial_trials=settings["n_trials"], seed=seed, **settings).run()
        return [t.params for t in result.trials if t.status == "completed"]

    assert sobol(2**32) != sobol(0)
    assert sobol(2**40) not in (sobol(0), sobol(2**32))
    assert sobol(-1) != sobol(2**32 - 1)
    assert loop._sobol_seed(12345) == 12345  # the points a seed below 2**32 always drew
    # A sweep saved by a version that passed the seed as it was resumes with the Sobol points it was drawing.
    calls = []

    def ctrl_c_on_the_third(p):
        calls.append(p)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    with monkeypatch.context() as patched:
        patched.setattr(loop, "_sobol_seed", lambda seed: seed)
        uninterrupted = sobol(2**32, n_trials=4)
        with pytest.raises(KeyboardInterrupt):
            sobol(2**32, ctrl_c_on_the_third, n_trials=4, storage=storage)
    assert sobol(2**32, n_trials=4, storage=storage) == uninterrupted


def test_a_retried_configuration_is_answered_from_its_retry_in_later_runs(tmp_path):
    """Its old failure answered a repeat of it in every run after the retry: completed, then failed again (review)."""
    state = {"bug": True}

    def task(p):
        if state["bug"] and p["a"] == 3:
            raise RuntimeError("diverged")
        return {"f1": float(p["a"]), "f2": -float(p["a"]), "energy/source": "estimated: cpu-time"}

    A, C = {"a": 1, "b": "x"}, {"a": 3, "b": "x"}
    space = parse_search_space({"a": "choice(1, 2, 3)", "b": "choice(x, y)"}, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2, n_initial_trials=2, max_failure_rate=1.0,
                             storage=tmp_path / "ax.json")  # fmt: skip
    _ScriptedSweep(space, settings, evaluate_each(task), script=[A, C]).run()
    state["bug"] = False
    retried = dataclasses.replace(settings, n_trials=3, retry_failed=True)
    _ScriptedSweep(space, retried, evaluate_each(task), script=[C]).run()
    later = _ScriptedSweep(space, dataclasses.replace(settings, n_trials=4), evaluate_each(task), script=[C]).run()
    assert [(t.status, t.reused_from) for t in later.trials] == [
        ("completed", None),
        ("failed", None),
        ("completed", None),  # the retry
        ("completed", 2),  # answered from the retry, not from failure 1
    ]


def test_each_run_records_its_provenance_and_the_sobol_seed_ax_drew(fast_ax, tmp_path):
    """Reproducibility review: the results file recorded no versions, machine or effective seed, and with seed=None
    the Sobol seed Ax drew was only inside ax_experiment.json. Each run that finishes a trial appends a record, kept
    with the experiment, so a resume adds its own; the recorded Sobol seed reproduces the Sobol points, and an
    unseeded sweep still continues its Sobol sequence on resume."""
    storage = tmp_path / "ax.json"
    params: list[dict] = []

    def stop_after_two(p):
        params.append(dict(p))
        if len(params) == 2:
            sweep.request_stop()  # this trial ends; the sweep stops before the next one (saved)
        return two_quadratics(p)

    sweep = make_sweep(stop_after_two, n_trials=4, n_initial_trials=4, storage=storage, seed=None)
    with pytest.raises(KeyboardInterrupt):
        sweep.run()
    first = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert list(first)[-3:] == ["settings", "provenance", "end"]  # before `end`, the other keys where they were
    [run] = first["provenance"]
    assert set(run) == {
        *("when", "lightning_ecopt", "versions", "python", "platform", "cpu", "cpu_simd", "gpus", "hostname"),
        *("launcher", "seed", "sobol_seed", "trials", "finished"),
    }
    assert set(run["versions"]) == {"ax-platform", "botorch", "torch", "lightning", "hydra-core", "zeus"}
    assert run["versions"]["ax-platform"] == importlib.metadata.version("ax-platform")
    assert run["lightning_ecopt"] == lightning_ecopt.__version__
    assert run["python"] == platform.python_version()
    assert run["hostname"] == socket.gethostname()
    assert run["when"].endswith("+00:00")  # UTC
    assert (run["launcher"], run["seed"], run["trials"], run["finished"]) == (None, None, [0, 1], 2)
    drawn = run["sobol_seed"]
    assert isinstance(drawn, int)
    saved = json.loads(storage.read_text())
    states = [gr["generator_state_after_gen"] for gr in saved["generation_strategy"]["generator_runs"]]
    assert {state["seed"] for state in states} == {drawn}  # the one Ax drew and saved

    resumed = make_sweep(lambda p: params.append(dict(p)) or two_quadratics(p), n_trials=4, storage=storage, seed=None)
    result = resumed.run()
    data = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())
    assert [(r["trials"], r["finished"], r["sobol_seed"]) for r in data["provenance"]] == [
        ([0, 1], 2, drawn),
        ([2, 3], 2, drawn),
    ]
    assert data["provenance"][0] == run  # the first run's record as it was
    assert list(result.provenance) == data["provenance"]
    # A rerun of the finished sweep evaluates nothing, and records no run.
    make_sweep(two_quadratics, n_trials=4, storage=storage, seed=None).run()
    assert len(yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())["provenance"]) == 2
    # The recorded seed is the effective one: a sweep seeded with it draws the same Sobol points, the resumed ones too.
    again = make_sweep(two_quadratics, n_trials=4, n_initial_trials=4, seed=drawn).run()
    assert [t.params for t in again.trials] == params
    assert [r["sobol_seed"] for r in again.provenance] == [drawn]


def test_a_sweep_saved_without_provenance_resumes_and_records_its_later_runs(fast_ax, tmp_path):
    """Sweep dirs written before runs were recorded have none in the experiment or the results file."""
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    saved = json.loads(storage.read_text())
    description = json.loads(saved["experiment"]["description"])
    del description["lightning_ecopt"]["provenance"]
    saved["experiment"]["description"] = json.dumps(description)
    storage.write_text(json.dumps(saved))
    results = tmp_path / RESULTS_FILENAME
    old = yaml.safe_load(results.read_text())
    del old["provenance"]
    results.write_text(yaml.safe_dump(old, sort_keys=False))
    assert saved_provenance(storage) == []
    result = make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage).run()
    assert result.n_finished == 3
    before, run = yaml.safe_load(results.read_text())["provenance"]
    assert before == {"unrecorded": True, "trials": [0, 1]}  # the report says they ran before runs were recorded
    assert (run["trials"], run["finished"], run["seed"]) == ([2, 2], 1, 0)
    assert saved_provenance(storage) == [before, run]
    assert "Runs: 1 (" in provenance.runs_line([before, run])
    assert provenance.runs_line([before, run]).endswith("Trials #0-#1 ran before runs were recorded.")


def test_a_sweep_saved_without_provenance_keeps_the_launcher_it_is_given_for_its_unrecorded_trials(fast_ax, tmp_path):
    """The Hydra sweeper reads it from the sweep dir's multirun.yaml before its first resume overwrites the file."""
    storage = tmp_path / "ax.json"
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2, storage=storage).run()
    saved = json.loads(storage.read_text())
    description = json.loads(saved["experiment"]["description"])
    del description["lightning_ecopt"]["provenance"]
    saved["experiment"]["description"] = json.dumps(description)
    storage.write_text(json.dumps(saved))
    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    resumed = make_sweep(two_quadratics, n_trials=3, n_initial_trials=2, storage=storage)
    resumed.unrecorded_launcher = basic
    before, _ = resumed.run().provenance
    assert before == {"unrecorded": True, "trials": [0, 1], "launcher": basic}
    again = make_sweep(two_quadratics, n_trials=4, n_initial_trials=2, storage=storage)
    again.unrecorded_launcher = {"_target_": "other.Launcher"}  # recorded runs: not read
    assert again.run().provenance[0] == before


def test_a_budget_of_one_trial_is_said_in_the_singular(caplog):
    with caplog.at_level(logging.INFO, logger="lightning_ecopt"):
        make_sweep(two_quadratics, n_trials=1).run()
    said = [r.getMessage() for r in caplog.records if "all Sobol" in r.getMessage()]
    assert said == [  # 2 parameters: 4 Sobol trials up to a budget of 4, then 4 of 5
        "ecopt: 1 trial, all Sobol: qNEHVI proposes once the Sobol trials completed, so raise "
        "SweepSettings(n_trials=...) to 5 or more."
    ]


class _Terminal(io.StringIO):
    """A stream that says it is a terminal: the sweep shows its rich progress bar on it."""

    def isatty(self):
        return True


def _on_screen(text: str) -> list[str]:
    """The lines a terminal shows of ``text``, roughly: escape sequences dropped, a carriage return restarts a line."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return [line.rsplit("\r", 1)[-1] for line in plain.split("\n")]


@contextlib.contextmanager
def _terminal(term="xterm-256color"):
    """stdout and stderr on one (fake) terminal (``TERM=term``), rich's global console rebuilt for it; all restored.

    Entered in the test's body: pytest's output capture puts its own streams back between a fixture and the test.
    """
    import rich

    screen = _Terminal()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TERM", term)
        for name in ("NO_COLOR", "FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
            mp.delenv(name, raising=False)
        mp.setattr(sys, "stdout", screen)
        mp.setattr(sys, "stderr", screen)
        rich.reconfigure()
        try:
            yield screen
        finally:
            mp.undo()
            rich.reconfigure()


def test_a_task_that_rebuilds_riches_console_does_not_crash_the_sweep_on_a_terminal(fast_ax):
    """Lightning's RichProgressBar (a Trainer's default bar where rich is installed) calls ``rich.reconfigure()``.

    That rebuilt the global console the sweep's own bar lived on, so the sweep's last step, stopping the bar, raised
    ``IndexError: pop from empty list`` (rich's live stack) after every trial had run: ``ParetoSweep.run`` and a
    Hydra sweep on a terminal failed whenever the task trained with a Trainer's default progress bar.
    """
    import rich

    def task(p):
        rich.reconfigure()  # what lightning.pytorch.callbacks.RichProgressBar does when a loop starts
        return two_quadratics(p)

    with _terminal():
        result = make_sweep(task, n_trials=2, n_initial_trials=2).run()
    assert [t.status for t in result.trials] == ["completed", "completed"]


def test_a_terminal_task_writes_to_the_process_streams_not_through_the_sweeps_progress_bar(fast_ax):
    """The bar is hidden while a batch runs: the task's output (its own progress bar) reaches the terminal as is.

    Routed through the bar's console, every redraw of a task's progress bar became a line of its own, and every line
    was cut at the terminal's width by inserted newlines (a pasted command broke in two).
    """
    seen = []

    def task(p):
        seen.append((sys.stdout, sys.stderr))
        return two_quadratics(p)

    with _terminal() as terminal:
        make_sweep(task, n_trials=2, n_initial_trials=2).run()
    assert seen == [(terminal, terminal)] * 2


def _plain_handler(stream) -> logging.StreamHandler:
    """A stream handler as ``logging.basicConfig(format="%(message)s")`` makes one."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


def _sweep_logged_through(handler: logging.Handler, n_trials: int) -> None:
    """A small all-Sobol sweep with ``handler`` on the package's logger at INFO (both as they were afterwards)."""
    logger = logging.getLogger("lightning_ecopt")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        make_sweep(two_quadratics, n_trials=n_trials, n_initial_trials=n_trials).run()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_a_log_line_said_while_the_progress_bar_shows_starts_a_line_of_its_own(fast_ax):
    """A handler that held the terminal before the bar started (Hydra's, ``basicConfig``'s) wrote behind the bar."""
    with _terminal() as terminal:
        handler = _plain_handler(terminal)
        _sweep_logged_through(handler, n_trials=2)
    assert handler.stream is terminal
    lines = _on_screen(terminal.getvalue())
    assert [line for line in lines if "1/2 trials;" in line] == [
        next(line for line in lines if line.startswith("ecopt: 1/2 trials;"))
    ]
    # Longer than the terminal's 80 columns, and not cut by an inserted newline (the terminal wraps it).
    reference = next(line for line in lines if "reference point inferred" in line)
    assert len(reference) > 80
    assert reference.endswith("}"), reference


def test_a_rich_handler_s_log_line_said_while_the_progress_bar_shows_starts_a_line_of_its_own(fast_ax):
    """Review: rich's RichHandler (a common logging set-up beside Lightning) prints on rich's global console, not the
    bar's, so its lines were glued to the bar ("... 0:00:00INFO     ecopt: 1/3 t") and old bars stayed on screen."""
    from rich.logging import RichHandler

    with _terminal() as terminal:
        handler = RichHandler(show_time=False, show_path=False)
        own_console = handler.console
        _sweep_logged_through(handler, n_trials=3)
    assert handler.console is own_console  # given back when the bar went
    lines = _on_screen(terminal.getvalue())
    said = [line for line in lines if "trials;" in line]
    assert said, lines
    assert all(line.startswith("INFO") for line in said), said
    assert not any(line.startswith("ecopt ━") and line.rstrip().endswith(("INFO", "trials;")) for line in lines)


def test_a_dumb_terminal_gets_no_progress_bar_only_the_log_lines(fast_ax):
    """``TERM=dumb`` (Emacs shells, some CI runners): rich draws no bar there, but its redirection cut every line the
    sweep printed at 80 columns and its stop added an empty line; now nothing of the bar is set up there."""
    with _terminal("dumb") as terminal:
        _sweep_logged_through(_plain_handler(terminal), n_trials=2)
    said = terminal.getvalue()
    assert "\x1b" not in said
    assert "━" not in said
    assert said.splitlines() == [line for line in said.splitlines() if line.startswith("ecopt: ")]


_LONG_BATCH_LINE = (
    "0 failed, 3 reused, 2 loaded a cached checkpoint, Pareto set 4 (1 outside the reference box), hypervolume "
    "0.919457 (provisional reference point)"
)


@pytest.mark.parametrize("width", [40, 80, 120])
@pytest.mark.parametrize("line", ["0 failed, 0 reused, Pareto set 4, hypervolume 0.919457", _LONG_BATCH_LINE])
def test_the_progress_bar_keeps_its_count_and_time_whole_where_the_batch_line_is_too_long(width, line):
    """At 80 columns the bar showed "e… 0 failed, 3 reused, 2 loaded a cached checkpoint, Pareto set 4 (1 outsid…":
    rich narrowed every column in proportion, so "ecopt", the bar, the trial count and the elapsed time went (at 40
    columns already with a short line) and the batch line, which the log line above says whole, stayed."""
    from rich.console import Console

    with _terminal():
        progress = SweepProgress(total=20, done=5)
        try:
            progress.update(5, line)
            screen = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
            screen.print(progress._bar.get_renderable())
        finally:
            progress.close()
    [shown] = screen.file.getvalue().splitlines()
    assert shown.startswith("ecopt "), shown
    assert " 5/20 " in shown, shown
    assert shown.endswith(" 0:00:00"), shown
    assert len(shown) <= width
    assert line[:5] in shown, shown  # the batch line's start; its end cut with an ellipsis where it does not fit
    assert (line in shown) == (width == 120 and line != _LONG_BATCH_LINE), shown


class _AsciiTerminal(io.TextIOWrapper):
    """A terminal whose encoding is ASCII (``PYTHONIOENCODING=ascii``, a latin-1 or C locale without UTF-8 mode)."""

    def isatty(self):
        return True


@pytest.mark.parametrize("columns", ["40", "80"])
def test_a_terminal_that_cannot_encode_an_ellipsis_gets_a_bar_cut_plainly(fast_ax, columns):
    """On an ASCII terminal narrower than the bar, rich cut a column with "…" and the sweep died after its first
    trial: ``UnicodeEncodeError: 'ascii' codec can't encode character '\\u2026'`` (raised when the bar was hidden)."""
    raw = io.BytesIO()
    screen = _AsciiTerminal(raw, encoding="ascii", write_through=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TERM", "xterm-256color")
        mp.setenv("COLUMNS", columns)
        for name in ("NO_COLOR", "FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            mp.delenv(name, raising=False)
        mp.setattr(sys, "stdout", screen)
        mp.setattr(sys, "stderr", screen)
        handler = _plain_handler(screen)
        _sweep_logged_through(handler, n_trials=3)
    lines = _on_screen(raw.getvalue().decode("ascii"))
    assert any(line.startswith("ecopt: 3/3 trials;") for line in lines), lines
    bars = [line for line in lines if re.match(r"ecopt +[-\s]*\d/3 ", line)]
    assert any("0 fail" in line for line in bars), lines  # the bar showed, with the batch line cut to fit
    assert all(len(line) <= int(columns) for line in bars), bars


def test_a_sweep_whose_stdout_is_redirected_writes_no_progress_bar_there_under_force_color(fast_ax):
    """``FORCE_COLOR=1`` (set in many shells and CI configs) and ``python app.py -m > sweep.log`` on a terminal: the
    bar checked that stderr was a terminal but drew on stdout, which FORCE_COLOR made rich take for one, so the log
    file got the bar's redraws and cursor codes and the terminal no bar."""
    log, screen = io.StringIO(), _Terminal()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TERM", "xterm-256color")
        mp.setenv("FORCE_COLOR", "1")
        mp.setattr(sys, "stdout", log)
        mp.setattr(sys, "stderr", screen)
        result = make_sweep(two_quadratics, n_trials=2, n_initial_trials=2).run()
    assert result.n_completed == 2
    assert "\x1b" not in log.getvalue()
    assert "━" not in log.getvalue()


def test_a_sweep_where_logging_is_not_configured_shows_its_lines_on_stderr_for_the_run(fast_ax, monkeypatch, capsys):
    """Review (a Jupyter notebook, a plain script): Python's logging has no handler there, so only warnings reached
    stderr (logging's last resort) and a sweep showed nothing while it ran, off a terminal no progress bar either: not
    a batch line, not the inferred reference point, not "done". ``run()`` now shows its INFO lines on ``sys.stderr``
    as it is when each is said (a notebook's cell output) for the run, then leaves logging as it found it."""
    package = logging.getLogger("lightning_ecopt")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # pytest's capture handlers: none, as in a kernel
    monkeypatch.setattr(package, "handlers", [])
    monkeypatch.setattr(package, "level", logging.NOTSET)
    assert not logging.getLogger("lightning_ecopt.sweeper.loop").hasHandlers()

    result = make_sweep(two_quadratics, n_trials=3, n_initial_trials=2).run()

    err = capsys.readouterr().err
    lines = err.splitlines()
    assert [line.split("; ")[0] for line in lines if re.match(r"ecopt: \d/3 trials; ", line)] == [
        "ecopt: 1/3 trials",
        "ecopt: 2/3 trials",
        "ecopt: 3/3 trials",
    ], err
    assert any(line.startswith("ecopt: reference point inferred") for line in lines), err
    assert f"ecopt: done: {result.summary()}" in lines, err
    # Logging is left as it was: no handler, the package's level unset.
    assert package.handlers == []
    assert package.level == logging.NOTSET
    assert not logging.getLogger("lightning_ecopt.sweeper.loop").hasHandlers()


def _logging_as_python_starts_it(monkeypatch) -> logging.Logger:
    """No handler on the root or the package (pytest's capture handlers gone, as in a kernel), levels as Python's."""
    package = logging.getLogger("lightning_ecopt")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(logging.getLogger(), "level", logging.WARNING)
    monkeypatch.setattr(package, "handlers", [])
    monkeypatch.setattr(package, "level", logging.NOTSET)
    return package


def test_a_handler_a_trial_sets_up_gets_the_sweep_s_lines_once(fast_ax, monkeypatch, capsys):
    """Review: a trial that called ``logging.basicConfig`` (many training scripts' main() does) had every later line
    twice, from the sweep's own stderr handler and from the new one."""
    _logging_as_python_starts_it(monkeypatch)
    added: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            added.append(record.getMessage())

    handler = Lines(logging.INFO)

    def configures_logging(p):
        if handler not in logging.getLogger().handlers:
            logging.getLogger().addHandler(handler)  # what basicConfig does, from inside the trial
            logging.getLogger().setLevel(logging.INFO)
        return two_quadratics(p)

    try:
        make_sweep(configures_logging, n_trials=3, n_initial_trials=3).run()
    finally:
        logging.getLogger().removeHandler(handler)
    err = capsys.readouterr().err
    assert [m.split(";")[0] for m in added if re.match(r"ecopt: \d/3 trials", m)] == [
        "ecopt: 1/3 trials",
        "ecopt: 2/3 trials",
        "ecopt: 3/3 trials",
    ]
    assert "ecopt: 1/3 trials" not in err  # said where the user put it, not twice


@pytest.mark.parametrize("silenced", ["root at ERROR", "package not propagating"])
def test_logging_the_user_silenced_stays_silent(fast_ax, monkeypatch, capsys, silenced):
    """Review: a root logger set to ERROR, or a package logger set not to propagate, is the user's way of silencing
    it; the sweep showed its INFO lines on stderr anyway."""
    package = _logging_as_python_starts_it(monkeypatch)
    if silenced == "root at ERROR":
        monkeypatch.setattr(logging.getLogger(), "level", logging.ERROR)
    else:
        monkeypatch.setattr(package, "propagate", False)
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2).run()
    assert "ecopt: 1/2 trials" not in capsys.readouterr().err
    assert package.handlers == []


def test_a_rich_handler_on_a_file_or_under_another_sweep_s_bar_keeps_its_console():
    """Review: a RichHandler writing to a file (``Console(file=..., force_terminal=True)``, for colours in a log)
    sent its lines to the terminal while the bar showed; and a second sweep's bar (another thread's) put the first
    bar's console on the user's RichHandler for good."""
    from rich.console import Console
    from rich.logging import RichHandler

    with _terminal():
        on_file = RichHandler(console=Console(file=io.StringIO(), force_terminal=True))
        on_screen = RichHandler()
        consoles = (on_file.console, on_screen.console)
        logger = logging.getLogger("lightning_ecopt.test_rich_consoles")
        logger.addHandler(on_file)
        logger.addHandler(on_screen)
        try:
            first = SweepProgress(total=4, done=0)
            assert on_file.console is consoles[0]
            assert on_screen.console is first._bar.console  # above the bar while it shows
            second = SweepProgress(total=4, done=0)  # a sweep in another thread: rich redirects once
            assert on_screen.console is first._bar.console
            first.close()
            second.close()
        finally:
            logger.removeHandler(on_file)
            logger.removeHandler(on_screen)
    assert (on_file.console, on_screen.console) == consoles


def test_a_sweep_where_logging_is_configured_adds_nothing_to_it(fast_ax, capsys, caplog):
    """Where a handler is set (pytest's here, Hydra's, ``basicConfig``'s), the sweep leaves logging to it: its lines
    go there and nowhere else (not twice on stderr)."""
    caplog.set_level(logging.INFO, logger="lightning_ecopt")
    make_sweep(two_quadratics, n_trials=2, n_initial_trials=2).run()
    assert "ecopt: 1/2 trials; " not in capsys.readouterr().err
    assert any(r.getMessage().startswith("ecopt: 1/2 trials; ") for r in caplog.records)


def _many_digits(p):
    """Two objectives whose values need all 17 digits, one of them small (joules per sample, say)."""
    x0, x1 = p["x0"], p["x1"]
    return {"f1": ((x0**2 + x1**2) / 3, 1 / 70), "f2": 1e-6 * ((x0 - 1) ** 2 + (x1 - 1) ** 2 + 1 / 7)}


def test_a_resumed_sweep_models_the_values_its_trials_returned_not_ax_s_rounded_copy(fast_ax, tmp_path):
    # Ax saves its data through pandas' to_json, which keeps 10 decimal places: 1/3 came back as 0.3333333333 and
    # 1.2345678e-06 as 0.0000012346 (below 5e-11, 0.0), so a resumed sweep's model saw other values than the
    # uninterrupted sweep's.
    storage = tmp_path / "ax.json"
    make_sweep(_many_digits, n_trials=3, n_initial_trials=3, storage=storage).run()
    sweep = make_sweep(_many_digits, n_trials=4, n_initial_trials=3, storage=storage)
    result = sweep.run()
    data = loop._experiment(sweep._client).lookup_data().df
    for trial in result.trials:
        for name in ("f1", "f2"):
            rows = data[(data.trial_index == trial.trial_index) & (data.metric_name == f"m__{name}")]
            assert rows["mean"].tolist() == [trial.metrics[name]]
    assert data[data.metric_name == "m__f1"]["sem"].tolist() == [1 / 70] * 4


def test_a_sweep_stopped_in_its_model_phase_resumes_with_the_proposals_of_an_uninterrupted_one(fast_ax, tmp_path):
    uninterrupted: list[dict] = []
    make_sweep(lambda p: uninterrupted.append(p) or _many_digits(p), n_trials=6, n_initial_trials=3).run()
    seen: list[dict] = []
    storage = tmp_path / "ax.json"
    for n_trials in (4, 6):  # stopped after the first model proposal, then resumed in a new sweep
        make_sweep(
            lambda p: seen.append(p) or _many_digits(p), n_trials=n_trials, n_initial_trials=3, storage=storage
        ).run()
    assert seen == uninterrupted


def test_an_unseeded_sweep_proposes_what_a_sweep_seeded_with_its_recorded_seed_does(fast_ax, tmp_path):
    # With seed=None the recorded sobol_seed gave back the Sobol trials only: the model's proposals ran on whatever
    # state torch's random generator was in, which nothing recorded. The drawn seed now seeds them too, resumes as well.
    seen: list[dict] = []
    storage = tmp_path / "ax.json"
    for n_trials in (4, 6):  # stopped in the model phase, resumed
        unseeded = make_sweep(
            lambda p: seen.append(p) or two_quadratics(p),
            n_trials=n_trials,
            n_initial_trials=3,
            storage=storage,
            seed=None,
        )
        result = unseeded.run()
    drawn = {run["sobol_seed"] for run in result.provenance}
    assert len(drawn) == 1
    assert {run["seed"] for run in result.provenance} == {None}
    again = make_sweep(two_quadratics, n_trials=6, n_initial_trials=3, seed=drawn.pop()).run()
    assert [t.params for t in again.trials] == seen


_ENCODING_RUN = """
from pathlib import Path
import sys
from lightning_ecopt.report import build_report, write_files
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

folder = Path(sys.argv[1])
space = parse_search_space({"x": "interval(0, 1)", "unit": "choice('é', 'µs')"}, [])
def task(p):
    return {"a": p["x"], "b": 1 - p["x"] + (p["unit"] == "é")}
objectives = parse_objectives({"a": "minimize", "b": "minimize"}, None)
for storage in (folder / "ax_experiment.json", None):
    sweep = ParetoSweep.from_function(space, SweepSettings(objectives, n_trials=2, seed=0, storage=storage), task)
    sweep.run()
    sweep.settings = SweepSettings(objectives, n_trials=3, n_initial_trials=3, seed=0, storage=storage)
    sweep.run()  # a resume: from the file, or from the experiment kept in memory
write_files(build_report(folder), folder)
"""


def test_a_sweep_its_resume_board_and_report_leave_no_text_encoding_to_the_locale(tmp_path: Path) -> None:
    """PEP 597: under ``-X warn_default_encoding`` no read or write of ours leaves the encoding to the locale (on
    Windows cp1252, under a C locale ASCII): a sweep with non-ASCII choices, saved and in memory, each resumed, with
    its TensorBoard views and its report files. Third parties' warnings (torch, matplotlib, Ax) are theirs."""
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "warn_default_encoding",
            "-W",
            "always::EncodingWarning",
            "-c",
            _ENCODING_RUN,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "tensorboard").is_dir()
    assert "µs" in (tmp_path / "trials.csv").read_text(encoding="utf-8")
    ours = [
        line
        for line in done.stderr.splitlines()
        if "EncodingWarning" in line and re.search(r"[/\\](lightning_ecopt|hydra_plugins)[/\\]", line)
    ]
    assert not ours, "\n".join(ours)


def _raising_after(method, calls: int, error: BaseException, count: list):
    """``method`` wrapped to raise ``error`` at its ``calls``-th call (counted in ``count``), as a bug of ours would."""

    def wrapped(*args, **kwargs):
        count.append(1)
        if len(count) == calls:
            raise error
        return method(*args, **kwargs)

    return wrapped


def test_the_sweep_s_own_error_after_a_batch_ran_saves_what_it_recorded_and_says_so(
    fast_ax, tmp_path, monkeypatch, caplog
):
    """Crash-consistency audit: a step of ours that raised after the batch's trials had returned (Ax's
    complete_trial, under a task's warnings.simplefilter("error")) lost the whole batch without a word: the trial it
    had recorded ran again, and the trials left running were taken for a crash."""
    from ax.api.client import Client

    ran: list[dict] = []

    def task(p):
        ran.append(p)
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    settings = {"n_trials": 4, "n_initial_trials": 4, "max_batch_size": 2, "storage": storage}
    error = DeprecationWarning("injected: a warning a filter made an error")
    monkeypatch.setattr(Client, "complete_trial", _raising_after(Client.complete_trial, 2, error, []))
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(DeprecationWarning) as raised:
        make_sweep(task, **settings).run()
    assert raised.value is error  # raised as it was, its traceback whole
    said = caplog.text
    assert "(recording the batch's results: DeprecationWarning: injected" in said
    assert "warnings filter" in said  # the environment's likely part: a filter that makes warnings errors
    assert "Trials [0] were recorded and saved" in said
    assert "trials [1] had run but were not recorded: they run again on resume" in said
    assert "to resume; the error's traceback follows" in said
    assert any("recording the batch's results" in note for note in raised.value.__notes__)
    trials = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())["trials"]
    assert [(t["status"], t["reason"]) for t in trials] == [
        ("completed", None),
        ("abandoned", loop._UNRECORDED_UNRESUMED),
    ]
    monkeypatch.undo()
    first = list(ran)
    result = make_sweep(task, **settings).run()
    assert ran[2:] == [first[1], *ran[3:]]  # trial 0 is kept, not run again; trial 1 runs again first
    assert len(ran) == 5
    assert (result.n_completed, result.n_failed) == (4, 0)
    assert [(t.trial_index, t.reason) for t in result.trials if t.status == "abandoned"] == [(1, loop._UNRECORDED)]


def test_the_sweep_s_own_error_twice_on_one_configuration_does_not_fail_it_as_a_crash(fast_ax, tmp_path, monkeypatch):
    """The trial ran to its end both times: no crash of its configuration. Before: failed for good, "the sweep's
    process ended while running this configuration, as it did in trial 0"."""
    from ax.api.client import Client

    storage = tmp_path / "ax.json"
    settings = {"n_trials": 3, "n_initial_trials": 3, "max_batch_size": 1, "storage": storage}
    for _ in range(2):
        with monkeypatch.context() as patch:
            patch.setattr(Client, "complete_trial", _raising_after(Client.complete_trial, 1, KeyError("bug"), []))
            with pytest.raises(KeyError):
                make_sweep(two_quadratics, **settings).run()
    result = make_sweep(two_quadratics, **settings).run()
    assert result.n_failed == 0
    assert result.n_completed == 3
    assert [t.reason for t in result.trials if t.status == "abandoned"] == [loop._UNRECORDED] * 2


@pytest.mark.parametrize(
    ("step", "method"),
    [
        ("inferring the reference point", "_maybe_infer_reference"),
        ("checking the batch's results", "_check_constraints_met"),
        ("saving the sweep", "_save_experiment"),
    ],
)
def test_the_sweep_s_own_error_after_every_trial_was_recorded_keeps_them_all(
    fast_ax, tmp_path, monkeypatch, caplog, step, method
):
    """Every trial of the batch recorded, a later step of ours raises before the batch's save: each is kept where
    the save can still be done, and where it cannot (the save itself raised), none is failed on resume."""
    ran: list[dict] = []

    def task(p):
        ran.append(p)
        return two_quadratics(p)

    storage = tmp_path / "ax.json"
    settings = {"n_trials": 4, "n_initial_trials": 2, "max_batch_size": 2, "storage": storage}
    original = getattr(ParetoSweep, method)
    count: list = []

    def raising(self, *args, **kwargs):
        if ran:  # after the first batch's trials ran
            count.append(1)
            if len(count) == 1 or method == "_save_experiment":  # a save that fails for good
                raise ZeroDivisionError("injected")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ParetoSweep, method, raising)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(ZeroDivisionError):
        make_sweep(task, **settings).run()
    assert f"({step}: ZeroDivisionError: injected)" in caplog.text
    monkeypatch.undo()
    result = make_sweep(task, **settings).run()
    assert (result.n_failed, result.n_completed) == (0, 4)
    if method == "_save_experiment":  # nothing could be saved: the batch runs again, as after a SIGKILL, unfailed
        assert "saving failed too (below)" in caplog.text
        assert "Traceback" in caplog.text  # the save's own error, not swallowed
        assert ran[2:4] == ran[:2]
    else:
        assert len(ran) == 4  # the first batch is kept


@pytest.mark.parametrize(
    ("step", "owner", "method"),
    [
        ("showing the batch's progress", SweepProgress, "update"),
        ("judging the batch's failures", None, "_failure_report"),
    ],
)
def test_the_sweep_s_own_error_after_its_batch_was_saved_says_nothing_is_lost(
    fast_ax, tmp_path, monkeypatch, caplog, step, owner, method
):
    """After the save, a step of ours that raised lost nothing, but ended the sweep on a bare traceback: which step,
    whose fault and how to resume went unsaid."""
    owner = owner or ParetoSweep
    storage = tmp_path / "ax.json"
    settings = {"n_trials": 4, "n_initial_trials": 4, "max_batch_size": 2, "storage": storage}
    monkeypatch.setattr(owner, method, _raising_after(getattr(owner, method), 1, KeyError("bug"), []))
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(KeyError) as raised:
        make_sweep(two_quadratics, **settings).run()
    assert f"({step}: KeyError: 'bug') after its batch was saved" in caplog.text
    assert "nothing is lost. Run the sweep again with the same storage to resume" in caplog.text
    assert raised.value.__notes__ == [f"ecopt: raised while {step}, after the batch was saved (nothing is lost)."]
    monkeypatch.undo()
    ran: list[dict] = []
    result = make_sweep(lambda p: ran.append(p) or two_quadratics(p), **settings).run()
    assert len(ran) == 2  # the first batch kept
    assert (result.n_completed, result.n_failed) == (4, 0)


def test_a_save_that_fails_after_ctrl_c_logs_why(fast_ax, tmp_path, monkeypatch, caplog):
    """Crash-consistency audit: the save after a Ctrl-C that raised (a bug of ours, a full disk) said only "saving
    failed"; its traceback, shown nowhere else, was swallowed."""

    def task(p):
        raise KeyboardInterrupt

    def broken(*args, **kwargs):
        raise ZeroDivisionError("injected in the results file's write")

    monkeypatch.setattr(loop, "write_results", broken)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(KeyboardInterrupt):
        make_sweep(task, n_trials=2, storage=tmp_path / "ax.json").run()
    failed = [r for r in caplog.records if "saving failed" in r.getMessage()]
    assert len(failed) == 1
    assert failed[0].exc_info is not None
    assert failed[0].exc_info[0] is ZeroDivisionError


def test_a_task_s_error_filter_that_fails_ax_s_complete_trial_loses_no_recorded_trial(fast_ax, tmp_path, monkeypatch):
    """The case the audit began from: a task's ``warnings.simplefilter("error")`` made Ax's complete_trial raise (its
    DeprecationWarning for a new tracking metric, here the energy), and the sweep crashed with nothing of the batch
    saved. The rescue save runs under that filter too: a warning there must not fail it alike."""
    from ax.api.client import Client

    from lightning_ecopt.sweeper.snapshot import ExperimentSnapshot

    def task(p):
        warnings.simplefilter("error")  # left behind by the task
        return {**two_quadratics(p), "energy/train_j": 1.0}

    complete, write = Client.complete_trial, ExperimentSnapshot.write

    def warning_complete(self, *args, **kwargs):  # as Ax 1.3's does for a new metric, whatever Ax's version here
        warnings.warn("add_tracking_metric is deprecated. Use add_metric instead.", DeprecationWarning, stacklevel=1)
        return complete(self, *args, **kwargs)

    def warning_write(self, *args, **kwargs):
        warnings.warn("a library's deprecation inside the save", DeprecationWarning, stacklevel=1)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(Client, "complete_trial", warning_complete)
    monkeypatch.setattr(ExperimentSnapshot, "write", warning_write)
    storage = tmp_path / "ax.json"
    with pytest.raises(DeprecationWarning, match="add_tracking_metric"):
        make_sweep(task, n_trials=2, n_initial_trials=2, max_batch_size=1, storage=storage).run()
    warnings.simplefilter("ignore")
    trials = yaml.safe_load((tmp_path / RESULTS_FILENAME).read_text())["trials"]
    assert [(t["status"], t["reason"]) for t in trials] == [("abandoned", loop._UNRECORDED_UNRESUMED)]


def _with_non_finite_extras(p):
    """Two quadratics, a NaN validation loss, and a test loop whose joules read inf beside a warm-up that read 0.5 J;
    a second configuration half (x0 > 0.5) returns its first objective NaN too."""
    values = two_quadratics(p)
    if p["x0"] > 0.5:
        values["f1"] = math.nan
    extras = {"val/loss": math.nan, "energy/train_j": 50.0, "energy/test_j": math.inf, "energy/test_warmup_j": 0.5}
    return {**values, **extras}


def test_a_tracked_metric_whose_sem_is_not_one_is_said_not_dropped_silently(fast_ax, caplog):
    """An extra ``(mean, sem)`` pair with a negative or NaN sem was left out of the record without a word (review)."""

    def with_bad_sem(p):
        return {**two_quadratics(p), "val/acc": (0.9, -0.1), "labels": [1, 2, 3], "val/f1": (0.8, 0.05)}

    caplog.set_level(logging.DEBUG, logger="lightning_ecopt")
    result = make_sweep(with_bad_sem, n_trials=3, n_initial_trials=3).run()
    assert all("val/acc" not in t.metrics and t.metrics["val/f1"] == 0.8 for t in result.trials)
    said = [r for r in caplog.records if "not tracked" in r.getMessage()]
    assert said[0].getMessage() == (
        "ecopt: trial 0 returned metric 'val/acc': the sem must be a finite number >= 0, got -0.1: not tracked (left "
        "out of its record and of Ax's data). Return a number, or a (mean, sem) pair whose sem is a finite number >= 0 "
        "(later trials' values of these metrics are logged at DEBUG level)."
    )
    assert [r.levelno for r in said] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert not any("labels" in r.getMessage() for r in said)  # a list is no measurement: left out as before


def test_a_pair_whose_sem_is_not_one_is_left_out_of_a_failed_trial_s_record_as_out_of_a_completed_one(fast_ax, caplog):
    """A failed trial kept the mean of an extra ``(mean, sem)`` pair whose sem is not one (``(0.9, -0.1)``), without a
    word, where a completed trial's record leaves it out with a warning: the same figure is treated alike now."""

    def task(p):
        values = {**two_quadratics(p), "val/acc": (0.9, -0.1), "val/f1": (0.8, 0.05), "energy/train_j": 3.0}
        if p["x0"] > 0.5:  # the objective's own pair is broken: the trial fails, its reason says why
            values["f1"] = (values["f1"], float("nan"))
        elif p["x1"] > 0.5:  # the task fails the trial itself, keeping what it measured
            raise TrialFailure("out of memory", metrics=values)
        return values

    caplog.set_level(logging.DEBUG, logger="lightning_ecopt")
    result = make_sweep(task, n_trials=6, n_initial_trials=6, max_failure_rate=1.0).run()
    by_status = {status: [t for t in result.trials if t.status == status] for status in ("completed", "failed")}
    assert all(by_status.values())  # both paths taken
    reasons = {t.reason for t in by_status["failed"]}
    assert reasons <= {"out of memory", "metric 'f1': the sem must be a finite number >= 0, got nan"}
    assert len(reasons) == 2
    for trial in result.trials:
        assert "val/acc" not in trial.metrics, (trial.status, trial.metrics)
        assert (trial.metrics["val/f1"], trial.metrics["energy/train_j"]) == (0.8, 3.0)
    for trial in by_status["failed"]:
        assert ("f1" in trial.metrics) == (trial.reason == "out of memory")  # the broken objective pair: left out too
    said = [r for r in caplog.records if "not tracked" in r.getMessage()]
    assert len(said) == len(result.trials)  # every trial's val/acc is said, whichever way it ended
    assert [r.levelno for r in said] == [logging.WARNING] + [logging.DEBUG] * (len(said) - 1)
    assert all("'f1'" not in r.getMessage() for r in said)  # the objective's is said in its trial's reason only


def test_a_non_finite_tracked_metric_is_kept_in_the_record_and_said_not_dropped_silently(fast_ax, tmp_path, caplog):
    """A task's extra metric that was NaN or infinite vanished from the trial's record without a word (honest-numbers
    review): a test loop's joules of NaN or inf, beside a warm-up that read joules, made the ledger's total look
    whole (counted as the warm-up's 0.5 J, not "lower bound"), and a failed trial's the same."""
    from lightning_ecopt.ledger import ledger, trial_energy
    from lightning_ecopt.results_file import load_sweep

    storage = tmp_path / "ax.json"
    caplog.set_level(logging.DEBUG, logger="lightning_ecopt")
    sweep = make_sweep(_with_non_finite_extras, n_trials=4, n_initial_trials=4, max_failure_rate=1.0, storage=storage)
    result = sweep.run()
    completed = [t for t in result.trials if t.status == "completed"]
    failed = [t for t in result.trials if t.status == "failed"]
    assert [t.trial_index for t in completed] == [0, 3]
    assert [t.trial_index for t in failed] == [1, 2]
    for trial in completed:
        assert (str(trial.metrics["val/loss"]), str(trial.metrics["energy/test_j"])) == ("nan", "inf")
        assert trial_energy(trial).eval_partial  # the ledger: evaluation energy partly unknown, a lower bound
    assert ledger(result).lower_bound
    for trial in failed:
        assert trial.reason == "metric 'f1' is nan (not finite)"
        assert (str(trial.metrics["val/loss"]), str(trial.metrics["energy/test_j"])) == ("nan", "inf")
    said = [r for r in caplog.records if "not finite: kept in its record" in r.getMessage()]
    assert re.match(
        r"ecopt: trial 0 returned 'val/loss' = nan, 'energy/test_j' = inf, not finite: kept in its record "
        r"\(optimization_results.yaml, ecopt report, whose ledger counts an energy figure so as unknown\), left out "
        r"of Ax's data and TensorBoard's views, which take finite numbers only; .* Fix where the task computes them "
        r"if they should be numbers \(later trials' non-finite values of these metrics are logged at DEBUG level\)\.$",
        said[0].getMessage(),
    )
    assert len(said) == 4  # one a trial; the failed trial's objective is said in its reason only
    assert [r.levelno for r in said] == [logging.WARNING] + [logging.DEBUG] * 3  # once a metric, then DEBUG
    assert not any("'f1' = nan" in r.getMessage() for r in said)

    data = loop._experiment(sweep._client).lookup_data().df
    assert set(data.metric_name) == {"m__f1", "m__f2", "energy__train_j", "energy__test_warmup_j"}  # finite only
    json.loads(storage.read_text(), parse_constant=lambda name: pytest.fail(f"{name} is no JSON"))
    loaded = load_sweep(tmp_path / RESULTS_FILENAME)
    assert all(math.isinf(t.metrics["energy/test_j"]) for t in loaded.result.trials)

    resumed = make_sweep(_with_non_finite_extras, n_trials=4, n_initial_trials=4, storage=storage).run()
    assert [str(t.metrics["energy/test_j"]) for t in resumed.trials] == ["inf"] * 4  # rebuilt from the metadata


def test_a_repeat_of_a_trial_with_a_non_finite_tracked_metric_keeps_it_out_of_ax_s_data():
    A = {"a": 1, "b": "x"}
    space = parse_search_space({"a": "choice(1, 2)", "b": "choice(x, y)"}, [])
    settings = SweepSettings(parse_objectives(MIN_MIN, None), n_trials=2, n_initial_trials=2, max_batch_size=1)
    sweep = _ScriptedSweep(
        space, settings, evaluate_each(lambda p: {"f1": 1.0, "f2": 2.0, "val/loss": math.nan}), script=[A, A]
    )
    result = sweep.run()
    assert [t.reused_from for t in result.trials] == [None, 0]
    assert [str(t.metrics["val/loss"]) for t in result.trials] == ["nan", "nan"]  # the repeat's record: its source's
    data = loop._experiment(sweep._client).lookup_data().df
    assert sorted(data[data.trial_index == 1].metric_name) == ["m__f1", "m__f2"]  # Ax is given finite numbers only
