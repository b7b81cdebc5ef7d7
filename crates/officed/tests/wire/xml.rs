//! A small XML reader for checking answers: elements, attributes and text
//! (entities `&lt; &gt; &amp; &quot; &apos;` decoded), the declaration and
//! comments skipped. Enough to compare officed's XML with the documented
//! examples; not a general parser (no DTDs, no CDATA).

use std::collections::BTreeMap;

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The name as written (with any prefix).
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    pub children: Vec<Node>,
    /// The text directly inside, trimmed.
    pub text: String,
}

impl Node {
    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The child's text; panics naming the path when it is missing.
    #[track_caller]
    pub fn text_of(&self, name: &str) -> &str {
        &self
            .child(name)
            .unwrap_or_else(|| panic!("<{}> has a <{name}>: {:?}", self.name, self.names()))
            .text
    }

    /// Follows a path of child names.
    #[track_caller]
    pub fn at(&self, path: &[&str]) -> &Node {
        let mut n = self;
        for p in path {
            n = n
                .child(p)
                .unwrap_or_else(|| panic!("<{}> has a <{p}>: {:?}", n.name, n.names()));
        }
        n
    }

    /// The names of the child elements, in order.
    pub fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    /// The default namespace (`xmlns`).
    pub fn ns(&self) -> Option<&str> {
        self.attrs.get("xmlns").map(String::as_str)
    }
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Parses a document into its root element.
pub fn parse(doc: &str) -> Result<Node, String> {
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut rest = doc;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            if after.starts_with('?') || after.starts_with("!--") {
                let end = if after.starts_with('?') { "?>" } else { "-->" };
                let i = after
                    .find(end)
                    .ok_or("unterminated declaration or comment")?;
                rest = &after[i + end.len()..];
                continue;
            }
            let close = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[..close];
            rest = &after[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let n = stack.pop().ok_or("close tag without open tag")?;
                if n.name != name.trim() {
                    return Err(format!("</{}> closes <{}>", name.trim(), n.name));
                }
                attach(&mut stack, &mut root, n)?;
                continue;
            }
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/').trim();
            let (name, attr_src) = match tag.find(char::is_whitespace) {
                Some(i) => (&tag[..i], &tag[i..]),
                None => (tag, ""),
            };
            let mut attrs = BTreeMap::new();
            let mut a = attr_src.trim();
            while !a.is_empty() {
                let eq = a.find('=').ok_or("attribute without value")?;
                let key = a[..eq].trim().to_string();
                let v = a[eq + 1..].trim_start();
                let q = v.chars().next().ok_or("attribute value")?;
                if q != '"' && q != '\'' {
                    return Err("unquoted attribute".into());
                }
                let end = v[1..].find(q).ok_or("unterminated attribute")?;
                attrs.insert(key, decode(&v[1..1 + end]));
                a = v[end + 2..].trim_start();
            }
            let node = Node {
                name: name.to_string(),
                attrs,
                children: vec![],
                text: String::new(),
            };
            if self_closing {
                attach(&mut stack, &mut root, node)?;
            } else {
                stack.push(node);
            }
        } else {
            let i = rest.find('<').unwrap_or(rest.len());
            let text = rest[..i].trim();
            if !text.is_empty() {
                let top = stack.last_mut().ok_or("text outside the root element")?;
                top.text.push_str(&decode(text));
            }
            rest = &rest[i..];
        }
    }
    if !stack.is_empty() {
        return Err(format!("<{}> is not closed", stack.last().unwrap().name));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, n: Node) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(n),
        None if root.is_none() => *root = Some(n),
        None => return Err("two root elements".into()),
    }
    Ok(())
}

#[test]
fn reads_the_documented_domain_list() {
    let doc = r#"<?xml version="1.0" encoding="utf-8"?>
<domainList xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="urn:xml:domainList">
  <offset>0</offset>
  <size>50</size>
  <total>1</total>
  <domains>
    <domain>
      <name>customer.com</name>
      <accountNumber>123456</accountNumber>
      <serviceType>rsemail</serviceType>
    </domain>
  </domains>
  <empty />
</domainList>"#;
    let n = parse(doc).unwrap();
    assert_eq!(n.name, "domainList");
    assert_eq!(n.ns(), Some("urn:xml:domainList"));
    assert_eq!(n.text_of("total"), "1");
    assert_eq!(n.at(&["domains", "domain"]).text_of("name"), "customer.com");
    assert_eq!(n.child("empty").unwrap().text, "");
    assert!(parse("<a><b></a>").is_err());
    assert_eq!(parse("<a>x &amp; y</a>").unwrap().text, "x & y");
}
