"""Pure logic of the LoRA feature: registry rules, n-gram contamination, the collator and loss, the gate's CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.contamination import char_ngrams, check_overlap
from adapters.registry import Registry
from bench.engine.gate import paired_bootstrap
from bench.errors import RagftError


def fake_adapter(d: Path, weights: bytes = b"w1", rank: int = 8) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "adapter_model.safetensors").write_bytes(weights)
    (d / "adapter_config.json").write_text(json.dumps({"r": rank, "base_model_name_or_path": str(d)}))
    return d


def test_registry_names_ids_and_refusals(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "reg")
    a = reg.register(fake_adapter(tmp_path / "a"), base_model="base1", prefix="quiz")
    assert a.name.startswith("quiz-r8@") and len(a.name.split("@")[1]) == 6 and a.int_id == 1
    # same content elsewhere (different local path in its config) -> same name and id
    b = reg.register(fake_adapter(tmp_path / "b"), base_model="base1", prefix="quiz")
    assert (b.name, b.int_id) == (a.name, a.int_id)
    c = reg.register(fake_adapter(tmp_path / "c", b"w2"), base_model="base1", prefix="quiz")
    assert c.int_id == 2 and c.name != a.name
    ref, folder = reg.load(a.name, served_model="base1")
    assert folder.is_relative_to(reg.root) and ref.sha256 == a.sha256
    with pytest.raises(RagftError, match="trained on base model"):
        reg.load(a.name, served_model="other")
    with pytest.raises(RagftError, match="not a registry name"):
        reg.load("../x-r8@abcdef", served_model="base1")
    # ids are never reused: a registry file with a removed entry still counts on
    data = json.loads(reg.file.read_text())
    del data["adapters"][c.name]
    reg.file.write_text(json.dumps(data))
    d = reg.register(fake_adapter(tmp_path / "d", b"w3"), base_model="base1", prefix="quiz")
    assert d.int_id == 3
    # a tampered path outside the root is refused
    data = json.loads(reg.file.read_text())
    data["adapters"][a.name]["path"] = "../../elsewhere"
    reg.file.write_text(json.dumps(data))
    with pytest.raises(RagftError, match="outside the registry root"):
        reg.load(a.name, served_model="base1")


def test_registry_refuses_pickle_weights(tmp_path: Path) -> None:
    d = fake_adapter(tmp_path / "p")
    (d / "adapter_model.bin").write_bytes(b"pickle")
    with pytest.raises(RagftError, match="pickle"):
        Registry(tmp_path / "reg").register(d, base_model="b")
    e = tmp_path / "q"
    e.mkdir()
    (e / "adapter_config.json").write_text("{}")
    with pytest.raises(RagftError, match="safetensors"):
        Registry(tmp_path / "reg").register(e, base_model="b")


def test_ngrams_nfkc_and_overlap() -> None:
    # full-width digits and spaces normalise away
    assert char_ngrams("ＡＢＣ １２３", 3) == char_ngrams("abc123", 3)
    assert char_ngrams("短い", 13) == {"短い"}
    seen = "質問：みなと市の粗大ごみ処理券は一枚いくらですか。答え：三百円"
    res = check_overlap(
        [("train/1", seen), ("train/2", "全く関係のない文章がここにあります。")],
        [("planted", "質問：みなと市の粗大ごみ処理券は一枚いくらですか。\n三百円"),
         ("clean", "質問：避難所の場所はどこですか。体育館です。")],
        n=13,
    )
    assert res["planted"].ratio > 0.8 and res["planted"].source == "train/1"
    assert res["clean"].ratio == 0.0 and res["clean"].source is None


def test_collator_left_pads_and_loss_counts_answer_tokens_only() -> None:
    import torch

    from adapters.train import LeftPadCollator, answer_only_loss

    batch = LeftPadCollator(pad_id=0)([
        {"input_ids": [5, 6, 7, 8], "labels": [-100, -100, 7, 8]},
        {"input_ids": [5, 9], "labels": [-100, 9]},
    ])
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8], [0, 0, 5, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3], [0, 0, 0, 1]]
    assert batch["logits_to_keep"] == 3
    # logits for the last 3 positions that put all mass on the right next tokens -> ~0 loss
    logits = torch.full((2, 3, 10), -30.0)
    logits[0, 0, 7] = logits[0, 1, 8] = 30.0
    logits[1, 1, 9] = 30.0
    loss = answer_only_loss({"logits": logits}, batch["labels"])
    assert float(loss) < 1e-6
    logits[1, 1, 9], logits[1, 1, 3] = -30.0, 30.0  # now wrong: 60 nats on 1 of 3 answer tokens
    assert float(answer_only_loss({"logits": logits}, batch["labels"])) > 10


def test_paired_bootstrap() -> None:
    # the mean of 12 resampled items is -10 K / 12 with K ~ Binomial(12, 1/2): its 2.5 % and 97.5 %
    # quantiles are K = 3 and K = 9 (P(K <= 2) = 0.019, P(K <= 3) = 0.073), so the 95 % percentile
    # interval is exactly (-7.5, -2.5)
    for seed in (0, 1):
        lo, hi = paired_bootstrap([-10.0] * 6 + [0.0] * 6, seed=seed, n_boot=20000)
        assert (lo, hi) == (pytest.approx(-7.5), pytest.approx(-2.5))
    lo, hi = paired_bootstrap([-10.0] * 6 + [0.0] * 6, seed=0, n_boot=20000, level=0.5)
    assert (lo, hi) == (pytest.approx(-5.833333), pytest.approx(-4.166667))  # K = 5 and K = 7
    assert paired_bootstrap([0.0, 0.0, 0.0]) == (0.0, 0.0)


def test_lora_arm_only_sets_the_adapter(tmp_path: Path) -> None:
    from bench.arms.context import ArmContext, ArmState, build_requests
    from bench.config import load_config
    from bench.prompts import PromptTemplate
    from tasks.readers import load_task
    from tests.fixture_data import make_tasks

    cfg = load_config(make_tasks(tmp_path / "data"))
    tc = cfg.tasks[2]
    task = load_task(tc, cfg)
    ctx = ArmContext(cfg=cfg, task=task, task_cfg=tc, shots=[], template=PromptTemplate.for_kind(task.kind, task.instruction),
                     new_tokens=4, run_dir=tmp_path, state=ArmState(lora_adapters={"lora": "quiz-r8@abcdef"}))
    exs = task.split("test")
    base = build_requests(exs, "base", ctx)
    both = build_requests(exs, "base+lora", ctx)
    assert [r.adapter for r in both] == ["quiz-r8@abcdef"] * len(exs)
    assert [r.messages for r in both] == [r.messages for r in base] and all(r.adapter is None for r in base)
    with pytest.raises(RagftError, match="before prepare"):
        build_requests(exs, "lora", ArmContext(cfg=cfg, task=task, task_cfg=tc, shots=[], template=ctx.template,
                                               new_tokens=4, run_dir=tmp_path))


def test_lora_arm_refuses_to_evaluate_on_its_training_items(tmp_path: Path) -> None:
    from bench.arms.context import ArmContext
    from bench.arms.lora import LoraArm
    from bench.config import load_config
    from bench.prompts import PromptTemplate
    from tasks.readers import load_task
    from tests.fixture_data import make_tasks

    cfg_path = make_tasks(tmp_path / "data")
    cfg_path.write_text(cfg_path.read_text().replace('dataset = "choice"', 'dataset = "choice"\nsplit = "train"'))
    cfg = load_config(cfg_path)
    tc = cfg.tasks[2]
    task = load_task(tc, cfg)
    ctx = ArmContext(cfg=cfg, task=task, task_cfg=tc, shots=[], template=PromptTemplate.for_kind(task.kind, task.instruction),
                     new_tokens=4, run_dir=tmp_path)
    with pytest.raises(RagftError, match="trains on"):
        LoraArm().prepare(ctx)


def test_demo_config_has_the_lora_arm() -> None:
    from bench.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "demo.toml")
    assert "lora" in cfg.arms and cfg.lora_for(None).tasks == ["minato_choice"]
    assert "lora:short" in cfg.arms and cfg.lora_for("short").tasks == ["minato_short"]
