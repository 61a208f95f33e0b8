//! Where each metric sits in a path's row ([`RowLayout`]): the market's
//! series, then per policy its monthly series and scalars (the metrics with
//! percentiles), then per policy its MW series and flags (means only), with
//! the counts and flag indices that place them.

/// Market series reported per month.
const MARKET_SERIES: usize = 5;
/// Policy series with percentiles, per month.
pub(super) const POLICY_SERIES: usize = 7;
/// Per-path scalars with percentiles, per policy.
pub(super) const POLICY_SCALARS: usize = 6;
/// MW series (means only), per month.
pub(super) const MW_SERIES: usize = 4;
/// Per-path values with means only, per policy.
pub(super) const POLICY_FLAGS: usize = 7;

/// Where each metric sits in a path's row. The first `n_quantile` metrics
/// get percentiles; the rest only means.
#[derive(Debug, Clone, Copy)]
pub struct RowLayout {
    pub months: usize,
    pub policies: usize,
    pub n_quantile: usize,
    pub n_total: usize,
}

impl RowLayout {
    pub fn new(months: usize, policies: usize) -> RowLayout {
        let n_quantile =
            MARKET_SERIES * months + policies * (POLICY_SERIES * months + POLICY_SCALARS);
        let n_total = n_quantile + policies * (MW_SERIES * months + POLICY_FLAGS);
        RowLayout {
            months,
            policies,
            n_quantile,
            n_total,
        }
    }
    pub(super) fn market(&self, k: usize, t: usize) -> usize {
        k * self.months + t
    }
    pub(super) fn policy_base(&self, p: usize) -> usize {
        MARKET_SERIES * self.months + p * (POLICY_SERIES * self.months + POLICY_SCALARS)
    }
    pub(super) fn policy_month(&self, p: usize, k: usize, t: usize) -> usize {
        self.policy_base(p) + k * self.months + t
    }
    pub(super) fn policy_scalar(&self, p: usize, k: usize) -> usize {
        self.policy_base(p) + POLICY_SERIES * self.months + k
    }
    pub(super) fn mean_base(&self, p: usize) -> usize {
        self.n_quantile + p * (MW_SERIES * self.months + POLICY_FLAGS)
    }
    pub(super) fn policy_mw(&self, p: usize, k: usize, t: usize) -> usize {
        self.mean_base(p) + k * self.months + t
    }
    pub(super) fn policy_flag(&self, p: usize, k: usize) -> usize {
        self.mean_base(p) + MW_SERIES * self.months + k
    }
}

// Indices of the per-path flags (means only).
pub(super) const FLAG_CONVERSIONS: usize = 0;
pub(super) const FLAG_MARGIN_CALL: usize = 1;
pub(super) const FLAG_LIQUIDATION: usize = 2;
pub(super) const FLAG_DISTRESS: usize = 3;
pub(super) const FLAG_FIRST_DISTRESS: usize = 4;
pub(super) const FLAG_NPV_DIFF: usize = 5;
pub(super) const FLAG_TERMINAL_DIFF: usize = 6;
