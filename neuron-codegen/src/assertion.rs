//! Assertions in the body: `assert!`, `assert_eq!`, `assert_ne!` and their
//! `debug_` forms. The function's sweeps check them where the function does,
//! on the same values, so `NAME_backward` panics on the inputs `NAME` panics
//! on. Their operands are lowered as an `if`'s condition is: values with no
//! derivative.

use crate::ir::{Assertion, ValueId};
use crate::lower::{Lowerer, Operand};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Error, Expr, Ident, Token};

type Result<T> = std::result::Result<T, Error>;

/// The number of operands an assertion macro checks (`assert!` one,
/// `assert_eq!` two), or `None` if `path` names no assertion macro. The
/// macro may be named through `std::` or `core::`.
pub fn checked_operands(path: &syn::Path) -> Option<usize> {
    let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
    let (last, prefix) = segments.split_last()?;
    let prefixed_ok = match prefix {
        [] => path.leading_colon.is_none(),
        [root] => root.ident == "std" || root.ident == "core",
        _ => false,
    };
    if !prefixed_ok || !last.arguments.is_none() {
        return None;
    }
    match last.ident.to_string().as_str() {
        "assert" | "debug_assert" => Some(1),
        "assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne" => Some(2),
        _ => None,
    }
}

/// Lowers `mac!(checked…, "message", args…)`.
pub fn lower(l: &mut Lowerer, mac: &syn::Macro, checked: usize) -> Result<()> {
    let name = crate::text(&mac.path);
    let exprs = Punctuated::<Expr, Token![,]>::parse_terminated
        .parse2(mac.tokens.clone())
        .map_err(|e| {
            Error::new(
                e.span(),
                format!("`{name}!` expects expressions separated by commas: {e}"),
            )
        })?;
    let exprs: Vec<&Expr> = exprs.iter().collect();
    if exprs.len() < checked {
        let what = if checked == 1 {
            "a condition"
        } else {
            "two values to compare"
        };
        return Err(Error::new_spanned(mac, format!("`{name}!` needs {what}")));
    }
    let operands = exprs[..checked]
        .iter()
        .map(|e| l.expr_value(e))
        .collect::<Result<Vec<_>>>()?;
    let (message, message_args) = match exprs.get(checked) {
        None => (None, Vec::new()),
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        })) => (Some(s.clone()), message_args(l, s, &exprs[checked + 1..])?),
        Some(other) => {
            return Err(Error::new_spanned(
                other,
                format!("the message of `{name}!` must be a string literal: `{name}!(…, \"message {{}}\", value)`"),
            ))
        }
    };
    l.assert(Assertion {
        mac: mac.path.clone(),
        span: mac.bang_token.span,
        checked: operands,
        message,
        message_args,
    });
    Ok(())
}

/// The message's arguments: those written after the format string, then
/// the names the format string captures (`{x}`, `{:w$}`) that no named
/// argument gives.
fn message_args(
    l: &mut Lowerer,
    format: &syn::LitStr,
    args: &[&Expr],
) -> Result<Vec<(Option<Ident>, ValueId)>> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        out.push(match a {
            Expr::Assign(named) => match &*named.left {
                Expr::Path(p) if p.path.get_ident().is_some() => (
                    p.path.get_ident().cloned(),
                    shown(l, &named.right, &named.right)?,
                ),
                other => {
                    return Err(Error::new_spanned(
                        other,
                        "a named argument of a message is a name: `name = value`",
                    ))
                }
            },
            e => (None, shown(l, e, e)?),
        });
    }
    for captured in captured_names(&format.value()) {
        if out
            .iter()
            .any(|(n, _)| n.as_ref().is_some_and(|n| *n == captured))
        {
            continue;
        }
        // The span of the string: rustc resolves a captured name there too.
        let ident = Ident::new(&captured, format.span());
        let value = shown(l, &syn::parse_quote!(#ident), format)?;
        out.push((Some(ident), value));
    }
    Ok(out)
}

/// A value a message shows: a scalar (an error at `at` for a whole array).
fn shown(l: &mut Lowerer, e: &Expr, at: &dyn quote::ToTokens) -> Result<ValueId> {
    match l.expr(e)? {
        Operand::Place(m, index) if l.mem_rank(m).is_some_and(|rank| index.len() < rank) => {
            let name = crate::text(e);
            Err(Error::new_spanned(
                at,
                format!("an assertion's message can show only scalars, and `{name}` is an array: show its elements (`{{}}`, `{name}[0]`)"),
            ))
        }
        op => l.scalar(op, &|| syn::spanned::Spanned::span(&at.to_token_stream())),
    }
}

/// The identifiers a format string names (`{x}`, `{x:?}`, `{:>w$}`,
/// `{:.p$}`), each once, in order: positional arguments (`{}`, `{0}`) and
/// escaped braces (`{{`) are not names.
fn captured_names(format: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            continue;
        }
        let Some(close) = rest.find('}') else { break };
        let (argument, spec) = rest[..close]
            .split_once(':')
            .unwrap_or((&rest[..close], ""));
        let named_in_spec = spec.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'));
        let in_spec = named_in_spec.filter_map(|w| w.strip_suffix('$'));
        for name in std::iter::once(argument.trim()).chain(in_spec) {
            let is_name = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if is_name && !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
        rest = &rest[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_names_skip_positions_and_escapes() {
        let names = captured_names("{{x}} {} {0} {a} {b:?} {:>w$.p$} {a} {_c:e}");
        assert_eq!(names, ["a", "b", "w", "p", "_c"]);
    }

    #[test]
    fn assertion_macros_by_path() {
        let n = |p: syn::Path| checked_operands(&p);
        assert_eq!(n(syn::parse_quote!(assert)), Some(1));
        assert_eq!(n(syn::parse_quote!(std::debug_assert_ne)), Some(2));
        assert_eq!(n(syn::parse_quote!(core::assert_eq)), Some(2));
        assert_eq!(n(syn::parse_quote!(println)), None);
        assert_eq!(n(syn::parse_quote!(my::assert)), None);
    }
}
