//! The derivative rules: one table entry a primitive.
//!
//! Each entry says how the primitive is written (operator, float method, or a
//! `neuron` activation), how many arguments it takes, and its local partials
//! as Rust expressions in the names of its arguments (`a[0]`, `a[1]`, …) and
//! of its result (`y`). Adding a primitive is adding one entry here; the rest
//! of the macro reads the table.

use proc_macro2::TokenStream;
use quote::quote;

/// How a primitive appears in source and is emitted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A binary operator: `a[0] op a[1]`.
    Binary(&'static str),
    /// Unary minus.
    Neg,
    /// A float method: `a[0].name(a[1], …)`, also callable as `f64::name(a[0], …)`.
    Method,
    /// An activation of the `neuron` crate: `neuron::name(a[0], …)`.
    Activation,
}

/// The kind of one argument.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    Float,
    /// An integer argument (the exponent of `powi`): it gets no partial.
    Int,
}

/// A local partial derivative ∂y/∂a\[k\].
pub enum Partial {
    Zero,
    One,
    MinusOne,
    Expr(TokenStream),
    /// 1 where the condition holds, else 0: the gradient passes or is
    /// blocked (`relu`, `max`), written as a branch rather than a product.
    Gate(TokenStream),
}

/// The names a rule's partials are written in.
pub struct Names<'a> {
    /// The arguments.
    pub a: &'a [TokenStream],
    /// The result.
    pub y: &'a TokenStream,
    /// The float type of the function (`f32` or `f64`).
    pub float: &'a TokenStream,
}

pub struct Rule {
    pub name: &'static str,
    pub form: Form,
    pub args: &'static [Arg],
    /// The partials, one per argument (`Partial::Zero` for integer ones).
    pub partials: fn(&Names) -> Vec<Partial>,
}

impl Rule {
    /// The partials with placeholder names for `arity` arguments: what kind
    /// each is (`One`, `Gate`, …), for the passes that only ask that.
    pub fn partial_kinds(&self, arity: usize, float: &TokenStream) -> Vec<Partial> {
        let names: Vec<TokenStream> = (0..arity).map(|_| quote!(x)).collect();
        (self.partials)(&Names {
            a: &names,
            y: &quote!(y),
            float,
        })
    }
}

use Partial::{Expr, Gate, MinusOne, One, Zero};
const F: &[Arg] = &[Arg::Float];
const FF: &[Arg] = &[Arg::Float, Arg::Float];
const FFF: &[Arg] = &[Arg::Float, Arg::Float, Arg::Float];
const FI: &[Arg] = &[Arg::Float, Arg::Int];
const D: fn() -> TokenStream = || quote!(::neuron::__private::derivative);

macro_rules! e {
    ($($t:tt)*) => { Expr(quote!($($t)*)) };
}

/// The table. Partials use `y` where the result is cheaper than recomputing.
/// `x + 0.0` turns `-0.0` into `+0.0` and leaves every other `x` as it is, so
/// `ln` and `sqrt` have the derivative `+inf` at both zeros.
#[rustfmt::skip]
pub static RULES: &[Rule] = &[
    // operators
    Rule { name: "add", form: Form::Binary("+"), args: FF, partials: |_| vec![One, One] },
    Rule { name: "sub", form: Form::Binary("-"), args: FF, partials: |_| vec![One, MinusOne] },
    Rule { name: "mul", form: Form::Binary("*"), args: FF, partials: |n| { let (a, b) = (&n.a[0], &n.a[1]); vec![e!(#b), e!(#a)] } },
    Rule { name: "div", form: Form::Binary("/"), args: FF, partials: |n| { let (b, y) = (&n.a[1], n.y); vec![e!(#b.recip()), e!(-#y / #b)] } },
    Rule { name: "rem", form: Form::Binary("%"), args: FF, partials: |n| { let (a, b) = (&n.a[0], &n.a[1]); vec![One, e!(-(#a / #b).trunc())] } },
    Rule { name: "neg", form: Form::Neg, args: F, partials: |_| vec![MinusOne] },
    // float methods
    Rule { name: "exp", form: Form::Method, args: F, partials: |n| { let y = n.y; vec![e!(#y)] } },
    Rule { name: "exp2", form: Form::Method, args: F, partials: |n| { let (y, f) = (n.y, n.float); vec![e!(#y * ::core::#f::consts::LN_2)] } },
    Rule { name: "exp_m1", form: Form::Method, args: F, partials: |n| { let y = n.y; vec![e!(#y + 1.0)] } },
    Rule { name: "ln", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!((#x + 0.0).recip())] } },
    Rule { name: "ln_1p", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!((1.0 + #x).recip())] } },
    Rule { name: "log2", form: Form::Method, args: F, partials: |n| { let (x, f) = (&n.a[0], n.float); vec![e!((#x * ::core::#f::consts::LN_2).recip())] } },
    Rule { name: "log10", form: Form::Method, args: F, partials: |n| { let (x, f) = (&n.a[0], n.float); vec![e!((#x * ::core::#f::consts::LN_10).recip())] } },
    Rule { name: "sqrt", form: Form::Method, args: F, partials: |n| { let y = n.y; vec![e!(0.5 / (#y + 0.0))] } },
    Rule { name: "cbrt", form: Form::Method, args: F, partials: |n| { let y = n.y; vec![e!((3.0 * #y * #y).recip())] } },
    Rule { name: "powi", form: Form::Method, args: FI, partials: |n| { let (x, k, d) = (&n.a[0], &n.a[1], D()); vec![e!(#d::powi_base(#x, #k)), Zero] } },
    Rule { name: "powf", form: Form::Method, args: FF, partials: |n| { let (x, p, d) = (&n.a[0], &n.a[1], D()); vec![e!(#d::powf_base(#x, #p)), e!(#d::powf_exponent(#x, #p))] } },
    Rule { name: "recip", form: Form::Method, args: F, partials: |n| { let y = n.y; vec![e!(-#y * #y)] } },
    Rule { name: "sin", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!(#x.cos())] } },
    Rule { name: "cos", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!(-#x.sin())] } },
    Rule { name: "tan", form: Form::Method, args: F, partials: |n| { let y = n.y; vec![e!(1.0 + #y * #y)] } },
    Rule { name: "asin", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!((1.0 - #x * #x).sqrt().recip())] } },
    Rule { name: "acos", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!(-(1.0 - #x * #x).sqrt().recip())] } },
    Rule { name: "atan", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!((1.0 + #x * #x).recip())] } },
    Rule { name: "atan2", form: Form::Method, args: FF, partials: |n| { let (a, b) = (&n.a[0], &n.a[1]); vec![e!(#b / (#a * #a + #b * #b)), e!(-#a / (#a * #a + #b * #b))] } },
    Rule { name: "sinh", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!(#x.cosh())] } },
    Rule { name: "cosh", form: Form::Method, args: F, partials: |n| { let x = &n.a[0]; vec![e!(#x.sinh())] } },
    Rule { name: "tanh", form: Form::Method, args: F, partials: |n| { let y = n.y; vec![e!(1.0 - #y * #y)] } },
    Rule { name: "abs", form: Form::Method, args: F, partials: |n| { let (x, d) = (&n.a[0], D()); vec![e!(#d::abs(#x))] } },
    Rule { name: "signum", form: Form::Method, args: F, partials: |_| vec![Zero] },
    Rule { name: "floor", form: Form::Method, args: F, partials: |_| vec![Zero] },
    Rule { name: "ceil", form: Form::Method, args: F, partials: |_| vec![Zero] },
    Rule { name: "round", form: Form::Method, args: F, partials: |_| vec![Zero] },
    Rule { name: "trunc", form: Form::Method, args: F, partials: |_| vec![Zero] },
    Rule { name: "fract", form: Form::Method, args: F, partials: |_| vec![One] },
    Rule { name: "max", form: Form::Method, args: FF, partials: |n| { let (a, b, d) = (&n.a[0], &n.a[1], D()); vec![Gate(quote!(#d::max_takes_first(#a, #b))), Gate(quote!(!#d::max_takes_first(#a, #b)))] } },
    Rule { name: "min", form: Form::Method, args: FF, partials: |n| { let (a, b, d) = (&n.a[0], &n.a[1], D()); vec![Gate(quote!(#d::min_takes_first(#a, #b))), Gate(quote!(!#d::min_takes_first(#a, #b)))] } },
    Rule { name: "hypot", form: Form::Method, args: FF, partials: |n| { let (a, b, y) = (&n.a[0], &n.a[1], n.y); vec![e!(#a / #y), e!(#b / #y)] } },
    Rule { name: "clamp", form: Form::Method, args: FFF, partials: |n| { let (x, lo, hi, d) = (&n.a[0], &n.a[1], &n.a[2], D()); vec![e!(#d::clamp(#x, #lo, #hi)[0]), e!(#d::clamp(#x, #lo, #hi)[1]), e!(#d::clamp(#x, #lo, #hi)[2])] } },
    Rule { name: "mul_add", form: Form::Method, args: FFF, partials: |n| { let (a, b) = (&n.a[0], &n.a[1]); vec![e!(#b), e!(#a), One] } },
    // activations of neuron-core
    Rule { name: "relu", form: Form::Activation, args: F, partials: |n| { let x = &n.a[0]; vec![Gate(quote!(#x > 0.0))] } },
    Rule { name: "sigmoid", form: Form::Activation, args: F, partials: |n| { let y = n.y; vec![e!(#y * (1.0 - #y))] } },
    Rule { name: "softplus", form: Form::Activation, args: F, partials: |n| { let (x, d) = (&n.a[0], D()); vec![e!(#d::softplus(#x))] } },
    Rule { name: "leaky_relu", form: Form::Activation, args: FF, partials: |n| { let (x, al, d) = (&n.a[0], &n.a[1], D()); vec![e!(#d::leaky_relu(#x, #al)), e!(#d::leaky_relu_alpha(#x, #al))] } },
    Rule { name: "gelu", form: Form::Activation, args: F, partials: |n| { let (x, d) = (&n.a[0], D()); vec![e!(#d::gelu(#x))] } },
    Rule { name: "silu", form: Form::Activation, args: F, partials: |n| { let (x, d) = (&n.a[0], D()); vec![e!(#d::silu(#x))] } },
];

/// The rule of the given form and name, if there is one.
pub fn find(form: Form, name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.name == name && same_form(r.form, form))
}

fn same_form(a: Form, b: Form) -> bool {
    match (a, b) {
        (Form::Binary(_), Form::Binary(_)) => true,
        _ => a == b,
    }
}

/// The rule of a binary operator (`+ - * / %`) on floats.
pub fn binary(op: &syn::BinOp) -> Option<&'static Rule> {
    let name = match op {
        syn::BinOp::Add(_) | syn::BinOp::AddAssign(_) => "add",
        syn::BinOp::Sub(_) | syn::BinOp::SubAssign(_) => "sub",
        syn::BinOp::Mul(_) | syn::BinOp::MulAssign(_) => "mul",
        syn::BinOp::Div(_) | syn::BinOp::DivAssign(_) => "div",
        syn::BinOp::Rem(_) | syn::BinOp::RemAssign(_) => "rem",
        _ => return None,
    };
    find(Form::Binary(""), name)
}

/// Names of the float methods, for error messages.
pub fn method_names() -> String {
    names_of(Form::Method)
}

/// Names of the activations, for error messages.
pub fn activation_names() -> String {
    names_of(Form::Activation)
}

fn names_of(form: Form) -> String {
    RULES
        .iter()
        .filter(|r| r.form == form)
        .map(|r| r.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The forward expression of a primitive applied to argument expressions.
pub fn forward(rule: &Rule, a: &[TokenStream]) -> TokenStream {
    let name = syn::Ident::new(rule.name, proc_macro2::Span::call_site());
    match rule.form {
        Form::Binary(op) => {
            let op: TokenStream = op.parse().unwrap_or_default();
            let (x, y) = (&a[0], &a[1]);
            quote!(#x #op #y)
        }
        Form::Neg => {
            let x = &a[0];
            quote!(-#x)
        }
        Form::Method => {
            let (x, rest) = (&a[0], &a[1..]);
            quote!(#x.#name(#(#rest),*))
        }
        Form::Activation => quote!(::neuron::#name(#(#a),*)),
    }
}
