//! Integration tests of orch-session. Backend cases run against both backends: real tmux on
//! a private socket per test, and plain processes.

mod adoption;
mod agents;
mod backends;
mod commands;
mod manage;
mod pool;
mod sandbox;
mod support;
