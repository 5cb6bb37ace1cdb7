"""The ``shuffle_choices`` check: every evaluated item of a choice task is asked again, by every
arm, with its option texts rotated one label down (labels and layout unchanged, every option in
another position). If the model picks by content, its label moves with the option; if it picks
by position, the label stays. Answers go to ``choice_shuffle.json``; the extra generations are a
fixed cost (``shuffle_check``) of each arm in ``costs.json``; the report turns the counts into
the position-bias figures and caveat (``bench.report.outputs``).

The rotated request is the arm's own request with the option block of its last message rotated,
so retrieval, few-shot choice and adapter are those of the scored answer.

Example: ``[[tasks]] … shuffle_choices = true`` in a config, then ``ragft run CONFIG``
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.backends import Backend
from bench.backends.batching import GenOutcome, generate_cached
from bench.engine.plan import Plan
from bench.models import cache_dir
from bench.store.cache import GenerationCache
from bench.store.costs import current_device, record_fixed_cost
from bench.store.files import CHOICE_SHUFFLE, ChoiceShuffle, ShuffleArm, ShuffledItem, update_model
from bench.store.rundir import RunStore
from bench.types import Completion, GenRequest, Message
from tasks.choices import chosen_label, rotate_options

SUFFIX = "~rotated"


def rotated_request(r: GenRequest, labels: list[str]) -> GenRequest | None:
    """``r`` with the option block of its last message rotated; None when no block is found."""
    last = r.messages[-1]
    text = rotate_options(last.content, labels)
    if text is None:
        return None
    msgs = [*r.messages[:-1], Message(role=last.role, content=text)]
    return r.model_copy(update={"messages": msgs, "example_id": r.example_id + SUFFIX})


def run_shuffle_check(plan: Plan, run_dir: Path, backend: Backend, fingerprint: str, batch_size: int) -> int:
    """Ask the rotated items of every task with ``shuffle_choices``; returns the generations made."""
    preds = RunStore(run_dir).latest_predictions()
    jobs: list[tuple[str, str, str, ShuffledItem, GenRequest, list[str]]] = []  # task, arm, item, record, request, labels
    skipped: dict[tuple[str, str], int] = {}
    for tp in plan.tasks:
        if not tp.tc.shuffle_choices:
            continue
        by_id = {e.id: e for e in tp.examples}
        for arm in tp.arms:
            for r in tp.requests[arm]:
                ex = by_id.get(r.example_id)
                labels = list(ex.choices or []) if ex is not None else []
                gold = labels.index(ex.reference) if ex is not None and ex.reference in labels else None
                rot = rotated_request(r, labels) if gold is not None else None
                if rot is None or gold is None:
                    skipped[(tp.task.name, arm)] = skipped.get((tp.task.name, arm), 0) + 1
                    continue
                p = preds.get((tp.task.name, arm, r.example_id))
                orig = chosen_label(p.completion.text, labels) if p is not None and p.completion else None
                jobs.append((tp.task.name, arm, r.example_id,
                             ShuffledItem(n_options=len(labels), gold=gold, original=orig, shuffled=None), rot, labels))
    if not jobs and not skipped:
        return 0
    cache = GenerationCache(cache_dir() / "generations.sqlite")
    t0 = time.perf_counter()
    try:
        outcomes: list[GenOutcome] = generate_cached(
            backend, [j[4] for j in jobs], cache=cache, batch_size=batch_size, fingerprint=fingerprint)
    finally:
        cache.close()
    wall = time.perf_counter() - t0
    generated = sum(1 for o in outcomes if o.source == "generated")
    result: dict[tuple[str, str], ShuffleArm] = {}
    for (task, arm, eid, rec, _r, labels), o in zip(jobs, outcomes, strict=True):
        rec.shuffled = chosen_label(o.result.text, labels) if isinstance(o.result, Completion) else None
        result.setdefault((task, arm), ShuffleArm()).items[eid] = rec
    for key, n in skipped.items():
        result.setdefault(key, ShuffleArm()).not_shuffled = n

    def change(f: ChoiceShuffle) -> None:
        for (task, arm), v in result.items():
            f.tasks.setdefault(task, {})[arm] = v

    update_model(run_dir / CHOICE_SHUFFLE, ChoiceShuffle, change)
    if generated:  # all from the cache: the earlier record stands
        per = {k: len(v.items) for k, v in result.items()}
        total = sum(per.values()) or 1
        for (task, arm), n in per.items():
            record_fixed_cost(run_dir, arm, task, "shuffle_check", wall * n / total, current_device(),
                              generations=n, note="options rotated: position-bias check")
    return generated
