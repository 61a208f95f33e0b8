//! The aggregates as plain data, to be stored (a shard of a run) and read
//! back onto the same layout: a histogram's counts and extremes
//! ([`HistogramCounts`]), the per-cell sums ([`CellSumsData`]), and a
//! fingerprint of a layout's bins, so that counts are never read onto
//! other bins.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::histograms::QuantileHistograms;
use super::layout::QuantileLayout;
use super::tails::CellSums;

/// A [`QuantileHistograms`]' counts (every cell, in layout order) and its
/// per-metric extremes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramCounts {
    pub counts: Vec<u32>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

/// A [`CellSums`]' metrics, sums and overflow flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSumsData {
    pub metrics: Vec<usize>,
    pub sums: Vec<Vec<i128>>,
    pub overflow: bool,
}

impl QuantileLayout {
    /// SHA-256 (hex) of the bins: every metric's edge count and edges' bits.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update((self.n_metrics as u64).to_le_bytes());
        for m in 0..self.n_metrics {
            let edges = self.edges(m);
            h.update((edges.len() as u64).to_le_bytes());
            for e in edges {
                h.update(e.to_bits().to_le_bytes());
            }
        }
        format!("{:x}", h.finalize())
    }
}

impl QuantileHistograms {
    /// The counts and extremes, as data.
    pub fn to_counts(&self) -> HistogramCounts {
        HistogramCounts {
            counts: self
                .counts
                .iter()
                .zip(&self.recent)
                .map(|(&a, &b)| a + u32::from(b))
                .collect(),
            min: self.min.clone(),
            max: self.max.clone(),
        }
    }

    /// Histograms on `layout` holding `data`; an error if `data` has
    /// another number of cells or metrics.
    pub fn from_counts(
        layout: Arc<QuantileLayout>,
        data: HistogramCounts,
    ) -> Result<QuantileHistograms, String> {
        let mut h = QuantileHistograms::new(layout);
        let n = h.layout().n_metrics();
        if data.counts.len() != h.counts.len() || data.min.len() != n || data.max.len() != n {
            return Err(format!(
                "histograms of {} cells and {} metrics, expected {} and {n}",
                data.counts.len(),
                data.min.len(),
                h.counts.len()
            ));
        }
        h.counts = data.counts;
        h.min = data.min;
        h.max = data.max;
        Ok(h)
    }
}

impl CellSums {
    /// The sums, as data.
    pub fn to_data(&self) -> CellSumsData {
        CellSumsData {
            metrics: self.metrics.clone(),
            sums: self.sums.clone(),
            overflow: self.overflow,
        }
    }

    /// Sums on `layout` holding `data`; an error if its metrics or cells do
    /// not fit the layout.
    pub fn from_data(layout: Arc<QuantileLayout>, data: CellSumsData) -> Result<CellSums, String> {
        let mut s = CellSums::new(layout, data.metrics.clone());
        let fits = s.sums.len() == data.sums.len()
            && s.sums
                .iter()
                .zip(&data.sums)
                .all(|(a, b)| a.len() == b.len());
        if !fits {
            return Err("per-cell sums of another layout".into());
        }
        s.sums = data.sums;
        s.overflow = data.overflow;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testdata::{layout_for, sample_rows};

    /// Counts and sums written out and read back onto the layout are the
    /// same histograms and sums; a layout's fingerprint tells its bins.
    #[test]
    fn counts_and_sums_round_trip() {
        let rows = sample_rows(5000, 7);
        let layout = layout_for(&rows, 1000);
        let mut h = QuantileHistograms::new(layout.clone());
        let mut s = CellSums::new(layout.clone(), vec![0, 2]);
        for row in &rows {
            h.insert_row(row);
            s.insert(0, &row[0..1]);
            s.insert(1, &row[2..3]);
        }
        let back = QuantileHistograms::from_counts(layout.clone(), h.to_counts()).unwrap();
        assert!(back == h);
        let sums = CellSums::from_data(layout.clone(), s.to_data()).unwrap();
        assert_eq!(sums, s);
        let other = layout_for(&sample_rows(5000, 8), 1000);
        assert_ne!(layout.fingerprint(), other.fingerprint());
        let mut short = h.to_counts();
        short.counts.pop();
        assert!(QuantileHistograms::from_counts(layout, short).is_err());
    }
}
