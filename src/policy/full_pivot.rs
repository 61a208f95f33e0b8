//! `full_pivot`: asks for every convertible site still mining, every month;
//! the treasury starts as many as it can fund.

use super::{Policy, PolicyMemory, PolicyView};

/// Every month, every convertible site still mining, in fleet order.
pub struct FullPivot;

impl Policy for FullPivot {
    fn decide(&self, view: &PolicyView<'_>, _: &mut PolicyMemory, requests: &mut Vec<usize>) {
        requests.extend_from_slice(view.convertible_mining);
    }

    fn memoryless(&self) -> bool {
        true
    }
}
