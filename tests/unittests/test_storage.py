"""The sweep lock and check_storage's refusals: who holds the lock, and what a moved, forked or threaded sweep does."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import lightning_ecopt.sweeper.storage as storage_module
from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings
from lightning_ecopt.sweeper.space import parse_search_space
from lightning_ecopt.sweeper.storage import (
    SWEEP_LOCK_NAME,
    check_storage,
    check_sweep_locks,
    flat_task_config,
    saved_finished_count,
    sweep_fingerprint,
    sweep_lock,
)

fcntl = pytest.importorskip("fcntl")  # these tests hold flocks: POSIX (Windows: test_platforms.py)


def _is_locked(lock: Path) -> bool:
    """Whether some open file holds an flock on ``lock`` (one on another open file conflicts within a process)."""
    with open(lock) as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def _python(code: str, folder: Path) -> tuple[int, str, str]:
    """Run ``code`` with ``folder/ax.json`` as its argument: its exit status, stdout and stderr.

    Through files, not pipes: a child it leaves running would hold the pipes open.
    """
    out, err = folder / "stdout", folder / "stderr"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), str(folder / "ax.json")],
            stdout=stdout,
            stderr=stderr,
            check=False,
            timeout=60,
        )
    return process.returncode, out.read_text(), err.read_text()


def test_a_lock_file_this_user_cannot_open_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a shared folder another user's sweep made the lock file without group write: a bare PermissionError."""
    real_open = os.open

    def refused(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if Path(path).name == SWEEP_LOCK_NAME:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(storage_module.os, "open", refused)
    expected = (
        r"cannot open the sweep's lock file .*\.ecopt-sweep\.lock \(Permission denied\): another user's sweep made "
        r"it, or .* is read-only to you\. Resume a sweep as the user who started it, or give the sweep another storage "
        r"\(SweepSettings\(storage=\.\.\.\)\)\.$"
    )
    with pytest.raises(EcoptConfigError, match=expected), sweep_lock(tmp_path / "ax.json"):
        pass


@pytest.mark.parametrize("how", ["moved", "deleted"])
def test_a_held_lock_whose_folder_is_moved_or_deleted_stops_the_sweep(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "sweep"
    with sweep_lock(folder / "ax.json"):
        check_sweep_locks()  # intact
        if how == "moved":
            folder.rename(tmp_path / "moved")
        else:
            (folder / SWEEP_LOCK_NAME).unlink()
            folder.rmdir()
        gone = rf"the sweep dir .*sweep was deleted or moved while this sweep ran \({SWEEP_LOCK_NAME} there is gone,"
        with pytest.raises(EcoptConfigError, match=gone):
            check_sweep_locks()
        with pytest.raises(EcoptConfigError, match=r"stopping without recreating it"), sweep_lock(folder / "ax.json"):
            pass  # re-entered (the plugin's lock, then the loop's): checked too
    assert not folder.exists()
    with sweep_lock(folder / "ax.json"):  # released: a new sweep there locks a new file
        check_sweep_locks()


def test_a_held_lock_whose_folder_was_replaced_says_the_lock_file_there_is_another_sweep_s(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    with sweep_lock(folder / "ax.json"):
        folder.rename(tmp_path / "moved")
        folder.mkdir()
        (folder / SWEEP_LOCK_NAME).touch()  # a sweep started there since
        with pytest.raises(EcoptConfigError, match=rf"\({SWEEP_LOCK_NAME} there is another sweep's lock file now,"):
            check_sweep_locks()


def test_a_thread_checks_only_the_locks_it_holds(tmp_path: Path) -> None:
    """The folder of another thread's sweep moved: that sweep stops at its own check, not this thread's sweep."""
    taken, checked, errors = threading.Event(), threading.Event(), []

    def other_sweep() -> None:
        with sweep_lock(tmp_path / "a" / "ax.json"):
            taken.set()
            checked.wait(10)
            try:
                check_sweep_locks()
            except EcoptConfigError as err:
                errors.append(str(err))

    thread = threading.Thread(target=other_sweep)
    thread.start()
    try:
        assert taken.wait(10)
        (tmp_path / "a").rename(tmp_path / "moved")
        with sweep_lock(tmp_path / "b" / "ax.json"):
            check_sweep_locks()  # this thread's lock is intact
    finally:
        checked.set()
        thread.join(10)
    assert len(errors) == 1
    assert "was deleted or moved while this sweep ran" in errors[0]


def test_a_lock_file_replaced_between_its_open_and_its_flock_is_locked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / SWEEP_LOCK_NAME
    flock = fcntl.flock
    replaced: list[int] = []

    def replace_first(fd: int, operation: int) -> None:
        if not replaced:  # a sweep dir deleted and recreated by another sweep just then
            replaced.append(lock.stat().st_ino)
            lock.unlink()
            lock.write_text("process 4242 on node7 (since 2026-12-03 10:00:00)")
        flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", replace_first)
    with sweep_lock(tmp_path / "ax.json"):
        monkeypatch.setattr(fcntl, "flock", flock)
        assert replaced
        assert _is_locked(lock)  # the file the folder holds, not the one removed
        check_sweep_locks()


def test_a_lock_file_replaced_at_every_attempt_is_refused_in_the_readers_terms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It told Python users to choose another hydra.sweep.dir."""
    lock = tmp_path / SWEEP_LOCK_NAME
    flock = fcntl.flock

    def replace_always(fd: int, operation: int) -> None:
        lock.unlink()
        lock.write_text("")
        flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", replace_always)
    match = (
        r"deletes or recreates .*\); stop it, or give the sweep another storage \(SweepSettings\(storage=\.\.\.\)\)\.$"
    )
    with pytest.raises(EcoptConfigError, match=match), sweep_lock(tmp_path / "ax.json"):
        pass


def test_a_killed_sweep_s_forked_child_does_not_keep_its_lock(tmp_path: Path) -> None:
    """A task that starts a fork-context multiprocessing child, then the sweep is SIGKILLed (the OOM killer)."""
    storage = tmp_path / "ax.json"
    returncode, _, stderr = _python(
        """
        import multiprocessing, os, signal, sys, time
        from pathlib import Path
        from lightning_ecopt.sweeper.storage import sweep_lock

        storage = Path(sys.argv[1])
        with sweep_lock(storage):
            child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
            child.start()
            (storage.parent / "child.pid").write_text(str(child.pid))
            os.kill(os.getpid(), signal.SIGKILL)
        """,
        tmp_path,
    )
    assert returncode == -signal.SIGKILL, stderr
    child = int((tmp_path / "child.pid").read_text())
    try:
        with sweep_lock(storage):  # the rerun resumes while the child lives on
            pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_a_forked_child_that_exits_through_the_lock_leaves_it_held(tmp_path: Path) -> None:
    """A child forked inside ``with sweep_lock(...)`` that calls sys.exit() unwinds the parent's frames."""
    _, stdout, stderr = _python(
        """
        import fcntl, os, sys
        from pathlib import Path
        from lightning_ecopt.sweeper.storage import SWEEP_LOCK_NAME, sweep_lock

        storage = Path(sys.argv[1])

        def sweep():
            with sweep_lock(storage):
                pid = os.fork()
                if pid == 0:
                    sys.exit(0)
                os.waitpid(pid, 0)
                with open(storage.with_name(SWEEP_LOCK_NAME)) as probe:
                    try:
                        fcntl.flock(probe.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                    except BlockingIOError:
                        print("held")
                    else:
                        print("released")

        try:
            sweep()
        except SystemExit:
            os._exit(0)  # the child
        """,
        tmp_path,
    )
    assert stdout.strip() == "held", stderr


def _refused_while_held_as(pid: int, tmp_path: Path, match: str) -> None:
    """Hold the sweep dir's lock as process ``pid`` of this host would; a sweep there is refused (``match``)."""
    import socket

    with open(tmp_path / SWEEP_LOCK_NAME, "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(f"process {pid} on {socket.gethostname()} (since 2026-12-03 10:00:00)")
        held.flush()
        with pytest.raises(EcoptConfigError, match=match), sweep_lock(tmp_path / "ax.json"):
            pass


def test_a_lock_held_by_the_child_of_a_dead_sweep_says_so(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    # the dead sweep's forked child holds it open
    match = rf"process {dead.pid} on .* has ended, but a process it started still holds .*`fuser -v .*lock`"
    _refused_while_held_as(dead.pid, tmp_path, match)


def test_a_lock_held_by_a_living_process_of_this_host_is_named_running_and_left_alone(tmp_path: Path) -> None:
    """Only signal 0 may probe the holder: another signal (SIGHUP, say) would kill the sweep the lock protects."""
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        match = rf"process {living.pid} on .* is running the sweep in .*wait for it to finish"
        _refused_while_held_as(living.pid, tmp_path, match)  # as that process's sweep holds it
        with pytest.raises(subprocess.TimeoutExpired):
            living.wait(timeout=0.5)  # still running: the probe did not signal it
    finally:
        living.kill()
        living.wait()


def test_a_lock_held_from_another_host_says_how_to_free_it_if_that_host_is_down(tmp_path: Path) -> None:
    """A sweep dir on a shared file system, its sweep started on a node that crashed: the file server may keep the
    dead node's lock (NFSv3's lockd until the node comes back), and "wait for it to finish (or stop it with Ctrl-C)"
    left the user nothing to do. The lock is on the file: a new one, after the old is deleted, is free."""
    import socket

    holder = "process 4242 on node7 (since 2026-12-03 10:00:00)"
    with open(tmp_path / SWEEP_LOCK_NAME, "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(holder)
        held.flush()
        with pytest.raises(EcoptConfigError) as refused, sweep_lock(tmp_path / "ax.json"):
            pass
        assert str(refused.value).endswith(
            f"It runs on another host (node7): if node7 is down, its lock may outlive it on a network file system; "
            f"once sure that no sweep runs there, delete {tmp_path / SWEEP_LOCK_NAME} and run the sweep again with "
            f"the same storage to resume (a sweep still running there stops at its next save, finding another lock "
            f"file)."
        )
        (tmp_path / SWEEP_LOCK_NAME).unlink()  # as the message says: the dead node's lock stays on the old file
        with sweep_lock(tmp_path / "ax.json"):
            pass
    running_here = storage_module._running_message(
        tmp_path, tmp_path / SWEEP_LOCK_NAME, f"process 1 on {socket.gethostname()}"
    )
    assert "another host" not in running_here  # this host's holder: Ctrl-C reaches it


def test_the_lock_says_since_when_with_its_utc_offset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The holder text is read on other hosts (a shared sweep dir, a login node in another zone): "since 10:00:00"
    in the holder's local time read as the reader's own, hours off."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kathmandu")  # +05:45 all year: no DST to make the expected offset depend on the date
    time.tzset()
    try:
        with sweep_lock(tmp_path / "ax.json"):
            holder = (tmp_path / SWEEP_LOCK_NAME).read_text()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert re.fullmatch(rf"process {os.getpid()} on \S+ \(since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \+0545\)", holder)
    assert storage_module._holder_host(holder) is not None


def test_a_holder_of_this_host_run_by_another_user_is_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def not_permitted(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", not_permitted)  # the process exists, but another user runs it
    assert not storage_module._is_dead(f"process {os.getpid() + 1} on {socket.gethostname()} (since 2026-12-03)")


def test_the_lock_file_gets_the_mode_of_a_new_file(tmp_path: Path) -> None:
    import stat

    previous = os.umask(0o002)  # a group-shared sweep dir's: only the umask takes bits off
    try:
        with sweep_lock(tmp_path / "ax.json"):
            pass
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / SWEEP_LOCK_NAME).stat().st_mode) == 0o664


def test_a_resume_removes_only_its_own_temporary_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A save killed between its write and its rename leaves ``.<name>.<random>.tmp``; nothing else goes."""
    storage = tmp_path / "ax.json"
    torn = [tmp_path / ".ax.json.k2j3.tmp", tmp_path / f".{storage_module.RESULTS_FILENAME}.x9q1.tmp"]
    kept = [
        storage,
        tmp_path / storage_module.RESULTS_FILENAME,
        tmp_path / ".b.json.k2j3.tmp",  # another storage file's
        tmp_path / ".ax.json.k2j3.probe",
        tmp_path / ".ax.json.tmp",
        tmp_path / SWEEP_LOCK_NAME,
    ]
    for path in torn + kept:
        path.write_text("{")
    (tmp_path / ".ax.json.dir.tmp").mkdir()  # not a file: left alone, not a crash
    with caplog.at_level("INFO", logger=storage_module.log.name):
        storage_module._remove_torn_writes(storage)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p.name for p in kept] + [".ax.json.dir.tmp"])
        assert [r.getMessage() for r in caplog.records] == [
            f"ecopt: removed 2 temporary files left by an interrupted save: {[p.name for p in torn]}"
        ]
        caplog.clear()
        storage_module._remove_torn_writes(storage)  # nothing left to remove: nothing said
        assert caplog.records == []


@pytest.mark.parametrize("hydra", [False, True], ids=["python", "hydra"])
def test_the_running_sweep_and_the_saved_sweep_refusals_say_where_a_new_sweep_goes_alike(
    tmp_path: Path, hydra: bool
) -> None:
    """Each chose its own words by front end: "choose another storage" beside "give the sweep another storage
    (SweepSettings(storage=...))"; and the replaced-lock refusal named hydra.sweep.dir to Python users."""
    from lightning_ecopt.sweeper import spelling

    elsewhere = (
        "choose another sweep directory (hydra.sweep.dir)"
        if hydra
        else "give the sweep another storage (SweepSettings(storage=...))"
    )
    with spelling.hydra_spelling() if hydra else contextlib.nullcontext():
        running = storage_module._running_message(tmp_path, tmp_path / SWEEP_LOCK_NAME, "process 4242 on node7")
        start_over = storage_module._start_over(tmp_path / "ax.json")
    assert (
        f"then {'rerun the same command' if hydra else 'run the sweep again with the same storage'}"
        f" to resume; or {elsewhere} to start a new sweep." in running
    )
    assert start_over.endswith(f", or {elsewhere}")
    assert ("hydra" in running) is hydra


def test_a_second_thread_is_refused_while_one_runs_the_sweep(tmp_path: Path) -> None:
    storage = tmp_path / "ax.json"
    held, done = threading.Event(), threading.Event()

    def run() -> None:
        with sweep_lock(storage), sweep_lock(storage):  # re-entrant in its own thread
            held.set()
            done.wait(30)

    first = threading.Thread(target=run, name="sweep-A")
    first.start()
    try:
        assert held.wait(30)
        refused = r"another thread of this process \('sweep-A'\) is running the sweep in"
        with pytest.raises(EcoptConfigError, match=refused), sweep_lock(storage):
            pass
        storage.write_text("{}")  # a refusal of the folder's file says first that a sweep runs there
        with pytest.raises(EcoptConfigError, match=refused):
            check_storage(storage, {}, None)
    finally:
        done.set()
        first.join()
    with sweep_lock(storage):
        pass


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_broken_symlink_sweep_dir_is_named(tmp_path: Path, below: str) -> None:
    link = tmp_path / "sweep"
    link.symlink_to(tmp_path / "gone")
    match = rf"{link} is a broken symbolic link \(to '.*gone', which does not exist\); create its target, remove"
    with pytest.raises(EcoptConfigError, match=match):
        check_storage(link / below / "ax.json", {}, None)


def test_a_file_system_without_flock_runs_the_sweep_unlocked_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An NFS mount without lockd: the sweep ran unprotected with only a debug line (review)."""
    import errno
    import logging

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    monkeypatch.setattr(storage_module, "_UNLOCKABLE", set())
    # The plugin's lock, then the loop's: one file, said once.
    with (
        caplog.at_level(logging.WARNING, logger="lightning_ecopt"),
        sweep_lock(tmp_path / SWEEP_LOCK_NAME),
        sweep_lock(tmp_path / "ax.json"),
    ):
        check_sweep_locks()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1
    assert said[0].startswith(f"ecopt: cannot lock {tmp_path / SWEEP_LOCK_NAME} (No locks available: this file system")
    assert f"a second sweep started on {tmp_path} would not be refused" in said[0]


def _fingerprint(params: dict[str, str], objectives: dict[str, str] | None = None) -> dict:
    objectives = objectives or {"f1": "minimize", "f2": "minimize"}
    return sweep_fingerprint(parse_search_space(params, []), SweepSettings(parse_objectives(objectives, None)))


def _refusal(old: dict, new: dict) -> str:
    message = storage_module._mismatch_message(Path("ax.json"), old, new)
    assert message is not None
    return message.partition(" To start fresh")[0]


def test_the_saved_task_config_keeps_1000_keys_and_values_of_200_chars_by_name() -> None:
    # The saved format: other bounds would refuse every sweep saved with a config this large as a changed config.
    many = flat_task_config({f"k{i:04d}": i for i in range(1001)})
    assert len(many) == 1001
    assert "k0999" in many
    assert "k1000" not in many
    assert many["..."].startswith("<1 more keys, sha256 ")
    assert len(flat_task_config({f"k{i:04d}": i for i in range(1000)})) == 1000
    kept, cut = "x" * 198, "x" * 199  # 200 and 201 chars as JSON, with the quotes
    assert flat_task_config({"a": kept, "b": cut}) == {"a": kept, "b": flat_task_config({"b": cut})["b"]}
    assert flat_task_config({"b": cut})["b"].startswith("<201 chars, sha256 ")


def test_a_refusal_shows_values_of_up_to_60_chars_whole_and_cuts_longer_ones_to_60() -> None:
    assert storage_module._show("x" * 58) == repr("x" * 58)  # 60 chars with the quotes
    assert storage_module._show("x" * 59) == "'" + "x" * 56 + "..."
    assert len(storage_module._show("x" * 100)) == 60


def test_a_refusal_describes_a_parameter_that_changed_kind_and_objectives_that_changed_order() -> None:
    old = _fingerprint({"x": "interval(0, 1)"})
    assert _refusal(old, _fingerprint({"x": "choice(a, b)"})).endswith(
        'other search space than this one: x: interval [0.0, 1.0] -> choice ["a", "b"].'
    )
    reordered = _fingerprint({"x": "interval(0, 1)"}, {"f2": "minimize", "f1": "minimize"})
    assert _refusal(old, reordered).endswith("other objectives than this one: order f1, f2 -> f2, f1.")


def test_a_saved_parameter_without_a_name_is_another_search_space_not_a_crash() -> None:
    old = _fingerprint({"x": "interval(0, 1)"})
    old["space"]["parameters"].append({"kind": "range"})  # a hand-edited or foreign description
    # Nothing to name per parameter: the two spaces are shown whole.
    assert _refusal(old, _fingerprint({"x": "interval(0, 1)"})).startswith(
        "ParetoSweep: ax.json holds a sweep with other search space than this one: {'parameters': [{'name': 'x', "
    )


@pytest.mark.parametrize(
    ("before", "now", "stop"),
    [
        ("int(interval(0, 4))", "range(0, 5)", "5"),  # an earlier version's range(0, 5): 0 to 4
        ("tag(ordered, choice(0, 2, 4, 6, 8))", "range(0, 10, step=2)", "10"),
    ],
)
def test_the_range_hint_names_the_stop_the_range_now_includes(before: str, now: str, stop: str) -> None:
    message = _refusal(_fingerprint({"x": before}), _fingerprint({"x": now}))
    assert f"a range now includes its stop {stop} when it is on the step's grid" in message


@pytest.mark.parametrize(
    ("before", "now"),
    [
        ("choice(0, 2, 4, 6, 8)", "range(0, 10, step=2)"),  # unordered before: it was no range
        ("tag(ordered, choice(0, 2, 4))", "range(0, 8, step=2)"),  # two values more, not the stop alone
    ],
)
def test_no_range_hint_where_the_saved_choice_was_not_the_range_without_its_stop(before: str, now: str) -> None:
    assert "range(" not in _refusal(_fingerprint({"x": before}), _fingerprint({"x": now}))


def test_finished_trials_are_counted_by_the_sweep_s_status_else_by_ax_s(tmp_path: Path) -> None:
    def trial(ours: str | None, ax: str) -> dict:
        metadata = {"lightning_ecopt": {"status": ours}} if ours else {}
        return {"run_metadata": metadata, "status": {"name": ax}}

    trials = [
        trial("completed", "RUNNING"),  # the sweep's status wins: 1
        trial("failed", "COMPLETED"),  # 1
        trial("abandoned", "COMPLETED"),  # 0
        trial(None, "FAILED"),  # saved before the sweep kept a status: Ax's, 1
        trial(None, "COMPLETED"),  # 1
        trial(None, "RUNNING"),  # 0
    ]
    path = tmp_path / "ax.json"
    path.write_text(json.dumps({"experiment": {"trials": {str(i): t for i, t in enumerate(trials)}}}))
    assert saved_finished_count(path) == 4
    path.write_text(json.dumps({"experiment": {"trials": {"0": "not a trial"}}}))  # unreadable: none
    assert saved_finished_count(path) == 0


def test_the_damaged_experiment_s_report_command_names_a_folder_starting_with_a_dash_as_a_path(tmp_path, monkeypatch):
    # The message's `ecopt report -x` (a relative storage folder "-x") pasted as an option, not the folder (review).
    import yaml

    from lightning_ecopt.sweeper.storage import _damaged_message

    monkeypatch.chdir(tmp_path)
    folder = Path("-x")
    folder.mkdir()
    (folder / "ax.json").write_text("{", encoding="utf-8")
    results = {"settings": {"storage": "-x/ax.json"}, "trials": [{"index": 0}]}
    (folder / "optimization_results.yaml").write_text(yaml.safe_dump(results), encoding="utf-8")
    message = _damaged_message(folder / "ax.json", ValueError("cut"))
    assert message is not None
    assert "`ecopt report ./-x` reads" in message
