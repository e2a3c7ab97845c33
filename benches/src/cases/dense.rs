//! Case 2: a dense layer 64 → 64 with ReLU, `y[i] = relu(Σ_j w[i*64 + j] x[j] + b[i])`;
//! vector-Jacobian product `dyᵀ J` w.r.t. the inputs `x`, the weights `w`
//! (row-major, 64 × 64) and the biases `b`.

use echidna::Reverse;
use num_dual::Dual64;

use crate::data::Rng;
use crate::{fd, Real};

pub const N: usize = 64;

/// Gradient: `(dx, dw, db)`, lengths 64, 4096, 64.
pub type Grad = (Vec<f64>, Vec<f64>, Vec<f64>);

/// The forward function twice, in the form `#[differentiate]` consumes:
/// `dense` with the default IEEE semantics, `dense_skip` with
/// `skip_inactive`.
macro_rules! dense_fn {
    ($(#[$doc:meta])* $name:ident, $($attr:tt)*) => {
        $(#[$doc])*
        #[$($attr)*]
        pub fn $name(x: &[f64], w: &[f64], b: &[f64]) -> [f64; 64] {
            let mut y = [0.0; 64];
            for i in 0..64 {
                let mut z = b[i];
                for j in 0..64 {
                    z += w[i * 64 + j] * x[j];
                }
                y[i] = ::neuron::relu(z);
            }
            y
        }
    };
}
dense_fn!(
    /// The forward function, in the form `#[differentiate]` consumes.
    dense,
    ::neuron::differentiate
);
dense_fn!(
    /// [`dense`] with `#[differentiate(skip_inactive)]`: the reverse of a
    /// row whose ReLU is off is skipped, as [`hand`] skips it.
    dense_skip,
    ::neuron::differentiate(skip_inactive)
);

/// [`dense`] as a layer whose sizes are arguments, as a user's layer often
/// has: the scalar `dyᵀ relu(W x + b)`, with `dy` an input that carries no
/// gradient, whose gradient is the same vector-Jacobian product. The
/// generator knows neither `n_in` nor `n_out`.
#[::neuron::differentiate]
pub fn dense_sized(
    x: &[f64],
    w: &[f64],
    b: &[f64],
    #[no_grad] dy: &[f64],
    n_in: usize,
    n_out: usize,
) -> f64 {
    let mut s = 0.0;
    for i in 0..n_out {
        let mut z = b[i];
        for j in 0..n_in {
            z += w[i * n_in + j] * x[j];
        }
        s += dy[i] * ::neuron::relu(z);
    }
    s
}

/// [`dense_sized`] with the sizes read off the slices, as a layer is often
/// written: a row is `x.len()` long, read at `w[i * x.len() + j]`.
#[::neuron::differentiate]
pub fn dense_len(x: &[f64], w: &[f64], b: &[f64], #[no_grad] dy: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..b.len() {
        let mut z = b[i];
        for j in 0..x.len() {
            z += w[i * x.len() + j] * x[j];
        }
        s += dy[i] * ::neuron::relu(z);
    }
    s
}

/// The same function over any [`Real`].
pub fn dense_generic<S: Real>(x: &[S], w: &[S], b: &[S]) -> Vec<S> {
    (0..N)
        .map(|i| {
            let mut z = b[i];
            for j in 0..N {
                z += w[i * N + j] * x[j];
            }
            z.relu()
        })
        .collect()
}

/// Inputs `(x, w, b)` and the output cotangent `dy`.
pub struct Inputs {
    pub x: Vec<f64>,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
    pub dy: [f64; N],
}

pub fn inputs() -> Inputs {
    let mut rng = Rng::new(2);
    Inputs {
        x: rng.vec(N, -1.0, 1.0),
        // Glorot-like scale, so that about half of the units are active.
        w: rng.vec(N * N, -0.125, 0.125),
        b: rng.vec(N, -0.1, 0.1),
        dy: rng.array(-1.0, 1.0),
    }
}

/// Hand-written backward pass.
pub fn hand(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Grad {
    hand_impl::<true>(x, w, b, dy)
}

/// Hand-written backward pass with the IEEE semantics of the generated one:
/// [`hand`] without the skip of a row whose ReLU is off. Its zero adjoint is
/// propagated, so a NaN or infinite input gives `0 * NaN = NaN` where [`hand`] gives 0.
pub fn hand_ieee(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Grad {
    hand_impl::<false>(x, w, b, dy)
}

/// Both hand-written backward passes: `SKIP` skips a row whose ReLU is
/// off; without it, the row's zero adjoint is propagated. The constant is
/// folded, so each is its own loop.
#[inline(always)]
fn hand_impl<const SKIP: bool>(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Grad {
    let mut dx = vec![0.0; N];
    let mut dw = vec![0.0; N * N];
    let mut db = vec![0.0; N];
    for i in 0..N {
        let row = &w[i * N..(i + 1) * N];
        let z = b[i] + row.iter().zip(x).map(|(a, c)| a * c).sum::<f64>();
        let on = z > 0.0;
        if SKIP && !on {
            continue;
        }
        let dz = if on { dy[i] } else { 0.0 };
        db[i] = dz;
        for j in 0..N {
            dx[j] += dz * row[j];
            dw[i * N + j] = dz * x[j];
        }
    }
    (dx, dw, db)
}

fn pack(x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    [x, w, b].concat()
}

fn unpack<T>(p: &[T]) -> (&[T], &[T], &[T]) {
    (&p[..N], &p[N..N + N * N], &p[N + N * N..])
}

/// Forward mode: one `Dual64` pass per input (4224 passes), each giving one
/// column `J e_k`, dotted with `dy`.
pub fn num_dual(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Vec<f64> {
    let mut p: Vec<Dual64> = pack(x, w, b).into_iter().map(Dual64::from_re).collect();
    let mut g = vec![0.0; p.len()];
    for k in 0..p.len() {
        p[k].eps = 1.0;
        let (x, w, b) = unpack(&p);
        let y = dense_generic(x, w, b);
        g[k] = y.iter().zip(&dy).map(|(yi, d)| yi.eps * d).sum();
        p[k].eps = 0.0;
    }
    g
}

/// Tape-based reverse mode: `echidna::vjp`.
pub fn echidna(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Vec<f64> {
    let (_, g) = echidna::vjp(
        |p: &[Reverse<f64>]| {
            let (x, w, b) = unpack(p);
            dense_generic(x, w, b)
        },
        &pack(x, w, b),
        &dy,
    );
    g
}

/// Central differences of `dy · dense(..)`: 8448 forward calls.
pub fn finite_diff(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Vec<f64> {
    let mut p = pack(x, w, b);
    fd::gradient(&mut p, |p| {
        let (x, w, b) = unpack(p);
        dense(x, w, b).iter().zip(&dy).map(|(y, d)| y * d).sum()
    })
}

/// The `#[differentiate]`-generated backward pass.
pub fn generated(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Grad {
    dense_backward(x, w, b, dy)
}

/// The backward pass `#[differentiate(skip_inactive)]` generates: [`hand`]'s
/// semantics.
pub fn generated_skip(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Grad {
    dense_skip_backward(x, w, b, dy)
}

/// The generated backward pass of [`dense_sized`], at 64 → 64.
pub fn generated_sized(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Grad {
    dense_sized_backward(x, w, b, &dy, N, N, 1.0)
}

/// The generated backward pass of [`dense_len`], at 64 → 64.
pub fn generated_len(x: &[f64], w: &[f64], b: &[f64], dy: [f64; N]) -> Grad {
    dense_len_backward(x, w, b, &dy, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::assert_close;

    fn flat(g: Grad) -> Vec<f64> {
        pack(&g.0, &g.1, &g.2)
    }

    #[test]
    fn generic_forward_matches_plain() {
        let i = inputs();
        let y = dense(&i.x, &i.w, &i.b);
        assert_eq!(dense_generic(&i.x, &i.w, &i.b), y.to_vec());
        let active = y.iter().filter(|v| **v > 0.0).count();
        assert!((16..=48).contains(&active), "{active} active units");
    }

    #[test]
    fn baselines_match_hand() {
        let i = inputs();
        let h = flat(hand(&i.x, &i.w, &i.b, i.dy));
        // Same products, different summation order: a few ulps of the sums.
        assert_close("num_dual", &num_dual(&i.x, &i.w, &i.b, i.dy), &h, 1e-13);
        assert_close("echidna", &echidna(&i.x, &i.w, &i.b, i.dy), &h, 1e-13);
        // Piecewise linear and no pre-activation within a step of its kink:
        // only rounding error, about eps * |dy · y| / h ~ 1e-10.
        assert_close(
            "finite_diff",
            &finite_diff(&i.x, &i.w, &i.b, i.dy),
            &h,
            1e-8,
        );
    }

    #[test]
    fn generated_matches_hand() {
        let i = inputs();
        assert_close(
            "generated",
            &flat(generated(&i.x, &i.w, &i.b, i.dy)),
            &flat(hand(&i.x, &i.w, &i.b, i.dy)),
            1e-13,
        );
    }

    #[test]
    fn generated_sized_matches_hand() {
        let i = inputs();
        assert_close(
            "generated_sized",
            &flat(generated_sized(&i.x, &i.w, &i.b, i.dy)),
            &flat(hand(&i.x, &i.w, &i.b, i.dy)),
            1e-13,
        );
    }

    #[test]
    fn generated_len_matches_hand() {
        let i = inputs();
        assert_close(
            "generated_len",
            &flat(generated_len(&i.x, &i.w, &i.b, i.dy)),
            &flat(hand(&i.x, &i.w, &i.b, i.dy)),
            1e-13,
        );
    }

    #[test]
    fn generated_skip_matches_hand_exactly() {
        let i = inputs();
        assert_close(
            "generated_skip",
            &flat(generated_skip(&i.x, &i.w, &i.b, i.dy)),
            &flat(hand(&i.x, &i.w, &i.b, i.dy)),
            0.0,
        );
    }

    #[test]
    fn hand_ieee_matches_hand() {
        let i = inputs();
        // Same operations in the same order plus, for the rows that are off,
        // terms of ±0: equal exactly on finite inputs.
        assert_close(
            "hand_ieee",
            &flat(hand_ieee(&i.x, &i.w, &i.b, i.dy)),
            &flat(hand(&i.x, &i.w, &i.b, i.dy)),
            0.0,
        );
    }

    /// NaN positions equal, the other entries within `tol` of each other.
    fn assert_same_nans(what: &str, a: &[f64], b: &[f64], tol: f64) {
        let nans = |g: &[f64]| g.iter().map(|v| v.is_nan()).collect::<Vec<_>>();
        assert_eq!(nans(a), nans(b), "{what}: NaN positions differ");
        let keep = |g: &[f64]| {
            g.iter()
                .map(|v| if v.is_nan() { 0.0 } else { *v })
                .collect::<Vec<_>>()
        };
        assert_close(what, &keep(a), &keep(b), tol);
    }

    #[test]
    fn hand_ieee_propagates_nan_like_generated() {
        // A NaN in x[J] makes every pre-activation NaN, so every row is off
        // (NaN > 0 is false) and its adjoint is 0; dw[i * N + J] = 0 * x[J]
        // is then NaN in the chain rule, and 0 where `hand` skips the row.
        const J: usize = 5;
        let mut i = inputs();
        i.x[J] = f64::NAN;
        let ieee = flat(hand_ieee(&i.x, &i.w, &i.b, i.dy));
        let gen = flat(generated(&i.x, &i.w, &i.b, i.dy));
        let skip = flat(hand(&i.x, &i.w, &i.b, i.dy));
        let gen_skip = flat(generated_skip(&i.x, &i.w, &i.b, i.dy));
        assert_eq!(gen_skip, skip, "generated_skip against hand");
        let dw_nan: Vec<usize> = (0..N).map(|r| N + r * N + J).collect();
        for (k, v) in ieee.iter().enumerate() {
            assert_eq!(v.is_nan(), dw_nan.contains(&k), "hand_ieee[{k}] = {v}");
        }
        assert_same_nans("generated", &gen, &ieee, 1e-13);
        assert!(skip.iter().all(|v| *v == 0.0), "hand: {skip:?}");
    }

    #[test]
    fn hand_ieee_propagates_nan_of_an_off_row_like_generated() {
        // A NaN in the weight w[I * N + J] of a row I that is already off
        // keeps it off; dx[J] += 0 * w[I * N + J] is then NaN in the chain
        // rule, while `hand` skips the row and keeps the other rows' sum.
        const J: usize = 9;
        let mut i = inputs();
        let y = dense(&i.x, &i.w, &i.b);
        let off = (0..N).find(|r| y[*r] == 0.0).expect("a row that is off");
        let before = flat(hand(&i.x, &i.w, &i.b, i.dy));
        i.w[off * N + J] = f64::NAN;
        let ieee = flat(hand_ieee(&i.x, &i.w, &i.b, i.dy));
        let gen = flat(generated(&i.x, &i.w, &i.b, i.dy));
        let skip = flat(hand(&i.x, &i.w, &i.b, i.dy));
        let gen_skip = flat(generated_skip(&i.x, &i.w, &i.b, i.dy));
        assert_eq!(gen_skip, skip, "generated_skip against hand");
        for (k, v) in ieee.iter().enumerate() {
            assert_eq!(v.is_nan(), k == J, "hand_ieee[{k}] = {v}");
        }
        assert_same_nans("generated", &gen, &ieee, 1e-13);
        assert!(
            skip[J].is_finite() && skip[J] != 0.0,
            "hand dx[J] = {}",
            skip[J]
        );
        assert_eq!(skip, before, "hand changed although the row is skipped");
    }
}
