//! The fleet, precomputed for the monthly loop, and the mining economics of
//! one site in one month.
//!
//! Mining outcomes do not depend on the policy: a site that is mining earns
//! the same in month t of a path whichever policy put it there. And sites
//! alike per MW (the same efficiency, uptime and power price: a
//! [`MiningClass`]) earn the same per MW. So the engine evaluates every
//! class once per path and month, per MW ([`MiningTable`]), a site's month
//! is its class's times its MW, and each policy replay only sums the sites
//! it still mines with. The run-or-idle test lives in one function,
//! [`MiningClass::month_per_mw`], used both by the mining step and by the
//! margins the policies rank sites by (docs/model.md section 4).

use super::finance::annuity_factor;
use crate::scenario::{AiMode, Scenario};

/// Per-site constants, in fleet order (struct of arrays for the hot loop).
#[derive(Debug, Clone)]
pub struct Fleet {
    pub sites: Vec<SiteEcon>,
    /// Indices of the convertible sites, in fleet order.
    pub convertible: Vec<usize>,
    /// The sites' mining classes (sites alike per MW), in the order of
    /// their first site.
    pub classes: Vec<MiningClass>,
    /// Per site, its class ([`SiteEcon::class`]) as an array, for the
    /// margins' lookups ([`MonthMargins`]).
    pub(super) class_of: Vec<u32>,
    /// `(1 - curtailed_opex_share) * opex` per MW: a month runs if its
    /// revenue minus power per MW is at least this.
    pub(super) run_floor_usd_per_mw: f64,
    /// `curtailed_opex_share * opex` per MW: the opex of an idle month.
    pub(super) idle_opex_usd_per_mw: f64,
    /// Mining opex, USD per MW per month.
    pub mining_opex_usd_per_mw_month: f64,
    pub curtailed_opex_share: f64,
    pub curtailment: bool,
    pub ai_mode: AiMode,
    pub pue: f64,
    pub u_max: f64,
    pub gpus_per_mw_it: f64,
    pub ai_opex_usd_per_mw_it_month: f64,
    pub lease_usd_per_mw_it_year: f64,
    pub total_power_mw: f64,
}

/// One site's constants.
#[derive(Debug, Clone)]
pub struct SiteEcon {
    pub power_mw: f64,
    pub hashrate_ehs: f64,
    pub uptime: f64,
    pub power_usd_per_mwh: f64,
    pub convertible: bool,
    /// Lead time in months (>= 1) for convertible sites, 0 otherwise.
    pub lead_months: usize,
    /// IT load the site hosts as an AI site, `power_mw / pue`.
    pub it_mw: f64,
    /// Total conversion capex, USD (facility, plus GPUs in gpu_cloud).
    pub capex_usd: f64,
    /// One installment, `capex_usd / lead_months`.
    pub installment_usd: f64,
    /// Threshold policy: capex as a monthly annuity per grid MW, USD.
    pub capex_annuity_usd_per_mw_month: f64,
    /// `it_mw / power_mw`: IT MW per grid MW.
    pub it_mw_per_mw: f64,
    /// Index of its mining class in [`Fleet::classes`].
    pub class: usize,
}

/// Sites alike per MW (the same efficiency, uptime and power price; the
/// opex per MW is the fleet's) mine alike per MW: the same BTC, revenue,
/// power and opex per MW, the same run-or-idle choice, the same margin.
/// Their mining month is computed once per class, per MW, and a site's is
/// that times its `power_mw` (docs/model.md section 2 computes the margin the policies
/// rank by from per-MW quantities).
#[derive(Debug, Clone, PartialEq)]
pub struct MiningClass {
    /// `uptime / j_per_th`: the EH/s one MW delivers on average.
    pub ehs_per_mw: f64,
    /// `uptime * 24 * power_usd_per_mwh`: power cost per MW per day when running.
    pub power_usd_per_mw_day: f64,
    /// Share of that power the class still pays idle (take-or-pay hosting).
    pub take_or_pay_share: f64,
    /// Grid MW of the class's sites, summed in fleet order.
    pub power_mw: f64,
}

/// Mining result of one site in one month (whole site, not per MW).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SiteMining {
    /// Whether the machines run (false: idle, curtailed).
    pub runs: bool,
    pub btc_mined: f64,
    pub revenue_usd: f64,
    pub power_usd: f64,
    /// Power paid: in full when running, the take-or-pay share when idle.
    /// Opex paid: full when running, the curtailed share when idle.
    pub opex_usd: f64,
}

impl Fleet {
    pub fn new(scenario: &Scenario) -> Fleet {
        let ai = &scenario.ai;
        let gpu_cloud = ai.mode == AiMode::GpuCloud;
        let i_month = (1.0 + scenario.valuation.discount_rate).powf(1.0 / 12.0) - 1.0;
        let mut sites = scenario
            .sites
            .iter()
            .map(|s| {
                let it_mw = s.power_mw / ai.pue;
                let facility_usd = it_mw * s.facility_capex_usd_per_mw_it;
                let gpu_usd = if gpu_cloud {
                    it_mw * ai.gpus_per_mw_it * ai.gpu_capex_usd
                } else {
                    0.0
                };
                let capex_usd = facility_usd + gpu_usd;
                let lead = if s.convertible {
                    s.lead_months.unwrap_or(1).max(1)
                } else {
                    0
                };
                let annuity = facility_usd * annuity_factor(i_month, ai.facility_life_years * 12.0)
                    + gpu_usd * annuity_factor(i_month, ai.gpu_life_years * 12.0);
                SiteEcon {
                    power_mw: s.power_mw,
                    hashrate_ehs: s.hashrate_ehs(),
                    uptime: s.uptime,
                    power_usd_per_mwh: s.power_usd_per_mwh,
                    convertible: s.convertible,
                    lead_months: lead,
                    it_mw,
                    capex_usd,
                    installment_usd: if lead > 0 {
                        capex_usd / lead as f64
                    } else {
                        0.0
                    },
                    capex_annuity_usd_per_mw_month: annuity / s.power_mw,
                    it_mw_per_mw: it_mw / s.power_mw,
                    class: 0,
                }
            })
            .collect::<Vec<_>>();
        // Classes in the order of their first site; each site's MW added in fleet order.
        let mut classes: Vec<MiningClass> = Vec::new();
        for (site, s) in sites.iter_mut().zip(&scenario.sites) {
            let class = MiningClass {
                ehs_per_mw: s.uptime / s.j_per_th,
                power_usd_per_mw_day: s.uptime * 24.0 * s.power_usd_per_mwh,
                take_or_pay_share: s.take_or_pay_share,
                power_mw: 0.0,
            };
            let same = |c: &MiningClass| {
                c.ehs_per_mw.to_bits() == class.ehs_per_mw.to_bits()
                    && c.power_usd_per_mw_day.to_bits() == class.power_usd_per_mw_day.to_bits()
                    && c.take_or_pay_share.to_bits() == class.take_or_pay_share.to_bits()
            };
            site.class = match classes.iter().position(same) {
                Some(c) => c,
                None => {
                    classes.push(class);
                    classes.len() - 1
                }
            };
            classes[site.class].power_mw += s.power_mw;
        }
        let class_of = sites.iter().map(|s| s.class as u32).collect();
        let convertible: Vec<usize> = (0..sites.len()).filter(|&i| sites[i].convertible).collect();
        Fleet {
            total_power_mw: sites.iter().map(|s| s.power_mw).sum(),
            convertible,
            sites,
            classes,
            class_of,
            run_floor_usd_per_mw: (1.0 - scenario.mining.curtailed_opex_share)
                * scenario.mining.opex_usd_per_mw_month,
            idle_opex_usd_per_mw: scenario.mining.curtailed_opex_share
                * scenario.mining.opex_usd_per_mw_month,
            mining_opex_usd_per_mw_month: scenario.mining.opex_usd_per_mw_month,
            curtailed_opex_share: scenario.mining.curtailed_opex_share,
            curtailment: scenario.mining.curtailment,
            ai_mode: ai.mode,
            pue: ai.pue,
            u_max: ai.u_max,
            gpus_per_mw_it: ai.gpus_per_mw_it,
            ai_opex_usd_per_mw_it_month: ai.opex_usd_per_mw_it_month,
            lease_usd_per_mw_it_year: ai.lease_usd_per_mw_it_year,
        }
    }

    pub fn len(&self) -> usize {
        self.sites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// AI revenue per MW of IT at full utilization in month t, `r[t]`:
    /// GPU-hours sold (gpu_cloud) or the lease (colocation).
    pub fn ai_rate_usd_per_mw_it(&self, days: f64, gpu_hour_usd: f64) -> f64 {
        match self.ai_mode {
            AiMode::GpuCloud => self.gpus_per_mw_it * 24.0 * days * gpu_hour_usd,
            AiMode::Colocation => self.lease_usd_per_mw_it_year / 12.0,
        }
    }

    /// AI power cost per MW of IT at utilization 1 for a site paying
    /// `power_usd_per_mwh` (0 in colocation: the tenant pays).
    pub fn ai_power_usd_per_mw_it(&self, days: f64, power_usd_per_mwh: f64) -> f64 {
        match self.ai_mode {
            AiMode::GpuCloud => self.pue * 24.0 * days * power_usd_per_mwh,
            AiMode::Colocation => 0.0,
        }
    }

    /// The month-constant parts of the threshold policy's AI margin (see
    /// [`AiMonth::margin_usd_per_mw`]), computed once per month rather than
    /// once per site.
    #[inline]
    pub fn ai_month(&self, days: f64, gpu_hour_usd: f64) -> AiMonth {
        AiMonth {
            rate_usd_per_mw_it: self.ai_rate_usd_per_mw_it(days, gpu_hour_usd),
            // Times 1.0 is exact: the cost per USD/MWh of the site's price.
            power_usd_per_mw_it_per_usd_mwh: self.ai_power_usd_per_mw_it(days, 1.0),
        }
    }
}

/// One month's AI economics per MW of IT, for the threshold policy's test.
#[derive(Debug, Clone, Copy)]
pub struct AiMonth {
    /// Revenue per MW of IT at utilization 1.
    pub rate_usd_per_mw_it: f64,
    /// Power cost per MW of IT at utilization 1, per USD/MWh of the site's
    /// price (0 in colocation).
    pub power_usd_per_mw_it_per_usd_mwh: f64,
}

impl AiMonth {
    /// Threshold policy: AI margin per grid MW per month at utilization
    /// `u` of a site with this power price and IT-to-grid ratio, revenue -
    /// power - opex (docs/model.md section 4). The power cost's products are
    /// taken in the order of [`Fleet::ai_power_usd_per_mw_it`] (the same
    /// bits); the IT-to-grid ratio is precomputed per site.
    #[inline(always)]
    pub fn margin_usd_per_mw(
        &self,
        fleet: &Fleet,
        u: f64,
        power_usd_per_mwh: f64,
        it_mw_per_mw: f64,
    ) -> f64 {
        let per_mw_it = u * self.rate_usd_per_mw_it
            - u * (self.power_usd_per_mw_it_per_usd_mwh * power_usd_per_mwh)
            - fleet.ai_opex_usd_per_mw_it_month;
        per_mw_it * it_mw_per_mw
    }
}

impl MiningClass {
    /// The class's mining month per MW, with economic curtailment: the
    /// machines run only if
    /// `revenue - (1 - take_or_pay_share) * power >= (1 - curtailed_opex_share) * opex`
    /// (per MW, which is the site's test divided by its MW); an idle month
    /// mines nothing, pays the take-or-pay share of the power it would have
    /// drawn and the curtailed share of the opex. With a share of 0 the test
    /// and the idle month are revision 4's to the bit (`1 * power` and
    /// `0 * power` are exact). `btc_per_eh` is `days * 144 * (subsidy + F) / H`, the
    /// BTC one EH/s mines in the month.
    #[inline(always)]
    pub fn month_per_mw(
        &self,
        fleet: &Fleet,
        btc_per_eh: f64,
        btc_price_usd: f64,
        days: f64,
    ) -> SiteMining {
        let btc_mined = btc_per_eh * self.ehs_per_mw;
        let revenue_usd = btc_mined * btc_price_usd;
        let power_usd = self.power_usd_per_mw_day * days;
        let runs = !fleet.curtailment
            || revenue_usd - (1.0 - self.take_or_pay_share) * power_usd
                >= fleet.run_floor_usd_per_mw;
        if runs {
            SiteMining {
                runs,
                btc_mined,
                revenue_usd,
                power_usd,
                opex_usd: fleet.mining_opex_usd_per_mw_month,
            }
        } else {
            SiteMining {
                runs,
                btc_mined: 0.0,
                revenue_usd: 0.0,
                power_usd: self.take_or_pay_share * power_usd,
                opex_usd: fleet.idle_opex_usd_per_mw,
            }
        }
    }
}

impl SiteMining {
    /// Revenue - power - opex. Per MW, the margin the policies rank sites
    /// by (for an idle month, minus the idle cash cost: take-or-pay power
    /// and the curtailed opex), which is `max(running margin, idle margin)`.
    #[inline(always)]
    pub fn margin_usd(&self) -> f64 {
        self.revenue_usd - self.power_usd - self.opex_usd
    }

    /// A month per MW times `power_mw`: the month of a site of that size.
    #[inline(always)]
    pub fn times_mw(&self, power_mw: f64) -> SiteMining {
        SiteMining {
            runs: self.runs,
            btc_mined: self.btc_mined * power_mw,
            revenue_usd: self.revenue_usd * power_mw,
            power_usd: self.power_usd * power_mw,
            opex_usd: self.opex_usd * power_mw,
        }
    }
}

impl SiteEcon {
    /// The mining month of this site: its class's month per MW times its
    /// `power_mw` (see [`MiningClass::month_per_mw`]).
    #[inline]
    pub fn mining(
        &self,
        fleet: &Fleet,
        btc_per_eh: f64,
        btc_price_usd: f64,
        days: f64,
    ) -> SiteMining {
        fleet.classes[self.class]
            .month_per_mw(fleet, btc_per_eh, btc_price_usd, days)
            .times_mw(self.power_mw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/model.md section 2: a site runs iff
    /// `revenue - (1 - take_or_pay_share) * power >= (1 - curtailed_opex_share) * opex`;
    /// idle, it pays `take_or_pay_share * power` and the curtailed opex. At a
    /// revenue between the two thresholds, a share makes the site run.
    #[test]
    fn take_or_pay_keeps_a_site_running_that_would_idle_without_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut sc = crate::scenario::load(&dir.join("smoke.toml")).unwrap();
        sc.mining.curtailed_opex_share = 0.3;
        sc.mining.opex_usd_per_mw_month = 3000.0;
        let mut month = |share: f64, revenue_per_mw: f64| {
            sc.sites[0].take_or_pay_share = share;
            let fleet = Fleet::new(&sc);
            let class = &fleet.classes[fleet.sites[0].class];
            let power = class.power_usd_per_mw_day * 30.0;
            // Revenue per MW = btc_per_eh * ehs_per_mw * price; price 1.
            let btc_per_eh = revenue_per_mw / class.ehs_per_mw;
            (class.month_per_mw(&fleet, btc_per_eh, 1.0, 30.0), power)
        };
        let (_, power) = month(0.0, 0.0);
        let floor = 0.7 * 3000.0;
        // Between (1 - 0.2) power + floor and power + floor.
        let revenue = 0.9 * power + floor;
        let (without, _) = month(0.0, revenue);
        assert!(!without.runs);
        assert_eq!((without.power_usd, without.opex_usd), (0.0, 900.0));
        let (with, _) = month(0.2, revenue);
        assert!(with.runs);
        assert_eq!(with.power_usd, power);
        // Below both thresholds: idle, paying the share of the power.
        let (idle, _) = month(0.2, 0.5 * power + floor);
        assert!(!idle.runs);
        assert_eq!(idle.power_usd, 0.2 * power);
        assert_eq!(idle.margin_usd(), -(0.2 * power) - 900.0);
    }
}
