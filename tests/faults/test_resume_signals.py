"""SIGTERM stops a sweep as Ctrl-C does: what finished is saved, the running trial is asked again, none is failed.

``scancel``, a SLURM time limit, ``timeout``, ``docker stop`` and Kubernetes stop a process with SIGTERM. One sweep of
the fault app is stopped so while a trial runs, then resumed; one sweep from Python trains with Lightning, whose own
SIGTERM handler used to turn the signal into a ``SystemExit`` that failed the healthy trial while the sweep went on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from fault_checks import (
    APP,
    ROOT,
    _default_stop_signals,
    app_command,
    app_env,
    check_final,
    check_nothing_lost,
    interrupt_when,
    read_state,
    run_app,
)


def _stopped_cleanly(sweep_dir: Path) -> dict[int, bool]:
    """Per running trial of the saved experiment: whether it carries the sweeper's saved-stop flag."""
    trials = json.loads((sweep_dir / "ax_experiment.json").read_text())["experiment"]["trials"]
    return {
        int(index): bool((trial.get("run_metadata") or {}).get("ecopt_stopped_cleanly"))
        for index, trial in trials.items()
        if trial["status"]["name"] == "RUNNING"
    }


_SLURM_JOB = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "sweep", "SLURM_NTASKS": "1", "SLURM_PROCID": "0"}
"""The variables of a SLURM batch job (its job name not ``bash``: Lightning then takes the run for SLURM's)."""


def _no_slurm() -> dict[str, str]:
    """The environment's SLURM variables emptied (the tests may run inside a SLURM job)."""
    return {name: "" for name in os.environ if name.startswith("SLURM_")}


def _fake_scontrol(tmp_path: Path, status: int = 0) -> tuple[dict[str, str], Path]:
    """An ``scontrol`` first on PATH that logs its arguments and exits with ``status``: the environment and its log.

    A requeue it grants ends the job as SLURM's does: SIGTERM to the process that asked (the sweep), before it answers.
    """
    bin_dir, calls = tmp_path / "bin", tmp_path / "scontrol.log"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    ends_the_job = "kill -TERM $PPID; sleep 0.5\n" if status == 0 else ""
    scontrol.write_text(
        f'#!/bin/sh\necho "$@" >> {shlex.quote(str(calls))}\n{ends_the_job}echo "slurm says no" >&2\nexit {status}\n'
    )
    scontrol.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, calls


@pytest.mark.parametrize(
    ("sig", "said"),
    [
        (signal.SIGTERM, "stopped by SIGTERM"),
        (signal.SIGHUP, "stopped by SIGHUP (its terminal closed)"),
    ],
    ids=["SIGTERM", "SIGHUP"],
)
def test_sigterm_during_a_trial_saves_and_the_rerun_runs_it_again(tmp_path: Path, sig: int, said: str) -> None:
    """SIGTERM (or SIGHUP: an ssh connection that drops) in a trial (basic launcher): saved, exit 128 + the signal
    with how to resume; the rerun completes the budget. Before 2026-12-06 SIGHUP ended the sweep unsaved."""
    sweep_dir = tmp_path / "sweep"
    result = interrupt_when(sweep_dir, sweep_dir / "1", sig=sig, ECOPT_FAULTS="none,hang", **_no_slurm())
    log = result.stdout + result.stderr
    assert result.returncode == 128 + sig, log[-3000:]  # 143, 129; before: killed by the signal (-15, -1), unsaid
    assert "Traceback" not in result.stderr
    assert f"{said} after 1 of 5 trials; saved to" in log
    assert "Rerun the same command to resume" in log
    before = read_state(sweep_dir)
    assert before.trials[0]["status"] == "completed"
    assert before.trials[1]["status"] == "running"
    assert _stopped_cleanly(sweep_dir) == {1: True}  # a stop, not a crash: never blamed on its configuration

    rerun = run_app(sweep_dir)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(before, final)
    check_final(final, 5)
    assert final.trials[1]["status"] == "abandoned"
    assert final.trials[2]["params"] == before.trials[1]["params"]  # the stopped configuration, run again first
    assert final.trials[2]["status"] == "completed"


@pytest.mark.parametrize(
    ("how", "sig", "said"),
    [
        ("dropped", "SIGHUP", "stopped by SIGHUP (its terminal closed)"),
        ("replaced", "SIGTERM", "stopped by SIGTERM"),
    ],
    ids=["dropped-in-a-weakref-callback", "replaced-in-a-finally"],
)
def test_a_stop_that_hydra_s_job_set_up_loses_still_stops_the_sweep_saved(
    tmp_path: Path, how: str, sig: str, said: str
) -> None:
    """A stop signal that arrives while Hydra sets up a job lands in code that loses the stop its handler raises: a
    weakref callback of the last job's logging handlers (printed and dropped), logging.shutdown's ``finally`` (replaced
    by "cannot release un-acquired lock"). Before, the sweep ran on into the job (a CI run of the SIGHUP case timed out
    on the trial that hangs, a second SIGHUP then ignored), or failed it as a lost job and finished the sweep. Now the
    stop is raised again before the job's task starts: saved, the job asked again on resume, no traceback."""
    sweep_dir = tmp_path / "sweep"
    sweep_dir.parent.mkdir(parents=True, exist_ok=True)
    env = app_env(ECOPT_FAULTS="none,hang", ECOPT_FAULT_STOP=f"{how}:{sig}:1", **_no_slurm())
    try:
        result = subprocess.run(
            app_command(sweep_dir),
            cwd=sweep_dir.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=_default_stop_signals,  # SIGHUP not ignored (nohup), or the sweep leaves it alone
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{sig} was lost in Hydra's set-up of job 1: the sweep ran on into the job, which hangs")
    log = result.stdout + result.stderr
    assert result.returncode == 128 + getattr(signal, sig), log[-3000:]  # replaced, before: 0 (trial 1 failed)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert f"{said} after 1 of 5 trials; saved to" in log
    state = read_state(sweep_dir)
    assert [state.trials[i]["status"] for i in sorted(state.trials)] == ["completed", "running"]
    assert _stopped_cleanly(sweep_dir) == {1: True}


@pytest.mark.parametrize(
    ("sig", "said"),
    [
        (signal.SIGTERM, "stopped by SIGTERM"),
        (signal.SIGHUP, "stopped by SIGHUP (its terminal closed)"),
    ],
    ids=["SIGTERM", "SIGHUP"],
)
def test_a_stop_the_trial_s_own_code_swallows_still_stops_the_sweep_while_the_trial_runs_on(
    tmp_path: Path, sig: int, said: str
) -> None:
    """A stop signal landing in a trial's own code (the basic launcher runs it in the sweep's process) whose catch-all
    (``except BaseException``, a library that catches and goes on) swallows the stop: the trial then runs on for an
    hour. Before, the stop acted only once the trial ended: the sweep ran on, and a second SIGHUP was ignored. Now the
    signal is sent again to the sweep's main thread while its stop stays lost: saved within seconds, the trial asked
    again on resume."""
    sweep_dir = tmp_path / "sweep"
    in_step = sweep_dir / "1" / "in_step"
    sent: list[float] = []

    def ready() -> bool:
        if in_step.exists():
            sent.append(time.monotonic())
            return True
        return False

    try:
        result = interrupt_when(sweep_dir, ready, sig=sig, timeout_s=120, ECOPT_FAULTS="none,deaf", **_no_slurm())
    except subprocess.TimeoutExpired:
        pytest.fail(f"{sig!r} swallowed by the trial's code: the sweep ran on with the trial, which hangs")
    took_s = time.monotonic() - sent[0]
    log = result.stdout + result.stderr
    assert result.returncode == 128 + sig, log[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert f"{said} after 1 of 5 trials; saved to" in log
    assert took_s < 60, took_s  # the signal is sent again after 1-2 s; the rest is the save and the exit
    state = read_state(sweep_dir)
    assert [state.trials[i]["status"] for i in sorted(state.trials)] == ["completed", "running"]
    assert _stopped_cleanly(sweep_dir) == {1: True}


def test_a_stop_mid_batch_keeps_the_trials_that_had_finished(tmp_path: Path) -> None:
    """SIGTERM while a joblib batch of 3 runs, 2 of its jobs done: those 2 are saved as completed (each job records
    its outcome), the third is the only one run again on resume. Before, all 3 were abandoned and ran again."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep_dir = tmp_path / "sweep"
    records = sweep_dir / ".ecopt-outcomes"

    def two_finished() -> bool:
        done = 0
        for number in (0, 1):
            with contextlib.suppress(OSError, ValueError):
                done += json.loads((records / f"{number}.json").read_text()).get("status") == "completed"
        return done == 2

    run = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=3", "hydra.sweeper.max_batch_size=3")
    budget = ("hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    result = interrupt_when(sweep_dir, two_finished, *run, *budget, sig=signal.SIGTERM, ECOPT_FAULTS="none,none,slow")
    log = result.stdout + result.stderr
    assert result.returncode == 143, log[-3000:]
    assert "trials [0, 1] of the stopped batch had finished: kept, not run again on resume" in log
    before = read_state(sweep_dir)
    assert [before.trials[i]["status"] for i in range(3)] == ["completed", "completed", "running"]

    rerun = run_app(sweep_dir, *run, *budget)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(before, final)
    check_final(final, 3)
    assert final.trials[3]["params"] == before.trials[2]["params"]  # the one cut short, and only it, ran again
    assert len(final.trials) == 4


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (gone, or a zombie left to its parent's wait)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes() == b""
    return False


def test_a_stop_mid_batch_under_submitit_cancels_its_unfinished_jobs_and_the_resume_runs_them_again(
    tmp_path: Path,
) -> None:
    """SIGTERM while a submitit_local batch of 2 runs, job 0 done: job 1's process is not the sweep's child to stop
    (submitit's jobs outlive the process that submitted them). Before 2026-12-06 it ran on, unread, beside the resume
    (the sweep said only "Rerun the same command to resume", then named it and how to cancel it); now the sweep
    cancels it (SIGINT to its controller, by the id its record names), and the resume runs its trial again."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep_dir = tmp_path / "sweep"
    records = sweep_dir / ".ecopt-outcomes"

    def record(number: int) -> dict[str, Any]:
        with contextlib.suppress(OSError, ValueError):
            return dict(json.loads((records / f"{number}.json").read_text()))
        return {}

    run = ("hydra/launcher=submitit_local", "hydra.launcher.timeout_min=2", "hydra.sweeper.max_batch_size=2")
    budget = ("hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2")
    # A submitit job unpickles the app's task function in a fresh interpreter: the app's own modules importable.
    importable = os.pathsep.join([str(APP.parent), str(ROOT), os.environ.get("PYTHONPATH", "")])
    result = interrupt_when(
        sweep_dir,
        lambda: record(0).get("status") == "completed" and record(1).get("status") == "started",
        *run,
        *budget,
        sig=signal.SIGTERM,
        ECOPT_FAULTS="none,slow",
        PYTHONPATH=importable,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 143, log[-3000:]
    said = re.search(
        r"the stop cancelled the submitit job 1 of this batch that had not finished \(SIGINT to process (\d+)\); the "
        r"resume runs its trial again\.",
        log,
    )
    assert said is not None, log[-3000:]
    assert "could not cancel" not in log
    pid = int(said[1])
    assert (sweep_dir / ".submitit" / str(pid)).is_dir()  # job 1's controller, as its folder names it
    deadline = time.monotonic() + 30
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gone(pid)
    time.sleep(5)  # past the 4 s the slow trial takes: before, it ran on and recorded its trial completed, unread
    assert record(1).get("status") != "completed"
    before = read_state(sweep_dir)
    assert [before.trials[i]["status"] for i in range(2)] == ["completed", "running"]

    rerun = run_app(sweep_dir, *run, *budget, PYTHONPATH=importable)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(before, final)
    check_final(final, 2)
    assert final.trials[2]["params"] == before.trials[1]["params"]  # the cancelled one, run again
    assert final.trials[2]["status"] == "completed"


def test_a_ctrl_c_mid_batch_under_submitit_local_ends_its_jobs_once(tmp_path: Path) -> None:
    """A Ctrl-C in the terminal reaches the whole process group: submitit_local's controllers (and their tasks) share
    the sweep's, and end with it. The sweep waits for them before signalling any (a second SIGINT in the second the
    controller waits between its task's SIGINT and SIGKILL would cut that short), and says they had ended."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep_dir = tmp_path / "sweep"
    records = sweep_dir / ".ecopt-outcomes"

    def status(number: int) -> str | None:
        with contextlib.suppress(OSError, ValueError):
            return str(json.loads((records / f"{number}.json").read_text()).get("status"))
        return None

    run = ("hydra/launcher=submitit_local", "hydra.launcher.timeout_min=2", "hydra.sweeper.max_batch_size=2")
    budget = ("hydra.sweeper.n_trials=2", "hydra.sweeper.n_initial_trials=2")
    importable = os.pathsep.join([str(APP.parent), str(ROOT), os.environ.get("PYTHONPATH", "")])
    process = subprocess.Popen(
        app_command(sweep_dir, *run, *budget),
        cwd=tmp_path,
        env=app_env(ECOPT_FAULTS="none,slow", PYTHONPATH=importable),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_stop_signals,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 300
        while not (status(0) == "completed" and status(1) == "started") and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)  # what a Ctrl-C in the terminal does
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    log = stdout + stderr
    assert process.returncode == 130, log[-3000:]
    assert "job 1 had ended (a Ctrl-C in the terminal reaches submitit_local's jobs too)." in log, log[-3000:]
    assert "SIGINT to process" not in log
    assert "could not cancel" not in log
    # The controllers' own KeyboardInterrupt tracebacks (submitit's, in the terminal they share) aside, none.
    tracebacks = stderr.split("Traceback (most recent call last):")[1:]
    assert all("submitit/local/" in text and "ecopt" not in text for text in tracebacks), stderr[-3000:]


_LIGHTNING_SWEEP = """
import os
import signal
import sys

import torch
from lightning.pytorch import LightningModule, Trainer
from torch.utils.data import DataLoader, TensorDataset

from lightning_ecopt.exceptions import SweepTerminated, stop_status
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

STOP_SIGNAL = getattr(signal, os.environ.get("STOP_SIGNAL", "SIGTERM"))
STOP_IN = int(os.environ.get("STOP_IN", "1"))  # the trial (0, 1, ...) whose fit gets the signal


class Model(LightningModule):
    def __init__(self, stop: bool) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.stop = stop

    def training_step(self, batch, index):
        if self.stop and index == 2:  # the scheduler's signal, mid-fit
            os.kill(os.getpid(), STOP_SIGNAL)
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


calls = []


def task(params):
    calls.append(params)
    trainer = Trainer(
        max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", default_root_dir=os.getcwd(),
    )
    trainer.fit(Model(stop=len(calls) == STOP_IN + 1), DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=1))
    return {"a": params["x"], "b": 1.0 - params["x"]}


space = parse_search_space({"x": "interval(0, 1)"}, [])
settings = SweepSettings(
    parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=3, n_initial_trials=3, seed=0,
    storage=sys.argv[1],
)
try:
    ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
except SweepTerminated as stop:  # not Lightning's SystemExit(1), which its fit turns a stop into
    sys.exit(stop_status(stop))
"""


def _run_sweep_script(
    tmp_path: Path, source: str, storage: Path, *, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a script in ``tmp_path`` with this checkout importable, ``storage`` its argument, ``env``
    over the environment."""
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, str(script), str(storage)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **popen,
    )


def test_sigterm_during_a_lightning_fit_stops_the_sweep_and_fails_no_trial(tmp_path: Path) -> None:
    """Lightning's SIGTERM handler raised ``SystemExit`` at the next step: the trial failed and the sweep went on."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    result = _run_sweep_script(tmp_path, _LIGHTNING_SWEEP, storage)
    log = result.stdout + result.stderr
    assert result.returncode == 143, log[-3000:]  # before: 0, the sweep ran on past the SIGTERM; then 1 (SystemExit)
    assert "stopped by SIGTERM after 1 of 3 trials; saved to" in log
    state = read_state(storage.parent)
    assert [state.trials[i]["status"] for i in sorted(state.trials)] == ["completed", "running"]  # none failed
    assert _stopped_cleanly(storage.parent) == {1: True}


_HUNG_UP_SWEEP = """
import os
import signal
import sys

from lightning_ecopt.exceptions import SweepTerminated
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

calls = []


def task(params):
    calls.append(params)
    if len(calls) == 2:  # the terminal closes under the second trial
        os.kill(os.getpid(), signal.SIGHUP)
    return {"a": params["x"], "b": 1.0 - params["x"]}


space = parse_search_space({"x": "interval(0, 1)"}, [])
settings = SweepSettings(
    parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=3, n_initial_trials=3, seed=0,
    storage=sys.argv[1],
)
try:
    ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
except SweepTerminated as stop:
    os.kill(os.getpid(), signal.SIGHUP)  # the shell's own hang-up, resent to its jobs: the caller's exit goes on
    sys.exit(128 + getattr(signal, str(stop)))  # 129: the stop names its signal
"""


def test_a_closed_terminal_s_sighup_stops_the_sweep_saved_and_a_second_one_does_not_end_the_process(
    tmp_path: Path,
) -> None:
    """A dropped ssh connection or a closed terminal window sends SIGHUP (the kernel's, then the shell's own to each
    job): before 2026-12-06 the first ended the sweep unsaved, its running trial then counted as a crash (twice on one
    configuration: failed for good). Now it stops as SIGTERM does, and a second SIGHUP is ignored."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    result = _run_sweep_script(
        tmp_path,
        _HUNG_UP_SWEEP,
        storage,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),  # not nohup's SIG_IGN, if pytest runs so
    )
    log = result.stdout + result.stderr
    assert result.returncode == 129, log[-3000:]  # 128 + SIGHUP; before: -1, killed by it
    assert "stopped by SIGHUP (its terminal closed) after 1 of 3 trials; saved to" in log
    state = read_state(storage.parent)
    assert [state.trials[i]["status"] for i in sorted(state.trials)] == ["completed", "running"]
    assert _stopped_cleanly(storage.parent) == {1: True}  # a stop, not a crash: never blamed on its configuration


_TWICE_SWEEP = """
import os
import signal
import sys
import time

from lightning_ecopt.exceptions import SweepTerminated, stop_status
from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

STOP_SIGNAL = getattr(signal, os.environ["STOP_SIGNAL"])
calls = []


def task(params):
    calls.append(params)
    if len(calls) == 2:
        try:
            os.kill(os.getpid(), STOP_SIGNAL)
            time.sleep(60)
        except SweepTerminated:  # the task's own cleanup, during which the same signal comes again
            os.kill(os.getpid(), STOP_SIGNAL)
            time.sleep(2.5)  # longer than the sweep's interval for sending a lost stop's signal again
            open("cleaned_up", "w").close()
            raise
    return {"a": params["x"], "b": 1.0 - params["x"]}


space = parse_search_space({"x": "interval(0, 1)"}, [])
settings = SweepSettings(
    parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=3, n_initial_trials=3, seed=0,
    storage=sys.argv[1],
)
try:
    ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
except SweepTerminated as stop:
    sys.exit(stop_status(stop))
"""


@pytest.mark.parametrize(
    ("sig", "status", "cleaned_up"),
    [("SIGTERM", -signal.SIGTERM, False), ("SIGHUP", 128 + signal.SIGHUP, True)],
    ids=["SIGTERM-ends-the-process", "SIGHUP-ignored"],
)
def test_a_second_stop_signal_while_the_first_is_handled_ends_the_process_or_is_ignored(
    tmp_path: Path, sig: str, status: int, cleaned_up: bool
) -> None:
    """The stop handler now stays in place until the sweep receives the stop (to raise it again where it was lost),
    and does what the old disposition did for a second signal of the same kind: a second SIGTERM, the user's "now",
    ends the process at once; a second SIGHUP (a closed terminal sends several) is ignored, the cleanup goes on."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    result = _run_sweep_script(
        tmp_path,
        _TWICE_SWEEP,
        storage,
        env={"STOP_SIGNAL": sig},
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
    )
    log = result.stdout + result.stderr
    assert result.returncode == status, log[-3000:]
    assert (tmp_path / "cleaned_up").exists() is cleaned_up
    if cleaned_up:
        assert "stopped by SIGHUP (its terminal closed) after 1 of 3 trials; saved to" in log


def test_slurm_s_sigusr1_saves_the_sweep_requeues_its_job_and_the_requeued_job_resumes(tmp_path: Path) -> None:
    """A sweep run as a SLURM batch job with ``#SBATCH --signal=USR1@90`` (Lightning's SLURM recipe): SLURM's notice
    that the time is nearly up ended the sweep unsaved (SIGUSR1's default), its running trial then a crash suspect.
    Now it saves, requeues the job as Lightning's auto-requeue does, and the requeued job (the same command) resumes."""
    sweep_dir = tmp_path / "sweep"
    path, calls = _fake_scontrol(tmp_path)
    result = interrupt_when(
        sweep_dir, sweep_dir / "1", sig=signal.SIGUSR1, ECOPT_FAULTS="none,hang", **_SLURM_JOB, **path
    )
    log = result.stdout + result.stderr
    assert result.returncode == 138, log[-3000:]  # 128 + SIGUSR1; before: -10, killed by it
    assert "stopped by SIGUSR1 (SLURM's notice that the job's time is nearly up) after 1 of 5 trials; saved to" in log
    assert "Requeueing SLURM job 4242 (scontrol requeue): the requeued job resumes the sweep." in log
    assert calls.read_text() == "requeue 4242\n"  # once, after the save; its SIGTERM changed neither line nor status
    before = read_state(sweep_dir)
    assert [before.trials[i]["status"] for i in sorted(before.trials)] == ["completed", "running"]
    assert _stopped_cleanly(sweep_dir) == {1: True}

    rerun = run_app(sweep_dir, **_SLURM_JOB, **path)  # the requeued job
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    final = read_state(sweep_dir)
    check_nothing_lost(before, final)
    check_final(final, 5)
    assert final.trials[2]["params"] == before.trials[1]["params"]


@pytest.mark.parametrize(
    ("stop_in", "said", "requeued"),
    [
        (1, "Requeueing SLURM job 4242 (scontrol requeue): the requeued job resumes the sweep.", True),
        (
            0,
            "SLURM job 4242 not requeued: no trial finished in this job, so the requeued job would stop at the same "
            "trial; give the job more time (sbatch --time) and run the sweep again with the same storage to resume.",
            False,
        ),
    ],
    ids=["after-a-trial", "no-trial-finished"],
)
def test_sigusr1_in_a_lightning_fit_under_slurm_is_the_sweep_s_to_handle(
    tmp_path: Path, stop_in: int, said: str, requeued: bool
) -> None:
    """Inside a trial's fit Lightning keeps the sweep's SIGUSR1 handler (it installs its SLURM requeue only where none
    is): the job is requeued once, by the sweep after its save, and no trial saves an HPC checkpoint. A job in which
    no trial finished is not requeued: it would be cut short at the same trial, again and again."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    path, calls = _fake_scontrol(tmp_path)
    env = {**_no_slurm(), **_SLURM_JOB, **path, "STOP_SIGNAL": "SIGUSR1", "STOP_IN": str(stop_in)}
    result = _run_sweep_script(
        tmp_path, _LIGHTNING_SWEEP, storage, env=env, preexec_fn=lambda: signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    )
    log = result.stdout + result.stderr
    assert result.returncode == 138, log[-3000:]
    assert f"trials; saved to {storage}. {said}" in log
    assert (calls.read_text() if calls.exists() else "") == ("requeue 4242\n" if requeued else "")
    assert not list(tmp_path.rglob("hpc_ckpt_*.ckpt"))  # Lightning's own requeue did not run
    state = read_state(storage.parent)
    assert [state.trials[i]["status"] for i in sorted(state.trials)] == ["completed"] * stop_in + ["running"]


def test_a_requeue_that_slurm_refuses_says_so_and_how_to_resume(tmp_path: Path) -> None:
    """An ``salloc`` allocation, or a job with ``--no-requeue``: scontrol's refusal is named beside how to resume."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    path, calls = _fake_scontrol(tmp_path, status=1)
    env = {**_no_slurm(), **_SLURM_JOB, **path, "STOP_SIGNAL": "SIGUSR1"}
    result = _run_sweep_script(
        tmp_path, _LIGHTNING_SWEEP, storage, env=env, preexec_fn=lambda: signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    )
    log = result.stdout + result.stderr
    assert result.returncode == 138, log[-3000:]
    assert (
        "SLURM job 4242 not requeued (scontrol requeue 4242 exited with 1: slurm says no). Run the sweep again with "
        "the same storage to resume." in log
    )
    assert calls.read_text() == "requeue 4242\n"


_FAULTHANDLER_SWEEP = """
import faulthandler
import os
import signal
import sys

from lightning_ecopt.sweeper.loop import ParetoSweep
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space

dumps = open("stacks.txt", "w")
faulthandler.register(signal.SIGUSR1, file=dumps)  # `kill -USR1 <pid>`: where is it?


def task(params):
    os.kill(os.getpid(), signal.SIGUSR1)
    return {"a": params["x"], "b": 1.0 - params["x"]}


space = parse_search_space({"x": "interval(0, 1)"}, [])
settings = SweepSettings(
    parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=2, n_initial_trials=2, seed=0,
    storage=sys.argv[1],
)
print("finished", ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run().n_finished)
os.kill(os.getpid(), signal.SIGUSR1)
print("alive after the sweep")
"""


def test_outside_slurm_sigusr1_stays_faulthandler_s_stack_dump(tmp_path: Path) -> None:
    """``faulthandler.register(SIGUSR1)`` installs its handler in C, where ``signal.getsignal`` reads SIG_DFL: the
    sweep took the signal over (a stack dump asked for stopped the sweep) and left it killing the process after."""
    storage = tmp_path / "sweep" / "ax_experiment.json"
    result = _run_sweep_script(tmp_path, _FAULTHANDLER_SWEEP, storage, env=_no_slurm())
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "finished 2\nalive after the sweep" in result.stdout
    assert (tmp_path / "stacks.txt").read_text().count("in task") == 2  # each trial's dump


_WORKER_FIT = """
import os
import signal
import sys

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch.utils.data import DataLoader, TensorDataset

from hydra_plugins.ecopt_sweeper._job import _leave_sigusr1_to_the_sweep


class Model(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, index):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Seen(Callback):
    def on_train_start(self, trainer, pl_module):
        handler = signal.getsignal(signal.SIGUSR1)
        print("in fit:", "ignored" if handler == signal.SIG_IGN else type(handler).__name__)


_leave_sigusr1_to_the_sweep((os.getppid(), "4242"))  # a joblib worker of a sweep that is SLURM job 4242
trainer = Trainer(
    max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    accelerator="cpu", callbacks=[Seen()],
)
trainer.fit(Model(), DataLoader(TensorDataset(torch.randn(4, 2)), batch_size=2))
"""


@pytest.mark.parametrize(("job", "lightning_s"), [("4242", False), ("77", True)], ids=["sweep-s-job", "own-job"])
def test_a_worker_of_a_slurm_sweep_leaves_sigusr1_to_the_sweep_so_lightning_installs_no_requeue(
    tmp_path: Path, job: str, lightning_s: bool
) -> None:
    """Under joblib the workers got SLURM's SIGUSR1 too: Lightning's requeue in each trial's fit saved an
    ``hpc_ckpt`` (restored by another trial on resume) and requeued the job before the sweep had saved. A worker of
    the sweep's own job ignores it, and Lightning stays out; a process in a job of its own (submitit's) is left as
    it was, Lightning's requeue then its to use."""
    env = {**_no_slurm(), **_SLURM_JOB, "SLURM_JOB_ID": job}
    result = _run_sweep_script(
        tmp_path,
        _WORKER_FIT,
        tmp_path / "unused",
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGUSR1, signal.SIG_DFL),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = next(line for line in result.stdout.splitlines() if line.startswith("in fit:"))
    assert ("_HandlersCompose" in seen) is lightning_s, seen
    assert (seen == "in fit: ignored") is not lightning_s, seen
