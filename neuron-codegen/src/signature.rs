//! The signature model: each parameter's shape and activity, the output type,
//! and the gradient types that follow from them.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Error, FnArg, Ident, Pat, ReturnType, Type};

/// The scalar type at the bottom of a parameter's type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scalar {
    Float,
    Int,
    Bool,
}

/// How a parameter holds its scalars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A plain scalar.
    Scalar,
    /// An array, slice or `Vec` with `rank` levels of indexing.
    Container { rank: usize, by_ref: bool },
}

pub struct Param {
    pub name: Ident,
    pub ty: Type,
    pub scalar: Scalar,
    pub shape: Shape,
    /// Declared `mut`: the body may assign to it.
    pub mutable: bool,
    /// Gets a gradient: a float container or scalar not marked `#[no_grad]`.
    pub grad: bool,
    /// The type of its gradient (owned: `&[T]` becomes `Vec<T>`).
    pub grad_ty: TokenStream,
}

impl Param {
    /// Whether the pullback computes a gradient for this parameter: every
    /// float parameter, `#[no_grad]` ones too, so that a caller passing an
    /// active value there still gets its gradient. `#[no_grad]` only keeps
    /// the gradient out of `NAME_backward`'s result.
    pub fn differentiable(&self) -> bool {
        self.scalar == Scalar::Float
    }

    /// Whether it is a reference, which a pullback takes again.
    pub fn borrowed(&self) -> bool {
        matches!(self.shape, Shape::Container { by_ref: true, .. })
    }

    /// The type a function of the sweep's (see `chunk`) is passed this
    /// parameter as, by copy: scalars, references (`classify` admits only
    /// shared ones), and arrays of at most `MAX_COPIED` scalars. `None` for
    /// the others (a `Vec`, a larger array), which only a closure can read
    /// without copying or moving.
    pub fn copy_type(&self) -> Option<TokenStream> {
        const MAX_COPIED: u64 = 64;
        let small = scalars_in(&self.ty).is_some_and(|n| n <= MAX_COPIED);
        match self.shape {
            _ if self.mutable => None,
            Shape::Scalar => Some(self.ty.to_token_stream()),
            Shape::Container { by_ref: true, .. } => {
                Some(unnamed_lifetimes(&self.ty).to_token_stream())
            }
            Shape::Container { by_ref: false, .. } if small => Some(self.ty.to_token_stream()),
            Shape::Container { .. } => None,
        }
    }
}

pub struct Signature {
    /// The function's name.
    pub name: Ident,
    pub params: Vec<Param>,
    pub output: Type,
    /// `f32` or `f64`.
    pub float: Ident,
    /// `#[differentiate(skip_inactive)]`: the reverse of a ReLU unit that
    /// is off is skipped (see `skip`).
    pub skip_inactive: bool,
}

/// The arguments a caller's mask of active arguments covers, one bit each
/// of a `u64` (`__private::Active`, which counts the others as active).
pub const MASK_BITS: usize = 64;

impl Signature {
    /// The gradient types, in parameter order, of the parameters `wrt`
    /// selects (`()` for the others).
    pub fn grads(&self, wrt: &dyn Fn(&Param) -> bool) -> Vec<TokenStream> {
        self.params
            .iter()
            .map(|p| {
                if wrt(p) {
                    p.grad_ty.clone()
                } else {
                    quote!(())
                }
            })
            .collect()
    }

    /// The bound of the pullback a forward sweep returns: the borrowed
    /// parameters and `d_output` in, the gradients out. The pullback keeps
    /// owned parameters but borrows nothing: a caller may have passed a
    /// temporary (`g(&[a, b])`), so the borrowed ones are passed again.
    pub fn pullback_bound(&self, wrt: &dyn Fn(&Param) -> bool) -> TokenStream {
        let out = &self.output;
        let grads = self.grads(wrt);
        let borrowed = self.borrowed().map(|p| unnamed_lifetimes(&p.ty));
        quote!(FnOnce(#(#borrowed,)* #out) -> (#(#grads,)*))
    }

    /// The parameters of reference type, which a pullback takes again.
    pub fn borrowed(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.borrowed())
    }

    /// Whether the sweep callers use takes their mask of active arguments
    /// (see `__private::Active`): an array among the first [`MASK_BITS`]
    /// parameters has a gradient, whose additions the mask can leave out.
    pub fn takes_mask(&self) -> bool {
        self.params
            .iter()
            .take(MASK_BITS)
            .any(|p| p.differentiable() && matches!(p.shape, Shape::Container { .. }))
    }
}

/// How many scalars an accepted parameter type (see `classify`) holds if it
/// is an array with literal lengths (`[[f64; 3]; 4]`: 12) or a scalar;
/// `None` for anything else (`Vec`s, slices, references).
fn scalars_in(ty: &Type) -> Option<u64> {
    match ty {
        Type::Array(a) => {
            let len = crate::lower::int_literal(a.len.to_token_stream())?;
            len.checked_mul(scalars_in(&a.elem)?)
        }
        Type::Paren(p) => scalars_in(&p.elem),
        Type::Group(g) => scalars_in(&g.elem),
        // A plain name there is a scalar; `Vec<T>` has arguments.
        Type::Path(p) => p.path.get_ident().map(|_| 1),
        _ => None,
    }
}

/// `ty` with its lifetimes left to elision (`&'a [f64]` → `&[f64]`): in a
/// pullback's signature the borrow is for the call only.
pub fn unnamed_lifetimes(ty: &Type) -> Type {
    match ty {
        Type::Reference(r) => {
            let mut r = r.clone();
            r.lifetime = None;
            *r.elem = unnamed_lifetimes(&r.elem);
            Type::Reference(r)
        }
        Type::Paren(p) => unnamed_lifetimes(&p.elem),
        Type::Group(g) => unnamed_lifetimes(&g.elem),
        Type::Array(a) => {
            let mut a = a.clone();
            *a.elem = unnamed_lifetimes(&a.elem);
            Type::Array(a)
        }
        Type::Slice(s) => {
            let mut s = s.clone();
            *s.elem = unnamed_lifetimes(&s.elem);
            Type::Slice(s)
        }
        other => other.clone(),
    }
}

const INTS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
];

/// Reads the signature, reporting every problem found.
pub fn parse(sig: &syn::Signature) -> Result<Signature, Error> {
    let mut errors = Errors::default();
    if let Some(t) = &sig.asyncness {
        errors.push(Error::new(t.span, "`#[differentiate]` does not support `async fn`: differentiate a plain `fn` and call it from async code"));
    }
    if let Some(t) = &sig.unsafety {
        errors.push(Error::new(
            t.span,
            "`#[differentiate]` does not support `unsafe fn`: differentiate a safe `fn`",
        ));
    }
    if let Some(t) = &sig.constness {
        errors.push(Error::new(
            t.span,
            "`#[differentiate]` does not support `const fn`: remove `const`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(
            abi,
            "`#[differentiate]` does not support `extern` functions: remove the ABI",
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(Error::new_spanned(
            v,
            "`#[differentiate]` does not support variadic functions",
        ));
    }
    for g in sig.generics.params.iter() {
        if !matches!(g, syn::GenericParam::Lifetime(_)) {
            errors.push(Error::new_spanned(g, "`#[differentiate]` does not support generic parameters: write the function for `f64` or `f32`"));
        }
    }
    let output = match &sig.output {
        ReturnType::Default => {
            errors.push(Error::new_spanned(&sig.ident, "a differentiated function must return a float (`f64`, `f32`) or an array of floats: add `-> f64`"));
            None
        }
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let mut params = Vec::new();
    let mut bad_param = false;
    for input in &sig.inputs {
        match param(input) {
            Ok(p) => params.push(p),
            Err(e) => {
                errors.push(e);
                bad_param = true;
            }
        }
    }
    let mut float = None;
    if let Some(out) = &output {
        match output_float(out) {
            Some(f) => float = Some(f),
            None => errors.push(Error::new_spanned(out, format!("a differentiated function must return a float (`f64`, `f32`) or a fixed-size array of floats, not `{}`: return `f64` or `[f64; N]`", crate::text(out)))),
        }
    }
    if let Some(f) = &float {
        for p in params.iter().filter(|p| p.scalar == Scalar::Float) {
            if let Some(pf) = base_float(&p.ty) {
                if pf != *f {
                    errors.push(Error::new_spanned(&p.ty, format!("this parameter is `{pf}` but the function returns `{f}`: use one float type throughout")));
                }
            }
        }
    }
    if output.is_some() && !bad_param && !params.iter().any(|p| p.grad) {
        let span = if sig.inputs.is_empty() {
            sig.ident.span()
        } else {
            sig.inputs.span()
        };
        errors.push(Error::new(span, "a differentiated function needs at least one float parameter (`f64`, `f32`, or an array, slice or `Vec` of them) without `#[no_grad]`: there is nothing to differentiate with respect to"));
    }
    errors.finish()?;
    let (Some(output), Some(float)) = (output, float) else {
        return Err(Error::new_spanned(sig, "invalid signature"));
    };
    Ok(Signature {
        name: sig.ident.clone(),
        params,
        output,
        float: Ident::new(&float, Span::call_site()),
        skip_inactive: false,
    })
}

fn param(input: &FnArg) -> Result<Param, Error> {
    let pt = match input {
        FnArg::Receiver(r) => {
            return Err(Error::new_spanned(r, "`#[differentiate]` does not support methods with `self`: write a free function and pass the fields it needs"))
        }
        FnArg::Typed(pt) => pt,
    };
    let mut no_grad = false;
    for attr in &pt.attrs {
        if attr.path().is_ident("no_grad") {
            attr.meta.require_path_only()?;
            no_grad = true;
        } else {
            return Err(Error::new_spanned(attr, "unsupported attribute on a parameter of a differentiated function: only `#[no_grad]` is understood here"));
        }
    }
    let (name, mutable) = match &*pt.pat {
        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => (pi.ident.clone(), pi.mutability.is_some()),
        other => return Err(Error::new_spanned(other, "parameters of a differentiated function must be plain names: write `x: [f64; 2]` and index it instead of destructuring")),
    };
    let ty = (*pt.ty).clone();
    let (scalar, shape) = classify(&ty)?;
    if no_grad && scalar != Scalar::Float {
        return Err(Error::new_spanned(pt, "`#[no_grad]` is only for float parameters: integer and bool parameters never get a gradient"));
    }
    let grad = scalar == Scalar::Float && !no_grad;
    let grad_ty = if scalar == Scalar::Float {
        owned(&ty)
    } else {
        quote!(())
    };
    Ok(Param {
        name,
        ty,
        scalar,
        shape,
        mutable,
        grad,
        grad_ty,
    })
}

/// The scalar and shape of a parameter type, or an error saying what is accepted.
fn classify(ty: &Type) -> Result<(Scalar, Shape), Error> {
    let unsupported = || {
        Error::new_spanned(ty, format!("unsupported parameter type `{}`: a differentiated function takes floats (`f64`, `f32`), integers, `bool`, or arrays `[T; N]`, slices `&[T]`, `Vec<T>` and references to them", crate::text(ty)))
    };
    match ty {
        Type::Reference(r) => {
            if r.mutability.is_some() {
                return Err(Error::new_spanned(ty, "mutation through `&mut` parameters is not supported: take the value (or `&`) and return the result instead"));
            }
            let (s, shape) = classify(&r.elem)?;
            match shape {
                Shape::Container { rank, .. } => Ok((s, Shape::Container { rank, by_ref: true })),
                Shape::Scalar => Err(Error::new_spanned(
                    ty,
                    "pass scalars by value: write `x: f64`, not `x: &f64`",
                )),
            }
        }
        Type::Paren(p) => classify(&p.elem),
        Type::Group(g) => classify(&g.elem),
        Type::Array(a) => container(&a.elem, ty),
        Type::Slice(s) => container(&s.elem, ty),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last().ok_or_else(unsupported)?;
            let name = last.ident.to_string();
            if name == "Vec" {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(syn::GenericArgument::Type(elem)) = args.args.first() {
                        return container(elem, ty);
                    }
                }
                return Err(unsupported());
            }
            if p.path.segments.len() != 1 || !last.arguments.is_empty() {
                return Err(unsupported());
            }
            match name.as_str() {
                "f64" | "f32" => Ok((Scalar::Float, Shape::Scalar)),
                "bool" => Ok((Scalar::Bool, Shape::Scalar)),
                n if INTS.contains(&n) => Ok((Scalar::Int, Shape::Scalar)),
                _ => Err(unsupported()),
            }
        }
        _ => Err(unsupported()),
    }
}

fn container(elem: &Type, whole: &Type) -> Result<(Scalar, Shape), Error> {
    if let Type::Reference(_) = elem {
        return Err(Error::new_spanned(
            whole,
            "containers of references are not supported: use `&[f64]` or `&[[f64; N]]`",
        ));
    }
    let (s, inner) = classify(elem)?;
    let rank = match inner {
        Shape::Scalar => 1,
        Shape::Container { rank, .. } => rank + 1,
    };
    Ok((
        s,
        Shape::Container {
            rank,
            by_ref: false,
        },
    ))
}

/// The owned gradient type of a float parameter type.
fn owned(ty: &Type) -> TokenStream {
    match ty {
        Type::Reference(r) => match &*r.elem {
            Type::Slice(s) => {
                let e = owned(&s.elem);
                quote!(::std::vec::Vec<#e>)
            }
            other => owned(other),
        },
        Type::Paren(p) => owned(&p.elem),
        Type::Group(g) => owned(&g.elem),
        Type::Array(a) => {
            let e = owned(&a.elem);
            let n = &a.len;
            quote!([#e; #n])
        }
        Type::Path(p) => match p.path.segments.last() {
            Some(seg) if seg.ident == "Vec" => match &seg.arguments {
                syn::PathArguments::AngleBracketed(args) => match args.args.first() {
                    Some(syn::GenericArgument::Type(e)) => {
                        let e = owned(e);
                        quote!(::std::vec::Vec<#e>)
                    }
                    _ => ty.to_token_stream(),
                },
                _ => ty.to_token_stream(),
            },
            _ => ty.to_token_stream(),
        },
        _ => ty.to_token_stream(),
    }
}

/// `f32`/`f64` at the bottom of a type made of arrays, slices, `Vec` and references.
fn base_float(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(r) => base_float(&r.elem),
        Type::Paren(p) => base_float(&p.elem),
        Type::Group(g) => base_float(&g.elem),
        Type::Array(a) => base_float(&a.elem),
        Type::Slice(s) => base_float(&s.elem),
        Type::Path(p) => {
            let seg = p.path.segments.last()?;
            if seg.ident == "Vec" {
                if let syn::PathArguments::AngleBracketed(args) = &seg.arguments {
                    if let Some(syn::GenericArgument::Type(e)) = args.args.first() {
                        return base_float(e);
                    }
                }
                return None;
            }
            let n = seg.ident.to_string();
            (p.path.segments.len() == 1 && (n == "f64" || n == "f32")).then_some(n)
        }
        _ => None,
    }
}

/// The float type of an output: a float or a (nested) fixed-size array of floats.
fn output_float(ty: &Type) -> Option<String> {
    match ty {
        Type::Array(a) => output_float(&a.elem),
        Type::Paren(p) => output_float(&p.elem),
        Type::Group(g) => output_float(&g.elem),
        Type::Path(p) if p.path.is_ident("f64") || p.path.is_ident("f32") => base_float(ty),
        _ => None,
    }
}

/// Whether the output is a scalar.
pub fn output_is_scalar(ty: &Type) -> bool {
    !matches!(ty, Type::Array(_))
}

/// Collects errors so that several are reported at once.
#[derive(Default)]
pub struct Errors(Option<Error>);

impl Errors {
    pub fn push(&mut self, e: Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> Result<(), Error> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_functions_are_passed_scalars_references_and_small_arrays() {
        let sig: syn::Signature = syn::parse_quote! {
            fn f<'a>(
                a: f64, n: usize, on: bool, x: &'a [f64], w: [f64; 4], m: [[f64; 8]; 8],
                big: [f64; 65], v: Vec<f64>, mut s: f64,
            ) -> f64
        };
        let found: Vec<Option<String>> = parse(&sig)
            .unwrap()
            .params
            .iter()
            .map(|p| p.copy_type().map(|t| t.to_string()))
            .collect();
        let expected = [
            Some("f64"),
            Some("usize"),
            Some("bool"),
            Some("& [f64]"),
            Some("[f64 ; 4]"),
            Some("[[f64 ; 8] ; 8]"),
            None,
            None,
            None,
        ];
        assert_eq!(found, expected.map(|t| t.map(String::from)));
    }
}
