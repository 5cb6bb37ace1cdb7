"""A random LoRA for the tiny Llama, built with peft (large B weights so outputs visibly change)."""

from __future__ import annotations

from pathlib import Path


def build_random_lora(model_dir: Path, out: Path, r: int = 4, seed: int = 1) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(model_dir))
    torch.manual_seed(seed)
    cfg = LoraConfig(r=r, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    model = get_peft_model(base, cfg)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 2.0)
    model.save_pretrained(str(out))
    return out


def lora_spec(model_dir: Path, folder: Path, registry_root: Path, prefix: str = "ad") -> object:
    """The registered identity (``AdapterSpec``) of an adapter folder for the tiny model."""
    from adapters.identity import spec_for_folder
    from adapters.registry import Registry

    return spec_for_folder(folder, str(model_dir), prefix=prefix, registry=Registry(registry_root))
