"""Tasks with train, dev and test splits for runs of every arm (qa + corpus, documents, a quiz),
and a config with several [[lora]] tables, a learning curve and fixed prompt templates."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixture_data import write_jsonl

FEES = ["四百円", "二百円", "無料", "千円"]
LONG_DOC = "粗大ごみの手数料は一点四百円です。申込みは環境課で受け付けます。" * 60  # beyond 512 tokens


def make_split_tasks(root: Path) -> Path:
    """qa (corpus), document (train has one document too long for max_model_len 512), quiz."""
    write_jsonl(root / "corpus.jsonl", [
        {"doc_id": f"d{i}", "title": f"手数料{i}", "passages": [
            {"id": f"d{i}-p1", "text": f"品目{i}の手数料は{fee}です。"},
            {"id": f"d{i}-p2", "text": f"品目{i}の申込みは環境課で受け付けます。"},
        ]} for i, fee in enumerate(FEES)
    ] + [{"doc_id": "long", "title": "長い文書", "passages": [{"id": "long-p1", "text": LONG_DOC}]}])

    def qa(split: str, ids: range) -> None:
        write_jsonl(root / "qa" / f"{split}.jsonl", [
            {"id": f"q-{split}-{i}", "question": f"品目{i % 4}の手数料はいくらですか？", "answer": FEES[i % 4],
             "gold_passages": [f"d{i % 4}-p1"]} for i in ids
        ])

    qa("train", range(8))
    qa("dev", range(8, 11))
    qa("test", range(11, 15))

    def doc(split: str, rows: list[tuple[str, str]]) -> None:
        write_jsonl(root / "document" / f"{split}.jsonl", [
            {"id": f"doc-{split}-{k}", "doc_id": d, "question": "手数料は？", "answer": a,
             "criteria": ["手数料"], "metric": "set_f1"} for k, (d, a) in enumerate(rows)
        ])

    doc("train", [("d0", "四百円"), ("d1", "二百円"), ("long", "四百円")])
    doc("dev", [("d2", "無料")])
    doc("test", [("d3", "千円"), ("d0", "四百円")])
    for split, n, off in (("train", 10, 0), ("dev", 3, 100), ("test", 5, 200)):
        quiz = {"instruction": "番号で答えてください。", "output_length": 1, "metrics": ["exact_match"],
                "few_shots": [], "samples": [{"input": f"問{off + i}", "output": str(i % 3)} for i in range(n)]}
        (root / "quiz" / split).mkdir(parents=True, exist_ok=True)
        (root / "quiz" / split / "choice.json").write_text(json.dumps(quiz, ensure_ascii=False), encoding="utf-8")
    return root


MODEL_HF = '[model]\nid = "{model}"\nbackend = "hf"\ndtype = "float32"\nbatch_size = 16\nmax_model_len = 512\n'
MODEL_VLLM = (
    '[model]\nid = "{model}"\nbackend = "vllm"\ndtype = "float32"\nmax_model_len = 512\n'
    "gpu_memory_utilization = 0.1\n"
)


def all_arms_config(root: Path, model: Path, *, model_table: str = MODEL_HF, arms: str | None = None) -> Path:
    """Every arm: base, searched prompt, a fixed prompt, rag, oracle, two adapters, rag+lora, a curve."""
    make_split_tasks(root)
    arms = arms or (
        '["base", "prompt", "prompt:qfirst", "rag", "oracle", "lora:a", "lora:b", "rag+lora:a", "lora:curve"]'
    )
    lora = "rank = 4\nalpha = 8\nlearning_rate = 0.01\nmax_steps = 2\nbatch_size = 4\n"
    cfg = root / "all.toml"
    cfg.write_text(f"""
arms = {arms}
[run]
id = "all"
{model_table.format(model=model)}
[sampling]
max_new_tokens = 4
[[tasks]]
name = "qa"
loader = "qa-jsonl"
path = "qa"
corpus = "corpus.jsonl"
few_shots = 1
[[tasks]]
name = "doc"
loader = "document-jsonl"
path = "document"
corpus = "corpus.jsonl"
[[tasks]]
name = "choice"
loader = "jaster"
path = "quiz"
dataset = "choice"
few_shots = 2
[prompt]
strategy = "grid"
budget = 6
dimensions = ["style"]
[templates.qfirst]
query_position = "before"
style = "structured"
[retrieval]
retriever = "bm25"
k = 1
[[lora]]
name = "a"
tasks = ["choice"]
{lora}
[[lora]]
name = "b"
tasks = ["qa", "doc"]
{lora}
[[lora]]
name = "curve"
tasks = ["qa"]
fractions = [0.5, 1.0]
{lora}
""", encoding="utf-8")
    return cfg
