//! Mailroom's one integration test binary: a real Dovecot and Postfix on loopback, the app on port 0.

mod common;

mod actions;
mod appearance;
mod auth;
mod browser;
mod compose;
mod contacts;
mod cyrus;
mod export;
mod folders;
mod forms;
mod heavy;
mod hostile;
mod http_limits;
mod imap;
mod instances;
mod mailbox;
mod mailstack_selftest;
mod message;
mod mime_golden;
mod ops;
mod quota_acl;
mod rules;
mod search;
mod security;
mod send;
mod settings;
mod threads;
