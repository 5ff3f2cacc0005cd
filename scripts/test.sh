#!/usr/bin/env bash
# Install what the tests need (chromium from Debian, the package into .venv) and run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then  # Debian's chromium, for the browser tests
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q && $sudo apt-get install -y -q chromium
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".[test]"
exec .venv/bin/python -m pytest "$@"
