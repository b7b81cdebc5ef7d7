//! BER for the AD control values, through ldap3's own ASN.1 support
//! (`ldap3::asn1`, the `lber` crate ldap3 builds its built-in controls with).
//!
//! Encoding uses lber's tag types and writer. Decoding uses lber's
//! `parse_tag`, then checks each element's class, tag and form here: ldap3's
//! own control parsers `expect` those and panic on a malformed value, while a
//! reply from a directory server must never stop the agent.

use ldap3::asn1::{
    parse_tag, parse_uint, write, ASNTag, Integer, OctetString, Sequence, StructureTag, Tag,
    TagClass, Types,
};

/// A decoding failure, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed BER: {0}")]
pub struct BerError(pub &'static str);

/// An INTEGER element.
pub fn integer(v: i64) -> Tag {
    Tag::Integer(Integer {
        inner: v,
        ..Default::default()
    })
}

/// An OCTET STRING element.
pub fn octets(v: Vec<u8>) -> Tag {
    Tag::OctetString(OctetString {
        inner: v,
        ..Default::default()
    })
}

/// The encoding of a universal SEQUENCE of `inner`.
pub fn sequence(inner: Vec<Tag>) -> Vec<u8> {
    let tag = Tag::Sequence(Sequence {
        inner,
        ..Default::default()
    })
    .into_structure();
    let mut buf = bytes::BytesMut::new();
    // lber's writer only fails when its Vec sink fails, which it cannot.
    write::encode_into(&mut buf, tag).expect("BER encoding into memory");
    buf.to_vec()
}

/// The elements of a universal SEQUENCE, in order, for the `read_*` functions.
pub struct Elements(std::vec::IntoIter<StructureTag>);

/// Decodes `val` as one universal SEQUENCE (bytes after it are ignored, as
/// ldap3's controls do).
pub fn read_sequence(val: &[u8], what: &'static str) -> Result<Elements, BerError> {
    let (_, tag) = parse_tag(val).map_err(|_| BerError(what))?;
    let items = universal(Some(tag), Types::Sequence, what)?
        .expect_constructed()
        .ok_or(BerError(what))?;
    Ok(Elements(items.into_iter()))
}

fn universal(
    tag: Option<StructureTag>,
    ty: Types,
    what: &'static str,
) -> Result<StructureTag, BerError> {
    tag.and_then(|t| t.match_class(TagClass::Universal))
        .and_then(|t| t.match_id(ty as u64))
        .ok_or(BerError(what))
}

impl Elements {
    /// The next element as a (signed, at most 64-bit) INTEGER.
    pub fn read_integer(&mut self, what: &'static str) -> Result<i64, BerError> {
        let c = universal(self.0.next(), Types::Integer, what)?
            .expect_primitive()
            .ok_or(BerError(what))?;
        if c.is_empty() || c.len() > 8 {
            return Err(BerError(what));
        }
        let (_, u) = parse_uint(&c).map_err(|_| BerError(what))?;
        // lber reads the octets unsigned; sign-extend from the top content bit.
        let shift = 64 - 8 * c.len() as u32;
        Ok(((u << shift) as i64) >> shift)
    }

    /// The next element as an OCTET STRING.
    pub fn read_octets(&mut self, what: &'static str) -> Result<Vec<u8>, BerError> {
        universal(self.0.next(), Types::OctetString, what)?
            .expect_primitive()
            .ok_or(BerError(what))
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
            (-128, vec![0x80]),
            (0x8000_0000, vec![0x00, 0x80, 0, 0, 0]),
            (-0x8000_0000, vec![0x80, 0, 0, 0]),
            (1 << 20, vec![0x10, 0x00, 0x00]),
        ] {
            let mut want = vec![0x30, enc.len() as u8 + 2, 0x02, enc.len() as u8];
            want.extend_from_slice(&enc);
            let out = sequence(vec![integer(v)]);
            assert_eq!(out, want, "{v}");
            assert_eq!(read_sequence(&out, "s").unwrap().read_integer("i"), Ok(v));
        }
    }

    /// lber writes -129 as the single octet 0x7f (127): its INTEGER writer
    /// sizes a negative value by its magnitude. dirsync sends no such value
    /// (see `dirsync::tests::every_flag_combination_round_trips`), and the
    /// reader here decodes two's complement correctly.
    #[test]
    fn negative_integers_are_read_as_twos_complement() {
        for (bytes, v) in [
            (vec![0xff, 0x7f], -129i64),
            (vec![0xff], -1),
            (vec![0x80, 0, 0, 0, 0, 0, 0, 0], i64::MIN),
            (
                vec![0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                i64::MAX,
            ),
        ] {
            let mut val = vec![0x30, bytes.len() as u8 + 2, 0x02, bytes.len() as u8];
            val.extend_from_slice(&bytes);
            assert_eq!(
                read_sequence(&val, "s").unwrap().read_integer("i"),
                Ok(v),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn long_lengths_truncation_and_wrong_tags() {
        let value = vec![7u8; 300];
        let out = sequence(vec![octets(value.clone())]);
        assert_eq!(&out[..8], &[0x30, 0x82, 0x01, 0x30, 0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(
            read_sequence(&out, "s").unwrap().read_octets("o"),
            Ok(value)
        );
        assert!(read_sequence(&out[..100], "s").is_err());
        assert!(read_sequence(&[], "s").is_err());
        // An OCTET STRING where a SEQUENCE belongs, and a primitive SEQUENCE.
        assert!(read_sequence(&[0x04, 0x00], "s").is_err());
        assert!(read_sequence(&[0x10, 0x00], "s").is_err());
        // Elements missing, of the wrong type, empty or over 64 bits.
        let mut e = read_sequence(&[0x30, 0x00], "s").unwrap();
        assert_eq!(e.read_integer("i"), Err(BerError("i")));
        let mut e = read_sequence(&[0x30, 0x03, 0x02, 0x01, 0x05], "s").unwrap();
        assert_eq!(e.read_octets("o"), Err(BerError("o")));
        let mut e = read_sequence(&[0x30, 0x02, 0x02, 0x00], "s").unwrap();
        assert_eq!(e.read_integer("i"), Err(BerError("i")));
        let mut nine = vec![0x30, 0x0b, 0x02, 0x09];
        nine.extend_from_slice(&[1; 9]);
        let mut e = read_sequence(&nine, "s").unwrap();
        assert_eq!(e.read_integer("i"), Err(BerError("i")));
    }
}
