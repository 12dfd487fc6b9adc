//! Integration tests of orch-quality: small real projects with planted defects, checked by
//! the real tools.

// Tests change one setting at a time from the defaults; that reads better as assignments.
#![allow(clippy::field_reassign_with_default)]

mod custom;
mod gate;
mod javascript;
mod python;
mod rust;
mod shared;
mod support;
mod untouched;
