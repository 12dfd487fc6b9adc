//! The one place errors become text and exit codes.

use std::fmt;

use orch_core::exit_code;

/// An error ready to show: a message, the exit code, and an optional hint on what to do.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
    pub hint: Option<String>,
    /// The command already printed its JSON document (a failed gate's report, an
    /// incomplete run's report): in JSON mode only the exit code is left to give.
    pub answered_in_json: bool,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
            hint: None,
            answered_in_json: false,
        }
    }

    /// Marks the error as one whose JSON document is already printed.
    pub fn after_json_document(mut self, printed: bool) -> CliError {
        self.answered_in_json = printed;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    pub fn io(what: impl fmt::Display, err: std::io::Error) -> CliError {
        CliError::new(exit_code::FAILURE, format!("{what}: {err}"))
    }

    /// Prints `{"error": {"code", "kind", "message", "hint"}}` on stdout, for callers that
    /// asked for JSON: they read one document whatever happened.
    pub fn report_json(&self) {
        if self.answered_in_json {
            // stdout already holds the command's document; the reason goes to stderr.
            self.report();
            return;
        }
        let doc = serde_json::json!({
            "error": {
                "code": self.code,
                "kind": exit_code::name(self.code),
                "message": self.message,
                "hint": self.hint,
            }
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string())
        );
    }

    /// Prints `error: …` (with the chain of causes folded into the message) and the hint.
    pub fn report(&self) {
        eprintln!("error: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("hint: {hint}");
        }
    }
}

/// Appends each `source()` of `err` to its message, so nothing is lost when it is printed.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl From<orch_core::PlanError> for CliError {
    fn from(err: orch_core::PlanError) -> CliError {
        CliError::new(exit_code::INVALID_INPUT, chain(&err))
    }
}

impl From<orch_core::ConfigError> for CliError {
    fn from(err: orch_core::ConfigError) -> CliError {
        CliError::new(exit_code::INVALID_INPUT, chain(&err))
    }
}

impl From<orch_store::StoreError> for CliError {
    fn from(err: orch_store::StoreError) -> CliError {
        use orch_store::StoreError as E;
        let message = chain(&err);
        match &err {
            E::NotInitialized { .. } => CliError::new(exit_code::NOT_INITIALIZED, message)
                .with_hint("run `orch init` in the repository first"),
            E::NoPlan => CliError::new(exit_code::NOT_INITIALIZED, message)
                .with_hint("import one with `orch plan import FILE`"),
            E::InvalidPlan(_) => CliError::new(exit_code::INVALID_INPUT, message),
            E::PlanConflict { .. } => CliError::new(exit_code::CONFLICT, message),
            E::UnknownTask { .. } => CliError::new(exit_code::NOT_FOUND, message)
                .with_hint("`orch status` lists the tasks of the plan"),
            E::IllegalTransition { .. } => CliError::new(exit_code::ILLEGAL_TRANSITION, message),
            E::NoReview { .. } => CliError::new(exit_code::NOT_FOUND, message)
                .with_hint("`orch review list` shows the tasks waiting for a review"),
            E::ReviewDecided { .. } | E::MessageChanged { .. } => {
                CliError::new(exit_code::CONFLICT, message)
            }
            E::LeaseHeld { .. } | E::LeaseLost { .. } => {
                CliError::new(exit_code::LEASE_HELD, message)
            }
            _ => CliError::new(exit_code::STORE, message),
        }
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;
