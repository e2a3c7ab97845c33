//! Fused loops: when a loop only adds to float accumulators and what follows
//! it does not need their values to propagate their adjoints, `NAME_backward`
//! runs each iteration's reverse right after its forward (see
//! neuron-codegen/src/fuse.rs). Each function here is one that is fused (the
//! `let _ = __neuron_fused_NAME;` in its test does not compile otherwise),
//! checked against num-dual and central differences at random points.

// The forward functions index in range loops: the form the macro reads, and
// `s2 = s2 + …` is one of the update forms fusion recognises.
#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]

mod common;

use common::*;
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

/// A per-sample loss, called once per sample: its pullback is used in the
/// same iteration instead of being kept on a tape.
#[differentiate]
fn sample_loss(z: [f64; 2], label: f64) -> f64 {
    let m = z[0].max(z[1]);
    m + ((z[0] - m).exp() + (z[1] - m).exp()).ln() - label * z[0]
}

fn sample_loss_dual(z: [Dual64; 2], label: f64) -> Dual64 {
    let m = dmax(z[0], z[1]);
    m + ((z[0] - m).exp() + (z[1] - m).exp()).ln() - z[0] * label
}

/// The mean loss of a two-unit layer over six samples, plus a penalty after
/// the loop (`0.1 * b` is computed before the loop in the fused sweeps, whose
/// reverse of the tail runs first and reads it). `scale` is computed before the loop and read in every iteration,
/// so its adjoint collects contributions from the fused reverse and is then
/// used by the reverse of the statements before the loop.
#[differentiate]
fn batch_loss(w: &[f64], b: f64, #[no_grad] x: &[f64]) -> f64 {
    let scale = w[4] * w[4] + 0.5;
    let mut total = 0.0;
    for n in 0..6 {
        let mut z = [0.0; 2];
        for k in 0..2 {
            z[k] = ::neuron::relu(x[2 * n] * w[k] + x[2 * n + 1] * w[2 + k] + b) * scale;
        }
        total += sample_loss(z, x[2 * n] * 0.5);
    }
    total / 6.0 + 0.1 * b * b
}

fn batch_loss_dual(w: &[Dual64], b: Dual64, x: &[f64]) -> Dual64 {
    let scale = w[4] * w[4] + 0.5;
    let mut total = c(0.0);
    for n in 0..6 {
        let mut z = [c(0.0); 2];
        for k in 0..2 {
            z[k] = act::relu(w[k] * x[2 * n] + w[2 + k] * x[2 * n + 1] + b) * scale;
        }
        total += sample_loss_dual(z, x[2 * n] * 0.5);
    }
    total / 6.0 + b * b * 0.1
}

#[test]
fn a_batch_loss_with_a_call_per_sample() {
    let _ = __neuron_fused_batch_loss;
    let x: Vec<f64> = uniform_vec(&mut rng(741), 12, -1.0, 1.0);
    check_scalar(
        "batch_loss",
        742,
        |r| uniform_vec(r, 6, -1.5, 1.5),
        |p| batch_loss(&p[..5], p[5], &x),
        |p, d| {
            let (v, (gw, gb)) = batch_loss_value_and_backward(&p[..5], p[5], &x, d);
            (v, [gw, vec![gb]].concat())
        },
        |p, d| {
            let (gw, gb) = batch_loss_backward(&p[..5], p[5], &x, d);
            [gw, vec![gb]].concat()
        },
        |p| batch_loss_dual(&p[..5], p[5], &x),
    );
}

/// Both `+=` and `-=`, in the two arms of a branch, over a reversed range
/// of the slice's length; the slice gets a gradient too.
#[differentiate]
fn signed_sum(w: [f64; 2], x: &[f64]) -> f64 {
    let mut acc = w[0] * 0.25;
    for i in (0..x.len()).rev() {
        if x[i] > 0.0 {
            acc += w[0] * x[i] * x[i];
        } else {
            acc -= (w[1] * x[i]).sin();
        }
    }
    acc * 0.5 - w[1]
}

fn signed_sum_dual(w: [Dual64; 2], x: &[Dual64]) -> Dual64 {
    let mut acc = w[0] * 0.25;
    for i in (0..x.len()).rev() {
        if x[i].re > 0.0 {
            acc += w[0] * x[i] * x[i];
        } else {
            acc -= (w[1] * x[i]).sin();
        }
    }
    acc * 0.5 - w[1]
}

#[test]
fn adds_and_subtractions_in_branches() {
    let _ = __neuron_fused_signed_sum;
    check_scalar(
        "signed_sum",
        743,
        |r| {
            let mut p = uniform_vec(r, 2, -1.5, 1.5);
            p.extend((0..7).map(|_| away_from_zero(r, 0.05, 1.5)));
            p
        },
        |p| signed_sum(arr(p), &p[2..]),
        |p, d| {
            let (v, (gw, gx)) = signed_sum_value_and_backward(arr(p), &p[2..], d);
            (v, [gw.to_vec(), gx].concat())
        },
        |p, d| {
            let (gw, gx) = signed_sum_backward(arr(p), &p[2..], d);
            [gw.to_vec(), gx].concat()
        },
        |p| signed_sum_dual(darr(p), &p[2..]),
    );
}

/// Two accumulators and an array output built from them after the loop,
/// over an inclusive range.
#[differentiate]
fn moments(x: &[f64; 5], w: f64) -> [f64; 2] {
    let mut s1 = 0.0;
    let mut s2 = 0.0;
    for i in 0..=4 {
        let y = (x[i] * w).tanh();
        s1 += y;
        s2 = s2 + y * y;
    }
    [s1 * 0.2, 0.2 * s2 - w]
}

fn moments_dual(x: &[Dual64], w: Dual64) -> Vec<Dual64> {
    let mut s1 = c(0.0);
    let mut s2 = c(0.0);
    for i in 0..=4 {
        let y = (x[i] * w).tanh();
        s1 += y;
        s2 += y * y;
    }
    vec![s1 * 0.2, s2 * 0.2 - w]
}

#[test]
fn two_accumulators_and_an_array_output() {
    let _ = __neuron_fused_moments;
    check_vjp(
        "moments",
        744,
        2,
        |r| uniform_vec(r, 6, -1.5, 1.5),
        |p| moments(&arr(p), p[5]).to_vec(),
        |p, d| {
            let (v, (gx, gw)) = moments_value_and_backward(&arr(p), p[5], arr(d));
            (v.to_vec(), [gx.to_vec(), vec![gw]].concat())
        },
        |p, d| {
            let (gx, gw) = moments_backward(&arr(p), p[5], arr(d));
            [gx.to_vec(), vec![gw]].concat()
        },
        |p| moments_dual(&p[..5], p[5]),
    );
}

/// A fused function called from another differentiated function: the
/// caller uses the unfused sweeps (its pullback), which must agree.
#[differentiate]
fn calls_a_fused_function(w: &[f64], b: f64, #[no_grad] x: &[f64]) -> f64 {
    (batch_loss(w, b, x) * 0.5).sin()
}

#[test]
fn a_caller_of_a_fused_function() {
    let x: Vec<f64> = uniform_vec(&mut rng(745), 12, -1.0, 1.0);
    check_scalar(
        "calls_a_fused_function",
        746,
        |r| uniform_vec(r, 6, -1.5, 1.5),
        |p| calls_a_fused_function(&p[..5], p[5], &x),
        |p, d| {
            let (v, (gw, gb)) = calls_a_fused_function_value_and_backward(&p[..5], p[5], &x, d);
            (v, [gw, vec![gb]].concat())
        },
        |p, d| {
            let (gw, gb) = calls_a_fused_function_backward(&p[..5], p[5], &x, d);
            [gw, vec![gb]].concat()
        },
        |p| (batch_loss_dual(&p[..5], p[5], &x) * 0.5).sin(),
    );
}

/// An inner loop whose bounds are known only at run time: its tapes are
/// `Vec`s, sized to the loop before it in each fused iteration and written
/// and read at its loop variable.
#[differentiate]
fn nested_tapes(w: &[f64], x: [f64; 4]) -> f64 {
    let mut total = 0.0;
    for n in 0..4 {
        let mut s = 0.0;
        for k in 0..w.len() {
            s += (w[k] * x[n]).tanh() * w[k];
        }
        total += s * s;
    }
    total
}

fn nested_tapes_dual(w: &[Dual64], x: &[Dual64]) -> Dual64 {
    let mut total = c(0.0);
    for n in 0..4 {
        let mut s = c(0.0);
        for k in 0..w.len() {
            s += (w[k] * x[n]).tanh() * w[k];
        }
        total += s * s;
    }
    total
}

#[test]
fn tapes_inside_a_fused_loop() {
    let _ = __neuron_fused_nested_tapes;
    check_scalar(
        "nested_tapes",
        747,
        |r| uniform_vec(r, 7, -1.5, 1.5),
        |p| nested_tapes(&p[4..], arr(p)),
        |p, d| {
            let (v, (gw, gx)) = nested_tapes_value_and_backward(&p[4..], arr(p), d);
            (v, [gx.to_vec(), gw].concat())
        },
        |p, d| {
            let (gw, gx) = nested_tapes_backward(&p[4..], arr(p), d);
            [gx.to_vec(), gw].concat()
        },
        |p| nested_tapes_dual(&p[4..], &p[..4]),
    );
}

/// A hidden layer of run-time width in a `vec!` buffer per sample: the
/// fused reverse reads the buffer again, while it is in scope, instead of
/// saving its elements.
#[differentiate]
fn hidden_vec(w1: &[f64], b1: &[f64], w2: &[f64], #[no_grad] x: &[f64], nb: usize) -> f64 {
    let nh = b1.len();
    let mut total = 0.0;
    for n in 0..nb {
        let mut h = vec![0.0; nh];
        for j in 0..nh {
            h[j] = neuron::relu(x[2 * n] * w1[j] + x[2 * n + 1] * w1[nh + j] + b1[j]);
        }
        let mut z = 0.0;
        for j in 0..nh {
            z += h[j] * w2[j];
        }
        total += z.tanh();
    }
    total
}

fn hidden_vec_dual(w1: &[Dual64], b1: &[Dual64], w2: &[Dual64], x: &[f64], nb: usize) -> Dual64 {
    let nh = b1.len();
    let mut total = c(0.0);
    for n in 0..nb {
        let mut h = vec![c(0.0); nh];
        for j in 0..nh {
            h[j] = dmax(w1[j] * x[2 * n] + w1[nh + j] * x[2 * n + 1] + b1[j], c(0.0));
        }
        let mut z = c(0.0);
        for j in 0..nh {
            z += h[j] * w2[j];
        }
        total += z.tanh();
    }
    total
}

/// [`hidden_vec`] through its pullback: the unfused sweeps, which allocate
/// the buffer once too and save what the reverse reads of it.
#[differentiate]
fn calls_hidden_vec(w1: &[f64], b1: &[f64], w2: &[f64], #[no_grad] x: &[f64], nb: usize) -> f64 {
    hidden_vec(w1, b1, w2, x, nb).sin()
}

#[test]
fn a_vec_buffer_inside_a_fused_loop() {
    let _ = __neuron_fused_hidden_vec;
    // 3 samples of 2 features, 4 hidden units: w1 8, b1 4, w2 4.
    let x = [0.3, -1.2, 0.8, 0.5, -0.6, 1.1];
    let (nb, nh) = (3, 4);
    let split = |p: &[f64]| {
        let (w1, rest) = p.split_at(2 * nh);
        let (b1, w2) = rest.split_at(nh);
        (w1.to_vec(), b1.to_vec(), w2.to_vec())
    };
    let dual = |p: &[Dual64]| {
        let (w1, b1, w2) = (&p[..2 * nh], &p[2 * nh..3 * nh], &p[3 * nh..]);
        hidden_vec_dual(w1, b1, w2, &x, nb)
    };
    check_scalar(
        "hidden_vec",
        761,
        |r| uniform_vec(r, 4 * nh, -1.5, 1.5),
        |p| {
            let (w1, b1, w2) = split(p);
            hidden_vec(&w1, &b1, &w2, &x, nb)
        },
        |p, d| {
            let (w1, b1, w2) = split(p);
            let (v, (g1, gb, g2)) = hidden_vec_value_and_backward(&w1, &b1, &w2, &x, nb, d);
            (v, [g1, gb, g2].concat())
        },
        |p, d| {
            let (w1, b1, w2) = split(p);
            let (g1, gb, g2) = hidden_vec_backward(&w1, &b1, &w2, &x, nb, d);
            [g1, gb, g2].concat()
        },
        dual,
    );
    check_scalar(
        "calls_hidden_vec",
        762,
        |r| uniform_vec(r, 4 * nh, -1.5, 1.5),
        |p| {
            let (w1, b1, w2) = split(p);
            calls_hidden_vec(&w1, &b1, &w2, &x, nb)
        },
        |p, d| {
            let (w1, b1, w2) = split(p);
            let (v, (g1, gb, g2)) = calls_hidden_vec_value_and_backward(&w1, &b1, &w2, &x, nb, d);
            (v, [g1, gb, g2].concat())
        },
        |p, d| {
            let (w1, b1, w2) = split(p);
            let (g1, gb, g2) = calls_hidden_vec_backward(&w1, &b1, &w2, &x, nb, d);
            [g1, gb, g2].concat()
        },
        |p| dual(p).sin(),
    );
}

/// A dense layer: each iteration writes only its own output element, whose
/// adjoint is the seed's, so it can run its reverse right away.
#[differentiate]
fn layer(x: &[f64; 3], w: &[f64; 12], b: [f64; 4]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        let mut z = b[i];
        for j in 0..3 {
            z += w[i * 3 + j] * x[j];
        }
        if z > 0.5 {
            y[i] = z.tanh();
        } else {
            y[i] = ::neuron::relu(z) * 0.5;
        }
    }
    y
}

fn layer_dual(x: &[Dual64], w: &[Dual64], b: &[Dual64]) -> Vec<Dual64> {
    (0..4)
        .map(|i| {
            let mut z = b[i];
            for j in 0..3 {
                z += w[i * 3 + j] * x[j];
            }
            if z.re > 0.5 {
                z.tanh()
            } else {
                act::relu(z) * 0.5
            }
        })
        .collect()
}

#[test]
fn a_layer_writing_its_own_output_elements() {
    let _ = __neuron_fused_layer;
    check_vjp(
        "layer",
        748,
        4,
        |r| uniform_vec(r, 19, -1.5, 1.5),
        |p| layer(&arr(p), &arr(&p[3..]), arr(&p[15..])).to_vec(),
        |p, d| {
            let (v, (gx, gw, gb)) =
                layer_value_and_backward(&arr(p), &arr(&p[3..]), arr(&p[15..]), arr(d));
            (v.to_vec(), [gx.to_vec(), gw.to_vec(), gb.to_vec()].concat())
        },
        |p, d| {
            let (gx, gw, gb) = layer_backward(&arr(p), &arr(&p[3..]), arr(&p[15..]), arr(d));
            [gx.to_vec(), gw.to_vec(), gb.to_vec()].concat()
        },
        |p| layer_dual(&p[..3], &p[3..15], &p[15..]),
    );
}

/// A hidden layer per sample, as in the network benchmark: one loop fills
/// `h`, the next reads `h[j]`, with the logits' initialisation between them.
/// The reverses of the two loops run as one, `d_h[j]` in a scalar (see
/// neuron-codegen/src/jam.rs); the first loop's inner loop keeps its tapes.
#[differentiate]
fn hidden_layer(w1: &[f64], w2: &[f64], b2: [f64; 2], #[no_grad] x: &[f64]) -> f64 {
    let mut total = 0.0;
    for n in 0..3 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            let mut s = 0.0;
            for i in 0..2 {
                s += x[2 * n + i] * w1[i * 4 + j];
            }
            h[j] = s.tanh();
        }
        let mut z = [b2[0], b2[1]];
        for j in 0..4 {
            for k in 0..2 {
                z[k] += h[j] * w2[j * 2 + k];
            }
        }
        total += (z[0] - z[1]).sin() * z[0];
    }
    total
}

fn hidden_layer_dual(w1: &[Dual64], w2: &[Dual64], b2: &[Dual64], x: &[f64]) -> Dual64 {
    let mut total = c(0.0);
    for n in 0..3 {
        let mut h = [c(0.0); 4];
        for j in 0..4 {
            let mut s = c(0.0);
            for i in 0..2 {
                s += w1[i * 4 + j] * x[2 * n + i];
            }
            h[j] = s.tanh();
        }
        let mut z = [b2[0], b2[1]];
        for j in 0..4 {
            for k in 0..2 {
                z[k] += h[j] * w2[j * 2 + k];
            }
        }
        total += (z[0] - z[1]).sin() * z[0];
    }
    total
}

/// The same through a caller, which uses the unfused sweeps (tapes read
/// with counters).
#[differentiate]
fn calls_hidden_layer(w1: &[f64], w2: &[f64], b2: [f64; 2], #[no_grad] x: &[f64]) -> f64 {
    hidden_layer(w1, w2, b2, x).cos()
}

/// Two top-level loops handing `h` over, with a scalar accumulator set up
/// between them.
#[differentiate]
fn handed_over(x: [f64; 4], w: [f64; 4], v: [f64; 4]) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = (x[j] * w[3 - j]).exp();
    }
    let mut s = x[0] * 0.5;
    for j in 0..4 {
        s += h[j] * h[j] * v[j];
    }
    s
}

fn handed_over_dual(x: [Dual64; 4], w: [Dual64; 4], v: [Dual64; 4]) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = (x[j] * w[3 - j]).exp();
    }
    let mut s = x[0] * 0.5;
    for j in 0..4 {
        s += h[j] * h[j] * v[j];
    }
    s
}

#[test]
fn a_hidden_layer_whose_two_loops_reverse_as_one() {
    let _ = __neuron_fused_hidden_layer;
    let x: Vec<f64> = uniform_vec(&mut rng(747), 6, -1.0, 1.0);
    check_scalar(
        "hidden_layer",
        748,
        |r| uniform_vec(r, 8 + 8 + 2, -1.0, 1.0),
        |p| hidden_layer(&p[..8], &p[8..16], arr(&p[16..]), &x),
        |p, d| {
            let (v, (g1, g2, gb)) =
                hidden_layer_value_and_backward(&p[..8], &p[8..16], arr(&p[16..]), &x, d);
            (v, [g1, g2, gb.to_vec()].concat())
        },
        |p, d| {
            let (g1, g2, gb) = hidden_layer_backward(&p[..8], &p[8..16], arr(&p[16..]), &x, d);
            [g1, g2, gb.to_vec()].concat()
        },
        |p| hidden_layer_dual(&p[..8], &p[8..16], &p[16..], &x),
    );
    check_scalar(
        "calls_hidden_layer",
        749,
        |r| uniform_vec(r, 8 + 8 + 2, -1.0, 1.0),
        |p| calls_hidden_layer(&p[..8], &p[8..16], arr(&p[16..]), &x),
        |p, d| {
            let (v, (g1, g2, gb)) =
                calls_hidden_layer_value_and_backward(&p[..8], &p[8..16], arr(&p[16..]), &x, d);
            (v, [g1, g2, gb.to_vec()].concat())
        },
        |p, d| {
            let (g1, g2, gb) =
                calls_hidden_layer_backward(&p[..8], &p[8..16], arr(&p[16..]), &x, d);
            [g1, g2, gb.to_vec()].concat()
        },
        |p| hidden_layer_dual(&p[..8], &p[8..16], &p[16..], &x).cos(),
    );
}

#[test]
fn an_array_handed_from_one_top_level_loop_to_the_next() {
    let _ = __neuron_fused_handed_over;
    check_scalar(
        "handed_over",
        750,
        |r| uniform_vec(r, 12, -1.0, 1.0),
        |p| handed_over(arr(&p[..4]), arr(&p[4..8]), arr(&p[8..])),
        |p, d| {
            let (x, w, v) = (arr(&p[..4]), arr(&p[4..8]), arr(&p[8..]));
            let (value, (dx, dw, dv)) = handed_over_value_and_backward(x, w, v, d);
            (value, [dx.to_vec(), dw.to_vec(), dv.to_vec()].concat())
        },
        |p, d| {
            let (dx, dw, dv) = handed_over_backward(arr(&p[..4]), arr(&p[4..8]), arr(&p[8..]), d);
            [dx.to_vec(), dw.to_vec(), dv.to_vec()].concat()
        },
        |p| handed_over_dual(darr(&p[..4]), darr(&p[4..8]), darr(&p[8..])),
    );
}

/// The filled array is the output and a later loop reads it: its adjoint
/// starts as `d_output`, so the two loops' reverses stay apart.
#[differentiate]
fn output_read_again(x: [f64; 4], v: [f64; 4]) -> [f64; 4] {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = (x[j] * 1.5).sin();
    }
    let mut s = 0.0;
    for j in 0..4 {
        s += h[j] * v[j];
    }
    let _ = s;
    h
}

/// A caller, which uses `output_read_again`'s pullback.
#[differentiate]
fn calls_output_read_again(x: [f64; 4], v: [f64; 4]) -> f64 {
    let y = output_read_again(x, v);
    y[0] * y[3] + y[1]
}

#[test]
fn an_output_array_read_by_a_later_loop() {
    check_vjp(
        "output_read_again",
        751,
        4,
        |r| uniform_vec(r, 8, -1.5, 1.5),
        |p| output_read_again(arr(&p[..4]), arr(&p[4..])).to_vec(),
        |p, d| {
            let (y, (dx, dv)) =
                output_read_again_value_and_backward(arr(&p[..4]), arr(&p[4..]), arr(d));
            (y.to_vec(), [dx.to_vec(), dv.to_vec()].concat())
        },
        |p, d| {
            let (dx, dv) = output_read_again_backward(arr(&p[..4]), arr(&p[4..]), arr(d));
            [dx.to_vec(), dv.to_vec()].concat()
        },
        |p| p[..4].iter().map(|x| (*x * 1.5).sin()).collect(),
    );
    check_scalar(
        "calls_output_read_again",
        752,
        |r| uniform_vec(r, 8, -1.5, 1.5),
        |p| calls_output_read_again(arr(&p[..4]), arr(&p[4..])),
        |p, d| {
            let (y, (dx, dv)) =
                calls_output_read_again_value_and_backward(arr(&p[..4]), arr(&p[4..]), d);
            (y, [dx.to_vec(), dv.to_vec()].concat())
        },
        |p, d| {
            let (dx, dv) = calls_output_read_again_backward(arr(&p[..4]), arr(&p[4..]), d);
            [dx.to_vec(), dv.to_vec()].concat()
        },
        |p| {
            let y: Vec<Dual64> = p[..4].iter().map(|x| (*x * 1.5).sin()).collect();
            y[0] * y[3] + y[1]
        },
    );
}

/// A chain like Rosenbrock's, from 1, with `x` also read before and after
/// the loop: the fused reverse adds to `d_x[i]` once per iteration and
/// carries the `d_x[i + 1]` part to the next in a register. With two
/// elements the loop does not run, and with three it runs once.
#[differentiate]
fn neighbours(x: &[f64], w: f64) -> f64 {
    let head = x[0] * w;
    let mut s = head * head;
    for i in 1..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i] * w;
        s += a * a + (1.0 - x[i]).powi(2);
    }
    s + x[x.len() - 1] * 0.5
}

fn neighbours_dual(x: &[Dual64], w: Dual64) -> Dual64 {
    let head = x[0] * w;
    let mut s = head * head;
    for i in 1..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i] * w;
        s += a * a + (-x[i] + 1.0).powi(2);
    }
    s + x[x.len() - 1] * 0.5
}

/// The chain with `x` read only in the loop, from 0: nothing writes `d_x`
/// before the fused reverse, so each iteration assigns its element of `d_x`
/// rather than adding to its zero (`neighbours` adds: `d_x[0]` and the last
/// element are written first). With one element the loop does not run.
#[differentiate]
fn chain_only(x: &[f64], w: f64) -> f64 {
    let mut s = w * w;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i] * w;
        s += a * a + (1.0 - x[i]).powi(2);
    }
    s
}

fn chain_only_dual(x: &[Dual64], w: Dual64) -> Dual64 {
    let mut s = w * w;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i] * w;
        s += a * a + (-x[i] + 1.0).powi(2);
    }
    s
}

#[test]
fn a_chain_that_assigns_each_element_of_its_gradient() {
    let _ = __neuron_fused_chain_only;
    for n in [1, 2, 3, 7] {
        check_scalar(
            "chain_only",
            761 + n as u64,
            |r| uniform_vec(r, n + 1, -1.2, 1.2),
            |p| chain_only(&p[..n], p[n]),
            |p, d| {
                let (v, (dx, dw)) = chain_only_value_and_backward(&p[..n], p[n], d);
                (v, [dx, vec![dw]].concat())
            },
            |p, d| {
                let (dx, dw) = chain_only_backward(&p[..n], p[n], d);
                [dx, vec![dw]].concat()
            },
            |p| chain_only_dual(&p[..n], p[n]),
        );
    }
}

#[test]
fn a_neighbour_chain_carried_in_a_register() {
    let _ = __neuron_fused_neighbours;
    for n in [2, 3, 7] {
        check_scalar(
            "neighbours",
            753 + n as u64,
            |r| uniform_vec(r, n + 1, -1.2, 1.2),
            |p| neighbours(&p[..n], p[n]),
            |p, d| {
                let (v, (dx, dw)) = neighbours_value_and_backward(&p[..n], p[n], d);
                (v, [dx, vec![dw]].concat())
            },
            |p, d| {
                let (dx, dw) = neighbours_backward(&p[..n], p[n], d);
                [dx, vec![dw]].concat()
            },
            |p| neighbours_dual(&p[..n], p[n]),
        );
    }
}
