#!/usr/bin/env bash
# Set up mediasearch on a fresh Debian/Ubuntu machine: system packages (when run as root
# or with sudo), a virtual environment in .venv, and the package with every extra,
# pinned by constraints.txt (torch 2.14.1 + torchvision 0.29.1).
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES="espeak-ng sox libsox-fmt-all ffmpeg xvfb imagemagick fonts-noto-cjk libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0"
missing=""
for p in $DEB_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing system packages:$missing"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# A stamp skips the pip step when nothing it depends on changed.
stamp=.venv/.mediasearch-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[all,test]'
  echo "$want" > "$stamp"
fi
# the desktop app's translations (.ts -> .qm with pyside6-lrelease); the app also compiles a missing one on first run
.venv/bin/python -m ui.i18n >/dev/null || echo "warning: could not compile the GUI translations (ui/i18n)" >&2
