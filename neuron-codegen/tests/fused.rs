//! Which loops `NAME_backward` fuses (runs each iteration's reverse right
//! after its forward), read off the generated code. The gradients of fused
//! functions are checked at run time in the root crate's tests/fused_loops.rs
//! and by every differential test whose function has such a loop.

mod common;

use common::{expand, sweeps};

/// The body of `__neuron_fused_NAME`, if there is one.
fn fused_body(out: &str, name: &str) -> Option<String> {
    let start = out.find(&format!("fn __neuron_fused_{name}"))?;
    Some(out[start..].to_string())
}

const NETWORK: &str = "
fn network_loss(w1: &[f64], b1: &[f64], w2: &[f64], b2: &[f64], #[no_grad] x: &[f64], labels: &[usize]) -> f64 {
    let mut total = 0.0;
    for n in 0..300 {
        let mut h = [0.0; 64];
        for j in 0..64 {
            h[j] = ::neuron::relu(x[2 * n] * w1[j] + x[2 * n + 1] * w1[64 + j] + b1[j]);
        }
        let mut z = [0.0; 3];
        for k in 0..3 {
            let mut s = b2[k];
            for j in 0..64 {
                s += h[j] * w2[j * 3 + k];
            }
            z[k] = s;
        }
        total += cross_entropy(z, labels[n]);
    }
    total / 300.0
}";

#[test]
fn the_network_loss_runs_each_samples_reverse_after_its_forward() {
    let out = expand(NETWORK);
    let body = fused_body(&out, "network_loss").expect("network_loss is fused");
    // One pass over the samples, forwards; nothing saved for a later pass.
    assert!(body.contains("for n in 0 .. 300"), "{body}");
    assert!(!body.contains("(0 .. 300) . rev ()"), "{body}");
    assert!(
        !body.contains("300usize") && !body.contains("tape_len"),
        "{body}"
    );
    // The one tape holds a sample's ReLU inputs, at the hidden unit's index,
    // so the reverse does not redo the five loads and four operations.
    assert!(body.contains("[0.0 ; 64usize]"), "{body}");
    assert_eq!(body.matches("[j as usize]").count(), 2, "{body}");
    let reverse = &body[body.find("let mut d_h").unwrap()..];
    assert!(!reverse.contains("* w1 ["), "{reverse}");
    // The pullback of the call is applied in the iteration that made it.
    let call = body.find("__neuron_call_cross_entropy").unwrap();
    let apply = body.find("__neuron_reverse_cross_entropy").unwrap();
    assert!(call < apply, "{body}");
    // NAME_backward uses it; callers keep the forward sweep and its pullback,
    // which still walks the samples backwards.
    assert!(
        out.contains("__neuron_fused_network_loss (w1 , b1"),
        "{out}"
    );
    let (_, reverse) = sweeps(&out, "network_loss");
    assert!(reverse.contains("(0 .. 300) . rev ()"), "{reverse}");
}

/// Functions whose loop must not be fused, and why.
const NOT_FUSED: &[(&str, &str)] = &[
    (
        "the adjoint of the sum after the loop needs its value",
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..4 { s += x[i] * x[i]; } s.ln() }",
    ),
    (
        "a product, not a sum: each iteration changes the adjoint",
        "fn f(x: &[f64]) -> f64 { let mut p = 1.0; for i in 0..4 { p = p * x[i]; } p }",
    ),
    (
        "the accumulator is read elsewhere in the loop",
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..4 { s += s * x[i]; } s }",
    ),
    (
        "the sum is read twice in one update",
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..4 { s = s + x[i]; let t = s; s = t * 2.0; } s }",
    ),
    (
        "an array the loop writes is needed after it to propagate its adjoint",
        "fn f(x: &[f64]) -> f64 { let mut a = [0.0; 4]; for i in 0..4 { a[i] = x[i].sin(); } a[0] * a[3] }",
    ),
    (
        "a branch follows the loop",
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..4 { s += x[i]; } if x[0] > 0.0 { s } else { 2.0 * s } }",
    ),
    (
        "an integer counter outside the loop is written in it",
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; let mut k = 0; for i in 0..4 { s += x[k]; k = i; } s }",
    ),
    (
        "an array written at another index than the loop variable's",
        "fn f(x: &[f64]) -> [f64; 5] { let mut y = [0.0; 5]; for i in 0..4 { y[i + 1] = x[i].sin(); } y }",
    ),
    (
        "an array written at the loop variable's index and read in the loop",
        "fn f(x: &[f64]) -> [f64; 4] { let mut y = [0.0; 4]; for i in 0..4 { y[i] = x[i].sin(); y[i] = y[i] * x[i]; } y }",
    ),
    (
        "a while loop",
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; let mut i = 0; while i < 4 { s += x[i]; i += 1; } s }",
    ),
];

#[test]
fn loops_that_are_not_fused() {
    for (why, src) in NOT_FUSED {
        let out = expand(src);
        assert!(!out.contains("compile_error"), "{why}: {out}");
        assert!(fused_body(&out, "f").is_none(), "{why}: fused\n{out}");
        assert!(out.contains("fn f_backward"), "{why}: {out}");
    }
}

/// Functions whose loop is fused.
const FUSED: &[(&str, &str)] = &[
    (
        "an array written at the loop variable's index, summed after the loop",
        "fn f(x: &[f64]) -> f64 { let mut a = [0.0; 4]; for i in 0..4 { a[i] = x[i].sin(); } a[0] + a[3] }",
    ),
    (
        "a penalty after the loop that does not depend on it",
        "fn f(x: &[f64], b: f64) -> f64 { let mut s = 0.0; for i in 0..4 { s += x[i] * b; } s / 4.0 + 0.1 * b * b.sin() }",
    ),
    (
        "a plain sum",
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..4 { s += x[i] * x[i]; } s }",
    ),
    (
        "a sum scaled after the loop, with a subtraction under a branch",
        "fn f(x: &[f64], w: f64) -> f64 { let mut s = w; for i in 0..x.len() { if x[i] > 0.0 { s += x[i]; } else { s -= (w * x[i]).sin(); } } 0.5 * s + w }",
    ),
    (
        "two sums, the second written `s = x + s`",
        "fn f(x: &[f64]) -> [f64; 2] { let mut a = 0.0; let mut b = 0.0; for i in 0..4 { a += x[i]; b = x[i].exp() + b; } [a, b] }",
    ),
    (
        "a layer writing each output element in its own iteration",
        "fn f(x: &[f64], w: &[f64]) -> [f64; 4] { let mut y = [0.0; 4]; for i in 0..4 { let mut z = 0.0; for j in 0..3 { z += w[i * 3 + j] * x[j]; } if z > 1.0 { y[i] = z.tanh(); } else { y[i] = z; } } y }",
    ),
];

#[test]
fn loops_that_are_fused() {
    for (what, src) in FUSED {
        let out = expand(src);
        assert!(fused_body(&out, "f").is_some(), "{what}: not fused\n{out}");
        // Calls from other differentiated functions keep the unfused sweeps.
        assert!(out.contains("fn __neuron_forward_f"), "{what}: {out}");
    }
}

#[test]
fn a_loss_over_a_slice_of_samples_with_its_length_after_the_loop() {
    // The spiral example's shape: the mean over `x.len()` samples, whose
    // `x.len() as f64` is computed after the loop but does not depend on it;
    // an inner loop saves its `exp`s on a tape of one iteration's size.
    let out = expand(
        "fn f(x: &[f64], w: &[f64]) -> f64 {
            let mut total = 0.0;
            for i in 0..x.len() {
                let mut s = 0.0;
                for k in 0..3 { s += (x[i] * w[k]).exp(); }
                total += s.ln();
            }
            total / x.len() as f64
        }",
    );
    let body = fused_body(&out, "f").unwrap_or_else(|| panic!("not fused\n{out}"));
    assert!(body.contains("[0.0 ; 3usize]"), "{body}");
    assert!(!body.contains("Vec :: new"), "{body}");
}

#[test]
fn a_vec_buffer_of_the_fused_loop_is_read_again_not_saved() {
    // The reverse of each iteration runs while `h` is in scope and after its
    // last write, so the second loop's reverse reads `h[j]` itself; only
    // the ReLU's input (from five loads and four operations) is saved. The
    // two loops share the bound `nh`, so their reverses run as one (see
    // `jam`), and `d_h` is a scalar, not a buffer allocated per sample.
    let out = expand(
        "fn f(w1: &[f64], b1: &[f64], w2: &[f64], #[no_grad] x: &[f64], nb: usize) -> f64 {
            let nh = b1.len();
            let mut total = 0.0;
            for n in 0..nb {
                let mut h = vec![0.0; nh];
                for j in 0..nh { h[j] = relu(x[2 * n] * w1[j] + x[2 * n + 1] * w1[nh + j] + b1[j]); }
                let mut z = 0.0;
                for j in 0..nh { z += h[j] * w2[j]; }
                total += z.tanh();
            }
            total
        }",
    );
    let body = fused_body(&out, "f").unwrap_or_else(|| panic!("not fused\n{out}"));
    // One tape, sized to the loop and written at `j` (see `tapes.rs`).
    assert_eq!(body.matches(". resize (").count(), 1, "{body}");
    assert!(!body.contains(". push ("), "{body}");
    assert!(body.contains("d_w2_row [j] += d_t_19 * h [j] ;"), "{body}");
    assert!(body.contains("let mut d_h_j = - 0.0 ;"), "{body}");
    assert!(!body.contains("d_h ="), "{body}");
    // The first loop overwrites `h` whole each sample before anything reads
    // it, so it is allocated once, before the loop over the samples, in the
    // fused function and in the pullback a caller gets (see
    // `unique::refilled`).
    let pullback = &out[out.find("fn __neuron_forward_f").expect("a pullback")..];
    for code in [&body[..], pullback] {
        let buffer = code.find("let mut h = :: std :: vec ! [0.0 ; nh] ;");
        let samples = code.find("for n in 0 .. nb");
        assert!(buffer.is_some() && buffer < samples, "{code}");
    }
}

/// A row's reverse runs one row late when the row's forward ends in an
/// inner loop's sum: the next row's sum starts while this row's reverse
/// runs (see `fuse::lag`). What the reverse reads from its row's forward,
/// the row index and the scalars of the body's own block, goes in a tuple.
#[test]
fn a_row_after_an_inner_sum_is_reversed_one_row_late() {
    let layer = "fn f(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
        let n = x.len();
        let mut s = 0.0;
        for i in 0..n {
            let mut z = 0.0;
            for j in 0..n { z += w[i * n + j] * x[j]; }
            s += z.tanh();
        }
        s
    }";
    let dense = "fn f(x: &[f64], w: &[f64], b: &[f64]) -> [f64; 4] {
        let mut y = [0.0; 4];
        for i in 0..4 {
            let mut z = b[i];
            for j in 0..16 { z += w[i * 16 + j] * x[j]; }
            y[i] = relu(z);
        }
        y
    }";
    for (src, carried) in [(layer, "(i , t_9 ,)"), (dense, "(i , z ,)")] {
        let out = expand(src);
        let body = fused_body(&out, "f").unwrap_or_else(|| panic!("not fused\n{out}"));
        let lagged = format!(":: core :: option :: Option :: Some ({carried}) = lagged . replace");
        assert!(body.contains(&lagged), "{body}");
        // The last row's reverse, after the loop.
        let last = format!("if let :: core :: option :: Option :: Some ({carried}) = lagged {{");
        assert_eq!(body.matches(&last).count(), 1, "{body}");
        // Only `NAME_backward`'s loop: the callers' sweep has no fused loop.
        let (_, reverse) = sweeps(&out, "f");
        assert!(!reverse.contains("lagged"), "{reverse}");
    }
}

/// Fused loops that keep each row's reverse in its own iteration: with no
/// inner loop (nothing to overlap) or a short one (bounds 15 apart), with a
/// tape in the body (the next row's forward would write it before this
/// row's reverse reads it), with an array the reverse reads, and with a
/// call.
#[test]
fn rows_with_no_inner_sum_or_with_state_are_reversed_in_their_own_iteration() {
    let no_inner_loop = "fn f(x: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() - 1 {
            let a = x[i + 1] - x[i] * x[i];
            s += 100.0 * a * a + (1.0 - x[i]) * (1.0 - x[i]);
        }
        s
    }";
    let tape_in_a_branch = "fn f(x: &[f64; 3], w: &[f64; 12]) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut z = 0.0;
            for j in 0..3 { z += w[i * 3 + j] * x[j]; }
            if z > 0.0 { s += z; } else { s -= 0.1 * z * z; }
        }
        s
    }";
    let array_in_the_body = "fn f(x: &[f64; 3], w: &[f64; 12]) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut h = [0.0; 3];
            for j in 0..3 { h[j] = (w[i * 3 + j] * x[j]).tanh(); }
            s += h[0] * h[1] * h[2];
        }
        s
    }";
    let call = "fn f(x: &[f64; 3], w: &[f64; 12]) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut z = 0.0;
            for j in 0..3 { z += w[i * 3 + j] * x[j]; }
            s += g(z);
        }
        s
    }";
    let short_inner_loop = "fn f(x: &[f64], w: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..4 {
            let mut z = 0.0;
            for j in 0..15 { z += w[i * 15 + j] * x[j]; }
            s += z.tanh();
        }
        s
    }";
    let cases = [
        no_inner_loop,
        short_inner_loop,
        tape_in_a_branch,
        array_in_the_body,
        call,
    ];
    for src in cases {
        let out = expand(src);
        let body = fused_body(&out, "f").unwrap_or_else(|| panic!("not fused\n{out}"));
        assert!(!body.contains("lagged"), "{body}");
    }
}

/// An assertion in the rows is forward code: the loop is still fused and
/// reversed a row late, and each row's check runs in its own forward, in
/// every sweep (the function's, its callers', its own and the fused one).
#[test]
fn an_assertion_in_the_rows_keeps_the_lag() {
    let src = "fn f(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
        let n = x.len();
        assert_eq!(w.len(), n * n, \"{n} inputs\");
        let mut s = 0.0;
        for i in 0..n {
            let mut z = 0.0;
            for j in 0..n { z += w[i * n + j] * x[j]; }
            assert!(z.is_finite(), \"row {i}\");
            s += z.tanh();
        }
        s
    }";
    let out = expand(src);
    let body = fused_body(&out, "f").unwrap_or_else(|| panic!("not fused\n{out}"));
    let check = "assert ! (z . is_finite () , \"row {i}\" , i = i) ;";
    let lag = body
        .find("lagged . replace")
        .unwrap_or_else(|| panic!("{body}"));
    assert!(body.find(check).is_some_and(|at| at < lag), "{body}");
    // The function as written, then the three sweeps with the names the
    // format strings capture passed to them.
    assert_eq!(out.matches(check).count(), 3, "{out}");
    assert_eq!(out.matches("assert_eq ! (").count(), 4, "{out}");
}
