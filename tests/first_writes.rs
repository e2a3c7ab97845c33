//! The reverse sweep assigns (`d_x[2] = …`) instead of adding where a
//! parameter's gradient still holds its initial zero: in the straight-line
//! tail of the function, before any loop, branch or call is reversed, and
//! only for elements named by literal indices; and for a parameter read in
//! one place at an index that differs in every iteration of the loops
//! around it. These functions mix such writes with ones that must stay
//! additions.

mod common;

use common::*;
use neuron::{differentiate, relu};
use num_dual::{Dual64, DualNum};

/// The tail writes `d_x[0]`, `d_x[3]` and `d_b` first; the loop's reverse
/// then adds to the same gradients.
#[differentiate]
fn tail_after_loop(x: [f64; 4], b: f64) -> f64 {
    let mut s = 0.0;
    for xi in x.iter() {
        s += xi * b;
    }
    s * x[0] + b * x[3]
}

fn tail_after_loop_dual(x: [Dual64; 4], b: Dual64) -> Dual64 {
    let mut s = c(0.0);
    for xi in x {
        s += xi * b;
    }
    s * x[0] + b * x[3]
}

#[test]
fn a_tail_write_then_the_loop_adds() {
    check_scalar(
        "tail_after_loop",
        501,
        |r| uniform_vec(r, 5, -2.0, 2.0),
        |p| tail_after_loop(arr(&p[..4]), p[4]),
        |p, d| {
            let (v, (dx, db)) = tail_after_loop_value_and_backward(arr(&p[..4]), p[4], d);
            (v, [dx.to_vec(), vec![db]].concat())
        },
        |p, d| {
            let (dx, db) = tail_after_loop_backward(arr(&p[..4]), p[4], d);
            [dx.to_vec(), vec![db]].concat()
        },
        |p| tail_after_loop_dual(darr(&p[..4]), p[4]),
    );
}

/// The same element read twice in one expression: one assignment, one addition.
#[differentiate]
fn square_and_cross(x: [f64; 2]) -> f64 {
    x[0] * x[0] + x[0] * x[1]
}

#[test]
fn an_element_read_twice_gets_both_contributions() {
    let dx = square_and_cross_backward([3.0, 5.0], 1.0);
    assert_eq!(dx, [2.0 * 3.0 + 5.0, 3.0]);
}

/// `x[k]` with a runtime `k` may be any element: after its reverse, no element
/// is known to be zero, so the write for `x[1]` must add.
#[differentiate]
fn runtime_then_literal(x: [f64; 3], k: usize) -> f64 {
    x[1] * 2.0 + x[k] * 3.0
}

#[test]
fn a_runtime_index_makes_later_writes_add() {
    let dx = runtime_then_literal_backward([1.0, 1.0, 1.0], 1, 1.0);
    assert_eq!(dx, [0.0, 5.0, 0.0]);
    let dx = runtime_then_literal_backward([1.0, 1.0, 1.0], 2, 1.0);
    assert_eq!(dx, [0.0, 2.0, 3.0]);
}

/// A gate writes `d_b` only on one side, so an untouched `d_b` is still
/// reported as `+0.0`; so is a parameter the function never reads.
#[differentiate]
fn gated_and_unused(x: f64, b: f64, unused: f64) -> f64 {
    let _ = unused;
    relu(b) * 2.0 + x
}

#[test]
fn gradients_without_a_contribution_are_positive_zero() {
    let (dx, db, du) = gated_and_unused_backward(1.0, -1.0, 4.0, 1.0);
    assert_eq!(dx, 1.0);
    assert_eq!(db.to_bits(), 0.0_f64.to_bits(), "blocked gate: {db:?}");
    assert_eq!(du.to_bits(), 0.0_f64.to_bits(), "unused parameter: {du:?}");
    let (_, db, _) = gated_and_unused_backward(1.0, 1.0, 4.0, 1.0);
    assert_eq!(db, 2.0);
}

/// The book's neuron, where every gradient element is a first write.
#[differentiate]
fn neuron(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
    relu(x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b)
}

#[test]
fn the_book_neuron_still_gives_the_book_numbers() {
    let (dx, dw, db) = neuron_backward([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0, 1.0);
    assert_eq!(dx, [-3.0, -1.0, 2.0]);
    assert_eq!(dw, [1.0, -2.0, 3.0]);
    assert_eq!(db, 1.0);
    // Blocked: every gradient is zero (of either sign, as `0.0 * w` gives).
    let (dx, dw, db) = neuron_backward([1.0, -2.0, 3.0], [3.0, 1.0, 2.0], -9.0, 1.0);
    assert!(dx.iter().chain(&dw).chain([&db]).all(|g| *g == 0.0));
}

/// A literal index inside a loop: the loop's reverse runs `d_x[0] += …`
/// three times, and the statement before the loop adds to that too.
#[differentiate]
fn literal_index_in_a_loop(x: [f64; 2], b: f64) -> f64 {
    let a = x[0] * 2.0 + b;
    let mut s = 0.0;
    for _ in 0..3 {
        s += x[0] * b;
    }
    a + s
}

#[test]
fn a_loop_never_assigns() {
    let (dx, db) = literal_index_in_a_loop_backward([5.0, 7.0], 0.5, 1.0);
    assert_eq!(dx, [2.0 + 3.0 * 0.5, 0.0]);
    assert_eq!(db, 1.0 + 3.0 * 5.0);
}

// A parameter read in one place, at an index that differs in every
// iteration (`w[i * 4 + j]`, `j` in `0..4`): each gradient element gets one
// contribution, written with `=` (see neuron-codegen/src/unique.rs). The
// elements the loops skip (`w[i * 6 + j]` leaves 4 and 5 of each 6) keep
// their zero.
#[differentiate]
fn disjoint_rows(w: &[f64], x: [f64; 4], stride_gap: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        let mut z = stride_gap;
        for j in 0..4 {
            z += w[i * 6 + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

fn disjoint_rows_dual(w: &[Dual64], x: [Dual64; 4], stride_gap: Dual64) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..3 {
        let mut z = stride_gap;
        for j in 0..4 {
            z += w[i * 6 + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

// Rows that overlap (`w[i * 3 + j]`, `j` in `0..4`): elements 3 and 6 get
// two contributions, so they must be added.
#[differentiate]
fn overlapping_rows(w: &[f64], x: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        let mut z = 0.0;
        for j in 0..4 {
            z += w[i * 3 + j] * x[j];
        }
        s += z.sin();
    }
    s
}

fn overlapping_rows_dual(w: &[Dual64], x: [Dual64; 4]) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..3 {
        let mut z = c(0.0);
        for j in 0..4 {
            z += w[i * 3 + j] * x[j];
        }
        s += z.sin();
    }
    s
}

#[test]
fn disjoint_rows_get_one_write_each_and_the_gaps_stay_zero() {
    check_scalar(
        "disjoint_rows",
        507,
        |r| uniform_vec(r, 18 + 4 + 1, -1.0, 1.0),
        |p| disjoint_rows(&p[..18], arr(&p[18..22]), p[22]),
        |p, d| {
            let (v, (dw, dx, dg)) =
                disjoint_rows_value_and_backward(&p[..18], arr(&p[18..22]), p[22], d);
            (v, [dw, dx.to_vec(), vec![dg]].concat())
        },
        |p, d| {
            let (dw, dx, dg) = disjoint_rows_backward(&p[..18], arr(&p[18..22]), p[22], d);
            [dw, dx.to_vec(), vec![dg]].concat()
        },
        |p| disjoint_rows_dual(&p[..18], darr(&p[18..22]), p[22]),
    );
    let (dw, _, _) = disjoint_rows_backward(&[0.5; 18], [1.0; 4], 0.1, 1.0);
    for i in 0..3 {
        assert_eq!(dw[i * 6 + 4], 0.0, "{dw:?}");
        assert_eq!(dw[i * 6 + 5], 0.0, "{dw:?}");
    }
}

#[test]
fn overlapping_rows_add_both_contributions() {
    check_scalar(
        "overlapping_rows",
        508,
        |r| uniform_vec(r, 10 + 4, -1.0, 1.0),
        |p| overlapping_rows(&p[..10], arr(&p[10..])),
        |p, d| {
            let (v, (dw, dx)) = overlapping_rows_value_and_backward(&p[..10], arr(&p[10..]), d);
            (v, [dw, dx.to_vec()].concat())
        },
        |p, d| {
            let (dw, dx) = overlapping_rows_backward(&p[..10], arr(&p[10..]), d);
            [dw, dx.to_vec()].concat()
        },
        |p| overlapping_rows_dual(&p[..10], darr(&p[10..])),
    );
}

/// A layer whose sizes are arguments: `w[i * n + j]` with `j` in `0..n`
/// reaches each element once, so its gradient is assigned (see
/// `unique::row_major`); elements past the last row keep their zero.
#[differentiate]
fn sized_layer(w: &[f64], x: &[f64], n: usize, m: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..m {
        let mut z = 0.0;
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

fn sized_layer_dual(w: &[Dual64], x: &[Dual64], n: usize, m: usize) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..m {
        let mut z = c(0.0);
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

/// Rows `k` apart over `n` columns overlap when `k < n`: the shared
/// elements get both contributions, added.
#[differentiate]
fn strided_layer(w: &[f64], x: &[f64], n: usize, k: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        let mut z = 0.0;
        for j in 0..n {
            z += w[i * k + j] * x[j];
        }
        s += z.sin();
    }
    s
}

fn strided_layer_dual(w: &[Dual64], x: &[Dual64], n: usize, k: usize) -> Dual64 {
    let mut s = c(0.0);
    for i in 0..3 {
        let mut z = c(0.0);
        for j in 0..n {
            z += w[i * k + j] * x[j];
        }
        s += z.sin();
    }
    s
}

#[test]
fn rows_of_a_run_time_size_get_one_write_each() {
    // (n, m): 3 inputs and 2 units, 2 and 3, and 1 and 4; `w` has one
    // element more than the rows use.
    for (n, m) in [(3, 2), (2, 3), (1, 4)] {
        let len = n * m + 1;
        check_scalar(
            "sized_layer",
            521 + n as u64,
            |r| uniform_vec(r, len + n, -1.0, 1.0),
            |p| sized_layer(&p[..len], &p[len..], n, m),
            |p, d| {
                let (v, (dw, dx)) = sized_layer_value_and_backward(&p[..len], &p[len..], n, m, d);
                (v, [dw, dx].concat())
            },
            |p, d| {
                let (dw, dx) = sized_layer_backward(&p[..len], &p[len..], n, m, d);
                [dw, dx].concat()
            },
            |p| sized_layer_dual(&p[..len], &p[len..], n, m),
        );
        let (dw, _) = sized_layer_backward(&vec![0.5; len], &vec![1.0; n], n, m, 1.0);
        assert_eq!(dw[len - 1], 0.0, "{dw:?}");
    }
}

#[test]
fn rows_of_a_run_time_stride_that_overlap_add() {
    // n = 4 columns, rows 2 apart: elements 2..=5 are read twice or more.
    let (n, k) = (4, 2);
    let len = 2 * k + n;
    check_scalar(
        "strided_layer",
        531,
        |r| uniform_vec(r, len + n, -1.0, 1.0),
        |p| strided_layer(&p[..len], &p[len..], n, k),
        |p, d| {
            let (v, (dw, dx)) = strided_layer_value_and_backward(&p[..len], &p[len..], n, k, d);
            (v, [dw, dx].concat())
        },
        |p, d| {
            let (dw, dx) = strided_layer_backward(&p[..len], &p[len..], n, k, d);
            [dw, dx].concat()
        },
        |p| strided_layer_dual(&p[..len], &p[len..], n, k),
    );
}

/// A local array filled by a loop right after `[0.0; 4]`: the fill's reverse
/// takes each element's adjoint without resetting it. The fill reads
/// elements not yet stored (`h[3 - j]` for `j < 2`), and a second loop
/// overwrites the array, so its stores keep their reset.
#[differentiate]
fn fill_then_overwrite(x: [f64; 4], w: f64) -> f64 {
    let mut h = [0.0; 4];
    for j in 0..4 {
        h[j] = (x[j] * w).sin() + 0.5 * h[3 - j];
    }
    for k in 0..4 {
        h[k] = h[k] * h[3 - k] + w;
    }
    h[0] * h[1] + h[2] * h[3]
}

fn fill_then_overwrite_dual(x: [Dual64; 4], w: Dual64) -> Dual64 {
    let mut h = [c(0.0); 4];
    for j in 0..4 {
        h[j] = (x[j] * w).sin() + h[3 - j] * 0.5;
    }
    for k in 0..4 {
        h[k] = h[k] * h[3 - k] + w;
    }
    h[0] * h[1] + h[2] * h[3]
}

#[test]
fn a_filled_array_then_overwritten() {
    check_scalar(
        "fill_then_overwrite",
        509,
        |r| uniform_vec(r, 5, -2.0, 2.0),
        |p| fill_then_overwrite(arr(&p[..4]), p[4]),
        |p, d| {
            let (v, (dx, dw)) = fill_then_overwrite_value_and_backward(arr(&p[..4]), p[4], d);
            (v, [dx.to_vec(), vec![dw]].concat())
        },
        |p, d| {
            let (dx, dw) = fill_then_overwrite_backward(arr(&p[..4]), p[4], d);
            [dx.to_vec(), vec![dw]].concat()
        },
        |p| fill_then_overwrite_dual(darr(&p[..4]), p[4]),
    );
}

/// Buffers each iteration of the outer loop overwrites before reading: the
/// forward sweep zero-fills them once, before the loop. The second buffer
/// reuses the name `h` after a scalar `h` shadowed the first.
#[differentiate]
fn refilled_buffers(x: [f64; 4], w: f64) -> f64 {
    let mut total = 0.0;
    for n in 0..3 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = (x[j] * w + n as f64).tanh();
        }
        total += h[n] * h[3] + h[0];
    }
    let h = total * 2.0;
    let mut s = 0.0;
    for i in 0..2 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = x[j] * w * (i as f64 + 1.0);
        }
        for j in 0..4 {
            s += h[j] * h[3 - j];
        }
    }
    h + s
}

fn refilled_buffers_dual(x: [Dual64; 4], w: Dual64) -> Dual64 {
    let mut total = c(0.0);
    for n in 0..3 {
        let mut h = [c(0.0); 4];
        for j in 0..4 {
            h[j] = (x[j] * w + n as f64).tanh();
        }
        total += h[n] * h[3] + h[0];
    }
    let h = total * 2.0;
    let mut s = c(0.0);
    for i in 0..2 {
        let mut h = [c(0.0); 4];
        for j in 0..4 {
            h[j] = x[j] * w * (i as f64 + 1.0);
        }
        for j in 0..4 {
            s += h[j] * h[3 - j];
        }
    }
    h + s
}

#[test]
fn buffers_refilled_every_iteration() {
    check_scalar(
        "refilled_buffers",
        510,
        |r| uniform_vec(r, 5, -1.5, 1.5),
        |p| refilled_buffers(arr(&p[..4]), p[4]),
        |p, d| {
            let (v, (dx, dw)) = refilled_buffers_value_and_backward(arr(&p[..4]), p[4], d);
            (v, [dx.to_vec(), vec![dw]].concat())
        },
        |p, d| {
            let (dx, dw) = refilled_buffers_backward(arr(&p[..4]), p[4], d);
            [dx.to_vec(), vec![dw]].concat()
        },
        |p| refilled_buffers_dual(darr(&p[..4]), p[4]),
    );
}

/// A parameter read at two literal bases in one loop, with a gap between the
/// rows (`w[j]`, `w[8 + j]`; `w[4..8]` is read elsewhere): the reverse reads
/// both rows through one slice `&w[0..12]`.
#[differentiate]
fn two_rows_with_a_gap(w: &[f64], x: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for j in 0..4 {
        s += (w[j] * x[j]).sin() + w[8 + j] * w[8 + j] * x[j];
    }
    s * w[5] + w[4]
}

fn two_rows_with_a_gap_dual(w: &[Dual64], x: [Dual64; 4]) -> Dual64 {
    let mut s = c(0.0);
    for j in 0..4 {
        s += (w[j] * x[j]).sin() + w[8 + j] * w[8 + j] * x[j];
    }
    s * w[5] + w[4]
}

#[test]
fn rows_at_two_bases_share_one_slice() {
    check_scalar(
        "two_rows_with_a_gap",
        511,
        |r| uniform_vec(r, 12 + 4, -1.5, 1.5),
        |p| two_rows_with_a_gap(&p[..12], arr(&p[12..])),
        |p, d| {
            let (v, (dw, dx)) = two_rows_with_a_gap_value_and_backward(&p[..12], arr(&p[12..]), d);
            (v, [dw, dx.to_vec()].concat())
        },
        |p, d| {
            let (dw, dx) = two_rows_with_a_gap_backward(&p[..12], arr(&p[12..]), d);
            [dw, dx.to_vec()].concat()
        },
        |p| two_rows_with_a_gap_dual(&p[..12], darr(&p[12..])),
    );
}

/// A parameter read at the loop's index and copied whole in the same loop:
/// the copy's reverse adds to all of `d_w`, so `w` gets no row slice (a
/// `&mut` row of `d_w` alongside would not compile).
#[differentiate]
fn row_and_copy(w: [f64; 4], x: f64) -> f64 {
    let mut s = 0.0;
    for j in 0..4 {
        let b = w;
        s += w[j] * b[3 - j] * x;
    }
    s
}

fn row_and_copy_dual(w: [Dual64; 4], x: Dual64) -> Dual64 {
    let mut s = c(0.0);
    for j in 0..4 {
        let b = w;
        s += w[j] * b[3 - j] * x;
    }
    s
}

#[test]
fn a_row_read_and_a_whole_copy_in_one_loop() {
    check_scalar(
        "row_and_copy",
        512,
        |r| uniform_vec(r, 5, -1.5, 1.5),
        |p| row_and_copy(arr(&p[..4]), p[4]),
        |p, d| {
            let (v, (dw, dx)) = row_and_copy_value_and_backward(arr(&p[..4]), p[4], d);
            (v, [dw.to_vec(), vec![dx]].concat())
        },
        |p, d| {
            let (dw, dx) = row_and_copy_backward(arr(&p[..4]), p[4], d);
            [dw.to_vec(), vec![dx]].concat()
        },
        |p| row_and_copy_dual(darr(&p[..4]), p[4]),
    );
}
