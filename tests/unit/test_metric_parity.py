"""Metric parity with llm-jp-eval: our exact_match / char_f1 / set_f1 equal its definitions.

The expected values below were produced once, outside the project, by running llm-jp-eval's
definitions on NFKC-normalised strings (as its evaluator does):
``char_f1 = fuzzywuzzy.fuzz.token_sort_ratio(pred, ref) / 100`` with fuzzywuzzy 0.18.0 and
python-Levenshtein 0.27 (llm-jp-eval's dependencies), ``exact_match = pred == ref`` and its
``set_f1`` over newline-separated items. fuzzywuzzy is not a dependency of ragft.

Run: ``pytest tests/unit/test_metric_parity.py``
"""

from __future__ import annotations

import pytest

from bench.judges.metrics import char_f1, exact_match, set_f1

# (prediction, reference, char_f1 by fuzzywuzzy, exact_match by llm-jp-eval)
CHAR_VECTORS = [
    ('小笠原諸島', '小笠原諸島', 1.0, 1.0),
    ('小笠原諸島を除く日本', '小笠原諸島', 0.67, 0.0),
    ('14日以内', '14日', 0.75, 0.0),
    ('１４日以内', '14日', 0.75, 0.0),
    ('ＡＢＣ株式会社', 'abc株式会社', 1.0, 0.0),
    ('Tokyo Tower', 'tokyo tower', 1.0, 0.0),
    ('東京 タワー', 'タワー 東京', 1.0, 0.0),
    ('東京タワー。', '東京タワー', 1.0, 0.0),
    ('「東京タワー」です！', '東京タワー', 0.77, 0.0),
    ('J・K・ローリング', 'J.K.ローリング', 1.0, 0.0),
    ('愛知県、岐阜県、三重県', '愛知県,岐阜県,三重県', 1.0, 0.0),
    ('三重県、岐阜県、愛知県', '愛知県、岐阜県、三重県', 1.0, 0.0),
    ('4年', '４年に一度', 0.57, 0.0),
    ('', '東京', 0.0, 0.0),
    ('。', '、', 1.0, 0.0),
    ('snake_case', 'snake case', 0.5, 0.0),
    ('café', 'cafe', 0.86, 0.0),
    ('×印', '印', 1.0, 0.0),
    ('ｶﾀｶﾅ', 'カタカナ', 1.0, 1.0),
    ('  前後の空白  ', '前後の空白', 1.0, 1.0),
    ('令和8年5月31日', '令和八年五月三十一日', 0.53, 0.0),
    ('マザーボード', 'マザーボード（主基板）', 0.75, 0.0),
    ('b', 'd', 0.0, 0.0),
    ('entailment', 'Entailment', 1.0, 0.0),
    ('neutral\n', 'neutral', 1.0, 1.0),
    ('4442件', '4,442件', 0.91, 0.0),
    ('abcdefgh', 'abcdxfgh', 0.88, 0.0),
    ('第二次世界大戦', '第一次世界大戦', 0.86, 0.0),
]

# (prediction, reference, set_f1 by llm-jp-eval's definition)
SET_VECTORS = [
    ("エアコン\nテレビ\n冷蔵庫", "エアコン\nテレビ\n冷蔵庫\n洗濯機", 0.8571428571428571),
    ("テレビ\nテレビ\nエアコン", "エアコン\nテレビ", 1.0),
    ("ＰＣ\n 洗濯機 ", "PC\n洗濯機", 1.0),
    ("冷蔵庫・冷凍庫", "冷蔵庫\n冷凍庫", 0.0),
    ("", "エアコン", 0.0),
    ("A\nb", "a\nb", 0.5),
    ("エアコン\n\nテレビ", "エアコン\nテレビ", 0.8),
]


@pytest.mark.parametrize(("pred", "ref", "expected", "_em"), CHAR_VECTORS)
def test_char_f1_equals_fuzzywuzzy_token_sort_ratio(pred: str, ref: str, expected: float, _em: float) -> None:
    assert char_f1(pred, ref) == expected


@pytest.mark.parametrize(("pred", "ref", "_cf", "expected"), CHAR_VECTORS)
def test_exact_match_equals_llm_jp_eval(pred: str, ref: str, _cf: float, expected: float) -> None:
    assert exact_match(pred, ref) == expected


@pytest.mark.parametrize(("pred", "ref", "expected"), SET_VECTORS)
def test_set_f1_equals_llm_jp_eval(pred: str, ref: str, expected: float) -> None:
    assert set_f1(pred, ref) == pytest.approx(expected, abs=1e-12)


def test_char_f1_is_whole_percent_like_fuzzywuzzy() -> None:
    # fuzzywuzzy rounds the ratio to an integer percent; a float ratio would give 0.666…
    assert char_f1("小笠原諸島を除く日本", "小笠原諸島") == 0.67
