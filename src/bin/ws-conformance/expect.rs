//! `--expect FILE`: a peer's recorded verdicts, compared with a run. The file lists, one per
//! line, `CASE-ID VERDICT` for every case whose verdict is not OK; `#` starts a comment; every
//! case not listed is expected to be OK. `VERDICT` may be `A|B` where the peer's answer is a
//! race seen both ways (an echo written or not before the peer fails the connection). A verdict that changes, in either direction, is a
//! difference, so the file (and the explanation of each non-OK verdict) must be updated with it.

use std::collections::BTreeMap;

use crate::judge::Verdict;
use crate::report::Report;

/// Parses an expected-results file into case id → accepted verdicts.
pub fn parse(text: &str) -> Result<BTreeMap<String, Vec<Verdict>>, String> {
    let mut map = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(id), Some(name), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("line {}: expected `CASE-ID VERDICT`", n + 1));
        };
        let verdict = name
            .split('|')
            .map(|one| {
                Verdict::ALL
                    .into_iter()
                    .find(|v| v.name() == one || (one == "INFO" && *v == Verdict::Informational))
                    .ok_or_else(|| format!("line {}: unknown verdict `{one}`", n + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if map.insert(id.to_string(), verdict).is_some() {
            return Err(format!("line {}: {id} listed twice", n + 1));
        }
    }
    Ok(map)
}

/// Every difference between the run and the expectations, one line each.
pub fn compare(report: &Report, expected: &BTreeMap<String, Vec<Verdict>>) -> Vec<String> {
    let mut diffs = Vec::new();
    for o in &report.outcomes {
        let want = expected
            .get(&o.id)
            .map_or(&[Verdict::Ok][..], Vec::as_slice);
        let got = o.judgement.verdict;
        if !want.contains(&got) {
            let why = o.judgement.reasons.first().map_or("", String::as_str);
            let names: Vec<&str> = want.iter().map(|v| v.name()).collect();
            diffs.push(format!(
                "{}: expected {}, got {} {why}",
                o.id,
                names.join("|"),
                got.name()
            ));
        }
    }
    for id in expected.keys() {
        if !report.outcomes.iter().any(|o| &o.id == id) {
            diffs.push(format!("{id}: listed in the file but not run"));
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Judgement;
    use crate::report::Outcome;
    use std::time::Duration;

    fn outcome(id: &str, v: Verdict) -> Outcome {
        let mut j = Judgement::new("x");
        if v != Verdict::Ok {
            j.add(v, "because");
        }
        Outcome {
            id: id.into(),
            description: String::new(),
            judgement: j,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn compares_both_ways() {
        let file = "# peer x\nutf8.6.1 NON-STRICT  # late\nhs.2.2 FAILED\nlimit.3.1 INFO\n\
                    rsv.3.1 OK|INFORMATIONAL\n";
        let expected = parse(file).unwrap();
        assert_eq!(expected.len(), 4);
        let report = Report {
            mode: "server",
            target: String::new(),
            agent: None,
            outcomes: vec![
                outcome("utf8.6.1", Verdict::NonStrict),
                outcome("hs.2.2", Verdict::Ok),
                outcome("limit.3.1", Verdict::Informational),
                outcome("frame.1.1", Verdict::Failed),
                outcome("rsv.3.1", Verdict::Informational),
            ],
            elapsed: Duration::ZERO,
        };
        let diffs = compare(&report, &expected);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(diffs[0].starts_with("hs.2.2: expected FAILED, got OK"));
        assert!(diffs[1].starts_with("frame.1.1: expected OK, got FAILED because"));
        assert!(parse("a.1 MAYBE").is_err());
        assert!(parse("a.1").is_err());
        assert!(parse("a.1 OK\na.1 OK").is_err());
    }
}
