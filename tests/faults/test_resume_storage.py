"""A storage write that fails mid-sweep (a full disk) stops it with a message; the rerun resumes and loses nothing.

Also: a trial stopped by ``trial_timeout_s`` keeps the sweeper's own reason, as under any launcher.
"""

from __future__ import annotations

import errno
import json
import shlex
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from fault_checks import run_app

from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.results import SweepResult
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space


def _sweep(storage: Path | None, n_trials: int, fn: Any, **settings: Any) -> ParetoSweep:
    """A Sobol-only sweep of two linear objectives over ``x`` (no model fit: fast)."""
    space = parse_search_space({"x": "interval(0, 1)"}, [])
    objectives = parse_objectives({"a": "minimize", "b": "minimize"}, None)
    config = SweepSettings(
        objectives, n_trials=n_trials, n_initial_trials=n_trials, seed=0, storage=storage, **settings
    )
    return ParetoSweep.from_function(space, config, fn, on_batch_end=[])


def _run(sweep: ParetoSweep) -> SweepResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sweep.run()


def _linear(params: dict[str, Any]) -> dict[str, float]:
    return {"a": params["x"], "b": 1.0 - params["x"]}


def test_a_full_disk_mid_sweep_stops_it_with_how_to_resume_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC on the fourth save: the sweep stops with a message, the last good save stays whole, the rerun ends."""
    from lightning_ecopt.sweeper.snapshot import ExperimentSnapshot

    storage = tmp_path / "sweep" / "ax_experiment.json"
    real_save = ExperimentSnapshot.write
    saves = 0

    def save(self: ExperimentSnapshot, client: Any, path: str) -> None:
        nonlocal saves
        saves += 1
        if saves == 4:  # the save after the second trial: the first one's is on disk
            Path(path).write_text('{"experiment": ')  # a partial write, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(self, client, path)

    monkeypatch.setattr(ExperimentSnapshot, "write", save)
    with pytest.raises(EcoptConfigError) as caught:  # before: a bare OSError traceback
        _run(_sweep(storage, 4, _linear))
    message = str(caught.value)
    assert f"cannot write {storage} (OSError: No space left on device), so the sweep stopped" in message
    assert "run the sweep again with the same storage to resume" in message  # from Python
    saved = json.loads(storage.read_text())["experiment"]["trials"]  # whole, and holds the first trial finished
    assert saved["0"]["status"]["name"] == "COMPLETED"
    assert saved["1"]["status"]["name"] == "RUNNING"  # finished, but not saved: runs again
    assert not list(storage.parent.glob(".*.tmp"))

    monkeypatch.setattr(ExperimentSnapshot, "write", real_save)
    result = _run(_sweep(storage, 4, _linear))
    assert result.n_finished == 4
    by_index = {t.trial_index: t for t in result.trials}
    assert by_index[0].status == "completed"
    assert by_index[1].status == "abandoned"
    assert by_index[2].params == by_index[1].params  # the unsaved trial's configuration, run again first
    assert by_index[2].status == "completed"


def test_an_unwritable_results_file_mid_sweep_stops_it_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The results file's write fails (a folder made read-only): a message naming that file, and that nothing is lost
    (the experiment was saved first: its trials do not run again, as the storage file's message would say)."""
    from lightning_ecopt.sweeper import loop

    storage = tmp_path / "sweep" / "ax_experiment.json"
    calls = 0

    def write_results(path: Path, result: SweepResult, settings: SweepSettings | None = None) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(loop, "write_results", write_results)
    with pytest.raises(EcoptConfigError, match=r"cannot write .*optimization_results\.yaml \(PermissionError: ") as e:
        _run(_sweep(storage, 3, _linear))
    assert "The Ax experiment is saved" in str(e.value)
    assert "run again on resume" not in str(e.value)


def test_a_timed_out_trial_keeps_the_sweeper_s_own_reason(tmp_path: Path) -> None:
    """``timed out: ...`` as docs/sweeper.md and docs/reliability.md give it, not ``the job raised ...``."""

    def slow_second(params: dict[str, Any]) -> dict[str, float]:
        if params["x"] == sweep_params[1]:
            time.sleep(30)
        return _linear(params)

    first = _run(_sweep(None, 2, _linear))
    sweep_params = [t.params["x"] for t in first.trials]  # the seeded Sobol points, the same in the next sweep
    result = _run(_sweep(None, 2, slow_second, trial_timeout_s=0.5, max_failure_rate=1.0))
    failed = [t for t in result.trials if t.status == "failed"]
    assert [t.reason for t in failed] == [
        "timed out: the trial ran longer than trial_timeout_s=0.5 s and was interrupted"
    ]  # before: "the job raised TrialTimeoutError: timed out: ..."


@pytest.mark.parametrize(
    "overrides",
    [
        ["hydra.sweep.dir=dated_${now:%H-%M-%S-%f}"],
        # Review: the time through another key was not seen, and the stop said "rerun the same command" alone.
        ["+run_id=${now:%H-%M-%S-%f}", "hydra.sweep.dir=dated_${run_id}"],
        # User-shapes audit: a dir with a space was named unquoted, which the shell splits when pasted.
        ["hydra.sweep.dir=dated runs/${now:%H-%M-%S-%f}"],
    ],
)
def test_a_sweep_dir_holding_the_time_says_how_to_resume(tmp_path: Path, overrides: list[str]) -> None:
    """Hydra's default sweep dir holds the time: "rerun the same command" would start a new sweep elsewhere."""
    sweep_dir = tmp_path / "sweep"
    result = run_app(
        sweep_dir,
        *overrides,
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_initial_trials=4",
        "hydra.sweeper.max_failure_rate=0",
        ECOPT_FAULTS="raise",
    )
    assert result.returncode != 0  # stopped by its failure
    log = result.stdout + result.stderr
    (dated,) = [*tmp_path.glob("dated_*"), *tmp_path.glob("dated runs/*")]
    written = overrides[-1].partition("=")[2]
    assert f"hydra.sweep.dir={written} holds the time, so rerunning this command starts a new sweep" in log
    # The stop's own message says it, last on screen; it said "rerun the same command to resume" below the hint.
    rerun = shlex.quote(f"hydra.sweep.dir={dated}")
    assert f"Fix the task (reasons below) or raise max_failure_rate; rerun it with {rerun} to " in log
    assert "rerun the same command" not in log


def test_a_second_sweep_with_its_storage_in_a_subfolder_of_a_running_sweep_dir_is_refused(tmp_path: Path) -> None:
    """Its storage file's folder has a lock of its own, but the job dirs, multirun.yaml and job records are the sweep
    dir's: the sweeper holds that dir's lock too."""
    fcntl = pytest.importorskip("fcntl")
    from lightning_ecopt.sweeper.loop import SWEEP_LOCK_NAME

    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    with open(sweep_dir / SWEEP_LOCK_NAME, "a+") as running:  # another process's sweep in that dir
        fcntl.flock(running.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        refused = run_app(sweep_dir, "hydra.sweeper.storage=${hydra.sweep.dir}/sub/b.json")
    assert refused.returncode != 0
    assert "is running the sweep in" in refused.stderr
    assert not (sweep_dir / "sub" / "b.json").exists()
    assert not (sweep_dir / "0").exists()  # no job dir written
