//! The HTML report: one self-contained page (inline CSS, no script, no external asset) with the
//! verdict counts, then every case with its verdict, description, rule, expectation, what was
//! observed, the reasons, and the wire log.

use std::fmt::Write as _;

use crate::judge::Verdict;
use crate::report::{section_name, Outcome, Report};
use crate::wire::{Dir, WireLog};

/// Escapes text for HTML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::Informational => "info",
        Verdict::NonStrict => "ns",
        Verdict::Failed => "fail",
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\
.ok{background:#cfc}.info{background:#cdf}.ns{background:#fe9}.fail{background:#f99}\
details{margin:2px 0;border:1px solid #ddd}summary{cursor:pointer;padding:2px 6px}\
.case{padding:4px 12px}code,pre,.wire td{font-family:ui-monospace,monospace;font-size:12px}\
.wire .Sent{color:#036}.wire .Received{color:#630}";

fn wire_table(out: &mut String, wire: &WireLog, start: Option<std::time::Instant>) {
    if wire.frames.is_empty() {
        out.push_str("<p>No frames logged (a handshake-only case).</p>");
        return;
    }
    let t0 = start.unwrap_or(wire.frames[0].at);
    out.push_str(
        "<table class=\"wire\"><tr><th>ms</th><th>dir</th><th>opcode</th><th>flags</th>\
         <th>length</th><th>payload (first bytes)</th></tr>",
    );
    let mut frames: Vec<_> = wire.frames.iter().collect();
    frames.sort_by_key(|f| f.at);
    for f in frames {
        let dir = match f.dir {
            Dir::Sent => "Sent",
            Dir::Received => "Received",
        };
        let _ = write!(
            out,
            "<tr class=\"{dir}\"><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            f.at.saturating_duration_since(t0).as_secs_f64() * 1000.0,
            if f.dir == Dir::Sent {
                "tester →"
            } else {
                "← peer"
            },
            f.opcode_name(),
            escape(&f.flags()),
            f.len,
            escape(&f.preview())
        );
    }
    if let Some((at, how)) = &wire.tcp_end {
        let _ = write!(
            out,
            "<tr class=\"Received\"><td>{:.1}</td><td>← peer</td><td colspan=\"4\">{}</td></tr>",
            at.saturating_duration_since(t0).as_secs_f64() * 1000.0,
            escape(how)
        );
    }
    out.push_str("</table>");
    let (sent, received) = wire.omitted();
    if sent + received > 0 {
        let _ = write!(
            out,
            "<p>{} frames sent and {} received in all; the log keeps the first {} of each \
             direction ({sent} sent and {received} received not shown).</p>",
            wire.counts.0,
            wire.counts.1,
            crate::wire::KEEP
        );
    }
}

fn case_html(out: &mut String, o: &Outcome) {
    let j = &o.judgement;
    let v = j.verdict;
    let _ = write!(
        out,
        "<details id=\"{id}\"{open}><summary class=\"{cls}\"><b>{id}</b> {verdict} — {desc} \
         ({ms} ms)</summary><div class=\"case\">",
        id = escape(&o.id),
        open = if v >= Verdict::NonStrict { " open" } else { "" },
        cls = class(v),
        verdict = v.name(),
        desc = escape(&o.description),
        ms = o.duration.as_millis()
    );
    let _ = write!(
        out,
        "<p><b>Rule:</b> {}</p><p><b>Expected:</b> {}</p><p><b>Observed:</b> {}</p>",
        escape(crate::cases::rule_for(&o.id)),
        escape(&j.expected),
        escape(&j.observed)
    );
    if !j.reasons.is_empty() {
        out.push_str("<p><b>Reasons:</b></p><ul>");
        for r in &j.reasons {
            let _ = write!(out, "<li>{}</li>", escape(r));
        }
        out.push_str("</ul>");
    }
    out.push_str(
        "<p><b>Wire log</b> (tester → peer is what the tester wrote, ← peer what it received):</p>",
    );
    wire_table(out, &j.wire, None);
    out.push_str("</div></details>\n");
}

impl Report {
    /// The whole report as one HTML page.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        let title = format!("ws-conformance {} mode: {}", self.mode, self.target);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
             <style>{STYLE}</style></head><body>\n<h1>{}</h1>",
            escape(&title),
            escape(&title)
        );
        let _ = write!(
            out,
            "<p>ws-conformance {}{}; {} cases in {:.1} s.</p><p><code>{}</code></p>",
            env!("CARGO_PKG_VERSION"),
            self.agent
                .as_ref()
                .map(|a| format!(", agent {}", escape(a)))
                .unwrap_or_default(),
            self.outcomes.len(),
            self.elapsed.as_secs_f64(),
            escape(&self.summary_line())
        );
        out.push_str(
            "<p>FAILED: a MUST or MUST NOT broken. NON-STRICT: a SHOULD not followed. \
             INFORMATIONAL: a documented choice or limit, or a measurement. Failed and \
             non-strict cases are open below.</p>",
        );
        out.push_str(
            "<table><tr><th>section</th><th class=\"ok\">OK</th><th class=\"info\">INFO</th>\
             <th class=\"ns\">NON-STRICT</th><th class=\"fail\">FAILED</th><th>total</th></tr>",
        );
        for (section, counts) in self.section_counts() {
            let n = |v| counts.get(&v).copied().unwrap_or(0);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(section_name(section)),
                n(Verdict::Ok),
                n(Verdict::Informational),
                n(Verdict::NonStrict),
                n(Verdict::Failed),
                counts.values().sum::<usize>()
            );
        }
        out.push_str("</table>\n");
        let bad: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.judgement.verdict >= Verdict::NonStrict)
            .collect();
        if !bad.is_empty() {
            out.push_str("<p><b>FAILED and NON-STRICT:</b> ");
            for o in bad {
                let _ = write!(
                    out,
                    "<a class=\"{}\" href=\"#{id}\">{id}</a> ",
                    class(o.judgement.verdict),
                    id = escape(&o.id)
                );
            }
            out.push_str("</p>\n");
        }
        for o in &self.outcomes {
            case_html(&mut out, o);
        }
        out.push_str("</body></html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Judgement;
    use crate::wire::WireFrame;
    use std::time::{Duration, Instant};

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn page_has_cases_wire_and_no_external_assets() {
        let mut j = Judgement::new("echo of text (2 bytes)");
        j.fail("expected 1 echoes, observed 0; missing #1: <script>");
        let mut wire = WireLog::default();
        wire.push(WireFrame {
            at: Instant::now(),
            dir: Dir::Sent,
            fin: true,
            rsv: 0,
            opcode: 1,
            masked: true,
            len: 2,
            head: b"hi".to_vec(),
        });
        j.wire = std::sync::Arc::new(wire);
        let report = Report {
            mode: "server",
            target: "ws://127.0.0.1:1/".into(),
            agent: None,
            outcomes: vec![Outcome {
                id: "frame.1.2".into(),
                description: "text".into(),
                judgement: j,
                duration: Duration::from_millis(3),
            }],
            elapsed: Duration::from_secs(1),
        };
        let html = report.to_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("id=\"frame.1.2\" open"));
        assert!(html.contains("<td>TEXT</td><td>FIN MASK</td><td>2</td><td>&quot;hi&quot;</td>"));
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script"));
        assert!(html.contains("§5.2"));
        assert!(html.contains("<a class=\"fail\" href=\"#frame.1.2\">frame.1.2</a>"));
        for external in ["src=", "href=\"http", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
