//! `#[differentiate(skip_inactive)]` (neuron-codegen/src/skip.rs): the
//! reverse of a ReLU unit that is off is skipped. Each function is defined
//! twice by `twins!`, with the option and without it, from one body. On
//! finite inputs the two give the same gradients bit for bit, and both are
//! checked against num-dual and central differences; where a unit that is
//! off multiplies an infinite or NaN value, the default gives NaN and
//! `skip_inactive` gives the gradient of the units that are on.

#![allow(clippy::needless_range_loop, clippy::assign_op_pattern)]
mod common;
use common::act::relu as drelu;
use common::*;
use neuron::{differentiate, relu};
use num_dual::{Dual64, DualNum};

/// `fn $skip` with `#[differentiate(skip_inactive)]` and `fn $plain` with
/// `#[differentiate]`, the same body.
macro_rules! twins {
    (fn $skip:ident / $plain:ident ($($p:ident: $t:ty),*) -> f64 $body:block) => {
        #[differentiate(skip_inactive)]
        fn $skip($($p: $t),*) -> f64 $body
        #[differentiate]
        fn $plain($($p: $t),*) -> f64 $body
    };
}

// A dense layer with ReLU, as the benchmark's: each unit's sum in an inner
// loop, then the ReLU. Its reverse (the inner loop's) is what is skipped.
twins! {
    fn layer / layer_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut z = v[i] * 0.5;
            for j in 0..4 {
                z += w[(i + j) % 4] * (x - v[j]);
            }
            s += relu(z) * (i as f64 + 1.0);
        }
        s * x
    }
}
fn layer_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..4 {
        let mut z = v[i] * 0.5;
        for j in 0..4 {
            z += w[(i + j) % 4] * (x - v[j]);
        }
        s += drelu(z) * (i as f64 + 1.0);
    }
    s * x
}

// A ReLU layer into the next (the network's hidden layer, in small). Both
// loops read `v`, so they are not jammed (`jam` lets two loops share only the
// array one hands the other); `skip.rs` gates the first loop's reverse alone.
// The jammed shapes are in tests/relu_layers.rs.
twins! {
    fn hidden / hidden_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = relu(w[j] * x + v[3 - j] * 0.5);
        }
        let mut z = [x, x * x];
        for j in 0..4 {
            for k in 0..2 {
                z[k] += h[j] * v[(j + k) % 4];
            }
        }
        z[0].sin() + z[1] * z[0]
    }
}
fn hidden_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = drelu(w[j] * x + v[3 - j] * 0.5);
    }
    let mut z = [x, x * x];
    for j in 0..4 {
        for k in 0..2 {
            z[k] += h[j] * v[(j + k) % 4];
        }
    }
    z[0].sin() + z[1] * z[0]
}

// The ReLU spelled `z.max(0.0)`, as Rust code often writes it: its partial
// in `z` is the same gate, in the plain layer and in the hidden one.
twins! {
    fn layer_max / layer_max_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut z = v[i] * 0.5;
            for j in 0..4 {
                z += w[(i + j) % 4] * (x - v[j]);
            }
            s += z.max(0.0) * (i as f64 + 1.0);
        }
        s * x
    }
}
twins! {
    fn hidden_max / hidden_max_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = (w[j] * x + v[3 - j] * 0.5).max(0.0);
        }
        let mut z = [x, x * x];
        for j in 0..4 {
            for k in 0..2 {
                z[k] += h[j] * v[(j + k) % 4];
            }
        }
        z[0].sin() + z[1] * z[0]
    }
}

// The same with a term in the next loop that is not a multiple of the
// unit: that loop's reverse runs for every unit, the first loop's is skipped.
twins! {
    fn hidden_more / hidden_more_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = relu(w[j] * x + v[3 - j] * 0.5);
        }
        let mut z = [x, x * x];
        for j in 0..4 {
            for k in 0..2 {
                z[k] += h[j] * v[(j + k) % 4] + x * v[j] * 0.1;
            }
        }
        z[0].sin() + z[1] * z[0]
    }
}
fn hidden_more_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = drelu(w[j] * x + v[3 - j] * 0.5);
    }
    let mut z = [x, x * x];
    for j in 0..4 {
        for k in 0..2 {
            z[k] += h[j] * v[(j + k) % 4] + x * v[j] * 0.1;
        }
    }
    z[0].sin() + z[1] * z[0]
}

// Not skipped: the pre-activation is read again after the ReLU (a leaky
// unit), so its adjoint does not come from the ReLU alone.
twins! {
    fn leaky / leaky_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let z = w[i] * x - v[i];
            s += relu(z) + 0.1 * z;
        }
        s * s
    }
}
fn leaky_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..4 {
        let z = w[i] * x - v[i];
        s += drelu(z) + z * 0.1;
    }
    s * s
}

// A loop of unknown length in the unit's sum, and a branch after the ReLU,
// which do not stop the skip.
twins! {
    fn fan / fan_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut z = -0.25;
            for j in 0..i + 1 {
                z += w[j] * x * v[i];
            }
            let u = relu(z);
            if v[i] > 0.0 {
                s += u * x;
            } else {
                s += u;
            }
        }
        s
    }
}
fn fan_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..4 {
        let mut z = c(-0.25);
        for j in 0..i + 1 {
            z += w[j] * x * v[i];
        }
        let u = drelu(z);
        if v[i].re > 0.0 {
            s += u * x;
        } else {
            s += u;
        }
    }
    s
}

// That loop with a value taped in it. Skipped in `triangle_backward`, whose
// fused loop reads the inner loop's tape at `j`; not in the pullback a
// caller gets, where the tape keeps a counter whose pops must run on every
// iteration.
twins! {
    fn triangle / triangle_ieee(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut z = -0.25;
            for j in 0..i + 1 {
                z += (w[j] * x).sin() * v[i];
            }
            let u = relu(z);
            if v[i] > 0.0 {
                s += u * x;
            } else {
                s += u;
            }
        }
        s
    }
}
fn triangle_dual(w: &[Dual64], v: &[Dual64], x: Dual64) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..4 {
        let mut z = c(-0.25);
        for j in 0..i + 1 {
            z += (w[j] * x).sin() * v[i];
        }
        let u = drelu(z);
        if v[i].re > 0.0 {
            s += u * x;
        } else {
            s += u;
        }
    }
    s
}

/// A caller without the option: the callees' pullbacks keep theirs.
#[differentiate]
fn calls(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
    layer(w, v, x) * hidden(w, v, x) + fan(w, v, x)
}

include!("common/case_w_v_x.rs");
case!(
    t_calls,
    calls,
    calls_value_and_backward,
    calls_backward,
    |p| {
        let (w, v, x) = (&p[..4], &p[4..8], p[8]);
        layer_dual(w, v, x) * hidden_dual(w, v, x) + fan_dual(w, v, x)
    },
    1108
);
case!(
    t_layer,
    layer,
    layer_value_and_backward,
    layer_backward,
    |p| layer_dual(&p[..4], &p[4..8], p[8]),
    1101
);
case!(
    t_hidden,
    hidden,
    hidden_value_and_backward,
    hidden_backward,
    |p| hidden_dual(&p[..4], &p[4..8], p[8]),
    1102
);
case!(
    t_layer_max,
    layer_max,
    layer_max_value_and_backward,
    layer_max_backward,
    |p| layer_dual(&p[..4], &p[4..8], p[8]),
    1109
);
case!(
    t_hidden_max,
    hidden_max,
    hidden_max_value_and_backward,
    hidden_max_backward,
    |p| hidden_dual(&p[..4], &p[4..8], p[8]),
    1110
);
case!(
    t_hidden_more,
    hidden_more,
    hidden_more_value_and_backward,
    hidden_more_backward,
    |p| hidden_more_dual(&p[..4], &p[4..8], p[8]),
    1107
);
case!(
    t_leaky,
    leaky,
    leaky_value_and_backward,
    leaky_backward,
    |p| leaky_dual(&p[..4], &p[4..8], p[8]),
    1103
);
case!(
    t_fan,
    fan,
    fan_value_and_backward,
    fan_backward,
    |p| fan_dual(&p[..4], &p[4..8], p[8]),
    1106
);
case!(
    t_triangle,
    triangle,
    triangle_value_and_backward,
    triangle_backward,
    |p| triangle_dual(&p[..4], &p[4..8], p[8]),
    1104
);

type Grad = ([f64; 4], [f64; 4], f64);
type Backward = fn([f64; 4], [f64; 4], f64, f64) -> Grad;

/// Each function with and without the option, on random finite inputs.
const PAIRS: &[(&str, Backward, Backward)] = &[
    ("layer", layer_backward, layer_ieee_backward),
    ("hidden", hidden_backward, hidden_ieee_backward),
    ("layer_max", layer_max_backward, layer_max_ieee_backward),
    ("hidden_max", hidden_max_backward, hidden_max_ieee_backward),
    (
        "hidden_more",
        hidden_more_backward,
        hidden_more_ieee_backward,
    ),
    ("leaky", leaky_backward, leaky_ieee_backward),
    ("fan", fan_backward, fan_ieee_backward),
    ("triangle", triangle_backward, triangle_ieee_backward),
];

/// Bits of a gradient, so that `-0.0` and `0.0` count as the same and
/// everything else is compared exactly.
fn bits(g: Grad) -> Vec<u64> {
    let (w, v, x) = g;
    w.iter()
        .chain(&v)
        .chain([&x])
        .map(|d| (d + 0.0).to_bits())
        .collect()
}

#[test]
fn on_finite_inputs_the_gradients_are_the_defaults_bit_for_bit() {
    let mut r = rng(1105);
    for (name, skip, ieee) in PAIRS {
        let mut off = 0;
        for _ in 0..200 {
            let p = uniform_vec(&mut r, 9, -1.2, 1.2);
            let (w, v, x) = (arr(&p[..4]), arr(&p[4..8]), p[8]);
            let d = uniform(&mut r, -2.0, 2.0);
            assert_eq!(
                bits(skip(w, v, x, d)),
                bits(ieee(w, v, x, d)),
                "{name} at {p:?}"
            );
            off += usize::from(w.iter().any(|wj| wj * x < 0.0));
        }
        // The points reach units that are off, where the code differs.
        assert!(off > 50, "{name}: {off} points with a unit off");
    }
}

#[test]
fn a_unit_that_is_off_passes_nothing_where_the_default_gives_nan() {
    // A NaN weight makes every pre-activation of `layer` NaN, so every unit
    // is off (NaN > 0 is false) and the value is 0. The default reverse
    // multiplies the ReLUs' zeros by the NaN weight (`d_v`, `d_x`);
    // `skip_inactive` does not run it.
    // `z.max(0.0)` is 0 for a NaN `z` too, and its gate is shut.
    let w = [f64::NAN, 0.5, -0.5, 1.0];
    let (v, x) = ([0.1, 0.2, 0.3, 0.4], 0.7);
    type Forward = fn([f64; 4], [f64; 4], f64) -> f64;
    // So is `triangle`'s, whose units all read `w[0]`; its inner loop's
    // saved `sin(w[j] * x)` is NaN.
    let layers: [(Forward, Backward, Backward); 3] = [
        (layer, layer_backward, layer_ieee_backward),
        (layer_max, layer_max_backward, layer_max_ieee_backward),
        (triangle, triangle_backward, triangle_ieee_backward),
    ];
    for (f, skip, ieee) in layers {
        assert_eq!(f(w, v, x), 0.0);
        let (_, dv, dx) = ieee(w, v, x, 1.0);
        assert!(dx.is_nan() && dv.iter().all(|d| d.is_nan()), "{dv:?} {dx}");
        let (dw, dv, dx) = skip(w, v, x, 1.0);
        // Nothing reaches the gradients but `s * x`'s partial in `x`, `s = 0`.
        assert!(dw.iter().chain(&dv).all(|d| *d == 0.0), "{dw:?} {dv:?}");
        assert_eq!(dx, 0.0);
    }
}
