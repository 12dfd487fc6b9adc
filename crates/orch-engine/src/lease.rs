//! The runner lease's heartbeat, on a thread of its own with its own database connection:
//! nothing the run loop waits for (a hanging webhook, a slow gate, a long merge) can make
//! the lease look stale. When a heartbeat finds the lease taken by another runner, the
//! keeper says so at once and stops; the conductor then stops touching anything (the other
//! runner owns the sessions now).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orch_store::{Lease, Store, StoreError};
use tokio::sync::watch;

/// Keeps the lease alive until dropped.
#[derive(Debug)]
pub(crate) struct LeaseKeeper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LeaseKeeper {
    /// Heartbeats `lease` in `db` every `every`; `lost` turns true when another runner
    /// holds it.
    pub(crate) fn start(
        db: PathBuf,
        lease: Lease,
        every: Duration,
    ) -> (LeaseKeeper, watch::Receiver<bool>) {
        let (lost_tx, lost_rx) = watch::channel(false);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("orch-lease".into())
            .spawn(move || {
                let mut store = None;
                while !flag.load(Ordering::Relaxed) {
                    if store.is_none() {
                        store = Store::open_existing(&db).ok();
                    }
                    if let Some(s) = store.as_mut() {
                        match s.heartbeat(&lease) {
                            Ok(()) => {}
                            Err(StoreError::LeaseLost { .. }) => {
                                let _ = lost_tx.send(true);
                                return;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "cannot refresh the runner lease");
                                store = None;
                            }
                        }
                    }
                    // Sleep in small steps so a stop is quick.
                    let mut slept = Duration::ZERO;
                    while slept < every && !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                        slept += Duration::from_millis(50);
                    }
                }
            })
            .ok();
        (LeaseKeeper { stop, thread }, lost_rx)
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
