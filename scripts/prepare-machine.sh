#!/usr/bin/env bash
# Everything `npm test` and `npm run demo` need beyond node_modules, installed if missing (run by npm as
# their `pretest`/`predemo` steps, and by .ci/run): system tools (kcat, Chromium, Java 17 and 21+, Maven,
# openssl: scripts/install-deps.sh), the Kafka jars and the Apicurio schema registry. Idempotent, and
# quick and quiet when everything is already there, so a newcomer never meets a missing tool halfway
# through the suite. Set KAFKA_DR_SKIP_PREPARE=1 to skip it (e.g. an offline machine prepared by hand).
set -euo pipefail
[ "${KAFKA_DR_SKIP_PREPARE:-}" = 1 ] && exit 0
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The pinned Node 24 of node_modules (the system's may be too old to run TypeScript), when installed.
node=node_modules/.bin/node
[ -x "$node" ] || node=node
"$node" tools/harness/prepare.ts
