//! Untrusted text never drives the terminal (issue #23): plan titles and agent output with
//! escape sequences (colours, cursor moves, OSC 52 clipboard writes) are shown without
//! them; a plan file carries no run state into the store.

use std::time::Duration;

use crate::first_run::{orch_within, repo_with};
use crate::support::ok;

const ESC: char = '\u{1b}';

#[test]
fn escape_sequences_from_plans_and_agents_never_reach_the_terminal() {
    let plan = "name = \"p\\u001b]0;owned\\u0007\"\n[[epic]]\nid = \"E\"\nname = \"Epic \\u001b[2J\"\n[[task]]\nid = \"TASK-E-001\"\ntitle = \"Do it \\u001b]52;c;ZXZpbA==\\u0007 now\"\nepic = \"E\"\ndescription = \"text \\u001b[31mred\\u001b[0m\"\n";
    let repo = repo_with(
        "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"printf 'working \\\\033]52;c;ZXZpbA==\\\\007 \\\\033[2J done\\\\n'\"]\nmax_retries = 0\nbackend = \"process\"\nquality_gate = false\n",
        plan,
    );
    let (code, stdout, stderr) =
        orch_within(repo.path(), &["run", "--no-wait"], Duration::from_secs(60));
    assert_eq!(code, 12, "{stderr}");
    let mut shown = format!("{stdout}{stderr}");
    for args in [
        &["status"][..],
        &["task", "show", "TASK-E-001"],
        &["plan", "show"],
        &["msg", "list"],
        &["msg", "show", "PM-0001"],
        &["session", "logs", "TASK-E-001"],
    ] {
        let run = ok(repo.path(), args);
        shown.push_str(&run.stdout);
        shown.push_str(&run.stderr);
    }
    assert!(shown.contains("Do it"), "{shown}");
    assert!(
        !shown.contains(ESC) && !shown.contains('\u{7}'),
        "an escape sequence reached the terminal: {:?}",
        shown
            .lines()
            .filter(|l| l.contains(ESC))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_plan_file_carries_no_run_state() {
    let plan = "name = \"p\"\n[[epic]]\nid = \"E\"\nname = \"Epic\"\n[[task]]\nid = \"TASK-E-001\"\ntitle = \"Do it\"\nepic = \"E\"\nstatus = \"merging\"\nattempts = 3\n";
    let repo = repo_with(
        "[run]\nagent = \"custom\"\nagent_command = [\"sh\", \"-c\", \"echo work > work.txt\"]\nbackend = \"process\"\nquality_gate = false\n",
        plan,
    );
    let status = ok(repo.path(), &["status", "--json"]).stdout;
    let doc: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(doc["tasks"][0]["task"]["status"], "ready", "{status}");
    let (code, stdout, stderr) = orch_within(repo.path(), &["run"], Duration::from_secs(60));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(repo.git(&["show", "main:work.txt"]), "work");
}
