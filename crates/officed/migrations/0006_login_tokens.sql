-- officed schema, version 6: Rackspace Email login tokens
-- (`POST .../rs/mailboxes/{name}/loginToken`). Only a SHA-256 hash of each
-- token is kept, and each expires after a few minutes; officed has no
-- webmail that redeems them, so they are kept for the audit and expiry only.

CREATE TABLE rs_login_tokens (
    token_hash TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rs_login_tokens_expiry ON rs_login_tokens(expires_at);
