//! The error catalogue: every error and warning dirsync reports, defined once.
//!
//! Each [`Code`] has one [`Definition`]: a message template, its cause, its
//! solution and its severity. The CLI, the JSON run report, the web UI and
//! the generated `docs/errors.md` all render these definitions; no other
//! place in the code base writes an error text for a catalogued situation.
//!
//! The nine errors of the seed article ("Rackspace Directory Sync best
//! practices and common errors") keep the article's wording, with its
//! `[USER]`-style placeholders replaced by `{name}` placeholders that are
//! filled from the object concerned. Codes are stable strings: `DS0xx` are
//! errors of one object, `DS1xx` directory warnings, `DS2xx` run-level stops.
//! A code is never reused for another meaning.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The object (or the run) was not synced as the directory says.
    Error,
    /// The object was synced, but something about it deserves attention.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Definition {
    pub code: Code,
    /// A short title, as the seed article's headings.
    pub title: &'static str,
    pub severity: Severity,
    /// The message with `{placeholder}` slots (see [`Definition::placeholders`]).
    pub template: &'static str,
    pub cause: &'static str,
    /// One or more solution steps.
    pub solution: &'static [&'static str],
    /// True when dirsync retries the situation itself and reports it only
    /// when the retries run out.
    pub retried: bool,
    /// True when dirsync predicts the situation before calling the API.
    pub predicted: bool,
}

impl Definition {
    /// The names of the `{placeholder}` slots in the template, in order.
    pub fn placeholders(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut rest = self.template;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            match after.find('}') {
                Some(end) => {
                    let name = &after[..end];
                    if !out.contains(&name) {
                        out.push(name);
                    }
                    rest = &after[end + 1..];
                }
                None => break,
            }
        }
        out
    }

    /// The solution steps joined as one paragraph.
    pub fn solution_text(&self) -> String {
        self.solution.join(" ")
    }
}

macro_rules! codes {
    ($($variant:ident = $s:literal),* $(,)?) => {
        /// A stable catalogue code. Serialises as its string (`"DS001"`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant),* }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable string, e.g. `DS001`.
            pub fn as_str(&self) -> &'static str {
                match self { $(Code::$variant => $s),* }
            }

            /// Parses a stable string (case-insensitive).
            pub fn parse(s: &str) -> Option<Code> {
                let u = s.trim().to_ascii_uppercase();
                match u.as_str() { $($s => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    InvalidMail = "DS001",
    MailboxLimitExceeded = "DS002",
    ExistsInAnotherService = "DS003",
    DomainNotAuthorized = "DS004",
    GroupAddressInUse = "DS005",
    AlternateAddressNotInDomain = "DS006",
    ContactDomainMissing = "DS007",
    ServiceIdChanged = "DS008",
    ConnectionInterrupted = "DS009",
    AddressInUse = "DS010",
    ApiRefused = "DS011",
    NestedGroupMembers = "DS101",
    UserInBothServiceGroups = "DS102",
    DuplicateDirectoryAddress = "DS103",
    ListMemberWithoutMailbox = "DS104",
    MalformedProxyAddress = "DS105",
    DeletionDeferred = "DS106",
    UnreadableRecord = "DS107",
    UnreadableRecordOutOfScope = "DS108",
    ThresholdExceeded = "DS201",
    UnsafeDirectoryRead = "DS202",
    TargetReadFailed = "DS203",
    GroupMassChange = "DS204",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Code::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown catalogue code '{s}'")))
    }
}

impl Code {
    /// This code's definition.
    pub fn definition(&self) -> &'static Definition {
        CATALOGUE
            .iter()
            .find(|d| d.code == *self)
            .expect("every code has exactly one definition (checked by a test)")
    }

    pub fn severity(&self) -> Severity {
        self.definition().severity
    }

    /// Renders the message with the given placeholder values. A missing value
    /// renders as the empty string, as the seed article shows for an empty
    /// `mail` (`The value ''`).
    pub fn render(&self, params: &BTreeMap<String, String>) -> String {
        render_template(self.definition().template, params)
    }
}

fn render_template(template: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if let Some(v) = params.get(name) {
                    out.push_str(v);
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A catalogued situation that happened to one object (or to the run), with
/// its message rendered. The cause and solution come from the definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The rendered message.
    pub message: String,
    /// The directory object concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<crate::Guid>,
    /// The values the message was rendered from.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

impl Finding {
    /// Builds a finding, rendering the message from `params`.
    pub fn new<'a>(
        code: Code,
        dn: Option<&str>,
        guid: Option<crate::Guid>,
        params: impl IntoIterator<Item = (&'a str, String)>,
    ) -> Finding {
        let params: BTreeMap<String, String> = params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Finding {
            code,
            severity: code.severity(),
            message: code.render(&params),
            dn: dn.map(str::to_string),
            guid,
            params,
        }
    }

    pub fn cause(&self) -> &'static str {
        self.code.definition().cause
    }

    pub fn solution(&self) -> String {
        self.code.definition().solution_text()
    }
}

/// Every definition, in code order.
pub static CATALOGUE: &[Definition] = &[
    Definition {
        code: Code::InvalidMail,
        title: "Unable to Sync User - The value specified in the mail attribute is invalid",
        severity: Severity::Error,
        template: "The value '{value}' specified in the mail attribute for {kind} '{object}' is invalid.",
        cause: "This error occurs because the Email Address field for the specific user is not set (or is not a valid email address).",
        solution: &["Within the Active Directory, set the desired email address, including the domain, to be associated with the user."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::MailboxLimitExceeded,
        title: "Unable to Sync User - Mailbox Limit Exceeded",
        severity: Severity::Error,
        template: "Performed action '{action}' for user '{user}'. Mailbox limit exceeded.",
        cause: "Directory Sync cannot create a new mailbox because all the purchased mailboxes are in use.",
        solution: &[
            "Add additional mailbox licenses through the Cloud Office Control Panel.",
            "Verify that the User is subscribed to the correct security group.",
        ],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::ExistsInAnotherService,
        title: "Unable to Sync User - User already Exists in Another Service in Control Panel",
        severity: Severity::Error,
        template: "Error occurred when provisioning user '{user}' for {service}. Please check that the user does not already exist in another service in control panel.",
        cause: "This occurs when a user who already has a mailbox is subscribed to a security group for the wrong email service. For example, the user has a Rackspace Email mailbox but is added to the Hosted Exchange security group.",
        solution: &["Reassign the user to the correct security group."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::DomainNotAuthorized,
        title: "Unable to Sync User - Received Unauthorized error",
        severity: Severity::Error,
        template: "Performed action '{action}' for user '{user}' on domain '{domain}'. Not authorized",
        cause: "This occurs because the domain used in the email address attribute does not match a hosted domain associated with your Cloud Office account.",
        solution: &["Correct the domain within the email address attribute to match a domain associated with your Cloud Office account."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::GroupAddressInUse,
        title: "Unable to Sync Distribution List - Group Already Exists",
        severity: Severity::Error,
        template: "Performed action '{action}' for group '{group}'. Error occurred when provisioning group '{group}' for Hosted Exchange Distribution List: Please check that the group does not already exist in another service in control panel.",
        cause: "This message is generated because the email address of the distribution list already exists within the control panel as a mailbox, alias, contact, grouplist, or distribution list.",
        solution: &[
            "Remove the mailbox within the control panel that matches the email address attribute of the Security Group in your Active Directory.",
            "Or create a new email address for the distribution list within the Active Directory that is currently not in use.",
        ],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::AlternateAddressNotInDomain,
        title: "Unable to Sync User - The alternate address was not in the primary domain or any of the alternate domains",
        severity: Severity::Error,
        template: "The alternate address was not in the primary domain or any of the alternate domains. (user '{user}', address '{address}')",
        cause: "This occurs because the domain used in the proxyAddresses attribute does not exist in our environment as an accepted domain or exists in another attribute such as the mail attribute. The proxyAddresses attribute is used to create alternate email addresses; any address that begins with smtp: will try to create an alternate email address associated to the user's mailbox.",
        solution: &[
            "Check the proxyAddresses attribute in the Attribute Editor tab of the user object in Active Directory Users and Computers (Advanced Features enabled), or with ADSI Edit.",
            "The domains that will work in the proxyAddresses attribute are the primary domain and accepted domains; do not use a domain that is listed as a domain alias.",
            "Ensure this value does not already exist in the mail/proxyAddresses attribute(s) of another user.",
        ],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::ContactDomainMissing,
        title: "Unable to Sync Contacts - The value specified in the otherMailBox attribute is invalid",
        severity: Severity::Error,
        template: "The value '{value}' specified in the otherMailBox attribute for contact '{contact}' is invalid.",
        cause: "This error is generated because the Directory Sync needs to specify which domain to create the contact in. With accounts that host multiple domains, the attribute otherMailbox is used to specify this domain. If you only have one domain on your account, this attribute does not need to be specified.",
        solution: &["Go to the Attribute Editor of the Contact object in Active Directory and specify the domain to sync in the otherMailbox attribute. This attribute only requires the domain name."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::ServiceIdChanged,
        title: "The Service ID specified in the mail attribute has changed",
        severity: Severity::Error,
        template: "The Service ID specified in the mail attribute for user '{user}' has changed from '{old}' to '{new}'. Directory Sync cannot change the Service ID for an object.",
        cause: "This error is generated when the username of the email address in Active Directory is changed.",
        solution: &[
            "Please create a ticket with your Cloud Office Support team to perform a mailbox rename of the user's email address,",
            "or set allow_rename = true in dirsync's settings, with an API key that has the control panel's rename permission, so that dirsync performs the rename through the control panel's rename operation,",
            "or change the mail attribute back to its previous value.",
        ],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::ConnectionInterrupted,
        title: "There was an error writing to the pipe: The pipe is being closed",
        severity: Severity::Error,
        template: "There was an error writing to the pipe: The pipe is being closed. (232, 0xe8) Performed action '{action}' for '{object}': {detail} (gave up after {attempts} attempts)",
        cause: "The connection to the control panel was closed, reset or timed out, or the control panel answered with a server error or a throttle, on every attempt. dirsync retries these automatically with exponential backoff, so this is reported only when the retries ran out.",
        solution: &[
            "Nothing was lost: the next run (scheduled, or a manual sync) picks the change up again.",
            "If it persists, check the network path and the control panel's API address, and raise the retry settings.",
        ],
        retried: true,
        predicted: false,
    },
    Definition {
        code: Code::AddressInUse,
        title: "Unable to Sync User - Address already in use",
        severity: Severity::Error,
        template: "Performed action '{action}' for {kind} '{object}'. The address '{address}' already exists within the control panel as another mailbox, alias, contact or distribution list.",
        cause: "The address of this object (its mail attribute, or one of its proxyAddresses) is already used by another object of the control panel that dirsync does not manage for this directory object.",
        solution: &[
            "Remove or rename the other object in the control panel,",
            "or change the address in Active Directory to one that is not in use.",
        ],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::ApiRefused,
        title: "The control panel refused a change",
        severity: Severity::Error,
        template: "Performed action '{action}' for {kind} '{object}'. The control panel answered: {detail}",
        cause: "The control panel's API refused the request for a reason dirsync does not catalogue separately; its own answer is quoted.",
        solution: &["Read the control panel's answer quoted in the message, correct the object in Active Directory or in the control panel, and sync again."],
        retried: false,
        predicted: false,
    },
    Definition {
        code: Code::NestedGroupMembers,
        title: "Members of nested groups are not synced as mailboxes",
        severity: Severity::Warning,
        template: "User '{user}' is a member of '{group}', a group nested in the service group, but not a direct member of the service group; no mailbox is synced for it. Do not use nested groups to create or sync users.",
        cause: "Only direct members of a service security group get a mailbox. Nested mail-enabled groups become distribution lists; their own members are not provisioned.",
        solution: &["Add the user directly to the service security group if it needs a mailbox."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::UserInBothServiceGroups,
        title: "User in both service groups",
        severity: Severity::Error,
        template: "User '{user}' is a member of both the Hosted Exchange and the Rackspace Email security groups. It is not synced until it belongs to exactly one of them.",
        cause: "A user can have a mailbox in one email service only; dirsync does not guess which one is meant.",
        solution: &["Remove the user from the security group of the service it should not use."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::DuplicateDirectoryAddress,
        title: "Duplicate address inside the directory",
        severity: Severity::Warning,
        template: "The address '{address}' of '{object}' is also used by '{other}' in the directory; it is not synced for '{object}'.",
        cause: "Two directory objects in scope carry the same address (in mail or proxyAddresses). An address can belong to one control-panel object only.",
        solution: &["Remove the duplicate address from one of the two objects in Active Directory."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::ListMemberWithoutMailbox,
        title: "Distribution list member without a mailbox",
        severity: Severity::Warning,
        template: "Member '{member}' ({name}) of distribution list '{group}' has no synced mailbox or contact; it is left out of the list.",
        cause: "A distribution list's members must exist in the control panel. The member is not a synced mailbox or contact (it is outside the service group, has an error of its own, or is another group).",
        solution: &["Add the member to the Hosted Exchange security group (users and contacts) and fix its own errors, or remove it from the group."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::MalformedProxyAddress,
        title: "Malformed proxyAddresses value",
        severity: Severity::Warning,
        template: "The value '{value}' in the proxyAddresses attribute of '{object}' is malformed and is ignored (expected smtp:address@domain).",
        cause: "Each proxyAddresses value must start with a type prefix (SMTP: for the primary address, smtp: for alternates) followed by a valid email address.",
        solution: &["Correct or remove the value in the Attribute Editor tab of the object in Active Directory Users and Computers."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::DeletionDeferred,
        title: "Deletion deferred by the grace period",
        severity: Severity::Warning,
        template: "The mailbox '{address}' of '{object}' left the sync scope; it is disabled and will be deleted after {date} under the delete policy.",
        cause: "The delete policy deletes mailboxes only after they have stayed out of scope for the configured grace period.",
        solution: &["Put the user back in the service security group to keep the mailbox, or wait for the grace period to end."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::UnreadableRecord,
        title: "Directory record that cannot be read (LDIF)",
        severity: Severity::Error,
        template: "LDIF file '{file}', line {line}: {record} cannot be read: {detail}. {effect}",
        cause: "The LDIF export holds a record of an object in the sync scope that dirsync cannot read: a value that is not valid base64 or UTF-8 text, a line that is not 'attribute: value', a change record instead of an entry, a multi-valued attribute cut by ranged retrieval, or an entry whose objectGUID is missing or malformed. One bad record stops nothing else: the other objects sync.",
        solution: &[
            "Correct the object named in the message in Active Directory (or the tool that writes the export) and export the file again; the line is that of the file this run read.",
            "Until then the object stays as it was last synced: it is neither updated nor disabled, and an object never synced before is not created. Each run reads the file again and reports the record until it is fixed.",
        ],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::UnreadableRecordOutOfScope,
        title: "Record outside the sync scope that cannot be read (LDIF)",
        severity: Severity::Warning,
        template: "LDIF file '{file}', line {line}: {record} cannot be read: {detail}. It is outside the sync scope and is ignored.",
        cause: "The LDIF export holds a record dirsync cannot read, of an object that is in neither service group (or whose DN cannot be read, so that no group can name it). It changes nothing this run.",
        solution: &["Correct the object in Active Directory and export the file again, or leave it out of the export."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::ThresholdExceeded,
        title: "Stopped by the disable/delete safety threshold",
        severity: Severity::Error,
        template: "The run would disable or delete {count} of {total} synced objects, more than the threshold of {percent}% and at least {min_count}. Nothing was changed.",
        cause: "A large share of the synced objects left the scope at once. This usually means a group or OU was changed by mistake, or the directory read is wrong.",
        solution: &[
            "Check the service security groups and the plan (dirsync plan).",
            "If the changes are intended, rerun once with the threshold overridden (dirsync sync --override-threshold).",
        ],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::UnsafeDirectoryRead,
        title: "Directory read refused as empty or partial",
        severity: Severity::Error,
        template: "The directory read cannot be trusted: {detail}. Nothing was disabled or deleted.",
        cause: "An empty, partial or failed directory read would look like every user left the scope. dirsync never takes it as such.",
        solution: &["Check the bind account's permissions, the base DN and the service group names, then run a full sync."],
        retried: false,
        predicted: true,
    },
    Definition {
        code: Code::TargetReadFailed,
        title: "The control panel could not be read",
        severity: Severity::Error,
        template: "Reading the control panel failed: {detail}. Nothing was changed.",
        cause: "dirsync compares the directory with the control panel's current state before changing anything; that read failed (authentication, network or server error).",
        solution: &["Check the API address, user key and secret, and the account number, with dirsync check; then run the sync again."],
        retried: true,
        predicted: false,
    },
    Definition {
        code: Code::GroupMassChange,
        title: "Stopped by the group safety limits",
        severity: Severity::Error,
        template: "The {kind} '{group}' had {before} member(s) at the last sync and has {after} now: {why}. Nothing was changed.",
        cause: "A service security group or a distribution list that is emptied, or loses a large share of its members at once, is usually a mistake (a script, a wrong drag and drop, a group replaced by another) or a directory read that is not whole. Applied, it would disable the members' mailboxes, delete lists and contacts, or take the members off the list. This limit holds whatever the size of the directory.",
        solution: &[
            "Check the group's members in Active Directory and the plan (dirsync plan).",
            "If the change is intended, rerun once with the safety limits overridden (dirsync sync --override-threshold).",
            "The share of a group that may leave at once is set by engine.threshold.group_percent and group_min_count.",
        ],
        retried: false,
        predicted: true,
    },
];

/// Why `dirsync check` could not read the control panel. Each kind has one
/// fix, shown next to the API's own words, so the administrator knows
/// which setting to look at. Not a [`Code`]: no run records these, the
/// preflight shows them (a run that cannot read the control panel reports
/// [`Code::TargetReadFailed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelFailure {
    /// Nothing answered (connection refused, timeout, DNS, TLS).
    Unreachable,
    /// The API refused the key (403 "Authentication failed.", or 401).
    KeyRefused,
    /// Any other 403: the key may not reach this account.
    AccountForbidden,
    /// 404: no such path.
    NoSuchPath,
    /// 5xx after the retries.
    ServerFailing,
    /// An answer that is not the Cloud Office API's.
    NotTheApi,
}

/// Every [`PanelFailure`] with its fix; `{account}` is the configured account.
pub static PANEL_FAILURE_FIXES: &[(PanelFailure, &str, &str)] = &[
    (PanelFailure::Unreachable, "Nothing answered", "nothing answered at api.url: check the address and port, and that this machine can reach it (firewall, proxy)"),
    (PanelFailure::KeyRefused, "The key was refused (403 Authentication failed, or 401)", "the API refused the key: check api.user_key, the secret key (api_secret_key in the secrets file, or DIRSYNC_API_SECRET_KEY), and this machine's clock, since signatures carry the time"),
    (PanelFailure::AccountForbidden, "Any other 403", "this API key may not reach account {account}: check api.account (a key reaches only its own customer's account)"),
    (PanelFailure::NoSuchPath, "404", "no such API path: check that api.url ends with the version prefix (e.g. https://api.emailsrvr.com/v1) and that account {account} exists"),
    (PanelFailure::ServerFailing, "5xx after the retries", "the control panel failed after the retries; try again later, or ask its operator"),
    (PanelFailure::NotTheApi, "An answer that is not the API's", "the address answered, but not as a Cloud Office API: check api.url"),
];

impl PanelFailure {
    /// The fix, with `account` filled in.
    pub fn fix(self, account: &str) -> String {
        let template = PANEL_FAILURE_FIXES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map(|(_, _, t)| *t)
            .expect("every kind has a fix (checked by a test)");
        let params = BTreeMap::from([("account".to_string(), account.to_string())]);
        render_template(template, &params)
    }
}

/// The catalogue as Markdown: the content of `docs/errors.md`.
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# dirsync error catalogue\n\n");
    s.push_str("<!-- Generated from crates/dirsync-model/src/catalogue.rs; do not edit by hand. A test and CI fail when this file is stale: regenerate every generated document with `scripts/gen-docs`. -->\n\n");
    s.push_str("Every error and warning dirsync reports has a stable code. The CLI, the JSON run report and the web UI show the same message, cause and solution.\n\n");
    s.push_str("- `DS0xx`: an object could not be synced as the directory says (errors 1 to 9 are the seed article's common errors).\n");
    s.push_str(
        "- `DS1xx`: directory warnings (and per-object errors of the directory: DS102, DS107).\n",
    );
    s.push_str("- `DS2xx`: the whole run stopped before changing anything.\n\n");
    s.push_str("Placeholders in `{braces}` are filled with the object's values.\n\n");
    s.push_str("| code | severity | title |\n|---|---|---|\n");
    for d in CATALOGUE {
        s.push_str(&format!(
            "| [{}](#{}) | {} | {} |\n",
            d.code,
            d.code.as_str().to_ascii_lowercase(),
            d.severity,
            d.title
        ));
    }
    for d in CATALOGUE {
        s.push_str(&format!("\n## {}\n\n", d.code));
        s.push_str(&format!("**{}** ({})\n\n", d.title, d.severity));
        s.push_str(&format!("**Message:** {}\n\n", d.template));
        s.push_str(&format!("**Cause:** {}\n\n", d.cause));
        s.push_str("**Solution:**\n\n");
        for step in d.solution {
            s.push_str(&format!("- {step}\n"));
        }
        let mut notes = Vec::new();
        if d.predicted {
            notes.push("predicted locally before any API call (shown by `dirsync check` and `dirsync plan`)");
        }
        if d.retried {
            notes.push("retried automatically; reported only when the retries run out");
        }
        if !notes.is_empty() {
            s.push_str(&format!("\n_{}._\n", notes.join("; ")));
        }
    }
    s.push_str("\n## Control panel check failures\n\n");
    s.push_str("When `dirsync check` cannot read the control panel, it shows the API's answer and the fix for its kind (`{account}` is `api.account`):\n\n");
    s.push_str("| answer | fix |\n|---|---|\n");
    for (_, answer, fix) in PANEL_FAILURE_FIXES {
        s.push_str(&format!("| {answer} | {fix} |\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_panel_failure_has_one_fix() {
        use PanelFailure::*;
        for k in [
            Unreachable,
            KeyRefused,
            AccountForbidden,
            NoSuchPath,
            ServerFailing,
            NotTheApi,
        ] {
            assert_eq!(
                PANEL_FAILURE_FIXES
                    .iter()
                    .filter(|(f, _, _)| *f == k)
                    .count(),
                1,
                "{k:?}"
            );
            assert!(!k.fix("42").contains('{'), "{k:?}");
        }
        assert!(AccountForbidden.fix("42").contains("account 42"));
    }

    #[test]
    fn one_definition_per_code_and_unique_strings() {
        for c in Code::ALL {
            assert_eq!(CATALOGUE.iter().filter(|d| d.code == *c).count(), 1, "{c}");
            assert_eq!(Code::parse(c.as_str()), Some(*c));
            assert!(!c.definition().cause.is_empty() && !c.definition().solution.is_empty());
        }
        assert_eq!(CATALOGUE.len(), Code::ALL.len());
    }

    /// The seed article's nine messages, rendered with the article's own
    /// example values, reproduce its wording.
    #[test]
    fn seed_wording() {
        let cases: Vec<(Code, BTreeMap<String, String>, &str)> = vec![
            (
                Code::InvalidMail,
                p(&[("value", ""), ("kind", "user"), ("object", "[USER]")]),
                "The value '' specified in the mail attribute for user '[USER]' is invalid.",
            ),
            (
                Code::MailboxLimitExceeded,
                p(&[("action", "Create"), ("user", "User Name")]),
                "Performed action 'Create' for user 'User Name'. Mailbox limit exceeded.",
            ),
            (
                Code::ExistsInAnotherService,
                p(&[("user", "[User-Name]"), ("service", "Hosted Exchange Mailboxes")]),
                "Error occurred when provisioning user '[User-Name]' for Hosted Exchange Mailboxes. Please check that the user does not already exist in another service in control panel.",
            ),
            (
                Code::DomainNotAuthorized,
                p(&[("action", "Create"), ("user", "[User-Name]"), ("domain", "[Domain]")]),
                "Performed action 'Create' for user '[User-Name]' on domain '[Domain]'. Not authorized",
            ),
            (
                Code::GroupAddressInUse,
                p(&[("action", "Update"), ("group", "[Security Group]")]),
                "Performed action 'Update' for group '[Security Group]'. Error occurred when provisioning group '[Security Group]' for Hosted Exchange Distribution List: Please check that the group does not already exist in another service in control panel.",
            ),
            (
                Code::ContactDomainMissing,
                p(&[("value", ""), ("contact", "CN=Gmail Aaron Medrano,CN=Users,DC=aaron,DC=local")]),
                "The value '' specified in the otherMailBox attribute for contact 'CN=Gmail Aaron Medrano,CN=Users,DC=aaron,DC=local' is invalid.",
            ),
            (
                Code::ServiceIdChanged,
                p(&[("user", "CN=User"), ("old", "userA"), ("new", "userB")]),
                "The Service ID specified in the mail attribute for user 'CN=User' has changed from 'userA' to 'userB'. Directory Sync cannot change the Service ID for an object.",
            ),
        ];
        for (code, params, want) in cases {
            assert_eq!(code.render(&params), want, "{code}");
        }
        let alt =
            Code::AlternateAddressNotInDomain.render(&p(&[("user", "u"), ("address", "a@b.c")]));
        assert!(alt.starts_with(
            "The alternate address was not in the primary domain or any of the alternate domains."
        ));
        let pipe = Code::ConnectionInterrupted.render(&p(&[]));
        assert!(pipe.starts_with(
            "There was an error writing to the pipe: The pipe is being closed. (232, 0xe8)"
        ));
    }

    #[test]
    fn finding_renders_and_serialises_code_as_string() {
        let f = Finding::new(
            Code::InvalidMail,
            Some("CN=A,DC=x"),
            None,
            [
                ("value", String::new()),
                ("kind", "user".into()),
                ("object", "CN=A,DC=x".into()),
            ],
        );
        assert_eq!(
            f.message,
            "The value '' specified in the mail attribute for user 'CN=A,DC=x' is invalid."
        );
        assert_eq!(f.severity, Severity::Error);
        let j = serde_json::to_value(&f).unwrap();
        assert_eq!(j["code"], "DS001");
        let back: Finding = serde_json::from_value(j).unwrap();
        assert_eq!(back, f);
        assert!(f.solution().contains("set the desired email address"));
    }

    #[test]
    fn placeholders_listed() {
        assert_eq!(
            Code::GroupAddressInUse.definition().placeholders(),
            vec!["action", "group"]
        );
    }

    /// `docs/errors.md` is generated from the catalogue; this fails when it is
    /// stale. `scripts/gen-docs` (or `DIRSYNC_BLESS=1`) rewrites it.
    #[test]
    fn docs_errors_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
        let want = markdown();
        if std::env::var("DIRSYNC_BLESS").is_ok() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/errors.md is stale: regenerate it with `scripts/gen-docs`"
        );
    }
}
