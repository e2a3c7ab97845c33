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
//! Closures are type-checked with the function around them, so for rustc's
//! front end a sweep of closures is still one body. Where everything a chunk
//! takes in and hands on has a type the macro knows (see `Scope`), the chunk
//! is a function item instead, a body of its own (see `Chunker::function`).
//! Local arrays, tapes of arrays and pullbacks keep the closure.
//!
//! This works on the emitted tokens and knows nothing of the IR beyond the
//! names' types: a name counts as read wherever it appears, which can only
//! pass more than needed.

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
    scope: Scope,
    fresh: &mut dyn FnMut(&str) -> Ident,
) -> TokenStream {
    Chunker {
        providers: HashMap::new(),
        locals: HashMap::new(),
        scope,
        fresh,
        limit: LIMIT,
        size: SIZE,
    }
    .forward_body(forward, output, params, reverse, grads)
}

/// What the chunker knows of the names and types around the sweeps.
pub struct Scope {
    /// Names of `Copy` scalars the sweeps bind (see `Context::scalar_names`).
    pub scalars: HashSet<String>,
    /// The types of what the sweeps bind, where known (see
    /// `Context::known_types`).
    pub types: HashMap<String, TokenStream>,
    /// The function's parameters, with the type a chunk function takes each
    /// as (see `Param::copy_type`).
    pub params: Vec<(Ident, Option<TokenStream>)>,
    /// The pullback's `d_output`, and its type if it is a float.
    pub d_output: (Ident, Option<TokenStream>),
    /// Statements the pullback runs before its reverse sweep, in no chunk:
    /// what they bind, chunks take as they take the parameters (the mask of
    /// active arguments, see `Context::active`, which a chunk function could
    /// not compute: it cannot name the generic parameter it comes from).
    pub prelude: TokenStream,
}

/// Where a chunk returned a name: field `field` of tuple `tuple`.
struct Provider {
    tuple: Ident,
    field: usize,
    mutable: bool,
    /// In the tuple of scalars, read through a reference to the whole tuple.
    scalar: bool,
    /// The name of the tuple's type, if every field's type is known.
    alias: Option<Ident>,
}

impl Provider {
    /// The name's value read from outside the chunk that returned it:
    /// `(&tuple).3` for a scalar (borrowing the whole tuple), `tuple.3` for
    /// a value that is moved.
    fn value(&self) -> TokenStream {
        let (t, f) = (&self.tuple, syn::Index::from(self.field));
        match self.scalar {
            true => quote!((&#t).#f),
            false => quote!(#t.#f),
        }
    }

    /// `mut`, if the name is handed on from chunk to chunk.
    fn binding(&self) -> TokenStream {
        match self.mutable {
            true => quote!(mut),
            false => quote!(),
        }
    }
}

/// A chunk as a function (see `Chunker::function`).
struct Function {
    /// The type alias, the function and the call of it.
    tokens: TokenStream,
    /// The name of the type of the tuple of scalars it returns.
    alias: Ident,
}

struct Chunker<'a> {
    providers: HashMap<String, Provider>,
    /// Variables bound outside any chunk (parameters, and the forward
    /// sweep's bindings if it was not cut), with their types if `Copy`.
    locals: HashMap<String, Option<TokenStream>>,
    scope: Scope,
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
        let outer = self.scope.params.iter();
        self.locals = outer.map(|(n, t)| (n.to_string(), t.clone())).collect();
        let forward: Vec<Scan> = statements(forward).into_iter().map(Scan::of).collect();
        let reverse: Vec<Scan> = statements(reverse).into_iter().map(Scan::of).collect();
        // What the code after the forward sweep names. The reverse sweep's
        // scans hold every name in it (inside the compiler, each walk over
        // its tokens is a round of calls across the proc-macro bridge).
        let mut after = HashSet::new();
        for t in [&output, &grads] {
            idents(t, &mut after);
        }
        for s in &reverse {
            let names = s.reads.iter().chain(s.binds.iter().map(|(b, _)| b));
            after.extend(names.map(|n| n.to_string()));
        }
        // Only chunks of the reverse sweep can read an uncut forward's names.
        let forward_binds = match forward.len() <= self.limit && reverse.len() > self.limit {
            true => forward.iter().flat_map(|s| s.binds.clone()).collect(),
            false => Vec::new(),
        };
        let forward = self.sweep(forward, &after);
        let output = self.with_imports(output);
        // Bindings of a forward sweep that was not cut are variables the
        // reverse sweep's chunks may read (those of one that was cut are
        // chunk results, which shadow these).
        for (n, mutable) in forward_binds {
            let ty = self.scope.types.get(&n.to_string()).filter(|_| !mutable);
            self.locals.insert(n.to_string(), ty.cloned());
        }
        let (d_output, ty) = &self.scope.d_output;
        self.locals.insert(d_output.to_string(), ty.clone());
        let mut after = HashSet::new();
        idents(&grads, &mut after);
        let reverse = self.sweep(reverse, &after);
        let grads = self.with_imports(grads);
        let prelude = &self.scope.prelude;
        quote! {
            #forward
            (#output, move |#params| {
                #prelude
                #reverse
                #grads
            })
        }
    }

    /// `stmts`, cut into chunks if there are more than `limit`; `after` is
    /// what the code after them names.
    fn sweep(&mut self, stmts: Vec<Scan>, after: &HashSet<String>) -> TokenStream {
        if stmts.len() <= self.limit {
            let imports = self.imports(&stmts);
            let body = body(&stmts);
            return quote!(#imports #body);
        }
        let mut stmts = stmts.into_iter().peekable();
        let mut chunks: Vec<Vec<Scan>> = Vec::new();
        while stmts.peek().is_some() {
            chunks.push(stmts.by_ref().take(self.size).collect());
        }
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
    /// ((scalar exports), (other exports)) });`, or a function of its own
    /// where it can be one (see `function`).
    ///
    /// Scalars are read as `(&scalars).3`, which borrows the whole tuple: a
    /// closure that read `scalars.3` would capture a pointer to each field it
    /// reads, and building thousands of those in one block of the enclosing
    /// function is what the code generator then takes minutes over. Other
    /// values (arrays, `Vec`s, pullbacks) may have to be moved, so they are
    /// read field by field from a tuple of their own.
    fn chunk(&mut self, stmts: &[Scan], read_after: &dyn Fn(&str) -> bool) -> TokenStream {
        // What the chunk binds, and the `mut` values it takes over; the last
        // binding of a name wins, as it does in a block, and puts the name
        // last. Keyed by text: comparing two `Ident`s inside the compiler
        // turns both into strings.
        // Each name with when it was last taken or bound, and whether `mut`.
        let mut held: HashMap<String, (usize, Ident, bool)> = HashMap::new();
        let mut when = 0;
        for s in stmts {
            for n in &s.reads {
                let key = n.to_string();
                if !held.contains_key(&key) && self.providers.get(&key).is_some_and(|p| p.mutable) {
                    held.insert(key, (when, n.clone(), true));
                    when += 1;
                }
            }
            for (n, m) in &s.binds {
                held.insert(n.to_string(), (when, n.clone(), *m));
                when += 1;
            }
        }
        let mut held: Vec<_> = held
            .into_iter()
            .filter(|(key, _)| read_after(key))
            .map(|(_, h)| h)
            .collect();
        held.sort_unstable_by_key(|h| h.0);
        let (scalars, owned): (Vec<_>, Vec<_>) = held
            .into_iter()
            .map(|(_, n, m)| (n, m))
            .partition(|(n, _)| self.scope.scalars.contains(&n.to_string()));
        let (s, o) = ((self.fresh)("chunk"), (self.fresh)("owned"));
        let function = self.function(stmts, &scalars, &owned, (&s, &o));
        let imports = match function {
            None => self.imports(stmts),
            Some(_) => TokenStream::new(),
        };
        let alias = function.as_ref().map(|f| f.alias.clone());
        for (tuple, held, scalar) in [(&s, &scalars, true), (&o, &owned, false)] {
            for (field, (n, mutable)) in held.iter().enumerate() {
                let provider = Provider {
                    tuple: tuple.clone(),
                    field,
                    mutable: *mutable,
                    scalar,
                    alias: alias.clone().filter(|_| scalar),
                };
                self.providers.insert(n.to_string(), provider);
            }
        }
        if let Some(f) = function {
            return f.tokens;
        }
        let body = body(stmts);
        let (scalars, owned) = (scalars.iter().map(|h| &h.0), owned.iter().map(|h| &h.0));
        quote! {
            let (#s, #o) = ::neuron::__private::chunk(|| {
                #imports
                #body
                ((#(#scalars,)*), (#(#owned,)*))
            });
        }
    }

    /// The chunk as a function of its own, if everything it takes in and
    /// hands on has a known type (`Scope::types`, `Scope::params`,
    /// `d_output`). rustc type-checks a closure as part of the function around
    /// it, so however many chunks there are, a sweep of closures is one body
    /// to it, and its work grows faster than the body does; for incremental
    /// builds it also hashed that body's results once per closure. A function
    /// is a body of its own. The tuples of earlier chunks are passed by
    /// reference, so a call is as short as a closure's captures.
    ///
    /// ```text
    /// type Chunk_1 = (f64, f64);
    /// #[inline(never)]
    /// fn chunk_fn(chunk: &Chunk, x: f64) -> (Chunk_1, ()) {
    ///     let mut d_v2 = chunk.7;   // handed on: taken over
    ///     let v1 = chunk.3 * x;     // only read: read in place
    ///     d_v2 += …;
    ///     ((v1, d_v2), ())
    /// }
    /// let (chunk_1, owned_1) = chunk_fn(&chunk, x);
    /// ```
    fn function(
        &mut self,
        stmts: &[Scan],
        scalars: &[(Ident, bool)],
        owned: &[(Ident, bool)],
        (s, o): (&Ident, &Ident),
    ) -> Option<Function> {
        let type_of = |n: &Ident| self.scope.types.get(&n.to_string());
        // Earlier chunks' tuples of scalars, by reference where their type
        // has a name; anything else (parameters, a closure's results, values
        // that are moved) by value.
        let mut tuples: Vec<(&Ident, &Ident)> = Vec::new();
        let mut passed = HashSet::new();
        let (mut params, mut args) = (Vec::new(), Vec::new());
        let mut imports = TokenStream::new();
        // Scalars that are only read: `chunk.3` where they are read.
        let mut fields = Vec::new();
        for n in self.free_reads(stmts) {
            let key = n.to_string();
            if let Some(p) = self.providers.get(&key) {
                let m = p.binding();
                match &p.alias {
                    Some(alias) => {
                        let (t, f) = (&p.tuple, syn::Index::from(p.field));
                        if passed.insert(t.to_string()) {
                            tuples.push((t, alias));
                        }
                        match p.mutable {
                            true => imports.extend(quote!(let #m #n = #t.#f;)),
                            false => fields.push((n, quote!(#t.#f))),
                        }
                    }
                    None => {
                        let ty = type_of(&n)?;
                        params.push(quote!(#m #n: #ty));
                        args.push(p.value());
                    }
                }
            } else if let Some(local) = self.locals.get(&key) {
                let ty = local.as_ref()?;
                params.push(quote!(#n: #ty));
                args.push(quote!(#n));
            }
        }
        let types = |held: &[(Ident, bool)]| -> Option<Vec<&TokenStream>> {
            held.iter().map(|(n, _)| type_of(n)).collect()
        };
        let (scalar_types, owned_types) = (types(scalars)?, types(owned)?);
        let (name, alias) = ((self.fresh)("chunk_fn"), (self.fresh)("Chunk"));
        let body = read_in_place(stmts, fields, &mut imports);
        let (scalars, owned) = (scalars.iter().map(|h| &h.0), owned.iter().map(|h| &h.0));
        let params = tuples.iter().map(|(t, a)| quote!(#t: &#a)).chain(params);
        let args = tuples.iter().map(|(t, _)| quote!(&#t)).chain(args);
        let tokens = quote! {
            type #alias = (#(#scalar_types,)*);
            #[inline(never)]
            fn #name(#(#params),*) -> (#alias, (#(#owned_types,)*)) {
                #imports
                #body
                ((#(#scalars,)*), (#(#owned,)*))
            }
            let (#s, #o) = #name(#(#args),*);
        };
        Some(Function { tokens, alias })
    }

    /// The names `stmts` read before binding them, each once, in order.
    fn free_reads(&self, stmts: &[Scan]) -> Vec<Ident> {
        let mut bound = HashSet::new();
        let mut done = HashSet::new();
        let mut out = Vec::new();
        for s in stmts {
            for n in &s.reads {
                let key = n.to_string();
                if !bound.contains(&key) && done.insert(key) {
                    out.push(n.clone());
                }
            }
            bound.extend(s.binds.iter().map(|(b, _)| b.to_string()));
        }
        out
    }

    /// `let name = tuple.field;` for each name `stmts` read before binding
    /// it that an earlier chunk returned.
    fn imports(&self, stmts: &[Scan]) -> TokenStream {
        let mut out = TokenStream::new();
        for n in self.free_reads(stmts) {
            if let Some(p) = self.providers.get(&n.to_string()) {
                let (m, value) = (p.binding(), p.value());
                out.extend(quote!(let #m #n = #value;));
            }
        }
        out
    }

    /// `tokens` with the names it reads from chunks bound first.
    fn with_imports(&self, tokens: TokenStream) -> TokenStream {
        let imports = self.imports(&[Scan::of(tokens.clone().into_iter().collect())]);
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
    tokens: Vec<TokenTree>,
    binds: Vec<(Ident, bool)>,
    reads: Vec<Ident>,
}

impl Scan {
    fn of(tts: Vec<TokenTree>) -> Scan {
        let mut binds = Vec::new();
        let mut reads = Vec::new();
        let mut starts = true;
        let mut i = 0;
        while i < tts.len() {
            // A `let` that starts a statement (not an `if let`) binds in the
            // block, up to its `=` or type.
            if starts && matches!(&tts[i], TokenTree::Ident(id) if id == "let") {
                i += 1;
                let start = i;
                while i < tts.len() && !is_punct(&tts[i], '=') && !is_punct(&tts[i], ':') {
                    i += 1;
                }
                pattern_names(tts[start..i].iter().cloned(), false, &mut binds);
                continue;
            }
            starts = is_punct(&tts[i], ';')
                || matches!(&tts[i], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace);
            reads_in(tts[i].clone(), &mut reads);
            i += 1;
        }
        Scan {
            tokens: tts,
            binds,
            reads,
        }
    }
}

/// The statements with each name of `fields` replaced by its field (`v` by
/// `chunk.3`) where it is read. A `let v = chunk.3;` per name would be the
/// same code, but in a debug build every such variable is one more that
/// LLVM keeps debug info for: reading in place took a 10 000-statement
/// function's added build time down by about 0.8 s of 5. A name that also
/// appears as anything but a plain read (a field or method name, in a
/// pattern, a path segment) keeps its `let`, added to `imports`.
///
/// Inside the compiler, each token stream made is a call across the
/// proc-macro bridge: the statements are rewritten as lists of token trees
/// and made into one stream at the end, and a group with nothing to replace
/// is kept as it is.
fn read_in_place(
    stmts: &[Scan],
    fields: Vec<(Ident, TokenStream)>,
    imports: &mut TokenStream,
) -> TokenStream {
    if fields.is_empty() {
        return body(stmts);
    }
    let mut values: HashMap<String, Vec<TokenTree>> = fields
        .iter()
        .map(|(n, value)| (n.to_string(), value.clone().into_iter().collect()))
        .collect();
    let mut other = HashSet::new();
    for s in stmts {
        not_only_read(&s.tokens, &values, &mut other);
    }
    for (n, value) in fields {
        if other.contains(&n.to_string()) {
            values.remove(&n.to_string());
            imports.extend(quote!(let #n = #value;));
        }
    }
    let mut out = Vec::new();
    for s in stmts {
        replace_reads(&s.tokens, &values, &mut out);
    }
    out.into_iter().collect()
}

/// Into `out`, the names of `values` that appear in `tts` other than as
/// a plain read: in the pattern of a `let` or `for`, after `.`, `:`, `|`,
/// `mut`, `as` or `ref`, or before `:`, `!`, `@` or a lone `=`.
fn not_only_read<V>(tts: &[TokenTree], values: &HashMap<String, V>, out: &mut HashSet<String>) {
    let mut pattern = false;
    // Each identifier's text, taken once (inside the compiler, comparing an
    // `Ident` with a string makes a string of it every time).
    let text: Vec<Option<String>> = tts
        .iter()
        .map(|tt| match tt {
            TokenTree::Ident(id) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    for (i, tt) in tts.iter().enumerate() {
        let word = text[i].as_deref();
        match tt {
            TokenTree::Ident(_) if matches!(word, Some("let" | "for")) => pattern = true,
            TokenTree::Ident(_) if word == Some("in") => pattern = false,
            TokenTree::Punct(p) if p.as_char() == '=' || p.as_char() == ';' => pattern = false,
            TokenTree::Group(g) if pattern => {
                let mut all = HashSet::new();
                idents(&g.stream(), &mut all);
                out.extend(all.into_iter().filter(|n| values.contains_key(n)));
            }
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                not_only_read(&inner, values, out);
            }
            TokenTree::Ident(id) if word.is_some_and(|w| values.contains_key(w)) => {
                let before = match i.checked_sub(1).map(|j| (&tts[j], text[j].as_deref())) {
                    Some((TokenTree::Punct(p), _)) => matches!(p.as_char(), '.' | ':' | '|' | '\''),
                    Some((_, Some(k))) => matches!(k, "mut" | "as" | "ref" | "move"),
                    _ => false,
                };
                let after = match tts.get(i + 1) {
                    Some(TokenTree::Punct(p)) => {
                        matches!(p.as_char(), ':' | '!' | '@')
                            || (p.as_char() == '=' && p.spacing() == proc_macro2::Spacing::Alone)
                    }
                    _ => false,
                };
                if pattern || before || after {
                    out.insert(id.to_string());
                }
            }
            _ => {}
        }
    }
}

/// Onto `out`, `tts` with every name of `values` replaced by its value;
/// whether any was.
fn replace_reads(
    tts: &[TokenTree],
    values: &HashMap<String, Vec<TokenTree>>,
    out: &mut Vec<TokenTree>,
) -> bool {
    let mut replaced = false;
    for tt in tts {
        match tt {
            TokenTree::Ident(id) => match values.get(&id.to_string()) {
                Some(value) => {
                    out.extend(value.iter().cloned());
                    replaced = true;
                }
                None => out.push(tt.clone()),
            },
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                let mut new = Vec::with_capacity(inner.len());
                if replace_reads(&inner, values, &mut new) {
                    let mut group =
                        proc_macro2::Group::new(g.delimiter(), new.into_iter().collect());
                    group.set_span(g.span());
                    out.push(TokenTree::Group(group));
                    replaced = true;
                } else {
                    out.push(tt.clone());
                }
            }
            other => out.push(other.clone()),
        }
    }
    replaced
}

/// The statements' tokens, one after the other.
fn body(stmts: &[Scan]) -> TokenStream {
    stmts
        .iter()
        .flat_map(|s| s.tokens.iter().cloned())
        .collect()
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

fn pattern_names(
    pattern: impl IntoIterator<Item = TokenTree>,
    mut mutable: bool,
    out: &mut Vec<(Ident, bool)>,
) {
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

    fn ident(name: &str) -> Ident {
        Ident::new(name, proc_macro2::Span::call_site())
    }

    /// The chunker's scope for `run`: `a` is not a scalar, so it is passed
    /// as one that may be moved, and no type is known.
    fn untyped() -> Scope {
        Scope {
            scalars: ["t", "y", "d_x", "d_t"].map(String::from).into(),
            types: HashMap::new(),
            params: Vec::new(),
            d_output: (ident("d"), None),
            prelude: TokenStream::new(),
        }
    }

    fn run(forward: TokenStream, reverse: TokenStream, limit: usize, size: usize) -> String {
        run_in(untyped(), forward, reverse, limit, size)
    }

    fn run_in(
        scope: Scope,
        forward: TokenStream,
        reverse: TokenStream,
        limit: usize,
        size: usize,
    ) -> String {
        let mut n = 0;
        let mut fresh = |base: &str| {
            n += 1;
            ident(&format!("{base}{n}"))
        };
        Chunker {
            providers: HashMap::new(),
            locals: HashMap::new(),
            scope,
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
        let tokens =
            quote!(let (o, mut pb) = g(x); if let Some(y) = z { w += y; } let k: f64 = 1.0;);
        let scan = Scan::of(tokens.into_iter().collect());
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
        let closures = |s: &str| s.matches("__private :: chunk").count();
        let functions = |s: &str| s.matches("fn chunk_fn").count();
        let short = expand_statements(LIMIT / 8);
        assert_eq!(closures(&short) + functions(&short), 0);
        // The forward sweep (n statements) and the reverse (about 2n) are
        // cut, and with only floats, every chunk is a function.
        let long = expand_statements(4 * LIMIT);
        assert_eq!(closures(&long), 0);
        assert!(
            functions(&long) >= 3 * 4 * LIMIT / SIZE,
            "{} chunks",
            functions(&long)
        );
        assert!(!long.contains("compile_error"));
    }

    #[test]
    fn chunks_of_typed_scalars_are_functions_and_the_others_closures() {
        let forward = quote! {
            let a = x * 2.0;
            let t = a + 1.0;
            let y = t * t;
            let on = t > 0.0;
        };
        let reverse = quote! {
            let d_t = if on { d * 2.0 * t } else { 0.0 };
            let d_x = d_t * 2.0;
        };
        // Everything typed but `x` or `d`, as asked.
        let scope = |x: Option<TokenStream>, d: Option<TokenStream>| {
            let mut scope = untyped();
            scope.scalars.extend(["a", "on"].map(String::from));
            scope.types = ["a", "t", "y", "d_x", "d_t"]
                .into_iter()
                .map(|n| (n.to_string(), quote!(f64)))
                .collect();
            scope.types.insert("on".into(), quote!(bool));
            scope.params = vec![(ident("x"), x)];
            scope.d_output = (ident("d"), d);
            scope
        };
        let run = |scope| run_in(scope, forward.clone(), reverse.clone(), 1, 2);
        let expected = quote! {
            type Chunk4 = (f64,);
            #[inline(never)]
            fn chunk_fn3(x: f64) -> (Chunk4, ()) {
                let a = x * 2.0;
                let t = a + 1.0;
                ((t,), ())
            }
            let (chunk1, owned2) = chunk_fn3(x);
            type Chunk8 = (f64, bool,);
            #[inline(never)]
            fn chunk_fn7(chunk1: &Chunk4) -> (Chunk8, ()) {
                let y = chunk1.0 * chunk1.0;
                let on = chunk1.0 > 0.0;
                ((y, on,), ())
            }
            let (chunk5, owned6) = chunk_fn7(&chunk1);
            (
                { let y = (&chunk5).0; y },
                move |d: f64| {
                    type Chunk12 = (f64,);
                    #[inline(never)]
                    fn chunk_fn11(chunk5: &Chunk8, chunk1: &Chunk4, d: f64) -> (Chunk12, ()) {
                        let d_t = if chunk5.1 { d * 2.0 * chunk1.0 } else { 0.0 };
                        let d_x = d_t * 2.0;
                        ((d_x,), ())
                    }
                    let (chunk9, owned10) = chunk_fn11(&chunk5, &chunk1, d);
                    { let d_x = (&chunk9).0; (d_x,) }
                }
            )
        };
        assert_eq!(
            run(scope(Some(quote!(f64)), Some(quote!(f64)))),
            expected.to_string()
        );

        // `d`'s type unknown: the reverse sweep's chunk, which reads it, is
        // a closure.
        let out = run(scope(Some(quote!(f64)), None));
        assert_eq!(out.matches("fn chunk_fn").count(), 2, "{out}");
        assert_eq!(out.matches("__private :: chunk").count(), 1, "{out}");

        // `x`'s type unknown: the first chunk is a closure, and the next is a
        // function passed that closure's result by value.
        let out = run(scope(None, Some(quote!(f64))));
        assert_eq!(out.matches("fn chunk_fn").count(), 2, "{out}");
        assert_eq!(out.matches("__private :: chunk").count(), 1, "{out}");
        let passed = "fn chunk_fn5 (t : f64) -> (Chunk6 , ()) { let y = t * t ;";
        assert!(out.contains(passed), "{out}");
        assert!(out.contains("chunk_fn5 ((& chunk1) . 0)"), "{out}");
    }

    #[test]
    fn names_read_in_place_unless_they_appear_otherwise() {
        let ident_value = |n: &str, f: usize| {
            let f = syn::Index::from(f);
            (ident(n), quote!(c.#f))
        };
        let fields = vec![
            ident_value("a", 0),
            ident_value("len", 1),
            ident_value("b", 2),
            ident_value("k", 3),
        ];
        // `len` is also a method name, and `k` is bound again in a pattern.
        let body = quote! {
            let y = a * b + x.len() as f64;
            for (i, k) in z { s += k; }
            let w = -a.tanh() + len;
        };
        let mut imports = TokenStream::new();
        let stmts: Vec<Scan> = statements(body).into_iter().map(Scan::of).collect();
        let out = read_in_place(&stmts, fields, &mut imports);
        assert_eq!(
            imports.to_string(),
            quote!(let len = c.1; let k = c.3;).to_string()
        );
        let expected = quote! {
            let y = c.0 * c.2 + x.len() as f64;
            for (i, k) in z { s += k; }
            let w = -c.0.tanh() + len;
        };
        assert_eq!(out.to_string(), expected.to_string());
    }
}
