//! The book's single neuron, differentiated at compile time.
//!
//! A neuron computes `relu(x·w + b)`. Backpropagation needs how much each
//! input, weight and bias moves the output: `#[differentiate]` writes that
//! function, `neuron_backward`, from the forward code. Run with
//! `cargo run --example neuron`.

use neuron::{differentiate, relu};

/// Defines the function and keeps its source text, so the example can show
/// what the macro generates from it.
macro_rules! with_source {
    ($source:ident, $item:item) => {
        $item
        const $source: &str = stringify!($item);
    };
}

with_source!(
    NEURON_SOURCE,
    #[differentiate]
    fn neuron(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
        relu(x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b)
    }
);

fn main() {
    let x = [1.0, -2.0, 3.0];
    let w = [-3.0, -1.0, 2.0];
    let b = 1.0;
    println!("The book's neuron: relu(x·w + b)");
    println!("  x = {x:?}, w = {w:?}, b = {b}");
    println!("  output = {}", neuron(x, w, b));

    // The gradient arriving from the next layer is 1.
    let (dx, dw, db) = neuron_backward(x, w, b, 1.0);
    println!("\nBackward pass with an upstream gradient of 1:");
    println!("  dx = {dx:?}");
    println!("  dw = {dw:?}");
    println!("  db = {db}");

    // One optimizer step on the parameters: -0.001 · gradient.
    let w: [f64; 3] = std::array::from_fn(|i| w[i] - 0.001 * dw[i]);
    let b = b - 0.001 * db;
    println!("\nAfter one step of -0.001 · gradient on w and b:");
    println!("  w = {w:?}, b = {b}");
    println!("  output = {:.3}", neuron(x, w, b));

    println!("\nWhat #[differentiate] generated: the forward sweep, returning the value and the pullback that neuron_backward calls:\n");
    println!("{}", generated(NEURON_SOURCE, "__neuron_forward_neuron"));
}

/// The generated function `name`, formatted, for the function in `source`.
fn generated(source: &str, name: &str) -> String {
    let mut item: syn::ItemFn = syn::parse_str(source).expect("the example's own source parses");
    item.attrs.clear();
    let tokens = neuron_codegen::differentiate(Default::default(), quote::quote!(#item));
    let mut file: syn::File = syn::parse2(tokens).expect("generated code parses");
    file.items
        .retain(|i| matches!(i, syn::Item::Fn(f) if f.sig.ident == name));
    for item in &mut file.items {
        if let syn::Item::Fn(f) = item {
            f.attrs.clear();
        }
    }
    prettyplease::unparse(&file)
}
