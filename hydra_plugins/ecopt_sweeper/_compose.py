"""The app's config as the sweep composes it: its keys, a trial's composed values, and why a composition fails.

Before any trial runs, the sweeper composes one trial's config (:func:`_example_params`), and one per option of a
swept config group (:func:`_with_option`, :func:`_group_and_root`); these helpers read what came out, and word the
refusals: a key the app lacks (:func:`_unknown_key`), one that only some options have (:func:`_only_some_options`),
a swept ``+key`` the app already has (:func:`_appended_existing_key`), a swept config group the app's defaults
list does not select (:func:`_group_not_in_defaults`).
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from hydra_plugins.ecopt_sweeper._job import _ABSENT

if TYPE_CHECKING:
    from lightning_ecopt.sweeper.space import SearchSpace


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    """The dotted keys of a config's values (``model.width``), sections walked."""
    if isinstance(node, dict) and node:
        return [key for k, v in node.items() for key in _leaf_keys(v, f"{prefix}.{k}" if prefix else str(k))]
    return [prefix] if prefix else []


def _example_params(space: SearchSpace) -> dict[str, Any]:
    """One valid point of the space (lower bounds, first choices), to check that a trial's config composes."""
    from lightning_ecopt.sweeper.space import RangeParameter

    return {p.name: (p.low if isinstance(p, RangeParameter) else p.values[0]) for p in space.parameters}


def _other_params(space: SearchSpace) -> dict[str, Any]:
    """Another point of the space than :func:`_example_params` where it can be (upper bounds, last choices)."""
    from lightning_ecopt.sweeper.space import RangeParameter

    return {p.name: (p.high if isinstance(p, RangeParameter) else p.values[-1]) for p in space.parameters}


def _composed_value(config: Any, key: str) -> Any:
    """The value at the dotted ``key`` of a composed config (list elements by index), or ``_ABSENT``."""
    node = config
    for part in key.split("."):
        if isinstance(node, Mapping):
            node = node.get(part, _ABSENT)
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return _ABSENT
    return node


def _same_composed(composed: Any, given: Any) -> bool:
    """Whether a composed config's value is the value an override gave (OmegaConf may convert it: ``'16'`` to 16).

    >>> import enum
    >>> Act = enum.Enum("Act", "relu gelu")
    >>> _same_composed(Act.relu, "relu"), _same_composed(Act.relu, 1), _same_composed(16, "16"), _same_composed(1.0, 1)
    (True, True, True, True)
    >>> _same_composed(0.5, 0.0153), _same_composed(_ABSENT, 1)
    (False, False)
    """
    if composed is _ABSENT or isinstance(composed, Mapping | list):
        return False
    if isinstance(composed, enum.Enum):  # a typed field's Enum: set by its name (or value)
        return given in (composed.name, composed.value) or str(given) == composed.name
    if composed == given and isinstance(composed, bool) == isinstance(given, bool):
        return True
    return str(composed).lower() == str(given).lower()  # a typed node's conversion of the given text


def _key_not_in_struct(error: BaseException) -> str | None:
    """The key of Hydra's ``Could not override 'key'`` for a key the composed config lacks; ``None`` otherwise."""
    found = re.search(r"Could not override '([^']+)'", str(error))
    cause = error.__cause__ or error.__context__
    if found is None or "not in struct" not in str(cause):
        return None
    return str(getattr(cause, "full_key", None) or found.group(1))  # model.foo of a fixed dict given for model


def _with_option(overrides: Sequence[str], group: str, option: str) -> list[str]:
    """``overrides`` with the config group ``group`` set to ``option`` (its own ``+`` kept), other overrides kept."""
    prefix = ""
    kept = []
    for override in overrides:
        key = override.partition("=")[0]
        if key.lstrip("+~") == group:
            prefix = key[: len(key) - len(group)]
        else:
            kept.append(override)
    return [*kept, f"{prefix}{group}={option}"]


def _group_and_root(name: str) -> tuple[str, str]:
    """A swept config group's name (``optim``, ``model/encoder``) and the dotted key its options' keys lie under.

    >>> _group_and_root("optim@model.opt"), _group_and_root("model/encoder")
    (('optim', 'model.opt'), ('model/encoder', 'model.encoder'))
    """
    group, _, package = name.partition("@")
    return group, package or group.replace("/", ".")


def _only_some_options(
    key: str, group: str, written: str, having: Sequence[str], lacking: Sequence[str], root: str | None = None
) -> str:
    """The refusal of a key that only some swept options of a config group have.

    ``root`` is where the group's keys lie (its package, ``model.opt`` for ``optim@model.opt``; default the group's
    name). A key outside it comes from a config that an option selects (``experiment=b`` choosing ``optim: sgd``).

    >>> _only_some_options("optim.beta", "experiment", "experiment", ["a"], ["b"])[-74:]
    '(experiment=a), or add optim.beta to the config that experiment=b selects.'
    >>> _only_some_options("model.opt.beta", "optim", "optim@model.opt", ["adam"], ["sgd"], "model.opt")[-30:]
    'or add beta to optim/sgd.yaml.'
    >>> _only_some_options("model.encoder.depth", "model/encoder", "model/encoder", ["a"], ["b"])[-37:]
    'or add depth to model/encoder/b.yaml.'
    """
    root = _group_and_root(group)[1] if root is None else root
    some = "option" if len(having) == 1 else "options"
    where = (
        f"add {key[len(root) + 1 :]} to {group}/{lacking[0]}.yaml"
        if key.startswith(f"{root}.")
        else f"add {key} to the config that {written.lstrip('+~')}={lacking[0]} selects"
    )
    return (
        f"{key!r} exists only in {some} [{', '.join(having)}] of the config group {group!r}, not in "
        f"[{', '.join(lacking)}], and the sweep sets it in every trial: the trials of "
        f"{'that option' if len(lacking) == 1 else 'those options'} would fail. Sweep it only with those that have "
        f"it ({written}={','.join(having)}), or {where}."
    )


def _close_key(key: str, config: DictConfig) -> str | None:
    """The app's key most like ``key`` (a misspelling's likely meaning), or ``None``."""
    container = OmegaConf.to_container(config, resolve=False)
    keys: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        for name, value in node.items():
            if prefix == "" and name == "hydra":
                continue
            keys.append(f"{prefix}{name}")
            if isinstance(value, dict):
                walk(value, f"{prefix}{name}.")

    if isinstance(container, dict):
        walk(container, "")
    close = difflib.get_close_matches(key, [k for k in keys if k != key], n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown_key(error: BaseException, config: DictConfig) -> str | None:
    """A key the sweep sets that the app's config lacks, named with its likely spelling; None for other errors.

    Hydra says ``Could not override 'model.widht'`` and suggests ``+model.widht=...``, which would sweep a key
    the app never reads.
    """
    key = _key_not_in_struct(error)
    if key is None:
        return None
    if OmegaConf.select(config, key, default=_ABSENT) is not _ABSENT:
        return None  # the app has it (in another option of a config group, say): Hydra's own message stands
    close = _close_key(key, config)
    meant = f" (did you mean {close!r}?)" if close else ""
    return (
        f"the sweep sets {key!r}, a key the app's config does not have{meant}: fix its name in hydra.sweeper.params "
        f"or on the command line. To set a key the app reads but its config lacks (or that a config group option "
        f"swept beside it adds), write '++{key}'."
    )


def _appended_existing_key(
    error: BaseException, space: SearchSpace, arguments: Sequence[str], params: Mapping[str, Any]
) -> str | None:
    """A swept ``+key`` whose key the app's config already has, with the user's own override; None otherwise.

    Hydra says ``Could not append to config. An item is already at 'x'`` and suggests ``x=0.0`` or ``++x=0.0``:
    the sweeper's example value of the first trial, which, followed, fixes ``x`` and sweeps nothing. A fixed
    ``+key=value`` is left to Hydra, whose advice is then the user's own text.

    Args:
        error: What composing the first trial raised.
        space: The sweep's search space.
        arguments: The command-line overrides.
        params: ``hydra.sweeper.params``.
    """
    found = re.search(r"Could not append to config\. An item is already at '([^']+)'", str(error))
    if found is None:
        return None
    key = found.group(1)
    if not any(p.prefix == "+" and p.name == key for p in space.parameters):
        return None
    written = [a for a in arguments if a.partition("=")[0].strip() == f"+{key}"]
    if written:
        text, where = written[-1], ""
    else:
        value = next((v for k, v in params.items() if str(k).strip() == f"+{key}"), "...")
        text, where = f"+{key}={value}", "hydra.sweeper.params: "
    return (
        f"{where}{text!r}: the app's config already has {key!r}, so '+' (append) is refused; write {text[1:]!r} "
        f"(or {'+' + text!r})."
    )


def _group_not_in_defaults(
    error: BaseException, space: SearchSpace, arguments: Sequence[str], params: Mapping[str, Any]
) -> str | None:
    """A swept config group the app's defaults list does not select, with the user's own override and a ``+``.

    Hydra says ``Could not override 'extra'. No match in the defaults list.`` and suggests ``+extra=a``: the first
    trial's option, which, followed, fixes the group and sweeps nothing of it. A fixed ``extra=b`` is left to
    Hydra, whose advice is then the user's own text.

    Args:
        error: What composing the first trial raised.
        space: The sweep's search space.
        arguments: The command-line overrides.
        params: ``hydra.sweeper.params``.

    >>> from lightning_ecopt.sweeper.space import parse_search_space
    >>> error = Exception("Could not override 'extra'. No match in the defaults list. To append ... +extra=a")
    >>> _group_not_in_defaults(error, parse_search_space({}, ["extra=a,b"]), ["extra=a,b"], {}).split("; ")[1][:40]
    "write '+extra=a,b' to add it for every t"
    """
    found = re.search(r"Could not override '([^']+)'\. No match in the defaults list\.", str(error))
    if found is None:
        return None
    key = found.group(1)
    if not any(p.prefix == "" and p.name == key for p in space.parameters):
        return None
    written = [a for a in arguments if a.partition("=")[0].strip() == key]
    if written:
        text, where = written[-1], ""
    else:
        value = next((v for k, v in params.items() if str(k).strip() == key), "...")
        text, where = f"{key}={value}", "hydra.sweeper.params: "
    return (
        f"{where}{text!r}: {key!r} is a config group that the app's defaults list does not select, so it cannot be "
        f"overridden; write {'+' + text!r} to add it for every trial (or give it a default in the app's defaults "
        f"list: '- {key}: <option>')."
    )
