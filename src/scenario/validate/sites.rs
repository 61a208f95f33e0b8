//! The fleet: `[mining]`, `[ai]`, the regions and the sites (each site's
//! effective values, from its own override or its region's).

use std::collections::HashMap;

use super::bounds::*;
use super::{Check, Result, by_mode};
use crate::scenario::fleet::LocatedSite;
use crate::scenario::raw::*;
use crate::scenario::types::*;

impl Check<'_> {
    pub(super) fn mining(&self, raw: &RawMining) -> Result<Mining> {
        Ok(Mining {
            opex_usd_per_mw_month: self.num(
                "opex_usd_per_mw_month",
                raw.opex_usd_per_mw_month,
                UNIT_USD,
            )?,
            curtailed_opex_share: self.num(
                "curtailed_opex_share",
                raw.curtailed_opex_share,
                SHARE,
            )?,
            curtailment: raw.curtailment,
        })
    }

    pub(super) fn ai(&self, raw: &RawAi) -> Result<Ai> {
        let mode = raw.mode;
        let facility_capex = by_mode(raw.facility_capex_usd_per_mw_it, mode, "9000000", "9000000");
        let opex = by_mode(raw.opex_usd_per_mw_it_month, mode, "40000", "15000");
        Ok(Ai {
            mode: match mode {
                RawAiMode::GpuCloud => AiMode::GpuCloud,
                RawAiMode::Colocation => AiMode::Colocation,
            },
            pue: self.num("pue", raw.pue, PUE)?,
            u_max: self.num("u_max", raw.u_max, POSITIVE_SHARE)?,
            gpus_per_mw_it: self.num("gpus_per_mw_it", raw.gpus_per_mw_it, GPUS_PER_MW_IT)?,
            gpu_capex_usd: self.num("gpu_capex_usd", raw.gpu_capex_usd, UNIT_USD)?,
            gpu_life_years: self.num("gpu_life_years", raw.gpu_life_years, YEARS)?,
            facility_life_years: self.num("facility_life_years", raw.facility_life_years, YEARS)?,
            facility_capex_usd_per_mw_it: self.num(
                "facility_capex_usd_per_mw_it",
                facility_capex,
                UNIT_USD,
            )?,
            opex_usd_per_mw_it_month: self.num("opex_usd_per_mw_it_month", opex, UNIT_USD)?,
            lease_usd_per_mw_it_year: self.num(
                "lease_usd_per_mw_it_year",
                raw.lease_usd_per_mw_it_year,
                UNIT_USD,
            )?,
        })
    }

    pub(super) fn regions(&self, raw: &[RawRegion]) -> Result<Vec<Region>> {
        let mut seen = HashMap::new();
        raw.iter()
            .enumerate()
            .map(|(i, region)| {
                let c = self.at(&format!("regions[{i}]."));
                c.unique_name("name", &region.name, "region name", &mut seen)?;
                Ok(Region {
                    name: region.name.clone(),
                    power_usd_per_mwh: c.num(
                        "power_usd_per_mwh",
                        region.power_usd_per_mwh,
                        POWER_USD_PER_MWH,
                    )?,
                    uptime: c.num("uptime", region.uptime, POSITIVE_SHARE)?,
                    lead_months: c.opt_int("lead_months", region.lead_months, LEAD_MONTHS)?,
                    facility_capex_usd_per_mw_it: c.opt_num(
                        "facility_capex_usd_per_mw_it",
                        region.facility_capex_usd_per_mw_it,
                        UNIT_USD,
                    )?,
                    take_or_pay_share: c
                        .opt_num("take_or_pay_share", region.take_or_pay_share, SHARE)?
                        .unwrap_or(0.0),
                })
            })
            .collect()
    }

    /// Sites with their effective values: the site's override, else the
    /// region's value (facility capex: site, region, then the AI default).
    pub(super) fn sites(
        &self,
        fleet: &[LocatedSite],
        regions: &[Region],
        default_facility_capex: f64,
    ) -> Result<Vec<Site>> {
        let mut seen = HashMap::new();
        fleet
            .iter()
            .map(|LocatedSite { key_prefix, site }| {
                let c = self.at(key_prefix);
                c.file_name("site_id", &site.site_id, "site id")?;
                c.unique_name("site_id", &site.site_id, "site id", &mut seen)?;
                let region_index = regions
                    .iter()
                    .position(|region| region.name == site.region)
                    .ok_or_else(|| {
                        let known: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
                        let known = known.join(", ");
                        c.invalid("region", format!("unknown region `{}`; the regions are {known}", site.region))
                    })?;
                let region = &regions[region_index];
                let lead_months = c.opt_int("lead_months", site.lead_months, LEAD_MONTHS)?.or(region.lead_months);
                if site.convertible && lead_months.is_none() {
                    return Err(c.invalid(
                        "lead_months",
                        format!(
                            "site `{}` is convertible but neither it nor region `{}` has a lead time",
                            site.site_id, region.name
                        ),
                    ));
                }
                let facility_capex = c.opt_num("facility_capex_usd_per_mw_it", site.facility_capex_usd_per_mw_it, UNIT_USD)?;
                Ok(Site {
                    id: site.site_id.clone(),
                    region: region_index,
                    power_mw: c.num("power_mw", site.power_mw, SITE_MW)?,
                    j_per_th: c.num("j_per_th", site.j_per_th, J_PER_TH)?,
                    convertible: site.convertible,
                    power_usd_per_mwh: c
                        .opt_num("power_usd_per_mwh", site.power_usd_per_mwh, POWER_USD_PER_MWH)?
                        .unwrap_or(region.power_usd_per_mwh),
                    uptime: c.opt_num("uptime", site.uptime, POSITIVE_SHARE)?.unwrap_or(region.uptime),
                    lead_months,
                    facility_capex_usd_per_mw_it: facility_capex
                        .or(region.facility_capex_usd_per_mw_it)
                        .unwrap_or(default_facility_capex),
                    take_or_pay_share: c
                        .opt_num("take_or_pay_share", site.take_or_pay_share, SHARE)?
                        .unwrap_or(region.take_or_pay_share),
                })
            })
            .collect()
    }
}
