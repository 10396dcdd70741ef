"""Pareto frontier arithmetic: masks, hypervolume, knee point and reference points, as pure functions on arrays.

Every function takes a matrix ``Y`` of shape ``(n_points, n_objectives)`` and one direction per objective
(``maximize[k]`` is ``True`` when larger values of objective ``k`` are better), so accuracy (maximise) and energy
(minimise) can be mixed freely. Internally the directions are folded into signs so that everything is a
maximisation, as BoTorch does; results come back in the caller's units and directions.

Only numpy is imported at module level; ``moocore`` is imported when a hypervolume is computed.

Example:
    >>> import numpy as np
    >>> Y = np.array([[0.9, 10.0], [0.8, 5.0], [0.7, 8.0], [0.6, 4.0]])  # (accuracy, energy_j)
    >>> directions = [True, False]  # maximise accuracy, minimise energy
    >>> pareto_mask(Y, directions).tolist()
    [True, True, False, True]
    >>> dominators(Y, directions)
    [None, None, 1, None]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "dominators",
    "hypervolume",
    "infer_reference_point",
    "inside_reference",
    "is_pareto_set",
    "knee_point",
    "pareto_mask",
    "staircase",
]

# BoTorch's MIN_Y_RANGE: the smallest range used to scale a reference point's margin.
_MIN_RANGE = 1e-7


def _as_matrix(Y: ArrayLike, maximize: Sequence[bool], caller: str) -> NDArray[np.float64]:
    """Check ``Y`` and ``maximize`` and return ``Y`` in maximisation terms (minimised columns negated)."""
    if not isinstance(maximize, Sequence | np.ndarray):
        raise ValueError(
            f"{caller}: maximize must be a list, tuple or array of directions, not a {type(maximize).__name__}: a "
            "generator is used up by its first reading; pass list(...) of it."
        )
    arr = np.asarray(Y, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, len(maximize))
    if arr.ndim != 2:
        raise ValueError(
            f"{caller}: Y must be a 2-D array of shape (n_points, n_objectives), got shape {arr.shape}; "
            "pass one row per point."
        )
    directions = list(maximize)
    if len(directions) != arr.shape[1]:
        raise ValueError(
            f"{caller}: maximize has {len(directions)} direction{'' if len(directions) == 1 else 's'} but Y has "
            f"{arr.shape[1]} objective column{'' if arr.shape[1] == 1 else 's'}; "
            "give one direction per column."
        )
    if not np.isfinite(arr).all():
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(arr))[:, 0]})
        raise ValueError(f"{caller}: Y has NaN or infinite values in rows {bad}; drop failed points first.")
    return arr * _signs(directions, caller)


def _signs(maximize: Sequence[bool], caller: str = "lightning_ecopt.frontier") -> NDArray[np.float64]:
    """``+1`` for each maximised objective, ``-1`` for each minimised one.

    Only booleans (or the words ``"maximize"`` / ``"minimize"``) are directions: any non-empty string is truthy, so
    ``"minimize"`` read as a boolean would have been maximised.
    """
    flags = []
    for direction in maximize:
        if isinstance(direction, (bool, np.bool_)):
            flags.append(bool(direction))
        elif isinstance(direction, str) and direction.strip().lower() in ("maximize", "minimize"):
            flags.append(direction.strip().lower() == "maximize")
        else:
            raise ValueError(
                f"{caller}: maximize={list(maximize)!r}: each direction must be True (maximise) or False (minimise), "
                f"or the word 'maximize' / 'minimize', not {direction!r}."
            )
    return np.where(np.asarray(flags, dtype=bool), 1.0, -1.0)


def _dominance(Z: NDArray[np.float64], W: NDArray[np.float64] | None = None) -> NDArray[np.bool_]:
    """Return ``D`` with ``D[j, i]`` true when point ``Z[j]`` dominates point ``W[i]`` (maximisation terms).

    ``W`` defaults to ``Z``: every point against every other.
    """
    W = Z if W is None else W
    geq = (Z[:, None, :] >= W[None, :, :]).all(axis=-1)
    gt = (Z[:, None, :] > W[None, :, :]).any(axis=-1)
    return np.asarray(geq & gt, dtype=bool)


def pareto_mask(Y: ArrayLike, maximize: Sequence[bool]) -> NDArray[np.bool_]:
    """Mark the points no other point dominates.

    Point ``a`` dominates point ``b`` when ``a`` is at least as good in every objective and strictly better in
    one. Identical points do not dominate each other, so duplicates on the frontier are all kept.

    Args:
        Y: Objective values, shape ``(n_points, n_objectives)``.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.

    Returns:
        A boolean array of length ``n_points``, ``True`` on the Pareto frontier.

    Raises:
        ValueError: ``Y`` is not 2-D, has NaN/inf values, or ``maximize`` has the wrong length.

    Example:
        >>> pareto_mask([[1.0, 1.0], [2.0, 0.5], [0.5, 0.5], [1.0, 1.0]], [True, True]).tolist()
        [True, True, False, True]
        >>> pareto_mask([[1.0, 1.0], [2.0, 0.5]], [False, False]).tolist()  # minimise both
        [True, True]
        >>> pareto_mask([[1.0, 1.0], [2.0, 0.5]], [False, True]).tolist()  # 1.0 smaller and 1.0 larger: wins
        [True, False]
    """
    Z = _as_matrix(Y, maximize, "pareto_mask")
    if Z.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(~_dominance(Z).any(axis=0), dtype=bool)


def is_pareto_set(Y: ArrayLike, maximize: Sequence[bool], mask: ArrayLike) -> bool:
    """Whether the points ``mask`` marks are exactly the Pareto frontier of ``Y`` (what :func:`pareto_mask` marks).

    Checks a frontier computed elsewhere (a results file's) in ``O(n * front)`` instead of recomputing it in
    ``O(n^2)``: no point dominates a marked one, and every unmarked point is dominated by a marked one. Like
    :func:`pareto_mask`, duplicates of a frontier point are on the frontier: leaving one unmarked fails the check.

    Args:
        Y: Objective values, shape ``(n_points, n_objectives)``.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.
        mask: One boolean per point, ``True`` on the claimed frontier.

    Returns:
        ``True`` when ``mask`` is ``pareto_mask(Y, maximize)``.

    Raises:
        ValueError: ``Y`` is not 2-D, has NaN/inf values, ``maximize`` has the wrong length, or ``mask`` is not one
            boolean per point.

    Example:
        >>> Y = [[1.0, 1.0], [2.0, 0.5], [0.5, 0.5]]
        >>> is_pareto_set(Y, [True, True], [True, True, False])
        True
        >>> is_pareto_set(Y, [True, True], [True, False, False])  # [2.0, 0.5] is on it too
        False
    """
    Z = _as_matrix(Y, maximize, "is_pareto_set")
    on = np.asarray(mask, dtype=bool)
    if on.shape != (Z.shape[0],):
        raise ValueError(
            f"is_pareto_set: mask has shape {on.shape} but Y has {Z.shape[0]} points; give one boolean per row of Y."
        )
    S = Z[on]
    return bool(not _dominance(Z, S).any() and _dominance(S, Z[~on]).any(axis=0).all())


def hypervolume(Y: ArrayLike, ref: ArrayLike, maximize: Sequence[bool]) -> float:
    """Compute the hypervolume dominated by ``Y`` and bounded by the reference point ``ref``.

    Only points strictly better than ``ref`` in every objective contribute; the others (and an empty ``Y``)
    add nothing. Computed by ``moocore.hypervolume``.

    Args:
        Y: Objective values, shape ``(n_points, n_objectives)``.
        ref: The reference point: the worst acceptable value of each objective, in the caller's directions.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.

    Returns:
        The hypervolume, a non-negative float: ``inf`` where it is past the largest float.

    Raises:
        ValueError: bad shapes, NaN/inf values, or a reference point of the wrong length.

    Example:
        >>> hypervolume([[1.0, 2.0], [2.0, 1.0]], ref=[0.0, 0.0], maximize=[True, True])
        3.0
        >>> hypervolume([[1.0, 2.0], [2.0, 1.0]], ref=[3.0, 3.0], maximize=[False, False])
        3.0
        >>> hypervolume([[0.9, 10.0], [0.8, 5.0]], ref=[0.5, 20.0], maximize=[True, False])  # mixed
        5.5
        >>> hypervolume([[5.0, 5.0]], ref=[3.0, 3.0], maximize=[False, False])  # worse than the reference
        0.0
    """
    Z = _as_matrix(Y, maximize, "hypervolume")
    rz = _reference_terms(ref, maximize, Z.shape[1], "hypervolume")
    better = (rz < Z).all(axis=1)
    if not better.any():
        return 0.0
    import moocore  # lazily: keeps `import lightning_ecopt.frontier` numpy-only

    inside = Z[better]
    with np.errstate(over="ignore"):
        finite_distances = bool(np.isfinite(inside - rz).all())
    if finite_distances:
        volume = float(moocore.hypervolume(inside, ref=rz, maximise=True))
    else:
        # A distance to ``ref`` past the largest float (values near 1e308) crashed moocore (a segmentation fault):
        # measured in halves, each is finite, and the volume is 2^k times the halves' one (inf where it overflows).
        with np.errstate(over="ignore"):
            volume = float(moocore.hypervolume(inside / 2, ref=rz / 2, maximise=True) * 2.0 ** Z.shape[1])
    # moocore's sums overflow past the largest float (a reference point of 1e200 meant as "no bound" in four
    # objectives): inf, or nan where two infinities meet. A volume whose parts overflow overflows too: inf.
    return math.inf if math.isnan(volume) else volume


def inside_reference(Y: ArrayLike, ref: ArrayLike, maximize: Sequence[bool]) -> NDArray[np.bool_]:
    """Mark the points strictly better than ``ref`` in every objective: those that count toward the hypervolume.

    Args:
        Y: Objective values, shape ``(n_points, n_objectives)``.
        ref: The reference point, in the caller's directions.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.

    Returns:
        A boolean mask, one entry per point.

    Raises:
        ValueError: bad shapes, NaN/inf values, or a reference point of the wrong length.

    Example:
        >>> inside_reference([[0.9, 10.0], [0.8, 25.0], [0.5, 5.0]], ref=[0.5, 20.0], maximize=[True, False]).tolist()
        [True, False, False]
    """
    Z = _as_matrix(Y, maximize, "inside_reference")
    return np.asarray((_reference_terms(ref, maximize, Z.shape[1], "inside_reference") < Z).all(axis=1), dtype=bool)


def _reference_terms(ref: ArrayLike, maximize: Sequence[bool], n_objectives: int, caller: str) -> NDArray[np.float64]:
    """Check ``ref`` and return it in maximisation terms (minimised entries negated)."""
    r = np.asarray(ref, dtype=np.float64).reshape(-1)
    if r.shape[0] != n_objectives or not np.isfinite(r).all():
        raise ValueError(
            f"{caller}: ref={r.tolist()} must hold one finite value per objective ({n_objectives}); "
            "pass the worst acceptable value of each objective."
        )
    return np.asarray(r * _signs(maximize), dtype=np.float64)


def knee_point(Y: ArrayLike, maximize: Sequence[bool]) -> int | None:
    """Pick the frontier's knee: the balanced trade-off.

    Definition: each objective is normalised to ``[0, 1]`` over the Pareto frontier's own range (1 = the best
    value on the frontier, 0 = the worst), and the knee is the frontier point closest (Euclidean distance) to the
    ideal point ``(1, ..., 1)``. An objective with no range on the frontier counts as 1 for every point. Ties go
    to the lowest index.

    Args:
        Y: Objective values, shape ``(n_points, n_objectives)``.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.

    Returns:
        The row index of the knee in ``Y``, or ``None`` when ``Y`` is empty.

    Raises:
        ValueError: bad shapes or NaN/inf values.

    Example:
        >>> knee_point([[1.0, 0.0], [0.8, 0.8], [0.0, 1.0], [0.5, 0.5]], [True, True])
        1
        >>> knee_point([[0.9, 10.0], [0.85, 3.0], [0.5, 1.0]], [True, False])  # accuracy vs energy_j
        1
        >>> knee_point([[3.0, 3.0]], [True, True])
        0
        >>> knee_point([], [True, True]) is None
        True
    """
    Z = _as_matrix(Y, maximize, "knee_point")
    if Z.shape[0] == 0:
        return None
    front = np.flatnonzero(~_dominance(Z).any(axis=0))
    F = Z[front]
    lo, hi = F.min(axis=0), F.max(axis=0)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    normalised = np.where(span > 0, (F - lo) / safe, 1.0)
    distance = np.linalg.norm(1.0 - normalised, axis=1)
    return int(front[int(np.argmin(distance))])


def dominators(Y: ArrayLike, maximize: Sequence[bool]) -> list[int | None]:
    """For each point, name a frontier point that dominates it.

    Frontier points get ``None``. A dominated point gets, among the frontier points that dominate it, the
    nearest one after normalising each objective to the range of ``Y`` (ties to the lowest index): the smallest
    change that beats it. Every dominated point has one, since dominance is transitive.

    Args:
        Y: Objective values, shape ``(n_points, n_objectives)``.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.

    Returns:
        A list of length ``n_points``: ``None`` for frontier points, else the row index of a dominating
        frontier point.

    Raises:
        ValueError: bad shapes or NaN/inf values.

    Example:
        >>> dominators([[1.0, 1.0], [3.0, 3.0], [0.4, 2.0], [2.9, 0.9], [0.5, 3.1]], [True, True])
        [1, None, 4, 1, None]
        >>> dominators([[1.0, 10.0], [0.0, 2.0], [2.0, 1.0]], [False, False])
        [1, None, None]
    """
    Z = _as_matrix(Y, maximize, "dominators")
    n = Z.shape[0]
    if n == 0:
        return []
    D = _dominance(Z)
    on_front: NDArray[np.bool_] = np.asarray(~D.any(axis=0), dtype=bool)
    span = Z.max(axis=0) - Z.min(axis=0)
    N = (Z - Z.min(axis=0)) / np.where(span > 0, span, 1.0)
    out: list[int | None] = []
    for i in range(n):
        if on_front[i]:
            out.append(None)
            continue
        candidates = np.flatnonzero(D[:, i] & on_front)
        distance = np.linalg.norm(N[candidates] - N[i], axis=1)
        out.append(int(candidates[int(np.argmin(distance))]))
    return out


def infer_reference_point(Y: ArrayLike, maximize: Sequence[bool], margin: float = 0.1) -> NDArray[np.float64]:
    """Infer a reference point from observed data, as BoTorch's ``infer_reference_point`` does.

    Per objective, the worst value on the observed Pareto frontier (the nadir), pushed further out by ``margin``
    times the frontier's range in that objective (``ref = nadir - margin * (ideal - nadir)`` in maximisation
    terms). A frontier of one point (repeats count once) uses ``margin * |value|`` instead of the range; a range
    below 1e-7 is raised to 1e-7 (BoTorch's ``MIN_Y_RANGE``), so the reference point is always strictly worse than
    every frontier point.

    Args:
        Y: Observed objective values, shape ``(n_points, n_objectives)``, at least one row.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.
        margin: Fraction of the frontier's range to step beyond its worst value; non-negative.

    Returns:
        The reference point, one value per objective, in the caller's directions.

    Raises:
        ValueError: ``Y`` is empty, has NaN/inf values, or ``margin`` is negative.

    Example:
        >>> infer_reference_point([[1.0, 3.0], [3.0, 1.0], [0.0, 0.0]], [True, True]).tolist()
        [0.8, 0.8]
        >>> infer_reference_point([[0.9, 10.0], [0.5, 2.0], [0.4, 20.0]], [True, False]).round(6).tolist()
        [0.46, 10.8]
    """
    Z = _as_matrix(Y, maximize, "infer_reference_point")
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"infer_reference_point(margin={margin!r}): the margin must be a finite number >= 0.")
    if Z.shape[0] == 0:
        raise ValueError(
            "infer_reference_point: Y has no points; infer the reference point once some trials completed, "
            "or give one explicitly."
        )
    # Repeated points (a configuration evaluated twice, a deterministic task) are one point, as BoTorch and Ax count
    # them: two copies of one point have no range, and would leave the reference point a hair's breadth from it.
    front = np.unique(Z[~_dominance(Z).any(axis=0)], axis=0)
    nadir = front.min(axis=0)
    if front.shape[0] == 1:
        span = np.maximum(np.abs(front[0]), _MIN_RANGE)
    else:
        span = np.maximum(front.max(axis=0) - nadir, _MIN_RANGE)
    ref_max_terms = nadir - margin * span
    if margin > 0:
        # A span tiny next to the value (an objective constant over the front, at 3e8) moves it by less than its
        # float spacing: the point would be the nadir itself, no frontier point beyond it, and the hypervolume 0.
        ref_max_terms = np.minimum(ref_max_terms, np.nextafter(nadir, -np.inf))
    return np.asarray(ref_max_terms * _signs(maximize), dtype=np.float64)


def staircase(Y: ArrayLike, maximize: Sequence[bool], ref: ArrayLike | None = None) -> NDArray[np.float64]:
    """The outline of the region a two-objective frontier dominates: the line that connects its points.

    A Pareto frontier is drawn as a staircase, not as straight segments: between two frontier points the attainable
    region turns at the corner that is worse than both (the best of each objective that both points reach). The
    frontier points are taken from ``Y`` (dominated points and duplicates are ignored) and ordered from the best
    value of the first objective to its worst. With ``ref``, only the points strictly better than ``ref`` in both
    objectives are drawn (those outside the reference box dominate nothing :func:`hypervolume` counts), and the line
    starts and ends on the reference point's lines, so it closes the region whose area :func:`hypervolume` measures;
    it is empty when no point is inside the box.

    Args:
        Y: Objective values, shape ``(n_points, 2)``.
        maximize: One direction per objective: ``True`` to maximise, ``False`` to minimise.
        ref: Optional reference point (the worst acceptable value of each objective).

    Returns:
        The vertices of the line, shape ``(n_vertices, 2)``, in the caller's units; empty when ``Y`` is.

    Raises:
        ValueError: ``Y`` does not have exactly two objective columns, has NaN/inf values, or ``ref`` is not two
            finite values.

    Example:
        >>> staircase([[0.9, 10.0], [0.8, 5.0], [0.7, 8.0]], [True, False]).tolist()  # (accuracy, energy_j)
        [[0.9, 10.0], [0.8, 10.0], [0.8, 5.0]]
        >>> staircase([[1.0, 2.0], [2.0, 1.0]], [True, True], ref=[0.0, 0.0]).tolist()
        [[2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 2.0]]
        >>> staircase([[1.0, 2.0], [2.0, 1.0]], [True, True], ref=[0.0, 1.5]).tolist()  # (2, 1) is outside the box
        [[1.0, 1.5], [1.0, 2.0], [0.0, 2.0]]
    """
    Z = _as_matrix(Y, maximize, "staircase")
    if Z.shape[1] != 2:
        raise ValueError(
            f"staircase: Y has {Z.shape[1]} objective columns; a staircase is drawn for two objectives, so pass "
            "two columns (e.g. Y[:, [0, 1]] with the matching two directions)."
        )
    rz: NDArray[np.float64] | None = None
    if ref is not None:
        r = np.asarray(ref, dtype=np.float64).reshape(-1)
        if r.shape[0] != 2 or not np.isfinite(r).all():
            raise ValueError(f"staircase: ref={r.tolist()} must hold two finite values, one per objective.")
        rz = r * _signs(maximize)
        Z = Z[(rz < Z).all(axis=1)]
    if Z.shape[0] == 0:
        return np.zeros((0, 2), dtype=np.float64)
    front = np.unique(Z[~_dominance(Z).any(axis=0)], axis=0)
    front = front[np.argsort(-front[:, 0], kind="stable")]  # best first objective first; the second rises
    vertices: list[NDArray[np.float64]] = []
    if rz is not None:
        vertices.append(np.array([front[0, 0], rz[1]]))
    for k, point in enumerate(front):
        if k > 0:
            vertices.append(np.array([point[0], front[k - 1, 1]]))
        vertices.append(point)
    if rz is not None:
        vertices.append(np.array([rz[0], front[-1, 1]]))
    return np.asarray(np.stack(vertices) * _signs(maximize), dtype=np.float64)
