//! The book's spiral classifier: 2 inputs → 64 ReLU → 3 softmax, mean categorical
//! cross-entropy, full-batch Adam.
//!
//! The loss is written once, as plain Rust ([`loss`]), and every gradient
//! training uses comes from `#[neuron::differentiate]`: [`value_and_gradient`]
//! calls the generated `loss_value_and_backward`, which returns the loss and
//! its gradient from one forward sweep. The hand-written reverse pass in
//! [`hand`] is kept only as the reference the tests compare it with.

// The loss indexes arrays in loops over ranges, as the book's formulas do.
#![allow(clippy::needless_range_loop)]

use neuron::relu;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

pub mod hand;

/// Neurons in the hidden layer.
pub const HIDDEN: usize = 64;
/// Classes (spiral arms).
pub const CLASSES: usize = 3;
/// Probabilities are clipped to `[CLIP, 1 - CLIP]` before the logarithm, like the book.
pub const CLIP: f64 = 1e-7;

/// Gradients of [`loss`] with respect to its float parameters, in declaration
/// order: `x`, `w1`, `b1`, `w2`, `b2` (`targets` holds integers and gets none).
/// This is the type `#[differentiate]` gives `loss_backward`.
pub type Gradients = (
    Vec<[f64; 2]>,
    [[f64; HIDDEN]; 2],
    [f64; HIDDEN],
    [[f64; CLASSES]; HIDDEN],
    [f64; CLASSES],
);

/// Mean categorical cross-entropy of the network on the points `x` with class
/// labels `targets`.
///
/// `w1[i][j]` connects input `i` to hidden neuron `j`, `w2[j][k]` hidden neuron
/// `j` to class `k` (the book's `inputs @ weights` layout). The softmax subtracts
/// the row maximum before `exp`, and the probability of the target class is
/// clipped to `[1e-7, 1 - 1e-7]`, as in the book.
///
/// Plain Rust that `#[neuron::differentiate]` differentiates: loops over
/// ranges, array locals, element assignment, `relu`, `.exp()`, `.ln()`, `.max()`.
#[neuron::differentiate]
pub fn loss(
    x: &[[f64; 2]],
    targets: &[usize],
    w1: &[[f64; 64]; 2],
    b1: &[f64; 64],
    w2: &[[f64; 3]; 64],
    b2: &[f64; 3],
) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        let mut h = [0.0; 64];
        for j in 0..64 {
            h[j] = relu(x[i][0] * w1[0][j] + x[i][1] * w1[1][j] + b1[j]);
        }
        let mut z = [0.0; 3];
        for k in 0..3 {
            let mut acc = b2[k];
            for j in 0..64 {
                acc += h[j] * w2[j][k];
            }
            z[k] = acc;
        }
        // -ln softmax(z)[target] as a log-sum-exp: stable without the
        // book's clipping, and its gradient is the book's combined
        // softmax-cross-entropy gradient, softmax(z) - onehot(target).
        let m = z[0].max(z[1]).max(z[2]);
        let mut sum = 0.0;
        for k in 0..3 {
            sum += (z[k] - m).exp();
        }
        total += sum.ln() + m - z[targets[i]];
    }
    total / x.len() as f64
}

/// The loss and its gradient (see [`Gradients`]) in one pass, from the
/// function `#[neuron::differentiate]` generated for [`loss`].
pub fn value_and_gradient(x: &[[f64; 2]], targets: &[usize], p: &Params) -> (f64, Gradients) {
    loss_value_and_backward(x, targets, &p.w1, &p.b1, &p.w2, &p.b2, 1.0)
}

/// The network's weights and biases.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub w1: [[f64; HIDDEN]; 2],
    pub b1: [f64; HIDDEN],
    pub w2: [[f64; CLASSES]; HIDDEN],
    pub b2: [f64; CLASSES],
}

impl Params {
    /// The book's initialisation: weights `0.01 · N(0, 1)`, biases 0.
    pub fn init(rng: &mut impl Rng) -> Self {
        let mut randn = || 0.01 * rng.sample::<f64, _>(StandardNormal);
        let mut p = Params {
            w1: [[0.0; HIDDEN]; 2],
            b1: [0.0; HIDDEN],
            w2: [[0.0; CLASSES]; HIDDEN],
            b2: [0.0; CLASSES],
        };
        for w in p.w1.as_flattened_mut() {
            *w = randn();
        }
        for w in p.w2.as_flattened_mut() {
            *w = randn();
        }
        p
    }

    /// The parameter tensors, flattened, in a fixed order.
    fn tensors_mut(&mut self) -> [&mut [f64]; 4] {
        [
            self.w1.as_flattened_mut(),
            &mut self.b1,
            self.w2.as_flattened_mut(),
            &mut self.b2,
        ]
    }

    /// Class scores (logits) of one point.
    pub fn logits(&self, x: [f64; 2]) -> [f64; CLASSES] {
        let mut z = self.b2;
        for j in 0..HIDDEN {
            let h = relu(x[0] * self.w1[0][j] + x[1] * self.w1[1][j] + self.b1[j]);
            for (zk, w) in z.iter_mut().zip(&self.w2[j]) {
                *zk += h * w;
            }
        }
        z
    }

    /// The predicted class of one point (first maximum, like `np.argmax`).
    pub fn predict(&self, x: [f64; 2]) -> usize {
        let z = self.logits(x);
        (1..CLASSES).fold(0, |best, k| if z[k] > z[best] { k } else { best })
    }

    /// Fraction of points whose predicted class is the target.
    pub fn accuracy(&self, x: &[[f64; 2]], targets: &[usize]) -> f64 {
        let hits = x
            .iter()
            .zip(targets)
            .filter(|&(&xi, &t)| self.predict(xi) == t)
            .count();
        hits as f64 / x.len() as f64
    }
}

/// The book's spiral data set: `points_per_class` points on each of `classes`
/// arms. For class `c`: `r = linspace(0, 1, N)`, `t = linspace(4c, 4(c+1), N) +
/// 0.2·randn`, point `(r sin 2.5t, r cos 2.5t)`.
pub fn spiral_data(
    points_per_class: usize,
    classes: usize,
    rng: &mut impl Rng,
) -> (Vec<[f64; 2]>, Vec<usize>) {
    let n = points_per_class;
    let linspace = |a: f64, b: f64, i: usize| {
        if n == 1 {
            a
        } else {
            a + (b - a) * i as f64 / (n - 1) as f64
        }
    };
    let mut x = Vec::with_capacity(n * classes);
    let mut y = Vec::with_capacity(n * classes);
    for c in 0..classes {
        let (t0, t1) = (4.0 * c as f64, 4.0 * (c + 1) as f64);
        for i in 0..n {
            let r = linspace(0.0, 1.0, i);
            let t = linspace(t0, t1, i) + 0.2 * rng.sample::<f64, _>(StandardNormal);
            x.push([r * (2.5 * t).sin(), r * (2.5 * t).cos()]);
            y.push(c);
        }
    }
    (x, y)
}

/// The book's Adam: `lr_t = lr / (1 + decay · t)`, momentum and cache with bias
/// correction `1 - β^(t+1)`, step `-lr_t · m̂ / (√v̂ + ε)`.
#[derive(Clone, Debug)]
pub struct Adam {
    pub learning_rate: f64,
    pub decay: f64,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    /// Updates done so far (the book's `iterations`).
    pub iterations: u64,
    momentum: Vec<f64>,
    cache: Vec<f64>,
}

impl Adam {
    /// The book's settings for the spiral: lr 0.05, decay 5e-7, β1 0.9, β2 0.999, ε 1e-7.
    pub fn book() -> Self {
        Adam {
            learning_rate: 0.05,
            decay: 5e-7,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            iterations: 0,
            momentum: Vec::new(),
            cache: Vec::new(),
        }
    }

    /// Learning rate of the next update.
    pub fn current_learning_rate(&self) -> f64 {
        self.learning_rate / (1.0 + self.decay * self.iterations as f64)
    }

    /// One update of `params` along the gradient `grads` (whose `x` part is ignored).
    pub fn step(&mut self, params: &mut Params, grads: &Gradients) {
        let (_, dw1, db1, dw2, db2) = grads;
        let g: [&[f64]; 4] = [dw1.as_flattened(), db1, dw2.as_flattened(), db2];
        let size: usize = g.iter().map(|t| t.len()).sum();
        if self.momentum.len() != size {
            self.momentum = vec![0.0; size];
            self.cache = vec![0.0; size];
        }
        let lr = self.current_learning_rate();
        let t = self.iterations as i32 + 1;
        let correct_m = 1.0 - self.beta_1.powi(t);
        let correct_v = 1.0 - self.beta_2.powi(t);
        let params = params.tensors_mut().into_iter().flat_map(|t| t.iter_mut());
        let grads = g.into_iter().flatten();
        for (((w, &d), m), v) in params
            .zip(grads)
            .zip(&mut self.momentum)
            .zip(&mut self.cache)
        {
            *m = self.beta_1 * *m + (1.0 - self.beta_1) * d;
            *v = self.beta_2 * *v + (1.0 - self.beta_2) * d * d;
            *w -= lr * (*m / correct_m) / ((*v / correct_v).sqrt() + self.epsilon);
        }
        self.iterations += 1;
    }
}

/// Everything one training run needs: data, parameters, optimiser.
pub struct Training {
    pub x: Vec<[f64; 2]>,
    pub y: Vec<usize>,
    pub params: Params,
    pub optimizer: Adam,
}

impl Training {
    /// The book's set-up: `points_per_class` points a class, weights drawn from
    /// the same seeded generator after the data.
    pub fn new(points_per_class: usize, seed: u64) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (x, y) = spiral_data(points_per_class, CLASSES, &mut rng);
        let params = Params::init(&mut rng);
        Training {
            x,
            y,
            params,
            optimizer: Adam::book(),
        }
    }

    /// One full-batch epoch: loss and gradient at the current parameters, then
    /// an Adam update. Returns the loss before the update.
    pub fn epoch(&mut self) -> f64 {
        let (loss, grads) = value_and_gradient(&self.x, &self.y, &self.params);
        self.optimizer.step(&mut self.params, &grads);
        loss
    }

    /// Training loss at the current parameters.
    pub fn loss(&self) -> f64 {
        let p = &self.params;
        loss(&self.x, &self.y, &p.w1, &p.b1, &p.w2, &p.b2)
    }

    /// Training accuracy at the current parameters.
    pub fn accuracy(&self) -> f64 {
        self.params.accuracy(&self.x, &self.y)
    }
}
