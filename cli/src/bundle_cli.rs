//! `finegrain bundle keygen | sign | verify`: ed25519 signatures over bundles
//! (the formats are in `finegrain_host::signing`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use finegrain_host::signing::{SecretKey, TrustedKeys};

/// The signing subcommands of `finegrain bundle`.
#[derive(Subcommand)]
pub enum SigningCommand {
    /// Make a signing key: writes KEY (secret, mode 0600) and KEY.pub.
    Keygen {
        /// Where to write the secret key; the public key goes to KEY.pub.
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
    },
    /// Sign a bundle with a secret key: writes BUNDLE.sig.
    Sign {
        /// The bundle to sign.
        bundle: PathBuf,
        /// The secret key (from `finegrain bundle keygen`).
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
    },
    /// Check BUNDLE.sig against trusted public keys: exit 0 when good, 2 otherwise.
    Verify {
        /// The bundle; its signature is read from BUNDLE.sig.
        bundle: PathBuf,
        /// A trusted public key (repeatable).
        #[arg(long, value_name = "KEY.pub", required = true)]
        trust: Vec<PathBuf>,
    },
}

/// `PATH` with `suffix` appended to its file name: `b.bundle` → `b.bundle.sig`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Runs one signing subcommand.
pub fn run(command: SigningCommand) -> Result<ExitCode> {
    match command {
        SigningCommand::Keygen { out } => keygen(&out),
        SigningCommand::Sign { bundle, key } => sign(&bundle, &key),
        SigningCommand::Verify { bundle, trust } => verify(&bundle, &trust),
    }
}

fn keygen(out: &Path) -> Result<ExitCode> {
    let public_path = with_suffix(out, ".pub");
    for path in [out, public_path.as_path()] {
        if path.exists() {
            bail!("{}: already exists; not overwriting a key", path.display());
        }
    }
    let key = SecretKey::generate()?;
    write_secret(out, &key.to_text())?;
    std::fs::write(&public_path, key.public().to_text())
        .map_err(|e| anyhow!("{}: cannot write: {e}", public_path.display()))?;
    println!("wrote {} and {} (key {}…)", out.display(), public_path.display(), key.public().short());
    Ok(ExitCode::SUCCESS)
}

/// Writes a secret key readable by its owner only.
fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| anyhow!("{}: cannot create: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))
}

fn sign(bundle: &Path, key: &Path) -> Result<ExitCode> {
    let key = SecretKey::read(key)?;
    let bytes = std::fs::read(bundle).map_err(|e| anyhow!("{}: cannot read: {e}", bundle.display()))?;
    let signature_path = with_suffix(bundle, ".sig");
    std::fs::write(&signature_path, key.sign(&bytes))
        .map_err(|e| anyhow!("{}: cannot write: {e}", signature_path.display()))?;
    println!("wrote {} (key {}…)", signature_path.display(), key.public().short());
    Ok(ExitCode::SUCCESS)
}

fn verify(bundle: &Path, trust: &[PathBuf]) -> Result<ExitCode> {
    let trusted = TrustedKeys::read(trust)?;
    let bytes = std::fs::read(bundle).map_err(|e| anyhow!("{}: cannot read: {e}", bundle.display()))?;
    let signature_path = with_suffix(bundle, ".sig");
    let signature = match std::fs::read_to_string(&signature_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => bail!("{}: cannot read: {e}", signature_path.display()),
    };
    let key = trusted
        .verify(&signature_path.display().to_string(), &bytes, signature.as_deref())
        .map_err(|e| anyhow!("{}: {e}", bundle.display()))?;
    println!("{}: good signature by key {}…", bundle.display(), key.short());
    Ok(ExitCode::SUCCESS)
}
