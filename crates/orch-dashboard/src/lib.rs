//! The live web dashboard of orch: watch a run and answer its questions from a browser.
//!
//! [`Dashboard`] serves one repository's store (`.orch/state.db`) on loopback port 8765 by
//! default:
//!
//! - **the page** (`/`): header figures (wave, completed, pending, active sessions, open PM
//!   messages, elapsed time, agent cost), tasks by epic, a task's attempts with the quality
//!   breakdown and the live tail of its log, the dependency graph in status colours, and the
//!   PM messages with their options, answerable by a click. Its HTML, script and styles are
//!   compiled in: nothing is built or fetched at run time.
//! - **the REST API** (JSON, for scripts too): `GET /api/state`, `/api/tasks` (by epic, with
//!   the `last_seq` it was read at), `/api/tasks?limit=N[&after=TASK]` (a page of at most
//!   1,000 rows and the `next` cursor), `/api/tasks?since=SEQ` (only the tasks an event after
//!   `SEQ` names, or `"reload": true` when the whole list must be read again),
//!   `/api/tasks/{id}`, `/api/tasks/{id}/log?tail=N[&raw=true][&attempt=N]` (the agent's
//!   stream-json read as steps, unless raw), `/api/sessions`,
//!   `/api/messages[?pending=true]`, `/api/messages/{id}`, `/api/events?after=SEQ&limit=N`,
//!   and `POST /api/messages/{id}/answer` with `{"option": "B", "note": "…"}`. Answers are
//!   gzip-compressed for a client that accepts it, and the task list is written as it is
//!   read, a chunk at a time, so a plan of any size costs a request little memory. The page
//!   reads the list once, then only deltas.
//! - **the live feed** (`GET /ws?after=SEQ`): every event of the store's log after `SEQ`,
//!   one JSON text frame each, in order, then new ones as they are appended, by any process.
//!   A client that reconnects with the last `seq` it saw misses nothing and sees nothing
//!   twice.
//!
//! Security: reading needs nothing on loopback; answering needs the per-run [`Token`], sent
//! as `Authorization: Bearer …` (the page takes it from the `#token=` fragment of the URL
//! [`Dashboard::url`] gives). Any other address than loopback requires a token the user
//! chose and then needs it for every request. `Host` must be a name the dashboard answers to
//! (no DNS rebinding), and a request from another origin is refused. The token never appears
//! in a response, and neither does a key an agent printed: every response and feed frame is
//! redacted on the way out (well-known key formats, the values of secret-named environment
//! variables).
//!
//! # Example
//!
//! ```no_run
//! use orch_dashboard::{Dashboard, DashboardConfig};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = DashboardConfig::new(".orch");
//! config.port = 0; // any free port
//! let dashboard = Dashboard::bind(config)?;
//! println!("open {}", dashboard.url());
//! dashboard.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod api;
mod assets;
mod config;
mod conn;
mod error;
mod feed;
mod guard;
mod redact;
mod review;
mod server;
mod stream;
mod tasks;
mod transcript;
mod views;

pub use config::{DEFAULT_PORT, DashboardConfig, DashboardError, MIN_TOKEN_LEN, Token};
pub use server::Dashboard;
pub use views::{AttemptView, EpicView, PlanView, RunView, StateView, TaskDetail, TaskRow};
