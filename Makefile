# The README's two commands: `make demo` (the main job) and `make test` (the whole suite). Both set up .venv first,
# once: torch is pinned through constraints-cpu.txt so a CPU machine never pulls the CUDA wheels.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SWEEP_DIR ?= multirun/demo

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml constraints-cpu.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# On Linux (x86-64 and aarch64) PyPI's torch wheel pulls the CUDA libraries (GBs); its CPU build lives on PyTorch's own index.
	# constraints-cpu.txt pins it (2.13.0+cpu there), which fails fast where no local wheel has it, and the second line
	# then fetches it from PyTorch's CPU index (PyPI still serves the rest).
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints-cpu.txt "torch==2.13.0" 2>/dev/null \
		|| $(PY) -m pip install --quiet --disable-pip-version-check -c constraints-cpu.txt "torch==2.13.0" \
			--extra-index-url https://download.pytorch.org/whl/cpu
	# compat mode: Hydra finds plugins by scanning the hydra_plugins namespace on sys.path, which an import-hook
	# editable install hides. pyproject.toml's package-dir already makes pip's default a static .pth path; compat
	# keeps it one whatever setuptools' default becomes.
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints-cpu.txt -e ".[dev]" \
		--config-settings editable_mode=compat
	touch $(STAMP)

# The main job: a 20-trial Sobol + qNEHVI sweep of the digits CNN (accuracy x samples/J), then its report.
# Rerun, it resumes the same sweep dir (and returns at once when the budget is spent); SWEEP_DIR=... for another.
demo: $(STAMP)
	$(PY) examples/train.py -m hydra.sweep.dir=$(SWEEP_DIR)
	$(VENV)/bin/ecopt report $(SWEEP_DIR)
	@echo
	@echo "Frontier views (HParams, frontier image, hypervolume): $(VENV)/bin/tensorboard --logdir $(SWEEP_DIR)/tensorboard"
	@echo "Energy above is MEASURED only where its label says 'measured' (Zeus found an NVIDIA GPU, readable RAPL, Apple"
	@echo "silicon or a Jetson); 'estimated: cpu-time' means CPU time x watts per thread: run on an NVIDIA GPU, make RAPL"
	@echo "readable (root, or Zeus's zeusd daemon), or on a Mac pip install zeus-apple-silicon, for measured joules."

# In as many processes as the machine has cores, up to 4 (pytest-xdist; worksteal: an idle worker takes queued tests
# from a busy one, as the heavy Hydra-sweep tests come last): 11 min on 2 cores against 19-20 min in one process.
test: $(STAMP)
	$(PY) -m pytest -m "not gpu and not slow" -n auto --maxprocesses=4 --dist worksteal
	$(MAKE) lint

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Every benchmark at full size (hours on 2 cores: the frontier-quality grid dominates; each resumes where it stopped).
# CI runs only their smoke runs (tests/integrations/test_*_smoke.py). Summaries: docs/benchmarks.md.
bench: $(STAMP)
	$(PY) benchmarks/callback_overhead.py
	$(PY) benchmarks/inference_knobs.py --rounds 15
	$(PY) benchmarks/search_energy.py
	$(PY) benchmarks/optimizer_overhead.py
	$(PY) benchmarks/acqf_eval_cost.py
	$(PY) benchmarks/frontier_quality.py
	$(PY) benchmarks/plot_frontier_quality.py

clean:
	rm -rf $(VENV) multirun outputs lightning_logs .pytest_cache .mypy_cache .ruff_cache
