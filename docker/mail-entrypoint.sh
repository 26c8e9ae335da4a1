#!/bin/sh
# Starts the demo mail stack with two users, then stays in the foreground.
set -eu
dir=/var/lib/mailstack
mkdir -p "$dir"
chmod 755 "$dir"
MAILSTACK_IMAP_PORT=143 MAILSTACK_IMAPS_PORT=993 MAILSTACK_SUBMISSION_PORT=587 MAILSTACK_SMTP_PORT=25 \
  MAILSTACK_SIEVE_PORT=4190 MAILSTACK_POP3_PORT=110 \
  mailstack up "$dir"
mailstack adduser "$dir" alice@example.test demo-password
mailstack adduser "$dir" bob@example.test demo-password
echo "Demo mail server ready: alice@example.test / demo-password"
exec tail -F "$dir/log/dovecot.log" "$dir/log/postfix.log"
