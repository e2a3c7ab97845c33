//! Fused loops whose rows are reversed one row late: when a row's forward
//! ends in an inner loop's sum (of 16 terms or more, or of a length known
//! only at run time), `NAME_backward` runs the row's reverse after the next
//! row's forward (neuron-codegen/src/fuse.rs, `lag`; the generated code is
//! read in neuron-codegen/tests/fused.rs). Each function here is such a loop,
//! checked against num-dual and central differences at random points, and
//! at the trip counts where the lag has nothing or one row to hold: 0, 1
//! and 2 rows.

// The forward functions index in range loops: the form the macro reads.
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

/// A `tanh` layer summed, its size read off `x`: the row's reverse reads
/// the row's `tanh`, carried to the next iteration with the row index.
#[differentiate]
fn tanh_rows(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
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

fn tanh_rows_dual(x: &[f64], w: &[Dual64]) -> Dual64 {
    tanh_layer_dual(&x.iter().map(|&v| c(v)).collect::<Vec<_>>(), w)
}

#[test]
fn a_tanh_layer_of_three_rows() {
    let x = uniform_vec(&mut rng(901), 3, -1.0, 1.0);
    check_scalar(
        "tanh_rows",
        902,
        |r| uniform_vec(r, 9, -1.5, 1.5),
        |p| tanh_rows(&x, p),
        |p, d| {
            let (v, gw) = tanh_rows_value_and_backward(&x, p, d);
            (v, gw)
        },
        |p, d| tanh_rows_backward(&x, p, d),
        |p| tanh_rows_dual(&x, p),
    );
}

/// No row, one row, two rows: the reverse of the last row runs after the
/// loop, and with no row nothing runs.
#[test]
fn a_tanh_layer_of_zero_one_and_two_rows() {
    assert_eq!(tanh_rows_backward(&[], &[], 1.0), Vec::<f64>::new());
    for n in 1..=2 {
        let mut r = rng(903 + n as u64);
        let x = uniform_vec(&mut r, n, -1.0, 1.0);
        let w = uniform_vec(&mut r, n * n, -1.5, 1.5);
        let (_, exact) = dual_gradient(&|p| tanh_rows_dual(&x, p), &w);
        let got = tanh_rows_backward(&x, &w, 1.0);
        assert_all_close(&got, &exact, DUAL_REL, DUAL_ABS, &format!("{n} rows"));
    }
}

/// A dense ReLU layer with its input active: the row's reverse adds into
/// `d_x`, which every row shares, and branches on the carried sum `z`.
#[differentiate]
fn relu_rows(x: &[f64; 16], w: &[f64; 64], b: &[f64; 4]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        let mut z = b[i];
        for j in 0..16 {
            z += w[i * 16 + j] * x[j];
        }
        y[i] = neuron::relu(z);
    }
    y
}

/// The same layer under `skip_inactive`: the reverse of the row's sum runs
/// inside `if z > 0.0`, on the carried `z`.
#[differentiate(skip_inactive)]
fn relu_rows_skip(x: &[f64; 16], w: &[f64; 64], b: &[f64; 4]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        let mut z = b[i];
        for j in 0..16 {
            z += w[i * 16 + j] * x[j];
        }
        y[i] = neuron::relu(z);
    }
    y
}

fn relu_rows_dual(x: &[Dual64], w: &[Dual64], b: &[Dual64]) -> Vec<Dual64> {
    (0..4)
        .map(|i| {
            let mut z = b[i];
            for j in 0..16 {
                z += w[i * 16 + j] * x[j];
            }
            act::relu(z)
        })
        .collect()
}

/// A layer's forward function, `NAME_value_and_backward` and `NAME_backward`.
type Forward = fn(&[f64; 16], &[f64; 64], &[f64; 4]) -> [f64; 4];
type Gradient = ([f64; 16], [f64; 64], [f64; 4]);
type ValueAndBackward = fn(&[f64; 16], &[f64; 64], &[f64; 4], [f64; 4]) -> ([f64; 4], Gradient);
type Backward = fn(&[f64; 16], &[f64; 64], &[f64; 4], [f64; 4]) -> Gradient;

#[test]
fn a_relu_layer_adding_into_its_inputs_gradient() {
    let cases: [(&str, Forward, ValueAndBackward, Backward); 2] = [
        (
            "relu_rows",
            relu_rows,
            relu_rows_value_and_backward,
            relu_rows_backward,
        ),
        (
            "relu_rows_skip",
            relu_rows_skip,
            relu_rows_skip_value_and_backward,
            relu_rows_skip_backward,
        ),
    ];
    let flat = |g: Gradient| [&g.0[..], &g.1, &g.2].concat();
    for (seed, (what, f, vab, back)) in cases.into_iter().enumerate() {
        check_vjp(
            what,
            910 + seed as u64,
            4,
            // A unit's sum within the differences' step of 0 is improbable.
            |r| uniform_vec(r, 84, -1.0, 1.0),
            |p| f(&arr(p), &arr(&p[16..]), &arr(&p[80..])).to_vec(),
            |p, d| {
                let (v, g) = vab(&arr(p), &arr(&p[16..]), &arr(&p[80..]), arr(d));
                (v.to_vec(), flat(g))
            },
            |p, d| flat(back(&arr(p), &arr(&p[16..]), &arr(&p[80..]), arr(d))),
            |p| relu_rows_dual(&p[..16], &p[16..80], &p[80..]),
        );
    }
}

/// A branch on the row's sum whose arms add to the loss linearly (no tape),
/// and the row index used as a number: both carried to the next iteration.
#[differentiate]
fn branch_rows(x: &[f64], w: &[f64], v: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..v.len() {
        let mut z = v[i] * (i as f64 + 1.0);
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        if z > 0.0 {
            s += z * v[i];
        } else {
            s -= 0.25 * z;
        }
    }
    s
}

fn branch_rows_dual(x: &[Dual64], w: &[Dual64], v: &[Dual64]) -> Dual64 {
    let n = x.len();
    let mut s = c(0.0);
    for i in 0..v.len() {
        let mut z = v[i] * (i as f64 + 1.0);
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        if z.re > 0.0 {
            s += z * v[i];
        } else {
            s -= z * 0.25;
        }
    }
    s
}

#[test]
fn a_branch_on_the_rows_sum() {
    let split = |p: &[f64]| (p[..2].to_vec(), p[2..8].to_vec(), p[8..].to_vec());
    check_scalar(
        "branch_rows",
        920,
        |r| uniform_vec(r, 11, -1.5, 1.5),
        |p| {
            let (x, w, v) = split(p);
            branch_rows(&x, &w, &v)
        },
        |p, d| {
            let (x, w, v) = split(p);
            let (value, (gx, gw, gv)) = branch_rows_value_and_backward(&x, &w, &v, d);
            (value, [gx, gw, gv].concat())
        },
        |p, d| {
            let (x, w, v) = split(p);
            let (gx, gw, gv) = branch_rows_backward(&x, &w, &v, d);
            [gx, gw, gv].concat()
        },
        |p| branch_rows_dual(&p[..2], &p[2..8], &p[8..]),
    );
}

/// In `f32`: the tuple the lag carries holds `f32`s.
#[differentiate]
fn sin_rows32(x: &[f32], w: &[f32]) -> f32 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let mut z = 0.0;
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += (z + i as f32 * 0.5).sin() * z;
    }
    s
}

#[differentiate]
fn sin_rows64(x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let mut z = 0.0;
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += (z + i as f64 * 0.5).sin() * z;
    }
    s
}

fn sin_rows_dual(x: &[Dual64], w: &[Dual64]) -> Dual64 {
    let n = x.len();
    let mut s = c(0.0);
    for i in 0..n {
        let mut z = c(0.0);
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += (z + i as f64 * 0.5).sin() * z;
    }
    s
}

#[test]
fn rows_in_f64_and_in_f32() {
    check_scalar(
        "sin_rows64",
        930,
        |r| uniform_vec(r, 12, -1.0, 1.0),
        |p| sin_rows64(&p[..3], &p[3..]),
        |p, d| {
            let (v, (gx, gw)) = sin_rows64_value_and_backward(&p[..3], &p[3..], d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = sin_rows64_backward(&p[..3], &p[3..], d);
            [gx, gw].concat()
        },
        |p| sin_rows_dual(&p[..3], &p[3..]),
    );
    let mut r = rng(931);
    for _ in 0..POINTS {
        let q = uniform_vec(&mut r, 12, -1.0, 1.0);
        let p: Vec<f32> = q.iter().map(|&v| v as f32).collect();
        let q: Vec<f64> = p.iter().map(|&v| v as f64).collect();
        let (gx, gw) = sin_rows32_backward(&p[..3], &p[3..], 1.0);
        let got: Vec<f64> = gx.iter().chain(&gw).map(|&v| v as f64).collect();
        let (ex, ew) = sin_rows64_backward(&q[..3], &q[3..], 1.0);
        let want = [ex, ew].concat();
        assert_all_close(
            &got,
            &want,
            F32_REL,
            F32_ABS,
            &format!("sin_rows32 at {p:?}"),
        );
    }
}

/// Rows that read their neighbours: the reverse adds into `d_x` at indices
/// the forward computed (`i + 1`, `j % n`), carried to the next iteration.
#[differentiate]
fn neighbour_rows(x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n - 1 {
        let mut z = x[i] * x[i + 1];
        for j in 0..w.len() {
            z += w[j] * x[j % n];
        }
        s += z.tanh() + x[i + 1];
    }
    s
}

fn neighbour_rows_dual(x: &[Dual64], w: &[Dual64]) -> Dual64 {
    let n = x.len();
    let mut s = c(0.0);
    for i in 0..n - 1 {
        let mut z = x[i] * x[i + 1];
        for j in 0..w.len() {
            z += w[j] * x[j % n];
        }
        s += z.tanh() + x[i + 1];
    }
    s
}

/// Rosenbrock's chain with an inner sum: the fused reverse carries
/// `d_x[i + 1]` to the next iteration in a register (see `reverse::carries`),
/// and runs one iteration late; the last carry is added after the loop.
#[differentiate]
fn chain_rows(x: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let mut z = 0.0;
        for j in 0..w.len() {
            z += w[j] * a;
        }
        s += 100.0 * a * a + (1.0 - x[i]) * (1.0 - x[i]) + z.tanh();
    }
    s
}

fn chain_rows_dual(x: &[Dual64], w: &[Dual64]) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let mut z = c(0.0);
        for j in 0..w.len() {
            z += w[j] * a;
        }
        s += a * a * 100.0 + (c(1.0) - x[i]) * (c(1.0) - x[i]) + z.tanh();
    }
    s
}

#[test]
fn rows_that_read_their_neighbours() {
    type Pair = (
        fn(&[f64], &[f64]) -> f64,
        fn(&[Dual64], &[Dual64]) -> Dual64,
    );
    type Backward = fn(&[f64], &[f64], f64) -> (Vec<f64>, Vec<f64>);
    type ValueAndBackward = fn(&[f64], &[f64], f64) -> (f64, (Vec<f64>, Vec<f64>));
    let cases: [(&str, Pair, ValueAndBackward, Backward); 2] = [
        (
            "neighbour_rows",
            (neighbour_rows, neighbour_rows_dual),
            neighbour_rows_value_and_backward,
            neighbour_rows_backward,
        ),
        (
            "chain_rows",
            (chain_rows, chain_rows_dual),
            chain_rows_value_and_backward,
            chain_rows_backward,
        ),
    ];
    for (seed, (what, (f, dual), vab, back)) in cases.into_iter().enumerate() {
        check_scalar(
            what,
            940 + seed as u64,
            |r| uniform_vec(r, 9, -1.0, 1.0),
            |p| f(&p[..5], &p[5..]),
            |p, d| {
                let (v, (gx, gw)) = vab(&p[..5], &p[5..], d);
                (v, [gx, gw].concat())
            },
            |p, d| {
                let (gx, gw) = back(&p[..5], &p[5..], d);
                [gx, gw].concat()
            },
            |p| dual(&p[..5], &p[5..]),
        );
    }
}

/// Two sums in the inner loop, both carried, and the row index as a
/// number.
#[differentiate]
fn two_sums(x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let mut z = 0.0;
        let mut r = 1.0;
        for j in 0..n {
            z += w[i * n + j] * x[j];
            r += x[j] * x[j];
        }
        s += z / r + (i as f64) * z;
    }
    s
}

fn two_sums_dual(x: &[Dual64], w: &[Dual64]) -> Dual64 {
    let n = x.len();
    let mut s = c(0.0);
    for i in 0..n {
        let mut z = c(0.0);
        let mut r = c(1.0);
        for j in 0..n {
            z += w[i * n + j] * x[j];
            r += x[j] * x[j];
        }
        s += z / r + z * (i as f64);
    }
    s
}

/// An array output written at the row index, from a lagged row.
#[differentiate]
fn sin_outputs(x: &[f64], w: &[f64]) -> [f64; 3] {
    let n = x.len();
    let mut y = [0.0; 3];
    for i in 0..3 {
        let mut z = 0.0;
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        y[i] = z.sin() * z;
    }
    y
}

fn sin_outputs_dual(x: &[Dual64], w: &[Dual64]) -> Vec<Dual64> {
    let n = x.len();
    (0..3)
        .map(|i| {
            let mut z = c(0.0);
            for j in 0..n {
                z += w[i * n + j] * x[j];
            }
            z.sin() * z
        })
        .collect()
}

#[test]
fn two_sums_in_a_row_and_an_array_output() {
    check_scalar(
        "two_sums",
        945,
        |r| uniform_vec(r, 12, -1.0, 1.0),
        |p| two_sums(&p[..3], &p[3..]),
        |p, d| {
            let (v, (gx, gw)) = two_sums_value_and_backward(&p[..3], &p[3..], d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = two_sums_backward(&p[..3], &p[3..], d);
            [gx, gw].concat()
        },
        |p| two_sums_dual(&p[..3], &p[3..]),
    );
    check_vjp(
        "sin_outputs",
        946,
        3,
        |r| uniform_vec(r, 12, -1.0, 1.0),
        |p| sin_outputs(&p[..3], &p[3..]).to_vec(),
        |p, d| {
            let (v, (gx, gw)) = sin_outputs_value_and_backward(&p[..3], &p[3..], arr(d));
            (v.to_vec(), [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = sin_outputs_backward(&p[..3], &p[3..], arr(d));
            [gx, gw].concat()
        },
        |p| sin_outputs_dual(&p[..3], &p[3..]),
    );
}
