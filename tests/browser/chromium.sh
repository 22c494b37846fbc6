# Sourced by run.sh and screenshot.sh: Debian's Chromium, installed when missing, run headless with a
# fresh profile and nothing that talks to the network on its own.
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

ensure_chromium() {
  if [ -x "$CHROMIUM" ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "browser test: $CHROMIUM is missing and only root can install it (apt-get install chromium)" >&2
    return 1
  fi
  echo "browser test: installing Debian's chromium..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  [ -x "$CHROMIUM" ]
}

# headless_chromium PROFILE_DIR ARGS... : one headless run, killed if it takes over a minute
headless_chromium() {
  local profile="$1"
  shift
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --user-data-dir="$profile" "$@"
}
