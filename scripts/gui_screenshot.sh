#!/usr/bin/env bash
# Launch the desktop app under Xvfb on a library built from samples/, run a search by
# example (and grade a few results), and save a screenshot of the window.
#
#   scripts/gui_screenshot.sh [OUT.png]        (default: docs/screenshot.png)
#   LANG_UI=zh_CN scripts/gui_screenshot.sh    (default: docs/screenshot_zh_CN.png)
#
# Environment: PYTHON (default .venv/bin/python), DISPLAY_NUM (default 99),
# QUERY (default samples/images/sunset_crop.jpg), THEME (light | dark, default light),
# LANG_UI (interface language: en | zh_CN, default en; Chinese needs a CJK font: fonts-noto-cjk),
# MEDIASEARCH_MODEL_DIR (default ../shared/models when it exists: adds EfficientNet-Lite0).
# Needs Xvfb; ImageMagick (convert) shrinks the PNG when present.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-.venv/bin/python}"
LANG_UI="${LANG_UI:-en}"
if [[ "$LANG_UI" == en ]]; then OUT="${1:-docs/screenshot.png}"; else OUT="${1:-docs/screenshot_$LANG_UI.png}"; fi
if [[ "$LANG_UI" == zh* ]] && command -v fc-list >/dev/null && [[ -z "$(fc-list :lang=zh 2>/dev/null)" ]]; then
    echo "no Chinese font installed (Debian: apt-get install fonts-noto-cjk); the text will show as boxes" >&2
fi
DISPLAY_NUM="${DISPLAY_NUM:-99}"
QUERY="${QUERY:-samples/images/sunset_crop.jpg}"
THEME="${THEME:-light}"

if [[ -z "${MEDIASEARCH_MODEL_DIR:-}" && -d "$REPO/../shared/models" ]]; then
    export MEDIASEARCH_MODEL_DIR="$REPO/../shared/models"
fi
encoders="baseline-image"
if [[ -n "${MEDIASEARCH_MODEL_DIR:-}" && -f "$MEDIASEARCH_MODEL_DIR/timm/tf_efficientnet_lite0.imagenet.safetensors" ]]; then
    encoders="baseline-image,efficientnet-lite0"
fi
folders=(--add-folder samples/images --add-folder samples/videos)
if [[ -d samples/audio ]]; then
    folders+=(--add-folder samples/audio)
    encoders="$encoders,baseline-audio"
fi

work="$(mktemp -d)"
xvfb_pid=""
cleanup() {
    [[ -n "$xvfb_pid" ]] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

platform="offscreen"
if command -v Xvfb >/dev/null; then
    Xvfb ":$DISPLAY_NUM" -screen 0 1600x1000x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
    xvfb_pid=$!
    for _ in $(seq 50); do
        [[ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ]] && break
        sleep 0.1
    done
    if kill -0 "$xvfb_pid" 2>/dev/null; then
        export DISPLAY=":$DISPLAY_NUM"
        platform="xcb"
    else
        echo "Xvfb did not start (see below); using Qt's offscreen platform" >&2
        cat "$work/xvfb.log" >&2 || true
        xvfb_pid=""
    fi
fi
if [[ "$platform" == xcb ]] && ! QT_QPA_PLATFORM=xcb "$PYTHON" -c "from PySide6.QtWidgets import QApplication; QApplication([])" 2>/dev/null; then
    echo "Qt's xcb plugin cannot load (Debian: apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" \
         "libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0); using Qt's offscreen platform" >&2
    platform="offscreen"
fi
export QT_QPA_PLATFORM="$platform"
echo "platform: $platform; encoders: $encoders; query: $QUERY" >&2

"$PYTHON" -m ui.app \
    --library "$work/library" \
    --settings-file "$work/ui.ini" \
    "--$THEME" \
    --lang "$LANG_UI" \
    --size 1360x860 \
    "${folders[@]}" \
    --encoders "$encoders" \
    --index \
    --demo-query "$QUERY" \
    --demo-k 18 \
    --demo-grades 2,2,1,0 \
    --screenshot "$work/raw.png" \
    --timeout 300

mkdir -p "$(dirname "$OUT")"
if command -v convert >/dev/null; then
    # a 256-colour palette keeps the PNG small (UI colours survive it well)
    convert "$work/raw.png" -strip -dither None -colors 256 "PNG8:$OUT"
else
    cp "$work/raw.png" "$OUT"
fi
echo "wrote $OUT ($(du -k "$OUT" | cut -f1) KB)" >&2
