"""Crash and resume: SIGKILL the sweep process anywhere, rerun the same command, lose nothing; Ctrl-C saves first.

Each run is a real subprocess Hydra sweep of ``apps/fault_app.py``. Kills land at chosen points (inside a trial,
right after Ax generated a batch, in the middle of the experiment's write, between the results file's write and its
rename, between batches) or, in the soak, at random times. After every run, every stored file must parse and every
trial finished before must still be there, unchanged; the last rerun must end with exactly ``n_trials``.
"""

from __future__ import annotations

import random
import signal
import subprocess
from pathlib import Path

import pytest
from fault_checks import (
    SweepState,
    app_command,
    app_env,
    check_final,
    check_nothing_lost,
    interrupt_when,
    read_state,
    run_app,
)

KILLED = -signal.SIGKILL


def _kill_chain(sweep_dir: Path, kills: list[str], n_trials: int, n_initial: int) -> tuple[int, SweepState]:
    """Run the sweep once per kill point, then once clean; check every state on the way. Returns (kills, state)."""
    overrides = (f"hydra.sweeper.n_trials={n_trials}", f"hydra.sweeper.n_initial_trials={n_initial}")
    state = SweepState()
    killed = 0
    for point in kills:
        result = run_app(sweep_dir, *overrides, ECOPT_FAULT_KILL=point)
        assert result.returncode in (KILLED, 0), result.stderr[-3000:]
        killed += result.returncode == KILLED
        after = read_state(sweep_dir)
        check_nothing_lost(state, after)
        state = after
    result = run_app(sweep_dir, *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(state, final)
    check_final(final, n_trials)
    assert not list(sweep_dir.glob(".*.tmp")), "temporary files of torn writes were left behind"
    return killed, final


def test_sigkill_at_each_point_then_resume(tmp_path: Path) -> None:
    """The fast variant: one kill in a trial, in Ax generation, mid experiment write and mid results write."""
    kills = ["launch:2", "ask:2", "save_experiment:2", "write_results:2"]
    killed, state = _kill_chain(tmp_path / "sweep", kills, n_trials=5, n_initial=4)
    assert killed == len(kills)
    assert sum(t["status"] == "abandoned" for t in state.trials.values()) >= 2  # interrupted trials asked again


def test_an_enqueued_trial_killed_mid_run_runs_again_and_no_other_does(tmp_path: Path) -> None:
    """SIGKILL inside the second (enqueued) trial: the rerun runs it again, first, and not the one that finished."""
    sweep_dir = tmp_path / "sweep"
    enqueued = "hydra.sweeper.enqueue_trials=[{x:0.1,y:0.2},{x:0.3}]"  # the second takes y from the app: 0.5
    overrides = ("hydra.sweeper.n_trials=4", "hydra.sweeper.n_initial_trials=3", enqueued)
    killed = run_app(sweep_dir, *overrides, ECOPT_FAULT_KILL="launch:2")
    assert killed.returncode == KILLED, killed.stderr[-3000:]
    before = read_state(sweep_dir)
    assert [before.trials[i]["params"] for i in sorted(before.trials)] == [{"x": 0.1, "y": 0.2}, {"x": 0.3, "y": 0.5}]
    assert before.trials[0]["status"] == "completed"
    result = run_app(sweep_dir, *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(before, final)
    check_final(final, 4)  # also: no configuration evaluated twice
    assert final.trials[1]["status"] == "abandoned"
    assert final.trials[2]["params"] == {"x": 0.3, "y": 0.5}  # asked again, first
    assert final.trials[2]["status"] == "completed"


@pytest.mark.slow
def test_sigkill_soak(tmp_path: Path) -> None:
    """24 kills that land: alternately at a random point of the loop and at a random time; then the sweep finishes.

    A run that ends before its kill (the sweep finished, or the point was not reached) does not count as a kill.
    """
    rng = random.Random(7)
    sweep_dir = tmp_path / "sweep"
    n_trials = 30
    overrides = (f"hydra.sweeper.n_trials={n_trials}", "hydra.sweeper.n_initial_trials=24")
    state = SweepState()
    killed = runs = 0
    while killed < 24 and runs < 80:
        runs += 1
        if runs % 2:
            point = rng.choice(["launch", "ask", "save_experiment", "write_results", "batch_end"])
            result = run_app(sweep_dir, *overrides, ECOPT_FAULT_KILL=f"{point}:{rng.randint(1, 2)}")
        else:
            process = subprocess.Popen(
                app_command(sweep_dir, *overrides),
                cwd=tmp_path,
                env=app_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                process.wait(timeout=rng.uniform(2.0, 10.0))
            except subprocess.TimeoutExpired:
                process.kill()
            _, stderr = process.communicate(timeout=60)
            result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
        assert result.returncode in (KILLED, 0), result.stderr[-3000:]
        killed += result.returncode == KILLED
        after = read_state(sweep_dir)
        check_nothing_lost(state, after)
        state = after
    assert killed >= 24, f"only {killed} kills landed in {runs} runs"
    result = run_app(sweep_dir, *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(state, final)
    check_final(final, n_trials)
    assert not list(sweep_dir.glob(".*.tmp"))


def test_sigint_stops_cleanly_after_saving(tmp_path: Path) -> None:
    """Ctrl-C during a trial: the finished trial and the results file are saved; the trial it stopped is RUNNING."""
    sweep_dir = tmp_path / "sweep"
    result = interrupt_when(sweep_dir, sweep_dir / "1", ECOPT_FAULTS="none,hang")
    assert result.returncode == 130  # a command stopped by Ctrl-C, without a traceback through Hydra and Ax
    assert "Traceback" not in result.stderr
    log = result.stdout + result.stderr  # Hydra logs to stdout
    assert "interrupted after 1 of 5 trials; saved to" in log
    assert "Rerun the same command to resume" in log
    state = read_state(sweep_dir)
    assert state.trials[0]["status"] == "completed"
    assert state.trials[1]["status"] == "running"  # abandoned and asked again on resume
    assert state.results[0]["status"] == "completed"


def test_the_experiment_reaches_the_disk_before_its_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Against power loss, not only process death: the temporary file is fsynced before it replaces the old one."""
    import os
    import warnings

    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    from lightning_ecopt.sweeper import loop
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(f"fsync {Path(os.readlink(f'/proc/self/fd/{fd}')).name}")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append(f"replace {Path(src).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    space = parse_search_space({"x": "interval(0, 1)"}, [])
    settings = SweepSettings(
        parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=1, seed=0, storage=tmp_path / "ax.json"
    )
    with warnings.catch_warnings(), mock_botorch_optimize_context_manager(force=True):
        warnings.simplefilter("ignore")
        loop.ParetoSweep(space, settings, loop.evaluate_each(lambda p: {"a": p["x"], "b": 1 - p["x"]}), []).run()
    saves = [e for e in events if ".ax.json." in e]
    assert saves
    for i, event in enumerate(saves):
        if event.startswith("replace"):
            assert i > 0, saves
            assert saves[i - 1] == "fsync" + event.removeprefix("replace"), saves


def test_a_batch_killed_before_its_jobs_started_fails_no_configuration(tmp_path: Path) -> None:
    """SIGKILL of the sweep twice while joblib was starting a batch: no job of it ran, so none is failed as a crash.

    A configuration the sweep's process died on twice is failed ("as it did in trial N") so that a crashing task does
    not end every rerun. Under a process-based launcher each job records that it started before its task runs: one
    without a record never ran, and the process's death is not its doing (a random SIGKILL, an OOM kill of the sweep
    process, a node's reboot). Before, two kills that landed while loky was starting its workers failed a healthy
    configuration for good.
    """
    sweep_dir = tmp_path / "sweep"
    overrides = (
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.max_batch_size=2",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_initial_trials=4",
    )
    state = SweepState()
    for _ in range(2):
        killed = run_app(sweep_dir, *overrides, ECOPT_FAULT_KILL="launcher:1")
        assert killed.returncode == KILLED, killed.stderr[-3000:]
        after = read_state(sweep_dir)
        check_nothing_lost(state, after)
        state = after
    assert not list(sweep_dir.glob("[0-9]*")), "a job started: the kill did not land before the launch"
    result = run_app(sweep_dir, *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(state, final)
    assert "as it did in trial" not in result.stdout + result.stderr  # the reason of a configuration failed so
    assert [t["status"] for t in final.finished().values()] == ["completed"] * 4
    check_final(final, 4)
