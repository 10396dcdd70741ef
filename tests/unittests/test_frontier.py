import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from lightning_ecopt.frontier import (
    dominators,
    hypervolume,
    infer_reference_point,
    is_pareto_set,
    knee_point,
    pareto_mask,
)

# (accuracy: maximise, energy_j: minimise)
MIXED = np.array(
    [
        [0.90, 10.0],  # 0 front
        [0.80, 5.0],  # 1 front
        [0.70, 8.0],  # 2 dominated by 1
        [0.60, 4.0],  # 3 front
        [0.90, 12.0],  # 4 dominated by 0
        [0.50, 30.0],  # 5 dominated by everything
    ]
)
MIXED_DIRECTIONS = [True, False]


def _brute_force_mask(Y, maximize):
    Z = np.asarray(Y) * np.where(maximize, 1.0, -1.0)
    out = []
    for i in range(len(Z)):
        dominated = any(np.all(Z[j] >= Z[i]) and np.any(Z[j] > Z[i]) for j in range(len(Z)) if j != i)
        out.append(not dominated)
    return out


def test_pareto_mask_mixed_directions():
    assert pareto_mask(MIXED, MIXED_DIRECTIONS).tolist() == [True, True, False, True, False, False]


def test_pareto_mask_flipping_a_direction_changes_the_frontier():
    # Maximising both: high energy is now good, so (0.9, 12) beats (0.9, 10) and the 30 J point joins the front.
    assert pareto_mask(MIXED, [True, True]).tolist() == [False, False, False, False, True, True]
    assert pareto_mask(MIXED, [False, False]).tolist() == [False, False, False, True, False, True]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("maximize", [[True, False], [False, False, True], [True, True, True, True]])
def test_pareto_mask_matches_brute_force(seed, maximize):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 5, size=(40, len(maximize))).astype(float)  # integers: many ties and duplicates
    assert pareto_mask(Y, maximize).tolist() == _brute_force_mask(Y, maximize)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("maximize", [[True, False], [False, False, True]])
def test_is_pareto_set_accepts_the_pareto_mask_and_nothing_else(seed, maximize):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 4, size=(25, len(maximize))).astype(float)  # ties and duplicates
    mask = pareto_mask(Y, maximize)
    assert is_pareto_set(Y, maximize, mask)
    for k in range(len(Y)):  # one point more or one fewer: not the frontier
        flipped = mask.copy()
        flipped[k] = not flipped[k]
        assert not is_pareto_set(Y, maximize, flipped)
    assert is_pareto_set(np.empty((0, 2)), [True, True], [])


def test_is_pareto_set_refuses_a_mask_of_another_length():
    with pytest.raises(ValueError, match=r"is_pareto_set: mask has shape \(1,\) but Y has 2 points"):
        is_pareto_set([[1.0, 2.0], [2.0, 1.0]], [True, True], [True])


def test_pareto_mask_keeps_duplicates_and_handles_empty():
    assert pareto_mask([[1.0, 1.0], [1.0, 1.0]], [True, True]).tolist() == [True, True]
    assert pareto_mask(np.empty((0, 2)), [True, True]).tolist() == []


def test_pareto_mask_of_one_point_marks_it():
    # A sweep's first completed trial is its whole frontier until another one completes.
    assert pareto_mask([[0.9, 10.0]], [True, False]).tolist() == [True]
    assert is_pareto_set([[0.9, 10.0]], [True, False], [True])


@pytest.mark.parametrize(
    ("Y", "maximize", "match"),
    [
        ([1.0, 2.0, 3.0], [True, True], "2-D array"),
        ([[1.0, 2.0]], [True], "maximize has 1 direction but Y has 2 objective columns"),
        ([[1.0, float("nan")], [1.0, 2.0]], [True, True], r"NaN or infinite values in rows \[0\]"),
        ([[1.0, 2.0], [1.0, float("inf")]], [True, True], r"rows \[1\]"),
    ],
)
def test_bad_inputs_raise_value_error(Y, maximize, match):
    for fn in (pareto_mask, knee_point, dominators, infer_reference_point):
        with pytest.raises(ValueError, match=match):
            fn(Y, maximize)
    with pytest.raises(ValueError, match=match):
        hypervolume(Y, [0.0] * len(maximize), maximize)


def test_directions_are_booleans_or_the_words_never_truthy_strings():
    """``[o.direction for o in objectives]`` gives words: "minimize", a non-empty string, was maximised."""
    Y = [[0.9, 10.0], [0.8, 5.0]]  # (accuracy, joules): a trade-off when energy is minimised
    assert pareto_mask(Y, ["maximize", "minimize"]).tolist() == [True, True]
    assert pareto_mask(Y, [True, False]).tolist() == [True, True]
    assert hypervolume(Y, [0.5, 20.0], ["maximize", "Minimize"]) == pytest.approx(5.5)
    np.testing.assert_allclose(
        infer_reference_point(Y, ["maximize", "minimize"]), infer_reference_point(Y, [True, False])
    )
    for bad in (["max", "min"], [1, 0], [True, None]):
        for fn in (pareto_mask, knee_point, dominators, infer_reference_point):
            with pytest.raises(ValueError, match="each direction must be True"):
                fn(Y, bad)
        with pytest.raises(ValueError, match="each direction must be True"):
            hypervolume(Y, [0.5, 20.0], bad)


def test_directions_that_are_used_up_by_one_reading_are_refused():
    """``(not o.minimize for o in objectives)``: the first check emptied it, and one objective got [] silently."""
    Y = [[0.9], [0.8], [0.3]]
    with pytest.raises(ValueError, match=r"maximize must be a list, tuple or array of directions, not a generator"):
        infer_reference_point(Y, (d for d in [True]))
    np.testing.assert_allclose(infer_reference_point(Y, [True]), [0.81])


def test_hypervolume_known_values():
    # Staircase in minimisation, ref (3, 3): columns of height 1, 2 and 3.
    assert hypervolume([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]], [3.0, 3.0], [False, False]) == pytest.approx(6.0)
    # Mixed: (0.9-0.5)*(20-10) + (0.8-0.5)*(10-5) = 4 + 1.5
    assert hypervolume([[0.9, 10.0], [0.8, 5.0]], [0.5, 20.0], [True, False]) == pytest.approx(5.5)
    # Three objectives, one box.
    assert hypervolume([[2.0, 3.0, 4.0]], [0.0, 0.0, 0.0], [True, True, True]) == pytest.approx(24.0)


def test_hypervolume_ignores_points_that_do_not_dominate_the_reference():
    front = [[0.9, 10.0], [0.8, 5.0]]
    base = hypervolume(front, [0.5, 20.0], [True, False])
    worse = [*front, [0.95, 25.0], [0.4, 1.0], [0.5, 20.0]]  # beyond the ref in one objective, or on it
    assert hypervolume(worse, [0.5, 20.0], [True, False]) == pytest.approx(base)
    assert hypervolume([[0.4, 25.0]], [0.5, 20.0], [True, False]) == 0.0
    assert hypervolume(np.empty((0, 2)), [0.5, 20.0], [True, False]) == 0.0


def test_hypervolume_dominated_points_add_nothing_and_directions_are_consistent():
    ref = [0.0, 40.0]
    hv_front = hypervolume(MIXED[[0, 1, 3]], ref, MIXED_DIRECTIONS)
    assert hypervolume(MIXED, ref, MIXED_DIRECTIONS) == pytest.approx(hv_front)
    # Negating a column and flipping its direction gives the same volume.
    flipped = MIXED * np.array([1.0, -1.0])
    assert hypervolume(flipped, [0.0, -40.0], [True, True]) == pytest.approx(hv_front)


def test_hypervolume_past_the_largest_float_is_inf_not_nan_and_huge_values_do_not_crash():
    """moocore's sums overflow past 1.8e308: four objectives gave nan, a distance to ``ref`` past it a wrong inf.

    In three objectives such a distance crashed the interpreter (a segmentation fault, so checked in a child process).
    """
    # A reference point of 1e200 meant as "no bound" in four objectives: the volume is past the largest float.
    Y = [[10.0, 5.0, 0.9, 0.9], [5.0, 10.0, 0.8, 0.8], [7.0, 7.0, 0.85, 0.85]]
    assert hypervolume(Y, [1e200, 1e200, 1e200, 0.0], [False, False, False, True]) == math.inf  # was nan
    # 1.7e308 - (-1.7e308) overflows, the volume does not: 3.4e308 * 1e-300 + 1.7e308 * 9e-300.
    assert hypervolume([[1.7e308, 1e-300], [0.0, 1e-299]], [-1.7e308, 0.0], [True, True]) == pytest.approx(1.87e9)
    code = (
        "from lightning_ecopt.frontier import hypervolume\n"
        "Y = [[-1e-300, -1e167, 0.0], [0.0, 1.7976931348623157e308, 0.0]]\n"
        "print(hypervolume(Y, [-1e299, -1.7976931348623157e307, -0.05], [True, True, True]))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stdout.strip()) == (0, "inf"), run.stderr[-2000:]


def test_hypervolume_rejects_a_bad_reference_point():
    with pytest.raises(ValueError, match=r"ref=\[0.0\] must hold one finite value per objective \(2\)"):
        hypervolume(MIXED, [0.0], MIXED_DIRECTIONS)
    with pytest.raises(ValueError, match="one finite value"):
        hypervolume(MIXED, [0.0, float("nan")], MIXED_DIRECTIONS)


def test_knee_point_is_closest_to_the_normalised_ideal():
    # Front in maximisation: (1, 0), (0.8, 0.8), (0, 1); the middle one is nearest (1, 1).
    assert knee_point([[1.0, 0.0], [0.8, 0.8], [0.0, 1.0], [0.5, 0.5]], [True, True]) == 1
    # Mixed directions: accuracy vs energy_j.
    assert knee_point([[0.9, 10.0], [0.85, 3.0], [0.5, 1.0]], [True, False]) == 1
    # Normalisation: a large-scale objective does not swamp a small one.
    assert knee_point([[1.0, 0.0], [0.9, 900.0], [0.0, 1000.0]], [True, True]) == 1


def test_knee_point_is_on_the_front_and_handles_degenerate_inputs():
    assert knee_point(MIXED, MIXED_DIRECTIONS) in {0, 1, 3}
    assert knee_point([[2.0, 2.0], [1.0, 1.0]], [True, True]) == 0  # single front point
    assert knee_point([[1.0, 5.0], [1.0, 3.0]], [True, True]) == 0  # no range in one objective
    assert knee_point(np.empty((0, 2)), [True, True]) is None


def test_knee_point_of_a_front_without_range_in_an_objective_warns_nothing():
    # A front of one point, or one whose accuracy is the same everywhere (an inference-only sweep: the same weights):
    # the objective without a range counts as 1 for every point, with no numpy "invalid value in divide" warning in
    # the sweep's log or the report's output.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert knee_point([[0.9, 10.0]], [True, False]) == 0
        assert knee_point([[0.9, 10.0], [0.9, 10.0]], [True, False]) == 0
        # (accuracy, J per inference, latency ms): the same accuracy, a trade-off between the other two.
        Y = [[0.97, 0.004, 10.0], [0.97, 0.002, 12.0], [0.97, 0.001, 20.0]]
        assert knee_point(Y, [True, False, False]) == 1


def test_dominators_name_a_dominating_frontier_point():
    doms = dominators(MIXED, MIXED_DIRECTIONS)
    assert doms[:5] == [None, None, 1, None, 0]
    mask = pareto_mask(MIXED, MIXED_DIRECTIONS)
    Z = MIXED * np.array([1.0, -1.0])
    for i, j in enumerate(doms):
        if j is None:
            assert mask[i]
        else:
            assert mask[j]
            assert np.all(Z[j] >= Z[i])
            assert np.any(Z[j] > Z[i])


def test_dominators_pick_the_nearest_dominating_point():
    # Point 2 is dominated by 1 and 4; 4 is nearer in normalised space.
    assert dominators([[1.0, 1.0], [3.0, 3.0], [0.4, 2.0], [2.9, 0.9], [0.5, 3.1]], [True, True]) == [
        1,
        None,
        4,
        1,
        None,
    ]
    assert dominators(np.empty((0, 2)), [True, True]) == []


def test_infer_reference_point_is_the_front_nadir_pushed_out():
    # Point 5 (0.5, 30) is dominated: it must not drag the reference point out.
    ref = infer_reference_point(MIXED, MIXED_DIRECTIONS, margin=0.1)
    # Front: acc in [0.6, 0.9], energy in [4, 10].
    assert ref.tolist() == pytest.approx([0.6 - 0.1 * 0.3, 10.0 + 0.1 * 6.0])
    assert infer_reference_point(MIXED, MIXED_DIRECTIONS, margin=0.0).tolist() == pytest.approx([0.6, 10.0])
    # Every frontier point strictly dominates the inferred point: each contributes hypervolume.
    assert hypervolume(MIXED[[0, 1, 3]], ref, MIXED_DIRECTIONS) > 0


def test_an_inferred_reference_point_stays_beyond_a_front_whose_objective_is_constant_and_large():
    # 3e8 - 0.1 * 1e-7 rounds back to 3e8: the point was the nadir itself, and the hypervolume 0.
    Y = np.array([[1.0, 2.0, 3e8], [2.0, 1.0, 3e8]])
    maximize = [True, True, False]
    ref = infer_reference_point(Y, maximize)
    assert ref[2] > 3e8
    assert hypervolume(Y, ref, maximize) > 0


def test_infer_reference_point_matches_botorch():
    torch = pytest.importorskip("torch")
    from botorch.utils.multi_objective.hypervolume import infer_reference_point as botorch_infer
    from botorch.utils.multi_objective.pareto import is_non_dominated

    rng = np.random.default_rng(0)
    Y = rng.normal(size=(30, 3))
    maximize = [True, False, True]
    signs = np.where(maximize, 1.0, -1.0)
    Z = torch.tensor(Y * signs)
    expected = botorch_infer(Z[is_non_dominated(Z)], scale=0.2).numpy() * signs
    assert infer_reference_point(Y, maximize, margin=0.2) == pytest.approx(expected)
    # Single point: the margin scales with |value|.
    single = torch.tensor([[2.0, -4.0]])
    assert infer_reference_point([[2.0, 4.0]], [True, False]).tolist() == pytest.approx(
        (botorch_infer(single).numpy() * np.array([1.0, -1.0])).tolist()
    )


def test_infer_reference_point_counts_a_repeated_point_once():
    # One configuration evaluated twice is a front of one point: the margin scales with |value|, as for a single row,
    # not with the zero range between the copies (which left the point 1e-7 from the front).
    repeated = infer_reference_point([[1.0, 3.0], [1.0, 3.0], [0.0, 0.0]], [True, True])
    assert repeated.tolist() == pytest.approx(infer_reference_point([[1.0, 3.0]], [True, True]).tolist())
    assert repeated.tolist() == pytest.approx([0.9, 2.7])


@pytest.mark.parametrize("margin", [-0.1, math.nan])
def test_infer_reference_point_rejects_bad_margin(margin):
    with pytest.raises(ValueError, match="the margin must be a finite number >= 0"):
        infer_reference_point(MIXED, MIXED_DIRECTIONS, margin=margin)


def test_infer_reference_point_needs_points():
    with pytest.raises(ValueError, match="Y has no points"):
        infer_reference_point(np.empty((0, 2)), MIXED_DIRECTIONS)


def test_frontier_imports_only_numpy():
    code = (
        "import sys, lightning_ecopt.frontier as f; "
        "heavy = sorted(m for m in ('torch', 'botorch', 'ax', 'moocore') if m in sys.modules); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_staircase_connects_the_frontier_and_closes_on_the_reference_point():
    from lightning_ecopt.frontier import staircase

    # (accuracy: maximise, energy_j: minimise); dominated points 2, 4, 5 are left out, best accuracy first.
    line = staircase(MIXED, MIXED_DIRECTIONS, ref=[0.4, 40.0])
    assert line.tolist() == [
        [0.9, 40.0],
        [0.9, 10.0],
        [0.8, 10.0],
        [0.8, 5.0],
        [0.6, 5.0],
        [0.6, 4.0],
        [0.4, 4.0],
    ]
    # The region between the staircase and the reference point is the hypervolume (shoelace formula).
    closed = np.vstack([line, [[0.4, 40.0]]])
    x, y = closed[:, 0], closed[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    assert area == pytest.approx(hypervolume(MIXED, [0.4, 40.0], MIXED_DIRECTIONS))


@pytest.mark.parametrize("ref", [[0.6, 12.0], [0.95, 12.0], [0.4, 40.0], [0.4, 4.5], [0.7, 8.0]])
def test_staircase_area_is_the_hypervolume_when_points_lie_outside_the_reference_box(ref: list[float]) -> None:
    from lightning_ecopt.frontier import staircase

    # A narrow (inferred) box leaves frontier points outside it; the shaded region must still be the hypervolume.
    Y, directions = [[0.9, 10.0], [0.5, 2.0], [0.8, 5.0], [0.6, 4.0]], [True, False]
    line = staircase(Y, directions, ref=ref)
    expected = hypervolume(Y, ref, directions)
    if expected == 0:
        assert line.shape == (0, 2)
        return
    closed = np.vstack([line, [ref]])
    x, y = closed[:, 0], closed[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    assert area == pytest.approx(expected)
    assert (x >= min(ref[0], x.max()) - 1e-12).all()  # nothing drawn on the far side of the reference point
    assert (y <= ref[1] + 1e-12).all()


def test_staircase_edge_cases():
    from lightning_ecopt.frontier import staircase

    assert staircase(np.zeros((0, 2)), [True, True]).shape == (0, 2)
    assert staircase([[1.0, 1.0], [1.0, 1.0]], [True, True]).tolist() == [[1.0, 1.0]]  # duplicates drawn once
    with pytest.raises(ValueError, match="3 objective columns; a staircase is drawn for two"):
        staircase([[1.0, 2.0, 3.0]], [True, True, True])
    with pytest.raises(ValueError, match="two finite values"):
        staircase([[1.0, 2.0]], [True, True], ref=[0.0])


def _brute_force_knee(Y, maximize):
    """The knee by its definition, point by point: normalise over the front's range, nearest to (1, ..., 1)."""
    Z = np.asarray(Y) * np.where(maximize, 1.0, -1.0)
    front = [i for i, on in enumerate(_brute_force_mask(Y, maximize)) if on]
    lo = [min(Z[i, k] for i in front) for k in range(Z.shape[1])]
    hi = [max(Z[i, k] for i in front) for k in range(Z.shape[1])]

    def distance(i):
        unit = [(Z[i, k] - lo[k]) / (hi[k] - lo[k]) if hi[k] > lo[k] else 1.0 for k in range(Z.shape[1])]
        return math.sqrt(sum((1.0 - u) ** 2 for u in unit))

    return min(front, key=lambda i: (distance(i), i))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_knee_point_matches_its_definition_on_objectives_of_very_different_scales(seed):
    rng = np.random.default_rng(seed)
    maximize = [True, False, True]
    # Ranges of 1e-3, 1 and 1e3: an objective whose range is below 1 must be scaled up, not left as it is.
    Y = rng.random(size=(30, 3)) * np.array([1e-3, 1.0, 1e3])
    assert knee_point(Y, maximize) == _brute_force_knee(Y, maximize)
    # An objective with a range below 1 and another of range 1, hand-checked: normalised, point 1 is (0.8, 0.5),
    # 0.54 from the ideal point; left unscaled, the accuracy-like column would barely count and point 3 would win.
    assert knee_point([[0.1, 0.0], [0.08, 0.5], [0.0, 1.0], [0.02, 0.95]], [True, True]) == 1
    # Nearest to (1, 1), not to a point beyond it: the balanced (0.6, 0.6) is 0.566 away, (0.98, 0.42) 0.580; from
    # (2, 2) the order would flip (1.980 against 1.881).
    assert knee_point([[0.6, 0.6], [0.98, 0.42], [0.0, 1.0], [1.0, 0.0]], [True, True]) == 0


def test_knee_point_normalises_over_the_front_only():
    # The dominated point (0.0, 0.0) stretches both ranges if it is counted: the knee moves from 1 to 2.
    Y = [[1.0, 0.2], [0.9, 0.5], [0.6, 1.0], [0.0, 0.0]]
    assert knee_point(Y, [True, True]) == _brute_force_knee(Y, [True, True]) == 1


def _brute_force_dominators(Y, maximize):
    Z = np.asarray(Y) * np.where(maximize, 1.0, -1.0)
    on_front = _brute_force_mask(Y, maximize)
    lo, hi = Z.min(axis=0), Z.max(axis=0)
    N = [
        [(z - low) / (high - low) if high > low else 0.0 for z, low, high in zip(row, lo, hi, strict=True)] for row in Z
    ]
    out = []
    for i in range(len(Z)):
        if on_front[i]:
            out.append(None)
            continue
        beats = [j for j in range(len(Z)) if on_front[j] and all(Z[j] >= Z[i]) and any(Z[j] > Z[i])]
        out.append(min(beats, key=lambda j: (math.dist(N[j], N[i]), j)))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dominators_pick_the_nearest_dominating_point_in_the_normalised_space(seed):
    rng = np.random.default_rng(seed)
    maximize = [True, False]
    # Objectives of very different scales (accuracy in [0, 1], energy in kJ): unnormalised, the energy decides alone.
    Y = rng.random(size=(40, 2)) * np.array([1.0, 5000.0])
    assert dominators(Y, maximize) == _brute_force_dominators(Y, maximize)
    # Hand-checked: (0.5, 3000 J) is dominated by (0.9, 2900 J) and (0.52, 2000 J). Over Y's ranges (accuracy 1,
    # energy 5000 J) they are 0.4005 and 0.201 away: the second. In raw units the first (100 J away) would win.
    Y = [[1.0, 6000.0], [0.0, 1000.0], [0.9, 2900.0], [0.52, 2000.0], [0.5, 3000.0]]
    assert dominators(Y, maximize) == [None, None, None, None, 3]


def test_infer_reference_point_with_no_margin_is_the_nadir_itself():
    # margin=0 is documented as the nadir exactly: the float-spacing nudge is only for a margin that rounds away.
    assert infer_reference_point(MIXED, MIXED_DIRECTIONS, margin=0.0).tolist() == [0.6, 10.0]


def test_staircase_draws_only_the_points_strictly_inside_the_reference_box():
    from lightning_ecopt.frontier import inside_reference, staircase

    # (2, 0) lies on the reference point's line: it dominates no area, and is not drawn.
    Y, ref = [[1.0, 2.0], [2.0, 0.0]], [0.0, 0.0]
    assert inside_reference(Y, ref, [True, True]).tolist() == [True, False]
    assert staircase(Y, [True, True], ref=ref).tolist() == [[1.0, 0.0], [1.0, 2.0], [0.0, 2.0]]
