"""LoRA end to end on the tiny Llama: training (peft + Trainer), the registry, the lora arm through
the hf backend, the contamination check, and the regression gate (good passes, broken fails)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.config import load_config
from bench.engine.runner import Runner

WORDS = {"粗大ごみ": "0", "住民票": "1", "避難所": "2"}


def _samples(n: int, offset: int, seed: int) -> list[dict[str, str]]:
    # skewed towards 住民票 -> "1": a 30-step adapter on a random 2-layer model reliably learns at least that
    rng = random.Random(seed)
    out = []
    for i in range(n):
        w = rng.choices(sorted(WORDS), weights=[1, 1, 4])[0]
        out.append({"input": f"質問：{w}の窓口は{offset + i}番です。", "output": WORDS[w]})
    return out


def make_quiz(root: Path, *, shuffle: bool = False, plant: bool = False) -> Path:
    train = _samples(48, 0, 1)
    test = _samples(12, 500, 2)
    if shuffle:
        outs = [s["output"] for s in train]
        random.Random(3).shuffle(outs)
        # a deliberately broken adapter: every answer moved to another item (and away from its word)
        train = [{"input": s["input"], "output": str((int(o) + 1) % 3)} for s, o in zip(train, outs, strict=True)]
    if plant:
        train.append(dict(test[0]))
    for split, samples in (("train", train), ("test", test)):
        (root / "quiz" / split).mkdir(parents=True, exist_ok=True)
        (root / "quiz" / split / "kind.json").write_text(json.dumps({
            "instruction": "窓口の番号を答えてください。", "output_length": 1, "metrics": ["exact_match"],
            "few_shots": [], "samples": samples}, ensure_ascii=False), encoding="utf-8")
    return root


def write_cfg(path: Path, data: Path, model: Path, *, arms: str = '["base", "lora"]', seed: int = 0, extra: str = "") -> Path:
    path.write_text(f"""
arms = {arms}
[run]
id = "tiny"
[model]
id = "{model}"
batch_size = 12
[[tasks]]
name = "kind"
loader = "jaster"
path = "{data / 'quiz'}"
dataset = "kind"
[lora]
name = "kind"
rank = 8
alpha = 16
learning_rate = 0.01
max_steps = 30
batch_size = 8
seed = {seed}
{extra}
""", encoding="utf-8")
    return path


def scores(run_dir: Path) -> dict[str, float]:
    s = json.loads((run_dir / "summary.json").read_text())["summaries"]
    return {x["arm"]: x["mean"] for x in s}


@pytest.mark.slow
def test_train_run_gate_good_and_broken(tiny_model: Path, tmp_path: Path) -> None:
    from adapters.registry import Registry
    from bench.cli import app

    good = write_cfg(tmp_path / "good.toml", make_quiz(tmp_path / "good"), tiny_model)
    res = Runner(load_config(good), output_dir=tmp_path / "out").run()
    sc = scores(res.run_dir)
    assert sc["lora"] is not None and sc["base"] is not None
    assert sc["lora"] >= sc["base"] + 3.0, sc  # the adapter learned the mapping
    preds = [json.loads(x) for x in (res.run_dir / "predictions.jsonl").read_text().splitlines()]
    lora_preds = [p for p in preds if p["arm"] == "lora"]
    assert lora_preds and all(p["completion"] for p in lora_preds)
    report = (res.run_dir / "report.md").read_text()
    assert "## LoRA adapters" in report and "## Contamination check" in report
    # registry: content-addressed name, unique int id, loss curve saved
    reg = Registry.default()
    (ref,) = reg.entries()
    assert ref.name.startswith("kind-r8@") and ref.int_id == 1 and ref.train_data_hash
    lora_json = json.loads((res.run_dir / "lora.json").read_text())
    assert len(lora_json["adapters"][ref.name]["loss_curve"]) == 30

    # re-running reuses the adapter (no training) and regenerates nothing
    res2 = Runner(load_config(good), output_dir=tmp_path / "out").run()
    assert res2.generated == 0 and [r.name for r in reg.entries()] == [ref.name]

    cli = CliRunner()
    import bench.cli.adapters  # noqa: F401  (registers the commands)

    # a good candidate (another seed) passes
    good2 = write_cfg(tmp_path / "good2.toml", tmp_path / "good", tiny_model, seed=1)
    r = cli.invoke(app, ["gate", "--baseline", str(res.run_dir), "--candidate", str(good2)])
    assert r.exit_code == 0, r.output
    assert "PASS" in r.output
    # a broken candidate (trained on shuffled answers) fails, and the verdict file says why
    bad = write_cfg(tmp_path / "bad.toml", make_quiz(tmp_path / "bad", shuffle=True), tiny_model)
    r = cli.invoke(app, ["gate", "--baseline", str(res.run_dir), "--candidate", str(bad)])
    assert r.exit_code == 1, r.output
    assert "FAIL" in r.output and "worse than lora" in r.output
    verdicts = list((res.run_dir / "gate").glob("*/verdict.md"))
    assert any("FAIL" in v.read_text() for v in verdicts)
    # the gate generated only the candidate arm
    for d in (res.run_dir / "gate").iterdir():
        arms = {json.loads(x)["arm"] for x in (d / "predictions.jsonl").read_text().splitlines()}
        assert arms == {"lora"}
    # an adapter that changes nothing (peft's B = 0 at init, never trained) answers like the base model
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from adapters.train import META_FILE
    from bench.models import fingerprint_model

    noop = tmp_path / "noop"
    m = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32),
                       LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    m.save_pretrained(str(noop))
    (noop / META_FILE).write_text(json.dumps({"base_model": fingerprint_model(str(tiny_model))}))
    r = cli.invoke(app, ["gate", "--baseline", str(res.run_dir), "--candidate", str(noop)])
    assert r.exit_code == 1 and "not applied" in r.output, r.output
    ids = {e.int_id for e in reg.entries()}
    assert len(ids) == len(reg.entries()) == 4


@pytest.mark.slow
def test_contamination_flags_a_planted_item(tiny_model: Path, tmp_path: Path) -> None:
    data = make_quiz(tmp_path / "d", plant=True)
    cfg = write_cfg(tmp_path / "c.toml", data, tiny_model, arms='["lora"]', extra="max_length = 256")
    cfg.write_text(cfg.read_text().replace("max_steps = 30", "max_steps = 2"))
    res = Runner(load_config(cfg), output_dir=tmp_path / "out").run()
    from bench.store.files import CONTAMINATION, ContaminationFile, read_model

    data_c = read_model(res.run_dir / CONTAMINATION, ContaminationFile)
    assert data_c is not None
    flagged = data_c.flagged("kind")
    assert list(flagged) == ["kind-test-0000"], flagged  # the planted item, and only it
    report = (res.run_dir / "report.md").read_text()
    planted = next(iter(flagged))
    assert f"`kind/{planted}`" in report and "| kind | lora | 1 / 12 |" in report
    # the CLI shows the same
    import bench.cli.adapters  # noqa: F401
    from bench.cli import app

    r = CliRunner().invoke(app, ["contamination", str(cfg), "--output", str(tmp_path / "c.json")])
    assert r.exit_code == 0, r.output
    out = json.loads((tmp_path / "c.json").read_text())["kind"]
    assert [k for k, v in out.items() if v["flagged"]] == [planted]


@pytest.mark.slow
def test_training_resumes_from_the_last_checkpoint(tiny_model: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer, TrainerCallback

    from adapters.data import build_training_items
    from adapters.train import train_adapter

    cfg = load_config(write_cfg(tmp_path / "c.toml", make_quiz(tmp_path / "d"), tiny_model))
    cfg = cfg.model_copy(update={"lora": [cfg.lora[0].model_copy(update={"max_steps": 8, "batch_size": 4})]})
    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    items, _ = build_training_items(cfg, tok)
    # every item is the exact evaluation prompt + answer + EOS
    assert items[0].prompt.endswith("### 応答:\n") and items[0].answer_ids[-1] == tok.eos_token_id

    class Crash(TrainerCallback):
        def on_step_end(self, args: object, state: object, control: object, **kw: object) -> None:
            if getattr(state, "global_step", 0) == 6:
                raise KeyboardInterrupt

    out = tmp_path / "adapter"
    with pytest.raises(KeyboardInterrupt):
        train_adapter(cfg, str(tiny_model), items, out, tokenizer=tok, callbacks=[Crash()])
    assert (out / "checkpoints" / "checkpoint-5").is_dir()
    res = train_adapter(cfg, str(tiny_model), items, out, tokenizer=tok)
    assert res.resumed_from == "checkpoint-5" and res.steps == 8
    assert [int(x["step"]) for x in res.loss_curve] == list(range(1, 9))
    assert (out / "adapter_model.safetensors").is_file() and not (out / "checkpoints").exists()


def test_unknown_adapter_is_an_error_and_qlora_needs_a_gpu(tiny_model: Path, tmp_path: Path) -> None:
    from adapters.train import load_base_for_training
    from bench.backends.hf import HFBackend
    from bench.errors import RagftError
    from bench.types import GenRequest, Message, Sampling

    b = HFBackend(str(tiny_model), batch_size=2)
    req = GenRequest(example_id="x", task="t", arm="lora", messages=[Message(role="user", content="質問")],
                     sampling=Sampling(max_new_tokens=2), adapter="missing-r8@abcdef")
    with pytest.raises(RagftError, match="not given to the hf backend"):
        b.generate([req])
    cfg = load_config(write_cfg(tmp_path / "c.toml", make_quiz(tmp_path / "d"), tiny_model, extra="qlora = true"))
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"device": "cpu"})})
    with pytest.raises(RagftError, match="CUDA GPU"):
        load_base_for_training(cfg, str(tiny_model))


@pytest.mark.slow
def test_two_adapters_in_one_run_and_gate_against_a_named_adapter(tiny_model: Path, tmp_path: Path) -> None:
    """[[lora]] v1 (learns the mapping) and v0 (1 step) served together on the hf backend; the gate
    compares candidates with the baseline's lora:v1 arm (--against), not with base."""
    from bench.cli import app

    data = make_quiz(tmp_path / "good")
    cfg = write_cfg(tmp_path / "base.toml", data, tiny_model, arms='["base", "lora:v1", "lora:v0"]')
    text = cfg.read_text().replace("[lora]\nname = \"kind\"", "[[lora]]\nname = \"v1\"")
    text += '\n[[lora]]\nname = "v0"\nrank = 4\nlearning_rate = 0.01\nmax_steps = 1\nbatch_size = 8\n'
    cfg.write_text(text)
    res = Runner(load_config(cfg), output_dir=tmp_path / "out").run()
    sc = scores(res.run_dir)
    assert sc["lora:v1"] >= sc["base"] + 3.0, sc
    assert len(res.adapters) == 2 and {a.rank for a in res.adapters.values()} == {4, 8}
    report = (res.run_dir / "report.md").read_text()
    assert "`lora:v1`" in report and "`lora:v0`" in report and "was trained on kind" in report

    import bench.cli.adapters  # noqa: F401  (registers the commands)

    cli = CliRunner()
    bad = write_cfg(tmp_path / "bad.toml", make_quiz(tmp_path / "bad", shuffle=True), tiny_model)
    r = cli.invoke(app, ["gate", "--baseline", str(res.run_dir), "--candidate", str(bad), "--against", "lora:v1"])
    assert r.exit_code == 1 and "worse than lora:v1" in r.output, r.output
    assert "| kind | lora:v1 |" in r.output
    # against the weak adapter lora:v0, a good candidate passes
    good = write_cfg(tmp_path / "good.toml", data, tiny_model, seed=1)
    r = cli.invoke(app, ["gate", "--baseline", str(res.run_dir), "--candidate", str(good), "--against", "lora:v0"])
    assert r.exit_code == 0 and "| kind | lora:v0 |" in r.output, r.output
    r = cli.invoke(app, ["gate", "--baseline", str(res.run_dir), "--candidate", str(good), "--against", "lora:v9"])
    assert r.exit_code != 0 and "no 'lora:v9' arm" in f"{r.output}{r.exception}", r.output
