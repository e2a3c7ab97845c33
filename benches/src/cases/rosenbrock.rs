//! Case 5: the extended Rosenbrock function, n = 1000, in the chained form
//! (as `scipy.optimize.rosen`):
//! `f(x) = Σ_{i=0}^{n-2} 100 (x[i+1] - x[i]²)² + (1 - x[i])²`;
//! gradient w.r.t. `x`.

use echidna::Reverse;
use num_dual::Dual64;

use crate::data::Rng;
use crate::{fd, Real};

pub const N: usize = 1000;

/// The forward function, in the form `#[differentiate]` consumes.
#[::neuron::differentiate]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
    }
    f
}

/// The same function over any [`Real`].
pub fn rosenbrock_generic<S: Real>(x: &[S]) -> S {
    let (one, hundred) = (S::cst(1.0), S::cst(100.0));
    let mut f = S::cst(0.0);
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = one - x[i];
        f += hundred * a * a + b * b;
    }
    f
}

pub fn inputs() -> Vec<f64> {
    Rng::new(5).vec(N, -2.0, 2.0)
}

/// Hand-written backward pass: one sweep, the `x[i+1]` contribution of term
/// `i` carried in a register into entry `i + 1`.
pub fn hand(x: &[f64], d_output: f64) -> Vec<f64> {
    let n = x.len();
    let mut g = Vec::with_capacity(n);
    let mut carry = 0.0;
    for i in 0..n - 1 {
        let xi = x[i];
        let da = 200.0 * d_output * (x[i + 1] - xi * xi);
        g.push(carry - 2.0 * xi * da - 2.0 * d_output * (1.0 - xi));
        carry = da;
    }
    g.push(carry);
    g
}

/// Forward mode: one `Dual64` pass per input (1000 passes over all 999
/// terms; no use of the sparsity, as a generic forward-mode user would).
pub fn num_dual(x: &[f64]) -> Vec<f64> {
    let mut p: Vec<Dual64> = x.iter().copied().map(Dual64::from_re).collect();
    let mut g = vec![0.0; x.len()];
    for k in 0..x.len() {
        p[k].eps = 1.0;
        g[k] = rosenbrock_generic(&p).eps;
        p[k].eps = 0.0;
    }
    g
}

/// Tape-based reverse mode.
pub fn echidna(x: &[f64]) -> Vec<f64> {
    echidna::grad(|p: &[Reverse<f64>]| rosenbrock_generic(p), x)
}

/// Central differences: 2000 forward calls.
pub fn finite_diff(x: &[f64]) -> Vec<f64> {
    let mut p = x.to_vec();
    fd::gradient(&mut p, rosenbrock)
}

/// The `#[differentiate]`-generated backward pass.
pub fn generated(x: &[f64], d_output: f64) -> Vec<f64> {
    rosenbrock_backward(x, d_output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::assert_close;

    #[test]
    fn generic_forward_matches_plain() {
        let x = inputs();
        assert_eq!(rosenbrock_generic(&x), rosenbrock(&x));
        assert_eq!(rosenbrock(&[1.0; N]), 0.0);
    }

    #[test]
    fn hand_is_zero_at_the_minimum_and_matches_n2() {
        assert!(hand(&[1.0; N], 1.0).iter().all(|g| *g == 0.0));
        // n = 2: df/dx0 = -400 x0 (x1 - x0^2) - 2 (1 - x0), df/dx1 = 200 (x1 - x0^2).
        let g = hand(&[-1.2, 1.0], 1.0);
        assert_close("n=2", &g, &[-215.6, -88.0], 1e-14);
    }

    #[test]
    fn baselines_match_hand() {
        let x = inputs();
        let h = hand(&x, 1.0);
        assert_close("num_dual", &num_dual(&x), &h, 1e-14);
        assert_close("echidna", &echidna(&x), &h, 1e-14);
        // |f| ~ 1e5 here: rounding eps * |f| / h ~ 4e-6 absolute against
        // entries up to ~3e3; truncation h^2/6 * 2400 |x| ~ 3e-8.
        assert_close("finite_diff", &finite_diff(&x), &h, 1e-7);
    }

    #[test]
    fn generated_matches_hand() {
        let x = inputs();
        assert_close("generated", &generated(&x, 1.0), &hand(&x, 1.0), 1e-14);
    }
}
