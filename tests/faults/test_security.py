"""Security: stored state is plain JSON/YAML, checkpoints load weights only, nothing unpickles what it reads.

Path escapes (``storage`` or a job dir outside ``hydra.sweep.dir``) are refused in ``test_bad_config.py``.
"""

from __future__ import annotations

import ast
import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("lightning_ecopt", "hydra_plugins", "examples") for p in sorted((ROOT / d).rglob("*.py"))]

# (module alias, function) pairs that execute code from the bytes they read.
UNSAFE_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("dill", "load"),
    ("dill", "loads"),
    ("cloudpickle", "load"),
    ("cloudpickle", "loads"),
    ("joblib", "load"),
    ("yaml", "unsafe_load"),
    ("yaml", "full_load"),
    ("shelve", "open"),
    ("marshal", "loads"),
}


def _keyword(call: ast.Call, name: str) -> Any:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def _unsafe_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{node.lineno}"
        if (owner, node.func.attr) in UNSAFE_CALLS:
            found.append(f"{where} {owner}.{node.func.attr}")
        elif (owner, node.func.attr) == ("yaml", "load") and "Safe" not in ast.unparse(node):
            found.append(f"{where} yaml.load without SafeLoader")
        elif (owner, node.func.attr) == ("torch", "load") and _keyword(node, "weights_only") is not True:
            found.append(f"{where} torch.load without weights_only=True")
        elif node.func.attr == "load" and _keyword(node, "allow_pickle") is True:
            found.append(f"{where} load(allow_pickle=True)")
    return found


def test_sources_never_unpickle_what_they_read() -> None:
    assert len(SOURCES) > 20
    found = [hit for path in SOURCES for hit in _unsafe_calls(path)]
    assert found == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scan can fail: each unsafe form in a sample file is reported."""
    sample = tmp_path / "unsafe_sample.py"
    sample.write_text(
        "import pickle, torch, yaml, numpy as np\n"
        "pickle.loads(b'')\n"
        "torch.load('x.pt')\n"
        "torch.load('x.pt', weights_only=False)\n"
        "yaml.load('a: 1', Loader=yaml.Loader)\n"
        "np.load('x.npy', allow_pickle=True)\n"
        "torch.load('x.pt', weights_only=True)\n"
        "yaml.load('a: 1', Loader=yaml.SafeLoader)\n"
    )
    found = _unsafe_calls(sample)
    assert [hit.split(" ", 1)[1] for hit in found] == [
        "pickle.loads",
        "torch.load without weights_only=True",
        "torch.load without weights_only=True",
        "yaml.load without SafeLoader",
        "load(allow_pickle=True)",
    ]


def test_stored_sweep_state_is_plain_json_and_yaml(tmp_path: Path) -> None:
    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    space = parse_search_space({"x": "interval(0, 1)", "opt": "choice(adam, sgd)"}, [])
    settings = SweepSettings(
        parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=3, seed=0, storage=tmp_path / "ax.json"
    )
    with warnings.catch_warnings(), mock_botorch_optimize_context_manager(force=True):
        warnings.simplefilter("ignore")
        ParetoSweep.from_function(space, settings, lambda p: {"a": p["x"], "b": 1 - p["x"]}).run()
    data = json.loads((tmp_path / "ax.json").read_text())
    assert data["experiment"]["name"] == "ecopt"
    text = (tmp_path / "optimization_results.yaml").read_text()
    assert "!!python" not in text
    assert yaml.safe_load(text)["name"] == "ecopt"


class _Payload:
    """Unpickling this writes a marker file: what a malicious checkpoint would do."""

    marker: Path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "pwned"))


def test_a_malicious_checkpoint_is_refused_not_executed(tmp_path: Path) -> None:
    checkpoints = pytest.importorskip("lightning_ecopt.checkpoints")
    cache = checkpoints.CheckpointCache(tmp_path / "checkpoints")
    key = cache.key({"model": {"width": 8}, "seed": 0})
    assert key.isalnum()
    assert cache.path(key).parent == cache.directory  # a key never leaves the cache folder
    payload = _Payload()
    payload.marker = tmp_path / "marker"
    cache.directory.mkdir()
    cache.path(key).write_bytes(pickle.dumps({"format": 1, "key": key, "state_dict": payload}))
    with pytest.raises(checkpoints.CheckpointCacheError, match=r"cannot read .* with weights_only=True.*delete"):
        cache.load(key)
    assert not payload.marker.exists()
