"""An exact, faster non-dominated mask for q(Log)NEHVI's baseline pruning with two objectives.

Building q(Log)NEHVI, BoTorch prunes its baseline (``prune_inferior_points_multi_objective``): it draws 2,048 joint
posterior samples of every trial so far and keeps the trials that are on the Pareto front of at least one sample.
Its mask, ``is_non_dominated``, compares every pair of points at once while that fits in 5 MB and otherwise loops
over the points in Python: with 2,048 samples that is every sweep past about 18 trials. A proposal at 400 trials of
the paper's CNN space spent 8.2 of its 18.7 s there (docs/bench-optimizer.md).

With two objectives, the accuracy-and-energy case, the same mask is a sort away: order each sample's points by the
first objective (ties by the second, both descending); a point is dominated exactly when a point of a strictly greater
first value has a second value at least its own, or a point of an equal first value has a strictly greater second.
Prefix maxima over the sorted points answer both for every sample at once: 16x faster than the loop at 50 points,
63x at 400 (``benchmarks/pareto_mask.py``, side by side); the pruning of a 400-trial proposal took 0.29 s of CPU
instead of 7.4 s. The mask is BoTorch's own, bit for bit (ties, duplicates and infinities included; tested against both
of BoTorch's implementations), so every proposal is the one BoTorch's loop gives: only its time changes. Anything
else (three objectives or more, a NaN, outcomes that are not floats, a deduplicated mask) goes to BoTorch's function.

:func:`faster_baseline_pruning` puts :func:`non_dominated` where BoTorch's pruning looks its mask up, for the span of
one proposal (the sweep's proposals already run one at a time per process, under its proposal lock); BoTorch offers
no argument for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


def non_dominated(Y: Tensor, maximize: bool = True, deduplicate: bool = True) -> Tensor:
    """BoTorch's ``is_non_dominated``, by sorting where there are two objectives and no deduplication.

    Args:
        Y: A ``(batch_shape) x n x m`` tensor of outcomes.
        maximize: Whether larger outcomes are better.
        deduplicate: Keep only the first of equal points on the front (BoTorch's default); this case, with three
            objectives or more, with a NaN anywhere, or with outcomes that are not floats (negating an unsigned
            integer to minimise wraps it), is BoTorch's own function.

    Returns:
        A ``(batch_shape) x n`` boolean tensor: whether each point is dominated by no other point of its batch.

    >>> import torch
    >>> Y = torch.tensor([[1.0, 3.0], [2.0, 2.0], [2.0, 1.0], [1.0, 3.0], [0.0, 0.0]])
    >>> non_dominated(Y, deduplicate=False).tolist()
    [True, True, False, True, False]
    """
    import torch
    from botorch.utils.multi_objective.pareto import is_non_dominated

    if (
        deduplicate
        or not Y.is_floating_point()
        or Y.ndim < 2
        or Y.shape[-1] != 2
        or Y.shape[-2] == 0
        or bool(Y.isnan().any())
    ):
        return is_non_dominated(Y, maximize=maximize, deduplicate=deduplicate)
    Z = Y if maximize else -Y
    first, second = Z[..., 0], Z[..., 1]
    # Descending by the first objective, ties descending by the second (a stable sort by the second, then the first).
    by_second = torch.argsort(second, dim=-1, descending=True, stable=True)
    order = by_second.gather(-1, torch.argsort(first.gather(-1, by_second), dim=-1, descending=True, stable=True))
    first, second = first.gather(-1, order), second.gather(-1, order)
    position = torch.arange(first.shape[-1], device=Y.device).expand_as(first)
    starts = torch.ones_like(first, dtype=torch.bool)
    starts[..., 1:] = first[..., 1:] != first[..., :-1]
    # Where the run of points sharing each point's first value starts; every point before it has a greater one.
    start = torch.where(starts, position, 0).cummax(dim=-1).values
    best_before = second.cummax(dim=-1).values.gather(-1, (start - 1).clamp_min(0))
    dominated = ((start > 0) & (best_before >= second)) | (second.gather(-1, start) > second)
    mask = torch.empty_like(dominated)
    mask.scatter_(-1, order, ~dominated)
    return mask


@contextlib.contextmanager
def faster_baseline_pruning() -> Iterator[None]:
    """Within this block, BoTorch's baseline pruning takes its mask from :func:`non_dominated` (the same mask).

    Yields:
        Nothing; BoTorch's own function is back in place afterwards, however the block ends.
    """
    from botorch.acquisition.multi_objective import utils

    own = utils.is_non_dominated
    utils.is_non_dominated = non_dominated
    try:
        yield
    finally:
        utils.is_non_dominated = own
