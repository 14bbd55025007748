//! The safetensors file format, read whole: an 8-byte little-endian header
//! length, a JSON header naming each tensor's dtype, shape and byte range,
//! then the raw data. Only what a BERT checkpoint needs (F32) is decoded.

use std::collections::HashMap;

use crate::EmbedError;

pub struct Tensors {
    bytes: Vec<u8>,
    data_start: usize,
    entries: HashMap<String, Entry>,
}

struct Entry {
    dtype: String,
    shape: Vec<usize>,
    begin: usize,
    end: usize,
}

impl Tensors {
    pub fn parse(bytes: Vec<u8>) -> Result<Self, EmbedError> {
        let bad = |why: &str| EmbedError::Weights(why.to_string());
        let len_bytes: [u8; 8] =
            bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("file too short"))?;
        let header_len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad("header length"))?;
        let data_start = 8usize
            .checked_add(header_len)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| bad("header past the end"))?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..data_start]).map_err(|e| bad(&format!("header: {e}")))?;
        let data_len = bytes.len() - data_start;
        let mut entries = HashMap::new();
        for (name, v) in header {
            if name == "__metadata__" {
                continue;
            }
            let dtype = v["dtype"].as_str().ok_or_else(|| bad(&format!("{name}: dtype")))?.to_string();
            let shape = v["shape"]
                .as_array()
                .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| bad(&format!("{name}: shape")))?;
            let offsets = v["data_offsets"]
                .as_array()
                .and_then(|a| Some((a.first()?.as_u64()? as usize, a.get(1)?.as_u64()? as usize)))
                .ok_or_else(|| bad(&format!("{name}: data_offsets")))?;
            if offsets.0 > offsets.1 || offsets.1 > data_len {
                return Err(bad(&format!("{name}: data outside the file")));
            }
            entries.insert(name, Entry { dtype, shape, begin: offsets.0, end: offsets.1 });
        }
        Ok(Tensors { bytes, data_start, entries })
    }

    /// An F32 tensor's values (row-major) after checking its shape.
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError> {
        let e =
            self.entries.get(name).ok_or_else(|| EmbedError::Weights(format!("missing tensor {name}")))?;
        if e.dtype != "F32" || e.shape != shape {
            return Err(EmbedError::Weights(format!(
                "{name}: expected F32 {shape:?}, found {} {:?}",
                e.dtype, e.shape
            )));
        }
        let raw = &self.bytes[self.data_start + e.begin..self.data_start + e.end];
        if raw.len() != shape.iter().product::<usize>() * 4 {
            return Err(EmbedError::Weights(format!("{name}: size does not match its shape")));
        }
        Ok(raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a safetensors file in memory (F32 tensors only).
    pub fn build(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, shape, values) in tensors {
            let begin = data.len();
            for v in values {
                data.extend_from_slice(&v.to_le_bytes());
            }
            header.insert(
                name.to_string(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [begin, data.len()]}),
            );
        }
        let header = serde_json::to_vec(&header).unwrap();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        out.extend(data);
        out
    }

    #[test]
    fn reads_tensors_and_checks_their_shape() {
        let t = Tensors::parse(build(&[("a", vec![2, 2], vec![1.0, 2.0, 3.0, 4.5])])).unwrap();
        assert_eq!(t.f32("a", &[2, 2]).unwrap(), [1.0, 2.0, 3.0, 4.5]);
        assert!(t.f32("a", &[4]).is_err());
        assert!(t.f32("b", &[1]).is_err());
    }

    #[test]
    fn hostile_files_are_errors_not_panics() {
        assert!(Tensors::parse(vec![]).is_err());
        assert!(Tensors::parse(u64::MAX.to_le_bytes().to_vec()).is_err());
        let mut lying = build(&[("a", vec![1], vec![1.0])]);
        lying.truncate(lying.len() - 2);
        assert!(Tensors::parse(lying).is_err(), "data offsets past the end");
        let mut garbage = 4u64.to_le_bytes().to_vec();
        garbage.extend(b"{{{{");
        assert!(Tensors::parse(garbage).is_err());
    }
}
