//! Names in generated code: unique within the function, and never equal to an
//! identifier the user wrote (so a parameter called `d_output` or a local
//! called `tape` cannot collide with ours).

use proc_macro2::{Span, TokenStream, TokenTree};
use std::collections::{HashMap, HashSet};
use syn::visit::Visit;
use syn::Ident;

#[derive(Clone)]
pub struct Names {
    taken: HashSet<String>,
    /// The next suffix to try for each base, so naming n temporaries is linear.
    next: HashMap<String, usize>,
}

impl Names {
    /// Reserves every identifier of `item` except the local bindings of its
    /// body, which are renamed as they are lowered.
    pub fn new(item: &syn::ItemFn) -> Names {
        let mut taken = HashSet::new();
        collect(quote::ToTokens::to_token_stream(item), &mut taken);
        let mut bindings = Bindings::default();
        bindings.visit_block(&item.block);
        for b in bindings.0 {
            taken.remove(&b);
        }
        for input in &item.sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                if let syn::Pat::Ident(pi) = &*pt.pat {
                    taken.insert(pi.ident.to_string());
                }
            }
        }
        Names {
            taken,
            next: HashMap::new(),
        }
    }

    /// Names that avoid every identifier of `item`, its local bindings too:
    /// for locals a rewrite adds to the body before lowering renames it.
    pub fn avoiding_all(item: &syn::ItemFn) -> Names {
        let mut taken = HashSet::new();
        collect(quote::ToTokens::to_token_stream(item), &mut taken);
        Names {
            taken,
            next: HashMap::new(),
        }
    }

    /// A new identifier starting with `base`.
    pub fn fresh(&mut self, base: &str) -> Ident {
        // Bases are built from user names (`pullback_r#fn`): keep what an
        // identifier may hold, and step around keywords with a `_`.
        let mut base: String = base
            .replace("r#", "")
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert(0, 'v');
        }
        if !is_identifier(&base) {
            base.push('_');
        }
        if !is_identifier(&base) {
            // Alphanumeric but not an identifier character: a plain name.
            base = "v".to_string();
        }
        let k = self.next.entry(base.clone()).or_insert(0);
        let mut name = if *k == 0 {
            base.clone()
        } else {
            format!("{base}_{k}")
        };
        while self.taken.contains(&name) {
            *k += 1;
            name = format!("{base}_{k}");
        }
        *k += 1;
        self.taken.insert(name.clone());
        Ident::new(&name, Span::call_site())
    }
}

/// What `syn::Ident`'s parser does not take as an identifier: `_` and the
/// keywords, strict and reserved.
const KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "Self", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Whether `name` is an identifier and not a keyword. An ASCII name is
/// checked here: `syn`'s parser, inside the compiler, lexes through the
/// proc-macro bridge, and a long function asks for tens of thousands of
/// names (`t` for each temporary). Other names are left to `syn`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let ascii = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    match ascii {
        true => !KEYWORDS.contains(&name),
        false => syn::parse_str::<Ident>(name).is_ok(),
    }
}

fn collect(ts: TokenStream, out: &mut HashSet<String>) {
    for tt in ts {
        match tt {
            TokenTree::Ident(i) => {
                out.insert(i.to_string().trim_start_matches("r#").to_string());
            }
            TokenTree::Group(g) => collect(g.stream(), out),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Bindings(Vec<String>);

impl<'ast> Visit<'ast> for Bindings {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.0.push(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_agree_with_syn() {
        let names = [
            "d_v1",
            "v1",
            "_",
            "_1",
            "__",
            "t_3",
            "fn",
            "fn_",
            "self",
            "Self_",
            "d_",
            "x",
            "move",
            "tape_2",
            "1a",
            "a-b",
            "é_1",
            "d_é",
            "r#fn",
            "union",
            "_fn",
            "t",
            "gen",
            "default",
            "macro_rules",
            "Chunk",
        ];
        for n in names.iter().chain(KEYWORDS) {
            let syn_says = syn::parse_str::<Ident>(n).is_ok();
            assert_eq!(is_identifier(n), syn_says, "{n}");
        }
    }
}
