//! Central finite differences over a flat parameter vector.

/// Step for central differences at `x`: `cbrt(eps) * max(1, |x|)`, which
/// balances the O(h^2) truncation error against the O(eps/h) rounding error.
pub fn step(x: f64) -> f64 {
    f64::EPSILON.cbrt() * x.abs().max(1.0)
}

/// Gradient of the scalar `f` at `p` by central differences: `2 * p.len()`
/// calls of `f`. `p` is restored before return.
pub fn gradient(p: &mut [f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut g = vec![0.0; p.len()];
    for i in 0..p.len() {
        let xi = p[i];
        let h = step(xi);
        p[i] = xi + h;
        let fp = f(p);
        p[i] = xi - h;
        let fm = f(p);
        p[i] = xi;
        g[i] = (fp - fm) / (2.0 * h);
    }
    g
}
