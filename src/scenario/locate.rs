//! Where a parse error is: toml's message made to name the line and the
//! table ([`toml_error_message`]), and the value an error is about where the
//! parser cannot say: toml points an error inside a tagged table
//! (`[[events]]`, `[[policies]]`) at the first table of the array, and csv
//! does not know which column a field's own deserializer (a number) failed
//! in. Both messages quote the value, and a number can be found again by its
//! value.

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

/// toml's own message for a file that does not parse or does not fit the
/// schema, made to read as one line that says where: the line number, the
/// table in key notation (`market.btc`, `policies[1]`) and the source line.
///
/// toml 0.9 keeps the key path private and prints a multi-line snippet
/// instead; errors inside a tagged table (`[[policies]]`, `[[events]]`)
/// point at the first table of the array, so a number is found again by
/// its value among the array's tables; failing that, the array is named.
pub fn toml_error_message(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim();
    let Some(start) = err.span().map(|span| span.start.min(text.len())) else {
        return message.to_owned();
    };
    let line_index = text.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let lines: Vec<&str> = text.lines().collect();
    let source = lines.get(line_index).map_or("", |line| line.trim());
    let table = enclosing_table(&lines[..(line_index + 1).min(lines.len())]);
    let line_no = line_index + 1;
    match table {
        Some((table, header_line)) if header_line == line_index => {
            // The value is in one of the array's tables: find it by value.
            let found = quoted_number(message)
                .and_then(|v| value_line(&lines, header_line, v, table_header));
            match found.and_then(|i| Some((i, enclosing_table(&lines[..=i])?))) {
                Some((i, (table, _))) => {
                    let (line_no, source) = (i + 1, lines[i].trim());
                    format!("line {line_no}, in {table}: `{source}`: {message}")
                }
                None => format!("line {line_no}, in {table}: {message}"),
            }
        }
        Some((table, _)) => format!("line {line_no}, in {table}: `{source}`: {message}"),
        None => format!("line {line_no}: `{source}`: {message}"),
    }
}

/// The last table header among `lines`, in key notation (an array of tables
/// gets its 0-based index), and the index of its line.
fn enclosing_table(lines: &[&str]) -> Option<(String, usize)> {
    let mut seen: Vec<&str> = Vec::new();
    let mut last = None;
    for (index, line) in lines.iter().enumerate() {
        let Some((name, is_array)) = table_header(line) else {
            continue;
        };
        last = Some(if is_array {
            let count = seen.iter().filter(|&&s| s == name).count();
            seen.push(name);
            (format!("{name}[{count}]"), index)
        } else {
            (name.to_owned(), index)
        });
    }
    last
}

/// `[a.b]` -> `("a.b", false)`, `[[a]]` -> `("a", true)`; `None` for any other
/// line, including the rows of a multi-line array such as `[1.0, 0.3, ...]`.
fn table_header(line: &str) -> Option<(&str, bool)> {
    let line = line.split('#').next().unwrap_or("").trim();
    let (inner, is_array) = match line.strip_prefix("[[") {
        Some(rest) => (rest.strip_suffix("]]")?, true),
        None => (line.strip_prefix('[')?.strip_suffix(']')?, false),
    };
    let inner = inner.trim();
    let first = inner.chars().next()?;
    let is_key = (first.is_alphabetic() || first == '_' || first == '"')
        && !inner.contains([',', '[', ']', '=']);
    is_key.then_some((inner, is_array))
}
