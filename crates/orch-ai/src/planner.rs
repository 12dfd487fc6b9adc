//! The offline planner: PRD sections become epics, list items become tasks, and the
//! dependency analysis in [`crate::deps`] links them. Deterministic: the same PRD and
//! strategy always give the same plan.

use std::collections::{BTreeMap, HashMap};

use orch_core::{Category, Epic, EpicId, Plan, Task, TaskId, slugify};
use serde::Serialize;

use crate::classify::{category_of, estimate_of};
use crate::deps::{Edge, Request, analyse};
use crate::evidence::Provides;
use crate::prd::{Prd, SectionRole};
use crate::repo_map::RepoMap;
use crate::roles::is_container_heading;
use crate::scope::{Conflict, ScopeRequest, conflicts, predict_scope};
use crate::strategy::{Strategy, detect, is_layer_heading, is_phase_heading, is_role_heading};
use crate::text::{code_spans, domain_tokens, title_of, tokens};

/// How a plan came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanSource {
    /// The offline heuristic planner, by choice.
    Heuristic,
    /// A language model; its plan passed validation.
    Model {
        /// Provider and model, e.g. `anthropic/claude-sonnet-4-5`.
        model: String,
        /// Whether the first answer needed the repair round.
        repaired: bool,
    },
    /// A model was asked but its plans were invalid twice (or it failed); the heuristic plan
    /// was used instead.
    Fallback {
        /// Provider and model.
        model: String,
        /// Why the model's plan was not used.
        errors: Vec<String>,
    },
}

/// A plan with the reasons behind it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanOutcome {
    /// The validated plan.
    pub plan: Plan,
    /// The strategy actually used (never `auto`).
    pub strategy: Strategy,
    /// Why that strategy.
    pub strategy_reason: String,
    /// Every dependency edge with its reason.
    pub edges: Vec<Edge>,
    /// Every predicted conflict with the overlapping files.
    pub conflicts: Vec<Conflict>,
    /// Heuristic, model, or fallback.
    pub source: PlanSource,
    /// Things the planner chose to leave out, e.g. an edge that would have closed a cycle.
    pub notes: Vec<String>,
    /// What each task provides (its name, head nouns, terms): the evidence index behind
    /// the `reference` edges. Empty for a model's plan.
    pub provides: Vec<TaskProvides>,
}

/// One task's entry in [`PlanOutcome::provides`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskProvides {
    /// The task.
    pub task: TaskId,
    /// What it provides.
    #[serde(flatten)]
    pub provides: Provides,
}

/// One requirement on its way to becoming a task.
struct Draft {
    text: String,
    label: Option<String>,
    category: Category,
    group: usize,
    /// Index of its PRD work section.
    section: usize,
}

/// Plans a PRD offline, for a repository whose layout is not known (conventional scopes).
pub fn plan_heuristic(prd: &Prd, strategy: Strategy) -> PlanOutcome {
    plan_heuristic_in(prd, strategy, &RepoMap::empty())
}

/// Plans a PRD offline for the repository `repo` describes: file scopes follow its layout
/// and existing modules.
pub fn plan_heuristic_in(prd: &Prd, strategy: Strategy, repo: &RepoMap) -> PlanOutcome {
    let (strategy, strategy_reason) = match strategy {
        Strategy::Auto => detect(prd),
        chosen => (chosen, format!("chosen explicitly (--strategy {chosen})")),
    };
    let (groups, drafts) = group(prd, strategy);
    let goals = prd.items_with_role(SectionRole::Goals);
    let constraints = prd.items_with_role(SectionRole::Constraints);

    let mut epics = Vec::new();
    let mut codes = CodeBook::default();
    let mut tasks: Vec<Task> = Vec::new();
    let mut task_group = Vec::new();
    let mut task_meta: Vec<(Option<&str>, usize)> = Vec::new();
    for (index, g) in groups.iter().enumerate() {
        let members: Vec<&Draft> = drafts.iter().filter(|d| d.group == index).collect();
        if members.is_empty() {
            continue;
        }
        let epic_id = codes.epic_id(&g.name);
        let code = codes.task_code(&g.name);
        epics.push(Epic {
            review: None,
            id: epic_id.clone(),
            name: g.name.clone(),
            goal: g.goal.clone(),
            strategy: Some(strategy.as_str().into()),
        });
        for (n, draft) in members.iter().enumerate() {
            let id =
                TaskId::new(format!("TASK-{code}-{:03}", n + 1)).expect("generated ids are safe");
            let mut task = Task::new(id, title_of(&draft.text), epic_id.clone());
            task.description = draft.text.clone();
            task.category = draft.category;
            task.acceptance = acceptance(&draft.text, draft.category, &goals, &constraints);
            task.estimate_minutes = estimate_of(draft.category, &draft.text);
            tasks.push(task);
            task_group.push(index);
            task_meta.push((draft.label.as_deref(), draft.section));
        }
    }

    let texts: Vec<&str> = tasks.iter().map(|t| t.description.as_str()).collect();
    let gates = if strategy == Strategy::Phase {
        task_group.clone()
    } else {
        Vec::new()
    };
    let labels: Vec<Option<&str>> = task_meta.iter().map(|(l, _)| *l).collect();
    let sections: Vec<usize> = task_meta.iter().map(|(_, s)| *s).collect();
    let section_headings: Vec<String> = prd.work_sections().map(|s| s.heading.clone()).collect();
    let overview = overview_of(prd);
    let analysis = analyse(&Request {
        tasks: &tasks,
        texts: &texts,
        labels: &labels,
        sections: &sections,
        section_headings: &section_headings,
        phase_of: &gates,
        epics: &epics,
        overview: &overview,
        constraints: &constraints,
    });
    let index: HashMap<TaskId, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.clone(), i))
        .collect();
    for (task, provides) in tasks.iter_mut().zip(&analysis.provides) {
        task.files = predict_scope(
            &ScopeRequest {
                name: &provides.name,
                heads: &provides.heads,
                text: &task.description,
                category: task.category,
            },
            repo,
        );
    }
    for edge in &analysis.edges {
        let task = &mut tasks[index[&edge.task]];
        if !task.depends_on.contains(&edge.depends_on) {
            task.depends_on.push(edge.depends_on.clone());
        }
    }
    // Overlapping file scopes are reported, not copied into `conflicts_with`: the scheduler
    // derives them from `files` itself.
    let conflicts = conflicts(&tasks);

    let plan = Plan {
        version: orch_core::PLAN_FORMAT_VERSION,
        name: prd.title.clone(),
        strategy: Some(strategy.as_str().into()),
        epics,
        tasks,
    };
    debug_assert!(plan.validate().is_ok(), "{:?}", plan.validate().err());
    let provides: Vec<TaskProvides> = plan
        .tasks
        .iter()
        .zip(analysis.provides)
        .map(|(t, provides)| TaskProvides {
            task: t.id.clone(),
            provides,
        })
        .collect();
    PlanOutcome {
        plan,
        strategy,
        strategy_reason,
        edges: analysis.edges,
        conflicts,
        source: PlanSource::Heuristic,
        notes: analysis.notes,
        provides,
    }
}

/// An epic in the making.
struct Group {
    name: String,
    goal: String,
}

/// Splits the PRD's requirements into epics. Phase and function plans keep the PRD's own
/// sections; layer and generic plans keep them when the headings already name layers or
/// roles, and otherwise regroup the requirements by category.
fn group(prd: &Prd, strategy: Strategy) -> (Vec<Group>, Vec<Draft>) {
    let sections: Vec<_> = prd.work_sections().collect();
    let headings_fit = match strategy {
        Strategy::Layer => {
            sections
                .iter()
                .filter(|s| is_layer_heading(&s.heading))
                .count()
                >= 2
        }
        Strategy::Generic => {
            sections
                .iter()
                .filter(|s| is_role_heading(&s.heading))
                .count()
                >= 2
        }
        _ => true,
    };
    if headings_fit {
        let mut groups = Vec::new();
        let mut drafts = Vec::new();
        for (index, section) in sections.iter().enumerate() {
            // `## Billing` / `### Requirements`: the epic is Billing, and Billing's
            // introduction says what it is for.
            let parent = section
                .parent
                .as_ref()
                .filter(|_| is_container_heading(&section.heading))
                .and_then(|p| prd.sections.iter().find(|s| &s.heading == p));
            let name = display_heading(parent.map_or(&section.heading, |p| &p.heading));
            let intro = match parent {
                Some(p) if section.intro.is_empty() => p.intro.clone(),
                _ => section.intro.clone(),
            };
            let goal = if intro.is_empty() {
                goal_from_items(
                    &name,
                    &section.texts().map(str::to_owned).collect::<Vec<_>>(),
                )
            } else {
                intro.clone()
            };
            groups.push(Group { name, goal });
            for item in &section.items {
                drafts.push(Draft {
                    text: item.text.clone(),
                    label: item.label.clone(),
                    category: category_of(&item.text),
                    group: index,
                    section: index,
                });
            }
        }
        return (groups, drafts);
    }
    let buckets: &[(&str, &[Category])] = match strategy {
        Strategy::Layer => &[
            ("Data layer", &[Category::Database]),
            (
                "Core logic",
                &[Category::Backend, Category::Security, Category::General],
            ),
            ("API layer", &[Category::Api]),
            ("Frontend", &[Category::Frontend]),
            ("Infrastructure", &[Category::Infra]),
            ("Testing", &[Category::Testing]),
            ("Documentation", &[Category::Docs]),
        ],
        _ => &[
            (
                "Backend",
                &[
                    Category::Database,
                    Category::Backend,
                    Category::Api,
                    Category::Security,
                    Category::General,
                ],
            ),
            ("Frontend", &[Category::Frontend]),
            ("DevOps", &[Category::Infra]),
            ("QA", &[Category::Testing, Category::Docs]),
        ],
    };
    let mut items: Vec<(&crate::prd::Requirement, Category, usize)> = Vec::new();
    for (index, section) in sections.iter().enumerate() {
        for item in &section.items {
            items.push((item, category_of(&item.text), index));
        }
    }
    let mut groups = Vec::new();
    let mut drafts = Vec::new();
    for (name, categories) in buckets {
        let members: Vec<&(&crate::prd::Requirement, Category, usize)> = items
            .iter()
            .filter(|(_, c, _)| categories.contains(c))
            .collect();
        if members.is_empty() {
            continue;
        }
        let index = groups.len();
        let items_text: Vec<String> = members.iter().map(|(r, _, _)| r.text.clone()).collect();
        groups.push(Group {
            name: (*name).into(),
            goal: goal_from_items(name, &items_text),
        });
        for (item, category, section) in members {
            drafts.push(Draft {
                text: item.text.clone(),
                label: item.label.clone(),
                category: *category,
                group: index,
                section: *section,
            });
        }
    }
    (groups, drafts)
}

fn display_heading(heading: &str) -> String {
    heading.trim().trim_end_matches(':').to_owned()
}

fn goal_from_items(name: &str, items: &[String]) -> String {
    let titles: Vec<String> = items
        .iter()
        .take(3)
        .map(|i| title_of(i).to_lowercase())
        .collect();
    let more = if items.len() > 3 {
        format!(" and {} more", items.len() - 3)
    } else {
        String::new()
    };
    format!("{name}: {}{more}.", titles.join("; "))
}

/// The PRD's own vocabulary: its preamble and the prose of its context sections (overview,
/// background). Words from here describe the product, not one task.
fn overview_of(prd: &Prd) -> String {
    let mut out = prd.preamble.clone();
    for section in prd
        .sections
        .iter()
        .filter(|s| s.role == SectionRole::Context)
    {
        if section.items.is_empty() {
            out.push('\n');
            out.push_str(&section.intro);
        }
    }
    out
}

/// Acceptance criteria a reviewer (and the quality gate) can check: each endpoint, each
/// stated limit or number, each "every"/"only"/"never" rule of the requirement, the goals
/// and constraints it touches, and what the kind of work needs.
fn acceptance(item: &str, category: Category, goals: &[&str], constraints: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for span in code_spans(item) {
        let endpoint = span.starts_with('/')
            || ["GET ", "POST ", "PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| span.starts_with(m));
        out.push(if endpoint {
            format!("`{span}` answers as specified, including its error cases, and a test calls it")
        } else {
            format!("`{span}` exists and works as the requirement says; a test exercises it")
        });
    }
    for clause in checkable_clauses(item) {
        out.push(format!("Checked by a test: {clause}"));
    }
    if out.is_empty() {
        out.push(format!(
            "Does what the PRD asks: {}",
            crate::text::title_of(item).trim_end_matches('.')
        ));
    }
    let mine = tokens(item);
    let related = |line: &&&str| tokens(line).intersection(&mine).count() >= 2;
    for goal in goals.iter().filter(related) {
        out.push(format!(
            "Contributes to the success criterion: {}",
            goal.trim_end_matches('.')
        ));
    }
    // Constraints bind every task they touch: one shared domain word is enough.
    let my_domain = domain_tokens(item);
    for rule in constraints
        .iter()
        .filter(|c| !domain_tokens(c).is_disjoint(&my_domain))
    {
        out.push(format!(
            "Respects the constraint: {}",
            rule.trim_end_matches('.')
        ));
    }
    out.push(
        match category {
            Category::Testing => "The new tests run in the project's test command and pass",
            Category::Docs => "The documentation matches the code and builds without warnings",
            Category::Infra => "Works from a clean checkout with no manual steps, and the README says how to use it",
            Category::Frontend => "The UI behaviour is covered by automated tests that pass",
            _ => "Covered by automated tests that pass; no lint or type errors",
        }
        .to_owned(),
    );
    out
}

/// The clauses of a requirement a test can check: those with a number (`5 failures per
/// account per 15 minutes`, `within 1.5 s`, `kept for 30 days`) or a rule word (`every`,
/// `only`, `never`, `must`, `no`, 〜以内, 〜のみ, 必ず).
fn checkable_clauses(text: &str) -> Vec<String> {
    let clean = text.replace('`', "");
    let mut out = Vec::new();
    let clauses: Vec<&str> = crate::prd::sentences(&clean)
        .into_iter()
        .flat_map(|s| s.split([';', '；', '(', ')', '（', '）']))
        .map(|c| c.trim().trim_end_matches(['.', '。']))
        .collect();
    for clause in clauses {
        let clause = clause.trim().trim_matches(',').trim();
        if clause.len() < 8 || out.len() >= 5 {
            continue;
        }
        let lower = clause.to_lowercase();
        // A number of its own (`15 minutes`, `1.5 s`, `p95`), not one inside a name (`Argon2id`).
        let numbered = clause.split_whitespace().any(|w| {
            w.starts_with(|c: char| c.is_ascii_digit()) || {
                let mut chars = w.chars();
                matches!(chars.next(), Some('p' | '€' | '$' | '£'))
                    && chars.next().is_some_and(|c| c.is_ascii_digit())
            }
        }) || clause.chars().any(|c| c.is_ascii_digit()) && !clause.is_ascii();
        let rule = [
            " every ",
            " only ",
            " never ",
            " must ",
            " no ",
            " at most ",
            " at least ",
            " within ",
            " when ",
            " unless ",
            " if ",
        ]
        .iter()
        .any(|w| format!(" {lower} ").contains(w))
            || ["以内", "のみ", "必ず", "だけ", "以上", "以下"]
                .iter()
                .any(|w| clause.contains(w));
        if numbered || rule {
            let lowered = match clause.chars().next() {
                Some(c)
                    if c.is_uppercase()
                        && clause.chars().nth(1).is_some_and(char::is_lowercase) =>
                {
                    c.to_lowercase().chain(clause.chars().skip(1)).collect()
                }
                _ => clause.to_owned(),
            };
            out.push(lowered);
        }
    }
    out
}

/// Epic ids and task-id codes, unique within one plan.
#[derive(Default)]
struct CodeBook {
    epic_ids: BTreeMap<String, usize>,
    codes: BTreeMap<String, usize>,
}

impl CodeBook {
    fn epic_id(&mut self, name: &str) -> EpicId {
        let base = slugify(name, 40).unwrap_or_else(|| "epic".into());
        let n = self.epic_ids.entry(base.clone()).or_insert(0);
        *n += 1;
        let id = if *n == 1 { base } else { format!("{base}-{n}") };
        EpicId::new(id).expect("slugs are safe ids")
    }

    fn task_code(&mut self, name: &str) -> String {
        let base = code_of(name);
        let n = self.codes.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { base } else { format!("{base}{n}") }
    }
}

/// A short upper-case code: `Phase 2: Beta` → `P2`, `Layer 0: LLM analysis` → `L0`,
/// `Backend` → `BE`, `User management` → `UM`, `Payments` → `PAYM`.
pub(crate) fn code_of(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if is_phase_heading(name) || is_layer_heading(name) {
        let digits: String = lower
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        let letter = lower.chars().next().unwrap_or('x').to_ascii_uppercase();
        return format!("{letter}{digits}");
    }
    for (word, code) in [
        ("backend", "BE"),
        ("frontend", "FE"),
        ("devops", "OPS"),
        ("qa", "QA"),
        ("infrastructure", "INF"),
        ("documentation", "DOC"),
        ("testing", "TEST"),
        ("data layer", "DB"),
        ("api layer", "API"),
        ("core logic", "CORE"),
    ] {
        if lower == word {
            return code.into();
        }
    }
    let words: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let code: String = if words.len() >= 2 {
        words
            .iter()
            .take(4)
            .filter_map(|w| w.chars().next())
            .collect()
    } else {
        words
            .first()
            .map(|w| w.chars().take(4).collect())
            .unwrap_or_default()
    };
    let code = code.to_ascii_uppercase();
    if code.is_empty() { "GEN".into() } else { code }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(code_of("Phase 2: Beta"), "P2");
        assert_eq!(code_of("Layer 0: LLM analysis"), "L0");
        assert_eq!(code_of("Backend"), "BE");
        assert_eq!(code_of("User management"), "UM");
        assert_eq!(code_of("Payments"), "PAYM");
        assert_eq!(code_of("—"), "GEN");
    }

    #[test]
    fn small_prd_plans_and_validates() {
        let prd = Prd::parse(
            "# Shop\n## Catalogue\n- Product schema with migrations.\n- REST API `GET /products` for the product list.\n- Product list page; needs `GET /products`.\n## Checkout\n- Cart stored per session.\n",
        )
        .unwrap();
        let outcome = plan_heuristic(&prd, Strategy::Auto);
        assert_eq!(outcome.strategy, Strategy::Function);
        outcome.plan.validate().unwrap();
        let ids: Vec<&str> = outcome.plan.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "TASK-CATA-001",
                "TASK-CATA-002",
                "TASK-CATA-003",
                "TASK-CHEC-001"
            ]
        );
        let page = &outcome.plan.tasks[2];
        assert!(
            page.depends_on
                .iter()
                .any(|d| d.as_str() == "TASK-CATA-002"),
            "{page:?}"
        );
        assert!(outcome.plan.tasks.iter().all(|t| !t.acceptance.is_empty()));
    }
}
