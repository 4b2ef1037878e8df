"""Inference runtimes: one contract (:class:`.base.Runtime`) for generating and scoring
token ids, with one class per backend (:mod:`.torch_runtime`, :mod:`.ct2_runtime`).

Tasks build prompts as token ids and call ``loaded.runtime``; what a backend cannot do it
refuses with a UsageError. Heavy imports (torch, ctranslate2) happen inside functions.
"""
