//! Loop fusion for `NAME_backward`: a loop that sums a loss over samples
//! runs each sample's reverse right after its forward, as a person writes a
//! backward pass by hand, instead of saving every sample on a tape and
//! walking the tapes backwards afterwards.
//!
//! `NAME_backward` knows `d_output` before the forward sweep starts, so the
//! adjoint of an accumulator such as `total` in
//!
//! ```text
//! let mut total = 0.0;
//! for n in 0..300 { …; total += loss_n; }
//! total / 300.0
//! ```
//!
//! is known before the loop (`d_output / 300`) whenever the statements after
//! the loop do not need the loop's results to propagate it. It is the same in
//! every iteration, because each iteration only adds to `total`. Then an
//! iteration's reverse needs nothing from later iterations, and the values it
//! reads are still in scope: no tape, and the sample's data is still in cache.
//!
//! The sweeps that calls from other differentiated functions use are not
//! fused: there `d_output` comes only after the forward sweep has returned.

use crate::context::{children, mentions, nested_definitions, Context};
use crate::emit::count_uses;
use crate::ir::*;
use proc_macro2::TokenStream;
use std::collections::{HashMap, HashSet};

/// Longer bodies are cut into chunks for compile time (see `chunk`), which
/// a fused body is not.
const MAX_TOP_LEVEL: usize = 128;

/// The body of the top-level `for` loop to fuse: the last top-level loop,
/// when only straight-line code follows it, and everything from outside it
/// that it writes is either a float accumulator (`acc = acc + x`,
/// `acc += x`, `acc -= x`, and nothing else reads it in the loop) or an
/// array it writes only at the loop variable's index and never reads.
pub fn candidate(ir: &Ir) -> Option<BlockId> {
    let insts = &ir.body.insts;
    if insts.len() > MAX_TOP_LEVEL {
        return None;
    }
    let at = insts.iter().rposition(|i| matches!(i, Inst::For { .. }))?;
    let straight = insts[at + 1..].iter().all(|i| {
        matches!(
            i,
            Inst::Def { .. } | Inst::Load { .. } | Inst::Store { .. } | Inst::Init { .. }
        )
    });
    let Inst::For { body, var, .. } = &insts[at] else {
        return None;
    };
    if !straight {
        return None;
    }
    let mut uses = HashMap::new();
    count_uses(&ir.body, &mut uses);
    let defs = nested_definitions(body);
    let mut written = HashSet::new();
    writes(body, &mut written);
    let outside = written
        .iter()
        .filter(|m| !inside(ir, ir.mems[**m].block, body.id));
    for &m in outside {
        let mut used = MemUses::default();
        mem_uses(body, m, &mut used);
        if !accumulator(&ir.mems[m], &used, &uses, &defs) && !own_element(&ir.mems[m], &used, *var)
        {
            return None;
        }
    }
    Some(body.id)
}

/// How a loop's body uses one memory object: the values its loads define,
/// its stores (index, value stored), and whether it uses it any other way
/// (a copy, a call argument or result, a new definition).
#[derive(Default)]
struct MemUses {
    loads: HashSet<ValueId>,
    stores: Vec<(Vec<ValueId>, ValueId)>,
    other: bool,
}

fn mem_uses(b: &Block, m: MemId, out: &mut MemUses) {
    for inst in &b.insts {
        match inst {
            Inst::Load { dst, mem, .. } if *mem == m => {
                out.loads.insert(*dst);
            }
            Inst::Store { mem, index, src } if *mem == m => out.stores.push((index.clone(), *src)),
            Inst::CopyInto { mem, from, .. } if *mem == m || *from == m => out.other = true,
            Inst::Init { mem, .. } if *mem == m => out.other = true,
            Inst::Call { args, out: o, .. }
                if *o == m
                    || args
                        .iter()
                        .any(|a| matches!(a, Arg::Mem { mem, .. } if *mem == m)) =>
            {
                out.other = true
            }
            _ => {}
        }
        for c in children(inst) {
            mem_uses(c, m, out);
        }
    }
}

/// An array that each iteration only writes at its own index, `m[var] = …`
/// (the dense layer's `y[i] = relu(z)`), and never reads: then an
/// iteration's reverse reads and clears only its own element's adjoint,
/// which no other iteration touches.
fn own_element(mem: &Mem, used: &MemUses, var: ValueId) -> bool {
    mem.rank == Some(1)
        && !used.other
        && used.loads.is_empty()
        && used
            .stores
            .iter()
            .all(|(index, _)| index.as_slice() == [var])
}

/// Moves the computations after the fused loop that do not depend on it to
/// just before it: the reverse of the statements after the loop runs before
/// the loop, and may read them (`total / n + 0.1 * b * b` reads `0.1 * b`).
/// Only pure operations on values and lengths (`x.len() as f64`) are moved,
/// never a load, whose memory the loop may write.
pub fn hoist(ir: &mut Ir, body: BlockId) {
    let Some(at) = position(&ir.body, body) else {
        return;
    };
    let insts = &mut ir.body.insts;
    let after = insts.split_off(at + 1);
    let Some(the_loop) = insts.pop() else {
        return;
    };
    let mut late: HashSet<ValueId> = HashSet::new();
    // Memory defined after the loop: its length is not known before it.
    let mut late_mems: HashSet<MemId> = HashSet::new();
    let mut kept = Vec::new();
    for inst in after {
        let early = match &inst {
            Inst::Def { op, args, .. } => {
                let pure = match op {
                    Op::Rule(_) | Op::Binary(_) | Op::Unary(_) | Op::Cast(_) | Op::Const(_) => true,
                    // No instruction changes a length.
                    Op::Len(m) => !late_mems.contains(m),
                    _ => false,
                };
                pure && args.iter().all(|a| !late.contains(a))
            }
            _ => false,
        };
        if early {
            insts.push(inst);
            continue;
        }
        match &inst {
            Inst::Def { dst, .. } | Inst::Load { dst, .. } => {
                late.insert(*dst);
            }
            Inst::Init { mem, .. } => {
                late_mems.insert(*mem);
            }
            _ => {}
        }
        kept.push(inst);
    }
    insts.push(the_loop);
    insts.extend(kept);
}

/// Whether the fused sweeps are sound, checked once the reverse sweep is
/// generated: the reverse of the statements after the loop (`before`,
/// hoisted above it) reads nothing that those statements or the loop
/// compute. (Tapes inside the loop's body are fine: each iteration's reverse
/// pops what its forward pushed, and `emit` empties the `Vec` tapes after it.)
pub fn sound(cx: &Context, body: BlockId, before: &TokenStream) -> bool {
    let ir = cx.ir;
    let insts = &ir.body.insts;
    let Some(at) = position(&ir.body, body) else {
        return false;
    };
    let mut late: Vec<&syn::Ident> = Vec::new();
    for inst in &insts[at..] {
        match inst {
            Inst::Def { dst, .. } | Inst::Load { dst, .. } => late.push(&ir.values[*dst].name),
            Inst::Store { mem, .. } | Inst::Init { mem, .. } => late.push(&ir.mems[*mem].name),
            Inst::For { body: b, .. } => {
                let mut w = HashSet::new();
                writes(b, &mut w);
                late.extend(w.iter().map(|m| &ir.mems[*m].name));
            }
            _ => return false,
        }
    }
    !late.iter().any(|n| mentions(before, n))
}

/// Where in `top` the loop with body `body` is.
pub fn position(top: &Block, body: BlockId) -> Option<usize> {
    top.insts
        .iter()
        .position(|i| matches!(i, Inst::For { body: b, .. } if b.id == body))
}

/// Whether block `b` is `outer` or nested in it.
pub fn inside(ir: &Ir, b: BlockId, outer: BlockId) -> bool {
    ir.enclosing(b).iter().any(|(x, _)| *x == outer)
}

/// A float only ever updated in the loop as `m = m + x`, `m = x + m` or
/// `m = m - x`, each load of it feeding only its own update: then the reverse
/// of an iteration leaves its adjoint as it found it.
fn accumulator(
    mem: &Mem,
    used: &MemUses,
    uses: &HashMap<ValueId, usize>,
    defs: &HashMap<ValueId, &Inst>,
) -> bool {
    if mem.rank != Some(0) || mem.elem != Ty::Float || used.other {
        return false;
    }
    let loads = &used.loads;
    let once = |v: ValueId| uses.get(&v).copied() == Some(1);
    let mut paired = HashSet::new();
    for (_, src) in &used.stores {
        let Some(Inst::Def {
            op: Op::Rule(rule),
            args,
            ..
        }) = defs.get(src)
        else {
            return false;
        };
        let own = match (rule.name, args.as_slice()) {
            ("add", [a, b]) if loads.contains(a) && !loads.contains(b) => *a,
            ("add", [a, b]) if loads.contains(b) && !loads.contains(a) => *b,
            ("sub", [a, b]) if loads.contains(a) && !loads.contains(b) => *a,
            _ => return false,
        };
        if !once(*src) || !once(own) || !paired.insert(own) {
            return false;
        }
    }
    paired == *loads
}

/// The memory `b` writes, nested blocks included.
fn writes(b: &Block, out: &mut HashSet<MemId>) {
    for inst in &b.insts {
        match inst {
            Inst::Store { mem, .. } | Inst::CopyInto { mem, .. } | Inst::Init { mem, .. } => {
                out.insert(*mem);
            }
            Inst::Call { out: mem, .. } => {
                out.insert(*mem);
            }
            _ => {}
        }
        for c in children(inst) {
            writes(c, out);
        }
    }
}

/// An inner loop shorter than this (by its literal bounds) makes a chain too
/// short for the lag to pay: a layer of 4 to 12 units whose rows are
/// reversed late took 2 to 8 % longer, one of 16 or more 0 to 26 % less.
const LONG_INNER_LOOP: u64 = 16;

/// The names an iteration's reverse reads from its own forward, when the
/// fused loop `body` runs each iteration's reverse one iteration late
/// ("lagged"), else `None`. The forward of iteration `i + 1` then runs
/// while the reverse of iteration `i` does: a body whose forward ends a
/// chain of dependent operations (an inner loop's sum) has a reverse that
/// waits for that chain's end, and run in the same iteration it keeps the
/// next iteration's chain from starting (a 64 × 64 `tanh` layer's backward
/// took 1.45 times as long fused as unfused; see BENCHMARKS.md).
///
/// Only a body with a long inner `for` loop is lagged, and only when what the
/// reverse reads from the forward is scalars of the body's own block, which
/// the lag keeps in a tuple: no tapes, calls or arrays it reads.
pub fn lag(cx: &Context, body: &Block, reverse: &TokenStream) -> Option<Vec<syn::Ident>> {
    let ir = cx.ir;
    let within = |b: BlockId| inside(ir, b, body.id);
    let has_tape = cx.taped.iter().any(|v| within(ir.values[*v].block))
        || cx.taped_mems.iter().any(|m| within(ir.mems[*m].block));
    if reverse.is_empty() || has_tape || cx.refilled.contains_key(&body.id) {
        return None;
    }
    if !has_long_inner_loop(ir, body) || !only_loops_and_straight_code(body) {
        return None;
    }
    let mut named = HashSet::new();
    crate::context::idents(reverse, &mut named);
    let scalar = |t: Ty| matches!(t, Ty::Float | Ty::Int | Ty::Bool | Ty::Any);
    let mut carried = Vec::new();
    // Only the body's own block: what nested blocks define and the reverse
    // reads, it defines again itself (the loop variables of its inner
    // loops), since with no tape it could not read it otherwise. Nor
    // constants, which are written out wherever they are used.
    let values =
        (0..ir.values.len()).filter(|v| ir.values[*v].block == body.id && !cx.is_const(*v));
    for v in values.map(|v| &ir.values[v]) {
        if named.contains(&v.name.to_string()) {
            if !scalar(v.ty) {
                return None;
            }
            carried.push(v.name.clone());
        }
    }
    for m in ir.mems.iter().filter(|m| m.block == body.id) {
        if named.contains(&m.name.to_string()) {
            if m.rank != Some(0) || !scalar(m.elem) {
                return None;
            }
            carried.push(m.name.clone());
        }
    }
    // A name bound twice in the tuple's pattern would not compile.
    let mut seen = HashSet::new();
    carried.retain(|n| seen.insert(n.to_string()));
    Some(carried)
}

/// Whether a `for` loop nested in `body` may run [`LONG_INNER_LOOP`] times
/// or more: its bounds are not literals, or they are that far apart.
fn has_long_inner_loop(ir: &Ir, body: &Block) -> bool {
    body.insts.iter().any(|inst| {
        let long = match inst {
            Inst::For { body: b, .. } => match ir.blocks[b.id].kind {
                BlockKind::For { trips: Some(t) } => t >= LONG_INNER_LOOP,
                _ => true,
            },
            _ => false,
        };
        long || children(inst)
            .into_iter()
            .any(|b| has_long_inner_loop(ir, b))
    })
}

/// Whether `body` holds nothing but straight-line code, `for` loops and
/// branches: no `while` (whose trip count the reverse reads) and no call
/// (whose pullback it holds).
fn only_loops_and_straight_code(body: &Block) -> bool {
    body.insts.iter().all(|inst| match inst {
        Inst::While { .. } | Inst::Call { .. } => false,
        _ => children(inst).into_iter().all(only_loops_and_straight_code),
    })
}
