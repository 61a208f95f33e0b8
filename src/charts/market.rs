//! Chart 6: the sampled market (BTC price, hashprice, GPU-hour price, AI
//! demand) as fans, so a reader can judge the assumptions behind every other
//! chart. The market is shared by all policies, so it is drawn in a neutral
//! colour.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::*;
use crate::format::thousands;
use crate::summary::{MarketMonth, Stats, Summary};

pub const TITLE: &str =
    "Market assumptions: sampled BTC price, hashprice, GPU-hour price, AI demand";

struct Series {
    title: &'static str,
    desc: &'static str,
    get: fn(&MarketMonth) -> Stats,
    money: bool,
}

const SERIES: [Series; 4] = [
    Series {
        title: "BTC price",
        desc: "USD per BTC",
        get: |m| m.btc_price_usd,
        money: true,
    },
    Series {
        title: "Hashprice",
        desc: "USD per PH/s per day",
        get: |m| m.hashprice_usd_per_ph_day,
        money: true,
    },
    Series {
        title: "GPU-hour price",
        desc: "USD per GPU-hour",
        get: |m| m.gpu_hour_usd,
        money: true,
    },
    Series {
        title: "AI demand",
        desc: "MW of IT load",
        get: |m| m.ai_demand_mw_it,
        money: false,
    },
];

pub fn draw<DB: DrawingBackend>(s: &Summary, root: &DrawingArea<DB, Shift>) -> ChartResult<(), DB> {
    let footer = footer(s);
    let body = frame(
        root,
        &Frame {
            title: TITLE,
            subtitle: "Value in each month across simulated paths; the same market paths drive every policy.",
            legend: &fan_legend(NEUTRAL),
            footer: &footer,
        },
    )?;
    let dates = dates(s);
    for (series, area) in SERIES.iter().zip(panel_grid(&body, SERIES.len())) {
        let stats: Vec<Stats> = s.market.months.iter().map(series.get).collect();
        let (lo, hi) = fan_extent(&stats);
        let y_range = padded(lo, hi, true);
        let money = MoneyAxis::for_range(y_range.0, y_range.1);
        let fmt = |y: &f64| {
            if series.money {
                money.fmt(*y)
            } else {
                thousands(*y, 0)
            }
        };
        let panel = MonthPanel {
            title: series.title,
            title_color: INK,
            dates: &dates,
            y_range,
            y_fmt: &fmt,
            y_desc: Some(series.desc),
            halvings: &s.halvings,
        };
        let mut chart = month_panel(&area, &panel)?;
        draw_fan(&mut chart, &stats, NEUTRAL, true)?;
        mark_halvings(&mut chart, &panel)?;
    }
    Ok(())
}
