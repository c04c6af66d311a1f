//! `aftercare import visits --dealer D file.csv`: a DMS export backfilled through
//! the server's bulk path, with a progress bar, a summary, and a rejects file that
//! names every bad row by line. Safe to run again on the same file: repair orders
//! already recorded are counted as such and nothing is recorded twice.

use std::path::{Path, PathBuf};

use aftercare_proto::common::v1::{DealerId, Money};
use aftercare_proto::intake::v1 as pb;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::client::{ClientArgs, Output, status_error};

/// The columns of a visits file; the header row names them, in any order.
pub const COLUMNS: [&str; 12] = [
    "repair_order",
    "vin",
    "customer_id",
    "opened_at",
    "closed_at",
    "mileage_km",
    "kind",
    "labour_fen",
    "parts_fen",
    "service_advisor",
    "advisor_group",
    "fault_codes",
];
const REQUIRED: [&str; 6] = [
    "repair_order",
    "vin",
    "opened_at",
    "closed_at",
    "kind",
    "service_advisor",
];

/// A row that could not even be read into a repair order (the server judges the rest).
pub struct Unreadable {
    pub line: u64,
    pub repair_order: String,
    pub reason: String,
}

fn timestamp(text: &str, column: &str) -> Result<Option<prost_types::Timestamp>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| {
            Some(prost_types::Timestamp {
                seconds: t.as_second(),
                nanos: t.subsec_nanosecond(),
            })
        })
        .map_err(|e| format!("{column}: {:?} is not an RFC 3339 time ({e})", text.trim()))
}

fn integer(text: &str, column: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse()
        .map_err(|_| format!("{column}: {text:?} is not a whole number"))
}

fn kind(text: &str) -> i32 {
    let kind = aftercare_intake::domain::visit::VisitKind::parse(text);
    kind.map_or(pb::VisitKind::Unspecified, pb::VisitKind::from) as i32
}

/// A repair order with the line it came from.
pub type Row = (u64, pb::RepairOrder);

/// Reads the file into repair orders (with their line numbers) and the rows that
/// could not be read.
/// The character set of an import file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TextEncoding {
    /// UTF-8 when the file is valid UTF-8, else GB18030 (which covers GBK).
    #[default]
    Auto,
    Utf8,
    /// GB18030, and so GBK and GB2312: what most Chinese DMS exports are.
    Gb18030,
}

/// The file's text, decoded as `encoding` says (a UTF-8 byte-order mark is
/// dropped), or why it cannot be.
pub fn decode(bytes: &[u8], encoding: TextEncoding, path: &Path) -> anyhow::Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf8 = || {
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
            anyhow::anyhow!(
                "{}: not UTF-8 (byte {}); for a GBK or GB18030 export use --encoding gb18030",
                path.display(),
                e.valid_up_to()
            )
        })
    };
    let gb18030 = || {
        let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
        if had_errors {
            bail!("{}: not GB18030 text either", path.display());
        }
        Ok(text.into_owned())
    };
    match encoding {
        TextEncoding::Utf8 => utf8(),
        TextEncoding::Gb18030 => gb18030(),
        TextEncoding::Auto => utf8().or_else(|_| gb18030()),
    }
}

pub fn read(path: &Path, encoding: TextEncoding) -> anyhow::Result<(Vec<Row>, Vec<Unreadable>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot open {}", path.display()))?;
    let text = decode(&bytes, encoding, path)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().context("reading the header row")?.clone();
    let index = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let missing: Vec<_> = REQUIRED.iter().filter(|c| index(c).is_none()).collect();
    if !missing.is_empty() {
        bail!(
            "{}: the header row lacks {:?} (columns: {})",
            path.display(),
            missing,
            COLUMNS.join(",")
        );
    }
    let mut orders = Vec::new();
    let mut unreadable = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", path.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |name: &str| {
            index(name)
                .and_then(|i| record.get(i))
                .unwrap_or_default()
                .to_owned()
        };
        let parsed = (|| -> Result<pb::RepairOrder, String> {
            Ok(pb::RepairOrder {
                repair_order: cell("repair_order"),
                vin: cell("vin"),
                customer_id: cell("customer_id"),
                opened_at: timestamp(&cell("opened_at"), "opened_at")?,
                closed_at: timestamp(&cell("closed_at"), "closed_at")?,
                mileage_km: integer(&cell("mileage_km"), "mileage_km")?,
                kind: kind(&cell("kind")),
                labour: Some(Money {
                    fen: integer(&cell("labour_fen"), "labour_fen")?,
                }),
                parts: Some(Money {
                    fen: integer(&cell("parts_fen"), "parts_fen")?,
                }),
                service_advisor: cell("service_advisor"),
                advisor_group: cell("advisor_group"),
                fault_codes: cell("fault_codes")
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })();
        match parsed {
            Ok(order) => orders.push((line, order)),
            Err(reason) => unreadable.push(Unreadable {
                line,
                repair_order: cell("repair_order"),
                reason,
            }),
        }
    }
    Ok((orders, unreadable))
}

pub struct Summary {
    pub accepted: u64,
    pub already_recorded: u64,
    pub rejected: Vec<Unreadable>,
    pub rejects_file: Option<PathBuf>,
}

/// Repair orders per call: the progress moves by what the server recorded.
const CHUNK: usize = 5_000;

pub async fn visits(
    args: &ClientArgs,
    dealer: &str,
    path: &Path,
    encoding: TextEncoding,
    show_progress: bool,
) -> anyhow::Result<Summary> {
    let (orders, mut rejected) = read(path, encoding)?;
    let mut client =
        IntakeServiceClient::new(args.channel().await?).max_decoding_message_size(64 * 1024 * 1024);
    // Rows the file could not give as repair orders count as done and rejected.
    let unreadable = rejected.len() as u64;
    let total = orders.len() as u64 + unreadable;
    // On a terminal a bar; otherwise (cron, CI, `kubectl exec`) a line per chunk.
    let on_terminal = show_progress && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = if on_terminal {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "recorded [{bar:40}] {pos}/{len} repair orders ({per_sec}) {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    let dealer = DealerId {
        value: dealer.to_owned(),
    };
    let started = std::time::Instant::now();
    let mut summary = pb::RecordVisitsResponse::default();
    let mut done = unreadable;
    let mut orders = orders.into_iter().peekable();
    // Chunks the server answers one by one, so progress counts rows it has
    // recorded, not rows sent.
    while orders.peek().is_some() {
        let chunk: Vec<pb::RecordVisitsRequest> = orders
            .by_ref()
            .take(CHUNK)
            .map(|(line, order)| pb::RecordVisitsRequest {
                dealer: Some(dealer.clone()),
                repair_order: Some(order),
                line,
            })
            .collect();
        let size = chunk.len() as u64;
        let answer = client
            .record_visits(futures::stream::iter(chunk))
            .await
            .map_err(status_error)?
            .into_inner();
        summary.accepted += answer.accepted;
        summary.already_recorded += answer.already_recorded;
        summary.rejected.extend(answer.rejected);
        done += size;
        bar.set_position(done);
        let rejected_so_far = unreadable + summary.rejected.len() as u64;
        bar.set_message(format!("{rejected_so_far} rejected"));
        if show_progress && !on_terminal {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
            eprintln!(
                "{done} of {total} repair orders: {} accepted, {} already recorded, {rejected_so_far} rejected ({rate:.0}/s)",
                summary.accepted, summary.already_recorded,
            );
        }
    }
    bar.finish_and_clear();
    rejected.extend(summary.rejected.into_iter().map(|r| {
        Unreadable {
            line: r.line,
            repair_order: r.repair_order,
            reason: r
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }));
    rejected.sort_by_key(|r| r.line);
    let rejects_file = if rejected.is_empty() {
        None
    } else {
        let out = path.with_extension("rejects.csv");
        let mut writer = csv::Writer::from_path(&out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        writer.write_record(["line", "repair_order", "reason"])?;
        for r in &rejected {
            writer.write_record([r.line.to_string(), r.repair_order.clone(), r.reason.clone()])?;
        }
        writer.flush()?;
        Some(out)
    };
    Ok(Summary {
        accepted: summary.accepted,
        already_recorded: summary.already_recorded,
        rejected,
        rejects_file,
    })
}

pub fn print(summary: &Summary, output: Output) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({
                "accepted": summary.accepted,
                "already_recorded": summary.already_recorded,
                "rejected": summary.rejected.len(),
                "rejects_file": summary.rejects_file.as_ref().map(|p| p.display().to_string()),
            })
        ),
        Output::Table | Output::Csv => {
            println!("accepted          {}", summary.accepted);
            println!("already recorded  {}", summary.already_recorded);
            println!("rejected          {}", summary.rejected.len());
            if let Some(file) = &summary.rejects_file {
                println!(
                    "rejected rows, with line numbers and reasons: {}",
                    file.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_is_read_and_neither_is_named() {
        let path = Path::new("visits.csv");
        let text = "service_advisor\n陈静\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode(&gbk, TextEncoding::Auto, path).expect("auto"), text);
        assert_eq!(
            decode(&gbk, TextEncoding::Gb18030, path).expect("gb18030"),
            text
        );
        let err = decode(&gbk, TextEncoding::Utf8, path).expect_err("not utf-8");
        assert!(err.to_string().contains("--encoding gb18030"), "{err}");
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(&bom, TextEncoding::Auto, path).expect("bom"), text);
        assert!(decode(&[0x81, 0x20], TextEncoding::Auto, path).is_err());
    }
}
