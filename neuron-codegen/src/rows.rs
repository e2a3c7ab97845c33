//! Row slices: a loop that reads a parameter array as `m[base + var]`, with
//! `base` the same on every iteration, reads it through one slice taken
//! before the loop, `let m_row = &m[base..base + n];`, as `m_row[var]`. One
//! bounds check per row instead of one per element lets the compiler
//! vectorise the loop. Both sweeps take them: the forward sweep for arrays
//! whose type does not fix their length, the reverse for the gradient's
//! row too (`d_m_row`), which the reverse loop adds into. An array the loop
//! reads only at indices the same on every iteration is read before it
//! instead, one element at a time (`invariant_elements`).

use crate::context::{children, mentions, Context};
use crate::ir::*;
use crate::reverse::all_defined;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::{HashMap, HashSet};

/// Row slices for the reverse of `for var in 0..n` (`n` a literal, at least
/// 1, or any value: the caller then takes the slices only when the loop
/// runs, see `guard`): each read-only parameter array the
/// body reads only as `m[base + var]` (or `m[var]`), with `base` the same
/// on every iteration, is read through
/// `let m_row = &m[base..base + n];` and its gradient through
/// `let d_m_row = &mut d_m[base..base + n];`. `m_row[var]` needs no bounds
/// check the compiler cannot remove, which lets it vectorise the loop (the
/// dense layer's `d_w[i * 64 + j] += d * x[j]`). The forward sweep read every
/// element of the row, so the slices are in bounds. An array read at several
/// literal bases (the network's `w1[j]` and `w1[64 + j]`) gets one slice
/// over all of them, `&w1[0..128]`, read at `w1_row[64 + j]`: one `&mut`
/// borrow of its gradient, not several. At multiples of a bound known only
/// at run time (`w1[j]`, `w1[nh + j]`), each row is a slice of its own, and
/// the gradient's are split apart (see `bound_rows`).
///
/// A row of at most `SHORT_ROW` elements of a borrowed array is copied instead,
/// `let m_row = ::neuron::__private::row::<_, n>(&m[base..base + n]);`: the
/// loop stores into `d_m_row`, which the compiler cannot always tell apart
/// from `m`, so it would load each `m_row[var]` after the previous
/// iteration's store; from a copy, the loads come first and combine (the
/// network's `w2[j * 3 + k]`, whose reverse loop also adds to `d_w2`).
///
/// The forward sweep (`RowSweep::Forward`) reads rows the same way, but only of
/// arrays whose length the type does not fix (`&[f64]`, `Vec<f64>`): there
/// a read `w[i * 64 + j]` is checked against a length the compiler does not
/// know on every iteration, and the checks keep the loop from being
/// vectorised; `&w[i * 64..i * 64 + 64]` is checked once per row. Out of
/// range, the slice panics just before the loop, where the read would have
/// panicked during it: the loop reads every element of the row. An array
/// of fixed length is left alone there: its checks are already against a
/// constant.
///
/// Registers the rows in `cx.rows` and returns, for each array, the keys of
/// its rows and the `let`s.
pub(crate) fn row_slices(
    cx: &mut Context,
    var: ValueId,
    lo: ValueId,
    hi: ValueId,
    inclusive: bool,
    body: &Block,
    sweep: RowSweep,
) -> Vec<RowLets> {
    let gradient = matches!(sweep, RowSweep::Reverse);
    // The row's length: a literal, or the loop's bound.
    let Some(len) = from_zero(cx, lo, hi, inclusive) else {
        return Vec::new();
    };
    let n = cx.val(hi);
    let inside: HashSet<ValueId> = all_defined(body);
    let mut out = Vec::new();
    for (m, indices) in read_only_rows(cx, body) {
        if !gradient && fixed_length(cx, m) {
            continue;
        }
        if let Some(held) = invariant_elements(cx, body, &inside, var, m, &indices, gradient) {
            out.push(held);
            continue;
        }
        // The slice's range, and each index value's offset in it.
        let (range, offsets, row_len) = if let [i] = indices[..] {
            let range = if i == var {
                quote!(..#n)
            } else {
                match row_base(cx, body, &inside, var, i) {
                    Some(b) => quote!(#b..#b + #n),
                    None => continue,
                }
            };
            (range, vec![(i, 0)], len)
        } else {
            let bases: Option<Vec<u64>> = indices
                .iter()
                .map(|i| literal_base(cx, body, var, *i))
                .collect();
            let Some(bases) = bases else {
                out.extend(bound_rows(cx, body, m, var, hi, &indices, gradient));
                continue;
            };
            let (first, last) = (bases.iter().min(), bases.iter().max());
            let (Some(&first), Some(&last)) = (first, last) else {
                continue;
            };
            let a = proc_macro2::Literal::u64_unsuffixed(first);
            let offsets = indices.iter().zip(&bases).map(|(i, b)| (*i, b - first));
            let (z, row_len) = match len {
                Some(len) => {
                    let Some(end) = last.checked_add(len) else {
                        continue;
                    };
                    let z = proc_macro2::Literal::u64_unsuffixed(end);
                    (quote!(#z), Some(end - first))
                }
                None => {
                    let last = proc_macro2::Literal::u64_unsuffixed(last);
                    (quote!(#last + #n), None)
                }
            };
            (quote!(#a..#z), offsets.collect(), row_len)
        };
        let name = cx.ir.mems[m].name.clone();
        let primal = cx.names.fresh(&format!("{name}_row"));
        let adjoint = if gradient {
            let d = cx.adj_mem(m);
            let adjoint = cx.names.fresh(&format!("{d}_row"));
            Some(SliceLet {
                names: vec![adjoint],
                value: quote!(&mut #d[#range]),
            })
        } else {
            None
        };
        let var_name = cx.ir.values[var].name.clone();
        let mut keys = Vec::new();
        for (i, offset) in offsets {
            let row = crate::context::Row {
                primal: primal.clone(),
                adjoint: adjoint.as_ref().map(|a| a.names[0].clone()),
                var: Some(var_name.clone()),
                offset,
            };
            cx.rows.insert((m, i), row);
            keys.push((m, i));
        }
        let borrowed = matches!(cx.ir.mems[m].origin, MemOrigin::Param { by_ref: true, .. });
        let short = row_len.filter(|l| *l <= SHORT_ROW);
        let primal_value = if let (true, true, Some(row_len)) = (gradient, borrowed, short) {
            let n = proc_macro2::Literal::u64_unsuffixed(row_len);
            quote!(::neuron::__private::row::<_, #n>(&#name[#range]))
        } else {
            quote!(&#name[#range])
        };
        let primal = SliceLet {
            names: vec![primal],
            value: primal_value,
        };
        out.push(RowLets {
            keys,
            lets: std::iter::once(primal).chain(adjoint).collect(),
        });
    }
    out
}

/// An array of run-time length that the loop reads only at indices the same
/// on every iteration (the network's `x[2 * n]` and `x[2 * n + 1]` in its
/// loops over the hidden units): each element is read once before the loop,
/// `let x_at = x[2 * n];`, and the loop reads the scalar. In the loop, each
/// read is checked against a length the compiler does not know, and loaded
/// again after every store the compiler cannot tell apart from the array;
/// the checks keep the loop from being vectorised (the network with
/// run-time sizes: 1.04 times `hand_ieee_sized` with them, 0.94 without).
/// The loop runs (see `row_slices`) and reads each element in every
/// iteration, so the read before it is in bounds whenever the loop's would
/// be. Only arrays without a gradient in this sweep: an adjoint element is
/// `hold_elements`'s.
fn invariant_elements(
    cx: &mut Context,
    body: &Block,
    inside: &HashSet<ValueId>,
    var: ValueId,
    m: MemId,
    indices: &[ValueId],
    gradient: bool,
) -> Option<RowLets> {
    if fixed_length(cx, m) || gradient && cx.active_mem(m) {
        return None;
    }
    let at: Vec<TokenStream> = indices
        .iter()
        .map(|i| invariant(cx, body, inside, var, *i))
        .collect::<Option<_>>()?;
    let name = cx.ir.mems[m].name.clone();
    let mut held = RowLets {
        keys: Vec::new(),
        lets: Vec::new(),
    };
    for (i, at) in indices.iter().zip(at) {
        let element = cx.names.fresh(&format!("{name}_at"));
        let row = crate::context::Row {
            primal: element.clone(),
            adjoint: None,
            var: None,
            offset: 0,
        };
        cx.rows.insert((m, *i), row);
        held.keys.push((m, *i));
        held.lets.push(SliceLet {
            names: vec![element],
            value: quote!(#name[#at]),
        });
    }
    Some(held)
}

/// Rows for an array that a loop over `var in 0..n`, `n` known only at run
/// time, reads at `k * n + var` for several literals `k` (the network's
/// first layer, `w1[j]` and `w1[nh + j]` over `j in 0..nh`): row `k` is
/// `&m[k * n..k * n + n]`, one slice per `k`. The rows do not overlap, so
/// the gradient's can be `&mut` slices at once, taken by
/// `::neuron::__private::rows_mut(&mut d_m[..], n, [0, 1])`. Other bases that
/// are not literals are left alone: rows at those could overlap.
fn bound_rows(
    cx: &mut Context,
    body: &Block,
    m: MemId,
    var: ValueId,
    hi: ValueId,
    indices: &[ValueId],
    gradient: bool,
) -> Option<RowLets> {
    let ks: Vec<u64> = indices
        .iter()
        .map(|i| bound_multiple(cx, body, var, hi, *i))
        .collect::<Option<_>>()?;
    let mut rows = ks.clone();
    rows.sort_unstable();
    rows.dedup();
    let n = cx.val(hi);
    let name = cx.ir.mems[m].name.clone();
    let primals: Vec<syn::Ident> = rows
        .iter()
        .map(|_| cx.names.fresh(&format!("{name}_row")))
        .collect();
    let mut lets: Vec<SliceLet> = rows
        .iter()
        .zip(&primals)
        .map(|(k, primal)| {
            let range = match k {
                0 => quote!(..#n),
                1 => quote!(#n..#n + #n),
                k => {
                    let k = proc_macro2::Literal::u64_unsuffixed(*k);
                    quote!(#k * #n..#k * #n + #n)
                }
            };
            SliceLet {
                names: vec![primal.clone()],
                value: quote!(&#name[#range]),
            }
        })
        .collect();
    let adjoints: Option<Vec<syn::Ident>> = gradient.then(|| {
        let d = cx.adj_mem(m);
        let ks = rows
            .iter()
            .map(|k| proc_macro2::Literal::usize_unsuffixed(*k as usize));
        let names: Vec<syn::Ident> = rows
            .iter()
            .map(|_| cx.names.fresh(&format!("{d}_row")))
            .collect();
        lets.push(SliceLet {
            names: names.clone(),
            value: quote!(::neuron::__private::rows_mut(&mut #d[..], #n, [#(#ks),*])),
        });
        names
    });
    let var_name = cx.ir.values[var].name.clone();
    let mut keys = Vec::new();
    for (i, k) in indices.iter().zip(&ks) {
        let r = rows.iter().position(|row| row == k)?;
        let row = crate::context::Row {
            primal: primals[r].clone(),
            adjoint: adjoints.as_ref().map(|a| a[r].clone()),
            var: Some(var_name.clone()),
            offset: 0,
        };
        cx.rows.insert((m, *i), row);
        keys.push((m, *i));
    }
    Some(RowLets { keys, lets })
}

/// `k` if index value `i` is `k * hi + var` for a literal `k`: `var`,
/// `hi + var`, `2 * hi + var` (either way round), `hi` the loop's bound.
fn bound_multiple(
    cx: &Context,
    body: &Block,
    var: ValueId,
    hi: ValueId,
    i: ValueId,
) -> Option<u64> {
    if i == var {
        return Some(0);
    }
    let base = var_plus(body, var, i)?;
    if base == hi {
        return Some(1);
    }
    let k = match def_of(body, base)? {
        (Op::Binary(syn::BinOp::Mul(_)), [a, b]) if *b == hi => *a,
        (Op::Binary(syn::BinOp::Mul(_)), [a, b]) if *a == hi => *b,
        _ => return None,
    };
    match cx.literal_index(&[k])?[..] {
        [k] => Some(k),
        _ => None,
    }
}

/// For `for _ in lo..hi` (`..=` if `inclusive`) from a literal 0: its
/// literal bound, if at least 1 (`Some(Some(n))`), or `Some(None)` for a
/// bound known only at run time, under which the caller must `guard` what
/// assumes the loop runs; `None` for any other loop.
pub(crate) fn from_zero(
    cx: &Context,
    lo: ValueId,
    hi: ValueId,
    inclusive: bool,
) -> Option<Option<u64>> {
    match (cx.literal_index(&[lo]), cx.literal_index(&[hi])) {
        _ if inclusive => None,
        (Some(l), Some(h)) if l == [0] && h[0] >= 1 => Some(Some(h[0])),
        (Some(l), None) if l == [0] => Some(None),
        _ => None,
    }
}

/// The sweep `row_slices` takes rows for: the reverse's also take the
/// gradient's. Both take them whatever the loop's bound; the caller guards
/// them (see `guard`).
#[derive(Clone, Copy)]
pub(crate) enum RowSweep {
    Forward,
    Reverse,
}

/// The longest row `row_slices` copies rather than borrows: a few
/// registers' worth.
const SHORT_ROW: u64 = 8;

/// The read-only parameter arrays (of one index level) that `body` uses
/// only by loads of its own, each with the index values it reads them at,
/// in order: the candidates for row slices and carries.
pub(crate) fn read_only_rows(cx: &Context, body: &Block) -> Vec<(MemId, Vec<ValueId>)> {
    let index_of = load_indices(body);
    let mut other = HashSet::new();
    touched_otherwise(body, true, &mut other);
    let mut out: Vec<(MemId, Vec<ValueId>)> = index_of
        .into_iter()
        .filter(|(m, _)| {
            let mem = &cx.ir.mems[*m];
            matches!(mem.origin, MemOrigin::Param { .. })
                && cx.readonly(*m)
                && !other.contains(m)
                && mem.rank == Some(1)
        })
        .collect();
    out.sort();
    out
}

/// For each array `body` loads from directly at a single index, the
/// distinct index values, in order.
pub(crate) fn load_indices(body: &Block) -> HashMap<MemId, Vec<ValueId>> {
    let mut index_of: HashMap<MemId, Vec<ValueId>> = HashMap::new();
    for inst in &body.insts {
        if let Inst::Load { mem, index, .. } = inst {
            if let [i] = index[..] {
                let seen = index_of.entry(*mem).or_default();
                if !seen.contains(&i) {
                    seen.push(i);
                }
            }
        }
    }
    index_of
}

/// Whether parameter array `m`'s type fixes its length (`[f64; 64]`,
/// `&[f64; 64]`), so that the compiler knows it.
fn fixed_length(cx: &Context, m: MemId) -> bool {
    let MemOrigin::Param { index, .. } = cx.ir.mems[m].origin else {
        return false;
    };
    let mut ty = &cx.sig.params[index].ty;
    loop {
        ty = match ty {
            syn::Type::Reference(r) => &r.elem,
            syn::Type::Paren(p) => &p.elem,
            syn::Type::Group(g) => &g.elem,
            syn::Type::Array(_) => return true,
            _ => return false,
        };
    }
}

/// One array's row slices: the keys of its rows in `cx.rows`, and the
/// `let`s that take them (the gradient's only in the reverse sweep).
pub(crate) struct RowLets {
    keys: Vec<(MemId, ValueId)>,
    lets: Vec<SliceLet>,
}

/// `let name = value;`, or with several names (`rows_mut`'s rows) `let
/// [a, b] = value;`.
struct SliceLet {
    names: Vec<syn::Ident>,
    value: TokenStream,
}

/// Unregisters the rows of a loop whose code (forward or reverse) `inner`
/// is, and returns the `let`s of the slices it reads: a slice it does not
/// read is not taken, or bound as `_`.
pub(crate) fn take_rows(cx: &mut Context, rows: Vec<RowLets>, inner: &TokenStream) -> TokenStream {
    let mut slices = TokenStream::new();
    for row in rows {
        for key in &row.keys {
            cx.rows.remove(key);
        }
        for SliceLet { names, value } in row.lets {
            if !names.iter().any(|n| mentions(inner, n)) {
                continue;
            }
            let pattern = match &names[..] {
                [name] => quote!(#name),
                _ => {
                    let bound = names.iter().map(|n| match mentions(inner, n) {
                        true => quote!(#n),
                        false => quote!(_),
                    });
                    quote!([#(#bound),*])
                }
            };
            slices.extend(quote!(let #pattern = #value;));
        }
    }
    slices
}

/// The condition under which a loop over `0..hi` whose rows were taken
/// runs, `hi > 0`, when `hi` is not a literal: its row slices
/// are taken only then, since with no iteration a slice `&x[1..1 + hi]`
/// could be out of range where the loop reads nothing. (The elements
/// `reverse::hold_elements` takes before a loop are guarded the same way.)
pub(crate) fn guard(cx: &Context, hi: ValueId) -> Option<TokenStream> {
    if cx.literal_index(&[hi]).is_some() {
        return None;
    }
    let n = cx.val(hi);
    Some(quote!(#n > 0))
}

/// `stmts` as one statement: a block, or under `if runs` (see `guard`).
pub(crate) fn guarded(runs: Option<TokenStream>, stmts: TokenStream) -> TokenStream {
    match runs {
        Some(runs) => quote!(if #runs { #stmts }),
        None => quote!({ #stmts }),
    }
}

/// `b` if index value `i` is `var` plus the integer literal `b` (0 for `var`).
pub(crate) fn literal_base(cx: &Context, body: &Block, var: ValueId, i: ValueId) -> Option<u64> {
    if i == var {
        return Some(0);
    }
    let base = var_plus(body, var, i)?;
    match cx.literal_index(&[base])?[..] {
        [b] => Some(b),
        _ => None,
    }
}

/// `base` written out if index value `i` is `base + var` (or `var + base`)
/// with `base` the same on every iteration of the loop over `var`.
fn row_base(
    cx: &Context,
    body: &Block,
    inside: &HashSet<ValueId>,
    var: ValueId,
    i: ValueId,
) -> Option<TokenStream> {
    let base = var_plus(body, var, i)?;
    invariant(cx, body, inside, var, base)
}

/// `base` if `body` defines index value `i` as `base + var` or `var + base`.
fn var_plus(body: &Block, var: ValueId, i: ValueId) -> Option<ValueId> {
    match def_of(body, i)? {
        (Op::Binary(syn::BinOp::Add(_)), [a, b]) if *b == var => Some(*a),
        (Op::Binary(syn::BinOp::Add(_)), [a, b]) if *a == var => Some(*b),
        _ => None,
    }
}

/// Integer arithmetic on values from outside the loop, written out; `None`
/// if `v` may change from one iteration to the next.
fn invariant(
    cx: &Context,
    body: &Block,
    inside: &HashSet<ValueId>,
    var: ValueId,
    v: ValueId,
) -> Option<TokenStream> {
    Some(invariant_term(cx, body, inside, var, v)?.0)
}

/// [`invariant`]'s expression, and whether it is a binary operation, which
/// needs parentheses as an operand of another (`(i + 1) * 64`). Only those
/// get them, so a row reads `&w[i * 64..i * 64 + 64]`.
fn invariant_term(
    cx: &Context,
    body: &Block,
    inside: &HashSet<ValueId>,
    var: ValueId,
    v: ValueId,
) -> Option<(TokenStream, bool)> {
    if v == var {
        return None;
    }
    if cx.is_const(v) || !inside.contains(&v) {
        let t = cx.val(v);
        let single = t.clone().into_iter().nth(1).is_none();
        return Some((if single { t } else { quote!((#t)) }, false));
    }
    let operand = |a: ValueId| {
        let (t, binary) = invariant_term(cx, body, inside, var, a)?;
        Some(if binary { quote!((#t)) } else { t })
    };
    match def_of(body, v)? {
        // A parameter's length, read in the loop (`w[i * x.len() + j]`):
        // the same on every iteration, and the parameter is in scope
        // before the loop in both sweeps.
        (Op::Len(m), []) if matches!(cx.ir.mems[*m].origin, MemOrigin::Param { .. }) => {
            let m = cx.mem(*m);
            Some((quote!(#m.len()), false))
        }
        (
            Op::Binary(op @ (syn::BinOp::Add(_) | syn::BinOp::Sub(_) | syn::BinOp::Mul(_))),
            [a, b],
        ) if cx.ir.values[v].ty == Ty::Int => {
            let (a, b) = (operand(*a)?, operand(*b)?);
            Some((quote!(#a #op #b), true))
        }
        _ => None,
    }
}

/// The operation and operands `b` defines `v` by, if it defines it.
fn def_of(b: &Block, v: ValueId) -> Option<(&Op, &[ValueId])> {
    b.insts.iter().find_map(|inst| match inst {
        Inst::Def { dst, op, args } if *dst == v => Some((op, &args[..])),
        _ => None,
    })
}

/// Arrays `b` uses other than by a load directly in it (`top`) or by its
/// length: stores, copies, calls, and loads in nested blocks. (A length
/// read, `x.len()`, leaves the array free to be read through a row.)
pub(crate) fn touched_otherwise(b: &Block, top: bool, out: &mut HashSet<MemId>) {
    for inst in &b.insts {
        let len = matches!(inst, Inst::Def { op: Op::Len(_), .. });
        if !(len || top && matches!(inst, Inst::Load { .. })) {
            out.extend(crate::context::own_mems(inst));
        }
        for inner in children(inst) {
            touched_otherwise(inner, false, out);
        }
    }
}
