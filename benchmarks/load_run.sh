#!/usr/bin/env bash
# The gunicorn load run (issue 14): PostgreSQL, DEBUG off, demo data, gunicorn.conf.py, loopback.
#   benchmarks/load_run.sh [database name, default pulse_load] [port, default 8781]
# Bounded: gunicorn is stopped when the script ends, the load itself is a fixed request count
# (benchmarks/load.py) and the whole run is capped by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
DB="${1:-pulse_load}"
PORT="${2:-8781}"
SCALE="${SCALE:-small}"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export DEBUG=false SECRET_KEY="load-run-only-$(date +%s)" ALLOWED_HOSTS=127.0.0.1
unset REDIS_URL || true
# The run measures pages, not the guards: the load generator signs in as a manager without TOTP
# and sends far more API requests than a person would.
export CRM_REQUIRE_2FA_ROLES= API_THROTTLE_TOKEN=1000000/minute API_THROTTLE_USER=1000000/minute
export SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false
export GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS="${GUNICORN_WORKERS:-3}"
export GUNICORN_ACCESS_LOG=/dev/null

psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$DB'" | grep -q 1 \
  || createdb -h 127.0.0.1 -U postgres "$DB"
$PY manage.py migrate --noinput -v 0
$PY manage.py seed_demo --if-empty --scale "$SCALE"
START="$(date -d "$(date +%Y-%m-01) -6 months" +%Y-%m-%d)"
$PY manage.py kpis compute --granularity month --start "$START" --quiet-if-fresh
$PY manage.py collectstatic --noinput -v 0
TOKEN="$($PY manage.py shell -c "
from django.contrib.auth import get_user_model
from knox.models import AuthToken
print(AuthToken.objects.create(user=get_user_model().objects.get(username='manager'))[1])
" | tail -n 1)"

"$(dirname "$PY")/gunicorn" crm.wsgi:application --config gunicorn.conf.py >"/tmp/pulse-load-$PORT.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" -o /dev/null 2>/dev/null && break
  sleep 1
done
echo "gunicorn $GUNICORN_WORKERS workers on 127.0.0.1:$PORT, database $DB (scale $SCALE), DEBUG off"
curl -sS "http://127.0.0.1:$PORT/readyz"; echo
timeout 1800 $PY benchmarks/load.py --base-url "http://127.0.0.1:$PORT" --token "$TOKEN" \
  --requests "${REQUESTS:-200}" --threads "${THREADS:-4}"
