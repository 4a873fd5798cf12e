//! Leak checks shared by the tests that count the process's server threads and file
//! descriptors (`hostile.rs`, `churn.rs`). Such tests must run one at a time: take [`serial`].

use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises the tests of one test binary that look at process-wide counts.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Server connection threads (named `ws-N`); the test harness's own threads come and go with
/// the other tests, so they are not counted.
pub fn threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|name| name.starts_with("ws-"))
        .count()
}

/// Open file descriptors of the process.
pub fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits (bounded) until threads and fds are back to `baseline`; panics naming `what` if not.
pub fn assert_back_to(baseline: (usize, usize), what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = (threads(), fds());
        if now.0 <= baseline.0 && now.1 <= baseline.1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: threads/fds {now:?} did not return to {baseline:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}
