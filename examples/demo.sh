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
