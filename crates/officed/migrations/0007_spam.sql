-- officed schema, version 7: the documented spam settings and lists of
-- domains and Rackspace Email mailboxes (Domain Spam and Mailbox Spam
-- pages). officed stores and answers them; it does not filter mail.
-- owner_id is a domain id or a mailbox id.

CREATE TABLE spam_settings (
    owner_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL
);

CREATE TABLE spam_list_entries (
    owner_id TEXT NOT NULL,
    list TEXT NOT NULL,
    entry_key TEXT NOT NULL,
    entry TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, list, entry_key)
);
