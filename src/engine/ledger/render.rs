//! The ledger as a CSV (every column, full decimals) and as a Markdown
//! statement, and its one-line totals.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::*;

/// A cell with `dp` decimals always shown.
fn fixed(x: Decimal, dp: u32) -> String {
    let mut x = x;
    x.rescale(dp);
    x.to_string()
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

impl Ledger {
    /// The CSV header, in column order.
    pub fn header() -> Vec<String> {
        let mut h: Vec<String> = [
            "month",
            "date",
            "btc_price_usd",
            "hashrate_ehs",
            "hashprice_usd_per_ph_day",
            "fees_btc_per_block",
            "gpu_hour_usd",
            "ai_demand_mw_it",
        ]
        .map(String::from)
        .to_vec();
        h.extend(Balance::ALL.map(|b| format!("{}_open", b.name())));
        for spec in FLOWS {
            for &(b, d) in spec.legs {
                let dir = if d == In { "in" } else { "out" };
                h.push(format!("{}__{dir}__{}", b.name(), spec.what));
            }
            match spec.what {
                "mined" => h.push("mining_revenue_usd".into()),
                "capex_equity" => h.push("capex_usd".into()),
                "liquidation_sale" => {
                    h.push("liquidation_sale_usd".into());
                    h.push("liquidation_penalty_usd".into());
                }
                _ => {}
            }
        }
        h.extend(Balance::ALL.map(|b| format!("{}_close", b.name())));
        h.extend(
            [
                "ltv",
                "reserve_usd",
                "net_reserve_usd",
                "margin_call",
                "liquidation",
                "distress_month",
                "sites_mining",
                "sites_curtailed",
                "sites_converting",
                "sites_ai",
                "sites_started_converting",
            ]
            .map(String::from),
        );
        h
    }

    fn cells(row: &LedgerRow) -> Vec<String> {
        let mut c = vec![
            row.t.to_string(),
            row.date.clone(),
            fixed(row.price(), USD_DP),
            format!("{:.3}", row.hashrate_ehs),
            format!("{:.4}", row.hashprice_usd_per_ph_day),
            format!("{:.8}", row.fees_btc_per_block),
            format!("{:.4}", row.gpu_hour_usd),
            format!("{:.3}", row.ai_demand_mw_it),
        ];
        c.extend(Balance::ALL.map(|b| fixed(row.open[b.index()], b.dp())));
        for (spec, v) in FLOWS.iter().zip(&row.flows) {
            for &(b, _) in spec.legs {
                c.push(fixed(*v, b.dp()));
            }
            match spec.what {
                "mined" => c.push(fixed(row.mining_revenue_usd, USD_DP)),
                "capex_equity" => c.push(fixed(row.capex_usd, USD_DP)),
                "liquidation_sale" => {
                    c.push(fixed(row.liquidation_sale_usd, USD_DP));
                    c.push(fixed(row.liquidation_penalty_usd, USD_DP));
                }
                _ => {}
            }
        }
        c.extend(Balance::ALL.map(|b| fixed(row.close[b.index()], b.dp())));
        c.push(row.ltv().map_or_else(|| "inf".into(), |l| fixed(l, 6)));
        c.push(fixed(row.reserve_usd(), USD_DP));
        c.push(fixed(row.net_reserve_usd(), USD_DP));
        c.push(flag(row.margin_call).into());
        c.push(flag(row.liquidation).into());
        c.push(flag(row.distress_month).into());
        c.push(row.sites_mining.to_string());
        c.push(row.sites_curtailed.to_string());
        c.push(row.sites_converting.to_string());
        c.push(row.sites_ai.to_string());
        c.push(row.started.join(";"));
        c
    }

    /// The ledger as CSV: a header, then one row per month.
    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = w.write_record(Self::header());
        for row in &self.rows {
            let _ = w.write_record(Self::cells(row));
        }
        w.into_inner().unwrap_or_default()
    }

    /// One line on the path's totals.
    pub fn totals_line(&self) -> String {
        let o = &self.outcome;
        let month = |m: Option<usize>| {
            m.map_or_else(
                || "none".to_owned(),
                |m| format!("month {m} ({})", self.rows[m].date),
            )
        };
        format!(
            "{} path {} (seed {}), policy {}: NPV {}, terminal net reserve {}, first margin call {}, first distress {}{}",
            self.scenario,
            self.path,
            self.seed,
            self.policy,
            format::usd_m(o.npv_usd),
            format::usd_m(o.terminal_net_reserve_usd),
            month(o.first_margin_call_month),
            month(o.first_distress_month),
            if o.liquidation { ", liquidated" } else { "" }
        )
    }

    /// A readable Markdown table: per month, the balances with their total
    /// ins and outs, and a note of every treasury event of the month. USD is
    /// rounded to the dollar here; the CSV has every flow to the cent.
    pub fn markdown(&self) -> String {
        let usd = |x: Decimal| format::thousands(x.to_f64().unwrap_or(f64::NAN), 0);
        let btc = |x: Decimal| format::thousands(x.to_f64().unwrap_or(f64::NAN), 2);
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.totals_line());
        let _ = writeln!(
            out,
            "| month | date | BTC price | cash open | cash in | cash out | cash close | BTC open | BTC in | BTC out | BTC close | loan close | LTV | project debt | distress | net reserve | sites M/I/C/AI | notes |"
        );
        let _ = writeln!(out, "|{}", "---:|".repeat(18));
        for row in &self.rows {
            let ltv = row.ltv().map_or_else(
                || "inf".into(),
                |l| format!("{:.3}", l.to_f64().unwrap_or(0.0)),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{}/{}/{} | {} |",
                row.t,
                row.date,
                usd(row.price()),
                usd(row.open[Cash.index()]),
                usd(row.total(Cash, In)),
                usd(row.total(Cash, Out)),
                usd(row.close[Cash.index()]),
                btc(row.open[Reserve.index()]),
                btc(row.total(Reserve, In)),
                btc(row.total(Reserve, Out)),
                btc(row.close[Reserve.index()]),
                usd(row.close[Loan.index()]),
                ltv,
                usd(row.close[ProjectDebt.index()]),
                usd(row.close[Distress.index()]),
                usd(row.net_reserve_usd()),
                row.sites_mining,
                row.sites_curtailed,
                row.sites_converting,
                row.sites_ai,
                Self::notes(row, &usd, &btc),
            );
        }
        let _ = writeln!(
            out,
            "\nSites: M mining, I idle (curtailed), C converting, AI live. USD rounded to the dollar; the CSV (`--format csv`) has every flow in its own column, to the cent and the satoshi."
        );
        out
    }

    fn notes(
        row: &LedgerRow,
        usd: &dyn Fn(Decimal) -> String,
        btc: &dyn Fn(Decimal) -> String,
    ) -> String {
        let mut notes: Vec<String> = Vec::new();
        let sale = row.flow("event_sale", Reserve);
        if !sale.is_zero() {
            notes.push(format!(
                "event sale {} BTC: {} to the loan, {} to cash",
                btc(sale),
                usd(row.flow("event_sale", Loan)),
                usd(row.flow("event_sale", Cash))
            ));
        }
        let mut note = |what: &str, b: Balance, label: &str, is_btc: bool| {
            let v = row.flow(what, b);
            if !v.is_zero() {
                let v = if is_btc { btc(v) + " BTC" } else { usd(v) };
                notes.push(format!("{label} {v}"));
            }
        };
        note("btc_purchase", Reserve, "bought", true);
        note("loan_repayment", Loan, "loan repaid", false);
        note("loan_draw", Loan, "loan drawn", false);
        note("equity_raise", Cash, "equity raised", false);
        note("funding_sale", Reserve, "funding sale", true);
        note("distress_borrowing", Distress, "distress borrowed", false);
        note("target_ltv_sale", Reserve, "LTV rule sale", true);
        note(
            "margin_call_repayment",
            Loan,
            "margin call: cash to loan",
            false,
        );
        note("margin_call_sale", Reserve, "margin call sale", true);
        note("liquidation_sale", Reserve, "LIQUIDATION sale", true);
        note("maturity_repayment", Loan, "maturity: cash to loan", false);
        note("maturity_sale", Reserve, "maturity sale", true);
        note(
            "maturity_to_distress",
            Distress,
            "maturity to distress",
            false,
        );
        note("distress_repayment", Distress, "distress repaid", false);
        if row.margin_call && !notes.iter().any(|n| n.starts_with("margin call")) {
            notes.push("margin call".into());
        }
        if !row.started.is_empty() {
            notes.push(format!("started {}", row.started.join(", ")));
        }
        notes.join("; ")
    }
}
