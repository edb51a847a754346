//! What the crate's tests share.

use std::path::Path;

use arrow_cast::display::{ArrayFormatter, FormatOptions};
use opentelemetry_parquet::{StoreReader, Table};

/// Every row of every table, each rendered as text, sorted.
pub(crate) fn rows(dir: &Path) -> Vec<(String, Vec<String>)> {
    let reader = StoreReader::new(dir);
    Table::ALL
        .iter()
        .map(|&table| {
            let mut out = Vec::new();
            for batch in reader.read_batches(table).unwrap() {
                let options = FormatOptions::default();
                let formatters: Vec<_> =
                    batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
                for row in 0..batch.num_rows() {
                    out.push(formatters.iter().map(|f| f.value(row).to_string()).collect::<Vec<_>>().join(" | "));
                }
            }
            out.sort();
            (table.name().to_owned(), out)
        })
        .collect()
}

/// Fails naming, table by table, the rows only one side has (not two whole stores).
pub(crate) fn assert_same_rows(left: &[(String, Vec<String>)], right: &[(String, Vec<String>)], what: &str) {
    let mut differences = Vec::new();
    for ((table, a), (_, b)) in left.iter().zip(right) {
        let only_left: Vec<_> = a.iter().filter(|row| !b.contains(row)).take(2).collect();
        let only_right: Vec<_> = b.iter().filter(|row| !a.contains(row)).take(2).collect();
        if a.len() != b.len() || !only_left.is_empty() || !only_right.is_empty() {
            differences.push(format!(
                "{table}: {} vs {} rows\n  only left: {only_left:#?}\n  only right: {only_right:#?}",
                a.len(),
                b.len()
            ));
        }
    }
    assert!(differences.is_empty(), "{what}:\n{}", differences.join("\n"));
}
