//! `orch-fake-agent`: a stand-in for the `claude` CLI in tests. See
//! `orch_testutils::FakeScenario` for what it can be told to do.

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    std::process::exit(orch_testutils::run_fake_agent(&argv));
}
