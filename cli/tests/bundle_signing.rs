//! `finegrain bundle keygen | sign | verify`, as a publisher and a host use them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn finegrain(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_finegrain")).current_dir(dir).args(args).output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("finegrain-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn one_line_error(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_owned()
}

#[test]
fn a_signed_bundle_verifies_and_a_changed_unsigned_or_foreign_one_does_not() {
    let dir = scratch("signing");
    let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.yaml");
    assert!(finegrain(&dir, &["bundle", "build", acme.to_str().unwrap(), "-o", "acme.bundle"]).status.success());
    assert!(finegrain(&dir, &["bundle", "keygen", "--out", "k"]).status.success());
    assert!(finegrain(&dir, &["bundle", "keygen", "--out", "other"]).status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join("k")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(
        one_line_error(&finegrain(&dir, &["bundle", "keygen", "--out", "k"])),
        "finegrain: k: already exists; not overwriting a key"
    );

    assert!(finegrain(&dir, &["bundle", "sign", "acme.bundle", "--key", "k"]).status.success());
    let good = finegrain(&dir, &["bundle", "verify", "acme.bundle", "--trust", "k.pub"]);
    assert!(good.status.success(), "{good:?}");
    assert!(String::from_utf8(good.stdout).unwrap().starts_with("acme.bundle: good signature by key "));

    let foreign = one_line_error(&finegrain(&dir, &["bundle", "verify", "acme.bundle", "--trust", "other.pub"]));
    assert!(foreign.ends_with("which this host does not trust"), "{foreign}");

    let mut bytes = std::fs::read(dir.join("acme.bundle")).unwrap();
    bytes.push(0);
    std::fs::write(dir.join("acme.bundle"), &bytes).unwrap();
    let changed = one_line_error(&finegrain(&dir, &["bundle", "verify", "acme.bundle", "--trust", "k.pub"]));
    assert!(changed.contains("signature does not match its content"), "{changed}");

    std::fs::remove_file(dir.join("acme.bundle.sig")).unwrap();
    assert_eq!(
        one_line_error(&finegrain(&dir, &["bundle", "verify", "acme.bundle", "--trust", "k.pub"])),
        "finegrain: acme.bundle: the bundle is not signed and this host requires a signature"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
