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
