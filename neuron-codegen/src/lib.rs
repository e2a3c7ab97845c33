//! The compiler behind `#[differentiate]`, as an ordinary library so that it
//! can be tested and its output shown without a proc-macro context.
//!
//! One module a stage: `signature` (what the parameters are) → `lower`
//! (body to the IR of `ir`) → `activity` (what depends on a parameter) →
//! `reverse` (adjoint code, with partials from `rules`) → `emit` (the
//! forward sweep and the generated functions) → `chunk` (long sweeps cut
//! into functions, for compile time). `fuse` picks the loop whose reverse
//! `NAME_backward` runs inside its forward sweep; `unique` finds the
//! gradient elements that get one contribution, which `reverse` assigns;
//! `jam` finds loops whose reverses `reverse` runs as one loop, and the
//! ReLU gates it sinks the second loop's sum into;
//! `accumulation` finds the stores `m[i] += e` whose reverse leaves `d_m[i]`
//! as it is; `skip` finds, under `#[differentiate(skip_inactive)]`, the
//! ReLUs whose argument's reverse runs only while they are on; `rows`
//! finds the arrays a loop reads a row at a time, which both sweeps read
//! through one slice taken before the loop. Before all of them, `nesting`
//! refuses a body nested deeper than the generated code can be (256
//! levels).
//!
//! ```
//! let f: syn::ItemFn = syn::parse_quote! {
//!     fn square(x: f64) -> f64 { x * x }
//! };
//! let out = neuron_codegen::differentiate(quote::quote!(), quote::quote!(#f));
//! assert!(out.to_string().contains("square_backward"));
//! ```

mod accumulation;
mod activity;
mod assertion;
mod chunk;
mod context;
mod emit;
mod expand;
mod fuse;
mod ir;
mod iter;
mod jam;
mod lower;
mod names;
mod nesting;
mod returns;
mod reverse;
mod rows;
mod rules;
mod signature;
mod skip;
mod unique;

use proc_macro2::{Span, TokenStream};

/// Code as a person writes it, for error messages: `Vec<f64>`, not the
/// `Vec < f64 >` that `TokenStream::to_string` gives.
pub(crate) fn text(t: &impl quote::ToTokens) -> String {
    let mut s = t.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (" ;", ";"),
        ("& ", "&"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
        (" :: ", "::"),
        (":: ", "::"),
        (" . ", "."),
        (" !", "!"),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// Which expansion an identifier was written in, as far as it is known: two
/// identifiers of one name are one variable only if they come from the same
/// expansion (`macro_rules!` hygiene keeps a local its body binds apart from
/// the caller's of the same name). `None` where it is not known. The macro
/// gets it from the compiler's spans; [`differentiate`] knows nothing of it.
///
/// ```
/// // Everything from one expansion, as in a function nobody's macro wrote.
/// let one: neuron_codegen::Hygiene = &|_| Some(0);
/// let x = proc_macro2::Ident::new("x", proc_macro2::Span::call_site());
/// assert_eq!(one(&x), Some(0));
/// ```
pub type Hygiene<'a> = &'a dyn Fn(&proc_macro2::Ident) -> Option<u32>;

/// Expands `#[differentiate(attr)] item`: the item unchanged (but for
/// `#[no_grad]`) followed by the generated functions, or compile errors
/// spanned on what is not supported. Never panics on any input.
///
/// ```
/// let out = neuron_codegen::differentiate(quote::quote!(), quote::quote!(struct S;));
/// assert!(out.to_string().contains("compile_error"));
/// ```
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    differentiate_with(attr, item, &|_| None)
}

/// [`differentiate`], told where each identifier comes from. A variable used
/// with another [`Hygiene`] than its binding's, which `#[differentiate]`
/// cannot tell from the binding it shadows, is an error.
///
/// ```
/// let f = "fn f(x: f64) -> f64 {\n    x * x\n}";
/// // Expansions by line: the `x` of line 2 is not the parameter of line 1.
/// let by_line = |id: &proc_macro2::Ident| Some(id.span().start().line as u32);
/// let out = neuron_codegen::differentiate_with(quote::quote!(), f.parse().unwrap(), &by_line);
/// assert!(out.to_string().contains("compile_error"));
/// let out = neuron_codegen::differentiate_with(quote::quote!(), f.parse().unwrap(), &|_| Some(0));
/// assert!(out.to_string().contains("f_backward"));
/// ```
pub fn differentiate_with(attr: TokenStream, item: TokenStream, hygiene: Hygiene) -> TokenStream {
    let options = match Options::parse(attr) {
        Ok(o) => o,
        Err(e) => {
            let err = e.to_compile_error();
            return quote::quote!(#err #item);
        }
    };
    if let Err(e) = nesting::check_tokens(&item) {
        let err = e.to_compile_error();
        return quote::quote!(#err #item);
    }
    match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(f) => expand::expand(f.clone(), hygiene, &options).unwrap_or_else(|e| {
            // Keep the original function so code that calls it still compiles.
            let err = e.to_compile_error();
            let f = expand::without_our_attributes(f);
            quote::quote!(#err #f)
        }),
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or(Span::call_site(), |t| t.span());
            let err = syn::Error::new(
                span,
                "`#[differentiate]` goes on a function: `fn name(x: f64, …) -> f64 { … }`",
            )
            .to_compile_error();
            quote::quote!(#err #item)
        }
    }
}

/// The arguments of `#[differentiate(…)]`: none, or `skip_inactive`.
#[derive(Default)]
struct Options {
    /// Skip the reverse of a ReLU unit that is off (see `skip`).
    skip_inactive: bool,
}

impl Options {
    fn parse(attr: TokenStream) -> Result<Options, syn::Error> {
        let mut options = Options::default();
        let parser = syn::meta::parser(|meta| {
            if !meta.path.is_ident("skip_inactive") {
                return Err(meta.error("`#[differentiate]` takes no arguments but `skip_inactive`: write `#[differentiate]`, or `#[differentiate(skip_inactive)]` to skip the backward pass of ReLU units that are off; mark constant float parameters with `#[no_grad]`"));
            }
            if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                return Err(meta.error(
                    "`skip_inactive` takes no value: write `#[differentiate(skip_inactive)]`",
                ));
            }
            options.skip_inactive = true;
            Ok(())
        });
        syn::parse::Parser::parse2(parser, attr)?;
        Ok(options)
    }
}
