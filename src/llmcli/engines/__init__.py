"""Ways to schedule a task: the local engine is :mod:`llmcli.runner`; :mod:`.ray` runs the
same task adapters and batching on a Ray cluster."""
