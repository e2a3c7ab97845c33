use neuron::differentiate;

// A piecewise function of 256 pieces: once differentiated, each `else if`
// nests its arm one level deeper, past the 256 levels the macro supports.
#[differentiate]
fn f(x: f64) -> f64 {
    if x < 0.0 {
        x
    } else if x < 1.0 {
        x * 1.0
    } else if x < 2.0 {
        x * 2.0
    } else if x < 3.0 {
        x * 3.0
    } else if x < 4.0 {
        x * 4.0
    } else if x < 5.0 {
        x * 5.0
    } else if x < 6.0 {
        x * 6.0
    } else if x < 7.0 {
        x * 7.0
    } else if x < 8.0 {
        x * 8.0
    } else if x < 9.0 {
        x * 9.0
    } else if x < 10.0 {
        x * 10.0
    } else if x < 11.0 {
        x * 11.0
    } else if x < 12.0 {
        x * 12.0
    } else if x < 13.0 {
        x * 13.0
    } else if x < 14.0 {
        x * 14.0
    } else if x < 15.0 {
        x * 15.0
    } else if x < 16.0 {
        x * 16.0
    } else if x < 17.0 {
        x * 17.0
    } else if x < 18.0 {
        x * 18.0
    } else if x < 19.0 {
        x * 19.0
    } else if x < 20.0 {
        x * 20.0
    } else if x < 21.0 {
        x * 21.0
    } else if x < 22.0 {
        x * 22.0
    } else if x < 23.0 {
        x * 23.0
    } else if x < 24.0 {
        x * 24.0
    } else if x < 25.0 {
        x * 25.0
    } else if x < 26.0 {
        x * 26.0
    } else if x < 27.0 {
        x * 27.0
    } else if x < 28.0 {
        x * 28.0
    } else if x < 29.0 {
        x * 29.0
    } else if x < 30.0 {
        x * 30.0
    } else if x < 31.0 {
        x * 31.0
    } else if x < 32.0 {
        x * 32.0
    } else if x < 33.0 {
        x * 33.0
    } else if x < 34.0 {
        x * 34.0
    } else if x < 35.0 {
        x * 35.0
    } else if x < 36.0 {
        x * 36.0
    } else if x < 37.0 {
        x * 37.0
    } else if x < 38.0 {
        x * 38.0
    } else if x < 39.0 {
        x * 39.0
    } else if x < 40.0 {
        x * 40.0
    } else if x < 41.0 {
        x * 41.0
    } else if x < 42.0 {
        x * 42.0
    } else if x < 43.0 {
        x * 43.0
    } else if x < 44.0 {
        x * 44.0
    } else if x < 45.0 {
        x * 45.0
    } else if x < 46.0 {
        x * 46.0
    } else if x < 47.0 {
        x * 47.0
    } else if x < 48.0 {
        x * 48.0
    } else if x < 49.0 {
        x * 49.0
    } else if x < 50.0 {
        x * 50.0
    } else if x < 51.0 {
        x * 51.0
    } else if x < 52.0 {
        x * 52.0
    } else if x < 53.0 {
        x * 53.0
    } else if x < 54.0 {
        x * 54.0
    } else if x < 55.0 {
        x * 55.0
    } else if x < 56.0 {
        x * 56.0
    } else if x < 57.0 {
        x * 57.0
    } else if x < 58.0 {
        x * 58.0
    } else if x < 59.0 {
        x * 59.0
    } else if x < 60.0 {
        x * 60.0
    } else if x < 61.0 {
        x * 61.0
    } else if x < 62.0 {
        x * 62.0
    } else if x < 63.0 {
        x * 63.0
    } else if x < 64.0 {
        x * 64.0
    } else if x < 65.0 {
        x * 65.0
    } else if x < 66.0 {
        x * 66.0
    } else if x < 67.0 {
        x * 67.0
    } else if x < 68.0 {
        x * 68.0
    } else if x < 69.0 {
        x * 69.0
    } else if x < 70.0 {
        x * 70.0
    } else if x < 71.0 {
        x * 71.0
    } else if x < 72.0 {
        x * 72.0
    } else if x < 73.0 {
        x * 73.0
    } else if x < 74.0 {
        x * 74.0
    } else if x < 75.0 {
        x * 75.0
    } else if x < 76.0 {
        x * 76.0
    } else if x < 77.0 {
        x * 77.0
    } else if x < 78.0 {
        x * 78.0
    } else if x < 79.0 {
        x * 79.0
    } else if x < 80.0 {
        x * 80.0
    } else if x < 81.0 {
        x * 81.0
    } else if x < 82.0 {
        x * 82.0
    } else if x < 83.0 {
        x * 83.0
    } else if x < 84.0 {
        x * 84.0
    } else if x < 85.0 {
        x * 85.0
    } else if x < 86.0 {
        x * 86.0
    } else if x < 87.0 {
        x * 87.0
    } else if x < 88.0 {
        x * 88.0
    } else if x < 89.0 {
        x * 89.0
    } else if x < 90.0 {
        x * 90.0
    } else if x < 91.0 {
        x * 91.0
    } else if x < 92.0 {
        x * 92.0
    } else if x < 93.0 {
        x * 93.0
    } else if x < 94.0 {
        x * 94.0
    } else if x < 95.0 {
        x * 95.0
    } else if x < 96.0 {
        x * 96.0
    } else if x < 97.0 {
        x * 97.0
    } else if x < 98.0 {
        x * 98.0
    } else if x < 99.0 {
        x * 99.0
    } else if x < 100.0 {
        x * 100.0
    } else if x < 101.0 {
        x * 101.0
    } else if x < 102.0 {
        x * 102.0
    } else if x < 103.0 {
        x * 103.0
    } else if x < 104.0 {
        x * 104.0
    } else if x < 105.0 {
        x * 105.0
    } else if x < 106.0 {
        x * 106.0
    } else if x < 107.0 {
        x * 107.0
    } else if x < 108.0 {
        x * 108.0
    } else if x < 109.0 {
        x * 109.0
    } else if x < 110.0 {
        x * 110.0
    } else if x < 111.0 {
        x * 111.0
    } else if x < 112.0 {
        x * 112.0
    } else if x < 113.0 {
        x * 113.0
    } else if x < 114.0 {
        x * 114.0
    } else if x < 115.0 {
        x * 115.0
    } else if x < 116.0 {
        x * 116.0
    } else if x < 117.0 {
        x * 117.0
    } else if x < 118.0 {
        x * 118.0
    } else if x < 119.0 {
        x * 119.0
    } else if x < 120.0 {
        x * 120.0
    } else if x < 121.0 {
        x * 121.0
    } else if x < 122.0 {
        x * 122.0
    } else if x < 123.0 {
        x * 123.0
    } else if x < 124.0 {
        x * 124.0
    } else if x < 125.0 {
        x * 125.0
    } else if x < 126.0 {
        x * 126.0
    } else if x < 127.0 {
        x * 127.0
    } else if x < 128.0 {
        x * 128.0
    } else if x < 129.0 {
        x * 129.0
    } else if x < 130.0 {
        x * 130.0
    } else if x < 131.0 {
        x * 131.0
    } else if x < 132.0 {
        x * 132.0
    } else if x < 133.0 {
        x * 133.0
    } else if x < 134.0 {
        x * 134.0
    } else if x < 135.0 {
        x * 135.0
    } else if x < 136.0 {
        x * 136.0
    } else if x < 137.0 {
        x * 137.0
    } else if x < 138.0 {
        x * 138.0
    } else if x < 139.0 {
        x * 139.0
    } else if x < 140.0 {
        x * 140.0
    } else if x < 141.0 {
        x * 141.0
    } else if x < 142.0 {
        x * 142.0
    } else if x < 143.0 {
        x * 143.0
    } else if x < 144.0 {
        x * 144.0
    } else if x < 145.0 {
        x * 145.0
    } else if x < 146.0 {
        x * 146.0
    } else if x < 147.0 {
        x * 147.0
    } else if x < 148.0 {
        x * 148.0
    } else if x < 149.0 {
        x * 149.0
    } else if x < 150.0 {
        x * 150.0
    } else if x < 151.0 {
        x * 151.0
    } else if x < 152.0 {
        x * 152.0
    } else if x < 153.0 {
        x * 153.0
    } else if x < 154.0 {
        x * 154.0
    } else if x < 155.0 {
        x * 155.0
    } else if x < 156.0 {
        x * 156.0
    } else if x < 157.0 {
        x * 157.0
    } else if x < 158.0 {
        x * 158.0
    } else if x < 159.0 {
        x * 159.0
    } else if x < 160.0 {
        x * 160.0
    } else if x < 161.0 {
        x * 161.0
    } else if x < 162.0 {
        x * 162.0
    } else if x < 163.0 {
        x * 163.0
    } else if x < 164.0 {
        x * 164.0
    } else if x < 165.0 {
        x * 165.0
    } else if x < 166.0 {
        x * 166.0
    } else if x < 167.0 {
        x * 167.0
    } else if x < 168.0 {
        x * 168.0
    } else if x < 169.0 {
        x * 169.0
    } else if x < 170.0 {
        x * 170.0
    } else if x < 171.0 {
        x * 171.0
    } else if x < 172.0 {
        x * 172.0
    } else if x < 173.0 {
        x * 173.0
    } else if x < 174.0 {
        x * 174.0
    } else if x < 175.0 {
        x * 175.0
    } else if x < 176.0 {
        x * 176.0
    } else if x < 177.0 {
        x * 177.0
    } else if x < 178.0 {
        x * 178.0
    } else if x < 179.0 {
        x * 179.0
    } else if x < 180.0 {
        x * 180.0
    } else if x < 181.0 {
        x * 181.0
    } else if x < 182.0 {
        x * 182.0
    } else if x < 183.0 {
        x * 183.0
    } else if x < 184.0 {
        x * 184.0
    } else if x < 185.0 {
        x * 185.0
    } else if x < 186.0 {
        x * 186.0
    } else if x < 187.0 {
        x * 187.0
    } else if x < 188.0 {
        x * 188.0
    } else if x < 189.0 {
        x * 189.0
    } else if x < 190.0 {
        x * 190.0
    } else if x < 191.0 {
        x * 191.0
    } else if x < 192.0 {
        x * 192.0
    } else if x < 193.0 {
        x * 193.0
    } else if x < 194.0 {
        x * 194.0
    } else if x < 195.0 {
        x * 195.0
    } else if x < 196.0 {
        x * 196.0
    } else if x < 197.0 {
        x * 197.0
    } else if x < 198.0 {
        x * 198.0
    } else if x < 199.0 {
        x * 199.0
    } else if x < 200.0 {
        x * 200.0
    } else if x < 201.0 {
        x * 201.0
    } else if x < 202.0 {
        x * 202.0
    } else if x < 203.0 {
        x * 203.0
    } else if x < 204.0 {
        x * 204.0
    } else if x < 205.0 {
        x * 205.0
    } else if x < 206.0 {
        x * 206.0
    } else if x < 207.0 {
        x * 207.0
    } else if x < 208.0 {
        x * 208.0
    } else if x < 209.0 {
        x * 209.0
    } else if x < 210.0 {
        x * 210.0
    } else if x < 211.0 {
        x * 211.0
    } else if x < 212.0 {
        x * 212.0
    } else if x < 213.0 {
        x * 213.0
    } else if x < 214.0 {
        x * 214.0
    } else if x < 215.0 {
        x * 215.0
    } else if x < 216.0 {
        x * 216.0
    } else if x < 217.0 {
        x * 217.0
    } else if x < 218.0 {
        x * 218.0
    } else if x < 219.0 {
        x * 219.0
    } else if x < 220.0 {
        x * 220.0
    } else if x < 221.0 {
        x * 221.0
    } else if x < 222.0 {
        x * 222.0
    } else if x < 223.0 {
        x * 223.0
    } else if x < 224.0 {
        x * 224.0
    } else if x < 225.0 {
        x * 225.0
    } else if x < 226.0 {
        x * 226.0
    } else if x < 227.0 {
        x * 227.0
    } else if x < 228.0 {
        x * 228.0
    } else if x < 229.0 {
        x * 229.0
    } else if x < 230.0 {
        x * 230.0
    } else if x < 231.0 {
        x * 231.0
    } else if x < 232.0 {
        x * 232.0
    } else if x < 233.0 {
        x * 233.0
    } else if x < 234.0 {
        x * 234.0
    } else if x < 235.0 {
        x * 235.0
    } else if x < 236.0 {
        x * 236.0
    } else if x < 237.0 {
        x * 237.0
    } else if x < 238.0 {
        x * 238.0
    } else if x < 239.0 {
        x * 239.0
    } else if x < 240.0 {
        x * 240.0
    } else if x < 241.0 {
        x * 241.0
    } else if x < 242.0 {
        x * 242.0
    } else if x < 243.0 {
        x * 243.0
    } else if x < 244.0 {
        x * 244.0
    } else if x < 245.0 {
        x * 245.0
    } else if x < 246.0 {
        x * 246.0
    } else if x < 247.0 {
        x * 247.0
    } else if x < 248.0 {
        x * 248.0
    } else if x < 249.0 {
        x * 249.0
    } else if x < 250.0 {
        x * 250.0
    } else if x < 251.0 {
        x * 251.0
    } else if x < 252.0 {
        x * 252.0
    } else if x < 253.0 {
        x * 253.0
    } else if x < 254.0 {
        x * 254.0
    } else if x < 255.0 {
        x * 255.0
    } else {
        x
    }
}

fn main() {
    let _ = f(1.0);
}
