// Two `macro_rules!` that write `fn NAME(x, y) -> f64 { let t = EXPR; t * t + x }`
// with a local `t` of their own: from an `expr` fragment, which reaches
// `#[differentiate]` as an invisible group, and from plain tokens. Included by
// tests/hygiene.rs (the caller's names differ from `t`: gradients checked) and
// by tests/ui/macro_rules_hygiene.rs (the caller names a variable `t`: an error).

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
