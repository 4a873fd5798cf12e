//! `ws-conformance`: an RFC 6455 conformance tester for WebSocket servers and clients, on `std`
//! alone.
//!
//! It speaks the protocol through its own raw frame writer and reader ([`raw`]) and its own
//! HTTP handshake code ([`http`]), so that it can send what a correct implementation never
//! would. Cases ([`cases`]) are data: an id tied to an RFC rule, a description, a script and an
//! expectation ([`case`]). A [`session`] records what the peer does, the [`runner`] plays a
//! script, the [`judge`] gives the verdict, [`report`] prints and writes JSON.
//!
//! - `ws-conformance server ws://HOST:PORT/PATH` tests an echo server ([`server_mode`]);
//! - `ws-conformance client --listen ADDR` tests a client driven by an adapter
//!   ([`client_mode`]).
//!
//! Run `ws-conformance --help` for the options and the client-mode contract.

mod case;
mod cases;
mod cli;
mod client_mode;
// Our DEFLATE codec, shared with the library rather than exposed by it (it is not public API).
#[path = "../../deflate/mod.rs"]
mod deflate;
mod expect;
mod html;
mod http;
mod judge;
mod pmd;
mod random;
mod raw;
mod report;
mod runner;
mod server_mode;
mod session;
mod wire;

use std::process::ExitCode;

use cli::{Command, Parsed};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match cli::parse(&args) {
        Ok(Parsed::Help) => {
            print!("{}", cli::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("ws-conformance {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(opts)) => opts,
        Err(e) => {
            eprintln!("ws-conformance: {e}\nTry `ws-conformance --help`.");
            return ExitCode::from(2);
        }
    };
    let expected = match &opts.expect {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| expect::parse(&t))
        {
            Ok(map) => Some(map),
            Err(e) => {
                eprintln!("ws-conformance: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let testing_client = matches!(opts.command, Command::Client { .. });
    let mut selected = cases::select(cases::all(), testing_client, &opts.cases);
    if opts.no_deflate {
        selected.retain(|c| !c.id.starts_with("pmd."));
    }
    if selected.is_empty() {
        eprintln!("ws-conformance: --cases selects no case for this mode");
        return ExitCode::from(2);
    }
    if opts.list {
        for c in &selected {
            println!("{:<14} {}", c.id, c.description);
            if opts.verbose {
                println!("{:<14} rule: {}", "", cases::rule_for(&c.id));
            }
        }
        return ExitCode::SUCCESS;
    }
    let result = match &opts.command {
        Command::Server { url } => server_mode::run(url, selected, &opts),
        Command::Client { listen } => client_mode::run(listen, selected, &opts),
    };
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("ws-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &opts.json {
        if let Err(e) = std::fs::write(path, report.to_json()) {
            eprintln!("ws-conformance: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(dir) = &opts.report {
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(dir.join("index.html"), report.to_html()))
            .and_then(|()| std::fs::write(dir.join("report.json"), report.to_json()));
        if let Err(e) = written {
            eprintln!(
                "ws-conformance: cannot write the report in {}: {e}",
                dir.display()
            );
            return ExitCode::from(2);
        }
    }
    if !opts.quiet {
        print!("{}", report.summary());
    }
    println!("{}", report.summary_line());
    if let (Some(expected), Some(path)) = (&expected, &opts.expect) {
        let diffs = expect::compare(&report, expected);
        for d in &diffs {
            println!("  differs: {d}");
        }
        println!(
            "ws-conformance: EXPECT {} differ={} file={}",
            if diffs.is_empty() { "MATCH" } else { "DIFFER" },
            diffs.len(),
            path.display()
        );
        return if diffs.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    if report.any_failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
