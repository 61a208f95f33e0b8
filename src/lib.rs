//! pivotsim: Monte Carlo of a Bitcoin miner moving power sites to AI inference.
//!
//! The model is `docs/model.md`. The library does all the work; `main.rs`
//! only calls [`cli::main`].
//!
//! Layers, top to bottom; a module imports only from layers below it (a test
//! in `tests/integration/architecture.rs` checks that there is no cycle):
//!
//! - [`cli`]: the commands (`run`, `compare`, `replay`, `bench`, `validate`,
//!   `calibrate`, `backtest`, `optimize`, `sensitivity`, `merge`),
//!   exit codes.
//! - [`charts`], [`report`]: a [`summary::Summary`] into board-deck charts,
//!   `report.html`, JSON, CSV and the table.
//! - [`sensitivity`]: one-at-a-time sensitivity of a scenario's keys and
//!   breakevens, each point a whole run on the same paths.
//! - [`backtest`]: the hashrate equation run through history around halvings
//!   and capitulations, scored against a random walk; a scenario's market
//!   fans against the months after its start.
//! - [`optimize`]: the best setting of a policy's keys under risk limits,
//!   a grid of variants swept on the same paths, the winner re-run on
//!   another seed.
//! - [`engine`]: threads, chunks and phases of a run; merges the paths into a
//!   [`summary::Summary`]; the worst paths and the replay ledger.
//! - [`calibrate`]: the market parameters fitted to the history file
//!   (maximum likelihood, standard errors, the scenario fragment).
//! - [`history`]: the monthly BTC history file and the hashrate
//!   equation's drivers on it (for `calibrate` and `backtest`).
//! - [`sim`]: the monthly step and the replay of one policy on one path.
//! - [`policy`]: the policies (view in, requests out).
//! - [`model`]: one path's economics: calendar, market, fleet, state.
//! - [`scenario`]: TOML and CSV into a validated [`scenario::Scenario`].
//! - [`lsm`]: Longstaff-Schwartz regression for optimal stopping (bases,
//!   least squares, the backward induction, fitted rules applied out of
//!   sample) and its check, the American put against a binomial tree; knows
//!   no domain and imports no layer.
//! - [`stats`], [`kernels`], [`summary`], [`format`], [`output`]: leaves that
//!   know no layer above them (mergeable statistics, bit-exact math, the
//!   result's types, number formatting, the one file writer).

pub mod backtest;
pub mod calibrate;
pub mod charts;
pub mod cli;
pub mod engine;
pub mod format;
pub mod history;
pub mod kernels;
pub mod lsm;
pub mod model;
pub mod optimize;
pub mod output;
pub mod policy;
pub mod report;
pub mod scenario;
pub mod sensitivity;
pub mod sim;
pub mod stats;
pub mod summary;
