//! A ReLU layer's loop jammed with the next (neuron-codegen/src/jam.rs),
//! the network's hidden layer in small: the ReLU's reverse reads the unit's
//! adjoint that the next loop's reverse sums, in the same iteration. The
//! next loop: a dense layer accumulated into an array (`z[k] += h[j] * …`,
//! whose reverse leaves `d_z[k]` as it is, see `accumulation.rs`); a scalar
//! sum that reads the unit twice, in a branch; the same with a value the
//! reverse pops off a tape; a loop that stores what it computes; then the
//! unit's value read again in its own loop, and `max` in place of `relu`.
//! Then a caller of all of them (their unfused sweeps). Each against
//! num-dual and central differences, and a unit that is off against a NaN.

#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]
mod common;
use common::act::relu as drelu;
use common::*;
use neuron::{differentiate, relu};
use num_dual::{Dual64, DualNum};

/// A ReLU layer into a dense one: `z[k] += h[j] * …`.
#[differentiate]
fn dense(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = relu(w[j] * x + 0.1);
    }
    let mut z = [x, x * x];
    for j in 0..4 {
        for k in 0..2 {
            z[k] += h[j] * v[(j + k) % 4];
        }
    }
    z[0].sin() + z[1] * z[0]
}
fn dense_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = drelu(w[j] * x + 0.1);
    }
    let mut z = [x, x * x];
    for j in 0..4 {
        for k in 0..2 {
            z[k] += h[j] * v[(j + k) % 4];
        }
    }
    z[0].sin() + z[1] * z[0]
}

/// A scalar sum that reads the unit twice, in a branch.
#[differentiate]
fn twice(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = relu(w[j] * x - 0.1);
    }
    let mut s = 0.0;
    for j in 0..4 {
        if v[j] > 0.0 {
            s += h[j] * v[j] - h[j] * x;
        } else {
            s += h[j] * x * 3.0;
        }
    }
    s * x
}
fn twice_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = drelu(w[j] * x - 0.1);
    }
    let mut s = c(0.0);
    for j in 0..4 {
        if v[j].re > 0.0 {
            s += h[j] * v[j] - h[j] * x;
        } else {
            s += h[j] * x * 3.0;
        }
    }
    s * x
}

/// The next loop's reverse pops a value off a tape.
#[differentiate]
fn taped(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = relu(w[j] * x - 0.1);
    }
    let mut s = 0.0;
    for j in 0..4 {
        if v[j] > 0.0 {
            s += h[j] * v[j];
        } else {
            s += (h[j] * x).sin();
        }
    }
    s * x
}
fn taped_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = drelu(w[j] * x - 0.1);
    }
    let mut s = c(0.0);
    for j in 0..4 {
        if v[j].re > 0.0 {
            s += h[j] * v[j];
        } else {
            s += (h[j] * x).sin();
        }
    }
    s * x
}

/// The next loop stores what it computes.
#[differentiate]
fn stores(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = relu(w[j] * x + 0.2);
    }
    let mut g = [0.0; 4];
    for j in 0..4 {
        g[j] = h[j] * v[j] + x;
    }
    g[0] * g[1] + g[2].cos() * g[3]
}
fn stores_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = drelu(w[j] * x + 0.2);
    }
    let mut g = [c(0.0); 4];
    for j in 0..4 {
        g[j] = h[j] * v[j] + x;
    }
    g[0] * g[1] + g[2].cos() * g[3]
}

/// The unit's value is read again in its own loop.
#[differentiate]
fn reread(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    let mut t = 0.0;
    for j in 0..4 {
        let r = relu(w[j] * x + 0.1);
        h[j] = r;
        t += r * r;
    }
    let mut s = 0.0;
    for j in 0..4 {
        s += h[j] * v[j];
    }
    s * t
}
fn reread_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    let mut t = c(0.0);
    for j in 0..4 {
        let r = drelu(w[j] * x + 0.1);
        h[j] = r;
        t += r * r;
    }
    let mut s = c(0.0);
    for j in 0..4 {
        s += h[j] * v[j];
    }
    s * t
}

/// `max` in place of `relu`: a rule of two arguments, whose block goes to
/// its second argument on a tie (see the README).
#[differentiate]
fn max0(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = (w[j] * x - 0.1).max(0.0);
    }
    let mut s = 0.0;
    for j in 0..4 {
        s += h[j] * v[j];
    }
    s.exp()
}
fn max0_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = dmax(w[j] * x - 0.1, c(0.0));
    }
    let mut s = c(0.0);
    for j in 0..4 {
        s += h[j] * v[j];
    }
    s.exp()
}

/// A caller: the functions' unfused sweeps and pullbacks.
#[differentiate]
fn calls_all(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    dense(w, v, x)
        + twice(w, v, x)
        + taped(w, v, x)
        + stores(w, v, x)
        + reread(w, v, x)
        + max0(w, v, x)
}

include!("common/case_w_v_x.rs");
case!(
    t_dense,
    dense,
    dense_value_and_backward,
    dense_backward,
    |p| dense_dual(&p[..4], &p[4..8], p[8]),
    1001
);
case!(
    t_twice,
    twice,
    twice_value_and_backward,
    twice_backward,
    |p| twice_dual(&p[..4], &p[4..8], p[8]),
    1002
);
case!(
    t_taped,
    taped,
    taped_value_and_backward,
    taped_backward,
    |p| taped_dual(&p[..4], &p[4..8], p[8]),
    1007
);
case!(
    t_stores,
    stores,
    stores_value_and_backward,
    stores_backward,
    |p| stores_dual(&p[..4], &p[4..8], p[8]),
    1003
);
case!(
    t_reread,
    reread,
    reread_value_and_backward,
    reread_backward,
    |p| reread_dual(&p[..4], &p[4..8], p[8]),
    1004
);
case!(
    t_max0,
    max0,
    max0_value_and_backward,
    max0_backward,
    |p| max0_dual(&p[..4], &p[4..8], p[8]),
    1005
);
case!(
    t_all,
    calls_all,
    calls_all_value_and_backward,
    calls_all_backward,
    |p| {
        let (w, v, x) = (&p[..4], &p[4..8], p[8]);
        dense_dual(w, v, x)
            + twice_dual(w, v, x)
            + taped_dual(w, v, x)
            + stores_dual(w, v, x)
            + reread_dual(w, v, x)
            + max0_dual(w, v, x)
    },
    1006
);

/// A unit that is off passes no gradient on, even when the sum gathered
/// for it is NaN (the book's ReLU backward, see the README's table).
#[test]
fn an_off_unit_ignores_a_nan_sum() {
    // h[0] = relu(-1 + 0.1) = 0; with d_output = NaN, every sum is NaN.
    let w = [-1.0, 0.5, 0.25, 0.125];
    let v = [2.0, 0.5, 0.5, 0.5];
    let (dw, _, _) = dense_backward(w, v, 1.0, f64::NAN);
    assert_eq!(dw[0], 0.0);
    assert!(dw[1..].iter().all(|d| d.is_nan()), "{dw:?}");
}
