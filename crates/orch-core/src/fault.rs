//! Named crash points, for fault-injection tests: with `ORCH_FAULT=<name>` in the
//! environment, a process that reaches [`point`]`("<name>")` dies on the spot, as it would
//! from `kill -9` (no destructor runs, nothing is cleaned up). Without the variable a point
//! costs one cached lookup.

use std::sync::OnceLock;

/// Dies here if `ORCH_FAULT` names this point.
pub fn point(name: &str) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var("ORCH_FAULT").ok());
    if wanted.as_deref() == Some(name) {
        eprintln!("orch: fault injected at `{name}`");
        std::process::abort();
    }
}
