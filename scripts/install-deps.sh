#!/usr/bin/env bash
# Installs the system tools the tests, the demo and the benchmarks use, if they are missing
# (idempotent): kcat (the independent Kafka client), Maven and Java 17 (Kafka's jars), Chromium (the
# dashboard test), openssl (test certificates), and checks for the Java 21+ that the Apicurio schema
# registries need.
set -euo pipefail
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The dashboard test drives Debian's Chromium with playwright-core (no browser download).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ] || [ -n "${JAVA17_HOME:-}" ] || missing+=(openjdk-17-jre-headless)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Apicurio Registry 3.x (the tests' and the demo's schema registries) is built for Java 21+. Debian 12
# packages no JDK that new; the machines carry one under /usr/lib/jvm (tools/harness/registry.ts finds it).
newer_java=$(find /usr/lib/jvm -maxdepth 1 -regextype egrep -regex '.*-(2[1-9]|[3-9][0-9])(-.*)?' 2>/dev/null | head -1)
if [ -z "${APICURIO_JAVA_HOME:-}" ] && [ -z "$newer_java" ]; then
  if apt-cache policy openjdk-21-jre-headless 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    $SUDO apt-get install -y -qq openjdk-21-jre-headless >/dev/null
  else
    echo "no Java 21+ JDK under /usr/lib/jvm and none in the package sources: set APICURIO_JAVA_HOME to one" >&2
    exit 1
  fi
fi
