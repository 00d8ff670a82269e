#!/bin/sh
# Posts one signed alert to firedrill's alert webhook with curl and openssl: the client side
# of the alerts of the system-under-test contract (docs/sut-contract.md).
#
#   FIREDRILL_ALERT_WEBHOOK=http://127.0.0.1:<port>/alerts FIREDRILL_WEBHOOK_SECRET=<secret> \
#     sh examples/send-alert.sh RPC_FAILOVER high rpc_providers ethereum
#
# Prints the receiver's status and exits 0 when it accepted the alert (202). The arguments
# go into the JSON as they are: no quotes or backslashes in them. The secret is on openssl's
# command line while it runs: use this where no other user can list your processes.
set -eu
if [ $# -lt 3 ]; then
  echo "usage: send-alert.sh EVENT SEVERITY SYSTEM [CHAIN]" >&2
  exit 2
fi
: "${FIREDRILL_ALERT_WEBHOOK:?}" "${FIREDRILL_WEBHOOK_SECRET:?}"
if [ -n "${4:-}" ]; then chain="\"$4\""; else chain=null; fi
at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
body=$(printf '{"event":"%s","severity":"%s","system":"%s","chain":%s,"at":"%s","details":{}}' \
  "$1" "$2" "$3" "$chain" "$at")
# Unix milliseconds; where date has no %N, whole seconds times 1000.
t=$(date +%s%3N)
case $t in *[!0-9]*) t=$(($(date +%s) * 1000)) ;; esac
v1=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$FIREDRILL_WEBHOOK_SECRET" | sed 's/^.*= //')
status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
  -H 'content-type: application/json' -H "Firedrill-Signature: t=$t,v1=$v1" \
  --data-binary "$body" "$FIREDRILL_ALERT_WEBHOOK")
echo "$status"
[ "$status" = 202 ]
