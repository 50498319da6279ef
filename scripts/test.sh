#!/usr/bin/env bash
# Set up (system packages, .venv, pinned dependencies) and run the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k indexing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider --timeout=900 "$@"
rc=$?
set -e
# pytest's 5 means "no tests collected": that is a failure of the suite, not a pass.
exit $rc
