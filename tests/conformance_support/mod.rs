//! Runs the `ws-conformance` binary from integration tests, library-free: the binary is invoked
//! as a process with `--json`, and the per-case lines of the JSON report are read back.
//!
//! Use from a test file with `mod conformance_support;` and `env!("CARGO_BIN_EXE_ws-conformance")`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// One case of a JSON report.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Case id, e.g. `utf8.4.1`.
    pub id: String,
    /// `OK`, `NON-STRICT`, `INFORMATIONAL` or `FAILED`.
    pub verdict: String,
    /// The whole JSON object, for failure messages.
    pub json: String,
}

/// A finished run.
#[derive(Debug)]
pub struct RunResult {
    /// Every case.
    pub cases: Vec<CaseResult>,
    /// The process exit code.
    pub exit_code: Option<i32>,
    /// The human summary printed on stdout.
    pub summary: String,
}

impl RunResult {
    /// The verdict of case `id`.
    pub fn verdict(&self, id: &str) -> &str {
        self.cases
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.verdict.as_str())
            .unwrap_or_else(|| panic!("no case {id} in the report"))
    }

    /// Cases whose id starts with `prefix` (a group such as `utf8.6.`).
    pub fn section(&self, prefix: &str) -> Vec<&CaseResult> {
        self.cases
            .iter()
            .filter(|c| c.id.starts_with(prefix))
            .collect()
    }

    /// Number of cases per verdict.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for c in &self.cases {
            *m.entry(c.verdict.clone()).or_insert(0) += 1;
        }
        m
    }

    /// A table of verdict counts per section, for logs.
    pub fn table(&self) -> String {
        let mut sections: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for c in &self.cases {
            let section = c.id.split('.').next().unwrap_or("");
            *sections
                .entry(section)
                .or_default()
                .entry(&c.verdict)
                .or_insert(0) += 1;
        }
        let mut out = String::from("section  OK  NON-STRICT  INFORMATIONAL  FAILED\n");
        for (s, m) in sections {
            let n = |v: &str| m.get(v).copied().unwrap_or(0);
            out.push_str(&format!(
                "{s:>7} {:>3} {:>11} {:>14} {:>7}\n",
                n("OK"),
                n("NON-STRICT"),
                n("INFORMATIONAL"),
                n("FAILED")
            ));
        }
        out
    }

    /// Panics with the offending JSON lines unless every case of `prefix` has `verdict`.
    pub fn assert_all(&self, prefix: &str, verdict: &str) {
        let cases = self.section(prefix);
        assert!(!cases.is_empty(), "no case starts with {prefix}");
        let bad: Vec<&str> = cases
            .iter()
            .filter(|c| c.verdict != verdict)
            .map(|c| c.json.as_str())
            .collect();
        assert!(
            bad.is_empty(),
            "cases {prefix}* not {verdict}:\n{}",
            bad.join("\n")
        );
    }
}

/// The path of the tester binary.
pub fn tester() -> &'static str {
    env!("CARGO_BIN_EXE_ws-conformance")
}

/// A fresh JSON path in the temp directory.
pub fn json_path(label: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "ws-conformance-{label}-{}-{nanos}.json",
        std::process::id()
    ))
}

/// Extracts the string value of `"key": "..."` from one JSON line written by the tester.
fn field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// Reads the cases of a JSON report (the tester writes one case object per line).
pub fn read_report(path: &PathBuf) -> Vec<CaseResult> {
    let text = std::fs::read_to_string(path).expect("the tester wrote its JSON report");
    assert!(text.trim_start().starts_with('{') && text.trim_end().ends_with('}'));
    let cases: Vec<CaseResult> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("{\"id\""))
        .map(|l| CaseResult {
            id: field(l, "id").expect("id"),
            verdict: field(l, "verdict").expect("verdict"),
            json: l.trim().trim_end_matches(',').to_string(),
        })
        .collect();
    let _ = std::fs::remove_file(path);
    cases
}

/// Runs server mode against `url` with extra arguments and returns the report.
pub fn run_server_mode(url: &str, args: &[&str]) -> RunResult {
    let json = json_path("server");
    let out = Command::new(tester())
        .arg("server")
        .arg(url)
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run ws-conformance");
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "ws-conformance exited with {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    RunResult {
        cases: read_report(&json),
        exit_code: out.status.code(),
        summary,
    }
}

/// A client-mode tester listening on an ephemeral port.
pub struct ClientModeRun {
    child: Child,
    json: PathBuf,
    /// Where the client under test connects: `ws://127.0.0.1:PORT`.
    pub base_url: String,
}

impl ClientModeRun {
    /// Starts the tester in client mode with extra arguments.
    pub fn start(args: &[&str]) -> ClientModeRun {
        let json = json_path("client");
        let mut child = Command::new(tester())
            .args(["client", "--listen", "127.0.0.1:0", "--quiet", "--json"])
            .arg(&json)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ws-conformance");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("read the listening line");
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("Listening on ws://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        ClientModeRun {
            child,
            json,
            base_url: format!("ws://{addr}"),
        }
    }

    /// Waits for the tester to finish (after the adapter ran every case) and reads the report.
    pub fn finish(mut self) -> RunResult {
        let status = self.child.wait().expect("wait for ws-conformance");
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "ws-conformance exited with {status:?}"
        );
        RunResult {
            cases: read_report(&self.json),
            exit_code: status.code(),
            summary: String::new(),
        }
    }
}

/// Checks a run against a peer's expected-results file (`tests/conformance_peers/*.txt`, the
/// format `ws-conformance --expect` reads: `CASE-ID VERDICT` per non-OK case, `A|B` for a race,
/// `#` comments; unlisted cases are OK). Panics with every difference and, to help update the
/// file once the change is understood and explained in docs/conformance.md, the run's verdicts
/// in the file's format.
pub fn assert_matches_expected(run: &RunResult, file: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some((id, verdicts)) = line.split_once(char::is_whitespace) {
            let names = verdicts.trim().split('|').map(|v| match v {
                "INFO" => "INFORMATIONAL".to_string(),
                v => v.to_string(),
            });
            expected.insert(id.to_string(), names.collect());
        }
    }
    let ok = vec!["OK".to_string()];
    let mut diffs = Vec::new();
    for c in &run.cases {
        let want = expected.get(&c.id).unwrap_or(&ok);
        if !want.contains(&c.verdict) {
            diffs.push(format!(
                "{}: expected {}, got {}: {}",
                c.id,
                want.join("|"),
                c.verdict,
                c.json
            ));
        }
    }
    for id in expected.keys() {
        if !run.cases.iter().any(|c| &c.id == id) {
            diffs.push(format!("{id}: in {file} but not run"));
        }
    }
    if !diffs.is_empty() {
        let recorded: Vec<String> = run
            .cases
            .iter()
            .filter(|c| c.verdict != "OK")
            .map(|c| format!("{} {}", c.id, c.verdict))
            .collect();
        panic!(
            "{} verdict(s) differ from {file}:\n{}\n\nthis run, in the file's format:\n{}\n",
            diffs.len(),
            diffs.join("\n"),
            recorded.join("\n")
        );
    }
}
