//! `neuron`: compile-time reverse-mode automatic differentiation.
//!
//! Annotate a forward function with [`differentiate`] and get its backward pass,
//! `NAME_backward`, as plain Rust generated at compile time.
//!
//! ```
//! use neuron::{differentiate, relu};
//!
//! #[differentiate]
//! fn neuron(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
//!     relu(x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b)
//! }
//!
//! let (dx, dw, db) = neuron_backward([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0, 1.0);
//! assert_eq!(dx, [-3.0, -1.0, 2.0]);
//! assert_eq!(dw, [1.0, -2.0, 3.0]);
//! assert_eq!(db, 1.0);
//! ```

pub use neuron_core::{derivative, gelu, leaky_relu, relu, sigmoid, silu, softplus};
pub use neuron_macros::differentiate;

/// Not public API: paths that generated code names.
#[doc(hidden)]
pub mod __private {
    pub use neuron_core::__private::*;
    pub use neuron_core::derivative;
}
