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
