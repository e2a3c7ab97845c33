//! An accumulation `m[i] = m[i] + e` (what `m[i] += e` lowers to) leaves
//! `d_m[i]` as it is in its reverse: the store would clear it and the load
//! give it back (see `neuron-codegen/src/accumulation.rs`). Read off the
//! generated code; the gradients are checked at run time by every test of
//! the root crate that accumulates, and by the differential tests.

mod common;

use common::{expand, sweeps};

/// The reverse sweep of `f` in `src`, without spaces.
fn reverse(src: &str) -> String {
    let (_, rev) = sweeps(&expand(src), "f");
    rev.replace(' ', "")
}

#[test]
fn an_accumulation_leaves_the_adjoint_element() {
    let rev = reverse(
        "fn f(w: &[f64]) -> f64 {
            let mut z = [w[6], w[7], w[8]];
            for k in 0..3 { z[k] += w[k] * w[k + 3]; }
            let mut s = 0.0;
            for k in 0..3 { s = s + z[k].sin(); }
            s
        }",
    );
    assert!(rev.contains("=d_z[k];"), "{rev}");
    assert!(!rev.contains("d_z[k]=-0.0"), "{rev}");
    assert!(!rev.contains("d_z[k]+="), "{rev}");
    // The scalar accumulator too.
    assert!(!rev.contains("d_s=-0.0"), "{rev}");
}

/// Stores that are not accumulations, and why: each keeps its reset. (`z`
/// starts from the parameters, so its adjoint is read after the loop, and
/// `unique::first_stores` does not apply.)
const RESET: &[(&str, &str)] = &[
    (
        "the old value is scaled: its partial is not 1",
        "fn f(w: &[f64]) -> f64 { let mut z = [w[0], w[1], w[2]]; for k in 0..3 { z[k] = z[k] * w[k]; } z[0] + z[1] + z[2] }",
    ),
    (
        "the old value is subtracted from: its partial is -1",
        "fn f(w: &[f64]) -> f64 { let mut z = [w[0], w[1], w[2]]; for k in 0..3 { z[k] = w[k] - z[k]; } z[0] + z[1] + z[2] }",
    ),
    (
        "another element is read",
        "fn f(w: &[f64]) -> f64 { let mut z = [w[0], w[1], w[2]]; for k in 0..3 { z[k] = z[0] + w[k]; } z[0] + z[1] + z[2] }",
    ),
    (
        "the old value is read again",
        "fn f(w: &[f64]) -> f64 { let mut z = [w[0], w[1], w[2]]; for k in 0..3 { let o = z[k]; z[k] = o + w[k] * o; } z[0] + z[1] + z[2] }",
    ),
    (
        "the array is written between the load and the store",
        "fn f(w: &[f64]) -> f64 { let mut z = [w[0], w[1], w[2]]; for k in 0..3 { let o = z[k]; z[0] = w[k]; z[k] = o + w[k]; } z[0] + z[1] + z[2] }",
    ),
];

#[test]
fn other_stores_reset_the_adjoint_element() {
    for (why, src) in RESET {
        let rev = reverse(src);
        assert!(rev.contains("=-0.0;"), "{why}: {rev}");
    }
}
