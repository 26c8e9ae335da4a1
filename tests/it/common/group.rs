//! Child processes that take their own children with them. chromedriver starts Chromium,
//! and killing chromedriver alone leaves that Chromium running, orphaned, with its pages
//! still open: their live-update streams then reconnect to whatever later test reuses the
//! port (seen as a stray `/events` request at another test's canary server).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// Starts `cmd` as the leader of a new process group (everything it starts joins it).
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    cmd.process_group(0).spawn()
}

/// Kills the whole process group `child` leads (see [`spawn`]) and reaps `child`.
pub fn kill(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}
