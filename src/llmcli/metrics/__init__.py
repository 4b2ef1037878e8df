"""Evaluation metrics: one module per metric behind :class:`~llmcli.metrics.base.Metric`."""
