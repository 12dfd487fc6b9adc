//! Test helpers shared by orch's crates: [`TempRepo`] (a real git repository in a temporary
//! directory, driven with the git CLI), [`ManualClock`], [`MockHttpServer`] (a scriptable
//! HTTP server on loopback standing in for model APIs and webhooks), and fixtures locations.
//!
//! The fake Claude Code agent, the `orch-fake-agent` binary, follows a [`FakeScenario`];
//! tests find (and if needed build) it with [`fake_agent_path`].
//!
//! Not published; only for tests, benches and examples.
//!
//! # Example
//!
//! ```
//! let repo = orch_testutils::TempRepo::new();
//! repo.write("src/lib.rs", "pub fn f() {}\n");
//! repo.commit_all("add lib");
//! assert_eq!(repo.git(&["log", "--format=%s", "-1"]), "add lib");
//! ```

#![deny(missing_docs)]

mod clock;
mod fake_agent;
mod fixtures;
mod http;
mod plans;
mod repo;
pub mod webdriver;

pub use clock::ManualClock;
pub use fake_agent::{
    FAKE_SCENARIO_ENV, FAKE_SCENARIO_FILE_ENV, FAKE_SCENARIO_MARKER, FakeResult, FakeScenario,
    FakeStep, fake_agent_path, run_fake_agent,
};
pub use fixtures::{shared_fixture_dir, shared_fixtures_or_skip};
pub use http::{MockHttpServer, MockResponse, RecordedRequest};
pub use plans::large_plan;
pub use repo::{TempRepo, git_available};
