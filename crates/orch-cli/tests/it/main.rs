//! Integration tests of the `orch` binary on real temporary git repositories, with `insta`
//! snapshots of what a user sees.

mod dashboard;
mod doctor;
mod errors;
mod faults;
pub(crate) mod first_run;
mod init;
mod msg;
mod plan;
mod prd;
mod preflight;
mod quality;
pub(crate) mod run;
mod session;
mod status;
mod support;
mod untrusted_text;
mod worktree;
