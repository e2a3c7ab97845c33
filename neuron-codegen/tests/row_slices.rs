//! The reverse of `for j in 0..n` reads `m[base + j]` through a row slice
//! taken before the loop, so the compiler sees every index is in bounds; a
//! row of at most 8 elements is copied out instead. The forward sweep does
//! the same for arrays whose type does not fix their length.
//! (Gradients through such loops are checked in the root crate's tests, the
//! dense layer among them.)

mod common;

use common::{expand, sweeps};

/// A dense layer 16 → 4 on slices, its weights read at `w[i * 16 + j]`.
const DENSE: &str = "fn dense(x: &[f64], w: &[f64], b: &[f64]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        let mut z = b[i];
        for j in 0..16 { z += w[i * 16 + j] * x[j]; }
        y[i] = relu(z);
    }
    y
}";

#[test]
fn a_dense_layer_reads_its_weights_and_their_gradient_by_row() {
    let out = expand(DENSE);
    let (_, rev) = sweeps(&out, "dense");
    for slice in [
        "let w_row = & w [i * 16 .. i * 16 + 16] ;",
        "let d_w_row = & mut d_w [i * 16 .. i * 16 + 16] ;",
        "let x_row = & x [.. 16] ;",
        "let d_x_row = & mut d_x [.. 16] ;",
    ] {
        assert!(rev.contains(slice), "{slice} in {rev}");
    }
    for read in [
        // Each weight is read once: its gradient is assigned (see `unique`).
        "d_w_row [j] =",
        "* x_row [j]",
        "d_x_row [j] +=",
        "* w_row [j]",
    ] {
        assert!(rev.contains(read), "{read} in {rev}");
    }
    assert!(!rev.contains("w [t_"), "no computed index is left: {rev}");
    // Each bias is read once too: assigned (see `unique`).
    assert!(
        rev.contains("d_b_row [i] =") || rev.contains("d_b [i] ="),
        "{rev}"
    );
}

/// The statement of `f`'s reverse sweep that takes the row `w[j * n..][..n]`.
fn w_row(n: usize) -> String {
    let out = expand(&format!(
        "fn f(w: &[f64], x: &[f64]) -> f64 {{
            let mut s = 0.0;
            for j in 0..4 {{
                for k in 0..{n} {{ s += w[j * {n} + k] * x[k]; }}
            }}
            s
        }}"
    ));
    let (_, rev) = sweeps(&out, "f");
    let at = rev
        .find("let w_row")
        .unwrap_or_else(|| panic!("no row of w in {rev}"));
    let end = at + rev[at..].find(';').unwrap_or(0);
    rev[at..end].trim_end().to_string()
}

#[test]
fn a_short_row_is_copied_and_a_longer_one_borrowed() {
    // The loop also adds to `d_w`'s row; from a copy, the compiler need not
    // wait for those stores before it loads `w`'s.
    assert_eq!(
        w_row(8),
        "let w_row = :: neuron :: __private :: row :: < _ , 8 > (& w [j * 8 .. j * 8 + 8])"
    );
    assert_eq!(w_row(9), "let w_row = & w [j * 9 .. j * 9 + 9]");
}

#[test]
fn no_row_where_an_element_may_not_have_been_read() {
    // A read under a branch, and an index that is not `base + j`: the loop
    // may not read the whole row, so both sweeps keep the plain index.
    let out = expand(
        "fn f(x: &[f64]) -> f64 {
            let mut s = 0.0;
            for j in 0..3 { if s > 0.0 { s += x[j]; } }
            for j in 0..3 { s += x[2 * j]; }
            s
        }",
    );
    let (fwd, rev) = sweeps(&out, "f");
    assert!(!fwd.contains("_row"), "{fwd}");
    assert!(!rev.contains("_row"), "{rev}");
}

#[test]
fn a_loop_up_to_a_variable_bound_takes_its_rows_only_if_it_runs() {
    // With `n == 0` the loop reads nothing, and `&x[3..3 + n]` could be out
    // of range where the function is not: the slices are taken under
    // `if n > 0`, in both sweeps.
    let out = expand(
        "fn f(x: &[f64], n: usize) -> f64 {
            let mut s = 0.0;
            for j in 0..n { s += x[j + 3]; }
            s
        }",
    );
    let (fwd, rev) = sweeps(&out, "f");
    let forward_row = "if n > 0 { let x_row_1 = & x [3 .. 3 + n] ; for j in 0 .. n {";
    assert!(fwd.contains(forward_row), "{fwd}");
    let reverse_row = "if n > 0 { let d_x_row = & mut d_x [3 .. 3 + n] ;";
    assert!(rev.contains(reverse_row), "{rev}");
}

#[test]
fn the_forward_sweep_reads_a_slice_parameter_by_row() {
    let out = expand(DENSE);
    let (fwd, _) = sweeps(&out, "dense");
    for slice in [
        "let b_row_1 = & b [.. 4] ;",
        "let w_row_1 = & w [i * 16 .. i * 16 + 16] ;",
        "let x_row_1 = & x [.. 16] ;",
        "w_row_1 [j] * x_row_1 [j]",
    ] {
        assert!(fwd.contains(slice), "{slice} in {fwd}");
    }
    // The computed index `i * 16 + j` is neither read nor written.
    assert!(!fwd.contains("w [t"), "{fwd}");
    assert!(!fwd.contains("+ j ;"), "{fwd}");
}

#[test]
fn the_forward_sweep_leaves_arrays_of_fixed_length_alone() {
    // Their length is a constant the compiler checks against already; the
    // reverse sweep still reads them by row.
    let out = expand(
        "fn f(w: &[f64; 64], x: [f64; 8]) -> f64 {
            let mut s = 0.0;
            for i in 0..8 { for j in 0..8 { s += w[i * 8 + j] * x[j]; } }
            s
        }",
    );
    let (fwd, rev) = sweeps(&out, "f");
    assert!(!fwd.contains("_row"), "{fwd}");
    assert!(rev.contains("let w_row"), "{rev}");
}

#[test]
fn a_stride_read_as_a_length_is_the_same_on_every_iteration() {
    // `w[i * x.len() + j]` reads `x.len()` inside the loop over `j`; a
    // length never changes, so the row's base is `i * x.len()`, and `x`,
    // whose length is all the loop reads of it besides `x[j]`, gets a row
    // too. Both sweeps read by row.
    let out = expand(
        "fn f(w: &[f64], x: &[f64], m: usize) -> f64 {
            let mut s = 0.0;
            for i in 0..m {
                let mut z = 0.0;
                for j in 0..x.len() { z += w[i * x.len() + j] * x[j]; }
                s += z.tanh();
            }
            s
        }",
    );
    let (fwd, rev) = sweeps(&out, "f");
    for (sweep, rows) in [
        (
            &fwd,
            &["& w [i * x . len () .. i * x . len () + t]", "& x [.. t]"][..],
        ),
        (
            &rev,
            &[
                "& mut d_w [i * x . len () .. i * x . len () + t]",
                "& mut d_x [.. t]",
            ][..],
        ),
    ] {
        for row in rows {
            assert!(sweep.contains(row), "{row} in {sweep}");
        }
        assert!(!sweep.contains("w [t"), "{sweep}");
    }
}

#[test]
fn rows_at_multiples_of_a_run_time_bound_are_split() {
    // The network's first layer over `nh` units known at run time, its
    // weights read at `w[j]`, `w[nh + j]` and `w[2 * nh + j]`: one row of
    // `w` per input, and the gradient's as disjoint `&mut` rows.
    let out = expand(
        "fn f(w: &[f64], b: &[f64], x: [f64; 3]) -> f64 {
            let nh = b.len();
            let mut s = 0.0;
            for j in 0..nh {
                s += (x[0] * w[j] + x[1] * w[nh + j] + x[2] * w[2 * nh + j] + b[j]).tanh();
            }
            s
        }",
    );
    let (fwd, rev) = sweeps(&out, "f");
    for row in [
        "& w [.. nh]",
        "& w [nh .. nh + nh]",
        "& w [2 * nh .. 2 * nh + nh]",
    ] {
        assert!(fwd.contains(row), "{row} in {fwd}");
    }
    let split = "let [d_w_row , d_w_row_1 , d_w_row_2] = :: neuron :: __private :: \
                 rows_mut (& mut d_w [..] , nh , [0 , 1 , 2]) ;";
    assert!(rev.contains(split), "{rev}");
    // No element of `w` or `d_w` is read or written by its computed index.
    for sweep in [&fwd, &rev] {
        assert!(!sweep.contains("w [t"), "{sweep}");
    }
}

#[test]
fn rows_at_bases_that_may_overlap_are_not_split() {
    // `w[m + j]` with `m` another run-time value may overlap `w[j]`'s row:
    // the gradient could not have both as `&mut` slices.
    let out = expand(
        "fn f(w: &[f64], b: &[f64], m: usize) -> f64 {
            let nh = b.len();
            let mut s = 0.0;
            for j in 0..nh { s += (w[j] * w[m + j] + b[j]).tanh(); }
            s
        }",
    );
    let (_, rev) = sweeps(&out, "f");
    assert!(!rev.contains("rows_mut"), "{rev}");
    assert!(!rev.contains("d_w_row"), "{rev}");
}
