//! Gradient elements that get exactly one contribution are assigned, not
//! added to (see `neuron-codegen/src/unique.rs`), read off the generated
//! code; the dense layer's case is in row_slices.rs. The gradients are
//! checked at run time in the root crate's tests/first_writes.rs, the dense
//! layer's tests and the differential tests.

mod common;

use common::{expand, sweeps};

/// Reads whose gradient must keep adding, and why.
const ADDED: &[(&str, &str)] = &[
    (
        "rows overlap: w[3] is read for i = 0, j = 3 and for i = 1, j = 0",
        "fn f(w: &[f64]) -> f64 { let mut s = 0.0; for i in 0..3 { for j in 0..4 { s += w[i * 3 + j].sin(); } } s }",
    ),
    (
        "read in two places",
        "fn f(w: &[f64]) -> f64 { let mut s = 0.0; for j in 0..3 { s += w[j].sin() * w[j + 1]; } s }",
    ),
    (
        "the same element in every iteration of the outer loop",
        "fn f(w: &[f64]) -> f64 { let mut s = 0.0; for _ in 0..3 { for j in 0..4 { s += w[j].sin(); } } s }",
    ),
    (
        "the inner loop's bound is known only at run time",
        "fn f(w: &[f64], n: usize) -> f64 { let mut s = 0.0; for i in 0..3 { for j in 0..n { s += w[i * 4 + j].sin(); } } s }",
    ),
    (
        "a stride that is not the inner loop's bound: rows overlap when m < n",
        "fn f(w: &[f64], n: usize, m: usize) -> f64 { let mut s = 0.0; for i in 0..3 { for j in 0..n { s += w[i * m + j].sin(); } } s }",
    ),
    (
        "an inclusive inner range: j = n reaches the next row's first element",
        "fn f(w: &[f64], n: usize) -> f64 { let mut s = 0.0; for i in 0..3 { for j in 0..=n { s += w[i * n + j].sin(); } } s }",
    ),
    (
        "an inner loop that does not start at 0",
        "fn f(w: &[f64], n: usize) -> f64 { let mut s = 0.0; for i in 0..3 { for j in 1..n { s += w[i * n + j - 1].sin(); } } s }",
    ),
    (
        "an index read from memory",
        "fn f(w: &[f64], k: &[usize]) -> f64 { let mut s = 0.0; for i in 0..3 { s += w[k[i]].sin(); } s }",
    ),
    (
        "inside a while loop",
        "fn f(w: &[f64]) -> f64 { let mut s = 0.0; let mut i = 0; while i < 3 { s += w[0].sin(); i += 1; } s }",
    ),
];

#[test]
fn other_reads_add() {
    for (why, src) in ADDED {
        let out = expand(src);
        let (_, rev) = sweeps(&out, "f");
        // The functions have no local arrays: every element write is to `d_w`.
        assert!(rev.contains("] +="), "{why}: {rev}");
        assert!(!rev.contains("] = "), "{why}: {rev}");
    }
}

#[test]
fn an_outer_loop_with_a_runtime_bound_still_assigns() {
    // Only the loop with the largest coefficient may have run-time bounds.
    let out = expand(
        "fn f(w: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for i in 0..n { for j in 0..4 { s += w[i * 4 + j].sin(); } }
            s
        }",
    );
    let (_, rev) = sweeps(&out, "f");
    assert!(rev.contains("d_w_row [j] ="), "{rev}");
    assert!(!rev.contains("] +="), "{rev}");
}

#[test]
fn rows_of_a_size_known_at_run_time_assign() {
    // `w[i * n + j]` with `j` in `0..n`: each element once, for any `n`, as
    // a layer whose sizes are arguments reads its weights.
    for (index, bound) in [
        ("i * n + j", "n"),
        ("j + n * i", "n"),
        ("i * w.len() + j", "w.len()"),
    ] {
        let out = expand(&format!(
            "fn f(w: &[f64], x: &[f64], n: usize, m: usize) -> f64 {{
                let mut s = 0.0;
                for i in 0..m {{ for j in 0..{bound} {{ s += w[{index}] * x[j]; }} }}
                s
            }}"
        ));
        let (_, rev) = sweeps(&out, "f");
        // The writes to `d_w` (by row, or at `t_3` where the bound is
        // `w.len()`, which the loop body reads again) assign.
        // (Each inside `if active & … { … }`: a caller may pass data.)
        let writes: Vec<&str> = rev
            .split(';')
            .filter_map(|st| st.rsplit('{').next())
            .map(str::trim)
            .filter(|st| st.starts_with("d_w"))
            .collect();
        assert!(!writes.is_empty(), "{index}: {rev}");
        for st in writes {
            assert!(st.contains("] =") && !st.contains("+="), "{index}: {st}");
        }
        // `x[j]` is read for every `i`: its gradient adds.
        assert!(rev.contains("d_x_row [j] +="), "{index}: {rev}");
    }
}

#[test]
fn a_local_adjoint_is_declared_by_its_first_contribution() {
    // `-0.0 + e` is `e` and `-0.0 - e` is `-e`, so `let mut d_v = -0.0;`
    // followed by `d_v -= …;` is one statement.
    let out = expand("fn f(x: f64, a: f64) -> f64 { let v = x.sin(); v * a + (a - v) }");
    let (_, rev) = sweeps(&out, "f");
    assert!(
        rev.contains("let mut d_v = - d_output ; d_v += d_output * a ;"),
        "{rev}"
    );
    // A first contribution under a branch may not happen: the zero stays.
    let out = expand(
        "fn f(x: f64, a: f64) -> f64 { let v = x.sin(); let mut s = v; if a > 0.0 { s = s * v; } s }",
    );
    let (_, rev) = sweeps(&out, "f");
    assert!(rev.contains("let mut d_v = - 0.0 ; if"), "{rev}");
    // The fused loop's reverse runs once per iteration, inside the forward
    // loop: `total`'s adjoint is declared before it, zero.
    let out = expand(
        "fn f(z: [f64; 4]) -> [f64; 4] {
            let mut e = [0.0; 4];
            let mut total = 0.0;
            for v in z.iter() { total += v.exp(); }
            for i in 0..4 { e[i] = z[i].exp() / total; }
            e
        }",
    );
    let fused = &out[out.find("fn __neuron_fused_f").expect("a fused loop")..];
    assert!(fused.contains("let mut d_total = - 0.0 ;"), "{fused}");
}
