//! Integration tests, built as one binary (as ripgrep does): closed forms and
//! hand checks of the model, invariants of the monthly step, determinism of
//! the engine, the command line, the replay ledger, the treasury events,
//! the output folder's set of files, `optimize` and `sensitivity` against
//! separate runs, EVPI, CVaR and drivers against direct computations.

mod architecture;
mod backtest;
mod bounds;
mod calibrate;
mod cli;
mod common;
// The CSV exporters' column check, shared with their unit tests.
#[path = "../../src/report/csv_check.rs"]
mod csv_check;
mod determinism;
mod fuzz;
mod golden;
mod invariants;
mod ledger;
mod lsm;
mod model;
mod optimize;
mod output_set;
mod sensitivity;
mod tails;
mod treasury;
