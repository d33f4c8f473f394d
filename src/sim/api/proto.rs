//! Just enough of the Kubernetes protobuf encoding to read what client-go's typed clients
//! send as protobuf (`kubectl auth can-i`, `kubectl create quota`): the `k8s\0` magic, the
//! `runtime.Unknown` envelope (field 2: the object's bytes), and the fields of the few kinds
//! read this way, turned into the JSON the rest of the API layer decodes.

use serde_json::{Value, json};

pub const MAGIC: &[u8] = b"k8s\0";

/// The length-delimited fields of one message, as (field number, bytes); varint fields
/// are skipped (reviews carry none we read).
fn fields(mut b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        match key & 7 {
            0 => {
                varint(&mut b)?;
            }
            2 => {
                let len = usize::try_from(varint(&mut b)?).ok()?;
                let (v, rest) = (b.get(..len)?, b.get(len..)?);
                out.push((key >> 3, v));
                b = rest;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn field(msg: &[u8], n: u64) -> Option<&[u8]> {
    fields(msg)?.into_iter().rev().find(|(f, _)| *f == n).map(|(_, v)| v)
}

fn string(msg: &[u8], n: u64) -> Option<String> {
    field(msg, n).map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Every occurrence of a repeated (or map) field.
fn all(msg: &[u8], n: u64) -> Option<Vec<&[u8]>> {
    Some(fields(msg)?.into_iter().filter(|(f, _)| *f == n).map(|(_, v)| v).collect())
}

/// A `map<string, string>` field: entries are messages of key (1) and value (2).
fn string_map(msg: &[u8], n: u64) -> Option<serde_json::Map<String, Value>> {
    all(msg, n)?.into_iter().map(|e| Some((string(e, 1)?, json!(string(e, 2).unwrap_or_default())))).collect()
}

/// The ObjectMeta fields a client sets on create: name (1), generateName (2), namespace (3),
/// labels (11), annotations (12).
fn object_meta(msg: &[u8]) -> Option<Value> {
    let mut m = serde_json::Map::new();
    for (n, key) in [(1, "name"), (2, "generateName"), (3, "namespace")] {
        if let Some(v) = string(msg, n) {
            m.insert(key.into(), json!(v));
        }
    }
    for (n, key) in [(11, "labels"), (12, "annotations")] {
        let map = string_map(msg, n)?;
        if !map.is_empty() {
            m.insert(key.into(), Value::Object(map));
        }
    }
    Some(Value::Object(m))
}

/// A ResourceQuota (metadata 1, spec 2) as `kubectl create quota` sends it: spec.hard (1, a
/// map of resource name to Quantity, whose field 1 is its string) and spec.scopes (2).
pub fn resource_quota(envelope: &[u8]) -> Option<Value> {
    let object = field(envelope, 2)?;
    let meta = object_meta(field(object, 1).unwrap_or_default())?;
    let spec = field(object, 2).unwrap_or_default();
    let hard: serde_json::Map<String, Value> = all(spec, 1)?
        .into_iter()
        .map(|e| Some((string(e, 1)?, json!(string(field(e, 2).unwrap_or_default(), 1).unwrap_or_default()))))
        .collect::<Option<_>>()?;
    let scopes: Vec<String> = all(spec, 2)?.into_iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    let mut spec = json!({ "hard": hard });
    if !scopes.is_empty() {
        spec["scopes"] = json!(scopes);
    }
    Some(json!({ "kind": "ResourceQuota", "apiVersion": "v1", "metadata": meta, "spec": spec }))
}

/// The review as the JSON its spec would be.
pub fn review(kind: &str, envelope: &[u8]) -> Option<Value> {
    let object = field(envelope, 2)?;
    let spec = field(object, 2).unwrap_or_default();
    let spec = if kind == "SelfSubjectAccessReview" {
        match field(spec, 1) {
            Some(ra) => {
                let names = ["namespace", "verb", "group", "version", "resource", "subresource", "name"];
                let mut attrs = serde_json::Map::new();
                for (i, name) in names.iter().enumerate() {
                    if let Some(v) = string(ra, i as u64 + 1) {
                        attrs.insert(name.to_string(), json!(v));
                    }
                }
                json!({ "resourceAttributes": attrs })
            }
            None => json!({ "nonResourceAttributes": {} }),
        }
    } else {
        json!({ "namespace": string(spec, 1).unwrap_or_default() })
    };
    Some(json!({ "kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": {}, "spec": spec }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One length-delimited field.
    fn ld(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn reads_the_resource_quota_kubectl_create_quota_sends() {
        // metadata{name: "pods-limit"}, spec{hard{"pods": Quantity{"5"}}}, in the envelope.
        let meta = ld(1, b"pods-limit");
        let entry = [ld(1, b"pods"), ld(2, &ld(1, b"5"))].concat();
        let spec = ld(1, &entry);
        let object = [ld(1, &meta), ld(2, &spec)].concat();
        let envelope = ld(2, &object);
        let v = resource_quota(&envelope).expect("decodes");
        assert_eq!(v["metadata"]["name"], "pods-limit");
        assert_eq!(v["spec"]["hard"]["pods"], "5");
    }
}
