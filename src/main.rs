//! The `bootscope` binary: argument parsing, error reporting and exit codes only.
//! Exit 0 = clean, 1 = error findings, 2 = failure (unreadable input, bad usage).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use bootscope::dissect::{self, DissectRunError};
use bootscope::{analyze, model, report};

#[derive(Parser)]
#[command(
    name = "bootscope",
    version,
    about = "Follow Cisco IP phones as they boot, from the wire"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyze the phone boots in a capture: one verdict per phone (status, the stage
    /// where it stalled, findings with evidence frames). Exit 0 when no error finding,
    /// 1 when any, 2 on failure.
    Analyze {
        /// A pcap or pcapng file, or `-` for stdin.
        capture: PathBuf,
        /// Output: a table with the fleet summary, or the CONTRACT JSON document.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// One phone's troubleshooting report (MAC in any notation, or SEP name).
        #[arg(long)]
        phone: Option<String>,
        /// A directory with your own boot_sequence.json and/or findings.json.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Devices followed at most; past it new devices are refused and counted.
        #[arg(long, default_value_t = 200_000)]
        max_devices: usize,
        /// TCP stream directions followed at once.
        #[arg(long, default_value_t = 65_536)]
        max_streams: usize,
        /// Also write the whole report as one self-contained HTML page (fleet
        /// summary, phone table, a ladder diagram per phone).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// List every decoded CDP, LLDP, DHCP, TFTP, SCCP, SIP and HTTP (TCP 6970) message
    /// of a capture, one per line, as tshark would number the frames.
    Dissect {
        /// A pcap or pcapng file, or `-` for stdin.
        capture: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Run the reference boot model: write a capture of phones booting (and failing)
    /// as a scenario describes, with the expected outcome per phone.
    Simulate {
        /// A scenario file (JSON, see samples/*/scenario.json); not with --fleet.
        #[arg(required_unless_present = "fleet")]
        scenario: Option<PathBuf>,
        /// Where to write the capture (pcap).
        #[arg(short, long)]
        output: PathBuf,
        /// Where to write the expected outcome per phone (JSON).
        #[arg(long)]
        expected: Option<PathBuf>,
        /// Instead of a scenario file: a fleet of N phones (mixed healthy and faulty
        /// boots, with background PCs), streamed to disk.
        #[arg(long, conflicts_with = "scenario")]
        fleet: Option<u32>,
        /// Seed for the fleet's faults and timing.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Capture length in seconds for the fleet.
        #[arg(long, default_value_t = 600)]
        duration: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    /// A table, one row per phone, and the fleet summary.
    Table,
    /// The report as one JSON document (../shared/CONTRACT.md).
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    /// Aligned text lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bootscope: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze {
            capture,
            format,
            phone,
            rules,
            max_devices,
            max_streams,
            html,
        } => {
            let opts = analyze::Options {
                rules,
                limits: bootscope::engine::EngineLimits { max_devices },
                streams: bootscope::reassembly::StreamLimits {
                    max_streams,
                    ..Default::default()
                },
            };
            let report = analyze::run(&capture, &opts).context("analyze")?;
            let mut err = io::stderr().lock();
            for w in &report.capture.warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            drop(err);
            if let Some(q) = &phone {
                if report.find(q).is_none() {
                    anyhow::bail!("no phone {q} in {}", capture.display());
                }
            }
            if let Some(path) = &html {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                let mut w = io::BufWriter::with_capacity(1 << 16, file);
                report::html::write(&report, &mut w)
                    .and_then(|()| w.flush())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            // The JSON document is streamed, never built in memory whole.
            let written = match (phone.as_deref().and_then(|q| report.find(q)), format) {
                (Some(p), ReportFormat::Table) => {
                    out.write_all(report::phone::render(p).as_bytes())
                }
                (Some(p), ReportFormat::Json) => serde_json::to_writer_pretty(&mut out, p)
                    .map_err(io::Error::from)
                    .and_then(|()| writeln!(out)),
                (None, ReportFormat::Table) => {
                    out.write_all(report::table::render(&report, None).as_bytes())
                }
                (None, ReportFormat::Json) => report::write_json(&report, &mut out),
            };
            match written.and_then(|()| out.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("writing the report"),
            }
            let errors = match &phone {
                Some(q) => report.find(q).is_some_and(|p| {
                    p.findings
                        .iter()
                        .any(|f| f.severity == rules::Severity::Error)
                }),
                None => report.has_errors(),
            };
            Ok(if errors {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Simulate {
            scenario,
            output,
            expected,
            fleet,
            seed,
            duration,
        } => {
            let sc = match (scenario, fleet) {
                (Some(path), _) => model::Scenario::load(&path)?,
                (None, Some(n)) => model::fleet::scenario(n, seed, duration),
                (None, None) => anyhow::bail!("give a scenario file or --fleet N"),
            };
            let file = std::fs::File::create(&output)
                .with_context(|| format!("creating {}", output.display()))?;
            let out = io::BufWriter::with_capacity(1 << 20, file);
            let (_, report) = model::simulate(&sc, out)
                .with_context(|| format!("writing {}", output.display()))?;
            if let Some(path) = expected {
                let text = serde_json::to_string_pretty(&report)? + "\n";
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dissect { capture, format } => {
            let format = match format {
                OutputFormat::Text => dissect::Format::Text,
                OutputFormat::Json => dissect::Format::Json,
            };
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
            let summary = match dissect::run(&capture, format, &mut out) {
                Ok(s) => s,
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                Err(DissectRunError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::SUCCESS)
                }
                Err(e) => return Err(e).context("dissect"),
            };
            drop(out);
            let mut err = io::stderr().lock();
            for w in &summary.capture.warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            if summary.capture.suppressed_warnings > 0 {
                let n = summary.capture.suppressed_warnings;
                let _ = writeln!(err, "warning: {n} more capture warnings not listed");
            }
            for w in &summary.warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
