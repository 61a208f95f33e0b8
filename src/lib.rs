//! pivotsim: Monte Carlo of a Bitcoin miner moving power sites to AI inference.
//!
//! The model is `docs/model.md` (after `MODEL.md` of the design). The library
//! does all the work; `main.rs` only parses arguments.

pub mod scenario;
pub mod stats;
