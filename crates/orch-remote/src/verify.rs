//! Request signatures, checked on the raw bytes before anything is parsed.
//!
//! The remote endpoints are reachable from the internet, and a request that reaches them can
//! answer an escalation or steer a run. So the first thing a handler does with a request is to
//! prove that the platform sent it, on the exact bytes received: a body is parsed only after its
//! signature holds, so a forged body never reaches a parser, an allow-list or a command.
//!
//! Each platform signs differently:
//!
//! - **Slack**: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")>`
//!   with `X-Slack-Request-Timestamp: <unix seconds>`. Slack asks receivers to refuse a
//!   timestamp more than five minutes away from the local clock, since a captured request
//!   could otherwise be replayed forever.
//! - **Discord** (interactions endpoint): `X-Signature-Ed25519: <hex signature>` over
//!   `timestamp + body`, with `X-Signature-Timestamp`, checked with the application's public
//!   key. The timestamp is signed too, so it is held to the same window as Slack's.
//! - **LINE**: `X-Line-Signature: <base64 HMAC-SHA256(channel secret, body)>`. No timestamp is
//!   signed, so replays are caught only by the replay cache (`webhookEventId`).
//!
//! How the checks are made, and why:
//!
//! - MACs are compared with [`Mac::verify_slice`], which is constant-time, after the header is
//!   decoded to bytes; strings are never compared with `==`, which would leak through timing
//!   how much of a forged MAC was right.
//! - Headers are decoded strictly: exact lengths, lowercase hex (what the platforms send),
//!   canonical base64 with padding, timestamps as plain decimal digits. Anything else is
//!   [`Refusal::MalformedHeader`], before any cryptography runs. Strictness also makes the
//!   accepted text canonical: one MAC has exactly one accepted spelling, so a header value
//!   (such as Slack's signature) is a sound replay-cache key; accepting uppercase hex would let
//!   `V0=ABC…` replay `v0=abc…` past the cache.
//! - The window holds in both directions: a timestamp from the future is as suspect as an old
//!   one (it would stretch the time a captured request stays usable).
//! - Ed25519 uses [`VerifyingKey::verify_strict`], which also refuses small-order keys and
//!   signature points: with those, one signature can verify for many messages or keys.
//! - An empty HMAC secret never verifies: anybody can compute a MAC under an empty key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying Slack's signature (`v0=<hex>`).
pub const SLACK_SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// The header carrying the unix time at which Slack signed the request.
pub const SLACK_TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// The header carrying Discord's Ed25519 signature (hex).
pub const DISCORD_SIGNATURE_HEADER: &str = "X-Signature-Ed25519";
/// The header carrying the timestamp Discord signed along with the body.
pub const DISCORD_TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";
/// The header carrying LINE's signature (base64).
pub const LINE_SIGNATURE_HEADER: &str = "X-Line-Signature";

/// The length in bytes of an HMAC-SHA256 tag.
const HMAC_SHA256_LEN: usize = 32;
/// Slack's signature version prefix.
const SLACK_VERSION_PREFIX: &str = "v0=";

/// Why a request was refused (each maps to an HTTP status in the handlers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A header the platform always sends is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but not in the platform's format (length, alphabet, prefix).
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    /// The signature is well-formed but was not made over this request with our secret or key.
    #[error("the signature does not match")]
    BadSignature,
    /// The signed timestamp is too far from now, in the past or in the future.
    #[error("the request timestamp is {age_secs} s away from now (limit {limit_secs} s)")]
    StaleTimestamp {
        /// `now - timestamp`: positive for a request from the past, negative for the future.
        age_secs: i64,
        /// The window the request was held to.
        limit_secs: i64,
    },
    /// The request was already received (decided by the replay cache, not here).
    #[error("this request was already received")]
    Replayed,
}

/// Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing_secret, "v0:{ts}:{body}")>`,
/// `X-Slack-Request-Timestamp: <unix seconds>` within `window_secs` of `now_unix` (either
/// direction).
///
/// Checks, in order: both headers present, the timestamp is decimal digits, the signature is
/// `v0=` and 64 hex digits, the timestamp is within the window, the MAC matches.
pub fn verify_slack(
    signing_secret: &[u8],
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now_unix: i64,
    window_secs: i64,
) -> Result<(), Refusal> {
    let timestamp = timestamp_header.ok_or(Refusal::MissingHeader(SLACK_TIMESTAMP_HEADER))?;
    let signature = signature_header.ok_or(Refusal::MissingHeader(SLACK_SIGNATURE_HEADER))?;
    let signed_at = parse_unix_seconds(timestamp, SLACK_TIMESTAMP_HEADER)?;
    let tag: [u8; HMAC_SHA256_LEN] = signature
        .strip_prefix(SLACK_VERSION_PREFIX)
        .and_then(decode_hex)
        .ok_or(Refusal::MalformedHeader(SLACK_SIGNATURE_HEADER))?;
    check_window(signed_at, now_unix, window_secs)?;
    if signing_secret.is_empty() {
        return Err(Refusal::BadSignature);
    }
    slack_mac(signing_secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| Refusal::BadSignature)
}

/// Discord interactions: `X-Signature-Ed25519: <hex 64-byte signature>` over `timestamp + body`
/// with the application's public key, `X-Signature-Timestamp: <unix seconds>` (also held to the
/// window: Discord sends the current time).
///
/// Checks, in order: both headers present, the timestamp is decimal digits, the signature is
/// 128 hex digits, the timestamp is within the window, the signature verifies (strictly).
pub fn verify_discord(
    public_key: &VerifyingKey,
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now_unix: i64,
    window_secs: i64,
) -> Result<(), Refusal> {
    let timestamp = timestamp_header.ok_or(Refusal::MissingHeader(DISCORD_TIMESTAMP_HEADER))?;
    let signature = signature_header.ok_or(Refusal::MissingHeader(DISCORD_SIGNATURE_HEADER))?;
    let signed_at = parse_unix_seconds(timestamp, DISCORD_TIMESTAMP_HEADER)?;
    let signature: [u8; ed25519_dalek::SIGNATURE_LENGTH] =
        decode_hex(signature).ok_or(Refusal::MalformedHeader(DISCORD_SIGNATURE_HEADER))?;
    check_window(signed_at, now_unix, window_secs)?;
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    public_key
        .verify_strict(&message, &Signature::from_bytes(&signature))
        .map_err(|_| Refusal::BadSignature)
}

/// Parses a Discord application public key from its 64 hex characters.
///
/// Surrounding whitespace and letter case are ignored (the key is pasted from the developer
/// portal; unlike a signature header, it is not a replay-cache key). A key that
/// is not a point on the curve, or is of small order (such a key would let anyone forge
/// signatures under lax verification), is refused here so a bad configuration fails at start-up
/// rather than on every request.
pub fn discord_public_key(hex: &str) -> Result<VerifyingKey, String> {
    let hex = hex.trim().to_ascii_lowercase();
    let expected = 2 * ed25519_dalek::PUBLIC_KEY_LENGTH;
    if hex.len() != expected {
        return Err(format!(
            "a Discord public key is {expected} hex characters, this one has {}",
            hex.len()
        ));
    }
    let bytes: [u8; ed25519_dalek::PUBLIC_KEY_LENGTH] = decode_hex(&hex)
        .ok_or_else(|| "a Discord public key is hexadecimal (0-9, a-f)".to_owned())?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "the Discord public key is not a valid Ed25519 key".to_owned())?;
    if key.is_weak() {
        return Err("the Discord public key is a weak (small-order) Ed25519 key".to_owned());
    }
    Ok(key)
}

/// LINE: `X-Line-Signature: <base64 HMAC-SHA256(channel_secret, body)>`.
///
/// Checks, in order: the header is present, it is canonical padded base64 of 32 bytes, the MAC
/// matches. LINE signs no timestamp; replays are for the replay cache to catch.
pub fn verify_line(
    channel_secret: &[u8],
    signature_header: Option<&str>,
    body: &[u8],
) -> Result<(), Refusal> {
    let signature = signature_header.ok_or(Refusal::MissingHeader(LINE_SIGNATURE_HEADER))?;
    let tag =
        decode_base64_tag(signature).ok_or(Refusal::MalformedHeader(LINE_SIGNATURE_HEADER))?;
    if channel_secret.is_empty() {
        return Err(Refusal::BadSignature);
    }
    let mut mac = hmac_sha256(channel_secret);
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| Refusal::BadSignature)
}

/// Signs like Slack does: `v0=` and the lowercase hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
pub fn slack_signature(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let tag = slack_mac(signing_secret, timestamp, body)
        .finalize()
        .into_bytes();
    let mut out = String::with_capacity(SLACK_VERSION_PREFIX.len() + 2 * tag.len());
    out.push_str(SLACK_VERSION_PREFIX);
    for byte in tag {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Signs like LINE does: the base64 HMAC-SHA256 of the body.
pub fn line_signature(channel_secret: &[u8], body: &[u8]) -> String {
    let mut mac = hmac_sha256(channel_secret);
    mac.update(body);
    BASE64.encode(mac.finalize().into_bytes())
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed, short ones padded), so this
    // cannot fail; `new_from_slice` only returns a `Result` to share `KeyInit`'s shape.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn slack_mac(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = hmac_sha256(signing_secret);
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// A unix time in seconds, as plain decimal digits: no sign, no spaces, no fraction.
fn parse_unix_seconds(value: &str, header: &'static str) -> Result<i64, Refusal> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::MalformedHeader(header));
    }
    value
        .parse::<i64>()
        .map_err(|_| Refusal::MalformedHeader(header))
}

/// Refuses a timestamp more than `window_secs` away from `now_unix`, in either direction.
fn check_window(signed_at: i64, now_unix: i64, window_secs: i64) -> Result<(), Refusal> {
    let age_secs = now_unix.saturating_sub(signed_at);
    if age_secs.unsigned_abs() > window_secs.max(0).unsigned_abs() {
        return Err(Refusal::StaleTimestamp {
            age_secs,
            limit_secs: window_secs,
        });
    }
    Ok(())
}

/// Decodes exactly `2 * N` lowercase hex digits into `N` bytes; anything else is `None`.
fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Decodes canonical, padded base64 of exactly one HMAC-SHA256 tag.
fn decode_base64_tag(text: &str) -> Option<[u8; HMAC_SHA256_LEN]> {
    // 32 bytes are 44 base64 characters with padding; checking first bounds the work.
    if text.len() != HMAC_SHA256_LEN.div_ceil(3) * 4 {
        return None;
    }
    BASE64.decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    // Slack's worked example, from "Verifying requests from Slack"
    // (https://api.slack.com/authentication/verifying-requests-from-slack).
    const SLACK_DOC_SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const SLACK_DOC_TIMESTAMP: &str = "1531420618";
    const SLACK_DOC_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SLACK_DOC_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const SLACK_DOC_NOW: i64 = 1_531_420_618;

    const WINDOW: i64 = 300;
    const NOW: i64 = 1_700_000_000;

    fn slack(ts: Option<&str>, sig: Option<&str>, body: &[u8], now: i64) -> Result<(), Refusal> {
        verify_slack(SLACK_DOC_SECRET, ts, sig, body, now, WINDOW)
    }

    /// Replaces the hex digit at `index` with another hex digit.
    fn other_hex_digit(text: &str, index: usize) -> String {
        let mut bytes = text.as_bytes().to_vec();
        bytes[index] = if bytes[index] == b'0' { b'1' } else { b'0' };
        String::from_utf8(bytes).unwrap()
    }

    fn signing_key(seed: u64) -> SigningKey {
        SigningKey::from_bytes(&SmallRng::seed_from_u64(seed).random::<[u8; 32]>())
    }

    fn discord_sign(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        let signature = key.sign(&message).to_bytes();
        signature.iter().map(|b| format!("{b:02x}")).collect()
    }

    // --- Slack ---------------------------------------------------------------------------

    #[test]
    fn slack_signature_matches_the_documented_example() {
        assert_eq!(
            slack_signature(SLACK_DOC_SECRET, SLACK_DOC_TIMESTAMP, SLACK_DOC_BODY),
            SLACK_DOC_SIGNATURE
        );
    }

    #[test]
    fn slack_documented_example_verifies() {
        assert_eq!(
            slack(
                Some(SLACK_DOC_TIMESTAMP),
                Some(SLACK_DOC_SIGNATURE),
                SLACK_DOC_BODY,
                SLACK_DOC_NOW
            ),
            Ok(())
        );
    }

    #[test]
    fn slack_refuses_uppercase_hex_so_each_signature_has_one_spelling() {
        // Slack sends lowercase. Were `V0=A211…` accepted too, the same request could be
        // replayed under a second spelling of its signature, past a cache keyed on it.
        let upper = format!("v0={}", SLACK_DOC_SIGNATURE[3..].to_ascii_uppercase());
        assert_eq!(
            slack(
                Some(SLACK_DOC_TIMESTAMP),
                Some(&upper),
                SLACK_DOC_BODY,
                SLACK_DOC_NOW
            ),
            Err(Refusal::MalformedHeader(SLACK_SIGNATURE_HEADER))
        );
    }

    #[test]
    fn slack_round_trip() {
        let ts = NOW.to_string();
        for body in [
            &b""[..],
            b"{\"type\":\"event_callback\"}",
            &[0xff, 0x00, 0x80],
        ] {
            let sig = slack_signature(SLACK_DOC_SECRET, &ts, body);
            assert_eq!(slack(Some(&ts), Some(&sig), body, NOW), Ok(()));
        }
    }

    #[test]
    fn slack_refuses_every_flipped_body_byte() {
        for index in 0..SLACK_DOC_BODY.len() {
            let mut body = SLACK_DOC_BODY.to_vec();
            body[index] ^= 0x01;
            assert_eq!(
                slack(
                    Some(SLACK_DOC_TIMESTAMP),
                    Some(SLACK_DOC_SIGNATURE),
                    &body,
                    SLACK_DOC_NOW
                ),
                Err(Refusal::BadSignature),
                "byte {index}"
            );
        }
    }

    #[test]
    fn slack_refuses_an_appended_or_truncated_body() {
        let mut longer = SLACK_DOC_BODY.to_vec();
        longer.push(b'&');
        let shorter = &SLACK_DOC_BODY[..SLACK_DOC_BODY.len() - 1];
        for body in [&longer[..], shorter] {
            assert_eq!(
                slack(
                    Some(SLACK_DOC_TIMESTAMP),
                    Some(SLACK_DOC_SIGNATURE),
                    body,
                    SLACK_DOC_NOW
                ),
                Err(Refusal::BadSignature)
            );
        }
    }

    #[test]
    fn slack_refuses_every_changed_signature_digit() {
        for index in 3..SLACK_DOC_SIGNATURE.len() {
            let sig = other_hex_digit(SLACK_DOC_SIGNATURE, index);
            assert_eq!(
                slack(
                    Some(SLACK_DOC_TIMESTAMP),
                    Some(&sig),
                    SLACK_DOC_BODY,
                    SLACK_DOC_NOW
                ),
                Err(Refusal::BadSignature),
                "digit {index}"
            );
        }
    }

    #[test]
    fn slack_refuses_a_changed_timestamp_within_the_window() {
        // The timestamp is signed: moving it by a second breaks the MAC even though the new
        // value is still fresh.
        let moved = (SLACK_DOC_NOW + 1).to_string();
        assert_eq!(
            slack(
                Some(&moved),
                Some(SLACK_DOC_SIGNATURE),
                SLACK_DOC_BODY,
                SLACK_DOC_NOW
            ),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn slack_refuses_another_secret() {
        let ts = NOW.to_string();
        let sig = slack_signature(b"another secret", &ts, b"body");
        assert_eq!(
            slack(Some(&ts), Some(&sig), b"body", NOW),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn slack_refuses_an_empty_secret_even_when_signed_with_it() {
        let ts = NOW.to_string();
        let sig = slack_signature(b"", &ts, b"body");
        assert_eq!(
            verify_slack(b"", Some(&ts), Some(&sig), b"body", NOW, WINDOW),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn slack_window_edges_are_inclusive() {
        for now in [NOW - WINDOW, NOW + WINDOW] {
            let ts = NOW.to_string();
            let sig = slack_signature(SLACK_DOC_SECRET, &ts, b"x");
            assert_eq!(slack(Some(&ts), Some(&sig), b"x", now), Ok(()), "now {now}");
        }
    }

    #[test]
    fn slack_refuses_stale_timestamps_in_both_directions() {
        let ts = NOW.to_string();
        let sig = slack_signature(SLACK_DOC_SECRET, &ts, b"x");
        // Received too late: the request is from the past.
        assert_eq!(
            slack(Some(&ts), Some(&sig), b"x", NOW + WINDOW + 1),
            Err(Refusal::StaleTimestamp {
                age_secs: WINDOW + 1,
                limit_secs: WINDOW
            })
        );
        // Received too early: the request claims to come from the future.
        assert_eq!(
            slack(Some(&ts), Some(&sig), b"x", NOW - WINDOW - 1),
            Err(Refusal::StaleTimestamp {
                age_secs: -(WINDOW + 1),
                limit_secs: WINDOW
            })
        );
    }

    #[test]
    fn slack_documented_example_is_stale_today() {
        assert!(matches!(
            slack(
                Some(SLACK_DOC_TIMESTAMP),
                Some(SLACK_DOC_SIGNATURE),
                SLACK_DOC_BODY,
                NOW
            ),
            Err(Refusal::StaleTimestamp { .. })
        ));
    }

    #[test]
    fn slack_extreme_timestamps_do_not_overflow() {
        let ts = "9223372036854775807"; // i64::MAX
        let sig = slack_signature(SLACK_DOC_SECRET, ts, b"x");
        assert!(matches!(
            verify_slack(
                SLACK_DOC_SECRET,
                Some(ts),
                Some(&sig),
                b"x",
                i64::MIN,
                i64::MAX
            ),
            Err(Refusal::StaleTimestamp { .. })
        ));
        assert!(matches!(
            slack(Some("0"), Some(SLACK_DOC_SIGNATURE), b"x", i64::MAX),
            Err(Refusal::StaleTimestamp { .. })
        ));
    }

    #[test]
    fn slack_missing_headers() {
        assert_eq!(
            slack(
                None,
                Some(SLACK_DOC_SIGNATURE),
                SLACK_DOC_BODY,
                SLACK_DOC_NOW
            ),
            Err(Refusal::MissingHeader(SLACK_TIMESTAMP_HEADER))
        );
        assert_eq!(
            slack(
                Some(SLACK_DOC_TIMESTAMP),
                None,
                SLACK_DOC_BODY,
                SLACK_DOC_NOW
            ),
            Err(Refusal::MissingHeader(SLACK_SIGNATURE_HEADER))
        );
    }

    #[test]
    fn slack_malformed_timestamps() {
        for ts in [
            "",
            " 1531420618",
            "1531420618 ",
            "+1531420618",
            "-1531420618",
            "1531420618.5",
            "1e9",
            "0x5b47a3ca",
            "１５３１４２０６１８", // full-width digits
            "99999999999999999999", // beyond i64
        ] {
            assert_eq!(
                slack(
                    Some(ts),
                    Some(SLACK_DOC_SIGNATURE),
                    SLACK_DOC_BODY,
                    SLACK_DOC_NOW
                ),
                Err(Refusal::MalformedHeader(SLACK_TIMESTAMP_HEADER)),
                "timestamp {ts:?}"
            );
        }
    }

    #[test]
    fn slack_malformed_signatures() {
        let hex = &SLACK_DOC_SIGNATURE[3..];
        let cases = [
            String::new(),
            hex.to_owned(),                // no version prefix
            format!("v1={hex}"),           // unknown version
            format!("V0={hex}"),           // prefix is case-sensitive
            format!("v0={}", &hex[..62]),  // one byte short
            format!("v0={hex}00"),         // one byte long
            format!("v0={}", &hex[..63]),  // odd length
            format!("v0={}g", &hex[..63]), // not hex
            format!("v0= {}", &hex[..63]), // space
            format!("v0={hex}\n"),         // trailing newline
            format!("v0=z{}", &hex[1..]),  // not hex, right length
        ];
        for sig in &cases {
            assert_eq!(
                slack(
                    Some(SLACK_DOC_TIMESTAMP),
                    Some(sig),
                    SLACK_DOC_BODY,
                    SLACK_DOC_NOW
                ),
                Err(Refusal::MalformedHeader(SLACK_SIGNATURE_HEADER)),
                "signature {sig:?}"
            );
        }
    }

    #[test]
    fn slack_malformed_signature_is_reported_before_a_stale_timestamp() {
        assert_eq!(
            slack(
                Some(SLACK_DOC_TIMESTAMP),
                Some("v0=zz"),
                SLACK_DOC_BODY,
                NOW
            ),
            Err(Refusal::MalformedHeader(SLACK_SIGNATURE_HEADER))
        );
    }

    // --- Discord -------------------------------------------------------------------------

    const BODY: &[u8] = br#"{"type":1,"id":"1234567890","application_id":"42"}"#;

    fn discord(
        key: &VerifyingKey,
        ts: Option<&str>,
        sig: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), Refusal> {
        verify_discord(key, ts, sig, body, now, WINDOW)
    }

    #[test]
    fn discord_round_trip() {
        let key = signing_key(1);
        let ts = NOW.to_string();
        for body in [&b""[..], BODY] {
            let sig = discord_sign(&key, &ts, body);
            assert_eq!(
                discord(&key.verifying_key(), Some(&ts), Some(&sig), body, NOW),
                Ok(())
            );
        }
    }

    #[test]
    fn discord_public_key_parses_what_the_portal_shows() {
        let key = signing_key(2);
        let hex: String = key
            .verifying_key()
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(discord_public_key(&hex), Ok(key.verifying_key()));
        assert_eq!(
            discord_public_key(&format!("  {}\n", hex.to_ascii_uppercase())),
            Ok(key.verifying_key())
        );
        let ts = NOW.to_string();
        let sig = discord_sign(&key, &ts, BODY);
        let parsed = discord_public_key(&hex).unwrap();
        assert_eq!(discord(&parsed, Some(&ts), Some(&sig), BODY, NOW), Ok(()));
    }

    #[test]
    fn discord_refuses_a_signature_by_another_key() {
        let ours = signing_key(3);
        let theirs = signing_key(4);
        let ts = NOW.to_string();
        let sig = discord_sign(&theirs, &ts, BODY);
        assert_eq!(
            discord(&ours.verifying_key(), Some(&ts), Some(&sig), BODY, NOW),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn discord_refuses_every_flipped_body_byte() {
        let key = signing_key(5);
        let ts = NOW.to_string();
        let sig = discord_sign(&key, &ts, BODY);
        for index in 0..BODY.len() {
            let mut body = BODY.to_vec();
            body[index] ^= 0x01;
            assert_eq!(
                discord(&key.verifying_key(), Some(&ts), Some(&sig), &body, NOW),
                Err(Refusal::BadSignature),
                "byte {index}"
            );
        }
    }

    #[test]
    fn discord_refuses_every_changed_signature_digit() {
        let key = signing_key(6);
        let ts = NOW.to_string();
        let sig = discord_sign(&key, &ts, BODY);
        for index in 0..sig.len() {
            let changed = other_hex_digit(&sig, index);
            assert_eq!(
                discord(&key.verifying_key(), Some(&ts), Some(&changed), BODY, NOW),
                Err(Refusal::BadSignature),
                "digit {index}"
            );
        }
    }

    #[test]
    fn discord_refuses_a_changed_timestamp_within_the_window() {
        let key = signing_key(7);
        let sig = discord_sign(&key, &NOW.to_string(), BODY);
        let moved = (NOW + 1).to_string();
        assert_eq!(
            discord(&key.verifying_key(), Some(&moved), Some(&sig), BODY, NOW),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn discord_refuses_moving_bytes_between_timestamp_and_body() {
        // The signed message is `timestamp + body` with no separator, so moving a digit from
        // the body into the timestamp keeps the signed bytes. The window catches it: the
        // timestamp gains a digit and lands centuries away.
        let key = signing_key(8);
        let ts = NOW.to_string();
        let body = b"7{}";
        let sig = discord_sign(&key, &ts, body);
        let shifted_ts = format!("{ts}7");
        assert!(matches!(
            discord(
                &key.verifying_key(),
                Some(&shifted_ts),
                Some(&sig),
                b"{}",
                NOW
            ),
            Err(Refusal::StaleTimestamp { .. })
        ));
    }

    #[test]
    fn discord_refuses_stale_timestamps_in_both_directions() {
        let key = signing_key(9);
        let ts = NOW.to_string();
        let sig = discord_sign(&key, &ts, BODY);
        let vk = key.verifying_key();
        assert_eq!(
            discord(&vk, Some(&ts), Some(&sig), BODY, NOW + WINDOW),
            Ok(())
        );
        assert_eq!(
            discord(&vk, Some(&ts), Some(&sig), BODY, NOW - WINDOW),
            Ok(())
        );
        assert_eq!(
            discord(&vk, Some(&ts), Some(&sig), BODY, NOW + WINDOW + 1),
            Err(Refusal::StaleTimestamp {
                age_secs: WINDOW + 1,
                limit_secs: WINDOW
            })
        );
        assert_eq!(
            discord(&vk, Some(&ts), Some(&sig), BODY, NOW - WINDOW - 1),
            Err(Refusal::StaleTimestamp {
                age_secs: -(WINDOW + 1),
                limit_secs: WINDOW
            })
        );
    }

    #[test]
    fn discord_missing_and_malformed_headers() {
        let key = signing_key(10);
        let vk = key.verifying_key();
        let ts = NOW.to_string();
        let sig = discord_sign(&key, &ts, BODY);
        assert_eq!(
            discord(&vk, None, Some(&sig), BODY, NOW),
            Err(Refusal::MissingHeader(DISCORD_TIMESTAMP_HEADER))
        );
        assert_eq!(
            discord(&vk, Some(&ts), None, BODY, NOW),
            Err(Refusal::MissingHeader(DISCORD_SIGNATURE_HEADER))
        );
        for bad_ts in [
            "",
            "now",
            "-1",
            "+1700000000",
            "1700000000.0",
            " 1700000000",
        ] {
            assert_eq!(
                discord(&vk, Some(bad_ts), Some(&sig), BODY, NOW),
                Err(Refusal::MalformedHeader(DISCORD_TIMESTAMP_HEADER)),
                "timestamp {bad_ts:?}"
            );
        }
        let bad_sigs = [
            String::new(),
            sig[..126].to_owned(),
            format!("{sig}00"),
            sig[..127].to_owned(),
            format!("{}x", &sig[..127]),
            format!("0x{}", &sig[..126]),
            sig.to_ascii_uppercase(),
        ];
        for bad_sig in &bad_sigs {
            assert_eq!(
                discord(&vk, Some(&ts), Some(bad_sig), BODY, NOW),
                Err(Refusal::MalformedHeader(DISCORD_SIGNATURE_HEADER)),
                "signature {bad_sig:?}"
            );
        }
    }

    #[test]
    fn discord_public_key_refuses_bad_text() {
        let good = "0".repeat(62) + "01";
        assert!(discord_public_key("").is_err());
        assert!(discord_public_key(&good[..62]).is_err());
        assert!(discord_public_key(&format!("{good}00")).is_err());
        assert!(discord_public_key(&format!("{}zz", &good[..62])).is_err());
    }

    #[test]
    fn discord_public_key_refuses_small_order_points() {
        // The identity point (y = 1) and the point of order 2 (y = -1): anyone can produce
        // signatures that lax verification accepts under such keys.
        let identity = format!("01{}", "00".repeat(31));
        let order_two = format!("ec{}7f", "ff".repeat(30));
        for hex in [identity, order_two] {
            let err = discord_public_key(&hex).unwrap_err();
            assert!(err.contains("small-order"), "{hex}: {err}");
        }
    }

    #[test]
    fn discord_strict_verification_refuses_a_small_order_key() {
        // Even if such a key reached `verify_discord` without `discord_public_key`,
        // `verify_strict` refuses it; with the identity key and R = identity, s = 0, lax
        // verification would accept any message.
        let identity = VerifyingKey::from_bytes(&{
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        })
        .unwrap();
        let mut forged = [0u8; 64];
        forged[0] = 1; // R = identity, s = 0
        let sig: String = forged.iter().map(|b| format!("{b:02x}")).collect();
        let ts = NOW.to_string();
        assert_eq!(
            discord(&identity, Some(&ts), Some(&sig), BODY, NOW),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn discord_refuses_a_non_canonical_s() {
        // s + L (the group order) verifies under lax rules in some libraries; it must not here.
        let key = signing_key(11);
        let ts = NOW.to_string();
        let sig_hex = discord_sign(&key, &ts, BODY);
        let mut sig: [u8; 64] = decode_hex(&sig_hex).unwrap();
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x10,
        ];
        let mut carry = 0u16;
        for (s, l) in sig[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        let malleated: String = sig.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            discord(&key.verifying_key(), Some(&ts), Some(&malleated), BODY, NOW),
            Err(Refusal::BadSignature)
        );
    }

    // --- LINE ----------------------------------------------------------------------------

    const LINE_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const LINE_BODY: &[u8] =
        br#"{"destination":"U0","events":[{"type":"message","webhookEventId":"01H"}]}"#;

    #[test]
    fn line_signature_is_base64_of_hmac_sha256() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        assert_eq!(
            line_signature(b"Jefe", b"what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }

    #[test]
    fn line_round_trip() {
        for body in [&b""[..], LINE_BODY] {
            let sig = line_signature(LINE_SECRET, body);
            assert_eq!(sig.len(), 44);
            assert_eq!(verify_line(LINE_SECRET, Some(&sig), body), Ok(()));
        }
    }

    #[test]
    fn line_refuses_tampering() {
        let sig = line_signature(LINE_SECRET, LINE_BODY);
        for index in 0..LINE_BODY.len() {
            let mut body = LINE_BODY.to_vec();
            body[index] ^= 0x01;
            assert_eq!(
                verify_line(LINE_SECRET, Some(&sig), &body),
                Err(Refusal::BadSignature),
                "byte {index}"
            );
        }
        let mut tag: [u8; 32] = BASE64.decode(&sig).unwrap().try_into().unwrap();
        for index in 0..tag.len() {
            tag[index] ^= 0x80;
            let changed = BASE64.encode(tag);
            assert_eq!(
                verify_line(LINE_SECRET, Some(&changed), LINE_BODY),
                Err(Refusal::BadSignature),
                "tag byte {index}"
            );
            tag[index] ^= 0x80;
        }
        assert_eq!(
            verify_line(b"another secret", Some(&sig), LINE_BODY),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify_line(b"", Some(&line_signature(b"", LINE_BODY)), LINE_BODY),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn line_missing_and_malformed_headers() {
        assert_eq!(
            verify_line(LINE_SECRET, None, LINE_BODY),
            Err(Refusal::MissingHeader(LINE_SIGNATURE_HEADER))
        );
        let sig = line_signature(LINE_SECRET, LINE_BODY);
        let unpadded = sig.trim_end_matches('=').to_owned();
        let url_safe = BASE64
            .encode([0xfb; 32])
            .replace('+', "-")
            .replace('/', "_");
        // The last character before the padding carries 2 unused bits; setting them makes
        // a non-canonical encoding of the same bytes.
        let mut non_canonical = sig.clone().into_bytes();
        non_canonical[42] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            [usize::from(base64_index(non_canonical[42]) ^ 1)];
        let non_canonical = String::from_utf8(non_canonical).unwrap();
        let cases = [
            String::new(),
            unpadded,
            format!("{sig}="),
            format!("{sig}\n"),
            format!(" {}", &sig[1..]),
            url_safe,
            BASE64.encode([0u8; 31]),
            BASE64.encode([0u8; 33]),
            hex_of(&[0u8; 32]),
            non_canonical,
        ];
        for bad in &cases {
            assert_eq!(
                verify_line(LINE_SECRET, Some(bad), LINE_BODY),
                Err(Refusal::MalformedHeader(LINE_SIGNATURE_HEADER)),
                "signature {bad:?}"
            );
        }
    }

    fn base64_index(c: u8) -> u8 {
        match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        }
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn refusals_read_well() {
        assert_eq!(
            Refusal::MissingHeader(SLACK_SIGNATURE_HEADER).to_string(),
            "missing header X-Slack-Signature"
        );
        assert_eq!(
            Refusal::StaleTimestamp {
                age_secs: -301,
                limit_secs: 300
            }
            .to_string(),
            "the request timestamp is -301 s away from now (limit 300 s)"
        );
    }
}
