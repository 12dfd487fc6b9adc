//! Plans, epics and tasks: the data a PRD turns into.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::graph::{DepGraph, PlanError};
use crate::id::{EpicId, TaskId};
use crate::status::TaskStatus;

/// Version of the plan file format written by this crate.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What kind of work a task is; used for ordering rules and for choosing quality checks.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Schema, migrations, data models.
    Database,
    /// Server-side logic and services.
    Backend,
    /// HTTP or RPC interfaces.
    Api,
    /// User interface.
    Frontend,
    /// Build, CI, deployment, containers.
    Infra,
    /// Tests and test tooling.
    Testing,
    /// Documentation.
    Docs,
    /// Security hardening.
    Security,
    /// Anything else.
    #[default]
    General,
}

/// How urgent a task is; breaks ties in scheduling after the critical path.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Do it when nothing else is waiting.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Prefer it over medium work of equal length.
    High,
    /// Prefer it over everything of equal length.
    Critical,
}

macro_rules! str_enum {
    ($ty:ident, $what:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The lowercase name used in plan files and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(format!(
                        concat!("unknown ", $what, " `{}`; expected one of: {}"),
                        s,
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

str_enum!(Category, "category", [
    Database => "database", Backend => "backend", Api => "api", Frontend => "frontend",
    Infra => "infra", Testing => "testing", Docs => "docs", Security => "security",
    General => "general",
]);
str_enum!(Priority, "priority", [
    Low => "low", Medium => "medium", High => "high", Critical => "critical",
]);

fn default_estimate() -> u32 {
    60
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// One unit of work for one agent in one worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique id, e.g. `TASK-BA-001`.
    pub id: TaskId,
    /// One-line summary.
    pub title: String,
    /// What to build, in prose.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The epic this task belongs to.
    pub epic: EpicId,
    /// Kind of work.
    #[serde(default, skip_serializing_if = "is_default")]
    pub category: Category,
    /// Tasks that must be `Completed` before this one may start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<TaskId>,
    /// Tasks that must never run at the same time as this one (symmetric).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts_with: Vec<TaskId>,
    /// Expected file scope: paths or globs relative to the repository root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Conditions the result must meet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptance: Vec<String>,
    /// Estimated effort in minutes of agent time (default 60); drives the critical path.
    #[serde(default = "default_estimate")]
    pub estimate_minutes: u32,
    /// Tie-breaker after the critical path.
    #[serde(default, skip_serializing_if = "is_default")]
    pub priority: Priority,
    /// Test and tooling changes this task may make that the quality gate otherwise fails
    /// (see [`TEST_ALLOWANCES`]): `delete_tests`, `skip_tests`, `edit_tests`,
    /// `suppressions`, `tool_config`, `test_config`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Whether a human reviews the diff before it is merged; `None`: the epic's setting,
    /// else `[run] review`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewMode>,
    /// Current status (plans usually start all `pending`).
    #[serde(default, skip_serializing_if = "is_pending")]
    pub status: TaskStatus,
    /// How many attempts have started so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
}

fn is_pending(status: &TaskStatus) -> bool {
    *status == TaskStatus::Pending
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a task may be allowed to change in the way the project is tested (its `allow`
/// list), each with what it permits. Without it the gate fails such changes.
pub const TEST_ALLOWANCES: &[(&str, &str)] = &[
    ("delete_tests", "delete test files or test functions"),
    ("skip_tests", "add skip, xfail or ignore markers to tests"),
    (
        "edit_tests",
        "change tests that existed before (they are otherwise also run as they were)",
    ),
    (
        "suppressions",
        "add inline suppressions (noqa, type: ignore, nosec, allow(...), eslint-disable, ...)",
    ),
    (
        "tool_config",
        "change lint, type-check or security tool settings",
    ),
    (
        "test_config",
        "change test-runner settings, conftest.py or coverage settings",
    ),
];

impl Task {
    /// A pending task with the given id, title and epic and every other field at its default.
    pub fn new(id: TaskId, title: impl Into<String>, epic: EpicId) -> Self {
        Task {
            id,
            title: title.into(),
            description: String::new(),
            epic,
            category: Category::default(),
            depends_on: Vec::new(),
            conflicts_with: Vec::new(),
            files: Vec::new(),
            acceptance: Vec::new(),
            allow: Vec::new(),
            estimate_minutes: default_estimate(),
            priority: Priority::default(),
            review: None,
            status: TaskStatus::Pending,
            attempts: 0,
        }
    }
}

/// A group of tasks with one goal and one integration branch (`orch/epic/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epic {
    /// Unique id, also the branch suffix.
    pub id: EpicId,
    /// Human name.
    pub name: String,
    /// What the epic achieves.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub goal: String,
    /// The planning strategy that produced it (`layer`, `phase`, `function`, `generic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Review before merge for the epic's tasks (a task's own setting wins); `None`:
    /// `[run] review`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewMode>,
}

/// Who lets verified work into its epic branch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewMode {
    /// The merge queue, as soon as the quality gate passed.
    #[default]
    Auto,
    /// A human approves the diff first (`orch review approve`); a rejection retries the
    /// task with the reviewer's note.
    Human,
}

impl ReviewMode {
    /// `auto` or `human`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewMode::Auto => "auto",
            ReviewMode::Human => "human",
        }
    }
}

/// A whole plan: epics and their tasks.
///
/// Task order in [`Plan::tasks`] is meaningful only as the final scheduling tie-breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// File format version; see [`PLAN_FORMAT_VERSION`].
    #[serde(default = "default_version")]
    pub version: u32,
    /// Name of the plan (usually the PRD title).
    pub name: String,
    /// The strategy used to split the PRD, and why, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Epics, in display order.
    #[serde(default, rename = "epic", alias = "epics")]
    pub epics: Vec<Epic>,
    /// Tasks, in display order.
    #[serde(default, rename = "task", alias = "tasks")]
    pub tasks: Vec<Task>,
}

fn default_version() -> u32 {
    PLAN_FORMAT_VERSION
}

/// The serialisation of a plan file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    /// JSON.
    Json,
    /// TOML (`[[epic]]` and `[[task]]` tables).
    Toml,
}

impl PlanFormat {
    /// Guesses the format from a file name's extension (`.json` or `.toml`).
    pub fn from_path(path: &std::path::Path) -> Option<PlanFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(PlanFormat::Json),
            "toml" => Some(PlanFormat::Toml),
            _ => None,
        }
    }
}

impl Plan {
    /// Parses a plan. The result is not validated yet: see [`Plan::validate`].
    pub fn parse(text: &str, format: PlanFormat) -> Result<Plan, PlanError> {
        let plan: Plan = match format {
            PlanFormat::Json => serde_json::from_str(text).map_err(|e| PlanError::Parse {
                format: "JSON",
                message: e.to_string(),
            })?,
            PlanFormat::Toml => toml::from_str(text).map_err(|e| PlanError::Parse {
                format: "TOML",
                message: e.to_string().trim_end().to_owned(),
            })?,
        };
        if plan.version != PLAN_FORMAT_VERSION {
            return Err(PlanError::UnsupportedVersion {
                found: plan.version,
                supported: PLAN_FORMAT_VERSION,
            });
        }
        Ok(plan)
    }

    /// Serialises the plan. `Plan::parse(&plan.render(f)?, f)` gives back an equal plan.
    pub fn render(&self, format: PlanFormat) -> Result<String, PlanError> {
        match format {
            PlanFormat::Json => serde_json::to_string_pretty(self).map_err(|e| PlanError::Parse {
                format: "JSON",
                message: e.to_string(),
            }),
            PlanFormat::Toml => toml::to_string(self).map_err(|e| PlanError::Parse {
                format: "TOML",
                message: e.to_string(),
            }),
        }
    }

    /// Checks every structural rule (unique ids, known epics and dependencies, no cycle) and
    /// returns the dependency graph on success.
    pub fn validate(&self) -> Result<DepGraph, PlanError> {
        DepGraph::build(self)
    }

    /// The task with this id.
    pub fn task(&self, id: &TaskId) -> Option<&Task> {
        self.tasks.iter().find(|t| &t.id == id)
    }

    /// Whether `task`'s verified work waits for a human: its own setting, else its epic's,
    /// else `default` (`[run] review`).
    pub fn review_mode(&self, task: &Task, default: ReviewMode) -> ReviewMode {
        task.review
            .or_else(|| {
                self.epics
                    .iter()
                    .find(|e| e.id == task.epic)
                    .and_then(|e| e.review)
            })
            .unwrap_or(default)
    }

    /// Tasks per epic, in plan order, keyed by epic id.
    pub fn tasks_by_epic(&self) -> BTreeMap<&EpicId, Vec<&Task>> {
        let mut map: BTreeMap<&EpicId, Vec<&Task>> = BTreeMap::new();
        for task in &self.tasks {
            map.entry(&task.epic).or_default().push(task);
        }
        map
    }

    /// A fingerprint of the plan's content, ignoring run state (status, attempts). Two plans
    /// with the same fingerprint describe the same work; the store uses it to make re-import
    /// idempotent.
    pub fn content_fingerprint(&self) -> String {
        self.fingerprint_from(&self.task_definitions())
    }

    /// Each task's definition as compact JSON: the task without its run state (status and
    /// attempts at their defaults). This is what the store keeps per task.
    pub fn task_definitions(&self) -> Vec<String> {
        self.tasks.iter().map(Task::definition_json).collect()
    }

    /// [`Plan::content_fingerprint`] from definitions already computed by
    /// [`Plan::task_definitions`], so callers that need both serialise each task once.
    pub fn fingerprint_from(&self, task_definitions: &[String]) -> String {
        let header =
            serde_json::to_string(&(self.version, &self.name, &self.strategy, &self.epics))
                .unwrap_or_default();
        let mut hash = Fnv1a::new();
        hash.write(header.as_bytes());
        for definition in task_definitions {
            hash.write(b"\n");
            hash.write(definition.as_bytes());
        }
        format!("{:016x}", hash.0)
    }

    /// Every task id, as a set.
    pub fn task_ids(&self) -> BTreeSet<&TaskId> {
        self.tasks.iter().map(|t| &t.id).collect()
    }
}

/// FNV-1a: small, stable across Rust versions and platforms (unlike `DefaultHasher`).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A task without its run state, borrowed: serialises exactly like a `Pending` task with no
/// attempts (the field list mirrors [`Task`]; a test keeps them in step).
#[derive(Serialize)]
struct TaskDefinition<'a> {
    id: &'a TaskId,
    title: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    epic: &'a EpicId,
    #[serde(skip_serializing_if = "is_default")]
    category: Category,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    depends_on: &'a [TaskId],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    conflicts_with: &'a [TaskId],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    files: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    acceptance: &'a [String],
    estimate_minutes: u32,
    #[serde(skip_serializing_if = "is_default")]
    priority: Priority,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    allow: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    review: Option<ReviewMode>,
}

impl Task {
    /// This task as compact JSON without its run state; parsing it gives back the task with
    /// status `pending` and no attempts.
    pub fn definition_json(&self) -> String {
        serde_json::to_string(&TaskDefinition {
            id: &self.id,
            title: &self.title,
            description: &self.description,
            epic: &self.epic,
            category: self.category,
            depends_on: &self.depends_on,
            conflicts_with: &self.conflicts_with,
            files: &self.files,
            acceptance: &self.acceptance,
            estimate_minutes: self.estimate_minutes,
            priority: self.priority,
            allow: &self.allow,
            review: self.review,
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Plan {
        let db = EpicId::new("DB").unwrap();
        let api = EpicId::new("API").unwrap();
        let mut schema = Task::new(TaskId::new("TASK-DB-001").unwrap(), "Schema", db.clone());
        schema.category = Category::Database;
        schema.files = vec!["migrations/".into()];
        schema.acceptance = vec!["migrations apply".into()];
        let mut users = Task::new(
            TaskId::new("TASK-API-001").unwrap(),
            "Users API",
            api.clone(),
        );
        users.depends_on = vec![schema.id.clone()];
        users.priority = Priority::High;
        users.status = TaskStatus::Running;
        users.attempts = 2;
        Plan {
            version: 1,
            name: "sample".into(),
            strategy: Some("layer".into()),
            epics: vec![
                Epic {
                    review: None,
                    id: db,
                    name: "Database".into(),
                    goal: "data".into(),
                    strategy: None,
                },
                Epic {
                    review: None,
                    id: api,
                    name: "API".into(),
                    goal: String::new(),
                    strategy: Some("layer".into()),
                },
            ],
            tasks: vec![schema, users],
        }
    }

    #[test]
    fn json_and_toml_round_trip_exactly() {
        let plan = sample();
        for format in [PlanFormat::Json, PlanFormat::Toml] {
            let text = plan.render(format).unwrap();
            assert_eq!(
                Plan::parse(&text, format).unwrap(),
                plan,
                "{format:?}:\n{text}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = Plan::parse(r#"{"name":"x","colour":"red"}"#, PlanFormat::Json).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn bad_ids_are_rejected_at_parse_time() {
        let toml = "name = \"x\"\n[[epic]]\nid = \"E\"\nname = \"e\"\n[[task]]\nid = \"../../x\"\ntitle = \"t\"\nepic = \"E\"\n";
        let err = Plan::parse(toml, PlanFormat::Toml).unwrap_err();
        assert!(err.to_string().contains("../../x"), "{err}");
    }

    #[test]
    fn fingerprint_ignores_run_state() {
        let a = sample();
        let mut b = sample();
        b.tasks[1].status = TaskStatus::Pending;
        b.tasks[1].attempts = 0;
        assert_eq!(a.content_fingerprint(), b.content_fingerprint());
        b.tasks[1].title.push('!');
        assert_ne!(a.content_fingerprint(), b.content_fingerprint());
    }

    #[test]
    fn definition_json_mirrors_task_serialisation() {
        let mut tasks = sample().tasks;
        // Every optional field set once: a field the definition forgot would be lost on
        // import (allowances once were).
        tasks[0].allow = vec!["edit_tests".into()];
        tasks[0].review = Some(ReviewMode::Human);
        for task in tasks {
            let mut pending = task.clone();
            pending.status = TaskStatus::Pending;
            pending.attempts = 0;
            assert_eq!(
                task.definition_json(),
                serde_json::to_string(&pending).unwrap()
            );
            let back: Task = serde_json::from_str(&task.definition_json()).unwrap();
            assert_eq!(back, pending);
        }
    }

    #[test]
    fn future_versions_are_refused() {
        let err = Plan::parse(r#"{"version":9,"name":"x"}"#, PlanFormat::Json).unwrap_err();
        assert_eq!(
            err.to_string(),
            "plan format version 9 is not supported (this orch reads version 1)"
        );
    }
}
