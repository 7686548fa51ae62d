#!/bin/sh
# Mutation testing of the rule modules with cosmic-ray (see docs/testing.md). Not run in CI.
#
# cosmic-ray edits the module under test in place, so each run works in a throw-away copy of the
# tracked files; results (the session database and the report) are copied to artifacts/mutation/.
# Usage: mutation/run.sh periods business_hours targets alerts   (names of mutation/*.toml)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
bin=$(dirname "$python")
out=$here/artifacts/mutation
mkdir -p "$out"
for name in "$@"; do
    copy=$(mktemp -d)
    (cd "$here" && git ls-files -z | rsync -a --from0 --files-from=- ./ "$copy/")
    cp -r "$here/mutation" "$copy/"
    (
        cd "$copy"
        # The test command runs the project's python (pytest-django, the settings) from PATH.
        # The selection must pass unmutated, or every mutant would count as killed.
        command=$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["cosmic-ray"]["test-command"])' "mutation/$name.toml")
        PATH=$bin:$PATH sh -c "$command" || { echo "mutation/$name.toml: the tests fail without a mutant" >&2; exit 1; }
        PATH=$bin:$PATH "$bin/cosmic-ray" init "mutation/$name.toml" "$name.sqlite"
        "$bin/cr-filter-operators" "$name.sqlite" "mutation/$name.toml"
        PATH=$bin:$PATH nice -n 15 "$bin/cosmic-ray" exec "mutation/$name.toml" "$name.sqlite"
        "$bin/cr-report" --show-pending "$name.sqlite" > "$out/$name.txt"
        cp "$name.sqlite" "$out/"
    )
    rm -rf "$copy"
    tail -3 "$out/$name.txt"
done
