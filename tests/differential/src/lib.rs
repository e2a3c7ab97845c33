//! Runtime of the differential tests: the oracles' helpers that the generated
//! code (see `build.rs`) calls, and the per-point check.
//!
//! Every generated function `gN` exists twice: as plain `f64` code annotated
//! `#[neuron::differentiate]`, and as `gN_dual` over [`Dual64`], written with
//! the helpers below. The helpers for everything that is not smooth everywhere
//! (comparisons, `abs`, `signum`, `max`, `min`, `relu`, `leaky_relu`, `%`,
//! `hypot`, `atan2`) record how far their argument is from the switching point
//! ([`kink`]); [`check_point`] rejects a sample point whose smallest such
//! distance is below [`KINK_MARGIN`], so both oracles only ever see points
//! where the function is smooth in a whole neighbourhood.

#[path = "../../common/mod.rs"]
pub mod common;

pub use common::{act, assert_close, c, fd_gradient, lift, rng};
pub use num_dual::{Dual64, DualNum};
pub use rand::rngs::StdRng;
pub use rand::Rng;
use std::cell::Cell;

/// Smallest accepted distance of any evaluated switching quantity from its
/// switch. The finite-difference step moves an input by at most
/// `1e-6 * max(1, |x|) <= 3e-6`; the intermediate quantities of the generated
/// functions have derivatives below ~1e2 with respect to an input, so they move
/// by < 1e-3 and a margin of 1e-2 keeps every step on the smooth side.
pub const KINK_MARGIN: f64 = 1e-2;

/// Tolerance against num-dual (the brief's "tight" check): both compute the
/// exact derivative in floating point, differing only in rounding order.
pub const DUAL_REL: f64 = 1e-9;

/// Tolerance against central finite differences (loose). With
/// `h = 1e-6 max(1,|x|)`, truncation is `h^2 |f'''| / 6 < 1e-12 |f'''|` and
/// rounding is `~k eps F / h` where `F` is the magnitude of the intermediate
/// values (kept below ~1e2 by the generator) and `k` the number of operations
/// (< ~100): `100 * 2.2e-16 * 1e2 / 1e-6 ~ 2e-6`. So errors are compared to
/// `FD_TOL * (1 + |g| + |f|)`; observed errors are below 1e-7 and a wrong
/// derivative is off by O(|g|).
pub const FD_TOL: f64 = 2e-5;

/// Points with a larger value are rejected (the generator keeps values small;
/// this only guards against the rare blow-up of a composed bound).
pub const MAX_VALUE: f64 = 1e4;

thread_local! {
    static MARGIN: Cell<f64> = const { Cell::new(f64::INFINITY) };
}

/// Records the distance `m` of a switching quantity from its switch.
///
/// An exact `0.0` at a random point is a structural tie (`relu` of `x - x`,
/// `t <= x` after `let t = x;`): the two sides move together under any
/// perturbation, so the branch taken never changes near the point and both
/// oracles (num-dual through the helpers of `tests/common`, which follow the
/// contract's tie rules) stay valid. Those are not counted.
///
/// A NaN distance (a comparison, `max` or `min` with a NaN operand: some
/// intermediate overflowed) rejects the point: `max`/`min` can hide the NaN
/// from the value, while reverse mode multiplies the zero gradient it sends
/// that way by NaN partials (`0 · NaN = NaN`), which forward mode never forms.
pub fn kink(m: f64) {
    if m.is_nan() {
        MARGIN.with(|c| c.set(0.0));
    } else if m != 0.0 {
        MARGIN.with(|c| c.set(c.get().min(m.abs())));
    }
}

/// Records the distance of an argument from a singular point of a
/// derivative (`hypot` and `atan2` at the origin). Unlike [`kink`], an exact 0
/// counts: a structural zero there is still a point without a derivative.
pub fn pole(m: f64) {
    let m = if m.is_nan() { 0.0 } else { m.abs() };
    MARGIN.with(|c| c.set(c.get().min(m)));
}

fn reset_margin() {
    MARGIN.with(|c| c.set(f64::INFINITY));
}

fn margin() -> f64 {
    MARGIN.with(Cell::get)
}

pub fn lt(a: Dual64, b: Dual64) -> bool {
    kink(a.re - b.re);
    a.re < b.re
}
pub fn le(a: Dual64, b: Dual64) -> bool {
    kink(a.re - b.re);
    a.re <= b.re
}
pub fn gt(a: Dual64, b: Dual64) -> bool {
    kink(a.re - b.re);
    a.re > b.re
}
pub fn ge(a: Dual64, b: Dual64) -> bool {
    kink(a.re - b.re);
    a.re >= b.re
}
pub fn dabs(x: Dual64) -> Dual64 {
    kink(x.re);
    common::dabs(x)
}
pub fn dsignum(x: Dual64) -> Dual64 {
    kink(x.re);
    common::dsignum(x)
}
pub fn dmax(a: Dual64, b: Dual64) -> Dual64 {
    kink(a.re - b.re);
    common::dmax(a, b)
}
pub fn dmin(a: Dual64, b: Dual64) -> Dual64 {
    kink(a.re - b.re);
    common::dmin(a, b)
}
pub fn drelu(x: Dual64) -> Dual64 {
    kink(x.re);
    act::relu(x)
}
pub fn dleaky(x: Dual64, alpha: Dual64) -> Dual64 {
    kink(x.re);
    act::leaky_relu(x, alpha)
}
pub fn dsigmoid(x: Dual64) -> Dual64 {
    act::sigmoid(x)
}
pub fn dsoftplus(x: Dual64) -> Dual64 {
    act::softplus(x)
}
pub fn dgelu(x: Dual64) -> Dual64 {
    act::gelu(x)
}
pub fn dsilu(x: Dual64) -> Dual64 {
    act::silu(x)
}
/// `a % b = a - b trunc(a / b)`: jumps where `a / b` crosses a nonzero
/// integer (`trunc` is continuous at 0).
pub fn drem(a: Dual64, b: Dual64) -> Dual64 {
    let q = a.re / b.re;
    let to_jump = if q.abs() < 1.0 {
        1.0 - q.abs()
    } else {
        (q - q.round()).abs()
    };
    kink(to_jump * b.re);
    // The value is f64's `%` itself: the oracle's value must be bit for bit
    // the plain function's, or long chains amplify the last-bit difference.
    Dual64::new(a.re % b.re, a.eps - b.eps * q.trunc())
}
/// `sqrt(a^2 + b^2)`: not differentiable at the origin. The value is f64's
/// `hypot`, as in the plain function.
pub fn dhypot(a: Dual64, b: Dual64) -> Dual64 {
    let r = a.re.hypot(b.re);
    pole(r);
    Dual64::new(r, (a.re * a.eps + b.re * b.eps) / r)
}
/// `tanh` with f64's value and derivative `1 - tanh²`. num-dual's `tanh` is
/// `sinh / cosh`, whose value differs from f64's in the last bits and whose
/// derivative comes from the quotient rule; through a long chain that left
/// the oracle 1.8e-8 (relative) off the converged finite differences where
/// the macro matched them (the 10 000-function run, g9419).
///
/// `tanh` squashes an overflowed intermediate to ±1 and hides it from the
/// value, while reverse mode then forms `0 · inf = NaN` upstream (g968 of the
/// 10 000-function run): a non-finite argument rejects the point, as a NaN
/// hidden by `max` does.
pub fn dtanh(x: Dual64) -> Dual64 {
    if !x.re.is_finite() {
        pole(f64::NAN);
    }
    let t = x.re.tanh();
    Dual64::new(t, x.eps * (1.0 - t * t))
}
/// `a.mul_add(b, c)`: the value fused (one rounding) as f64's `mul_add` is.
pub fn dmul_add(a: Dual64, b: Dual64, c: Dual64) -> Dual64 {
    Dual64::new(
        a.re.mul_add(b.re, c.re),
        a.eps * b.re + a.re * b.eps + c.eps,
    )
}
/// `atan2(y, x)`, written out: jumps across the negative x axis.
pub fn datan2(y: Dual64, x: Dual64) -> Dual64 {
    let r2 = x.re * x.re + y.re * y.re;
    pole(r2.sqrt());
    if x.re < 0.0 {
        kink(y.re);
    }
    Dual64::new(y.re.atan2(x.re), (x.re * y.eps - y.re * x.eps) / r2)
}

/// `[T; N]` from the first `N` values of a slice.
pub fn arr<T: Copy, const N: usize>(p: &[T]) -> [T; N] {
    std::array::from_fn(|i| p[i])
}

/// `[[T; M]; N]` row-major from a slice.
pub fn arr2<T: Copy, const N: usize, const M: usize>(p: &[T]) -> [[T; M]; N] {
    std::array::from_fn(|i| std::array::from_fn(|j| p[i * M + j]))
}

/// Flattening of values, arrays, vectors and gradient tuples, in order.
pub trait Flat<T> {
    fn put(&self, out: &mut Vec<T>);
}
impl Flat<f64> for f64 {
    fn put(&self, out: &mut Vec<f64>) {
        out.push(*self);
    }
}
impl Flat<Dual64> for Dual64 {
    fn put(&self, out: &mut Vec<Dual64>) {
        out.push(*self);
    }
}
impl<T, A: Flat<T>, const N: usize> Flat<T> for [A; N] {
    fn put(&self, out: &mut Vec<T>) {
        self.iter().for_each(|a| a.put(out));
    }
}
impl<T, A: Flat<T>> Flat<T> for Vec<A> {
    fn put(&self, out: &mut Vec<T>) {
        self.iter().for_each(|a| a.put(out));
    }
}
macro_rules! flat_tuple {
    ($($n:ident $i:tt),*) => {
        impl<T, $($n: Flat<T>),*> Flat<T> for ($($n,)*) {
            fn put(&self, out: &mut Vec<T>) {
                $(self.$i.put(out);)*
            }
        }
    };
}
flat_tuple!(A 0, B 1);
flat_tuple!(A 0, B 1, C 2);
flat_tuple!(A 0, B 1, C 2, D 3);
flat_tuple!(A 0, B 1, C 2, D 3, E 4);
flat_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
flat_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);

pub fn flat<T, A: Flat<T>>(a: &A) -> Vec<T> {
    let mut out = Vec::new();
    a.put(&mut out);
    out
}

/// `NAME_value_and_backward(p, d)` as closure: value and gradient, flattened.
pub type Vab<'a> = &'a dyn Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>);
/// `NAME_backward(p, d)` as closure, flattened.
pub type Back<'a> = &'a dyn Fn(&[f64], &[f64]) -> Vec<f64>;

/// One generated function at one point, as closures over the flat list of its
/// float inputs (integer and bool arguments are fixed by the caller).
pub struct Case<'a> {
    /// Which flat coordinates are differentiable (not `#[no_grad]`).
    pub grad: Vec<bool>,
    /// Number of output components.
    pub n_out: usize,
    pub f: &'a dyn Fn(&[f64]) -> Vec<f64>,
    pub dual: &'a dyn Fn(&[Dual64]) -> Vec<Dual64>,
    /// `NAME_value_and_backward(p, d)`, value and gradient flattened.
    pub vab: Vab<'a>,
    /// `NAME_backward(p, d)`, flattened.
    pub back: Back<'a>,
}

thread_local! {
    /// Points drawn again because the oracles disagreed (see `check_point`).
    static RETRIES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Exact vector-Jacobian product with weights `d` at `p` by forward mode,
/// differentiable coordinates only.
pub fn vjp(case: &Case, p: &[f64], d: &[f64]) -> Vec<f64> {
    (0..case.grad.len())
        .filter(|&i| case.grad[i])
        .map(|i| {
            (case.dual)(&lift(p, i))
                .iter()
                .zip(d)
                .map(|(v, w)| v.eps * w)
                .sum()
        })
        .collect()
}

/// Whether the exact gradient at `p` stays within the tolerance when the
/// point moves by 1e-12 (relative). Where it does not, no gradient is
/// determined to that tolerance by floating point, so it is not a point to
/// judge the macro at (the 10 000-function run found `cos(cosh(26.5))` inside
/// a callee, g4802: both ADs 1e-3 off the converged finite differences).
pub fn well_conditioned(case: &Case, p: &[f64], d: &[f64]) -> bool {
    let exact = vjp(case, p, d);
    let nearby: Vec<f64> = p.iter().map(|x| x + 1e-12 * (1.0 + x.abs())).collect();
    let scale = exact.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    exact
        .iter()
        .zip(vjp(case, &nearby, d))
        .all(|(a, b)| common::is_close(*a, b, DUAL_REL, DUAL_REL * scale))
}

/// Draws a smooth point (rejecting those within [`KINK_MARGIN`] of a switch)
/// and checks the generated gradient there against num-dual (relative 1e-9)
/// and finite differences. Returns `false` if no smooth point was found.
pub fn check_point(what: &str, r: &mut StdRng, case: &Case) -> bool {
    let n = case.grad.len();
    let mut found = None;
    for _ in 0..200 {
        let p: Vec<f64> = (0..n).map(|_| r.random_range(-2.0..2.0)).collect();
        reset_margin();
        let y = (case.dual)(&lift(&p, usize::MAX));
        // The plain function and its dual rendering compute the same value
        // with the same operations; where they still differ past the
        // tolerance, an intermediate is so large that the last bit decides
        // the result (`sin` of 1e126 after an `exp_m1` recursion): the
        // function is not smooth at that scale, and no oracle is valid there.
        let ill_conditioned = {
            let plain = (case.f)(&p);
            let scale = plain.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            y.iter()
                .zip(&plain)
                .any(|(d, v)| !common::is_close(d.re, *v, DUAL_REL, DUAL_REL * scale))
        };
        if margin() < KINK_MARGIN
            || ill_conditioned
            || y.iter()
                .any(|y| !y.re.is_finite() || y.re.abs() >= MAX_VALUE)
        {
            if std::env::var_os("NEURON_DIFF_DEBUG").is_some() {
                let y: Vec<f64> = y.iter().map(|v| v.re).collect();
                eprintln!(
                    "{what}: rejected {p:?}: kink margin {:e}, value {y:?}",
                    margin()
                );
            }
            continue;
        }
        found = Some(p);
        break;
    }
    let Some(p) = found else {
        return false;
    };
    let d: Vec<f64> = (0..case.n_out)
        .map(|_| r.random_range(0.25..2.0) * if r.random_bool(0.5) { 1.0 } else { -1.0 })
        .collect();
    let what = format!("{what} at p = {p:?}, d_output = {d:?}");
    let y = (case.f)(&p);
    let yd: Vec<f64> = (case.dual)(&lift(&p, usize::MAX))
        .iter()
        .map(|v| v.re)
        .collect();
    let scale_y = y.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (a, b) in yd.iter().zip(&y) {
        assert_close(
            *a,
            *b,
            DUAL_REL,
            DUAL_REL * scale_y,
            &format!("TEST BUG {what}: dual value"),
        );
    }
    let exact = vjp(case, &p, &d);
    if exact.iter().any(|g| !g.is_finite()) {
        // The oracle itself has no derivative here (e.g. `sqrt` at an exact
        // structural 0 inside a helper): not a point to judge the macro at.
        return false;
    }
    if !well_conditioned(case, &p, &d) {
        return false;
    }
    let scalar = |q: &[f64]| (case.f)(q).iter().zip(&d).map(|(v, w)| v * w).sum::<f64>();
    let fd_all = fd_gradient(&scalar, &p);
    let fd: Vec<f64> = (0..n)
        .filter(|&i| case.grad[i])
        .map(|i| fd_all[i])
        .collect();
    // The two oracles must agree before either judges the macro: where central
    // differences miss the exact derivative (a point of huge curvature, or a
    // `while` whose trip count changes within the step), finite differences
    // are not valid there, like at a kink. Draw another point (a few times).
    let sy_oracle: f64 = y.iter().zip(&d).map(|(v, w)| (v * w).abs()).sum();
    let oracles_agree = exact
        .iter()
        .zip(&fd)
        .all(|(e, f)| (e - f).abs() <= FD_TOL * (1.0 + e.abs() + sy_oracle));
    if !oracles_agree {
        let retries = RETRIES.with(|c| c.get());
        if retries >= 20 {
            RETRIES.with(|c| c.set(0));
            return false;
        }
        RETRIES.with(|c| c.set(retries + 1));
        let judged = check_point(&what, r, case);
        RETRIES.with(|c| c.set(0));
        return judged;
    }
    let (value, grad) = (case.vab)(&p, &d);
    let back = (case.back)(&p, &d);
    assert_eq!(value.len(), y.len(), "{what}: output length");
    for (i, (a, b)) in value.iter().zip(&y).enumerate() {
        assert_close(
            *a,
            *b,
            1e-12,
            1e-12 * scale_y,
            &format!("{what}: value_and_backward value {i}"),
        );
    }
    assert_eq!(grad.len(), exact.len(), "{what}: gradient length");
    assert_eq!(back.len(), exact.len(), "{what}: backward gradient length");
    let scale_g = exact.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let sy: f64 = y.iter().zip(&d).map(|(v, w)| (v * w).abs()).sum();
    for i in 0..exact.len() {
        assert_close(
            grad[i],
            exact[i],
            DUAL_REL,
            DUAL_REL * scale_g,
            &format!("{what}: gradient component {i} vs num-dual\n  got   {grad:?}\n  exact {exact:?}\n "),
        );
        assert_close(
            back[i],
            grad[i],
            1e-12,
            1e-12 * scale_g,
            &format!("{what}: _backward vs _value_and_backward component {i}\n  back {back:?}\n  vab  {grad:?}\n "),
        );
        assert_close(
            grad[i],
            fd[i],
            0.0,
            FD_TOL * (1.0 + exact[i].abs() + sy),
            &format!("{what}: gradient component {i} vs finite differences\n  got   {grad:?}\n  fd    {fd:?}\n "),
        );
    }
    true
}

/// Checks `points` smooth points of one generated function. `one` fixes the
/// integer/bool arguments and slice lengths, then calls [`check_point`].
///
/// A few generated functions compare two values that are equal by
/// construction (`let t = x; … if t <= x`), a kink at every point; with no
/// smooth point to be found they are skipped (printed with `--nocapture`),
/// since neither oracle says anything there.
pub fn run(name: &str, seed: u64, points: usize, mut one: impl FnMut(&str, &mut StdRng) -> bool) {
    let mut r = rng(seed);
    let what = format!("{name} (generator seed {seed:#x})");
    let mut checked = 0;
    let mut tries = 0;
    while checked < points {
        tries += 1;
        if tries > 2 * points + 4 {
            println!("SKIPPED {what}: no smooth point found ({checked} checked)");
            return;
        }
        if one(&what, &mut r) {
            checked += 1;
        }
    }
}
