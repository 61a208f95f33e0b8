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
//! margins the policies rank sites by (MODEL.md section 4).

use super::finance::annuity_factor;
use super::mining::MiningTable;
use crate::model::market::MarketPath;
use crate::scenario::{AiMode, Scenario};

/// Per-site constants, in fleet order (struct of arrays for the hot loop).
#[derive(Debug, Clone)]
pub struct Fleet {
    pub sites: Vec<SiteEcon>,
    /// Indices of the convertible sites, in fleet order.
    pub convertible: Vec<usize>,
    /// The convertible sites' constants the threshold policy tests every
    /// month, as arrays in the order of `convertible` (for vector lanes).
    convertible_soa: ConvertibleSites,
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
/// that times its `power_mw` (MODEL.md computes the margin the policies
/// rank by from per-MW quantities).
#[derive(Debug, Clone, PartialEq)]
pub struct MiningClass {
    /// `uptime / j_per_th`: the EH/s one MW delivers on average.
    pub ehs_per_mw: f64,
    /// `uptime * 24 * power_usd_per_mwh`: power cost per MW per day when running.
    pub power_usd_per_mw_day: f64,
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
                power_mw: 0.0,
            };
            let same = |c: &MiningClass| {
                c.ehs_per_mw.to_bits() == class.ehs_per_mw.to_bits()
                    && c.power_usd_per_mw_day.to_bits() == class.power_usd_per_mw_day.to_bits()
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
        let column = |f: fn(&SiteEcon) -> f64| convertible.iter().map(|&i| f(&sites[i])).collect();
        let convertible_soa = ConvertibleSites {
            it_mw: column(|s| s.it_mw),
            power_usd_per_mwh: column(|s| s.power_usd_per_mwh),
            it_mw_per_mw: column(|s| s.it_mw_per_mw),
            capex_annuity_usd_per_mw_month: column(|s| s.capex_annuity_usd_per_mw_month),
        };
        Fleet {
            total_power_mw: sites.iter().map(|s| s.power_mw).sum(),
            convertible,
            convertible_soa,
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
    /// power - opex (MODEL.md section 4). The power cost's products are
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

/// Per convertible site (in the order of [`Fleet::convertible`]), the
/// constants of the threshold policy's test.
#[derive(Debug, Clone, Default)]
struct ConvertibleSites {
    it_mw: Vec<f64>,
    power_usd_per_mwh: Vec<f64>,
    it_mw_per_mw: Vec<f64>,
    capex_annuity_usd_per_mw_month: Vec<f64>,
}

impl Fleet {
    /// Threshold policy, one month: for every convertible site `j` (the
    /// order of [`Fleet::convertible`]), its AI margin per MW at the
    /// utilization it would get on joining the AI sites live and converting,
    /// `u = min(u_max, demand / (ai_mw + it_mw_j))`, minus `hurdle` times its
    /// capex annuity per MW. The site passes if this exceeds its mining
    /// margin per MW. Computed for all convertible sites at once, several
    /// per instruction (AVX2 when the CPU has it): the same IEEE operations
    /// in the same order as one site at a time, so the same bits.
    pub fn threshold_excess_usd_per_mw(
        &self,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw_live_and_converting: f64,
        hurdle: f64,
        out: &mut Vec<f64>,
    ) {
        // Every entry is written below: size it, nothing to clear.
        out.resize(self.convertible.len(), 0.0);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe {
                    self.threshold_excess_avx2(
                        ai,
                        demand_mw,
                        ai_mw_live_and_converting,
                        hurdle,
                        out,
                    )
                };
                return;
            }
        }
        self.threshold_excess_generic(ai, demand_mw, ai_mw_live_and_converting, hurdle, out);
    }

    /// The threshold policy's test on the passive path (no AI MW live or
    /// converting) for every month and convertible site at once:
    /// `passes[j * months + t]` says whether site `j` (the order of
    /// [`Fleet::convertible`]) passes in month `t < days.len()`, its
    /// [`Fleet::threshold_excess_usd_per_mw`] at `ai_mw = 0` above its
    /// mining margin. The same IEEE operations on the same operands as that
    /// function, month by month, so the same passes; here the months are in
    /// vector lanes (AVX2 when the CPU has it). `scratch` holds the months'
    /// AI rates.
    pub fn threshold_passes_passive(
        &self,
        hurdle: f64,
        days: &[f64],
        market: &MarketPath,
        table: &MiningTable,
        scratch: &mut Vec<f64>,
        passes: &mut Vec<bool>,
    ) {
        let months = days.len();
        assert!(months <= table.months && months <= market.gpu_hour_usd.len());
        // The months' AI rates, then their power costs per USD/MWh.
        scratch.clear();
        scratch.resize(2 * months, 0.0);
        let (rates, per_price) = scratch.split_at_mut(months);
        let months_ai = days.iter().zip(&market.gpu_hour_usd);
        for ((rate, per_price), (&days, &gpu_hour_usd)) in
            rates.iter_mut().zip(per_price).zip(months_ai)
        {
            let ai = self.ai_month(days, gpu_hour_usd);
            (*rate, *per_price) = (ai.rate_usd_per_mw_it, ai.power_usd_per_mw_it_per_usd_mwh);
        }
        passes.clear();
        passes.resize(self.convertible.len() * months, false);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe {
                    self.threshold_passes_avx2(hurdle, months, market, table, scratch, passes)
                };
                return;
            }
        }
        self.threshold_passes_generic(hurdle, months, market, table, scratch, passes);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn threshold_passes_avx2(
        &self,
        hurdle: f64,
        months: usize,
        market: &MarketPath,
        table: &MiningTable,
        ai: &[f64],
        passes: &mut [bool],
    ) {
        self.threshold_passes_generic(hurdle, months, market, table, ai, passes);
    }

    #[inline(always)]
    fn threshold_passes_generic(
        &self,
        hurdle: f64,
        months: usize,
        market: &MarketPath,
        table: &MiningTable,
        ai: &[f64],
        passes: &mut [bool],
    ) {
        let c = &self.convertible_soa;
        let demand = &market.ai_demand_mw[..months];
        let (rate, per_price) = ai.split_at(months);
        let by_site = self.convertible.iter().zip(passes.chunks_exact_mut(months));
        for (j, (&i, passes)) in by_site.enumerate() {
            let it_mw = c.it_mw[j];
            let price = c.power_usd_per_mwh[j];
            let it_per_mw = c.it_mw_per_mw[j];
            let annuity = c.capex_annuity_usd_per_mw_month[j];
            let margins = &table.site_margins(self, i)[..months];
            let rows = demand
                .iter()
                .zip(rate)
                .zip(&per_price[..months])
                .zip(margins);
            for (pass, (((&demand_mw, &rate), &per_price), &margin)) in passes.iter_mut().zip(rows)
            {
                let month = AiMonth {
                    rate_usd_per_mw_it: rate,
                    power_usd_per_mw_it_per_usd_mwh: per_price,
                };
                // No AI MW live or converting on the passive path.
                let excess = self.threshold_excess(
                    &month, demand_mw, 0.0, hurdle, it_mw, price, it_per_mw, annuity,
                );
                *pass = excess > margin;
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn threshold_excess_avx2(
        &self,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw: f64,
        hurdle: f64,
        out: &mut [f64],
    ) {
        self.threshold_excess_generic(ai, demand_mw, ai_mw, hurdle, out);
    }

    #[inline(always)]
    fn threshold_excess_generic(
        &self,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw: f64,
        hurdle: f64,
        out: &mut [f64],
    ) {
        let c = &self.convertible_soa;
        let sites = c.it_mw.iter().zip(&c.power_usd_per_mwh);
        let sites = sites.zip(c.it_mw_per_mw.iter().zip(&c.capex_annuity_usd_per_mw_month));
        for (x, ((&it_mw, &price), (&it_per_mw, &annuity))) in out.iter_mut().zip(sites) {
            *x = self.threshold_excess(
                ai, demand_mw, ai_mw, hurdle, it_mw, price, it_per_mw, annuity,
            );
        }
    }

    /// The threshold test quantity of one convertible site (IT MW `it_mw`,
    /// power price `price`, IT MW per grid MW `it_per_mw`, capex annuity per
    /// MW `annuity`): its AI margin per MW at `u = min(u_max, demand /
    /// (ai_mw + it_mw))`, minus `hurdle` times the annuity. Written once for
    /// the monthly test and the passive path's all-months test.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn threshold_excess(
        &self,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw: f64,
        hurdle: f64,
        it_mw: f64,
        price: f64,
        it_per_mw: f64,
        annuity: f64,
    ) -> f64 {
        let u = self.u_max.min(demand_mw / (ai_mw + it_mw));
        ai.margin_usd_per_mw(self, u, price, it_per_mw) - hurdle * annuity
    }
}

impl MiningClass {
    /// The class's mining month per MW, with economic curtailment: the
    /// machines run only if
    /// `revenue - power >= (1 - curtailed_opex_share) * opex`
    /// (per MW, which is the site's test divided by its MW); an
    /// idle month mines nothing, pays no power and pays the curtailed share
    /// of the opex. `btc_per_eh` is `days * 144 * (subsidy + F) / H`, the
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
        let runs = !fleet.curtailment || revenue_usd - power_usd >= fleet.run_floor_usd_per_mw;
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
                power_usd: 0.0,
                opex_usd: fleet.idle_opex_usd_per_mw,
            }
        }
    }
}

impl SiteMining {
    /// Revenue - power - opex. Per MW, the margin the policies rank sites
    /// by (for an idle month, minus the idle opex: `0 - 0 - x` is `-x`
    /// exactly), which is `max(running margin, idle margin)`.
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
    use crate::model::calendar::Calendar;
    use crate::model::market::MarketModel;
    use crate::scenario;

    /// The threshold test's vector form against the one-site definition
    /// (`AiMonth::margin_usd_per_mw` minus the hurdle times the annuity),
    /// bit for bit, on both code paths, in both AI modes, with demand that
    /// caps utilization and demand that does not.
    #[test]
    fn threshold_excess_matches_the_one_site_definition_bit_for_bit() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        for name in ["cango_2026", "cango_2026_colocation"] {
            let sc = scenario::load(&dir.join(format!("{name}.toml"))).unwrap();
            let fleet = Fleet::new(&sc);
            assert!(
                fleet.convertible.len() > 8,
                "{name}: too few convertible sites"
            );
            let (mut fast, mut portable) = (Vec::new(), Vec::new());
            for (days, gpu_hour_usd) in [(28.0, 1.9), (31.0, 0.35), (30.0, 4.0)] {
                let ai = fleet.ai_month(days, gpu_hour_usd);
                for demand_mw in [0.0, 37.5, 400.0, 1e6] {
                    for ai_mw in [0.0, 55.0, 812.25] {
                        for hurdle in [0.0, 1.25] {
                            fleet.threshold_excess_usd_per_mw(
                                &ai, demand_mw, ai_mw, hurdle, &mut fast,
                            );
                            portable.clear();
                            portable.resize(fleet.convertible.len(), f64::NAN);
                            fleet.threshold_excess_generic(
                                &ai,
                                demand_mw,
                                ai_mw,
                                hurdle,
                                &mut portable,
                            );
                            for (j, &i) in fleet.convertible.iter().enumerate() {
                                let site = &fleet.sites[i];
                                let u = fleet.u_max.min(demand_mw / (ai_mw + site.it_mw));
                                let want = ai.margin_usd_per_mw(
                                    &fleet,
                                    u,
                                    site.power_usd_per_mwh,
                                    site.it_mw_per_mw,
                                ) - hurdle * site.capex_annuity_usd_per_mw_month;
                                assert_eq!(fast[j].to_bits(), want.to_bits(), "{name} site {i}");
                                assert_eq!(
                                    portable[j].to_bits(),
                                    want.to_bits(),
                                    "{name} site {i}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// The passive path's passes, all months at once, on both code paths,
    /// against the one-month test (`threshold_excess_usd_per_mw` at no AI
    /// MW, above the mining margin), in both AI modes, with a hurdle and
    /// without, on sampled paths.
    #[test]
    fn passive_passes_match_the_monthly_test() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let (mut passed, mut failed) = (0, 0);
        for (name, months) in [("cango_2026", 60), ("cango_2026_colocation", 61)] {
            let mut sc = scenario::load(&dir.join(format!("{name}.toml"))).unwrap();
            sc.simulation.months = months;
            let fleet = Fleet::new(&sc);
            let cal = Calendar::new(&sc);
            let model = MarketModel::new(&sc.market, &cal);
            let mut market = MarketPath::with_months(months);
            let mut table = MiningTable::default();
            let (mut scratch, mut fast, mut portable, mut excess) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for path in 0..16 {
                model.sample(sc.simulation.seed, path, &mut market);
                table.fill(&fleet, &cal, &market);
                for hurdle in [0.0, 1.25] {
                    fleet.threshold_passes_passive(
                        hurdle,
                        &cal.days,
                        &market,
                        &table,
                        &mut scratch,
                        &mut fast,
                    );
                    portable.clear();
                    portable.resize(fast.len(), false);
                    fleet.threshold_passes_generic(
                        hurdle,
                        months,
                        &market,
                        &table,
                        &scratch,
                        &mut portable,
                    );
                    for t in 0..months {
                        let ai = fleet.ai_month(cal.days[t], market.gpu_hour_usd[t]);
                        let demand_mw = market.ai_demand_mw[t];
                        fleet.threshold_excess_usd_per_mw(&ai, demand_mw, 0.0, hurdle, &mut excess);
                        for (j, &i) in fleet.convertible.iter().enumerate() {
                            let want = excess[j] > table.margins(&fleet, t).get(i);
                            assert_eq!(fast[j * months + t], want, "{name} path {path} t {t}");
                            assert_eq!(portable[j * months + t], want, "{name} path {path} t {t}");
                            if want {
                                passed += 1;
                            } else {
                                failed += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(
            passed > 100 && failed > 100,
            "passed {passed}, failed {failed}"
        );
    }
}
