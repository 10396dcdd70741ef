import json

import pytest

torch = pytest.importorskip("torch")

from lightning_ecopt.sweeper import discrete  # noqa: E402
from lightning_ecopt.sweeper.discrete import is_fully_discrete, untried_candidates  # noqa: E402
from lightning_ecopt.sweeper.loop import ParetoSweep  # noqa: E402
from lightning_ecopt.sweeper.objectives import parse_objectives  # noqa: E402
from lightning_ecopt.sweeper.settings import SweepSettings  # noqa: E402
from lightning_ecopt.sweeper.space import parse_search_space  # noqa: E402
from lightning_ecopt.sweeper.standardize import ScaleFreeStandardizeY  # noqa: E402


def _ax_transforms():
    """Ax's default transforms of a BoTorch node (its one-hot relaxation), outcomes standardised in any units."""
    from ax.adapter.registry import MBM_X_trans, Y_trans
    from ax.adapter.transforms.standardize_y import StandardizeY

    return [ScaleFreeStandardizeY if t is StandardizeY else t for t in [*MBM_X_trans, *Y_trans]]


GRID = {"a": "choice(p, q, r, s)", "b": "choice(1, 2, 3, 4)", "c": "tag(ordered, choice(0.5, 1.0, 2.0))"}
"""48 configurations: two categorical parameters and an ordered one."""


pytestmark = pytest.mark.usefixtures("quiet_warnings")


@pytest.fixture
def discrete_on(monkeypatch):
    """The discrete proposals are off by default (docs/bench-optimizer.md); these tests turn them on."""
    from lightning_ecopt.sweeper import loop

    monkeypatch.setattr(loop, "_DISCRETE_PROPOSALS", True)


@pytest.fixture
def fast_ax():
    from ax.utils.testing.mock import mock_botorch_optimize_context_manager

    with mock_botorch_optimize_context_manager(force=True):
        yield


def grid_objectives(p):
    a = "pqrs".index(p["a"])
    return {"f1": (a - 1.5) ** 2 + p["b"] * p["c"], "f2": (3 - a) * p["c"] + (4 - p["b"]) ** 2 / 4}


def make_sweep(fn, params=GRID, objectives=None, **settings):
    space = parse_search_space(params, [])
    settings.setdefault("seed", 0)
    config = SweepSettings(parse_objectives(objectives or {"f1": "minimize", "f2": "minimize"}, None), **settings)
    return ParetoSweep.from_function(space, config, fn)


@pytest.fixture
def optimize_calls(monkeypatch):
    """Record each UntriedAcquisition.optimize: candidates screened, scored, and the proposals."""
    calls: list[dict] = []
    real_untried, real_screen = discrete.untried_candidates, discrete.screen

    def untried(*args, **kwargs):
        out = real_untried(*args, **kwargs)
        calls.append({"screened": len(out), "avoid": args[1]})
        return out

    def screen(acqf, candidates, keep, *args, **kwargs):
        out = real_screen(acqf, candidates, keep, *args, **kwargs)
        calls[-1]["scored"] = len(out)
        return out

    monkeypatch.setattr(discrete, "untried_candidates", untried)
    monkeypatch.setattr(discrete, "screen", screen)
    return calls


# -- untried_candidates -----------------------------------------------------------------------------------------


def test_untried_candidates_lists_every_configuration_not_avoided_in_order():
    avoid = torch.tensor([[0.0, 0.0], [1.0, 2.0], [7.0, 7.0]])  # the last is not in the space: ignored
    got = untried_candidates([[0.0, 1.0], [0.0, 1.0, 2.0]], avoid, 10)
    assert got.tolist() == [[0.0, 1.0], [0.0, 2.0], [1.0, 0.0], [1.0, 1.0]]
    assert untried_candidates([[0.0, 1.0]], torch.tensor([[0.0], [1.0]]), 5).shape == (0, 1)


@pytest.mark.parametrize("sizes", [(5,) * 6, (100,) * 8])  # 15,625 (a permutation) and 10^16 (rejection sampling)
def test_untried_candidates_draws_distinct_untried_configurations_beyond_the_limit(sizes):
    choices = [[float(v) / 10 for v in range(size)] for size in sizes]
    avoid = torch.tensor([[c[0] for c in choices], [c[1] for c in choices]])
    got = untried_candidates(choices, avoid, 500, generator=torch.Generator().manual_seed(0))
    assert got.shape == (500, len(sizes))
    rows = {tuple(r) for r in got.tolist()}
    assert len(rows) == 500
    assert not rows & {tuple(r) for r in avoid.tolist()}
    assert all(v in c for r in got.tolist() for v, c in zip(r, choices, strict=True))
    again = untried_candidates(choices, avoid, 500, generator=torch.Generator().manual_seed(0))
    assert torch.equal(got, again)


def test_untried_candidates_without_configurations_to_avoid_lists_the_whole_space():
    """Mutation survivor: ``avoid=None`` (nothing tried yet, as documented) was never passed."""
    assert untried_candidates([[0.0, 1.0], [5.0, 6.0]], None, 10).tolist() == [[0, 5], [0, 6], [1, 5], [1, 6]]


def test_untried_candidates_refuses_a_zero_limit():
    with pytest.raises(ValueError, match=r"max_scored=0"):
        untried_candidates([[0.0, 1.0]], None, 0)


@pytest.mark.parametrize(
    ("params", "expected"),
    [(GRID, True), ({"a": "choice(p, q)", "x": "interval(0, 1)"}, False), ({"n": "range(1, 5)"}, False)],
)
def test_only_spaces_of_choices_count_as_fully_discrete(params, expected):
    assert is_fully_discrete(parse_search_space(params, []).parameters) is expected


# -- sweeps ------------------------------------------------------------------------------------------------------


def test_a_discrete_sweep_proposes_only_untried_configurations_with_a_categorical_kernel(
    fast_ax, discrete_on, optimize_calls, monkeypatch
):
    from ax.generators.torch.botorch_modular import surrogate

    models = []
    real = surrogate.Surrogate._construct_model

    def spy(self, *args, **kwargs):
        model = real(self, *args, **kwargs)
        models.append(type(model).__name__)
        return model

    monkeypatch.setattr(surrogate.Surrogate, "_construct_model", spy)
    monkeypatch.setattr(discrete, "MAX_SCORED", 8)  # fewer untried ones than the 48 - 4 would be scored in full
    result = make_sweep(grid_objectives, n_trials=14, n_initial_trials=4, max_batch_size=2).run()
    assert result.n_finished == 14
    assert result.n_reused == 0
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 14
    assert set(models) == {"MixedSingleTaskGP"}  # the categories stay categories: no one-hot relaxation
    # Ax generates a batch's trials one by one, each with the earlier ones pending: every proposal screens every
    # configuration neither tried nor pending.
    assert [c["screened"] for c in optimize_calls] == [48 - n for n in range(4, 14)]
    assert [len(c["avoid"]) for c in optimize_calls] == list(range(4, 14))
    assert {c["scored"] for c in optimize_calls} == {8}


def test_discrete_proposals_are_off_by_default_and_the_relaxation_rounds_to_untried_configurations():
    strategy = make_sweep(grid_objectives, n_trials=5, n_initial_trials=3)._generation_strategy()
    kwargs = [s.generator_kwargs for n in strategy.nodes_by_name.values() for s in n.generator_specs]
    botorch = [k for k in kwargs if "default_model_gen_options" in k]
    assert len(botorch) == 1
    assert botorch[0]["acquisition_class"] is discrete.NearestUntriedAcquisition
    assert botorch[0]["transforms"] == _ax_transforms()  # Ax's one-hot relaxation is kept


def test_a_discrete_sweep_is_reproducible_with_its_seed(fast_ax, discrete_on):
    runs = [[t.params for t in make_sweep(grid_objectives, n_trials=7, n_initial_trials=4).run().trials] for _ in "ab"]
    assert runs[0] == runs[1]


def test_a_resumed_discrete_sweep_keeps_the_discrete_proposals(fast_ax, discrete_on, optimize_calls, tmp_path):
    storage = tmp_path / "ax.json"
    make_sweep(grid_objectives, n_trials=6, n_initial_trials=4, storage=storage).run()
    saved = json.loads(storage.read_text())
    assert "UntriedAcquisition" in json.dumps(saved)
    result = make_sweep(grid_objectives, n_trials=9, n_initial_trials=4, storage=storage).run()
    assert result.n_finished == 9
    assert result.n_reused == 0
    assert len(optimize_calls) == 5  # 2 proposals before the interruption, 3 after
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 9


def test_a_single_objective_discrete_sweep_proposes_untried_configurations(
    fast_ax, discrete_on, optimize_calls, monkeypatch
):
    monkeypatch.setattr(discrete, "MAX_SCORED", 4)
    result = make_sweep(
        lambda p: {"f1": grid_objectives(p)["f1"]}, objectives={"f1": "minimize"}, n_trials=8, n_initial_trials=4
    ).run()
    assert result.n_reused == 0
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 8
    assert {c["scored"] for c in optimize_calls} == {4}


def test_a_mixed_space_keeps_axs_one_hot_relaxation(fast_ax, discrete_on, optimize_calls):
    sweep = make_sweep(
        lambda p: {"f1": p["x"] + (p["a"] == "p"), "f2": (1 - p["x"]) ** 2},
        params={"a": "choice(p, q, r)", "x": "interval(0, 1)"},
        n_trials=5,
        n_initial_trials=3,
    )
    strategy = sweep._generation_strategy()
    kwargs = [s.generator_kwargs for n in strategy.nodes_by_name.values() for s in n.generator_specs]
    # Not UntriedAcquisition: Ax's relaxation, only its rounding of exact repeats changed (NearestUntriedAcquisition).
    assert {k.get("acquisition_class") for k in kwargs} <= {None, discrete.NearestUntriedAcquisition}
    assert [k["transforms"] for k in kwargs if "transforms" in k] == [_ax_transforms()]
    assert sweep.run().n_finished == 5
    assert optimize_calls == []


def test_the_screen_keeps_the_candidates_with_the_largest_expected_improvement():
    """On a fitted two-objective GP, the screen's pick agrees with qNEHVI's over every candidate."""
    from botorch.acquisition.multi_objective.monte_carlo import qNoisyExpectedHypervolumeImprovement
    from botorch.models import MixedSingleTaskGP
    from botorch.sampling import SobolQMCNormalSampler

    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 4, (12, 3), generator=g).double()
    Y = torch.stack([-((X[:, 0] - 1.5) ** 2) - X[:, 1], -((3 - X[:, 0]) * X[:, 2]) - X[:, 1] / 2], dim=-1)
    model = MixedSingleTaskGP(X, Y, cat_dims=[0, 1, 2])
    model.covar_module.base_kernel.lengthscale = 1.0  # a fixed, plausible fit: no optimiser in a unit test
    ref = Y.min(dim=0).values - 0.1
    acqf = qNoisyExpectedHypervolumeImprovement(
        model, ref_point=ref, X_baseline=X, sampler=SobolQMCNormalSampler(torch.Size([64]), seed=0)
    )
    candidates = untried_candidates([[0.0, 1.0, 2.0, 3.0]] * 3, X, 1000)
    with torch.no_grad():
        exact = acqf(candidates.unsqueeze(-2))
    kept = discrete.screen(acqf, candidates, 8)
    assert len(set(kept.tolist())) == 8
    assert int(exact.argmax()) in kept.tolist()


def test_the_screen_reads_each_candidates_marginal_posterior_whatever_the_chunk(monkeypatch):
    """Chunks of one point (a marginal posterior each) and larger chunks (a joint posterior's diagonal) agree."""
    from botorch.acquisition.multi_objective.monte_carlo import qNoisyExpectedHypervolumeImprovement
    from botorch.models import SingleTaskGP

    g = torch.Generator().manual_seed(1)
    X = torch.rand(10, 4, generator=g, dtype=torch.double)
    Y = torch.stack([X.sum(dim=-1), -((X[:, 0] - 0.3) ** 2) - X[:, 2]], dim=-1)
    model = SingleTaskGP(X, Y)
    model.covar_module.lengthscale = 0.5
    acqf = qNoisyExpectedHypervolumeImprovement(model, ref_point=Y.min(dim=0).values - 0.1, X_baseline=X)
    candidates = torch.rand(40, 4, generator=g, dtype=torch.double)
    picks = []
    for chunk in (1, 7, 256):
        monkeypatch.setattr(discrete, "_SCREEN_CHUNK", chunk)
        torch.manual_seed(0)  # the screen's shared normal draws
        picks.append(discrete.screen(acqf, candidates, 12).tolist())
    assert picks[0] == picks[1] == picks[2]


class _KnownPosterior:
    """A model whose posterior mean at a point is its first two coordinates, with a negligible variance."""

    def posterior(self, X, posterior_transform=None):
        mean = X[..., :2]
        return type("Posterior", (), {"mean": mean, "variance": torch.full_like(mean, 1e-12)})()


def test_the_screen_ranks_candidates_by_the_hypervolume_they_add_in_any_units():
    """Mutation survivor: the screen was read only through one candidate kept among 8, on objectives of a few units;
    objectives in [0, 1] (accuracies) scored every candidate alike. Here the answer is known: with a front of (0.5,
    0.1) and (0.1, 0.5) above (0, 0), (0.6, 0.6) adds the most, then (0.35, 0.35); the rest add little or nothing."""
    from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective

    acqf = type("Acqf", (), {})()
    acqf.model, acqf.objective = _KnownPosterior(), IdentityMCMultiOutputObjective()
    acqf.X_baseline = torch.tensor([[0.5, 0.1], [0.1, 0.5]], dtype=torch.double)
    acqf.ref_point = torch.zeros(2, dtype=torch.double)
    candidates = torch.tensor(
        [[0.05, 0.05], [0.4, 0.05], [0.2, 0.2], [0.6, 0.6], [0.35, 0.35], [0.5, 0.1]], dtype=torch.double
    )
    assert discrete.screen(acqf, candidates, 2).tolist() == [3, 4]
    acqf.X_baseline = acqf.X_baseline * 100  # the same objectives in other units: the same pick
    assert discrete.screen(acqf, candidates * 100, 2).tolist() == [3, 4]


# -- one-hot columns (Ax's OneHot transform kept for the GP) --------------------------------------------------------


def test_one_hot_columns_are_grouped_back_into_their_parameters():
    names = ["a_OH_PARAM_0", "a_OH_PARAM_1", "a_OH_PARAM_2", "c", "b_OH_PARAM_1", "b_OH_PARAM_0"]
    layout = discrete._layout(names, {3: [-1.0, 0.0, 1.0]})
    assert layout == [((0, 1, 2), True), ((3,), False), ((5, 4), True)]
    assert discrete._layout(["x", "a_OH_PARAM_0"], {}) is None  # a continuous column: not a discrete space
    items = torch.tensor([[2.0, 1.0, 0.0], [0.0, -1.0, 1.0]])
    X = discrete._from_items(items, layout, len(names))
    assert X.tolist() == [[0, 0, 1, 1, 0, 1], [1, 0, 0, -1, 1, 0]]
    assert torch.equal(discrete._to_items(X, layout), items)


def test_a_discrete_sweep_can_keep_the_one_hot_gp_and_still_propose_untried_configurations(
    fast_ax, discrete_on, optimize_calls, monkeypatch
):
    import functools

    from ax.generators.torch.botorch_modular import surrogate

    models = []
    real = surrogate.Surrogate._construct_model

    def spy(self, *args, **kwargs):
        model = real(self, *args, **kwargs)
        models.append((type(model).__name__, model.train_inputs[0].shape[-1]))
        return model

    monkeypatch.setattr(surrogate.Surrogate, "_construct_model", spy)
    monkeypatch.setattr(
        discrete, "configure_discrete", functools.partial(discrete.configure_discrete, categorical_kernel=False)
    )
    monkeypatch.setattr(discrete, "MAX_SCORED", 8)
    result = make_sweep(grid_objectives, n_trials=10, n_initial_trials=4).run()
    assert result.n_reused == 0
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 10
    assert set(models) == {("SingleTaskGP", 4 + 4 + 1)}  # a and b one-hot encoded, c ordered
    assert [c["screened"] for c in optimize_calls] == [48 - n for n in range(4, 10)]
    assert [len(c["avoid"]) for c in optimize_calls] == list(range(4, 10))


# -- nearest untried configuration (the relaxation's rounding) ---------------------------------------------------

MIXED_LAYOUT = [((0, 1, 2), True), ((3,), False), ((5, 4), True)]
"""A 3-way one-hot parameter, an ordinal one in {-1, 0, 1}, and a 2-way one-hot parameter with its columns swapped."""
MIXED_CHOICES = [[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [0.0, 1.0]]


def _all_configurations():
    items = torch.cartesian_prod(*(torch.tensor(c, dtype=torch.double) for c in MIXED_CHOICES))
    return discrete._from_items(items, MIXED_LAYOUT, 6)


def test_nearest_untried_is_the_nearest_configuration_not_avoided():
    configurations = _all_configurations()  # 18, in code order
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        x = torch.rand(6, dtype=torch.double, generator=generator) * 2 - 0.5
        k = int(torch.randint(0, 18, (1,), generator=generator))
        avoided = set(torch.randperm(18, generator=generator)[:k].tolist())
        row, code = discrete.nearest_untried(x, MIXED_LAYOUT, MIXED_CHOICES, avoided)
        distances = (configurations - x).square().sum(dim=-1)
        allowed = [c for c in range(18) if c not in avoided]
        best = min(allowed, key=lambda c: distances[c].item())
        assert code not in avoided
        assert torch.equal(row, configurations[code])
        assert distances[code].item() == pytest.approx(distances[best].item())


def test_nearest_untried_finds_nothing_when_every_configuration_is_avoided():
    x = torch.zeros(6, dtype=torch.double)
    assert discrete.nearest_untried(x, MIXED_LAYOUT, MIXED_CHOICES, set(range(18))) is None


class _FakeAcquisition:
    def __init__(self, observed, pending=None):
        self.X_observed, self.X_pending = observed, pending
        self.acqf = type("Acqf", (), {"X_baseline": observed, "X_pending": None})()


def test_the_untried_rounding_keeps_axs_rounding_unless_it_repeats():
    configurations = _all_configurations()
    observed, pending = configurations[[0, 5]], configurations[[7]]
    rounding = discrete._UntriedRounding(
        _FakeAcquisition(observed, pending), MIXED_LAYOUT, MIXED_CHOICES, lambda X: X.round()
    )
    # Restart 0: its first row rounds to tried configuration 0, its second to 0 as well, its third to an untried one.
    # Restart 1: rounds to pending configuration 7, then to configuration 12 (untried).
    near = torch.tensor([0.1, -0.05, 0.05, 0.05, 0.2, 0.0], dtype=torch.double)
    X = torch.stack(
        [
            torch.stack([configurations[0] + near, configurations[0] + 0.3 * near, configurations[12] + 0.01]),
            torch.stack([configurations[7] + 0.2, configurations[12] - 0.01, configurations[13]]),
        ]
    ).to(torch.double)
    out = rounding(X)
    assert out.shape == X.shape
    codes = [[discrete._code(rounding.index, r) for r in discrete._to_items(b, MIXED_LAYOUT).tolist()] for b in out]
    for batch in codes:
        assert len(set(batch)) == 3
        assert not set(batch) & {0, 5, 7}
    assert codes[0][2] == 12  # untried and distinct: Ax's rounding kept
    assert codes[1][1:] == [12, 13]
    for b, j in [(0, 0), (0, 1), (1, 0)]:  # each repeat went to the nearest configuration still free at its turn
        free = set(range(18)) - {0, 5, 7} - set(codes[b][:j])
        distances = (configurations - X[b, j]).square().sum(dim=-1)
        assert distances[codes[b][j]].item() == pytest.approx(min(distances[c].item() for c in free))


def test_the_untried_rounding_in_a_mixed_space_moves_only_exact_repeats_and_keeps_their_floats():
    # A 3-way one-hot parameter (columns 0-2) and a float (column 3), which Ax's rounding leaves as it is.
    layout, choices = [((0, 1, 2), True), ((3,), False)], [[0.0, 1.0, 2.0], []]
    observed = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.double)  # (0, 0.0), (2, 0.0)
    pending = torch.tensor([[0.0, 1.0, 0.0, 0.5]], dtype=torch.double)  # (1, 0.5)
    rounding = discrete._UntriedRounding(
        _FakeAcquisition(observed, pending),
        layout,
        choices,
        lambda X: torch.cat([X[..., :3].round(), X[..., 3:]], dim=-1),
        continuous=[1],
    )
    X = torch.tensor(
        [
            [[0.6, 0.3, 0.1, 0.0], [0.6, 0.1, 0.3, 0.0]],  # both round onto tried (0, 0.0)
            [[0.2, 0.7, 0.1, 0.5], [0.7, 0.2, 0.1, 0.25]],  # onto pending (1, 0.5), then onto (0, 0.25), never tried
        ],
        dtype=torch.double,
    )
    out = rounding(X)
    # The first goes to the only category free at 0.0; then none is: the second is left to Ax (the loop reuses it).
    assert out[0].tolist() == [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    # (0, 0.5) is the nearest free category at 0.5; (0, 0.25) differs from every taken configuration in its float.
    assert out[1].tolist() == [[1.0, 0.0, 0.0, 0.5], [1.0, 0.0, 0.0, 0.25]]


def test_a_repeat_no_category_can_take_is_replaced_by_the_best_random_untried_point():
    layout, choices = [((0, 1, 2), True), ((3,), False)], [[0.0, 1.0, 2.0], []]
    observed = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.double)
    acquisition = _FakeAcquisition(observed)
    # An acquisition function that prefers the second category and a large float: its best random point is clear.
    acquisition.acqf = type(
        "Acqf", (), {"X_baseline": observed, "X_pending": None, "__call__": lambda self, X: X[..., 0, 1] + X[..., 0, 3]}
    )()
    rounding = discrete._UntriedRounding(
        acquisition, layout, choices, lambda X: torch.cat([X[..., :3].round(), X[..., 3:]], dim=-1), continuous=[1]
    )
    X = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.7]], dtype=torch.double)  # every category tried at 0.0
    values = torch.tensor([0.0, 1.7], dtype=torch.double)
    out, scores = rounding.replace_repeats(X, values, [(0.0, 1.0)] * 4, None, None)
    assert out[1].tolist() == X[1].tolist()  # no repeat: kept
    assert out[0, :3].tolist() == [0.0, 1.0, 0.0]
    assert 0.95 < out[0, 3].item() < 1.0
    assert scores.tolist() == [pytest.approx(1 + out[0, 3].item()), 1.7]
    again, _ = rounding.replace_repeats(X, values, [(0.0, 1.0)] * 4, None, None)
    assert torch.equal(again, out)  # seeded: a rerun proposes the same
    kept, _ = rounding.replace_repeats(X[1:], values[1:], [(0.0, 1.0)] * 4, None, None)
    assert torch.equal(kept, X[1:])


def test_a_mixed_space_rounds_to_untried_configurations_and_a_space_of_floats_keeps_axs_acquisition():
    mixed = make_sweep(grid_objectives, params={"a": "choice(p, q, r)", "x": "interval(0, 1)"}, n_trials=5)
    floats = make_sweep(grid_objectives, params={"x": "interval(0, 1)", "y": "interval(0, 1)"}, n_trials=5)
    for sweep, expected in [(mixed, [discrete.NearestUntriedAcquisition]), (floats, [None])]:
        strategy = sweep._generation_strategy()
        kwargs = [s.generator_kwargs for n in strategy.nodes_by_name.values() for s in n.generator_specs]
        assert [k.get("acquisition_class") for k in kwargs if "default_model_gen_options" in k] == expected


def test_the_acquisition_moves_a_repeat_in_a_mixed_space_and_leaves_a_space_of_floats_to_ax(monkeypatch):
    """Mutation survivor: only the strategy's class was read, never what its optimize returns. Ax's optimiser (faked:
    it proposes a tried point, rounded by the rounding it is given) lands on a tried configuration; in a space of
    an unordered choice and a float it moves to the nearest category untried at that float; in a space of floats
    only it is Ax's proposal, unchanged, as the class says."""
    from ax.core.search_space import SearchSpaceDigest
    from ax.generators.torch.botorch_modular.acquisition import Acquisition

    def ax_optimize(self, n, search_space_digest, rounding_func=None, **kwargs):
        X = self.proposal.unsqueeze(0)
        return (X if rounding_func is None else rounding_func(X)), torch.ones(1), torch.ones(1)

    monkeypatch.setattr(Acquisition, "optimize", ax_optimize)

    def acquisition(tried, proposal):
        acq = object.__new__(discrete.NearestUntriedAcquisition)
        acq.X_observed, acq.X_pending, acq.proposal = tried, None, proposal
        acq.acqf = type(
            "Acqf", (), {"X_baseline": tried, "X_pending": None, "__call__": lambda s, X: X.sum((-2, -1))}
        )()
        return acq

    mixed = SearchSpaceDigest(feature_names=["a_OH_PARAM_0", "a_OH_PARAM_1", "a_OH_PARAM_2", "x"], bounds=[(0, 1)] * 4)
    tried = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.double)  # a = 0 at x = 0.0
    proposal = torch.tensor([0.9, 0.06, 0.04, 0.0], dtype=torch.double)  # rounds onto it
    X, _, _ = acquisition(tried, proposal).optimize(1, mixed)
    assert X.tolist() == [[0.0, 1.0, 0.0, 0.0]]  # the nearest category untried at x = 0.0
    floats = SearchSpaceDigest(feature_names=["x", "y"], bounds=[(0, 1)] * 2)
    corner = torch.tensor([1.0, 1.0], dtype=torch.double)
    X, _, _ = acquisition(corner.unsqueeze(0), corner).optimize(1, floats)
    assert X.tolist() == [[1.0, 1.0]]


SMALL_GRID = {"a": "choice(p, q, r, s)", "b": "choice(w, x, y, z)"}
"""16 configurations of two unordered choices: Ax one-hot encodes both (8 GP inputs)."""


def small_grid_objectives(p):
    a, b = "pqrs".index(p["a"]), "wxyz".index(p["b"])
    return {"f1": (a - 1.5) ** 2 + b, "f2": (3 - a) + (3 - b) ** 2 / 4}


@pytest.mark.parametrize("round_untried", [False, True])
def test_a_one_hot_sweep_rounded_to_untried_configurations_never_repeats_one(fast_ax, monkeypatch, round_untried):
    from ax.generators.torch.botorch_modular.acquisition import Acquisition

    from lightning_ecopt.sweeper import loop

    monkeypatch.setattr(loop, "_ROUND_UNTRIED", round_untried)
    monkeypatch.setattr(loop, "_SCREEN_ENUMERATED", None)  # the control is Ax's own Acquisition
    calls = []
    real = Acquisition.optimize

    def spy(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Acquisition, "optimize", spy)
    # Batches of 3: Ax generates a batch's trials one by one, the earlier ones pending, which the rounding avoids too.
    sweep = make_sweep(small_grid_objectives, params=SMALL_GRID, n_trials=15, n_initial_trials=4, max_batch_size=3)
    result = sweep.run()
    unique = len({json.dumps(t.params, sort_keys=True) for t in result.trials})
    if round_untried:  # one proposal per model trial: no regeneration, no Sobol fallback, no configuration twice
        assert (calls, unique, result.n_reused) == (["NearestUntriedAcquisition"] * 11, 15, 0)
    else:  # the control: Ax's rounding repeats tried configurations on this dense grid, and Ax regenerates
        assert set(calls) == {"Acquisition"}
        assert len(calls) > 11


def test_a_resumed_sweep_keeps_rounding_to_untried_configurations(fast_ax, monkeypatch, tmp_path):
    from lightning_ecopt.sweeper import loop

    monkeypatch.setattr(loop, "_ROUND_UNTRIED", True)
    storage = tmp_path / "ax.json"
    make_sweep(small_grid_objectives, params=SMALL_GRID, n_trials=6, n_initial_trials=4, storage=storage).run()
    assert "NearestUntriedAcquisition" in storage.read_text()
    monkeypatch.setattr(loop, "_ROUND_UNTRIED", False)  # the saved strategy decides, not the running code's default
    sweep = make_sweep(small_grid_objectives, params=SMALL_GRID, n_trials=14, n_initial_trials=4, storage=storage)
    result = sweep.run()
    assert result.n_finished == 14
    assert len({json.dumps(t.params, sort_keys=True) for t in result.trials}) == 14
