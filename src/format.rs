//! Numbers for people: money as $M / $B with thousands separators, BTC,
//! percentages. Rounding happens here, where a number is shown, never in
//! the simulation.

/// Thousands separators on a number already rounded to `decimals`.
pub fn thousands(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match s.find('.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s.as_str(), ""),
    };
    let mut out = String::with_capacity(s.len() + int.len() / 3 + 1);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out.push_str(frac);
    let negative = x < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0');
    if negative { format!("-{out}") } else { out }
}

/// Money in millions: `$1,234.5M`, `-$12.0M`.
pub fn usd_m(x: f64) -> String {
    with_dollar(thousands(x / 1e6, 1), "M")
}

/// Money scaled to its size: `$950K`, `$12.3M`, `$1.23B`.
pub fn usd_auto(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        "n/a".to_string()
    } else if a >= 1e9 {
        with_dollar(thousands(x / 1e9, 2), "B")
    } else if a >= 1e6 {
        with_dollar(thousands(x / 1e6, 1), "M")
    } else if a >= 1e3 {
        with_dollar(thousands(x / 1e3, 0), "K")
    } else {
        with_dollar(thousands(x, 0), "")
    }
}

fn with_dollar(num: String, suffix: &str) -> String {
    match num.strip_prefix('-') {
        Some(rest) => format!("-${rest}{suffix}"),
        None => format!("${num}{suffix}"),
    }
}

/// A probability as a percentage with one decimal: `12.3%`.
pub fn pct(p: f64) -> String {
    if p.is_finite() {
        format!("{:.1}%", 100.0 * p)
    } else {
        "n/a".to_string()
    }
}

/// BTC with thousands separators and no decimals: `3,023 BTC`.
pub fn btc(x: f64) -> String {
    format!("{} BTC", thousands(x, 0))
}

/// A parameter's value, short: four significant figures, thousands
/// separated from 10,000 up (`0.528`, `5980`, `1,800,000`, `12`).
pub fn sig4(v: f64) -> String {
    if !v.is_finite() {
        "n/a".to_string()
    } else if v.abs() >= 1e4 {
        thousands(v, 0)
    } else if v == v.trunc() {
        format!("{v}")
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// `2026-02-03 14:05 UTC` from RFC 3339; the raw text if it does not parse.
pub fn run_date(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_figures() {
        assert_eq!(sig4(5979.68), "5980");
        assert_eq!(sig4(0.528), "0.528");
        assert_eq!(sig4(0.6600000001), "0.66");
        assert_eq!(sig4(1_800_000.0), "1,800,000");
        assert_eq!(sig4(12.0), "12");
        assert_eq!(sig4(-0.036), "-0.036");
        assert_eq!(sig4(4.981813), "4.982");
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(1234567.891, 2), "1,234,567.89");
        assert_eq!(thousands(-999.4, 0), "-999");
        assert_eq!(thousands(-0.04, 1), "0.0");
        assert_eq!(usd_m(305_000_000.0), "$305.0M");
        assert_eq!(usd_m(-1_234_560_000.0), "-$1,234.6M");
        assert_eq!(usd_auto(2_345_000_000.0), "$2.35B");
        assert_eq!(usd_auto(950_000.0), "$950K");
        assert_eq!(pct(0.1234), "12.3%");
        assert_eq!(btc(3023.4), "3,023 BTC");
    }
}
