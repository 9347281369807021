//! The writer lock: one [`AuditLog`](crate::AuditLog) at a time may append to a directory.
//!
//! The lock is the file `LOCK` in the log directory, held with an exclusive advisory lock
//! (`flock(2)` on Unix) for as long as the log is open. A second writer, in this process or
//! another, gets [`AuditError::Locked`] naming the holder. The operating system releases
//! the lock when its holder exits, even by a crash, so a crashed writer never blocks the
//! next one. The file itself records who holds it (`pid <n>`) and is emptied on a clean
//! close: a new writer that finds it non-empty knows the previous one did not close cleanly
//! (a crash or a kill) and reports it as a [`StaleLock`]. Readers (`verify_dir`) take no lock.
//!
//! On platforms without `flock` the lock file is created exclusively and removed on a clean
//! close; after a crash there it must be removed by hand once no writer runs.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io, AuditError, AuditResult};

/// Retries (5 ms apart) before a held lock is reported as [`AuditError::Locked`].
#[cfg(unix)]
const LOCK_RETRIES: u32 = 20;
/// Name of the lock file in the log directory.
pub const LOCK_FILE: &str = "LOCK";

/// A lock left behind by a writer that did not close the log cleanly (it crashed or was
/// killed); found and taken over on open. Records it wrote before were checked as usual (a
/// torn tail is cut and reported by [`AuditLog::torn_tail`](crate::AuditLog::torn_tail)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleLock {
    /// The lock file.
    pub path: PathBuf,
    /// What the previous holder wrote in it (`pid <n>`; at most its first 256 bytes, read
    /// lossily as UTF-8 if the file was damaged).
    pub holder: String,
}

/// The held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    file: File,
    #[cfg_attr(unix, allow(dead_code))]
    path: PathBuf,
}

/// The first 256 bytes of the lock file (any bytes: a damaged file is reported as it is);
/// `None` when it is empty.
fn holder_of(file: &mut File) -> Option<String> {
    let mut b = Vec::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = Read::by_ref(file).take(256).read_to_end(&mut b);
    (!b.is_empty()).then(|| String::from_utf8_lossy(&b).trim().to_owned())
}

impl WriterLock {
    /// Takes the lock of `dir` or fails with [`AuditError::Locked`].
    pub(crate) fn acquire(dir: &Path) -> AuditResult<(Self, Option<StaleLock>)> {
        let path = dir.join(LOCK_FILE);
        #[cfg(unix)]
        let mut file = {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io("opening the lock file", &path))?;
            // A lock that was just released can still be held for an instant by a child
            // process between its fork and its exec (the descriptor is close-on-exec, but
            // the child holds it until the exec): a few short retries over about 100 ms
            // tell that apart from a live writer.
            let mut attempts = 0;
            loop {
                match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                    Ok(()) => break,
                    Err(e) if e == rustix::io::Errno::WOULDBLOCK && attempts < LOCK_RETRIES => {
                        attempts += 1;
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                        return Err(AuditError::Locked {
                            holder: holder_of(&mut file).unwrap_or_default(),
                            path,
                        })
                    }
                    Err(e) => return Err(io("locking the log", &path)(e.into())),
                }
            }
            file
        };
        #[cfg(not(unix))]
        let mut file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = File::open(&path)
                    .map(|mut f| holder_of(&mut f))
                    .unwrap_or_default();
                return Err(AuditError::Locked { holder, path });
            }
            Err(e) => return Err(io("creating the lock file", &path)(e)),
        };
        let stale = holder_of(&mut file).map(|holder| StaleLock {
            path: path.clone(),
            holder,
        });
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "pid {}", std::process::id()))
            .map_err(io("writing the lock file", &path))?;
        Ok((Self { file, path }, stale))
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // a clean close: empty the file (the kernel drops the flock with the descriptor)
        let _ = self.file.set_len(0);
        #[cfg(not(unix))]
        let _ = std::fs::remove_file(&self.path);
    }
}
