#!/usr/bin/env bash
# Installs the system tools the tests, the demo and the benchmarks use, if they are missing
# (idempotent): kcat (the independent Kafka client), Maven and Java 17 (Kafka's jars), openssl
# (test certificates).
set -euo pipefail
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ] || [ -n "${JAVA17_HOME:-}" ] || missing+=(openjdk-17-jre-headless)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
