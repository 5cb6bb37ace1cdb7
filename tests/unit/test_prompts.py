from __future__ import annotations

from bench.prompts import PromptTemplate, apply_stops, ensure_bos, render_completion
from bench.types import Example


def test_apply_stops_skips_leading_whitespace() -> None:
    assert apply_stops("\n市民課\n次の質問", ["\n"]) == ("市民課", True)
    assert apply_stops("市民課", ["\n"]) == ("市民課", False)
    assert apply_stops("a###b\n\nc", ["\n\n", "###"]) == ("a", True)


def test_query_placement_changes_field_order() -> None:
    ex = Example(id="1", task="t", kind="document", question="Q?", context="DOC")
    after = PromptTemplate.for_kind("document").user_text(ex)
    before = PromptTemplate.for_kind("document").model_copy(update={"query_position": "before"}).user_text(ex)
    assert after.index("DOC") < after.index("Q?")
    assert before.index("Q?") < before.index("DOC")


def test_completion_layout_puts_shots_before_question() -> None:
    shot = Example(id="s", task="t", kind="qa", question="S?", reference="SA")
    ex = Example(id="1", task="t", kind="qa", question="Q?")
    text = render_completion(PromptTemplate.for_kind("qa").messages(ex, [shot]))
    assert text.index("S?") < text.index("SA") < text.index("Q?")
    assert text.endswith("### 応答:\n")


class _Tok:
    bos_token_id = 2


def test_ensure_bos_adds_once() -> None:
    assert ensure_bos([5, 6], _Tok()) == [2, 5, 6]
    assert ensure_bos([2, 5], _Tok()) == [2, 5]


def _requests(cfg_path, task: str):  # type: ignore[no-untyped-def]
    from bench.arms.context import ArmContext, build_requests
    from bench.config import load_config
    from tasks.readers import base_template, load_task, task_few_shots

    cfg = load_config(cfg_path)
    tc = next(t for t in cfg.tasks if t.name == task)
    t = load_task(tc, cfg)
    ctx = ArmContext(cfg=cfg, task=t, task_cfg=tc, shots=task_few_shots(tc, t, 0), template=base_template(tc, t),
                     new_tokens=8, run_dir=cfg_path.parent / "run")
    return build_requests(t.split("test"), "base", ctx), t


def test_jaster_custom_prompt_template_is_the_base_prompt(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.fixture_data import make_tasks

    cfg = make_tasks(tmp_path / "data")
    for split in ("train", "test"):
        f = tmp_path / "data" / "quiz" / split / "choice.json"
        d = json.loads(f.read_text())
        d["custom_prompt_template"] = "<<指示>>{instruction}\n<<入力>>{input}\n<<答>>"
        d["samples"][0]["input"] = "問0 {input} {instruction}"  # braces in data stay as they are
        f.write_text(json.dumps(d, ensure_ascii=False))
    reqs, _ = _requests(cfg, "choice")
    msgs = reqs[0].messages
    assert [m.role for m in msgs] == ["user"]  # one turn, as llm-jp-eval sends it
    text = msgs[0].content
    assert text.startswith("<<指示>>番号で答えてください。\n\n### 入力:\n") and text.endswith("<<入力>>問0 {input} {instruction}\n<<答>>")
    assert text.count("### 入力:") == 2 and text.count("### 応答:") == 2  # the 2 few-shots, after the instruction
    # a qa task of the same config keeps the default layout
    qa, _ = _requests(cfg, "qa")
    assert [m.role for m in qa[0].messages] == ["system", "user", "assistant", "user"]


def test_base_prompt_instruction_and_labels_per_task_in_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.fixture_data import make_tasks

    cfg = make_tasks(tmp_path / "data")
    before, _ = _requests(cfg, "qa")
    cfg.write_text(cfg.read_text().replace(
        'few_shots = 1\n', 'few_shots = 1\ninstruction = "市の窓口として答えてください。"\n'
        'question_label = "お問い合わせ"\nanswer_cue = "### 回答:"\n', 1))
    after, _ = _requests(cfg, "qa")
    sys_text, user = after[0].messages[0].content, after[0].messages[-1].content
    assert "### 指示:\n市の窓口として答えてください。" in sys_text
    assert user.startswith("### お問い合わせ:\n") and user.endswith("### 回答:")
    assert "### 質問:" in before[0].messages[-1].content and "### 質問:" not in user
    # the jaster task of the same file keeps its own instruction
    quiz, _ = _requests(cfg, "choice")
    assert "番号で答えてください。" in quiz[0].messages[0].content
