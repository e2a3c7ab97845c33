//! How deeply the body nests once it is differentiated, checked before any
//! other stage walks it.
//!
//! Each block (a branch, a loop body, `{ … }`) nests a level in the
//! generated code as in the body, and so do two things that do not nest in
//! the body: an `else if`, whose condition is evaluated inside the `else`
//! (`if a { … } else { let c = …; if c { … } }`), and an early `return`,
//! after which the rest of its block goes in a branch of its own
//! (`if c { a } else { rest }`, or `if !returned { rest }` in a loop).
//! Deep enough, rustc's parser overflows its stack on the generated code
//! and aborts, and the stages here, which recurse on branches and loops,
//! slow down with the square of the depth. Past [`MAX_DEPTH`] the function
//! gets an error instead, at the statement where the limit is crossed.

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Error, Expr};

/// Levels of nesting a differentiated function may have. Measured with
/// rustc's default 8 MiB stack and the macro built in debug: rustc parses
/// the code generated for 500 early returns or an `else if` chain of 500
/// arms and overflows at 700; syn, parsing the function inside the macro,
/// takes 300 nested loops and overflows at 400.
pub const MAX_DEPTH: usize = 256;

/// An error at the first group of brackets nested deeper than
/// [`MAX_DEPTH`], found without recursion. It runs before the function is
/// parsed: syn's parser, which recurses on them, overflows the stack a
/// proc macro has at about 400 nested blocks.
pub fn check_tokens(item: &TokenStream) -> Result<(), Error> {
    let mut open = vec![item.clone().into_iter()];
    while let Some(tokens) = open.last_mut() {
        match tokens.next() {
            Some(TokenTree::Group(g)) => {
                if open.len() > MAX_DEPTH {
                    return Err(Error::new(g.span(), format!("this is nested more than {MAX_DEPTH} brackets deep, which is more than `#[differentiate]` supports: move the inner part into a `#[differentiate]` function of its own and call it")));
                }
                open.push(g.stream().into_iter());
            }
            Some(_) => {}
            None => {
                open.pop();
            }
        }
    }
    Ok(())
}

/// An error at the first statement nested deeper than [`MAX_DEPTH`].
pub fn check(body: &Block) -> Result<(), Error> {
    let mut d = Depth {
        depth: 0,
        error: None,
    };
    d.visit_block(body);
    d.error.map_or(Ok(()), Err)
}

struct Depth {
    depth: usize,
    error: Option<Error>,
}

impl Depth {
    /// Visits `f` one level deeper.
    fn deeper(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }
}

impl<'ast> Visit<'ast> for Depth {
    fn visit_block(&mut self, b: &'ast Block) {
        let outer = self.depth;
        self.depth += 1;
        for stmt in &b.stmts {
            if self.error.is_some() {
                break;
            }
            if self.depth > MAX_DEPTH {
                self.error = Some(Error::new(stmt.span(), format!("this statement is nested more than {MAX_DEPTH} levels deep once differentiated (each block, `else if` and earlier `return` in its block counts a level), which is more than `#[differentiate]` supports: move the inner part into a `#[differentiate]` function of its own and call it, or assign the result to a `let mut` and return it once, at the end")));
                break;
            }
            self.visit_stmt(stmt);
            if crate::returns::has_return(stmt) {
                self.depth += 1;
            }
        }
        self.depth = outer;
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.visit_expr(&i.cond);
        self.visit_block(&i.then_branch);
        match i.else_branch.as_ref().map(|(_, e)| &**e) {
            Some(Expr::If(inner)) => self.deeper(|d| d.visit_expr_if(inner)),
            Some(other) => self.visit_expr(other),
            None => {}
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(src: &str) -> Block {
        syn::parse_str(src).unwrap()
    }

    /// `n` `if`s, each inside the last.
    fn nested_ifs(n: usize) -> String {
        format!(
            "{{ {} x = 1.0; {} }}",
            "if x > 0.0 {".repeat(n),
            "}".repeat(n)
        )
    }

    /// An `else if` chain of `n` arms.
    fn chain(n: usize) -> String {
        let arms = (1..n).map(|k| format!("else if x < {k}.0 {{ x }}"));
        format!(
            "{{ if x < 0.0 {{ x }} {} else {{ x }} }}",
            arms.collect::<String>()
        )
    }

    /// `n` early returns in a row.
    fn returns(n: usize) -> String {
        format!("{{ {} x }}", "if x > 0.0 { return x; } ".repeat(n))
    }

    /// Runs `f` with the stack rustc gives a proc macro: the 2 MiB of a
    /// test thread is not enough for syn to parse these bodies in debug.
    fn with_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn the_limit_counts_blocks_else_ifs_and_returns() {
        with_stack(limit_counts_blocks_else_ifs_and_returns);
    }

    fn limit_counts_blocks_else_ifs_and_returns() {
        // The body is a level, and so is the block the last statement is in.
        for (deep_enough, too_deep) in [
            (nested_ifs(MAX_DEPTH - 1), nested_ifs(MAX_DEPTH)),
            (chain(MAX_DEPTH - 1), chain(MAX_DEPTH)),
            (returns(MAX_DEPTH - 1), returns(MAX_DEPTH)),
        ] {
            assert!(check(&body(&deep_enough)).is_ok(), "{deep_enough}");
            let err = check(&body(&too_deep)).unwrap_err().to_string();
            assert!(err.contains("more than 256 levels deep"), "{err}");
        }
    }

    #[test]
    fn brackets_are_counted_before_parsing() {
        let parens = |n: usize| format!("{{ {}x{} }}", "(".repeat(n - 1), ")".repeat(n - 1));
        let tokens = |s: String| s.parse::<TokenStream>().unwrap();
        assert!(check_tokens(&tokens(parens(MAX_DEPTH))).is_ok());
        let err = check_tokens(&tokens(parens(MAX_DEPTH + 1))).unwrap_err();
        assert!(err.to_string().contains("more than 256 brackets deep"));
        // Deeper than syn could parse: no recursion here.
        assert!(check_tokens(&tokens(parens(100_000))).is_err());
    }

    #[test]
    fn statements_side_by_side_do_not_add_up() {
        let ifs = "if x > 0.0 { x = 1.0; } ".repeat(10 * MAX_DEPTH);
        assert!(check(&body(&format!("{{ {ifs} x }}"))).is_ok());
    }
}
