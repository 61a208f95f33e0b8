//! One path's economics, with no threads and no policy: the calendar
//! (months, days, halvings), the market (the sampled factors of a path), the
//! fleet and each site's mining and AI economics, one path's mining table,
//! annuities, and the state a month starts from (sites, treasury balances).

pub mod calendar;
pub mod factors;
pub mod finance;
pub mod fleet;
pub mod market;
pub mod mining;
pub mod state;
