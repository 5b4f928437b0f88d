//! The offline world of the network suite: a network and mount namespace made by the
//! test (as root, with `unshare`), in which `cordon` runs as root or as the unprivileged
//! test user. Inside it, local routes make the TEST-NET ranges `192.0.2.0/24` and
//! `2001:db8::/32`, a fake cloud-metadata address `169.254.169.254` and a "host's own"
//! address `198.51.100.1` (on `lo`) reachable; a private `/etc/hosts` names them
//! (`allowed.test`, `denied.test`...), a private `/etc/resolv.conf` points at the world's
//! logging DNS server, and `networld.py` serves HTTP, HTTPS (a self-signed certificate made
//! per run with `openssl`), a dumb-HTTP git repository, a pip index, an echo port and DNS.
//! Every server writes what reaches it to `world.jsonl`: verdicts are checked there. When
//! Debian's `openssh-server` is installed, a real `sshd` (keys made per run) listens on
//! port 22 of `allowed.test` and `denied.test` and logs every connection to `ssh/sshd.log`.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::binary;
use crate::sandbox::{Who, World, chown_tree};

/// The addresses and names of the world.
pub const HOSTS: &str = "\
127.0.0.1 localhost
::1 localhost
192.0.2.10 allowed.test www.allowed.test git.allowed.test pypi.allowed.test
2001:db8::10 v6.allowed.test
192.0.2.20 denied.test www.denied.test
192.0.2.10 allowed.test.denied.test evilallowed.test
127.0.0.1 loopback.allowed.test
169.254.169.254 metadata.allowed.test
198.51.100.1 own.allowed.test
";

/// The trusted `--policy` file of the suite.
pub const POLICY: &str = "\
version: 1
network:
  mode: proxy
  allow: [allowed.test, '*.allowed.test', 'allowed.test:7000', 'allowed.test:22']
  local_ports: [5432]
";

const SERVER: &str = include_str!("networld.py");

/// A running world for one user.
#[derive(Debug)]
pub struct NetWorld {
    /// The user's home and project (see [`World`]).
    pub user: World,
    dir: tempfile::TempDir,
    process: Child,
    cordon: PathBuf,
}

fn run(command: &mut Command) {
    let output = command.output().expect("a world tool starts");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A bare repository with one commit, served over dumb HTTP (`update-server-info`).
fn git_repository(www: &Path) {
    let work = www.join("../repo-work");
    fs::create_dir_all(&work).expect("mkdir");
    fs::write(work.join("README"), "cloned through cordon\n").expect("write");
    let git = |dir: &Path, args: &[&str]| {
        run(Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir));
    };
    git(&work, &["init", "-q"]);
    git(&work, &["add", "README"]);
    git(&work, &["commit", "-q", "-m", "one"]);
    git(www, &["clone", "-q", "--bare", "../repo-work", "repo.git"]);
    git(&www.join("repo.git"), &["update-server-info"]);
}

/// A pip "simple" index with one tiny wheel.
fn pip_index(www: &Path) {
    let files = www.join("files");
    fs::create_dir_all(www.join("simple/demo")).expect("mkdir");
    fs::create_dir_all(&files).expect("mkdir");
    let wheel = "demo-1.0-py3-none-any.whl";
    run(Command::new("/usr/bin/python3").arg("-c").arg(format!(
        "import zipfile\n\
         z = zipfile.ZipFile('{}', 'w')\n\
         z.writestr('demo/__init__.py', '')\n\
         z.writestr('demo-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: demo\\nVersion: 1.0\\n')\n\
         z.writestr('demo-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n\
         z.writestr('demo-1.0.dist-info/RECORD', '')\n\
         z.close()\n",
        files.join(wheel).display()
    )));
    fs::write(
        www.join("simple/index.html"),
        "<html><body><a href=\"demo/\">demo</a></body></html>\n",
    )
    .expect("write");
    fs::write(
        www.join("simple/demo/index.html"),
        format!("<html><body><a href=\"../../files/{wheel}\">{wheel}</a></body></html>\n"),
    )
    .expect("write");
}

/// Where the world's ssh server lives (only when `openssh-server` is installed).
const SSHD: &str = "/usr/sbin/sshd";

/// Keys, configuration and an account database for a real `sshd` in the world: a host
/// key and a client key made per run (the client key owned by `who`), `who` may log in
/// with it (its entry in the world's private copy of `/etc/shadow` is unlocked: sshd
/// refuses key logins to locked accounts without PAM), and a `known_hosts` naming both
/// servers. Returns false when sshd is not installed.
fn ssh_server(root: &Path, who: &Who) -> bool {
    if !Path::new(SSHD).exists() {
        return false;
    }
    let ssh = root.join("ssh");
    fs::create_dir_all(&ssh).expect("mkdir");
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o755)).expect("chmod");
    for key in ["host_key", "client_key"] {
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", key, "-f"])
            .arg(ssh.join(key)));
    }
    let client_key = ssh.join("client_key");
    chown_tree(&client_key, who);
    // The repository served over ssh belongs to the login user, as on a real server (git
    // refuses to serve another user's repository).
    run(Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(root.join("www/repo.git"))
        .arg(ssh.join("repo.git")));
    chown_tree(&ssh.join("repo.git"), who);
    fs::copy(ssh.join("client_key.pub"), ssh.join("authorized_keys")).expect("copy");
    let host_key = fs::read_to_string(ssh.join("host_key.pub")).expect("host key");
    fs::write(
        ssh.join("known_hosts"),
        format!("allowed.test,denied.test,192.0.2.20 {host_key}"),
    )
    .expect("write");
    let shadow: String = fs::read_to_string("/etc/shadow")
        .expect("read /etc/shadow")
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(':').collect();
            if fields.first() == Some(&who.name.as_str()) && fields.len() > 1 {
                fields[1] = "*";
            }
            fields.join(":") + "\n"
        })
        .collect();
    fs::write(ssh.join("shadow"), shadow).expect("write");
    fs::set_permissions(ssh.join("shadow"), fs::Permissions::from_mode(0o600)).expect("chmod");
    fs::write(
        ssh.join("sshd_config"),
        format!(
            "ListenAddress 192.0.2.10:22\nListenAddress 192.0.2.20:22\nHostKey {dir}/host_key\n\
             PidFile none\nAuthorizedKeysFile {dir}/authorized_keys\nStrictModes no\n\
             UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
            dir = ssh.display()
        ),
    )
    .expect("write");
    true
}

impl NetWorld {
    /// Builds the world and starts its servers; `cordon` will run as `who`.
    pub fn new(who: &Who) -> NetWorld {
        let user = World::new(who);
        let dir = tempfile::Builder::new()
            .prefix("cordon-networld-")
            .tempdir_in("/var/tmp")
            .expect("tempdir");
        let root = dir.path();
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod");
        run(Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=allowed.test",
            "-addext",
            "subjectAltName=DNS:allowed.test,DNS:*.allowed.test,DNS:denied.test,DNS:*.denied.test",
            "-keyout",
        ])
        .arg(root.join("key.pem"))
        .arg("-out")
        .arg(root.join("cert.pem")));
        fs::set_permissions(root.join("cert.pem"), fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let www = root.join("www");
        fs::create_dir_all(&www).expect("mkdir");
        git_repository(&www);
        pip_index(&www);
        fs::write(root.join("hosts"), HOSTS).expect("write");
        fs::write(root.join("resolv.conf"), "nameserver 192.0.2.53\n").expect("write");
        fs::write(root.join("networld.py"), SERVER).expect("write");
        fs::write(root.join("policy.yaml"), POLICY).expect("write");
        chown_tree(&root.join("policy.yaml"), who);
        ssh_server(root, who);
        let setup = "set -e
ip link set lo up
ip route add local 192.0.2.0/24 dev lo
ip route add local 169.254.169.254/32 dev lo
ip addr add 198.51.100.1/32 dev lo
ip -6 route add local 2001:db8::/32 dev lo
sysctl -qw net.ipv6.ip_nonlocal_bind=1
mount --bind \"$1/hosts\" /etc/hosts
mount --bind \"$1/resolv.conf\" /etc/resolv.conf
if [ -f \"$1/ssh/sshd_config\" ]; then
  [ -d /run/sshd ] || mkdir -m 0755 /run/sshd
  mount --bind \"$1/ssh/shadow\" /etc/shadow
  setpriv --pdeathsig KILL -- /usr/sbin/sshd -D -f \"$1/ssh/sshd_config\" -E \"$1/ssh/sshd.log\" &
  tries=0
  until grep -q 'Server listening on 192.0.2.20' \"$1/ssh/sshd.log\" 2>/dev/null; do
    tries=$((tries + 1))
    if [ $tries -gt 200 ]; then cat \"$1/ssh/sshd.log\" >&2; echo 'sshd did not start'; exit 1; fi
    sleep 0.05
  done
fi
exec /usr/bin/python3 \"$1/networld.py\" \"$1\"";
        let mut process = Command::new("unshare")
            .args(["--net", "--mount", "--propagation", "private", "--"])
            .args(["/bin/sh", "-c", setup, "world"])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare starts");
        let mut ready = String::new();
        let stdout = process.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut ready)
            .expect("world output");
        assert_eq!(ready.trim(), "ready", "the world did not start");
        NetWorld {
            user,
            dir,
            process,
            cordon: binary("cordon-cli", "cordon"),
        }
    }

    /// The world's files (certificate, web root, server log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `GIT_SSH_COMMAND` for the world's sshd (the per-run client key and `known_hosts`,
    /// strict host key checking), or `None` when `openssh-server` is not installed.
    pub fn ssh_command(&self) -> Option<String> {
        let ssh = self.dir.path().join("ssh");
        ssh.join("sshd_config").exists().then(|| {
            format!(
                "ssh -i {0}/client_key -o IdentitiesOnly=yes -o UserKnownHostsFile={0}/known_hosts \
                 -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10",
                ssh.display()
            )
        })
    }

    /// The bare repository the world's sshd serves (owned by the user).
    pub fn ssh_repository(&self) -> PathBuf {
        self.dir.path().join("ssh/repo.git")
    }

    /// What the world's sshd logged (connections, logins).
    pub fn sshd_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("ssh/sshd.log")).unwrap_or_default()
    }

    /// The self-signed certificate every TLS server of the world presents.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// `cordon ARGS...` in the world, as the user, in the project, small environment.
    pub fn cordon(&self, args: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--target={}", self.process.id()))
            // nsenter --mount starts in the namespace's root unless told otherwise.
            .arg(format!("--wd={}", self.user.project.display()))
            .args(["--net", "--mount", "--"]);
        let who = &self.user.who;
        if who.uid != 0 {
            command
                .arg("setpriv")
                .arg(format!("--reuid={}", who.uid))
                .arg(format!("--regid={}", who.gid))
                .args(["--clear-groups", "--"]);
        }
        command
            .arg(&self.cordon)
            .args(crate::sandbox::scripted(args))
            .env_clear()
            .env("HOME", &self.user.home)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C")
            .env("XDG_CONFIG_HOME", self.user.home.join(".config"))
            .current_dir(&self.user.project)
            .stdin(Stdio::null());
        command
    }

    /// `cordon run --policy <the suite's policy> -- /bin/sh -c SCRIPT` (with `CA` set to
    /// the certificate's path), waited for; fails the test when cordon itself failed.
    pub fn sh(&self, script: &str) -> (i32, String) {
        let policy = self.dir.path().join("policy.yaml");
        let policy = policy.to_string_lossy();
        let ca = self.ca();
        let script = format!("CA='{}'; {script}", ca.display());
        let output: Output = self
            .cordon(&["run", "--policy", &policy, "--", "/bin/sh", "-c", &script])
            .output()
            .expect("cordon starts");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let code = output.status.code().unwrap_or(-1);
        assert_ne!(
            code, 125,
            "cordon failed to set up the sandbox as {}: {text}",
            self.user.who.name
        );
        (code, text)
    }

    /// `/bin/sh -c SCRIPT` in the world without any sandbox, as root (the controls that
    /// show a denial is cordon's doing, not a broken world). `CA` names the certificate.
    pub fn outside(&self, script: &str) -> (i32, String) {
        let output = Command::new("nsenter")
            .arg(format!("--target={}", self.process.id()))
            .args(["--net", "--mount", "--", "/bin/sh", "-c"])
            .arg(format!("CA='{}'; {script}", self.ca().display()))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null())
            .output()
            .expect("nsenter starts");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    }

    /// Every record the world's servers wrote so far.
    pub fn seen(&self) -> Vec<serde_json::Value> {
        read_json_lines(&self.dir.path().join("world.jsonl"))
    }

    /// The records of server `server` (`web`, `web-tls`, `dns`, `metadata`...).
    pub fn seen_by(&self, server: &str) -> Vec<serde_json::Value> {
        self.seen()
            .into_iter()
            .filter(|r| r["server"] == server)
            .collect()
    }

    /// The world's records of HTTP(S) requests and connections (everything but DNS).
    pub fn connections(&self) -> Vec<serde_json::Value> {
        self.seen()
            .into_iter()
            .filter(|r| r["server"] != "dns")
            .collect()
    }

    /// Every name the world's DNS server was asked.
    pub fn names_asked(&self) -> Vec<String> {
        self.seen_by("dns")
            .iter()
            .map(|r| r["qname"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The decision log cordon wrote by default (in the user's XDG state directory).
    pub fn decisions(&self) -> Vec<serde_json::Value> {
        let state = self.user.home.join(".local/state/cordon");
        let Ok(projects) = fs::read_dir(&state) else {
            return Vec::new();
        };
        projects
            .flat_map(|p| read_json_lines(&p.expect("entry").path().join("net.jsonl")))
            .collect()
    }

    /// A copy of the user's world's project directory path.
    pub fn project(&self) -> PathBuf {
        self.user.project.clone()
    }
}

impl Drop for NetWorld {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The JSON lines of `path` (none when it does not exist).
pub fn read_json_lines(path: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Runs `check` in a fresh world once for root and once for the unprivileged user.
pub fn for_each_user_in_a_world(check: impl Fn(&NetWorld)) {
    for who in crate::sandbox::users() {
        eprintln!("--- as {}", who.name);
        let world = NetWorld::new(&who);
        check(&world);
    }
}
