#!/usr/bin/env bash
# Build figures of orch's layer crates: how many crates each one pulls in, with its default
# features and with its minimal features (`--no-default-features`), and optionally the cold
# build time of each.
#
#   bash scripts/build-figures.sh                 # crate counts (seconds; reads Cargo.lock only)
#   bash scripts/build-figures.sh --time          # also cold `cargo build -p X` times (slow:
#                                                 # every crate twice from an empty target dir)
#   bash scripts/build-figures.sh --markdown      # the table as Markdown (for the README)
#   ORCH_FIGURES_DIR=/path bash scripts/build-figures.sh   # measure another checkout
#
# "crates" = distinct packages in `cargo tree -p X -e normal`, the crate itself included:
# what `cargo build -p X` compiles for X's library, minus build scripts' own dependencies.
# "+build" also counts build-dependencies (cc, pkg-config, ...), which are compiled too.
# Cargo resolves features for the selected package alone (resolver 2/3, dev-dependencies
# excluded by `-e normal`), so workspace feature unification does not blur the numbers.
# Timing uses a fresh CARGO_TARGET_DIR under $TMPDIR per build and the dev profile; run it on a
# quiet machine. A crate without features shows the same figure in both columns.
set -euo pipefail

crates=(orch-core orch-store orch-worktree orch-session orch-quality orch-secrets orch-ai
  orch-escalation orch-engine orch-remote orch-dashboard)

time_builds=false
markdown=false
for arg in "$@"; do
  case "$arg" in
    --time) time_builds=true ;;
    --markdown) markdown=true ;;
    -h | --help)
      sed -n '2,18p' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

dir="${ORCH_FIGURES_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$dir"

# count CRATE EDGES [FLAGS...]
count() {
  local crate="$1" edges="$2"
  shift 2
  cargo tree --offline -q -p "$crate" -e "$edges" --prefix none "$@" \
    | sed -e 's/ (\*)$//' -e 's/ (proc-macro)$//' | grep -v '^$' | sort -u | wc -l
}

# cold_build CRATE [FLAGS...] -> seconds
cold_build() {
  local crate="$1"
  shift
  local target
  target="$(mktemp -d "${TMPDIR:-/tmp}/orch-figures.XXXXXX")"
  local start end
  start=$(date +%s.%N)
  CARGO_TARGET_DIR="$target" cargo build --offline -q -p "$crate" "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  rm -rf "$target"
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", e - s }'
}

if $markdown; then
  if $time_builds; then
    echo "| crate | crates (default) | +build | crates (minimal) | +build | cold build default (s) | cold build minimal (s) |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
  else
    echo "| crate | crates (default) | +build | crates (minimal) | +build |"
    echo "|---|---:|---:|---:|---:|"
  fi
else
  if $time_builds; then
    printf '%-16s %9s %7s %9s %7s %10s %10s\n' crate default +build minimal +build "t-default" "t-minimal"
  else
    printf '%-16s %9s %7s %9s %7s\n' crate default +build minimal +build
  fi
fi

for crate in "${crates[@]}"; do
  if ! cargo tree --offline -q -p "$crate" --depth 0 >/dev/null 2>&1; then
    echo "skipping $crate: not in this workspace" >&2
    continue
  fi
  d=$(count "$crate" normal)
  db=$(count "$crate" normal,build)
  m=$(count "$crate" normal --no-default-features)
  mb=$(count "$crate" normal,build --no-default-features)
  td="" tm=""
  if $time_builds; then
    td=$(cold_build "$crate")
    tm=$(cold_build "$crate" --no-default-features)
  fi
  if $markdown; then
    if $time_builds; then
      echo "| \`$crate\` | $d | $db | $m | $mb | $td | $tm |"
    else
      echo "| \`$crate\` | $d | $db | $m | $mb |"
    fi
  else
    if $time_builds; then
      printf '%-16s %9s %7s %9s %7s %10s %10s\n' "$crate" "$d" "$db" "$m" "$mb" "$td" "$tm"
    else
      printf '%-16s %9s %7s %9s %7s\n' "$crate" "$d" "$db" "$m" "$mb"
    fi
  fi
done
