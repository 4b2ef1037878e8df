#!/usr/bin/env bash
# Install llmcli with its test tools into the active Python environment, then run the tests.
# torch is pinned first: an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[models,fast,ray,test]"
python -m pytest -q "$@"
