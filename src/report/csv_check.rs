//! Test support for the CSV exporters: a file checked column by column, by
//! header name, against the field each column must hold. Shared by the
//! unit tests of `report/` and, included by path, by the integration tests
//! (`worst_paths.csv`, the replay ledger), so it uses only `std` and `csv`.
//!
//! A test lists, for each record of the file, every column by name with
//! the text it must hold, taken from the field it shows. Before reading
//! the file, [`check_columns`] makes sure that those values tell every two
//! columns apart (in some row they differ), so that a test whose data could
//! not see two columns swapped fails as such instead of passing. Columns
//! that show one field twice by design (the two legs of a ledger flow) are
//! named as twins ([`check_columns_with_twins`]).

/// A column's name and the text it must hold.
pub type Cell = (String, String);

/// `name` must hold `value` (a number as Rust writes it, shortest
/// round-trip, as the exporters do).
pub fn cell(name: impl Into<String>, value: impl ToString) -> Cell {
    (name.into(), value.to_string())
}

/// Two cells agree: the same text, or the same number (`1.50` is `1.5`).
fn same(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (a.parse::<f64>(), b.parse::<f64>()),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Parse `csv` and check that it has one record per row of `expected`, in
/// order, and that every column of its header is named in each row (once)
/// and holds the text given there.
pub fn check_columns(csv: &[u8], expected: &[Vec<Cell>]) {
    check_columns_with_twins(csv, expected, &[]);
}

/// [`check_columns`], where each pair of `twins` may hold the same values
/// (one field shown twice).
pub fn check_columns_with_twins(csv: &[u8], expected: &[Vec<Cell>], twins: &[(String, String)]) {
    let names: Vec<&str> = expected
        .first()
        .map(|row| row.iter().map(|(name, _)| name.as_str()).collect())
        .unwrap_or_default();
    for (i, row) in expected.iter().enumerate() {
        let row_names: Vec<&str> = row.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(row_names, names, "expected row {i} names other columns");
    }
    for (a, name_a) in names.iter().enumerate() {
        for (b, name_b) in names.iter().enumerate().skip(a + 1) {
            let twin = |x: &str, y: &str| x == *name_a && y == *name_b;
            if twins.iter().any(|(x, y)| twin(x, y) || twin(y, x)) {
                continue;
            }
            assert!(
                expected.iter().any(|row| !same(&row[a].1, &row[b].1)),
                "the test data cannot tell `{name_a}` from `{name_b}`: \
                 make them differ in some row"
            );
        }
    }
    let mut reader = csv::Reader::from_reader(csv);
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    let mut sorted_header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut sorted_names = names.clone();
    sorted_header.sort_unstable();
    sorted_names.sort_unstable();
    assert_eq!(
        sorted_header, sorted_names,
        "the header's columns are not those the test names"
    );
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("a well-formed record"))
        .collect();
    assert_eq!(records.len(), expected.len(), "records");
    for (i, (record, row)) in records.iter().zip(expected).enumerate() {
        assert_eq!(record.len(), header.len(), "record {i}: cells");
        for (name, want) in row {
            let at = header.iter().position(|h| h == name).expect("named");
            let got = &record[at];
            assert!(
                same(got, want),
                "record {i}, column `{name}`: {got:?}, expected {want:?}"
            );
        }
    }
}
