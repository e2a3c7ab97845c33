//! Slice parameters read through rows: the forward and reverse sweeps read
//! `w[i * 3 + j]` of a `&[f64]` through `&w[i * 3..i * 3 + 3]`, taken before
//! the loop over `j`. A slice too short for the loops makes the backward
//! pass panic, as the function itself does; a longer one is read only where
//! the function reads it. Rows at multiples of a run-time bound (`w[nh + j]`
//! beside `w[j]`) are split, the gradient's by `rows_mut`.

// The forward functions index in range loops: the form the macro reads.
#![allow(clippy::needless_range_loop)]
mod common;

use common::*;
use neuron::{differentiate, relu};
use num_dual::{Dual64, DualNum};
use std::panic::catch_unwind;

#[differentiate]
fn layer(x: &[f64], w: &[f64], b: &[f64]) -> [f64; 2] {
    let mut y = [0.0; 2];
    for i in 0..2 {
        let mut z = b[i];
        for j in 0..3 {
            z += w[i * 3 + j] * x[j];
        }
        y[i] = relu(z);
    }
    y
}

const X: [f64; 3] = [1.0, -2.0, 3.0];
const B: [f64; 2] = [0.5, -10.0];

#[test]
fn a_short_slice_panics_in_the_function_and_its_backward() {
    let w = [1.0; 5]; // the second row's last weight is missing
    assert!(catch_unwind(|| layer(&X, &w, &B)).is_err());
    assert!(catch_unwind(|| layer_backward(&X, &w, &B, [1.0, 1.0])).is_err());
    let x = [1.0, -2.0]; // the inputs' last element is missing
    assert!(catch_unwind(|| layer(&x, &[1.0; 6], &B)).is_err());
    assert!(catch_unwind(|| layer_backward(&x, &[1.0; 6], &B, [1.0, 1.0])).is_err());
}

#[test]
fn a_longer_slice_is_read_where_the_function_reads_it() {
    // Unit 0: 0.5 + (1 - 2 + 3) = 2.5, on; unit 1: -10 + 2 = -8, off.
    let w = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 7.0];
    assert_eq!(layer(&X, &w, &B), [2.5, 0.0]);
    let (dx, dw, db) = layer_backward(&X, &w, &B, [2.0, 5.0]);
    assert_eq!(dx, vec![2.0, 2.0, 2.0]);
    assert_eq!(dw, vec![2.0, -4.0, 6.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(db, vec![2.0, 0.0]);
}

/// Neighbours up to a bound the caller chooses: the rows `&x[0..1 + n]`
/// are taken only when the loop runs.
#[differentiate]
fn chain(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s += x[i] * x[i + 1];
    }
    s
}

#[test]
fn a_loop_that_does_not_run_takes_no_row() {
    assert_eq!(chain(&[], 0), 0.0);
    let dx = chain_backward(&[], 0, 1.0);
    assert!(dx.is_empty());
}

#[test]
fn a_variable_bound_reads_the_neighbours_it_names() {
    let x = [1.0, 2.0, 3.0, 4.0];
    // s = x0 x1 + x1 x2 + x2 x3 = 2 + 6 + 12
    assert_eq!(chain(&x, 3), 20.0);
    let dx = chain_backward(&x, 3, 1.0);
    assert_eq!(dx, vec![2.0, 4.0, 6.0, 3.0]);
    // Two terms: x3 is not read.
    let dx = chain_backward(&x, 2, 1.0);
    assert_eq!(dx, vec![2.0, 4.0, 2.0, 0.0]);
    // One term too many: both panic.
    assert!(catch_unwind(|| chain(&x, 4)).is_err());
    assert!(catch_unwind(|| chain_backward(&x, 4, 1.0)).is_err());
}

/// Rows whose length is a slice's, read inside the loop as well:
/// `w[i * x.len() + j]` is read through `&w[i * x.len()..i * x.len() + t]`,
/// with `t` the loop's bound, `x.len()`.
#[differentiate]
fn len_layer(w: &[f64], x: &[f64], m: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..m {
        let mut z = 0.0;
        for j in 0..x.len() {
            z += w[i * x.len() + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

fn len_layer_dual(w: &[Dual64], x: &[Dual64], m: usize) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..m {
        let mut z = c(0.0);
        for j in 0..x.len() {
            z += w[i * x.len() + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

#[test]
fn rows_whose_stride_is_a_length_give_the_exact_gradient() {
    // (n, m): 3 inputs and 2 units, 1 and 4, and 4 and 1; `w` has one
    // element more than the rows use, whose gradient stays 0.
    for (n, m) in [(3, 2), (1, 4), (4, 1)] {
        let len = n * m + 1;
        check_scalar(
            "len_layer",
            541 + n as u64,
            |r| uniform_vec(r, len + n, -1.0, 1.0),
            |p| len_layer(&p[..len], &p[len..], m),
            |p, d| {
                let (v, (dw, dx)) = len_layer_value_and_backward(&p[..len], &p[len..], m, d);
                (v, [dw, dx].concat())
            },
            |p, d| {
                let (dw, dx) = len_layer_backward(&p[..len], &p[len..], m, d);
                [dw, dx].concat()
            },
            |p| len_layer_dual(&p[..len], &p[len..], m),
        );
        let (dw, _) = len_layer_backward(&vec![0.5; len], &vec![1.0; n], m, 1.0);
        assert_eq!(dw[len - 1], 0.0, "{dw:?}");
    }
    // No inputs: the inner loop does not run, and nothing is read.
    assert_eq!(len_layer(&[], &[], 3), 0.0);
    assert_eq!(len_layer_backward(&[], &[], 3, 1.0), (vec![], vec![]));
    // The last row one weight short: both panic.
    let x = [1.0, -2.0, 3.0];
    assert!(catch_unwind(|| len_layer(&[0.5; 5], &x, 2)).is_err());
    assert!(catch_unwind(|| len_layer_backward(&[0.5; 5], &x, 2, 1.0)).is_err());
}

/// Each `h[j]` read in every iteration of the loop over `k`: its adjoint is
/// summed in a scalar taken from `d_h[j]` before that loop, and only when it
/// runs (see `reverse::hold_elements`).
#[differentiate]
fn outer_reads(h: &[f64], w: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for j in 0..n {
        for k in 0..w.len() {
            s += (h[j] * w[k]).sin();
        }
    }
    s
}

fn outer_reads_dual(h: &[Dual64], w: &[Dual64], n: usize) -> Dual64 {
    let mut s = c(0.0);
    for j in 0..n {
        for k in 0..w.len() {
            s += (h[j] * w[k]).sin();
        }
    }
    s
}

#[test]
fn an_element_held_over_a_loop_that_does_not_run_is_not_read() {
    // No `w`: the inner loop reads no `h[j]`, even past `h`'s end.
    assert_eq!(outer_reads(&[], &[], 3), 0.0);
    assert_eq!(outer_reads_backward(&[], &[], 3, 1.0), (vec![], vec![]));
    // Three `h`, two used, and four `w`.
    check_scalar(
        "outer_reads",
        551,
        |r| uniform_vec(r, 7, -1.5, 1.5),
        |p| outer_reads(&p[..3], &p[3..], 2),
        |p, d| {
            let (v, (dh, dw)) = outer_reads_value_and_backward(&p[..3], &p[3..], 2, d);
            (v, [dh, dw].concat())
        },
        |p, d| {
            let (dh, dw) = outer_reads_backward(&p[..3], &p[3..], 2, d);
            [dh, dw].concat()
        },
        |p| outer_reads_dual(&p[..3], &p[3..], 2),
    );
    let (dh, _) = outer_reads_backward(&[0.5, -1.0, 2.0], &[0.3, 0.7], 2, 1.0);
    assert_eq!(dh[2], 0.0);
}

/// A layer of `nh = b.len()` units over three inputs, its weights stored
/// input by input: `w[j]`, `w[nh + j]`, `w[2 * nh + j]` (written `nh * 2`
/// to check either order). Each input's weights are a row of their own, and
/// the gradient's rows are disjoint `&mut` slices (`rows_mut`).
#[differentiate]
fn split_layer(w: &[f64], b: &[f64], x: [f64; 3]) -> f64 {
    let nh = b.len();
    let mut s = 0.0;
    for j in 0..nh {
        s += relu(x[0] * w[j] + x[1] * w[nh + j] + x[2] * w[nh * 2 + j] + b[j]).tanh();
    }
    s
}

fn split_layer_dual(w: &[Dual64], b: &[Dual64], x: &[Dual64]) -> Dual64 {
    let nh = b.len();
    let mut s = c(0.0);
    for j in 0..nh {
        s += dmax(
            x[0] * w[j] + x[1] * w[nh + j] + x[2] * w[nh * 2 + j] + b[j],
            c(0.0),
        )
        .tanh();
    }
    s
}

#[test]
fn rows_at_multiples_of_a_run_time_bound_give_the_exact_gradient() {
    // 1, 2 and 5 units; `w` has one element more than the rows use.
    for nh in [1, 2, 5] {
        let len = 3 * nh + 1;
        let split = |p: &[f64]| {
            (
                p[..len].to_vec(),
                p[len..len + nh].to_vec(),
                [p[len + nh], p[len + nh + 1], p[len + nh + 2]],
            )
        };
        let flat = |(dw, db, dx): (Vec<f64>, Vec<f64>, [f64; 3])| [dw, db, dx.to_vec()].concat();
        check_scalar(
            "split_layer",
            561 + nh as u64,
            |r| uniform_vec(r, len + nh + 3, -1.0, 1.0),
            |p| {
                let (w, b, x) = split(p);
                split_layer(&w, &b, x)
            },
            |p, d| {
                let (w, b, x) = split(p);
                let (v, g) = split_layer_value_and_backward(&w, &b, x, d);
                (v, flat(g))
            },
            |p, d| {
                let (w, b, x) = split(p);
                flat(split_layer_backward(&w, &b, x, d))
            },
            |p| split_layer_dual(&p[..len], &p[len..len + nh], &p[len + nh..]),
        );
        let (dw, _, _) = split_layer_backward(&vec![0.5; len], &vec![0.1; nh], [1.0; 3], 1.0);
        assert_eq!(dw[len - 1], 0.0, "{dw:?}");
    }
    // No units: nothing is read, and the gradient of `x` is 0.
    assert_eq!(split_layer(&[], &[], [1.0; 3]), 0.0);
    assert_eq!(
        split_layer_backward(&[], &[], [1.0; 3], 1.0),
        (vec![], vec![], [0.0; 3])
    );
    // The last row one weight short: both panic.
    let b = [0.1; 2];
    assert!(catch_unwind(|| split_layer(&[0.5; 5], &b, [1.0; 3])).is_err());
    assert!(catch_unwind(|| split_layer_backward(&[0.5; 5], &b, [1.0; 3], 1.0)).is_err());
}

/// A batch of two-input samples through `nh = b.len()` units, as the
/// network with run-time sizes reads it: each sample's inputs `x[2 * n]` and
/// `x[2 * n + 1]` are the same in every iteration of the loop over units, so
/// the sweeps read them once before that loop (`rows::invariant_elements`),
/// and only when it runs. The loop over samples is fused, and the units'
/// pre-activations go on a tape the size of the loop over units, read as a
/// slice of that length (`emit::sized_tape`). Defined twice: with `x` as
/// `#[no_grad]` data, where both sweeps read its elements once, and with a
/// gradient for `x`, where only the forward sweep does (the reverse adds to
/// `d_x` at them).
macro_rules! batch_layer_fn {
    ($name:ident $(, #[$x:ident])?) => {
        #[differentiate]
        fn $name(w: &[f64], b: &[f64], $(#[$x])? x: &[f64], m: usize) -> f64 {
            let nh = b.len();
            let mut total = 0.0;
            for n in 0..m {
                let mut s = 0.0;
                for j in 0..nh {
                    s += relu(x[2 * n] * w[j] + x[2 * n + 1] * w[nh + j] + b[j]).tanh();
                }
                total += s * s;
            }
            total
        }
    };
}

batch_layer_fn!(batch_layer, #[no_grad]);
batch_layer_fn!(batch_layer_dx);

/// A caller, so that `batch_layer`'s sweeps for calls (not fused) run too.
#[differentiate]
fn batch_layer_twice(w: &[f64], b: &[f64], #[no_grad] x: &[f64], m: usize) -> f64 {
    2.0 * batch_layer(w, b, x, m)
}

/// `batch_layer`'s and `batch_layer_twice`'s generated functions, as pointers.
type Forward = fn(&[f64], &[f64], &[f64], usize) -> f64;
type ValueAndBackward = fn(&[f64], &[f64], &[f64], usize, f64) -> (f64, (Vec<f64>, Vec<f64>));
type Backward = fn(&[f64], &[f64], &[f64], usize, f64) -> (Vec<f64>, Vec<f64>);

fn batch_layer_dual(w: &[Dual64], b: &[Dual64], x: &[Dual64], m: usize) -> Dual64 {
    let nh = b.len();
    let mut total = c(0.0);
    for n in 0..m {
        let mut s = c(0.0);
        for j in 0..nh {
            s += dmax(x[2 * n] * w[j] + x[2 * n + 1] * w[nh + j] + b[j], c(0.0)).tanh();
        }
        total += s * s;
    }
    total
}

#[test]
fn inputs_read_once_per_sample_give_the_exact_gradient() {
    // (units, samples); `x` has two elements more than the samples use.
    for (nh, m) in [(1, 1), (3, 2), (5, 4)] {
        let (lw, lx) = (2 * nh, 2 * m + 2);
        let mut r = rng(571 + nh as u64);
        let x = uniform_vec(&mut r, lx, -1.0, 1.0);
        let xd: Vec<Dual64> = x.iter().map(|v| c(*v)).collect();
        // The parameters `p` are `w` then `b`.
        let w = |p: &[f64]| p[..lw].to_vec();
        let b = |p: &[f64]| p[lw..].to_vec();
        // The layer itself (fused), and through a caller (its sweeps for calls).
        let forms: [(&str, u64, Forward, ValueAndBackward, Backward, f64); 2] = [
            (
                "batch_layer",
                581,
                batch_layer,
                batch_layer_value_and_backward,
                batch_layer_backward,
                1.0,
            ),
            (
                "batch_layer_twice",
                591,
                batch_layer_twice,
                batch_layer_twice_value_and_backward,
                batch_layer_twice_backward,
                2.0,
            ),
        ];
        for (what, seed, f, vab, back, scale) in forms {
            check_scalar(
                what,
                seed + nh as u64,
                |r| uniform_vec(r, lw + nh, -1.0, 1.0),
                |p| f(&w(p), &b(p), &x, m),
                |p, d| {
                    let (v, (dw, db)) = vab(&w(p), &b(p), &x, m, d);
                    (v, [dw, db].concat())
                },
                |p, d| {
                    let (dw, db) = back(&w(p), &b(p), &x, m, d);
                    [dw, db].concat()
                },
                |p| c(scale) * batch_layer_dual(&p[..lw], &p[lw..], &xd, m),
            );
        }
        let n = lw + nh;
        check_scalar(
            "batch_layer_dx",
            601 + nh as u64,
            |r| uniform_vec(r, n + lx, -1.0, 1.0),
            |p| batch_layer_dx(&p[..lw], &p[lw..n], &p[n..], m),
            |p, d| {
                let (v, (dw, db, dx)) =
                    batch_layer_dx_value_and_backward(&p[..lw], &p[lw..n], &p[n..], m, d);
                (v, [dw, db, dx].concat())
            },
            |p, d| {
                let (dw, db, dx) = batch_layer_dx_backward(&p[..lw], &p[lw..n], &p[n..], m, d);
                [dw, db, dx].concat()
            },
            |p| batch_layer_dual(&p[..lw], &p[lw..n], &p[n..], m),
        );
        // The inputs past the samples are not read.
        let (_, _, dx) = batch_layer_dx_backward(&vec![0.5; lw], &vec![0.1; nh], &x, m, 1.0);
        assert_eq!(dx[lx - 2..], [0.0, 0.0], "{dx:?}");
    }
    // No units: the loop over units does not run, and reads no input, even
    // past the end of `x`.
    assert_eq!(batch_layer(&[], &[], &[], 3), 0.0);
    assert_eq!(
        batch_layer_backward(&[], &[], &[], 3, 1.0),
        (vec![], vec![])
    );
    assert_eq!(
        batch_layer_dx_backward(&[], &[], &[], 3, 1.0),
        (vec![], vec![], vec![])
    );
    // One sample too many: the function and its backward pass panic.
    let (w, b) = ([0.5; 4], [0.1; 2]);
    assert!(catch_unwind(|| batch_layer(&w, &b, &[1.0; 4], 3)).is_err());
    assert!(catch_unwind(|| batch_layer_backward(&w, &b, &[1.0; 4], 3, 1.0)).is_err());
    assert!(catch_unwind(|| batch_layer_dx_backward(&w, &b, &[1.0; 4], 3, 1.0)).is_err());
}
