//! Emission: the forward sweep (the primal, pushing what the reverse sweep
//! reads onto tapes) and the generated functions around both sweeps.

use crate::context::{children, mentions, Context};
use crate::ir::*;
use crate::reverse;
use crate::rows;
use crate::rules;
use crate::signature::{Param, Signature};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use std::collections::{HashMap, HashSet};

/// The forward sweep of the body, once the reverse sweep is generated: a
/// value that sweep does not mention (`Context::reverse_names`) and that is
/// used once, just after, is written inline into its use, so the forward
/// sweep reads like the source it came from.
pub fn forward(cx: &mut Context) -> TokenStream {
    let mentioned = std::mem::take(&mut cx.reverse_names);
    let mut uses = HashMap::new();
    count_uses(&cx.ir.body, &mut uses);
    let inline = plan_inlining(cx, &mentioned, uses.clone());
    let mut f = Forward {
        inline,
        exprs: HashMap::new(),
        mentioned,
        uses,
        unused: HashSet::new(),
    };
    f.block(cx, &cx.ir.body)
}

/// Operator precedence, lowest first, for parenthesising inlined operands.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Other,
    Compare,
    Add,
    Mul,
    Cast,
    Unary,
    Atom,
}

struct Forward {
    inline: HashSet<ValueId>,
    exprs: HashMap<ValueId, (TokenStream, Prec)>,
    /// The names the reverse sweep mentions.
    mentioned: HashSet<String>,
    /// How often each value is read (see `count_uses`).
    uses: HashMap<ValueId, usize>,
    /// Index values read only through row slices (see `Forward::row_only`):
    /// not written at all.
    unused: HashSet<ValueId>,
}

impl Forward {
    /// Value `v` as an operand that binds at least as tightly as `min`.
    fn operand(&self, cx: &Context, v: ValueId, min: Prec) -> TokenStream {
        if cx.is_read(v) {
            return cx.val(v);
        }
        match self.exprs.get(&v) {
            Some((t, p)) if *p < min => quote!((#t)),
            Some((t, _)) => t.clone(),
            None => cx.val(v),
        }
    }

    /// The assertion as the function wrote it, on the sweep's values.
    fn assertion(&self, cx: &Context, a: &Assertion) -> TokenStream {
        let Assertion {
            mac,
            span,
            checked,
            message,
            message_args,
        } = a;
        let checked = checked.iter().map(|v| self.operand(cx, *v, Prec::Other));
        let args = message_args.iter().map(|(name, v)| {
            let v = self.operand(cx, *v, Prec::Other);
            match name {
                Some(name) => quote!(#name = #v),
                None => v,
            }
        });
        let message = message.iter();
        quote_spanned!(*span=> #mac!(#(#checked,)* #(#message,)* #(#args),*);)
    }

    fn index_path(&self, cx: &Context, idx: &[ValueId]) -> TokenStream {
        let parts = idx.iter().map(|v| self.operand(cx, *v, Prec::Other));
        quote!(#([#parts])*)
    }

    /// Marks the index values of loop `body` that only its reads through
    /// row slices use (`t = i * 64 + j` of `w[t]`, read as `w_row[j]`), so
    /// that their `let` is not written: they are not needed, and the
    /// reverse sweep computes again what it needs of them.
    fn row_only(&mut self, cx: &Context, body: &Block) {
        let mut row_reads: HashMap<ValueId, usize> = HashMap::new();
        for inst in &body.insts {
            if let Inst::Load { dst, mem, index } = inst {
                if let [i] = index[..] {
                    if cx.is_read(*dst) && cx.rows.contains_key(&(*mem, i)) {
                        *row_reads.entry(i).or_default() += 1;
                    }
                }
            }
        }
        for (i, n) in row_reads {
            let read_back = self.mentioned.contains(&cx.ir.values[i].name.to_string())
                && !cx.recomputed.contains(&i);
            if self.uses.get(&i) == Some(&n) && !read_back && !cx.taped.contains(&i) {
                self.unused.insert(i);
            }
        }
    }

    fn block(&mut self, cx: &mut Context, b: &Block) -> TokenStream {
        let mut out = TokenStream::new();
        for inst in &b.insts {
            out.extend(self.inst(cx, inst));
            if b.id != 0 {
                out.extend(save(cx, b.id, inst));
            }
        }
        if b.id != 0 {
            for m in defined_mems(b) {
                if cx.taped_mems.contains(&m) {
                    let (t, n) = (cx.mem_tape(m), cx.mem(m).clone());
                    if mem_tape_indexed(cx, b.id, m) {
                        let c = cx.tape_slot(b.id);
                        out.extend(quote!(#t[#c] = #n;));
                    } else {
                        out.extend(quote!(#t.push(#n);));
                    }
                }
            }
        }
        if b.id != 0
            && cx.counts(b.id)
            && (reverse::defined_values(b)
                .iter()
                .any(|v| cx.taped.contains(v) && cx.ir.values[*v].ty != Ty::Pullback)
                || defined_mems(b).iter().any(|m| cx.taped_mems.contains(m)))
        {
            let c = cx.counter(b.id);
            out.extend(quote!(#c += 1;));
        }
        out
    }

    /// The right-hand side of a value definition and its precedence.
    fn rhs(&self, cx: &Context, op: &Op, args: &[ValueId]) -> Option<(TokenStream, Prec)> {
        let o = |v: ValueId, p: Prec| self.operand(cx, v, p);
        Some(match op {
            Op::Param(_) | Op::Const(_) => return None,
            Op::Rule(rule) => match rule.form {
                rules::Form::Binary(sym) => {
                    let p = if sym == "+" || sym == "-" {
                        Prec::Add
                    } else {
                        Prec::Mul
                    };
                    let a = [o(args[0], p), o(args[1], next(p))];
                    (rules::forward(rule, &a), p)
                }
                rules::Form::Neg => (
                    rules::forward(rule, &[o(args[0], Prec::Unary)]),
                    Prec::Unary,
                ),
                rules::Form::Method if cx.is_const(args[0]) => {
                    // `2.0.exp()` has an ambiguous receiver type: write `f64::exp(2.0)`.
                    let (f, m) = (cx.float(), format_ident!("{}", rule.name));
                    let a = args.iter().map(|v| o(*v, Prec::Other));
                    (quote!(#f::#m(#(#a),*)), Prec::Atom)
                }
                rules::Form::Method => {
                    let mut a = vec![o(args[0], Prec::Atom)];
                    a.extend(args[1..].iter().map(|v| o(*v, Prec::Other)));
                    (rules::forward(rule, &a), Prec::Atom)
                }
                rules::Form::Activation if args.iter().all(|v| cx.is_const(*v)) => {
                    // `relu(3.0)` alone has an ambiguous float type: name it.
                    let a = args.iter().map(|v| o(*v, Prec::Other));
                    let (f, name) = (cx.float(), format_ident!("{}", rule.name));
                    (quote!(::neuron::#name::<#f>(#(#a),*)), Prec::Atom)
                }
                rules::Form::Activation => {
                    let a: Vec<TokenStream> = args.iter().map(|v| o(*v, Prec::Other)).collect();
                    (rules::forward(rule, &a), Prec::Atom)
                }
            },
            Op::Binary(op) => {
                let p = binary_prec(op);
                // Comparisons do not chain; other operators (bitwise) get
                // parentheses around anything that is not a name.
                let (left, right) = match p {
                    Prec::Other => (Prec::Atom, Prec::Atom),
                    // `k as f64 < x` would parse as generic arguments: a cast
                    // on the left of a comparison gets parentheses.
                    Prec::Compare => (Prec::Unary, next(p)),
                    _ => (p, next(p)),
                };
                let (x, y) = (o(args[0], left), o(args[1], right));
                (quote!(#x #op #y), p)
            }
            Op::Unary(op) => {
                let x = o(args[0], Prec::Unary);
                (quote!(#op #x), Prec::Unary)
            }
            Op::Cast(ty) => {
                let x = o(args[0], Prec::Cast);
                (quote!(#x as #ty), Prec::Cast)
            }
            Op::IntMethod(m) => {
                let x = o(args[0], Prec::Atom);
                let rest = args[1..].iter().map(|v| o(*v, Prec::Other));
                (quote!(#x.#m(#(#rest),*)), Prec::Atom)
            }
            Op::Len(m) | Op::Snapshot(m) => {
                let n = cx.mem(*m);
                let idx = self.index_path(cx, args);
                if matches!(op, Op::Len(_)) {
                    (quote!(#n #idx.len()), Prec::Atom)
                } else {
                    (quote!(#n #idx), Prec::Atom)
                }
            }
        })
    }

    /// `let mut m = …;` for memory object `m`'s initialisation.
    fn init(&mut self, cx: &Context, mem: MemId, init: &MemInit) -> TokenStream {
        let m = cx.mem(mem);
        let mutability = if cx.ir.mems[mem].mutated {
            quote!(mut)
        } else {
            quote!()
        };
        let rhs = match init {
            MemInit::Verbatim(t) => t.clone(),
            MemInit::List(vs) => {
                let vs = vs.iter().map(|v| self.operand(cx, *v, Prec::Other));
                quote!([#(#vs),*])
            }
            MemInit::Copy { from, index } => {
                let f = cx.mem(*from);
                let idx = self.index_path(cx, index);
                quote!(#f #idx)
            }
            MemInit::Scalar(v) => self.operand(cx, *v, Prec::Other),
            MemInit::VecRepeat { elem, len } => {
                let n = self.operand(cx, *len, Prec::Other);
                quote!(::std::vec![#elem; #n])
            }
        };
        // The type the user wrote, or the float type of a float
        // scalar, so `t.hypot(…)` on a literal-initialised `t` is not
        // ambiguous.
        let annotation = match cx.ir.annotations.get(&mem) {
            Some(t) => quote!(: #t),
            None if cx.ir.mems[mem].elem == Ty::Float && matches!(init, MemInit::Scalar(_)) => {
                let f = cx.float();
                quote!(: #f)
            }
            None => quote!(),
        };
        quote!(let #mutability #m #annotation = #rhs;)
    }

    fn inst(&mut self, cx: &mut Context, inst: &Inst) -> TokenStream {
        match inst {
            Inst::Def { dst, .. } if self.unused.contains(dst) => quote!(),
            Inst::Def { dst, op, args } => {
                let Some((rhs, prec)) = self.rhs(cx, op, args) else {
                    return quote!();
                };
                if self.inline.contains(dst) {
                    self.exprs.insert(*dst, (rhs, prec));
                    return quote!();
                }
                let name = &cx.ir.values[*dst].name;
                quote!(let #name = #rhs;)
            }
            Inst::Load { dst, .. } if cx.is_read(*dst) => quote!(),
            Inst::Load { dst, mem, index } => {
                let m = cx.mem(*mem);
                let idx = self.index_path(cx, index);
                if self.inline.contains(dst) {
                    self.exprs.insert(*dst, (quote!(#m #idx), Prec::Atom));
                    return quote!();
                }
                let name = &cx.ir.values[*dst].name;
                quote!(let #name = #m #idx;)
            }
            Inst::Store { mem, index, src } => {
                let m = cx.mem(*mem);
                let idx = self.index_path(cx, index);
                let v = self.operand(cx, *src, Prec::Other);
                quote!(#m #idx = #v;)
            }
            Inst::CopyInto {
                mem,
                index,
                from,
                from_index,
            } => {
                let (m, f) = (cx.mem(*mem), cx.mem(*from));
                let (idx, fidx) = (self.index_path(cx, index), self.index_path(cx, from_index));
                quote!(#m #idx = #f #fidx;)
            }
            // Declared before the top-level loop around it (see `Inst::For`).
            Inst::Init { mem, .. } if cx.refilled.values().any(|ms| ms.contains(mem)) => quote!(),
            Inst::Init { mem, init } => self.init(cx, *mem, init),
            Inst::For {
                var,
                lo,
                hi,
                inclusive,
                rev,
                body,
            } => {
                let sweep = rows::RowSweep::Forward;
                let rows = rows::row_slices(cx, *var, *lo, *hi, *inclusive, body, sweep);
                self.row_only(cx, body);
                let runs = rows::guard(cx, *hi);
                let bound = *hi;
                let (lo, hi) = (
                    self.operand(cx, *lo, Prec::Cast),
                    self.operand(cx, *hi, Prec::Cast),
                );
                let mut inner = self.block(cx, body);
                let mut slices = rows::take_rows(cx, rows, &inner);
                let mut before = TokenStream::new();
                // What goes right before and after the loop when the fused
                // reverse runs an iteration late (see `fuse::lag`).
                let (mut lag_start, mut lag_end) = (TokenStream::new(), TokenStream::new());
                if cx.fused == Some(body.id) {
                    if let Some(fused) = cx.fused_rev.take() {
                        before = fused.before;
                        slices.extend(fused.slices);
                        match crate::fuse::lag(cx, body, &fused.body) {
                            Some(carried) => {
                                let lagged = cx.names.fresh("lagged");
                                let rev = &fused.body;
                                let tuple = quote!((#(#carried,)*));
                                let some = quote!(::core::option::Option::Some);
                                // `replace` before the pattern, so that the
                                // compiler knows the tuple's types there.
                                inner.extend(quote! {
                                    if let #some(#tuple) = #lagged.replace(#tuple) { #rev }
                                });
                                lag_start = quote!(let mut #lagged = ::core::option::Option::None;);
                                lag_end = quote!(if let #some(#tuple) = #lagged { #rev });
                            }
                            None => inner.extend(fused.body),
                        }
                        inner.extend(clear_nested_tapes(cx, body.id));
                    }
                }
                // The slices of a loop whose bound is not a literal are
                // taken only if it runs (see `rows::guard`), and read
                // the bound by name: one written inline is named first.
                let (runs, hi) = match runs {
                    Some(runs) if !slices.is_empty() => {
                        if self.exprs.contains_key(&bound) {
                            let name = &cx.ir.values[bound].name;
                            let value = self.operand(cx, bound, Prec::Other);
                            before.extend(quote!(let #name = #value;));
                            (Some(runs), quote!(#name))
                        } else {
                            (Some(runs), hi)
                        }
                    }
                    _ => (None, hi),
                };
                let range = if *inclusive {
                    quote!(#lo..=#hi)
                } else {
                    quote!(#lo..#hi)
                };
                let reserve = reserve(cx, body, &range);
                let range = if *rev { quote!((#range).rev()) } else { range };
                let name = &cx.ir.values[*var].name;
                let var = if mentions(&inner, name) {
                    quote!(#name)
                } else {
                    quote!(_)
                };
                let Some(refilled) = cx.refilled.get(&body.id) else {
                    if slices.is_empty() && lag_start.is_empty() {
                        return quote!(#before #reserve for #var in #range { #inner });
                    }
                    // One statement, as in the reverse sweep: `chunk` must
                    // not put a slice in another chunk than its loop.
                    let the_loop =
                        quote!(#slices #lag_start for #var in #range { #inner } #lag_end);
                    let the_loop = rows::guarded(runs, the_loop);
                    return quote!(#before #reserve #the_loop);
                };
                // Arrays each iteration overwrites whole before reading:
                // zero-filled once, in a block of their own so that the
                // chunker keeps them with the loop.
                let lets: TokenStream = refilled
                    .iter()
                    .map(|m| match init_of(&cx.ir.body, *m) {
                        Some(init) => self.init(cx, *m, init),
                        None => quote!(),
                    })
                    .collect();
                let the_loop = quote!(#lets #slices for #var in #range { #inner });
                let the_loop = rows::guarded(runs, the_loop);
                quote!(#before #reserve #the_loop)
            }
            Inst::While {
                cond,
                cond_value,
                body,
                count,
            } => {
                let c = self.block(cx, cond);
                let cv = self.operand(cx, *cond_value, Prec::Other);
                let inner = self.block(cx, body);
                let n = &cx.ir.values[*count].name;
                quote! {
                    let mut #n = 0usize;
                    while { #c #cv } {
                        #inner
                        #n += 1;
                    }
                }
            }
            Inst::If { cond, then, els } => {
                let c = self.operand(cx, *cond, Prec::Other);
                let t = self.block(cx, then);
                let e = self.block(cx, els);
                if e.is_empty() {
                    quote!(if #c { #t })
                } else {
                    quote!(if #c { #t } else { #e })
                }
            }
            Inst::Assert(a) => self.assertion(cx, a),
            Inst::Call {
                func,
                args: call_args,
                out,
                pullback,
            } => {
                let o = cx.mem(*out).clone();
                let args: Vec<TokenStream> = call_args
                    .iter()
                    .map(|a| match a {
                        Arg::Value(v) => self.operand(cx, *v, Prec::Other),
                        Arg::Mem {
                            mem,
                            by_ref,
                            snapshot,
                        } => cx.array_arg(*mem, *by_ref, *snapshot),
                    })
                    .collect();
                if !cx.active_mem(*out) {
                    return quote!(let #o = #func(#(#args),*););
                }
                let pb = &cx.ir.values[*pullback].name;
                // Which arguments have a gradient here, for the callee to
                // leave out the gradients no one reads (see `Active`).
                let mut mask: u64 = 0;
                for (k, a) in call_args
                    .iter()
                    .enumerate()
                    .take(crate::signature::MASK_BITS)
                {
                    let active = match a {
                        Arg::Value(v) => cx.active(*v),
                        Arg::Mem { mem, .. } => cx.active_mem(*mem),
                    };
                    mask |= u64::from(active) << k;
                }
                let mask = proc_macro2::Literal::u64_suffixed(mask);
                let active = quote!(::neuron::__private::Active::<#mask>);
                if self_call(cx, func) {
                    // Its own pullback type cannot be inside it: boxed, and
                    // applied by `reverse` directly.
                    let forward = Context::companion(func, "__neuron_forward_");
                    let boxed = boxed_pullback(cx, pb);
                    let active = cx.sig.takes_mask().then(|| quote!(#active,));
                    return quote!(let (#o, #pb) = #forward(#active #(#args),*); #boxed);
                }
                let call = Context::companion(func, "__neuron_call_");
                quote!(let (#o, #pb) = #call(#active, #(#args),*);)
            }
        }
    }
}

/// The initialisation of memory object `m`, wherever in `b` it is.
fn init_of(b: &Block, m: MemId) -> Option<&MemInit> {
    b.insts.iter().find_map(|inst| match inst {
        Inst::Init { mem, init } if *mem == m => Some(init),
        _ => children(inst).into_iter().find_map(|c| init_of(c, m)),
    })
}

/// Whether a call is the function calling itself by name.
pub(crate) fn self_call(cx: &Context, func: &syn::Path) -> bool {
    func.leading_colon.is_none()
        && func.segments.len() == 1
        && func.segments[0].ident == cx.sig.name
}

/// A recursive call's pullback, boxed: the pullback type of a function
/// cannot contain itself.
fn boxed_pullback(cx: &Context, pb: &syn::Ident) -> TokenStream {
    let bound = cx.sig.pullback_bound(&|p| p.differentiable());
    quote!(let #pb: ::std::boxed::Box<dyn #bound> = ::std::boxed::Box::new(#pb);)
}

/// Memory objects defined directly in `b`.
fn defined_mems(b: &Block) -> Vec<MemId> {
    b.insts
        .iter()
        .filter_map(|i| match i {
            Inst::Init { mem, .. } => Some(*mem),
            Inst::Call { out, .. } => Some(*out),
            _ => None,
        })
        .collect()
}

/// `tape.reserve(n)` before a loop for each heap tape its body pushes to,
/// so a runtime-bounded loop allocates once rather than growing, and
/// `tape.resize(n, zero)` for each it writes at the loop's slot (see
/// `sized_tape`).
fn reserve(cx: &mut Context, body: &Block, range: &TokenStream) -> TokenStream {
    if cx.tape_size(body.id).is_some() {
        return quote!();
    }
    let mut out = TokenStream::new();
    for v in reverse::defined_values(body) {
        if cx.taped.contains(&v) {
            let t = cx.tape(v);
            let ty = cx.ir.values[v].ty;
            out.extend(match value_tape_by_slot(cx, body.id, ty) {
                Some(zero) => sized_tape(cx, &t, range, &zero),
                None => quote!(#t.reserve((#range).size_hint().0);),
            });
        }
    }
    for m in defined_mems(body) {
        if cx.taped_mems.contains(&m) {
            let t = cx.mem_tape(m);
            out.extend(match mem_tape_by_slot(cx, body.id, m) {
                true => sized_tape(cx, &t, range, &quote!(0.0)),
                false => quote!(#t.reserve((#range).size_hint().0);),
            });
        }
    }
    out
}

/// `tape.resize(n, zero)` for a tape the loop over `range` writes at its
/// slot. In a fused function the tape is then borrowed as a slice of exactly
/// `n` under the same name, `let tape = &mut tape[..n];`, for the rest of
/// the block: the loop's slot is below `n`, so its stores and the reverse's
/// loads need no bounds check, which a `Vec`'s length (reloaded after each
/// store, since it could have changed) would keep. With the checks, the
/// network with run-time sizes took 1.2 to 1.4 times as long as the same
/// backward pass written by hand (`hand_ieee_sized`); without, 1.04. A
/// pullback closure owns its tapes, so it cannot keep such a borrow.
fn sized_tape(
    cx: &Context,
    t: &syn::Ident,
    range: &TokenStream,
    zero: &TokenStream,
) -> TokenStream {
    let n = quote!((#range).size_hint().0);
    let resize = quote!(#t.resize(#n, #zero););
    match cx.fused {
        Some(_) => quote!(#resize let #t = &mut #t[..#n];),
        None => resize,
    }
}

/// A tape's initial value. A known trip count sizes it once: an element with
/// a zero (a float, an integer, a bool) on the stack, any other (an array) in
/// one allocation instead of growing push by push.
fn tape_init(size: Option<u64>, zero: Option<TokenStream>) -> TokenStream {
    match (size, zero) {
        (Some(n), Some(z)) => {
            let n = n as usize;
            quote!([#z; #n])
        }
        (Some(n), None) => {
            let n = n as usize;
            quote!(::std::vec::Vec::with_capacity(#n))
        }
        (None, _) => quote!(::std::vec::Vec::new()),
    }
}

/// Whether memory object `m` is a single float (`let mut z = 0.0;`).
fn scalar_float(cx: &Context, m: MemId) -> bool {
    let mem = &cx.ir.mems[m];
    mem.rank == Some(0) && mem.elem == Ty::Float
}

/// Pushes the value an instruction defined, if the reverse sweep reads it.
fn save(cx: &mut Context, b: BlockId, inst: &Inst) -> TokenStream {
    let dst = match inst {
        Inst::Def { dst, .. } | Inst::Load { dst, .. } => *dst,
        Inst::While { count, .. } => *count,
        Inst::Call { pullback, .. } => *pullback,
        _ => return quote!(),
    };
    if !cx.taped.contains(&dst) {
        return quote!();
    }
    let t = cx.tape(dst);
    let v = &cx.ir.values[dst].name;
    if value_tape_indexed(cx, b, cx.ir.values[dst].ty) {
        let c = cx.tape_slot(b);
        quote!(#t[#c] = #v;)
    } else {
        quote!(#t.push(#v);)
    }
}

/// The zero a `Vec` tape of block `b` for values of type `ty` is sized with
/// before the loop, if it is written at the loop's slot (see
/// `Context::tape_slot`) rather than pushed to: a loop up to a run-time
/// bound that runs once per call or per fused iteration. A push keeps the
/// length in memory and checks the capacity on every iteration; a store at
/// the slot of a tape of the loop's length does neither.
fn value_tape_by_slot(cx: &Context, b: BlockId, ty: Ty) -> Option<TokenStream> {
    if cx.tape_size(b).is_some() || cx.counts(b) {
        return None;
    }
    zero(ty)
}

/// The zero a tape of values of type `ty` is filled with before it is
/// written, if the type has one.
fn zero(ty: Ty) -> Option<TokenStream> {
    match ty {
        Ty::Float | Ty::Any => Some(quote!(0.0)),
        Ty::Int => Some(quote!(0)),
        Ty::Bool => Some(quote!(false)),
        Ty::Snapshot | Ty::Pullback => None,
    }
}

/// Whether the tape of block `b` for values of type `ty` is a fixed-size
/// array written and read at the block's counter; otherwise it is a `Vec`
/// (see [`value_tape_indexed`]).
fn value_tape_by_counter(cx: &Context, b: BlockId, ty: Ty) -> bool {
    cx.tape_size(b).is_some() && !matches!(ty, Ty::Snapshot | Ty::Pullback)
}

/// Whether the tape of block `b` for values of type `ty` is written at an
/// index (`Context::tape_slot`): a fixed-size array, or a `Vec` sized before
/// its loop; otherwise it is a `Vec` pushed to (and read by counter, or
/// popped for pullbacks).
fn value_tape_indexed(cx: &Context, b: BlockId, ty: Ty) -> bool {
    value_tape_by_counter(cx, b, ty) || value_tape_by_slot(cx, b, ty).is_some()
}

/// The same for the per-iteration copies of memory object `m`, defined in `b`.
fn mem_tape_by_counter(cx: &Context, b: BlockId, m: MemId) -> bool {
    cx.tape_size(b).is_some() && scalar_float(cx, m)
}

/// Whether the tape of memory object `m`, defined in `b`, is a `Vec` sized
/// before its loop and written at the slot, as a value's (see
/// [`value_tape_by_slot`]): a single float (`let mut z`) in a loop that
/// runs once per call or per fused iteration.
fn mem_tape_by_slot(cx: &Context, b: BlockId, m: MemId) -> bool {
    cx.tape_size(b).is_none() && !cx.counts(b) && scalar_float(cx, m)
}

/// Whether the tape of memory object `m`, defined in `b`, is written at an
/// index, as [`value_tape_indexed`] is for values.
fn mem_tape_indexed(cx: &Context, b: BlockId, m: MemId) -> bool {
    mem_tape_by_counter(cx, b, m) || mem_tape_by_slot(cx, b, m)
}

fn next(p: Prec) -> Prec {
    match p {
        Prec::Other => Prec::Compare,
        Prec::Compare => Prec::Add,
        Prec::Add => Prec::Mul,
        Prec::Mul => Prec::Cast,
        Prec::Cast => Prec::Unary,
        Prec::Unary | Prec::Atom => Prec::Atom,
    }
}

fn binary_prec(op: &syn::BinOp) -> Prec {
    use syn::BinOp::*;
    match op {
        Add(_) | Sub(_) => Prec::Add,
        Mul(_) | Div(_) | Rem(_) => Prec::Mul,
        Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_) => Prec::Compare,
        _ => Prec::Other,
    }
}

/// The values written inline: defined by a pure instruction, used exactly
/// once by a later instruction of the same block, not read by the reverse
/// sweep (whose names are `mentioned`), and (for loads) with no write to
/// the memory they read in between. `uses` is `count_uses` of the body.
fn plan_inlining(
    cx: &Context,
    mentioned: &HashSet<String>,
    mut uses: HashMap<ValueId, usize>,
) -> HashSet<ValueId> {
    // A read-only load is written out at each use, so its indices must stay named.
    pin_read_indices(cx, &cx.ir.body, &mut uses);
    if let Output::Value(v) = cx.ir.output {
        *uses.entry(v).or_default() += 2;
    }
    let mut inline = HashSet::new();
    plan_block(cx, &cx.ir.body, &uses, mentioned, &mut inline);
    inline
}

fn plan_block(
    cx: &Context,
    b: &Block,
    uses: &HashMap<ValueId, usize>,
    mentioned: &HashSet<String>,
    inline: &mut HashSet<ValueId>,
) {
    // Where each value is first used, and which instructions may write memory.
    let mut first_use: HashMap<ValueId, usize> = HashMap::new();
    let mut barriers = Vec::new();
    for (j, inst) in b.insts.iter().enumerate() {
        for v in operands(inst) {
            first_use.entry(v).or_insert(j);
        }
        if writes_any(inst, &HashSet::from([usize::MAX]))
            || matches!(inst, Inst::Store { .. } | Inst::CopyInto { .. })
        {
            barriers.push(j);
        }
    }
    // Memory each inlined expression reads, to stop a load moving past a store.
    let mut reads: HashMap<ValueId, HashSet<MemId>> = HashMap::new();
    for (i, inst) in b.insts.iter().enumerate() {
        for child in children(inst) {
            plan_block(cx, child, uses, mentioned, inline);
        }
        let (dst, mut read) = match inst {
            Inst::Def { dst, op, args }
                if !matches!(op, Op::Param(_) | Op::Const(_) | Op::Snapshot(_)) =>
            {
                let mut r = HashSet::new();
                if let Op::Len(m) = op {
                    r.insert(*m);
                }
                for a in args {
                    r.extend(reads.get(a).cloned().unwrap_or_default());
                }
                (*dst, r)
            }
            Inst::Load { dst, mem, index } => {
                let mut r: HashSet<MemId> = HashSet::from([*mem]);
                for a in index {
                    r.extend(reads.get(a).cloned().unwrap_or_default());
                }
                (*dst, r)
            }
            _ => continue,
        };
        let read_back = mentioned.contains(&cx.ir.values[dst].name.to_string())
            && !cx.recomputed.contains(&dst);
        if uses.get(&dst).copied() != Some(1) || read_back || cx.taped.contains(&dst) {
            continue;
        }
        let Some(&j) = first_use.get(&dst).filter(|j| **j > i) else {
            continue;
        };
        let start = barriers.partition_point(|k| *k <= i);
        let blocked = barriers[start..]
            .iter()
            .take_while(|k| **k < j)
            .any(|k| writes_any(&b.insts[*k], &read));
        if !blocked {
            inline.insert(dst);
            reads.insert(dst, std::mem::take(&mut read));
        }
    }
}

/// Whether an instruction may write any of `mems` (calls and nested blocks
/// are taken to write everything they could reach).
fn writes_any(inst: &Inst, mems: &HashSet<MemId>) -> bool {
    if mems.is_empty() {
        return false;
    }
    match inst {
        Inst::Store { mem, .. } | Inst::CopyInto { mem, .. } => mems.contains(mem),
        Inst::Call { .. } | Inst::For { .. } | Inst::While { .. } | Inst::If { .. } => true,
        _ => false,
    }
}

/// The values an instruction reads directly (not in nested blocks).
pub(crate) fn operands(inst: &Inst) -> Vec<ValueId> {
    match inst {
        Inst::Def { args, op, .. } => {
            if matches!(op, Op::Const(_) | Op::Param(_)) {
                vec![]
            } else {
                args.clone()
            }
        }
        Inst::Load { index, .. } => index.clone(),
        Inst::Store { index, src, .. } => {
            let mut v = index.clone();
            v.push(*src);
            v
        }
        Inst::Init { init, .. } => match init {
            MemInit::Verbatim(_) => vec![],
            MemInit::List(vs) => vs.clone(),
            MemInit::Copy { index, .. } => index.clone(),
            MemInit::Scalar(v) => vec![*v],
            MemInit::VecRepeat { len, .. } => vec![*len],
        },
        Inst::CopyInto {
            index, from_index, ..
        } => {
            let mut v = index.clone();
            v.extend_from_slice(from_index);
            v
        }
        Inst::For { lo, hi, .. } => vec![*lo, *hi],
        Inst::While { .. } => vec![],
        Inst::If { cond, .. } => vec![*cond],
        Inst::Assert(a) => a.operands(),
        Inst::Call { args, .. } => args
            .iter()
            .filter_map(|a| match a {
                Arg::Value(v) => Some(*v),
                Arg::Mem { snapshot, .. } => *snapshot,
            })
            .collect(),
    }
}

fn pin_read_indices(cx: &Context, b: &Block, uses: &mut HashMap<ValueId, usize>) {
    for inst in &b.insts {
        if let Inst::Load { dst, index, .. } = inst {
            if cx.is_read(*dst) {
                for v in index {
                    *uses.entry(*v).or_default() += 2;
                }
            }
        }
        for child in children(inst) {
            pin_read_indices(cx, child, uses);
        }
    }
}

/// How often each value is read, nested blocks included.
pub fn count_uses(b: &Block, uses: &mut HashMap<ValueId, usize>) {
    for inst in &b.insts {
        for v in operands(inst) {
            *uses.entry(v).or_default() += 1;
        }
        if let Inst::While { cond_value, .. } = inst {
            *uses.entry(*cond_value).or_default() += 2;
        }
        for child in children(inst) {
            count_uses(child, uses);
        }
    }
}

/// The end of a fused iteration (see `fuse`): the `Vec` tapes of the loops
/// and branches inside it, which the forward sweep pushes to and the reverse
/// sweep reads by counter, are emptied, so the next iteration's pushes start
/// where its counters do. (Fixed-size tapes are written by counter, and
/// pullbacks are popped, so those start over by themselves.)
fn clear_nested_tapes(cx: &mut Context, fused: BlockId) -> TokenStream {
    let nested = |cx: &Context, b: BlockId| b != fused && crate::fuse::inside(cx.ir, b, fused);
    let mut values: Vec<ValueId> = cx.taped.iter().copied().collect();
    values.sort_unstable();
    let mut out = TokenStream::new();
    for v in values {
        let (b, ty) = (cx.ir.values[v].block, cx.ir.values[v].ty);
        // A tape written at an index starts over by itself: a `Vec` one is
        // sized again by the next iteration (see `value_tape_by_slot`).
        if nested(cx, b) && ty != Ty::Pullback && !value_tape_indexed(cx, b, ty) {
            let t = cx.tape(v);
            out.extend(quote!(#t.clear();));
        }
    }
    let mut mems: Vec<MemId> = cx.taped_mems.iter().copied().collect();
    mems.sort_unstable();
    for m in mems {
        let b = cx.ir.mems[m].block;
        if nested(cx, b) && !mem_tape_indexed(cx, b, m) {
            let t = cx.mem_tape(m);
            out.extend(quote!(#t.clear();));
        }
    }
    out
}

/// Declarations of the tapes and their counters, before the forward sweep.
pub fn tapes(cx: &mut Context) -> TokenStream {
    let mut out = TokenStream::new();
    let mut taped: Vec<ValueId> = cx.taped.iter().copied().collect();
    taped.sort_unstable();
    let mut blocks = Vec::new();
    for v in taped {
        let value = &cx.ir.values[v];
        let b = value.block;
        let zero = zero(value.ty);
        let t = cx.tape(v);
        let init = tape_init(cx.tape_size(b), zero);
        out.extend(quote!(let mut #t = #init;));
        if !blocks.contains(&b) {
            blocks.push(b);
        }
    }
    let mut mems: Vec<MemId> = cx.taped_mems.iter().copied().collect();
    mems.sort_unstable();
    for m in mems {
        let t = cx.mem_tape(m);
        let b = cx.ir.mems[m].block;
        let init = tape_init(cx.tape_size(b), scalar_float(cx, m).then(|| quote!(0.0)));
        out.extend(quote!(let mut #t = #init;));
        if !blocks.contains(&b) {
            blocks.push(b);
        }
    }
    for b in blocks {
        if cx.counts(b) {
            let c = cx.counter(b);
            out.extend(quote!(let mut #c = 0usize;));
        }
    }
    out
}

/// The body of `__neuron_forward_NAME`, the sweeps callers use, and the
/// name of the generic parameter telling which arguments the caller passes
/// with a gradient (see `__private::Active`): `__neuron_call_NAME` takes it,
/// and passes it on to `__neuron_forward_NAME` if `masked`
/// (`Signature::takes_mask`).
pub struct Callers {
    pub body: TokenStream,
    pub mask: syn::Ident,
    pub masked: bool,
}

/// The body of a function that runs the forward and the reverse sweep with
/// a loop fused (see `fuse`), and the name of its `d_output` parameter.
pub struct Fused {
    pub body: TokenStream,
    pub d_output: syn::Ident,
}

/// The generated items: `NAME_backward`, `NAME_value_and_backward`, and the
/// hidden items calls from other differentiated functions use. With `fused`,
/// the first two call `__neuron_fused_NAME` instead of a forward sweep and
/// its pullback; else with `own` (sweeps without the `#[no_grad]`
/// parameters' gradients), `__neuron_backward_NAME`'s.
pub fn items(
    item: &syn::ItemFn,
    sig: &Signature,
    reserved: &crate::names::Names,
    callers: Callers,
    own: Option<TokenStream>,
    fused: Option<Fused>,
    d_output: &syn::Ident,
) -> TokenStream {
    let vis = &item.vis;
    let name = &item.sig.ident;
    let generics = &item.sig.generics;
    let out_ty = &sig.output;
    let backward = format_ident!("{}_backward", name);
    let value_and = format_ident!("{}_value_and_backward", name);
    let forward = format_ident!("__neuron_forward_{}", name);
    let own_name = format_ident!("__neuron_backward_{}", name);
    let params: Vec<TokenStream> = sig.params.iter().map(declared).collect();
    let names: Vec<&syn::Ident> = sig.params.iter().map(|p| &p.name).collect();
    let borrowed: Vec<&syn::Ident> = sig.borrowed().map(|p| &p.name).collect();
    let grad_idx: Vec<syn::Index> = sig
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.grad)
        .map(|(i, _)| syn::Index::from(i))
        .collect();
    let grad_tys: Vec<&TokenStream> = sig
        .params
        .iter()
        .filter(|p| p.grad)
        .map(|p| &p.grad_ty)
        .collect();
    // Fresh names: a parameter called `value` or `grads` is passed again
    // after these are bound.
    let mut fresh = reserved.clone();
    let (pullback, value, grads) = (
        fresh.fresh("pullback"),
        fresh.fresh("value"),
        fresh.fresh("grads"),
    );
    let (g_ty, g_val) = if grad_tys.len() == 1 {
        let (t, i) = (grad_tys[0], &grad_idx[0]);
        (quote!(#t), quote!(#grads.#i))
    } else {
        (quote!((#(#grad_tys),*)), quote!((#(#grads.#grad_idx),*)))
    };
    let doc_back = format!(
        "Backward pass of [`{name}`], generated by `#[differentiate]`: the gradient of \
         `d_output · {name}(…)` with respect to each float parameter, in declaration order."
    );
    let doc_value = format!(
        "The value of [`{name}`] and its backward pass ([`{backward}`]) from one forward sweep."
    );
    let callers_fns = hidden(
        item,
        sig,
        reserved,
        &forward,
        own.is_some().then_some(&own_name),
        &callers,
    );
    // The callers' sweep computes every gradient for `NAME_backward`.
    let (wrapped, marker, own_fn) = match own {
        Some(own) => (
            own_name.clone(),
            quote!(),
            forward_fn(item, sig, &own_name, &|p| p.grad, &own, None),
        ),
        None => (
            forward.clone(),
            match callers.masked {
                true => quote!(::neuron::__private::Active::<{ u64::MAX }>,),
                false => quote!(),
            },
            quote!(),
        ),
    };
    // Both run the sweeps and return the value and the gradients.
    let (sweeps, fused_fn) = match fused {
        Some(f) => {
            let fused_name = format_ident!("__neuron_fused_{}", name);
            let sweeps = quote!(let (#value, #grads) = #fused_name(#(#names,)* #d_output););
            (sweeps, fused_fn(item, sig, &fused_name, &f))
        }
        None => {
            let sweeps = quote! {
                let (#value, #pullback) = #wrapped(#marker #(#names,)*);
                let #grads = #pullback(#(#borrowed,)* #d_output);
            };
            (sweeps, quote!())
        }
    };
    quote! {
        #[doc = #doc_back]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        #[allow(dead_code)]
        #vis fn #backward #generics (#(#params,)* #d_output: #out_ty) -> #g_ty {
            // A use of the forward function, so a crate that only calls the
            // backward pass is not told the forward one is never used.
            let _ = #name;
            #sweeps
            let _ = #value;
            #g_val
        }

        #[doc = #doc_value]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        #[allow(dead_code)]
        #vis fn #value_and #generics (#(#params,)* #d_output: #out_ty) -> (#out_ty, #g_ty) {
            let _ = #name;
            #sweeps
            (#value, #g_val)
        }

        #callers_fns
        #own_fn
        #fused_fn
    }
}

/// A parameter as declared: `x: &[f64]`.
fn declared(p: &Param) -> TokenStream {
    let (n, t) = (&p.name, &p.ty);
    quote!(#n: #t)
}

/// Attributes of the hidden items: not documented, inlined (so a backward
/// pass that drops the value lets the compiler delete what only the value
/// needed), and quiet about the shapes generated code takes.
fn hidden_attributes() -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[inline]
        #[allow(
            dead_code, unused_mut, unused_variables, unused_assignments, unused_parens, non_snake_case,
            clippy::all, clippy::pedantic, clippy::nursery, clippy::too_many_arguments
        )]
    }
}

/// What a call from another differentiated function uses:
/// `__neuron_call_NAME` (the value and the pullback, told which arguments
/// have a gradient in the caller), `__neuron_reverse_NAME` (the pullback
/// applied, with the call's arguments again) and `__neuron_Output_NAME`
/// (the output type, for a zero adjoint). The pullback is
/// `__neuron_forward_NAME`'s, or, with `own` (the sweeps without the
/// `#[no_grad]` parameters' gradients), a `Pullback` of either (see
/// [`either_pullback`]).
fn hidden(
    item: &syn::ItemFn,
    sig: &Signature,
    reserved: &crate::names::Names,
    forward: &syn::Ident,
    own: Option<&syn::Ident>,
    callers: &Callers,
) -> TokenStream {
    let (vis, name, out_ty) = (&item.vis, &item.sig.ident, &sig.output);
    let all = |p: &Param| p.differentiable();
    let reverse = format_ident!("__neuron_reverse_{}", name);
    let call = format_ident!("__neuron_call_{}", name);
    let output_alias = format_ident!("__neuron_Output_{}", name);
    let mask = &callers.mask;
    let masked = callers.masked.then_some(mask);
    let forward_fn = forward_fn(item, sig, forward, &all, &callers.body, masked);
    let n = EntryNames::new(reserved);
    // A caller passes every argument again: `()` for a scalar value, each
    // array (or call result) as it was passed. Only the borrowed ones are used.
    let params = sig.params.iter().map(|p| {
        if p.borrowed() {
            declared(p)
        } else {
            quote!(_: impl ::core::marker::Sized)
        }
    });
    let declared_params = sig.params.iter().map(declared);
    // The pullback's type depends on the function's const generics and on
    // the caller's mask of active arguments.
    let mut consts: Vec<&syn::Ident> = item.sig.generics.const_params().map(|c| &c.ident).collect();
    consts.push(mask);
    let entry = match own {
        None => one_pullback(sig, forward, masked, &consts, &n),
        Some(own) => either_pullback(sig, forward, own, mask, masked, &consts, &n),
    };
    // The function's own generic parameters, then the pullback's types
    // (built as tokens: parsing could fail, and the macro must not panic).
    let own_generics: Vec<TokenStream> = item
        .sig
        .generics
        .params
        .iter()
        .map(|g| quote!(#g))
        .collect();
    let generics = own_generics.iter().cloned().chain(entry.generics);
    let result = sig.grads(&all);
    let (pullback, d_output) = (&n.pullback, &n.d_output);
    let (call_ty, call_body) = (&entry.call_ty, &entry.call_body);
    let (reverse_ty, reverse_body) = (&entry.reverse_ty, &entry.reverse_body);
    let attrs = hidden_attributes();
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis type #output_alias = #out_ty;

        #forward_fn

        #attrs
        #vis fn #call <#(#own_generics,)* const #mask: u64> (
            _: ::neuron::__private::Active<#mask>,
            #(#declared_params,)*
        ) -> (#out_ty, #call_ty) {
            #call_body
        }

        #attrs
        #vis fn #reverse <#(#generics),*> (#pullback: #reverse_ty, #(#params,)* #d_output: #out_ty) -> (#(#result,)*) {
            #reverse_body
        }
    }
}

/// The names the callers' entry points bind, fresh against the function's.
struct EntryNames {
    pullback: syn::Ident,
    d_output: syn::Ident,
    f: syn::Ident,
    g: syn::Ident,
    value: syn::Ident,
    grads: syn::Ident,
}

impl EntryNames {
    fn new(reserved: &crate::names::Names) -> EntryNames {
        let mut fresh = reserved.clone();
        EntryNames {
            pullback: fresh.fresh("pullback"),
            d_output: fresh.fresh("d_output"),
            f: fresh.fresh("F"),
            g: fresh.fresh("G"),
            value: fresh.fresh("value"),
            grads: fresh.fresh("grads"),
        }
    }
}

/// `__neuron_call_NAME`'s result type and body, and
/// `__neuron_reverse_NAME`'s pullback type, body and generic parameters.
struct Entry {
    call_ty: TokenStream,
    call_body: TokenStream,
    reverse_ty: TokenStream,
    reverse_body: TokenStream,
    generics: Vec<TokenStream>,
}

/// Without `#[no_grad]` parameters: the one pullback, whoever calls.
fn one_pullback(
    sig: &Signature,
    forward: &syn::Ident,
    masked: Option<&syn::Ident>,
    consts: &[&syn::Ident],
    n: &EntryNames,
) -> Entry {
    let bound = sig.pullback_bound(&|p| p.differentiable());
    let names = sig.params.iter().map(|p| &p.name);
    let borrowed = sig.borrowed().map(|p| &p.name);
    let (f, pullback, d_output) = (&n.f, &n.pullback, &n.d_output);
    let marker = marker(masked);
    Entry {
        call_ty: quote!(impl #bound + use<#(#consts),*>),
        call_body: quote!(#forward(#marker #(#names),*)),
        reverse_ty: quote!(#f),
        reverse_body: quote!(#pullback(#(#borrowed,)* #d_output)),
        generics: vec![quote!(#f: #bound)],
    }
}

/// With `#[no_grad]` parameters: `Pullback::Own`, the sweep without their
/// gradients, when the caller passes data to every one of them, so that no
/// gradient is computed that it would drop; `Pullback::All` otherwise.
/// `Own` gives a zero, never read, for each `#[no_grad]` gradient.
fn either_pullback(
    sig: &Signature,
    forward: &syn::Ident,
    own: &syn::Ident,
    mask: &syn::Ident,
    masked: Option<&syn::Ident>,
    consts: &[&syn::Ident],
    n: &EntryNames,
) -> Entry {
    let bound = sig.pullback_bound(&|p| p.differentiable());
    let own_bound = sig.pullback_bound(&|p| p.grad);
    let names: Vec<&syn::Ident> = sig.params.iter().map(|p| &p.name).collect();
    let borrowed: Vec<&syn::Ident> = sig.borrowed().map(|p| &p.name).collect();
    let (f, g, value) = (&n.f, &n.g, &n.value);
    let (pullback, grads, d_output) = (&n.pullback, &n.grads, &n.d_output);
    let private = quote!(::neuron::__private);
    let active = quote!(#private::Active::<#mask>);
    let marker = marker(masked);
    let data = sig
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.differentiable() && !p.grad)
        .map(|(i, _)| {
            let i = i as u32;
            quote!(!#active::has(#i))
        });
    let filled = sig.params.iter().enumerate().map(|(i, p)| {
        let (i, ty) = (syn::Index::from(i), &p.grad_ty);
        if p.grad {
            quote!(#grads.#i)
        } else if p.differentiable() {
            quote!(<#ty as #private::Zeros>::zeros())
        } else {
            quote!(())
        }
    });
    Entry {
        call_ty: quote!(#private::Pullback<impl #bound + use<#(#consts),*>, impl #own_bound + use<#(#consts),*>>),
        call_body: quote! {
            if #(#data)&&* {
                let (#value, #pullback) = #own(#(#names),*);
                (#value, #private::Pullback::Own(#pullback))
            } else {
                let (#value, #pullback) = #forward(#marker #(#names),*);
                (#value, #private::Pullback::All(#pullback))
            }
        },
        reverse_ty: quote!(#private::Pullback<#f, #g>),
        reverse_body: quote! {
            match #pullback {
                #private::Pullback::All(#pullback) => #pullback(#(#borrowed,)* #d_output),
                #private::Pullback::Own(#pullback) => {
                    let #grads = #pullback(#(#borrowed,)* #d_output);
                    (#(#filled,)*)
                }
            }
        },
        generics: vec![quote!(#f: #bound), quote!(#g: #own_bound)],
    }
}

/// The mask of active arguments passed on to `__neuron_forward_NAME`, if it
/// takes one (see `Callers`).
fn marker(masked: Option<&syn::Ident>) -> TokenStream {
    match masked {
        Some(mask) => quote!(::neuron::__private::Active::<#mask>,),
        None => quote!(),
    }
}

/// `__neuron_fused_NAME`: the parameters and `d_output` in, the value and
/// the gradients (`()` for the parameters without one) out.
fn fused_fn(item: &syn::ItemFn, sig: &Signature, f: &syn::Ident, fused: &Fused) -> TokenStream {
    let (vis, generics, out_ty) = (&item.vis, &item.sig.generics, &sig.output);
    let params = sig.params.iter().map(declared);
    let grads = sig.grads(&|p| p.grad);
    let (d_output, body) = (&fused.d_output, &fused.body);
    let attrs = hidden_attributes();
    quote! {
        #attrs
        #vis fn #f #generics (#(#params,)* #d_output: #out_ty) -> (#out_ty, (#(#grads,)*)) {
            #body
        }
    }
}

/// A forward sweep: the parameters in, the value and the pullback out. The
/// pullback captures no lifetime (`use<…>` lists only const generics), so a
/// caller's temporaries may end before it runs.
fn forward_fn(
    item: &syn::ItemFn,
    sig: &Signature,
    f: &syn::Ident,
    wrt: &dyn Fn(&Param) -> bool,
    body: &TokenStream,
    mask: Option<&syn::Ident>,
) -> TokenStream {
    let (vis, generics, out_ty) = (&item.vis, &item.sig.generics, &sig.output);
    let params = sig.params.iter().map(declared);
    let mut consts: Vec<&syn::Ident> = generics.const_params().map(|c| &c.ident).collect();
    let bound = sig.pullback_bound(wrt);
    let attrs = hidden_attributes();
    // The callers' sweep takes the mask of the caller's active arguments.
    let (generics, marker) = match mask {
        Some(mask) => {
            consts.push(mask);
            let own = generics.params.iter();
            (
                quote!(<#(#own,)* const #mask: u64>),
                quote!(_: ::neuron::__private::Active<#mask>,),
            )
        }
        None => (quote!(#generics), quote!()),
    };
    quote! {
        #attrs
        #vis fn #f #generics (#marker #(#params,)*) -> (#out_ty, impl #bound + use<#(#consts),*>) {
            #body
        }
    }
}
