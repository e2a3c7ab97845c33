#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use neuron_core::{derivative, gelu, leaky_relu, relu, sigmoid, silu, softplus};
/// Generates the backward pass of a function: `NAME_backward` and
/// `NAME_value_and_backward`. See the [crate documentation](crate).
/// `#[differentiate(skip_inactive)]` skips the backward pass of ReLU units
/// that are off, as a hand-written one does (see the crate documentation's
/// "Skipping units that are off").
///
/// ```
/// use neuron::differentiate;
///
/// #[differentiate]
/// fn square_sum(x: &[f64]) -> f64 {
///     x.iter().map(|v| v * v).sum()
/// }
///
/// let (value, grad) = square_sum_value_and_backward(&[1.0, 2.0], 1.0);
/// assert_eq!(value, 5.0);
/// assert_eq!(grad, vec![2.0, 4.0]);
/// ```
pub use neuron_macros::differentiate;

/// Not public API: paths that generated code names.
#[doc(hidden)]
pub mod __private {
    pub use neuron_core::__private::*;
    pub use neuron_core::derivative;
}
