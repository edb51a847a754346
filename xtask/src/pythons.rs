//! The Python interpreters `cargo xtask test-all` runs the Python suite on: every supported
//! minor version (3.11 to 3.13) this machine has, found the way each platform installs them.
//!
//! For each version, in order: the base interpreter (`$PYTHON`, else `python3`, `python` on
//! Windows) when it is that version; pyenv's (`pyenv root`, else `$PYENV_ROOT` or `~/.pyenv`,
//! then `versions/<X.Y.*>`, the newest patch release); `python<X.Y>` on `PATH` (Unix); the
//! Windows launcher's `py -<X.Y>`. Every candidate is asked its version before it is used.
//! `OTEL_PARQUET_TEST_PYTHONS=3.12,3.13` runs only those versions (CI runs one per job).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Result};

/// The minor versions the packages support (their `requires-python` and classifiers).
pub(crate) const SUPPORTED: [&str; 3] = ["3.11", "3.12", "3.13"];
/// Limits the versions tested (comma-separated), e.g. to the one a CI job set up.
const ONLY: &str = "OTEL_PARQUET_TEST_PYTHONS";

/// An interpreter of one supported version.
#[derive(Debug, Clone)]
pub(crate) struct Python {
    /// `3.12`.
    pub(crate) version: String,
    /// The executable (`sys.executable`).
    pub(crate) executable: PathBuf,
}

/// The interpreters to test with (the base interpreter's version first, so that the lint and
/// oldest-SDK steps use the one the rest of the tasks use), and the versions not found.
pub(crate) fn find() -> Result<(Vec<Python>, Vec<String>)> {
    let wanted: Vec<String> = match std::env::var(ONLY) {
        Ok(list) if !list.trim().is_empty() => {
            let wanted: Vec<String> = list.split(',').map(|v| v.trim().to_owned()).collect();
            if let Some(bad) = wanted.iter().find(|v| !SUPPORTED.contains(&v.as_str())) {
                bail!("{ONLY}={list}: {bad} is not a supported Python version ({SUPPORTED:?})");
            }
            wanted
        }
        _ => SUPPORTED.map(str::to_owned).to_vec(),
    };
    let base = version_of(Path::new(&crate::python::base_python()));
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for version in &wanted {
        let from_base = base.as_ref().filter(|(v, _)| v == version).map(|(_, exe)| exe.clone());
        match from_base.or_else(|| candidates(version).into_iter().find_map(|c| matches(&c, version))) {
            Some(executable) => found.push(Python { version: version.clone(), executable }),
            None => missing.push(version.clone()),
        }
    }
    if let Some((version, _)) = &base {
        if let Some(first) = found.iter().position(|p| &p.version == version) {
            found[..=first].rotate_right(1);
        }
    }
    Ok((found, missing))
}

/// `(X.Y, sys.executable)` of an interpreter command, `None` when it does not run.
fn version_of(command: &Path) -> Option<(String, PathBuf)> {
    version_of_command(Command::new(command))
}

fn version_of_command(mut command: Command) -> Option<(String, PathBuf)> {
    let output = command
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    let version = lines.next()?.trim().to_owned();
    let executable = PathBuf::from(lines.next()?.trim());
    Some((version, executable))
}

/// The executable of `candidate` when it runs and is `version`.
fn matches(candidate: &Candidate, version: &str) -> Option<PathBuf> {
    let command = match candidate {
        Candidate::Path(path) => Command::new(path),
        Candidate::Launcher(args) => {
            let mut command = Command::new("py");
            command.args(args);
            command
        }
    };
    version_of_command(command).filter(|(v, _)| v == version).map(|(_, exe)| exe)
}

#[derive(Debug)]
enum Candidate {
    Path(PathBuf),
    /// The Windows launcher, `py <args>`.
    Launcher(Vec<String>),
}

fn candidates(version: &str) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = pyenv_installs(version).into_iter().map(Candidate::Path).collect();
    if cfg!(windows) {
        out.push(Candidate::Launcher(vec![format!("-{version}")]));
    } else {
        out.push(Candidate::Path(PathBuf::from(format!("python{version}"))));
    }
    out
}

/// pyenv's root: what `pyenv root` says, else `$PYENV_ROOT`, else `~/.pyenv`.
fn pyenv_root() -> Option<PathBuf> {
    let said = Command::new("pyenv").arg("root").stderr(Stdio::null()).output().ok();
    if let Some(output) = said.filter(|o| o.status.success()) {
        let root = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !root.is_empty() {
            return Some(PathBuf::from(root));
        }
    }
    if let Some(root) = std::env::var_os("PYENV_ROOT") {
        return Some(PathBuf::from(root));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(Path::new(&home).join(".pyenv"))
}

/// pyenv's installs of `version` (`versions/3.12.7` and so on), newest patch release first.
fn pyenv_installs(version: &str) -> Vec<PathBuf> {
    pyenv_root().map(|root| installs_in(&root, version)).unwrap_or_default()
}

/// The installs of `version` under a pyenv root, newest patch release first.
fn installs_in(root: &Path, version: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join("versions")) else { return Vec::new() };
    let prefix = format!("{version}.");
    let mut installs: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let patch: u32 = name.strip_prefix(&prefix)?.parse().ok()?; // 3.12.7, not 3.12-dev
            Some((patch, e.path()))
        })
        .collect();
    installs.sort_by_key(|(patch, _)| std::cmp::Reverse(*patch));
    installs
        .into_iter()
        .map(|(_, dir)| {
            // pyenv: bin/python3; pyenv-win: python.exe at the top of the version's directory.
            if cfg!(windows) {
                dir.join("python.exe")
            } else {
                dir.join("bin").join("python3")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyenv_installs_of_a_version_newest_patch_first_and_nothing_else() {
        let root = std::env::temp_dir().join(format!("xtask-pyenv-{}", std::process::id()));
        for name in ["3.12.2", "3.12.10", "3.12-dev", "3.11.7", "3.120.1", "system"] {
            std::fs::create_dir_all(root.join("versions").join(name)).unwrap();
        }
        let found = installs_in(&root, "3.12");
        let names: Vec<_> = found
            .iter()
            .map(|p| p.ancestors().find(|a| a.parent() == Some(&root.join("versions"))).unwrap().to_path_buf())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["3.12.10", "3.12.2"]);
        assert!(installs_in(&root.join("nowhere"), "3.12").is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn this_machine_has_a_supported_python() {
        // test-all itself needs one; its version comes first when it is supported.
        let (found, missing) = find().unwrap();
        eprintln!("found {found:?}, missing {missing:?}");
        assert!(found.len() + missing.len() <= SUPPORTED.len());
        assert!(!found.is_empty(), "no Python 3.11-3.13 here");
        for python in &found {
            assert!(SUPPORTED.contains(&python.version.as_str()), "{python:?}");
        }
    }
}
