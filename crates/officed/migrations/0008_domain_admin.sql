-- officed schema, version 8: domain add, edit and delete and alternate
-- domains through the API (Domain page, "Reseller Only" operations).
--
-- api_keys.allow_domain_admin: the key may add, edit and delete its own
-- customer's domains and their alternate domains (`officed key issue
-- --allow-domain-admin`). Alternate domains are the existing
-- domain_aliases (type DomainAlias) and accepted_domains (AcceptedDomain)
-- rows; accepted_domains gets an index by name, read when a domain is
-- deleted. domains.settings holds the documented domain fields officed
-- stores and returns without acting on them (storage sizes, archiving,
-- mobile services, rsEmailProduct), as a JSON object.
-- api_throttle: the documented "POST, PUT, DELETE on a domain" and "POST,
-- DELETE on alternate domains" rows (2 a minute each), counted per key and
-- minute beside gets and writes (PostgreSQL; SQLite counts in memory).

ALTER TABLE api_keys ADD COLUMN allow_domain_admin BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
CREATE INDEX accepted_domains_name ON accepted_domains(name);
ALTER TABLE api_throttle ADD COLUMN domain_writes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_throttle ADD COLUMN alternate_writes BIGINT NOT NULL DEFAULT 0;
