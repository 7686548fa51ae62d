#!/usr/bin/env bash
# Fuzz the live OpenAPI schema with schemathesis, as an admin and as a sales rep.
# Fails on any 5xx response or any response that violates the schema. Token logout and
# revocation are skipped: schemathesis reuses token keys it reads from responses and would
# revoke the very tokens the run authenticates with.
#   .ci/schemathesis.sh [max-examples per operation, default 30]
# Uses a throw-away SQLite database unless SCHEMATHESIS_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MAX_EXAMPLES="${1:-30}"
WORK="$(mktemp -d)"
export DATABASE_URL="${SCHEMATHESIS_DATABASE_URL:-sqlite:///$WORK/fuzz.sqlite3}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-crm.settings}"
export DEBUG=false SECRET_KEY="${SECRET_KEY:-schemathesis-only-secret}" ALLOWED_HOSTS=127.0.0.1
# DEBUG off requires real encryption keys: fresh ones for this throw-away database.
CRM_ENCRYPTION_KEYS="$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
CRM_BLIND_INDEX_KEY="$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
export CRM_ENCRYPTION_KEYS CRM_BLIND_INDEX_KEY
# The fuzzer sends thousands of requests a minute; the throttle is tested in tests/api.
export API_THROTTLE_ANON=100000/minute API_THROTTLE_TOKEN=100000/minute API_THROTTLE_USER=100000/minute
unset REDIS_URL || true

$PY manage.py migrate --noinput -v 0
$PY manage.py shell -c "from crm.api.fuzz_fixtures import main; main('$WORK')"
PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
$PY manage.py runserver "127.0.0.1:$PORT" --noreload --insecure >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
up=0
for _ in $(seq 120); do
  # /api/schema/ needs a token now (issue 14); the liveness probe needs nothing.
  if curl -fsS "http://127.0.0.1:$PORT/healthz" -o /dev/null 2>/dev/null; then up=1; break; fi
  sleep 0.5
done
if [ "$up" -ne 1 ]; then
  echo "the API server did not start:" >&2; tail -n 40 "$WORK/server.log" >&2; exit 1
fi

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
status=0
for who in admin rep; do
  echo "== schemathesis as $who =="
  .venv/bin/schemathesis run "http://127.0.0.1:$PORT/api/schema/" \
    --header "Authorization: Token $(cat "$WORK/$who.token")" \
    --exclude-path-regex '/auth/logout|/tokens/\{token_key\}' \
    --checks "$CHECKS" --max-examples "$MAX_EXAMPLES" --seed 20261128 \
    --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing}" --workers 1 --no-color \
    --suppress-health-check all --request-timeout 30 || status=$?
done
if [ "$status" -ne 0 ]; then
  echo "--- server log (tail) ---"; tail -n 80 "$WORK/server.log"
fi
exit "$status"
