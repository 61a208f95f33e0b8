use super::*;
use crate::model::calendar::BLOCKS_PER_DAY;

const HEADER: &str = "month,btc_price_usd_close,btc_price_usd_mean,hashrate_ehs_mean,fees_btc_per_block_mean,subsidy_btc\n";

fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// The error of loading `text`, asserting it names the file and every needle.
fn error(text: &str, needles: &[&str]) -> String {
    let (_dir, path) = write(text);
    let message = History::load(&path).unwrap_err().to_string();
    assert!(message.contains("history.csv"), "{message}");
    for needle in needles {
        assert!(message.contains(needle), "no `{needle}` in: {message}");
    }
    message
}

#[test]
fn the_shipped_history_loads_with_its_empty_cells() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/history/btc_history_monthly.csv");
    let h = History::load(&path).unwrap();
    assert_eq!(h.months.len(), 151);
    assert_eq!(month_label(h.months[0].month), "2014-01");
    assert_eq!(month_label(h.months[150].month), "2026-07");
    let missing = h
        .months
        .iter()
        .filter(|m| m.hashrate_ehs_mean.is_none())
        .count();
    assert_eq!(missing, 2);
    assert_eq!(h.index_of(parse_month("2024-04").unwrap()), Some(123));
    assert_eq!(h.months[123].subsidy_btc, Some(5.104968));
}

#[test]
fn bad_history_files_name_the_line_and_column() {
    let row = |m: &str| format!("{m},100,100,1,0.1,3.125\n");
    error(
        &format!(
            "{HEADER}{}{}{}",
            row("2020-01"),
            row("2020-03"),
            row("2020-04")
        ),
        &["line 3", "column `month`", "gap", "2020-03 follows 2020-01"],
    );
    error(
        &format!("{HEADER}{}{}", row("2020-01"), row("2020-01")),
        &["line 3", "column `month`", "2020-01 appears twice"],
    );
    error(
        &format!("{HEADER}{}{}", row("2020-02"), row("2020-01")),
        &["line 3", "column `month`", "oldest first"],
    );
    error(
        &format!("{HEADER}{}2020-02,100,100,-5,0.1,3.125\n", row("2020-01")),
        &["line 3", "column `hashrate_ehs_mean`", "> 0", "-5"],
    );
    error(
        &format!("{HEADER}{}2020-02,100,100,abc,0.1,3.125\n", row("2020-01")),
        &["line 3", "column `hashrate_ehs_mean`", "a number"],
    );
    error(
        &format!("{HEADER}{}2020-02,100,100,inf,0.1,3.125\n", row("2020-01")),
        &["line 3", "column `hashrate_ehs_mean`", "finite"],
    );
    error(
        &format!("{HEADER}{}2020/02,100,100,1,0.1,3.125\n", row("2020-01")),
        &["line 3", "column `month`", "YYYY-MM"],
    );
    error(
        "month,btc_price_usd_close,btc_price_usd_mean,fees_btc_per_block_mean,subsidy_btc\n2020-01,1,1,0.1,3\n",
        &["line 1", "column `hashrate_ehs_mean`", "missing column"],
    );
    error("", &["empty", "at least two months"]);
    error(HEADER, &["at least two months"]);
}

#[test]
fn empty_cells_are_missing_values_and_other_columns_are_ignored() {
    let text = "sources,month,btc_price_usd_close,btc_price_usd_mean,hashrate_ehs_mean,fees_btc_per_block_mean,subsidy_btc\n\
                X,2020-01,100,90,,0.1,12.5\nY,2020-02,110,,5,,12.5\n";
    let (_dir, path) = write(text);
    let h = History::load(&path).unwrap();
    assert_eq!(h.months[0].hashrate_ehs_mean, None);
    assert_eq!(h.months[0].btc_price_usd_mean, Some(90.0));
    assert_eq!(h.months[1].btc_price_usd_mean, None);
    assert_eq!(h.months[1].fees_btc_per_block_mean, None);
}

#[test]
fn the_fee_term_is_the_mean_of_the_twelve_months_before() {
    let mut text = HEADER.to_owned();
    for (k, fee) in [
        1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0,
    ]
    .iter()
    .enumerate()
    {
        let cell = if k == 5 {
            String::new()
        } else {
            fee.to_string()
        };
        text += &format!("2020-{:02},1,1,1,{cell},6.25\n", k + 1);
    }
    text = text
        .replace("2020-13", "2021-01")
        .replace("2020-14", "2021-02");
    let (_dir, path) = write(&text);
    let h = History::load(&path).unwrap();
    // The first month: its own value.
    assert_eq!(h.fee_term(0), Some(1.0));
    // Month 2: the mean of months 0 and 1.
    assert_eq!(h.fee_term(2), Some(1.5));
    // Month 13: months 1..12, month 5 missing: (2+3+4+5+7+...+13) / 11.
    let expected = (2.0 + 3.0 + 4.0 + 5.0 + 7.0 + 8.0 + 9.0 + 10.0 + 11.0 + 12.0 + 13.0) / 11.0;
    assert!((h.fee_term(13).unwrap() - expected).abs() < 1e-12);
}

#[test]
fn the_subsidy_goes_on_past_the_file_on_the_bitcoin_schedule() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/history/btc_history_monthly.csv");
    let h = History::load(&path).unwrap();
    let april_2028 = h.index_of(parse_month("2026-07").unwrap()).unwrap() + 21;
    let expected = (14.0 * 3.125 + 16.0 * 1.5625) / 30.0;
    assert!((h.subsidy(april_2028).unwrap() - expected).abs() < 1e-12);
    assert_eq!(h.subsidy(april_2028 - 1), Some(3.125));
    assert_eq!(h.subsidy(april_2028 + 1), Some(1.5625));
    // Inside the file: the file's own value; a 1-month life is the month's subsidy.
    let i = h.index_of(parse_month("2024-04").unwrap()).unwrap();
    assert_eq!(h.subsidy_fwd(i, 1), Some(5.104968));
    let fwd = h.subsidy_fwd(i, 3).unwrap();
    assert!((fwd - (5.104968 + 2.0 * 3.125) / 3.0).abs() < 1e-12);
}

/// The equation on history and the simulation's agree: a sampled path with
/// no hashrate noise, written as a history file (fees at their mean, so the
/// trailing fee term is the mean), is stepped month by month by
/// `Dynamics::mean_step` to the simulation's own next hashrate, in both
/// branches, with a lag and a machine life.
#[test]
fn the_history_equation_is_the_simulations() {
    use crate::model::calendar::Calendar;
    use crate::model::market::{MarketModel, MarketPath};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cango_2026.toml");
    let mut sc = crate::scenario::load(&path).unwrap();
    let hr = &mut sc.market.hashrate;
    (hr.machine_life_months, hr.capitulation, hr.sigma) = (24, true, 0.0);
    (hr.cash_cost_share, hr.kappa_exit_per_year, hr.lag_months) = (0.6, 9.0, 2);
    let cal = Calendar::new(&sc);
    let model = MarketModel::new(&sc.market, &cal);
    let months = cal.months();
    let fee = sc.market.fees.mean_btc;
    let dynamics = Dynamics::of_scenario(&sc.market.hashrate, sc.simulation.start);
    let (mut exits, mut gaps) = (0, 0);
    let mut m = MarketPath::with_months(months);
    for p in 0..20 {
        model.sample(11, p, &mut m);
        let mut text = HEADER.to_owned();
        for t in 0..months {
            text += &format!(
                "{},{},{},{},{fee},{}\n",
                cal.label(t),
                m.btc_price_usd[t],
                m.btc_price_usd[t],
                m.hashrate_ehs[t],
                cal.subsidy_btc[t]
            );
        }
        let (_dir, file) = write(&text);
        let history = History::load(&file).unwrap();
        let drivers = Drivers::new(&history, 0, months, 2, 24, sc.simulation.start);
        for t in 0..months - 1 {
            let ln_h = m.hashrate_ehs[t].ln();
            let step = dynamics.mean_step(&drivers, t, ln_h).unwrap();
            let expected = m.hashrate_ehs[t + 1].ln();
            assert!(
                (ln_h + step - expected).abs() < 1e-9,
                "path {p}, month {t}: {} vs {expected}",
                ln_h + step
            );
            let h_cash = BLOCKS_PER_DAY * (cal.subsidy_btc[t] + fee) * m.btc_price_usd[t]
                / (0.6 * cal.breakeven_usd_per_eh_day[t]);
            if m.hashrate_ehs[t] > h_cash {
                exits += 1;
            } else {
                gaps += 1;
            }
        }
    }
    assert!(
        exits > 20 && gaps > 20,
        "exit months {exits}, gap months {gaps}"
    );
}
