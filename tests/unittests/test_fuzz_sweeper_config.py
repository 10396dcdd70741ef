"""The Hydra sweeper's own checks of Optuna-style keys, in-process: each message names the key the user set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from ecopt_testing import ecopt_sweeper
from lightning_ecopt.exceptions import EcoptConfigError

_sweeper = ecopt_sweeper


@pytest.mark.parametrize("n_jobs", [0, -1, "two"])
def test_a_bad_optuna_n_jobs_is_named_as_n_jobs(tmp_path: Path, n_jobs: Any) -> None:
    # Before: "SweepSettings(max_batch_size=0): ...", a key the user never set.
    with pytest.raises(EcoptConfigError, match=rf"^hydra\.sweeper\.n_jobs={n_jobs!r} \(the Optuna key") as error:
        _sweeper(tmp_path, n_jobs=n_jobs).configure([])
    assert "max_batch_size=" not in str(error.value)


def test_a_good_optuna_n_jobs_is_the_batch_size(tmp_path: Path) -> None:
    _, settings = _sweeper(tmp_path, n_jobs=3).configure([])
    assert settings.max_batch_size == 3


def test_optuna_n_jobs_of_one_is_a_batch_of_one(tmp_path: Path) -> None:
    """n_jobs=1 is the smallest batch, not refused as below 1."""
    _, settings = _sweeper(tmp_path, n_jobs=1).configure([])
    assert settings.max_batch_size == 1


def test_storage_on_the_sweep_dir_itself_is_refused_before_it_exists(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"  # a fresh sweep: nothing there yet, so SweepSettings sees no directory
    sweeper = _sweeper(tmp_path, storage=f"{sweep_dir}/")
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}}})
    with pytest.raises(EcoptConfigError, match=r"is hydra\.sweep\.dir itself; storage is the file the Ax experiment"):
        sweeper.configure([])
    assert not sweep_dir.exists()


@pytest.mark.parametrize("key", ["+extra", "++extra"])
def test_an_enqueued_configuration_keyed_with_the_override_prefix_is_named_with_the_fix(
    tmp_path: Path, key: str
) -> None:
    # Before: "enqueue_trials[0] gives no value for 'extra', and the app's config has none to take", though it did.
    sweeper = _sweeper(tmp_path, enqueue_trials=[{key: 0.5}])
    match = rf"enqueue_trials\[0\] names {re.escape(repr(key))}: .* write 'extra: 0\.5'\.$"
    with pytest.raises(EcoptConfigError, match=match):
        sweeper.configure(["+extra=interval(0, 1)"])


def test_the_ax_sweeper_s_config_is_refused_with_ecopt_s_keys_for_it(tmp_path: Path) -> None:
    # Before: "Key 'ax_config' not in 'EcoptSweeperConf'" from the YAML, or a TypeError from Hydra's instantiate.
    ax_config = {
        "max_trials": 12,
        "experiment": {"minimize": True},
        "params": {"x": {"type": "range", "bounds": [-5.0, 10.0]}, "opt": {"type": "choice", "values": ["a", "b"]}},
        "is_noisy": False,
    }
    with pytest.raises(EcoptConfigError, match=r"^hydra\.sweeper\.ax_config is the Ax sweeper's config") as error:
        _sweeper(tmp_path, ax_config=OmegaConf.create(ax_config)).configure([])
    assert (
        "move its settings to ecopt's keys (n_trials: 12; params: {x: 'interval(-5.0, 10.0)', opt: 'choice(a, b)'}; "
        "direction: minimize (a task that returns one number, as under the Ax sweeper)) and remove it"
    ) in str(error.value)


def test_the_ax_sweeper_s_constraints_and_seed_are_moved_or_said_to_have_no_equivalent(tmp_path: Path) -> None:
    # The message moved max_trials, params and minimize only: a migrated sweep lost its constraints and seed silently.
    ax_config = {
        "experiment": {"minimize": True, "parameter_constraints": ["x + y <= 1"], "outcome_constraints": ["g <= 2"]},
        "client": {"random_seed": 7},
        "params": {"x": {"type": "range", "bounds": [0.0, 1.0]}},
    }
    with pytest.raises(EcoptConfigError) as error:
        _sweeper(tmp_path, ax_config=OmegaConf.create(ax_config)).configure([])
    message = str(error.value)
    # A constraint needs a dict of metrics, which `direction` (values in order) does not read: objectives by name.
    assert "objectives: {objective: minimize} (a task that returns a dict of 'objective' and the constrained" in message
    assert "outcome_constraints: ['g <= 2']; seed: 7) and remove it" in message
    assert "ecopt has no parameter_constraints: the sweep may propose configurations they exclude" in message


def test_the_ax_sweeper_s_config_is_refused_even_with_nothing_to_move(tmp_path: Path) -> None:
    with pytest.raises(EcoptConfigError, match=r"does not read: remove it;"):
        _sweeper(tmp_path, ax_config={"is_noisy": False}).configure([])


def test_the_ax_config_key_is_part_of_the_registered_schema() -> None:
    from hydra.core.config_store import ConfigStore

    import hydra_plugins.ecopt_sweeper.config  # noqa: F401 - registers the config

    node = ConfigStore.instance().load("hydra/sweeper/ecopt.yaml").node
    assert "ax_config" in node  # so that an Ax config's `ax_config:` reaches the sweeper's message, not Hydra's
    assert node.ax_config is None


def test_params_null_as_in_an_optuna_config_is_an_empty_space(tmp_path: Path) -> None:
    from hydra_plugins.ecopt_sweeper.config import EcoptSweeperConf

    # Before: "field 'hydra.sweeper.params' is not Optional", though the Optuna sweeper's own default is null.
    merged = OmegaConf.merge(OmegaConf.structured(EcoptSweeperConf), {"params": None})
    assert merged.params is None
    space, _ = _sweeper(tmp_path, params=merged.params).configure(["x=interval(0, 1)"])
    assert space.names == ("x",)


def test_the_sweeper_s_messages_name_its_keys_not_sweep_settings(tmp_path: Path) -> None:
    # Before: "SweepSettings(n_trials=0): ...", a spelling a Hydra user cannot type.
    with pytest.raises(EcoptConfigError, match=r"^hydra\.sweeper\.n_trials=0: expected an integer >= 1\.$"):
        _sweeper(tmp_path, n_trials=0).configure([])
    with pytest.raises(EcoptConfigError, match=r"^hydra\.sweeper\.seed=1\.5: expected an integer, or null for a"):
        _sweeper(tmp_path, seed=1.5).configure([])
    from lightning_ecopt.sweeper.spelling import in_hydra

    assert not in_hydra()  # the spelling ends with configure()


def _merged(**values: Any) -> Any:
    """The registered schema merged with ``values``, as Hydra merges an app's YAML into it."""
    from hydra_plugins.ecopt_sweeper.config import EcoptSweeperConf

    return OmegaConf.merge(OmegaConf.structured(EcoptSweeperConf), values)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        # Before: OmegaConf's "Cannot merge DictConfig with ListConfig, full_key: " naming no key.
        (
            {"objectives": ["f1", "f2"]},
            r"^hydra\.sweeper\.objectives=\['f1', 'f2'\]: expected a mapping \{metric: maximize\|minimize\} .* "
            r"e\.g\. \{f1: maximize, f2: minimize\}\.$",
        ),
        ({"objectives": "f1"}, r"^hydra\.sweeper\.objectives='f1': expected a mapping"),
        # Before: "AnyNode is not a ListConfig" (a string) and "Cannot merge" (a mapping).
        ({"outcome_constraints": {"f1": 1}}, r"^hydra\.sweeper\.outcome_constraints=\{'f1': 1\}: expected a list"),
        ({"inference_params": "y"}, r"^hydra\.sweeper\.inference_params='y': expected a list of dotted config keys"),
        ({"inference_params": {"y": 1}}, r"^hydra\.sweeper\.inference_params=\{'y': 1\}: expected a list"),
        # Before: OmegaConf's "Cannot merge DictConfig with ListConfig", naming no key, for BoTorch's ref_point form.
        (
            {"reference_point": [0.5, 2]},
            r"^hydra\.sweeper\.reference_point=\[0\.5, 2\]: expected a mapping \{objective: worst acceptable value\}, "
            r"not a list; in the objectives' order that is \{f1: 0\.5, f2: 2\}\.$",
        ),
        # Before: the same merge error, for params written as a YAML list ("- model.lr: ..." lines).
        (
            {"params": [{"x": "interval(0, 1)"}, {"y": "choice(a, b)"}]},
            r"^hydra\.sweeper\.params=\[\{'x': 'interval\(0, 1\)'\}, \{'y': 'choice\(a, b\)'\}\]: expected a "
            r"mapping \{key: grammar\}, not a list; write each entry without its '- ': "
            r"\{x: interval\(0, 1\), y: choice\(a, b\)\}\.$",
        ),
        ({"params": "x=interval(0, 1)"}, r"^hydra\.sweeper\.params='x=interval\(0, 1\)': expected a mapping .* a str"),
        (
            {"reference_point": [0.5, 2, 3]},
            r"^hydra\.sweeper\.reference_point=\[0\.5, 2, 3\]: 3 values for 2 objectives",
        ),
    ],
)
def test_containers_of_the_wrong_kind_get_the_sweeper_s_message(tmp_path: Path, values: Any, match: str) -> None:
    merged = _merged(**values)
    kwargs = {key: merged[key] for key in values}
    with pytest.raises(EcoptConfigError, match=match):
        _sweeper(tmp_path, **kwargs).configure([])


def test_null_and_one_bare_constraint_are_taken_as_python_takes_them(tmp_path: Path) -> None:
    # Before: "field 'hydra.sweeper.outcome_constraints' is not Optional" (and inference_params), though Python takes
    # None; a bare string was "AnyNode is not a ListConfig", though Python takes one constraint without its list.
    merged = _merged(outcome_constraints=None, inference_params=None)
    _, settings = _sweeper(tmp_path, outcome_constraints=merged.outcome_constraints).configure([])
    assert settings.outcome_constraints == ()
    _sweeper(tmp_path, inference_params=merged.inference_params).configure([])
    merged = _merged(outcome_constraints="f1 <= 0.5")
    _, settings = _sweeper(tmp_path, outcome_constraints=merged.outcome_constraints).configure([])
    assert [str(c) for c in settings.outcome_constraints] == ["f1 <= 0.5"]
    merged = _merged(objectives={"f1": "minimize", "f2": "maximize"}, outcome_constraints=["f1 <= 0.5"])
    _, settings = _sweeper(
        tmp_path, objectives=merged.objectives, outcome_constraints=merged.outcome_constraints
    ).configure([])
    assert settings.objective_names == ("f1", "f2")


@pytest.mark.parametrize("point", [None, {}])
def test_a_null_or_empty_reference_point_is_inferred(tmp_path: Path, point: Any) -> None:
    # Before: null was "field 'hydra.sweeper.reference_point' is not Optional", though Python takes None.
    merged = _merged(reference_point=point)
    _, settings = _sweeper(tmp_path, reference_point=merged.reference_point).configure([])
    assert settings.reference_point is None


def test_a_reference_point_mapping_still_merges_into_the_schema(tmp_path: Path) -> None:
    merged = _merged(reference_point={"f1": 0.5, "f2": 2})
    _, settings = _sweeper(tmp_path, reference_point=merged.reference_point).configure([])
    assert settings.reference_point == {"f1": 0.5, "f2": 2.0}


def test_a_storage_holding_a_nul_character_is_refused(tmp_path: Path) -> None:
    # Before: "ValueError: embedded null byte" from Path.resolve(), a bare traceback.
    storage = f"{tmp_path}/a\x00b.json"
    with pytest.raises(
        EcoptConfigError,
        match=rf"^hydra\.sweeper\.storage={re.escape(repr(storage))}: not a usable file path \(it holds the NUL "
        r"character '\\x00'\); give a file in the sweep dir",
    ):
        _sweeper(tmp_path, storage=storage).configure([])
