"""The ``ecopt`` Hydra sweeper plugin: discovery, config checks before any job, job launching, real sweeps."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import logging
import math
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

import hydra_plugins.ecopt_sweeper._job as job_module
from ecopt_testing import ecopt_sweeper
from lightning_ecopt.exceptions import EcoptConfigError, TrialFailure

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).parent / "apps" / "two_quadratics.py"
FAULTS_APP = Path(__file__).parent / "apps" / "trial_faults.py"


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rediscover plugins with the repository on sys.path; restore Hydra's singletons afterwards."""
    from hydra.core.plugins import Plugins
    from hydra.core.singleton import Singleton

    state = Singleton.get_state()
    monkeypatch.syspath_prepend(str(ROOT))
    Singleton._instances.pop(Plugins, None)
    yield
    Singleton.set_state(state)


def _run_app(
    tmp_path: Path, *overrides: str, config_name: str | None = None, app: Path = APP, sweep_dir: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``app`` in ``tmp_path`` as a sweep into ``sweep_dir`` (relative to it), ``tmp_path/sweep`` by default."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("HYDRA_FULL_ERROR", None)
    command = [sys.executable, str(app), *(["--config-name", config_name] if config_name else [])]
    command += ["-m", f"hydra.sweep.dir={sweep_dir or tmp_path / 'sweep'}"]
    return subprocess.run(
        [*command, *overrides], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )


# -- discovery and import cost ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fresh_plugins")
def test_plugin_is_discovered() -> None:
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    names = [f"{cls.__module__}.{cls.__name__}" for cls in Plugins.instance().discover(Sweeper)]
    assert "hydra_plugins.ecopt_sweeper.ecopt_sweeper.EcoptSweeper" in names


def test_config_is_registered() -> None:
    from hydra.core.config_store import ConfigStore

    import hydra_plugins.ecopt_sweeper.config  # noqa: F401 - registers the config

    node = ConfigStore.instance().load("hydra/sweeper/ecopt.yaml").node
    assert node._target_ == "hydra_plugins.ecopt_sweeper.ecopt_sweeper.EcoptSweeper"
    assert OmegaConf.to_container(node)["storage"] == "${hydra.sweep.dir}/ax_experiment.json"
    for key in ("objectives", "direction", "params", "n_trials", "n_initial_trials", "acquisition", "seed"):
        assert key in node
    for key in ("max_batch_size", "max_failure_rate", "reference_point", "outcome_constraints"):
        assert key in node
    for key in ("allow_mixed_energy_sources", "enqueue_trials", "sampler", "study_name", "n_jobs", "search_space"):
        assert key in node
    assert "retry_failed" in node


def test_a_sweep_that_sets_no_budget_gets_the_documented_20_trials_and_half_failed_limit(tmp_path: Path) -> None:
    """docs/sweeper.md's defaults (n_trials 20, max_failure_rate 0.5) are what ``hydra/sweeper=ecopt`` gives."""
    import hydra_plugins.ecopt_sweeper.config as config_module

    node = OmegaConf.structured(config_module.EcoptSweeperConf)
    given = {key: node[key] for key in ("n_trials", "max_failure_rate")}
    _, settings = _sweeper(tmp_path, **given).configure([])
    assert (settings.n_trials, settings.max_failure_rate) == (20, 0.5)


def test_plugin_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, hydra_plugins.ecopt_sweeper.config, hydra_plugins.ecopt_sweeper.ecopt_sweeper\n"
        "print(sorted(m for m in ('ax', 'botorch', 'torch', 'zeus', 'lightning', 'gpytorch') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- configuration checks in-process ---------------------------------------------------------------------------------


_sweeper = ecopt_sweeper


def test_configure_defaults(tmp_path: Path) -> None:
    space, settings = _sweeper(tmp_path, n_trials=30).configure(["y=choice(a, b)", "trainer.max_epochs=2"])
    assert space.names == ("x", "y")
    assert space.fixed == {"trainer.max_epochs": 2}
    assert settings.n_initial_trials == 6  # 30 // 5
    assert settings.max_batch_size == 1
    assert settings.storage == tmp_path / "ax_experiment.json"


def test_a_relative_sweep_dir_and_storage_stay_where_the_command_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each later save goes to the sweep dir the command meant, whatever working directory a task leaves."""
    monkeypatch.chdir(tmp_path)
    sweeper = _sweeper(tmp_path, storage="sweep/experiment.json")
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": "sweep"}}})
    _, settings = sweeper.configure([])
    (tmp_path / "sweep" / "0").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "sweep" / "0")  # as a task that works in its job dir leaves it
    assert settings.storage == tmp_path / "sweep" / "experiment.json"
    assert sweeper._sweep_dir() == tmp_path / "sweep"


def test_a_storage_under_the_home_is_taken_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``hydra.sweeper.storage=~/sweep/experiment.json`` is the home's (a folder named ``~`` was refused as outside
    the sweep dir)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    sweeper = _sweeper(tmp_path, storage="~/sweep/experiment.json")
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "sweep")}}})
    _, settings = sweeper.configure([])
    assert settings.storage == tmp_path / "sweep" / "experiment.json"


def test_optuna_keys_are_mapped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sweeper = _sweeper(
        tmp_path,
        objectives=None,
        direction=["minimize", "maximize"],
        n_jobs=3,
        sampler={"seed": 123, "population_size": 10},
        study_name="multi-objective",
        storage=None,
    )
    with caplog.at_level(logging.WARNING):
        _, settings = sweeper.configure([])
    assert settings.max_batch_size == 3
    assert settings.seed == 123
    assert settings.storage == tmp_path / "ax_experiment.json"  # null: the default file, not "in memory"
    assert [o.name for o in settings.objectives] == ["objective_0", "objective_1"]
    assert "sampler (an Optuna sampler) is ignored" in caplog.text
    assert "its seed is used" in caplog.text
    assert "study_name='multi-objective' (Optuna) is ignored" in caplog.text


def test_explicit_seed_beats_the_sampler_seed(tmp_path: Path) -> None:
    _, settings = _sweeper(tmp_path, seed=7, sampler={"seed": 123}).configure([])
    assert settings.seed == 7


def test_optuna_storage_url_falls_back_to_json(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        _, settings = _sweeper(tmp_path, storage="sqlite:///optuna.db").configure([])
    assert settings.storage == tmp_path / "ax_experiment.json"
    assert "'sqlite:///optuna.db' is an Optuna database URL" in caplog.text


def test_optuna_search_space_becomes_params(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    search_space = {"x": {"type": "float", "low": 0.0, "high": 2.0}, "n": {"type": "int", "low": 1, "high": 8}}
    space, _ = _sweeper(tmp_path, params=None, search_space=search_space).configure([])
    assert space.names == ("x", "n")
    with caplog.at_level(logging.WARNING):
        space, _ = _sweeper(tmp_path, search_space=search_space).configure([])
    assert space.names == ("x",)
    assert "using params, as the Optuna sweeper does" in caplog.text


def test_optuna_search_space_can_be_given_on_the_command_line() -> None:
    """``'+hydra.sweeper.search_space={...}'`` composes (a null default made OmegaConf fail in its own merge)."""
    from hydra import compose, initialize_config_dir

    import hydra_plugins.ecopt_sweeper.config  # noqa: F401 - registers the config

    given = "{x: {type: float, low: 0.0, high: 2.0}, n: {type: int, low: 1, high: 8}}"
    with initialize_config_dir(config_dir=str(APP.parent / "conf"), version_base=None):
        cfg = compose("config", overrides=[f"+hydra.sweeper.search_space={given}"], return_hydra_config=True)
    assert OmegaConf.to_container(cfg.hydra.sweeper.search_space) == {
        "x": {"type": "float", "low": 0.0, "high": 2.0},
        "n": {"type": "int", "low": 1, "high": 8},
    }


@pytest.mark.parametrize(("target", "trial_value"), [("x", 0.25), ("opt", "adam")], ids=["swept-key", "app-key"])
def test_an_escaped_interpolation_in_params_reaches_each_trial_as_that_interpolation(
    tmp_path: Path, target: str, trial_value: object
) -> None:
    r"""``y: \${x}`` (escaped, as Hydra's docs write an interpolation for later) is the fixed override ``y=${x}``,
    which each trial resolves in its own config, as it would given on the command line. Hydra resolves the
    sweeper's config once before handing over its nodes detached; a second resolution read ``${x}`` in the node
    alone: the sibling ``x: interval(0, 1)``, so ``y`` was swept as an independent copy of ``x``'s interval, and
    ``${opt}``, a key of the app, failed the sweep's start with OmegaConf's InterpolationKeyError."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    import hydra_plugins.ecopt_sweeper.config  # noqa: F401 - registers the config

    escaped = f"hydra.sweeper.params.y=\\${{{target}}}"
    with initialize_config_dir(config_dir=str(APP.parent / "conf"), version_base=None):
        cfg = compose("config", overrides=[escaped, f"hydra.sweep.dir={tmp_path}"], return_hydra_config=True)
        sweeper = instantiate(cfg.hydra.sweeper)  # as Hydra builds it: resolved once, each node detached
        sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
        space, _ = sweeper.configure([])
        assert space.names == ("x",)
        trial = compose("config", overrides=space.to_overrides({"x": 0.25}))
    assert trial.x == 0.25
    assert trial.y == trial_value


@pytest.mark.parametrize(
    ("kwargs", "arguments", "match"),
    [
        ({"custom_search_space": "my.fn"}, [], r"custom_search_space='my.fn': the ecopt sweeper cannot call"),
        ({"n_jobs": 2, "max_batch_size": 4}, [], r"max_batch_size=4 and the Optuna key n_jobs=2 disagree"),
        (
            {"n_jobs": 2, "acquisition": "EHVI"},
            [],
            r"set hydra.sweeper.max_batch_size=1, .*"
            r"\(here max_batch_size=2 is hydra.sweeper.n_jobs=2, the Optuna key: set n_jobs",
        ),
        ({"params": {"x": 1}}, [], r"nothing to sweep: hydra.sweeper.params and the command line fix every key"),
        # `-m` over an app that gives no search space: not "fix every key ([])".
        ({"params": None}, [], r"nothing to sweep: hydra.sweeper.params is empty and the command line sweeps no key;"),
        ({"n_trials": 0}, [], r"n_trials=0"),
        ({"direction": ["minimize"]}, [], r"are both set; give one of them"),
        ({}, ["x=2", "x=3"], r"'x' is given twice"),
        ({"max_batch_size": "two"}, [], r"max_batch_size='two'"),  # SweepSettings' message, not a TypeError
    ],
)
def test_configure_errors(tmp_path: Path, kwargs: dict[str, Any], arguments: list[str], match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        _sweeper(tmp_path, **kwargs).configure(arguments)


def test_enqueued_configurations_take_the_apps_own_values_for_the_keys_they_leave_out(tmp_path: Path) -> None:
    sweeper = _sweeper(
        tmp_path,
        params={"x": "interval(0, 1)", "model": "cnn,mlp", "model.width": "choice(16, 32)"},
        enqueue_trials=OmegaConf.create([{"x": 0.25}, {}, {"model": "mlp", "model.width": 16, "x": 1}]),
    )
    sweeper.config = OmegaConf.create(
        {
            "x": 0.5,
            "model": {"name": "cnn", "width": 32},
            "hydra": {"sweep": {"dir": str(tmp_path)}, "runtime": {"choices": {"model": "cnn"}}},
        }
    )
    _, settings = sweeper.configure([])
    assert settings.enqueue_trials == (
        {"x": 0.25, "model": "cnn", "model.width": 32},  # a config group's chosen option, a config value
        {"x": 0.5, "model": "cnn", "model.width": 32},  # [{}]: the app's defaults
        {"model": "mlp", "model.width": 16, "x": 1},
    )


@pytest.mark.parametrize(
    ("enqueued", "match"),
    [
        ([{"x": 2}], r"hydra.sweeper.enqueue_trials\[0\]=\{'x': 2\}: parameter 'x': 2 is outside its range"),
        ([{}], r"enqueue_trials\[0\] gives no value for 'x', and the app's config has none to take: add 'x: <value>'"),
        ([{"x": 0.5, "lr": 0.1}], r"unknown parameters \['lr'\]"),
        ({"x": 0.5}, r"^hydra\.sweeper\.enqueue_trials=\{'x': 0.5\}: expected a list of configurations"),
    ],
)
def test_bad_enqueued_configurations_are_refused_by_configure(tmp_path: Path, enqueued: Any, match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        _sweeper(tmp_path, enqueue_trials=enqueued).configure([])


@pytest.mark.parametrize("app_value", [5, None])
def test_an_enqueued_value_taken_from_the_app_is_named_as_the_app_s_when_refused(
    tmp_path: Path, app_value: Any
) -> None:
    sweeper = _sweeper(tmp_path, params={"x": "interval(0, 1)"}, enqueue_trials=[{}])
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "x": app_value})
    match = (
        rf"enqueue_trials\[0\] gives no value for 'x', so it takes the app's config's x: {app_value}, which the "
        r"search space refuses \(parameter 'x': .*\); add 'x: <value>' to it"
    )
    with pytest.raises(EcoptConfigError, match=match):
        sweeper.configure([])


# -- launching -------------------------------------------------------------------------------------------------------


class _FakeLauncher:
    def __init__(self, returns: list[JobReturn]) -> None:
        self.returns = returns
        self.calls: list[tuple[list[Sequence[str]], int]] = []

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.calls.append((list(job_overrides), initial_job_idx))
        return self.returns[: len(job_overrides)]


def test_a_batch_launches_each_trial_as_the_job_of_its_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    launcher = _FakeLauncher([JobReturn(status=JobStatus.COMPLETED, _return_value={"f1": 1.0, "f2": 2.0})] * 3)
    sweeper.launcher = launcher

    def refuse_the_middle(batch: Sequence[Sequence[str]]) -> None:
        if "x=0.5" in batch[0]:
            raise ValueError("does not compose")

    monkeypatch.setattr(sweeper, "validate_batch_is_legal", refuse_the_middle)
    sweeper._pareto = types.SimpleNamespace(evaluating=(3, 4, 5))  # type: ignore[assignment]
    out = sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}])
    # Trial 4 is not launched: trials 3 and 5 run as jobs 3 and 5 (were 3 and 4), so job dir N/ is trial N.
    assert launcher.calls == [([("x=0.25", "seed=3")], 3), ([("x=0.75", "seed=3")], 5)]
    assert isinstance(out[1], TrialFailure)
    assert sweeper.job_idx == 6


def test_inference_params_with_a_task_that_trains_without_the_checkpoint_cache_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lightning-hydra-template user who lists ``inference_params`` but keeps the template's ``trainer.fit`` (no
    ``CheckpointCache``) got no word: every trial trained again and the ledger counted no reuse. The first completed
    trial that reports neither ``checkpoint/reused`` nor ``energy/train_reused_j`` is named, once; a task that
    returns ``CachedTraining.metrics()`` is not."""

    def built(folder: Path, returned: dict[str, float], **kwargs: Any) -> Any:
        folder.mkdir(exist_ok=True)
        sweeper = _sweeper(folder, **kwargs)
        sweeper.space, _ = sweeper.configure(["y=choice(a, b)"])
        sweeper.launcher = _FakeLauncher([JobReturn(status=JobStatus.COMPLETED, _return_value=returned)] * 2)
        monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)  # no Hydra context to compose in
        return sweeper

    sweeper = built(tmp_path, {"f1": 1.0, "f2": 2.0}, inference_params=["y"])
    with caplog.at_level(logging.WARNING, logger="hydra_plugins.ecopt_sweeper.ecopt_sweeper"):
        sweeper.evaluate([{"x": 0.25, "y": "a"}, {"x": 0.5, "y": "b"}])
        sweeper.evaluate([{"x": 0.75, "y": "a"}])
    said = [" ".join(r.getMessage().split()) for r in caplog.records if "inference_params" in r.getMessage()]
    assert len(said) == 1, said
    assert "hydra.sweeper.inference_params=[y] is set, but trial 0 returned neither checkpoint/reused nor" in said[0]
    assert "CheckpointCache.from_hydra().fit_or_load(cfg, model, fit)" in said[0]
    assert "docs/examples.md" in said[0]

    caplog.clear()
    cached = {"f1": 1.0, "f2": 2.0, "checkpoint/reused": 0.0, "energy/train_reused_j": 0.0}
    uses_cache = built(tmp_path / "cached", cached, inference_params=["y"])
    no_params = built(tmp_path / "none", {"f1": 1.0, "f2": 2.0})
    with caplog.at_level(logging.WARNING, logger="hydra_plugins.ecopt_sweeper.ecopt_sweeper"):
        uses_cache.evaluate([{"x": 0.25, "y": "a"}])
        no_params.evaluate([{"x": 0.25, "y": "a"}])
    assert not [r for r in caplog.records if "inference_params" in r.getMessage()]


class _EchoesX(_FakeLauncher):
    """Each job returns its own x as f1: which outcome went to which trial shows."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.calls.append((list(job_overrides), initial_job_idx))
        return [
            JobReturn(status=JobStatus.COMPLETED, _return_value={"f1": float(o[0].partition("=")[2]), "f2": 0.0})
            for o in job_overrides
        ]


def test_the_trials_after_a_refused_one_each_get_their_own_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trial 4 of 3..6 is not launched: 5 and 6 run as one launch of jobs 5 and 6, and each keeps what it returned."""
    import types

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure([])
    launcher = _EchoesX([])
    sweeper.launcher = launcher

    def refuse_the_second(batch: Sequence[Sequence[str]]) -> None:
        if "x=0.5" in batch[0]:
            raise ValueError("does not compose")

    monkeypatch.setattr(sweeper, "validate_batch_is_legal", refuse_the_second)
    sweeper._pareto = types.SimpleNamespace(evaluating=(3, 4, 5, 6))  # type: ignore[assignment]
    out = sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}, {"x": 0.9}])
    assert launcher.calls == [([("x=0.25",)], 3), ([("x=0.75",), ("x=0.9",)], 5)]
    assert isinstance(out[1], TrialFailure)
    assert [out[i]["f1"] for i in (0, 2, 3)] == [0.25, 0.75, 0.9]


class _LosesBatches(_FakeLauncher):
    """A launcher that loses any batch holding the job ``x=0.5`` (its worker dies), as joblib does."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.calls.append((list(job_overrides), initial_job_idx))
        if any("x=0.5" in job for job in job_overrides):
            raise RuntimeError("A worker process was terminated abruptly")
        return [JobReturn(status=JobStatus.COMPLETED, _return_value={"f1": 1.0, "f2": 2.0}) for _ in job_overrides]


class _LosesBatchesOnThisMachine(_LosesBatches):
    __module__ = "hydra_plugins.hydra_joblib_launcher.joblib_launcher"  # runs a batch's jobs side by side here


@pytest.mark.parametrize("local", [True, False], ids=["joblib: each job again alone", "cluster: the batch fails"])
def test_a_lost_batch_is_run_again_job_by_job_only_on_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: bool
) -> None:
    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    launcher = (_LosesBatchesOnThisMachine if local else _LosesBatches)([])
    sweeper.launcher = launcher
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    out = sweeper.evaluate([{"x": 0.25}, {"x": 0.5}])
    if local:  # the healthy job completes; only the one that loses its launch alone fails
        assert [len(jobs) for jobs, _ in launcher.calls] == [2, 1, 1]
        assert out[0] == {"f1": 1.0, "f2": 2.0}
        assert "lost the job, run alone" in str(out[1])
    else:  # on a cluster each would queue again in turn, the culprit spending its time limit twice
        assert [len(jobs) for jobs, _ in launcher.calls] == [2]
        assert all("lost the whole batch of 2 jobs: RuntimeError" in str(o) for o in out)  # none finished


def test_a_lost_job_that_finishes_late_is_not_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper.launcher = launcher = _LosesBatchesOnThisMachine([])
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    reads: list[int] = []

    def recorded(number: int) -> Any:  # job 1 was still running when the batch was lost, and finished meanwhile
        reads.append(number)
        late = number == 1 and reads.count(1) > 1
        return {"f1": 5.0, "f2": 6.0} if late else job_module._ABSENT

    monkeypatch.setattr(sweeper, "_recorded_outcome", recorded)
    out = sweeper.evaluate([{"x": 0.25}, {"x": 0.5}])
    assert out[1] == {"f1": 5.0, "f2": 6.0}
    assert [(len(jobs), first) for jobs, first in launcher.calls] == [(2, 0), (1, 0)]  # job 0 alone, not job 1


class _LosesBatchesAfterOthersFinish(_LosesBatches):
    """Loses any batch holding ``x=0.5``, as ``_LosesBatches``, after its other jobs recorded their outcomes."""

    def __init__(self, returns: list[JobReturn], outcomes: Path) -> None:
        super().__init__(returns)
        self.outcomes = outcomes

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        if len(job_overrides) > 1:
            self.outcomes.mkdir(exist_ok=True)
            for number, job in enumerate(job_overrides, start=initial_job_idx):
                if "x=0.5" not in job:  # what _PicklableFailures writes in a job that finished
                    record = {"status": "completed", "value": {"f1": 3.0, "f2": float(number)}}
                    (self.outcomes / f"{number}.json").write_text(json.dumps(record))
        return super().launch(job_overrides, initial_job_idx)


class _LosesBatchesAfterOthersFinishHere(_LosesBatchesAfterOthersFinish):
    __module__ = "hydra_plugins.hydra_joblib_launcher.joblib_launcher"


@pytest.mark.parametrize("local", [True, False], ids=["joblib: the lost job again alone", "cluster: it fails"])
def test_a_lost_batch_keeps_the_outcomes_its_finished_jobs_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: bool
) -> None:
    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / "outcomes"
    launcher = (_LosesBatchesAfterOthersFinishHere if local else _LosesBatchesAfterOthersFinish)([], sweeper._outcomes)
    sweeper.launcher = launcher
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    out = sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}])
    assert out[0] == {"f1": 3.0, "f2": 0.0}  # recorded before the batch was lost: not run again
    assert out[2] == {"f1": 3.0, "f2": 2.0}
    if local:
        assert [len(jobs) for jobs, _ in launcher.calls] == [3, 1]
        assert launcher.calls[1][1] == 1
        assert "lost the job, run alone" in str(out[1])
    else:
        assert [len(jobs) for jobs, _ in launcher.calls] == [3]
        assert "lost the whole batch of 3 jobs; 2 of them had finished and keep their outcomes" in str(out[1])
        assert str(out[1]).endswith("(this one had not finished)")
    assert not sweeper._outcomes.exists()  # read, then deleted


class _TimesOutOnSlurm(_FakeLauncher):
    """Every job hits SLURM's time limit: submitit names each job's id and result path in its error."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.calls.append((list(job_overrides), initial_job_idx))
        job = 17573 + len(self.calls)
        raise RuntimeError(
            f"UncompletedJobError: Job {job} (task: 0) with path /s/.submitit/{job}/{job}_0_result.pkl has not "
            "produced any output (state: TIMEOUT)"
        )


def test_one_launcher_fault_is_one_reason_across_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The report groups failures by reason: N jobs past the time limit were N lines, one per job id."""
    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / job_module.OUTCOMES_DIR
    sweeper._outcomes.mkdir()
    monkeypatch.setattr(sweeper, "_forget_outcomes", lambda numbers: None)
    for number in range(2):  # the jobs started: a lost job, not a launcher that starts none
        (sweeper._outcomes / f"{number}.json").write_text(json.dumps({"status": "started"}))
    sweeper.launcher = _TimesOutOnSlurm([])
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    with caplog.at_level(logging.WARNING):
        first = sweeper.evaluate([{"x": 0.25}])
        second = sweeper.evaluate([{"x": 0.75}])
    assert str(first[0]) == str(second[0])
    assert "a job has not produced any output (state: TIMEOUT)" in str(first[0])
    assert "17575" in caplog.text  # the log keeps the launcher's own words, for its log files


class _StartsNothing(_FakeLauncher):
    """A launcher that raises before any job starts (submitit off a cluster: 'Could not detect "srun"')."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.calls.append((list(job_overrides), initial_job_idx))
        raise RuntimeError('Could not detect "srun", are you indeed on a slurm cluster?')


class _StartsNothingHere(_StartsNothing):
    __module__ = "hydra_plugins.hydra_joblib_launcher.joblib_launcher"


@pytest.mark.parametrize("launcher", [_StartsNothing, _StartsNothingHere], ids=["cluster", "joblib"])
def test_a_launcher_that_starts_no_job_stops_the_sweep_instead_of_failing_its_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launcher: type[_StartsNothing]
) -> None:
    from lightning_ecopt.exceptions import LauncherError

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / job_module.OUTCOMES_DIR
    sweeper.launcher = starts_nothing = launcher([])
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    match = r"did not start any of the 2 jobs \(0..1\) \(RuntimeError: Could not detect \"srun\".*rerun the same"
    with pytest.raises(LauncherError, match=match):
        sweeper.evaluate([{"x": 0.25}, {"x": 0.5}])
    assert len(starts_nothing.calls) == 1  # not run again job by job: the launcher, not a job, is at fault
    # A job that started (its record says so) makes it a lost batch again: the trials fail, the sweep goes on.
    sweeper._outcomes.mkdir()
    monkeypatch.setattr(sweeper, "_forget_outcomes", lambda numbers: None)
    (sweeper._outcomes / "2.json").write_text(json.dumps({"status": "started"}))
    out = sweeper.evaluate([{"x": 0.25}, {"x": 0.75}])
    assert all(isinstance(o, TrialFailure) for o in out)


def test_a_launcher_that_starts_no_job_under_a_dated_sweep_dir_says_which_dir_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: its message ended "rerun the same command to resume", which starts a new sweep in a new dated dir."""
    from lightning_ecopt.exceptions import LauncherError

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / job_module.OUTCOMES_DIR
    sweeper.launcher = _StartsNothing([])
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    sweeper._resume_how = "rerun it with hydra.sweep.dir=/w/08-09-20"  # as _sweep sets it for a dir with the time
    with pytest.raises(LauncherError) as dated:
        sweeper.evaluate([{"x": 0.25}, {"x": 0.5}])
    assert str(dated.value).endswith("then rerun it with hydra.sweep.dir=/w/08-09-20 to resume.")


def test_the_job_dir_check_sets_the_job_id_as_the_str_hydra_declares(tmp_path: Path) -> None:
    """Deprecations audit: the check assigned the job number (an int) to ``hydra.job.id``, which Hydra's ``JobConf``
    declares a str; OmegaConf 2.4 deprecates that conversion (``FutureWarning: Implicit conversion from int to str at
    'hydra.job.id'``), raised at our line in every sweep."""
    import types

    sweeper = _sweeper(tmp_path)
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "sweep"), "subdir": "0"}}})
    sweeper.hydra_context = types.SimpleNamespace()  # type: ignore[assignment]
    composed = OmegaConf.create(
        {"x": 0.75, "hydra": {"job": {}, "sweep": {"dir": str(tmp_path / "sweep"), "subdir": "3"}}}
    )
    sweeper._composed = {("x=0.75",): composed}  # as validate_batch_is_legal left it
    sweeper._check_job_dirs([["x=0.75"]], 3)
    assert (composed.hydra.job.id, composed.hydra.job.num) == ("3", 3)


@pytest.mark.parametrize("written", ["out/${now:%Y}/${x}", "out/${x}/${now:%Y}"])
def test_a_sweep_dir_reading_a_swept_value_is_refused_with_a_fix_the_shell_passes_on_as_written(
    tmp_path: Path, written: str
) -> None:
    """User-shapes audit: the fix named ``hydra.sweep.dir=out/${now:%Y}`` unquoted, which bash expands to ``out/``
    (the sweep then ran in ``out/``, no error); and a time after the swept part went into the subdir, read per job,
    so the suggested command resumed one sweep instead of starting one per run as the written dir does."""
    from hydra.core.utils import setup_globals

    setup_globals()  # Hydra's ${now:...} resolver
    sweeper = _sweeper(tmp_path)
    sweeper.config = OmegaConf.create({"x": 0.5, "hydra": {"sweep": {"dir": written}}})
    theirs = OmegaConf.create({"x": 0.75, "hydra": {"sweep": {"dir": written}}})
    with pytest.raises(EcoptConfigError) as refused:
        sweeper._check_trial_sweep_dir(theirs, ["x=0.75"])
    assert str(refused.value).endswith(
        "move the per-trial part into hydra.sweep.subdir: 'hydra.sweep.dir=out/${now:%Y}' "
        "'hydra.sweep.subdir=${hydra.job.num}_${x}'."
    )


@pytest.mark.parametrize("folder", ["my runs", "copy (2)", "x=1,y=2", "it's"])
def test_a_dated_sweep_dir_names_the_dir_to_resume_as_an_argument_that_reaches_hydra_whole(
    tmp_path: Path, folder: str
) -> None:
    """User-shapes audit: ``rerun it with hydra.sweep.dir=/w/my runs/10-00-00`` split at the space when pasted, and a
    ``(``, ``,``, ``=`` or ``'`` in the path, which Hydra's override grammar refuses unquoted, was not quoted for it."""
    import shlex

    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweeper = _sweeper(tmp_path)
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": "runs/${now:%H-%M-%S}"}}})
    dated = sweeper._dated_sweep_dir(tmp_path / folder / "10-00-00")
    assert dated is not None
    command, _, rest = dated[1].partition(" (or set a fixed ")
    assert command.startswith("rerun it with ")
    assert rest == "hydra.sweep.dir in the app's config)"
    (argument,) = shlex.split(command.removeprefix("rerun it with "))
    override = OverridesParser.create().parse_override(argument)
    assert (override.key_or_group, override.value()) == ("hydra.sweep.dir", f"{tmp_path}/{folder}/10-00-00")


@pytest.mark.parametrize(
    ("written", "holds"),
    [
        ("runs/${now:%Y-%m-%d}", "holds the date, so rerunning this command another day starts a new sweep"),
        ("runs/${now:%Y-%m-%d}/${now:%H-%M-%S}", "holds the time, so rerunning this command starts a new sweep"),
        ("runs/${day}", "holds the date, so rerunning this command another day starts"),  # through a key
        ("runs/${now:%Y-%m-%d_%-H}", "holds the time, so"),  # a flag before the directive
    ],
)
def test_a_sweep_dir_that_holds_only_the_date_is_said_to_start_anew_only_another_day(
    tmp_path: Path, written: str, holds: str
) -> None:
    """Hydra users keep a day's sweeps in one dated dir: rerunning the same day resumes it, which the warning
    ("rerunning this command starts a new sweep in a new dir") denied."""
    sweeper = _sweeper(tmp_path)
    sweeper.config = OmegaConf.create({"day": "${now:%Y-%m-%d}", "hydra": {"sweep": {"dir": written}}})
    dated = sweeper._dated_sweep_dir(tmp_path / "runs" / "2026-12-06")
    assert dated is not None
    assert dated[0].startswith(f"hydra.sweep.dir={written} {holds}")


def test_a_swept_option_that_sets_its_own_sweep_dir_is_named_as_such(tmp_path: Path) -> None:
    """Diff review: an option of a swept group (``# @package _global_``) setting hydra.sweep.dir was refused as a dir
    that "reads a swept value", with a subdir to move that was the sweep's own part."""
    sweeper = _sweeper(tmp_path)
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": f"{tmp_path}/expdir"}}})
    theirs = OmegaConf.create({"hydra": {"sweep": {"dir": f"{tmp_path}/expdir_other"}}})
    with pytest.raises(EcoptConfigError) as refused:
        sweeper._check_trial_sweep_dir(theirs, ["exp=e3"])
    message = str(refused.value)
    assert f"the trial with overrides ['exp=e3'] sets hydra.sweep.dir='{tmp_path}/expdir_other'" in message
    assert "Set hydra.sweep.dir once, in the app's config or on the command line" in message
    assert "reads a swept value" not in message
    same = OmegaConf.create({"hydra": {"sweep": {"dir": f"{tmp_path}/expdir"}}})
    sweeper._check_trial_sweep_dir(same, ["exp=e1"])  # the same dir: nothing to refuse


class _WorksOnceThenStartsNothing(_FakeLauncher):
    """Its first launch returns (writing the jobs' records where ``outcomes`` is given); later ones start nothing."""

    def __init__(self, outcomes: Path | None) -> None:
        super().__init__([])
        self.outcomes = outcomes

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.calls.append((list(job_overrides), initial_job_idx))
        if len(self.calls) > 1:
            raise RuntimeError("A worker process was terminated abruptly")
        if self.outcomes is not None:
            self.outcomes.mkdir(exist_ok=True)
            for number in range(initial_job_idx, initial_job_idx + len(job_overrides)):
                (self.outcomes / f"{number}.json").write_text(json.dumps({"status": "started"}))
        return [JobReturn(status=JobStatus.COMPLETED, _return_value={"f1": 1.0, "f2": 2.0}) for _ in job_overrides]


@pytest.mark.parametrize("visible", [True, False], ids=["records seen here", "jobs on hosts without the sweep dir"])
def test_no_record_means_no_job_started_only_where_records_are_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, visible: bool
) -> None:
    """Where the jobs' records never show here, a lost batch is a lost batch (its trials fail, the sweep goes on): a
    trial that kills its worker would otherwise stop the sweep on every resume."""
    from lightning_ecopt.exceptions import LauncherError

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / job_module.OUTCOMES_DIR
    sweeper.launcher = _WorksOnceThenStartsNothing(sweeper._outcomes if visible else None)
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    assert sweeper.evaluate([{"x": 0.25}]) == [{"f1": 1.0, "f2": 2.0}]
    if visible:
        with pytest.raises(LauncherError):
            sweeper.evaluate([{"x": 0.75}])
    else:
        (failure,) = sweeper.evaluate([{"x": 0.75}])
        assert "the launcher lost the job" in str(failure)


class _StartsOnlyTheFirstRun(_WorksOnceThenStartsNothing):
    """Runs the batch's first launch (its jobs record that they started); the next one never starts."""


def test_a_stop_in_a_later_launch_of_a_batch_keeps_what_the_earlier_ones_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trials 3 and 5 of a batch go in two launches (4 duplicated an earlier one): the second cannot start. Trial 3
    completed in the first: kept for the loop, not lost with the batch (it would have trained again on resume)."""
    import types

    from lightning_ecopt.exceptions import LauncherError

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / job_module.OUTCOMES_DIR
    sweeper.launcher = _StartsOnlyTheFirstRun(sweeper._outcomes)
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    pareto = types.SimpleNamespace(evaluating=(3, 5), finished_before_stop={}, ran_alone=set())
    sweeper._pareto = pareto  # type: ignore[assignment]
    with pytest.raises(LauncherError):
        sweeper.evaluate([{"x": 0.25}, {"x": 0.75}])
    assert pareto.finished_before_stop == {3: {"f1": 1.0, "f2": 2.0}}


class _StoppedInTheSecondLaunch(_FakeLauncher):
    """Its first launch returns; Ctrl-C lands in the second."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.calls.append((list(job_overrides), initial_job_idx))
        if len(self.calls) > 1:
            raise KeyboardInterrupt
        return [JobReturn(status=JobStatus.COMPLETED, _return_value={"f1": 1.0, "f2": 2.0}) for _ in job_overrides]


def test_a_ctrl_c_in_a_launch_of_a_batch_says_the_later_launches_never_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trials 3, 5 and 7 go in three launches: Ctrl-C in the second. Trial 3 is kept, trial 5 was cut short, and
    trial 7's launch never came: saved as not started (0 J) rather than interrupted."""
    import types

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper.launcher = _StoppedInTheSecondLaunch([])
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    pareto = types.SimpleNamespace(
        evaluating=(3, 5, 7), finished_before_stop={}, not_started_before_stop=set(), ran_alone=set()
    )
    sweeper._pareto = pareto  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}])
    assert len(sweeper.launcher.calls) == 2
    assert pareto.finished_before_stop == {3: {"f1": 1.0, "f2": 2.0}}
    assert pareto.not_started_before_stop == {7}


class _StoppedMidBatch(_FakeLauncher):
    """Job 0 completed and job 1 failed (the stop's SIGTERM reached its Lightning loop) before Ctrl-C reached here."""

    def __init__(self, outcomes: Path) -> None:
        super().__init__([])
        self.outcomes = outcomes

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        self.outcomes.mkdir(exist_ok=True)
        done = {"status": "completed", "value": {"f1": 1.0, "f2": 2.0}}
        killed = {"status": "failed", "type": "SIGTERMException", "message": "", "metrics": {}, "verdict": False}
        (self.outcomes / "0.json").write_text(json.dumps(done))
        (self.outcomes / "1.json").write_text(json.dumps(killed))
        (self.outcomes / "2.json").write_text(json.dumps({"status": "started"}))
        raise KeyboardInterrupt


def test_a_stop_mid_batch_keeps_only_the_jobs_that_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / job_module.OUTCOMES_DIR
    sweeper.launcher = _StoppedMidBatch(sweeper._outcomes)
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    pareto = types.SimpleNamespace(evaluating=(0, 1, 2), finished_before_stop={}, ran_alone=set())
    sweeper._pareto = pareto  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}])
    # Job 1's failure may be the stop's own doing: it runs again on resume, with job 2.
    assert pareto.finished_before_stop == {0: {"f1": 1.0, "f2": 2.0}}


@pytest.mark.parametrize("launched", [False, True], ids=["refused: the records stay", "ran: its leftovers go"])
def test_only_the_process_that_launched_deletes_the_job_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launched: bool
) -> None:
    """A second process refused by the running sweep's lock must not delete that sweep's unread job records."""
    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / job_module.OUTCOMES_DIR
    sweeper._outcomes.mkdir()
    record = sweeper._outcomes / "0.json"  # a job of the running sweep finished; its batch is still out
    record.write_text(json.dumps({"status": "completed", "value": {"f1": 1.0, "f2": 2.0}}))
    sweeper.launcher = _FakeLauncher([])
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)

    def run(arguments: list[str]) -> None:
        if launched:
            sweeper.evaluate([])
        raise EcoptConfigError("ParetoSweep: process 1 on host is running the sweep in ... (locked)")

    monkeypatch.setattr(sweeper, "_sweep", run)
    with pytest.raises(EcoptConfigError, match="is running the sweep"):
        sweeper.sweep([])
    assert record.exists() is not launched


class _AppTimeoutError(Exception):
    """An app's own exception that happens to share a name with one of the sweeper's verdicts."""


_AppTimeoutError.__name__ = "TrialTimeoutError"


class _TwoArgError(Exception):
    def __init__(self, a: int, b: int) -> None:  # does not survive pickling
        super().__init__(f"{a}/{b}")


def _record_outcomes(tmp_path: Path, outcomes: list[Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run a task that returns (or raises, or exits with) each of ``outcomes`` as job 0, 1, ... under Hydra's job
    config, through ``_PicklableFailures``; the sweeper that reads their records back."""
    from hydra.conf import HydraConf
    from hydra.core.hydra_config import HydraConfig

    from hydra_plugins.ecopt_sweeper._job import _PicklableFailures

    def task(outcome: Any) -> Any:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    sweeper = _sweeper(tmp_path)
    sweeper._outcomes = tmp_path / "outcomes"
    wrapped = _PicklableFailures(task, str(sweeper._outcomes))
    before = HydraConfig.instance().cfg
    try:
        for number, outcome in enumerate(outcomes):
            config = OmegaConf.create({"hydra": OmegaConf.structured(HydraConf)})
            config.hydra.job.num = number
            HydraConfig.instance().set_config(config)  # as Hydra's run_job sets it in the job's process
            with contextlib.suppress(Exception):
                wrapped(outcome)
    finally:
        HydraConfig.instance().cfg = before
    return sweeper


def test_an_unpicklable_failure_keeps_its_metrics_by_the_records_rule() -> None:
    """Its stand-in keeps the numbers and labels a record keeps (``_is_plain``): a bool is neither."""
    from hydra_plugins.ecopt_sweeper._job import _failure_fields, _UnpicklableTaskError

    failure = TrialFailure("oom", {"energy/train_j": 3.0, "done": True, "energy/source": "estimated: cpu-time"})
    carried = _UnpicklableTaskError.carrying(failure)
    assert carried.metrics == {"energy/train_j": 3.0, "energy/source": "estimated: cpu-time"}
    assert carried.metrics == _failure_fields(failure)["metrics"]


def test_a_job_was_running_when_the_sweep_died_only_where_its_record_says_it_started_and_never_ended(
    tmp_path: Path,
) -> None:
    """What a resume reads from the records a killed sweep left: only a job that started and recorded no end counts."""
    from hydra_plugins.ecopt_sweeper._job import ran_when_the_sweep_died

    (tmp_path / "1.json").write_text('{"status": "started"}')
    (tmp_path / "2.json").write_text('{"status": "completed", "value": {"f1": 1.0}}')
    (tmp_path / "3.json").write_text('{"status": "failed", "type": "ValueError", "message": "bad"}')
    (tmp_path / "4.json").write_text('{"status": "sta')  # unreadable: taken as running, the safe side
    ran = {number: ran_when_the_sweep_died(tmp_path, number) for number in range(5)}
    assert ran == {0: False, 1: True, 2: False, 3: False, 4: True}  # job 0 left no record: it never started
    assert ran_when_the_sweep_died(None, 1) is None  # the basic launcher: its records died with the process


def test_a_job_s_record_reads_as_what_the_launcher_would_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import torch

    from lightning_ecopt.exceptions import TrialTimeoutError
    from lightning_ecopt.sweeper.loop import _failure_reason
    from lightning_ecopt.sweeper.objectives import parse_objectives, parse_task_result

    objectives = parse_objectives({"f1": "minimize", "f2": "minimize"}, None)

    def parsed(value: Any) -> Any:
        try:
            return parse_task_result(value, objectives).values
        except TrialFailure as exc:
            return f"failed: {exc}".split(":")[0]  # failed either way (the value's text may differ)

    returns: list[Any] = [
        {"f1": np.float32(0.5), "f2": (np.int64(2), 0.1), "curve": np.arange(2), 7: 1.0, "t": torch.tensor(3.0)},
        {"f1": np.array([0.5, 0.1]), "f2": 1.0},  # an array is no (mean, sem) pair: the trial fails
        {"f1": torch.tensor([0.5, 0.1]), "f2": 1.0},
        {"f1": torch.tensor([0.5]), "f2": np.array([[2.0]])},  # of one element: its number, recorded as such
        {"f1": object(), "f2": 1.0},
        {"f1": 1.0, "f2": 2.0, "extra": [1.0, 2.0, 3.0], "nested": {"a": 1}},
        (0.5, np.float64(2.0)),
        ((0.5, 0.01), (2.0, 0.1)),  # objective values in order, each a (mean, sem) pair
        np.array([0.5, 2.0]),
        {"f1": math.nan, "f2": 1.0},
    ]
    failures: list[BaseException] = [
        TrialFailure("out of memory", {"energy/train_j": 2.5, "energy/source": "estimated: cpu-time"}),
        TrialTimeoutError(2.5),
        _AppTimeoutError("db query timed out"),
        _TwoArgError(1, 2),
        SystemExit(3),
    ]
    huge = list(range(300_000))  # more than the record's limit: not recorded, the job is treated as before
    sweeper = _record_outcomes(tmp_path, [*returns, *failures, huge], monkeypatch)
    for number, value in enumerate(returns):
        recorded = sweeper._recorded_outcome(number)
        assert parsed(recorded) == parsed(value), (number, recorded)
    reasons = [_failure_reason(sweeper._recorded_outcome(len(returns) + k)) for k in range(len(failures))]
    assert reasons == [
        "out of memory",
        "timed out: the trial ran longer than trial_timeout_s=2.5 s and was interrupted",
        "the job raised TrialTimeoutError: db query timed out",  # the app's, named as the launcher names it
        "the job raised _TwoArgError: 1/2",
        "the task called sys.exit(3) (SystemExit); raise an exception to fail a trial",
    ]
    assert sweeper._recorded_outcome(len(returns)).metrics == {
        "energy/train_j": 2.5,
        "energy/source": "estimated: cpu-time",
    }
    assert sweeper._recorded_outcome(len(returns) + len(failures)) is job_module._ABSENT
    assert not [p.name for p in sweeper._outcomes.iterdir() if p.name.startswith(".")]  # no partial file
    assert _sweeper(tmp_path)._recorded_outcome(0) is job_module._ABSENT  # the basic launcher: none


def test_a_single_objective_task_s_zero_dim_tensor_is_recorded_as_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``return torch.tensor(0.25)`` (a loss, ndim 0) is one objective's value: a lost batch reads it back as such."""
    import numpy as np
    import torch

    sweeper = _record_outcomes(tmp_path, [torch.tensor(0.25), np.float32(0.5)], monkeypatch)
    assert [sweeper._recorded_outcome(number) for number in (0, 1)] == [0.25, 0.5]


def test_a_job_s_record_is_strict_json_and_reads_back_its_nan_and_infinities(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record held Python's bare ``NaN`` and ``Infinity`` tokens, which are no JSON (jq and JavaScript refuse them):
    each non-finite float is its text now, and a task's own text that reads so keeps reading as text."""
    value = {
        "f1": 0.5,
        "f2": 1.0,
        "val/loss": math.nan,
        "energy/test_j": math.inf,
        "low": -math.inf,
        "pair": (0.9, math.nan),
        "note": "nan",  # a task's own text: not a number, as it would not be without the record
        "escaped": "\\-inf",
    }
    failure = TrialFailure("inf", {"energy/train_j": math.nan, "energy/test_j": -math.inf, "energy/source": "nan"})
    sweeper = _record_outcomes(tmp_path, [value, failure], monkeypatch)

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is no JSON")

    for number in (0, 1):
        json.loads((sweeper._outcomes / f"{number}.json").read_text(), parse_constant=refuse)
    recorded = sweeper._recorded_outcome(0)
    assert repr(recorded) == repr({**value, "pair": [0.9, math.nan]})  # repr: nan, inf and 'nan' told apart
    failed = sweeper._recorded_outcome(1)
    assert (type(failed), str(failed)) == (TrialFailure, "inf")
    assert repr(failed.metrics) == repr(failure.metrics)

    old = sweeper._outcomes / "2.json"  # written before records were strict JSON: its tokens still read
    old.write_text('{"status": "completed", "value": {"f1": NaN, "f2": Infinity, "f3": -Infinity}}')
    assert repr(sweeper._recorded_outcome(2)) == "{'f1': nan, 'f2': inf, 'f3': -inf}"


def test_only_a_job_s_first_task_records_its_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    rank = {"global_rank": 1}
    fake = types.SimpleNamespace(JobEnvironment=lambda: types.SimpleNamespace(**rank))
    monkeypatch.setitem(sys.modules, "submitit", fake)  # tasks_per_node=2: submitit returns the first's result
    sweeper = _record_outcomes(tmp_path, [{"f1": 999.0, "f2": 999.0}], monkeypatch)
    assert sweeper._recorded_outcome(0) is job_module._ABSENT
    rank["global_rank"] = 0
    sweeper = _record_outcomes(tmp_path, [{"f1": 1.0, "f2": 2.0}], monkeypatch)
    assert sweeper._recorded_outcome(0) == {"f1": 1.0, "f2": 2.0}


def test_evaluate_launches_overrides_and_never_reraises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error = MemoryError("CUDA out of memory")
    returns = [
        JobReturn(status=JobStatus.COMPLETED, _return_value={"f1": 1.0, "f2": 2.0}),
        JobReturn(status=JobStatus.FAILED, _return_value=error),
        JobReturn(status=JobStatus.UNKNOWN, _return_value=None),
    ]
    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure(["seed=3"])
    launcher = _FakeLauncher(returns)
    sweeper.launcher = launcher
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    sweeper.job_idx = 5

    out = sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}])

    assert launcher.calls == [([("x=0.25", "seed=3"), ("x=0.5", "seed=3"), ("x=0.75", "seed=3")], 5)]
    assert sweeper.job_idx == 8
    assert out[0] == {"f1": 1.0, "f2": 2.0}
    assert out[1] is error
    assert isinstance(out[2], RuntimeError)
    assert "status UNKNOWN" in str(out[2])


def test_evaluate_refuses_a_short_launcher_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweeper = _sweeper(tmp_path)
    sweeper.space, _ = sweeper.configure([])
    sweeper.launcher = _FakeLauncher([JobReturn(status=JobStatus.COMPLETED, _return_value=1.0)])
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    with pytest.raises(RuntimeError, match="returned 1 result for a batch of 2 jobs"):
        sweeper.evaluate([{"x": 0.1}, {"x": 0.2}])


# -- real Hydra runs (subprocesses) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["hydra.sweeper.n_trials=0"], "hydra.sweeper.n_trials=0: expected an integer >= 1"),
        (["hydra.sweeper.n_initial_trials=9"], "hydra.sweeper.n_initial_trials=9, hydra.sweeper.n_trials=4"),
        (["x=tag(log, interval(0, 1))"], "a log scale needs a positive lower bound"),
        (["x=glob(*)"], "x=glob(*): glob(...) selects among the options of a config group, and 'x' is none"),
        (["hydra.sweeper.objectives.f2=smallest"], "unknown direction 'smallest'"),
        (["hydra.sweeper.direction=[minimize,minimize]"], "are both set; give one of them"),
        (["+hydra.sweeper.reference_point.f3=1"], "'f3' is not an objective"),
        # The documented form for metric names with a '/' (Hydra's dotted keys cannot hold one): parsed, then ours.
        (["+hydra.sweeper.reference_point={energy/test_j: 1}"], "'energy/test_j' is not an objective"),
        # BoTorch's ref_point form: before, OmegaConf's "Cannot merge DictConfig with ListConfig" from the merge.
        (["hydra.sweeper.reference_point=[1,2]"], "in the objectives' order that is {f1: 1, f2: 2}"),
        # The documented command-line form of outcome_constraints (unquoted, Hydra's lexer refuses '<='): ours.
        (['hydra.sweeper.outcome_constraints=["energy/train_j <= 90%"]'], "the bound '90%' is not a number"),
        (["x=0.1", "x=0.2"], "'x' is given twice"),
        (["hydra.sweeper.acquisition=EI"], "unknown acquisition function"),
        (
            ["hydra.sweeper.acquisition=EHVI", "hydra.sweeper.max_batch_size=2"],
            "analytic EHVI proposes one trial at a time; set hydra.sweeper.max_batch_size=1",
        ),
        (["zzz=1,2"], "zzz"),  # composing a trial's config fails: a key the app does not have
        (["hydra.sweeper.enqueue_trials=[{x:2}]"], "parameter 'x': 2 is outside its range [0.0, 1.0]"),
        (["hydra.sweeper.enqueue_trials={x:0.5}"], "one configuration goes in a list too: [{'x': 0.5}]"),
    ],
)
def test_config_errors_stop_the_sweep_before_any_job(tmp_path: Path, overrides: list[str], message: str) -> None:
    result = _run_app(tmp_path, *overrides)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr  # the message, not a page of Hydra and Ax frames
    sweep_dir = tmp_path / "sweep"
    assert not (sweep_dir / "0").exists()
    assert not (sweep_dir / "multirun.yaml").exists()


def _check_sweep_dir(sweep_dir: Path, n_trials: int) -> dict[str, Any]:
    assert (sweep_dir / "ax_experiment.json").is_file()
    assert (sweep_dir / "multirun.yaml").is_file()
    multirun = OmegaConf.load(sweep_dir / "multirun.yaml")
    assert multirun.hydra.sweeper._target_ == "hydra_plugins.ecopt_sweeper.ecopt_sweeper.EcoptSweeper"
    job_dirs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert job_dirs == [str(i) for i in range(n_trials)]
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["name"] == "ecopt"
    assert len(results["trials"]) == n_trials
    assert all(trial["status"] == "completed" for trial in results["trials"])
    return dict(results)


def test_sweep_with_the_basic_launcher(tmp_path: Path) -> None:
    result = _run_app(tmp_path, "hydra.sweeper.n_initial_trials=3", "+trainer_epochs=2")
    assert result.returncode == 0, result.stderr
    results = _check_sweep_dir(tmp_path / "sweep", 4)
    assert results["objectives"] == {"f1": "minimize", "f2": "minimize"}
    job_config = OmegaConf.load(tmp_path / "sweep" / "3" / ".hydra" / "config.yaml")
    assert job_config.trainer_epochs == 2  # fixed overrides reach every job
    assert 0.0 <= job_config.x <= 1.0
    assert any((tmp_path / "sweep" / "tensorboard").iterdir())  # the frontier views, by default
    [run] = results["provenance"]  # the launcher is recorded with the run
    assert run["launcher"] == {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    assert (run["trials"], run["finished"]) == ([0, 3], 4)
    # The last line says where the results are and how to see the frontier (it ended on the summary alone).
    sweep = tmp_path / "sweep"
    last = (result.stdout + result.stderr).strip().splitlines()[-1]
    assert f"ecopt sweeper: results in {sweep / 'optimization_results.yaml'}; the frontier" in last
    assert last.endswith(f"ecopt report {sweep}; the frontier views: tensorboard --logdir {sweep / 'tensorboard'}")


def test_no_objectives_says_the_command_line_form_that_works(tmp_path: Path) -> None:
    """The message gave the YAML form only; on the command line ``'+hydra.sweeper.objectives={...}'`` works whether
    or not the app's YAML sets objectives (without the ``+``, adding to YAML objectives fails with "Key ... is not in
    struct")."""
    bare = ("hydra.sweeper.direction=null", "tuple_result=false", "hydra.sweeper.n_trials=2")
    refused = _run_app(tmp_path, *bare, config_name="optuna")
    assert refused.returncode != 0
    form = "'+hydra.sweeper.objectives={test/acc: maximize, energy/test_samples_per_j: maximize}'"
    assert f"on the command line, with a + and quoted, {form}" in refused.stderr
    assert "objectives: {metric: maximize|minimize}' under hydra.sweeper" in refused.stderr
    ran = _run_app(
        tmp_path, *bare, "+hydra.sweeper.objectives={f1: minimize, energy/train_j: minimize}", config_name="optuna"
    )
    assert ran.returncode == 0, ran.stderr
    results = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert results["objectives"] == {"f1": "minimize", "energy/train_j": "minimize"}


def test_enqueued_configurations_are_the_first_jobs(tmp_path: Path) -> None:
    # x given, y and opt (swept from the command line) from the app's config; then the app's defaults.
    result = _run_app(tmp_path, "hydra.sweeper.enqueue_trials=[{x:0.25},{}]", "opt=adam,sgd")
    assert result.returncode == 0, result.stderr
    results = _check_sweep_dir(tmp_path / "sweep", 4)
    overrides = [
        yaml.safe_load((tmp_path / "sweep" / str(i) / ".hydra" / "overrides.yaml").read_text()) for i in (0, 1)
    ]
    assert overrides == [["x=0.25", "y=0.5", "opt=adam"], ["x=0.5", "y=0.5", "opt=adam"]]
    assert [t["params"] for t in results["trials"][:2]] == [
        {"x": 0.25, "y": 0.5, "opt": "adam"},
        {"x": 0.5, "y": 0.5, "opt": "adam"},
    ]


def test_a_sweep_resumed_under_another_launcher_is_told_its_figures_mix(tmp_path: Path) -> None:
    """joblib's workers run torch on their share of the cores: one configuration read 2.05 J under the basic
    launcher and 1.02 J under joblib (n_jobs=2), and a resumed sweep mixed the two in one frontier unsaid."""
    from hydra_plugins.ecopt_sweeper._launchers import _launcher_change

    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}
    multirun = tmp_path / "multirun.yaml"
    OmegaConf.save(OmegaConf.create({"hydra": {"launcher": basic}, "x": 1}), multirun)
    message = _launcher_change(multirun, OmegaConf.create({"hydra": {"launcher": joblib}, "x": 1}))
    assert message is not None
    assert message.startswith(f"this sweep's earlier trials ran under another launcher ({basic}; now {joblib}")
    assert "Resume under the launcher it started with, or start a new sweep dir (hydra.sweep.dir)." in message
    interpolated = {**joblib, "n_jobs": "${oc.env:ECOPT_TEST_NJ}"}  # as written both times: no warning
    OmegaConf.save(OmegaConf.create({"hydra": {"launcher": interpolated}}), multirun)
    assert _launcher_change(multirun, OmegaConf.create({"hydra": {"launcher": interpolated}})) is None
    # Unresolvable now (the variable unset) and written otherwise: said nothing, and the resume is not broken.
    assert _launcher_change(multirun, OmegaConf.create({"hydra": {"launcher": joblib}})) is None
    OmegaConf.save(OmegaConf.create({"hydra": {"launcher": {**joblib, "n_jobs": "2"}}}), multirun)  # read back as text
    assert _launcher_change(multirun, OmegaConf.create({"hydra": {"launcher": joblib}})) is None
    OmegaConf.save(OmegaConf.create({"hydra": {"launcher": basic}, "x": 1}), multirun)
    same = {**basic, "timeout_min": 60}  # what does not move the figures is not compared
    assert _launcher_change(multirun, OmegaConf.create({"hydra": {"launcher": same}})) is None
    assert _launcher_change(tmp_path / "absent.yaml", OmegaConf.create({"hydra": {"launcher": joblib}})) is None


def test_a_third_run_under_the_new_launcher_is_still_told_its_figures_mix(tmp_path: Path) -> None:
    """Reproducibility review: the warning compared with the previous run's multirun.yaml only, so a third run under
    the launcher the second switched to said nothing, though the first run's trials are in the same frontier. With
    the sweep's provenance records, every earlier run that finished trials is compared."""
    from hydra_plugins.ecopt_sweeper._launchers import _launcher_change

    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}
    multirun = tmp_path / "multirun.yaml"
    OmegaConf.save(OmegaConf.create({"hydra": {"launcher": joblib}}), multirun)  # the second run's
    now = OmegaConf.create({"hydra": {"launcher": joblib}})
    assert _launcher_change(multirun, now) is None  # what the previous run's file alone says
    runs = [{"launcher": basic, "finished": 3}, {"launcher": {**joblib, "n_jobs": "2"}, "finished": 2}]
    storage = tmp_path / "ax_experiment.json"
    message = _launcher_change(multirun, now, runs, storage)
    assert message is not None
    assert message.startswith(
        f"this sweep's earlier trials ran under another launcher ({basic}; now {joblib}, as the runs recorded in "
        f"{storage} say): energy figures move with it"
    )
    # The same launcher throughout, or a run that finished nothing under another (it started no job): nothing said.
    assert _launcher_change(multirun, now, runs[1:], storage) is None
    assert _launcher_change(multirun, now, [{"launcher": basic, "finished": 0}, runs[1]], storage) is None
    # A sweep saved before runs were recorded: its earlier trials' record carries the launcher from its multirun.yaml.
    unrecorded = [{"unrecorded": True, "trials": [0, 2], "launcher": basic}, runs[1]]
    assert _launcher_change(multirun, now, unrecorded, storage) == message
    assert _launcher_change(multirun, now, [{"unrecorded": True, "trials": [0, 2]}, runs[1]], storage) is None


def test_a_sweep_whose_earlier_runs_used_two_other_launchers_names_both(tmp_path: Path) -> None:
    """Three runs, three launchers: the warning names both earlier ones, not the first alone."""
    from hydra_plugins.ecopt_sweeper._launchers import _launcher_change

    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}
    now = {**joblib, "n_jobs": 4}
    runs = [{"launcher": basic, "finished": 3}, {"launcher": joblib, "finished": 2}]
    message = _launcher_change(tmp_path / "multirun.yaml", OmegaConf.create({"hydra": {"launcher": now}}), runs)
    assert message is not None
    assert f"under another launcher ({basic} and {joblib}; now {now}, as the sweep's runs record)" in message


def test_the_launcher_a_sweep_dirs_multirun_yaml_names_is_read_where_it_names_one(tmp_path: Path) -> None:
    from hydra_plugins.ecopt_sweeper._launchers import _written_launcher

    joblib = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}
    multirun = tmp_path / "multirun.yaml"
    OmegaConf.save(OmegaConf.create({"hydra": {"launcher": {**joblib, "timeout_min": 60}}, "x": 1}), multirun)
    assert _written_launcher(multirun) == joblib
    assert _written_launcher(tmp_path / "absent.yaml") is None
    for written in ({"x": 1}, {"hydra": {"launcher": {"timeout_min": 60}}}, {"hydra": {"launcher": "basic"}}):
        OmegaConf.save(OmegaConf.create(written), multirun)
        assert _written_launcher(multirun) is None
    OmegaConf.save(
        OmegaConf.create({"hydra": {"launcher": {**joblib, "n_jobs": "${oc.env:ECOPT_UNSET_NJ}"}}}), multirun
    )
    assert _written_launcher(multirun) is None  # does not resolve


def test_a_sweep_saved_before_runs_were_recorded_keeps_its_first_launcher_past_its_first_resume(tmp_path: Path) -> None:
    """Its trials were one ``unrecorded`` record without a launcher, and the first resume overwrote the
    ``multirun.yaml`` that named it: a third run under the launcher the second switched to said nothing, and the
    report's ``Runs:`` line named the recorded launcher only."""
    from lightning_ecopt import provenance

    quiet = ("hydra.sweeper.n_initial_trials=2", "hydra.sweeper.tensorboard=false")
    first = _run_app(tmp_path, "hydra.sweeper.n_trials=2", *quiet)
    assert first.returncode == 0, first.stderr
    storage, results = tmp_path / "sweep" / "ax_experiment.json", tmp_path / "sweep" / "optimization_results.yaml"
    saved = json.loads(storage.read_text())  # as a version that recorded no runs saved it
    description = json.loads(saved["experiment"]["description"])
    del description["lightning_ecopt"]["provenance"]
    saved["experiment"]["description"] = json.dumps(description)
    storage.write_text(json.dumps(saved))
    joblib = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=1")
    second = _run_app(tmp_path, "hydra.sweeper.n_trials=3", *joblib, *quiet)
    assert second.returncode == 0, second.stderr
    assert "earlier trials ran under another launcher" in second.stdout + second.stderr  # from its multirun.yaml
    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    before, _ = yaml.safe_load(results.read_text())["provenance"]
    assert before == {"unrecorded": True, "trials": [0, 1], "launcher": basic}
    third = _run_app(tmp_path, "hydra.sweeper.n_trials=4", *joblib, *quiet)
    assert third.returncode == 0, third.stderr
    assert f"earlier trials ran under another launcher ({basic}; now " in third.stdout + third.stderr
    line = provenance.runs_line(yaml.safe_load(results.read_text())["provenance"])
    assert "launcher BasicLauncher -> JoblibLauncher (n_jobs=1)" in line
    assert "The runs differ in launcher: energy figures" in line
    assert "Trials #0-#1 ran before runs were recorded (under BasicLauncher)." in line


def test_a_swept_key_the_app_lacks_is_named_with_its_likely_spelling(tmp_path: Path) -> None:
    """Hydra's own advice ('use +yy=...') would sweep a key the app never reads."""
    result = _run_app(tmp_path, "yy=0.1,0.3")
    assert result.returncode != 0
    assert (
        "the sweep sets 'yy', a key the app's config does not have (did you mean 'y'?): fix its name in "
        "hydra.sweeper.params or on the command line. To set a key the app reads but its config lacks (or that a "
        "config group option swept beside it adds), write '++yy'."
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()


def test_a_swept_key_the_app_has_given_with_plus_is_refused_with_the_users_own_override(tmp_path: Path) -> None:
    """Hydra's advice ('remove + prefix: x=0.0') gave the first trial's value: it fixes x and sweeps nothing."""
    result = _run_app(tmp_path, "+x=interval(0,1)")
    assert result.returncode != 0
    assert (
        "'+x=interval(0,1)': the app's config already has 'x', so '+' (append) is refused; write 'x=interval(0,1)' "
        "(or '++x=interval(0,1)')."
    ) in result.stderr
    assert "x=0.0" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()
    # Swept in hydra.sweeper.params: said so; a fixed '+x=0.3' keeps Hydra's advice, which is then the user's own.
    from hydra_plugins.ecopt_sweeper._compose import _appended_existing_key
    from lightning_ecopt.sweeper.space import parse_search_space

    error = Exception("Could not append to config. An item is already at 'x'.\nEither remove + prefix: 'x=0.0'")
    space = parse_search_space({"+x": "interval(0, 1)"}, [])
    assert _appended_existing_key(error, space, [], {"+x": "interval(0, 1)"}) == (
        "hydra.sweeper.params: '+x=interval(0, 1)': the app's config already has 'x', so '+' (append) is refused; "
        "write 'x=interval(0, 1)' (or '++x=interval(0, 1)')."
    )
    fixed = parse_search_space({"y": "interval(0, 1)"}, ["+x=0.3"])
    assert _appended_existing_key(error, fixed, ["+x=0.3"], {}) is None


def test_a_swept_config_group_the_defaults_list_lacks_is_refused_with_the_users_own_override_and_a_plus(
    tmp_path: Path,
) -> None:
    """Hydra's advice ('To append to your default list use +depth=18') gave the first trial's option: followed, it
    fixes the group and sweeps nothing of it."""
    result = _run_app(tmp_path, "depth='18','34'", app=FAULTS_APP)
    assert result.returncode != 0
    assert (
        "\"depth='18','34'\": 'depth' is a config group that the app's defaults list does not select, so it cannot "
        "be overridden; write \"+depth='18','34'\" to add it for every trial (or give it a default in the app's "
        "defaults list: '- depth: <option>')."
    ) in result.stderr
    assert "+depth=18\n" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()
    # Swept in hydra.sweeper.params: said so; a fixed 'depth=34' keeps Hydra's advice, which is then the user's own.
    from hydra_plugins.ecopt_sweeper._compose import _group_not_in_defaults
    from lightning_ecopt.sweeper.space import parse_search_space

    error = Exception("Could not override 'depth'. No match in the defaults list.\nTo append ... use +depth=18")
    space = parse_search_space({"depth": "choice(a, b)"}, [])
    assert _group_not_in_defaults(error, space, [], {"depth": "choice(a, b)"}) == (
        "hydra.sweeper.params: 'depth=choice(a, b)': 'depth' is a config group that the app's defaults list does not "
        "select, so it cannot be overridden; write '+depth=choice(a, b)' to add it for every trial (or give it a "
        "default in the app's defaults list: '- depth: <option>')."
    )
    fixed = parse_search_space({"y": "interval(0, 1)"}, ["depth=b"])
    assert _group_not_in_defaults(error, fixed, ["depth=b"], {}) is None


def test_a_swept_value_that_another_override_replaced_in_the_composed_config_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The safety net behind parse_search_space's refusal: the composed first trial must hold each swept value."""
    from lightning_ecopt.sweeper.space import RangeParameter, SearchSpace

    space = SearchSpace(
        parameters=(RangeParameter("model.opt.lr", 0.001, 0.1, "float", log_scale=True),),
        fixed={"model.opt": {"lr": 0.5}},
        fixed_overrides=("model.opt={lr:0.5}",),
    )
    sweeper = ecopt_sweeper(tmp_path)
    with pytest.raises(EcoptConfigError) as refused:
        sweeper._check_swept_values_arrive(space, {"model": {"opt": {"lr": 0.5}}, "x": 1})
    assert str(refused.value) == (
        "the sweep sets model.opt.lr=0.001 in its first trial, but the composed config has 0.5 there: the override "
        "'model.opt={lr:0.5}' replaced it, so every trial would run on that while the results record the swept "
        "values. Change it so as not to set model.opt.lr, or stop sweeping model.opt.lr."
    )
    sweeper._check_swept_values_arrive(space, {"model": {"opt": {"lr": 0.001}}})  # arrived: accepted
    sweeper._check_swept_values_arrive(  # OmegaConf's conversion on a typed node is the value given
        SearchSpace(parameters=(RangeParameter("n", 1, 4, "int"),)), {"n": "1"}
    )
    # No override sets the node: a conversion this check does not know is likelier than a replaced value. Said only.
    with caplog.at_level(logging.WARNING):
        sweeper._check_swept_values_arrive(SearchSpace(parameters=space.parameters), {"model": {}})
    assert "composed config reads no value there" in caplog.text


def test_typed_fields_and_list_elements_hold_the_swept_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A structured config's Enum field (composed as Act.relu) and a list element (model.layers.0) were refused as
    values another override had replaced; both sweeps ran before the check."""
    import enum

    from lightning_ecopt.sweeper.space import ChoiceParameter, SearchSpace

    Act = enum.Enum("Act", "relu gelu")
    sweeper = ecopt_sweeper(tmp_path)
    act = SearchSpace(parameters=(ChoiceParameter("model.act", ("relu", "gelu"), is_ordered=False),))
    sweeper._check_swept_values_arrive(act, {"model": {"act": Act.relu}})
    layers = SearchSpace(parameters=(ChoiceParameter("model.layers.0", (16, 64), is_ordered=True),))
    sweeper._check_swept_values_arrive(layers, {"model": {"layers": [16, 32]}})
    # A typed bool reads yes/no as True/False: the value moves with the override, so it arrives (one more compose).
    bn = SearchSpace(parameters=(ChoiceParameter("use_bn", ("yes", "no"), is_ordered=False),))
    composed: list[list[str]] = []

    def compose(overrides: list[str]) -> dict:
        composed.append(list(overrides))
        return {"use_bn": "use_bn=no" not in overrides}

    monkeypatch.setattr(sweeper, "_task_config", compose)
    sweeper._check_swept_values_arrive(bn, {"use_bn": True})
    assert composed == [["use_bn=no"]]
    replaced = SearchSpace(
        parameters=layers.parameters, fixed={"model.layers": [8, 8]}, fixed_overrides=("model.layers=[8,8]",)
    )
    with pytest.raises(EcoptConfigError, match=r"the composed config has 8 there: the override 'model.layers=\[8,8\]'"):
        sweeper._check_swept_values_arrive(replaced, {"model": {"layers": [8, 8]}})


def test_an_enum_field_that_another_override_replaced_is_refused(tmp_path: Path) -> None:
    """A structured config's Enum field composed as Act.relu where the first trial sweeps gelu: the value did not
    arrive, refused as any replaced value is."""
    import enum

    from lightning_ecopt.sweeper.space import ChoiceParameter, SearchSpace

    Act = enum.Enum("Act", "relu gelu")
    space = SearchSpace(
        parameters=(ChoiceParameter("model.act", ("gelu", "relu"), is_ordered=False),),
        fixed={"model": {"act": "relu"}},
        fixed_overrides=("model={act:relu}",),
    )
    with pytest.raises(EcoptConfigError, match=r"sets model\.act=gelu in its first trial, but the composed config has"):
        ecopt_sweeper(tmp_path)._check_swept_values_arrive(space, {"model": {"act": Act.relu}})


def test_a_fixed_mapping_over_a_swept_key_stops_the_sweep_before_any_job(tmp_path: Path) -> None:
    result = _run_app(tmp_path, "+model={lr: 0.5}", "+model.lr=interval(0.001, 0.1)")
    assert result.returncode != 0
    assert "command line: '+model={lr: 0.5}' sets the swept 'model.lr' to 0.5 in every trial" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()


def test_a_joblib_launcher_with_idle_workers_is_said() -> None:
    """``hydra.launcher.n_jobs=2`` alone runs one trial at a time (the sweeper's max_batch_size is 1): said."""
    from hydra_plugins.ecopt_sweeper._launchers import _idle_workers
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher

    message = _idle_workers(JoblibLauncher(n_jobs=2), 1)
    assert message is not None
    assert message.startswith("hydra.launcher.n_jobs=2 gives 2 workers, but the sweep launches ")
    assert "set hydra.sweeper.max_batch_size=2" in message
    assert message.endswith("to give the trials the cores, set hydra.launcher.n_jobs=1.")
    assert _idle_workers(JoblibLauncher(n_jobs=2), 2) is None
    cores = os.cpu_count() or 1
    every_core = _idle_workers(JoblibLauncher(n_jobs=-1), 1)  # joblib's default: a worker per core
    assert every_core is None if cores == 1 else f"n_jobs=-1 gives {cores} workers" in every_core
    assert _idle_workers(None, 1) is None


def test_a_batch_larger_than_joblib_s_workers_is_said_to_run_as_many_side_by_side_as_there_are_workers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """User-shapes audit: ``n_jobs=2 max_batch_size=3`` was said to run "3 trials at a time side by side" (2 do), and
    ``n_jobs=1 max_batch_size=2``, which runs one at a time, was said to share counters and its trials tagged so."""
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher

    sweeper = _sweeper(tmp_path, max_batch_size=3)
    sweeper.launcher = JoblibLauncher(n_jobs=2)
    with caplog.at_level(logging.WARNING):
        _, settings = sweeper.configure([])
    assert settings.parallel_trials
    assert "ecopt sweeper: 2 trials at a time run side by side on this machine (JoblibLauncher)" in caplog.text
    caplog.clear()
    sweeper = _sweeper(tmp_path, max_batch_size=2)
    sweeper.launcher = JoblibLauncher(n_jobs=1)
    with caplog.at_level(logging.WARNING):
        _, settings = sweeper.configure([])
    assert not settings.parallel_trials
    assert "side by side" not in caplog.text


def test_a_negative_joblib_n_jobs_that_leaves_one_worker_is_not_said(monkeypatch: pytest.MonkeyPatch) -> None:
    """joblib's n_jobs=-4 on 4 cores is 1 worker (cores + 1 + n_jobs): none idles beside a batch of one."""
    from hydra_plugins.ecopt_sweeper._launchers import _idle_workers
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert _idle_workers(JoblibLauncher(n_jobs=-4), 1) is None
    assert _idle_workers(JoblibLauncher(n_jobs=-9), 1) is None  # past every core: joblib still runs one
    two = _idle_workers(JoblibLauncher(n_jobs=-3), 1)
    assert two is not None
    assert two.startswith("hydra.launcher.n_jobs=-3 gives 2 workers")


def test_optuna_config_with_the_joblib_launcher(tmp_path: Path) -> None:
    result = _run_app(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.tensorboard=false",
        config_name="optuna",
    )
    assert result.returncode == 0, result.stderr
    results = _check_sweep_dir(tmp_path / "sweep", 4)
    assert results["objectives"] == {"objective_0": "minimize", "objective_1": "minimize"}
    assert {"params", "values"} <= set(results["solutions"][0])  # the Optuna sweeper's keys
    log = result.stdout + result.stderr
    assert "Joblib.Parallel(n_jobs=2" in log
    assert "is launching 2 jobs" in log  # n_jobs: 2 became max_batch_size: 2
    assert "2 trials at a time run side by side on this machine (JoblibLauncher)" in log
    assert not any(trial["shared_counters"] for trial in results["trials"])  # no measured energy here
    assert not (tmp_path / "sweep" / "tensorboard").exists()  # tensorboard=false
    params = {(trial["params"]["x"], trial["params"]["y"]) for trial in results["trials"]}
    assert all(x in range(6) and y in range(4) for x, y in params)  # range(0, 5, step=1) includes 5, as in Optuna


def test_rerun_resumes_without_overwriting_job_dirs(tmp_path: Path) -> None:
    """A second run of the same command with a larger budget continues: new job dirs, old trials kept."""
    first = _run_app(tmp_path, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    assert first.returncode == 0, first.stderr
    trial0 = (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text()
    second = _run_app(tmp_path, "hydra.sweeper.n_trials=5", "hydra.sweeper.n_initial_trials=3")
    assert second.returncode == 0, second.stderr
    results = _check_sweep_dir(tmp_path / "sweep", 5)
    assert (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text() == trial0  # not overwritten
    assert sorted(t["trial_index"] for t in results["trials"]) == list(range(5))


def test_job_dirs_that_outlived_their_experiment_are_kept_and_the_shift_is_said(tmp_path: Path) -> None:
    """An earlier sweep's numbered job dirs, its experiment deleted: none is overwritten, and trial N runs in dir
    N+3; nothing said so, while docs/sweeper.md promises that N/ is trial N. Its results, still in the folder, stop a
    new sweep until they are moved away (the new sweep's first batch wrote over them)."""
    first = _run_app(tmp_path, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    assert first.returncode == 0, first.stderr
    sweep = tmp_path / "sweep"
    trial0 = (sweep / "0" / ".hydra" / "overrides.yaml").read_text()
    (sweep / "ax_experiment.json").unlink()
    results = (sweep / "optimization_results.yaml").read_text()
    refused = _run_app(tmp_path, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2")
    assert refused.returncode != 0
    assert "holds 3 trials of a sweep whose experiment" in refused.stderr
    assert (sweep / "optimization_results.yaml").read_text() == results
    assert not (sweep / "3").exists()  # refused before any job
    (sweep / "optimization_results.yaml").rename(tmp_path / "old_results.yaml")
    shutil.move(sweep / "tensorboard", tmp_path / "old_tensorboard")
    second = _run_app(tmp_path, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text() == trial0
    assert (tmp_path / "sweep" / "4").is_dir()
    assert "so this sweep's trial N runs in job dir N+3, not N/" in second.stdout + second.stderr


def test_a_new_sweep_over_an_earlier_sweep_s_checkpoints_says_their_weights_would_be_reused(tmp_path: Path) -> None:
    """CheckpointCache keys its folder by the sweep dir alone: a new sweep started where an earlier one's experiment
    and results were moved away (as the start-fresh advice said) loaded its checkpoints silently, and the ledger
    reported 0 J of training with savings. The new sweep says so; its resume, whose checkpoints are its own, does
    not."""
    old = tmp_path / "sweep" / "checkpoints"
    old.mkdir(parents=True)
    (old / "0123456789abcdef.pt").write_bytes(b"weights")
    (old / "0123456789abcdef.lock").touch()
    arguments = ["hydra.sweeper.n_initial_trials=2", "hydra.sweeper.inference_params=[opt]"]
    new = _run_app(tmp_path, "hydra.sweeper.n_trials=2", *arguments)
    assert new.returncode == 0, new.stderr
    said = " ".join((new.stdout + new.stderr).split())
    assert f"{old} holds 1 cached checkpoint from before this new sweep" in said
    assert "loads its weights as if this sweep had trained them, and reports 0 J of training (its cost as " in said
    assert f"Delete or move {old} to retrain" in said
    resumed = _run_app(tmp_path, "hydra.sweeper.n_trials=3", *arguments)
    assert resumed.returncode == 0, resumed.stderr
    assert "cached checkpoint" not in resumed.stdout + resumed.stderr
    shutil.copytree(old, tmp_path / "other" / "sweep" / "checkpoints")
    no_cache = _run_app(tmp_path / "other", "hydra.sweeper.n_trials=1", "hydra.sweeper.n_initial_trials=1")
    assert no_cache.returncode == 0, no_cache.stderr  # without inference_params, no trial loads a checkpoint
    assert "cached checkpoint" not in no_cache.stdout + no_cache.stderr


def test_rerun_with_a_named_subdir_continues_the_job_numbering(tmp_path: Path) -> None:
    """Job dirs named ``trial_${hydra.job.num}``, not a plain number: a resumed sweep numbers on, overwriting none."""
    subdir = "hydra.sweep.subdir=trial_${hydra.job.num}"
    sweep_dir = tmp_path / "sweep"

    def job_overrides(n: int) -> list[str]:
        return [(sweep_dir / f"trial_{i}" / ".hydra" / "overrides.yaml").read_text() for i in range(n)]

    first = _run_app(tmp_path, subdir, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    assert first.returncode == 0, first.stderr
    before = job_overrides(3)
    second = _run_app(tmp_path, subdir, "hydra.sweeper.n_trials=5", "hydra.sweeper.n_initial_trials=3")
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in sweep_dir.glob("trial_*")) == [f"trial_{i}" for i in range(5)]
    assert job_overrides(3) == before  # not overwritten
    assert len(set(job_overrides(5))) == 5  # one job dir per trial


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local"])
def test_a_task_that_changes_the_working_directory_keeps_the_sweep_in_its_sweep_dir(
    tmp_path: Path, launcher: str
) -> None:
    """A task that works in its job dir (``os.chdir`` under ``hydra.job.chdir=false``, which Hydra does not undo)
    moved every later save of a relative sweep dir, and the next job dirs, into the first trial's folder: the sweep
    said "done", and a rerun found no finished trial and ran them all again. The warning is said once a sweep; under
    joblib (and submitit) each job's worker said it, once per job."""
    chosen = [f"hydra/launcher={launcher}", *LAUNCHER_OVERRIDES[launcher]]
    result = _run_app(tmp_path, "fail=chdir", *chosen, app=FAULTS_APP, sweep_dir="sweep")
    assert result.returncode == 0, result.stderr
    sweep_dir = tmp_path / "sweep"
    assert not list(sweep_dir.glob("*/sweep")), sorted(str(p) for p in sweep_dir.rglob("*"))
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()) == ["0", "1", "2", "3"]
    experiment = json.loads((sweep_dir / "ax_experiment.json").read_text())
    assert len(experiment["experiment"]["trials"]) == 4
    trials = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())["trials"]
    assert [trial["status"] for trial in trials] == ["completed"] * 4
    output = result.stdout + result.stderr
    assert output.count("the task changed the working directory to") == 1, output
    assert "hydra.job.chdir=true" in output


LAUNCHER_OVERRIDES = {
    "basic": [],
    "joblib": ["hydra.launcher.n_jobs=2"],
    # SLURM's launcher, run as local processes (submitit's own test executor): the path a cluster sweep takes.
    "submitit_local": ["hydra.launcher.timeout_min=5"],
}


@pytest.mark.parametrize("launcher", list(LAUNCHER_OVERRIDES))
def test_an_exception_that_cannot_be_unpickled_fails_only_its_trial(tmp_path: Path, launcher: str) -> None:
    """A process-based launcher carries each job's exception back pickled: one that cannot be unpickled must not
    take the healthy trials of its batch down with it, and its trial's reason names the real error."""
    result = _run_app(
        tmp_path,
        "fail=unpicklable",
        f"hydra/launcher={launcher}",
        *LAUNCHER_OVERRIDES[launcher],
        "hydra.sweeper.max_batch_size=2",
        app=FAULTS_APP,
    )
    assert result.returncode == 0, result.stderr
    assert "lost the whole batch" not in result.stdout + result.stderr
    trials = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())["trials"]
    assert len(trials) == 4
    for trial in trials:
        if trial["params"]["x"] > 0.5:
            assert (trial["status"], trial["reason"]) == ("failed", "the job raised TwoArgError: bad: thing")
        else:
            assert trial["status"] == "completed", trial["reason"]
    # Each batch of two holds a healthy and a failing trial (Sobol, seed 0): the case that lost whole batches.
    assert [trial["status"] for trial in trials] == ["completed", "failed", "failed", "completed"]


def test_ctrl_c_mid_batch_under_the_basic_launcher_keeps_the_jobs_that_had_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The basic launcher runs a batch's jobs one after another in the sweep's process: at a Ctrl-C in the third job
    of a batch of four, the two before it had returned (one completed, one failed) and the fourth had not started.
    They were all saved as interrupted, and the resume trained the two that had ended again."""
    sweep = tmp_path / "sweep"
    budget = ["fail=unpicklable", "hydra.sweeper.max_batch_size=4", "hydra.sweeper.n_trials=8"]
    budget += ["hydra.sweeper.n_initial_trials=8"]
    monkeypatch.setenv("ECOPT_TEST_SIGINT_AT_CALL", "7")  # trial 6, the third job of the second batch
    stopped = _run_app(tmp_path, *budget, app=FAULTS_APP)
    assert stopped.returncode != 0
    assert "interrupted after 6 of 8 trials" in stopped.stdout + stopped.stderr, stopped.stderr[-3000:]
    trials = yaml.safe_load((sweep / "optimization_results.yaml").read_text())["trials"]
    assert [(t["status"], t["reason"]) for t in trials[4:]] == [
        ("completed", None),
        ("failed", "the job raised TwoArgError: bad: thing"),  # kept: it ran to its end before the stop
        ("abandoned", "interrupted: the sweep stopped while this trial ran; a resume runs it again"),
        ("abandoned", "not started: the sweep stopped before this trial's turn in its batch; a resume runs it"),
    ]
    assert trials[7]["metrics"] == {"energy/train_j": 0.0, "energy/train_time_s": 0.0}  # spent nothing: known
    monkeypatch.delenv("ECOPT_TEST_SIGINT_AT_CALL")
    resumed = _run_app(tmp_path, *budget, app=FAULTS_APP)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    trials = yaml.safe_load((sweep / "optimization_results.yaml").read_text())["trials"]
    assert len(trials) == 10
    assert [t["params"] for t in trials[8:]] == [t["params"] for t in trials[6:8]]  # only the two cut short ran again
    assert (
        trials[7]["reason"]
        == "not started: the sweep stopped before this trial's turn in its batch; it was asked again"
    )


def test_numeric_config_group_options_are_swept_quoted_and_refused_unquoted(tmp_path: Path) -> None:
    # Hydra reads depth=18 as an int, and a group's option must be a name: every trial would fail on it.
    result = _run_app(tmp_path, "+depth=18,34", app=FAULTS_APP)
    assert result.returncode != 0
    assert "'depth' is a config group, whose options are names" in result.stderr
    assert "quote the options: +depth='18','34'." in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()
    result = _run_app(
        tmp_path, "+depth='18','34'", "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3", app=FAULTS_APP
    )
    assert result.returncode == 0, result.stderr
    trials = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())["trials"]
    assert {t["status"] for t in trials} == {"completed"}
    assert {t["params"]["depth"] for t in trials} <= {"18", "34"}


def test_a_misspelt_config_group_option_stops_the_sweep_before_any_job(tmp_path: Path) -> None:
    # Hydra's own overrides are read as Hydra reads them: this one's interpolation resolves only in a job.
    result = _run_app(tmp_path, "hydra.sweep.subdir=trial_${hydra.job.num}", "optim=adam,sgdd", app=FAULTS_APP)
    assert result.returncode != 0
    assert "'sgdd' is not an option of the config group 'optim'" in result.stderr
    assert "'adam', 'broken', 'sgd'" in result.stderr  # the options to choose from
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()
    assert not (tmp_path / "sweep" / "multirun.yaml").exists()


def test_an_all_sobol_start_line_names_the_budget_that_leaves_the_model_a_trial(tmp_path: Path) -> None:
    """The default Sobol count grows with the budget (2 parameters: 4 Sobol trials up to 4 trials): the start line
    said "raise n_trials above it" (above 2), and 3 or 4 trials were all Sobol too."""
    result = _run_app(tmp_path, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=null")
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert (
        "ecopt sweeper: 2 trials (all Sobol: qNEHVI proposes once the Sobol trials completed, so raise n_trials to 5 "
        "or more), objectives"
    ) in said


def test_a_search_space_smaller_than_the_budget_says_so_first_and_ends_when_each_configuration_was_tried(
    tmp_path: Path,
) -> None:
    """Four configurations, six trials: before, the start line advised raising n_trials (no model would ever propose
    here), and the sweep ended on Ax's "Rejection sampling error" after 10,000 Sobol draws (~20 s) and a warning of
    "very restrictive" parameter constraints the space does not have."""
    result = _run_app(tmp_path, 'hydra.sweeper.params={x:"choice(0,1)",y:"choice(0,1)"}', "hydra.sweeper.n_trials=6")
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert "ecopt sweeper: 6 trials (all Sobol), objectives" in said
    assert (
        "ecopt: the search space holds 4 configurations, fewer than the sweep's 6 trials: it ends once each was tried, "
        "all by its Sobol trials."
    ) in said
    assert (
        "the sweep stopped after 4 of 6 trials: no new configuration to propose (each of the search space's 4 "
        "configurations was tried)"
    ) in said
    assert "Rejection sampling" not in said
    assert "very restrictive" not in said
    trials = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())["trials"]
    assert sorted((t["params"]["x"], t["params"]["y"]) for t in trials) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_a_glob_over_a_config_group_sweeps_the_options_it_selects(tmp_path: Path) -> None:
    """Hydra's basic sweeper expands ``optim=glob(*,exclude=broken)`` against the group's options; it was refused
    with "the sweep form 'glob_choice_sweep' cannot map onto an Ax parameter"."""
    result = _run_app(tmp_path, "optim=glob(*,exclude=broken)", app=FAULTS_APP)
    assert result.returncode == 0, result.stderr
    assert "sweeps the options ['adam', 'sgd'] of the config group 'optim'" in result.stdout + result.stderr
    results = tmp_path / "sweep" / "optimization_results.yaml"
    trials = yaml.safe_load(results.read_text())["trials"]
    assert len(trials) == 4
    assert {trial["params"]["optim"] for trial in trials} <= {"adam", "sgd"}
    # The options sorted, whatever the glob's order: a rerun resumes the same space.
    again = _run_app(tmp_path, "optim=glob([s*,a*])", "hydra.sweeper.n_trials=5", app=FAULTS_APP)
    assert again.returncode == 0, again.stderr
    assert len(yaml.safe_load(results.read_text())["trials"]) == 5
    (tmp_path / "none").mkdir()
    refused = _run_app(tmp_path / "none", "optim=glob(z*)", app=FAULTS_APP)
    assert refused.returncode != 0
    assert (
        "optim=glob(z*) selects none of the options of the config group 'optim' (adam, broken, sgd); widen the "
        "glob, or list the options: optim=choice(adam,broken,sgd)."
    ) in refused.stderr
    refused = _run_app(tmp_path / "none", "optim=glob(s*)", app=FAULTS_APP)
    assert refused.returncode != 0
    assert (
        "optim=glob(s*) selects one option of the config group 'optim' (adam, broken, sgd), 'sgd', and sweeps "
        "nothing; fix it (optim=sgd), or widen the glob."
    ) in refused.stderr


def test_a_key_the_selected_option_lacks_names_the_options_that_have_it(tmp_path: Path) -> None:
    """Not "a key the app's config does not have ... write '++optim.beta'": option adam of the group has it."""
    result = _run_app(tmp_path, "optim=sgd", "optim.beta=interval(0.8, 0.99)", app=FAULTS_APP)
    assert result.returncode != 0
    assert (
        "the sweep sets 'optim.beta', which is not in option 'sgd' of the config group 'optim' (selected by "
        "optim=sgd); the options that have it: adam. Select one of those, or add beta to optim/sgd.yaml."
    ) in result.stderr
    assert "++" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()


@pytest.mark.parametrize("options", ["adam,sgd,broken", "sgd,adam"], ids=["first option has it", "first lacks it"])
def test_a_key_only_some_swept_options_have_stops_the_sweep_before_any_job(tmp_path: Path, options: str) -> None:
    """Half the trials failed with Hydra's "use +optim.beta" until max_failure_rate stopped the sweep."""
    result = _run_app(tmp_path, f"optim={options}", "optim.beta=interval(0.8, 0.99)", app=FAULTS_APP)
    assert result.returncode != 0
    assert (
        "'optim.beta' exists only in option [adam] of the config group 'optim', not in [sgd"  # broken: its own fault
    ) in result.stderr
    assert "Sweep it only with those that have it (optim=adam), or add beta to optim/sgd.yaml." in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()
    assert not (tmp_path / "sweep" / "multirun.yaml").exists()


@pytest.mark.parametrize("options", ["adam,sgd", "sgd,adam"], ids=["first option has it", "first lacks it"])
def test_a_group_placed_at_a_package_is_checked_option_by_option_too(tmp_path: Path, options: str) -> None:
    """``+optim@extra=adam,sgd`` with ``extra.beta`` (adam's alone): sgd's trials failed at run time in one order,
    and the other blamed a key "the app's config does not have"."""
    result = _run_app(tmp_path, f"+optim@extra={options}", "extra.beta=interval(0.8, 0.99)", app=FAULTS_APP)
    assert result.returncode != 0
    assert (
        "'extra.beta' exists only in option [adam] of the config group 'optim', not in [sgd], and the sweep sets it "
        "in every trial"
    ) in result.stderr
    assert "Sweep it only with those that have it (+optim@extra=adam), or add beta to optim/sgd.yaml." in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()


def test_a_misspelt_key_under_a_placed_group_that_no_option_has_is_named_as_unknown(tmp_path: Path) -> None:
    """``extra.bta`` (beta misspelt) is in none of the options of ``+optim@extra``: a key the app lacks, not a key
    that "exists only in options []" of the group."""
    result = _run_app(tmp_path, "+optim@extra=adam,sgd", "extra.bta=interval(0.8, 0.99)", app=FAULTS_APP)
    assert result.returncode != 0
    assert "the sweep sets 'extra.bta', a key the app's config does not have" in result.stderr
    assert "exists only in" not in result.stderr
    assert not (tmp_path / "sweep" / "0").exists()


def test_a_trial_whose_config_does_not_compose_fails_alone(tmp_path: Path) -> None:
    """An option that exists but does not compose fails its trials with the reason; the sweep goes on."""
    result = _run_app(tmp_path, "optim=adam,broken", "hydra.sweeper.enqueue_trials=[{optim: broken}]", app=FAULTS_APP)
    assert result.returncode == 0, result.stderr
    trials = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())["trials"]
    assert len(trials) == 4
    assert trials[0]["params"]["optim"] == "broken"  # enqueued: the first trial
    for trial in trials:
        if trial["params"]["optim"] == "broken":
            assert trial["status"] == "failed"
            assert "does not compose" in trial["reason"]
            assert "missing_group/nope" in trial["reason"]
        else:
            assert trial["status"] == "completed", trial["reason"]
    # Only the trials that composed were launched, each into the job dir of its trial's index (trial 0, refused,
    # left 0/ unused; the launched ones were numbered on from 0, so 1/ held trial 2's logs).
    launched = [trial["trial_index"] for trial in trials if trial["params"]["optim"] != "broken"]
    assert sorted(int(p.name) for p in (tmp_path / "sweep").iterdir() if p.name.isdigit()) == launched
    for index in launched:
        job = yaml.safe_load((tmp_path / "sweep" / str(index) / ".hydra" / "overrides.yaml").read_text())
        assert f"optim={trials[index]['params']['optim']}" in job


def test_a_resume_records_in_multirun_yaml_the_seed_and_sobol_count_it_kept(tmp_path: Path) -> None:
    """The loop keeps a resumed sweep's seed and Sobol count; multirun.yaml said this command's (seed 5, 2 Sobol
    trials), so a sweep rerun from it proposed other points (reproducibility review)."""
    first = _run_app(tmp_path, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    assert first.returncode == 0, first.stderr
    second = _run_app(tmp_path, "hydra.sweeper.n_trials=4", "hydra.sweeper.n_initial_trials=2", "hydra.sweeper.seed=5")
    assert second.returncode == 0, second.stderr
    assert "was started with seed=0 and keeps it" in second.stdout + second.stderr
    multirun = OmegaConf.load(tmp_path / "sweep" / "multirun.yaml")
    assert (multirun.hydra.sweeper.seed, multirun.hydra.sweeper.n_initial_trials) == (0, 3)
    assert multirun.hydra.sweeper.n_trials == 4
    assert "hydra.sweeper.seed=5" in multirun.hydra.overrides.hydra  # the command as typed
    results = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert (results["settings"]["seed"], results["settings"]["n_initial_trials"]) == (0, 3)


def test_a_refused_rerun_leaves_multirun_yaml_untouched(tmp_path: Path) -> None:
    first = _run_app(tmp_path, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    assert first.returncode == 0, first.stderr
    multirun = (tmp_path / "sweep" / "multirun.yaml").read_text()
    refused = _run_app(tmp_path, "hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2")
    assert refused.returncode != 0
    assert "hydra.sweeper.n_trials=2, but the sweep in" in refused.stderr  # the key set, not a bare n_trials=2
    assert "has already finished 3 trials" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert (tmp_path / "sweep" / "multirun.yaml").read_text() == multirun
    # Refused before the start-up lines, which would contradict it ("2 trials (all Sobol ...)", "3 of 2 trials done").
    assert "ecopt sweeper: 2 trials" not in refused.stdout + refused.stderr
    assert "trials done" not in refused.stdout + refused.stderr


def test_a_rerun_after_the_app_s_config_changed_is_refused_naming_the_keys(tmp_path: Path) -> None:
    """A value the sweep does not set, changed in the app's YAML between runs: the trials would mix two configs."""
    app = tmp_path / "app" / APP.name
    shutil.copytree(APP.parent / "conf", app.parent / "conf")
    shutil.copy(APP, app)
    config = app.parent / "conf" / "config.yaml"
    original = config.read_text()
    # started: an interpolation that resolves to another value in every run, compared as written.
    config.write_text(original + "epochs: 3\nstarted: ${now:%H%M%S%f}\ndata: {name: digits, size: 100}\n")
    first = _run_app(tmp_path, "hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3", app=app)
    assert first.returncode == 0, first.stderr
    multirun = (tmp_path / "sweep" / "multirun.yaml").read_text()
    config.write_text(original + "epochs: 1\nstarted: ${now:%H%M%S%f}\ndata: {name: digits}\nlayers: 2\n")
    refused = _run_app(tmp_path, "hydra.sweeper.n_trials=4", "hydra.sweeper.n_initial_trials=3", app=app)
    assert refused.returncode != 0
    changes = "holds a sweep whose trials ran with another task config: data.size: removed (was 100); epochs: 3 -> 1; "
    assert changes in refused.stderr
    assert "layers: added (2). Resuming would put trials run under both in one frontier" in refused.stderr
    for unchanged in ("started", "data.name", "x:"):
        assert unchanged not in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "sweep" / "3").exists()
    assert (tmp_path / "sweep" / "multirun.yaml").read_text() == multirun  # the earlier run's config, kept


@pytest.mark.parametrize(
    ("app_value", "swept", "warned"),
    [
        (16, "interval(1, 64)", "model.hidden=interval(1.0, 64.0) sweeps floats"),
        (16, "tag(log, interval(1, 64))", "sweep it as 'tag(log, int(interval(1, 64)))'"),
        # An example value that shows the point: the log scale's middle (8) and the middle (36) are integers.
        (16, "tag(log, interval(1, 64))", "values such as 8.37 there"),
        (16, "interval(8, 64)", "values such as 36.37 there"),
        (16, "interval(1, 64)", "values such as 32.5 there"),
        (16, "tag(log, interval(1e-6, 1e-2))", None),  # weight_decay: 0 and the like: no int sweep is possible
        (16, "interval(0, 0.5)", None),
        (16.0, "interval(1, 64)", None),
        (16, "int(interval(1, 64))", None),
        (True, "interval(0, 1)", None),
        ("16", "interval(1, 64)", None),
    ],
)
def test_a_float_interval_over_an_int_key_of_the_app_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, app_value: Any, swept: str, warned: str | None
) -> None:
    sweeper = _sweeper(tmp_path, params={"x": "interval(0, 1)", "model.hidden": swept})
    sweeper.config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(tmp_path)}}, "x": 0.5, "model": {"hidden": app_value}}
    )
    with caplog.at_level(logging.WARNING):
        sweeper.configure([])
    warnings = [r.getMessage() for r in caplog.records if "sweeps floats" in r.getMessage()]
    if warned is None:
        assert warnings == []
        return
    assert len(warnings) == 1  # one per parameter; x (0.5 in the app's config) is no int
    assert warned in warnings[0]
    assert "the app's config has model.hidden: 16, an int" in warnings[0]


@pytest.mark.parametrize(
    ("app_value", "swept", "warned"),
    [
        (False, "choice(true,flase)", "offers the text 'flase' where the app's config has model.pool: false, a bool"),
        (False, "choice(true,flase)", "which Python reads as true (a non-empty string) ('flase': did you mean false?)"),
        (True, "choice(true,false,warn)", "model.pool=choice(true,false,'warn') offers the text 'warn'"),  # meant?
        (True, "choice('false',true)", "('false' is quoted: write false without quotes)"),
        (False, "choice(true,false)", None),
        ("avg", "choice(avg,max)", None),
    ],
)
def test_a_text_choice_over_a_bool_key_of_the_app_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, app_value: Any, swept: str, warned: str | None
) -> None:
    sweeper = _sweeper(tmp_path, params={"x": "interval(0, 1)", "model.pool": swept})
    sweeper.config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(tmp_path)}}, "x": 0.5, "model": {"pool": app_value}}
    )
    with caplog.at_level(logging.WARNING):
        sweeper.configure([])
    warnings = [r.getMessage() for r in caplog.records if "a bool: its trials" in r.getMessage()]
    if warned is None:
        assert warnings == []
        return
    assert len(warnings) == 1
    assert warned in warnings[0]
    if "warn" in swept:
        assert "did you mean" not in warnings[0]


@pytest.mark.parametrize("typed", [True, False], ids=["a dataclass's bool: converted", "YAML's bool: text"])
def test_yes_and_no_over_a_typed_bool_are_bools_not_texts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, typed: bool
) -> None:
    """A structured config's bool field reads yes/no as True/False: the warning that its trials get text was wrong."""

    @dataclasses.dataclass
    class Model:
        pool: bool = False

    sweeper = _sweeper(tmp_path, params={"x": "interval(0, 1)", "model.pool": "choice(yes,no)"})
    model = OmegaConf.structured(Model) if typed else {"pool": False}
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "x": 0.5, "model": model})
    with caplog.at_level(logging.WARNING):
        sweeper.configure([])
    warned = [r.getMessage() for r in caplog.records if "a bool: its trials" in r.getMessage()]
    assert len(warned) == (0 if typed else 1)
    if typed:  # a misspelling is no text its trials get: they fail to compose, and the warning says that
        sweeper = _sweeper(tmp_path, params={"x": "interval(0, 1)", "model.pool": "choice(on,flase)"})
        sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}, "x": 0.5, "model": model})
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            sweeper.configure([])
        assert "model.pool is a typed bool that does not take 'flase': the trials given it will fail" in caplog.text
        assert "a bool: its trials" not in caplog.text


class _Act(enum.Enum):
    RELU = 1
    GELU = 2


@dataclasses.dataclass
class _EnumModel:
    act: _Act = _Act.RELU


def test_an_enum_field_s_value_is_its_name_for_enqueued_trials(tmp_path: Path) -> None:
    """``enqueue_trials: [{}]`` takes the app's value: an Enum member was refused as no choice of ['RELU', 'GELU']."""
    sweeper = _sweeper(tmp_path, params={"x": "interval(0, 1)"})
    sweeper.config = OmegaConf.create({"x": 0.5, "model": OmegaConf.structured(_EnumModel)})
    assert sweeper._config_value("model.act") == "RELU"


# -- results files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["umask-022", "umask-027"])
def test_results_files_get_the_mode_of_a_new_file(tmp_path: Path, umask: int) -> None:
    """Readable by whoever the umask lets read a new file (others on a shared cluster), not by the owner alone."""
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.results import RESULTS_FILENAME, SweepResult, atomic_write_text, write_results

    result = SweepResult(parse_objectives({"f1": "minimize", "f2": "minimize"}, None), (), ())
    earlier = tmp_path / RESULTS_FILENAME
    earlier.write_text("")
    earlier.chmod(0o600)  # as an earlier version wrote it: rewritten, it takes the new file's mode
    previous = os.umask(umask)
    try:
        write_results(earlier, result)
        atomic_write_text(tmp_path / "frontier.csv", "trial_index\n")
    finally:
        os.umask(previous)
    for path in (earlier, tmp_path / "frontier.csv"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name
    assert not list(tmp_path.glob(".*.tmp"))


def test_single_objective_results_have_optunas_best_params_and_best_value(tmp_path: Path) -> None:
    """The Optuna sweeper writes name, best_params and best_value for one objective; solutions for several."""
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.results import RESULTS_FILENAME, SweepResult, TrialRecord, write_results

    trials = (
        TrialRecord(0, {"x": 0.5, "opt": "adam"}, "completed", {"objective_0": 0.25}),
        TrialRecord(1, {"x": 0.1, "opt": "sgd"}, "completed", {"objective_0": 0.01}),
        TrialRecord(2, {"x": 0.9, "opt": "sgd"}, "failed", reason="the job raised RuntimeError: boom"),
    )
    path = tmp_path / RESULTS_FILENAME
    write_results(path, SweepResult(parse_objectives(None, "minimize"), trials, (1,)))
    data = yaml.safe_load(path.read_text())
    assert list(data)[:3] == ["name", "best_params", "best_value"]
    assert (data["best_params"], data["best_value"]) == ({"x": 0.1, "opt": "sgd"}, 0.01)
    assert data["solutions"][0]["values"] == [0.01]

    # Before any trial completed (the file is rewritten after every batch): the keys are there, null.
    write_results(path, SweepResult(parse_objectives(None, "minimize"), trials[2:], ()))
    data = yaml.safe_load(path.read_text())
    assert (data["best_params"], data["best_value"]) == (None, None)

    # Several objectives: Optuna's file has solutions and no best_*; so has ours.
    two = parse_objectives({"f1": "minimize", "f2": "maximize"}, None)
    record = TrialRecord(0, {"x": 0.5}, "completed", {"f1": 1.0, "f2": 2.0})
    write_results(path, SweepResult(two, (record,), (0,)))
    data = yaml.safe_load(path.read_text())
    assert "best_params" not in data
    assert "best_value" not in data
    assert data["solutions"][0]["values"] == [1.0, 2.0]


def test_a_task_s_sys_exit_fails_its_job_only_and_ctrl_c_still_stops() -> None:
    from hydra_plugins.ecopt_sweeper._job import _PicklableFailures

    def exits(cfg: Any) -> None:
        sys.exit(3)

    def lightning_ctrl_c(cfg: Any) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            sys.exit(1)  # Lightning's interrupt handler

    with pytest.raises(TrialFailure, match=r"the task called sys.exit\(3\)"):  # a job failure, in its own job
        _PicklableFailures(exits)(None)
    with pytest.raises(SystemExit):
        _PicklableFailures(lightning_ctrl_c)(None)


class _Checkpointable:
    """A job's function that submitit may requeue, as Hydra's submitit launcher is (it has ``checkpoint``)."""

    def __call__(self) -> None:
        """Nothing to run: only its ``checkpoint`` is called."""

    def checkpoint(self) -> Any:
        """Resubmit as it is, as ``BaseSubmititLauncher.checkpoint`` does."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)


def _submitit_signal_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, countdown: int) -> Any:
    """A task that receives submitit's time-limit signal (``SIGUSR2``) in a submitit_local job with ``countdown``
    requeues left: submitit's real handler, run from inside the task as the signal runs it."""
    import signal

    pytest.importorskip("submitit")
    from submitit.core.job_environment import SignalHandler
    from submitit.core.utils import DelayedSubmission, JobPaths
    from submitit.local.local import LocalJobEnvironment

    for name, value in {"JOB_ID": "17", "NTASKS": "1", "GLOBALID": "0", "LOCALID": "0", "NODEID": "0"}.items():
        monkeypatch.setenv(f"SUBMITIT_LOCAL_{name}", value)
    monkeypatch.setenv("SUBMITIT_LOCAL_JOB_NUM_NODES", "1")
    delayed = DelayedSubmission(_Checkpointable())
    delayed.set_timeout(1, countdown)  # a 1-minute limit: submitit's local jobs count as timed out at its signal
    paths = JobPaths(tmp_path / "%j", job_id="17")
    paths.folder.mkdir(parents=True)
    handler = SignalHandler(LocalJobEnvironment(), paths, delayed)

    def task(cfg: Any) -> None:
        handler.checkpoint_and_try_requeue(signal.SIGUSR2)

    return task


def test_submitits_requeue_exit_reaches_submitit_and_its_time_limit_fails_the_trial_with_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """submitit requeues a job at a preemption (and at its time limit, while requeues are left) by exiting it from
    its signal handler, inside the task: the job's wrapper turned that exit into the trial's failure ("the task
    called sys.exit(144)"), so submitit never ran the job again (on SLURM, ``scontrol requeue`` had already queued
    it: it ran again, unread). Out of requeues, submitit's own words named neither the setting nor the fix."""
    from hydra_plugins.ecopt_sweeper._job import _PicklableFailures

    with pytest.raises(SystemExit) as requeued:
        _PicklableFailures(_submitit_signal_task(tmp_path / "a", monkeypatch, countdown=3))(None)
    assert requeued.value.code == 144  # submitit_local's "requeue me"; on SLURM, -1 after scontrol requeue
    with pytest.raises(TrialFailure) as stopped:
        _PicklableFailures(_submitit_signal_task(tmp_path / "b", monkeypatch, countdown=0))(None)
    assert str(stopped.value) == (
        "the job reached its time limit (hydra.launcher.timeout_min) and submitit stopped it (Job not requeued "
        "because: timed-out too many times.); raise hydra.launcher.timeout_min, or set hydra.sweeper.trial_timeout_s "
        "below it so that a long trial fails by itself"
    )
    assert type(stopped.value) is TrialFailure  # the sweeper's verdict: the trial's reason as it is


def test_a_nested_submitit_job_lost_at_its_time_limit_fails_the_trial_as_the_task_s_own_error(tmp_path: Path) -> None:
    """A task that runs a submitit job of its own (an evaluation on another partition) and reads its result: that job,
    lost, raises ``UncompletedJobError`` from submitit's code with its error stream, where submitit logged "this job
    is timed-out". The trial failed as if its own job had reached ``hydra.launcher.timeout_min``, naming a setting
    that had nothing to do with it, instead of with the task's error."""
    pytest.importorskip("submitit")
    from submitit.core.utils import UncompletedJobError
    from submitit.local.local import LocalJob

    from hydra_plugins.ecopt_sweeper._job import _PicklableFailures

    nested = LocalJob(folder=tmp_path, job_id="42", tasks=[0])
    nested._results_timeout_s = 0  # no result file to wait for: the job was lost
    nested.paths.stderr.write_text("submitit WARNING - Caught signal SIGUSR2 on node3: this job is timed-out.\n")

    def task(cfg: Any) -> Any:
        return nested.result()

    with pytest.raises(UncompletedJobError, match="has not produced any output"):
        _PicklableFailures(task)(None)


def test_a_task_run_in_the_sweeps_own_thread_spells_its_own_sweeps_messages_in_python() -> None:
    """Hydra's basic launcher runs each job in the sweep's thread, inside its Hydra spelling: a SweepSettings the
    task built was refused as ``hydra.sweeper.n_trials=0``, a key the task never wrote."""
    from hydra_plugins.ecopt_sweeper._job import _PicklableFailures
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.spelling import hydra_spelling, in_hydra, rerun_to_resume, resume_with

    seen: list[str] = []

    def task(cfg: Any) -> dict[str, float]:
        seen.append(rerun_to_resume())
        SweepSettings(parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=0)
        return {"f1": 1.0}

    with hydra_spelling(), resume_with("rerun it with hydra.sweep.dir=/s"):  # as the sweeper runs the basic launcher
        with pytest.raises(EcoptConfigError, match=r"^SweepSettings\(n_trials=0\)") as refused:
            _PicklableFailures(task)(None)
        assert in_hydra()  # the sweep's own messages, after the job, are Hydra's still
    assert "hydra" not in str(refused.value)
    assert seen == ["run the sweep again with the same storage to resume"]


@pytest.mark.parametrize("module", ["_compose", "_job", "_launchers", "ecopt_sweeper"])
def test_the_plugins_doctests_hold(module):
    # pytest's testpaths hold lightning_ecopt's modules, not the plugin's: collecting hydra_plugins/ (no __init__.py)
    # would put it on sys.path and import the plugin a second time under another name.
    import doctest
    import importlib

    found = importlib.import_module(f"hydra_plugins.ecopt_sweeper.{module}")
    failed, attempted = doctest.testmod(found, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert (failed, attempted > 0) == (0, True)


def test_a_sweep_whose_empty_sweep_dir_a_refused_command_beside_it_removed_still_saves_multirun_yaml(
    tmp_path: Path,
) -> None:
    """Two commands started in the same second share Hydra's multirun/<date>/<time>; the one refused before its first
    launch removes the folders it found missing while they are empty. The other, with its storage outside the sweep
    dir, had made the sweep dir and written nothing there yet: its first batch failed on writing multirun.yaml
    (FileNotFoundError), its lock and experiment elsewhere."""
    from hydra_plugins.ecopt_sweeper.ecopt_sweeper import _missing_dirs, _remove_empty_dirs

    sweep_dir = tmp_path / "multirun" / "2024-05-01" / "12-00-00"
    found_missing = _missing_dirs(sweep_dir)  # what the refused command saw at its start
    sweeper = _sweeper(sweep_dir)
    sweep_dir.mkdir(parents=True)  # this sweep's checks made it
    _remove_empty_dirs(found_missing)  # the other command's refusal
    assert not (tmp_path / "multirun").exists()
    sweeper._save_multirun()
    assert (sweep_dir / "multirun.yaml").is_file()
