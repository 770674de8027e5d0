//! CPU time and resident memory of a server process and its children, from /proc.

use std::{fs, time::Duration};

/// Clock ticks per second of /proc's CPU times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// `pid` and every process below it (nginx: master and worker).
pub fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(stat) = stat_fields(child)
                && let Some(ppid) = stat.get(1).and_then(|s| s.parse().ok())
            {
                parents.push((child, ppid));
            }
        }
    }
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        all.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    all
}

/// The fields of /proc/PID/stat after the command name (state is index 0).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// CPU time of a process tree, split into user and kernel time.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime {
    pub user: Duration,
    pub system: Duration,
}

impl CpuTime {
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// The time used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// CPU time used so far by `pid` and its children.
pub fn cpu(pid: u32) -> CpuTime {
    let (mut user, mut system) = (0u64, 0u64);
    // utime and stime are fields 14 and 15 of the stat line: indexes 11 and 12 here.
    for fields in tree(pid).into_iter().filter_map(stat_fields) {
        user += fields[11].parse::<u64>().unwrap_or(0);
        system += fields[12].parse::<u64>().unwrap_or(0);
    }
    let seconds = |ticks: u64| Duration::from_secs_f64(ticks as f64 / ticks_per_second());
    CpuTime {
        user: seconds(user),
        system: seconds(system),
    }
}

/// Resident memory (VmRSS) of `pid` and its children, in bytes.
pub fn rss(pid: u32) -> u64 {
    tree(pid)
        .into_iter()
        .filter_map(|p| fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .sum::<u64>()
        * 1024
}

/// Pins the calling process (and what it starts later) to `core`.
pub fn pin_self(core: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
