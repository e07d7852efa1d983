# One command per job. Every target creates the virtual environment and installs the pinned
# dependencies first if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SEEDS ?= 0
# Where the MNIST / Fashion-MNIST files come from: empty = download from the official mirrors,
# or a folder holding them (DATA_SOURCE=../shared/data makes it read $(DATA_SOURCE)/mnist, .../fashion).
DATA_SOURCE ?=
TABLE1_OUT ?= outputs/table1

.PHONY: install test demo reproduce-table1 table1 bench clean

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==23.2.1 >/dev/null
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

test: install
	TQDM_DISABLE=1 $(PY) -m pytest -q tests

demo: install
	$(PY) -m experiments.run -m experiment=demo model=intermediate,embracenet,embracenet_adj_pre \
		+scenario=missing_modalities hydra.sweep.dir=outputs/demo
	$(PY) scripts/table1.py outputs/demo --out outputs/demo/table

data/mnist/.verified: | install
	$(PY) -m data_prep.mnist --dataset mnist --out data/mnist $(if $(DATA_SOURCE),--source $(DATA_SOURCE)/mnist)
	touch $@

data/fashion/.verified: | install
	$(PY) -m data_prep.mnist --dataset fashion --out data/fashion $(if $(DATA_SOURCE),--source $(DATA_SOURCE)/fashion)
	touch $@

# Table 1 of the paper: 2 datasets x 3 trained models x $(SEEDS), two jobs at a time.
# Re-running the same command resumes unfinished runs from their checkpoints.
reproduce-table1: install data/mnist/.verified data/fashion/.verified
	$(PY) -m experiments.run -m experiment=table1 dataset=mnist,fashion \
		model=intermediate,embracenet,embracenet_adj_pre seed=$(SEEDS) \
		hydra/launcher=local_parallel hydra.sweep.dir=$(TABLE1_OUT) progress=false
	$(MAKE) table1

table1: install
	$(PY) scripts/table1.py $(TABLE1_OUT) --reference results/reference/table1_paper.csv --out results/table1

bench: install
	$(PY) scripts/bench_embracement.py
	$(PY) scripts/bench_subsets.py

clean:
	rm -rf outputs multirun .pytest_cache
