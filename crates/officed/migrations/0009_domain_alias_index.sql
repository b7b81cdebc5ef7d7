-- officed schema, version 9: an index of domain aliases by domain.
--
-- Every mailbox, alias and address write resolves its domain's aliases
-- (`WHERE domain_id = ?`); domain_aliases is keyed by name, so that lookup
-- scanned the table, growing with every customer's aliases.

CREATE INDEX domain_aliases_domain ON domain_aliases(domain_id);
