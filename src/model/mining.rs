//! One path's mining, precomputed: every mining class's month per MW
//! ([`MiningTable`]), the margins per MW the policies rank sites by
//! ([`MonthMargins`]) and the fleet's monthly totals ([`FleetMining`]),
//! filled with the months in vector lanes (AVX2 when the CPU has it) or by
//! the portable loop, the same bits either way.

use crate::model::calendar::{BLOCKS_PER_DAY, Calendar};
use crate::model::fleet::{Fleet, SiteMining};
use crate::model::market::MarketPath;

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
///
/// [`MiningClass`]: crate::model::fleet::MiningClass
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
    /// revenue, power, opex, idle MW, idle power), one array each;
    /// `fleet_total` is built from them.
    totals: [Vec<f64>; 6],
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
    /// Of `power_usd`, what the idle sites pay (take-or-pay).
    pub idle_power_usd: f64,
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
            self.idle_power_usd += m.power_usd;
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
            self.idle_power_usd -= m.power_usd;
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
        let [btc, revenue, power, opex, idle, idle_power] = &self.totals;
        self.fleet_total.extend((0..months).map(|t| FleetMining {
            btc_mined: btc[t],
            revenue_usd: revenue[t],
            power_usd: power[t],
            opex_usd: opex[t],
            idle_mw: idle[t],
            idle_power_usd: idle_power[t],
        }));
    }

    /// Site i's mining outcome in month t (`fleet` is the one the table
    /// was filled for): its class's month per MW times its MW, the same
    /// bits as [`SiteEcon::mining`].
    ///
    /// [`SiteEcon::mining`]: crate::model::fleet::SiteEcon::mining
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

    /// The months the table holds.
    pub fn months(&self) -> usize {
        self.months
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
///
/// [`MiningClass::month_per_mw`]: crate::model::fleet::MiningClass::month_per_mw
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
        let mut tot = [zero; 6];
        for (c, class) in fleet.classes.iter().enumerate() {
            let k = c * months + t0;
            let btc = _mm256_mul_pd(btc_per_eh, _mm256_set1_pd(class.ehs_per_mw));
            let revenue = _mm256_mul_pd(btc, price);
            let power = _mm256_mul_pd(_mm256_set1_pd(class.power_usd_per_mw_day), days);
            let share = class.take_or_pay_share;
            let runs = if fleet.curtailment {
                let avoidable = _mm256_mul_pd(_mm256_set1_pd(1.0 - share), power);
                _mm256_cmp_pd::<_CMP_GE_OQ>(_mm256_sub_pd(revenue, avoidable), floor)
            } else {
                _mm256_castsi256_pd(_mm256_set1_epi64x(-1))
            };
            let btc = _mm256_and_pd(runs, btc);
            let revenue = _mm256_and_pd(runs, revenue);
            let idle_power = _mm256_mul_pd(_mm256_set1_pd(share), power);
            let power = _mm256_blendv_pd(idle_power, power, runs);
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
            let power_mw = _mm256_mul_pd(power, mw);
            let parts = [
                _mm256_mul_pd(btc, mw),
                _mm256_mul_pd(revenue, mw),
                power_mw,
                _mm256_mul_pd(opex, mw),
                idle_mw,
                _mm256_andnot_pd(runs, power_mw),
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
///
/// [`MiningClass::month_per_mw`]: crate::model::fleet::MiningClass::month_per_mw
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
        let [btc, revenue, power, opex, idle, idle_power] = &mut table.totals;
        btc[t] = total.btc_mined;
        revenue[t] = total.revenue_usd;
        power[t] = total.power_usd;
        opex[t] = total.opex_usd;
        idle[t] = total.idle_mw;
        idle_power[t] = total.idle_power_usd;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::market::MarketModel;
    use crate::scenario;

    /// Sites alike but for their size (same region, efficiency, uptime)
    /// have the same mining margin per MW bit for bit, every month, in the
    /// table (both fills): docs/model.md breaks ties by fleet order, which needs
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
        let (mut idle_seen, mut idle_paying) = (0, 0);
        // 61 and 63 months: the vector path's last months go through its
        // tail. The third case gives sites take-or-pay shares (0 to 0.5).
        for (name, months, take_or_pay) in [
            ("cango_2026", 60, false),
            ("cango_2026_colocation", 61, false),
            ("cango_2026", 63, true),
        ] {
            let mut sc = scenario::load(&dir.join(format!("{name}.toml"))).unwrap();
            sc.simulation.months = months;
            if take_or_pay {
                for (i, site) in sc.sites.iter_mut().enumerate() {
                    site.take_or_pay_share = [0.0, 0.15, 0.2, 0.5][i % 4];
                }
            }
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
                        idle_paying += usize::from(!m.runs && m.power_usd > 0.0);
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
        assert!(
            idle_paying > 100,
            "only {idle_paying} idle site-months paying take-or-pay power"
        );
    }
}
