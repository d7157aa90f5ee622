//! Every example in the repository's `config/` folder parses; `cairn.yaml` is exactly the
//! defaults.

use std::path::PathBuf;

use cairn_server::{Config, ObjectStoreConfig};

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// Every `${VAR}` resolves to a recognisable value, so examples need no real secrets.
fn fake_env(name: &str) -> Option<String> {
    Some(format!("value-of-{name}"))
}

/// Every file under `dir`, subfolders included.
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_example_parses() {
    let mut cairn_configs = 0;
    let mut rule_files = 0;
    let mut others = 0;
    let root = config_dir();
    for path in files_under(&root) {
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("readable file");
        if name.starts_with("cairn") && name.ends_with(".yaml") {
            Config::from_yaml(&text, &name, &fake_env)
                .unwrap_or_else(|e| panic!("config/{name} does not parse: {e}"));
            cairn_configs += 1;
        } else if name.starts_with("rules/") {
            cairn_rules::parse_rule_file(&name, &text)
                .unwrap_or_else(|e| panic!("config/{name} is not a valid rule file: {e}"));
            rule_files += 1;
        } else if name.starts_with("log-rules/") {
            cairn_rules::parse_log_rule_file(&name, &text)
                .unwrap_or_else(|e| panic!("config/{name} is not a valid Loki rule file: {e}"));
            rule_files += 1;
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            // SLO files may hold several documents (OpenSLO's SLO + SLI + AlertPolicy).
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc)
                    .unwrap_or_else(|e| panic!("config/{name} is not YAML: {e}"));
            }
            others += 1;
        }
    }
    assert!(cairn_configs >= 2, "cairn.yaml and cairn-s3.yaml at least");
    assert!(
        rule_files >= 2,
        "rules/example.yml and log-rules/api-errors.yml"
    );
    assert!(others >= 1, "prometheus.yml");
}

#[test]
fn cairn_yaml_is_the_defaults() {
    let text = std::fs::read_to_string(config_dir().join("cairn.yaml")).expect("config/cairn.yaml");
    let c = Config::from_yaml(&text, "cairn.yaml", &|_| None).expect("parses without any env");
    assert_eq!(c, Config::default());
}

#[test]
fn s3_example_takes_secrets_from_the_environment() {
    let text =
        std::fs::read_to_string(config_dir().join("cairn-s3.yaml")).expect("config/cairn-s3.yaml");
    let c = Config::from_yaml(&text, "cairn-s3.yaml", &fake_env).unwrap();
    let ObjectStoreConfig::S3(s3) = &c.storage.object_store else {
        panic!("cairn-s3.yaml configures s3")
    };
    assert_eq!(
        s3.access_key_id.as_deref(),
        Some("value-of-AWS_ACCESS_KEY_ID")
    );
    assert_eq!(
        s3.secret_access_key.as_deref(),
        Some("value-of-AWS_SECRET_ACCESS_KEY")
    );
    let e = Config::from_yaml(&text, "cairn-s3.yaml", &|_| None).unwrap_err();
    assert!(e.to_string().contains("AWS_ACCESS_KEY_ID"), "{e}");
}

#[test]
fn prometheus_example_points_at_cairn() {
    let text = std::fs::read_to_string(config_dir().join("prometheus.yml")).unwrap();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let w = v["remote_write"][0]["url"].as_str().unwrap();
    let r = v["remote_read"][0]["url"].as_str().unwrap();
    assert!(w.ends_with("/api/v1/write"), "{w}");
    assert!(r.ends_with("/api/v1/read"), "{r}");
}
