//! The `[market]` section: BTC price and its regimes, hashrate, fees,
//! subsidy and halvings, GPU price, AI demand, and the correlation matrix
//! with its Cholesky factor.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::bounds::*;
use super::{Check, Result, by_mode};
use crate::scenario::raw::*;
use crate::scenario::types::*;

impl Check<'_> {
    pub(super) fn market(&self, raw: &RawMarket, mode: RawAiMode) -> Result<Market> {
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
                mean_btc: fees.num("mean_btc", raw.fees.mean_btc, FEE_BTC)?,
                sigma: fees.num("sigma", raw.fees.sigma, FEE_DISPERSION)?,
            },
            subsidy_btc: subsidy.num("subsidy_btc", raw.subsidy.subsidy_btc, SUBSIDY_BTC)?,
            halvings: subsidy.halvings(&raw.subsidy.halvings)?,
            gpu_price: GpuPrice {
                p0_usd_per_gpu_hour: gpu.num(
                    "p0_usd_per_gpu_hour",
                    raw.gpu_price.p0_usd_per_gpu_hour,
                    GPU_HOUR_USD,
                )?,
                decline_per_year: gpu.num(
                    "decline_per_year",
                    raw.gpu_price.decline_per_year,
                    DRIFT,
                )?,
                sigma: gpu.num("sigma", raw.gpu_price.sigma, VOLATILITY)?,
            },
            ai_demand: demand.ai_demand(&raw.ai_demand, mode)?,
            correlation,
            cholesky,
        })
    }

    pub(super) fn btc(&self, raw: &RawBtc) -> Result<BtcPrice> {
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
                    mu: c.num("mu", regime.mu, DRIFT)?,
                    sigma: c.num("sigma", regime.sigma, VOLATILITY)?,
                    mean_duration_years: c.num(
                        "mean_duration_years",
                        regime.mean_duration_years,
                        REGIME_YEARS,
                    )?,
                })
            })
            .collect::<Result<_>>()?;
        let jump_lambda_per_year = self.num(
            "jump_lambda_per_year",
            raw.jump_lambda_per_year,
            JUMPS_PER_YEAR,
        )?;
        let jump_mean = self.num("jump_mean", raw.jump_mean, JUMP_MEAN)?;
        let jump_sd = self.num("jump_sd", raw.jump_sd, JUMP_SD)?;
        // In decimal, as written: 100 jumps of sd 0.1 are exactly at the bound.
        let (lambda, mean, sd) = (raw.jump_lambda_per_year.0, raw.jump_mean.0, raw.jump_sd.0);
        let variance = (lambda * (mean * mean + sd * sd)).normalize();
        if variance > Decimal::from(MAX_JUMP_VARIANCE_PER_YEAR) {
            return Err(self.invalid(
                "jump_lambda_per_year",
                format!(
                    "expected jump_lambda_per_year * (jump_mean^2 + jump_sd^2) <= \
                     {MAX_JUMP_VARIANCE_PER_YEAR} (the jumps' yearly log-variance: many jumps \
                     must be small ones), got {} * ({}^2 + {}^2) = {variance}",
                    raw.jump_lambda_per_year, raw.jump_mean, raw.jump_sd
                ),
            ));
        }
        Ok(BtcPrice {
            s0_usd: self.num("s0_usd", raw.s0_usd, BTC_PRICE_USD)?,
            mu: self.num("mu", raw.mu, DRIFT)?,
            sigma: self.num("sigma", raw.sigma, VOLATILITY)?,
            jump_lambda_per_year,
            jump_mean,
            jump_sd,
            regimes,
        })
    }

    pub(super) fn hashrate(&self, raw: &RawHashrate) -> Result<Hashrate> {
        let machine_life_months = self.int(
            "machine_life_months",
            raw.machine_life_months,
            MACHINE_LIFE_MONTHS,
        )?;
        // The exit branch's keys matter, and are checked, only with capitulation on.
        let (cash_cost_share, kappa_exit_per_year) = if raw.capitulation {
            (
                self.num("cash_cost_share", raw.cash_cost_share, POSITIVE_SHARE)?,
                self.num(
                    "kappa_exit_per_year",
                    raw.kappa_exit_per_year,
                    KAPPA_PER_YEAR,
                )?,
            )
        } else {
            (
                self.num("cash_cost_share", raw.cash_cost_share, UNUSED)?,
                self.num("kappa_exit_per_year", raw.kappa_exit_per_year, UNUSED)?,
            )
        };
        Ok(Hashrate {
            machine_life_months,
            capitulation: raw.capitulation,
            cash_cost_share,
            kappa_exit_per_year,
            h0_ehs: self.num("h0_ehs", raw.h0_ehs, HASHRATE_EHS)?,
            breakeven_usd_per_eh_day: self.num(
                "breakeven_usd_per_eh_day",
                raw.breakeven_usd_per_eh_day,
                BREAKEVEN_USD_PER_EH_DAY,
            )?,
            efficiency_gain_per_year: self.num(
                "efficiency_gain_per_year",
                raw.efficiency_gain_per_year,
                DRIFT,
            )?,
            kappa_up_per_year: self.num(
                "kappa_up_per_year",
                raw.kappa_up_per_year,
                KAPPA_PER_YEAR,
            )?,
            kappa_down_per_year: self.num(
                "kappa_down_per_year",
                raw.kappa_down_per_year,
                KAPPA_PER_YEAR,
            )?,
            lag_months: self.int("lag_months", raw.lag_months, MONTHS)?,
            sigma: self.num("sigma", raw.sigma, HASHRATE_VOLATILITY)?,
        })
    }

    /// Strictly ascending dates, at most [`MAX_HALVINGS`]; one before the
    /// start is allowed (the subsidy is then already halved).
    pub(super) fn halvings(&self, raw: &[String]) -> Result<Vec<NaiveDate>> {
        if raw.len() > MAX_HALVINGS {
            return Err(self.invalid(
                "halvings",
                format!(
                    "expected at most {MAX_HALVINGS} dates (Bitcoin's subsidy reaches zero \
                     after 33 halvings), got {}",
                    raw.len()
                ),
            ));
        }
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

    pub(super) fn ai_demand(&self, raw: &RawAiDemand, mode: RawAiMode) -> Result<AiDemand> {
        Ok(AiDemand {
            d0_mw_it: self.num(
                "d0_mw_it",
                by_mode(raw.d0_mw_it, mode, "20", "200"),
                AI_DEMAND_MW,
            )?,
            growth_per_year: self.num(
                "growth_per_year",
                by_mode(raw.growth_per_year, mode, "0.40", "0.20"),
                DRIFT,
            )?,
            sigma: self.num(
                "sigma",
                by_mode(raw.sigma, mode, "0.35", "0.25"),
                VOLATILITY,
            )?,
        })
    }

    /// Entries in [-1, 1], unit diagonal, symmetric (positive definiteness
    /// is checked by the Cholesky factorization).
    pub(super) fn correlation(&self, raw: &RawCorrelation) -> Result<Vec<Vec<f64>>> {
        let n = 4;
        let rows = raw.matrix.len();
        if rows != n {
            return Err(self.invalid(
                "matrix",
                format!(
                    "expected {n} rows (btc price, hashrate, gpu price, ai demand), got {rows}"
                ),
            ));
        }
        if let Some((i, row)) = raw.matrix.iter().enumerate().find(|(_, r)| r.len() != n) {
            return Err(self.invalid(
                &format!("matrix[{i}]"),
                format!("expected {n} entries, got {}", row.len()),
            ));
        }
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
}

/// Lower-triangular n x n `L` with `L L^T = a`, or `None` if `a` is not
/// positive definite (a pivot at or below 1e-12). Row i reads rows 0 to i of
/// `a` only: appending a row keeps the rest.
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
