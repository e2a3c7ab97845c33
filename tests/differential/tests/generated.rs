//! The generated differential tests: see `build.rs` for the generator and how
//! it keeps every checked point away from poles and kinks, and `src/lib.rs` for
//! the checks. `NEURON_DIFF_FUNCS`, `NEURON_DIFF_SUMMING`, `NEURON_DIFF_SEED`
//! and `NEURON_DIFF_POINTS` (read by the build script) change the run; the seed is in every failure
//! message and printed by `generator_parameters` (`-- --nocapture`).

// Lints that random forward code triggers by its style (the generator writes
// whatever the contract allows): index loops, `&Vec` parameters, many
// parameters, `t += t + x`, `a - a` after shadowing, redundant or impossible
// conditions on random comparisons, arms that happen to be alike, `let t = …; t`. Every other lint stays on,
// also on the code the macro generates: clippy -D warnings must pass on it.
#![allow(
    clippy::needless_range_loop,
    clippy::ptr_arg,
    clippy::too_many_arguments,
    clippy::misrefactored_assign_op,
    clippy::eq_op,
    clippy::overly_complex_bool_expr,
    clippy::impossible_comparisons,
    clippy::redundant_comparisons,
    clippy::double_comparisons,
    clippy::nonminimal_bool,
    clippy::ifs_same_cond,
    clippy::if_same_then_else,
    clippy::manual_range_contains,
    clippy::let_and_return
)]

use neuron::{gelu, leaky_relu, relu, sigmoid, silu, softplus};
use neuron_differential::*;

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

#[test]
fn generator_parameters() {
    println!(
        "differential run: {FUNCS} functions and {SUMMING} summing ones, seed {SEED:#x}, {POINTS} points each"
    );
}
