#!/usr/bin/env bash
# Opens a genmem report.html from disk in headless Chromium, checks that every image on the page
# loaded and that the page logged nothing to the console, and saves a screenshot.
#
#   tests/browser/check_report.sh REPORT_HTML SCREENSHOT_PNG [HEIGHT]
#
# HEIGHT is the window height in pixels (default 3000), so the screenshot shows that much of
# the page. Exits 0 when the page passes, 1 when it does not, 2 on bad arguments.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 REPORT_HTML SCREENSHOT_PNG [HEIGHT]" >&2
  exit 2
fi
report=$(realpath "$1")
# The page's address: characters that mean something in a URL are percent-encoded.
url="file://$(printf '%s' "$report" | sed -e 's/%/%25/g' -e 's/#/%23/g' -e 's/?/%3F/g' -e 's/ /%20/g')"
screenshot=$(realpath -m "$2")
height=${3:-3000}
[[ -f "$report" ]] || { echo "check_report: no such file: $1" >&2; exit 2; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
  echo "check_report: Chromium is not installed; run scripts/setup --with-browser" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$work/profile"
  --hide-scrollbars --window-size="1280,$height")

# The page's own script records the image counts on <body> once everything has loaded. Virtual
# time lets the load event fire before the DOM is printed.
timeout 120 "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
  --dump-dom "$url" >"$work/dom.html" 2>"$work/log.txt" || {
  echo "check_report: Chromium failed on $report; its log:" >&2
  grep -v dbus "$work/log.txt" | tail -n 20 >&2
  exit 1
}

images=$(grep -o 'data-images="[0-9]*"' "$work/dom.html" | grep -o '[0-9]\+' || true)
broken=$(grep -o 'data-images-broken="[0-9]*"' "$work/dom.html" | grep -o '[0-9]\+' || true)
status=0
if [[ -z "$images" || -z "$broken" ]]; then
  echo "check_report: the page's image check did not run (no data-images on <body>)" >&2
  status=1
elif [[ "$images" -eq 0 ]]; then
  echo "check_report: the page has no images" >&2
  status=1
elif [[ "$broken" -ne 0 ]]; then
  echo "check_report: $broken of $images images did not load:" >&2
  grep -o 'This image did not load: [^<]*' "$work/dom.html" >&2 || true
  status=1
fi
# Chromium logs every console message of the page as INFO:CONSOLE; a report logs none.
if grep -q ':CONSOLE' "$work/log.txt"; then
  echo "check_report: the page wrote to the console:" >&2
  grep ':CONSOLE' "$work/log.txt" >&2
  status=1
fi

mkdir -p "$(dirname "$screenshot")"
timeout 120 "$browser" "${flags[@]}" --screenshot="$screenshot" "$url" \
  >/dev/null 2>"$work/shot.txt" || {
  echo "check_report: Chromium could not save the screenshot; its log:" >&2
  grep -v dbus "$work/shot.txt" | tail -n 20 >&2
  exit 1
}
[[ -s "$screenshot" ]] || { echo "check_report: no screenshot was written" >&2; exit 1; }

if [[ $status -eq 0 ]]; then
  echo "check_report: $images images loaded, console empty; screenshot $screenshot"
fi
exit $status
