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
        let written = async {
            tokio::fs::write(&partial, bytes)
                .await
                .map_err(io(&partial))?;
            // Durable before it is named: the database will point at it once this returns.
            let file = tokio::fs::File::open(&partial)
                .await
                .map_err(io(&partial))?;
            file.sync_all().await.map_err(io(&partial))?;
            tokio::fs::rename(&partial, &path).await.map_err(io(&path))
        }
        .await;
        if written.is_err() {
            // A full disk must not also fill up with the halves of refused photos.
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(BlobError::Io { path, source: e }),
            _ => Ok(()),
        }
    }

    pub(super) async fn keys_older_than(
        &self,
        before: std::time::SystemTime,
        limit: usize,
    ) -> Result<Vec<String>, BlobError> {
        let io = |source| BlobError::Io {
            path: self.dir.clone(),
            source,
        };
        let mut entries = tokio::fs::read_dir(&self.dir).await.map_err(io)?;
        let mut keys = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(modified) = entry.metadata().await.and_then(|m| m.modified()) else {
                continue;
            };
            if modified >= before {
                continue;
            }
            if name.starts_with('.') && name.ends_with(".partial") {
                let _ = tokio::fs::remove_file(entry.path()).await;
            } else if check_key(&name).is_ok() && keys.len() < limit {
                keys.push(name);
            }
        }
        Ok(keys)
    }

    pub(super) async fn free_bytes(&self) -> Result<u64, BlobError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            rustix::fs::statvfs(&dir)
                .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
                .map_err(|e| BlobError::Io {
                    path: dir,
                    source: e.into(),
                })
        })
        .await
        .map_err(|e| BlobError::Io {
            path: self.dir.clone(),
            source: io::Error::other(e),
        })?
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
