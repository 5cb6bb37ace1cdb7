"""The generator-reply parser and each filter, on the recorded replies and on hand-made ones."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.config import bundled_data_dir
from tasks.synth.filters import (
    answerable_without_context,
    find_near_duplicates,
    jaccard,
    parse_yes_no,
    support_score,
)
from tasks.synth.parse import ItemProblem, ParseFailure, check_item, parse_reply
from tasks.synth.prompts import generation_messages, prompt_hash, schema
from tasks.synth.records import Unit

RECORDING = bundled_data_dir() / "synth_recording.jsonl"
QA = Unit("qa:d1-p1", "qa", "d1", "案内", ["d1-p1"], "手数料は3,000円です。")
QUIZ = Unit("quiz:d1-p1", "quiz", "d1", "案内", ["d1-p1"], "手数料は3,000円です。")
DOC = Unit("document:d1", "document", "d1", "案内", ["d1-p1", "d1-p2"], "手数料は3,000円です。")
ITEM = {"question": "手数料はいくらですか？", "answer": "3,000円", "evidence": "手数料は3,000円です。", "passage_ids": ["d1-p1"]}


def test_parse_json_fenced_preamble_list_and_single_object() -> None:
    body = json.dumps({"items": [ITEM]}, ensure_ascii=False)
    assert parse_reply(body) == [ITEM]
    assert parse_reply(f"```json\n{body}\n```") == [ITEM]
    assert parse_reply(f"以下のとおり作成しました。\n{body}\nご確認ください。") == [ITEM]
    assert parse_reply(json.dumps([ITEM], ensure_ascii=False)) == [ITEM]
    assert parse_reply(json.dumps(ITEM, ensure_ascii=False)) == [ITEM]
    assert parse_reply("<think>考え中 {\"x\": 1}</think>" + body) == [ITEM]
    # a fenced block wins over an example object in the preamble
    example = '形式の例: {"question": "例", "answer": "例"}\n'
    assert parse_reply(f"{example}```json\n{body}\n```") == [ITEM]


def test_prose_and_truncated_replies_are_unparseable_with_a_reason() -> None:
    with pytest.raises(ParseFailure, match="no JSON in the reply"):
        parse_reply("次のような質問が考えられます。1. 手数料は？ 答え：3,000円")
    with pytest.raises(ParseFailure, match="cut at max_new_tokens"):
        parse_reply('{"items": [{"question": "手数料は', finish_reason="length")
    with pytest.raises(ParseFailure, match="empty reply"):
        parse_reply("  ")
    with pytest.raises(ParseFailure, match="no 'items' list"):
        parse_reply('{"answer": 1, "other": 2}')


def test_check_item_rejects_bad_items_with_the_reason() -> None:
    ok = check_item(ITEM, QA)
    assert isinstance(ok, dict) and ok["answer"] == "3,000円" and ok["passage_ids"] == ["d1-p1"]
    assert check_item({**ITEM, "passage_ids": ["d9-p9"]}, QA) == ItemProblem(
        "unknown_passage", "passage id 'd9-p9' names no passage given to the generator (d1-p1)")
    bad = check_item({**ITEM, "question": ""}, QA)
    assert isinstance(bad, ItemProblem) and bad.reason == "invalid" and "question" in bad.detail
    assert isinstance(check_item("文字列", QA), ItemProblem)
    assert isinstance(check_item({**ITEM, "answer": "長" * 101}, QA), ItemProblem)
    quiz = {"question": "手数料は？", "answer": "3,000円", "distractors": ["1,000円", "2,000円", "4,000円", "5,000円"]}
    assert isinstance(check_item(quiz, QUIZ), dict)
    rep = check_item({**quiz, "distractors": ["3,000円", "2,000円", "4,000円", "5,000円"]}, QUIZ)
    assert isinstance(rep, ItemProblem) and "repeat" in rep.detail
    assert isinstance(check_item({**quiz, "distractors": ["1,000円"]}, QUIZ), ItemProblem)
    doc = check_item({"question": "手数料を挙げて", "answer": ["3,000円", "1,600円"], "criteria": ["両方"]}, DOC)
    assert isinstance(doc, dict) and doc["answer"] == "3,000円\n1,600円" and doc["metric"] == "set_f1"
    assert isinstance(check_item({"question": "q", "answer": "a", "criteria": []}, DOC), ItemProblem)


def test_recorded_replies_parse_as_expected() -> None:
    outcomes: Counter[str] = Counter()
    for line in RECORDING.read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        if e["stage"] == "closed_book":
            continue
        try:
            items = parse_reply(e["text"], e.get("finish_reason"))
            outcomes["parsed"] += 1
            outcomes["items"] += len(items)
        except ParseFailure:
            outcomes["unparseable"] += 1
    # 55 replies: one prose, one cut mid-JSON; one cut after its first complete item (salvaged)
    assert outcomes == {"parsed": 53, "unparseable": 2, "items": 47 + 24 + 10}


def test_support_score() -> None:
    text = "自己負担額は500円ですが、70歳以上の方は無料です。"
    assert support_score("500円", text) == 1.0
    assert support_score("５００円", text) == 1.0  # NFKC
    assert support_score("最長6週間", "返却期限の前に1回だけ延長(2週間)できます。") < 0.6
    assert support_score("", text) == 0.0
    assert 0.6 <= support_score("電話で予約する", "医療機関を選び、電話で予約してください。") < 1.0


def test_near_duplicates_keep_the_first() -> None:
    qs = [
        "みなと市国民健康保険の特定健康診査の自己負担額はいくらですか？",
        "みなと市立図書館の利用カードの有効期限は何年間ですか？",
        "みなと市国民健康保険の特定健康診査の自己負担額はいくらでしょうか？",
        "みなと市の特定健康診査の受診期間はいつまでですか？",
    ]
    assert find_near_duplicates(qs, 3, 0.7) == {2: 0}
    assert jaccard(qs[0], qs[2]) >= 0.7 > jaccard(qs[0], qs[3])
    assert find_near_duplicates(qs, 3, 0.99) == {}


def test_closed_book_decision_and_yes_no() -> None:
    assert answerable_without_context("年1回", "年1回です。")
    assert not answerable_without_context("3年間", "5年間だと思います。")
    assert not answerable_without_context("3年間", "分かりません。")
    assert not answerable_without_context("3年間", "")
    assert not answerable_without_context("ありません", "分かりません。", threshold=0.7)
    assert parse_yes_no("はい") is True and parse_yes_no("「いいえ」") is False
    assert parse_yes_no("Yes.") is True and parse_yes_no("どちらとも言えません") is None


def test_prompts_and_schemas() -> None:
    msgs = generation_messages(QA, 2)
    assert msgs[0].role == "system" and "JSON" in msgs[0].content
    assert "2個" in msgs[1].content and "d1-p1" in msgs[1].content and "手数料は3,000円です。" in msgs[1].content
    assert len({prompt_hash("qa"), prompt_hash("quiz"), prompt_hash("document")}) == 3
    s = schema("quiz")
    assert s["properties"]["items"]["items"]["required"] == ["question", "answer", "evidence", "distractors"]
