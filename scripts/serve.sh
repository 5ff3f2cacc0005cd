#!/usr/bin/env bash
# Install hill-viz into .venv and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e .
exec .venv/bin/hill-viz train --dataset digits --epochs 20 "$@"
