//! Not one of the five cases: a call that passes data to a
//! `#[no_grad]` parameter. A loss squares a 64 → 64 `tanh` layer
//! (`sum_i tanh(w_i · x)`) applied to a sample `x`, calling the layer as a
//! differentiated function; the gradient is w.r.t. `w` only. The call runs
//! the layer's own sweep, which does not compute `d_x`; `generated_plain`
//! calls a copy of the layer without `#[no_grad]`, which leaves `d_x` out
//! because the call says `x` has no gradient; `generated_all`
//! passes `x` as an activation (with a gradient), so the call computes
//! `d_x` too, as every call did before session 22. num-dual and central
//! differences are left out: with 4 096 inputs they need 4 096 and 8 192
//! passes (tens of milliseconds), and the cases already compare
//! them.

use echidna::Reverse;

use crate::data::Rng;
use crate::Real;

pub const N: usize = 64;

/// The layer, `sum_i tanh(sum_j w[i n + j] x[j])` with its size read off
/// `x`, twice: with `#[no_grad] x` and without (as a layer used both first,
/// on data, and deeper, on activations, is written).
macro_rules! tanh_layer_fn {
    ($(#[$doc:meta])* $name:ident, $($x_attr:tt)*) => {
        $(#[$doc])*
        #[::neuron::differentiate]
        pub fn $name($($x_attr)* x: &[f64], w: &[f64]) -> f64 {
            let n = x.len();
            let mut s = 0.0;
            for i in 0..n {
                let mut z = 0.0;
                for j in 0..n {
                    z += w[i * n + j] * x[j];
                }
                s += z.tanh();
            }
            s
        }
    };
}
tanh_layer_fn!(
    /// The layer, with `#[no_grad] x`.
    tanh_layer,
    #[no_grad]
);
tanh_layer_fn!(
    /// The layer without `#[no_grad]`.
    tanh_layer_plain,
);

/// The loss, calling the layer with data.
#[::neuron::differentiate]
pub fn loss(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
    let a = tanh_layer(x, w);
    a * a
}

/// The loss calling that layer with data: the call tells the layer that
/// `x` has no gradient, and the layer's reverse sweep leaves out `d_x`.
#[::neuron::differentiate]
pub fn loss_plain(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
    let a = tanh_layer_plain(x, w);
    a * a
}

/// The same loss with `x` differentiable, so the call computes `d_x` too.
#[::neuron::differentiate]
pub fn loss_all(x: &[f64], w: &[f64]) -> f64 {
    let a = tanh_layer(x, w);
    a * a
}

/// The loss over any [`Real`].
pub fn loss_generic<S: Real>(x: &[S], w: &[S]) -> S {
    let n = x.len();
    let mut s = S::cst(0.0);
    for i in 0..n {
        let mut z = S::cst(0.0);
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += z.tanh();
    }
    s * s
}

pub fn inputs() -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng::new(6);
    (rng.vec(N, -1.0, 1.0), rng.vec(N * N, -0.2, 0.2))
}

/// Hand-written: the layer's sums, then `d_w[i n + j] = 2 a (1 - t_i²) x[j]`.
pub fn hand(x: &[f64], w: &[f64], d_output: f64) -> Vec<f64> {
    let n = x.len();
    let mut t = vec![0.0; n];
    let mut a = 0.0;
    for (i, ti) in t.iter_mut().enumerate() {
        let row = &w[i * n..(i + 1) * n];
        let z: f64 = row.iter().zip(x).map(|(w, x)| w * x).sum();
        *ti = z.tanh();
        a += *ti;
    }
    let mut dw = vec![0.0; n * n];
    for (i, ti) in t.iter().enumerate() {
        let dz = d_output * 2.0 * a * (1.0 - ti * ti);
        for (d, xj) in dw[i * n..(i + 1) * n].iter_mut().zip(x) {
            *d = dz * xj;
        }
    }
    dw
}

/// The layer alone, by hand: its backward pass `d_w[i n + j] = d (1 - t_i²)
/// x[j]`, the sums first, then the rows, as in [`hand`].
pub fn hand_layer(x: &[f64], w: &[f64], d_output: f64) -> Vec<f64> {
    let n = x.len();
    let mut t = vec![0.0; n];
    for (i, ti) in t.iter_mut().enumerate() {
        let row = &w[i * n..(i + 1) * n];
        let z: f64 = row.iter().zip(x).map(|(w, x)| w * x).sum();
        *ti = z.tanh();
    }
    let mut dw = vec![0.0; n * n];
    for (i, ti) in t.iter().enumerate() {
        let dz = d_output * (1.0 - ti * ti);
        for (d, xj) in dw[i * n..(i + 1) * n].iter_mut().zip(x) {
            *d = dz * xj;
        }
    }
    dw
}

/// The layer alone, generated: `tanh_layer_backward`, whose loop is fused
/// (each row's reverse runs in the loop of the forward, one row late).
pub fn generated_layer(x: &[f64], w: &[f64], d_output: f64) -> Vec<f64> {
    tanh_layer_backward(x, w, d_output)
}

/// The `#[differentiate]`-generated backward pass, through the call.
pub fn generated(x: &[f64], w: &[f64], d_output: f64) -> Vec<f64> {
    loss_backward(x, w, d_output)
}

/// The same through [`tanh_layer_plain`], which has no `#[no_grad]`.
pub fn generated_plain(x: &[f64], w: &[f64], d_output: f64) -> Vec<f64> {
    loss_plain_backward(x, w, d_output)
}

/// The same, with `x` active: the call's pullback computes `d_x` as well.
pub fn generated_all(x: &[f64], w: &[f64], d_output: f64) -> (Vec<f64>, Vec<f64>) {
    loss_all_backward(x, w, d_output)
}

/// Tape-based reverse mode, gradient w.r.t. `w` (and `x`, which it tapes).
pub fn echidna(x: &[f64], w: &[f64]) -> Vec<f64> {
    let mut p = x.to_vec();
    p.extend_from_slice(w);
    echidna::grad(|p: &[Reverse<f64>]| loss_generic(&p[..N], &p[N..]), &p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::assert_close;

    #[test]
    fn generic_forward_matches_plain() {
        let (x, w) = inputs();
        assert_eq!(loss_generic(&x, &w), loss(&x, &w));
    }

    #[test]
    fn every_variant_matches_hand() {
        let (x, w) = inputs();
        let h = hand(&x, &w, 1.0);
        assert_close("generated", &generated(&x, &w, 1.0), &h, 1e-13);
        assert_close("generated_plain", &generated_plain(&x, &w, 1.0), &h, 1e-13);
        let (dx, dw) = generated_all(&x, &w, 1.0);
        assert_close("generated_all", &dw, &h, 1e-13);
        assert_close(
            "generated_layer",
            &generated_layer(&x, &w, 1.0),
            &hand_layer(&x, &w, 1.0),
            1e-13,
        );
        let e = echidna(&x, &w);
        assert_close("echidna d_w", &e[N..], &h, 1e-13);
        assert_close("echidna d_x", &e[..N], &dx, 1e-13);
    }
}
