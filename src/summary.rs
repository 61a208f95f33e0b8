//! The results of a run, as written to `summary.json`.
//!
//! Every figure is across paths. A [`Stats`] object is the mean with its
//! standard error and the 5/25/50/75/95th percentiles. Monthly values are at
//! the end of month t; market values are those of month t (docs/model.md section 1:
//! the value at the start of the month, used for everything in it). Money is
//! in USD at full precision; it is rounded only where it is shown (terminal
//! table, CSV, charts).
//!
//! Timing fields (`elapsed_s`, `run_started_utc`, `performance`) are the only
//! ones that differ between two runs of the same scenario and seed.

use serde::{Deserialize, Serialize};

/// Mean, standard error and percentiles of one quantity across paths.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    /// Mean across paths.
    pub mean: f64,
    /// Standard error of the mean (sample standard deviation / sqrt(paths)).
    pub se: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Conditional value at risk at 5%: the mean of the worst 5% of paths
    /// (Rockafellar-Uryasev). Only `npv_usd` and `terminal_net_reserve_usd`
    /// of each policy carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvar5: Option<f64>,
}

impl Stats {
    /// Half-width of the 95% confidence interval of the mean, `1.96 se`.
    pub fn ci95(&self) -> f64 {
        1.96 * self.se
    }
}

/// A mean with its standard error (paired differences).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct MeanSe {
    pub mean: f64,
    pub se: f64,
}

/// A mean alone.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Mean {
    pub mean: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// SHA-256 of the scenario file (and its fleet CSV).
    pub scenario_sha256: String,
    /// Version of pivotsim that produced the run.
    pub pivotsim_version: String,
    /// Master seed.
    pub seed: u64,
    /// Monte Carlo paths.
    pub paths: u64,
    /// Months simulated.
    pub months: usize,
    /// First month, `YYYY-MM-DD`.
    pub start: String,
    /// AI mode of the scenario (`gpu_cloud` or `colocation`).
    pub ai_mode: String,
    /// Bitcoin halving dates of the scenario, `YYYY-MM-DD` (charts mark them).
    /// Empty in summaries written before this field existed.
    #[serde(default)]
    pub halvings: Vec<String>,
    /// Name of the baseline policy of the paired comparisons.
    pub baseline: String,
    /// Wall-clock seconds of the simulation (timing field).
    pub elapsed_s: f64,
    /// UTC time the run started, RFC 3339 (timing field).
    pub run_started_utc: String,
    /// How percentiles were computed and their accuracy.
    pub percentiles: PercentileInfo,
    /// The sampled market, shared by every policy.
    pub market: MarketSummary,
    /// One entry per policy, in scenario order.
    pub policies: Vec<PolicySummary>,
    /// Expected value of perfect information over the listed policies:
    /// E[max over policies of the path's NPV] - max over policies of E[NPV].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evpi_usd: Option<MeanSe>,
    /// What drives each policy's paired NPV difference against the baseline
    /// (every policy but the baseline), on the first
    /// min(paths, 65,536) paths (`drivers.csv`).
    #[serde(default)]
    pub drivers: Vec<PolicyDrivers>,
    /// Throughput figures (timing fields).
    pub performance: Performance,
    /// Per policy, the worst paths (`pivotsim run --worst K`; written to
    /// `worst_paths.csv`, not to summary.json).
    #[serde(skip)]
    pub worst_paths: Vec<WorstLists>,
}

/// The drivers of one policy's paired NPV difference against the baseline,
/// `npv_usd(policy) - npv_usd(baseline)` per path.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PolicyDrivers {
    pub policy: String,
    /// Paths analysed: the first min(paths, 65,536).
    pub paths: u64,
    /// Share of those paths on which the policy's NPV is above the
    /// baseline's.
    pub p_beats_baseline: f64,
    /// R^2 of the regression of the difference on every driver.
    pub r_squared: f64,
    /// P(margin call) of the policy on the paths where it beats the baseline
    /// and on the others (`None` when there are none): the outcome, not a
    /// regressor.
    pub p_margin_call_when_beats: Option<f64>,
    pub p_margin_call_otherwise: Option<f64>,
    /// One entry per driver, in the fixed driver order.
    pub drivers: Vec<DriverStats>,
}

/// One driver of a policy's difference.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DriverStats {
    /// The driver's name (`btc_log_return`, ...).
    pub driver: String,
    /// OLS coefficient on the standardised driver: USD of difference per
    /// standard deviation of the driver, the others held fixed.
    pub std_coef: f64,
    /// Spearman rank correlation with the difference (average ranks for ties).
    pub rank_corr: f64,
    /// LMG (Shapley) share of R^2; the shares add to `r_squared`.
    pub contribution_to_variance: f64,
    /// Mean difference (USD) in each decile bin of the driver; `None` for a
    /// bin merged into a lower one by ties.
    pub decile_mean_usd: Vec<Option<f64>>,
    /// The driver's mean on the paths where the policy beats the baseline,
    /// and on the others (`None` when there are none).
    pub mean_when_beats: Option<f64>,
    pub mean_otherwise: Option<f64>,
    /// `constant` when the driver has zero variance on these paths (every
    /// number is then 0), else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// How the percentiles were computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PercentileInfo {
    /// `exact` (all paths kept, paths <= pilot) or `histogram` (bins at the
    /// pilot's quantiles).
    pub method: String,
    /// Paths whose values set the histogram bins.
    pub pilot_paths: u64,
    /// The largest rank error of any reported percentile, as a share of paths
    /// (0.005 = half a percentile point); 0 when exact.
    pub max_rank_error: f64,
    /// The largest error bound of any reported `cvar5`, in USD; 0 when
    /// exact (paths <= pilot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvar5_max_error_usd: Option<f64>,
}

/// The market across paths.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarketSummary {
    pub months: Vec<MarketMonth>,
}

/// The market in month t.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MarketMonth {
    /// 0-based month index.
    pub month: usize,
    /// First day of the month, `YYYY-MM-DD`.
    pub date: String,
    /// BTC price S[t], USD.
    pub btc_price_usd: Stats,
    /// Network hashrate H[t], EH/s.
    pub hashrate_ehs: Stats,
    /// Hashprice HP[t], USD per PH/s per day.
    pub hashprice_usd_per_ph_day: Stats,
    /// GPU-hour price p[t], USD.
    pub gpu_hour_usd: Stats,
    /// AI demand D[t], MW of IT load.
    #[serde(alias = "ai_demand_mw")]
    pub ai_demand_mw_it: Stats,
}

/// One policy across paths.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicySummary {
    /// Policy name from the scenario.
    pub name: String,
    /// Policy kind (`hold`, `full_pivot`, `staged`, `threshold`).
    pub kind: String,
    /// Operating value of the allocation, USD (docs/model.md section 5).
    pub npv_usd: Stats,
    /// Sum of monthly revenue (mining + AI), USD, undiscounted.
    pub total_revenue_usd: Stats,
    /// Net reserve at the end of the last month, USD.
    pub terminal_net_reserve_usd: Stats,
    /// Largest fall of the reserve's USD value from its running peak (0 to 1).
    pub max_drawdown: Stats,
    /// Largest fall of the net reserve from its running peak, USD.
    pub max_drawdown_net_usd: Stats,
    /// Lowest end-of-month BTC reserve.
    pub min_reserve_btc: Stats,
    /// Mean paired difference of NPV against the baseline (null for the baseline).
    pub npv_vs_baseline_usd: Option<MeanSe>,
    /// Mean paired difference of terminal net reserve against the baseline.
    pub terminal_net_reserve_vs_baseline_usd: Option<MeanSe>,
    /// Conversions started per path.
    pub conversions_started: Mean,
    /// Share of paths with at least one margin call.
    pub p_margin_call: f64,
    /// Share of paths with a liquidation.
    pub p_liquidation: f64,
    /// Share of paths with at least one distress month.
    pub p_distress: f64,
    /// Mean 0-based month of the first distress month, among paths with one.
    pub mean_first_distress_month: Option<f64>,
    /// Month by month.
    pub months: Vec<PolicyMonth>,
}

/// One policy in month t (end of month).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PolicyMonth {
    pub month: usize,
    pub date: String,
    /// Mining + AI revenue, USD.
    pub revenue_usd: Stats,
    pub mining_revenue_usd: Stats,
    pub ai_revenue_usd: Stats,
    pub btc_mined: Stats,
    /// BTC reserve at the end of the month.
    pub reserve_btc: Stats,
    /// `reserve_btc * S[t]`, USD.
    pub reserve_usd: Stats,
    /// `reserve_usd + cash - loan - project debt - distress debt`, USD.
    pub net_reserve_usd: Stats,
    /// Mean MW of grid power in sites mining (running or idle).
    pub mw_mining: f64,
    /// Mean MW of mining sites idle (curtailed) this month.
    pub mw_curtailed: f64,
    /// Mean MW of sites converting.
    pub mw_converting: f64,
    /// Mean MW of live AI sites (grid MW).
    pub mw_ai: f64,
}

/// Throughput of the run (timing fields: they vary from run to run).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Performance {
    /// Worker threads used.
    pub threads: usize,
    /// Paths per second of wall-clock time.
    pub paths_per_s: f64,
    /// Paths x months x sites x policies per second.
    pub site_months_per_s: f64,
    /// Share of worker time sampling markets and mining tables. The
    /// simulation's time is timed whole and split between this and
    /// `share_policy` as on the paths timed phase by phase (one in eight).
    pub share_market: f64,
    /// Share of worker time replaying policies (split as `share_market` says).
    pub share_policy: f64,
    /// Share of worker time aggregating (moments, histograms).
    pub share_aggregation: f64,
    /// Peak resident memory of the process, MiB (Linux; 0 if unknown).
    pub peak_memory_mib: f64,
    /// Wall time of each phase of the run (absent from summaries written
    /// before it was recorded).
    #[serde(default)]
    pub phases: Phases,
}

/// Wall seconds of the phases of a run, in order. A run of at most
/// `PILOT_PATHS` paths is all pilot (the other phases are 0).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Phases {
    /// Simulating the pilot's paths (kept whole in memory).
    pub pilot_s: f64,
    /// Placing the histograms' bins from the pilot, and counting it on them.
    pub bins_s: f64,
    /// Simulating and counting every other path, and merging the threads'
    /// aggregates.
    pub main_s: f64,
    /// Reading the percentiles and building the summary.
    pub summary_s: f64,
}

/// One policy's lowest `(value, path)` pairs, lowest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorstLists {
    pub npv_usd: Vec<(f64, u64)>,
    pub terminal_net_reserve_usd: Vec<(f64, u64)>,
}

/// A figure of a [`Summary`] that is not a finite number: where it is, and
/// the policy and month it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFinite {
    /// Scenario name.
    pub scenario: String,
    /// Its place in `summary.json`, e.g. `policies[1].months[412].net_reserve_usd.mean`
    /// (`worst_paths[p].npv_usd` for the worst paths, which are not in it).
    pub path: String,
    /// The metric within its policy and month, e.g. `net_reserve_usd.mean`.
    pub metric: String,
    /// The policy's name; `None` for the market and the run's own figures.
    pub policy: Option<String>,
    /// The 0-based month and its date, for monthly figures.
    pub month: Option<(usize, String)>,
    /// The value (NaN or an infinity).
    pub value: f64,
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: `{}`", self.scenario, self.metric)?;
        match &self.policy {
            Some(policy) => write!(f, " of policy `{policy}`")?,
            None if self.path.starts_with("market.") => write!(f, " of the market")?,
            None => {}
        }
        if let Some((month, date)) = &self.month {
            write!(f, " in month {month} ({date})")?;
        }
        write!(
            f,
            " is {} ({} in summary.json), not a number the run can report: its values \
             outgrew the sums that hold them (docs/scenario-format.md, \"Bounds\"); \
             nothing was written. Fewer months or paths, or a milder market, stay within them",
            self.value, self.path
        )
    }
}

impl std::error::Error for NonFinite {}

impl Summary {
    /// The first figure that is not a finite number, in `summary.json`'s
    /// order (then the worst paths), or `None` if every one is finite.
    ///
    /// Only an absent value is allowed, where this file documents it as
    /// undefined: the baseline's `*_vs_baseline_usd` and
    /// `mean_first_distress_month` without a distress path (`None`, written
    /// as `null`). Every `f64` field counts, found by serializing the
    /// summary, so a field added later is checked too.
    pub fn first_non_finite(&self) -> Option<NonFinite> {
        let mut finder = finite::Finder::default();
        if let Err(finite::Found { path, value }) = self.serialize(&mut finder) {
            return Some(self.locate(&path, value));
        }
        for (p, lists) in self.worst_paths.iter().enumerate() {
            for (name, list) in [
                ("npv_usd", &lists.npv_usd),
                ("terminal_net_reserve_usd", &lists.terminal_net_reserve_usd),
            ] {
                if let Some(&(value, _)) = list.iter().find(|(v, _)| !v.is_finite()) {
                    return Some(NonFinite {
                        scenario: self.scenario.clone(),
                        path: format!("worst_paths[{p}].{name}"),
                        metric: format!("worst_paths.{name}"),
                        policy: self.policies.get(p).map(|pol| pol.name.clone()),
                        month: None,
                        value,
                    });
                }
            }
        }
        None
    }

    /// [`Summary::first_non_finite`] as an error (boxed: it is large).
    pub fn ensure_finite(&self) -> Result<(), Box<NonFinite>> {
        self.first_non_finite()
            .map_or(Ok(()), |bad| Err(Box::new(bad)))
    }

    /// A path of the serialized summary as a policy, a month and a metric.
    fn locate(&self, path: &[finite::Seg], value: f64) -> NonFinite {
        use finite::Seg::{Field, Index};
        let join = |segs: &[finite::Seg]| {
            let mut text = String::new();
            for seg in segs {
                match seg {
                    Field(name) if text.is_empty() => text.push_str(name),
                    Field(name) => text.push_str(&format!(".{name}")),
                    Index(i) => text.push_str(&format!("[{i}]")),
                }
            }
            text
        };
        let (policy, month, rest) = match path {
            [
                Field("policies"),
                Index(p),
                Field("months"),
                Index(t),
                rest @ ..,
            ] => (
                Some(*p),
                self.policies[*p]
                    .months
                    .get(*t)
                    .map(|m| (*t, m.date.clone())),
                rest,
            ),
            [Field("policies"), Index(p), rest @ ..] => (Some(*p), None, rest),
            [Field("market"), Field("months"), Index(t), rest @ ..] => (
                None,
                self.market.months.get(*t).map(|m| (*t, m.date.clone())),
                rest,
            ),
            _ => (None, None, path),
        };
        NonFinite {
            scenario: self.scenario.clone(),
            path: join(path),
            metric: join(rest),
            policy: policy.map(|p| self.policies[p].name.clone()),
            month,
            value,
        }
    }
}

/// A serializer that serializes nothing: it walks a value's fields and
/// stops at the first `f64` (or `f32`) that is not finite, with its path.
mod finite {
    use serde::ser::{self, Serialize};

    /// One step of a path: a struct field or a sequence index.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Seg {
        Field(&'static str),
        Index(usize),
    }

    /// The walk's state: the path to the value being visited.
    #[derive(Default)]
    pub struct Finder {
        path: Vec<Seg>,
    }

    /// The "error" that stops the walk: the first non-finite value.
    #[derive(Debug)]
    pub struct Found {
        pub path: Vec<Seg>,
        pub value: f64,
    }

    impl std::fmt::Display for Found {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} at {:?}", self.value, self.path)
        }
    }

    impl std::error::Error for Found {}

    impl ser::Error for Found {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            // Summaries serialize without errors of their own.
            Found {
                path: Vec::new(),
                value: f64::NAN,
            }
        }
    }

    type R = Result<(), Found>;

    impl Finder {
        fn float(&mut self, v: f64) -> R {
            if v.is_finite() {
                Ok(())
            } else {
                Err(Found {
                    path: self.path.clone(),
                    value: v,
                })
            }
        }

        fn at<T: ?Sized + Serialize>(&mut self, seg: Seg, value: &T) -> R {
            self.path.push(seg);
            let result = value.serialize(&mut *self);
            self.path.pop();
            result
        }
    }

    /// Sequences, tuples and maps: their elements by index.
    pub struct Elements<'a> {
        finder: &'a mut Finder,
        next: usize,
    }

    impl Elements<'_> {
        fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
            self.next += 1;
            self.finder.at(Seg::Index(self.next - 1), value)
        }
    }

    macro_rules! elements {
        ($($trait:ident :: $method:ident),*) => {$(
            impl ser::$trait for Elements<'_> {
                type Ok = ();
                type Error = Found;
                fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
                    self.element(value)
                }
                fn end(self) -> R {
                    Ok(())
                }
            }
        )*};
    }
    elements!(
        SerializeSeq::serialize_element,
        SerializeTuple::serialize_element,
        SerializeTupleStruct::serialize_field,
        SerializeTupleVariant::serialize_field
    );

    impl ser::SerializeMap for Elements<'_> {
        type Ok = ();
        type Error = Found;
        fn serialize_key<T: ?Sized + Serialize>(&mut self, _: &T) -> R {
            Ok(())
        }
        fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
            self.element(value)
        }
        fn end(self) -> R {
            Ok(())
        }
    }

    macro_rules! fields {
        ($($trait:ident),*) => {$(
            impl ser::$trait for Elements<'_> {
                type Ok = ();
                type Error = Found;
                fn serialize_field<T: ?Sized + Serialize>(
                    &mut self,
                    key: &'static str,
                    value: &T,
                ) -> R {
                    self.finder.at(Seg::Field(key), value)
                }
                fn end(self) -> R {
                    Ok(())
                }
            }
        )*};
    }
    fields!(SerializeStruct, SerializeStructVariant);

    macro_rules! ignore {
        ($($method:ident($ty:ty)),*) => {$(
            fn $method(self, _: $ty) -> R {
                Ok(())
            }
        )*};
    }

    impl<'a> ser::Serializer for &'a mut Finder {
        type Ok = ();
        type Error = Found;
        type SerializeSeq = Elements<'a>;
        type SerializeTuple = Elements<'a>;
        type SerializeTupleStruct = Elements<'a>;
        type SerializeTupleVariant = Elements<'a>;
        type SerializeMap = Elements<'a>;
        type SerializeStruct = Elements<'a>;
        type SerializeStructVariant = Elements<'a>;

        ignore!(
            serialize_bool(bool),
            serialize_i8(i8),
            serialize_i16(i16),
            serialize_i32(i32),
            serialize_i64(i64),
            serialize_i128(i128),
            serialize_u8(u8),
            serialize_u16(u16),
            serialize_u32(u32),
            serialize_u64(u64),
            serialize_u128(u128),
            serialize_char(char),
            serialize_str(&str),
            serialize_bytes(&[u8]),
            serialize_unit_struct(&'static str)
        );

        fn serialize_f32(self, v: f32) -> R {
            self.float(f64::from(v))
        }
        fn serialize_f64(self, v: f64) -> R {
            self.float(v)
        }
        fn serialize_none(self) -> R {
            Ok(())
        }
        fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> R {
            value.serialize(self)
        }
        fn serialize_unit(self) -> R {
            Ok(())
        }
        fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> R {
            Ok(())
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> R {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
            value: &T,
        ) -> R {
            self.at(Seg::Field(variant), value)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Elements<'a>, Found> {
            Ok(Elements {
                finder: self,
                next: 0,
            })
        }
        fn serialize_tuple(self, _: usize) -> Result<Elements<'a>, Found> {
            self.serialize_seq(None)
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Elements<'a>, Found> {
            self.serialize_seq(None)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Elements<'a>, Found> {
            self.serialize_seq(None)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Elements<'a>, Found> {
            self.serialize_seq(None)
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Elements<'a>, Found> {
            self.serialize_seq(None)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Elements<'a>, Found> {
            self.serialize_seq(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `hold` (the baseline) and `pivot` over three months, every
    /// figure finite, the absent ones absent as documented.
    fn summary() -> Summary {
        let stats = Stats {
            mean: 1.0,
            se: 0.1,
            p5: 0.5,
            p25: 0.8,
            p50: 1.0,
            p75: 1.2,
            p95: 1.5,
            cvar5: None,
        };
        let months = |dates: &[&str]| -> Vec<PolicyMonth> {
            dates
                .iter()
                .enumerate()
                .map(|(t, d)| PolicyMonth {
                    month: t,
                    date: d.to_string(),
                    revenue_usd: stats,
                    net_reserve_usd: stats,
                    ..PolicyMonth::default()
                })
                .collect()
        };
        let dates = ["2026-02-01", "2026-03-01", "2026-04-01"];
        let policy = |name: &str, baseline: bool| PolicySummary {
            name: name.into(),
            kind: "hold".into(),
            npv_usd: stats,
            total_revenue_usd: stats,
            terminal_net_reserve_usd: stats,
            max_drawdown: stats,
            max_drawdown_net_usd: stats,
            min_reserve_btc: stats,
            npv_vs_baseline_usd: (!baseline).then_some(MeanSe { mean: 1.0, se: 0.5 }),
            terminal_net_reserve_vs_baseline_usd: (!baseline)
                .then_some(MeanSe { mean: 2.0, se: 0.5 }),
            conversions_started: Mean { mean: 0.0 },
            p_margin_call: 0.0,
            p_liquidation: 0.0,
            p_distress: 0.0,
            mean_first_distress_month: None,
            months: months(&dates),
        };
        Summary {
            scenario: "s".into(),
            scenario_sha256: String::new(),
            pivotsim_version: String::new(),
            seed: 1,
            paths: 10,
            months: 3,
            start: dates[0].into(),
            ai_mode: "gpu_cloud".into(),
            halvings: Vec::new(),
            baseline: "hold".into(),
            elapsed_s: 0.5,
            run_started_utc: String::new(),
            percentiles: PercentileInfo {
                method: "exact".into(),
                pilot_paths: 10,
                max_rank_error: 0.0,
                cvar5_max_error_usd: None,
            },
            market: MarketSummary {
                months: dates
                    .iter()
                    .enumerate()
                    .map(|(t, d)| MarketMonth {
                        month: t,
                        date: d.to_string(),
                        btc_price_usd: stats,
                        ..MarketMonth::default()
                    })
                    .collect(),
            },
            policies: vec![policy("hold", true), policy("pivot", false)],
            performance: Performance::default(),
            evpi_usd: None,
            drivers: Vec::new(),
            worst_paths: vec![WorstLists::default(); 2],
        }
    }

    #[test]
    fn a_finite_summary_has_no_non_finite_figure() {
        let s = summary();
        assert_eq!(s.first_non_finite(), None);
        assert!(s.ensure_finite().is_ok());
    }

    /// A NaN or an infinity anywhere is named with its policy and month;
    /// the absent values the summary documents are not.
    #[test]
    fn a_non_finite_figure_is_named_with_its_policy_and_month() {
        let mut s = summary();
        s.policies[1].months[2].net_reserve_usd.p95 = f64::NAN;
        let found = s.first_non_finite().expect("the NaN is found");
        assert_eq!(found.path, "policies[1].months[2].net_reserve_usd.p95");
        assert_eq!(found.metric, "net_reserve_usd.p95");
        assert_eq!(found.policy.as_deref(), Some("pivot"));
        assert_eq!(found.month, Some((2, "2026-04-01".to_string())));
        assert!(found.value.is_nan());
        let message = s.ensure_finite().unwrap_err().to_string();
        for needle in [
            "s: `net_reserve_usd.p95` of policy `pivot` in month 2 (2026-04-01) is NaN",
            "nothing was written",
        ] {
            assert!(message.contains(needle), "{needle:?} not in {message}");
        }

        // The first in summary.json's order wins.
        s.policies[0].npv_vs_baseline_usd = Some(MeanSe {
            mean: 0.0,
            se: f64::INFINITY,
        });
        let found = s.first_non_finite().unwrap();
        assert_eq!(found.path, "policies[0].npv_vs_baseline_usd.se");
        assert_eq!((found.policy.as_deref(), found.month), (Some("hold"), None));

        let mut s = summary();
        s.market.months[1].btc_price_usd.mean = f64::NEG_INFINITY;
        let found = s.first_non_finite().unwrap();
        assert_eq!(found.path, "market.months[1].btc_price_usd.mean");
        assert_eq!(found.policy, None);
        assert_eq!(found.month, Some((1, "2026-03-01".to_string())));
        assert!(
            found.to_string().contains("of the market in month 1"),
            "{found}"
        );

        let mut s = summary();
        s.policies[1].mean_first_distress_month = Some(f64::NAN);
        assert_eq!(
            s.first_non_finite().unwrap().path,
            "policies[1].mean_first_distress_month"
        );

        let mut s = summary();
        s.performance.phases.main_s = f64::NAN;
        assert_eq!(
            s.first_non_finite().unwrap().path,
            "performance.phases.main_s"
        );

        let mut s = summary();
        s.worst_paths[1].npv_usd = vec![(-1.0, 3), (f64::NAN, 4)];
        let found = s.first_non_finite().unwrap();
        assert_eq!(found.path, "worst_paths[1].npv_usd");
        assert_eq!(found.policy.as_deref(), Some("pivot"));
    }
}
