use neuron::differentiate;

struct Layer {
    w: f64,
}

impl Layer {
    #[differentiate]
    fn forward(&self, x: f64) -> f64 {
        self.w * x
    }
}

fn main() {
    let _ = Layer { w: 2.0 }.forward(1.0);
}
