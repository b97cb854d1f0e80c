//! Personal data at rest (个人信息加密存储): encryption of ID numbers and phone numbers, blind indexes to
//! find them again, and a [`Sensitive`] wrapper that can only be printed masked (脱敏).
//!
//! - Stored form: `v1:<base64url without padding of (12-byte nonce ‖ AES-256-GCM ciphertext ‖ 16-byte tag)>`,
//!   with a fresh random nonce for every encryption, so equal values do not look equal at rest.
//! - Lookup: [`PiiCipher::blind_index`] is an HMAC-SHA256 keyed by a subkey derived from the same key, one
//!   per kind of value, so "is this ID number already an applicant?" needs no decryption of every row.
//! - Masking: phone numbers keep the first 3 and last 4 digits (`138****1234`) and ID numbers the first 4
//!   and last 4 characters (`3701**********1234`), by [`mask_phone`] and [`mask_id_number`] of the shared
//!   contracts.
//! - Unified social credit codes (统一社会信用代码) are **not** personal data: a legal person's or other
//!   organisation's code is printed on its business licence and published in the national enterprise credit
//!   information publicity system (国家企业信用信息公示系统). They are neither encrypted nor masked, and no
//!   `mask_credit_code` exists; issue 3 asks for ID numbers and phone numbers only.

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload, rand_core::RngCore},
};
pub use bangban_contracts::pii::{mask_id_number, mask_phone};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Version tag of the stored form written by [`PiiCipher::encrypt`] (密文格式版本).
pub const STORED_VERSION: &str = "v1";

/// Length in bytes of a PII key (密钥长度): AES-256.
pub const KEY_LEN: usize = 32;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Associated data bound into every v1 ciphertext, so a ciphertext cannot be passed off as another format.
const AAD_V1: &[u8] = b"bangban/pii/v1";

/// Label from which the blind-index subkey is derived: `HMAC-SHA256(key, label)`.
const INDEX_KEY_LABEL: &[u8] = b"bangban/pii/blind-index/v1";

/// Label from which the development key is derived: `HMAC-SHA256(secret, label)`.
const DEVELOPMENT_KEY_LABEL: &[u8] = b"bangban/pii/development-key/v1";

/// Why a key could not be loaded or a stored value could not be decrypted (个人信息加解密错误).
///
/// No variant carries the plaintext, the key or the stored value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    /// The configured key is not base64 of exactly 32 bytes (密钥无效).
    #[error("the PII key must be 32 bytes in base64: {0}")]
    InvalidKey(&'static str),
    /// The stored value does not start with a version this build reads (未知的密文版本).
    #[error("the stored value has no known version tag (expected \"{STORED_VERSION}:\")")]
    UnknownVersion,
    /// The stored value is not base64url, or too short to hold a nonce and a tag (密文格式错误).
    #[error("the stored value is malformed")]
    Malformed,
    /// Authentication failed: the value was altered, or it was encrypted with another key (密文被篡改或密钥不符).
    #[error("the stored value could not be decrypted: it was altered or encrypted with another key")]
    Undecryptable,
}

/// Encrypts, decrypts and blind-indexes personal data with one 32-byte key (个人信息加密器).
///
/// The key comes from configuration ([`PiiCipher::from_base64_key`]). AES-256-GCM uses the key itself;
/// blind indexes use a subkey derived from it, so an index never reveals anything about the encryption key.
#[derive(Clone)]
pub struct PiiCipher {
    aead: Aes256Gcm,
    index_key: [u8; 32],
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiiCipher").finish_non_exhaustive()
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

impl PiiCipher {
    /// A cipher from the raw 32-byte key (密钥).
    pub fn from_key(key: &[u8; KEY_LEN]) -> Self {
        Self { aead: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)), index_key: hmac_sha256(key, &[INDEX_KEY_LABEL]) }
    }

    /// A cipher from the configured key: base64 of exactly 32 bytes, standard or URL-safe alphabet, with or
    /// without padding, surrounding whitespace ignored (e.g. the output of `openssl rand -base64 32`).
    pub fn from_base64_key(key: &str) -> Result<Self, PiiError> {
        let compact = key.trim().trim_end_matches('=');
        if compact.is_empty() {
            return Err(PiiError::InvalidKey("the key is empty"));
        }
        let standard: String = compact
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        let bytes = STANDARD_NO_PAD.decode(standard).map_err(|_| PiiError::InvalidKey("the key is not base64"))?;
        let key: [u8; KEY_LEN] =
            bytes.try_into().map_err(|_| PiiError::InvalidKey("the key does not decode to 32 bytes"))?;
        Ok(Self::from_key(&key))
    }

    /// **Development and tests only (仅限开发测试).** A cipher whose key is `HMAC-SHA256(secret, label)` for a
    /// fixed label, so a local setup works without configuring a key. A secret that is short, guessable or
    /// shared with another purpose makes every stored ID and phone number readable: production must
    /// configure a random key through [`PiiCipher::from_base64_key`].
    pub fn derive_for_development(secret: &[u8]) -> Self {
        Self::from_key(&hmac_sha256(secret, &[DEVELOPMENT_KEY_LABEL]))
    }

    /// A fresh random key in standard base64 (32 bytes from the operating system), for configuration.
    pub fn generate_base64_key() -> String {
        let mut key = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut key);
        base64::engine::general_purpose::STANDARD.encode(key)
    }

    /// Encrypts a value for storage (加密存储): `v1:<base64url-nopad(nonce ‖ ciphertext ‖ tag)>` with
    /// AES-256-GCM and a random 12-byte nonce. Two encryptions of the same value differ.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .aead
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: AAD_V1 })
            .expect("AES-GCM encrypts any text shorter than 64 GiB");
        let mut payload = Vec::with_capacity(NONCE_LEN + sealed.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&sealed);
        format!("{STORED_VERSION}:{}", URL_SAFE_NO_PAD.encode(payload))
    }

    /// Decrypts a value written by [`PiiCipher::encrypt`] (解密). Refuses unknown versions, malformed values,
    /// and any value that was altered or encrypted with another key.
    pub fn decrypt(&self, stored: &str) -> Result<String, PiiError> {
        let encoded = stored
            .strip_prefix(STORED_VERSION)
            .and_then(|rest| rest.strip_prefix(':'))
            .ok_or(PiiError::UnknownVersion)?;
        let payload = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| PiiError::Malformed)?;
        if payload.len() < NONCE_LEN + TAG_LEN {
            return Err(PiiError::Malformed);
        }
        let (nonce, sealed) = payload.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at the nonce's length");
        let plain = self
            .aead
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: AAD_V1 })
            .map_err(|_| PiiError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| PiiError::Malformed)
    }

    /// The blind index (盲索引) of a value: lower-case hex of `HMAC-SHA256(k_kind, value)`, where
    /// `k_kind = HMAC-SHA256(k_index, kind)` and `k_index` is derived from the key.
    ///
    /// Equal values of one kind give equal indexes, so a stored value can be found without decrypting;
    /// different `kind`s (`"id_number"`, `"phone"`) give unrelated indexes. Pass the **normalised** value
    /// (what the `identity` validators return), or the same number written two ways will not match.
    pub fn blind_index(&self, kind: &str, normalised_value: &str) -> String {
        let kind_key = hmac_sha256(&self.index_key, &[kind.as_bytes()]);
        hex(&hmac_sha256(&kind_key, &[normalised_value.as_bytes()]))
    }
}

/// A personal value (敏感个人信息: ID number, phone number) that prints only masked.
///
/// `Debug` and `Display` show the masked form, so logging or formatting a `Sensitive` by accident never
/// writes the raw value; it has no `Serialize` for the same reason. [`Sensitive::expose`] gives the raw
/// value where it is truly needed (encryption, the audited reveal).
///
/// Masking follows the value's shape: 11 digits are masked as a phone number (`138****1234`), 18
/// characters as an ID number (`3701**********1234`), anything else as `****` (not even its length shows).
/// Wrap normalised values.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a raw value.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The raw value (原文). Every call site is a place where personal data leaves its wrapper.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The raw value, consuming the wrapper.
    pub fn into_exposed(self) -> String {
        self.0
    }

    /// The masked form (脱敏形式), as `Debug` and `Display` print it.
    pub fn masked(&self) -> String {
        let len = self.0.chars().count();
        if len == 11 && self.0.bytes().all(|b| b.is_ascii_digit()) {
            mask_phone(&self.0)
        } else if len == 18 {
            mask_id_number(&self.0)
        } else {
            "****".to_owned()
        }
    }
}

impl From<String> for Sensitive {
    fn from(raw: String) -> Self {
        Self(raw)
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Sensitive").field(&self.masked()).finish()
    }
}

impl std::fmt::Display for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

/// The key for personal data at rest: `pii.key`, or in development one generated once into
/// `<data_dir>/dev-pii-key` (so restarts read what earlier runs wrote).
pub fn cipher_from_settings(settings: &crate::Settings) -> anyhow::Result<PiiCipher> {
    use secrecy::ExposeSecret;
    if let Some(key) = &settings.pii.key {
        return PiiCipher::from_base64_key(key.expose_secret()).map_err(|e| anyhow::anyhow!("pii.key: {e}"));
    }
    if settings.auth.mode != crate::config::AuthMode::Development && !settings.allow_insecure_dev {
        anyhow::bail!("pii.key (BANGBAN__PII__KEY, 32 bytes base64) is required outside development mode");
    }
    let path = settings.data_dir.join("dev-pii-key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return PiiCipher::from_base64_key(existing.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    let key = PiiCipher::generate_base64_key();
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp)?;
        f.write_all(key.as_bytes())?;
        f.sync_all()?;
    }
    // Another process may have written one meanwhile: the first link wins, everyone reads it.
    let _ = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    let key = std::fs::read_to_string(&path)?;
    tracing::info!(path = %path.display(), "generated a development key for personal data");
    PiiCipher::from_base64_key(key.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base64 of the 32 bytes 0x00, 0x01, …, 0x1f (a test key, never a real one).
    const TEST_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn cipher() -> PiiCipher {
        PiiCipher::from_base64_key(TEST_KEY).unwrap()
    }

    fn decode(stored: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(stored.strip_prefix("v1:").unwrap()).unwrap()
    }

    fn encode(payload: &[u8]) -> String {
        format!("v1:{}", URL_SAFE_NO_PAD.encode(payload))
    }

    #[test]
    fn round_trip() {
        let c = cipher();
        for plain in ["13812341234", "11010519491231002X", "", "滨州市 张三 +86"] {
            let stored = c.encrypt(plain);
            assert_eq!(c.decrypt(&stored).unwrap(), plain);
        }
    }

    #[test]
    fn stored_form_is_versioned_base64url_of_nonce_ciphertext_and_tag() {
        let stored = cipher().encrypt("13812341234");
        assert!(stored.starts_with("v1:"));
        let encoded = &stored[3..];
        assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{stored}");
        assert_eq!(decode(&stored).len(), NONCE_LEN + "13812341234".len() + TAG_LEN);
        assert!(!stored.contains("13812341234"));
    }

    #[test]
    fn a_value_stored_in_the_v1_format_stays_readable() {
        // Made independently of this code (Python `cryptography`: AESGCM(TEST_KEY).encrypt(nonce = bytes 100..112,
        // b"13812341234", aad = b"bangban/pii/v1"), then "v1:" + base64url without padding of nonce ‖ sealed).
        // A change of format, associated data or key handling would make stored values unreadable.
        let stored = "v1:ZGVmZ2hpamtsbW5veSjmV0vaYq8MUWveQHMR0a0E_f1tL8DDpiLi";
        assert_eq!(cipher().decrypt(stored).unwrap(), "13812341234");
    }

    #[test]
    fn two_encryptions_of_one_value_differ() {
        let c = cipher();
        let a = c.encrypt("11010519491231002X");
        let b = c.encrypt("11010519491231002X");
        assert_ne!(a, b);
        assert_ne!(decode(&a)[..NONCE_LEN], decode(&b)[..NONCE_LEN]);
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let c = cipher();
        let payload = decode(&c.encrypt("13812341234"));
        for i in 0..payload.len() {
            let mut altered = payload.clone();
            altered[i] ^= 0x01;
            assert_eq!(c.decrypt(&encode(&altered)), Err(PiiError::Undecryptable), "byte {i}");
        }
        // Cut off, or extended.
        assert_eq!(c.decrypt(&encode(&payload[..payload.len() - 1])), Err(PiiError::Undecryptable));
        let mut longer = payload.clone();
        longer.push(0);
        assert_eq!(c.decrypt(&encode(&longer)), Err(PiiError::Undecryptable));
    }

    #[test]
    fn another_key_cannot_decrypt() {
        let stored = cipher().encrypt("13812341234");
        let other = PiiCipher::derive_for_development(b"another secret");
        assert_eq!(other.decrypt(&stored), Err(PiiError::Undecryptable));
    }

    #[test]
    fn unknown_versions_and_malformed_values_are_refused() {
        let c = cipher();
        let stored = c.encrypt("13812341234");
        let body = &stored[3..];
        assert_eq!(c.decrypt(&format!("v2:{body}")), Err(PiiError::UnknownVersion));
        assert_eq!(c.decrypt(body), Err(PiiError::UnknownVersion));
        assert_eq!(c.decrypt("13812341234"), Err(PiiError::UnknownVersion));
        assert_eq!(c.decrypt("v1"), Err(PiiError::UnknownVersion));
        assert_eq!(c.decrypt("v1:"), Err(PiiError::Malformed));
        assert_eq!(c.decrypt("v1:!!!!"), Err(PiiError::Malformed));
        assert_eq!(c.decrypt(&format!("v1:{body}=")), Err(PiiError::Malformed));
        assert_eq!(c.decrypt(&encode(&[0u8; NONCE_LEN + TAG_LEN - 1])), Err(PiiError::Malformed));
    }

    #[test]
    fn keys_load_from_any_base64_spelling_of_32_bytes() {
        let stored = cipher().encrypt("13812341234");
        let url_safe = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        for spelling in [TEST_KEY, url_safe, &format!("  {TEST_KEY}\n")] {
            assert_eq!(PiiCipher::from_base64_key(spelling).unwrap().decrypt(&stored).unwrap(), "13812341234");
        }
        // A key with `-` and `_` (bytes 0xfb, 0xff) reads the same in both alphabets.
        let raw = [0xfbu8; 32];
        let std_key = base64::engine::general_purpose::STANDARD.encode(raw);
        let url_key = base64::engine::general_purpose::URL_SAFE.encode(raw);
        assert_ne!(std_key, url_key);
        let a = PiiCipher::from_base64_key(&std_key).unwrap();
        let b = PiiCipher::from_base64_key(&url_key).unwrap();
        assert_eq!(b.decrypt(&a.encrypt("x")).unwrap(), "x");
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in ["", "   ", "not base64 at all!", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "AAEC"] {
            assert!(matches!(PiiCipher::from_base64_key(bad), Err(PiiError::InvalidKey(_))), "{bad:?}");
        }
        let long = base64::engine::general_purpose::STANDARD.encode([7u8; 33]);
        assert!(matches!(PiiCipher::from_base64_key(&long), Err(PiiError::InvalidKey(_))));
    }

    #[test]
    fn generated_keys_load_and_differ() {
        let a = PiiCipher::generate_base64_key();
        let b = PiiCipher::generate_base64_key();
        assert_ne!(a, b);
        assert!(PiiCipher::from_base64_key(&a).is_ok());
    }

    #[test]
    fn development_key_is_deterministic_per_secret() {
        let a = PiiCipher::derive_for_development(b"dev secret");
        let b = PiiCipher::derive_for_development(b"dev secret");
        assert_eq!(b.decrypt(&a.encrypt("13812341234")).unwrap(), "13812341234");
        assert_eq!(a.blind_index("phone", "13812341234"), b.blind_index("phone", "13812341234"));
        let c = PiiCipher::derive_for_development(b"other dev secret");
        assert_ne!(a.blind_index("phone", "13812341234"), c.blind_index("phone", "13812341234"));
    }

    #[test]
    fn blind_index_is_stable_and_separated_by_kind_and_key() {
        let c = cipher();
        let a = c.blind_index("id_number", "11010519491231002X");
        assert_eq!(a, cipher().blind_index("id_number", "11010519491231002X"));
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(a, c.blind_index("phone", "11010519491231002X"));
        assert_ne!(a, c.blind_index("id_number", "11010519491231002x"));
        assert_ne!(a, PiiCipher::derive_for_development(b"x").blind_index("id_number", "11010519491231002X"));
        // Kind and value are not simply concatenated.
        assert_ne!(c.blind_index("ab", "c"), c.blind_index("a", "bc"));
        assert!(!a.contains("1101"));
    }

    #[test]
    fn blind_index_values_are_pinned() {
        // Indexes are stored; a change of derivation would silently break every lookup.
        // Computed independently of this code (Python `hmac`): k_index = HMAC(TEST_KEY, "bangban/pii/blind-index/v1"),
        // k_kind = HMAC(k_index, kind), index = hex(HMAC(k_kind, value)).
        let c = cipher();
        assert_eq!(
            c.blind_index("phone", "13812341234"),
            "59fcd3e4c4c9a9792515a186ee68d9e844f5e4cfddb0ab9b33c5280e6ff632a8"
        );
        assert_eq!(
            c.blind_index("id_number", "11010519491231002X"),
            "df26c2b037cd4db7d843745a28923da73d06cb16c790d1f69fd4c0b8fe5b1497"
        );
    }

    #[test]
    fn debug_of_the_cipher_shows_no_key() {
        let text = format!("{:?}", cipher());
        assert_eq!(text, "PiiCipher { .. }");
    }

    #[test]
    fn sensitive_never_prints_the_raw_value() {
        let phone = Sensitive::new("13812341234");
        assert_eq!(format!("{phone}"), "138****1234");
        assert_eq!(format!("{phone:?}"), "Sensitive(\"138****1234\")");
        assert_eq!(phone.expose(), "13812341234");

        let id = Sensitive::from("11010519491231002X".to_owned());
        assert_eq!(id.to_string(), "1101**********002X");
        for text in [format!("{id}"), format!("{id:?}"), format!("{id:#?}"), format!("{:?}", Some(&id))] {
            assert!(!text.contains("11010519491231002X") && !text.contains("19491231"), "{text}");
        }
        assert_eq!(id.clone().into_exposed(), "11010519491231002X");

        for other in ["+8613812341234", "secret", "1234567890123"] {
            let s = Sensitive::new(other);
            assert_eq!(s.to_string(), "****");
            assert!(!format!("{s:?}").contains(other));
        }
    }

    #[test]
    fn masks_of_the_contracts_are_reused() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
    }
}
