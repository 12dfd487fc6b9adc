//! Integration tests of orch-core: property tests of the graph, the scheduler and the state
//! machine.

mod graph_props;
mod schedule_props;
mod support;
mod transition_props;
