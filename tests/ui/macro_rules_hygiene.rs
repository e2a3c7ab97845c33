use neuron::differentiate;

// The `t` the macro's body binds and the caller's `t` are two variables to
// rustc, which #[differentiate] cannot tell apart: an error, whether the
// caller's expression comes as an `expr` fragment or as plain tokens.

macro_rules! square_plus_expr {
    ($name:ident($x:ident, $y:ident) = $e:expr) => {
        #[differentiate]
        fn $name($x: f64, $y: f64) -> f64 {
            let t = $e;
            t * t + $x
        }
    };
}

macro_rules! square_plus_tokens {
    ($name:ident($x:ident, $y:ident) = $($e:tt)*) => {
        #[differentiate]
        fn $name($x: f64, $y: f64) -> f64 {
            let t = $($e)*;
            t * t + $x
        }
    };
}

square_plus_expr!(from_an_expr_fragment(t, b) = t * b);
square_plus_tokens!(from_plain_tokens(t, b) = t * b);

fn main() {}
