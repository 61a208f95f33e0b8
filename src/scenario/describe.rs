//! The one-screen summary printed by `pivotsim validate FILE`: enough to
//! check that the file says what its author meant (horizon, fleet per
//! region, treasury, events, policies), not a dump of every key.

use std::fmt::Write;

use chrono::Months;

use super::types::*;

/// A one-screen description of a validated scenario.
pub fn describe(s: &Scenario) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_description(&mut out, s);
    out
}

fn write_description(out: &mut String, s: &Scenario) -> std::fmt::Result {
    writeln!(out, "Scenario {} (sha256 {})", s.name, s.sha256)?;
    if !s.description.trim().is_empty() {
        writeln!(out, "  {}", s.description.trim())?;
    }
    let sim = &s.simulation;
    let last_month = u32::try_from(sim.months - 1)
        .ok()
        .and_then(|months| sim.start.checked_add_months(Months::new(months)))
        .map_or_else(|| "?".to_owned(), |d| d.format("%Y-%m").to_string());
    writeln!(
        out,
        "  horizon  {} months from {} (last month {}), {} paths, seed {}",
        sim.months,
        sim.start,
        last_month,
        group(sim.paths as f64),
        sim.seed
    )?;
    let ai = &s.ai;
    let gpus = match ai.mode {
        AiMode::GpuCloud => format!(
            ", {} GPUs/MW-IT at {} USD, GPU-hour {} USD",
            group(ai.gpus_per_mw_it),
            group(ai.gpu_capex_usd),
            s.market.gpu_price.p0_usd_per_gpu_hour
        ),
        AiMode::Colocation => format!(
            ", lease {} USD/MW-IT-year",
            group(ai.lease_usd_per_mw_it_year)
        ),
    };
    writeln!(
        out,
        "  AI mode  {}: facility {} USD/MW-IT, PUE {}{gpus}, demand {} MW-IT",
        ai.mode.as_str(),
        group(ai.facility_capex_usd_per_mw_it),
        ai.pue,
        group(s.market.ai_demand.d0_mw_it)
    )?;
    write_market(out, s)?;
    writeln!(out)?;
    write_fleet(out, s)?;
    writeln!(out)?;
    write_treasury(out, s)?;
    write_events(out, s)?;
    write_policies(out, s)
}

/// The BTC price and the hashrate equation, in a line each.
fn write_market(out: &mut String, s: &Scenario) -> std::fmt::Result {
    let (btc, hr) = (&s.market.btc, &s.market.hashrate);
    writeln!(
        out,
        "  BTC      {} USD, drift {}, vol {}, {} jumps a year (mean {}, sd {}){}",
        group(btc.s0_usd),
        btc.mu,
        btc.sigma,
        btc.jump_lambda_per_year,
        btc.jump_mean,
        btc.jump_sd,
        if btc.regimes.is_empty() {
            String::new()
        } else {
            format!(", {} regimes", btc.regimes.len())
        }
    )?;
    let exits = if hr.capitulation {
        format!(
            "capitulation below {} of the break-even at kappa {}/yr",
            hr.cash_cost_share, hr.kappa_exit_per_year
        )
    } else {
        "no capitulation".to_owned()
    };
    writeln!(
        out,
        "  hashrate {} EH/s, vol {}; break-even {} USD/EH/s/day falling {}/yr; machines \
         priced over {} months, lag {} months, kappa up {} down {}/yr; {exits}",
        group(hr.h0_ehs),
        hr.sigma,
        group(hr.breakeven_usd_per_eh_day),
        hr.efficiency_gain_per_year,
        hr.machine_life_months,
        hr.lag_months,
        hr.kappa_up_per_year,
        hr.kappa_down_per_year,
    )
}

/// Sites, MW and EH/s in total and per region, as an aligned table.
fn write_fleet(out: &mut String, s: &Scenario) -> std::fmt::Result {
    let totals = Tally::of(s.sites.iter());
    writeln!(
        out,
        "Fleet: {} sites, {} MW, {:.2} EH/s; {} convertible ({} MW)",
        totals.sites,
        group(totals.power_mw),
        totals.hashrate_ehs,
        totals.convertible,
        group(totals.convertible_mw)
    )?;
    writeln!(
        out,
        "  {:<12} {:>5} {:>8} {:>8} {:>8} {:>8} {:>7} {:>5} {:>12}",
        "region", "sites", "MW", "EH/s", "conv. MW", "USD/MWh", "uptime", "lead", "take-or-pay"
    )?;
    for (index, region) in s.regions.iter().enumerate() {
        let tally = Tally::of(s.sites.iter().filter(|site| site.region == index));
        let lead = region
            .lead_months
            .map_or_else(|| "-".to_owned(), |months| months.to_string());
        writeln!(
            out,
            "  {:<12} {:>5} {:>8} {:>8.2} {:>8} {:>8} {:>7.2} {:>5} {:>12.2}",
            region.name,
            tally.sites,
            group(tally.power_mw),
            tally.hashrate_ehs,
            group(tally.convertible_mw),
            region.power_usd_per_mwh,
            region.uptime,
            lead,
            region.take_or_pay_share
        )?;
    }
    Ok(())
}

/// Totals over a set of sites.
#[derive(Debug, Default)]
struct Tally {
    sites: usize,
    power_mw: f64,
    hashrate_ehs: f64,
    convertible: usize,
    convertible_mw: f64,
}

impl Tally {
    fn of<'a>(sites: impl Iterator<Item = &'a Site>) -> Tally {
        sites.fold(Tally::default(), |mut t, site| {
            t.sites += 1;
            t.power_mw += site.power_mw;
            t.hashrate_ehs += site.hashrate_ehs();
            if site.convertible {
                t.convertible += 1;
                t.convertible_mw += site.power_mw;
            }
            t
        })
    }
}

fn write_treasury(out: &mut String, s: &Scenario) -> std::fmt::Result {
    let t = &s.treasury;
    writeln!(
        out,
        "Treasury: {} BTC, {} USD cash; sells {} of mined BTC; min cash {} USD, reserve floor {} BTC",
        group(t.reserve_btc),
        group(t.cash_usd),
        percent(t.sell_mined_fraction),
        group(t.min_cash_usd),
        group(t.reserve_floor_btc)
    )?;
    if let Some(rule) = &t.sell_to_target_ltv {
        writeln!(
            out,
            "Rule: when LTV > {}, sell BTC to repay the loan down to LTV {}",
            rule.trigger_ltv, rule.target_ltv
        )?;
    }
    let loan = &s.loan;
    let maturity = match (loan.maturity, loan.maturity_month) {
        (None, _) => "no maturity".to_owned(),
        (Some(date), Some(month)) => format!("matures {date} (month {month})"),
        (Some(date), None) => format!("matures {date} (after the horizon)"),
    };
    writeln!(
        out,
        "Loan: {} USD at {}; LTV initial {}, margin call {}, liquidation {}; {maturity}",
        group(loan.principal_usd),
        percent(loan.rate),
        loan.initial_ltv,
        loan.margin_call_ltv,
        loan.liquidation_ltv
    )?;
    let f = &s.financing;
    writeln!(
        out,
        "Financing: {} of capex as debt at {} over {} years; funding {}",
        percent(f.capex_debt_share),
        percent(f.capex_debt_rate),
        f.capex_debt_term_years,
        match f.capex_funding {
            CapexFunding::Strict => "strict",
            CapexFunding::Borrow => "borrow",
        }
    )
}

fn write_events(out: &mut String, s: &Scenario) -> std::fmt::Result {
    if s.events.is_empty() {
        return writeln!(out, "Events: none");
    }
    writeln!(out, "Events:")?;
    for event in &s.events {
        let month = event
            .month
            .map_or_else(|| "after the horizon".to_owned(), |m| format!("month {m}"));
        let what = match &event.kind {
            EventKind::SellBtc {
                btc,
                repay_loan,
                price_usd,
            } => {
                let price = price_usd.map_or_else(
                    || "the month's price".to_owned(),
                    |p| format!("{} USD", group(p)),
                );
                let proceeds = if *repay_loan {
                    "repay the loan"
                } else {
                    "to cash"
                };
                format!("sell {} BTC at {price}, {proceeds}", group(*btc))
            }
            EventKind::BuyBtc { usd, price_usd } => {
                let price = price_usd.map_or_else(
                    || "the month's price".to_owned(),
                    |p| format!("{} USD", group(p)),
                );
                format!(
                    "buy BTC for {} USD at {price} (cash above min_cash)",
                    group(*usd)
                )
            }
            EventKind::RepayLoan { usd } => {
                format!(
                    "repay {} USD of the loan from cash above min_cash",
                    group(*usd)
                )
            }
            EventKind::DrawLoan { ltv, max_usd } => {
                let cap =
                    max_usd.map_or_else(String::new, |m| format!(", at most {} USD", group(m)));
                format!("borrow against the reserve up to LTV {ltv}{cap}")
            }
            EventKind::RaiseEquity { usd } => format!("raise {} USD of equity", group(*usd)),
            EventKind::CapexBudget { usd_per_year } => {
                format!(
                    "capex budget: at most {} USD of new conversions per 12 months",
                    group(*usd_per_year)
                )
            }
        };
        writeln!(out, "  {} ({month}): {what}", event.date)?;
    }
    Ok(())
}

fn write_policies(out: &mut String, s: &Scenario) -> std::fmt::Result {
    writeln!(out, "Policies (baseline {}):", s.policies[s.baseline].name)?;
    for policy in &s.policies {
        let parameters = match &policy.kind {
            PolicyKind::Hold | PolicyKind::FullPivot => String::new(),
            PolicyKind::Staged {
                sites_per_quarter,
                max_sites,
            } => format!("sites_per_quarter = {sites_per_quarter}, max_sites = {max_sites}"),
            PolicyKind::Threshold {
                hurdle,
                window_months,
                max_concurrent,
            } => format!(
                "hurdle = {hurdle}, window_months = {window_months}, max_concurrent = {max_concurrent}"
            ),
        };
        let line = format!(
            "  {:<16} {:<10} {parameters}",
            policy.name,
            policy.kind.as_str()
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `0.07` -> `"7%"`, `0.125` -> `"12.5%"` (at most 3 decimals, no float noise).
fn percent(share: f64) -> String {
    let text = format!("{:.3}", share * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// `1234567.5` -> `"1,234,567.5"`: shortest round-trip digits, grouped by three.
fn group(x: f64) -> String {
    let text = x.to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn group_inserts_thousands_separators() {
        assert_eq!(group(0.0), "0");
        assert_eq!(group(999.0), "999");
        assert_eq!(group(1000.0), "1,000");
        assert_eq!(group(7474.6), "7,474.6");
        assert_eq!(group(-405_000_000.0), "-405,000,000");
    }

    #[test]
    fn percent_drops_float_noise() {
        assert_eq!(super::percent(0.07), "7%");
        assert_eq!(super::percent(0.125), "12.5%");
        assert_eq!(super::percent(1.0), "100%");
        assert_eq!(super::percent(0.0), "0%");
    }
}
