//! Integration tests of orch-worktree, all on real temporary git repositories, checked
//! against the git CLI.

mod commits;
mod concurrency;
mod conflict_props;
mod create;
mod edge_cases;
mod inspect;
mod isolation;
mod lifecycle;
mod merge;
mod naming;
mod support;
