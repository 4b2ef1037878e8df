"""Task names to task classes: ``build_task(name, loaded, settings)``.

Which backend a task uses depends on ``loaded.family`` (from the model's config),
never on the model's name.
"""

from __future__ import annotations

from typing import Any

from llmcli.errors import UsageError
from llmcli.models.base import LoadedModel
from llmcli.task_names import ASK, COMMAND_TASKS, GENERATE, SENTIMENT, SUMMARIZE, TRANSLATE
from llmcli.tasks.ask import AskSettings, AskTask
from llmcli.tasks.base import Task, TaskContext, TaskSettings
from llmcli.tasks.generate import GenerateSettings, GenerateTask
from llmcli.tasks.sentiment import SentimentSettings, SentimentTask
from llmcli.tasks.summarize import SummarizeSettings, SummarizeTask
from llmcli.tasks.translate import TranslateSettings, TranslateTask

TASKS: dict[str, tuple[type[Any], type[TaskSettings]]] = {
    SUMMARIZE: (SummarizeTask, SummarizeSettings),
    TRANSLATE: (TranslateTask, TranslateSettings),
    ASK: (AskTask, AskSettings),
    SENTIMENT: (SentimentTask, SentimentSettings),
    GENERATE: (GenerateTask, GenerateSettings),
}
TASK_NAMES = COMMAND_TASKS
#: Tasks that only generate text, so they run on CTranslate2 (ask constrains decoding to
#: spans of the context and sentiment scores label words: both need the torch model).
CTRANSLATE2_TASKS = (SUMMARIZE, TRANSLATE, GENERATE)


def check_backend(task: str, backend: str) -> None:
    """Raise UsageError if ``task`` cannot run on ``backend`` (before loading anything)."""
    if backend == "ctranslate2" and task not in CTRANSLATE2_TASKS:
        raise UsageError(
            f"--backend ctranslate2 runs {', '.join(CTRANSLATE2_TASKS[:-1])} and "
            f"{CTRANSLATE2_TASKS[-1]}, not {task}",
            hint="use --backend torch",
        )


def build_task(
    task: str,
    loaded: LoadedModel,
    settings: TaskSettings | None = None,
    context: TaskContext | None = None,
) -> Task:
    """A configured task bound to ``loaded``.

    ``settings`` is the task's settings dataclass (``SummarizeSettings``...); None means
    its defaults (translate has no default target and needs one); ``context`` carries the
    stderr notice and the sentence embedder. Raises UsageError for an
    unknown task, settings of the wrong type, or a model family that cannot do the task.
    """
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}", hint=f"one of {', '.join(TASK_NAMES)}")
    check_backend(task, loaded.backend)
    task_class, settings_class = TASKS[task]
    if settings is None:
        if task == TRANSLATE:
            raise UsageError("translate needs a target language")
        settings = settings_class()
    if not isinstance(settings, settings_class):
        raise TypeError(f"{task} takes {settings_class.__name__}, not {type(settings).__name__}")
    built: Task = task_class(loaded, settings, context or TaskContext())
    return built
