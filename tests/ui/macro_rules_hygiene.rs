use neuron::differentiate;

// The `t` the macro's body binds and the caller's `t` are two variables to
// rustc, which #[differentiate] cannot tell apart: an error, whether the
// caller's expression comes as an `expr` fragment or as plain tokens.

// `square_plus_expr!` and `square_plus_tokens!`, shared with tests/hygiene.rs.
include!("../common/square_plus.rs");

square_plus_expr!(from_an_expr_fragment(t, b) = t * b);
square_plus_tokens!(from_plain_tokens(t, b) = t * b);

fn main() {}
