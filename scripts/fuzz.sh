#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target of every module for $FUZZTIME each
# (go test -fuzz takes one target of one package at a time). FUZZTIME is
# go test's -fuzztime: a count of executions (20000x) by default, because
# with a duration Go 1.26's fuzzing coordinator can report its own deadline
# as a failure ("context deadline exceeded", no failing input;
# go.dev/issue/75804, fixed in Go 1.27).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-20000x}
status=0
run_module() {
  local mod=$1
  while IFS= read -r file; do
    local pkg; pkg=./$(dirname "${file#"$mod"/}")
    grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | cut -d' ' -f2 | while read -r target; do
      echo "fuzz: $mod $pkg $target ($FUZZTIME)"
      (cd "$mod" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg") || exit 1
    done || status=1
  done < <(grep -rlE '^func Fuzz' --include='*_test.go' "$mod" | grep -vE "^\./(examples|contrib)/" | sort)
}
run_module .
[ -d examples ] && run_module examples
for mod in contrib/*; do
  [ -f "$mod/go.mod" ] && run_module "$mod"
done
exit $status
