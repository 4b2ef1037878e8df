"""llmcli: language models and evaluation metrics in the shell."""

__version__ = "0.1.0"
