#!/usr/bin/env bash
# Restore drill: dump the database, restore the dump into a new database, and prove the copy is
# whole: the row count of every table and a checksum of the KPI snapshots must be equal.
#
#   ops/restore_drill.sh SOURCE_URL TARGET_DATABASE [--keep]
#   ops/restore_drill.sh postgres://postgres@127.0.0.1:5432/pulse pulse_drill_2026_12_04
#
# TARGET_DATABASE must not exist (it is created on the same server); it is dropped at the end
# unless --keep. The dump is written in pg_dump's custom format to a temporary directory (or to
# $DRILL_DUMP_DIR, kept). Exit 0 when everything matches, 1 on a difference, 2 on a usage error.
set -euo pipefail

if [ "$#" -lt 2 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
source_url="$1"
target="$2"
keep="${3:-}"
if ! [[ "$target" =~ ^[a-z0-9_]+$ ]]; then
  echo "TARGET_DATABASE must be lower-case letters, digits and underscores" >&2
  exit 2
fi
# The target lives on the source's server: same URL, other database name (query kept).
server_url="${source_url%/*}"
query=""
if [[ "$source_url" == *\?* ]]; then query="?${source_url#*\?}"; fi
target_url="${server_url}/${target}${query}"
maintenance_url="${server_url}/postgres${query}"

dump_dir="${DRILL_DUMP_DIR:-$(mktemp -d)}"
dump="${dump_dir}/pulse.dump"
cleanup() {
  if [ -z "${DRILL_DUMP_DIR:-}" ]; then rm -rf "$dump_dir"; fi
  if [ "$keep" != "--keep" ]; then
    psql "$maintenance_url" -qAtc "DROP DATABASE IF EXISTS \"$target\"" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

started=$(date +%s)
echo "1/4 dump: pg_dump --format=custom → $dump"
pg_dump --format=custom --no-owner --file="$dump" "$source_url"

echo "2/4 restore into a new database: $target"
psql "$maintenance_url" -qAtc "CREATE DATABASE \"$target\"" >/dev/null
pg_restore --no-owner --exit-on-error --dbname="$target_url" "$dump"

# Every table of the public schema, counted exactly; one query per database.
counts_sql="
SELECT string_agg(
  format('SELECT %L AS t, count(*) AS n FROM %I', tablename, tablename), ' UNION ALL '
  ORDER BY tablename)
FROM pg_tables WHERE schemaname = 'public'"
count_rows() {
  local url="$1" union
  union=$(psql "$url" -qAtc "$counts_sql")
  psql "$url" -qAt -F ' ' -c "SELECT t, n FROM (${union}) AS counts ORDER BY t"
}
# Every column of every KPI snapshot, in id order (text form: numbers, dates and JSON exact).
checksum_sql="SELECT count(*) || ' ' || coalesce(md5(string_agg(s::text, E'\\n' ORDER BY s.id)), '-')
FROM kpis_kpisnapshot s"

echo "3/4 compare the row counts of every table"
source_counts=$(count_rows "$source_url")
target_counts=$(count_rows "$target_url")
tables=$(printf '%s\n' "$source_counts" | wc -l)
if [ "$source_counts" != "$target_counts" ]; then
  echo "DIFFERENT row counts (source < > restored):" >&2
  diff <(printf '%s\n' "$source_counts") <(printf '%s\n' "$target_counts") >&2 || true
  exit 1
fi
rows=$(printf '%s\n' "$source_counts" | awk '{ total += $2 } END { print total }')
echo "    ${tables} tables, ${rows} rows: equal"

echo "4/4 compare the KPI snapshots' checksum"
source_sum=$(psql "$source_url" -qAtc "$checksum_sql")
target_sum=$(psql "$target_url" -qAtc "$checksum_sql")
if [ "$source_sum" != "$target_sum" ]; then
  echo "DIFFERENT KPI snapshots: source ${source_sum}, restored ${target_sum}" >&2
  exit 1
fi
echo "    ${source_sum%% *} snapshots, md5 ${source_sum#* }: equal"
echo "restore drill passed in $(( $(date +%s) - started )) s (dump $(du -h "$dump" | cut -f1))"
