//! The console notifier: the plain-text rendering of a message, written to stderr or any
//! writer.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;

use super::{Notifier, NotifyError};
use crate::message::PmMessage;

const NAME: &str = "console";

/// Writes PM messages as text.
pub struct ConsoleNotifier {
    out: Mutex<Box<dyn Write + Send>>,
}

impl fmt::Debug for ConsoleNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsoleNotifier")
    }
}

impl ConsoleNotifier {
    /// Writes to standard error.
    pub fn stderr() -> ConsoleNotifier {
        ConsoleNotifier::new(Box::new(std::io::stderr()))
    }

    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> ConsoleNotifier {
        ConsoleNotifier {
            out: Mutex::new(out),
        }
    }
}

impl Notifier for ConsoleNotifier {
    fn name(&self) -> &str {
        NAME
    }

    async fn notify(&self, msg: &PmMessage) -> Result<(), NotifyError> {
        let text = format!("\n── PM message ──\n{}", msg.render_text());
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|source| NotifyError::Io {
                notifier: NAME.into(),
                source,
            })
    }
}
