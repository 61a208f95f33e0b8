//! `report.html`: the headline table and every chart of a run on one page.
//!
//! The page is a single file that opens from disk with a double click: the
//! charts are the image files beside it (relative links), the style is
//! inline, and there is no script and no network access. Pure: returns bytes.

use std::fmt::Write;

use crate::format::{btc, pct, run_date, thousands, usd_m};
use crate::summary::Summary;

/// A chart to show: its file (beside `report.html`) and title.
#[derive(Debug, Clone)]
pub struct ReportImage {
    pub file: String,
    pub title: String,
}

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const STYLE: &str = "\
body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;margin:2rem auto;max-width:1400px;\
padding:0 1.5rem;color:#1e1e1e;line-height:1.45}\
h1{font-size:1.9rem;margin:0 0 .3rem}h2{font-size:1.3rem;margin:2.2rem 0 .6rem}\
.meta{color:#555;margin:0 0 1.4rem}\
table{border-collapse:collapse;font-size:1rem;margin:.5rem 0 1rem}\
th,td{padding:.45rem .8rem;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}\
th{white-space:normal;vertical-align:bottom}.wide{overflow-x:auto}\
th{background:#f4f4f4;font-weight:600}td:first-child,th:first-child{text-align:left}\
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.5em;vertical-align:-.1em;border-radius:2px}\
figure{margin:0 0 2rem}img{width:100%;height:auto;border:1px solid #ddd}\
figcaption{color:#555;font-size:.95rem;margin-top:.3rem}.note{color:#555}\
h3{font-size:1.1rem;margin:1.4rem 0 .4rem}";

/// The page. `images` empty (charts skipped) leaves a note in their place.
pub fn report_html(summary: &Summary, images: &[ReportImage]) -> Vec<u8> {
    let s = summary;
    let mut h = String::new();
    let title = format!("pivotsim: {}", s.scenario);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} paths &times; {} months from {} &middot; seed {} &middot; \
         baseline <b>{}</b> &middot; AI mode {} &middot; pivotsim {} &middot; run {} &middot; \
         scenario SHA-256 <code>{}</code></p>",
        thousands(s.paths as f64, 0),
        s.months,
        escape(&s.start),
        s.seed,
        escape(&s.baseline),
        escape(&s.ai_mode),
        escape(&s.pivotsim_version),
        escape(&run_date(&s.run_started_utc)),
        escape(s.scenario_sha256.get(..12).unwrap_or(&s.scenario_sha256)),
    );
    h.push_str("<h2>Headline figures</h2>\n<div class=\"wide\"><table>\n<thead><tr>");
    for c in [
        "Policy",
        "NPV mean (95% CI)",
        "vs baseline (95% CI)",
        "Expected revenue",
        "P(margin call)",
        "P(liquidation)",
        "P(distress)",
        "Median end reserve",
    ] {
        let _ = write!(h, "<th>{c}</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, p) in s.policies.iter().enumerate() {
        let c = super::style::policy_color(i);
        let ci = |mean: f64, se: f64| format!("{} &plusmn; {}", usd_m(mean), usd_m(1.96 * se));
        let _ = writeln!(
            h,
            "<tr><td><span class=\"swatch\" style=\"background:rgb({},{},{})\"></span>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.0,
            c.1,
            c.2,
            escape(&p.name),
            ci(p.npv_usd.mean, p.npv_usd.se),
            p.npv_vs_baseline_usd
                .map_or("baseline".to_string(), |d| ci(d.mean, d.se)),
            usd_m(p.total_revenue_usd.mean),
            pct(p.p_margin_call),
            pct(p.p_liquidation),
            pct(p.p_distress),
            p.months
                .last()
                .map_or(String::new(), |m| btc(m.reserve_btc.p50)),
        );
    }
    h.push_str("</tbody>\n</table></div>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">NPV: operating value of the allocation (docs/model.md section 5). \
         &ldquo;vs baseline&rdquo; is the mean paired difference on the same market paths. \
         Percentiles: {} ({}).</p>",
        escape(&s.percentiles.method),
        if s.percentiles.max_rank_error > 0.0 {
            format!(
                "largest rank error {:.2} percentile points",
                100.0 * s.percentiles.max_rank_error
            )
        } else {
            "exact".to_string()
        }
    );
    // What drives the answer: the drivers (with their chart), EVPI, CVaR.
    let (drivers, images): (Vec<&ReportImage>, Vec<&ReportImage>) = images
        .iter()
        .partition(|i| super::answer::is_drivers_image(i));
    h.push_str(&super::answer::sections(s, drivers.first().copied()));
    h.push_str("<h2>Charts</h2>\n");
    if images.is_empty() {
        h.push_str(
            "<p class=\"note\">Charts were not drawn for this run (<code>--no-charts</code>).</p>\n",
        );
    }
    for img in images {
        h.push_str(&super::answer::figure(img));
    }
    h.push_str("</body>\n</html>\n");
    h.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_table_images_and_no_script() {
        let s = crate::charts::testdata::summary(3, 12);
        let page = String::from_utf8(report_html(
            &s,
            &[ReportImage {
                file: "revenue_fan.png".into(),
                title: "Revenue <fan>".into(),
            }],
        ))
        .unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<img src=\"revenue_fan.png\" alt=\"Revenue &lt;fan&gt;\""));
        for p in &s.policies {
            assert!(page.contains(&p.name));
        }
        assert!(page.contains("seed 42"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("http"));
    }

    #[test]
    fn page_without_charts_says_so() {
        let s = crate::charts::testdata::summary(2, 12);
        let page = String::from_utf8(report_html(&s, &[])).unwrap();
        assert!(page.contains("--no-charts"));
        assert!(!page.contains("<img"));
    }
}
