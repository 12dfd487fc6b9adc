//! Exit codes of the `orch` binary, as documented constants.
//!
//! Scripts may rely on these values; they only ever gain new members.

/// Success.
pub const OK: i32 = 0;
/// An unexpected error (a bug, an I/O failure) not covered by a more specific code.
pub const FAILURE: i32 = 1;
/// The command line itself is wrong (unknown flag, missing argument).
pub const USAGE: i32 = 2;
/// The directory is not inside a git repository.
pub const NOT_A_REPOSITORY: i32 = 3;
/// The repository has no `.orch/` yet, or no plan: run `orch init` / `orch plan import`.
pub const NOT_INITIALIZED: i32 = 4;
/// An input file (plan, configuration) is malformed or invalid: parse error, unknown
/// dependency, cycle, unsafe id.
pub const INVALID_INPUT: i32 = 5;
/// The task state machine refused a status change.
pub const ILLEGAL_TRANSITION: i32 = 6;
/// A named task, epic, session or message does not exist.
pub const NOT_FOUND: i32 = 7;
/// The request conflicts with stored state: a different plan is already imported and has
/// started.
pub const CONFLICT: i32 = 8;
/// Another live runner holds the lease on this repository.
pub const LEASE_HELD: i32 = 9;
/// The state database could not be opened, migrated or written.
pub const STORE: i32 = 10;
/// The quality gate failed.
pub const GATE_FAILED: i32 = 11;
/// A run ended with tasks that are not completed (failed, escalated, blocked).
pub const RUN_INCOMPLETE: i32 = 12;
/// The repository or the machine is not ready to run (found before any task started): a
/// detached HEAD, no commits, git or the agent's program missing, an unusable setting.
pub const NOT_READY: i32 = 13;
/// Interrupted by the user (Ctrl-C), as shells report SIGINT.
pub const INTERRUPTED: i32 = 130;

/// Every code with its name, for documentation and `orch help exit-codes`.
pub const ALL: &[(i32, &str, &str)] = &[
    (OK, "OK", "success"),
    (FAILURE, "FAILURE", "unexpected error"),
    (USAGE, "USAGE", "invalid command line"),
    (
        NOT_A_REPOSITORY,
        "NOT_A_REPOSITORY",
        "not inside a git repository",
    ),
    (
        NOT_INITIALIZED,
        "NOT_INITIALIZED",
        "no .orch/ or no plan yet",
    ),
    (
        INVALID_INPUT,
        "INVALID_INPUT",
        "malformed or invalid plan or configuration",
    ),
    (
        ILLEGAL_TRANSITION,
        "ILLEGAL_TRANSITION",
        "the task state machine refused the change",
    ),
    (
        NOT_FOUND,
        "NOT_FOUND",
        "no such task, epic, session or message",
    ),
    (
        CONFLICT,
        "CONFLICT",
        "conflicts with the stored plan or state",
    ),
    (LEASE_HELD, "LEASE_HELD", "another runner holds the lease"),
    (STORE, "STORE", "state database error"),
    (GATE_FAILED, "GATE_FAILED", "the quality gate failed"),
    (
        RUN_INCOMPLETE,
        "RUN_INCOMPLETE",
        "the run ended with unfinished tasks",
    ),
    (
        NOT_READY,
        "NOT_READY",
        "the repository or machine is not ready to run",
    ),
    (INTERRUPTED, "INTERRUPTED", "interrupted by the user"),
];

/// The documented name of `code` (`NOT_INITIALIZED`), `FAILURE` for an unknown code.
pub fn name(code: i32) -> &'static str {
    ALL.iter()
        .find(|(c, _, _)| *c == code)
        .map_or("FAILURE", |(_, name, _)| name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::name(super::NOT_INITIALIZED), "NOT_INITIALIZED");
        assert_eq!(super::name(77), "FAILURE");
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<i32> = super::ALL.iter().map(|c| c.0).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), super::ALL.len());
    }
}
