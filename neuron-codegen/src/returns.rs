//! `return` from inside a loop, rewritten before lowering into a flag and a
//! result slot, which the rest of the macro handles as ordinary branches:
//!
//! ```text
//! for i in 0..n { a; if c { return e; } b }      let mut ret = 0.0; let mut done = false;
//! tail                                       →   for i in 0..n { if !done { a; if c { ret = e; done = true; } if !done { b } } }
//!                                                if !done { ret = tail; done = true; } ret
//! ```
//!
//! An early `return` outside loops needs none of this: lowering turns
//! `if c { return a; } rest` into `if c { a } else { rest }` directly.

use syn::visit::Visit;
use syn::{parse_quote, Block, Expr, Ident, Stmt};

/// Whether the body has a `return` inside a loop.
pub fn needs_rewrite(body: &Block) -> bool {
    struct Find {
        depth: usize,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Find {
        fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
            self.depth += 1;
            syn::visit::visit_expr_for_loop(self, e);
            self.depth -= 1;
        }
        fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
            self.depth += 1;
            syn::visit::visit_expr_while(self, e);
            self.depth -= 1;
        }
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.found |= self.depth > 0;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut f = Find {
        depth: 0,
        found: false,
    };
    f.visit_block(body);
    f.found
}

/// The body with every `return` replaced by a store and a flag.
pub fn rewrite(body: &Block, float: &Ident, done: &Ident, ret: &Ident) -> Block {
    let mut stmts = body.stmts.clone();
    if let Some(Stmt::Expr(e, None)) = stmts.last().cloned() {
        stmts.pop();
        stmts.push(parse_quote!(return #e;));
    }
    let r = Rewriter { done, ret };
    let mut out: Vec<Stmt> = vec![
        parse_quote!(let mut #ret: #float = 0.0;),
        parse_quote!(let mut #done = false;),
    ];
    out.extend(r.block(stmts));
    out.push(Stmt::Expr(parse_quote!(#ret), None));
    Block {
        brace_token: body.brace_token,
        stmts: out,
    }
}

struct Rewriter<'a> {
    done: &'a Ident,
    ret: &'a Ident,
}

impl Rewriter<'_> {
    /// Statements after one that may return run only if it did not. Built
    /// from the last statement back, so a long run of returns costs neither
    /// recursion nor copies.
    fn block(&self, stmts: Vec<Stmt>) -> Vec<Stmt> {
        let mut out: Vec<Stmt> = Vec::new();
        for s in stmts.into_iter().rev() {
            let may_return = has_return(&s);
            if may_return && !out.is_empty() {
                out.reverse();
                out = vec![self.unless_done(std::mem::take(&mut out))];
            }
            out.push(self.stmt(s));
        }
        out.reverse();
        out
    }

    /// `if !done { stmts }`, built as syntax: parsing it back from tokens at
    /// every level would be quadratic, and recurse as deep as the nesting.
    fn unless_done(&self, stmts: Vec<Stmt>) -> Stmt {
        let done = self.done;
        Stmt::Expr(
            Expr::If(syn::ExprIf {
                attrs: Vec::new(),
                if_token: Default::default(),
                cond: Box::new(parse_quote!(!#done)),
                then_branch: Block {
                    brace_token: Default::default(),
                    stmts,
                },
                else_branch: None,
            }),
            None,
        )
    }

    fn stmt(&self, s: Stmt) -> Stmt {
        match s {
            Stmt::Expr(e, semi) => Stmt::Expr(self.expr(e), semi),
            other => other,
        }
    }

    fn expr(&self, e: Expr) -> Expr {
        let (done, ret) = (self.done, self.ret);
        match e {
            Expr::Return(r) => match r.expr {
                Some(v) => parse_quote!({ #ret = #v; #done = true; }),
                None => Expr::Return(r),
            },
            Expr::If(mut i) => {
                i.then_branch.stmts = self.block(i.then_branch.stmts);
                if let Some((t, e)) = i.else_branch.take() {
                    i.else_branch = Some((t, Box::new(self.expr(*e))));
                }
                Expr::If(i)
            }
            Expr::Block(mut b) => {
                b.block.stmts = self.block(b.block.stmts);
                Expr::Block(b)
            }
            Expr::ForLoop(mut f) if has_return_in(&f.body) => {
                let body = self.block(std::mem::take(&mut f.body.stmts));
                f.body.stmts = vec![self.unless_done(body)];
                Expr::ForLoop(f)
            }
            Expr::While(mut w) if has_return_in(&w.body) => {
                let cond = w.cond;
                w.cond = Box::new(parse_quote!(!#done && (#cond)));
                w.body.stmts = self.block(w.body.stmts);
                Expr::While(w)
            }
            other => other,
        }
    }
}

/// Whether a statement has a `return` in it (not in a closure or item).
pub fn has_return(s: &Stmt) -> bool {
    first_return(s).is_some()
}

/// Where the first `return` in a statement is (not in a closure or item).
pub fn first_return(s: &Stmt) -> Option<proc_macro2::Span> {
    let mut f = FindReturn(None);
    f.visit_stmt(s);
    f.0
}

fn has_return_in(b: &Block) -> bool {
    let mut f = FindReturn(None);
    f.visit_block(b);
    f.0.is_some()
}

struct FindReturn(Option<proc_macro2::Span>);

impl<'ast> Visit<'ast> for FindReturn {
    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        self.0.get_or_insert(syn::spanned::Spanned::span(r));
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}
