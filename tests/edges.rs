//! Edge numbers: the conventions at the kinks and singular points, asserted
//! exactly, and NaN / ±inf inputs, which must flow through the backward pass
//! by the IEEE rules of the partials' formulas (and never panic).
//!
//! Conventions: relu'(0) = 0, |x|'(0) = 0, ties of max/min send the gradient
//! to the second argument, sqrt'(0) = +inf, ln'(0) = +inf, and for x.powf(p)
//! at x = 0: d/dx = p 0^(p-1) (0 for p = 2, 1 for p = 1) and d/dp = 0; for a
//! negative base d/dp is NaN.

use neuron::{differentiate, leaky_relu, relu, sigmoid, softplus};

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

#[differentiate]
fn relu1(x: f64) -> f64 {
    relu(x)
}

#[differentiate]
fn max0(x: f64) -> f64 {
    x.max(0.0)
}

#[differentiate]
fn abs1(x: f64) -> f64 {
    x.abs()
}

#[differentiate]
fn max2(x: f64, y: f64) -> f64 {
    x.max(y)
}

#[differentiate]
fn min2(x: f64, y: f64) -> f64 {
    x.min(y)
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
fn square(x: f64) -> f64 {
    x * x
}

#[differentiate]
fn exp1(x: f64) -> f64 {
    x.exp()
}

#[differentiate]
fn tanh1(x: f64) -> f64 {
    x.tanh()
}

#[differentiate]
fn sigmoid1(x: f64) -> f64 {
    sigmoid(x)
}

#[differentiate]
fn softplus1(x: f64) -> f64 {
    softplus(x)
}

#[differentiate]
fn leaky2(x: f64, a: f64) -> f64 {
    leaky_relu(x, a)
}

#[differentiate]
fn mul2(x: f64, y: f64) -> f64 {
    x * y
}

#[differentiate]
fn div2(x: f64, y: f64) -> f64 {
    x / y
}

#[differentiate]
fn recip1(x: f64) -> f64 {
    x.recip()
}

#[differentiate]
fn sqrt_f32(x: f32) -> f32 {
    x.sqrt()
}

#[differentiate]
fn relu_f32(x: f32) -> f32 {
    relu(x)
}

#[differentiate]
fn sum_sq(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

#[differentiate]
fn guarded(x: f64) -> f64 {
    let mut y = x;
    let mut k = 0;
    while y > 1.0 && k < 10 {
        y *= 0.5;
        k += 1;
    }
    if y > 0.0 {
        y * x
    } else {
        -x
    }
}

// ---------------------------------------------------------------------------
// Conventions at kinks and singular points.

#[test]
fn relu_at_zero_is_zero() {
    assert_eq!(relu1_backward(0.0, 1.0), 0.0);
    assert_eq!(relu1_backward(-0.0, 1.0), 0.0);
    assert_eq!(relu_f32_backward(0.0, 1.0), 0.0);
    // `x.max(0.0)` is the same function: the tie goes to the constant.
    assert_eq!(max0_backward(0.0, 1.0), 0.0);
    // Either side of the kink.
    assert_eq!(relu1_backward(1e-300, 3.0), 3.0);
    assert_eq!(relu1_backward(-1e-300, 3.0), 0.0);
}

#[test]
fn abs_at_zero_is_zero() {
    assert_eq!(abs1_backward(0.0, 1.0), 0.0);
    assert_eq!(abs1_backward(-0.0, 1.0), 0.0);
    assert_eq!(abs1_backward(1e-300, 2.0), 2.0);
    assert_eq!(abs1_backward(-1e-300, 2.0), -2.0);
}

#[test]
fn max_and_min_ties_go_to_the_second_argument() {
    assert_eq!(max2_value_and_backward(1.5, 1.5, 2.0), (1.5, (0.0, 2.0)));
    assert_eq!(min2_value_and_backward(1.5, 1.5, 2.0), (1.5, (0.0, 2.0)));
    assert_eq!(max2_backward(0.0, -0.0, 1.0), (0.0, 1.0));
    assert_eq!(min2_backward(-0.0, 0.0, 1.0), (0.0, 1.0));
    // Off the tie, the larger (smaller) argument gets it all.
    assert_eq!(max2_backward(2.0, 1.0, 1.0), (1.0, 0.0));
    assert_eq!(max2_backward(1.0, 2.0, 1.0), (0.0, 1.0));
    assert_eq!(min2_backward(2.0, 1.0, 1.0), (0.0, 1.0));
    assert_eq!(min2_backward(1.0, 2.0, 1.0), (1.0, 0.0));
}

#[test]
fn sqrt_at_zero_is_plus_infinity() {
    assert_eq!(sqrt1_value_and_backward(0.0, 1.0), (0.0, INF));
    assert_eq!(sqrt_f32_backward(0.0, 1.0), f32::INFINITY);
    // A zero upstream gradient times an infinite partial is NaN (IEEE).
    assert!(sqrt1_backward(0.0, 0.0).is_nan());
}

#[test]
fn ln_at_zero_has_gradient_plus_infinity() {
    assert_eq!(ln1_value_and_backward(0.0, 1.0), (-INF, INF));
    assert_eq!(ln1_backward(0.0, 2.0), INF);
}

#[test]
fn powf_with_a_zero_base() {
    // d/dx x^2 = 2x = 0, d/dp 0^p = 0 by convention.
    assert_eq!(powf2_value_and_backward(0.0, 2.0, 1.0), (0.0, (0.0, 0.0)));
    // d/dx x^1 = 1.
    assert_eq!(powf2_value_and_backward(0.0, 1.0, 1.0), (0.0, (1.0, 0.0)));
    // d/dx x^0.5 = 0.5 x^-0.5 = +inf.
    assert_eq!(powf2_backward(0.0, 0.5, 1.0), (INF, 0.0));
    // d/dp at 0 is 0 for other exponents too.
    assert_eq!(powf2_backward(0.0, 3.5, 1.0).1, 0.0);
}

#[test]
fn powf_with_a_negative_base() {
    // (-2)^2 = 4: d/dx = 2 (-2) = -4, d/dp = 4 ln(-2) = NaN.
    let (v, (dx, dp)) = powf2_value_and_backward(-2.0, 2.0, 1.0);
    assert_eq!(v, 4.0);
    assert_eq!(dx, -4.0);
    assert!(dp.is_nan());
    // (-8)^3 = -512: d/dx = 3 * 64 = 192.
    let (dx, dp) = powf2_backward(-8.0, 3.0, 1.0);
    assert_eq!(dx, 192.0);
    assert!(dp.is_nan());
    // A non-integer power of a negative base is NaN, and so is its gradient.
    let (dx, dp) = powf2_backward(-2.0, 0.5, 1.0);
    assert!(dx.is_nan() && dp.is_nan());
}

// ---------------------------------------------------------------------------
// NaN and infinities.

#[test]
fn nan_inputs_give_nan_gradients_through_smooth_ops() {
    assert!(square_backward(NAN, 1.0).is_nan());
    assert!(exp1_backward(NAN, 1.0).is_nan());
    assert!(tanh1_backward(NAN, 1.0).is_nan());
    assert!(sigmoid1_backward(NAN, 1.0).is_nan());
    assert!(softplus1_backward(NAN, 1.0).is_nan());
    assert!(sqrt1_backward(NAN, 1.0).is_nan());
    assert!(ln1_backward(NAN, 1.0).is_nan());
    assert!(recip1_backward(NAN, 1.0).is_nan());
    let (v, g) = sum_sq_value_and_backward(&[1.0, NAN, 2.0], 1.0);
    assert!(v.is_nan());
    assert_eq!(g[0], 2.0);
    assert!(g[1].is_nan());
    assert_eq!(g[2], 4.0);
    // Each partial of a product is the other factor.
    let (dx, dy) = mul2_backward(NAN, 0.0, 1.0);
    assert_eq!(dx, 0.0);
    assert!(dy.is_nan());
    let (dx, dy) = div2_backward(NAN, 2.0, 1.0);
    assert_eq!(dx, 0.5);
    assert!(dy.is_nan());
}

#[test]
fn nan_at_a_kink_takes_the_else_branch_of_the_convention() {
    // relu'(x) is 1 only for x > 0: NaN gets 0, like torch.
    assert_eq!(relu1_backward(NAN, 1.0), 0.0);
    // leaky_relu: d/dx is alpha, d/dalpha is x = NaN.
    let (dx, da) = leaky2_backward(NAN, 0.1, 1.0);
    assert_eq!(dx, 0.1);
    assert!(da.is_nan());
    // A NaN comparison is false: the loop does not run, the `else` arm is taken.
    assert!(guarded_value_and_backward(NAN, 1.0).0.is_nan());
    assert_eq!(guarded_backward(NAN, 1.0), -1.0);
}

#[test]
fn a_nan_or_infinite_upstream_gradient_propagates() {
    assert!(square_backward(1.5, NAN).is_nan());
    assert_eq!(square_backward(1.5, INF), INF);
    assert_eq!(square_backward(-1.5, INF), -INF);
    // 0 * inf = NaN.
    assert!(square_backward(0.0, INF).is_nan());
    assert!(square_backward(INF, 0.0).is_nan());
}

#[test]
fn plus_infinity() {
    assert_eq!(square_value_and_backward(INF, 1.0), (INF, INF));
    assert_eq!(exp1_value_and_backward(INF, 1.0), (INF, INF));
    // 1 - tanh^2 = 1 - 1 = 0; sigmoid (1 - sigmoid) = 1 * 0 = 0.
    assert_eq!(tanh1_backward(INF, 1.0), 0.0);
    assert_eq!(sigmoid1_backward(INF, 1.0), 0.0);
    assert_eq!(softplus1_backward(INF, 1.0), 1.0);
    assert_eq!(relu1_backward(INF, 1.0), 1.0);
    assert_eq!(abs1_backward(INF, 1.0), 1.0);
    // 0.5 / sqrt(inf) = 0; 1 / inf = 0; -(1/inf)^2 = 0.
    assert_eq!(sqrt1_backward(INF, 1.0), 0.0);
    assert_eq!(ln1_backward(INF, 1.0), 0.0);
    assert_eq!(recip1_backward(INF, 1.0), 0.0);
    assert_eq!(mul2_backward(INF, 2.0, 1.0), (2.0, INF));
    assert_eq!(div2_backward(1.0, INF, 1.0), (0.0, 0.0));
    assert_eq!(div2_backward(INF, 2.0, 1.0), (0.5, -INF));
    assert_eq!(max2_value_and_backward(INF, 1.0, 1.0), (INF, (1.0, 0.0)));
    assert_eq!(min2_value_and_backward(INF, 1.0, 1.0), (1.0, (0.0, 1.0)));
    assert_eq!(powf2_backward(INF, 2.0, 1.0), (INF, INF));
    assert_eq!(powf2_backward(2.0, INF, 1.0), (INF, INF));
    // Both ties at infinity go to the second argument too.
    assert_eq!(max2_backward(INF, INF, 1.0), (0.0, 1.0));
}

#[test]
fn minus_infinity() {
    assert_eq!(square_value_and_backward(-INF, 1.0), (INF, -INF));
    assert_eq!(exp1_value_and_backward(-INF, 1.0), (0.0, 0.0));
    assert_eq!(tanh1_backward(-INF, 1.0), 0.0);
    assert_eq!(sigmoid1_backward(-INF, 1.0), 0.0);
    assert_eq!(softplus1_backward(-INF, 1.0), 0.0);
    assert_eq!(relu1_backward(-INF, 1.0), 0.0);
    assert_eq!(abs1_backward(-INF, 1.0), -1.0);
    // sqrt(-inf) is NaN, and so is its gradient.
    assert!(sqrt1_backward(-INF, 1.0).is_nan());
    assert_eq!(recip1_backward(-INF, 1.0), 0.0);
    let (dx, da) = leaky2_backward(-INF, 0.1, 1.0);
    assert_eq!((dx, da), (0.1, -INF));
    assert_eq!(max2_value_and_backward(1.0, -INF, 1.0), (1.0, (1.0, 0.0)));
    assert_eq!(min2_value_and_backward(-INF, 1.0, 1.0), (-INF, (1.0, 0.0)));
    // d/dx x^2 at -inf: 2 (-inf) = -inf; d/dp: (-inf)^2 ln(-inf) = NaN.
    let (dx, dp) = powf2_backward(-INF, 2.0, 1.0);
    assert_eq!(dx, -INF);
    assert!(dp.is_nan());
    // 2^-inf = 0: d/dp = 0 ln 2 = 0; d/dx = -inf 2^-inf = -inf * 0 = NaN.
    let (dx, dp) = powf2_backward(2.0, -INF, 1.0);
    assert!(dx.is_nan());
    assert_eq!(dp, 0.0);
}

#[test]
fn the_forward_functions_agree_with_the_value_returned() {
    // The value of `*_value_and_backward` is the original function's, bit for bit.
    for x in [0.0, -0.0, 1.0, -1.0, INF, -INF] {
        assert_eq!(
            sqrt1_value_and_backward(x, 1.0).0.to_bits(),
            sqrt1(x).to_bits()
        );
        assert_eq!(ln1_value_and_backward(x, 1.0).0.to_bits(), ln1(x).to_bits());
        assert_eq!(
            relu1_value_and_backward(x, 1.0).0.to_bits(),
            relu1(x).to_bits()
        );
        assert_eq!(abs1(x), abs1_value_and_backward(x, 1.0).0);
    }
    assert!(powf2(0.0, 2.0) == 0.0 && max0(-1.0) == 0.0 && max2(1.0, 2.0) == 2.0);
    assert!(min2(1.0, 2.0) == 1.0 && square(2.0) == 4.0 && exp1(0.0) == 1.0);
    assert!(tanh1(0.0) == 0.0 && sigmoid1(0.0) == 0.5 && softplus1(0.0) > 0.0);
    assert!(leaky2(-1.0, 0.5) == -0.5 && mul2(2.0, 3.0) == 6.0 && div2(1.0, 2.0) == 0.5);
    assert!(recip1(2.0) == 0.5 && sqrt_f32(4.0) == 2.0 && relu_f32(-1.0) == 0.0);
    assert!(sum_sq(&[1.0, 2.0]) == 5.0 && guarded(0.5) == 0.25);
}

#[differentiate]
fn steps(x: f64) -> f64 {
    x.floor() + x.ceil() + x.round() + x.trunc() + 2.0 * x.fract()
}

#[differentiate]
fn finite_square(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() {
        0.0
    } else {
        x * x
    }
}

#[test]
fn rounding_has_zero_derivative_and_fract_has_one() {
    // floor, ceil, round, trunc are piecewise constant; fract = x - trunc(x).
    assert_eq!(steps_backward(1.3, 1.0), 2.0);
    assert_eq!(steps_backward(-2.7, 1.0), 2.0);
}

#[test]
fn float_predicates_are_conditions_without_a_derivative() {
    assert_eq!(finite_square_backward(3.0, 1.0), 6.0);
    assert_eq!(finite_square_backward(f64::NAN, 1.0), 0.0);
    assert_eq!(finite_square_backward(f64::INFINITY, 1.0), 0.0);
}
