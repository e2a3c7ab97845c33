// Bug: the type annotation of `let mut t: f64 = 1.0;` is lost in the
// generated code, so a method call on `t` fails:
// error[E0689]: can't call method `hypot` on ambiguous numeric type `{float}`.
#[neuron::differentiate]
fn annotated(x: f64) -> f64 {
    let mut t: f64 = 1.0;
    if x > 0.5 {
        t += t.hypot(1.5);
    }
    t * x
}

fn main() {
    let t = 1.0 + 1.0f64.hypot(1.5);
    assert_eq!(annotated_backward(1.0, 1.0), t);
}
