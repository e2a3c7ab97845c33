//! Emission: the forward sweep (the primal, pushing what the reverse sweep
//! reads onto tapes) and the generated functions around both sweeps.

use crate::context::{mentions, Context};
use crate::ir::*;
use crate::reverse;
use crate::rules;
use crate::signature::Signature;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The forward sweep of the body.
pub fn forward(cx: &mut Context) -> TokenStream {
    block(cx, &cx.ir.body)
}

fn block(cx: &mut Context, b: &Block) -> TokenStream {
    let mut out = TokenStream::new();
    for inst in &b.insts {
        out.extend(inst_fwd(cx, inst));
        if b.id != 0 {
            out.extend(save(cx, b.id, inst));
        }
    }
    if b.id != 0
        && reverse::defined_values(b)
            .iter()
            .any(|v| cx.taped.contains(v))
    {
        let c = cx.counter(b.id);
        out.extend(quote!(#c += 1;));
    }
    out
}

/// Pushes the value an instruction defined, if the reverse sweep reads it.
fn save(cx: &mut Context, b: BlockId, inst: &Inst) -> TokenStream {
    let dst = match inst {
        Inst::Def { dst, .. } | Inst::Load { dst, .. } => *dst,
        Inst::While { count, .. } => *count,
        _ => return quote!(),
    };
    if !cx.taped.contains(&dst) {
        return quote!();
    }
    let t = cx.tape(dst);
    let v = &cx.ir.values[dst].name;
    match cx.tape_size(b) {
        Some(_) if cx.ir.values[dst].ty != Ty::Snapshot => {
            let c = cx.counter(b);
            quote!(#t[#c] = #v;)
        }
        _ => quote!(#t.push(#v);),
    }
}

fn inst_fwd(cx: &mut Context, inst: &Inst) -> TokenStream {
    match inst {
        Inst::Def { dst, op, args } => {
            let name = &cx.ir.values[*dst].name;
            let a: Vec<TokenStream> = args.iter().map(|v| cx.val(*v)).collect();
            let rhs = match op {
                Op::Param(_) | Op::Const(_) => return quote!(),
                Op::Rule(rule) => {
                    if rule.form == rules::Form::Method && cx.is_const(args[0]) {
                        // `2.0.exp()` has an ambiguous receiver type: write `f64::exp(2.0)`.
                        let (f, m) = (cx.float(), format_ident!("{}", rule.name));
                        quote!(#f::#m(#(#a),*))
                    } else {
                        rules::forward(rule, &a)
                    }
                }
                Op::Binary(op) => {
                    let (x, y) = (&a[0], &a[1]);
                    quote!(#x #op #y)
                }
                Op::Unary(op) => {
                    let x = &a[0];
                    quote!(#op #x)
                }
                Op::Cast(ty) => {
                    let x = &a[0];
                    quote!(#x as #ty)
                }
                Op::IntMethod(m) => {
                    let (x, rest) = (&a[0], &a[1..]);
                    quote!(#x.#m(#(#rest),*))
                }
                Op::Len(m) | Op::Snapshot(m) => {
                    let n = cx.mem(*m);
                    let idx = cx.index_path(args);
                    if matches!(op, Op::Len(_)) {
                        quote!(#n #idx.len())
                    } else {
                        quote!(#n #idx)
                    }
                }
            };
            quote!(let #name = #rhs;)
        }
        Inst::Load { dst, mem, index } => {
            let name = &cx.ir.values[*dst].name;
            let m = cx.mem(*mem);
            let idx = cx.index_path(index);
            quote!(let #name = #m #idx;)
        }
        Inst::Store { mem, index, src } => {
            let m = cx.mem(*mem);
            let idx = cx.index_path(index);
            let v = cx.val(*src);
            quote!(#m #idx = #v;)
        }
        Inst::Init { mem, init } => {
            let m = cx.mem(*mem);
            let mutability = if cx.ir.mems[*mem].mutated {
                quote!(mut)
            } else {
                quote!()
            };
            let rhs = match init {
                MemInit::Verbatim(t) => t.clone(),
                MemInit::List(vs) => {
                    let vs = vs.iter().map(|v| cx.val(*v));
                    quote!([#(#vs),*])
                }
                MemInit::Copy { from, index } => {
                    let f = cx.mem(*from);
                    let idx = cx.index_path(index);
                    quote!(#f #idx)
                }
                MemInit::Scalar(v) => cx.val(*v),
            };
            quote!(let #mutability #m = #rhs;)
        }
        Inst::For {
            var,
            lo,
            hi,
            inclusive,
            rev,
            body,
        } => {
            let inner = block(cx, body);
            let (lo, hi) = (cx.val(*lo), cx.val(*hi));
            let range = if *inclusive {
                quote!(#lo..=#hi)
            } else {
                quote!(#lo..#hi)
            };
            let range = if *rev { quote!((#range).rev()) } else { range };
            let name = &cx.ir.values[*var].name;
            let var = if mentions(&inner, name) {
                quote!(#name)
            } else {
                quote!(_)
            };
            quote!(for #var in #range { #inner })
        }
        Inst::While {
            cond,
            cond_value,
            body,
            count,
        } => {
            let c = block(cx, cond);
            let cv = cx.val(*cond_value);
            let inner = block(cx, body);
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
            let c = cx.val(*cond);
            let t = block(cx, then);
            let e = block(cx, els);
            if e.is_empty() {
                quote!(if #c { #t })
            } else {
                quote!(if #c { #t } else { #e })
            }
        }
        Inst::Call { func, args, out } => {
            let o = cx.mem(*out);
            let args = args.iter().map(|a| match a {
                Arg::Value(v) => cx.val(*v),
                Arg::Mem {
                    mem,
                    by_ref,
                    snapshot,
                } => {
                    let n = match snapshot {
                        Some(s) => cx.val(*s),
                        None => {
                            let n = cx.mem(*mem);
                            quote!(#n)
                        }
                    };
                    if *by_ref {
                        quote!(&#n)
                    } else {
                        n
                    }
                }
            });
            quote!(let #o = #func(#(#args),*);)
        }
    }
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
        let zero = match value.ty {
            Ty::Float | Ty::Any => Some(quote!(0.0)),
            Ty::Int => Some(quote!(0)),
            Ty::Bool => Some(quote!(false)),
            Ty::Snapshot => None,
        };
        let t = cx.tape(v);
        let init = match (cx.tape_size(b), zero) {
            (Some(n), Some(z)) => {
                let n = n as usize;
                quote!([#z; #n])
            }
            _ => quote!(::std::vec::Vec::new()),
        };
        out.extend(quote!(let mut #t = #init;));
        if !blocks.contains(&b) {
            blocks.push(b);
        }
    }
    for b in blocks {
        let c = cx.counter(b);
        out.extend(quote!(let mut #c = 0usize;));
    }
    out
}

/// The generated items: `NAME_backward`, `NAME_value_and_backward`, and the
/// hidden pullback and output type that calls from other differentiated
/// functions use.
pub fn items(
    item: &syn::ItemFn,
    sig: &Signature,
    body: TokenStream,
    d_output: &syn::Ident,
) -> TokenStream {
    let vis = &item.vis;
    let name = &item.sig.ident;
    let generics = &item.sig.generics;
    let out_ty = &sig.output;
    let backward = format_ident!("{}_backward", name);
    let value_and = format_ident!("{}_value_and_backward", name);
    let pullback = format_ident!("__neuron_pullback_{}", name);
    let output_alias = format_ident!("__neuron_Output_{}", name);
    let params: Vec<TokenStream> = sig
        .params
        .iter()
        .map(|p| {
            let (n, t) = (&p.name, &p.ty);
            quote!(#n: #t)
        })
        .collect();
    let names: Vec<&syn::Ident> = sig.params.iter().map(|p| &p.name).collect();
    let all_grads = sig.params.iter().map(|p| {
        if p.grad {
            p.grad_ty.clone()
        } else {
            quote!(())
        }
    });
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
    let (g_ty, g_val) = if grad_tys.len() == 1 {
        let (t, i) = (grad_tys[0], &grad_idx[0]);
        (quote!(#t), quote!(grads.#i))
    } else {
        (quote!((#(#grad_tys),*)), quote!((#(grads.#grad_idx),*)))
    };
    let doc_back = format!(
        "Backward pass of [`{name}`], generated by `#[differentiate]`: the gradient of \
         `d_output · {name}(…)` with respect to each float parameter, in declaration order."
    );
    let doc_value = format!(
        "The value of [`{name}`] and its backward pass ([`{backward}`]) from one forward sweep."
    );
    quote! {
        #[doc = #doc_back]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        #vis fn #backward #generics (#(#params,)* #d_output: #out_ty) -> #g_ty {
            let (_, grads) = #pullback(#(#names,)* #d_output);
            #g_val
        }

        #[doc = #doc_value]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        #vis fn #value_and #generics (#(#params,)* #d_output: #out_ty) -> (#out_ty, #g_ty) {
            let (value, grads) = #pullback(#(#names,)* #d_output);
            (value, #g_val)
        }

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis type #output_alias = #out_ty;

        #[doc(hidden)]
        #[allow(
            unused_mut, unused_variables, unused_assignments, unused_parens, non_snake_case,
            clippy::all, clippy::pedantic, clippy::nursery, clippy::too_many_arguments
        )]
        #vis fn #pullback #generics (#(#params,)* #d_output: #out_ty) -> (#out_ty, (#(#all_grads,)*)) {
            #body
        }
    }
}
