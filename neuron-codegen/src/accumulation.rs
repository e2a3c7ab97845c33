//! Accumulations: `m[i] = m[i] + e`, what `m[i] += e` lowers to.
//!
//! The reverse of a store hands `d_m[i]` to the stored value and clears it;
//! the reverse of the load gives it back (`d_m[i] += d_old`). In an
//! accumulation the old value reaches the stored one with a partial of 1, so
//! the two cancel: the reverse reads `d_m[i]` and leaves it, `let d_s =
//! d_m[i];` instead of `let d_s = d_m[i]; d_m[i] = -0.0; d_m[i] += d_s;`.
//! Nothing is computed differently (`-0.0 + d` is `d`): the reverse is two
//! statements shorter, and a loop that only accumulates into `m` leaves
//! `d_m` alone in its reverse, which lets `jam::gate` split that reverse by
//! what it writes.

use crate::context::children;
use crate::ir::*;
use crate::rules::Partial;
use crate::unique::touches;
use proc_macro2::TokenStream;
use std::collections::{HashMap, HashSet};

/// The accumulations of a function.
#[derive(Default)]
pub struct Accumulations {
    /// The loads of the old value, whose reverse is left out.
    pub loads: HashSet<ValueId>,
    /// The values stored, whose store's reverse leaves the adjoint element.
    pub stored: HashSet<ValueId>,
}

/// Finds, in every block, a load `a = m[i]`, a rule `s = f(…, a, …)` whose
/// partial in `a` is 1 (`+`, or `-` with `a` first), and a store `m[i] = s`
/// at the same index, with nothing between the load and the store touching
/// `m`, and `a` and `s` used nowhere else.
pub fn find(ir: &Ir, float: &TokenStream) -> Accumulations {
    let mut uses = HashMap::new();
    count_uses(&ir.body, &mut uses);
    if let Output::Value(v) = ir.output {
        *uses.entry(v).or_default() += 1;
    }
    let mut out = Accumulations::default();
    find_in(ir, &ir.body, float, &uses, &mut out);
    out
}

fn find_in(
    ir: &Ir,
    b: &Block,
    float: &TokenStream,
    uses: &HashMap<ValueId, usize>,
    out: &mut Accumulations,
) {
    let once = |v: &ValueId| uses.get(v) == Some(&1);
    for (k, inst) in b.insts.iter().enumerate() {
        for c in children(inst) {
            find_in(ir, c, float, uses, out);
        }
        let Inst::Store { mem, index, src } = inst else {
            continue;
        };
        if ir.mems[*mem].elem != Ty::Float || !once(src) {
            continue;
        }
        // The load of the old value: the last instruction before the store
        // to touch `m`.
        let Some(l) = b.insts[..k].iter().rposition(|i| touches(i, *mem)) else {
            continue;
        };
        let Inst::Load {
            dst: old,
            mem: lm,
            index: li,
        } = &b.insts[l]
        else {
            continue;
        };
        let adds = b.insts[l + 1..k]
            .iter()
            .any(|i| matches!(i, Inst::Def { dst, op: Op::Rule(rule), args } if dst == src && passes(rule, args, *old, float)));
        if lm == mem && li == index && once(old) && adds {
            out.loads.insert(*old);
            out.stored.insert(*src);
        }
    }
}

/// Whether `old` is one argument of `rule` and its partial there is 1.
fn passes(rule: &crate::rules::Rule, args: &[ValueId], old: ValueId, float: &TokenStream) -> bool {
    if args.iter().filter(|a| **a == old).count() != 1 {
        return false;
    }
    let partials = rule.partial_kinds(args.len(), float);
    args.iter()
        .zip(partials)
        .any(|(a, p)| *a == old && matches!(p, Partial::One))
}

/// How often each value is read, in `b` and the blocks inside it.
fn count_uses(b: &Block, uses: &mut HashMap<ValueId, usize>) {
    for inst in &b.insts {
        let mut read = crate::emit::operands(inst);
        if let Inst::While { cond_value, .. } = inst {
            read.push(*cond_value);
        }
        for v in read {
            *uses.entry(v).or_default() += 1;
        }
        for c in children(inst) {
            count_uses(c, uses);
        }
    }
}
