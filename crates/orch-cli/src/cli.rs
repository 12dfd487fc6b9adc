//! Command-line definitions.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Run many AI coding agents on one codebase without chaos: a plan of tasks with
/// dependencies, one git worktree per task, a bounded session pool, a quality gate the
/// orchestrator runs itself, a merge queue, and questions to a human when things fail.
#[derive(Debug, Parser)]
#[command(name = "orch", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 not a git repository, \
4 not initialised / no plan, 5 invalid input, 6 illegal transition, 7 not found, 8 conflict, \
9 lease held, 10 store error."
)]
pub struct Cli {
    /// Run as if orch was started in this directory.
    #[arg(short = 'C', long = "repo", global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// More log lines on stderr: -v info, -vv debug, -vvv trace, for orch's own crates
    /// (default: warnings). RUST_LOG, when set, decides instead.
    #[arg(short = 'v', long = "verbose", global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors in the log lines on stderr, no warnings (RUST_LOG, when set, decides
    /// instead).
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create .orch/ (configuration and state database) in this repository; with --claude,
    /// also set it up for Claude Code.
    Init(InitArgs),
    /// Plan a PRD into epics and tasks (`orch plan PRD.md`), or import and inspect a plan.
    Plan(PlanArgs),
    /// Clarifying questions about a PRD: missing success criteria, unclear scope, bare numbers.
    Questions(QuestionsArgs),
    /// Show progress: current wave, counts, and one row per task.
    Status(StatusArgs),
    /// Show the dependency graph.
    Graph(GraphArgs),
    /// Inspect or change one task.
    #[command(subcommand)]
    Task(TaskCommand),
    /// List, watch, attach to or stop agent sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// PM messages: questions orch asks a human when a task keeps failing.
    #[command(subcommand)]
    Msg(MsgCommand),
    /// Task worktrees: one git worktree and branch per task.
    #[command(subcommand)]
    Worktree(WorktreeCommand),
    /// Review verified work before it is merged (`[run] review = "human"`): list, show the
    /// diff and gate report, approve (merge) or reject (retry with your note).
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Check git, tmux, the agent CLIs, API keys (never printed) and orch's files.
    Doctor(JsonFlag),
    /// Run the 8-dimension quality gate on a directory (default: the current one).
    Quality(QualityArgs),
    /// The quality gate and integrity checks on the working tree against its base (exit 2
    /// with the findings on stderr when it fails): for Claude Code hooks and CI.
    Verify(VerifyArgs),
    /// Run the plan: each ready task in its own worktree with an agent, verified by the
    /// quality gate, merged through a queue; failures retried, then escalated.
    Run(RunArgs),
    /// Stop the run in progress (detached, or in another terminal): running tasks finish and
    /// no new ones start; --now stops them at once.
    Stop(StopArgs),
    /// Stop starting new attempts (running ones go on) until `orch resume`: the running
    /// `orch run` (or the next) follows within a tick.
    Pause,
    /// Start attempts again after `orch pause` (or a chat's `pause`).
    Resume,
    /// Remote control from Slack, Discord and LINE: answer questions and steer runs from a
    /// phone (`[remote]` in orch.toml; secrets from the environment).
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// MCP server on stdin/stdout for Claude Code and other MCP clients; register it with
    /// `orch init --claude` or `claude mcp add orch -- orch mcp`.
    Mcp,
    /// The live web dashboard on http://127.0.0.1:8765: progress, tasks, the dependency
    /// graph, logs, and PM messages to answer from the browser.
    Dashboard(DashboardArgs),
    /// The whole flow offline on a sample project: plan, parallel agents (replayed), the real
    /// quality gate, a retry, an escalation answered, merges, and a final report.
    Demo(DemoArgs),
    /// The replay agent `orch demo` runs (prints Claude Code stream-json).
    #[command(hide = true)]
    ReplayAgent(ReplayAgentArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell (the
    /// README says where to put it).
    Completions(CompletionsArgs),
    /// Print orch's man page (roff), or write one page per command into a directory with
    /// --dir.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write orch.1 and an orch-COMMAND.1 page per command into this directory (created if
    /// missing) instead of printing orch.1, e.g. ~/.local/share/man/man1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Agent sessions at once (default: `[run] parallel`, 3).
    #[arg(long, short = 'p', value_name = "N")]
    pub parallel: Option<u32>,
    /// Agent: claude, codex, gemini, aider, or custom (`[run] agent_command`).
    #[arg(long, value_name = "NAME")]
    pub agent: Option<String>,
    /// Where sessions run: auto, tmux or process (default: `[run] backend`).
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<String>,
    /// Skip the quality gate (only "changed something" is verified).
    #[arg(long)]
    pub no_gate: bool,
    /// End the run when only questions to a human remain, instead of waiting for answers.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the final report as JSON (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Serve the live dashboard beside the run (loopback; the URL with its token is printed).
    #[arg(long)]
    pub dashboard: bool,
    /// Port of that dashboard (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = orch_dashboard::DEFAULT_PORT, requires = "dashboard")]
    pub dashboard_port: u16,
    /// Spending limit of the plan's agents in US dollars (over `[budget] run_usd`): no
    /// attempt starts past it, and a question asks whether to raise it.
    #[arg(long, value_name = "USD", value_parser = parse_usd)]
    pub max_cost: Option<f64>,
    /// Run in the background (output to .orch/logs/run-TIME.log) and return once it has
    /// started; `orch status` follows it, `orch stop` stops it.
    #[arg(long)]
    pub detach: bool,
}

/// A positive amount of US dollars (`5`, `2.50`, `$3`).
fn parse_usd(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .trim_start_matches('$')
        .parse()
        .map_err(|_| format!("`{text}` is not an amount of US dollars (e.g. 5 or 2.50)"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!("`{text}`: the limit must be more than 0"))
    }
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Serve the signed endpoints of the platforms configured in `[remote]`
    /// (/slack/commands, /slack/interactions, /discord/interactions, /line/webhook).
    Serve(RemoteServeArgs),
}

#[derive(Debug, Args)]
pub struct RemoteServeArgs {
    /// Port (default `[remote] port`, 8766; 0 picks a free one).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Address (default `[remote] bind`, loopback: reach it through a tunnel).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::IpAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Tasks waiting for a review (every review with --all).
    List {
        /// Include decided reviews.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One task's verified work: the diff stat, the full diff (through the pager on a
    /// terminal), the quality gate's report and the agent's summary.
    Show {
        /// Task id.
        task: String,
        /// Only the diff stat, not the diff.
        #[arg(long)]
        stat: bool,
        /// Print JSON (the diff included).
        #[arg(long)]
        json: bool,
    },
    /// Approve: the reviewed commit is merged by the running (or next) `orch run`.
    Approve {
        /// Task id.
        task: String,
        /// A note for the record.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reject: the task runs again with your note as feedback.
    Reject {
        /// Task id.
        task: String,
        /// What the next attempt must change (required).
        #[arg(long, value_name = "TEXT")]
        note: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Stop running agent sessions at once instead of letting them finish.
    #[arg(long)]
    pub now: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = orch_dashboard::DEFAULT_PORT)]
    pub port: u16,
    /// Address to listen on. Anything but loopback needs --token, and then every request
    /// needs it.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// The token that allows answering (default: a new random one each start). At least 16
    /// letters, digits or - _ . ~
    #[arg(
        long,
        env = "ORCH_DASHBOARD_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Also answer to this Host name (a LAN name, a reverse proxy). Repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Create the sample project here (an empty or new directory) and keep it.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the temporary project to look at afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Serve the live dashboard beside the demo; its "human" then waits 30 s before
    /// answering, so that you can answer from the page.
    #[arg(long)]
    pub dashboard: bool,
    /// Port of that dashboard (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = orch_dashboard::DEFAULT_PORT, requires = "dashboard")]
    pub dashboard_port: u16,
    /// Agent sessions at once.
    #[arg(long, short = 'p', value_name = "N", default_value_t = 3)]
    pub parallel: u32,
    /// Where sessions run: auto, tmux or process.
    #[arg(long, value_name = "BACKEND", default_value = "auto")]
    pub backend: String,
    /// Print the final report as JSON (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReplayAgentArgs {
    /// The replay script (JSON).
    #[arg(long, value_name = "FILE")]
    pub script: PathBuf,
    /// The task's instruction file (read by real agents; the replay agent follows its script).
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// The session id to report.
    #[arg(long, value_name = "ID", default_value = "replay")]
    pub session_id: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also set the project up for Claude Code: the orch MCP server (.mcp.json), hooks that
    /// run `orch verify --hook` when a session stops or a team task completes
    /// (.claude/settings.json), and /orch-* slash commands (.claude/commands/orch-*.md).
    /// Existing files are merged or left alone, never overwritten.
    #[arg(long)]
    pub claude: bool,
    /// Write the same setup as a Claude Code plugin into DIR (.claude-plugin/plugin.json,
    /// commands/, hooks/hooks.json, .mcp.json), for `claude --plugin-dir DIR` or a
    /// marketplace; files there are never overwritten either.
    #[arg(long, value_name = "DIR")]
    pub claude_plugin: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Compare with this branch, tag or commit (default: the merge-base with the branch's
    /// upstream, else with main or master, else HEAD).
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Print the verdict and the full report as JSON (findings still go to stderr on failure).
    #[arg(long, conflicts_with = "hook")]
    pub json: bool,
    /// Run as a Claude Code hook: read the hook input on stdin (its cwd, stop_hook_active);
    /// after 3 blocks in a row let Claude stop, with a warning.
    #[arg(long)]
    pub hook: bool,
    /// Only these gate dimensions (comma-separated); integrity against the base is always
    /// checked.
    #[arg(long, value_name = "DIMS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Evaluate even if this tree was evaluated before.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct QualityArgs {
    /// The project to check (a task worktree, or any directory).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only these dimensions (comma-separated): syntax, types, lint, security, tests,
    /// performance, documentation, integration.
    #[arg(long, value_name = "DIMS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Diff-aware: lint and documentation only on files changed since this git ref.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Evaluate even if this tree was evaluated before.
    #[arg(long)]
    pub no_cache: bool,
    /// The task the tree belongs to (recorded in the report).
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WorktreeCommand {
    /// List task worktrees: base and head, dirty or clean, ahead/behind, changed files.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create (or reuse) the worktree and branch orch/task/TASK from its epic's tip.
    Create {
        /// Task id.
        task: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a task's worktree (refused when it has uncommitted changes, unless --force).
    Remove {
        /// Task id.
        task: String,
        /// Remove even with uncommitted changes (they are lost).
        #[arg(long)]
        force: bool,
        /// Delete the task branch too.
        #[arg(long)]
        delete_branch: bool,
    },
    /// Remove stale worktrees: vanished directories, unknown directories, tasks not in the plan.
    Prune {
        /// Only show what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Predict merge conflicts between two branches, tasks or epics, without touching any
    /// checkout (exit 8 when they conflict).
    Conflicts {
        /// First side: task id, epic id, branch or revision.
        a: String,
        /// Second side.
        b: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MsgCommand {
    /// List messages waiting for an answer (all of them with --all).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Include answered, expired and suppressed messages.
        #[arg(long)]
        all: bool,
    },
    /// Show one message: the question, its context and the options with pros and cons.
    Show {
        /// Message id: PM-0001, pm-1 or 1.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Answer a message with one of its options; the running orch applies it.
    Answer {
        /// Message id.
        id: String,
        /// The option letter (A, B, C…).
        option: String,
        /// A note for the record (and for the agent, where the option retries).
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List the sessions of this repository with their status.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a session's log (by session id, id prefix, name, or task id for its latest).
    Logs {
        /// Session id, prefix (4+ characters), name, or task id.
        query: String,
        /// Keep printing new output until the session ends.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Attach this terminal to a tmux session to watch the agent live.
    Attach {
        /// Session id, prefix, name, or task id.
        query: String,
    },
    /// Stop a session: interrupt, then terminate, then kill its whole process group.
    Kill {
        /// Session id, prefix, name, or task id.
        query: String,
    },
}

/// `orch plan PRD.md [options]` or `orch plan import|show`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: Option<PlanCommand>,
    /// The PRD (markdown) to plan.
    #[arg(value_name = "PRD.md", required = true)]
    pub prd: Option<PathBuf>,
    /// How to cut the PRD into epics.
    #[arg(long, default_value = "auto", value_parser = ["auto", "layer", "phase", "function", "generic"])]
    pub strategy: String,
    #[command(flatten)]
    pub model: ModelFlags,
    /// Print the plan and its reasons without storing it.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace a different plan that is already stored (only while none of its tasks has started).
    #[arg(long)]
    pub replace: bool,
    /// Also write the plan to this file (`.toml` or `.json`) for review and editing.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write Claude Code sub-agents, one per epic, to `.claude/agents/`, for working on
    /// the plan with Claude Code by hand. `orch run` does not read them: each task's
    /// instruction file carries what its agent needs.
    #[arg(long)]
    pub agents: bool,
    /// Print the outcome (plan, strategy, reasons) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which model plans, overriding `[ai]` in `orch.toml`.
#[derive(Debug, Args)]
pub struct ModelFlags {
    /// offline (no model), anthropic, openai (any OpenAI-compatible server) or claude-cli.
    #[arg(long, value_parser = ["offline", "anthropic", "openai", "claude-cli"])]
    pub provider: Option<String>,
    /// Model name for the provider.
    #[arg(long)]
    pub model: Option<String>,
    /// API base URL (e.g. http://localhost:11434/v1 for Ollama).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct QuestionsArgs {
    /// The PRD (markdown).
    #[arg(value_name = "PRD.md")]
    pub prd: PathBuf,
    #[command(flatten)]
    pub model: ModelFlags,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Import a plan file (JSON or TOML): all or nothing.
    Import(ImportArgs),
    /// Show the stored plan: epics, tasks, waves, critical path.
    Show(JsonFlag),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The plan file (`.json` or `.toml`; `-` reads standard input, see --format).
    pub file: PathBuf,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Replace a different plan that is already imported (only while none of its tasks
    /// has started).
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Json,
    Toml,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only tasks of this epic.
    #[arg(long)]
    pub epic: Option<String>,
    /// Only tasks with this status (repeatable).
    #[arg(long = "status", value_name = "STATUS")]
    pub statuses: Vec<String>,
    /// Keep showing the status, redrawn whenever the event log grows (Ctrl-C to stop).
    #[arg(long, conflicts_with = "json")]
    pub watch: bool,
    /// With --watch: how often to look for new events, in milliseconds.
    #[arg(long, default_value_t = 500, value_name = "MS", requires = "watch")]
    pub interval: u64,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
    /// Print JSON (waves, edges, conflicts, critical path); same as --format json.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Waves with each task's dependencies, the critical path and conflicts.
    Text,
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Show one task in full.
    Show {
        /// Task id, e.g. TASK-BA-001.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Print the instruction file its next attempt's agent will read, instead.
        #[arg(long, conflicts_with = "json")]
        instructions: bool,
    },
    /// Change a task's status by hand (still checked by the state machine).
    SetStatus {
        /// Task id.
        id: String,
        /// New status: pending, ready, running, verifying, merging, completed, failed,
        /// escalated, blocked, skipped, cancelled.
        status: String,
        /// Why, recorded in the event log.
        #[arg(long, default_value = "manual override")]
        reason: String,
    },
}
