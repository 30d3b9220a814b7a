//! WAL checkpoints on a thread of their own, off the writer's critical path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the writer
//! thread, so every writer waits for it: in a 100,000-HNA import it was a fifth of the writer's
//! time. Here the writer only nudges after each commit; this thread copies committed pages back
//! into the database (`PASSIVE`, which never blocks the writer or readers) at most every
//! [`PAUSE`]. A passive checkpoint cannot let the writer rewind the log while commits keep
//! arriving, so once the log passes [`RESTART_FRAMES`] the writer itself runs a `RESTART`
//! checkpoint after its next commit, having had this thread stand aside meanwhile (SQLite runs
//! one checkpoint at a time), and the log starts over: it stays bounded under any load.
//! Durability is unchanged: a commit is durable once in the WAL (`synchronous=FULL`), checkpointed
//! or not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

/// Least time between two checkpoints: under a stream of commits, one checkpoint copies many.
const PAUSE: Duration = Duration::from_millis(50);

/// Log size in pages (512 MiB at 8 KiB pages) past which the writer rewinds the log.
const RESTART_FRAMES: i64 = 65_536;

/// Handle to the checkpoint thread; the thread ends when the handle is dropped.
pub struct Checkpointer {
    nudge: mpsc::SyncSender<()>,
    /// Set by the thread when the log has grown past [`RESTART_FRAMES`].
    restart_due: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts the thread that checkpoints through `conn` (a connection of its own).
    pub fn start(conn: Connection) -> std::io::Result<Self> {
        let (nudge, nudges) = mpsc::sync_channel(1);
        let restart_due = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&restart_due);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudges, &flag))?;
        Ok(Checkpointer { nudge, restart_due })
    }

    /// Called by the writer after each commit, on its own connection: wakes the thread, and
    /// rewinds the log when the thread found it too long.
    pub fn after_commit(&self, writer: &Connection) {
        if self.restart_due.swap(false, Ordering::Relaxed)
            && let Err(e) = checkpoint(writer, "RESTART")
        {
            tracing::warn!(error = %e, "WAL restart checkpoint failed");
        }
        let _ = self.nudge.try_send(());
    }
}

fn run(conn: &Connection, nudges: &mpsc::Receiver<()>, restart_due: &AtomicBool) {
    while nudges.recv().is_ok() {
        // While the writer is due to rewind the log, stay out of its way: SQLite runs one
        // checkpoint at a time, and a writer waiting for this thread's stalled every write behind
        // it (150 ms at the 99th percentile of creates at 1M resources).
        if restart_due.load(Ordering::Relaxed) {
            std::thread::sleep(PAUSE);
            continue;
        }
        match checkpoint(conn, "PASSIVE") {
            Ok(frames) if frames > RESTART_FRAMES => restart_due.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
        std::thread::sleep(PAUSE);
    }
}

/// Runs one checkpoint; returns the log's size in frames.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        r.get::<_, i64>(1)
    })
}
