#!/usr/bin/env bash
# Are the KPI figures of two commits identical? (issue 15: a refactor must not change behaviour.)
#
# For each commit: a throw-away copy of its tracked files, a fresh SQLite database, the demo
# company (`seed_demo --scale small --seed 42`), then every KPI computed for the closed periods of
# four granularities (24 months, 8 quarters, 26 weeks, 2 years) and exported with
# `kpis export --format csv` (every KPI, every dimension). The sorted exports are compared.
#
# Usage: scripts/snapshots_compare.sh BASE_REV [HEAD_REV] [--ignore-kpi KEY ...]
#   HEAD_REV defaults to the working tree. --ignore-kpi leaves out a KPI one side adds on purpose.
# Prints the rows per granularity and "identical" or the differing rows; exits 1 on a difference.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
base=$1; shift
head=""
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then head=$1; shift; fi
ignore=()
while [ $# -gt 0 ]; do
  case $1 in
    --ignore-kpi) ignore+=("$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d)
today=$(date +%Y-%m-%d)
month=$(date -d "$(date +%Y-%m-01)" +%Y-%m-%d)
monday=$(date -d "$today -$(( $(date +%u) - 1 )) days" +%Y-%m-%d)
quarter_month=$(( ( ( $(date +%-m) - 1 ) / 3 ) * 3 + 1 ))
quarter=$(printf '%s-%02d-01' "$(date +%Y)" "$quarter_month")
year=$(date +%Y)-01-01

snapshots() {  # $1 label, $2 rev or "" for the working tree
  local copy
  copy=$(mktemp -d)
  if [ -z "$2" ]; then
    (cd "$here" && git ls-files -z | rsync -a --from0 --files-from=- ./ "$copy/")
  else
    git -C "$here" archive "$2" | tar -x -C "$copy"
  fi
  (
    cd "$copy"
    # The zero-setup default: SQLite in the copy, Celery tasks run eagerly in-process.
    unset DATABASE_URL REDIS_URL
    export PYTHONPATH=$copy
    $python manage.py migrate --noinput -v 0
    $python manage.py seed_demo --scale small --seed 42 > /dev/null 2>&1
    $python manage.py kpis compute --granularity month --start "$(date -d "$month -24 months" +%F)" --end "$month" > /dev/null 2>&1
    $python manage.py kpis compute --granularity quarter --start "$(date -d "$quarter -24 months" +%F)" --end "$quarter" > /dev/null 2>&1
    $python manage.py kpis compute --granularity week --start "$(date -d "$monday -26 weeks" +%F)" --end "$monday" > /dev/null 2>&1
    $python manage.py kpis compute --granularity year --start "$(date -d "$year -2 years" +%F)" --end "$year" > /dev/null 2>&1
    for granularity in month quarter week year; do
      $python manage.py kpis export --granularity "$granularity" --format csv 2>/dev/null \
        | tail -n +2 | sort > "$out/$1-$granularity.csv"
    done
  )
  rm -rf "$copy"
}

snapshots base "$base"
snapshots head "$head"
status=0
for granularity in month quarter week year; do
  for side in base head; do
    file=$out/$side-$granularity.csv
    for key in "${ignore[@]}"; do grep -v "^$key," "$file" > "$file.tmp" || true; mv "$file.tmp" "$file"; done
  done
  rows=$(wc -l < "$out/base-$granularity.csv")
  if cmp -s "$out/base-$granularity.csv" "$out/head-$granularity.csv"; then
    echo "$granularity: $rows rows, identical"
  else
    echo "$granularity: differs"; status=1
    diff "$out/base-$granularity.csv" "$out/head-$granularity.csv" | head -20
  fi
done
echo "exports kept in $out"
exit $status
