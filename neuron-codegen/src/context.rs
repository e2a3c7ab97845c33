//! What the forward and reverse sweeps share: how a value is written, the
//! names of adjoints, and which values are carried from one sweep to the
//! other on a tape.

use crate::activity::Activity;
use crate::ir::*;
use crate::names::Names;
use crate::signature::Signature;
use proc_macro2::{TokenStream, TokenTree};
use quote::{format_ident, quote};
use std::collections::{HashMap, HashSet};
use syn::Ident;

/// Tapes larger than this many elements live on the heap, not the stack.
const MAX_STACK_TAPE: u64 = 4096;

pub struct Context<'a> {
    pub ir: &'a Ir,
    pub sig: &'a Signature,
    pub act: &'a Activity,
    pub names: &'a mut Names,
    adj_value: HashMap<ValueId, Ident>,
    adj_mem: HashMap<MemId, Ident>,
    /// Values the reverse sweep reads in a block other than the top one.
    pub taped: HashSet<ValueId>,
    /// Values the reverse sweep recomputes instead of reading a tape.
    pub recomputed: HashSet<ValueId>,
    /// How many adjoint contributions each value receives (see `reverse`).
    pub contributions: HashMap<ValueId, Contributions>,
    /// How often the reverse of a value's definition reads its adjoint.
    pub reads_of: HashMap<ValueId, usize>,
    /// Adjoints written as an expression where they are read, not bound.
    pub deferred: HashMap<ValueId, TokenStream>,
    pub tape_names: HashMap<ValueId, Ident>,
    pub counters: HashMap<BlockId, Ident>,
    /// Each `for` body: (loop variable, lower bound, runs backwards).
    loops: HashMap<BlockId, (ValueId, ValueId, bool)>,
    consts: HashMap<ValueId, TokenStream>,
    /// Unsuffixed float literals with the function's float type attached, for
    /// partials like `b.recip()` where `300.0.recip()` would not compile.
    typed_consts: HashMap<ValueId, TokenStream>,
    /// Loads from memory nothing writes, written as `x[i]` wherever used.
    reads: HashMap<ValueId, (MemId, Vec<ValueId>)>,
    /// Unwritten copies of read-only memory (`let z = logits[s];`): in the
    /// reverse sweep, where the copy is out of scope, `z[j]` is `logits[s][j]`.
    views: HashMap<MemId, (MemId, Vec<ValueId>)>,
    /// Set while the reverse sweep is generated.
    pub reverse: bool,
    pub mem_init: HashMap<MemId, &'a MemInit>,
    /// Loads from an array after the last write to it in the block that
    /// defines it: they read its final contents, so the reverse sweep can read
    /// them from the array itself (top block) or from one copy of it per
    /// iteration, instead of saving every load.
    frozen: HashSet<ValueId>,
    /// Arrays below the top block with frozen loads.
    pub frozen_mems: HashSet<MemId>,
    /// Arrays copied onto a tape once per iteration of their block.
    pub taped_mems: HashSet<MemId>,
    mem_tape_names: HashMap<MemId, Ident>,
    /// Gradients still holding their initial zero (see `FirstWrites`).
    pub first_writes: FirstWrites,
    /// Loads whose adjoint is the only contribution to the gradient
    /// elements they write (see `unique`).
    pub only_contributions: HashSet<ValueId>,
    /// Stores `m[var]` whose reverse need not reset the element's adjoint
    /// (see `unique::first_stores`), as (array, loop variable).
    pub first_stores: HashSet<(MemId, ValueId)>,
    /// Stores `m[i] = m[i] + e` whose reverse leaves `d_m[i]` as it is
    /// (see `accumulation`).
    pub accumulations: crate::accumulation::Accumulations,
    /// Local arrays the forward sweep declares before the top-level loop
    /// around them, by that loop's body (see `unique::refilled`).
    pub refilled: HashMap<BlockId, Vec<MemId>>,
    /// Adjoint elements `d_m[i]` held in a scalar in the loop whose reverse
    /// is being generated, by (array, index value `i`): an array handed from
    /// one jammed loop to the other (see `jam`), and the neighbours a fused
    /// loop carries (see `reverse::carries`).
    pub scalar_elements: HashMap<(MemId, ValueId), Ident>,
    /// Set while a jammed loop's reverse is generated in two parts (see
    /// `jam::gate`).
    pub split: Option<Split>,
    /// The part of a jammed loop's reverse that adds to a handed element's
    /// adjoint, by that adjoint's scalar: the reverse of the store of the
    /// element runs it where the gate reads it (see `jam::gate`).
    pub sunk: HashMap<String, TokenStream>,
    /// Under `skip_inactive`, a jammed next loop's reverse that runs inside
    /// the branch of the ReLU of block `.0` defining unit `.1`, if that
    /// block's reverse is gated (see `skip::scaled_by_unit`).
    pub skip_prelude: Option<(BlockId, ValueId, TokenStream)>,
    /// What the fused loop's carries need before the loop (their
    /// declarations) and after it (the last carry, added to its element).
    pub carry_edges: (TokenStream, TokenStream),
    /// Reads `m[index]` of the loop being generated (in either sweep) that
    /// go through a row slice taken before it (see `rows::row_slices`).
    pub rows: HashMap<(MemId, ValueId), Row>,
    /// The body of the top-level loop whose reverse runs inside its forward
    /// sweep, iteration by iteration (see `fuse`).
    pub fused: Option<BlockId>,
    /// That loop's reverse, once generated (see `FusedReverse`).
    pub fused_rev: Option<FusedReverse>,
    /// Every identifier of the reverse sweep, once generated (see
    /// `reverse::declare`): the forward sweep keeps the values it names.
    pub reverse_names: HashSet<String>,
    /// The array parameters' gradient accumulators with the argument of
    /// their zero (`zeros_like(w)`): `reverse::declare` may declare one at a
    /// call's block instead (see `declared_by_call`), and records it in
    /// `declared_by_calls`, so that `expand` does not declare it again.
    pub gradient_arrays: Vec<(Ident, TokenStream)>,
    pub declared_by_calls: HashSet<String>,
    /// The row slices that loop's reverse reads, until `fused_rev` is set.
    pub fused_slices: TokenStream,
    /// In the callers' sweep, the name of the pullback's mask of the
    /// arguments the caller passes with a gradient (bit `k` for argument
    /// `k`, see `__private::Active`), and whether the reverse sweep read it:
    /// an addition into an array parameter's gradient runs only if its bit
    /// is set (see `reverse::for_active_argument`).
    pub active: Option<Ident>,
    pub active_read: bool,
}

/// Which part of a loop's reverse is being generated when it is generated
/// in two (see `jam::gate`): the additions to the adjoint `scalar`, or
/// everything else.
pub struct Split {
    pub scalar: Ident,
    /// Only the additions to `scalar` (and the adjoints of the loop's own
    /// values they need); otherwise all but those.
    pub only: bool,
    /// The values the loop defines.
    pub inside: HashSet<ValueId>,
}

/// The reverse sweep of a fused loop, cut where the forward sweep takes it:
/// `before` (the reverse of the statements after the loop, which gives the
/// accumulators' adjoints, and the adjoints the loop's reverse declares) goes
/// before the loop, and `body` (one iteration's reverse) at the end of each
/// iteration.
pub struct FusedReverse {
    pub before: TokenStream,
    pub body: TokenStream,
    /// The `let`s of the row slices `body` reads, which go before the loop
    /// with the forward sweep's own (see `rows::row_slices`).
    pub slices: TokenStream,
}

/// `m[base + j]` in a loop over `j in 0..n`, read as `row[j]` from
/// `let row = &m[base..base + n];` (and its adjoint from a `&mut` slice of the
/// gradient), so the compiler sees each index is in bounds. Or `m[i]` with
/// `i` the same on every iteration, read as `m_at` from `let m_at = m[i];`
/// (`var` is then `None`, and there is no adjoint).
pub struct Row {
    pub primal: Ident,
    /// The gradient's slice; only the reverse sweep has one.
    pub adjoint: Option<Ident>,
    pub var: Option<Ident>,
    /// Where `m[base + var]` is in a slice that starts below `base`.
    pub offset: u64,
}

/// The reverse sweep starts with the function's last statements. While
/// those are straight-line code (no loop, branch or call reversed yet), a
/// parameter's gradient (`d_b`, or an element `d_x[2]`) holds its initial
/// zero until something is added to it, so that first addition can be an
/// assignment: what a person writes by hand, and one addition less (`0.0 + x`
/// cannot be folded away).
#[derive(Default)]
pub struct FirstWrites {
    /// Still in the straight-line start of the sweep.
    pub open: bool,
    /// Parameter gradients whose unwritten elements are still zero.
    pub zeroed: HashSet<String>,
    /// Targets (`d_b`, `d_x[2]`) written so far.
    written: HashSet<String>,
    /// Scalar gradients given a value unconditionally.
    pub assigned: HashSet<String>,
    /// The parameter gradients nothing had written when the fused loop's
    /// reverse began: all their elements still zero (see `close`).
    pub untouched: HashSet<String>,
}

impl FirstWrites {
    /// Whether a write to gradient `base` (at the element `index`, `None`
    /// when not known at compile time) is the first; records the write.
    pub fn first(&mut self, base: &Ident, index: Option<Vec<u64>>) -> bool {
        let base = base.to_string();
        if !self.open || !self.zeroed.contains(&base) {
            return false;
        }
        let Some(index) = index else {
            // Some element, unknown which: none is known to be zero any more.
            self.zeroed.remove(&base);
            return false;
        };
        self.written.insert(format!("{base}{index:?}"))
    }

    /// Leaves the straight-line start of the sweep; returns the gradients
    /// that no write in it reached, whose elements are all still zero.
    pub fn close(&mut self) -> HashSet<String> {
        let untouched = match self.open {
            true => self
                .zeroed
                .iter()
                .filter(|b| !self.written.iter().any(|w| w.starts_with(&format!("{b}["))))
                .cloned()
                .collect(),
            false => HashSet::new(),
        };
        self.open = false;
        untouched
    }
}

impl<'a> Context<'a> {
    /// The context of one expansion; `fused` is the body of the loop whose
    /// reverse runs inside its forward sweep, if there is one (see `fuse`).
    pub fn new(
        ir: &'a Ir,
        sig: &'a Signature,
        act: &'a Activity,
        names: &'a mut Names,
        fused: Option<BlockId>,
    ) -> Self {
        let mut c = Context {
            ir,
            sig,
            act,
            names,
            adj_value: HashMap::new(),
            adj_mem: HashMap::new(),
            taped: HashSet::new(),
            recomputed: HashSet::new(),
            contributions: HashMap::new(),
            reads_of: HashMap::new(),
            deferred: HashMap::new(),
            tape_names: HashMap::new(),
            counters: HashMap::new(),
            loops: HashMap::new(),
            consts: HashMap::new(),
            typed_consts: HashMap::new(),
            reads: HashMap::new(),
            views: HashMap::new(),
            reverse: false,
            mem_init: HashMap::new(),
            frozen: HashSet::new(),
            frozen_mems: HashSet::new(),
            taped_mems: HashSet::new(),
            first_writes: FirstWrites::default(),
            only_contributions: crate::unique::only_contributions(ir),
            first_stores: crate::unique::first_stores(ir),
            accumulations: crate::accumulation::Accumulations::default(),
            refilled: crate::unique::refilled(ir),
            scalar_elements: HashMap::new(),
            split: None,
            sunk: HashMap::new(),
            skip_prelude: None,
            carry_edges: (TokenStream::new(), TokenStream::new()),
            rows: HashMap::new(),
            mem_tape_names: HashMap::new(),
            fused,
            fused_rev: None,
            reverse_names: HashSet::new(),
            gradient_arrays: Vec::new(),
            declared_by_calls: HashSet::new(),
            fused_slices: TokenStream::new(),
            active: None,
            active_read: false,
        };
        c.find_frozen(&ir.body);
        c.index(&ir.body);
        c.accumulations = crate::accumulation::find(ir, &c.float());
        c
    }

    fn index(&mut self, b: &'a Block) {
        for inst in &b.insts {
            match inst {
                Inst::Def {
                    dst,
                    op: Op::Const(t),
                    ..
                } => {
                    let t = if t
                        .clone()
                        .into_iter()
                        .next()
                        .is_some_and(|tt| matches!(tt, TokenTree::Punct(_)))
                    {
                        quote!((#t))
                    } else {
                        t.clone()
                    };
                    if self.ir.values[*dst].ty == Ty::Float {
                        if let Some(typed) = typed_literal(&t, &self.sig.float) {
                            self.typed_consts.insert(*dst, typed);
                        }
                    }
                    self.consts.insert(*dst, t);
                }
                Inst::Init { mem, init } => {
                    self.mem_init.insert(*mem, init);
                    if let MemInit::Copy { from, index } = init {
                        if !self.ir.mems[*mem].mutated && self.readonly(*from) {
                            self.views.insert(*mem, (*from, index.clone()));
                        }
                    }
                }
                Inst::Load { dst, mem, index }
                    if self.readonly(*mem) || self.frozen.contains(dst) =>
                {
                    self.reads.insert(*dst, (*mem, index.clone()));
                }
                Inst::For {
                    var, lo, rev, body, ..
                } => {
                    self.loops.insert(body.id, (*var, *lo, *rev));
                    self.index(body)
                }
                Inst::While { cond, body, .. } => {
                    self.index(cond);
                    self.index(body);
                }
                Inst::If { then, els, .. } => {
                    self.index(then);
                    self.index(els);
                }
                _ => {}
            }
        }
    }

    /// The float type as tokens.
    pub fn float(&self) -> TokenStream {
        let f = &self.sig.float;
        quote!(#f)
    }

    fn find_frozen(&mut self, b: &Block) {
        for (i, inst) in b.insts.iter().enumerate() {
            let m = match inst {
                Inst::Init { mem, init } => {
                    // A vec! buffer is not Copy: below the top block it
                    // cannot be taped whole. The fused loop's body needs no
                    // tape: its reverse runs while the buffer is in scope.
                    let taped = b.id != 0 && self.fused != Some(b.id);
                    if taped && matches!(init, MemInit::VecRepeat { .. }) {
                        continue;
                    }
                    *mem
                }
                Inst::Call { out, .. } => *out,
                _ => continue,
            };
            let last = b
                .insts
                .iter()
                .rposition(|j| writes(j, m))
                .map_or(i, |w| w.max(i));
            let before = self.frozen.len();
            for later in &b.insts[last + 1..] {
                loads_of(later, m, &mut self.frozen);
            }
            if b.id != 0 && self.frozen.len() > before {
                self.frozen_mems.insert(m);
            }
        }
        for inst in &b.insts {
            for child in children(inst) {
                self.find_frozen(child);
            }
        }
    }

    /// The tape of an array copied once per iteration.
    pub fn mem_tape(&mut self, m: MemId) -> Ident {
        if let Some(t) = self.mem_tape_names.get(&m) {
            return t.clone();
        }
        let t = self.names.fresh(&format!("tape_{}", self.ir.mems[m].name));
        self.mem_tape_names.insert(m, t.clone());
        t
    }

    /// Memory that is never written after its definition and is in scope in
    /// both sweeps: parameters, and unwritten locals of the top block.
    pub fn readonly(&self, m: MemId) -> bool {
        let mem = &self.ir.mems[m];
        !mem.mutated
            && (matches!(mem.origin, MemOrigin::Param { .. })
                || mem.block == 0
                || self.views.contains_key(&m))
    }

    /// `m[index]` written in terms of memory in scope: through views in the reverse sweep.
    fn place(&self, m: MemId, index: &[ValueId]) -> TokenStream {
        if let Some(row) = self.row(m, index, false) {
            return row;
        }
        if self.reverse {
            if let Some((from, prefix)) = self.views.get(&m) {
                let mut all = prefix.clone();
                all.extend_from_slice(index);
                return self.place(*from, &all);
            }
        }
        let n = self.mem(m);
        let idx = self.index_path(index);
        quote!(#n #idx)
    }

    /// `row[j]` (or, for the gradient, `d_row[j]`) if `m[index]` is read
    /// through a row slice in the loop being generated.
    pub fn row(&self, m: MemId, index: &[ValueId], adjoint: bool) -> Option<TokenStream> {
        let row = match index {
            [i] => self.rows.get(&(m, *i))?,
            _ => return None,
        };
        let slice = if adjoint {
            row.adjoint.as_ref()?
        } else {
            &row.primal
        };
        // A held element has no adjoint, so only its primal gets here.
        let Some(var) = &row.var else {
            return Some(quote!(#slice));
        };
        if row.offset == 0 {
            return Some(quote!(#slice[#var]));
        }
        let offset = proc_macro2::Literal::u64_unsuffixed(row.offset);
        Some(quote!(#slice[#offset + #var]))
    }

    /// How value `v` is written: a constant or a read-only load inline,
    /// anything else by name.
    pub fn val(&self, v: ValueId) -> TokenStream {
        if self.reverse {
            if let Some(t) = self.typed_consts.get(&v) {
                return t.clone();
            }
        }
        if let Some(t) = self.consts.get(&v) {
            return t.clone();
        }
        if let Some((m, index)) = self.reads.get(&v) {
            return self.place(*m, index);
        }
        let n = &self.ir.values[v].name;
        quote!(#n)
    }

    /// Whether `v` is a read-only load written inline.
    pub fn is_read(&self, v: ValueId) -> bool {
        self.reads.contains_key(&v)
    }

    /// The element an index path names, when every index is an integer literal.
    pub fn literal_index(&self, idx: &[ValueId]) -> Option<Vec<u64>> {
        idx.iter()
            .map(|i| match syn::parse2::<syn::LitInt>(self.val(*i)) {
                Ok(lit) => lit.base10_parse().ok(),
                Err(_) => None,
            })
            .collect()
    }

    pub fn is_const(&self, v: ValueId) -> bool {
        self.consts.contains_key(&v)
    }

    pub fn mem(&self, m: MemId) -> &Ident {
        &self.ir.mems[m].name
    }

    /// An array argument of a call as written: the array, or the copy taken
    /// of it, with `&` if the caller wrote one.
    pub fn array_arg(&self, mem: MemId, by_ref: bool, snapshot: Option<ValueId>) -> TokenStream {
        let name = match snapshot {
            Some(s) => self.val(s),
            None => {
                let n = self.mem(mem);
                quote!(#n)
            }
        };
        if by_ref {
            quote!(&#name)
        } else {
            name
        }
    }

    /// `[i][j]` for an index path.
    pub fn index_path(&self, idx: &[ValueId]) -> TokenStream {
        let parts = idx.iter().map(|v| self.val(*v));
        quote!(#([#parts])*)
    }

    /// The adjoint of a value.
    pub fn adj(&mut self, v: ValueId) -> Ident {
        if let Some(a) = self.adj_value.get(&v) {
            return a.clone();
        }
        let base = format!("d_{}", self.ir.values[v].name);
        let a = self.names.fresh(&base);
        self.adj_value.insert(v, a.clone());
        a
    }

    /// The adjoint of a memory object.
    pub fn adj_mem(&mut self, m: MemId) -> Ident {
        if let Some(a) = self.adj_mem.get(&m) {
            return a.clone();
        }
        let base = format!("d_{}", self.ir.mems[m].name);
        let a = self.names.fresh(&base);
        self.adj_mem.insert(m, a.clone());
        a
    }

    /// Gives a scalar parameter's value and adjoint the same gradient name.
    pub fn set_param_adjoint(&mut self, v: Option<ValueId>, m: Option<MemId>, name: Ident) {
        if let Some(v) = v {
            self.adj_value.insert(v, name.clone());
        }
        if let Some(m) = m {
            self.adj_mem.insert(m, name);
        }
    }

    pub fn active(&self, v: ValueId) -> bool {
        self.act.value[v]
    }

    pub fn active_mem(&self, m: MemId) -> bool {
        self.act.mem[m]
    }

    /// Elements a tape of block `b` needs: fixed when every enclosing loop
    /// has literal bounds and the product is small, else `None` (a `Vec`).
    /// Inside a fused loop (see `fuse`), one iteration's worth: each
    /// iteration's reverse pops what its forward pushed.
    pub fn tape_size(&self, b: BlockId) -> Option<u64> {
        let mut size: u64 = 1;
        for (block, kind) in self.ir.enclosing(b) {
            if self.fused == Some(block) {
                break;
            }
            match kind {
                BlockKind::For { trips: Some(t) } => size = size.checked_mul(t)?,
                BlockKind::For { trips: None } | BlockKind::While | BlockKind::Cond => return None,
                BlockKind::Arm | BlockKind::Top => {}
            }
        }
        (size <= MAX_STACK_TAPE).then_some(size)
    }

    /// The names of everything the sweeps bind that is a plain scalar
    /// (`Copy`): values, scalar `let mut`s, their adjoints, tape counters.
    /// A chunk reads these by copy (see `chunk`); anything else may need
    /// to be moved.
    pub fn scalar_names(&self) -> HashSet<String> {
        let scalar = |t: Ty| matches!(t, Ty::Float | Ty::Int | Ty::Bool | Ty::Any);
        let values = self
            .ir
            .values
            .iter()
            .filter(|v| scalar(v.ty))
            .map(|v| &v.name);
        let mems = self.ir.mems.iter().enumerate();
        let mems: Vec<MemId> = mems
            .filter(|(_, m)| m.rank == Some(0) && scalar(m.elem))
            .map(|(k, _)| k)
            .collect();
        let mut out: HashSet<String> = values.map(|n| n.to_string()).collect();
        out.extend(mems.iter().map(|m| self.ir.mems[*m].name.to_string()));
        out.extend(
            mems.iter()
                .filter_map(|m| self.adj_mem.get(m))
                .map(|n| n.to_string()),
        );
        out.extend(self.adj_value.values().map(|n| n.to_string()));
        out.extend(self.counters.values().map(|n| n.to_string()));
        out
    }

    /// The types of the names the sweeps bind, where known: floats,
    /// booleans, tapes of them, tape counters, the parameters' gradients (an
    /// integer's type is left to inference). A chunk whose inputs and
    /// results all have one can be a function of its own (see `chunk`). A
    /// name bound with two types is left out.
    pub fn known_types(&self) -> HashMap<String, TokenStream> {
        let float = self.float();
        let of = |t: Ty| match t {
            Ty::Float => Some(float.clone()),
            Ty::Bool => Some(quote!(bool)),
            _ => None,
        };
        let mut typed: Vec<(&Ident, Option<TokenStream>)> = Vec::new();
        typed.extend(self.ir.values.iter().map(|v| (&v.name, of(v.ty))));
        // Arrays too, as untyped: a name an array and a float share is left out.
        for (k, m) in self.ir.mems.iter().enumerate() {
            let scalar = m.rank == Some(0);
            typed.push((&m.name, of(m.elem).filter(|_| scalar)));
            let adjoint = match m.origin {
                _ if scalar => Some(float.clone()),
                MemOrigin::Param { index, .. } => Some(self.sig.params[index].grad_ty.clone()),
                _ => None,
            };
            typed.extend(self.adj_mem.get(&k).map(|a| (a, adjoint)));
        }
        typed.extend(self.adj_value.values().map(|a| (a, Some(float.clone()))));
        typed.extend(self.counters.values().map(|c| (c, Some(quote!(usize)))));
        // Tapes of floats and booleans, as `emit::tapes` declares them.
        let tape = |elem: Option<TokenStream>, b: BlockId| {
            let elem = elem?;
            Some(match self.tape_size(b) {
                Some(n) => {
                    let n = proc_macro2::Literal::u64_unsuffixed(n);
                    quote!([#elem; #n])
                }
                None => quote!(::std::vec::Vec<#elem>),
            })
        };
        for (&v, t) in &self.tape_names {
            let value = &self.ir.values[v];
            typed.push((t, tape(of(value.ty), value.block)));
        }
        for (&m, t) in &self.mem_tape_names {
            let mem = &self.ir.mems[m];
            let scalar = mem.rank == Some(0) && mem.elem == Ty::Float;
            typed.push((t, tape(Some(float.clone()).filter(|_| scalar), mem.block)));
        }
        let mut out: HashMap<String, Option<TokenStream>> = HashMap::new();
        for (name, ty) in typed {
            let agrees = |seen: &Option<TokenStream>| {
                seen.as_ref().map(|s| s.to_string()) == ty.as_ref().map(|t| t.to_string())
            };
            match out.get(&name.to_string()) {
                Some(seen) if !agrees(seen) => out.insert(name.to_string(), None),
                _ => out.insert(name.to_string(), ty),
            };
        }
        out.into_iter().filter_map(|(n, t)| Some((n, t?))).collect()
    }

    /// Where block `b`'s tapes hold the current iteration. The body of an
    /// ascending `for` over a literal lower bound whose tapes hold exactly
    /// its iterations uses slot `var - lo`, and no counter is kept: a loop
    /// with literal bounds at the top level or directly inside a fused loop
    /// (whose tapes' fixed size the compiler sees `var - lo` is below, so
    /// the store and the load need no bounds check), and a loop up to a
    /// run-time bound with no other loop around it (its `Vec` tapes are
    /// sized to the loop before it, see `emit::value_tape_by_slot`).
    /// Ascending, because the `Vec` tapes of other values (array copies,
    /// snapshots) are pushed in iteration order and read at the same slot.
    /// Any other block counts its iterations.
    pub fn tape_slot(&mut self, b: BlockId) -> TokenStream {
        if let Some(slot) = self.loop_slot(b) {
            return slot;
        }
        let c = self.counter(b);
        quote!(#c)
    }

    /// Whether block `b` keeps an iteration counter for its tapes.
    pub fn counts(&self, b: BlockId) -> bool {
        self.loop_slot(b).is_none()
    }

    fn loop_slot(&self, b: BlockId) -> Option<TokenStream> {
        let &(var, lo, rev) = self.loops.get(&b)?;
        let [lo] = self.literal_index(&[lo])?[..] else {
            return None;
        };
        let exact = match self.ir.blocks[b].kind {
            BlockKind::For { trips: Some(trips) } => self.tape_size(b) == Some(trips),
            BlockKind::For { trips: None } => self.fused != Some(b) && self.runs_once(b),
            _ => false,
        };
        if rev || !exact {
            return None;
        }
        let var = &self.ir.values[var].name;
        Some(if lo == 0 {
            quote!(#var as usize)
        } else {
            let lo = proc_macro2::Literal::u64_unsuffixed(lo);
            quote!((#var - #lo) as usize)
        })
    }

    /// Whether the loop whose body is `b` runs once per call, or once per
    /// iteration of the fused loop (whose nested tapes start over each
    /// iteration, see `emit::clear_nested_tapes`): no loop encloses it but
    /// those.
    fn runs_once(&self, b: BlockId) -> bool {
        for (block, kind) in self.ir.enclosing(b).into_iter().skip(1) {
            if self.fused == Some(block) {
                return true;
            }
            if !matches!(kind, BlockKind::Arm | BlockKind::Top) {
                return false;
            }
        }
        true
    }

    pub fn counter(&mut self, b: BlockId) -> Ident {
        if let Some(c) = self.counters.get(&b) {
            return c.clone();
        }
        let c = self.names.fresh("tape_len");
        self.counters.insert(b, c.clone());
        c
    }

    pub fn tape(&mut self, v: ValueId) -> Ident {
        if let Some(t) = self.tape_names.get(&v) {
            return t.clone();
        }
        let t = self
            .names
            .fresh(&format!("tape_{}", self.ir.values[v].name));
        self.tape_names.insert(v, t.clone());
        t
    }

    /// The path of a helper generated for the differentiated function `func`.
    pub fn companion(func: &syn::Path, prefix: &str) -> syn::Path {
        let mut p = func.clone();
        if let Some(last) = p.segments.last_mut() {
            // Spanned on the call, so "cannot find function `__neuron_pullback_g`"
            // points at the `g(…)` that is not a differentiated function.
            last.ident = format_ident!("{}{}", prefix, last.ident, span = last.ident.span());
        }
        p
    }
}

/// `300.0` → `300.0_f64`; `None` for anything but an unsuffixed float literal.
fn typed_literal(t: &TokenStream, float: &Ident) -> Option<TokenStream> {
    let lit: syn::LitFloat = syn::parse2(t.clone()).ok()?;
    if !lit.suffix().is_empty() {
        return None;
    }
    let mut digits = lit.base10_digits().to_string();
    if digits.ends_with('.') {
        digits.push('0');
    }
    // Parsed, not built with `LitFloat::new`, which panics on text it rejects.
    let typed: syn::LitFloat = syn::parse_str(&format!("{digits}_{float}")).ok()?;
    Some(quote!(#typed))
}

/// How a value's adjoint is built.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Contributions {
    /// Nothing flows into it: its definition needs no reverse code.
    None,
    /// Exactly one contribution, in the value's own block: `let d_v = …;`.
    One,
    /// Several: `let mut d_v = 0.0;` and `d_v += …;` at each.
    Many,
}

/// The blocks an instruction holds.
pub fn children(inst: &Inst) -> Vec<&Block> {
    match inst {
        Inst::For { body, .. } => vec![body],
        Inst::While { cond, body, .. } => vec![cond, body],
        Inst::If { then, els, .. } => vec![then, els],
        _ => vec![],
    }
}

/// The memory an instruction itself uses, not the blocks it holds: what it
/// loads, stores, initialises or copies from, copies, measures, snapshots or
/// passes to a call (and the call's result).
pub fn own_mems(inst: &Inst) -> Vec<MemId> {
    match inst {
        Inst::Load { mem, .. } | Inst::Store { mem, .. } => vec![*mem],
        Inst::Init {
            mem,
            init: MemInit::Copy { from, .. },
        }
        | Inst::CopyInto { mem, from, .. } => vec![*mem, *from],
        Inst::Init { mem, .. } => vec![*mem],
        Inst::Def {
            op: Op::Len(m) | Op::Snapshot(m),
            ..
        } => vec![*m],
        Inst::Call { args, out, .. } => {
            let passed = args.iter().filter_map(|a| match a {
                Arg::Mem { mem, .. } => Some(*mem),
                Arg::Value(_) => None,
            });
            std::iter::once(*out).chain(passed).collect()
        }
        _ => Vec::new(),
    }
}

/// Every `Def` in `b` and the blocks inside it, by the value it defines.
pub fn nested_definitions(b: &Block) -> HashMap<ValueId, &Inst> {
    fn go<'a>(b: &'a Block, out: &mut HashMap<ValueId, &'a Inst>) {
        for inst in &b.insts {
            if let Inst::Def { dst, .. } = inst {
                out.insert(*dst, inst);
            }
            for c in children(inst) {
                go(c, out);
            }
        }
    }
    let mut out = HashMap::new();
    go(b, &mut out);
    out
}

/// Whether an instruction (or one nested in it) writes memory `m`.
fn writes(inst: &Inst, m: MemId) -> bool {
    match inst {
        Inst::Store { mem, .. } | Inst::CopyInto { mem, .. } => *mem == m,
        _ => children(inst)
            .iter()
            .any(|b| b.insts.iter().any(|i| writes(i, m))),
    }
}

/// The loads of `m` in an instruction and the blocks it holds.
fn loads_of(inst: &Inst, m: MemId, out: &mut HashSet<ValueId>) {
    if let Inst::Load { dst, mem, .. } = inst {
        if *mem == m {
            out.insert(*dst);
        }
    }
    for b in children(inst) {
        for i in &b.insts {
            loads_of(i, m, out);
        }
    }
}

/// Whether `ident` occurs in `ts`.
pub fn mentions(ts: &TokenStream, ident: &Ident) -> bool {
    let name = ident.to_string();
    ts.clone().into_iter().any(|tt| names(&tt, &name))
}

/// Whether `ident` occurs in `tts`.
pub fn mentions_in(tts: &[TokenTree], ident: &Ident) -> bool {
    let name = ident.to_string();
    tts.iter().any(|tt| names(tt, &name))
}

/// Whether `name` occurs in `tt`. Compared as text, made once: inside the
/// compiler, comparing two `Ident`s makes a string of each.
fn names(tt: &TokenTree, name: &str) -> bool {
    match tt {
        TokenTree::Ident(i) => i == name,
        TokenTree::Group(g) => g.stream().into_iter().any(|t| names(&t, name)),
        _ => false,
    }
}

/// How many times `ident` occurs in `ts`.
pub fn count_mentions(ts: &TokenStream, ident: &Ident) -> usize {
    fn count(ts: TokenStream, name: &str) -> usize {
        ts.into_iter()
            .map(|tt| match tt {
                TokenTree::Ident(i) => usize::from(i == name),
                TokenTree::Group(g) => count(g.stream(), name),
                _ => 0,
            })
            .sum()
    }
    count(ts.clone(), &ident.to_string())
}

/// Every identifier in `ts`.
pub fn idents(ts: &TokenStream, out: &mut HashSet<String>) {
    for tt in ts.clone() {
        match tt {
            TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            TokenTree::Group(g) => idents(&g.stream(), out),
            _ => {}
        }
    }
}
