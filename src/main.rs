//! The `bootscope` binary: does what the command line (`cli.rs`) asks, reports errors,
//! and sets the exit code.
//! Exit 0 = clean, 1 = error findings, 2 = failure (unreadable input, bad usage).

// As in the library: no indexing, unwrap, expect or panic outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};

use bootscope::dissect::{self, DissectRunError};
use bootscope::{analyze, engine, heap, model, report, rules_view};

mod cli;
mod cli_docs;
mod cli_values;

use cli::{
    BulkArg, Cli, Command, InventoryFormat, LiveArgs, OutputFormat, ProgressWhen, ReportFormat,
};

/// The report, as the format asks: for the fleet or one phone (`phone`). `one_line`
/// writes the JSON document on one line (live sessions emit JSON lines). The exit
/// status: 1 when an error finding is reported, 0 otherwise.
fn print_report(
    report: &report::Report,
    format: ReportFormat,
    phone: Option<&str>,
    source: &str,
    one_line: bool,
) -> anyhow::Result<u8> {
    let one = match phone {
        Some(q) => Some(
            report
                .find(q)
                .with_context(|| {
                    format!("no phone {q} in {source} (expected the MAC or device name of a device of its report)")
                })?,
        ),
        None => None,
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let json = |out: &mut io::BufWriter<_>, v: &dyn erased::Json| -> io::Result<()> {
        if one_line {
            v.write_line(out)
        } else {
            v.write_pretty(out)
        }
    };
    // The JSON document is streamed, never built in memory whole.
    let written = match (one, format) {
        (Some(p), ReportFormat::Table) => {
            let text = report::table::capture_findings(report)
                + &report::phone::render(p)
                + &bootscope::export::filter_section(report, p);
            out.write_all(text.as_bytes())
        }
        (Some(p), ReportFormat::Json) => json(&mut out, p),
        (None, ReportFormat::Table) => {
            out.write_all(report::table::render(report, None).as_bytes())
        }
        (None, ReportFormat::Json) if !one_line => report::write_json(report, &mut out),
        (None, ReportFormat::Json) => json(&mut out, report),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e).context("writing the report"),
    }
    let errors = match one {
        Some(p) => p
            .findings
            .iter()
            .any(|f| f.severity == rules::Severity::Error),
        None => report.has_errors(),
    };
    Ok(u8::from(errors))
}

/// JSON output of either a whole report or one phone's, pretty or on one line.
mod erased {
    use std::io::{self, Write};

    pub trait Json {
        fn write_pretty(&self, out: &mut dyn Write) -> io::Result<()>;
        fn write_line(&self, out: &mut dyn Write) -> io::Result<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write_pretty(&self, out: &mut dyn Write) -> io::Result<()> {
            serde_json::to_writer_pretty(&mut *out, self)?;
            writeln!(out)
        }
        fn write_line(&self, out: &mut dyn Write) -> io::Result<()> {
            serde_json::to_writer(&mut *out, self)?;
            writeln!(out)
        }
    }
}

/// The report as one self-contained HTML page at `path`.
fn write_html(report: &report::Report, path: &std::path::Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    write_html_to(report, file, path)
}

/// [`write_html`] into `file`, created before (`live` creates it while it may).
fn write_html_to(
    report: &report::Report,
    file: std::fs::File,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, file);
    report::html::write(report, &mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("writing {}", path.display()))
}

/// A progress bar on stderr for long files, only when stderr is a terminal.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// Below this many bytes in all, `auto` draws no bar: it would only flicker.
    const LONG_BYTES: u64 = 256 << 20;

    /// Whether a bar is drawn for `total` bytes of input: never into a file or a
    /// pipe (`terminal` false), where it would only be noise in a log.
    fn wanted(when: ProgressWhen, terminal: bool, total: u64) -> bool {
        terminal
            && match when {
                ProgressWhen::Auto => total >= Self::LONG_BYTES,
                ProgressWhen::Always => true,
                ProgressWhen::Never => false,
            }
    }

    /// A bar for `total` bytes of input, drawn as `when` says.
    fn new(total: u64, when: ProgressWhen) -> Self {
        use std::io::IsTerminal as _;
        if !Self::wanted(when, io::stderr().is_terminal(), total) {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Progress(Some(bar))
    }

    fn update(&mut self, done: u64, total: u64) {
        if let Some(b) = &self.0 {
            b.set_length(total);
            b.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

const NO_LIBPCAP: &str = "this bootscope was built without live capture (libpcap). Install \
     libpcap (Debian/Ubuntu: `apt install libpcap-dev`) and build with \
     `cargo build --release --features live`";

#[cfg(not(feature = "live"))]
fn live(_: LiveArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(NO_LIBPCAP)
}

#[cfg(not(feature = "live"))]
fn replay(_: &str, _: &std::path::Path, _: f64) -> anyhow::Result<ExitCode> {
    anyhow::bail!(NO_LIBPCAP)
}

#[cfg(feature = "live")]
fn live(a: LiveArgs) -> anyhow::Result<ExitCode> {
    use bootscope::capture::live::LiveConfig;
    use bootscope::live::{self, LiveOptions, Output};

    let _ = NO_LIBPCAP;
    let analysis = a.analysis.options(1).context("live")?;
    let rules = analyze::load_rules(analysis.rules.as_deref()).context("live")?;
    let duration = match a.duration {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            anyhow::bail!("--duration must be a positive number of seconds")
        }
        Some(s) => Some(std::time::Duration::from_secs_f64(s)),
        None => None,
    };
    let opts = LiveOptions {
        source: LiveConfig {
            interface: a.interface.clone(),
            filter: a
                .filter
                .clone()
                .unwrap_or_else(|| live::DEFAULT_FILTER.to_owned()),
            snaplen: a.snaplen,
            buffer_bytes: a.buffer_size.saturating_mul(1 << 20),
            read_timeout_ms: 100,
            write: a.write.clone(),
        },
        duration,
        analysis,
        output: match a.format {
            ReportFormat::Json => Output::Json,
            ReportFormat::Table => Output::for_stdout(),
        },
        poll: std::time::Duration::from_millis(500),
        metrics: a.metrics,
        events: a.events.clone(),
        sensor: a.sensor.clone().unwrap_or_else(live::metrics::hostname),
        run_as: match &a.user {
            Some(u) => live::privilege::RunAs::User(u.clone()),
            None => live::privilege::RunAs::Default,
        },
    };
    // Created now: the session gives up its privileges once the interface is open.
    let create = |path: &Option<PathBuf>| -> anyhow::Result<_> {
        match path {
            Some(path) => Ok(Some((
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
                path.clone(),
            ))),
            None => Ok(None),
        }
    };
    let html = create(&a.html)?;
    let inventory = create(&a.inventory)?;
    let stop = live::stop_on_signals().context("installing the signal handlers")?;
    let filter_note = match &a.filter {
        None => "the default boot filter".to_owned(),
        Some(f) if f.is_empty() => "no filter".to_owned(),
        Some(f) => format!("filter '{f}'"),
    };
    let mut stdout = io::stdout();
    let session = live::run(&opts, &rules, &stop, &mut stdout, |src, dropped| {
        eprintln!(
            "bootscope: listening on {} ({}, {filter_note}), {dropped}; Ctrl-C or SIGTERM for \
             the report",
            a.interface,
            src.linktype()
        );
    })
    .context("live")?;
    let report = session.report;
    let mut err = io::stderr().lock();
    if session.events_dropped > 0 {
        let n = session.events_dropped;
        let _ = writeln!(
            err,
            "bootscope: {n} event line(s) dropped (the reader did not keep up)"
        );
    }
    for w in &report.capture.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    drop(err);
    if let Some((file, path)) = html {
        write_html_to(&report, file, &path)?;
    }
    if let Some((file, path)) = inventory {
        bootscope::inventory::write_file_to(&report, file, &path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let code = print_report(
        &report,
        a.format,
        a.phone.as_deref(),
        &format!("the capture on {}", a.interface),
        true,
    )?;
    // A lost interface or a -w file that could not be written: said last, exit 2.
    let faults: Vec<_> = session.lost.iter().chain(&session.write_failed).collect();
    for e in &faults {
        eprintln!("bootscope: {e}");
    }
    Ok(ExitCode::from(if faults.is_empty() { code } else { 2 }))
}

#[cfg(feature = "live")]
fn replay(interface: &str, capture: &std::path::Path, speed: f64) -> anyhow::Result<ExitCode> {
    if !(speed.is_finite() && speed >= 0.0) {
        anyhow::bail!("--speed must be 0 (as fast as possible) or a positive factor");
    }
    let s = bootscope::live::replay(capture, interface, speed).context("replay")?;
    for w in &s.read.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "bootscope: sent {} frame(s), {} bytes, in {:.2} s on {interface}; {} not Ethernet \
         (skipped), {} refused{}",
        s.sent,
        s.bytes,
        s.elapsed.as_secs_f64(),
        s.skipped,
        s.failed,
        s.first_failure
            .map(|f| format!(" (first: {f})"))
            .unwrap_or_default()
    );
    Ok(if s.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

fn main() -> ExitCode {
    let heap_stats = std::env::var_os("BOOTSCOPE_HEAP_STATS").is_some();
    if heap_stats {
        heap::count();
    }
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bootscope: {e:#}");
            ExitCode::from(2)
        }
    };
    if heap_stats {
        eprintln!("bootscope: peak heap {} bytes", heap::peak());
    }
    code
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze {
            captures,
            read,
            format,
            phone,
            analysis,
            threads,
            html,
            progress,
            events,
            write,
        } => {
            let captures: Vec<PathBuf> = read.into_iter().chain(captures).collect();
            let opts = analysis.options(threads).context("analyze")?;
            if write.is_some() && captures.iter().any(|c| c.as_os_str() == "-") {
                anyhow::bail!("-w reads the capture a second time: it cannot come on stdin");
            }
            // The verdicts and the JSON are made on rayon's pool: as many threads as
            // asked (0: a thread a core), this one among them. It would otherwise only
            // wait; and the memory the devices free as they are judged is this
            // thread's to reuse, where the other threads would map fresh pages in.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .use_current_thread()
                .build_global();
            let rules = analyze::load_rules(opts.rules.as_deref()).context("analyze")?;
            let files = analyze::expand(&captures).context("analyze")?;
            if files.is_empty() {
                let named: Vec<String> = captures.iter().map(|c| c.display().to_string()).collect();
                anyhow::bail!("no capture file in {}", named.join(", "));
            }
            let capture_bytes: u64 = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
            let mut bar = Progress::new(capture_bytes, progress);
            let report = analyze::run_files(&files, &rules, &opts, &mut |done, total| {
                bar.update(done, total);
            })
            .context("analyze")?;
            bar.finish();
            let mut err = io::stderr().lock();
            for w in &report.capture.warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            drop(err);
            if let Some(path) = &html {
                write_html(&report, path)?;
            }
            if let Some(path) = &events {
                bootscope::events::write_to(&report, path)
                    .with_context(|| format!("writing events to {}", path.display()))?;
            }
            let source = match files.as_slice() {
                [one] => one.display().to_string(),
                _ => format!("the {} capture files", files.len()),
            };
            if let (Some(path), Some(q)) = (&write, phone.as_deref()) {
                let p = report
                    .find(q)
                    .with_context(|| format!("no phone {q} in {source}"))?;
                let n = bootscope::export::write_file(&files, &report, p, path)
                    .with_context(|| format!("exporting to {}", path.display()))?;
                eprintln!("bootscope: {n} frames written to {}", path.display());
            }
            let status = print_report(&report, format, phone.as_deref(), &source, false)?;
            Ok(ExitCode::from(status))
        }
        Command::Rules { rules, sections } => {
            let set = analyze::load_rules(rules.as_deref()).context("rules")?;
            let text = rules_view::render(&set, &engine::facts::vocabulary(), &sections);
            io::stdout().lock().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Live(args) => live(args),
        Command::Replay {
            interface,
            capture,
            read,
            speed,
        } => {
            // clap requires one of the two.
            let capture = read.or(capture).unwrap_or_default();
            replay(&interface, &capture, speed)
        }
        Command::Simulate {
            scenario,
            output,
            expected,
            fleet,
            seed,
            duration,
            traffic_mbps,
            bulk,
            all_boot,
            varied,
            flood,
        } => {
            let mut sc = match (scenario, fleet) {
                (Some(path), _) => model::Scenario::load(&path)?,
                (None, Some(n)) => {
                    let mut sc = if varied {
                        model::fleet::varied(n, seed, duration, traffic_mbps)
                    } else {
                        model::fleet::with_traffic(n, seed, duration, traffic_mbps)
                    };
                    sc.background.bulk = match bulk {
                        BulkArg::FileCopy => model::scenario::Bulk::FileCopy,
                        BulkArg::Web => model::scenario::Bulk::Web,
                    };
                    if all_boot {
                        for p in &mut sc.phones {
                            p.already_registered = false;
                        }
                    }
                    sc
                }
                (None, None) => anyhow::bail!("give a scenario file or --fleet N"),
            };
            flood.apply(&mut sc)?;
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
        Command::Inventory {
            captures,
            read,
            format,
            analysis,
        } => {
            let captures: Vec<PathBuf> = read.into_iter().chain(captures).collect();
            let opts = analysis.options(0).context("inventory")?;
            let rules = analyze::load_rules(opts.rules.as_deref()).context("inventory")?;
            let files = analyze::expand(&captures).context("inventory")?;
            anyhow::ensure!(!files.is_empty(), "no capture file given");
            let report =
                analyze::run_files(&files, &rules, &opts, &mut |_, _| {}).context("inventory")?;
            for w in &report.capture.warnings {
                eprintln!("warning: {w}");
            }
            let format = match format {
                InventoryFormat::Table => bootscope::inventory::Format::Table,
                InventoryFormat::Csv => bootscope::inventory::Format::Csv,
                InventoryFormat::Json => bootscope::inventory::Format::Json,
            };
            let rows = bootscope::inventory::rows(&report);
            let mut out = io::BufWriter::new(io::stdout().lock());
            match bootscope::inventory::write(&rows, format, &mut out).and_then(|()| out.flush()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    return Err(e).context("writing the inventory")
                }
                _ => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dissect {
            capture,
            read,
            format,
        } => {
            // clap requires one of the two.
            let capture = read.or(capture).unwrap_or_else(|| PathBuf::from("-"));
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
        Command::Completions { shell } => {
            cli_docs::to_stdout(|out| {
                cli_docs::completions(shell, Cli::command(), out);
                Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => {
            cli_docs::to_stdout(|w| cli_docs::man(Cli::command(), out.as_deref(), w))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Progress, ProgressWhen};

    #[test]
    fn the_bar_is_drawn_only_on_a_terminal_and_by_default_only_for_long_inputs() {
        let long = Progress::LONG_BYTES;
        for (when, terminal, total, want) in [
            (ProgressWhen::Auto, true, long, true),
            (ProgressWhen::Auto, true, long - 1, false),
            (ProgressWhen::Auto, false, long * 4, false),
            (ProgressWhen::Always, true, 1, true),
            (ProgressWhen::Always, false, long, false),
            (ProgressWhen::Never, true, long * 4, false),
        ] {
            assert_eq!(
                Progress::wanted(when, terminal, total),
                want,
                "{when:?}, terminal {terminal}, {total} bytes"
            );
        }
    }
}
