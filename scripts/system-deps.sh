#!/usr/bin/env bash
# Install the Debian packages the tests need (Chromium, Mosquitto, openssl, gcc) when we can.
# Where we cannot, print the exact command; the tests that need them skip,
# except under CI=true, where a missing component is a failure.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # the MQTT-over-TLS test makes its certificates with it
command -v gcc >/dev/null 2>&1 || need+=(gcc)  # compiles the evacuation engine (scripts/build_engine.py)
[ ${#need[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "system-deps: cannot install ${need[*]} (not root, no sudo). Run:" >&2
  echo "  sudo sh -c '$cmd'" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "system-deps: the tests that need them will be skipped." >&2
  exit 0
fi
echo "system-deps: installing ${need[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/campus-twin-apt.log 2>&1; then
  echo "system-deps: apt-get failed (log: /tmp/campus-twin-apt.log). Run: $cmd" >&2
  tail -5 /tmp/campus-twin-apt.log >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
fi
exit 0
