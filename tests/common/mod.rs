//! Shared harness of the integration tests: two independent oracles for a
//! gradient (central finite differences and forward-mode dual numbers from the
//! `num-dual` crate), a tolerance-aware comparison, and drivers that check a
//! generated `*_backward` / `*_value_and_backward` at many random points.
//!
//! Each test binary includes this module with `mod common;` and uses only part
//! of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use num_dual::{Dual64, DualNum};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Tolerance against finite differences.
///
/// Central differences with step `h = 1e-6 * max(1, |x|)` have truncation error
/// about `h^2 |f'''| / 6 ~ 1e-13` and rounding error about
/// `eps |f| / h ~ 2.2e-10 |f|`. The test functions keep `|f|` below ~1e3, so an
/// error above ~1e-7 means a wrong gradient, not a noisy oracle; 1e-6 leaves
/// a margin of ten.
pub const FD_REL: f64 = 1e-6;
pub const FD_ABS: f64 = 1e-6;

/// Tolerance against num-dual: both sides compute the exact derivative in
/// floating point, only the order of the roundings differs, so they agree to a
/// few ulps times the (small) condition number of the test functions.
pub const DUAL_REL: f64 = 1e-12;
pub const DUAL_ABS: f64 = 1e-12;

/// Tolerance of an `f32` gradient against the `f64` gradient of the same
/// function: f32 has eps ~1.2e-7 and the test functions chain a handful of
/// operations, so ~1e-5 relative is the precision an f32 result can have.
pub const F32_REL: f64 = 2e-5;
pub const F32_ABS: f64 = 2e-5;

/// Number of random points each gradient is checked at.
pub const POINTS: usize = 24;

/// A deterministic generator: every test seeds its own.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Uniform in `[lo, hi)`.
pub fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

/// Uniform in `[-hi, -lo] ∪ [lo, hi]`: away from zero, either sign.
pub fn away_from_zero(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    let m = rng.random_range(lo..hi);
    if rng.random_bool(0.5) {
        m
    } else {
        -m
    }
}

/// `n` values uniform in `[lo, hi)`.
pub fn uniform_vec(rng: &mut StdRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// `|a - b| <= abs + rel * max(|a|, |b|)`; infinities must be equal, NaN never
/// passes.
pub fn is_close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return false;
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= abs + rel * a.abs().max(b.abs())
}

/// Panics with the case described by `what` unless `a` and `b` are close.
pub fn assert_close(a: f64, b: f64, rel: f64, abs: f64, what: &str) {
    assert!(
        is_close(a, b, rel, abs),
        "{what}: got {a:e}, expected {b:e} (|diff| = {:e}, tolerance {:e} = abs {abs:e} + rel {rel:e})",
        (a - b).abs(),
        abs + rel * a.abs().max(b.abs()),
    );
}

/// Element-wise [`assert_close`]; the lengths must agree.
pub fn assert_all_close(a: &[f64], b: &[f64], rel: f64, abs: f64, what: &str) {
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: got {} components, expected {}\n  got      {a:?}\n  expected {b:?}",
        a.len(),
        b.len()
    );
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert_close(
            x,
            y,
            rel,
            abs,
            &format!("{what}, component {i}\n  got      {a:?}\n  expected {b:?}\n "),
        );
    }
}

/// Central finite-difference gradient of `f` at `x`, with step
/// `1e-6 * max(1, |x_i|)` in each coordinate.
pub fn fd_gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut p = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = 1e-6 * x[i].abs().max(1.0);
            p[i] = x[i] + h;
            let up = f(&p);
            p[i] = x[i] - h;
            let down = f(&p);
            p[i] = x[i];
            // The step actually taken, after rounding of x ± h.
            (up - down) / ((x[i] + h) - (x[i] - h))
        })
        .collect()
}

/// Value and exact gradient of `f` at `x` by forward mode: one dual-number
/// evaluation per coordinate, seeding that coordinate's derivative with 1.
pub fn dual_gradient(f: &dyn Fn(&[Dual64]) -> Dual64, x: &[f64]) -> (f64, Vec<f64>) {
    let value = f(&lift(x, usize::MAX)).re;
    let grad = (0..x.len()).map(|i| f(&lift(x, i)).eps).collect();
    (value, grad)
}

/// `x` as dual numbers, with derivative 1 in coordinate `seed` and 0 elsewhere.
pub fn lift(x: &[f64], seed: usize) -> Vec<Dual64> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| Dual64::new(v, if i == seed { 1.0 } else { 0.0 }))
        .collect()
}

/// A dual constant (num-dual has `Dual * f64` but not `f64 * Dual`).
pub fn c(v: f64) -> Dual64 {
    Dual64::from_re(v)
}

/// `max` with the contract's tie rule and comparisons on the value only.
pub fn dmax(a: Dual64, b: Dual64) -> Dual64 {
    if a.re > b.re {
        a
    } else {
        b
    }
}

/// `|x|` (num-dual has it through `num_traits::Signed`, not a dependency here).
pub fn dabs(x: Dual64) -> Dual64 {
    if x.re < 0.0 {
        -x
    } else {
        x
    }
}

/// `signum`: a constant ±1, so its derivative is 0 (the test points avoid 0).
pub fn dsignum(x: Dual64) -> Dual64 {
    c(if x.re < 0.0 { -1.0 } else { 1.0 })
}

/// `min` with the contract's tie rule.
pub fn dmin(a: Dual64, b: Dual64) -> Dual64 {
    if a.re < b.re {
        a
    } else {
        b
    }
}

/// The activations of the contract, written again from their textbook
/// definitions for dual numbers (independently of `neuron_core`).
pub mod act {
    use super::{c, Dual64};
    use num_dual::DualNum;

    pub fn relu(x: Dual64) -> Dual64 {
        if x.re > 0.0 {
            x
        } else {
            c(0.0)
        }
    }

    pub fn sigmoid(x: Dual64) -> Dual64 {
        c(1.0) / ((-x).exp() + 1.0)
    }

    /// `ln(1 + e^x)`; the test points keep `|x|` small enough for the naive form.
    pub fn softplus(x: Dual64) -> Dual64 {
        (x.exp() + 1.0).ln()
    }

    pub fn leaky_relu(x: Dual64, alpha: Dual64) -> Dual64 {
        if x.re > 0.0 {
            x
        } else {
            alpha * x
        }
    }

    /// The tanh form: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    pub fn gelu(x: Dual64) -> Dual64 {
        let k = (2.0 / std::f64::consts::PI).sqrt();
        x * 0.5 * ((x + x.powi(3) * 0.044715) * k).tanh() + x * 0.5
    }

    pub fn silu(x: Dual64) -> Dual64 {
        x * sigmoid(x)
    }
}

/// Checks a gradient oracle against finite differences at `p`: the forward
/// function `f` and its dual-number twin `dual` must agree on the value and on
/// the gradient. A failure here is a bug in the test, not in the macro.
pub fn check_oracle(
    what: &str,
    p: &[f64],
    f: &dyn Fn(&[f64]) -> f64,
    dual: &dyn Fn(&[Dual64]) -> Dual64,
) {
    let (dv, dg) = dual_gradient(dual, p);
    let fv = f(p);
    assert_close(
        dv,
        fv,
        DUAL_REL,
        DUAL_ABS,
        &format!("TEST BUG {what}: dual oracle value at {p:?}"),
    );
    assert_all_close(
        &dg,
        &fd_gradient(f, p),
        FD_REL,
        FD_ABS,
        &format!("TEST BUG {what}: dual oracle vs finite differences at {p:?}"),
    );
}

/// Checks a scalar-output function at `POINTS` random points.
///
/// * `sample` draws a point (the flat list of differentiable inputs) inside
///   the function's smooth domain;
/// * `f` is the forward function, called on the flat point;
/// * `vab(p, d_output)` calls `NAME_value_and_backward` and flattens the
///   gradient in declaration order;
/// * `back(p, d_output)` does the same with `NAME_backward`;
/// * `dual` is the forward body again, over dual numbers.
///
/// At each point: the value returned with the gradient equals `f(p)`; the
/// gradient for `d_output = 1` equals num-dual's (to ~1e-12) and the finite
/// differences (to ~1e-6); for a random `d_output` both generated functions
/// return `d_output` times that gradient.
pub fn check_scalar(
    what: &str,
    seed: u64,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> f64,
    vab: impl Fn(&[f64], f64) -> (f64, Vec<f64>),
    back: impl Fn(&[f64], f64) -> Vec<f64>,
    dual: impl Fn(&[Dual64]) -> Dual64,
) {
    let mut r = rng(seed);
    let points: Vec<Vec<f64>> = (0..POINTS).map(|_| sample(&mut r)).collect();
    // The oracles first, so that a broken test shows as such.
    for p in &points {
        check_oracle(what, p, &f, &dual);
    }
    for p in &points {
        let (_, exact) = dual_gradient(&dual, p);
        let fd = fd_gradient(&f, p);
        let (value, grad) = vab(p, 1.0);
        assert_close(
            value,
            f(p),
            DUAL_REL,
            DUAL_ABS,
            &format!("{what}: value of value_and_backward at {p:?}"),
        );
        assert_all_close(
            &grad,
            &exact,
            DUAL_REL,
            DUAL_ABS,
            &format!("{what}: gradient vs num-dual at {p:?}"),
        );
        assert_all_close(
            &grad,
            &fd,
            FD_REL,
            FD_ABS,
            &format!("{what}: gradient vs finite differences at {p:?}"),
        );
        let d = uniform(&mut r, -3.0, 3.0);
        let scaled: Vec<f64> = exact.iter().map(|g| g * d).collect();
        assert_all_close(
            &back(p, d),
            &scaled,
            DUAL_REL,
            DUAL_ABS,
            &format!("{what}: backward with d_output = {d} at {p:?}"),
        );
        let (value_d, grad_d) = vab(p, d);
        assert_close(
            value_d,
            value,
            0.0,
            0.0,
            &format!("{what}: value with d_output = {d} at {p:?}"),
        );
        assert_all_close(
            &grad_d,
            &scaled,
            DUAL_REL,
            DUAL_ABS,
            &format!("{what}: value_and_backward with d_output = {d} at {p:?}"),
        );
    }
}

/// `sum_i w_i y_i` over dual numbers: the scalar whose gradient is the
/// vector-Jacobian product with `w`.
pub fn dot_dual(w: &[f64], y: &[Dual64]) -> Dual64 {
    assert_eq!(w.len(), y.len(), "d_output and output lengths differ");
    w.iter()
        .zip(y)
        .fold(c(0.0), |acc, (&wi, &yi)| acc + yi * wi)
}

/// Checks a function with an array output (flattened to `Vec<f64>` by the
/// closures) at `POINTS` random points: the gradient for a random `d_output`
/// (flat, `n_out` components) is the vector-Jacobian product, checked against
/// num-dual and finite differences of `d_output · f`; the value returned with
/// it is `f(p)`; `back` agrees with `vab`.
#[allow(clippy::too_many_arguments)]
pub fn check_vjp(
    what: &str,
    seed: u64,
    n_out: usize,
    sample: impl Fn(&mut StdRng) -> Vec<f64>,
    f: impl Fn(&[f64]) -> Vec<f64>,
    vab: impl Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
    back: impl Fn(&[f64], &[f64]) -> Vec<f64>,
    dual: impl Fn(&[Dual64]) -> Vec<Dual64>,
) {
    let mut r = rng(seed);
    let cases: Vec<(Vec<f64>, Vec<f64>)> = (0..POINTS)
        .map(|_| {
            let p = sample(&mut r);
            let d = uniform_vec(&mut r, n_out, -2.0, 2.0);
            (p, d)
        })
        .collect();
    let (f, dual) = (&f, &dual);
    let scalar = |d: &[f64]| {
        let d = d.to_vec();
        move |p: &[f64]| f(p).iter().zip(&d).map(|(y, w)| y * w).sum::<f64>()
    };
    let scalar_dual = |d: &[f64]| {
        let d = d.to_vec();
        move |p: &[Dual64]| dot_dual(&d, &dual(p))
    };
    for (p, d) in &cases {
        let ys = f(p);
        let yd: Vec<f64> = dual(&lift(p, usize::MAX)).iter().map(|y| y.re).collect();
        assert_all_close(
            &yd,
            &ys,
            DUAL_REL,
            DUAL_ABS,
            &format!("TEST BUG {what}: dual oracle outputs at {p:?}"),
        );
        check_oracle(what, p, &scalar(d), &scalar_dual(d));
    }
    for (p, d) in &cases {
        let (_, exact) = dual_gradient(&scalar_dual(d), p);
        let fd = fd_gradient(&scalar(d), p);
        let (value, grad) = vab(p, d);
        assert_all_close(
            &value,
            &f(p),
            DUAL_REL,
            DUAL_ABS,
            &format!("{what}: value of value_and_backward at {p:?}"),
        );
        assert_all_close(
            &grad,
            &exact,
            DUAL_REL,
            DUAL_ABS,
            &format!("{what}: vector-Jacobian product vs num-dual at {p:?}, d_output {d:?}"),
        );
        assert_all_close(
            &grad,
            &fd,
            FD_REL,
            FD_ABS,
            &format!(
                "{what}: vector-Jacobian product vs finite differences at {p:?}, d_output {d:?}"
            ),
        );
        assert_all_close(
            &back(p, d),
            &grad,
            DUAL_REL,
            DUAL_ABS,
            &format!("{what}: backward vs value_and_backward at {p:?}, d_output {d:?}"),
        );
    }
}

/// `[T; N]` from the first `N` values of a flat slice.
pub fn arr<const N: usize>(p: &[f64]) -> [f64; N] {
    std::array::from_fn(|i| p[i])
}

/// `[[T; M]; N]` row-major from a flat slice.
pub fn arr2<const N: usize, const M: usize>(p: &[f64]) -> [[f64; M]; N] {
    std::array::from_fn(|i| std::array::from_fn(|j| p[i * M + j]))
}

/// Dual `[D; N]` from the first `N` values of a flat slice.
pub fn darr<const N: usize>(p: &[Dual64]) -> [Dual64; N] {
    std::array::from_fn(|i| p[i])
}

/// Dual `[[D; M]; N]` row-major from a flat slice.
pub fn darr2<const N: usize, const M: usize>(p: &[Dual64]) -> [[Dual64; M]; N] {
    std::array::from_fn(|i| std::array::from_fn(|j| p[i * M + j]))
}

/// Row-major flattening of a nested array.
pub fn flat2<const N: usize, const M: usize>(a: [[f64; M]; N]) -> Vec<f64> {
    a.iter().flatten().copied().collect()
}

/// `sum_i tanh(sum_j w[i n + j] x[j])` over dual numbers, `n` the length of
/// `x`: the oracle of the `tanh` layers several tests differentiate.
pub fn tanh_layer_dual(x: &[Dual64], w: &[Dual64]) -> Dual64 {
    let n = x.len();
    let mut s = c(0.0);
    for i in 0..n {
        let mut z = c(0.0);
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += z.tanh();
    }
    s
}
