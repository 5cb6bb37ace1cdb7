"""The recommendation per task and overall, in Japanese and English, from an ``Analysis``.

Example: ``a = analyse(RunData.load(Path("reports/demo-1a2b3c4d"))); print(a.recommendation_text("en"))``
"""

from __future__ import annotations

import math
from typing import Any

from bench.registry import is_diagnostic
from bench.report.analysis import Analysis, TaskRecommendation, measure
from bench.report.costs import break_even
from bench.report.fmt import fmt as _fmt
from bench.report.fmt import money as _money
from bench.report.rundata import RunData
from bench.report.stats import PairedDiff
from bench.store.files import Caveat

SIMPLICITY = ("base", "prompt", "rag", "lora")  # fewest things to maintain first


def arm_kind(component: str) -> str:
    """The kind of one arm component: ``lora:NAME`` and ``prompt:NAME`` rank as ``lora`` and ``prompt``."""
    return component.split(":", 1)[0].strip()


def simplicity(arm: str) -> tuple[int, int]:
    """Sort key of an arm by what it takes to maintain: single arms before combinations, then
    base < prompt < rag < lora < other kinds (by the kind before a colon)."""
    parts = [arm_kind(p) for p in arm.split("+") if p.strip()]
    return len(parts), sum(SIMPLICITY.index(k) if k in SIMPLICITY else len(SIMPLICITY) for k in parts)


def items_needed(mdd: float | None, n: int, lead: float) -> int | None:
    """Paired items a two-sided test (α = 0.05, 80% power) needs to detect ``lead`` at the spread
    behind ``mdd`` observed on ``n`` items (MDD ∝ 1/√n); None when no lead or no spread."""
    if mdd is None or lead <= 0 or n < 2:
        return None
    return max(n, math.ceil(n * (mdd / lead) ** 2))


def rule_text(a: Analysis) -> tuple[str, str]:
    """The decision rule, in English and Japanese, as the report applies it."""
    tb, alpha, q = a.settings.tie_break, a.settings.alpha, a.prices.queries
    if tb == "cheapest":
        how_en = f"the cheapest (total cost at {q:,} queries, `cost.queries`; then the simpler)"
        how_ja = f"総コスト（{q:,} 件、`cost.queries`）が最も安いもの（同額なら単純な方）"
    else:
        how_en = "the simplest (fewest things to maintain: base < prompt < rag < lora < combinations; then the cheaper)"
        how_ja = "最も単純なもの（保守するものが少ない順: base < prompt < rag < lora < 組み合わせ、同順位なら安い方）"
    return (f"Rule (`report.tie_break = \"{tb}\"`): among the arms not significantly worse than the best "
            f"(Holm-adjusted Wilcoxon, α = {alpha:g}), choose {how_en}; diagnostic arms (oracle) are never chosen.",
            f"判定規則（`report.tie_break = \"{tb}\"`）: 最良のアームより有意に劣らないアーム（Holm 補正 Wilcoxon、"
            f"α = {alpha:g}）のうち、{how_ja}を選びます。診断用アーム（oracle）は選びません。")


def _pair(a: Analysis, task: str, x: str, y: str) -> tuple[PairedDiff | None, int]:
    """The pair of arms x and y, and the sign that orients its ``arm_b − arm_a`` diff as x − y."""
    judge = a.judge_of(task)
    for p in a.pairs:
        if p.task == task and p.judge == judge:
            if p.arm_a == y and p.arm_b == x:
                return p, 1
            if p.arm_a == x and p.arm_b == y:
                return p, -1
    return None, 1


def _gap(p: PairedDiff, sign: int) -> tuple[float, float, float]:
    d, lo, hi = p.diff or 0.0, p.ci_low or 0.0, p.ci_high or 0.0
    g = (d, lo, hi) if sign == 1 else (-d, -hi, -lo)
    return g[0] + 0.0, g[1] + 0.0, g[2] + 0.0  # no "-0.00"


def task_caveats(a: Analysis, task: str) -> list[Caveat]:
    """The recorded caveats (``caveats.json``) that qualify ``task``'s comparison: the task's own
    and run-wide ones; a judge's caveat only when that judge decides the task."""
    judge = a.judge_of(task)
    return [c for c in a.rd.caveats.for_task(task) if c.source != "judge" or c.data.get("judge") == judge]


def recommend(a: Analysis, task: str) -> TaskRecommendation:
    cur = a.prices.currency
    rule_en = rule_text(a)[0]
    caveats: list[str] = []
    caveats_ja: list[str] = []
    st = [s for s in (a.stat(task, arm) for arm in a.arms[task]) if s is not None and s.mean is not None]
    # diagnostic arms (oracle: gold passages, unknown at query time) are a ceiling, not a choice
    diag = [s for s in st if is_diagnostic(s.arm)]
    st = [s for s in st if not is_diagnostic(s.arm)]
    fails = [f"{s.arm} {s.n_failed} failed" for s in (a.stat(task, arm) for arm in a.arms[task]) if s and s.n_failed]
    if fails:
        caveats.append("failures counted, not scored: " + ", ".join(fails))
        caveats_ja.append("失敗は採点せず件数で表示: " + ", ".join(fails))
    for c in task_caveats(a, task):
        caveats.append(c.en)
        caveats_ja.append(c.ja or c.en)
    cav_en = (" Caveats: " + "; ".join(caveats) + ".") if caveats else ""
    cav_ja = (" 注意: " + "; ".join(caveats_ja) + "。") if caveats else ""
    if diag:
        note = ", ".join(f"{s.arm} {s.mean:.2f}" for s in diag)
        cav_en += (f" Not a candidate (diagnostic, needs gold passages at query time): {note} — "
                   "the ceiling for rag; a large gap to rag means retrieval misses.")
        cav_ja += (f" 候補外（診断用、質問時に正解パッセージが必要）: {note} — rag の上限です。"
                   "rag との差が大きければ検索の取りこぼしが原因です。")
    if not st:
        return TaskRecommendation(task, None, False, "No arm has scored items; nothing to recommend." + cav_en,
                                  "採点済みの項目がないため推奨できません。" + cav_ja, caveats)
    if len(st) == 1:
        s = st[0]
        en = (f"Only one arm ({s.arm}) was run: mean {s.mean:.2f}/10, 95% CI [{_fmt(s.ci_low)}, {_fmt(s.ci_high)}], "
              f"{s.n_scored} items. No comparison is possible; add arms (e.g. rag, prompt, lora) to get a recommendation."
              + (f" With {s.n_scored} items, only differences of about {s.mdd:.2f} points or more would be detectable."
                 if s.mdd else "") + cav_en)
        ja = (f"実行したアームは {s.arm} のみです（平均 {s.mean:.2f}/10、95%信頼区間 [{_fmt(s.ci_low)}, {_fmt(s.ci_high)}]、"
              f"{s.n_scored} 件）。比較できないため推奨はありません。rag・prompt・lora などのアームを追加してください。"
              + (f" {s.n_scored} 件では約 {s.mdd:.2f} 点以上の差しか検出できません。" if s.mdd else "") + cav_ja)
        return TaskRecommendation(task, None, False, en, ja, caveats)
    st.sort(key=lambda s: -(s.mean or 0.0))
    best = st[0]
    mean_of = {s.arm: s.mean or 0.0 for s in st}
    worse: dict[str, bool] = {}  # significantly worse than the best
    for o in st[1:]:
        p, sign = _pair(a, task, best.arm, o.arm)
        worse[o.arm] = p is not None and p.significant and _gap(p, sign)[0] > 0
    tied = [best.arm] + [o.arm for o in st[1:] if not worse[o.arm]]
    cost_of = {s.arm: a.costs.get((task, s.arm)) for s in st}

    def total(arm: str) -> float:
        c = cost_of.get(arm)
        v = c.total_money(a.prices.queries) if c else None
        return float("inf") if v is None else v

    if a.settings.tie_break == "cheapest":
        choice = min(tied, key=lambda x: (total(x), simplicity(x), -mean_of[x]))
    else:
        choice = min(tied, key=lambda x: (simplicity(x), total(x), -mean_of[x]))

    def cost_words(arm: str) -> tuple[str, str]:
        c = cost_of.get(arm)
        if c is None or c.per_query_money is None:
            return "cost unknown", "コスト不明"
        tq = _money(c.total_money(a.prices.queries), cur)
        en = f"{_money(c.per_query_money, cur)}/query, {c.prompt_tokens_mean or 0:.0f} prompt tokens, p50 {_fmt(c.latency_p50_s)} s"
        ja = f"1件あたり {_money(c.per_query_money, cur)}、プロンプト {c.prompt_tokens_mean or 0:.0f} トークン、p50 {_fmt(c.latency_p50_s)} 秒"
        if c.fixed_money:
            en += f", fixed {_money(c.fixed_money, cur)} ({c.fixed_s:.0f} s)"
            ja += f"、固定費 {_money(c.fixed_money, cur)}（{c.fixed_s:.0f} 秒）"
        return en + f"; {tq} for {a.prices.queries:,} queries", ja + f"; {a.prices.queries:,} 件で {tq}"

    runner = st[1]
    if len(tied) == 1:  # the best is significantly better than every other candidate: the rule picks it
        p, sign = _pair(a, task, best.arm, runner.arm)
        if p is None:  # arms of a task are always paired in analyse(); stay safe for other judges
            return TaskRecommendation(task, None, False, "No paired comparison available." + cav_en,
                                      "対応のある比較がありません。" + cav_ja, caveats, rule_en)
        d, lo, hi = _gap(p, sign)
        ce, cj = cost_words(best.arm)
        re_, rj = cost_words(runner.arm)
        cb, cr = cost_of[best.arm], cost_of[runner.arm]
        be = break_even(cb, cr) if cb is not None and cr is not None else None
        be_en = f" Break-even with {runner.arm} at {be:,.0f} queries." if be else ""
        be_ja = f" {runner.arm} との損益分岐点は {be:,.0f} 件です。" if be else ""
        en = (f"Use **{best.arm}**: it beats every other arm significantly (Holm-adjusted), so it is the only arm the rule can choose. Against the runner-up "
              f"{runner.arm} it gains {d:+.2f} points (95% CI [{lo:+.2f}, {hi:+.2f}], n={p.n}, Holm p={p.p_holm:.3g}); "
              f"mean {best.mean:.2f} vs {runner.mean:.2f}. Cost: {best.arm} {ce}; {runner.arm} {re_}.{be_en}{cav_en}")
        ja = (f"**{best.arm}** を推奨します。他のすべてのアームに対して有意に優れている（Holm 補正後）ため、規則で選べる唯一のアームです。次点の {runner.arm} に対し "
              f"{d:+.2f} 点（95%信頼区間 [{lo:+.2f}, {hi:+.2f}]、n={p.n}、Holm 補正 p={p.p_holm:.3g}）、平均 {best.mean:.2f} 対 "
              f"{runner.mean:.2f}。コスト: {best.arm} {cj}; {runner.arm} {rj}。{be_ja}{cav_ja}")
        return TaskRecommendation(task, best.arm, True, en, ja, caveats, rule_en, tied, best.arm)
    # several candidates are not significantly worse than the best: the tie-break rule decides
    vs = choice if choice != best.arm else runner.arm
    p, sign = _pair(a, task, best.arm, vs)
    d, lo, hi = _gap(p, sign) if p is not None else (0.0, 0.0, 0.0)
    n = p.n if p is not None else 0
    mdd = p.mdd if p is not None else None
    p_holm = f", Holm p={p.p_holm:.3g}" if p is not None else ""
    why_en = "the simplest" if a.settings.tie_break == "simplest" else "the cheapest"
    why_ja = "最も単純な" if a.settings.tie_break == "simplest" else "最も安い"
    others = ", ".join(x for x in tied if x != best.arm)
    ce, cj = cost_words(choice)
    en = (f"No arm is significantly better than the rest: {others} {'is' if len(tied) == 2 else 'are'} not "
          f"significantly worse than the best arm {best.arm} (mean {best.mean:.2f}). By the rule, choose {why_en}: "
          f"**{choice}** ({ce}). {best.arm} vs {vs}: {d:+.2f} points (95% CI [{lo:+.2f}, {hi:+.2f}], n={n}{p_holm}).")
    ja = (f"他を有意に上回るアームはありません。{others} は最良のアーム {best.arm}（平均 {best.mean:.2f}）より有意に劣りません。"
          f"規則により{why_ja} **{choice}** を選びます（{cj}）。{best.arm} 対 {vs}: {d:+.2f} 点"
          f"（95%信頼区間 [{lo:+.2f}, {hi:+.2f}]、n={n}{p_holm.replace('Holm p', 'Holm 補正 p')}）。")
    need = items_needed(mdd, n, d) if choice != best.arm else None
    if choice != best.arm:
        if need is not None and mdd is not None:
            en += (f" {best.arm} would be chosen if its lead of {d:.2f} points were significant: at the observed spread "
                   f"that takes about {need:,} paired items (now {n}; the smallest detectable difference is {mdd:.2f}).")
            ja += (f" {best.arm} の {d:.2f} 点の差が有意になれば {best.arm} を選びます。観測されたばらつきでは約 {need:,} 件の"
                   f"対応のある項目が必要です（現在 {n} 件、検出できる最小の差は {mdd:.2f} 点）。")
        else:
            en += f" {best.arm} would be chosen if its lead were significant; the spread observed gives no item count."
            ja += f" {best.arm} の差が有意になれば {best.arm} を選びますが、ばらつきから必要な件数は求められません。"
    elif mdd:
        en += f" With n={n} items the smallest detectable difference is about {mdd:.2f} points."
        ja += f" n={n} 件で検出できる最小の差は約 {mdd:.2f} 点です。"
    return TaskRecommendation(task, choice, False, en + cav_en, ja + cav_ja, caveats, rule_en,
                              tied, best.arm, need)


def overall(a: Analysis) -> tuple[str, str]:
    recs = a.recommendations
    if not recs:
        return "No tasks were run.", "タスクが実行されていません。"
    if all(len(a.arms[t]) < 2 for t in a.tasks):
        arms = sorted({x for t in a.tasks for x in a.arms[t]})
        return (f"Only {', '.join(arms)} was run on every task, so there is nothing to compare yet; "
                "run more arms (prompt, rag, lora) on the same items to get a recommendation.",
                f"すべてのタスクで {', '.join(arms)} のみを実行したため、まだ比較できません。"
                "同じ項目で prompt・rag・lora などのアームを実行すると推奨が得られます。")
    sig = {r.task: r.choice for r in recs if r.significant and r.choice}
    cheap = {r.task: r.choice for r in recs if not r.significant and r.choice}
    how_en = "simplest" if a.settings.tie_break == "simplest" else "cheapest"
    how_ja = "最も単純な" if a.settings.tie_break == "simplest" else "最も安い"
    tally: dict[str, int] = {}
    for c in list(sig.values()) + list(cheap.values()):
        tally[c] = tally.get(c, 0) + 1
    top = max(tally, key=lambda k: tally[k]) if tally else None
    en = (f"{len(sig)} of {len(recs)} tasks have a significantly best arm"
          + (f" ({', '.join(f'{t}: {c}' for t, c in sig.items())})" if sig else "")
          + f"; {len(cheap)} show no significant difference, where the {how_en} arm not significantly worse "
          "than the best is chosen"
          + (f" ({', '.join(f'{t}: {c}' for t, c in cheap.items())})" if cheap else "") + ". "
          + (f"Overall, **{top}** is chosen most often ({tally[top]} of {len(recs)} tasks)." if top else ""))
    ja = (f"{len(recs)} タスク中 {len(sig)} タスクで有意に最良のアームがあります"
          + (f"（{', '.join(f'{t}: {c}' for t, c in sig.items())}）" if sig else "")
          + f"。{len(cheap)} タスクは有意差がなく、最良より有意に劣らない{how_ja}アームを選びました"
          + (f"（{', '.join(f'{t}: {c}' for t, c in cheap.items())}）" if cheap else "") + "。"
          + (f"全体では **{top}** が最も多く選ばれています（{len(recs)} タスク中 {tally[top]}）。" if top else ""))
    return en, ja




def analyse(rd: RunData, rows: list[dict[str, Any]] | None = None) -> Analysis:
    """The run's statistics, costs and recommendation per task and overall."""
    a = measure(rd, rows)
    if any(len(a.arms[t]) > 1 for t in a.tasks):  # a decision is made: state its rule
        a.rule_en, a.rule_ja = rule_text(a)
    a.recommendations = [recommend(a, t) for t in a.tasks]
    a.overall_en, a.overall_ja = overall(a)
    return a
