//! A call that passes data (a value without a gradient) to an array
//! parameter of a callee without `#[no_grad]`: the caller tells the callee
//! which arguments carry a gradient (`__private::Active`, a const generic of
//! the callee's pullback), and the callee's reverse sweep leaves out the
//! additions into the others' gradients, as a layer's backward pass leaves
//! out `d_x` for the network's input. Checked against num-dual and central
//! differences, and, through the callers' entry points, that the data
//! argument's gradient is not computed.

mod common;

use common::*;
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

// The `tanh` layer with no `#[no_grad]` (a caller may pass an activation or
// data as `x`), `data_loss` passing it data and `activation_loss` an
// activation.
include!("common/tanh_layer.rs");
tanh_layer_fns!();

#[test]
fn data_and_an_activation_into_one_layer() {
    let x = uniform_vec(&mut rng(951), 3, -1.0, 1.0);
    check_scalar(
        "data_loss",
        952,
        |r| uniform_vec(r, 9, -1.0, 1.0),
        |p| data_loss(&x, p),
        |p, d| data_loss_value_and_backward(&x, p, d),
        |p, d| data_loss_backward(&x, p, d),
        |p| {
            let a = tanh_layer_dual(&x.iter().map(|&v| c(v)).collect::<Vec<_>>(), p);
            a * a
        },
    );
    check_scalar(
        "activation_loss",
        953,
        |r| uniform_vec(r, 12, -1.0, 1.0),
        |p| activation_loss(&p[..3], &p[3..]),
        |p, d| {
            let (v, (gx, gw)) = activation_loss_value_and_backward(&p[..3], &p[3..], d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = activation_loss_backward(&p[..3], &p[3..], d);
            [gx, gw].concat()
        },
        |p| {
            let a = tanh_layer_dual(&p[..3], &p[3..]);
            a * a
        },
    );
}

/// Two layers: the first gets the data, the second the first's output.
#[differentiate]
fn hidden(x: &[f64], w: &[f64]) -> [f64; 2] {
    let mut h = [0.0; 2];
    for i in 0..2 {
        let mut z = 0.0;
        for j in 0..x.len() {
            z += w[i * x.len() + j] * x[j];
        }
        h[i] = z.tanh();
    }
    h
}

#[differentiate]
fn two_layers(#[no_grad] x: &[f64], w1: &[f64], w2: &[f64]) -> f64 {
    let h = hidden(x, w1);
    let y = hidden(&h, w2);
    y[0] * y[1]
}

fn hidden_dual(x: &[Dual64], w: &[Dual64]) -> Vec<Dual64> {
    (0..2)
        .map(|i| {
            let mut z = c(0.0);
            for j in 0..x.len() {
                z += w[i * x.len() + j] * x[j];
            }
            z.tanh()
        })
        .collect()
}

#[test]
fn data_into_the_first_of_two_layers() {
    let x = uniform_vec(&mut rng(961), 3, -1.0, 1.0);
    let xd: Vec<Dual64> = x.iter().map(|&v| c(v)).collect();
    check_scalar(
        "two_layers",
        962,
        |r| uniform_vec(r, 10, -1.0, 1.0),
        |p| two_layers(&x, &p[..6], &p[6..]),
        |p, d| {
            let (v, (gw1, gw2)) = two_layers_value_and_backward(&x, &p[..6], &p[6..], d);
            (v, [gw1, gw2].concat())
        },
        |p, d| {
            let (gw1, gw2) = two_layers_backward(&x, &p[..6], &p[6..], d);
            [gw1, gw2].concat()
        },
        |p| {
            let y = hidden_dual(&hidden_dual(&xd, &p[..6]), &p[6..]);
            y[0] * y[1]
        },
    );
}

/// What a caller gets through the entry points: with `x` data (mask bit 0
/// clear), the callee leaves `d_x` at zero and computes `d_w` as before.
#[test]
fn the_callee_leaves_out_the_gradient_of_data() {
    let mut r = rng(971);
    let x = uniform_vec(&mut r, 4, -1.0, 1.0);
    let w = uniform_vec(&mut r, 16, -1.0, 1.0);
    let (value, pullback) = __neuron_call_tanh_layer(neuron::__private::Active::<0b11>, &x, &w);
    let (dx_all, dw_all) = __neuron_reverse_tanh_layer(pullback, &x, &w, 1.0);
    let (data_value, pullback) =
        __neuron_call_tanh_layer(neuron::__private::Active::<0b10>, &x, &w);
    let (dx, dw) = __neuron_reverse_tanh_layer(pullback, &x, &w, 1.0);
    assert_eq!(value, data_value);
    assert_eq!(dw, dw_all);
    assert_eq!(dx, vec![0.0; 4]);
    assert!(dx_all.iter().all(|d| *d != 0.0), "{dx_all:?}");
    let (_, exact) = dual_gradient(
        &|p: &[Dual64]| tanh_layer_dual(&p[..4], &p[4..]),
        &[x, w].concat(),
    );
    assert_all_close(&dx_all, &exact[..4], DUAL_REL, DUAL_ABS, "d_x, x active");
}
