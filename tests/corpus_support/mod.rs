//! Replaying a fuzz target's corpus from `cargo test`, shared by the corpus tests.

use std::path::Path;

/// Runs `run` on every file of `fuzz/corpus/<target>/`, in name order, and fails naming the
/// first input that panics; returns how many files there were.
pub fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    for path in &paths {
        let data = std::fs::read(path).expect("readable corpus file");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "corpus input {} failed", path.display());
    }
    paths.len()
}
