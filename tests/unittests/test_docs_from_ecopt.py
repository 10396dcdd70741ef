"""docs/from-ecopt.md: its YAML block is ECOpt's CNN space in our grammar, and its plain-function task runs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from hydra_plugins.ecopt_sweeper.config import EcoptSweeperConf
from lightning_ecopt import ParetoSweep, SweepSettings, parse_objectives, parse_search_space
from lightning_ecopt.sweeper.space import ChoiceParameter, RangeParameter

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "from-ecopt.md"


def blocks(lang: str) -> list[str]:
    """The page's fenced code blocks of one language, in order."""
    return [
        body
        for found, body in re.findall(r"```(\w+)\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
        if found == lang
    ]


def _yaml_config() -> dict:
    (block,) = blocks("yaml")
    return yaml.safe_load(block)


def test_the_yaml_block_sweeps_ecopts_cnn_space_with_its_types_and_order() -> None:
    config = _yaml_config()
    sweeper = config["hydra"]["sweeper"]
    space = parse_search_space(sweeper["params"], [], where="hydra.sweeper.params")
    params = {p.name: p for p in space.parameters}
    # ECOpt: Range(..., min=1, max=128, value_type=INT), Range(..., 1, 6, INT), ordered Choice of kernels and pooling
    assert params["model.width"] == RangeParameter("model.width", 1, 128, "int", log_scale=False)
    assert params["model.depth"] == RangeParameter("model.depth", 1, 6, "int", log_scale=False)
    assert params["model.kernel"] == ChoiceParameter("model.kernel", (1, 3, 5, 7, 9), is_ordered=True)
    assert params["model.pooling"] == ChoiceParameter("model.pooling", (True, False), is_ordered=True)
    assert space.fixed == {"model.lr": 0.001, "data.batch_size": 64}  # Fixed(0.001), Fixed(64)
    assert (sweeper["n_initial_trials"], sweeper["n_trials"]) == (40, 400)  # num_init_steps=40 + num_opt_steps=360


def test_the_yaml_block_extends_the_main_jobs_config_with_keys_it_has() -> None:
    config = _yaml_config()
    assert config["defaults"] == ["train", "_self_"]
    train = OmegaConf.load(ROOT / "conf" / "train.yaml")
    for key in [*config["hydra"]["sweeper"]["params"], *(f"trainer.{k}" for k in config["trainer"])]:
        assert OmegaConf.select(train, key, default="missing") != "missing", key
    fields = {f.name for f in dataclasses.fields(EcoptSweeperConf)}
    assert set(config["hydra"]["sweeper"]) <= fields


def test_the_python_block_sweeps_the_same_space_as_the_yaml_block() -> None:
    source = blocks("python")[0]
    namespace: dict = {}
    exec(compile(source.split("\n\ndef cnn_trial", 1)[0], "from-ecopt.md", "exec"), namespace)
    python = namespace["space"]
    hydra = parse_search_space(_yaml_config()["hydra"]["sweeper"]["params"], [])
    strip = {"model.": "", "data.": ""}

    def short(name: str) -> str:
        for prefix, to in strip.items():
            name = name.replace(prefix, to)
        return name

    assert [dataclasses.replace(p, name=short(p.name)) for p in hydra.parameters] == list(python.parameters)
    assert {short(k): v for k, v in hydra.fixed.items()} == python.fixed


def test_the_plain_function_task_returns_what_a_sweep_needs_and_sweeps() -> None:
    source = blocks("python")[1]
    assert 'make_meter("auto")' in source
    namespace: dict = {}
    # On the estimate: a few-millisecond window on RAPL may read 0 J (callback.md's loop is tested the same way).
    exec(compile(source.replace('make_meter("auto")', 'make_meter("estimate")'), "from-ecopt.md", "exec"), namespace)
    figures = namespace["evaluate"]({"width": 8})
    assert set(figures) == {"accuracy", "energy/test_samples_per_j", "energy/test_j", "energy/source"}
    assert figures["energy/source"] == "estimated: cpu-time"
    assert figures["energy/test_samples_per_j"] == pytest.approx(39 * 256 / figures["energy/test_j"])
    objectives = parse_objectives({"accuracy": "maximize", "energy/test_samples_per_j": "maximize"}, None)
    settings = SweepSettings(objectives, n_trials=2, n_initial_trials=2, seed=0)
    space = parse_search_space({"width": "int(interval(4, 64))"}, [])
    result = ParetoSweep.from_function(space, settings, namespace["evaluate"]).run()
    assert [t.status for t in result.trials] == ["completed", "completed"]
    assert {t.energy_source for t in result.trials} == {"estimated: cpu-time"}


@pytest.mark.parametrize("page", ["README.md", "docs/sweeper.md"])
def test_the_page_is_linked_from(page: str) -> None:
    assert "from-ecopt.md" in (ROOT / page).read_text(encoding="utf-8")
