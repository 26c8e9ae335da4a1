//! Mailroom's one integration test binary: a real Dovecot and Postfix on loopback, the app on port 0.

mod common;

mod actions;
mod auth;
mod compose;
mod contacts;
mod hostile;
mod imap;
mod mailbox;
mod mailstack_selftest;
mod message;
mod mime_golden;
mod security;
mod settings;
