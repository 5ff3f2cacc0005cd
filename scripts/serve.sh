#!/usr/bin/env bash
# Install hill-viz into .venv and serve the app (the main job) at http://127.0.0.1:5006.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e .
exec .venv/bin/hill-viz serve "$@"
