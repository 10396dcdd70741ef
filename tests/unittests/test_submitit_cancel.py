"""A stop mid-batch cancels the batch's unfinished submitit jobs: ``scancel`` on SLURM, SIGINT to a local controller.

SLURM's path runs a fake ``scancel`` first on PATH (a script that records its arguments); the local path's end to end
test is ``tests/faults/test_resume_signals.py``.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn
from omegaconf import OmegaConf

from ecopt_testing import ecopt_sweeper
from hydra_plugins.ecopt_sweeper import _cancel
from hydra_plugins.ecopt_sweeper._job import OUTCOMES_DIR
from lightning_ecopt.exceptions import SweepTerminated
from lightning_ecopt.sweeper import slurm


@pytest.fixture
def scancel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``scancel`` first on PATH: each call's arguments, one line a call, in the file it yields."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "scancel.log"
    bin_dir.mkdir()
    script = bin_dir / "scancel"
    script.write_text(f'#!/bin/sh\necho "$@" >> {shlex.quote(str(calls))}\nexit "${{FAKE_SCANCEL_EXIT:-0}}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize(
    ("env", "facts"),
    [
        (
            {
                "SUBMITIT_EXECUTOR": "slurm",
                "SLURM_JOB_ID": "815",
                "SLURM_ARRAY_JOB_ID": "812",
                "SLURM_ARRAY_TASK_ID": "3",
            },
            {"executor": "slurm", "job_id": "812_3"},
        ),
        ({"SUBMITIT_EXECUTOR": "local", "SUBMITIT_LOCAL_JOB_ID": "4242"}, {"executor": "local", "job_id": "4242"}),
        ({"SUBMITIT_EXECUTOR": "slurm", "SLURM_JOB_ID": "812; rm -rf ~"}, None),
        ({}, None),
    ],
    ids=["slurm-array-task", "local", "no-job-id", "not-a-job"],
)
def test_a_job_says_who_it_is_to_submitit(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], facts: dict[str, str] | None
) -> None:
    pytest.importorskip("submitit")
    for name in [*os.environ]:
        if name.startswith(("SLURM_", "SUBMITIT_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The job's controller is the task's parent; a fixed one, as pytest's own parent may be init (pid 1, which
    # recorded_facts refuses: never a job's controller) when the suite runs detached (nohup, a container's entry point)
    monkeypatch.setattr(_cancel.os, "getppid", lambda: 4321)
    found = _cancel.job_facts()
    if facts is not None and facts["executor"] == "local":
        facts = {**facts, "pid": 4321}
    assert found == facts
    assert _cancel.recorded_facts({"submitit": found}) == facts


@pytest.mark.parametrize(
    "facts",
    [
        {"executor": "local", "job_id": "4242", "pid": 1},  # init: a job whose controller died was reparented
        {"executor": "local", "job_id": "4242", "pid": 0},
        {"executor": "local", "job_id": "4242", "pid": "4321"},
        {"executor": "local", "job_id": "4242"},
        {"executor": "local", "job_id": "42; kill -9 -1", "pid": 4321},
        {"executor": "ssh", "job_id": "4242", "pid": 4321},
    ],
    ids=["pid-1", "pid-0", "pid-text", "no-pid", "bad-job-id", "other-executor"],
)
def test_a_record_that_names_no_controller_to_signal_is_not_read(facts: dict[str, object]) -> None:
    assert _cancel.recorded_facts({"submitit": facts}) is None  # the record of a valid job: the test above


def test_cancel_jobs_runs_one_scancel_with_every_id(scancel: Path) -> None:
    assert slurm.cancel_jobs(["812_1", "812_2"]) is None
    assert _calls(scancel) == ["812_1 812_2"]


def test_cancel_jobs_says_why_not(scancel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SCANCEL_EXIT", "1")
    assert slurm.cancel_jobs(["812_1"]) == "scancel 812_1 exited with 1"
    assert slurm.cancel_jobs(["812; rm -rf ~"]) == "no SLURM job id to cancel (['812; rm -rf ~'])"
    assert _calls(scancel) == ["812_1"]  # the bad id never reached a command line
    monkeypatch.setenv("PATH", str(scancel.parent / "empty"))
    assert slurm.cancel_jobs(["812_1"]) == "scancel is not on this node's PATH"


def test_a_scancel_that_hangs_is_given_up(scancel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stopped sweep has not saved yet: a controller that does not answer must not hold it past SLURM's grace."""
    (scancel.parent / "bin" / "scancel").write_text("#!/bin/sh\nexec sleep 30\n")
    monkeypatch.setattr(slurm, "CANCEL_TIMEOUT_S", 0.5)
    start = time.monotonic()
    why = slurm.cancel_jobs(["812_1"])
    assert why is not None
    assert why.startswith("scancel 812_1 failed (Command '['scancel', '812_1']' timed out after 0.5 seconds)")
    assert time.monotonic() - start < 10


def test_a_queued_job_is_cancelled_by_its_array_s_id_from_a_started_sibling(scancel: Path) -> None:
    """Jobs 5..7 are the array 812's tasks 0..2: 5 finished, 6 runs (recorded), 7 is queued (no record)."""
    records = {5: {"executor": "slurm", "job_id": "812_0"}, 6: {"executor": "slurm", "job_id": "812_1"}}
    done = _cancel.cancel("slurm", [6, 7], 5, records, None, "")
    assert (done.cancelled, done.not_cancelled, done.how) == ([6, 7], [], ["scancel 812_1 812_2"])
    assert _calls(scancel) == ["812_1 812_2"]


def test_a_batch_with_no_job_started_is_cancelled_by_its_job_folders(scancel: Path) -> None:
    """Nothing of the batch ran yet (no record): submitit made each job's folder, named by its id, at submission."""
    done = _cancel.cancel("slurm", [5, 6], 5, {}, ["900_0", "900_1"], "")
    assert (done.cancelled, done.how) == ([5, 6], ["scancel 900_0 900_1"])
    alone = _cancel.cancel("slurm", [9], 9, {}, ["901"], "")  # a batch of one is a plain job, not an array
    assert (alone.cancelled, alone.how) == ([9], ["scancel 901"])
    assert _calls(scancel) == ["900_0 900_1", "901"]


def test_a_job_with_no_id_known_is_named_not_cancelled(scancel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    done = _cancel.cancel("slurm", [5, 6], 5, {}, None, "")
    assert (done.cancelled, done.not_cancelled) == ([], [5, 6])
    assert "no SLURM job id known" in done.why_not[0]
    assert _calls(scancel) == []
    monkeypatch.setenv("FAKE_SCANCEL_EXIT", "1")
    failed = _cancel.cancel("slurm", [6], 5, {6: {"executor": "slurm", "job_id": "812_1"}}, None, "")
    assert (failed.cancelled, failed.not_cancelled, failed.why_not) == ([], [6], ["scancel 812_1 exited with 1"])


# A stand-in for a submitit_local controller started in the foreground: SIGINT raises KeyboardInterrupt, whatever this
# test process inherited (a test run in the background, `cmd &` or nohup, starts its children with SIGINT ignored).
CONTROLLER = "import signal, time; signal.signal(signal.SIGINT, signal.default_int_handler); time.sleep(60)"


def _takes_sigint(pid: int) -> bool:
    """The stand-in runs, and takes SIGINT: in a test run in the background, only once its handler is in place."""
    return _cancel._command_line(pid) is not None and not _cancel._ignores_sigint(pid)


def test_a_local_controller_that_ignores_sigint_is_named_not_said_cancelled(tmp_path: Path) -> None:
    """A sweep started with SIGINT ignored (nohup, ``cmd &`` in a script) starts its controllers so: a SIGINT would end
    nothing, so the job is named as not cancelled, with how to end it, not counted as cancelled."""
    folder = str(tmp_path / ".submitit" / "%j")
    deaf = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"
    controller = subprocess.Popen([sys.executable, "-c", deaf, "submitit.local._local", folder])
    try:
        deadline = time.monotonic() + 30
        while not (_cancel._command_line(controller.pid) and _cancel._ignores_sigint(controller.pid)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        records = {1: {"executor": "local", "job_id": str(controller.pid), "pid": controller.pid}}
        done = _cancel.cancel("local", [1], 1, records, None, folder)
        assert (done.cancelled, done.not_cancelled, done.how) == ([], [1], [])
        assert f"process {controller.pid} ignores SIGINT" in done.why_not[0]
        assert controller.poll() is None
    finally:
        controller.kill()
        controller.wait()


def test_a_local_job_s_process_id_reused_by_another_program_is_not_signalled(tmp_path: Path) -> None:
    """A process id can be reused: only a live submitit controller of this sweep's folder gets the SIGINT."""
    folder = str(tmp_path / ".submitit" / "%j")
    sleep = [sys.executable, "-c", CONTROLLER, "submitit.local._local"]
    other = subprocess.Popen([*sleep, str(tmp_path / "elsewhere" / "%j")])
    ours = subprocess.Popen([*sleep, folder])
    try:
        deadline = time.monotonic() + 30
        while not (_takes_sigint(ours.pid) and _takes_sigint(other.pid)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        records = {
            1: {"executor": "local", "job_id": str(other.pid), "pid": other.pid},
            2: {"executor": "local", "job_id": str(ours.pid), "pid": ours.pid},
        }
        done = _cancel.cancel("local", [1, 2], 1, records, None, folder)
        assert (done.ended, done.cancelled, done.how) == ([1], [2], [f"SIGINT to process {ours.pid}"])
        assert ours.wait(timeout=30) != 0  # KeyboardInterrupt
        assert other.poll() is None  # not ours: left alone
    finally:
        for process in (other, ours):
            process.kill()
            process.wait()


def test_a_local_job_that_had_not_started_its_task_is_cancelled_by_its_folder(tmp_path: Path) -> None:
    """Job 2 had no record yet (its controller was still starting the task): the controller whose folder the launch
    made, claimed by no record, gets the SIGINT; job 1's (recorded) too."""
    folder = str(tmp_path / ".submitit" / "%j")
    sleep = [sys.executable, "-c", CONTROLLER, "submitit.local._local", folder]
    started, waiting = subprocess.Popen(sleep), subprocess.Popen(sleep)
    try:
        deadline = time.monotonic() + 30
        while not (_takes_sigint(started.pid) and _takes_sigint(waiting.pid)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        records = {
            0: {"executor": "local", "job_id": "1", "pid": 1},  # finished: its controller long gone
            1: {"executor": "local", "job_id": str(started.pid), "pid": started.pid},
        }
        new = ["1", str(started.pid), str(waiting.pid)]
        done = _cancel.cancel("local", [1, 2], 0, records, new, folder)
        assert (done.cancelled, done.not_cancelled) == ([1, 2], [])
        assert done.how == [f"SIGINT to process {started.pid}", f"SIGINT to process {waiting.pid}"]
        assert started.wait(timeout=30) != 0
        assert waiting.wait(timeout=30) != 0
    finally:
        for process in (started, waiting):
            process.kill()
            process.wait()


class _StoppedSlurmLauncher:
    """A submitit_slurm launcher (as the sweeper tells one) whose batch array 812 is stopped by a SIGTERM.

    Job 0 finished, job 1 runs, job 2 is still queued (no record), as their records and folders say.
    """

    __module__ = "hydra_plugins.hydra_submitit_launcher.submitit_launcher"
    _EXECUTOR = "slurm"

    def __init__(self, sweep_dir: Path) -> None:
        self.sweep_dir = sweep_dir

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        outcomes = self.sweep_dir / OUTCOMES_DIR
        outcomes.mkdir(parents=True, exist_ok=True)
        for k in range(len(job_overrides)):
            (self.sweep_dir / ".submitit" / f"812_{k}").mkdir(parents=True)
        finished = {"status": "completed", "value": {"f1": 1.0, "f2": 2.0}}
        for number, record in ((initial_job_idx, finished), (initial_job_idx + 1, {"status": "started"})):
            job = {"executor": "slurm", "job_id": f"812_{number - initial_job_idx}"}
            (outcomes / f"{number}.json").write_text(json.dumps({**record, "submitit": job}))
        raise SweepTerminated("SIGTERM")


def _slurm_sweeper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    sweeper = ecopt_sweeper(tmp_path)
    sweeper.config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(tmp_path)}, "launcher": {"submitit_folder": f"{tmp_path}/.submitit/%j"}}}
    )
    sweeper.space, _ = sweeper.configure(["seed=3"])
    sweeper._outcomes = tmp_path / OUTCOMES_DIR
    sweeper.launcher = _StoppedSlurmLauncher(tmp_path)
    monkeypatch.setattr(sweeper, "validate_batch_is_legal", lambda batch: None)
    return sweeper


def test_a_stop_mid_batch_under_submitit_slurm_scancels_the_running_and_the_queued_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, scancel: Path
) -> None:
    """Before 2026-12-06 the sweep saved and exited and its SLURM jobs ran on to their end, unread, beside the
    resume (it only said so); now it cancels them, the one queued too (its id from a started sibling's array)."""
    sweeper = _slurm_sweeper(tmp_path, monkeypatch)
    with caplog.at_level(logging.INFO), pytest.raises(SweepTerminated):
        sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}])
    assert _calls(scancel) == ["812_1 812_2"]  # not job 0: it had finished
    assert (
        "ecopt sweeper: the stop cancelled the submitit jobs 1, 2 of this batch that had not finished (scancel 812_1 "
        "812_2); the resume runs their trials again." in caplog.text
    )


def test_a_stop_whose_scancel_fails_names_the_jobs_and_how_to_cancel_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, scancel: Path
) -> None:
    monkeypatch.setenv("PATH", str(scancel.parent / "empty"))  # no scancel on this node
    sweeper = _slurm_sweeper(tmp_path, monkeypatch)
    with caplog.at_level(logging.INFO), pytest.raises(SweepTerminated):
        sweeper.evaluate([{"x": 0.25}, {"x": 0.5}, {"x": 0.75}])
    assert (
        "ecopt sweeper: the stop could not cancel the submitit jobs 1, 2 of this batch that had not finished (scancel "
        "is not on this node's PATH): unless the stop reached them too (a Ctrl-C in the terminal reaches "
        "submitit_local's), they run on, unread, and the resume runs their trials again beside them. Cancel them "
        f"before rerunning (SLURM: squeue --me, then scancel; submitit_local: each is a process whose id names its "
        f"folder in {tmp_path / '.submitit'})." in caplog.text
    )


class _FinishingSlurmLauncher(_StoppedSlurmLauncher):
    """Its batch ends: one job completed, one failed (a trial's own error)."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
        from hydra.core.utils import JobStatus

        done = JobReturn(status=JobStatus.COMPLETED, _return_value={"f1": 1.0, "f2": 2.0})
        return [done, JobReturn(status=JobStatus.FAILED, _return_value=ValueError("bad trial"))][: len(job_overrides)]


def test_a_batch_that_ends_cancels_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, scancel: Path
) -> None:
    sweeper = _slurm_sweeper(tmp_path, monkeypatch)
    sweeper.launcher = _FinishingSlurmLauncher(tmp_path)
    with caplog.at_level(logging.INFO):
        outcomes = sweeper.evaluate([{"x": 0.25}, {"x": 0.5}])
    assert outcomes[0] == {"f1": 1.0, "f2": 2.0}
    assert _calls(scancel) == []
    assert "cancel" not in caplog.text
