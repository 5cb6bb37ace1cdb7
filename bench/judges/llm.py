"""The ``llm`` judge: the Japanese rubric (``bench.judges.rubric``) sent through any backend, the
reply parsed (``bench.judges.parse``), repeats aggregated; a reply without a score is unscored.

The judge sees the question, the reference answer and the item's criteria when present, an
excerpt of the document/passages, and the candidate answer, every data text neutralised.
Generation goes through the shared cached loop. With ``guided = true`` on a backend that can
constrain output to a JSON schema (``GuidedBackend``: vllm, openai) the judge asks for
``JUDGE_JSON_SCHEMA`` and parses the same way. Where that is not possible — a backend without
the capability (hf), a server that rejects ``response_format``, an engine that refuses the schema
(``GuidedRefused``) — the item is asked again with the free-text rubric: each grade records
``metrics["guided"]`` (share of its replies that were schema-constrained) and the judge keeps the
reasons (``fallback_reasons``), counted in ``judge_reliability.json`` and the report.

Example: ``LLMJudge(spec, load_backend(spec.model)).grade(items)``
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from bench.backends.base import Backend, GenFailure, GenResult, GuidedBackend, GuidedRefused
from bench.backends.batching import CacheLike, generate_cached
from bench.config.judges import JudgeSpec
from bench.judges.base import JudgeItem
from bench.judges.parse import parse_score
from bench.judges.rubric import JUDGE_JSON_SCHEMA, judge_messages, prompt_hash
from bench.types import GenRequest, Grade, Sampling

UNPARSEABLE = "unparseable: no 0–10 score in the judge reply"
GEN_FAILED = "judge generation failed"
MAX_REASONS = 5  # distinct guided-fallback reasons kept per judge


class LLMJudge:
    """Grades items with one judge model: builds rubric requests, generates (cached), parses, aggregates."""

    def __init__(self, spec: JudgeSpec, backend: Backend, cache: CacheLike | None = None) -> None:
        if spec.kind != "llm":
            raise ValueError(f"LLMJudge needs kind = 'llm', got {spec.kind!r}")
        self.spec = spec
        self.backend = backend
        self.cache = cache
        self.prompt_hash = prompt_hash(spec.rubric)
        capable = isinstance(backend, GuidedBackend) and bool(backend.supports_json_schema)
        self.guided = bool(spec.guided and capable)
        # why a guided judge answered in free text (backend without the capability, refusals)
        self.fallback_reasons: list[str] = []
        if spec.guided and not capable:
            self.fallback_reasons.append(f"the {getattr(backend, 'name', '?')} backend has no JSON-schema decoding")

    @property
    def id(self) -> str:
        return judge_id(self.spec)

    @property
    def version(self) -> str:
        return f"{self.spec.rubric}#{self.prompt_hash}"

    def requests(self, item: JudgeItem, guided: bool | None = None) -> list[GenRequest]:
        """The judge's requests for ``item`` (one per repeat): the JSON variant when ``guided``
        (default: the judge's mode), else the free-text rubric."""
        msgs = judge_messages(
            item.example, item.candidate or "", rubric=self.spec.rubric, use_reference=self.spec.use_reference,
            context_chars=self.spec.context_chars, max_answer_chars=self.spec.max_answer_chars,
            json_output=self.guided if guided is None else guided,
        )
        s = self.spec.sampling
        return [
            GenRequest(
                example_id=item.example.id, task=item.task, arm=f"judge:{self.spec.name}", messages=msgs,
                sampling=Sampling(
                    max_new_tokens=s.max_new_tokens, temperature=s.temperature, top_p=s.top_p,
                    stop=s.stop, seed=s.seed + r,
                ),
            )
            for r in range(self.spec.repeats)
        ]

    def grade(self, items: list[JudgeItem], progress: Callable[[int], None] | None = None) -> list[Grade]:
        """One Grade per item (score = mean over the repeats that parsed; None when none did).
        Items without a candidate (failed generations) are unscored without asking the judge."""
        fp = self.backend.fingerprint()
        flat: list[tuple[int, int]] = []  # (item, repeat)
        reqs: list[GenRequest] = []
        for i, it in enumerate(items):
            if it.candidate is not None:
                rs = self.requests(it)
                flat.extend((i, r) for r in range(len(rs)))
                reqs.extend(rs)
        outs = generate_cached(
            self.backend, reqs, cache=self.cache, batch_size=self.spec.model.batch_size,
            fingerprint=fp + ("|json-schema" if self.guided else ""),
            json_schema=JUDGE_JSON_SCHEMA if self.guided else None, progress=progress,
        )
        results = [o.result for o in outs]
        guided = [self.guided and not isinstance(r, GenFailure) for r in results]
        refused = [k for k, r in enumerate(results) if isinstance(r, GuidedRefused)]
        if refused:  # ask those again with the free-text rubric, recorded per grade
            for reason in dict.fromkeys(str(results[k].error) for k in refused):  # type: ignore[union-attr]
                if reason not in self.fallback_reasons and len(self.fallback_reasons) < MAX_REASONS:
                    self.fallback_reasons.append(reason)
            again = [self.requests(items[flat[k][0]], guided=False)[flat[k][1]] for k in refused]
            outs2 = generate_cached(
                self.backend, again, cache=self.cache, batch_size=self.spec.model.batch_size, fingerprint=fp,
            )
            for k, o in zip(refused, outs2, strict=True):
                results[k] = o.result
        per_item: list[list[tuple[GenResult, bool]]] = [[] for _ in items]
        for (i, _r), res, g in zip(flat, results, guided, strict=True):
            per_item[i].append((res, g))
        return [self._grade(it, reps) for it, reps in zip(items, per_item, strict=True)]

    def _grade(self, it: JudgeItem, replies: list[tuple[GenResult, bool]]) -> Grade:
        base: dict[str, Any] = dict(
            run_id=it.run_id, task=it.task, arm=it.arm, example_id=it.example.id, judge=self.id,
            judge_version=self.version, prediction_key=it.prediction_key,
        )
        if it.candidate is None:
            return Grade(**base, score=None, error=f"no completion: {it.error}")
        texts: list[str | None] = []
        scores: list[float | None] = []
        rationale = ""
        n_guided = 0
        for rep, was_guided in replies:
            if isinstance(rep, GenFailure):
                texts.append(None)
                scores.append(None)
                continue
            n_guided += was_guided
            texts.append(rep.text)
            p = parse_score(rep.text)
            scores.append(p.score)
            if p.score is not None and not rationale:
                rationale = p.rationale
        g = aggregate_repeats(base, texts, scores, rationale)
        answered = sum(t is not None for t in texts)
        if self.spec.guided and answered:  # < 1: free-text fallback for (some of) its replies
            g = g.model_copy(update={"metrics": {**g.metrics, "guided": round(n_guided / answered, 4)}})
        return g


def aggregate_repeats(
    base: dict[str, Any], texts: list[str | None], scores: list[float | None], rationale: str
) -> Grade:
    """Mean over parsed repeats; spread and unparsed counts in ``metrics`` when there are repeats."""
    got = [s for s in scores if s is not None]
    n_fail = sum(1 for t in texts if t is None)
    n_unparsed = sum(1 for t, s in zip(texts, scores, strict=True) if t is not None and s is None)
    if len(texts) == 1:
        raw = texts[0] or ""
    else:
        raw = json.dumps({"replies": texts, "scores": scores}, ensure_ascii=False)
    metrics: dict[str, float] = {}
    if len(texts) > 1:
        metrics["replies_unparsed"] = float(n_unparsed)
        if len(got) >= 2:
            mean = sum(got) / len(got)
            metrics["repeat_sd"] = round(math.sqrt(sum((x - mean) ** 2 for x in got) / (len(got) - 1)), 4)
            metrics["repeat_range"] = round(max(got) - min(got), 4)
    if got:
        return Grade(**base, score=round(sum(got) / len(got), 4), metrics=metrics, rationale=rationale, raw=raw)
    if n_fail == len(texts):
        return Grade(**base, score=None, metrics=metrics, raw=raw, error=GEN_FAILED)
    return Grade(**base, score=None, metrics=metrics, raw=raw, rationale="", error=UNPARSEABLE)


def judge_id(spec: JudgeSpec) -> str:
    """``llm:NAME@HASH`` (the hash covers model, sampling, repeats and the rubric prompt hash)."""
    return f"{spec.kind}:{spec.name}@{spec.identity(prompt_hash(spec.rubric))}"
