"""The arms, one thin file each (base, prompt, rag, oracle, lora): glue over the retrieval,
adapter and prompt-search libraries. ``bench.arms.context`` holds what they share.

Example: ``ragft list`` (the registered arms)
"""
