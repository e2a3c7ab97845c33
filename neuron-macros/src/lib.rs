//! The `#[differentiate]` attribute macro. See the `neuron` crate for documentation.
use proc_macro::TokenStream;

/// Generates `NAME_backward` for the annotated function.
#[proc_macro_attribute]
pub fn differentiate(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
