use std::path::PathBuf;
use std::sync::Arc;

use orch_core::{Plan, PlanFormat};
use orch_store::Store;
use orch_testutils::ManualClock;
use tempfile::TempDir;

pub const PLAN: &str = r#"
name = "store-test"
[[epic]]
id = "DB"
name = "Database"
[[epic]]
id = "API"
name = "API"
[[task]]
id = "TASK-DB-001"
title = "Schema"
epic = "DB"
estimate_minutes = 30
[[task]]
id = "TASK-API-001"
title = "Users API"
epic = "API"
depends_on = ["TASK-DB-001"]
[[task]]
id = "TASK-API-002"
title = "Orders API"
epic = "API"
depends_on = ["TASK-DB-001"]
[[task]]
id = "TASK-API-003"
title = "Routes"
epic = "API"
depends_on = ["TASK-API-001", "TASK-API-002"]
"#;

pub fn plan() -> Plan {
    Plan::parse(PLAN, PlanFormat::Toml).unwrap()
}

pub struct Fixture {
    pub dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub store: Store,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new());
        let store = Store::open_with_clock(&dir.path().join("state.db"), clock.clone()).unwrap();
        Fixture { dir, clock, store }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    pub fn with_plan() -> Fixture {
        let mut f = Fixture::new();
        f.store.import_plan(&plan(), false).unwrap();
        f
    }
}
