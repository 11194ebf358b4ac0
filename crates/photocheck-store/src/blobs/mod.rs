//! The blob store for uploaded photos and archive copies: a local folder (the embedded default, or one
//! every process mounts) or S3-compatible object storage (multi-node). Both take the same keys, 32 hex
//! digits, and both make a write visible all at once or not at all.

mod local;
mod s3;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use uuid::Uuid;

pub use local::LocalBlobs;
pub use s3::S3Blobs;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob key {0:?} is not one this store made")]
    BadKey(String),
    #[error("no blob {0}")]
    NotFound(String),
    #[error("blob store {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("blob store {location}: {source}")]
    Remote {
        location: String,
        source: object_store::Error,
    },
    #[error("blob store location {0:?}: give a folder or s3://BUCKET[/PREFIX]")]
    BadLocation(String),
}

/// Where blobs live, as given on the command line: a folder, or `s3://BUCKET[/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    Folder(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl FromStr for BlobLocation {
    type Err = BlobError;

    fn from_str(s: &str) -> Result<BlobLocation, BlobError> {
        let Some(rest) = s.strip_prefix("s3://") else {
            if s.is_empty() || s.contains("://") {
                return Err(BlobError::BadLocation(s.to_owned()));
            }
            return Ok(BlobLocation::Folder(PathBuf::from(s)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BlobError::BadLocation(s.to_owned()));
        }
        Ok(BlobLocation::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

impl fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobLocation::Folder(dir) => write!(f, "{}", dir.display()),
            BlobLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            BlobLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// One part of the blob store (`uploads`, `archive`): a sub-folder, or a key prefix in the bucket.
#[derive(Debug, Clone)]
pub enum Blobs {
    Local(LocalBlobs),
    S3(S3Blobs),
}

impl Blobs {
    /// Opens `part` under `location`. For S3 the endpoint, region and credentials come from the usual
    /// `AWS_*` environment variables; the bucket must exist and answer, or this fails now rather than
    /// on the first upload.
    pub async fn open(location: &BlobLocation, part: &str) -> Result<Blobs, BlobError> {
        match location {
            BlobLocation::Folder(dir) => Ok(Blobs::Local(LocalBlobs::open(dir.join(part)).await?)),
            BlobLocation::S3 { bucket, prefix } => {
                let builder =
                    object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                let prefix = if prefix.is_empty() {
                    part.to_owned()
                } else {
                    format!("{prefix}/{part}")
                };
                Ok(Blobs::S3(S3Blobs::connect(builder, &prefix).await?))
            }
        }
    }

    /// Stores bytes under a new random key; returns the key.
    pub async fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let key = Uuid::new_v4().simple().to_string();
        self.put_at(&key, bytes).await?;
        Ok(key)
    }

    /// Stores bytes under a chosen key (32 hex digits), replacing what was there: writing the same
    /// thing twice, as a redelivered job does, is harmless.
    pub async fn put_at(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        match self {
            Blobs::Local(b) => b.put_at(key, bytes).await,
            Blobs::S3(b) => b.put_at(key, bytes).await,
        }
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        match self {
            Blobs::Local(b) => b.get(key).await,
            Blobs::S3(b) => b.get(key).await,
        }
    }

    /// Removes the blob under `key`; one already gone is no error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self {
            Blobs::Local(b) => b.delete(key).await,
            Blobs::S3(b) => b.delete(key).await,
        }
    }

    /// Up to `limit` keys of blobs written before `before`: what a janitor compares with the rows
    /// that point at them. A local folder also drops the partial files of writes that died then.
    pub async fn keys_older_than(
        &self,
        before: std::time::SystemTime,
        limit: usize,
    ) -> Result<Vec<String>, BlobError> {
        match self {
            Blobs::Local(b) => b.keys_older_than(before, limit).await,
            Blobs::S3(b) => b.keys_older_than(before, limit).await,
        }
    }

    /// Bytes free for writing where a local folder lives; `None` for a bucket, which has no such
    /// limit to watch.
    pub async fn free_bytes(&self) -> Result<Option<u64>, BlobError> {
        match self {
            Blobs::Local(b) => b.free_bytes().await.map(Some),
            Blobs::S3(_) => Ok(None),
        }
    }
}

/// Keys are 32 hex digits: nothing a client sends can name a path or an object of its choosing.
fn check_key(key: &str) -> Result<(), BlobError> {
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BlobError::BadKey(key.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_print_back() {
        for (text, parsed) in [
            ("data/blobs", BlobLocation::Folder("data/blobs".into())),
            (
                "s3://photos",
                BlobLocation::S3 {
                    bucket: "photos".into(),
                    prefix: String::new(),
                },
            ),
            (
                "s3://photos/prod/v1",
                BlobLocation::S3 {
                    bucket: "photos".into(),
                    prefix: "prod/v1".into(),
                },
            ),
        ] {
            let got: BlobLocation = text.parse().expect(text);
            assert_eq!(got, parsed);
            assert_eq!(got.to_string(), text);
        }
        for bad in ["", "s3://", "s3:///x", "gs://bucket"] {
            assert!(bad.parse::<BlobLocation>().is_err(), "{bad:?}");
        }
    }
}
