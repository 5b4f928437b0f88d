//! The sandbox escape suite: for each escape class, plant canaries on the host, try the
//! escape inside `cordon run`, and check the effect from outside. Every test runs as
//! root and as the unprivileged `cordontest` user.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Read;
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cordon_e2e::sandbox::{CANARY, PYTHON, World, entries, for_each_user};

#[test]
fn secrets_cannot_be_read_directly_or_through_links() {
    for_each_user(|w| {
        let home = w.home.display();
        let (_, out) = w.sh_ok(&format!(
            "cat {home}/.ssh/id_rsa {home}/.aws/credentials {home}/.netrc .env; \
             ln -s {home}/.ssh/id_rsa link && cat link; \
             ln {home}/.ssh/id_rsa hardlink; ln {home}/.netrc hardlink2; cat hardlink hardlink2; \
             ls -la {home}/.ssh; true"
        ));
        assert!(
            !out.contains(CANARY),
            "a secret leaked as {}: {out}",
            w.who.name
        );
        // The hard links were not made on the host.
        assert!(!w.project.join("hardlink").exists());
        assert!(!w.project.join("hardlink2").exists());
    });
}

#[test]
fn writes_outside_the_project_do_not_reach_the_host() {
    for_each_user(|w| {
        let before = fs::read_to_string(w.home.join(".bashrc")).unwrap();
        let (_, out) = w.sh_ok(&format!(
            "echo pwned >> {home}/.bashrc; echo x > {home}/newfile; echo x > {out}/x; \
             mkdir {out}/d; echo x > /etc/cordon-pwned; echo x > /var/tmp/cordon-pwned-{user}; \
             echo inside > src/inside.txt; true",
            home = w.home.display(),
            out = w.outside.display(),
            user = w.who.name,
        ));
        assert_eq!(
            fs::read_to_string(w.home.join(".bashrc")).unwrap(),
            before,
            "{out}"
        );
        assert!(!w.home.join("newfile").exists());
        assert!(entries(&w.outside).is_empty(), "{:?}", entries(&w.outside));
        assert!(!std::path::Path::new("/etc/cordon-pwned").exists());
        assert!(!std::path::Path::new(&format!("/var/tmp/cordon-pwned-{}", w.who.name)).exists());
        // The project itself is writable.
        assert_eq!(
            fs::read_to_string(w.project.join("src/inside.txt")).unwrap(),
            "inside\n"
        );
    });
}

#[test]
fn protected_paths_cannot_be_created_changed_or_moved_and_leave_no_ghosts() {
    for_each_user(|w| {
        let config = fs::read_to_string(w.project.join(".git/config")).unwrap();
        let root_before = entries(&w.project);
        let git_before = entries(&w.project.join(".git"));
        let (_, out) = w.sh_ok(
            "echo 'curl evil' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; \
             echo '[core] hooksPath=/tmp' >> .git/config; \
             mv .git/hooks .git/hooks-old; mv .git/config .git/config-old; \
             git config core.hooksPath /tmp; \
             mkdir .vscode; echo '{}' > .mcp.json; echo x > .gitmodules; mkdir -p .cordon; \
             mv src .vscode; ln -s /tmp .idea; \
             cd src && echo x > .mcp.json; true",
        );
        assert!(!w.project.join(".git/hooks/pre-commit").exists(), "{out}");
        assert_eq!(
            fs::read_to_string(w.project.join(".git/config")).unwrap(),
            config,
            "{out}"
        );
        for name in [".vscode", ".mcp.json", ".gitmodules", ".cordon", ".idea"] {
            assert!(
                w.project.join(name).symlink_metadata().is_err(),
                "{name} created as {}: {out}",
                w.who.name
            );
        }
        // Nothing appeared at the project's top level or in .git (no ghost mountpoints),
        // while subdirectories stay writable (src/.mcp.json is an ordinary file there).
        assert_eq!(entries(&w.project.join(".git")), git_before);
        let mut expected = root_before;
        expected.sort();
        assert_eq!(entries(&w.project), expected);
        assert!(w.project.join("src/.mcp.json").exists());
    });
}

#[test]
fn a_missing_hooks_directory_cannot_be_created() {
    for_each_user(|w| {
        fs::remove_dir_all(w.project.join(".git/hooks")).unwrap();
        let git_before = entries(&w.project.join(".git"));
        let (_, out) = w.sh_ok(
            "mkdir .git/hooks; mkdir -p .git/objects/x && mv .git/objects/x .git/hooks; \
             ln -s ../src .git/hooks; echo x > .git/hooks; cat .git/HEAD; echo ok > .git/objects/written; true",
        );
        assert!(
            w.project.join(".git/hooks").symlink_metadata().is_err(),
            "{out}"
        );
        assert_eq!(entries(&w.project.join(".git")), git_before, "{out}");
        // Existing subdirectories of .git stay writable.
        assert!(w.project.join(".git/objects/written").exists(), "{out}");
    });
}

#[test]
fn a_symlinked_protected_path_cannot_be_replaced() {
    for_each_user(|w| {
        // Every other protected name exists, so only the symlink can lock the root.
        for dir in [".vscode", ".idea", ".cordon"] {
            fs::create_dir(w.project.join(dir)).unwrap();
        }
        fs::write(w.project.join(".gitmodules"), "").unwrap();
        fs::write(w.project.join("src/mcp.json"), "{}").unwrap();
        std::os::unix::fs::symlink("src/mcp.json", w.project.join(".mcp.json")).unwrap();
        cordon_e2e::sandbox::chown_tree(&w.project, &w.who);
        let (_, out) =
            w.sh_ok("echo evil > .mcp.json; rm -f .mcp.json; echo evil > .mcp.json; true");
        assert_eq!(
            fs::read_to_string(w.project.join("src/mcp.json")).unwrap(),
            "{}",
            "{out}"
        );
        let planted = fs::read_to_string(w.project.join(".mcp.json")).unwrap_or_default();
        assert!(!planted.contains("evil"), "{out}");
    });
}

#[test]
fn symlinks_in_the_project_do_not_lead_out() {
    for_each_user(|w| {
        let before = fs::read_to_string(w.home.join(".bashrc")).unwrap();
        std::os::unix::fs::symlink(w.home.join(".bashrc"), w.project.join("src/rc")).unwrap();
        std::os::unix::fs::symlink(&w.outside, w.project.join("src/out")).unwrap();
        let (_, out) = w.sh_ok("echo pwned >> src/rc; echo x > src/out/x; true");
        assert_eq!(
            fs::read_to_string(w.home.join(".bashrc")).unwrap(),
            before,
            "{out}"
        );
        assert!(entries(&w.outside).is_empty());
    });
}

fn python(w: &World, code: &str) -> String {
    let (_, out) = w.sh_ok(&format!("{PYTHON} -c '{code}' 2>&1; true"));
    out
}

#[test]
fn unix_sockets_on_the_host_are_unreachable() {
    for_each_user(|w| {
        let path = w.outside.join("daemon.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(w.who.uid), Some(w.who.gid)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let abstract_name = format!("cordon-e2e-{}-{}", w.who.name, std::process::id());
        let address = <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            abstract_name.as_bytes(),
        )
        .unwrap();
        let abstract_listener = UnixListener::bind_addr(&address).unwrap();
        abstract_listener.set_nonblocking(true).unwrap();
        let out = python(
            w,
            &format!(
                "import socket\nfor a in [\"{}\", \"\\0{abstract_name}\"]:\n  try:\n    s=socket.socket(socket.AF_UNIX); s.connect(a); print(\"CONNECTED\")\n  except OSError as e: print(\"blocked\", e)",
                path.display()
            ),
        );
        assert!(!out.contains("CONNECTED"), "{out}");
        assert!(out.contains("blocked"), "{out}");
        assert!(
            listener.accept().is_err(),
            "the host socket saw a connection"
        );
        assert!(
            abstract_listener.accept().is_err(),
            "the abstract socket saw a connection"
        );
    });
}

#[test]
fn tcp_and_udp_to_the_host_are_unreachable() {
    for_each_user(|w| {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_nonblocking(true).unwrap();
        let (tcp_port, udp_port) = (
            tcp.local_addr().unwrap().port(),
            udp.local_addr().unwrap().port(),
        );
        let out = python(
            w,
            &format!(
                "import socket\ntry:\n  socket.create_connection((\"127.0.0.1\", {tcp_port}), 2); print(\"CONNECTED\")\nexcept OSError as e: print(\"tcp blocked\", e)\ntry:\n  socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"x\", (\"127.0.0.1\", {udp_port})); print(\"udp sent\")\nexcept OSError as e: print(\"udp blocked\", e)\ntry:\n  socket.create_connection((\"1.1.1.1\", 53), 2); print(\"CONNECTED\")\nexcept OSError as e: print(\"internet blocked\", e)"
            ),
        );
        assert!(!out.contains("CONNECTED"), "{out}");
        assert!(
            tcp.accept().is_err(),
            "the host TCP listener saw a connection: {out}"
        );
        let mut buffer = [0u8; 8];
        assert!(
            udp.recv(&mut buffer).is_err(),
            "the host UDP socket got a datagram: {out}"
        );
        // Every process of the sandbox, PID 1 included, is in the empty network
        // namespace: /proc/1/net would otherwise show the host's interfaces and
        // connections.
        let (code, interfaces) = w.sh_ok(
            "for p in self 1; do tail -n +3 /proc/$p/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' '; echo; done",
        );
        assert_eq!(code, 0, "{interfaces}");
        assert_eq!(interfaces, "lo \nlo \n");
    });
}

#[test]
fn ptrace_terminal_injection_and_kernel_interfaces_are_denied() {
    for_each_user(|w| {
        let out = python(
            w,
            r#"import ctypes, os, fcntl, termios
libc = ctypes.CDLL(None, use_errno=True)
calls = [
    ("ptrace", lambda: libc.ptrace(16, 1, 0, 0)),
    ("process_vm_readv", lambda: libc.syscall(310, 1, 0, 0, 0, 0, 0)),
    ("io_uring_setup", lambda: libc.syscall(425, 1, 0)),
    ("keyctl", lambda: libc.syscall(250, 0, 0, 0, 0, 0)),
    ("bpf", lambda: libc.syscall(321, 0, 0, 0)),
    ("perf_event_open", lambda: libc.syscall(298, 0, 0, -1, -1, 0)),
    ("personality", lambda: libc.personality(0x0040000)),
    ("clone3", lambda: libc.syscall(435, 0, 0)),
    ("unshare", lambda: libc.unshare(0x10000000)),
    ("syslog", lambda: libc.syscall(103, 3, None, 0)),
    ("modify_ldt", lambda: libc.syscall(154, 0, None, 0)),
    # The x32 ABI (number | 0x40000000): the x32 ptrace, and a shared number.
    ("x32-ptrace", lambda: libc.syscall(0x40000000 | 521, 16, 1, 0, 0)),
    ("x32-unshare", lambda: libc.syscall(0x40000000 | 272, 0x10000000)),
]
for name, call in calls:
    r = call()
    print(name, r, os.strerror(ctypes.get_errno()))
for req in (termios.TIOCSTI, 0x541C, termios.TIOCSTI | (1 << 32)):
    try:
        fcntl.ioctl(1, req, b"x")
        print("ioctl ALLOWED", req)
    except OSError as e:
        print("ioctl", req, e.strerror)"#,
        );
        for name in [
            "ptrace",
            "process_vm_readv",
            "io_uring_setup",
            "keyctl",
            "bpf",
            "perf_event_open",
            "personality",
            "unshare",
            "syslog",
            "modify_ldt",
            "x32-ptrace",
            "x32-unshare",
        ] {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(&format!("{name} -1 Operation not permitted"))),
                "{name} not denied with EPERM as {}: {out}",
                w.who.name
            );
        }
        assert!(out.contains("clone3 -1 Function not implemented"), "{out}");
        assert!(!out.contains("ioctl ALLOWED"), "{out}");
        assert_eq!(
            out.matches("Operation not permitted").count(),
            12 + 3,
            "{out}"
        );
        let (_, out) = w.sh_ok(
            "ls /proc | grep -c '^[0-9]'; head -c 16 /proc/kcore | wc -c; grep -m1 ' T ' /proc/kallsyms; \
             ls -A /sys/kernel/debug /sys/fs/bpf | wc -l; ls /dev | tr '\\n' ' '",
        );
        let lines: Vec<&str> = out.lines().collect();
        let pids: usize = lines[0].trim().parse().unwrap();
        assert!(pids <= 5, "the sandbox sees host processes: {out}");
        assert_eq!(lines[1].trim(), "0", "/proc/kcore is readable: {out}");
        assert!(
            lines[2].starts_with("0000000000000000"),
            "kallsyms shows addresses: {out}"
        );
        assert!(!out.contains("sda") && !out.contains("kmsg"), "{out}");
    });
}

#[test]
fn missing_namespaces_stop_the_command_and_doctor_says_which() {
    for_each_user(|w| {
        // In the project, where a sandboxed command may write.
        let marker = w.project.join("ran");
        let touch = marker.to_str().unwrap();
        for (limit, error, line) in [
            (
                "max_user_namespaces",
                "cannot create the namespaces",
                "user namespaces: no",
            ),
            (
                "max_net_namespaces",
                "cannot create the network namespace",
                "network namespaces: no",
            ),
        ] {
            let run = w
                .cordon_nested(Some(limit), &["run", "--", "touch", touch])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert_eq!(run.status.code(), Some(125), "{limit}: {stderr}");
            assert!(stderr.contains(error), "{limit}: {stderr}");
            assert!(!marker.exists(), "{limit}: the command ran anyway");
            let doctor = w.cordon_nested(Some(limit), &["doctor"]).output().unwrap();
            let report = String::from_utf8_lossy(&doctor.stdout);
            assert!(report.contains(line), "{limit}: {report}");
            assert!(report.contains("cordon run: missing"), "{limit}: {report}");
        }
        // The same outer namespace without a limit runs the command: the refusals above
        // come from the limits, not from the nesting.
        let nested = w
            .cordon_nested(None, &["run", "--", "touch", touch])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            nested.status.success() && marker.exists(),
            "{}",
            String::from_utf8_lossy(&nested.stderr)
        );
    });
}

#[test]
fn nested_user_namespaces_and_mount_tricks_fail() {
    for_each_user(|w| {
        let config = fs::read_to_string(w.project.join(".git/config")).unwrap();
        let (_, out) = w.sh_ok(
            "unshare -Ur true && echo UNSHARED; unshare -Urm sh -c 'umount -l .git/config; echo x > .git/config' && echo ESCAPED; \
             umount -l .git/config && echo UNMOUNTED; mount -t tmpfs none src && echo MOUNTED; \
             chroot / true && echo CHROOTED; true",
        );
        for bad in ["UNSHARED", "ESCAPED", "UNMOUNTED", "MOUNTED", "CHROOTED"] {
            assert!(!out.contains(bad), "{bad} as {}: {out}", w.who.name);
        }
        let out = python(
            w,
            r#"import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) == 0:
    print("UNSHARED")
else:
    print("blocked", os.strerror(ctypes.get_errno()))
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print("fork ok")"#,
        );
        assert!(
            out.contains("blocked") && out.contains("fork ok") && !out.contains("UNSHARED"),
            "{out}"
        );
        assert_eq!(
            fs::read_to_string(w.project.join(".git/config")).unwrap(),
            config
        );
    });
}

#[test]
fn no_privileges_no_setuid_and_a_clean_environment() {
    for_each_user(|w| {
        let mut command = w.cordon(&["run", "--", "/bin/sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status; env; su -c id root </dev/null; sudo -n id; true"]);
        command
            .env("AWS_SECRET_ACCESS_KEY", CANARY)
            .env("GITHUB_TOKEN", CANARY)
            .env("MY_DB_PASSWORD", CANARY)
            .env("OPENAI_API_KEY", CANARY)
            .env("SSH_AUTH_SOCK", CANARY);
        let output = command.stdin(Stdio::null()).output().unwrap();
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(!out.contains(CANARY), "an environment secret leaked: {out}");
        for line in out.lines().filter(|l| l.starts_with("Cap")) {
            assert!(
                line.ends_with("0000000000000000"),
                "capability left: {line}"
            );
        }
        assert!(out.contains("NoNewPrivs:\t1"), "{out}");
        assert!(
            !out.contains("uid=0(root) gid") || w.who.uid == 0,
            "su/sudo gained root: {out}"
        );
    });
}

fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(marker) && !text.contains("cargo") {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn background_processes_die_with_the_command_and_with_cordon() {
    for_each_user(|w| {
        let marker = format!("31.{}", std::process::id() % 1000 + 100);
        let (code, out) = w.sh_ok(&format!(
            "(sleep {marker}; echo late > src/late) & (setsid sleep {marker} &) ; exit 3"
        ));
        assert_eq!(code, 3, "{out}");
        // Checked the moment cordon returns: nothing carrying the command line is left,
        // not even the sandbox's PID 1 finishing its exit (it calls itself cordon-init).
        assert!(
            processes_with(&marker).is_empty(),
            "left behind: {:?}",
            processes_with(&marker)
        );
        let (_, init) = w.sh_ok("tr '\\0' ' ' </proc/1/cmdline; echo; cat /proc/1/comm");
        assert_eq!(
            init.split_whitespace().collect::<Vec<_>>(),
            ["cordon-init"; 2]
        );

        // Killing cordon itself (SIGKILL: no chance to clean up) takes the sandbox down.
        let marker = format!("32.{}", std::process::id() % 1000 + 100);
        let mut child = w
            .sh_command(&format!("sleep {marker} & sleep {marker}"))
            .spawn()
            .unwrap();
        let started = Instant::now();
        while processes_with(&marker).len() < 2 && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !processes_with(&marker).is_empty(),
            "the sandbox did not start"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let started = Instant::now();
        while !processes_with(&marker).is_empty() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            processes_with(&marker).is_empty(),
            "survived cordon: {:?}",
            processes_with(&marker)
        );
        assert!(!w.project.join("src/late").exists());
    });
}

#[test]
fn inherited_file_descriptors_are_closed() {
    for_each_user(|w| {
        let secret = w.outside.join("secret");
        fs::write(&secret, CANARY).unwrap();
        std::os::unix::fs::chown(&secret, Some(w.who.uid), Some(w.who.gid)).unwrap();
        // The shell opens fd 7 on the secret (not close-on-exec) and starts cordon with it.
        let command = w.cordon(&[
            "run",
            "--",
            "/bin/sh",
            "-c",
            "ls /proc/self/fd | tr '\\n' ' '; cat <&7; cat /proc/self/fd/7; true",
        ]);
        let program = command.get_program().to_owned();
        let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
        let mut shell = std::process::Command::new("/bin/sh");
        shell
            .arg("-c")
            .arg(format!("exec 7<{} && exec \"$@\"", secret.display()))
            .arg("sh")
            .arg(program)
            .args(args);
        shell
            .env_clear()
            .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))));
        shell.current_dir(&w.project);
        let mut child = shell
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child.wait().unwrap();
        assert!(!out.contains(CANARY), "fd 7 leaked: {out}");
        assert!(out.starts_with("0 1 2 3 "), "{out}");
    });
}
