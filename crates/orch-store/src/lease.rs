//! The single-runner lease: one `orch run` per repository at a time. A runner heartbeats;
//! a lease whose heartbeat is older than `stale_after` belongs to a dead runner and may be
//! taken over.

use std::time::Duration;

use orch_core::Event;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::events::insert_event;
use crate::store::{from_millis, millis};
use crate::{Store, StoreError};

/// Proof of holding the lease, returned by [`Store::acquire_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    owner: String,
    stale_after: Duration,
}

impl Lease {
    /// The owner name given when acquiring.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// After how long without a heartbeat the lease may be taken over.
    pub fn stale_after(&self) -> Duration {
        self.stale_after
    }
}

/// The lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseInfo {
    /// Who holds it.
    pub owner: String,
    /// Its process id.
    pub pid: u32,
    /// Its host name.
    pub host: String,
    /// When it was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub acquired_at: OffsetDateTime,
    /// The last heartbeat.
    #[serde(with = "time::serde::rfc3339")]
    pub heartbeat_at: OffsetDateTime,
}

fn read_lease(conn: &Connection) -> Result<Option<LeaseInfo>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT owner, pid, host, acquired_at, heartbeat_at FROM lease WHERE id = 1",
        )?
        .query_row([], |row| {
            Ok(LeaseInfo {
                owner: row.get(0)?,
                pid: row.get(1)?,
                host: row.get(2)?,
                acquired_at: from_millis(row.get(3)?),
                heartbeat_at: from_millis(row.get(4)?),
            })
        })
        .optional()?)
}

/// Default staleness used when only asking "is anyone running" (e.g. before replacing a
/// plan); matches the configuration default.
const DEFAULT_STALE: Duration = Duration::from_secs(30);

/// The holder of the lease if its heartbeat is fresh at `now`.
pub(crate) fn fresh_holder(
    conn: &Connection,
    now: OffsetDateTime,
) -> Result<Option<LeaseInfo>, StoreError> {
    Ok(read_lease(conn)?.filter(|lease| age(lease, now) < DEFAULT_STALE))
}

fn age(lease: &LeaseInfo, now: OffsetDateTime) -> Duration {
    let age = now - lease.heartbeat_at;
    Duration::try_from(age).unwrap_or(Duration::ZERO)
}

/// The host name recorded in the lease: `/proc/sys/kernel/hostname`, else `$HOSTNAME`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Whether the holder ran on this host and its process no longer exists (it was killed
/// without releasing the lease): then its lease is taken over at once instead of after
/// `stale_after`. Only decidable where `/proc` lists processes.
fn holder_is_gone(holder: &LeaseInfo) -> bool {
    let proc_root = std::path::Path::new("/proc");
    holder.host == host_name()
        && proc_root.join("self").exists()
        && !proc_root.join(holder.pid.to_string()).exists()
}

impl Store {
    /// Takes the lease for `owner`. Refused with [`StoreError::LeaseHeld`] while another
    /// owner's heartbeat is younger than `stale_after` and its process is alive; a stale
    /// lease, or one whose holder on this host has died, is taken over and the takeover
    /// recorded. The same owner acquiring again just refreshes it.
    pub fn acquire_lease(
        &mut self,
        owner: &str,
        stale_after: Duration,
    ) -> Result<Lease, StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = read_lease(&tx)?;
        let mut took_over_from = None;
        if let Some(current) = &current
            && current.owner != owner
        {
            let age = age(current, now);
            if age < stale_after && !holder_is_gone(current) {
                return Err(StoreError::LeaseHeld {
                    owner: current.owner.clone(),
                    pid: current.pid,
                    host: current.host.clone(),
                    heartbeat_age_secs: age.as_secs(),
                });
            }
            took_over_from = Some(current.owner.clone());
        }
        let same_owner = current.as_ref().is_some_and(|c| c.owner == owner);
        let pid = std::process::id();
        tx.execute(
            "INSERT INTO lease (id, owner, pid, host, acquired_at, heartbeat_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid,
                 host = excluded.host, heartbeat_at = excluded.heartbeat_at,
                 acquired_at = CASE WHEN lease.owner = excluded.owner THEN lease.acquired_at ELSE excluded.acquired_at END",
            params![owner, pid, host_name(), millis(now)],
        )?;
        if !same_owner {
            insert_event(
                &tx,
                &Event::LeaseAcquired {
                    owner: owner.to_owned(),
                    pid,
                    took_over_from,
                },
                now,
            )?;
        }
        tx.commit()?;
        Ok(Lease {
            owner: owner.to_owned(),
            stale_after,
        })
    }

    /// Refreshes the heartbeat. Fails with [`StoreError::LeaseLost`] when another runner
    /// took the lease over: the caller must stop writing.
    pub fn heartbeat(&mut self, lease: &Lease) -> Result<(), StoreError> {
        let now = self.clock.now();
        let changed = self.conn.execute(
            "UPDATE lease SET heartbeat_at = ?1 WHERE id = 1 AND owner = ?2",
            params![millis(now), lease.owner],
        )?;
        if changed == 1 {
            return Ok(());
        }
        Err(StoreError::LeaseLost {
            owner: lease.owner.clone(),
            taken_by: read_lease(&self.conn)?.map(|l| l.owner).unwrap_or_default(),
        })
    }

    /// Gives the lease back (if still held by this owner) and records it.
    pub fn release_lease(&mut self, lease: Lease) -> Result<(), StoreError> {
        let now = self.clock.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed = tx.execute(
            "DELETE FROM lease WHERE id = 1 AND owner = ?1",
            [&lease.owner],
        )?;
        if removed == 1 {
            insert_event(
                &tx,
                &Event::LeaseReleased {
                    owner: lease.owner.clone(),
                },
                now,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The current lease, fresh or stale.
    pub fn lease(&self) -> Result<Option<LeaseInfo>, StoreError> {
        read_lease(&self.conn)
    }
}
