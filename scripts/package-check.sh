#!/usr/bin/env bash
# Packages every published crate of the workspace as `cargo publish` would, without uploading.
#
#   bash scripts/package-check.sh               # list, check the contents, package and verify
#   bash scripts/package-check.sh --no-verify   # list, check the contents, package only
#
# 1. The publishable packages are read from `cargo metadata` (every member without
#    `publish = false`: orch-testutils and orch-examples are not published).
# 2. `cargo package --list` for each: the package must hold its README.md, LICENSE-MIT and
#    LICENSE-APACHE (symlinks to the root's, followed by cargo) and nothing from tests/ or
#    benches/ (they use the unpublished orch-testutils, so they stay out of the packages; the
#    dev-dependency on orch-testutils has no version, so cargo strips it from the packaged
#    manifest).
# 3. `cargo package --workspace --exclude <unpublished>`: since cargo 1.84 this packages the
#    crates in dependency order against a local overlay registry of the others' packages, so
#    orch-store verifies against the packaged orch-core, not crates.io (where nothing is
#    published yet). Verification unpacks each .crate under target/package/ and builds it
#    alone, with its default features: what a user of the published crate would build.
#
# Extra arguments go to the last `cargo package` (e.g. `--offline`, `--jobs 2`).
set -euo pipefail
cd "$(dirname "$0")/.."

verify=()
for arg in "$@"; do
  if [ "$arg" = "--no-verify" ]; then
    verify=(--no-verify)
  fi
done
extra=()
for arg in "$@"; do
  if [ "$arg" != "--no-verify" ]; then
    extra+=("$arg")
  fi
done

# "name publishable" per workspace member.
members=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    print(p["name"], "no" if p.get("publish") == [] else "yes")
')
published=$(awk '$2 == "yes" { print $1 }' <<<"$members")
excluded=$(awk '$2 == "no" { print $1 }' <<<"$members")
exclude_args=()
for name in $excluded; do
  exclude_args+=(--exclude "$name")
done
echo "published: $(echo $published)"
echo "not published: $(echo $excluded)"

status=0
for name in $published; do
  files=$(cargo package --list --allow-dirty -p "$name" 2>/dev/null)
  for required in README.md LICENSE-MIT LICENSE-APACHE Cargo.toml src/lib.rs; do
    if [ "$name" = orch-agents ] && [ "$required" = src/lib.rs ]; then
      required=src/main.rs
    fi
    if ! grep -qx "$required" <<<"$files"; then
      echo "error: $name: the package lacks $required" >&2
      status=1
    fi
  done
  if grep -E '^(tests|benches)/' <<<"$files" >/dev/null; then
    echo "error: $name: the package holds tests or benches:" >&2
    grep -E '^(tests|benches)/' <<<"$files" >&2
    status=1
  fi
  echo "  $name: $(wc -l <<<"$files") files"
done
[ "$status" -eq 0 ] || exit "$status"

# The verification builds use the workspace's dev profile (its [profile] is not in the
# packages), so dependencies built by `cargo test --workspace` with the same features are
# reused from target/debug instead of compiled again (libgit2 and SQLite above all).
profile=(--config 'profile.dev.debug="line-tables-only"' --config 'profile.dev.package."*".opt-level=1')

start=$(date +%s)
cargo package --workspace "${exclude_args[@]}" --allow-dirty "${profile[@]}" "${verify[@]}" "${extra[@]}" 2>&1 |
  { grep -v -E '^warning: ignoring (test|benchmark) `[^`]+` as `(tests|benches)/[^`]+` is not included in the published package$' || true; }
echo "cargo package: $(($(date +%s) - start)) s"
