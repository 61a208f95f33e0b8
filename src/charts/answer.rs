//! The sections of a report that say what drives the answer, from a run's
//! [`Summary`]: the drivers of each policy's difference against the
//! baseline, the expected value of perfect information (EVPI), and the
//! conditional value at risk (CVaR). `run`'s `report.html` and
//! `sensitivity`'s show them; each is always there, with an `id`
//! (`drivers`, `evpi`, `cvar`) and, when the summary does not carry its
//! figures (one policy, or a run that did not compute them), a sentence
//! that says so.

use std::fmt::Write;

use super::html::{ReportImage, escape};
use crate::format::{pct, usd_m};
use crate::summary::Summary;

/// The file stem of the drivers chart `run` writes beside the report.
pub const DRIVERS_STEM: &str = "drivers";

/// Whether `img` is the drivers chart (`drivers.png` or `drivers.svg`).
pub fn is_drivers_image(img: &ReportImage) -> bool {
    img.file
        .rsplit_once('.')
        .is_some_and(|(stem, _)| stem == DRIVERS_STEM)
}

/// The three sections, in order: drivers (with `drivers_image` when the
/// chart was drawn), EVPI, CVaR.
pub fn sections(s: &Summary, drivers_image: Option<&ReportImage>) -> String {
    let mut h = drivers_section(s, drivers_image);
    h.push_str(&evpi_section(s));
    h.push_str(&cvar_section(s));
    h
}

/// A figure of an image, linked to its file.
pub fn figure(img: &ReportImage) -> String {
    format!(
        "<figure><a href=\"{f}\"><img src=\"{f}\" alt=\"{t}\"></a>\
         <figcaption>{t} &middot; <a href=\"{f}\">{f}</a></figcaption></figure>\n",
        f = escape(&img.file),
        t = escape(&img.title)
    )
}

fn opt_usd(x: Option<f64>) -> String {
    x.map_or_else(|| "&ndash;".to_string(), usd_m)
}

/// A driver's value: its mean on a set of paths, in the driver's units.
fn driver_value(x: Option<f64>) -> String {
    match x {
        None => "&ndash;".to_string(),
        Some(v) if v.abs() >= 1e4 => format!("{v:.0}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// What drives each policy's paired NPV difference against the baseline.
pub fn drivers_section(s: &Summary, image: Option<&ReportImage>) -> String {
    let mut h = format!(
        "<section id=\"drivers\">\n<h2>What drives each policy&rsquo;s difference against \
         <code>{}</code></h2>\n",
        escape(&s.baseline)
    );
    h.push_str(
        "<p class=\"note\">From the run itself, path by path: the market drivers of the NPV \
         difference against the baseline. <i>Std. coef.</i>: USD of difference per standard \
         deviation of the driver, the others held fixed (regression on standardised drivers); \
         <i>rank corr.</i>: Spearman; <i>share of variance</i>: the driver&rsquo;s part of \
         R&sup2; (LMG, the shares add to R&sup2;); the driver&rsquo;s mean on the paths where \
         the policy beats the baseline and on the others.</p>\n",
    );
    if let Some(img) = image {
        h.push_str(&figure(img));
    }
    if s.drivers.is_empty() {
        let why = if s.policies.len() < 2 {
            "This run has one policy: there is no difference against a baseline to explain."
        } else {
            "The drivers were not computed for this run (its summary has none)."
        };
        let _ = writeln!(h, "<p class=\"note\">{why}</p>");
    }
    for d in &s.drivers {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<p>Beats <code>{}</code> on {} of {} paths; R&sup2; {:.2}; \
             P(margin call) {} where it beats the baseline, {} elsewhere.</p>",
            escape(&d.policy),
            escape(&s.baseline),
            pct(d.p_beats_baseline),
            d.paths,
            d.r_squared,
            d.p_margin_call_when_beats.map_or("&ndash;".into(), pct),
            d.p_margin_call_otherwise.map_or("&ndash;".into(), pct),
        );
        h.push_str(
            "<div class=\"wide\"><table>\n<thead><tr><th>Driver</th><th>Std. coef.</th>\
             <th>Rank corr.</th><th>Share of variance</th><th>Mean where it beats</th>\
             <th>Mean elsewhere</th><th>Note</th></tr></thead>\n<tbody>\n",
        );
        for x in &d.drivers {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                escape(&x.driver),
                usd_m(x.std_coef),
                x.rank_corr,
                pct(x.contribution_to_variance),
                driver_value(x.mean_when_beats),
                driver_value(x.mean_otherwise),
                escape(&x.note),
            );
        }
        h.push_str("</tbody>\n</table></div>\n");
    }
    h.push_str("</section>\n");
    h
}

/// The expected value of perfect information over the policies.
pub fn evpi_section(s: &Summary) -> String {
    let mut h =
        String::from("<section id=\"evpi\">\n<h2>Value of perfect information (EVPI)</h2>\n");
    match s.evpi_usd {
        Some(e) => {
            let best = s
                .policies
                .iter()
                .max_by(|a, b| a.npv_usd.mean.total_cmp(&b.npv_usd.mean))
                .map_or("", |p| p.name.as_str());
            let _ = writeln!(
                h,
                "<p><b>{} &plusmn; {}</b> (95% CI): how much more, on average, a choice made \
                 knowing each path&rsquo;s market would be worth than choosing the best policy \
                 now (<code>{}</code>): the most a perfect forecast could add, and so the most \
                 waiting for information could be worth.</p>",
                usd_m(e.mean),
                usd_m(1.96 * e.se),
                escape(best)
            );
        }
        None => {
            let why = if s.policies.len() < 2 {
                "This run has one policy: there is no choice for information to improve."
            } else {
                "The EVPI was not computed for this run (its summary has none)."
            };
            let _ = writeln!(h, "<p class=\"note\">{why}</p>");
        }
    }
    h.push_str("</section>\n");
    h
}

/// The mean of the worst 5% of paths, per policy.
pub fn cvar_section(s: &Summary) -> String {
    let mut h = String::from(
        "<section id=\"cvar\">\n<h2>Tail risk: CVaR 5%</h2>\n<p class=\"note\">The mean of \
         the worst 5% of paths (conditional value at risk), of the NPV and of the net reserve \
         at the end: what a bad outcome looks like on average, not just where it starts.</p>\n",
    );
    let any = s
        .policies
        .iter()
        .any(|p| p.npv_usd.cvar5.is_some() || p.terminal_net_reserve_usd.cvar5.is_some());
    if !any {
        h.push_str(
            "<p class=\"note\">CVaR was not computed for this run (its summary has none).</p>\n",
        );
        h.push_str("</section>\n");
        return h;
    }
    h.push_str(
        "<div class=\"wide\"><table>\n<thead><tr><th>Policy</th><th>NPV: mean</th>\
         <th>NPV: CVaR 5%</th><th>End net reserve: mean</th><th>End net reserve: CVaR 5%</th>\
         </tr></thead>\n<tbody>\n",
    );
    for p in &s.policies {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            usd_m(p.npv_usd.mean),
            opt_usd(p.npv_usd.cvar5),
            usd_m(p.terminal_net_reserve_usd.mean),
            opt_usd(p.terminal_net_reserve_usd.cvar5),
        );
    }
    h.push_str("</tbody>\n</table></div>\n");
    let accuracy = match s.percentiles.cvar5_max_error_usd {
        Some(e) if e > 0.0 => format!("each within {} (from the histograms)", usd_m(e)),
        Some(_) => "exact (every path kept)".to_string(),
        None => "as reported".to_string(),
    };
    let _ = writeln!(h, "<p class=\"note\">CVaR figures: {accuracy}.</p>");
    h.push_str("</section>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::testdata::summary;
    use crate::summary::{DriverStats, MeanSe, PolicyDrivers};

    #[test]
    fn empty_sections_say_so() {
        let mut s = summary(3, 12);
        s.drivers.clear();
        let h = sections(&s, None);
        for id in ["drivers", "evpi", "cvar"] {
            assert!(h.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert_eq!(h.matches("not computed for this run").count(), 3, "{h}");
        let mut one = summary(1, 12);
        one.drivers.clear();
        let h = sections(&one, None);
        assert_eq!(h.matches("one policy").count(), 2, "{h}");
    }

    #[test]
    fn filled_sections_show_the_figures() {
        let mut s = summary(2, 12);
        s.evpi_usd = Some(MeanSe {
            mean: 12.34e6,
            se: 1e6,
        });
        s.policies[0].npv_usd.cvar5 = Some(-321.0e6);
        s.percentiles.cvar5_max_error_usd = Some(0.0);
        s.drivers = vec![PolicyDrivers {
            policy: s.policies[1].name.clone(),
            paths: 1000,
            p_beats_baseline: 0.4,
            r_squared: 0.5,
            p_margin_call_when_beats: Some(0.1),
            p_margin_call_otherwise: None,
            drivers: vec![DriverStats {
                driver: "btc_log_return".into(),
                std_coef: -5e6,
                rank_corr: -0.3,
                contribution_to_variance: 0.25,
                decile_mean_usd: vec![None; 10],
                mean_when_beats: Some(-0.2),
                mean_otherwise: Some(0.1),
                note: String::new(),
            }],
        }];
        let img = ReportImage {
            file: "drivers.png".into(),
            title: "Drivers".into(),
        };
        assert!(is_drivers_image(&img));
        let h = sections(&s, Some(&img));
        for needle in [
            "$12.3M",
            "-$321.0M",
            "btc_log_return",
            "25.0%",
            "src=\"drivers.png\"",
            "exact",
        ] {
            assert!(h.contains(needle), "{needle} in {h}");
        }
        assert!(!h.contains("not computed"));
    }
}
