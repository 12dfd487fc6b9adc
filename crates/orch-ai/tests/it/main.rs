//! Integration tests of orch-ai: one binary, one module per area.

#[cfg(feature = "http")]
mod clients;
mod gold;
mod model_planner;
mod prds;
mod props;
mod scorer;
