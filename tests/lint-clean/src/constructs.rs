//! One `#[differentiate]` function a group of supported constructs. Each is
//! `pub` and documented, so the generated `*_backward` and
//! `*_value_and_backward` are checked by `missing_docs` and clippy too.

use neuron::{differentiate, gelu, leaky_relu, relu, sigmoid, silu, softplus};

/// A user constant, read by [`constants`].
pub const SCALE: f64 = 0.5;

/// Operators, unary minus, parentheses, literals and `let` with shadowing.
#[differentiate]
pub fn arithmetic(x: f64, y: f64, z: f64) -> f64 {
    let a = x * y + z / y - x % 2.5;
    let a = -a + (x - 1.0) * (y + 2.0);
    let b = 3.0 * a;
    b - z
}

/// Compound assignment on `let mut`, and a block as a value.
#[differentiate]
pub fn compound(x: f64, y: f64) -> f64 {
    let mut s = x;
    s += y;
    s -= 0.5 * x;
    s *= y;
    s /= x;
    s %= 7.0;
    let t = {
        let u = s * s;
        u + x
    };
    t * 0.5
}

/// Every float method, in method and in path form.
#[differentiate]
pub fn methods(x: f64, y: f64) -> f64 {
    let a = x.exp() + x.exp2() + x.exp_m1() + x.ln() + x.ln_1p() + x.log2() + x.log10();
    let b = x.sqrt() + x.cbrt() + x.powi(3) + x.powf(y) + x.recip();
    let c = x.sin() + x.cos() + x.tan() + (0.5 * x).asin() + (0.5 * x).acos() + x.atan();
    let d = x.atan2(y) + x.sinh() + x.cosh() + x.tanh() + (x - y).abs() + x.signum();
    let e = x.max(y) + x.min(y) + x.hypot(y) + x.mul_add(y, 2.0) + x.clamp(-1.0, y);
    let f = f64::exp(x) + f64::powi(y, 2) + f64::max(x, y);
    a + b + c + d + e + f
}

/// Every activation, bare and through the crate path.
#[differentiate]
pub fn activations(x: f64, alpha: f64) -> f64 {
    relu(x) + sigmoid(x) + softplus(x) + leaky_relu(x, alpha) + gelu(x) + silu(x) - neuron::relu(-x)
        + neuron::sigmoid(2.0 * x)
}

/// Constants (std, associated, user) and casts from integers.
#[differentiate]
pub fn constants(x: f64, n: i32, k: usize) -> f64 {
    x * std::f64::consts::PI + f64::EPSILON + SCALE * x + n as f64 * x + (k as f64 + 1.0).ln()
}

/// `f32` throughout.
#[differentiate]
pub fn single(x: f32, w: [f32; 2]) -> f32 {
    let mut s = x * w[0];
    s += w[1].tanh();
    s * s
}

/// `#[no_grad]`, bool and integer parameters get no gradient.
#[differentiate]
pub fn no_grad(x: f64, #[no_grad] scale: f64, on: bool, k: u32) -> f64 {
    if on && k > 0 {
        x * scale
    } else {
        x.powi(2)
    }
}

/// `if` / `else if` / `else` as expression and statement, `&&`, `||`, `!`.
#[differentiate]
pub fn branches(x: f64, y: f64) -> f64 {
    let a = if x > 1.0 {
        x * y
    } else if x > -1.0 || y > 2.0 {
        2.0 * x - y
    } else {
        -(x * y).exp()
    };
    let mut b = y;
    let positive = y > 0.0;
    if !positive {
        b -= x;
    } else {
        b *= x;
    }
    if a > b && x < 0.0 {
        b += 1.0;
    }
    a + b
}

/// Early returns from the body and from inside a loop.
#[differentiate]
pub fn early(x: [f64; 4], t: f64) -> f64 {
    if t < 0.0 {
        return t * t;
    }
    let mut acc = 0.0;
    for v in x.iter() {
        acc += v * v;
        if acc > t {
            return acc.sqrt() * v;
        }
    }
    acc
}

/// `for` over `iter()` and `iter().enumerate()`.
#[differentiate]
pub fn for_iter(x: [f64; 3], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += v * v;
    }
    for (i, v) in w.iter().enumerate() {
        s += v * x[i % 3];
    }
    s
}

/// `for` over literal, runtime, inclusive and reversed ranges.
#[differentiate]
pub fn for_loops(coef: &[f64], x: f64, lo: usize, hi: usize) -> f64 {
    let mut acc = 0.0;
    for i in (lo..=hi).rev() {
        acc = acc * x + coef[i];
    }
    for _ in 0..2 {
        acc *= 0.5;
    }
    for i in 1..coef.len() {
        acc += coef[i - 1] * coef[i];
    }
    acc
}

/// `while` with a value-dependent trip count and an integer counter.
#[differentiate]
pub fn while_loop(a: f64) -> f64 {
    let mut g = a;
    let mut k = 0;
    while (g * g - a).abs() > 1e-12 * a && k < 100 {
        g = 0.5 * (g + a / g);
        k += 1;
    }
    g
}

/// Array, nested array, array-reference, slice, `Vec` and `&Vec` parameters.
// `&Vec` is a parameter type the macro accepts, so it is tested here; the
// allowance is for the user's own signature, which clippy would have written
// `&[f64]`.
#[allow(clippy::ptr_arg)]
#[differentiate]
pub fn containers(
    a: [f64; 2],
    m: [[f64; 2]; 2],
    r: &[f64; 2],
    s: &[f64],
    v: Vec<f64>,
    w: &Vec<f64>,
) -> f64 {
    let mut t = a[0] * m[0][1] + a[1] * m[1][0] + r[0] * r[1];
    for i in 0..s.len() {
        t += s[i] * v[i] * w[i];
    }
    t
}

/// Array locals: literal, repeat, element assignment and compound
/// assignment, a copy, and indices computed at run time.
#[differentiate]
pub fn array_locals(x: [f64; 3], y: f64) -> f64 {
    let v = [x[0] * y, x[1] + y, x[2]];
    let mut a = [0.0; 3];
    a[0] = v[1] * v[2];
    a[1] += v[0] * 2.0;
    a[2] = y;
    a[2] *= x[0];
    let i = 1;
    a[i + 1] -= v[i];
    let b = a;
    let mut m = [[0.0; 2]; 2];
    m[1][0] = b[2];
    b[0] + b[1] * b[2] + m[1][0]
}

/// An array output.
#[differentiate]
pub fn softmax(z: [f64; 4]) -> [f64; 4] {
    let mut e = [0.0; 4];
    let mut total = 0.0;
    for v in z.iter() {
        total += v.exp();
    }
    for i in 0..4 {
        e[i] = z[i].exp() / total;
    }
    e
}

/// A nested array output.
#[differentiate]
pub fn outer(x: [f64; 2], y: [f64; 3]) -> [[f64; 3]; 2] {
    let mut o = [[0.0; 3]; 2];
    for i in 0..2 {
        for j in 0..3 {
            o[i][j] = x[i] * y[j];
        }
    }
    o
}

/// A hidden layer per sample: a buffer each iteration overwrites whole (its
/// zero fill hoisted out of the loop), filled by one loop and read by the
/// next at its own index (their reverses run as one), and a weight read at
/// two rows (`w1[j]`, `w1[4 + j]`: one row slice).
#[differentiate]
pub fn hidden_layer(w1: &[f64], w2: &[f64], #[no_grad] x: &[f64]) -> f64 {
    let mut total = 0.0;
    for n in 0..2 {
        let mut h = [0.0; 4];
        for j in 0..4 {
            h[j] = (x[2 * n] * w1[j] + x[2 * n + 1] * w1[4 + j]).tanh();
        }
        let mut z = 0.0;
        for j in 0..4 {
            z += h[j] * w2[j];
        }
        total += z * z;
    }
    total
}

/// Rosenbrock's chain: the fused reverse carries `d_x[i + 1]` to the next
/// iteration in a register.
#[differentiate]
pub fn chain(x: &[f64]) -> f64 {
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        f += 100.0 * a * a + (1.0 - x[i]) * (1.0 - x[i]);
    }
    f
}

/// A layer whose rows are as long as its input: both sweeps read `w` and
/// `x` through rows taken before the inner loop, `&w[i * x.len()..]`.
#[differentiate]
pub fn len_layer(w: &[f64], x: &[f64], m: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..m {
        let mut z = 0.0;
        for j in 0..x.len() {
            z += w[i * x.len() + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

/// Iterator chains: `iter`, `zip`, `enumerate`, `map`, `sum`, `product`, `fold`.
#[differentiate]
pub fn iterators(x: &[f64], w: &[f64], s: f64) -> f64 {
    let dot: f64 = x.iter().zip(w.iter()).map(|(a, b)| a * b).sum();
    let weighted: f64 = x
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * v)
        .sum();
    let prod: f64 = w.iter().map(|v| 1.0 + v * v).product();
    let folded = x.iter().fold(s, |acc, v| acc * 0.5 + v.sin());
    dot + weighted + prod + folded
}

/// Calls to other differentiated functions, with scalar, array and slice
/// arguments and an array result.
#[differentiate]
pub fn calls(x: &[f64], y: f64, k: i32) -> f64 {
    let p = pair(y * 2.0, x[0]);
    let q = softmax([x[0], x[1], y, 1.0]);
    powk(y, k) * p[1] + arithmetic(x[1], y, 1.5) + iterators(x, x, y) * p[0] + q[2]
}

/// A callee with an integer parameter.
#[differentiate]
pub fn powk(x: f64, k: i32) -> f64 {
    x.powi(k) + x
}

/// A callee with an array output.
#[differentiate]
pub fn pair(x: f64, y: f64) -> [f64; 2] {
    [x * y, (x - y).sin()]
}

/// A parameter that does not reach the output: its gradient is zero.
#[differentiate]
pub fn unused(x: f64, y: f64) -> f64 {
    let _ = y;
    x * 2.0
}

/// Constant output: every gradient is zero.
#[differentiate]
pub fn constant(x: f64) -> f64 {
    let _ = x;
    1.0
}

/// The identity, the smallest function there is.
#[differentiate]
pub fn identity(x: f64) -> f64 {
    x
}

/// Differentiated functions inside a module, called through its path.
pub mod layers {
    use neuron::{differentiate, sigmoid};

    /// A dense unit.
    #[differentiate]
    pub fn dense(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
        x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b
    }

    /// Its activation.
    #[differentiate]
    pub fn act(z: f64) -> f64 {
        sigmoid(z) * z
    }
}

/// Calls through a module path.
#[differentiate]
pub fn net(x: [f64; 3], w: [f64; 3], b: f64, t: f64) -> f64 {
    let h = layers::act(layers::dense(x, w, b * 2.0));
    let e = h + x[0] - t;
    e * e
}

/// A private function: its generated functions are private too, and used.
#[differentiate]
fn private_square(x: f64) -> f64 {
    x * x
}

/// Uses [`private_square`]'s generated functions so that they are not dead.
pub fn private_square_grad(x: f64) -> (f64, f64) {
    (private_square(x), private_square_backward(x, 1.0))
}

/// `private_square_value_and_backward`, used as well.
pub fn private_square_both(x: f64) -> (f64, f64) {
    private_square_value_and_backward(x, 1.0)
}

/// Writes a function whose body is `head`, then `step` repeated 2^k times
/// (one `x` per doubling), then `tail`.
macro_rules! repeated {
    ([x $($n:tt)*] [$($step:tt)*] $($f:tt)*) => {
        repeated!([$($n)*] [$($step)* $($step)*] $($f)*);
    };
    ([] [$($step:tt)*] $(#[$($m:tt)*])* fn $name:ident($($params:tt)*) -> $out:ty { $($head:tt)* } { $($tail:tt)* }) => {
        $(#[$($m)*])* pub fn $name($($params)*) -> $out { $($head)* $($step)* $($tail)* }
    };
}

// 5 statements × 2^7 = 640 in a row: the sweeps are cut into chunks, each a
// closure compiled as a function of its own; they must be lint-clean too.
repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = v * 0.9 + u.sin() * b;
    for k in 0..2 { s[k] = s[1 - k] * 0.5 + u * w; }
    let w = w * 0.99 + arithmetic(u, v, 1.5) * 0.01 + s[0] * 0.001;
    if u > 0.0 { s[1] += v * 0.01; } else { s[1] -= w * 0.01; }
]
    /// A function of 640 statements, with a loop, a call and a branch in each
    /// repetition.
    #[differentiate]
    fn long_chain(x: f64, a: f64, b: f64) -> f64 {
        let u = x;
        let v = x * 0.5;
        let w = x * x;
        let mut s = [0.0; 2];
    } {
        w + v + u + s[0] + s[1]
    }
);

// 4 statements × 2^7 = 512 in a row, of scalars only: each chunk is a
// function of its own (with a type alias for what it returns), not a closure.
repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = v * 0.9 + u.sin() * b * (flag as u8 as f64);
    t = t * 0.5 + u * 0.03;
    let v = v + t * 0.001 / (n as f64);
]
    /// A function of 512 statements of floats, a `bool` and a `usize`.
    #[differentiate]
    fn long_scalars(x: f64, a: f64, b: f64, flag: bool, n: usize) -> f64 {
        let u = x;
        let v = x * 0.5;
        let mut t = 0.0;
    } {
        u + v + t
    }
);

// The same with a slice and an array: the reverse sweep's chunk functions
// take the gradients (a `Vec`, an array) by value and return them.
repeated!([x x x x x x x] [
    let u = (v * w[0] + u * x[1]).tanh();
    let v = v * 0.9 + u.sin() * x[2] - w[3] * 0.01;
    let u = u * w[1] + x[0] * 0.01;
    let v = v / (1.0 + v * v) + w[2] * u;
]
    /// A function of 512 statements of a slice and an array.
    #[differentiate]
    fn long_arrays(x: &[f64], w: [f64; 4]) -> f64 {
        let u = x[0];
        let v = w[0] * 0.5;
    } {
        u + v
    }
);

// The same with a branch in each repetition: the chunk functions take and
// hand on the arms' tapes.
repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = if u > 0.0 { v * 0.9 + u.sin() * b } else { v * 0.8 - u };
    t = t * 0.5 + u * 0.03;
    let v = v + t * 0.001;
]
    /// A function of 512 statements, with a branch in each 4.
    #[differentiate]
    fn long_branches(x: f64, a: f64, b: f64) -> f64 {
        let u = x;
        let v = x * 0.5;
        let mut t = 0.0;
    } {
        u + v + t
    }
);

/// Assertions with messages, in the body and in a loop the macro fuses.
#[differentiate]
pub fn assertions(x: &[f64], w: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), w.len(), "{} inputs", x.len());
    let mut s = 0.0;
    for i in 0..x.len() {
        let t = x[i] * w[i];
        assert!(t.is_finite(), "term {i} is {t}");
        s += t.sin();
    }
    assert_ne!(s, f64::INFINITY);
    s
}
