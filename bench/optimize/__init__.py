"""The prompt-search library: candidate space, dev evaluation, strategies, frozen artifacts.

Example: ``ragft optimize configs/demo.toml --task minato_qa``
"""
