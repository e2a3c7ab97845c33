//! One scalar trait over `f64`, `num_dual::Dual64` and `echidna::Reverse<f64>`,
//! so that each case's forward function is written once for both AD baselines.

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

use echidna::Reverse;
use num_dual::{Dual64, DualNum};

/// The operations the benchmark cases use.
pub trait Real:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
{
    /// A constant (zero derivative).
    fn cst(v: f64) -> Self;
    /// The primal value.
    fn val(self) -> f64;
    fn tanh(self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    /// `max(x, 0)`, derivative 0 at 0 like `neuron::relu`.
    fn relu(self) -> Self {
        if self.val() > 0.0 {
            self
        } else {
            Self::cst(0.0)
        }
    }
}

impl Real for f64 {
    fn cst(v: f64) -> Self {
        v
    }
    fn val(self) -> f64 {
        self
    }
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
}

impl Real for Dual64 {
    fn cst(v: f64) -> Self {
        Dual64::from_re(v)
    }
    fn val(self) -> f64 {
        self.re
    }
    fn tanh(self) -> Self {
        DualNum::tanh(&self)
    }
    fn exp(self) -> Self {
        DualNum::exp(&self)
    }
    fn ln(self) -> Self {
        DualNum::ln(&self)
    }
}

impl Real for Reverse<f64> {
    fn cst(v: f64) -> Self {
        Reverse::constant(v)
    }
    fn val(self) -> f64 {
        echidna::Scalar::value(&self)
    }
    fn tanh(self) -> Self {
        num_traits::Float::tanh(self)
    }
    fn exp(self) -> Self {
        num_traits::Float::exp(self)
    }
    fn ln(self) -> Self {
        num_traits::Float::ln(self)
    }
}
