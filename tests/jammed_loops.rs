//! Loops whose reverses run as one (neuron-codegen/src/jam.rs) and buffers
//! zero-filled once (`unique::refilled`), in the control flow around them:
//! an early return in the consumer loop, a branch in it, the pair inside a
//! `while` body, a third loop that reads the array too (no jam), a chain of
//! two pairs with a buffer in a branch, and a caller of all of them (their
//! unfused sweeps); and a pair over a length known only at run time, which
//! may be 0. Each against num-dual and central differences.

#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]
mod common;
use common::*;
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

/// An early return from the consumer loop.
#[differentiate]
fn er(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = (w[j] * x).tanh();
    }
    let mut s = 0.0;
    for j in 0..4 {
        if h[j] > 0.6 {
            return s * 2.0;
        }
        s += h[j] * v[j];
    }
    s
}
fn er_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = (w[j] * x).tanh();
    }
    let mut s = c(0.0);
    for j in 0..4 {
        if h[j].re > 0.6 {
            return s * 2.0;
        }
        s += h[j] * v[j];
    }
    s
}

/// A branch in the consumer loop.
#[differentiate]
fn br(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = (w[j] * x).sin();
    }
    let mut s = 0.0;
    for j in 0..4 {
        if v[j] > 0.0 {
            s += h[j] * v[j];
        } else {
            s -= h[j] * h[j];
        }
    }
    s
}
fn br_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = (w[j] * x).sin();
    }
    let mut s = c(0.0);
    for j in 0..4 {
        if v[j].re > 0.0 {
            s += h[j] * v[j];
        } else {
            s -= h[j] * h[j];
        }
    }
    s
}

/// The pair inside a `while` body.
#[differentiate]
fn wh(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut k = 0;
    let mut t = 0.0;
    while k < 3 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = (w[j] * x + k as f64).sin();
        }
        for j in 0..4 {
            t += h[j] * v[j] * x;
        }
        k += 1;
    }
    t
}
fn wh_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut t = c(0.0);
    for k in 0..3 {
        let mut h = [c(0.0); 4];
        for j in 0..4 {
            h[j] = (w[j] * x + k as f64).sin();
        }
        for j in 0..4 {
            t += h[j] * v[j] * x;
        }
    }
    t
}

/// Inner loops with tapes in both loops, and a third loop reading `h` too,
/// which keeps the first two apart.
#[differentiate]
fn three(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut total = 0.0;
    for n in 0..2 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            let mut a = 0.0;
            for i in 0..3 {
                a += (w[j] * x + i as f64 + n as f64).cos();
            }
            h[j] = a;
        }
        let mut g = [0.0; 4];
        for j in 0..4 {
            let mut b = 0.0;
            for i in 0..2 {
                b += h[j] * (v[j] + i as f64);
            }
            g[j] = b.tanh();
        }
        let mut s = 0.0;
        for j in 0..4 {
            s += g[j] * h[j];
        }
        total += s;
    }
    total
}
fn three_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut total = c(0.0);
    for n in 0..2 {
        let mut h = [c(0.0); 4];
        for j in 0..4 {
            let mut a = c(0.0);
            for i in 0..3 {
                a += (w[j] * x + i as f64 + n as f64).cos();
            }
            h[j] = a;
        }
        let mut g = [c(0.0); 4];
        for j in 0..4 {
            let mut b = c(0.0);
            for i in 0..2 {
                b += h[j] * (v[j] + i as f64);
            }
            g[j] = b.tanh();
        }
        let mut s = c(0.0);
        for j in 0..4 {
            s += g[j] * h[j];
        }
        total += s;
    }
    total
}

/// `h` to `g` to a sum, and a buffer filled in a branch.
#[differentiate]
fn chain(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut total = 0.0;
    for n in 0..2 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = (w[j] * x + n as f64).sin();
        }
        let mut g = [0.0; 4];
        for j in 0..4 {
            g[j] = h[j] * v[j] + h[j];
        }
        let mut s = 0.0;
        for j in 0..4 {
            s += g[j] * g[j];
        }
        if x > 0.0 {
            let mut q = [0.0; 4];
            for j in 0..4 {
                q[j] = x * v[j];
            }
            s += q[1] * q[2];
        }
        total += s;
    }
    total
}
fn chain_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut total = c(0.0);
    for n in 0..2 {
        let mut h = [c(0.0); 4];
        for j in 0..4 {
            h[j] = (w[j] * x + n as f64).sin();
        }
        let mut g = [c(0.0); 4];
        for j in 0..4 {
            g[j] = h[j] * v[j] + h[j];
        }
        let mut s = c(0.0);
        for j in 0..4 {
            s += g[j] * g[j];
        }
        if x.re > 0.0 {
            let mut q = [c(0.0); 4];
            for j in 0..4 {
                q[j] = x * v[j];
            }
            s += q[1] * q[2];
        }
        total += s;
    }
    total
}

/// A caller: the functions' unfused sweeps and pullbacks.
#[differentiate]
fn calls_all(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    er(w, v, x) + br(w, v, x) + wh(w, v, x) + three(w, v, x) + chain(w, v, x)
}

include!("common/case_w_v_x.rs");
case!(
    t_er,
    er,
    er_value_and_backward,
    er_backward,
    |p| er_dual(&p[..4], &p[4..8], p[8]),
    901
);
case!(
    t_br,
    br,
    br_value_and_backward,
    br_backward,
    |p| br_dual(&p[..4], &p[4..8], p[8]),
    902
);
case!(
    t_wh,
    wh,
    wh_value_and_backward,
    wh_backward,
    |p| wh_dual(&p[..4], &p[4..8], p[8]),
    903
);
case!(
    t_three,
    three,
    three_value_and_backward,
    three_backward,
    |p| three_dual(&p[..4], &p[4..8], p[8]),
    904
);
case!(
    t_chain,
    chain,
    chain_value_and_backward,
    chain_backward,
    |p| chain_dual(&p[..4], &p[4..8], p[8]),
    905
);
case!(
    t_all,
    calls_all,
    calls_all_value_and_backward,
    calls_all_backward,
    |p| {
        let (w, v, x) = (&p[..4], &p[4..8], p[8]);
        er_dual(w, v, x)
            + br_dual(w, v, x)
            + wh_dual(w, v, x)
            + three_dual(w, v, x)
            + chain_dual(w, v, x)
    },
    906
);

/// The pair over a run-time length, `n = w.len()`, into a `vec!` buffer,
/// the first loop ending in a ReLU (whose reverse takes the next loop's sum
/// only where the unit is on, see `jam::gate`). Jammed whatever `n` is.
#[differentiate]
fn sized(w: &[f64], v: &[f64], x: f64) -> f64 {
    let n = w.len();
    let mut h = vec![0.0; n];
    for j in 0..n {
        h[j] = neuron::relu(w[j] * x - 0.1);
    }
    let mut s = x * 0.5;
    for k in 0..n {
        s += h[k] * v[k] + h[k].sin();
    }
    s
}
fn sized_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let n = w.len();
    let mut h = vec![c(0.0); n];
    for j in 0..n {
        h[j] = dmax(w[j] * x - 0.1, c(0.0));
    }
    let mut s = x * 0.5;
    for k in 0..n {
        s += h[k] * v[k] + h[k].sin();
    }
    s
}

/// [`sized`] through its pullback.
#[differentiate]
fn calls_sized(w: &[f64], v: &[f64], x: f64) -> f64 {
    sized(w, v, x).cos()
}

#[test]
fn a_pair_over_a_run_time_length() {
    for (name, seed, outer) in [("sized", 907, false), ("calls_sized", 908, true)] {
        let f = |p: &[f64]| match outer {
            false => sized(&p[..4], &p[4..8], p[8]),
            true => calls_sized(&p[..4], &p[4..8], p[8]),
        };
        let flat = |(dw, dv, dx): (Vec<f64>, Vec<f64>, f64)| [dw, dv, vec![dx]].concat();
        let vab = |p: &[f64], d: f64| {
            let (value, grads) = match outer {
                false => sized_value_and_backward(&p[..4], &p[4..8], p[8], d),
                true => calls_sized_value_and_backward(&p[..4], &p[4..8], p[8], d),
            };
            (value, flat(grads))
        };
        let back = |p: &[f64], d: f64| {
            flat(match outer {
                false => sized_backward(&p[..4], &p[4..8], p[8], d),
                true => calls_sized_backward(&p[..4], &p[4..8], p[8], d),
            })
        };
        let dual = |p: &[Dual64]| {
            let s = sized_dual(&p[..4], &p[4..8], p[8]);
            if outer {
                s.cos()
            } else {
                s
            }
        };
        check_scalar(
            name,
            seed,
            |r| uniform_vec(r, 9, -1.5, 1.5),
            f,
            vab,
            back,
            dual,
        );
    }
    // No units: nothing to slice, and only `x * 0.5` left.
    assert_eq!(sized_backward(&[], &[], 0.7, 2.0), (vec![], vec![], 1.0));
    let (value, grads) = calls_sized_value_and_backward(&[], &[], 0.7, 1.0);
    assert_eq!(value, 0.35_f64.cos());
    assert_eq!(grads, (vec![], vec![], -0.5 * 0.35_f64.sin()));
}
