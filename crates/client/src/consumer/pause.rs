//! Pausing a consumer's pulls, as Java's `DefaultMQPushConsumer.suspend()` / `resume()` do,
//! for the whole consumer or for some of its topics.
//!
//! A paused queue is not pulled (its loop looks again every [`PAUSED_PULL_DELAY`]); messages
//! already pulled are still consumed and committed, as in Java. Pausing a topic does not
//! pause the group's retry topic, which carries the failed messages of every topic; pausing
//! the whole consumer does.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How often a paused queue's loop checks whether it may pull again (Java's
/// `PULL_TIME_DELAY_MILLS_WHEN_SUSPEND`).
pub const PAUSED_PULL_DELAY: Duration = Duration::from_secs(1);

/// What is paused: everything, or a set of topics.
#[derive(Debug, Default)]
pub struct PauseSwitch {
    all: AtomicBool,
    topics: Mutex<HashSet<String>>,
}

impl PauseSwitch {
    fn topics(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pauses `topics`, or everything when `None`.
    pub fn pause(&self, topics: Option<&[String]>) {
        match topics {
            None => self.all.store(true, Ordering::Release),
            Some(topics) => self.topics().extend(topics.iter().cloned()),
        }
    }

    /// Resumes `topics`, or everything (every topic paused by name included) when `None`.
    pub fn resume(&self, topics: Option<&[String]>) {
        match topics {
            None => {
                self.all.store(false, Ordering::Release);
                self.topics().clear();
            }
            Some(topics) => {
                let mut paused = self.topics();
                for topic in topics {
                    paused.remove(topic);
                }
            }
        }
    }

    /// Whether queues of `topic` must not be pulled now.
    pub fn is_paused(&self, topic: &str) -> bool {
        self.all.load(Ordering::Acquire) || self.topics().contains(topic)
    }

    /// Whether the whole consumer is paused.
    pub fn all_paused(&self) -> bool {
        self.all.load(Ordering::Acquire)
    }

    /// The topics paused by name, sorted.
    pub fn paused_topics(&self) -> Vec<String> {
        let mut topics: Vec<String> = self.topics().iter().cloned().collect();
        topics.sort();
        topics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_everything_or_named_topics() {
        let switch = PauseSwitch::default();
        assert!(!switch.is_paused("A"));
        switch.pause(Some(&["A".to_owned()]));
        assert!(switch.is_paused("A"));
        assert!(!switch.is_paused("B"));
        assert!(!switch.is_paused("%RETRY%G"));
        switch.pause(None);
        assert!(switch.is_paused("B") && switch.is_paused("%RETRY%G"));
        switch.resume(Some(&["A".to_owned()]));
        assert!(switch.is_paused("A"), "still paused as a whole");
        switch.resume(None);
        assert!(!switch.is_paused("A") && !switch.all_paused());
        switch.pause(Some(&["A".to_owned(), "B".to_owned()]));
        switch.resume(None);
        assert!(switch.paused_topics().is_empty());
    }
}
