"""The sorted non-dominated mask (``sweeper.pareto``): BoTorch's own mask, bit for bit, in q(Log)NEHVI's pruning."""

import contextlib

import pytest

torch = pytest.importorskip("torch")

from botorch.acquisition.multi_objective import utils as botorch_mo_utils  # noqa: E402
from botorch.utils.multi_objective.pareto import _is_non_dominated_loop, is_non_dominated  # noqa: E402

from lightning_ecopt.sweeper import pareto  # noqa: E402
from lightning_ecopt.sweeper.loop import ParetoSweep  # noqa: E402
from lightning_ecopt.sweeper.objectives import parse_objectives  # noqa: E402
from lightning_ecopt.sweeper.settings import SweepSettings  # noqa: E402
from lightning_ecopt.sweeper.space import parse_search_space  # noqa: E402

pytestmark = pytest.mark.usefixtures("quiet_warnings")

INF = float("inf")


def botorch_masks(Y, maximize=True):
    """BoTorch's two implementations (all pairs at once; the loop it takes past 5 MB), which must agree."""
    broadcast = is_non_dominated(Y, maximize=maximize, deduplicate=False)
    loop = _is_non_dominated_loop(Y, maximize=maximize, deduplicate=False)
    assert torch.equal(broadcast, loop)
    return broadcast


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("shape", [(1, 2), (7, 2), (64, 30, 2), (3, 5, 40, 2)])
def test_the_mask_is_botorch_s_on_continuous_samples(shape, maximize):
    generator = torch.Generator().manual_seed(sum(shape))
    t = torch.rand(shape[:-1], generator=generator, dtype=torch.double)
    Y = torch.stack([t, 1 - t**2], dim=-1) + 0.05 * torch.randn(shape, generator=generator, dtype=torch.double)
    assert torch.equal(pareto.non_dominated(Y, maximize=maximize, deduplicate=False), botorch_masks(Y, maximize))


def test_the_mask_is_botorch_s_with_ties_duplicates_and_infinities():
    generator = torch.Generator().manual_seed(0)
    for case in range(200):
        n = int(torch.randint(1, 25, (), generator=generator))
        Y = torch.randint(0, 4, (16, n, 2), generator=generator).double()  # ties on every axis, many duplicates
        if case % 3 == 0:
            Y[Y == 3] = INF
        if case % 4 == 0:
            Y[Y == 0] = -INF
        for maximize in (True, False):
            got = pareto.non_dominated(Y, maximize=maximize, deduplicate=False)
            assert torch.equal(got, botorch_masks(Y, maximize)), (case, Y, got)


def test_a_worked_example():
    Y = torch.tensor([[1.0, 3.0], [2.0, 2.0], [2.0, 1.0], [1.0, 3.0], [0.0, 0.0], [3.0, 0.0], [3.0, 0.0]])
    # [2, 1] under [2, 2] (equal first, greater second); [0, 0] under all; the duplicates of a front point stay.
    assert pareto.non_dominated(Y, deduplicate=False).tolist() == [True, True, False, True, False, True, True]


@pytest.mark.parametrize(
    ("Y", "deduplicate"),
    [
        (torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [0.0, 0.0, 0.0]]), False),  # three objectives
        (torch.tensor([[float("nan"), 2.0], [1.0, 3.0], [0.5, 0.5]]), False),  # a NaN
        (torch.tensor([[1.0, 3.0], [1.0, 3.0], [0.0, 0.0]]), True),  # deduplicated
        (torch.zeros(0, 2), False),  # no point
    ],
)
def test_other_cases_are_botorch_s_own(Y, deduplicate):
    assert torch.equal(pareto.non_dominated(Y, deduplicate=deduplicate), is_non_dominated(Y, deduplicate=deduplicate))


def test_botorch_s_pruning_keeps_the_same_points_with_the_sorted_mask():
    from botorch.models import ModelListGP, SingleTaskGP

    generator = torch.Generator().manual_seed(0)
    X = torch.rand(60, 3, generator=generator, dtype=torch.double)
    Y1 = X.sum(-1, keepdim=True)
    Y2 = -X[:, :2].sum(-1, keepdim=True) + 0.3 * X[:, 2:]
    model = ModelListGP(SingleTaskGP(X, Y1), SingleTaskGP(X, Y2))
    ref = torch.tensor([0.0, -2.0], dtype=torch.double)

    def prune():
        torch.manual_seed(1)
        return botorch_mo_utils.prune_inferior_points_multi_objective(model, X, ref)

    own = prune()
    with pareto.faster_baseline_pruning():
        assert botorch_mo_utils.is_non_dominated is pareto.non_dominated
        sorted_mask = prune()
    assert botorch_mo_utils.is_non_dominated is is_non_dominated
    assert 0 < len(own) < len(X)  # the pruning dropped some points and kept others
    assert torch.equal(sorted_mask, own)


def test_botorch_s_mask_is_back_after_an_error():
    with pytest.raises(RuntimeError, match="boom"), pareto.faster_baseline_pruning():
        raise RuntimeError("boom")
    assert botorch_mo_utils.is_non_dominated is is_non_dominated


def bowl(p):
    return {"f1": (p["x"] - 0.3) ** 2 + 0.5 * p["y"], "f2": (1 - p["x"]) ** 2 + (p["y"] - 0.6) ** 2}


def proposals(botorch_mask):
    settings = SweepSettings(
        parse_objectives({"f1": "minimize", "f2": "minimize"}, None), n_trials=9, n_initial_trials=4, seed=0
    )
    space = parse_search_space({"x": "interval(0, 1)", "y": "interval(0, 1)"}, [])
    fast = pareto.faster_baseline_pruning
    if botorch_mask:
        pareto.faster_baseline_pruning = contextlib.nullcontext
    try:
        result = ParetoSweep.from_function(space, settings, bowl).run()
    finally:
        pareto.faster_baseline_pruning = fast
    return [t.params for t in sorted(result.trials, key=lambda t: t.trial_index)]


def test_the_sweep_prunes_with_the_sorted_mask_and_proposes_what_botorch_s_mask_proposes(monkeypatch):
    calls = []
    real = pareto.non_dominated

    def counted(Y, maximize=True, deduplicate=True):
        calls.append(deduplicate)
        return real(Y, maximize, deduplicate)

    monkeypatch.setattr(pareto, "non_dominated", counted)
    ours = proposals(botorch_mask=False)
    assert calls.count(False) == 5  # one pruning per model proposal (trials 5-9)
    assert proposals(botorch_mask=True) == ours
    assert calls.count(False) == 5  # BoTorch's own mask: the sorted one not called


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int64])
def test_integer_outcomes_minimised_are_botorch_s_own(dtype):
    """Negating to minimise wraps an unsigned (and the smallest signed) integer: 0 - 1 is 255 in uint8, so the
    sorted mask of integer outcomes disagreed with BoTorch's, which compares ``<=`` as given."""
    info = torch.iinfo(dtype)
    Y = torch.tensor([[0, 3], [1, 2], [info.min, info.max], [2, 2], [info.max, info.min]], dtype=dtype)
    for maximize in (True, False):
        assert torch.equal(pareto.non_dominated(Y, maximize, deduplicate=False), botorch_masks(Y, maximize))
