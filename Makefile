# Entry points. Each target creates or reuses .venv from the requirements files, so a fresh
# machine needs only python3 (3.11) and network access to PyPI.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test demo serve sandbox bench lint clean

# The lab's entry points take a scenario file, an HTTP port (serve) and a timeline file (demo,
# sandbox: the sandbox's timeline as JSON lines), e.g. `make serve SCENARIO=my.yaml PORT=8080`.
SCENARIO ?= lab/scenarios/demo.yaml
PORT ?= 7071
TIMELINE ?=
TIMELINE_ARG := $(if $(TIMELINE),--timeline $(TIMELINE))

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# Checkov pins packages that conflict with the app's, so it has its own venv.
CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP): requirements-infra.txt
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	touch $(CHECKOV_STAMP)

# The whole test suite (unit, sandbox, local engine, SDK replay, end to end, infra checks).
test: venv $(CHECKOV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

# One full patch cycle of $(SCENARIO) through the local engine against the sandbox, on the app's
# default intervals (only timeouts shortened: lab/local/stack.py).
demo: venv
	$(PY) -m lab.local demo $(SCENARIO) $(TIMELINE_ARG)

# Sandbox + local engine + the app's HTTP API on 127.0.0.1:$(PORT) (Ctrl-C stops).
serve: venv
	$(PY) -m lab.local serve $(SCENARIO) --port $(PORT)

# The sandbox alone: prints the ARM URL, CA file and kubeconfig path.
sandbox: venv
	$(PY) -m lab.sandbox $(SCENARIO) $(TIMELINE_ARG)

# The benchmarks (not tests): the goal rows, under 20 minutes on 2 CPUs (lab/bench/run.py; results
# in lab/bench/results/, the larger comparison jobs with `lab/bench/run.py --only <name>`).
bench: venv
	$(PY) lab/bench/run.py

lint: venv
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .ruff_cache
