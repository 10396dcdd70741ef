"""The install step: ``constraints-cpu.txt`` keeps a CPU machine off torch's CUDA wheels."""

from __future__ import annotations

import re
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.requirements import Requirement

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints-cpu.txt"


def _torch_pins(platform: str, machine: str) -> list[str]:
    lines = [line.strip() for line in CONSTRAINTS.read_text().splitlines()]
    requirements = [Requirement(line) for line in lines if line and not line.startswith("#")]
    env = {"sys_platform": platform, "platform_machine": machine}
    return [
        str(r.specifier) for r in requirements if r.name == "torch" and (r.marker is None or r.marker.evaluate(env))
    ]


@pytest.mark.parametrize(
    ("platform", "machine", "pin"),
    [
        # PyPI's Linux wheels of torch 2.13.0 require cuda-toolkit 13 on both (checked in the wheels' metadata).
        ("linux", "x86_64", "==2.13.0+cpu"),
        ("linux", "aarch64", "==2.13.0+cpu"),
        ("darwin", "arm64", "==2.13.0"),  # PyPI's wheel is the CPU build
        ("win32", "AMD64", "==2.13.0"),
    ],
)
def test_each_platform_gets_exactly_one_cpu_torch(platform: str, machine: str, pin: str) -> None:
    assert _torch_pins(platform, machine) == [pin]


ROOT = CONSTRAINTS.parent

_BUILD = """
import sys, warnings
from setuptools.warnings import SetuptoolsDeprecationWarning
warnings.simplefilter("error", SetuptoolsDeprecationWarning)  # setuptools fails these builds from 2027-02-18
from setuptools import build_meta
out = sys.argv[1]
sdist = build_meta.build_sdist(out)
dist_info = build_meta.prepare_metadata_for_build_wheel(out)
print("built:", sdist, dist_info, build_meta.build_wheel(out))
"""


def _build_outputs(folder: str, names: list[str]) -> set[str]:
    """What :func:`shutil.copytree` leaves out of the checkout's copy: build outputs, caches, venvs, ``.git``."""
    top = Path(folder) == ROOT
    outputs = {"build", "dist", "multirun", "outputs", "lightning_logs"}
    return {
        n
        for n in names
        if n == "__pycache__" or n.endswith(".egg-info") or (top and (n.startswith(".") or n in outputs))
    }


class Built(NamedTuple):
    sdist: set[str]  # the paths the sdist holds, below its top folder
    dist_info: Path  # the wheel's metadata, as prepare_metadata_for_build_wheel writes it
    wheel: zipfile.ZipFile


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sdist and the wheel built from this checkout."""
    import subprocess
    import sys
    import tarfile

    # Built from a copy without the checkout's build outputs: setuptools adds every file an earlier build's
    # *.egg-info/SOURCES.txt lists, so in a checkout built once (an editable install) the sdist held files that
    # MANIFEST.in no longer names, and a test of it passed whatever MANIFEST.in said.
    src = tmp_path_factory.mktemp("src") / "lightning_ecopt"
    shutil.copytree(ROOT, src, ignore=_build_outputs)
    out = tmp_path_factory.mktemp("sdist")
    built = subprocess.run(
        [sys.executable, "-c", _BUILD, str(out)], cwd=src, capture_output=True, text=True, check=False, timeout=300
    )
    assert built.returncode == 0, built.stderr[-3000:]
    archive, dist_info, wheel = built.stdout.splitlines()[-1].split()[1:]
    with tarfile.open(out / archive) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    return Built(names, out / dist_info, zipfile.ZipFile(out / wheel))


@pytest.mark.timeout(300)
def test_the_sdist_carries_what_packagers_rebuild_and_test_and_the_license(built: Built) -> None:
    """The sdist held only the package, README and pyproject (no tests, which pyproject's pytest config names, no
    example configs, no license), and the license was a TOML table setuptools deprecates (packaging review)."""
    names, dist_info = built.sdist, built.dist_info
    assert {"LICENSE", "CHANGELOG.md", "conf/train.yaml", "examples/train.py", "tests/conftest.py"} <= names
    assert "tests/unittests/test_install.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    metadata = (dist_info / "METADATA").read_text()
    assert "License-Expression: MIT" in metadata
    assert (dist_info / "licenses" / "LICENSE").is_file()


# A path the tests build from the checkout's root: ROOT / "docs" / "sweeper.md", parents[2] / "conf", ...
_ROOTED_PATH = re.compile(r'(?:\bROOT|parents\[2\]|CONSTRAINTS\.parent)((?:\s*/\s*"[^"]+")+)')


def _paths_the_tests_read() -> set[str]:
    paths = set()
    for test in (ROOT / "tests").rglob("*.py"):
        for match in _ROOTED_PATH.finditer(test.read_text(encoding="utf-8")):
            paths.add("/".join(re.findall(r'"([^"]+)"', match.group(1))))
    return paths


@pytest.mark.timeout(300)
def test_the_sdist_holds_every_file_its_tests_read(built: Built) -> None:
    """The sdist's tests read docs/sweeper.md, scripts/check_lowest.sh and benchmarks/, which it did not carry: from
    an unpacked sdist, pytest failed 3 unit tests and errored 8 more, and every benchmark smoke test (wheel review).
    Its stored results stay out (11 MB; no test reads them)."""
    names = built.sdist
    wanted = _paths_the_tests_read()
    assert {"docs/sweeper.md", "scripts/check_lowest.sh", "benchmarks/problems.py", "conf"} <= wanted  # the scan works
    for path in sorted(wanted):
        assert (ROOT / path).exists(), f"the scan found {path!r}, which the checkout lacks"
        assert path in names or any(name.startswith(path + "/") for name in names), f"the sdist lacks {path!r}"
    assert "benchmarks/apps/conf/problem.yaml" in names  # what a benchmark reads next to itself
    assert not any(name.startswith("benchmarks/results/") for name in names)


def test_zeus_lower_bound_has_the_device_api_we_call() -> None:
    """Zeus 0.11-0.12 name their device methods in camelCase; ours (``supports_get_total_energy_consumption``...)
    raised AttributeError at the first GPU probe there, and pip kept an installed 0.12 (packaging review). Up to
    0.15.0 its Apple silicon and Jetson measurements cannot be built (``zeroAllFields`` left abstract): the SoC meter
    raised TypeError at its first window (floors review, scripts/check_lowest.sh)."""
    import tomllib

    from packaging.version import Version

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (zeus,) = [Requirement(d) for d in dependencies if Requirement(d).name == "zeus"]
    assert not zeus.specifier.contains(Version("0.12.3"))
    assert not zeus.specifier.contains(Version("0.15.0"))
    assert zeus.specifier.contains(Version("0.15.1"))


@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_check_lowest_refuses_a_python_newer_than_the_floor_of_requires_python(tmp_path: Path, version: str) -> None:
    """On 3.12 the floors' wheels (numpy 1.24, pandas 1.5) do not exist: uv blamed a floor valid for 3.11."""
    import shutil
    import subprocess

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    python = tmp_path / "python"  # answers the version check, fails anything else (a venv would be built)
    python.write_text(f'#!/bin/sh\nif [ "$1" = -c ]; then echo {version}; exit 0; fi\nexit 7\n')
    python.chmod(0o755)
    venv = tmp_path / "venv"
    script = CONSTRAINTS.parent / "scripts" / "check_lowest.sh"
    env = {"PATH": "/usr/bin:/bin", "PYTHON": str(python), "LOWEST_VENV": str(venv)}
    done = subprocess.run([bash, str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"is Python {version}; the floors are tried on Python 3.11, the floor of requires-python" in done.stderr
    assert "Set PYTHON=python3.11." in done.stderr
    assert not venv.exists()


@pytest.mark.timeout(300)
def test_the_wheel_ships_the_plugin_in_hydras_namespace_the_types_marker_and_the_cli(built: Built) -> None:
    """What an install from the wheel (not the checkout) needs: Hydra finds the sweeper by scanning the namespace
    package ``hydra_plugins`` (an ``__init__.py`` there would hide every other package's plugins), mypy reads the
    package's types through ``py.typed``, and ``ecopt report`` is a console script. Nothing else at the top level."""
    names = set(built.wheel.namelist())
    assert {"hydra_plugins/ecopt_sweeper/ecopt_sweeper.py", "hydra_plugins/ecopt_sweeper/config.py"} <= names
    assert "hydra_plugins/__init__.py" not in names
    assert "lightning_ecopt/py.typed" in names
    dist_info = built.dist_info.name
    assert {name.split("/")[0] for name in names} == {"hydra_plugins", "lightning_ecopt", dist_info}
    entry_points = built.wheel.read(f"{dist_info}/entry_points.txt").decode()
    assert "ecopt = lightning_ecopt.cli:main" in entry_points


def _imported_top_level_modules(folder: Path) -> set[str]:
    import ast

    modules = set()
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_module_the_package_imports_comes_from_a_declared_dependency() -> None:
    """``lightning_ecopt.sweeper.loop`` imports ``linear_operator`` (GPyTorch's warning class), which pyproject did
    not declare: it came only through gpytorch's own requirement (wheel review)."""
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    providers = packages_distributions()
    ours = {"lightning_ecopt", "hydra_plugins"}
    imported = _imported_top_level_modules(ROOT / "lightning_ecopt") | _imported_top_level_modules(
        ROOT / "hydra_plugins"
    )
    third_party = sorted(imported - ours - set(sys.stdlib_module_names))
    assert {"torch", "ax", "yaml", "linear_operator"} <= set(third_party)  # the scan sees imports inside functions
    undeclared = {
        module: providers.get(module, ["(not installed)"])
        for module in third_party
        if not {canonicalize_name(dist) for dist in providers.get(module, [])} & declared
    }
    assert undeclared == {}, "imported, but no dependency in pyproject.toml provides it"


def _text_io_without_encoding(source: Path, root: Path = ROOT) -> list[str]:
    """``file:line`` of each text-mode open, read or write in ``source`` that leaves the encoding to the locale."""
    import ast

    def keywords(call: ast.Call) -> dict[str, ast.expr]:
        return {k.arg: k.value for k in call.keywords if k.arg is not None}

    def binary(mode: ast.expr | None) -> bool:
        return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and "b" in mode.value

    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or "encoding" in keywords(node):
            continue
        func, kw = node.func, keywords(node)
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        if name == "open" and owner != "os":  # open(path, mode) or path.open(mode); os.open is a descriptor
            positional = node.args[1:2] if isinstance(func, ast.Name) else node.args[:1]
            text = not binary(kw.get("mode", positional[0] if positional else None))
        elif name == "fdopen":
            text = not binary(kw.get("mode", node.args[1] if len(node.args) > 1 else None))
        elif name in ("read_text", "write_text", "TextIOWrapper"):
            text = True
        elif name in ("run", "Popen", "check_output", "NamedTemporaryFile", "SpooledTemporaryFile", "TemporaryFile"):
            flags = [kw.get("text"), kw.get("universal_newlines")]
            text = any(isinstance(flag, ast.Constant) and bool(flag.value) for flag in flags)
            if name.endswith("TemporaryFile"):
                mode = kw.get("mode", node.args[0] if node.args else None)
                text = mode is not None and not binary(mode)
        else:
            continue
        if text:
            found.append(f"{source.relative_to(root)}:{node.lineno}")
    return found


def test_every_text_file_of_ours_names_its_encoding() -> None:
    """A guard beside the behavioural test (test_loop.py::test_a_sweep_its_resume_board_and_report_leave_no_text_
    encoding_to_the_locale), for the paths it does not run (a launcher's job records, Zeus's sysfs names, /proc): a
    text read or write without ``encoding=`` takes the locale's (cp1252 on Windows, ASCII under a C locale without
    UTF-8 mode) and warns under ``-X warn_default_encoding``. Our files are UTF-8; files others write that we only
    read (/proc, sysfs) name theirs too."""
    found = [hit for folder in ("lightning_ecopt", "hydra_plugins") for f in (ROOT / folder).rglob("*.py")
             for hit in _text_io_without_encoding(f)]  # fmt: skip
    assert not found, found


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ("open(p)", True),
        ("open(p, 'w')", True),
        ("open(p, 'rb')", False),
        ("open(p, encoding='utf-8')", False),
        ("os.open(p, os.O_RDONLY)", False),
        ("p.open('a')", True),
        ("p.open('a+b')", False),
        ("os.fdopen(fd, 'wb')", False),
        ("os.fdopen(fd, 'w')", True),
        ("p.read_text()", True),
        ("p.write_text(t, encoding='locale')", False),
        ("subprocess.run(c, text=True)", True),
        ("subprocess.run(c, capture_output=True)", False),
        ("tempfile.NamedTemporaryFile('w')", True),
        ("tempfile.NamedTemporaryFile()", False),
    ],
)
def test_the_encoding_guard_tells_text_io_from_binary(tmp_path: Path, code: str, flagged: bool) -> None:
    source = tmp_path / "module.py"
    source.write_text(code + "\n", encoding="utf-8")
    assert _text_io_without_encoding(source, tmp_path) == (["module.py:1"] if flagged else [])


@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning, FutureWarning])
@pytest.mark.parametrize("module", ["lightning_ecopt.sweeper.loop", "hydra_plugins.ecopt_sweeper.ecopt_sweeper"])
def test_a_deprecated_api_called_from_our_packages_fails_the_suite(category: type[Warning], module: str) -> None:
    # pyproject's filters ignored every DeprecationWarning, so a deprecated API our code calls passed the suite until
    # the release that removed it broke CI (which installs the newest releases). Third parties' own stay ignored.
    with pytest.raises(category, match="old_api is deprecated"):
        warnings.warn_explicit("old_api is deprecated", category, "loop.py", 1, module=module)
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("old_api is deprecated", DeprecationWarning, "client.py", 1, module="ax.api.client")
    assert caught == []
