//! Console passwords, kept only as PBKDF2-HMAC-SHA256 hashes, each with a
//! salt of its own: `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`, the
//! line `aftercare hash-password` prints for `auth.tokens[].password_hash`.

use std::num::NonZeroU32;

use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};

const ALGORITHM: pbkdf2::Algorithm = pbkdf2::PBKDF2_HMAC_SHA256;
const SCHEME: &str = "pbkdf2-sha256";
/// The iterations a new hash gets (OWASP's figure for PBKDF2-HMAC-SHA256).
pub const ITERATIONS: u32 = 600_000;
/// Fewer than this and a stolen configuration is too cheap to guess through.
pub const MIN_ITERATIONS: u32 = 100_000;
const SALT_BYTES: usize = 16;
const HASH_BYTES: usize = 32;
/// Shorter passwords are refused when hashing.
pub const MIN_LENGTH: usize = 10;

/// A stored password hash, read and checked.
#[derive(Clone)]
pub struct PasswordHash {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordHash({SCHEME}, {} iterations)", self.iterations)
    }
}

impl PasswordHash {
    /// The hash of `password` under a fresh random salt.
    pub fn new(password: &str, iterations: u32) -> Result<Self, String> {
        if password.chars().count() < MIN_LENGTH {
            return Err(format!("a password needs at least {MIN_LENGTH} characters"));
        }
        let iterations = NonZeroU32::new(iterations.max(MIN_ITERATIONS))
            .ok_or_else(|| "iterations must be positive".to_owned())?;
        let mut salt = vec![0u8; SALT_BYTES];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| "the system's random source failed".to_owned())?;
        let mut hash = vec![0u8; HASH_BYTES];
        pbkdf2::derive(ALGORITHM, iterations, &salt, password.as_bytes(), &mut hash);
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }

    /// Reads a stored hash, saying what is wrong with one that is not.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.trim().split('$').collect();
        let [scheme, iterations, salt, hash] = parts[..] else {
            return Err(format!(
                "must be `{SCHEME}$<iterations>$<salt>$<hash>` as `aftercare hash-password` prints it"
            ));
        };
        if scheme != SCHEME {
            return Err(format!("{scheme:?} is not a known scheme; use {SCHEME}"));
        }
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| format!("{iterations:?} is not a number of iterations"))?;
        if iterations < MIN_ITERATIONS {
            return Err(format!(
                "{iterations} iterations are too few; at least {MIN_ITERATIONS}"
            ));
        }
        let salt = crate::hex::decode(salt).ok_or("the salt is not hexadecimal")?;
        let hash = crate::hex::decode(hash).ok_or("the hash is not hexadecimal")?;
        if salt.len() < SALT_BYTES || hash.len() != HASH_BYTES {
            return Err(format!(
                "needs a salt of at least {SALT_BYTES} bytes and a hash of {HASH_BYTES}"
            ));
        }
        Ok(Self {
            iterations: NonZeroU32::new(iterations).ok_or("iterations must be positive")?,
            salt,
            hash,
        })
    }

    /// How many rounds checking a password against this hash costs.
    pub fn iterations(&self) -> u32 {
        self.iterations.get()
    }

    /// Whether `password` is the one hashed (compared in constant time).
    pub fn verify(&self, password: &str) -> bool {
        pbkdf2::verify(
            ALGORITHM,
            self.iterations,
            &self.salt,
            password.as_bytes(),
            &self.hash,
        )
        .is_ok()
    }
}

impl std::fmt::Display for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{SCHEME}${}${}${}",
            self.iterations,
            crate::hex::encode(&self.salt),
            crate::hex::encode(&self.hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_reads_back_and_knows_its_password_only() {
        let hash = PasswordHash::new("correct horse battery", MIN_ITERATIONS).expect("hash");
        let text = hash.to_string();
        assert!(text.starts_with("pbkdf2-sha256$100000$"), "{text}");
        let read = PasswordHash::parse(&text).expect("reads back");
        assert!(read.verify("correct horse battery"));
        assert!(!read.verify("correct horse batterY"));
        assert!(!read.verify(""));
        // A fresh salt each time: the same password hashes differently.
        let again = PasswordHash::new("correct horse battery", MIN_ITERATIONS).expect("hash");
        assert_ne!(text, again.to_string());
        // The debug form shows no salt or hash.
        assert!(!format!("{read:?}").contains(&text[25..40]));
    }

    #[test]
    fn a_bad_hash_or_a_short_password_is_named() {
        for (text, says) in [
            ("hunter2", "must be `pbkdf2-sha256$"),
            ("md5$1$aa$bb", "not a known scheme"),
            (
                "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$00",
                "too few",
            ),
            ("pbkdf2-sha256$many$00$00", "not a number"),
            ("pbkdf2-sha256$100000$zz$00", "salt is not hexadecimal"),
            ("pbkdf2-sha256$100000$0011$0011", "needs a salt"),
        ] {
            let err = PasswordHash::parse(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
        let short = PasswordHash::new("short", MIN_ITERATIONS).expect_err("too short");
        assert!(short.contains("at least 10 characters"), "{short}");
    }
}
