# The two commands of the README: `make demo` and `make test` (`make test-fast` skips the
# full-size demo city's tests). Each installs what is missing.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
GRIDSVC := $(BIN)/gridsvc
DEBIAN_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting python3-venv
# Maps: chromium (+ a CJK font) runs the browser tests; npm installs Leaflet & co. to serve
# offline (Debian's nodejs and npm, unless an npm is already on the PATH: a Node.js from
# elsewhere bundles its own npm and conflicts with Debian's).
DEBIAN_PACKAGES += chromium fonts-wqy-microhei
# GDAL's ogrinfo/ogr2ogr: the reference client of the OGC API - Features tests (tests/ogc).
DEBIAN_PACKAGES += gdal-bin
NODE_PACKAGES := $(if $(shell command -v npm),,nodejs npm)
# wrk drives bench/bench_soak.py: only `make bench` installs it (set for bench below).
BENCH_PACKAGES :=
# pytest-xdist: one worker per core, each module (and all full-city tests) on one worker.
PYTEST := $(BIN)/python -m pytest -n $${GRIDSVC_TEST_WORKERS:-auto} --dist loadgroup --no-loadscope-reorder --durations=15
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Compiled modules, and pytest's rewritten test modules, are kept in __pycache__ even where
# the environment says not to write them: otherwise each test worker, and each server and
# CLI the tests start, compiles gridsvc and the tests again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-fast lint bench system-packages db clean-db

demo: system-packages $(VENV)/.installed node_modules/.installed ## Start PostGIS, build the demo city, serve the API
	$(GRIDSVC) demo up

test: system-packages $(VENV)/.installed node_modules/.installed ## Run the tests against a real PostGIS (own database)
	$(GRIDSVC) db start
	$(PYTEST)

test-fast: system-packages $(VENV)/.installed node_modules/.installed ## The tests without the full-size city, Chromium or Dask
	$(GRIDSVC) db start
	GRIDSVC_TEST_EXAMPLES=$${GRIDSVC_TEST_EXAMPLES:-5} \
		GRIDSVC_TEST_HISTORY_CASES=$${GRIDSVC_TEST_HISTORY_CASES:-100} $(PYTEST) -m "not full_city and not browser and not dask"

lint: $(VENV)/.installed
	$(BIN)/ruff check gridsvc tests bench alembic
	$(BIN)/ruff format --check gridsvc tests bench alembic

bench: BENCH_PACKAGES := wrk
bench: system-packages $(VENV)/.installed node_modules/.installed ## Run every benchmark in bench/
	$(GRIDSVC) db start
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

# Debian's PostgreSQL 15 with PostGIS 3 and pgRouting; apt runs only when one is missing.
system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES) $(NODE_PACKAGES) $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

# constraints.txt: the versions CI passed with, so a fresh machine installs those.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,dev,demo,osm,export]'
	touch $@

# The JS/CSS the service serves itself (package-lock.json pins them); no install scripts run.
node_modules/.installed: package.json package-lock.json
	SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund
	touch $@

db: system-packages $(VENV)/.installed ## Start the project's own PostGIS
	$(GRIDSVC) db start

clean-db: ## Stop the project's PostGIS and delete its data
	-$(GRIDSVC) db stop
	rm -rf .gridsvc
