//! What the command line says: every subcommand, flag and value, as clap reads them
//! (`--help`, the completions and the man pages are made from these definitions).
//! `main.rs` does what they ask.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use bootscope::{analyze, limits, model, rules_view};

use crate::cli_values::{self, whole};

#[derive(Parser)]
#[command(
    name = "bootscope",
    version,
    about = "Follow Cisco IP phones as they boot, from the wire"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Analyze the phone boots in a capture: one verdict per phone (status, the stage
    /// where it stalled, findings with evidence frames). Exit 0 when no error finding,
    /// 1 when any, 2 on failure.
    Analyze {
        /// pcap or pcapng files (or `-` for stdin), or directories of rotated captures
        /// (`tcpdump -C` / `-G`): several are merged by time into one capture.
        #[arg(required_unless_present = "read", value_parser = cli_values::capture)]
        captures: Vec<PathBuf>,
        /// A capture to read, as tshark's `-r` (may be repeated; read before the
        /// positional ones).
        #[arg(short = 'r', long = "read", value_name = "FILE", value_parser = cli_values::capture)]
        read: Vec<PathBuf>,
        /// Output: a table with the fleet summary, or the JSON report (docs/report.md).
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// One phone's troubleshooting report (MAC in any notation, or SEP name).
        #[arg(long, value_parser = cli_values::phone)]
        phone: Option<String>,
        #[command(flatten)]
        analysis: AnalysisArgs,
        /// Threads (0: every core). The report does not depend on it.
        #[arg(long, default_value_t = 0, value_parser = whole::<usize>)]
        threads: usize,
        /// Also write the whole report as one self-contained HTML page (fleet
        /// summary, phone table, a ladder diagram per phone).
        #[arg(long, value_name = "FILE", value_parser = cli_values::output_file)]
        html: Option<PathBuf>,
        /// A progress bar on stderr: `auto` for inputs of 256 MiB or more, `always`
        /// whatever the size, `never`. It is only drawn when stderr is a terminal,
        /// never into a file or a pipe.
        #[arg(long, value_enum, value_name = "WHEN", default_value_t = ProgressWhen::Auto)]
        progress: ProgressWhen,
        /// Also write one JSON object a line (NDJSON) per boot event and per finding,
        /// in Elastic Common Schema fields (docs/events.md); `-` for stdout.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        /// With --phone: write that phone's frames (its own, its servers' answers, its
        /// switch's announcements to it) to this pcap file, to attach to a case
        /// (docs/usage-export-inventory.md).
        #[arg(short = 'w', long = "write", value_name = "FILE", requires = "phone")]
        write: Option<PathBuf>,
    },
    /// Follow phones booting on an interface (a SPAN port): a line per event that
    /// matters (a status table on a terminal), stalls declared on the wall clock, and
    /// on Ctrl-C, SIGTERM or --duration the same report as `analyze`, with the capture
    /// counters. Needs a build with `--features live` (libpcap).
    Live(LiveArgs),
    /// Send the frames of a capture out of an interface at their recorded pace (for
    /// testing `live`; needs `--features live`).
    Replay {
        /// The interface to send on.
        #[arg(short, long)]
        interface: String,
        /// A pcap or pcapng file.
        #[arg(required_unless_present = "read", conflicts_with = "read", value_parser = cli_values::capture)]
        capture: Option<PathBuf>,
        /// The capture, as tshark's `-r`.
        #[arg(short = 'r', long = "read", value_name = "FILE", value_parser = cli_values::capture)]
        read: Option<PathBuf>,
        /// Pace: recorded time divided by this (2 = twice as fast); 0 = as fast as possible.
        #[arg(long, default_value_t = 1.0, value_parser = cli_values::non_negative)]
        speed: f64,
    },
    /// List every decoded CDP, LLDP, DHCP, TFTP, SCCP, SIP and HTTP (TCP 6970) message
    /// of a capture, one per line, as tshark would number the frames.
    Dissect {
        /// A pcap or pcapng file, or `-` for stdin.
        #[arg(required_unless_present = "read", conflicts_with = "read", value_parser = cli_values::capture)]
        capture: Option<PathBuf>,
        /// The capture to read, as tshark's `-r` (instead of the positional one).
        #[arg(short = 'r', long = "read", value_name = "FILE", value_parser = cli_values::capture)]
        read: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// What the rules hold, in words: the boot sequence's steps and the events that
    /// reach them, the event types and facts rules may use, the findings, file
    /// classes, phone markers and correlation windows.
    Rules {
        /// A rules directory instead of the builtin rules (see docs/rules.md).
        #[arg(long, value_parser = cli_values::rules_dir)]
        rules: Option<PathBuf>,
        /// Only these parts (every part when none is named).
        #[arg(value_enum)]
        sections: Vec<rules_view::Section>,
    },
    /// Run the reference boot model: write a capture of phones booting (and failing)
    /// as a scenario describes, with the expected outcome per phone.
    Simulate {
        /// A scenario file (JSON, see samples/*/scenario.json); not with --fleet.
        #[arg(required_unless_present = "fleet", value_parser = cli_values::scenario)]
        scenario: Option<PathBuf>,
        /// Where to write the capture (pcap).
        #[arg(short, long, value_parser = cli_values::output_file)]
        output: PathBuf,
        /// Where to write the expected outcome per phone (JSON).
        #[arg(long, value_parser = cli_values::output_file)]
        expected: Option<PathBuf>,
        /// Instead of a scenario file: a fleet of N phones (mixed healthy and faulty
        /// boots, with background PCs), streamed to disk.
        #[arg(long, conflicts_with = "scenario", value_parser = whole::<u32>)]
        fleet: Option<u32>,
        /// Seed for the fleet's faults and timing.
        #[arg(long, default_value_t = 1, value_parser = whole::<u64>)]
        seed: u64,
        /// Capture length in seconds for the fleet.
        #[arg(long, default_value_t = 600, value_parser = whole::<u64>)]
        duration: u64,
        /// Background traffic for the fleet (RTP and bulk TCP), in megabits per second.
        #[arg(long, default_value_t = 0.0, value_parser = cli_values::non_negative)]
        traffic_mbps: f64,
        /// The fleet's data-VLAN traffic: one file copy per PC, or PCs browsing
        /// (short HTTP and TLS connections).
        #[arg(long, value_enum, default_value_t = BulkArg::FileCopy)]
        bulk: BulkArg,
        /// Every phone of the fleet boots inside the capture (none was registered
        /// before it began): full timelines for all.
        #[arg(long)]
        all_boot: bool,
        /// A fleet of every phone family (7940/7960 SIP, 7937, 8831, 8821 wireless, 69xx,
        /// 78xx, 88xx, 99xx), each phone drawing its trust lists, its configuration's
        /// security, its TFTP timeout and, now and then, a secure registration over TLS.
        #[arg(long, requires = "fleet")]
        varied: bool,
        #[command(flatten)]
        flood: FloodArgs,
    },
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish
    /// (e.g. `bootscope completions bash > /etc/bash_completion.d/bootscope`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write one page per command to a
    /// directory (`bootscope man --out /usr/local/share/man/man1`).
    Man {
        /// Write bootscope.1, bootscope-analyze.1, … here instead.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// One row per phone of the captures: name, MAC, model, the load it runs and the
    /// one its configuration names, switch and port, voice and data VLAN, address,
    /// call manager, protocol and its last state (docs/usage-export-inventory.md).
    Inventory {
        /// pcap or pcapng files (or `-`), or directories, merged as `analyze` merges them.
        #[arg(required_unless_present = "read", value_parser = cli_values::capture)]
        captures: Vec<PathBuf>,
        /// A capture to read, as tshark's `-r` (may be repeated; read before the
        /// positional ones).
        #[arg(short = 'r', long = "read", value_name = "FILE", value_parser = cli_values::capture)]
        read: Vec<PathBuf>,
        /// Output: a table, CSV (RFC 4180, formula cells defused) or a JSON array.
        #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
        format: InventoryFormat,
        #[command(flatten)]
        analysis: AnalysisArgs,
    },
}

/// `inventory --format`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum InventoryFormat {
    /// A table.
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array, one object per phone.
    Json,
}

/// `simulate --bulk`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum BulkArg {
    /// One long file copy per PC.
    FileCopy,
    /// PCs browsing: short HTTP and TLS connections.
    Web,
}

/// When `analyze` draws its progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
// The variants' docs are `--help`'s text for each value (`auto`'s size is
// `Progress::LONG_BYTES`).
pub(crate) enum ProgressWhen {
    /// On a terminal, for inputs of 256 MiB or more.
    Auto,
    /// On a terminal, whatever the size.
    Always,
    /// Never.
    Never,
}

/// `bootscope live`'s arguments.
#[derive(clap::Args)]
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub(crate) struct LiveArgs {
    /// The interface to capture on.
    #[arg(short, long)]
    pub(crate) interface: String,
    /// A BPF capture filter instead of the default one (what boots are made of;
    /// see docs/usage.md). `-f ''` captures everything.
    #[arg(short, long)]
    pub(crate) filter: Option<String>,
    /// Also write every captured packet to this pcap file.
    #[arg(short, long, value_parser = cli_values::output_file)]
    pub(crate) write: Option<PathBuf>,
    /// Stop after this many seconds.
    #[arg(long, value_parser = cli_values::positive_seconds)]
    pub(crate) duration: Option<f64>,
    /// Output: event lines (a live table on a terminal) and the report table, or
    /// one JSON object per event line and the report as one JSON line.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub(crate) format: ReportFormat,
    /// At the end, one phone's troubleshooting report instead of the fleet's.
    #[arg(long, value_parser = cli_values::phone)]
    pub(crate) phone: Option<String>,
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,
    /// Bytes kept per packet.
    #[arg(long, default_value_t = 65_535, value_parser = whole::<u32>)]
    pub(crate) snaplen: u32,
    /// The kernel capture buffer, in MiB (tcpdump's -B is in KiB).
    #[arg(short = 'B', long, default_value_t = 32, value_parser = whole::<u32>)]
    pub(crate) buffer_size: u32,
    /// At the end, also write the report as one self-contained HTML page.
    #[arg(long, value_name = "FILE", value_parser = cli_values::output_file)]
    pub(crate) html: Option<PathBuf>,
    /// Serve Prometheus metrics on this address (`GET /metrics`), e.g.
    /// 127.0.0.1:9898 (docs/deployment.md).
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<std::net::SocketAddr>,
    /// The sensor's name in the metrics and events (default: the host name).
    #[arg(long, value_name = "NAME")]
    pub(crate) sensor: Option<String>,
    /// Also write one JSON object a line (NDJSON) per boot event and per finding
    /// (docs/events.md); `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) events: Option<PathBuf>,
    /// Once the interface is open and the -w, --events, --html and --inventory files are
    /// created, run as this user and its group, with no other group, as tcpdump's -Z
    /// (`nobody` when started as root). Started without root but with the capture
    /// capabilities, bootscope gives them all up instead.
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub(crate) user: Option<String>,
    /// At the end, also write the phone inventory (as `bootscope inventory`): JSON when
    /// FILE ends in `.json`, CSV otherwise.
    #[arg(long, value_name = "FILE")]
    pub(crate) inventory: Option<PathBuf>,
}

/// An attack added to the simulated site (`simulate`): a DHCP starvation flood and
/// half-open TCP flows. They replace a scenario file's `flood` when given.
#[derive(clap::Args)]
pub(crate) struct FloodArgs {
    /// Made-up DHCP clients of a starvation flood, one DISCOVER each.
    #[arg(long, value_name = "N", value_parser = whole::<u32>)]
    pub(crate) flood_macs: Option<u32>,
    /// DISCOVERs per second.
    #[arg(long, default_value_t = 10_000, value_parser = whole::<u32>)]
    pub(crate) flood_rate: u32,
    /// When the flood starts, in seconds from the capture's start.
    #[arg(long, default_value_t = 60.0, value_parser = cli_values::seconds)]
    pub(crate) flood_start: f64,
    /// One random Ethernet source per client (Yersinia), or one source forging the
    /// client addresses (dhcpstarv).
    #[arg(long, value_enum, default_value_t = FloodStyleArg::RandomSource)]
    pub(crate) flood_style: FloodStyleArg,
    /// Half-open TCP flows: SYNs nobody answers, to ports 2000, 2443, 5060, 6970.
    #[arg(long, value_name = "N", value_parser = whole::<u32>)]
    pub(crate) half_open: Option<u32>,
    /// SYNs per second.
    #[arg(long, default_value_t = 10_000, value_parser = whole::<u32>)]
    pub(crate) syn_rate: u32,
    /// Addresses free in the voice VLAN's DHCP scope (default with a flood: the
    /// phones' count and a tenth more; without: unlimited).
    #[arg(long, value_name = "N", value_parser = whole::<u32>)]
    pub(crate) dhcp_pool: Option<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FloodStyleArg {
    /// Yersinia: a random Ethernet source, the same random client address.
    RandomSource,
    /// dhcpstarv: one Ethernet source, random client addresses, real leases.
    OneSource,
}

impl FloodArgs {
    /// Add the attack to `sc`.
    pub(crate) fn apply(&self, sc: &mut model::Scenario) -> anyhow::Result<()> {
        if !(self.flood_start.is_finite() && self.flood_start >= 0.0) {
            anyhow::bail!("--flood-start must be a number of seconds, 0 or more");
        }
        if let Some(pool) = self.dhcp_pool {
            sc.site.dhcp_pool = Some(pool);
        }
        if self.flood_macs.is_none() && self.half_open.is_none() {
            return Ok(());
        }
        let phones = u32::try_from(sc.phones.len()).unwrap_or(u32::MAX);
        sc.site
            .dhcp_pool
            .get_or_insert(phones.saturating_add(phones / 10));
        let start_ms = (self.flood_start * 1000.0) as u64;
        sc.flood = Some(model::scenario::Flood {
            start_ms,
            macs: self.flood_macs.unwrap_or(0),
            rate: self.flood_rate,
            style: match self.flood_style {
                FloodStyleArg::RandomSource => model::scenario::FloodStyle::RandomSource,
                FloodStyleArg::OneSource => model::scenario::FloodStyle::OneSource,
            },
            vlan: None,
            half_open: self.half_open.unwrap_or(0),
            syn_start_ms: start_ms,
            syn_rate: self.syn_rate,
            storms: Vec::new(),
        });
        sc.check().map_err(anyhow::Error::msg)
    }
}

/// What `analyze` and `live` share: the rules and the bounds of the analysis.
#[derive(clap::Args)]
pub(crate) struct AnalysisArgs {
    /// A directory with your own boot_sequence.json and/or findings.json (docs/rules.md).
    #[arg(long, value_parser = cli_values::rules_dir)]
    pub(crate) rules: Option<PathBuf>,
    /// The heap the analysis may take, its report included, in MiB: the tables below
    /// are reserved at their worst and the devices get the rest (docs/usage.md, "Limits").
    #[arg(long, value_name = "MB", default_value_t = limits::DEFAULT_MAX_MEMORY_MB, value_parser = whole::<usize>)]
    pub(crate) max_memory: usize,
    /// Devices followed at once; past it the oldest device never shown to be a
    /// phone is forgotten (a flood of made-up DHCP clients cannot shut phones out);
    /// only a table full of phones refuses one. Evictions and refusals are counted.
    #[arg(long, default_value_t = bootscope::engine::DEFAULT_MAX_DEVICES, value_parser = whole::<usize>)]
    pub(crate) max_devices: usize,
    /// TCP stream directions followed at once; past it the oldest half-open one
    /// (a SYN, no byte since) is forgotten.
    #[arg(long, default_value_t = limits::DEFAULT_MAX_STREAMS, value_parser = whole::<usize>)]
    pub(crate) max_streams: usize,
    /// Open transactions per table (TFTP transfers, HTTP requests, SIP REGISTERs).
    #[arg(long, default_value_t = bootscope::engine::DEFAULT_MAX_TRANSACTIONS, value_parser = whole::<usize>)]
    pub(crate) max_flows: usize,
}

impl AnalysisArgs {
    pub(crate) fn options(self, threads: usize) -> anyhow::Result<analyze::Options> {
        let l = limits::Limits::new(
            self.max_memory,
            self.max_devices,
            self.max_streams,
            self.max_flows,
        )?;
        Ok(analyze::Options {
            rules: self.rules,
            limits: l.engine,
            streams: l.streams,
            threads,
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ReportFormat {
    /// A table, one row per phone, and the fleet summary.
    Table,
    /// The report as one JSON document (docs/report.md).
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned text lines.
    Text,
    /// One JSON object per line.
    Json,
}
