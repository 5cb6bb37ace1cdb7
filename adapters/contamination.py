"""Contamination check: character n-gram overlap (NFKC, 13-grams by default, as lm-eval-harness
decontaminates with 13-grams) between text a model was tuned on and each evaluation item.

Any feature that shows the model text before evaluation adds it as a group of
``(source, text)`` pairs: the ``lora`` arm adds its training items, a prompt search can add
its few-shot texts with ``record_contamination(run_dir, task, "prompt-search", pairs, items)``.
Items whose overlap share reaches the threshold are flagged (``ContaminationFile.flagged``), and the
report scores every arm twice: on all items and on the clean ones only, so a gain that comes from
seen items shows.

Example: ``ragft contamination configs/demo.toml``
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bench.store.files import (
    CONTAMINATION,
    Caveat,
    ContaminationFile,
    ItemOverlap,
    OverlapGroup,
    TaskOverlap,
    record_caveats,
    update_model,
)
from bench.types import Example


def normalize(text: str) -> str:
    """NFKC, lower case, whitespace removed (Japanese has no word spaces; layout must not matter)."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def char_ngrams(text: str, n: int) -> set[str]:
    t = normalize(text)
    if not t:
        return set()
    if len(t) <= n:
        return {t}
    return {t[i : i + n] for i in range(len(t) - n + 1)}


def item_text(ex: Example) -> str:
    """What identifies an evaluation item: its question and reference (not a shared corpus document)."""
    return "\n".join(x for x in (ex.question, ex.reference or "") if x)


@dataclass(frozen=True)
class Overlap:
    ratio: float  # share of the item's n-grams found in the sources
    source: str | None  # the source sharing the most n-grams with the item


def check_overlap(
    sources: list[tuple[str, str]], items: list[tuple[str, str]], *, n: int = 13
) -> dict[str, Overlap]:
    """For each ``(item_id, text)``: the share of its character n-grams present in any source text."""
    index: dict[str, list[str]] = {}
    for name, text in sources:
        for g in char_ngrams(text, n):
            index.setdefault(g, []).append(name)
    out: dict[str, Overlap] = {}
    for iid, text in items:
        grams = char_ngrams(text, n)
        hits: dict[str, int] = {}
        matched = 0
        for g in grams:
            srcs = index.get(g)
            if srcs:
                matched += 1
                for s in set(srcs):
                    hits[s] = hits.get(s, 0) + 1
        top = max(hits, key=lambda s: (hits[s], s)) if hits else None
        out[iid] = Overlap(ratio=matched / len(grams) if grams else 0.0, source=top)
    return out


def record_contamination(
    run_dir: Path,
    task: str,
    group: str,
    sources: list[tuple[str, str]],
    items: list[Example],
    *,
    n: int = 13,
    threshold: float = 0.5,
) -> dict[str, Overlap]:
    """Check ``items`` against one group of sources and merge the result into ``run_dir/contamination.json``."""
    result = check_overlap(sources, [(e.id, item_text(e)) for e in items], n=n)
    group_rec = OverlapGroup(
        n_sources=len(sources),
        items={k: ItemOverlap(ratio=round(v.ratio, 4), source=v.source) for k, v in result.items()},
    )

    def change(data: ContaminationFile) -> None:
        data.ngram = n
        data.threshold = threshold
        data.tasks.setdefault(task, TaskOverlap()).groups[group] = group_rec

    data = update_model(run_dir / CONTAMINATION, ContaminationFile, change)
    record_caveats(run_dir, "contamination", contamination_caveats(data, task), task=task)
    return result


def contamination_caveats(data: ContaminationFile, task: str) -> list[Caveat]:
    """The caveat of ``task`` when any of its checked items is flagged in any group (else none)."""
    t = data.tasks.get(task)
    if t is None:
        return []
    flagged = data.flagged(task)
    if not flagged:
        return []
    checked = set().union(*(g.items.keys() for g in t.groups.values()))
    groups = sorted({g for _r, _s, g in flagged.values()})
    ids = sorted(flagged)
    share = f"{data.threshold:.0%}"
    return [Caveat(
        source="contamination", kind="contaminated_items", task=task,
        en=(f"contamination: {len(ids)} of {len(checked)} checked items share at least {share} of their "
            f"{data.ngram}-grams with text the model was tuned on or shown ({', '.join(groups)}); compare the "
            "clean-item scores in the Contamination section"),
        ja=(f"汚染: 確認した {len(checked)} 件中 {len(ids)} 件が、モデルが学習または提示されたテキスト"
            f"（{', '.join(groups)}）と {data.ngram}-gram の {share} 以上を共有しています。"
            "汚染チェック節のクリーンな項目のスコアと比べてください"),
        data={"flagged": ids, "n_checked": len(checked), "groups": groups, "threshold": data.threshold,
              "ngram": data.ngram},
    )]
