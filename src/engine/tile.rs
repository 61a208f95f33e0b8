//! The transposition of a tile of path rows into the chunk's sums and
//! percentile columns ([`Tile::flush`]): the AVX2 copy beside the portable
//! loop it must match bit for bit, and the test that pins them together.

use super::TILE_PATHS;

/// A full or final tile of rows (path order), each `n` metrics, the first
/// `nq` of them percentile metrics.
pub(super) struct Tile<'a> {
    pub(super) rows: &'a [f64],
    pub(super) n: usize,
    pub(super) nq: usize,
    /// Paths per column in the column buffer: metric `m`'s value of the
    /// buffer's path `j` is `cols[m * stride + j]`.
    pub(super) stride: usize,
}

impl Tile<'_> {
    /// Adds the tile's rows to the chunk's sums and sums of squares, one row
    /// after another (so the same bits as adding each path's row as it
    /// comes: each metric is its own lane, with no reassociation), and
    /// writes each percentile metric's values into its chunk column at
    /// paths `j0..`, one cache line a metric. A full tile goes through the
    /// AVX2 copy when the CPU has it (four metrics at a time, transposed in
    /// registers), the same operations in the same order.
    pub(super) fn flush(&self, sum: &mut [f64], sum_sq: &mut [f64], cols: &mut [f64], j0: usize) {
        assert!(sum.len() >= self.n && sum_sq.len() >= self.n);
        assert!(self.rows.len().is_multiple_of(self.n) && self.rows.len() <= TILE_PATHS * self.n);
        assert!(cols.len() >= self.nq * self.stride && self.nq <= self.n);
        assert!(j0 + self.rows.len() / self.n <= self.stride);
        #[cfg(target_arch = "x86_64")]
        {
            if self.rows.len() == TILE_PATHS * self.n && std::arch::is_x86_feature_detected!("avx2")
            {
                // SAFETY: the CPU has AVX2 (checked just above); the
                // lengths are checked above.
                unsafe { self.flush_avx2(sum, sum_sq, cols, j0) };
                return;
            }
        }
        self.flush_range(0..self.n, sum, sum_sq, cols, j0);
    }

    /// The portable flush of `metrics`.
    fn flush_range(
        &self,
        metrics: std::ops::Range<usize>,
        sum: &mut [f64],
        sum_sq: &mut [f64],
        cols: &mut [f64],
        j0: usize,
    ) {
        let (n, stride) = (self.n, self.stride);
        for m in metrics {
            let (mut s, mut q) = (sum[m], sum_sq[m]);
            for (i, row) in self.rows.chunks_exact(n).enumerate() {
                let x = row[m];
                s += x;
                q += x * x;
                if m < self.nq {
                    cols[m * stride + j0 + i] = x;
                }
            }
            (sum[m], sum_sq[m]) = (s, q);
        }
    }

    /// [`Tile::flush`] of a full tile with AVX2: blocks of four percentile
    /// metrics (eight rows loaded, summed in row order, transposed as two
    /// 4x4 blocks, stored as each metric's cache line), then the other
    /// metrics' sums four at a time, then the portable loop for what is
    /// left.
    ///
    /// # Safety
    /// The CPU must have AVX2, and the lengths checked in [`Tile::flush`]
    /// must hold with `rows` exactly [`TILE_PATHS`] rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn flush_avx2(&self, sum: &mut [f64], sum_sq: &mut [f64], cols: &mut [f64], j0: usize) {
        use std::arch::x86_64::*;
        let (n, nq, stride) = (self.n, self.nq, self.stride);
        let t = self.rows.as_ptr();
        let mut m = 0;
        // SAFETY (all pointer offsets below): metric indices stay below `nq`
        // (columns) or `n` (rows, sums), rows below TILE_PATHS, and paths
        // below `j0 + TILE_PATHS <= stride`, as `flush` checked.
        unsafe {
            let (ps, pq, pc) = (sum.as_mut_ptr(), sum_sq.as_mut_ptr(), cols.as_mut_ptr());
            while m + 4 <= nq {
                let mut r = [_mm256_setzero_pd(); TILE_PATHS];
                let mut s = _mm256_loadu_pd(ps.add(m));
                let mut q = _mm256_loadu_pd(pq.add(m));
                for (i, x) in r.iter_mut().enumerate() {
                    *x = _mm256_loadu_pd(t.add(i * n + m));
                    s = _mm256_add_pd(s, *x);
                    q = _mm256_add_pd(q, _mm256_mul_pd(*x, *x));
                }
                _mm256_storeu_pd(ps.add(m), s);
                _mm256_storeu_pd(pq.add(m), q);
                for half in 0..TILE_PATHS / 4 {
                    let [a, b, c, d] = [
                        r[4 * half],
                        r[4 * half + 1],
                        r[4 * half + 2],
                        r[4 * half + 3],
                    ];
                    let ab_lo = _mm256_unpacklo_pd(a, b); // a0 b0 a2 b2
                    let ab_hi = _mm256_unpackhi_pd(a, b); // a1 b1 a3 b3
                    let cd_lo = _mm256_unpacklo_pd(c, d);
                    let cd_hi = _mm256_unpackhi_pd(c, d);
                    let metric = [
                        _mm256_permute2f128_pd::<0x20>(ab_lo, cd_lo),
                        _mm256_permute2f128_pd::<0x20>(ab_hi, cd_hi),
                        _mm256_permute2f128_pd::<0x31>(ab_lo, cd_lo),
                        _mm256_permute2f128_pd::<0x31>(ab_hi, cd_hi),
                    ];
                    for (k, v) in metric.into_iter().enumerate() {
                        _mm256_storeu_pd(pc.add((m + k) * stride + j0 + 4 * half), v);
                    }
                }
                m += 4;
            }
        }
        self.flush_range(m..nq, sum, sum_sq, cols, j0);
        m = nq;
        // SAFETY: as above.
        unsafe {
            let (ps, pq) = (sum.as_mut_ptr(), sum_sq.as_mut_ptr());
            while m + 4 <= n {
                let mut s = _mm256_loadu_pd(ps.add(m));
                let mut q = _mm256_loadu_pd(pq.add(m));
                for i in 0..TILE_PATHS {
                    let x = _mm256_loadu_pd(t.add(i * n + m));
                    s = _mm256_add_pd(s, x);
                    q = _mm256_add_pd(q, _mm256_mul_pd(x, x));
                }
                _mm256_storeu_pd(ps.add(m), s);
                _mm256_storeu_pd(pq.add(m), q);
                m += 4;
            }
        }
        self.flush_range(m..n, sum, sum_sq, cols, j0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::CHUNK_PATHS;

    /// A tile's flush on the dispatched code path (AVX2 where the CPU has
    /// it) against the portable loop, bit for bit: sums, sums of squares and
    /// columns, over rows of awkward values, metric counts that leave a
    /// vector tail in the percentile metrics and in the rest, full and
    /// partial tiles, and tiles at several places in the chunk.
    #[test]
    fn tile_flush_matches_the_portable_loop_bit_for_bit() {
        let values = [
            1e308,
            -0.0,
            3.5e-310,
            f64::NAN,
            -7.25,
            f64::INFINITY,
            0.1,
            -1e-3,
        ];
        let stride = CHUNK_PATHS as usize;
        for (n, nq) in [(4 * 7 + 3, 4 * 3 + 2), (4 * 9, 4 * 5), (7, 0), (5, 5)] {
            let (mut sum, mut sum_sq) = (vec![0.0; n], vec![0.0; n]);
            let (mut want_sum, mut want_sq) = (vec![0.0; n], vec![0.0; n]);
            let mut cols = vec![0.0; nq * stride];
            let mut want_cols = vec![0.0; nq * stride];
            for (t, rows) in [(0, TILE_PATHS), (1, TILE_PATHS), (3, 5), (31, TILE_PATHS)] {
                // Mostly finite values with inexact squares (so a fused or
                // reordered sum would show), an awkward one now and then.
                let tile: Vec<f64> = (0..rows * n)
                    .map(|k| match (k * 7 + t) % 11 {
                        0 => values[(k + t) % values.len()],
                        _ => ((k * 2_654_435_761 + t) % 1_000_003) as f64 / 997.0 - 500.0,
                    })
                    .collect();
                let tile = Tile {
                    rows: &tile,
                    n,
                    nq,
                    stride,
                };
                let j0 = t * TILE_PATHS;
                tile.flush(&mut sum, &mut sum_sq, &mut cols, j0);
                tile.flush_range(0..n, &mut want_sum, &mut want_sq, &mut want_cols, j0);
                // Every path of the tile went to its column.
                for m in 0..nq {
                    for i in 0..rows {
                        let x = tile.rows[i * n + m];
                        assert_eq!(want_cols[m * stride + j0 + i].to_bits(), x.to_bits());
                    }
                }
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sum), bits(&want_sum), "n {n}, nq {nq}");
            assert_eq!(bits(&sum_sq), bits(&want_sq), "n {n}, nq {nq}");
            assert_eq!(bits(&cols), bits(&want_cols), "n {n}, nq {nq}");
        }
    }
}
