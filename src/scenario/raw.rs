//! The raw stage: a serde mirror of the scenario file, kept as close to the
//! TOML as possible.
//!
//! Every struct denies unknown keys, so a typo is an error rather than a
//! silently ignored value. Every key has a default equal to the reference
//! scenario (docs/model.md section 6), so a file with just a fleet is complete.
//! Nothing is checked here beyond types: ranges, dates and cross-references
//! are the job of `validate`, the one place that turns raw values into
//! domain types.
//!
//! A few defaults depend on the AI mode (facility capex, AI opex and the AI
//! demand parameters); those keys are `Option` here and resolved in
//! `validate`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Unexpected, Visitor};

/// A number as the user wrote it: a TOML integer, a TOML float, or an exact
/// decimal string such as `"305000000.00"`. Kept as a `Decimal` so that
/// money values written as strings stay exact; `validate` converts to `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num(pub Decimal);

impl Num {
    /// A default value from a literal in this file (never user input).
    pub(super) fn lit(text: &str) -> Num {
        Num(Decimal::from_str(text).expect("default literal is a valid decimal"))
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.normalize().fmt(f)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Num, D::Error> {
        deserializer.deserialize_any(NumVisitor)
    }
}

struct NumVisitor;

impl Visitor<'_> for NumVisitor {
    type Value = Num;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a decimal string such as \"305000000.00\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
        Ok(Num(Decimal::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
        Ok(Num(Decimal::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
        // Non-finite values (TOML `inf`, `nan`) and values beyond Decimal's
        // range (about 7.9e28) are refused here, with the key's line.
        // (Written `1e300`, not as serde's 301 digits.)
        Decimal::try_from(v).map(Num).map_err(|_| {
            E::custom(format_args!(
                "invalid value: floating point `{v:?}`, expected a finite number within ±7.9e28"
            ))
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
        Decimal::from_str_exact(v.trim())
            .or_else(|_| Decimal::from_scientific(v.trim()))
            .map(Num)
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawScenario {
    /// Defaults to the file stem.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Fleet CSV, relative to the scenario file. Exclusive with `sites`.
    pub sites_csv: Option<String>,
    /// Inline fleet. Exclusive with `sites_csv`.
    pub sites: Vec<RawSite>,
    pub simulation: RawSimulation,
    pub market: RawMarket,
    pub mining: RawMining,
    pub ai: RawAi,
    /// `None` = the four reference regions.
    pub regions: Option<Vec<RawRegion>>,
    pub treasury: RawTreasury,
    pub loan: RawLoan,
    pub financing: RawFinancing,
    pub valuation: RawValuation,
    pub events: Vec<RawEvent>,
    /// `None` or empty = one `hold` policy.
    pub policies: Option<Vec<RawPolicy>>,
    /// Read by `pivotsim sensitivity` only; `run` accepts and ignores it.
    pub sensitivity: RawSensitivity,
}

/// `[sensitivity]`: `ranges` maps a key, named as in error messages
/// (`"market.btc.sigma" = [0.3, 0.6]`), to the low and high values to try.
/// The keys and values are checked by `sensitivity` (each value is bounded
/// by its key's own range), not here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSensitivity {
    pub ranges: toml::Table,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSimulation {
    pub paths: i64,
    pub seed: u64,
    pub months: i64,
    pub start: String,
}

impl Default for RawSimulation {
    fn default() -> Self {
        RawSimulation {
            paths: 10_000,
            seed: 42,
            months: 60,
            start: "2026-02-01".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMarket {
    pub btc: RawBtc,
    pub hashrate: RawHashrate,
    pub fees: RawFees,
    pub subsidy: RawSubsidy,
    pub gpu_price: RawGpuPrice,
    pub ai_demand: RawAiDemand,
    pub correlation: RawCorrelation,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBtc {
    pub s0_usd: Num,
    pub mu: Num,
    pub sigma: Num,
    pub jump_lambda_per_year: Num,
    pub jump_mean: Num,
    pub jump_sd: Num,
    pub regimes: Vec<RawRegime>,
}

impl Default for RawBtc {
    fn default() -> Self {
        RawBtc {
            s0_usd: Num::lit("70727"),
            mu: Num::lit("0.12"),
            sigma: Num::lit("0.66"),
            jump_lambda_per_year: Num::lit("0"),
            jump_mean: Num::lit("-0.03"),
            jump_sd: Num::lit("0.08"),
            regimes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegime {
    pub name: String,
    pub mu: Num,
    pub sigma: Num,
    pub mean_duration_years: Num,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHashrate {
    pub h0_ehs: Num,
    pub breakeven_usd_per_eh_day: Num,
    pub efficiency_gain_per_year: Num,
    pub kappa_up_per_year: Num,
    pub kappa_down_per_year: Num,
    pub lag_months: i64,
    pub sigma: Num,
    pub machine_life_months: i64,
    pub capitulation: bool,
    pub cash_cost_share: Num,
    pub kappa_exit_per_year: Num,
}

impl Default for RawHashrate {
    fn default() -> Self {
        RawHashrate {
            h0_ehs: Num::lit("1000"),
            breakeven_usd_per_eh_day: Num::lit("29000"),
            efficiency_gain_per_year: Num::lit("0.20"),
            kappa_up_per_year: Num::lit("0.67"),
            kappa_down_per_year: Num::lit("0"),
            lag_months: 0,
            sigma: Num::lit("0.26"),
            machine_life_months: 1,
            capitulation: true,
            cash_cost_share: Num::lit("0.83"),
            kappa_exit_per_year: Num::lit("12"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFees {
    pub mean_btc: Num,
    pub sigma: Num,
}

impl Default for RawFees {
    fn default() -> Self {
        RawFees {
            mean_btc: Num::lit("0.032"),
            sigma: Num::lit("1.0"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSubsidy {
    pub subsidy_btc: Num,
    pub halvings: Vec<String>,
}

impl Default for RawSubsidy {
    fn default() -> Self {
        RawSubsidy {
            subsidy_btc: Num::lit("3.125"),
            halvings: vec!["2028-04-15".into(), "2032-04-15".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGpuPrice {
    pub p0_usd_per_gpu_hour: Num,
    pub decline_per_year: Num,
    pub sigma: Num,
}

impl Default for RawGpuPrice {
    fn default() -> Self {
        RawGpuPrice {
            p0_usd_per_gpu_hour: Num::lit("2.35"),
            decline_per_year: Num::lit("0.25"),
            sigma: Num::lit("0.35"),
        }
    }
}

/// All three default by AI mode (see `validate`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAiDemand {
    pub d0_mw_it: Option<Num>,
    pub growth_per_year: Option<Num>,
    pub sigma: Option<Num>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCorrelation {
    /// Rows of (btc price, hashrate, gpu price, ai demand).
    /// Read as rows of any length; validation requires 4 x 4.
    pub matrix: Vec<Vec<Num>>,
}

impl Default for RawCorrelation {
    fn default() -> Self {
        let (one, zero) = (Num::lit("1"), Num::lit("0"));
        let (zw, zv) = (Num::lit("0.3"), Num::lit("0.2"));
        RawCorrelation {
            matrix: vec![
                vec![one, zw, zero, zv],
                vec![zw, one, zero, zero],
                vec![zero, zero, one, zero],
                vec![zv, zero, zero, one],
            ],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMining {
    pub opex_usd_per_mw_month: Num,
    pub curtailed_opex_share: Num,
    pub curtailment: bool,
}

impl Default for RawMining {
    fn default() -> Self {
        RawMining {
            opex_usd_per_mw_month: Num::lit("3000"),
            curtailed_opex_share: Num::lit("0.3"),
            curtailment: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawAiMode {
    #[default]
    GpuCloud,
    Colocation,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAi {
    pub mode: RawAiMode,
    pub pue: Num,
    pub u_max: Num,
    pub gpus_per_mw_it: Num,
    pub gpu_capex_usd: Num,
    pub gpu_life_years: Num,
    pub facility_life_years: Num,
    /// Defaults by mode (see `validate`).
    pub facility_capex_usd_per_mw_it: Option<Num>,
    /// Defaults by mode (see `validate`).
    pub opex_usd_per_mw_it_month: Option<Num>,
    pub lease_usd_per_mw_it_year: Num,
}

impl Default for RawAi {
    fn default() -> Self {
        RawAi {
            mode: RawAiMode::GpuCloud,
            pue: Num::lit("1.3"),
            u_max: Num::lit("0.85"),
            gpus_per_mw_it: Num::lit("550"),
            gpu_capex_usd: Num::lit("53000"),
            gpu_life_years: Num::lit("4"),
            facility_life_years: Num::lit("15"),
            facility_capex_usd_per_mw_it: None,
            opex_usd_per_mw_it_month: None,
            lease_usd_per_mw_it_year: Num::lit("1800000"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub name: String,
    pub power_usd_per_mwh: Num,
    pub uptime: Num,
    pub lead_months: Option<i64>,
    pub facility_capex_usd_per_mw_it: Option<Num>,
    /// Share of the power an idle mining site still pays (hosting with a
    /// minimum take); 0 when not given.
    #[serde(default)]
    pub take_or_pay_share: Option<Num>,
}

impl RawRegion {
    fn new(
        name: &str,
        power: &str,
        uptime: &str,
        lead_months: Option<i64>,
        take_or_pay_share: &str,
    ) -> RawRegion {
        RawRegion {
            name: name.into(),
            power_usd_per_mwh: Num::lit(power),
            uptime: Num::lit(uptime),
            lead_months,
            facility_capex_usd_per_mw_it: None,
            take_or_pay_share: Some(Num::lit(take_or_pay_share)),
        }
    }

    /// The regions of the reference fleet (docs/model.md section 6).
    pub fn reference() -> Vec<RawRegion> {
        vec![
            RawRegion::new("US", "80", "0.92", Some(12), "0.2"),
            RawRegion::new("Oman", "70", "0.90", Some(12), "0.15"),
            RawRegion::new("Paraguay", "60", "0.90", Some(15), "0.15"),
            RawRegion::new("Ethiopia", "55", "0.82", None, "0.15"),
        ]
    }
}

/// One site: a `[[sites]]` table or a row of the fleet CSV (same names).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub site_id: String,
    pub region: String,
    pub power_mw: Num,
    pub j_per_th: Num,
    pub convertible: bool,
    #[serde(default)]
    pub power_usd_per_mwh: Option<Num>,
    #[serde(default)]
    pub uptime: Option<Num>,
    #[serde(default)]
    pub lead_months: Option<i64>,
    #[serde(default)]
    pub facility_capex_usd_per_mw_it: Option<Num>,
    #[serde(default)]
    pub take_or_pay_share: Option<Num>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTreasury {
    pub reserve_btc: Num,
    pub cash_usd: Num,
    pub sell_mined_fraction: Num,
    pub min_cash_usd: Num,
    pub reserve_floor_btc: Num,
    pub distress_buffer_usd: Num,
    /// Standing rule, off unless given.
    pub sell_to_target_ltv: Option<RawSellToTargetLtv>,
}

/// `sell_to_target_ltv = { trigger_ltv = 0.70, target_ltv = 0.60 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSellToTargetLtv {
    pub trigger_ltv: Num,
    pub target_ltv: Num,
}

impl Default for RawTreasury {
    fn default() -> Self {
        RawTreasury {
            reserve_btc: Num::lit("7474.6"),
            cash_usd: Num::lit("60000000"),
            sell_mined_fraction: Num::lit("0.8"),
            min_cash_usd: Num::lit("20000000"),
            reserve_floor_btc: Num::lit("1000"),
            distress_buffer_usd: Num::lit("10000000"),
            sell_to_target_ltv: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLoan {
    pub principal_usd: Num,
    pub rate: Num,
    pub initial_ltv: Num,
    pub margin_call_ltv: Num,
    pub liquidation_ltv: Num,
    pub liquidation_penalty: Num,
    pub maturity: Option<String>,
}

impl Default for RawLoan {
    fn default() -> Self {
        RawLoan {
            principal_usd: Num::lit("405000000"),
            rate: Num::lit("0.07"),
            initial_ltv: Num::lit("0.60"),
            margin_call_ltv: Num::lit("0.75"),
            liquidation_ltv: Num::lit("0.90"),
            liquidation_penalty: Num::lit("0.05"),
            maturity: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawCapexFunding {
    #[default]
    Strict,
    Borrow,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFinancing {
    pub capex_debt_share: Num,
    pub capex_debt_rate: Num,
    pub capex_debt_term_years: Num,
    pub capex_funding: RawCapexFunding,
    pub distress_rate: Num,
}

impl Default for RawFinancing {
    fn default() -> Self {
        RawFinancing {
            capex_debt_share: Num::lit("0.5"),
            capex_debt_rate: Num::lit("0.10"),
            capex_debt_term_years: Num::lit("5"),
            capex_funding: RawCapexFunding::Strict,
            distress_rate: Num::lit("0.20"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawValuation {
    pub discount_rate: Num,
    pub terminal_multiple_mining: Num,
    pub terminal_multiple_ai: Num,
}

impl Default for RawValuation {
    fn default() -> Self {
        RawValuation {
            discount_rate: Num::lit("0.12"),
            terminal_multiple_mining: Num::lit("3"),
            terminal_multiple_ai: Num::lit("8"),
        }
    }
}

/// A scheduled treasury event, tagged by `kind`. New kinds are new variants.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawEvent {
    SellBtc {
        date: String,
        btc: Num,
        #[serde(default = "yes")]
        repay_loan: bool,
        #[serde(default)]
        price_usd: Option<Num>,
    },
    BuyBtc {
        date: String,
        usd: Num,
        #[serde(default)]
        price_usd: Option<Num>,
    },
    RepayLoan {
        date: String,
        usd: Num,
    },
    DrawLoan {
        date: String,
        ltv: Num,
        #[serde(default)]
        max_usd: Option<Num>,
    },
    RaiseEquity {
        date: String,
        usd: Num,
    },
    CapexBudget {
        date: String,
        usd_per_year: Num,
    },
}

impl RawEvent {
    pub fn date(&self) -> &str {
        match self {
            RawEvent::SellBtc { date, .. }
            | RawEvent::BuyBtc { date, .. }
            | RawEvent::RepayLoan { date, .. }
            | RawEvent::DrawLoan { date, .. }
            | RawEvent::RaiseEquity { date, .. }
            | RawEvent::CapexBudget { date, .. } => date,
        }
    }
}

fn yes() -> bool {
    true
}

/// A policy, tagged by `kind`; `name` defaults to the kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawPolicy {
    Hold {
        name: Option<String>,
    },
    FullPivot {
        name: Option<String>,
    },
    Staged {
        name: Option<String>,
        #[serde(default = "default_sites_per_quarter")]
        sites_per_quarter: i64,
        #[serde(default = "default_max_sites")]
        max_sites: i64,
    },
    Threshold {
        name: Option<String>,
        #[serde(default = "default_hurdle")]
        hurdle: Num,
        #[serde(default = "default_window_months")]
        window_months: i64,
        #[serde(default = "default_max_concurrent")]
        max_concurrent: i64,
    },
}

fn default_sites_per_quarter() -> i64 {
    2
}

fn default_max_sites() -> i64 {
    16
}

fn default_hurdle() -> Num {
    Num::lit("1.25")
}

fn default_window_months() -> i64 {
    3
}

fn default_max_concurrent() -> i64 {
    4
}
