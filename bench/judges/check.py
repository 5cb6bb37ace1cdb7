"""Judge calibration on Japanese MT-Bench: does the judge separate good answers from degraded ones?

For each question (first turn) the judge grades the reference answer and three deliberately
degraded answers: ``truncated`` (its first fifth), ``off_topic`` (the reference answer of a
question from another category) and ``wrong_language`` (an English reply keeping only the
reference's code/formula lines). A usable judge scores the reference clearly higher. By
default the judge is *not* shown the reference answer (it would be grading a copy of it).

Data: ``question_full-v4.jsonl`` + ``reference_answer/base-gpt4o-with-human-annotation-v0.jsonl``
of a Japanese MT-Bench folder (default ``../shared/data/mt_bench_ja``).

Example: ``ragft judge-check --judge configs/judge-gemma.toml --limit 10``
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from bench.backends.base import Backend
from bench.config.judges import JudgeSpec
from bench.errors import InputError, RagftError
from bench.judges.base import JudgeItem
from bench.judges.llm import LLMJudge
from bench.judges.reliability import discrimination_verdict, write_reliability
from bench.store.files import JUDGE_CHECK, dump_json
from bench.types import Example

QUESTIONS = "question_full-v4.jsonl"
REFERENCES = "reference_answer/base-gpt4o-with-human-annotation-v0.jsonl"
VARIANTS = ("reference", "truncated", "off_topic", "wrong_language")
_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(str(path), None, "an existing JSONL file (Japanese MT-Bench layout)")
    from tasks.loaders import iter_jsonl

    rows: list[dict[str, Any]] = []
    for n, obj in iter_jsonl(path):
        if "question_id" not in obj:
            raise InputError(str(path), "question_id", "an object with question_id", line=n)
        rows.append(obj)
    return rows


def load_mt_bench(root: Path, limit: int | None = None) -> list[Example]:
    """First-turn questions that have a reference answer, as Examples (category in metadata)."""
    if not root.is_dir():
        raise RagftError(f"{root}: no such folder (Japanese MT-Bench: {QUESTIONS} + {REFERENCES}); use --data")
    qs = _read_jsonl(root / QUESTIONS)
    refs: dict[Any, str] = {}
    for i, r in enumerate(_read_jsonl(root / REFERENCES), start=1):
        try:
            refs[r["question_id"]] = str(r["choices"][0]["turns"][0])
        except (KeyError, IndexError, TypeError):
            raise InputError(str(root / REFERENCES), "choices.0.turns.0", "the first-turn answer", line=i) from None
    out: list[Example] = []
    for i, q in enumerate(qs, start=1):
        turns = q.get("turns")
        if not isinstance(turns, list) or not turns or not isinstance(turns[0], str):
            raise InputError(str(root / QUESTIONS), "turns", "a list of question strings", line=i)
        if q["question_id"] not in refs:
            continue
        out.append(Example(
            id=f"mtbench-{q['question_id']}", task="mt_bench_ja", kind="qa", question=turns[0],
            reference=refs[q["question_id"]], metadata={"category": q.get("category", "")},
        ))
    return out[:limit] if limit else out


def degrade(examples: list[Example], pool: list[Example] | None = None) -> list[tuple[str, Example, str]]:
    """(variant, example, candidate answer) for every example and variant."""
    pool = pool or examples
    out: list[tuple[str, Example, str]] = []
    for i, ex in enumerate(examples):
        ref = ex.reference or ""
        out.append(("reference", ex, ref))
        out.append(("truncated", ex, ref[: max(8, len(ref) // 5)]))
        cat = ex.metadata.get("category")
        others = [o for o in pool if o.metadata.get("category") != cat] or [o for o in pool if o.id != ex.id]
        other = others[(i * 7 + len(pool) // 2) % len(others)] if others else ex
        out.append(("off_topic", ex, other.reference or ""))
        kept = [ln for ln in ref.splitlines() if ln.strip() and not _JA.search(ln)]
        body = "\n".join(kept[:40])
        eng = "Sure! Here is my answer to your question.\n\n"
        eng += (body + "\n\n") if body else "There are several points to consider, and the answer depends on them.\n\n"
        eng += "In short, the points above answer the question. Let me know if you need more details."
        out.append(("wrong_language", ex, eng))
    return out


def run_check(
    spec: JudgeSpec, examples: list[Example], backend: Backend, *, with_reference: bool = False,
    cache: Any = None, progress: Any = None, pool: list[Example] | None = None,
) -> dict[str, Any]:
    """Grade every variant of every example; return per-variant means, win rates and a verdict.

    ``pool`` (default: ``examples``) is where off-topic answers come from (another category).
    """
    spec = spec.model_copy(update={"use_reference": with_reference})
    judge = LLMJudge(spec, backend, cache)
    cases = degrade(examples, pool or examples)
    items = [
        JudgeItem("mt_bench_ja", v, ex, cand, f"{v}:{ex.id}", run_id="judge-check") for v, ex, cand in cases
    ]
    grades = judge.grade(items, progress=progress)
    scores: dict[str, dict[str, float | None]] = {v: {} for v in VARIANTS}
    rows = []
    for (v, ex, cand), g in zip(cases, grades, strict=True):
        scores[v][ex.id] = g.score
        rows.append({"variant": v, "example_id": ex.id, "score": g.score, "error": g.error,
                     "answer_chars": len(cand), "reply": g.raw[:1500]})
    per_variant = {}
    for v in VARIANTS:
        got = [s for s in scores[v].values() if s is not None]
        per_variant[v] = {
            "n": len(scores[v]), "scored": len(got), "unscored": len(scores[v]) - len(got),
            "mean": round(float(np.mean(got)), 3) if got else None,
        }
    separation: dict[str, dict[str, Any]] = {}
    for v in VARIANTS[1:]:
        pairs = [(scores["reference"][k], s) for k, s in scores[v].items()
                 if s is not None and scores["reference"].get(k) is not None]
        wins = sum(1.0 if float(a or 0) > float(b) else 0.5 if a == b else 0.0 for a, b in pairs)
        gap = [float(a or 0) - float(b) for a, b in pairs]
        separation[v] = {
            "pairs": len(pairs), "win_rate": round(wins / len(pairs), 3) if pairs else None,
            "mean_gap": round(float(np.mean(gap)), 3) if gap else None,
        }
    n_total = len(grades)
    n_unscored = sum(1 for g in grades if g.score is None)
    passes, words = discrimination_verdict(separation)
    verdict = words if passes is None else ("separates reference from degraded answers: " + words) if passes \
        else "does NOT separate reference from degraded answers reliably: " + words
    return {
        "judge": judge.id, "model": spec.model.id, "backend": spec.model.backend,
        "prompt_version": judge.version, "with_reference": with_reference, "n_questions": len(examples),
        "parse_failure_rate": round(n_unscored / n_total, 3) if n_total else None,
        "variants": per_variant, "separation": separation, "verdict": verdict, "items": rows,
    }


def record_check(run_dir: Path, result: dict[str, Any]) -> None:
    """Store a judge-check result as ``run_dir/judge_check.json`` and re-measure the run's judge
    credibility with it (``judge_reliability.json`` and the judge caveats)."""
    if not (run_dir / "selection.json").is_file():
        raise RagftError(f"{run_dir} is not a ragft run directory (no selection.json)")
    (run_dir / JUDGE_CHECK).write_text(dump_json(result), encoding="utf-8")
    write_reliability(run_dir)


__all__ = ["degrade", "load_mt_bench", "record_check", "run_check"]
