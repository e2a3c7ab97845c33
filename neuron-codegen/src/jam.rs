//! Two loops whose reverses run as one. A loop that fills a local array
//! element by element (`for j in 0..64 { h[j] = … }`) and a later loop over
//! the same range that reads it only at its own index (`for j in 0..64 {
//! … h[j] … }`) hand each element from an iteration of the first to the
//! same iteration of the second, and share nothing else. Their reverses can
//! then run as one loop, each iteration doing the second loop's reverse and
//! then the first's, with the array's adjoint element in a scalar: the
//! second adds to it, the first takes it. That is how a backward pass is
//! written by hand (the network's hidden layer: the logits' reverse adds to
//! `d_h`, the ReLU's reverse reads it), and it saves storing the adjoint
//! array and reading it back in a second loop.
//!
//! The reverse sweep is that of the forward sweep reordered: the
//! instructions between the loops move before the first (they may not use
//! what it writes), and the two loops fuse into one, which is sound because
//! an iteration of one depends on no other iteration of the other. The
//! ranges match when their bounds are equal literals or the same value
//! (`0..nh` twice, `nh = b1.len()`): a value is defined once, so both loops
//! run as often. A bound known only at run time may be 0; the jammed loop's
//! rows are then taken under `if nh > 0`, as any loop's (see `rows::guard`).
//!
//! When the first loop ends in a ReLU, the second's sum into the unit's
//! adjoint can move inside the ReLU's branch (see [`gate`]).

use crate::context::{children, own_mems, Context, Contributions};
use crate::ir::*;
use crate::unique::{loads, own_use, touches};
use std::collections::HashSet;

/// Two loops of a block whose reverses run as one.
pub struct Jam {
    /// Positions of the first and the second loop in the block.
    pub first: usize,
    pub second: usize,
    /// The local arrays the first fills and the second reads, whose
    /// adjoints are scalars in the jammed reverse.
    pub promoted: Vec<MemId>,
}

/// The pairs of loops of `b` whose reverses run as one: each loop is jammed
/// with the next loop of `b` when that is sound and passes an array.
pub fn plan(cx: &Context, b: &Block) -> Vec<Jam> {
    let loops: Vec<usize> = (0..b.insts.len())
        .filter(|k| matches!(b.insts[*k], Inst::For { .. }))
        .collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k + 1 < loops.len() {
        let (first, second) = (loops[k], loops[k + 1]);
        match passed(cx, b, first, second) {
            Some(promoted) => {
                out.push(Jam {
                    first,
                    second,
                    promoted,
                });
                k += 2;
            }
            None => k += 1,
        }
    }
    out
}

/// The arrays loop `first` of `b` passes to loop `second`, if their
/// reverses can run as one: the same range (see `same_bound`), ascending; no call in
/// either; what lies between them independent of the first; and every
/// memory object both touch a local array the first fills (`m[var] = …`,
/// see `unique::first_stores`) and the second only reads at its own
/// index, used nowhere else in `b` and not the output (whose adjoint starts
/// as `d_output`).
fn passed(cx: &Context, b: &Block, first: usize, second: usize) -> Option<Vec<MemId>> {
    let (a, c) = (&b.insts[first], &b.insts[second]);
    let (
        Inst::For {
            var: va,
            lo: la,
            hi: ha,
            inclusive: false,
            rev: false,
            body: ba,
        },
        Inst::For {
            var: vc,
            lo: lc,
            hi: hc,
            inclusive: false,
            rev: false,
            body: bc,
        },
    ) = (a, c)
    else {
        return None;
    };
    if !same_bound(cx, *la, *lc) || !same_bound(cx, *ha, *hc) {
        return None;
    }
    if cx.fused == Some(ba.id) || cx.fused == Some(bc.id) {
        return None;
    }
    let named = |v: &ValueId| cx.ir.values[*v].name != "_";
    if !named(va) || !named(vc) || calls(ba) || calls(bc) {
        return None;
    }
    let written = writes(ba);
    if !b.insts[first + 1..second]
        .iter()
        .all(|i| movable(i, a, &written))
    {
        return None;
    }
    let in_c = touched(bc);
    let mut shared: Vec<MemId> = touched(ba).intersection(&in_c).copied().collect();
    shared.sort_unstable();
    let handed = |m: MemId| {
        let local = matches!(cx.ir.mems[m].origin, MemOrigin::Local);
        let elsewhere = b
            .insts
            .iter()
            .enumerate()
            .any(|(k, i)| k != first && k != second && !initialises(i, m) && touches(i, m));
        // The output's adjoint starts as `d_output`, not at zero.
        let output = matches!(cx.ir.output, Output::Mem(o) if o == m);
        local
            && !output
            && !elsewhere
            && b.insts[..first].iter().any(|i| initialises(i, m))
            && cx.first_stores.contains(&(m, *va))
            && !ba.insts.iter().any(|i| loads(i, m))
            && read_at(bc, m, *vc)
    };
    (!shared.is_empty() && shared.iter().all(|m| handed(*m))).then_some(shared)
}

/// Whether loop bounds `a` and `b` are the same number: equal literals, or
/// one value (`nh` in `for j in 0..nh` twice), which, defined once, is the
/// same in both loops of a block.
fn same_bound(cx: &Context, a: ValueId, b: ValueId) -> bool {
    a == b
        || matches!((cx.literal_index(&[a]), cx.literal_index(&[b])), (Some(x), Some(y)) if x == y)
}

/// A ReLU at the end of a jam's first loop (see [`gate`]): the handed
/// array `mem`, stored as `mem[j] = unit`.
pub struct Gate {
    pub mem: MemId,
    pub unit: ValueId,
}

/// ReLU gates. A hidden layer's reverse takes the adjoint of `h[j] =
/// relu(pre)` and passes it on only where the unit is on: `d_pre = if pre >
/// 0.0 { d_h_j } else { 0.0 }`. When the layer's loop is jammed with the
/// next, `d_h_j` is the sum the next loop's reverse builds (`d_h_j +=
/// d_z[k] * w2[j * 3 + k]` over the classes), which is wasted on a unit
/// that is off. As a backward pass is written by hand, `reverse` then
/// computes that sum inside the gate: it generates the next loop's reverse
/// in two parts, one without the additions to `d_h_j` (`Split::only`
/// unset), run where it was, and one with only those (`Split::only` set),
/// run as the adjoint the store's reverse hands to the gate:
/// `if pre > 0.0 { { let mut d_h_j = -0.0; … d_h_j } } else { 0.0 }`.
/// The results are the same bit for bit: the same additions in the same
/// order, and the gate never read a skipped sum (not even a NaN).
///
/// Sound when the second part reads nothing the first part, or the first
/// loop's reverse before the gate, writes. The jam lets the two loops share
/// only the handed array; the second loop's reverse may not write any
/// adjoint of memory it stores to, so it holds only arithmetic, loads,
/// accumulations (`m[i] += e`, see `accumulation`) and loops and branches
/// of those. Its values must also not come off a tape, which the second
/// part would pop again; that shows only as the reverse is generated, and
/// `reverse` then falls back to one part.
///
/// Returns the gate of `jam` when its first loop stores the single handed
/// array as `m[j] = u` with `u = g(x)`, `g` a rule whose partial in its
/// one active argument is a gate (`relu(x)`, `x.max(0.0)`; see
/// `skip::gated_arg`) and `m[j]` the only use of `u`, and the second loop's
/// reverse can be split.
pub fn gate(cx: &Context, b: &Block, jam: &Jam) -> Option<Gate> {
    let (Inst::For { body: ba, .. }, Inst::For { body: bc, .. }) =
        (&b.insts[jam.first], &b.insts[jam.second])
    else {
        return None;
    };
    let [mem] = jam.promoted[..] else {
        return None;
    };
    let unit = ba.insts.iter().find_map(|i| match i {
        Inst::Store { mem: m, src, .. } if *m == mem => Some(*src),
        _ => None,
    })?;
    let gated = ba.insts.iter().any(|i| {
        matches!(i, Inst::Def { dst, .. } if *dst == unit)
            && crate::skip::gated_arg(cx, i).is_some()
    });
    let once = cx.contributions.get(&unit) != Some(&Contributions::Many)
        && cx.reads_of.get(&unit) == Some(&1);
    let stored = writes(bc);
    (gated && once && splittable(cx, bc, &stored)).then_some(Gate { mem, unit })
}

/// Whether loop body `b`'s reverse writes no adjoint it reads (see
/// [`gate`]): arithmetic, loads, accumulations and loops and branches of
/// those, and no load of the memory it writes (`stored`) but the
/// accumulations' own.
fn splittable(cx: &Context, b: &Block, stored: &HashSet<MemId>) -> bool {
    b.insts.iter().all(|i| match i {
        Inst::Def { op, .. } => !matches!(op, Op::Snapshot(_)),
        Inst::Load { dst, mem, .. } => {
            !stored.contains(mem) || cx.accumulations.loads.contains(dst)
        }
        Inst::Store { mem, src, .. } => {
            !cx.active_mem(*mem) || cx.accumulations.stored.contains(src)
        }
        Inst::For { body, .. } => splittable(cx, body, stored),
        Inst::If { then, els, .. } => splittable(cx, then, stored) && splittable(cx, els, stored),
        _ => false,
    })
}

/// Whether `inst` is the initialisation of `m`.
fn initialises(inst: &Inst, m: MemId) -> bool {
    matches!(inst, Inst::Init { mem, .. } if *mem == m)
}

/// Whether `b` uses `m` only by loads at index `[var]`, in it or nested.
fn read_at(b: &Block, m: MemId, var: ValueId) -> bool {
    b.insts.iter().all(|inst| match inst {
        Inst::Load { mem, index, .. } if *mem == m => index[..] == [var],
        _ => !own_use(inst, m) && children(inst).iter().all(|c| read_at(c, m, var)),
    })
}

/// The memory `b` uses in any way, in it or nested.
fn touched(b: &Block) -> HashSet<MemId> {
    let mut out = HashSet::new();
    for inst in &b.insts {
        out.extend(own_mems(inst));
        for c in children(inst) {
            out.extend(touched(c));
        }
    }
    out
}

/// Whether `b` holds a call, in it or nested.
fn calls(b: &Block) -> bool {
    b.insts
        .iter()
        .any(|i| matches!(i, Inst::Call { .. }) || children(i).iter().any(|c| calls(c)))
}

/// The memory `b` writes, in it or nested.
fn writes(b: &Block) -> HashSet<MemId> {
    let mut out = HashSet::new();
    for inst in &b.insts {
        match inst {
            Inst::Store { mem, .. } | Inst::CopyInto { mem, .. } | Inst::Init { mem, .. } => {
                out.insert(*mem);
            }
            _ => {}
        }
        for c in children(inst) {
            out.extend(writes(c));
        }
    }
    out
}

/// Whether `inst`, between the loops, can run before loop `a`, which writes
/// `written`: a pure computation, a load of memory `a` does not write, or
/// the initialisation of memory `a` does not touch.
fn movable(inst: &Inst, a: &Inst, written: &HashSet<MemId>) -> bool {
    match inst {
        Inst::Def { op, .. } => !matches!(op, Op::Snapshot(_)),
        Inst::Load { mem, .. } => !written.contains(mem),
        Inst::Init { mem, init } => {
            let source = match init {
                MemInit::Copy { from, .. } => !written.contains(from),
                _ => true,
            };
            source && !touches(a, *mem)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    /// Whether the reverse of `f` runs its two loops as one, `d_h[j]` in a scalar.
    fn jammed(f: TokenStream) -> bool {
        let out = crate::differentiate(quote!(), f).to_string();
        assert!(out.contains("d_h"), "{out}");
        out.contains("let mut d_h_j = - 0.0")
    }

    #[test]
    fn a_loop_reading_what_the_previous_one_stored_at_its_own_index() {
        assert!(jammed(quote! {
            fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
                let mut h = [0.0; 4];
                for j in 0..4 { h[j] = (w[j] * x).tanh(); }
                let mut s = x * 0.5;
                for k in 0..4 { s += h[k] * v[k]; }
                s
            }
        }));
    }

    #[test]
    fn loops_up_to_the_same_run_time_bound() {
        assert!(jammed(quote! {
            fn f(w: &[f64], v: &[f64], x: f64) -> f64 {
                let n = w.len();
                let mut h = vec![0.0; n];
                for j in 0..n { h[j] = (w[j] * x).tanh(); }
                let mut s = x * 0.5;
                for k in 0..n { s += h[k] * v[k]; }
                s.sin()
            }
        }));
        // Two reads of a length are two values, which the jam does not
        // compare; nor does it know `m` from `n`.
        for second in [quote!(w.len()), quote!(m)] {
            assert!(!jammed(quote! {
                fn f(w: &[f64], v: &[f64], x: f64, m: usize) -> f64 {
                    let mut h = vec![0.0; w.len()];
                    for j in 0..w.len() { h[j] = (w[j] * x).tanh(); }
                    let mut s = x * 0.5;
                    for k in 0..#second { s += h[k] * v[k]; }
                    s.sin()
                }
            }));
        }
    }

    #[test]
    fn loops_that_depend_across_iterations_or_share_more_stay_apart() {
        let cases = [
            // The second loop reads another iteration's element.
            quote! {
                fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
                    let mut h = [0.0; 4];
                    for j in 0..4 { h[j] = (w[j] * x).tanh(); }
                    let mut s = 0.0;
                    for k in 0..4 { s += h[3 - k] * v[k]; }
                    s
                }
            },
            // Different ranges.
            quote! {
                fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
                    let mut h = [0.0; 4];
                    for j in 0..4 { h[j] = (w[j] * x).tanh(); }
                    let mut s = 0.0;
                    for k in 0..3 { s += h[k] * v[k]; }
                    s
                }
            },
            // What lies between reads what the first loop wrote.
            quote! {
                fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
                    let mut h = [0.0; 4];
                    for j in 0..4 { h[j] = (w[j] * x).tanh(); }
                    let mut s = h[2];
                    for k in 0..4 { s += h[k] * v[k]; }
                    s
                }
            },
            // Both loops read the same parameter.
            quote! {
                fn f(w: [f64; 4], x: f64) -> f64 {
                    let mut h = [0.0; 4];
                    for j in 0..4 { h[j] = (w[j] * x).tanh(); }
                    let mut s = 0.0;
                    for k in 0..4 { s += h[k] * w[k]; }
                    s
                }
            },
            // The filled array is the output, whose adjoint is seeded.
            quote! {
                fn f(x: [f64; 4]) -> [f64; 4] {
                    let mut h = [0.0; 4];
                    for j in 0..4 { h[j] = x[j].sin(); }
                    let mut s = 0.0;
                    for k in 0..4 { s += h[k]; }
                    h
                }
            },
            // The first loop stores only in a branch.
            quote! {
                fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
                    let mut h = [0.0; 4];
                    for j in 0..4 { if w[j] > 0.0 { h[j] = (w[j] * x).tanh(); } }
                    let mut s = 0.0;
                    for k in 0..4 { s += h[k] * v[k]; }
                    s
                }
            },
        ];
        for f in cases {
            assert!(!jammed(f));
        }
    }
}
