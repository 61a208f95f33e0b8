//! The treasury's steps of a month (`docs/model.md`, the monthly step): each
//! a function of the rules, the month's BTC price `s`, the treasury and the
//! month's flows, applied in this order by [`crate::sim::Model`]:
//!
//! 0. [`event`]: scheduled sales, purchases, loan repayments and draws,
//!    equity raises;
//! 1. (the policy's requests, in `sim::step1`);
//! 2. [`mining_proceeds`]: BTC mined into the reserve, a share sold;
//! 3. [`cash_flows`]: AI and mining costs, capex, debt service, interest;
//! 4. [`fund`]: cash back to its floor from free BTC, else distress debt;
//!    then [`sell_to_target_ltv`], the standing rule, if the scenario has it;
//! 5. [`covenant`]: liquidation, or a margin call;
//! 6. [`maturity`]: the loan repaid in full at its maturity month;
//! 7. [`repair`]: distress debt repaid from cash above floor and buffer.
//!
//! Every function writes what it moved into [`MonthFlows`] (each flow
//! non-negative) so that the ledger can print it and the tests check it.

use crate::model::mining::FleetMining;
use crate::model::state::TreasuryState;
use crate::scenario::EventKind;

use super::flows::MonthFlows;
use super::rules::Rules;

/// Step 0: one scheduled event at BTC price `s`.
#[inline(always)]
pub(crate) fn event(
    kind: &EventKind,
    r: &Rules,
    s: f64,
    tr: &mut TreasuryState,
    fl: &mut MonthFlows,
) {
    match *kind {
        EventKind::SellBtc {
            btc,
            repay_loan,
            price_usd,
        } => {
            let price = price_usd.unwrap_or(s);
            let sold = btc.min(tr.reserve_btc);
            let proceeds = sold * price;
            tr.reserve_btc -= sold;
            let repay = if repay_loan {
                proceeds.min(tr.loan_usd)
            } else {
                0.0
            };
            tr.loan_usd -= repay;
            tr.cash_usd += proceeds - repay;
            fl.event_sale_btc += sold;
            fl.event_sale_usd += proceeds;
            fl.event_loan_repayment_usd += repay;
            fl.event_cash_in_usd += proceeds - repay;
        }
        EventKind::BuyBtc { usd, price_usd } => {
            let price = price_usd.unwrap_or(s);
            let spend = usd.min(r.spendable_cash_usd(tr.cash_usd));
            let bought = spend / price;
            tr.cash_usd -= spend;
            tr.reserve_btc += bought;
            fl.event_buy_btc += bought;
            fl.event_buy_usd += spend;
        }
        EventKind::RepayLoan { usd } => {
            let repay = usd.min(tr.loan_usd).min(r.spendable_cash_usd(tr.cash_usd));
            tr.cash_usd -= repay;
            tr.loan_usd -= repay;
            fl.event_repay_loan_usd += repay;
        }
        EventKind::DrawLoan { ltv, max_usd } => {
            let headroom = (ltv * tr.reserve_btc * s - tr.loan_usd).max(0.0);
            let draw = max_usd.map_or(headroom, |m| m.min(headroom));
            tr.loan_usd += draw;
            tr.cash_usd += draw;
            fl.event_loan_drawn_usd += draw;
        }
        EventKind::RaiseEquity { usd } => {
            tr.cash_usd += usd;
            fl.event_equity_usd += usd;
        }
        // A condition of step 1 (the capex budget in force), no flow.
        EventKind::CapexBudget { .. } => {}
    }
}

/// Step 2: the fleet's mining this month; the BTC mined goes into the
/// reserve and the share `sell_mined_fraction` of it is sold at `s`.
#[inline(always)]
pub(crate) fn mining_proceeds(
    r: &Rules,
    s: f64,
    mining: &FleetMining,
    tr: &mut TreasuryState,
    fl: &mut MonthFlows,
) {
    fl.btc_mined = mining.btc_mined;
    fl.mining_revenue_usd = mining.revenue_usd;
    fl.mining_power_usd = mining.power_usd;
    fl.mining_idle_power_usd = mining.idle_power_usd;
    fl.mining_opex_usd = mining.opex_usd;
    tr.reserve_btc += fl.btc_mined;
    fl.mined_sold_btc = fl.btc_mined * r.sell_mined_fraction;
    fl.mined_sold_usd = fl.mined_sold_btc * s;
    tr.reserve_btc -= fl.mined_sold_btc;
    tr.cash_usd += fl.mined_sold_usd;
}

/// Step 3: the month's cash flows. `fl` holds the month's AI revenue and
/// costs and its mining costs already; `installments_usd` is the capex due
/// from the conversions under way (its equity share paid in cash, its debt
/// share borrowed as project debt) and `payment_usd` the project-debt
/// service due (interest on the balance, the rest principal).
#[inline(always)]
pub(crate) fn cash_flows(
    r: &Rules,
    installments_usd: f64,
    payment_usd: f64,
    tr: &mut TreasuryState,
    fl: &mut MonthFlows,
) {
    fl.capex_usd = installments_usd;
    fl.capex_equity_usd = r.equity_share * installments_usd;
    fl.capex_debt_usd = r.debt_share * installments_usd;
    fl.project_debt_interest_usd = tr.project_debt_usd * r.debt_rate_monthly;
    fl.project_debt_principal_usd = payment_usd - fl.project_debt_interest_usd;
    fl.loan_interest_usd = tr.loan_usd * r.loan_rate_monthly;
    fl.distress_interest_usd = tr.distress_usd * r.distress_rate_monthly;
    tr.cash_usd += fl.ai_revenue_usd
        - fl.mining_power_usd
        - fl.mining_opex_usd
        - fl.ai_power_usd
        - fl.ai_opex_usd
        - fl.capex_equity_usd
        - payment_usd
        - fl.loan_interest_usd
        - fl.distress_interest_usd;
    tr.project_debt_usd += fl.capex_debt_usd - fl.project_debt_principal_usd;
}

/// Step 4: cash below `min_cash_usd` is brought back to it by selling free
/// BTC (above the loan's collateral) at `s`; what that cannot cover is
/// borrowed as distress debt (a distress month).
#[inline(always)]
pub(crate) fn fund(r: &Rules, s: f64, tr: &mut TreasuryState, fl: &mut MonthFlows) {
    if tr.cash_usd >= r.min_cash_usd {
        return;
    }
    let need = r.min_cash_usd - tr.cash_usd;
    let free = tr.free_btc(s, r.initial_ltv);
    if free * s >= need {
        fl.funding_sale_btc = need / s;
        fl.funding_sale_usd = need;
    } else {
        fl.funding_sale_btc = free;
        fl.funding_sale_usd = free * s;
        fl.distress_borrowed_usd = need - fl.funding_sale_usd;
        fl.distress_month = true;
    }
    tr.reserve_btc -= fl.funding_sale_btc;
    tr.distress_usd += fl.distress_borrowed_usd;
    tr.cash_usd = r.min_cash_usd;
}

/// Step 4b: the standing rule `sell_to_target_ltv`: with a loan and LTV
/// above the trigger, BTC is sold at `s` to repay the loan down to the
/// target LTV.
#[inline(always)]
pub(crate) fn sell_to_target_ltv(r: &Rules, s: f64, tr: &mut TreasuryState, fl: &mut MonthFlows) {
    if let Some(rule) = r.sell_to_target_ltv
        && tr.loan_usd > 0.0
        && tr.ltv(s) > rule.trigger_ltv
    {
        let (btc, usd) = tr.sell_to_ltv(s, rule.target_ltv);
        fl.target_ltv_sale_btc = btc;
        fl.target_ltv_sale_usd = usd;
    }
}

/// Step 5: the loan's covenant at `s`. At or above the liquidation LTV the
/// lender sells the reserve for the loan plus its penalty; a deficiency is
/// paid from spendable cash, the rest becomes distress debt. Else, at or
/// above the margin-call LTV, the loan is repaid back to the initial LTV,
/// from spendable cash first, then by selling BTC.
#[inline(always)]
pub(crate) fn covenant(r: &Rules, s: f64, tr: &mut TreasuryState, fl: &mut MonthFlows) {
    let ltv = tr.ltv(s);
    if tr.loan_usd > 0.0 && ltv >= r.liquidation_ltv {
        let owed = tr.loan_usd * (1.0 + r.liquidation_penalty);
        let sold = tr.reserve_btc.min(owed / s);
        let proceeds = if sold < tr.reserve_btc {
            owed
        } else {
            sold * s
        };
        let deficiency = owed - proceeds;
        let from_cash = deficiency.min(r.spendable_cash_usd(tr.cash_usd));
        fl.liquidation = true;
        fl.liquidation_sale_btc = sold;
        fl.liquidation_sale_usd = proceeds;
        fl.liquidation_loan_closed_usd = tr.loan_usd;
        fl.liquidation_penalty_usd = owed - tr.loan_usd;
        fl.liquidation_deficiency_cash_usd = from_cash;
        fl.liquidation_deficiency_distress_usd = deficiency - from_cash;
        tr.reserve_btc -= sold;
        tr.loan_usd = 0.0;
        tr.cash_usd -= from_cash;
        tr.distress_usd += deficiency - from_cash;
        if deficiency - from_cash > 0.0 {
            fl.distress_month = true;
        }
    } else if tr.loan_usd > 0.0 && ltv >= r.margin_call_ltv {
        fl.margin_call = true;
        let target = r.initial_ltv * tr.reserve_btc * s;
        let cash = (tr.loan_usd - target).min(r.spendable_cash_usd(tr.cash_usd));
        tr.cash_usd -= cash;
        tr.loan_usd -= cash;
        fl.margin_call_cash_usd = cash;
        if tr.loan_usd > target {
            let (btc, usd) = tr.sell_to_ltv(s, r.initial_ltv);
            fl.margin_call_sale_btc = btc;
            fl.margin_call_sale_usd = usd;
        }
    }
}

/// Step 6: in the loan's maturity month `t`, the loan is repaid in full:
/// from spendable cash, then by selling BTC at `s`; what is still owed
/// becomes distress debt.
#[inline(always)]
pub(crate) fn maturity(r: &Rules, s: f64, t: usize, tr: &mut TreasuryState, fl: &mut MonthFlows) {
    if r.maturity_month != Some(t) || tr.loan_usd <= 0.0 {
        return;
    }
    let cash = tr.loan_usd.min(r.spendable_cash_usd(tr.cash_usd));
    tr.cash_usd -= cash;
    tr.loan_usd -= cash;
    fl.maturity_cash_usd = cash;
    if tr.loan_usd > 0.0 {
        let x = tr.reserve_btc.min(tr.loan_usd / s);
        let usd = if x < tr.reserve_btc {
            tr.loan_usd
        } else {
            x * s
        };
        tr.reserve_btc -= x;
        tr.loan_usd -= usd;
        fl.maturity_sale_btc = x;
        fl.maturity_sale_usd = usd;
    }
    if tr.loan_usd > 0.0 {
        fl.maturity_distress_usd = tr.loan_usd;
        tr.distress_usd += tr.loan_usd;
        fl.distress_month = true;
    }
    tr.loan_usd = 0.0;
}

/// Step 7: distress debt repaid from the cash above the floor and the
/// distress buffer.
#[inline(always)]
pub(crate) fn repair(r: &Rules, tr: &mut TreasuryState, fl: &mut MonthFlows) {
    let excess = tr.cash_usd - r.min_cash_usd - r.distress_buffer_usd;
    if excess > 0.0 && tr.distress_usd > 0.0 {
        let repay = tr.distress_usd.min(excess);
        tr.cash_usd -= repay;
        tr.distress_usd -= repay;
        fl.distress_repaid_usd = repay;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::SellToTargetLtv;
    use crate::sim::rules::tests::rules;

    fn treasury(reserve_btc: f64, cash_usd: f64, loan_usd: f64) -> TreasuryState {
        TreasuryState {
            reserve_btc,
            cash_usd,
            loan_usd,
            ..TreasuryState::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn margin_call_repays_to_the_initial_ltv_from_cash_then_btc() {
        let r = rules();
        // LTV 75 / (100 * 1) = 0.75: above 0.70, below 0.85.
        let mut tr = treasury(100.0, 15.0, 75.0);
        let mut fl = MonthFlows::default();
        covenant(&r, 1.0, &mut tr, &mut fl);
        assert!(fl.margin_call && !fl.liquidation);
        // Spendable cash 5 goes first; then x BTC with 70 - x = 0.5 (100 - x).
        assert_eq!(fl.margin_call_cash_usd, 5.0);
        assert!(close(fl.margin_call_sale_btc, 40.0), "{fl:?}");
        assert!(close(tr.ltv(1.0), 0.5));
        assert_eq!(tr.cash_usd, 10.0);
        assert!(close(tr.reserve_btc, 60.0));
    }

    #[test]
    fn liquidation_with_a_deficiency_takes_spendable_cash_then_distress_debt() {
        let r = rules();
        // LTV 95 / 100 >= 0.85; owed 95 * 1.05 = 99.75 > the reserve's 90 at s = 0.9... use s = 1: 100 BTC
        // cover it. Take s = 0.5: reserve worth 50, LTV 1.9.
        let mut tr = treasury(100.0, 30.0, 95.0);
        let mut fl = MonthFlows::default();
        covenant(&r, 0.5, &mut tr, &mut fl);
        assert!(fl.liquidation && !fl.margin_call);
        assert_eq!(fl.liquidation_sale_btc, 100.0);
        assert_eq!(fl.liquidation_sale_usd, 50.0);
        assert!(close(fl.liquidation_penalty_usd, 4.75));
        let deficiency = 99.75 - 50.0;
        assert_eq!(fl.liquidation_deficiency_cash_usd, 20.0);
        assert!(close(
            fl.liquidation_deficiency_distress_usd,
            deficiency - 20.0
        ));
        assert!(fl.distress_month);
        assert_eq!((tr.reserve_btc, tr.loan_usd, tr.cash_usd), (0.0, 0.0, 10.0));
        assert!(close(tr.distress_usd, deficiency - 20.0));
    }

    #[test]
    fn liquidation_covered_by_the_reserve_leaves_the_rest() {
        let r = rules();
        let mut tr = treasury(100.0, 30.0, 90.0);
        let mut fl = MonthFlows::default();
        covenant(&r, 1.0, &mut tr, &mut fl);
        assert!(fl.liquidation && !fl.distress_month);
        assert_eq!(fl.liquidation_sale_usd, 90.0 * 1.05);
        assert!(close(tr.reserve_btc, 100.0 - 94.5));
        assert_eq!(
            (tr.loan_usd, tr.cash_usd, tr.distress_usd),
            (0.0, 30.0, 0.0)
        );
    }

    #[test]
    fn below_the_margin_call_nothing_moves() {
        let r = rules();
        let mut tr = treasury(100.0, 30.0, 69.0);
        let before = tr;
        let mut fl = MonthFlows::default();
        covenant(&r, 1.0, &mut tr, &mut fl);
        assert_eq!(tr, before);
        assert_eq!(fl, MonthFlows::default());
    }

    #[test]
    fn maturity_repays_from_cash_then_btc_then_distress() {
        let r = rules();
        // Cash 40 (30 spendable), then 20 BTC at s = 2 (all of it: 40 USD),
        // then 60 - 30 - 40 ... loan 100: 30 cash, 40 from BTC, 30 distress.
        let mut tr = treasury(20.0, 40.0, 100.0);
        let mut fl = MonthFlows::default();
        maturity(&r, 2.0, 11, &mut tr, &mut fl);
        assert_eq!(fl, MonthFlows::default(), "not the maturity month");
        maturity(&r, 2.0, 12, &mut tr, &mut fl);
        assert_eq!(fl.maturity_cash_usd, 30.0);
        assert_eq!((fl.maturity_sale_btc, fl.maturity_sale_usd), (20.0, 40.0));
        assert_eq!(fl.maturity_distress_usd, 30.0);
        assert!(fl.distress_month);
        assert_eq!(
            (tr.reserve_btc, tr.cash_usd, tr.loan_usd, tr.distress_usd),
            (0.0, 10.0, 0.0, 30.0)
        );
    }

    #[test]
    fn maturity_with_enough_btc_sells_just_the_rest() {
        let r = rules();
        let mut tr = treasury(100.0, 10.0, 50.0);
        let mut fl = MonthFlows::default();
        maturity(&r, 2.0, 12, &mut tr, &mut fl);
        assert_eq!(fl.maturity_cash_usd, 0.0);
        assert_eq!((fl.maturity_sale_btc, fl.maturity_sale_usd), (25.0, 50.0));
        assert!(!fl.distress_month);
        assert_eq!((tr.reserve_btc, tr.loan_usd), (75.0, 0.0));
    }

    #[test]
    fn repair_repays_distress_from_cash_above_floor_and_buffer() {
        let r = rules();
        let mut tr = TreasuryState {
            cash_usd: 40.0,
            distress_usd: 100.0,
            ..TreasuryState::default()
        };
        let mut fl = MonthFlows::default();
        repair(&r, &mut tr, &mut fl);
        // 40 - 10 floor - 5 buffer = 25.
        assert_eq!(fl.distress_repaid_usd, 25.0);
        assert_eq!((tr.cash_usd, tr.distress_usd), (15.0, 75.0));
        // Nothing above floor and buffer: nothing repaid.
        let mut fl = MonthFlows::default();
        repair(&r, &mut tr, &mut fl);
        assert_eq!(fl.distress_repaid_usd, 0.0);
    }

    #[test]
    fn funding_sells_free_btc_then_borrows_distress() {
        let r = rules();
        // Loan 50 at s = 1 pledges 50 / (1 * 0.5) = 100 BTC: 20 of 120 are free.
        let mut tr = treasury(120.0, -40.0, 50.0);
        let mut fl = MonthFlows::default();
        fund(&r, 1.0, &mut tr, &mut fl);
        // Needs 50: 20 from free BTC, 30 distress.
        assert_eq!((fl.funding_sale_btc, fl.funding_sale_usd), (20.0, 20.0));
        assert_eq!(fl.distress_borrowed_usd, 30.0);
        assert!(fl.distress_month);
        assert_eq!(
            (tr.reserve_btc, tr.cash_usd, tr.distress_usd),
            (100.0, 10.0, 30.0)
        );
        // Enough free BTC: a sale only.
        let mut tr = treasury(200.0, 0.0, 50.0);
        let mut fl = MonthFlows::default();
        fund(&r, 2.0, &mut tr, &mut fl);
        assert_eq!((fl.funding_sale_btc, fl.funding_sale_usd), (5.0, 10.0));
        assert!(!fl.distress_month);
    }

    #[test]
    fn the_standing_rule_sells_to_its_target_above_its_trigger() {
        let mut r = rules();
        r.sell_to_target_ltv = Some(SellToTargetLtv {
            trigger_ltv: 0.6,
            target_ltv: 0.4,
        });
        let mut tr = treasury(100.0, 10.0, 65.0);
        let mut fl = MonthFlows::default();
        sell_to_target_ltv(&r, 1.0, &mut tr, &mut fl);
        assert!(close(tr.ltv(1.0), 0.4));
        assert!(close(fl.target_ltv_sale_btc, 25.0 / 0.6));
        let mut tr = treasury(100.0, 10.0, 60.0);
        let mut fl = MonthFlows::default();
        sell_to_target_ltv(&r, 1.0, &mut tr, &mut fl);
        assert_eq!(fl.target_ltv_sale_btc, 0.0, "at the trigger, not above it");
    }

    #[test]
    fn cash_flows_split_capex_and_debt_service() {
        let r = rules();
        let mut tr = TreasuryState {
            cash_usd: 1000.0,
            loan_usd: 100.0,
            project_debt_usd: 200.0,
            distress_usd: 50.0,
            ..TreasuryState::default()
        };
        let mut fl = MonthFlows {
            ai_revenue_usd: 300.0,
            ai_power_usd: 20.0,
            ai_opex_usd: 10.0,
            mining_power_usd: 30.0,
            mining_opex_usd: 5.0,
            ..MonthFlows::default()
        };
        cash_flows(&r, 80.0, 12.0, &mut tr, &mut fl);
        assert_eq!((fl.capex_equity_usd, fl.capex_debt_usd), (20.0, 60.0));
        assert_eq!(fl.project_debt_interest_usd, 2.0);
        assert_eq!(fl.project_debt_principal_usd, 10.0);
        assert_eq!(
            (fl.loan_interest_usd, fl.distress_interest_usd),
            (10.0, 1.0)
        );
        assert_eq!(
            tr.cash_usd,
            1000.0 + 300.0 - 30.0 - 5.0 - 20.0 - 10.0 - 20.0 - 12.0 - 10.0 - 1.0
        );
        assert_eq!(tr.project_debt_usd, 200.0 + 60.0 - 10.0);
    }

    #[test]
    fn events_move_cash_btc_and_loan() {
        let r = rules();
        let mut tr = treasury(100.0, 50.0, 40.0);
        let mut fl = MonthFlows::default();
        let sale = EventKind::SellBtc {
            btc: 30.0,
            repay_loan: true,
            price_usd: Some(2.0),
        };
        event(&sale, &r, 1.0, &mut tr, &mut fl);
        // 60 USD: 40 repay the loan, 20 to cash.
        assert_eq!(
            (tr.reserve_btc, tr.loan_usd, tr.cash_usd),
            (70.0, 0.0, 70.0)
        );
        assert_eq!(fl.event_loan_repayment_usd, 40.0);
        event(
            &EventKind::BuyBtc {
                usd: 100.0,
                price_usd: None,
            },
            &r,
            2.0,
            &mut tr,
            &mut fl,
        );
        // Only the 60 above the floor is spent.
        assert_eq!((fl.event_buy_usd, fl.event_buy_btc), (60.0, 30.0));
        event(
            &EventKind::DrawLoan {
                ltv: 0.5,
                max_usd: Some(10.0),
            },
            &r,
            1.0,
            &mut tr,
            &mut fl,
        );
        assert_eq!((tr.loan_usd, fl.event_loan_drawn_usd), (10.0, 10.0));
        event(
            &EventKind::RepayLoan { usd: 100.0 },
            &r,
            1.0,
            &mut tr,
            &mut fl,
        );
        assert_eq!((tr.loan_usd, tr.cash_usd), (0.0, 10.0));
        event(
            &EventKind::RaiseEquity { usd: 7.0 },
            &r,
            1.0,
            &mut tr,
            &mut fl,
        );
        assert_eq!(tr.cash_usd, 17.0);
    }
}
