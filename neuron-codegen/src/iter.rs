//! Iterator chains over arrays and slices, lowered to counted loops:
//! `x.iter().zip(w.iter()).map(|(a, b)| a * b).sum()` becomes a loop that
//! accumulates `x[k] * w[k]`, which the rest of the macro already handles.

use crate::ir::{MemId, Ty, ValueId};
use crate::lower::{strip, Lowerer, Operand, Site};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Error, Expr, Pat};

type Result<T> = std::result::Result<T, Error>;

/// Terminal methods that reduce an iterator to a float.
pub fn is_reduction(name: &str) -> bool {
    matches!(name, "sum" | "product" | "fold")
}

/// An element of the iterator: a value, an array row, or a pair from `zip`/`enumerate`.
enum Elem {
    Op(Operand),
    Pair(Box<Elem>, Box<Elem>),
}

/// Where elements come from and what is done to them on the way.
struct Chain<'e> {
    /// The iterated containers (several with `zip`).
    sources: Vec<Source>,
    /// Adapters after the source, innermost first.
    adapters: Vec<Adapter<'e>>,
}

/// How a source's elements combine: a single container, or a zip/enumerate of others.
enum Source {
    Mem(MemId, Vec<ValueId>),
    Zip(Box<Source>, Box<Source>),
    Enumerate(Box<Source>),
}

enum Adapter<'e> {
    Map(&'e syn::ExprClosure),
}

/// `…sum()`, `…product()`, `…fold(init, |acc, e| …)`.
pub fn reduction(l: &mut Lowerer, m: &syn::ExprMethodCall) -> Result<ValueId> {
    let name = m.method.to_string();
    let chain = parse_chain(l, &m.receiver)?;
    let (init, fold) = match name.as_str() {
        "sum" => (l.constant_float(quote!(0.0)), None),
        "product" => (l.constant_float(quote!(1.0)), None),
        _ => {
            let (Some(init), Some(Expr::Closure(c))) = (m.args.first(), m.args.get(1).map(strip))
            else {
                return Err(Error::new_spanned(
                    m,
                    "`fold` needs an initial value and a closure `|acc, x| …`",
                ));
            };
            let init = l.expr_value(init)?;
            (init, Some(c))
        }
    };
    if matches!(l.value_ty(init), Ty::Int | Ty::Bool) {
        return Err(Error::new_spanned(m, "only float reductions are supported"));
    }
    let acc = l.slot("acc", init);
    let len = chain_len(l, &chain.sources)?;
    let zero = l.zero_int();
    l.counted_loop(zero, len, |l, k| {
        let elem = element(&chain.sources, k);
        let elem = apply_adapters(l, elem, &chain.adapters)?;
        let cur = l.load_slot(acc);
        let new = match (name.as_str(), fold) {
            ("sum", _) | ("product", _) => {
                let v = elem_value(l, elem, &|| m.span())?;
                let op: syn::BinOp = if name == "sum" {
                    syn::parse_quote!(+)
                } else {
                    syn::parse_quote!(*)
                };
                l.binary(&op, cur, v, &|| m.span())?
            }
            (_, Some(c)) => {
                if c.inputs.len() != 2 {
                    return Err(Error::new_spanned(
                        c,
                        "the `fold` closure takes two parameters: `|acc, x|`",
                    ));
                }
                l.new_scope();
                bind_pat(l, &c.inputs[0], Elem::Op(Operand::Value(cur)))?;
                bind_pat(l, &c.inputs[1], elem)?;
                let v = l.expr_value(&c.body);
                l.end_scope();
                v?
            }
            _ => return Err(Error::new_spanned(m, "unsupported reduction")),
        };
        l.store_slot(acc, new);
        Ok(())
    })?;
    Ok(l.load_slot(acc))
}

/// `for (a, b) in x.iter().zip(w.iter()) { … }`.
pub fn for_over_iter(l: &mut Lowerer, f: &syn::ExprForLoop) -> Result<()> {
    let chain = parse_chain(l, &f.expr)?;
    let len = chain_len(l, &chain.sources)?;
    let zero = l.zero_int();
    l.counted_loop(zero, len, |l, k| {
        let elem = element(&chain.sources, k);
        let elem = apply_adapters(l, elem, &chain.adapters)?;
        l.new_scope();
        let r = bind_pat(l, &f.pat, elem).and_then(|_| l.lower_block_value(&f.body.stmts));
        l.end_scope();
        r.map(|_| ())
    })
}

fn parse_chain<'e>(l: &mut Lowerer, e: &'e Expr) -> Result<Chain<'e>> {
    let mut adapters = Vec::new();
    let mut cur = strip(e);
    loop {
        let Expr::MethodCall(m) = cur else {
            return Err(Error::new_spanned(cur, "a `for` loop or reduction must iterate a range (`0..n`) or `x.iter()` with `zip`, `enumerate` and `map`"));
        };
        match m.method.to_string().as_str() {
            "map" => match m.args.first().map(strip) {
                Some(Expr::Closure(c)) if m.args.len() == 1 => adapters.push(Adapter::Map(c)),
                _ => {
                    return Err(Error::new_spanned(
                        &m.args,
                        "`map` needs a closure written inline: write `.map(|x| x.exp())`, not `.map(f64::exp)`",
                    ))
                }
            },
            "iter" | "into_iter" | "zip" | "enumerate" | "copied" | "cloned" => {
                let source = parse_source(l, cur)?;
                adapters.reverse();
                return Ok(Chain {
                    sources: vec![source],
                    adapters,
                });
            }
            other => {
                return Err(Error::new_spanned(&m.method, format!("iterator method `.{other}()` is not supported: use `iter`, `zip`, `enumerate`, `map`, then `sum`, `product` or `fold`, or write a `for` loop over indices")));
            }
        }
        cur = strip(&m.receiver);
    }
}

fn parse_source(l: &mut Lowerer, e: &Expr) -> Result<Source> {
    let e = strip(e);
    if let Expr::MethodCall(m) = e {
        match m.method.to_string().as_str() {
            "iter" | "into_iter" if m.args.is_empty() => return container(l, &m.receiver),
            "copied" | "cloned" if m.args.is_empty() => return parse_source(l, &m.receiver),
            "zip" if m.args.len() == 1 => {
                let a = parse_source(l, &m.receiver)?;
                let b = parse_source(l, &m.args[0])?;
                return Ok(Source::Zip(Box::new(a), Box::new(b)));
            }
            "enumerate" if m.args.is_empty() => {
                let a = parse_source(l, &m.receiver)?;
                return Ok(Source::Enumerate(Box::new(a)));
            }
            _ => {}
        }
    }
    container(l, e)
}

fn container(l: &mut Lowerer, e: &Expr) -> Result<Source> {
    match l.expr(e)? {
        Operand::Place(m, idx) => Ok(Source::Mem(m, idx)),
        Operand::Value(_) => Err(Error::new_spanned(
            e,
            "only arrays, slices and `Vec`s can be iterated",
        )),
    }
}

fn chain_len(l: &mut Lowerer, s: &[Source]) -> Result<ValueId> {
    let mut lens = Vec::new();
    for src in s {
        source_lens(l, src, &mut lens);
    }
    let mut len = lens[0];
    for other in &lens[1..] {
        len = l.int_min(len, *other);
    }
    Ok(len)
}

fn source_lens(l: &mut Lowerer, s: &Source, out: &mut Vec<ValueId>) {
    match s {
        Source::Mem(m, idx) => out.push(l.len_of(*m, idx.clone())),
        Source::Zip(a, b) => {
            source_lens(l, a, out);
            source_lens(l, b, out);
        }
        Source::Enumerate(a) => source_lens(l, a, out),
    }
}

fn element(s: &[Source], k: ValueId) -> Elem {
    let mut elems: Vec<Elem> = s.iter().map(|src| source_elem(src, k)).collect();
    elems.remove(0)
}

fn source_elem(s: &Source, k: ValueId) -> Elem {
    match s {
        Source::Mem(m, idx) => {
            let mut idx = idx.clone();
            idx.push(k);
            Elem::Op(Operand::Place(*m, idx))
        }
        Source::Zip(a, b) => Elem::Pair(Box::new(source_elem(a, k)), Box::new(source_elem(b, k))),
        Source::Enumerate(a) => Elem::Pair(
            Box::new(Elem::Op(Operand::Value(k))),
            Box::new(source_elem(a, k)),
        ),
    }
}

fn apply_adapters(l: &mut Lowerer, mut elem: Elem, adapters: &[Adapter]) -> Result<Elem> {
    for a in adapters {
        match a {
            Adapter::Map(c) => {
                if c.inputs.len() != 1 {
                    return Err(Error::new_spanned(
                        c,
                        "the `map` closure takes one parameter",
                    ));
                }
                l.new_scope();
                let r = bind_pat(l, &c.inputs[0], elem).and_then(|_| l.expr(&c.body));
                l.end_scope();
                elem = Elem::Op(r?);
            }
        }
    }
    Ok(elem)
}

fn elem_value(l: &mut Lowerer, e: Elem, at: Site) -> Result<ValueId> {
    match e {
        Elem::Op(op) => l.scalar(op, at),
        Elem::Pair(..) => Err(Error::new(
            at(),
            "this iterator yields pairs: `map` them to a float before `sum`",
        )),
    }
}

/// Binds a closure or loop pattern (`x`, `&x`, `(a, b)`, `(i, &x)`, `_`) to an element.
fn bind_pat(l: &mut Lowerer, p: &Pat, e: Elem) -> Result<()> {
    match (p, e) {
        (Pat::Reference(r), e) => bind_pat(l, &r.pat, e),
        (Pat::Type(t), e) => bind_pat(l, &t.pat, e),
        (Pat::Paren(pp), e) => bind_pat(l, &pp.pat, e),
        (Pat::Wild(_), _) => Ok(()),
        (Pat::Ident(pi), Elem::Op(op)) if pi.subpat.is_none() && pi.mutability.is_none() => {
            let op = match op {
                Operand::Place(m, idx) if l.mem_rank(m).is_some_and(|r| idx.len() >= r) => Operand::Value(l.load_at(m, idx)),
                other => other,
            };
            match op {
                Operand::Value(v) => l.bind_value(&pi.ident, v),
                Operand::Place(m, idx) => l.bind_place(&pi.ident, m, idx),
            }
            Ok(())
        }
        (Pat::Tuple(t), Elem::Pair(a, b)) if t.elems.len() == 2 => {
            bind_pat(l, &t.elems[0], *a)?;
            bind_pat(l, &t.elems[1], *b)
        }
        (p, _) => Err(Error::new_spanned(p, "this pattern does not match the iterator's elements: use `x`, `&x`, `(a, b)` or `(i, x)`")),
    }
}
