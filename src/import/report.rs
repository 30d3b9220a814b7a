//! The reject file: every row not imported, with its source line and reason, followed by the
//! original fields so the file can be corrected and imported again. The rows are copied from the
//! input in a second pass (only when something was rejected), so the importer never holds the raw
//! rows of a large file in memory.

use std::collections::BTreeMap;
use std::path::Path;

use super::fields::Reject;

/// Writes `rejects` (any order; one line per row, reasons of one row joined) to `out`, copying the
/// rows from `input`. Returns how many rows were written. An empty list still writes the header, so
/// a stale reject file from an earlier run never survives.
pub fn write(input: &Path, out: &Path, rejects: &[Reject]) -> Result<u64, String> {
    let mut by_row: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for r in rejects {
        by_row.entry(r.row).or_default().push(&r.reason);
    }
    let shown = |p: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(input)
        .map_err(|e| shown(input, &e))?;
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(out)
        .map_err(|e| shown(out, &e))?;
    let mut header = csv::ByteRecord::from(vec!["row", "reason"]);
    for h in reader.byte_headers().map_err(|e| shown(input, &e))? {
        header.push_field(h);
    }
    writer
        .write_byte_record(&header)
        .map_err(|e| shown(out, &e))?;
    let mut written = 0;
    let mut record = csv::ByteRecord::new();
    let mut pending = by_row.iter().peekable();
    while pending.peek().is_some() {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| shown(input, &e))?;
        let line = record.position().map_or(0, |p| p.line());
        // Rows the reader could not place (or past the end) are still listed, without their fields.
        while let Some((row, _)) = pending.peek()
            && (**row < line || !more)
        {
            if let Some((row, reasons)) = pending.next() {
                write_row(&mut writer, *row, reasons, None).map_err(|e| shown(out, &e))?;
                written += 1;
            }
        }
        if !more {
            break;
        }
        if let Some((row, _)) = pending.peek()
            && **row == line
            && let Some((row, reasons)) = pending.next()
        {
            write_row(&mut writer, *row, reasons, Some(&record)).map_err(|e| shown(out, &e))?;
            written += 1;
        }
    }
    writer.flush().map_err(|e| shown(out, &e))?;
    Ok(written)
}

fn write_row(
    w: &mut csv::Writer<std::fs::File>,
    row: u64,
    reasons: &[&str],
    fields: Option<&csv::ByteRecord>,
) -> csv::Result<()> {
    let mut out = csv::ByteRecord::new();
    out.push_field(row.to_string().as_bytes());
    out.push_field(reasons.join("; ").as_bytes());
    if let Some(f) = fields {
        for field in f {
            out.push_field(field);
        }
    }
    w.write_byte_record(&out)
}
