//! Mailroom: a self-hosted, server-rendered webmail.
//!
//! # Layout
//! - [`config`]: the one configuration struct (file + `MAILROOM_*` env), with the server map.
//! - [`directory`]: which mail servers serve a login's domain (the map, DNS SRV, defaults).
//! - [`app`]: shared state, `App::build` (also used by the tests).
//! - [`server`]: the HTTP listener with its timeouts and connection cap.
//! - [`error`]: the one error type; turned into pages by [`web::layout`].
//! - [`web`]: the route table and one handler file per area (`auth`, `mailbox`, `message`).
//! - [`imap`]: every conversation with the IMAP server, behind typed functions.
//! - [`live`]: one IMAP watcher per user with a page open, feeding `GET /events`.
//! - [`mime`]: parsing, sanitizing and rendering messages; no I/O.
//! - [`store`]: Mailroom's own database, SQLite or PostgreSQL (sessions, settings, identities,
//!   contacts, compose staging, throttling, trusted senders, other mailboxes, two-factor
//!   login).
//! - [`totp`]: one-time passwords (RFC 6238), their QR code and recovery codes; no I/O.
//! - [`i18n`]: the translation catalog.
//! - [`ids`]: random tokens and ids.
//! - [`model`]: small domain types shared by the layers.
//! - [`smtp`]: sending mail through the submission server as the logged-in user.
//! - [`send`]: the send workflow (claim, SMTP, Sent copy, flags, drafts, contacts), apart
//!   from HTTP, for the compose handler and background workers alike.
//! - [`zone`]: the user's time zone (saved setting, browser's zone at login, default).
//! - [`sieve`]: mail rules kept on the server with ManageSieve (filters, vacation, forwarding).
//! - [`fetch`]: mail from other mailboxes (POP3/IMAP accounts elsewhere), apart from HTTP.

pub mod app;
pub mod config;
pub mod directory;
pub mod error;
pub mod fetch;
pub mod health;
pub mod i18n;
pub mod ids;
pub mod imap;
pub mod live;
pub mod metrics;
pub mod mime;
pub mod model;
pub mod send;
pub mod server;
pub mod sieve;
pub mod smtp;
pub mod store;
pub mod totp;
pub mod vault;
pub mod web;
pub mod zone;
