#!/usr/bin/env bash
# make demo: start the local sandbox, onboard the example e-KYC records,
# print what happened to each. The sandbox keeps running (stop it with
# `cdp-onboard sandbox stop`); it stops by itself after 30 idle minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(make -s env)"
cdp-onboard sandbox start --idle 1800
eval "$(cdp-onboard sandbox env)"
echo
echo "== check: mapping and validation, nothing sent"
cdp-onboard check examples/ekyc-mapping.lua examples/ekyc-export.csv || true
echo
echo "== onboarding each record against the sandbox at $CDP_BASE_URL"
lua5.4 examples/onboard.lua examples/ekyc-mapping.lua examples/ekyc-export.csv
echo
DEMO_DIR="${TMPDIR:-/tmp}/cdp-demo-${USER:-$(id -un)}"
echo "== a generated backlog of 1,000 records, submitted 8 at a time (journal and report in $DEMO_DIR)"
rm -rf "$DEMO_DIR"
lua5.4 examples/generate.lua --count 1000 --out "$DEMO_DIR" --seed "$(date +%s)" >/dev/null
# Exit 1 would mean some records failed: the report says which and why.
cdp-onboard submit "$DEMO_DIR/ekyc-mapping.lua" "$DEMO_DIR/records.csv" --parallel 8 \
  --journal "$DEMO_DIR/journal.jsonl" --report "$DEMO_DIR/report.csv" | tail -n 3
echo "report: $DEMO_DIR/report.csv ($(($(wc -l <"$DEMO_DIR/report.csv") - 1)) rows)"
