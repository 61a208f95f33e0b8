//! `hold`: never converts; the baseline, and the passive path every policy
//! follows until its first conversion starts.

use super::{Policy, PolicyMemory, PolicyView};

/// Never converts: the baseline.
pub struct Hold;

impl Policy for Hold {
    fn decide(&self, _: &PolicyView<'_>, _: &mut PolicyMemory, _: &mut Vec<usize>) {}

    fn passive(&self) -> bool {
        true
    }

    fn memoryless(&self) -> bool {
        true
    }
}
