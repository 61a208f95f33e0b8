//! Mergeable statistics: exact moments and bounded-memory percentiles.
//! (being written)
