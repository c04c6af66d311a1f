//! The key that seals the web console's session cookies (ChaCha20-Poly1305):
//! a cookie sealed by one console replica opens on every replica holding the
//! same key, and one altered or sealed under another key opens nowhere.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const KEY_BYTES: usize = 32;

pub struct SessionKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

impl SessionKey {
    /// The key from its 64 hexadecimal characters (`openssl rand -hex 32`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = crate::hex::decode(text).filter(|b| b.len() == KEY_BYTES);
        let bytes = bytes.ok_or_else(|| {
            format!(
                "must be {} hexadecimal characters (`openssl rand -hex 32`)",
                KEY_BYTES * 2
            )
        })?;
        let distinct: std::collections::BTreeSet<&u8> = bytes.iter().collect();
        if distinct.len() < 8 {
            return Err("is not random; generate one with `openssl rand -hex 32`".to_owned());
        }
        Self::from_bytes(&bytes)
    }

    /// A key of this process's own.
    pub fn random() -> Result<Self, String> {
        let mut bytes = [0u8; KEY_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| "the system's random source failed".to_owned())?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .map_err(|_| "is not a ChaCha20-Poly1305 key".to_owned())?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// `plain` sealed under a fresh random nonce: the nonce, then the sealed
    /// bytes and their tag.
    pub fn seal(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        let mut sealed = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Some(out)
    }

    /// What [`SessionKey::seal`] sealed, if this key sealed it unaltered.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978";

    #[test]
    fn what_one_replica_seals_another_with_the_key_opens_and_nothing_else_does() {
        let a = SessionKey::parse(KEY).expect("key");
        let b = SessionKey::parse(KEY).expect("key");
        let sealed = a.seal(b"the session").expect("sealed");
        assert_eq!(b.open(&sealed).as_deref(), Some(&b"the session"[..]));
        // Sealed twice, differently (a fresh nonce each time).
        assert_ne!(a.seal(b"the session"), Some(sealed.clone()));
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(b.open(&altered), None);
        let other = SessionKey::random().expect("key");
        assert_eq!(other.open(&sealed), None);
        assert_eq!(b.open(&sealed[..5]), None);
    }

    #[test]
    fn a_key_that_is_not_one_is_named() {
        assert!(
            SessionKey::parse("abc")
                .expect_err("short")
                .contains("64 hexadecimal")
        );
        assert!(
            SessionKey::parse(&"zz".repeat(32))
                .expect_err("not hex")
                .contains("64 hexadecimal")
        );
        assert!(
            SessionKey::parse(&"00".repeat(32))
                .expect_err("zeros")
                .contains("not random")
        );
    }
}
