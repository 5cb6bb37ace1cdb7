from __future__ import annotations

import pytest

from bench.judges.metrics import char_f1, choice_accuracy, exact_match, set_f1


def test_exact_match_normalises_nfkc_and_space() -> None:
    assert exact_match("１４日以内 ", "14日以内") == 1.0
    assert exact_match("14日", "14日以内") == 0.0


def test_char_f1_is_token_sort_ratio_over_100() -> None:
    assert char_f1("市民課", "市民課") == 1.0
    assert char_f1("", "市民課") == 0.0
    # token_sort_ratio sorts whitespace tokens: word order does not matter
    assert char_f1("b a", "a b") == 1.0
    v = char_f1("14日", "14日以内")
    assert 0.0 < v < 1.0
    # Indel ratio: 2 * matches / (len1 + len2) = 2*3 / (3+5)
    assert v == pytest.approx(0.75)


def test_set_f1_over_lines_with_duplicates_removed() -> None:
    ref = "住民票\n印鑑\n通帳"
    assert set_f1("住民票\n印鑑\n通帳", ref) == 1.0
    assert set_f1("住民票\n住民票", ref) == pytest.approx(2 * 1.0 * (1 / 3) / (1 + 1 / 3))
    assert set_f1("", ref) == 0.0
    assert set_f1("まったく違う", ref) == 0.0


def test_choice_accuracy_takes_first_label() -> None:
    assert choice_accuracy("3", "3") == 1.0
    assert choice_accuracy(" ３です", "3") == 1.0
    assert choice_accuracy("2 or 3", "3") == 0.0
    assert choice_accuracy("わからない", "3") == 0.0


def test_answers_are_mapped_onto_the_label_list() -> None:
    from bench.judges.metrics import match_label

    digits = ["0", "1", "2", "3", "4"]
    assert match_label("答えは ２ です。", digits) == "2"  # NFKC, the label inside a sentence
    assert match_label("3", digits) == "3"
    assert match_label("選択肢3、次点は1", digits) == "3"  # the first one named
    assert match_label("わからない", digits) == "わからない"  # no label: unchanged (scored as it is)
    assert match_label("10", ["1", "10"]) == "10"  # a longer label at the same place wins
    assert match_label("12", ["1", "2"]) == "12"  # digits touching digits are not a label
    assert match_label("The answer is b.", ["a", "b", "c", "d"]) == "b"  # not the a of "answer"
    nli = ["entailment", "contradiction", "neutral"]
    assert match_label("関係は contradiction です", nli) == "contradiction"
    assert match_label("Neutral", nli) == "Neutral"  # case matters, as in exact_match


def test_reference_judge_scores_label_tasks_on_the_label() -> None:
    from bench.judges.base import JudgeItem
    from bench.judges.reference import ReferenceJudge
    from bench.types import Example

    ex = Example(id="e", task="t", kind="quiz", question="q", reference="2", choices=["0", "1", "2"],
                 metadata={"metrics": ["exact_match"]})
    free = Example(id="f", task="t", kind="quiz", question="q", reference="2", metadata={"metrics": ["exact_match"]})
    j = ReferenceJudge()
    got = [j.grade_one(JudgeItem("t", "base", e, c, "k")).score for e, c in
           [(ex, "答えは2です"), (ex, "1"), (free, "答えは2です"), (ex, "2")]]
    assert got == [10.0, 0.0, 0.0, 10.0]  # without a label list the sentence is not the answer
    # the answer_extract_pattern cuts first, then the label is read from what it kept
    pat = ex.model_copy(update={"metadata": {"metrics": ["exact_match"], "answer_extract_pattern": r"【(.*?)】"}})
    assert j.grade_one(JudgeItem("t", "base", pat, "0と1ではなく【答え 2】", "k")).score == 10.0
