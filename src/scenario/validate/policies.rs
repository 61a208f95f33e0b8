//! The `[[policies]]` to compare, and which of them is the baseline.

use std::collections::HashMap;

use super::bounds::*;
use super::{Check, Result};
use crate::scenario::raw::*;
use crate::scenario::types::*;

impl Check<'_> {
    /// Policies (one `hold` if none) and the index of the baseline: the
    /// policy named `hold`, else the first.
    pub(super) fn policies(&self, raw: Vec<RawPolicy>) -> Result<(Vec<PolicySpec>, usize)> {
        let raw = if raw.is_empty() {
            vec![RawPolicy::Hold { name: None }]
        } else {
            raw
        };
        let mut seen = HashMap::new();
        let policies = raw
            .iter()
            .enumerate()
            .map(|(i, policy)| {
                let c = self.at(&format!("policies[{i}]."));
                let (name, kind) = match policy {
                    RawPolicy::Hold { name } => (name, PolicyKind::Hold),
                    RawPolicy::FullPivot { name } => (name, PolicyKind::FullPivot),
                    RawPolicy::Staged {
                        name,
                        sites_per_quarter,
                        max_sites,
                    } => (
                        name,
                        PolicyKind::Staged {
                            sites_per_quarter: c.int(
                                "sites_per_quarter",
                                *sites_per_quarter,
                                SITES_PER_QUARTER,
                            )?,
                            max_sites: c.int("max_sites", *max_sites, SITES)?,
                        },
                    ),
                    RawPolicy::Threshold {
                        name,
                        hurdle,
                        window_months,
                        max_concurrent,
                    } => (
                        name,
                        PolicyKind::Threshold {
                            hurdle: c.num("hurdle", *hurdle, MULTIPLE)?,
                            window_months: c.int("window_months", *window_months, LEAD_MONTHS)?,
                            max_concurrent: c.int("max_concurrent", *max_concurrent, SITES)?,
                        },
                    ),
                };
                let name = name.as_deref().unwrap_or(kind.as_str());
                c.file_name("name", name, "policy name")?;
                c.unique_name("name", name, "policy name", &mut seen)?;
                Ok(PolicySpec {
                    name: name.to_owned(),
                    kind,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let baseline = policies.iter().position(|p| p.name == "hold").unwrap_or(0);
        Ok((policies, baseline))
    }
}
