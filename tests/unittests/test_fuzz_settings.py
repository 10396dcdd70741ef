"""SweepSettings at the edges of what its values' consumers (Ax, torch) take: refused when built, not mid-sweep."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.objectives import parse_objectives
from lightning_ecopt.sweeper.settings import SweepSettings

_OBJECTIVES = parse_objectives({"f1": "minimize", "f2": "minimize"}, None)


@pytest.mark.parametrize("seed", [2**64, 10**20, -(2**63) - 1])
def test_a_seed_torch_cannot_take_is_refused(seed: int) -> None:
    # Before: accepted, then "ValueError: Overflow when unpacking long long" from torch's Sobol engine, a traceback.
    with pytest.raises(EcoptConfigError, match=rf"SweepSettings\(seed={seed}\): out of the range torch seeds take"):
        SweepSettings(_OBJECTIVES, seed=seed)


@pytest.mark.parametrize("seed", [0, -1, 2**64 - 1, -(2**63)])
def test_seeds_torch_takes_are_kept(seed: int) -> None:
    assert SweepSettings(_OBJECTIVES, seed=seed).seed == seed


@pytest.mark.parametrize(
    ("constraints", "match"),
    [
        (
            ["val/loss >= 0.1", "val/loss <= 0.05"],
            r"no value of 'val/loss' meets both 'val/loss >= 0\.1' and 'val/loss <= 0\.05'; the lower bound must be",
        ),
        (["val/loss >= 0.1", "val/loss <= 0.1"], r"no value of 'val/loss' meets both"),  # Ax: lower >= upper
        (
            ["val/loss <= 0.5", "val/loss <= 0.4"],
            r"'val/loss' is bounded twice from one side \('val/loss <= 0\.5' and 'val/loss <= 0\.4'\); keep one, "
            r"e\.g\. the tighter 'val/loss <= 0\.4'",
        ),
        (["acc >= 0.8", "acc >= 0.9"], r"the tighter 'acc >= 0\.9'"),
    ],
)
def test_constraints_that_disagree_on_one_metric_are_refused(constraints: list[str], match: str) -> None:
    # Before: accepted here, then Ax's ValueError ("Lower bound 0.1 is >= upper bound 0.05 for val__loss", "Duplicate
    # outcome constraints") as a traceback when the sweep configured its experiment.
    with pytest.raises(EcoptConfigError, match=match):
        SweepSettings(_OBJECTIVES, outcome_constraints=constraints)


def test_a_lower_and_an_upper_bound_on_one_metric_are_kept() -> None:
    settings = SweepSettings(_OBJECTIVES, outcome_constraints=["val/loss >= 0.1", "val/loss <= 0.5"])
    assert settings.ax_outcome_constraints() == ["val__loss >= 0.1", "val__loss <= 0.5"]


@pytest.mark.parametrize(
    ("objectives", "constraints"),
    [({"energy/source": "maximize"}, []), ({"f1": "minimize", "f2": "minimize"}, ["energy/source >= 1"])],
)
def test_the_energy_label_is_refused_as_a_metric(objectives: dict[str, str], constraints: list[str]) -> None:
    # Before: "'energy/source' is not a metric EnergyCallback logs; did you mean 'energy/predict_j'?"
    with pytest.raises(EcoptConfigError, match=r"'energy/source' is the label of where the energy figures come from"):
        SweepSettings(parse_objectives(objectives, None), outcome_constraints=constraints)


@pytest.mark.parametrize(
    ("storage", "reason"),
    [
        ("runs/a\x00b.json", r"a path cannot hold the NUL character '\\x00'"),
        ("y" * 300 + "/ax.json", "File name too long"),  # a folder name past the file system's 255 bytes
    ],
)
def test_a_storage_path_the_file_system_cannot_take_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str, reason: str
) -> None:
    # Before: "ValueError: embedded null byte" when the sweep first checked its folder, and "OSError: [Errno 36] File
    # name too long" from SweepSettings itself: bare tracebacks, not the setting to fix.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        EcoptConfigError,
        match=rf"^SweepSettings\(storage={re.escape(repr(storage))}\): not a usable file path \({reason}\); give the "
        rf"file the Ax experiment is saved to, e.g\. 'ax_experiment\.json'\.$",
    ):
        SweepSettings(_OBJECTIVES, storage=storage)
