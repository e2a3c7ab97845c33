//! Hygiene: user parameters and locals named like the identifiers the macro
//! generates (`d_x`, `d_output`, `grads`, `tape`, `tape_len`, `t`, `t_1`,
//! `d_t_1`, `acc`, `returned`, `result`, `value`, `if_value`, `iterations`,
//! `k`, `c`, `array`) must not change the gradient. Each function is shaped so
//! that the macro does generate the colliding name (a loop for tapes, an early
//! return for `returned`/`result`, an `if` value in a loop, an array literal, a
//! `fold` for `acc`), and each gradient is checked against a hand-derived value
//! and central finite differences. Last, functions that `macro_rules!`
//! writes, whose names carry the macro's hygiene.

mod common;

use common::*;
use neuron::differentiate;

fn check(what: &str, p: &[f64], f: &dyn Fn(&[f64]) -> f64, value: f64, grad: &[f64]) {
    assert_close(value, f(p), 0.0, 0.0, &format!("{what}: value"));
    let fd = fd_gradient(f, p);
    assert_all_close(grad, &fd, FD_REL, FD_ABS, &format!("{what}: against fd"));
}

// ---------------------------------------------------------------------------
// Parameters named like the gradient accumulators and the seed.

#[differentiate]
fn params_like_adjoints(d_x: f64, x: f64, d_output: f64, grads: f64, d_d_x: f64) -> f64 {
    d_x * x + d_output * d_output * grads + d_d_x.sin()
}

#[test]
fn parameters_named_d_x_d_output_grads() {
    let p = [1.5, -0.5, 2.0, 0.75, 0.3];
    let d = 2.5;
    let (v, g) = params_like_adjoints_value_and_backward(p[0], p[1], p[2], p[3], p[4], d);
    let want = (
        d * p[1],
        d * p[0],
        d * 2.0 * p[2] * p[3],
        d * p[2] * p[2],
        d * p[4].cos(),
    );
    assert_eq!(g, want);
    assert_eq!(
        params_like_adjoints_backward(p[0], p[1], p[2], p[3], p[4], d),
        want
    );
    check(
        "params_like_adjoints",
        &p,
        &|q| params_like_adjoints(q[0], q[1], q[2], q[3], q[4]),
        v,
        &[g.0, g.1, g.2, g.3, g.4].map(|x| x / d),
    );
}

// ---------------------------------------------------------------------------
// Parameters named like tapes, temporaries and the early-return slots, in a
// function with a taped loop and an early return from inside it.

#[differentiate]
#[allow(clippy::too_many_arguments)]
fn params_like_tapes(
    tape: f64,
    t: f64,
    t_1: f64,
    d_t_1: f64,
    acc: f64,
    returned: f64,
    result: f64,
    tape_len: usize,
) -> f64 {
    let mut s = tape * t;
    for _ in 0..tape_len {
        s = (s * t_1).sin() + d_t_1 * acc;
        if s > 10.0 {
            return s * returned;
        }
    }
    s * result
}

/// The same function written out, for finite differences.
fn params_like_tapes_plain(p: &[f64], n: usize) -> f64 {
    params_like_tapes(p[0], p[1], p[2], p[3], p[4], p[5], p[6], n)
}

#[test]
fn parameters_named_tape_t_t_1_d_t_1_acc_returned_result_tape_len() {
    let p = [0.7, 1.3, 0.9, -0.4, 0.6, 1.7, 2.2];
    for n in [0, 1, 3] {
        let (v, g) =
            params_like_tapes_value_and_backward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], n, 1.0);
        let g = [g.0, g.1, g.2, g.3, g.4, g.5, g.6];
        check(
            &format!("params_like_tapes n = {n}"),
            &p,
            &|q| params_like_tapes_plain(q, n),
            v,
            &g,
        );
        // `returned` never reaches the output (no early exit here), `result` does.
        assert_eq!(g[5], 0.0);
        if n == 0 {
            // s = tape t: the gradient is exact.
            assert_eq!(
                g,
                [p[1] * p[6], p[0] * p[6], 0.0, 0.0, 0.0, 0.0, p[0] * p[1]]
            );
        }
    }
    // And with the early exit taken: `result` is cut off, `returned` reaches it.
    let q = [2.0, 2.0, 1.0, 20.0, 1.0, 1.5, 3.0];
    let (v, g) =
        params_like_tapes_value_and_backward(q[0], q[1], q[2], q[3], q[4], q[5], q[6], 3, 1.0);
    let g = [g.0, g.1, g.2, g.3, g.4, g.5, g.6];
    assert_eq!(g[6], 0.0);
    let s = (4.0_f64).sin() + 20.0;
    assert_eq!(v, s * 1.5);
    assert_eq!(g[5], s);
    check(
        "params_like_tapes early",
        &q,
        &|r| params_like_tapes_plain(r, 3),
        v,
        &g,
    );
}

// ---------------------------------------------------------------------------
// Parameters named like the loop counters, constants, slots and arrays.

#[differentiate]
fn params_like_slots(
    value: f64,
    if_value: f64,
    iterations: f64,
    k: f64,
    c: f64,
    array: [f64; 2],
) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += if s > 100.0 {
            value
        } else {
            value * if_value + i as f64 * array[i % 2]
        };
    }
    let mut n = 0;
    while n < 2 {
        s = s * iterations + k;
        n += 1;
    }
    let arr = [s, c * c];
    arr[0] + arr[1]
}

#[test]
fn parameters_named_value_if_value_iterations_k_c_array() {
    let (v, i, it, k, c, a) = (0.5, 1.5, 0.8, -0.25, 1.2, [2.0, -3.0]);
    let (val, g) = params_like_slots_value_and_backward(v, i, it, k, c, a, 1.0);
    // s after the for loop: 3 v i + a[1] + 2 a[0]; then s = (s it + k) it + k.
    let s0 = 3.0 * v * i + a[1] + 2.0 * a[0];
    let want_val = (s0 * it + k) * it + k + c * c;
    assert_close(val, want_val, 1e-15, 1e-15, "value");
    assert_eq!(val, params_like_slots(v, i, it, k, c, a));
    let ds0 = it * it;
    let want = [
        ds0 * 3.0 * i,
        ds0 * 3.0 * v,
        2.0 * s0 * it + k,
        it + 1.0,
        2.0 * c,
    ];
    assert_all_close(&[g.0, g.1, g.2, g.3, g.4], &want, 1e-14, 1e-14, "scalars");
    assert_all_close(&g.5, &[ds0 * 2.0, ds0], 1e-14, 1e-14, "array");
}

// ---------------------------------------------------------------------------
// Locals with the generated names, in every kind of body the macro lowers.

#[differentiate]
fn locals_like_generated(x: f64, y: [f64; 3], n: usize) -> f64 {
    let d_x = x * x;
    let d_output = d_x + y[0];
    let grads = [d_output, y[1], x];
    let mut tape = 0.0;
    let mut tape_len = 0;
    for t in 0..n {
        let t_1 = tape * 0.5 + grads[t % 3];
        let d_t_1 = t_1.sin();
        tape = d_t_1 * x + t_1;
        tape_len += 1;
    }
    let acc = y.iter().fold(tape, |acc, v| acc * 0.5 + v * x);
    let value = if acc > 0.0 { acc * y[2] } else { -acc };
    let mut iterations = 0;
    let mut k = value;
    while iterations < tape_len {
        k = k * 0.9 + x;
        iterations += 1;
    }
    let c = [k, value];
    let array = c[0] + c[1];
    let if_value = array * 2.0;
    let result = if_value + d_x;
    result * 1.0
}

fn locals_plain(x: f64, y: [f64; 3], n: usize) -> f64 {
    let a = x * x;
    let b = a + y[0];
    let g = [b, y[1], x];
    let mut tp = 0.0;
    for j in 0..n {
        let u = tp * 0.5 + g[j % 3];
        tp = u.sin() * x + u;
    }
    let mut f = tp;
    for v in y {
        f = f * 0.5 + v * x;
    }
    let w = if f > 0.0 { f * y[2] } else { -f };
    let mut k = w;
    for _ in 0..n {
        k = k * 0.9 + x;
    }
    (k + w) * 2.0 + a
}

#[test]
fn locals_named_like_generated_names() {
    for (x, y, n) in [
        (0.7, [0.3, -1.1, 0.8], 0),
        (0.7, [0.3, -1.1, 0.8], 4),
        (-1.3, [0.5, 2.0, -0.6], 5),
    ] {
        let (v, (gx, gy)) = locals_like_generated_value_and_backward(x, y, n, 1.0);
        assert_eq!(v, locals_like_generated(x, y, n));
        assert_close(v, locals_plain(x, y, n), 1e-15, 1e-15, "value");
        check(
            &format!("locals n = {n}"),
            &[x, y[0], y[1], y[2]],
            &|p| locals_plain(p[0], [p[1], p[2], p[3]], n),
            v,
            &[gx, gy[0], gy[1], gy[2]],
        );
    }
}

// ---------------------------------------------------------------------------
// Early return from a loop with a `let mut` local named `result`, and a closure
// parameter named like the fold slot and a local of the same name.

#[differentiate]
fn locals_like_return_slots(x: f64, w: [f64; 3]) -> f64 {
    // A local `returned` collides with the done flag: see hygiene_return_slots.rs.
    let twice = x * 2.0;
    let mut result = 0.0;
    for wi in w.iter() {
        result += wi * twice;
        if result > 5.0 {
            return result * x;
        }
    }
    if result < -5.0 {
        return -result;
    }
    let acc = 1.0;
    w.iter().fold(acc, |acc, v| acc * v) + result + acc
}

fn return_slots_plain(x: f64, w: [f64; 3]) -> f64 {
    let r = x * 2.0;
    let mut s = 0.0;
    for wi in w {
        s += wi * r;
        if s > 5.0 {
            return s * x;
        }
    }
    if s < -5.0 {
        return -s;
    }
    w[0] * w[1] * w[2] + s + 1.0
}

#[test]
fn local_named_result_with_early_returns() {
    for (x, w) in [
        (0.5, [1.0, 2.0, -1.5]), // no early exit
        (2.0, [1.0, 1.0, 3.0]),  // exit from the loop
        (-2.0, [1.0, 1.0, 0.5]), // exit after it
    ] {
        let (v, (gx, gw)) = locals_like_return_slots_value_and_backward(x, w, 1.0);
        assert_eq!(v, locals_like_return_slots(x, w));
        check(
            &format!("return slots x = {x}"),
            &[x, w[0], w[1], w[2]],
            &|p| return_slots_plain(p[0], [p[1], p[2], p[3]]),
            v,
            &[gx, gw[0], gw[1], gw[2]],
        );
    }
    // The loop exit at i = 1: result = 2 x (w0 + w1), f = result x = 2 x^2 (w0 + w1).
    let (_, (gx, gw)) = locals_like_return_slots_value_and_backward(2.0, [1.0, 1.0, 3.0], 1.0);
    assert_eq!(gx, 16.0);
    assert_eq!(gw, [8.0, 8.0, 0.0]);
}

// ---------------------------------------------------------------------------
// Calls: a caller whose parameters are named like the callee's generated
// names, and a callee parameter named like the caller's.

#[differentiate]
fn callee(d_output: f64, grads: f64) -> f64 {
    d_output * grads.exp()
}

#[differentiate]
fn caller(d_output: f64, grads: f64, tape: f64) -> f64 {
    let t = callee(grads, d_output) * tape;
    callee(t, tape) + t
}

#[test]
fn calls_with_colliding_names() {
    let (a, b, c) = (0.4, -0.3, 1.1);
    let (v, g) = caller_value_and_backward(a, b, c, 1.0);
    assert_eq!(v, caller(a, b, c));
    // t = b e^a c; f = t e^c + t.
    let ea = f64::exp(a);
    let k = c.exp() + 1.0;
    let want = (
        b * ea * c * k,
        ea * c * k,
        b * ea * k + b * ea * c * c.exp(),
    );
    assert_close(g.0, want.0, 1e-14, 1e-14, "d_output");
    assert_close(g.1, want.1, 1e-14, 1e-14, "grads");
    assert_close(g.2, want.2, 1e-14, 1e-14, "tape");
}

// ---------------------------------------------------------------------------
// Borrowed parameters named like the bindings of `NAME_backward`, which passes
// them again after it has the value and the gradients: one function whose
// loop is fused (see tests/fused_loops.rs) and one whose loop is not.

#[differentiate]
fn borrowed_like_value_and_grads(value: &[f64], grads: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        s += value[i] * grads[i];
    }
    s
}

#[differentiate]
fn borrowed_like_value_and_grads_unfused(value: &[f64], grads: &[f64]) -> f64 {
    let mut s = 1.0;
    for i in 0..2 {
        s = s * value[i] + grads[i];
    }
    s
}

#[test]
fn borrowed_parameters_named_value_and_grads() {
    let _ = __neuron_fused_borrowed_like_value_and_grads;
    let (v, g) = ([1.5, -0.5], [2.0, 0.25]);
    let d = 2.0;
    let (value, (gv, gg)) = borrowed_like_value_and_grads_value_and_backward(&v, &g, d);
    assert_eq!(value, 1.5 * 2.0 - 0.5 * 0.25);
    assert_eq!((gv.clone(), gg.clone()), (vec![4.0, 0.5], vec![3.0, -1.0]));
    assert_eq!(borrowed_like_value_and_grads_backward(&v, &g, d), (gv, gg));
    // s = (v0 + g0) * v1 + g1.
    let (value, (gv, gg)) = borrowed_like_value_and_grads_unfused_value_and_backward(&v, &g, d);
    assert_eq!(value, (1.5 + 2.0) * -0.5 + 0.25);
    assert_eq!((gv.clone(), gg.clone()), (vec![-1.0, 7.0], vec![-1.0, 2.0]));
    assert_eq!(
        borrowed_like_value_and_grads_unfused_backward(&v, &g, d),
        (gv, gg)
    );
}

// ---------------------------------------------------------------------------
// Functions that `macro_rules!` writes, from the caller's names and the
// macro's own local `t`: the caller's `u` and `b` are used both inside the
// macro's expression and by the macro's body. An `expr` fragment reaches
// `#[differentiate]` as an invisible group, plain tokens as they are. Both
// are `(u·b)² + u`. (A caller's variable named `t` would be an error; see
// tests/ui/macro_rules_hygiene.rs.)

include!("common/square_plus.rs");

square_plus_expr!(from_an_expr_fragment(u, b) = u * b);
square_plus_tokens!(from_plain_tokens(u, b) = u * b);

#[test]
fn functions_written_by_macro_rules() {
    type Case = (
        &'static str,
        fn(f64, f64) -> f64,
        fn(f64, f64, f64) -> (f64, f64),
    );
    let cases: [Case; 2] = [
        (
            "expr fragment",
            from_an_expr_fragment,
            from_an_expr_fragment_backward,
        ),
        (
            "plain tokens",
            from_plain_tokens,
            from_plain_tokens_backward,
        ),
    ];
    let (u, b, d) = (0.7, -1.3, 1.5);
    for (what, f, backward) in cases {
        let (du, db) = backward(u, b, d);
        let value = (u * b) * (u * b) + u;
        check(
            what,
            &[u, b],
            &|p: &[f64]| f(p[0], p[1]),
            value,
            &[du / d, db / d],
        );
        assert_close(
            du,
            d * (2.0 * u * b * b + 1.0),
            1e-15,
            0.0,
            &format!("{what}: d_u"),
        );
        assert_close(db, d * 2.0 * u * b * u, 1e-15, 0.0, &format!("{what}: d_b"));
    }
}
