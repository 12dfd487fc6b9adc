//! Integration tests of orch-store on real SQLite files.

mod concurrency;
mod import;
mod lease;
mod messages;
mod reviews;
mod status;
mod support;
