"""Windows and macOS code paths, simulated on Linux: the sweep lock, file replacement, the messages that name them.

Each test switches the module under test to the other platform's path (a module-level flag, or its lock), never
``os.name`` for the whole process: ``pathlib`` reads it too.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import lightning_ecopt.sweeper.results as results_module
import lightning_ecopt.sweeper.storage as storage_module
from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.results import atomic_write_text, replace_file
from lightning_ecopt.sweeper.storage import SWEEP_LOCK_NAME, check_storage, sweep_lock

fcntl = pytest.importorskip("fcntl")  # the fake msvcrt below locks with POSIX record locks

_FAKE_MSVCRT = '''
import errno, fcntl, os

class FakeMsvcrt:
    """Windows's ``msvcrt.locking`` (a region from the file position, exclusive), over POSIX record locks."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self):
        self.regions = []

    def locking(self, fd, mode, nbytes):
        start = os.lseek(fd, 0, os.SEEK_CUR)
        self.regions.append((mode, start, nbytes))
        if mode == self.LK_UNLCK:
            fcntl.lockf(fd, fcntl.LOCK_UN, nbytes, start)
            return
        # Windows locks a read-only handle too; a POSIX write lock needs write access, a read lock stands in.
        read_only = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
        try:
            fcntl.lockf(fd, (fcntl.LOCK_SH if read_only else fcntl.LOCK_EX) | fcntl.LOCK_NB, nbytes, start)
        except BlockingIOError:
            raise PermissionError(errno.EACCES, "Permission denied") from None  # as msvcrt raises it
'''

_namespace: dict[str, Any] = {}
exec(_FAKE_MSVCRT, _namespace)
FakeMsvcrt = _namespace["FakeMsvcrt"]


def _on_windows_locks(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the sweep lock Windows's (``msvcrt.locking``, faked); return the fake, which records what it locked."""
    fake = FakeMsvcrt()
    monkeypatch.setattr(storage_module, "_LOCKS", storage_module._RegionLock(fake))
    return fake


def _hold_in_child(folder: Path) -> subprocess.Popen[str]:
    """A process that holds ``folder``'s sweep lock as a Windows sweep does, until its stdin closes."""
    code = _FAKE_MSVCRT + textwrap.dedent(
        """
        import sys
        from pathlib import Path
        import lightning_ecopt.sweeper.storage as storage
        storage._LOCKS = storage._RegionLock(FakeMsvcrt())
        with storage.sweep_lock(Path(sys.argv[1]) / "ax.json"):
            print("held", flush=True)
            sys.stdin.read()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_sweep_on_a_windows_sweep_dir_is_refused_naming_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no fcntl, and the lock was skipped there: two sweeps on one dir overwrote each other's results."""
    _on_windows_locks(monkeypatch)
    child = _hold_in_child(tmp_path)
    try:
        running = rf"process {child.pid} on {socket.gethostname()} \(since .*\) is running the sweep in "
        with pytest.raises(EcoptConfigError, match=running), sweep_lock(tmp_path / "ax.json"):
            pass
        # check_storage's refusal of the folder (here: results of a sweep without its experiment) says it runs.
        (tmp_path / "optimization_results.yaml").write_text("name: ecopt\ntrials: [{}]\n")
        with pytest.raises(EcoptConfigError, match=running):
            check_storage(tmp_path / "ax.json", {}, None)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    with sweep_lock(tmp_path / "ax.json"):  # the first sweep ended: its lock went with it
        pass


def test_the_windows_lock_leaves_the_holders_text_readable_and_the_file_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows's region locks are mandatory: a lock over the holder's text would hide who holds it from the refusal."""
    fake = _on_windows_locks(monkeypatch)
    lock = tmp_path / SWEEP_LOCK_NAME
    with sweep_lock(tmp_path / "ax.json"):
        text = lock.read_text()
        assert text.startswith(f"process {os.getpid()} on {socket.gethostname()} (since ")
        (mode, start, nbytes), *_ = fake.regions
        assert (mode, nbytes) == (FakeMsvcrt.LK_NBLCK, 1)
        assert start > len(text.encode())
    assert lock.stat().st_size == len(text.encode())  # the region past the end is locked, not written
    assert [region[0] for region in fake.regions] == [FakeMsvcrt.LK_NBLCK, FakeMsvcrt.LK_UNLCK]


def test_a_platform_without_any_lock_runs_unlocked_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The docs promised a warning where the sweep runs unlocked; the platform without fcntl ran silently."""
    monkeypatch.setattr(storage_module, "_LOCKS", None)
    monkeypatch.setattr(storage_module, "_UNLOCKABLE", set())
    with (
        caplog.at_level(logging.WARNING, logger="lightning_ecopt"),
        sweep_lock(tmp_path / "ax.json"),
        sweep_lock(tmp_path / "ax.json"),
    ):
        pass
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"ecopt: cannot lock {tmp_path / SWEEP_LOCK_NAME} ({sys.platform} has neither fcntl nor msvcrt); the sweep "
        f"runs without a lock, so a second sweep started on {tmp_path} would not be refused: start one at a time "
        f"there."
    ]


def _held_open_for(monkeypatch: pytest.MonkeyPatch, refusals: int) -> list[str]:
    """``os.replace`` as Windows answers while another process holds a file open: refused ``refusals`` times a file.

    Returns the destinations of every try, in order.
    """
    real = os.replace
    tries: list[str] = []

    def replace(src: str, dst: str) -> None:
        tries.append(Path(dst).name)
        if tries.count(Path(dst).name) <= refusals:
            raise PermissionError(errno.EACCES, "Access is denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return tries


def test_a_file_a_reader_holds_for_a_moment_is_replaced_once_it_lets_go_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ecopt report`` or a virus scanner reading the results file made the sweep's save fail on Windows."""
    monkeypatch.setattr(results_module, "_SHARING_VIOLATIONS", True)
    tries = _held_open_for(monkeypatch, refusals=2)
    path = tmp_path / "optimization_results.yaml"
    path.write_text("old\n")
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert tries == [path.name] * 3
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_a_file_held_open_for_good_on_windows_fails_naming_the_platform_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results_module, "_SHARING_VIOLATIONS", True)
    monkeypatch.setattr(results_module, "_REPLACE_WAIT_S", 0.05)
    _held_open_for(monkeypatch, refusals=10**6)
    path = tmp_path / "trials.csv"
    path.write_text("old\n")
    start = time.monotonic()
    with pytest.raises(PermissionError) as refused:
        atomic_write_text(path, "new\n")
    assert time.monotonic() - start < 5
    assert refused.value.strerror == (
        "Access is denied: another program holds trials.csv (or the temporary file written to replace it) open, and "
        "on Windows a file held open cannot be replaced; close what has it open (Excel, an editor, a running `ecopt "
        "report`) and try again"
    )
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_refused_replace_on_posix_is_not_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """POSIX refuses a rename for good reasons only (permissions): no waiting there."""
    monkeypatch.setattr(results_module, "_SHARING_VIOLATIONS", False)
    tries = _held_open_for(monkeypatch, refusals=1)
    with pytest.raises(PermissionError, match="Access is denied"):
        replace_file(tmp_path / "a", tmp_path / "b")
    assert tries == ["b"]


def test_a_windows_sweep_whose_files_are_read_while_it_saves_runs_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every save of the experiment and the results file meets a reader once: the sweep stopped at its first."""
    import warnings

    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    from lightning_ecopt.sweeper import loop
    from lightning_ecopt.sweeper.objectives import parse_objectives
    from lightning_ecopt.sweeper.settings import SweepSettings
    from lightning_ecopt.sweeper.space import parse_search_space

    monkeypatch.setattr(results_module, "_SHARING_VIOLATIONS", True)
    tries = _held_open_for(monkeypatch, refusals=1)
    space = parse_search_space({"x": "interval(0, 1)"}, [])
    settings = SweepSettings(
        parse_objectives({"a": "minimize", "b": "minimize"}, None), n_trials=2, seed=0, storage=tmp_path / "ax.json"
    )
    with warnings.catch_warnings(), mock_botorch_optimize_context_manager(force=True):
        warnings.simplefilter("ignore")
        result = loop.ParetoSweep(
            space, settings, loop.evaluate_each(lambda p: {"a": p["x"], "b": 1 - p["x"]}), []
        ).run()
    assert result.n_completed == 2
    assert {"ax.json", "optimization_results.yaml"} <= set(tries)
    assert "end: true" in (tmp_path / "optimization_results.yaml").read_text()


def test_a_platform_without_fcntl_locks_with_msvcrt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows: ``import fcntl`` fails and ``msvcrt`` is there."""
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    locks = storage_module._platform_locks()
    assert isinstance(locks, storage_module._RegionLock)
    assert locks._msvcrt is fake
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    assert storage_module._platform_locks() is None


@pytest.mark.parametrize("hydra", [False, True])
def test_a_time_limit_on_windows_says_the_platform_has_no_sigalrm_and_what_limits_a_trial(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, hydra: bool
) -> None:
    """Windows has no SIGALRM: the warning guessed at a thread and told a Python caller to use the main thread."""
    from lightning_ecopt.sweeper import timeout

    monkeypatch.setattr(timeout, "_HAS_SIGALRM", False)
    monkeypatch.setattr(timeout, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="lightning_ecopt"):
        if hydra:
            assert timeout.TimedTask(lambda cfg: cfg + 1, 5.0)(1) == 2  # run, without a limit, in the main thread
        else:
            assert timeout.call_with_timeout(lambda x: x + 1, 5.0, 1) == 2
    (message,) = [r.getMessage() for r in caplog.records]
    setting = "hydra.sweeper.trial_timeout_s=5" if hydra else "SweepSettings(trial_timeout_s=5)"
    fix = (
        "use the launcher's own limit, e.g. hydra.launcher.timeout (joblib) or timeout_min (submitit)"
        if hydra
        else "run each trial in a subprocess with its own time limit"
    )
    assert message == f"{setting} is not enforced here ({sys.platform} has no SIGALRM); {fix}."


def test_paths_in_printed_commands_paste_into_windows_shells(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ecopt report 'C:\\runs\\demo'``: cmd keeps single quotes as part of the path, so the command failed there."""
    from lightning_ecopt import _shell

    monkeypatch.setattr(_shell, "_POSIX_SHELL", False)
    assert _shell.shell_path("C:\\Users\\me\\multirun\\demo") == "C:\\Users\\me\\multirun\\demo"
    assert _shell.shell_path("C:\\Users\\Ada Lovelace\\runs") == '"C:\\Users\\Ada Lovelace\\runs"'
    assert _shell.shell_path("-x") == "./-x"
