# gradcomp: one command to reproduce, one to test. Each creates .venv from the pinned
# requirements.lock on first use.
#   make reproduce          every figure/table/claim at the papers' settings (scale=paper)
#   make quick              the same in minutes (scale=quick), under results/quick/figures
#   make test               the test suite without the slow tier (about a minute)
#   make test-slow          the slow tier: end-to-end Snakemake builds, the whole plan against Hydra
#   make verify SCALE=ci    rebuild at a scale and check the published claims (CI uses ci)
#   make check-published    the committed figures/ match their MANIFEST and VERIFICATION.md
#   make bench              per-epoch timings of the methods

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CORES  ?= 2
SCALE  ?= paper
SMK    := $(PY) -m snakemake --cores $(CORES)

# Data: a local mirror of the LIBSVM files if you have one, else downloads (verified).
export GRADCOMP_DATA_MIRROR

.PHONY: venv reproduce quick verify check-published test test-slow bench clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

reproduce: venv
	$(SMK) all

quick: venv
	$(SMK) all --config 'overrides=[scale=quick]'

verify: venv
	$(SMK) verify --config 'overrides=[scale=$(SCALE)]'

check-published: venv
	$(PY) -m gradcomp.cli check-published

test: venv
	$(PY) -m pytest -n $(CORES)

test-slow: venv
	$(PY) -m pytest -m slow

bench: venv
	$(PY) benchmarks/bench_methods.py --authors benchmarks/authors-rr-timings.csv --out results/bench.md

clean:
	rm -rf results .snakemake .gradcomp-cache
