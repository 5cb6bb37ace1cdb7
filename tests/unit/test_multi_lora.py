"""[[lora]] tables (arm lora:NAME), learning-curve fractions, fixed prompt arms (prompt:NAME):
config parsing, errors, nested training shares and the requests the arms build."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import config_from_dict, load_config
from bench.errors import InputError
from tests.multi_arm_fixture import all_arms_config

TASK = {"name": "qa", "loader": "qa-jsonl", "path": "bundled:qa", "corpus": "bundled:corpus.jsonl"}


def test_single_table_is_arm_lora_and_many_tables_are_named() -> None:
    one = config_from_dict({"tasks": [TASK], "arms": ["base", "lora"], "lora": {"name": "x", "rank": 4}})
    assert one.lora_for(None).name == "x" and one.lora_for("x").rank == 4 and one.arms == ["base", "lora"]
    many = config_from_dict({"tasks": [TASK], "arms": ["lora", "lora:b", "rag+lora:b"],
                             "lora": [{"name": "a"}, {"name": "b", "rank": 16}]})
    assert many.lora_for(None).name == "a" and many.lora_for("b").rank == 16
    assert many.arms == ["lora", "lora:b", "rag+lora:b"]
    # written config.json reads back the same (the gate re-reads it)
    again = config_from_dict(many.model_dump(mode="json"))
    assert again.lora_variants().keys() == many.lora_variants().keys() and again.arms == many.arms


@pytest.mark.parametrize(("data", "where", "what"), [
    ({"arms": ["lora:nope"], "lora": [{"name": "a"}]}, "arms.0", "no [[lora]] table named 'nope'"),
    ({"arms": ["prompt:nope"]}, "arms.0", "no [templates.nope] table"),
    ({"arms": ["rag:x"]}, "arms.0", "unknown arm"),
    ({"arms": ["lora:a b"]}, "arms.0", "unknown arm"),
    ({"lora": [{"name": "a"}, {"name": "a"}]}, "lora.name", "distinct name"),
    ({"lora": [{"name": "a", "fractions": [0.5, 0.5]}]}, "lora.0.fractions", "must not repeat"),
    ({"lora": [{"name": "a", "fractions": [0.0, 1.0]}]}, "lora.0.fractions", "above 0"),
    ({"lora": {"rank": 0}}, "field 'lora.rank'", "greater than or equal to 1"),  # one [lora] table: no index
])
def test_bad_arms_and_tables_name_the_field(data: dict[str, object], where: str, what: str) -> None:
    with pytest.raises(InputError) as e:
        config_from_dict({"tasks": [TASK], **data}, source="x.toml")
    assert where in str(e.value) and what in str(e.value), str(e.value)


def test_fractions_expand_into_one_arm_per_point() -> None:
    cfg = config_from_dict({"tasks": [TASK], "arms": ["base", "lora:c", "rag+lora:c"],
                            "lora": [{"name": "c", "fractions": [1.0, 0.25, 0.5]}]})
    assert cfg.arms == ["base", "lora:c-p25", "lora:c-p50", "lora:c-p100",
                        "rag+lora:c-p25", "rag+lora:c-p50", "rag+lora:c-p100"]
    v = cfg.lora_variants()
    assert [x.fraction for x in v.values()] == [0.25, 0.5, 1.0] and {x.curve for x in v.values()} == {"c"}
    # the share is part of the cache key (other weights), the name is not
    assert v["c-p25"].training_identity() != v["c-p100"].training_identity()
    assert "fraction" not in v["c-p100"].training_identity()


def test_learning_curve_shares_are_nested_and_seeded(tmp_path: Path) -> None:
    from adapters.data import selected_examples

    cfg = load_config(all_arms_config(tmp_path, tmp_path / "model"))
    v = cfg.lora_variants()
    half = {e.id for _, e, _, _ in selected_examples(cfg, v["curve-p50"])}
    full = {e.id for _, e, _, _ in selected_examples(cfg, v["curve-p100"])}
    assert len(full) == 7 and len(half) == 4 and half < full  # ceil(0.5 * 7), a subset
    again = {e.id for _, e, _, _ in selected_examples(cfg, v["curve-p50"])}
    other = {e.id for _, e, _, _ in selected_examples(cfg, v["curve-p50"].model_copy(update={"seed": 5}))}
    assert again == half and other != half
    # the default training tasks now include document tasks
    dflt = cfg.lora_for("b").model_copy(update={"tasks": None})
    assert {tc.name for tc, *_ in selected_examples(cfg, dflt)} == {"qa", "doc", "choice"}


def test_fixed_prompt_arm_renders_its_template(tmp_path: Path) -> None:
    from bench.arms.context import ArmContext, arm_needs_model, build_requests
    from bench.prompts import PromptTemplate
    from tasks.readers import load_task, task_few_shots

    cfg = load_config(all_arms_config(tmp_path, tmp_path / "model"))
    tc = next(t for t in cfg.tasks if t.name == "doc")
    task = load_task(tc, cfg)
    ctx = ArmContext(cfg=cfg, task=task, task_cfg=tc, shots=task_few_shots(tc, task, 0),
                     template=PromptTemplate.for_kind(task.kind, task.instruction), new_tokens=4, run_dir=tmp_path)
    ex = task.split("test")
    (base,) = build_requests(ex[:1], "base", ctx)
    (fixed,) = build_requests(ex[:1], "prompt:qfirst", ctx)
    assert not arm_needs_model("prompt:qfirst") and arm_needs_model("prompt")
    b, f = base.messages[-1].content, fixed.messages[-1].content
    assert b.index("### 文書") < b.index("### 質問")  # base: document, then the question
    assert f.index("[[ ## 質問 ## ]]") < f.index("[[ ## 文書 ## ]]")  # qfirst: question first, structured
    assert fixed.arm == "prompt:qfirst" and "### 入力:" in fixed.messages[0].content


def test_study_config_has_fixed_prompt_arms_and_document_lora(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "configs"
    (tmp_path / "jglue" / "jsquad-v1.3").mkdir(parents=True)  # only its existence is checked on load
    cfg = load_config(root / "study-slm-document-7b.toml", data_dir=tmp_path)
    assert {"base", "prompt:query_first", "prompt:structured", "rag", "lora:doc", "rag+lora:doc"} <= set(cfg.arms)
    assert cfg.templates["query_first"].changes() == {"query_position": "before"}
    doc = cfg.lora_for("doc")
    assert doc.max_length is None and doc.tasks == ["minato_document", "jsquad_document"]
    assert cfg.judges[0].kind == "llm" and cfg.judges[0].model.id == cfg.model.id
    vllm_demo = load_config(root / "demo-vllm-cpu.toml")
    assert {"base", "prompt", "rag", "oracle", "lora", "lora:short", "rag+lora", "lora:curve-p100"} <= set(vllm_demo.arms)
    assert vllm_demo.model.backend == "vllm" and vllm_demo.judges[0].model.backend == "vllm"


def test_learning_curve_section_table_and_plot(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bench.report.sections.lora import learning_curve_section, lora_section
    from bench.types import ArmSummary

    def ad(arm: str, n: int, f: float) -> dict[str, object]:
        return {"ref": {"int_id": 1, "base_model": "m"}, "arms": [arm], "fraction": f, "curve": "c",
                "training": {"tasks": ["qa"], "n_items": n, "skipped_ids": {"qa": ["q-9"]},
                             "skipped_too_long": {"qa": 1}, "max_length": 512}}

    def s(arm: str, mean: float, lo: float, hi: float) -> ArmSummary:
        return ArmSummary(task="qa", arm=arm, judge="reference@1", n=10, n_failed=0, n_unscored=0,
                          mean=mean, ci_low=lo, ci_high=hi)

    rd = SimpleNamespace(
        root=tmp_path, selection={"qa": None},
        files={"lora.json": {"adapters": {"c-p50@1": ad("lora:c-p50", 5, 0.5), "c-p100@2": ad("lora:c-p100", 10, 1.0)}}},
        summaries=[s("base", 1.0, 0.0, 2.0), s("rag", 4.0, 3.0, 5.0), s("lora:c-p50", 2.0, 1.0, 2.5),
                   s("lora:c-p100", 7.0, 6.0, 8.0)],
    )
    md = learning_curve_section(rd)  # type: ignore[arg-type]
    assert "| `lora:c-p50` | 5 | 50% | 2.00 [1.00, 2.50] | below (CIs apart) |" in md
    assert "| `lora:c-p100` | 10 | 100% | 7.00 [6.00, 8.00] | above (CIs apart) |" in md
    assert "rag: 4.00 [3.00, 5.00]" in md and (tmp_path / "learning_curve.png").stat().st_size > 1000
    lo = lora_section(rd)  # type: ignore[arg-type]
    assert "qa: 1 (`q-9`) (> 512 tokens)" in lo and "`lora:c-p50` was trained on qa" in lo


def test_report_lists_fixed_prompt_variants_with_their_scores() -> None:
    from types import SimpleNamespace

    from bench.report.sections.prompt import prompt_section
    from bench.types import ArmSummary

    def s(arm: str, mean: float) -> ArmSummary:
        return ArmSummary(task="doc", arm=arm, judge="reference@1", n=8, n_failed=0, n_unscored=0,
                          mean=mean, ci_low=mean - 1, ci_high=mean + 1)

    rd = SimpleNamespace(files={}, config={"templates": {"qfirst": {"query_position": "before", "style": None}}},
                         summaries=[s("base", 2.0), s("prompt:qfirst", 4.0)])
    md = prompt_section(rd)  # type: ignore[arg-type]
    assert "| doc | 2.00 [1.00, 3.00] (n=8) | 4.00 [3.00, 5.00] (n=8) |" in md
    assert "- `prompt:qfirst`: query_position = 'before'" in md
    assert prompt_section(SimpleNamespace(files={}, config={}, summaries=[s("base", 1.0)])) == ""  # type: ignore[arg-type]


def test_gate_arm_shapes() -> None:
    from bench.engine.gate import _as_candidate, _has_lora, _variant, _without_lora

    assert _as_candidate("rag+lora:v1") == "rag+lora" and _as_candidate("lora") == "lora"
    assert _without_lora("rag+lora:v1") == "rag" and _without_lora("lora:v1") == "base"
    assert _has_lora("rag+lora:v1") and not _has_lora("rag")
    assert _variant("rag+lora:v1") == "v1" and _variant("lora") is None
