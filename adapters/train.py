"""Supervised LoRA fine-tuning with peft and the Hugging Face ``Trainer``.

Loss is on the answer tokens only. Sequences are left-padded so every answer sits at the end
of its row; the model then computes logits only for the last positions (``logits_to_keep``),
which spares the large-vocabulary projection over the prompt (most of the cost for Gemma's
262k vocabulary). Trainer gives gradient accumulation, bf16, gradient checkpointing,
``accelerate launch`` / DeepSpeed / FSDP, a progress bar and checkpoints to resume from.

Example: ``ragft train configs/demo.toml``  (or ``train_adapter(cfg, out_dir)``)
"""

from __future__ import annotations

import gc
import json
import logging
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.data import TrainItem
from bench.config import ExperimentConfig, LoraSection
from bench.errors import MissingDependencyError, RagftError
from bench.store.disk import DiskError, act, atomic_write, checkpoint, disk_error, fault

log = logging.getLogger(__name__)

META_FILE = "ragft_adapter.json"
LOSS_FILE = "loss_curve.json"


@dataclass
class TrainResult:
    path: Path
    steps: int
    train_seconds: float
    loss_curve: list[dict[str, float]] = field(default_factory=list)
    n_items: int = 0
    resumed_from: str | None = None


class LeftPadCollator:
    """Left-pads (prompt + answer) rows; labels are -100 on prompt and padding; adds position ids
    the way ``generate`` computes them, and how many trailing positions need logits."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids, mask, labels = [], [], []
        for r in rows:
            n = width - len(r["input_ids"])
            ids.append([self.pad_id] * n + r["input_ids"])
            mask.append([0] * n + [1] * len(r["input_ids"]))
            labels.append([-100] * n + r["labels"])
        t_mask = torch.tensor(mask)
        pos = (t_mask.cumsum(-1) - 1).clamp(min=0)
        answer_len = max(sum(1 for x in r["labels"] if x != -100) for r in rows)
        return {
            "input_ids": torch.tensor(ids),
            "attention_mask": t_mask,
            "position_ids": pos,
            "labels": torch.tensor(labels),
            "logits_to_keep": answer_len + 1,
        }


def answer_only_loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
    """Next-token cross-entropy over the answer tokens (logits exist only for the last positions)."""
    import torch

    logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
    k = logits.shape[1] - 1
    pred = logits[:, :-1, :].float()
    target = labels[:, -k:].to(pred.device)
    loss = torch.nn.functional.cross_entropy(
        pred.reshape(-1, pred.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum"
    )
    denom = num_items_in_batch if num_items_in_batch is not None else target.ne(-100).sum()
    return loss / denom


def _device_and_dtype(cfg: ExperimentConfig) -> tuple[str, str]:
    import torch

    device = cfg.model.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = cfg.model.dtype
    if dtype == "auto":
        dtype = "bfloat16" if device == "cuda" else "float32"
    return device, dtype


def load_base_for_training(cfg: ExperimentConfig, model_path: str, lc: LoraSection | None = None) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    lc = lc or cfg.lora_for(None)
    device, dtype = _device_and_dtype(cfg)
    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype), "use_safetensors": True}
    if lc.qlora:
        if device != "cuda" or not torch.cuda.is_available():
            raise RagftError(
                "lora.qlora = true needs a CUDA GPU (bitsandbytes 4-bit); this machine has none. "
                "Set lora.qlora = false to train in full precision on CPU."
            )
        try:
            import bitsandbytes  # noqa: F401
            from transformers import BitsAndBytesConfig
        except ImportError:
            raise MissingDependencyError("bitsandbytes", "qlora", "QLoRA (lora.qlora = true)") from None
        kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        kwargs["device_map"] = {"": 0}
    try:
        model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    except OSError as e:
        raise RagftError(f"cannot load model '{model_path}' for training: {e}") from None
    if lc.qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model, use_gradient_checkpointing=lc.gradient_checkpointing
        )
    return model


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` folder that was saved completely (the Trainer writes
    ``trainer_state.json`` last); newer, half-written ones (a kill during a save) are removed."""
    if not ckpt_dir.is_dir():
        return None
    found = sorted(
        (int(p.name.rsplit("-", 1)[1]), p) for p in ckpt_dir.iterdir()
        if p.is_dir() and p.name.startswith("checkpoint-") and p.name.rsplit("-", 1)[1].isdigit()
    )
    for _, p in reversed(found):
        try:
            json.loads((p / "trainer_state.json").read_text(encoding="utf-8"))
            return str(p)
        except (OSError, ValueError):
            log.warning("lora: removing incomplete checkpoint %s (interrupted while saving)", p)
            shutil.rmtree(p, ignore_errors=True)
    return None


def _save_adapter(model: Any, out_dir: Path) -> None:
    """Save the adapter weights; a full or read-only disk is one ``DiskError`` naming the folder."""
    try:
        act(fault("adapter"), out_dir / "adapter_model.safetensors")
        model.save_pretrained(str(out_dir), safe_serialization=True)
    except OSError as e:
        raise disk_error(out_dir, e) from None
    except Exception as e:  # safetensors reports I/O errors as SafetensorError("… IoError(Os { code: 28 …")
        text = str(e)
        if any(m in text for m in ("StorageFull", "PermissionDenied", "ReadOnlyFilesystem", "code: 28", "code: 13")):
            raise DiskError(out_dir, text[:200]) from None
        raise


def train_adapter(
    cfg: ExperimentConfig,
    model_path: str,
    items: list[TrainItem],
    out_dir: Path,
    *,
    tokenizer: Any,
    meta: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
    lc: LoraSection | None = None,
) -> TrainResult:
    """Train a LoRA adapter on ``items`` and save it (safetensors) to ``out_dir``.

    Checkpoints go to ``out_dir/checkpoints``; an interrupted run resumes from the last one.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer, TrainerCallback, TrainingArguments

    lc = lc or cfg.lora_for(None)
    device, dtype = _device_and_dtype(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out_dir / "checkpoints"
    model = load_base_for_training(cfg, model_path, lc)
    missing = [m for m in lc.target_modules if not any(n.endswith(m) for n, _ in model.named_modules())]
    if missing:
        raise RagftError(
            f"lora.target_modules {missing} match no module of {model_path}; "
            "check the names (e.g. q_proj, k_proj, v_proj, o_proj for Llama/Gemma/Qwen)"
        )
    peft_cfg = LoraConfig(
        r=lc.rank, lora_alpha=lc.alpha, lora_dropout=lc.dropout, target_modules=list(lc.target_modules),
        bias="none", task_type="CAUSAL_LM",
        layers_to_transform=list(lc.layers) if lc.layers is not None else None,
    )
    model = get_peft_model(model, peft_cfg)
    if lc.gradient_checkpointing:
        model.enable_input_require_grads()

    rows = [{"input_ids": it.prompt_ids + it.answer_ids, "labels": [-100] * len(it.prompt_ids) + it.answer_ids} for it in items]
    random.Random(lc.seed).shuffle(rows)

    curve: list[dict[str, float]] = []

    class _LossLog(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                curve.append({"step": float(state.global_step), "epoch": float(logs.get("epoch", 0.0)),
                              "loss": float(logs["loss"])})
                atomic_write(out_dir / LOSS_FILE, json.dumps(curve, indent=1))

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            checkpoint("lora-step")  # where the kill tests strike (no-op in normal use)

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            checkpoint("lora-save")

    use_bf16 = device == "cuda" and dtype == "bfloat16" and torch.cuda.is_bf16_supported()
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=lc.batch_size,
        gradient_accumulation_steps=lc.grad_accum,
        learning_rate=lc.learning_rate,
        num_train_epochs=lc.epochs,
        max_steps=lc.max_steps if lc.max_steps is not None else -1,
        lr_scheduler_type="constant",
        logging_steps=1,
        save_strategy="steps",
        save_steps=5,
        save_total_limit=1,
        seed=lc.seed,
        data_seed=lc.seed,
        report_to="none",
        use_cpu=device == "cpu",
        bf16=use_bf16,
        gradient_checkpointing=lc.gradient_checkpointing,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=rows,
        data_collator=LeftPadCollator(int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)),
        compute_loss_func=answer_only_loss, callbacks=[_LossLog(), *(callbacks or [])],
    )
    last = last_complete_checkpoint(ckpt_dir)
    if last:
        log.warning("lora: resuming training from %s", last)
        prev = out_dir / LOSS_FILE
        if prev.is_file():
            curve.extend(x for x in json.loads(prev.read_text()) if x["step"] <= int(Path(last).name.split("-")[-1]))
    t0 = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=last)
    except OSError as e:
        raise disk_error(ckpt_dir, e) from None
    except RuntimeError as e:  # torch.save of a checkpoint on a full disk
        if "PytorchStreamWriter failed" in str(e) or "No space left" in str(e):
            raise DiskError(ckpt_dir, str(e)[:200]) from None
        raise
    seconds = time.perf_counter() - t0
    _save_adapter(model, out_dir)
    atomic_write(out_dir / LOSS_FILE, json.dumps(curve, indent=1))
    info = {
        **(meta or {}),
        "train_seconds": round(seconds, 2),
        "steps": int(trainer.state.global_step),
        "n_items": len(items),
        "final_loss": curve[-1]["loss"] if curve else None,
        "resumed_from": Path(last).name if last else None,
    }
    atomic_write(out_dir / META_FILE, json.dumps(info, indent=2, ensure_ascii=False))  # last: marks the adapter done
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    steps = int(trainer.state.global_step)
    # serving follows in the same process: give the training weights and optimiser state back
    del trainer, model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return TrainResult(
        path=out_dir, steps=steps, train_seconds=seconds, loss_curve=curve,
        n_items=len(items), resumed_from=Path(last).name if last else None,
    )
