//! Python virtualenvs the tasks create for themselves, so a machine with only Rust and Python 3
//! is enough: `.venv` (maturin, reused between runs) and `.venv-test` (one per Python version
//! tested, recreated for every test run).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::run;

/// A virtualenv.
#[derive(Debug)]
pub(crate) struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// The virtualenv at `dir`, created when it is missing or broken.
    pub(crate) fn reuse_or_create(dir: PathBuf) -> Result<Venv> {
        let venv = Venv { dir };
        if !venv.works() {
            venv.create()?;
        }
        Ok(venv)
    }

    /// A new virtualenv at `dir` made by the interpreter `python`; whatever was there is
    /// deleted first.
    pub(crate) fn fresh_with(dir: PathBuf, python: &std::path::Path) -> Result<Venv> {
        let venv = Venv { dir };
        venv.create_with(python.as_os_str())?;
        Ok(venv)
    }

    fn create(&self) -> Result<()> {
        self.create_with(OsStr::new(&base_python()))
    }

    fn create_with(&self, python: &OsStr) -> Result<()> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).with_context(|| format!("removing {}", self.dir.display()))?;
        }
        run(Command::new(python).args(["-m", "venv"]).arg(&self.dir).current_dir(crate::root()))
    }

    fn works(&self) -> bool {
        let python = self.bin("python");
        python.is_file()
            && Command::new(&python)
                .args(["-c", "import pip"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// An executable of the virtualenv (`python`, `maturin`, ...).
    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        let dir = if cfg!(windows) { self.dir.join("Scripts") } else { self.dir.join("bin") };
        dir.join(if cfg!(windows) { format!("{name}.exe") } else { name.to_owned() })
    }

    /// `python <args>` of the virtualenv, run from the workspace root.
    pub(crate) fn python<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Command {
        let mut cmd = Command::new(self.bin("python"));
        cmd.args(args).current_dir(crate::root());
        cmd
    }

    /// `python -m pip install <args>`, quietly.
    pub(crate) fn pip_install<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&self, args: I) -> Result<()> {
        run(self.python(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(args))
    }

    /// Installs `requirement` unless `executable` is already in the virtualenv.
    pub(crate) fn ensure_tool(&self, executable: &str, requirement: &str) -> Result<PathBuf> {
        let path = self.bin(executable);
        if !path.is_file() {
            self.pip_install([requirement])?;
        }
        Ok(path)
    }
}

/// The interpreter virtualenvs are created with: `$PYTHON`, else `python3` (`python` on
/// Windows, where the installers and `actions/setup-python` put no `python3` on `PATH`).
pub(crate) fn base_python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| if cfg!(windows) { "python" } else { "python3" }.into())
}
