//! Blobs in a local folder (the embedded default, or a folder every process mounts). Writes go to a
//! temporary file that is synced and renamed into place, so a crash never leaves a half-written photo
//! under a real key.

use std::io;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::{check_key, BlobError};

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

    pub(super) async fn put_at(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
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

    pub(super) async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(BlobError::NotFound(key.to_owned()))
            }
            Err(source) => Err(BlobError::Io { path, source }),
        }
    }

    /// Only checked keys reach the file system.
    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }
}
