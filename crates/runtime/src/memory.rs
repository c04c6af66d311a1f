//! This process's memory as Linux reports it, for a rebuild's report (size a
//! rebuild Job by it).

/// The most resident memory this process has held (`VmHWM`), in bytes; none
/// where `/proc` does not say.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let kib = line.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?;
        kib.trim().parse::<u64>().ok().map(|k| k * 1024)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_peak_grows_with_what_was_held() {
        let before = super::peak_resident_bytes().expect("Linux reports VmHWM");
        // Touch 64 MiB so it is resident, not only reserved.
        let held = vec![1u8; 64 << 20];
        let after = super::peak_resident_bytes().expect("Linux reports VmHWM");
        assert!(held.iter().all(|b| *b == 1));
        assert!(after >= before + (60 << 20), "{before} → {after}");
    }
}
