//! orch's own names for what the worktree layer creates. The layer's default naming is
//! neutral (`wt/task/…`); orch's conventions live here, and every orch command that opens a
//! [`WorktreeManager`] goes through [`open_worktree_manager`].

use std::path::Path;

use orch_core::RepoConfig;
use orch_worktree::{Naming, WorktreeError, WorktreeManager};

/// orch's task branch prefix: `orch/task/<TASK>`.
pub const TASK_BRANCH_PREFIX: &str = "orch/task/";
/// orch's epic branch prefix: `orch/epic/<EPIC>`.
pub const EPIC_BRANCH_PREFIX: &str = "orch/epic/";

/// orch's naming: task branches `orch/task/<TASK>`, epic integration branches
/// `orch/epic/<EPIC>`, task worktrees at `<repo.worktree_root>/<TASK>`.
pub fn worktree_naming() -> Naming {
    Naming::new(TASK_BRANCH_PREFIX, EPIC_BRANCH_PREFIX).expect("orch's prefixes are valid")
}

/// [`WorktreeManager::open`] with orch's [`worktree_naming`].
pub fn open_worktree_manager(
    root: &Path,
    config: &RepoConfig,
) -> Result<WorktreeManager, WorktreeError> {
    Ok(WorktreeManager::open(root, config)?.with_naming(worktree_naming()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orch_names() {
        let n = worktree_naming();
        let task = orch_core::TaskId::new("TASK-BA-001").unwrap();
        assert_eq!(n.task_branch(&task), "orch/task/TASK-BA-001");
        assert_eq!(
            n.epic_branch(&orch_core::EpicId::new("BA").unwrap()),
            "orch/epic/BA"
        );
        assert_eq!(n.worktree_name(&task), "TASK-BA-001");
    }
}
