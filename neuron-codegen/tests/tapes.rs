//! How the reverse sweep gets back the values a loop computed, read off the
//! generated code: where tapes are indexed by the loop variable and where
//! by a counter, and which values are saved rather than recomputed. The
//! gradients are checked at run time by the root crate's tests (control
//! flow, loops, the differential functions).

mod common;

use common::{expand, sweeps};

#[test]
fn a_top_level_loop_with_literal_bounds_reads_its_tape_at_the_loop_variable() {
    let out = expand(
        "fn f(x: [f64; 4]) -> f64 { let mut p = 1.0; for i in 0..4 { p = p * x[i].sin(); } p }",
    );
    let (forward, reverse) = sweeps(&out, "f");
    // The old `p` of each iteration: written and read at slot `i`, no counter.
    assert!(forward.contains("[0.0 ; 4usize]"), "{forward}");
    assert!(forward.contains("[i as usize] = "), "{forward}");
    assert!(reverse.contains("[i as usize]"), "{reverse}");
    assert!(!out.contains("tape_len"), "{out}");
}

#[test]
fn a_lower_bound_other_than_zero_is_subtracted() {
    let out = expand(
        "fn f(x: [f64; 4]) -> f64 { let mut p = 1.0; for i in 1..4 { p = p * x[i].sin(); } p }",
    );
    assert!(out.contains("[(i - 1) as usize]"), "{out}");
    assert!(!out.contains("tape_len"), "{out}");
}

#[test]
fn a_top_level_loop_up_to_a_run_time_bound_reads_its_tape_at_the_loop_variable() {
    // The tape is a `Vec` sized to the loop before it and written at slot
    // `i`, where the reverse finds iteration `i`'s value, as under a literal
    // bound: no counter, and no push with its capacity check.
    let out = expand(
        "fn f(x: &[f64], n: usize) -> f64 { let mut p = 1.0; for i in 0..n { p = p * x[i].sin(); } p }",
    );
    let (forward, reverse) = sweeps(&out, "f");
    let sized = "tape_t . resize ((0 .. n) . size_hint () . 0 , 0.0) ;";
    assert!(forward.contains(sized), "{forward}");
    assert!(forward.contains("tape_t [i as usize] = t ;"), "{forward}");
    assert!(!forward.contains("push"), "{forward}");
    assert!(reverse.contains("[i as usize]"), "{reverse}");
    assert!(!out.contains("tape_len"), "{out}");
}

#[test]
fn a_scalar_let_mut_of_a_run_time_loop_is_saved_at_the_loop_variable_too() {
    // `z`, a `let mut` summed in an inner loop, is saved once per iteration
    // of the loop over `i` for the ReLU's reverse: like a value's tape, its
    // `Vec` is sized before the loop and written at slot `i`.
    let out = expand(
        "fn f(w: &[f64], x: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for i in 0..n {
                let mut z = 0.0;
                for j in 0..x.len() { z += w[i * x.len() + j] * x[j]; }
                s += relu(z);
            }
            s
        }",
    );
    let (forward, reverse) = sweeps(&out, "f");
    let sized = "tape_z . resize ((0 .. n) . size_hint () . 0 , 0.0) ;";
    assert!(forward.contains(sized), "{forward}");
    assert!(forward.contains("tape_z [i as usize] = z ;"), "{forward}");
    assert!(!forward.contains("push"), "{forward}");
    assert!(
        reverse.contains("let z = tape_z [i as usize] ;"),
        "{reverse}"
    );
}

/// Loops whose tapes keep a counter, and why.
const COUNTED: &[(&str, &str)] = &[
    (
        "a loop up to a run-time bound inside another loop: its tape holds the iterations of both",
        "fn f(x: &[f64], n: usize) -> f64 { let mut p = 1.0; for _ in 0..n { for i in 0..x.len() { p = p * x[i].sin(); } } p }",
    ),
    (
        "the loop runs backwards",
        "fn f(x: [f64; 4]) -> f64 { let mut p = 1.0; for i in (0..4).rev() { p = p * x[i].sin(); } p }",
    ),
    (
        "an inner loop's tape holds the iterations of both loops",
        "fn f(x: [f64; 4]) -> f64 { let mut p = 1.0; for _ in 0..3 { for i in 0..4 { p = p * x[i].sin(); } } p }",
    ),
];

#[test]
fn other_loops_count_their_iterations() {
    for (why, src) in COUNTED {
        let out = expand(src);
        assert!(out.contains("tape_len"), "{why}: {out}");
    }
}

#[test]
fn a_chain_of_float_operations_is_saved_once_not_redone() {
    // The ReLU's input is five loads and four operations away from what the
    // reverse sweep has at hand: saved.
    let out = expand(
        "fn f(w: &[f64], x: [f64; 2]) -> f64 {
            let mut s = 0.0;
            for j in 0..8 { s += ::neuron::relu(x[0] * w[j] + x[1] * w[8 + j] + w[16 + j]); }
            s
        }",
    );
    let (_, reverse) = sweeps(&out, "f");
    assert!(!reverse.contains("x [0] * w [j]"), "{reverse}");
    assert!(reverse.contains("[j as usize]"), "{reverse}");
}

#[test]
fn one_operation_on_values_at_hand_is_redone_not_saved() {
    // `x[i] * x[i]` needs only `x[i]`, which the reverse sweep reads anyway
    // (it is the partial of the product): recomputed, nothing saved.
    let out = expand(
        "fn f(x: &[f64]) -> f64 {
            let mut p = 1.0;
            for i in 0..x.len() { p = p * (x[i] * x[i]).sin(); }
            p
        }",
    );
    let (_, reverse) = sweeps(&out, "f");
    // (Read through the row `&x[..n]`, see `row_slices.rs`.)
    assert!(reverse.contains("x_row [i] * x_row [i]"), "{reverse}");
}
