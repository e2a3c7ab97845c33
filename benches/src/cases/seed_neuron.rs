//! Case 1: the seed neuron `relu(x · w + b)` with 3 inputs; gradient w.r.t.
//! `x`, `w` and `b`.

use echidna::Reverse;
use num_dual::Dual64;

use crate::data::Rng;
use crate::{fd, Real};

/// Gradient: `(dx, dw, db)`.
pub type Grad = ([f64; 3], [f64; 3], f64);

/// The forward function, in the form `#[differentiate]` consumes.
#[::neuron::differentiate]
pub fn neuron(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
    ::neuron::relu(x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b)
}

/// The same function over any [`Real`].
pub fn neuron_generic<S: Real>(x: &[S], w: &[S], b: S) -> S {
    (x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b).relu()
}

/// Inputs with a positive pre-activation (the active side of the ReLU).
pub fn inputs() -> ([f64; 3], [f64; 3], f64) {
    let mut rng = Rng::new(1);
    let x = rng.array(-1.0, 1.0);
    let w = rng.array(-1.0, 1.0);
    let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
    (x, w, 0.5 - z.min(0.0))
}

/// Hand-written backward pass.
#[inline]
pub fn hand(x: [f64; 3], w: [f64; 3], b: f64, d_output: f64) -> Grad {
    let z = x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b;
    let dz = if z > 0.0 { d_output } else { 0.0 };
    (
        [dz * w[0], dz * w[1], dz * w[2]],
        [dz * x[0], dz * x[1], dz * x[2]],
        dz,
    )
}

fn pack(x: [f64; 3], w: [f64; 3], b: f64) -> [f64; 7] {
    [x[0], x[1], x[2], w[0], w[1], w[2], b]
}

/// Forward mode: one `Dual64` pass per input (7 passes).
pub fn num_dual(x: [f64; 3], w: [f64; 3], b: f64) -> [f64; 7] {
    let p = pack(x, w, b);
    let mut g = [0.0; 7];
    for i in 0..7 {
        let d: [Dual64; 7] =
            std::array::from_fn(|j| Dual64::new(p[j], if i == j { 1.0 } else { 0.0 }));
        g[i] = neuron_generic(&d[0..3], &d[3..6], d[6]).eps;
    }
    g
}

/// Tape-based reverse mode.
pub fn echidna(x: [f64; 3], w: [f64; 3], b: f64) -> Vec<f64> {
    echidna::grad(
        |p: &[Reverse<f64>]| neuron_generic(&p[0..3], &p[3..6], p[6]),
        &pack(x, w, b),
    )
}

/// Central differences: 14 forward calls.
pub fn finite_diff(x: [f64; 3], w: [f64; 3], b: f64) -> Vec<f64> {
    let mut p = pack(x, w, b);
    fd::gradient(&mut p, |p| {
        neuron([p[0], p[1], p[2]], [p[3], p[4], p[5]], p[6])
    })
}

/// The `#[differentiate]`-generated backward pass.
#[inline]
pub fn generated(x: [f64; 3], w: [f64; 3], b: f64, d_output: f64) -> Grad {
    neuron_backward(x, w, b, d_output)
}

/// One neuron's arguments: `(x, w, b)`.
pub type Input = ([f64; 3], [f64; 3], f64);

/// Neurons per batch in the `neuron_x1024` throughput group.
pub const BATCH: usize = 1024;

/// [`BATCH`] inputs, every one on the active side of the ReLU with the same
/// margin as [`inputs`] (pre-activation at least 0.5).
pub fn batch_inputs() -> Vec<Input> {
    let mut rng = Rng::new(2);
    (0..BATCH)
        .map(|_| {
            let x = rng.array(-1.0, 1.0);
            let w = rng.array(-1.0, 1.0);
            let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            (x, w, 0.5 - z.min(0.0))
        })
        .collect()
}

/// Calls `f` on each neuron of `inputs` with its slot of `out`.
#[inline]
fn each<T>(inputs: &[Input], out: &mut [T], mut f: impl FnMut([f64; 3], [f64; 3], f64, &mut T)) {
    assert_eq!(inputs.len(), out.len(), "one output per neuron");
    for (&(x, w, b), o) in inputs.iter().zip(out) {
        f(x, w, b, o);
    }
}

/// [`neuron`] over a batch: each value into `out`.
pub fn forward_batch(inputs: &[Input], out: &mut [f64]) {
    each(inputs, out, |x, w, b, o| *o = neuron(x, w, b));
}

/// [`hand`] over a batch: each flattened gradient into `out`.
pub fn hand_batch(inputs: &[Input], out: &mut [[f64; 7]]) {
    each(inputs, out, |x, w, b, o| {
        let (dx, dw, db) = hand(x, w, b, 1.0);
        *o = pack(dx, dw, db);
    });
}

/// [`generated`] over a batch: each flattened gradient into `out`.
pub fn generated_batch(inputs: &[Input], out: &mut [[f64; 7]]) {
    each(inputs, out, |x, w, b, o| {
        let (dx, dw, db) = generated(x, w, b, 1.0);
        *o = pack(dx, dw, db);
    });
}

/// [`num_dual`] over a batch: each gradient into `out`.
pub fn num_dual_batch(inputs: &[Input], out: &mut [[f64; 7]]) {
    each(inputs, out, |x, w, b, o| *o = num_dual(x, w, b));
}

/// [`echidna`] over a batch: each gradient into `out`.
pub fn echidna_batch(inputs: &[Input], out: &mut [[f64; 7]]) {
    each(inputs, out, |x, w, b, o| {
        o.copy_from_slice(&echidna(x, w, b))
    });
}

/// [`finite_diff`] over a batch: each gradient into `out`.
pub fn finite_diff_batch(inputs: &[Input], out: &mut [[f64; 7]]) {
    each(inputs, out, |x, w, b, o| {
        o.copy_from_slice(&finite_diff(x, w, b))
    });
}

// Per-call entry points of the `neuron` group. Each takes the neuron's
// inputs by reference, where they sit in memory as a caller's data would, and
// is not inlined, so every variant is one call whose body is the variant
// inlined. The group used to pass each array through `black_box` by value,
// which stores it to the stack in every iteration just before the call (16
// bytes for `x[0..2]`, 8 for `x[2]`), and `hand`'s and `generated`'s first
// loads, 16 bytes at `x[1]`, span two of those stores: the stores cannot be
// forwarded to the load, and that stall, not the gradient, was most of their
// 13 ns (num-dual's code, vectorised differently, loads `x[0..2]` and did not
// stall). See BENCHMARKS.md, session 14.

/// [`neuron`], one call on inputs in memory.
#[inline(never)]
pub fn forward_on(i: &Input) -> f64 {
    neuron(i.0, i.1, i.2)
}

/// [`hand`], one call on inputs in memory.
#[inline(never)]
pub fn hand_on(i: &Input) -> Grad {
    hand(i.0, i.1, i.2, 1.0)
}

/// [`generated`], one call on inputs in memory.
#[inline(never)]
pub fn generated_on(i: &Input) -> Grad {
    generated(i.0, i.1, i.2, 1.0)
}

/// [`num_dual`], one call on inputs in memory.
#[inline(never)]
pub fn num_dual_on(i: &Input) -> [f64; 7] {
    num_dual(i.0, i.1, i.2)
}

/// [`echidna`], one call on inputs in memory.
#[inline(never)]
pub fn echidna_on(i: &Input) -> Vec<f64> {
    echidna(i.0, i.1, i.2)
}

/// [`finite_diff`], one call on inputs in memory.
#[inline(never)]
pub fn finite_diff_on(i: &Input) -> Vec<f64> {
    finite_diff(i.0, i.1, i.2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::assert_close;

    fn flat(g: Grad) -> Vec<f64> {
        pack(g.0, g.1, g.2).to_vec()
    }

    #[test]
    fn generic_forward_matches_plain() {
        let (x, w, b) = inputs();
        assert_eq!(neuron_generic(&x, &w, b), neuron(x, w, b));
        assert!(neuron(x, w, b) > 0.0, "inputs must be on the active side");
    }

    #[test]
    fn hand_matches_the_closed_form() {
        // The crate doc's example: relu(-3 + 2 + 6 + 1) = 6 > 0.
        let g = hand([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0, 1.0);
        assert_eq!(g, ([-3.0, -1.0, 2.0], [1.0, -2.0, 3.0], 1.0));
        // Inactive side: all zero.
        assert_eq!(hand([1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], 0.0, 1.0).2, 0.0);
    }

    #[test]
    fn baselines_match_hand() {
        let (x, w, b) = inputs();
        let h = flat(hand(x, w, b, 1.0));
        // AD baselines do the same multiplications: equal up to rounding.
        assert_close("num_dual", &num_dual(x, w, b), &h, 1e-14);
        assert_close("echidna", &echidna(x, w, b), &h, 1e-14);
        // Linear in each input on this side of the kink: only rounding error,
        // about eps * |f| / h ~ 1e-10.
        assert_close("finite_diff", &finite_diff(x, w, b), &h, 1e-8);
    }

    #[test]
    fn generated_matches_hand() {
        let (x, w, b) = inputs();
        assert_close(
            "generated",
            &flat(generated(x, w, b, 1.0)),
            &flat(hand(x, w, b, 1.0)),
            1e-14,
        );
    }

    #[test]
    fn per_call_entries_are_the_variants() {
        let i = inputs();
        let (x, w, b) = i;
        assert_eq!(forward_on(&i), neuron(x, w, b));
        assert_eq!(hand_on(&i), hand(x, w, b, 1.0));
        assert_eq!(generated_on(&i), generated(x, w, b, 1.0));
        assert_eq!(num_dual_on(&i), num_dual(x, w, b));
        assert_eq!(echidna_on(&i), echidna(x, w, b));
        assert_eq!(finite_diff_on(&i), finite_diff(x, w, b));
    }

    #[test]
    fn batch_inputs_are_active() {
        let inputs = batch_inputs();
        assert_eq!(inputs.len(), BATCH);
        for (i, &(x, w, b)) in inputs.iter().enumerate() {
            // `b` lifts the pre-activation to 0.5 (up to rounding) or more.
            let z = x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b;
            assert!(z > 0.49, "neuron {i}: pre-activation {z} is not active");
        }
    }

    #[test]
    fn forward_batch_matches_neuron() {
        let inputs = batch_inputs();
        let mut out = vec![f64::NAN; BATCH];
        forward_batch(&inputs, &mut out);
        for (&(x, w, b), &y) in inputs.iter().zip(&out) {
            assert_eq!(y, neuron(x, w, b));
        }
    }

    #[test]
    fn batched_gradients_match_per_neuron() {
        type Batch = fn(&[Input], &mut [[f64; 7]]);
        type One = fn([f64; 3], [f64; 3], f64) -> Vec<f64>;
        // (variant, batched, per-neuron, tolerance against `hand`)
        let variants: [(&str, Batch, One, f64); 5] = [
            ("hand", hand_batch, |x, w, b| flat(hand(x, w, b, 1.0)), 0.0),
            (
                "generated",
                generated_batch,
                |x, w, b| flat(generated(x, w, b, 1.0)),
                1e-14,
            ),
            (
                "num_dual",
                num_dual_batch,
                |x, w, b| num_dual(x, w, b).to_vec(),
                1e-14,
            ),
            ("echidna", echidna_batch, echidna, 1e-14),
            ("finite_diff", finite_diff_batch, finite_diff, 1e-8),
        ];
        let inputs = batch_inputs();
        for (name, batch, one, tol) in variants {
            let mut out = vec![[f64::NAN; 7]; BATCH];
            batch(&inputs, &mut out);
            for (i, (&(x, w, b), g)) in inputs.iter().zip(&out).enumerate() {
                assert_eq!(
                    g.to_vec(),
                    one(x, w, b),
                    "{name}[{i}]: batch differs from one call"
                );
                assert_close(name, g, &flat(hand(x, w, b, 1.0)), tol);
            }
        }
    }
}
