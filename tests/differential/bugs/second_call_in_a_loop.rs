// Bug: two calls of the same differentiated function in a loop body, the
// second taking the first's result, fail: error[E0425]: cannot find value
// `t_4` in this scope.
#[neuron::differentiate]
fn g(a: [f64; 2], b: f64) -> f64 {
    a[0] * b + a[1]
}

#[neuron::differentiate]
fn twice(x: f64) -> f64 {
    let mut s = x;
    for _ in 0..2 {
        let t = g([s, s], s);
        s -= g([x, t], t);
    }
    s
}

fn main() {
    let _ = twice_backward(0.5, 1.0);
}
