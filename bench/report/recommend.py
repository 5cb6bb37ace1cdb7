"""The recommendation per task and overall, in Japanese and English, from an ``Analysis``.

Example: ``a = analyse(RunData.load(Path("reports/demo-1a2b3c4d"))); print(a.recommendation_text("en"))``
"""

from __future__ import annotations

from typing import Any

from bench.registry import is_diagnostic
from bench.report.analysis import Analysis, TaskRecommendation, measure
from bench.report.costs import break_even
from bench.report.fmt import fmt as _fmt
from bench.report.fmt import money as _money
from bench.report.rundata import RunData
from bench.report.stats import PairedDiff


def _pair(a: Analysis, task: str, x: str, y: str) -> tuple[PairedDiff | None, int]:
    """The pair of arms x and y, and the sign that orients its ``arm_b − arm_a`` diff as x − y."""
    for p in a.pairs:
        if p.task == task and p.judge == a.judge:
            if p.arm_a == y and p.arm_b == x:
                return p, 1
            if p.arm_a == x and p.arm_b == y:
                return p, -1
    return None, 1


def _gap(p: PairedDiff, sign: int) -> tuple[float, float, float]:
    d, lo, hi = p.diff or 0.0, p.ci_low or 0.0, p.ci_high or 0.0
    g = (d, lo, hi) if sign == 1 else (-d, -hi, -lo)
    return g[0] + 0.0, g[1] + 0.0, g[2] + 0.0  # no "-0.00"


def recommend(a: Analysis, task: str) -> TaskRecommendation:
    cur = a.prices.currency
    caveats: list[str] = []
    st = [s for s in (a.stat(task, arm) for arm in a.arms[task]) if s is not None and s.mean is not None]
    # diagnostic arms (oracle: gold passages, unknown at query time) are a ceiling, not a choice
    diag = [s for s in st if is_diagnostic(s.arm)]
    st = [s for s in st if not is_diagnostic(s.arm)]
    if diag:
        caveats_note = ", ".join(f"{s.arm} {s.mean:.2f}" for s in diag)
    fails = [f"{s.arm} {s.n_failed} failed" for s in (a.stat(task, arm) for arm in a.arms[task]) if s and s.n_failed]
    if fails:
        caveats.append("failures counted, not scored: " + ", ".join(fails))
    cav_en = (" Caveats: " + "; ".join(caveats) + ".") if caveats else ""
    cav_ja = (" 注意: " + "; ".join(caveats) + "。") if caveats else ""
    if diag:
        cav_en += (f" Not a candidate (diagnostic, needs gold passages at query time): {caveats_note} — "
                   "the ceiling for rag; a large gap to rag means retrieval misses.")
        cav_ja += (f" 候補外（診断用、質問時に正解パッセージが必要）: {caveats_note} — rag の上限です。"
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
    others = st[1:]
    beats = []
    for o in others:
        p, sign = _pair(a, task, best.arm, o.arm)
        beats.append(p is not None and p.significant and _gap(p, sign)[0] > 0)
    cost_of = {s.arm: a.costs.get((task, s.arm)) for s in st}

    def total(arm: str) -> float:
        c = cost_of.get(arm)
        v = c.total_money(a.prices.queries) if c else None
        return float("inf") if v is None else v

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

    runner = others[0]
    p, sign = _pair(a, task, best.arm, runner.arm)
    if p is None:  # arms of a task are always paired in analyse(); stay safe for other judges
        return TaskRecommendation(task, None, False, "No paired comparison available." + cav_en,
                                  "対応のある比較がありません。" + cav_ja, caveats)
    d, lo, hi = _gap(p, sign)
    if all(beats):
        ce, cj = cost_words(best.arm)
        re_, rj = cost_words(runner.arm)
        cb, cr = cost_of[best.arm], cost_of[runner.arm]
        be = break_even(cb, cr) if cb is not None and cr is not None else None
        be_en = f" Break-even with {runner.arm} at {be:,.0f} queries." if be else ""
        be_ja = f" {runner.arm} との損益分岐点は {be:,.0f} 件です。" if be else ""
        en = (f"Use **{best.arm}**: it beats every other arm significantly (Holm-adjusted). Against the runner-up "
              f"{runner.arm} it gains {d:+.2f} points (95% CI [{lo:+.2f}, {hi:+.2f}], n={p.n}, Holm p={p.p_holm:.3g}); "
              f"mean {best.mean:.2f} vs {runner.mean:.2f}. Cost: {best.arm} {ce}; {runner.arm} {re_}.{be_en}{cav_en}")
        ja = (f"**{best.arm}** を推奨します。他のすべてのアームに対して有意に優れています（Holm 補正後）。次点の {runner.arm} に対し "
              f"{d:+.2f} 点（95%信頼区間 [{lo:+.2f}, {hi:+.2f}]、n={p.n}、Holm 補正 p={p.p_holm:.3g}）、平均 {best.mean:.2f} 対 "
              f"{runner.mean:.2f}。コスト: {best.arm} {cj}; {runner.arm} {rj}。{be_ja}{cav_ja}")
        return TaskRecommendation(task, best.arm, True, en, ja, caveats)
    # no significant winner: the cheapest arm not significantly worse than the best
    tied = [best.arm] + [o.arm for o, b in zip(others, beats, strict=True) if not b]
    # With no significant winner, staying on the plain base arm needs no investment at all
    # (no index, adapter or search to maintain), so it wins ties; otherwise the cheapest tied arm.
    choice = "base" if "base" in tied else min(
        tied, key=lambda arm: (total(arm), -(next(s.mean or 0 for s in st if s.arm == arm)))
    )
    ce, cj = cost_words(choice)
    mdd = f" With n={p.n} items the smallest detectable difference is about {p.mdd:.2f} points." if p.mdd else ""
    mdd_ja = f" n={p.n} 件で検出できる最小の差は約 {p.mdd:.2f} 点です。" if p.mdd else ""
    en = (f"No significant difference between the best arm {best.arm} (mean {best.mean:.2f}) and "
          f"{', '.join(x for x in tied if x != best.arm)} — "
          + ("keep **base**: nothing beats it significantly, and it needs no index, adapter or search "
             if choice == "base" else f"choose the cheapest: **{choice}** ")
          + f"({ce}). "
          f"{best.arm} vs {runner.arm}: {d:+.2f} points (95% CI [{lo:+.2f}, {hi:+.2f}], Holm p={p.p_holm:.3g}).{mdd}{cav_en}")
    ja = (f"最良のアーム {best.arm}（平均 {best.mean:.2f}）と {', '.join(x for x in tied if x != best.arm)} の間に有意差はありません"
          + (" — 有意に base を上回るアームがないため **base** のままにしてください（索引・アダプタ・探索が不要）"
             if choice == "base" else f" — 最も安い **{choice}** を選んでください")
          + f"（{cj}）。{best.arm} 対 {runner.arm}: {d:+.2f} 点"
          f"（95%信頼区間 [{lo:+.2f}, {hi:+.2f}]、Holm 補正 p={p.p_holm:.3g}）。{mdd_ja}{cav_ja}")
    return TaskRecommendation(task, choice, False, en, ja, caveats)


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
    tally: dict[str, int] = {}
    for c in list(sig.values()) + list(cheap.values()):
        tally[c] = tally.get(c, 0) + 1
    top = max(tally, key=lambda k: tally[k]) if tally else None
    en = (f"{len(sig)} of {len(recs)} tasks have a significantly best arm"
          + (f" ({', '.join(f'{t}: {c}' for t, c in sig.items())})" if sig else "")
          + f"; {len(cheap)} show no significant difference, where the cheapest adequate arm is chosen"
          + (f" ({', '.join(f'{t}: {c}' for t, c in cheap.items())})" if cheap else "") + ". "
          + (f"Overall, **{top}** is chosen most often ({tally[top]} of {len(recs)} tasks)." if top else ""))
    ja = (f"{len(recs)} タスク中 {len(sig)} タスクで有意に最良のアームがあります"
          + (f"（{', '.join(f'{t}: {c}' for t, c in sig.items())}）" if sig else "")
          + f"。{len(cheap)} タスクは有意差がなく、最も安いアームを選びました"
          + (f"（{', '.join(f'{t}: {c}' for t, c in cheap.items())}）" if cheap else "") + "。"
          + (f"全体では **{top}** が最も多く選ばれています（{len(recs)} タスク中 {tally[top]}）。" if top else ""))
    return en, ja




def analyse(rd: RunData, rows: list[dict[str, Any]] | None = None) -> Analysis:
    """The run's statistics, costs and recommendation per task and overall."""
    a = measure(rd, rows)
    a.recommendations = [recommend(a, t) for t in a.tasks]
    a.overall_en, a.overall_ja = overall(a)
    return a
