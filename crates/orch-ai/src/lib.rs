//! PRD planning for orch: a product requirements document in, a plan the scheduler can trust
//! out.
//!
//! Offline by default: [`plan_heuristic`] turns headings into epics and list items into
//! tasks, finds dependencies (explicit "depends on …" phrases, then ordering rules: schema
//! before the API that uses it, API before the UI, tests after what they test, CI after the
//! build), predicts file scopes and the conflicts between them, and records a reason for
//! every edge. With a [`LanguageModel`] configured, [`plan_prd`] asks it for JSON, validates
//! it, allows one repair round, and otherwise falls back to the heuristic plan and says so.
//!
//! ```
//! use orch_ai::{Prd, Strategy, plan_heuristic};
//!
//! let prd = Prd::parse(
//!     "# Shop\n## Phase 1: MVP\n- Product schema with migrations\n- Product list page\n\
//!      ## Phase 2: Growth\n- Discount codes at checkout\n",
//! )?;
//! let outcome = plan_heuristic(&prd, Strategy::Auto);
//! assert_eq!(outcome.strategy, Strategy::Phase);
//! assert_eq!(outcome.plan.tasks[2].id.as_str(), "TASK-P2-001");
//! // Phase 2 waits for phase 1: the edge says why.
//! assert!(outcome.edges.iter().any(|e| e.reason.starts_with("phase gate")));
//! # Ok::<(), orch_ai::PrdError>(())
//! ```
//!
//! Also here: the model clients ([`AnthropicClient`], [`OpenAiClient`], [`ClaudeCliClient`]),
//! task instructions ([`write_instructions`]), Claude Code sub-agent files
//! ([`compose_agents`]), clarifying questions ([`prd_questions`]) and a bounded log of model
//! decisions ([`DecisionLog`]).
//!
//! # Features
//!
//! - `http` (default): [`AnthropicClient`] and [`OpenAiClient`], on reqwest with rustls.
//!   Without it (`default-features = false`) PRD parsing, the planner, dependencies, scopes,
//!   instructions, questions, the decision log, [`ScriptedModel`] and [`ClaudeCliClient`]
//!   build with no network stack, and [`ModelSettings::build`] answers
//!   [`ModelError::Unavailable`] for the HTTP providers.

mod agents;
mod classify;
mod decision_log;
mod deps;
mod encoding;
mod evidence;
mod graph;
mod instructions;
mod lexicon;
mod markdown;
mod model;
mod model_planner;
mod planner;
mod prd;
mod questions;
mod repo_map;
mod roles;
mod scope;
mod strategy;
mod text;

pub use agents::{AgentDefinition, compose_agents, write_agents};
pub use classify::{category_of, estimate_of};
pub use decision_log::{DecisionLog, LogLimits};
pub use deps::{Edge, EdgeKind};
pub use evidence::Provides;
pub use instructions::{Delivered, InstructionContext, OutOfScope, write_instructions};
pub use markdown::{Block, TableRow, parse as parse_markdown};
#[cfg(feature = "http")]
pub use model::{AnthropicClient, OpenAiClient};
pub use model::{
    BoxFuture, ClaudeCliClient, LanguageModel, ModelError, ModelReply, ModelRequest, ModelSettings,
    Provider, RetryPolicy, ScriptedModel,
};
pub use model_planner::{
    DEFAULT_BUDGET, PLAN_SCHEMA, PlanOptions, plan_prd, plan_with, uncovered_requirements,
    validate_model_plan,
};
pub use planner::{PlanOutcome, PlanSource, TaskProvides, plan_heuristic, plan_heuristic_in};
pub use prd::{MAX_PRD_BYTES, Prd, PrdError, Requirement, RequirementForm, Section, SectionRole};
pub use questions::{Question, heuristic_questions, prd_questions};
pub use repo_map::{Conventions, MAX_PATHS, Module, RepoMap};
pub use roles::role_of;
pub use scope::{Conflict, ScopeRequest, predict_files, predict_scope};
pub use strategy::{Strategy, detect as detect_strategy};
