//! Case 3: the network loss. A 2 → 64 dense layer with ReLU, a 64 → 3 dense
//! layer, softmax and mean categorical cross-entropy over a batch of 300
//! (spiral data, 3 classes × 100 points); gradient w.r.t. all weights and
//! biases (387 parameters).
//!
//! Layouts: `w1[i * 64 + j]` is input `i` → hidden `j`, `w2[j * 3 + k]` is
//! hidden `j` → class `k`; `x[2 * n + i]` is feature `i` of sample `n`.

use echidna::Reverse;
use num_dual::Dual64;

use crate::data::Rng;
use crate::{fd, Real};

pub const BATCH: usize = 300;
pub const HIDDEN: usize = 64;
pub const CLASSES: usize = 3;
/// Number of parameters: 2·64 + 64 + 64·3 + 3.
pub const PARAMS: usize = 2 * HIDDEN + HIDDEN + HIDDEN * CLASSES + CLASSES;

/// Gradient: `(dw1, db1, dw2, db2)`, lengths 128, 64, 192, 3.
pub type Grad = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// `-ln softmax(z)[label]`, computed as `logsumexp(z) - z[label]` with the
/// maximum subtracted for stability. The forward function, in the form
/// `#[differentiate]` consumes.
#[::neuron::differentiate]
pub fn cross_entropy(z: [f64; 3], label: usize) -> f64 {
    let mut m = z[0];
    for k in 1..3 {
        if z[k] > m {
            m = z[k];
        }
    }
    let mut s = 0.0;
    for k in 0..3 {
        s += (z[k] - m).exp();
    }
    m + s.ln() - z[label]
}

/// The mean loss over the batch twice, in the form `#[differentiate]`
/// consumes: `network_loss` with the default IEEE semantics,
/// `network_loss_skip` with `skip_inactive`.
macro_rules! network_loss_fn {
    ($(#[$doc:meta])* $name:ident, $($attr:tt)*) => {
        $(#[$doc])*
        #[$($attr)*]
        pub fn $name(
            w1: &[f64],
            b1: &[f64],
            w2: &[f64],
            b2: &[f64],
            #[no_grad] x: &[f64],
            labels: &[usize],
        ) -> f64 {
            let mut total = 0.0;
            for n in 0..300 {
                let mut h = [0.0; 64];
                for j in 0..64 {
                    h[j] = ::neuron::relu(x[2 * n] * w1[j] + x[2 * n + 1] * w1[64 + j] + b1[j]);
                }
                let mut z = [b2[0], b2[1], b2[2]];
                for j in 0..64 {
                    for k in 0..3 {
                        z[k] += h[j] * w2[j * 3 + k];
                    }
                }
                total += cross_entropy(z, labels[n]);
            }
            total / 300.0
        }
    };
}
network_loss_fn!(
    /// The mean loss over the batch. The forward function, in the form
    /// `#[differentiate]` consumes (calls [`cross_entropy`]). The logits are
    /// summed with the hidden unit in the outer loop, as in [`hand`]: three
    /// independent sums, not one after the other, so both compute the same
    /// forward pass the same way.
    network_loss,
    ::neuron::differentiate
);
network_loss_fn!(
    /// [`network_loss`] with `#[differentiate(skip_inactive)]`: the reverse
    /// of the hidden layer for a unit that is off is skipped.
    network_loss_skip,
    ::neuron::differentiate(skip_inactive)
);

/// [`network_loss`] with its sizes read off its arguments, as a network
/// whose width is a setting is written: the hidden layer is `b1.len()` wide,
/// in a `vec!` buffer per sample, and the batch is `labels.len()` long.
#[::neuron::differentiate]
pub fn network_loss_sized(
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
    #[no_grad] x: &[f64],
    labels: &[usize],
) -> f64 {
    let nh = b1.len();
    let mut total = 0.0;
    for n in 0..labels.len() {
        let mut h = vec![0.0; nh];
        for j in 0..nh {
            h[j] = ::neuron::relu(x[2 * n] * w1[j] + x[2 * n + 1] * w1[nh + j] + b1[j]);
        }
        let mut z = [b2[0], b2[1], b2[2]];
        for j in 0..nh {
            for k in 0..3 {
                z[k] += h[j] * w2[j * 3 + k];
            }
        }
        total += cross_entropy(z, labels[n]);
    }
    total / labels.len() as f64
}

/// The same function over any [`Real`] (data stays `f64`).
pub fn network_loss_generic<S: Real>(
    w1: &[S],
    b1: &[S],
    w2: &[S],
    b2: &[S],
    x: &[f64],
    labels: &[usize],
) -> S {
    let mut total = S::cst(0.0);
    let mut h = [S::cst(0.0); HIDDEN];
    for n in 0..BATCH {
        let (x0, x1) = (S::cst(x[2 * n]), S::cst(x[2 * n + 1]));
        for j in 0..HIDDEN {
            h[j] = (x0 * w1[j] + x1 * w1[HIDDEN + j] + b1[j]).relu();
        }
        let mut z = [b2[0], b2[1], b2[2]];
        for j in 0..HIDDEN {
            for k in 0..CLASSES {
                z[k] += h[j] * w2[j * CLASSES + k];
            }
        }
        let mut m = z[0];
        for &zk in &z[1..] {
            if zk.val() > m.val() {
                m = zk;
            }
        }
        let mut s = S::cst(0.0);
        for &zk in &z {
            s += (zk - m).exp();
        }
        total += m + s.ln() - z[labels[n]];
    }
    total / S::cst(BATCH as f64)
}

/// Parameters, data and labels.
pub struct Inputs {
    pub w1: Vec<f64>,
    pub b1: Vec<f64>,
    pub w2: Vec<f64>,
    pub b2: Vec<f64>,
    pub x: Vec<f64>,
    pub labels: Vec<usize>,
}

/// Spiral data as in "Neural Networks from Scratch" (`spiral_data(100, 3)`,
/// with uniform instead of Gaussian noise), weights uniform so that
/// pre-activations are O(1).
pub fn inputs() -> Inputs {
    let mut rng = Rng::new(3);
    let per_class = BATCH / CLASSES;
    let mut x = Vec::with_capacity(2 * BATCH);
    let mut labels = Vec::with_capacity(BATCH);
    for c in 0..CLASSES {
        for i in 0..per_class {
            let r = i as f64 / (per_class - 1) as f64;
            let t = (c as f64 * 4.0 + 4.0 * r + rng.uniform(-0.35, 0.35)) * 2.5;
            x.push(r * t.sin());
            x.push(r * t.cos());
            labels.push(c);
        }
    }
    Inputs {
        w1: rng.vec(2 * HIDDEN, -1.0, 1.0),
        b1: rng.vec(HIDDEN, -0.5, 0.5),
        w2: rng.vec(HIDDEN * CLASSES, -0.3, 0.3),
        b2: rng.vec(CLASSES, -0.1, 0.1),
        x,
        labels,
    }
}

/// Hand-written backward pass: `d(loss)/d(params) * d_output`.
pub fn hand(
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
    x: &[f64],
    labels: &[usize],
    d_output: f64,
) -> Grad {
    hand_impl::<true>(w1, b1, w2, b2, x, labels, d_output)
}

/// Hand-written backward pass with the IEEE semantics of the generated one:
/// [`hand`] without the skip of a hidden unit whose ReLU is off. Its zero adjoint
/// is propagated, so a NaN or infinite input gives `0 * NaN = NaN` where [`hand`] gives 0.
pub fn hand_ieee(
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
    x: &[f64],
    labels: &[usize],
    d_output: f64,
) -> Grad {
    hand_impl::<false>(w1, b1, w2, b2, x, labels, d_output)
}

/// Both hand-written backward passes: `SKIP` skips the update of a hidden
/// unit whose ReLU is off; without it, the unit's zero adjoint is
/// propagated. The constant is folded, so each is its own loop.
#[inline(always)]
fn hand_impl<const SKIP: bool>(
    w1: &[f64],
    b1: &[f64],
    w2: &[f64],
    b2: &[f64],
    x: &[f64],
    labels: &[usize],
    d_output: f64,
) -> Grad {
    let mut dw1 = vec![0.0; 2 * HIDDEN];
    let mut db1 = vec![0.0; HIDDEN];
    let mut dw2 = vec![0.0; HIDDEN * CLASSES];
    let mut db2 = vec![0.0; CLASSES];
    let scale = d_output / BATCH as f64;
    let mut pre = [0.0; HIDDEN];
    let mut h = [0.0; HIDDEN];
    for n in 0..BATCH {
        let (x0, x1) = (x[2 * n], x[2 * n + 1]);
        for j in 0..HIDDEN {
            pre[j] = x0 * w1[j] + x1 * w1[HIDDEN + j] + b1[j];
            h[j] = if pre[j] > 0.0 { pre[j] } else { 0.0 };
        }
        let mut z = [b2[0], b2[1], b2[2]];
        for j in 0..HIDDEN {
            for k in 0..CLASSES {
                z[k] += h[j] * w2[j * CLASSES + k];
            }
        }
        // dL/dz = (softmax(z) - onehot(label)) / BATCH.
        let m = z[0].max(z[1]).max(z[2]);
        let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
        let inv = scale / (e[0] + e[1] + e[2]);
        let mut dz = [e[0] * inv, e[1] * inv, e[2] * inv];
        dz[labels[n]] -= scale;
        for k in 0..CLASSES {
            db2[k] += dz[k];
        }
        for j in 0..HIDDEN {
            let on = pre[j] > 0.0;
            if SKIP && !on {
                continue;
            }
            let wj = &w2[j * CLASSES..j * CLASSES + CLASSES];
            let dpre = if on {
                wj[0] * dz[0] + wj[1] * dz[1] + wj[2] * dz[2]
            } else {
                0.0
            };
            db1[j] += dpre;
            dw1[j] += x0 * dpre;
            dw1[HIDDEN + j] += x1 * dpre;
            for k in 0..CLASSES {
                dw2[j * CLASSES + k] += h[j] * dz[k];
            }
        }
    }
    (dw1, db1, dw2, db2)
}

/// [`hand_ieee`] with its sizes read off its arguments, as
/// [`network_loss_sized`] has them: the baseline for [`generated_sized`],
/// whose semantics it shares (every unit's zero adjoint is propagated).
/// The hidden layer is `b1.len()` wide and the batch `labels.len()` long;
/// the buffers are allocated once per call.
pub fn hand_ieee_sized(i: &Inputs, d_output: f64) -> Grad {
    let (w1, b1, w2, b2, x, labels) = (&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels);
    let (nh, nb) = (b1.len(), labels.len());
    let mut dw1 = vec![0.0; w1.len()];
    let mut db1 = vec![0.0; nh];
    let mut dw2 = vec![0.0; w2.len()];
    let mut db2 = vec![0.0; b2.len()];
    let scale = d_output / nb as f64;
    let mut pre = vec![0.0; nh];
    let mut h = vec![0.0; nh];
    for n in 0..nb {
        let (x0, x1) = (x[2 * n], x[2 * n + 1]);
        for j in 0..nh {
            pre[j] = x0 * w1[j] + x1 * w1[nh + j] + b1[j];
            h[j] = if pre[j] > 0.0 { pre[j] } else { 0.0 };
        }
        let mut z = [b2[0], b2[1], b2[2]];
        for j in 0..nh {
            for k in 0..CLASSES {
                z[k] += h[j] * w2[j * CLASSES + k];
            }
        }
        let m = z[0].max(z[1]).max(z[2]);
        let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
        let inv = scale / (e[0] + e[1] + e[2]);
        let mut dz = [e[0] * inv, e[1] * inv, e[2] * inv];
        dz[labels[n]] -= scale;
        for k in 0..CLASSES {
            db2[k] += dz[k];
        }
        for j in 0..nh {
            let wj = &w2[j * CLASSES..j * CLASSES + CLASSES];
            let dpre = if pre[j] > 0.0 {
                wj[0] * dz[0] + wj[1] * dz[1] + wj[2] * dz[2]
            } else {
                0.0
            };
            db1[j] += dpre;
            dw1[j] += x0 * dpre;
            dw1[nh + j] += x1 * dpre;
            for k in 0..CLASSES {
                dw2[j * CLASSES + k] += h[j] * dz[k];
            }
        }
    }
    (dw1, db1, dw2, db2)
}

fn pack(w1: &[f64], b1: &[f64], w2: &[f64], b2: &[f64]) -> Vec<f64> {
    [w1, b1, w2, b2].concat()
}

fn unpack<T>(p: &[T]) -> (&[T], &[T], &[T], &[T]) {
    let (w1, rest) = p.split_at(2 * HIDDEN);
    let (b1, rest) = rest.split_at(HIDDEN);
    let (w2, b2) = rest.split_at(HIDDEN * CLASSES);
    (w1, b1, w2, b2)
}

/// Forward mode: one `Dual64` pass over the whole batch per parameter (387).
pub fn num_dual(i: &Inputs) -> Vec<f64> {
    let mut p: Vec<Dual64> = pack(&i.w1, &i.b1, &i.w2, &i.b2)
        .into_iter()
        .map(Dual64::from_re)
        .collect();
    let mut g = vec![0.0; p.len()];
    for k in 0..p.len() {
        p[k].eps = 1.0;
        let (w1, b1, w2, b2) = unpack(&p);
        g[k] = network_loss_generic(w1, b1, w2, b2, &i.x, &i.labels).eps;
        p[k].eps = 0.0;
    }
    g
}

/// Tape-based reverse mode.
pub fn echidna(i: &Inputs) -> Vec<f64> {
    echidna::grad(
        |p: &[Reverse<f64>]| {
            let (w1, b1, w2, b2) = unpack(p);
            network_loss_generic(w1, b1, w2, b2, &i.x, &i.labels)
        },
        &pack(&i.w1, &i.b1, &i.w2, &i.b2),
    )
}

/// Central differences: 774 forward calls over the whole batch.
pub fn finite_diff(i: &Inputs) -> Vec<f64> {
    let mut p = pack(&i.w1, &i.b1, &i.w2, &i.b2);
    fd::gradient(&mut p, |p| {
        let (w1, b1, w2, b2) = unpack(p);
        network_loss(w1, b1, w2, b2, &i.x, &i.labels)
    })
}

/// The `#[differentiate]`-generated backward pass. The data `x` is
/// `#[no_grad]`, so no gradient is computed for it.
pub fn generated(i: &Inputs, d_output: f64) -> Grad {
    network_loss_backward(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels, d_output)
}

/// The backward pass `#[differentiate(skip_inactive)]` generates.
pub fn generated_skip(i: &Inputs, d_output: f64) -> Grad {
    network_loss_skip_backward(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels, d_output)
}

/// The generated backward pass of [`network_loss_sized`].
pub fn generated_sized(i: &Inputs, d_output: f64) -> Grad {
    network_loss_sized_backward(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels, d_output)
}

/// [`hand`] on [`Inputs`].
pub fn hand_on(i: &Inputs, d_output: f64) -> Grad {
    hand(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels, d_output)
}

/// [`hand_ieee`] on [`Inputs`].
pub fn hand_ieee_on(i: &Inputs, d_output: f64) -> Grad {
    hand_ieee(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels, d_output)
}

/// [`network_loss`] on [`Inputs`].
pub fn loss_on(i: &Inputs) -> f64 {
    network_loss(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::assert_close;

    fn flat(g: Grad) -> Vec<f64> {
        pack(&g.0, &g.1, &g.2, &g.3)
    }

    #[test]
    fn generic_forward_matches_plain() {
        let i = inputs();
        let l = loss_on(&i);
        let lg = network_loss_generic(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels);
        assert!((l - lg).abs() <= 1e-14 * l.abs(), "{l} vs {lg}");
        assert!(l > 0.5 && l < 3.0, "loss {l}");
    }

    #[test]
    fn no_pre_activation_near_its_kink() {
        // Finite differences step each parameter by about 6e-6, moving a
        // pre-activation by at most 6e-6 (|x| <= 1): the central difference
        // is valid only if no pre-activation is that close to 0.
        let i = inputs();
        let mut closest = f64::INFINITY;
        for n in 0..BATCH {
            for j in 0..HIDDEN {
                let pre = i.x[2 * n] * i.w1[j] + i.x[2 * n + 1] * i.w1[HIDDEN + j] + i.b1[j];
                closest = closest.min(pre.abs());
            }
        }
        assert!(closest > 1e-5, "closest pre-activation {closest}");
    }

    #[test]
    fn baselines_match_hand() {
        let i = inputs();
        let h = flat(hand_on(&i, 1.0));
        // Exact methods: same terms, summed in another order over 300 samples.
        assert_close("num_dual", &num_dual(&i), &h, 1e-13);
        assert_close("echidna", &echidna(&i), &h, 1e-13);
        // Rounding eps * |L| / h ~ 4e-11 plus truncation h^2/6 * |L'''|.
        assert_close("finite_diff", &finite_diff(&i), &h, 1e-7);
    }

    #[test]
    fn hand_ieee_sized_matches_hand() {
        let i = inputs();
        let h = flat(hand_on(&i, 1.0));
        assert_close(
            "hand_ieee_sized",
            &flat(hand_ieee_sized(&i, 1.0)),
            &h,
            1e-13,
        );
    }

    #[test]
    fn generated_sized_matches_hand() {
        let i = inputs();
        let l = network_loss_sized(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.labels);
        assert!((l - loss_on(&i)).abs() <= 1e-14 * l.abs(), "{l}");
        let h = flat(hand_on(&i, 1.0));
        assert_close(
            "generated_sized",
            &flat(generated_sized(&i, 1.0)),
            &h,
            1e-13,
        );
    }

    #[test]
    fn hand_scales_with_d_output() {
        let i = inputs();
        let (a, b) = (flat(hand_on(&i, 1.0)), flat(hand_on(&i, -2.5)));
        let a: Vec<f64> = a.iter().map(|v| v * -2.5).collect();
        assert_close("d_output", &b, &a, 1e-15);
    }

    #[test]
    fn generated_matches_hand() {
        let i = inputs();
        assert_close(
            "generated",
            &flat(generated(&i, 1.0)),
            &flat(hand_on(&i, 1.0)),
            1e-13,
        );
    }

    #[test]
    fn generated_skip_matches_hand() {
        let i = inputs();
        assert_close(
            "generated_skip",
            &flat(generated_skip(&i, 1.0)),
            &flat(hand_on(&i, 1.0)),
            1e-13,
        );
    }

    #[test]
    fn hand_ieee_matches_hand() {
        let i = inputs();
        // Same operations in the same order plus, for the units that are off,
        // terms of ±0: equal exactly on finite inputs.
        assert_close(
            "hand_ieee",
            &flat(hand_ieee_on(&i, 1.0)),
            &flat(hand_on(&i, 1.0)),
            0.0,
        );
    }

    #[test]
    fn hand_ieee_propagates_nan_like_generated() {
        // A NaN in feature 0 of sample S makes all its pre-activations NaN,
        // so every unit is off for it (NaN > 0 is false, relu gives 0 and the
        // loss stays finite) and its adjoint is 0; dw1[j] += x[2 * S] * 0 is
        // then NaN in the chain rule, and nothing where `hand` skips the unit.
        // (A NaN in w1 or b1 would give no NaN at all: its partials are x and 1.)
        const S: usize = 17;
        let mut i = inputs();
        i.x[2 * S] = f64::NAN;
        assert!(loss_on(&i).is_finite());
        let ieee = flat(hand_ieee_on(&i, 1.0));
        let gen = flat(generated(&i, 1.0));
        let skip = flat(hand_on(&i, 1.0));
        let nans = |g: &[f64]| g.iter().map(|v| v.is_nan()).collect::<Vec<_>>();
        // dw1[0..HIDDEN] (input 0 -> every hidden unit) is NaN, nothing else.
        let expected: Vec<bool> = (0..PARAMS).map(|k| k < HIDDEN).collect();
        assert_eq!(nans(&ieee), expected, "hand_ieee NaN positions");
        assert_eq!(nans(&gen), expected, "generated NaN positions");
        assert!(skip.iter().all(|v| v.is_finite()), "hand: {skip:?}");
        // Elsewhere the three agree (sample S adds 0 to dw1[HIDDEN..], db1, dw2).
        assert_close("hand_ieee", &ieee[HIDDEN..], &skip[HIDDEN..], 0.0);
        assert_close("generated", &gen[HIDDEN..], &skip[HIDDEN..], 1e-13);
        assert_close(
            "generated_skip",
            &flat(generated_skip(&i, 1.0)),
            &skip,
            1e-13,
        );
    }

    #[test]
    fn hand_gives_zero_where_hand_ieee_gives_nan() {
        // As above with every unit off for every sample (|x|, |w1| <= 1, so
        // pre <= 2 - 10): `hand` skips them all and dw1 is exactly 0, while
        // the chain rule gives NaN in dw1[0..HIDDEN] from the NaN sample.
        const S: usize = 17;
        let mut i = inputs();
        i.b1.iter_mut().for_each(|b| *b = -10.0);
        i.x[2 * S] = f64::NAN;
        let ieee = flat(hand_ieee_on(&i, 1.0));
        let gen = flat(generated(&i, 1.0));
        let skip = flat(hand_on(&i, 1.0));
        let nans = |g: &[f64]| g.iter().map(|v| v.is_nan()).collect::<Vec<_>>();
        let expected: Vec<bool> = (0..PARAMS).map(|k| k < HIDDEN).collect();
        assert_eq!(nans(&ieee), expected, "hand_ieee NaN positions");
        assert_eq!(nans(&gen), expected, "generated NaN positions");
        assert!(
            skip[..HIDDEN].iter().all(|v| *v == 0.0),
            "hand dw1: {skip:?}"
        );
        assert_close(
            "generated_skip",
            &flat(generated_skip(&i, 1.0)),
            &skip,
            1e-13,
        );
    }
}
