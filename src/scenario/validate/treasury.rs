//! The balance sheet and its timeline: `[treasury]` (with its
//! `sell_to_target_ltv` rule), `[loan]`, `[financing]`, `[valuation]` and
//! the dated `[[events]]`.

use super::bounds::*;
use super::{Check, Lo, Range, Result};
use crate::scenario::raw::*;
use crate::scenario::types::*;

impl Check<'_> {
    pub(super) fn treasury(&self, raw: &RawTreasury, loan: &Loan) -> Result<Treasury> {
        let sell_to_target_ltv = raw
            .sell_to_target_ltv
            .as_ref()
            .map(|rule| {
                let c = self.at("sell_to_target_ltv.");
                let margin_call = loan.margin_call_ltv;
                let trigger_ltv = c.num("trigger_ltv", rule.trigger_ltv, POSITIVE_SHARE)?;
                if trigger_ltv >= margin_call {
                    return Err(c.invalid(
                        "trigger_ltv",
                        format!(
                            "expected a number < loan.margin_call_ltv ({margin_call}), got {}",
                            rule.trigger_ltv
                        ),
                    ));
                }
                let target_ltv = c.num("target_ltv", rule.target_ltv, POSITIVE_SHARE)?;
                if target_ltv >= trigger_ltv {
                    return Err(c.invalid(
                        "target_ltv",
                        format!(
                            "expected a number < {} ({trigger_ltv}), got {}",
                            c.key("trigger_ltv"),
                            rule.target_ltv
                        ),
                    ));
                }
                Ok(SellToTargetLtv {
                    trigger_ltv,
                    target_ltv,
                })
            })
            .transpose()?;
        Ok(Treasury {
            sell_to_target_ltv,
            reserve_btc: self.num("reserve_btc", raw.reserve_btc, BTC)?,
            cash_usd: self.num("cash_usd", raw.cash_usd, USD)?,
            sell_mined_fraction: self.num("sell_mined_fraction", raw.sell_mined_fraction, SHARE)?,
            min_cash_usd: self.num("min_cash_usd", raw.min_cash_usd, USD)?,
            reserve_floor_btc: self.num("reserve_floor_btc", raw.reserve_floor_btc, BTC)?,
            distress_buffer_usd: self.num("distress_buffer_usd", raw.distress_buffer_usd, USD)?,
        })
    }

    /// `0 < initial_ltv < margin_call_ltv <= liquidation_ltv`.
    pub(super) fn loan(&self, raw: &RawLoan, simulation: &Simulation) -> Result<Loan> {
        let initial_ltv = self.num("initial_ltv", raw.initial_ltv, LTV)?;
        let margin_call_ltv = self.above(
            "margin_call_ltv",
            raw.margin_call_ltv,
            ("initial_ltv", initial_ltv),
            true,
            LTV.hi,
        )?;
        let liquidation_ltv = self.above(
            "liquidation_ltv",
            raw.liquidation_ltv,
            ("margin_call_ltv", margin_call_ltv),
            false,
            LTV.hi,
        )?;
        let maturity = raw
            .maturity
            .as_deref()
            .map(|text| self.date("maturity", text))
            .transpose()?;
        let maturity_month = match maturity {
            Some(date) => self.month_of("maturity", date, simulation)?,
            None => None,
        };
        Ok(Loan {
            principal_usd: self.num("principal_usd", raw.principal_usd, USD)?,
            rate: self.num("rate", raw.rate, RATE)?,
            initial_ltv,
            margin_call_ltv,
            liquidation_ltv,
            liquidation_penalty: self.num("liquidation_penalty", raw.liquidation_penalty, SHARE)?,
            maturity_month,
            maturity,
        })
    }

    pub(super) fn financing(&self, raw: &RawFinancing) -> Result<Financing> {
        Ok(Financing {
            capex_debt_share: self.num("capex_debt_share", raw.capex_debt_share, SHARE)?,
            capex_debt_rate: self.num("capex_debt_rate", raw.capex_debt_rate, RATE)?,
            capex_debt_term_years: self.num(
                "capex_debt_term_years",
                raw.capex_debt_term_years,
                YEARS,
            )?,
            capex_funding: match raw.capex_funding {
                RawCapexFunding::Strict => CapexFunding::Strict,
                RawCapexFunding::Borrow => CapexFunding::Borrow,
            },
            distress_rate: self.num("distress_rate", raw.distress_rate, RATE)?,
        })
    }

    pub(super) fn valuation(&self, raw: &RawValuation) -> Result<Valuation> {
        Ok(Valuation {
            discount_rate: self.num("discount_rate", raw.discount_rate, RATE)?,
            terminal_multiple_mining: self.num(
                "terminal_multiple_mining",
                raw.terminal_multiple_mining,
                MULTIPLE,
            )?,
            terminal_multiple_ai: self.num(
                "terminal_multiple_ai",
                raw.terminal_multiple_ai,
                MULTIPLE,
            )?,
        })
    }

    /// Events with their month, sorted by date (stable).
    pub(super) fn events(
        &self,
        raw: &[RawEvent],
        simulation: &Simulation,
        loan: &Loan,
    ) -> Result<Vec<Event>> {
        let mut events = raw
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let c = self.at(&format!("events[{i}]."));
                let date = c.date("date", event.date())?;
                let month = c.month_of("date", date, simulation)?;
                let kind = match event {
                    RawEvent::SellBtc {
                        btc,
                        repay_loan,
                        price_usd,
                        ..
                    } => EventKind::SellBtc {
                        btc: c.num("btc", *btc, POSITIVE_BTC)?,
                        repay_loan: *repay_loan,
                        price_usd: c.opt_num("price_usd", *price_usd, BTC_PRICE_USD)?,
                    },
                    RawEvent::BuyBtc { usd, price_usd, .. } => EventKind::BuyBtc {
                        usd: c.num("usd", *usd, POSITIVE_USD)?,
                        price_usd: c.opt_num("price_usd", *price_usd, BTC_PRICE_USD)?,
                    },
                    RawEvent::RepayLoan { usd, .. } => EventKind::RepayLoan {
                        usd: c.num("usd", *usd, POSITIVE_USD)?,
                    },
                    RawEvent::DrawLoan { ltv, max_usd, .. } => {
                        // A lender lends at most at its initial LTV; above it
                        // the pledged collateral would exceed the reserve.
                        let initial = loan.initial_ltv;
                        let range = Range {
                            lo: Lo::Above(0.0),
                            hi: initial.min(1.0),
                        };
                        let ltv = c.num("ltv", *ltv, range).map_err(|_| {
                            c.invalid(
                                "ltv",
                                format!("expected a number in (0, loan.initial_ltv = {initial}], got {ltv}"),
                            )
                        })?;
                        EventKind::DrawLoan {
                            ltv,
                            max_usd: c.opt_num("max_usd", *max_usd, POSITIVE_USD)?,
                        }
                    }
                    RawEvent::RaiseEquity { usd, .. } => EventKind::RaiseEquity {
                        usd: c.num("usd", *usd, POSITIVE_USD)?,
                    },
                    RawEvent::CapexBudget { usd_per_year, .. } => EventKind::CapexBudget {
                        usd_per_year: c.num("usd_per_year", *usd_per_year, USD)?,
                    },
                };
                Ok(Event { date, month, kind })
            })
            .collect::<Result<Vec<_>>>()?;
        events.sort_by_key(|event| event.date);
        Ok(events)
    }
}
