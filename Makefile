# The two commands a new user needs are `make demo` and `make test` (see README.md).
PYTHON ?= python3
DEMO_MODEL ?= smollm2-135m
# more options, e.g. make demo DEMO_ARGS="--steps 100 --limit 20" (codebabel quickstart --help)
DEMO_ARGS ?=
# import-linter's `lint-imports`, through this interpreter (the console script may not be on PATH)
LINT_IMPORTS = $(PYTHON) -c "from importlinter.cli import lint_imports_command; lint_imports_command()"

.PHONY: setup demo test test-fast bench lint

setup:
	bash scripts/setup.sh $(sort smollm2-135m $(DEMO_MODEL))

demo: setup
	$(PYTHON) -m codebabel quickstart --model $(DEMO_MODEL) $(DEMO_ARGS)

test:
	bash scripts/setup.sh smollm2-135m
	$(LINT_IMPORTS)
	$(PYTHON) -m pytest -q --timeout 900 --durations=25

test-fast:
	$(PYTHON) -m pytest -q -m "not slow"

bench:
	$(PYTHON) bench/execution.py
	$(PYTHON) bench/sampling.py
	$(PYTHON) bench/routing.py
	$(PYTHON) bench/adapters.py
	$(PYTHON) bench/synth.py
	$(PYTHON) bench/batching.py
	$(PYTHON) bench/serve.py
	$(PYTHON) bench/ray_exec.py

lint:
	ruff check src tests bench
	$(LINT_IMPORTS)
