//! The push consumer, one concern per module.

pub mod allocate;
