//! Shared test harness: the real mail stack and the app under test.

pub mod app;
pub mod direct;
pub mod group;
pub mod mailstack;
pub mod pgstack;
pub mod relay;
