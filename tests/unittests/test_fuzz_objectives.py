"""Outcome constraints written as other tools write them: refused with the fix for that form."""

from __future__ import annotations

import re

import pytest

from lightning_ecopt.exceptions import EcoptConfigError
from lightning_ecopt.sweeper.objectives import parse_constraint


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("0.5 >= val/loss", "put the metric first: 'val/loss <= 0.5'"),
        ("0.9 <= test/acc", "put the metric first: 'test/acc >= 0.9'"),
        ("val/loss <= 90%", "a bound relative to a baseline is not supported"),  # Ax's relative form
        ("test/acc >= 0.95 * baseline", "give the absolute value: 'test/acc >= <number>'"),
    ],
)
def test_a_reversed_or_relative_constraint_is_refused_with_its_own_fix(text: str, fix: str) -> None:
    with pytest.raises(EcoptConfigError, match=re.escape(f"outcome constraint {text!r}: the bound")) as error:
        parse_constraint(text)
    assert fix in str(error.value)


def test_the_suggested_reversal_parses_to_the_constraint_meant() -> None:
    with pytest.raises(EcoptConfigError) as error:
        parse_constraint("0.5 >= val/loss")
    suggestion = re.search(r"put the metric first: '([^']+)'", str(error.value))
    assert suggestion is not None
    constraint = parse_constraint(suggestion.group(1))
    assert (constraint.metric, constraint.op, constraint.bound) == ("val/loss", "<=", 0.5)


def test_a_mapping_under_direction_points_to_objectives() -> None:
    from lightning_ecopt.sweeper.objectives import parse_objectives

    # Before: "direction[0]: unknown direction 'test/acc'", which names the metric as if it were a direction.
    match = r"^direction=\{'test/acc': 'maximize'\}: direction takes directions"
    with pytest.raises(EcoptConfigError, match=match) as error:
        parse_objectives(None, {"test/acc": "maximize"})  # type: ignore[arg-type]
    assert "for named metrics write 'objectives={'test/acc': 'maximize'}' instead of direction" in str(error.value)
    from lightning_ecopt.sweeper.spelling import hydra_spelling

    with hydra_spelling(), pytest.raises(EcoptConfigError) as error:
        parse_objectives(None, {"test/acc": "maximize"})  # type: ignore[arg-type]
    assert "for named metrics write 'objectives: {'test/acc': 'maximize'}' instead of direction" in str(error.value)
