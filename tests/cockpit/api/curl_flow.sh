#!/usr/bin/env bash
# The KB's curl flow ("JS7 - REST Web Service API", joc-cockpit.md §1.5) against a js7es Cockpit:
# log in with Basic and take X-Access-Token from the response headers (grep + sed, as the KB does),
# add an order, poll the order history until it ended, find its tasks, print their logs, log out.
#
#   JS_URL=https://host:4446 JS_USER=root JS_PASSWORD=... JS_CA=ca.crt WORKFLOW=hello NAME=Ada curl_flow.sh
set -euo pipefail
: "${JS_URL:?}" "${JS_USER:?}" "${JS_PASSWORD:?}" "${JS_CA:?}" "${WORKFLOW:?}" "${NAME:?}"
API="$JS_URL/joc/api"
HEADERS=$(mktemp)
trap 'rm -f "$HEADERS"' EXIT

# login: the token is in the response header X-Access-Token
ACCESS_TOKEN=$(curl --silent --show-error --fail --cacert "$JS_CA" --user "$JS_USER:$JS_PASSWORD" \
    -X POST "$API/authentication/login" -D - -o /dev/null \
  | grep -i '^X-Access-Token:' | sed -e 's/^[^:]*:[[:space:]]*//' -e 's/\r$//')
[ -n "$ACCESS_TOKEN" ] || { echo "no X-Access-Token" >&2; exit 1; }
echo "logged in"

post() {  # post PATH JSON: the answer's body on stdout (curl fails on HTTP >= 400, showing the body)
  curl --silent --show-error --fail-with-body --cacert "$JS_CA" \
    -H "X-Access-Token: $ACCESS_TOKEN" -H "Content-Type: application/json" -H "Accept: application/json" \
    -X POST "$API$1" -d "$2"
}

CONTROLLER_ID=$(post /controller/ids '{}' | sed -n 's/.*"selected"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
echo "controllerId $CONTROLLER_ID"

ORDER_ID=$(post /orders/add "{\"controllerId\": \"$CONTROLLER_ID\", \"orders\": [{\"workflowPath\": \"$WORKFLOW\",
  \"orderName\": \"curl\", \"arguments\": {\"name\": \"$NAME\"}}], \"auditLog\": {\"comment\": \"the KB curl flow\"}}" \
  | sed -n 's/.*"orderIds"[[:space:]]*:[[:space:]]*\[[[:space:]]*"\([^"]*\)".*/\1/p')
[ -n "$ORDER_ID" ] || { echo "no orderId" >&2; exit 1; }
echo "added $ORDER_ID"

STATE=""
for _ in $(seq 1 150); do
  HISTORY=$(post /orders/history "{\"controllerId\": \"$CONTROLLER_ID\", \"orderId\": \"$ORDER_ID\"}")
  # (not in the history yet while the Cockpit's projection catches up: grep finds nothing, and that is fine)
  STATE=$(echo "$HISTORY" | { grep -o '"_text"[[:space:]]*:[[:space:]]*"[A-Z]*"' || true; } | head -1 | sed 's/.*"\([A-Z]*\)"$/\1/')
  if echo "$HISTORY" | grep -q '"endTime"' && [ -n "$STATE" ]; then break; fi
  sleep 0.2
done
echo "history state $STATE"
[ "$STATE" = SUCCESSFUL ] || { echo "the order did not end successfully: $HISTORY" >&2; exit 1; }

TASKS=$(post /tasks/history "{\"controllerId\": \"$CONTROLLER_ID\", \"orderId\": \"$ORDER_ID\"}")
TASK_IDS=$(echo "$TASKS" | grep -o '"taskId"[[:space:]]*:[[:space:]]*[0-9]*' | grep -o '[0-9]*$' | sort -n)
echo "tasks" $TASK_IDS
for TASK_ID in $TASK_IDS; do
  echo "--- log of task $TASK_ID"
  curl --silent --show-error --fail-with-body --cacert "$JS_CA" -D "$HEADERS" \
    -H "X-Access-Token: $ACCESS_TOKEN" -H "Content-Type: application/json" \
    -X POST "$API/task/log" -d "{\"controllerId\": \"$CONTROLLER_ID\", \"taskId\": $TASK_ID}"
  grep -i '^X-Log-Complete:' "$HEADERS" | tr -d '\r'
done

post /authentication/logout '{}' > /dev/null
echo "logged out"
# the token is dead now: JOC answers 401
STATUS=$(curl --silent --cacert "$JS_CA" -o /dev/null -w '%{http_code}' -H "X-Access-Token: $ACCESS_TOKEN" \
  -X POST "$API/orders/history" -d "{\"controllerId\": \"$CONTROLLER_ID\"}")
echo "after logout: HTTP $STATUS"
