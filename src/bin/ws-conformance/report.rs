//! Results: the human summary and the JSON file (written by hand, no serde).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::judge::{Judgement, Verdict};

/// The result of one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Case id.
    pub id: String,
    /// Case description.
    pub description: String,
    /// Verdict and reasons.
    pub judgement: Judgement,
    /// How long the case took.
    pub duration: Duration,
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Report {
    /// `server` or `client`.
    pub mode: &'static str,
    /// The URL tested (server mode) or the listening address (client mode).
    pub target: String,
    /// The client's agent name (client mode).
    pub agent: Option<String>,
    /// Every case, in id order.
    pub outcomes: Vec<Outcome>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// The sections, in report order: (id prefix, short name). Ids are `PREFIX.GROUP.NUMBER`
/// (`utf8.4.1`); section numbers (the position here, from 1) only order them.
pub const SECTIONS: [(&str, &str); 10] = [
    ("frame", "framing"),
    ("ping", "ping/pong"),
    ("rsv", "rsv bits"),
    ("opcode", "opcodes"),
    ("frag", "fragments"),
    ("utf8", "utf-8"),
    ("close", "close"),
    ("limit", "limits/load"),
    ("hs", "handshake"),
    ("pmd", "permessage-deflate"),
];

/// The 1-based section number of a prefix (`utf8` is 6), 0 when unknown.
pub fn section_number(prefix: &str) -> u64 {
    SECTIONS
        .iter()
        .position(|(p, _)| *p == prefix)
        .map_or(0, |i| i as u64 + 1)
}

/// Orders ids by section, then numerically (`frame.1.10` after `frame.1.9`).
pub fn id_key(id: &str) -> Vec<u64> {
    let mut parts = id.split('.');
    let first = parts.next().unwrap_or("");
    std::iter::once(section_number(first))
        .chain(parts.map(|p| p.parse().unwrap_or(u64::MAX)))
        .collect()
}

impl Report {
    /// Number of cases per verdict.
    pub fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut counts = BTreeMap::new();
        for o in &self.outcomes {
            *counts.entry(o.judgement.verdict).or_insert(0) += 1;
        }
        counts
    }

    /// True when any case FAILED or is NON-STRICT (the run fails; INFO never does).
    pub fn any_failed(&self) -> bool {
        self.outcomes
            .iter()
            .any(|o| o.judgement.verdict >= Verdict::NonStrict)
    }

    /// The one summary line, in a fixed format for scripts:
    /// `ws-conformance: PASS|FAIL mode=M cases=N ok=N info=N non_strict=N failed=N`.
    pub fn summary_line(&self) -> String {
        let counts = self.counts();
        let n = |v| counts.get(&v).copied().unwrap_or(0);
        format!(
            "ws-conformance: {} mode={} cases={} ok={} info={} non_strict={} failed={}",
            if self.any_failed() { "FAIL" } else { "PASS" },
            self.mode,
            self.outcomes.len(),
            n(Verdict::Ok),
            n(Verdict::Informational),
            n(Verdict::NonStrict),
            n(Verdict::Failed)
        )
    }

    /// Verdict counts per section number.
    pub fn section_counts(&self) -> BTreeMap<u64, BTreeMap<Verdict, usize>> {
        let mut sections: BTreeMap<u64, BTreeMap<Verdict, usize>> = BTreeMap::new();
        for o in &self.outcomes {
            *sections
                .entry(id_key(&o.id)[0])
                .or_default()
                .entry(o.judgement.verdict)
                .or_insert(0) += 1;
        }
        sections
    }

    /// The human-readable summary: per-section counts, then every non-OK case with its reason.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ws-conformance {} mode, {}{}: {} cases in {:.1} s",
            self.mode,
            self.target,
            self.agent
                .as_ref()
                .map(|a| format!(" (agent {a})"))
                .unwrap_or_default(),
            self.outcomes.len(),
            self.elapsed.as_secs_f64()
        );
        let sections = self.section_counts();
        let _ = writeln!(
            out,
            "\n  section          {:>6} {:>6} {:>11} {:>7} {:>6}",
            "OK", "INFO", "NON-STRICT", "FAILED", "total"
        );
        for (section, counts) in &sections {
            let n = |v| counts.get(&v).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "  {:>2} {:<13} {:>6} {:>6} {:>11} {:>7} {:>6}",
                section,
                section_name(*section),
                n(Verdict::Ok),
                n(Verdict::Informational),
                n(Verdict::NonStrict),
                n(Verdict::Failed),
                counts.values().sum::<usize>()
            );
        }
        let totals = self.counts();
        let n = |v| totals.get(&v).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "  total            {:>6} {:>6} {:>11} {:>7} {:>6}",
            n(Verdict::Ok),
            n(Verdict::Informational),
            n(Verdict::NonStrict),
            n(Verdict::Failed),
            self.outcomes.len()
        );
        let info: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.judgement.verdict == Verdict::Informational)
            .collect();
        if !info.is_empty() {
            let _ = writeln!(out, "\nINFORMATIONAL:");
            for o in info {
                let _ = writeln!(out, "  {:<14} {}", o.id, o.description);
                for r in &o.judgement.reasons {
                    let _ = writeln!(out, "      {r}");
                }
            }
        }
        let bad: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.judgement.verdict >= Verdict::NonStrict)
            .collect();
        if !bad.is_empty() {
            let _ = writeln!(out, "\nNON-STRICT and FAILED:");
            for o in bad {
                let j = &o.judgement;
                let _ = writeln!(
                    out,
                    "  {:<14} {:<10} {}",
                    o.id,
                    j.verdict.name(),
                    o.description
                );
                let _ = writeln!(out, "      rule:     {}", crate::cases::rule_for(&o.id));
                let _ = writeln!(out, "      expected: {}", j.expected);
                let _ = writeln!(out, "      observed: {}", j.observed);
                for r in &j.reasons {
                    let _ = writeln!(out, "      reason:   {r}");
                }
            }
        }
        out
    }

    /// The JSON report: run metadata, counts, and every case.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"tool\": \"ws-conformance\",");
        let _ = writeln!(
            out,
            "  \"version\": {},",
            json_str(env!("CARGO_PKG_VERSION"))
        );
        let _ = writeln!(out, "  \"mode\": {},", json_str(self.mode));
        let _ = writeln!(out, "  \"target\": {},", json_str(&self.target));
        let agent = self.agent.as_deref().map_or("null".into(), json_str);
        let _ = writeln!(out, "  \"agent\": {agent},");
        let _ = writeln!(out, "  \"elapsed_ms\": {},", self.elapsed.as_millis());
        let counts = self.counts();
        let summary: Vec<String> = Verdict::ALL
            .iter()
            .map(|v| {
                format!(
                    "{}: {}",
                    json_str(v.name()),
                    counts.get(v).copied().unwrap_or(0)
                )
            })
            .collect();
        let _ = writeln!(out, "  \"summary\": {{{}}},", summary.join(", "));
        out.push_str("  \"cases\": [");
        for (i, o) in self.outcomes.iter().enumerate() {
            let j = &o.judgement;
            let reasons: Vec<String> = j.reasons.iter().map(|r| json_str(r)).collect();
            let _ = write!(
                out,
                "{}\n    {{\"id\": {}, \"section\": {}, \"description\": {}, \"rule\": {}, \
                 \"verdict\": {}, \"expected\": {}, \"observed\": {}, \"reasons\": [{}], \
                 \"duration_ms\": {}}}",
                if i == 0 { "" } else { "," },
                json_str(&o.id),
                id_key(&o.id)[0],
                json_str(&o.description),
                json_str(crate::cases::rule_for(&o.id)),
                json_str(j.verdict.name()),
                json_str(&j.expected),
                json_str(&j.observed),
                reasons.join(", "),
                o.duration.as_millis()
            );
        }
        out.push_str("\n  ]\n}\n");
        out
    }
}

/// Short names of the sections, by number.
pub fn section_name(section: u64) -> &'static str {
    match section {
        1..=10 => SECTIONS[section as usize - 1].1,
        _ => "",
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\u0001é\"");
    }

    #[test]
    fn ids_sort_numerically() {
        let mut ids = vec!["frame.1.10", "hs.1.1", "frame.1.9", "ping.10", "ping.9"];
        ids.sort_by_key(|id| id_key(id));
        assert_eq!(
            ids,
            ["frame.1.9", "frame.1.10", "ping.9", "ping.10", "hs.1.1"]
        );
    }
}
