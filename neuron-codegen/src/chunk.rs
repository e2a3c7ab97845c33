//! Cuts long straight-line sweeps into chunks, for compile time.
//!
//! rustc's back end takes time superlinear in the size of one function (its
//! optimiser in release builds, its debug info in dev builds): the sweeps of a
//! 10 000-statement function, compiled as one function each, took minutes and
//! more than 24 GB. A sweep of more than `LIMIT` top-level statements is cut
//! into chunks of `SIZE`, each a closure run through
//! `::neuron::__private::chunk` (never inlined, so each stays a function of
//! its own), and every function the compiler sees is small again:
//!
//! ```text
//! let chunk_1 = ::neuron::__private::chunk(|| {
//!     let v0 = chunk.3;          // what it reads from earlier chunks
//!     let mut d_v2 = chunk.7;    // what it updates, passed on
//!     let v1 = …; d_v2 += …;
//!     (v1, d_v2)                 // what later code reads
//! });
//! ```
//!
//! A chunk's results stay in one tuple, read field by field where they are
//! needed, so neither the enclosing function nor the pullback closure (which
//! captures the forward sweep's tuples) holds thousands of variables. A value
//! bound `mut` is handed from chunk to chunk: each chunk that names it takes
//! it from the last one that returned it, and returns it again if later code
//! names it.
//!
//! This works on the emitted tokens and knows nothing of the IR: a name
//! counts as read wherever it appears, which can only pass more than needed.

use crate::context::idents;
use proc_macro2::{Delimiter, Ident, TokenStream, TokenTree};
use quote::quote;
use std::collections::{HashMap, HashSet};

/// Statements a sweep may have before it is cut.
const LIMIT: usize = 512;
/// Statements a chunk has.
const SIZE: usize = 256;

/// The body of `__neuron_forward_NAME`, its sweeps cut into chunks where long:
/// `forward; (output, move |params| { reverse; grads })`.
pub fn forward_body(
    forward: TokenStream,
    output: TokenStream,
    params: TokenStream,
    reverse: TokenStream,
    grads: TokenStream,
    scalars: HashSet<String>,
    fresh: &mut dyn FnMut(&str) -> Ident,
) -> TokenStream {
    Chunker {
        providers: HashMap::new(),
        scalars,
        fresh,
        limit: LIMIT,
        size: SIZE,
    }
    .forward_body(forward, output, params, reverse, grads)
}

/// Where a chunk returned a name: field `field` of tuple `tuple`.
struct Provider {
    tuple: Ident,
    field: usize,
    mutable: bool,
    /// In the tuple of scalars, read through a reference to the whole tuple.
    scalar: bool,
}

struct Chunker<'a> {
    providers: HashMap<String, Provider>,
    /// Names of `Copy` scalars (see `Context::scalar_names`).
    scalars: HashSet<String>,
    fresh: &'a mut dyn FnMut(&str) -> Ident,
    limit: usize,
    size: usize,
}

impl Chunker<'_> {
    fn forward_body(
        &mut self,
        forward: TokenStream,
        output: TokenStream,
        params: TokenStream,
        reverse: TokenStream,
        grads: TokenStream,
    ) -> TokenStream {
        let mut after = HashSet::new();
        for t in [&output, &reverse, &grads] {
            idents(t, &mut after);
        }
        let forward = self.sweep(forward, &after);
        let output = self.with_imports(output);
        let mut after = HashSet::new();
        idents(&grads, &mut after);
        let reverse = self.sweep(reverse, &after);
        let grads = self.with_imports(grads);
        quote! {
            #forward
            (#output, move |#params| {
                #reverse
                #grads
            })
        }
    }

    /// `stmts`, cut into chunks if there are more than `limit`; `after` is
    /// what the code after them names.
    fn sweep(&mut self, stmts: TokenStream, after: &HashSet<String>) -> TokenStream {
        let stmts = statements(stmts);
        if stmts.len() <= self.limit {
            let body: TokenStream = stmts.into_iter().flatten().collect();
            let imports = self.imports(&[Scan::of(&body)]);
            return quote!(#imports #body);
        }
        let chunks: Vec<Vec<Scan>> = stmts
            .chunks(self.size)
            .map(|c| {
                c.iter()
                    .map(|s| Scan::of(&s.iter().cloned().collect()))
                    .collect()
            })
            .collect();
        // The last chunk that names each name: after it, nothing reads it.
        let mut last: HashMap<String, usize> = HashMap::new();
        for (k, chunk) in chunks.iter().enumerate() {
            for s in chunk {
                for n in s.reads.iter().chain(s.binds.iter().map(|(b, _)| b)) {
                    last.insert(n.to_string(), k);
                }
            }
        }
        let read_after =
            |k: usize, n: &str| after.contains(n) || last.get(n).is_some_and(|&j| j > k);
        let mut out = TokenStream::new();
        for (k, chunk) in chunks.iter().enumerate() {
            out.extend(self.chunk(chunk, &|n| read_after(k, n)));
        }
        out
    }

    /// One chunk: `let (scalars, owned) = chunk(|| { imports; stmts;
    /// ((scalar exports), (other exports)) });`.
    ///
    /// Scalars are read as `(&scalars).3`, which borrows the whole tuple: a
    /// closure that read `scalars.3` would capture a pointer to each field it
    /// reads, and building thousands of those in one block of the enclosing
    /// function is what the code generator then takes minutes over. Other
    /// values (arrays, `Vec`s, pullbacks) may have to be moved, so they are
    /// read field by field from a tuple of their own.
    fn chunk(&mut self, stmts: &[Scan], read_after: &dyn Fn(&str) -> bool) -> TokenStream {
        let imports = self.imports(stmts);
        // What the chunk binds, and the `mut` values it takes over; the last
        // binding of a name wins, as it does in a block.
        let mut held: Vec<(Ident, bool)> = Vec::new();
        for s in stmts {
            for n in &s.reads {
                if self
                    .providers
                    .get(&n.to_string())
                    .is_some_and(|p| p.mutable)
                    && !held.iter().any(|(h, _)| h == n)
                {
                    held.push((n.clone(), true));
                }
            }
            for (n, m) in &s.binds {
                held.retain(|(h, _)| h != n);
                held.push((n.clone(), *m));
            }
        }
        held.retain(|(n, _)| read_after(&n.to_string()));
        let (scalars, owned): (Vec<_>, Vec<_>) = held
            .into_iter()
            .partition(|(n, _)| self.scalars.contains(&n.to_string()));
        let (s, o) = ((self.fresh)("chunk"), (self.fresh)("owned"));
        for (tuple, held, scalar) in [(&s, &scalars, true), (&o, &owned, false)] {
            for (field, (n, mutable)) in held.iter().enumerate() {
                let provider = Provider {
                    tuple: tuple.clone(),
                    field,
                    mutable: *mutable,
                    scalar,
                };
                self.providers.insert(n.to_string(), provider);
            }
        }
        let body: TokenStream = stmts.iter().map(|s| s.tokens.clone()).collect();
        let (scalars, owned) = (scalars.iter().map(|h| &h.0), owned.iter().map(|h| &h.0));
        quote! {
            let (#s, #o) = ::neuron::__private::chunk(|| {
                #imports
                #body
                ((#(#scalars,)*), (#(#owned,)*))
            });
        }
    }

    /// `let name = tuple.field;` for each name `stmts` read before binding
    /// it that an earlier chunk returned.
    fn imports(&self, stmts: &[Scan]) -> TokenStream {
        let mut bound = HashSet::new();
        let mut done = HashSet::new();
        let mut out = TokenStream::new();
        for s in stmts {
            for n in &s.reads {
                let key = n.to_string();
                if bound.contains(&key) || !done.insert(key.clone()) {
                    continue;
                }
                if let Some(p) = self.providers.get(&key) {
                    let (t, f) = (&p.tuple, syn::Index::from(p.field));
                    let m = if p.mutable { quote!(mut) } else { quote!() };
                    let t = if p.scalar { quote!((&#t)) } else { quote!(#t) };
                    out.extend(quote!(let #m #n = #t.#f;));
                }
            }
            bound.extend(s.binds.iter().map(|(b, _)| b.to_string()));
        }
        out
    }

    /// `tokens` with the names it reads from chunks bound first.
    fn with_imports(&self, tokens: TokenStream) -> TokenStream {
        let imports = self.imports(&[Scan::of(&tokens)]);
        if imports.is_empty() {
            tokens
        } else {
            quote!({ #imports #tokens })
        }
    }
}

/// A statement with the names it binds in its block (and whether `mut`) and
/// the names it reads (every other identifier in it).
struct Scan {
    tokens: TokenStream,
    binds: Vec<(Ident, bool)>,
    reads: Vec<Ident>,
}

impl Scan {
    fn of(tokens: &TokenStream) -> Scan {
        let tts: Vec<TokenTree> = tokens.clone().into_iter().collect();
        let mut binds = Vec::new();
        let mut reads = Vec::new();
        let mut starts = true;
        let mut i = 0;
        while i < tts.len() {
            // A `let` that starts a statement (not an `if let`) binds in the
            // block, up to its `=` or type.
            if starts && matches!(&tts[i], TokenTree::Ident(id) if id == "let") {
                i += 1;
                let mut pattern = Vec::new();
                while i < tts.len() && !is_punct(&tts[i], '=') && !is_punct(&tts[i], ':') {
                    pattern.push(tts[i].clone());
                    i += 1;
                }
                pattern_names(pattern.into_iter().collect(), false, &mut binds);
                continue;
            }
            starts = is_punct(&tts[i], ';')
                || matches!(&tts[i], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace);
            reads_in(tts[i].clone(), &mut reads);
            i += 1;
        }
        Scan {
            tokens: tokens.clone(),
            binds,
            reads,
        }
    }
}

/// The top-level statements of a block's tokens, each ending at its `;`
/// (a `for` or `if` with no `;` after it stays with the statement after it).
fn statements(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut out = Vec::new();
    let mut stmt = Vec::new();
    for tt in tokens {
        let end = is_punct(&tt, ';');
        stmt.push(tt);
        if end {
            out.push(std::mem::take(&mut stmt));
        }
    }
    if !stmt.is_empty() {
        out.push(stmt);
    }
    out
}

fn pattern_names(pattern: TokenStream, mut mutable: bool, out: &mut Vec<(Ident, bool)>) {
    for tt in pattern {
        match tt {
            TokenTree::Ident(id) if id == "mut" => mutable = true,
            TokenTree::Ident(id) if id == "ref" || id == "_" => {}
            TokenTree::Ident(id) => {
                out.push((id, mutable));
                mutable = false;
            }
            TokenTree::Group(g) => pattern_names(g.stream(), false, out),
            _ => mutable = false,
        }
    }
}

fn is_punct(tt: &TokenTree, c: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == c)
}

/// Every identifier in `tt`, at any depth.
fn reads_in(tt: TokenTree, into: &mut Vec<Ident>) {
    match tt {
        TokenTree::Ident(id) => into.push(id),
        TokenTree::Group(g) => g.stream().into_iter().for_each(|t| reads_in(t, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(forward: TokenStream, reverse: TokenStream, limit: usize, size: usize) -> String {
        let mut n = 0;
        let mut fresh = |base: &str| {
            n += 1;
            Ident::new(&format!("{base}{n}"), proc_macro2::Span::call_site())
        };
        // `a` is not a scalar here, so it is passed as one that may be moved.
        let scalars = ["t", "y", "d_x", "d_t"].map(String::from).into();
        Chunker {
            providers: HashMap::new(),
            scalars,
            fresh: &mut fresh,
            limit,
            size,
        }
        .forward_body(forward, quote!(y), quote!(d: f64), reverse, quote!((d_x,)))
        .to_string()
    }

    #[test]
    fn short_sweeps_are_left_as_they_are() {
        let out = run(quote!(let y = x * 2.0;), quote!(let d_x = d * 2.0;), 2, 1);
        let expected = quote! {
            let y = x * 2.0;
            (y, move |d: f64| { let d_x = d * 2.0; (d_x,) })
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn chunks_pass_what_later_code_reads_and_hand_on_what_they_update() {
        let forward = quote! {
            let a = x * 2.0;
            let mut t = a + 1.0;
            t += a;
            let y = t * t;
        };
        let reverse = quote! {
            let mut d_x = -0.0;
            let d_t = d * 2.0 * t;
            d_x += d_t * a;
            d_x += d_t;
        };
        let expected = quote! {
            let (chunk1, owned2) = ::neuron::__private::chunk(|| {
                let a = x * 2.0;
                let mut t = a + 1.0;
                ((t,), (a,))
            });
            let (chunk3, owned4) = ::neuron::__private::chunk(|| {
                let mut t = (&chunk1).0;
                let a = owned2.0;
                t += a;
                let y = t * t;
                ((t, y,), ())
            });
            (
                { let y = (&chunk3).1; y },
                move |d: f64| {
                    let (chunk5, owned6) = ::neuron::__private::chunk(|| {
                        let mut t = (&chunk3).0;
                        let mut d_x = -0.0;
                        let d_t = d * 2.0 * t;
                        ((d_x, d_t,), ())
                    });
                    let (chunk7, owned8) = ::neuron::__private::chunk(|| {
                        let mut d_x = (&chunk5).0;
                        let d_t = (&chunk5).1;
                        let a = owned2.0;
                        d_x += d_t * a;
                        d_x += d_t;
                        ((d_x,), ())
                    });
                    { let mut d_x = (&chunk7).0; (d_x,) }
                }
            )
        };
        assert_eq!(run(forward, reverse, 3, 2), expected.to_string());
    }

    #[test]
    fn tuple_patterns_bind_each_name_and_if_let_binds_none() {
        let scan = Scan::of(
            &quote!(let (o, mut pb) = g(x); if let Some(y) = z { w += y; } let k: f64 = 1.0;),
        );
        let found: Vec<(String, bool)> = scan
            .binds
            .iter()
            .map(|(n, m)| (n.to_string(), *m))
            .collect();
        let expected = [("o", false), ("pb", true), ("k", false)];
        assert_eq!(found, expected.map(|(n, m)| (n.to_string(), m)));
    }

    /// The whole macro on a function of `n` statements.
    fn expand_statements(n: usize) -> String {
        let stmts = (1..=n).map(|k| format!("let v{k} = (v{} * a).sin();", k - 1));
        let src = format!(
            "fn f(x: f64, a: f64) -> f64 {{ let v0 = x; {} v{n} }}",
            stmts.collect::<String>()
        );
        crate::differentiate(quote!(), src.parse().unwrap()).to_string()
    }

    #[test]
    fn only_a_long_function_is_cut() {
        let calls = |s: &str| s.matches("__private :: chunk").count();
        assert_eq!(calls(&expand_statements(LIMIT / 8)), 0);
        // The forward sweep (n statements) and the reverse (about 2n) are cut.
        let long = expand_statements(4 * LIMIT);
        assert!(
            calls(&long) >= 3 * 4 * LIMIT / SIZE,
            "{} chunks",
            calls(&long)
        );
        assert!(!long.contains("compile_error"));
    }
}
