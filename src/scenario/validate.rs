//! Raw file values to a validated [`Scenario`]: the one validation path.
//!
//! Each section has a small function that reads its raw values through the
//! checks of [`Check`] (range, integer, date). A `Check` is scoped to a key
//! prefix (`loan.`, `sites[3].`, `sites_csv (fleet.csv line 4) `), so a
//! section names its keys by field and every error names the full key the
//! same way, with what was expected. Overrides from the command line were
//! applied to the raw values before this runs.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// Most paths a run may have: the percentile histograms count in `u32`.
pub const MAX_PATHS: u64 = u32::MAX as u64;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;

use super::ScenarioError;
use super::fleet::LocatedSite;
use super::raw::*;
use super::types::*;

/// Turn the raw file into a scenario. `file` is the scenario file (for
/// errors and the default name), `sha256` its hash computed by the caller.
pub fn validate(
    file: &Path,
    raw: RawScenario,
    fleet: &[LocatedSite],
    sha256: String,
) -> Result<Scenario> {
    let root = Check {
        file,
        prefix: String::new(),
    };
    let simulation = root.at("simulation.").simulation(&raw.simulation)?;
    let ai = root.at("ai.").ai(&raw.ai)?;
    let market = root.at("market.").market(&raw.market, raw.ai.mode)?;
    let regions = root.regions(&raw.regions.unwrap_or_else(RawRegion::reference))?;
    let sites = root.sites(fleet, &regions, ai.facility_capex_usd_per_mw_it)?;
    let (policies, baseline) = root.policies(raw.policies.unwrap_or_default())?;
    let loan = root.at("loan.").loan(&raw.loan, &simulation)?;
    let treasury = root.at("treasury.").treasury(&raw.treasury, &loan)?;
    let events = root.events(&raw.events, &simulation, &loan)?;
    Ok(Scenario {
        name: root.name(raw.name)?,
        description: raw.description.unwrap_or_default(),
        sha256,
        market,
        mining: root.at("mining.").mining(&raw.mining)?,
        ai,
        sites,
        regions,
        treasury,
        loan,
        financing: root.at("financing.").financing(&raw.financing)?,
        valuation: root.at("valuation.").valuation(&raw.valuation)?,
        events,
        policies,
        baseline,
        simulation,
    })
}

/// Lower bound of an allowed range.
#[derive(Debug, Clone, Copy)]
enum Lo {
    Any,
    Above(f64),
    AtLeast(f64),
}

/// An allowed range of a number; the upper bound, when there is one, is inclusive.
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: Lo,
    hi: Option<f64>,
}

const ANY: Range = Range {
    lo: Lo::Any,
    hi: None,
};
const POSITIVE: Range = Range {
    lo: Lo::Above(0.0),
    hi: None,
};
const NON_NEGATIVE: Range = Range {
    lo: Lo::AtLeast(0.0),
    hi: None,
};
/// Shares and probabilities.
const SHARE: Range = Range {
    lo: Lo::AtLeast(0.0),
    hi: Some(1.0),
};
/// Uptime and maximum utilization: a share that cannot be 0.
const POSITIVE_SHARE: Range = Range {
    lo: Lo::Above(0.0),
    hi: Some(1.0),
};
const CORRELATION: Range = Range {
    lo: Lo::AtLeast(-1.0),
    hi: Some(1.0),
};
const PUE: Range = Range {
    lo: Lo::AtLeast(1.0),
    hi: None,
};

impl Range {
    fn contains(self, v: f64) -> bool {
        let lo_ok = match self.lo {
            Lo::Any => true,
            Lo::Above(lo) => v > lo,
            Lo::AtLeast(lo) => v >= lo,
        };
        lo_ok && self.hi.is_none_or(|hi| v <= hi)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.lo, self.hi) {
            (Lo::Any, None) => write!(f, "a number"),
            (Lo::Any, Some(hi)) => write!(f, "a number <= {hi}"),
            (Lo::Above(lo), None) => write!(f, "a number > {lo}"),
            (Lo::AtLeast(lo), None) => write!(f, "a number >= {lo}"),
            (Lo::Above(lo), Some(hi)) => write!(f, "a number in ({lo}, {hi}]"),
            (Lo::AtLeast(lo), Some(hi)) => write!(f, "a number in [{lo}, {hi}]"),
        }
    }
}

/// The checks every key goes through, scoped to a key prefix: `field`
/// arguments are relative to it.
struct Check<'a> {
    file: &'a Path,
    /// Prepended to every field name to make the key in errors.
    prefix: String,
}

type Result<T> = std::result::Result<T, ScenarioError>;

impl<'a> Check<'a> {
    /// The same checks one level down (`sub` ends with `.` for a table).
    fn at(&self, sub: &str) -> Check<'a> {
        Check {
            file: self.file,
            prefix: format!("{}{sub}", self.prefix),
        }
    }

    fn key(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn invalid(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_path_buf(),
            key: self.key(field),
            message: message.into(),
        }
    }

    /// A number in `range`, as f64.
    fn num(&self, field: &str, value: Num, range: Range) -> Result<f64> {
        match value.0.to_f64().filter(|v| v.is_finite()) {
            Some(v) if range.contains(v) => Ok(v),
            _ => Err(self.invalid(field, format!("expected {range}, got {value}"))),
        }
    }

    fn opt_num(&self, field: &str, value: Option<Num>, range: Range) -> Result<Option<f64>> {
        value.map(|v| self.num(field, v, range)).transpose()
    }

    /// A number above the value of another field of the same table
    /// (`strict`), or at least equal to it.
    fn above(
        &self,
        field: &str,
        value: Num,
        (other, bound): (&str, f64),
        strict: bool,
    ) -> Result<f64> {
        let (lo, relation) = if strict {
            (Lo::Above(bound), ">")
        } else {
            (Lo::AtLeast(bound), ">=")
        };
        self.num(field, value, Range { lo, hi: None }).map_err(|_| {
            let other = self.key(other);
            self.invalid(
                field,
                format!("expected a number {relation} {other} ({bound}), got {value}"),
            )
        })
    }

    /// An integer >= `min`.
    fn int(&self, field: &str, value: i64, min: i64) -> Result<usize> {
        usize::try_from(value)
            .ok()
            .filter(|_| value >= min)
            .ok_or_else(|| {
                self.invalid(field, format!("expected an integer >= {min}, got {value}"))
            })
    }

    fn opt_int(&self, field: &str, value: Option<i64>, min: i64) -> Result<Option<usize>> {
        value.map(|v| self.int(field, v, min)).transpose()
    }

    fn date(&self, field: &str, text: &str) -> Result<NaiveDate> {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            self.invalid(
                field,
                format!("expected a date \"YYYY-MM-DD\", got {text:?}"),
            )
        })
    }

    /// The month index of `date` (the calendar month containing it), `None`
    /// after the horizon; a date before the start is an error.
    fn month_of(
        &self,
        field: &str,
        date: NaiveDate,
        simulation: &Simulation,
    ) -> Result<Option<usize>> {
        let start = simulation.start;
        if date < start {
            return Err(self.invalid(
                field,
                format!("expected a date on or after simulation.start ({start}), got {date}"),
            ));
        }
        let months = (date.year() - start.year()) * 12 + date.month() as i32 - start.month() as i32;
        let month = months as usize;
        Ok((month < simulation.months).then_some(month))
    }

    /// A non-empty name, unique among `seen` (which it joins).
    fn unique_name<'n>(
        &self,
        field: &str,
        name: &'n str,
        what: &str,
        seen: &mut HashMap<&'n str, String>,
    ) -> Result<()> {
        if name.trim().is_empty() {
            return Err(self.invalid(field, format!("expected a non-empty {what}")));
        }
        if let Some(first) = seen.insert(name, self.key(field)) {
            return Err(self.invalid(
                field,
                format!("duplicate {what} `{name}` (also at `{first}`)"),
            ));
        }
        Ok(())
    }

    /// The name names the output folder: it must be a plain file name.
    fn name(&self, name: Option<String>) -> Result<String> {
        let name = match name {
            Some(name) => name,
            None => self
                .file
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let plain =
            !name.trim().is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..";
        if plain {
            Ok(name)
        } else {
            Err(self.invalid(
                "name",
                format!("expected a non-empty name without `/` or `\\`, got {name:?}"),
            ))
        }
    }

    fn simulation(&self, raw: &RawSimulation) -> Result<Simulation> {
        let start = self.date("start", &raw.start)?;
        if start.day() != 1 {
            return Err(self.invalid("start", format!("expected the 1st of a month, got {start}")));
        }
        let paths = self.int("paths", raw.paths, 1)? as u64;
        if paths > MAX_PATHS {
            return Err(self.invalid(
                "paths",
                format!("expected at most {MAX_PATHS} (the percentile histograms count in 32 bits), got {paths}"),
            ));
        }
        Ok(Simulation {
            paths,
            seed: raw.seed,
            months: self.int("months", raw.months, 1)?,
            start,
        })
    }

    fn market(&self, raw: &RawMarket, mode: RawAiMode) -> Result<Market> {
        let correlation = self.at("correlation.").correlation(&raw.correlation)?;
        let cholesky = cholesky(&correlation).ok_or_else(|| {
            self.invalid(
                "correlation.matrix",
                "expected a positive definite matrix (no Cholesky factor exists)",
            )
        })?;
        let (fees, gpu, demand) = (
            self.at("fees."),
            self.at("gpu_price."),
            self.at("ai_demand."),
        );
        let subsidy = self.at("subsidy.");
        Ok(Market {
            btc: self.at("btc.").btc(&raw.btc)?,
            hashrate: self.at("hashrate.").hashrate(&raw.hashrate)?,
            fees: Fees {
                mean_btc: fees.num("mean_btc", raw.fees.mean_btc, NON_NEGATIVE)?,
                sigma: fees.num("sigma", raw.fees.sigma, NON_NEGATIVE)?,
            },
            subsidy_btc: subsidy.num("subsidy_btc", raw.subsidy.subsidy_btc, POSITIVE)?,
            halvings: subsidy.halvings(&raw.subsidy.halvings)?,
            gpu_price: GpuPrice {
                p0_usd_per_gpu_hour: gpu.num(
                    "p0_usd_per_gpu_hour",
                    raw.gpu_price.p0_usd_per_gpu_hour,
                    POSITIVE,
                )?,
                decline_per_year: gpu.num(
                    "decline_per_year",
                    raw.gpu_price.decline_per_year,
                    ANY,
                )?,
                sigma: gpu.num("sigma", raw.gpu_price.sigma, NON_NEGATIVE)?,
            },
            ai_demand: demand.ai_demand(&raw.ai_demand, mode)?,
            correlation,
            cholesky,
        })
    }

    fn btc(&self, raw: &RawBtc) -> Result<BtcPrice> {
        let mut seen = HashMap::new();
        let regimes = raw
            .regimes
            .iter()
            .enumerate()
            .map(|(i, regime)| {
                let c = self.at(&format!("regimes[{i}]."));
                c.unique_name("name", &regime.name, "regime name", &mut seen)?;
                Ok(Regime {
                    name: regime.name.clone(),
                    mu: c.num("mu", regime.mu, ANY)?,
                    sigma: c.num("sigma", regime.sigma, NON_NEGATIVE)?,
                    mean_duration_years: c.num(
                        "mean_duration_years",
                        regime.mean_duration_years,
                        POSITIVE,
                    )?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(BtcPrice {
            s0_usd: self.num("s0_usd", raw.s0_usd, POSITIVE)?,
            mu: self.num("mu", raw.mu, ANY)?,
            sigma: self.num("sigma", raw.sigma, NON_NEGATIVE)?,
            jump_lambda_per_year: self.num(
                "jump_lambda_per_year",
                raw.jump_lambda_per_year,
                NON_NEGATIVE,
            )?,
            jump_mean: self.num("jump_mean", raw.jump_mean, ANY)?,
            jump_sd: self.num("jump_sd", raw.jump_sd, NON_NEGATIVE)?,
            regimes,
        })
    }

    fn hashrate(&self, raw: &RawHashrate) -> Result<Hashrate> {
        Ok(Hashrate {
            h0_ehs: self.num("h0_ehs", raw.h0_ehs, POSITIVE)?,
            breakeven_usd_per_eh_day: self.num(
                "breakeven_usd_per_eh_day",
                raw.breakeven_usd_per_eh_day,
                POSITIVE,
            )?,
            efficiency_gain_per_year: self.num(
                "efficiency_gain_per_year",
                raw.efficiency_gain_per_year,
                ANY,
            )?,
            kappa_up_per_year: self.num(
                "kappa_up_per_year",
                raw.kappa_up_per_year,
                NON_NEGATIVE,
            )?,
            kappa_down_per_year: self.num(
                "kappa_down_per_year",
                raw.kappa_down_per_year,
                NON_NEGATIVE,
            )?,
            lag_months: self.int("lag_months", raw.lag_months, 0)?,
            sigma: self.num("sigma", raw.sigma, NON_NEGATIVE)?,
        })
    }

    /// Strictly ascending dates; one before the start is allowed (the
    /// subsidy is then already halved).
    fn halvings(&self, raw: &[String]) -> Result<Vec<NaiveDate>> {
        let mut halvings: Vec<NaiveDate> = Vec::with_capacity(raw.len());
        for (i, text) in raw.iter().enumerate() {
            let field = format!("halvings[{i}]");
            let date = self.date(&field, text)?;
            if let Some(&previous) = halvings.last().filter(|&&previous| date <= previous) {
                return Err(self.invalid(
                    &field,
                    format!("expected dates in ascending order: {date} is not after {previous}"),
                ));
            }
            halvings.push(date);
        }
        Ok(halvings)
    }

    fn ai_demand(&self, raw: &RawAiDemand, mode: RawAiMode) -> Result<AiDemand> {
        Ok(AiDemand {
            d0_mw_it: self.num(
                "d0_mw_it",
                by_mode(raw.d0_mw_it, mode, "20", "200"),
                NON_NEGATIVE,
            )?,
            growth_per_year: self.num(
                "growth_per_year",
                by_mode(raw.growth_per_year, mode, "0.40", "0.20"),
                ANY,
            )?,
            sigma: self.num(
                "sigma",
                by_mode(raw.sigma, mode, "0.35", "0.25"),
                NON_NEGATIVE,
            )?,
        })
    }

    /// Entries in [-1, 1], unit diagonal, symmetric (positive definiteness
    /// is checked by the Cholesky factorization).
    fn correlation(&self, raw: &RawCorrelation) -> Result<Vec<Vec<f64>>> {
        let mut m = vec![vec![0.0; raw.matrix.len()]; raw.matrix.len()];
        for (i, row) in raw.matrix.iter().enumerate() {
            for (j, &entry) in row.iter().enumerate() {
                let field = format!("matrix[{i}][{j}]");
                m[i][j] = self.num(&field, entry, CORRELATION)?;
                if i == j && m[i][j] != 1.0 {
                    return Err(
                        self.invalid(&field, format!("expected 1 on the diagonal, got {entry}"))
                    );
                }
                if j < i && entry != raw.matrix[j][i] {
                    let mirror = raw.matrix[j][i];
                    return Err(self.invalid(
                        &field,
                        format!("expected a symmetric matrix: {entry} differs from matrix[{j}][{i}] = {mirror}"),
                    ));
                }
            }
        }
        Ok(m)
    }

    fn mining(&self, raw: &RawMining) -> Result<Mining> {
        Ok(Mining {
            opex_usd_per_mw_month: self.num(
                "opex_usd_per_mw_month",
                raw.opex_usd_per_mw_month,
                NON_NEGATIVE,
            )?,
            curtailed_opex_share: self.num(
                "curtailed_opex_share",
                raw.curtailed_opex_share,
                SHARE,
            )?,
            curtailment: raw.curtailment,
        })
    }

    fn ai(&self, raw: &RawAi) -> Result<Ai> {
        let mode = raw.mode;
        let facility_capex = by_mode(raw.facility_capex_usd_per_mw_it, mode, "7000000", "8000000");
        let opex = by_mode(raw.opex_usd_per_mw_it_month, mode, "40000", "15000");
        Ok(Ai {
            mode: match mode {
                RawAiMode::GpuCloud => AiMode::GpuCloud,
                RawAiMode::Colocation => AiMode::Colocation,
            },
            pue: self.num("pue", raw.pue, PUE)?,
            u_max: self.num("u_max", raw.u_max, POSITIVE_SHARE)?,
            gpus_per_mw_it: self.num("gpus_per_mw_it", raw.gpus_per_mw_it, NON_NEGATIVE)?,
            gpu_capex_usd: self.num("gpu_capex_usd", raw.gpu_capex_usd, NON_NEGATIVE)?,
            gpu_life_years: self.num("gpu_life_years", raw.gpu_life_years, POSITIVE)?,
            facility_life_years: self.num(
                "facility_life_years",
                raw.facility_life_years,
                POSITIVE,
            )?,
            facility_capex_usd_per_mw_it: self.num(
                "facility_capex_usd_per_mw_it",
                facility_capex,
                NON_NEGATIVE,
            )?,
            opex_usd_per_mw_it_month: self.num("opex_usd_per_mw_it_month", opex, NON_NEGATIVE)?,
            lease_usd_per_mw_it_year: self.num(
                "lease_usd_per_mw_it_year",
                raw.lease_usd_per_mw_it_year,
                NON_NEGATIVE,
            )?,
        })
    }

    fn regions(&self, raw: &[RawRegion]) -> Result<Vec<Region>> {
        let mut seen = HashMap::new();
        raw.iter()
            .enumerate()
            .map(|(i, region)| {
                let c = self.at(&format!("regions[{i}]."));
                c.unique_name("name", &region.name, "region name", &mut seen)?;
                Ok(Region {
                    name: region.name.clone(),
                    power_usd_per_mwh: c.num(
                        "power_usd_per_mwh",
                        region.power_usd_per_mwh,
                        NON_NEGATIVE,
                    )?,
                    uptime: c.num("uptime", region.uptime, POSITIVE_SHARE)?,
                    lead_months: c.opt_int("lead_months", region.lead_months, 1)?,
                    facility_capex_usd_per_mw_it: c.opt_num(
                        "facility_capex_usd_per_mw_it",
                        region.facility_capex_usd_per_mw_it,
                        NON_NEGATIVE,
                    )?,
                })
            })
            .collect()
    }

    /// Sites with their effective values: the site's override, else the
    /// region's value (facility capex: site, region, then the AI default).
    fn sites(
        &self,
        fleet: &[LocatedSite],
        regions: &[Region],
        default_facility_capex: f64,
    ) -> Result<Vec<Site>> {
        let mut seen = HashMap::new();
        fleet
            .iter()
            .map(|LocatedSite { key_prefix, site }| {
                let c = self.at(key_prefix);
                c.unique_name("site_id", &site.site_id, "site id", &mut seen)?;
                let region_index = regions
                    .iter()
                    .position(|region| region.name == site.region)
                    .ok_or_else(|| {
                        let known: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
                        let known = known.join(", ");
                        c.invalid("region", format!("unknown region `{}`; the regions are {known}", site.region))
                    })?;
                let region = &regions[region_index];
                let lead_months = c.opt_int("lead_months", site.lead_months, 1)?.or(region.lead_months);
                if site.convertible && lead_months.is_none() {
                    return Err(c.invalid(
                        "lead_months",
                        format!(
                            "site `{}` is convertible but neither it nor region `{}` has a lead time",
                            site.site_id, region.name
                        ),
                    ));
                }
                let facility_capex = c.opt_num("facility_capex_usd_per_mw_it", site.facility_capex_usd_per_mw_it, NON_NEGATIVE)?;
                Ok(Site {
                    id: site.site_id.clone(),
                    region: region_index,
                    power_mw: c.num("power_mw", site.power_mw, POSITIVE)?,
                    j_per_th: c.num("j_per_th", site.j_per_th, POSITIVE)?,
                    convertible: site.convertible,
                    power_usd_per_mwh: c
                        .opt_num("power_usd_per_mwh", site.power_usd_per_mwh, NON_NEGATIVE)?
                        .unwrap_or(region.power_usd_per_mwh),
                    uptime: c.opt_num("uptime", site.uptime, POSITIVE_SHARE)?.unwrap_or(region.uptime),
                    lead_months,
                    facility_capex_usd_per_mw_it: facility_capex
                        .or(region.facility_capex_usd_per_mw_it)
                        .unwrap_or(default_facility_capex),
                })
            })
            .collect()
    }

    fn treasury(&self, raw: &RawTreasury, loan: &Loan) -> Result<Treasury> {
        let sell_to_target_ltv = raw
            .sell_to_target_ltv
            .as_ref()
            .map(|rule| {
                let c = self.at("sell_to_target_ltv.");
                let margin_call = loan.margin_call_ltv;
                let trigger_ltv = c.num("trigger_ltv", rule.trigger_ltv, POSITIVE_SHARE)?;
                if trigger_ltv >= margin_call {
                    return Err(c.invalid(
                        "trigger_ltv",
                        format!(
                            "expected a number < loan.margin_call_ltv ({margin_call}), got {}",
                            rule.trigger_ltv
                        ),
                    ));
                }
                let target_ltv = c.num("target_ltv", rule.target_ltv, POSITIVE_SHARE)?;
                if target_ltv >= trigger_ltv {
                    return Err(c.invalid(
                        "target_ltv",
                        format!(
                            "expected a number < {} ({trigger_ltv}), got {}",
                            c.key("trigger_ltv"),
                            rule.target_ltv
                        ),
                    ));
                }
                Ok(SellToTargetLtv {
                    trigger_ltv,
                    target_ltv,
                })
            })
            .transpose()?;
        Ok(Treasury {
            sell_to_target_ltv,
            reserve_btc: self.num("reserve_btc", raw.reserve_btc, NON_NEGATIVE)?,
            cash_usd: self.num("cash_usd", raw.cash_usd, NON_NEGATIVE)?,
            sell_mined_fraction: self.num("sell_mined_fraction", raw.sell_mined_fraction, SHARE)?,
            min_cash_usd: self.num("min_cash_usd", raw.min_cash_usd, NON_NEGATIVE)?,
            reserve_floor_btc: self.num(
                "reserve_floor_btc",
                raw.reserve_floor_btc,
                NON_NEGATIVE,
            )?,
            distress_buffer_usd: self.num(
                "distress_buffer_usd",
                raw.distress_buffer_usd,
                NON_NEGATIVE,
            )?,
        })
    }

    /// `0 < initial_ltv < margin_call_ltv <= liquidation_ltv`.
    fn loan(&self, raw: &RawLoan, simulation: &Simulation) -> Result<Loan> {
        let initial_ltv = self.num("initial_ltv", raw.initial_ltv, POSITIVE)?;
        let margin_call_ltv = self.above(
            "margin_call_ltv",
            raw.margin_call_ltv,
            ("initial_ltv", initial_ltv),
            true,
        )?;
        let liquidation_ltv = self.above(
            "liquidation_ltv",
            raw.liquidation_ltv,
            ("margin_call_ltv", margin_call_ltv),
            false,
        )?;
        let maturity = raw
            .maturity
            .as_deref()
            .map(|text| self.date("maturity", text))
            .transpose()?;
        let maturity_month = match maturity {
            Some(date) => self.month_of("maturity", date, simulation)?,
            None => None,
        };
        Ok(Loan {
            principal_usd: self.num("principal_usd", raw.principal_usd, NON_NEGATIVE)?,
            rate: self.num("rate", raw.rate, NON_NEGATIVE)?,
            initial_ltv,
            margin_call_ltv,
            liquidation_ltv,
            liquidation_penalty: self.num(
                "liquidation_penalty",
                raw.liquidation_penalty,
                NON_NEGATIVE,
            )?,
            maturity_month,
            maturity,
        })
    }

    fn financing(&self, raw: &RawFinancing) -> Result<Financing> {
        Ok(Financing {
            capex_debt_share: self.num("capex_debt_share", raw.capex_debt_share, SHARE)?,
            capex_debt_rate: self.num("capex_debt_rate", raw.capex_debt_rate, NON_NEGATIVE)?,
            capex_debt_term_years: self.num(
                "capex_debt_term_years",
                raw.capex_debt_term_years,
                POSITIVE,
            )?,
            capex_funding: match raw.capex_funding {
                RawCapexFunding::Strict => CapexFunding::Strict,
                RawCapexFunding::Borrow => CapexFunding::Borrow,
            },
            distress_rate: self.num("distress_rate", raw.distress_rate, NON_NEGATIVE)?,
        })
    }

    fn valuation(&self, raw: &RawValuation) -> Result<Valuation> {
        Ok(Valuation {
            discount_rate: self.num("discount_rate", raw.discount_rate, NON_NEGATIVE)?,
            terminal_multiple_mining: self.num(
                "terminal_multiple_mining",
                raw.terminal_multiple_mining,
                NON_NEGATIVE,
            )?,
            terminal_multiple_ai: self.num(
                "terminal_multiple_ai",
                raw.terminal_multiple_ai,
                NON_NEGATIVE,
            )?,
        })
    }

    /// Events with their month, sorted by date (stable).
    fn events(&self, raw: &[RawEvent], simulation: &Simulation, loan: &Loan) -> Result<Vec<Event>> {
        let mut events = raw
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let c = self.at(&format!("events[{i}]."));
                let date = c.date("date", event.date())?;
                let month = c.month_of("date", date, simulation)?;
                let kind = match event {
                    RawEvent::SellBtc {
                        btc,
                        repay_loan,
                        price_usd,
                        ..
                    } => EventKind::SellBtc {
                        btc: c.num("btc", *btc, POSITIVE)?,
                        repay_loan: *repay_loan,
                        price_usd: c.opt_num("price_usd", *price_usd, POSITIVE)?,
                    },
                    RawEvent::BuyBtc { usd, price_usd, .. } => EventKind::BuyBtc {
                        usd: c.num("usd", *usd, POSITIVE)?,
                        price_usd: c.opt_num("price_usd", *price_usd, POSITIVE)?,
                    },
                    RawEvent::RepayLoan { usd, .. } => EventKind::RepayLoan {
                        usd: c.num("usd", *usd, POSITIVE)?,
                    },
                    RawEvent::DrawLoan { ltv, max_usd, .. } => {
                        // A lender lends at most at its initial LTV; above it
                        // the pledged collateral would exceed the reserve.
                        let initial = loan.initial_ltv;
                        let range = Range {
                            lo: Lo::Above(0.0),
                            hi: Some(initial.min(1.0)),
                        };
                        let ltv = c.num("ltv", *ltv, range).map_err(|_| {
                            c.invalid(
                                "ltv",
                                format!("expected a number in (0, loan.initial_ltv = {initial}], got {ltv}"),
                            )
                        })?;
                        EventKind::DrawLoan {
                            ltv,
                            max_usd: c.opt_num("max_usd", *max_usd, POSITIVE)?,
                        }
                    }
                    RawEvent::RaiseEquity { usd, .. } => EventKind::RaiseEquity {
                        usd: c.num("usd", *usd, POSITIVE)?,
                    },
                    RawEvent::CapexBudget { usd_per_year, .. } => EventKind::CapexBudget {
                        usd_per_year: c.num("usd_per_year", *usd_per_year, NON_NEGATIVE)?,
                    },
                };
                Ok(Event { date, month, kind })
            })
            .collect::<Result<Vec<_>>>()?;
        events.sort_by_key(|event| event.date);
        Ok(events)
    }

    /// Policies (one `hold` if none) and the index of the baseline: the
    /// policy named `hold`, else the first.
    fn policies(&self, raw: Vec<RawPolicy>) -> Result<(Vec<PolicySpec>, usize)> {
        let raw = if raw.is_empty() {
            vec![RawPolicy::Hold { name: None }]
        } else {
            raw
        };
        let mut seen = HashMap::new();
        let policies = raw
            .iter()
            .enumerate()
            .map(|(i, policy)| {
                let c = self.at(&format!("policies[{i}]."));
                let (name, kind) = match policy {
                    RawPolicy::Hold { name } => (name, PolicyKind::Hold),
                    RawPolicy::FullPivot { name } => (name, PolicyKind::FullPivot),
                    RawPolicy::Staged {
                        name,
                        sites_per_quarter,
                        max_sites,
                    } => (
                        name,
                        PolicyKind::Staged {
                            sites_per_quarter: c.int("sites_per_quarter", *sites_per_quarter, 1)?,
                            max_sites: c.int("max_sites", *max_sites, 0)?,
                        },
                    ),
                    RawPolicy::Threshold {
                        name,
                        hurdle,
                        window_months,
                        max_concurrent,
                    } => (
                        name,
                        PolicyKind::Threshold {
                            hurdle: c.num("hurdle", *hurdle, NON_NEGATIVE)?,
                            window_months: c.int("window_months", *window_months, 1)?,
                            max_concurrent: c.int("max_concurrent", *max_concurrent, 0)?,
                        },
                    ),
                };
                let name = name.as_deref().unwrap_or(kind.as_str());
                c.unique_name("name", name, "policy name", &mut seen)?;
                Ok(PolicySpec {
                    name: name.to_owned(),
                    kind,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let baseline = policies.iter().position(|p| p.name == "hold").unwrap_or(0);
        Ok((policies, baseline))
    }
}

/// A key whose default depends on the AI mode.
fn by_mode(value: Option<Num>, mode: RawAiMode, gpu_cloud: &str, colocation: &str) -> Num {
    value.unwrap_or_else(|| {
        Num::lit(match mode {
            RawAiMode::GpuCloud => gpu_cloud,
            RawAiMode::Colocation => colocation,
        })
    })
}

/// Lower-triangular n x n `L` with `L L^T = a`, or `None` if `a` is not positive definite (a
/// pivot at or below 1e-12). Row i reads rows 0 to i of `a` only: appending a row keeps the rest.
pub fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let mut l = vec![vec![0.0; a.len()]; a.len()];
    for i in 0..a.len() {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let pivot = a[i][i] - dot;
                if pivot.is_nan() || pivot <= 1e-12 {
                    return None;
                }
                l[i][i] = pivot.sqrt();
            } else {
                l[i][j] = (a[i][j] - dot) / l[j][j];
            }
        }
    }
    Some(l)
}
