//! Container resources from a profile's `resource_requirements` ("256MB",
//! "1 core") or the PROSODY_MEMORY_* / PROSODY_CPU_* variables, in the units
//! Compose ("256M", "1.0") and Kubernetes ("256Mi", "1") want.
//!
//! Memory units are binary, as Docker and Kubernetes' `Mi`/`Gi` count:
//! "256MB" is 256 × 1024² bytes.

use std::collections::HashMap;

use crate::{Problem, env_value};
use pfe_core::catalog::ProfileInfo;

const KI: u64 = 1024;
const MI: u64 = KI * 1024;
const GI: u64 = MI * 1024;
const TI: u64 = GI * 1024;

/// Parses "256MB", "256M", "256Mi", "1 GiB", "1GB", "512k", "1048576" into
/// bytes (binary units).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let mult = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "ki" | "kib" => KI,
        "m" | "mb" | "mi" | "mib" => MI,
        "g" | "gb" | "gi" | "gib" => GI,
        "t" | "tb" | "ti" | "tib" => TI,
        _ => return Err(format!("unknown unit '{}' in {s:?}", unit)),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not an amount like 256MB or 1GB"))?;
    let bytes = value * mult as f64;
    if !(1.0..1e18).contains(&bytes) {
        return Err(format!("{s:?} is out of range"));
    }
    if bytes.fract() != 0.0 {
        return Err(format!("{s:?} is not a whole number of bytes"));
    }
    Ok(bytes as u64)
}

/// Parses "1 core", "0.5 core", "2 cores", "1.5", "500m" into millicores.
pub fn parse_cpu(s: &str) -> Result<u32, String> {
    let t = s.trim().to_ascii_lowercase();
    let bad =
        || format!("{s:?} is not a CPU amount like '1 core', '0.5 core', '2 cores' or '500m'");
    if let Some(m) = t.strip_suffix('m')
        && !m.is_empty()
        && m.bytes().all(|b| b.is_ascii_digit())
    {
        let milli: u32 = m.parse().map_err(|_| bad())?;
        return if milli == 0 { Err(bad()) } else { Ok(milli) };
    }
    let num = t
        .strip_suffix("cores")
        .or_else(|| t.strip_suffix("core"))
        .or_else(|| t.strip_suffix("cpus"))
        .or_else(|| t.strip_suffix("cpu"))
        .unwrap_or(&t)
        .trim();
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let cores: f64 = num.parse().map_err(|_| bad())?;
    let milli = cores * 1000.0;
    if !(1.0..=1_000_000.0).contains(&milli) || milli.fract() != 0.0 {
        return Err(bad());
    }
    Ok(milli as u32)
}

/// Compose memory: "256M", "1G", "64M", "512K" (or plain bytes with "b").
pub fn compose_memory(bytes: u64) -> String {
    for (unit, size) in [("T", TI), ("G", GI), ("M", MI), ("K", KI)] {
        if bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}b")
}

/// Kubernetes quantity: "256Mi", "1Gi", "5Gi" (or plain bytes).
pub fn k8s_bytes(bytes: u64) -> String {
    for (unit, size) in [("Ti", TI), ("Gi", GI), ("Mi", MI), ("Ki", KI)] {
        if bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Compose cpus: "1.0", "0.5", "0.25", "2.0".
pub fn compose_cpus(milli: u32) -> String {
    let whole = milli / 1000;
    let frac = milli % 1000;
    if frac == 0 {
        format!("{whole}.0")
    } else {
        let f = format!("{frac:03}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
}

/// Kubernetes cpu: "1", "2", "500m", "250m".
pub fn k8s_cpu(milli: u32) -> String {
    if milli.is_multiple_of(1000) {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// Limits and reservations of the Prosody container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub memory_limit: u64,
    pub cpu_limit: u32,
    pub memory_reserve: u64,
    pub cpu_reserve: u32,
}

/// The container resources: PROSODY_MEMORY_LIMIT / PROSODY_CPU_LIMIT or the
/// profile's resource_requirements; reservations from PROSODY_*_RESERVE or
/// a quarter of the memory and half of the CPU limit (the seed's 64M of
/// 256M and 0.5 of 1.0). `None` when PROSODY_RESOURCE_LIMITS=false.
pub fn container_resources(
    profile: &ProfileInfo,
    env: &HashMap<String, String>,
) -> Result<Option<Resources>, Vec<Problem>> {
    if env_value(env, "PROSODY_RESOURCE_LIMITS").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let from_profile = |what: &str, v: &Option<String>| -> Result<String, Problem> {
        v.clone().ok_or_else(|| Problem::error(
            format!("profile {}", profile.id),
            format!("resource_requirements.{what} is not set in {}", profile.path),
            format!("add resource_requirements = {{ memory = \"256MB\", cpu = \"1 core\", storage = \"5GB\" }} to the profile, or set PROSODY_{}_LIMIT", what.to_uppercase()),
        ))
    };
    let mut get = |var: &str,
                   what: &str,
                   fallback: Option<&Option<String>>,
                   parse: &dyn Fn(&str) -> Result<u64, String>|
     -> Option<u64> {
        let (origin, text) = match (env_value(env, var), fallback) {
            (Some(v), _) => (var.to_string(), v.to_string()),
            (None, Some(p)) => match from_profile(what, p) {
                Ok(t) => (
                    format!("profile {} resource_requirements.{what}", profile.id),
                    t,
                ),
                Err(e) => {
                    problems.push(e);
                    return None;
                }
            },
            (None, None) => return None,
        };
        match parse(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(Problem::error(
                    origin,
                    e,
                    format!(
                        "write it like {}",
                        if what == "cpu" {
                            "'1 core', '0.5 core' or 500m"
                        } else {
                            "256MB, 1GB or 512M"
                        }
                    ),
                ));
                None
            }
        }
    };
    let cpu = |s: &str| parse_cpu(s).map(u64::from);
    let mem_limit = get(
        "PROSODY_MEMORY_LIMIT",
        "memory",
        Some(&profile.resources.memory),
        &parse_bytes,
    );
    let cpu_limit = get(
        "PROSODY_CPU_LIMIT",
        "cpu",
        Some(&profile.resources.cpu),
        &cpu,
    );
    let mem_reserve = get("PROSODY_MEMORY_RESERVE", "memory", None, &parse_bytes);
    let cpu_reserve = get("PROSODY_CPU_RESERVE", "cpu", None, &cpu);
    if !problems.is_empty() {
        return Err(problems);
    }
    let (Some(memory_limit), Some(cpu_limit)) = (mem_limit, cpu_limit) else {
        unreachable!("limits are either parsed or a problem was recorded");
    };
    let cpu_limit = cpu_limit as u32;
    let r = Resources {
        memory_limit,
        cpu_limit,
        // A quarter, rounded down to whole MiB (at least 1 MiB).
        memory_reserve: mem_reserve.unwrap_or(((memory_limit / 4) / MI).max(1) * MI),
        cpu_reserve: cpu_reserve.map_or((cpu_limit / 2).max(1), |c| c as u32),
    };
    if r.memory_reserve > r.memory_limit {
        problems.push(Problem::error(
            "PROSODY_MEMORY_RESERVE",
            format!(
                "the reservation {} is above the limit {}",
                compose_memory(r.memory_reserve),
                compose_memory(r.memory_limit)
            ),
            "a reservation must not exceed PROSODY_MEMORY_LIMIT (or the profile's memory)".into(),
        ));
    }
    if r.cpu_reserve > r.cpu_limit {
        problems.push(Problem::error(
            "PROSODY_CPU_RESERVE",
            format!(
                "the reservation {} is above the limit {}",
                compose_cpus(r.cpu_reserve),
                compose_cpus(r.cpu_limit)
            ),
            "a reservation must not exceed PROSODY_CPU_LIMIT (or the profile's cpu)".into(),
        ));
    }
    if problems.is_empty() {
        Ok(Some(r))
    } else {
        Err(problems)
    }
}

/// The profile's storage requirement in bytes (for a PersistentVolumeClaim).
pub fn storage(profile: &ProfileInfo) -> Result<Option<u64>, Problem> {
    match &profile.resources.storage {
        None => Ok(None),
        Some(s) => parse_bytes(s).map(Some).map_err(|e| {
            Problem::error(
                format!("profile {}", profile.id),
                format!("resource_requirements.storage: {e}"),
                format!("write it like 5GB in {}", profile.path),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_bytes("256MB"), Ok(256 * MI));
        assert_eq!(parse_bytes("1GB"), Ok(GI));
        assert_eq!(parse_bytes("1 GiB"), Ok(GI));
        assert_eq!(parse_bytes("512Mi"), Ok(512 * MI));
        assert_eq!(parse_bytes("0.5G"), Ok(512 * MI));
        assert_eq!(parse_bytes("1048576"), Ok(MI));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("1 parsec").is_err());
        assert!(parse_bytes("0MB").is_err());
        assert!(parse_bytes("-1MB").is_err());
        assert_eq!(compose_memory(256 * MI), "256M");
        assert_eq!(compose_memory(GI), "1G");
        assert_eq!(compose_memory(1536 * MI), "1536M");
        assert_eq!(compose_memory(1000), "1000b");
        assert_eq!(k8s_bytes(256 * MI), "256Mi");
        assert_eq!(k8s_bytes(50 * GI), "50Gi");
        assert_eq!(k8s_bytes(1000), "1000");
    }

    #[test]
    fn cpu_units() {
        assert_eq!(parse_cpu("1 core"), Ok(1000));
        assert_eq!(parse_cpu("0.5 core"), Ok(500));
        assert_eq!(parse_cpu("2 cores"), Ok(2000));
        assert_eq!(parse_cpu("1.0"), Ok(1000));
        assert_eq!(parse_cpu("250m"), Ok(250));
        assert!(parse_cpu("fast").is_err());
        assert!(parse_cpu("0 cores").is_err());
        assert!(parse_cpu("0.0001").is_err());
        assert_eq!(compose_cpus(1000), "1.0");
        assert_eq!(compose_cpus(500), "0.5");
        assert_eq!(compose_cpus(250), "0.25");
        assert_eq!(compose_cpus(2000), "2.0");
        assert_eq!(k8s_cpu(1000), "1");
        assert_eq!(k8s_cpu(500), "500m");
    }

    fn profile(memory: &str, cpu: &str) -> ProfileInfo {
        ProfileInfo {
            id: "p".into(),
            name: "P".into(),
            description: String::new(),
            target_users: None,
            stability: None,
            resources: pfe_core::catalog::Resources {
                memory: Some(memory.into()),
                cpu: Some(cpu.into()),
                storage: Some("5GB".into()),
            },
            features: vec![],
            optional_features: vec![],
            variables: Default::default(),
            extends: None,
            path: "config/profiles/p/profile.cfg.lua".into(),
        }
    }

    #[test]
    fn derived_reservations_follow_the_seed() {
        let r = container_resources(&profile("256MB", "1 core"), &HashMap::new())
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                compose_memory(r.memory_reserve),
                compose_cpus(r.cpu_reserve)
            ),
            ("64M".to_string(), "0.5".to_string())
        );
        let env: HashMap<String, String> = [
            ("PROSODY_MEMORY_LIMIT".to_string(), "1G".to_string()),
            ("PROSODY_CPU_RESERVE".to_string(), "0.25".to_string()),
        ]
        .into();
        let r = container_resources(&profile("256MB", "1 core"), &env)
            .unwrap()
            .unwrap();
        assert_eq!(r.memory_limit, GI);
        assert_eq!(r.memory_reserve, 256 * MI);
        assert_eq!(r.cpu_reserve, 250);
        let off: HashMap<String, String> =
            [("PROSODY_RESOURCE_LIMITS".to_string(), "false".to_string())].into();
        assert_eq!(
            container_resources(&profile("1GB", "2 cores"), &off).unwrap(),
            None
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let env: HashMap<String, String> =
            [("PROSODY_CPU_LIMIT".to_string(), "lots".to_string())].into();
        let e = container_resources(&profile("bogus", "1 core"), &env).unwrap_err();
        let text: Vec<String> = e.iter().map(|p| p.to_string()).collect();
        assert_eq!(e.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with("profile p resource_requirements.memory:"),
            "{text:?}"
        );
        assert!(text[1].starts_with("PROSODY_CPU_LIMIT:"), "{text:?}");
        let env: HashMap<String, String> =
            [("PROSODY_MEMORY_RESERVE".to_string(), "2G".to_string())].into();
        let e = container_resources(&profile("1GB", "1 core"), &env).unwrap_err();
        assert!(
            e[0].to_string().starts_with("PROSODY_MEMORY_RESERVE:"),
            "{e:?}"
        );
    }
}
