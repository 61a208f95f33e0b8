//! The metric catalogue: every per-path and per-month metric the engine
//! records, declared once, in the order it sits in a path's row.
//!
//! Three lists: the market's series ([`MARKET_SERIES`], read from the
//! [`MarketPath`]), each policy's monthly series ([`POLICY_SERIES`]) and
//! each policy's per-path values ([`POLICY_SCALARS`]), both read from its
//! [`PolicyOutcome`]. An entry gives the metric's name (as in
//! `summary.json` and the CSVs), its unit, whether it gets percentiles or
//! only a mean ([`Stat`]), how it is read from a path's outcome and, for
//! the monthly ones, where it goes in the month's summary.
//!
//! Everything positional derives from these lists: the row layout's sizes
//! and offsets ([`super::RowLayout`]), the writing of a path into its row
//! ([`write_market`], [`write_outcome`]), the reading back in `summarise`
//! (the series by iterating the lists, the per-path values by handle),
//! [`super::Engine::path_values`] and the metric rows of `monthly.csv` and
//! `market.csv`. Code names a metric by a typed handle ([`Series`],
//! [`Scalar`]) found by name at compile time ([`series`], [`scalar`]): a
//! misspelt name fails the build, and no code holds a bare position.
//!
//! Adding a metric takes:
//! - its computation in the outcome (`sim::PolicyOutcome`, in `src/sim/`);
//! - one entry here;
//! - a typed field in `summary.rs` (the typed [`crate::summary::Summary`]
//!   is kept, so its JSON field order is the struct's).
//!
//! A monthly series then needs nothing else: its entry's `get`/`set` put
//! it in [`PolicyMonth`] and `monthly.csv` lists it. A per-path value also
//! needs its line in `summarise::policy_summary` (the per-policy figures
//! are of mixed shapes: `Stats`, `MeanSe` against the baseline, rates),
//! and a column in `policies.csv` if it should show there.

use crate::model::market::MarketPath;
use crate::sim::PolicyOutcome;
use crate::summary::{MarketMonth, PolicyMonth, Stats};

/// What a metric's figures are across paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Mean, standard error and percentiles ([`Stats`]).
    Percentiles,
    /// The mean (and standard error) only: no histogram.
    MeanOnly,
}

/// A metric's figures across paths, as the summary holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Stats(Stats),
    Mean(f64),
}

/// One of the market's monthly series.
pub struct MarketSeries {
    pub name: &'static str,
    pub unit: &'static str,
    /// The series on a path, before `divisor`.
    pub read: fn(&MarketPath) -> &[f64],
    /// What each month's value is divided by (the path's unit into the
    /// summary's; 1 for most).
    pub divisor: f64,
    pub get: fn(&MarketMonth) -> &Stats,
    pub set: fn(&mut MarketMonth) -> &mut Stats,
}

/// How a policy's monthly series is read from its outcome.
#[derive(Clone, Copy)]
pub enum SeriesRead {
    /// A whole series of the outcome.
    Slice(fn(&PolicyOutcome) -> &[f64]),
    /// Fills the row's months (the slice, one per month) from the outcome:
    /// one call a series, its loop inlined in it (MW by state).
    Fill(fn(&PolicyOutcome, &mut [f64])),
}

/// One of a policy's monthly series.
pub struct PolicySeries {
    pub name: &'static str,
    pub unit: &'static str,
    pub stat: Stat,
    pub read: SeriesRead,
    /// Its figures in a month's summary (of the kind `stat` says).
    pub get: fn(&PolicyMonth) -> Figure,
    pub set: fn(&mut PolicyMonth, Figure),
}

/// One of a policy's per-path values.
pub struct PolicyScalar {
    pub name: &'static str,
    pub unit: &'static str,
    pub stat: Stat,
    /// The value on a path from the policy's outcome, the baseline's, and
    /// the highest NPV of any policy on the path.
    pub read: fn(&PolicyOutcome, &PolicyOutcome, f64) -> f64,
}

/// The market's series, in row (and `market.csv`) order.
pub const MARKET_SERIES: [MarketSeries; 5] = [
    MarketSeries {
        name: "btc_price_usd",
        unit: "USD",
        read: |m| &m.btc_price_usd,
        divisor: 1.0,
        get: |m| &m.btc_price_usd,
        set: |m| &mut m.btc_price_usd,
    },
    MarketSeries {
        name: "hashrate_ehs",
        unit: "EH/s",
        read: |m| &m.hashrate_ehs,
        divisor: 1.0,
        get: |m| &m.hashrate_ehs,
        set: |m| &mut m.hashrate_ehs,
    },
    MarketSeries {
        name: "hashprice_usd_per_ph_day",
        unit: "USD per PH/s per day",
        read: |m| &m.hashprice_usd_per_eh_day,
        divisor: 1000.0,
        get: |m| &m.hashprice_usd_per_ph_day,
        set: |m| &mut m.hashprice_usd_per_ph_day,
    },
    MarketSeries {
        name: "gpu_hour_usd",
        unit: "USD per GPU-hour",
        read: |m| &m.gpu_hour_usd,
        divisor: 1.0,
        get: |m| &m.gpu_hour_usd,
        set: |m| &mut m.gpu_hour_usd,
    },
    MarketSeries {
        name: "ai_demand_mw_it",
        unit: "MW",
        read: |m| &m.ai_demand_mw_it,
        divisor: 1.0,
        get: |m| &m.ai_demand_mw_it,
        set: |m| &mut m.ai_demand_mw_it,
    },
];

/// A series with percentiles whose summary field is `$f`.
macro_rules! stats_series {
    ($f:ident, $unit:expr) => {
        PolicySeries {
            name: stringify!($f),
            unit: $unit,
            stat: Stat::Percentiles,
            read: SeriesRead::Slice(|o| &o.$f),
            get: |m| Figure::Stats(m.$f),
            set: |m, f| m.$f = f.stats(),
        }
    };
}

/// A mean-only MW series from `sim::MwByState::$by`, summary field `$f`.
macro_rules! mw_series {
    ($f:ident, $by:ident) => {
        PolicySeries {
            name: stringify!($f),
            unit: "MW",
            stat: Stat::MeanOnly,
            read: SeriesRead::Fill(|o, out| {
                for (x, s) in out.iter_mut().zip(&o.mw) {
                    *x = s.$by;
                }
            }),
            get: |m| Figure::Mean(m.$f),
            set: |m, f| m.$f = f.mean(),
        }
    };
}

/// A policy's monthly series, in `monthly.csv` order.
pub const POLICY_SERIES: [PolicySeries; 11] = [
    stats_series!(revenue_usd, "USD"),
    stats_series!(mining_revenue_usd, "USD"),
    stats_series!(ai_revenue_usd, "USD"),
    stats_series!(btc_mined, "BTC"),
    stats_series!(reserve_btc, "BTC"),
    stats_series!(reserve_usd, "USD"),
    stats_series!(net_reserve_usd, "USD"),
    mw_series!(mw_mining, mining),
    mw_series!(mw_curtailed, idle),
    mw_series!(mw_converting, converting),
    mw_series!(mw_ai, ai),
];

/// A policy's per-path values. The names are the summary's (a flag's
/// mean is a rate, `p_...`; `first_distress_month` is 0 on a path with
/// none, and its mean over `p_distress` is the summary's
/// `mean_first_distress_month`).
pub const POLICY_SCALARS: [PolicyScalar; 14] = [
    PolicyScalar {
        name: "npv_usd",
        unit: "USD",
        stat: Stat::Percentiles,
        read: |o, _, _| o.npv_usd,
    },
    PolicyScalar {
        name: "total_revenue_usd",
        unit: "USD",
        stat: Stat::Percentiles,
        read: |o, _, _| o.total_revenue_usd,
    },
    PolicyScalar {
        name: "terminal_net_reserve_usd",
        unit: "USD",
        stat: Stat::Percentiles,
        read: |o, _, _| o.terminal_net_reserve_usd,
    },
    PolicyScalar {
        name: "max_drawdown",
        unit: "share of peak",
        stat: Stat::Percentiles,
        read: |o, _, _| o.max_drawdown,
    },
    PolicyScalar {
        name: "max_drawdown_net_usd",
        unit: "USD",
        stat: Stat::Percentiles,
        read: |o, _, _| o.max_drawdown_net_usd,
    },
    PolicyScalar {
        name: "min_reserve_btc",
        unit: "BTC",
        stat: Stat::Percentiles,
        read: |o, _, _| o.min_reserve_btc,
    },
    PolicyScalar {
        name: "conversions_started",
        unit: "conversions",
        stat: Stat::MeanOnly,
        read: |o, _, _| o.conversions_started as f64,
    },
    PolicyScalar {
        name: "p_margin_call",
        unit: "share of paths",
        stat: Stat::MeanOnly,
        read: |o, _, _| o.margin_call as u8 as f64,
    },
    PolicyScalar {
        name: "p_liquidation",
        unit: "share of paths",
        stat: Stat::MeanOnly,
        read: |o, _, _| o.liquidation as u8 as f64,
    },
    PolicyScalar {
        name: "p_distress",
        unit: "share of paths",
        stat: Stat::MeanOnly,
        read: |o, _, _| o.first_distress_month.is_some() as u8 as f64,
    },
    PolicyScalar {
        name: "first_distress_month",
        unit: "month",
        stat: Stat::MeanOnly,
        read: |o, _, _| o.first_distress_month.map_or(0.0, |m| m as f64),
    },
    PolicyScalar {
        name: "npv_vs_baseline_usd",
        unit: "USD",
        stat: Stat::MeanOnly,
        read: |o, base, _| o.npv_usd - base.npv_usd,
    },
    PolicyScalar {
        name: "terminal_net_reserve_vs_baseline_usd",
        unit: "USD",
        stat: Stat::MeanOnly,
        read: |o, base, _| o.terminal_net_reserve_usd - base.terminal_net_reserve_usd,
    },
    // What perfect foresight would add: the best NPV of any policy on the
    // path minus this one's (never negative). Its mean for the policy of
    // highest mean NPV is the summary's `evpi_usd`.
    PolicyScalar {
        name: "npv_regret_usd",
        unit: "USD",
        stat: Stat::MeanOnly,
        read: |o, _, best| best - o.npv_usd,
    },
];

impl Figure {
    /// The [`Stats`] of a metric with percentiles.
    pub fn stats(self) -> Stats {
        match self {
            Figure::Stats(s) => s,
            Figure::Mean(_) => panic!("a mean-only metric has no percentiles"),
        }
    }

    /// The mean.
    pub fn mean(self) -> f64 {
        match self {
            Figure::Stats(s) => s.mean,
            Figure::Mean(m) => m,
        }
    }
}

/// A policy's monthly series, by its place in [`POLICY_SERIES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series(pub(super) usize);

/// A policy's per-path value, by its place in [`POLICY_SCALARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scalar(pub(super) usize);

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The monthly series named `name` (a compile error in a `const` if none).
pub const fn series(name: &str) -> Series {
    let mut i = 0;
    while i < POLICY_SERIES.len() {
        if same(POLICY_SERIES[i].name, name) {
            return Series(i);
        }
        i += 1;
    }
    panic!("no such policy series")
}

/// The per-path value named `name` (a compile error in a `const` if none).
pub const fn scalar(name: &str) -> Scalar {
    let mut i = 0;
    while i < POLICY_SCALARS.len() {
        if same(POLICY_SCALARS[i].name, name) {
            return Scalar(i);
        }
        i += 1;
    }
    panic!("no such policy scalar")
}

pub const NPV: Scalar = scalar("npv_usd");
pub const TOTAL_REVENUE: Scalar = scalar("total_revenue_usd");
pub const TERMINAL_NET_RESERVE: Scalar = scalar("terminal_net_reserve_usd");
pub const MAX_DRAWDOWN: Scalar = scalar("max_drawdown");
pub const MAX_DRAWDOWN_NET: Scalar = scalar("max_drawdown_net_usd");
pub const MIN_RESERVE_BTC: Scalar = scalar("min_reserve_btc");
pub const CONVERSIONS: Scalar = scalar("conversions_started");
pub const MARGIN_CALL: Scalar = scalar("p_margin_call");
pub const LIQUIDATION: Scalar = scalar("p_liquidation");
pub const DISTRESS: Scalar = scalar("p_distress");
pub const FIRST_DISTRESS: Scalar = scalar("first_distress_month");
pub const NPV_VS_BASELINE: Scalar = scalar("npv_vs_baseline_usd");
pub const TERMINAL_VS_BASELINE: Scalar = scalar("terminal_net_reserve_vs_baseline_usd");
pub const NPV_REGRET: Scalar = scalar("npv_regret_usd");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn distinct_stats(seed: f64) -> Stats {
        let s = |k: f64| seed * 10.0 + k;
        Stats {
            mean: s(0.0),
            se: s(1.0),
            p5: s(2.0),
            p25: s(3.0),
            p50: s(4.0),
            p75: s(5.0),
            p95: s(6.0),
            cvar5: None,
        }
    }

    /// A name is the summary's field its `set` writes and `get` reads, of
    /// the kind its `stat` says.
    #[test]
    fn policy_series_names_are_their_summary_fields() {
        for (k, m) in POLICY_SERIES.iter().enumerate() {
            let figure = match m.stat {
                Stat::Percentiles => Figure::Stats(distinct_stats(k as f64 + 1.0)),
                Stat::MeanOnly => Figure::Mean(k as f64 + 0.5),
            };
            let mut month = PolicyMonth::default();
            (m.set)(&mut month, figure);
            assert_eq!((m.get)(&month), figure, "{}", m.name);
            let json = serde_json::to_value(&month).unwrap();
            let want = match figure {
                Figure::Stats(s) => serde_json::to_value(s).unwrap(),
                Figure::Mean(v) => json!(v),
            };
            assert_eq!(json[m.name], want, "{}", m.name);
        }
    }

    #[test]
    fn market_series_names_are_their_summary_fields() {
        for (k, m) in MARKET_SERIES.iter().enumerate() {
            let mut month = MarketMonth::default();
            let s = distinct_stats(k as f64 + 1.0);
            *(m.set)(&mut month) = s;
            assert_eq!(*(m.get)(&month), s, "{}", m.name);
            let json = serde_json::to_value(&month).unwrap();
            assert_eq!(json[m.name], serde_json::to_value(s).unwrap());
        }
    }

    /// Per-path values are named as the summary's policy fields (the
    /// first-distress month's sum feeds `mean_first_distress_month`).
    #[test]
    fn scalar_names_are_summary_fields() {
        let (s, d) = (
            Stats::default(),
            crate::summary::MeanSe { mean: 0.0, se: 0.0 },
        );
        let policy = serde_json::to_value(crate::summary::PolicySummary {
            name: String::new(),
            kind: String::new(),
            npv_usd: s,
            total_revenue_usd: s,
            terminal_net_reserve_usd: s,
            max_drawdown: s,
            max_drawdown_net_usd: s,
            min_reserve_btc: s,
            npv_vs_baseline_usd: Some(d),
            terminal_net_reserve_vs_baseline_usd: Some(d),
            conversions_started: crate::summary::Mean { mean: 0.0 },
            p_margin_call: 0.0,
            p_liquidation: 0.0,
            p_distress: 0.0,
            mean_first_distress_month: Some(0.0),
            months: Vec::new(),
        })
        .unwrap();
        for m in &POLICY_SCALARS {
            let name = match m.name {
                "first_distress_month" => "mean_first_distress_month",
                // Summarised once for the run, as `evpi_usd`.
                "npv_regret_usd" => continue,
                n => n,
            };
            assert!(policy.get(name).is_some(), "{}", m.name);
        }
    }

    #[test]
    fn names_are_unique_and_handles_find_them() {
        let mut names: Vec<&str> = MARKET_SERIES.iter().map(|m| m.name).collect();
        names.extend(POLICY_SERIES.iter().map(|m| m.name));
        names.extend(POLICY_SCALARS.iter().map(|m| m.name));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
        for (k, m) in POLICY_SCALARS.iter().enumerate() {
            assert_eq!(scalar(m.name), Scalar(k));
        }
        for (k, m) in POLICY_SERIES.iter().enumerate() {
            assert_eq!(series(m.name), Series(k));
        }
        assert_eq!(POLICY_SCALARS[NPV.0].name, "npv_usd");
    }
}
