#!/usr/bin/env bash
# The main job on a fresh clone (until `orch demo` lands): build orch, create a scratch git
# repository, import the example plan, and walk a few tasks through the state machine.
# Usage: bash examples/quickstart.sh        (from the repository root; offline, no API key)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --manifest-path "$here/Cargo.toml" -p orch-agents
orch="$here/target/debug/orch"
[ -n "${CARGO_TARGET_DIR:-}" ] && orch="$CARGO_TARGET_DIR/debug/orch"

work=$(mktemp -d -t orch-quickstart.XXXXXX)
trap 'rm -rf "$work"' EXIT
git -C "$work" init -q -b main
git -C "$work" -c user.name=orch -c user.email=orch@example.invalid commit -q --allow-empty -m "initial commit"

run() { printf '\n$ orch %s\n' "$*"; "$orch" -C "$work" "$@"; }
run init
run plan import "$here/examples/plans/webapp.toml"
run status
run graph
run graph --format mermaid
# Walk the first task through the happy path by hand, as the engine will.
for s in running verifying merging completed; do
  run task set-status TASK-DB-001 "$s" --reason "quickstart"
done
run status
printf '\n$ orch task set-status TASK-DB-002 completed   # illegal: must run first\n'
if "$orch" -C "$work" task set-status TASK-DB-002 completed; then
  echo "unexpected: the state machine accepted an illegal move" >&2; exit 1
else
  echo "(refused with exit code $?, as it should be)"
fi
