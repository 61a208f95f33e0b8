//! Bit-exact math that the results depend on, each beside its portable
//! definition and tested against it: the monthly exponentials of a market
//! path (the algorithm of glibc's `exp`, so the bits match across builds).

pub mod expm;
