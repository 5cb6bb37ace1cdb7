"""The ``openai`` backend: any OpenAI-compatible server (``vllm serve``, llama.cpp server, hosted APIs).

Example: ``OpenAIBackend("Qwen/Qwen2.5-7B-Instruct", base_urls=["http://gpu1:8000/v1"], api="chat")``
"""

from bench.backends.openai.backend import OpenAIBackend, ServerState

__all__ = ["OpenAIBackend", "ServerState"]
