"""Ax's JSON snapshot of a sweep's client, with each trial's data encoded once instead of at every save.

The loop saves the Ax experiment before each batch is launched and after it ends (:mod:`lightning_ecopt.sweeper.loop`).
Ax's ``Client.save_to_json_file`` rebuilds every trial's data as a pandas frame and encodes it again at every save,
and encodes the whole experiment twice (the generation strategy carries it a second time): about 5 ms a trial a
save, so the saves grew quadratically over a sweep (a 200-trial sweep of a trivial task spent 274 of its 336 s in
them; ``benchmarks/sweep_bookkeeping.py``). :class:`ExperimentSnapshot` writes the same bytes as Ax (a test compares
them), encodes the experiment once a snapshot, and keeps each trial's encoded data until that trial's rows change.

Ax and pandas are imported when a snapshot is taken, not with this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ax.api.client import Client
    from ax.core.data import Data

__all__ = ["ExperimentSnapshot"]


class ExperimentSnapshot:
    """Writes a client as Ax's ``Client.save_to_json_file`` would, reusing each trial's encoded data.

    One per sweep: the cache holds the encoded data of the trials in the last snapshot (keyed by their rows, so a
    trial whose data changed is encoded again) and nothing older.

    Example:
        >>> snapshot = ExperimentSnapshot()
        >>> snapshot.cached_trials
        0
    """

    def __init__(self) -> None:
        self._encoded: dict[str, dict[str, Any]] = {}
        self._used: dict[str, dict[str, Any]] = {}

    @property
    def cached_trials(self) -> int:
        """How many trials' encoded data the last snapshot left in the cache."""
        return len(self._encoded)

    def to_json(self, client: Client) -> dict[str, Any]:
        """The client as Ax's ``Client._to_json_snapshot`` returns it (the same JSON, key for key).

        Args:
            client: The sweep's Ax client.

        Returns:
            ``{"_type": "Client", "experiment": ..., "generation_strategy": ...}``, JSON-ready.
        """
        config = client._storage_config
        if config is not None and config.registry_bundle is not None:  # encoders of its own: Ax's way, uncached
            return client._to_json_snapshot()
        from ax.core.data import Data
        from ax.core.experiment import Experiment
        from ax.storage.json_store.encoder import object_to_json
        from ax.storage.json_store.registry import CORE_CLASS_ENCODER_REGISTRY, CORE_ENCODER_REGISTRY

        experiment_to_dict = CORE_ENCODER_REGISTRY[Experiment]
        experiments: dict[int, dict[str, Any]] = {}

        def encode(obj: Any) -> Any:
            return object_to_json(obj, encoder_registry=encoders, class_encoder_registry=CORE_CLASS_ENCODER_REGISTRY)

        def encode_experiment(experiment: Experiment) -> dict[str, Any]:
            """Encoded once a snapshot: the generation strategy holds the same experiment again."""
            encoded = experiments.get(id(experiment))
            if encoded is None:
                encoded = experiments[id(experiment)] = {
                    name: encode(value) for name, value in experiment_to_dict(experiment).items()
                }
            return encoded

        encoders: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
            **CORE_ENCODER_REGISTRY,
            Data: self._encode_data,
            Experiment: encode_experiment,
        }
        self._used = {}
        try:
            strategy = client._maybe_generation_strategy
            snapshot = {
                "_type": type(client).__name__,
                "experiment": encode(client._experiment),
                "generation_strategy": None if strategy is None else encode(strategy),
            }
        finally:
            self._encoded, self._used = self._used, {}
        return snapshot

    def text(self, client: Client) -> str:
        """The snapshot as the text Ax writes to its file."""
        return json.dumps(self.to_json(client))

    def write(self, client: Client, path: str) -> None:
        """Write the snapshot to ``path`` (what ``client.save_to_json_file(path)`` writes)."""
        text = self.text(client)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)

    def _encode_data(self, data: Data) -> dict[str, Any]:
        """Ax's ``data_to_dict`` with its values already encoded, from the cache where the rows are unchanged."""
        from ax.storage.json_store.encoder import object_to_json
        from ax.storage.json_store.encoders import data_to_dict

        rows = getattr(data, "_data_rows", None)
        if rows is None:  # another Ax: no cache, Ax's own encoding
            return data_to_dict(data)
        key = repr([tuple(vars(row).values()) for row in rows])  # repr: a NaN standard error equals itself
        encoded = self._encoded.get(key) or self._used.get(key)
        if encoded is None:
            encoded = {name: object_to_json(value) for name, value in data_to_dict(data).items()}
        self._used[key] = encoded
        return encoded
