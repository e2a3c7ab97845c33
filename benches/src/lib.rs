//! Benchmark cases for `neuron`'s generated backward passes.
//!
//! Each module in [`cases`] holds one case: the forward function in the plain
//! form `#[differentiate]` consumes (`f64`, fixed-size arrays, `&[f64]` slices,
//! `for` loops over ranges, `if`, calls), a generic copy of it over [`Real`]
//! for the operator-overloading baselines, and one gradient function per
//! variant:
//!
//! - `hand`: the backward pass as an expert writes it by hand, the reference;
//! - `hand_ieee` (dense and network cases): `hand` without skipping the work of
//!   a unit whose ReLU is off, so with the generated code's IEEE semantics
//!   (`0 * NaN = NaN`);
//! - `num_dual`: forward mode with `num_dual::Dual64`, one pass per input;
//! - `echidna`: tape-based reverse mode with `echidna::Reverse<f64>`;
//! - `finite_diff`: central differences, two forward calls per input;
//! - `generated` (feature `generated`): the `#[differentiate]` output.
//!
//! The unit tests check every variant's gradient against `hand`.

// The forward functions index arrays in `for` loops over ranges on purpose:
// that is the form `#[differentiate]` consumes, and the baselines mirror it.
#![allow(clippy::needless_range_loop)]

pub mod cases;
pub mod data;
pub mod fd;
pub mod real;

pub use real::Real;
