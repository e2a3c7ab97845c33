//! `#[differentiate(skip_inactive)]`: the reverse of a ReLU unit that is
//! off is skipped, as hand-written backpropagation skips it.
//!
//! A ReLU that is off hands a zero adjoint to its argument, and the reverse
//! of what computed that argument spreads it: in a dense layer, `d_x[j] +=
//! 0 * w[j]` and `d_w[j] = 0 * x[j]` for the whole row. By IEEE rules each
//! of those is 0 for a finite factor and NaN for an infinite or NaN one, so
//! the default code runs them all. Under `skip_inactive` that reverse runs
//! only while the ReLU is on: a unit that is off adds exactly nothing,
//! whatever the other factor is (the "strong zero" of Enzyme's
//! `strong_zero` mode and of TensorFlow's `multiply_no_nan`, here for the
//! zero a ReLU makes). On finite inputs the gradients are the same.

use crate::context::{children, own_mems, Context};
use crate::emit::operands;
use crate::ir::*;
use crate::rules::Partial;
use std::collections::HashSet;

/// A ReLU in a loop body whose argument's reverse can be gated.
pub struct Gate {
    /// The ReLU's position in the body: the reverse of the instructions
    /// before it runs only while it is on.
    pub at: usize,
    /// Which of its arguments is the active one, whose value decides
    /// (`a.max(0.0)`: 0, `0.0_f64.max(a)`: 1).
    pub position: usize,
    /// The loops among those instructions, in them or nested, whose tapes
    /// must not keep a counter (skipping their reverse would skip its pops).
    pub loops: Vec<BlockId>,
}

/// The last ReLU `u = relu(a)` (or `a.max(0.0)`, see [`gated_arg`]) of loop
/// body `b` whose argument is all that
/// the instructions before it hand on, under `skip_inactive`: nothing after
/// the ReLU reads an active value they define or touches memory they initialise,
/// and they write no other active memory and call nothing. Their reverse
/// then adds only what flows from `a`'s adjoint, which is zero when the
/// ReLU is off.
pub fn gate(cx: &Context, b: &Block) -> Option<Gate> {
    if !cx.sig.skip_inactive || b.id == 0 {
        return None;
    }
    (0..b.insts.len()).rev().find_map(|k| {
        let (arg, position) = gated_arg(cx, &b.insts[k])?;
        let before = &b.insts[..k];
        let mut values = HashSet::new();
        let mut mems = HashSet::new();
        for inst in before {
            defines(inst, &mut values, &mut mems);
        }
        // Integers and other inactive values carry no adjoint back.
        values.retain(|v| cx.active(*v));
        let plain = before.iter().all(|i| plain(cx, i, &mems));
        let after = &b.insts[k + 1..];
        let handed = after
            .iter()
            .all(|i| !reads(i, &values) && !touches(i, &mems));
        let mut loops = Vec::new();
        before.iter().for_each(|i| bodies(i, &mut loops));
        let gate = Gate {
            at: k,
            position,
            loops,
        };
        (values.contains(&arg) && plain && handed).then_some(gate)
    })
}

/// `a` of `u = relu(a)`, or of any rule whose partial in its one active
/// argument is a gate (`u = a.max(0.0)`, `a.min(c)` for a `c` that carries
/// no gradient): the adjoint `a` gets is zero while the gate is shut. With
/// `a`'s position among the arguments, whose partial is that gate.
pub fn gated_arg(cx: &Context, inst: &Inst) -> Option<(ValueId, usize)> {
    let Inst::Def {
        dst,
        op: Op::Rule(rule),
        args,
    } = inst
    else {
        return None;
    };
    let mut active = args.iter().enumerate().filter(|(_, a)| cx.active(**a));
    let (k, a) = active.next()?;
    if active.next().is_some() || !cx.active(*dst) {
        return None;
    }
    let kinds = rule.partial_kinds(args.len(), &cx.float());
    matches!(kinds.get(k), Some(Partial::Gate(_))).then_some((*a, k))
}

/// Adds the values and memory `inst` defines, in it or nested.
fn defines(inst: &Inst, values: &mut HashSet<ValueId>, mems: &mut HashSet<MemId>) {
    match inst {
        Inst::Def { dst, .. } | Inst::Load { dst, .. } => {
            values.insert(*dst);
        }
        Inst::Init { mem, .. } => {
            mems.insert(*mem);
        }
        Inst::For { var, .. } => {
            values.insert(*var);
        }
        _ => {}
    }
    for c in children(inst) {
        c.insts.iter().for_each(|i| defines(i, values, mems));
    }
}

/// Straight-line code and `for` loops of it that write only `own` memory or
/// inactive memory: nothing whose reverse reads an adjoint from elsewhere.
fn plain(cx: &Context, inst: &Inst, own: &HashSet<MemId>) -> bool {
    match inst {
        Inst::Def { op, .. } => !matches!(op, Op::Snapshot(_)),
        Inst::Load { .. } | Inst::Init { .. } | Inst::Assert(_) => true,
        Inst::Store { mem, .. } | Inst::CopyInto { mem, .. } => {
            own.contains(mem) || !cx.active_mem(*mem)
        }
        Inst::For { body, .. } => body.insts.iter().all(|i| plain(cx, i, own)),
        Inst::While { .. } | Inst::If { .. } | Inst::Call { .. } => false,
    }
}

/// Whether `inst` reads one of `values`, in it or nested.
fn reads(inst: &Inst, values: &HashSet<ValueId>) -> bool {
    operands(inst).iter().any(|v| values.contains(v))
        || children(inst)
            .iter()
            .any(|c| c.insts.iter().any(|i| reads(i, values)))
}

/// Whether `inst` uses one of `mems` in any way, in it or nested.
fn touches(inst: &Inst, mems: &HashSet<MemId>) -> bool {
    own_mems(inst).iter().any(|m| mems.contains(m))
        || children(inst)
            .iter()
            .any(|c| c.insts.iter().any(|i| touches(i, mems)))
}

/// Adds the loop bodies in `inst`, nested ones too.
fn bodies(inst: &Inst, out: &mut Vec<BlockId>) {
    for c in children(inst) {
        out.push(c.id);
        c.insts.iter().for_each(|i| bodies(i, out));
    }
}

/// Whether every adjoint contribution of loop body `b`'s reverse, but those
/// to the unit's own adjoint, is multiplied by the unit's value: `b` loads
/// the unit as `unit_mem[var]`, and it is zero when its ReLU is off. Then,
/// under `skip_inactive`, that reverse too runs only while the ReLU is on
/// (the next layer's weight gradient `d_w2[j][k] += d_z[k] * h[j]`, see
/// `reverse::jam_rev_as`). Accumulations `m[i] += e` leave `d_m[i]` as it
/// is (see `accumulation`), so their old values contribute nothing.
pub fn scaled_by_unit(cx: &Context, b: &Block, unit_mem: MemId, var: ValueId) -> bool {
    let mut order = Vec::new();
    flatten(b, &mut order);
    let units: HashSet<ValueId> = order
        .iter()
        .filter_map(|i| match i {
            Inst::Load { dst, mem, index } if *mem == unit_mem && index[..] == [var] => Some(*dst),
            _ => None,
        })
        .collect();
    let mut defined = HashSet::new();
    order
        .iter()
        .for_each(|i| defines(i, &mut defined, &mut HashSet::new()));
    // Values some of whose adjoint is not a multiple of the unit, found from
    // the last instruction back: every reader of a value comes after it.
    let mut unscaled: HashSet<ValueId> = HashSet::new();
    for inst in order.iter().rev() {
        match inst {
            Inst::Def {
                dst,
                op: Op::Rule(rule),
                args,
            } => {
                let through = unscaled.contains(dst);
                for (k, arg) in args.iter().enumerate() {
                    let by_unit = partial_is_unit(cx, rule, args, k, &units);
                    if through && !by_unit {
                        unscaled.insert(*arg);
                    }
                }
            }
            Inst::Def {
                op: Op::Snapshot(_),
                ..
            } => return false,
            // Integer, comparison and constant definitions pass no adjoint.
            Inst::Def { .. } => {}
            Inst::Load { dst, mem, .. } => {
                let own = units.contains(dst) || cx.accumulations.loads.contains(dst);
                if cx.active_mem(*mem) && !own && unscaled.contains(dst) {
                    return false;
                }
            }
            _ => unscaled.extend(operands(inst)),
        }
    }
    // What comes from outside the loop gets its contributions scaled too.
    unscaled
        .iter()
        .all(|v| defined.contains(v) || !cx.active(*v))
}

/// The instructions of `b` in program order, nested blocks' in place.
fn flatten<'a>(b: &'a Block, out: &mut Vec<&'a Inst>) {
    for inst in &b.insts {
        out.push(inst);
        for c in children(inst) {
            flatten(c, out);
        }
    }
}

/// Whether the partial of `rule` in its argument `k` is one of its other
/// arguments that is in `units` (the product's `∂(a·b)/∂b = a`), read off
/// the rule table with a placeholder name for each argument.
fn partial_is_unit(
    cx: &Context,
    rule: &crate::rules::Rule,
    args: &[ValueId],
    k: usize,
    units: &HashSet<ValueId>,
) -> bool {
    let names: Vec<proc_macro2::TokenStream> = (0..args.len())
        .map(|i| {
            let n = quote::format_ident!("__arg{i}");
            quote::quote!(#n)
        })
        .collect();
    let y = quote::quote!(__y);
    let partials = (rule.partials)(&crate::rules::Names {
        a: &names,
        y: &y,
        float: &cx.float(),
    });
    let Some(Partial::Expr(e)) = partials.into_iter().nth(k) else {
        return false;
    };
    let e = e.to_string();
    names
        .iter()
        .zip(args)
        .any(|(n, a)| units.contains(a) && e == n.to_string())
}
