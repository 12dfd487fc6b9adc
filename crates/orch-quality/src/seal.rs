//! Sealed cache entries: a cached report counts only when it carries an HMAC-SHA256 made with
//! a key the checked code never sees, so an agent that can write the cache directory still
//! cannot forge a passing verdict.

use std::io::Write as _;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key that seals cache entries. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct CacheSeal {
    key: [u8; 32],
}

impl std::fmt::Debug for CacheSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheSeal(..)")
    }
}

impl CacheSeal {
    /// A seal with this key.
    pub fn new(key: [u8; 32]) -> CacheSeal {
        CacheSeal { key }
    }

    /// A fresh random key from the operating system.
    pub fn random() -> std::io::Result<CacheSeal> {
        let mut key = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut key))?;
        Ok(CacheSeal { key })
    }

    /// The key kept in `path` (created with mode 0600, 32 random bytes, when missing).
    /// Keep the file where the code being checked cannot read it.
    pub fn load_or_create(path: &Path) -> std::io::Result<CacheSeal> {
        match std::fs::read(path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                return Ok(CacheSeal { key });
            }
            Ok(_) => {
                // A key of the wrong length was not written by us: replace it, which also
                // invalidates every entry sealed with whatever it was.
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let seal = CacheSeal::random()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&seal.key)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        // Another process may have won the race: everyone uses what is on disk.
        match std::fs::read(path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                Ok(CacheSeal { key })
            }
            _ => Ok(seal),
        }
    }

    /// The seal of `data`, hex.
    pub(crate) fn sign(&self, data: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(data);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `seal` (hex) is the seal of `data`; compared in constant time.
    pub(crate) fn verify(&self, data: &[u8], seal: &str) -> bool {
        let Some(bytes) = decode_hex(seal) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(data);
        mac.verify_slice(&bytes).is_ok()
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_verify_only_with_the_key_and_the_data() {
        let a = CacheSeal::new([1; 32]);
        let b = CacheSeal::new([2; 32]);
        let seal = a.sign(b"report");
        assert!(a.verify(b"report", &seal));
        assert!(!a.verify(b"report!", &seal));
        assert!(!b.verify(b"report", &seal));
        assert!(!a.verify(b"report", "zz"));
        assert!(!a.verify(b"report", ""));
        assert_eq!(format!("{a:?}"), "CacheSeal(..)");
    }

    #[test]
    fn the_key_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret/cache.key");
        let one = CacheSeal::load_or_create(&path).unwrap();
        let two = CacheSeal::load_or_create(&path).unwrap();
        assert_eq!(one.key, two.key);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, b"short").unwrap();
        let three = CacheSeal::load_or_create(&path).unwrap();
        assert_ne!(three.key, one.key);
    }
}
