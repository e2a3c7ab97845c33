//! The reverse of a loop that reads an array at an index the loop does not
//! change (`h[j]` in a loop over `k`) adds to that element's adjoint in a
//! scalar, taken before the loop and stored back after it (see
//! `reverse::hold_elements`): the same additions in the same order, without
//! a load and a store of `d_h[j]` in every iteration. Read off the generated
//! code; the gradients of such loops are checked at run time by the root
//! crate's tests (the jammed loops, the skip_inactive twins, the fused
//! network with run-time sizes) and the differential tests.

mod common;

use common::{expand, sweeps};

#[test]
fn an_element_the_inner_loop_reads_every_iteration_is_summed_in_a_scalar() {
    let out = expand(
        "fn f(h: &[f64], w: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for j in 0..n {
                for k in 0..3 { s += (h[j] * w[j * 3 + k]).sin(); }
            }
            s
        }",
    );
    let (_, rev) = sweeps(&out, "f");
    let rev = rev.replace(' ', "");
    let take = rev
        .find("letmutd_h_j=d_h[j];")
        .unwrap_or_else(|| panic!("{rev}"));
    let add = rev.find("d_h_j+=").unwrap_or_else(|| panic!("{rev}"));
    let give = rev.find("d_h[j]=d_h_j;").unwrap_or_else(|| panic!("{rev}"));
    assert!(take < add && add < give, "{rev}");
    assert!(!rev.contains("d_h[j]+="), "{rev}");
}

/// Loops whose reads keep adding to the array's adjoint, and why.
const KEPT: &[(&str, &str)] = &[
    (
        "a second index of the same array, which may be the same element",
        "fn f(h: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for j in 0..n { for k in 0..3 { s += h[j] * h[k]; } }
            s
        }",
    ),
    (
        "the index changes in the loop",
        "fn f(h: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for j in 0..n { for k in 0..3 { s += (h[j + k]).sin(); } }
            s
        }",
    ),
    (
        "a loop that may not run, from a start that is not 0",
        "fn f(h: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for j in 0..3 { for k in 1..n { s += (h[j] * k as f64).sin(); } }
            s
        }",
    ),
];

#[test]
fn what_keeps_its_additions_in_the_array() {
    for (why, src) in KEPT {
        let out = expand(src);
        let (_, rev) = sweeps(&out, "f");
        assert!(!rev.replace(' ', "").contains("letmutd_h_"), "{why}: {rev}");
    }
}
