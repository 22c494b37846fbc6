#!/usr/bin/env bash
# A screenshot of the HTML report from a real browser (headless Chromium, installed when missing).
#   tests/browser/screenshot.sh REPORT.html|REPORT.json OUT.png [HEIGHT] [light|dark]
# A JSON report is rendered first (pkstore report JSON --html). The page is 1280 px wide; HEIGHT
# (default 4200) is how much of it is captured.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/chromium.sh"
[ $# -ge 2 ] || { echo "usage: $0 REPORT.html|REPORT.json OUT.png [HEIGHT] [light|dark]" >&2; exit 2; }
in="$1" out="$2" height="${3:-4200}" scheme="${4:-light}"
ensure_chromium
work="$(mktemp -d /tmp/pkstore-screenshot.XXXXXX)"
trap 'rm -rf "$work"' EXIT
page="$in"
case "$in" in
  *.json)
    page="$work/report.html"
    set +e
    "$root/pkstore" report "$in" --html "$page"
    status=$?
    set -e
    [ "$status" -le 1 ] || exit "$status"   # 1 only says the report failed: still a page
    ;;
esac
page="$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
extra=()
[ "$scheme" = dark ] && extra+=(--force-dark-mode --blink-settings=preferredColorScheme=0)
headless_chromium "$work/profile" --hide-scrollbars --window-size=1280,"$height" --virtual-time-budget=10000 \
  "${extra[@]}" --screenshot="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")" "file://$page" 2> "$work/log" \
  || { cat "$work/log" >&2; exit 1; }
echo "screenshot: $out (1280x$height, $scheme)" >&2
