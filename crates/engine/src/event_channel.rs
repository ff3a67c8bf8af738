//! The per-request event channel between the engine thread and its caller. The sending side
//! never blocks; the receiving side can block (`recv`, for threads) or be polled with a
//! `std::task::Context` (`poll_recv`, for an async server) without the engine knowing any async
//! runtime. Dropping the receiver marks the channel closed, which the engine sees at its next
//! step and treats as a cancellation: the request's KV blocks are freed at once.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::request::Event;

#[derive(Default)]
struct State {
    queue: VecDeque<Event>,
    sender_gone: bool,
    receiver_gone: bool,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave `State` inconsistent (every update is a
        // single push or flag), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The engine's end of a request's channel.
pub(crate) struct EventSender {
    shared: Arc<Shared>,
}

/// The caller's end of a request's channel.
pub struct EventReceiver {
    shared: Arc<Shared>,
}

/// A connected pair.
pub(crate) fn channel() -> (EventSender, EventReceiver) {
    let shared = Arc::new(Shared::default());
    (
        EventSender {
            shared: shared.clone(),
        },
        EventReceiver { shared },
    )
}

impl EventSender {
    /// Queues `event`; false when the receiver is gone.
    pub(crate) fn send(&self, event: Event) -> bool {
        let mut s = self.shared.lock();
        if s.receiver_gone {
            return false;
        }
        s.queue.push_back(event);
        let waker = s.waker.take();
        drop(s);
        self.shared.ready.notify_one();
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Whether the receiver was dropped (the request is cancelled).
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().receiver_gone
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        let mut s = self.shared.lock();
        s.sender_gone = true;
        let waker = s.waker.take();
        drop(s);
        self.shared.ready.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl EventReceiver {
    /// The next event, blocking; `None` once the engine has dropped the request.
    pub fn recv(&self) -> Option<Event> {
        let mut s = self.shared.lock();
        loop {
            if let Some(e) = s.queue.pop_front() {
                return Some(e);
            }
            if s.sender_gone {
                return None;
            }
            s = self.shared.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Option<Event> {
        self.shared.lock().queue.pop_front()
    }

    /// Polls for the next event: `Ready(None)` once the engine has dropped the request.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut s = self.shared.lock();
        if let Some(e) = s.queue.pop_front() {
            return Poll::Ready(Some(e));
        }
        if s.sender_gone {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for EventReceiver {
    fn drop(&mut self) {
        let mut s = self.shared.lock();
        s.receiver_gone = true;
        s.queue.clear();
    }
}

impl std::fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventReceiver")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_arrive_in_order_and_end_when_the_sender_goes() {
        let (tx, rx) = channel();
        assert!(tx.send(Event::Error("a".into())));
        assert!(tx.send(Event::Error("b".into())));
        drop(tx);
        assert_eq!(rx.recv(), Some(Event::Error("a".into())));
        assert_eq!(rx.recv(), Some(Event::Error("b".into())));
        assert_eq!(rx.recv(), None);
    }

    #[test]
    fn dropping_the_receiver_closes_the_channel() {
        let (tx, rx) = channel();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert!(!tx.send(Event::Error("x".into())));
    }
}
