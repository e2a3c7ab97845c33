//! Activity analysis: which values and memory objects depend on a
//! differentiated parameter. Only those get adjoints; everything else is
//! plain primal code.

use crate::ir::*;
use crate::signature::{Param, Signature};

pub struct Activity {
    pub value: Vec<bool>,
    pub mem: Vec<bool>,
}

/// Marks active values and mems, iterating to a fixed point (loops can carry
/// activity from a later store back to an earlier load).
pub fn analyse(ir: &Ir, sig: &Signature, wrt: &dyn Fn(&Param) -> bool) -> Activity {
    let mut a = Activity {
        value: vec![false; ir.values.len()],
        mem: vec![false; ir.mems.len()],
    };
    for (m, mem) in ir.mems.iter().enumerate() {
        if let MemOrigin::Param { index, .. } = mem.origin {
            a.mem[m] = wrt(&sig.params[index]);
        }
    }
    loop {
        let mut changed = false;
        block(ir, sig, wrt, &ir.body, &mut a, &mut changed);
        if !changed {
            return a;
        }
    }
}

fn set(flag: &mut bool, to: bool, changed: &mut bool) {
    if to && !*flag {
        *flag = true;
        *changed = true;
    }
}

fn block(
    ir: &Ir,
    sig: &Signature,
    wrt: &dyn Fn(&Param) -> bool,
    b: &Block,
    a: &mut Activity,
    changed: &mut bool,
) {
    for inst in &b.insts {
        match inst {
            Inst::Def { dst, op, args } => {
                let active = match op {
                    Op::Param(i) => wrt(&sig.params[*i]),
                    Op::Rule(_) => args.iter().any(|v| a.value[*v]),
                    _ => false,
                };
                set(&mut a.value[*dst], active, changed);
            }
            Inst::Load { dst, mem, .. } => {
                let active = a.mem[*mem] && ir.values[*dst].ty == Ty::Float;
                set(&mut a.value[*dst], active, changed);
            }
            Inst::Store { mem, src, .. } => {
                let active = a.value[*src];
                set(&mut a.mem[*mem], active, changed);
            }
            Inst::CopyInto { mem, from, .. } => {
                let active = a.mem[*from];
                set(&mut a.mem[*mem], active, changed);
            }
            Inst::Init { mem, init } => {
                let active = match init {
                    MemInit::Verbatim(_) | MemInit::VecRepeat { .. } => false,
                    MemInit::List(vs) => vs.iter().any(|v| a.value[*v]),
                    MemInit::Copy { from, .. } => a.mem[*from],
                    MemInit::Scalar(v) => a.value[*v],
                };
                set(&mut a.mem[*mem], active, changed);
            }
            Inst::For { body, .. } | Inst::While { body, .. } => {
                block(ir, sig, wrt, body, a, changed)
            }
            Inst::If { then, els, .. } => {
                block(ir, sig, wrt, then, a, changed);
                block(ir, sig, wrt, els, a, changed);
            }
            // Reads values, defines nothing.
            Inst::Assert(_) => {}
            Inst::Call { args, out, .. } => {
                let active = args.iter().any(|arg| match arg {
                    Arg::Value(v) => a.value[*v],
                    Arg::Mem { mem, .. } => a.mem[*mem],
                });
                set(&mut a.mem[*out], active, changed);
            }
        }
    }
}
