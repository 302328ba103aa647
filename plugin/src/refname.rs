//! Ref names checked as `git check-ref-format` checks them, so that no
//! spelling of a protected ref (`refs/heads//main`, `refs/heads/main/`) is
//! decided as some other, unprotected ref: Git itself refuses such names, and
//! a name Git refuses is refused here.

/// Checks a full ref name (`refs/heads/main`). Errors never quote the name.
pub fn check(name: &str) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("the ref name {why} (git check-ref-format refuses it)"));
    if !name.starts_with("refs/") {
        // receive-pack refuses "funny" ref names outside refs/, upper-case REFS/ included.
        return refuse("does not start with refs/");
    }
    if name.ends_with('/') || name.contains("//") {
        return refuse("has an empty component");
    }
    if name.ends_with('.') {
        return refuse("ends with a dot");
    }
    if name.contains("..") {
        return refuse("contains ..");
    }
    if name.contains("@{") || name == "@" {
        return refuse("contains @{");
    }
    if let Some(c) =
        name.chars().find(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return refuse(&format!("contains the character {c:?}"));
    }
    for component in name.split('/') {
        if component.starts_with('.') {
            return refuse("has a component starting with a dot");
        }
        if component.ends_with(".lock") {
            return refuse("has a component ending with .lock");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn git_check_ref_format_rules() {
        for good in ["refs/heads/main", "refs/tags/v1.0", "refs/heads/feature/x-1", "refs/heads/ümlaut"] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "refs/heads//main",
            "../heads/main",
            "refs/heads/main/",
            "refs/heads/ma\0in",
            "REFS/heads/main",
            "heads/main",
            "refs/heads/a..b",
            "refs/heads/.hidden",
            "refs/heads/x.lock",
            "refs/heads/main.",
            "refs/heads/a@{1}",
            "refs/heads/a b",
            "refs/heads/a~1",
            "refs/heads/a^",
            "refs/heads/a:b",
            "refs/heads/a?",
            "refs/heads/a*",
            "refs/heads/a[b",
            "refs/heads/a\\b",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }
}
