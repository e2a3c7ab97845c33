//! The `#[differentiate]` attribute macro of the `neuron` crate: a thin
//! entry point over `neuron-codegen`. Users depend on `neuron`, which
//! re-exports it with the documentation.

use proc_macro::TokenStream;

/// Generates `NAME_backward` and `NAME_value_and_backward` for the annotated
/// function. See the `neuron` crate for the documentation.
#[proc_macro_attribute]
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    neuron_codegen::differentiate(attr.into(), item.into()).into()
}
