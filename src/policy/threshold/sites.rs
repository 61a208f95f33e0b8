//! The threshold policy's test, for every convertible site at once: each
//! site's AI margin per MW at the utilization it would get on joining the
//! AI sites, minus the hurdle times its capex annuity, against its mining
//! margin. The test runs every month of every path, so it has vector forms
//! (AVX2 when the CPU has it) beside the one-site definition
//! ([`ThresholdSites::excess`]), tested against it bit for bit.

use crate::model::fleet::{AiMonth, Fleet, SiteEcon};
use crate::model::market::MarketPath;
use crate::model::mining::MiningTable;

/// Per convertible site (in the order of [`Fleet::convertible`]), the
/// constants of the threshold policy's test, as arrays (for vector lanes).
#[derive(Debug, Clone, Default)]
pub(super) struct ThresholdSites {
    it_mw: Vec<f64>,
    power_usd_per_mwh: Vec<f64>,
    it_mw_per_mw: Vec<f64>,
    capex_annuity_usd_per_mw_month: Vec<f64>,
}

// The fleet and the path are passed apart from the test's own arguments.
#[allow(clippy::too_many_arguments)]
impl ThresholdSites {
    pub fn new(fleet: &Fleet) -> ThresholdSites {
        let sites = &fleet.sites;
        let column =
            |f: fn(&SiteEcon) -> f64| fleet.convertible.iter().map(|&i| f(&sites[i])).collect();
        ThresholdSites {
            it_mw: column(|s| s.it_mw),
            power_usd_per_mwh: column(|s| s.power_usd_per_mwh),
            it_mw_per_mw: column(|s| s.it_mw_per_mw),
            capex_annuity_usd_per_mw_month: column(|s| s.capex_annuity_usd_per_mw_month),
        }
    }

    /// Threshold policy, one month: for every convertible site `j` (the
    /// order of [`Fleet::convertible`]), its AI margin per MW at the
    /// utilization it would get on joining the AI sites live and converting,
    /// `u = min(u_max, demand / (ai_mw + it_mw_j))`, minus `hurdle` times its
    /// capex annuity per MW. The site passes if this exceeds its mining
    /// margin per MW. Computed for all convertible sites at once, several
    /// per instruction (AVX2 when the CPU has it): the same IEEE operations
    /// in the same order as one site at a time, so the same bits.
    pub fn excess_usd_per_mw(
        &self,
        fleet: &Fleet,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw_live_and_converting: f64,
        hurdle: f64,
        out: &mut Vec<f64>,
    ) {
        // Every entry is written below: size it, nothing to clear.
        out.resize(fleet.convertible.len(), 0.0);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe {
                    self.excess_avx2(fleet, ai, demand_mw, ai_mw_live_and_converting, hurdle, out)
                };
                return;
            }
        }
        self.excess_generic(fleet, ai, demand_mw, ai_mw_live_and_converting, hurdle, out);
    }

    /// The threshold policy's test on the passive path (no AI MW live or
    /// converting) for every month and convertible site at once:
    /// `passes[j * months + t]` says whether site `j` (the order of
    /// [`Fleet::convertible`]) passes in month `t < days.len()`, its
    /// [`ThresholdSites::excess_usd_per_mw`] at `ai_mw = 0` above its
    /// mining margin. The same IEEE operations on the same operands as that
    /// function, month by month, so the same passes; here the months are in
    /// vector lanes (AVX2 when the CPU has it). `scratch` holds the months'
    /// AI rates.
    pub fn passes_passive(
        &self,
        fleet: &Fleet,
        hurdle: f64,
        days: &[f64],
        market: &MarketPath,
        table: &MiningTable,
        scratch: &mut Vec<f64>,
        passes: &mut Vec<bool>,
    ) {
        let months = days.len();
        assert!(months <= table.months() && months <= market.gpu_hour_usd.len());
        // The months' AI rates, then their power costs per USD/MWh.
        scratch.clear();
        scratch.resize(2 * months, 0.0);
        let (rates, per_price) = scratch.split_at_mut(months);
        let months_ai = days.iter().zip(&market.gpu_hour_usd);
        for ((rate, per_price), (&days, &gpu_hour_usd)) in
            rates.iter_mut().zip(per_price).zip(months_ai)
        {
            let ai = fleet.ai_month(days, gpu_hour_usd);
            (*rate, *per_price) = (ai.rate_usd_per_mw_it, ai.power_usd_per_mw_it_per_usd_mwh);
        }
        passes.clear();
        passes.resize(fleet.convertible.len() * months, false);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { self.passes_avx2(fleet, hurdle, months, market, table, scratch, passes) };
                return;
            }
        }
        self.passes_generic(fleet, hurdle, months, market, table, scratch, passes);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn passes_avx2(
        &self,
        fleet: &Fleet,
        hurdle: f64,
        months: usize,
        market: &MarketPath,
        table: &MiningTable,
        ai: &[f64],
        passes: &mut [bool],
    ) {
        self.passes_generic(fleet, hurdle, months, market, table, ai, passes);
    }

    #[inline(always)]
    fn passes_generic(
        &self,
        fleet: &Fleet,
        hurdle: f64,
        months: usize,
        market: &MarketPath,
        table: &MiningTable,
        ai: &[f64],
        passes: &mut [bool],
    ) {
        let c = &self;
        let demand = &market.ai_demand_mw_it[..months];
        let (rate, per_price) = ai.split_at(months);
        let by_site = fleet
            .convertible
            .iter()
            .zip(passes.chunks_exact_mut(months));
        for (j, (&i, passes)) in by_site.enumerate() {
            let it_mw = c.it_mw[j];
            let price = c.power_usd_per_mwh[j];
            let it_per_mw = c.it_mw_per_mw[j];
            let annuity = c.capex_annuity_usd_per_mw_month[j];
            let margins = &table.site_margins(fleet, i)[..months];
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
                let excess = self.excess(
                    fleet, &month, demand_mw, 0.0, hurdle, it_mw, price, it_per_mw, annuity,
                );
                *pass = excess > margin;
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn excess_avx2(
        &self,
        fleet: &Fleet,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw: f64,
        hurdle: f64,
        out: &mut [f64],
    ) {
        self.excess_generic(fleet, ai, demand_mw, ai_mw, hurdle, out);
    }

    #[inline(always)]
    fn excess_generic(
        &self,
        fleet: &Fleet,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw: f64,
        hurdle: f64,
        out: &mut [f64],
    ) {
        let c = &self;
        let sites = c.it_mw.iter().zip(&c.power_usd_per_mwh);
        let sites = sites.zip(c.it_mw_per_mw.iter().zip(&c.capex_annuity_usd_per_mw_month));
        for (x, ((&it_mw, &price), (&it_per_mw, &annuity))) in out.iter_mut().zip(sites) {
            *x = self.excess(
                fleet, ai, demand_mw, ai_mw, hurdle, it_mw, price, it_per_mw, annuity,
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
    fn excess(
        &self,
        fleet: &Fleet,
        ai: &AiMonth,
        demand_mw: f64,
        ai_mw: f64,
        hurdle: f64,
        it_mw: f64,
        price: f64,
        it_per_mw: f64,
        annuity: f64,
    ) -> f64 {
        let u = fleet.u_max.min(demand_mw / (ai_mw + it_mw));
        ai.margin_usd_per_mw(fleet, u, price, it_per_mw) - hurdle * annuity
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
    fn excess_matches_the_one_site_definition_bit_for_bit() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        for name in ["cango_2026", "cango_2026_colocation"] {
            let sc = scenario::load(&dir.join(format!("{name}.toml"))).unwrap();
            let fleet = Fleet::new(&sc);
            let sites = ThresholdSites::new(&fleet);
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
                            sites.excess_usd_per_mw(
                                &fleet, &ai, demand_mw, ai_mw, hurdle, &mut fast,
                            );
                            portable.clear();
                            portable.resize(fleet.convertible.len(), f64::NAN);
                            sites.excess_generic(
                                &fleet,
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
    /// against the one-month test (`excess_usd_per_mw` at no AI
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
            let sites = ThresholdSites::new(&fleet);
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
                    sites.passes_passive(
                        &fleet,
                        hurdle,
                        &cal.days,
                        &market,
                        &table,
                        &mut scratch,
                        &mut fast,
                    );
                    portable.clear();
                    portable.resize(fast.len(), false);
                    sites.passes_generic(
                        &fleet,
                        hurdle,
                        months,
                        &market,
                        &table,
                        &scratch,
                        &mut portable,
                    );
                    for t in 0..months {
                        let ai = fleet.ai_month(cal.days[t], market.gpu_hour_usd[t]);
                        let demand_mw = market.ai_demand_mw_it[t];
                        sites.excess_usd_per_mw(&fleet, &ai, demand_mw, 0.0, hurdle, &mut excess);
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
