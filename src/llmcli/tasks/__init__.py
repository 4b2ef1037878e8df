"""Task adapters: summarize, translate, ask, sentiment over any backend family.

``registry.build_task(name, loaded, settings)`` binds a task to a loaded model; the
backend follows ``loaded.family`` (seq2seq, causal, extractive QA, classifier), never
the model's name. One module per task (``summarize``, ``translate``, ``ask``,
``sentiment``, each with its settings dataclass) over shared helpers: ``generation``
(batched generation and label scoring), ``prompts``, ``chunking`` (windows instead of
truncation), ``markdown``, ``spans``/``grounded``/``extractive`` (answers and where
they are), ``languages``. Nothing here imports torch until a task runs.
"""
