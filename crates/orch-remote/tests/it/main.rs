//! Integration tests of orch-remote: requests signed with the platforms' real algorithms
//! (keys made in the test) sent over loopback HTTP to the running endpoint, a real SQLite
//! store, and the loopback mock server standing in for Slack's response_url, Discord's
//! webhook API and LINE's reply API.

mod requests;
mod support;
