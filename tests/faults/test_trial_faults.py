"""Trial faults through real Hydra sweeps: each ends as a failed trial with its reason, and the sweep goes on.

One basic-launcher sweep injects every fault of the task contract in turn (exception, NaN, inf, missing objective,
wrong type, ``torch.OutOfMemoryError``, ``TrialFailure`` carrying energy, a hang stopped by ``trial_timeout_s``)
between healthy trials, until one failure too many stops it past ``max_failure_rate`` with a summary. One joblib
sweep kills a worker process and hangs another; its healthy measured trials are tagged ``shared_counters``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_checks import APP, ROOT, read_state, run_app

from lightning_ecopt.exceptions import TrialTimeoutError
from lightning_ecopt.sweeper.timeout import TimedTask, call_with_timeout, check_timeout

# Hydra job number -> (fault, expected words in the failure reason); "none" completes.
FAULTS = [
    ("none", None),
    ("raise", "the job raised RuntimeError: injected fault"),
    ("none", None),
    ("nan", "'f1'"),
    ("none", None),
    ("inf", "'f2'"),
    ("none", None),
    ("missing", "'f2'"),
    ("none", None),
    ("wrongtype", "'f1'"),
    ("none", None),
    ("oom", "the job raised OutOfMemoryError: CUDA out of memory"),
    ("none", None),
    ("oom_energy", "out of memory in fit (injected)"),
    ("none", None),
    ("hang", "timed out: the trial ran longer than trial_timeout_s=2 s"),
    ("raise", "the job raised RuntimeError: injected fault"),  # 9 of 17 failed > 0.5: the sweep stops here
]


def test_every_trial_fault_fails_its_trial_until_the_failure_rate_stops_the_sweep(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_app(
        sweep_dir,
        "hydra.sweeper.n_trials=20",
        "hydra.sweeper.n_initial_trials=20",
        "hydra.sweeper.trial_timeout_s=2",
        "hydra.sweeper.max_failure_rate=0.5",
        ECOPT_FAULTS=",".join(fault for fault, _ in FAULTS),
    )
    assert result.returncode != 0
    # The message alone, first on stderr: no traceback through Hydra and Ax before it.
    assert "ParetoSweep: 9 of 17 trials failed, more than max_failure_rate=0.5 allows" in result.stderr
    assert "Traceback" not in result.stderr
    assert (
        "Fix the task (reasons below) or raise max_failure_rate; rerun the same command to resume; the failed "
        "configurations are not evaluated again unless retry_failed is set (hydra.sweeper.retry_failed=true"
    ) in result.stderr
    state = read_state(sweep_dir)
    assert sorted(state.results) == list(range(len(FAULTS)))  # saved before stopping
    for index, (fault, words) in enumerate(FAULTS):
        row = state.results[index]
        if words is None:
            assert row["status"] == "completed", (fault, row)
            continue
        assert row["status"] == "failed", (fault, row)
        assert words in row["reason"], (fault, row["reason"])
        assert f"trial {index} " in result.stderr  # listed in the summary
    oom = state.results[FAULTS.index(("oom_energy", "out of memory in fit (injected)"))]
    assert oom["metrics"]["energy/train_j"] > 0  # the energy a failed trial spent is kept
    assert oom["energy_source"] == "estimated: test"


def test_a_rerun_with_retry_failed_evaluates_the_failed_configuration_again(tmp_path: Path) -> None:
    """Review: "fix the task; rerun the same command to resume" never ran a failed configuration again."""
    sweep_dir = tmp_path / "sweep"
    budget = ("hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3", "hydra.sweeper.max_failure_rate=0")
    first = run_app(sweep_dir, *budget, ECOPT_FAULTS="raise")
    assert first.returncode != 0
    assert "the failed configurations are not evaluated again unless retry_failed is set" in first.stderr
    second = run_app(sweep_dir, *budget, "hydra.sweeper.retry_failed=true")  # the task fixed: no fault now
    assert second.returncode == 0, second.stderr[-3000:]
    rows = read_state(sweep_dir).trials
    assert [rows[i]["status"] for i in range(3)] == ["failed", "completed", "completed"]
    assert rows[1]["params"] == rows[0]["params"]  # trial 0's configuration, run again first, in job dir 1
    assert (sweep_dir / "1" / ".hydra").is_dir()
    assert "1 failed configuration to evaluate again first (retry_failed)" in second.stdout + second.stderr


def test_joblib_worker_killed_and_hung(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_app(
        sweep_dir,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.max_batch_size=2",
        "hydra.sweeper.n_trials=8",
        "hydra.sweeper.n_initial_trials=8",
        "hydra.sweeper.trial_timeout_s=6",
        "hydra.sweeper.max_failure_rate=1",
        "energy_source='measured: fake/counters'",
        ECOPT_FAULTS="none,none,kill_late,none,hang,none,kill,slow",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_state(sweep_dir).results
    statuses = [rows[i]["status"] for i in range(8)]
    # joblib loses the whole batch when a worker dies. Job 3 had finished and recorded its outcome: it keeps it (it
    # failed too, for good, before, then ran again). Job 2 runs again alone, and fails only when it kills its worker
    # by itself. The hung job 4 loses nothing either: it times out inside its worker.
    assert statuses == ["completed", "completed", "failed", "completed", "failed", "completed", "failed", "completed"]
    assert "the launcher lost the job, run alone (its worker died or hung): TerminatedWorkerError" in rows[2]["reason"]
    log = result.stdout + result.stderr
    assert "jobs 2..3: the launcher lost the whole batch of 2 jobs; 1 of them had finished and keep" in log
    assert "running jobs [2] again alone" in log
    assert not (sweep_dir / ".ecopt-outcomes").exists()  # read, then deleted
    assert "timed out: the trial ran longer than trial_timeout_s=6 s" in rows[4]["reason"]  # in a loky worker
    assert [rows[i]["shared_counters"] for i in (0, 1, 3, 5)] == [True] * 4  # two trials, one machine
    # Job 7 was still running when job 6 killed its worker: run again alone, its counters saw no other trial.
    assert "running each of them again alone" in log
    assert rows[7]["shared_counters"] is False


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local"])
def test_a_trial_that_catches_the_interrupt_and_returns_is_recorded_timed_out_with_its_figures(
    tmp_path: Path, launcher: str
) -> None:
    """A task's ``except Exception:`` around its test loop caught the limit's interrupt, and the trial returned the
    figures of a loop cut short: recorded completed, a measurement like any other (honest-numbers review). The
    limit fell due in the process that ran the trial (the sweep's, a loky worker, a submitit job), and is known there
    only."""
    sweep_dir = tmp_path / "sweep"
    chosen = {
        "basic": (),
        "joblib": ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.max_batch_size=2"),
        # SLURM's launcher, run as local processes (submitit's own test executor): the path a cluster sweep takes.
        "submitit_local": ("hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"),
    }[launcher]
    # A submitit job unpickles the app's task function in a fresh interpreter: the app's own modules importable.
    importable = os.pathsep.join([str(APP.parent), str(ROOT), os.environ.get("PYTHONPATH", "")])
    result = run_app(
        sweep_dir,
        *chosen,
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_initial_trials=2",
        "hydra.sweeper.trial_timeout_s=1",
        "hydra.sweeper.max_failure_rate=1",
        ECOPT_FAULTS="swallow,none",
        PYTHONPATH=importable,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_state(sweep_dir).results
    assert [rows[i]["status"] for i in range(2)] == ["failed", "completed"]  # the other trial is not touched
    assert rows[0]["reason"].startswith(
        "timed out: the trial ran longer than trial_timeout_s=1 s and was interrupted, caught the interrupt and "
        "returned: its figures may be of a loop the interrupt cut short"
    )
    assert set(rows[0]["metrics"]) == {"f1", "f2", "energy/train_j"}  # what it returned, kept (the ledger's)
    assert rows[0]["energy_source"] == "estimated: test"


def test_a_launcher_that_cannot_start_jobs_stops_the_sweep_and_loses_no_trial(tmp_path: Path) -> None:
    """submitit's SLURM launcher off a cluster: it raises before any job starts. Those trials ran nowhere: the sweep
    stops with the launcher's error (it failed them, as lost jobs, until max_failure_rate stopped it with "fix the
    task"), and the rerun under a working launcher runs them."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep_dir = tmp_path / "sweep"
    budget = ("hydra.sweeper.n_trials=3", "hydra.sweeper.n_initial_trials=3")
    refused = run_app(sweep_dir, "hydra/launcher=submitit_slurm", *budget)
    assert refused.returncode != 0
    assert "the launcher (SlurmLauncher) did not start job 0 (RuntimeError: Could not detect" in refused.stderr
    assert "Traceback" not in refused.stderr
    state = read_state(sweep_dir)
    assert state.finished() == {}
    resumed = run_app(sweep_dir, *budget)
    assert resumed.returncode == 0, resumed.stderr
    state = read_state(sweep_dir)
    assert [t["status"] for t in state.finished().values()] == ["completed"] * 3
    assert "another launcher" not in resumed.stdout + resumed.stderr  # nothing ran under the first one


# -- the timeout itself, in-process ----------------------------------------------------------------------------------


def test_call_with_timeout_interrupts_and_restores_the_signal_handler() -> None:
    import signal
    import time

    before = signal.getsignal(signal.SIGALRM)
    timer = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout's, when it runs with its signal method
    with pytest.raises(TrialTimeoutError, match=r"trial_timeout_s=0.2 s"):
        call_with_timeout(time.sleep, 0.2, 30)
    assert signal.getsignal(signal.SIGALRM) == before
    left, interval = signal.getitimer(signal.ITIMER_REAL)
    assert (left > 0, interval) == (timer[0] > 0, timer[1])  # the caller's timer is back, or none if none ran
    assert left <= timer[0]
    assert TimedTask(lambda cfg: cfg + 1, 5.0)(1) == 2


def test_call_with_timeout_puts_back_a_timer_the_caller_had_running() -> None:
    """A caller's own deadline (a ``SIGALRM`` timer) survives a trial run under ``trial_timeout_s``."""
    import signal
    import time

    fired: list[int] = []
    outer = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout's, when it runs with its signal method
    before = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert call_with_timeout(lambda: 1, 5.0) == 1
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < left <= 30.0  # before: 0, the caller's deadline was gone

        signal.setitimer(signal.ITIMER_REAL, 0.05)  # falls due while the trial runs: fires once it has returned
        call_with_timeout(time.sleep, 5.0, 0.2)
        time.sleep(0.1)
        assert fired == [signal.SIGALRM]
    finally:
        signal.signal(signal.SIGALRM, before)
        signal.setitimer(signal.ITIMER_REAL, *outer)


def test_timeout_error_survives_pickling() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(TrialTimeoutError(3.0, {"energy/train_j": 1.5})))
    assert (err.timeout_s, err.metrics, str(err)) == (3.0, {"energy/train_j": 1.5}, str(TrialTimeoutError(3.0)))


def test_a_timer_that_fires_as_the_trial_returns_leaves_the_callers_handler_and_timer() -> None:
    """The limit falling due just after ``fn`` returned used to raise inside the clean-up, before it put back the
    caller's handler and timer (one call in three with limits of a few microseconds)."""
    import contextlib
    import random
    import signal

    outer = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout's, when it runs with its signal method

    def mine(signum: int, frame: object) -> None:
        pass

    before = signal.signal(signal.SIGALRM, mine)
    lost = 0
    try:
        for _ in range(300):
            signal.setitimer(signal.ITIMER_REAL, 100.0)
            with contextlib.suppress(TrialTimeoutError):  # it fell due inside the trial: a timeout, as it should be
                call_with_timeout(lambda: 1, random.uniform(1e-6, 3e-5))
            left, _ = signal.getitimer(signal.ITIMER_REAL)
            lost += signal.getsignal(signal.SIGALRM) is not mine or left < 50.0
    finally:
        signal.signal(signal.SIGALRM, before)
        signal.setitimer(signal.ITIMER_REAL, *outer)
    assert lost == 0


@pytest.mark.parametrize("value", [0, -1, float("inf"), "10", True, 1e12])
def test_bad_timeouts_are_refused(value: object) -> None:
    # 1e12 s: setitimer refuses it (past time_t), which failed every trial and left the trial's handler installed.
    with pytest.raises(ValueError, match=r"expected seconds > 0 and at most 1e\+09 \(e.g. 3600\), or None"):
        check_timeout(value)


def test_a_limit_that_falls_due_during_an_import_waits_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raised inside the module's code, the timeout left it half made in sys.modules: every later trial of the process
    that imported it failed ("partially initialized module", review: a first torch.compile imports inductor)."""
    import importlib
    import sys
    import time

    (tmp_path / "slow_to_import.py").write_text("import time\ntime.sleep(0.4)\nREADY = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_to_import", raising=False)

    def trial() -> None:
        importlib.import_module("slow_to_import")
        time.sleep(30)  # the limit falls due here, once the import is done

    start = time.monotonic()
    with pytest.raises(TrialTimeoutError):
        call_with_timeout(trial, 0.1)
    assert 0.4 <= time.monotonic() - start < 5
    assert sys.modules["slow_to_import"].READY  # whole: a later trial's import finds it made


def test_an_import_that_hangs_or_another_threads_import_does_not_hold_off_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first deferral waited for any import of any thread, forever (review): only the trial's own import defers
    the limit, and for a grace only."""
    import importlib
    import sys
    import threading
    import time

    import lightning_ecopt.sweeper.timeout as timeout_module

    monkeypatch.setattr(timeout_module, "_grace_s", lambda timeout_s: 0.5)
    (tmp_path / "hangs_at_import.py").write_text("import threading\nthreading.Event().wait(20)\n")
    (tmp_path / "helper_hangs.py").write_text("import threading\nthreading.Event().wait(20)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("hangs_at_import", "helper_hangs"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    start = time.monotonic()
    with pytest.raises(TrialTimeoutError):
        call_with_timeout(importlib.import_module, 0.2, "hangs_at_import")
    assert 0.6 <= time.monotonic() - start < 3  # the limit, then the grace

    threading.Thread(target=importlib.import_module, args=("helper_hangs",), daemon=True).start()
    time.sleep(0.1)
    start = time.monotonic()
    with pytest.raises(TrialTimeoutError):
        call_with_timeout(time.sleep, 0.2, 20)
    assert time.monotonic() - start < 0.5  # another thread's import is no reason to wait


def test_an_interrupt_the_trial_swallows_falls_due_again_and_a_wrapped_one_is_still_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broad ``except Exception`` in the trial (a FLOP count's fallback) swallowed the one interrupt and the trial
    ran on unlimited; torch.compile's InductorError (or a task's TrialFailure) from it was recorded under its own name
    (review)."""
    import time

    import lightning_ecopt.sweeper.timeout as timeout_module
    from lightning_ecopt.exceptions import TrialFailure

    monkeypatch.setattr(timeout_module, "_grace_s", lambda timeout_s: 0.3)

    def swallows() -> str:
        try:  # noqa: SIM105 - the broad except-and-go-on of a library's fallback is the point
            time.sleep(20)
        except Exception:
            pass  # "the model cannot take it": tries the next way
        time.sleep(20)
        return "completed"

    start = time.monotonic()
    with pytest.raises(TrialTimeoutError):
        call_with_timeout(swallows, 0.2)
    assert time.monotonic() - start < 2

    def wraps() -> None:
        try:
            time.sleep(20)
        except TrialTimeoutError as err:
            raise TrialFailure(f"InductorError: {err}", metrics={"energy/train_j": 4.0}) from err

    with pytest.raises(TrialTimeoutError) as caught:
        call_with_timeout(wraps, 0.2)
    assert str(caught.value).startswith("timed out: ")
    assert caught.value.metrics == {"energy/train_j": 4.0}  # what the wrapper carried is kept

    def fails() -> None:
        raise TrialFailure("diverged")

    with pytest.raises(TrialFailure, match="diverged"):  # no limit fell due: the task's own failure
        call_with_timeout(fails, 5.0)


def test_the_interrupt_that_falls_due_again_spares_the_timeouts_own_cleanup_and_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Review of the re-armed interrupt: it cut the cleanup of the first one (Lightning's on_exception: the figures
    lost), it interrupted an import after a swallowed one (a module half made), and a sweep run by a script loaded as a
    module waited the grace at every limit ("still importing")."""
    import importlib.util
    import logging
    import sys
    import time

    import lightning_ecopt.sweeper.timeout as timeout_module

    monkeypatch.setattr(timeout_module, "_grace_s", lambda timeout_s: 0.3)
    cleaned: list[bool] = []

    def slow_cleanup() -> None:
        try:
            time.sleep(20)
        except TrialTimeoutError:
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:  # on_exception hooks, a logger's finalize: longer than the grace
                pass
            cleaned.append(True)
            raise

    with pytest.raises(TrialTimeoutError):
        call_with_timeout(slow_cleanup, 0.2)
    assert cleaned == [True]

    (tmp_path / "slow_after_swallow.py").write_text("import time\ntime.sleep(0.45)\nREADY = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_after_swallow", raising=False)

    def swallows_then_imports() -> None:
        try:  # noqa: SIM105 - a library's fallback
            time.sleep(20)
        except Exception:
            pass
        importlib.import_module("slow_after_swallow")
        time.sleep(20)

    with pytest.raises(TrialTimeoutError):
        call_with_timeout(swallows_then_imports, 0.2)
    assert sys.modules["slow_after_swallow"].READY

    script = tmp_path / "sweep_script.py"
    script.write_text(
        "import time\nfrom lightning_ecopt.sweeper.timeout import call_with_timeout\n"
        "start = time.monotonic()\ntry:\n    call_with_timeout(time.sleep, 0.2, 20)\nexcept Exception as err:\n"
        "    CAUGHT = (type(err).__name__, time.monotonic() - start)\n"
    )
    spec = importlib.util.spec_from_file_location("sweep_script", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        spec.loader.exec_module(module)  # the whole sweep inside an import: not the trial's
    name, seconds = module.CAUGHT
    assert (name, seconds < 0.25 + 0.2) == ("TrialTimeoutError", True)
    assert "still importing" not in caplog.text


def test_the_longest_limit_the_message_names_is_taken_and_a_longer_one_refused() -> None:
    """ "At most 1e+09" s, as the message says: 1e9 itself arms the timer; one second more is refused up front."""
    assert check_timeout(1e9) == 1e9
    assert call_with_timeout(lambda: "done", 1e9) == "done"
    with pytest.raises(ValueError, match=r"at most 1e\+09"):
        check_timeout(1e9 + 1)


def test_a_trial_that_catches_the_interrupt_and_returns_times_out_with_what_it_returned() -> None:
    """``except Exception:`` around ``trainer.test(...)`` caught the limit's interrupt and the task returned the
    figures of a loop cut short: they were taken as a completed measurement. A trial whose limit never fell due, and
    one that catches the interrupt and re-raises it, are as before."""
    import pickle
    import time

    returned = {"test/acc": 0.31, "energy/test_j": (4.0, 0.2), "energy/source": "measured: zeus/nvml"}

    def catches_and_returns() -> dict[str, object]:
        try:  # noqa: SIM105 - a task's broad except around its test loop
            time.sleep(20)
        except Exception:
            pass
        return returned

    with pytest.raises(TrialTimeoutError) as caught:
        call_with_timeout(catches_and_returns, 0.2)
    err = caught.value
    assert err.returned
    assert str(err).startswith(
        "timed out: the trial ran longer than trial_timeout_s=0.2 s and was interrupted, caught the interrupt and "
        "returned: its figures may be of a loop the interrupt cut short (kept with the failed trial, never given to "
        "the optimiser); where the task catches exceptions, re-raise this one"
    )
    assert err.metrics == {"test/acc": 0.31, "energy/test_j": 4.0, "energy/source": "measured: zeus/nvml"}
    assert isinstance(err.__cause__, TrialTimeoutError)  # the interrupt it caught: its traceback shows where
    copy = pickle.loads(pickle.dumps(err))  # as a joblib worker or a submitit job carries it back
    assert (str(copy), copy.metrics, copy.returned) == (str(err), err.metrics, True)

    with pytest.raises(TrialTimeoutError) as caught:  # values in order name no metric: the reason only
        call_with_timeout(lambda: (catches_and_returns(), (0.31, 4.0))[1], 0.2)
    assert (caught.value.returned, caught.value.metrics) == (True, {})

    assert call_with_timeout(lambda: returned, 5.0) is returned  # the limit never fell due: unaffected

    def catches_and_reraises() -> None:
        try:
            time.sleep(20)
        except Exception:
            raise

    with pytest.raises(TrialTimeoutError) as caught:
        call_with_timeout(catches_and_reraises, 0.2)
    assert (str(caught.value), caught.value.returned) == (str(TrialTimeoutError(0.2)), False)


def test_a_trial_that_swallows_the_interrupt_and_then_fails_on_its_own_reports_its_own_failure() -> None:
    """Only an error that carries the limit's interrupt is recorded as a timeout: the trial's own error, raised after
    a library's fallback swallowed the interrupt, is the reason the user needs to see."""
    import time

    def swallows_then_fails() -> None:
        try:  # noqa: SIM105 - a library's fallback
            time.sleep(20)
        except Exception:
            pass
        raise ValueError("diverged after the fallback")

    with pytest.raises(ValueError, match="diverged after the fallback"):
        call_with_timeout(swallows_then_fails, 0.2)


def test_a_process_without_a_timer_of_its_own_has_none_left_after_its_trials() -> None:
    """The basic launcher runs trials in the sweep process, which has no timer: one left running would kill it with
    SIGALRM (its default action) after the trial. In a subprocess: every test here runs under pytest-timeout's timer."""
    import subprocess
    import sys

    code = (
        "import signal, time\n"
        "from lightning_ecopt.exceptions import TrialTimeoutError\n"
        "from lightning_ecopt.sweeper.timeout import call_with_timeout\n"
        "assert call_with_timeout(lambda: 1, 5.0) == 1\n"
        "try:\n    call_with_timeout(time.sleep, 0.1, 20)\nexcept TrialTimeoutError:\n    pass\n"
        "print(signal.getitimer(signal.ITIMER_REAL))\n"
        "time.sleep(1.5)\n"
        "print('sweep went on')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.splitlines()) == (0, ["(0.0, 0.0)", "sweep went on"]), out.stderr


def test_an_import_interrupted_past_its_grace_is_logged_with_how_long_it_overran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The warning that a module may be left half made says how long past the limit the import was cut."""
    import importlib
    import logging
    import re
    import sys

    import lightning_ecopt.sweeper.timeout as timeout_module

    monkeypatch.setattr(timeout_module, "_grace_s", lambda timeout_s: 1.0)
    (tmp_path / "hangs_in_import.py").write_text("import threading\nthreading.Event().wait(20)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hangs_in_import", raising=False)
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"), pytest.raises(TrialTimeoutError):
        call_with_timeout(importlib.import_module, 0.2, "hangs_in_import")
    (message,) = [r.getMessage() for r in caplog.records if "still importing" in r.getMessage()]
    found = re.search(r"trial_timeout_s=0.2: the trial was still importing a module (\d+) s after its limit", message)
    assert found is not None, message
    assert 1 <= int(found[1]) <= 2  # the grace, give or take a poll


def test_a_limit_that_fell_due_during_an_import_interrupts_the_trial_right_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deferred while a module is made, the limit falls due once the import is done, not a second later."""
    import importlib
    import sys
    import time

    (tmp_path / "slow_then_done.py").write_text("import time\ntime.sleep(0.3)\nDONE = time.monotonic()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_then_done", raising=False)

    def trial() -> None:
        importlib.import_module("slow_then_done")
        time.sleep(30)

    with pytest.raises(TrialTimeoutError):
        call_with_timeout(trial, 0.1)
    assert time.monotonic() - sys.modules["slow_then_done"].DONE < 0.5


class _Held:
    """What a trial's frames hold (a Trainer, a model, a DataLoader iterator): in a cycle, as a Trainer and its
    module are, so that only a collection frees it once nothing refers to it."""

    def __init__(self) -> None:
        self.itself = self


@pytest.fixture
def collect_at_once(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Forget when Python's full collection last ran after a failed trial, so that the next failure runs one."""
    from lightning_ecopt.sweeper import timeout

    def forget() -> None:
        monkeypatch.setattr(timeout, "_last_collection", (-math.inf, 0.0))

    forget()
    return forget


def test_a_failed_trial_s_frames_are_let_go_before_the_next_trial(collect_at_once: Callable[[], None]) -> None:
    """A trial's exception is kept (its reason; the launcher's return value), and its traceback held every frame of
    the trial with its locals: a fit that timed out mid-epoch kept its DataLoader's workers (and on a GPU its model's
    memory) through every later trial of the process, to the sweep's end. Through ParetoSweep.from_function and
    through the Hydra job's wrapper."""
    import sys
    import weakref

    from hydra_plugins.ecopt_sweeper._job import _PicklableFailures
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    held: list[weakref.ref[_Held]] = []
    seen_alive: list[bool] = []

    def task(params: dict[str, float]) -> dict[str, float]:
        if not held:
            trainer = _Held()
            held.append(weakref.ref(trainer))
            raise RuntimeError("diverged mid-fit")
        seen_alive.append(held[0]() is not None)
        return {"a": params["x"], "b": 1.0 - params["x"]}

    settings = SweepSettings(
        parse_objectives({"a": "minimize", "b": "minimize"}, None),
        n_trials=2,
        n_initial_trials=2,
        max_batch_size=2,  # one batch: its first trial's exception is still in the batch's results
        seed=0,
        max_failure_rate=1.0,
    )
    space = parse_search_space({"x": "interval(0, 1)"}, [])
    result = ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
    assert [t.status for t in result.trials] == ["failed", "completed"]
    assert seen_alive == [False]  # before: [True]

    def job(cfg: object) -> None:
        trainer = _Held()
        held[:] = [weakref.ref(trainer)]
        sys.exit(3)  # a failure too, as the exceptions are

    for failing in (task, job):
        held.clear()
        collect_at_once()
        with pytest.raises(Exception) as info:  # noqa: PT011 - the failure the launcher gets back, kept here
            _PicklableFailures(failing)({"x": 0.5})
        assert info.value is not None  # kept, as the launcher keeps it
        assert held[0]() is None  # yet what its frames held is gone


def test_a_dataloader_a_timeout_cut_short_leaves_no_worker_to_the_next_trial(collect_at_once: object) -> None:
    """A fit timed out mid-epoch, its DataLoader (num_workers=2, not persistent) in the middle of an iteration: its
    worker processes ran on, through the later trials to the sweep's end."""
    import multiprocessing
    import time

    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, Dataset

    from lightning_ecopt.sweeper.loop import evaluate_each

    class Slow(Dataset):  # type: ignore[type-arg]
        def __len__(self) -> int:
            return 64

        def __getitem__(self, index: int) -> object:
            time.sleep(0.2)
            return torch.zeros(2)

    def fit(params: dict[str, float]) -> dict[str, float]:
        if params["x"] == 0.0:
            for _ in DataLoader(Slow(), batch_size=4, num_workers=2):
                pass
        return {"workers": float(len(multiprocessing.active_children()))}

    out = evaluate_each(lambda params: call_with_timeout(fit, 1.0, params))([{"x": 0.0}, {"x": 1.0}])
    assert isinstance(out[0], TrialTimeoutError)
    assert out[1] == {"workers": 0.0}  # before: 2


def test_failures_in_quick_succession_are_collected_at_most_a_tenth_of_the_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full collection after every failed trial (about 0.2 s with torch, Lightning and Ax imported) made a sweep of
    40 trials that failed at once 9.7 s long instead of 1.3 s: one runs where the time since the last is at least ten
    times its cost, so the first failure collects and one right after it does not."""
    from lightning_ecopt.sweeper import timeout

    runs: list[int] = []
    monkeypatch.setattr(timeout.gc, "collect", lambda *args: runs.append(1) or 0)  # timeout.gc is gc: restored
    clock = iter([100.0, 100.5, 100.6, 100.7, 106.0, 106.5])  # start, end of each call that collects
    monkeypatch.setattr(timeout, "_clock", lambda: next(clock))
    monkeypatch.setattr(timeout, "_last_collection", (-math.inf, 0.0))
    for _ in range(4):
        timeout.release_failed_trial(RuntimeError("failed"))
    # 100.0-100.5: collects (0.5 s); 100.6, 100.7: within 5 s of it, skipped; 106.0: collects again
    assert len(runs) == 2


def test_a_finished_trial_s_trainer_is_let_go_before_the_next_trial(collect_at_once: Callable[[], None]) -> None:
    """A trial that returned left its Trainer and model (a cycle, in the oldest generation after the fit's
    collections) to Python's next full collection: a leak audit of Lightning trials found up to 7 finished trials'
    Trainers, modules and tensors alive at a trial's start (on a GPU, their memory). Through ParetoSweep.from_function
    and through the Hydra job's wrapper, trial after trial."""
    import gc
    import weakref

    from hydra_plugins.ecopt_sweeper._job import _PicklableFailures
    from lightning_ecopt.sweeper.loop import ParetoSweep
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    held: list[weakref.ref[_Held]] = []
    alive_at_start: list[int] = []

    def task(params: dict[str, float]) -> dict[str, float]:
        alive_at_start.append(sum(ref() is not None for ref in held))
        trainer = _Held()
        held.append(weakref.ref(trainer))
        gc.collect()  # the fit's collections move its Trainer to the oldest generation while it runs
        collect_at_once()  # each trial as long as a real one, against the last collection's cost
        return {"a": params["x"], "b": 1.0 - params["x"]}

    settings = SweepSettings(
        parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=5, n_initial_trials=5, seed=0
    )
    space = parse_search_space({"x": "interval(0, 1)"}, [])
    result = ParetoSweep.from_function(space, settings, task, on_batch_end=[]).run()
    assert [t.status for t in result.trials] == ["completed"] * 5
    assert alive_at_start == [0, 0, 0, 0, 0]  # before: [0, 1, 1, 1, 1]

    held.clear()
    alive_at_start.clear()
    job = _PicklableFailures(lambda cfg: task({"x": 0.5}))
    for _ in range(3):
        job({"x": 0.5})
    assert alive_at_start == [0, 0, 0]  # before: [0, 1, 1]


def test_a_finished_trial_is_collected_only_if_it_lasted_ten_times_the_last_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trial of microseconds (a synthetic task) builds nothing large: a collection after each would make such a
    sweep a tenth slower or more; one of at least ten times the last collection's cost pays at most a tenth."""
    from lightning_ecopt.sweeper import timeout

    runs: list[int] = []

    def collect(*args: object) -> int:
        runs.append(1)
        return 0

    monkeypatch.setattr(timeout.gc, "collect", collect)  # timeout.gc is gc: restored
    monkeypatch.setattr(timeout, "_last_collection", (-math.inf, 0.5))  # the last one took 0.5 s
    timeout.release_finished_trial(0.001)
    assert runs == []
    timeout.release_finished_trial(5.0)
    assert runs == [1]
