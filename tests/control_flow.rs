//! Issue 3: loops, branches, early return, calls between differentiated
//! functions, slice/Vec/reference/nested-array parameters, array locals and
//! outputs, runtime integer indexing and iterator chains. Each construct is
//! checked at `POINTS` random points against num-dual and finite differences
//! (points kept off every branch boundary, so the function is smooth there),
//! plus the book's dense layer and softmax cross-entropy with exact numbers.

// The index loops, `&Vec` params and the like are the constructs under test.
#![allow(clippy::needless_range_loop, clippy::ptr_arg)]

mod common;

use common::*;
use neuron::{differentiate, sigmoid};
use num_dual::{Dual64, DualNum};

// ---------------------------------------------------------------------------
// for loops

#[differentiate]
fn dot3(x: [f64; 3], w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += x[i] * w[i];
    }
    s
}

#[test]
fn for_loop_with_literal_bounds() {
    check_scalar(
        "dot3",
        500,
        |r| uniform_vec(r, 6, -2.0, 2.0),
        |p| dot3(arr(p), arr(&p[3..])),
        |p, d| {
            let (v, (gx, gw)) = dot3_value_and_backward(arr(p), arr(&p[3..]), d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = dot3_backward(arr(p), arr(&p[3..]), d);
            [gx, gw].concat()
        },
        |q| q[0] * q[3] + q[1] * q[4] + q[2] * q[5],
    );
    let (gx, gw) = dot3_backward([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], 1.0);
    assert_eq!((gx, gw), ([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]));
}

#[differentiate]
fn slice_mean(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i].sin();
    }
    s / x.len() as f64
}

#[test]
fn for_loop_with_runtime_bound_over_a_slice() {
    for n in [1, 4, 9] {
        check_scalar(
            &format!("slice_mean n = {n}"),
            501,
            |r| uniform_vec(r, n, -3.0, 3.0),
            slice_mean,
            |p, d| {
                let (v, g): (f64, Vec<f64>) = slice_mean_value_and_backward(p, d);
                (v, g)
            },
            slice_mean_backward,
            |q| {
                let s = q.iter().fold(c(0.0), |s, &v| s + v * v.sin());
                s / q.len() as f64
            },
        );
    }
}

#[differentiate]
fn horner(coef: [f64; 5], x: f64, lo: usize, hi: usize) -> f64 {
    let mut acc = 0.0;
    for i in (lo..=hi).rev() {
        acc = acc * x + coef[i];
    }
    acc
}

#[test]
fn inclusive_reversed_range_with_integer_param_bounds() {
    for (lo, hi) in [(0, 4), (1, 3), (2, 2), (0, 0)] {
        check_scalar(
            &format!("horner {lo}..={hi}"),
            502,
            |r| uniform_vec(r, 6, -1.5, 1.5),
            |p| horner(arr(p), p[5], lo, hi),
            |p, d| {
                let (v, (gc, gx)) = horner_value_and_backward(arr(p), p[5], lo, hi, d);
                (v, [&gc[..], &[gx]].concat())
            },
            |p, d| {
                let (gc, gx) = horner_backward(arr(p), p[5], lo, hi, d);
                [&gc[..], &[gx]].concat()
            },
            |q| {
                let mut acc = c(0.0);
                for i in (lo..=hi).rev() {
                    acc = acc * q[5] + q[i];
                }
                acc
            },
        );
    }
}

#[differentiate]
fn matvec_norm(m: [[f64; 3]; 2], v: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        let mut r = 0.0;
        for j in 0..3 {
            r += m[i][j] * v[j];
        }
        s += r * r;
    }
    s
}

#[test]
fn nested_loops_over_a_nested_array() {
    check_scalar(
        "matvec_norm",
        503,
        |r| uniform_vec(r, 9, -2.0, 2.0),
        |p| matvec_norm(arr2(p), arr(&p[6..])),
        |p, d| {
            let (v, (gm, gv)) = matvec_norm_value_and_backward(arr2(p), arr(&p[6..]), d);
            (v, [flat2(gm), gv.to_vec()].concat())
        },
        |p, d| {
            let (gm, gv) = matvec_norm_backward(arr2(p), arr(&p[6..]), d);
            [flat2(gm), gv.to_vec()].concat()
        },
        |q| {
            let m: [[Dual64; 3]; 2] = darr2(q);
            let mut s = c(0.0);
            for row in m {
                let r = row[0] * q[6] + row[1] * q[7] + row[2] * q[8];
                s += r * r;
            }
            s
        },
    );
}

#[differentiate]
fn product(x: &[f64; 4]) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        p *= x[i];
    }
    p
}

#[test]
fn loop_carried_product_over_an_array_reference() {
    // &[T; N] gives [T; N].
    check_scalar(
        "product",
        504,
        |r| uniform_vec(r, 4, -2.0, 2.0),
        |p| product(&arr(p)),
        |p, d| {
            let (v, g): (f64, [f64; 4]) = product_value_and_backward(&arr(p), d);
            (v, g.to_vec())
        },
        |p, d| product_backward(&arr(p), d).to_vec(),
        |q| q[0] * q[1] * q[2] * q[3],
    );
    assert_eq!(
        product_backward(&[1.0, 2.0, 3.0, 4.0], 1.0),
        [24.0, 12.0, 8.0, 6.0]
    );
    // A zero factor: the other partials vanish, its own does not.
    assert_eq!(
        product_backward(&[0.0, 2.0, 3.0, 4.0], 1.0),
        [24.0, 0.0, 0.0, 0.0]
    );
}

#[differentiate]
fn rnn(x: [f64; 7], w: f64, u: f64, h0: f64) -> f64 {
    let mut h = h0;
    for t in 0..7 {
        h = (w * h + u * x[t]).tanh();
    }
    h
}

#[test]
fn recurrent_tanh_cell_over_seven_steps() {
    check_scalar(
        "rnn",
        505,
        |r| uniform_vec(r, 10, -1.5, 1.5),
        |p| rnn(arr(p), p[7], p[8], p[9]),
        |p, d| {
            let (v, (gx, gw, gu, gh)) = rnn_value_and_backward(arr(p), p[7], p[8], p[9], d);
            (v, [&gx[..], &[gw, gu, gh]].concat())
        },
        |p, d| {
            let (gx, gw, gu, gh) = rnn_backward(arr(p), p[7], p[8], p[9], d);
            [&gx[..], &[gw, gu, gh]].concat()
        },
        |q| {
            let mut h = q[9];
            for t in 0..7 {
                h = (q[7] * h + q[8] * q[t]).tanh();
            }
            h
        },
    );
}

// ---------------------------------------------------------------------------
// while loops

#[differentiate]
fn newton_sqrt(a: f64) -> f64 {
    let mut g = a;
    let mut k = 0;
    while (g * g - a).abs() > 1e-14 * a && k < 100 {
        g = 0.5 * (g + a / g);
        k += 1;
    }
    g
}

#[test]
fn while_loop_until_convergence() {
    // a > 0. Back-propagating through the Newton steps gives the derivative
    // of the iteration, which converges to d sqrt(a) / da = 1 / (2 sqrt a).
    check_scalar(
        "newton_sqrt",
        506,
        |r| vec![uniform(r, 0.1, 50.0)],
        |p| newton_sqrt(p[0]),
        |p, d| {
            let (v, g) = newton_sqrt_value_and_backward(p[0], d);
            (v, vec![g])
        },
        |p, d| vec![newton_sqrt_backward(p[0], d)],
        |q| {
            let a = q[0];
            let mut g = a;
            let mut k = 0;
            while (g * g - a).re.abs() > 1e-14 * a.re && k < 100 {
                g = (g + a / g) * 0.5;
                k += 1;
            }
            g
        },
    );
    for a in [0.25, 2.0, 9.0, 30.0] {
        assert_close(
            newton_sqrt_backward(a, 1.0),
            0.5 / a.sqrt(),
            1e-10,
            0.0,
            &format!("d sqrt(a) / da at {a}"),
        );
    }
}

#[differentiate]
fn halve_until_small(x: f64, y: f64) -> f64 {
    let mut v = x * y;
    let mut n = 0.0;
    while v > 1.0 {
        v = v * 0.5 + y * 0.01;
        n += 1.0;
    }
    v * n + v
}

#[test]
fn while_loop_with_value_dependent_trip_count() {
    // The trip count is piecewise constant in (x, y); points whose iterates
    // pass within 1e-3 of the threshold 1 are skipped, so that the finite
    // differences do not straddle a change of trip count.
    let near_threshold = |x: f64, y: f64| {
        let mut v = x * y;
        loop {
            if (v - 1.0).abs() < 1e-3 {
                return true;
            }
            if v <= 1.0 {
                return false;
            }
            v = v * 0.5 + y * 0.01;
        }
    };
    check_scalar(
        "halve_until_small",
        507,
        |r| loop {
            let p = vec![uniform(r, 0.5, 10.0), uniform(r, 0.5, 3.0)];
            if !near_threshold(p[0], p[1]) {
                break p;
            }
        },
        |p| halve_until_small(p[0], p[1]),
        |p, d| {
            let (v, (a, b)) = halve_until_small_value_and_backward(p[0], p[1], d);
            (v, vec![a, b])
        },
        |p, d| {
            let (a, b) = halve_until_small_backward(p[0], p[1], d);
            vec![a, b]
        },
        |q| {
            let mut v = q[0] * q[1];
            let mut n = 0.0;
            while v.re > 1.0 {
                v = v * 0.5 + q[1] * 0.01;
                n += 1.0;
            }
            v * n + v
        },
    );
}

// ---------------------------------------------------------------------------
// if / else if / else, early return

#[differentiate]
fn piecewise(x: f64, y: f64) -> f64 {
    let a = if x > 1.0 {
        x * x * y
    } else if x > -1.0 {
        2.0 * x - y
    } else {
        -(x * y).exp()
    };
    let mut b = y;
    if y > 0.0 {
        b *= x;
    } else {
        b -= x.sin();
    }
    if a > b {
        b += 1.0;
    }
    a + b
}

fn piecewise_dual(q: &[Dual64]) -> Dual64 {
    let (x, y) = (q[0], q[1]);
    let a = if x.re > 1.0 {
        x * x * y
    } else if x.re > -1.0 {
        x * 2.0 - y
    } else {
        -(x * y).exp()
    };
    let b = if y.re > 0.0 { y * x } else { y - x.sin() };
    let b = if a.re > b.re { b + 1.0 } else { b };
    a + b
}

#[test]
fn if_else_if_else_as_expression_and_statement() {
    // Off the boundaries x = ±1, y = 0, a = b (where a jump of 1 sits).
    check_scalar(
        "piecewise",
        508,
        |r| loop {
            let p = uniform_vec(r, 2, -2.5, 2.5);
            let (x, y) = (p[0], p[1]);
            let a = if x > 1.0 {
                x * x * y
            } else if x > -1.0 {
                2.0 * x - y
            } else {
                -(x * y).exp()
            };
            let b = if y > 0.0 { y * x } else { y - x.sin() };
            if (x.abs() - 1.0).abs() > 0.05 && y.abs() > 0.05 && (a - b).abs() > 0.05 {
                break p;
            }
        },
        |p| piecewise(p[0], p[1]),
        |p, d| {
            let (v, (a, b)) = piecewise_value_and_backward(p[0], p[1], d);
            (v, vec![a, b])
        },
        |p, d| {
            let (a, b) = piecewise_backward(p[0], p[1], d);
            vec![a, b]
        },
        piecewise_dual,
    );
}

#[differentiate]
fn gate(x: f64, on: bool) -> f64 {
    if on {
        x * x
    } else {
        x.sin()
    }
}

#[test]
fn bool_params_get_no_gradient() {
    for x in [-1.5, 0.5, 2.0] {
        let g: f64 = gate_backward(x, true, 1.0);
        assert_eq!(g, 2.0 * x);
        let (v, g): (f64, f64) = gate_value_and_backward(x, false, 2.0);
        assert_eq!(v, gate(x, false));
        assert_close(g, 2.0 * x.cos(), DUAL_REL, DUAL_ABS, "gate off");
    }
}

#[differentiate]
fn leaky_sum_expr(x: [f64; 5], w: [f64; 5]) -> f64 {
    let mut s = 0.0;
    for i in 0..5 {
        let z = x[i] * w[i];
        s += if z > 0.0 { z } else { 0.1 * z };
    }
    s
}

#[test]
fn if_expression_inside_a_loop() {
    // Each product x_i w_i at least 0.05 away from the kink at 0.
    check_scalar(
        "leaky_sum_expr",
        526,
        |r| loop {
            let p = uniform_vec(r, 10, -2.0, 2.0);
            if (0..5).all(|i| (p[i] * p[5 + i]).abs() > 0.05) {
                break p;
            }
        },
        |p| leaky_sum_expr(arr(p), arr(&p[5..])),
        |p, d| {
            let (v, (gx, gw)) = leaky_sum_expr_value_and_backward(arr(p), arr(&p[5..]), d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = leaky_sum_expr_backward(arr(p), arr(&p[5..]), d);
            [gx, gw].concat()
        },
        |q| {
            (0..5).fold(c(0.0), |s, i| {
                let z = q[i] * q[5 + i];
                if z.re > 0.0 {
                    s + z
                } else {
                    s + z * 0.1
                }
            })
        },
    );
}

#[differentiate]
fn early(x: f64, y: f64) -> f64 {
    if x < 0.0 {
        return (x * y).exp();
    }
    let z = x * y + 1.0;
    if z > 2.0 {
        return z.ln() * y;
    }
    z * z
}

#[test]
fn early_return() {
    // Off x = 0 and x y + 1 = 2.
    check_scalar(
        "early",
        510,
        |r| loop {
            let p = uniform_vec(r, 2, -2.0, 2.0);
            if p[0].abs() > 0.05 && (p[0] * p[1] - 1.0).abs() > 0.05 {
                break p;
            }
        },
        |p| early(p[0], p[1]),
        |p, d| {
            let (v, (a, b)) = early_value_and_backward(p[0], p[1], d);
            (v, vec![a, b])
        },
        |p, d| {
            let (a, b) = early_backward(p[0], p[1], d);
            vec![a, b]
        },
        |q| {
            let (x, y) = (q[0], q[1]);
            if x.re < 0.0 {
                return (x * y).exp();
            }
            let z = x * y + 1.0;
            if z.re > 2.0 {
                return z.ln() * y;
            }
            z * z
        },
    );
}

#[differentiate]
fn first_big(x: [f64; 5], t: f64) -> f64 {
    let mut acc = 0.0;
    for i in 0..5 {
        acc += x[i] * x[i];
        if acc > t {
            return acc.sqrt() * x[i];
        }
    }
    acc
}

#[test]
fn early_return_from_inside_a_loop() {
    // Every partial sum of squares at least 0.05 away from the threshold t.
    check_scalar(
        "first_big",
        511,
        |r| loop {
            let p = [uniform_vec(r, 5, -1.5, 1.5), vec![uniform(r, 0.3, 6.0)]].concat();
            let mut acc = 0.0;
            let ok = (0..5).all(|i| {
                acc += p[i] * p[i];
                (acc - p[5]).abs() > 0.05
            });
            if ok {
                break p;
            }
        },
        |p| first_big(arr(p), p[5]),
        |p, d| {
            let (v, (gx, gt)) = first_big_value_and_backward(arr(p), p[5], d);
            (v, [&gx[..], &[gt]].concat())
        },
        |p, d| {
            let (gx, gt) = first_big_backward(arr(p), p[5], d);
            [&gx[..], &[gt]].concat()
        },
        |q| {
            let mut acc = c(0.0);
            for i in 0..5 {
                acc += q[i] * q[i];
                if acc.re > q[5].re {
                    return acc.sqrt() * q[i];
                }
            }
            acc
        },
    );
}

// ---------------------------------------------------------------------------
// Calls between differentiated functions.

#[differentiate]
fn c1(x: f64) -> f64 {
    x.sin() * x
}

#[differentiate]
fn c2(x: f64, y: f64) -> f64 {
    c1(x * y) + y * c1(y)
}

#[differentiate]
fn c3(x: f64, y: f64, z: f64) -> f64 {
    c2(x + z, c1(y)) * z + c1(c1(x))
}

fn c1_dual(x: Dual64) -> Dual64 {
    x.sin() * x
}

fn c2_dual(x: Dual64, y: Dual64) -> Dual64 {
    c1_dual(x * y) + y * c1_dual(y)
}

#[test]
fn call_chain_of_three_differentiated_fns() {
    check_scalar(
        "c3",
        512,
        |r| uniform_vec(r, 3, -2.0, 2.0),
        |p| c3(p[0], p[1], p[2]),
        |p, d| {
            let (v, (a, b, cc)) = c3_value_and_backward(p[0], p[1], p[2], d);
            (v, vec![a, b, cc])
        },
        |p, d| {
            let (a, b, cc) = c3_backward(p[0], p[1], p[2], d);
            vec![a, b, cc]
        },
        |q| c2_dual(q[0] + q[2], c1_dual(q[1])) * q[2] + c1_dual(c1_dual(q[0])),
    );
}

mod layers {
    use neuron::{differentiate, sigmoid};

    #[differentiate]
    pub fn dense(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
        x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b
    }

    #[differentiate]
    pub fn act(z: f64) -> f64 {
        sigmoid(z) * z
    }
}

#[differentiate]
fn net(x: [f64; 3], w: [f64; 3], b: f64, t: f64) -> f64 {
    let h = layers::act(layers::dense(x, w, b * 2.0));
    let e = h + x[0] - t;
    e * e + layers::act(w[1] * x[2]) + sigmoid(t)
}

#[test]
fn calls_through_module_paths_with_expression_args() {
    check_scalar(
        "net",
        513,
        |r| uniform_vec(r, 8, -2.0, 2.0),
        |p| net(arr(p), arr(&p[3..]), p[6], p[7]),
        |p, d| {
            let (v, (gx, gw, gb, gt)) = net_value_and_backward(arr(p), arr(&p[3..]), p[6], p[7], d);
            (v, [&gx[..], &gw[..], &[gb, gt]].concat())
        },
        |p, d| {
            let (gx, gw, gb, gt) = net_backward(arr(p), arr(&p[3..]), p[6], p[7], d);
            [&gx[..], &gw[..], &[gb, gt]].concat()
        },
        |q| {
            let act = |z: Dual64| act::sigmoid(z) * z;
            let z = q[0] * q[3] + q[1] * q[4] + q[2] * q[5] + q[6] * 2.0;
            let e = act(z) + q[0] - q[7];
            e * e + act(q[4] * q[2]) + act::sigmoid(q[7])
        },
    );
    // The callees' own backward functions are public from their module.
    let (gx, gw, gb) = layers::dense_backward([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], 0.5, 2.0);
    assert_eq!((gx, gw, gb), ([8.0, 10.0, 12.0], [2.0, 4.0, 6.0], 2.0));
    assert_eq!(layers::act_backward(0.0, 1.0), 0.5);
}

// ---------------------------------------------------------------------------
// Parameter kinds: &[T], Vec<T>, &Vec<T>, nested arrays by reference.

#[differentiate]
fn vec_params(x: Vec<f64>, w: &Vec<f64>, b: f64) -> f64 {
    let mut s = b;
    for i in 0..x.len() {
        s += (x[i] * w[i] + b).sin();
    }
    s
}

#[test]
fn vec_and_vec_ref_params_give_vecs() {
    let n = 5;
    check_scalar(
        "vec_params",
        514,
        |r| uniform_vec(r, 2 * n + 1, -2.0, 2.0),
        |p| vec_params(p[..n].to_vec(), &p[n..2 * n].to_vec(), p[2 * n]),
        |p, d| {
            let (v, (gx, gw, gb)): (f64, (Vec<f64>, Vec<f64>, f64)) =
                vec_params_value_and_backward(p[..n].to_vec(), &p[n..2 * n].to_vec(), p[2 * n], d);
            assert_eq!((gx.len(), gw.len()), (n, n), "gradient lengths");
            (v, [gx, gw, vec![gb]].concat())
        },
        |p, d| {
            let (gx, gw, gb) =
                vec_params_backward(p[..n].to_vec(), &p[n..2 * n].to_vec(), p[2 * n], d);
            [gx, gw, vec![gb]].concat()
        },
        |q| (0..n).fold(q[2 * n], |s, i| s + (q[i] * q[n + i] + q[2 * n]).sin()),
    );
}

#[differentiate]
fn slice_params(x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        s += x[i] * w[i] * w[i];
    }
    s.tanh()
}

#[test]
fn slice_params_give_vecs_of_the_same_length() {
    for n in [2, 7] {
        check_scalar(
            &format!("slice_params n = {n}"),
            515,
            |r| uniform_vec(r, 2 * n, -1.0, 1.0),
            |p| slice_params(&p[..n], &p[n..]),
            |p, d| {
                let (v, (gx, gw)): (f64, (Vec<f64>, Vec<f64>)) =
                    slice_params_value_and_backward(&p[..n], &p[n..], d);
                (v, [gx, gw].concat())
            },
            |p, d| {
                let (gx, gw) = slice_params_backward(&p[..n], &p[n..], d);
                assert_eq!((gx.len(), gw.len()), (n, n), "gradient lengths");
                [gx, gw].concat()
            },
            |q| {
                (0..n)
                    .fold(c(0.0), |s, i| s + q[i] * q[n + i] * q[n + i])
                    .tanh()
            },
        );
    }
}

#[differentiate]
fn nested_ref(m: &[[f64; 2]; 3], v: [f64; 2]) -> f64 {
    m[0][0] * m[1][1] - m[2][0] * m[0][1] + m[1][0] * m[2][1] * v[0] + v[1] * m[2][1]
}

#[test]
fn reference_to_nested_array_gives_nested_array() {
    check_scalar(
        "nested_ref",
        516,
        |r| uniform_vec(r, 8, -2.0, 2.0),
        |p| nested_ref(&arr2(p), arr(&p[6..])),
        |p, d| {
            let (v, (gm, gv)): (f64, ([[f64; 2]; 3], [f64; 2])) =
                nested_ref_value_and_backward(&arr2(p), arr(&p[6..]), d);
            (v, [flat2(gm), gv.to_vec()].concat())
        },
        |p, d| {
            let (gm, gv) = nested_ref_backward(&arr2(p), arr(&p[6..]), d);
            [flat2(gm), gv.to_vec()].concat()
        },
        |q| q[0] * q[3] - q[4] * q[1] + q[2] * q[5] * q[6] + q[7] * q[5],
    );
}

// ---------------------------------------------------------------------------
// Array locals, literals, element assignment, runtime integer indexing.

#[differentiate]
fn arrays(x: [f64; 3], y: f64) -> f64 {
    let v = [x[0] * y, x[1] + y, x[2]];
    let mut a = [0.0; 3];
    a[0] = v[1] * v[2];
    a[1] += v[0] * 2.0;
    a[2] = y;
    a[2] *= x[0];
    let i = 1;
    a[i + 1] -= v[i];
    let b = a;
    b[0] + b[1] * b[2] + v[0]
}

#[test]
fn array_literals_locals_and_element_assignment() {
    check_scalar(
        "arrays",
        517,
        |r| uniform_vec(r, 4, -2.0, 2.0),
        |p| arrays(arr(p), p[3]),
        |p, d| {
            let (v, (gx, gy)) = arrays_value_and_backward(arr(p), p[3], d);
            (v, [&gx[..], &[gy]].concat())
        },
        |p, d| {
            let (gx, gy) = arrays_backward(arr(p), p[3], d);
            [&gx[..], &[gy]].concat()
        },
        |q| {
            let (x, y) = (darr::<3>(q), q[3]);
            let v = [x[0] * y, x[1] + y, x[2]];
            let a0 = v[1] * v[2];
            let a1 = v[0] * 2.0;
            let a2 = y * x[0] - v[1];
            a0 + a1 * a2 + v[0]
        },
    );
}

#[differentiate]
fn overwrite(x: [f64; 2]) -> f64 {
    let mut a = [x[0], x[1]];
    let first = a[0];
    a[0] = 3.0;
    a[0] * first + a[1] * a[0]
}

#[test]
fn element_assignment_cuts_the_old_value_off() {
    // a[0] is overwritten by a constant: x[0] reaches the output only through
    // `first`. f = 3 x0 + 3 x1, so the gradient is exactly [3, 3].
    assert_eq!(overwrite_backward([1.5, -2.0], 1.0), [3.0, 3.0]);
    assert_eq!(overwrite([1.5, -2.0]), 4.5 - 6.0);
}

#[differentiate]
fn gather(x: [f64; 5], idx: [usize; 3], k: usize) -> f64 {
    let mut s = 0.0;
    for j in 0..3 {
        s += x[idx[j]] * x[(idx[j] + k) % 5];
    }
    s + x[k] * x[k]
}

#[test]
fn indexing_by_integer_params_and_integer_arrays() {
    for (idx, k) in [([0, 2, 4], 1), ([3, 3, 1], 2), ([4, 0, 0], 0)] {
        check_scalar(
            &format!("gather {idx:?} {k}"),
            518,
            |r| uniform_vec(r, 5, -2.0, 2.0),
            |p| gather(arr(p), idx, k),
            |p, d| {
                let (v, g): (f64, [f64; 5]) = gather_value_and_backward(arr(p), idx, k, d);
                (v, g.to_vec())
            },
            |p, d| gather_backward(arr(p), idx, k, d).to_vec(),
            |q| {
                let mut s = q[k] * q[k];
                for j in idx {
                    s += q[j] * q[(j + k) % 5];
                }
                s
            },
        );
    }
}

// ---------------------------------------------------------------------------
// Array outputs: vector-Jacobian products.

#[differentiate]
fn softmax(z: [f64; 4]) -> [f64; 4] {
    let mut e = [0.0; 4];
    let mut total = 0.0;
    for i in 0..4 {
        e[i] = z[i].exp();
        total += e[i];
    }
    for i in 0..4 {
        e[i] /= total;
    }
    e
}

#[test]
fn array_output_gives_the_vector_jacobian_product() {
    check_vjp(
        "softmax",
        519,
        4,
        |r| uniform_vec(r, 4, -3.0, 3.0),
        |p| softmax(arr(p)).to_vec(),
        |p, d| {
            let (v, g): ([f64; 4], [f64; 4]) = softmax_value_and_backward(arr(p), arr(d));
            (v.to_vec(), g.to_vec())
        },
        |p, d| softmax_backward(arr(p), arr(d)).to_vec(),
        |q| {
            let e: Vec<Dual64> = q.iter().map(|v| v.exp()).collect();
            let total = e.iter().fold(c(0.0), |s, &v| s + v);
            e.iter().map(|&v| v / total).collect()
        },
    );
    // A constant upstream gradient: softmax sums to 1, so the VJP is 0.
    let g = softmax_backward([0.3, -1.0, 2.0, 0.5], [1.0; 4]);
    assert_all_close(&g, &[0.0; 4], 0.0, 1e-15, "softmax with d_output = 1");
}

#[differentiate]
fn dense_layer(inputs: [[f64; 4]; 3], weights: [[f64; 3]; 4], biases: [f64; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for s in 0..3 {
        for j in 0..3 {
            let mut z = biases[j];
            for k in 0..4 {
                z += inputs[s][k] * weights[k][j];
            }
            out[s][j] = z;
        }
    }
    out
}

const INPUTS: [[f64; 4]; 3] = [
    [1.0, 2.0, 3.0, 2.5],
    [2.0, 5.0, -1.0, 2.0],
    [-1.5, 2.7, 3.3, -0.8],
];
/// The book's weights are given as 3 x 4 and transposed: 4 x 3 here.
const WEIGHTS: [[f64; 3]; 4] = [
    [0.2, 0.5, -0.26],
    [0.8, -0.91, -0.27],
    [-0.5, 0.26, 0.17],
    [1.0, -0.5, 0.87],
];
const BIASES: [f64; 3] = [2.0, 3.0, 0.5];

#[test]
fn book_dense_layer_backward() {
    let dvalues = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0]];
    let (dinputs, dweights, dbiases) = dense_layer_backward(INPUTS, WEIGHTS, BIASES, dvalues);
    let want_dinputs = [
        [0.44, -0.38, -0.07, 1.37],
        [0.88, -0.76, -0.14, 2.74],
        [1.32, -1.14, -0.21, 4.11],
    ];
    let want_dweights = [
        [0.5, 0.5, 0.5],
        [20.1, 20.1, 20.1],
        [10.9, 10.9, 10.9],
        [4.1, 4.1, 4.1],
    ];
    // Sums of a few products of short decimals: exact up to rounding.
    assert_all_close(&flat2(dinputs), &flat2(want_dinputs), 0.0, 1e-12, "dinputs");
    assert_all_close(
        &flat2(dweights),
        &flat2(want_dweights),
        0.0,
        1e-12,
        "dweights",
    );
    assert_all_close(&dbiases, &[6.0; 3], 0.0, 1e-12, "dbiases");
    let (out, _) = dense_layer_value_and_backward(INPUTS, WEIGHTS, BIASES, dvalues);
    assert_eq!(out, dense_layer(INPUTS, WEIGHTS, BIASES));
    // The book's forward output, first row: [4.8, 1.21, 2.385].
    assert_all_close(&out[0], &[4.8, 1.21, 2.385], 0.0, 1e-12, "forward row 0");
}

#[test]
fn dense_layer_at_random_points() {
    check_vjp(
        "dense_layer",
        520,
        9,
        |r| uniform_vec(r, 12 + 12 + 3, -2.0, 2.0),
        |p| flat2(dense_layer(arr2(p), arr2(&p[12..]), arr(&p[24..]))),
        |p, d| {
            let (v, (gi, gw, gb)) =
                dense_layer_value_and_backward(arr2(p), arr2(&p[12..]), arr(&p[24..]), arr2(d));
            (flat2(v), [flat2(gi), flat2(gw), gb.to_vec()].concat())
        },
        |p, d| {
            let (gi, gw, gb) =
                dense_layer_backward(arr2(p), arr2(&p[12..]), arr(&p[24..]), arr2(d));
            [flat2(gi), flat2(gw), gb.to_vec()].concat()
        },
        |q| {
            let inputs: [[Dual64; 4]; 3] = darr2(q);
            let weights: [[Dual64; 3]; 4] = darr2(&q[12..]);
            let mut out = Vec::new();
            for row in inputs {
                for j in 0..3 {
                    let mut z = q[24 + j];
                    for k in 0..4 {
                        z += row[k] * weights[k][j];
                    }
                    out.push(z);
                }
            }
            out
        },
    );
}

#[differentiate]
fn softmax_ce(logits: [[f64; 3]; 3], targets: [usize; 3]) -> f64 {
    let mut total = 0.0;
    for s in 0..3 {
        let z = logits[s];
        let mut denom = 0.0;
        for j in 0..3 {
            denom += z[j].exp();
        }
        total += denom.ln() - z[targets[s]];
    }
    total / 3.0
}

#[test]
fn book_softmax_cross_entropy_backward() {
    let probs = [[0.7, 0.1, 0.2], [0.1, 0.5, 0.4], [0.02, 0.9, 0.08]];
    let targets = [0, 1, 1];
    let logits = probs.map(|row| row.map(f64::ln));
    let g = softmax_ce_backward(logits, targets, 1.0);
    // (softmax - one_hot) / 3, with softmax(ln p) = p.
    let want = [
        [-0.1, 0.1 / 3.0, 0.2 / 3.0],
        [0.1 / 3.0, -0.5 / 3.0, 0.4 / 3.0],
        [0.02 / 3.0, -0.1 / 3.0, 0.08 / 3.0],
    ];
    assert_all_close(&flat2(g), &flat2(want), 0.0, 1e-12, "dlogits");
    let (loss, _) = softmax_ce_value_and_backward(logits, targets, 1.0);
    let want_loss = -(0.7_f64.ln() + 0.5_f64.ln() + 0.9_f64.ln()) / 3.0;
    assert_close(loss, want_loss, 1e-12, 0.0, "loss");
}

#[test]
fn softmax_cross_entropy_at_random_points() {
    for targets in [[0, 1, 2], [2, 2, 0]] {
        check_scalar(
            &format!("softmax_ce {targets:?}"),
            521,
            |r| uniform_vec(r, 9, -3.0, 3.0),
            |p| softmax_ce(arr2(p), targets),
            |p, d| {
                let (v, g): (f64, [[f64; 3]; 3]) =
                    softmax_ce_value_and_backward(arr2(p), targets, d);
                (v, flat2(g))
            },
            |p, d| flat2(softmax_ce_backward(arr2(p), targets, d)),
            |q| {
                let mut total = c(0.0);
                for (s, &t) in targets.iter().enumerate() {
                    let z = &q[3 * s..3 * s + 3];
                    let denom = z.iter().fold(c(0.0), |a, v| a + v.exp());
                    total += denom.ln() - z[t];
                }
                total / 3.0
            },
        );
    }
}

// ---------------------------------------------------------------------------
// Iterator chains.

#[differentiate]
fn iter_dot(x: &[f64], w: &[f64]) -> f64 {
    x.iter().zip(w.iter()).map(|(a, b)| a * b).sum()
}

#[test]
fn iterator_zip_map_sum() {
    let n = 6;
    check_scalar(
        "iter_dot",
        522,
        |r| uniform_vec(r, 2 * n, -2.0, 2.0),
        |p| iter_dot(&p[..n], &p[n..]),
        |p, d| {
            let (v, (gx, gw)) = iter_dot_value_and_backward(&p[..n], &p[n..], d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = iter_dot_backward(&p[..n], &p[n..], d);
            [gx, gw].concat()
        },
        |q| (0..n).fold(c(0.0), |s, i| s + q[i] * q[n + i]),
    );
}

#[differentiate]
fn iter_fold(x: [f64; 4], s: f64) -> f64 {
    x.iter().fold(s, |acc, v| acc * 0.5 + v.sin())
}

#[test]
fn iterator_fold() {
    check_scalar(
        "iter_fold",
        523,
        |r| uniform_vec(r, 5, -2.0, 2.0),
        |p| iter_fold(arr(p), p[4]),
        |p, d| {
            let (v, (gx, gs)) = iter_fold_value_and_backward(arr(p), p[4], d);
            (v, [&gx[..], &[gs]].concat())
        },
        |p, d| {
            let (gx, gs) = iter_fold_backward(arr(p), p[4], d);
            [&gx[..], &[gs]].concat()
        },
        |q| q[..4].iter().fold(q[4], |acc, v| acc * 0.5 + v.sin()),
    );
}

#[differentiate]
fn iter_enumerate(x: &Vec<f64>) -> f64 {
    x.iter()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * v * v)
        .sum()
}

#[test]
fn iterator_enumerate() {
    let n = 5;
    check_scalar(
        "iter_enumerate",
        524,
        |r| uniform_vec(r, n, -2.0, 2.0),
        |p| iter_enumerate(&p.to_vec()),
        |p, d| {
            let (v, g): (f64, Vec<f64>) = iter_enumerate_value_and_backward(&p.to_vec(), d);
            (v, g)
        },
        |p, d| iter_enumerate_backward(&p.to_vec(), d),
        |q| {
            q.iter()
                .enumerate()
                .fold(c(0.0), |s, (i, &v)| s + v * v * (i as f64 + 1.0))
        },
    );
}

#[differentiate]
fn rnn_sigmoid_readout(x: &[f64], w: f64, u: f64) -> f64 {
    let mut h = 0.0;
    for t in 0..x.len() {
        h = (w * h + u * x[t]).tanh();
    }
    sigmoid(h)
}

#[test]
fn recurrent_cell_over_a_runtime_length_slice() {
    for n in [1, 5, 12] {
        check_scalar(
            &format!("rnn_sigmoid_readout n = {n}"),
            525,
            |r| uniform_vec(r, n + 2, -1.5, 1.5),
            |p| rnn_sigmoid_readout(&p[..n], p[n], p[n + 1]),
            |p, d| {
                let (v, (gx, gw, gu)) =
                    rnn_sigmoid_readout_value_and_backward(&p[..n], p[n], p[n + 1], d);
                (v, [gx, vec![gw, gu]].concat())
            },
            |p, d| {
                let (gx, gw, gu) = rnn_sigmoid_readout_backward(&p[..n], p[n], p[n + 1], d);
                [gx, vec![gw, gu]].concat()
            },
            |q| {
                let mut h = c(0.0);
                for t in 0..n {
                    h = (q[n] * h + q[n + 1] * q[t]).tanh();
                }
                act::sigmoid(h)
            },
        );
    }
}

// ---------------------------------------------------------------------------
// More calls: callees with an integer param, an array output, a slice param.

#[differentiate]
fn powk(x: f64, k: i32) -> f64 {
    x.powi(k) + x
}

#[differentiate]
fn pair(x: f64, y: f64) -> [f64; 2] {
    [x * y, (x - y).sin()]
}

#[differentiate]
fn sum_sq(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

#[differentiate]
fn callers(x: &[f64], y: f64, k: i32) -> f64 {
    let p = pair(y * 2.0, x[0]);
    powk(y, k) * p[1] + powk(x[1] - y, 3) + sum_sq(x) * p[0]
}

#[test]
fn calls_to_fns_with_int_params_array_outputs_and_slices() {
    for k in [-1, 2] {
        check_scalar(
            &format!("callers k = {k}"),
            527,
            // y away from 0 for the negative power.
            |r| {
                let mut p = uniform_vec(r, 3, -2.0, 2.0);
                p.push(away_from_zero(r, 0.3, 2.0));
                p
            },
            |p| callers(&p[..3], p[3], k),
            |p, d| {
                let (v, (gx, gy)): (f64, (Vec<f64>, f64)) =
                    callers_value_and_backward(&p[..3], p[3], k, d);
                (v, [gx, vec![gy]].concat())
            },
            |p, d| {
                let (gx, gy) = callers_backward(&p[..3], p[3], k, d);
                [gx, vec![gy]].concat()
            },
            |q| {
                let powk = |x: Dual64, k: i32| x.powi(k) + x;
                let y = q[3];
                let (a, b) = (y * 2.0, q[0]);
                let p = [a * b, (a - b).sin()];
                let s = q[..3].iter().fold(c(0.0), |s, &v| s + v * v);
                powk(y, k) * p[1] + powk(q[1] - y, 3) + s * p[0]
            },
        );
    }
}

// ---------------------------------------------------------------------------
// max in a loop: the numerically stable softmax cross-entropy. The shift by
// the row maximum cancels analytically, so the gradient is again
// (softmax - one_hot) / n whatever max sends where.

#[differentiate]
fn stable_ce(logits: &[[f64; 3]], targets: &[usize]) -> f64 {
    let mut total = 0.0;
    for s in 0..logits.len() {
        let z = logits[s];
        let mut m = z[0];
        for j in 1..3 {
            m = m.max(z[j]);
        }
        let mut denom = 0.0;
        for j in 0..3 {
            denom += (z[j] - m).exp();
        }
        total += denom.ln() + m - z[targets[s]];
    }
    total / logits.len() as f64
}

#[test]
fn max_inside_loops_stable_cross_entropy() {
    let targets = [2, 0, 1, 1];
    let mut r = rng(528);
    for _ in 0..POINTS {
        let p = uniform_vec(&mut r, 12, -3.0, 3.0);
        let logits: Vec<[f64; 3]> = (0..4).map(|s| arr(&p[3 * s..])).collect();
        let g: Vec<[f64; 3]> = stable_ce_backward(&logits, &targets, 1.0);
        assert_eq!(g.len(), 4, "gradient length");
        for s in 0..4 {
            let e: Vec<f64> = logits[s].iter().map(|v| v.exp()).collect();
            let total: f64 = e.iter().sum();
            for j in 0..3 {
                let onehot = if j == targets[s] { 1.0 } else { 0.0 };
                assert_close(
                    g[s][j],
                    (e[j] / total - onehot) / 4.0,
                    1e-12,
                    1e-14,
                    &format!("stable_ce d logits[{s}][{j}] at {p:?}"),
                );
            }
        }
        let fd = fd_gradient(
            &|q: &[f64]| {
                let l: Vec<[f64; 3]> = (0..4).map(|s| arr(&q[3 * s..])).collect();
                stable_ce(&l, &targets)
            },
            &p,
        );
        let flat: Vec<f64> = g.iter().flatten().copied().collect();
        assert_all_close(
            &flat,
            &fd,
            FD_REL,
            FD_ABS,
            "stable_ce vs finite differences",
        );
    }
    // Tied logits: still the exact softmax gradient.
    let g = stable_ce_backward(&[[1.0, 1.0, 1.0]], &[0], 1.0);
    assert_all_close(
        &g[0],
        &[1.0 / 3.0 - 1.0, 1.0 / 3.0, 1.0 / 3.0],
        1e-12,
        1e-15,
        "stable_ce with tied logits",
    );
}

// ---------------------------------------------------------------------------
// Edges: empty slices, f32 in loops.

#[test]
fn empty_slices_give_empty_gradients() {
    let (gx, gw) = slice_params_backward(&[], &[], 1.0);
    assert!(gx.is_empty() && gw.is_empty(), "got {gx:?}, {gw:?}");
    assert_eq!(
        iter_dot_value_and_backward(&[], &[], 1.0),
        (0.0, (vec![], vec![]))
    );
}

#[differentiate]
fn rnn32(x: &[f32], w: f32, u: f32) -> f32 {
    let mut h = 0.0;
    for t in 0..x.len() {
        h = (w * h + u * x[t]).tanh();
    }
    h
}

#[differentiate]
fn rnn64(x: &[f64], w: f64, u: f64) -> f64 {
    let mut h = 0.0;
    for t in 0..x.len() {
        h = (w * h + u * x[t]).tanh();
    }
    h
}

#[test]
fn f32_loops_match_f64() {
    let mut r = rng(529);
    for _ in 0..POINTS {
        let p: Vec<f32> = uniform_vec(&mut r, 8, -1.5, 1.5)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let (gx, gw, gu): (Vec<f32>, f32, f32) = rnn32_backward(&p[..6], p[6], p[7], 1.0);
        let q: Vec<f64> = p.iter().map(|&v| v as f64).collect();
        let (ex, ew, eu) = rnn64_backward(&q[..6], q[6], q[7], 1.0);
        let got: Vec<f64> = gx.iter().chain([&gw, &gu]).map(|&v| v as f64).collect();
        let want = [ex, vec![ew, eu]].concat();
        assert_all_close(&got, &want, F32_REL, F32_ABS, &format!("rnn32 at {p:?}"));
        assert_close(
            rnn32(&p[..6], p[6], p[7]) as f64,
            rnn64(&q[..6], q[6], q[7]),
            F32_REL,
            F32_ABS,
            "rnn32 value",
        );
    }
}

// ---------------------------------------------------------------------------
// Loop-carried array state, compound assignment at runtime indices,
// map/sum/product chains.

#[differentiate]
fn array_state(x: [f64; 4], w: f64) -> f64 {
    let mut h = [0.0; 2];
    h[1] = 1.0;
    for t in 0..4 {
        let prev = h;
        h[0] = (prev[0] * w + x[t]).tanh();
        h[1] = prev[0] * prev[1] + h[0];
    }
    h[0] + h[1]
}

#[test]
fn loop_carried_array_state() {
    // `let prev = h` must copy: later writes to h must not change prev.
    check_scalar(
        "array_state",
        533,
        |r| uniform_vec(r, 5, -1.5, 1.5),
        |p| array_state(arr(p), p[4]),
        |p, d| {
            let (v, (gx, gw)) = array_state_value_and_backward(arr(p), p[4], d);
            (v, [&gx[..], &[gw]].concat())
        },
        |p, d| {
            let (gx, gw) = array_state_backward(arr(p), p[4], d);
            [&gx[..], &[gw]].concat()
        },
        |q| {
            let mut h = [c(0.0), c(1.0)];
            for t in 0..4 {
                let prev = h;
                h[0] = (prev[0] * q[4] + q[t]).tanh();
                h[1] = prev[0] * prev[1] + h[0];
            }
            h[0] + h[1]
        },
    );
}

#[differentiate]
fn runtime_index_updates(z: [f64; 3], t: [usize; 2]) -> f64 {
    let mut a = z;
    for s in 0..2 {
        a[t[s]] -= 1.0;
        a[t[s]] *= z[s];
    }
    a[0] + a[1] * a[2]
}

#[test]
fn compound_assignment_at_runtime_indices() {
    for t in [[1, 2], [0, 0], [2, 1]] {
        check_scalar(
            &format!("runtime_index_updates {t:?}"),
            534,
            |r| uniform_vec(r, 3, -2.0, 2.0),
            |p| runtime_index_updates(arr(p), t),
            |p, d| {
                let (v, g) = runtime_index_updates_value_and_backward(arr(p), t, d);
                (v, g.to_vec())
            },
            |p, d| runtime_index_updates_backward(arr(p), t, d).to_vec(),
            |q| {
                let mut a = darr::<3>(q);
                for s in 0..2 {
                    a[t[s]] = (a[t[s]] - 1.0) * q[s];
                }
                a[0] + a[1] * a[2]
            },
        );
    }
}

#[differentiate]
fn map_sum_product(x: [f64; 3], w: [f64; 3]) -> f64 {
    let a: f64 = x.iter().map(|v| v * v).sum();
    let b = x.iter().zip(w.iter()).map(|(p, q)| p * q).sum::<f64>();
    let c: f64 = w.iter().product();
    a + b * c
}

#[test]
fn iterator_map_sum_and_product() {
    check_scalar(
        "map_sum_product",
        535,
        |r| uniform_vec(r, 6, -2.0, 2.0),
        |p| map_sum_product(arr(p), arr(&p[3..])),
        |p, d| {
            let (v, (gx, gw)) = map_sum_product_value_and_backward(arr(p), arr(&p[3..]), d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = map_sum_product_backward(arr(p), arr(&p[3..]), d);
            [gx, gw].concat()
        },
        |q| {
            let a = q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
            let b = q[0] * q[3] + q[1] * q[4] + q[2] * q[5];
            a + b * (q[3] * q[4] * q[5])
        },
    );
}
