//! Typed calls of the documented resources (domains, mailboxes, aliases,
//! contacts, distribution lists) on top of the generic requests.

use reqwest::Method;

use super::{Client, ClientError};
use crate::paths;
use crate::types::*;

impl Client {
    /// Renames a mailbox (`POST .../mailboxes/{name}/rename`, `newName=`):
    /// the administrator's operation, which only keys with the rename
    /// permission may call. Without it the answer is 403 `Not authorized`
    /// ([`RuleViolation::NotAuthorized`](crate::RuleViolation::NotAuthorized)).
    pub async fn rename_mailbox(
        &self,
        customer: &str,
        domain: &str,
        exchange: bool,
        name: &str,
        new_name: &str,
    ) -> Result<(), ClientError> {
        let path = if exchange {
            paths::ex_mailbox_rename(customer, domain, name)
        } else {
            paths::rs_mailbox_rename(customer, domain, name)
        };
        self.send_form(
            Method::POST,
            &path,
            &MailboxRenameForm {
                new_name: new_name.to_string(),
            },
        )
        .await
    }

    /// All domains of the customer.
    pub async fn domains(&self, customer: &str) -> Result<Vec<Domain>, ClientError> {
        self.list_all(&paths::domains(customer), |p: DomainList| {
            (p.domains, p.total)
        })
        .await
    }

    /// The Exchange mailboxes' list items (`name`, `displayName`): one GET
    /// per page of 250.
    pub async fn ex_mailbox_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::ex_mailboxes(customer, domain),
            |p: ExchangeMailboxList| (p.mailboxes, p.total),
        )
        .await
    }

    /// One Exchange mailbox (`None` when it does not exist).
    pub async fn ex_mailbox(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<ExchangeMailbox>, ClientError> {
        self.get_one(&paths::ex_mailbox(customer, domain, name))
            .await
    }

    /// Every Exchange mailbox in full: the list, then one GET per mailbox
    /// (the documented list items carry only names).
    pub async fn ex_mailboxes(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ExchangeMailbox>, ClientError> {
        let mut out = Vec::new();
        for item in self.ex_mailbox_names(customer, domain).await? {
            out.extend(self.ex_mailbox(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The Rackspace Email mailboxes' list items.
    pub async fn rs_mailbox_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::rs_mailboxes(customer, domain),
            |p: RsMailboxList| (p.rs_mailboxes, p.total),
        )
        .await
    }

    /// One Rackspace Email mailbox.
    pub async fn rs_mailbox(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<RsMailbox>, ClientError> {
        self.get_one(&paths::rs_mailbox(customer, domain, name))
            .await
    }

    /// Every Rackspace Email mailbox in full (list, then one GET each).
    pub async fn rs_mailboxes(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<RsMailbox>, ClientError> {
        let mut out = Vec::new();
        for item in self.rs_mailbox_names(customer, domain).await? {
            out.extend(self.rs_mailbox(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The aliases' list items (`name`, `numberOfMembers`, `singleMemberName`).
    pub async fn rs_alias_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(&paths::rs_aliases(customer, domain), |p: RsAliasList| {
            (p.aliases, p.total)
        })
        .await
    }

    /// One alias.
    pub async fn rs_alias(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<RsAlias>, ClientError> {
        self.get_one(&paths::rs_alias(customer, domain, name)).await
    }

    /// Every alias in full (list, then one GET each).
    pub async fn rs_aliases(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<RsAlias>, ClientError> {
        let mut out = Vec::new();
        for item in self.rs_alias_names(customer, domain).await? {
            out.extend(self.rs_alias(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The contacts' list items.
    pub async fn ex_contact_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::ex_contacts(customer, domain),
            |p: ExchangeContactList| (p.contacts, p.total),
        )
        .await
    }

    /// One contact.
    pub async fn ex_contact(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<ExchangeContact>, ClientError> {
        self.get_one(&paths::ex_contact(customer, domain, name))
            .await
    }

    /// Every contact in full (list, then one GET each).
    pub async fn ex_contacts(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ExchangeContact>, ClientError> {
        let mut out = Vec::new();
        for item in self.ex_contact_names(customer, domain).await? {
            out.extend(self.ex_contact(customer, domain, &item.name).await?);
        }
        Ok(out)
    }

    /// The distribution lists' list items.
    pub async fn ex_list_names(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<ListItem>, ClientError> {
        self.list_all(
            &paths::ex_lists(customer, domain),
            |p: DistributionListList| (p.distribution_lists, p.total),
        )
        .await
    }

    /// One distribution list with its members.
    pub async fn ex_list(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<DistributionList>, ClientError> {
        self.get_one(&paths::ex_list(customer, domain, name)).await
    }

    /// The members of one distribution list.
    pub async fn ex_list_members(
        &self,
        customer: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<MemberList>, ClientError> {
        self.get_one(&paths::ex_list_members(customer, domain, name))
            .await
    }

    /// Every distribution list in full (list, then one GET each).
    pub async fn ex_lists(
        &self,
        customer: &str,
        domain: &str,
    ) -> Result<Vec<DistributionList>, ClientError> {
        let mut out = Vec::new();
        for item in self.ex_list_names(customer, domain).await? {
            out.extend(self.ex_list(customer, domain, &item.name).await?);
        }
        Ok(out)
    }
}
