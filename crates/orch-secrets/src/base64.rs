//! Standard and URL-safe base64 decoding, enough to look inside encoded secrets.

/// The bytes `text` encodes (padding optional, either alphabet); `None` when it is not
/// base64.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_both_alphabets() {
        assert_eq!(super::decode("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(super::decode("aGVsbG8gd29ybGQ").unwrap(), b"hello world");
        assert_eq!(super::decode("-_-_").unwrap(), vec![0xfb, 0xff, 0xbf]);
        assert!(super::decode("not base64!").is_none());
    }
}
