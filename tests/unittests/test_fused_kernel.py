"""BoTorch's fused qLogNEHVI kernel: a per-CPU build directory, a killed build's lock never waited on forever."""

from __future__ import annotations

import logging
import os
import threading
import time
import types
import warnings
from pathlib import Path

import pytest

from lightning_ecopt.sweeper import fused_kernel
from lightning_ecopt.sweeper.fused_kernel import KERNEL_NAME, cpu_key, prepare_log_hypervolume_kernel

logei = pytest.importorskip("botorch.acquisition.multi_objective.logei")


@pytest.fixture
def fresh_botorch(monkeypatch, tmp_path):
    """BoTorch as in a new process (kernel not loaded, no attempt yet), torch's default build root under tmp_path.

    Returns the calls to BoTorch's loader, which is faked as torch and BoTorch behave: it records
    ``TORCH_EXTENSIONS_DIR``, takes torch's build lock (``cpp_extension.FileBaton``) or waits on it, "builds", and
    turns any error into BoTorch's warning.
    """
    from torch.utils import cpp_extension

    calls: list[str | None] = []

    def load() -> None:
        logei._load_attempted = True
        root = os.environ.get("TORCH_EXTENSIONS_DIR")
        calls.append(root)
        build = Path(root or ".") / KERNEL_NAME
        build.mkdir(parents=True, exist_ok=True)
        baton = cpp_extension.FileBaton(str(build / "lock"))
        try:
            if baton.try_acquire():
                (build / f"{KERNEL_NAME}.so").write_bytes(b"")
                baton.release()
            else:
                baton.wait()
            logei._C = object()
        except Exception as exc:
            warnings.warn(f"Failed to compile fused qLogEHVI C++ extension: {exc}.", stacklevel=2)

    monkeypatch.setattr(fused_kernel, "BUILD", True)
    monkeypatch.delenv(fused_kernel.ENV_SWITCH, raising=False)  # the suite sets it
    monkeypatch.setattr(logei, "_C", None)
    monkeypatch.setattr(logei, "_load_attempted", False)
    monkeypatch.setattr(logei, "_try_load_fused_kernel", load)
    monkeypatch.delenv("TORCH_EXTENSIONS_DIR", raising=False)
    monkeypatch.setattr("torch.utils.cpp_extension.get_default_build_root", lambda: str(tmp_path / "default"))
    return calls


@pytest.fixture
def real_botorch(monkeypatch, tmp_path):
    """BoTorch's own loader, as in a new process, building under tmp_path (with a lock there, it never compiles)."""
    monkeypatch.setattr(fused_kernel, "BUILD", True)
    monkeypatch.delenv(fused_kernel.ENV_SWITCH, raising=False)
    monkeypatch.setattr(logei, "_C", None)
    monkeypatch.setattr(logei, "_load_attempted", False)
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    return tmp_path


def _lock(root: Path, age_s: float) -> Path:
    lock = root / KERNEL_NAME / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.touch()
    then = time.time() - age_s
    os.utime(lock, (then, then))
    return lock


def test_the_kernel_is_built_in_a_directory_named_after_the_cpu(fresh_botorch, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(fused_kernel, "_BUILT_AFTER_S", 0.0)  # the fake loader takes no time
    with caplog.at_level(logging.INFO, logger=fused_kernel.__name__):
        assert prepare_log_hypervolume_kernel() == "built"
    (root,) = fresh_botorch
    assert root is not None
    assert Path(root).parent == tmp_path / "default"
    assert f"_ecopt-cpu-{cpu_key()}-env-" in Path(root).name
    assert "TORCH_EXTENSIONS_DIR" not in os.environ  # restored
    assert "building BoTorch's fused qLogNEHVI kernel once" in caplog.text
    assert "kernel ready in" in caplog.text


def test_a_kernel_built_before_loads_without_an_announcement(fresh_botorch, caplog):
    root = fused_kernel.extensions_root()
    (root / KERNEL_NAME).mkdir(parents=True)
    (root / KERNEL_NAME / f"{KERNEL_NAME}.so").write_bytes(b"")
    with caplog.at_level(logging.INFO, logger=fused_kernel.__name__):
        assert prepare_log_hypervolume_kernel() == "loaded"
    assert fresh_botorch == [str(root)]
    assert caplog.text == ""


def test_the_users_torch_extensions_dir_is_used_as_set(fresh_botorch, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "mine"))
    assert prepare_log_hypervolume_kernel() == "loaded"
    assert fresh_botorch == [str(tmp_path / "mine")]
    assert os.environ["TORCH_EXTENSIONS_DIR"] == str(tmp_path / "mine")


def test_a_killed_builds_lock_is_reported_and_the_sweep_goes_on_without_the_kernel(fresh_botorch, caplog):
    lock = _lock(fused_kernel.extensions_root(), age_s=fused_kernel.LOCK_WAIT_S + 60)
    start = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger=fused_kernel.__name__), warnings.catch_warnings():
        warnings.simplefilter("error")  # BoTorch's "ensure a C++ compiler" advice is not passed on: it is wrong here
        assert prepare_log_hypervolume_kernel() == "stale lock"
    assert time.perf_counter() - start < 5  # not waited on
    assert logei._load_attempted is True  # BoTorch's Python implementation from now on
    assert logei._C is None
    assert str(lock) in caplog.text
    assert "delete the file" in caplog.text


def test_a_lock_that_outlives_the_wait_is_taken_for_a_killed_build(fresh_botorch):
    """Also a lock taken after the sweep looked (another process's build, killed): torch's wait gives up too."""
    _lock(fused_kernel.extensions_root(), age_s=0)
    start = time.perf_counter()
    assert prepare_log_hypervolume_kernel(wait_s=0.5) == "stale lock"
    assert 0.4 < time.perf_counter() - start < 5
    assert logei._C is None


def _step_wall_clock(monkeypatch: pytest.MonkeyPatch, step_s: float) -> None:
    """From its second reading on, the module's wall clock reads ``step_s`` off (NTP, ``date -s``, a resumed VM)."""
    readings = iter([0.0])
    stepped = types.SimpleNamespace(**vars(time))
    stepped.time = lambda: time.time() + next(readings, step_s)
    monkeypatch.setattr(fused_kernel, "time", stepped)


def _gives_up_on(lock: Path, wait_s: float) -> None:
    """The kernel's preparation waits ``wait_s`` on ``lock``, then gives it up as a killed build's (within 5 s)."""
    deleted = threading.Timer(10, lock.unlink)  # a wait that would not end: the user deletes the lock
    deleted.start()
    try:
        start = time.perf_counter()
        assert prepare_log_hypervolume_kernel(wait_s=wait_s) == "stale lock"
        assert wait_s - 0.1 < time.perf_counter() - start < 5
    finally:
        deleted.cancel()


def test_a_lock_stamped_in_the_future_is_waited_on_for_the_wait_only(fresh_botorch):
    """A file server's clock an hour ahead of this host's (``$HOME`` on a cluster) stamped a killed build's lock: the
    wait counted its age from the stamp, so it took the lock for a live build for an hour and 0.5 s."""
    _gives_up_on(_lock(fused_kernel.extensions_root(), age_s=-3600), wait_s=0.5)


@pytest.mark.parametrize("step_s", [-3600.0, 3600.0], ids=["stepped back", "stepped forward"])
def test_the_wait_for_another_processes_build_keeps_its_length_when_the_wall_clock_steps(
    fresh_botorch, monkeypatch, step_s
):
    """Stepped back an hour while it waited, a wait on a killed build's lock lasted an hour more; stepped forward, a
    live build's fresh lock was taken for a killed one at once, with the advice to delete it."""
    lock = _lock(fused_kernel.extensions_root(), age_s=0)
    _step_wall_clock(monkeypatch, step_s)
    if step_s < 0:
        _gives_up_on(lock, wait_s=1.0)
    else:
        threading.Timer(0.5, lock.unlink).start()  # the other process finishes its build
        assert prepare_log_hypervolume_kernel(wait_s=30) == "loaded"


def test_another_processes_build_is_waited_for(fresh_botorch, caplog):
    lock = _lock(fused_kernel.extensions_root(), age_s=0)
    threading.Timer(0.3, lock.unlink).start()  # the other process finishes
    with caplog.at_level(logging.INFO, logger=fused_kernel.__name__):
        assert prepare_log_hypervolume_kernel(wait_s=30) == "loaded"
    assert fresh_botorch == [str(fused_kernel.extensions_root())]
    assert "waiting for another process" in caplog.text
    from torch.utils import cpp_extension

    assert cpp_extension.FileBaton.__name__ == "FileBaton"  # torch's own again


def test_botorchs_own_warnings_are_passed_on(fresh_botorch, monkeypatch):
    def no_compiler() -> None:
        logei._load_attempted = True
        warnings.warn("Failed to compile fused qLogEHVI C++ extension: no c++. Falling back.", stacklevel=2)

    monkeypatch.setattr(logei, "_try_load_fused_kernel", no_compiler)
    with pytest.warns(UserWarning, match="no c\\+\\+"):
        assert prepare_log_hypervolume_kernel() == "failed"


def test_an_error_here_leaves_botorchs_python_implementation_and_the_sweep_goes_on(fresh_botorch, monkeypatch, caplog):
    def unreadable() -> Path:
        raise PermissionError("/home/shared/.cache/torch_extensions")

    monkeypatch.setattr(fused_kernel, "extensions_root", unreadable)
    with caplog.at_level(logging.WARNING, logger=fused_kernel.__name__):
        assert prepare_log_hypervolume_kernel() == "failed"
    assert fresh_botorch == []
    assert logei._load_attempted is True
    assert "PermissionError" in caplog.text


def test_a_failed_build_is_botorchs_to_report(fresh_botorch, monkeypatch):
    monkeypatch.setattr(logei, "_try_load_fused_kernel", lambda: setattr(logei, "_load_attempted", True))
    assert prepare_log_hypervolume_kernel() == "failed"


@pytest.mark.parametrize("state", ["loaded", "attempted", "switched off", "switched off by the environment"])
def test_nothing_to_do_once_loaded_or_given_up_on(fresh_botorch, monkeypatch, state):
    if state == "loaded":
        monkeypatch.setattr(logei, "_C", object())
    elif state == "attempted":
        monkeypatch.setattr(logei, "_load_attempted", True)
    elif state == "switched off":
        monkeypatch.setattr(fused_kernel, "BUILD", False)
    else:
        monkeypatch.setenv(fused_kernel.ENV_SWITCH, "0")
    assert prepare_log_hypervolume_kernel() == "not needed"
    assert fresh_botorch == []
    if state.startswith("switched off"):
        assert logei._load_attempted is True  # BoTorch will not build it either


def test_botorchs_real_loader_gives_up_on_a_stale_lock(real_botorch):
    """With BoTorch's own loader and torch's build (which wait on the lock with no timeout), it returns at once."""
    _lock(real_botorch, age_s=fused_kernel.LOCK_WAIT_S + 1)
    start = time.perf_counter()
    assert prepare_log_hypervolume_kernel() == "stale lock"
    assert time.perf_counter() - start < 30
    assert logei._C is None


def test_botorchs_real_loader_gives_up_on_a_lock_whose_builder_died_while_it_waited(real_botorch):
    _lock(real_botorch, age_s=0)
    start = time.perf_counter()
    assert prepare_log_hypervolume_kernel(wait_s=1.0) == "stale lock"
    assert 0.9 < time.perf_counter() - start < 30


def test_the_build_directory_changes_with_the_instruction_set_only():
    avx2 = "processor : 0\nmodel name : Xeon\nflags : fpu sse avx avx2\ncpu MHz : 2100.0\n"
    avx512 = avx2.replace("avx2", "avx2 avx512f")
    assert cpu_key(avx2) != cpu_key(avx512)
    assert cpu_key(avx2) != cpu_key(avx2.replace("Xeon", "EPYC"))
    assert cpu_key(avx2) == cpu_key(avx2.replace("2100.0", "3400.0"))  # the clock moves, the binary still runs
    assert len(cpu_key()) == 12


def test_an_unknown_switch_value_is_named_with_the_fix(fresh_botorch, monkeypatch, caplog):
    monkeypatch.setenv(fused_kernel.ENV_SWITCH, "false")  # "0" switches it off; "false" is not read as off
    with caplog.at_level(logging.WARNING, logger=fused_kernel.__name__):
        assert prepare_log_hypervolume_kernel() == "loaded"
    assert "ECOPT_BOTORCH_KERNEL='false': expected 0" in caplog.text
    assert "Set ECOPT_BOTORCH_KERNEL=0 to switch it off" in caplog.text
