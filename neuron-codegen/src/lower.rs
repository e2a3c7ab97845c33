//! Lowering: the function body becomes the IR of `ir.rs`.
//!
//! Every subexpression becomes a value; `let mut` scalars, arrays and the
//! results of calls become memory objects. Constructs the macro cannot
//! differentiate are reported with a span on the construct and a suggestion.

use crate::ir::*;
use crate::names::Names;
use crate::rules::{self, Arg as RuleArg, Form};
use crate::signature::{Errors, Scalar, Shape, Signature};
use crate::Hygiene;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::{BinOp, Error, Expr, Ident, Pat, Stmt, UnOp};

/// Where an error about a construct points, found only if there is one:
/// syn finds an expression's span by printing it to tokens, which for each
/// operand of a long function cost more than lowering it (inside the
/// compiler, every token printed is a call across the proc-macro bridge).
pub type Site<'a> = &'a dyn Fn() -> proc_macro2::Span;

type Result<T> = std::result::Result<T, Error>;

/// What an expression evaluates to: a scalar value, or a place in memory
/// (a whole array, a row of one, or a scalar element).
#[derive(Clone)]
pub enum Operand {
    Value(ValueId),
    Place(MemId, Vec<ValueId>),
}

#[derive(Clone, Copy)]
enum Binding {
    Value(ValueId),
    Mem(MemId),
}

pub struct Lowerer<'a> {
    sig: &'a Signature,
    pub names: &'a mut Names,
    values: Vec<Value>,
    mems: Vec<Mem>,
    blocks: Vec<BlockInfo>,
    /// Blocks being built, innermost last.
    open: Vec<Block>,
    /// The variables in scope by name, innermost scope last, each with the
    /// hygiene of the identifier that bound it.
    scopes: Vec<HashMap<String, (Binding, Option<u32>)>>,
    hygiene: Hygiene<'a>,
    /// Values made by this lowering that no `let` has named yet.
    unnamed: HashSet<ValueId>,
    /// The tokens of each constant value.
    consts: HashMap<ValueId, TokenStream>,
    annotations: HashMap<MemId, syn::Type>,
    errors: Errors,
}

/// Lowers the body of a function with signature `sig`.
pub fn lower(
    sig: &Signature,
    body: &syn::Block,
    names: &mut Names,
    hygiene: Hygiene,
) -> Result<Ir> {
    let mut l = Lowerer {
        sig,
        names,
        values: Vec::new(),
        mems: Vec::new(),
        blocks: vec![BlockInfo {
            parent: None,
            kind: BlockKind::Top,
        }],
        open: vec![Block {
            id: 0,
            insts: Vec::new(),
        }],
        scopes: vec![HashMap::new()],
        hygiene,
        unnamed: HashSet::new(),
        consts: HashMap::new(),
        annotations: HashMap::new(),
        errors: Errors::default(),
    };
    l.params()?;
    let tail = l.stmts(&body.stmts, true);
    let output = match tail {
        Ok(Some(op)) => l.output(op, body),
        Ok(None) => Err(Error::new_spanned(
            body,
            "the function body must end in the value it returns",
        )),
        Err(e) => Err(e),
    };
    let output = match output {
        Ok(o) => Some(o),
        Err(e) => {
            l.errors.push(e);
            None
        }
    };
    let Lowerer {
        errors,
        values,
        mems,
        annotations,
        blocks,
        mut open,
        ..
    } = l;
    errors.finish()?;
    let body = open
        .pop()
        .ok_or_else(|| Error::new_spanned(body, "internal: no block"))?;
    let output = output.ok_or_else(|| Error::new(body_span(), "internal: no output"))?;
    Ok(Ir {
        values,
        mems,
        annotations,
        blocks,
        body,
        output,
    })
}

fn body_span() -> proc_macro2::Span {
    proc_macro2::Span::call_site()
}

impl<'a> Lowerer<'a> {
    // ----- building blocks -------------------------------------------------

    fn block_id(&self) -> BlockId {
        self.open.last().map_or(0, |b| b.id)
    }

    fn push(&mut self, inst: Inst) {
        if let Some(b) = self.open.last_mut() {
            b.insts.push(inst);
        }
    }

    fn open_block(&mut self, kind: BlockKind) {
        let id = self.blocks.len();
        self.blocks.push(BlockInfo {
            parent: Some(self.block_id()),
            kind,
        });
        self.open.push(Block {
            id,
            insts: Vec::new(),
        });
        self.scopes.push(HashMap::new());
    }

    fn close_block(&mut self) -> Block {
        self.scopes.pop();
        self.open.pop().unwrap_or(Block {
            id: 0,
            insts: Vec::new(),
        })
    }

    fn new_value(&mut self, ty: Ty, base: &str) -> ValueId {
        let name = self.names.fresh(base);
        self.values.push(Value {
            ty,
            name,
            block: self.block_id(),
            loop_var: false,
        });
        self.values.len() - 1
    }

    fn def(&mut self, ty: Ty, op: Op, args: Vec<ValueId>) -> ValueId {
        let dst = self.new_value(ty, "t");
        self.unnamed.insert(dst);
        self.push(Inst::Def { dst, op, args });
        dst
    }

    fn constant(&mut self, ty: Ty, tokens: TokenStream) -> ValueId {
        let dst = self.new_value(ty, "c");
        self.consts.insert(dst, tokens.clone());
        self.push(Inst::Def {
            dst,
            op: Op::Const(tokens),
            args: vec![],
        });
        dst
    }

    fn new_mem(&mut self, base: &str, elem: Ty, rank: Option<usize>, origin: MemOrigin) -> MemId {
        let name = self.names.fresh(base);
        self.mems.push(Mem {
            name,
            elem,
            rank,
            block: self.block_id(),
            origin,
            mutated: false,
        });
        self.mems.len() - 1
    }

    fn bind(&mut self, name: &Ident, b: Binding) {
        let hygiene = (self.hygiene)(name);
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), (b, hygiene));
        }
    }

    /// The variable `name` refers to. Variables are told apart by name
    /// only, so a use from another expansion than the binding's (which
    /// rustc would resolve to another variable, or to none) is an error
    /// rather than a silent wrong gradient.
    fn lookup(&self, name: &Ident) -> Result<Option<Binding>> {
        let text = name.to_string();
        let Some(&(b, bound)) = self.scopes.iter().rev().find_map(|s| s.get(&text)) else {
            return Ok(None);
        };
        match (bound, (self.hygiene)(name)) {
            (Some(a), Some(u)) if a != u => Err(Error::new(
                name.span(),
                format!("this `{text}` and the `{text}` it would refer to come from different macro expansions: rustc keeps them apart (hygiene), but `#[differentiate]` tells variables apart by name only; give one of them another name"),
            )),
            _ => Ok(Some(b)),
        }
    }

    fn ty(&self, v: ValueId) -> Ty {
        self.values[v].ty
    }

    fn is_const(&self, v: ValueId) -> Option<TokenStream> {
        self.consts.get(&v).cloned()
    }

    /// Gives a value the user's name when a `let` binds it.
    fn name_value(&mut self, v: ValueId, name: &Ident) {
        if self.unnamed.remove(&v) {
            self.values[v].name = self.names.fresh(&name.to_string());
        }
    }

    // ----- signature -------------------------------------------------------

    fn params(&mut self) -> Result<()> {
        for (index, p) in self.sig.params.iter().enumerate() {
            let elem = match p.scalar {
                Scalar::Float => Ty::Float,
                Scalar::Int => Ty::Int,
                Scalar::Bool => Ty::Bool,
            };
            match &p.shape {
                Shape::Scalar => {
                    self.values.push(Value {
                        ty: elem,
                        name: p.name.clone(),
                        block: 0,
                        loop_var: false,
                    });
                    let v = self.values.len() - 1;
                    self.push(Inst::Def {
                        dst: v,
                        op: Op::Param(index),
                        args: vec![],
                    });
                    if p.mutable {
                        let m = self.new_mem(&p.name.to_string(), elem, Some(0), MemOrigin::Local);
                        self.push(Inst::Init {
                            mem: m,
                            init: MemInit::Scalar(v),
                        });
                        self.bind(&p.name, Binding::Mem(m));
                    } else {
                        self.bind(&p.name, Binding::Value(v));
                    }
                }
                Shape::Container { rank, by_ref } => {
                    if p.mutable {
                        return Err(Error::new_spanned(&p.name, "`mut` array parameters are not supported: copy into a local (`let mut y = x;`) and change that"));
                    }
                    self.mems.push(Mem {
                        name: p.name.clone(),
                        elem,
                        rank: Some(*rank),
                        block: 0,
                        origin: MemOrigin::Param {
                            index,
                            by_ref: *by_ref,
                        },
                        mutated: false,
                    });
                    let m = self.mems.len() - 1;
                    self.bind(&p.name, Binding::Mem(m));
                }
            }
        }
        Ok(())
    }

    fn output(&mut self, op: Operand, body: &syn::Block) -> Result<Output> {
        // The last statement, or the whole (empty) block.
        let at = || body.stmts.last().map_or_else(|| body.span(), |s| s.span());
        if crate::signature::output_is_scalar(&self.sig.output) {
            let v = self.scalar(op, &at)?;
            if !matches!(self.ty(v), Ty::Float | Ty::Any) {
                return Err(Error::new(
                    at(),
                    "the function returns a float, but this value is an integer or bool",
                ));
            }
            Ok(Output::Value(v))
        } else {
            match op {
                Operand::Place(m, idx) if idx.is_empty() => Ok(Output::Mem(m)),
                Operand::Place(m, idx) => {
                    let rank = self.mems[m].rank.map(|r| r - idx.len());
                    let c = self.new_mem("output", Ty::Float, rank, MemOrigin::Local);
                    self.push(Inst::Init {
                        mem: c,
                        init: MemInit::Copy {
                            from: m,
                            index: idx,
                        },
                    });
                    Ok(Output::Mem(c))
                }
                Operand::Value(_) => Err(Error::new(
                    at(),
                    "the function returns an array, but this is a scalar",
                )),
            }
        }
    }

    // ----- statements ------------------------------------------------------

    /// Lowers statements; returns the value of the tail expression if there
    /// is one. `tail` says whether this block's value is the function's
    /// result, where an early `return` may be rewritten into a branch.
    fn stmts(&mut self, stmts: &[Stmt], tail: bool) -> Result<Option<Operand>> {
        self.parts(&[stmts], tail)
    }

    /// [`Self::stmts`] of the statements of `parts` one after the other. An
    /// early `return`'s branches go on with the statements after it, which
    /// are handed on as slices: copying them at every `return` would make a
    /// run of returns quadratic.
    fn parts(&mut self, parts: &[&[Stmt]], tail: bool) -> Result<Option<Operand>> {
        let count: usize = parts.iter().map(|p| p.len()).sum();
        let mut seen = 0;
        for (p, part) in parts.iter().enumerate() {
            for (i, stmt) in part.iter().enumerate() {
                seen += 1;
                let last = seen == count;
                if tail {
                    if let Stmt::Expr(Expr::Return(r), _) = stmt {
                        return match &r.expr {
                            Some(e) => self.expr(e).map(Some),
                            None => Err(Error::new_spanned(
                                r,
                                "`return` needs a value in a differentiated function",
                            )),
                        };
                    }
                    if let Stmt::Expr(Expr::If(ifx), _) = stmt {
                        if crate::returns::has_return(stmt) {
                            let mut rest = vec![&part[i + 1..]];
                            rest.extend_from_slice(&parts[p + 1..]);
                            return self.early_return(ifx, &rest).map(Some);
                        }
                    }
                }
                match stmt {
                    Stmt::Expr(e, None) if last => {
                        if is_unit_stmt(e) {
                            self.stmt_expr(e)?;
                            return Ok(None);
                        }
                        return self.expr(e).map(Some);
                    }
                    _ => self.stmt(stmt).unwrap_or_else(|e| self.errors.push(e)),
                }
            }
        }
        Ok(None)
    }

    /// `if c { …; return a; } rest` becomes `if c { …; a } else { rest }`.
    fn early_return(&mut self, ifx: &syn::ExprIf, rest: &[&[Stmt]]) -> Result<Operand> {
        if !crate::signature::output_is_scalar(&self.sig.output) {
            return Err(Error::new_spanned(ifx, "an early `return` from a function that returns an array is not supported: assign the result to a `let mut` array in each branch and return it at the end"));
        }
        let else_if;
        let els: &[Stmt] = match &ifx.else_branch {
            None => &[],
            Some((_, e)) => match &**e {
                Expr::Block(b) => &b.block.stmts,
                other => {
                    else_if = [Stmt::Expr(other.clone(), None)];
                    &else_if
                }
            },
        };
        let then = arm_end(&ifx.then_branch.stmts, rest);
        let other = arm_end(els, rest);
        let cond = self.expr_value(&ifx.cond)?;
        self.if_value(
            cond,
            |l| l.returning_arm(&ifx.then_branch.stmts, &then),
            |l| l.returning_arm(els, &other),
            &|| ifx.span(),
        )
    }

    /// A branch of an early return: its statements as `arm_end` ends them,
    /// then the rest of the function's.
    fn returning_arm(&mut self, stmts: &[Stmt], end: &ArmEnd) -> Result<Option<Operand>> {
        let mut parts: Vec<&[Stmt]> = Vec::with_capacity(end.rest.len() + 2);
        parts.push(&stmts[..end.keep]);
        parts.extend(end.last.as_slice().iter().map(std::slice::from_ref));
        parts.extend_from_slice(end.rest);
        self.parts(&parts, true)
    }

    fn stmt(&mut self, stmt: &Stmt) -> Result<()> {
        let r = self.stmt_checked(stmt);
        if r.is_err() {
            // Names a failed `let` would have bound get a placeholder, so the
            // error is reported once, not again at every use.
            if let Stmt::Local(local) = stmt {
                self.poison(&local.pat);
            }
        }
        r
    }

    fn poison(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        pattern_names(pat, &mut names);
        for n in names {
            // A float slot: it can be read, assigned and indexed without
            // more errors (nothing is generated once there is an error).
            let m = self.new_mem(&n.to_string(), Ty::Float, None, MemOrigin::Local);
            self.bind(&n, Binding::Mem(m));
        }
    }

    fn stmt_checked(&mut self, stmt: &Stmt) -> Result<()> {
        if let Stmt::Local(syn::Local {
            init:
                Some(syn::LocalInit {
                    diverge: Some((_, e)),
                    ..
                }),
            ..
        }) = stmt
        {
            return Err(Error::new_spanned(e, "`let … else` is not supported in a differentiated function: test a bool with `if` instead"));
        }
        let nested_return = match stmt {
            Stmt::Item(_) => None,
            _ => crate::returns::first_return(stmt),
        };
        if let Some(at) = nested_return {
            return Err(Error::new(at, "`return` is only supported as an early exit from the function body or from an `if` in it, not inside a loop: compute the value and return it after the loop"));
        }
        match stmt {
            Stmt::Local(local) => self.local(local),
            // A lone `;` is an empty statement.
            Stmt::Expr(Expr::Verbatim(t), _) if t.is_empty() => Ok(()),
            Stmt::Expr(e, _) => self.stmt_expr(e),
            Stmt::Item(item) => Err(Error::new_spanned(item, "items (fn, struct, use, const, …) inside a differentiated function are not supported: define them outside it")),
            Stmt::Macro(m) => self.macro_stmt(&m.mac),
        }
    }

    fn local(&mut self, local: &syn::Local) -> Result<()> {
        let (pat, annotation) = match &local.pat {
            Pat::Type(pt) => (&*pt.pat, Some(&*pt.ty)),
            p => (p, None),
        };
        let Some(init) = &local.init else {
            return Err(Error::new_spanned(
                local,
                "a `let` without a value is not supported: initialise it (`let mut y = 0.0;`)",
            ));
        };
        if let Some((_, e)) = &init.diverge {
            return Err(Error::new_spanned(
                e,
                "`let … else` is not supported in a differentiated function",
            ));
        }
        let (ident, mutable) = match pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => (pi.ident.clone(), pi.mutability.is_some()),
            Pat::Wild(_) => {
                self.expr(&init.expr)?;
                return Ok(());
            }
            other => return Err(Error::new_spanned(other, "only simple `let` bindings are supported (`let y = …;`, `let mut y = …;`): destructuring is not")),
        };
        let ann_rank = annotation.map(type_rank);
        let ann_elem = annotation.and_then(type_elem);
        let op = self.expr(&init.expr)?;
        let op = self.settle(op, ann_rank);
        match (op, mutable) {
            (Operand::Value(v), false) => {
                // `let t: f64 = K;`: the annotation settles a constant's type.
                if let (Ty::Any, Some(t)) = (self.ty(v), ann_elem) {
                    self.values[v].ty = t;
                }
                self.name_value(v, &ident);
                self.bind(&ident, Binding::Value(v));
            }
            (Operand::Value(v), true) => {
                let elem = match (self.ty(v), ann_elem) {
                    (_, Some(t)) => t,
                    (Ty::Any, None) => {
                        return Err(Error::new_spanned(local, format!("add a type to this `let mut`: the type of `{}` is not known here (`let mut {}: usize = …;` or `: f64`)", crate::text(&init.expr), ident)));
                    }
                    (t, None) => t,
                };
                let m = self.new_mem(&ident.to_string(), elem, Some(0), MemOrigin::Local);
                if let Some(t) = annotation {
                    self.annotations.insert(m, t.clone());
                }
                self.push(Inst::Init {
                    mem: m,
                    init: MemInit::Scalar(v),
                });
                self.bind(&ident, Binding::Mem(m));
            }
            (Operand::Place(m, idx), _) => {
                let name = self.names.fresh(&ident.to_string());
                let fresh_call = idx.is_empty()
                    && !mutable
                    && matches!(self.mems[m].origin, MemOrigin::CallOutput { .. })
                    && self.mems[m].block == self.block_id();
                let fresh_local = idx.is_empty() && self.unnamed_mem(m);
                if fresh_call || fresh_local {
                    // The call's result or a literal array: name it, no copy.
                    self.mems[m].name = name;
                    if let (Some(r), None) = (ann_rank, self.mems[m].rank) {
                        self.mems[m].rank = Some(r);
                    }
                    if let (Some(t), true) = (annotation, fresh_local) {
                        self.annotations.insert(m, t.clone());
                    }
                    self.bind(&ident, Binding::Mem(m));
                } else {
                    let rank = self.mems[m]
                        .rank
                        .map(|r| r.saturating_sub(idx.len()))
                        .or(ann_rank);
                    let elem = self.mems[m].elem;
                    self.mems.push(Mem {
                        name,
                        elem,
                        rank,
                        block: self.block_id(),
                        origin: MemOrigin::Local,
                        mutated: false,
                    });
                    let c = self.mems.len() - 1;
                    if let Some(t) = annotation {
                        self.annotations.insert(c, t.clone());
                    }
                    self.push(Inst::Init {
                        mem: c,
                        init: MemInit::Copy {
                            from: m,
                            index: idx,
                        },
                    });
                    self.bind(&ident, Binding::Mem(c));
                }
            }
        }
        Ok(())
    }

    fn unnamed_mem(&self, m: MemId) -> bool {
        matches!(self.mems[m].origin, MemOrigin::Local)
            && self.mems[m].name.to_string().starts_with("array")
            && self.mems[m].block == self.block_id()
    }

    /// A place that reaches a scalar becomes a loaded value.
    fn settle(&mut self, op: Operand, ann_rank: Option<usize>) -> Operand {
        match op {
            Operand::Place(m, idx) => {
                let full = match self.mems[m].rank {
                    Some(r) => idx.len() >= r,
                    None => ann_rank == Some(0) || (!idx.is_empty() && ann_rank.is_none()),
                };
                if full {
                    Operand::Value(self.load(m, idx))
                } else {
                    Operand::Place(m, idx)
                }
            }
            v => v,
        }
    }

    fn load(&mut self, mem: MemId, index: Vec<ValueId>) -> ValueId {
        let ty = self.mems[mem].elem;
        let dst = self.new_value(ty, "t");
        self.unnamed.insert(dst);
        self.push(Inst::Load { dst, mem, index });
        dst
    }

    fn stmt_expr(&mut self, e: &Expr) -> Result<()> {
        match e {
            Expr::Assign(a) => {
                let (mem, index) = self.target(&a.left, true)?;
                let rhs = self.expr(&a.right)?;
                match self.settle(rhs, None) {
                    Operand::Value(src) => self.store(mem, index, src, &|| a.span()),
                    Operand::Place(from, from_index) => {
                        self.mems[mem].mutated = true;
                        self.push(Inst::CopyInto { mem, index, from, from_index });
                        Ok(())
                    }
                }
            }
            Expr::Binary(b) if is_compound(&b.op) => {
                let (mem, index) = self.target(&b.left, false)?;
                let rhs = self.expr_value(&b.right)?;
                let cur = self.load(mem, index.clone());
                let new = self.binary(&b.op, cur, rhs, &|| b.span())?;
                self.store(mem, index, new, &|| b.span())
            }
            Expr::ForLoop(f) => self.for_loop(f),
            Expr::While(w) => self.while_loop(w),
            Expr::If(ifx) => self.if_stmt(ifx),
            Expr::Block(b) if b.label.is_none() => {
                self.scopes.push(HashMap::new());
                let r = self.stmts(&b.block.stmts, false);
                self.scopes.pop();
                r.map(|_| ())
            }
            Expr::Loop(l) => Err(Error::new(l.loop_token.span, "`loop` is not supported: write a `while` loop with the exit condition, or a `for` loop over a range")),
            Expr::Break(b) => Err(Error::new_spanned(b, "`break` is not supported: use a `while` loop whose condition says when to stop")),
            Expr::Continue(c) => Err(Error::new_spanned(c, "`continue` is not supported: put the rest of the loop body in an `if`")),
            Expr::Unsafe(u) => Err(Error::new(u.unsafe_token.span, "`unsafe` blocks are not supported in a differentiated function: compute the value outside and pass it in as a `#[no_grad]` parameter")),
            Expr::Macro(m) => self.macro_stmt(&m.mac),
            other => self.expr(other).map(|_| ()),
        }
    }

    /// A macro as a statement: an assertion, or an error.
    fn macro_stmt(&mut self, mac: &syn::Macro) -> Result<()> {
        match crate::assertion::checked_operands(&mac.path) {
            Some(checked) => crate::assertion::lower(self, mac, checked),
            None => Err(Error::new_spanned(mac, format!("macro `{}!` is not supported in a differentiated function (only `assert!`, `assert_eq!`, `assert_ne!` and their `debug_` forms are): move it out of the function, or write the computation as plain expressions", crate::text(&mac.path)))),
        }
    }

    /// Adds an assertion to the block being built.
    pub fn assert(&mut self, a: Assertion) {
        self.push(Inst::Assert(a));
    }

    fn store(&mut self, mem: MemId, index: Vec<ValueId>, src: ValueId, at: Site) -> Result<()> {
        let elem = self.mems[mem].elem;
        let st = self.ty(src);
        let ok = st == elem || st == Ty::Any || (elem == Ty::Any);
        if !ok {
            return Err(Error::new(
                at(),
                "this assigns a value of another type than the variable holds (float vs integer)",
            ));
        }
        self.mems[mem].mutated = true;
        self.push(Inst::Store { mem, index, src });
        Ok(())
    }

    /// The memory place an assignment writes.
    fn target(&mut self, e: &Expr, whole_ok: bool) -> Result<(MemId, Vec<ValueId>)> {
        match self.expr(e)? {
            Operand::Place(m, idx) => {
                match &self.mems[m].origin {
                    MemOrigin::Param { .. } => Err(Error::new_spanned(e, "parameters cannot be assigned to: copy into a local first (`let mut y = x;`)")),
                    MemOrigin::CallOutput { .. } => Err(Error::new_spanned(e, "the result of a call cannot be assigned to: copy it into a `let mut` first")),
                    MemOrigin::Local => {
                        if let Some(r) = self.mems[m].rank {
                            if idx.len() < r && !whole_ok {
                                return Err(Error::new_spanned(e, "compound assignment to a whole array is not supported: update its elements (`y[i] += …`) in a loop"));
                            }
                        }
                        Ok((m, idx))
                    }
                }
            }
            Operand::Value(_) => Err(Error::new_spanned(e, "only `let mut` variables and elements of `let mut` arrays can be assigned to: declare it with `let mut`")),
        }
    }

    // ----- control flow ----------------------------------------------------

    fn for_loop(&mut self, f: &syn::ExprForLoop) -> Result<()> {
        if let Some(l) = &f.label {
            return Err(Error::new_spanned(l, "loop labels are not supported in a differentiated function: remove the label and put the exit test in a `while` condition"));
        }
        let (range, rev) = match strip(&f.expr) {
            Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => {
                (strip(&m.receiver), true)
            }
            other => (other, false),
        };
        let Expr::Range(r) = range else {
            return crate::iter::for_over_iter(self, f);
        };
        let (Some(start), Some(end)) = (&r.start, &r.end) else {
            return Err(Error::new_spanned(
                r,
                "a `for` loop needs a range with both ends (`0..n`, `a..=b`)",
            ));
        };
        let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
        let lo = self.expr_value(start)?;
        let hi = self.expr_value(end)?;
        for (v, e) in [(lo, start), (hi, end)] {
            if matches!(self.ty(v), Ty::Float | Ty::Bool) {
                return Err(Error::new_spanned(e, "a loop bound must be an integer"));
            }
        }
        let trips = match (
            self.is_const(lo).and_then(int_literal),
            self.is_const(hi).and_then(int_literal),
        ) {
            // `a..=u64::MAX` has no trip count that fits: known only at run time.
            (Some(a), Some(b)) => b
                .checked_add(u64::from(inclusive))
                .map(|end| end.saturating_sub(a)),
            _ => None,
        };
        let var_name = match &*f.pat {
            Pat::Ident(pi)
                if pi.by_ref.is_none() && pi.subpat.is_none() && pi.mutability.is_none() =>
            {
                Some(pi.ident.clone())
            }
            Pat::Wild(_) => None,
            other => {
                return Err(Error::new_spanned(
                    other,
                    "the loop variable must be a plain name or `_`",
                ))
            }
        };
        self.open_block(BlockKind::For { trips });
        let var = self.new_value(
            Ty::Int,
            &var_name.as_ref().map_or("i".into(), |n| n.to_string()),
        );
        self.values[var].loop_var = true;
        if let Some(n) = &var_name {
            self.bind(n, Binding::Value(var));
        }
        let r = self.stmts(&f.body.stmts, false);
        let body = self.close_block();
        r?;
        self.push(Inst::For {
            var,
            lo,
            hi,
            inclusive,
            rev,
            body,
        });
        Ok(())
    }

    /// Lowers a `for` loop over `lo..hi` whose body the caller builds.
    pub fn counted_loop(
        &mut self,
        lo: ValueId,
        hi: ValueId,
        body: impl FnOnce(&mut Self, ValueId) -> Result<()>,
    ) -> Result<()> {
        let trips = match (
            self.is_const(lo).and_then(int_literal),
            self.is_const(hi).and_then(int_literal),
        ) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        self.open_block(BlockKind::For { trips });
        let var = self.new_value(Ty::Int, "k");
        self.values[var].loop_var = true;
        let r = body(self, var);
        let body = self.close_block();
        r?;
        self.push(Inst::For {
            var,
            lo,
            hi,
            inclusive: false,
            rev: false,
            body,
        });
        Ok(())
    }

    fn while_loop(&mut self, w: &syn::ExprWhile) -> Result<()> {
        if let Some(l) = &w.label {
            return Err(Error::new_spanned(l, "loop labels are not supported in a differentiated function: remove the label and put the exit test in a `while` condition"));
        }
        if let Expr::Let(l) = &*w.cond {
            return Err(Error::new_spanned(
                l,
                "`while let` is not supported: use a `while` loop with a boolean condition",
            ));
        }
        self.open_block(BlockKind::Cond);
        let c = self.expr_value(&w.cond);
        let cond = self.close_block();
        let cond_value = c?;
        if self.ty(cond_value) != Ty::Bool {
            return Err(Error::new_spanned(
                &w.cond,
                "a `while` condition must be a bool",
            ));
        }
        self.open_block(BlockKind::While);
        let r = self.stmts(&w.body.stmts, false);
        let body = self.close_block();
        r?;
        let count = self.new_value(Ty::Int, "iterations");
        self.push(Inst::While {
            cond,
            cond_value,
            body,
            count,
        });
        Ok(())
    }

    fn if_stmt(&mut self, ifx: &syn::ExprIf) -> Result<()> {
        if let Expr::Let(l) = &*ifx.cond {
            return Err(Error::new_spanned(
                l,
                "`if let` is not supported: use a boolean condition",
            ));
        }
        let cond = self.expr_value(&ifx.cond)?;
        if self.ty(cond) != Ty::Bool {
            return Err(Error::new_spanned(
                &ifx.cond,
                "an `if` condition must be a bool",
            ));
        }
        self.open_block(BlockKind::Arm);
        let r = self.stmts(&ifx.then_branch.stmts, false);
        let then = self.close_block();
        r?;
        self.open_block(BlockKind::Arm);
        let r = match &ifx.else_branch {
            None => Ok(()),
            Some((_, e)) => match &**e {
                Expr::Block(b) => self.stmts(&b.block.stmts, false).map(|_| ()),
                Expr::If(inner) => self.if_stmt(inner),
                other => self.stmt_expr(other),
            },
        };
        let els = self.close_block();
        r?;
        self.push(Inst::If { cond, then, els });
        Ok(())
    }

    /// An `if` whose arms give a scalar: each arm stores into a slot, read after.
    fn if_value(
        &mut self,
        cond: ValueId,
        then: impl FnOnce(&mut Self) -> Result<Option<Operand>>,
        els: impl FnOnce(&mut Self) -> Result<Option<Operand>>,
        at: Site,
    ) -> Result<Operand> {
        if self.ty(cond) != Ty::Bool {
            return Err(Error::new(at(), "an `if` condition must be a bool"));
        }
        let (mut then_b, then_v) = self.arm(then, at)?;
        let (mut els_b, els_v) = self.arm(els, at)?;
        let ty = match (self.ty(then_v), self.ty(els_v)) {
            (Ty::Any, t) | (t, Ty::Any) => t,
            (a, b) if a == b => a,
            _ => {
                return Err(Error::new(
                    at(),
                    "the arms of this `if` give values of different types",
                ))
            }
        };
        let ty = if ty == Ty::Any { Ty::Float } else { ty };
        let zero = self.constant(ty, zero_of(ty));
        let slot = self.new_mem("if_value", ty, Some(0), MemOrigin::Local);
        self.mems[slot].mutated = true;
        self.push(Inst::Init {
            mem: slot,
            init: MemInit::Scalar(zero),
        });
        then_b.insts.push(Inst::Store {
            mem: slot,
            index: vec![],
            src: then_v,
        });
        els_b.insts.push(Inst::Store {
            mem: slot,
            index: vec![],
            src: els_v,
        });
        self.push(Inst::If {
            cond,
            then: then_b,
            els: els_b,
        });
        Ok(Operand::Value(self.load(slot, vec![])))
    }

    /// One arm of a value-giving `if`, as a block and the value it ends with.
    fn arm(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Option<Operand>>,
        at: Site,
    ) -> Result<(Block, ValueId)> {
        self.open_block(BlockKind::Arm);
        let r = f(self).and_then(|op| match op {
            Some(op) => self.scalar(op, at),
            None => Err(Error::new(
                at(),
                "both arms of this `if` must give a value (an `else` is needed)",
            )),
        });
        let b = self.close_block();
        Ok((b, r?))
    }

    // ----- expressions -----------------------------------------------------

    /// Lowers an expression to a scalar value.
    pub fn expr_value(&mut self, e: &Expr) -> Result<ValueId> {
        let op = self.expr(e)?;
        self.scalar(op, &|| e.span())
    }

    /// A scalar from an operand, loading it if it is a place.
    pub fn scalar(&mut self, op: Operand, at: Site) -> Result<ValueId> {
        match op {
            Operand::Value(v) => Ok(v),
            Operand::Place(m, idx) => {
                if let Some(r) = self.mems[m].rank {
                    if idx.len() < r {
                        return Err(Error::new(
                            at(),
                            format!(
                                "`{}` is an array here, but a scalar is needed: index it",
                                self.mems[m].name
                            ),
                        ));
                    }
                }
                Ok(self.load(m, idx))
            }
        }
    }

    pub fn expr(&mut self, e: &Expr) -> Result<Operand> {
        match e {
            Expr::Lit(l) => self.literal(&l.lit).map(Operand::Value),
            Expr::Path(p) => self.path(p),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Reference(r) => {
                if r.mutability.is_some() {
                    return Err(Error::new_spanned(r, "`&mut` is not supported in a differentiated function"));
                }
                self.expr(&r.expr)
            }
            Expr::Unary(u) => self.unary(u),
            Expr::Binary(b) => {
                if is_compound(&b.op) {
                    return Err(Error::new_spanned(b, "compound assignment is a statement: end it with `;`"));
                }
                if matches!(b.op, BinOp::And(_) | BinOp::Or(_)) {
                    return self.short_circuit(b);
                }
                let a = self.expr_value(&b.left)?;
                let c = self.expr_value(&b.right)?;
                self.binary(&b.op, a, c, &|| b.span()).map(Operand::Value)
            }
            Expr::Index(ix) => {
                if let Expr::Range(r) = strip(&ix.index) {
                    return Err(Error::new_spanned(r, "a part of an array or slice (`x[a..b]`) is not supported: pass the whole slice and the offset as an integer argument, or copy the elements into an array (`[x[1], x[2]]`)"));
                }
                let base = self.expr(&ix.expr)?;
                let i = self.expr_value(&ix.index)?;
                if matches!(self.ty(i), Ty::Float | Ty::Bool) {
                    return Err(Error::new_spanned(&ix.index, "an index must be an integer: convert with `as usize`"));
                }
                match base {
                    Operand::Place(m, mut idx) => {
                        if let Some(r) = self.mems[m].rank {
                            if idx.len() >= r {
                                return Err(Error::new_spanned(ix, "too many indices: this is already a scalar"));
                            }
                        }
                        idx.push(i);
                        Ok(Operand::Place(m, idx))
                    }
                    Operand::Value(_) => Err(Error::new_spanned(&ix.expr, "only arrays, slices and `Vec`s can be indexed")),
                }
            }
            Expr::MethodCall(m) => self.method(m),
            Expr::Call(c) => self.call(c),
            Expr::Cast(c) => self.cast(c),
            Expr::If(ifx) => {
                if let Expr::Let(l) = &*ifx.cond {
                    return Err(Error::new_spanned(l, "`if let` is not supported: use a boolean condition"));
                }
                let cond = self.expr_value(&ifx.cond)?;
                let then = ifx.then_branch.stmts.clone();
                let els = ifx.else_branch.clone();
                self.if_value(
                    cond,
                    |l| l.stmts(&then, false),
                    |l| match els {
                        None => Ok(None),
                        Some((_, e)) => match *e {
                            Expr::Block(b) => l.stmts(&b.block.stmts, false),
                            other => l.expr(&other).map(Some),
                        },
                    },
                    &|| ifx.span(),
                )
            }
            Expr::Block(b) if b.label.is_none() => {
                self.scopes.push(HashMap::new());
                let r = self.stmts(&b.block.stmts, false);
                self.scopes.pop();
                r?.ok_or_else(|| Error::new_spanned(b, "this block has no value: end it with an expression"))
            }
            Expr::Array(a) => self.array_literal(a),
            Expr::Repeat(r) => self.repeat(r),
            Expr::Macro(m) if m.mac.path.is_ident("vec") => self.vec_macro(m),
            Expr::Macro(m) => Err(Error::new_spanned(m, format!("macro `{}!` is not supported in a differentiated function: write the computation as plain expressions", crate::text(&m.mac.path)))),
            Expr::Unsafe(u) => Err(Error::new(u.unsafe_token.span, "`unsafe` blocks are not supported in a differentiated function: compute the value outside and pass it in as a `#[no_grad]` parameter")),
            Expr::Closure(c) => Err(Error::new_spanned(c, "closures are only supported as arguments of iterator adapters (`map`, `fold`): write the computation inline")),
            Expr::Field(f) => Err(Error::new_spanned(f, "struct fields are not supported: pass the values as separate parameters (floats, arrays, slices)")),
            Expr::Tuple(t) => Err(Error::new_spanned(t, "tuples are not supported: use an array, or return one value")),
            Expr::Try(t) => Err(Error::new_spanned(t, "`?` is not supported in a differentiated function")),
            Expr::Range(r) => Err(Error::new_spanned(r, "a range is only supported as the iterator of a `for` loop")),
            Expr::Loop(l) => Err(Error::new(l.loop_token.span, "`loop` is not supported: write a `while` loop with the exit condition, or a `for` loop over a range")),
            Expr::Async(a) => Err(Error::new_spanned(a, "`async` blocks are not supported in a differentiated function: compute the value with plain expressions")),
            Expr::Await(a) => Err(Error::new_spanned(a, "`.await` is not supported")),
            Expr::Struct(s) => Err(Error::new_spanned(s, "struct literals are not supported in a differentiated function: use separate `let`s or an array")),
            Expr::Match(m) => Err(Error::new(m.match_token.span, "`match` is not supported: write it as `if` / `else if` / `else`")),
            Expr::Return(r) => Err(Error::new_spanned(r, "`return` is only supported as an early exit from the function body or from an `if` in it")),
            other => Err(Error::new_spanned(other, format!("`{}` is not supported in a differentiated function", crate::text(other)))),
        }
    }

    fn literal(&mut self, lit: &syn::Lit) -> Result<ValueId> {
        let ty = match lit {
            syn::Lit::Float(f) => {
                if f.suffix().is_empty() || self.sig.float == f.suffix() {
                    Ty::Float
                } else {
                    return Err(Error::new_spanned(
                        f,
                        format!(
                            "this literal is `{}` but the function computes in `{}`",
                            f.suffix(),
                            self.sig.float
                        ),
                    ));
                }
            }
            syn::Lit::Int(i) => match i.suffix() {
                "f64" | "f32" => Ty::Float,
                _ => Ty::Int,
            },
            syn::Lit::Bool(_) => Ty::Bool,
            other => {
                return Err(Error::new_spanned(
                    other,
                    "only number and bool literals are supported",
                ))
            }
        };
        Ok(self.constant(ty, lit.to_token_stream()))
    }

    fn path(&mut self, p: &syn::ExprPath) -> Result<Operand> {
        if p.qself.is_none() && p.path.segments.len() == 1 {
            let id = &p.path.segments[0].ident;
            if let Some(b) = self.lookup(id)? {
                return Ok(match b {
                    Binding::Value(v) => Operand::Value(v),
                    Binding::Mem(m) => Operand::Place(m, vec![]),
                });
            }
        }
        // A constant: `PI`, `f64::EPSILON`, `std::f64::consts::PI`, a user `const`.
        let segs: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let float_path = segs
            .iter()
            .any(|s| s == "f64" || s == "f32" || s == "consts");
        let last = segs.last().cloned().unwrap_or_default();
        let is_const_name = last
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !is_const_name {
            return Err(Error::new_spanned(p, format!("unknown name `{}`: a differentiated function can use its parameters, its locals and constants", crate::text(p))));
        }
        let ty = if float_path { Ty::Float } else { Ty::Any };
        Ok(Operand::Value(self.constant(ty, p.to_token_stream())))
    }

    fn unary(&mut self, u: &syn::ExprUnary) -> Result<Operand> {
        match u.op {
            UnOp::Deref(_) => self.expr(&u.expr),
            UnOp::Neg(_) => {
                let a = self.expr_value(&u.expr)?;
                if let Some(t) = self.is_const(a) {
                    let ty = self.ty(a);
                    return Ok(Operand::Value(self.constant(ty, quote!(-#t))));
                }
                match self.ty(a) {
                    Ty::Float => {
                        let rule = rules::find(Form::Neg, "neg").ok_or_else(|| {
                            Error::new_spanned(u, "internal: no rule for negation")
                        })?;
                        Ok(Operand::Value(self.def(Ty::Float, Op::Rule(rule), vec![a])))
                    }
                    t => Ok(Operand::Value(self.def(t, Op::Unary(u.op), vec![a]))),
                }
            }
            UnOp::Not(_) => {
                let a = self.expr_value(&u.expr)?;
                if self.ty(a) == Ty::Float {
                    return Err(Error::new_spanned(u, "`!` does not apply to floats"));
                }
                let t = self.ty(a);
                Ok(Operand::Value(self.def(t, Op::Unary(u.op), vec![a])))
            }
            _ => Err(Error::new_spanned(u, "unsupported unary operator")),
        }
    }

    pub fn binary(&mut self, op: &BinOp, a: ValueId, b: ValueId, at: Site) -> Result<ValueId> {
        let (ta, tb) = (self.ty(a), self.ty(b));
        let float = ta == Ty::Float || tb == Ty::Float;
        let comparison = matches!(
            op,
            BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_)
        );
        if comparison {
            return Ok(self.def(Ty::Bool, Op::Binary(*op), vec![a, b]));
        }
        if float {
            for (t, v) in [(ta, a), (tb, b)] {
                if matches!(t, Ty::Int | Ty::Bool) {
                    let _ = v;
                    return Err(Error::new(
                        at(),
                        "this mixes a float and an integer: convert the integer with `as f64`",
                    ));
                }
            }
            let rule = rules::binary(op)
                .ok_or_else(|| Error::new(at(), "this operator is not supported on floats"))?;
            if let (Some(x), Some(y)) = (self.is_const(a), self.is_const(b)) {
                let op_tokens = rules::forward(rule, &[x, y]);
                return Ok(self.constant(Ty::Float, quote!((#op_tokens))));
            }
            return Ok(self.def(Ty::Float, Op::Rule(rule), vec![a, b]));
        }
        let ty = if ta == Ty::Bool || tb == Ty::Bool {
            Ty::Bool
        } else if ta == Ty::Int || tb == Ty::Int {
            Ty::Int
        } else {
            Ty::Any
        };
        let op = compound_to_plain(op);
        if let (Some(x), Some(y)) = (self.is_const(a), self.is_const(b)) {
            return Ok(self.constant(ty, quote!((#x #op #y))));
        }
        Ok(self.def(ty, Op::Binary(op), vec![a, b]))
    }

    /// `a && b`, `a || b`: `b` is evaluated only when needed, as in Rust.
    fn short_circuit(&mut self, b: &syn::ExprBinary) -> Result<Operand> {
        let a = self.expr_value(&b.left)?;
        let right = (*b.right).clone();
        let is_and = matches!(b.op, BinOp::And(_));
        let f = quote!(false);
        let t = quote!(true);
        if is_and {
            self.if_value(
                a,
                |l| l.expr(&right).map(Some),
                |l| Ok(Some(Operand::Value(l.constant(Ty::Bool, f)))),
                &|| b.span(),
            )
        } else {
            self.if_value(
                a,
                |l| Ok(Some(Operand::Value(l.constant(Ty::Bool, t)))),
                |l| l.expr(&right).map(Some),
                &|| b.span(),
            )
        }
    }

    fn cast(&mut self, c: &syn::ExprCast) -> Result<Operand> {
        let a = self.expr_value(&c.expr)?;
        let target = c.ty.to_token_stream().to_string();
        let to_float = target == "f64" || target == "f32";
        if to_float && self.sig.float != target {
            return Err(Error::new_spanned(
                &c.ty,
                format!(
                    "this casts to `{target}` but the function computes in `{}`",
                    self.sig.float
                ),
            ));
        }
        let ty = self.ty(a);
        if to_float && ty == Ty::Float {
            return Ok(Operand::Value(a));
        }
        let out = if to_float { Ty::Float } else { Ty::Int };
        if let Some(t) = self.is_const(a) {
            let target = &c.ty;
            return Ok(Operand::Value(self.constant(out, quote!((#t as #target)))));
        }
        Ok(Operand::Value(self.def(
            out,
            Op::Cast((*c.ty).clone()),
            vec![a],
        )))
    }

    fn method(&mut self, m: &syn::ExprMethodCall) -> Result<Operand> {
        let name = m.method.to_string();
        if m.turbofish.is_some() && !crate::iter::is_reduction(&name) {
            return Err(Error::new_spanned(
                &m.method,
                "turbofish `::<>` is not supported here",
            ));
        }
        if crate::iter::is_reduction(&name) {
            return crate::iter::reduction(self, m).map(Operand::Value);
        }
        if name == "len" && m.args.is_empty() {
            return match self.expr(&m.receiver)? {
                Operand::Place(mem, idx) => {
                    Ok(Operand::Value(self.def(Ty::Int, Op::Len(mem), idx)))
                }
                Operand::Value(_) => Err(Error::new_spanned(
                    m,
                    "`.len()` needs an array, slice or `Vec`",
                )),
            };
        }
        let recv = self.expr_value(&m.receiver)?;
        let mut args = vec![recv];
        for a in &m.args {
            args.push(self.expr_value(a)?);
        }
        match self.ty(recv) {
            Ty::Int if INT_METHODS.contains(&name.as_str()) => Ok(Operand::Value(self.def(
                Ty::Int,
                Op::IntMethod(m.method.clone()),
                args,
            ))),
            // Tests on a float (`x.is_nan()`) give a bool: no derivative.
            Ty::Float | Ty::Any if FLOAT_PREDICATES.contains(&name.as_str()) => Ok(Operand::Value(
                self.def(Ty::Bool, Op::IntMethod(m.method.clone()), args),
            )),
            Ty::Float | Ty::Any => {
                let rule = rules::find(Form::Method, &name).ok_or_else(|| {
                    Error::new_spanned(&m.method, format!("method `.{name}()` cannot be differentiated: the supported float methods are {}", rules::method_names()))
                })?;
                self.apply(rule, args, &|| m.span()).map(Operand::Value)
            }
            _ => Err(Error::new_spanned(
                &m.method,
                format!("method `.{name}()` is not supported here"),
            )),
        }
    }

    /// A primitive applied to lowered arguments, checked against its table entry.
    fn apply(
        &mut self,
        rule: &'static rules::Rule,
        args: Vec<ValueId>,
        at: Site,
    ) -> Result<ValueId> {
        if args.len() != rule.args.len() {
            return Err(Error::new(
                at(),
                format!("`{}` takes {} argument(s) here", rule.name, rule.args.len()),
            ));
        }
        for (v, kind) in args.iter().zip(rule.args) {
            let ok = match kind {
                RuleArg::Float => matches!(self.ty(*v), Ty::Float | Ty::Any),
                RuleArg::Int => matches!(self.ty(*v), Ty::Int | Ty::Any),
            };
            if !ok {
                return Err(Error::new(
                    at(),
                    format!(
                        "wrong argument type for `{}`: expected {}",
                        rule.name,
                        if *kind == RuleArg::Float {
                            "a float"
                        } else {
                            "an integer"
                        }
                    ),
                ));
            }
        }
        Ok(self.def(Ty::Float, Op::Rule(rule), args))
    }

    fn call(&mut self, c: &syn::ExprCall) -> Result<Operand> {
        let Expr::Path(fp) = strip(&c.func) else {
            return Err(Error::new_spanned(
                &c.func,
                "only calls of named functions are supported",
            ));
        };
        let segs: Vec<String> = fp
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let last = segs.last().cloned().unwrap_or_default();
        // `f64::exp(x)`: the method form.
        if segs.len() == 2 && (segs[0] == "f64" || segs[0] == "f32") {
            let rule = rules::find(Form::Method, &last).ok_or_else(|| {
                Error::new_spanned(
                    &c.func,
                    format!(
                        "`{}` cannot be differentiated: the supported float methods are {}",
                        fp.to_token_stream(),
                        rules::method_names()
                    ),
                )
            })?;
            let args = c
                .args
                .iter()
                .map(|a| self.expr_value(a))
                .collect::<Result<Vec<_>>>()?;
            return self.apply(rule, args, &|| c.span()).map(Operand::Value);
        }
        // `relu(z)`, `neuron::relu(z)`.
        let our_crate = segs.len() == 1
            || (segs.len() == 2 && (segs[0] == "neuron" || segs[0] == "neuron_core"));
        if our_crate {
            if let Some(rule) = rules::find(Form::Activation, &last) {
                let args = c
                    .args
                    .iter()
                    .map(|a| self.expr_value(a))
                    .collect::<Result<Vec<_>>>()?;
                return self.apply(rule, args, &|| c.span()).map(Operand::Value);
            }
            if segs.len() == 2 {
                return Err(Error::new_spanned(
                    &c.func,
                    format!(
                        "`{}` is not a differentiable activation: the activations are {}, or write the formula inline",
                        path_text(&fp.path),
                        rules::activation_names()
                    ),
                ));
            }
        }
        if fp.qself.is_some() || fp.path.segments.iter().any(|s| !s.arguments.is_empty()) {
            return Err(Error::new_spanned(&c.func, "generic or qualified calls are not supported: call a `#[differentiate]` function by name"));
        }
        // Another differentiated function.
        let mut args = Vec::new();
        for a in &c.args {
            let by_ref = matches!(strip(a), Expr::Reference(_));
            let op = self.expr(a)?;
            let op = self.settle(op, None);
            args.push(match op {
                Operand::Value(v) => Arg::Value(v),
                Operand::Place(m, idx) => {
                    // Parameters, and call results in the top block, are in
                    // scope for the pullback call; anything else is copied.
                    let is_param = match self.mems[m].origin {
                        MemOrigin::Param { .. } => true,
                        MemOrigin::CallOutput { .. } => self.mems[m].block == 0,
                        MemOrigin::Local => false,
                    };
                    if idx.is_empty() && is_param {
                        Arg::Mem {
                            mem: m,
                            by_ref,
                            snapshot: None,
                        }
                    } else {
                        let snap = self.def(Ty::Snapshot, Op::Snapshot(m), idx);
                        Arg::Mem {
                            mem: m,
                            by_ref,
                            snapshot: Some(snap),
                        }
                    }
                }
            });
        }
        let out = self.new_mem(
            &last,
            Ty::Float,
            None,
            MemOrigin::CallOutput {
                func: fp.path.clone(),
            },
        );
        let pullback = self.new_value(Ty::Pullback, &format!("pullback_{last}"));
        self.push(Inst::Call {
            func: fp.path.clone(),
            args,
            out,
            pullback,
        });
        Ok(Operand::Place(out, vec![]))
    }

    fn array_literal(&mut self, a: &syn::ExprArray) -> Result<Operand> {
        let mut elems = Vec::new();
        for e in &a.elems {
            let op = self.expr(e)?;
            // `scalar` fails only on an element that is itself an array.
            let v = self.scalar(op, &|| e.span()).map_err(|_| {
                Error::new_spanned(
                    e,
                    "an array literal of arrays is not supported: declare the array \
                     (`let mut h = [[0.0; 2]; 2];`) and assign each row (`h[0] = [x, y];`)",
                )
            })?;
            elems.push(v);
        }
        let ty = elems
            .iter()
            .map(|v| self.ty(*v))
            .find(|t| *t != Ty::Any)
            .unwrap_or(Ty::Float);
        let m = self.new_mem("array", ty, Some(1), MemOrigin::Local);
        let consts: Option<Vec<TokenStream>> = elems.iter().map(|v| self.is_const(*v)).collect();
        if let Some(consts) = consts {
            // Written from the constants, not the source: `[t, t]` with
            // `let t = K;` must become `[K, K]`, as `t` itself is never bound.
            self.push(Inst::Init {
                mem: m,
                init: MemInit::Verbatim(quote!([#(#consts),*])),
            });
        } else {
            self.push(Inst::Init {
                mem: m,
                init: MemInit::List(elems),
            });
        }
        Ok(Operand::Place(m, vec![]))
    }

    /// `vec![0.0; n]`: a buffer of runtime length with a constant element.
    fn vec_macro(&mut self, m: &syn::ExprMacro) -> Result<Operand> {
        let usage = || {
            Error::new_spanned(m, "only `vec![c; n]` with a constant element `c` (`0.0`, `[0.0; 3]`) is supported: fill the vector in a loop")
        };
        let parsed = m.mac.parse_body_with(|input: syn::parse::ParseStream| {
            let elem: Expr = input.parse()?;
            let _: syn::Token![;] = input.parse()?;
            let len: Expr = input.parse()?;
            Ok((elem, len))
        });
        let (elem, len) = parsed.map_err(|_| usage())?;
        let (rank, ty) = match strip(&elem) {
            Expr::Repeat(r) => repeat_shape(r).ok_or_else(usage)?,
            Expr::Lit(l) => match &l.lit {
                syn::Lit::Float(_) => (0, Ty::Float),
                syn::Lit::Int(_) => (0, Ty::Int),
                syn::Lit::Bool(_) => (0, Ty::Bool),
                _ => return Err(usage()),
            },
            _ => return Err(usage()),
        };
        let len = self.expr_value(&len)?;
        if matches!(self.ty(len), Ty::Float | Ty::Bool) {
            return Err(Error::new_spanned(
                m,
                "the length in `vec![c; n]` must be an integer",
            ));
        }
        let mem = self.new_mem("array", ty, Some(rank + 1), MemOrigin::Local);
        self.push(Inst::Init {
            mem,
            init: MemInit::VecRepeat {
                elem: elem.to_token_stream(),
                len,
            },
        });
        Ok(Operand::Place(mem, vec![]))
    }

    fn repeat(&mut self, r: &syn::ExprRepeat) -> Result<Operand> {
        let (rank, elem) = repeat_shape(r).ok_or_else(|| {
            Error::new_spanned(r, "only constant array initialisers are supported (`[0.0; N]`, `[[0.0; N]; M]`): fill the array in a loop")
        })?;
        let m = self.new_mem("array", elem, Some(rank), MemOrigin::Local);
        self.push(Inst::Init {
            mem: m,
            init: MemInit::Verbatim(r.to_token_stream()),
        });
        Ok(Operand::Place(m, vec![]))
    }

    /// A mem's name (for iterator lowering).
    pub fn mem_rank(&self, m: MemId) -> Option<usize> {
        self.mems[m].rank
    }

    pub fn new_scope(&mut self) {
        self.scopes.push(HashMap::new());
    }

    pub fn end_scope(&mut self) {
        self.scopes.pop();
    }

    pub fn bind_value(&mut self, name: &Ident, v: ValueId) {
        self.name_value(v, name);
        self.bind(name, Binding::Value(v));
    }

    /// A `let mut` scalar slot initialised with `init`.
    pub fn slot(&mut self, base: &str, init: ValueId) -> MemId {
        let ty = match self.ty(init) {
            Ty::Any => Ty::Float,
            t => t,
        };
        let m = self.new_mem(base, ty, Some(0), MemOrigin::Local);
        self.mems[m].mutated = true;
        self.push(Inst::Init {
            mem: m,
            init: MemInit::Scalar(init),
        });
        m
    }

    pub fn store_slot(&mut self, m: MemId, v: ValueId) {
        self.push(Inst::Store {
            mem: m,
            index: vec![],
            src: v,
        });
    }

    pub fn load_slot(&mut self, m: MemId) -> ValueId {
        self.load(m, vec![])
    }

    pub fn load_at(&mut self, m: MemId, idx: Vec<ValueId>) -> ValueId {
        self.load(m, idx)
    }

    pub fn len_of(&mut self, m: MemId, idx: Vec<ValueId>) -> ValueId {
        self.def(Ty::Int, Op::Len(m), idx)
    }

    pub fn int_min(&mut self, a: ValueId, b: ValueId) -> ValueId {
        self.def(
            Ty::Int,
            Op::IntMethod(Ident::new("min", proc_macro2::Span::call_site())),
            vec![a, b],
        )
    }

    pub fn zero_int(&mut self) -> ValueId {
        self.constant(Ty::Int, quote!(0))
    }

    pub fn value_ty(&self, v: ValueId) -> Ty {
        self.ty(v)
    }

    pub fn lower_block_value(&mut self, stmts: &[Stmt]) -> Result<Option<Operand>> {
        self.stmts(stmts, false)
    }
}

const FLOAT_PREDICATES: &[&str] = &[
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_sign_positive",
    "is_sign_negative",
];

const INT_METHODS: &[&str] = &[
    "min",
    "max",
    "pow",
    "abs",
    "saturating_sub",
    "wrapping_sub",
    "rem_euclid",
    "div_euclid",
    "signum",
];

fn zero_of(ty: Ty) -> TokenStream {
    match ty {
        Ty::Float | Ty::Any | Ty::Snapshot | Ty::Pullback => quote!(0.0),
        Ty::Int => quote!(0),
        Ty::Bool => quote!(false),
    }
}

/// The names a pattern binds.
fn pattern_names(p: &Pat, out: &mut Vec<Ident>) {
    match p {
        Pat::Ident(pi) => out.push(pi.ident.clone()),
        Pat::Type(t) => pattern_names(&t.pat, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|e| pattern_names(e, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|e| pattern_names(e, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|e| pattern_names(e, out)),
        Pat::Reference(r) => pattern_names(&r.pat, out),
        Pat::Paren(pp) => pattern_names(&pp.pat, out),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pattern_names(&f.pat, out)),
        _ => {}
    }
}

/// A path as written, without the spaces `to_token_stream` puts around `::`.
pub fn path_text(p: &syn::Path) -> String {
    let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if p.leading_colon.is_some() { "::" } else { "" };
    format!("{lead}{}", segs.join("::"))
}

/// Strips parentheses and groups.
pub fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        other => other,
    }
}

fn is_compound(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

fn compound_to_plain(op: &BinOp) -> BinOp {
    let s = proc_macro2::Span::call_site();
    match op {
        BinOp::AddAssign(_) => BinOp::Add(syn::Token![+](s)),
        BinOp::SubAssign(_) => BinOp::Sub(syn::Token![-](s)),
        BinOp::MulAssign(_) => BinOp::Mul(syn::Token![*](s)),
        BinOp::DivAssign(_) => BinOp::Div(syn::Token![/](s)),
        BinOp::RemAssign(_) => BinOp::Rem(syn::Token![%](s)),
        BinOp::BitAndAssign(_) => BinOp::BitAnd(syn::Token![&](s)),
        BinOp::BitOrAssign(_) => BinOp::BitOr(syn::Token![|](s)),
        BinOp::BitXorAssign(_) => BinOp::BitXor(syn::Token![^](s)),
        BinOp::ShlAssign(_) => BinOp::Shl(syn::Token![<<](s)),
        BinOp::ShrAssign(_) => BinOp::Shr(syn::Token![>>](s)),
        other => *other,
    }
}

/// Expressions that are statements even without a trailing `;`.
fn is_unit_stmt(e: &Expr) -> bool {
    match e {
        Expr::ForLoop(_) | Expr::While(_) | Expr::Assign(_) => true,
        Expr::Binary(b) => is_compound(&b.op),
        Expr::Macro(m) => crate::assertion::checked_operands(&m.mac.path).is_some(),
        Expr::If(i) => {
            unit_block(&i.then_branch.stmts)
                || match &i.else_branch {
                    None => true,
                    Some((_, e)) => is_unit_stmt(e),
                }
        }
        Expr::Block(b) => unit_block(&b.block.stmts),
        _ => false,
    }
}

/// Whether a block's last statement leaves no value.
fn unit_block(stmts: &[Stmt]) -> bool {
    match stmts.last() {
        None => true,
        Some(Stmt::Expr(e, None)) => is_unit_stmt(e),
        Some(_) => true,
    }
}

pub fn int_literal(t: TokenStream) -> Option<u64> {
    let lit: syn::LitInt = syn::parse2(t).ok()?;
    lit.base10_parse().ok()
}

/// The number of array levels of an annotated type (`[[f64; 3]; 2]` → 2).
fn type_rank(t: &syn::Type) -> usize {
    match t {
        syn::Type::Array(a) => 1 + type_rank(&a.elem),
        syn::Type::Slice(s) => 1 + type_rank(&s.elem),
        syn::Type::Reference(r) => type_rank(&r.elem),
        syn::Type::Paren(p) => type_rank(&p.elem),
        syn::Type::Group(g) => type_rank(&g.elem),
        _ => 0,
    }
}

fn type_elem(t: &syn::Type) -> Option<Ty> {
    match t {
        syn::Type::Array(a) => type_elem(&a.elem),
        syn::Type::Path(p) => {
            let s = p.path.to_token_stream().to_string();
            Some(match s.as_str() {
                "f64" | "f32" => Ty::Float,
                "bool" => Ty::Bool,
                _ => Ty::Int,
            })
        }
        _ => None,
    }
}

/// Rank and element type of a constant `[x; N]` (nested), if it is constant.
fn repeat_shape(r: &syn::ExprRepeat) -> Option<(usize, Ty)> {
    match strip(&r.expr) {
        Expr::Lit(l) => Some((
            1,
            match &l.lit {
                syn::Lit::Float(_) => Ty::Float,
                syn::Lit::Int(i) if i.suffix() == "f64" || i.suffix() == "f32" => Ty::Float,
                syn::Lit::Int(_) => Ty::Int,
                syn::Lit::Bool(_) => Ty::Bool,
                _ => return None,
            },
        )),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => match strip(&u.expr) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Float(_),
                ..
            }) => Some((1, Ty::Float)),
            _ => None,
        },
        Expr::Repeat(inner) => repeat_shape(inner).map(|(r, t)| (r + 1, t)),
        _ => None,
    }
}

/// How a branch of an early return ends: how many of its statements stay
/// as they are, the last one rewritten if it needs to be, and which of the
/// statements after the `if` follow. A branch that returns ends with the
/// returned value and nothing after it; one that does not loses its tail
/// expression's value (`{ a }` is a statement there) and goes on with `rest`.
fn arm_end<'r, 's>(arm: &[Stmt], rest: &'r [&'s [Stmt]]) -> ArmEnd<'r, 's> {
    let n = arm.len();
    match arm.last() {
        Some(Stmt::Expr(Expr::Return(r), _)) => ArmEnd {
            keep: n - 1,
            last: r.expr.as_ref().map(|e| Stmt::Expr((**e).clone(), None)),
            rest: &[],
        },
        _ if diverges(arm) => ArmEnd {
            keep: n,
            last: None,
            rest: &[],
        },
        Some(Stmt::Expr(e, None)) => ArmEnd {
            keep: n - 1,
            last: Some(Stmt::Expr(e.clone(), Some(Default::default()))),
            rest,
        },
        _ => ArmEnd {
            keep: n,
            last: None,
            rest,
        },
    }
}

struct ArmEnd<'r, 's> {
    keep: usize,
    last: Option<Stmt>,
    rest: &'r [&'s [Stmt]],
}

/// Whether a block always ends in `return`.
fn diverges(stmts: &[Stmt]) -> bool {
    match stmts.last() {
        Some(Stmt::Expr(e, _)) => expr_diverges(e),
        _ => false,
    }
}

/// Whether an expression ending a block always returns: a `return`, or an
/// `if` all of whose branches do.
fn expr_diverges(e: &Expr) -> bool {
    match e {
        Expr::Return(_) => true,
        Expr::If(i) => {
            diverges(&i.then_branch.stmts)
                && match &i.else_branch {
                    Some((_, e)) => match &**e {
                        Expr::Block(b) => diverges(&b.block.stmts),
                        other => expr_diverges(other),
                    },
                    None => false,
                }
        }
        _ => false,
    }
}

impl Lowerer<'_> {
    pub fn constant_float(&mut self, t: TokenStream) -> ValueId {
        self.constant(Ty::Float, t)
    }

    /// Binds a name to a row of an array (a closure parameter over `[[f64; N]]`).
    pub fn bind_place(&mut self, name: &Ident, m: MemId, idx: Vec<ValueId>) {
        let rank = self.mems[m].rank.map(|r| r.saturating_sub(idx.len()));
        let elem = self.mems[m].elem;
        let n = self.names.fresh(&name.to_string());
        self.mems.push(Mem {
            name: n,
            elem,
            rank,
            block: self.block_id(),
            origin: MemOrigin::Local,
            mutated: false,
        });
        let c = self.mems.len() - 1;
        self.push(Inst::Init {
            mem: c,
            init: MemInit::Copy {
                from: m,
                index: idx,
            },
        });
        self.bind(name, Binding::Mem(c));
    }
}
