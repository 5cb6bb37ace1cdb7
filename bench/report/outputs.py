"""Output checks: does the model read the question? Per task and arm, the share of the most
frequent answer, and per pair of arms the share of identical outputs; above
``report.degenerate_share`` the report says so and compares the arm's score with what always
giving that answer would score (the gold share of that answer).

Answers are compared after NFKC, trimming and lower-casing; on items with a label list (choice
tasks) the first label the answer names counts, as the choice metric reads it.

Example: ``stats = answer_stats(RunData.load(Path("reports/demo-1a2b3c4d")))``
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

from bench.report.rundata import RunData
from bench.store.files import Caveat

MIN_ITEMS = 10  # fewer answered items say nothing about a habit
POSITION_BIAS_SHARE = 0.5  # rotated options: the same label kept on at least this share of items


def answer_key(text: str, choices: list[str] | None) -> str:
    """The answer as compared: normalised text, or the first label of ``choices`` it names."""
    t = unicodedata.normalize("NFKC", text).strip().lower()
    if choices:
        labels = sorted({unicodedata.normalize("NFKC", c).strip().lower() for c in choices}, key=len, reverse=True)
        alts = "|".join(re.escape(x) for x in labels if x)
        m = re.search(rf"(?<![0-9a-z])({alts})(?![0-9a-z])", t) if alts else None
        if m:
            return m.group(1)
    return t.splitlines()[0].strip() if t else ""


@dataclass
class ArmAnswers:
    task: str
    arm: str
    n: int  # answered items
    top: str  # the most frequent answer
    top_share: float
    gold_share: float  # share of items whose reference is ``top``: the accuracy of always answering it


@dataclass
class PairIdentical:
    task: str
    arm_a: str
    arm_b: str
    n: int  # items both answered
    share: float  # identical outputs (normalised full text)


def answer_stats(rd: RunData) -> tuple[list[ArmAnswers], list[PairIdentical]]:
    arms_out: list[ArmAnswers] = []
    pairs_out: list[PairIdentical] = []
    for task, sel in rd.selection.items():
        refs: dict[str, str] = {}
        choices: dict[str, list[str] | None] = {}
        for eid in sel.examples:
            ex = rd.examples.get(task, {}).get(eid, {})
            choices[eid] = ex.get("choices")
            refs[eid] = answer_key(str(ex.get("reference") or ""), choices[eid])
        full: dict[str, dict[str, str]] = {}
        for arm in sel.arms:
            keys: dict[str, str] = {}
            full[arm] = {}
            for eid in sel.examples:
                p = rd.predictions.get((task, arm, eid))
                if p is None or p.completion is None:
                    continue
                keys[eid] = answer_key(p.completion.text, choices[eid])
                full[arm][eid] = unicodedata.normalize("NFKC", p.completion.text).strip()
            if not keys:
                continue
            top, count = Counter(keys.values()).most_common(1)[0]
            gold = sum(1 for eid in sel.examples if refs[eid] == top) / len(sel.examples)
            arms_out.append(ArmAnswers(task, arm, len(keys), top, count / len(keys), gold))
        for a, b in combinations(sel.arms, 2):
            both = sorted(set(full.get(a, {})) & set(full.get(b, {})))
            if both:
                same = sum(1 for e in both if full[a][e] == full[b][e])
                pairs_out.append(PairIdentical(task, a, b, len(both), same / len(both)))
    return arms_out, pairs_out


@dataclass
class PositionBias:
    """The ``shuffle_choices`` check of one task × arm (items labelled in both askings)."""

    task: str
    arm: str
    asked: int  # items asked again with rotated options
    n: int  # items with a label in both answers
    same_position: float  # share that kept the label although the chosen option moved
    same_content: float  # share whose label moved with the chosen option's text
    accuracy_original: float | None
    accuracy_rotated: float | None
    not_shuffled: int


def position_bias(rd: RunData) -> list[PositionBias]:
    out: list[PositionBias] = []
    for task, arms in (rd.shuffle.tasks if rd.shuffle is not None else {}).items():
        for arm, v in arms.items():
            both = [x for x in v.items.values() if x.original is not None and x.shuffled is not None]
            asked = len(v.items)
            orig_ok = [x.original == x.gold for x in v.items.values()]
            rot_ok = [x.shuffled == (x.gold + 1) % x.n_options for x in v.items.values()]
            n = len(both)
            out.append(PositionBias(
                task=task, arm=arm, asked=asked, n=n,
                same_position=sum(1 for x in both if x.shuffled == x.original) / n if n else 0.0,
                same_content=sum(1 for x in both if x.shuffled == ((x.original or 0) + 1) % x.n_options) / n if n else 0.0,
                accuracy_original=sum(orig_ok) / asked if asked else None,
                accuracy_rotated=sum(rot_ok) / asked if asked else None,
                not_shuffled=v.not_shuffled,
            ))
    return out


def reference_mean(rd: RunData, task: str, arm: str) -> float | None:
    """The arm's mean under the reference metrics (what a constant answer's gold share compares to)."""
    for s in rd.summaries:
        if s.task == task and s.arm == arm and s.judge.startswith("reference") and s.mean is not None:
            return s.mean
    return None


def output_caveats(rd: RunData, threshold: float) -> list[Caveat]:
    """Caveats for answers that repeat (``top_share ≥ threshold``) and arms whose outputs are
    identical (``share ≥ threshold``), over at least ``MIN_ITEMS`` items."""
    arms, pairs = answer_stats(rd)
    out: list[Caveat] = []
    for s in arms:
        if s.n < MIN_ITEMS or s.top_share < threshold:
            continue
        score = reference_mean(rd, s.task, s.arm)
        shown = s.top[:40] or "(empty)"
        vs_en = (f"; it scored {score:.2f}, always answering `{shown}` would score {10 * s.gold_share:.2f} "
                 f"(the gold share of that answer, {s.gold_share:.0%})") if score is not None else \
            f"; always answering `{shown}` would score {10 * s.gold_share:.2f} (its gold share {s.gold_share:.0%})"
        vs_ja = (f"。スコアは {score:.2f}、常に `{shown}` と答えた場合は {10 * s.gold_share:.2f}"
                 f"（その答えが正解である割合 {s.gold_share:.0%}）") if score is not None else \
            f"。常に `{shown}` と答えた場合は {10 * s.gold_share:.2f}（正解である割合 {s.gold_share:.0%}）"
        out.append(Caveat(
            source="outputs", kind="degenerate_answers", task=s.task, arm=s.arm,
            en=(f"degenerate answers: {s.arm} answered `{shown}` on {s.top_share:.0%} of {s.n} items, so the model "
                f"may not be reading the question{vs_en}"),
            ja=(f"偏った回答: {s.arm} は {s.n} 件中 {s.top_share:.0%} で `{shown}` と答えており、"
                f"質問を読んでいない可能性があります{vs_ja}"),
            data={"answer": s.top, "share": round(s.top_share, 4), "n": s.n, "gold_share": round(s.gold_share, 4),
                  "score": score, "constant_score": round(10 * s.gold_share, 4), "threshold": threshold},
        ))
    for b in position_bias(rd):
        if b.n < MIN_ITEMS or b.same_position < POSITION_BIAS_SHARE:
            continue
        acc = (f"; accuracy {b.accuracy_original:.0%} in the original order, {b.accuracy_rotated:.0%} rotated"
               if b.accuracy_original is not None and b.accuracy_rotated is not None else "")
        acc_ja = (f"。正解率は元の順序で {b.accuracy_original:.0%}、入れ替え後 {b.accuracy_rotated:.0%}"
                  if b.accuracy_original is not None and b.accuracy_rotated is not None else "")
        out.append(Caveat(
            source="outputs", kind="position_bias", task=b.task, arm=b.arm,
            en=(f"position bias: asked again with the options rotated, {b.arm} kept the same label on "
                f"{b.same_position:.0%} of {b.n} items although the option it had chosen moved, and followed the "
                f"option's content on {b.same_content:.0%}{acc}"),
            ja=(f"位置の偏り: 選択肢を入れ替えて再度尋ねると、{b.arm} は {b.n} 件中 {b.same_position:.0%} で選んだ選択肢が"
                f"移動したのに同じ記号を答え、内容に従ったのは {b.same_content:.0%} でした{acc_ja}"),
            data={"n": b.n, "same_position": round(b.same_position, 4), "same_content": round(b.same_content, 4),
                  "accuracy_original": b.accuracy_original, "accuracy_rotated": b.accuracy_rotated,
                  "threshold": POSITION_BIAS_SHARE},
        ))
    for p in pairs:
        if p.n < MIN_ITEMS or p.share < threshold:
            continue
        out.append(Caveat(
            source="outputs", kind="identical_outputs", task=p.task,
            en=(f"identical outputs: {p.arm_a} and {p.arm_b} gave the same answer text on {p.share:.0%} of {p.n} "
                "items: the arm barely changes what the model says, so no difference between them is no evidence "
                "that either works"),
            ja=(f"同一の出力: {p.arm_a} と {p.arm_b} は {p.n} 件中 {p.share:.0%} で同じ回答文を返しています。"
                "アームはモデルの出力をほとんど変えておらず、両者に差がないことはどちらかが効く根拠になりません"),
            data={"arms": [p.arm_a, p.arm_b], "share": round(p.share, 4), "n": p.n, "threshold": threshold},
        ))
    return out
