//! Gradient elements that get exactly one contribution, so the reverse sweep
//! can write them with `=` instead of reading the zero they start at and
//! adding (the dense layer's `d_w[i * 64 + j] = d_z * x[j]`, as a backward
//! pass is written by hand).
//!
//! That holds for a parameter array the function reads in one place only,
//! at an index that is different in every iteration of the loops around the
//! read: then each element's adjoint is written at most once, and the
//! elements never written keep the zero the gradient starts with. The index
//! must be an affine function of the loop variables, `c1 * i + c2 * j + …`
//! plus anything the loops do not change, with coefficients that keep the
//! loops apart: each larger than what the loops with smaller coefficients
//! can add up to (`i * 64 + j` with `j` in `0..64`).
//!
//! The same holds, the other way round, for a local array filled by a loop
//! right after a constant initialisation (`let mut h = [0.0; 64]; for j in
//! 0..64 { h[j] = … }`): the reverse of each store takes the element's
//! adjoint, and nothing reads that element's adjoint afterwards, so the
//! store's reverse need not reset it to zero (`first_stores`). When that
//! loop writes every element and reads none, the zeros are never read at
//! all, so the forward sweep declares the array once, before the top-level
//! loop around it, rather than zero-filling it on every iteration
//! (`refilled`): the network's hidden layer `h`, once per call instead of
//! once per sample.

use crate::context::{children, nested_definitions, own_mems};
use crate::ir::*;
use crate::lower::int_literal;
use quote::ToTokens;
use std::collections::{HashMap, HashSet};

type Defs<'a> = HashMap<ValueId, &'a Inst>;

/// The loads whose adjoint is the only contribution to the gradient
/// elements they write.
pub fn only_contributions(ir: &Ir) -> HashSet<ValueId> {
    let mut walk = Walk::default();
    walk.block(&ir.body);
    let defs = nested_definitions(&ir.body);
    let mut out = HashSet::new();
    for (m, loads) in &walk.loads {
        let param = matches!(ir.mems[*m].origin, MemOrigin::Param { .. });
        if !param || ir.mems[*m].rank != Some(1) || walk.other.contains(m) {
            continue;
        }
        if let [(dst, block, index)] = loads[..] {
            if distinct_per_iteration(ir, &walk, &defs, block, index) {
                out.insert(dst);
            }
        }
    }
    out
}

#[derive(Default)]
struct Walk {
    /// Each memory object's element loads: (value, block, index).
    loads: HashMap<MemId, Vec<(ValueId, BlockId, ValueId)>>,
    /// Memory used any other way (copied, passed to a call, loaded at a
    /// path of another length).
    other: HashSet<MemId>,
    /// The loop variable of each `for` body.
    vars: HashMap<BlockId, ValueId>,
    /// Each `for` body's bounds, `lo..hi`, for an exclusive range only.
    ranges: HashMap<BlockId, (ValueId, ValueId)>,
}

impl Walk {
    fn block(&mut self, b: &Block) {
        for inst in &b.insts {
            match inst {
                Inst::Load { dst, mem, index } => match index[..] {
                    [i] => self.loads.entry(*mem).or_default().push((*dst, b.id, i)),
                    _ => {
                        self.other.insert(*mem);
                    }
                },
                Inst::Def {
                    op: Op::Snapshot(m),
                    ..
                } => {
                    self.other.insert(*m);
                }
                Inst::CopyInto { mem, from, .. } => {
                    self.other.extend([*mem, *from]);
                }
                Inst::Init {
                    init: MemInit::Copy { from, .. },
                    ..
                } => {
                    self.other.insert(*from);
                }
                Inst::Call { args, .. } => {
                    for a in args {
                        if let Arg::Mem { mem, .. } = a {
                            self.other.insert(*mem);
                        }
                    }
                }
                Inst::For {
                    var,
                    body,
                    lo,
                    hi,
                    inclusive,
                    ..
                } => {
                    self.vars.insert(body.id, *var);
                    if !inclusive {
                        self.ranges.insert(body.id, (*lo, *hi));
                    }
                }
                _ => {}
            }
            for c in children(inst) {
                self.block(c);
            }
        }
    }
}

/// The operation and operands that define `v`, if a `Def` does.
fn def<'a>(defs: &Defs<'a>, v: ValueId) -> Option<(&'a Op, &'a [ValueId])> {
    match defs.get(&v)? {
        Inst::Def { op, args, .. } => Some((op, args)),
        _ => None,
    }
}

/// `v`'s value, if it is an integer literal.
fn int_const(defs: &Defs, v: ValueId) -> Option<u64> {
    match def(defs, v)? {
        (Op::Const(t), _) => int_literal(t.clone()),
        _ => None,
    }
}

/// Whether `index`, read in `block`, is different in every iteration of the
/// loops around `block`.
fn distinct_per_iteration(
    ir: &Ir,
    walk: &Walk,
    defs: &Defs,
    block: BlockId,
    index: ValueId,
) -> bool {
    let mut loops = Vec::new();
    for (b, kind) in ir.enclosing(block) {
        match kind {
            BlockKind::For { trips } => loops.push((walk.vars[&b], trips)),
            BlockKind::Arm | BlockKind::Top => {}
            BlockKind::While | BlockKind::Cond => return false,
        }
    }
    if row_major(walk, defs, block, &loops, index) {
        return true;
    }
    let vars: HashSet<ValueId> = loops.iter().map(|(v, _)| *v).collect();
    let Some(coef) = affine(defs, &vars, index) else {
        return false;
    };
    let mut loops: Vec<(u64, Option<u64>)> = loops
        .iter()
        .map(|(v, trips)| (coef.get(v).copied().unwrap_or(0), *trips))
        .collect();
    loops.sort_unstable();
    // Mixed radix: each coefficient exceeds the largest sum of the smaller ones.
    let mut reach: u64 = 0;
    for (c, trips) in loops {
        if c <= reach {
            return false;
        }
        let Some(span) = trips
            .and_then(|t| t.checked_sub(1))
            .and_then(|t| t.checked_mul(c))
        else {
            // Only the loop with the largest coefficient may have bounds
            // known at run time: nothing is added after it.
            reach = u64::MAX;
            continue;
        };
        reach = match reach.checked_add(span) {
            Some(r) => r,
            None => return false,
        };
    }
    true
}

/// Whether `index` is `i * n + j` (in any order of the operands) in a loop
/// over `j` in `0..n`, inside one over `i`, with `n` the same run-time value
/// in both places (`w[i * n_in + j]` in a layer whose sizes are arguments):
/// row `i`'s elements, each column once. `affine` needs the coefficients as
/// literals; this is the one shape with a symbolic one.
fn row_major(
    walk: &Walk,
    defs: &Defs,
    block: BlockId,
    loops: &[(ValueId, Option<u64>)],
    index: ValueId,
) -> bool {
    let [(j, _), (i, _)] = loops[..] else {
        return false;
    };
    // `loops` starts with `block`'s own loop, so this is `j`'s range.
    let Some(&(lo, n)) = walk.ranges.get(&block) else {
        return false;
    };
    if int_const(defs, lo) != Some(0) {
        return false;
    }
    let add = |op: &syn::BinOp| matches!(op, syn::BinOp::Add(_));
    let mul = |op: &syn::BinOp| matches!(op, syn::BinOp::Mul(_));
    let Some(product) = other_operand(defs, index, add, j) else {
        return false;
    };
    let Some(stride) = other_operand(defs, product, mul, i) else {
        return false;
    };
    same_value(defs, stride, n)
}

/// `b` where `v` is `x op b` or `b op x` for an operator `op` that `is_op`
/// accepts, `x` on one side only.
fn other_operand(
    defs: &Defs,
    v: ValueId,
    is_op: impl Fn(&syn::BinOp) -> bool,
    x: ValueId,
) -> Option<ValueId> {
    let (Op::Binary(op), [a, b]) = def(defs, v)? else {
        return None;
    };
    match (*a == x, *b == x) {
        (true, false) if is_op(op) => Some(*b),
        (false, true) if is_op(op) => Some(*a),
        _ => None,
    }
}

/// Whether `a` and `b` are the same run-time integer: one value, or two
/// reads of the same scalar parameter or of the same array's length.
fn same_value(defs: &Defs, a: ValueId, b: ValueId) -> bool {
    a == b
        || matches!((def(defs, a), def(defs, b)),
            (Some((Op::Param(x), _)), Some((Op::Param(y), _))) if x == y)
        || matches!((def(defs, a), def(defs, b)),
            (Some((Op::Len(x), _)), Some((Op::Len(y), _))) if x == y)
}

/// `index` as coefficients of the loop variables `vars`, if it is affine in
/// them; terms that do not involve them are dropped (they are the same in
/// every iteration).
fn affine(defs: &Defs, vars: &HashSet<ValueId>, v: ValueId) -> Option<HashMap<ValueId, u64>> {
    if vars.contains(&v) {
        return Some(HashMap::from([(v, 1)]));
    }
    // A load (or another loop's variable): it may change.
    let (op, args) = def(defs, v)?;
    match (op, args) {
        (Op::Const(_), _) if int_const(defs, v).is_some() => Some(HashMap::new()),
        (Op::Binary(syn::BinOp::Add(_)), [a, b]) => {
            let mut x = affine(defs, vars, *a)?;
            for (k, c) in affine(defs, vars, *b)? {
                let e = x.entry(k).or_insert(0);
                *e = e.checked_add(c)?;
            }
            Some(x)
        }
        (Op::Binary(syn::BinOp::Mul(_)), [a, b]) => {
            let (scale, term) = match (int_const(defs, *a), int_const(defs, *b)) {
                (Some(c), _) => (c, *b),
                (_, Some(c)) => (c, *a),
                _ => return invariant(defs, vars, v).then(HashMap::new),
            };
            let mut x = affine(defs, vars, term)?;
            for c in x.values_mut() {
                *c = c.checked_mul(scale)?;
            }
            Some(x)
        }
        _ => invariant(defs, vars, v).then(HashMap::new),
    }
}

/// Whether `v` does not depend on the loop variables: built only from
/// integer constants, scalar parameters and lengths.
fn invariant(defs: &Defs, vars: &HashSet<ValueId>, v: ValueId) -> bool {
    if vars.contains(&v) {
        return false;
    }
    match def(defs, v) {
        None => false,
        Some((Op::Param(_) | Op::Len(_), _)) => true,
        Some((Op::Const(_), _)) => int_const(defs, v).is_some(),
        Some((_, [])) => false,
        Some((_, args)) => args.iter().all(|a| invariant(defs, vars, *a)),
    }
}

/// The stores `m[var] = …` whose element's adjoint nothing reads after the
/// store's reverse takes it, as (array, loop variable): a local array with
/// a constant initialiser (whose reverse reads no adjoint), filled by the
/// first instruction after it to touch it, a `for` loop over `var` that
/// stores `m[var]` directly in its body and only reads `m` otherwise. Each
/// element is stored once (`var` differs every iteration); the adjoint is
/// declared with the array's block, so every instance starts from zero; the
/// reverse of what ran before the store (the loop's earlier iterations and
/// reads, the instructions between) only adds to `d_m`, or touches
/// other elements.
pub fn first_stores(ir: &Ir) -> HashSet<(MemId, ValueId)> {
    let mut out = HashSet::new();
    first_stores_in(ir, &ir.body, &mut out);
    out
}

fn first_stores_in(ir: &Ir, b: &Block, out: &mut HashSet<(MemId, ValueId)>) {
    for (k, inst) in b.insts.iter().enumerate() {
        if let Inst::Init {
            mem,
            init: MemInit::Verbatim(_) | MemInit::VecRepeat { .. },
        } = inst
        {
            let next = b.insts[k + 1..].iter().find(|i| touches(i, *mem));
            if let Some(Inst::For { var, body, .. }) = next {
                if fills(body, *mem, *var) && matches!(ir.mems[*mem].origin, MemOrigin::Local) {
                    out.insert((*mem, *var));
                }
            }
        }
        for c in children(inst) {
            first_stores_in(ir, c, out);
        }
    }
}

/// Whether `body` stores `m[var]` once, as one of its own instructions, and
/// otherwise only loads from `m`.
fn fills(body: &Block, m: MemId, var: ValueId) -> bool {
    let mut stores = 0;
    for inst in &body.insts {
        match inst {
            Inst::Store { mem, index, .. } if *mem == m && index[..] == [var] => stores += 1,
            _ if !only_loads(inst, m) => return false,
            _ => {}
        }
    }
    stores == 1
}

/// Whether `inst` and the instructions nested in it use `m` only by loads.
fn only_loads(inst: &Inst, m: MemId) -> bool {
    matches!(inst, Inst::Load { .. })
        || !own_use(inst, m)
            && children(inst)
                .iter()
                .all(|c| c.insts.iter().all(|i| only_loads(i, m)))
}

/// Whether `inst` itself, not a block it holds, uses `m` other than by a load.
pub fn own_use(inst: &Inst, m: MemId) -> bool {
    !matches!(inst, Inst::Load { .. }) && own_mems(inst).contains(&m)
}

/// Whether `inst`, or an instruction nested in it, uses `m` in any way.
pub fn touches(inst: &Inst, m: MemId) -> bool {
    own_mems(inst).contains(&m)
        || children(inst)
            .iter()
            .any(|c| c.insts.iter().any(|i| touches(i, m)))
}

/// Local arrays the forward sweep may declare once, before the top-level
/// `for` loop whose body (or a block nested in it) declares them, by that
/// loop's body: a constant initialiser `[c; n]` (or `[c, c, …]`, or
/// `vec![c; n]` with `n` defined before that loop) that the next
/// instruction to touch the array, a `for var in 0..n` loop, overwrites
/// element by element before anything reads it. That loop stores `m[var]`
/// once per iteration (`first_stores`) and does not load from `m`, so what
/// an earlier iteration of the outer loop left in the array is never read.
pub fn refilled(ir: &Ir) -> HashMap<BlockId, Vec<MemId>> {
    let defs = nested_definitions(&ir.body);
    let mut out = HashMap::new();
    for inst in &ir.body.insts {
        if let Inst::For { body, .. } = inst {
            let mut mems = Vec::new();
            refilled_in(ir, &defs, body, &mut mems);
            if !mems.is_empty() {
                out.insert(body.id, mems);
            }
        }
    }
    out
}

fn refilled_in(ir: &Ir, defs: &Defs, b: &Block, out: &mut Vec<MemId>) {
    for (k, inst) in b.insts.iter().enumerate() {
        if let Inst::Init { mem, init } = inst {
            // The array's length, as the bound that covers it must be.
            let len = |hi: ValueId| match init {
                MemInit::Verbatim(t) => {
                    int_const(defs, hi).is_some() && int_const(defs, hi) == verbatim_len(t)
                }
                // The same value, in scope before the top-level loop.
                MemInit::VecRepeat { len, .. } => *len == hi && ir.values[hi].block == ir.body.id,
                _ => false,
            };
            let next = b.insts[k + 1..].iter().find(|i| touches(i, *mem));
            if let Some(Inst::For {
                var,
                lo,
                hi,
                inclusive: false,
                body,
                ..
            }) = next
            {
                let whole = int_const(defs, *lo) == Some(0) && len(*hi);
                let no_loads = body.insts.iter().all(|i| !loads(i, *mem));
                if whole && no_loads && fills(body, *mem, *var) && ir.mems[*mem].rank == Some(1) {
                    out.push(*mem);
                }
            }
        }
        for c in children(inst) {
            refilled_in(ir, defs, c, out);
        }
    }
}

/// The length of a one-level array literal: `[0.0; 64]` or `[0.0, 0.0]`.
fn verbatim_len(t: &proc_macro2::TokenStream) -> Option<u64> {
    match syn::parse2::<syn::Expr>(t.clone()).ok()? {
        syn::Expr::Repeat(r) => int_literal(r.len.to_token_stream()),
        syn::Expr::Array(a) => Some(a.elems.len() as u64),
        _ => None,
    }
}

/// Whether `inst`, or an instruction nested in it, loads from `m`.
pub fn loads(inst: &Inst, m: MemId) -> bool {
    matches!(inst, Inst::Load { mem, .. } if *mem == m)
        || children(inst)
            .iter()
            .any(|c| c.insts.iter().any(|i| loads(i, m)))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// The macro's expansion of `f`, as text.
    fn expand(f: proc_macro2::TokenStream) -> String {
        crate::differentiate(quote!(), f).to_string()
    }

    /// Whether the reverse of a store `h[var] = …` resets the element's adjoint.
    fn resets(out: &str, var: &str) -> bool {
        assert!(out.contains(&format!("d_h [{var}]")), "{out}");
        out.contains(&format!("d_h [{var}] = - 0.0"))
    }

    #[test]
    fn a_loop_filling_a_zeroed_array_needs_no_reset() {
        let out = expand(quote! {
            fn f(x: [f64; 4]) -> f64 {
                let mut h = [0.0; 4];
                for j in 0..4 {
                    h[j] = x[j].sin() + h[3 - j];
                }
                for k in 0..4 {
                    h[k] = h[k] * h[3 - k];
                }
                h[0] * h[3]
            }
        });
        assert!(!resets(&out, "j"), "{out}");
        // The second loop overwrites what the first stored.
        assert!(resets(&out, "k"), "{out}");
    }

    #[test]
    fn other_stores_keep_their_reset() {
        let cases = [
            // The initialiser holds values, whose reverse reads the adjoint.
            quote! {
                fn f(x: [f64; 4]) -> f64 {
                    let mut h = [x[0], x[1], x[2], x[3]];
                    for j in 0..4 { h[j] = x[j].sin(); }
                    h[0] * h[3]
                }
            },
            // Stored before the loop.
            quote! {
                fn f(x: [f64; 4]) -> f64 {
                    let mut h = [0.0; 4];
                    h[1] = x[0];
                    for j in 0..4 { h[j] = x[j].sin(); }
                    h[0] * h[1]
                }
            },
            // Stored in a branch.
            quote! {
                fn f(x: [f64; 4]) -> f64 {
                    let mut h = [0.0; 4];
                    for j in 0..4 {
                        if x[j] > 0.0 { h[j] = x[j].sin(); }
                    }
                    h[0] * h[3]
                }
            },
            // Stored twice in one iteration.
            quote! {
                fn f(x: [f64; 4]) -> f64 {
                    let mut h = [0.0; 4];
                    for j in 0..4 {
                        h[j] = x[j].sin();
                        h[j] = h[j] * x[j];
                    }
                    h[0] * h[3]
                }
            },
        ];
        for f in cases {
            let out = expand(f);
            assert!(resets(&out, "j"), "{out}");
        }
    }

    /// Whether the forward sweep declares `h` before the loop over `n`.
    fn hoisted(out: &str) -> bool {
        out.contains("{ let mut h = [0.0 ; 4] ; for n in")
    }

    #[test]
    fn an_array_each_iteration_overwrites_is_zeroed_once() {
        let out = expand(quote! {
            fn f(x: [f64; 4], w: f64) -> f64 {
                let mut s = 0.0;
                for n in 0..3 {
                    let mut h = [0.0; 4];
                    for j in 0..4 {
                        h[j] = (x[j] * w).sin();
                    }
                    s += h[n] * h[3];
                }
                s
            }
        });
        assert!(hoisted(&out), "{out}");
        // Only the function itself, as the user wrote it, zero-fills in the loop.
        assert_eq!(
            out.matches("for n in 0 .. 3 { let mut h").count(),
            1,
            "{out}"
        );
    }

    #[test]
    fn an_array_read_before_it_is_overwritten_is_zeroed_every_time() {
        let cases = [
            // Not every element is written.
            quote! {
                fn f(x: [f64; 4], w: f64) -> f64 {
                    let mut s = 0.0;
                    for n in 0..3 {
                        let mut h = [0.0; 4];
                        for j in 0..3 { h[j] = x[j] * w; }
                        s += h[3] + h[0];
                    }
                    s
                }
            },
            // The filling loop reads an element it has not written yet.
            quote! {
                fn f(x: [f64; 4], w: f64) -> f64 {
                    let mut s = 0.0;
                    for n in 0..3 {
                        let mut h = [0.0; 4];
                        for j in 0..4 { h[j] = x[j] * w + h[3 - j]; }
                        s += h[0];
                    }
                    s
                }
            },
            // Read before the loop.
            quote! {
                fn f(x: [f64; 4], w: f64) -> f64 {
                    let mut s = 0.0;
                    for n in 0..3 {
                        let mut h = [0.0; 4];
                        s += h[1];
                        for j in 0..4 { h[j] = x[j] * w; }
                        s += h[0];
                    }
                    s
                }
            },
        ];
        for f in cases {
            let out = expand(f);
            assert!(out.contains("let mut h = [0.0 ; 4]"), "{out}");
            assert!(!hoisted(&out), "{out}");
        }
    }
}
