//! Edge numbers that the first version of the macro got wrong, kept as
//! regression tests:
//!
//! - `x.max(y)` / `x.min(y)` with a NaN argument: Rust's `max`/`min` return the
//!   other argument, so the whole gradient goes to that one.
//! - `x.abs()` at NaN: the gradient is NaN, as IEEE propagation gives.
//! - `-0.0` is a zero: `sqrt'(-0.0)` and `ln'(-0.0)` are `+inf`, the
//!   convention at zero.
//! - `x.powf(0.0)` and `x.powi(0)` are constant: their gradient at `x = 0` is 0,
//!   not `0 · inf`.
//! - A loop over literal bounds whose inclusive end is `u64::MAX`: its trip
//!   count does not fit in a `u64`. Computing it overflowed, a panic in the
//!   macro (or, with overflow unchecked, a tape of 0 elements that the loop
//!   wrote past); it is now a trip count known only at run time.

use neuron::differentiate;

const NAN: f64 = f64::NAN;

#[differentiate]
fn max2(x: f64, y: f64) -> f64 {
    x.max(y)
}

#[differentiate]
fn min2(x: f64, y: f64) -> f64 {
    x.min(y)
}

#[differentiate]
fn abs1(x: f64) -> f64 {
    x.abs()
}

#[differentiate]
fn sqrt1(x: f64) -> f64 {
    x.sqrt()
}

#[differentiate]
fn ln1(x: f64) -> f64 {
    x.ln()
}

#[differentiate]
fn powf2(x: f64, p: f64) -> f64 {
    x.powf(p)
}

#[differentiate]
fn powi1(x: f64, k: i32) -> f64 {
    x.powi(k)
}

/// `x` squared by a loop that runs once, at the largest `usize` (on a
/// 64-bit target).
#[cfg(target_pointer_width = "64")]
#[differentiate]
fn at_the_top(x: f64) -> f64 {
    let mut s = x;
    for _ in 18446744073709551615..=18446744073709551615usize {
        s *= x;
    }
    s
}

#[cfg(target_pointer_width = "64")]
#[test]
fn a_loop_ending_at_the_largest_integer_runs_once() {
    assert_eq!(at_the_top(3.0), 9.0);
    assert_eq!(at_the_top_backward(3.0, 1.0), 6.0);
    assert_eq!(at_the_top_backward(-1.5, 2.0), -6.0);
}

#[test]
fn max_with_a_nan_argument_sends_the_gradient_to_the_value_it_returns() {
    // max(1, NaN) = 1: the value is the first argument's.
    assert_eq!(max2(1.0, NAN), 1.0);
    let (v, (dx, dy)) = max2_value_and_backward(1.0, NAN, 1.0);
    assert_eq!(v, 1.0);
    assert_eq!((dx, dy), (1.0, 0.0), "max(1, NaN)");
}

#[test]
fn min_with_a_nan_argument_sends_the_gradient_to_the_value_it_returns() {
    assert_eq!(min2(1.0, NAN), 1.0);
    let (v, (dx, dy)) = min2_value_and_backward(1.0, NAN, 1.0);
    assert_eq!(v, 1.0);
    assert_eq!((dx, dy), (1.0, 0.0), "min(1, NaN)");
}

#[test]
fn abs_of_nan_has_a_nan_gradient() {
    assert!(abs1(NAN).is_nan());
    let g = abs1_backward(NAN, 1.0);
    assert!(g.is_nan(), "abs'(NaN) = {g}");
}

#[test]
fn sqrt_and_ln_at_minus_zero_follow_the_convention_at_zero() {
    assert_eq!((sqrt1(-0.0), ln1(-0.0)), (0.0, f64::NEG_INFINITY));
    assert_eq!(sqrt1_backward(-0.0, 1.0), f64::INFINITY, "sqrt'(-0.0)");
    assert_eq!(ln1_backward(-0.0, 1.0), f64::INFINITY, "ln'(-0.0)");
}

#[test]
fn zeroth_power_of_zero_has_zero_gradient() {
    assert_eq!(powf2(0.0, 0.0), 1.0);
    assert_eq!(powf2_backward(0.0, 0.0, 1.0).0, 0.0, "d/dx x.powf(0) at 0");
    assert_eq!(powi1(0.0, 0), 1.0);
    assert_eq!(powi1_backward(0.0, 0, 1.0), 0.0, "d/dx x.powi(0) at 0");
}
