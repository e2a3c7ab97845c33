//! The `#[differentiate]` attribute macro of the `neuron` crate.
//!
//! The macro runs a small compiler, one module a stage:
//! [`signature`] (what the parameters are) → [`lower`] (body to IR) →
//! [`activity`] (what depends on a parameter) → [`reverse`] (adjoint code,
//! with partials from [`rules`]) → [`emit`] (forward sweep and the generated
//! functions). Users should depend on `neuron`, which re-exports it.

mod activity;
mod context;
mod emit;
mod expand;
mod ir;
mod iter;
mod lower;
mod names;
mod reverse;
mod rules;
mod signature;

use proc_macro::TokenStream;

/// Generates `NAME_backward` and `NAME_value_and_backward` for the annotated
/// function. See the `neuron` crate for the full documentation.
#[proc_macro_attribute]
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = proc_macro2::TokenStream::from(attr);
    if let Some(tt) = attr.into_iter().next() {
        return syn::Error::new(tt.span(), "`#[differentiate]` takes no arguments: write `#[differentiate]`, and mark constant float parameters with `#[no_grad]`")
            .to_compile_error()
            .into();
    }
    let item2 = proc_macro2::TokenStream::from(item.clone());
    match syn::parse2::<syn::ItemFn>(item2.clone()) {
        Ok(f) => expand::expand(f).unwrap_or_else(|e| {
            let err = e.to_compile_error();
            // Keep the original function so later code that calls it still compiles.
            quote::quote!(#err #item2)
        }),
        Err(_) => syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[differentiate]` goes on a function (`fn name(x: f64, …) -> f64 { … }`)",
        )
        .to_compile_error(),
    }
    .into()
}
