"""SweepSettings validation, defaults, and the strings handed to Ax."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.objectives import Objective, OutcomeConstraint, parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings, default_n_initial_trials, smallest_model_budget

OBJECTIVES = parse_objectives({"test/acc": "maximize", "energy/test_j": "minimize"}, None)


def test_defaults() -> None:
    settings = SweepSettings(OBJECTIVES)
    assert settings.n_trials == 20
    assert settings.n_initial_trials is None
    assert settings.acquisition == "qNEHVI"
    assert settings.max_batch_size == 1
    assert settings.max_failure_rate == 0.5
    assert settings.reference_point is None
    assert settings.outcome_constraints == ()
    assert settings.storage is None
    assert settings.allow_mixed_energy_sources is False


@pytest.mark.parametrize(
    ("n_trials", "n_parameters", "expected"),
    [
        *[(200, 4, 40), (200, 30, 60), (20, 2, 4), (20, 5, 10), (12, 3, 6), (4, 3, 4), (1, 1, 1), (10, 0, 2)],
        # Many parameters: two per parameter, but at most half the budget (at least 5), not the whole of it.
        *[(40, 25, 20), (40, 12, 20), (100, 25, 50), (30, 20, 15), (6, 3, 5), (5, 30, 5)],
    ],
)
def test_default_n_initial_trials(n_trials: int, n_parameters: int, expected: int) -> None:
    assert default_n_initial_trials(n_trials, n_parameters) == expected
    settings = SweepSettings(OBJECTIVES, n_trials=n_trials)
    assert settings.resolved_n_initial_trials(n_parameters) == expected


@pytest.mark.parametrize("n_parameters", [1, 2, 3, 6, 12, 25, 100])
def test_the_default_leaves_a_model_half_the_budget_from_ten_trials(n_parameters: int) -> None:
    for n_trials in range(10, 201):
        assert n_trials - default_n_initial_trials(n_trials, n_parameters) >= n_trials // 2, n_trials


@pytest.mark.parametrize("n_parameters", [1, 2, 3, 6, 12, 25, 100])
@pytest.mark.parametrize("given", [None, 1, 8, 40])
def test_smallest_model_budget_is_the_first_budget_with_a_model_trial(n_parameters: int, given: int | None) -> None:
    """What the all-Sobol advice names: below it every trial is Sobol, from it on at least one is the model's."""
    smallest = smallest_model_budget(n_parameters, given)

    def sobol(n_trials: int) -> int:
        return given if given is not None else default_n_initial_trials(n_trials, n_parameters)

    assert sobol(smallest) < smallest
    assert all(sobol(n) >= n for n in range(1, smallest))


def test_explicit_n_initial_trials_wins() -> None:
    assert SweepSettings(OBJECTIVES, n_trials=50, n_initial_trials=7).resolved_n_initial_trials(10) == 7


@pytest.mark.parametrize("n_initial_trials", [1, 10])
def test_the_sobol_trials_may_be_one_or_the_whole_budget(n_initial_trials: int) -> None:
    """The bounds the messages give are accepted: one Sobol trial (then the model), or an all-Sobol sweep
    (``n_initial_trials == n_trials``, "at most 10")."""
    settings = SweepSettings(OBJECTIVES, n_trials=10, n_initial_trials=n_initial_trials)
    assert settings.resolved_n_initial_trials(3) == n_initial_trials


def test_normalisation() -> None:
    settings = SweepSettings(
        list(OBJECTIVES),  # type: ignore[arg-type]
        acquisition="qlognehvi",  # type: ignore[arg-type]
        max_failure_rate=1,
        reference_point={"test/acc": 0, "energy/test_j": 100},
        outcome_constraints=("energy/train_j <= 5000",),  # type: ignore[arg-type]
        storage="sweep/ax.json",  # type: ignore[arg-type]
    )
    assert settings.objectives == OBJECTIVES
    assert settings.acquisition == "qLogNEHVI"
    assert settings.max_failure_rate == 1.0
    assert settings.reference_point == {"test/acc": 0.0, "energy/test_j": 100.0}
    assert settings.outcome_constraints == (OutcomeConstraint("energy/train_j", "<=", 5000.0),)
    assert settings.storage == Path("sweep/ax.json").absolute()
    assert SweepSettings(OBJECTIVES, acquisition="ehvi").acquisition == "EHVI"  # type: ignore[arg-type]
    # A constraint on an objective is its threshold (part of the reference point), which EHVI takes.
    assert SweepSettings(OBJECTIVES, acquisition="EHVI", outcome_constraints=("test/acc >= 0.5",)).acquisition == "EHVI"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"objectives": ()}, r"objectives=\(\)\): expected at least one Objective"),
        ({"objectives": ("test/acc",)}, r"expected at least one Objective"),
        (
            {"objectives": (Objective("a", True), Objective("a", False))},
            r"the metric 'a' is an objective twice; list it once",
        ),
        ({"n_trials": 0}, r"SweepSettings\(n_trials=0\): expected an integer >= 1"),
        ({"n_trials": 2.5}, r"n_trials=2.5"),
        ({"n_trials": True}, r"n_trials=True"),
        ({"n_initial_trials": 0}, r"n_initial_trials=0\): expected an integer >= 1, or None for the default"),
        (
            {"n_trials": 10, "n_initial_trials": 11},
            r"n_initial_trials=11, n_trials=10\): the Sobol trials are part of the budget; lower n_initial_trials "
            r"to at most 10",
        ),
        (
            {"acquisition": "qEHVI"},
            r"acquisition='qEHVI'\): unknown acquisition function; choose from 'qNEHVI', 'qLogNEHVI', 'EHVI'",
        ),
        (
            {"acquisition": "EHVI", "max_batch_size": 4},
            r"acquisition='EHVI', max_batch_size=4\): analytic EHVI proposes one trial at a time; set "
            r"SweepSettings\(max_batch_size=1\), or use SweepSettings\(acquisition='qNEHVI'\)",
        ),
        (
            {"acquisition": "EHVI", "outcome_constraints": ("energy/train_j <= 5000", "test/acc >= 0.5")},
            r"takes no constraint on a metric that is not an objective \('energy/train_j'\); drop those",
        ),
        (
            {"acquisition": "EHVI", "objectives": (Objective("test/acc", False),)},
            r"acquisition='EHVI'\): EHVI is a multi-objective acquisition function and this sweep has one objective "
            r"\('test/acc'\), which Ax optimises with its single-objective default \(qLogNEI\); remove acquisition",
        ),
        (
            {"acquisition": "qLogNEHVI", "objectives": (Objective("test/acc", False),)},
            r"acquisition='qLogNEHVI'\): qLogNEHVI is a multi-objective acquisition function",
        ),
        (
            {"reference_point": {"test/acc": 0.5}, "objectives": (Objective("test/acc", False),)},
            r"reference_point=\{'test/acc': 0.5\}\): a reference point bounds the front of two or more objectives, "
            r"and this sweep has one \('test/acc'\); remove reference_point",
        ),
        ({"seed": "1"}, r"seed='1'\): expected an integer, or None for a random seed"),
        ({"max_batch_size": 0}, r"max_batch_size=0\): expected an integer >= 1"),
        ({"max_failure_rate": 1.5}, r"max_failure_rate=1.5\): expected a number between 0 and 1"),
        ({"max_failure_rate": -0.1}, r"max_failure_rate=-0.1"),
        (
            {"reference_point": {"test/ac": 0.5}},
            r"'test/ac' is not an objective; the reference point takes objectives only: "
            r"\['test/acc', 'energy/test_j'\]",
        ),
        ({"reference_point": {"test/acc": float("nan")}}, r"reference_point\['test/acc'\]=nan\): expected a finite"),
        ({"reference_point": {"test/acc": "low"}}, r"reference_point\['test/acc'\]='low'"),
        # A list in objective order (BoTorch's ref_point) is written out as the mapping it means.
        (
            {"reference_point": [0.5, 1]},
            r"reference_point=\[0.5, 1\]\): expected a mapping \{objective: worst acceptable value\}, not a list; in "
            r"the objectives' order that is \{'test/acc': 0.5, 'energy/test_j': 1\}\.$",
        ),
        (
            {"reference_point": [0.5]},
            r"reference_point=\[0.5\]\): 1 value for 2 objectives \('test/acc', 'energy/test_j'\); give a mapping",
        ),
        (
            {"reference_point": 0.5},
            r"reference_point=0.5\): expected a mapping \{objective: worst acceptable value\}, not a float; e\.g\. "
            r"\{'test/acc': \.\.\., 'energy/test_j': \.\.\.\}",
        ),
        ({"outcome_constraints": ("energy/train_j < 5",)}, r"the comparison '<' is not supported"),
        (
            {"outcome_constraints": ("test/acc >= 0.5", "test/acc >= 0.6")},
            r"the objective 'test/acc' is bounded twice",
        ),
        (
            {"outcome_constraints": ("test/acc >= 0.5",), "reference_point": {"test/acc": 0.4}},
            r"'test/acc' has both a reference point \(0.4\) and an outcome constraint",
        ),
        (
            {"outcome_constraints": ("test/acc <= 0.5",)},
            r"'test/acc <= 0.5' bounds the objective 'test/acc' from the wrong side \(maximize\); "
            r"write 'test/acc >= 0.5'",
        ),
        (
            {"outcome_constraints": ("energy/test_j >= 1234567",)},
            r"'energy/test_j >= 1234567' bounds the objective .* write 'energy/test_j <= 1234567'",  # as written
        ),
        (
            {"objectives": (Objective("loss", True),), "outcome_constraints": ("loss <= 1",)},
            r"bounds the only objective",
        ),
        (
            {"outcome_constraints": ("test.acc >= 0",)},
            r"metrics 'test/acc' and 'test.acc' both map to the Ax metric name 'test__acc'",
        ),
        ({"storage": 3}, r"storage=3\): expected a file path or None"),
        ({"allow_mixed_energy_sources": "yes"}, r"allow_mixed_energy_sources='yes'\): expected True or False"),
        ({"retry_failed": 1}, r"retry_failed=1\): expected True or False"),
        ({"parallel_trials": "yes"}, r"^SweepSettings\(parallel_trials='yes'\): expected True or False\.$"),  # was true
        ({"enqueue_trials": {"lr": 0.1}}, r"enqueue_trials=\{'lr': 0.1\}\): expected a list of configurations"),
        ({"enqueue_trials": ["lr=0.1"]}, r"enqueue_trials\[0\]='lr=0.1'\): expected \{parameter: value\}"),
        (
            {"n_trials": 2, "enqueue_trials": ({}, {}, {})},
            r"enqueue_trials=<3 configurations>, n_trials=2\): the enqueued trials are part of the budget; raise "
            r"n_trials to at least 3",
        ),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict[str, Any], match: str) -> None:
    kwargs = {"objectives": OBJECTIVES, **kwargs}
    with pytest.raises(EcoptConfigError, match=match):
        SweepSettings(**kwargs)


def test_what_proposes_is_named_for_one_objective_or_more() -> None:
    assert SweepSettings(OBJECTIVES).proposer == "qNEHVI"
    assert SweepSettings(OBJECTIVES, acquisition="EHVI").proposer == "EHVI"
    one = (Objective("test/acc", False),)
    assert SweepSettings(one).proposer == "qLogNEI (Ax's single-objective default)"


def test_constraint_may_name_a_tracking_metric() -> None:
    settings = SweepSettings(OBJECTIVES, outcome_constraints=("energy/train_j <= 5000", "test/acc >= 0.5"))  # type: ignore[arg-type]
    assert settings.constrained_metrics == ("energy/train_j",)
    assert settings.required_metrics == ("test/acc", "energy/test_j", "energy/train_j")


def test_ax_strings_and_name_map() -> None:
    settings = SweepSettings(
        OBJECTIVES,
        outcome_constraints=("energy/train_j <= 5000", "test/acc >= 0.5"),  # type: ignore[arg-type]
        reference_point={"energy/test_j": 80.0},
    )
    assert settings.ax_objective() == "test__acc, -energy__test_j"
    assert settings.ax_outcome_constraints() == [
        "energy__train_j <= 5000.0",
        "test__acc >= 0.5",
        "energy__test_j <= 80.0",
    ]
    # an inferred point replaces the given one, but never a threshold set by a constraint
    assert settings.ax_outcome_constraints({"test/acc": 0.1, "energy/test_j": 90}) == [
        "energy__train_j <= 5000.0",
        "test__acc >= 0.5",
        "energy__test_j <= 90.0",
    ]
    assert settings.ax_names == {
        "test/acc": "test__acc",
        "energy/test_j": "energy__test_j",
        "energy/train_j": "energy__train_j",
    }
    assert settings.metric_name_from_ax("energy__train_j") == "energy/train_j"
    assert settings.metric_name_from_ax("unknown") == "unknown"


@pytest.mark.parametrize(
    ("objectives", "constraints", "match"),
    [
        ({"acc": "maximize", "energy/test_samples_per_J": "maximize"}, (), "did you mean 'energy/test_samples_per_j'"),
        ({"acc": "maximize", "energy/test_j": "minimize"}, ("energy/trian_j <= 50",), "did you mean 'energy/train_j'"),
    ],
)
def test_a_misspelt_energy_metric_is_refused_before_any_trial(
    objectives: dict[str, str], constraints: tuple[str, ...], match: str
) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        SweepSettings(parse_objectives(objectives, None), outcome_constraints=constraints)


def test_metrics_outside_the_energy_namespace_are_the_tasks_business() -> None:
    settings = SweepSettings(
        parse_objectives({"val/acc": "maximize", "energy/test_tokens_per_j": "maximize"}, None),
        outcome_constraints=("my_latency_ms <= 20", "energy/train_reused_j >= 0"),
    )
    assert settings.constrained_metrics == ("my_latency_ms", "energy/train_reused_j")


def test_storage_takes_any_path_like_and_refuses_a_directory(tmp_path: Path) -> None:
    from pathlib import PurePosixPath

    assert SweepSettings(OBJECTIVES, storage=PurePosixPath("sweep/ax.json")).storage == Path("sweep/ax.json").absolute()
    assert SweepSettings(OBJECTIVES, storage=str(tmp_path / "ax.json")).storage == tmp_path / "ax.json"
    with pytest.raises(EcoptConfigError, match=r"storage=.*is a directory; .*ax_experiment\.json"):
        SweepSettings(OBJECTIVES, storage=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("storage", "match"),
    [
        ("sweep/", r"storage='sweep/'\): names a folder \(it ends with '/'\); .* e\.g\. 'sweep/ax_experiment\.json'"),
        ("runs/a//", r"storage='runs/a//'\): names a folder .* e\.g\. 'runs/a/ax_experiment\.json'"),
        ("", r"storage=''\): is empty; .* e\.g\. 'ax_experiment\.json', or None for no file"),
    ],
)
def test_a_storage_that_names_a_folder_is_refused_not_written_as_a_file_of_its_name(
    storage: str, match: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Path("sweep/") is Path("sweep"): the experiment went to a file named sweep, its results and views beside it.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EcoptConfigError, match=match):
        SweepSettings(OBJECTIVES, storage=storage)
    assert list(tmp_path.iterdir()) == []


def test_a_hydra_storage_that_names_a_folder_is_refused(tmp_path: Path) -> None:
    # The sweeper hands SweepSettings a Path, which has lost the slash: it saved the experiment to a file named exp.
    from ecopt_testing import ecopt_sweeper

    storage = f"{tmp_path}/exp/"
    with pytest.raises(
        EcoptConfigError,
        match=rf"hydra.sweeper.storage='{tmp_path}/exp/' names a folder \(it ends with '/'\); .* e\.g\. "
        rf"'{tmp_path}/exp/ax_experiment\.json'",
    ):
        ecopt_sweeper(tmp_path, storage=storage).configure([])
    assert not (tmp_path / "exp").exists()


def test_a_storage_under_the_home_is_the_home_s_not_a_folder_named_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert SweepSettings(OBJECTIVES, storage="~/runs/ax.json").storage == tmp_path / "home" / "runs" / "ax.json"
    assert not (tmp_path / "~").exists()


def test_numpy_numbers_are_accepted_and_stored_as_python_s() -> None:
    # Before: "SweepSettings(n_trials=np.int64(10)): expected an integer >= 1", and a reference value of np.float32
    # "expected a finite number": numbers a script computes with numpy (a budget, a baseline's accuracy).
    np = pytest.importorskip("numpy")
    settings = SweepSettings(
        OBJECTIVES,
        n_trials=np.int64(12),
        n_initial_trials=np.int32(4),
        seed=np.int64(7),
        max_batch_size=np.int64(2),
        max_failure_rate=np.float32(0.25),
        reference_point={"test/acc": np.float32(0.5), "energy/test_j": np.int64(300)},
        trial_timeout_s=np.float32(60.0),
    )
    values = [settings.n_trials, settings.n_initial_trials, settings.seed, settings.max_batch_size]
    assert values == [12, 4, 7, 2]
    assert all(type(value) is int for value in values)
    assert settings.max_failure_rate == 0.25
    assert type(settings.max_failure_rate) is float
    assert settings.reference_point == {"test/acc": 0.5, "energy/test_j": 300.0}
    assert all(type(value) is float for value in settings.reference_point.values())
    assert settings.trial_timeout_s == 60.0
    assert type(settings.trial_timeout_s) is float
    with pytest.raises(EcoptConfigError, match=r"n_trials=np\.True_\): expected an integer >= 1"):
        SweepSettings(OBJECTIVES, n_trials=np.bool_(True))
    with pytest.raises(
        EcoptConfigError, match=r"reference_point\['test/acc'\]=np\.float32\(nan\)\): expected a finite"
    ):
        SweepSettings(OBJECTIVES, reference_point={"test/acc": np.float32("nan")})


def test_lists_are_accepted_and_stored_as_tuples() -> None:
    settings = SweepSettings(
        OBJECTIVES,
        outcome_constraints=["energy/train_j <= 5"],
        enqueue_trials=[{"x": 1}],
    )
    assert settings.outcome_constraints == (OutcomeConstraint("energy/train_j", "<=", 5.0),)
    assert settings.enqueue_trials == ({"x": 1},)


def test_the_constructor_defaults_are_the_declared_field_defaults() -> None:
    import dataclasses
    import inspect

    parameters = inspect.signature(SweepSettings.__init__).parameters
    fields = [f for f in dataclasses.fields(SweepSettings) if f.init]
    assert [f.name for f in fields] == list(parameters)[1:]
    for f in fields:
        declared = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert parameters[f.name].default == declared, f.name


def test_no_outcome_constraints_may_be_given_as_none_from_python() -> None:
    assert SweepSettings(OBJECTIVES, outcome_constraints=None).outcome_constraints == ()


def test_the_hydra_config_defaults_mean_none_from_python_too() -> None:
    """``enqueue_trials: null`` and ``reference_point: {}`` are the documented defaults; from Python they were refused
    (``None``: "expected a list of configurations"; ``{}`` for one objective: "a reference point bounds the front")."""
    assert SweepSettings(OBJECTIVES, enqueue_trials=None).enqueue_trials == ()
    assert SweepSettings(OBJECTIVES, reference_point={}).reference_point is None
    single = parse_objectives({"test/acc": "maximize"}, None)
    assert SweepSettings(single, reference_point={}).reference_point is None
    with pytest.raises(EcoptConfigError, match=r"a reference point bounds the front of two or more objectives"):
        SweepSettings(single, reference_point={"test/acc": 0.5})


def test_a_reference_value_given_as_text_reads_as_its_number_in_the_hydra_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setting is untyped (a list of values gets our message, not OmegaConf's), so OmegaConf no longer turns an
    interpolation's text into a float: ``${oc.env:REF}`` gave ``"0.5"``, refused as "expected a finite number"."""
    from omegaconf import OmegaConf

    from ecopt_testing import ecopt_sweeper

    monkeypatch.setenv("ECOPT_TEST_REF", "0.5")
    point = OmegaConf.create({"f1": "${oc.env:ECOPT_TEST_REF}", "f2": "1e3"})
    OmegaConf.resolve(point)  # as Hydra's instantiate resolves the sweeper's config before the sweeper sees it
    assert point.f1 == "0.5"  # text: the untyped setting is not converted by OmegaConf
    _, settings = ecopt_sweeper(tmp_path, reference_point=point).configure([])
    assert settings.reference_point == {"f1": 0.5, "f2": 1000.0}
    with pytest.raises(EcoptConfigError, match=r"hydra.sweeper.reference_point\['f1'\]='low': expected a finite"):
        ecopt_sweeper(tmp_path, reference_point={"f1": "low"}).configure([])


@pytest.mark.parametrize(
    ("kwargs", "python", "hydra"),
    [
        ({"n_trials": 0}, "SweepSettings(n_trials=0): expected", "hydra.sweeper.n_trials=0: expected"),
        (
            {"n_initial_trials": 0},
            "SweepSettings(n_initial_trials=0): expected an integer >= 1, or None for the default",
            "hydra.sweeper.n_initial_trials=0: expected an integer >= 1, or null for the default",
        ),
        (
            {"n_trials": 3, "n_initial_trials": 4},
            "SweepSettings(n_initial_trials=4, n_trials=3): the Sobol",
            "hydra.sweeper.n_initial_trials=4, hydra.sweeper.n_trials=3: the Sobol",
        ),
        (
            {"seed": 1.5},
            "SweepSettings(seed=1.5): expected an integer, or None for a random seed.",
            "hydra.sweeper.seed=1.5: expected an integer, or null for a random seed.",
        ),
        (
            {"retry_failed": "yes"},
            "SweepSettings(retry_failed='yes'): expected True or False.",
            "hydra.sweeper.retry_failed='yes': expected true or false.",
        ),
        (
            {"trial_timeout_s": -1},
            "SweepSettings(trial_timeout_s=-1): expected seconds > 0",
            "hydra.sweeper.trial_timeout_s=-1: expected seconds > 0",
        ),
        ({"max_failure_rate": 2}, "SweepSettings(max_failure_rate=2):", "hydra.sweeper.max_failure_rate=2:"),
        ({"acquisition": "EI"}, "SweepSettings(acquisition='EI'):", "hydra.sweeper.acquisition='EI':"),
        (
            {"acquisition": "EHVI", "max_batch_size": 2},
            "SweepSettings(acquisition='EHVI', max_batch_size=2): analytic EHVI proposes one trial at a time",
            "hydra.sweeper.acquisition='EHVI', hydra.sweeper.max_batch_size=2: analytic EHVI proposes one trial",
        ),
        (
            {"reference_point": {"test/acc": "low"}},
            "SweepSettings(reference_point['test/acc']='low'):",
            "hydra.sweeper.reference_point['test/acc']='low':",
        ),
        (
            {"enqueue_trials": {"x": 1}},
            "SweepSettings(enqueue_trials={'x': 1}): expected a list",
            "hydra.sweeper.enqueue_trials={'x': 1}: expected a list",
        ),
        (
            {"outcome_constraints": ("energy/tst_j <= 3",)},
            "SweepSettings: 'energy/tst_j' is not a metric",
            "hydra.sweeper: 'energy/tst_j' is not a metric",
        ),
        (
            {"outcome_constraints": ("test/acc >= 0.5", "test/acc >= 0.6")},
            "SweepSettings(outcome_constraints=...): the objective 'test/acc' is bounded twice",
            "hydra.sweeper.outcome_constraints: the objective 'test/acc' is bounded twice",
        ),
    ],
)
def test_a_message_spells_the_setting_as_its_front_end_does(kwargs: dict[str, Any], python: str, hydra: str) -> None:
    """From Python ``SweepSettings(n_trials=0)`` and ``None``; under the Hydra sweeper the key and ``null`` the user
    typed (before: ``SweepSettings(...)`` and ``null`` for both)."""
    from lightning_ecopt.sweeper.spelling import hydra_spelling

    kwargs = {"objectives": OBJECTIVES, **kwargs}
    with pytest.raises(EcoptConfigError) as from_python:
        SweepSettings(**kwargs)
    assert python in str(from_python.value)
    assert "hydra" not in str(from_python.value)
    assert "null" not in str(from_python.value)
    with hydra_spelling(), pytest.raises(EcoptConfigError) as from_hydra:
        SweepSettings(**kwargs)
    assert hydra in str(from_hydra.value)
    assert "SweepSettings" not in str(from_hydra.value)
    assert "None" not in str(from_hydra.value)


def test_the_spelling_is_no_part_of_the_settings() -> None:
    """Settings built under Hydra equal those built in Python, and replace() keeps working on either."""
    import dataclasses

    from lightning_ecopt.sweeper.spelling import hydra_spelling, in_hydra

    with hydra_spelling():
        under_hydra = SweepSettings(OBJECTIVES, n_trials=5)
    assert not in_hydra()
    assert under_hydra == SweepSettings(OBJECTIVES, n_trials=5)
    assert dataclasses.replace(under_hydra, seed=3).seed == 3
    with pytest.raises(EcoptConfigError, match=r"^SweepSettings\(seed='3'\)"):
        dataclasses.replace(under_hydra, seed="3")


@pytest.mark.parametrize("outcome_constraints", [{"test/acc": 0.5}, 5])
def test_outcome_constraints_that_are_no_list_are_refused(outcome_constraints: Any) -> None:
    # Before: a mapping was read as its keys ("outcome constraint 'test/acc': no comparison found"), 5 a TypeError.
    with pytest.raises(
        EcoptConfigError, match=r"outcome_constraints=.*\): expected a list of bounds, the metric first"
    ):
        SweepSettings(OBJECTIVES, outcome_constraints=outcome_constraints)


def test_numpy_bools_and_a_set_of_constraints_are_taken_as_python_takes_them() -> None:
    """Review of the stricter checks: ``numpy.bool_`` flags and a set (or generator) of bounds were accepted before."""
    import numpy as np

    settings = SweepSettings(
        OBJECTIVES, parallel_trials=np.True_, retry_failed=np.False_, outcome_constraints={"energy/train_j <= 5"}
    )
    assert settings.parallel_trials is True
    assert settings.retry_failed is False
    assert [c.metric for c in settings.outcome_constraints] == ["energy/train_j"]
    generated = SweepSettings(OBJECTIVES, outcome_constraints=(f"m{i} <= 1" for i in range(2)))
    assert [c.metric for c in generated.outcome_constraints] == ["m0", "m1"]
