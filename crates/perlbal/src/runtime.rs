//! Worker threads: one single-threaded tokio runtime per core.
//!
//! Every worker runs its own event loop (its own epoll), so a connection lives on the worker
//! that accepted it and never migrates: no cross-thread wake-ups on the hot path. Listening
//! sockets are shared: each worker accepts on its own duplicate of the listening descriptor, and
//! the kernel hands each new connection to whichever worker is free first.
//!
//! Work is given to a worker as a [`Job`], a closure run inside the worker's `LocalSet`, where it
//! may call `tokio::task::spawn_local`.

use std::io;
use std::sync::Arc;
use std::thread;

use tokio::sync::mpsc;

/// A closure run on a worker thread, inside its runtime and `LocalSet`.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    static WORKER_INDEX: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// The index of the worker running the caller, if the caller runs on a worker.
pub fn current_worker() -> Option<usize> {
    WORKER_INDEX.with(|w| w.get())
}

/// Handles to the running workers.
pub struct Workers {
    senders: Vec<mpsc::UnboundedSender<Job>>,
}

impl Workers {
    /// Starts `count` workers (at least one).
    pub fn start(count: usize) -> io::Result<Arc<Workers>> {
        let count = count.max(1);
        let mut senders = Vec::with_capacity(count);
        for index in 0..count {
            let (tx, rx) = mpsc::unbounded_channel::<Job>();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            thread::Builder::new()
                .name(format!("perlbal-worker-{index}"))
                .spawn(move || run_worker(index, runtime, rx))?;
            senders.push(tx);
        }
        Ok(Arc::new(Workers { senders }))
    }

    /// Runs `job` on worker `index`. Returns false if that worker has stopped.
    pub fn run_on(&self, index: usize, job: Job) -> bool {
        self.senders
            .get(index)
            .is_some_and(|tx| tx.send(job).is_ok())
    }

    /// Runs the job built by `make(index)` on every worker.
    pub fn run_on_all(&self, mut make: impl FnMut(usize) -> Job) {
        for index in 0..self.senders.len() {
            self.run_on(index, make(index));
        }
    }
}

/// The number of workers to start by default: every core this process may run on.
pub fn default_worker_count() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

fn run_worker(
    index: usize,
    runtime: tokio::runtime::Runtime,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    WORKER_INDEX.with(|w| w.set(Some(index)));
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        while let Some(job) = jobs.recv().await {
            job();
        }
    });
}
