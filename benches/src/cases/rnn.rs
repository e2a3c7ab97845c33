//! Case 4: a tanh recurrent cell `h ← tanh(w h + u x[t])` over 32 steps from
//! `h = 0`, output the final `h`; gradient w.r.t. `x`, `w` and `u`.

use echidna::Reverse;
use num_dual::Dual64;

use crate::data::Rng;
use crate::{fd, Real};

pub const STEPS: usize = 32;

/// Gradient: `(dx, dw, du)`.
pub type Grad = ([f64; STEPS], f64, f64);

/// The forward function, in the form `#[differentiate]` consumes.
#[::neuron::differentiate]
pub fn rnn(x: [f64; 32], w: f64, u: f64) -> f64 {
    let mut h = 0.0;
    for t in 0..32 {
        h = (w * h + u * x[t]).tanh();
    }
    h
}

/// The same function over any [`Real`].
pub fn rnn_generic<S: Real>(x: &[S], w: S, u: S) -> S {
    let mut h = S::cst(0.0);
    for &xt in &x[..STEPS] {
        h = (w * h + u * xt).tanh();
    }
    h
}

pub fn inputs() -> ([f64; STEPS], f64, f64) {
    let mut rng = Rng::new(4);
    (rng.array(-1.0, 1.0), 0.9, 0.7)
}

/// Hand-written backward pass: store the states, then walk back.
pub fn hand(x: [f64; STEPS], w: f64, u: f64, d_output: f64) -> Grad {
    let mut hs = [0.0; STEPS + 1];
    for t in 0..STEPS {
        hs[t + 1] = (w * hs[t] + u * x[t]).tanh();
    }
    let mut dx = [0.0; STEPS];
    let (mut dw, mut du) = (0.0, 0.0);
    let mut dh = d_output;
    for t in (0..STEPS).rev() {
        let da = dh * (1.0 - hs[t + 1] * hs[t + 1]);
        dw += da * hs[t];
        du += da * x[t];
        dx[t] = da * u;
        dh = da * w;
    }
    (dx, dw, du)
}

fn pack(x: &[f64; STEPS], w: f64, u: f64) -> [f64; STEPS + 2] {
    let mut p = [0.0; STEPS + 2];
    p[..STEPS].copy_from_slice(x);
    p[STEPS] = w;
    p[STEPS + 1] = u;
    p
}

/// Forward mode: one `Dual64` pass per input (34 passes).
pub fn num_dual(x: [f64; STEPS], w: f64, u: f64) -> [f64; STEPS + 2] {
    let mut p = pack(&x, w, u).map(Dual64::from_re);
    let mut g = [0.0; STEPS + 2];
    for k in 0..STEPS + 2 {
        p[k].eps = 1.0;
        g[k] = rnn_generic(&p[..STEPS], p[STEPS], p[STEPS + 1]).eps;
        p[k].eps = 0.0;
    }
    g
}

/// Tape-based reverse mode.
pub fn echidna(x: [f64; STEPS], w: f64, u: f64) -> Vec<f64> {
    echidna::grad(
        |p: &[Reverse<f64>]| rnn_generic(&p[..STEPS], p[STEPS], p[STEPS + 1]),
        &pack(&x, w, u),
    )
}

/// Central differences: 68 forward calls.
pub fn finite_diff(x: [f64; STEPS], w: f64, u: f64) -> Vec<f64> {
    let mut p = pack(&x, w, u);
    fd::gradient(&mut p, |p| {
        rnn(p[..STEPS].try_into().unwrap(), p[STEPS], p[STEPS + 1])
    })
}

/// The `#[differentiate]`-generated backward pass.
pub fn generated(x: [f64; STEPS], w: f64, u: f64, d_output: f64) -> Grad {
    rnn_backward(x, w, u, d_output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::assert_close;

    fn flat(g: Grad) -> Vec<f64> {
        pack(&g.0, g.1, g.2).to_vec()
    }

    #[test]
    fn generic_forward_matches_plain() {
        let (x, w, u) = inputs();
        assert_eq!(rnn_generic(&x, w, u), rnn(x, w, u));
    }

    #[test]
    fn baselines_match_hand() {
        let (x, w, u) = inputs();
        let h = flat(hand(x, w, u, 1.0));
        // Exact methods; the products along the 32-step chain are formed in
        // another order, so allow a few ulps per step.
        assert_close("num_dual", &num_dual(x, w, u), &h, 1e-13);
        assert_close("echidna", &echidna(x, w, u), &h, 1e-13);
        // Smooth: truncation h^2/6 * |f'''| ~ 1e-11, rounding eps/h ~ 4e-11.
        assert_close("finite_diff", &finite_diff(x, w, u), &h, 1e-8);
    }

    #[test]
    fn generated_matches_hand() {
        let (x, w, u) = inputs();
        assert_close(
            "generated",
            &flat(generated(x, w, u, 1.0)),
            &flat(hand(x, w, u, 1.0)),
            1e-13,
        );
    }
}
