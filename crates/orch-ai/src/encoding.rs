//! Bytes to text: UTF-8 with or without a byte-order mark, UTF-16 with one, and the two
//! Japanese legacy encodings a PRD written in Excel-era tools still arrives in (Shift_JIS,
//! EUC-JP). Anything else is refused with the reason, never guessed.

use encoding_rs::{EUC_JP, Encoding, SHIFT_JIS, UTF_16BE, UTF_16LE};

use crate::prd::PrdError;

/// The text and the name of the encoding it was read in.
pub(crate) fn decode(bytes: &[u8]) -> Result<(String, &'static str), PrdError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PrdError::Empty);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        let text = std::str::from_utf8(rest).map_err(|e| PrdError::Encoding {
            reason: format!(
                "a UTF-8 byte-order mark, then invalid UTF-8 at offset {}",
                e.valid_up_to() + 3
            ),
        })?;
        return non_empty(text.to_owned(), "UTF-8");
    }
    for (bom, encoding) in [([0xff, 0xfe], UTF_16LE), ([0xfe, 0xff], UTF_16BE)] {
        if let Some(rest) = bytes.strip_prefix(&bom) {
            let text = strict(encoding, rest).ok_or_else(|| PrdError::Encoding {
                reason: format!("a {} byte-order mark, then invalid data", encoding.name()),
            })?;
            return non_empty(text, encoding.name());
        }
    }
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        let hint = if looks_like_utf16(bytes) {
            " (UTF-16 without a byte-order mark? save it as UTF-8)"
        } else {
            ""
        };
        return Err(PrdError::Binary {
            reason: format!("a NUL byte at offset {at}{hint}"),
        });
    }
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(text) => return non_empty(text.to_owned(), "UTF-8"),
        Err(e) => e.valid_up_to(),
    };
    for encoding in [SHIFT_JIS, EUC_JP] {
        if let Some(text) = strict(encoding, bytes)
            && text.chars().any(is_japanese)
        {
            return non_empty(text, encoding.name());
        }
    }
    Err(PrdError::Encoding {
        reason: format!("invalid UTF-8 at offset {utf8_error}, and not Shift_JIS or EUC-JP either"),
    })
}

fn non_empty(text: String, name: &'static str) -> Result<(String, &'static str), PrdError> {
    if text.trim().is_empty() {
        Err(PrdError::Empty)
    } else {
        Ok((text, name))
    }
}

/// Decodes without replacement characters: `None` when any byte sequence is invalid.
fn strict(encoding: &'static Encoding, bytes: &[u8]) -> Option<String> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
}

/// Every other byte NUL in the first kilobyte: ASCII text stored as UTF-16.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let nul_at = |parity: usize| {
        head.iter()
            .enumerate()
            .filter(|(i, b)| i % 2 == parity && **b == 0)
            .count()
    };
    let half = head.len() / 2;
    half > 0 && (nul_at(0) * 10 >= half * 8 || nul_at(1) * 10 >= half * 8)
}

fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{ff66}'..='\u{ff9f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let text = "# 勤怠\n- 打刻\n";
        assert_eq!(decode(text.as_bytes()).unwrap(), (text.into(), "UTF-8"));
        let mut bom = vec![0xef, 0xbb, 0xbf];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(decode(&bom).unwrap(), (text.into(), "UTF-8"));
        let mut utf16: Vec<u8> = vec![0xff, 0xfe];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&utf16).unwrap(), (text.into(), "UTF-16LE"));
        let mut utf16be: Vec<u8> = vec![0xfe, 0xff];
        utf16be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&utf16be).unwrap(), (text.into(), "UTF-16BE"));
        let (sjis, _, _) = SHIFT_JIS.encode(text);
        assert_eq!(decode(&sjis).unwrap(), (text.into(), "Shift_JIS"));
        let (euc, _, _) = EUC_JP.encode(text);
        assert!(decode(&euc).is_ok());
        // Latin-1 is not guessed.
        assert!(matches!(
            decode(b"caf\xe9 cr\xe8me\n"),
            Err(PrdError::Encoding { .. })
        ));
        // UTF-16 without a mark is named in the error.
        let bare: Vec<u8> = "# Title\n- item\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        match decode(&bare) {
            Err(PrdError::Binary { reason }) => assert!(reason.contains("UTF-16"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
