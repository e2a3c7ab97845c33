//! The `#[differentiate]` attribute macro of the `neuron` crate: a thin
//! entry point over `neuron-codegen`, which it tells where each identifier
//! comes from. Users depend on `neuron`, which re-exports it with the
//! documentation.

use proc_macro::{Span, TokenStream};

/// Generates `NAME_backward` and `NAME_value_and_backward` for the annotated
/// function. See the `neuron` crate for the documentation.
#[proc_macro_attribute]
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    let call_site = format!("{:?}", Span::call_site());
    let hygiene = |id: &proc_macro2::Ident| {
        let debug = format!("{:?}", id.span().unwrap());
        // A token the generator made is none of the user's variables.
        (debug != call_site).then(|| expansion(&debug)).flatten()
    };
    neuron_codegen::differentiate_with(attr.into(), item.into(), &hygiene).into()
}

/// The expansion a compiler span comes from, read from its `Debug` text:
/// rustc writes `#3 bytes(10..12)`, the number after `#` naming the syntax
/// context. No stable API gives it; if the text has no such number (another
/// compiler's, or a later rustc's), `None`, and variables are told apart by
/// name alone, as they were before.
fn expansion(debug: &str) -> Option<u32> {
    debug.split('#').skip(1).find_map(|after| {
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        after[..digits].parse().ok()
    })
}
