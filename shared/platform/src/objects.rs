//! Document storage for the case archive (资料归档, §7.7): one interface over a local folder (the
//! default) or S3-compatible object storage (production), content-addressed and verified on read.
//!
//! Every document is stored under `<prefix>/<sha256 hex of its bytes>`, so filing the same content
//! twice yields one object, and a read recomputes the hash and refuses bytes that no longer match
//! their key (tampering, bit rot, a truncated upload). The database keeps the returned
//! [`StoredObject`] (key, hash, size, media type, and who filed it); the store keeps only bytes.
//!
//! The S3 back-end is built from configuration without touching the network; it is exercised
//! against real storage (AWS S3, MinIO, …) in deployment only. Its HTTP client is reqwest with
//! `rustls-no-provider`, like the rest of the platform: the process-wide ring provider must be
//! installed ([`crate::runtime::install_crypto_provider`]), which [`DocumentStore::from_settings`]
//! does itself for the S3 back-end.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload, aws::AmazonS3Builder,
    local::LocalFileSystem, path::Path as ObjectPath,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// Longest key accepted, in bytes (S3 allows 1024).
pub const MAX_KEY_LEN: usize = 1024;

/// Which object storage holds the documents (`BANGBAN__STORAGE__BACKEND`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A folder on the local disk; nothing to install.
    #[default]
    Local,
    /// An S3-compatible service (AWS S3, MinIO, Ceph RGW, OSS/COS in S3 mode, …).
    S3,
}

/// Where archived documents live (`[storage]` section).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// `local` (default) or `s3`.
    pub backend: StorageBackend,
    /// Folder of the local back-end; unset: `<data_dir>/objects`.
    pub local_dir: Option<PathBuf>,
    /// Connection to the S3-compatible service, read when `backend = "s3"`.
    pub s3: S3Settings,
}

/// Connection to an S3-compatible service. What is left unset here is taken from the usual `AWS_*`
/// environment variables (and, for credentials, from the instance or web-identity providers).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    /// Bucket name (required).
    pub bucket: String,
    /// Region, e.g. `cn-north-1`; unset: `AWS_REGION` or `us-east-1`.
    pub region: Option<String>,
    /// Endpoint of a non-AWS service, e.g. `http://minio.internal:9000` (path-style requests).
    pub endpoint: Option<String>,
    /// Access key id; unset: from the environment or the instance's credentials.
    pub access_key_id: Option<String>,
    /// Secret access key; never logged.
    pub secret_access_key: Option<SecretString>,
    /// Allow a plain `http://` endpoint (development MinIO only).
    pub allow_http: bool,
}

/// Everything that can go wrong with the document store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key or prefix breaks the key rules (see [`validate_key`]).
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// No object under this key.
    #[error("object {key} not found")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// The bytes read do not hash to the key: the object was altered or damaged.
    #[error("object {key} fails its integrity check (content hash {actual})")]
    Integrity {
        /// The key asked for (its last segment is the expected hash).
        key: String,
        /// SHA-256 of the bytes actually read.
        actual: String,
    },
    /// The settings cannot make a store.
    #[error("storage configuration: {0}")]
    Config(String),
    /// The storage back-end failed (I/O, network, permissions, …).
    #[error("storage back-end: {0}")]
    Backend(#[source] object_store::Error),
}

impl From<StoreError> for Problem {
    /// `NotFound` → 404, `InvalidKey` → 422 on `key`; anything else → 500 without internal detail.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Problem::not_found("归档资料不存在", "archived document not found"),
            StoreError::InvalidKey { .. } => {
                Problem::invalid_field("key", "资料存储键不合法", "the document storage key is not valid")
            }
            StoreError::Integrity { .. } | StoreError::Config(_) | StoreError::Backend(_) => Problem::internal(),
        }
    }
}

/// A document as filed: what the caller records in its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Full key, `<prefix>/<sha256>`.
    pub key: String,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type given when filing (`application/pdf`, …).
    pub media_type: String,
}

/// One object found by [`DocumentStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// The archive's object storage. Cheap to clone; all clones share one back-end.
#[derive(Clone)]
pub struct DocumentStore {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn ObjectStore>,
    /// Whether the back-end keeps a `Content-Type` attribute (S3 does, the local folder does not).
    content_type: bool,
    /// For `Debug`: `local:<dir>` or `s3:<bucket>`; never credentials.
    description: String,
}

impl fmt::Debug for DocumentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentStore").field("backend", &self.inner.description).finish()
    }
}

impl DocumentStore {
    /// Builds the store the settings name. The local back-end creates its folder; the S3 back-end
    /// only checks its configuration (no request is made until the first operation).
    pub fn from_settings(settings: &StorageSettings, data_dir: &Path) -> Result<Self, StoreError> {
        match settings.backend {
            StorageBackend::Local => {
                let dir = settings.local_dir.clone().unwrap_or_else(|| data_dir.join("objects"));
                Self::local(&dir)
            }
            StorageBackend::S3 => Self::s3(&settings.s3),
        }
    }

    /// A store in the folder `dir` (created when missing).
    pub fn local(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Config(format!("cannot create the storage folder {}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(StoreError::Backend)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                content_type: false,
                description: format!("local:{}", dir.display()),
            }),
        })
    }

    /// A store in an S3-compatible bucket. Installs the process-wide rustls provider (ring) if none is.
    pub fn s3(settings: &S3Settings) -> Result<Self, StoreError> {
        if settings.bucket.trim().is_empty() {
            return Err(StoreError::Config("storage.s3.bucket is required for the s3 back-end".into()));
        }
        crate::runtime::install_crypto_provider();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket);
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        builder = builder.with_allow_http(settings.allow_http);
        let store = builder.build().map_err(|e| StoreError::Config(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                content_type: true,
                description: format!("s3:{}", settings.bucket),
            }),
        })
    }

    /// Files `bytes` under `<key_prefix>/<sha256>`. Filing content that is already there writes
    /// nothing and returns the same [`StoredObject`].
    pub async fn put(&self, key_prefix: &str, bytes: Bytes, media_type: &str) -> Result<StoredObject, StoreError> {
        validate_key(key_prefix)?;
        let sha256 = sha256_hex(&bytes);
        let key = format!("{key_prefix}/{sha256}");
        let path = object_path(&key)?;
        let size = bytes.len() as u64;
        let stored = StoredObject { key, sha256, size, media_type: media_type.to_string() };
        match self.inner.store.head(&path).await {
            Ok(_) => return Ok(stored),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(StoreError::Backend(e)),
        }
        let mut options = PutOptions::default();
        if self.inner.content_type && !media_type.is_empty() {
            options.attributes =
                Attributes::from_iter([(Attribute::ContentType, AttributeValue::from(media_type.to_string()))]);
        }
        self.inner.store.put_opts(&path, PutPayload::from(bytes), options).await.map_err(StoreError::Backend)?;
        Ok(stored)
    }

    /// Reads the object under `key` and checks that its bytes still hash to the key's last segment.
    pub async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        validate_key(key)?;
        let expected = key.rsplit('/').next().unwrap_or_default();
        if !is_sha256_hex(expected) {
            return Err(StoreError::InvalidKey {
                key: key.to_string(),
                reason: "the last segment is not a SHA-256 content hash",
            });
        }
        let path = object_path(key)?;
        let bytes = self
            .inner
            .store
            .get(&path)
            .await
            .map_err(|e| not_found_or_backend(e, key))?
            .bytes()
            .await
            .map_err(|e| not_found_or_backend(e, key))?;
        let actual = sha256_hex(&bytes);
        if actual != expected {
            return Err(StoreError::Integrity { key: key.to_string(), actual });
        }
        Ok(bytes)
    }

    /// Whether an object exists under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let path = object_path(key)?;
        match self.inner.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(StoreError::Backend(e)),
        }
    }

    /// Every object under `prefix`, sorted by key. The prefix matches whole segments: `cases/1`
    /// lists `cases/1/…` but not `cases/10/…`. An empty prefix lists everything.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        let prefix = if prefix.is_empty() { None } else { Some(object_path(prefix)?) };
        let mut objects: Vec<ListedObject> = self
            .inner
            .store
            .list(prefix.as_ref())
            .map_ok(|meta| ListedObject { key: meta.location.to_string(), size: meta.size })
            .try_collect()
            .await
            .map_err(StoreError::Backend)?;
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}

/// Checks a key or key prefix: non-empty, at most [`MAX_KEY_LEN`] bytes, only `[A-Za-z0-9/_.-]`, no
/// leading or trailing `/`, no empty segment (`//`), no `.` segment and no `..` anywhere.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let refuse = |reason| Err(StoreError::InvalidKey { key: key.to_string(), reason });
    if key.is_empty() {
        return refuse("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return refuse("longer than 1024 bytes");
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'.' | b'-')) {
        return refuse("only A-Z, a-z, 0-9, '/', '_', '.' and '-' are allowed");
    }
    if key.starts_with('/') {
        return refuse("leading '/'");
    }
    if key.ends_with('/') {
        return refuse("trailing '/'");
    }
    if key.contains("..") {
        return refuse("'..' is not allowed");
    }
    if key.split('/').any(|s| s.is_empty() || s == ".") {
        return refuse("empty or '.' segment");
    }
    Ok(())
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn object_path(key: &str) -> Result<ObjectPath, StoreError> {
    validate_key(key)?;
    ObjectPath::parse(key).map_err(|_| StoreError::InvalidKey { key: key.to_string(), reason: "not a valid path" })
}

fn not_found_or_backend(e: object_store::Error, key: &str) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound { key: key.to_string() },
        e => StoreError::Backend(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_settings(dir: &Path) -> StorageSettings {
        StorageSettings { local_dir: Some(dir.to_path_buf()), ..StorageSettings::default() }
    }

    #[tokio::test]
    async fn round_trip_through_the_local_store() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DocumentStore::from_settings(&StorageSettings::default(), tmp.path()).unwrap();
        let content = Bytes::from_static("服务方案 v1".as_bytes());
        let stored = store.put("cases/BB-371625-2026-000123/plan", content.clone(), "application/pdf").await.unwrap();
        assert_eq!(stored.sha256, sha256_hex(&content));
        assert_eq!(stored.key, format!("cases/BB-371625-2026-000123/plan/{}", stored.sha256));
        assert_eq!(stored.size, content.len() as u64);
        assert_eq!(stored.media_type, "application/pdf");
        // Default folder is <data_dir>/objects.
        assert!(tmp.path().join("objects").join(&stored.key).is_file());
        assert!(store.exists(&stored.key).await.unwrap());
        assert_eq!(store.get(&stored.key).await.unwrap(), content);
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[tokio::test]
    async fn the_same_content_twice_is_one_object() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DocumentStore::from_settings(&local_settings(tmp.path()), tmp.path()).unwrap();
        let a = store.put("cases/1/results", Bytes::from_static(b"permit"), "application/pdf").await.unwrap();
        let b = store.put("cases/1/results", Bytes::from_static(b"permit"), "application/pdf").await.unwrap();
        assert_eq!(a, b);
        let listed = store.list("cases/1").await.unwrap();
        assert_eq!(listed, vec![ListedObject { key: a.key.clone(), size: 6 }]);
    }

    #[tokio::test]
    async fn a_tampered_file_fails_its_integrity_check() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DocumentStore::local(tmp.path()).unwrap();
        let stored = store.put("cases/1/materials", Bytes::from_static(b"original"), "text/plain").await.unwrap();
        std::fs::write(tmp.path().join(&stored.key), b"forged!!").unwrap();
        match store.get(&stored.key).await {
            Err(StoreError::Integrity { key, actual }) => {
                assert_eq!(key, stored.key);
                assert_eq!(actual, sha256_hex(b"forged!!"));
            }
            other => panic!("expected an integrity error, got {other:?}"),
        }
        let problem = Problem::from(store.get(&stored.key).await.unwrap_err());
        assert_eq!(problem.status, 500);
    }

    #[tokio::test]
    async fn missing_objects_are_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DocumentStore::local(tmp.path()).unwrap();
        let key = format!("cases/1/{}", sha256_hex(b"never filed"));
        assert!(!store.exists(&key).await.unwrap());
        let err = store.get(&key).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        assert_eq!(Problem::from(err).status, 404);
        // A key whose last segment is not a content hash cannot be verified, so it is refused.
        assert!(matches!(store.get("cases/1/readme.txt").await, Err(StoreError::InvalidKey { .. })));
    }

    #[tokio::test]
    async fn bad_keys_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DocumentStore::local(tmp.path()).unwrap();
        let long = "a".repeat(MAX_KEY_LEN + 1);
        for bad in [
            "",
            "/etc",
            "../outside",
            "cases/../../etc",
            "cases/..",
            "cases/a..b",
            "cases//1",
            "cases/./1",
            "cases/1/",
            "cases\\1",
            "cases/1 2",
            "案卷/1",
            "cases/1?x=y",
            "cases/%2e%2e",
            long.as_str(),
        ] {
            assert!(matches!(validate_key(bad), Err(StoreError::InvalidKey { .. })), "{bad:?} accepted");
            let err = store.put(bad, Bytes::from_static(b"x"), "text/plain").await.unwrap_err();
            assert!(matches!(err, StoreError::InvalidKey { .. }), "{bad:?}: {err:?}");
            assert!(matches!(store.get(bad).await, Err(StoreError::InvalidKey { .. })), "{bad:?}");
            assert!(matches!(store.exists(bad).await, Err(StoreError::InvalidKey { .. })), "{bad:?}");
            if !bad.is_empty() {
                assert!(matches!(store.list(bad).await, Err(StoreError::InvalidKey { .. })), "{bad:?}");
            }
        }
        assert_eq!(Problem::from(validate_key("../x").unwrap_err()).status, 422);
        for good in ["cases/BB-371625-2026-000123/plan", "a", "a/b_c/d.e-f", "v1.2/x"] {
            validate_key(good).unwrap();
        }
        // Nothing was written outside (or inside) the store's folder.
        assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
    }

    #[tokio::test]
    async fn list_by_prefix_matches_whole_segments() {
        let tmp = tempfile::tempdir().unwrap();
        let store = DocumentStore::local(tmp.path()).unwrap();
        let a = store.put("cases/1/plan", Bytes::from_static(b"plan"), "application/pdf").await.unwrap();
        let b = store.put("cases/1/results", Bytes::from_static(b"result"), "application/pdf").await.unwrap();
        let c = store.put("cases/10/plan", Bytes::from_static(b"other case"), "application/pdf").await.unwrap();

        let mut expected =
            vec![ListedObject { key: a.key.clone(), size: a.size }, ListedObject { key: b.key.clone(), size: b.size }];
        expected.sort_by(|x, y| x.key.cmp(&y.key));
        assert_eq!(store.list("cases/1").await.unwrap(), expected);
        assert_eq!(store.list("cases/1/results").await.unwrap(), vec![ListedObject { key: b.key, size: b.size }]);
        assert_eq!(store.list("cases/10").await.unwrap(), vec![ListedObject { key: c.key, size: c.size }]);
        assert_eq!(store.list("").await.unwrap().len(), 3);
        assert!(store.list("cases/2").await.unwrap().is_empty());
    }

    #[test]
    fn storage_settings_deserialize_with_defaults() {
        let s: StorageSettings = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(s.backend, StorageBackend::Local);
        assert!(s.local_dir.is_none());
        let s: StorageSettings = serde_json::from_value(serde_json::json!({
            "backend": "s3",
            "s3": {"bucket": "archive", "endpoint": "http://minio:9000", "access_key_id": "id",
                   "secret_access_key": "very-secret", "allow_http": true}
        }))
        .unwrap();
        assert_eq!(s.backend, StorageBackend::S3);
        assert_eq!(s.s3.secret_access_key.as_ref().unwrap().expose_secret(), "very-secret");
        assert!(!format!("{s:?}").contains("very-secret"), "the secret leaks through Debug");
    }

    /// Real S3 is exercised in deployment only; here the S3 back-end is built from settings
    /// pointing at a closed local port, which must succeed without any network call.
    #[tokio::test]
    async fn s3_store_is_built_from_settings_without_network() {
        let settings = StorageSettings {
            backend: StorageBackend::S3,
            local_dir: None,
            s3: S3Settings {
                bucket: "bangban-archive".into(),
                region: Some("cn-north-1".into()),
                endpoint: Some("http://127.0.0.1:9".into()),
                access_key_id: Some("minio".into()),
                secret_access_key: Some(SecretString::from("minio-secret".to_string())),
                allow_http: true,
            },
        };
        let tmp = tempfile::tempdir().unwrap();
        let store = DocumentStore::from_settings(&settings, tmp.path()).unwrap();
        let shown = format!("{store:?}");
        assert!(shown.contains("s3:bangban-archive"), "{shown}");
        assert!(!shown.contains("minio-secret"));
        // The local folder is not created for the S3 back-end.
        assert!(!tmp.path().join("objects").exists());

        let missing_bucket = StorageSettings { s3: S3Settings { bucket: String::new(), ..settings.s3 }, ..settings };
        assert!(matches!(DocumentStore::from_settings(&missing_bucket, tmp.path()), Err(StoreError::Config(_))));
    }
}
