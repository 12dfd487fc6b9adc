//! Pausing, resuming and stopping a run from outside it (a chat command, `orch pause`):
//! a flag in the store and an event. The runner reads the flags when the event log moves,
//! so a request reaches it on its next tick, from any process or host sharing the store.

use orch_core::Event;

use crate::{Store, StoreError, StoredEvent};

const PAUSED: &str = "control.paused";
const STOP: &str = "control.stop";

/// What a runner should do beyond its plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunControl {
    /// No new attempts start (running ones go on); who paused it.
    pub paused_by: Option<String>,
    /// Stop gracefully (as Ctrl-C once); who asked.
    pub stop_by: Option<String>,
}

/// A request to the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAction {
    /// Start no new attempts.
    Pause,
    /// Start attempts again.
    Resume,
    /// Finish running attempts, start none, end the run.
    Stop,
}

impl ControlAction {
    /// `pause`, `resume` or `stop`.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlAction::Pause => "pause",
            ControlAction::Resume => "resume",
            ControlAction::Stop => "stop",
        }
    }
}

impl Store {
    /// Records `action` by `by` (a flag and a `RunControl` event).
    pub fn request_control(
        &mut self,
        action: ControlAction,
        by: &str,
    ) -> Result<StoredEvent, StoreError> {
        match action {
            ControlAction::Pause => self.set_meta(PAUSED, by)?,
            ControlAction::Resume => self.set_meta(PAUSED, "")?,
            ControlAction::Stop => self.set_meta(STOP, by)?,
        }
        self.append_event(&Event::RunControl {
            action: action.as_str().to_owned(),
            by: by.to_owned(),
        })
    }

    /// The flags as they are now.
    pub fn run_control(&self) -> Result<RunControl, StoreError> {
        let flag = |key| -> Result<Option<String>, StoreError> {
            Ok(self.meta(key)?.filter(|v| !v.is_empty()))
        };
        Ok(RunControl {
            paused_by: flag(PAUSED)?,
            stop_by: flag(STOP)?,
        })
    }

    /// The runner took the stop request: it is not applied again to the next run.
    pub fn clear_stop_request(&mut self) -> Result<(), StoreError> {
        self.set_meta(STOP, "")
    }
}

/// Spending limits a human raised (answering a budget question), by scope key (`run`,
/// `epic:E`, `task:T`), in US dollars.
const RAISED_BUDGETS: &str = "engine.budget.raised";

impl Store {
    /// The limits raised so far (empty when none was, or the record is unreadable).
    pub fn raised_budgets(&self) -> Result<std::collections::BTreeMap<String, f64>, StoreError> {
        Ok(self
            .meta(RAISED_BUDGETS)?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Records the raised limits.
    pub fn set_raised_budgets(
        &mut self,
        raised: &std::collections::BTreeMap<String, f64>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(raised).expect("limits serialize");
        self.set_meta(RAISED_BUDGETS, &json)
    }

    /// The run's limit in force: `configured` (`[budget] run_usd`), or what a human raised
    /// it to, whichever is higher.
    pub fn run_budget(&self, configured: Option<f64>) -> Result<Option<f64>, StoreError> {
        let raised = self.raised_budgets()?.get("run").copied();
        Ok(match (configured, raised) {
            (Some(c), Some(r)) => Some(c.max(r)),
            (c, r) => c.or(r),
        })
    }
}
