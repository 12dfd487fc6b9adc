//! Integration tests of orch-engine: real git repositories, real agent processes (the fake
//! Claude Code), real SQLite stores, the real merge queue.

mod adversarial;
mod answers;
mod cheats;
mod feedback;
mod plans;
mod reliability;
mod review_budget;
mod support;
