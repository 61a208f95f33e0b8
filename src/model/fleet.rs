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

use crate::model::calendar::{BLOCKS_PER_DAY, Calendar};
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
    class_of: Vec<u32>,
    /// `(1 - curtailed_opex_share) * opex` per MW: a month runs if its
    /// revenue minus power per MW is at least this.
    run_floor_usd_per_mw: f64,
    /// `curtailed_opex_share * opex` per MW: the opex of an idle month.
    idle_opex_usd_per_mw: f64,
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

/// Ordinary annuity factor: payment per unit of principal over `n` periods at
/// rate `i` per period, first payment one period after the outlay.
pub fn annuity_factor(i: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    if i.abs() < 1e-15 {
        1.0 / n
    } else {
        i / (1.0 - (1.0 + i).powf(-n))
    }
}

/// Mining outcomes of every mining class (sites alike per MW, see
/// [`MiningClass`]) in every month of one path, per MW, with the margin
/// per MW the policies rank sites by, and the fleet's totals.
///
/// A site's month is its class's times its `power_mw` ([`MiningTable::site`]),
/// so the table holds one row per class, not per site (the reference fleet's
/// 40 sites are 8 classes). Stored class-major (`[c * months + t]`, one
/// array per field), filled with the months in vector lanes: the totals of
/// different months are independent sums, each adding the classes in order
/// (a class's month per MW times its MW), several months per instruction.
#[derive(Debug, Clone, Default)]
pub struct MiningTable {
    months: usize,
    /// Per class and month, per MW: 1 if the machines run, 0 if idle.
    runs: Vec<u8>,
    btc_mined: Vec<f64>,
    revenue_usd: Vec<f64>,
    power_usd: Vec<f64>,
    opex_usd: Vec<f64>,
    /// USD per MW per month, curtailment applied: revenue - power - opex.
    margin_usd_per_mw: Vec<f64>,
    /// Per month, the sum over every site of the fleet.
    pub fleet_total: Vec<FleetMining>,
    /// Per month, the BTC one EH/s mines (`days * 144 * (subsidy + F) / H`).
    btc_per_eh: Vec<f64>,
    /// Per month, the fleet totals as the fill sums them (BTC mined,
    /// revenue, power, opex, idle MW), one array each; `fleet_total` is
    /// built from them.
    totals: [Vec<f64>; 5],
}

/// The mining margins per MW of one month, by site (its class's).
#[derive(Debug, Clone, Copy)]
pub struct MonthMargins<'a> {
    /// Class-major, `[c * months + t]`.
    values: &'a [f64],
    /// Per site, its class.
    class_of: &'a [u32],
    months: usize,
    t: usize,
}

impl<'a> MonthMargins<'a> {
    /// One month's margins, `values[class_of[i]]` for site `i` (for tests).
    #[cfg(test)]
    pub fn from_slices(values: &'a [f64], class_of: &'a [u32]) -> MonthMargins<'a> {
        MonthMargins {
            values,
            class_of,
            months: 1,
            t: 0,
        }
    }

    /// Mining margin per MW of site `i` in this month, USD.
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        self.values[self.class_of[i] as usize * self.months + self.t]
    }
}

/// Mining of a set of sites in one month, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FleetMining {
    pub btc_mined: f64,
    pub revenue_usd: f64,
    pub power_usd: f64,
    pub opex_usd: f64,
    /// Grid MW of the sites that are idle.
    pub idle_mw: f64,
}

impl FleetMining {
    #[inline]
    pub fn add(&mut self, m: &SiteMining, power_mw: f64) {
        self.btc_mined += m.btc_mined;
        self.revenue_usd += m.revenue_usd;
        self.power_usd += m.power_usd;
        self.opex_usd += m.opex_usd;
        if !m.runs {
            self.idle_mw += power_mw;
        }
    }

    #[inline]
    pub fn sub(&mut self, m: &SiteMining, power_mw: f64) {
        self.btc_mined -= m.btc_mined;
        self.revenue_usd -= m.revenue_usd;
        self.power_usd -= m.power_usd;
        self.opex_usd -= m.opex_usd;
        if !m.runs {
            self.idle_mw -= power_mw;
        }
    }
}

impl MiningTable {
    pub fn fill(&mut self, fleet: &Fleet, cal: &Calendar, market: &MarketPath) {
        let months = cal.months();
        self.months = months;
        let cells = fleet.classes.len() * months;
        for v in [
            &mut self.btc_mined,
            &mut self.revenue_usd,
            &mut self.power_usd,
            &mut self.opex_usd,
            &mut self.margin_usd_per_mw,
        ] {
            v.resize(cells, 0.0);
        }
        self.runs.resize(cells, 0);
        self.btc_per_eh.clear();
        self.btc_per_eh.extend((0..months).map(|t| {
            cal.days[t] * BLOCKS_PER_DAY * (cal.subsidy_btc[t] + market.fee_btc[t])
                / market.hashrate_ehs[t]
        }));
        for total in &mut self.totals {
            total.clear();
            total.resize(months, 0.0);
        }
        fill_classes(self, fleet, cal, market);
        self.fleet_total.clear();
        let [btc, revenue, power, opex, idle] = &self.totals;
        self.fleet_total.extend((0..months).map(|t| FleetMining {
            btc_mined: btc[t],
            revenue_usd: revenue[t],
            power_usd: power[t],
            opex_usd: opex[t],
            idle_mw: idle[t],
        }));
    }

    /// Site i's mining outcome in month t (`fleet` is the one the table
    /// was filled for): its class's month per MW times its MW, the same
    /// bits as [`SiteEcon::mining`].
    #[inline(always)]
    pub fn site(&self, fleet: &Fleet, t: usize, i: usize) -> SiteMining {
        let site = &fleet.sites[i];
        let k = site.class * self.months + t;
        SiteMining {
            runs: self.runs[k] != 0,
            btc_mined: self.btc_mined[k],
            revenue_usd: self.revenue_usd[k],
            power_usd: self.power_usd[k],
            opex_usd: self.opex_usd[k],
        }
        .times_mw(site.power_mw)
    }

    /// Mining margins per MW of month t, by site of `fleet` (the one the
    /// table was filled for).
    #[inline]
    pub fn margins<'a>(&'a self, fleet: &'a Fleet, t: usize) -> MonthMargins<'a> {
        MonthMargins {
            values: &self.margin_usd_per_mw,
            class_of: &fleet.class_of,
            months: self.months,
            t,
        }
    }

    /// Site i's mining margins per MW, month by month.
    #[inline]
    pub fn site_margins(&self, fleet: &Fleet, i: usize) -> &[f64] {
        &self.margin_usd_per_mw[fleet.sites[i].class * self.months..][..self.months]
    }
}

/// The body of [`MiningTable::fill`]: every class's months, with the months
/// in vector lanes (AVX2 intrinsics when the CPU has it, else the portable
/// loop; the same IEEE operations in the same order either way, so the same
/// bits).
fn fill_classes(table: &mut MiningTable, fleet: &Fleet, cal: &Calendar, market: &MarketPath) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { fill_classes_avx2(table, fleet, cal, market) };
            return;
        }
    }
    fill_classes_generic(table, fleet, cal, market, 0);
}

/// Per 4-bit lane mask, the four lanes as bytes 0 or 1 (lane 0 lowest).
#[cfg(target_arch = "x86_64")]
const RUNS_BYTES: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut mask = 0;
    while mask < 16 {
        let mut lane = 0;
        while lane < 4 {
            t[mask] |= (((mask >> lane) & 1) as u32) << (8 * lane);
            lane += 1;
        }
        mask += 1;
    }
    t
};

/// [`fill_classes_generic`] with AVX2 intrinsics: blocks of four months,
/// the classes inner, so that each month's fleet totals are summed in
/// registers (class by class, as `fill_classes_generic` adds them) and
/// stored once; the run-or-idle choice is a lane mask. The same IEEE
/// operations on the same operands as [`MiningClass::month_per_mw`] and
/// [`SiteMining::times_mw`], so the same bits (a test pins both paths to
/// them). The last `months % 4` months go through the portable loop.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_classes_avx2(
    table: &mut MiningTable,
    fleet: &Fleet,
    cal: &Calendar,
    market: &MarketPath,
) {
    use std::arch::x86_64::*;
    let months = table.months;
    let whole = months - months % 4;
    let load = |v: &[f64], t: usize| {
        let v: &[f64; 4] = v[t..t + 4].try_into().expect("four months");
        // SAFETY: `v` is four f64.
        unsafe { _mm256_loadu_pd(v.as_ptr()) }
    };
    let store = |v: &mut [f64], k: usize, x: __m256d| {
        let v: &mut [f64; 4] = (&mut v[k..k + 4]).try_into().expect("four months");
        // SAFETY: `v` is four f64.
        unsafe { _mm256_storeu_pd(v.as_mut_ptr(), x) }
    };
    let floor = _mm256_set1_pd(fleet.run_floor_usd_per_mw);
    let opex_running = _mm256_set1_pd(fleet.mining_opex_usd_per_mw_month);
    let opex_idle = _mm256_set1_pd(fleet.idle_opex_usd_per_mw);
    for t0 in (0..whole).step_by(4) {
        let btc_per_eh = load(&table.btc_per_eh, t0);
        let price = load(&market.btc_price_usd, t0);
        let days = load(&cal.days, t0);
        let zero = _mm256_setzero_pd();
        let mut tot = [zero; 5];
        for (c, class) in fleet.classes.iter().enumerate() {
            let k = c * months + t0;
            let btc = _mm256_mul_pd(btc_per_eh, _mm256_set1_pd(class.ehs_per_mw));
            let revenue = _mm256_mul_pd(btc, price);
            let power = _mm256_mul_pd(_mm256_set1_pd(class.power_usd_per_mw_day), days);
            let runs = if fleet.curtailment {
                _mm256_cmp_pd::<_CMP_GE_OQ>(_mm256_sub_pd(revenue, power), floor)
            } else {
                _mm256_castsi256_pd(_mm256_set1_epi64x(-1))
            };
            let btc = _mm256_and_pd(runs, btc);
            let revenue = _mm256_and_pd(runs, revenue);
            let power = _mm256_and_pd(runs, power);
            let opex = _mm256_blendv_pd(opex_idle, opex_running, runs);
            let margin = _mm256_sub_pd(_mm256_sub_pd(revenue, power), opex);
            store(&mut table.btc_mined, k, btc);
            store(&mut table.revenue_usd, k, revenue);
            store(&mut table.power_usd, k, power);
            store(&mut table.opex_usd, k, opex);
            store(&mut table.margin_usd_per_mw, k, margin);
            let runs_bytes = RUNS_BYTES[(_mm256_movemask_pd(runs) & 0xf) as usize];
            table.runs[k..k + 4].copy_from_slice(&runs_bytes.to_le_bytes());
            // The class's MW times each; the idle MW where it idles.
            let mw = _mm256_set1_pd(class.power_mw);
            let idle_mw = _mm256_andnot_pd(runs, mw);
            let parts = [
                _mm256_mul_pd(btc, mw),
                _mm256_mul_pd(revenue, mw),
                _mm256_mul_pd(power, mw),
                _mm256_mul_pd(opex, mw),
                idle_mw,
            ];
            for (sum, x) in tot.iter_mut().zip(parts) {
                *sum = _mm256_add_pd(*sum, x);
            }
        }
        for (total, sum) in table.totals.iter_mut().zip(tot) {
            store(total, t0, sum);
        }
    }
    fill_classes_generic(table, fleet, cal, market, whole);
}

/// The portable definition of [`MiningTable::fill`]'s body, for months
/// `from..` (all of them from 0): every class's months per MW
/// ([`MiningClass::month_per_mw`]), and each month's totals, adding the
/// classes in order, each its month per MW times its MW ([`SiteMining::times_mw`];
/// an idle class adds 0.0 to the sums, which leaves their bits unchanged,
/// and its MW to the idle MW).
#[inline(always)]
fn fill_classes_generic(
    table: &mut MiningTable,
    fleet: &Fleet,
    cal: &Calendar,
    market: &MarketPath,
    from: usize,
) {
    let months = table.months;
    for t in from..months {
        let (btc_per_eh, price, days) = (table.btc_per_eh[t], market.btc_price_usd[t], cal.days[t]);
        let mut total = FleetMining::default();
        for (c, class) in fleet.classes.iter().enumerate() {
            let m = class.month_per_mw(fleet, btc_per_eh, price, days);
            let k = c * months + t;
            table.runs[k] = u8::from(m.runs);
            table.btc_mined[k] = m.btc_mined;
            table.revenue_usd[k] = m.revenue_usd;
            table.power_usd[k] = m.power_usd;
            table.opex_usd[k] = m.opex_usd;
            table.margin_usd_per_mw[k] = m.margin_usd();
            total.add(&m.times_mw(class.power_mw), class.power_mw);
        }
        let [btc, revenue, power, opex, idle] = &mut table.totals;
        btc[t] = total.btc_mined;
        revenue[t] = total.revenue_usd;
        power[t] = total.power_usd;
        opex[t] = total.opex_usd;
        idle[t] = total.idle_mw;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::market::MarketModel;
    use crate::scenario;

    /// Sites alike but for their size (same region, efficiency, uptime)
    /// have the same mining margin per MW bit for bit, every month, in the
    /// table (both fills): MODEL.md breaks ties by fleet order, which needs
    /// exact ties. A margin taken as the site's total over its MW (the
    /// form before) misses on most months of these paths. The reference
    /// fleet has four such groups of convertible sites (us-01/03/05/07
    /// among them).
    #[test]
    fn sites_alike_but_for_size_have_equal_margins_per_mw() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let sc = scenario::load(&dir.join("cango_2026.toml")).unwrap();
        let fleet = Fleet::new(&sc);
        let cal = Calendar::new(&sc);
        let model = MarketModel::new(&sc.market, &cal);
        let mut market = MarketPath::with_months(cal.months());
        // Groups of convertible sites alike but for their size.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for &i in &fleet.convertible {
            let (a, b) = (&sc.sites[i], &fleet.sites[i]);
            let alike = |&j: &usize| {
                let (c, d) = (&sc.sites[j], &fleet.sites[j]);
                c.j_per_th == a.j_per_th
                    && d.uptime == b.uptime
                    && d.power_usd_per_mwh == b.power_usd_per_mwh
            };
            match groups.iter_mut().find(|g| alike(&g[0])) {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        groups.retain(|g| g.len() > 1);
        assert!(groups.len() >= 4, "{groups:?}");
        let (mut table, mut portable) = (MiningTable::default(), MiningTable::default());
        let (mut months, mut sizes_differ) = (0, 0);
        for path in 0..8 {
            model.sample(sc.simulation.seed, path, &mut market);
            table.fill(&fleet, &cal, &market);
            portable.fill(&fleet, &cal, &market);
            fill_classes_generic(&mut portable, &fleet, &cal, &market, 0);
            for t in 0..cal.months() {
                for g in &groups {
                    for tab in [&table, &portable] {
                        let first = tab.margins(&fleet, t).get(g[0]);
                        for &i in &g[1..] {
                            assert_eq!(tab.margins(&fleet, t).get(i).to_bits(), first.to_bits());
                        }
                    }
                    // The whole-site form would not tie here.
                    let site_over_mw =
                        |i: usize| table.site(&fleet, t, i).margin_usd() / fleet.sites[i].power_mw;
                    months += 1;
                    sizes_differ += usize::from(
                        g[1..]
                            .iter()
                            .any(|&i| site_over_mw(i) != site_over_mw(g[0])),
                    );
                }
            }
        }
        // The test can fail: the old form breaks ties on many of these months.
        assert!(sizes_differ > months / 10, "{sizes_differ} of {months}");
    }

    /// The table filled with months in vector lanes (AVX2 where the CPU has
    /// it, and the portable loop) against the definition: every site's
    /// `SiteEcon::mining` (its class's month per MW times its MW), the
    /// margin per MW of its class's month, and each month's totals summed
    /// class by class, bit for bit. The totals are also within rounding of
    /// the site-by-site sum in fleet order (a wrong class MW would not be),
    /// and the classes hold the fleet's MW. Curtailment idles sites on
    /// these paths, so both sides of the run-or-idle test are exercised.
    #[test]
    fn mining_table_matches_the_class_by_class_definition_bit_for_bit() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut idle_seen = 0;
        // 61 months: the vector path's last month goes through its tail.
        for (name, months) in [("cango_2026", 60), ("cango_2026_colocation", 61)] {
            let mut sc = scenario::load(&dir.join(format!("{name}.toml"))).unwrap();
            sc.simulation.months = months;
            let fleet = Fleet::new(&sc);
            assert!(fleet.classes.len() > 1 && fleet.classes.len() < fleet.len());
            let class_mw: f64 = fleet.classes.iter().map(|c| c.power_mw).sum();
            assert!((class_mw - fleet.total_power_mw).abs() <= 1e-9 * fleet.total_power_mw);
            let cal = Calendar::new(&sc);
            assert_eq!(cal.months(), months);
            let model = MarketModel::new(&sc.market, &cal);
            let mut market = MarketPath::with_months(cal.months());
            let (mut table, mut portable) = (MiningTable::default(), MiningTable::default());
            for path in 0..16 {
                model.sample(sc.simulation.seed, path, &mut market);
                table.fill(&fleet, &cal, &market);
                portable.fill(&fleet, &cal, &market);
                portable.totals.iter_mut().for_each(|v| v.fill(0.0));
                fill_classes_generic(&mut portable, &fleet, &cal, &market, 0);
                for t in 0..cal.months() {
                    let btc_per_eh =
                        cal.days[t] * BLOCKS_PER_DAY * (cal.subsidy_btc[t] + market.fee_btc[t])
                            / market.hashrate_ehs[t];
                    let (price, days) = (market.btc_price_usd[t], cal.days[t]);
                    let mut by_site = FleetMining::default();
                    for (i, site) in fleet.sites.iter().enumerate() {
                        let m = site.mining(&fleet, btc_per_eh, price, days);
                        by_site.add(&m, site.power_mw);
                        idle_seen += usize::from(!m.runs);
                        let class = &fleet.classes[site.class];
                        let margin = class
                            .month_per_mw(&fleet, btc_per_eh, price, days)
                            .margin_usd();
                        for tab in [&table, &portable] {
                            let got = tab.site(&fleet, t, i);
                            assert_eq!(got.runs, m.runs);
                            for (a, b) in [
                                (got.btc_mined, m.btc_mined),
                                (got.revenue_usd, m.revenue_usd),
                                (got.power_usd, m.power_usd),
                                (got.opex_usd, m.opex_usd),
                                (tab.margins(&fleet, t).get(i), margin),
                            ] {
                                assert_eq!(
                                    a.to_bits(),
                                    b.to_bits(),
                                    "{name} path {path} t {t} site {i}"
                                );
                            }
                        }
                    }
                    let mut total = FleetMining::default();
                    for class in &fleet.classes {
                        let m = class.month_per_mw(&fleet, btc_per_eh, price, days);
                        total.add(&m.times_mw(class.power_mw), class.power_mw);
                    }
                    for tab in [&table, &portable] {
                        let got = tab.fleet_total[t];
                        let pairs = [
                            (got.btc_mined, total.btc_mined, by_site.btc_mined),
                            (got.revenue_usd, total.revenue_usd, by_site.revenue_usd),
                            (got.power_usd, total.power_usd, by_site.power_usd),
                            (got.opex_usd, total.opex_usd, by_site.opex_usd),
                            (got.idle_mw, total.idle_mw, by_site.idle_mw),
                        ];
                        for (a, b, c) in pairs {
                            assert_eq!(a.to_bits(), b.to_bits(), "{name} path {path} t {t} total");
                            assert!((a - c).abs() <= 1e-12 * c.abs(), "{name} {t}: {a} vs {c}");
                        }
                    }
                }
            }
        }
        assert!(idle_seen > 100, "only {idle_seen} idle site-months");
    }

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
