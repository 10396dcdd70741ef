"""lightning_ecopt.checkpoints: the training key, the inference-params check, the cache and its accounting."""

from __future__ import annotations

import logging
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from lightning_ecopt.checkpoints import (
    CACHE_DIRNAME,
    CachedTraining,
    CheckpointCache,
    CheckpointCacheError,
    check_inference_params,
    training_key,
    training_params,
)
from lightning_ecopt.exceptions import EcoptConfigError

CONFIG = {"seed": 0, "model": {"width": 8, "lr": 1e-3}, "data": {"eval_batch_size": 64, "batch_size": 32}}
INFERENCE = ["data.eval_batch_size", "inference.precision"]


def _with(**changes: Any) -> dict[str, Any]:
    config = OmegaConf.to_container(OmegaConf.create(CONFIG))
    for key, value in changes.items():
        section, name = key.split("__")
        config[section][name] = value  # type: ignore[index]
    return config  # type: ignore[return-value]


# -- the key --------------------------------------------------------------------------------------------------------


def test_key_ignores_inference_keys_and_hydra() -> None:
    base = training_key(CONFIG, INFERENCE)
    assert training_key(_with(data__eval_batch_size=1), INFERENCE) == base
    assert training_key({**CONFIG, "hydra": {"job": {"num": 3}}}, INFERENCE) == base
    assert training_key(OmegaConf.create(CONFIG), INFERENCE) == base  # a DictConfig gives the same key
    assert training_key(dict(reversed(list(CONFIG.items()))), INFERENCE) == base  # key order does not matter


@pytest.mark.parametrize(
    "changes", [{"model__width": 9}, {"model__lr": 2e-3}, {"data__batch_size": 64}, {"model__width": 8.0001}]
)
def test_key_changes_with_any_training_parameter(changes: dict[str, Any]) -> None:
    assert training_key(_with(**changes), INFERENCE) != training_key(CONFIG, INFERENCE)


def test_without_inference_keys_the_eval_batch_size_is_a_training_parameter() -> None:
    assert training_key(_with(data__eval_batch_size=1)) != training_key(CONFIG)


def test_training_params_resolves_interpolations_and_leaves_the_input_alone() -> None:
    cfg = OmegaConf.create({"a": 2, "b": "${a}", "data": {"eval_batch_size": 4}})
    assert training_params(cfg, ["data.eval_batch_size", "no.such.key"]) == {"a": 2, "b": 2, "data": {}}
    assert cfg.data.eval_batch_size == 4


def test_the_jobs_own_output_dir_does_not_split_the_key() -> None:
    # ${hydra:runtime.output_dir} (a Lightning-Hydra project's paths.output_dir, default_root_dir) differs in every
    # job: resolved as is, no two jobs shared a key and nothing was reused.
    def job(num: int, width: int = 8) -> dict[str, Any]:
        out = f"/sweeps/x/{num}"
        return {**_with(model__width=width), "paths": {"output_dir": out, "ckpt": f"{out}/ckpt", "data": "/data"}}

    assert training_key(job(1), INFERENCE, job_dir="/sweeps/x/1") == training_key(
        job(10), INFERENCE, job_dir="/sweeps/x/10"
    )
    assert training_key(job(1), INFERENCE) != training_key(job(10), INFERENCE)  # without the job's dir: as before
    assert training_key(job(1, 9), INFERENCE, job_dir="/sweeps/x/1") != training_key(
        job(10), INFERENCE, job_dir="/sweeps/x/10"
    )
    # Only the whole path, at a path boundary: /sweeps/x/1 is not a part of /sweeps/x/10.
    assert training_params(job(10), job_dir="/sweeps/x/1")["paths"]["output_dir"] == "/sweeps/x/10"


def test_the_cache_keys_a_hydra_job_without_its_output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lightning_ecopt import checkpoints

    cache = CheckpointCache(tmp_path, INFERENCE)
    keys = []
    for num in (0, 1):
        monkeypatch.setattr(checkpoints, "_hydra_job_dir", lambda num=num: f"/sweeps/x/{num}")
        keys.append(cache.key({**CONFIG, "trainer": {"default_root_dir": f"/sweeps/x/{num}"}}))
    assert keys[0] == keys[1]


def test_a_plus_key_names_the_key_in_the_constructor_too(tmp_path: Path) -> None:
    # from_hydra strips '+' (as the sweeper's check does); the constructor must too, or its key differs.
    cache = CheckpointCache(tmp_path, ["+data.eval_batch_size", "++inference.precision"])
    assert cache.inference_keys == ("data.eval_batch_size", "inference.precision")
    assert cache.key(_with(data__eval_batch_size=1)) == cache.key(CONFIG)


# -- the sweeper's check ---------------------------------------------------------------------------------------------


def test_check_inference_params_accepts_swept_fixed_and_config_keys() -> None:
    keys = ["data.eval_batch_size", "+inference.compile", "inference.precision"]
    got = check_inference_params(
        keys, ["data.eval_batch_size"], ["inference.compile"], {"inference.precision"}.__contains__
    )
    assert got == ("data.eval_batch_size", "inference.compile", "inference.precision")
    assert check_inference_params(None, [], [], lambda k: False) == ()
    # '++key' (Hydra's add-or-override) names the key too, as a '++key' sweep's parameter does.
    assert check_inference_params(["++data.eval_batch_size"], ["data.eval_batch_size"], [], lambda k: False) == (
        "data.eval_batch_size",
    )


@pytest.mark.parametrize(
    ("keys", "match"),
    [
        ("data.eval_batch_size", "expected a list of dotted config keys"),
        ([1], "expected a list of dotted config keys"),
        (["data.eval_batch_size", "data.eval_batch_size"], "'data.eval_batch_size' is listed twice"),
        (["data.eval_batchsize"], "Did you mean 'data.eval_batch_size'"),
        (["nothing.like.it"], "is not a swept or fixed parameter"),
    ],
)
def test_check_inference_params_errors(keys: Any, match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        check_inference_params(keys, ["data.eval_batch_size", "model.lr"], [], lambda k: False)


def test_a_typo_names_the_closest_key_whether_swept_fixed_or_in_the_config() -> None:
    # conf/train.yaml's list with a typo, under `-m data.eval_repeats=1`: the batch size is a key of the config, neither
    # swept nor fixed, and the suggestion was 'data.eval_repeats' (fixed, a looser match) searched before the config.
    config_keys = ["data.eval_batch_size", "data.eval_repeats", "model.lr"]
    with pytest.raises(EcoptConfigError, match=r"Did you mean 'data\.eval_batch_size'"):
        check_inference_params(
            ["data.eval_bach_size"], ["model.lr"], ["data.eval_repeats"], lambda k: False, config_keys=config_keys
        )
    # A typo of a swept key still names it.
    with pytest.raises(EcoptConfigError, match=r"Did you mean 'model\.lr'"):
        check_inference_params(
            ["model.lt"], ["model.lr"], ["data.eval_repeats"], lambda k: False, config_keys=config_keys
        )


def test_a_config_section_is_no_inference_only_key() -> None:
    # Listing "data" would drop data.batch_size and data.seed from the key: configurations that train differently
    # would share one checkpoint.
    with pytest.raises(EcoptConfigError, match=r"'data' is a config section.*list the leaf keys"):
        check_inference_params(["data"], ["data.eval_batch_size"], [], lambda k: k == "data", lambda k: k == "data")


# -- accounting ------------------------------------------------------------------------------------------------------


def test_a_reusing_trial_reports_zero_training_energy_and_what_it_saved() -> None:
    stored = {"energy/train_j": 40.0, "energy/train_time_s": 8.0, "val/acc": 0.9}
    reused = CachedTraining("k", Path("k.pt"), True, stored).metrics()
    assert reused == {
        "energy/train_j": 0.0,
        "energy/train_time_s": 0.0,
        "val/acc": 0.9,
        "energy/train_reused_j": 40.0,
        "energy/train_reused_time_s": 8.0,
        "checkpoint/reused": 1.0,
    }
    trained = CachedTraining("k", Path("k.pt"), False, stored).metrics()
    assert trained["energy/train_j"] == 40.0
    assert trained["energy/train_reused_j"] == 0.0
    assert trained["checkpoint/reused"] == 0.0


def test_a_reusing_trial_reports_no_carried_part_of_a_fit_it_did_not_run() -> None:
    """The stored fit resumed from a checkpoint: its carried part would read as 80 J inside a train_j of 0."""
    stored = {
        "energy/train_j": 120.0,
        "energy/train_time_s": 12.0,
        "energy/train_carried_j": 80.0,
        "energy/train_carried_time_s": 8.0,
        "energy/train_resumed_from_step": 8.0,
    }
    reused = CachedTraining("k", Path("k.pt"), True, stored).metrics()
    assert reused == {
        "energy/train_j": 0.0,
        "energy/train_time_s": 0.0,
        "energy/train_reused_j": 120.0,
        "energy/train_reused_time_s": 12.0,
        "checkpoint/reused": 1.0,
    }
    trained = CachedTraining("k", Path("k.pt"), False, stored).metrics()
    assert trained["energy/train_carried_j"] == 80.0  # the trial that ran the fit reports it
    assert trained["energy/train_resumed_from_step"] == 8.0


# -- the cache -------------------------------------------------------------------------------------------------------


class Counter:
    def __init__(self, model: nn.Module, joules: float = 12.5) -> None:
        self.model, self.joules, self.calls = model, joules, 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        with torch.no_grad():
            for p in self.model.parameters():
                p.add_(1.0)  # "training" changes the weights
        return {"energy/train_j": self.joules, "val/acc": 0.5, "energy/source": "estimated: test"}


def test_fit_or_load_trains_once_then_loads_the_same_weights(tmp_path: Path) -> None:
    cache = CheckpointCache(tmp_path / "ckpt", INFERENCE)
    torch.manual_seed(0)
    first = nn.Linear(3, 2)
    fit = Counter(first)
    one = cache.fit_or_load(CONFIG, first, fit, trained_by="job0")
    assert (fit.calls, one.reused, one.source, one.trained_by) == (1, False, "estimated: test", "job0")

    torch.manual_seed(1)
    second = nn.Linear(3, 2)
    fit2 = Counter(second)
    two = cache.fit_or_load(_with(data__eval_batch_size=1), second, fit2)
    assert fit2.calls == 0
    assert two.reused
    assert two.key == one.key
    assert two.trained_by == "job0"
    assert torch.equal(second.weight, first.weight)
    assert torch.equal(second.bias, first.bias)
    assert two.metrics()["energy/train_reused_j"] == 12.5
    assert two.metrics()["energy/train_j"] == 0.0

    third = nn.Linear(3, 2)
    fit3 = Counter(third)
    assert not cache.fit_or_load(_with(model__width=16), third, fit3).reused
    assert fit3.calls == 1
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert [f for f in files if f.endswith(".pt")] == sorted(
        [f"{one.key}.pt", f"{cache.key(_with(model__width=16))}.pt"]
    )
    assert not [f for f in files if f.endswith(".tmp")]  # written atomically: no temporary file left


def test_the_file_holds_plain_data_loadable_with_weights_only(tmp_path: Path) -> None:
    cache = CheckpointCache(tmp_path, INFERENCE)
    model = nn.Linear(2, 2)
    done = cache.fit_or_load(CONFIG, model, Counter(model))
    data = torch.load(done.path, weights_only=True)
    assert set(data) == {"format", "key", "state_dict", "metrics", "source", "trained_by"}
    assert data["metrics"] == {"energy/train_j": 12.5, "val/acc": 0.5}  # numbers only; the label apart
    assert set(data["state_dict"]) == {"weight", "bias"}


def test_a_checkpoint_gets_the_mode_of_a_new_file(tmp_path: Path) -> None:
    import os
    import stat

    previous = os.umask(0o022)
    try:
        done = CheckpointCache(tmp_path, INFERENCE).fit_or_load(CONFIG, nn.Linear(2, 2), Counter(nn.Linear(2, 2)))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(done.path.stat().st_mode) == 0o644  # others' jobs on a shared cluster can load it


def test_a_failing_fit_stores_nothing_and_the_next_trial_trains(tmp_path: Path) -> None:
    cache = CheckpointCache(tmp_path, INFERENCE)
    model = nn.Linear(2, 2)

    def broken() -> dict[str, Any]:
        raise MemoryError("out of memory")

    with pytest.raises(MemoryError):
        cache.fit_or_load(CONFIG, model, broken)
    assert not list(tmp_path.glob("*.pt"))
    fit = Counter(model)
    assert not cache.fit_or_load(CONFIG, model, fit).reused
    assert fit.calls == 1


@pytest.mark.parametrize("returned", [None, [("energy/train_j", 1.0)], 12.5])
def test_a_fit_that_returns_no_figures_is_refused_and_stores_nothing(tmp_path: Path, returned: Any) -> None:
    # Stored, its checkpoint would be reused by every later trial of the key with no training figures at all.
    cache = CheckpointCache(tmp_path, INFERENCE)
    with pytest.raises(TypeError, match=r"fit\(\) returned .*return them from fit, e.g. .*trial_metrics\(trainer\)"):
        cache.fit_or_load(CONFIG, nn.Linear(2, 2), lambda: returned)
    assert not list(tmp_path.glob("*.pt"))
    model = nn.Linear(2, 2)
    again = cache.fit_or_load(CONFIG, model, Counter(model))
    assert not again.reused
    assert again.metrics()["energy/train_j"] == 12.5


def test_unreadable_or_mismatched_checkpoints_name_the_file_and_the_fix(tmp_path: Path) -> None:
    cache = CheckpointCache(tmp_path, INFERENCE)
    key = cache.key(CONFIG)
    cache.path(key).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointCacheError, match=r"cannot read .*delete the file to retrain"):
        cache.fit_or_load(CONFIG, nn.Linear(2, 2), Counter(nn.Linear(2, 2)))

    cache.save(key, nn.Linear(2, 2).state_dict())
    with pytest.raises(CheckpointCacheError, match=r"does not fit Linear .*delete"):
        cache.fit_or_load(CONFIG, nn.Linear(3, 2), Counter(nn.Linear(3, 2)))

    torch.save({"format": 1, "key": "other", "state_dict": {}}, cache.path(key))
    with pytest.raises(CheckpointCacheError, match="not a format-1 checkpoint of key"):
        cache.load(key)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"state_dict": [1, 2]}, r"'state_dict' is list, not a mapping of tensors"),
        ({"state_dict": None}, r"'state_dict' is NoneType, not a mapping of tensors"),
        ({"metrics": [1.0]}, r"'metrics' is list, not a mapping of numbers"),
        ({"metrics": {"energy/train_j": "2 J"}}, r"'metrics' is dict, not a mapping of numbers"),
    ],
)
def test_a_hand_made_checkpoint_of_the_right_key_but_wrong_parts_names_the_file(
    tmp_path: Path, changes: dict[str, Any], match: str
) -> None:
    # They raised a bare TypeError from load_state_dict or dict(): no file named, no fix.
    cache = CheckpointCache(tmp_path, INFERENCE)
    key = cache.key(CONFIG)
    good = {"format": 1, "key": key, "state_dict": nn.Linear(2, 2).state_dict(), "metrics": {"energy/train_j": 2.0}}
    torch.save({**good, **changes}, cache.path(key))
    with pytest.raises(CheckpointCacheError, match=rf"{key}\.pt' is not a checkpoint this cache wrote \({match}\); "):
        cache.fit_or_load(CONFIG, nn.Linear(2, 2), Counter(nn.Linear(2, 2)))
    torch.save(good, cache.path(key))
    assert cache.fit_or_load(CONFIG, nn.Linear(2, 2), Counter(nn.Linear(2, 2))).reused


def test_a_pickled_object_is_refused(tmp_path: Path) -> None:
    cache = CheckpointCache(tmp_path)
    key = cache.key(CONFIG)
    torch.save({"format": 1, "key": key, "state_dict": {}, "evil": Path("x")}, cache.path(key))
    with pytest.raises(CheckpointCacheError, match="cannot read"):
        cache.load(key)


def _concurrent_job(directory: str, log: str) -> None:
    cache = CheckpointCache(directory, INFERENCE)
    model = nn.Linear(2, 2)

    def fit() -> dict[str, Any]:
        with open(log, "a") as handle:
            handle.write("trained\n")
        time.sleep(0.5)  # the other job arrives while this one trains
        return {"energy/train_j": 1.0}

    cache.fit_or_load(CONFIG, model, fit)


def test_two_jobs_with_the_same_key_train_once(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    ctx = multiprocessing.get_context("fork")
    jobs = [ctx.Process(target=_concurrent_job, args=(str(tmp_path / "c"), str(log))) for _ in range(2)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=60)
    assert [job.exitcode for job in jobs] == [0, 0]
    assert log.read_text().splitlines() == ["trained"]


def test_from_hydra_outside_a_multirun_is_none() -> None:
    assert CheckpointCache.from_hydra() is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"directory": 3}, TypeError),
        ({"directory": "x", "inference_keys": [1]}, TypeError),
        ({"directory": "x", "inference_keys": None}, TypeError),
        ({"directory": "x", "inference_keys": 3}, TypeError),
    ],
)
def test_constructor_errors(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error, match=r"CheckpointCache\((directory|inference_keys)=.*expected"):
        CheckpointCache(**kwargs)


# -- the sweeper config field ----------------------------------------------------------------------------------------


def _sweeper(tmp_path: Path, inference_params: Any) -> Any:
    from hydra_plugins.ecopt_sweeper.ecopt_sweeper import EcoptSweeper

    sweeper = EcoptSweeper(
        objectives={"acc": "maximize", "energy/test_samples_per_j": "maximize"},
        params={"data.eval_batch_size": "tag(log, int(interval(1, 512)))", "model.lr": "0.01"},
        inference_params=inference_params,
    )
    sweeper.config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(tmp_path)}}, "inference": {"precision": "32-true"}, "data": {}}
    )
    return sweeper


def test_the_sweeper_refuses_a_config_section(tmp_path: Path) -> None:
    with pytest.raises(EcoptConfigError, match="'inference' is a config section"):
        _sweeper(tmp_path, ["inference"]).configure([])


def test_the_sweeper_accepts_swept_fixed_and_config_keys(tmp_path: Path) -> None:
    keys = ["data.eval_batch_size", "model.lr", "inference.precision"]
    space, _ = _sweeper(tmp_path, keys).configure([])
    assert space.names == ("data.eval_batch_size",)
    _sweeper(tmp_path, None).configure([])  # the default: no inference-only keys


@pytest.mark.parametrize(
    ("keys", "match"),
    [
        (["data.eval_batchsize"], r"inference_params: 'data.eval_batchsize' .*Did you mean 'data.eval_batch_size'"),
        ("data.eval_batch_size", "expected a list of dotted config keys"),
        # A key neither swept nor fixed: the closest key of the app's config (no suggestion before).
        (["inference.precisoin"], r"'inference.precisoin' .*Did you mean 'inference.precision'"),
    ],
)
def test_the_sweeper_refuses_bad_inference_params_before_any_trial(tmp_path: Path, keys: Any, match: str) -> None:
    with pytest.raises(EcoptConfigError, match=match):
        _sweeper(tmp_path, keys).configure([])


def test_public_names_and_a_light_import() -> None:
    import subprocess
    import sys

    import lightning_ecopt

    assert lightning_ecopt.CheckpointCache is CheckpointCache
    code = "import sys, lightning_ecopt.checkpoints; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "False"  # the sweeper imports it while checking its config: torch waits for the trial


def _fake_multirun(monkeypatch: pytest.MonkeyPatch, sweep_dir: str, inference_params: list[str], cwd: Path) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    cfg = OmegaConf.create(
        {
            "mode": RunMode.MULTIRUN,
            "sweep": {"dir": sweep_dir},
            "sweeper": {"inference_params": inference_params},
            "runtime": {"cwd": str(cwd), "output_dir": str(cwd / sweep_dir / "3")},
        }
    )
    monkeypatch.setattr(HydraConfig, "initialized", staticmethod(lambda: True))
    monkeypatch.setattr(HydraConfig, "get", staticmethod(lambda: cfg))


def test_from_hydra_takes_a_relative_sweep_dir_from_where_the_app_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hydra.job.chdir=true`` runs each job in its own directory: the cache must still be the sweep's."""
    job_dir = tmp_path / "multirun" / "s" / "3"
    job_dir.mkdir(parents=True)
    monkeypatch.chdir(job_dir)
    _fake_multirun(monkeypatch, "multirun/s", ["data.eval_batch_size"], tmp_path)
    cache = CheckpointCache.from_hydra()
    assert cache is not None
    assert cache.directory == tmp_path / "multirun" / "s" / CACHE_DIRNAME
    model = torch.nn.Linear(2, 1)
    trained = cache.fit_or_load(
        {"model": {"w": 1}, "data": {"eval_batch_size": 4}}, model, lambda: {"energy/train_j": 1.0}
    )
    assert trained.trained_by == str(job_dir)  # the job's output dir, not the directory the app started in


def test_from_hydra_without_inference_params_is_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing could be reused (identical configurations are reused by the sweeper): no checkpoints on disk."""
    _fake_multirun(monkeypatch, str(tmp_path), [], tmp_path)
    assert CheckpointCache.from_hydra() is None


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "No space left on device"),
        RuntimeError(
            "[enforce fail at inline_container.cc] . PytorchStreamWriter failed writing file data/0: file write failed"
        ),
    ],
    ids=["OSError", "torch's writer"],
)
def test_a_checkpoint_that_cannot_be_written_loses_the_reuse_not_the_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    """A full disk while caching: the trial trained and goes on (its OSError failed it, after the training)."""

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(torch, "save", disk_full)
    cache = CheckpointCache(tmp_path, ["data.eval_batch_size"])
    with caplog.at_level(logging.WARNING):
        trained = cache.fit_or_load(CONFIG, nn.Linear(2, 1), lambda: {"energy/train_j": 1.0})
    assert (trained.reused, trained.metrics()["energy/train_j"]) == (False, 1.0)
    assert "cannot write" in caplog.text
    assert str(error) in caplog.text
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []  # no temporary file left


def test_a_cache_folder_that_cannot_be_written_trains_without_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its lock could not be taken, so every trial failed before training (a PermissionError)."""
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    cache = CheckpointCache(blocked / "checkpoints", ["data.eval_batch_size"])
    with caplog.at_level(logging.WARNING):
        trained = cache.fit_or_load(CONFIG, nn.Linear(2, 1), lambda: {"energy/train_j": 1.0})
    assert (trained.reused, trained.metrics()["energy/train_j"]) == (False, 1.0)
    assert "trains without the cache" in caplog.text


def test_a_temporary_file_left_by_a_killed_save_is_removed(tmp_path: Path) -> None:
    cache = CheckpointCache(tmp_path, ["data.eval_batch_size"])
    key = cache.key(CONFIG)
    stale = tmp_path / f".{key}.pt.abc123.tmp"
    stale.write_bytes(b"\0" * 1024)  # what a SIGKILL inside torch.save leaves
    other = tmp_path / ".otherkey.pt.def456.tmp"  # another key's save may be running: left alone
    other.write_bytes(b"")
    cache.fit_or_load(CONFIG, nn.Linear(2, 1), lambda: {"energy/train_j": 1.0})
    assert not stale.exists()
    assert other.exists()


def test_without_a_lock_no_job_takes_another_s_temporary_file_for_a_stale_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)  # Windows: no fcntl, so no lock; another job may be saving
    cache = CheckpointCache(tmp_path, ["data.eval_batch_size"])
    saving = tmp_path / f".{cache.key(CONFIG)}.pt.abc123.tmp"
    saving.write_bytes(b"\0" * 16)
    cache.fit_or_load(CONFIG, nn.Linear(2, 1), lambda: {"energy/train_j": 1.0})
    assert saving.exists()


class _NumpyExtraState(nn.Module):
    """A module whose extra state (a numpy array) ``torch.load(weights_only=True)`` refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.stats: Any = None

    def get_extra_state(self) -> Any:
        return {"mean": self.stats}

    def set_extra_state(self, state: Any) -> None:
        self.stats = state["mean"]


def test_a_state_that_cannot_be_read_back_is_not_cached_and_the_trial_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np

    cache = CheckpointCache(tmp_path, ["data.eval_batch_size"])
    for eval_batch_size in (1, 8):  # before: the second trial failed on the first's unreadable checkpoint
        module = _NumpyExtraState()

        def fit(module: _NumpyExtraState = module) -> dict[str, Any]:
            module.stats = np.array([1.0, 2.0])
            return {"energy/train_j": 5.0}

        with caplog.at_level(logging.WARNING):
            trained = cache.fit_or_load(_with(data__eval_batch_size=eval_batch_size), module, fit)
        assert not trained.reused
        assert trained.metrics()["energy/train_j"] == 5.0
    assert not list(tmp_path.glob("*.pt"))
    assert not list(tmp_path.glob(".*.tmp"))
    message = caplog.records[0].getMessage()
    assert "cannot be read back with weights_only=True (UnpicklingError: WeightsUnpickler error: Unsupported" in message
    assert "\x1b" not in message
    assert "Each trial of this training configuration trains it again" in message


def test_a_swept_config_group_is_no_inference_only_key() -> None:
    # model=choice(small,large) is named 'model', a section of the app's config: listed, small and large would key
    # alike and one evaluate the other's weights.
    with pytest.raises(EcoptConfigError, match=r"'model' is a config group.*list the leaf keys"):
        check_inference_params(["model"], ["model", "data.eval_batch_size"], [], lambda k: True, lambda k: k == "model")


def test_a_list_item_is_no_inference_only_key() -> None:
    with pytest.raises(EcoptConfigError, match=r"'callbacks.0.eval_bs' names an item of a list"):
        check_inference_params(["callbacks.0.eval_bs"], [], [], lambda k: True)


def test_the_job_dir_is_replaced_only_as_a_whole_path() -> None:
    params = {"p": "/s/1/x", "q": "/s/10/x", "r": "/other/s/1/y", "u": "dir=/s/1"}
    assert training_params(params, [], "/s/1") == {
        "p": "${hydra:runtime.output_dir}/x",
        "q": "/s/10/x",
        "r": "/other/s/1/y",  # another path that holds it: job 2's /other/s/2/y differs, and keys apart
        "u": "dir=${hydra:runtime.output_dir}",
    }


@pytest.mark.parametrize("slow", ["save", "read back", "load"])
def test_a_time_limit_that_falls_due_while_caching_stops_the_trial_not_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow: str
) -> None:
    """A large checkpoint on a slow disk: the trial's TrialTimeoutError was turned into a cache error, so the trial ran
    on past its limit (save), or was told to delete a good checkpoint (load) (review)."""
    from lightning_ecopt.exceptions import TrialTimeoutError
    from lightning_ecopt.sweeper.timeout import call_with_timeout

    cache = CheckpointCache(tmp_path, INFERENCE)
    if slow == "load":
        cache.fit_or_load(CONFIG, nn.Linear(3, 2), Counter(nn.Linear(3, 2)))
    original_save, original_load = torch.save, torch.load

    def slow_save(*args: Any, **kwargs: Any) -> None:
        time.sleep(2.0)
        original_save(*args, **kwargs)

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        time.sleep(2.0)
        return original_load(*args, **kwargs)

    monkeypatch.setattr(torch, "save" if slow == "save" else "load", slow_save if slow == "save" else slow_load)
    model = nn.Linear(3, 2)
    with pytest.raises(TrialTimeoutError):
        call_with_timeout(lambda: cache.fit_or_load(CONFIG, model, Counter(model)), 0.3)
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".pt"] == (
        [f"{cache.key(CONFIG)}.pt"] if slow == "load" else []
    )
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
