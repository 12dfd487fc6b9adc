//! Integration tests of orch-worktree, all on real temporary git repositories, checked
//! against the git CLI.

mod concurrency;
mod conflict_props;
mod create;
mod edge_cases;
mod inspect;
mod lifecycle;
mod merge;
mod support;
