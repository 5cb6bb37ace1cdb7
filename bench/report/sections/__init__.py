"""Report sections of the features (data, prompt search, LLM judge, contamination, LoRA, retrieval):
each a function ``(RunData) -> Markdown`` registered in ``bench.registry`` (kind ``report_section``).
"""
