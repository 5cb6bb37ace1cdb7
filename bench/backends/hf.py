"""The ``hf`` backend: transformers + peft in process; batched, left-padded generation with stop strings.

Requests are grouped by (adapter, sampling), sorted by prompt length and generated in
batches; a batch that runs out of memory is split and retried before an item fails.

Example: ``HFBackend("/path/to/model", dtype="float32", batch_size=8).generate(requests)``
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from bench.backends.base import GenFailure, GenResult
from bench.backends.lora import check_adapters
from bench.errors import RagftError
from bench.models import fingerprint_model
from bench.prompts import apply_stops, ensure_bos, render_prompt
from bench.types import AdapterSpec, Completion, GenRequest, Sampling

log = logging.getLogger(__name__)


def _is_oom(e: BaseException) -> bool:
    import torch

    return isinstance(e, torch.OutOfMemoryError) or "out of memory" in str(e).lower()


class _StopOnStrings:
    """Per-row stopping: a row is done once its decoded continuation holds a stop string
    after leading whitespace (so a leading newline does not end an answer before it starts)."""

    def __init__(self, tokenizer: Any, prompt_len: int, stops: list[str]) -> None:
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.stops = [s for s in stops if s]

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if not self.stops:
            return done
        gen = input_ids[:, self.prompt_len :].tolist()
        for i, row in enumerate(gen):
            text = self.tokenizer.decode(row[-64:] if len(row) > 64 else row, skip_special_tokens=True)
            if apply_stops(text, self.stops)[1]:
                done[i] = True
        return done


class HFBackend:
    name = "hf"

    def __init__(
        self,
        model_path: str,
        *,
        dtype: str = "auto",
        device: str = "auto",
        batch_size: int = 8,
        max_model_len: int = 8192,
        adapters: Mapping[str, AdapterSpec] | None = None,
    ) -> None:
        import torch
        from transformers import AutoTokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            dtype = "bfloat16" if device == "cuda" else "float32"
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_model_len = max_model_len
        self.model_path = model_path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        except (OSError, ValueError) as e:
            raise RagftError(f"cannot load the tokenizer of '{model_path}': {e}") from None
        self._model: Any = None
        self.start_seconds: float | None = None  # time to load the weights (a fixed cost, not a pass's)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.adapters: dict[str, AdapterSpec] = check_adapters(adapters or {}, model_path)
        self._loaded_adapters: set[str] = set()
        self._fingerprint = f"hf:{fingerprint_model(model_path)}:{dtype}"

    @property
    def model(self) -> Any:
        """The weights, loaded on first use (a fully resumed run never loads them)."""
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM

            t0 = time.perf_counter()
            try:
                model = AutoModelForCausalLM.from_pretrained(
                    self.model_path, dtype=getattr(torch, self.dtype), use_safetensors=True
                )
            except OSError as e:
                raise RagftError(f"cannot load model '{self.model_path}': {e}") from None
            model.to(self.device)  # type: ignore[arg-type]
            model.eval()  # type: ignore[no-untyped-call]
            self._model = model
            self.start_seconds = time.perf_counter() - t0
        return self._model

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    # -- protocol -----------------------------------------------------------------
    def fingerprint(self) -> str:
        return self._fingerprint

    def render(self, request: GenRequest) -> str:
        return render_prompt(request.messages, self.tokenizer)

    def generate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        results: list[GenResult | None] = [None] * len(requests)
        encoded = [self._encode(r) for r in requests]
        groups: dict[tuple[str | None, str], list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault((r.adapter, r.sampling.model_dump_json()), []).append(i)
        for (adapter, _), idxs in groups.items():
            sampling = requests[idxs[0]].sampling
            ok: list[int] = []
            for i in idxs:
                ids = encoded[i]
                if len(ids) + sampling.max_new_tokens > self.max_model_len:
                    results[i] = GenFailure(
                        f"prompt of {len(ids)} tokens + {sampling.max_new_tokens} new tokens exceeds "
                        f"max_model_len {self.max_model_len}"
                    )
                    if progress:
                        progress(1)
                else:
                    ok.append(i)
            ok.sort(key=lambda i: len(encoded[i]))
            for start in range(0, len(ok), self.batch_size):
                batch = ok[start : start + self.batch_size]
                outs = self._generate_safe([encoded[i] for i in batch], sampling, adapter)
                for i, res in zip(batch, outs, strict=True):
                    results[i] = res
                if progress:
                    progress(len(batch))
        return [r if r is not None else GenFailure("not generated") for r in results]

    def add_adapters(self, adapters: Mapping[str, AdapterSpec]) -> None:
        """More adapters for this backend (loaded on their first request)."""
        self.adapters.update(check_adapters(adapters, self.model_path))

    def close(self) -> None:
        self._model = None

    # -- internals ----------------------------------------------------------------
    def _encode(self, r: GenRequest) -> list[int]:
        text = self.render(r)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ensure_bos(list(ids), self.tokenizer)

    def _activate(self, adapter: str | None) -> Any:
        """Return the module to call for this adapter (peft wraps lazily on first adapter use)."""
        import contextlib

        if adapter is None:
            if self._loaded_adapters:
                return self.model.disable_adapter()
            return contextlib.nullcontext()
        if adapter not in self.adapters:
            raise RagftError(f"adapter '{adapter}' was requested but not given to the hf backend")
        from peft import PeftModel

        if not self._loaded_adapters:
            self.model = PeftModel.from_pretrained(self.model, self.adapters[adapter].path, adapter_name=adapter)
            self.model.eval()
        elif adapter not in self._loaded_adapters:
            self.model.load_adapter(self.adapters[adapter].path, adapter_name=adapter)
        self._loaded_adapters.add(adapter)
        self.model.set_adapter(adapter)
        return contextlib.nullcontext()

    def _generate_safe(
        self, batch: list[list[int]], sampling: Sampling, adapter: str | None
    ) -> list[GenResult]:
        try:
            return self._generate_batch(batch, sampling, adapter)
        except Exception as e:  # noqa: BLE001 - a failing batch must not lose the run
            if _is_oom(e) and len(batch) > 1:
                log.warning("out of memory on a batch of %d; splitting", len(batch))
                mid = len(batch) // 2
                return self._generate_safe(batch[:mid], sampling, adapter) + self._generate_safe(
                    batch[mid:], sampling, adapter
                )
            if isinstance(e, RagftError):
                raise
            log.exception("generation failed")
            return [GenFailure(f"{type(e).__name__}: {e}") for _ in batch]

    def _generate_batch(
        self, batch: list[list[int]], sampling: Sampling, adapter: str | None
    ) -> list[GenResult]:
        import torch
        from transformers import StoppingCriteriaList

        pad = int(self.tokenizer.pad_token_id)
        width = max(len(x) for x in batch)
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in batch], device=self.device)
        attn = torch.tensor(
            [[0] * (width - len(x)) + [1] * len(x) for x in batch], device=self.device
        )
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "pad_token_id": pad,
            "stopping_criteria": StoppingCriteriaList([_StopOnStrings(self.tokenizer, width, sampling.stop)]),
        }
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed)
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        ctx = self._activate(adapter)  # loads the weights (and the adapter) before the pass is timed
        model = self.model
        t0 = time.perf_counter()
        with ctx, torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=attn, **kwargs)
        latency = time.perf_counter() - t0
        # padded rows are computed alike: every member of the batch costs the batch's time / size
        share = latency / len(batch)
        eos_ids = self._eos_ids()
        results: list[GenResult] = []
        for row, prompt in zip(out[:, width:].tolist(), batch, strict=True):
            n_out = 0
            hit_eos = False
            for tok in row:
                if tok in eos_ids:
                    hit_eos = True
                    n_out += 1
                    break
                if tok == pad and pad not in eos_ids:
                    break
                n_out += 1
            gen = row[:n_out]
            text = str(self.tokenizer.decode(gen, skip_special_tokens=True))
            cut, stopped = apply_stops(text, sampling.stop)
            reason = "stop" if stopped else ("eos" if hit_eos else "length")
            results.append(
                Completion(
                    text=cut, finish_reason=reason, prompt_tokens=len(prompt),  # type: ignore[arg-type]
                    output_tokens=n_out, latency_s=round(latency, 4), device_s=round(share, 6),
                )
            )
        return results

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        gc = getattr(self.model, "generation_config", None)
        e = getattr(gc, "eos_token_id", None) if gc is not None else None
        if isinstance(e, int):
            ids.add(e)
        elif isinstance(e, list):
            ids.update(int(x) for x in e)
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        return ids
