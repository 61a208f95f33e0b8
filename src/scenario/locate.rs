//! Finding the value an error is about where the parser cannot say: toml
//! points an error inside a tagged table (`[[events]]`, `[[policies]]`) at
//! the first table of the array, and csv does not know which column a
//! field's own deserializer (a number) failed in. Both messages quote the
//! value, and a number can be found again by its value.

/// The number an error message quotes between backticks (`1e300`, `NaN`,
/// `-inf`, `2.5`), if it quotes one.
pub(super) fn quoted_number(message: &str) -> Option<f64> {
    let (_, rest) = message.split_once('`')?;
    let (quoted, _) = rest.split_once('`')?;
    number(quoted)
}

/// `text` as a number, as TOML or a CSV cell writes it: `1_000`, `1e300`,
/// `nan`, `NaN`, `+inf`, `-inf`.
fn number(text: &str) -> Option<f64> {
    let text = text.trim().replace('_', "");
    match text.to_ascii_lowercase().trim_start_matches('+') {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Whether `text` is the number `v` (NaN is NaN).
pub(super) fn is_number(text: &str, v: f64) -> bool {
    number(text).is_some_and(|x| x == v || (x.is_nan() && v.is_nan()))
}

/// In the array of tables whose first header is line `header` (named as
/// `table_header` reads it), the first `key = value` line whose value is
/// `v`: its index.
pub(super) fn value_line(
    lines: &[&str],
    header: usize,
    v: f64,
    table_header: impl Fn(&str) -> Option<(&str, bool)>,
) -> Option<usize> {
    let (name, _) = table_header(lines[header])?;
    let mut inside = true;
    for (i, line) in lines.iter().enumerate().skip(header + 1) {
        if let Some((other, _)) = table_header(line) {
            inside = other == name;
            continue;
        }
        let value = line.split_once('=').map(|(_, value)| value);
        let value = value.map(|value| value.split('#').next().unwrap_or(""));
        if inside && value.is_some_and(|value| is_number(value, v)) {
            return Some(i);
        }
    }
    None
}
