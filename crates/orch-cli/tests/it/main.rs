//! Integration tests of the `orch` binary on real temporary git repositories, with `insta`
//! snapshots of what a user sees.

mod claude_setup;
mod dashboard;
mod doctor;
mod errors;
mod faults;
pub(crate) mod first_run;
mod init;
mod logging;
mod mcp;
mod msg;
mod plan;
mod prd;
mod preflight;
mod quality;
mod remote;
mod review;
pub(crate) mod run;
mod session;
mod status;
mod support;
mod untrusted_text;
mod verify;
mod worktree;
