"""benchmarks/problems.py: known fronts, the reference box, the NAS-Bench-201 table and its exact maximum."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def problems() -> ModuleType:
    """benchmarks/ is not a package: load the module from its file."""
    spec = importlib.util.spec_from_file_location("bench_problems", ROOT / "benchmarks" / "problems.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_problems"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_registry(problems: ModuleType) -> None:
    assert set(problems.PROBLEMS) == {"branin_currin", "zdt1", "dtlz2", "vehicle_safety", "nb201_cifar10"}
    assert len(problems.get("vehicle_safety").objectives) == 3
    with pytest.raises(KeyError, match="unknown problem; choose from branin_currin"):
        problems.get("nope")


def test_hypervolume_of_a_box_and_mixed_directions(problems: ModuleType) -> None:
    p = problems.get("nb201_cifar10")
    ref = p.reference_point
    point = {"val_acc": ref["val_acc"] + 10.0, "latency": ref["latency"] - 0.001}
    assert p.hypervolume([point]) == pytest.approx(10.0 * 0.001)
    assert p.hypervolume(np.array([[ref["val_acc"] + 10.0, ref["latency"] - 0.001]])) == pytest.approx(0.01)


def test_points_outside_the_reference_box_add_nothing(problems: ModuleType) -> None:
    p = problems.get("branin_currin")
    inside = {"f0": 17.0, "f1": 5.0}
    assert p.hypervolume([inside]) == pytest.approx(1.0)
    assert p.hypervolume([inside, {"f0": -100.0, "f1": 6.5}, {"f0": 19.0, "f1": -3.0}]) == pytest.approx(1.0)
    assert p.hypervolume([{"f0": 18.0, "f1": 0.0}]) == 0.0  # on the boundary: no volume
    assert p.hypervolume_fraction([]) == 0.0
    assert p.hypervolume_fraction([inside]) == pytest.approx(1.0 / 59.36011874867746)


@pytest.mark.parametrize(
    ("name", "x_front"),
    [("zdt1", lambda t: [t, 0.0, 0.0, 0.0]), ("dtlz2", lambda t: [t, 0.5, 0.5, 0.5, 0.5, 0.5])],
)
def test_known_maxima_of_the_exact_fronts(problems: ModuleType, name: str, x_front: object) -> None:
    p = problems.get(name)
    front = [p.evaluate(dict(zip([q.name for q in p.params], x_front(t), strict=True))) for t in np.linspace(0, 1, 501)]  # type: ignore[operator]
    assert p.hypervolume_fraction(front) == pytest.approx(1.0, abs=2e-3)
    assert p.hypervolume_fraction(front) <= 1.0


def test_dtlz2_maximum_is_the_quarter_circle(problems: ModuleType) -> None:
    assert problems.get("dtlz2").max_hv == pytest.approx(1.21 - math.pi / 4)


def test_nb201_is_deterministic_and_enumerated(problems: ModuleType) -> None:
    p = problems.get("nb201_cifar10")
    params = {f"Op{i}": op for i, op in enumerate((*problems.NB201_OPS[:5], "nor_conv_3x3"))}
    first = p.evaluate(params)
    assert p.evaluate(params) == first
    assert set(first) == {"val_acc", "latency"}
    assert len(problems.nb201_table()) == 5**6
    front = problems.nb201_exact_front()
    assert p.hypervolume_fraction(front) == pytest.approx(1.0)
    assert p.max_hv == pytest.approx(0.747925, rel=1e-5)
    # The reference point is BoTorch's rule on the exact front: nadir pushed out by 10 % of the range.
    span = front.max(axis=0) - front.min(axis=0)
    assert p.reference_point["val_acc"] == pytest.approx(front[:, 0].min() - 0.1 * span[0], abs=1e-4)
    assert p.reference_point["latency"] == pytest.approx(front[:, 1].max() + 0.1 * span[1], rel=1e-5)


def test_search_space_forms(problems: ModuleType) -> None:
    p = problems.get("nb201_cifar10")
    assert p.hydra_params()["Op0"] == "choice(none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)"
    assert p.ax_objective() == "val_acc, -latency"
    assert p.ax_thresholds() == ["val_acc >= 34.5856", "latency <= 0.0215314"]
    bc = problems.get("branin_currin")
    assert bc.hydra_params() == {"x0": "interval(0.0, 1.0)", "x1": "interval(0.0, 1.0)"}
    assert bc.ax_thresholds() == ["f0 <= 18.0", "f1 <= 6.0"]
    assert bc.optuna_distributions()["x0"].high == 1.0
