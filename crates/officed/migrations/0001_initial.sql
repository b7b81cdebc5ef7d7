-- officed schema, version 1. Portable SQL: runs unchanged on SQLite and
-- PostgreSQL (TEXT ids, BIGINT integers and 0/1 flags, unix-millisecond times).

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    account_number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE domains (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    name TEXT NOT NULL UNIQUE,
    service_type TEXT NOT NULL,
    ex_licences BIGINT NOT NULL,
    rs_licences BIGINT NOT NULL,
    -- bumped as the first statement of every write transaction on the domain:
    -- it takes the row lock (PostgreSQL) or the write lock (SQLite), so
    -- licence counting is serialised per domain.
    lock_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX domains_customer ON domains(customer_id);

-- Domain aliases: name is globally unique (a name is hosted once).
CREATE TABLE domain_aliases (
    name TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id)
);

-- Accepted domains (for alternate addresses): other domains of the same customer.
CREATE TABLE accepted_domains (
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL,
    PRIMARY KEY (domain_id, name)
);

-- Every address of every object of a customer. The primary key is the
-- case-insensitive uniqueness rule across both services.
CREATE TABLE addresses (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    address_key TEXT NOT NULL,
    address TEXT NOT NULL,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    is_primary BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (customer_id, address_key)
);
CREATE INDEX addresses_owner ON addresses(owner_id);

-- Exchange ('ex') and Rackspace Email ('rs') mailboxes. Deleted rows stay
-- (deleted_at set, addresses released and kept in deleted_addresses) for 14 days.
CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    initials TEXT,
    enabled BIGINT NOT NULL,
    hidden BIGINT NOT NULL,
    size_mb BIGINT NOT NULL,
    usage_mb BIGINT NOT NULL,
    contact_info TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_addresses TEXT
);
CREATE INDEX mailboxes_domain ON mailboxes(domain_id, service, name_key);

CREATE TABLE rs_aliases (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    targets TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX rs_aliases_name ON rs_aliases(domain_id, name_key);

CREATE TABLE ex_contacts (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    external_email TEXT NOT NULL,
    hidden BIGINT NOT NULL,
    contact_info TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ex_contacts_name ON ex_contacts(domain_id, name_key);

CREATE TABLE ex_lists (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES domains(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    hidden BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ex_lists_name ON ex_lists(domain_id, name_key);

CREATE TABLE ex_list_members (
    list_id TEXT NOT NULL REFERENCES ex_lists(id),
    member_key TEXT NOT NULL,
    member TEXT NOT NULL,
    PRIMARY KEY (list_id, member_key)
);

-- API keys: the secret is encrypted (ChaCha20-Poly1305) with a key kept
-- outside the database, so a copy of the database does not reveal it.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    user_key TEXT NOT NULL UNIQUE,
    secret_enc TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- Every change: who (API key or admin), when, what.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    customer_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
