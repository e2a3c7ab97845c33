//! Compile-fail cases of `#[differentiate]`: one file a rejected construct in
//! `tests/ui/`, each with the blessed compiler output next to it. Each case is
//! otherwise valid Rust, so its `.stderr` holds only the macro's error (and
//! shows where it points). Re-bless with `TRYBUILD=overwrite cargo test --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
