//! E-mail templates: plain-text files with a `Subject:` first line, a blank line and
//! the body, with `{{name}}`-style placeholders. The defaults are compiled in
//! (`templates/email/`); a deployment overrides any of them by putting a file of the
//! same name in `[smtp] templates_dir`. Overrides are read and checked at start: a
//! template without a subject, or naming a placeholder its message does not have,
//! stops the server there rather than at the first e-mail.

use std::path::Path;

/// Each message Gatehouse sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    PasswordReset,
    Activation,
    VerifyEmail,
    PasswordChanged,
    FactorEnrolled,
    AccountLocked,
    /// A one-time code of an e-mail factor.
    FactorCode,
}

impl Template {
    pub const ALL: &[Template] = &[
        Template::PasswordReset,
        Template::Activation,
        Template::VerifyEmail,
        Template::PasswordChanged,
        Template::FactorEnrolled,
        Template::AccountLocked,
        Template::FactorCode,
    ];

    /// The file name, in `templates/email/` and in an override directory.
    pub fn file(self) -> &'static str {
        match self {
            Template::PasswordReset => "password_reset.txt",
            Template::Activation => "activation.txt",
            Template::VerifyEmail => "verify_email.txt",
            Template::PasswordChanged => "password_changed.txt",
            Template::FactorEnrolled => "factor_enrolled.txt",
            Template::AccountLocked => "account_locked.txt",
            Template::FactorCode => "factor_code.txt",
        }
    }

    fn default_text(self) -> &'static str {
        match self {
            Template::PasswordReset => include_str!("../../templates/email/password_reset.txt"),
            Template::Activation => include_str!("../../templates/email/activation.txt"),
            Template::VerifyEmail => include_str!("../../templates/email/verify_email.txt"),
            Template::PasswordChanged => {
                include_str!("../../templates/email/password_changed.txt")
            }
            Template::FactorEnrolled => include_str!("../../templates/email/factor_enrolled.txt"),
            Template::AccountLocked => include_str!("../../templates/email/account_locked.txt"),
            Template::FactorCode => include_str!("../../templates/email/factor_code.txt"),
        }
    }

    /// The placeholders this message fills in.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Template::PasswordReset | Template::Activation => {
                &["name", "login", "link", "valid_for"]
            }
            Template::VerifyEmail => &["name", "login", "email", "link", "valid_for"],
            Template::PasswordChanged => &["name", "login", "time"],
            Template::FactorEnrolled => &["name", "login", "factor", "time"],
            Template::AccountLocked => &["name", "login", "time", "unlock"],
            Template::FactorCode => &["name", "login", "code", "valid_for"],
        }
    }
}

/// A template read and checked: its subject line and body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    subject: String,
    body: String,
}

/// Every template, defaults or overrides.
#[derive(Debug, Clone)]
pub struct Templates {
    parsed: Vec<(Template, Parsed)>,
}

#[derive(Debug, thiserror::Error)]
#[error("e-mail template {file}: {reason}")]
pub struct TemplateError {
    pub file: String,
    pub reason: String,
}

impl Templates {
    /// The defaults, with any file in `dir` of a template's name in its place.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut parsed = Vec::new();
        for &t in Template::ALL {
            let (text, file) = match dir.map(|d| d.join(t.file())) {
                Some(path) if path.exists() => {
                    let text = std::fs::read_to_string(&path).map_err(|e| TemplateError {
                        file: path.display().to_string(),
                        reason: e.to_string(),
                    })?;
                    (text, path.display().to_string())
                }
                _ => (t.default_text().to_string(), t.file().to_string()),
            };
            let p = parse(t, &text).map_err(|reason| TemplateError { file, reason })?;
            parsed.push((t, p));
        }
        Ok(Templates { parsed })
    }

    /// The subject and body of `template` with `values` put in. A value never breaks
    /// out of its line in the subject (line breaks become spaces).
    pub fn render(&self, template: Template, values: &[(&str, &str)]) -> (String, String) {
        let p = &self
            .parsed
            .iter()
            .find(|(t, _)| *t == template)
            .expect("every template is loaded")
            .1;
        let subject = fill(&p.subject, values)
            .replace(['\r', '\n'], " ")
            .trim()
            .to_string();
        (subject, fill(&p.body, values))
    }
}

fn parse(template: Template, text: &str) -> Result<Parsed, String> {
    let text = text.replace("\r\n", "\n");
    let (first, body) = text
        .split_once('\n')
        .ok_or("it must start with a Subject: line, then a blank line, then the body")?;
    let subject = first
        .strip_prefix("Subject:")
        .ok_or("the first line must be Subject: ...")?
        .trim()
        .to_string();
    let body = body
        .strip_prefix('\n')
        .ok_or("a blank line must follow the subject")?
        .to_string();
    if subject.is_empty() {
        return Err("the subject is empty".into());
    }
    for part in [&subject, &body] {
        for name in placeholders_in(part)? {
            if !template.placeholders().contains(&name) {
                return Err(format!(
                    "{{{{{name}}}}} is not a placeholder of this message (it has: {})",
                    template.placeholders().join(", ")
                ));
            }
        }
    }
    Ok(Parsed { subject, body })
}

/// The names of the `{{name}}` placeholders in `text`.
fn placeholders_in(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("a {{ without its }}")?;
        names.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(names)
}

fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("checked at load");
        let name = after[..end].trim();
        let value = values.iter().find(|(n, _)| *n == name).map_or("", |v| v.1);
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_load_and_fill_in() {
        let t = Templates::load(None).unwrap();
        let (subject, body) = t.render(
            Template::PasswordReset,
            &[
                ("name", "Ada"),
                ("login", "ada@example.com"),
                ("link", "https://id.example.com/signin/reset-password/abc"),
                ("valid_for", "1 hour"),
            ],
        );
        assert_eq!(subject, "Reset your password");
        assert!(body.starts_with("Hello Ada,"));
        assert!(body.contains("https://id.example.com/signin/reset-password/abc"));
        assert!(!body.contains("{{"));
    }

    #[test]
    fn an_override_replaces_a_default_and_a_bad_one_is_refused() {
        let dir = tempfile_dir();
        std::fs::write(
            dir.join("password_changed.txt"),
            "Subject: Changed {{login}}\r\n\r\nHi {{name}}, at {{time}}.\r\n",
        )
        .unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let (subject, body) = t.render(
            Template::PasswordChanged,
            &[
                ("login", "a\r\nBcc: x@evil"),
                ("name", "Ada"),
                ("time", "now"),
            ],
        );
        assert_eq!(subject, "Changed a  Bcc: x@evil");
        assert_eq!(body, "Hi Ada, at now.\n");
        std::fs::write(dir.join("activation.txt"), "Subject: Hi\n\n{{password}}").unwrap();
        let err = Templates::load(Some(&dir)).unwrap_err();
        assert!(err.reason.contains("{{password}}"), "{err}");
        std::fs::write(dir.join("activation.txt"), "Hello {{name}}").unwrap();
        assert!(Templates::load(Some(&dir)).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-mail-templates-{}",
            crate::crypto::random_token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
