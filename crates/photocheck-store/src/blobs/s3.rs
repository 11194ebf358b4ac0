//! Blobs as objects in an S3-compatible bucket, through the `object_store` crate. A PUT replaces an
//! object whole, so readers never see half a photo, and any number of machines share the bucket.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, RetryConfig};

use super::{check_key, BlobError};

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
