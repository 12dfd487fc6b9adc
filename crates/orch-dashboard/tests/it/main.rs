//! Integration tests of the dashboard: a real server on loopback, a real store written by
//! other tasks and processes, real WebSocket clients, and a real headless Chromium.

mod api;
mod browser;
mod reviews;
mod security;
mod support;
mod tasks;
mod ws;
