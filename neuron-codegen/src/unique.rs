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

use crate::context::{children, nested_definitions};
use crate::ir::*;
use crate::lower::int_literal;
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
                Inst::For { var, body, .. } => {
                    self.vars.insert(body.id, *var);
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
