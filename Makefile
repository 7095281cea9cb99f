# The two commands a new user needs are `make demo` and `make test` (see README.md).
PYTHON ?= python3
DEMO_MODEL ?= qwen2.5-coder-0.5b
DEMO_LIMIT ?= 20

.PHONY: setup demo test test-fast bench lint

setup:
	bash scripts/setup.sh smollm2-135m $(DEMO_MODEL)

demo: setup
	$(PYTHON) -m codebabel evaluate --model $(DEMO_MODEL) --benchmark humaneval --language python \
		--n 1 --temperature 0 --limit $(DEMO_LIMIT) --k 1

test:
	bash scripts/setup.sh smollm2-135m
	$(PYTHON) -m pytest -q --timeout 900

test-fast:
	$(PYTHON) -m pytest -q -m "not slow"

bench:
	$(PYTHON) bench/execution.py
	$(PYTHON) bench/sampling.py

lint:
	ruff check src tests bench
