use neuron::differentiate;

struct Config {
    scale: f64,
}

const CONFIG: Config = Config { scale: 2.0 };

#[differentiate]
fn f(x: f64) -> f64 {
    x * CONFIG.scale
}

fn main() {
    let _ = f(1.0);
}
