//! A message to send, with the property helpers the Java `Message` class offers.

use bytes::Bytes;

use super::properties::{encode_properties, keys, Properties};

/// A message for SEND_MESSAGE / SEND_BATCH_MESSAGE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// The user flag, stored as is.
    pub flag: i32,
    pub properties: Properties,
}

impl Message {
    /// A message with a body and no properties.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            properties: Properties::default(),
        }
    }

    /// Sets a property. An empty name or value would be dropped by every reader, so it
    /// is not stored.
    pub fn put_property(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if !name.is_empty() && !value.is_empty() {
            self.properties.insert(name, value);
        }
    }

    /// The property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// Sets the tag.
    pub fn set_tags(&mut self, tags: impl Into<String>) {
        self.put_property(keys::TAGS, tags);
    }

    /// Sets the business keys, joined with spaces.
    pub fn set_keys<I, S>(&mut self, keys_list: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = keys_list
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .filter(|k| !k.is_empty())
            .collect::<Vec<_>>()
            .join(keys::KEY_SEPARATOR);
        self.put_property(keys::KEYS, joined);
    }

    /// Sets the delay level (1..=18 on a default broker); 0 or less clears it.
    pub fn set_delay_level(&mut self, level: i32) {
        if level > 0 {
            self.put_property(keys::DELAY, level.to_string());
        } else {
            self.properties.remove(keys::DELAY);
        }
    }

    /// Sets UNIQ_KEY unless the message already has one (Java `setUniqID`).
    pub fn set_uniq_key_if_absent(&mut self, id: impl FnOnce() -> String) {
        if !self.properties.contains_key(keys::UNIQ_KEY) {
            self.put_property(keys::UNIQ_KEY, id());
        }
    }

    /// Sets WAIT (the Java producer always writes "true").
    pub fn set_wait_store_msg_ok(&mut self, wait: bool) {
        self.put_property(keys::WAIT, wait.to_string());
    }

    /// The encoded properties string for the send header.
    pub fn encoded_properties(&self) -> String {
        encode_properties(&self.properties)
    }
}
