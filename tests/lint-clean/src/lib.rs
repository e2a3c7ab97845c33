//! Every construct `#[differentiate]` supports, compiled with warnings and
//! clippy lints denied: a warning in the generated code fails the build (and
//! so `cargo test --workspace` and CI's `cargo clippy -- -D warnings`).
//! The constructs live in [`constructs`], shared with the edition-2024 twin
//! crate `neuron-lint-clean-2024`.
#![deny(warnings)]
#![deny(clippy::all)]
#![deny(missing_docs)]

pub mod constructs;
