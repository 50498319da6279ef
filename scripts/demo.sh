#!/usr/bin/env bash
# Set up mediasearch and run the main job on the project's samples: index samples/ with
# every encoder whose weights are installed (the weight-free baselines at least), then
# search by example image, by example sound and, where a text-capable encoder is
# installed, by text. The demo library lives in .demo-library unless MEDIASEARCH_HOME is set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export MEDIASEARCH_HOME=${MEDIASEARCH_HOME:-$PWD/.demo-library}
MS=.venv/bin/mediasearch

# Encoders with weights present; of the Whisper sizes only the smallest installed one.
encoders=$($MS encoders --json | .venv/bin/python -c '
import json, sys
items = [e for e in json.load(sys.stdin) if e["weights_present"] and e.get("kind", "encoder") == "encoder"]
whisper = [e["name"] for e in items if e["family"] == "whisper"][:1]
print(",".join([e["name"] for e in items if e["family"] != "whisper"] + whisper))')
echo "== indexing samples/ with: $encoders"
$MS index samples --encoders "$encoders"
echo
$MS status
echo
query=$(ls samples/images/* | head -n 1)
echo "== search by example image: $query"
$MS search --image "$query" -k 5
clip=samples/audio/sweep_and_clicks.ogg
if [ -f "$clip" ]; then
  echo
  echo "== search by example sound: $clip"
  $MS search --audio "$clip" -k 5
fi
if $MS encoders --json | .venv/bin/python -c '
import json, sys; sys.exit(0 if any(e["weights_present"] and e.get("kind", "encoder") == "encoder" and "text" in e["modalities"] for e in json.load(sys.stdin)) else 1)'; then
  echo
  echo "== search by text: \"close the kitchen window\""
  $MS search --text "close the kitchen window" -k 5 || true
fi
# Next step: name the better encoders whose weights are missing, with the command that installs them.
next=$($MS encoders --json | .venv/bin/python -c '
import json, sys
wanted = ["efficientnet-lite0", "siglip-vit-b16", "whisper-tiny.en", "clap-htsat"]
items = {e["name"]: e for e in json.load(sys.stdin)}
print(" ".join(n for n in wanted if n in items and items[n]["missing_models"]))')
echo
if [ -n "$next" ]; then
  echo "== next step: install weights for better encoders (with internet):"
  echo "   $MS models pull $next"
  echo "   then index with them: $MS index samples --encoders ${next// /,}"
  echo "   offline: $MS models urls ENCODER lists the files to fetch elsewhere; then $MS models import ENCODER PATH"
else
  echo "== next step: index your own folders: $MS index ~/Pictures ~/Music, then $MS gui"
fi
