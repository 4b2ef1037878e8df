"""The task names: one list for the model registry, the task adapters and the CLI."""

from __future__ import annotations

SUMMARIZE = "summarize"
TRANSLATE = "translate"
ASK = "ask"
SENTIMENT = "sentiment"
GENERATE = "generate"
#: Sentence embeddings: a model role (retrieval, extractive summaries), not a command.
EMBED = "embed"

#: The model commands, in the order help and docs list them.
COMMAND_TASKS: tuple[str, ...] = (SUMMARIZE, TRANSLATE, ASK, SENTIMENT, GENERATE)
#: Every task a model can be chosen for (``LLMCLI_MODEL_<TASK>``).
MODEL_TASKS: tuple[str, ...] = (*COMMAND_TASKS, EMBED)
