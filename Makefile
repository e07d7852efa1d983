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
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
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

# Keep each run's small files (metrics, history, resolved config) beside the table they make.
table1: install
	for run in $(TABLE1_OUT)/*/; do mkdir -p results/table1_runs/$$(basename $$run) && \
		cp $$run/metrics.csv $$run/history.csv $$run/config.yaml results/table1_runs/$$(basename $$run)/; done
	$(PY) scripts/table1.py results/table1_runs --reference results/reference/table1_paper.csv --out results/table1

bench: install
	$(PY) scripts/bench_embracement.py
	$(PY) scripts/bench_subsets.py

clean:
	rm -rf outputs multirun .pytest_cache

# ------------------------------------------------------------------------------------------------
# Gas sensor arrays (section 6.1.1): Figure 5 (F1 against the number of modalities, six models)
# and Figure 7 (mean embracement-layer activations). GAS_SOURCE is the folder holding WTD_upload/
# or the official zip; left empty, the UCI 251 archive (8.4 GB) is downloaded into data/gas.
#   make reproduce-gas GAS_SOURCE=/path/to/uci251 GAS_DEVICE=cuda [SEEDS=0,1,2]
# The cache is built once into data/gas (delete data/gas/gas.h5 to rebuild); figures and their
# CSV / NPZ go to results/gas, the runs to $(GAS_OUT). Re-running resumes unfinished runs.
GAS_SOURCE ?=
GAS_OUT ?= outputs/gas
GAS_DEVICE ?= cpu
GAS_MODELS ?= early,late,intermediate,compact_pooling,autoencoder,embracenet_adj_pre
GAS_SMOKE_OUT ?= outputs/gas_smoke

.PHONY: reproduce-gas gas-figures gas-smoke

data/gas/gas.h5: | install
	$(PY) -m data_prep.gas $(if $(GAS_SOURCE),--source $(GAS_SOURCE)) --out data/gas

reproduce-gas: install data/gas/gas.h5
	$(PY) -m experiments.run -m experiment=gas model=$(GAS_MODELS) seed=$(SEEDS) \
		trainer.device=$(GAS_DEVICE) hydra.sweep.dir=$(GAS_OUT) progress=false
	$(MAKE) gas-figures

gas-figures: install
	$(PY) scripts/figure5_gas.py $(GAS_OUT) --out results/gas
	$(PY) scripts/figure7_gas.py $(GAS_OUT) --out results/gas

# The same pipeline on the generated fixture archive, in about a minute on a CPU (not the paper's
# data: the figures land in $(GAS_SMOKE_OUT)/figures, never in results/).
gas-smoke: install
	$(PY) -m data_prep.gas_fixture outputs/gas_fixture/archive
	$(PY) -m experiments.run -m experiment=gas_smoke model=$(GAS_MODELS) hydra.sweep.dir=$(GAS_SMOKE_OUT)
	$(PY) scripts/figure5_gas.py $(GAS_SMOKE_OUT) --out $(GAS_SMOKE_OUT)/figures --title "fixture smoke run (synthetic data)"
	$(PY) scripts/figure7_gas.py $(GAS_SMOKE_OUT) --out $(GAS_SMOKE_OUT)/figures --title "fixture smoke run (synthetic data)"

# Figures 6 and 8 and Table 2 (OPPORTUNITY): 2 tasks x 6 models x $(SEEDS), each run trained once and
# scored on both scenarios (missing modalities: 14319 subsets; missing blocks: rates 0.1-0.9).
# OPPORTUNITY_SOURCE = the official zip, the extracted OpportunityUCIDataset/ tree or its dataset/ folder
# (empty: download the UCI zip). EmbraceNet's c and dropout rate come from dataset.model_sizes.
OPPORTUNITY_SOURCE ?=
OPPORTUNITY_OUT ?= outputs/opportunity

data/opportunity/opportunity.h5: | install
	$(PY) -m data_prep.opportunity --out data/opportunity $(if $(OPPORTUNITY_SOURCE),--source $(OPPORTUNITY_SOURCE))

reproduce-opportunity: install data/opportunity/opportunity.h5
	$(PY) -m experiments.run -m experiment=opportunity dataset=opportunity_locomotion,opportunity_gestures \
		model=early,late,intermediate,compact_pooling,autoencoder seed=$(SEEDS) \
		hydra.sweep.dir=$(OPPORTUNITY_OUT)/baselines progress=false
	$(PY) -m experiments.run -m experiment=opportunity dataset=opportunity_locomotion,opportunity_gestures \
		model=embracenet_adj_pre seed=$(SEEDS) \
		hydra.sweep.dir=$(OPPORTUNITY_OUT)/embracenet progress=false
	$(MAKE) opportunity-results

opportunity-results: install
	$(PY) scripts/figure6_opportunity.py $(OPPORTUNITY_OUT) --out results/opportunity/figure6
	$(PY) scripts/figure8_opportunity.py $(OPPORTUNITY_OUT) --out results/opportunity/figure8
	$(PY) scripts/table2_opportunity.py $(OPPORTUNITY_OUT) --reference results/reference/table2_paper.csv \
		--out results/opportunity/table2

bench-opportunity: install
	$(PY) scripts/bench_opportunity_eval.py
.PHONY: reproduce-opportunity opportunity-results bench-opportunity
