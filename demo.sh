#!/usr/bin/env bash
# Install what the demo needs (once) and run it. Needs only Python 3.11+ with pip and venv.
#   bash demo.sh                                  the interactive console (you play the agent alice)
#   bash demo.sh --script demo/walkthrough.txt    the suggested walk-through, without a terminal
# Ctrl-C stops everything the demo started. PYTHON=python3.12 bash demo.sh picks another interpreter.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
stamp=.venv/.demo-requirements
wanted=$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("requirements.txt", "rb").read()).hexdigest())')
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --disable-pip-version-check -r requirements.txt
  echo "$wanted" > "$stamp"
fi
exec .venv/bin/python -m demo "$@"
