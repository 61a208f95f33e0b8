//! `staged`: a fixed number of sites a quarter, the least profitable miners
//! first, up to a total.

use super::rank::{Ranked, keep_lowest_margins};
use super::{Policy, PolicyMemory, PolicyView};

/// In months 0, 3, 6, ...: the `sites_per_quarter` convertible mining sites
/// with the lowest mining margin per MW, until `max_sites` have started.
pub struct Staged {
    pub sites_per_quarter: usize,
    pub max_sites: usize,
}

impl Policy for Staged {
    fn decide(&self, view: &PolicyView<'_>, memory: &mut PolicyMemory, requests: &mut Vec<usize>) {
        if !view.t.is_multiple_of(3) {
            return;
        }
        let want = self
            .sites_per_quarter
            .min(self.max_sites.saturating_sub(view.started));
        if want == 0 {
            return;
        }
        let start = requests.len();
        requests.extend_from_slice(view.convertible_mining);
        let margin = view.mining_margin_usd_per_mw;
        keep_lowest_margins(requests, start, want, margin, memory.get_mut::<Ranked>());
    }

    /// Only the ranking's scratch.
    fn memory(&self) -> PolicyMemory {
        PolicyMemory::new(Ranked::default())
    }

    /// Its memory is only the scratch of the ranking.
    fn memoryless(&self) -> bool {
        true
    }
}
