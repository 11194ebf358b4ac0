//! The blob store for uploaded photos: a local folder (the embedded default). Writes go to a temporary
//! file that is renamed into place, so a crash never leaves a half-written photo under a real key.

use std::io;
use std::path::{Path, PathBuf};

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob key {0:?} is not one this store made")]
    BadKey(String),
    #[error("no blob {0}")]
    NotFound(String),
    #[error("blob store {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Photos as files under one folder, named by a random key.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    dir: PathBuf,
}

impl LocalBlobs {
    /// Opens (creating) the folder.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<LocalBlobs, BlobError> {
        let dir = dir.into();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|source| BlobError::Io {
                path: dir.clone(),
                source,
            })?;
        Ok(LocalBlobs { dir })
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
        let path = self.path(key)?;
        // A partial name of its own, so two writers of one key never write into the same file.
        let partial = self
            .dir
            .join(format!(".{key}.{}.partial", Uuid::new_v4().simple()));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| BlobError::Io { path, source }
        };
        tokio::fs::write(&partial, bytes)
            .await
            .map_err(io(&partial))?;
        // Durable before it is named: the database will point at it once this returns.
        let file = tokio::fs::File::open(&partial)
            .await
            .map_err(io(&partial))?;
        file.sync_all().await.map_err(io(&partial))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(io(&path))?;
        Ok(())
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(BlobError::NotFound(key.to_owned()))
            }
            Err(source) => Err(BlobError::Io { path, source }),
        }
    }

    /// Keys are 32 hex digits: nothing else may reach the file system.
    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BlobError::BadKey(key.to_owned()));
        }
        Ok(self.dir.join(key))
    }
}
