//! Issue 2: every operation, method and activation that a straight-line body
//! may use, each checked at `POINTS` random points against num-dual (exact to
//! ~1e-12) and central finite differences (~1e-6), both call forms of each
//! method, plus the contract's conventions at the kinks as exact asserts.
//!
//! Each function is combined with a product or sum of its inputs so that the
//! chain rule and the accumulation of several paths are exercised too. Points
//! are drawn inside each function's smooth domain (see the samplers).

// `x / x` and `x - x` are deliberate in `self_ops`.
#![allow(clippy::eq_op)]

mod common;

use common::*;
use neuron::{differentiate, gelu, leaky_relu, relu, sigmoid, silu, softplus};
use num_dual::{Dual64, DualNum};
use rand::rngs::StdRng;

// ---------------------------------------------------------------------------
// Drivers for functions of one, two and three scalar f64 parameters.

type F1 = fn(f64) -> f64;
type Vab1 = fn(f64, f64) -> (f64, f64);
type Back1 = fn(f64, f64) -> f64;
type F2 = fn(f64, f64) -> f64;
type Vab2 = fn(f64, f64, f64) -> (f64, (f64, f64));
type Back2 = fn(f64, f64, f64) -> (f64, f64);
type F3 = fn(f64, f64, f64) -> f64;
type Vab3 = fn(f64, f64, f64, f64) -> (f64, (f64, f64, f64));
type Back3 = fn(f64, f64, f64, f64) -> (f64, f64, f64);

fn check1(
    what: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: F1,
    vab: Vab1,
    back: Back1,
    dual: impl Fn(&[Dual64]) -> Dual64,
) {
    check_scalar(
        what,
        seed,
        sample,
        |p| f(p[0]),
        |p, d| {
            let (v, g) = vab(p[0], d);
            (v, vec![g])
        },
        |p, d| vec![back(p[0], d)],
        dual,
    );
}

fn check2(
    what: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: F2,
    vab: Vab2,
    back: Back2,
    dual: impl Fn(&[Dual64]) -> Dual64,
) {
    check_scalar(
        what,
        seed,
        sample,
        |p| f(p[0], p[1]),
        |p, d| {
            let (v, (a, b)) = vab(p[0], p[1], d);
            (v, vec![a, b])
        },
        |p, d| {
            let (a, b) = back(p[0], p[1], d);
            vec![a, b]
        },
        dual,
    );
}

fn check3(
    what: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: F3,
    vab: Vab3,
    back: Back3,
    dual: impl Fn(&[Dual64]) -> Dual64,
) {
    check_scalar(
        what,
        seed,
        sample,
        |p| f(p[0], p[1], p[2]),
        |p, d| {
            let (v, (a, b, c)) = vab(p[0], p[1], p[2], d);
            (v, vec![a, b, c])
        },
        |p, d| {
            let (a, b, c) = back(p[0], p[1], p[2], d);
            vec![a, b, c]
        },
        dual,
    );
}

// Samplers: each says which domain it keeps to.

/// Two values in [-2, 2]: for functions smooth everywhere.
fn any2(r: &mut StdRng) -> Vec<f64> {
    uniform_vec(r, 2, -2.0, 2.0)
}

/// Two values in [0.2, 3]: positive, so `x`, `x * y` are in the domain of
/// ln, log2, log10, sqrt, powf.
fn pos2(r: &mut StdRng) -> Vec<f64> {
    uniform_vec(r, 2, 0.2, 3.0)
}

/// Two values with 0.2 <= |v| <= 2: away from 0, so `x`, `x * y` avoid the
/// kinks of abs/signum and the poles of recip, cbrt', negative powi.
fn nonzero2(r: &mut StdRng) -> Vec<f64> {
    vec![away_from_zero(r, 0.2, 2.0), away_from_zero(r, 0.2, 2.0)]
}

/// Two values in [-0.9, 0.9]: |x|, |x y| <= 0.9 < 1 for asin/acos, and
/// x y >= -0.81 > -1 for ln_1p.
fn unit2(r: &mut StdRng) -> Vec<f64> {
    uniform_vec(r, 2, -0.9, 0.9)
}

// ---------------------------------------------------------------------------
// Arithmetic, literals, constants, lets.

#[differentiate]
fn arith(x: f64, y: f64, z: f64) -> f64 {
    (x + y) * (x - z) / (y * z + 5.0) - x / y
}

#[test]
fn add_sub_mul_div() {
    // y away from 0 (x / y); |y z| <= 2 so y z + 5 >= 3.
    check3(
        "arith",
        100,
        |r| {
            vec![
                uniform(r, -2.0, 2.0),
                away_from_zero(r, 0.3, 2.0),
                uniform(r, -1.0, 1.0),
            ]
        },
        arith,
        arith_value_and_backward,
        arith_backward,
        |q| (q[0] + q[1]) * (q[0] - q[2]) / (q[1] * q[2] + 5.0) - q[0] / q[1],
    );
}

#[differentiate]
fn negation(x: f64, y: f64) -> f64 {
    -(x * y) + -x - -y * x + -(-x)
}

#[test]
fn unary_minus() {
    check2(
        "negation",
        101,
        any2,
        negation,
        negation_value_and_backward,
        negation_backward,
        |q| -(q[0] * q[1]) - q[0] + q[1] * q[0] + q[0],
    );
}

#[differentiate]
fn literals(x: f64) -> f64 {
    0.5 * x * x + 1e-1 * x - 2.0 + 3. * x + x * 2.5e0_f64 - 1_000.0 / (x * x + 1000.0) + 4f64
}

#[test]
fn float_literals() {
    check1(
        "literals",
        102,
        |r| vec![uniform(r, -3.0, 3.0)],
        literals,
        literals_value_and_backward,
        literals_backward,
        |q| {
            let x = q[0];
            x * x * 0.5 + x * 0.1 - 2.0 + x * 3.0 + x * 2.5 - c(1000.0) / (x * x + 1000.0) + 4.0
        },
    );
}

#[differentiate]
fn constants(x: f64, y: f64) -> f64 {
    x * std::f64::consts::PI + f64::EPSILON * y + std::f64::consts::E * y * y
        - (x / std::f64::consts::PI).sin()
}

#[test]
fn constants_in_bodies() {
    use std::f64::consts::{E, PI};
    check2(
        "constants",
        103,
        any2,
        constants,
        constants_value_and_backward,
        constants_backward,
        |q| q[0] * PI + q[1] * f64::EPSILON + q[1] * q[1] * E - (q[0] / PI).sin(),
    );
}

#[differentiate]
fn parens(x: f64, y: f64) -> f64 {
    ((x + y) * (x - (y * 2.0))) / ((x * x) + 1.0) - (x)
}

#[test]
fn parentheses() {
    check2(
        "parens",
        104,
        any2,
        parens,
        parens_value_and_backward,
        parens_backward,
        |q| (q[0] + q[1]) * (q[0] - q[1] * 2.0) / (q[0] * q[0] + 1.0) - q[0],
    );
}

#[differentiate]
fn lets(x: f64, y: f64) -> f64 {
    let a: f64 = x * y;
    let b = a + x;
    let a = a * b;
    let b: f64 = b.sin();
    let x = x * 3.0;
    a + b * x
}

#[test]
fn let_typed_untyped_and_shadowing() {
    // The shadowed `x` must still carry the gradient to the parameter.
    check2(
        "lets",
        105,
        any2,
        lets,
        lets_value_and_backward,
        lets_backward,
        |q| {
            let a = q[0] * q[1];
            let b = a + q[0];
            let a = a * b;
            let b = b.sin();
            let x = q[0] * 3.0;
            a + b * x
        },
    );
}

#[differentiate]
fn compound(x: f64, y: f64) -> f64 {
    let mut acc = x;
    acc += y * x;
    acc -= y;
    acc *= x + 1.5;
    acc /= y * y + 1.0;
    acc += acc * acc;
    acc
}

#[test]
fn compound_assignment_on_locals() {
    check2(
        "compound",
        106,
        any2,
        compound,
        compound_value_and_backward,
        compound_backward,
        |q| {
            let (x, y) = (q[0], q[1]);
            let mut acc = x;
            acc += y * x;
            acc -= y;
            acc *= x + 1.5;
            acc /= y * y + 1.0;
            acc += acc * acc;
            acc
        },
    );
}

#[differentiate]
fn reuse(x: f64, y: f64) -> f64 {
    let u = x * y + 0.5;
    u * u * u + u.sin() * u - u / (1.0 + u * u) + x * u + u
}

#[test]
fn a_value_used_many_times() {
    // Every use of `u` must add to its gradient, none may overwrite it.
    check2(
        "reuse",
        107,
        any2,
        reuse,
        reuse_value_and_backward,
        reuse_backward,
        |q| {
            let u = q[0] * q[1] + 0.5;
            u * u * u + u.sin() * u - u / (u * u + 1.0) + q[0] * u + u
        },
    );
}

#[differentiate]
fn indexing(x: [f64; 4]) -> f64 {
    let i = 1;
    let j: usize = 2;
    x[0] * x[i + 2] + x[j] * x[j - 1] + x[2 * i] * x[3 - j] + x[i * 3] * x[(i + j) % 4]
}

#[test]
fn indexing_with_constant_and_integer_expressions() {
    // x[0] x[3] + x[2] x[1] + x[2] x[1] + x[3] x[3]
    check_scalar(
        "indexing",
        108,
        |r| uniform_vec(r, 4, -2.0, 2.0),
        |p| indexing(arr(p)),
        |p, d| {
            let (v, g) = indexing_value_and_backward(arr(p), d);
            (v, g.to_vec())
        },
        |p, d| indexing_backward(arr(p), d).to_vec(),
        |q| q[0] * q[3] + q[2] * q[1] + q[2] * q[1] + q[3] * q[3],
    );
}

#[test]
fn indexing_exact_gradient() {
    // d/dx = [x3, 2 x2, 2 x1, x0 + 2 x3]: small integers, exact.
    let g: [f64; 4] = indexing_backward([1.0, 2.0, 3.0, 4.0], 1.0);
    assert_eq!(g, [4.0, 6.0, 4.0, 9.0]);
}

#[differentiate]
fn casts(x: f64, y: f64) -> f64 {
    let n = 3;
    let k: i32 = 2;
    x * n as f64 + (k as f64) * y * y + (n * k) as f64 / (x * x + 1.0) + (k - 5) as f64 * x
}

#[test]
fn integer_to_float_casts() {
    check2(
        "casts",
        109,
        any2,
        casts,
        casts_value_and_backward,
        casts_backward,
        |q| q[0] * 3.0 + q[1] * q[1] * 2.0 + c(6.0) / (q[0] * q[0] + 1.0) - q[0] * 3.0,
    );
}

#[differentiate]
fn int_param(x: f64, n: i32) -> f64 {
    x.powi(n) * (n as f64) + x
}

#[test]
fn integer_params_get_no_gradient() {
    // The gradient is the single f64 for `x`, not a tuple.
    for n in [-2, 0, 1, 3] {
        check_scalar(
            &format!("int_param n = {n}"),
            110,
            |r| vec![away_from_zero(r, 0.3, 2.0)],
            |p| int_param(p[0], n),
            |p, d| {
                let (v, g): (f64, f64) = int_param_value_and_backward(p[0], n, d);
                (v, vec![g])
            },
            |p, d| {
                let g: f64 = int_param_backward(p[0], n, d);
                vec![g]
            },
            |q| q[0].powi(n) * n as f64 + q[0],
        );
    }
}

#[differentiate]
fn no_grad_one(x: f64, #[no_grad] s: f64) -> f64 {
    (x * s).sin() + s.exp()
}

#[differentiate]
fn no_grad_middle(x: f64, #[no_grad] s: f64, y: f64) -> f64 {
    x * s * y + s.exp() * x
}

#[test]
fn no_grad_params_are_left_out() {
    let mut r = rng(111);
    for _ in 0..POINTS {
        let (x, s, y) = (
            uniform(&mut r, -2.0, 2.0),
            uniform(&mut r, -2.0, 2.0),
            uniform(&mut r, -2.0, 2.0),
        );
        let d = uniform(&mut r, -2.0, 2.0);
        let (v, dx): (f64, f64) = no_grad_one_value_and_backward(x, s, d);
        assert_eq!(v, no_grad_one(x, s), "no_grad_one value");
        assert_eq!(dx, no_grad_one_backward(x, s, d), "no_grad_one dx");
        assert_close(
            dx,
            d * (x * s).cos() * s,
            DUAL_REL,
            DUAL_ABS,
            &format!("no_grad_one at x = {x}, s = {s}"),
        );
        let (dx, dy): (f64, f64) = no_grad_middle_backward(x, s, y, d);
        assert_close(
            dx,
            d * (s * y + s.exp()),
            DUAL_REL,
            DUAL_ABS,
            &format!("no_grad_middle dx at {x}, {s}, {y}"),
        );
        assert_close(
            dy,
            d * x * s,
            DUAL_REL,
            DUAL_ABS,
            &format!("no_grad_middle dy at {x}, {s}, {y}"),
        );
        let (v, _) = no_grad_middle_value_and_backward(x, s, y, d);
        assert_close(
            v,
            no_grad_middle(x, s, y),
            DUAL_REL,
            DUAL_ABS,
            "no_grad_middle value",
        );
    }
}

// ---------------------------------------------------------------------------
// Float methods, in method form (`m_`) and path form (`p_`).

#[differentiate]
fn m_exp(x: f64, y: f64) -> f64 {
    (x * y).exp() + x.exp()
}
#[differentiate]
fn p_exp(x: f64, y: f64) -> f64 {
    f64::exp(x * y) + f64::exp(x)
}

#[test]
fn exp() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).exp() + q[0].exp();
    check2(
        "x.exp()",
        200,
        any2,
        m_exp,
        m_exp_value_and_backward,
        m_exp_backward,
        dual,
    );
    check2(
        "f64::exp",
        200,
        any2,
        p_exp,
        p_exp_value_and_backward,
        p_exp_backward,
        dual,
    );
}

#[differentiate]
fn m_exp2(x: f64, y: f64) -> f64 {
    (x * y).exp2() + x.exp2()
}
#[differentiate]
fn p_exp2(x: f64, y: f64) -> f64 {
    f64::exp2(x * y) + f64::exp2(x)
}

#[test]
fn exp2() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).exp2() + q[0].exp2();
    check2(
        "x.exp2()",
        201,
        any2,
        m_exp2,
        m_exp2_value_and_backward,
        m_exp2_backward,
        dual,
    );
    check2(
        "f64::exp2",
        201,
        any2,
        p_exp2,
        p_exp2_value_and_backward,
        p_exp2_backward,
        dual,
    );
}

#[differentiate]
fn m_ln(x: f64, y: f64) -> f64 {
    (x * y).ln() + x.ln() * y
}
#[differentiate]
fn p_ln(x: f64, y: f64) -> f64 {
    f64::ln(x * y) + f64::ln(x) * y
}

#[test]
fn ln() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).ln() + q[0].ln() * q[1];
    check2(
        "x.ln()",
        202,
        pos2,
        m_ln,
        m_ln_value_and_backward,
        m_ln_backward,
        dual,
    );
    check2(
        "f64::ln",
        202,
        pos2,
        p_ln,
        p_ln_value_and_backward,
        p_ln_backward,
        dual,
    );
}

#[differentiate]
fn m_log2(x: f64, y: f64) -> f64 {
    (x * y).log2() + x.log2()
}
#[differentiate]
fn p_log2(x: f64, y: f64) -> f64 {
    f64::log2(x * y) + f64::log2(x)
}

#[test]
fn log2() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).log2() + q[0].log2();
    check2(
        "x.log2()",
        203,
        pos2,
        m_log2,
        m_log2_value_and_backward,
        m_log2_backward,
        dual,
    );
    check2(
        "f64::log2",
        203,
        pos2,
        p_log2,
        p_log2_value_and_backward,
        p_log2_backward,
        dual,
    );
}

#[differentiate]
fn m_log10(x: f64, y: f64) -> f64 {
    (x * y).log10() + x.log10()
}
#[differentiate]
fn p_log10(x: f64, y: f64) -> f64 {
    f64::log10(x * y) + f64::log10(x)
}

#[test]
fn log10() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).log10() + q[0].log10();
    check2(
        "x.log10()",
        204,
        pos2,
        m_log10,
        m_log10_value_and_backward,
        m_log10_backward,
        dual,
    );
    check2(
        "f64::log10",
        204,
        pos2,
        p_log10,
        p_log10_value_and_backward,
        p_log10_backward,
        dual,
    );
}

#[differentiate]
fn m_sqrt(x: f64, y: f64) -> f64 {
    (x * y).sqrt() + x.sqrt()
}
#[differentiate]
fn p_sqrt(x: f64, y: f64) -> f64 {
    f64::sqrt(x * y) + f64::sqrt(x)
}

#[test]
fn sqrt() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).sqrt() + q[0].sqrt();
    check2(
        "x.sqrt()",
        205,
        pos2,
        m_sqrt,
        m_sqrt_value_and_backward,
        m_sqrt_backward,
        dual,
    );
    check2(
        "f64::sqrt",
        205,
        pos2,
        p_sqrt,
        p_sqrt_value_and_backward,
        p_sqrt_backward,
        dual,
    );
}

#[differentiate]
fn m_cbrt(x: f64, y: f64) -> f64 {
    (x * y).cbrt() + x.cbrt()
}
#[differentiate]
fn p_cbrt(x: f64, y: f64) -> f64 {
    f64::cbrt(x * y) + f64::cbrt(x)
}

#[test]
fn cbrt() {
    // Either sign; away from 0 where cbrt' is infinite.
    let dual = |q: &[Dual64]| (q[0] * q[1]).cbrt() + q[0].cbrt();
    check2(
        "x.cbrt()",
        206,
        nonzero2,
        m_cbrt,
        m_cbrt_value_and_backward,
        m_cbrt_backward,
        dual,
    );
    check2(
        "f64::cbrt",
        206,
        nonzero2,
        p_cbrt,
        p_cbrt_value_and_backward,
        p_cbrt_backward,
        dual,
    );
}

#[differentiate]
fn m_powi(x: f64, y: f64) -> f64 {
    (x * y).powi(3) + x.powi(-2) + y.powi(0) + y.powi(1)
}
#[differentiate]
fn p_powi(x: f64, y: f64) -> f64 {
    f64::powi(x * y, 3) + f64::powi(x, -2) + f64::powi(y, 0) + f64::powi(y, 1)
}

#[test]
fn powi() {
    // x away from 0 for the negative exponent.
    let dual = |q: &[Dual64]| (q[0] * q[1]).powi(3) + q[0].powi(-2) + q[1].powi(0) + q[1].powi(1);
    check2(
        "x.powi(n)",
        207,
        nonzero2,
        m_powi,
        m_powi_value_and_backward,
        m_powi_backward,
        dual,
    );
    check2(
        "f64::powi",
        207,
        nonzero2,
        p_powi,
        p_powi_value_and_backward,
        p_powi_backward,
        dual,
    );
}

#[differentiate]
fn m_powf(x: f64, y: f64) -> f64 {
    x.powf(y) + (x * y).powf(2.5)
}
#[differentiate]
fn p_powf(x: f64, y: f64) -> f64 {
    f64::powf(x, y) + f64::powf(x * y, 2.5)
}

#[test]
fn powf() {
    // Base positive (x, x y > 0); the exponent `y` is differentiable too:
    // d x^y / dy = x^y ln x.
    let dual = |q: &[Dual64]| q[0].powd(q[1]) + (q[0] * q[1]).powf(2.5);
    check2(
        "x.powf(y)",
        208,
        pos2,
        m_powf,
        m_powf_value_and_backward,
        m_powf_backward,
        dual,
    );
    check2(
        "f64::powf",
        208,
        pos2,
        p_powf,
        p_powf_value_and_backward,
        p_powf_backward,
        dual,
    );
}

#[differentiate]
fn m_sin(x: f64, y: f64) -> f64 {
    (x * y).sin() + x.sin()
}
#[differentiate]
fn p_sin(x: f64, y: f64) -> f64 {
    f64::sin(x * y) + f64::sin(x)
}

#[test]
fn sin() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).sin() + q[0].sin();
    check2(
        "x.sin()",
        209,
        any2,
        m_sin,
        m_sin_value_and_backward,
        m_sin_backward,
        dual,
    );
    check2(
        "f64::sin",
        209,
        any2,
        p_sin,
        p_sin_value_and_backward,
        p_sin_backward,
        dual,
    );
}

#[differentiate]
fn m_cos(x: f64, y: f64) -> f64 {
    (x * y).cos() + x.cos()
}
#[differentiate]
fn p_cos(x: f64, y: f64) -> f64 {
    f64::cos(x * y) + f64::cos(x)
}

#[test]
fn cos() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).cos() + q[0].cos();
    check2(
        "x.cos()",
        210,
        any2,
        m_cos,
        m_cos_value_and_backward,
        m_cos_backward,
        dual,
    );
    check2(
        "f64::cos",
        210,
        any2,
        p_cos,
        p_cos_value_and_backward,
        p_cos_backward,
        dual,
    );
}

#[differentiate]
fn m_tan(x: f64, y: f64) -> f64 {
    (x * y).tan() + x.tan()
}
#[differentiate]
fn p_tan(x: f64, y: f64) -> f64 {
    f64::tan(x * y) + f64::tan(x)
}

#[test]
fn tan() {
    // |x|, |y| <= 1.1 so |x y| <= 1.21 < pi/2.
    let dual = |q: &[Dual64]| (q[0] * q[1]).tan() + q[0].tan();
    let s = |r: &mut StdRng| uniform_vec(r, 2, -1.1, 1.1);
    check2(
        "x.tan()",
        211,
        s,
        m_tan,
        m_tan_value_and_backward,
        m_tan_backward,
        dual,
    );
    check2(
        "f64::tan",
        211,
        s,
        p_tan,
        p_tan_value_and_backward,
        p_tan_backward,
        dual,
    );
}

#[differentiate]
fn m_asin(x: f64, y: f64) -> f64 {
    (x * y).asin() + x.asin()
}
#[differentiate]
fn p_asin(x: f64, y: f64) -> f64 {
    f64::asin(x * y) + f64::asin(x)
}

#[test]
fn asin() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).asin() + q[0].asin();
    check2(
        "x.asin()",
        212,
        unit2,
        m_asin,
        m_asin_value_and_backward,
        m_asin_backward,
        dual,
    );
    check2(
        "f64::asin",
        212,
        unit2,
        p_asin,
        p_asin_value_and_backward,
        p_asin_backward,
        dual,
    );
}

#[differentiate]
fn m_acos(x: f64, y: f64) -> f64 {
    (x * y).acos() + x.acos()
}
#[differentiate]
fn p_acos(x: f64, y: f64) -> f64 {
    f64::acos(x * y) + f64::acos(x)
}

#[test]
fn acos() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).acos() + q[0].acos();
    check2(
        "x.acos()",
        213,
        unit2,
        m_acos,
        m_acos_value_and_backward,
        m_acos_backward,
        dual,
    );
    check2(
        "f64::acos",
        213,
        unit2,
        p_acos,
        p_acos_value_and_backward,
        p_acos_backward,
        dual,
    );
}

#[differentiate]
fn m_atan(x: f64, y: f64) -> f64 {
    (x * y).atan() + x.atan()
}
#[differentiate]
fn p_atan(x: f64, y: f64) -> f64 {
    f64::atan(x * y) + f64::atan(x)
}

#[test]
fn atan() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).atan() + q[0].atan();
    check2(
        "x.atan()",
        214,
        any2,
        m_atan,
        m_atan_value_and_backward,
        m_atan_backward,
        dual,
    );
    check2(
        "f64::atan",
        214,
        any2,
        p_atan,
        p_atan_value_and_backward,
        p_atan_backward,
        dual,
    );
}

#[differentiate]
fn m_atan2(x: f64, y: f64) -> f64 {
    y.atan2(x) * x + (x * y).atan2(2.0)
}
#[differentiate]
fn p_atan2(x: f64, y: f64) -> f64 {
    f64::atan2(y, x) * x + f64::atan2(x * y, 2.0)
}

#[test]
fn atan2() {
    // y away from 0: off the branch cut (y = 0, x < 0) and the origin.
    let dual = |q: &[Dual64]| q[1].atan2(q[0]) * q[0] + (q[0] * q[1]).atan2(c(2.0));
    let s = |r: &mut StdRng| vec![uniform(r, -3.0, 3.0), away_from_zero(r, 0.2, 3.0)];
    check2(
        "y.atan2(x)",
        215,
        s,
        m_atan2,
        m_atan2_value_and_backward,
        m_atan2_backward,
        dual,
    );
    check2(
        "f64::atan2",
        215,
        s,
        p_atan2,
        p_atan2_value_and_backward,
        p_atan2_backward,
        dual,
    );
}

#[differentiate]
fn m_sinh(x: f64, y: f64) -> f64 {
    (x * y).sinh() + x.sinh()
}
#[differentiate]
fn p_sinh(x: f64, y: f64) -> f64 {
    f64::sinh(x * y) + f64::sinh(x)
}

#[test]
fn sinh() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).sinh() + q[0].sinh();
    check2(
        "x.sinh()",
        216,
        any2,
        m_sinh,
        m_sinh_value_and_backward,
        m_sinh_backward,
        dual,
    );
    check2(
        "f64::sinh",
        216,
        any2,
        p_sinh,
        p_sinh_value_and_backward,
        p_sinh_backward,
        dual,
    );
}

#[differentiate]
fn m_cosh(x: f64, y: f64) -> f64 {
    (x * y).cosh() + x.cosh()
}
#[differentiate]
fn p_cosh(x: f64, y: f64) -> f64 {
    f64::cosh(x * y) + f64::cosh(x)
}

#[test]
fn cosh() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).cosh() + q[0].cosh();
    check2(
        "x.cosh()",
        217,
        any2,
        m_cosh,
        m_cosh_value_and_backward,
        m_cosh_backward,
        dual,
    );
    check2(
        "f64::cosh",
        217,
        any2,
        p_cosh,
        p_cosh_value_and_backward,
        p_cosh_backward,
        dual,
    );
}

#[differentiate]
fn m_tanh(x: f64, y: f64) -> f64 {
    (x * y).tanh() + x.tanh()
}
#[differentiate]
fn p_tanh(x: f64, y: f64) -> f64 {
    f64::tanh(x * y) + f64::tanh(x)
}

#[test]
fn tanh() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).tanh() + q[0].tanh();
    check2(
        "x.tanh()",
        218,
        any2,
        m_tanh,
        m_tanh_value_and_backward,
        m_tanh_backward,
        dual,
    );
    check2(
        "f64::tanh",
        218,
        any2,
        p_tanh,
        p_tanh_value_and_backward,
        p_tanh_backward,
        dual,
    );
}

#[differentiate]
fn m_abs(x: f64, y: f64) -> f64 {
    (x * y).abs() + x.abs() * y
}
#[differentiate]
fn p_abs(x: f64, y: f64) -> f64 {
    f64::abs(x * y) + f64::abs(x) * y
}

#[test]
fn abs() {
    // Away from the kink at 0.
    let dual = |q: &[Dual64]| dabs(q[0] * q[1]) + dabs(q[0]) * q[1];
    check2(
        "x.abs()",
        219,
        nonzero2,
        m_abs,
        m_abs_value_and_backward,
        m_abs_backward,
        dual,
    );
    check2(
        "f64::abs",
        219,
        nonzero2,
        p_abs,
        p_abs_value_and_backward,
        p_abs_backward,
        dual,
    );
}

#[differentiate]
fn m_signum(x: f64, y: f64) -> f64 {
    x.signum() * y + (x * y).signum() * x
}
#[differentiate]
fn p_signum(x: f64, y: f64) -> f64 {
    f64::signum(x) * y + f64::signum(x * y) * x
}

#[test]
fn signum() {
    // Away from the jump at 0, where signum is flat: d/dx = sgn(x y),
    // d/dy = sgn(x).
    let dual = |q: &[Dual64]| dsignum(q[0]) * q[1] + dsignum(q[0] * q[1]) * q[0];
    check2(
        "x.signum()",
        220,
        nonzero2,
        m_signum,
        m_signum_value_and_backward,
        m_signum_backward,
        dual,
    );
    check2(
        "f64::signum",
        220,
        nonzero2,
        p_signum,
        p_signum_value_and_backward,
        p_signum_backward,
        dual,
    );
}

/// Two values in [-2, 2] with |x - y| and |x y - x| at least 0.05: away from
/// the ties of max/min below.
fn untied2(r: &mut StdRng) -> Vec<f64> {
    loop {
        let p = uniform_vec(r, 2, -2.0, 2.0);
        if (p[0] - p[1]).abs() > 0.05 && (p[0] * p[1] - p[0]).abs() > 0.05 {
            return p;
        }
    }
}

#[differentiate]
fn m_max(x: f64, y: f64) -> f64 {
    x.max(y) * 2.0 + (x * y).max(x)
}
#[differentiate]
fn p_max(x: f64, y: f64) -> f64 {
    f64::max(x, y) * 2.0 + f64::max(x * y, x)
}

#[test]
fn max() {
    let dual = |q: &[Dual64]| dmax(q[0], q[1]) * 2.0 + dmax(q[0] * q[1], q[0]);
    check2(
        "x.max(y)",
        221,
        untied2,
        m_max,
        m_max_value_and_backward,
        m_max_backward,
        dual,
    );
    check2(
        "f64::max",
        221,
        untied2,
        p_max,
        p_max_value_and_backward,
        p_max_backward,
        dual,
    );
}

#[differentiate]
fn m_min(x: f64, y: f64) -> f64 {
    x.min(y) * 2.0 + (x * y).min(x)
}
#[differentiate]
fn p_min(x: f64, y: f64) -> f64 {
    f64::min(x, y) * 2.0 + f64::min(x * y, x)
}

#[test]
fn min() {
    let dual = |q: &[Dual64]| dmin(q[0], q[1]) * 2.0 + dmin(q[0] * q[1], q[0]);
    check2(
        "x.min(y)",
        222,
        untied2,
        m_min,
        m_min_value_and_backward,
        m_min_backward,
        dual,
    );
    check2(
        "f64::min",
        222,
        untied2,
        p_min,
        p_min_value_and_backward,
        p_min_backward,
        dual,
    );
}

#[differentiate]
fn m_recip(x: f64, y: f64) -> f64 {
    (x * y).recip() + x.recip()
}
#[differentiate]
fn p_recip(x: f64, y: f64) -> f64 {
    f64::recip(x * y) + f64::recip(x)
}

#[test]
fn recip() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).recip() + q[0].recip();
    check2(
        "x.recip()",
        223,
        nonzero2,
        m_recip,
        m_recip_value_and_backward,
        m_recip_backward,
        dual,
    );
    check2(
        "f64::recip",
        223,
        nonzero2,
        p_recip,
        p_recip_value_and_backward,
        p_recip_backward,
        dual,
    );
}

#[differentiate]
fn m_hypot(x: f64, y: f64) -> f64 {
    x.hypot(y) + (x * y).hypot(1.0)
}
#[differentiate]
fn p_hypot(x: f64, y: f64) -> f64 {
    f64::hypot(x, y) + f64::hypot(x * y, 1.0)
}

#[test]
fn hypot() {
    // Away from the origin, where hypot has a cone point.
    let dual = |q: &[Dual64]| {
        (q[0] * q[0] + q[1] * q[1]).sqrt() + (q[0] * q[1] * q[0] * q[1] + 1.0).sqrt()
    };
    check2(
        "x.hypot(y)",
        224,
        nonzero2,
        m_hypot,
        m_hypot_value_and_backward,
        m_hypot_backward,
        dual,
    );
    check2(
        "f64::hypot",
        224,
        nonzero2,
        p_hypot,
        p_hypot_value_and_backward,
        p_hypot_backward,
        dual,
    );
}

#[differentiate]
fn m_mul_add(x: f64, y: f64, z: f64) -> f64 {
    x.mul_add(y, z) + (x * z).mul_add(2.0, y)
}
#[differentiate]
fn p_mul_add(x: f64, y: f64, z: f64) -> f64 {
    f64::mul_add(x, y, z) + f64::mul_add(x * z, 2.0, y)
}

#[test]
fn mul_add() {
    let dual = |q: &[Dual64]| q[0] * q[1] + q[2] + q[0] * q[2] * 2.0 + q[1];
    let s = |r: &mut StdRng| uniform_vec(r, 3, -2.0, 2.0);
    check3(
        "x.mul_add(y, z)",
        225,
        s,
        m_mul_add,
        m_mul_add_value_and_backward,
        m_mul_add_backward,
        dual,
    );
    check3(
        "f64::mul_add",
        225,
        s,
        p_mul_add,
        p_mul_add_value_and_backward,
        p_mul_add_backward,
        dual,
    );
}

#[differentiate]
fn m_ln_1p(x: f64, y: f64) -> f64 {
    (x * y).ln_1p() + x.ln_1p()
}
#[differentiate]
fn p_ln_1p(x: f64, y: f64) -> f64 {
    f64::ln_1p(x * y) + f64::ln_1p(x)
}

#[test]
fn ln_1p() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).ln_1p() + q[0].ln_1p();
    check2(
        "x.ln_1p()",
        226,
        unit2,
        m_ln_1p,
        m_ln_1p_value_and_backward,
        m_ln_1p_backward,
        dual,
    );
    check2(
        "f64::ln_1p",
        226,
        unit2,
        p_ln_1p,
        p_ln_1p_value_and_backward,
        p_ln_1p_backward,
        dual,
    );
}

#[differentiate]
fn m_exp_m1(x: f64, y: f64) -> f64 {
    (x * y).exp_m1() + x.exp_m1()
}
#[differentiate]
fn p_exp_m1(x: f64, y: f64) -> f64 {
    f64::exp_m1(x * y) + f64::exp_m1(x)
}

#[test]
fn exp_m1() {
    let dual = |q: &[Dual64]| (q[0] * q[1]).exp_m1() + q[0].exp_m1();
    check2(
        "x.exp_m1()",
        227,
        any2,
        m_exp_m1,
        m_exp_m1_value_and_backward,
        m_exp_m1_backward,
        dual,
    );
    check2(
        "f64::exp_m1",
        227,
        any2,
        p_exp_m1,
        p_exp_m1_value_and_backward,
        p_exp_m1_backward,
        dual,
    );
}

// ---------------------------------------------------------------------------
// Activations, as `relu(z)` (imported) and `neuron::relu(z)`.

/// Two values in [-2, 2] with |x y - 0.5| and |x| at least 0.05: away from the
/// kinks of relu and leaky_relu in the bodies below.
fn off_kink2(r: &mut StdRng) -> Vec<f64> {
    loop {
        let p = uniform_vec(r, 2, -2.0, 2.0);
        if (p[0] * p[1] - 0.5).abs() > 0.05 && p[0].abs() > 0.05 {
            return p;
        }
    }
}

#[differentiate]
fn a_relu(x: f64, y: f64) -> f64 {
    relu(x * y - 0.5) + relu(x) * y
}
#[differentiate]
fn q_relu(x: f64, y: f64) -> f64 {
    neuron::relu(x * y - 0.5) + neuron::relu(x) * y
}

#[test]
fn relu_activation() {
    let dual = |q: &[Dual64]| act::relu(q[0] * q[1] - 0.5) + act::relu(q[0]) * q[1];
    check2(
        "relu",
        300,
        off_kink2,
        a_relu,
        a_relu_value_and_backward,
        a_relu_backward,
        dual,
    );
    check2(
        "neuron::relu",
        300,
        off_kink2,
        q_relu,
        q_relu_value_and_backward,
        q_relu_backward,
        dual,
    );
}

#[differentiate]
fn a_sigmoid(x: f64, y: f64) -> f64 {
    sigmoid(x * y - 0.5) + sigmoid(x) * y
}
#[differentiate]
fn q_sigmoid(x: f64, y: f64) -> f64 {
    neuron::sigmoid(x * y - 0.5) + neuron::sigmoid(x) * y
}

#[test]
fn sigmoid_activation() {
    let dual = |q: &[Dual64]| act::sigmoid(q[0] * q[1] - 0.5) + act::sigmoid(q[0]) * q[1];
    check2(
        "sigmoid",
        301,
        any2,
        a_sigmoid,
        a_sigmoid_value_and_backward,
        a_sigmoid_backward,
        dual,
    );
    check2(
        "neuron::sigmoid",
        301,
        any2,
        q_sigmoid,
        q_sigmoid_value_and_backward,
        q_sigmoid_backward,
        dual,
    );
}

#[differentiate]
fn a_softplus(x: f64, y: f64) -> f64 {
    softplus(x * y - 0.5) + softplus(x) * y
}
#[differentiate]
fn q_softplus(x: f64, y: f64) -> f64 {
    neuron::softplus(x * y - 0.5) + neuron::softplus(x) * y
}

#[test]
fn softplus_activation() {
    let dual = |q: &[Dual64]| act::softplus(q[0] * q[1] - 0.5) + act::softplus(q[0]) * q[1];
    check2(
        "softplus",
        302,
        any2,
        a_softplus,
        a_softplus_value_and_backward,
        a_softplus_backward,
        dual,
    );
    check2(
        "neuron::softplus",
        302,
        any2,
        q_softplus,
        q_softplus_value_and_backward,
        q_softplus_backward,
        dual,
    );
}

#[differentiate]
fn a_leaky(x: f64, y: f64, alpha: f64) -> f64 {
    leaky_relu(x * y - 0.5, alpha) + leaky_relu(x, 0.1) * y
}
#[differentiate]
fn q_leaky(x: f64, y: f64, alpha: f64) -> f64 {
    neuron::leaky_relu(x * y - 0.5, alpha) + neuron::leaky_relu(x, 0.1) * y
}

#[test]
fn leaky_relu_activation() {
    // alpha is a parameter too: d/dalpha = (x y - 0.5) where that is < 0.
    let dual = |q: &[Dual64]| {
        act::leaky_relu(q[0] * q[1] - 0.5, q[2]) + act::leaky_relu(q[0], c(0.1)) * q[1]
    };
    let s = |r: &mut StdRng| {
        let mut p = off_kink2(r);
        p.push(uniform(r, 0.01, 0.3));
        p
    };
    check3(
        "leaky_relu",
        303,
        s,
        a_leaky,
        a_leaky_value_and_backward,
        a_leaky_backward,
        dual,
    );
    check3(
        "neuron::leaky_relu",
        303,
        s,
        q_leaky,
        q_leaky_value_and_backward,
        q_leaky_backward,
        dual,
    );
}

#[differentiate]
fn a_gelu(x: f64, y: f64) -> f64 {
    gelu(x * y - 0.5) + gelu(x) * y
}
#[differentiate]
fn q_gelu(x: f64, y: f64) -> f64 {
    neuron::gelu(x * y - 0.5) + neuron::gelu(x) * y
}

#[test]
fn gelu_activation() {
    let dual = |q: &[Dual64]| act::gelu(q[0] * q[1] - 0.5) + act::gelu(q[0]) * q[1];
    check2(
        "gelu",
        304,
        any2,
        a_gelu,
        a_gelu_value_and_backward,
        a_gelu_backward,
        dual,
    );
    check2(
        "neuron::gelu",
        304,
        any2,
        q_gelu,
        q_gelu_value_and_backward,
        q_gelu_backward,
        dual,
    );
}

#[differentiate]
fn a_silu(x: f64, y: f64) -> f64 {
    silu(x * y - 0.5) + silu(x) * y
}
#[differentiate]
fn q_silu(x: f64, y: f64) -> f64 {
    neuron::silu(x * y - 0.5) + neuron::silu(x) * y
}

#[test]
fn silu_activation() {
    let dual = |q: &[Dual64]| act::silu(q[0] * q[1] - 0.5) + act::silu(q[0]) * q[1];
    check2(
        "silu",
        305,
        any2,
        a_silu,
        a_silu_value_and_backward,
        a_silu_backward,
        dual,
    );
    check2(
        "neuron::silu",
        305,
        any2,
        q_silu,
        q_silu_value_and_backward,
        q_silu_backward,
        dual,
    );
}

#[differentiate]
fn stack(x: [f64; 3]) -> f64 {
    let h = gelu(x[0]) * sigmoid(x[1]) + silu(x[2]);
    softplus(h) - neuron::sigmoid(h * x[0]).ln()
}

#[test]
fn activations_composed() {
    check_scalar(
        "stack",
        306,
        |r| uniform_vec(r, 3, -2.0, 2.0),
        |p| stack(arr(p)),
        |p, d| {
            let (v, g) = stack_value_and_backward(arr(p), d);
            (v, g.to_vec())
        },
        |p, d| stack_backward(arr(p), d).to_vec(),
        |q| {
            let h = act::gelu(q[0]) * act::sigmoid(q[1]) + act::silu(q[2]);
            act::softplus(h) - act::sigmoid(h * q[0]).ln()
        },
    );
}

// ---------------------------------------------------------------------------
// Conventions at the kinks: exact values.

#[differentiate]
fn k_relu(x: f64) -> f64 {
    relu(x)
}
#[differentiate]
fn k_relu_path(x: f64) -> f64 {
    neuron::relu(x)
}
#[differentiate]
fn k_max0(x: f64) -> f64 {
    x.max(0.0)
}
#[differentiate]
fn k_abs(x: f64) -> f64 {
    x.abs()
}
#[differentiate]
fn k_abs_path(x: f64) -> f64 {
    f64::abs(x)
}
#[differentiate]
fn k_max(a: f64, b: f64) -> f64 {
    a.max(b)
}
#[differentiate]
fn k_max_path(a: f64, b: f64) -> f64 {
    f64::max(a, b)
}
#[differentiate]
fn k_min(a: f64, b: f64) -> f64 {
    a.min(b)
}
#[differentiate]
fn k_min_path(a: f64, b: f64) -> f64 {
    f64::min(a, b)
}
#[differentiate]
fn k_sqrt(x: f64) -> f64 {
    x.sqrt()
}
#[differentiate]
fn k_sqrt_path(x: f64) -> f64 {
    f64::sqrt(x)
}

#[test]
fn relu_derivative_at_zero_is_zero() {
    assert_eq!((k_relu(0.0), k_relu_path(0.0)), (0.0, 0.0));
    assert_eq!(k_relu_backward(0.0, 1.0), 0.0, "relu'(0)");
    assert_eq!(k_relu_path_backward(0.0, 1.0), 0.0, "neuron::relu'(0)");
    assert_eq!(k_relu_backward(0.0, 7.0), 0.0, "relu'(0) * 7");
    assert_eq!(k_relu_backward(-1e-300, 1.0), 0.0, "relu' just below 0");
    assert_eq!(k_relu_backward(1e-300, 3.0), 3.0, "relu' just above 0");
    assert_eq!(k_relu_value_and_backward(0.0, 1.0), (0.0, 0.0));
}

#[test]
fn max_with_zero_agrees_with_relu() {
    for x in [-2.0, -1e-300, 0.0, 1e-300, 2.0] {
        assert_eq!(
            (k_max0(x), k_max0_backward(x, 1.0)),
            (k_relu(x), k_relu_backward(x, 1.0)),
            "x.max(0.0) vs relu at {x}"
        );
    }
}

#[test]
fn abs_derivative_at_zero_is_zero() {
    assert_eq!((k_abs(0.0), k_abs_path(-0.0)), (0.0, 0.0));
    assert_eq!(k_abs_backward(0.0, 1.0), 0.0, "abs'(0)");
    assert_eq!(k_abs_path_backward(0.0, 1.0), 0.0, "f64::abs'(0)");
    assert_eq!(k_abs_backward(-0.0, 1.0), 0.0, "abs'(-0)");
    assert_eq!(k_abs_backward(-2.0, 1.0), -1.0);
    assert_eq!(k_abs_backward(2.0, 1.0), 1.0);
}

#[test]
fn max_and_min_ties_go_to_the_second_argument() {
    for v in [-1.5, 0.0, 2.25] {
        let values = [k_max(v, v), k_max_path(v, v), k_min(v, v), k_min_path(v, v)];
        assert_eq!(values, [v; 4]);
        assert_eq!(k_max_backward(v, v, 1.0), (0.0, 1.0), "max tie at {v}");
        assert_eq!(
            k_max_path_backward(v, v, 1.0),
            (0.0, 1.0),
            "f64::max tie at {v}"
        );
        assert_eq!(k_min_backward(v, v, 1.0), (0.0, 1.0), "min tie at {v}");
        assert_eq!(
            k_min_path_backward(v, v, 1.0),
            (0.0, 1.0),
            "f64::min tie at {v}"
        );
        assert_eq!(k_max_backward(v, v, 3.0), (0.0, 3.0), "max tie scaled");
    }
    // And no tie: the winner takes it all.
    assert_eq!(k_max_backward(2.0, 1.0, 1.0), (1.0, 0.0));
    assert_eq!(k_max_backward(1.0, 2.0, 1.0), (0.0, 1.0));
    assert_eq!(k_min_backward(2.0, 1.0, 1.0), (0.0, 1.0));
    assert_eq!(k_min_backward(1.0, 2.0, 1.0), (1.0, 0.0));
}

#[test]
fn sqrt_derivative_at_zero_is_infinite() {
    assert_eq!((k_sqrt(0.0), k_sqrt_path(0.0)), (0.0, 0.0));
    assert_eq!(k_sqrt_backward(0.0, 1.0), f64::INFINITY, "sqrt'(0)");
    assert_eq!(
        k_sqrt_path_backward(0.0, 1.0),
        f64::INFINITY,
        "f64::sqrt'(0)"
    );
    assert_eq!(k_sqrt_backward(4.0, 1.0), 0.25, "sqrt'(4)");
}

// ---------------------------------------------------------------------------
// f32: the same bodies in single precision agree with f64 to f32 precision.

#[differentiate]
fn mix64(x: f64, y: f64) -> f64 {
    (x * y).sin() + x.exp() / y - sigmoid(x * y) + f64::sqrt(y) * std::f64::consts::PI
}
#[differentiate]
fn mix32(x: f32, y: f32) -> f32 {
    (x * y).sin() + x.exp() / y - sigmoid(x * y) + f32::sqrt(y) * std::f32::consts::PI
}

#[test]
fn f32_matches_f64() {
    let sample = |r: &mut StdRng| vec![uniform(r, -1.5, 1.5), uniform(r, 0.5, 2.0)];
    check2(
        "mix64",
        400,
        sample,
        mix64,
        mix64_value_and_backward,
        mix64_backward,
        |q| {
            (q[0] * q[1]).sin() + q[0].exp() / q[1] - act::sigmoid(q[0] * q[1])
                + q[1].sqrt() * std::f64::consts::PI
        },
    );
    let mut r = rng(401);
    for _ in 0..POINTS {
        let p = sample(&mut r);
        let (x, y) = (p[0] as f32, p[1] as f32);
        // Compare at the f32-rounded point.
        let (x64, y64) = (x as f64, y as f64);
        let (dx, dy): (f32, f32) = mix32_backward(x, y, 1.0);
        let (ex, ey) = mix64_backward(x64, y64, 1.0);
        assert_close(
            dx as f64,
            ex,
            F32_REL,
            F32_ABS,
            &format!("f32 dx at {x}, {y}"),
        );
        assert_close(
            dy as f64,
            ey,
            F32_REL,
            F32_ABS,
            &format!("f32 dy at {x}, {y}"),
        );
        let (v, _): (f32, (f32, f32)) = mix32_value_and_backward(x, y, 1.0);
        assert_eq!(v, mix32(x, y), "f32 value of value_and_backward");
        assert_close(
            v as f64,
            mix64(x64, y64),
            F32_REL,
            F32_ABS,
            "f32 value vs f64",
        );
    }
}

#[differentiate]
fn arr64(x: [f64; 3]) -> f64 {
    x[0] * x[1].tanh() + x[2].powi(2) + relu(x[0]) + f64::EPSILON
}
#[differentiate]
fn arr32(x: [f32; 3]) -> f32 {
    x[0] * x[1].tanh() + x[2].powi(2) + relu(x[0]) + f32::EPSILON
}

#[test]
fn f32_arrays_match_f64() {
    let mut r = rng(402);
    for _ in 0..POINTS {
        let x32: [f32; 3] = [
            away_from_zero(&mut r, 0.1, 2.0) as f32,
            uniform(&mut r, -2.0, 2.0) as f32,
            uniform(&mut r, -2.0, 2.0) as f32,
        ];
        let x64 = x32.map(|v| v as f64);
        assert_close(
            arr32(x32) as f64,
            arr64(x64),
            F32_REL,
            F32_ABS,
            "f32 array value",
        );
        let g32: [f32; 3] = arr32_backward(x32, 1.0);
        let g64: [f64; 3] = arr64_backward(x64, 1.0);
        let (_, exact) = dual_gradient(
            &|q: &[Dual64]| q[0] * q[1].tanh() + q[2].powi(2) + act::relu(q[0]),
            &x64,
        );
        assert_all_close(
            &g64,
            &exact,
            DUAL_REL,
            DUAL_ABS,
            &format!("arr64 at {x64:?}"),
        );
        let g32: Vec<f64> = g32.iter().map(|&v| v as f64).collect();
        assert_all_close(&g32, &g64, F32_REL, F32_ABS, &format!("arr32 at {x32:?}"));
    }
}

#[differentiate]
fn kink32(x: f32, y: f32) -> f32 {
    relu(x) + y.abs() + x.max(y)
}

#[test]
fn f32_conventions_at_kinks() {
    assert_eq!(kink32(0.0, 0.0), 0.0);
    let (dx, dy): (f32, f32) = kink32_backward(0.0, 0.0, 1.0);
    // relu'(0) = 0, abs'(0) = 0, max tie to the second argument.
    assert_eq!((dx, dy), (0.0, 1.0));
}

// ---------------------------------------------------------------------------
// Edges of straight-line bodies.

#[differentiate]
fn unused_param(x: f64, _y: f64) -> f64 {
    x * 2.0
}

#[differentiate]
fn constant_body(_x: f64) -> f64 {
    let k = 3.0;
    k * k
}

#[differentiate]
fn self_ops(x: f64) -> f64 {
    x / x + x * x - x + (x - x) * 5.0
}

#[test]
fn unused_params_and_constants_get_zero_gradient() {
    assert_eq!(unused_param_backward(1.5, -2.0, 1.0), (2.0, 0.0));
    assert_eq!(unused_param(1.5, -2.0), 3.0);
    assert_eq!(constant_body_value_and_backward(1.5, 1.0), (9.0, 0.0));
    assert_eq!(constant_body(-1.0), 9.0);
}

#[test]
fn a_variable_against_itself() {
    // x / x is 1 and x - x is 0: their derivatives cancel exactly to 0.
    check1(
        "self_ops",
        112,
        |r| vec![away_from_zero(r, 0.2, 3.0)],
        self_ops,
        self_ops_value_and_backward,
        self_ops_backward,
        |q| q[0] / q[0] + q[0] * q[0] - q[0] + (q[0] - q[0]) * 5.0,
    );
    assert_eq!(self_ops_backward(2.0, 1.0), 3.0);
}

#[differentiate]
fn nested_array_param(m: [[f64; 2]; 2], v: [f64; 2]) -> f64 {
    (m[0][0] * v[0] + m[0][1] * v[1]).exp() - m[1][0] * m[1][1] * v[0]
}

#[test]
fn nested_array_params_give_nested_arrays() {
    check_scalar(
        "nested_array_param",
        113,
        |r| uniform_vec(r, 6, -1.5, 1.5),
        |p| nested_array_param(arr2(p), arr(&p[4..])),
        |p, d| {
            let (v, (gm, gv)): (f64, ([[f64; 2]; 2], [f64; 2])) =
                nested_array_param_value_and_backward(arr2(p), arr(&p[4..]), d);
            (v, [flat2(gm), gv.to_vec()].concat())
        },
        |p, d| {
            let (gm, gv) = nested_array_param_backward(arr2(p), arr(&p[4..]), d);
            [flat2(gm), gv.to_vec()].concat()
        },
        |q| (q[0] * q[4] + q[1] * q[5]).exp() - q[2] * q[3] * q[4],
    );
}

#[differentiate]
pub fn public_fn(x: f64) -> f64 {
    x * x
}

mod inner {
    use neuron::differentiate;

    #[differentiate]
    pub(crate) fn crate_visible(x: f64, y: f64) -> f64 {
        x * y
    }
}

#[test]
fn generated_fns_have_the_same_visibility() {
    // Callable from outside their module exactly as the forward fn is.
    assert_eq!(public_fn_backward(3.0, 1.0), 6.0);
    assert_eq!(public_fn(3.0), 9.0);
    assert_eq!(inner::crate_visible_backward(2.0, 5.0, 1.0), (5.0, 2.0));
    assert_eq!(
        inner::crate_visible_value_and_backward(2.0, 5.0, 1.0).0,
        10.0
    );
    assert_eq!(inner::crate_visible(2.0, 5.0), 10.0);
}
