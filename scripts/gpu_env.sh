# Source on a bare, offline GPU machine whose Python already has torch, lightning and botorch (the lent machines of
# docs/gpu-validation.md): installs the wheels carried in .whl/ (the rest of our dependencies, fetched beforehand
# with `pip download`) into /tmp/site and puts them and this checkout on PYTHONPATH. A normal machine needs none of
# this: `pip install -e .` does it.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || return 1
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
