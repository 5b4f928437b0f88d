//! The environment of a proxy-mode sandbox: the variables that make common tools send
//! their traffic to the proxy listener inside the sandbox's network namespace. Programs
//! that ignore them are still caught by the transparent listeners (see
//! [`crate::netns`]); the variables only spare those programs a detour.

use crate::netns::ProxyPorts;

/// Destinations that stay direct: the sandbox's own loopback (its own servers, and host
/// ports the policy lists in `local_ports`, which the transparent listeners carry).
pub const NO_PROXY: &str = "localhost,127.0.0.1,::1";

/// The variables, in order, for a proxy on `ports.proxy`. `existing` is the environment
/// they are added to: a `GIT_CONFIG_COUNT` there is extended, not replaced.
pub(crate) fn variables(
    ports: &ProxyPorts,
    existing: &[(String, String)],
) -> Vec<(String, String)> {
    let http = format!("http://127.0.0.1:{}", ports.proxy);
    let socks = format!("socks5h://127.0.0.1:{}", ports.proxy);
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: &str| out.push((name.to_owned(), value.to_owned()));
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
        set(name, &http);
    }
    set("ALL_PROXY", &socks);
    set("all_proxy", &socks);
    set("NO_PROXY", NO_PROXY);
    set("no_proxy", NO_PROXY);
    // npm (and pnpm, which reads npm's configuration), yarn 2+, pip, cargo, gRPC.
    for name in [
        "npm_config_proxy",
        "npm_config_https_proxy",
        "YARN_HTTP_PROXY",
        "YARN_HTTPS_PROXY",
        "PIP_PROXY",
        "CARGO_HTTP_PROXY",
        "grpc_proxy",
    ] {
        set(name, &http);
    }
    // git reads configuration from GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n
    // (2.31+); libcurl would also honour http_proxy, but http.proxy covers https too.
    let first = existing
        .iter()
        .rev()
        .find(|(name, _)| name == "GIT_CONFIG_COUNT")
        .and_then(|(_, value)| value.trim().parse::<u32>().ok())
        .unwrap_or(0);
    set("GIT_CONFIG_COUNT", &(first + 1).to_string());
    set(&format!("GIT_CONFIG_KEY_{first}"), "http.proxy");
    set(&format!("GIT_CONFIG_VALUE_{first}"), &http);
    out
}

/// `env` with `added` applied: each added name replaces an existing one.
pub(crate) fn apply(env: &mut Vec<(String, String)>, added: Vec<(String, String)>) {
    for (name, value) in added {
        env.retain(|(existing, _)| *existing != name);
        env.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> ProxyPorts {
        ProxyPorts {
            proxy: 3130,
            transparent: vec![80, 443],
        }
    }

    fn value<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
        vars.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_tool_is_pointed_at_the_listener() {
        let vars = variables(&ports(), &[]);
        for name in [
            "HTTP_PROXY",
            "https_proxy",
            "npm_config_https_proxy",
            "PIP_PROXY",
            "CARGO_HTTP_PROXY",
            "grpc_proxy",
            "GIT_CONFIG_VALUE_0",
        ] {
            assert_eq!(value(&vars, name), Some("http://127.0.0.1:3130"), "{name}");
        }
        assert_eq!(value(&vars, "ALL_PROXY"), Some("socks5h://127.0.0.1:3130"));
        assert_eq!(value(&vars, "no_proxy"), Some(NO_PROXY));
        assert_eq!(value(&vars, "GIT_CONFIG_COUNT"), Some("1"));
        assert_eq!(value(&vars, "GIT_CONFIG_KEY_0"), Some("http.proxy"));
    }

    #[test]
    fn an_existing_git_config_list_is_extended_and_old_proxies_replaced() {
        let mut env = vec![
            ("GIT_CONFIG_COUNT".to_owned(), "2".to_owned()),
            ("HTTP_PROXY".to_owned(), "http://corp:8080".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        let vars = variables(&ports(), &env);
        assert_eq!(value(&vars, "GIT_CONFIG_COUNT"), Some("3"));
        assert_eq!(value(&vars, "GIT_CONFIG_KEY_2"), Some("http.proxy"));
        apply(&mut env, vars);
        assert_eq!(value(&env, "HTTP_PROXY"), Some("http://127.0.0.1:3130"));
        assert_eq!(env.iter().filter(|(n, _)| n == "HTTP_PROXY").count(), 1);
        assert_eq!(value(&env, "PATH"), Some("/bin"));
    }
}
