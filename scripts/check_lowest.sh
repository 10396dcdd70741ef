#!/usr/bin/env bash
# The dependency floors of pyproject.toml, tried: a virtualenv under /tmp with every direct dependency (and the test
# extra's) at the lowest release its `>=` floor allows, torch at 2.13.0's CPU build as the Makefile installs it, then
# the unit tests. Not in CI (its time is budgeted): run it after raising or adding a dependency. ~10 min on 2 cores,
# ~2 GB under /tmp (LOWEST_VENV). On Python 3.11, the floor of requires-python (PYTHON, default python3.11).
#   scripts/check_lowest.sh             # the unit tests
#   scripts/check_lowest.sh tests/faults  # other tests (pytest arguments)
# A floor that cannot be met with the others fails the resolution, and uv names it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LOWEST_VENV:-/tmp/ecopt-lowest}
PYTHON=${PYTHON:-python3.11}

# On the Python that requires-python's floor names, and no other: the floors are wheels of that Python's day (numpy
# 1.24 and pandas 1.5 have none for 3.12), so on a newer one the resolution fails and uv blames a valid floor.
floor=$(sed -n 's/^requires-python *= *">= *\([0-9][0-9]*\.[0-9][0-9]*\)".*/\1/p' pyproject.toml)
if [ -z "$floor" ]; then
    echo "check_lowest.sh: no requires-python = \">=X.Y\" in pyproject.toml to take the Python from" >&2
    exit 2
fi
if ! version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    echo "check_lowest.sh: PYTHON=$PYTHON does not run; install Python $floor (the floor of requires-python) and" \
        "set PYTHON to it, e.g. PYTHON=python$floor" >&2
    exit 2
fi
if [ "$version" != "$floor" ]; then
    echo "check_lowest.sh: PYTHON=$PYTHON is Python $version; the floors are tried on Python $floor, the floor of" \
        "requires-python (>=$floor): on a newer one some floors have no wheel (numpy 1.24, pandas 1.5 on 3.12) and" \
        "uv would blame a valid floor. Set PYTHON=python$floor." >&2
    exit 2
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
pip_install() { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
# As the Makefile: a local CPU wheel of torch, else PyTorch's CPU index (PyPI's Linux wheel pulls the CUDA libraries).
pip_install -c constraints-cpu.txt "torch==2.13.0" 2>/dev/null \
    || pip_install -c constraints-cpu.txt "torch==2.13.0" --extra-index-url https://download.pytorch.org/whl/cpu
pip_install uv

# Each `name>=X` of the dependencies and the test extra becomes `name==X.*`: uv's lowest-direct resolution then takes
# the floor itself (or its first patch release) where it would otherwise go higher to dodge a conflict. torch stays
# as installed (the CPU build is not on PyPI).
"$VENV/bin/python" - > "$VENV/floors.txt" <<'EOF'
import re, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for req in project["dependencies"] + project["optional-dependencies"]["test"]:
    name, floor = re.match(r"([A-Za-z0-9_.-]+)[^>]*(?:>=\s*([0-9][0-9.]*))?", req).groups()
    if floor and name != "torch":
        print(f"{name}=={floor}.*")
EOF
# The dev extra's mypy, for the tests that type-check the documented API.
"$VENV/bin/python" -c 'import tomllib; print(*[d for d in tomllib.load(open("pyproject.toml", "rb"))["project"]
    ["optional-dependencies"]["dev"] if d.startswith("mypy==")])' > "$VENV/mypy.txt"
echo "torch==$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')" >> "$VENV/floors.txt"
# Wheels only (an old release's sdist would build for minutes, or not at all); omegaconf's antlr4 runtime has none.
"$VENV/bin/uv" pip install --python "$VENV/bin/python" --resolution lowest-direct -c "$VENV/floors.txt" \
    --only-binary :all: --no-binary antlr4-python3-runtime -e ".[test]" -r "$VENV/mypy.txt" \
    --config-setting editable_mode=compat
"$VENV/bin/uv" pip freeze --python "$VENV/bin/python" > "$VENV/resolved.txt"
echo "floors resolved (all: $VENV/resolved.txt):"
grep -i -E "^($(sed 's/==.*//' "$VENV/floors.txt" | paste -sd'|'))==" "$VENV/resolved.txt" | paste -sd' '

# The benchmarks' problems need the benchmarks extra: not a floor of the package.
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(tests/unittests --ignore=tests/unittests/test_bench_problems.py)
"$VENV/bin/python" -m pytest -m "not gpu and not slow" -q -p no:cacheprovider "${args[@]}"
