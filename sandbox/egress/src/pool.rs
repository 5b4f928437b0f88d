//! A cached thread pool: a job runs on an idle worker if there is one, else on a new
//! thread; a worker idle for [`IDLE_EXIT`] exits. Spawning a thread costs about as much as
//! a loopback connection, and each proxied connection needs two (one per direction), so
//! keeping finished workers around halves the proxy's connection set-up time. There is no
//! cap: every accepted connection gets its thread at once (a queue would stall bursts).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// How long an idle worker waits for a job before it exits.
pub(crate) const IDLE_EXIT: Duration = Duration::from_secs(30);
const STACK: usize = 256 * 1024;

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    idle: usize,
    closed: bool,
}

/// The pool; clones share it.
#[derive(Clone, Default)]
pub(crate) struct Pool {
    inner: Arc<(Mutex<State>, Condvar)>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Pool {
    /// Runs `job` on an idle worker or a new thread.
    pub(crate) fn execute(&self, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let (lock, wake) = &*self.inner;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if state.idle > 0 {
            state.idle -= 1;
            state.queue.push_back(Box::new(job));
            // Woken after the lock is released, so that it does not wait for it.
            drop(state);
            wake.notify_one();
            return Ok(());
        }
        drop(state);
        let inner = Arc::clone(&self.inner);
        thread::Builder::new()
            .name("egress-worker".into())
            .stack_size(STACK)
            .spawn(move || worker(&inner, Box::new(job)))
            .map(drop)
    }

    /// Lets idle workers exit now instead of after [`IDLE_EXIT`].
    pub(crate) fn close(&self) {
        let (lock, wake) = &*self.inner;
        lock.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        wake.notify_all();
    }
}

fn worker(inner: &(Mutex<State>, Condvar), first: Job) {
    let (lock, wake) = inner;
    let mut job = first;
    loop {
        job();
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            return;
        }
        state.idle += 1;
        job = loop {
            if let Some(next) = state.queue.pop_front() {
                break next;
            }
            let (next_state, timeout) = wake
                .wait_timeout(state, IDLE_EXIT)
                .unwrap_or_else(PoisonError::into_inner);
            state = next_state;
            if state.queue.is_empty() && (timeout.timed_out() || state.closed) {
                state.idle = state.idle.saturating_sub(1);
                return;
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_every_job_and_reuses_idle_workers() {
        let pool = Pool::default();
        let (sender, receiver) = mpsc::channel();
        for i in 0..50 {
            let sender = sender.clone();
            pool.execute(move || sender.send((i, thread::current().id())).unwrap_or(()))
                .expect("spawned");
        }
        let mut seen: Vec<_> = (0..50).map(|_| receiver.recv().expect("job ran")).collect();
        seen.sort_by_key(|(i, _)| *i);
        assert_eq!(
            seen.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..50).collect::<Vec<_>>()
        );
        // Sequential jobs after the burst run on the same (idle) threads.
        thread::sleep(Duration::from_millis(50));
        let mut ids = std::collections::HashSet::new();
        for _ in 0..20 {
            let sender = sender.clone();
            pool.execute(move || sender.send((0, thread::current().id())).unwrap_or(()))
                .expect("spawned");
            ids.insert(receiver.recv().expect("job ran").1);
            thread::sleep(Duration::from_millis(2));
        }
        assert!(
            seen.iter().any(|(_, id)| ids.contains(id)),
            "no worker was reused"
        );
        pool.close();
    }
}
