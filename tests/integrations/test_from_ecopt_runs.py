"""docs/from-ecopt.md's CNN search, run as written at a tiny budget: the YAML file with its command, and the Python."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "from-ecopt.md"
TINY = {"n_trials=400, n_initial_trials=40": "n_trials=2, n_initial_trials=2", "max_epochs=500": "max_epochs=1"}


def _block(lang: str, index: int = 0) -> str:
    found = [
        b
        for lang_, b in re.findall(r"```(\w+)\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
        if lang_ == lang
    ]
    return found[index]


def test_the_cnn_config_runs_with_the_documented_command(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "cifar_cnn.yaml").write_text(_block("yaml"), encoding="utf-8")
    command = shlex.split(_block("bash").replace("<that folder>", str(folder)))
    assert command[:2] == [".venv/bin/python", "examples/train.py"]
    overrides = ["hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2", "trainer.max_epochs=1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(  # from tmp_path, so that the YAML's relative sweep dir lands there
        [sys.executable, str(ROOT / command[1]), *command[2:], *overrides],
        cwd=tmp_path,
        env={**env, "ECOPT_BOTORCH_KERNEL": "0"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = yaml.safe_load((tmp_path / "multirun" / "cifar_cnn" / "optimization_results.yaml").read_text())
    assert len(results["trials"]) == 2
    for trial in results["trials"]:
        params = trial["params"]
        assert isinstance(params["model.width"], int)
        assert 1 <= params["model.width"] <= 128
        assert params["model.kernel"] in (1, 3, 5, 7, 9)
        if trial["status"] == "completed":
            assert trial["metrics"]["energy/test_samples_per_j"] > 0
    assert "fixed ['model.lr=0.001', 'data.batch_size=64', 'trainer.max_epochs=1']" in done.stderr + done.stdout


def test_the_python_cnn_search_runs_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _block("python", 0)
    for doc, run in TINY.items():
        assert doc in source
        source = source.replace(doc, run)
    monkeypatch.chdir(tmp_path)  # storage="cifar_cnn/ax_experiment.json" is relative
    monkeypatch.setenv("ECOPT_BOTORCH_KERNEL", "0")
    namespace: dict = {"__name__": "from_ecopt"}
    exec(compile(source, "from-ecopt.md", "exec"), namespace)
    result = namespace["result"]
    assert len(result.trials) == 2
    assert (tmp_path / "cifar_cnn" / "ax_experiment.json").exists()
    completed = [t for t in result.trials if t.status == "completed"]
    assert not (tmp_path / "checkpoints").exists()  # the quiet Trainer writes nothing beside the sweep
    exec(compile(source, "from-ecopt.md", "exec"), namespace)  # "rerun the script: it resumes" (finished: as saved)
    assert [t.metrics for t in namespace["result"].trials] == [t.metrics for t in result.trials]
    for trial in completed:
        assert {"test/acc", "energy/test_samples_per_j", "energy/train_j"} <= set(trial.metrics)
