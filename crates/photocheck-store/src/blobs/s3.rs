//! Blobs as objects in an S3-compatible bucket, through the `object_store` crate. A PUT replaces an
//! object whole, so readers never see half a photo, and any number of machines share the bucket.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, RetryConfig};

use super::{check_key, BlobError};

/// Objects a janitor's listing reads per call.
const LIST_PAGE: usize = 5000;

/// One key prefix in one bucket.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: Path,
    /// `s3://bucket/prefix`, for errors.
    location: String,
}

impl S3Blobs {
    /// Builds the client and lists the prefix once, so a wrong endpoint, bucket or credential is
    /// reported at start.
    pub async fn connect(builder: AmazonS3Builder, prefix: &str) -> Result<S3Blobs, BlobError> {
        // An upload request waits on this: a few quick retries, not the crate's default of minutes.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(10),
            ..RetryConfig::default()
        };
        let bucket = builder
            .get_config_value(&object_store::aws::AmazonS3ConfigKey::Bucket)
            .unwrap_or_default();
        let location = format!("s3://{bucket}/{prefix}");
        let remote = |source| BlobError::Remote {
            location: location.clone(),
            source,
        };
        let store = builder.with_retry(retry).build().map_err(remote)?;
        let prefix = Path::parse(prefix).map_err(|e| remote(e.into()))?;
        store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(remote)?;
        Ok(S3Blobs {
            store: Arc::new(store),
            prefix,
            location,
        })
    }

    pub(super) async fn put_at(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(key)?;
        self.store
            .put(&path, PutPayload::from(bytes.to_vec()))
            .await
            .map_err(|e| self.remote(e))?;
        Ok(())
    }

    pub(super) async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path(key)?;
        let found = match self.store.get(&path).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BlobError::NotFound(key.to_owned()))
            }
            Err(e) => return Err(self.remote(e)),
        };
        let bytes = found.bytes().await.map_err(|e| self.remote(e))?;
        Ok(bytes.to_vec())
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.remote(e)),
        }
    }

    pub(super) async fn keys_older_than(
        &self,
        before: std::time::SystemTime,
        limit: usize,
    ) -> Result<Vec<String>, BlobError> {
        use futures_util::StreamExt;
        // A bucket lists in key order, and keys are random: each call reads a bounded page from a
        // random key on, so repeated calls cover the bucket without listing millions at once.
        let from = self.prefix.child(uuid::Uuid::new_v4().simple().to_string());
        let before: chrono::DateTime<chrono::Utc> = before.into();
        let mut listed = self
            .store
            .list_with_offset(Some(&self.prefix), &from)
            .take(LIST_PAGE);
        let mut keys = Vec::new();
        while let Some(object) = listed.next().await {
            let object = object.map_err(|e| self.remote(e))?;
            let Some(key) = object.location.filename() else {
                continue;
            };
            if object.last_modified < before && check_key(key).is_ok() && keys.len() < limit {
                keys.push(key.to_owned());
            }
        }
        Ok(keys)
    }

    fn path(&self, key: &str) -> Result<Path, BlobError> {
        check_key(key)?;
        Ok(self.prefix.child(key))
    }

    fn remote(&self, source: object_store::Error) -> BlobError {
        BlobError::Remote {
            location: self.location.clone(),
            source,
        }
    }
}
