#!/usr/bin/env bash
# Builds orch's crates the way a user's project would: from a project outside the workspace,
# depending on them by path with their minimal features (`default-features = false`).
#
#   bash scripts/consumer-check.sh            # both projects below
#   bash scripts/consumer-check.sh --layers   # only the layer crates
#
# 1. "layers": orch-core, orch-store, orch-worktree, orch-session, orch-quality,
#    orch-secrets, orch-escalation and orch-ai, each with its minimal features. A tiny main
#    uses every one of them and is run; the check fails if reqwest, rustls, ring, hyper or
#    axum are in its dependency graph (the pure logic must build without a network stack).
# 2. "apps": orch-engine, orch-dashboard and orch-remote with `default-features = false`.
#
# Each crate's README example (its first ```rust block) is compiled as an example program of
# the project that has the crate, so the READMEs cannot drift from the APIs.
#
# Minimal features link the system SQLite (libsqlite3-dev) instead of building it; libgit2 is
# taken from the system when pkg-config finds a 1.9.x, otherwise built from the vendored
# copy (see crates/orch-worktree/README.md). Both projects use the workspace's Cargo.lock (the
# same versions as the workspace), its dev profile and its target directory, so dependencies
# the workspace already built with the same features are not compiled again.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
work="$(mktemp -d "${TMPDIR:-/tmp}/orch-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

only_layers=false
case "${1:-}" in
  --layers) only_layers=true ;;
  "") ;;
  *)
    echo "usage: $0 [--layers]" >&2
    exit 2
    ;;
esac

# readme_example CRATE_DIR -> the first ```rust block of its README on stdout
readme_example() {
  awk '/^```rust/ { inside = 1; next } inside && /^```/ { exit } inside { print }' \
    "$repo/crates/$1/README.md"
}

# project NAME DEPENDENCIES... : writes $work/NAME/Cargo.toml
project() {
  local name="$1"
  shift
  mkdir -p "$work/$name/src" "$work/$name/examples"
  {
    cat <<EOF
[package]
name = "orch-consumer-$name"
version = "0.0.0"
edition = "2024"
publish = false

# Not part of any workspace above it.
[workspace]

# The workspace's dev profile.
[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
opt-level = 1

[dependencies]
tempfile = "3"
tokio = { version = "1", features = ["rt-multi-thread", "signal"] }
EOF
    for crate in "$@"; do
      echo "$crate = { path = \"$repo/crates/$crate\", default-features = false }"
    done
  } >"$work/$name/Cargo.toml"
  cp "$repo/Cargo.lock" "$work/$name/Cargo.lock"
}

# add_readme_examples NAME CRATE... : every crate's README example as an example program
add_readme_examples() {
  local name="$1"
  shift
  for crate in "$@"; do
    local file="$work/$name/examples/readme_${crate//-/_}.rs"
    readme_example "$crate" >"$file"
    if [ ! -s "$file" ]; then
      echo "crates/$crate/README.md has no \`\`\`rust example" >&2
      exit 1
    fi
  done
}

layers=(orch-core orch-store orch-worktree orch-session orch-quality orch-secrets orch-escalation orch-ai)
apps=(orch-engine orch-dashboard orch-remote)

echo "== consumer: layer crates with minimal features"
project layers "${layers[@]}"
add_readme_examples layers "${layers[@]}"
cat >"$work/layers/src/main.rs" <<'EOF'
//! Uses every layer crate once, with its minimal features.

use std::sync::Arc;
use std::time::Duration;

const PLAN: &str = r#"
name = "consumer"
[[epic]]
id = "E"
name = "Epic"
[[task]]
id = "TASK-E-001"
title = "Schema"
epic = "E"
[[task]]
id = "TASK-E-002"
title = "API"
epic = "E"
depends_on = ["TASK-E-001"]
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;

    // orch-core: a plan, its graph and waves.
    let plan = orch_core::Plan::parse(PLAN, orch_core::PlanFormat::Toml)?;
    let graph = plan.validate()?;
    println!("orch-core: {} tasks in {} waves", graph.len(), graph.wave_count());

    // orch-store: the plan in SQLite (the system library without `bundled`).
    let mut store = orch_store::Store::open(&dir.path().join("state.db"))?;
    store.import_plan(&plan, false)?;
    println!("orch-store: {} events", store.events_since(0, 100)?.len());

    // orch-worktree: a naming scheme (opening a repository needs one).
    let naming = orch_worktree::Naming::new("agent/", "feature/")?;
    println!("orch-worktree: {naming:?}");

    // orch-session: one plain command through the pool.
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(async {
        let backend = Arc::new(orch_session::ProcessBackend::new(dir.path().join("sessions")));
        let config = orch_session::PoolConfig {
            timeout: Duration::from_secs(10),
            ..orch_session::PoolConfig::default()
        };
        let pool = orch_session::SessionPool::new(backend, config);
        let request = orch_session::SessionRequest::new(
            orch_session::CommandSpec::new(["sh", "-c", "echo consumer"]),
            dir.path(),
            dir.path().join("logs/consumer.log"),
        );
        let session = pool.run(request).await?;
        Ok::<_, Box<dyn std::error::Error>>(session.wait().await?.outcome)
    })?;
    println!("orch-session: {outcome:?}");

    // orch-quality: a gate with a custom dimension (not run: it would run the tools).
    let check = orch_quality::CommandCheck::new(orch_quality::Dimension::custom("spelling")?, "true");
    let _gate = orch_quality::Gate::new(orch_quality::QualityConfig::default())
        .with_check(Box::new(check));
    println!("orch-quality: gate ready");

    // orch-secrets: redaction.
    let line = concat!("token = \"ghp_", "0123456789abcdefghijABCDEFGHIJ012345\"");
    println!("orch-secrets: {}", orch_secrets::Detector::shared().redact(line));

    // orch-escalation without `http`: the escalator and the rule advisor.
    let mut escalator = orch_escalation::Escalator::new(
        orch_escalation::EscalationPolicy::default(),
        Arc::new(orch_core::SystemClock),
    )?;
    let advisor = orch_escalation::RuleAdvisor::new();
    let failure = orch_escalation::FailureContext::new(
        orch_core::TaskId::new("TASK-E-001")?,
        orch_escalation::FailureKind::TestsFailing,
        "1 test failed",
    );
    let outcome = escalator.on_failure_with(failure, |f| advisor.advise(f));
    println!("orch-escalation: {:?}", outcome.decision);

    // orch-ai without `http`: the offline planner.
    let prd = orch_ai::Prd::parse("# Shop\n## Catalog\n- Product schema\n- Product list page\n")?;
    let planned = orch_ai::plan_heuristic(&prd, orch_ai::Strategy::Auto);
    println!("orch-ai: {} tasks planned offline", planned.plan.tasks.len());
    Ok(())
}
EOF
(
  cd "$work/layers"
  network=$(cargo tree -e normal --prefix none 2>/dev/null |
    grep -E '^(reqwest|rustls|ring|hyper|axum) ' | sort -u || true)
  if [ -n "$network" ]; then
    echo "the layer crates' minimal features still pull a network stack:" >&2
    echo "$network" >&2
    exit 1
  fi
  echo "crates in the graph: $(cargo tree -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)"
  cargo build --quiet --bins --examples
  cargo run --quiet
)

if ! $only_layers; then
  echo "== consumer: engine, dashboard, remote with default-features = false"
  project apps orch-core "${apps[@]}"
  add_readme_examples apps "${apps[@]}"
  cat >"$work/apps/src/main.rs" <<'EOF'
//! The application crates with `default-features = false`.

fn main() {
    let options = std::any::type_name::<orch_engine::EngineOptions>();
    let dashboard = orch_dashboard::DashboardConfig::new(".orch");
    let remote = orch_remote::RemoteConfig::default();
    println!("{options}, dashboard port {}, remote port {}", dashboard.port, remote.port);
}
EOF
  (
    cd "$work/apps"
    cargo build --quiet --bins --examples
    cargo run --quiet
  )
fi
echo "consumer check passed"
