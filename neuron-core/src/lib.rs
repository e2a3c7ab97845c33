//! Runtime of the [`neuron`](https://docs.rs/neuron) crate.
//!
//! The activation functions here are ordinary generic functions over
//! [`num_traits::Float`], so they work for `f32` and `f64` in plain code. Code
//! that `#[differentiate]` generates calls the same functions for the forward
//! value and the functions in [`derivative`] for the local partials.
//!
//! ```
//! use neuron_core::{relu, sigmoid};
//! assert_eq!(relu(-2.0_f64), 0.0);
//! assert_eq!(sigmoid(0.0_f32), 0.5);
//! ```

pub mod derivative;

use num_traits::Float;

/// Rectified linear unit: `max(x, 0)`.
///
/// Its derivative at 0 is taken to be 0, the convention of the book and of most
/// frameworks (see [`derivative::relu`]).
///
/// ```
/// assert_eq!(neuron_core::relu(3.0_f64), 3.0);
/// assert_eq!(neuron_core::relu(-3.0_f64), 0.0);
/// ```
pub fn relu<T: Float>(x: T) -> T {
    if x > T::zero() {
        x
    } else {
        T::zero()
    }
}

/// Logistic sigmoid: `1 / (1 + exp(-x))`.
///
/// ```
/// assert_eq!(neuron_core::sigmoid(0.0_f64), 0.5);
/// ```
pub fn sigmoid<T: Float>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}

/// Softplus: `ln(1 + exp(x))`, computed without overflow for large `|x|`.
///
/// ```
/// let y = neuron_core::softplus(0.0_f64);
/// assert!((y - 2.0_f64.ln()).abs() < 1e-15);
/// assert_eq!(neuron_core::softplus(1000.0_f64), 1000.0);
/// ```
pub fn softplus<T: Float>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// Leaky ReLU: `x` for `x > 0`, `alpha * x` otherwise.
///
/// ```
/// assert_eq!(neuron_core::leaky_relu(2.0_f64, 0.01), 2.0);
/// assert_eq!(neuron_core::leaky_relu(-2.0_f64, 0.01), -0.02);
/// ```
pub fn leaky_relu<T: Float>(x: T, alpha: T) -> T {
    if x > T::zero() {
        x
    } else {
        alpha * x
    }
}

/// GELU in its tanh form (Hendrycks & Gimpel; the form GPT-2 uses):
/// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
///
/// ```
/// assert_eq!(neuron_core::gelu(0.0_f64), 0.0);
/// assert!((neuron_core::gelu(1.0_f64) - 0.841192).abs() < 1e-6);
/// ```
pub fn gelu<T: Float>(x: T) -> T {
    let half = T::from(0.5).unwrap_or_else(T::zero);
    half * x * (T::one() + gelu_inner(x).tanh())
}

/// SiLU (swish): `x * sigmoid(x)`.
///
/// ```
/// assert_eq!(neuron_core::silu(0.0_f64), 0.0);
/// ```
pub fn silu<T: Float>(x: T) -> T {
    x * sigmoid(x)
}

/// `sqrt(2/pi) (x + 0.044715 x^3)`, the argument of tanh in [`gelu`].
fn gelu_inner<T: Float>(x: T) -> T {
    let c = T::from(0.797_884_560_802_865_4).unwrap_or_else(T::zero);
    let k = T::from(0.044_715).unwrap_or_else(T::zero);
    c * (x + k * x * x * x)
}
