"""The sorted pruning mask on CUDA (marker ``gpu``): BoTorch's mask bit for bit where CUDA sorts otherwise.

On the CPU the mask is tested against both of BoTorch's implementations (tests/unittests/test_pareto_mask.py). CUDA
sorts with other kernels (a radix sort past 4,096 points per row) and may order -0.0 and 0.0 otherwise; the mask must
not depend on either.
"""

from __future__ import annotations

import pytest
import torch
from botorch.utils.multi_objective.pareto import is_non_dominated

from lightning_ecopt.sweeper.pareto import non_dominated

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize(("batch", "n"), [(512, 50), (512, 400), (4, 5000)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_the_mask_is_botorch_s_on_cuda(batch: int, n: int, dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(n)
    t = torch.rand(batch, n, generator=generator, dtype=dtype)
    Y = torch.stack([t, 1 - t**2], dim=-1) + 0.02 * torch.randn(batch, n, 2, generator=generator, dtype=dtype)
    Y[..., ::7, 0] = Y[..., 3:4, 0]  # ties on the first objective
    Y[..., ::11, :] = Y[..., 5:6, :]  # duplicates
    Y[..., 0, 1] = -0.0
    Y[..., 1, 1] = 0.0
    Y = Y.cuda()
    for maximize in (True, False):
        expected = is_non_dominated(Y.cpu(), maximize=maximize, deduplicate=False)
        got = non_dominated(Y, maximize=maximize, deduplicate=False)
        assert got.device == Y.device
        assert torch.equal(got.cpu(), expected)
