# A demo Dovecot + Postfix for docker-compose, configured by the same script the tests use.
FROM debian:bookworm-slim
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
    && echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections \
    && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved dovecot-pop3d postfix \
       openssl ca-certificates procps \
    && rm -rf /var/lib/apt/lists/*
COPY scripts/mailstack /usr/local/bin/mailstack
COPY docker/mail-entrypoint.sh /usr/local/bin/mail-entrypoint
ENTRYPOINT ["/usr/local/bin/mail-entrypoint"]
