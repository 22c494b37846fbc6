#!/usr/bin/env bash
# The HTML report in a real browser: a small real rehearsal writes its JSON and HTML reports, and a
# deliberately failing one (an injected live-update mismatch) writes its own; headless Chromium opens
# each page, runs its scripts and dumps the DOM. Fails on any console message (the page writes none:
# errors, warnings and uncaught exceptions all land there), when the page did not finish drawing,
# when the timeline does not have one group per kexec of the JSON, or when the DMA chart has no data
# points or not one per interval of the JSON's device series. Called by .ci/run after mvn -B verify.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/chromium.sh"
ensure_chromium

work="$(mktemp -d /tmp/pkstore-browser-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
small=(--guest-memory 2G --small-mappings 100 --large-mappings 3000 --seed 14)

echo "browser test: a small rehearsal (3 kexecs) with --json and --html..." >&2
"$root/pkstore" rehearse "${small[@]}" --kexecs planned,planned,crash --format json --html "$work/pass.html" > "$work/pass.json" 2> "$work/pass.err" \
  || { tail -n 20 "$work/pass.err" >&2; echo "browser test: the rehearsal failed" >&2; exit 1; }

echo "browser test: a rehearsal with an injected live-update mismatch..." >&2
set +e
"$root/pkstore" rehearse "${small[@]}" --kexecs planned --inject-fault live-update-mismatch --format json --html "$work/fail.html" \
  > "$work/fail.json" 2> "$work/fail.err"
status=$?
set -e
if [ "$status" != 2 ]; then
  tail -n 20 "$work/fail.err" >&2
  echo "browser test: the injected mismatch should stop the rehearsal with exit status 2, got $status" >&2
  exit 1
fi

# check_page NAME: open NAME.html, compare what the page drew with NAME.json
check_page() {
  local name="$1"
  local html="$work/$name.html" json="$work/$name.json"
  if grep -Eiq '<(script|link|img|iframe)[^>]+(src|href)=' "$html"; then
    echo "browser test: $name.html loads something from outside the page" >&2
    return 1
  fi
  mkdir -p "$work/profile-$name"
  headless_chromium "$work/profile-$name" --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
    --dump-dom "file://$html" > "$work/$name.dom" 2> "$work/$name.chromium.log"
  if grep -q ':CONSOLE' "$work/$name.chromium.log"; then
    echo "browser test: $name.html wrote to the console:" >&2
    grep ':CONSOLE' "$work/$name.chromium.log" >&2
    return 1
  fi
  python3 - "$json" "$work/$name.dom" "$name" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
dom = open(sys.argv[2]).read()
name = sys.argv[3]
def attr(element_id, attribute):
    m = re.search(r'<[^>]*\bid="%s"[^>]*>' % element_id, dom)
    if not m:
        sys.exit("browser test: %s: no #%s in the page" % (name, element_id))
    a = re.search(r'\b%s="([^"]*)"' % attribute, m.group(0))
    return a.group(1) if a else None
body = re.search(r'<body[^>]*>', dom).group(0)
if 'data-rendered="ok"' not in body:
    sys.exit("browser test: %s: the page did not finish drawing: %s" % (name, body))
kexecs = [k for k in report["kexecs"] if k.get("timeline")]
groups = int(attr("timeline-figure", "data-groups") or -1)
if groups != len(kexecs) or groups == 0:
    sys.exit("browser test: %s: the timeline has %d groups for %d kexecs" % (name, groups, len(kexecs)))
series = report.get("deviceSeries")
points = int(attr("dma-figure", "data-points") or -1)
expected = len(series["dmas"]) if series else 0
if points != expected:
    sys.exit("browser test: %s: the DMA chart has %d points for %d intervals" % (name, points, expected))
verdict = re.search(r'id="verdict"[^>]*>([^<]*)<', dom).group(1)
if report["passed"] != verdict.startswith("PASS"):
    sys.exit("browser test: %s: verdict %r for passed=%s" % (name, verdict, report["passed"]))
failed = dom.count('class="status bad"')
if failed != sum(1 for c in report["checks"] if not c["passed"]):
    sys.exit("browser test: %s: %d failed checks shown, the JSON has another number" % (name, failed))
print("browser test: %s: ok (%s; %d kexec group(s), %d DMA points, %d failed check(s) shown)"
      % (name, verdict, groups, points, failed))
PY
}

check_page pass
# the failing run stopped at its first reattach: no DMA series, no finished kexec; still no error
python3 - "$work/fail.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["passed"] is False and r.get("aborted"), "the failing report must say so"
PY
check_page fail
echo "browser test: passed" >&2
