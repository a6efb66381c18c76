//! The `bootscope` binary: argument parsing, error reporting and exit codes only.
//! Exit 0 = clean, 1 = error findings, 2 = failure (unreadable input, bad usage).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use bootscope::dissect::{self, DissectRunError};

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
