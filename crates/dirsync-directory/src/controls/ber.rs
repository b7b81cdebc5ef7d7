//! Just enough BER (X.690, definite lengths) for SEQUENCEs of INTEGERs and
//! OCTET STRINGs, which is all the AD controls dirsync uses need.

/// A decoding failure, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed BER: {0}")]
pub struct BerError(pub &'static str);

pub const SEQUENCE: u8 = 0x30;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends a tag-length-value.
pub fn tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    push_len(out, value.len());
    out.extend_from_slice(value);
}

/// The minimal two's-complement content octets of an INTEGER.
pub fn integer(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// A reader over consecutive TLVs.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Reads one TLV with the expected tag and returns its content.
    pub fn read(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], BerError> {
        let (&t, rest) = self.buf.split_first().ok_or(BerError(what))?;
        if t != tag {
            return Err(BerError(what));
        }
        let (&l, mut rest) = rest.split_first().ok_or(BerError(what))?;
        let len = if l < 0x80 {
            l as usize
        } else {
            let n = (l & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return Err(BerError(what));
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(BerError(what));
        }
        let (content, after) = rest.split_at(len);
        self.buf = after;
        Ok(content)
    }

    pub fn read_integer(&mut self, what: &'static str) -> Result<i64, BerError> {
        let c = self.read(INTEGER, what)?;
        if c.is_empty() || c.len() > 8 {
            return Err(BerError(what));
        }
        let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
        for b in c {
            v = (v << 8) | *b as i64;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip() {
        for (v, enc) in [
            (0i64, vec![0x00]),
            (127, vec![0x7f]),
            (128, vec![0x00, 0x80]),
            (-1, vec![0xff]),
            (-129, vec![0xff, 0x7f]),
            (0x8000_0000, vec![0x00, 0x80, 0, 0, 0]),
            (-0x8000_0000, vec![0x80, 0, 0, 0]),
        ] {
            assert_eq!(integer(v), enc, "{v}");
            let mut out = Vec::new();
            tlv(&mut out, INTEGER, &enc);
            assert_eq!(Reader::new(&out).read_integer("i").unwrap(), v);
        }
    }

    #[test]
    fn long_lengths_and_truncation() {
        let value = vec![7u8; 300];
        let mut out = Vec::new();
        tlv(&mut out, OCTET_STRING, &value);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(
            Reader::new(&out).read(OCTET_STRING, "s").unwrap(),
            &value[..]
        );
        assert!(Reader::new(&out[..100]).read(OCTET_STRING, "s").is_err());
        assert!(Reader::new(&[0x04, 0x85, 1, 1, 1, 1, 1])
            .read(OCTET_STRING, "s")
            .is_err());
        assert!(Reader::new(&[]).read(SEQUENCE, "s").is_err());
    }
}
