//! Secrets of accounts: argon2 password hashes, random session / API tokens
//! and their SHA-256 digests (only digests are stored).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters succeeds")
        .to_string()
}

/// Whether `password` matches a stored PHC hash (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether `password` matches `stored`, an account's hash. Without an
/// account (`None`) it checks `password` against a decoy hash and answers
/// false: an unknown username costs one password check, as a wrong password
/// does, so the time of an answer does not tell which usernames exist.
pub fn check_password(password: &str, stored: Option<&str>) -> bool {
    match stored {
        Some(hash) => verify_password(password, hash),
        None => {
            let _ = verify_password(password, DECOY_HASH);
            false
        }
    }
}

/// The hash of a random secret nobody kept, made by [`hash_password`] (so
/// checking it costs what checking an account's does). A constant rather
/// than made at start-up: the first unknown username then costs no extra
/// hashing that would set it apart, and starting costs nothing.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Ta6SWF1tQtI/JM1oJL46mA$TwQrnfUFSOwfMdqFWK/hMChca84EM0BMeMizqXYKRv4";

/// Compares two secrets (tokens, CSRF values) in time that does not depend
/// on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A new random token: 32 bytes as 64 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// The SHA-256 digest of a token, as stored (tokens are random, so a fast
/// hash is enough; passwords use argon2).
pub fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A readable random password for the first staff account of `make run`.
pub fn new_password() -> String {
    new_token()[..20].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify() {
        let h = hash_password("s3cret");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("S3cret", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn an_unknown_account_costs_a_check_as_dear_as_a_real_one() {
        let real = hash_password("s3cret");
        let (real, decoy) = (
            PasswordHash::new(&real).unwrap(),
            PasswordHash::new(DECOY_HASH).unwrap(),
        );
        // Same algorithm, version and parameters as a new hash: the same
        // work per check, also after argon2's defaults change.
        assert_eq!(decoy.algorithm, real.algorithm);
        assert_eq!(decoy.version, real.version);
        assert_eq!(decoy.params, real.params);
        assert!(!check_password("", None));
        assert!(!check_password("s3cret", None));
        assert!(check_password("s3cret", Some(&hash_password("s3cret"))));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[test]
    fn tokens_are_random_and_digests_stable() {
        assert_ne!(new_token(), new_token());
        assert_eq!(token_digest("a"), token_digest("a"));
        assert_eq!(token_digest("a").len(), 64);
    }
}
