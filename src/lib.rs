//! pivotsim: Monte Carlo of a Bitcoin miner moving power sites to AI inference.
//!
//! The model is `docs/model.md` (after `MODEL.md` of the design). The library
//! does all the work; `main.rs` only parses arguments.
//!
//! Flow of a run: [`scenario::load`] validates a TOML file into a
//! [`scenario::Scenario`]; [`engine::Engine`] samples market paths
//! ([`market`]), evaluates the fleet's mining ([`fleet`]), replays every
//! policy ([`policy`]) through the one monthly step ([`sim`]), and merges
//! the paths into a [`summary::Summary`] ([`stats`]); [`report`] turns it
//! into JSON, CSV and a table, [`charts`] and [`html`] into board-deck charts
//! and `report.html` (gathered by [`deck`]), and [`output`] writes the files.
//! [`compare`] runs several scenario files side by side.

pub mod bench;
pub mod calendar;
pub mod charts;
pub mod cli;
pub mod compare;
pub mod deck;
pub mod engine;
pub mod expm;
pub mod fleet;
pub mod format;
pub mod html;
pub mod ledger;
pub mod market;
pub mod output;
pub mod policy;
pub mod report;
pub mod scenario;
pub mod select;
pub mod sim;
pub mod stats;
pub mod summary;
pub mod worst;
