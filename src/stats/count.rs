//! The inner kernels of a column count, each fast path beside its portable
//! definition and tested against it bit for bit: the first pass over a
//! block of values ([`classify`]: every value's zone code among a metric's
//! window bounds, the values left to the second pass, the counts of the gap
//! codes; AVX2 where the CPU has it, else [`classify_generic`]) and the
//! second pass's scan of four f32 edges ([`scan_f32`]; SSE on x86-64, else
//! `scan_f32_generic`).

use super::layout::GRID_SCAN;

/// Values per block of a column count (a block's indices fit a `u8`).
pub(super) const BLOCK: usize = 256;

/// Which zone codes the second pass takes, and in which of its two lists:
/// [`INSIDE`] for a value in a window (an odd number of bounds below it),
/// [`OUTSIDE`] for one below the first bound (or NaN) or at or above the
/// last. The others are in a gap and counted by code.
const PENDING_CODE: [u8; 22] = {
    let mut t = [0; 22];
    let mut code = 0;
    while code < 22 {
        let c = code / 2;
        t[code] = if c % 2 == 1 {
            INSIDE
        } else if c == 0 || c == 10 {
            OUTSIDE
        } else {
            0
        };
        code += 1;
    }
    t
};
/// [`PENDING_CODE`] of a value in a window.
const INSIDE: u8 = 1;
/// [`PENDING_CODE`] of a value outside the outer bounds (or NaN).
const OUTSIDE: u8 = 2;

/// The codes of the gap zones, counted in the first pass: for the gaps
/// `c = 2, 4, 6, 8`, the code `2c` (inside the gap) then `2c + 1` (equal
/// to the bound just below it).
const GAP_CODES: [u8; 8] = [4, 5, 8, 9, 12, 13, 16, 17];

/// One block's first pass (scratch reused from block to block).
pub(super) struct Pass1 {
    /// Zone code of every value of the block ([`zone_codes_generic`]).
    pub(super) codes: [u8; BLOCK],
    /// Indices (ascending) of the values in a window, left to the second
    /// pass, in `inside[..n_inside]`; 4 spare bytes let the vector loop
    /// store four candidates at a time.
    pub(super) inside: [u8; BLOCK + 4],
    pub(super) n_inside: usize,
    /// Likewise, the values outside the outer bounds (or NaN). Kept apart
    /// so that the second pass does not branch on which kind a value is,
    /// and tracks the extremes only for these.
    pub(super) outside: [u8; BLOCK + 4],
    pub(super) n_outside: usize,
    /// The cells of the values in `inside`, in order (scratch of the
    /// second pass; a metric has fewer than 2^16 cells).
    pub(super) found: [u16; BLOCK],
}

impl Pass1 {
    pub(super) fn new() -> Pass1 {
        Pass1 {
            codes: [0; BLOCK],
            inside: [0; BLOCK + 4],
            n_inside: 0,
            outside: [0; BLOCK + 4],
            n_outside: 0,
            found: [0; BLOCK],
        }
    }

    /// Appends, of the values `range` (codes already set), those of a
    /// pending code to their list, one at a time without a branch.
    #[inline(always)]
    fn push_pending(&mut self, range: std::ops::Range<usize>) {
        for i in range {
            let kind = PENDING_CODE[self.codes[i] as usize];
            self.inside[self.n_inside] = i as u8;
            self.n_inside += usize::from(kind == INSIDE);
            self.outside[self.n_outside] = i as u8;
            self.n_outside += usize::from(kind == OUTSIDE);
        }
    }
}

/// Pass 1 of a column count over one block (at most [`BLOCK`] values): the
/// zone code of every value, the indices of the values the second pass
/// takes ([`PENDING_CODE`]), and the counts of the gap codes
/// ([`GAP_CODES`], in that order), returned.
///
/// On x86-64 a copy compiled for AVX2 is used when the CPU has it: the same
/// compares four values at a time, with the pending indices stored through
/// a table of the 16 lane masks instead of one value at a time. Same codes,
/// same indices in the same order, same counts (a test checks it).
#[inline]
pub(super) fn classify(bounds: &[f64; 10], block: &[f64], out: &mut Pass1) -> [u32; 8] {
    assert!(block.len() <= BLOCK);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { classify_avx2(bounds, block, out) };
        }
    }
    classify_generic(bounds, block, out)
}

/// The portable [`classify`]: the definition.
fn classify_generic(bounds: &[f64; 10], block: &[f64], out: &mut Pass1) -> [u32; 8] {
    let n = block.len();
    zone_codes_generic(bounds, block, &mut out.codes[..n]);
    out.n_inside = 0;
    out.n_outside = 0;
    out.push_pending(0..n);
    count_gap_codes(&out.codes[..n])
}

/// Per lane mask of four values (bit `l` set: value `l` is pending), the
/// set lanes' indices packed into the low bytes, ascending, and how many.
const PACKED_LANES: [(u32, usize); 16] = {
    let mut t = [(0u32, 0usize); 16];
    let mut mask = 0;
    while mask < 16 {
        let (mut packed, mut n, mut lane) = (0u32, 0usize, 0);
        while lane < 4 {
            if mask & (1 << lane) != 0 {
                packed |= (lane as u32) << (8 * n);
                n += 1;
            }
            lane += 1;
        }
        t[mask] = (packed, n);
        mask += 1;
    }
    t
};

/// [`classify_generic`] four values at a time: ten `vcmppd` whose masks are
/// summed, five for the atom test, the four codes packed to bytes, and the
/// pending lanes as two 4-bit masks: inside (odd count) and outside (none
/// below, or all ten below).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn classify_avx2(bounds: &[f64; 10], block: &[f64], out: &mut Pass1) -> [u32; 8] {
    use std::arch::x86_64::*;
    let n = block.len().min(BLOCK);
    let b: [__m256d; 10] = std::array::from_fn(|k| _mm256_set1_pd(bounds[k]));
    // Byte 0 of each 64-bit lane to bytes 0 and 1 of its 128-bit half.
    let pick = _mm256_setr_epi8(
        0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, //
        0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    );
    let (mut n_inside, mut n_outside) = (0, 0);
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= block.len().
        let x = unsafe { _mm256_loadu_pd(block.as_ptr().add(i)) };
        // -1 where b <= x (false for NaN).
        let le = |k: usize| _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_LE_OQ>(b[k], x));
        let (le0, le9) = (le(0), le(9));
        // The masks summed (each -1 where true), negated: the count.
        let minus_below = _mm256_add_epi64(
            _mm256_add_epi64(
                _mm256_add_epi64(_mm256_add_epi64(le0, le(1)), _mm256_add_epi64(le(2), le(3))),
                _mm256_add_epi64(
                    _mm256_add_epi64(le(4), le(5)),
                    _mm256_add_epi64(le(6), le(7)),
                ),
            ),
            _mm256_add_epi64(le(8), le9),
        );
        let below = _mm256_sub_epi64(_mm256_setzero_si256(), minus_below);
        let eq = |k: usize| _mm256_cmp_pd::<_CMP_EQ_OQ>(x, b[k]);
        let atom = _mm256_or_pd(
            _mm256_or_pd(_mm256_or_pd(eq(1), eq(3)), _mm256_or_pd(eq(5), eq(7))),
            eq(9),
        );
        let code = _mm256_sub_epi64(_mm256_add_epi64(below, below), _mm256_castpd_si256(atom));
        let packed = _mm256_shuffle_epi8(code, pick);
        let lo = _mm_extract_epi16::<0>(_mm256_castsi256_si128(packed)) as u16;
        let hi = _mm_extract_epi16::<0>(_mm256_extracti128_si256::<1>(packed)) as u16;
        out.codes[i..i + 2].copy_from_slice(&lo.to_le_bytes());
        out.codes[i + 2..i + 4].copy_from_slice(&hi.to_le_bytes());
        // Pending: an odd count (the low bit, moved to the sign), none of
        // the bounds below (or NaN), or all ten.
        let odd = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_slli_epi64::<63>(below)));
        let none = !_mm256_movemask_pd(_mm256_castsi256_pd(le0)) & 0xf;
        let all = _mm256_movemask_pd(_mm256_castsi256_pd(le9));
        // Each byte is at most 3 + i <= 255: adding i to every byte never carries.
        let base = (i as u32) * 0x0101_0101;
        let (lanes, count) = PACKED_LANES[(odd & 0xf) as usize];
        out.inside[n_inside..n_inside + 4].copy_from_slice(&(lanes + base).to_le_bytes());
        n_inside += count;
        let (lanes, count) = PACKED_LANES[((none | all) & 0xf) as usize];
        out.outside[n_outside..n_outside + 4].copy_from_slice(&(lanes + base).to_le_bytes());
        n_outside += count;
        i += 4;
    }
    zone_codes_generic(bounds, &block[i..n], &mut out.codes[i..n]);
    out.n_inside = n_inside;
    out.n_outside = n_outside;
    out.push_pending(i..n);
    count_gap_codes(&out.codes[..n])
}

/// How many of `codes` (at most [`BLOCK`]) equal each of [`GAP_CODES`].
/// Counted in byte lanes over runs of 128 codes (no lane passes 128), which
/// the compiler vectorises.
#[inline(always)]
fn count_gap_codes(codes: &[u8]) -> [u32; 8] {
    let mut counts = [0u32; 8];
    for run in codes.chunks(128) {
        for (count, &code) in counts.iter_mut().zip(&GAP_CODES) {
            let n = run
                .iter()
                .fold(0u8, |n, &c| n.wrapping_add(u8::from(c == code)));
            *count += u32::from(n);
        }
    }
    counts
}

/// The zone code of every value, `2 c + a`, where
/// `c` is how many of the ten window bounds are `<= x` (0 for NaN) and `a`
/// is 1 if `x` equals one of the windows' upper bounds. For a value in a gap
/// (`c` even, 2 to 8) that is exactly "x equals the bound just below it", the
/// atom of that bound: if `x` equals an upper bound `b_k`, then `c >= k + 1`,
/// and `c > k + 1` only if the next bounds equal `x` too, the last of which
/// below `x` is then an upper bound equal to `x`.
#[inline(always)]
fn zone_codes_generic(bounds: &[f64; 10], block: &[f64], codes: &mut [u8]) {
    for (code, &x) in codes.iter_mut().zip(block) {
        let mut below = 0u64;
        for &b in bounds {
            below += u64::from(b <= x);
        }
        let mut atom = 0u64;
        for &b in bounds.iter().skip(1).step_by(2) {
            atom |= u64::from(x == b);
        }
        *code = (2 * below + atom) as u8;
    }
}

/// How many of the four `edges` are `<= x`, and whether any equals `x`.
/// On x86-64 two SSE compares (baseline, no detection needed) and their
/// lane masks; elsewhere `scan_f32_generic`, the definition (a test
/// checks that the two agree).
#[inline(always)]
pub(super) fn scan_f32(edges: &[f32; GRID_SCAN], x: f32) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        const _: () = assert!(GRID_SCAN == 4);
        // Bits set in a 4-bit mask (`popcnt` is not in the baseline).
        const ONES: [u8; 16] = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];
        // SAFETY: SSE is part of the x86-64 baseline; `edges` is four f32.
        unsafe {
            let e = _mm_loadu_ps(edges.as_ptr());
            let x = _mm_set1_ps(x);
            let below = ONES[(_mm_movemask_ps(_mm_cmple_ps(e, x)) & 0xf) as usize];
            let tie = _mm_movemask_ps(_mm_cmpeq_ps(e, x)) != 0;
            (usize::from(below), tie)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scan_f32_generic(edges, x)
    }
}

/// The portable [`scan_f32`]: the definition.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn scan_f32_generic(edges: &[f32; GRID_SCAN], x: f32) -> (usize, bool) {
    let below = edges.iter().filter(|&&e| e <= x).count();
    (below, edges.contains(&x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testdata::{normal, rng, shuffle};
    use rand::RngExt;

    #[test]
    fn first_pass_matches_its_definition_on_every_code_path() {
        // The dispatching `classify` (AVX2 where the CPU has it) and the
        // portable one must give every value the code its definition says,
        // leave exactly the values of the pending codes to the second pass
        // (ascending), and count the gap codes, on bounds with ties (point
        // masses), signed zeros and non-finite probes, at every length (the
        // vector loop's tail included).
        let bound_sets: [[f64; 10]; 6] = [
            [-5.0, -4.0, -1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 3.0, 3.0],
            [-0.0, 0.0, 0.0, 1e-300, 1.0, 1.0, 1.0, 1.0, 7.5, 1e300],
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            // One lower bound equal to the upper bound below it, one upper
            // bound equal to its window's lower bound.
            [1.0, 2.0, 2.0, 4.0, 5.0, 5.0, 7.0, 8.0, 9.0, 10.0],
            [2.5; 10],
            [
                f64::NEG_INFINITY,
                -1.0,
                0.0,
                1.0,
                2.0,
                3.0,
                4.0,
                5.0,
                6.0,
                f64::INFINITY,
            ],
        ];
        let mut r = rng(21);
        let mut gap_codes_seen = [0u32; 8];
        for bounds in &bound_sets {
            let mut probes: Vec<f64> = bounds
                .iter()
                .flat_map(|&b| {
                    let bits = b.to_bits();
                    [
                        f64::from_bits(bits.wrapping_sub(1)),
                        b,
                        f64::from_bits(bits + 1),
                    ]
                })
                .collect();
            probes.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0]);
            probes.extend((0..200).map(|_| 4.0 * normal(&mut r)));
            // A full block with every value in one gap code: the byte-lane
            // counts must not wrap.
            let full = vec![bounds[3] + 0.5 * (bounds[4] - bounds[3]).abs(); BLOCK];
            shuffle(&mut probes, &mut r);
            probes.truncate(BLOCK);
            let lens = [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, probes.len()];
            let blocks = lens.iter().map(|&len| &probes[..len]).chain([&full[..]]);
            for block in blocks {
                let len = block.len();
                // Every code path this CPU can run: the dispatcher's choice,
                // the portable definition, and the vector kernel directly.
                let mut runs: Vec<(Pass1, [u32; 8])> = Vec::new();
                let mut run = |f: &dyn Fn(&mut Pass1) -> [u32; 8]| {
                    let mut p = Pass1::new();
                    let gaps = f(&mut p);
                    runs.push((p, gaps));
                };
                run(&|p| classify(bounds, block, p));
                run(&|p| classify_generic(bounds, block, p));
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    run(&|p| unsafe { classify_avx2(bounds, block, p) });
                }
                let mut want_codes = Vec::new();
                let (mut want_inside, mut want_outside) = (Vec::new(), Vec::new());
                let mut want_gaps = [0u32; 8];
                for (i, &x) in block.iter().enumerate() {
                    let below = bounds.iter().filter(|&&b| b <= x).count();
                    let atom = bounds.iter().skip(1).step_by(2).any(|&b| b == x);
                    let code = 2 * below + usize::from(atom);
                    want_codes.push(code as u8);
                    match PENDING_CODE[code] {
                        INSIDE => want_inside.push(i as u8),
                        OUTSIDE => want_outside.push(i as u8),
                        _ => {}
                    }
                    if let Some(g) = GAP_CODES.iter().position(|&c| c as usize == code) {
                        want_gaps[g] += 1;
                    }
                }
                for (got, gaps) in &runs {
                    let gaps = *gaps;
                    assert_eq!(
                        &got.codes[..len],
                        &want_codes[..],
                        "bounds {bounds:?}, len {len}"
                    );
                    assert_eq!(&got.inside[..got.n_inside], &want_inside[..], "len {len}");
                    assert_eq!(
                        &got.outside[..got.n_outside],
                        &want_outside[..],
                        "len {len}"
                    );
                    assert_eq!(gaps, want_gaps, "bounds {bounds:?}, len {len}");
                }
                for (seen, n) in gap_codes_seen.iter_mut().zip(want_gaps) {
                    *seen += n;
                }
            }
        }
        // Every gap code, and every kind of pending value, was exercised.
        assert!(gap_codes_seen.iter().all(|&n| n > 0), "{gap_codes_seen:?}");
    }

    /// The SSE scan of four f32 edges gives its definition's count and tie
    /// flag: on ascending edges with ties and +inf padding (as the window
    /// scan reads them), on edges in any order, and on probes at, beside
    /// and between them: signed zeros, subnormals, infinities and NaN.
    #[test]
    fn scan_f32_matches_its_definition() {
        let mut r = rng(53);
        let pool = [
            f32::NEG_INFINITY,
            -1e30,
            -2.5,
            -1e-40,
            -0.0,
            0.0,
            1e-45,
            1.0,
            1.0 + f32::EPSILON,
            3.0,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
        ];
        let mut edge_sets: Vec<[f32; GRID_SCAN]> = vec![
            [1.0, 2.0, 3.0, 4.0],
            [1.0, 1.0, 1.0, 1.0],
            [-0.0, 0.0, 0.0, 5.0],
            [2.0, f32::INFINITY, f32::INFINITY, f32::INFINITY],
            [f32::INFINITY; GRID_SCAN],
        ];
        for _ in 0..500 {
            let mut edges: [f32; GRID_SCAN] =
                std::array::from_fn(|_| pool[r.random_range(0..pool.len())]);
            if r.random::<bool>() {
                edges.sort_unstable_by(f32::total_cmp);
            }
            edge_sets.push(edges);
        }
        for edges in &edge_sets {
            let beside = edges.iter().flat_map(|&e| {
                let b = e.to_bits();
                [
                    f32::from_bits(b.wrapping_sub(1)),
                    e,
                    f32::from_bits(b.wrapping_add(1)),
                ]
            });
            let random = (0..20).map(|_| 4.0 * normal(&mut r) as f32);
            let probes: Vec<f32> = beside.chain(pool).chain(random).collect();
            for x in probes {
                assert_eq!(
                    scan_f32(edges, x),
                    scan_f32_generic(edges, x),
                    "edges {edges:?}, x {x:e}"
                );
            }
        }
    }
}
