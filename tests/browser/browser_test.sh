#!/usr/bin/env bash
# Runs the tiny MNIST scenario, then opens its report.html in headless Chromium with
# check_report.sh: every image must load and the console must stay empty. The screenshot is kept
# at OUT/report.png for a person to look at.
#
# Usage: browser_test.sh GENMEM_PROGRAM SOURCE_DIR OUT_DIR
set -euo pipefail

[[ $# -eq 3 ]] || { echo "usage: $0 GENMEM_PROGRAM SOURCE_DIR OUT_DIR" >&2; exit 2; }
genmem=$1
source=$2
out=$3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|dir = \"../../../data\"|dir = \"$source/data\"|" \
  "$source/tests/fixtures/scenarios/tiny_consolidation.toml" >"$work/tiny.toml"
"$genmem" run "$work/tiny.toml" -q --set models.neocortex.epochs=1 --output "$work/run" \
  >"$work/run.log"
grep -q "^Report: $work/run/report.html$" "$work/run.log" || {
  echo "browser_test: genmem run did not print the report's path; its output:" >&2
  cat "$work/run.log" >&2
  exit 1
}

mkdir -p "$out"
rm -f "$out/report.png"
bash "$source/tests/browser/check_report.sh" "$work/run/report.html" "$out/report.png" 2400
