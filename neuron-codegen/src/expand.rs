//! The pipeline: signature → lower → activity → reverse → emit.

use crate::context::Context;
use crate::names::Names;
use crate::{
    activity, chunk, emit, fuse, lower, nesting, returns, reverse, signature, Hygiene, Options,
};
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Error, ItemFn};

pub fn expand(mut item: ItemFn, hygiene: Hygiene, options: &Options) -> Result<TokenStream, Error> {
    let mut sig = signature::parse(&item.sig)?;
    sig.skip_inactive = options.skip_inactive;
    nesting::check(&item.block)?;
    strip_param_attributes(&mut item);
    // Every stage names things apart from what the user wrote: collect that
    // once (it walks the whole function).
    let names = Names::new(&item);
    // A caller may pass a value with a gradient to a #[no_grad] parameter,
    // and then needs its gradient: one sweep computes every float
    // parameter's. With #[no_grad] parameters, a sweep of the function's own
    // leaves theirs out: callers that pass data to all of them get it, and
    // so does NAME_backward, unless a loop fuses, when it runs the fused
    // sweeps.
    let mask = names.clone().fresh("ACTIVE");
    let all = |p: &signature::Param| p.differentiable();
    let body = pullback(&item, &sig, &names, hygiene, &all, Some(&mask))?;
    let masked = sig.takes_mask();
    let callers = emit::Callers { body, mask, masked };
    let fused = fused(&item, &sig, &names, hygiene, &|p| p.grad)?;
    let no_grad = sig.params.iter().any(|p| p.differentiable() && !p.grad);
    let own = if no_grad {
        Some(pullback(&item, &sig, &names, hygiene, &|p| p.grad, None)?)
    } else {
        None
    };
    let d_output = names.clone().fresh("d_output");
    let generated = emit::items(&item, &sig, &names, callers, own, fused, &d_output);
    Ok(quote! {
        #item
        #generated
    })
}

/// The body of a forward sweep that returns the function's value and its
/// pullback: a closure holding what the reverse sweep needs (tapes,
/// intermediate values, the owned parameters), which takes the borrowed
/// parameters again and `d_output`, and returns the gradients of the
/// parameters `wrt` selects (`()` for the others). A caller keeps a callee's
/// pullback from its own forward sweep to its reverse sweep, so nothing is
/// computed twice however deep calls nest.
///
/// With `mask` (the callers' sweep, for every float parameter), the name of
/// the generic parameter holding which arguments the caller passes with a
/// gradient (if `Signature::takes_mask`): additions into the others'
/// gradients are left out (see `reverse::for_active_argument`).
fn pullback(
    item: &ItemFn,
    sig: &signature::Signature,
    names: &Names,
    hygiene: Hygiene,
    wrt: &dyn Fn(&signature::Param) -> bool,
    mask: Option<&syn::Ident>,
) -> Result<TokenStream, Error> {
    let kind = match mask {
        Some(_) => Sweep::Callers,
        None => Sweep::Own,
    };
    let body = sweeps(item, sig, names, hygiene, wrt, kind, |cx, s| {
        let mut scope = chunk_scope(cx, sig, &s.d_output);
        if let (Some(active), Some(mask), true) = (&cx.active, mask, cx.active_read) {
            scope.params.push((active.clone(), Some(quote!(u64))));
            scope.prelude = quote!(let #active: u64 = #mask;);
        }
        let (fwd, tapes, output) = (s.forward, s.tapes, s.output);
        let (decls, rev, grads) = (s.decls, s.reverse, s.grads);
        let d_output = &s.d_output;
        let out_ty = &sig.output;
        let borrowed = sig.borrowed().map(|p| {
            let (n, t) = (&p.name, signature::unnamed_lifetimes(&p.ty));
            quote!(#n: #t)
        });
        chunk::forward_body(
            quote!(#tapes #fwd),
            output,
            quote!(#(#borrowed,)* #d_output: #out_ty),
            quote!(#decls #rev),
            grads,
            scope,
            &mut |base| cx.names.fresh(base),
        )
    })?;
    Ok(body.unwrap_or_default())
}

/// What the chunker needs to know of the sweeps' names (see `chunk::Scope`).
fn chunk_scope(cx: &Context, sig: &signature::Signature, d_output: &syn::Ident) -> chunk::Scope {
    let output = &sig.output;
    let scalar_output = signature::output_is_scalar(output);
    chunk::Scope {
        scalars: cx.scalar_names(),
        types: cx.known_types(),
        params: sig
            .params
            .iter()
            .map(|p| (p.name.clone(), p.copy_type()))
            .collect(),
        d_output: (d_output.clone(), scalar_output.then(|| quote!(#output))),
        prelude: TokenStream::new(),
    }
}

/// `__neuron_fused_NAME(params…, d_output) -> (value, gradients)`'s body,
/// if the function has a loop whose reverse can run inside its forward
/// sweep (see `fuse`), else `None`. `NAME_backward` calls it.
fn fused(
    item: &ItemFn,
    sig: &signature::Signature,
    names: &Names,
    hygiene: Hygiene,
    wrt: &dyn Fn(&signature::Param) -> bool,
) -> Result<Option<emit::Fused>, Error> {
    // Only a `for` loop is fused: without one, do not lower the body again.
    if !has_for_loop(&item.block) {
        return Ok(None);
    }
    sweeps(item, sig, names, hygiene, wrt, Sweep::Fused, |_, s| {
        let (decls, tapes, fwd, rev) = (s.decls, s.tapes, s.forward, s.reverse);
        let (output, grads) = (s.output, s.grads);
        emit::Fused {
            body: quote!(#decls #tapes #fwd #rev (#output, #grads)),
            d_output: s.d_output,
        }
    })
}

/// The pieces of a function's sweeps, for `pullback` and `fused` to arrange.
struct Sweeps {
    /// The gradient accumulators, zeroed.
    decls: TokenStream,
    tapes: TokenStream,
    forward: TokenStream,
    reverse: TokenStream,
    /// The function's value, once the forward sweep has run.
    output: TokenStream,
    /// The tuple of gradients, once the reverse sweep has run.
    grads: TokenStream,
    d_output: syn::Ident,
}

/// Which sweeps `sweeps` generates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sweep {
    /// `__neuron_forward_NAME`'s, which callers use: its additions into an
    /// array parameter's gradient depend on the caller's mask of active
    /// arguments (see `Context::active`).
    Callers,
    /// `__neuron_backward_NAME`'s, without the `#[no_grad]` gradients.
    Own,
    /// `__neuron_fused_NAME`'s: the loop `fuse::candidate` picks runs its
    /// reverse inside its forward sweep.
    Fused,
}

/// Lowers the function and generates its sweeps, then lets `arrange` put
/// them together. For `Sweep::Fused`, there is no result (`None`) when no
/// loop qualifies.
fn sweeps<R>(
    item: &ItemFn,
    sig: &signature::Signature,
    names: &Names,
    hygiene: Hygiene,
    wrt: &dyn Fn(&signature::Param) -> bool,
    kind: Sweep,
    arrange: impl FnOnce(&mut Context, Sweeps) -> R,
) -> Result<Option<R>, Error> {
    let fuse = kind == Sweep::Fused;
    let mut names = names.clone();
    let body = if returns::needs_rewrite(&item.block) {
        let mut outside = Names::avoiding_all(item);
        let (done, ret) = (outside.fresh("returned"), outside.fresh("result"));
        returns::rewrite(&item.block, &sig.float, &done, &ret)
    } else {
        (*item.block).clone()
    };
    let mut ir = lower::lower(sig, &body, &mut names, hygiene)?;
    let fused_loop = match fuse {
        true => match fuse::candidate(&ir) {
            Some(b) => Some(b),
            None => return Ok(None),
        },
        false => None,
    };
    if let Some(b) = fused_loop {
        fuse::hoist(&mut ir, b);
    }
    let act = activity::analyse(&ir, sig, wrt);
    let mut cx = Context::new(&ir, sig, &act, &mut names, fused_loop);
    if kind == Sweep::Callers && sig.takes_mask() {
        cx.active = Some(cx.names.fresh("active"));
    }

    // Gradient accumulators of the parameters come first, so they get plain names.
    // Each parameter's gradient, and whether it is a scalar.
    let mut grads: Vec<Option<(syn::Ident, bool)>> = Vec::new();
    let mut decls: Vec<(syn::Ident, TokenStream)> = Vec::new();
    for (i, p) in sig.params.iter().enumerate() {
        if !wrt(p) {
            grads.push(None);
            continue;
        }
        let d = cx.names.fresh(&format!("d_{}", p.name));
        let value = ir.body.insts.iter().find_map(|inst| match inst {
            crate::ir::Inst::Def {
                dst,
                op: crate::ir::Op::Param(k),
                ..
            } if *k == i => Some(*dst),
            _ => None,
        });
        let mem = ir.mems.iter().position(
            |m| matches!(m.origin, crate::ir::MemOrigin::Param { index, .. } if index == i),
        );
        cx.set_param_adjoint(value, mem, d.clone());
        let n = &p.name;
        let shape = match &p.shape {
            signature::Shape::Scalar => None,
            signature::Shape::Container { by_ref: true, .. } => Some(quote!(#n)),
            signature::Shape::Container { by_ref: false, .. } => Some(quote!(&#n)),
        };
        let zero = match &shape {
            None => quote!(-0.0),
            Some(shape) => {
                cx.gradient_arrays.push((d.clone(), shape.clone()));
                quote!(::neuron::__private::zeros_like(#shape))
            }
        };
        decls.push((d.clone(), quote!(let mut #d = #zero;)));
        cx.first_writes.zeroed.insert(d.to_string());
        let scalar = matches!(p.shape, signature::Shape::Scalar);
        grads.push(Some((d, scalar)));
    }
    let d_output = cx.names.fresh("d_output");
    let rev = reverse::sweep(&mut cx, &d_output);
    let decls: TokenStream = decls
        .into_iter()
        .filter(|(d, _)| !cx.declared_by_calls.contains(&d.to_string()))
        .map(|(_, decl)| decl)
        .collect();
    match (&cx.fused, &cx.fused_rev) {
        (Some(body), Some(f)) if !fuse::sound(&cx, *body, &f.before) => return Ok(None),
        (Some(_), None) => return Ok(None),
        _ => {}
    }
    // A scalar accumulator starts at -0.0 (see `reverse`); a gradient that
    // may have got no contribution is reported as +0.0.
    let grads: Vec<TokenStream> = grads
        .into_iter()
        .map(|g| match g {
            None => quote!(()),
            Some((d, true)) if !cx.first_writes.assigned.contains(&d.to_string()) => {
                quote!(#d + 0.0)
            }
            Some((d, _)) => quote!(#d),
        })
        .collect();
    let forward = emit::forward(&mut cx);
    let tapes = emit::tapes(&mut cx);
    let output = match ir.output {
        crate::ir::Output::Value(v) => cx.val(v),
        crate::ir::Output::Mem(m) => {
            let n = cx.mem(m);
            quote!(#n)
        }
    };
    let pieces = Sweeps {
        decls,
        tapes,
        forward,
        reverse: rev,
        output,
        grads: quote!((#(#grads,)*)),
        d_output,
    };
    Ok(Some(arrange(&mut cx, pieces)))
}

/// Whether `block` holds a `for` loop.
fn has_for_loop(block: &syn::Block) -> bool {
    struct Find(bool);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_expr_for_loop(&mut self, _: &'ast syn::ExprForLoop) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_block(&mut find, block);
    find.0
}

/// The function without `#[no_grad]`, which the compiler must not see.
pub fn without_our_attributes(mut item: ItemFn) -> ItemFn {
    strip_param_attributes(&mut item);
    item
}

/// `#[no_grad]` is ours: the compiler must not see it on the original function.
fn strip_param_attributes(item: &mut ItemFn) {
    for input in item.sig.inputs.iter_mut() {
        if let syn::FnArg::Typed(pt) = input {
            pt.attrs.retain(|a| !a.path().is_ident("no_grad"));
        }
    }
}
