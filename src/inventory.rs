//! The phone inventory (`bootscope inventory`): one row per phone of a report, with
//! what the wire said of it — name, MAC, model, the load it runs and the one its
//! configuration names, the switch and port it is on, its VLANs, address, call manager
//! and protocol — and its last state. Drawn as a table, CSV or JSON from any
//! [`Report`] (a file's analysis or a live session's), so it costs the analysis
//! nothing.
//!
//! Every string in a row was escaped where the engine took it from the wire; the table
//! escapes again anything that could still steer a terminal, and CSV quotes as RFC 4180
//! says and defuses cells a spreadsheet would take for a formula.

use std::io::{self, Write};

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use crate::engine::inventory::Facts;
use crate::report::{PhoneReport, Report};

/// One phone's inventory row (the JSON and CSV columns, in order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Its device name (`SEP…`).
    pub device_name: Option<String>,
    /// Lower-case, colon-separated MAC.
    pub mac: Option<String>,
    /// CDP platform, else LLDP-MED model, else what the report calls its model (SCCP
    /// device type, SIP User-Agent), else its DHCP vendor class.
    pub model: Option<String>,
    /// DHCP option 60.
    pub vendor_class: Option<String>,
    /// The load it runs: CDP software version, else LLDP-MED software revision, else
    /// the `Load=` of its SCCP alarm.
    pub firmware_active: Option<String>,
    /// The load its configuration file names (`loadInformation`): the one it runs
    /// next when it differs.
    pub firmware_configured: Option<String>,
    /// Its SCCP alarm text (`Name=… Load=… Last=…`).
    pub alarm: Option<String>,
    /// The switch that answered it: CDP device id, else LLDP system name.
    pub switch: Option<String>,
    /// The switch port (CDP / LLDP Port ID).
    pub port: Option<String>,
    /// The voice VLAN the switch gave.
    pub voice_vlan: Option<u16>,
    /// The port's data VLAN (CDP native VLAN, LLDP port VLAN id).
    pub data_vlan: Option<u16>,
    /// The VLAN its DHCP came on.
    pub dhcp_vlan: Option<u16>,
    /// Its address.
    pub ip: Option<String>,
    /// The call manager it registered with (or tried first).
    pub call_manager: Option<String>,
    /// `sccp` or `sip`.
    pub protocol: Option<String>,
    /// Its signalling went over TLS (a handshake or encrypted records with a call manager).
    pub tls: bool,
    /// registered, stalled, in_progress.
    pub status: String,
    /// The stage it stalled at.
    pub stage: Option<String>,
}

/// Timeline event types that show TLS signalling with a call manager.
const TLS_EVENTS: [&str; 7] = [
    "cm_tls",
    "tls_client_hello",
    "tls_server_hello",
    "tls_alert",
    "tls_handshake_done",
    "tls_session_up",
    "tls_handshake_failed",
];

impl Row {
    /// The row of one phone.
    pub fn of(p: &PhoneReport) -> Self {
        let none = Facts::default();
        let f = p.inventory.as_deref().unwrap_or(&none);
        let s = |v: &Option<Box<str>>| v.as_deref().map(str::to_owned);
        let alarm_load = f.alarm.as_deref().and_then(alarm_load);
        Row {
            device_name: p.device_name.clone(),
            mac: p.mac.clone(),
            model: s(&f.said.platform)
                .or_else(|| p.model.clone())
                .or_else(|| s(&f.said.vendor_class)),
            vendor_class: s(&f.said.vendor_class),
            firmware_active: s(&f.said.firmware).or(alarm_load),
            firmware_configured: p.config.as_ref().and_then(|c| c.load.clone()),
            alarm: s(&f.alarm),
            switch: s(&f.said.switch_name),
            port: s(&f.switch_port),
            voice_vlan: f.voice_vlan,
            data_vlan: f.said.data_vlan,
            dhcp_vlan: p.vlan,
            ip: p.ip.clone(),
            call_manager: p.callmanager.clone(),
            protocol: p.protocol.map(str::to_owned),
            tls: p.timeline.iter().any(|e| TLS_EVENTS.contains(&e.kind)),
            status: p.status.as_str().to_owned(),
            stage: p.stalled_stage.map(|s| s.as_str().to_owned()),
        }
    }

    /// The cells, in the column order of [`COLUMNS`].
    fn cells(&self) -> [String; 18] {
        let t = |v: &Option<String>| v.clone().unwrap_or_default();
        let n = |v: Option<u16>| v.map(|v| v.to_string()).unwrap_or_default();
        [
            t(&self.device_name),
            t(&self.mac),
            t(&self.model),
            t(&self.vendor_class),
            t(&self.firmware_active),
            t(&self.firmware_configured),
            t(&self.alarm),
            t(&self.switch),
            t(&self.port),
            n(self.voice_vlan),
            n(self.data_vlan),
            n(self.dhcp_vlan),
            t(&self.ip),
            t(&self.call_manager),
            t(&self.protocol),
            self.tls.to_string(),
            self.status.clone(),
            t(&self.stage),
        ]
    }
}

/// The CSV header (the JSON keys).
pub const COLUMNS: [&str; 18] = [
    "device_name",
    "mac",
    "model",
    "vendor_class",
    "firmware_active",
    "firmware_configured",
    "alarm",
    "switch",
    "port",
    "voice_vlan",
    "data_vlan",
    "dhcp_vlan",
    "ip",
    "call_manager",
    "protocol",
    "tls",
    "status",
    "stage",
];

/// The load named in an SCCP alarm text (`Load=…`, up to the next space).
fn alarm_load(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("Load=")?;
    let load = rest.split(' ').next().unwrap_or_default();
    (!load.is_empty()).then(|| load.to_owned())
}

/// The rows of every phone of `report`, in the report's order (by MAC).
pub fn rows(report: &Report) -> Vec<Row> {
    report.phones.iter().map(Row::of).collect()
}

/// How the inventory is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A terminal table.
    Table,
    /// CSV (RFC 4180), a header line first.
    Csv,
    /// A JSON array of rows.
    Json,
}

/// Write `rows` as `format` says.
///
/// # Errors
/// Writing fails.
pub fn write(rows: &[Row], format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => writeln!(out, "{}", table(rows)),
        Format::Csv => write_csv(rows, out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)
        }
    }
}

/// Write the inventory of `report` to the file `path`: JSON when its name ends in
/// `.json`, CSV otherwise (what `live --inventory FILE` writes at the end).
///
/// # Errors
/// The file cannot be created or written.
pub fn write_file(report: &Report, path: &std::path::Path) -> io::Result<()> {
    write_file_to(report, std::fs::File::create(path)?, path)
}

/// [`write_file`] into `file`, created before (`live` creates it while it may).
///
/// # Errors
/// The file cannot be written.
pub fn write_file_to(
    report: &Report,
    file: std::fs::File,
    path: &std::path::Path,
) -> io::Result<()> {
    let format = match path.extension() {
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Csv,
    };
    let mut out = io::BufWriter::new(file);
    write(&rows(report), format, &mut out)?;
    out.flush()
}

/// The table: the columns that fit a terminal.
pub fn table(rows: &[Row]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header([
        "Name",
        "MAC",
        "Model",
        "Firmware",
        "Config load",
        "Switch",
        "Port",
        "Voice",
        "Data",
        "IP",
        "Call manager",
        "Proto",
        "Status",
    ]);
    for r in rows {
        let c = r.cells();
        let proto = match (&r.protocol, r.tls) {
            (Some(p), true) => format!("{p}/tls"),
            (Some(p), false) => p.clone(),
            (None, true) => "tls".to_owned(),
            (None, false) => String::new(),
        };
        let status = match &r.stage {
            Some(s) => format!("{} at {s}", r.status),
            None => r.status.clone(),
        };
        let [name, mac, model, _, active, configured, _, switch, port, voice, data, _, ip, cm, ..] =
            c;
        t.add_row(
            [
                name, mac, model, active, configured, switch, port, voice, data, ip, cm, proto,
                status,
            ]
            .map(|s| terminal_safe(&s)),
        );
    }
    t
}

/// A cell as a terminal may show it: a string with a control character (which no
/// engine string has: they are escaped off the wire) is escaped again.
fn terminal_safe(s: &str) -> String {
    if s.chars().any(char::is_control) {
        let mut out = String::with_capacity(s.len() + 8);
        crate::escape::push_str(&mut out, s);
        out
    } else {
        s.to_owned()
    }
}

fn write_csv(rows: &[Row], out: &mut dyn Write) -> io::Result<()> {
    // RFC 4180: every line ends in CRLF.
    write!(out, "{}\r\n", COLUMNS.join(","))?;
    for r in rows {
        let line: Vec<String> = r.cells().iter().map(|c| csv_field(c)).collect();
        write!(out, "{}\r\n", line.join(","))?;
    }
    Ok(())
}

/// One CSV field: a cell a spreadsheet would read as a formula (it starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`; a field with a comma,
/// a quote or a line break is quoted, its quotes doubled (RFC 4180 2.6, 2.7).
pub fn csv_field(cell: &str) -> String {
    let defused;
    let cell = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        defused = format!("'{cell}");
        defused.as_str()
    } else {
        cell
    };
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alarm_names_its_load() {
        assert_eq!(
            alarm_load("Name=SEP001122334455 Load=SCCP45.9-3-1SR1S Last=Initialized").as_deref(),
            Some("SCCP45.9-3-1SR1S")
        );
        assert_eq!(alarm_load("Last=Initialized"), None);
        assert_eq!(alarm_load("Load= Last=x"), None);
    }
}
