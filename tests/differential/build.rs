//! Generator of the differential tests (issue 5).
//!
//! Writes `$OUT_DIR/generated.rs`: `NEURON_DIFF_FUNCS` (default 500) random
//! forward functions `g0, g1, …` from the seed `NEURON_DIFF_SEED` (default
//! [`DEFAULT_SEED`]), then `NEURON_DIFF_SUMMING` (default 100) functions
//! `loss0, loss1, …` that end in a summing loop, which `NAME_backward` fuses
//! (from a stream of their own, so the `gN` do not change with them); the
//! file is `include!`d by `tests/generated.rs`. Each function is emitted twice
//! from the same random choices:
//!
//! * `gN`: plain `f64` code annotated `#[neuron::differentiate]`;
//! * `gN_dual`: the same body over `num_dual::Dual64`, the forward-mode oracle
//!   (`c(v)` lifts constants; kinked operations go through the helpers of the
//!   `neuron_differential` library, which also record kink distances);
//!
//! plus a `#[test]` that checks `gN_value_and_backward` / `gN_backward` at
//! `POINTS` random points against num-dual (relative 1e-9) and central finite
//! differences (see `FD_TOL` in `src/lib.rs` for why that one is looser).
//!
//! Constructs: arithmetic `+ - * / %`, unary minus, every float method of the
//! contract in method form (and some in `f64::name(x)` form), the activations
//! (imported and `neuron::name` path forms), float consts, `let`, shadowing,
//! `let mut` + compound assignment (`+= -= *= /= %=`) and plain reassignment,
//! `for` over literal / `.len()` / runtime ranges (`..`, `..=`, `.rev()`,
//! nested), `while` with an integer counter or a float condition, `if` /
//! `else if` / `else` statements and expressions on float comparisons (also
//! `&&`, `||`, `!`, integer and bool conditions) incl. inside loops, early
//! `return` at top level and from inside loops, calls between generated
//! functions (scalar and array arguments and results), parameters `f64`,
//! `#[no_grad] f64`, `[f64; N]`, `&[f64; N]`, `&[f64]`, `Vec<f64>`,
//! `&Vec<f64>`, `[[f64; M]; N]`, `usize`, `i32`, `bool`, array locals
//! (`[0.0; N]` filled in a loop, literals, rows `let z = m[i];`, element
//! compound assignment), array outputs, integer index expressions,
//! `as` casts, `.len()`, and iterator chains (`zip`/`map`/`sum`, `copied`,
//! `enumerate`, `fold`).
//!
//! How the domains keep both oracles valid:
//!
//! * No poles. Every operation with a restricted domain gets an argument that
//!   is in it by construction: `ln`, `log2`, `log10`, `sqrt`, `cbrt`,
//!   `ln_1p`, `recip`, negative `powi`, the base of `powf` and every divisor
//!   are built by `pos()` (`e*e + 0.5`, `1.5 + e.tanh()`, `e.cosh()`,
//!   `sigmoid(e) + 0.25`, …, all >= a known positive lower bound); `asin` and
//!   `acos` get `0.9 * tanh/sin/cos(e)`; `tan` gets `1.2 * tanh/sin(e)`.
//! * No overflow, and values small enough for finite differences: every
//!   expression carries a static bound on its magnitude (inputs are drawn from
//!   [-2, 2], integer arguments from small ranges); `exp`, `exp2`, `exp_m1`,
//!   `sinh`, `cosh` get arguments bounded by 3, products and loop
//!   accumulations are squashed (`tanh`, `sin`, `atan`, `sigmoid`, …) when
//!   their bound would exceed ~50; loop-carried state is updated by sums over
//!   bounded trip counts or by contractions (`t = t * u + e` with |u| <= 1).
//! * No kinks at the sample points. Kinked operations (`abs`, `signum`, `max`,
//!   `min`, `relu`, `leaky_relu`, `%`, `hypot` at the origin, `atan2` across
//!   its cut) and every float comparison (`if`, `while`) are evaluated by the
//!   dual oracle through helpers that record the distance of their switching
//!   quantity from the switch; the checker redraws a point while that distance
//!   is below `KINK_MARGIN` (1e-2), far more than a finite-difference step can
//!   move it. So the function is smooth in a neighbourhood of every checked
//!   point, and both the num-dual and the finite-difference gradients are the
//!   true gradient there.
//!
//! The generator uses its own SplitMix64 so that the build script has no
//! dependencies and a seed means the same functions on every platform.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

const DEFAULT_FUNCS: usize = 500;
const DEFAULT_SEED: u64 = 0x6e65_7572_6f6e_0005;
const DEFAULT_POINTS: usize = 4;
/// Functions `lossN` of the summing family (see `gen_fn`), after the `gN`.
const DEFAULT_SUMMING: usize = 100;

/// `if` expressions (`let t = if c { a } else { b };`, `x * (if …)`): off
/// because of the macro bug `if_expression_inside_a_condition` (see
/// tests/regressions.rs): when such a value reaches only comparisons (a
/// `while` condition, an `if` condition) the backward pass names an adjoint it
/// never declared, and one such function breaks the build of all of them.
/// `if` statements are generated either way.
const IF_EXPRESSIONS: bool = true;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// An expression in both renderings, with a bound on its magnitude.
#[derive(Clone)]
struct X {
    p: String,
    d: String,
    b: f64,
    atom_p: bool,
    atom_d: bool,
    lit: bool,
}

fn fmt_lit(v: f64) -> String {
    format!("{v:?}")
}

impl X {
    fn lit(v: f64) -> X {
        X {
            p: fmt_lit(v),
            d: format!("c({})", fmt_lit(v)),
            b: v.abs(),
            atom_p: true,
            atom_d: true,
            lit: true,
        }
    }
    fn var(n: &str, b: f64) -> X {
        X {
            p: n.into(),
            d: n.into(),
            b,
            atom_p: true,
            atom_d: true,
            lit: false,
        }
    }
    fn same(s: String, b: f64, atom: bool) -> X {
        X {
            p: s.clone(),
            d: s,
            b,
            atom_p: atom,
            atom_d: atom,
            lit: false,
        }
    }
    fn two(p: String, d: String, b: f64, atom_p: bool, atom_d: bool) -> X {
        X {
            p,
            d,
            b,
            atom_p,
            atom_d,
            lit: false,
        }
    }
    fn wp(&self) -> String {
        if self.atom_p {
            self.p.clone()
        } else {
            format!("({})", self.p)
        }
    }
    fn wd(&self) -> String {
        if self.atom_d {
            self.d.clone()
        } else {
            format!("({})", self.d)
        }
    }
}

/// `: f64` / `: Dual64` when Rust (or the macro) cannot infer a local's type
/// from its initialiser (a literal or a const).
fn ann(e: &X) -> (&'static str, &'static str) {
    let p = e.p.trim_start_matches(['-', '(']);
    if e.lit
        || p.starts_with("K_")
        || p.starts_with("if ")
        || p.starts_with(|c: char| c.is_ascii_digit())
    {
        (": f64", ": Dual64")
    } else {
        ("", "")
    }
}

fn bin(op: &str, a: &X, b: &X, bound: f64) -> X {
    X::two(
        format!("{} {op} {}", a.wp(), b.wp()),
        format!("{} {op} {}", a.wd(), b.wd()),
        bound,
        false,
        false,
    )
}

/// `x.name()` in both renderings (num-dual has the method).
fn m0(x: &X, name: &str, b: f64) -> X {
    X::two(
        format!("{}.{name}()", x.wp()),
        dual_method(x, name),
        b,
        true,
        true,
    )
}

/// The dual rendering of method `name` on `x`. num-dual computes `tanh` as
/// `sinh / cosh`, whose derivative loses its precision for large arguments;
/// the oracle uses `dtanh` (f64's value, `1 - tanh²`) instead.
fn dual_method(x: &X, name: &str) -> String {
    match name {
        "tanh" => format!("dtanh({})", x.d),
        _ => format!("{}.{name}()", x.wd()),
    }
}

/// A plain function call `pf(args)` / dual `df(args)`.
fn call(pf: &str, df: &str, args: &[&X], b: f64) -> X {
    let ap: Vec<String> = args.iter().map(|a| a.p.clone()).collect();
    let ad: Vec<String> = args.iter().map(|a| a.d.clone()).collect();
    X::two(
        format!("{pf}({})", ap.join(", ")),
        format!("{df}({})", ad.join(", ")),
        b,
        true,
        true,
    )
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum P {
    Scalar,
    NoGrad,
    Arr(usize),
    RefArr(usize),
    Slice,
    OwnedVec,
    RefVec,
    Mat(usize, usize),
    Usize,
    I32,
    Bool,
}

#[derive(Clone, PartialEq, Debug)]
enum K {
    Scalar,
    /// A fixed-length array; `by_ref` for `&[f64; N]` parameters.
    Arr(usize, bool),
    Slice,
    Mat(usize, usize),
    Usize,
    I32,
    Bool,
    /// An integer loop variable: exclusive max value if known, and the slice
    /// whose `len()` bounds it.
    Loop(Option<usize>, Option<String>),
}

#[derive(Clone)]
struct V {
    name: String,
    k: K,
    b: f64,
    mutable: bool,
    /// Written since last read (a final write must be read, or rustc warns).
    dirty: bool,
    used: bool,
    level: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Ret {
    Scalar,
    Arr(usize),
}

#[derive(Clone)]
struct Sig {
    name: String,
    params: Vec<P>,
    ret: Ret,
    bound: f64,
}

impl Sig {
    fn callable(&self) -> bool {
        self.params
            .iter()
            // Not with a `#[no_grad]` parameter: the callee treats it as a
            // constant, so a caller passing an active value loses that path
            // (`call_through_a_no_grad_parameter`, tests/regressions.rs).
            .all(|p| matches!(p, P::Scalar | P::Arr(_) | P::RefArr(_)))
    }
}

const MUL_LITS: [f64; 12] = [0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.8, 0.9, 1.5, 2.0];
const ADD_LITS: [f64; 10] = [0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0];
const CONSTS: [(&str, f64); 3] = [("K_HALF", 0.5), ("K_SCALE", 1.25), ("K_SHIFT", 0.3)];

struct Gen<'a> {
    r: &'a mut Rng,
    vars: Vec<V>,
    level: usize,
    lines: Vec<(usize, String, String)>,
    counter: usize,
    loop_depth: usize,
    trips: f64,
    fns: &'a [Sig],
    ret: Ret,
    ret_bound: f64,
    in_while: bool,
    /// Inside a condition (or the float counter of a `while`, which only
    /// conditions read): no `if` expressions and no mutable locals there, and
    /// reads do not count as uses. The macro's bug
    /// `value_only_compared_after_a_mutable` (tests/regressions.rs): a value
    /// computed from a `let mut` local (or an `if` expression's slot) whose
    /// only use is a comparison leaves an undeclared adjoint in the backward
    /// pass, and one such function breaks the build of all of them.
    in_cond: bool,
    /// Functions already called in this one.
    called: Vec<String>,
    /// No calls here (see `call_expr`).
    no_calls: bool,
}

impl<'a> Gen<'a> {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }
    fn line(&mut self, p: String, d: String) {
        self.lines.push((self.level, p, d));
    }
    fn line_same(&mut self, s: String) {
        self.lines.push((self.level, s.clone(), s));
    }
    fn lit_mul(&mut self) -> X {
        X::lit(self.r.pick(&MUL_LITS))
    }
    fn lit_add(&mut self) -> X {
        X::lit(self.r.pick(&ADD_LITS))
    }
    fn mark_read(&mut self, name: &str) {
        // A read inside a condition does not count: the value must also reach
        // the output (the leftovers add it there), see `in_cond`.
        let float = |k: &K| matches!(k, K::Scalar | K::Arr(..) | K::Slice | K::Mat(..));
        if let Some(v) = self.vars.iter_mut().rev().find(|v| v.name == name) {
            if self.in_cond && float(&v.k) {
                return;
            }
        }
        if let Some(v) = self.vars.iter_mut().rev().find(|v| v.name == name) {
            v.used = true;
            v.dirty = false;
        }
    }
    fn find(&self, name: &str) -> Option<usize> {
        self.vars.iter().rposition(|v| v.name == name)
    }

    // ---------------------------------------------------------------- leaves

    /// An integer index into a container of length `len` (`None`: a slice
    /// named `slice`, of runtime length >= 1).
    fn index(&mut self, len: Option<usize>, slice: Option<&str>) -> String {
        let loops: Vec<(String, K)> = self
            .vars
            .iter()
            .filter(|v| matches!(v.k, K::Loop(..)))
            .map(|v| (v.name.clone(), v.k.clone()))
            .collect();
        if !loops.is_empty() && self.r.chance(0.75) {
            let (i, k) = loops[self.r.below(loops.len())].clone();
            self.mark_read(&i);
            let K::Loop(max, over) = k else {
                unreachable!()
            };
            match (len, slice) {
                (Some(l), _) => {
                    if max.is_some_and(|m| m <= l) {
                        match self.r.below(4) {
                            0 | 1 => i,
                            2 => format!("{} - {i}", l - 1),
                            _ => format!("{i} / 2"),
                        }
                    } else if l == 1 {
                        "0".into()
                    } else if self.r.chance(0.5) {
                        format!("{i} % {l}")
                    } else {
                        format!("({i} + 1) % {l}")
                    }
                }
                (None, Some(s)) => {
                    if over.as_deref() == Some(s) {
                        if self.r.chance(0.7) {
                            i
                        } else {
                            format!("{s}.len() - 1 - {i}")
                        }
                    } else {
                        format!("{i} % {s}.len()")
                    }
                }
                _ => unreachable!(),
            }
        } else {
            match (len, slice) {
                (Some(l), _) => self.r.below(l).to_string(),
                (None, Some(s)) => {
                    if self.r.chance(0.6) {
                        "0".into()
                    } else {
                        format!("{s}.len() - 1")
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    fn leaf(&mut self) -> X {
        self.leaf_inner(true)
    }

    fn leaf_inner(&mut self, allow_lit: bool) -> X {
        let cands: Vec<V> = self.vars.clone();
        for _ in 0..20 {
            let roll = self.r.below(100);
            if roll < 8 && allow_lit {
                return self.lit_add();
            }
            if roll < 11 {
                let (n, v) = self.r.pick(&CONSTS);
                return X::two(n.into(), format!("c({n})"), v, true, true);
            }
            if cands.is_empty() {
                continue;
            }
            let v = cands[self.r.below(cands.len())].clone();
            // Prefer scalars: re-roll some non-scalars.
            if v.k != K::Scalar && self.r.chance(0.3) {
                continue;
            }
            // No mutable locals inside conditions: see `in_cond`.
            if self.in_cond && v.mutable {
                continue;
            }
            match v.k {
                K::Scalar => {
                    self.mark_read(&v.name);
                    return X::var(&v.name, v.b);
                }
                K::Arr(l, _) => {
                    let ix = self.index(Some(l), None);
                    self.mark_read(&v.name);
                    return X::var(&format!("{}[{ix}]", v.name), v.b);
                }
                K::Slice => {
                    if self.r.chance(0.15) {
                        self.mark_read(&v.name);
                        return X::two(
                            format!("{}.len() as f64", v.name),
                            format!("c({}.len() as f64)", v.name),
                            5.0,
                            false,
                            true,
                        );
                    }
                    let ix = self.index(None, Some(&v.name));
                    self.mark_read(&v.name);
                    return X::var(&format!("{}[{ix}]", v.name), v.b);
                }
                K::Mat(n, m) => {
                    let i = self.index(Some(n), None);
                    let j = self.index(Some(m), None);
                    self.mark_read(&v.name);
                    return X::var(&format!("{}[{i}][{j}]", v.name), v.b);
                }
                K::Usize | K::I32 | K::Loop(..) => {
                    self.mark_read(&v.name);
                    return X::two(
                        format!("{} as f64", v.name),
                        format!("c({} as f64)", v.name),
                        v.b,
                        false,
                        true,
                    );
                }
                K::Bool => continue,
            }
        }
        if allow_lit {
            self.lit_add()
        } else {
            X::two("K_SHIFT".into(), "c(K_SHIFT)".into(), 0.3, true, true)
        }
    }

    // ----------------------------------------------------------- expressions

    /// `x` with magnitude at most ~`lim`: squashed if its bound is larger.
    fn cap(&mut self, x: X, lim: f64) -> X {
        if x.b <= lim {
            return x;
        }
        let s = self.squash(x);
        if s.b <= lim {
            s
        } else {
            let k = X::lit(0.5);
            bin("*", &s, &k, s.b * 0.5)
        }
    }

    /// A bounded smooth function of `x` (|result| <= 1.6).
    fn squash(&mut self, x: X) -> X {
        match self.r.below(6) {
            0 => m0(&x, "tanh", 1.0),
            1 => m0(&x, "sin", 1.0),
            2 => m0(&x, "atan", 1.58),
            3 => call("sigmoid", "dsigmoid", &[&x], 1.0),
            4 => m0(&x, "cos", 1.0),
            _ => {
                // x / (1 + x*x), |.| <= 1/2
                let sq = bin("*", &x, &x, x.b * x.b);
                let den = bin("+", &X::lit(1.0), &sq, 1.0 + x.b * x.b);
                bin("/", &x, &den, 0.5)
            }
        }
    }

    /// A unit-bounded factor for contractions: |u| <= 1.
    fn unit(&mut self, depth: usize) -> X {
        if self.r.chance(0.3) {
            return X::lit(self.r.pick(&[0.5, 0.75, 0.9, 0.25]));
        }
        let e = self.operand(depth);
        match self.r.below(4) {
            0 => m0(&e, "tanh", 1.0),
            1 => m0(&e, "sin", 1.0),
            2 => m0(&e, "cos", 1.0),
            _ => call("sigmoid", "dsigmoid", &[&e], 1.0),
        }
    }

    /// A non-literal expression (methods are never called on literals).
    fn operand(&mut self, depth: usize) -> X {
        let e = self.expr(depth);
        if e.lit {
            self.leaf_inner(false)
        } else {
            e
        }
    }

    /// A positive expression and its lower bound.
    fn pos(&mut self, depth: usize) -> (X, f64) {
        let e = self.operand(depth);
        let e = self.cap(e, 5.0);
        match self.r.below(9) {
            0 => {
                let l = self.r.pick(&[0.25, 0.5, 1.0, 1.5]);
                let sq = bin("*", &e, &e, e.b * e.b);
                (bin("+", &sq, &X::lit(l), e.b * e.b + l), l)
            }
            1 => {
                let l = self.r.pick(&[0.5, 1.0]);
                let sq = X::two(
                    format!("{}.powi(2)", e.wp()),
                    format!("{}.powi(2)", e.wd()),
                    e.b * e.b,
                    true,
                    true,
                );
                (bin("+", &sq, &X::lit(l), e.b * e.b + l), l)
            }
            2 => {
                let l = self.r.pick(&[1.5, 2.0]);
                let t = m0(&e, "tanh", 1.0);
                (bin("+", &X::lit(l), &t, l + 1.0), l - 1.0)
            }
            3 => {
                let e = self.cap(e, 3.0);
                let lo = (-e.b).exp();
                (m0(&e, "exp", e.b.exp()), lo)
            }
            4 => {
                let s = call("sigmoid", "dsigmoid", &[&e], 1.0);
                (bin("+", &s, &X::lit(0.25), 1.25), 0.25)
            }
            5 => {
                let s = call("softplus", "dsoftplus", &[&e], e.b + 0.7);
                (bin("+", &s, &X::lit(0.5), e.b + 1.2), 0.5)
            }
            6 => {
                let e = self.cap(e, 3.0);
                (m0(&e, "cosh", e.b.cosh()), 1.0)
            }
            7 => {
                let l = self.r.pick(&[0.5, 1.0]);
                let lx = X::lit(l);
                (
                    X::two(
                        format!("{}.hypot({})", e.wp(), lx.p),
                        format!("dhypot({}, {})", e.d, lx.d),
                        e.b + l,
                        true,
                        true,
                    ),
                    l,
                )
            }
            _ => {
                let s = m0(&e, "sin", 1.0);
                (bin("+", &X::lit(1.5), &s, 2.5), 0.5)
            }
        }
    }

    fn unary(&mut self, depth: usize) -> X {
        let assoc = self.r.chance(0.15);
        let name = self.r.pick(&[
            "exp",
            "exp2",
            "exp_m1",
            "ln",
            "log2",
            "log10",
            "sqrt",
            "cbrt",
            "powi",
            "powf",
            "sin",
            "cos",
            "tan",
            "asin",
            "acos",
            "atan",
            "sinh",
            "cosh",
            "tanh",
            "abs",
            "signum",
            "recip",
            "ln_1p",
            "neg",
            "relu",
            "sigmoid",
            "softplus",
            "leaky_relu",
            "gelu",
            "silu",
        ]);
        let e = |g: &mut Self| g.operand(depth - 1);
        // The argument for a method, and how to print the method.
        let meth = |g: &mut Self, x: X, name: &str, b: f64| -> X {
            if assoc && !matches!(name, "powi" | "powf") {
                X::two(
                    format!("f64::{name}({})", x.p),
                    dual_method(&x, name),
                    b,
                    true,
                    true,
                )
            } else {
                let _ = g;
                m0(&x, name, b)
            }
        };
        match name {
            "exp" | "exp2" | "exp_m1" | "sinh" | "cosh" => {
                let x = e(self);
                let x = self.cap(x, 3.0);
                let b = x.b.exp() + 1.0;
                meth(self, x, name, b)
            }
            "ln" | "log2" | "log10" | "sqrt" | "cbrt" | "ln_1p" | "recip" => {
                let (x, lo) = self.pos(depth - 1);
                let b = match name {
                    "recip" => 1.0 / lo,
                    "sqrt" | "cbrt" => x.b.sqrt() + 1.0,
                    _ => lo.ln().abs().max(x.b.ln().abs()) * 3.4 + 1.0,
                };
                meth(self, x, name, b)
            }
            "powi" => {
                let k = self.r.pick(&[-2i32, -1, 2, 3, 4]);
                let (x, b) = if k < 0 {
                    let (x, lo) = self.pos(depth - 1);
                    let b = lo.powi(k);
                    (x, b)
                } else {
                    let x = e(self);
                    let x = self.cap(x, 3.0);
                    let b = x.b.powi(k);
                    (x, b)
                };
                X::two(
                    format!("{}.powi({k})", x.wp()),
                    format!("{}.powi({k})", x.wd()),
                    b,
                    true,
                    true,
                )
            }
            "powf" => {
                let (x, lo) = self.pos(depth - 1);
                let x = if x.b > 5.0 {
                    let s = self.squash(x);
                    m0(&s, "exp", 3.0)
                } else {
                    x
                };
                let lo = lo.min(0.3);
                let y = if self.r.chance(0.3) {
                    self.lit_mul()
                } else {
                    let y = e(self);
                    self.cap(y, 2.0)
                };
                let b = x.b.max(1.0).powf(y.b.max(1.0)) + lo.powf(-y.b);
                X::two(
                    format!("{}.powf({})", x.wp(), y.p),
                    format!("{}.powd({})", x.wd(), y.d),
                    b,
                    true,
                    true,
                )
            }
            "sin" | "cos" | "atan" | "tanh" => {
                let x = e(self);
                let x = self.cap(x, 50.0);
                meth(self, x, name, 1.6)
            }
            "tan" => {
                let x = e(self);
                let s = if self.r.chance(0.5) {
                    m0(&x, "tanh", 1.0)
                } else {
                    m0(&x, "sin", 1.0)
                };
                let a = bin("*", &s, &X::lit(1.2), 1.2);
                meth(self, a, "tan", 2.6)
            }
            "asin" | "acos" => {
                let x = e(self);
                let s = match self.r.below(3) {
                    0 => m0(&x, "tanh", 1.0),
                    1 => m0(&x, "sin", 1.0),
                    _ => m0(&x, "cos", 1.0),
                };
                let a = bin("*", &s, &X::lit(0.9), 0.9);
                meth(self, a, name, 3.2)
            }
            "abs" | "signum" => {
                // signum's derivative is 0, so its argument is a leaf (bug
                // `value_only_compared`: a longer chain feeding only signum).
                let x = if name == "signum" {
                    let was = self.in_cond;
                    self.in_cond = true;
                    let x = self.leaf_inner(false);
                    self.in_cond = was;
                    x
                } else {
                    e(self)
                };
                let b = if name == "abs" { x.b } else { 1.0 };
                let f = if name == "abs" { "dabs" } else { "dsignum" };
                X::two(
                    format!("{}.{name}()", x.wp()),
                    format!("{f}({})", x.d),
                    b,
                    true,
                    true,
                )
            }
            "neg" => {
                let x = e(self);
                X::two(
                    format!("-{}", x.wp()),
                    format!("-{}", x.wd()),
                    x.b,
                    false,
                    false,
                )
            }
            "leaky_relu" => {
                let x = e(self);
                let x = self.cap(x, 20.0);
                let a = if self.r.chance(0.6) {
                    X::lit(self.r.pick(&[0.01, 0.1, 0.2]))
                } else {
                    let y = e(self);
                    let s = call("sigmoid", "dsigmoid", &[&y], 1.0);
                    bin("*", &s, &X::lit(0.3), 0.3)
                };
                let pf = if self.r.chance(0.3) {
                    "neuron::leaky_relu"
                } else {
                    "leaky_relu"
                };
                call(pf, "dleaky", &[&x, &a], x.b)
            }
            _ => {
                // relu, sigmoid, softplus, gelu, silu
                let x = e(self);
                let x = self.cap(x, 20.0);
                let b = match name {
                    "sigmoid" => 1.0,
                    "softplus" => x.b + 0.7,
                    _ => x.b * 1.2,
                };
                let pf = if self.r.chance(0.3) {
                    format!("neuron::{name}")
                } else {
                    name.to_string()
                };
                call(&pf, &format!("d{name}"), &[&x], b)
            }
        }
    }

    fn binary_fn(&mut self, depth: usize) -> X {
        let a = self.operand(depth - 1);
        let mut b = self.expr(depth - 1);
        if b.p == a.p {
            b = bin("*", &b, &X::lit(0.5), b.b * 0.5);
        }
        match self.r.below(5) {
            0 | 1 => {
                let name = if self.r.chance(0.5) { "max" } else { "min" };
                let b = if b.lit { self.leaf_inner(false) } else { b };
                X::two(
                    format!("{}.{name}({})", a.wp(), b.p),
                    format!("d{name}({}, {})", a.d, b.d),
                    a.b.max(b.b),
                    true,
                    true,
                )
            }
            2 => X::two(
                format!("{}.hypot({})", a.wp(), b.p),
                format!("dhypot({}, {})", a.d, b.d),
                a.b + b.b,
                true,
                true,
            ),
            3 => X::two(
                format!("{}.atan2({})", a.wp(), b.p),
                format!("datan2({}, {})", a.d, b.d),
                3.2,
                true,
                true,
            ),
            _ => {
                let a = self.cap(a, 10.0);
                let b = self.cap(b, 10.0);
                let c = self.expr(depth - 1);
                let c = self.cap(c, 50.0);
                X::two(
                    format!("{}.mul_add({}, {})", a.wp(), b.p, c.p),
                    format!("dmul_add({}, {}, {})", a.d, b.d, c.d),
                    a.b * b.b + c.b,
                    true,
                    false,
                )
            }
        }
    }

    fn arith(&mut self, depth: usize) -> X {
        let op = self.r.pick(&["+", "-", "*", "*", "+", "/", "%"]);
        let a = self.expr(depth - 1);
        match op {
            "+" | "-" | "*" => {
                let mut b = self.expr(depth - 1);
                if a.lit && b.lit {
                    b = self.leaf_inner(false);
                }
                if op == "-" && a.p == b.p {
                    b = bin("*", &b, &X::lit(0.5), b.b * 0.5);
                }
                if op == "*" {
                    let (a, b) = (self.cap(a, 10.0), self.cap(b, 10.0));
                    bin("*", &a, &b, a.b * b.b)
                } else {
                    let bound = a.b + b.b;
                    bin(op, &a, &b, bound)
                }
            }
            "/" => {
                let (den, lo) = self.pos(depth - 1);
                let neg = self.r.chance(0.3);
                let den = if neg {
                    X::two(
                        format!("-{}", den.wp()),
                        format!("-{}", den.wd()),
                        den.b,
                        false,
                        false,
                    )
                } else {
                    den
                };
                let a = if a.lit { self.leaf_inner(false) } else { a };
                let bound = a.b / lo;
                let q = bin("/", &a, &den, bound);
                self.cap(q, 50.0)
            }
            _ => {
                let (den, _lo) = self.pos(depth - 1);
                let a = if a.lit { self.leaf_inner(false) } else { a };
                X::two(
                    format!("{} % {}", a.wp(), den.wp()),
                    format!("drem({}, {})", a.d, den.d),
                    a.b.min(den.b),
                    false,
                    true,
                )
            }
        }
    }

    /// A call of an earlier generated function (`None` if there is none that
    /// fits).
    fn call_expr(&mut self, depth: usize) -> Option<X> {
        // Each callee at most once per function: the macro's bug
        // `second_call_in_a_loop` (tests/regressions.rs).
        // No call inside another call's arguments, an early `return`'s value
        // or a `while` body: the macro bug `nested_call_in_an_early_return`
        // (tests/regressions.rs), and a compile failure with a call in a
        // `while` loop ("cannot find value `t5`", function g301) not yet
        // shrunk to a small case.
        if self.no_calls || self.in_while {
            return None;
        }
        let fns: Vec<Sig> = self
            .fns
            .iter()
            .filter(|s| s.callable() && !self.called.contains(&s.name))
            .cloned()
            .collect();
        if fns.is_empty() {
            return None;
        }
        let s = fns[self.r.below(fns.len())].clone();
        self.called.push(s.name.clone());
        let (ap, ad) = self.call_args(&s, depth);
        let x = X::two(
            format!("{}({})", s.name, ap.join(", ")),
            format!("{}_dual({})", s.name, ad.join(", ")),
            s.bound,
            true,
            true,
        );
        match s.ret {
            Ret::Scalar => Some(x),
            Ret::Arr(n) => {
                let k = self.r.below(n);
                Some(X::two(
                    format!("{}[{k}]", x.p),
                    format!("{}[{k}]", x.d),
                    s.bound,
                    true,
                    true,
                ))
            }
        }
    }

    fn call_args(&mut self, s: &Sig, depth: usize) -> (Vec<String>, Vec<String>) {
        let was = self.no_calls;
        self.no_calls = true;
        let r = self.call_args_inner(s, depth);
        self.no_calls = was;
        r
    }

    fn call_args_inner(&mut self, s: &Sig, depth: usize) -> (Vec<String>, Vec<String>) {
        let mut ap = Vec::new();
        let mut ad = Vec::new();
        for p in &s.params {
            match *p {
                P::Scalar | P::NoGrad => {
                    let e = self.expr(depth.saturating_sub(1));
                    let e = self.cap(e, 5.0);
                    ap.push(e.p);
                    ad.push(e.d);
                }
                P::Arr(n) | P::RefArr(n) => {
                    let by_ref = matches!(p, P::RefArr(_));
                    let arrs: Vec<V> = self
                        .vars
                        .iter()
                        .filter(|v| v.k == K::Arr(n, false) || (by_ref && v.k == K::Arr(n, true)))
                        .cloned()
                        .collect();
                    if !arrs.is_empty() && self.r.chance(0.7) {
                        let v = arrs[self.r.below(arrs.len())].clone();
                        self.mark_read(&v.name);
                        let s = if by_ref && v.k == K::Arr(n, false) {
                            format!("&{}", v.name)
                        } else {
                            v.name.clone()
                        };
                        ap.push(s.clone());
                        ad.push(s);
                    } else {
                        let els: Vec<X> = (0..n)
                            .map(|_| {
                                let e = self.expr(depth.saturating_sub(2));
                                self.cap(e, 5.0)
                            })
                            .collect();
                        let amp = if by_ref { "&" } else { "" };
                        ap.push(format!(
                            "{amp}[{}]",
                            els.iter()
                                .map(|e| e.p.clone())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        ad.push(format!(
                            "{amp}[{}]",
                            els.iter()
                                .map(|e| e.d.clone())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
                _ => unreachable!(),
            }
        }
        (ap, ad)
    }

    fn if_expr(&mut self, depth: usize) -> X {
        let (cp, cd) = self.cond(depth - 1);
        let a = self.expr(depth - 1);
        let mut b = self.expr(depth - 1);
        if a.lit && b.lit {
            // `if c { 1.5 } else { 0.1 }` has no float type of its own, so a
            // method called on it does not compile, macro or not.
            b = self.leaf_inner(false);
        }
        if b.p == a.p {
            b = bin("*", &b, &X::lit(0.5), b.b * 0.5);
        }
        X::two(
            format!("if {cp} {{ {} }} else {{ {} }}", a.p, b.p),
            format!("if {cd} {{ {} }} else {{ {} }}", a.d, b.d),
            a.b.max(b.b),
            false,
            false,
        )
    }

    fn expr(&mut self, depth: usize) -> X {
        if depth == 0 || self.r.chance(0.2) {
            return self.leaf();
        }
        let roll = self.r.below(100);
        if roll < 35 {
            self.arith(depth)
        } else if roll < 70 {
            self.unary(depth)
        } else if roll < 82 {
            self.binary_fn(depth)
        } else if roll < 88 {
            match self.call_expr(depth) {
                Some(x) => x,
                None => self.arith(depth),
            }
        } else if roll < 93 && !self.in_cond && IF_EXPRESSIONS {
            self.if_expr(depth)
        } else {
            self.arith(depth)
        }
    }

    /// A condition, plain and dual.
    fn cond(&mut self, depth: usize) -> (String, String) {
        let roll = self.r.below(100);
        let loops: Vec<String> = self
            .vars
            .iter()
            .filter(|v| matches!(v.k, K::Loop(..)))
            .map(|v| v.name.clone())
            .collect();
        let bools: Vec<String> = self.names_of(&K::Bool);
        if roll < 10 && !loops.is_empty() {
            let i = loops[self.r.below(loops.len())].clone();
            self.mark_read(&i);
            let s = if self.r.chance(0.5) {
                format!("{i} % 2 == 0")
            } else {
                format!("{i} < {}", self.r.range(1, 2))
            };
            return (s.clone(), s);
        }
        if roll < 18 && !bools.is_empty() {
            let f = bools[self.r.below(bools.len())].clone();
            self.mark_read(&f);
            let s = if self.r.chance(0.5) {
                f
            } else {
                format!("!{f}")
            };
            return (s.clone(), s);
        }
        if roll < 30 && depth > 0 {
            let (ap, ad) = self.cond(0);
            let (bp, bd) = self.cond(0);
            if ap != bp {
                let op = if self.r.chance(0.5) { "&&" } else { "||" };
                return (format!("{ap} {op} {bp}"), format!("{ad} {op} {bd}"));
            }
            return (ap, ad);
        }
        // Sides are leaves, never computations: the macro's bug `value_only_compared`
        // (tests/regressions.rs) leaves an undeclared adjoint when a chain of
        // two or more operations feeds only a comparison. Computed values
        // enter conditions through `let` locals, which the output also reads.
        let muts: Vec<V> = self
            .vars
            .iter()
            .filter(|v| v.mutable && v.k == K::Scalar)
            .cloned()
            .collect();
        let was = self.in_cond;
        self.in_cond = true;
        let mut a = if !muts.is_empty() && self.r.chance(0.3) {
            let v = &muts[self.r.below(muts.len())];
            X::var(&v.name, v.b)
        } else {
            self.leaf_inner(false)
        };
        let mut b = self.leaf();
        self.in_cond = was;
        let _ = depth;
        if b.p == a.p {
            b = self.lit_add();
        }
        // The macro drops the parentheses of `(n as f64) < x` (bug
        // `cast_on_the_left_of_a_comparison`): no bare cast on the left.
        if a.p.ends_with(" as f64") {
            std::mem::swap(&mut a, &mut b);
            if a.p.ends_with(" as f64") {
                a = bin("*", &a, &X::lit(0.5), a.b * 0.5);
            }
        }
        let (op, f) = self
            .r
            .pick(&[("<", "lt"), (">", "gt"), ("<=", "le"), (">=", "ge")]);
        (
            format!("{} {op} {}", a.wp(), b.wp()),
            format!("{f}({}, {})", a.d, b.d),
        )
    }

    // ------------------------------------------------------------ statements

    /// The names of the variables in scope of kind `k`.
    fn names_of(&self, k: &K) -> Vec<String> {
        self.vars
            .iter()
            .filter(|v| v.k == *k)
            .map(|v| v.name.clone())
            .collect()
    }

    fn push_var(&mut self, name: &str, k: K, b: f64, mutable: bool) {
        self.vars.push(V {
            name: name.into(),
            k,
            b,
            mutable,
            dirty: false,
            used: false,
            level: self.level,
        });
    }

    /// A mutable scalar in scope (created if there is none, or sometimes).
    fn target(&mut self) -> String {
        let muts: Vec<String> = self
            .vars
            .iter()
            .filter(|v| v.mutable && v.k == K::Scalar && !v.name.starts_with('q'))
            .map(|v| v.name.clone())
            .collect();
        if !muts.is_empty() && self.r.chance(0.8) {
            return muts[self.r.below(muts.len())].clone();
        }
        let n = self.fresh("t");
        // Not a bare literal: the macro drops `let mut t: f64 = 1.0;`'s
        // annotation (bug `annotated_literal_let_mut`, tests/regressions.rs).
        let e = self.operand(1);
        let e = self.cap(e, 10.0);
        let (ap, ad) = ann(&e);
        self.line(
            format!("let mut {n}{ap} = {};", e.p),
            format!("let mut {n}{ad} = {};", e.d),
        );
        self.push_var(&n, K::Scalar, e.b, true);
        n
    }

    /// An update of the mutable scalar `t`.
    fn update(&mut self, t: &str, depth: usize) {
        let i = self.find(t).unwrap();
        let tb = self.vars[i].b;
        let trips = self.trips;
        let roll = self.r.below(100);
        let (p, d, nb);
        if roll < 40 {
            let op = if self.r.chance(0.7) { "+=" } else { "-=" };
            let e = self.expr(depth);
            let e = self.cap(e, 10.0);
            p = format!("{t} {op} {};", e.p);
            d = format!("{t} {op} {};", e.d);
            nb = tb + trips * e.b;
        } else if roll < 52 {
            let u = self.unit(depth.saturating_sub(1));
            p = format!("{t} *= {};", u.p);
            d = format!("{t} *= {};", u.d);
            nb = tb;
        } else if roll < 60 {
            let e = self.operand(depth.saturating_sub(1));
            let e = self.cap(e, 3.0);
            let (den, lo) = if self.r.chance(0.5) {
                let sq = bin("*", &e, &e, e.b * e.b);
                (bin("+", &sq, &X::lit(1.0), e.b * e.b + 1.0), 1.0)
            } else {
                (m0(&e, "cosh", e.b.cosh()), 1.0)
            };
            let _ = lo;
            p = format!("{t} /= {};", den.p);
            d = format!("{t} /= {};", den.d);
            nb = tb;
        } else if roll < 64 {
            let (den, _) = self.pos(depth.saturating_sub(1));
            p = format!("{t} %= {};", den.p);
            d = format!("{t} = drem({t}, {});", den.d);
            nb = tb;
        } else {
            // General loop-carried state.
            self.mark_read(t);
            let tx = X::var(t, tb);
            let e = self.expr(depth);
            let e = self.cap(e, 10.0);
            let x = match self.r.below(4) {
                0 => {
                    let u = self.unit(depth.saturating_sub(1));
                    let m = bin("*", &tx, &u, tb);
                    bin("+", &m, &e, tb + e.b)
                }
                1 => {
                    let s = bin("+", &tx, &e, tb + e.b);
                    match self.r.below(3) {
                        0 => m0(&s, "sin", 1.0),
                        1 => m0(&s, "tanh", 1.0),
                        _ => m0(&s, "atan", 1.6),
                    }
                }
                2 => {
                    let u = self.unit(depth.saturating_sub(1));
                    X::two(
                        format!("{t}.mul_add({}, {})", u.p, e.p),
                        format!("dmul_add({t}, {}, {})", u.d, e.d),
                        tb + e.b,
                        true,
                        false,
                    )
                }
                _ => {
                    let l = self.lit_mul();
                    let l = if l.b >= 1.0 { X::lit(0.5) } else { l };
                    let m = bin("*", &e, &l, e.b);
                    let u = self.unit(depth.saturating_sub(1));
                    let tu = bin("*", &tx, &u, tb);
                    bin("-", &m, &tu, tb + e.b)
                }
            };
            p = format!("{t} = {};", x.p);
            d = format!("{t} = {};", x.d);
            nb = if x.b <= 1.6 { x.b } else { tb + trips * e.b };
        }
        self.line(p, d);
        let i = self.find(t).unwrap();
        self.vars[i].b = nb.max(self.vars[i].b);
        self.vars[i].dirty = true;
        // Keep state bounded: squash once it is large.
        if self.vars[i].b > 60.0 {
            let tx = X::var(t, self.vars[i].b);
            self.mark_read(t);
            let s = m0(&tx, "tanh", 1.0);
            let s = bin("*", &s, &X::lit(3.0), 3.0);
            self.line(format!("{t} = {};", s.p), format!("{t} = {};", s.d));
            let i = self.find(t).unwrap();
            self.vars[i].b = 3.0;
            self.vars[i].dirty = true;
        }
    }

    fn open(&mut self) {
        self.level += 1;
    }

    /// Closes a block: locals of the block that were never read (or written
    /// since) are added into `sink`, a mutable of an outer block.
    fn close(&mut self, sink: &str) {
        let lvl = self.level;
        let pending: Vec<V> = self
            .vars
            .iter()
            .filter(|v| v.level == lvl && (!v.used || v.dirty))
            .cloned()
            .collect();
        for v in pending {
            let term = match v.k {
                K::Scalar => {
                    let x = X::var(&v.name, v.b);
                    self.cap(x, 10.0)
                }
                K::Arr(..) => {
                    let x = X::var(&format!("{}[0]", v.name), v.b);
                    self.cap(x, 10.0)
                }
                _ => continue,
            };
            self.mark_read(&v.name);
            let l = self.lit_mul();
            let m = bin("*", &term, &l, term.b * l.b);
            self.line(format!("{sink} += {};", m.p), format!("{sink} += {};", m.d));
            let i = self.find(sink).unwrap();
            self.vars[i].b += self.trips * m.b;
            self.vars[i].dirty = true;
        }
        self.vars.retain(|v| v.level != lvl);
        self.level -= 1;
    }

    fn block(&mut self, sink: &str, depth: usize, n: usize) {
        for _ in 0..n {
            self.stmt(depth, false);
        }
        self.update(sink, depth.min(2));
    }

    fn for_loop(&mut self, depth: usize) {
        let sink = self.target();
        let arrays: Vec<V> = self
            .vars
            .iter()
            // Not over a call's result array (`for i in 0..cz.len()`): a
            // compile failure ("cannot find value `z5`", seed 0x6e6575726f6e0005
            // function g95 before this rule) not yet shrunk to a small case.
            .filter(|v| {
                matches!(v.k, K::Arr(..) | K::Slice | K::Mat(..)) && !v.name.starts_with("cz")
            })
            .cloned()
            .collect();
        let ints: Vec<String> = self.names_of(&K::Usize);
        let i = self.fresh("i");
        let roll = self.r.below(100);
        let (header, max, over, trips): (String, Option<usize>, Option<String>, f64);
        if roll < 35 && !arrays.is_empty() {
            let v = arrays[self.r.below(arrays.len())].clone();
            self.mark_read(&v.name);
            match v.k {
                K::Arr(l, _) | K::Mat(l, _) => {
                    header = format!("for {i} in 0..{}.len()", v.name);
                    max = Some(l);
                    over = None;
                    trips = l as f64;
                }
                _ => {
                    let rev = self.r.chance(0.3);
                    header = if rev {
                        format!("for {i} in (0..{}.len()).rev()", v.name)
                    } else {
                        format!("for {i} in 0..{}.len()", v.name)
                    };
                    max = None;
                    over = Some(v.name.clone());
                    trips = 5.0;
                }
            }
        } else if roll < 45 && !ints.is_empty() {
            let n = ints[self.r.below(ints.len())].clone();
            self.mark_read(&n);
            header = format!("for {i} in 0..{n}");
            max = None;
            over = None;
            trips = 4.0;
        } else {
            let n = self.r.range(2, 4);
            let (h, lo) = match self.r.below(5) {
                0 => (format!("for {i} in 0..={}", n - 1), 0),
                1 => (format!("for {i} in (0..{n}).rev()"), 0),
                2 => (format!("for {i} in 1..{n}"), 1),
                3 => (format!("for {i} in (1..={}).rev()", n - 1), 1),
                _ => (format!("for {i} in 0..{n}"), 0),
            };
            header = h;
            max = Some(n);
            over = None;
            trips = (n - lo) as f64;
        }
        let at = self.lines.len();
        self.line(format!("{header} {{"), format!("{header} {{"));
        self.open();
        self.push_var(&i, K::Loop(max, over), trips.max(4.0), false);
        let saved = self.trips;
        self.trips *= trips;
        self.loop_depth += 1;
        let n = self.r.range(0, 2);
        self.block(&sink, depth, n);
        self.loop_depth -= 1;
        self.trips = saved;
        let used = self.vars.iter().any(|v| v.name == i && v.used);
        self.close(&sink);
        self.line_same("}".into());
        if !used {
            self.unnamed_loop_var(at, &i);
        }
    }

    /// `for i` becomes `for _` in the loop header at line `at`, when the body
    /// never read `i` (rustc warns of an unused variable otherwise).
    fn unnamed_loop_var(&mut self, at: usize, i: &str) {
        let (_, p, d) = &mut self.lines[at];
        *p = p.replacen(&format!("for {i} "), "for _ ", 1);
        *d = d.replacen(&format!("for {i} "), "for _ ", 1);
    }

    /// `let tail = e; let mut sum = 0.0; for i in 0..n { sum += …(i)…; }`,
    /// and the tail `sum * lit + tail`, which needs neither value to
    /// propagate the sum's adjoint (see `summing` in `gen_fn`).
    fn summing_loop(&mut self, e: X) -> (X, f64) {
        let tail = self.fresh("tail");
        self.line(
            format!("let {tail} = {};", e.p),
            format!("let {tail} = {};", e.d),
        );
        let sum = self.fresh("sum");
        self.line(
            format!("let mut {sum} = 0.0;"),
            format!("let mut {sum} = c(0.0);"),
        );
        // Over a slice's length sometimes: tapes inside the loop are then
        // `Vec`s, which the fused sweep empties after each iteration.
        let slices: Vec<String> = self.names_of(&K::Slice);
        let i = self.fresh("i");
        let (header, k, n) = if !slices.is_empty() && self.r.chance(0.5) {
            let v = slices[self.r.below(slices.len())].clone();
            self.mark_read(&v);
            (
                format!("for {i} in 0..{v}.len() {{"),
                K::Loop(None, Some(v)),
                5,
            )
        } else {
            let n = self.r.range(2, 4);
            (format!("for {i} in 0..{n} {{"), K::Loop(Some(n), None), n)
        };
        let at = self.lines.len();
        self.line_same(header);
        self.open();
        self.push_var(&i, k, 4.0, false);
        let saved = self.trips;
        self.trips *= n as f64;
        self.loop_depth += 1;
        // Statements before the sum's update: nested loops and branches,
        // whose tapes the fused sweep keeps per iteration.
        for _ in 0..self.r.range(0, 2) {
            self.stmt(2, false);
        }
        let x = self.expr(2);
        let x = self.cap(x, 50.0);
        self.line(format!("{sum} += {};", x.p), format!("{sum} += {};", x.d));
        self.loop_depth -= 1;
        self.trips = saved;
        let used = self.vars.iter().any(|v| v.name == i && v.used);
        // The sum is a variable only now, for `close` to add the loop's
        // unread locals into: nothing in the loop reads or rewrites it.
        // At the enclosing level, so that `close` keeps it: its bound, grown
        // by what `close` adds, is read and the variable dropped after.
        self.push_var(&sum, K::Scalar, n as f64 * x.b, true);
        if let Some(v) = self.vars.last_mut() {
            v.level -= 1;
        }
        self.close(&sum);
        self.line_same("}".into());
        let sum_b = self
            .vars
            .iter()
            .find(|v| v.name == sum)
            .map_or(0.0, |v| v.b);
        self.vars.retain(|v| v.name != sum);
        if !used {
            self.unnamed_loop_var(at, &i);
        }
        let l = self.lit_mul();
        let b = l.b * sum_b + e.b;
        (
            X::two(
                format!("{sum} * {} + {tail}", l.p),
                format!("{sum} * {} + {tail}", l.d),
                b,
                true,
                true,
            ),
            b,
        )
    }

    fn while_loop(&mut self, depth: usize) {
        let sink = self.target();
        let saved = self.trips;
        if self.r.chance(0.5) {
            let w = self.fresh("w");
            let n = self.r.range(2, 4);
            self.line_same(format!("let mut {w}: usize = 0;"));
            self.line_same(format!("while {w} < {n} {{"));
            self.open();
            self.push_var(&w, K::Loop(Some(n), None), n as f64, false);
            self.trips *= n as f64;
            self.loop_depth += 1;
            let k = self.r.range(0, 1);
            self.block(&sink, depth, k);
            self.loop_depth -= 1;
            self.line_same(format!("{w} += 1;"));
            self.close(&sink);
            self.line_same("}".into());
        } else {
            let q = self.fresh("q");
            let e = self.operand(1);
            let s = m0(&e, "tanh", 1.0);
            let (ap, ad) = ann(&s);
            self.line(
                format!("let mut {q}{ap} = {};", s.p),
                format!("let mut {q}{ad} = {};", s.d),
            );
            self.line(
                format!("while {q} < 2.0 {{"),
                format!("while lt({q}, c(2.0)) {{"),
            );
            // Declared outside the loop and read by the output too (so that
            // its computation is active, see `value_only_compared`); mutable,
            // so conditions use it bare; never an update target.
            self.push_var(&q, K::Scalar, 3.5, true);
            self.open();
            self.trips *= 7.0;
            self.loop_depth += 1;
            self.in_while = true;
            let k = self.r.range(0, 1);
            self.block(&sink, depth, k);
            self.in_while = false;
            self.loop_depth -= 1;
            let e = self.operand(1);
            let e = self.cap(e, 3.0);
            let inc = match self.r.below(3) {
                0 => {
                    let sq = bin("*", &e, &e, 0.0);
                    bin("+", &X::lit(0.5), &sq, 0.0)
                }
                1 => m0(&e, "cosh", 0.0),
                _ => {
                    let s = m0(&e, "sin", 1.0);
                    bin("+", &X::lit(1.5), &s, 0.0)
                }
            };
            self.line(format!("{q} += {};", inc.p), format!("{q} += {};", inc.d));
            self.close(&sink);
            self.line_same("}".into());
        }
        self.trips = saved;
    }

    fn if_stmt(&mut self, depth: usize) {
        let sink = self.target();
        let (cp, cd) = self.cond(2);
        self.line(format!("if {cp} {{"), format!("if {cd} {{"));
        self.open();
        let n = self.r.range(0, 1);
        self.block(&sink, depth, n);
        self.close(&sink);
        if self.r.chance(0.35) {
            let (cp, cd) = self.cond(2);
            self.line(format!("}} else if {cp} {{"), format!("}} else if {cd} {{"));
            self.open();
            self.block(&sink, depth, 0);
            self.close(&sink);
        }
        if self.r.chance(0.6) {
            self.line_same("} else {".into());
            self.open();
            self.block(&sink, depth, 0);
            self.close(&sink);
        }
        self.line_same("}".into());
    }

    fn ret_value(&mut self) -> X {
        match self.ret {
            Ret::Scalar => {
                let e = self.expr(2);
                self.cap(e, 50.0)
            }
            Ret::Arr(n) => {
                let els: Vec<X> = (0..n)
                    .map(|_| {
                        let e = self.expr(2);
                        self.cap(e, 50.0)
                    })
                    .collect();
                let b = els.iter().fold(0.0f64, |m, e| m.max(e.b));
                X::two(
                    format!(
                        "[{}]",
                        els.iter()
                            .map(|e| e.p.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!(
                        "[{}]",
                        els.iter()
                            .map(|e| e.d.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    b,
                    true,
                    true,
                )
            }
        }
    }

    fn early_return(&mut self) {
        let (cp, cd) = self.cond(2);
        self.no_calls = true;
        let v = self.ret_value();
        self.no_calls = false;
        self.ret_bound = self.ret_bound.max(v.b);
        self.line(
            format!("if {cp} {{ return {}; }}", v.p),
            format!("if {cd} {{ return {}; }}", v.d),
        );
    }

    fn array_local(&mut self, depth: usize) {
        let z = self.fresh("z");
        let mats: Vec<V> = self
            .vars
            .iter()
            .filter(|v| matches!(v.k, K::Mat(..)))
            .cloned()
            .collect();
        let roll = self.r.below(100);
        if roll < 20 && !mats.is_empty() {
            let m = mats[self.r.below(mats.len())].clone();
            let K::Mat(n, cols) = m.k else { unreachable!() };
            let i = self.index(Some(n), None);
            self.mark_read(&m.name);
            self.line_same(format!("let {z} = {}[{i}];", m.name));
            self.push_var(&z, K::Arr(cols, false), m.b, false);
        } else if roll < 35 {
            let callees: Vec<Sig> = self
                .fns
                .iter()
                .filter(|s| {
                    s.callable() && matches!(s.ret, Ret::Arr(_)) && !self.called.contains(&s.name)
                })
                .cloned()
                .collect();
            if callees.is_empty() || self.in_while {
                return self.array_local_fill(z, depth);
            }
            let s = callees[self.r.below(callees.len())].clone();
            let Ret::Arr(n) = s.ret else { unreachable!() };
            let z = format!("c{z}");
            self.called.push(s.name.clone());
            let (ap, ad) = self.call_args(&s, depth);
            self.line(
                format!("let {z} = {}({});", s.name, ap.join(", ")),
                format!("let {z} = {}_dual({});", s.name, ad.join(", ")),
            );
            self.push_var(&z, K::Arr(n, false), s.bound, false);
        } else if roll < 55 {
            let n = self.r.range(2, 4);
            let els: Vec<X> = (0..n)
                .map(|_| {
                    let e = self.expr(depth);
                    self.cap(e, 10.0)
                })
                .collect();
            let b = els.iter().fold(0.0f64, |m, e| m.max(e.b));
            self.line(
                format!(
                    "let {z} = [{}];",
                    els.iter()
                        .map(|e| e.p.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "let {z} = [{}];",
                    els.iter()
                        .map(|e| e.d.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            self.push_var(&z, K::Arr(n, false), b, false);
        } else {
            self.array_local_fill(z, depth);
        }
    }

    fn array_local_fill(&mut self, z: String, depth: usize) {
        let n = self.r.range(2, 4);
        self.line(
            format!("let mut {z} = [0.0; {n}];"),
            format!("let mut {z} = [c(0.0); {n}];"),
        );
        let i = self.fresh("i");
        self.line_same(format!("for {i} in 0..{n} {{"));
        self.open();
        self.push_var(&i, K::Loop(Some(n), None), n as f64, false);
        let saved = self.trips;
        self.trips *= n as f64;
        // The element depends on the index through a leaf or a cast.
        let e = self.expr(depth);
        let e = self.cap(e, 10.0);
        let ix = X::two(
            format!("{i} as f64"),
            format!("c({i} as f64)"),
            n as f64,
            false,
            true,
        );
        let l = self.lit_mul();
        let m = bin("*", &ix, &l, n as f64 * l.b);
        let s = bin("+", &e, &m, e.b + m.b);
        self.line(
            format!("{z}[{i}] = {};", s.p),
            format!("{z}[{i}] = {};", s.d),
        );
        self.trips = saved;
        self.level -= 1;
        self.vars.retain(|v| v.name != i);
        self.line_same("}".into());
        self.push_var(&z, K::Arr(n, false), s.b + 10.0, true);
        if self.r.chance(0.5) {
            let k = self.r.below(n);
            let op = self.r.pick(&["+=", "-=", "*="]);
            let e = if op == "*=" {
                self.unit(1)
            } else {
                self.expr(1)
            };
            let e = self.cap(e, 10.0);
            self.line(
                format!("{z}[{k}] {op} {};", e.p),
                format!("{z}[{k}] {op} {};", e.d),
            );
            let zi = self.find(&z).unwrap();
            self.vars[zi].dirty = true;
        }
    }

    /// `let t: f64 = <iterator chain>;`
    fn iter_chain(&mut self, depth: usize) -> bool {
        let conts: Vec<V> = self
            .vars
            .iter()
            .filter(|v| matches!(v.k, K::Arr(..) | K::Slice))
            .cloned()
            .collect();
        if conts.is_empty() {
            return false;
        }
        let a = conts[self.r.below(conts.len())].clone();
        self.mark_read(&a.name);
        let len = match a.k {
            K::Arr(l, _) => l as f64,
            _ => 5.0,
        };
        let t = self.fresh("t");
        let roll = self.r.below(5);
        let (p, d, b);
        if roll == 0 {
            let bb = conts[self.r.below(conts.len())].clone();
            self.mark_read(&bb.name);
            p = format!(
                "let {t}: f64 = {}.iter().zip({}.iter()).map(|(u, v)| u * v).sum();",
                a.name, bb.name
            );
            d = format!(
                "let {t}: Dual64 = {}.iter().zip({}.iter()).map(|(u, v)| *u * *v).fold(c(0.0), |s, e| s + e);",
                a.name, bb.name
            );
            b = len * a.b * bb.b;
        } else {
            let u = self.fresh("u");
            self.open();
            self.push_var(&u, K::Scalar, a.b, false);
            let mut j = None;
            if roll == 3 {
                let jn = self.fresh("j");
                self.push_var(&jn, K::Loop(Some(5), None), 5.0, false);
                j = Some(jn);
            }
            let e = self.expr(depth.min(2));
            let e = self.cap(e, 10.0);
            // The element always enters, through a product (never a bare call:
            // clippy's redundant_closure).
            let ux = X::var(&u, a.b);
            let body = bin("*", &ux, &e, a.b * e.b);
            self.level -= 1;
            self.vars
                .retain(|v| v.name != u && Some(&v.name) != j.as_ref());
            match roll {
                1 => {
                    p = format!(
                        "let {t}: f64 = {}.iter().map(|&{u}| {}).sum();",
                        a.name, body.p
                    );
                    d = format!(
                        "let {t}: Dual64 = {}.iter().map(|&{u}| {}).fold(c(0.0), |s, e| s + e);",
                        a.name, body.d
                    );
                    b = len * body.b;
                }
                2 => {
                    p = format!(
                        "let {t}: f64 = {}.iter().copied().map(|{u}| {}).sum();",
                        a.name, body.p
                    );
                    d = format!(
                        "let {t}: Dual64 = {}.iter().copied().map(|{u}| {}).fold(c(0.0), |s, e| s + e);",
                        a.name, body.d
                    );
                    b = len * body.b;
                }
                3 => {
                    let jn = j.unwrap();
                    p = format!(
                        "let {t}: f64 = {}.iter().enumerate().map(|({jn}, &{u})| {} + {jn} as f64 * 0.5).sum();",
                        a.name, body.p
                    );
                    d = format!(
                        "let {t}: Dual64 = {}.iter().enumerate().map(|({jn}, &{u})| {} + c({jn} as f64 * 0.5)).fold(c(0.0), |s, e| s + e);",
                        a.name, body.d
                    );
                    b = len * (body.b + 2.5);
                }
                _ => {
                    let w = self.fresh("w");
                    let l = self.lit_add();
                    p = format!(
                        "let {t} = {}.iter().fold({}, |{w}, &{u}| {w} * 0.5 + {});",
                        a.name,
                        l.p,
                        body.wp()
                    );
                    d = format!(
                        "let {t} = {}.iter().fold({}, |{w}, &{u}| {w} * 0.5 + {});",
                        a.name,
                        l.d,
                        body.wd()
                    );
                    b = l.b + 2.0 * body.b;
                }
            }
        }
        self.line(p, d);
        self.push_var(&t, K::Scalar, b, false);
        true
    }

    fn stmt(&mut self, depth: usize, top: bool) {
        let roll = self.r.below(100);
        let can_nest = self.loop_depth < 2 && depth > 0;
        if roll < 18 {
            let t = self.fresh("t");
            let e = self.expr(depth + 1);
            let e = self.cap(e, 50.0);
            let (ap, ad) = ann(&e);
            self.line(
                format!("let {t}{ap} = {};", e.p),
                format!("let {t}{ad} = {};", e.d),
            );
            self.push_var(&t, K::Scalar, e.b, false);
        } else if roll < 26 {
            // Shadowing: a new binding of an existing immutable scalar name.
            let olds: Vec<V> = self
                .vars
                .iter()
                .filter(|v| {
                    v.k == K::Scalar
                        && !v.mutable
                        && v.level == self.level
                        && !v.name.starts_with('q')
                })
                .cloned()
                .collect();
            if olds.is_empty() {
                return self.stmt(depth, top);
            }
            let v = olds[self.r.below(olds.len())].clone();
            self.mark_read(&v.name);
            let e = self.expr(depth);
            let old = X::var(&v.name, v.b);
            let l = self.lit_mul();
            let m = bin("*", &old, &l, v.b * l.b);
            let s = bin("+", &m, &e, m.b + e.b);
            let s = self.cap(s, 50.0);
            self.line(
                format!("let {} = {};", v.name, s.p),
                format!("let {} = {};", v.name, s.d),
            );
            self.vars
                .retain(|w| !(w.name == v.name && w.level == self.level));
            self.push_var(&v.name, K::Scalar, s.b, false);
        } else if roll < 36 {
            let t = self.fresh("t");
            let e = self.operand(depth);
            let e = self.cap(e, 10.0);
            let (ap, ad) = ann(&e);
            self.line(
                format!("let mut {t}{ap} = {};", e.p),
                format!("let mut {t}{ad} = {};", e.d),
            );
            self.push_var(&t, K::Scalar, e.b, true);
            self.update(&t, depth);
        } else if roll < 42 {
            let t = self.target();
            self.update(&t, depth);
        } else if roll < 58 && can_nest {
            self.for_loop(depth - 1);
        } else if roll < 63 && can_nest {
            self.while_loop(depth - 1);
        } else if roll < 72 && depth > 0 {
            self.if_stmt(depth - 1);
        } else if roll < 77 && IF_EXPRESSIONS {
            let t = self.fresh("t");
            let x = self.if_expr(depth.max(1) + 1);
            let (ap, ad) = ann(&x);
            self.line(
                format!("let {t}{ap} = {};", x.p),
                format!("let {t}{ad} = {};", x.d),
            );
            self.push_var(&t, K::Scalar, x.b, false);
        } else if roll < 82
            && (top || self.loop_depth > 0)
            && self.ret == Ret::Scalar
            && !self.in_while
        {
            // (Array-output functions: the macro rejects an early `return [..]`,
            // see tests/regressions.rs, `early_return_of_an_array`. Not inside
            // `while`: with a later call taking an array literal that failed
            // to compile, "cannot find value `t1`", not yet shrunk.)
            self.early_return();
        } else if roll < 90 {
            self.array_local(depth);
        } else if roll < 96 {
            if !self.iter_chain(depth) {
                self.array_local(depth);
            }
        } else {
            let t = self.fresh("t");
            match self.call_expr(depth + 1) {
                Some(x) => {
                    let x = self.cap(x, 50.0);
                    let (ap, ad) = ann(&x);
                    self.line(
                        format!("let {t}{ap} = {};", x.p),
                        format!("let {t}{ad} = {};", x.d),
                    );
                    self.push_var(&t, K::Scalar, x.b, false);
                }
                None => {
                    let e = self.expr(depth + 1);
                    let (ap, ad) = ann(&e);
                    self.line(
                        format!("let {t}{ap} = {};", e.p),
                        format!("let {t}{ad} = {};", e.d),
                    );
                    self.push_var(&t, K::Scalar, e.b, false);
                }
            }
        }
    }

    /// Everything still unread (locals, written mutables, parameters), as a
    /// sum of small multiples, so that rustc has nothing unused to warn about.
    fn leftovers(&mut self) -> Option<X> {
        let pending: Vec<V> = self
            .vars
            .iter()
            .filter(|v| !v.used || v.dirty)
            .cloned()
            .collect();
        let mut acc: Option<X> = None;
        for v in pending {
            let term = match v.k {
                K::Scalar => X::var(&v.name, v.b),
                K::Arr(..) => X::var(&format!("{}[0]", v.name), v.b),
                K::Slice => X::var(&format!("{}[0]", v.name), v.b),
                K::Mat(..) => X::var(&format!("{}[0][0]", v.name), v.b),
                K::Usize | K::I32 | K::Loop(..) => X::two(
                    format!("{} as f64", v.name),
                    format!("c({} as f64)", v.name),
                    v.b,
                    false,
                    true,
                ),
                K::Bool => {
                    let a = self.lit_add();
                    let b = X::lit(-0.5);
                    X::two(
                        format!("if {} {{ {} }} else {{ {} }}", v.name, a.p, b.p),
                        format!("if {} {{ {} }} else {{ {} }}", v.name, a.d, b.d),
                        a.b,
                        false,
                        false,
                    )
                }
            };
            self.mark_read(&v.name);
            let term = self.cap(term, 10.0);
            let l = self.lit_mul();
            let m = bin("*", &term, &l, term.b * l.b);
            acc = Some(match acc {
                None => m,
                Some(a) => {
                    let b = a.b + m.b;
                    bin("+", &a, &m, b)
                }
            });
        }
        acc
    }
}

/// One function: `gN`, or with `summing` `lossN`, whose body ends in a loop that
/// adds a random expression of its index to a sum the tail scales (a loss
/// summed over samples), the shape `NAME_backward` fuses.
fn gen_fn(r: &mut Rng, idx: usize, fns: &[Sig], summing: bool) -> (Sig, String, String) {
    let name = if summing {
        format!("loss{idx}")
    } else {
        format!("g{idx}")
    };
    let np = r.range(1, 4);
    let mut params = Vec::new();
    for _ in 0..np {
        let roll = r.below(100);
        let p = match roll {
            0..=39 => P::Scalar,
            40..=54 => P::Arr(r.range(2, 4)),
            55..=60 => P::RefArr(r.range(2, 3)),
            61..=67 => P::Slice,
            68..=71 => P::OwnedVec,
            72..=74 => P::RefVec,
            75..=80 => P::Mat(r.range(2, 3), r.range(2, 3)),
            81..=85 => P::NoGrad,
            86..=90 => P::Usize,
            91..=94 => P::I32,
            _ => P::Bool,
        };
        params.push(p);
    }
    if !params
        .iter()
        .any(|p| !matches!(p, P::NoGrad | P::Usize | P::I32 | P::Bool))
    {
        params.push(P::Scalar);
    }
    let ret = if !summing && r.chance(0.22) {
        Ret::Arr(r.range(2, 3))
    } else {
        Ret::Scalar
    };
    let mut g = Gen {
        r,
        vars: Vec::new(),
        level: 0,
        lines: Vec::new(),
        counter: 0,
        loop_depth: 0,
        trips: 1.0,
        fns,
        ret,
        ret_bound: 0.0,
        in_while: false,
        in_cond: false,
        called: Vec::new(),
        no_calls: false,
    };
    let mut decl_p = Vec::new();
    let mut decl_d = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let (n, k, tp, td) = match *p {
            P::Scalar => (format!("x{i}"), K::Scalar, "f64".into(), "Dual64".into()),
            P::NoGrad => (format!("x{i}"), K::Scalar, "f64".into(), "Dual64".into()),
            P::Arr(l) => (
                format!("a{i}"),
                K::Arr(l, false),
                format!("[f64; {l}]"),
                format!("[Dual64; {l}]"),
            ),
            P::RefArr(l) => (
                format!("a{i}"),
                K::Arr(l, true),
                format!("&[f64; {l}]"),
                format!("&[Dual64; {l}]"),
            ),
            P::Slice => (
                format!("s{i}"),
                K::Slice,
                "&[f64]".into(),
                "&[Dual64]".into(),
            ),
            P::OwnedVec => (
                format!("s{i}"),
                K::Slice,
                "Vec<f64>".into(),
                "Vec<Dual64>".into(),
            ),
            P::RefVec => (
                format!("s{i}"),
                K::Slice,
                "&Vec<f64>".into(),
                "&Vec<Dual64>".into(),
            ),
            P::Mat(a, b) => (
                format!("m{i}"),
                K::Mat(a, b),
                format!("[[f64; {b}]; {a}]"),
                format!("[[Dual64; {b}]; {a}]"),
            ),
            P::Usize => (format!("n{i}"), K::Usize, "usize".into(), "usize".into()),
            P::I32 => (format!("k{i}"), K::I32, "i32".into(), "i32".into()),
            P::Bool => (format!("f{i}"), K::Bool, "bool".into(), "bool".into()),
        };
        let ng = if *p == P::NoGrad { "#[no_grad] " } else { "" };
        decl_p.push(format!("{ng}{n}: {tp}"));
        decl_d.push(format!("{n}: {td}"));
        let b = match k {
            K::Usize => 4.0,
            K::I32 => 3.0,
            _ => 2.0,
        };
        g.push_var(&n, k, b, false);
    }
    let nstmts = g.r.range(2, 6);
    for _ in 0..nstmts {
        g.stmt(2, true);
    }
    // The tail.
    let (tail, tail_b) = match ret {
        Ret::Scalar => {
            let e = g.expr(2);
            let e = match g.leftovers() {
                Some(l) => {
                    let b = e.b + l.b;
                    bin("+", &e, &l, b)
                }
                None => e,
            };
            let e = g.cap(e, 50.0);
            if summing {
                g.summing_loop(e)
            } else {
                (X::two(e.p.clone(), e.d.clone(), e.b, true, true), e.b)
            }
        }
        Ret::Arr(n) => {
            let mut els: Vec<X> = (0..n)
                .map(|_| {
                    let e = g.expr(2);
                    g.cap(e, 50.0)
                })
                .collect();
            if let Some(l) = g.leftovers() {
                let b = els[0].b + l.b;
                els[0] = bin("+", &els[0], &l, b);
                els[0] = g.cap(els[0].clone(), 50.0);
            }
            let b = els.iter().fold(0.0f64, |m, e| m.max(e.b));
            if g.r.chance(0.3) {
                // Through a mutable output array.
                let o = "out";
                g.line(
                    format!("let mut {o} = [0.0; {n}];"),
                    format!("let mut {o} = [c(0.0); {n}];"),
                );
                for (k, e) in els.iter().enumerate() {
                    g.line(
                        format!("{o}[{k}] = {};", e.p),
                        format!("{o}[{k}] = {};", e.d),
                    );
                }
                (X::same(o.into(), b, true), b)
            } else {
                (
                    X::two(
                        format!(
                            "[{}]",
                            els.iter()
                                .map(|e| e.p.clone())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        format!(
                            "[{}]",
                            els.iter()
                                .map(|e| e.d.clone())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        b,
                        true,
                        true,
                    ),
                    b,
                )
            }
        }
    };
    let bound = tail_b.max(g.ret_bound);
    let (rp, rd) = match ret {
        Ret::Scalar => ("f64".to_string(), "Dual64".to_string()),
        Ret::Arr(n) => (format!("[f64; {n}]"), format!("[Dual64; {n}]")),
    };
    let mut fp = String::new();
    let mut fd = String::new();
    // Random code can assign a value no later statement reads (rustc's
    // `unused_assignments`). The allow sits on the user's functions only: the
    // macro does not copy it to what it generates, so its output is still held
    // to every lint.
    let allow = "#[allow(unused_assignments)]";
    writeln!(
        fp,
        "{allow}\n#[neuron::differentiate]\nfn {name}({}) -> {rp} {{",
        decl_p.join(", ")
    )
    .unwrap();
    writeln!(
        fd,
        "{allow}\nfn {name}_dual({}) -> {rd} {{",
        decl_d.join(", ")
    )
    .unwrap();
    for (lvl, p, d) in &g.lines {
        let ind = "    ".repeat(lvl + 1);
        writeln!(fp, "{ind}{p}").unwrap();
        writeln!(fd, "{ind}{d}").unwrap();
    }
    writeln!(fp, "    {}\n}}\n", tail.p).unwrap();
    writeln!(fd, "    {}\n}}\n", tail.d).unwrap();
    (
        Sig {
            name,
            params,
            ret,
            bound,
        },
        fp,
        fd,
    )
}

/// The `#[test]` of one function.
fn gen_test(s: &Sig, seed: u64, points: usize) -> String {
    let mut t = String::new();
    let name = &s.name;
    // Runtime choices: slice lengths, integer and bool arguments.
    let mut pre = Vec::new();
    let mut n_expr: Vec<String> = Vec::new();
    let mut unpack_p = Vec::new();
    let mut unpack_d = Vec::new();
    let mut args = Vec::new();
    let mut grad = Vec::new();
    for (i, p) in s.params.iter().enumerate() {
        let off = if n_expr.is_empty() {
            "0".to_string()
        } else {
            n_expr.join(" + ")
        };
        match *p {
            P::Scalar | P::NoGrad => {
                let un = format!("let x{i} = p[{off}];");
                unpack_p.push(un.clone());
                unpack_d.push(un);
                args.push(format!("x{i}"));
                n_expr.push("1".into());
                grad.push(format!("vec![{}]", *p == P::Scalar));
            }
            P::Arr(l) | P::RefArr(l) => {
                let un = format!("let a{i}: [_; {l}] = arr(&p[{off}..]);");
                unpack_p.push(un.clone());
                unpack_d.push(un);
                args.push(if matches!(p, P::RefArr(_)) {
                    format!("&a{i}")
                } else {
                    format!("a{i}")
                });
                n_expr.push(l.to_string());
                grad.push(format!("vec![true; {l}]"));
            }
            P::Slice | P::OwnedVec | P::RefVec => {
                pre.push(format!("let len{i}: usize = r.random_range(1..=5);"));
                let un = if off == "0" {
                    format!("let s{i} = p[..len{i}].to_vec();")
                } else {
                    format!("let s{i} = p[{off}..{off} + len{i}].to_vec();")
                };
                unpack_p.push(un.clone());
                unpack_d.push(un);
                args.push(match p {
                    P::OwnedVec => format!("s{i}"),
                    _ => format!("&s{i}"),
                });
                n_expr.push(format!("len{i}"));
                grad.push(format!("vec![true; len{i}]"));
            }
            P::Mat(a, b) => {
                let un = format!("let m{i}: [[_; {b}]; {a}] = arr2(&p[{off}..]);");
                unpack_p.push(un.clone());
                unpack_d.push(un);
                args.push(format!("m{i}"));
                n_expr.push((a * b).to_string());
                grad.push(format!("vec![true; {}]", a * b));
            }
            P::Usize => {
                pre.push(format!("let n{i}: usize = r.random_range(0..=4);"));
                args.push(format!("n{i}"));
            }
            P::I32 => {
                pre.push(format!("let k{i}: i32 = r.random_range(-3..=3);"));
                args.push(format!("k{i}"));
            }
            P::Bool => {
                pre.push(format!("let f{i} = r.random_bool(0.5);"));
                args.push(format!("f{i}"));
            }
        }
    }
    let n_out = match s.ret {
        Ret::Scalar => 1,
        Ret::Arr(n) => n,
    };
    let dout = match s.ret {
        Ret::Scalar => "d[0]".to_string(),
        Ret::Arr(_) => "arr(d)".to_string(),
    };
    let a = args.join(", ");
    let up = unpack_p.join(" ");
    let ud = unpack_d.join(" ");
    writeln!(t, "#[test]\nfn {name}_matches_oracles() {{").unwrap();
    writeln!(t, "    run(\"{name}\", {seed:#x}, {points}, |what, r| {{").unwrap();
    for l in &pre {
        writeln!(t, "        {l}").unwrap();
    }
    let grads: Vec<&String> = grad.iter().collect();
    writeln!(
        t,
        "        let grad: Vec<bool> = [{}].concat();",
        grads
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    writeln!(
        t,
        "        let f = |p: &[f64]| {{ {up} flat(&{name}({a})) }};"
    )
    .unwrap();
    writeln!(
        t,
        "        let dual = |p: &[Dual64]| {{ {ud} flat(&{name}_dual({a})) }};"
    )
    .unwrap();
    writeln!(
        t,
        "        let vab = |p: &[f64], d: &[f64]| {{ {up} let (v, g) = {name}_value_and_backward({a}, {dout}); (flat(&v), flat(&g)) }};"
    )
    .unwrap();
    writeln!(
        t,
        "        let back = |p: &[f64], d: &[f64]| {{ {up} flat(&{name}_backward({a}, {dout})) }};"
    )
    .unwrap();
    writeln!(
        t,
        "        check_point(what, r, &Case {{ grad, n_out: {n_out}, f: &f, dual: &dual, vab: &vab, back: &back }})"
    )
    .unwrap();
    writeln!(t, "    }});\n}}\n").unwrap();
    t
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=NEURON_DIFF_FUNCS");
    println!("cargo:rerun-if-env-changed=NEURON_DIFF_SEED");
    println!("cargo:rerun-if-env-changed=NEURON_DIFF_POINTS");
    println!("cargo:rerun-if-env-changed=NEURON_DIFF_SUMMING");
    let funcs: usize = env::var("NEURON_DIFF_FUNCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_FUNCS);
    let seed: u64 = env::var("NEURON_DIFF_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            }
        })
        .unwrap_or(DEFAULT_SEED);
    let points: usize = env::var("NEURON_DIFF_POINTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_POINTS);
    let summing: usize = env::var("NEURON_DIFF_SUMMING")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SUMMING);
    let mut r = Rng(seed);
    let mut sigs: Vec<Sig> = Vec::new();
    let mut out = String::new();
    writeln!(
        out,
        "// Generated by tests/differential/build.rs: {funcs} functions and {summing} summing ones, seed {seed:#x}, {points} points each.\n"
    )
    .unwrap();
    writeln!(out, "pub const SEED: u64 = {seed:#x};").unwrap();
    writeln!(out, "pub const FUNCS: usize = {funcs};").unwrap();
    writeln!(out, "pub const POINTS: usize = {points};").unwrap();
    writeln!(out, "pub const SUMMING: usize = {summing};\n").unwrap();
    for (n, v) in CONSTS {
        writeln!(out, "const {n}: f64 = {v:?};").unwrap();
    }
    for idx in 0..funcs {
        // Calls go to the few functions before this one, so that a call chain
        // stays short and each function's own test stays cheap.
        let lo = idx.saturating_sub(8);
        let (sig, fp, fd) = gen_fn(&mut r, idx, &sigs[lo..], false);
        let test_seed = seed ^ (idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        out.push_str(&fp);
        out.push_str(&fd);
        out.push_str(&gen_test(&sig, test_seed, points));
        sigs.push(sig);
    }
    // The summing family draws from a stream of its own, so the `gN` above
    // are the same functions as before it existed. Its functions call the
    // last `gN`s, never each other.
    let mut r = Rng(seed ^ 0x7375_6d6d_696e_6700);
    let g_last = sigs.len().saturating_sub(8);
    for idx in 0..summing {
        let (sig, fp, fd) = gen_fn(&mut r, idx, &sigs[g_last..], true);
        let test_seed = seed ^ !(idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        out.push_str(&fp);
        out.push_str(&fd);
        out.push_str(&gen_test(&sig, test_seed, points));
    }
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("generated.rs");
    fs::write(&dest, out).unwrap();
}
