# Every target creates .venv (Python 3.11, pip) and installs the project into it when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Example plugin packages, installed editable beside ganparts so `make test` covers them.
PLUGINS := plugins/ganparts-extras
DEMO_STEPS ?= 2800

.PHONY: demo test app bench clean

$(STAMP): pyproject.toml $(PLUGINS:%=%/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -e '.[app,dev]' $(PLUGINS:%=-e %)
	touch $(STAMP)

## Train the example SAGAN on the embedded 5,000-digit MNIST subset and write pictures (2,800 steps; about 9 min on 2 cores, docs/results.md).
demo: $(STAMP)
	$(BIN)/ganparts train specs/sagan_mnist.yaml --out runs/demo --resume \
		--set data.source=mnist-5k --set train.steps=$(DEMO_STEPS) --set train.sample_every=250
	$(BIN)/ganparts sample runs/demo --n 100 --out runs/demo/samples.png
	$(BIN)/ganparts attention runs/demo --out runs/demo/attention_G.png
	$(BIN)/ganparts attention runs/demo --network D --out runs/demo/attention_D.png
	$(BIN)/ganparts curves runs/demo
	@echo "demo outputs: runs/demo/samples.png (100 digits), runs/demo/attention_G.png and attention_D.png (where pixels attend), runs/demo/curves.png (losses, gammas), runs/demo/samples/ (grids over training)"

## Run the test suite, one pytest-xdist worker per core, a test file per worker at a time (tests/conftest.py shares the cores out).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

## Serve the app (build, train, samples, attention, compare) on 127.0.0.1 and print its URL; runs go to runs/.
app: $(STAMP)
	$(BIN)/ganparts app

## Print the six benchmark tables (eight with CUDA) and write benchmarks/results/latest.json (~14 min; BENCH_ARGS=--quick: ~7 min).
## Run it with nothing else busy on the machine: see docs/performance.md.
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
