//! Keeps secrets out of what the dashboard serves: every API response and every feed frame
//! passes through [`Redactor::redact`] (shared with remote control, in `orch-secrets`).

pub(crate) use orch_secrets::Redactor;
