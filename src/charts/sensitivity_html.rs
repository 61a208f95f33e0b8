//! `report.html` of `pivotsim sensitivity`: the tornado charts and the
//! table of the widest swings, then the base run's drivers, EVPI and CVaR
//! ([`super::answer`]), and the points that were skipped with why. One
//! file, no script, no network; the charts are the image files beside it.

use std::fmt::Write;

use super::answer;
use super::html::{ReportImage, STYLE, escape};
use crate::format::{run_date, sig4, thousands, usd_m};
use crate::sensitivity::{Metric, Outcome, Sensitivity};

/// Rows of the swing table.
const TABLE_ROWS: usize = 15;

/// The page. `images` are the tornado charts (and the drivers chart, if
/// drawn); empty when the charts were skipped.
pub fn sensitivity_report_html(s: &Sensitivity, images: &[ReportImage]) -> Vec<u8> {
    let b = &s.base;
    let mut h = String::new();
    let title = format!("pivotsim sensitivity: {}", b.scenario);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} parameters, {} points run, each {} paths &times; {} months from {} \
         &middot; seed {} (the same paths at every point) &middot; baseline <b>{}</b> &middot; \
         pivotsim {} &middot; run {}</p>",
        s.params.len(),
        s.points_run(),
        thousands(b.paths as f64, 0),
        b.months,
        escape(&b.start),
        b.seed,
        escape(&b.baseline),
        escape(&b.pivotsim_version),
        escape(&run_date(&b.run_started_utc)),
    );
    let (drivers, tornados): (Vec<&ReportImage>, Vec<&ReportImage>) =
        images.iter().partition(|i| answer::is_drivers_image(i));
    tornado_section(&mut h, s, &tornados);
    h.push_str(&answer::sections(b, drivers.first().copied()));
    skipped_section(&mut h, s);
    h.push_str("</body>\n</html>\n");
    h.into_bytes()
}

fn tornado_section(h: &mut String, s: &Sensitivity, images: &[&ReportImage]) {
    h.push_str(
        "<section id=\"tornado\">\n<h2>What moves the answer: one parameter at a time</h2>\n\
         <p class=\"note\">Each parameter is set to its low and to its high value, every other \
         one kept as in the scenario, and the scenario run again on the same paths. A bar runs \
         from the base run&rsquo;s figure (dashed line) to the figure with the parameter low \
         (light) and high (dark); the widest bars are the assumptions the answer hangs on. A \
         bar that crosses zero in the NPV chart is an assumption under which the policy would \
         do better than the baseline.</p>\n",
    );
    if images.is_empty() {
        h.push_str(
            "<p class=\"note\">The tornado charts were not drawn (<code>--no-charts</code>); \
             the table below and <code>sensitivity.csv</code> hold the figures.</p>\n",
        );
    }
    for img in images {
        h.push_str(&answer::figure(img));
    }
    let compared = s.compared();
    if compared.is_empty() {
        h.push_str(
            "<p class=\"note\">One policy only: no difference against the baseline to tabulate \
             (<code>sensitivity.csv</code> has its NPV at every point).</p>\n</section>\n",
        );
        return;
    }
    let _ = write!(
        h,
        "<h3>The widest swings of NPV against <code>{}</code></h3>\n<div class=\"wide\"><table>\n\
         <thead><tr><th>Parameter</th><th>Base</th><th>Low &rarr; high</th><th>Chosen by</th>",
        escape(&s.base.baseline)
    );
    for p in &compared {
        let _ = write!(
            h,
            "<th>{} at low</th><th>{} at high</th>",
            escape(p),
            escape(p)
        );
    }
    h.push_str("</tr></thead>\n<tbody>\n<tr><td>(base run)</td><td></td><td></td><td></td>");
    for p in &compared {
        let v = usd_m(s.base_figure(p, Metric::NpvVsBaseline));
        let _ = write!(h, "<td>{v}</td><td>{v}</td>");
    }
    h.push_str("</tr>\n");
    for i in s
        .by_swing(Metric::NpvVsBaseline, &compared)
        .into_iter()
        .take(TABLE_ROWS)
    {
        let p = &s.params[i];
        let v = |o: &Outcome| match (&o.result, o.value) {
            (Ok(_), Some(v)) => sig4(v),
            _ => "skipped".to_string(),
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{} &rarr; {}</td><td>{}</td>",
            escape(&p.key),
            sig4(p.base_value),
            v(&p.low),
            v(&p.high),
            escape(&p.source.describe())
        );
        for name in &compared {
            let sw = s.swing(i, name, Metric::NpvVsBaseline);
            let cell = |x: Option<f64>| x.map_or("&ndash;".to_string(), usd_m);
            let _ = write!(h, "<td>{}</td><td>{}</td>", cell(sw.low), cell(sw.high));
        }
        h.push_str("</tr>\n");
    }
    let _ = writeln!(
        h,
        "</tbody>\n</table></div>\n<p class=\"note\">{} of {} parameters shown, widest swing \
         first; every point is in <code>sensitivity.csv</code>.</p>\n</section>",
        s.params.len().min(TABLE_ROWS),
        s.params.len()
    );
}

fn skipped_section(h: &mut String, s: &Sensitivity) {
    h.push_str("<section id=\"skipped\">\n<h2>Points skipped</h2>\n");
    let skipped: Vec<(&str, &str, &Outcome)> = s
        .params
        .iter()
        .flat_map(|p| {
            [
                (p.key.as_str(), "low", &p.low),
                (p.key.as_str(), "high", &p.high),
            ]
        })
        .filter(|(_, _, o)| o.result.is_err())
        .collect();
    if skipped.is_empty() {
        h.push_str("<p class=\"note\">None: every point ran.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<div class=\"wide\"><table>\n<thead><tr><th>Parameter</th><th>Side</th><th>Value</th>\
         <th>Why</th></tr></thead>\n<tbody>\n",
    );
    for (key, side, o) in skipped {
        let reason = o.result.as_ref().err().map_or("", String::as_str);
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{side}</td><td>{}</td>\
             <td style=\"text-align:left;white-space:normal\">{}</td></tr>",
            escape(key),
            o.value.map_or(String::new(), sig4),
            escape(reason)
        );
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");
}
