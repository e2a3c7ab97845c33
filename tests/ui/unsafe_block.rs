use neuron::differentiate;

/// # Safety
/// Always safe; `unsafe` only to need an `unsafe` block.
unsafe fn scale(v: f64) -> f64 {
    2.0 * v
}

#[differentiate]
fn f(x: f64) -> f64 {
    unsafe { scale(x) }
}

fn main() {
    let _ = f(1.0);
}
