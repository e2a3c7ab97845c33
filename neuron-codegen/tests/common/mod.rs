//! Helpers shared by the tests that read the generated code. Each test
//! binary uses only part of them, hence the `dead_code` allowance.
#![allow(dead_code)]

/// The macro's output for the function `src`, as one string of tokens.
pub fn expand(src: &str) -> String {
    expand_with("", src)
}

/// [`expand`] with the attribute's arguments `attr` (`skip_inactive`).
pub fn expand_with(attr: &str, src: &str) -> String {
    let f: syn::ItemFn = syn::parse_str(src).expect("test source parses");
    let attr: proc_macro2::TokenStream = attr.parse().expect("arguments parse");
    neuron_codegen::differentiate(attr, quote::quote!(#f)).to_string()
}

/// The body of the generated `__neuron_forward_NAME`, split at the pullback
/// closure: (forward sweep, reverse sweep).
pub fn sweeps(out: &str, name: &str) -> (String, String) {
    let start = out
        .find(&format!("fn __neuron_forward_{name}"))
        .expect("a forward sweep is generated");
    let rest = &out[start..];
    let end = rest
        .find("fn __neuron_call_")
        .expect("the callers' entry follows");
    let body = &rest[..end];
    let split = body.find("move |").expect("the pullback is a move closure");
    (body[..split].to_string(), body[split..].to_string())
}
