//! Talking to the test Dovecot through Mailroom's own `Imap` client, bypassing HTTP: for
//! tests that check the IMAP layer or reach its fallbacks with `ignore_capabilities`.

use std::time::Duration;

use mailroom::{
    config::{Endpoint, Secret, Security},
    imap::{Account, Imap},
};

use super::mailstack::{MailStack, TestUser};

/// An `Imap` client for the stack's implicit-TLS port, trusting its CA.
pub fn client(stack: &MailStack) -> Imap {
    Imap::new(
        Endpoint {
            host: "127.0.0.1".into(),
            port: stack.imaps_port,
            security: Security::Tls,
            ca_file: Some(stack.ca_file.clone()),
        },
        Duration::from_secs(300),
    )
    .expect("Imap::new")
}

/// A fresh login of `user` (its own pool key).
pub fn account(user: &TestUser) -> Account {
    Account {
        login_id: format!("login-{}", rand::random::<u64>()),
        username: user.address.clone(),
        password: Secret::new(user.password.clone()),
        server: None,
    }
}
