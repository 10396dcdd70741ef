"""ExperimentSnapshot: Ax's JSON of a sweep's client, byte for byte, with each trial's data encoded once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.snapshot import ExperimentSnapshot
from lightning_ecopt.sweeper.space import RangeParameter, SearchSpace

pytestmark = pytest.mark.filterwarnings("ignore")


def _ax_text(client: Any) -> str:
    """What ``client.save_to_json_file`` writes."""
    return json.dumps(client._to_json_snapshot())


def _client() -> Any:
    from ax.api.client import Client
    from ax.api.configs import RangeParameterConfig

    client = Client(random_seed=0)
    client.configure_experiment(
        parameters=[RangeParameterConfig(name=n, parameter_type="float", bounds=(0.0, 1.0)) for n in "ab"]
    )
    client.configure_optimization(objective="-f0, -f1")
    return client


@pytest.fixture
def data_encodings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every trial's data Ax's encoder is asked to encode (the cache's misses)."""
    from ax.storage.json_store import encoders

    calls: list[Any] = []
    real = encoders.data_to_dict

    def counted(data: Any) -> dict[str, Any]:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(encoders, "data_to_dict", counted)
    return calls


def test_the_snapshot_is_ax_s_bytes_and_encodes_only_the_data_that_changed(
    data_encodings: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Completed, failed and running trials, known and unknown noise, a trial's data replaced and one added to."""
    from ax.core.experiment import Experiment
    from ax.storage.json_store.registry import CORE_ENCODER_REGISTRY

    experiments: list[Any] = []
    experiment_to_dict = CORE_ENCODER_REGISTRY[Experiment]

    def counted(experiment: Any) -> dict[str, Any]:
        experiments.append(experiment)
        return experiment_to_dict(experiment)

    client = _client()
    for i, raw in enumerate(({"f0": 0.1, "f1": 0.9}, {"f0": (0.5, 0.1), "f1": (0.5, float("nan"))}, None)):
        index = client.attach_trial({"a": i / 4, "b": 0.5})
        if raw is None:
            client.mark_trial_failed(index, failed_reason="out of memory")
        else:
            client.complete_trial(index, raw_data=raw)
    assert list(client.get_next_trials(max_trials=1)) == [3]  # running, no data; and a generation strategy
    snapshot = ExperimentSnapshot()

    assert snapshot.text(client) == _ax_text(client)
    assert len(data_encodings) == 2  # two trials with data, each once
    assert snapshot.cached_trials == 2
    monkeypatch.setitem(CORE_ENCODER_REGISTRY, Experiment, counted)
    assert snapshot.text(client) == _ax_text(client)
    assert len(experiments) == 1 + 2  # ours once, Ax's twice (the generation strategy holds the experiment too)
    monkeypatch.setitem(CORE_ENCODER_REGISTRY, Experiment, experiment_to_dict)
    data_encodings.clear()
    assert snapshot.text(client) == _ax_text(client)
    assert data_encodings == []  # unchanged data is not encoded again

    client.complete_trial(3, raw_data={"f0": 0.7, "f1": 0.2})
    client.attach_data(0, raw_data={"f0": 0.2, "f1": 0.8})  # a trial's data replaced
    data_encodings.clear()
    assert snapshot.text(client) == _ax_text(client)
    assert len(data_encodings) == 2  # the new trial and the changed one
    assert snapshot.cached_trials == 3  # the replaced encoding is dropped


def test_write_writes_what_ax_writes(tmp_path: Path) -> None:
    client = _client()
    client.complete_trial(client.attach_trial({"a": 0.3, "b": 0.4}), raw_data={"f0": 1.0, "f1": 2.0})
    ExperimentSnapshot().write(client, str(tmp_path / "ours.json"))
    client.save_to_json_file(str(tmp_path / "ax.json"))
    assert (tmp_path / "ours.json").read_bytes() == (tmp_path / "ax.json").read_bytes()


def test_every_save_of_a_sweep_is_ax_s_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep through Sobol and qNEHVI, with failures and noisy values: each save equals Ax's, and resumes."""
    saves: list[bool] = []
    real_write = ExperimentSnapshot.write

    def checked(self: ExperimentSnapshot, client: Any, path: str) -> None:
        real_write(self, client, path)
        saves.append(Path(path).read_text() == _ax_text(client))

    monkeypatch.setattr(ExperimentSnapshot, "write", checked)

    def task(params: dict[str, Any]) -> dict[str, Any]:
        if params["a"] > 0.85:
            raise RuntimeError("diverged")
        return {"f0": (params["a"], 0.01), "f1": 1 - params["a"] + params["b"] ** 2}  # known and unknown noise

    space = SearchSpace(tuple(RangeParameter(n, 0.0, 1.0, "float") for n in "ab"))
    storage = tmp_path / "ax_experiment.json"

    def sweep(n_trials: int) -> Any:
        settings = SweepSettings(
            parse_objectives({"f0": "minimize", "f1": "minimize"}, None),
            n_trials=n_trials,
            n_initial_trials=3,
            seed=1,
            storage=str(storage),
            reference_point={"f0": 2.0, "f1": 3.0},
        )
        return ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()

    first = sweep(5)
    assert len(saves) >= 10  # two saves a batch, one trial a batch
    assert all(saves)
    resumed = sweep(6)  # the saved snapshot loads in Ax
    assert [t.trial_index for t in resumed.trials[:5]] == [t.trial_index for t in first.trials]
    assert resumed.n_finished == 6
    assert all(saves)
