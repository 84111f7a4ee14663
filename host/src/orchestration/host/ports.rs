//! Host ports: whether one is free, and who holds it.

/// Whether `port` can be bound on `ip` now (TCP: listen; UDP: bind), i.e. no one holds it.
pub fn is_free(ip: std::net::IpAddr, port: u16, udp: bool) -> bool {
    let addr = std::net::SocketAddr::new(ip, port);
    if udp { std::net::UdpSocket::bind(addr).is_ok() } else { std::net::TcpListener::bind(addr).is_ok() }
}

/// Who holds host `port` (a listening TCP socket, or a bound UDP one), read from `/proc`:
/// `pid 123 (nginx)`, or for Docker's proxy the hint that a container publishes it. `None` when
/// it cannot be told (another OS, or a process of another user without privileges).
pub fn port_holder(port: u16, udp: bool) -> Option<String> {
    let tables: &[&str] = if udp { &["/proc/net/udp", "/proc/net/udp6"] } else { &["/proc/net/tcp", "/proc/net/tcp6"] };
    let mut inodes = Vec::new();
    for table in tables {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else { continue };
            let local_port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            // TCP: LISTEN (0A); UDP: any bound socket (07 is "unconnected").
            if local_port == Some(port) && (udp || *state == "0A") && *inode != "0" {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let procs = std::fs::read_dir("/proc").ok()?;
    for p in procs.flatten() {
        let name = p.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else { continue };
        let holds = fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str())));
        if holds {
            let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default().trim().to_string();
            return Some(if comm == "docker-proxy" {
                format!("pid {name} (docker-proxy: a Docker container publishes it; `docker ps --filter publish={port}`)")
            } else {
                format!("pid {name} ({comm})")
            });
        }
    }
    None
}

/// A socket of a `/proc/net/{tcp,tcp6,udp,udp6}` table: a listening TCP socket or a bound UDP
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSocket {
    pub ip: std::net::IpAddr,
    pub port: u16,
    pub udp: bool,
}

/// The listening TCP and bound UDP sockets in the concatenated text of `/proc/net/tcp`, `tcp6`,
/// `udp` and `udp6` (any order). Each table starts with a header line (`sl local_address ...`);
/// the UDP tables' header ends in `ref pointer drops`, the TCP ones' does not (Linux
/// `net/ipv4/tcp_ipv4.c`, `udp.c`). Addresses are the kernel's words in host byte order, read as
/// little-endian (x86, arm64); ports are big hex numbers. TCP sockets count in state `0A`
/// (LISTEN) only.
pub fn host_sockets(tables: &str) -> Vec<HostSocket> {
    let mut udp = false;
    let mut found = Vec::new();
    for line in tables.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&"sl") {
            udp = line.trim_end().ends_with("drops");
            continue;
        }
        let (Some(local), Some(state)) = (f.get(1), f.get(3)) else { continue };
        let Some((addr, port)) = local.split_once(':') else { continue };
        let Ok(port) = u16::from_str_radix(port, 16) else { continue };
        if !udp && *state != "0A" {
            continue;
        }
        let ip = match addr.len() {
            8 => u32::from_str_radix(addr, 16).ok().map(|w| std::net::IpAddr::V4(std::net::Ipv4Addr::from(w.swap_bytes()))),
            32 => (0..4)
                .map(|i| u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).map(u32::swap_bytes))
                .collect::<Result<Vec<u32>, _>>()
                .ok()
                .map(|w| std::net::IpAddr::V6(std::net::Ipv6Addr::from((u128::from(w[0]) << 96) | (u128::from(w[1]) << 64) | (u128::from(w[2]) << 32) | u128::from(w[3])))),
            _ => None,
        };
        if let Some(ip) = ip {
            found.push(HostSocket { ip, port, udp });
        }
    }
    found
}

/// The socket of `sockets` that keeps `port` from being bound on `bind` (same protocol): one on
/// that very address, on a wildcard (`0.0.0.0`; `::`, which also covers IPv4 on a dual-stack
/// host), or any on that port when `bind` is itself a wildcard of the same family (or `::`).
pub fn holder_of(sockets: &[HostSocket], bind: std::net::IpAddr, port: u16, udp: bool) -> Option<&HostSocket> {
    let v4 = |ip: &std::net::IpAddr| ip.is_ipv4() || matches!(ip, std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
    sockets.iter().filter(|s| s.port == port && s.udp == udp).find(|s| {
        let same_family = v4(&s.ip) == v4(&bind);
        s.ip == bind
            || (s.ip.is_unspecified() && (same_family || s.ip.is_ipv6()))
            || (bind.is_unspecified() && (same_family || bind.is_ipv6()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as Linux 6.1 writes them (trimmed columns after the inode).
    const TABLES: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:55E1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1
   1: 0200C90A:0801 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1
   2: 0200C90A:0801 0100C90A:D431 01 00000000:00000000 00:00000000 00000000     0        0 1003 1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0801 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1004 1
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  10: 00000000:0801 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1005 2 0000000000000000 0
";

    #[test]
    fn proc_net_tables_are_read_as_the_kernel_writes_them() {
        let s = host_sockets(TABLES);
        let ip = |t: &str| t.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(
            s,
            vec![
                HostSocket { ip: ip("127.0.0.1"), port: 0x55E1, udp: false },
                HostSocket { ip: ip("10.201.0.2"), port: 2049, udp: false },
                HostSocket { ip: ip("::"), port: 2049, udp: false },
                HostSocket { ip: ip("0.0.0.0"), port: 2049, udp: true },
            ],
            "the ESTABLISHED socket (state 01) is no listener"
        );
    }

    #[test]
    fn a_port_is_held_on_its_address_and_by_wildcards() {
        let ip = |t: &str| t.parse::<std::net::IpAddr>().unwrap();
        let on = |a: &str, udp| HostSocket { ip: ip(a), port: 22049, udp };
        let held = |sockets: &[HostSocket], bind: &str| holder_of(sockets, ip(bind), 22049, false).cloned();
        assert_eq!(held(&[on("10.201.0.2", false)], "10.201.0.2"), Some(on("10.201.0.2", false)));
        assert_eq!(held(&[on("10.201.0.2", false)], "0.0.0.0"), Some(on("10.201.0.2", false)));
        assert_eq!(held(&[on("0.0.0.0", false)], "10.201.0.2"), Some(on("0.0.0.0", false)));
        assert_eq!(held(&[on("::", false)], "10.201.0.2"), Some(on("::", false)), "a dual-stack :: listener takes IPv4 too");
        assert_eq!(held(&[on("127.0.0.1", false)], "10.201.0.2"), None, "another address of the host");
        assert_eq!(held(&[on("10.201.0.2", true)], "10.201.0.2"), None, "UDP does not hold a TCP port");
        assert_eq!(held(&[on("fd00::2", false)], "0.0.0.0"), None, "an IPv6 address does not hold 0.0.0.0");
        assert_eq!(held(&[on("fd00::2", false)], "::"), Some(on("fd00::2", false)));
    }
}
