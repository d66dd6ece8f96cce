//! Group commit for SQLite: transactions commit without an fsync each
//! (`synchronous=NORMAL` in WAL mode writes the log but does not sync it),
//! and one fsync of the write-ahead log then makes every transaction
//! committed before it durable. Each writer waits for a sync that began
//! after its own commit, and only then answers; whoever finds no sync
//! running becomes the leader and syncs for everyone waiting.
//!
//! Why this is enough: a commit in WAL mode is a write of its frames to the
//! `-wal` file. After `fdatasync` of that file the frames are on disk, and
//! SQLite replays them after a crash. A checkpoint syncs the log before it
//! copies frames into the database and resets the log, so frames are never
//! lost between our sync and a checkpoint.

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

use crate::error::{Error, Result};

#[derive(Debug, Default)]
struct State {
    /// Commits so far, numbered in commit order (under the writer lock).
    committed: u64,
    /// Every commit up to this number is on disk.
    durable: u64,
    /// Whether a leader is syncing now.
    syncing: bool,
    /// The last sync failed: no later commit is reported durable.
    failed: bool,
}

#[derive(Debug)]
pub(super) struct GroupCommit {
    wal: PathBuf,
    state: Mutex<State>,
    synced: Condvar,
}

impl GroupCommit {
    pub fn new(database: &std::path::Path) -> GroupCommit {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        GroupCommit {
            wal: PathBuf::from(wal),
            state: Mutex::default(),
            synced: Condvar::new(),
        }
    }

    /// Numbers a commit that just returned. Call while still holding the
    /// writer lock, so that numbers follow commit order.
    pub fn committed(&self) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.committed += 1;
        state.committed
    }

    /// Returns once commit `seq` is on disk: after a sync of the log that
    /// started after it.
    pub fn wait_durable(&self, seq: u64) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.failed {
                return Err(Error::Corrupt(
                    "the database's log could not be synced to disk",
                ));
            }
            if state.durable >= seq {
                return Ok(());
            }
            if !state.syncing {
                // Lead: sync everything committed so far, ours included.
                state.syncing = true;
                let target = state.committed;
                drop(state);
                let synced = self.sync();
                state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                state.syncing = false;
                match synced {
                    Ok(()) => state.durable = state.durable.max(target),
                    Err(_) => state.failed = true,
                }
                self.synced.notify_all();
                continue;
            }
            state = self.synced.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn sync(&self) -> std::io::Result<()> {
        // Opened each time: SQLite may delete and recreate the log file
        // (when the last connection closes), and a kept handle would sync
        // the old one.
        match File::open(&self.wal) {
            Ok(file) => file.sync_data(),
            // No log: every commit is already in the database file, synced
            // by the checkpoint that removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_waiter_is_released_by_a_sync_after_its_commit() {
        let dir = std::env::temp_dir().join(format!("kk-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("x.sqlite3");
        std::fs::write(dir.join("x.sqlite3-wal"), b"log").unwrap();
        let group = Arc::new(GroupCommit::new(&db));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let group = group.clone();
                std::thread::spawn(move || {
                    let seq = group.committed();
                    group.wait_durable(seq).unwrap();
                    seq
                })
            })
            .collect();
        let mut seqs: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
        let state = group.state.lock().unwrap();
        assert_eq!((state.durable, state.syncing), (16, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
