//! [`Naming`]: how task and epic branches and task worktree directories are named.

use std::fmt;

use orch_core::{EpicId, TaskId};

/// Why a [`Naming`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NamingError {
    /// A branch prefix is not a valid start of a git branch name.
    #[error("{what} `{value}` cannot be used: {reason}")]
    InvalidPrefix {
        /// Which prefix (`task branch prefix`, `epic branch prefix`, `worktree directory
        /// prefix`).
        what: &'static str,
        /// The rejected value (control characters escaped).
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// One branch prefix starts with the other, so a branch name would not tell a task
    /// from an epic.
    #[error(
        "task branch prefix `{task}` and epic branch prefix `{epic}` overlap; neither may start with the other"
    )]
    Overlap {
        /// The task branch prefix.
        task: String,
        /// The epic branch prefix.
        epic: String,
    },
}

/// How a [`crate::WorktreeManager`] names what it creates: task branches
/// (`<task prefix><TASK>`), epic integration branches (`<epic prefix><EPIC>`) and task
/// worktree directories (`<root>/<dir prefix><TASK>`, which is also git's name for the
/// worktree, `.git/worktrees/<dir prefix><TASK>`).
///
/// Everything the manager lists, parses, prunes, merges or guards goes through the same
/// naming, so branches and worktrees of another naming are never taken for its own.
///
/// The [`Default`] is neutral: `wt/task/<TASK>`, `wt/epic/<EPIC>` and `<root>/<TASK>`.
/// orch's own `orch/task/…` and `orch/epic/…` are chosen by its engine, not here.
///
/// ```
/// use orch_worktree::{Naming, TaskId};
///
/// let naming = Naming::new("agents/", "integration/")?.with_dir_prefix("wt-")?;
/// let task = TaskId::new("FIX-12")?;
/// assert_eq!(naming.task_branch(&task), "agents/FIX-12");
/// assert_eq!(naming.task_of_branch("refs/heads/agents/FIX-12"), Some(task.clone()));
/// assert_eq!(naming.worktree_name(&task), "wt-FIX-12");
/// assert!(Naming::new("my tasks/", "epics/").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Naming {
    task_prefix: String,
    epic_prefix: String,
    dir_prefix: String,
}

impl Default for Naming {
    /// `wt/task/<TASK>`, `wt/epic/<EPIC>`, worktrees at `<root>/<TASK>`.
    fn default() -> Self {
        Naming {
            task_prefix: "wt/task/".into(),
            epic_prefix: "wt/epic/".into(),
            dir_prefix: String::new(),
        }
    }
}

impl fmt::Display for Naming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "branches {}<TASK> and {}<EPIC>, worktrees <root>/{}<TASK>",
            self.task_prefix, self.epic_prefix, self.dir_prefix
        )
    }
}

impl Naming {
    /// Task branches `<task_prefix><TASK>` and epic branches `<epic_prefix><EPIC>`;
    /// worktree directories named after the task.
    ///
    /// Each prefix must be a valid start of a git branch name (`orch/task/`, `agent-`):
    /// not empty, no whitespace or control characters, none of `~ ^ : ? * [ \ "`, no `..`,
    /// `//` or `@{`, not starting with `/`, `-`, `.` or `refs/`, no component starting with
    /// `.` or ending with `.lock`. Neither prefix may start with the other.
    pub fn new(
        task_prefix: impl Into<String>,
        epic_prefix: impl Into<String>,
    ) -> Result<Naming, NamingError> {
        let task_prefix = task_prefix.into();
        let epic_prefix = epic_prefix.into();
        check_branch_prefix("task branch prefix", &task_prefix)?;
        check_branch_prefix("epic branch prefix", &epic_prefix)?;
        if task_prefix.starts_with(&epic_prefix) || epic_prefix.starts_with(&task_prefix) {
            return Err(NamingError::Overlap {
                task: task_prefix,
                epic: epic_prefix,
            });
        }
        Ok(Naming {
            task_prefix,
            epic_prefix,
            dir_prefix: String::new(),
        })
    }

    /// Names task worktree directories (and git's worktree names) `<prefix><TASK>` instead
    /// of `<TASK>`. The prefix may hold ASCII letters, digits, `-`, `_` and `.` (not first),
    /// at most 32 of them; empty is the default.
    pub fn with_dir_prefix(mut self, prefix: impl Into<String>) -> Result<Naming, NamingError> {
        let prefix = prefix.into();
        let bad = |reason| NamingError::InvalidPrefix {
            what: "worktree directory prefix",
            value: prefix.escape_debug().to_string(),
            reason,
        };
        if prefix.len() > 32 {
            return Err(bad("it is longer than 32 bytes"));
        }
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(bad(
                "only ASCII letters, digits, `-`, `_` and `.` are allowed",
            ));
        }
        if prefix.starts_with('.') {
            return Err(bad("it must not start with `.`"));
        }
        self.dir_prefix = prefix;
        Ok(self)
    }

    /// The task branch prefix (`wt/task/` by default).
    pub fn task_prefix(&self) -> &str {
        &self.task_prefix
    }

    /// The epic branch prefix (`wt/epic/` by default).
    pub fn epic_prefix(&self) -> &str {
        &self.epic_prefix
    }

    /// The worktree directory prefix (empty by default).
    pub fn dir_prefix(&self) -> &str {
        &self.dir_prefix
    }

    /// The branch of a task: `<task prefix><TASK>`.
    pub fn task_branch(&self, task: &TaskId) -> String {
        format!("{}{task}", self.task_prefix)
    }

    /// The integration branch of an epic: `<epic prefix><EPIC>`.
    pub fn epic_branch(&self, epic: &EpicId) -> String {
        format!("{}{epic}", self.epic_prefix)
    }

    /// The task whose branch `branch` is (a branch name, or a full `refs/heads/…` name);
    /// `None` for any other branch.
    pub fn task_of_branch(&self, branch: &str) -> Option<TaskId> {
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        TaskId::new(branch.strip_prefix(&self.task_prefix)?).ok()
    }

    /// The epic whose integration branch `branch` is (a branch name, or a full
    /// `refs/heads/…` name); `None` for any other branch.
    pub fn epic_of_branch(&self, branch: &str) -> Option<EpicId> {
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        EpicId::new(branch.strip_prefix(&self.epic_prefix)?).ok()
    }

    /// Whether `branch` (a name or a full `refs/heads/…` name) is under the task prefix,
    /// whether or not the rest is a valid task id.
    pub fn is_task_branch(&self, branch: &str) -> bool {
        branch
            .strip_prefix("refs/heads/")
            .unwrap_or(branch)
            .starts_with(&self.task_prefix)
    }

    /// Whether `branch` (a name or a full `refs/heads/…` name) is under the epic prefix.
    pub fn is_epic_branch(&self, branch: &str) -> bool {
        branch
            .strip_prefix("refs/heads/")
            .unwrap_or(branch)
            .starts_with(&self.epic_prefix)
    }

    /// The name of a task's worktree: its directory under the root, and git's name for it
    /// (`.git/worktrees/<name>`).
    pub fn worktree_name(&self, task: &TaskId) -> String {
        format!("{}{task}", self.dir_prefix)
    }

    /// The task a worktree name (or directory name under the root) belongs to; `None` for
    /// names of another layout.
    pub fn task_of_worktree(&self, name: &str) -> Option<TaskId> {
        TaskId::new(name.strip_prefix(&self.dir_prefix)?).ok()
    }
}

fn check_branch_prefix(what: &'static str, prefix: &str) -> Result<(), NamingError> {
    let bad = |reason| NamingError::InvalidPrefix {
        what,
        value: prefix.escape_debug().to_string(),
        reason,
    };
    if prefix.is_empty() {
        return Err(bad("it is empty"));
    }
    if prefix.len() > 128 {
        return Err(bad("it is longer than 128 bytes"));
    }
    if prefix
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return Err(bad(
            "it contains whitespace, a control character or a non-ASCII character",
        ));
    }
    if prefix
        .chars()
        .any(|c| matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\' | '"'))
    {
        return Err(bad("it contains one of ~ ^ : ? * [ \\ \""));
    }
    if prefix.contains("..") {
        return Err(bad("it contains `..`"));
    }
    if prefix.contains("//") {
        return Err(bad("it contains `//`"));
    }
    if prefix.contains("@{") {
        return Err(bad("it contains `@{`"));
    }
    if prefix.starts_with(['/', '-', '.']) {
        return Err(bad("it starts with `/`, `-` or `.`"));
    }
    if prefix.starts_with("refs/") {
        return Err(bad(
            "it starts with `refs/`; give a branch name prefix (`refs/heads/` is implied)",
        ));
    }
    if prefix
        .split('/')
        .any(|c| c.starts_with('.') || c.ends_with(".lock"))
    {
        return Err(bad("a path component starts with `.` or ends with `.lock`"));
    }
    // Whatever git itself refuses beyond the rules above.
    if !git2::Reference::is_valid_name(&format!("refs/heads/{prefix}x")) {
        return Err(bad("git does not accept it in a branch name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str) -> TaskId {
        TaskId::new(id).unwrap()
    }

    #[test]
    fn default_is_neutral() {
        let n = Naming::default();
        assert_eq!(n.task_branch(&task("T-1")), "wt/task/T-1");
        assert_eq!(n.epic_branch(&EpicId::new("E").unwrap()), "wt/epic/E");
        assert_eq!(n.worktree_name(&task("T-1")), "T-1");
        assert_eq!(
            Naming::new("wt/task/", "wt/epic/").unwrap(),
            Naming::default()
        );
    }

    #[test]
    fn parses_back_only_its_own_names() {
        let n = Naming::new("orch/task/", "orch/epic/")
            .unwrap()
            .with_dir_prefix("t-")
            .unwrap();
        assert_eq!(n.task_of_branch("orch/task/T-1"), Some(task("T-1")));
        assert_eq!(
            n.task_of_branch("refs/heads/orch/task/T-1"),
            Some(task("T-1"))
        );
        assert_eq!(n.task_of_branch("orch/epic/T-1"), None);
        assert_eq!(n.task_of_branch("wt/task/T-1"), None);
        assert_eq!(n.task_of_branch("orch/task/a/b"), None);
        assert_eq!(
            n.epic_of_branch("orch/epic/E"),
            Some(EpicId::new("E").unwrap())
        );
        assert!(n.is_task_branch("refs/heads/orch/task/whatever/x"));
        assert!(!n.is_task_branch("orch/epic/E"));
        assert_eq!(n.task_of_worktree("t-T-1"), Some(task("T-1")));
        assert_eq!(n.task_of_worktree("T-1"), None);
    }

    #[test]
    fn refuses_bad_prefixes() {
        for bad in [
            "",
            "my tasks/",
            "a..b/",
            "a//b",
            "/abs/",
            "-x/",
            ".hidden/",
            "a/.b/",
            "x.lock/",
            "a~b/",
            "a^/",
            "a:b/",
            "a?/",
            "a*/",
            "a[/",
            "a\\b/",
            "a@{/",
            "tab\t/",
            "nl\n/",
            "refs/heads/x/",
            "é/",
        ] {
            assert!(
                matches!(
                    Naming::new(bad, "epic/"),
                    Err(NamingError::InvalidPrefix { .. })
                ),
                "{bad:?} must be refused"
            );
            assert!(
                Naming::new("task/", bad).is_err(),
                "{bad:?} must be refused"
            );
        }
        for good in ["orch/task/", "agent-", "x", "a.b/", "team_1/tasks/"] {
            assert!(Naming::new(good, "zz/epic/").is_ok(), "{good:?}");
        }
    }

    #[test]
    fn refuses_overlapping_prefixes() {
        assert!(matches!(
            Naming::new("wt/", "wt/epic/"),
            Err(NamingError::Overlap { .. })
        ));
        assert!(Naming::new("a-e-", "a-").is_err());
        assert!(Naming::new("same/", "same/").is_err());
    }

    #[test]
    fn dir_prefixes() {
        let n = Naming::default();
        assert!(n.clone().with_dir_prefix("wt-").is_ok());
        assert!(n.clone().with_dir_prefix("").is_ok());
        for bad in ["../", "a/b", ".x", "a b", &"x".repeat(33)] {
            assert!(n.clone().with_dir_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
