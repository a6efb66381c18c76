//! The `bootscope` binary: argument parsing, error reporting and exit codes only.
//! Exit 0 = clean, 1 = error findings, 2 = failure (unreadable input, bad usage).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use bootscope::dissect::{self, DissectRunError};
use bootscope::model;

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
