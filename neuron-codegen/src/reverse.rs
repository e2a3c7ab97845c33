//! The reverse sweep: each instruction's adjoint statements, in reverse order,
//! with loops run backwards and branches taking the arm the forward sweep took.
//!
//! For `y = f(a, b)` it emits `d_a += d_y * ∂f/∂a` (and for `b`), with the
//! partials from the rule table. A store `m[i] = v` hands `d_m[i]` to `d_v`
//! and clears it; a load `v = m[i]` adds `d_v` back into `d_m[i]`.

use crate::context::{children, idents, mentions, mentions_in, Context, Contributions};
use crate::ir::*;
use crate::rows::{guard, guarded, literal_base, read_only_rows, row_slices, take_rows, RowSweep};
use crate::rules::{self, Partial};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::{HashMap, HashSet};

/// The reverse sweep of the function body, starting from `d_output`.
pub fn sweep(cx: &mut Context, d_output: &syn::Ident) -> TokenStream {
    cx.reverse = true;
    let out = sweep_body(cx, d_output);
    cx.reverse = false;
    out
}

fn sweep_body(cx: &mut Context, d_output: &syn::Ident) -> TokenStream {
    count_contributions(cx);
    // An array output's seed is added to arrays wholesale: no first writes.
    cx.first_writes.open = matches!(cx.ir.output, Output::Value(_));
    let seed = match cx.ir.output {
        Output::Value(v) if cx.active(v) => add_to(cx, v, &quote!(#d_output), Partial::One),
        Output::Mem(m) if cx.active_mem(m) => {
            let d = cx.adj_mem(m);
            quote!(::neuron::__private::accumulate(&mut #d, #d_output);)
        }
        _ => quote!(),
    };
    block(cx, &cx.ir.body, seed)
}

/// A block's reverse: its instructions backwards, each adjoint it introduces
/// declared just before the first statement that uses it, and (below the top
/// level) the values it pops off tapes first.
fn block(cx: &mut Context, b: &Block, seed: TokenStream) -> TokenStream {
    let mut stmts = vec![seed];
    let jams = crate::jam::plan(cx, b);
    for (k, inst) in b.insts.iter().enumerate().rev() {
        if b.id != 0 || !matches!(inst, Inst::Def { .. } | Inst::Load { .. }) {
            let untouched = cx.first_writes.close();
            if matches!(inst, Inst::For { body, .. } if cx.fused == Some(body.id)) {
                cx.first_writes.untouched = untouched;
            }
        }
        // A jammed pair's reverse takes the second loop's place, before the
        // reverse of what lies between them; the first loop's place stays
        // empty, so each instruction keeps its place (see `split_fused`).
        let rev = if jams.iter().any(|j| j.first == k) {
            quote!()
        } else if let Some(j) = jams.iter().find(|j| j.second == k) {
            jam_rev(cx, b, j)
        } else {
            inst_rev(cx, inst)
        };
        stmts.push(rev);
    }
    let mut parts = declare(cx, b, stmts);
    if b.id == 0 {
        return split_fused(cx, b, parts);
    }
    if let Some(gate) = crate::skip::gate(cx, b) {
        parts = skip_inactive(cx, b, parts, &gate);
    }
    let all: TokenStream = parts.into_iter().flat_map(|(d, s)| [d, s]).collect();
    let pops = pops(cx, b, &all);
    quote!(#pops #all)
}

/// Block `b`'s reverse parts with those of the instructions before the
/// ReLU `gate` finds (the last parts: the reverse runs backwards) inside
/// `if a > 0.0 { … }` (see `skip`). Unchanged if a loop among them keeps a
/// tape counter, whose pops must run on every iteration.
fn skip_inactive(
    cx: &mut Context,
    b: &Block,
    mut parts: Vec<(TokenStream, TokenStream)>,
    gate: &crate::skip::Gate,
) -> Vec<(TokenStream, TokenStream)> {
    if gate.loops.iter().any(|l| cx.counters.contains_key(l)) {
        return parts;
    }
    let Inst::Def {
        op: Op::Rule(rule),
        dst,
        args,
    } = &b.insts[gate.at]
    else {
        return parts;
    };
    let Some(Partial::Gate(on)) = partials(cx, rule, args, *dst)
        .into_iter()
        .nth(gate.position)
    else {
        return parts;
    };
    // Part 0 is the seed; part `n - k` is instruction `k`'s: the ReLU's
    // own, then the instructions' before it.
    let skipped = parts.split_off(b.insts.len() - gate.at);
    let inner: TokenStream = skipped.into_iter().flat_map(|(d, s)| [d, s]).collect();
    // A jammed next loop's reverse that only adds multiples of this unit.
    let next = match cx.skip_prelude.take() {
        Some((block, unit, next)) if block == b.id && unit == *dst => next,
        other => {
            cx.skip_prelude = other;
            TokenStream::new()
        }
    };
    if !inner.is_empty() || !next.is_empty() {
        let inner = ungate(inner, &on.to_string());
        parts.push((quote!(), quote!(if #on { #next #inner })));
    }
    parts
}

/// `ts` with the gates on condition `on` opened, for code that runs only
/// where `on` holds: `(if on { x } else { 0.0 })` is `(x)` and
/// `if on { s; }` is `s;`. These are the forms `add_to` and `accumulate`
/// write a `Partial::Gate` in.
fn ungate(ts: TokenStream, on: &str) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    let tokens: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = TokenStream::new();
    let mut k = 0;
    while k < tokens.len() {
        if let Some((body, next)) = gate_at(&tokens, k, on) {
            out.extend(ungate(body, on));
            k = next;
            continue;
        }
        match &tokens[k] {
            TokenTree::Group(g) if opens_bare(&tokens, k, on) => {
                out.extend(ungate(g.stream(), on));
            }
            TokenTree::Group(g) => {
                let mut opened = Group::new(g.delimiter(), ungate(g.stream(), on));
                opened.set_span(g.span());
                out.extend([TokenTree::Group(opened)]);
            }
            t => out.extend([t.clone()]),
        }
        k += 1;
    }
    out
}

/// Whether `tokens[k]` is a gate `(if on { e } else { 0.0 })` that opens
/// to a bare `e` rather than `(e)`: where `e` is a name, or where the group
/// is all of a `let`'s or an assignment's right side (`= (…);`).
fn opens_bare(tokens: &[proc_macro2::TokenTree], k: usize, on: &str) -> bool {
    use proc_macro2::{Delimiter, Spacing, TokenTree};
    let TokenTree::Group(g) = &tokens[k] else {
        return false;
    };
    let inner: Vec<TokenTree> = g.stream().into_iter().collect();
    if g.delimiter() != Delimiter::Parenthesis || inner.is_empty() {
        return false;
    }
    let Some((body, next)) = gate_at(&inner, 0, on) else {
        return false;
    };
    let name = is_name(&body);
    let punct = |t: Option<&TokenTree>, c: char| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c && p.spacing() == Spacing::Alone);
    let whole_right_side = k > 0 && punct(tokens.get(k - 1), '=') && punct(tokens.get(k + 1), ';');
    next == inner.len() && (name || whole_right_side)
}

/// Whether `ts` is a single identifier.
fn is_name(ts: &TokenStream) -> bool {
    let mut tokens = ts.clone().into_iter();
    matches!(
        (tokens.next(), tokens.next()),
        (Some(proc_macro2::TokenTree::Ident(_)), None)
    )
}

/// Whether `ts` starts with a `{ … }` block.
fn opens_block(ts: &TokenStream) -> bool {
    matches!(
        ts.clone().into_iter().next(),
        Some(proc_macro2::TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace
    )
}

/// At `tokens[k]`, `if on { body }`, optionally followed by `else { 0.0 }`:
/// the body and the position after it all.
fn gate_at(tokens: &[proc_macro2::TokenTree], k: usize, on: &str) -> Option<(TokenStream, usize)> {
    use proc_macro2::{Delimiter, TokenTree};
    let is_ident = |t: &TokenTree, s: &str| matches!(t, TokenTree::Ident(i) if i == s);
    let brace = |t: Option<&TokenTree>| match t {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => Some(g.stream()),
        _ => None,
    };
    if !is_ident(&tokens[k], "if") {
        return None;
    }
    let at = k
        + 1
        + tokens[k + 1..]
            .iter()
            .position(|t| brace(Some(t)).is_some())?;
    let cond: TokenStream = tokens[k + 1..at].iter().cloned().collect();
    if cond.to_string() != on {
        return None;
    }
    let body = brace(tokens.get(at))?;
    let zero = tokens.get(at + 1).is_some_and(|t| is_ident(t, "else"))
        && brace(tokens.get(at + 2)).is_some_and(|z| z.to_string() == "0.0");
    Some(match zero {
        true => (body, at + 3),
        false => (body, at + 1),
    })
}

/// Which of block `b`'s reverse parts (the seed, then the instructions
/// backwards) is the fused loop's, if `b` holds it: the forward sweep runs
/// that part inside its loop, apart from its declarations.
fn fused_part(cx: &Context, b: &Block) -> Option<usize> {
    let i = crate::fuse::position(b, cx.fused?)?;
    Some(b.insts.len() - i)
}

/// The top-level reverse sweep. With a fused loop, the part up to and
/// including that loop's reverse goes to `cx.fused_rev` (the forward sweep
/// places it), and the rest, the reverse of the statements before the loop,
/// is returned.
fn split_fused(cx: &mut Context, b: &Block, parts: Vec<(TokenStream, TokenStream)>) -> TokenStream {
    let Some(at) = fused_part(cx, b) else {
        return parts.into_iter().flat_map(|(d, s)| [d, s]).collect();
    };
    let mut before = TokenStream::new();
    let mut rest = TokenStream::new();
    let mut body = TokenStream::new();
    for (k, (d, s)) in parts.into_iter().enumerate() {
        match k.cmp(&at) {
            std::cmp::Ordering::Less => before.extend([d, s]),
            std::cmp::Ordering::Equal => {
                before.extend(d);
                body = s;
            }
            std::cmp::Ordering::Greater => rest.extend([d, s]),
        }
    }
    let (declared, flush) = std::mem::take(&mut cx.carry_edges);
    before.extend(declared);
    let slices = std::mem::take(&mut cx.fused_slices);
    cx.fused_rev = Some(crate::context::FusedReverse {
        before,
        body,
        slices,
    });
    quote!(#flush #rest)
}

/// The statements, each with the adjoint accumulators of `b` it is the
/// first to mention declared right before it: (declarations, statement).
/// Declaring them all at the start would keep thousands alive across a long
/// function, and the compiler's liveness analyses grow with the product of
/// variables and statements.
fn declare(
    cx: &mut Context,
    b: &Block,
    mut stmts: Vec<TokenStream>,
) -> Vec<(TokenStream, TokenStream)> {
    let mut first_use: HashMap<String, usize> = HashMap::new();
    for (k, s) in stmts.iter().enumerate() {
        let mut used = HashSet::new();
        idents(s, &mut used);
        for name in used {
            first_use.entry(name).or_insert(k);
        }
    }
    let mut before: Vec<TokenStream> = vec![TokenStream::new(); stmts.len()];
    // The fused loop's part runs once per iteration, away from its declarations.
    let fused = fused_part(cx, b);
    let accumulators = accumulators(cx, b);
    if b.id == 0 {
        // The whole sweep's names, for the forward sweep: what it walked
        // here, and what the declarations add (an array's zero may name a
        // length). A carry's names are its own.
        let mut names: HashSet<String> = first_use.keys().cloned().collect();
        for (d, zero) in &accumulators {
            names.insert(d.to_string());
            if !zero.minus_zero {
                idents(&zero.tokens, &mut names);
            }
        }
        cx.reverse_names = names;
    }
    // A parameter's gradient array whose first contribution is a call's:
    // declared there, from the callee's gradient (not in a fused sweep,
    // whose parts `split_fused` moves apart).
    if b.id == 0 && cx.fused.is_none() {
        let mut by_stmt: std::collections::BTreeMap<usize, Vec<_>> = Default::default();
        for (d, shape) in cx.gradient_arrays.clone() {
            if let Some(&k) = first_use.get(&d.to_string()) {
                by_stmt.entry(k).or_default().push((d, shape));
            }
        }
        for (k, ds) in by_stmt {
            if let Some((s, declared)) = declared_by_call(&ds, &stmts[k]) {
                stmts[k] = s;
                cx.declared_by_calls
                    .extend(declared.iter().map(ToString::to_string));
            }
        }
    }
    for (d, zero) in accumulators {
        if let Some(&k) = first_use.get(&d.to_string()) {
            let merged = if fused == Some(k) {
                None
            } else if !zero.minus_zero {
                zeros_like_argument(&zero.tokens)
                    .and_then(|shape| declared_by_call(&[(d.clone(), shape)], &stmts[k]))
                    .map(|(s, _)| s)
            } else {
                declared_by_first_write(&d, &stmts[k])
            };
            let zero = zero.tokens;
            match merged {
                Some(s) => stmts[k] = s,
                None => before[k].extend(quote!(let mut #d = #zero;)),
            }
        }
    }
    before.into_iter().zip(stmts).collect()
}

/// `stmt` with the first of its statements that names `d`, if that is
/// `d += e;` or `d -= e;`, made the declaration `let mut d = e;` (`-e`),
/// for a `d` that starts at `-0.0`: `-0.0 + e` is `e` and `-0.0 - e` is `-e`
/// for every `e`, so this is the same value in one statement fewer, as a
/// person writes it. `None` if that statement is another (a branch or loop
/// that may not run, say).
fn declared_by_first_write(d: &syn::Ident, stmt: &TokenStream) -> Option<TokenStream> {
    use proc_macro2::{Spacing, TokenTree};
    let tokens: Vec<TokenTree> = stmt.clone().into_iter().collect();
    let is_semi = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == ';');
    // The statement that first names `d`: from `start` up to its `;`.
    let mut start = 0;
    loop {
        let end = start + tokens[start..].iter().position(is_semi)?;
        if !mentions_in(&tokens[start..end], d) {
            start = end + 1;
            continue;
        }
        let sign = match &tokens[start..end] {
            [TokenTree::Ident(name), TokenTree::Punct(op), TokenTree::Punct(eq), ..]
                if name == d
                    && matches!(op.as_char(), '+' | '-')
                    && op.spacing() == Spacing::Joint
                    && eq.as_char() == '=' =>
            {
                op.as_char()
            }
            _ => return None,
        };
        let e: TokenStream = tokens[start + 3..end].iter().cloned().collect();
        let init = match sign {
            '+' => e,
            _ => {
                let e = paren(e);
                quote!(-#e)
            }
        };
        let before: TokenStream = tokens[..start].iter().cloned().collect();
        let after: TokenStream = tokens[end + 1..].iter().cloned().collect();
        return Some(quote!(#before let mut #d = #init; #after));
    }
}

/// `stmt`, if it is a call's reverse (`{ let grads = …; accumulate(&mut
/// d, grads.1); … }`), made the declaration of those of the accumulators
/// `ds` it adds a gradient to and names nowhere else, from that gradient:
/// `let mut d = { let grads = …; …; gradient_like(shape, grads.1) };`.
/// Zeroing an array and adding the callee's gradient into it gives the same
/// values (but for the sign of a zero) as taking the gradient, which the
/// callee has just allocated. Each `d` comes with the argument of its zero,
/// `zeros_like(shape)`, for its type. Also the names it declared.
fn declared_by_call(
    ds: &[(syn::Ident, TokenStream)],
    stmt: &TokenStream,
) -> Option<(TokenStream, Vec<syn::Ident>)> {
    let block: syn::Block = syn::parse2(stmt.clone()).ok()?;
    let mut taken = Vec::new();
    let mut declared = Vec::new();
    let mut values = Vec::new();
    for (d, shape) in ds {
        // Counted on tokens: how a token stream prints differs in the compiler.
        if crate::context::count_mentions(stmt, d) != 1 {
            continue;
        }
        let Some(k) = block.stmts.iter().position(|s| adds_gradient_to(s, d)) else {
            continue;
        };
        let syn::Stmt::Expr(syn::Expr::Call(add), _) = &block.stmts[k] else {
            continue;
        };
        let gradient = &add.args[1];
        taken.push(k);
        declared.push(d.clone());
        values.push(quote!(::neuron::__private::gradient_like(#shape, #gradient)));
    }
    if declared.is_empty() {
        return None;
    }
    let rest = (0..block.stmts.len())
        .filter(|k| !taken.contains(k))
        .map(|k| &block.stmts[k]);
    let code = match (&declared[..], &values[..]) {
        ([d], [value]) => quote!(let mut #d = { #(#rest)* #value };),
        _ => quote!(let (#(mut #declared),*) = { #(#rest)* (#(#values),*) };),
    };
    Some((code, declared))
}

/// Whether `s` is `::neuron::__private::accumulate(&mut d, g);`, a call's
/// gradient added to the whole of `d`.
fn adds_gradient_to(s: &syn::Stmt, d: &syn::Ident) -> bool {
    let syn::Stmt::Expr(syn::Expr::Call(call), Some(_)) = s else {
        return false;
    };
    let is_accumulate = matches!(&*call.func, syn::Expr::Path(p)
        if p.path.segments.last().is_some_and(|l| l.ident == "accumulate"));
    let into_d = matches!(call.args.first(), Some(syn::Expr::Reference(r))
        if r.mutability.is_some() && matches!(&*r.expr, syn::Expr::Path(p) if p.path.is_ident(d)));
    is_accumulate && call.args.len() == 2 && into_d
}

/// `x` of a zero `::neuron::__private::zeros_like(x)`.
fn zeros_like_argument(zero: &TokenStream) -> Option<TokenStream> {
    let call: syn::ExprCall = syn::parse2(zero.clone()).ok()?;
    let syn::Expr::Path(f) = &*call.func else {
        return None;
    };
    let named = f
        .path
        .segments
        .last()
        .is_some_and(|l| l.ident == "zeros_like");
    match (named, call.args.len()) {
        (true, 1) => {
            let x = &call.args[0];
            Some(quote!(#x))
        }
        _ => None,
    }
}

/// An adjoint accumulator's initial zero.
struct Zero {
    tokens: TokenStream,
    /// Whether it is the scalar `-0.0`, which a first `+=` may declare.
    minus_zero: bool,
}

/// The adjoint accumulators of the values and memory defined in `b`, with
/// their initial zero. Scalars start at `-0.0`, not `0.0`: `-0.0 + x` is `x`
/// for every `x`, so the compiler can drop the first addition, which
/// `0.0 + x` (`-0.0` for `x = -0.0`) does not allow.
fn accumulators(cx: &mut Context, b: &Block) -> Vec<(syn::Ident, Zero)> {
    let scalar = || Zero {
        tokens: quote!(-0.0),
        minus_zero: true,
    };
    let mut out = Vec::new();
    for inst in &b.insts {
        match inst {
            Inst::Def { dst, op, .. }
                if !matches!(op, Op::Param(_)) && cx.active(*dst) && many(cx, *dst) =>
            {
                out.push((cx.adj(*dst), scalar()));
            }
            Inst::Load { dst, .. } if cx.active(*dst) && many(cx, *dst) => {
                out.push((cx.adj(*dst), scalar()));
            }
            Inst::Init { mem, .. } | Inst::Call { out: mem, .. } if cx.active_mem(*mem) => {
                let tokens = zeros(cx, *mem, b.id == 0);
                let minus_zero = tokens.to_string() == quote!(-0.0).to_string();
                out.push((cx.adj_mem(*mem), Zero { tokens, minus_zero }));
            }
            _ => {}
        }
    }
    out
}

/// A zero adjoint shaped like memory object `m`.
fn zeros(cx: &Context, m: MemId, top: bool) -> TokenStream {
    let mem = &cx.ir.mems[m];
    let name = &mem.name;
    match &mem.origin {
        MemOrigin::Param { by_ref, .. } => {
            if *by_ref {
                quote!(::neuron::__private::zeros_like(#name))
            } else {
                quote!(::neuron::__private::zeros_like(&#name))
            }
        }
        MemOrigin::CallOutput { func } => {
            let alias = Context::companion(func, "__neuron_Output_");
            quote!(<#alias as ::neuron::__private::Zeros>::zeros())
        }
        MemOrigin::Local => match cx.mem_init.get(&m) {
            Some(MemInit::Scalar(_)) | None => quote!(-0.0),
            Some(MemInit::List(vs)) => {
                let n = vs.len();
                quote!([-0.0; #n])
            }
            Some(MemInit::Verbatim(t)) => zero_literal(t),
            Some(MemInit::VecRepeat { elem, len }) => {
                let z = zero_literal(elem);
                let n = cx.val(*len);
                quote!(::std::vec![#z; #n])
            }
            Some(MemInit::Copy { .. }) if top => quote!(::neuron::__private::zeros_like(&#name)),
            Some(MemInit::Copy { from, index }) => {
                let src = shape_source(cx, *from);
                let idx = cx.index_path(index);
                quote!(::neuron::__private::zeros_like(&(#src)#idx))
            }
        },
    }
}

/// An expression with the shape of `m` that is in scope anywhere in the reverse sweep.
fn shape_source(cx: &Context, m: MemId) -> TokenStream {
    let mem = &cx.ir.mems[m];
    let name = &mem.name;
    match &mem.origin {
        MemOrigin::Param { .. } => quote!(#name),
        MemOrigin::CallOutput { func } => {
            let alias = Context::companion(func, "__neuron_Output_");
            quote!(<#alias as ::neuron::__private::Zeros>::zeros())
        }
        MemOrigin::Local if mem.block == 0 => quote!(#name),
        MemOrigin::Local => zeros(cx, m, false),
    }
}

/// The zero of a constant array initialiser: every scalar replaced by `0.0`.
fn zero_literal(t: &TokenStream) -> TokenStream {
    fn go(e: &syn::Expr) -> TokenStream {
        match e {
            syn::Expr::Repeat(r) => {
                let inner = go(&r.expr);
                let n = &r.len;
                quote!([#inner; #n])
            }
            syn::Expr::Array(a) => {
                let inner = a.elems.iter().map(go);
                quote!([#(#inner),*])
            }
            syn::Expr::Paren(p) => go(&p.expr),
            _ => quote!(-0.0),
        }
    }
    match syn::parse2::<syn::Expr>(t.clone()) {
        Ok(e) => go(&e),
        Err(_) => quote!(-0.0),
    }
}

/// Brings the values of `b` that the reverse code reads back into scope:
/// cheap ones (a load from memory nothing writes, index arithmetic) are
/// recomputed, the rest are popped off their tape:
/// `tape_len -= 1; let v = tape_v[tape_len];`.
fn pops(cx: &mut Context, b: &Block, rev: &TokenStream) -> TokenStream {
    if cx.fused == Some(b.id) {
        // The iteration's reverse runs right after its forward sweep, where
        // every value of the block is still in scope.
        return TokenStream::new();
    }
    let mut used = HashSet::new();
    idents(rev, &mut used);
    let defs = definitions(b);
    // What the reverse code reads itself, before recomputation adds operands,
    // and the loads of `b` it can redo for free: both are at hand.
    let direct = used.clone();
    let free_loads: HashSet<ValueId> = defs
        .iter()
        .filter(|(_, def)| matches!(def, Inst::Load { mem, .. } if cx.readonly(*mem)))
        .map(|(v, _)| *v)
        .collect();
    // Walk backwards so a recomputed value's operands are marked used too.
    let mut recompute = HashSet::new();
    for (v, inst) in defs.iter().rev() {
        let value = &cx.ir.values[*v];
        if value.loop_var || cx.is_const(*v) || !used.contains(&value.name.to_string()) {
            continue;
        }
        if !operands_at_hand(cx, b, inst, &direct, &free_loads) {
            continue;
        }
        if let Some(code) = recomputable(cx, inst) {
            idents(&code, &mut used);
            recompute.insert(*v);
        }
    }
    let mut loads = TokenStream::new();
    let mut any_tape = false;
    // Arrays whose final contents the reverse code reads: one copy per iteration.
    for inst in &b.insts {
        let m = match inst {
            Inst::Init { mem, .. } => *mem,
            Inst::Call { out, .. } => *out,
            _ => continue,
        };
        let name = cx.ir.mems[m].name.clone();
        if cx.frozen_mems.contains(&m) && used.contains(&name.to_string()) {
            cx.taped_mems.insert(m);
            let t = cx.mem_tape(m);
            let c = cx.tape_slot(b.id);
            loads.extend(quote!(let #name = #t[#c];));
            any_tape = true;
        }
    }
    for (v, inst) in &defs {
        let value = &cx.ir.values[*v];
        if value.loop_var || cx.is_const(*v) || !used.contains(&value.name.to_string()) {
            continue;
        }
        let n = value.name.clone();
        if recompute.contains(v) {
            cx.recomputed.insert(*v);
            let code = recomputable(cx, inst).unwrap_or_default();
            loads.extend(quote!(let #n = #code;));
        } else if value.ty == Ty::Pullback {
            // A closure is not `Copy`: it is moved off its tape, and the
            // reverse sweep meets the calls in the opposite order.
            cx.taped.insert(*v);
            let t = cx.tape(*v);
            loads.extend(quote!(let #n = ::neuron::__private::pop(&mut #t);));
        } else {
            cx.taped.insert(*v);
            let t = cx.tape(*v);
            let c = cx.tape_slot(b.id);
            loads.extend(quote!(let #n = #t[#c];));
            any_tape = true;
        }
    }
    if !any_tape || !cx.counts(b.id) {
        return loads;
    }
    let c = cx.counter(b.id);
    quote!(#c -= 1; #loads)
}

/// Whether float arithmetic `inst` (in `b`) finds its float operands at hand
/// in the reverse sweep: constants, loop variables, values of enclosing
/// blocks, loads from read-only memory (`free_loads`), or values the reverse
/// code of `b` reads anyway (`direct`). Recomputing a chain instead would
/// redo work the forward sweep did (the network's `x0 * w1[j] + x1 *
/// w1[64 + j] + b1[j]`, five loads and four operations, to get one ReLU
/// input) where saving the result costs one store and one load. Anything
/// else is recomputed as `recomputable` says.
fn operands_at_hand(
    cx: &Context,
    b: &Block,
    inst: &Inst,
    direct: &HashSet<String>,
    free_loads: &HashSet<ValueId>,
) -> bool {
    let Inst::Def {
        op: Op::Rule(_),
        args,
        ..
    } = inst
    else {
        return true;
    };
    args.iter().all(|a| {
        let value = &cx.ir.values[*a];
        value.ty != Ty::Float
            || value.loop_var
            || cx.is_const(*a)
            || value.block != b.id
            || direct.contains(&value.name.to_string())
            || free_loads.contains(a)
    })
}

/// The defining expression of a value that is cheaper to recompute in the
/// reverse sweep than to save: integer arithmetic, and loads from memory
/// that is visible there and never written.
fn recomputable(cx: &Context, inst: &Inst) -> Option<TokenStream> {
    let readonly = |m: MemId| cx.readonly(m);
    match inst {
        Inst::Load { mem, index, .. } if readonly(*mem) => {
            if let Some(row) = cx.row(*mem, index, false) {
                return Some(row);
            }
            let n = cx.mem(*mem);
            let idx = cx.index_path(index);
            Some(quote!(#n #idx))
        }
        Inst::Def {
            op: Op::Len(m),
            args,
            ..
        } if readonly(*m) || cx.ir.mems[*m].block == 0 => {
            let n = cx.mem(*m);
            let idx = cx.index_path(args);
            Some(quote!(#n #idx.len()))
        }
        // Cheap float arithmetic on values the reverse sweep has anyway costs
        // less to redo than to save and load.
        Inst::Def {
            op: Op::Rule(rule),
            args,
            ..
        } if matches!(
            rule.form,
            rules::Form::Binary("+" | "-" | "*") | rules::Form::Neg
        ) =>
        {
            let a: Vec<TokenStream> = args.iter().map(|v| cx.val(*v)).collect();
            Some(rules::forward(rule, &a))
        }
        Inst::Def { dst, op, args } if cx.ir.values[*dst].ty != Ty::Float => {
            let a: Vec<TokenStream> = args.iter().map(|v| cx.val(*v)).collect();
            match op {
                Op::Binary(op) => {
                    let (x, y) = (&a[0], &a[1]);
                    Some(quote!(#x #op #y))
                }
                Op::Unary(op) => {
                    let x = &a[0];
                    Some(quote!(#op #x))
                }
                Op::Cast(ty) => {
                    let x = &a[0];
                    Some(quote!(#x as #ty))
                }
                Op::IntMethod(m) => {
                    let (x, rest) = (&a[0], &a[1..]);
                    Some(quote!(#x.#m(#(#rest),*)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Values defined directly in `b` with the instruction that defines them.
fn definitions(b: &Block) -> Vec<(ValueId, &Inst)> {
    b.insts
        .iter()
        .filter_map(|inst| match inst {
            Inst::Def { dst, .. } | Inst::Load { dst, .. } => Some((*dst, inst)),
            Inst::While { count, .. } => Some((*count, inst)),
            Inst::Call { pullback, .. } => Some((*pullback, inst)),
            _ => None,
        })
        .collect()
}

/// Values defined directly in `b` (not in nested blocks), in order.
pub fn defined_values(b: &Block) -> Vec<ValueId> {
    let mut out = Vec::new();
    for inst in &b.insts {
        match inst {
            Inst::Def { dst, .. } | Inst::Load { dst, .. } => out.push(*dst),
            Inst::While { count, .. } => out.push(*count),
            Inst::Call { pullback, .. } => out.push(*pullback),
            _ => {}
        }
    }
    out
}

/// The partials of `dst = rule(args)`, written with the operands' values.
fn partials(cx: &Context, rule: &rules::Rule, args: &[ValueId], dst: ValueId) -> Vec<Partial> {
    let a: Vec<TokenStream> = args.iter().map(|v| cx.val(*v)).collect();
    let (y, float) = (cx.val(dst), cx.float());
    (rule.partials)(&rules::Names {
        a: &a,
        y: &y,
        float: &float,
    })
}

/// `target += d * p`, or where `first` (the target still holds its initial
/// zero, see `FirstWrites`) `target = d * p`.
fn accumulate(target: TokenStream, d: &TokenStream, p: Partial, first: bool) -> TokenStream {
    let op = add_or_assign(first);
    match p {
        Partial::Zero => quote!(),
        Partial::One => quote!(#target #op #d;),
        Partial::MinusOne if first => quote!(#target = -#d;),
        Partial::MinusOne => quote!(#target -= #d;),
        Partial::Gate(c) => quote!(if #c { #target #op #d; }),
        Partial::Expr(e) => {
            let e = paren(e);
            quote!(#target #op #d * #e;)
        }
    }
}

/// `add`, an addition of `d` into the gradient of array `mem`, in the
/// callers' sweep run only if the caller passes that argument with a
/// gradient (see `Context::active`): the mask is a constant of the callee's
/// instance for each call site, so the compiler drops the addition where the
/// caller passes data (a layer's input `x` to a layer without `#[no_grad]`),
/// and the computations only it read. Not when `d` is a block, which may add
/// to other adjoints too.
fn for_active_argument(
    cx: &mut Context,
    mem: MemId,
    d: &TokenStream,
    add: TokenStream,
) -> TokenStream {
    let crate::ir::MemOrigin::Param { index, .. } = cx.ir.mems[mem].origin else {
        return add;
    };
    match &cx.active {
        Some(active) if index < crate::signature::MASK_BITS && !opens_block(d) => {
            let active = active.clone();
            cx.active_read = true;
            let bit = proc_macro2::Literal::u64_suffixed(1 << index);
            quote!(if #active & #bit != 0 { #add })
        }
        _ => add,
    }
}

/// `=` for a first write (see `FirstWrites`), `+=` otherwise.
fn add_or_assign(first: bool) -> TokenStream {
    if first {
        quote!(=)
    } else {
        quote!(+=)
    }
}

/// `d_v += d * p`, or where this is `v`'s only contribution, `let d_v = d * p;`
/// — and where `d_v` is also read only once, no statement at all: the
/// expression is written where `d_v` is read (for `p = 1`, `d_v` is `d`).
fn add_to(cx: &mut Context, v: ValueId, d: &TokenStream, p: Partial) -> TokenStream {
    if many(cx, v) {
        let dv = cx.adj(v);
        let first = !matches!(p, Partial::Zero) && cx.first_writes.first(&dv, Some(vec![]));
        if first && !matches!(p, Partial::Gate(_)) {
            cx.first_writes.assigned.insert(dv.to_string());
        }
        return accumulate(quote!(#dv), d, p, first);
    }
    let expr = match p {
        Partial::Zero => return quote!(),
        Partial::One => d.clone(),
        Partial::MinusOne => quote!(-#d),
        Partial::Gate(c) => quote!((if #c { #d } else { 0.0 })),
        Partial::Expr(e) => {
            let e = paren(e);
            quote!(#d * #e)
        }
    };
    let read_once = cx.reads_of.get(&v).copied() == Some(1);
    if read_once || is_name(&expr) {
        cx.deferred.insert(v, expr);
        return quote!();
    }
    let dv = cx.adj(v);
    quote!(let #dv = #expr;)
}

/// How `v`'s adjoint is read: its name, or the expression deferred to here.
fn adj_ref(cx: &mut Context, v: ValueId) -> TokenStream {
    match cx.deferred.get(&v) {
        Some(e) => e.clone(),
        None => {
            let d = cx.adj(v);
            quote!(#d)
        }
    }
}

/// Whether nothing flows into `v`'s adjoint.
fn dead(cx: &Context, v: ValueId) -> bool {
    cx.contributions.get(&v).copied() == Some(Contributions::None)
}

/// Whether `v`'s adjoint is an accumulator (declared, then `+=`).
fn many(cx: &Context, v: ValueId) -> bool {
    cx.contributions.get(&v).copied() == Some(Contributions::Many)
}

/// Parentheses around a partial unless it is a name, literal, call or method chain.
fn paren(e: TokenStream) -> TokenStream {
    let simple = e.clone().into_iter().all(|tt| match tt {
        proc_macro2::TokenTree::Punct(p) => p.as_char() == '.' || p.as_char() == ':',
        _ => true,
    });
    if simple {
        e
    } else {
        quote!((#e))
    }
}

/// Counts, for every active value, the adjoint contributions it will get
/// and how often its own reverse reads its adjoint. One contribution in the
/// value's own block lets the reverse sweep bind the adjoint with `let` (or
/// not at all) instead of declaring and accumulating it.
fn count_contributions(cx: &mut Context) {
    let mut c = Counter::default();
    if let Output::Value(v) = cx.ir.output {
        c.add(cx, v, 0, true);
    }
    c.walk(cx, &cx.ir.body);
    let params: HashSet<ValueId> = cx
        .ir
        .body
        .insts
        .iter()
        .filter_map(|i| match i {
            Inst::Def {
                dst,
                op: Op::Param(_),
                ..
            } => Some(*dst),
            _ => None,
        })
        .collect();
    for v in 0..cx.ir.values.len() {
        let kind = match c.seen.get(&v) {
            None => Contributions::None,
            Some((1, true)) => Contributions::One,
            Some(_) => Contributions::Many,
        };
        let param = params.contains(&v);
        cx.contributions
            .insert(v, if param { Contributions::Many } else { kind });
    }
    cx.reads_of = c.reads;
}

#[derive(Default)]
struct Counter {
    /// Contributions to a value's adjoint, and whether all are plain and in its own block.
    seen: HashMap<ValueId, (usize, bool)>,
    /// Reads of a value's adjoint by the reverse of its definition.
    reads: HashMap<ValueId, usize>,
}

impl Counter {
    fn add(&mut self, cx: &Context, v: ValueId, block: BlockId, plain: bool) {
        let e = self.seen.entry(v).or_insert((0, true));
        e.0 += 1;
        e.1 &= plain && cx.ir.values[v].block == block;
    }

    /// Walks backwards, so every use of a value is seen before its
    /// definition: a definition whose value nothing uses passes nothing on.
    fn walk(&mut self, cx: &Context, b: &Block) {
        for inst in b.insts.iter().rev() {
            match inst {
                Inst::Def {
                    dst,
                    op: Op::Rule(rule),
                    args,
                } if cx.active(*dst) && self.seen.contains_key(dst) => {
                    let partials = rule.partial_kinds(args.len(), &cx.float());
                    let mut reads = 0;
                    for (a, p) in args.iter().zip(partials) {
                        let passed = cx.accumulations.loads.contains(a);
                        if cx.active(*a) && !matches!(p, Partial::Zero) && !passed {
                            self.add(cx, *a, b.id, true);
                            reads += 1;
                        }
                    }
                    self.reads.insert(*dst, reads);
                }
                Inst::Load { dst, .. } if cx.active(*dst) => {
                    self.reads.insert(*dst, 1);
                }
                Inst::Store { mem, src, .. } if cx.active_mem(*mem) && cx.active(*src) => {
                    self.add(cx, *src, b.id, true)
                }
                Inst::Init { mem, init } if cx.active_mem(*mem) => match init {
                    MemInit::Scalar(v) if cx.active(*v) => self.add(cx, *v, b.id, true),
                    MemInit::List(vs) => {
                        for v in vs.iter().filter(|v| cx.active(**v)) {
                            self.add(cx, *v, b.id, true);
                        }
                    }
                    _ => {}
                },
                Inst::Call { args, out, .. } if cx.active_mem(*out) => {
                    for a in args {
                        if let Arg::Value(v) = a {
                            if cx.active(*v) {
                                self.add(cx, *v, b.id, false);
                            }
                        }
                    }
                }
                Inst::For { body, .. } | Inst::While { body, .. } => self.walk(cx, body),
                Inst::If { then, els, .. } => {
                    self.walk(cx, els);
                    self.walk(cx, then);
                }
                _ => {}
            }
        }
    }
}

fn inst_rev(cx: &mut Context, inst: &Inst) -> TokenStream {
    match inst {
        Inst::Def {
            dst,
            op: Op::Rule(rule),
            args,
        } if cx.active(*dst) && !dead(cx, *dst) => {
            let partials = partials(cx, rule, args, *dst);
            let d = adj_ref(cx, *dst);
            let mut out = TokenStream::new();
            for (arg, p) in args.iter().zip(partials) {
                // An accumulation's old value: its adjoint stays in `d_m[i]`.
                let passed = cx.accumulations.loads.contains(arg);
                if cx.active(*arg) && !passed && in_part(cx, *arg) {
                    out.extend(add_to(cx, *arg, &d, p));
                }
            }
            out
        }
        Inst::Load { dst, mem, index } if cx.active(*dst) && !dead(cx, *dst) => {
            let element = scalar_element(cx, *mem, index);
            if !adds_in_part(cx, element.as_ref()) {
                return quote!();
            }
            let d = adj_ref(cx, *dst);
            if let Some(s) = element {
                return quote!(#s += #d;);
            }
            let dm = cx.adj_mem(*mem);
            let only = cx.only_contributions.contains(dst);
            let op = add_or_assign(only || cx.first_writes.first(&dm, cx.literal_index(index)));
            let add = match cx.row(*mem, index, true) {
                Some(row) => quote!(#row #op #d;),
                None => {
                    let idx = cx.index_path(index);
                    quote!(#dm #idx #op #d;)
                }
            };
            for_active_argument(cx, *mem, &d, add)
        }
        Inst::Store { mem, index, src }
            if cx.active_mem(*mem) && cx.ir.mems[*mem].elem == Ty::Float =>
        {
            let dm = cx.adj_mem(*mem);
            let idx = cx.index_path(index);
            // In a jammed loop, the element's adjoint is a scalar (see `jam`).
            let (dm, idx) = match scalar_element(cx, *mem, index) {
                Some(s) => (s, quote!()),
                None => (dm, idx),
            };
            // The part of a jammed reverse that adds to the element's
            // adjoint runs where the gate reads it (see `jam::gate`).
            if let Some(part) = cx.sunk.remove(&dm.to_string()) {
                cx.deferred
                    .insert(*src, quote!({ let mut #dm = -0.0; #part #dm }));
                return quote!();
            }
            let take = if cx.active(*src) && many(cx, *src) {
                let ds = cx.adj(*src);
                quote!(#ds += #dm #idx;)
            } else if cx.active(*src) {
                let ds = cx.adj(*src);
                quote!(let #ds = #dm #idx;)
            } else {
                quote!()
            };
            // An accumulation's reverse leaves the element's adjoint as it is.
            if cx.accumulations.stored.contains(src) {
                return take;
            }
            // Nothing reads the element's adjoint again after a first store.
            if let [i] = index[..] {
                if cx.first_stores.contains(&(*mem, i)) {
                    return take;
                }
            }
            quote!(#take #dm #idx = -0.0;)
        }
        Inst::CopyInto {
            mem,
            index,
            from,
            from_index,
        } if cx.active_mem(*mem) => {
            let dm = cx.adj_mem(*mem);
            let idx = cx.index_path(index);
            let take = if cx.active_mem(*from) {
                let df = cx.adj_mem(*from);
                let fidx = cx.index_path(from_index);
                quote!(::neuron::__private::accumulate(&mut #df #fidx, #dm #idx);)
            } else {
                quote!()
            };
            quote!(#take ::neuron::__private::clear(&mut #dm #idx);)
        }
        Inst::Init { mem, init } if cx.active_mem(*mem) => init_rev(cx, *mem, init),
        // One iteration's reverse: the forward sweep runs it (see `fuse`).
        Inst::For {
            body,
            var,
            rev,
            lo,
            hi,
            inclusive,
        } if cx.fused == Some(body.id) => {
            let carries = if *rev {
                Vec::new()
            } else {
                carries(cx, *var, body)
            };
            let rows = row_slices(cx, *var, *lo, *hi, *inclusive, body, RowSweep::Reverse);
            let inner = block(cx, body, quote!());
            let inner = wrap_carries(cx, *var, carries, inner);
            cx.fused_slices = take_rows(cx, rows, &inner);
            inner
        }
        Inst::For {
            var,
            lo,
            hi,
            inclusive,
            rev,
            body,
        } => {
            let rows = row_slices(cx, *var, *lo, *hi, *inclusive, body, RowSweep::Reverse);
            let held = hold_elements(cx, *var, *lo, *hi, *inclusive, body);
            let inner = block(cx, body, quote!());
            let (take, give) = release_elements(cx, held, &inner);
            let slices = take_rows(cx, rows, &inner);
            let slices = quote!(#take #slices);
            let runs = guard(cx, *hi);
            if inner.is_empty() {
                return inner;
            }
            let (lo, hi) = (cx.val(*lo), cx.val(*hi));
            let range = if *inclusive {
                quote!(#lo..=#hi)
            } else {
                quote!(#lo..#hi)
            };
            let range = if *rev { range } else { quote!((#range).rev()) };
            let name = &cx.ir.values[*var].name;
            let var = if mentions(&inner, name) {
                quote!(#name)
            } else {
                quote!(_)
            };
            if slices.is_empty() {
                return quote!(for #var in #range { #inner });
            }
            // One statement: `chunk` must not put a slice, a borrow, in
            // another chunk than the loop that uses it.
            guarded(runs, quote!(#slices for #var in #range { #inner } #give))
        }
        Inst::While { body, count, .. } => {
            let inner = block(cx, body, quote!());
            if inner.is_empty() {
                return inner;
            }
            let n = cx.val(*count);
            quote!(for _ in 0..#n { #inner })
        }
        Inst::If { cond, then, els } => {
            let t = block(cx, then, quote!());
            let e = block(cx, els, quote!());
            if t.is_empty() && e.is_empty() {
                return t;
            }
            let c = cx.val(*cond);
            if e.is_empty() {
                quote!(if #c { #t })
            } else {
                quote!(if #c { #t } else { #e })
            }
        }
        Inst::Call {
            func,
            args,
            out,
            pullback,
        } if cx.active_mem(*out) => call_rev(cx, func, args, *out, *pullback),
        _ => quote!(),
    }
}

/// A parameter array the fused loop over `var` (ascending) reads only as
/// `m[var]` and `m[var + 1]` (Rosenbrock's `x[i]`, `x[i + 1]`): each
/// iteration adds to `d_m[var]` and `d_m[var + 1]`, and the next adds to
/// the latter again. Written so, the compiler may merge the two updates into
/// one wide store that the next iteration's load must wait for. As a
/// backward pass is written by hand, the `var + 1` part is carried to the
/// next iteration in a register instead, and each element is written once.
/// Registers the two elements' scalars in `cx.scalar_elements`.
fn carries(cx: &mut Context, var: ValueId, body: &Block) -> Vec<Carry> {
    let mut out = Vec::new();
    for (m, indices) in read_only_rows(cx, body) {
        if !cx.active_mem(m) {
            continue;
        }
        let bases: Vec<Option<u64>> = indices
            .iter()
            .map(|i| literal_base(cx, body, var, *i))
            .collect();
        let (here, next) = match (&indices[..], &bases[..]) {
            ([a, b], [Some(0), Some(1)]) => (*a, *b),
            ([a, b], [Some(1), Some(0)]) => (*b, *a),
            _ => continue,
        };
        let d = cx.adj_mem(m);
        let carry = Carry {
            m,
            here: cx.names.fresh(&format!("{d}_here")),
            next: cx.names.fresh(&format!("{d}_next")),
            indices: (here, next),
        };
        cx.scalar_elements.insert((m, here), carry.here.clone());
        cx.scalar_elements.insert((m, next), carry.next.clone());
        out.push(carry);
    }
    out
}

/// The adjoint elements the reverse of `for var in 0..hi` adds to in every
/// iteration, held in a scalar for the loop's duration: an active array the
/// body reads only as `m[i]`, loads directly in it at one index value `i`
/// defined outside the loop (the output layer's `h[j]` in its loop over
/// classes `k`). Written `d_m[i] += …` in each iteration, the element is
/// loaded and stored every time: the compiler cannot tell `d_m` from the
/// other gradients the loop writes. Summed in a scalar that starts from the
/// element and is stored back after the loop, the additions are the same,
/// in the same order. The loop must run (a literal bound of at least 1, or
/// the caller's `guard`), so that the element exists. Registers the
/// scalars in `cx.scalar_elements`.
fn hold_elements(
    cx: &mut Context,
    var: ValueId,
    lo: ValueId,
    hi: ValueId,
    inclusive: bool,
    body: &Block,
) -> Vec<(MemId, ValueId, syn::Ident)> {
    if crate::rows::from_zero(cx, lo, hi, inclusive).is_none() {
        return Vec::new();
    }
    let inside = all_defined(body);
    // Every load of `m` adds its adjoint to the element, as `s += d`.
    let plain = |m: MemId| {
        body.insts.iter().all(|inst| match inst {
            Inst::Load { dst, mem, index } if *mem == m => {
                index.len() == 1 && cx.active(*dst) && !cx.only_contributions.contains(dst)
            }
            _ => true,
        })
    };
    let mut other = HashSet::new();
    crate::rows::touched_otherwise(body, true, &mut other);
    let mut held: Vec<(MemId, ValueId)> = crate::rows::load_indices(body)
        .into_iter()
        .filter_map(|(m, indices)| match indices[..] {
            [i] if i != var
                && !inside.contains(&i)
                && !other.contains(&m)
                && cx.active_mem(m)
                && plain(m)
                && !cx.scalar_elements.contains_key(&(m, i)) =>
            {
                Some((m, i))
            }
            _ => None,
        })
        .collect();
    held.sort();
    held.into_iter()
        .map(|(m, i)| {
            let d = cx.adj_mem(m);
            let s = cx.names.fresh(&format!("{d}_{}", cx.ir.values[i].name));
            cx.scalar_elements.insert((m, i), s.clone());
            (m, i, s)
        })
        .collect()
}

/// Unregisters the scalars of [`hold_elements`], and returns the `let`s that
/// take the elements `inner` (the loop's reverse) adds to and the stores
/// that give them back.
fn release_elements(
    cx: &mut Context,
    held: Vec<(MemId, ValueId, syn::Ident)>,
    inner: &TokenStream,
) -> (TokenStream, TokenStream) {
    let (mut take, mut give) = (TokenStream::new(), TokenStream::new());
    for (m, i, s) in held {
        cx.scalar_elements.remove(&(m, i));
        if mentions(inner, &s) {
            let d = cx.adj_mem(m);
            let idx = cx.index_path(&[i]);
            take.extend(quote!(let mut #s = #d #idx;));
            give.extend(quote!(#d #idx = #s;));
        }
    }
    (take, give)
}

/// One carried neighbour pair of a fused loop (see `carries`): the scalars
/// of `d_m[var]` and `d_m[var + 1]`, and the index values `var`, `var + 1`.
struct Carry {
    m: MemId,
    here: syn::Ident,
    next: syn::Ident,
    indices: (ValueId, ValueId),
}

/// The fused loop's reverse `inner` with its carries (see `carries`): the
/// contributions to `d_m[var]` start from the carry and are written once at
/// the end of the iteration; those to `d_m[var + 1]` become the next carry.
/// The carries are declared before the loop, and the last one is added to
/// its element after it (if the loop ran at all, its index is in bounds: the
/// forward sweep read that element).
fn wrap_carries(
    cx: &mut Context,
    var: ValueId,
    carries: Vec<Carry>,
    inner: TokenStream,
) -> TokenStream {
    let (mut start, mut end) = (TokenStream::new(), TokenStream::new());
    for Carry {
        m,
        here,
        next,
        indices: (here_index, next_index),
    } in &carries
    {
        cx.scalar_elements.remove(&(*m, *here_index));
        cx.scalar_elements.remove(&(*m, *next_index));
        let d = cx.adj_mem(*m);
        let carry = cx.names.fresh(&format!("{d}_carry"));
        let at = cx.names.fresh(&format!("{d}_carry_at"));
        let (i, j) = (cx.val(var), cx.val(*next_index));
        let element = cx
            .row(*m, &[*here_index], true)
            .unwrap_or_else(|| quote!(#d[#i]));
        // An iteration writes its element once; if nothing wrote `d_m`
        // before the loop, that element is still zero, so it is assigned.
        let op = add_or_assign(cx.first_writes.untouched.contains(&d.to_string()));
        start.extend(quote!(let mut #here = #carry; let mut #next = -0.0;));
        end.extend(quote!(#element #op #here; #carry = #next; #at = #j;));
        cx.carry_edges
            .0
            .extend(quote!(let mut #carry = -0.0; let mut #at = 0usize;));
        cx.carry_edges.1.extend(quote! {
            if let Some(slot) = #d.get_mut(#at) {
                *slot += #carry;
            }
        });
    }
    if start.is_empty() {
        return inner;
    }
    quote!(#start #inner #end)
}

/// The scalar that holds adjoint element `d_m[index]` in the loop being
/// generated, if one does (see `Context::scalar_elements`).
fn scalar_element(cx: &Context, m: MemId, index: &[ValueId]) -> Option<syn::Ident> {
    match index {
        [i] => cx.scalar_elements.get(&(m, *i)).cloned(),
        _ => None,
    }
}

/// The reverse of two loops as one (see `jam`): each iteration runs the
/// second loop's reverse, then the first's, over the first loop's variable;
/// the arrays handed from one to the other have their adjoint element in a
/// scalar that starts at zero.
fn jam_rev(cx: &mut Context, b: &Block, jam: &crate::jam::Jam) -> TokenStream {
    // Named once, so that a failed try with the gate leaves no gap
    // (`d_h_j_1`) in the names of the one that follows.
    let scalars = handed_scalars(cx, b, jam);
    if let Some(gate) = crate::jam::gate(cx, b, jam) {
        if let Some(out) = jam_rev_as(cx, b, jam, &scalars, Some(&gate)) {
            return out;
        }
        // The failed try handed the unit's adjoint to the gate.
        cx.deferred.remove(&gate.unit);
    }
    jam_rev_as(cx, b, jam, &scalars, None).unwrap_or_default()
}

/// The scalar adjoints `d_m_j` of the elements jammed loops hand on, one
/// per promoted array, named after the first loop's variable.
fn handed_scalars(cx: &mut Context, b: &Block, jam: &crate::jam::Jam) -> Vec<syn::Ident> {
    let Inst::For { var, .. } = &b.insts[jam.first] else {
        return Vec::new();
    };
    let var = cx.ir.values[*var].name.clone();
    jam.promoted
        .iter()
        .map(|m| {
            let d = cx.adj_mem(*m);
            cx.names.fresh(&format!("{d}_{var}"))
        })
        .collect()
}

/// [`jam_rev`], with the additions to handed array `gate`'s element sunk
/// into the gate that reads them (see `jam::gate`); `None` if that fails.
fn jam_rev_as(
    cx: &mut Context,
    b: &Block,
    jam: &crate::jam::Jam,
    handed: &[syn::Ident],
    gate: Option<&crate::jam::Gate>,
) -> Option<TokenStream> {
    let (
        Inst::For {
            var: va,
            lo,
            hi,
            body: ba,
            ..
        },
        Inst::For {
            var: vc, body: bc, ..
        },
    ) = (&b.insts[jam.first], &b.insts[jam.second])
    else {
        return Some(quote!());
    };
    let var = cx.ir.values[*va].name.clone();
    let mut scalars = TokenStream::new();
    let mut gated = None;
    for (m, s) in jam.promoted.iter().zip(handed) {
        let s = s.clone();
        if gate.map(|g| g.mem) == Some(*m) {
            gated = Some(s.clone());
        } else {
            scalars.extend(quote!(let mut #s = -0.0;));
        }
        // The first loop stores `m[va]`, the second reads `m[vc]`.
        cx.scalar_elements.insert((*m, *va), s.clone());
        cx.scalar_elements.insert((*m, *vc), s);
    }
    let mut parts = TokenStream::new();
    let mut slices = TokenStream::new();
    for (v, body) in [(*vc, bc), (*va, ba)] {
        // The second loop's variable is the first's in the jammed loop.
        let from = cx.ir.values[v].name.clone();
        let rows = row_slices(cx, v, *lo, *hi, false, body, RowSweep::Reverse);
        let (inner, sunk) = match &gated {
            Some(s) if v == *vc => split_rev(cx, body, s),
            _ => (block(cx, body, quote!()), quote!()),
        };
        let own = take_rows(cx, rows, &quote!(#inner #sunk));
        if let (Some(s), false) = (&gated, sunk.is_empty()) {
            cx.sunk.insert(s.to_string(), rename(sunk, &from, &var));
        }
        let inner = rename(inner, &from, &var);
        // Under `skip_inactive`, the next loop's reverse may go inside the
        // ReLU's branch, with the first loop's (see `skip_inactive`).
        match gate {
            Some(g) if v == *vc && skip_next(cx, bc, g, *vc) => {
                cx.skip_prelude = Some((ba.id, g.unit, inner));
            }
            _ => parts.extend(inner),
        }
        slices.extend(rename(own, &from, &var));
    }
    if let Some((_, _, next)) = cx.skip_prelude.take() {
        parts = quote!(#next #parts);
    }
    for m in &jam.promoted {
        cx.scalar_elements.remove(&(*m, *va));
        cx.scalar_elements.remove(&(*m, *vc));
    }
    if let Some(s) = &gated {
        // The store's reverse must have taken the sunk part, and the second
        // loop's reverse, generated twice, must pop nothing off a tape.
        let placed = cx.sunk.remove(&s.to_string()).is_none();
        if !placed || all_defined(bc).iter().any(|v| cx.taped.contains(v)) {
            return None;
        }
    }
    if parts.is_empty() {
        return Some(parts);
    }
    // A run-time bound may be 0: the rows are taken only if the loop runs.
    let runs = guard(cx, *hi);
    let (lo, hi) = (cx.val(*lo), cx.val(*hi));
    let name = if mentions(&parts, &var) {
        quote!(#var)
    } else {
        quote!(_)
    };
    let looped = quote!(#slices for #name in (#lo..#hi).rev() { #scalars #parts });
    Some(guarded(runs, looped))
}

/// Whether, under `skip_inactive`, the reverse of jammed next loop `bc`
/// (but its sum into the unit's adjoint) only adds multiples of the unit.
fn skip_next(cx: &Context, bc: &Block, gate: &crate::jam::Gate, var: ValueId) -> bool {
    cx.sig.skip_inactive && crate::skip::scaled_by_unit(cx, bc, gate.mem, var)
}

/// Loop body `b`'s reverse in two parts: without the additions to the
/// adjoint `scalar`, and with only those (see `jam::gate`).
fn split_rev(cx: &mut Context, b: &Block, scalar: &syn::Ident) -> (TokenStream, TokenStream) {
    cx.split = Some(crate::context::Split {
        scalar: scalar.clone(),
        only: false,
        inside: all_defined(b),
    });
    let rest = block(cx, b, quote!());
    if let Some(split) = &mut cx.split {
        split.only = true;
    }
    let only = block(cx, b, quote!());
    cx.split = None;
    (rest, only)
}

/// Whether the part of a split reverse being generated (see `jam::gate`) adds
/// to the adjoint of value `v`: the part for the scalar only to the loop's
/// own values, whose adjoints lead to it.
fn in_part(cx: &Context, v: ValueId) -> bool {
    cx.split
        .as_ref()
        .is_none_or(|s| !s.only || s.inside.contains(&v))
}

/// Whether the part of a split reverse being generated (see `jam::gate`) has
/// a load's addition to its array's adjoint, held in the scalar `element`
/// when the array is handed from the jammed loop.
fn adds_in_part(cx: &Context, element: Option<&syn::Ident>) -> bool {
    cx.split
        .as_ref()
        .is_none_or(|s| (element == Some(&s.scalar)) == s.only)
}

/// `ts` with every identifier `from` written `to`.
fn rename(ts: TokenStream, from: &syn::Ident, to: &syn::Ident) -> TokenStream {
    ts.into_iter()
        .map(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) if i == *from => {
                proc_macro2::TokenTree::Ident(syn::Ident::new(&to.to_string(), i.span()))
            }
            proc_macro2::TokenTree::Group(g) => {
                let mut inner =
                    proc_macro2::Group::new(g.delimiter(), rename(g.stream(), from, to));
                inner.set_span(g.span());
                proc_macro2::TokenTree::Group(inner)
            }
            other => other,
        })
        .collect()
}

/// Every value defined in `b` or the blocks inside it.
pub(crate) fn all_defined(b: &Block) -> HashSet<ValueId> {
    let mut out: HashSet<ValueId> = defined_values(b).into_iter().collect();
    for inst in &b.insts {
        for inner in children(inst) {
            out.extend(all_defined(inner));
        }
    }
    out
}

fn init_rev(cx: &mut Context, mem: MemId, init: &MemInit) -> TokenStream {
    let dm = cx.adj_mem(mem);
    match init {
        MemInit::Verbatim(_) | MemInit::VecRepeat { .. } => quote!(),
        MemInit::Scalar(v) if cx.active(*v) && many(cx, *v) => {
            let d = cx.adj(*v);
            quote!(#d += #dm;)
        }
        MemInit::Scalar(v) if cx.active(*v) => {
            let d = cx.adj(*v);
            quote!(let #d = #dm;)
        }
        MemInit::Scalar(_) => quote!(),
        MemInit::List(vs) => {
            let mut out = TokenStream::new();
            for (k, v) in vs.iter().enumerate() {
                if cx.active(*v) {
                    let d = cx.adj(*v);
                    if many(cx, *v) {
                        out.extend(quote!(#d += #dm[#k];));
                    } else {
                        out.extend(quote!(let #d = #dm[#k];));
                    }
                }
            }
            out
        }
        MemInit::Copy { from, index } => {
            if !cx.active_mem(*from) {
                return quote!();
            }
            let df = cx.adj_mem(*from);
            let idx = cx.index_path(index);
            quote!(::neuron::__private::accumulate(&mut #df #idx, #dm);)
        }
    }
}

/// The reverse sweep of a call: the pullback the callee's forward sweep
/// returned, applied to the output's adjoint, its gradients added to the
/// arguments'. The arrays are passed again (`()` for each scalar), as the
/// pullback borrows nothing from the forward call.
fn call_rev(
    cx: &mut Context,
    func: &syn::Path,
    args: &[Arg],
    out: MemId,
    pullback: ValueId,
) -> TokenStream {
    let reverse = Context::companion(func, "__neuron_reverse_");
    let pullback = cx.val(pullback);
    let d_out = cx.adj_mem(out);
    let grads = cx.names.fresh("grads");
    let mut call_args = Vec::new();
    let mut accs = TokenStream::new();
    for (k, arg) in args.iter().enumerate() {
        let k = syn::Index::from(k);
        match arg {
            Arg::Value(v) => {
                call_args.push(quote!(()));
                if cx.active(*v) {
                    let d = cx.adj(*v);
                    accs.extend(quote!(::neuron::__private::accumulate(&mut #d, #grads.#k);));
                }
            }
            Arg::Mem {
                mem,
                by_ref,
                snapshot,
            } => {
                call_args.push(cx.array_arg(*mem, *by_ref, *snapshot));
                if cx.active_mem(*mem) {
                    let d = cx.adj_mem(*mem);
                    let idx = match snapshot.map(|s| find_snapshot_index(cx.ir, s)) {
                        Some(Some(idx)) => cx.index_path(&idx),
                        _ => quote!(),
                    };
                    accs.extend(quote!(::neuron::__private::accumulate(&mut #d #idx, #grads.#k);));
                }
            }
        }
    }
    let apply = if crate::emit::self_call(cx, func) {
        // A recursive call's pullback is boxed (see `emit`): called with
        // the borrowed arguments, as `__neuron_reverse_NAME` would.
        let borrowed = call_args
            .iter()
            .zip(&cx.sig.params)
            .filter(|(_, p)| p.borrowed())
            .map(|(a, _)| a);
        quote!(#pullback(#(#borrowed,)* #d_out))
    } else {
        quote!(#reverse(#pullback, #(#call_args,)* #d_out))
    };
    // One block: the accumulations move the gradients out of `grads` one by
    // one, so nothing may come between them (`chunk` cuts between statements).
    quote! {
        {
            let #grads = #apply;
            #accs
        }
    }
}

/// The index path a snapshot was taken at.
fn find_snapshot_index(ir: &Ir, s: ValueId) -> Option<Vec<ValueId>> {
    fn go(b: &Block, s: ValueId) -> Option<Vec<ValueId>> {
        b.insts.iter().find_map(|i| match i {
            Inst::Def {
                dst,
                op: Op::Snapshot(_),
                args,
            } if *dst == s => Some(args.clone()),
            Inst::For { body, .. } | Inst::While { body, .. } => go(body, s),
            Inst::If { then, els, .. } => go(then, s).or_else(|| go(els, s)),
            _ => None,
        })
    }
    go(&ir.body, s)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// Whether `NAME_backward`'s fused loop carries `d_x[i + 1]` in a register.
    fn carried(f: proc_macro2::TokenStream) -> bool {
        let out = crate::differentiate(quote!(), f).to_string();
        assert!(out.contains("__neuron_fused_f"), "{out}");
        out.contains("d_x_carry")
    }

    #[test]
    fn the_next_element_is_carried_to_the_next_iteration() {
        assert!(carried(quote! {
            fn f(x: &[f64]) -> f64 {
                let mut s = 0.0;
                for i in 1..x.len() - 1 {
                    s += (x[i + 1] - x[i] * x[i]).powi(2);
                }
                s
            }
        }));
    }

    #[test]
    fn the_element_is_assigned_unless_something_wrote_the_gradient_first() {
        let store = |f: proc_macro2::TokenStream| {
            let out = crate::differentiate(quote!(), f).to_string();
            let at = out.find("= d_x_here ;").unwrap_or_else(|| panic!("{out}"));
            out[..at].trim_end().ends_with('+')
        };
        // Rosenbrock's loop alone: `d_x_row [i] = d_x_here ;`.
        assert!(!store(quote! {
            fn f(x: &[f64]) -> f64 {
                let mut s = 0.0;
                for i in 0..x.len() - 1 { s += (x[i + 1] - x[i] * x[i]).powi(2); }
                s
            }
        }));
        // `x[0]` read after the loop: its reverse writes `d_x[0]` first.
        assert!(store(quote! {
            fn f(x: &[f64]) -> f64 {
                let mut s = 0.0;
                for i in 0..x.len() - 1 { s += (x[i + 1] - x[i] * x[i]).powi(2); }
                s + x[0] * 3.0
            }
        }));
    }

    #[test]
    fn other_neighbours_are_not_carried() {
        let cases = [
            // Two apart.
            quote! {
                fn f(x: &[f64]) -> f64 {
                    let mut s = 0.0;
                    for i in 0..x.len() - 2 { s += x[i + 2] * x[i]; }
                    s
                }
            },
            // A third element.
            quote! {
                fn f(x: &[f64]) -> f64 {
                    let mut s = 0.0;
                    for i in 0..x.len() - 1 { s += x[i + 1] * x[i] * x[0]; }
                    s
                }
            },
            // Descending.
            quote! {
                fn f(x: &[f64]) -> f64 {
                    let mut s = 0.0;
                    for i in (0..x.len() - 1).rev() { s += x[i + 1] * x[i]; }
                    s
                }
            },
        ];
        for f in cases {
            assert!(!carried(f));
        }
    }
}
