# Medical-insurance assistant: `make run` starts it, `make test` checks everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
# The gateway's own environment: current aiohttp, no Rasa (requirements-gateway.txt).
GW_VENV := .venv-gateway
GW_PY := $(GW_VENV)/bin/python
# Tests of code that runs in the gateway's environment; the rest run beside Rasa.
GW_TESTS := tests/bot
# settings.py is read by both environments (pydantic 1.10.9 beside Rasa, 1.10.27 here).
BOTH_TESTS := tests/test_settings.py
export PYTHONPATH := $(CURDIR)

.PHONY: help setup system-deps lint kb lexicon validate train run test test-stories eval bench mutation clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | expand -t 16

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements.lock
	@PYTHON=$$(devtools/find_python.sh) || exit 1; \
	  [ -x $(PY) ] || $$PYTHON -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<24.1"
	$(PY) -m pip install --quiet -r requirements-dev.txt -c requirements.lock
	@touch $@

$(GW_VENV)/.installed: requirements-gateway.txt requirements-gateway-dev.txt requirements-gateway.lock
	@PYTHON=$$(devtools/find_python.sh) || exit 1; \
	  [ -x $(GW_PY) ] || $$PYTHON -m venv $(GW_VENV)
	$(GW_PY) -m pip install --quiet --upgrade pip
	$(GW_PY) -m pip install --quiet -r requirements-gateway-dev.txt -c requirements-gateway.lock
	@touch $@

setup: $(VENV)/.installed $(GW_VENV)/.installed system-deps  ## create .venv, .venv-gateway and install what the tests need

system-deps:  ## Debian packages for browser, voice and compose tests (needs root)
	@bash devtools/system_deps.sh

lint: $(VENV)/.installed  ## ruff: pyflakes, import order, likely bugs (ruff.toml)
	$(VENV)/bin/ruff check .

lexicon: $(VENV)/.installed  ## regenerate place and aspect synonyms (data/nlu/lookups) from knowledge/
	$(PY) -m knowledge lexicon

validate: $(VENV)/.installed  ## check knowledge content and Rasa training data
	$(PY) -m knowledge validate
	$(RASA) data validate --fail-on-warnings

kb: $(VENV)/.installed  ## load the knowledge base into DATABASE_URL (default: var/assistant.db)
	$(PY) -m knowledge load

train: $(VENV)/.installed  ## train the model if its inputs changed (cached)
	$(PY) -m devtools.train

run: setup kb train  ## start actions, Rasa, the gateway and the retention job (Ctrl-C stops all)
	$(PY) -m stack run

test: setup lint validate train  ## every test: unit, integration, browser, conversations, NLU score
	$(PY) -m knowledge load
	$(PY) -m pytest $(addprefix --ignore=,$(GW_TESTS))
	$(GW_PY) -m pytest $(GW_TESTS) $(BOTH_TESTS)
	$(MAKE) --no-print-directory test-stories
	$(MAKE) --no-print-directory eval

test-stories: $(VENV)/.installed
	$(RASA) test core --stories tests/test_stories.yml --model models/assistant.tar.gz \
	  --out results/stories --fail-on-prediction-errors --no-plot

eval: $(VENV)/.installed train  ## NLU vs the simple peer (results/nlu/report.md); place roles vs order-only peers (results/places/report.md)
	$(PY) -m devtools.evaluate
	$(PY) -m devtools.evaluate_places

bench: setup kb train  ## load test: embedded and production set-ups, report in bench/results/
	$(PY) -m bench

# Mutation testing (not part of `make test`: a full run takes well over an hour on 2 cores).
# MUTANTS selects mutants by name pattern, e.g. MUTANTS='*__mutmut_*1' (every tenth one).
MUTANTS ?= *
mutation: $(VENV)/.installed  ## mutmut on actions/, textproc/, hotline/routing.py (unit tests only; tests/mutation/report.md)
	@# mutmut runs the tests in its copy under mutants/: the checkout must not be on the path.
	PYTHONPATH= $(VENV)/bin/mutmut run --max-children 2 $(if $(filter-out *,$(MUTANTS)),'$(MUTANTS)')
	$(PY) tests/mutation/summarize.py --sample '$(MUTANTS)' \
	  --title "Mutation testing: make mutation MUTANTS='$(MUTANTS)'" > tests/mutation/report.md
	@sed -n '/^| total/p' tests/mutation/report.md

clean:  ## remove generated files (not the venv)
	rm -rf models results var .rasa
