#!/usr/bin/env bash
# install-chromium.sh: puts Debian's headless-capable `chromium` on PATH for the browser test of the
# canary-watch report (test/watch/report-browser.test.ts). Idempotent: does nothing when `chromium` is
# already on PATH; otherwise apt-get update, then apt-get install chromium (and a sans-serif font, so the
# report's text renders). Needs root (as on the project's machines and in CI). A cold install (apt-get
# update included, 25 packages on this image) took 14 s on a project machine (2 cores); a warm run, well under 1 s.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "[install-chromium] $(chromium --version 2>/dev/null || echo chromium) already on PATH"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "[install-chromium] chromium is not on PATH and installing it needs root (apt-get)" >&2
  exit 1
fi
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "[install-chromium] apt-get ran but chromium is still not on PATH" >&2; exit 1; }
echo "[install-chromium] installed $(chromium --version 2>/dev/null) in $((SECONDS - t0))s"
